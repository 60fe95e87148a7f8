//! `step_functions`: an AWS Step Functions state machine (Standard or Express), written as a
//! small subset of the Amazon States Language, inline or in an ASL JSON file.
//!
//! ```toml
//! [[component]]
//! name = "checkout"
//! kind = "step_functions"
//! type = "standard"                   # or "express"
//! invocation = "async"                # "sync": StartSyncExecution (Express only)
//! definition_file = "checkout.asl.json"   # relative to the scenario; or inline:
//! # [component.definition]
//! # StartAt = "Charge"
//! # [component.definition.States.Charge]
//! # Type = "Task"
//! # Resource = "payments"               # any component that accepts requests
//! # Op = "write"
//! # Retry = [ { ErrorEquals = ["States.ALL"], IntervalSeconds = 1, MaxAttempts = 3 } ]
//! # End = true
//! ```
//! Defaults come from `models/step_functions.toml`, with their sources.
//!
//! # What it follows (AWS's documentation)
//! - A request sent to the machine is a StartExecution: taken from the StartExecution token
//!   bucket (Standard: 300/s, burst 1 300; Express: 6 000/s) or refused with 429. A Standard
//!   execution, and an asynchronous Express one, is answered at once; a synchronous Express
//!   execution (`invocation = "sync"`) is answered when it ends: success, a 500 when it
//!   failed, a timeout when it ran past its `TimeoutSeconds` (Express: at most 5 minutes).
//! - Each state an execution enters, and each retry, is a state transition: it takes a token
//!   from the state-transition bucket (Standard: 1 500/s, burst 5 000; Express: none), waiting
//!   for one if the bucket is empty (the execution slows down, it does not fail), and then
//!   `transition_overhead` (an assumption: 20 ms Standard, 5 ms Express) before the state acts.
//! - States: `Task` calls its `Resource` (any component that accepts requests) with `Op` and
//!   waits for its answer, at most `TimeoutSeconds`; `Wait` waits `Seconds`; `Pass` moves on;
//!   `Choice` takes the first rule that matches the request (`$.op` with `StringEquals`,
//!   `$.key` or `$.item_kb` with the numeric comparisons) or, for `Probability` rules, one
//!   drawn at random; `Parallel` runs its `Branches` side by side and goes on when all have
//!   succeeded; `Map` runs its `ItemProcessor` once for each of its `Items`, at most
//!   `MaxConcurrency` at once (0: no limit); `Succeed` and `Fail` end a branch.
//! - Errors: a task's throttle raises `Throttled`, its error `ServiceError`, its timeout (its
//!   own or the callee's) `States.Timeout`; a Choice with no match `States.NoChoiceMatched`; a
//!   Fail state its `Error`. `States.TaskFailed` matches every error but `States.Timeout`,
//!   `States.ALL` every error. The first `Retry` entry that matches retries the state after
//!   `IntervalSeconds × BackoffRate^(n−1)` (capped at `MaxDelaySeconds`; with `JitterStrategy =
//!   "FULL"` drawn uniformly from 0 to that), up to `MaxAttempts` retries per entry; then the
//!   first matching `Catch` entry goes to its `Next`; otherwise the branch fails, and with it
//!   its Parallel or Map state (whose other branches stop), up to the execution.
//! - Figures: `executions_started`, `succeeded`, `failed`, `timed_out`, `throttled` (start
//!   refused), `state_transitions`, `transitions_throttled` (transitions that waited for a
//!   token), `task_calls`, `retries`, `caught`, `map_concurrency_max`, and `duration_ms`
//!   (percentiles of ended executions).
//!
//! # What it simplifies
//! Requests carry no payload: data-flow fields (`Parameters`, `ResultPath`, `InputPath`...) are
//! accepted and ignored, a Choice reads only the request's operation, key and size, and a Map
//! has a fixed number of `Items`. Only inline Map (no distributed Map), no activities, no
//! callback tasks (`.waitForTaskToken`), no `HeartbeatSeconds`. Tasks name components, not ARNs.
//! The StartExecution and transition buckets are per machine (AWS's are per account and
//! Region). Express's at-least-once asynchronous semantics (an execution run twice) are not
//! modelled. A throttled transition is retried after the time one token takes to accrue. Not
//! billed.

mod asl;
mod machine;
mod outputs;

use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

use serde::Deserialize;
use toml::Spanned;

use super::api_gateway::ThrottleSpec;
use super::{BuildContext, Expects, Kind, Reference, SpecIssue};
use crate::engine::ComponentId;
use crate::engine::time::SimDuration;
use crate::metrics::{Observe, RequestMetrics};
use crate::units::Rate;
use asl::{AslIssue, Definition, Resources};
use machine::{Limits, Runner};

/// The `step_functions` table of a scenario.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "RawSpec")]
pub struct Spec {
    raw: RawSpec,
    /// Task resources of an inline definition, each at the definition's place.
    #[schemars(with = "Vec<String>")]
    resources: Vec<Spanned<String>>,
}

/// The table as written.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    /// `"standard"` (default) or `"express"`.
    #[serde(rename = "type", default)]
    machine_type: MachineType,
    /// `"async"` (default) or `"sync"` (Express only).
    #[schemars(with = "Option<Invocation>")]
    invocation: Option<Spanned<Invocation>>,
    /// The definition, inline.
    #[schemars(with = "Option<Definition>")]
    definition: Option<Spanned<Definition>>,
    /// The definition as an ASL JSON file, relative to the scenario.
    #[schemars(with = "Option<String>")]
    definition_file: Option<Spanned<String>>,
    /// StartExecution throttling (default: AWS's, by type).
    start_throttle: Option<ThrottleSpec>,
    /// State-transition throttling (default: AWS's for Standard; none for Express).
    transition_throttle: Option<ThrottleSpec>,
    /// Time per state transition before the state acts (default: an assumption, by type);
    /// above zero.
    #[schemars(with = "Option<SimDuration>")]
    transition_overhead: Option<Spanned<SimDuration>>,
}

/// The two workflow types.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MachineType {
    /// Durable, up to a year, transitions throttled.
    #[default]
    Standard,
    /// Up to 5 minutes, no transition throttling.
    Express,
}

/// How callers start executions.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Invocation {
    /// StartExecution: answered once started.
    #[default]
    Async,
    /// StartSyncExecution: answered when the execution ends.
    Sync,
}

impl TryFrom<RawSpec> for Spec {
    type Error = String;
    fn try_from(raw: RawSpec) -> Result<Spec, String> {
        let mut resources = Vec::new();
        if let Some(d) = &raw.definition {
            let mut names = Vec::new();
            collect_resources(&d.get_ref().states, &mut names);
            resources = names
                .into_iter()
                .map(|n| Spanned::new(d.span(), n))
                .collect();
        }
        Ok(Spec { raw, resources })
    }
}

fn collect_resources(
    states: &std::collections::BTreeMap<String, asl::StateSpec>,
    out: &mut Vec<String>,
) {
    for s in states.values() {
        if let Some(r) = &s.resource
            && !out.contains(r)
        {
            out.push(r.clone());
        }
        for b in &s.branches {
            collect_resources(&b.states, out);
        }
        if let Some(p) = &s.item_processor {
            collect_resources(&p.states, out);
        }
    }
}

/// `models/step_functions.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Defaults {
    start_rate: Rate,
    start_burst: u32,
    express_start_rate: Rate,
    express_start_burst: u32,
    transition_rate: Rate,
    transition_burst: u32,
    transition_overhead: SimDuration,
    express_transition_overhead: SimDuration,
    max_duration: SimDuration,
    express_max_duration: SimDuration,
    max_open_executions: u64,
    max_definition_bytes: u64,
}

const DEFAULTS_TOML: &str = include_str!("../../../models/step_functions.toml");

/// The Step Functions defaults.
pub(crate) fn defaults() -> &'static Defaults {
    static DEFAULTS: OnceLock<Defaults> = OnceLock::new();
    DEFAULTS.get_or_init(|| {
        toml::from_str(DEFAULTS_TOML).expect("models/step_functions.toml is checked by a test")
    })
}

/// Accepts any name (structure is checked before the components are known).
struct AnyResource;

impl Resources for AnyResource {
    fn resolve(&self, _name: &str) -> Result<ComponentId, String> {
        Ok(ComponentId(0))
    }
}

/// Resolves names against the scenario's components.
struct ScenarioResources<'a, 'b>(&'a BuildContext<'b>);

impl Resources for ScenarioResources<'_, '_> {
    fn resolve(&self, name: &str) -> Result<ComponentId, String> {
        match self.0.specs.get(name) {
            Some(spec) if spec.accepts_requests() => Ok(self.0.id(name)),
            Some(spec) => Err(format!(
                "`{name}` is {} {}, which accepts no requests",
                super::article(spec.kind()),
                spec.kind()
            )),
            None => {
                let names: Vec<&str> = self
                    .0
                    .specs
                    .iter()
                    .filter(|(_, s)| s.accepts_requests())
                    .map(|(n, _)| n.as_str())
                    .collect();
                Err(format!(
                    "unknown component `{name}`{}",
                    crate::units::did_you_mean(name, &names)
                ))
            }
        }
    }
}

fn issue(field: String, message: String, span: Range<usize>) -> SpecIssue {
    SpecIssue {
        field,
        message,
        span,
    }
}

impl Kind for Spec {
    const KIND: &'static str = "step_functions";
    const SUMMARY: &'static str = "A state machine written in a subset of the Amazon States Language, inline or as the ASL \
         JSON file itself (`definition_file`, relative to the scenario; its errors are located in \
         that file).";
    const FOLLOWS: &'static str = "a subset of the Amazon States Language (Task, Wait, Pass, Choice, Parallel, Map with \
         MaxConcurrency, Succeed, Fail; Retry with back-off, cap and full jitter; Catch), inline \
         or as an ASL JSON file; StartExecution bucket (Standard 300/s burst 1 300, Express 6 \
         000/s) with 429; state-transition bucket (Standard 1 500/s, burst 5 000) that delays \
         executions; execution timeouts (Standard 1 year, Express 5 minutes); Express synchronous \
         executions";
    const SIMPLIFIES: &'static str = "requests carry no payload: data-flow fields ignored, Choice reads the request's \
         operation, key and size, a Map has a fixed item count; a fixed assumed overhead per \
         transition; buckets per machine, not per account; no distributed Map, activities or \
         callbacks; Express at-least-once re-runs not modelled; not billed";
    const ACCEPTS_REQUESTS: bool = true;

    fn references(&self) -> Vec<Reference<'_>> {
        self.resources
            .iter()
            .map(|r| Reference {
                field: "definition (a Task's Resource)".into(),
                name: r,
                expects: Expects::RequestTarget,
                synchronous: true,
            })
            .collect()
    }

    fn check(&self, span: Range<usize>) -> Vec<SpecIssue> {
        let r = &self.raw;
        let mut out = Vec::new();
        match (&r.definition, &r.definition_file) {
            (None, None) => out.push(issue(
                "definition".into(),
                "a state machine needs `definition` (inline) or `definition_file` (an ASL JSON \
                 file)"
                    .into(),
                span,
            )),
            (Some(_), Some(f)) => out.push(issue(
                "definition_file".into(),
                "give `definition` or `definition_file`, not both".into(),
                f.span(),
            )),
            (Some(d), None) => {
                if let Err(AslIssue { path, message }) = d.get_ref().compile(&AnyResource) {
                    // The loader names the field from the span (the definition's table);
                    // the message names the field inside it.
                    out.push(issue(
                        format!("definition.{}", path.join(".")),
                        format!("{}: {message}", path.join(".")),
                        d.span(),
                    ));
                }
            }
            (None, Some(_)) => {}
        }
        if let Some(i) = &r.invocation
            && *i.get_ref() == Invocation::Sync
            && r.machine_type == MachineType::Standard
        {
            out.push(issue(
                "invocation".into(),
                "synchronous executions (StartSyncExecution) are for Express workflows; set \
                 `type = \"express\"` or leave out `invocation`"
                    .into(),
                i.span(),
            ));
        }
        if let Some(o) = &r.transition_overhead
            && o.get_ref().is_zero()
        {
            out.push(issue(
                "transition_overhead".into(),
                "must be longer than zero: a state machine that loops (`Next` back to an earlier \
                 state) would then run for ever at one instant and simulated time would stop"
                    .into(),
                o.span(),
            ));
        }
        for (field, t) in [
            ("start_throttle", &r.start_throttle),
            ("transition_throttle", &r.transition_throttle),
        ] {
            if let Some(t) = t {
                t.issues(field, &mut out);
            }
        }
        out
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String> {
        let r = &self.raw;
        let d = defaults();
        let resources = ScenarioResources(cx);
        let machine = match (&r.definition, &r.definition_file) {
            (Some(def), _) => def
                .get_ref()
                .compile(&resources)
                .map_err(|e| format!("definition.{}: {}", e.path.join("."), e.message))?,
            (None, Some(file)) => load_file(cx.base_dir, file.get_ref(), &resources)?,
            (None, None) => return Err("no definition".into()),
        };
        let express = r.machine_type == MachineType::Express;
        let bucket = |t: &Option<ThrottleSpec>, rate: Rate, burst: u32| {
            let (rate, burst) = t
                .as_ref()
                .map_or((rate, burst), |t| (*t.rate.get_ref(), *t.burst.get_ref()));
            super::token_bucket::ExactBucket::new(rate, burst)
        };
        let start = if express {
            bucket(
                &r.start_throttle,
                d.express_start_rate,
                d.express_start_burst,
            )
        } else {
            bucket(&r.start_throttle, d.start_rate, d.start_burst)
        };
        let transitions = match (&r.transition_throttle, express) {
            (None, true) => None,
            (t, _) => Some(bucket(t, d.transition_rate, d.transition_burst)),
        };
        let transition_rate = r
            .transition_throttle
            .as_ref()
            .map_or(d.transition_rate, |t| *t.rate.get_ref());
        let max_duration = if express {
            d.express_max_duration
        } else {
            d.max_duration
        };
        let limits = Limits {
            timeout: machine
                .timeout
                .map_or(max_duration, |t| t.min(max_duration)),
            overhead: r.transition_overhead.as_ref().map_or(
                if express {
                    d.express_transition_overhead
                } else {
                    d.transition_overhead
                },
                |o| *o.get_ref(),
            ),
            max_open: d.max_open_executions,
            sync: r
                .invocation
                .as_ref()
                .is_some_and(|i| *i.get_ref() == Invocation::Sync),
        };
        Ok(Box::new(
            Runner::new(
                machine,
                limits,
                start,
                transitions,
                RequestMetrics::new(cx.warmup_end),
            )
            .with_token_time(transition_rate.per_second()),
        ))
    }
}

/// Reads and compiles an ASL JSON file; problems are located in it (`file:line:column`).
fn load_file<R: Resources>(
    base_dir: &Path,
    file: &str,
    resources: &R,
) -> Result<asl::Machine, String> {
    let path = base_dir.join(file);
    let max = defaults().max_definition_bytes;
    let size = crate::files::file_len(&path)
        .map_err(|e| format!("definition_file `{}`: {e}", path.display()))?;
    if size > max {
        return Err(format!(
            "definition_file `{}` has {size} bytes; Step Functions takes definitions of at most \
             {max}",
            path.display()
        ));
    }
    let text = crate::files::read_to_string(&path)
        .map_err(|e| format!("definition_file `{}`: {e}", path.display()))?;
    let definition: Definition = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}:{}:{}: {}",
            path.display(),
            e.line(),
            e.column(),
            asl::with_suggestion(&strip_position(&e.to_string()))
        )
    })?;
    definition.compile(resources).map_err(|e| {
        let (line, column) = asl::line_col(&text, asl::locate(&text, &e.path));
        format!(
            "{}:{line}:{column}: {}: {}",
            path.display(),
            e.path.join("."),
            e.message
        )
    })
}

/// serde_json's message without its " at line L column C" (the location comes first).
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests;
