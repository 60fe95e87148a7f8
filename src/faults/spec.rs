//! The `[[fault]]` tables as scenarios write them, and their validation (with `[region]` and the
//! components' `azs`, which the faults' AZs must match).

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::components;
use crate::components::ComponentSpec;
use crate::engine::time::SimDuration;
use crate::region::RegionSpec;
use crate::units::{Rate, did_you_mean};

/// Fault kinds, as scenarios write them.
pub const KINDS: &[&str] = &[
    "az_outage",
    "instance_failure",
    "latency_injection",
    "error_injection",
];

/// The kinds a fault of `kind` applies to, as the kinds declare it (`components::Roles`), and how to say
/// so. (An AZ outage reaches the kinds placed in AZs, `Roles::az_placement`; a load
/// balancer's nodes are AWS-managed and survive.)
fn applies_to(kind: &str) -> (Vec<&'static str>, String) {
    let kinds = if kind == "instance_failure" {
        components::kinds_where(|r| r.instance_failure)
    } else {
        components::kinds_where(|r| r.fault_injection)
    };
    let phrase = components::kinds_phrase(&kinds);
    (kinds, phrase)
}

/// Largest latency factor accepted.
const MAX_FACTOR: f64 = 1000.0;

/// One `[[fault]]` table.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// `az_outage`, `instance_failure`, `latency_injection` or `error_injection`.
    #[schemars(with = "String")]
    pub kind: Spanned<String>,
    /// A label for the summary (default: the kind and the fault's number).
    pub name: Option<String>,
    /// The availability zone (az_outage).
    #[schemars(with = "Option<String>")]
    pub az: Option<Spanned<String>>,
    /// The component (the other kinds).
    #[schemars(with = "Option<String>")]
    pub component: Option<Spanned<String>>,
    /// When the fault starts.
    #[schemars(with = "Option<SimDuration>")]
    pub at: Option<Spanned<SimDuration>>,
    /// How long it lasts.
    #[schemars(with = "Option<SimDuration>")]
    pub duration: Option<Spanned<SimDuration>>,
    /// Failures per unit of time, Poisson (instance_failure).
    #[schemars(with = "Option<Rate>")]
    pub rate: Option<Spanned<Rate>>,
    /// Failure times (instance_failure).
    #[schemars(with = "Option<Vec<SimDuration>>")]
    pub times: Option<Spanned<Vec<Spanned<SimDuration>>>>,
    /// Service time multiplier (latency_injection).
    #[schemars(with = "Option<f64>")]
    pub factor: Option<Spanned<f64>>,
    /// Share of requests that fail (error_injection).
    #[schemars(with = "Option<f64>")]
    pub fraction: Option<Spanned<f64>>,
    /// How an instance fails (instance_failure): `"crash"` (the default: the instance stops,
    /// its EC2 status checks fail) or `"hang"` (its application stops answering while the
    /// instance runs on: EC2 status checks pass, a load balancer's health checks fail).
    #[schemars(with = "Option<FailureMode>")]
    pub mode: Option<Spanned<FailureMode>>,
}

/// How an `instance_failure` fault fails an instance (`mode`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FailureMode {
    /// The instance stops: what it holds is answered 502 and its EC2 status checks fail.
    #[default]
    Crash,
    /// The application hangs: what it holds and what reaches it is never answered (senders time
    /// out), but the instance runs, so only a load balancer's health checks catch it.
    Hang,
}

impl FaultSpec {
    /// The label the summary uses.
    pub fn label(&self, index: usize) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("{} {}", self.kind.get_ref(), index + 1))
    }

    /// The fields given, with their spans, by name.
    fn given(&self) -> Vec<(&'static str, Range<usize>)> {
        [
            ("az", self.az.as_ref().map(Spanned::span)),
            ("component", self.component.as_ref().map(Spanned::span)),
            ("at", self.at.as_ref().map(Spanned::span)),
            ("duration", self.duration.as_ref().map(Spanned::span)),
            ("rate", self.rate.as_ref().map(Spanned::span)),
            ("times", self.times.as_ref().map(Spanned::span)),
            ("factor", self.factor.as_ref().map(Spanned::span)),
            ("fraction", self.fraction.as_ref().map(Spanned::span)),
            ("mode", self.mode.as_ref().map(Spanned::span)),
        ]
        .into_iter()
        .filter_map(|(name, span)| Some((name, span?)))
        .collect()
    }
}

/// The fields each kind takes: (required, optional).
fn fields_of(kind: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        "az_outage" => (&["az", "at", "duration"], &[]),
        "instance_failure" => (&["component"], &["rate", "times", "at", "duration", "mode"]),
        "latency_injection" => (&["component", "at", "duration", "factor"], &[]),
        "error_injection" => (&["component", "at", "duration", "fraction"], &[]),
        _ => (&[], &[]),
    }
}

/// What the faults need to know of the scenario around them: the loader hands them this, not
/// the whole scenario (faults come before scenarios in the layers).
pub struct Setting<'a> {
    /// The `[[fault]]` tables, in file order.
    pub faults: &'a [Spanned<FaultSpec>],
    /// The `[region]` table, if any.
    pub region: Option<&'a RegionSpec>,
    /// The components, in file order, with their specs.
    pub components: Vec<(&'a str, &'a ComponentSpec)>,
    /// The workloads' names, in file order.
    pub workloads: Vec<&'a str>,
    /// The simulated duration.
    pub duration: SimDuration,
}

/// Every problem with `[region]`, the components' `azs` and the `[[fault]]` tables, as
/// `(message, span)`.
pub fn issues(scenario: &Setting<'_>) -> Vec<(String, Range<usize>)> {
    let mut out = Vec::new();
    if let Some(region) = scenario.region {
        out.extend(crate::region::region_issues(region));
    }
    for (_, spec) in &scenario.components {
        out.extend(crate::region::placement_issues(scenario.region, spec.azs()));
    }
    let end = scenario.duration;
    let declared: Vec<&str> = scenario
        .region
        .and_then(|r| r.azs.as_ref())
        .map(|a| a.get_ref().iter().map(|n| n.get_ref().as_str()).collect())
        .unwrap_or_default();
    for fault in scenario.faults {
        let span = fault.span();
        let f = fault.get_ref();
        let kind = f.kind.get_ref().as_str();
        if !KINDS.contains(&kind) {
            out.push((
                format!(
                    "unknown fault kind `{kind}`; expected one of {}{}",
                    KINDS.join(", "),
                    did_you_mean(kind, KINDS)
                ),
                f.kind.span(),
            ));
            continue;
        }
        let (required, optional) = fields_of(kind);
        let given = f.given();
        for (field, field_span) in &given {
            if !required.contains(field) && !optional.contains(field) {
                let takes: Vec<&str> = required.iter().chain(optional).copied().collect();
                out.push((
                    format!(
                        "`{field}` does not apply to a {kind} fault; it takes {}",
                        takes.join(", ")
                    ),
                    field_span.clone(),
                ));
            }
        }
        for field in required {
            if !given.iter().any(|(g, _)| g == field) {
                out.push((
                    format!("a {kind} fault needs `{field}`{}", example(field)),
                    span.clone(),
                ));
            }
        }
        if kind == "instance_failure" {
            match (&f.rate, &f.times) {
                (None, None) => out.push((
                    "an instance_failure fault needs `rate` (e.g. \"2/h\") or `times` (e.g. \
                     [\"5m\"])"
                        .into(),
                    span.clone(),
                )),
                (Some(_), Some(times)) => out.push((
                    "give either `rate` or `times`, not both".into(),
                    times.span(),
                )),
                (None, Some(times)) => {
                    for field in [
                        f.at.as_ref().map(Spanned::span),
                        f.duration.as_ref().map(Spanned::span),
                    ]
                    .into_iter()
                    .flatten()
                    {
                        out.push((
                            "`at` and `duration` go with `rate`; with `times` each time is a \
                             failure"
                                .into(),
                            field,
                        ));
                    }
                    if times.get_ref().is_empty() {
                        out.push(("`times` must list at least one time".into(), times.span()));
                    }
                    for t in times.get_ref() {
                        if *t.get_ref() >= end {
                            out.push((
                                format!(
                                    "{} is outside the simulated time (0 to {end})",
                                    t.get_ref()
                                ),
                                t.span(),
                            ));
                        }
                    }
                }
                (Some(_), None) => {}
            }
        }
        if let Some(az) = &f.az
            && !declared.contains(&az.get_ref().as_str())
        {
            let message = if declared.is_empty() {
                format!(
                    "unknown availability zone `{}`: the scenario declares none; add [region] \
                     with azs = [...]",
                    az.get_ref()
                )
            } else {
                format!(
                    "unknown availability zone `{}`; the region declares {}{}",
                    az.get_ref(),
                    declared.join(", "),
                    did_you_mean(az.get_ref(), &declared)
                )
            };
            out.push((message, az.span()));
        }
        if let Some(name) = &f.component
            && let Some(message) = component_issue(scenario, kind, name.get_ref())
        {
            out.push((message, name.span()));
        }
        if let Some(at) = &f.at
            && *at.get_ref() >= end
        {
            out.push((
                format!(
                    "the fault starts at {}, outside the simulated time (0 to {end})",
                    at.get_ref()
                ),
                at.span(),
            ));
        }
        if let Some(d) = &f.duration
            && d.get_ref().is_zero()
        {
            out.push(("`duration` must be longer than zero".into(), d.span()));
        }
        if let Some(r) = &f.rate
            && r.get_ref().is_zero()
        {
            out.push(("`rate` must be above zero".into(), r.span()));
        }
        if let Some(r) = &f.rate {
            // Every failure time is drawn when the run starts: keep that list reasonable.
            let window = f.duration.as_ref().map_or(end, |d| *d.get_ref());
            let expected = r.get_ref().per_second() * window.as_secs_f64();
            if expected > MAX_EXPECTED_FAILURES {
                out.push((
                    format!(
                        "`rate` would fail about {expected:.0} instances over the fault; at \
                         most {MAX_EXPECTED_FAILURES:.0} are modelled"
                    ),
                    r.span(),
                ));
            }
        }
        if let Some(x) = &f.factor {
            let v = *x.get_ref();
            if !(v > 0.0 && v <= MAX_FACTOR) {
                out.push((
                    format!("`factor` must be above 0 and at most {MAX_FACTOR}, found {v}"),
                    x.span(),
                ));
            }
        }
        if let Some(x) = &f.fraction {
            let v = *x.get_ref();
            if !(0.0..=1.0).contains(&v) {
                out.push((
                    format!("`fraction` must be between 0 and 1, found {v}"),
                    x.span(),
                ));
            }
        }
    }
    out.extend(overlaps(scenario));
    out
}

/// The most instance failures a `rate` may be expected to cause.
const MAX_EXPECTED_FAILURES: f64 = 1e6;

/// Windows of one kind of fault on one subject (an AZ, a component) that overlap: their ends
/// would undo each other (the first to end restores the subject while the other still runs),
/// so they are refused; one window with the union says what is meant.
fn overlaps(scenario: &Setting<'_>) -> Vec<(String, Range<usize>)> {
    let mut windows: Vec<(&str, &str, SimDuration, SimDuration, Range<usize>)> = Vec::new();
    for fault in scenario.faults {
        let f = fault.get_ref();
        let kind = f.kind.get_ref().as_str();
        if !matches!(kind, "az_outage" | "latency_injection" | "error_injection") {
            continue;
        }
        let subject =
            f.az.as_ref()
                .or(f.component.as_ref())
                .map(|s| s.get_ref().as_str());
        if let (Some(subject), Some(at), Some(d)) = (subject, &f.at, &f.duration) {
            let start = *at.get_ref();
            windows.push((kind, subject, start, start + *d.get_ref(), at.span()));
        }
    }
    windows.sort_by_key(|w| (w.0, w.1, w.2));
    windows
        .windows(2)
        .filter(|pair| pair[0].0 == pair[1].0 && pair[0].1 == pair[1].1 && pair[1].2 < pair[0].3)
        .map(|pair| {
            let (kind, subject, start, stop, _) = &pair[0];
            (
                format!(
                    "this {kind} of `{subject}` overlaps the one from {start} to {stop}; faults \
                     of one kind on one subject do not stack: give one window covering both"
                ),
                pair[1].4.clone(),
            )
        })
        .collect()
}

fn example(field: &str) -> &'static str {
    match field {
        "az" => " (an availability zone of [region] azs)",
        "at" => " (when it starts, e.g. \"5m\")",
        "duration" => " (how long it lasts, e.g. \"10m\")",
        "component" => " (the component's name)",
        "factor" => " (the service-time multiplier, e.g. 3)",
        "fraction" => " (the share of requests that fail, e.g. 0.1)",
        _ => "",
    }
}

/// Why `name` cannot be the component of a `kind` fault, if it cannot.
fn component_issue(scenario: &Setting<'_>, kind: &str, name: &str) -> Option<String> {
    let (kinds, phrase) = applies_to(kind);
    if let Some((_, spec)) = scenario.components.iter().find(|(n, _)| *n == name) {
        if kinds.contains(&spec.kind()) {
            return None;
        }
        let found = spec.kind();
        return Some(format!(
            "a {kind} fault applies to {phrase}, and `{name}` is {} {found}",
            components::article(found)
        ));
    }
    if scenario.workloads.contains(&name) {
        return Some(format!(
            "`{name}` is a workload; a {kind} fault applies to {phrase}"
        ));
    }
    let candidates: Vec<&str> = scenario
        .components
        .iter()
        .filter(|(_, spec)| kinds.contains(&spec.kind()))
        .map(|&(n, _)| n)
        .collect();
    let all: Vec<&str> = scenario.components.iter().map(|&(n, _)| n).collect();
    let hint = match did_you_mean(name, &candidates) {
        h if h.is_empty() => did_you_mean(name, &all),
        h => h,
    };
    Some(format!(
        "no component is named `{name}`; expected {phrase}{hint}"
    ))
}
