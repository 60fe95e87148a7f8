//! `asg`: an EC2 Auto Scaling Group: instances that launch, warm up, serve, fail, drain and
//! terminate, and scaling policies fed by CloudWatch-style metrics.
//!
//! ```toml
//! [[component]]
//! name = "web"
//! kind = "asg"
//! min = 2
//! max = 20
//! desired = 2
//! vcpus = 2
//! handler = [ { compute = { dist = "exponential", mean = "40ms" } } ]
//! launch_time = { dist = "lognormal", mean = "60s", p99 = "150s" }
//!
//! [[component.policy]]
//! type = "target_tracking"
//! metric = "cpu_utilization"      # or "request_count_per_target"
//! target = 50
//! ```
//!
//! # What it follows
//! - Capacity: `desired` stays within [`min`, `max`]; the group launches or terminates
//!   instances until the instances it has (pending, in service) match `desired`.
//! - Lifecycle: a launched instance is *pending* for its `launch_time`, then *in service*: it
//!   registers with the load balancers whose `targets` is the group, which send it traffic once
//!   it passes their health checks. For `instance_warmup` after that it is *warming up*: not
//!   counted in the group's aggregated metrics nor in the current capacity that step and target
//!   tracking policies scale from.
//! - Scale-in terminates the instance launched first (`termination_policy = "oldest_instance"`,
//!   the default; `"newest_instance"` takes the last). A terminating instance is deregistered and
//!   drains (see the `alb` model); it terminates once drained, so no request is lost.
//! - Health: a failed instance (see `failures` and `mtbf`) is found unhealthy by its EC2 status
//!   checks (`health_check_type = "ec2"`, the default) or, with `"elb"`, also when a load
//!   balancer marks it unhealthy; health checks do not count during
//!   `health_check_grace_period` after launch. An unhealthy instance is terminated and replaced.
//! - Metrics (CloudWatch-style, one datapoint per `metric_period`, visible to alarms
//!   `metric_publication_delay` later): `cpu_utilization` (percent: busy vCPU time over total, of
//!   the warm in-service instances, averaged over them) and `request_count_per_target`
//!   (requests routed to the group by its load balancers in the period, per warm in-service
//!   instance) and `backlog_per_instance` (visible messages of the `sqs` queues the group
//!   consumes, at the end of the period, per warm in-service instance).
//! - Policies: `target_tracking` (scale out when 3 of 3 datapoints are above the target, to
//!   ceil(warm capacity × metric / target); scale in when 15 of 15 are below 90 % of the target,
//!   never while instances warm up, by the same proportion); `step` (an alarm; the step whose
//!   bounds contain the breach sets the adjustment, applied to the warm capacity while the alarm
//!   stays in ALARM; scale-in waits for warm-ups); `simple` (an alarm; one adjustment, then no
//!   simple-policy activity of the group until the activity's last launch or termination has
//!   completed and its `cooldown` has passed after that); scheduled actions set
//!   `min`, `max` and `desired` at given times. When several policies act at once, the largest
//!   resulting capacity wins.
//!
//! - Availability zones (with a `[region]`; `azs = [...]`, default every AZ of the region): a
//!   launch goes to the group's AZ with the fewest instances (pending or in service; ties to the
//!   first listed), skipping AZs that are down; scale-in first picks the AZ with the most
//!   instances, then applies the termination policy within it, so the group stays balanced.
//! - AZ outage (`[[fault]] kind = "az_outage"`): the AZ's instances stop answering (what they
//!   held is lost; requests sent to them vanish, so the load balancer answers 504 at its idle
//!   timeout). With `health_check_type = "ec2"` their EC2 status checks fail at once (after the
//!   grace period), as for a crash; with `"elb"` the group waits until a load balancer marks
//!   them unhealthy. Either way they are replaced, in the surviving AZs. Pending launches in the
//!   AZ are abandoned and relaunched elsewhere. When the AZ comes back, instances not yet
//!   replaced answer again, and the group rebalances as AWS's AZRebalance process does: it
//!   launches one instance in the least populated AZ first (beyond the desired capacity) and,
//!   once it is in service, terminates one from the most populated AZ (oldest first), until the
//!   AZs differ by at most one instance.
//!
//! # What it simplifies
//! Instances of a group are identical (one `speed`). Billing counts
//! in-service time (instance-hours) with no per-second minimum. A crashed instance answers
//! nothing: requests it held are answered 502, as the load balancer would.

use std::collections::VecDeque;
use std::ops::Range;

use rand::Rng;
use serde::Deserialize;
use toml::Spanned;

use super::handler::{DurationDist, Handler, StepSpec, call_references};
use super::instances::{Pool, TIMER_STEP_DONE};
use super::{BuildContext, Kind, Reference, SpecIssue, TargetGroup};
use crate::dist::Dist;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{Component, ComponentId, Ctx};
use crate::message::{Control, FaultAction, Msg, NO_ROUTE, Outcome, Request, Timer};
use crate::metrics::cloudwatch::{
    Alarm, AlarmState, Comparison, Datapoint, PeriodAggregator, Statistic, TreatMissingData,
};
use crate::metrics::{CapacityRow, ComponentReport, Observe, SeriesRow, TimeWeighted};
use crate::units::PositiveDuration;

/// The `asg` table of a scenario.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Fewest instances.
    pub min: Spanned<u32>,
    /// Most instances.
    pub max: Spanned<u32>,
    /// Instances wanted at the start (default `min`).
    pub desired: Option<Spanned<u32>>,
    /// Requests served in parallel per instance (default 1).
    #[serde(default = "one")]
    pub vcpus: u32,
    /// Waiting requests per instance beyond which it answers 503 (default unbounded).
    pub max_queue: Option<u32>,
    /// Speed factor of every instance (default 1).
    pub speed: Option<Spanned<f64>>,
    /// What serving one request does.
    pub handler: Spanned<Vec<StepSpec>>,
    /// Launch request to in service (default from `models/asg.toml`).
    pub launch_time: Option<DurationDist>,
    /// Time after launch during which health checks do not count (default 300 s).
    pub health_check_grace_period: Option<SimDuration>,
    /// `"ec2"` (default) or `"elb"`.
    pub health_check_type: Option<HealthCheckType>,
    /// Time a new instance is excluded from metrics and current capacity (default 300 s).
    pub instance_warmup: Option<SimDuration>,
    /// Cooldown of simple policies that set none (default 300 s).
    pub default_cooldown: Option<SimDuration>,
    /// Which instance scale-in terminates.
    #[serde(default)]
    pub termination_policy: TerminationPolicy,
    /// Aggregation period of the group's metrics (default 60 s).
    pub metric_period: Option<PositiveDuration>,
    /// Delay before a datapoint is visible to alarms (default 60 s).
    pub metric_publication_delay: Option<SimDuration>,
    /// Mean time between failures of one instance (exponential), if instances fail at random.
    pub mtbf: Option<PositiveDuration>,
    /// Instances that fail at given times: `[ { at = "10m", count = 1 } ]`.
    #[serde(default)]
    pub failures: Vec<FailureSpec>,
    /// Scaling policies.
    #[serde(default)]
    pub policy: Vec<Spanned<PolicySpec>>,
    /// Scheduled actions.
    #[serde(default)]
    pub scheduled: Vec<Spanned<ScheduledSpec>>,
    /// Availability zones the group launches into (default: every AZ of the region).
    pub azs: Option<Spanned<Vec<Spanned<String>>>>,
}

fn one() -> u32 {
    1
}

/// Which health checks make the group replace an instance.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthCheckType {
    /// EC2 status checks only (a failed instance).
    #[default]
    Ec2,
    /// EC2 status checks and the load balancers' health checks.
    Elb,
}

/// Which instance scale-in terminates first.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TerminationPolicy {
    /// The instance launched first.
    #[default]
    OldestInstance,
    /// The instance launched last.
    NewestInstance,
}

/// `[ { at = "10m", count = 1 } ]`: `count` in-service instances (oldest first) fail at `at`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureSpec {
    /// When.
    pub at: SimDuration,
    /// How many instances (default 1).
    #[serde(default = "one")]
    pub count: u32,
}

/// `[[component.scheduled]]`: set capacity limits at a time.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledSpec {
    /// When.
    pub at: SimDuration,
    /// New minimum.
    pub min: Option<u32>,
    /// New maximum.
    pub max: Option<u32>,
    /// New desired capacity.
    pub desired: Option<u32>,
}

/// The metrics a group publishes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricName {
    /// Percent of vCPU time busy, averaged over warm in-service instances.
    CpuUtilization,
    /// Requests per warm in-service instance in the period.
    RequestCountPerTarget,
    /// Visible messages of the queues the group consumes, per warm in-service instance.
    BacklogPerInstance,
}

impl MetricName {
    /// The name scenarios use.
    fn name(self) -> &'static str {
        match self {
            MetricName::CpuUtilization => "cpu_utilization",
            MetricName::RequestCountPerTarget => "request_count_per_target",
            MetricName::BacklogPerInstance => "backlog_per_instance",
        }
    }

    fn is_percent(self) -> bool {
        matches!(self, MetricName::CpuUtilization)
    }

    /// The statistic AWS uses for this metric in target tracking.
    fn tracking_statistic(self) -> Statistic {
        match self {
            MetricName::CpuUtilization => Statistic::Average,
            MetricName::RequestCountPerTarget => Statistic::Sum,
            MetricName::BacklogPerInstance => Statistic::Average,
        }
    }
}

const METRIC_NAMES: &[&str] = &[
    "cpu_utilization",
    "request_count_per_target",
    "backlog_per_instance",
];

/// How a step or simple policy changes capacity.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentType {
    /// Add (or remove) this many instances.
    #[default]
    ChangeInCapacity,
    /// Set the capacity to this.
    ExactCapacity,
    /// Change by this percent of the current capacity (at least one instance).
    PercentChangeInCapacity,
}

/// One step of a step policy: breach sizes (metric − threshold) from `lower` (inclusive) to
/// `upper` (exclusive) apply `change`. A missing bound is unbounded.
#[derive(Copy, Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepAdjustment {
    /// Lower bound of the breach (default −∞).
    pub lower: Option<f64>,
    /// Upper bound of the breach (default +∞).
    pub upper: Option<f64>,
    /// Adjustment.
    pub change: i64,
}

/// A scaling policy as the scenario writes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// A name for activity reasons (default `policy N`).
    pub name: Option<String>,
    /// `"target_tracking"`, `"step"` or `"simple"`.
    #[serde(rename = "type")]
    pub policy_type: Spanned<String>,
    /// The metric.
    pub metric: Spanned<String>,
    /// Target value (target tracking).
    pub target: Option<Spanned<f64>>,
    /// Never scale in (target tracking).
    #[serde(default)]
    pub disable_scale_in: bool,
    /// Alarm statistic (step, simple; default average).
    pub statistic: Option<Statistic>,
    /// Alarm period (default the metric period).
    pub period: Option<Spanned<PositiveDuration>>,
    /// Alarm evaluation periods N (default 1).
    pub evaluation_periods: Option<u32>,
    /// Alarm datapoints to alarm M (default N).
    pub datapoints_to_alarm: Option<u32>,
    /// Alarm comparison.
    pub comparison: Option<Comparison>,
    /// Alarm threshold.
    pub threshold: Option<Spanned<f64>>,
    /// Missing-data treatment of the alarm.
    pub treat_missing_data: Option<TreatMissingData>,
    /// How adjustments apply (step, simple).
    pub adjustment_type: Option<AdjustmentType>,
    /// Step adjustments (step).
    pub steps: Option<Vec<StepAdjustment>>,
    /// Adjustment (simple).
    pub adjustment: Option<i64>,
    /// Cooldown after an activity (simple; default the group's default cooldown).
    pub cooldown: Option<SimDuration>,
}

const POLICY_TYPES: &[&str] = &["target_tracking", "step", "simple"];

impl Spec {
    fn desired(&self) -> u32 {
        self.desired
            .as_ref()
            .map_or(*self.min.get_ref(), |d| *d.get_ref())
    }
}

fn issue(field: &str, message: String, span: Range<usize>) -> SpecIssue {
    SpecIssue {
        field: field.into(),
        message,
        span,
    }
}

fn check_policy(p: &Spanned<PolicySpec>, out: &mut Vec<SpecIssue>) {
    let span = p.span();
    let p = p.get_ref();
    let kind = p.policy_type.get_ref().as_str();
    if !POLICY_TYPES.contains(&kind) {
        out.push(issue(
            "policy.type",
            format!(
                "unknown policy type `{kind}`; expected one of {}{}",
                POLICY_TYPES.join(", "),
                crate::scenario::did_you_mean(kind, POLICY_TYPES)
            ),
            p.policy_type.span(),
        ));
        return;
    }
    let metric = p.metric.get_ref().as_str();
    let Some(metric_name) = parse_metric(metric) else {
        out.push(issue(
            "policy.metric",
            format!(
                "unknown metric `{metric}`; an asg publishes {}{}",
                METRIC_NAMES.join(", "),
                crate::scenario::did_you_mean(metric, METRIC_NAMES)
            ),
            p.metric.span(),
        ));
        return;
    };
    let percent_check = |value: &Spanned<f64>, field: &str, out: &mut Vec<SpecIssue>| {
        let v = *value.get_ref();
        if metric_name.is_percent() && !(v > 0.0 && v <= 100.0) {
            out.push(issue(
                field,
                format!("{metric} is a percentage: the {field} must be above 0 and at most 100, found {v}"),
                value.span(),
            ));
        } else if !(v > 0.0 && v.is_finite()) {
            out.push(issue(
                field,
                format!("must be a positive number, found {v}"),
                value.span(),
            ));
        }
    };
    let alarm_fields =
        p.comparison.is_some() || p.threshold.is_some() || p.evaluation_periods.is_some();
    match kind {
        "target_tracking" => {
            match &p.target {
                Some(t) => percent_check(t, "target", out),
                None => out.push(issue(
                    "policy.target",
                    "a target tracking policy needs a `target` value".into(),
                    span.clone(),
                )),
            }
            if alarm_fields || p.steps.is_some() || p.adjustment.is_some() {
                out.push(issue(
                    "policy",
                    "target tracking makes its own alarms: remove `comparison`, `threshold`, `evaluation_periods`, `steps` and `adjustment`".into(),
                    span.clone(),
                ));
            }
        }
        _ => {
            if p.target.is_some() {
                out.push(issue("policy.target", format!("`target` belongs to target tracking, not a {kind} policy; give `comparison` and `threshold`"), span.clone()));
            }
            if p.comparison.is_none() || p.threshold.is_none() {
                out.push(issue(
                    "policy",
                    format!(
                        "a {kind} policy needs an alarm: `comparison` (e.g. \">\") and `threshold`"
                    ),
                    span.clone(),
                ));
            }
            if let Some(t) = &p.threshold
                && metric_name.is_percent()
                && !(0.0..=100.0).contains(t.get_ref())
            {
                out.push(issue("policy.threshold", format!("{metric} is a percentage: the threshold must be between 0 and 100, found {}", t.get_ref()), t.span()));
            }
            let n = p.evaluation_periods.unwrap_or(1);
            let m = p.datapoints_to_alarm.unwrap_or(n);
            if n == 0 || m == 0 || m > n {
                out.push(issue(
                    "policy.datapoints_to_alarm",
                    format!("needs 1 <= datapoints_to_alarm ({m}) <= evaluation_periods ({n})"),
                    span.clone(),
                ));
            }
            if kind == "step" {
                match &p.steps {
                    Some(steps) if !steps.is_empty() => {
                        for s in steps {
                            if let (Some(l), Some(u)) = (s.lower, s.upper)
                                && l >= u {
                                    out.push(issue("policy.steps", format!("a step's lower bound ({l}) must be below its upper bound ({u})"), span.clone()));
                                }
                        }
                    }
                    _ => out.push(issue("policy.steps", "a step policy needs `steps`, e.g. [ { lower = 0, upper = 20, change = 1 }, { lower = 20, change = 3 } ]".into(), span.clone())),
                }
                if p.adjustment.is_some() {
                    out.push(issue(
                        "policy.adjustment",
                        "`adjustment` belongs to simple policies; a step policy has `steps`".into(),
                        span.clone(),
                    ));
                }
            } else {
                if p.adjustment.is_none() {
                    out.push(issue(
                        "policy.adjustment",
                        "a simple policy needs an `adjustment`, e.g. 2 or -1".into(),
                        span.clone(),
                    ));
                }
                if p.steps.is_some() {
                    out.push(issue(
                        "policy.steps",
                        "`steps` belong to step policies; a simple policy has one `adjustment`"
                            .into(),
                        span.clone(),
                    ));
                }
            }
        }
    }
}

fn parse_metric(name: &str) -> Option<MetricName> {
    match name {
        "cpu_utilization" => Some(MetricName::CpuUtilization),
        "request_count_per_target" => Some(MetricName::RequestCountPerTarget),
        "backlog_per_instance" => Some(MetricName::BacklogPerInstance),
        _ => None,
    }
}

impl Kind for Spec {
    const KIND: &'static str = "asg";
    const ACCEPTS_REQUESTS: bool = true;

    fn references(&self) -> Vec<Reference<'_>> {
        call_references(self.handler.get_ref())
    }

    fn check(&self, span: Range<usize>) -> Vec<SpecIssue> {
        let mut out = Vec::new();
        let (min, max) = (*self.min.get_ref(), *self.max.get_ref());
        if min > max {
            out.push(issue(
                "min",
                format!("min ({min}) must not be greater than max ({max})"),
                self.min.span(),
            ));
        }
        if max == 0 {
            out.push(issue("max", "must be at least 1".into(), self.max.span()));
        }
        if let Some(d) = &self.desired
            && min <= max
        {
            let d_value = *d.get_ref();
            if d_value < min || d_value > max {
                out.push(issue(
                    "desired",
                    format!("desired ({d_value}) must be between min ({min}) and max ({max})"),
                    d.span(),
                ));
            }
        }
        if self.vcpus == 0 {
            out.push(issue("vcpus", "must be at least 1".into(), span.clone()));
        }
        if let Some(s) = &self.speed
            && !(*s.get_ref() > 0.0 && s.get_ref().is_finite())
        {
            out.push(issue(
                "speed",
                format!("must be a positive number, found {}", s.get_ref()),
                s.span(),
            ));
        }
        if self.handler.get_ref().is_empty() {
            out.push(issue(
                "handler",
                "needs at least one step, e.g. [ { compute = \"40ms\" } ]".into(),
                self.handler.span(),
            ));
        }
        let base = self
            .metric_period
            .map_or(crate::defaults::asg().metric_period, |p| p.0);
        for p in &self.policy {
            check_policy(p, &mut out);
            if let Some(period) = &p.get_ref().period
                && !period
                    .get_ref()
                    .0
                    .as_nanos()
                    .is_multiple_of(base.as_nanos())
            {
                out.push(issue(
                    "policy.period",
                    format!(
                        "the alarm period must be a whole number of metric periods ({base}), \
                         found {}",
                        period.get_ref().0
                    ),
                    period.span(),
                ));
            }
        }
        for s in &self.scheduled {
            let a = s.get_ref();
            if a.min.is_none() && a.max.is_none() && a.desired.is_none() {
                out.push(issue(
                    "scheduled",
                    "a scheduled action sets at least one of `min`, `max`, `desired`".into(),
                    s.span(),
                ));
            }
            if let (Some(lo), Some(hi)) = (a.min, a.max)
                && lo > hi
            {
                out.push(issue(
                    "scheduled",
                    format!("min ({lo}) must not be greater than max ({hi})"),
                    s.span(),
                ));
            }
        }
        out
    }

    fn target_group(&self) -> Option<TargetGroup> {
        Some(TargetGroup {
            capacity_per_instance: self.max_queue.map(|q| q.saturating_add(self.vcpus)),
        })
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String> {
        let defaults = crate::defaults::asg();
        let handler = Handler::build(self.handler.get_ref(), cx.base_dir, |n| cx.id(n))?;
        let launch_time = match &self.launch_time {
            Some(d) => d.0.build(cx.base_dir)?,
            None => defaults.launch_time.build(cx.base_dir)?,
        };
        let metric_period = self.metric_period.map_or(defaults.metric_period, |p| p.0);
        let delay = self
            .metric_publication_delay
            .unwrap_or(defaults.metric_publication_delay);
        let mut policies = Vec::new();
        for (i, p) in self.policy.iter().enumerate() {
            policies.push(Policy::build(
                p.get_ref(),
                i,
                metric_period,
                delay,
                defaults,
            )?);
        }
        let mut scheduled: Vec<ScheduledSpec> =
            self.scheduled.iter().map(|s| s.get_ref().clone()).collect();
        scheduled.sort_by_key(|s| s.at);
        let mut failures: Vec<FailureSpec> = self.failures.clone();
        failures.sort_by_key(|f| f.at);
        // A group's AZs are a set: a name listed twice counts once.
        let mut azs: Vec<u8> = Vec::new();
        for az in cx.region.placement(self.azs.as_ref()) {
            if !azs.contains(&az) {
                azs.push(az);
            }
        }
        Ok(Box::new(Asg {
            az_names: cx.region.has_azs().then(|| cx.region.azs.clone()),
            azs,
            az_down: 0,
            rebalanced: 0,
            pool: Pool::new(handler, self.vcpus, self.max_queue, cx.warmup_end),
            speed: self.speed.as_ref().map_or(1.0, |s| *s.get_ref()),
            min: *self.min.get_ref(),
            max: *self.max.get_ref(),
            desired: self.desired(),
            launch_time,
            grace: self
                .health_check_grace_period
                .unwrap_or(defaults.health_check_grace_period),
            health_check_type: self.health_check_type.unwrap_or_default(),
            warmup: self.instance_warmup.unwrap_or(defaults.instance_warmup),
            termination_policy: self.termination_policy,
            metric_period,
            delay,
            mtbf: self.mtbf.map(|m| m.0),
            failures,
            scheduled,
            policies,
            // Load balancers route to the instances; queues whose consumer is the group poll
            // from them. Both learn of instances by registration and drain them.
            load_balancers: {
                let mut lbs = cx.referrers("targets");
                lbs.extend(cx.referrers("consumer"));
                lbs
            },
            queues: cx.referrers("consumer"),
            backlog: 0,
            instances: Vec::new(),
            by_pool: Vec::new(),
            next_direct: 0,
            routed_requests: 0,
            activities: Vec::new(),
            in_service_hours: TimeWeighted::new(0.0),
            counts: CapacityRow::default(),
            desired_max: 0,
            in_service_max: 0,
            replaced: 0,
            warmup_end: cx.warmup_end,
            simple_activity: None,
            simple_cooldown_until: SimTime::ZERO,
            tag_simple: false,
            last_capacity_change: SimTime::ZERO,
            period_bases: VecDeque::new(),
        }))
    }
}

/// Where an instance is in its life.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum State {
    Pending,
    InService,
    /// Deregistered, finishing its requests before termination.
    Draining,
    Terminated,
}

/// One instance of the group.
#[derive(Clone, Debug)]
struct Instance {
    state: State,
    launched_at: SimTime,
    in_service_at: Option<SimTime>,
    /// From when it counts in metrics and current capacity.
    warm_from: SimTime,
    /// Index in the pool once in service (also the load balancers' target index).
    pool_index: Option<u32>,
    /// Crashed (fails health checks, answers nothing).
    failed: bool,
    /// Marked for replacement already.
    replacing: bool,
    /// Launched or being terminated by the running simple-scaling activity.
    simple_activity: bool,
    /// Load balancers and queues that have not yet reported the instance drained.
    drain_acks: u32,
    /// Availability zone (index into the region's AZs).
    az: u8,
    /// In an AZ that is down: answers nothing.
    unreachable: bool,
    /// Launched by rebalancing, beyond the desired capacity, until it is in service.
    rebalancing: bool,
    /// A load balancer's latest verdict was unhealthy (acted on after the grace period with
    /// `health_check_type = "elb"`).
    lb_unhealthy: bool,
}

/// A policy, built.
struct Policy {
    name: String,
    metric: MetricName,
    rule: Rule,
    aggregator: PeriodAggregator,
}

enum Rule {
    TargetTracking {
        target: f64,
        disable_scale_in: bool,
        high: Alarm,
        low: Alarm,
    },
    Step {
        alarm: Alarm,
        adjustment_type: AdjustmentType,
        steps: Vec<StepAdjustment>,
    },
    Simple {
        alarm: Alarm,
        adjustment_type: AdjustmentType,
        adjustment: i64,
        cooldown: SimDuration,
    },
}

impl Policy {
    fn build(
        p: &PolicySpec,
        index: usize,
        metric_period: SimDuration,
        delay: SimDuration,
        defaults: &crate::defaults::AsgDefaults,
    ) -> Result<Policy, String> {
        let metric = parse_metric(p.metric.get_ref()).ok_or("unknown metric")?;
        let name = p
            .name
            .clone()
            .unwrap_or_else(|| format!("policy {}", index + 1));
        let period = p.period.as_ref().map_or(metric_period, |d| d.get_ref().0);
        let (rule, statistic, keep) = match p.policy_type.get_ref().as_str() {
            "target_tracking" => {
                let target = *p.target.as_ref().ok_or("target")?.get_ref();
                let out_n = defaults.target_tracking_scale_out_datapoints;
                let in_n = defaults.target_tracking_scale_in_datapoints;
                let statistic = metric.tracking_statistic();
                let high = Alarm::new(
                    Comparison::GreaterThan,
                    target,
                    out_n,
                    out_n,
                    TreatMissingData::Missing,
                )?;
                let low = Alarm::new(
                    Comparison::LessThan,
                    target * defaults.target_tracking_scale_in_ratio,
                    in_n,
                    in_n,
                    TreatMissingData::Missing,
                )?;
                // One aggregator keeps enough datapoints for both alarms' look-back.
                let keep = high.evaluation_range().max(low.evaluation_range());
                (
                    Rule::TargetTracking {
                        target,
                        disable_scale_in: p.disable_scale_in,
                        high,
                        low,
                    },
                    statistic,
                    keep,
                )
            }
            kind => {
                let n = p.evaluation_periods.unwrap_or(1);
                let m = p.datapoints_to_alarm.unwrap_or(n);
                let alarm = Alarm::new(
                    p.comparison.ok_or("comparison")?,
                    *p.threshold.as_ref().ok_or("threshold")?.get_ref(),
                    n,
                    m,
                    p.treat_missing_data.unwrap_or(TreatMissingData::Missing),
                )?;
                let adjustment_type = p.adjustment_type.unwrap_or_default();
                let rule = if kind == "step" {
                    Rule::Step {
                        alarm,
                        adjustment_type,
                        steps: p.steps.clone().unwrap_or_default(),
                    }
                } else {
                    Rule::Simple {
                        alarm,
                        adjustment_type,
                        adjustment: p.adjustment.ok_or("adjustment")?,
                        cooldown: p.cooldown.unwrap_or(defaults.default_cooldown),
                    }
                };
                let keep = match &rule {
                    Rule::Step { alarm, .. } | Rule::Simple { alarm, .. } => {
                        alarm.evaluation_range()
                    }
                    Rule::TargetTracking { .. } => unreachable!("built above"),
                };
                (rule, p.statistic.unwrap_or(Statistic::Average), keep)
            }
        };
        Ok(Policy {
            name,
            metric,
            rule,
            aggregator: PeriodAggregator::new(period, statistic, delay, keep),
        })
    }
}

/// One scaling activity, for `scaling_activities.csv` and the summary.
#[derive(Clone, Debug, serde::Serialize)]
struct Activity {
    time_s: f64,
    activity: &'static str,
    desired_from: u32,
    desired_to: u32,
    reason: String,
}

/// Timer kinds of a group (the pool uses [`TIMER_STEP_DONE`]).
const TIMER_LAUNCHED: u32 = 1;
const TIMER_METRIC_PERIOD: u32 = 2;
const TIMER_EVALUATE: u32 = 3;
const TIMER_SCHEDULED: u32 = 4;
const TIMER_FAILURE: u32 = 5;
const TIMER_RANDOM_FAILURE: u32 = 6;
const TIMER_GRACE_OVER: u32 = 7;
const TIMER_METRIC_CLOSE: u32 = 8;

/// A running Auto Scaling Group.
pub struct Asg {
    pool: Pool,
    /// The group's AZs (region indices), in launch preference order.
    azs: Vec<u8>,
    /// AZ names of the region, when the scenario declares AZs (for the report).
    az_names: Option<Vec<String>>,
    /// Bit per AZ that is down.
    az_down: u32,
    /// Instances terminated to rebalance AZs.
    rebalanced: u64,
    speed: f64,
    min: u32,
    max: u32,
    desired: u32,
    launch_time: Dist,
    grace: SimDuration,
    health_check_type: HealthCheckType,
    warmup: SimDuration,
    termination_policy: TerminationPolicy,
    metric_period: SimDuration,
    delay: SimDuration,
    mtbf: Option<SimDuration>,
    failures: Vec<FailureSpec>,
    scheduled: Vec<ScheduledSpec>,
    policies: Vec<Policy>,
    load_balancers: Vec<ComponentId>,
    /// Queues this group consumes (for the backlog metric).
    queues: Vec<ComponentId>,
    /// Visible messages of those queues, as last reported.
    backlog: u64,
    instances: Vec<Instance>,
    /// Group instance of each pool index.
    by_pool: Vec<u32>,
    next_direct: usize,
    /// Requests routed here by load balancers in the current metric period.
    routed_requests: u64,
    activities: Vec<Activity>,
    in_service_hours: TimeWeighted,
    counts: CapacityRow,
    desired_max: u32,
    in_service_max: u32,
    replaced: u64,
    warmup_end: SimTime,
    /// The simple-scaling activity in progress, if any.
    simple_activity: Option<SimpleActivity>,
    /// Simple policies may act again from then.
    simple_cooldown_until: SimTime,
    /// Set while a simple activity launches or terminates instances.
    tag_simple: bool,
    /// When a policy or scheduled action last changed the desired capacity.
    last_capacity_change: SimTime,
    /// Instance counts behind recent datapoints.
    period_bases: VecDeque<PeriodBase>,
}

/// How many instances the datapoints of one metric period were measured on.
#[derive(Copy, Clone, Debug)]
struct PeriodBase {
    period_end: SimTime,
    /// Warm in-service instances (CPU is averaged over them).
    warm: u32,
    /// In-service instances (requests and backlog are divided by them).
    in_service: u32,
}

/// The instance count a metric's datapoint ending at `period_end` was measured on.
fn base_of(bases: &VecDeque<PeriodBase>, period_end: SimTime, metric: MetricName) -> u32 {
    // An alarm period may span several metric periods: take the last of them.
    let b = bases
        .iter()
        .rev()
        .find(|b| b.period_end <= period_end)
        .copied();
    match (b, metric) {
        (Some(b), MetricName::CpuUtilization) => b.warm,
        (Some(b), _) => b.in_service,
        (None, _) => 0,
    }
}

/// True when the newest datapoint's period began at or after `since` (it measured the capacity
/// in force now, not one that has since changed).
fn fresh_after(visible: &[Datapoint], period: SimDuration, since: SimTime) -> bool {
    visible.last().is_some_and(|d| {
        d.period_end.as_nanos() >= period.as_nanos()
            && SimTime(d.period_end.as_nanos() - period.as_nanos()) >= since
    })
}

/// A simple-scaling activity in progress: launches or terminations not yet complete.
#[derive(Copy, Clone, Debug)]
struct SimpleActivity {
    pending: u32,
    cooldown: SimDuration,
}

impl Asg {
    fn record(&mut self, now: SimTime, activity: &'static str, from: u32, to: u32, reason: String) {
        self.activities.push(Activity {
            time_s: now.as_secs_f64(),
            activity,
            desired_from: from,
            desired_to: to,
            reason,
        });
    }

    fn update_counts(&mut self, now: SimTime) {
        let mut c = CapacityRow {
            desired: self.desired as u64,
            ..CapacityRow::default()
        };
        for i in &self.instances {
            match i.state {
                State::Pending => c.pending += 1,
                State::InService => c.in_service += 1,
                State::Draining => c.draining += 1,
                State::Terminated => {}
            }
        }
        self.counts = c;
        self.desired_max = self.desired_max.max(self.desired);
        self.in_service_max = self.in_service_max.max(c.in_service as u32);
        // Billed while running: in service or draining.
        let running = (c.in_service + c.draining) as f64;
        self.in_service_hours.set(now, self.warmup_end, running);
    }

    /// Instances that count toward capacity: pending or in service and not being replaced.
    fn active(&self) -> u32 {
        self.instances
            .iter()
            .filter(|i| {
                matches!(i.state, State::Pending | State::InService)
                    && !i.replacing
                    && !i.rebalancing
            })
            .count() as u32
    }

    /// Instances (pending or in service, not being replaced) per AZ of the group, in `azs`
    /// order.
    fn per_az(&self) -> Vec<u32> {
        let mut counts = vec![0; self.azs.len()];
        for i in &self.instances {
            if matches!(i.state, State::Pending | State::InService)
                && !i.replacing
                && let Some(k) = self.azs.iter().position(|&a| a == i.az)
            {
                counts[k] += 1;
            }
        }
        counts
    }

    fn az_is_down(&self, az: u8) -> bool {
        self.az_down & (1 << az) != 0
    }

    /// The AZ a new instance goes to: the group's AZ that is up with the fewest instances
    /// (ties to the first listed); if every AZ is down, the one with the fewest.
    fn launch_az(&self) -> u8 {
        let counts = self.per_az();
        let pick = |up_only: bool| {
            (0..self.azs.len())
                .filter(|&k| !up_only || !self.az_is_down(self.azs[k]))
                .min_by_key(|&k| (counts[k], k))
        };
        let k = pick(true)
            .or_else(|| pick(false))
            .expect("a group has an AZ");
        self.azs[k]
    }

    /// In-service instances past their warm-up: the capacity policies scale from.
    fn warm(&self, now: SimTime) -> Vec<u32> {
        self.instances
            .iter()
            .filter(|i| i.state == State::InService && !i.failed && now >= i.warm_from)
            .filter_map(|i| i.pool_index)
            .collect()
    }

    fn warming(&self, now: SimTime) -> bool {
        self.instances.iter().any(|i| {
            matches!(i.state, State::Pending) || (i.state == State::InService && now < i.warm_from)
        })
    }

    fn launch(&mut self, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let id = self.instances.len() as u32;
        let az = self.launch_az();
        self.instances.push(Instance {
            state: State::Pending,
            launched_at: now,
            in_service_at: None,
            warm_from: SimTime::MAX,
            pool_index: None,
            failed: false,
            replacing: false,
            simple_activity: self.tag_simple,
            drain_acks: 0,
            az,
            unreachable: false,
            rebalancing: false,
            lb_unhealthy: false,
        });
        if self.tag_simple
            && let Some(activity) = &mut self.simple_activity
        {
            activity.pending += 1;
        }
        let delay = self.launch_time.sample(cx.rng());
        cx.set_timer(
            delay,
            Timer {
                kind: TIMER_LAUNCHED,
                id: id as u64,
            },
        );
    }

    /// Puts instance `id` in service at once (instances present when the run starts, and
    /// launches that complete).
    fn put_in_service(&mut self, id: u32, healthy_from_start: bool, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let pool_index = self.pool.add_instance(self.speed, now);
        self.by_pool.push(id);
        let inst = &mut self.instances[id as usize];
        inst.state = State::InService;
        inst.in_service_at = Some(now);
        // Instances present from the start are warm already.
        inst.warm_from = if healthy_from_start {
            now
        } else {
            now + self.warmup
        };
        inst.pool_index = Some(pool_index);
        for &lb in &self.load_balancers {
            cx.send(
                lb,
                Msg::Control(Control::Register {
                    instance: pool_index,
                    healthy: healthy_from_start,
                    az: inst.az,
                }),
            );
        }
        if let Some(mtbf) = self.mtbf {
            let mean = mtbf.as_secs_f64();
            let u: f64 = cx.rng().random();
            let delay = SimDuration::from_secs_f64(-(1.0 - u).ln() * mean);
            cx.set_timer(
                delay,
                Timer {
                    kind: TIMER_RANDOM_FAILURE,
                    id: id as u64,
                },
            );
        }
        if !healthy_from_start && self.grace > SimDuration::ZERO {
            cx.set_timer(
                self.grace,
                Timer {
                    kind: TIMER_GRACE_OVER,
                    id: id as u64,
                },
            );
        }
    }

    /// Launches or terminates instances until the active ones match `desired`.
    fn reconcile(&mut self, cx: &mut Ctx<'_>) {
        while self.active() < self.desired {
            self.launch(cx);
        }
        while self.active() > self.desired {
            // Scale-in keeps the AZs balanced: the most populated AZ loses an instance (ties
            // to the last listed, so launches and terminations do not chase each other).
            let counts = self.per_az();
            let Some(k) = (0..self.azs.len()).max_by_key(|&k| (counts[k], k)) else {
                break;
            };
            let az = self.azs[k];
            let candidate = self.instances.iter().enumerate().filter(|(_, i)| {
                matches!(i.state, State::Pending | State::InService)
                    && !i.replacing
                    && !i.rebalancing
                    && i.az == az
            });
            let chosen = match self.termination_policy {
                TerminationPolicy::OldestInstance => {
                    candidate.min_by_key(|(k, i)| (i.launched_at, *k))
                }
                TerminationPolicy::NewestInstance => {
                    candidate.max_by_key(|(k, i)| (i.launched_at, *k))
                }
            };
            let Some((id, _)) = chosen else { break };
            self.terminate(id as u32, cx);
        }
        self.update_counts(cx.now());
    }

    /// Starts terminating instance `id`: a pending one stops at once; an in-service one drains.
    fn terminate(&mut self, id: u32, cx: &mut Ctx<'_>) {
        if self.tag_simple && !self.instances[id as usize].simple_activity {
            self.instances[id as usize].simple_activity = true;
            if let Some(activity) = &mut self.simple_activity {
                activity.pending += 1;
            }
        }
        let inst = &mut self.instances[id as usize];
        match inst.state {
            State::Pending => {
                inst.state = State::Terminated;
                self.instance_settled(id, cx.now());
            }
            State::InService => {
                inst.state = State::Draining;
                inst.drain_acks = self.load_balancers.len() as u32;
                let pool_index = inst.pool_index.expect("in service");
                if self.load_balancers.is_empty() {
                    self.finish_if_drained(pool_index, cx);
                } else {
                    for &lb in &self.load_balancers {
                        cx.send(
                            lb,
                            Msg::Control(Control::Deregister {
                                instance: pool_index,
                            }),
                        );
                    }
                }
            }
            State::Draining | State::Terminated => {}
        }
    }

    /// Without a load balancer, a draining instance terminates when it holds no request.
    fn finish_if_drained(&mut self, pool_index: u32, cx: &mut Ctx<'_>) {
        let id = self.by_pool[pool_index as usize];
        if self.instances[id as usize].state == State::Draining && self.pool.load(pool_index) == 0 {
            self.finish_termination(id, cx);
        }
    }

    fn finish_termination(&mut self, id: u32, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let inst = &mut self.instances[id as usize];
        if inst.state == State::Terminated {
            return;
        }
        inst.state = State::Terminated;
        if let Some(p) = inst.pool_index {
            // Anything still held after the deregistration delay is cut off (502).
            self.pool.crash(p, cx);
            self.pool.remove(p, now);
        }
        self.instance_settled(id, now);
        self.update_counts(now);
    }

    /// The instance routed requests go to when nobody chose one.
    fn direct_target(&mut self) -> Option<u32> {
        let serving: Vec<u32> = self
            .instances
            .iter()
            .filter(|i| i.state == State::InService && !i.failed)
            .filter_map(|i| i.pool_index)
            .collect();
        if serving.is_empty() {
            return None;
        }
        let i = self.next_direct % serving.len();
        self.next_direct = self.next_direct.wrapping_add(1);
        Some(serving[i])
    }

    fn on_request(&mut self, request: Request, cx: &mut Ctx<'_>) {
        let target = if request.route != NO_ROUTE {
            self.routed_requests += 1;
            Some(request.route)
        } else {
            self.direct_target()
        };
        match target {
            Some(p) if (p as usize) < self.by_pool.len() => {
                let id = self.by_pool[p as usize] as usize;
                let inst = &self.instances[id];
                if inst.unreachable && !inst.failed && inst.state != State::Terminated {
                    // Its AZ is down: the request vanishes.
                    self.pool.swallow(request, cx);
                } else if inst.failed || inst.state == State::Terminated {
                    // Nothing listens there any more: the connection is refused.
                    self.pool.refuse(request, Outcome::Error(502), cx);
                } else {
                    self.pool.accept(request, p, cx);
                }
            }
            _ => self.pool.refuse(request, Outcome::Error(503), cx),
        }
    }

    fn mark_unhealthy(&mut self, id: u32, reason: &str, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let inst = &self.instances[id as usize];
        if inst.replacing || inst.state != State::InService {
            return;
        }
        // Health checks do not count during the grace period after launch.
        // (It runs from when the instance came into service; the starting instances have none.)
        if inst.launched_at > SimTime::ZERO
            && inst.in_service_at.is_some_and(|t| now < t + self.grace)
        {
            return;
        }
        self.instances[id as usize].replacing = true;
        self.replaced += 1;
        let d = self.desired;
        self.record(now, "replace", d, d, format!("instance {id} {reason}"));
        // Terminate it now (nothing useful can drain from a failed instance) and launch a
        // replacement.
        let pool_index = self.instances[id as usize].pool_index.expect("in service");
        self.instances[id as usize].state = State::Draining;
        for &lb in &self.load_balancers {
            cx.send(
                lb,
                Msg::Control(Control::Deregister {
                    instance: pool_index,
                }),
            );
        }
        self.finish_termination(id, cx);
        self.reconcile(cx);
    }

    fn fail(&mut self, id: u32, cx: &mut Ctx<'_>) {
        let inst = &mut self.instances[id as usize];
        if inst.state != State::InService || inst.failed {
            return;
        }
        inst.failed = true;
        let pool_index = inst.pool_index.expect("in service");
        self.pool.crash(pool_index, cx);
        // EC2 status checks see a failed instance (after the grace period).
        self.mark_unhealthy(id, "failed its EC2 status check", cx);
    }

    fn on_control(&mut self, control: Control, cx: &mut Ctx<'_>) {
        match control {
            Control::HealthCheck { instance, from } => {
                let id = self.by_pool.get(instance as usize).copied();
                let healthy = id.is_some_and(|id| {
                    let i = &self.instances[id as usize];
                    !i.failed
                        && !i.unreachable
                        && matches!(i.state, State::InService | State::Draining)
                });
                cx.send(
                    from,
                    Msg::Control(Control::HealthCheckResult { instance, healthy }),
                );
            }
            Control::TargetHealth { instance, healthy } => {
                let id = self.by_pool[instance as usize];
                self.instances[id as usize].lb_unhealthy = !healthy;
                if !healthy && self.health_check_type == HealthCheckType::Elb {
                    let id = self.by_pool[instance as usize];
                    self.mark_unhealthy(id, "failed its load balancer health checks", cx);
                }
            }
            Control::Drained { instance } => {
                // Terminate once every load balancer and queue has drained the instance.
                let id = self.by_pool[instance as usize];
                let inst = &mut self.instances[id as usize];
                if inst.state == State::Draining {
                    inst.drain_acks = inst.drain_acks.saturating_sub(1);
                    if inst.drain_acks == 0 {
                        self.finish_termination(id, cx);
                    }
                }
            }
            Control::QueueDepth { visible } => {
                self.backlog += visible;
            }
            Control::Fault(action) => self.on_fault(action, cx),
            Control::QueryDepth { .. }
            | Control::Register { .. }
            | Control::ConnectionClosed { .. }
            | Control::Deregister { .. }
            | Control::HealthCheckResult { .. } => {
                debug_assert!(false, "an asg does not receive {control:?}")
            }
        }
    }

    /// The end of a metric period: one datapoint per metric into every policy's aggregator.
    /// A metric period ends now: ask the consumed queues for their depth, and close the
    /// period a nanosecond later, once their answers (sent at this same instant) are in.
    fn on_metric_period(&mut self, cx: &mut Ctx<'_>) {
        self.backlog = 0;
        let me = cx.me();
        for &q in &self.queues {
            cx.send(q, Msg::Control(Control::QueryDepth { from: me }));
        }
        cx.set_timer(
            self.metric_period,
            Timer {
                kind: TIMER_METRIC_PERIOD,
                id: 0,
            },
        );
        cx.set_timer(
            SimDuration::from_nanos(1),
            Timer {
                kind: TIMER_METRIC_CLOSE,
                id: 0,
            },
        );
    }

    /// Closes the metric period that ended a nanosecond ago: one datapoint per metric into
    /// every policy's aggregator.
    fn on_metric_close(&mut self, cx: &mut Ctx<'_>) {
        let now = SimTime(cx.now().as_nanos() - 1);
        let warm = self.warm(now);
        // Every in-service instance's CPU measurement restarts now; only the warm ones count.
        let mut cpu = Vec::with_capacity(warm.len());
        for i in 0..self.instances.len() {
            let inst = &self.instances[i];
            if let (State::InService, Some(p)) = (inst.state, inst.pool_index) {
                let u = self.pool.take_cpu_utilisation(p, now) * 100.0;
                if warm.contains(&p) {
                    cpu.push(u);
                }
            }
        }
        // Requests and backlog are per instance in service (warm or not: all of them take
        // requests and poll); CPU is averaged over the warm ones only.
        let in_service = self
            .instances
            .iter()
            .filter(|i| i.state == State::InService && !i.failed)
            .count() as u32;
        let per_instance = |count: u64| (in_service > 0).then(|| count as f64 / in_service as f64);
        let per_target = per_instance(self.routed_requests);
        let backlog = per_instance(self.backlog);
        self.routed_requests = 0;
        // Remember how many instances each datapoint was measured on: a policy scales from
        // that, not from the capacity at evaluation time.
        self.period_bases.push_back(PeriodBase {
            period_end: now,
            warm: warm.len() as u32,
            in_service,
        });
        while self.period_bases.len() > 64 {
            self.period_bases.pop_front();
        }
        for policy in &mut self.policies {
            let values: Vec<f64> = match policy.metric {
                MetricName::CpuUtilization => cpu.clone(),
                MetricName::RequestCountPerTarget => per_target.into_iter().collect(),
                MetricName::BacklogPerInstance => backlog.into_iter().collect(),
            };
            // Observations are stamped just inside the period that ends now.
            let at = SimTime(now.as_nanos().saturating_sub(1));
            for &v in &values {
                policy.aggregator.record(at, v);
            }
            policy.aggregator.close_until(now);
        }
        // Evaluate when the datapoint becomes visible: `delay` after the period's end, which
        // was a nanosecond ago.
        cx.set_timer(
            SimDuration::from_nanos(self.delay.as_nanos().saturating_sub(1)),
            Timer {
                kind: TIMER_EVALUATE,
                id: 0,
            },
        );
    }

    /// Evaluates every policy's alarms; applies the winning capacity change.
    fn on_evaluate(&mut self, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let warm_capacity = self.warm(now).len() as u32;
        let warming = self.warming(now);
        let current = self.desired;
        // Simple policies wait while a simple activity is in progress and then for its
        // cooldown, which starts when its last launch or termination completes.
        let simple_blocked = self.simple_activity.is_some() || now < self.simple_cooldown_until;
        let last_activity = self.last_capacity_change;
        let bases = self.period_bases.clone();
        let mut proposals: Vec<(u32, String, Option<usize>)> = Vec::new();
        for (index, policy) in self.policies.iter_mut().enumerate() {
            let visible = policy.aggregator.visible(now);
            let latest = visible.last().and_then(|d: &Datapoint| d.value);
            match &mut policy.rule {
                Rule::TargetTracking {
                    target,
                    disable_scale_in,
                    high,
                    low,
                } => {
                    let high_state = high.evaluate(&visible);
                    let low_state = low.evaluate(&visible);
                    let Some(value) = latest else { continue };
                    // A datapoint measured before the last scaling activity describes a
                    // capacity that no longer exists: it may not justify removing more.
                    let fresh = fresh_after(&visible, policy.aggregator.period(), last_activity);
                    let base = visible
                        .last()
                        .map_or(warm_capacity, |d| {
                            base_of(&bases, d.period_end, policy.metric)
                        })
                        .max(1) as f64;
                    let wanted = (base * value / *target).ceil().max(0.0) as u32;
                    if high_state == AlarmState::Alarm && wanted > current {
                        proposals.push((
                            wanted,
                            format!(
                                "{}: {} {value:.1} above target {target}",
                                policy.name,
                                policy.metric.name()
                            ),
                            None,
                        ));
                    } else if low_state == AlarmState::Alarm
                        && !*disable_scale_in
                        && !warming
                        && fresh
                        && wanted < current
                    {
                        proposals.push((
                            wanted,
                            format!(
                                "{}: {} {value:.1} below target {target}",
                                policy.name,
                                policy.metric.name()
                            ),
                            None,
                        ));
                    }
                }
                Rule::Step {
                    alarm,
                    adjustment_type,
                    steps,
                } => {
                    if alarm.evaluate(&visible) != AlarmState::Alarm {
                        continue;
                    }
                    let Some(breach) = alarm.breach(&visible) else {
                        continue;
                    };
                    let step = steps.iter().find(|s| {
                        s.lower.is_none_or(|l| breach >= l) && s.upper.is_none_or(|u| breach < u)
                    });
                    let Some(step) = step else { continue };
                    // Scale-in waits until new instances have warmed up, and for a datapoint
                    // measured after the last capacity change.
                    if step.change < 0
                        && (warming
                            || !fresh_after(&visible, policy.aggregator.period(), last_activity))
                    {
                        continue;
                    }
                    // Scale-out adds to the warm capacity, so breaches while instances warm up
                    // do not add them again; scale-in removes from the desired capacity.
                    let from = if step.change >= 0 {
                        warm_capacity
                    } else {
                        current
                    };
                    let wanted = adjust(from, *adjustment_type, step.change);
                    proposals.push((
                        wanted,
                        format!(
                            "{}: alarm breached by {breach:.2}, step change {}",
                            policy.name, step.change
                        ),
                        None,
                    ));
                }
                Rule::Simple {
                    alarm,
                    adjustment_type,
                    adjustment,
                    ..
                } => {
                    if alarm.evaluate(&visible) != AlarmState::Alarm || simple_blocked {
                        continue;
                    }
                    let wanted = adjust(current, *adjustment_type, *adjustment);
                    proposals.push((
                        wanted,
                        format!("{}: alarm in ALARM, adjustment {adjustment}", policy.name),
                        Some(index),
                    ));
                }
            }
        }
        if proposals.is_empty() {
            return;
        }
        // The largest resulting capacity wins (scale-out over scale-in; the least scale-in).
        let out = proposals
            .iter()
            .filter(|p| p.0 > current)
            .max_by_key(|p| p.0);
        let chosen = match out {
            Some(p) => p.clone(),
            None => proposals
                .iter()
                .max_by_key(|p| p.0)
                .cloned()
                .expect("not empty"),
        };
        let target = chosen.0.clamp(self.min, self.max);
        if target != current {
            self.record(
                now,
                if target > current {
                    "scale_out"
                } else {
                    "scale_in"
                },
                current,
                target,
                chosen.1,
            );
            self.desired = target;
            self.last_capacity_change = now;
            match chosen.2.map(|i| &self.policies[i].rule) {
                Some(Rule::Simple { cooldown, .. }) => {
                    let cooldown = *cooldown;
                    self.simple_activity = Some(SimpleActivity {
                        pending: 0,
                        cooldown,
                    });
                    self.tag_simple = true;
                    self.reconcile(cx);
                    self.tag_simple = false;
                    self.simple_step_done(0, cx.now());
                }
                _ => self.reconcile(cx),
            }
        }
    }

    /// `finished` launches or terminations of the running simple activity completed; when none
    /// is left, its cooldown starts.
    fn simple_step_done(&mut self, finished: u32, now: SimTime) {
        if let Some(activity) = &mut self.simple_activity {
            activity.pending -= finished;
            if activity.pending == 0 {
                self.simple_cooldown_until = now + activity.cooldown;
                self.simple_activity = None;
            }
        }
    }

    /// Instance `id` finished launching or terminating: if a simple activity started it, count
    /// it done.
    fn instance_settled(&mut self, id: u32, now: SimTime) {
        let inst = &mut self.instances[id as usize];
        if inst.simple_activity {
            inst.simple_activity = false;
            self.simple_step_done(1, now);
        }
    }

    fn on_scheduled(&mut self, index: usize, cx: &mut Ctx<'_>) {
        let action = self.scheduled[index].clone();
        let from = self.desired;
        if let Some(m) = action.min {
            self.min = m;
        }
        if let Some(m) = action.max {
            self.max = m;
        }
        if self.min > self.max {
            self.max = self.min;
        }
        let desired = action.desired.unwrap_or(self.desired);
        self.desired = desired.clamp(self.min, self.max);
        if self.desired != from {
            self.last_capacity_change = cx.now();
        }
        self.record(
            cx.now(),
            "scheduled",
            from,
            self.desired,
            format!(
                "scheduled action at {}: min {} max {} desired {}",
                action.at, self.min, self.max, self.desired
            ),
        );
        self.reconcile(cx);
        if let Some(next) = self.scheduled.get(index + 1) {
            let delay = next.at.saturating_sub_from(cx.now());
            cx.set_timer(
                delay,
                Timer {
                    kind: TIMER_SCHEDULED,
                    id: (index + 1) as u64,
                },
            );
        }
    }

    fn on_failure(&mut self, index: usize, cx: &mut Ctx<'_>) {
        let count = self.failures[index].count;
        let mut victims: Vec<u32> = (0..self.instances.len() as u32)
            .filter(|&id| {
                let i = &self.instances[id as usize];
                i.state == State::InService && !i.failed
            })
            .collect();
        victims.truncate(count as usize);
        for id in victims {
            self.fail(id, cx);
        }
        if let Some(next) = self.failures.get(index + 1) {
            let delay = next.at.saturating_sub_from(cx.now());
            cx.set_timer(
                delay,
                Timer {
                    kind: TIMER_FAILURE,
                    id: (index + 1) as u64,
                },
            );
        }
    }
}

/// `from` changed by an adjustment, never below zero.
fn adjust(from: u32, kind: AdjustmentType, change: i64) -> u32 {
    let value = match kind {
        AdjustmentType::ChangeInCapacity => from as i64 + change,
        AdjustmentType::ExactCapacity => change,
        AdjustmentType::PercentChangeInCapacity => {
            let delta = (from as f64 * change as f64 / 100.0).trunc() as i64;
            // AWS changes capacity by at least one instance for a non-zero percentage.
            let delta = if delta == 0 && change != 0 {
                change.signum()
            } else {
                delta
            };
            from as i64 + delta
        }
    };
    value.max(0) as u32
}

/// Durations until a point in simulated time.
trait UntilFrom {
    fn saturating_sub_from(self, now: SimTime) -> SimDuration;
}

impl UntilFrom for SimDuration {
    fn saturating_sub_from(self, now: SimTime) -> SimDuration {
        (SimTime::ZERO + self).saturating_since(now)
    }
}

impl Component for Asg {
    fn init(&mut self, cx: &mut Ctx<'_>) {
        // The group starts at its desired capacity, in service and warm.
        for _ in 0..self.desired {
            let id = self.instances.len() as u32;
            let az = self.launch_az();
            self.instances.push(Instance {
                az,
                unreachable: false,
                rebalancing: false,
                lb_unhealthy: false,
                state: State::Pending,
                launched_at: SimTime::ZERO,
                in_service_at: None,
                warm_from: SimTime::MAX,
                pool_index: None,
                failed: false,
                replacing: false,
                simple_activity: false,
                drain_acks: 0,
            });
            self.put_in_service(id, true, cx);
        }
        self.update_counts(cx.now());
        if !self.policies.is_empty() {
            cx.set_timer(
                self.metric_period,
                Timer {
                    kind: TIMER_METRIC_PERIOD,
                    id: 0,
                },
            );
        }
        if let Some(first) = self.scheduled.first() {
            cx.set_timer(
                first.at,
                Timer {
                    kind: TIMER_SCHEDULED,
                    id: 0,
                },
            );
        }
        if let Some(first) = self.failures.first() {
            cx.set_timer(
                first.at,
                Timer {
                    kind: TIMER_FAILURE,
                    id: 0,
                },
            );
        }
    }

    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => self.on_request(request, cx),
            Msg::Control(control) => self.on_control(control, cx),
            Msg::Timer(timer) => match timer.kind {
                TIMER_STEP_DONE => {
                    if let Some(p) = self.pool.on_timer(timer, cx) {
                        self.finish_if_drained_direct(p, cx);
                    }
                }
                TIMER_LAUNCHED => {
                    let id = timer.id as u32;
                    if self.instances[id as usize].state == State::Pending {
                        let from = self.desired;
                        self.put_in_service(id, false, cx);
                        self.instance_settled(id, cx.now());
                        self.record(
                            cx.now(),
                            "in_service",
                            from,
                            from,
                            format!("instance {id} in service"),
                        );
                        self.update_counts(cx.now());
                        if self.instances[id as usize].rebalancing {
                            // The new instance serves: one from the most populated AZ goes.
                            self.instances[id as usize].rebalancing = false;
                            self.rebalanced += 1;
                            self.reconcile(cx);
                            self.rebalance(cx);
                        }
                    }
                }
                TIMER_METRIC_PERIOD => self.on_metric_period(cx),
                TIMER_METRIC_CLOSE => self.on_metric_close(cx),
                TIMER_EVALUATE => self.on_evaluate(cx),
                TIMER_SCHEDULED => self.on_scheduled(timer.id as usize, cx),
                TIMER_FAILURE => self.on_failure(timer.id as usize, cx),
                TIMER_RANDOM_FAILURE => self.fail(timer.id as u32, cx),
                TIMER_GRACE_OVER => {
                    // A failure during the grace period is acted on once it is over.
                    let id = timer.id as u32;
                    let inst = &self.instances[id as usize];
                    if inst.failed
                        || (inst.unreachable && self.health_check_type == HealthCheckType::Ec2)
                    {
                        self.mark_unhealthy(id, "failed its EC2 status check", cx);
                    } else if inst.lb_unhealthy && self.health_check_type == HealthCheckType::Elb {
                        // A verdict given during the grace period counts once it is over.
                        self.mark_unhealthy(id, "failed its load balancer health checks", cx);
                    }
                }
                _ => debug_assert!(false, "unknown asg timer {timer:?}"),
            },
            Msg::Response(response) => {
                if let Some(p) = self.pool.on_response(response, cx) {
                    self.finish_if_drained_direct(p, cx);
                }
            }
            // A call whose callee's instance was lost: the call failed (timed out).
            Msg::Lost(request) => {
                if let Some(p) = self.pool.on_response(Msg::lost_as_timeout(request), cx) {
                    self.finish_if_drained_direct(p, cx);
                }
            }
        }
    }
}

impl Observe for Asg {
    fn kind(&self) -> &'static str {
        Spec::KIND
    }

    fn in_flight(&self) -> u64 {
        self.pool.in_flight()
    }

    fn sample(&mut self, now: SimTime, row: &mut SeriesRow) {
        self.pool.sample(now, row);
        row.capacity = Some(self.counts);
    }

    fn report(&self, end: SimTime) -> ComponentReport {
        let hours = self.in_service_hours.window_mean(end, self.warmup_end)
            * end.saturating_since(self.warmup_end).as_secs_f64()
            / 3600.0;
        let report = self
            .pool
            .report(Spec::KIND, end)
            .figure("min", self.min)
            .figure("max", self.max)
            .figure("desired_end", self.desired)
            .figure("desired_max", self.desired_max)
            .figure("instances_max", self.in_service_max)
            .figure("instances_launched", self.instances.len())
            .figure("instance_hours", hours)
            .figure("replaced", self.replaced)
            .figure("scaling_activities", &self.activities);
        let Some(names) = &self.az_names else {
            return report;
        };
        let mut per_az = serde_json::Map::new();
        for &az in &self.azs {
            let n = self
                .instances
                .iter()
                .filter(|i| i.az == az && i.state == State::InService)
                .count();
            per_az.insert(names[az as usize].clone(), n.into());
        }
        report
            .figure("in_service_per_az_end", per_az)
            .figure("rebalanced", self.rebalanced)
    }
}

impl Asg {
    fn on_fault(&mut self, action: FaultAction, cx: &mut Ctx<'_>) {
        let now = cx.now();
        match action {
            FaultAction::AzDown { az } => {
                if !self.azs.contains(&az) {
                    return;
                }
                self.az_down |= 1 << az;
                let d = self.desired;
                for id in 0..self.instances.len() as u32 {
                    let inst = &mut self.instances[id as usize];
                    if inst.az != az {
                        continue;
                    }
                    match inst.state {
                        State::Pending => {
                            // The launch cannot complete in a failed AZ: it is abandoned.
                            inst.state = State::Terminated;
                            inst.rebalancing = false;
                            self.instance_settled(id, now);
                            self.record(
                                now,
                                "launch_failed",
                                d,
                                d,
                                format!("instance {id}: its availability zone is down"),
                            );
                        }
                        State::InService | State::Draining if !inst.failed => {
                            inst.unreachable = true;
                            let p = inst.pool_index.expect("in service");
                            let in_service = inst.state == State::InService;
                            self.pool.isolate(p, cx);
                            if in_service && self.health_check_type == HealthCheckType::Ec2 {
                                self.mark_unhealthy(id, "failed its EC2 status check", cx);
                            }
                        }
                        _ => {}
                    }
                }
                self.reconcile(cx);
            }
            FaultAction::AzUp { az } => {
                if !self.azs.contains(&az) {
                    return;
                }
                self.az_down &= !(1 << az);
                for inst in &mut self.instances {
                    if inst.az == az && inst.unreachable {
                        inst.unreachable = false;
                        if let (Some(p), false) = (inst.pool_index, inst.failed)
                            && matches!(inst.state, State::InService | State::Draining)
                        {
                            // Back, empty. Not replaced yet, it stayed registered with its
                            // load balancers, whose health checks see it pass again (AWS keeps
                            // the registration through an outage).
                            self.pool.reconnect(p, now);
                        }
                    }
                }
                self.rebalance(cx);
            }
            FaultAction::InstanceFailure => {
                let up: Vec<u32> = (0..self.instances.len() as u32)
                    .filter(|&id| {
                        let i = &self.instances[id as usize];
                        i.state == State::InService && !i.failed && !i.unreachable
                    })
                    .collect();
                if !up.is_empty() {
                    let id = up[self.pool.fault_rng(cx.rng()).random_range(0..up.len())];
                    self.fail(id, cx);
                }
            }
            action @ (FaultAction::Slowdown { .. } | FaultAction::Errors { .. }) => {
                self.pool.inject(action)
            }
        }
        self.update_counts(now);
    }

    /// AZRebalance: when the group's AZs that are up differ by more than one instance, launch
    /// one in the least populated (beyond the desired capacity); when it is in service, the
    /// most populated loses one (see the TIMER_LAUNCHED handling), and this runs again.
    fn rebalance(&mut self, cx: &mut Ctx<'_>) {
        if self.instances.iter().any(|i| i.rebalancing) {
            return;
        }
        let counts = self.per_az();
        let up: Vec<usize> = (0..self.azs.len())
            .filter(|&k| !self.az_is_down(self.azs[k]))
            .collect();
        let (Some(&low), Some(&high)) = (
            up.iter().min_by_key(|&&k| (counts[k], k)),
            up.iter().max_by_key(|&&k| (counts[k], k)),
        ) else {
            return;
        };
        if counts[high] <= counts[low] + 1 {
            return;
        }
        let d = self.desired;
        self.record(
            cx.now(),
            "rebalance",
            d,
            d,
            format!(
                "availability zones out of balance ({} instances in one, {} in another)",
                counts[high], counts[low]
            ),
        );
        self.launch(cx);
        let id = self.instances.len() - 1;
        self.instances[id].rebalancing = true;
        self.update_counts(cx.now());
    }

    /// After a job ends: a draining instance without load balancers terminates once idle.
    fn finish_if_drained_direct(&mut self, pool_index: u32, cx: &mut Ctx<'_>) {
        if self.load_balancers.is_empty() {
            self.finish_if_drained(pool_index, cx);
        }
    }
}
