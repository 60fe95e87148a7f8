//! Step scaling: an alarm on the metric; while it is in ALARM, the step whose bounds contain
//! the breach (metric − threshold) sets the adjustment, as AWS's step scaling does.
//!
//! Scale-out adds to the warm capacity (so breaches while new instances warm up do not add
//! them again); scale-in removes from the desired capacity, waits until instances have warmed
//! up, and acts only on a datapoint measured after the last capacity change.

use serde::Deserialize;
use toml::Spanned;

use super::{
    BuiltPolicy, Evaluation, Group, MetricName, PolicyAlarm, PolicySpec, PolicyType, Proposal,
    ScalingPolicy,
};
use crate::components::SpecIssue;
use crate::components::asg::spec::issue;
use crate::metrics::cloudwatch::Statistic;

/// `type = "step"`.
pub const TYPE: PolicyType = PolicyType {
    name: "step",
    check,
    build,
};

/// One step of a step policy: breach sizes (metric − threshold) from `lower` (inclusive) to
/// `upper` (exclusive) apply `change`. A missing bound is unbounded.
#[derive(Copy, Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepAdjustment {
    /// Lower bound of the breach (default −∞).
    pub lower: Option<f64>,
    /// Upper bound of the breach (default +∞).
    pub upper: Option<f64>,
    /// Adjustment.
    pub change: i64,
}

/// A step policy, built.
struct Step {
    alarm: PolicyAlarm,
    steps: Vec<StepAdjustment>,
}

fn check(p: &Spanned<PolicySpec>, metric: MetricName, out: &mut Vec<SpecIssue>) {
    PolicyAlarm::check(p, "step", metric, out);
    let span = p.span();
    let p = p.get_ref();
    match &p.steps {
        Some(steps) if !steps.is_empty() => {
            for s in steps {
                if let (Some(l), Some(u)) = (s.lower, s.upper)
                    && l >= u
                {
                    out.push(issue(
                        "policy.steps",
                        format!("a step's lower bound ({l}) must be below its upper bound ({u})"),
                        span.clone(),
                    ));
                }
            }
        }
        _ => out.push(issue(
            "policy.steps",
            "a step policy needs `steps`, e.g. [ { lower = 0, upper = 20, change = 1 }, \
             { lower = 20, change = 3 } ]"
                .into(),
            span.clone(),
        )),
    }
    if p.adjustment.is_some() {
        out.push(issue(
            "policy.adjustment",
            "`adjustment` belongs to simple policies; a step policy has `steps`".into(),
            span,
        ));
    }
}

fn build(p: &PolicySpec, _group: &Group) -> BuiltPolicy {
    Ok(Box::new(Step {
        alarm: PolicyAlarm::build(p)?,
        steps: p.steps.clone().unwrap_or_default(),
    }))
}

impl ScalingPolicy for Step {
    fn statistic(&self) -> Statistic {
        self.alarm.statistic
    }

    fn look_back(&self) -> usize {
        self.alarm.look_back()
    }

    fn evaluate(&mut self, at: &Evaluation<'_>) -> Option<Proposal> {
        if !self.alarm.in_alarm(at.visible) {
            return None;
        }
        let breach = self.alarm.breach(at.visible)?;
        let step = self
            .steps
            .iter()
            .find(|s| s.lower.is_none_or(|l| breach >= l) && s.upper.is_none_or(|u| breach < u))?;
        // Scale-in waits until new instances have warmed up, and for a datapoint measured
        // after the last capacity change.
        if step.change < 0 && (at.warming || !at.fresh()) {
            return None;
        }
        // Scale-out adds to the warm capacity, so breaches while instances warm up do not add
        // them again; scale-in removes from the desired capacity.
        let from = if step.change >= 0 {
            at.warm_capacity
        } else {
            at.desired
        };
        Some(Proposal {
            capacity: self.alarm.adjust(from, step.change),
            reason: format!(
                "{}: alarm breached by {breach:.2}, step change {}",
                at.name, step.change
            ),
            cooldown: None,
        })
    }
}
