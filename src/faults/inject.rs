//! The injector: the component that delivers every fault's start and end to the components
//! concerned, and collects the workloads' final answers for the impact analysis.

use rand::Rng;
use serde_json::Value;

use super::impact::{AFTER_LAST_FAILURE, Impact};
use super::spec::AZ_KINDS;
use crate::engine::rng::SimRng;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{Component, ComponentId, Ctx};
use crate::message::{Control, FaultAction, Msg, PPM};
use crate::metrics::{ComponentReport, RequestMetrics, SeriesRow};
use crate::region::Region;
use crate::scenario::Scenario;

/// The name of the injector component (brackets keep it apart from scenario names).
pub const INJECTOR_NAME: &str = "(faults)";

/// The kind the injector reports.
pub const INJECTOR_KIND: &str = "faults";

/// Latency and error injection on a component without instances (a Lambda function): a
/// service-time multiplier and a failure fraction, and the failures counted.
#[derive(Clone, Debug)]
pub struct Injected {
    slowdown: f64,
    error_fraction: f64,
    injected_errors: u64,
    touched: bool,
    /// The component's `"faults"` sub-stream, made at the first draw: injected failures never
    /// move the component's own numbers, so runs with and without the fault stay comparable.
    rng: Option<SimRng>,
}

impl Default for Injected {
    fn default() -> Self {
        Injected {
            slowdown: 1.0,
            error_fraction: 0.0,
            injected_errors: 0,
            touched: false,
            rng: None,
        }
    }
}

impl Injected {
    /// Takes a fault's start or end into account (other actions do not concern it).
    pub fn apply(&mut self, action: FaultAction) {
        match action {
            FaultAction::Slowdown { factor_ppm } => self.slowdown = factor_ppm as f64 / PPM,
            FaultAction::Errors { fraction_ppm } => self.error_fraction = fraction_ppm as f64 / PPM,
            _ => return,
        }
        self.touched = true;
    }

    /// A service step's time under the current slowdown.
    pub fn stretch(&self, delay: SimDuration) -> SimDuration {
        if self.slowdown == 1.0 {
            delay
        } else {
            delay.mul_f64(self.slowdown)
        }
    }

    /// True when an arriving request must fail (a seeded draw, only while errors are
    /// injected); counted when `in_window`. `own` is the component's stream, from which the
    /// fault sub-stream is derived (it is not drawn from).
    pub fn fails(&mut self, in_window: bool, own: &SimRng) -> bool {
        if self.error_fraction <= 0.0 {
            return false;
        }
        let fraction = self.error_fraction;
        if self.rng(own).random::<f64>() < fraction {
            if in_window {
                self.injected_errors += 1;
            }
            true
        } else {
            false
        }
    }

    /// The component's fault sub-stream (`own` is the component's own stream, which is not
    /// drawn from): for every random choice a fault makes (which request fails, which instance
    /// crashes).
    pub fn rng(&mut self, own: &SimRng) -> &mut SimRng {
        self.rng
            .get_or_insert_with(|| crate::engine::rng::substream(own, "faults"))
    }

    /// Requests failed by injection in the measured window.
    pub fn injected_errors(&self) -> u64 {
        self.injected_errors
    }

    /// Adds `injected_errors` to a report once a fault touched the component.
    pub fn report(&self, report: ComponentReport) -> ComponentReport {
        if self.touched {
            report.figure("injected_errors", self.injected_errors)
        } else {
            report
        }
    }
}

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
        scenario: &Scenario,
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
            .filter(|c| AZ_KINDS.contains(&c.spec.kind()))
            .map(|c| ids[&c.name])
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
                    for &t in &times {
                        push(t, target, FaultAction::InstanceFailure);
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
                scenario.workloads.iter().map(|w| w.name.get_ref().clone()),
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

impl Component for Injector {
    fn kind(&self) -> &'static str {
        INJECTOR_KIND
    }

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

    fn in_flight(&self) -> u64 {
        0
    }

    fn sample(&mut self, _now: SimTime, row: &mut SeriesRow) {
        self.metrics.sample(0, row);
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

    #[test]
    fn injected_effects_start_and_end() {
        let mut injected = Injected::default();
        let rng = crate::engine::rng::stream(1, "test");
        assert!(!injected.fails(true, &rng));
        injected.apply(FaultAction::Slowdown {
            factor_ppm: 2_500_000,
        });
        assert_eq!(
            injected.stretch(SimDuration::from_millis(10)),
            SimDuration::from_millis(25)
        );
        injected.apply(FaultAction::Errors {
            fraction_ppm: 1_000_000,
        });
        assert!(injected.fails(true, &rng));
        injected.apply(FaultAction::Errors { fraction_ppm: 0 });
        assert!(!injected.fails(true, &rng));
        assert_eq!(injected.injected_errors, 1);
    }
}
