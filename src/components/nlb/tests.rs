//! The NLB against a hand-made target group and client: flows of unhealthy targets are reset,
//! and the AZs targets register in drive cross-zone balancing.

use super::*;

/// A hand-made target group: registers `azs.len()` instances, instance `i` in AZ
/// `azs[i]`, healthy from the start; answers every request at once.
struct Group {
    lb: ComponentId,
    azs: Vec<u8>,
    /// An instance that fails its health checks from this time on.
    failing: Option<(u32, SimTime)>,
    metrics: RequestMetrics,
}

impl Component<Msg> for Group {
    fn init(&mut self, cx: &mut Ctx<'_>) {
        for (instance, &az) in self.azs.iter().enumerate() {
            let register = Control::Register {
                instance: instance as u32,
                healthy: true,
                az,
                group: cx.me(),
            };
            cx.send(self.lb, Msg::Control(register));
        }
    }

    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => cx.reply(Response {
                request,
                outcome: Outcome::Ok,
            }),
            Msg::Control(Control::HealthCheck { instance, from }) => {
                let failing = self
                    .failing
                    .is_some_and(|(i, from)| i == instance && cx.now() >= from);
                let result = Control::HealthCheckResult {
                    instance,
                    healthy: !failing,
                    group: cx.me(),
                };
                cx.send(from, Msg::Control(result));
            }
            _ => {}
        }
    }
}

impl Observe for Group {
    fn kind(&self) -> &'static str {
        "group"
    }

    fn in_flight(&self) -> u64 {
        0
    }

    fn sample(&mut self, _now: SimTime, _row: &mut SeriesRow) {}

    fn report(&self, _end: SimTime) -> ComponentReport {
        self.metrics.report("group", 0)
    }
}

/// Sends `n` requests to the NLB, one a millisecond: each its own connection, or in turn
/// over `pooled` long-lived connections.
struct Client {
    lb: ComponentId,
    n: u64,
    pooled: Option<u64>,
    metrics: RequestMetrics,
}

impl Component<Msg> for Client {
    fn init(&mut self, cx: &mut Ctx<'_>) {
        for id in 1..=self.n {
            let request = Request {
                id,
                workload: 0,
                created_at: SimTime::ZERO,
                key: id,
                item_kb: 1.0,
                op: crate::message::Op::Default,
                attempt: 1,
                reply_to: cx.me(),
                tag: 0,
                route: crate::message::NO_ROUTE,
                recorded_duration: crate::message::Recorded::NONE,
                connection: match self.pooled {
                    None => Connection::single(id),
                    Some(k) => Connection {
                        source_ip: 0x0A00_0001,
                        source_port: 40_000 + (id % k) as u16,
                        isn: (id % k) as u32 * 7919,
                        opens: id <= k,
                        single: false,
                    },
                },
            };
            cx.send_after(self.lb, SimDuration::from_millis(id), Msg::Request(request));
        }
    }

    fn handle(&mut self, _msg: Msg, _cx: &mut Ctx<'_>) {}
}

impl Observe for Client {
    fn kind(&self) -> &'static str {
        "client"
    }

    fn in_flight(&self) -> u64 {
        0
    }

    fn sample(&mut self, _now: SimTime, _row: &mut SeriesRow) {}

    fn report(&self, _end: SimTime) -> ComponentReport {
        self.metrics.report("client", 0)
    }
}

/// Per-target requests of an NLB in front of targets in `azs`.
fn run_registered(azs: Vec<u8>, cross_zone: bool, n: u64) -> Vec<u64> {
    let report = run_harness(azs, cross_zone, n, None, None);
    serde_json::from_value(report.figures["target_requests"].clone()).expect("a list of counts")
}

/// The NLB's report after `n` requests (see [`Client`] and [`Group`]).
fn run_harness(
    azs: Vec<u8>,
    cross_zone: bool,
    n: u64,
    pooled: Option<u64>,
    failing: Option<(u32, SimTime)>,
) -> ComponentReport {
    use crate::engine::Simulation;
    use crate::engine::rng::stream;
    let mut sim: Simulation<Msg, Box<dyn Observe>> =
        Simulation::new(SimDuration::from_secs(n / 1000 + 1), SimDuration::ZERO);
    // Ids in the order added: the client 0, the NLB 1, the group 2.
    let (lb, group) = (ComponentId(1), ComponentId(2));
    let metrics = || RequestMetrics::new(SimTime::ZERO);
    sim.add(
        "client",
        stream(1, "client"),
        Box::new(Client {
            lb,
            n,
            pooled,
            metrics: metrics(),
        }),
    );
    let spec = Spec {
        targets: Spanned::new(0..0, "group".into()),
        cross_zone: Some(cross_zone),
        idle_timeout: None,
        deregistration_delay: None,
        health_check: None,
    };
    sim.add(
        "lb",
        stream(1, "lb"),
        Box::new(spec.runtime(
            group,
            SimTime::ZERO,
            &crate::defaults::embedded_prices().nlb,
        )),
    );
    sim.add(
        "group",
        stream(1, "group"),
        Box::new(Group {
            lb,
            azs,
            failing,
            metrics: metrics(),
        }),
    );
    sim.run(|_| {}).expect("within the default limits");
    let (_, lb) = sim.components().nth(1).expect("the NLB");
    lb.report(sim.end())
}

#[test]
fn an_unhealthy_targets_flows_are_reset() {
    // 16 long-lived connections over 4 targets, 1 request per ms for 100 s. Target 0 fails
    // its checks from 1 s: checks every 30 s, 2 failures, so unhealthy at 60 s; its flows
    // are reset then, and every later request on them is refused with a reset (this
    // client does not reconnect).
    let failing = Some((0, SimTime::ZERO + SimDuration::from_secs(1)));
    let report = run_harness(vec![0; 4], false, 100_000, Some(16), failing);
    let f = &report.figures;
    let open: Vec<u64> = serde_json::from_value(f["target_open_connections"].clone()).unwrap();
    let reset = f["flows_reset"].as_u64().unwrap();
    assert!(reset > 0, "target 0 had flows: {f:?}");
    assert_eq!(open[0], 0);
    assert_eq!(open.iter().sum::<u64>() + reset, 16);
    assert_eq!(f["healthy_targets_end"], 3);
    // Requests from 60 s on the reset connections: 40 000 × reset / 16, give or take one
    // per connection.
    let resets = f["connection_resets"].as_u64().unwrap() as f64;
    let expected = 40_000.0 * reset as f64 / 16.0;
    assert!((resets - expected).abs() <= 16.0, "{resets} vs {expected}");
    assert_eq!(report.requests.failed, resets as u64);
}

#[test]
fn registered_azs_drive_cross_zone_balancing() {
    // The notes' example: 2 targets in AZ 0, 8 in AZ 1, one NLB node per AZ.
    let azs = vec![0, 0, 1, 1, 1, 1, 1, 1, 1, 1];
    let n = 40_000;
    let off = run_registered(azs.clone(), false, n);
    let on = run_registered(azs, true, n);
    assert_eq!(off.iter().sum::<u64>(), n);
    assert_eq!(on.iter().sum::<u64>(), n);
    // Off: each node half, split among its own AZ: 25 % and 6.25 %. On: 10 % each.
    // Binomial sd at most sqrt(0.25·0.75/40 000) = 0.0022: 5 sd.
    for (t, (&o, &c)) in off.iter().zip(&on).enumerate() {
        let expected_off = if t < 2 { 0.25 } else { 0.0625 };
        let (share_off, share_on) = (o as f64 / n as f64, c as f64 / n as f64);
        assert!((share_off - expected_off).abs() < 0.011, "off {t}: {off:?}");
        assert!((share_on - 0.1).abs() < 0.0075, "on {t}: {on:?}");
    }
    // Everything in AZ 0 (no AZs declared): cross-zone makes no difference.
    assert_eq!(
        run_registered(vec![0; 4], false, 1000),
        run_registered(vec![0; 4], true, 1000)
    );
}
