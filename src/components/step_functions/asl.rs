//! The subset of the Amazon States Language awsim reads, as written inline in the scenario
//! (TOML) or in an ASL JSON file, and its compilation into a flat list of states.
//!
//! Read: `StartAt`, `States`, `TimeoutSeconds`, `Comment`, `Version`; state types `Task`,
//! `Wait`, `Pass`, `Choice`, `Parallel`, `Map`, `Succeed`, `Fail`; `Retry` (`ErrorEquals`,
//! `IntervalSeconds`, `MaxAttempts`, `BackoffRate`, `MaxDelaySeconds`, `JitterStrategy`) and
//! `Catch` (`ErrorEquals`, `Next`). Data-flow fields (`Parameters`, `ResultPath`...) are
//! accepted and ignored: requests carry no payload. awsim's own fields: a Task's `Resource` is
//! a component name and `Op` its operation; a Choice rule may be `{ Probability = 0.3, Next }`;
//! a Map's `Items` is its number of items.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::engine::ComponentId;
use crate::engine::time::SimDuration;
use crate::message::Op;

/// A state machine definition.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
// ASL fields awsim accepts and ignores are read into `IgnoredAny` and never used.
#[allow(dead_code)]
pub struct Definition {
    /// The first state.
    #[serde(rename = "StartAt")]
    pub start_at: String,
    /// The states by name.
    #[serde(rename = "States")]
    pub states: BTreeMap<String, StateSpec>,
    /// Longest run of an execution, in seconds.
    #[serde(rename = "TimeoutSeconds")]
    pub timeout_seconds: Option<u64>,
    /// Ignored.
    #[serde(rename = "Comment", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub comment: Option<IgnoredAny>,
    /// Ignored.
    #[serde(rename = "Version", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub version: Option<IgnoredAny>,
    /// Ignored (JSONata or JSONPath).
    #[serde(rename = "QueryLanguage", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub query_language: Option<IgnoredAny>,
}

/// A branch of a Parallel state or a Map's item processor.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
// ASL fields awsim accepts and ignores are read into `IgnoredAny` and never used.
#[allow(dead_code)]
pub struct Branch {
    /// The first state.
    #[serde(rename = "StartAt")]
    pub start_at: String,
    /// The states by name.
    #[serde(rename = "States")]
    pub states: BTreeMap<String, StateSpec>,
    /// Ignored.
    #[serde(rename = "Comment", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub comment: Option<IgnoredAny>,
    /// Ignored (a Map's `ProcessorConfig`).
    #[serde(rename = "ProcessorConfig", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub processor_config: Option<IgnoredAny>,
}

/// One state, all types in one table (the loader checks which fields a type may have).
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
// ASL fields awsim accepts and ignores are read into `IgnoredAny` and never used.
#[allow(dead_code)]
pub struct StateSpec {
    /// The state type: Task, Wait, Pass, Choice, Parallel, Map, Succeed or Fail.
    #[serde(rename = "Type")]
    pub kind: String,
    /// The state that follows.
    #[serde(rename = "Next")]
    pub next: Option<String>,
    /// The execution ends after this state.
    #[serde(rename = "End")]
    pub end: Option<bool>,
    /// Task: the component it calls (any component that accepts requests).
    #[serde(rename = "Resource")]
    pub resource: Option<String>,
    /// Task: the operation of its request (default: the execution's own).
    #[serde(rename = "Op")]
    pub op: Option<Op>,
    /// Task: the longest wait for the answer, in seconds (then States.Timeout).
    #[serde(rename = "TimeoutSeconds")]
    pub timeout_seconds: Option<u64>,
    /// Wait: how long, in seconds.
    #[serde(rename = "Seconds")]
    pub seconds: Option<u64>,
    /// Retriers, tried in order for a failed Task, Parallel or Map.
    #[serde(rename = "Retry", default)]
    pub retry: Vec<RetrySpec>,
    /// Catchers, after the retries: the state to go to on an error.
    #[serde(rename = "Catch", default)]
    pub catch: Vec<CatchSpec>,
    /// Choice: the rules, the first that matches chooses the next state.
    #[serde(rename = "Choices", default)]
    pub choices: Vec<ChoiceRule>,
    /// Choice: the state when no rule matches (else States.NoChoiceMatched).
    #[serde(rename = "Default")]
    pub default: Option<String>,
    /// Parallel: the branches, run at once.
    #[serde(rename = "Branches", default)]
    pub branches: Vec<Branch>,
    /// Map: the states run for each item.
    #[serde(rename = "ItemProcessor", alias = "Iterator")]
    pub item_processor: Option<Branch>,
    /// Map: items processed at once (0: no limit).
    #[serde(rename = "MaxConcurrency")]
    pub max_concurrency: Option<u32>,
    /// Map: how many items (requests carry no payload).
    #[serde(rename = "Items")]
    pub items: Option<u32>,
    /// Fail: the error name.
    #[serde(rename = "Error")]
    pub error: Option<String>,
    #[serde(rename = "Cause", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub cause: Option<IgnoredAny>,
    #[serde(rename = "Comment", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub comment: Option<IgnoredAny>,
    #[serde(rename = "Parameters", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub parameters: Option<IgnoredAny>,
    #[serde(rename = "Arguments", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub arguments: Option<IgnoredAny>,
    #[serde(rename = "ResultPath", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub result_path: Option<IgnoredAny>,
    #[serde(rename = "ResultSelector", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub result_selector: Option<IgnoredAny>,
    #[serde(rename = "InputPath", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub input_path: Option<IgnoredAny>,
    #[serde(rename = "OutputPath", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub output_path: Option<IgnoredAny>,
    #[serde(rename = "Output", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub output: Option<IgnoredAny>,
    #[serde(rename = "Assign", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub assign: Option<IgnoredAny>,
    #[serde(rename = "Result", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub result: Option<IgnoredAny>,
    #[serde(rename = "ItemsPath", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub items_path: Option<IgnoredAny>,
    #[serde(rename = "ItemSelector", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub item_selector: Option<IgnoredAny>,
    #[serde(rename = "HeartbeatSeconds", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub heartbeat_seconds: Option<IgnoredAny>,
}

/// A retrier.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
// ASL fields awsim accepts and ignores are read into `IgnoredAny` and never used.
#[allow(dead_code)]
pub struct RetrySpec {
    /// The errors it retries (`States.ALL`, `States.TaskFailed`, `States.Timeout`, ...).
    #[serde(rename = "ErrorEquals")]
    pub error_equals: Vec<String>,
    /// Wait before the first retry, in seconds (default 1).
    #[serde(rename = "IntervalSeconds")]
    pub interval_seconds: Option<f64>,
    /// Retries at most (default 3; 0: never).
    #[serde(rename = "MaxAttempts")]
    pub max_attempts: Option<u32>,
    /// Each wait is the previous one times this (default 2).
    #[serde(rename = "BackoffRate")]
    pub backoff_rate: Option<f64>,
    /// The longest wait between retries, in seconds.
    #[serde(rename = "MaxDelaySeconds")]
    pub max_delay_seconds: Option<f64>,
    /// `"FULL"`: each wait drawn uniformly up to its value; `"NONE"` (default).
    #[serde(rename = "JitterStrategy")]
    pub jitter_strategy: Option<String>,
    #[serde(rename = "Comment", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub comment: Option<IgnoredAny>,
}

/// A catcher.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
// ASL fields awsim accepts and ignores are read into `IgnoredAny` and never used.
#[allow(dead_code)]
pub struct CatchSpec {
    /// The errors it catches.
    #[serde(rename = "ErrorEquals")]
    pub error_equals: Vec<String>,
    /// The state to go to.
    #[serde(rename = "Next")]
    pub next: String,
    #[serde(rename = "ResultPath", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub result_path: Option<IgnoredAny>,
    #[serde(rename = "Comment", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub comment: Option<IgnoredAny>,
}

/// A Choice rule: a comparison of a request field, or a probability.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
// ASL fields awsim accepts and ignores are read into `IgnoredAny` and never used.
#[allow(dead_code)]
pub struct ChoiceRule {
    /// The state to go to when the rule matches.
    #[serde(rename = "Next")]
    pub next: String,
    /// Matches with this probability (0 to 1), seeded: an awsim extension for branching without payloads.
    #[serde(rename = "Probability")]
    pub probability: Option<f64>,
    /// The request field compared: `$.op`, `$.key` or `$.item_kb`.
    #[serde(rename = "Variable")]
    pub variable: Option<String>,
    /// Matches when the field equals this text.
    #[serde(rename = "StringEquals")]
    pub string_equals: Option<String>,
    /// Matches when the field equals this number.
    #[serde(rename = "NumericEquals")]
    pub numeric_equals: Option<f64>,
    /// Matches when the field is below this number.
    #[serde(rename = "NumericLessThan")]
    pub numeric_less_than: Option<f64>,
    /// Matches when the field is above this number.
    #[serde(rename = "NumericGreaterThan")]
    pub numeric_greater_than: Option<f64>,
    /// Matches when the field is at most this number.
    #[serde(rename = "NumericLessThanEquals")]
    pub numeric_less_than_equals: Option<f64>,
    /// Matches when the field is at least this number.
    #[serde(rename = "NumericGreaterThanEquals")]
    pub numeric_greater_than_equals: Option<f64>,
    #[serde(rename = "Comment", default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub comment: Option<IgnoredAny>,
}

/// The error names awsim raises, in the order of their codes.
pub const BUILT_IN_ERRORS: [&str; 6] = [
    "States.ALL",
    "States.TaskFailed",
    "States.Timeout",
    "States.NoChoiceMatched",
    "Throttled",
    "ServiceError",
];
/// Codes of [`BUILT_IN_ERRORS`].
pub const ALL: u32 = 0;
/// See [`BUILT_IN_ERRORS`].
pub const TASK_FAILED: u32 = 1;
/// See [`BUILT_IN_ERRORS`].
pub const TIMEOUT: u32 = 2;
/// See [`BUILT_IN_ERRORS`].
pub const NO_CHOICE_MATCHED: u32 = 3;
/// See [`BUILT_IN_ERRORS`].
pub const THROTTLED: u32 = 4;
/// See [`BUILT_IN_ERRORS`].
pub const SERVICE_ERROR: u32 = 5;

/// The most states of one machine, branches and item processors included.
pub const MAX_STATES: usize = 10_000;
/// The most items of one Map state.
pub const MAX_ITEMS: u32 = 10_000;

/// A request field a Choice rule compares.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Field {
    /// `$.op`.
    Op,
    /// `$.key`.
    Key,
    /// `$.item_kb`.
    ItemKb,
}

/// A comparison.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Test {
    /// Equal to an operation.
    OpIs(Op),
    /// Numeric comparisons.
    Eq(f64),
    /// <.
    Lt(f64),
    /// >.
    Gt(f64),
    /// ≤.
    Le(f64),
    /// ≥.
    Ge(f64),
}

/// A compiled Choice rule.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Rule {
    /// Taken with this probability (rules are drawn from one uniform number, in order).
    Probability(f64, usize),
    /// Taken when the field passes the test.
    Compare(Field, Test, usize),
}

/// A compiled retrier.
#[derive(Clone, Debug, PartialEq)]
pub struct Retrier {
    /// Error codes it matches.
    pub errors: Vec<u32>,
    /// The first delay.
    pub interval: f64,
    /// Retries at most.
    pub max_attempts: u32,
    /// Each delay is the previous one times this.
    pub backoff_rate: f64,
    /// Cap on a delay, in seconds.
    pub max_delay: Option<f64>,
    /// Full jitter: a delay is drawn uniformly between 0 and its value.
    pub full_jitter: bool,
}

impl Retrier {
    /// The delay before retry `n` (1 for the first), before jitter.
    pub fn delay(&self, n: u32) -> SimDuration {
        let mut secs = self.interval * self.backoff_rate.powi(n as i32 - 1);
        if let Some(max) = self.max_delay {
            secs = secs.min(max);
        }
        SimDuration::from_secs_f64(secs)
    }
}

/// What a state does.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Calls a component and waits for its answer.
    Task {
        /// The component.
        target: ComponentId,
        /// The operation asked.
        op: Op,
        /// Longest wait for the answer.
        timeout: Option<SimDuration>,
    },
    /// Waits.
    Wait(SimDuration),
    /// Moves on.
    Pass,
    /// Picks the next state.
    Choice {
        /// The rules, in order.
        rules: Vec<Rule>,
        /// The state when no rule matches.
        default: Option<usize>,
    },
    /// Ends its branch successfully.
    Succeed,
    /// Ends its branch with an error.
    Fail(u32),
    /// Runs branches side by side (their first states).
    Parallel(Vec<usize>),
    /// Runs its item processor (first state) once per item, at most `max_concurrency` at
    /// once (0: no limit).
    Map {
        /// The item processor's first state.
        start: usize,
        /// Items.
        items: u32,
        /// Iterations at once at most (0: no limit).
        max_concurrency: u32,
    },
}

/// A compiled state.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// Its name (for messages).
    pub name: String,
    /// What it does.
    pub action: Action,
    /// The next state; `None` ends the branch.
    pub next: Option<usize>,
    /// Its retriers.
    pub retry: Vec<Retrier>,
    /// Its catchers: error codes and the next state.
    pub catch: Vec<(Vec<u32>, usize)>,
}

/// A compiled machine: every state of every branch in one list.
#[derive(Clone, Debug, PartialEq)]
pub struct Machine {
    /// The states.
    pub states: Vec<State>,
    /// The top level's first state.
    pub start: usize,
    /// Longest run of an execution, if the definition sets one.
    pub timeout: Option<SimDuration>,
    /// Error names by code (built-in first).
    pub errors: Vec<String>,
}

/// A problem in a definition: the path of the field (`States.A.Next`) and what is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct AslIssue {
    /// Keys from the definition's root to the field.
    pub path: Vec<String>,
    /// What is wrong and what was expected.
    pub message: String,
}

/// How a definition names the components its tasks call.
pub trait Resources {
    /// The id of a component that accepts requests, or what is wrong with `name`.
    fn resolve(&self, name: &str) -> Result<ComponentId, String>;
}

/// Finds a state of the branch being compiled by name, or says where the name is wrong.
type StateIndex<'a> = dyn Fn(Vec<String>, &str) -> Result<usize, AslIssue> + 'a;

struct Compiler<'a, R> {
    resources: &'a R,
    machine: Machine,
}

impl Definition {
    /// Compiles the definition, resolving task resources with `resources`.
    pub fn compile<R: Resources>(&self, resources: &R) -> Result<Machine, AslIssue> {
        let mut c = Compiler {
            resources,
            machine: Machine {
                states: Vec::new(),
                start: 0,
                timeout: self.timeout_seconds.map(SimDuration::from_secs),
                errors: BUILT_IN_ERRORS.iter().map(|e| e.to_string()).collect(),
            },
        };
        let start = c.branch(&[], &self.start_at, &self.states)?;
        c.machine.start = start;
        Ok(c.machine)
    }
}

fn at(path: &[String], more: &[&str]) -> Vec<String> {
    let mut p = path.to_vec();
    p.extend(more.iter().map(|s| s.to_string()));
    p
}

fn fail<T>(path: Vec<String>, message: String) -> Result<T, AslIssue> {
    Err(AslIssue { path, message })
}

impl<R: Resources> Compiler<'_, R> {
    fn error_code(&mut self, name: &str) -> u32 {
        match self.machine.errors.iter().position(|e| e == name) {
            Some(i) => i as u32,
            None => {
                self.machine.errors.push(name.to_string());
                (self.machine.errors.len() - 1) as u32
            }
        }
    }

    /// Compiles the states of one branch (`path` leads to its `States`'s owner); returns the
    /// index of its first state.
    fn branch(
        &mut self,
        path: &[String],
        start_at: &str,
        states: &BTreeMap<String, StateSpec>,
    ) -> Result<usize, AslIssue> {
        if states.is_empty() {
            return fail(
                at(path, &["States"]),
                "a state machine needs at least one state".into(),
            );
        }
        let base = self.machine.states.len();
        if base + states.len() > MAX_STATES {
            return fail(
                at(path, &["States"]),
                format!("more than {MAX_STATES} states in all"),
            );
        }
        let names: Vec<&str> = states.keys().map(String::as_str).collect();
        let index = |field: Vec<String>, name: &str| -> Result<usize, AslIssue> {
            match names.iter().position(|n| *n == name) {
                Some(i) => Ok(base + i),
                None => fail(
                    field,
                    format!(
                        "no state `{name}` in this branch{}",
                        crate::units::did_you_mean(name, &names)
                    ),
                ),
            }
        };
        let start = index(at(path, &["StartAt"]), start_at)?;
        // Reserve the branch's slots first so that `Next` can name any of them.
        for name in states.keys() {
            self.machine.states.push(State {
                name: name.clone(),
                action: Action::Pass,
                next: None,
                retry: Vec::new(),
                catch: Vec::new(),
            });
        }
        for (i, (name, spec)) in states.iter().enumerate() {
            let here = at(path, &["States", name]);
            let next = match (&spec.next, spec.end, spec.kind.as_str()) {
                (_, _, "Choice" | "Succeed" | "Fail") => {
                    if spec.next.is_some() || spec.end.is_some() {
                        return fail(
                            at(&here, &[if spec.next.is_some() { "Next" } else { "End" }]),
                            format!("a {} state has no `Next` or `End`", spec.kind),
                        );
                    }
                    None
                }
                (Some(n), None | Some(false), _) => Some(index(at(&here, &["Next"]), n)?),
                (None, Some(true), _) => None,
                (Some(_), Some(true), _) => {
                    return fail(
                        at(&here, &["End"]),
                        "give `Next` or `End = true`, not both".into(),
                    );
                }
                (None, _, _) => {
                    return fail(here, "needs `Next` (a state's name) or `End = true`".into());
                }
            };
            let action = self.action(&here, spec, &index)?;
            let retry = spec
                .retry
                .iter()
                .enumerate()
                .map(|(j, r)| self.retrier(at(&here, &["Retry", &j.to_string()]), r))
                .collect::<Result<Vec<_>, _>>()?;
            let mut catch = Vec::new();
            for (j, c) in spec.catch.iter().enumerate() {
                let field = at(&here, &["Catch", &j.to_string()]);
                let errors = self.errors(at(&field, &["ErrorEquals"]), &c.error_equals)?;
                catch.push((errors, index(at(&field, &["Next"]), &c.next)?));
            }
            if !matches!(spec.kind.as_str(), "Task" | "Parallel" | "Map")
                && (!retry.is_empty() || !catch.is_empty())
            {
                return fail(
                    here,
                    format!(
                        "a {} state has no `Retry` or `Catch` (only Task, Parallel and Map have)",
                        spec.kind
                    ),
                );
            }
            let state = &mut self.machine.states[base + i];
            state.action = action;
            state.next = next;
            state.retry = retry;
            state.catch = catch;
        }
        Ok(start)
    }

    fn errors(&mut self, field: Vec<String>, names: &[String]) -> Result<Vec<u32>, AslIssue> {
        if names.is_empty() {
            return fail(
                field,
                "needs at least one error name, e.g. [\"States.ALL\"]".into(),
            );
        }
        if names.iter().any(|n| n == "States.ALL") && names.len() > 1 {
            return fail(field, "\"States.ALL\" must appear alone".into());
        }
        Ok(names.iter().map(|n| self.error_code(n)).collect())
    }

    fn retrier(&mut self, field: Vec<String>, r: &RetrySpec) -> Result<Retrier, AslIssue> {
        let errors = self.errors(at(&field, &["ErrorEquals"]), &r.error_equals)?;
        let interval = r.interval_seconds.unwrap_or(1.0);
        if !(1.0..=99_999_999.0).contains(&interval) || interval.fract() != 0.0 {
            return fail(
                at(&field, &["IntervalSeconds"]),
                format!("must be a whole number of seconds from 1 to 99999999, found {interval}"),
            );
        }
        let max_attempts = r.max_attempts.unwrap_or(3);
        if max_attempts > 99_999_999 {
            return fail(
                at(&field, &["MaxAttempts"]),
                format!("must be at most 99999999, found {max_attempts}"),
            );
        }
        let backoff_rate = r.backoff_rate.unwrap_or(2.0);
        if !(1.0..=1e6).contains(&backoff_rate) {
            return fail(
                at(&field, &["BackoffRate"]),
                format!("must be at least 1.0, found {backoff_rate}"),
            );
        }
        if let Some(m) = r.max_delay_seconds
            && !(m > 0.0 && m < 31_622_401.0)
        {
            return fail(
                at(&field, &["MaxDelaySeconds"]),
                format!("must be above 0 and below 31622401, found {m}"),
            );
        }
        let full_jitter = match r.jitter_strategy.as_deref() {
            None | Some("NONE") => false,
            Some("FULL") => true,
            Some(other) => {
                return fail(
                    at(&field, &["JitterStrategy"]),
                    crate::units::unknown_word(
                        "JitterStrategy",
                        other,
                        "\"FULL\" or \"NONE\"",
                        &[],
                        &["FULL", "NONE"],
                    ),
                );
            }
        };
        Ok(Retrier {
            errors,
            interval,
            max_attempts,
            backoff_rate,
            max_delay: r.max_delay_seconds,
            full_jitter,
        })
    }

    fn action(
        &mut self,
        here: &[String],
        spec: &StateSpec,
        index: &StateIndex<'_>,
    ) -> Result<Action, AslIssue> {
        let only = |allowed: bool, field: &str| -> Result<(), AslIssue> {
            if allowed {
                Ok(())
            } else {
                fail(
                    at(here, &[field]),
                    format!("a {} state has no `{field}`", spec.kind),
                )
            }
        };
        let kind = spec.kind.as_str();
        only(kind == "Task" || spec.resource.is_none(), "Resource")?;
        only(kind == "Task" || spec.op.is_none(), "Op")?;
        only(
            kind == "Task" || spec.timeout_seconds.is_none(),
            "TimeoutSeconds",
        )?;
        only(kind == "Wait" || spec.seconds.is_none(), "Seconds")?;
        only(kind == "Choice" || spec.choices.is_empty(), "Choices")?;
        only(kind == "Choice" || spec.default.is_none(), "Default")?;
        only(kind == "Parallel" || spec.branches.is_empty(), "Branches")?;
        only(
            kind == "Map" || spec.item_processor.is_none(),
            "ItemProcessor",
        )?;
        only(
            kind == "Map" || spec.max_concurrency.is_none(),
            "MaxConcurrency",
        )?;
        only(kind == "Map" || spec.items.is_none(), "Items")?;
        only(kind == "Fail" || spec.error.is_none(), "Error")?;
        Ok(match kind {
            "Task" => {
                let Some(name) = &spec.resource else {
                    return fail(
                        here.to_vec(),
                        "a Task state needs `Resource`: the component it calls".into(),
                    );
                };
                let target = self
                    .resources
                    .resolve(name)
                    .or_else(|m| fail(at(here, &["Resource"]), m))?;
                if spec.timeout_seconds == Some(0) {
                    return fail(at(here, &["TimeoutSeconds"]), "must be at least 1".into());
                }
                Action::Task {
                    target,
                    op: spec.op.unwrap_or_default(),
                    timeout: spec.timeout_seconds.map(SimDuration::from_secs),
                }
            }
            "Wait" => match spec.seconds {
                Some(s) => Action::Wait(SimDuration::from_secs(s)),
                None => return fail(here.to_vec(), "a Wait state needs `Seconds`".into()),
            },
            "Pass" => Action::Pass,
            "Succeed" => Action::Succeed,
            "Fail" => Action::Fail(self.error_code(spec.error.as_deref().unwrap_or("States.Fail"))),
            "Choice" => {
                if spec.choices.is_empty() {
                    return fail(here.to_vec(), "a Choice state needs `Choices`".into());
                }
                let mut rules = Vec::new();
                let mut total = 0.0;
                for (j, r) in spec.choices.iter().enumerate() {
                    let field = at(here, &["Choices", &j.to_string()]);
                    let next = index(at(&field, &["Next"]), &r.next)?;
                    rules.push(rule(&field, r, next, &mut total)?);
                }
                let default = match &spec.default {
                    Some(d) => Some(index(at(here, &["Default"]), d)?),
                    None => None,
                };
                Action::Choice { rules, default }
            }
            "Parallel" => {
                if spec.branches.is_empty() {
                    return fail(here.to_vec(), "a Parallel state needs `Branches`".into());
                }
                let mut starts = Vec::new();
                for (j, b) in spec.branches.iter().enumerate() {
                    starts.push(self.branch(
                        &at(here, &["Branches", &j.to_string()]),
                        &b.start_at,
                        &b.states,
                    )?);
                }
                Action::Parallel(starts)
            }
            "Map" => {
                let Some(p) = &spec.item_processor else {
                    return fail(
                        here.to_vec(),
                        "a Map state needs `ItemProcessor` (its states)".into(),
                    );
                };
                let items = spec.items.unwrap_or(1);
                if items > MAX_ITEMS {
                    return fail(
                        at(here, &["Items"]),
                        format!("must be at most {MAX_ITEMS}, found {items}"),
                    );
                }
                let start = self.branch(&at(here, &["ItemProcessor"]), &p.start_at, &p.states)?;
                Action::Map {
                    start,
                    items,
                    max_concurrency: spec.max_concurrency.unwrap_or(0),
                }
            }
            other => {
                const TYPES: [&str; 8] = [
                    "Task", "Wait", "Pass", "Choice", "Parallel", "Map", "Succeed", "Fail",
                ];
                return fail(
                    at(here, &["Type"]),
                    crate::units::unknown_word(
                        "state type",
                        other,
                        "one of Task, Wait, Pass, Choice, Parallel, Map, Succeed, Fail",
                        &[],
                        &TYPES,
                    ),
                );
            }
        })
    }
}

/// Compiles one Choice rule; `total` sums the probabilities so far.
fn rule(field: &[String], r: &ChoiceRule, next: usize, total: &mut f64) -> Result<Rule, AslIssue> {
    let tests = [
        r.numeric_equals.map(Test::Eq),
        r.numeric_less_than.map(Test::Lt),
        r.numeric_greater_than.map(Test::Gt),
        r.numeric_less_than_equals.map(Test::Le),
        r.numeric_greater_than_equals.map(Test::Ge),
    ];
    let numeric: Vec<Test> = tests.into_iter().flatten().collect();
    let comparisons = numeric.len() + r.string_equals.is_some() as usize;
    if let Some(p) = r.probability {
        if r.variable.is_some() || comparisons > 0 {
            return fail(
                field.to_vec(),
                "a rule has either `Probability` or `Variable` with a comparison, not both".into(),
            );
        }
        *total += p;
        if !(0.0..=1.0).contains(&p) || *total > 1.0 + 1e-9 {
            return fail(
                at(field, &["Probability"]),
                format!(
                    "probabilities must be between 0 and 1 and add up to at most 1, found {p} (total {total})"
                ),
            );
        }
        return Ok(Rule::Probability(p, next));
    }
    let Some(variable) = &r.variable else {
        return fail(
            field.to_vec(),
            "a rule needs `Variable` and a comparison, or `Probability`".into(),
        );
    };
    let f = match variable.as_str() {
        "$.op" => Field::Op,
        "$.key" => Field::Key,
        "$.item_kb" => Field::ItemKb,
        other => {
            return fail(
                at(field, &["Variable"]),
                crate::units::unknown_word(
                    "variable",
                    other,
                    "\"$.op\", \"$.key\" or \"$.item_kb\" (what a request carries)",
                    &[],
                    &["$.op", "$.key", "$.item_kb"],
                ),
            );
        }
    };
    if comparisons != 1 {
        return fail(field.to_vec(), "a rule needs exactly one comparison (`StringEquals`, `NumericEquals`, `NumericLessThan`...)".into());
    }
    match (f, &r.string_equals, numeric.first()) {
        (Field::Op, Some(s), None) => {
            let op: Op = serde_json::from_value(serde_json::Value::String(s.clone())).map_err(|_| AslIssue {
                path: at(field, &["StringEquals"]),
                message: format!("`{s}` is no operation; expected default, read, strong_read, write, query, strong_query, transact_write or event"),
            })?;
            Ok(Rule::Compare(f, Test::OpIs(op), next))
        }
        (Field::Key | Field::ItemKb, None, Some(t)) => Ok(Rule::Compare(f, *t, next)),
        (Field::Op, _, _) => fail(
            field.to_vec(),
            "`$.op` is compared with `StringEquals`".into(),
        ),
        _ => fail(
            field.to_vec(),
            format!(
                "`{variable}` is a number: compare it with `NumericEquals`, `NumericLessThan`..."
            ),
        ),
    }
}

/// The offset in `json` of the value at `path`, found by searching for each key in turn
/// after the previous one (state names are unique keys of `States`, so the search lands on
/// the right one in any definition awsim accepts); the start of the last key found otherwise.
pub fn locate(json: &str, path: &[String]) -> usize {
    let mut from = 0;
    for key in path {
        // Array indices: the n-th `{` after the array's key.
        if let Ok(n) = key.parse::<usize>() {
            let mut pos = from;
            for _ in 0..=n {
                match json[pos..].find('{') {
                    Some(i) => pos += i + 1,
                    None => return from,
                }
            }
            from = pos - 1;
            continue;
        }
        let quoted = format!("\"{key}\"");
        let mut search = from;
        loop {
            let Some(i) = json[search..].find(&quoted) else {
                return from;
            };
            let after = search + i + quoted.len();
            if json[after..].trim_start().starts_with(':') {
                from = search + i;
                break;
            }
            search = after;
        }
    }
    from
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// serde's "unknown field `X`, expected one of `A`, `B`" with the nearest name added.
pub fn with_suggestion(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_string();
    };
    let Some((word, expected)) = rest.split_once('`') else {
        return message.to_string();
    };
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    format!("{message}{}", crate::units::did_you_mean(word, &candidates))
}
