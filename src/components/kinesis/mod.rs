//! `kinesis`: an Amazon Kinesis data stream in provisioned mode, its shards and their limits,
//! the producers' SDK retries, and a Lambda event source mapping reading it.
//!
//! ```toml
//! [[component]]
//! name = "clicks"
//! kind = "kinesis"
//! shards = 4
//! retention = "24h"
//! consumer = { function = "enrich", batch_size = 100, parallelization_factor = 1,
//!              bisect_batch_on_error = true, maximum_retry_attempts = 3, on_failure = "dlq" }
//! ```
//!
//! # What it follows (defaults and sources in `models/kinesis.toml`)
//! - A request sent to the stream is a PutRecord of one record of `item_kb`, whose partition
//!   key is the request's key (its decimal digits). The key's MD5 digest, read as a 128-bit
//!   integer, picks the shard whose hash key range holds it; the ranges split 0..2¹²⁸ evenly,
//!   as CreateStream does. So one hot key makes one hot shard, whatever the number of shards.
//! - Each shard accepts 1 000 records/s and 1 MiB/s (token buckets holding one second of
//!   each); a record beyond either is refused with ProvisionedThroughputExceeded. The producer's
//!   SDK retries it (standard retry mode: `max_attempts` 3 in all, exponential back-off with
//!   full jitter from `retry_base` 1 s, capped at `max_backoff` 20 s), then the put fails
//!   (`throttled`). Latency includes the retries.
//! - Records are kept `retention` (24 h by default, up to 365 days): a record the consumer has
//!   not read by then is lost (`expired`).
//! - `consumer`: a Lambda event source mapping (`stream_mapping.rs`: lanes per shard, batches,
//!   reads of 2 MiB/s and 5 calls/s per shard shared by standard consumers or 2 MiB/s per
//!   enhanced fan-out consumer, retries, bisection, discards, IteratorAge).
//!
//! - `mode = "on_demand"`: no `shards`; the stream starts with 4 shards (4 000 records/s,
//!   4 MiB/s) and accommodates up to double its peak write rate: every minute it adds shards
//!   until they carry twice the largest per-second writes it has accepted, up to 200 shards
//!   (200 000 records/s, 200 MiB/s, the default on-demand maximum). Writes beyond double the
//!   previous peak are throttled until then, and each shard keeps its own limits, so a hot key
//!   throttles an on-demand stream too.
//!
//! # What it simplifies
//! A put is answered at once (no service time). Provisioned streams keep their shards (no
//! resharding); an on-demand stream's scaling is checked once a minute (AWS says it adapts
//! within minutes), never scales in, and splits the hash key space evenly over the new count,
//! so a key can move to another shard and its records there may be read before its older ones
//! (AWS's consumers finish a parent shard before its children). PutRecords batches are single puts. Retried puts can
//! overtake each other, as they can in AWS without `SequenceNumberForOrdering`. Not billed.

mod cloudformation;
mod outputs;

use std::ops::Range;

use md5::{Digest, Md5};
use rand::Rng;
use serde::Deserialize;
use toml::Spanned;

use super::stream_mapping::outputs::StreamGauge as Gauge;
use super::stream_mapping::{Mapping, MappingSpec, Source};
use super::token_bucket::{ExactBucket, FloatBucket};
use super::{BuildContext, Kind, Reference, SpecIssue};
use crate::engine::Component;
use crate::engine::slab::Slab;
use crate::engine::time::{SimDuration, SimTime};
use crate::message::{Ctx, Msg, Outcome, Request, Response};
use crate::metrics::{ComponentReport, Observe, RequestMetrics, SeriesRow};
use crate::units::limits::Limit;
use crate::units::{PositiveDuration, Rate};

/// The `kinesis` table of a scenario.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// `"provisioned"` (default) or `"on_demand"`.
    #[serde(default)]
    pub mode: Mode,
    /// Shards (provisioned mode).
    #[schemars(with = "Option<u32>")]
    pub shards: Option<Spanned<u32>>,
    /// How long records are kept (24 h to 365 days, default 24 h).
    #[schemars(with = "Option<SimDuration>")]
    pub retention: Option<Spanned<SimDuration>>,
    /// Producers' SDK: attempts of a throttled put, the first included (default 3).
    #[schemars(with = "Option<u32>")]
    pub max_attempts: Option<Spanned<u32>>,
    /// Producers' SDK: base of the exponential back-off (default 1 s).
    pub retry_base: Option<PositiveDuration>,
    /// Producers' SDK: longest back-off (default 20 s).
    pub max_backoff: Option<PositiveDuration>,
    /// The Lambda event source mapping reading the stream.
    pub consumer: Option<MappingSpec>,
}

/// Capacity mode.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema, serde::Serialize,
)]
#[schemars(rename = "StreamMode")]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A fixed number of shards.
    #[default]
    Provisioned,
    /// Shards follow the peak write rate.
    OnDemand,
}

/// Most shards a stream may have here: AWS's default quota is 500 (200 in some regions) per
/// account and can be raised; 100 000 keeps a stream's per-shard state within memory.
const SHARDS: Limit<u32> = Limit {
    max: 100_000,
    why: "shards hold per-shard state; AWS's default quota is 500 shards per account",
};

/// What a Kinesis stream offers its event source mapping.
fn source(retention: SimDuration) -> Source {
    let d = crate::defaults::kinesis();
    Source {
        label: "a Kinesis stream",
        max_batch_size: 10_000,
        enhanced_fan_out: true,
        poll_interval: d.poll_interval,
        max_fetch_records: d.max_get_records,
        shard_read_kb_per_s: Some(d.shard_read_kb_per_s),
        shard_reads_per_s: d.shard_reads_per_s,
        retention,
    }
}

impl Spec {
    fn retention(&self) -> SimDuration {
        self.retention
            .as_ref()
            .map_or(crate::defaults::kinesis().retention, |r| *r.get_ref())
    }
}

impl Kind for Spec {
    const KIND: &'static str = "kinesis";
    const SUMMARY: &'static str = "A Kinesis data stream in provisioned mode.";
    const FOLLOWS: &'static str = "PutRecord; partition key → MD5 → 128-bit hash key → shard by even hash key ranges; 1 000 \
         records/s and 1 MiB/s per shard, refused beyond, the producer SDK's standard retries; \
         retention with expiry counted; on-demand mode (double the peak write rate, 4 to 200 \
         shards); event source mapping: lanes per shard by `parallelization_factor`, batches and \
         batching window, polling once a second (2 MiB/s and 5 calls/s per shard shared) or \
         enhanced fan-out, retries until expiry with the shard blocked, `bisect_batch_on_error`, \
         `maximum_retry_attempts`, `maximum_record_age`, on-failure destination, IteratorAge";
    const SIMPLIFIES: &'static str = "puts answered at once; provisioned streams keep their shards, on-demand ones add shards \
         once a minute (never remove) and re-split the hash key space evenly; records without \
         contents (poison records drawn with `poison_probability`); an invocation takes the \
         handler's time whatever the batch size; the delay before retrying a failed batch is \
         assumed (1 s); no tumbling windows, filters or partial batch responses; not billed";
    const CLOUDFORMATION_TYPES: &'static [&'static str] = cloudformation::RESOURCE_TYPES;

    fn import(
        resource: &crate::import::Resource,
        cx: &crate::import::Cx<'_>,
        draft: &mut crate::import::Draft,
    ) -> Result<(), crate::import::ImportError> {
        cloudformation::map(resource, cx, draft)
    }
    const ACCEPTS_REQUESTS: bool = true;

    fn references(&self) -> Vec<Reference<'_>> {
        self.consumer
            .as_ref()
            .map_or_else(Vec::new, |c| c.references("consumer"))
    }

    fn check(&self, span: Range<usize>) -> Vec<SpecIssue> {
        let d = crate::defaults::kinesis();
        let mut out = Vec::new();
        match (&self.shards, self.mode) {
            (None, Mode::Provisioned) => out.push(SpecIssue {
                field: "shards".into(),
                message: "a provisioned stream needs `shards` (at least 1), or use mode = \
                          \"on_demand\""
                    .into(),
                span,
            }),
            (Some(n), Mode::OnDemand) => out.push(SpecIssue {
                field: "shards".into(),
                message: "an on-demand stream sizes its shards itself: remove `shards` or use \
                          mode = \"provisioned\""
                    .into(),
                span: n.span(),
            }),
            (Some(n), Mode::Provisioned) => {
                if *n.get_ref() == 0 {
                    out.push(SpecIssue {
                        field: "shards".into(),
                        message: "must be at least 1".into(),
                        span: n.span(),
                    });
                }
                out.extend(SpecIssue::above_limit("shards", n, SHARDS));
            }
            (None, Mode::OnDemand) => {}
        }
        if let Some(r) = &self.retention
            && !(d.retention..=d.max_retention).contains(r.get_ref())
        {
            out.push(SpecIssue {
                field: "retention".into(),
                message: format!(
                    "must be between 24h and 365 days (\"8760h\"), found {}",
                    r.get_ref()
                ),
                span: r.span(),
            });
        }
        if let Some(a) = &self.max_attempts {
            if *a.get_ref() == 0 {
                out.push(SpecIssue {
                    field: "max_attempts".into(),
                    message: "must be at least 1 (the first attempt)".into(),
                    span: a.span(),
                });
            }
            out.extend(SpecIssue::above_limit(
                "max_attempts",
                a,
                crate::units::limits::ATTEMPTS,
            ));
        }
        if let Some(c) = &self.consumer {
            out.extend(c.check("consumer", &source(self.retention())));
        }
        out
    }

    fn item_kb_issue(&self, name: &str, item_kb: f64) -> Option<String> {
        let max_kb = crate::defaults::kinesis().max_record_kb;
        (item_kb > max_kb).then(|| {
            format!(
                "`item_kb` must be at most {max_kb} (a Kinesis record holds at most 1 MiB) for \
                 a workload sending to the stream `{name}`, found {item_kb}"
            )
        })
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String> {
        let d = crate::defaults::kinesis();
        let n = match &self.shards {
            Some(n) => *n.get_ref(),
            None => d.on_demand_initial_shards,
        };
        let mapping = match &self.consumer {
            Some(c) => Some(c.build(cx, &source(self.retention()), n, |code| {
                KinesisTimer::Mapping(code).into()
            })?),
            None => None,
        };
        let shards = (0..n).map(|_| Shard::new()).collect();
        Ok(Box::new(Kinesis {
            shards,
            on_demand: (self.mode == Mode::OnDemand).then(OnDemand::default),
            width: hash_range_width(n),
            mapping,
            pending: Slab::default(),
            max_attempts: self
                .max_attempts
                .as_ref()
                .map_or(d.max_attempts, |a| *a.get_ref()),
            retry_base: self.retry_base.map_or(d.retry_base, |b| b.0),
            max_backoff: self.max_backoff.map_or(d.max_backoff, |b| b.0),
            metrics: RequestMetrics::new(cx.warmup_end),
            figures: Figures::default(),
            warmup_end: cx.warmup_end,
        }))
    }
}

/// The width of each shard's hash key range when `n` shards split 0..2¹²⁸ evenly:
/// ⌊2¹²⁸ / n⌋ (the last shard takes the remainder); one shard takes it all.
fn hash_range_width(n: u32) -> u128 {
    let n = u128::from(n.max(1));
    if n == 1 {
        return u128::MAX;
    }
    u128::MAX / n + (u128::MAX % n + 1) / n
}

/// The 128-bit hash key of a partition key: its MD5 digest, big-endian.
pub fn hash_key(partition_key: &str) -> u128 {
    u128::from_be_bytes(Md5::digest(partition_key.as_bytes()).into())
}

/// The shard of `n` (ranges `width` wide) whose hash key range holds the request key `key`.
fn shard_of(key: u64, width: u128, n: usize) -> usize {
    let hash = hash_key(&key.to_string());
    ((hash / width) as usize).min(n - 1)
}

/// The shard of a stream of `shards` shards that receives the records of request key `key`
/// (what theory needs: a shard's share is the sum of its keys' probabilities).
pub fn shard_of_key(key: u64, shards: u32) -> usize {
    shard_of(key, hash_range_width(shards), shards.max(1) as usize)
}

/// One shard's write side.
#[derive(Clone, Debug)]
struct Shard {
    /// Records per second.
    records: ExactBucket,
    /// KB per second.
    kb: FloatBucket,
    /// Records accepted in the measured window.
    accepted: u64,
    /// Puts refused in the measured window (each attempt).
    throttles: u64,
}

impl Shard {
    /// A new shard, its buckets full.
    fn new() -> Shard {
        let d = crate::defaults::kinesis();
        Shard {
            records: ExactBucket::new(
                Rate::from_per_second(d.shard_write_records_per_s as f64),
                d.shard_write_records_per_s,
            ),
            kb: FloatBucket::per_second(d.shard_write_kb_per_s, SimDuration::from_secs(1)),
            accepted: 0,
            throttles: 0,
        }
    }
}

/// An on-demand stream's record of its peak write rate.
#[derive(Clone, Debug, Default)]
struct OnDemand {
    /// The current whole second, and the records and KB accepted in it.
    second: u64,
    records: f64,
    kb: f64,
    /// The largest per-second writes seen (AWS looks back 30 days: the whole run here).
    peak_records: f64,
    peak_kb: f64,
    /// Times shards were added.
    scalings: u64,
}

impl OnDemand {
    fn accepted(&mut self, now: SimTime, kb: f64) {
        let second = now.as_nanos() / 1_000_000_000;
        if second != self.second {
            self.second = second;
            self.records = 0.0;
            self.kb = 0.0;
        }
        self.records += 1.0;
        self.kb += kb;
        self.peak_records = self.peak_records.max(self.records);
        self.peak_kb = self.peak_kb.max(self.kb);
    }

    /// Shards for double the peak write rate, within the on-demand bounds.
    fn shards(&self) -> u32 {
        let d = crate::defaults::kinesis();
        let by_records = 2.0 * self.peak_records / d.shard_write_records_per_s as f64;
        let by_kb = 2.0 * self.peak_kb / d.shard_write_kb_per_s;
        (by_records.max(by_kb).ceil() as u32)
            .clamp(d.on_demand_initial_shards, d.on_demand_max_shards)
    }
}

/// A put waiting for its SDK retry.
#[derive(Clone, Debug)]
struct Pending {
    request: Request,
    arrived: SimTime,
    attempts: u32,
}

#[derive(Clone, Debug, Default)]
struct Figures {
    records: u64,
    kb: f64,
    throttle_events: u64,
    retries: u64,
    throttled: u64,
}

crate::timers! {
    /// The stream's timers.
    enum KinesisTimer {
        /// A throttled put's back-off is over: the SDK tries again (its slot).
        Retry,
        /// One of the event source mapping's timers (its code).
        Mapping,
        /// An on-demand stream reconsiders its shards.
        Scale,
    }
}

/// A running stream.
pub struct Kinesis {
    shards: Vec<Shard>,
    /// On-demand mode: the peak its shards follow.
    on_demand: Option<OnDemand>,
    width: u128,
    mapping: Option<Mapping>,
    pending: Slab<Pending>,
    max_attempts: u32,
    retry_base: SimDuration,
    max_backoff: SimDuration,
    metrics: RequestMetrics,
    figures: Figures,
    warmup_end: SimTime,
}

impl Kinesis {
    fn in_window(&self, t: SimTime) -> bool {
        t >= self.warmup_end
    }

    fn on_request(&mut self, request: Request, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.metrics.arrived(now);
        let slot = self.pending.insert(Pending {
            request,
            arrived: now,
            attempts: 0,
        });
        self.attempt(slot, cx);
    }

    fn attempt(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let p = &mut self.pending[slot];
        p.attempts += 1;
        let (request, arrived, attempts) = (p.request, p.arrived, p.attempts);
        let in_window = self.in_window(arrived);
        let s = shard_of(request.key, self.width, self.shards.len());
        let kb = f64::from(request.item_kb.max(0.0));
        let shard = &mut self.shards[s];
        if shard.records.has_token(now) && shard.kb.has(now, kb) {
            shard.records.take_token();
            shard.kb.take(kb);
            if let Some(o) = &mut self.on_demand {
                o.accepted(now, kb);
            }
            if in_window {
                shard.accepted += 1;
                self.figures.records += 1;
                self.figures.kb += kb;
            }
            if let Some(m) = &mut self.mapping {
                m.on_record(s as u32, &request, cx);
            }
            self.finish(slot, Outcome::Ok, cx);
            return;
        }
        // ProvisionedThroughputExceeded: the SDK backs off and retries, up to its limit.
        if in_window {
            shard.throttles += 1;
            self.figures.throttle_events += 1;
        }
        if attempts >= self.max_attempts {
            self.figures.throttled += u64::from(in_window);
            self.finish(slot, Outcome::Throttled, cx);
            return;
        }
        self.figures.retries += u64::from(in_window);
        // Full jitter: uniform in [0, min(cap, base · 2^(retries before))).
        let retries_before = attempts.saturating_sub(1).min(62);
        let ceiling = self.retry_base.as_secs_f64() * 2f64.powi(retries_before as i32);
        let ceiling = ceiling.min(self.max_backoff.as_secs_f64());
        let backoff = SimDuration::from_secs_f64(cx.rng().random::<f64>() * ceiling);
        cx.set_timer(backoff, KinesisTimer::Retry(slot as u64));
    }

    fn finish(&mut self, slot: u32, outcome: Outcome, cx: &mut Ctx<'_>) {
        let p = self.pending[slot].clone();
        self.pending.remove(slot);
        self.metrics.finished(p.arrived, cx.now(), outcome);
        cx.reply(Response {
            request: p.request,
            outcome,
        });
    }
}

impl Kinesis {
    /// On demand: adds shards when double the peak write rate needs more. The hash key space
    /// is split evenly again over the new count (keys may move to another shard).
    fn on_scale(&mut self, cx: &mut Ctx<'_>) {
        let Some(o) = &mut self.on_demand else {
            return;
        };
        let target = o.shards() as usize;
        if target > self.shards.len() {
            o.scalings += 1;
            self.shards.resize_with(target, Shard::new);
            self.width = hash_range_width(target as u32);
            if let Some(m) = &mut self.mapping {
                m.ensure_shards(target as u32);
            }
        }
        cx.set_timer(
            crate::defaults::kinesis().on_demand_scaling_interval,
            KinesisTimer::Scale(0),
        );
    }
}

impl Component<Msg> for Kinesis {
    fn init(&mut self, cx: &mut Ctx<'_>) {
        if let Some(m) = &mut self.mapping {
            m.init(cx);
        }
        if self.on_demand.is_some() {
            let interval = crate::defaults::kinesis().on_demand_scaling_interval;
            cx.set_timer(interval, KinesisTimer::Scale(0));
        }
    }

    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => self.on_request(request, cx),
            Msg::Timer(timer) => match KinesisTimer::from(timer) {
                KinesisTimer::Retry(slot) => self.attempt(slot as u32, cx),
                KinesisTimer::Mapping(code) => self
                    .mapping
                    .as_mut()
                    .expect("only a mapping sets mapping timers")
                    .on_timer(code, cx),
                KinesisTimer::Scale(_) => self.on_scale(cx),
            },
            Msg::Response(response) => Mapping::route_answer(&mut self.mapping, response, cx),
            Msg::Lost(request) => {
                Mapping::route_answer(&mut self.mapping, Msg::lost_as_timeout(request), cx)
            }
            Msg::Control(_) => {}
        }
    }
}

impl Observe for Kinesis {
    fn kind(&self) -> &'static str {
        Spec::KIND
    }

    fn in_flight(&self) -> u64 {
        self.pending.len() as u64
    }

    fn sample(&mut self, now: SimTime, row: &mut SeriesRow) {
        self.metrics.sample(self.pending.len() as u64, row);
        if let Some(m) = &mut self.mapping {
            row.queue_length = Some(m.backlog());
            row.set_gauge(
                Gauge::RecordsInFlight as usize,
                Some(m.records_in_flight() as f64),
            );
            row.set_gauge(Gauge::OldestRecordAge as usize, m.oldest_age(now));
        }
    }

    fn report(&self, end: SimTime) -> ComponentReport {
        let f = &self.figures;
        let accepted: Vec<u64> = self.shards.iter().map(|s| s.accepted).collect();
        let throttles: Vec<u64> = self.shards.iter().map(|s| s.throttles).collect();
        let hottest = accepted.iter().copied().max().unwrap_or(0);
        let report = self
            .metrics
            .report(Spec::KIND, self.pending.len() as u64)
            .figure(
                "mode",
                if self.on_demand.is_some() {
                    Mode::OnDemand
                } else {
                    Mode::Provisioned
                },
            )
            .figure("shards", self.shards.len())
            .figure("records", f.records)
            .figure("incoming_kb", f.kb)
            .figure("write_throttle_events", f.throttle_events)
            .figure("put_retries", f.retries)
            .figure("throttles", f.throttled)
            .figure("shard_records", accepted)
            .figure("shard_write_throttles", throttles)
            .figure(
                "hottest_shard_share",
                if f.records > 0 {
                    hottest as f64 / f.records as f64
                } else {
                    0.0
                },
            );
        let report = match &self.on_demand {
            Some(o) => report
                .figure("scalings", o.scalings)
                .figure("peak_records_per_s", o.peak_records),
            None => report,
        };
        match &self.mapping {
            Some(m) => m.report(report, end),
            None => report,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_key_hashes_to_its_md5_digest_read_big_endian() {
        // RFC 1321's test vectors.
        assert_eq!(hash_key(""), 0xd41d8cd98f00b204e9800998ecf8427e);
        assert_eq!(hash_key("abc"), 0x900150983cd24fb0d6963f7d28e17f72);
    }

    #[test]
    fn shards_split_the_hash_key_space_evenly_as_create_stream_does() {
        // Two shards: 0..2¹²⁷−1 and 2¹²⁷..2¹²⁸−1.
        assert_eq!(hash_range_width(2), 1u128 << 127);
        // Three: the second starts at 113427455640312821154458202477256070485 (⌊2¹²⁸/3⌋).
        assert_eq!(
            hash_range_width(3),
            113_427_455_640_312_821_154_458_202_477_256_070_485
        );
        assert_eq!(hash_range_width(1), u128::MAX);
        // "abc" hashes to 0x9001..., above 2¹²⁷: the second of two shards, and the first of
        // any count lands every key in range.
        let w = hash_range_width(2);
        assert_eq!(((hash_key("abc") / w) as usize).min(1), 1);
        assert_eq!(((hash_key("") / w) as usize).min(1), 1);
        for key in 0..1000 {
            assert!(shard_of_key(key, 7) < 7);
            assert_eq!(shard_of_key(key, 1), 0);
        }
    }
}
