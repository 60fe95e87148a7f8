//! A Lambda event source mapping reading a stream's shards: Kinesis Data Streams (`kinesis`)
//! and DynamoDB Streams (a `dynamodb` table with `stream = true`) share it.
//!
//! # What it follows (AWS's Lambda developer guide, "Using Lambda with Kinesis" and "with
//! DynamoDB"; defaults in `models/kinesis.toml`)
//! - Records of a shard are read in order. Each shard has `parallelization_factor` lanes (1 to
//!   10, default 1); a record goes to the lane of its partition key, so records of one key stay
//!   in order and each lane has at most one batch in flight: with the default, one batch in
//!   flight per shard.
//! - Reading: a standard consumer polls each shard (GetRecords) once per `poll_interval`
//!   (Kinesis 1 s, DynamoDB Streams 250 ms) while it wants records, each call returning up to
//!   10 000 records (DynamoDB Streams 1 000); Kinesis shares a shard's 2 MiB/s and 5 calls/s among
//!   its `standard_consumers` (with more than five, each polls less often than once a second).
//!   An enhanced fan-out consumer (Kinesis only) has the records pushed at once, at up to
//!   2 MiB/s per shard of its own.
//! - A lane invokes the function synchronously with up to `batch_size` records (default 100);
//!   with `batch_window` it waits up to that long for a full batch.
//! - A batch the function fails (a function error, a timeout, or a record it always fails on)
//!   is retried until it succeeds or its records expire (the stream's retention), and blocks
//!   its lane meanwhile: nothing behind it is read. `maximum_retry_attempts` discards it after
//!   that many retries, `maximum_record_age` discards records older than that before they are
//!   sent, `bisect_batch_on_error` splits a failed batch in two and retries each half (a split
//!   does not count as a retry). A discarded batch goes to `on_failure` as one message (its
//!   records' metadata, as AWS sends), or is lost; records that expire are lost. An invocation
//!   the function throttles is retried until the records expire or pass `maximum_record_age`,
//!   and counts as no retry.
//! - `starting_position`: `latest` (default) reads only what arrives after the mapping starts
//!   (`start_at`, default the start of the run), `trim_horizon` also what the shard holds then.
//! - IteratorAge: at each invocation, the age of the last record of the batch (Lambda's
//!   metric); the time series shows the age of the oldest record not yet processed.
//!
//! # What it simplifies
//! AWS does not publish how long the mapping waits before retrying a failed batch: it waits
//! `mapping_retry_delay` of `models/kinesis.toml` (one poll interval, an assumption). Records
//! have no contents: a record the function always fails on (a poison record) is drawn at
//! arrival with `poison_probability`; the mapping takes the function's answer for a batch that
//! holds one as a function error (the function's own figures count the invocation as it ran).
//! An invocation takes the function's handler whatever the batch size. Records are fetched
//! only when a lane wants more, so the shard keeps no record the mapping has read; a stream
//! without a mapping keeps only counts. Tumbling windows, filters and partial batch responses
//! are not modelled.

pub mod outputs;
mod spec;

pub use spec::{MappingSpec, Source, StartingPosition};

use std::collections::VecDeque;

use rand::Rng;

use crate::components::token_bucket::{ExactBucket, FloatBucket};
use crate::engine::ComponentId;
use crate::engine::rng::mix64;
use crate::engine::slab::Slab;
use crate::engine::time::{SimDuration, SimTime};
use crate::message::{Connection, Ctx, NO_ROUTE, Op, Outcome, Recorded, Request, Response, Timer};
use crate::metrics::{ComponentReport, Latency, Ledger};
use crate::units::Rate;

/// One record in a shard, as the mapping keeps it (what an invocation and its figures need).
#[derive(Copy, Clone, Debug)]
pub struct Record {
    /// The request that wrote it (its id, workload and creation time travel on).
    id: u64,
    workload: u32,
    key: u64,
    created_at: SimTime,
    /// When the stream accepted it (ApproximateArrivalTimestamp).
    arrived: SimTime,
    kb: f32,
    /// The function fails on it every time.
    poison: bool,
}

/// A batch waiting in a lane: new, split, or failed and waiting for its retry.
#[derive(Clone, Debug)]
struct Batch {
    records: Vec<Record>,
    /// Retries so far (splits are none).
    retries: u32,
}

/// What a lane is doing.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum LaneState {
    /// Free to invoke.
    Idle,
    /// A batch is in flight (its slot).
    Invoking(u32),
    /// Its front batch waits for its retry.
    Waiting,
}

/// One of a shard's `parallelization_factor` lanes: records of its keys, in order.
#[derive(Clone, Debug)]
struct Lane {
    state: LaneState,
    /// Batches formed and not yet sent (a retry, the halves of a split), in order.
    pending: VecDeque<Batch>,
    /// Records read from the shard, not yet in a batch.
    buffer: VecDeque<Record>,
    window_armed: bool,
    window_due: bool,
    /// Tells a stale batch-window timer from the current one.
    window_generation: u64,
    /// Since when its front batch has been failing.
    failing_since: Option<SimTime>,
}

impl Lane {
    fn new() -> Lane {
        Lane {
            state: LaneState::Idle,
            pending: VecDeque::new(),
            buffer: VecDeque::new(),
            window_armed: false,
            window_due: false,
            window_generation: 0,
            failing_since: None,
        }
    }

    fn records(&self) -> usize {
        self.buffer.len() + self.pending.iter().map(|b| b.records.len()).sum::<usize>()
    }

    fn oldest(&self) -> Option<SimTime> {
        let pending = self.pending.front().and_then(|b| b.records.first());
        pending.or(self.buffer.front()).map(|r| r.arrived)
    }
}

/// The mapping's view of one shard.
#[derive(Clone, Debug)]
struct ShardReader {
    /// Records in the shard the mapping has not read yet.
    unread: VecDeque<Record>,
    lanes: Vec<Lane>,
    /// Read throughput left (KB), when limited.
    read_kb: Option<FloatBucket>,
    /// GetRecords calls (standard consumers).
    calls: Option<ExactBucket>,
    last_poll: Option<SimTime>,
    poll_armed: bool,
    /// Records processed (measured window).
    processed: u64,
    /// Lane time spent behind a failing batch in the measured window.
    blocked: SimDuration,
}

/// Counts of the measured window (`_total`: the whole run, for the ledger).
#[derive(Clone, Debug, Default)]
struct Counts {
    records: u64,
    records_total: u64,
    invocations: u64,
    function_errors: u64,
    invocation_throttles: u64,
    retries: u64,
    bisections: u64,
    processed: u64,
    processed_total: u64,
    discarded: u64,
    discarded_total: u64,
    discarded_batches: u64,
    expired: u64,
    expired_total: u64,
    skipped: u64,
    skipped_total: u64,
    poison: u64,
    fetches: u64,
}

/// A batch in flight: where it came from and what it holds.
#[derive(Clone, Debug)]
struct InFlight {
    shard: u32,
    lane: u32,
    batch: Batch,
}

/// Timer codes: the kind in the top byte of 56 bits, then its payload.
const TIMER_POLL: u64 = 1;
const TIMER_WINDOW: u64 = 2;
const TIMER_RETRY: u64 = 3;
const TIMER_START: u64 = 4;
const KIND_SHIFT: u32 = 48;

fn code(kind: u64, shard: u32, lane: u32, generation: u64) -> u64 {
    kind << KIND_SHIFT | (generation & 0xFFF) << 36 | (lane as u64) << 32 | shard as u64
}

/// Tags of the requests the mapping sends (top two bits; the owner routes answers by them).
pub const TAG_INVOKE: u64 = 1 << 62;
/// A discarded batch sent to the on-failure destination.
pub const TAG_ON_FAILURE: u64 = 2 << 62;
/// The bits of a tag that say what it is.
pub const TAG_MASK: u64 = 3 << 62;

/// A running event source mapping.
pub struct Mapping {
    function: ComponentId,
    on_failure: Option<ComponentId>,
    timer: fn(u64) -> Timer,
    batch_size: u32,
    batch_window: SimDuration,
    factor: u32,
    bisect: bool,
    max_retries: Option<u32>,
    max_age: Option<SimDuration>,
    retention: SimDuration,
    retry_delay: SimDuration,
    starting_position: StartingPosition,
    start_at: SimDuration,
    started: bool,
    efo: bool,
    poll_interval: SimDuration,
    read_kb_per_s: Option<f64>,
    max_fetch: u32,
    poison: f64,
    shards: Vec<ShardReader>,
    batches: Slab<InFlight>,
    warmup_end: SimTime,
    counts: Counts,
    iterator_age: Latency,
}

impl Mapping {
    fn in_window(&self, t: SimTime) -> bool {
        t >= self.warmup_end
    }

    /// Grows to `n` shards (a table's partitions that split); shards are never removed.
    pub fn ensure_shards(&mut self, n: u32) {
        while self.shards.len() < n as usize {
            let read_kb = self
                .read_kb_per_s
                .map(|kb| FloatBucket::per_second(kb, SimDuration::from_secs(1)));
            let calls = (!self.efo).then(|| {
                ExactBucket::new(
                    Rate::from_per_second(1.0 / self.poll_interval.as_secs_f64().max(1e-9)),
                    1,
                )
            });
            self.shards.push(ShardReader {
                unread: VecDeque::new(),
                lanes: (0..self.factor).map(|_| Lane::new()).collect(),
                read_kb,
                calls,
                last_poll: None,
                poll_armed: false,
                processed: 0,
                blocked: SimDuration::ZERO,
            });
        }
    }

    /// Sets the start timer (call from the owner's `init`).
    pub fn init(&mut self, cx: &mut Ctx<'_>) {
        cx.set_timer(self.start_at, (self.timer)(code(TIMER_START, 0, 0, 0)));
    }

    /// A record `request` was accepted into `shard` now.
    pub fn on_record(&mut self, shard: u32, request: &Request, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let poison = self.poison > 0.0 && cx.rng().random::<f64>() < self.poison;
        let record = Record {
            id: request.id,
            workload: request.workload,
            key: request.key,
            created_at: request.created_at,
            arrived: now,
            kb: request.item_kb,
            poison,
        };
        self.counts.records_total += 1;
        if self.in_window(now) {
            self.counts.records += 1;
            self.counts.poison += u64::from(poison);
        }
        self.shards[shard as usize].unread.push_back(record);
        self.want_records(shard, cx);
    }

    /// Handles one of its timers (the payload its owner's timer carried).
    pub fn on_timer(&mut self, code: u64, cx: &mut Ctx<'_>) {
        let shard = (code & 0xFFFF_FFFF) as u32;
        let lane = ((code >> 32) & 0xF) as u32;
        let generation = (code >> 36) & 0xFFF;
        match code >> KIND_SHIFT {
            TIMER_POLL => {
                self.shards[shard as usize].poll_armed = false;
                self.fetch(shard, cx);
                self.want_records(shard, cx);
            }
            TIMER_WINDOW => {
                let l = &mut self.shards[shard as usize].lanes[lane as usize];
                if l.window_armed && l.window_generation & 0xFFF == generation {
                    l.window_armed = false;
                    l.window_due = true;
                    self.dispatch(shard, lane, cx);
                }
            }
            TIMER_RETRY => {
                self.shards[shard as usize].lanes[lane as usize].state = LaneState::Idle;
                self.dispatch(shard, lane, cx);
            }
            TIMER_START => self.start(cx),
            _ => unreachable!("the mapping sets no timer of code {code:#x}"),
        }
    }

    fn start(&mut self, cx: &mut Ctx<'_>) {
        self.started = true;
        let now = cx.now();
        for s in 0..self.shards.len() as u32 {
            if self.starting_position == StartingPosition::Latest {
                let skipped = std::mem::take(&mut self.shards[s as usize].unread);
                self.counts.skipped_total += skipped.len() as u64;
                if self.in_window(now) {
                    self.counts.skipped += skipped.len() as u64;
                }
            }
            self.want_records(s, cx);
        }
    }

    /// True when a lane of `shard` has room for more records and the shard has some.
    fn wants(&self, shard: u32) -> bool {
        let s = &self.shards[shard as usize];
        self.started
            && !s.unread.is_empty()
            && s.lanes
                .iter()
                .any(|l| l.records() < self.batch_size as usize)
    }

    /// Reads now if it may, or arms the next poll.
    fn want_records(&mut self, shard: u32, cx: &mut Ctx<'_>) {
        if !self.wants(shard) || self.shards[shard as usize].poll_armed {
            return;
        }
        let now = cx.now();
        let s = &mut self.shards[shard as usize];
        let mut at = now;
        if let Some(calls) = &mut s.calls
            && !calls.has_token(now)
        {
            let last = s.last_poll.unwrap_or(now);
            at = at.max(last + self.poll_interval);
        }
        if let Some(bucket) = &mut s.read_kb {
            let need = s.unread.front().map_or(0.0, |r| f64::from(r.kb));
            if !bucket.has(now, need) {
                let wait = (need - bucket.tokens()) / bucket.rate_per_s();
                at = at.max(now + SimDuration::from_secs_f64(wait.max(1e-9)));
            }
        }
        if at == now {
            // A fetch takes records or frees nothing more: either way the next look is
            // later (its call or bytes spent) or finds nothing to want.
            self.fetch(shard, cx);
            self.want_records(shard, cx);
            return;
        }
        s.poll_armed = true;
        cx.set_timer(at - now, (self.timer)(code(TIMER_POLL, shard, 0, 0)));
    }

    /// One GetRecords (or a push): moves records from the shard to the lanes of their keys.
    fn fetch(&mut self, shard: u32, cx: &mut Ctx<'_>) {
        if !self.wants(shard) {
            return;
        }
        let now = cx.now();
        let in_window = self.in_window(now);
        let factor = self.factor as u64;
        let s = &mut self.shards[shard as usize];
        if let Some(calls) = &mut s.calls {
            if !calls.has_token(now) {
                return;
            }
            calls.take_token();
        }
        s.last_poll = Some(now);
        self.counts.fetches += u64::from(in_window);
        let mut taken = 0;
        while taken < self.max_fetch {
            let Some(&record) = s.unread.front() else {
                break;
            };
            if record.arrived + self.retention <= now {
                s.unread.pop_front();
                self.counts.expired_total += 1;
                self.counts.expired += u64::from(in_window);
                continue;
            }
            if let Some(bucket) = &mut s.read_kb
                && !bucket.try_take(now, f64::from(record.kb))
            {
                break;
            }
            s.unread.pop_front();
            let lane = (mix64(record.key) % factor) as usize;
            s.lanes[lane].buffer.push_back(record);
            taken += 1;
        }
        for lane in 0..self.factor {
            self.dispatch(shard, lane, cx);
        }
    }

    /// Invokes the function with the lane's next batch, if it is free and has one ready.
    fn dispatch(&mut self, shard: u32, lane: u32, cx: &mut Ctx<'_>) {
        let now = cx.now();
        loop {
            let batch_size = self.batch_size as usize;
            let l = &mut self.shards[shard as usize].lanes[lane as usize];
            if l.state != LaneState::Idle {
                return;
            }
            let batch = match l.pending.pop_front() {
                Some(batch) => batch,
                None => {
                    if l.buffer.is_empty() {
                        return;
                    }
                    if l.buffer.len() < batch_size && !self.batch_window.is_zero() && !l.window_due
                    {
                        if !l.window_armed {
                            l.window_armed = true;
                            l.window_generation += 1;
                            let c = code(TIMER_WINDOW, shard, lane, l.window_generation);
                            cx.set_timer(self.batch_window, (self.timer)(c));
                        }
                        return;
                    }
                    l.window_armed = false;
                    l.window_due = false;
                    let n = batch_size.min(l.buffer.len());
                    Batch {
                        records: l.buffer.drain(..n).collect(),
                        retries: 0,
                    }
                }
            };
            let Some(batch) = self.drop_old(batch, now, cx) else {
                self.end_failing(shard, lane, now);
                continue;
            };
            self.invoke(shard, lane, batch, cx);
            // The lane took records: it may want more.
            self.want_records(shard, cx);
            return;
        }
    }

    /// The batch without its records past the retention (lost) or `maximum_record_age`
    /// (discarded); `None` when nothing is left.
    fn drop_old(&mut self, mut batch: Batch, now: SimTime, cx: &mut Ctx<'_>) -> Option<Batch> {
        let retention = self.retention;
        let expired = batch.records.len();
        batch.records.retain(|r| r.arrived + retention > now);
        let expired = (expired - batch.records.len()) as u64;
        self.counts.expired_total += expired;
        if self.in_window(now) {
            self.counts.expired += expired;
        }
        if let Some(age) = self.max_age {
            let (old, young): (Vec<Record>, Vec<Record>) = std::mem::take(&mut batch.records)
                .into_iter()
                .partition(|r| r.arrived + age <= now);
            if !old.is_empty() {
                self.discard(&old, cx);
            }
            batch.records = young;
        }
        (!batch.records.is_empty()).then_some(batch)
    }

    fn invoke(&mut self, shard: u32, lane: u32, batch: Batch, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let first = batch.records[0];
        let last = batch.records[batch.records.len() - 1];
        let age = now.saturating_since(last.arrived);
        if self.in_window(now) {
            self.counts.invocations += 1;
            self.iterator_age.record(age);
        }
        let kb: f32 = batch.records.iter().map(|r| r.kb).sum();
        let slot = self.batches.insert(InFlight { shard, lane, batch });
        self.shards[shard as usize].lanes[lane as usize].state = LaneState::Invoking(slot);
        let request = Request {
            id: first.id,
            workload: first.workload,
            created_at: first.created_at,
            key: first.key,
            item_kb: kb,
            op: Op::Default,
            attempt: 1,
            reply_to: cx.me(),
            tag: TAG_INVOKE | slot as u64,
            route: NO_ROUTE,
            recorded_duration: Recorded::NONE,
            connection: Connection::single(first.id),
        };
        cx.send_request(self.function, request);
    }

    /// The function answered for a batch (`response.request.tag & TAG_MASK == TAG_INVOKE`).
    pub fn on_answer(&mut self, response: Response, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let in_window = self.in_window(now);
        let slot = (response.request.tag & 0xFFFF_FFFF) as u32;
        let InFlight { shard, lane, batch } = self.batches[slot].clone();
        self.batches.remove(slot);
        let poisoned = batch.records.iter().any(|r| r.poison);
        self.shards[shard as usize].lanes[lane as usize].state = LaneState::Idle;
        match response.outcome {
            Outcome::Ok if !poisoned => {
                let n = batch.records.len() as u64;
                self.counts.processed_total += n;
                if in_window {
                    self.counts.processed += n;
                    self.shards[shard as usize].processed += n;
                }
                self.end_failing(shard, lane, now);
            }
            Outcome::Throttled => {
                // Not invoked: retried until the records expire, no retry counted.
                self.counts.invocation_throttles += u64::from(in_window);
                self.wait_retry(shard, lane, batch, now, cx);
            }
            _ => {
                self.counts.function_errors += u64::from(in_window);
                if self.bisect && batch.records.len() > 1 {
                    self.counts.bisections += u64::from(in_window);
                    let mut first = batch.records;
                    let second = first.split_off(first.len() / 2);
                    let l = &mut self.shards[shard as usize].lanes[lane as usize];
                    l.failing_since.get_or_insert(now);
                    for records in [second, first] {
                        l.pending.push_front(Batch {
                            records,
                            retries: batch.retries,
                        });
                    }
                } else if self.max_retries.is_some_and(|max| batch.retries >= max) {
                    self.discard(&batch.records, cx);
                    self.end_failing(shard, lane, now);
                } else {
                    self.counts.retries += u64::from(in_window);
                    let batch = Batch {
                        retries: batch.retries + 1,
                        ..batch
                    };
                    self.wait_retry(shard, lane, batch, now, cx);
                }
            }
        }
        self.dispatch(shard, lane, cx);
        self.want_records(shard, cx);
    }

    fn wait_retry(&mut self, shard: u32, lane: u32, batch: Batch, now: SimTime, cx: &mut Ctx<'_>) {
        let l = &mut self.shards[shard as usize].lanes[lane as usize];
        l.failing_since.get_or_insert(now);
        l.pending.push_front(batch);
        l.state = LaneState::Waiting;
        cx.set_timer(
            self.retry_delay,
            (self.timer)(code(TIMER_RETRY, shard, lane, 0)),
        );
    }

    /// The lane's failing batch is over (processed or discarded): its blocked time counts.
    fn end_failing(&mut self, shard: u32, lane: u32, now: SimTime) {
        let warmup_end = self.warmup_end;
        let s = &mut self.shards[shard as usize];
        if let Some(since) = s.lanes[lane as usize].failing_since.take() {
            s.blocked += now.saturating_since(since.max(warmup_end));
        }
    }

    /// Gives up on `records`: one message to the on-failure destination, if any.
    fn discard(&mut self, records: &[Record], cx: &mut Ctx<'_>) {
        let now = cx.now();
        let n = records.len() as u64;
        self.counts.discarded_total += n;
        if self.in_window(now) {
            self.counts.discarded += n;
            self.counts.discarded_batches += 1;
        }
        if let (Some(dest), Some(first)) = (self.on_failure, records.first()) {
            let request = Request {
                id: first.id,
                workload: first.workload,
                created_at: first.created_at,
                key: first.key,
                item_kb: 1.0,
                op: Op::Default,
                attempt: 1,
                reply_to: cx.me(),
                tag: TAG_ON_FAILURE,
                route: NO_ROUTE,
                recorded_duration: Recorded::NONE,
                connection: Connection::single(first.id),
            };
            cx.send_request(dest, request);
        }
    }

    /// Routes an answer its owner received: the function's answers to its invocations; the
    /// on-failure destination's acknowledgements need nothing.
    pub fn route_answer(mapping: &mut Option<Mapping>, response: Response, cx: &mut Ctx<'_>) {
        if response.request.tag & TAG_MASK == TAG_INVOKE
            && let Some(m) = mapping
        {
            m.on_answer(response, cx);
        }
    }

    /// Records not yet processed (read or not).
    pub fn backlog(&self) -> u64 {
        let waiting: usize = self
            .shards
            .iter()
            .map(|s| s.unread.len() + s.lanes.iter().map(Lane::records).sum::<usize>())
            .sum();
        waiting as u64 + self.records_in_flight()
    }

    /// Records in batches the function is processing.
    pub fn records_in_flight(&self) -> u64 {
        self.batches
            .iter()
            .map(|b| b.batch.records.len() as u64)
            .sum()
    }

    /// Age (s) of the oldest record not yet processed, if there is one.
    pub fn oldest_age(&self, now: SimTime) -> Option<f64> {
        let in_flight = self
            .batches
            .iter()
            .filter_map(|b| b.batch.records.first().map(|r| r.arrived));
        let waiting = self.shards.iter().flat_map(|s| {
            s.unread
                .front()
                .map(|r| r.arrived)
                .into_iter()
                .chain(s.lanes.iter().filter_map(Lane::oldest))
        });
        in_flight
            .chain(waiting)
            .min()
            .map(|t| now.saturating_since(t).as_secs_f64())
    }

    /// Its figures and its ledger of records, added to its owner's report.
    pub fn report(&self, report: ComponentReport, end: SimTime) -> ComponentReport {
        let c = &self.counts;
        let blocked: Vec<f64> = self
            .shards
            .iter()
            .map(|s| {
                let ongoing: SimDuration = s
                    .lanes
                    .iter()
                    .filter_map(|l| l.failing_since)
                    .map(|since| end.saturating_since(since.max(self.warmup_end)))
                    .fold(SimDuration::ZERO, |a, b| a + b);
                (s.blocked + ongoing).as_secs_f64()
            })
            .collect();
        let age = self.iterator_age.summary();
        let mut report = report
            .figure("mapping_records", c.records)
            .figure("invocations", c.invocations)
            .figure("processed", c.processed)
            .figure("function_errors", c.function_errors)
            .figure("invocation_throttles", c.invocation_throttles)
            .figure("batch_retries", c.retries)
            .figure("bisections", c.bisections)
            .figure("discarded", c.discarded)
            .figure("discarded_batches", c.discarded_batches)
            .figure("expired", c.expired)
            .figure("skipped", c.skipped)
            .figure("poison_records", c.poison)
            .figure("get_records_calls", c.fetches)
            .figure("iterator_age_max_ms", age.max)
            .figure("iterator_age_ms", age)
            .figure("blocked_s", blocked.iter().sum::<f64>())
            .figure("shard_blocked_s", blocked)
            .figure(
                "shard_processed",
                self.shards.iter().map(|s| s.processed).collect::<Vec<_>>(),
            )
            .figure("backlog_end", self.backlog());
        report.ledgers.push(Ledger {
            name: "stream records",
            created: c.records_total,
            finished: c.processed_total + c.discarded_total + c.expired_total + c.skipped_total,
            inside: self.backlog(),
        });
        report
    }
}
