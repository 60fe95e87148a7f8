//! `alb`: an Application Load Balancer with one listener forwarding to one target group.
//!
//! ```toml
//! [[component]]
//! name = "web-alb"
//! kind = "alb"
//! targets = "web"                            # an ec2_fleet (its instances are the targets)
//! algorithm = "least_outstanding_requests"   # or "round_robin" (default)
//! idle_timeout = "60s"                       # default 60 s; no answer by then -> 504
//! ```
//!
//! # What it follows
//! - Round robin is the default routing algorithm: each request goes to the next target in turn.
//! - Least outstanding requests picks the target with the fewest requests sent and not yet
//!   answered. Ties go to the first tied target after the last one chosen, so equal targets
//!   share the load in turn instead of piling onto the first.
//! - 503 when no target can take the request; 504 when a target does not answer within the idle
//!   timeout (the target's late answer is then discarded and counted as `late_responses`).
//! - Cross-zone load balancing is on (as for every ALB): all instances are targets, whatever
//!   their zone.
//!
//! # What it simplifies
//! The load balancer adds no latency of its own. It knows each target's capacity (workers plus
//! `max_queue`) and skips a target that is full, as if the target refused the connection; with
//! an unbounded queue no target is ever full. Health checks, slow start, deregistration delay
//! and listener rules come with the Auto Scaling issue.

use std::collections::VecDeque;

use serde::Deserialize;
use toml::Spanned;

use super::{BuildContext, Expects, Kind, Reference};
use crate::engine::slab::Slab;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{Component, ComponentId, Ctx};
use crate::message::{Msg, Outcome, Request, Response, Timer};
use crate::metrics::{ComponentReport, RequestMetrics, SeriesRow};
use crate::units::PositiveDuration;

/// The `alb` table of a scenario.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The target group: the name of an `ec2_fleet`.
    pub targets: Spanned<String>,
    /// Routing algorithm (default round robin).
    #[serde(default)]
    pub algorithm: Algorithm,
    /// How long the ALB waits for a target's answer before it answers 504 (default from
    /// `models/alb.toml`: 60 s).
    pub idle_timeout: Option<PositiveDuration>,
}

/// How the ALB picks a target.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// Each target in turn.
    #[default]
    RoundRobin,
    /// The target with the fewest outstanding requests.
    LeastOutstandingRequests,
}

/// Kinds an ALB can forward to.
const TARGET_KINDS: &[&str] = &["ec2_fleet"];

impl Kind for Spec {
    const KIND: &'static str = "alb";
    const ACCEPTS_REQUESTS: bool = true;

    fn references(&self) -> Vec<Reference<'_>> {
        vec![Reference {
            field: "targets".into(),
            name: &self.targets,
            expects: Expects::Kinds(TARGET_KINDS),
            synchronous: true,
        }]
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Component>, String> {
        let target_name = self.targets.get_ref();
        let group = cx
            .specs
            .get(target_name.as_str())
            .and_then(|s| s.target_group())
            .ok_or_else(|| format!("`{target_name}` has no instances to route to"))?;
        let n = group.instances as usize;
        Ok(Box::new(Alb {
            target: cx.id(target_name),
            algorithm: self.algorithm,
            idle_timeout: self
                .idle_timeout
                .map_or(crate::defaults::alb().idle_timeout, |d| d.0),
            capacity: group.capacity_per_instance,
            outstanding: vec![0; n],
            target_requests: vec![0; n],
            next: 0,
            forwards: Slab::default(),
            next_generation: 0,
            deadlines: VecDeque::new(),
            timer_armed: false,
            in_flight: 0,
            rejected: 0,
            late_responses: 0,
            metrics: RequestMetrics::new(cx.warmup_end),
        }))
    }
}

/// What the ALB remembers of a request it forwarded.
#[derive(Clone, Debug)]
struct Forward {
    /// The request as the client sent it (its `reply_to` and `tag` are the client's).
    request: Request,
    arrived: SimTime,
    target: u32,
    /// Unique per forwarded request, so a deadline left behind by an earlier user of the slot
    /// is recognised as stale.
    generation: u64,
    /// False once the client has had its 504; the target's answer is then discarded.
    waiting: bool,
}

/// Timer kind: the earliest idle-timeout deadline is due.
const TIMER_IDLE_TIMEOUT: u32 = 0;

/// A running ALB.
pub struct Alb {
    target: ComponentId,
    algorithm: Algorithm,
    idle_timeout: SimDuration,
    capacity: Option<u32>,
    outstanding: Vec<u32>,
    /// Requests sent to each target in the measured window.
    target_requests: Vec<u64>,
    /// Where the next round-robin turn (or least-outstanding tie-break scan) starts.
    next: usize,
    forwards: Slab<Forward>,
    /// Generation of the next forwarded request.
    next_generation: u64,
    /// (deadline, slot, generation) in deadline order: the timeout is the same for every
    /// request and time only moves forward, so pushing at the back keeps the order, and one
    /// armed timer for the front replaces a timer per request.
    deadlines: VecDeque<(SimTime, u32, u64)>,
    timer_armed: bool,
    in_flight: u64,
    rejected: u64,
    late_responses: u64,
    metrics: RequestMetrics,
}

impl Alb {
    fn can_take(&self, target: usize) -> bool {
        self.capacity
            .is_none_or(|cap| self.outstanding[target] < cap)
    }

    /// The target for the next request, or `None` if none can take it.
    fn choose(&mut self) -> Option<usize> {
        let n = self.outstanding.len();
        if n == 0 {
            return None;
        }
        let start = self.next;
        let chosen = match self.algorithm {
            Algorithm::RoundRobin => (0..n).map(|k| (start + k) % n).find(|&t| self.can_take(t)),
            Algorithm::LeastOutstandingRequests => {
                let mut best = None;
                let mut best_count = u32::MAX;
                for k in 0..n {
                    let t = (start + k) % n;
                    if self.outstanding[t] < best_count && self.can_take(t) {
                        best = Some(t);
                        best_count = self.outstanding[t];
                    }
                }
                best
            }
        };
        if let Some(t) = chosen {
            self.next = (t + 1) % n;
        }
        chosen
    }

    fn on_request(&mut self, request: Request, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.metrics.arrived(now);
        let Some(target) = self.choose() else {
            if self.metrics.in_window(now) {
                self.rejected += 1;
            }
            let outcome = Outcome::Error(503);
            self.metrics.finished(now, now, outcome);
            cx.reply(Response { request, outcome });
            return;
        };
        if self.metrics.in_window(now) {
            self.target_requests[target] += 1;
        }
        self.outstanding[target] += 1;
        self.in_flight += 1;
        let generation = self.next_generation;
        self.next_generation += 1;
        let slot = self.forwards.insert(Forward {
            request,
            arrived: now,
            target: target as u32,
            generation,
            waiting: true,
        });
        self.deadlines
            .push_back((now + self.idle_timeout, slot, generation));
        if !self.timer_armed {
            self.arm_timer(cx);
        }
        let forwarded = Request {
            reply_to: cx.me(),
            tag: slot as u64,
            route: target as u32,
            ..request
        };
        cx.send_request(self.target, forwarded);
    }

    fn on_response(&mut self, response: Response, cx: &mut Ctx<'_>) {
        let slot = response.request.tag as u32;
        let forward = &mut self.forwards[slot];
        self.outstanding[forward.target as usize] -= 1;
        if forward.waiting {
            forward.waiting = false;
            let (request, arrived) = (forward.request, forward.arrived);
            self.in_flight -= 1;
            self.metrics.finished(arrived, cx.now(), response.outcome);
            cx.reply(Response {
                request,
                outcome: response.outcome,
            });
        } else {
            self.late_responses += 1;
        }
        self.forwards.remove(slot);
    }

    /// Arms the timer for the earliest live deadline, dropping the stale ones in front.
    fn arm_timer(&mut self, cx: &mut Ctx<'_>) {
        while let Some(&(deadline, slot, generation)) = self.deadlines.front() {
            let f = &self.forwards[slot];
            if f.generation != generation || !f.waiting {
                self.deadlines.pop_front();
                continue;
            }
            self.timer_armed = true;
            cx.set_timer(
                deadline.saturating_since(cx.now()),
                Timer {
                    kind: TIMER_IDLE_TIMEOUT,
                    id: 0,
                },
            );
            return;
        }
        self.timer_armed = false;
    }

    fn on_idle_timeout(&mut self, cx: &mut Ctx<'_>) {
        let now = cx.now();
        while let Some(&(deadline, slot, generation)) = self.deadlines.front() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_front();
            let f = &mut self.forwards[slot];
            if f.generation == generation && f.waiting {
                // The client gets its 504 now; the slot stays until the target answers.
                f.waiting = false;
                let (request, arrived) = (f.request, f.arrived);
                self.in_flight -= 1;
                self.metrics.finished(arrived, now, Outcome::Timeout);
                cx.reply(Response {
                    request,
                    outcome: Outcome::Timeout,
                });
            }
        }
        self.arm_timer(cx);
    }
}

impl Component for Alb {
    fn kind(&self) -> &'static str {
        Spec::KIND
    }

    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => self.on_request(request, cx),
            Msg::Response(response) => self.on_response(response, cx),
            Msg::Timer(Timer {
                kind: TIMER_IDLE_TIMEOUT,
                ..
            }) => self.on_idle_timeout(cx),
            Msg::Timer(other) => debug_assert!(false, "unknown alb timer {other:?}"),
        }
    }

    fn in_flight(&self) -> u64 {
        self.in_flight
    }

    fn sample(&mut self, _now: SimTime, row: &mut SeriesRow) {
        self.metrics.sample(self.in_flight, row);
    }

    fn report(&self, _end: SimTime) -> ComponentReport {
        let n = self.target_requests.len().max(1) as f64;
        let total: u64 = self.target_requests.iter().sum();
        let max = self.target_requests.iter().copied().max().unwrap_or(0);
        let imbalance = if total > 0 {
            max as f64 / (total as f64 / n)
        } else {
            0.0
        };
        self.metrics
            .report(Spec::KIND, self.in_flight)
            .figure("algorithm", self.algorithm)
            .figure("targets", self.target_requests.len())
            .figure("target_requests", &self.target_requests)
            .figure("imbalance", imbalance)
            .figure("rejected", self.rejected)
            .figure("late_responses", self.late_responses)
    }
}

#[cfg(test)]
mod tests {
    use crate::run::run_text;

    fn scenario(alb: &str, fleet: &str, rate: &str) -> String {
        format!(
            r#"
[simulation]
duration = "10s"
[[workload]]
name = "load"
target = "lb"
arrival = {{ process = "constant", rate = "{rate}" }}
[[component]]
name = "lb"
kind = "alb"
targets = "web"
{alb}
[[component]]
name = "web"
kind = "ec2_fleet"
{fleet}
"#
        )
    }

    #[test]
    fn round_robin_takes_each_target_in_turn() {
        let s = run_text(&scenario(
            "",
            "instances = 4\nhandler = [ { compute = \"1ms\" } ]",
            "10/s",
        ));
        // 99 arrivals: 25, 25, 25, 24.
        let lb = &s["components"]["lb"];
        assert_eq!(lb["target_requests"], serde_json::json!([25, 25, 25, 24]));
        assert_eq!(lb["algorithm"], "round_robin");
        let imbalance = lb["imbalance"].as_f64().unwrap();
        assert!((imbalance - 25.0 / 24.75).abs() < 1e-12, "{imbalance}");
    }

    #[test]
    fn least_outstanding_spreads_ties_and_avoids_busy_targets() {
        // Each request takes 250 ms and they come every 100 ms: when one arrives, two or three
        // targets are busy, and the idle ones are chosen in turn.
        let s = run_text(&scenario(
            "algorithm = \"least_outstanding_requests\"",
            "instances = 4\nhandler = [ { compute = \"250ms\" } ]",
            "10/s",
        ));
        let lb = &s["components"]["lb"];
        let web = &s["components"]["web"];
        assert_eq!(lb["target_requests"], serde_json::json!([25, 25, 25, 24]));
        // Nobody ever waits: a free target always exists and is preferred.
        assert_eq!(web["wait_ms"]["max"], 0.0);
    }

    #[test]
    fn no_target_with_room_means_503_from_the_alb() {
        // Two single-worker targets with no queue; requests every 100 ms need 250 ms each, so
        // some arrive when both are busy.
        let s = run_text(&scenario(
            "algorithm = \"least_outstanding_requests\"",
            "instances = 2\nmax_queue = 0\nhandler = [ { compute = \"250ms\" } ]",
            "10/s",
        ));
        let lb = &s["components"]["lb"];
        let rejected = lb["rejected"].as_u64().unwrap();
        assert!(rejected > 0);
        assert_eq!(lb["requests"]["failed"].as_u64().unwrap(), rejected);
        // The targets never had to refuse: the ALB did not send them what they could not take.
        assert_eq!(s["components"]["web"]["rejected"], 0);
        // Arrivals at 0.1 and 0.2 s are taken; 0.3 is refused (busy until 0.35 and 0.45); 0.4
        // and 0.5 are taken; 0.6 is refused... one in three: 0.3, 0.6, ..., 9.9 s.
        assert_eq!(rejected, 33);
    }

    #[test]
    fn a_target_slower_than_the_idle_timeout_gets_504s() {
        let s = run_text(&scenario(
            "idle_timeout = \"1s\"",
            "instances = 1\nvcpus = 100\nhandler = [ { sleep = \"1500ms\" } ]",
            "1/s",
        ));
        let load = &s["workloads"]["load"]["requests"];
        let lb = &s["components"]["lb"];
        // Arrivals at 1..9 s; each times out 1 s later (the last at 10 s is past the end).
        assert_eq!(load["timed_out"], 8);
        assert_eq!(load["completed"], 0);
        assert_eq!(lb["requests"]["timed_out"], 8);
        // The target answers 0.5 s after each timeout: eight late answers are discarded.
        assert_eq!(lb["late_responses"], 8);
        assert_eq!(s["components"]["web"]["requests"]["completed"], 8);
    }
}
