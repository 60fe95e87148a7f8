//! Simple scaling: an alarm on the metric and one adjustment, as AWS's simple scaling does.
//! While the alarm is in ALARM the policy applies its adjustment to the desired capacity; then
//! no simple policy of the group acts until that activity's last launch or termination has
//! completed and its `cooldown` has passed after that.

use toml::Spanned;

use super::{
    BuiltPolicy, Evaluation, Group, MetricName, PolicyAlarm, PolicySpec, PolicyType, Proposal,
    ScalingPolicy,
};
use crate::components::SpecIssue;
use crate::components::asg::spec::issue;
use crate::engine::time::{SimDuration, SimTime};
use crate::metrics::cloudwatch::Statistic;

/// `type = "simple"`.
pub const TYPE: PolicyType = PolicyType {
    name: "simple",
    check,
    build,
};

/// A simple policy, built.
struct Simple {
    alarm: PolicyAlarm,
    adjustment: i64,
    cooldown: SimDuration,
}

fn check(p: &Spanned<PolicySpec>, metric: MetricName, out: &mut Vec<SpecIssue>) {
    PolicyAlarm::check(p, "simple", metric, out);
    let span = p.span();
    let p = p.get_ref();
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
            "`steps` belong to step policies; a simple policy has one `adjustment`".into(),
            span,
        ));
    }
}

fn build(p: &PolicySpec, group: &Group) -> BuiltPolicy {
    Ok(Box::new(Simple {
        alarm: PolicyAlarm::build(p)?,
        adjustment: p.adjustment.ok_or("adjustment")?,
        cooldown: p.cooldown.unwrap_or(group.default_cooldown),
    }))
}

impl ScalingPolicy for Simple {
    fn statistic(&self) -> Statistic {
        self.alarm.statistic
    }

    fn look_back(&self) -> usize {
        self.alarm.look_back()
    }

    fn evaluate(&mut self, at: &Evaluation<'_>) -> Option<Proposal> {
        if !self.alarm.in_alarm(at.visible) || at.simple_blocked {
            return None;
        }
        Some(Proposal {
            capacity: self.alarm.adjust(at.desired, self.adjustment),
            reason: format!(
                "{}: alarm in ALARM, adjustment {}",
                at.name, self.adjustment
            ),
            cooldown: Some(self.cooldown),
        })
    }
}

/// The group's simple-scaling state. Simple policies act one activity at a time: the
/// launches and terminations an activity starts are counted, and the cooldown starts when the
/// last of them completes.
#[derive(Clone, Debug, Default)]
pub struct SimpleScaling {
    /// The activity in progress, if any.
    activity: Option<SimpleActivity>,
    /// Simple policies may act again from then.
    cooldown_until: SimTime,
    /// Set while an activity being started launches or terminates instances.
    tagging: bool,
}

/// A simple-scaling activity in progress: launches or terminations not yet complete.
#[derive(Copy, Clone, Debug)]
struct SimpleActivity {
    pending: u32,
    cooldown: SimDuration,
}

impl SimpleScaling {
    /// True while simple policies may not act (an activity or its cooldown).
    pub fn blocked(&self, now: SimTime) -> bool {
        self.activity.is_some() || now < self.cooldown_until
    }

    /// True while an activity is being started: the launches and terminations the group
    /// makes now belong to it.
    pub fn tagging(&self) -> bool {
        self.tagging
    }

    /// A launch or termination joins the activity being started.
    pub fn join(&mut self) {
        if let Some(activity) = &mut self.activity {
            activity.pending += 1;
        }
    }

    /// An activity with `cooldown` starts: what the group launches or terminates until
    /// [`SimpleScaling::started`] belongs to it.
    pub fn begin(&mut self, cooldown: SimDuration) {
        self.activity = Some(SimpleActivity {
            pending: 0,
            cooldown,
        });
        self.tagging = true;
    }

    /// The activity has started all it will; if that was nothing, its cooldown starts now.
    pub fn started(&mut self, now: SimTime) {
        self.tagging = false;
        self.step_done(0, now);
    }

    /// `finished` launches or terminations of the running activity completed; when none is
    /// left, its cooldown starts.
    pub fn step_done(&mut self, finished: u32, now: SimTime) {
        if let Some(activity) = &mut self.activity {
            activity.pending -= finished;
            if activity.pending == 0 {
                self.cooldown_until = now + activity.cooldown;
                self.activity = None;
            }
        }
    }
}
