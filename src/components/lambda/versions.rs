//! A function's versions and its alias: the code each version runs, the `deploy` table that
//! brings in a new one through CodeDeploy (`components::deployment`), and what each version
//! did.
//!
//! ```toml
//! deploy = { at = "20m", type = "Canary10Percent5Minutes",
//!            new = { handler = [ { compute = "60ms" } ], failure_probability = 0.05 },
//!            alarms = [ { metric = "Errors", comparison = ">", threshold = 5 } ],
//!            hooks = { pre_traffic = "smoke-test" } }
//! ```
//!
//! The alias splits invocations by the deployment's weights. Each version has its own
//! execution environments (the new one starts with none: its first invocations are cold), its
//! own handler, failure probability, cold start and memory (each defaulting to the function's),
//! and its own figures; both share the function's concurrency limit, as versions of one function
//! do. Alarms watch the new version's `Invocations`, `Errors` (1 per failed invocation, 0 per
//! other: `sum` counts errors, `average` is the error rate), `Throttles` and `Duration` (ms).

use std::ops::Range;

use serde::Deserialize;
use serde_json::{Value, json};
use toml::Spanned;

use super::{Lambda, Spec};
use crate::components::SpecIssue;
use crate::components::deployment::Version;
use crate::components::deployment::{AlarmSpec, HooksSpec, MetricName, Shift};
use crate::components::handler::{DurationDist, Handler, StepSpec};
use crate::dist::Dist;
use crate::engine::time::SimDuration;
use crate::engine::time::SimTime;
use crate::message::{Ctx, Outcome};
use crate::metrics::ComponentReport;
use crate::metrics::cloudwatch::Statistic;

/// A `deploy` table.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploySpec {
    /// When the deployment starts.
    #[schemars(with = "SimDuration")]
    pub at: Spanned<SimDuration>,
    /// The CodeDeploy configuration (`Canary10Percent5Minutes`...).
    #[serde(rename = "type")]
    #[schemars(with = "String")]
    pub shift: Spanned<String>,
    /// The new version (fields left out are the function's).
    #[serde(default)]
    pub new: NewVersion,
    /// Alarms on the new version that roll the deployment back.
    #[serde(default)]
    pub alarms: Vec<AlarmSpec>,
    /// Pre- and post-traffic hooks.
    #[serde(default)]
    pub hooks: HooksSpec,
}

/// The new version's code and configuration.
#[derive(Clone, Debug, Default, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "LambdaNewVersion")]
#[serde(deny_unknown_fields)]
pub struct NewVersion {
    /// What one invocation does.
    #[schemars(with = "Option<Vec<StepSpec>>")]
    pub handler: Option<Spanned<Vec<StepSpec>>>,
    /// Probability that an invocation fails.
    #[schemars(with = "Option<f64>")]
    pub failure_probability: Option<Spanned<f64>>,
    /// Init duration of its new environments.
    pub cold_start: Option<DurationDist>,
    /// Its memory (MB).
    #[schemars(with = "Option<u32>")]
    pub memory_mb: Option<Spanned<u32>>,
}

/// The metrics a deployment's alarms may watch, in the order [`Metric`] numbers them.
pub(super) const METRICS: &[MetricName] = &[
    MetricName {
        name: "Invocations",
        statistic: Statistic::Sum,
    },
    MetricName {
        name: "Errors",
        statistic: Statistic::Sum,
    },
    MetricName {
        name: "Throttles",
        statistic: Statistic::Sum,
    },
    MetricName {
        name: "Duration",
        statistic: Statistic::Average,
    },
];

/// Index of a metric in [`METRICS`].
#[derive(Copy, Clone)]
pub(super) enum Metric {
    Invocations,
    Errors,
    Throttles,
    Duration,
}

/// What one version runs.
pub(super) struct Code {
    pub(super) handler: Handler,
    pub(super) memory_mb: u32,
    pub(super) speed: f64,
    pub(super) cold_start: Dist,
    pub(super) failure_probability: f64,
}

/// What one version did in the measured window.
#[derive(Clone, Debug, Default)]
pub(super) struct VersionCounts {
    pub(super) invocations: u64,
    pub(super) cold_starts: u64,
    pub(super) errors: u64,
    pub(super) throttles: u64,
    pub(super) concurrency_max: u64,
}

impl VersionCounts {
    pub(super) fn to_json(&self) -> Value {
        json!({
            "invocations": self.invocations,
            "cold_starts": self.cold_starts,
            "errors": self.errors,
            "throttles": self.throttles,
            "concurrency_max": self.concurrency_max,
        })
    }
}

impl DeploySpec {
    /// The issues of the `deploy` table.
    pub(super) fn check(&self, spec: &Spec, out: &mut Vec<SpecIssue>) {
        let mut issue = |field: &str, message: String, span: Range<usize>| {
            out.push(SpecIssue {
                field: format!("deploy.{field}"),
                message,
                span,
            })
        };
        if let Err(e) = Shift::parse(self.shift.get_ref()) {
            issue("type", e, self.shift.span());
        }
        if let Some(p) = &spec.provisioned_concurrency {
            issue(
                "provisioned_concurrency",
                "a function with provisioned concurrency cannot be deployed here yet: awsim \
                 does not model how provisioned concurrency moves between versions"
                    .into(),
                p.span(),
            );
        }
        if let Some(h) = &self.new.handler
            && h.get_ref().is_empty()
        {
            issue(
                "new.handler",
                "needs at least one step, e.g. [ { compute = \"40ms\" } ]".into(),
                h.span(),
            );
        }
        if let Some(p) = &self.new.failure_probability
            && !(0.0..=1.0).contains(p.get_ref())
        {
            issue(
                "new.failure_probability",
                format!("must be between 0 and 1, found {}", p.get_ref()),
                p.span(),
            );
        }
        let d = crate::defaults::lambda();
        if let Some(m) = &self.new.memory_mb
            && !(d.memory_min_mb..=d.memory_max_mb).contains(m.get_ref())
        {
            issue(
                "new.memory_mb",
                format!(
                    "must be between {} and {} MB, found {}",
                    d.memory_min_mb,
                    d.memory_max_mb,
                    m.get_ref()
                ),
                m.span(),
            );
        }
        for (i, a) in self.alarms.iter().enumerate() {
            a.check(&format!("deploy.alarms[{i}]"), METRICS, out);
        }
    }
}

/// The speed of a version with `memory_mb`: compute steps are written at one full vCPU.
pub(super) fn speed(memory_mb: u32) -> f64 {
    let d = crate::defaults::lambda();
    (memory_mb.min(d.memory_per_vcpu_mb) as f64) / d.memory_per_vcpu_mb as f64
}

/// The new version's code: what `new` says, the function's code for the rest.
pub(super) fn new_code(
    new: &NewVersion,
    old: &Code,
    spec: &Spec,
    cx: &crate::components::BuildContext<'_>,
) -> Result<Code, String> {
    let handler = match &new.handler {
        Some(h) => Handler::build(h.get_ref(), cx.base_dir, |n| cx.id(n))?,
        None => Handler::build(spec.handler.get_ref(), cx.base_dir, |n| cx.id(n))?,
    };
    let memory_mb = new
        .memory_mb
        .as_ref()
        .map_or(old.memory_mb, |m| *m.get_ref());
    Ok(Code {
        handler,
        memory_mb,
        speed: speed(memory_mb),
        cold_start: match &new.cold_start {
            Some(c) => c.0.build(cx.base_dir)?,
            None => old.cold_start.clone(),
        },
        failure_probability: new
            .failure_probability
            .as_ref()
            .map_or(old.failure_probability, |p| *p.get_ref()),
    })
}

impl Lambda {
    /// The version the alias sends the next invocation to.
    pub(super) fn pick_version(&self, cx: &mut Ctx<'_>) -> Version {
        self.deployment
            .as_ref()
            .map_or(Version::Old, |d| d.pick(cx))
    }

    /// An invocation that arrived at `arrived` started on `version` at `now` (cold or not).
    pub(super) fn version_started(
        &mut self,
        version: Version,
        cold: bool,
        arrived: SimTime,
        now: SimTime,
    ) {
        let v = version as usize;
        self.busy_by_version[v] += 1;
        let Some(d) = &mut self.deployment else {
            return;
        };
        if cold {
            d.cold_start(version);
        }
        if version == Version::New {
            d.observe(now, Metric::Invocations as usize, 1.0);
            d.observe(now, Metric::Throttles as usize, 0.0);
        }
        if arrived >= self.warmup_end {
            let counts = &mut self.by_version[v];
            counts.invocations += 1;
            counts.cold_starts += u64::from(cold);
            counts.concurrency_max = counts
                .concurrency_max
                .max(u64::from(self.busy_by_version[v]));
        }
    }

    /// An invocation on `version` that arrived at `arrived` ended at `now` with `outcome`,
    /// after its handler ran for `ran` (`None` if it never started).
    pub(super) fn version_finished(
        &mut self,
        version: Version,
        arrived: SimTime,
        now: SimTime,
        outcome: Outcome,
        ran: Option<SimDuration>,
    ) {
        self.busy_by_version[version as usize] -= 1;
        let Some(d) = &mut self.deployment else {
            return;
        };
        if arrived >= self.warmup_end && !matches!(outcome, Outcome::Ok | Outcome::Timeout) {
            self.by_version[version as usize].errors += 1;
        }
        d.finished(version, arrived, now, outcome);
        if version == Version::New {
            let error = if outcome.is_ok() { 0.0 } else { 1.0 };
            d.observe(now, Metric::Errors as usize, error);
            if let Some(ran) = ran {
                d.observe(now, Metric::Duration as usize, ran.as_secs_f64() * 1e3);
            }
        }
    }

    /// A synchronous invocation for `version` was throttled at `now`.
    pub(super) fn version_throttled(&mut self, version: Version, now: SimTime) {
        let Some(d) = &mut self.deployment else {
            return;
        };
        if now >= self.warmup_end {
            self.by_version[version as usize].throttles += 1;
        }
        d.finished(version, now, now, Outcome::Throttled);
        if version == Version::New {
            d.observe(now, Metric::Throttles as usize, 1.0);
        }
    }

    /// `report` with the versions' figures and the deployment, if there is one.
    pub(super) fn versions_report(&self, report: ComponentReport, end: SimTime) -> ComponentReport {
        let Some(d) = &self.deployment else {
            return report;
        };
        report
            .figure(
                "versions",
                json!({
                    "old": self.by_version[0].to_json(),
                    "new": self.by_version[1].to_json(),
                }),
            )
            .figure(crate::components::outputs::DEPLOYMENT, d.report(end))
    }
}
