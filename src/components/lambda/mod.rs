//! `lambda`: an AWS Lambda function: execution environments, concurrency limits, cold starts,
//! provisioned concurrency, synchronous and asynchronous invocation.
//!
//! ```toml
//! [account]
//! lambda_concurrency = 1000          # shared by every function (default 1000)
//!
//! [[component]]
//! name = "thumbnails"
//! kind = "lambda"
//! memory_mb = 1024
//! architecture = "arm64"            # or "x86_64" (default): the duration price
//! timeout = "3s"
//! reserved_concurrency = 100
//! provisioned_concurrency = 10
//! cold_start = { dist = "lognormal", mean = "400ms", p99 = "1.2s" }
//! keep_alive = "10m"
//! handler = [ { compute = { dist = "exponential", mean = "120ms" } } ]
//! ```
//!
//! # What it follows (defaults in `models/lambda.toml`)
//! - Each execution environment serves one invocation at a time. An invocation takes an idle
//!   environment if there is one, the most recently used first; otherwise it starts a new one
//!   and waits for its init (`cold_start`) before the handler runs. An environment idle for
//!   longer than `keep_alive` is reclaimed (AWS does not publish this time; the default is an
//!   observed value, not a guarantee).
//! - Concurrency (invocations in progress, init included) is capped by `reserved_concurrency`
//!   when set — both a guarantee and a cap — and otherwise by the account's unreserved pool: the
//!   account limit minus every function's reservation, shared by all unreserved functions. The
//!   account keeps at least 100 unreserved. A function adds at most 1000 new environments per
//!   10 s. A synchronous invocation beyond any limit is throttled (429).
//! - `provisioned_concurrency` environments are initialised before the run, never cold, never
//!   reclaimed, and hold their share of concurrency all the time; invocations beyond them spill
//!   over to on-demand environments.
//! - CPU grows with memory: compute steps are written at one full vCPU, reached at 1769 MB; at
//!   less memory they take 1769 / `memory_mb` times longer. (More memory gives more vCPUs, which
//!   a single-threaded handler does not use: compute time does not shrink above 1769 MB.)
//! - `timeout` (default 3 s, at most 900 s): a handler still running then fails with a timeout
//!   error and its environment is reset (not reused).
//! - Asynchronous invocations (requests with `op = "event"`) are accepted at once (202) into an
//!   internal queue. Events wait there while the function is at its concurrency limit, up to the
//!   maximum event age (default 6 h), retried with a back-off from 1 s doubling to 5 minutes;
//!   an event whose handler fails (`failure_probability`, a
//!   timeout, a failed call) is retried up to twice, 1 and then 2 minutes later. An event that
//!   runs out of retries or age goes to the `on_failure` destination if there is one, else it
//!   is dropped; both are counted.
//! - Versions and an alias: `deploy` brings in a new version through CodeDeploy (traffic
//!   shifting, hooks, alarm rollback; `versions.rs` and `components::deployment`).
//! - Billing: duration rounded up to the millisecond × memory, in GB-seconds. On-demand
//!   invocations that started an environment are billed its init too, in one duration with the
//!   handler's (the INIT phase is billed for every on-demand function since 1 August 2025;
//!   source in `models/prices.toml`).
//!
//! # What it simplifies
//! Init of provisioned environments is instantaneous at the start. Throttled asynchronous events
//! are retried as soon as this function frees concurrency, and on the back-off otherwise. A failed
//! environment is not reused; errors other than timeouts do not reset environments.
//! Provisioned environments run the first version only, so a function with provisioned
//! concurrency cannot be deployed; both versions share the function's scaling rate.

mod billing;
mod cloudformation;
mod environments;
mod events;
mod outputs;
mod versions;

pub use billing::Architecture;
use outputs::Gauge;
use std::collections::VecDeque;
use std::ops::Range;
use versions::{Code, METRICS, VersionCounts};
pub use versions::{DeploySpec, NewVersion};

use rand::Rng;
use serde::Deserialize;
use toml::Spanned;

use super::deployment::{Deployment, Plan, Shift, Version};
use super::handler::{DurationDist, Handler, Progress, Serving, StepSpec, call_references};
use super::token_bucket::FloatBucket;
use super::{BuildContext, Expects, Kind, Reference, SpecIssue};
use crate::engine::slab::Slab;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{Component, ComponentId, EventId};
use crate::message::Ctx;
use crate::message::{Control, Msg, Op, Outcome, Request, Response};
use crate::metrics::cost::usd_per_hour;
use crate::metrics::{
    ComponentReport, Latency, Ledger, Observe, RequestMetrics, SeriesRow, TimeWeighted,
};
use crate::units::{PositiveDuration, limits};
use environments::{Env, Limit};
use events::{Event, MIN_THROTTLE_BACKOFF};

/// The `lambda` table of a scenario.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Memory in MB, 128 to 10240 (default 128).
    #[schemars(with = "Option<u32>")]
    pub memory_mb: Option<Spanned<u32>>,
    /// Longest a handler may run (default 3 s, at most 900 s).
    #[schemars(with = "Option<PositiveDuration>")]
    pub timeout: Option<Spanned<PositiveDuration>>,
    /// Concurrency reserved for this function (a guarantee and a cap).
    #[schemars(with = "Option<u32>")]
    pub reserved_concurrency: Option<Spanned<u32>>,
    /// Environments initialised before the run and kept warm.
    #[schemars(with = "Option<u32>")]
    pub provisioned_concurrency: Option<Spanned<u32>>,
    /// Init duration of a new environment (default from `models/lambda.toml`).
    pub cold_start: Option<DurationDist>,
    /// Idle time after which an environment is reclaimed (default 10 min).
    pub keep_alive: Option<PositiveDuration>,
    /// What one invocation does.
    #[schemars(with = "Vec<StepSpec>")]
    pub handler: Spanned<Vec<StepSpec>>,
    /// Probability that an invocation's handler fails (function error), for exercising retries.
    #[schemars(with = "Option<f64>")]
    pub failure_probability: Option<Spanned<f64>>,
    /// Where asynchronous events go when they run out of retries or age.
    #[schemars(with = "Option<String>")]
    pub on_failure: Option<Spanned<String>>,
    /// Retries of a failed asynchronous event, 0 to 2 (default 2).
    #[schemars(with = "Option<u32>")]
    pub max_retry_attempts: Option<Spanned<u32>>,
    /// Oldest an asynchronous event may get, 60 s to 6 h (default 6 h).
    #[schemars(with = "Option<PositiveDuration>")]
    pub max_event_age: Option<Spanned<PositiveDuration>>,
    /// `"x86_64"` (default) or `"arm64"`: sets the duration price.
    #[serde(default)]
    pub architecture: Architecture,
    /// A new version brought in through CodeDeploy (see `versions.rs`).
    pub deploy: Option<DeploySpec>,
}

/// Longest retry count AWS allows for asynchronous events.
const MAX_RETRIES: u32 = 2;
/// Bounds of `max_event_age` AWS allows.
const MIN_EVENT_AGE: SimDuration = SimDuration::from_secs(60);
const MAX_EVENT_AGE: SimDuration = SimDuration::from_secs(6 * 3600);

impl Kind for Spec {
    const KIND: &'static str = "lambda";
    const SUMMARY: &'static str =
        "A function: execution environments that each serve one invocation at a time.";
    const FOLLOWS: &'static str = "one invocation per environment; most recently used reuse; cold start on a new \
         environment; keep-alive reclaim; reserved concurrency as guarantee and cap; account pool \
         shared by unreserved functions (100 kept unreserved); provisioned concurrency; 1000 new \
         environments per 10 s; CPU ∝ memory up to one vCPU at 1769 MB; timeout resets the \
         environment; sync throttle 429; async events queued, retried twice (1 min, 2 min) after \
         errors, kept up to the maximum event age, then to `on_failure` or dropped; billed \
         GB-seconds rounded up to 1 ms, a cold start's init billed with its invocation (AWS bills \
         the INIT phase since August 2025)";
    const SIMPLIFIES: &'static str = "provisioned init is instantaneous; throttled async events retry when the function frees \
         concurrency or on a back-off (1 s doubling to 5 min); only timeouts reset environments";
    const CLOUDFORMATION_TYPES: &'static [&'static str] = cloudformation::RESOURCE_TYPES;

    fn import(
        resource: &crate::import::Resource,
        cx: &crate::import::Cx<'_>,
        draft: &mut crate::import::Draft,
    ) -> Result<(), crate::import::ImportError> {
        cloudformation::map(resource, cx, draft)
    }
    const ACCEPTS_REQUESTS: bool = true;
    const ROLES: super::Roles = super::Roles {
        queue_consumer: true,
        fault_injection: true,
        ..super::Roles::NONE
    };

    fn references(&self) -> Vec<Reference<'_>> {
        let mut refs = call_references(self.handler.get_ref());
        if let Some(dest) = &self.on_failure {
            refs.push(Reference {
                field: "on_failure".into(),
                name: dest,
                expects: Expects::RequestTarget,
                synchronous: false,
            });
        }
        if let Some(deploy) = &self.deploy {
            if let Some(h) = &deploy.new.handler {
                refs.extend(call_references(h.get_ref()).into_iter().map(|mut r| {
                    r.field = format!("deploy.new.{}", r.field);
                    r
                }));
            }
            refs.extend(deploy.hooks.references("deploy.hooks"));
        }
        refs
    }

    fn check(&self, _span: Range<usize>) -> Vec<SpecIssue> {
        let d = crate::defaults::lambda();
        let mut out = Vec::new();
        let mut issue = |field: &str, message: String, span: Range<usize>| {
            out.push(SpecIssue {
                field: field.into(),
                message,
                span,
            })
        };
        if let Some(m) = &self.memory_mb {
            let m_value = *m.get_ref();
            if !(d.memory_min_mb..=d.memory_max_mb).contains(&m_value) {
                issue(
                    "memory_mb",
                    format!(
                        "must be between {} and {} MB, found {m_value}",
                        d.memory_min_mb, d.memory_max_mb
                    ),
                    m.span(),
                );
            }
        }
        if let Some(t) = &self.timeout
            && t.get_ref().0 > d.max_timeout
        {
            issue(
                "timeout",
                format!(
                    "must be at most {} (15 minutes), found {}",
                    d.max_timeout,
                    t.get_ref().0
                ),
                t.span(),
            );
        }
        for (field, value) in [
            ("reserved_concurrency", &self.reserved_concurrency),
            ("provisioned_concurrency", &self.provisioned_concurrency),
        ] {
            if let Some(v) = value
                && let Some(i) = SpecIssue::above_limit(field, v, limits::LAMBDA_CONCURRENCY)
            {
                issue(field, i.message, i.span);
            }
        }
        if let (Some(p), Some(r)) = (&self.provisioned_concurrency, &self.reserved_concurrency)
            && p.get_ref() > r.get_ref()
        {
            issue(
                "provisioned_concurrency",
                format!(
                    "provisioned concurrency ({}) cannot exceed the reserved concurrency ({})",
                    p.get_ref(),
                    r.get_ref()
                ),
                p.span(),
            );
        }
        if let Some(p) = &self.failure_probability
            && !(0.0..=1.0).contains(p.get_ref())
        {
            issue(
                "failure_probability",
                format!("must be between 0 and 1, found {}", p.get_ref()),
                p.span(),
            );
        }
        if let Some(r) = &self.max_retry_attempts
            && *r.get_ref() > MAX_RETRIES
        {
            issue(
                "max_retry_attempts",
                format!("must be 0, 1 or 2, found {}", r.get_ref()),
                r.span(),
            );
        }
        if let Some(a) = &self.max_event_age {
            let age = a.get_ref().0;
            if !(MIN_EVENT_AGE..=MAX_EVENT_AGE).contains(&age) {
                issue(
                    "max_event_age",
                    format!("must be between 60s and 6h, found {age}"),
                    a.span(),
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
        if let Some(deploy) = &self.deploy {
            deploy.check(self, &mut out);
        }
        out
    }

    fn queue_consumer(&self) -> Option<super::QueueConsumer> {
        Some(super::QueueConsumer::Function)
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String> {
        let d = crate::defaults::lambda();
        let memory_mb = self
            .memory_mb
            .as_ref()
            .map_or(d.default_memory_mb, |m| *m.get_ref());
        let cold_start = match &self.cold_start {
            Some(c) => c.0.build(cx.base_dir)?,
            None => d.cold_start.build(cx.base_dir)?,
        };
        let provisioned = self
            .provisioned_concurrency
            .as_ref()
            .map_or(0, |p| *p.get_ref());
        let limit = match &self.reserved_concurrency {
            Some(r) => Limit::Reserved(*r.get_ref()),
            None => Limit::Account(cx.account.lambda_pool()),
        };
        let old = Code {
            handler: Handler::build(self.handler.get_ref(), cx.base_dir, |n| cx.id(n))?,
            memory_mb,
            speed: versions::speed(memory_mb),
            cold_start,
            failure_probability: self
                .failure_probability
                .as_ref()
                .map_or(0.0, |p| *p.get_ref()),
        };
        let mut codes = Vec::new();
        let mut deployment = None;
        if let Some(deploy) = &self.deploy {
            let new = versions::new_code(&deploy.new, &old, self, cx)?;
            let plan = Plan {
                at: SimTime::ZERO + deploy.at.get_ref().to_owned(),
                shift: Shift::parse(deploy.shift.get_ref())?,
                pre_traffic: deploy
                    .hooks
                    .pre_traffic
                    .as_ref()
                    .map(|n| cx.id(n.get_ref())),
                post_traffic: deploy
                    .hooks
                    .post_traffic
                    .as_ref()
                    .map(|n| cx.id(n.get_ref())),
            };
            deployment = Some(Box::new(Deployment::new(plan, &deploy.alarms, METRICS)?));
            codes.push(new);
        }
        codes.insert(0, old);
        Ok(Box::new(Lambda {
            architecture: self.architecture,
            injected: super::injected::Injected::default(),
            codes,
            deployment,
            by_version: Default::default(),
            busy_by_version: [0; 2],
            memory_mb,
            timeout: self
                .timeout
                .as_ref()
                .map_or(d.default_timeout, |t| t.get_ref().0),
            keep_alive: self.keep_alive.map_or(d.keep_alive, |k| k.0),
            on_failure: self.on_failure.as_ref().map(|n| cx.id(n.get_ref())),
            max_retries: self
                .max_retry_attempts
                .as_ref()
                .map_or(d.max_retry_attempts, |r| *r.get_ref()),
            retry_delays: d.retry_delays.clone(),
            max_event_age: self
                .max_event_age
                .as_ref()
                .map_or(d.max_event_age, |a| a.get_ref().0),
            limit,
            provisioned,
            scaling: FloatBucket::per_period(d.scaling_environments, d.scaling_period),
            envs: Slab::default(),
            idle: [Vec::new(), Vec::new()],
            idle_provisioned: Vec::new(),
            on_demand_busy: 0,
            invocations: Slab::default(),
            next_generation: 0,
            queue: VecDeque::new(),
            retrying: Slab::default(),
            events_running: 0,
            dispatch_armed: false,
            dispatch_backoff: MIN_THROTTLE_BACKOFF,
            metrics: RequestMetrics::new(cx.warmup_end),
            figures: Figures::default(),
            concurrency: TimeWeighted::new(0.0),
            environments: TimeWeighted::new(0.0),
            init: Latency::new(3),
            duration: Latency::new(3),
            warmup_end: cx.warmup_end,
            spent_usd: 0.0,
            last_sample: SimTime::ZERO,
            prices: cx.prices.lambda.clone(),
        }))
    }
}

/// One invocation in progress.
#[derive(Clone, Debug)]
struct Invocation {
    /// The caller's request (for an event, the original request).
    request: Request,
    arrived: SimTime,
    env: u32,
    /// Next handler step; `None` while the environment initialises.
    step: Option<u16>,
    /// When the handler started (while the environment initialises: when its init started).
    started: SimTime,
    /// How long the environment's init took before this invocation's handler (zero when warm):
    /// billed with the invocation, as AWS bills the INIT phase of on-demand functions.
    init: SimDuration,
    generation: u32,
    /// The version that runs it.
    version: Version,
    event: Option<Event>,
    /// Its timeout timer, cancelled when it ends first: a 900 s timeout left pending after
    /// every invocation kept 900 s worth of timers in the queue.
    timeout: EventId,
    /// Its step timer, cancelled if it ends mid-step (a timeout).
    step_timer: EventId,
}

/// Counts reported at the end (measured window only).
#[derive(Clone, Debug, Default)]
struct Figures {
    invocations: u64,
    cold_starts: u64,
    throttles: u64,
    errors: u64,
    timeouts: u64,
    billed_gb_seconds: f64,
    /// Billed duration on on-demand environments (ms), for the bill.
    billed_ms_on_demand: u64,
    /// Billed duration on provisioned environments (ms), for the bill.
    billed_ms_provisioned: u64,
    concurrency_max: u64,
    environments_max: u64,
    events_accepted: u64,
    events_succeeded: u64,
    events_retried: u64,
    events_to_destination: u64,
    events_dropped: u64,
    events_expired: u64,
    /// Attempts to start a queued event that found no concurrency.
    events_throttled: u64,
    /// Whole-run event counts for the ledger.
    events_created_total: u64,
    events_finished_total: u64,
    /// Billed duration of the new version when its memory differs from the function's (ms).
    billed_ms_new_memory: u64,
}

crate::timers! {
    /// The function's timers. Those of an invocation carry its slot and generation
    /// (`job_id`), so they are ignored once the invocation has ended.
    enum LambdaTimer {
        /// A handler step that waits (compute, sleep) is over.
        StepDone,
        /// A new environment's init is over: the handler starts.
        InitDone,
        /// The invocation ran for the function's timeout.
        Timeout,
        /// A failed event's retry delay is over (its slot in `retrying`).
        Retry,
        /// Time to try again to start the events throttled earlier.
        Dispatch,
        /// A step of the deployment (its own timer id).
        Deploy,
    }
}

/// A running function.
pub struct Lambda {
    /// Its instruction set (the duration price).
    architecture: Architecture,
    /// Lambda's prices in the run's price list.
    prices: crate::defaults::LambdaPrices,
    /// Injected faults (`latency_injection`, `error_injection`).
    injected: super::injected::Injected,
    /// The code of each version: the function's, then the one being deployed, if any.
    codes: Vec<Code>,
    /// The deployment of a new version, if the function has one.
    deployment: Option<Box<Deployment>>,
    /// What each version did (with a deployment).
    by_version: [VersionCounts; 2],
    /// Invocations each version is running.
    busy_by_version: [u32; 2],
    /// The function's memory (the first version's): what the bill is at.
    memory_mb: u32,
    timeout: SimDuration,
    keep_alive: SimDuration,
    on_failure: Option<ComponentId>,
    max_retries: u32,
    retry_delays: Vec<SimDuration>,
    max_event_age: SimDuration,
    limit: Limit,
    provisioned: u32,
    /// New environments the function may start (its scaling rate).
    scaling: FloatBucket,
    envs: Slab<Env>,
    /// Idle on-demand environments of each version, least recently used first (the top is
    /// reused first).
    idle: [Vec<u32>; 2],
    idle_provisioned: Vec<u32>,
    /// On-demand environments busy (initialising or running): the concurrency they hold.
    on_demand_busy: u32,
    invocations: Slab<Invocation>,
    next_generation: u32,
    /// Asynchronous events waiting for concurrency, oldest first.
    queue: VecDeque<Event>,
    /// Events waiting for their retry timer.
    retrying: Slab<Event>,
    /// Events whose invocation is running.
    events_running: u64,
    /// A retry of throttled events is scheduled.
    dispatch_armed: bool,
    /// Its next back-off.
    dispatch_backoff: SimDuration,
    metrics: RequestMetrics,
    figures: Figures,
    concurrency: TimeWeighted,
    environments: TimeWeighted,
    init: Latency,
    duration: Latency,
    warmup_end: SimTime,
    /// Its bill up to the end of the last time-series interval, and that end: the spend
    /// column is the difference.
    spent_usd: f64,
    last_sample: SimTime,
}

fn job_id(generation: u32, slot: u32) -> u64 {
    ((generation as u64) << 32) | slot as u64
}

impl Lambda {
    fn in_window(&self, t: SimTime) -> bool {
        t >= self.warmup_end
    }

    /// What it has used in the measured window up to `now`.
    fn usage(&self, now: SimTime) -> billing::Usage {
        let f = &self.figures;
        billing::Usage {
            requests: f.invocations,
            on_demand_ms: f.billed_ms_on_demand,
            provisioned_ms: f.billed_ms_provisioned,
            provisioned: self.provisioned,
            window_s: now.saturating_since(self.warmup_end).as_secs_f64(),
            new_version_ms: f.billed_ms_new_memory,
            new_version_memory_mb: self.codes.last().map_or(self.memory_mb, |c| c.memory_mb),
        }
    }

    /// Starts an invocation of `request` on `version` if the function can; `None` when
    /// throttled.
    fn start(
        &mut self,
        request: Request,
        arrived: SimTime,
        event: Option<Event>,
        version: Version,
        cx: &mut Ctx<'_>,
    ) -> Option<()> {
        let now = cx.now();
        self.reclaim(now);
        // Provisioned environments run the function's first version only.
        let provisioned = match version {
            Version::Old => self.idle_provisioned.pop(),
            Version::New => None,
        };
        let (env, cold) = if let Some(env) = provisioned {
            (env, false)
        } else {
            if !self.acquire() {
                return None;
            }
            if let Some(env) = self.idle[version as usize].pop() {
                (env, false)
            } else if self.scaling.try_take(now, 1.0) {
                let env = self.envs.insert(Env {
                    provisioned: false,
                    idle_since: now,
                });
                (env, true)
            } else {
                // Concurrency is there but new environments come no faster than the scaling
                // rate allows.
                self.release();
                return None;
            }
        };
        if self.in_window(arrived) {
            self.figures.invocations += 1;
            if cold {
                self.figures.cold_starts += 1;
            }
        }
        self.version_started(version, cold, arrived, now);
        if event.is_some() {
            self.events_running += 1;
        }
        self.next_generation = self.next_generation.wrapping_add(1);
        let slot = self.invocations.insert(Invocation {
            request,
            arrived,
            env,
            step: None,
            started: now,
            init: SimDuration::ZERO,
            generation: self.next_generation,
            version,
            event,
            timeout: EventId::NONE,
            step_timer: EventId::NONE,
        });
        let id = job_id(self.next_generation, slot);
        if cold {
            let init = self.codes[version as usize].cold_start.sample(cx.rng());
            if self.in_window(arrived) {
                self.init.record(init);
            }
            cx.set_timer(init, LambdaTimer::InitDone(id));
        } else {
            self.begin_handler(slot, cx);
        }
        self.record_levels(now);
        Some(())
    }

    /// The handler of invocation `slot` starts now (after init, if any).
    fn begin_handler(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let inv = &mut self.invocations[slot];
        if inv.step.is_none() {
            inv.init = now - inv.started;
        }
        inv.step = Some(0);
        inv.started = now;
        // The timer names the invocation by slot and generation, so it is ignored once the
        // invocation has ended.
        let id = job_id(inv.generation, slot);
        let timer = Msg::Timer(LambdaTimer::Timeout(id).into());
        inv.timeout = cx.send_self(self.timeout, timer);
        self.run(slot, cx);
    }

    fn run(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let inv = &mut self.invocations[slot];
        let code = &self.codes[inv.version as usize];
        let run = Serving {
            id: job_id(inv.generation, slot),
            request: &inv.request,
            step: inv.step.as_mut().expect("handler running"),
            timer: &mut inv.step_timer,
        };
        let failure_probability = code.failure_probability;
        match code
            .handler
            .advance(run, code.speed, &self.injected, LambdaTimer::StepDone, cx)
        {
            Progress::Waiting { .. } | Progress::Calling => {}
            Progress::Done => {
                let failed =
                    failure_probability > 0.0 && cx.rng().random::<f64>() < failure_probability;
                let outcome = if failed {
                    Outcome::Error(500)
                } else {
                    Outcome::Ok
                };
                self.finish(slot, outcome, cx);
            }
            Progress::Failed => self.finish(slot, Outcome::Error(500), cx),
        }
    }

    fn live(&self, id: u64) -> Option<u32> {
        let slot = id as u32;
        (self.invocations.is_live(slot) && self.invocations[slot].generation == (id >> 32) as u32)
            .then_some(slot)
    }

    /// Ends invocation `slot` with `outcome`; its environment goes back idle (or is reset after
    /// a timeout).
    fn finish(&mut self, slot: u32, outcome: Outcome, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let inv = self.invocations[slot].clone();
        self.invocations.remove(slot);
        cx.cancel(inv.timeout);
        cx.cancel(inv.step_timer);
        let in_window = self.in_window(inv.arrived);
        if in_window {
            let ran = now - inv.started;
            if inv.step.is_some() {
                self.duration.record(ran);
            }
            // Billed: the handler's duration with the init before it (or the init cut short by a
            // timeout), rounded up to the millisecond. Provisioned environments never init here.
            let billed = if inv.step.is_some() {
                inv.init + ran
            } else {
                ran
            };
            if billed > SimDuration::ZERO {
                let billed_ms = billed.as_nanos().div_ceil(1_000_000);
                let memory_mb = self.codes[inv.version as usize].memory_mb;
                self.figures.billed_gb_seconds +=
                    billed_ms as f64 / 1000.0 * memory_mb as f64 / 1024.0;
                if memory_mb != self.memory_mb {
                    self.figures.billed_ms_new_memory += billed_ms;
                } else if self.envs[inv.env].provisioned {
                    self.figures.billed_ms_provisioned += billed_ms;
                } else {
                    self.figures.billed_ms_on_demand += billed_ms;
                }
            }
            match outcome {
                Outcome::Ok => {}
                Outcome::Timeout => self.figures.timeouts += 1,
                _ => self.figures.errors += 1,
            }
        }
        let ran = inv.step.map(|_| now - inv.started);
        self.version_finished(inv.version, inv.arrived, now, outcome, ran);
        // The environment: a timed-out one is reset; others go back to idle.
        let provisioned = self.envs[inv.env].provisioned;
        if outcome == Outcome::Timeout && !provisioned {
            self.envs.remove(inv.env);
            self.release();
        } else if provisioned {
            self.envs[inv.env].idle_since = now;
            self.idle_provisioned.push(inv.env);
        } else {
            self.envs[inv.env].idle_since = now;
            self.idle[inv.version as usize].push(inv.env);
            self.release();
        }
        match inv.event {
            None => {
                self.metrics.finished(inv.arrived, now, outcome);
                cx.reply(Response {
                    request: inv.request,
                    outcome,
                });
            }
            Some(event) => {
                self.events_running -= 1;
                self.event_done(event, outcome.is_ok(), cx);
            }
        }
        self.record_levels(now);
        self.dispatch_events(cx);
    }

    fn on_request(&mut self, request: Request, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.metrics.arrived(now);
        if request.op == Op::Event {
            self.accept_event(request, cx);
            return;
        }
        if self.injected.fails(now >= self.warmup_end, cx.rng()) {
            let outcome = Outcome::Error(500);
            self.metrics.finished(now, now, outcome);
            cx.reply(Response { request, outcome });
            return;
        }
        let version = self.pick_version(cx);
        if self.start(request, now, None, version, cx).is_none() {
            if self.in_window(now) {
                self.figures.throttles += 1;
            }
            self.version_throttled(version, now);
            self.metrics.finished(now, now, Outcome::Throttled);
            cx.reply(Response {
                request,
                outcome: Outcome::Throttled,
            });
        }
    }

    fn on_timer(&mut self, timer: LambdaTimer, cx: &mut Ctx<'_>) {
        match timer {
            LambdaTimer::StepDone(id) => {
                if let Some(slot) = self.live(id) {
                    self.run(slot, cx);
                }
            }
            LambdaTimer::InitDone(id) => {
                if let Some(slot) = self.live(id) {
                    self.begin_handler(slot, cx);
                }
            }
            LambdaTimer::Timeout(id) => {
                if let Some(slot) = self.live(id) {
                    self.finish(slot, Outcome::Timeout, cx);
                }
            }
            LambdaTimer::Dispatch(_) => self.on_dispatch_timer(cx),
            LambdaTimer::Retry(slot) => self.on_retry_timer(slot as u32, cx),
            LambdaTimer::Deploy(id) => {
                if let Some(d) = &mut self.deployment {
                    d.on_timer(id, cx, LambdaTimer::Deploy);
                }
            }
        }
    }

    fn on_response(&mut self, response: Response, cx: &mut Ctx<'_>) {
        if response.request.tag == u64::MAX {
            // The destination acknowledged a failed event.
            return;
        }
        if let Some(d) = &mut self.deployment
            && d.on_hook_answer(
                response.request.tag,
                response.outcome,
                cx,
                LambdaTimer::Deploy,
            )
        {
            return;
        }
        let Some(slot) = self.live(response.request.tag) else {
            // The invocation timed out before the call answered.
            return;
        };
        if response.outcome.is_ok() {
            self.run(slot, cx);
        } else {
            self.finish(slot, response.outcome, cx);
        }
    }
}

impl Component<Msg> for Lambda {
    fn init(&mut self, cx: &mut Ctx<'_>) {
        // Provisioned environments are ready before the run; they hold their concurrency.
        if let Limit::Account(pool) = &self.limit {
            // The loader checks reservations; an unreserved function whose provisioned
            // concurrency does not fit gets what is left.
            self.provisioned = pool.acquire_up_to(self.provisioned);
        }
        for _ in 0..self.provisioned {
            let env = self.envs.insert(Env {
                provisioned: true,
                idle_since: SimTime::ZERO,
            });
            self.idle_provisioned.push(env);
        }
        if let Some(d) = &self.deployment {
            d.init(cx, LambdaTimer::Deploy);
        }
        self.record_levels(cx.now());
    }

    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => self.on_request(request, cx),
            Msg::Response(response) => self.on_response(response, cx),
            // A call whose callee's instance was lost: the call failed (timed out).
            Msg::Lost(request) => self.on_response(Msg::lost_as_timeout(request), cx),
            Msg::Timer(timer) => self.on_timer(LambdaTimer::from(timer), cx),
            Msg::Control(Control::Fault(action)) => self.injected.apply(action),
            Msg::Control(c) => debug_assert!(false, "a lambda does not receive {c:?}"),
        }
    }
}

impl Observe for Lambda {
    fn kind(&self) -> &'static str {
        Spec::KIND
    }

    fn in_flight(&self) -> u64 {
        // Synchronous invocations running (events are accounted in their own ledger).
        self.invocations.len() as u64 - self.events_running
    }

    fn sample(&mut self, now: SimTime, row: &mut SeriesRow) {
        self.record_levels(now);
        let inside = self.in_flight();
        self.metrics.sample(inside, row);
        row.queue_length = Some(self.queue.len() as u64);
        row.set_gauge(Gauge::Concurrency as usize, Some(self.busy() as f64));
        row.set_gauge(Gauge::Environments as usize, Some(self.alive(now) as f64));
        let spent = billing::usd(
            self.usage(now),
            self.memory_mb,
            self.architecture,
            &self.prices,
        );
        let spend = usd_per_hour(spent - self.spent_usd, self.last_sample, now);
        row.set_gauge(Gauge::Spend as usize, Some(spend));
        (self.spent_usd, self.last_sample) = (spent, now);
    }

    fn report(&self, end: SimTime) -> ComponentReport {
        let f = &self.figures;
        let fraction = |n: u64| {
            if f.invocations > 0 {
                n as f64 / f.invocations as f64
            } else {
                0.0
            }
        };
        let events_inside =
            self.queue.len() as u64 + self.retrying.len() as u64 + self.events_running;
        let mut report = self
            .metrics
            .report(Spec::KIND, self.in_flight())
            .figure("memory_mb", self.memory_mb)
            .figure("invocations", f.invocations)
            .figure("cold_starts", f.cold_starts)
            .figure("cold_start_fraction", fraction(f.cold_starts))
            .figure("throttles", f.throttles)
            .figure("errors", f.errors)
            .figure("timeouts", f.timeouts)
            .figure("concurrency_max", f.concurrency_max)
            .figure(
                "concurrency_mean",
                self.concurrency.window_mean(end, self.warmup_end),
            )
            .figure("environments_max", f.environments_max)
            .figure(
                "environments_mean",
                self.environments_until(end)
                    .window_mean(end, self.warmup_end),
            )
            .figure("provisioned_concurrency", self.provisioned)
            .figure("init_ms", self.init.summary())
            .figure("duration_ms", self.duration.summary())
            .figure("billed_gb_seconds", f.billed_gb_seconds)
            .figure("events_accepted", f.events_accepted)
            .figure("events_succeeded", f.events_succeeded)
            .figure("events_retried", f.events_retried)
            .figure("events_expired", f.events_expired)
            .figure("events_throttled", f.events_throttled)
            .figure("events_to_destination", f.events_to_destination)
            .figure("events_dropped", f.events_dropped)
            .figure("events_waiting_end", events_inside);
        report = self.versions_report(report, end);
        report.ledgers.push(Ledger {
            name: "async events",
            created: f.events_created_total,
            finished: f.events_finished_total,
            inside: events_inside,
        });
        let report = report.bill(Some(billing::bill(
            self.usage(end),
            self.memory_mb,
            self.architecture,
            &self.prices,
        )));
        self.injected.report(report)
    }
}

#[cfg(test)]
mod tests;
