//! Deployments, as CodeDeploy runs them: the parts every kind that deploys a new version shares
//! — the traffic-shifting configuration and its schedule ([`Shift`]), the pre- and
//! post-traffic hooks, the CloudWatch alarms that roll a deployment back ([`AlarmSpec`]), the
//! steps it goes through (`deployments.csv`) and its figures per version (`summary.json`).
//!
//! # What it follows (sources in `models/codedeploy.toml`)
//! - A deployment starts at its `at`. A `pre_traffic` hook (a component invoked with one
//!   request) runs first; if it answers anything but success the deployment fails before any
//!   traffic moves.
//! - Then traffic moves to the new version on the configuration's schedule: canary (a first
//!   increment, the rest one interval later), linear (equal increments an interval apart) or
//!   all at once. Once the new version has all of it the `post_traffic` hook runs; its failure
//!   rolls the deployment back.
//! - The alarms are evaluated at the end of each of their periods (periods start at time zero,
//!   as CloudWatch's do) from the start of the deployment until it ends. The first evaluation
//!   in ALARM stops it and rolls it back: all traffic returns to the original version at once.
//!
//! # What it simplifies
//! - An alarm watches the new version's metrics only, and sees a period's datapoint the moment
//!   the period ends (no publication delay; CodeDeploy's own polling of alarm states is not
//!   modelled either).
//! - A hook is one request to a component: its answer is the hook's status (CodeDeploy waits
//!   up to an hour for `PutLifecycleEventHookExecutionStatus`; a hook here answers when its
//!   component does).
//! - One deployment per component, and no redeployment after a rollback.

mod shift;
mod watch;

use serde::Deserialize;
use serde_json::{Value, json};
use toml::Spanned;

pub use shift::Shift;
use watch::Watch;
pub use watch::{AlarmSpec, MetricName};

use crate::engine::ComponentId;
use crate::engine::time::{SimDuration, SimTime};
use crate::message::{Connection, Ctx, NO_ROUTE, Op, Outcome, Recorded, Request, Timer};
use crate::metrics::Latency;
use crate::metrics::cloudwatch::AlarmState;

/// A deployment's `hooks` table: the components CodeDeploy invokes before traffic moves and
/// once it all has.
#[derive(Clone, Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HooksSpec {
    /// Invoked before any traffic moves (SAM's `PreTraffic`).
    #[schemars(with = "Option<String>")]
    pub pre_traffic: Option<Spanned<String>>,
    /// Invoked once all traffic has moved (SAM's `PostTraffic`).
    #[schemars(with = "Option<String>")]
    pub post_traffic: Option<Spanned<String>>,
}

impl HooksSpec {
    /// The hooks as references (`field` is the path of the `hooks` table).
    pub fn references(&self, field: &str) -> Vec<super::Reference<'_>> {
        [
            ("pre_traffic", &self.pre_traffic),
            ("post_traffic", &self.post_traffic),
        ]
        .into_iter()
        .filter_map(|(f, name)| {
            Some(super::Reference {
                field: format!("{field}.{f}"),
                name: name.as_ref()?,
                expects: super::Expects::RequestTarget,
                // CodeDeploy invokes it, not a request in flight: no edge of the call graph.
                synchronous: false,
            })
        })
        .collect()
    }
}

/// The tag of a pre-traffic hook's request (a kind's answers with this tag are the hook's).
pub const PRE_TRAFFIC_TAG: u64 = u64::MAX - 1;
/// The tag of a post-traffic hook's request.
pub const POST_TRAFFIC_TAG: u64 = u64::MAX - 2;

/// Timer ids: the start, then one per increment, then one per alarm.
const START: u64 = 0;
const ALARM_BASE: u64 = 1 << 32;

/// Where a deployment is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Phase {
    Pending,
    PreTraffic,
    Shifting,
    PostTraffic,
    Succeeded,
    Failed,
    RolledBack,
}

impl Phase {
    fn active(self) -> bool {
        matches!(
            self,
            Phase::PreTraffic | Phase::Shifting | Phase::PostTraffic
        )
    }
}

/// One line of `deployments.csv`.
#[derive(Clone, Debug)]
struct StepRecord {
    time: SimTime,
    step: &'static str,
    new_percent: u32,
    detail: String,
}

/// What one version did during the deployment (requests that arrived from its start to its
/// end).
#[derive(Clone, Debug)]
struct VersionFigures {
    requests: u64,
    errors: u64,
    throttles: u64,
    latency: Latency,
}

impl Default for VersionFigures {
    fn default() -> Self {
        VersionFigures {
            requests: 0,
            errors: 0,
            throttles: 0,
            latency: Latency::new(3),
        }
    }
}

/// The version a request goes to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Version {
    /// The version serving before the deployment.
    Old,
    /// The version being deployed.
    New,
}

/// A deployment's settings, checked and resolved by its kind.
pub struct Plan {
    /// When it starts.
    pub at: SimTime,
    /// How traffic moves.
    pub shift: Shift,
    /// The component invoked before any traffic moves.
    pub pre_traffic: Option<ComponentId>,
    /// The component invoked once all traffic has moved.
    pub post_traffic: Option<ComponentId>,
}

/// A deployment at work.
pub struct Deployment {
    plan: Plan,
    schedule: Vec<(SimDuration, u32)>,
    watches: Vec<Watch>,
    phase: Phase,
    /// The new version's share of traffic, in percent.
    new_percent: u32,
    started: Option<SimTime>,
    ended: Option<SimTime>,
    reason: String,
    steps: Vec<StepRecord>,
    versions: [VersionFigures; 2],
    /// Cold starts of the new version from the start to the end of the run.
    cold_starts_caused: u64,
    /// The least capacity serving during the deployment, against before (kinds with
    /// instances); `None` where it does not apply.
    capacity: Option<(u64, u64)>,
    /// The type's name when the kind drives the deployment itself (an instance refresh):
    /// no traffic-shift schedule, no hooks.
    driven: Option<String>,
}

impl Deployment {
    /// A pending deployment of `plan` watching `alarms` on the kind's `metrics` (checked).
    pub fn new(
        plan: Plan,
        alarms: &[AlarmSpec],
        metrics: &[MetricName],
    ) -> Result<Deployment, String> {
        let watches = alarms
            .iter()
            .enumerate()
            .map(|(i, a)| Watch::build(a, i, metrics))
            .collect::<Result<_, _>>()?;
        Ok(Deployment {
            schedule: plan.shift.schedule(),
            plan,
            watches,
            phase: Phase::Pending,
            new_percent: 0,
            started: None,
            ended: None,
            reason: String::new(),
            steps: Vec::new(),
            versions: Default::default(),
            cold_starts_caused: 0,
            capacity: None,
            driven: None,
        })
    }

    /// A deployment of type `name` starting at `at` that its kind drives step by step
    /// ([`Deployment::begin`], [`Deployment::progress`], [`Deployment::complete`]): the
    /// replacement of instances, which shifts no traffic by weight.
    pub fn driven(at: SimTime, name: String) -> Deployment {
        let plan = Plan {
            at,
            shift: Shift::AllAtOnce,
            pre_traffic: None,
            post_traffic: None,
        };
        let mut d = Deployment::new(plan, &[], &[]).expect("no alarm to check");
        d.schedule.clear();
        d.driven = Some(name);
        d
    }

    /// A deployment of type `name` starting at `at` that its kind drives step by step, as
    /// [`Deployment::driven`], watching `alarms` on the kind's `metrics` (checked): the first
    /// evaluation in ALARM rolls it back ([`Deployment::rolled_back`]), and the kind undoes
    /// what it did.
    pub fn driven_watching(
        at: SimTime,
        name: String,
        alarms: &[AlarmSpec],
        metrics: &[MetricName],
    ) -> Result<Deployment, String> {
        let mut d = Deployment::driven(at, name);
        d.watches = alarms
            .iter()
            .enumerate()
            .map(|(i, a)| Watch::build(a, i, metrics))
            .collect::<Result<_, _>>()?;
        Ok(d)
    }

    /// A driven deployment starts now and its alarms are evaluated from now on (each at the
    /// end of its periods; `timer` makes the kind's timer, handed back to
    /// [`Deployment::on_timer`]).
    pub fn begin_watching<T: Into<Timer>>(
        &mut self,
        cx: &mut Ctx<'_>,
        detail: String,
        timer: impl Fn(u64) -> T,
    ) {
        let now = cx.now();
        self.begin(now, detail);
        for (i, w) in self.watches.iter().enumerate() {
            let at = w.next_evaluation(now);
            cx.set_timer(at - now, timer(ALARM_BASE + i as u64));
        }
    }

    /// True once an alarm (or a failed hook) has rolled it back.
    pub fn rolled_back(&self) -> bool {
        self.phase == Phase::RolledBack
    }

    /// A step after the deployment ended: the kind undoing it after a rollback (redeploying
    /// the original version), with the new version's share of the instances now.
    pub fn after_rollback(
        &mut self,
        now: SimTime,
        step: &'static str,
        new_percent: u32,
        detail: String,
    ) {
        if self.phase == Phase::RolledBack {
            self.new_percent = new_percent;
            self.step(now, step, detail);
        }
    }

    /// A driven deployment starts at `now`.
    pub fn begin(&mut self, now: SimTime, detail: String) {
        self.started = Some(now);
        self.phase = Phase::Shifting;
        self.step(now, "started", detail);
    }

    /// A driven deployment's step at `now`: the new version now has `new_percent` %.
    pub fn progress(&mut self, now: SimTime, step: &'static str, new_percent: u32, detail: String) {
        if !self.phase.active() {
            return;
        }
        self.new_percent = new_percent;
        self.step(now, step, detail);
    }

    /// A driven deployment completed at `now`.
    pub fn complete(&mut self, now: SimTime) {
        if self.phase.active() {
            self.end(now, Phase::Succeeded, "completed", String::new());
        }
    }

    /// Arms its start (call from the component's `init`); `timer` makes the kind's timer.
    pub fn init<T: Into<Timer>>(&self, cx: &mut Ctx<'_>, timer: impl Fn(u64) -> T) {
        let delay = self.plan.at.saturating_since(cx.now());
        cx.set_timer(delay, timer(START));
    }

    /// The new version's share of traffic now (percent).
    pub fn new_percent(&self) -> u32 {
        self.new_percent
    }

    /// Whether the deployment is under way (alarms watched, figures counted).
    pub fn active(&self) -> bool {
        self.phase.active()
    }

    /// The version the next request goes to: by the current weights, drawing from `cx`'s
    /// stream only while both versions take traffic.
    pub fn pick(&self, cx: &mut Ctx<'_>) -> Version {
        use rand::Rng;
        match self.new_percent {
            0 => Version::Old,
            100 => Version::New,
            p => {
                if cx.rng().random_range(0..100u32) < p {
                    Version::New
                } else {
                    Version::Old
                }
            }
        }
    }

    fn step(&mut self, now: SimTime, step: &'static str, detail: String) {
        self.steps.push(StepRecord {
            time: now,
            step,
            new_percent: self.new_percent,
            detail,
        });
    }

    /// One of its timers fired (`id` as it gave it to `timer`).
    pub fn on_timer<T: Into<Timer>>(
        &mut self,
        id: u64,
        cx: &mut Ctx<'_>,
        timer: impl Fn(u64) -> T,
    ) {
        let now = cx.now();
        if id == START {
            self.start(cx, &timer);
        } else if id >= ALARM_BASE {
            self.evaluate((id - ALARM_BASE) as usize, cx, &timer);
        } else if self.phase == Phase::Shifting {
            self.shift_to(id as usize, now, cx);
        }
    }

    fn start<T: Into<Timer>>(&mut self, cx: &mut Ctx<'_>, timer: &impl Fn(u64) -> T) {
        let now = cx.now();
        self.started = Some(now);
        self.step(now, "started", self.plan.shift.name());
        for (i, w) in self.watches.iter().enumerate() {
            let at = w.next_evaluation(now);
            cx.set_timer(at - now, timer(ALARM_BASE + i as u64));
        }
        match self.plan.pre_traffic {
            Some(hook) => {
                self.phase = Phase::PreTraffic;
                self.step(now, "pre_traffic_hook_started", String::new());
                invoke(hook, PRE_TRAFFIC_TAG, cx);
            }
            None => self.begin_traffic(cx, timer),
        }
    }

    fn begin_traffic<T: Into<Timer>>(&mut self, cx: &mut Ctx<'_>, timer: &impl Fn(u64) -> T) {
        self.phase = Phase::Shifting;
        let now = cx.now();
        for (k, (offset, _)) in self.schedule.iter().enumerate().skip(1) {
            cx.set_timer(*offset, timer(k as u64));
        }
        self.shift_to(0, now, cx);
    }

    fn shift_to(&mut self, k: usize, now: SimTime, cx: &mut Ctx<'_>) {
        self.new_percent = self.schedule[k].1;
        self.step(
            now,
            "shifted",
            format!("{} % to the new version", self.new_percent),
        );
        if self.new_percent == 100 {
            match self.plan.post_traffic {
                Some(hook) => {
                    self.phase = Phase::PostTraffic;
                    self.step(now, "post_traffic_hook_started", String::new());
                    invoke(hook, POST_TRAFFIC_TAG, cx);
                }
                None => self.end(now, Phase::Succeeded, "completed", String::new()),
            }
        }
    }

    fn evaluate<T: Into<Timer>>(&mut self, i: usize, cx: &mut Ctx<'_>, timer: &impl Fn(u64) -> T) {
        if !self.phase.active() {
            return;
        }
        let now = cx.now();
        let before = self.watches[i].state;
        let state = self.watches[i].evaluate(now);
        if state != before {
            let name = self.watches[i].name.clone();
            self.step(now, "alarm", format!("{name}: {before} -> {state}"));
        }
        if state == AlarmState::Alarm {
            let name = self.watches[i].name.clone();
            self.roll_back(now, format!("alarm {name} in ALARM"));
            return;
        }
        let w = &self.watches[i];
        cx.set_timer(w.period, timer(ALARM_BASE + i as u64));
    }

    fn roll_back(&mut self, now: SimTime, reason: String) {
        self.new_percent = 0;
        self.end(now, Phase::RolledBack, "rolled_back", reason);
    }

    fn end(&mut self, now: SimTime, phase: Phase, step: &'static str, reason: String) {
        self.phase = phase;
        self.ended = Some(now);
        self.step(now, step, reason.clone());
        self.reason = reason;
    }

    /// The answer to one of its hooks (a response whose tag is [`PRE_TRAFFIC_TAG`] or
    /// [`POST_TRAFFIC_TAG`]); true if the tag was a hook's.
    pub fn on_hook_answer<T: Into<Timer>>(
        &mut self,
        tag: u64,
        outcome: Outcome,
        cx: &mut Ctx<'_>,
        timer: impl Fn(u64) -> T,
    ) -> bool {
        let now = cx.now();
        let answer = format!("{outcome:?}");
        match (tag, self.phase) {
            (PRE_TRAFFIC_TAG, Phase::PreTraffic) => {
                if outcome.is_ok() {
                    self.step(now, "pre_traffic_hook_passed", String::new());
                    self.begin_traffic(cx, &timer);
                } else {
                    self.step(now, "pre_traffic_hook_failed", answer.clone());
                    let reason = format!("pre-traffic hook failed ({answer})");
                    self.end(now, Phase::Failed, "failed", reason);
                }
                true
            }
            (POST_TRAFFIC_TAG, Phase::PostTraffic) => {
                if outcome.is_ok() {
                    self.step(now, "post_traffic_hook_passed", String::new());
                    self.end(now, Phase::Succeeded, "completed", String::new());
                } else {
                    self.step(now, "post_traffic_hook_failed", answer.clone());
                    self.roll_back(now, format!("post-traffic hook failed ({answer})"));
                }
                true
            }
            (PRE_TRAFFIC_TAG | POST_TRAFFIC_TAG, _) => true,
            _ => false,
        }
    }

    /// An observation of the new version's metric number `metric` (in the kind's list) at
    /// `now`, for the alarms watching it.
    pub fn observe(&mut self, now: SimTime, metric: usize, value: f64) {
        if !self.phase.active() {
            return;
        }
        for w in self.watches.iter_mut().filter(|w| w.metric == metric) {
            w.record(now, value);
        }
    }

    /// True when a request that arrived at `arrived` counts in the deployment's figures.
    fn during(&self, arrived: SimTime) -> bool {
        self.started.is_some_and(|s| arrived >= s) && self.ended.is_none_or(|e| arrived < e)
    }

    /// A request that arrived at `arrived` and went to `version` ended at `now` with
    /// `outcome`.
    pub fn finished(&mut self, version: Version, arrived: SimTime, now: SimTime, outcome: Outcome) {
        if !self.during(arrived) {
            return;
        }
        let v = &mut self.versions[version as usize];
        v.requests += 1;
        match outcome {
            Outcome::Ok => v.latency.record(now - arrived),
            Outcome::Throttled => v.throttles += 1,
            _ => v.errors += 1,
        }
    }

    /// A new environment (or instance) of the new version started cold.
    pub fn cold_start(&mut self, version: Version) {
        if version == Version::New && self.started.is_some() {
            self.cold_starts_caused += 1;
        }
    }

    /// The capacity serving now, for the dip (kinds with instances): `before` is what served
    /// before the deployment.
    pub fn capacity(&mut self, now_serving: u64, before: u64) {
        if !self.phase.active() {
            return;
        }
        let (least, _) = self.capacity.get_or_insert((before, before));
        *least = (*least).min(now_serving);
    }

    /// The deployment as `summary.json` lists it, at the end of the run (`end`).
    pub fn report(&self, end: SimTime) -> Value {
        let outcome = match self.phase {
            Phase::Pending => "not_started",
            Phase::PreTraffic | Phase::Shifting | Phase::PostTraffic => "in_progress",
            Phase::Succeeded => "succeeded",
            Phase::Failed => "failed",
            Phase::RolledBack => "rolled_back",
        };
        let secs = |t: SimTime| t.as_secs_f64();
        let duration = self
            .started
            .map(|s| self.ended.unwrap_or(end).saturating_since(s).as_secs_f64());
        let version = |v: &VersionFigures| {
            let p99 = (v.latency.count() > 0).then(|| v.latency.quantile_ms(0.99));
            json!({
                "requests": v.requests,
                "errors": v.errors,
                "throttles": v.throttles,
                "p99_ms": p99,
            })
        };
        let steps: Vec<Value> = self
            .steps
            .iter()
            .map(|s| {
                json!({
                    "time_s": secs(s.time),
                    "step": s.step,
                    "new_version_percent": s.new_percent,
                    "detail": s.detail,
                })
            })
            .collect();
        let dip = self.capacity.map(|(least, before)| {
            json!({
                "before": before,
                "least": least,
                "dip_percent": if before > 0 {
                    (before - least.min(before)) as f64 / before as f64 * 100.0
                } else {
                    0.0
                },
            })
        });
        json!({
            "type": self.driven.clone().unwrap_or_else(|| self.plan.shift.name()),
            "at_s": secs(self.plan.at),
            "outcome": outcome,
            "reason": self.reason,
            "started_s": self.started.map(secs),
            "ended_s": self.ended.map(secs),
            "duration_s": duration,
            "new_version_percent_end": self.new_percent,
            "versions": {
                "old": version(&self.versions[0]),
                "new": version(&self.versions[1]),
            },
            "cold_starts_caused": self.cold_starts_caused,
            "capacity_dip": dip,
            "steps": steps,
        })
    }
}

/// Sends a hook's request to `hook`, tagged `tag`.
fn invoke(hook: ComponentId, tag: u64, cx: &mut Ctx<'_>) {
    let now = cx.now();
    let request = Request {
        id: tag,
        workload: 0,
        created_at: now,
        key: tag,
        item_kb: 0.0,
        op: Op::default(),
        attempt: 1,
        reply_to: cx.me(),
        tag,
        route: NO_ROUTE,
        recorded_duration: Recorded::NONE,
        connection: Connection::single(tag),
    };
    cx.send_request(hook, request);
}
