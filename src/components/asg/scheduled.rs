//! Scheduled actions: `[[component.scheduled]]` sets the group's `min`, `max` and `desired` at
//! a given time, as AWS's scheduled scaling does. Not a scaling policy: nothing is measured or
//! evaluated, the time alone decides.

use serde::Deserialize;
use toml::Spanned;

use super::spec::issue;
use super::{Asg, AsgTimer, until};
use crate::components::SpecIssue;
use crate::engine::time::SimDuration;
use crate::message::Ctx;
use crate::units::limits;

/// `[[component.scheduled]]`: set capacity limits at a time.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
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

/// Checks one scheduled action.
pub(super) fn check(s: &Spanned<ScheduledSpec>, out: &mut Vec<SpecIssue>) {
    let a = s.get_ref();
    if a.min.is_none() && a.max.is_none() && a.desired.is_none() {
        out.push(issue(
            "scheduled",
            "a scheduled action sets at least one of `min`, `max`, `desired`".into(),
            s.span(),
        ));
    }
    for (field, value) in [("min", a.min), ("max", a.max), ("desired", a.desired)] {
        if let Some(Err(why)) = value.map(|v| limits::INSTANCES.check(v)) {
            out.push(issue(
                &format!("scheduled.{field}"),
                format!("`{field}` {why}"),
                s.span(),
            ));
        }
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

impl Asg {
    /// Scheduled action `index` (of the actions sorted by time) is due: it applies, and the
    /// next one is armed.
    pub(super) fn on_scheduled(&mut self, index: usize, cx: &mut Ctx<'_>) {
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
            cx.set_timer(
                until(next.at, cx.now()),
                AsgTimer::Scheduled((index + 1) as u64),
            );
        }
    }
}
