//! Target tracking: keep a metric at a target value, as AWS's target tracking scaling does.
//!
//! Two alarms the policy makes itself: scale out when `target_tracking_scale_out_datapoints` of
//! as many datapoints are above the target, to ceil(capacity × metric / target), the capacity
//! being the instances the latest datapoint was measured on; scale in when
//! `target_tracking_scale_in_datapoints` of as many are below `target_tracking_scale_in_ratio`
//! of the target (defaults in `models/asg.toml`), by the same proportion, never while instances
//! warm up and only on a datapoint measured after the last capacity change.

use toml::Spanned;

use super::{
    BuiltPolicy, Evaluation, Group, MetricName, PolicySpec, PolicyType, Proposal, ScalingPolicy,
};
use crate::components::SpecIssue;
use crate::components::asg::spec::issue;
use crate::metrics::cloudwatch::{Alarm, AlarmState, Comparison, Statistic, TreatMissingData};

/// `type = "target_tracking"`.
pub const TYPE: PolicyType = PolicyType {
    name: "target_tracking",
    check,
    build,
};

/// A target tracking policy, built.
struct TargetTracking {
    target: f64,
    disable_scale_in: bool,
    statistic: Statistic,
    /// Above the target.
    high: Alarm,
    /// Below the scale-in share of the target.
    low: Alarm,
}

fn check(p: &Spanned<PolicySpec>, metric: MetricName, out: &mut Vec<SpecIssue>) {
    let span = p.span();
    let p = p.get_ref();
    match &p.target {
        Some(t) => {
            let v = *t.get_ref();
            if metric.is_percent() && !(v > 0.0 && v <= 100.0) {
                out.push(issue(
                    "target",
                    format!(
                        "{} is a percentage: the target must be above 0 and at most 100, found {v}",
                        metric.name()
                    ),
                    t.span(),
                ));
            } else if !(v > 0.0 && v.is_finite()) {
                out.push(issue(
                    "target",
                    format!("must be a positive number, found {v}"),
                    t.span(),
                ));
            }
        }
        None => out.push(issue(
            "policy.target",
            "a target tracking policy needs a `target` value".into(),
            span.clone(),
        )),
    }
    let alarm_fields =
        p.comparison.is_some() || p.threshold.is_some() || p.evaluation_periods.is_some();
    if alarm_fields || p.steps.is_some() || p.adjustment.is_some() {
        out.push(issue(
            "policy",
            "target tracking makes its own alarms: remove `comparison`, `threshold`, \
             `evaluation_periods`, `steps` and `adjustment`"
                .into(),
            span,
        ));
    }
}

fn build(p: &PolicySpec, group: &Group) -> BuiltPolicy {
    let metric = group.metric;
    let defaults = crate::defaults::asg();
    let target = *p.target.as_ref().ok_or("target")?.get_ref();
    let out_n = defaults.target_tracking_scale_out_datapoints;
    let in_n = defaults.target_tracking_scale_in_datapoints;
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
    Ok(Box::new(TargetTracking {
        target,
        disable_scale_in: p.disable_scale_in,
        statistic: metric.tracking_statistic(),
        high,
        low,
    }))
}

impl ScalingPolicy for TargetTracking {
    fn statistic(&self) -> Statistic {
        self.statistic
    }

    fn look_back(&self) -> usize {
        // One aggregator keeps enough datapoints for both alarms' look-back.
        self.high
            .evaluation_range()
            .max(self.low.evaluation_range())
    }

    fn evaluate(&mut self, at: &Evaluation<'_>) -> Option<Proposal> {
        let high = self.high.evaluate(at.visible);
        let low = self.low.evaluate(at.visible);
        let value = at.latest()?;
        let target = self.target;
        let base = at.newest_base().max(1) as f64;
        let wanted = (base * value / target).ceil().max(0.0) as u32;
        let metric = at.metric.name();
        if high == AlarmState::Alarm && wanted > at.desired {
            return Some(Proposal {
                capacity: wanted,
                reason: format!("{}: {metric} {value:.1} above target {target}", at.name),
                cooldown: None,
            });
        }
        // A datapoint measured before the last scaling activity describes a capacity that no
        // longer exists: it may not justify removing more.
        let scale_in = low == AlarmState::Alarm
            && !self.disable_scale_in
            && !at.warming
            && at.fresh()
            && wanted < at.desired;
        scale_in.then(|| Proposal {
            capacity: wanted,
            reason: format!("{}: {metric} {value:.1} below target {target}", at.name),
            cooldown: None,
        })
    }
}
