//! The injector: the component that delivers every fault's start and end to the components
//! concerned, and collects the workloads' final answers for the impact analysis.

use rand::Rng;
use serde_json::Value;

use super::impact::{AFTER_LAST_FAILURE, Impact};
use super::spec::{FailureMode, Setting};
use crate::engine::rng::SimRng;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{Component, ComponentId};
use crate::message::Ctx;
use crate::message::{Control, FaultAction, Msg, PPM};
use crate::metrics::{ComponentReport, Observe, RequestMetrics, SeriesRow};
use crate::region::Region;

/// The name of the injector component (brackets keep it apart from scenario names).
pub const INJECTOR_NAME: &str = "(faults)";

/// The kind the injector reports.
pub const INJECTOR_KIND: &str = "faults";

/// One scheduled delivery: at `at`, `action` to `target`.
#[derive(Copy, Clone, Debug)]
struct Delivery {
    at: SimTime,
    target: ComponentId,
    action: FaultAction,
}

/// The fault injector and impact monitor (see the module docs).
pub struct Injector {
    deliveries: Vec<Delivery>,
    impacts: Vec<Impact>,
    metrics: RequestMetrics,
}

impl Injector {
    /// Plans every delivery of the scenario's faults for a run of `duration`. `ids` maps names
    /// to component ids; `rng` draws random failure times.
    pub fn build(
        scenario: &Setting<'_>,
        region: &Region,
        ids: &std::collections::BTreeMap<String, ComponentId>,
        duration: SimDuration,
        warmup_end: SimTime,
        mut rng: SimRng,
    ) -> Injector {
        let run_end = SimTime::ZERO + duration;
        let az_targets: Vec<ComponentId> = scenario
            .components
            .iter()
            .filter(|(_, spec)| spec.roles().az_placement)
            .map(|(name, _)| ids[*name])
            .collect();
        let mut deliveries = Vec::new();
        let mut impacts = Vec::new();
        for (index, fault) in scenario.faults.iter().enumerate() {
            let f = fault.get_ref();
            let at = SimTime::ZERO + f.at.as_ref().map_or(SimDuration::ZERO, |a| *a.get_ref());
            let end = f.duration.as_ref().map_or(run_end, |d| at + *d.get_ref());
            let target = f.component.as_ref().map(|c| ids[c.get_ref()]);
            let mut push = |at: SimTime, target: ComponentId, action: FaultAction| {
                deliveries.push(Delivery { at, target, action })
            };
            let (subject, start, window_end) = match f.kind.get_ref().as_str() {
                "az_outage" => {
                    let name = f.az.as_ref().expect("validated").get_ref();
                    let az = region.az_index(name).expect("validated");
                    for &t in &az_targets {
                        push(at, t, FaultAction::AzDown { az });
                    }
                    for &t in &az_targets {
                        push(end, t, FaultAction::AzUp { az });
                    }
                    (name.clone(), at, end)
                }
                "instance_failure" => {
                    let target = target.expect("validated");
                    let times: Vec<SimTime> = match (&f.times, &f.rate) {
                        (Some(times), _) => {
                            let mut t: Vec<SimTime> = times
                                .get_ref()
                                .iter()
                                .map(|t| SimTime::ZERO + *t.get_ref())
                                .collect();
                            t.sort();
                            t
                        }
                        (None, Some(rate)) => poisson_times(
                            rate.get_ref().per_second(),
                            at,
                            end.min(run_end),
                            &mut rng,
                        ),
                        (None, None) => Vec::new(),
                    };
                    let action = match f.mode.as_ref().map(|m| *m.get_ref()) {
                        Some(FailureMode::Hang) => FaultAction::InstanceHang,
                        _ => FaultAction::InstanceFailure,
                    };
                    for &t in &times {
                        push(t, target, action);
                    }
                    let (start, window_end) = if f.times.is_some() {
                        let first = times.first().copied().unwrap_or(at);
                        let last = times.last().copied().unwrap_or(at);
                        (first, last + AFTER_LAST_FAILURE)
                    } else {
                        (at, end)
                    };
                    (
                        f.component.as_ref().expect("validated").get_ref().clone(),
                        start,
                        window_end,
                    )
                }
                "latency_injection" => {
                    let target = target.expect("validated");
                    let factor = *f.factor.as_ref().expect("validated").get_ref();
                    let factor_ppm = (factor * PPM).round() as u32;
                    push(at, target, FaultAction::Slowdown { factor_ppm });
                    push(
                        end,
                        target,
                        FaultAction::Slowdown {
                            factor_ppm: PPM as u32,
                        },
                    );
                    (
                        f.component.as_ref().expect("validated").get_ref().clone(),
                        at,
                        end,
                    )
                }
                _ => {
                    let target = target.expect("validated");
                    let fraction = *f.fraction.as_ref().expect("validated").get_ref();
                    let fraction_ppm = (fraction * PPM).round() as u32;
                    push(at, target, FaultAction::Errors { fraction_ppm });
                    push(end, target, FaultAction::Errors { fraction_ppm: 0 });
                    (
                        f.component.as_ref().expect("validated").get_ref().clone(),
                        at,
                        end,
                    )
                }
            };
            impacts.push(Impact::new(
                f.label(index),
                f.kind.get_ref().clone(),
                subject,
                (start, window_end),
                scenario.workloads.iter().map(|w| w.to_string()),
            ));
        }
        // Deliveries past the end never happen; the rest go out in time order (ties in plan
        // order), which is the order the engine keeps for events scheduled at once.
        deliveries.retain(|d| d.at < run_end);
        deliveries.sort_by_key(|d| d.at);
        Injector {
            deliveries,
            impacts,
            metrics: RequestMetrics::new(warmup_end),
        }
    }
}

/// Event times of a Poisson process of `per_second` on [`from`, `to`).
fn poisson_times(per_second: f64, from: SimTime, to: SimTime, rng: &mut SimRng) -> Vec<SimTime> {
    let mut out = Vec::new();
    if per_second <= 0.0 {
        return out;
    }
    let mut t = from;
    loop {
        let u: f64 = rng.random();
        t += SimDuration::from_secs_f64(-(1.0 - u).ln() / per_second);
        if t >= to {
            return out;
        }
        out.push(t);
    }
}

impl Component<Msg> for Injector {
    fn init(&mut self, cx: &mut Ctx<'_>) {
        for d in &self.deliveries {
            cx.send_after(
                d.target,
                d.at.saturating_since(cx.now()),
                Msg::Control(Control::Fault(d.action)),
            );
        }
    }

    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        // Workloads copy their final answers here.
        if let Msg::Response(response) = msg {
            let now = cx.now();
            let created = response.request.created_at;
            let ok = response.outcome.is_ok();
            let workload = response.request.workload as usize;
            for impact in &mut self.impacts {
                impact.record(workload, created, now, ok);
            }
        }
    }
}

impl Observe for Injector {
    fn kind(&self) -> &'static str {
        INJECTOR_KIND
    }

    fn in_flight(&self) -> u64 {
        0
    }

    fn sample(&mut self, _now: SimTime, row: &mut SeriesRow) {
        self.metrics.sample(0, row);
    }

    /// The injector serves no request: its rows would be all zeros.
    fn has_series(&self) -> bool {
        false
    }

    fn report(&self, end: SimTime) -> ComponentReport {
        let faults: Vec<Value> = self.impacts.iter().map(|i| i.report(end)).collect();
        self.metrics
            .report(INJECTOR_KIND, 0)
            .figure("faults", faults)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs_f64(s)
    }

    #[test]
    fn poisson_failure_times_follow_the_rate() {
        let mut rng = crate::engine::rng::stream(1, "test");
        let times = poisson_times(2.0, secs(0.0), secs(10_000.0), &mut rng);
        // 20,000 expected, sd 141.
        assert!(
            (times.len() as f64 - 20_000.0).abs() < 5.0 * 141.5,
            "{}",
            times.len()
        );
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert!(times.iter().all(|&t| t < secs(10_000.0)));
    }
}
