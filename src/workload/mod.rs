//! Workloads: where requests come from.
//!
//! A workload is a component like any other: it creates requests, sends them to its `target`,
//! and measures end-to-end latency (from creation to the final answer) when answers come back.
//! Open-loop workloads (`poisson`, `constant`, optionally on a rate `schedule`) create requests
//! whatever happens downstream; closed-loop workloads (`closed`) have `users` that each think,
//! send one request, and wait for its answer before thinking again.

pub mod arrivals;
pub mod connections;
pub mod keys;
pub mod record;
pub mod trace;

use serde::Deserialize;
use toml::Spanned;

use crate::dist::{Dist, DistSpec};
use crate::engine::rng::{SimRng, fnv1a64};
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{Component, ComponentId};
use crate::message::Ctx;
use crate::message::{Connection, Msg, NO_ROUTE, Op, Request, Response};
use crate::metrics::{ComponentReport, Latency, Observe, RequestMetrics, SeriesRow};
use crate::units::{Rate, RateOrZero, limits};
use arrivals::{Arrivals, RatePoint, Spacing};
use keys::{KeySampler, KeySpec};

/// A `[[workload]]` table as written in the scenario.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Unique name.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// The component that receives the requests.
    #[schemars(with = "String")]
    pub target: Spanned<String>,
    /// How requests arrive.
    #[schemars(with = "ArrivalSpec")]
    pub arrival: Spanned<ArrivalSpec>,
    /// A rate that changes over time (open-loop processes only), replacing `arrival.rate`.
    #[schemars(with = "Option<Vec<SchedulePoint>>")]
    pub schedule: Option<Spanned<Vec<SchedulePoint>>>,
    /// Interpolate linearly between schedule points instead of stepping.
    #[serde(default)]
    pub ramp: bool,
    /// Distribution of request keys (default: every request its own key).
    pub key: Option<KeySpec>,
    /// Item size in KB carried by every request (default 1).
    #[schemars(with = "Option<f64>")]
    pub item_kb: Option<Spanned<f64>>,
    /// Operation the requests ask for (default: none in particular).
    pub op: Option<Op>,
    /// Client connections the requests travel on (default: each request its own connection).
    pub connections: Option<connections::ConnectionsSpec>,
}

/// One point of a rate schedule.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchedulePoint {
    /// From when (since the start of the run).
    pub at: SimDuration,
    /// The rate from then on (or the ramp's value at that point).
    pub rate: RateOrZero,
}

/// `arrival = { process = ... }`.
#[derive(Clone, Debug, PartialEq)]
pub enum ArrivalSpec {
    /// Exponential gaps at `rate` (or the schedule's rate).
    Poisson {
        /// Mean arrivals per second; `None` when a schedule gives the rate.
        rate: Option<Rate>,
    },
    /// Evenly spaced at `rate` (or the schedule's rate).
    Constant {
        /// Arrivals per second; `None` when a schedule gives the rate.
        rate: Option<Rate>,
    },
    /// `users` that each think, send, and wait for the answer.
    Closed {
        /// Number of users.
        users: u32,
        /// Think time between an answer and the next request.
        think: DistSpec,
    },
    /// Arrivals replayed from a recorded trace (see [`trace`]).
    Trace(Box<trace::TraceSpec>),
}

/// The flat form of `arrival`, checked into [`ArrivalSpec`].
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawArrival {
    /// `"poisson"`, `"constant"` (evenly spaced), `"closed"` (users who think, send and wait) or `"trace"` (recorded load).
    process: String,
    /// Open loops: requests per unit of time, like `"800/s"` (or a `schedule` on the workload).
    rate: Option<Rate>,
    /// Closed loop: how many users (1 to 1 000 000).
    users: Option<u32>,
    /// Closed loop: a user's think time between an answer and its next request (mean above zero).
    think: Option<DistSpec>,
    /// Trace: the file of recorded arrivals, relative to the scenario.
    file: Option<String>,
    /// Trace: `"csv"` (default), `"azure_functions_2019"` or `"azure_functions_2021"`.
    format: Option<String>,
    /// Trace: divide trace time by this (`60` replays an hour in a minute; default 1).
    speedup: Option<f64>,
    /// Trace: the replay starts this long after the run (default 0 s).
    offset: Option<SimDuration>,
    /// Trace: start again at the end, one period later (default false).
    #[serde(rename = "loop")]
    repeat: Option<bool>,
    /// Trace: rate multiplier, 0.001 to 1000 (default 1).
    scale: Option<f64>,
    /// Trace: replay only trace times in `[from, to)`; `from` becomes the run's start.
    window: Option<RawWindow>,
    /// Trace: `"error"` (default: stop before the run, naming the line) or `"skip"` (count it).
    on_bad_row: Option<String>,
    /// Trace (csv): `"unix"` for Unix seconds; default seconds since the start or RFC 3339.
    timestamps: Option<String>,
    /// Trace (csv): the RFC 3339 time absolute timestamps count from (default: the earliest in the file).
    origin: Option<String>,
    /// Trace (Azure): keep one function, by its hash or its first characters.
    function: Option<String>,
    /// Trace (Azure): keep the N busiest functions, merged.
    top: Option<u32>,
    /// Trace (Azure): keep only the N-th busiest function (1 = the busiest).
    rank: Option<u32>,
    /// Trace (Azure 2019): keep one trigger's functions (`"http"`, ...).
    trigger: Option<String>,
    /// Trace (Azure 2019): a minute's arrivals `"uniform"` (default, seeded) or `"even"` over the minute.
    spread: Option<String>,
}

/// `window = { from = "2h", to = "3h" }` of a trace.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    /// Start of the replayed trace time (inclusive).
    from: Option<SimDuration>,
    /// End of the replayed trace time (exclusive).
    to: Option<SimDuration>,
}

impl RawArrival {
    /// Moves the trace-only fields out.
    fn trace_options(&mut self) -> trace::TraceOptions {
        trace::TraceOptions {
            file: self.file.take(),
            format: self.format.take(),
            speedup: self.speedup.take(),
            offset: self.offset.take(),
            repeat: self.repeat.take(),
            scale: self.scale.take(),
            window: self.window.take().map(|w| (w.from, w.to)),
            on_bad_row: self.on_bad_row.take(),
            timestamps: self.timestamps.take(),
            origin: self.origin.take(),
            function: self.function.take(),
            top: self.top.take(),
            rank: self.rank.take(),
            trigger: self.trigger.take(),
            spread: self.spread.take(),
        }
    }
}

const PROCESSES: &[&str] = &["poisson", "constant", "closed", "trace"];

impl TryFrom<RawArrival> for ArrivalSpec {
    type Error = String;
    fn try_from(mut raw: RawArrival) -> Result<Self, String> {
        let trace_options = raw.trace_options();
        if raw.process != "trace" && trace_options.any() {
            return Err(format!(
                "`file`, `format` and the replay controls belong to trace arrivals, not `{}`",
                raw.process
            ));
        }
        let open = |name: &str, raw: &RawArrival| -> Result<Option<Rate>, String> {
            if raw.users.is_some() || raw.think.is_some() {
                return Err(format!(
                    "`users` and `think` belong to closed-loop arrivals, not `{name}`"
                ));
            }
            Ok(raw.rate)
        };
        match raw.process.as_str() {
            "poisson" => Ok(ArrivalSpec::Poisson {
                rate: open("poisson", &raw)?,
            }),
            "constant" => Ok(ArrivalSpec::Constant {
                rate: open("constant", &raw)?,
            }),
            "closed" => {
                if raw.rate.is_some() {
                    return Err(
                        "a closed loop has no `rate`: its users send when they have thought".into(),
                    );
                }
                let users = raw
                    .users
                    .ok_or("closed-loop arrivals need `users` (how many) and `think`")?;
                if users == 0 {
                    return Err("`users` must be at least 1".into());
                }
                limits::USERS
                    .check(users)
                    .map_err(|why| format!("`users` {why}"))?;
                let think = raw
                    .think
                    .ok_or("closed-loop arrivals need `think`, e.g. { dist = \"exponential\", mean = \"2s\" }")?;
                // An empirical think time's mean is known once its file is read (at build).
                if let Some(mean) = think.mean_secs() {
                    closed_loop_issue(users, mean)?;
                }
                Ok(ArrivalSpec::Closed { users, think })
            }
            "trace" => {
                if raw.rate.is_some() || raw.users.is_some() || raw.think.is_some() {
                    return Err("a trace gives the arrival times: it takes `file` (and \
                                `format`), not `rate`, `users` or `think` (`scale` and \
                                `speedup` change its rate)"
                        .into());
                }
                Ok(ArrivalSpec::Trace(Box::new(trace_options.into_spec()?)))
            }
            other => Err(format!(
                "unknown arrival process `{other}`; expected one of {}{}",
                PROCESSES.join(", "),
                crate::units::did_you_mean(other, PROCESSES)
            )),
        }
    }
}

/// Why `users` with a think time of mean `think_mean` seconds cannot run, if they cannot.
///
/// When answers come at once (a throttle, a full queue, a load balancer without targets), each
/// user sends again as soon as it has thought, so the loop sends `users` / mean think requests a
/// second. A zero mean would send them all at one instant and simulated time would stop; the
/// rate is bounded as any rate is. A positive mean makes a positive think time likely, so time
/// moves on: the rule is sound whatever the target does.
fn closed_loop_issue(users: u32, think_mean: f64) -> Result<(), String> {
    if think_mean.is_nan() || think_mean <= 0.0 {
        return Err(
            "`think` must have a mean above zero: a user that does not think sends \
                    again at the very instant an immediate answer (a throttle, a full queue, a \
                    load balancer without targets) comes back, and simulated time would stop; \
                    e.g. think = { dist = \"exponential\", mean = \"1s\" }"
                .into(),
        );
    }
    let rate = f64::from(users) / think_mean;
    let limit = limits::RATE_PER_SECOND;
    if rate > limit.max {
        return Err(format!(
            "{users} users with a mean `think` of {} would send {rate:.0} requests/s when answers \
             come at once (a throttle, a full queue); at most {}/s is accepted ({}): lower \
             `users` or raise `think`",
            SimDuration::from_secs_f64(think_mean),
            limit.max,
            limit.why
        ));
    }
    Ok(())
}

impl schemars::JsonSchema for ArrivalSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Arrival".into()
    }

    /// The table the loader reads ([`RawArrival`]).
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        RawArrival::json_schema(generator)
    }
}

impl<'de> Deserialize<'de> for ArrivalSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawArrival::deserialize(d)?;
        ArrivalSpec::try_from(raw).map_err(serde::de::Error::custom)
    }
}

impl WorkloadSpec {
    /// Checks what serde cannot: a rate from exactly one place, schedule order. Returns the
    /// message and the span it concerns.
    pub fn check(&self) -> Result<(), (String, std::ops::Range<usize>)> {
        let rate = match self.arrival.get_ref() {
            ArrivalSpec::Poisson { rate } | ArrivalSpec::Constant { rate } => Some(*rate),
            ArrivalSpec::Closed { .. } => None,
            ArrivalSpec::Trace(_) => {
                if let Some(s) = &self.schedule {
                    return Err((
                        "a trace gives the arrival times: remove `schedule`".into(),
                        s.span(),
                    ));
                }
                None
            }
        };
        match (rate, &self.schedule) {
            (Some(Some(_)), Some(s)) => Err((
                "give the rate either in `arrival.rate` or in `schedule`, not both".into(),
                s.span(),
            )),
            (Some(None), None) => Err((
                "an open-loop arrival needs a `rate` (e.g. rate = \"800/s\") or a `schedule`"
                    .into(),
                self.arrival.span(),
            )),
            (None, Some(s)) => Err((
                "a closed loop cannot follow a rate `schedule`; change `users` instead".into(),
                s.span(),
            )),
            _ => Ok(()),
        }?;
        if let Some(schedule) = &self.schedule {
            let points = schedule.get_ref();
            if points.is_empty() {
                return Err((
                    "`schedule` needs at least one point".into(),
                    schedule.span(),
                ));
            }
            for pair in points.windows(2) {
                if pair[1].at <= pair[0].at {
                    return Err((
                        format!(
                            "schedule points must be in increasing time order: {} comes after {}",
                            pair[1].at, pair[0].at
                        ),
                        schedule.span(),
                    ));
                }
            }
            if points.iter().all(|p| p.rate.0.per_second() == 0.0) {
                return Err((
                    "every rate in `schedule` is zero: no request would arrive".into(),
                    schedule.span(),
                ));
            }
        }
        if let Some(kb) = &self.item_kb {
            let v = *kb.get_ref();
            if !(v > 0.0 && v.is_finite()) {
                return Err((
                    format!("`item_kb` must be a positive number of KB, found {v}"),
                    kb.span(),
                ));
            }
            limits::ITEM_KB
                .check(v)
                .map_err(|why| (format!("`item_kb` {why}"), kb.span()))?;
        }
        Ok(())
    }
}

/// The closed-loop part of a running workload.
struct ClosedLoop {
    think: Dist,
}

crate::timers! {
    /// The timers of a workload.
    enum WorkloadTimer {
        /// The next arrival is due (payload unused).
        Arrival,
        /// A closed-loop user (the payload) finished thinking.
        ThinkDone,
        /// A client connection's lifetime ended (a [`TimerSlot`](crate::engine::timer::TimerSlot)
        /// payload).
        ConnectionLifetime,
    }
}

/// A running workload.
pub struct Workload {
    name: String,
    index: u32,
    target: ComponentId,
    arrivals: Option<Arrivals>,
    /// A recorded trace being replayed, and the row whose arrival timer is set.
    trace: Option<trace::Trace>,
    pending_row: Option<trace::TraceRow>,
    closed: Option<ClosedLoop>,
    users: u32,
    keys: Option<KeySampler>,
    keys_rng: SimRng,
    item_kb: f32,
    op: Op,
    connections: Option<connections::Connections>,
    outstanding: u64,
    metrics: RequestMetrics,
    /// End-to-end latency of the window's requests that failed, were throttled or timed out:
    /// the wait a user had for a bad answer (`latency_failed_ms`).
    failed_latency: Latency,
    /// One-request connections opened so far (numbers them).
    singles: u64,
    /// Mixed into those numbers so that workloads' connections differ (a hash of the name).
    singles_salt: u64,
    /// Where `awsim record` writes the arrivals, when recording.
    recorder: Option<record::SharedRecorder>,
    /// Where copies of the final answers go (the fault injector's impact monitor), if anywhere.
    monitor: Option<ComponentId>,
}

impl Workload {
    /// Sends a copy of every final answer to `monitor` (see `crate::faults`).
    pub fn copy_answers_to(mut self, monitor: ComponentId) -> Self {
        self.monitor = Some(monitor);
        self
    }

    /// Builds the workload numbered `index`, sending to `target`. `keys_rng` is a stream of its
    /// own so that changing the key distribution never moves arrival times.
    pub fn build(
        spec: &WorkloadSpec,
        index: u32,
        target: ComponentId,
        warmup_end: SimTime,
        base_dir: &std::path::Path,
        keys_rng: SimRng,
    ) -> Result<Self, String> {
        let (arrivals, closed, users) = match spec.arrival.get_ref() {
            ArrivalSpec::Poisson { rate } | ArrivalSpec::Constant { rate } => {
                let spacing = match spec.arrival.get_ref() {
                    ArrivalSpec::Poisson { .. } => Spacing::Poisson,
                    _ => Spacing::Constant,
                };
                let arrivals = match (rate, &spec.schedule) {
                    (Some(rate), _) => Arrivals::fixed(spacing, rate.per_second()),
                    (None, Some(schedule)) => {
                        let points = schedule
                            .get_ref()
                            .iter()
                            .map(|p| RatePoint {
                                at_ns: p.at.as_nanos(),
                                per_second: p.rate.0.per_second(),
                            })
                            .collect();
                        Arrivals::scheduled(spacing, points, spec.ramp)
                    }
                    (None, None) => return Err("no rate".into()),
                };
                (Some(arrivals), None, 0)
            }
            ArrivalSpec::Closed { users, think } => {
                let think = think.build(base_dir)?;
                closed_loop_issue(*users, think.mean())?;
                (None, Some(ClosedLoop { think }), *users)
            }
            ArrivalSpec::Trace(_) => (None, None, 0),
        };
        let trace = match spec.arrival.get_ref() {
            ArrivalSpec::Trace(trace_spec) => {
                let path = trace::resolve(base_dir, &trace_spec.file);
                Some(trace::Trace::open(&path, spec.name.get_ref(), trace_spec)?)
            }
            _ => None,
        };
        let connections = spec
            .connections
            .as_ref()
            .map(|c| {
                connections::Connections::build(c, index, spec.name.get_ref(), &keys_rng, base_dir)
            })
            .transpose()?;
        Ok(Workload {
            name: spec.name.get_ref().clone(),
            index,
            target,
            arrivals,
            trace,
            pending_row: None,
            closed,
            users,
            keys: spec.key.as_ref().map(KeySpec::build),
            keys_rng,
            item_kb: spec.item_kb.as_ref().map_or(1.0, |kb| *kb.get_ref()) as f32,
            op: spec.op.unwrap_or_default(),
            connections,
            outstanding: 0,
            metrics: RequestMetrics::new(warmup_end),
            failed_latency: Latency::new(3),
            singles: 0,
            singles_salt: fnv1a64(spec.name.get_ref().as_bytes()),
            recorder: None,
            monitor: None,
        })
    }

    /// Writes every arrival to `recorder` as a trace row (`awsim record`).
    pub fn record_to(&mut self, recorder: record::SharedRecorder) {
        self.recorder = Some(recorder);
    }

    /// Tells the workload's target when a client connection closes (for a target that tracks
    /// connections: a layer-4 load balancer).
    pub fn send_connection_closes(&mut self) {
        let target = self.target;
        if let Some(c) = &mut self.connections {
            c.send_closes_to(target);
        }
    }

    fn schedule_next_arrival(&mut self, cx: &mut Ctx<'_>) {
        if let Some(trace) = &mut self.trace {
            // The next recorded arrival; rows at the same instant come out one after another.
            if let Some(row) = trace.next_row(cx.rng()) {
                let delay = row.at.saturating_since(cx.now());
                self.pending_row = Some(row);
                cx.set_timer(delay, WorkloadTimer::Arrival(0));
            }
            return;
        }
        let Some(arrivals) = &mut self.arrivals else {
            return;
        };
        if let Some(at) = arrivals.next(cx.rng()) {
            let delay = at - cx.now();
            cx.set_timer(delay, WorkloadTimer::Arrival(0));
        }
    }

    fn think(&mut self, user: u32, cx: &mut Ctx<'_>) {
        let closed = self.closed.as_ref().expect("closed-loop workload");
        let delay = closed.think.sample(cx.rng());
        cx.set_timer(delay, WorkloadTimer::ThinkDone(user as u64));
    }

    fn send(&mut self, tag: u64, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let id = cx.new_request_id();
        let row = self.pending_row.take();
        let key = match (row.and_then(|r| r.key), &self.keys) {
            (Some(key), _) => key,
            (None, Some(keys)) => keys.sample(&mut self.keys_rng),
            (None, None) => id,
        };
        let request = Request {
            id,
            workload: self.index,
            created_at: now,
            key,
            item_kb: row.and_then(|r| r.item_kb).unwrap_or(self.item_kb),
            op: row.and_then(|r| r.op).unwrap_or(self.op),
            attempt: 1,
            reply_to: cx.me(),
            tag,
            route: NO_ROUTE,
            recorded_duration: crate::message::Recorded::new(row.and_then(|r| r.duration)),
            connection: match &mut self.connections {
                Some(c) => c.pick(cx),
                None => {
                    // Numbered by this workload alone (salted with its name): the run-wide
                    // request id would let other workloads' traffic move an NLB's choices.
                    self.singles += 1;
                    Connection::single(self.singles_salt ^ self.singles)
                }
            },
        };
        if let Some(recorder) = &self.recorder
            && let Ok(mut recorder) = recorder.lock()
        {
            recorder.arrival(now, &self.name, &request);
        }
        self.metrics.arrived(now);
        self.outstanding += 1;
        cx.send_request(self.target, request);
    }

    fn on_response(&mut self, response: Response, cx: &mut Ctx<'_>) {
        self.outstanding -= 1;
        if let Some(c) = &mut self.connections {
            c.answered(&response, cx);
        }
        let created = response.request.created_at;
        self.metrics.finished(created, cx.now(), response.outcome);
        if !response.outcome.is_ok() && self.metrics.in_window(created) {
            self.failed_latency.record(cx.now() - created);
        }
        if let Some(monitor) = self.monitor {
            cx.send(monitor, Msg::Response(response));
        }
        if self.closed.is_some() {
            self.think(response.request.tag as u32, cx);
        }
    }
}

impl Component<Msg> for Workload {
    fn init(&mut self, cx: &mut Ctx<'_>) {
        if self.closed.is_some() {
            // Every user starts by thinking, which spreads the first requests out.
            for user in 0..self.users {
                self.think(user, cx);
            }
        } else {
            self.schedule_next_arrival(cx);
        }
    }

    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Timer(timer) => match WorkloadTimer::from(timer) {
                WorkloadTimer::Arrival(_) => {
                    self.send(0, cx);
                    self.schedule_next_arrival(cx);
                }
                WorkloadTimer::ThinkDone(user) => self.send(user, cx),
                WorkloadTimer::ConnectionLifetime(id) => {
                    if let Some(c) = &mut self.connections {
                        c.on_timer(id, cx);
                    }
                }
            },
            Msg::Response(response) => self.on_response(response, cx),
            // Lost with the instance that held it: without a timeout of its own, the client
            // takes it for timed out.
            Msg::Lost(request) => self.on_response(Msg::lost_as_timeout(request), cx),
            Msg::Request(_) | Msg::Control(_) => {
                debug_assert!(false, "a workload received {msg:?}")
            }
        }
    }
}

impl Observe for Workload {
    fn kind(&self) -> &'static str {
        "workload"
    }

    fn in_flight(&self) -> u64 {
        self.outstanding
    }

    fn sample(&mut self, _now: SimTime, row: &mut SeriesRow) {
        self.metrics.sample(self.outstanding, row);
    }

    fn report(&self, end: SimTime) -> ComponentReport {
        let measured_secs = end
            .saturating_since(self.metrics.warmup_end())
            .as_secs_f64();
        let throughput = if measured_secs > 0.0 {
            self.metrics.window.completed as f64 / measured_secs
        } else {
            0.0
        };
        let report = self
            .metrics
            .report(self.kind(), self.outstanding)
            .figure("throughput_per_s", throughput)
            .figure("latency_failed_ms", self.failed_latency.summary());
        let report = match &self.trace {
            Some(trace) => {
                let stats = trace.stats();
                report.figure(
                    "trace",
                    serde_json::json!({
                        "rows": stats.rows,
                        "rows_skipped": stats.skipped,
                        "rows_outside_window": stats.outside_window,
                    }),
                )
            }
            None => report,
        };
        match &self.connections {
            Some(c) => c.figures(report),
            None => report,
        }
    }
}
