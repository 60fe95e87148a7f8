//! Replacing a group's instances with a new version: an instance refresh
//! (`instance_refresh`) or a CloudFormation rolling update (`rolling_update`), one engine with
//! the settings of each.
//!
//! ```toml
//! instance_refresh = { at = "20m", min_healthy_percentage = 90, instance_warmup = "120s",
//!                      new = { handler = [ { compute = "30ms" } ], failure_probability = 0.01 } }
//! rolling_update = { at = "20m", min_instances_in_service = 8, max_batch_size = 2,
//!                    pause_time = "60s" }
//! ```
//!
//! # What it follows (sources in `models/asg.toml`)
//! - From the start of the replacement every launch, whatever its cause, runs the new version
//!   (AWS's "desired configuration"); instances launched since are not replaced.
//! - Instances are replaced a batch at a time, oldest first; the next batch starts once every
//!   new instance of this one has been in service for `instance_warmup` (refresh) or
//!   `pause_time` (rolling update).
//! - Instance refresh: at least `min_healthy_percentage` of the desired capacity (rounded up)
//!   stays in service and warm; with `max_healthy_percentage` above 100 the group launches new
//!   instances first, up to that share of the desired capacity (rounded down), and terminates
//!   the old ones they replace once they are warm. When neither leaves room (100 % and 100 %)
//!   one instance at a time is replaced, as AWS documents. At each of `checkpoint_percentages`
//!   (of the instances to replace, rounded up) it pauses for `checkpoint_delay` (default 1 h).
//!   `skip_matching` skips instances that already run the desired configuration: with no `new`
//!   table the configuration does not change and the refresh completes at once; without skip
//!   matching every instance is replaced (a restart).
//! - Rolling update: at most `max_batch_size` instances a batch, keeping
//!   `min_instances_in_service` in service; CloudFormation raises the group's desired capacity
//!   for the update (at most to `max`) so that a batch can launch before old instances go.
//! - An old instance taken out of service is deregistered and drains through its load
//!   balancers' deregistration delay, as at scale-in.
//!
//! # What it simplifies
//! An instance counts as healthy for the refresh once warm, whatever its load balancer's health
//! checks say (set the warmup at least as long as the checks take to pass, as AWS advises).
//! No rollback, alarms or bake time; one replacement per group.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::{Asg, AsgTimer, State};
use crate::components::SpecIssue;
use crate::components::deployment::{Deployment, Version};
use crate::components::handler::{StepSpec, empty_handler};
use crate::engine::time::{SimDuration, SimTime};
use crate::message::Ctx;
use crate::units::limits;

/// The new version's code: fields left out are the group's.
#[derive(Clone, Debug, Default, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "InstanceNewVersion")]
#[serde(deny_unknown_fields)]
pub struct NewVersion {
    /// What serving one request does.
    #[schemars(with = "Option<Vec<StepSpec>>")]
    pub handler: Option<Spanned<Vec<StepSpec>>>,
    /// Speed factor of its instances.
    #[schemars(with = "Option<f64>")]
    pub speed: Option<Spanned<f64>>,
    /// Probability that a request it serves fails (a 500 once its handler is done).
    #[schemars(with = "Option<f64>")]
    pub failure_probability: Option<Spanned<f64>>,
}

/// `instance_refresh = { ... }`: StartInstanceRefresh's preferences.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshSpec {
    /// When it starts.
    #[schemars(with = "SimDuration")]
    pub at: Spanned<SimDuration>,
    /// Share of the desired capacity kept in service and warm (default 90).
    #[schemars(with = "Option<u32>")]
    pub min_healthy_percentage: Option<Spanned<u32>>,
    /// Share of the desired capacity that may be in service or pending (default 100; above
    /// 100 launches before terminating).
    #[schemars(with = "Option<u32>")]
    pub max_healthy_percentage: Option<Spanned<u32>>,
    /// Time a new instance is in service before the next batch (default: the group's
    /// `instance_warmup`).
    #[schemars(with = "Option<SimDuration>")]
    pub instance_warmup: Option<Spanned<SimDuration>>,
    /// Shares of the instances to replace at which it pauses.
    #[schemars(with = "Option<Vec<u32>>")]
    pub checkpoint_percentages: Option<Spanned<Vec<u32>>>,
    /// How long each pause lasts (default 1 h).
    #[schemars(with = "Option<SimDuration>")]
    pub checkpoint_delay: Option<Spanned<SimDuration>>,
    /// Skip instances that already run the desired configuration (default true).
    pub skip_matching: Option<bool>,
    /// The new version (none: the same code, a restart).
    pub new: Option<NewVersion>,
}

/// `rolling_update = { ... }`: CloudFormation's `AutoScalingRollingUpdate` policy.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RollingSpec {
    /// When it starts (the stack update).
    #[schemars(with = "SimDuration")]
    pub at: Spanned<SimDuration>,
    /// Instances kept in service (default 0).
    #[schemars(with = "Option<u32>")]
    pub min_instances_in_service: Option<Spanned<u32>>,
    /// Most instances replaced at once (default 1).
    #[schemars(with = "Option<u32>")]
    pub max_batch_size: Option<Spanned<u32>>,
    /// Wait after a batch's instances are in service (default 0).
    #[schemars(with = "Option<SimDuration>")]
    pub pause_time: Option<Spanned<SimDuration>>,
    /// The new version (none: the same code).
    pub new: Option<NewVersion>,
}

fn issue(field: String, message: String, span: Range<usize>) -> SpecIssue {
    SpecIssue {
        field,
        message,
        span,
    }
}

impl NewVersion {
    /// The issues of a new version given under `field`.
    pub(super) fn check(&self, field: &str, out: &mut Vec<SpecIssue>) {
        if let Some(h) = &self.handler
            && let Some(mut i) = empty_handler(h)
        {
            i.field = format!("{field}.new.handler");
            out.push(i);
        }
        if let Some(s) = &self.speed
            && !(*s.get_ref() > 0.0 && s.get_ref().is_finite())
        {
            out.push(issue(
                format!("{field}.new.speed"),
                format!("must be a positive number, found {}", s.get_ref()),
                s.span(),
            ));
        }
        if let Some(p) = &self.failure_probability
            && !(0.0..=1.0).contains(p.get_ref())
        {
            out.push(issue(
                format!("{field}.new.failure_probability"),
                format!("must be between 0 and 1, found {}", p.get_ref()),
                p.span(),
            ));
        }
    }
}

/// The issues of a group's replacement settings (`max`: the group's `max`).
pub(super) fn check(
    refresh: Option<&RefreshSpec>,
    rolling: Option<&RollingSpec>,
    max: &Spanned<u32>,
    out: &mut Vec<SpecIssue>,
) {
    let d = crate::defaults::asg();
    if let Some(r) = refresh {
        let f = "instance_refresh";
        let min = r.min_healthy_percentage.as_ref();
        let maxh = r.max_healthy_percentage.as_ref();
        if let Some(m) = min
            && *m.get_ref() > 100
        {
            out.push(issue(
                format!("{f}.min_healthy_percentage"),
                format!("must be between 0 and 100, found {}", m.get_ref()),
                m.span(),
            ));
        }
        if let Some(m) = maxh
            && !(100..=200).contains(m.get_ref())
        {
            out.push(issue(
                format!("{f}.max_healthy_percentage"),
                format!("must be between 100 and 200, found {}", m.get_ref()),
                m.span(),
            ));
        }
        let (lo, hi) = (
            min.map_or(d.refresh_min_healthy_percentage, |m| *m.get_ref()),
            maxh.map_or(100, |m| *m.get_ref()),
        );
        if let Some(m) = maxh
            && hi > lo + 100
        {
            out.push(issue(
                format!("{f}.max_healthy_percentage"),
                format!(
                    "may exceed min_healthy_percentage ({lo}) by at most 100, found {hi}, as \
                     AWS requires"
                ),
                m.span(),
            ));
        }
        if let Some(c) = &r.checkpoint_percentages {
            let cps = c.get_ref();
            if cps.iter().any(|p| !(1..=100).contains(p)) || cps.windows(2).any(|w| w[0] >= w[1]) {
                out.push(issue(
                    format!("{f}.checkpoint_percentages"),
                    format!("must be increasing percentages between 1 and 100, found {cps:?}"),
                    c.span(),
                ));
            }
        }
        if let Some(c) = &r.checkpoint_delay
            && *c.get_ref() > d.refresh_checkpoint_delay_max
        {
            out.push(issue(
                format!("{f}.checkpoint_delay"),
                format!(
                    "must be at most {} (AWS's bound), found {}",
                    d.refresh_checkpoint_delay_max,
                    c.get_ref()
                ),
                c.span(),
            ));
        }
        if let Some(n) = &r.new {
            n.check(f, out);
        }
        if let Some(r2) = rolling {
            out.push(issue(
                "rolling_update".into(),
                "a group has one replacement: give `instance_refresh` or `rolling_update`, not \
                 both"
                    .into(),
                r2.at.span(),
            ));
        }
    }
    if let Some(r) = rolling {
        let f = "rolling_update";
        if let Some(m) = &r.min_instances_in_service
            && *m.get_ref() >= *max.get_ref()
        {
            out.push(issue(
                format!("{f}.min_instances_in_service"),
                format!(
                    "must be less than the group's max ({}), found {}, as CloudFormation \
                     requires",
                    max.get_ref(),
                    m.get_ref()
                ),
                m.span(),
            ));
        }
        if let Some(b) = &r.max_batch_size {
            if *b.get_ref() == 0 {
                out.push(issue(
                    format!("{f}.max_batch_size"),
                    "must be at least 1".into(),
                    b.span(),
                ));
            }
            out.extend(SpecIssue::above_limit(
                &format!("{f}.max_batch_size"),
                b,
                limits::INSTANCES,
            ));
        }
        if let Some(p) = &r.pause_time
            && *p.get_ref() > d.rolling_pause_time_max
        {
            out.push(issue(
                format!("{f}.pause_time"),
                format!(
                    "must be at most {} (CloudFormation's PT1H), found {}",
                    d.rolling_pause_time_max,
                    p.get_ref()
                ),
                p.span(),
            ));
        }
        if let Some(n) = &r.new {
            n.check(f, out);
        }
    }
}

/// How the batches are sized.
#[derive(Clone, Debug)]
pub(super) enum Rule {
    /// Instance refresh: percentages of the desired capacity.
    Refresh {
        min_healthy: u32,
        max_healthy: u32,
        checkpoints: Vec<u32>,
        checkpoint_delay: SimDuration,
        skip_matching: bool,
    },
    /// Rolling update: instances.
    Rolling { min_in_service: u32, max_batch: u32 },
}

/// A replacement at work.
pub(super) struct Replacement {
    pub(super) at: SimTime,
    rule: Rule,
    /// Time a new instance serves before it counts (warmup or pause).
    pub(super) settle: SimDuration,
    /// The new version differs from the old.
    changes: bool,
    pub(super) deployment: Deployment,
    /// Old instances to replace, counted at the start.
    total: u32,
    /// Old instances replaced so far (batches done).
    replaced: u32,
    /// Ready instances when it started (the capacity dip's base).
    before: u64,
    /// New instances of the batch under way not yet ready; 0 between batches.
    awaiting: u32,
    /// Instances of this batch the group launched first (old ones go when it is ready).
    batch_surge: u32,
    /// Size of the batch under way.
    batch: u32,
    /// Checkpoints passed.
    checkpoints_passed: usize,
    /// In a checkpoint's pause.
    paused: bool,
    /// Old instances before this id are all gone (the scan for the next oldest starts here).
    next_old: u32,
}

impl Replacement {
    /// A pending replacement.
    pub(super) fn new(at: SimDuration, rule: Rule, settle: SimDuration, changes: bool) -> Self {
        let name = match &rule {
            Rule::Refresh { .. } => "InstanceRefresh",
            Rule::Rolling { .. } => "RollingUpdate",
        };
        Replacement {
            at: SimTime::ZERO + at,
            deployment: Deployment::driven(SimTime::ZERO + at, name.into()),
            rule,
            settle,
            changes,
            total: 0,
            replaced: 0,
            before: 0,
            awaiting: 0,
            batch_surge: 0,
            batch: 0,
            checkpoints_passed: 0,
            paused: false,
            next_old: 0,
        }
    }

    /// Ready instances when it started.
    pub(super) fn before(&self) -> u64 {
        self.before
    }

    fn percent(&self) -> u32 {
        if self.total == 0 {
            100
        } else {
            (u64::from(self.replaced) * 100 / u64::from(self.total)) as u32
        }
    }

    /// Old instances to have replaced at checkpoint `k` (rounded up).
    fn checkpoint_count(&self, k: usize) -> Option<u32> {
        let Rule::Refresh { checkpoints, .. } = &self.rule else {
            return None;
        };
        let p = u64::from(*checkpoints.get(k)?);
        Some((u64::from(self.total) * p).div_ceil(100) as u32)
    }
}

impl Asg {
    /// The replacement starts: from now on launches run the new version.
    pub(super) fn on_refresh_start(&mut self, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.launch_version = 1;
        let old = self.census.old_active;
        let ready = self.census.ready;
        let Some(r) = &mut self.refresh else {
            return;
        };
        let skip = matches!(
            r.rule,
            Rule::Refresh {
                skip_matching: true,
                ..
            }
        );
        r.total = if skip && !r.changes { 0 } else { old };
        r.before = u64::from(ready);
        let detail = match &r.rule {
            Rule::Refresh {
                min_healthy,
                max_healthy,
                ..
            } => format!(
                "{} instances to replace; min healthy {min_healthy} %, max healthy \
                 {max_healthy} %",
                r.total
            ),
            Rule::Rolling {
                min_in_service,
                max_batch,
            } => format!(
                "{} instances to replace; min in service {min_in_service}, max batch {max_batch}",
                r.total
            ),
        };
        r.deployment.begin(now, detail);
        r.deployment.capacity(r.before, r.before);
        self.next_batch(cx);
    }

    /// Starts the next batch if there is room, or completes the replacement.
    fn next_batch(&mut self, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let (desired, max) = (self.desired, self.max);
        let (ready, active) = (self.census.ready, self.census.active);
        let surge = self.surge;
        let Some(r) = &mut self.refresh else {
            return;
        };
        if r.paused || r.awaiting > 0 || !r.deployment.active() {
            return;
        }
        let remaining = r.total - r.replaced;
        if remaining == 0 {
            r.deployment.complete(now);
            return;
        }
        let (floor, ceiling, cap) = match &r.rule {
            Rule::Refresh {
                min_healthy,
                max_healthy,
                ..
            } => (
                (u64::from(desired) * u64::from(*min_healthy)).div_ceil(100) as u32,
                ((u64::from(desired) * u64::from(*max_healthy)) / 100) as u32,
                u32::MAX,
            ),
            Rule::Rolling {
                min_in_service,
                max_batch,
            } => (
                *min_in_service,
                desired
                    .max(min_in_service.saturating_add(*max_batch))
                    .min(max),
                *max_batch,
            ),
        };
        let ceiling = ceiling.max(desired);
        let checkpoint_cap = r
            .checkpoint_count(r.checkpoints_passed)
            .map_or(u32::MAX, |c| c.saturating_sub(r.replaced).max(1));
        let term_room = ready.saturating_sub(floor);
        let launch_room = ceiling.saturating_sub(active);
        let mut n = remaining
            .min(cap)
            .min(checkpoint_cap)
            .min(term_room + launch_room);
        if n == 0 {
            if ready < floor || surge > 0 {
                // Wait: an instance becoming ready asks again.
                return;
            }
            // No room either way (100 % and 100 %): one at a time.
            n = 1;
        }
        let first = n.min(launch_room);
        let terms = n - first;
        r.batch = n;
        r.batch_surge = first;
        r.awaiting = n;
        let pct = r.percent();
        r.deployment.progress(
            now,
            "batch_started",
            pct,
            format!("replacing {n}: launching {first} first, terminating {terms}"),
        );
        self.surge += first;
        for _ in 0..terms {
            if let Some(id) = self.next_old_instance() {
                self.terminate(id, cx);
            }
        }
        self.reconcile(cx);
    }

    /// The oldest old instance still active.
    fn next_old_instance(&mut self) -> Option<u32> {
        let r = self.refresh.as_mut()?;
        let n = self.instances.len() as u32;
        while r.next_old < n {
            let i = &self.instances[r.next_old as usize];
            if i.version == 0
                && matches!(i.state, State::Pending | State::InService)
                && !i.replacing
            {
                return Some(r.next_old);
            }
            r.next_old += 1;
        }
        None
    }

    /// Instance `id` has served for the replacement's settle time: it counts as ready.
    pub(super) fn on_ready(&mut self, id: u32, cx: &mut Ctx<'_>) {
        let i = &self.instances[id as usize];
        if i.state != State::InService || i.failed || i.ready {
            return;
        }
        let new = i.version == 1;
        self.change(id, |i| i.ready = true);
        self.update_counts(cx.now());
        let Some(r) = &mut self.refresh else {
            return;
        };
        if new && r.awaiting > 0 {
            r.awaiting -= 1;
            if r.awaiting == 0 {
                self.batch_ready(cx);
                return;
            }
        }
        self.next_batch(cx);
    }

    /// Every new instance of the batch is ready: the old ones it launched first for go.
    fn batch_ready(&mut self, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let Some(r) = &mut self.refresh else {
            return;
        };
        let (n, first) = (r.batch, r.batch_surge);
        r.batch_surge = 0;
        self.surge -= first;
        for _ in 0..first {
            if let Some(id) = self.next_old_instance() {
                self.terminate(id, cx);
            }
        }
        self.reconcile(cx);
        let Some(r) = &mut self.refresh else {
            return;
        };
        r.replaced = (r.replaced + n).min(r.total);
        let pct = r.percent();
        r.deployment.progress(
            now,
            "batch_ready",
            pct,
            format!("{} of {} replaced", r.replaced, r.total),
        );
        if let (
            Some(at),
            Rule::Refresh {
                checkpoint_delay, ..
            },
        ) = (r.checkpoint_count(r.checkpoints_passed), &r.rule)
            && r.replaced >= at
        {
            r.checkpoints_passed += 1;
            if r.replaced < r.total {
                let delay = *checkpoint_delay;
                r.paused = true;
                r.deployment
                    .progress(now, "checkpoint", pct, format!("paused for {delay}"));
                cx.set_timer(delay, AsgTimer::CheckpointOver(0));
                return;
            }
        }
        self.next_batch(cx);
    }

    /// A checkpoint's pause is over.
    pub(super) fn on_checkpoint_over(&mut self, cx: &mut Ctx<'_>) {
        if let Some(r) = &mut self.refresh {
            r.paused = false;
            let pct = r.percent();
            r.deployment
                .progress(cx.now(), "checkpoint_over", pct, String::new());
        }
        self.next_batch(cx);
    }

    /// Hands the requests the pool finished to the replacement's figures per version.
    pub(super) fn count_versions(&mut self) {
        let Some(r) = &mut self.refresh else {
            return;
        };
        for f in self.pool.take_finished() {
            let v = if f.code == 0 {
                Version::Old
            } else {
                Version::New
            };
            r.deployment.finished(v, f.arrived, f.ended, f.outcome);
        }
    }
}
