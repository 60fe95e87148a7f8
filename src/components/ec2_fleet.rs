//! `ec2_fleet`: a fixed set of identical EC2 instances serving requests.
//!
//! ```toml
//! [[component]]
//! name = "web"
//! kind = "ec2_fleet"
//! instances = 4
//! vcpus = 2          # requests served in parallel per instance; the rest wait FIFO
//! max_queue = 100    # waiting requests per instance beyond which it answers 503
//! speed = [1, 1, 1, 0.333]   # optional: per-instance speed factor (or one number for all)
//! handler = [ { compute = { dist = "exponential", mean = "40ms" } } ]
//! ```
//!
//! # What it follows, what it simplifies
//! Each instance is a FIFO queue in front of `vcpus` workers: a request holds one worker for its
//! whole handler (compute, calls and sleeps alike, as a thread-per-request server does), and
//! queued requests start in arrival order. An instance whose queue already holds `max_queue`
//! requests answers 503 at once. `compute` steps take their sampled time divided by the
//! instance's `speed`; CPU utilisation counts compute time only, while `utilisation` counts
//! busy workers. Requests a load balancer routes to a given instance go there; requests sent to
//! the fleet directly are spread round robin. Not modelled: instance launch or failure (see the
//! `asg` kind), burstable CPU credits, network time.
//!
//! With `instances = 1`, `vcpus = c`, no `max_queue`, an exponential compute step and a Poisson
//! workload this is the M/M/c queue of textbooks; its tests compare it with Erlang C.

use std::collections::VecDeque;
use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, SeqAccess, Visitor};
use toml::Spanned;

use super::handler::{Handler, Next, StepSpec, call_references};
use super::{BuildContext, Expects, Kind, Reference, SpecIssue, TargetGroup};
use crate::engine::slab::Slab;
use crate::engine::time::SimTime;
use crate::engine::{Component, Ctx};
use crate::message::{Msg, NO_ROUTE, Outcome, Request, Response, Timer};
use crate::metrics::{ComponentReport, Latency, RequestMetrics, SeriesRow, TimeWeighted};

/// The `ec2_fleet` table of a scenario.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Number of instances (at least 1).
    pub instances: Spanned<u32>,
    /// Requests served in parallel per instance (default 1).
    #[serde(default = "default_vcpus")]
    pub vcpus: Spanned<u32>,
    /// Waiting requests per instance beyond which it answers 503 (default: unbounded).
    pub max_queue: Option<u32>,
    /// Speed factor per instance (compute time is divided by it); one number or one per
    /// instance. Default 1.
    pub speed: Option<Spanned<Speed>>,
    /// What serving one request does.
    pub handler: Spanned<Vec<StepSpec>>,
}

fn default_vcpus() -> Spanned<u32> {
    Spanned::new(0..0, 1)
}

/// `speed = 0.5` or `speed = [1, 1, 0.333]`.
#[derive(Clone, Debug, PartialEq)]
pub enum Speed {
    /// The same factor for every instance.
    All(f64),
    /// One factor per instance.
    Each(Vec<f64>),
}

impl<'de> Deserialize<'de> for Speed {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Speed;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a speed factor (e.g. 0.5) or a list of one factor per instance")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Speed, E> {
                Ok(Speed::All(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Speed, E> {
                Ok(Speed::All(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Speed, E> {
                Ok(Speed::All(v as f64))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Speed, A::Error> {
                let mut all = Vec::new();
                while let Some(v) = seq.next_element::<f64>()? {
                    all.push(v);
                }
                Ok(Speed::Each(all))
            }
        }
        d.deserialize_any(V)
    }
}

impl Spec {
    fn speeds(&self) -> Vec<f64> {
        let n = *self.instances.get_ref() as usize;
        match self.speed.as_ref().map(Spanned::get_ref) {
            None => vec![1.0; n],
            Some(Speed::All(s)) => vec![*s; n],
            Some(Speed::Each(v)) => v.clone(),
        }
    }
}

impl Kind for Spec {
    const KIND: &'static str = "ec2_fleet";
    const ACCEPTS_REQUESTS: bool = true;

    fn references(&self) -> Vec<Reference<'_>> {
        call_references(self.handler.get_ref())
            .into_iter()
            .map(|(field, name)| Reference {
                field,
                name,
                expects: Expects::RequestTarget,
                synchronous: true,
            })
            .collect()
    }

    fn check(&self, span: Range<usize>) -> Vec<SpecIssue> {
        let mut issues = Vec::new();
        let mut issue = |field: &str, message: String, span: Range<usize>| {
            issues.push(SpecIssue {
                field: field.to_string(),
                message,
                span,
            })
        };
        let instances = *self.instances.get_ref();
        if instances == 0 {
            issue(
                "instances",
                "must be at least 1".into(),
                self.instances.span(),
            );
        }
        if *self.vcpus.get_ref() == 0 {
            let at = if self.vcpus.span().is_empty() {
                span.clone()
            } else {
                self.vcpus.span()
            };
            issue("vcpus", "must be at least 1".into(), at);
        }
        if let Some(speed) = &self.speed {
            let speeds = self.speeds();
            if let Speed::Each(v) = speed.get_ref()
                && v.len() != instances as usize
            {
                issue(
                    "speed",
                    format!(
                        "gives {} factors for {instances} instances; give one per instance \
                             or a single number",
                        v.len()
                    ),
                    speed.span(),
                );
            }
            if let Some(bad) = speeds.iter().find(|s| !(**s > 0.0 && s.is_finite())) {
                issue(
                    "speed",
                    format!("factors must be positive numbers, found {bad}"),
                    speed.span(),
                );
            }
        }
        if self.handler.get_ref().is_empty() {
            issue(
                "handler",
                "needs at least one step, e.g. [ { compute = \"40ms\" } ]".into(),
                self.handler.span(),
            );
        }
        issues
    }

    fn target_group(&self) -> Option<TargetGroup> {
        Some(TargetGroup {
            instances: *self.instances.get_ref(),
            capacity_per_instance: self
                .max_queue
                .map(|q| q.saturating_add(*self.vcpus.get_ref())),
        })
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Component>, String> {
        let handler = Handler::build(self.handler.get_ref(), cx.base_dir, |n| cx.id(n))?;
        let instances = self
            .speeds()
            .into_iter()
            .map(|speed| Instance {
                busy: 0,
                queue: VecDeque::new(),
                speed,
                requests: 0,
            })
            .collect();
        Ok(Box::new(Ec2Fleet {
            handler,
            vcpus: *self.vcpus.get_ref(),
            max_queue: self.max_queue,
            instances,
            jobs: Slab::default(),
            next_instance: 0,
            in_flight: 0,
            queued: 0,
            metrics: RequestMetrics::new(cx.warmup_end),
            busy_workers: TimeWeighted::new(0.0),
            busy_cpus: TimeWeighted::new(0.0),
            inside: TimeWeighted::new(0.0),
            waiting: TimeWeighted::new(0.0),
            wait: Latency::new(3),
            accepted: 0,
            queued_on_arrival: 0,
            rejected: 0,
        }))
    }
}

/// One instance: busy workers and a FIFO of waiting jobs.
struct Instance {
    busy: u32,
    queue: VecDeque<u32>,
    speed: f64,
    /// Requests routed here in the measured window.
    requests: u64,
}

/// A request inside the fleet.
#[derive(Clone, Debug)]
struct Job {
    request: Request,
    arrived: SimTime,
    instance: u32,
    /// Index of the next handler step.
    step: u16,
    on_cpu: bool,
}

/// Timer kind: the current wait (compute or sleep) of job `id` is over.
const TIMER_STEP_DONE: u32 = 0;

/// A running fleet.
pub struct Ec2Fleet {
    handler: Handler,
    vcpus: u32,
    max_queue: Option<u32>,
    instances: Vec<Instance>,
    /// Jobs by slot (the slot is the key in timers and call tags).
    jobs: Slab<Job>,
    next_instance: usize,
    in_flight: u64,
    queued: u64,
    metrics: RequestMetrics,
    busy_workers: TimeWeighted,
    busy_cpus: TimeWeighted,
    /// Requests inside the fleet (queued or served), over time.
    inside: TimeWeighted,
    /// Requests waiting in queues, over time.
    waiting: TimeWeighted,
    /// Queueing delay (arrival to start) of window requests.
    wait: Latency,
    /// Window requests admitted (served or queued).
    accepted: u64,
    /// Of those, the ones that found every worker of their instance busy.
    queued_on_arrival: u64,
    /// Window requests refused with 503.
    rejected: u64,
}

impl Ec2Fleet {
    fn on_request(&mut self, request: Request, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let in_window = self.metrics.in_window(now);
        self.metrics.arrived(now);
        let instance = if request.route != NO_ROUTE {
            request.route as usize % self.instances.len()
        } else {
            let i = self.next_instance;
            self.next_instance = (i + 1) % self.instances.len();
            i
        };
        let inst = &mut self.instances[instance];
        if in_window {
            inst.requests += 1;
        }
        let must_wait = inst.busy >= self.vcpus;
        if must_wait
            && self
                .max_queue
                .is_some_and(|max| inst.queue.len() >= max as usize)
        {
            if in_window {
                self.rejected += 1;
            }
            let outcome = Outcome::Error(503);
            self.metrics.finished(now, now, outcome);
            cx.reply(Response { request, outcome });
            return;
        }
        self.in_flight += 1;
        self.inside.set(now, cx.warmup_end(), self.in_flight as f64);
        if in_window {
            self.accepted += 1;
        }
        let job = Job {
            request,
            arrived: now,
            instance: instance as u32,
            step: 0,
            on_cpu: false,
        };
        let slot = self.jobs.insert(job);
        if must_wait {
            if in_window {
                self.queued_on_arrival += 1;
            }
            self.instances[instance].queue.push_back(slot);
            self.queued += 1;
            self.waiting.set(now, cx.warmup_end(), self.queued as f64);
        } else {
            self.start(slot, cx);
        }
    }

    /// A worker takes job `slot`.
    fn start(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let job = &self.jobs[slot];
        self.instances[job.instance as usize].busy += 1;
        if self.metrics.in_window(job.arrived) {
            self.wait.record(now - job.arrived);
        }
        let busy = self.busy_workers.value() + 1.0;
        self.busy_workers.set(now, cx.warmup_end(), busy);
        self.run(slot, cx);
    }

    /// Runs job `slot` up to its next wait, call, or its end.
    fn run(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let job = &mut self.jobs[slot];
        let speed = self.instances[job.instance as usize].speed;
        match self.handler.next(job.step as usize, speed, cx.rng()) {
            Next::Wait { delay, cpu } => {
                job.step += 1;
                if cpu {
                    job.on_cpu = true;
                    let busy = self.busy_cpus.value() + 1.0;
                    self.busy_cpus.set(cx.now(), cx.warmup_end(), busy);
                }
                cx.set_timer(
                    delay,
                    Timer {
                        kind: TIMER_STEP_DONE,
                        id: slot as u64,
                    },
                );
            }
            Next::Call(to, op) => {
                job.step += 1;
                let call = Request {
                    op,
                    reply_to: cx.me(),
                    tag: slot as u64,
                    route: NO_ROUTE,
                    ..job.request
                };
                cx.send_request(to, call);
            }
            Next::Done => self.finish(slot, Outcome::Ok, cx),
        }
    }

    fn on_step_done(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let job = &mut self.jobs[slot];
        if job.on_cpu {
            job.on_cpu = false;
            let busy = self.busy_cpus.value() - 1.0;
            self.busy_cpus.set(cx.now(), cx.warmup_end(), busy);
        }
        self.run(slot, cx);
    }

    fn on_response(&mut self, response: Response, cx: &mut Ctx<'_>) {
        let slot = response.request.tag as u32;
        if response.outcome.is_ok() {
            self.run(slot, cx);
        } else {
            // A failed call fails the request with the callee's outcome.
            self.finish(slot, response.outcome, cx);
        }
    }

    /// Answers job `slot`, frees its worker, and starts the next waiting job of its instance.
    fn finish(&mut self, slot: u32, outcome: Outcome, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let job = &self.jobs[slot];
        let instance = job.instance as usize;
        cx.reply(Response {
            request: job.request,
            outcome,
        });
        self.metrics.finished(job.arrived, now, outcome);
        self.in_flight -= 1;
        self.inside.set(now, cx.warmup_end(), self.in_flight as f64);
        self.jobs.remove(slot);
        self.instances[instance].busy -= 1;
        let busy = self.busy_workers.value() - 1.0;
        self.busy_workers.set(now, cx.warmup_end(), busy);
        if let Some(next) = self.instances[instance].queue.pop_front() {
            self.queued -= 1;
            self.waiting.set(now, cx.warmup_end(), self.queued as f64);
            self.start(next, cx);
        }
    }

    fn workers(&self) -> f64 {
        (self.instances.len() as u32 * self.vcpus) as f64
    }
}

impl Component for Ec2Fleet {
    fn kind(&self) -> &'static str {
        Spec::KIND
    }

    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => self.on_request(request, cx),
            Msg::Response(response) => self.on_response(response, cx),
            Msg::Timer(Timer {
                kind: TIMER_STEP_DONE,
                id,
            }) => self.on_step_done(id as u32, cx),
            Msg::Timer(other) => debug_assert!(false, "unknown ec2_fleet timer {other:?}"),
        }
    }

    fn in_flight(&self) -> u64 {
        self.in_flight
    }

    fn sample(&mut self, now: SimTime, row: &mut SeriesRow) {
        self.metrics.sample(self.in_flight, row);
        row.queue_length = Some(self.queued);
        let warmup_end = self.metrics.warmup_end();
        row.utilisation =
            Some(self.busy_workers.take_interval_mean(now, warmup_end) / self.workers());
    }

    fn report(&self, end: SimTime) -> ComponentReport {
        let warmup_end = self.metrics.warmup_end();
        let waited_fraction = if self.accepted > 0 {
            self.queued_on_arrival as f64 / self.accepted as f64
        } else {
            0.0
        };
        let per_instance: Vec<u64> = self.instances.iter().map(|i| i.requests).collect();
        self.metrics
            .report(Spec::KIND, self.in_flight)
            .figure("instances", self.instances.len())
            .figure("vcpus", self.vcpus)
            .figure(
                "utilisation",
                self.busy_workers.window_mean(end, warmup_end) / self.workers(),
            )
            .figure(
                "cpu_utilisation",
                self.busy_cpus.window_mean(end, warmup_end) / self.workers(),
            )
            .figure("in_flight_mean", self.inside.window_mean(end, warmup_end))
            .figure(
                "queue_length_mean",
                self.waiting.window_mean(end, warmup_end),
            )
            .figure("wait_ms", self.wait.summary())
            .figure("waited_fraction", waited_fraction)
            .figure("rejected", self.rejected)
            .figure("instance_requests", per_instance)
            .figure("queue_length_end", self.queued)
    }
}

#[cfg(test)]
mod tests {
    use crate::run::run_text;

    #[test]
    fn a_full_queue_answers_503_and_the_worker_never_idles() {
        // Arrivals every 100 ms, service 250 ms, one worker, one queue place.
        let s = run_text(
            r#"
[simulation]
duration = "10s"
[[workload]]
name = "load"
target = "web"
arrival = { process = "constant", rate = "10/s" }
[[component]]
name = "web"
kind = "ec2_fleet"
instances = 1
max_queue = 1
handler = [ { compute = "250ms" } ]
"#,
        );
        let web = &s["components"]["web"];
        // Arrivals at 0.1 .. 9.9 s: 99. Completions at 0.1 + 0.25k <= 10: 39. At the end one
        // request is in service and one queued; the rest were refused.
        assert_eq!(web["requests"]["created"], 99);
        assert_eq!(web["requests"]["completed"], 39);
        assert_eq!(web["requests"]["in_flight"], 2);
        assert_eq!(web["requests"]["failed"], 58);
        assert_eq!(web["rejected"], 58);
        assert_eq!(s["workloads"]["load"]["requests"]["failed"], 58);
        // Busy from 0.1 s to the end.
        let utilisation = web["utilisation"].as_f64().unwrap();
        assert!((utilisation - 0.99).abs() < 1e-9, "{utilisation}");
    }

    #[test]
    fn calls_sleeps_and_speed_add_up_exactly() {
        let s = run_text(
            r#"
[simulation]
duration = "10s"
[[workload]]
name = "load"
target = "front"
arrival = { process = "constant", rate = "1/s" }
[[component]]
name = "front"
kind = "ec2_fleet"
instances = 1
speed = 0.5
handler = [ { compute = "10ms" }, { call = "back" }, { sleep = "5ms" } ]
[[component]]
name = "back"
kind = "ec2_fleet"
instances = 1
handler = [ { compute = "30ms" } ]
"#,
        );
        // 10 ms of compute at half speed = 20 ms, + 30 ms in `back`, + 5 ms of sleep.
        let latency = &s["workloads"]["load"]["latency_ms"];
        assert_eq!(latency["mean"], 55.0);
        assert_eq!(latency["max"], 55.0);
        let front = &s["components"]["front"];
        // Nine requests (t = 1..9 s) each hold the worker 55 ms and the CPU 20 ms, over 10 s.
        let u = front["utilisation"].as_f64().unwrap();
        let cpu = front["cpu_utilisation"].as_f64().unwrap();
        assert!((u - 9.0 * 0.055 / 10.0).abs() < 1e-9, "{u}");
        assert!((cpu - 9.0 * 0.020 / 10.0).abs() < 1e-9, "{cpu}");
        assert_eq!(s["components"]["back"]["latency_ms"]["mean"], 30.0);
    }

    #[test]
    fn requests_sent_straight_to_a_fleet_are_spread_in_turn() {
        let s = run_text(
            r#"
[simulation]
duration = "10s"
[[workload]]
name = "load"
target = "web"
arrival = { process = "constant", rate = "30/s" }
[[component]]
name = "web"
kind = "ec2_fleet"
instances = 3
handler = [ { compute = "1ms" } ]
"#,
        );
        // 299 arrivals (t = 1/30 .. 9.967 s) in turn over 3 instances.
        assert_eq!(
            s["components"]["web"]["instance_requests"],
            serde_json::json!([100, 100, 99])
        );
    }
}
