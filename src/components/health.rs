//! Target health checks, as the load balancers (`alb`, `nlb`) share them.
//!
//! A target registered while the run is going must pass `healthy_threshold` consecutive checks,
//! one every `interval` (the first at registration), before it takes traffic; a healthy target
//! that fails `unhealthy_threshold` checks in a row loses it. Targets in service when the run
//! starts are healthy from the start. AWS accepts thresholds from 2 to 10.

use serde::Deserialize;
use toml::Spanned;

use super::SpecIssue;
use crate::engine::time::SimDuration;
use crate::units::PositiveDuration;

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

/// Where a target stands, as far as its health checks go.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Registered, not yet through its first checks.
    Initial,
    /// Takes traffic.
    Healthy,
    /// Failed its checks.
    Unhealthy,
    /// Not checked (draining, unused).
    Unchecked,
}

/// The consecutive results of one target's checks.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Streak {
    passes: u32,
    failures: u32,
}

impl Streak {
    /// Records one check of a target standing at `standing`; returns its new health when it
    /// changes (`Some(true)`: now healthy).
    pub fn record(&mut self, healthy: bool, standing: Standing, settings: &HealthCheck) -> Option<bool> {
        if healthy {
            self.passes += 1;
            self.failures = 0;
        } else {
            self.failures += 1;
            self.passes = 0;
        }
        match standing {
            Standing::Initial | Standing::Unhealthy if self.passes >= settings.healthy_threshold => {
                Some(true)
            }
            Standing::Healthy if self.failures >= settings.unhealthy_threshold => Some(false),
            // A new target that fails its first checks is unhealthy once it has failed enough.
            Standing::Initial if self.failures >= settings.unhealthy_threshold => Some(false),
            _ => None,
        }
    }
}
