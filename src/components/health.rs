//! Targets of a load balancer, as the load balancers (`alb`, `nlb`) share them: the `targets`
//! reference, registration, health checks and draining.
//!
//! A target registered while the run is going must pass `healthy_threshold` consecutive checks,
//! one every `interval` (the first at registration), before it takes traffic; a healthy target
//! that fails `unhealthy_threshold` checks in a row loses it. Targets in service when the run
//! starts are healthy from the start. AWS accepts thresholds from 2 to 10.

use serde::Deserialize;
use toml::Spanned;

use super::{BuildContext, Expects, Reference, SpecIssue, TargetGroup};
use crate::engine::ComponentId;
use crate::engine::time::SimDuration;
use crate::engine::timer::{TimerSlot, timer_index};
use crate::message::Ctx;
use crate::message::{Control, Msg, Timer};
use crate::units::PositiveDuration;

/// The `targets` field of a load balancer, for the loader to resolve.
pub fn targets_reference(targets: &Spanned<String>) -> Vec<Reference<'_>> {
    vec![Reference {
        field: "targets".into(),
        name: targets,
        expects: Expects::Role(super::Role::LoadBalancerTarget),
        synchronous: true,
    }]
}

/// What a load balancer knows of the group named `targets` before its instances register, or
/// why it cannot route to it.
pub fn target_group(cx: &BuildContext<'_>, targets: &str) -> Result<TargetGroup, String> {
    cx.specs
        .get(targets)
        .and_then(|s| s.target_group())
        .ok_or_else(|| format!("`{targets}` has no instances to route to"))
}

/// `health_check = { interval = "30s", healthy_threshold = 5, unhealthy_threshold = 2 }`.
#[derive(Clone, Debug, Default, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "TargetHealthCheck")]
#[serde(deny_unknown_fields)]
pub struct HealthCheckSpec {
    /// Time between checks of one target.
    pub interval: Option<PositiveDuration>,
    /// Consecutive passes before a target is healthy.
    #[schemars(with = "Option<u32>")]
    pub healthy_threshold: Option<Spanned<u32>>,
    /// Consecutive failures before a healthy target is unhealthy.
    #[schemars(with = "Option<u32>")]
    pub unhealthy_threshold: Option<Spanned<u32>>,
}

impl HealthCheckSpec {
    /// Thresholds outside AWS's 2..=10.
    pub fn issues(spec: Option<&HealthCheckSpec>) -> Vec<SpecIssue> {
        let Some(hc) = spec else {
            return Vec::new();
        };
        [
            ("health_check.healthy_threshold", &hc.healthy_threshold),
            ("health_check.unhealthy_threshold", &hc.unhealthy_threshold),
        ]
        .into_iter()
        .filter_map(|(field, value)| {
            let v = value.as_ref()?;
            (!(2..=10).contains(v.get_ref())).then(|| SpecIssue {
                field: field.into(),
                message: format!("must be between 2 and 10, found {}", v.get_ref()),
                span: v.span(),
            })
        })
        .collect()
    }

    /// The settings, with `defaults` (interval, healthy, unhealthy) for what is not given.
    pub fn settings(spec: Option<&HealthCheckSpec>, defaults: HealthCheck) -> HealthCheck {
        let hc = spec.cloned().unwrap_or_default();
        HealthCheck {
            interval: hc.interval.map_or(defaults.interval, |d| d.0),
            healthy_threshold: hc
                .healthy_threshold
                .map_or(defaults.healthy_threshold, |v| *v.get_ref()),
            unhealthy_threshold: hc
                .unhealthy_threshold
                .map_or(defaults.unhealthy_threshold, |v| *v.get_ref()),
        }
    }
}

/// Health-check settings of a load balancer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct HealthCheck {
    /// Time between checks of one target.
    pub interval: SimDuration,
    /// Consecutive passes before a target is healthy.
    pub healthy_threshold: u32,
    /// Consecutive failures before a healthy target is unhealthy.
    pub unhealthy_threshold: u32,
}

/// Where a target is in its life behind a load balancer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TargetState {
    /// Registered, not yet through its first health checks.
    Initial,
    /// Takes traffic.
    Healthy,
    /// Failed its checks; checked again, no traffic (unless every target is unhealthy).
    Unhealthy,
    /// Deregistered and finishing what it holds.
    Draining,
    /// Not registered (never, or no longer).
    Unused,
}

/// The consecutive results of one target's checks.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
struct Streak {
    passes: u32,
    failures: u32,
}

/// One target: an instance of the group, as every load balancer keeps it.
#[derive(Clone, Debug)]
pub struct Target<E> {
    /// Where the target is in its life.
    pub state: TargetState,
    /// Availability zone.
    pub az: u8,
    /// Requests forwarded and not yet answered.
    pub outstanding: u32,
    /// Requests sent here in the measured window.
    pub requests: u64,
    /// What the load balancer keeps besides (the NLB: the target's flows).
    pub extra: E,
    streak: Streak,
    health_timer: TimerSlot,
    drain_timer: TimerSlot,
}

impl<E: Default> Default for Target<E> {
    fn default() -> Self {
        Target {
            state: TargetState::Unused,
            az: 0,
            outstanding: 0,
            requests: 0,
            extra: E::default(),
            streak: Streak::default(),
            health_timer: TimerSlot::default(),
            drain_timer: TimerSlot::default(),
        }
    }
}

/// A load balancer's targets, by instance index: registration, health checks through the
/// group, and draining. The timers are the load balancer's own, made by the constructors it
/// passes.
#[derive(Clone, Debug)]
pub struct Targets<E> {
    /// The target group: where probes and health and drain news go.
    group: ComponentId,
    settings: HealthCheck,
    deregistration_delay: SimDuration,
    list: Vec<Target<E>>,
}

impl<E: Default + Clone> Targets<E> {
    /// No target yet, in front of `group`.
    pub fn new(
        group: ComponentId,
        settings: HealthCheck,
        deregistration_delay: SimDuration,
    ) -> Self {
        Targets {
            group,
            settings,
            deregistration_delay,
            list: Vec::new(),
        }
    }

    /// The target group.
    pub fn group(&self) -> ComponentId {
        self.group
    }

    /// Targets known (every instance index up to the highest one heard of).
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True before any target is known.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The targets, by instance index.
    pub fn iter(&self) -> impl Iterator<Item = &Target<E>> {
        self.list.iter()
    }

    /// Target `instance`, if known.
    pub fn get_mut(&mut self, instance: u32) -> Option<&mut Target<E>> {
        self.list.get_mut(instance as usize)
    }

    /// Target `instance`, added (unused) if not yet known.
    pub fn ensure(&mut self, instance: u32) -> &mut Target<E> {
        let i = instance as usize;
        if self.list.len() <= i {
            self.list.resize(i + 1, Target::default());
        }
        &mut self.list[i]
    }

    /// Targets with `state`, in instance order.
    pub fn in_state(&self, state: TargetState) -> impl Iterator<Item = u32> + '_ {
        (0..self.list.len() as u32).filter(move |&t| self.list[t as usize].state == state)
    }

    /// The targets to route to when none is healthy: every registered one that is not
    /// draining (AWS's "fail open"), in instance order.
    pub fn fail_open(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.list.len() as u32).filter(|&t| {
            matches!(
                self.list[t as usize].state,
                TargetState::Initial | TargetState::Unhealthy
            )
        })
    }

    /// `Control::Register`: a target that starts healthy takes traffic now and is next checked
    /// one interval on; a new one is checked at once (the health-check timer `timer` makes).
    pub fn register<T: Into<Timer> + Into<Msg>>(
        &mut self,
        instance: u32,
        healthy: bool,
        az: u8,
        timer: impl FnOnce(u64) -> T,
        cx: &mut Ctx<'_>,
    ) {
        let interval = self.settings.interval;
        let t = self.ensure(instance);
        t.az = az;
        t.state = if healthy {
            TargetState::Healthy
        } else {
            TargetState::Initial
        };
        t.streak = Streak::default();
        let first = if healthy { interval } else { SimDuration::ZERO };
        t.health_timer.arm(cx, first, timer, instance);
    }

    /// `Control::Deregister`: the target drains and is no longer checked.
    pub fn deregister(&mut self, instance: u32, cx: &mut Ctx<'_>) {
        let t = self.ensure(instance);
        t.state = TargetState::Draining;
        t.health_timer.cancel(cx);
    }

    /// Arms the end of the deregistration delay of `instance` (the timer `timer` makes).
    pub fn arm_drain_deadline<T: Into<Timer> + Into<Msg>>(
        &mut self,
        instance: u32,
        timer: impl FnOnce(u64) -> T,
        cx: &mut Ctx<'_>,
    ) {
        let delay = self.deregistration_delay;
        self.ensure(instance)
            .drain_timer
            .arm(cx, delay, timer, instance);
    }

    /// The drain-deadline timer with payload `id` fired: its target, if it is the current
    /// deadline of that target.
    pub fn drain_deadline_fired(&mut self, id: u64) -> Option<u32> {
        let instance = timer_index(id);
        self.ensure(instance)
            .drain_timer
            .fire(id)
            .then_some(instance)
    }

    /// Draining is over: the target is unused and the group may terminate it.
    pub fn finish_draining(&mut self, instance: u32, cx: &mut Ctx<'_>) {
        let group = self.group;
        let t = self.ensure(instance);
        t.state = TargetState::Unused;
        t.drain_timer.cancel(cx);
        cx.send(group, Msg::Control(Control::Drained { instance }));
    }

    /// The health-check timer with payload `id` fired: if it is current, probe the target
    /// through the group and check again one interval on (the timer `timer` makes).
    pub fn on_check_timer<T: Into<Timer> + Into<Msg>>(
        &mut self,
        id: u64,
        timer: impl FnOnce(u64) -> T,
        cx: &mut Ctx<'_>,
    ) {
        let (interval, group) = (self.settings.interval, self.group);
        let instance = timer_index(id);
        let t = self.ensure(instance);
        if !t.health_timer.fire(id) {
            return;
        }
        t.health_timer.arm(cx, interval, timer, instance);
        let from = cx.me();
        cx.send(group, Msg::Control(Control::HealthCheck { instance, from }));
    }

    /// A probe's answer. When the target's health changes (`healthy_threshold` passes or
    /// `unhealthy_threshold` failures in a row) its state follows, the group is told, and the
    /// new health is returned (`Some(true)`: now healthy).
    pub fn on_check_result(
        &mut self,
        instance: u32,
        healthy: bool,
        cx: &mut Ctx<'_>,
    ) -> Option<bool> {
        let (settings, group) = (self.settings, self.group);
        let t = self.ensure(instance);
        let s = &mut t.streak;
        if healthy {
            s.passes += 1;
            s.failures = 0;
        } else {
            s.failures += 1;
            s.passes = 0;
        }
        let change = match t.state {
            TargetState::Initial | TargetState::Unhealthy
                if s.passes >= settings.healthy_threshold =>
            {
                Some(true)
            }
            TargetState::Healthy if s.failures >= settings.unhealthy_threshold => Some(false),
            // A new target that fails its first checks is unhealthy once it has failed enough.
            TargetState::Initial if s.failures >= settings.unhealthy_threshold => Some(false),
            _ => None,
        }?;
        t.state = if change {
            TargetState::Healthy
        } else {
            TargetState::Unhealthy
        };
        cx.send(
            group,
            Msg::Control(Control::TargetHealth {
                instance,
                healthy: change,
            }),
        );
        Some(change)
    }
}

impl<E> std::ops::Index<u32> for Targets<E> {
    type Output = Target<E>;

    fn index(&self, instance: u32) -> &Target<E> {
        &self.list[instance as usize]
    }
}

impl<E> std::ops::IndexMut<u32> for Targets<E> {
    fn index_mut(&mut self, instance: u32) -> &mut Target<E> {
        &mut self.list[instance as usize]
    }
}

/// Max over mean of `loads` (0 when all are 0): 1 is perfectly even, `n` all on one of `n`.
pub fn imbalance(loads: &[u64]) -> f64 {
    let total: u64 = loads.iter().sum();
    let max = loads.iter().copied().max().unwrap_or(0);
    if total > 0 {
        max as f64 / (total as f64 / loads.len() as f64)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imbalance_is_max_over_mean_of_the_loads() {
        assert_eq!(imbalance(&[]), 0.0);
        assert_eq!(imbalance(&[0, 0]), 0.0);
        assert_eq!(imbalance(&[3, 1, 0, 0]), 3.0);
        assert_eq!(imbalance(&[2, 2]), 1.0);
    }
}
