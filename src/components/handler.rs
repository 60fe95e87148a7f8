//! Request handlers: what serving one request does, as a list of steps.
//!
//! ```toml
//! handler = [
//!   { compute = { dist = "lognormal", mean = "40ms", p99 = "200ms" } },
//!   { call = "orders", op = "read" },
//!   { sleep = "5ms" },
//! ]
//! ```
//! `compute` uses the server's CPU (its time is divided by the server's speed factor), `call`
//! sends a synchronous request to another component and waits for the answer, `sleep` waits
//! without using the CPU (an external dependency that is not modelled). A failed call fails the
//! whole request with the callee's outcome. `compute = "from_trace"` takes the service time a
//! trace recorded for the request (Azure Functions 2021 durations, or a CSV `duration`
//! column) as it is, not divided by the speed factor: the recording already reflects the
//! machine it ran on; a request with no recorded duration fails that step with a 500, counted
//! as an error, so a miswired scenario shows instead of running with made-up times.
//!
//! Every model with servers (EC2 fleets, Auto Scaling Groups, Lambda functions) runs its
//! handler through [`Handler::advance`], one step at a time: the interpreter is written once, so
//! a step means the same everywhere. The server keeps only what differs: where the request
//! waits, what the CPU time costs it, and how it answers.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use toml::Spanned;

use super::injected::Injected;
use crate::dist::{Dist, DistSpec};
use crate::engine::rng::SimRng;
use crate::engine::time::SimDuration;
use crate::engine::{ComponentId, EventId};
use crate::message::Ctx;
use crate::message::{Connection, Msg, NO_ROUTE, Op, Recorded, Request, Timer};

/// A duration given either as a plain value (`"5ms"`) or as a distribution table.
#[derive(Clone, Debug, PartialEq)]
pub struct DurationDist(pub DistSpec);

impl<'de> Deserialize<'de> for DurationDist {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DurationVisitor)
    }
}

/// Reads a [`DurationDist`]; `compute` steps read theirs with it too.
impl schemars::JsonSchema for DurationDist {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Distribution".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        DistSpec::json_schema(generator)
    }
}

struct DurationVisitor;

impl<'de> Visitor<'de> for DurationVisitor {
    type Value = DurationDist;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            "a duration like \"40ms\" or a distribution like { dist = \"exponential\", \
             mean = \"40ms\" }",
        )
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<DurationDist, E> {
        let value = crate::units::parse_duration(s).map_err(E::custom)?;
        Ok(DurationDist(DistSpec::constant(value)))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DurationDist, A::Error> {
        DistSpec::deserialize(de::value::MapAccessDeserializer::new(map)).map(DurationDist)
    }
}

/// What a `compute` step takes: a duration (or distribution), or `"from_trace"`.
#[derive(Clone, Debug, PartialEq)]
enum ComputeSpec {
    Time(DurationDist),
    FromTrace,
}

impl<'de> Deserialize<'de> for ComputeSpec {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ComputeSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a duration like \"40ms\", a distribution like { dist = \"exponential\", \
                     mean = \"40ms\" }, or \"from_trace\"",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ComputeSpec, E> {
                if s == "from_trace" {
                    return Ok(ComputeSpec::FromTrace);
                }
                DurationVisitor.visit_str(s).map(ComputeSpec::Time)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ComputeSpec, A::Error> {
                DurationVisitor.visit_map(map).map(ComputeSpec::Time)
            }
        }
        d.deserialize_any(V)
    }
}

impl schemars::JsonSchema for ComputeSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Compute".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let time = generator.subschema_for::<DistSpec>();
        schemars::json_schema!({
            "description": "CPU time of the step: a duration, a distribution, or \"from_trace\" \
                            (each request's recorded duration).",
            "anyOf": [time, { "const": "from_trace" }],
        })
    }
}

impl schemars::JsonSchema for StepSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Step".into()
    }

    /// The table the loader reads ([`RawStep`]); exactly one of `compute`, `call`, `sleep`.
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = RawStep::json_schema(generator);
        schema.insert(
            "oneOf".into(),
            serde_json::json!([
                { "required": ["compute"] },
                { "required": ["call"] },
                { "required": ["sleep"] },
            ]),
        );
        schema
    }
}

/// One step of a handler as written in the scenario.
#[derive(Clone, Debug)]
pub enum StepSpec {
    /// CPU work.
    Compute(DistSpec),
    /// CPU work for as long as the trace recorded for the request (`compute = "from_trace"`).
    ComputeRecorded,
    /// A synchronous call to the named component.
    Call {
        /// The callee.
        target: Spanned<String>,
        /// What the call asks.
        shape: CallShape,
    },
    /// Waiting without CPU.
    Sleep(DistSpec),
}

/// What a call asks of its callee: the operation, and for storage the item size and count.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct CallShape {
    /// The operation (`read`, `write`, `query`, `transact_write`, `event`...).
    pub op: Op,
    /// Item size in KB (default: the request's `item_kb`).
    pub item_kb: Option<f32>,
    /// Items a query returns (1 for other operations).
    pub items: u32,
}

impl CallShape {
    /// The request the call sends: `request` with the call's operation and size (a query's
    /// size is its items' total).
    pub fn apply(&self, request: Request) -> Request {
        let item_kb = self.item_kb.unwrap_or(request.item_kb);
        Request {
            // A call that names no operation passes the request's own on (a trace's reads and
            // writes reach the table as recorded).
            op: if self.op == Op::Default {
                request.op
            } else {
                self.op
            },
            item_kb: item_kb * self.items.max(1) as f32,
            // The server opens its own connection for the call; the client's ends at the server.
            connection: Connection::single(request.id),
            ..request
        }
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawStep {
    /// CPU time on the instance or function: a duration, a distribution, or `"from_trace"`.
    compute: Option<ComputeSpec>,
    /// The component to call and wait for (its answer's failure fails the step).
    #[schemars(with = "Option<String>")]
    call: Option<Spanned<String>>,
    /// The call's operation (`"read"`, `"write"`, `"query"`, `"transact_write"`, `"event"`...; default: the request's own).
    op: Option<Op>,
    /// Strongly consistent read.
    /// A read or query that is strongly consistent.
    consistent: Option<bool>,
    /// The call's item size in KB (default: the request's).
    item_kb: Option<f64>,
    /// Items a query returns (the call's size is `item_kb` times this).
    items: Option<u32>,
    /// Wait without using CPU (a duration or a distribution).
    sleep: Option<DurationDist>,
}

impl<'de> Deserialize<'de> for StepSpec {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawStep::deserialize(d)?;
        let given =
            raw.compute.is_some() as u8 + raw.call.is_some() as u8 + raw.sleep.is_some() as u8;
        if given != 1 {
            return Err(de::Error::custom(
                "a handler step needs exactly one of `compute`, `call` or `sleep`",
            ));
        }
        if raw.call.is_none()
            && (raw.op.is_some()
                || raw.consistent.is_some()
                || raw.item_kb.is_some()
                || raw.items.is_some())
        {
            return Err(de::Error::custom(
                "`op`, `consistent`, `item_kb` and `items` belong to a `call` step",
            ));
        }
        let mut op = raw.op.unwrap_or_default();
        if let Some(consistent) = raw.consistent {
            if !matches!(op, Op::Read | Op::Query) {
                return Err(de::Error::custom(if op == Op::Default {
                    "`consistent` applies to reads and queries: add op = \"read\" or \"query\""
                        .to_string()
                } else {
                    format!(
                        "`consistent` applies to reads and queries (op = \"read\" or \"query\"), \
                         not to {}",
                        op.name()
                    )
                }));
            }
            if consistent {
                op = if op == Op::Query {
                    Op::StrongQuery
                } else {
                    Op::StrongRead
                };
            }
        }
        if raw.items.is_some() && !matches!(op, Op::Query | Op::StrongQuery) {
            return Err(de::Error::custom(format!(
                "`items` (items per query) applies to op = \"query\", not to {}",
                op.name()
            )));
        }
        if raw.items == Some(0) {
            return Err(de::Error::custom("`items` must be at least 1"));
        }
        let max_kb = crate::defaults::dynamodb().max_item_kb as f64;
        if let Some(kb) = raw.item_kb
            && !(kb > 0.0 && kb <= max_kb)
        {
            return Err(de::Error::custom(format!(
                "`item_kb` must be above 0 and at most {max_kb} (DynamoDB's item size limit), \
                 found {kb}"
            )));
        }
        let shape = CallShape {
            op,
            item_kb: raw.item_kb.map(|kb| kb as f32),
            items: raw.items.unwrap_or(1),
        };
        Ok(match (raw.compute, raw.call, raw.sleep) {
            (Some(ComputeSpec::Time(c)), _, _) => StepSpec::Compute(c.0),
            (Some(ComputeSpec::FromTrace), _, _) => StepSpec::ComputeRecorded,
            (_, Some(target), _) => StepSpec::Call { target, shape },
            (_, _, Some(s)) => StepSpec::Sleep(s.0),
            _ => unreachable!("exactly one step kind was checked above"),
        })
    }
}

/// A built step.
#[derive(Clone, Debug)]
enum Step {
    Compute(Dist),
    ComputeRecorded,
    Call(ComponentId, CallShape),
    Sleep(Dist),
}

/// What the server must do next for a request.
#[derive(Copy, Clone, Debug, PartialEq)]
enum Next {
    /// Hold the request for this long; `cpu` tells whether the CPU is busy meanwhile.
    Wait {
        /// How long.
        delay: SimDuration,
        /// True for compute steps.
        cpu: bool,
    },
    /// Call this component and wait for its answer.
    Call(ComponentId, CallShape),
    /// The handler is finished: answer the request.
    Done,
    /// The step cannot run for this request (`compute = "from_trace"` without a recorded
    /// duration): answer with a 500.
    Fail,
}

/// A request a server runs its handler for, as [`Handler::advance`] needs it.
pub struct Serving<'a> {
    /// The request (a call sends a copy of it, shaped by the call step).
    pub request: &'a Request,
    /// Index of the next step; `advance` moves it on.
    pub step: &'a mut u16,
    /// The server's name for this run (its slot and generation): the step timer's payload and
    /// the calls' tag, by which the timer or the answer finds the run again.
    pub id: u64,
    /// Where `advance` keeps the step timer's event, for the server to cancel it if the run
    /// ends before the step does (a timeout, a crash).
    pub timer: &'a mut EventId,
}

/// Where a request's handler stands once [`Handler::advance`] has taken a step.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// A compute (`cpu`) or sleep step runs until the step timer fires.
    Waiting {
        /// True for compute steps: the server's CPU is busy meanwhile.
        cpu: bool,
        /// How long until the step timer fires.
        delay: SimDuration,
    },
    /// A call is out; its answer lets the handler go on (or fails the request).
    Calling,
    /// Every step ran: the server answers the request.
    Done,
    /// The step cannot run for this request (`compute = "from_trace"` without a recorded
    /// duration): the server answers 500.
    Failed,
}

/// A built handler: its steps, ready to run.
#[derive(Clone, Debug, Default)]
pub struct Handler {
    steps: Vec<Step>,
}

impl Handler {
    /// Builds the steps, resolving callee names with `id_of`.
    pub fn build(
        specs: &[StepSpec],
        base_dir: &std::path::Path,
        id_of: impl Fn(&str) -> ComponentId,
    ) -> Result<Self, String> {
        let steps = specs
            .iter()
            .map(|s| {
                Ok(match s {
                    StepSpec::Compute(d) => Step::Compute(d.build(base_dir)?),
                    StepSpec::ComputeRecorded => Step::ComputeRecorded,
                    StepSpec::Sleep(d) => Step::Sleep(d.build(base_dir)?),
                    StepSpec::Call { target, shape } => Step::Call(id_of(target.get_ref()), *shape),
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Handler { steps })
    }

    /// What step `index` asks for (`Done` past the last). Compute time is divided by `speed`;
    /// `recorded` is the request's recorded service time, if any.
    fn next(
        &self,
        index: usize,
        speed: f64,
        rng: &mut SimRng,
        recorded: Option<SimDuration>,
    ) -> Next {
        match self.steps.get(index) {
            None => Next::Done,
            Some(Step::ComputeRecorded) => match recorded {
                Some(delay) => Next::Wait { delay, cpu: true },
                None => Next::Fail,
            },
            Some(Step::Compute(d)) => {
                let delay = d.sample(rng);
                Next::Wait {
                    delay: if speed == 1.0 {
                        delay
                    } else {
                        delay.mul_f64(1.0 / speed)
                    },
                    cpu: true,
                }
            }
            Some(Step::Sleep(d)) => Next::Wait {
                delay: d.sample(rng),
                cpu: false,
            },
            Some(Step::Call(to, shape)) => Next::Call(*to, *shape),
        }
    }

    /// Takes the next step of `run`'s handler on a server of `speed` under `injected` faults: a
    /// compute or sleep step (stretched by an injected slowdown) arms the server's step timer,
    /// made by `step_timer` from `run.id`; a call sends the request's copy to the callee, tagged
    /// `run.id`. Either way `run.step` moves on, and the timer or the call's answer is the
    /// server's cue to advance again. Draws the step's time from `cx`'s stream.
    pub fn advance<T: Into<Timer>>(
        &self,
        run: Serving<'_>,
        speed: f64,
        injected: &Injected,
        step_timer: impl FnOnce(u64) -> T,
        cx: &mut Ctx<'_>,
    ) -> Progress {
        let recorded = run.request.recorded_duration.get();
        match self.next(*run.step as usize, speed, cx.rng(), recorded) {
            Next::Wait { delay, cpu } => {
                *run.step += 1;
                let timer = Msg::Timer(step_timer(run.id).into());
                let delay = injected.stretch(delay);
                *run.timer = cx.send_self(delay, timer);
                Progress::Waiting { cpu, delay }
            }
            Next::Call(to, shape) => {
                *run.step += 1;
                let call = Request {
                    reply_to: cx.me(),
                    tag: run.id,
                    route: NO_ROUTE,
                    recorded_duration: Recorded::NONE,
                    ..shape.apply(*run.request)
                };
                cx.send_request(to, call);
                Progress::Calling
            }
            Next::Done => Progress::Done,
            Next::Fail => Progress::Failed,
        }
    }

    /// Mean CPU time of one request at speed 1, in seconds (for utilisation estimates).
    pub fn mean_compute_secs(&self) -> f64 {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Compute(d) => d.mean(),
                _ => 0.0,
            })
            .sum()
    }
}

/// The issue of a handler without steps (a server must do something to answer), if `steps`
/// is empty.
pub fn empty_handler(steps: &Spanned<Vec<StepSpec>>) -> Option<super::SpecIssue> {
    steps.get_ref().is_empty().then(|| super::SpecIssue {
        field: "handler".into(),
        message: "needs at least one step, e.g. [ { compute = \"40ms\" } ]".into(),
        span: steps.span(),
    })
}

/// The callees named in `steps` as references (field `handler[1].call`): synchronous calls
/// to components that accept requests.
pub fn call_references(steps: &[StepSpec]) -> Vec<super::Reference<'_>> {
    steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            StepSpec::Call { target, .. } => Some(super::Reference {
                field: format!("handler[{i}].call"),
                name: target,
                expects: super::Expects::RequestTarget,
                synchronous: true,
            }),
            _ => None,
        })
        .collect()
}
