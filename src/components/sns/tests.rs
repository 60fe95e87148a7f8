//! A topic against a recording endpoint: the exact times of its delivery attempts under each
//! policy, and what becomes of a delivery once its policy is exhausted.

use std::sync::{Arc, Mutex};

use super::topic::{Filter, Protocol, Subscription, Topic};
use super::{HttpPolicySpec, defaults};
use crate::components::token_bucket::ExactBucket;
use crate::dist::Dist;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{Component, ComponentId, Simulation};
use crate::message::{Connection, Ctx, Msg, NO_ROUTE, Op, Outcome, Recorded, Request, Response};
use crate::metrics::{ComponentReport, Observe, RequestMetrics, SeriesRow};
use crate::units::Rate;

/// Publishes one message at time zero, then records every request it receives as an endpoint
/// (its time and operation) and answers each with `answer`.
struct Endpoint {
    /// Where it publishes its one message (none for a dead-letter queue).
    topic: Option<ComponentId>,
    answer: Outcome,
    seen: Arc<Mutex<Vec<(SimTime, Op)>>>,
}

impl Component<Msg> for Endpoint {
    fn init(&mut self, cx: &mut Ctx<'_>) {
        let Some(topic) = self.topic else {
            return;
        };
        let id = cx.new_request_id();
        cx.send_request(
            topic,
            Request {
                id,
                workload: 0,
                created_at: cx.now(),
                key: 7,
                item_kb: 1.0,
                op: Op::Write,
                attempt: 1,
                reply_to: cx.me(),
                tag: 0,
                route: NO_ROUTE,
                recorded_duration: Recorded::NONE,
                connection: Connection::single(id),
            },
        );
    }

    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        if let Msg::Request(request) = msg {
            self.seen.lock().unwrap().push((cx.now(), request.op));
            cx.reply(Response {
                request,
                outcome: self.answer,
            });
        }
    }
}

impl Observe for Endpoint {
    fn kind(&self) -> &'static str {
        "endpoint"
    }
    fn in_flight(&self) -> u64 {
        0
    }
    fn sample(&mut self, _now: SimTime, _row: &mut SeriesRow) {}
    fn report(&self, _end: SimTime) -> ComponentReport {
        RequestMetrics::new(SimTime::ZERO).report("endpoint", 0)
    }
}

/// Runs one publish through a topic with one subscription of `protocol` to an endpoint that
/// answers `answer` (and, if `dlq`, a dead-letter queue that accepts), for `secs` seconds.
/// Returns what the endpoint and the dead-letter queue saw, and the topic's report.
fn run_one(
    protocol: Protocol,
    schedule: super::policy::Schedule,
    answer: Outcome,
    dlq: bool,
    secs: u64,
) -> (Seen, Seen, ComponentReport) {
    use crate::engine::rng::stream;
    let mut sim: Simulation<Msg, Box<dyn Observe>> =
        Simulation::new(SimDuration::from_secs(secs), SimDuration::ZERO);
    let (topic, endpoint, queue) = (ComponentId(0), ComponentId(1), ComponentId(2));
    let subscription = Subscription::new(
        "endpoint".into(),
        endpoint,
        protocol,
        Filter::default(),
        dlq.then_some(queue),
        schedule,
    );
    sim.add(
        "topic",
        stream(1, "topic"),
        Box::new(Topic::new(
            vec![subscription],
            ExactBucket::new(Rate::from_per_second(10.0), 10),
            Dist::constant(SimDuration::from_millis(20)),
            RequestMetrics::new(SimTime::ZERO),
        )),
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let dead = Arc::new(Mutex::new(Vec::new()));
    sim.add(
        "endpoint",
        stream(1, "endpoint"),
        Box::new(Endpoint {
            topic: Some(topic),
            answer,
            seen: seen.clone(),
        }),
    );
    sim.add(
        "dlq",
        stream(1, "dlq"),
        Box::new(Endpoint {
            topic: None,
            answer: Outcome::Ok,
            seen: dead.clone(),
        }),
    );
    sim.run(|_| {}).expect("within the default limits");
    let (_, t) = sim.components().next().expect("the topic");
    let report = t.report(sim.end());
    let seen = seen.lock().unwrap().clone();
    let dead = dead.lock().unwrap().clone();
    (seen, dead, report)
}

/// Requests an endpoint received: when, and their operation.
type Seen = Vec<(SimTime, Op)>;

fn at(ms: u64) -> SimTime {
    SimTime::ZERO + SimDuration::from_millis(ms)
}

#[test]
fn a_failing_queue_is_retried_on_the_managed_schedule_exactly() {
    let schedule = defaults().managed_policy.schedule();
    let (seen, _, report) = run_one(Protocol::Sqs, schedule, Outcome::Error(500), false, 200);
    // First attempt after the 20 ms delivery delay, then the documented phases, in
    // nanoseconds.
    let mut expected = vec![20_000_000];
    let mut t = 20_000_000;
    for n in 1..=40 {
        t += schedule.delay_before(n).unwrap().as_nanos();
        expected.push(t);
    }
    let times: Vec<u64> = seen.iter().map(|(s, _)| s.as_nanos()).collect();
    let ms: Vec<u64> = times.iter().take(6).map(|t| t / 1_000_000).collect();
    assert_eq!(ms, [20, 20, 20, 1020, 2020, 3020]);
    assert_eq!(times, expected[..times.len()]);
    // 200 s: 15 attempts reach the end of the back-off (20 ms + 2 s + Σ back-off ≈ 64.4 s),
    // then one every 20 s.
    let backoff: u64 = (5..=14)
        .map(|n| schedule.delay_before(n).unwrap().as_nanos())
        .sum();
    let end_backoff = 20_000_000 + 2_000_000_000 + backoff;
    let after = (200_000_000_000 - end_backoff - 1) / 20_000_000_000;
    assert_eq!(times.len() as u64, 15 + after, "{times:?}");
    assert!(
        seen.iter().all(|(_, op)| *op == Op::Default),
        "a SendMessage"
    );
    // Every attempt failed and scheduled a retry (the last one's falls after the end).
    assert_eq!(report.figures["retries"], times.len() as u64);
    assert_eq!(report.figures["failed_attempts"], times.len() as u64);
    assert_eq!(report.figures["deliveries_in_flight"], 1);
    assert_eq!(report.figures["lost"], 0);
}

#[test]
fn a_failing_http_endpoint_gets_its_policy_then_the_dead_letter_queue() {
    let d = &defaults().http_policy;
    let spec: HttpPolicySpec = toml::from_str(
        "num_retries = 5\nnum_no_delay_retries = 1\nnum_min_delay_retries = 1\n\
         min_delay_target = \"2s\"\nmax_delay_target = \"8s\"",
    )
    .unwrap();
    let schedule = spec.schedule("p", d, 0..0).unwrap();
    let (seen, dead, report) = run_one(Protocol::Http, schedule, Outcome::Throttled, true, 60);
    let times: Vec<(SimTime, Op)> = seen;
    // 20 ms, then no delay, 2 s, and the linear back-off 2 s, 5 s, 8 s.
    assert_eq!(
        times,
        vec![
            (at(20), Op::Write),
            (at(20), Op::Write),
            (at(2_020), Op::Write),
            (at(4_020), Op::Write),
            (at(9_020), Op::Write),
            (at(17_020), Op::Write),
        ],
        "an HTTP endpoint gets the request's own operation"
    );
    assert_eq!(dead, vec![(at(17_020), Op::Default)], "dead-lettered once");
    let f = &report.figures;
    assert_eq!(f["retries"], 5);
    assert_eq!(f["failed_attempts"], 6);
    assert_eq!(f["dead_lettered"], 1);
    assert_eq!(f["failed_deliveries"], 1);
    assert_eq!(f["deliveries_in_flight"], 0);
    let ledger = &report.ledgers[0];
    assert_eq!((ledger.created, ledger.finished, ledger.inside), (1, 1, 0));
}

#[test]
fn a_lambda_endpoint_is_invoked_asynchronously_and_delivered_once() {
    let schedule = defaults().managed_policy.schedule();
    let (seen, _, report) = run_one(Protocol::Lambda, schedule, Outcome::Ok, false, 10);
    assert_eq!(seen, vec![(at(20), Op::Event)]);
    assert_eq!(report.figures["delivered"], 1);
    assert_eq!(report.figures["retries"], 0);
}

#[test]
fn without_a_dead_letter_queue_an_exhausted_delivery_is_lost_and_counted() {
    let d = &defaults().http_policy;
    let schedule = HttpPolicySpec::default().schedule("p", d, 0..0).unwrap();
    let (seen, _, report) = run_one(Protocol::Http, schedule, Outcome::Timeout, false, 120);
    let times: Vec<SimTime> = seen.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, vec![at(20), at(20_020), at(40_020), at(60_020)]);
    assert_eq!(report.figures["lost"], 1);
    assert_eq!(report.figures["dead_lettered"], 0);
}

#[test]
fn the_defaults_parse() {
    let d = defaults();
    assert_eq!(d.publish_burst, 30_000);
    assert_eq!(d.fifo_publish_rate.per_second(), 3_000.0);
}
