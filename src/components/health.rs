//! Targets of a load balancer, as the load balancers (`alb`, `nlb`) share them: the `targets`
//! reference, registration, health checks and draining.
//!
//! A target registered while the run is going must pass `healthy_threshold` consecutive checks,
//! one every `interval` (the first at registration), before it takes traffic; a healthy target
//! that fails `unhealthy_threshold` checks in a row loses it. Targets in service when the run
//! starts are healthy from the start. AWS accepts thresholds from 2 to 10.

use serde::Deserialize;
use toml::Spanned;

use super::{Expects, Reference, SpecIssue};
use crate::engine::time::SimDuration;
use crate::engine::timer::{TimerSlot, timer_index};
use crate::engine::{ComponentId, Ctx};
use crate::message::{Control, Msg, Timer};
use crate::units::PositiveDuration;

/// Kinds a load balancer can forward to: groups of instances.
pub const TARGET_KINDS: &[&str] = &["ec2_fleet", "asg"];

/// The `targets` field of a load balancer, for the loader to resolve.
pub fn targets_reference(targets: &Spanned<String>) -> Vec<Reference<'_>> {
    vec![Reference {
        field: "targets".into(),
        name: targets,
        expects: Expects::Kinds(TARGET_KINDS),
        synchronous: true,
    }]
}

/// `health_check = { interval = "30s", healthy_threshold = 5, unhealthy_threshold = 2 }`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckSpec {
    /// Time between checks of one target.
    pub interval: Option<PositiveDuration>,
    /// Consecutive passes before a target is healthy.
    pub healthy_threshold: Option<Spanned<u32>>,
    /// Consecutive failures before a healthy target is unhealthy.
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

/// One target's registration, health checks and draining, as every load balancer keeps them:
/// the state, the streak of check results, and the check and drain-deadline timers.
#[derive(Clone, Debug)]
pub struct TargetLife {
    /// Where the target is in its life.
    pub state: TargetState,
    streak: Streak,
    health_timer: TimerSlot,
    drain_timer: TimerSlot,
}

impl Default for TargetLife {
    fn default() -> Self {
        TargetLife {
            state: TargetState::Unused,
            streak: Streak::default(),
            health_timer: TimerSlot::default(),
            drain_timer: TimerSlot::default(),
        }
    }
}

impl TargetLife {
    /// `Control::Register`: a target that starts healthy takes traffic now and is next checked
    /// one interval on; a new one is checked at once. `timer` makes the caller's health-check
    /// timer.
    pub fn register<T: Into<Timer>>(
        &mut self,
        instance: u32,
        healthy: bool,
        settings: &HealthCheck,
        timer: impl FnOnce(u64) -> T,
        cx: &mut Ctx<'_>,
    ) {
        self.state = if healthy {
            TargetState::Healthy
        } else {
            TargetState::Initial
        };
        self.streak = Streak::default();
        let first = if healthy {
            settings.interval
        } else {
            SimDuration::ZERO
        };
        self.health_timer.arm(cx, first, timer, instance);
    }

    /// `Control::Deregister`: the target drains and is no longer checked.
    pub fn deregister(&mut self) {
        self.state = TargetState::Draining;
        self.health_timer.cancel();
    }

    /// Arms the end of the deregistration delay, as the caller's timer `timer` makes it.
    pub fn arm_drain_deadline<T: Into<Timer>>(
        &mut self,
        instance: u32,
        delay: SimDuration,
        timer: impl FnOnce(u64) -> T,
        cx: &mut Ctx<'_>,
    ) {
        self.drain_timer.arm(cx, delay, timer, instance);
    }

    /// True when the drain-deadline timer with payload `id` is the current one of this target.
    pub fn drain_deadline_fired(&mut self, id: u64) -> bool {
        self.drain_timer.fire(id)
    }

    /// Draining is over: the target is unused and `group` may terminate it.
    pub fn finish_draining(&mut self, instance: u32, group: ComponentId, cx: &mut Ctx<'_>) {
        self.state = TargetState::Unused;
        self.drain_timer.cancel();
        cx.send(group, Msg::Control(Control::Drained { instance }));
    }

    /// The health-check timer with payload `id` fired: if it is current, probe the target
    /// through `group` and check again one interval on (the timer `timer` makes).
    pub fn on_check_timer<T: Into<Timer>>(
        &mut self,
        id: u64,
        settings: &HealthCheck,
        group: ComponentId,
        timer: impl FnOnce(u64) -> T,
        cx: &mut Ctx<'_>,
    ) {
        if !self.health_timer.fire(id) {
            return;
        }
        let instance = timer_index(id);
        self.health_timer
            .arm(cx, settings.interval, timer, instance);
        let from = cx.me();
        cx.send(group, Msg::Control(Control::HealthCheck { instance, from }));
    }

    /// A probe's answer. When the target's health changes (`healthy_threshold` passes or
    /// `unhealthy_threshold` failures in a row) its state follows, `group` is told, and the new
    /// health is returned (`Some(true)`: now healthy).
    pub fn on_check_result(
        &mut self,
        instance: u32,
        healthy: bool,
        settings: &HealthCheck,
        group: ComponentId,
        cx: &mut Ctx<'_>,
    ) -> Option<bool> {
        let s = &mut self.streak;
        if healthy {
            s.passes += 1;
            s.failures = 0;
        } else {
            s.failures += 1;
            s.passes = 0;
        }
        let change = match self.state {
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
        self.state = if change {
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
