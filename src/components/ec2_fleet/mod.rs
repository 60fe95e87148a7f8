//! `ec2_fleet`: a fixed set of identical EC2 instances serving requests.
//!
//! ```toml
//! [[component]]
//! name = "web"
//! kind = "ec2_fleet"
//! instances = 4
//! vcpus = 2          # requests served in parallel per instance; the rest wait FIFO
//! instance_type = "c7g.large"   # optional: sets vcpus (2) and the price (models/prices.toml)
//! purchase = "spot"  # optional: "on_demand" (default), "spot", "savings_plan"; `discount`
//! max_queue = 100    # waiting requests per instance beyond which it answers 503
//! speed = [1, 1, 1, 0.333]   # optional: per-instance speed factor (or one number for all)
//! handler = [ { compute = { dist = "exponential", mean = "40ms" } } ]
//! azs = ["a", "b"]   # optional, with [region]: instance i goes to azs[i % len] (round robin)
//! ```
//!
//! # What it follows, what it simplifies
//! Each instance is a FIFO queue in front of `vcpus` workers (see [`super::instances`]): a
//! request holds one worker for its whole handler, queued requests start in arrival order, and
//! an instance whose queue already holds `max_queue` requests answers 503 at once. `compute`
//! steps take their sampled time divided by the instance's `speed`; CPU utilisation counts
//! compute time only, while `utilisation` counts busy workers. Every instance is in service
//! (and healthy behind a load balancer) from the start. Requests a load balancer routes to a
//! given instance go there; requests sent to the fleet directly are spread round robin. Not
//! modelled: instance launch (see the `asg` kind), network time. Burstable types (t2, t3, t3a,
//! t4g) run on CPU credits (see [`super::burst_credits`]).
//!
//! # Availability zones and faults
//! With a `[region]`, instance `i` lives in `azs[i % len]` (default: every AZ of the region in
//! turn), so a list with one entry per instance places each instance, and an AZ listed twice
//! gets twice the instances. Faults (see `crate::faults`): an instance that crashes
//! (`instance_failure`) answers 502 for what it held and stays down for the rest of the run (a
//! fleet replaces nothing); in an `az_outage` the AZ's instances answer nothing until the AZ
//! comes back, then serve again once health checks pass. Requests sent to the fleet directly
//! (no load balancer) skip instances that are down.
//!
//! With `instances = 1`, `vcpus = c`, no `max_queue`, an exponential compute step and a Poisson
//! workload this is the M/M/c queue of textbooks; its tests compare it with Erlang C.

mod cloudformation;
mod outputs;

use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, SeqAccess, Visitor};
use toml::Spanned;

use super::burst_credits::{self, CreditFields, CreditSpecification};
use super::handler::{Handler, StepSpec, call_references, empty_handler};
use super::instance_billing::{BillingFields, InstanceRate, Purchase};
use super::instances::Pool;
use super::{BuildContext, Kind, Reference, SpecIssue, TargetGroup};
use crate::engine::time::SimTime;
use crate::engine::{Component, ComponentId};
use crate::message::Ctx;
use crate::message::{Control, FaultAction, Msg, NO_ROUTE, Outcome};
use crate::metrics::cost::{NS_PER_HOUR, usd_per_hour, window_ns};
use crate::metrics::{ComponentReport, Observe, SeriesRow};
use crate::units::limits;
use rand::Rng;

/// The `ec2_fleet` table of a scenario.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Number of instances (at least 1).
    #[schemars(with = "u32", range(max = limits::INSTANCES.max))]
    pub instances: Spanned<u32>,
    /// Requests served in parallel per instance (default: the `instance_type`'s vCPUs, else 1).
    #[serde(default = "default_vcpus")]
    #[schemars(with = "u32", range(max = limits::VCPUS.max))]
    pub vcpus: Spanned<u32>,
    /// The EC2 instance type (`c7g.large`), from `models/prices.toml`: sets `vcpus` and the
    /// price. Without one the fleet is not billed.
    #[schemars(with = "Option<String>")]
    pub instance_type: Option<Spanned<String>>,
    /// How the instances are bought (default on demand).
    #[schemars(with = "Option<Purchase>")]
    pub purchase: Option<Spanned<Purchase>>,
    /// Share taken off the on-demand price by `purchase` (default from the price list).
    #[schemars(with = "Option<f64>")]
    pub discount: Option<Spanned<f64>>,
    /// How a burstable `instance_type` (t2, t3, t3a, t4g) bursts: `standard` (runs at its
    /// baseline when its CPU credits run out; T2's default) or `unlimited` (never throttled,
    /// surplus credits billed; T3, T3a and T4g's default).
    #[schemars(with = "Option<CreditSpecification>")]
    pub credit_specification: Option<Spanned<CreditSpecification>>,
    /// Earned CPU credits each burstable instance starts with (default 0, as a new T3 starts;
    /// at most the type's maximum balance, 24 hours of its earnings): instances that ran
    /// below their baseline before the run.
    #[schemars(with = "Option<f64>")]
    pub initial_credit_balance: Option<Spanned<f64>>,
    /// Waiting requests per instance beyond which it answers 503 (default: unbounded).
    #[schemars(with = "Option<u32>", range(max = limits::MAX_QUEUE.max))]
    pub max_queue: Option<Spanned<u32>>,
    /// Speed factor per instance (compute time is divided by it); one number or one per
    /// instance. Default 1.
    #[schemars(with = "Option<Speed>")]
    pub speed: Option<Spanned<Speed>>,
    /// What serving one request does.
    #[schemars(with = "Vec<StepSpec>")]
    pub handler: Spanned<Vec<StepSpec>>,
    /// Availability zones the instances are spread over, round robin by index (default: every
    /// AZ of the region).
    #[schemars(with = "Option<Vec<String>>")]
    pub azs: Option<Spanned<Vec<Spanned<String>>>>,
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

impl schemars::JsonSchema for Speed {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Speed".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A speed factor above zero (compute time is divided by it): one for \
                            every instance, or a list of one per instance.",
            "anyOf": [
                { "type": "number", "exclusiveMinimum": 0 },
                { "type": "array", "items": { "type": "number", "exclusiveMinimum": 0 } },
            ],
        })
    }
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
    fn billing(&self) -> BillingFields<'_> {
        BillingFields {
            instance_type: self.instance_type.as_ref(),
            vcpus: &self.vcpus,
            purchase: self.purchase.as_ref(),
            discount: self.discount.as_ref(),
        }
    }

    fn credits(&self) -> CreditFields<'_> {
        CreditFields {
            instance_type: self.instance_type.as_ref(),
            credit_specification: self.credit_specification.as_ref(),
            initial_credit_balance: self.initial_credit_balance.as_ref(),
        }
    }

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
    const SUMMARY: &'static str = "A fixed set of identical instances.";
    const FOLLOWS: &'static str = "c workers + FIFO queue per instance (M/M/c with exponential handlers); 503 past \
         `max_queue`; burstable types' CPU credits (earned per hour, capped at 24 h of \
         earnings, T2 launch credits; standard mode throttled to the baseline at an empty \
         balance, unlimited mode's surplus billed)";
    const SIMPLIFIES: &'static str = "no launch (launches come with `asg`); instances fail only by `[[fault]]` and are not \
         replaced; network time only on an ALB's hop with `[region]`; at an empty balance the \
         CPU drops to the baseline at once, shared evenly by busy vCPUs";
    const CLOUDFORMATION_TYPES: &'static [&'static str] = cloudformation::RESOURCE_TYPES;

    fn import(
        resource: &crate::import::Resource,
        cx: &crate::import::Cx<'_>,
        draft: &mut crate::import::Draft,
    ) -> Result<(), crate::import::ImportError> {
        cloudformation::map(resource, cx, draft)
    }
    const ACCEPTS_REQUESTS: bool = true;
    const ROLES: super::Roles = super::Roles::INSTANCE_GROUP;

    fn references(&self) -> Vec<Reference<'_>> {
        call_references(self.handler.get_ref())
    }

    fn check(&self, span: Range<usize>) -> Vec<SpecIssue> {
        // Bounds before anything is sized from them.
        let mut issues: Vec<SpecIssue> = [
            SpecIssue::above_limit("instances", &self.instances, limits::INSTANCES),
            SpecIssue::above_limit("vcpus", &self.vcpus, limits::VCPUS),
            self.max_queue
                .as_ref()
                .and_then(|q| SpecIssue::above_limit("max_queue", q, limits::MAX_QUEUE)),
        ]
        .into_iter()
        .flatten()
        .collect();
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
            let bad = match speed.get_ref() {
                Speed::All(s) => Some(*s).filter(|s| !(*s > 0.0 && s.is_finite())),
                Speed::Each(v) => v.iter().copied().find(|s| !(*s > 0.0 && s.is_finite())),
            };
            if let Some(bad) = bad {
                issue(
                    "speed",
                    format!("factors must be positive numbers, found {bad}"),
                    speed.span(),
                );
            }
        }
        issues.extend(empty_handler(&self.handler));
        issues.extend(self.billing().check());
        issues.extend(self.credits().check());
        issues
    }

    fn target_group(&self) -> Option<TargetGroup> {
        Some(TargetGroup {
            capacity_per_instance: self
                .max_queue
                .as_ref()
                .map(|q| q.get_ref().saturating_add(self.billing().vcpus())),
        })
    }

    fn queue_consumer(&self) -> Option<super::QueueConsumer> {
        Some(super::QueueConsumer::Pollers {
            per_instance: self.billing().vcpus(),
        })
    }

    fn writes_optional_columns(&self) -> bool {
        self.credits().is_burstable()
    }

    fn azs(&self) -> Option<&Spanned<Vec<Spanned<String>>>> {
        self.azs.as_ref()
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String> {
        let handler = Handler::build(self.handler.get_ref(), cx.base_dir, |n| cx.id(n))?;
        let mut pool = Pool::new(
            handler,
            self.billing().vcpus(),
            self.max_queue.as_ref().map(|q| *q.get_ref()),
            cx.warmup_end,
            FleetTimer::Step,
        );
        if let Some(model) = self.credits().model(self.billing().vcpus()) {
            pool.burstable(model, FleetTimer::CreditsEmpty);
        }
        for speed in self.speeds() {
            pool.add_instance(speed, SimTime::ZERO);
        }
        let placement = cx.region.placement(self.azs.as_ref());
        let instance_az: Vec<u8> = (0..pool.len())
            .map(|i| placement[i % placement.len()])
            .collect();
        Ok(Box::new(Ec2Fleet {
            rate: self.billing().rate(cx.prices)?,
            warmup_end: cx.warmup_end,
            last_sample: SimTime::ZERO,
            crashed: vec![false; pool.len()],
            hung: vec![false; pool.len()],
            az_names: cx.region.has_azs().then(|| {
                instance_az
                    .iter()
                    .map(|&a| cx.region.az_name(a).to_string())
                    .collect()
            }),
            instance_az,
            pool,
            next_instance: 0,
            load_balancers: {
                let mut lbs = cx.referrers("targets");
                lbs.extend(cx.referrers("consumer"));
                lbs
            },
        }))
    }
}

crate::timers! {
    /// The timers of a fleet.
    enum FleetTimer {
        /// A handler step of one of the pool's jobs ended (the job's id).
        Step,
        /// A burstable instance's CPU credit balance ran out (the instance).
        CreditsEmpty,
    }
}

/// A running fleet: a pool whose instances are all in service from the start.
pub struct Ec2Fleet {
    pool: Pool<FleetTimer>,
    next_instance: usize,
    /// AZ index of each instance.
    instance_az: Vec<u8>,
    /// AZ name of each instance, when the scenario declares AZs (for the report).
    az_names: Option<Vec<String>>,
    /// Instances that crashed (they stay down, whatever their AZ does).
    crashed: Vec<bool>,
    /// Instances whose application hangs (they answer nothing, whatever their AZ does).
    hung: Vec<bool>,
    /// Load balancers whose target group this fleet is.
    load_balancers: Vec<ComponentId>,
    /// What one instance costs, when the scenario gives its type.
    rate: Option<InstanceRate>,
    /// End of the warm-up: the bill covers the measured window.
    warmup_end: SimTime,
    /// End of the last time-series interval (its spend column covers the time since).
    last_sample: SimTime,
}

impl Component<Msg> for Ec2Fleet {
    fn init(&mut self, cx: &mut Ctx<'_>) {
        // Load balancers in front route to every instance from the start.
        for &lb in &self.load_balancers {
            for instance in 0..self.pool.len() as u32 {
                cx.send(
                    lb,
                    Msg::Control(Control::Register {
                        instance,
                        healthy: true,
                        az: self.instance_az[instance as usize],
                        group: cx.me(),
                    }),
                );
            }
        }
    }

    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => {
                let instance = if request.route != NO_ROUTE {
                    request.route % self.pool.len() as u32
                } else {
                    // Sent to the fleet directly: the instances that are up take turns.
                    let n = self.pool.len();
                    let Some(i) = (0..n)
                        .map(|k| (self.next_instance + k) % n)
                        .find(|&i| self.pool.is_up(i as u32))
                    else {
                        self.pool.refuse(request, Outcome::Error(503), cx);
                        return;
                    };
                    self.next_instance = (i + 1) % n;
                    i as u32
                };
                if self.pool.is_up(instance) {
                    self.pool.accept(request, instance, cx);
                } else if self.crashed[instance as usize] {
                    // Nothing listens there any more: the connection is refused.
                    self.pool.refuse(request, Outcome::Error(502), cx);
                } else {
                    self.pool.swallow(request, cx);
                }
            }
            Msg::Control(Control::HealthCheck { instance, from }) => {
                let reply = Control::HealthCheckResult {
                    instance,
                    healthy: self.pool.is_up(instance),
                    group: cx.me(),
                };
                cx.send(from, Msg::Control(reply));
            }
            Msg::Control(Control::Fault(action)) => self.on_fault(action, cx),
            Msg::Control(_) => {}
            Msg::Timer(timer) => match FleetTimer::from(timer) {
                FleetTimer::Step(job) => {
                    self.pool.on_step_done(job, cx);
                }
                FleetTimer::CreditsEmpty(instance) => {
                    self.pool.on_credits_empty(instance as u32, cx);
                }
            },
            Msg::Response(response) => {
                self.pool.on_response(response, cx);
            }
            Msg::Lost(request) => {
                self.pool.on_lost(request, cx);
            }
        }
    }
}

impl Observe for Ec2Fleet {
    fn kind(&self) -> &'static str {
        Spec::KIND
    }

    fn in_flight(&self) -> u64 {
        self.pool.in_flight()
    }

    fn sample(&mut self, now: SimTime, row: &mut SeriesRow) {
        self.pool.sample(now, row);
        // Every instance is billed all the time (see `report`).
        let spend = self.rate.as_ref().map(|r| {
            let hours = window_ns(self.last_sample, now, self.warmup_end) as f64 / NS_PER_HOUR;
            usd_per_hour(
                r.usd_per_hour * self.pool.len() as f64 * hours,
                self.last_sample,
                now,
            )
        });
        row.set_gauge(outputs::Gauge::Spend as usize, spend);
        if let Some(credits) = self.pool.credit_gauges(now) {
            for (i, value) in credits.into_iter().enumerate() {
                row.set_gauge(outputs::Gauge::Credits as usize + i, value);
            }
        }
        self.last_sample = now;
    }

    fn report(&self, end: SimTime) -> ComponentReport {
        let credits = self.pool.credit_windows(end);
        let window_s = end.saturating_since(self.warmup_end).as_secs_f64();
        let mut report = self
            .pool
            .report(Spec::KIND, end)
            .figure("instances", self.pool.len())
            // Every instance runs from the start to the end (a crashed one too: a fleet
            // terminates nothing), so each is billed for the whole window.
            .bill(self.rate.as_ref().map(|r| {
                let bill = r.fleet_bill(self.pool.len() as u32, window_s / 3600.0);
                match &credits {
                    Some((model, windows)) => burst_credits::bill_surplus(bill, model, windows),
                    None => bill,
                }
            }));
        if let Some((model, windows)) = &credits {
            report = report.figure(
                "cpu_credits",
                burst_credits::figures(model, windows, window_s),
            );
        }
        match &self.az_names {
            Some(names) => report.figure("instance_azs", names),
            None => report,
        }
    }
}

impl Ec2Fleet {
    fn on_fault(&mut self, action: FaultAction, cx: &mut Ctx<'_>) {
        match action {
            FaultAction::AzDown { az } => {
                for i in 0..self.pool.len() as u32 {
                    if self.instance_az[i as usize] == az {
                        self.pool.isolate(i, cx);
                    }
                }
            }
            FaultAction::AzUp { az } => {
                for i in 0..self.pool.len() as u32 {
                    let failed = self.crashed[i as usize] || self.hung[i as usize];
                    if self.instance_az[i as usize] == az && !failed {
                        // Back from the outage, empty. It stayed registered with its load
                        // balancers, whose health checks see it pass again (as AWS keeps the
                        // registration through an outage).
                        self.pool.reconnect(i, cx.now());
                    }
                }
            }
            FaultAction::InstanceFailure | FaultAction::InstanceHang => {
                let up: Vec<u32> = (0..self.pool.len() as u32)
                    .filter(|&i| self.pool.is_up(i))
                    .collect();
                if !up.is_empty() {
                    let i = up[self.pool.fault_rng(cx.rng()).random_range(0..up.len())];
                    // Neither comes back when its AZ does.
                    if action == FaultAction::InstanceHang {
                        // Unreachable from the network's view: nothing it holds is answered.
                        self.hung[i as usize] = true;
                        self.pool.isolate(i, cx);
                    } else {
                        self.crashed[i as usize] = true;
                        self.pool.crash(i, cx);
                    }
                }
            }
            action @ (FaultAction::Slowdown { .. } | FaultAction::Errors { .. }) => {
                self.pool.inject(action)
            }
        }
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
