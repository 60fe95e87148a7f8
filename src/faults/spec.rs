//! `[[fault]]`: failures injected at given times (an AZ outage, instances crashing, a slow or
//! failing dependency), and the impact each has on what users see.
//!
//! ```toml
//! [[fault]]
//! kind = "az_outage"           # the AZ's instances stop answering until it comes back
//! az = "a"
//! at = "5m"
//! duration = "10m"
//!
//! [[fault]]
//! kind = "instance_failure"    # instances of a fleet or group crash
//! component = "web"
//! rate = "2/h"                 # Poisson (seeded), over `at`..`at + duration` (default: the run)
//! # times = ["3m", "7m"]       # or one crash at each listed time
//!
//! [[fault]]
//! kind = "latency_injection"   # service times multiplied by `factor` during the window
//! component = "web"            # an ec2_fleet, asg or lambda
//! at = "2m"
//! duration = "1m"
//! factor = 3
//!
//! [[fault]]
//! kind = "error_injection"     # a fraction of the requests fail at once with a 500 (a
//!                              # function's synchronous invocations; events are accepted)
//! component = "web"
//! at = "2m"
//! duration = "1m"
//! fraction = 0.2
//! ```
//!
//! # How faults are delivered
//! The engine knows nothing of faults. When a scenario has `[[fault]]` entries, the loader adds
//! one more component, the *injector* (named [`INJECTOR_NAME`], kind `faults`), after all the
//! others. At time zero it schedules a [`Control::Fault`] message for every start and end of
//! every fault, addressed to the components concerned: an AZ outage to every fleet and group
//! (each acts on what it has in that AZ), the other kinds to their
//! `component`. Random failure times (`rate`) are drawn when the run is built, from the
//! injector's own stream, so they do not move any component's random numbers. The components
//! act on the message with their own machinery: a crash is the crash of `failures`/`mtbf`, an
//! unreachable instance answers nothing and fails its health checks.
//!
//! # What it simplifies
//! An AZ outage reaches instances only: load balancer nodes, functions, tables and queues are
//! regional or AWS-managed and carry on. A queue's pollers on an instance of the failed AZ stay
//! stuck on the message they were handing over (it becomes visible again after its visibility
//! timeout); when the AZ comes back its instances register again with their load balancers,
//! not with the queues they consume. A latency injection stretches the steps that *start* in
//! the window (a step already running keeps its time), not a function's cold start.
//!
//! # Impact
//! Every workload copies its final answers (end to end, retries included) to the injector, which
//! reports for each fault (`summary.json` → `faults`; over all workloads together, and, when
//! there are several, per workload under `workloads`):
//! - `baseline`: requests answered in the 60 s before the fault starts (from time zero if the
//!   fault starts earlier): their count, error rate and p99.
//! - `during`: requests *sent* while the fault is active (`at` .. `at + duration`; for
//!   `instance_failure` with `times`, from the first failure to 60 s after the last): count,
//!   errors (any answer but a success: 5xx, 504, throttles), error rate, latency percentiles of
//!   the successful ones.
//! - `recovery_s`: the time to recover. Requests are grouped by the 10 s bucket in which they
//!   were sent, from the fault's start. A bucket is *normal* when it had requests, its error rate
//!   is at most the baseline's plus one percentage point, and at most 1 % of its requests
//!   succeeded more slowly than 1.5 × the baseline p99 (i.e. its p99 is at most 1.5 × the
//!   baseline's). The system has recovered at the start of the first bucket that begins a run of
//!   six normal buckets (60 s); `recovery_s` is that instant minus the fault's start (0 when the
//!   fault never disturbed anything), `null` when no such run ends before the last minute of
//!   the simulation (whose requests may still be in flight). Grouping by send time matters: a
//!   request sent to a dead instance fails only at the load balancer's idle timeout, and its
//!   failure must count against the moment it was sent.

use std::ops::Range;

use rand::Rng;
use serde::Deserialize;
use serde_json::{Value, json};
use toml::Spanned;

use crate::components::ComponentSpec;
use crate::engine::rng::SimRng;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{Component, ComponentId, Ctx};
use crate::message::{Control, FaultAction, Msg, PPM};
use crate::metrics::{ComponentReport, Counts, Latency, RequestMetrics, SeriesRow};
use crate::region::Region;
use crate::scenario::{Scenario, did_you_mean};
use crate::units::Rate;

/// The name of the injector component (brackets keep it apart from scenario names).
pub const INJECTOR_NAME: &str = "(faults)";

/// The kind the injector reports.
pub const INJECTOR_KIND: &str = "faults";

/// Fault kinds, as scenarios write them.
pub const KINDS: &[&str] = &[
    "az_outage",
    "instance_failure",
    "latency_injection",
    "error_injection",
];

/// Component kinds that have instances (what instance failures apply to).
const INSTANCE_KINDS: &[&str] = &["ec2_fleet", "asg"];

/// Component kinds whose service time or answers can be tampered with.
const SERVICE_KINDS: &[&str] = &["ec2_fleet", "asg", "lambda"];

/// The kinds a fault of `kind` applies to, and how to say so.
fn applies_to(kind: &str) -> (&'static [&'static str], &'static str) {
    if kind == "instance_failure" {
        (INSTANCE_KINDS, "an ec2_fleet or an asg")
    } else {
        (SERVICE_KINDS, "an ec2_fleet, an asg or a lambda")
    }
}

/// Component kinds an AZ outage reaches: those with instances in AZs (a load balancer's nodes
/// are AWS-managed and survive).
const AZ_KINDS: &[&str] = &["ec2_fleet", "asg"];

/// Largest latency factor accepted.
const MAX_FACTOR: f64 = 1000.0;

/// One `[[fault]]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// `az_outage`, `instance_failure`, `latency_injection` or `error_injection`.
    pub kind: Spanned<String>,
    /// A label for the summary (default: the kind and the fault's number).
    pub name: Option<String>,
    /// The availability zone (az_outage).
    pub az: Option<Spanned<String>>,
    /// The component (the other kinds).
    pub component: Option<Spanned<String>>,
    /// When the fault starts.
    pub at: Option<Spanned<SimDuration>>,
    /// How long it lasts.
    pub duration: Option<Spanned<SimDuration>>,
    /// Failures per unit of time, Poisson (instance_failure).
    pub rate: Option<Spanned<Rate>>,
    /// Failure times (instance_failure).
    pub times: Option<Spanned<Vec<Spanned<SimDuration>>>>,
    /// Service time multiplier (latency_injection).
    pub factor: Option<Spanned<f64>>,
    /// Share of requests that fail (error_injection).
    pub fraction: Option<Spanned<f64>>,
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
        let mut out = Vec::new();
        if let Some(v) = &self.az {
            out.push(("az", v.span()));
        }
        if let Some(v) = &self.component {
            out.push(("component", v.span()));
        }
        if let Some(v) = &self.at {
            out.push(("at", v.span()));
        }
        if let Some(v) = &self.duration {
            out.push(("duration", v.span()));
        }
        if let Some(v) = &self.rate {
            out.push(("rate", v.span()));
        }
        if let Some(v) = &self.times {
            out.push(("times", v.span()));
        }
        if let Some(v) = &self.factor {
            out.push(("factor", v.span()));
        }
        if let Some(v) = &self.fraction {
            out.push(("fraction", v.span()));
        }
        out
    }
}

/// A component's `azs` list, for the kinds placed in AZs.
pub fn component_azs(spec: &ComponentSpec) -> Option<&Spanned<Vec<Spanned<String>>>> {
    match spec {
        ComponentSpec::Ec2Fleet(s) => s.azs.as_ref(),
        ComponentSpec::Asg(s) => s.azs.as_ref(),
        _ => None,
    }
}

/// The fields each kind takes: (required, optional).
fn fields_of(kind: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        "az_outage" => (&["az", "at", "duration"], &[]),
        "instance_failure" => (&["component"], &["rate", "times", "at", "duration"]),
        "latency_injection" => (&["component", "at", "duration", "factor"], &[]),
        "error_injection" => (&["component", "at", "duration", "fraction"], &[]),
        _ => (&[], &[]),
    }
}

/// Every problem with `[region]`, the components' `azs` and the `[[fault]]` tables, as
/// `(message, span)`.
pub fn issues(scenario: &Scenario) -> Vec<(String, Range<usize>)> {
    let mut out = Vec::new();
    if let Some(region) = &scenario.region {
        out.extend(crate::region::region_issues(region));
    }
    for c in &scenario.components {
        out.extend(crate::region::placement_issues(
            scenario.region.as_ref(),
            component_azs(&c.spec),
        ));
    }
    let end = scenario.duration();
    let declared: Vec<&str> = scenario
        .region
        .as_ref()
        .and_then(|r| r.azs.as_ref())
        .map(|a| a.get_ref().iter().map(|n| n.get_ref().as_str()).collect())
        .unwrap_or_default();
    for fault in &scenario.faults {
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
fn overlaps(scenario: &Scenario) -> Vec<(String, Range<usize>)> {
    let mut windows: Vec<(&str, &str, SimDuration, SimDuration, Range<usize>)> = Vec::new();
    for fault in &scenario.faults {
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
fn component_issue(scenario: &Scenario, kind: &str, name: &str) -> Option<String> {
    let (kinds, phrase) = applies_to(kind);
    if let Some(c) = scenario.components.iter().find(|c| c.name == name) {
        if kinds.contains(&c.spec.kind()) {
            return None;
        }
        let found = c.spec.kind();
        let article = if found.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        return Some(format!(
            "a {kind} fault applies to {phrase}, and `{name}` is {article} {found}"
        ));
    }
    if scenario.workloads.iter().any(|w| w.name.get_ref() == name) {
        return Some(format!(
            "`{name}` is a workload; a {kind} fault applies to {phrase}"
        ));
    }
    let candidates: Vec<&str> = scenario
        .components
        .iter()
        .filter(|c| kinds.contains(&c.spec.kind()))
        .map(|c| c.name.as_str())
        .collect();
    let all: Vec<&str> = scenario
        .components
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let hint = match did_you_mean(name, &candidates) {
        h if h.is_empty() => did_you_mean(name, &all),
        h => h,
    };
    Some(format!(
        "no component is named `{name}`; expected {phrase}{hint}"
    ))
}

/// Latency and error injection on a component without instances (a Lambda function): a
/// service-time multiplier and a failure fraction, and the failures counted.
#[derive(Clone, Debug)]
pub struct Injected {
    slowdown: f64,
    error_fraction: f64,
    injected_errors: u64,
    touched: bool,
    /// The component's `"faults"` sub-stream, made at the first draw: injected failures never
    /// move the component's own numbers, so runs with and without the fault stay comparable.
    rng: Option<SimRng>,
}

impl Default for Injected {
    fn default() -> Self {
        Injected {
            slowdown: 1.0,
            error_fraction: 0.0,
            injected_errors: 0,
            touched: false,
            rng: None,
        }
    }
}

impl Injected {
    /// Takes a fault's start or end into account (other actions do not concern it).
    pub fn apply(&mut self, action: FaultAction) {
        match action {
            FaultAction::Slowdown { factor_ppm } => self.slowdown = factor_ppm as f64 / PPM,
            FaultAction::Errors { fraction_ppm } => self.error_fraction = fraction_ppm as f64 / PPM,
            _ => return,
        }
        self.touched = true;
    }

    /// A service step's time under the current slowdown.
    pub fn stretch(&self, delay: SimDuration) -> SimDuration {
        if self.slowdown == 1.0 {
            delay
        } else {
            delay.mul_f64(self.slowdown)
        }
    }

    /// True when an arriving request must fail (a seeded draw, only while errors are
    /// injected); counted when `in_window`. `own` is the component's stream, from which the
    /// fault sub-stream is derived (it is not drawn from).
    pub fn fails(&mut self, in_window: bool, own: &SimRng) -> bool {
        if self.error_fraction <= 0.0 {
            return false;
        }
        let fraction = self.error_fraction;
        if self.rng(own).random::<f64>() < fraction {
            if in_window {
                self.injected_errors += 1;
            }
            true
        } else {
            false
        }
    }

    /// The component's fault sub-stream (`own` is the component's own stream, which is not
    /// drawn from): for every random choice a fault makes (which request fails, which instance
    /// crashes).
    pub fn rng(&mut self, own: &SimRng) -> &mut SimRng {
        self.rng
            .get_or_insert_with(|| crate::engine::rng::substream(own, "faults"))
    }

    /// Requests failed by injection in the measured window.
    pub fn injected_errors(&self) -> u64 {
        self.injected_errors
    }

    /// Adds `injected_errors` to a report once a fault touched the component.
    pub fn report(&self, report: ComponentReport) -> ComponentReport {
        if self.touched {
            report.figure("injected_errors", self.injected_errors)
        } else {
            report
        }
    }
}

/// One scheduled delivery: at `at`, `action` to `target`.
#[derive(Copy, Clone, Debug)]
struct Delivery {
    at: SimTime,
    target: ComponentId,
    action: FaultAction,
}

/// Length of a recovery bucket.
const BUCKET: SimDuration = SimDuration::from_secs(10);
/// Normal buckets in a row that make a recovery.
const SUSTAIN: usize = 6;
/// The look-back of the baseline.
const BASELINE: SimDuration = SimDuration::from_secs(60);
/// Buckets tracked per fault (two hours): memory stays bounded however long the run.
const MAX_BUCKETS: usize = 720;
/// Requests sent in the last minute of the run may still be in flight: not judged.
const SETTLE: SimDuration = SimDuration::from_secs(60);
/// Impact window after the last of a list of failure times.
const AFTER_LAST_FAILURE: SimDuration = SimDuration::from_secs(60);

/// Answers of one recovery bucket.
#[derive(Copy, Clone, Debug, Default)]
struct Bucket {
    total: u64,
    errors: u64,
    /// Successes slower than the slow threshold.
    slow: u64,
}

/// What the injector measures for one fault: over all workloads, and per workload.
struct Impact {
    label: String,
    kind: String,
    subject: String,
    all: Tally,
    /// One per workload, in workload order, with its name.
    workloads: Vec<(String, Tally)>,
}

impl Impact {
    fn record(&mut self, workload: usize, created: SimTime, now: SimTime, ok: bool) {
        self.all.record(created, now, ok);
        if let Some((_, tally)) = self.workloads.get_mut(workload) {
            tally.record(created, now, ok);
        }
    }

    fn report(&self, run_end: SimTime) -> Value {
        let mut v = self.all.report(run_end);
        let mut per_workload = serde_json::Map::new();
        for (name, tally) in &self.workloads {
            per_workload.insert(name.clone(), tally.report(run_end));
        }
        let mut out = serde_json::Map::new();
        out.insert("name".into(), self.label.clone().into());
        out.insert("kind".into(), self.kind.clone().into());
        out.insert("subject".into(), self.subject.clone().into());
        if let Value::Object(m) = &mut v {
            out.append(m);
        }
        if self.workloads.len() > 1 {
            out.insert("workloads".into(), Value::Object(per_workload));
        }
        Value::Object(out)
    }
}

/// The impact of one fault on one set of requests (all, or one workload's).
struct Tally {
    start: SimTime,
    /// End of the impact window.
    end: SimTime,
    baseline: Counts,
    baseline_latency: Latency,
    /// 1.5 × the baseline p99, fixed at the first answer after the start.
    slow_threshold: Option<SimDuration>,
    during: Counts,
    during_latency: Latency,
    buckets: Vec<Bucket>,
}

impl Tally {
    fn new(start: SimTime, end: SimTime) -> Tally {
        Tally {
            start,
            end,
            baseline: Counts::default(),
            baseline_latency: Latency::new(3),
            slow_threshold: None,
            during: Counts::default(),
            during_latency: Latency::new(3),
            buckets: Vec::new(),
        }
    }

    fn record(&mut self, created: SimTime, now: SimTime, ok: bool) {
        let latency = now - created;
        if now < self.start {
            if now + BASELINE >= self.start {
                self.baseline.created += 1;
                if ok {
                    self.baseline.completed += 1;
                    self.baseline_latency.record(latency);
                } else {
                    self.baseline.failed += 1;
                }
            }
            return;
        }
        if created < self.start {
            return;
        }
        if created < self.end {
            self.during.created += 1;
            if ok {
                self.during.completed += 1;
                self.during_latency.record(latency);
            } else {
                self.during.failed += 1;
            }
        }
        let threshold = *self.slow_threshold.get_or_insert_with(|| {
            let p99 = self.baseline_latency.quantile_ms(0.99);
            SimDuration::from_secs_f64(p99 * 1.5 / 1e3)
        });
        let index = ((created - self.start).as_nanos() / BUCKET.as_nanos()) as usize;
        if index >= MAX_BUCKETS {
            return;
        }
        if self.buckets.len() <= index {
            self.buckets.resize(index + 1, Bucket::default());
        }
        let b = &mut self.buckets[index];
        b.total += 1;
        if !ok {
            b.errors += 1;
        } else if self.baseline.completed > 0 && latency > threshold {
            b.slow += 1;
        }
    }

    fn baseline_error_rate(&self) -> f64 {
        rate(self.baseline.failed, self.baseline.created)
    }

    /// When the system recovered (see the module docs), if it did before `run_end`.
    fn recovered_at(&self, run_end: SimTime) -> Option<SimTime> {
        let allowed = self.baseline_error_rate() + 0.01;
        let mut streak_start = None;
        let mut streak = 0;
        for k in 0..MAX_BUCKETS {
            let bucket_start = self.start + BUCKET.mul_f64(k as f64);
            if bucket_start + BUCKET + SETTLE > run_end {
                break;
            }
            let b = self.buckets.get(k).copied().unwrap_or_default();
            let normal =
                b.total > 0 && rate(b.errors, b.total) <= allowed && rate(b.slow, b.total) <= 0.01;
            if normal {
                streak_start.get_or_insert(bucket_start);
                streak += 1;
                if streak >= SUSTAIN {
                    return streak_start;
                }
            } else {
                streak_start = None;
                streak = 0;
            }
        }
        None
    }

    fn report(&self, run_end: SimTime) -> Value {
        let recovered = self.recovered_at(run_end);
        let during = self.during_latency.summary();
        json!({
            "start_s": self.start.as_secs_f64(),
            "end_s": self.end.as_secs_f64(),
            "baseline": {
                "requests": self.baseline.created,
                "errors": self.baseline.failed,
                "error_rate": self.baseline_error_rate(),
                "p99_ms": self.baseline_latency.quantile_ms(0.99),
            },
            "during": {
                "requests": self.during.created,
                "errors": self.during.failed,
                "error_rate": rate(self.during.failed, self.during.created),
                "p99_ms": during.p99,
                "latency_ms": during,
            },
            "recovered_at_s": recovered.map(SimTime::as_secs_f64),
            "recovery_s": recovered.map(|t| t.saturating_since(self.start).as_secs_f64()),
        })
    }
}

fn rate(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The fault injector and impact monitor (see the module docs).
pub struct Injector {
    deliveries: Vec<Delivery>,
    impacts: Vec<Impact>,
    metrics: RequestMetrics,
}

impl Injector {
    /// Plans every delivery of the scenario's faults for a run of `duration`. `ids` maps names
    /// to component ids; `rng` draws random failure times.
    pub fn build(
        scenario: &Scenario,
        region: &Region,
        ids: &std::collections::BTreeMap<String, ComponentId>,
        duration: SimDuration,
        warmup_end: SimTime,
        mut rng: SimRng,
    ) -> Injector {
        let run_end = SimTime::ZERO + duration;
        let az_targets: Vec<ComponentId> = scenario
            .components
            .iter()
            .filter(|c| AZ_KINDS.contains(&c.spec.kind()))
            .map(|c| ids[&c.name])
            .collect();
        let mut deliveries = Vec::new();
        let mut impacts = Vec::new();
        for (index, fault) in scenario.faults.iter().enumerate() {
            let f = fault.get_ref();
            let at = SimTime::ZERO + f.at.as_ref().map_or(SimDuration::ZERO, |a| *a.get_ref());
            let end = f.duration.as_ref().map_or(run_end, |d| at + *d.get_ref());
            let target = f.component.as_ref().map(|c| ids[c.get_ref()]);
            let mut push = |at: SimTime, target: ComponentId, action: FaultAction| {
                deliveries.push(Delivery { at, target, action })
            };
            let (subject, start, window_end) = match f.kind.get_ref().as_str() {
                "az_outage" => {
                    let name = f.az.as_ref().expect("validated").get_ref();
                    let az = region.az_index(name).expect("validated");
                    for &t in &az_targets {
                        push(at, t, FaultAction::AzDown { az });
                    }
                    for &t in &az_targets {
                        push(end, t, FaultAction::AzUp { az });
                    }
                    (name.clone(), at, end)
                }
                "instance_failure" => {
                    let target = target.expect("validated");
                    let times: Vec<SimTime> = match (&f.times, &f.rate) {
                        (Some(times), _) => {
                            let mut t: Vec<SimTime> = times
                                .get_ref()
                                .iter()
                                .map(|t| SimTime::ZERO + *t.get_ref())
                                .collect();
                            t.sort();
                            t
                        }
                        (None, Some(rate)) => poisson_times(
                            rate.get_ref().per_second(),
                            at,
                            end.min(run_end),
                            &mut rng,
                        ),
                        (None, None) => Vec::new(),
                    };
                    for &t in &times {
                        push(t, target, FaultAction::InstanceFailure);
                    }
                    let (start, window_end) = if f.times.is_some() {
                        let first = times.first().copied().unwrap_or(at);
                        let last = times.last().copied().unwrap_or(at);
                        (first, last + AFTER_LAST_FAILURE)
                    } else {
                        (at, end)
                    };
                    (
                        f.component.as_ref().expect("validated").get_ref().clone(),
                        start,
                        window_end,
                    )
                }
                "latency_injection" => {
                    let target = target.expect("validated");
                    let factor = *f.factor.as_ref().expect("validated").get_ref();
                    let factor_ppm = (factor * PPM).round() as u32;
                    push(at, target, FaultAction::Slowdown { factor_ppm });
                    push(
                        end,
                        target,
                        FaultAction::Slowdown {
                            factor_ppm: PPM as u32,
                        },
                    );
                    (
                        f.component.as_ref().expect("validated").get_ref().clone(),
                        at,
                        end,
                    )
                }
                _ => {
                    let target = target.expect("validated");
                    let fraction = *f.fraction.as_ref().expect("validated").get_ref();
                    let fraction_ppm = (fraction * PPM).round() as u32;
                    push(at, target, FaultAction::Errors { fraction_ppm });
                    push(end, target, FaultAction::Errors { fraction_ppm: 0 });
                    (
                        f.component.as_ref().expect("validated").get_ref().clone(),
                        at,
                        end,
                    )
                }
            };
            impacts.push(Impact {
                label: f.label(index),
                kind: f.kind.get_ref().clone(),
                subject,
                all: Tally::new(start, window_end),
                workloads: scenario
                    .workloads
                    .iter()
                    .map(|w| (w.name.get_ref().clone(), Tally::new(start, window_end)))
                    .collect(),
            });
        }
        // Deliveries past the end never happen; the rest go out in time order (ties in plan
        // order), which is the order the engine keeps for events scheduled at once.
        deliveries.retain(|d| d.at < run_end);
        deliveries.sort_by_key(|d| d.at);
        Injector {
            deliveries,
            impacts,
            metrics: RequestMetrics::new(warmup_end),
        }
    }
}

/// Event times of a Poisson process of `per_second` on [`from`, `to`).
fn poisson_times(per_second: f64, from: SimTime, to: SimTime, rng: &mut SimRng) -> Vec<SimTime> {
    let mut out = Vec::new();
    if per_second <= 0.0 {
        return out;
    }
    let mut t = from;
    loop {
        let u: f64 = rng.random();
        t += SimDuration::from_secs_f64(-(1.0 - u).ln() / per_second);
        if t >= to {
            return out;
        }
        out.push(t);
    }
}

impl Component for Injector {
    fn kind(&self) -> &'static str {
        INJECTOR_KIND
    }

    fn init(&mut self, cx: &mut Ctx<'_>) {
        for d in &self.deliveries {
            cx.send_after(
                d.target,
                d.at.saturating_since(cx.now()),
                Msg::Control(Control::Fault(d.action)),
            );
        }
    }

    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        // Workloads copy their final answers here.
        if let Msg::Response(response) = msg {
            let now = cx.now();
            let created = response.request.created_at;
            let ok = response.outcome.is_ok();
            let workload = response.request.workload as usize;
            for impact in &mut self.impacts {
                impact.record(workload, created, now, ok);
            }
        }
    }

    fn in_flight(&self) -> u64 {
        0
    }

    fn sample(&mut self, _now: SimTime, row: &mut SeriesRow) {
        self.metrics.sample(0, row);
    }

    fn report(&self, end: SimTime) -> ComponentReport {
        let faults: Vec<Value> = self.impacts.iter().map(|i| i.report(end)).collect();
        self.metrics
            .report(INJECTOR_KIND, 0)
            .figure("faults", faults)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs_f64(s)
    }

    /// A tally of a fault from 100 s to 200 s, fed one request every 100 ms from 0 to `until`
    /// seconds; `bad(t)` says whether the request sent at `t` fails.
    fn tally(until: f64, bad: impl Fn(f64) -> bool) -> Tally {
        let mut t = Tally::new(secs(100.0), secs(200.0));
        let mut sent = 0.0;
        while sent < until {
            // 10 ms each, or a failure after 60 s (an ALB's 504).
            let (ok, took) = if bad(sent) {
                (false, 60.0)
            } else {
                (true, 0.01)
            };
            t.record(secs(sent), secs(sent + took), ok);
            sent += 0.1;
        }
        t
    }

    #[test]
    fn recovery_starts_with_six_normal_buckets_in_a_row() {
        // Requests sent from 100 s to 125 s fail (their answers come a minute later).
        let t = tally(400.0, |s| (100.0..125.0).contains(&s));
        assert_eq!(t.recovered_at(secs(400.0)), Some(secs(130.0)));
        // A few failures (3 %) late in a streak restart it.
        let t = tally(400.0, |s| {
            (100.0..125.0).contains(&s) || (150.0..150.25).contains(&s)
        });
        assert_eq!(t.recovered_at(secs(400.0)), Some(secs(160.0)));
        // Never disturbed: recovered at once.
        let t = tally(400.0, |_| false);
        assert_eq!(t.recovered_at(secs(400.0)), Some(secs(100.0)));
        // Not enough judged buckets before the end (the last minute is not judged).
        let t = tally(400.0, |s| (100.0..125.0).contains(&s));
        assert_eq!(t.recovered_at(secs(180.0)), None);
    }

    #[test]
    fn slow_answers_count_against_recovery() {
        let mut t = Tally::new(secs(100.0), secs(200.0));
        let mut sent = 0.0;
        while sent < 400.0 {
            // 10 ms normally; 20 ms (over 1.5 x the baseline p99) for requests sent in the
            // first 40 s of the fault.
            let took = if (100.0..140.0).contains(&sent) {
                0.02
            } else {
                0.01
            };
            t.record(secs(sent), secs(sent + took), true);
            sent += 0.1;
        }
        assert_eq!(t.recovered_at(secs(400.0)), Some(secs(140.0)));
        assert_eq!(t.during.created, 1000);
        assert_eq!(t.baseline.created, 600);
    }

    #[test]
    fn poisson_failure_times_follow_the_rate() {
        let mut rng = crate::engine::rng::stream(1, "test");
        let times = poisson_times(2.0, secs(0.0), secs(10_000.0), &mut rng);
        // 20,000 expected, sd 141.
        assert!(
            (times.len() as f64 - 20_000.0).abs() < 5.0 * 141.5,
            "{}",
            times.len()
        );
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert!(times.iter().all(|&t| t < secs(10_000.0)));
    }

    #[test]
    fn injected_effects_start_and_end() {
        let mut injected = Injected::default();
        let rng = crate::engine::rng::stream(1, "test");
        assert!(!injected.fails(true, &rng));
        injected.apply(FaultAction::Slowdown {
            factor_ppm: 2_500_000,
        });
        assert_eq!(
            injected.stretch(SimDuration::from_millis(10)),
            SimDuration::from_millis(25)
        );
        injected.apply(FaultAction::Errors {
            fraction_ppm: 1_000_000,
        });
        assert!(injected.fails(true, &rng));
        injected.apply(FaultAction::Errors { fraction_ppm: 0 });
        assert!(!injected.fails(true, &rng));
        assert_eq!(injected.injected_errors, 1);
    }
}
