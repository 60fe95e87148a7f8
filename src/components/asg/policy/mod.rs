//! Scaling policies: each type is a [`ScalingPolicy`] in a file of its own, listed once in
//! `POLICY_TYPES`; the group evaluates them all when a datapoint becomes visible and applies
//! the largest capacity asked for.
//!
//! A policy type declares three things: how its fields are checked, how it is built from the
//! scenario's `[[component.policy]]` table, and what capacity it asks for when evaluated. What
//! every type shares stays here: the metric it reads (the group feeds the policy's
//! [`PeriodAggregator`] one datapoint per metric period), the alarm that step and simple
//! policies write out, capacity adjustments, and the choice among the proposals. Adding a
//! type (say, predictive scaling) is a new file implementing [`ScalingPolicy`], its `mod`
//! line, and its line in `POLICY_TYPES`; fields of its own go into [`PolicySpec`].

mod simple;
mod step;
mod target_tracking;

pub use simple::SimpleScaling;
pub use step::StepAdjustment;

use std::collections::VecDeque;

use serde::Deserialize;
use toml::Spanned;

use super::Asg;
use super::metrics::{PeriodBase, base_of, fresh_after};
use super::spec::issue;
use crate::components::SpecIssue;
use crate::engine::time::{SimDuration, SimTime};
use crate::message::Ctx;
use crate::metrics::cloudwatch::{
    Alarm, AlarmState, Comparison, Datapoint, PeriodAggregator, Statistic, TreatMissingData,
};
use crate::units::{PositiveDuration, limits};

/// Every policy type, in the order error messages list them.
const POLICY_TYPES: &[PolicyType] = &[target_tracking::TYPE, step::TYPE, simple::TYPE];

/// A policy type as the group knows it: its name in scenarios, how its fields are checked, and
/// how it is built.
pub struct PolicyType {
    /// `type = "..."` in a `[[component.policy]]` table.
    pub name: &'static str,
    /// Checks the fields this type reads, once the type and the metric are known to be valid.
    pub check: fn(&Spanned<PolicySpec>, MetricName, &mut Vec<SpecIssue>),
    /// Builds a checked spec.
    pub build: fn(&PolicySpec, &Group) -> BuiltPolicy,
}

/// What a policy's build may read of its group besides its own spec.
pub struct Group {
    /// The metric the policy acts on.
    pub metric: MetricName,
    /// The group's `default_cooldown`: the cooldown of simple policies that set none.
    pub default_cooldown: SimDuration,
}

/// A policy built from its spec, or why it could not be.
pub type BuiltPolicy = Result<Box<dyn ScalingPolicy>, String>;

/// A scaling policy, built: what capacity it asks for each time the group evaluates it.
pub trait ScalingPolicy: Send {
    /// The statistic its metric's datapoints are aggregated with.
    fn statistic(&self) -> Statistic;

    /// How many of the latest datapoints it reads (its alarms' look-back).
    fn look_back(&self) -> usize;

    /// The capacity it asks for now, if any. Called at every evaluation, whether or not it
    /// asks for anything (its alarms keep their state across calls).
    fn evaluate(&mut self, at: &Evaluation<'_>) -> Option<Proposal>;
}

/// What a policy sees when the group evaluates it.
pub struct Evaluation<'a> {
    /// The policy's name (for the activity's reason).
    pub name: &'a str,
    /// The metric it reads.
    pub metric: MetricName,
    /// Its metric's datapoints visible now, oldest first.
    pub visible: &'a [Datapoint],
    /// The period of those datapoints.
    pub period: SimDuration,
    /// The group's desired capacity now.
    pub desired: u32,
    /// In-service instances past their warm-up.
    pub warm_capacity: u32,
    /// True while an instance is pending or warming up.
    pub warming: bool,
    /// When a policy or scheduled action last changed the desired capacity.
    pub last_capacity_change: SimTime,
    /// True while simple policies may not act: a simple activity is in progress or its
    /// cooldown has not passed.
    pub simple_blocked: bool,
    /// Instance counts behind recent datapoints.
    bases: &'a VecDeque<PeriodBase>,
}

impl Evaluation<'_> {
    /// The latest visible value, if the latest datapoint has one.
    pub fn latest(&self) -> Option<f64> {
        self.visible.last().and_then(|d| d.value)
    }

    /// The instance count the newest datapoint was measured on (the warm capacity when there
    /// is none): a policy scales from that, not from the capacity at evaluation time.
    pub fn newest_base(&self) -> u32 {
        self.visible.last().map_or(self.warm_capacity, |d| {
            base_of(self.bases, d.period_end, self.metric)
        })
    }

    /// True when the newest datapoint was measured after the last capacity change: one
    /// measured before describes a capacity that no longer exists.
    pub fn fresh(&self) -> bool {
        fresh_after(self.visible, self.period, self.last_capacity_change)
    }
}

/// A capacity a policy asks for.
#[derive(Clone, Debug)]
pub struct Proposal {
    /// The desired capacity it wants (before `min` and `max` apply).
    pub capacity: u32,
    /// Why, for the scaling activity.
    pub reason: String,
    /// For a simple policy: its cooldown. No simple policy acts again until the activity's
    /// launches and terminations have completed and this has passed.
    pub cooldown: Option<SimDuration>,
}

/// The metrics a group publishes.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, Deserialize, schemars::JsonSchema, serde::Serialize,
)]
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
    /// Every metric, in the order error messages list them.
    const ALL: [MetricName; 3] = [
        MetricName::CpuUtilization,
        MetricName::RequestCountPerTarget,
        MetricName::BacklogPerInstance,
    ];

    /// The name scenarios use.
    pub fn name(self) -> &'static str {
        match self {
            MetricName::CpuUtilization => "cpu_utilization",
            MetricName::RequestCountPerTarget => "request_count_per_target",
            MetricName::BacklogPerInstance => "backlog_per_instance",
        }
    }

    /// The metric scenarios call `name`.
    fn parse(name: &str) -> Option<MetricName> {
        MetricName::ALL.into_iter().find(|m| m.name() == name)
    }

    /// True for a percentage (0 to 100).
    pub fn is_percent(self) -> bool {
        matches!(self, MetricName::CpuUtilization)
    }

    /// The statistic AWS uses for this metric in target tracking.
    pub fn tracking_statistic(self) -> Statistic {
        match self {
            MetricName::CpuUtilization => Statistic::Average,
            MetricName::RequestCountPerTarget => Statistic::Sum,
            MetricName::BacklogPerInstance => Statistic::Average,
        }
    }
}

/// How a step or simple policy changes capacity.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
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
    value.clamp(0, i64::from(u32::MAX)) as u32
}

/// A scaling policy as the scenario writes it.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// A name for activity reasons (default `policy N`).
    pub name: Option<String>,
    /// `"target_tracking"`, `"step"` or `"simple"`.
    #[serde(rename = "type")]
    #[schemars(with = "String")]
    pub policy_type: Spanned<String>,
    /// The metric.
    #[schemars(with = "String")]
    pub metric: Spanned<String>,
    /// Target value (target tracking).
    #[schemars(with = "Option<f64>")]
    pub target: Option<Spanned<f64>>,
    /// Never scale in (target tracking).
    #[serde(default)]
    pub disable_scale_in: bool,
    /// Alarm statistic (step, simple; default average).
    pub statistic: Option<Statistic>,
    /// Alarm period (default the metric period).
    #[schemars(with = "Option<PositiveDuration>")]
    pub period: Option<Spanned<PositiveDuration>>,
    /// Alarm evaluation periods N (default 1).
    pub evaluation_periods: Option<u32>,
    /// Alarm datapoints to alarm M (default N).
    pub datapoints_to_alarm: Option<u32>,
    /// Alarm comparison.
    pub comparison: Option<Comparison>,
    /// Alarm threshold.
    #[schemars(with = "Option<f64>")]
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

/// The issue of a `name` that is none of the `known` names: "unknown {what} `name`;
/// {expected} {known...}", with a "did you mean".
fn unknown(
    field: &str,
    what: &str,
    name: &Spanned<String>,
    expected: &str,
    known: &[&str],
) -> SpecIssue {
    let value = name.get_ref().as_str();
    issue(
        field,
        format!(
            "unknown {what} `{value}`; {expected} {}{}",
            known.join(", "),
            crate::units::did_you_mean(value, known)
        ),
        name.span(),
    )
}

/// Checks one policy: its type, its metric, the fields its type reads, and that its alarm
/// period is a whole number of the group's metric periods (`metric_period`).
pub(super) fn check(p: &Spanned<PolicySpec>, metric_period: SimDuration, out: &mut Vec<SpecIssue>) {
    check_type_and_fields(p, out);
    check_bounds(p, out);
    if let Some(period) = &p.get_ref().period
        && !period
            .get_ref()
            .0
            .as_nanos()
            .is_multiple_of(metric_period.as_nanos())
    {
        out.push(issue(
            "policy.period",
            format!(
                "the alarm period must be a whole number of metric periods ({metric_period}), \
                 found {}",
                period.get_ref().0
            ),
            period.span(),
        ));
    }
}

/// Bounds on a policy's numbers: its alarm's look-back (a window of that many datapoints is
/// kept) and its adjustments (capacities stay within what a group may have).
fn check_bounds(p: &Spanned<PolicySpec>, out: &mut Vec<SpecIssue>) {
    let spec = p.get_ref();
    if let Some(Err(why)) = spec
        .evaluation_periods
        .map(|n| limits::EVALUATION_PERIODS.check(n))
    {
        out.push(issue(
            "policy.evaluation_periods",
            format!("`evaluation_periods` {why}"),
            p.span(),
        ));
    }
    let steps = spec
        .steps
        .iter()
        .flatten()
        .map(|s| ("steps.change", s.change));
    for (field, change) in [("adjustment", spec.adjustment)]
        .into_iter()
        .filter_map(|(f, a)| a.map(|a| (f, a)))
        .chain(steps)
    {
        let limit = limits::ADJUSTMENT;
        if change.saturating_abs() > limit.max {
            out.push(issue(
                &format!("policy.{field}"),
                format!(
                    "`{field}` must be between -{0} and {0} ({1}), found {change}",
                    limit.max, limit.why
                ),
                p.span(),
            ));
        }
    }
}

fn check_type_and_fields(p: &Spanned<PolicySpec>, out: &mut Vec<SpecIssue>) {
    let spec = p.get_ref();
    let Some(policy_type) = POLICY_TYPES
        .iter()
        .find(|t| t.name == spec.policy_type.get_ref())
    else {
        let types: Vec<&str> = POLICY_TYPES.iter().map(|t| t.name).collect();
        out.push(unknown(
            "policy.type",
            "policy type",
            &spec.policy_type,
            "expected one of",
            &types,
        ));
        return;
    };
    let Some(metric) = MetricName::parse(spec.metric.get_ref()) else {
        let metrics: Vec<&str> = MetricName::ALL.iter().map(|m| m.name()).collect();
        out.push(unknown(
            "policy.metric",
            "metric",
            &spec.metric,
            "an asg publishes",
            &metrics,
        ));
        return;
    };
    (policy_type.check)(p, metric, out);
}

/// What step and simple policies share: the alarm they write out on their metric
/// (`comparison`, `threshold`, `evaluation_periods`...), the statistic it reads, and how their
/// adjustments apply.
struct PolicyAlarm {
    alarm: Alarm,
    statistic: Statistic,
    adjustment_type: AdjustmentType,
}

impl PolicyAlarm {
    /// Checks the alarm fields of a step or simple policy (`kind`).
    fn check(p: &Spanned<PolicySpec>, kind: &str, metric: MetricName, out: &mut Vec<SpecIssue>) {
        let span = p.span();
        let p = p.get_ref();
        if p.target.is_some() {
            out.push(issue(
                "policy.target",
                format!(
                    "`target` belongs to target tracking, not a {kind} policy; give \
                     `comparison` and `threshold`"
                ),
                span.clone(),
            ));
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
            && metric.is_percent()
            && !(0.0..=100.0).contains(t.get_ref())
        {
            out.push(issue(
                "policy.threshold",
                format!(
                    "{} is a percentage: the threshold must be between 0 and 100, found {}",
                    metric.name(),
                    t.get_ref()
                ),
                t.span(),
            ));
        }
        let n = p.evaluation_periods.unwrap_or(1);
        let m = p.datapoints_to_alarm.unwrap_or(n);
        if n == 0 || m == 0 || m > n {
            out.push(issue(
                "policy.datapoints_to_alarm",
                format!("needs 1 <= datapoints_to_alarm ({m}) <= evaluation_periods ({n})"),
                span,
            ));
        }
    }

    /// The alarm of a checked step or simple policy.
    fn build(p: &PolicySpec) -> Result<PolicyAlarm, String> {
        let n = p.evaluation_periods.unwrap_or(1);
        let m = p.datapoints_to_alarm.unwrap_or(n);
        let alarm = Alarm::new(
            p.comparison.ok_or("comparison")?,
            *p.threshold.as_ref().ok_or("threshold")?.get_ref(),
            n,
            m,
            p.treat_missing_data.unwrap_or(TreatMissingData::Missing),
        )?;
        Ok(PolicyAlarm {
            alarm,
            statistic: p.statistic.unwrap_or(Statistic::Average),
            adjustment_type: p.adjustment_type.unwrap_or_default(),
        })
    }

    /// How many of the latest datapoints the alarm reads.
    fn look_back(&self) -> usize {
        self.alarm.evaluation_range()
    }

    /// Evaluates the alarm on the `visible` datapoints (once per evaluation: the alarm keeps
    /// its state); true when it is in ALARM.
    fn in_alarm(&mut self, visible: &[Datapoint]) -> bool {
        self.alarm.evaluate(visible) == AlarmState::Alarm
    }

    /// How far the latest datapoint breaches the threshold.
    fn breach(&self, visible: &[Datapoint]) -> Option<f64> {
        self.alarm.breach(visible)
    }

    /// `from` changed by `change`, as the policy's adjustment type says.
    fn adjust(&self, from: u32, change: i64) -> u32 {
        adjust(from, self.adjustment_type, change)
    }
}

/// A policy, built: its name and metric, the datapoints it reads, and its rule.
pub(super) struct Policy {
    name: String,
    metric: MetricName,
    aggregator: PeriodAggregator,
    rule: Box<dyn ScalingPolicy>,
}

impl Policy {
    /// Builds the checked policy `p`, the group's `index`-th, whose metric has a datapoint every
    /// `metric_period`, visible `delay` after its period ends.
    pub(super) fn build(
        p: &PolicySpec,
        index: usize,
        metric_period: SimDuration,
        delay: SimDuration,
        default_cooldown: SimDuration,
    ) -> Result<Policy, String> {
        let metric = MetricName::parse(p.metric.get_ref()).ok_or("unknown metric")?;
        let name = p
            .name
            .clone()
            .unwrap_or_else(|| format!("policy {}", index + 1));
        let period = p.period.as_ref().map_or(metric_period, |d| d.get_ref().0);
        let policy_type = POLICY_TYPES
            .iter()
            .find(|t| t.name == p.policy_type.get_ref())
            .ok_or("unknown policy type")?;
        let group = Group {
            metric,
            default_cooldown,
        };
        let rule = (policy_type.build)(p, &group)?;
        Ok(Policy {
            name,
            metric,
            aggregator: PeriodAggregator::new(period, rule.statistic(), delay, rule.look_back()),
            rule,
        })
    }

    /// The metric it reads.
    pub(super) fn metric(&self) -> MetricName {
        self.metric
    }

    /// Where the group records its metric's observations.
    pub(super) fn aggregator(&mut self) -> &mut PeriodAggregator {
        &mut self.aggregator
    }
}

impl Asg {
    /// Evaluates every policy; applies the largest capacity asked for.
    pub(super) fn on_evaluate(&mut self, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let warm_capacity = self.warm(now).len() as u32;
        let warming = self.warming(now);
        let current = self.desired;
        // Simple policies wait while a simple activity is in progress and then for its
        // cooldown, which starts when its last launch or termination completes.
        let simple_blocked = self.simple.blocked(now);
        let mut proposals: Vec<Proposal> = Vec::new();
        for policy in &mut self.policies {
            let visible = policy.aggregator.visible(now);
            let at = Evaluation {
                name: &policy.name,
                metric: policy.metric,
                visible: &visible,
                period: policy.aggregator.period(),
                desired: current,
                warm_capacity,
                warming,
                last_capacity_change: self.last_capacity_change,
                simple_blocked,
                bases: &self.period_bases,
            };
            proposals.extend(policy.rule.evaluate(&at));
        }
        // The largest resulting capacity wins (scale-out over scale-in; the least scale-in);
        // among equals, the last policy listed.
        let Some(chosen) = proposals.into_iter().max_by_key(|p| p.capacity) else {
            return;
        };
        let target = chosen.capacity.clamp(self.min, self.max);
        if target == current {
            return;
        }
        let activity = if target > current {
            "scale_out"
        } else {
            "scale_in"
        };
        self.record(now, activity, current, target, chosen.reason);
        self.desired = target;
        self.last_capacity_change = now;
        match chosen.cooldown {
            Some(cooldown) => {
                // The launches and terminations this starts make up the simple activity.
                self.simple.begin(cooldown);
                self.reconcile(cx);
                self.simple.started(cx.now());
            }
            None => self.reconcile(cx),
        }
    }
}
