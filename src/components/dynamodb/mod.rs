//! `dynamodb`: an Amazon DynamoDB table: partitions, provisioned or on-demand capacity, burst
//! and adaptive capacity, throttling with the SDK's retries, and an optional DAX cache.
//!
//! ```toml
//! [[component]]
//! name = "orders"
//! kind = "dynamodb"
//! mode = "provisioned"      # or "on_demand"
//! rcu = 3000
//! wcu = 1000
//! table_gb = 5
//! dax = { ttl = "5m" }      # optional item cache in front of eventually consistent reads
//! ```
//! Handlers call it with `{ call = "orders", op = "read" }` (`consistent = true` for a
//! strongly consistent read), `op = "write"`, `op = "query"` (`items = 10`) or
//! `op = "transact_write"`; `item_kb` on the call or the workload sets the item size.
//!
//! # What it follows (defaults in `models/dynamodb.toml`)
//! - Capacity units: a read consumes one RCU per 4 KB (rounded up), half for an eventually
//!   consistent read; a write one WCU per KB (rounded up); a transactional write twice that; a
//!   query is charged on the total size of the items it returns.
//! - Partitions: max(ceil(RCU/3000 + WCU/1000), ceil(size / 10 GB)); the provisioned capacity is
//!   split evenly; a request's key is hashed (FNV-1a, stable) to a partition; no partition
//!   serves more than 3000 RCU or 1000 WCU per second, whatever the table's capacity.
//! - Burst capacity: unused capacity is retained up to 300 s (a token bucket holding 300 s of
//!   the rate), so short bursts above the rate pass.
//! - Adaptive capacity (`adaptive = true`, the default): a hot partition may use capacity the
//!   other partitions leave unused, instantly (as AWS now documents), up to its ceiling: when
//!   its own share (and burst) is spent, it takes from the partition with the most unused
//!   capacity, which keeps half a second of its share for itself, so a partition within its
//!   share is not throttled because another is hot. With
//!   `adaptive = false`, each partition has only its share (and its burst).
//! - On-demand: a new table serves up to 12 000 RCU and 4 000 WCU at once; afterwards up to
//!   double the previous peak (over the last 30 minutes) instantly; traffic beyond that is
//!   throttled while the table scales: a new peak counts once it is a minute old, so capacity
//!   can double about once a minute. Partition ceilings still apply; partitions are added as
//!   the peak grows.
//! - A request beyond capacity fails with ProvisionedThroughputExceeded; the caller's SDK
//!   retries it with exponential back-off and full jitter (`max_attempts`, `retry_base`,
//!   `max_backoff`; the legacy DynamoDB default of the SDKs: 10 retries, 25 ms base, 20 s cap),
//!   then the call fails (`throttled`). Latency includes the retries.
//! - DynamoDB Streams (`stream = true`): every successful write adds a record to the stream
//!   shard of its partition (records of one key stay in order), kept 24 hours.
//!   `stream_consumer = { function = "f", ... }` reads it through a Lambda event source mapping
//!   with the same rules as a Kinesis stream's (`stream_mapping/`): batches of up to
//!   `batch_size` (default 100, up to 10 000), shards polled four times a second, GetRecords
//!   of up to 1 000 records, one batch in flight per shard (`parallelization_factor` up to
//!   10), a failing batch retried until it expires and blocking its shard unless
//!   `bisect_batch_on_error`, `maximum_retry_attempts` or `maximum_record_age` say otherwise.
//! - DAX: eventually consistent reads are served from an item cache (TTL 5 min by default)
//!   when the key is there, consuming no capacity; misses read the table and fill the cache;
//!   writes go through the cache (write-through).
//!
//! # What it simplifies
//! The SDK's retry loop, which runs in the caller, is modelled inside the table (the caller
//! sees one call). Repartitioning an on-demand table re-hashes keys at once. Items of a key
//! are one item (no sort keys). The DAX cache evicts the oldest entry when full (not LRU), and
//! holds `items` keys; queries are not cached. A stream has one shard per partition for the
//! table's life (AWS closes a shard and opens children on splits and every four hours or so);
//! a write that changes nothing still adds a record; the stream adds no latency to writes. Table auto scaling (`auto_scaling = { target = 70 }`) follows the
//! consumed / provisioned utilisation each minute: 2 minutes above the target scale out, 15
//! below 80 % of it scale in, to ceil(consumed / target); it reacts on the minute, with no
//! CloudWatch publication delay.
//!
//! # Bill
//! Provisioned capacity over time, or on-demand request units, plus storage (`billing.rs`).

mod auto_scaling;
mod billing;
mod cloudformation;
mod dax;
mod outputs;
mod table;

use outputs::Gauge;
use std::ops::Range;

use rand::Rng;
use serde::Deserialize;
use toml::Spanned;

use super::handler::DurationDist;
use super::stream_mapping::{Mapping, MappingSpec, Source};
use super::{BuildContext, Kind, Reference, SpecIssue};
use crate::dist::Dist;
use crate::engine::Component;
use crate::engine::slab::Slab;
use crate::engine::time::{SimDuration, SimTime};
use crate::message::Ctx;
use crate::message::{Msg, Op, Outcome, Request, Response};
use crate::metrics::cost::usd_per_hour;
use crate::metrics::{ComponentReport, Observe, RequestMetrics, SeriesRow};
use crate::units::{PositiveDuration, limits};
use auto_scaling::AutoScaling;
use dax::Dax;
use table::Table;

/// The `dynamodb` table of a scenario.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// `"provisioned"` (default) or `"on_demand"`.
    #[serde(default)]
    pub mode: Mode,
    /// Provisioned read capacity units.
    #[schemars(with = "Option<u32>")]
    pub rcu: Option<Spanned<u32>>,
    /// Provisioned write capacity units.
    #[schemars(with = "Option<u32>")]
    pub wcu: Option<Spanned<u32>>,
    /// Table size in GB (sets the minimum number of partitions).
    #[schemars(with = "Option<f64>")]
    pub table_gb: Option<Spanned<f64>>,
    /// Partitions, overriding the documented formula.
    #[schemars(with = "Option<u32>")]
    pub partitions: Option<Spanned<u32>>,
    /// Burst capacity: retain unused capacity up to 300 s (default true).
    pub burst: Option<bool>,
    /// Adaptive capacity (default true).
    pub adaptive: Option<bool>,
    /// Service time of a read (default from `models/dynamodb.toml`).
    pub read_latency: Option<DurationDist>,
    /// Service time of a write.
    pub write_latency: Option<DurationDist>,
    /// SDK attempts of a throttled request, the first included (default 11).
    #[schemars(with = "Option<u32>")]
    pub max_attempts: Option<Spanned<u32>>,
    /// Base of the SDK's exponential back-off (default 25 ms).
    pub retry_base: Option<PositiveDuration>,
    /// Longest back-off (default 20 s).
    pub max_backoff: Option<PositiveDuration>,
    /// A DAX item cache in front of eventually consistent reads.
    pub dax: Option<DaxSpec>,
    /// Table auto scaling of a provisioned table (target tracking on utilisation).
    pub auto_scaling: Option<AutoScalingSpec>,
    /// DynamoDB Streams: a record per write, in shards that follow the partitions.
    #[schemars(with = "Option<bool>")]
    pub stream: Option<Spanned<bool>>,
    /// The Lambda event source mapping reading the table's stream.
    pub stream_consumer: Option<MappingSpec>,
}

/// `auto_scaling = { target = 70, min_rcu = 5, max_rcu = 40000, min_wcu = 5, max_wcu = 40000 }`.
#[derive(Clone, Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoScalingSpec {
    /// Target utilisation in percent, 20 to 90 (default 70).
    #[schemars(with = "Option<f64>")]
    pub target: Option<Spanned<f64>>,
    /// Lowest provisioned read capacity (default the table's `rcu`).
    #[schemars(with = "Option<u32>")]
    pub min_rcu: Option<Spanned<u32>>,
    /// Highest provisioned read capacity (default 40 000).
    #[schemars(with = "Option<u32>")]
    pub max_rcu: Option<Spanned<u32>>,
    /// Lowest provisioned write capacity (default the table's `wcu`).
    #[schemars(with = "Option<u32>")]
    pub min_wcu: Option<Spanned<u32>>,
    /// Highest provisioned write capacity (default 40 000).
    #[schemars(with = "Option<u32>")]
    pub max_wcu: Option<Spanned<u32>>,
}

/// `dax = { ttl = "5m", items = 100000 }`.
#[derive(Clone, Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DaxSpec {
    /// Item time to live (default 5 min).
    pub ttl: Option<PositiveDuration>,
    /// Items the cache holds (default one million).
    pub items: Option<u32>,
    /// Service time of a cache hit.
    pub latency: Option<DurationDist>,
}

/// Capacity mode.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema, serde::Serialize,
)]
#[schemars(rename = "TableMode")]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Provisioned RCU and WCU.
    #[default]
    Provisioned,
    /// Pay per request; capacity follows the traffic.
    OnDemand,
}

fn issue(field: &str, message: String, span: Range<usize>) -> SpecIssue {
    SpecIssue {
        field: field.into(),
        message,
        span,
    }
}

impl Spec {
    /// Bounds on what sizes the table: with them, the partitions derived from its capacity and
    /// size stay within [`limits::PARTITIONS`] too.
    fn check_bounds(&self, out: &mut Vec<SpecIssue>) {
        let a = self.auto_scaling.as_ref();
        let units = [
            ("rcu", self.rcu.as_ref()),
            ("wcu", self.wcu.as_ref()),
            ("auto_scaling.min_rcu", a.and_then(|a| a.min_rcu.as_ref())),
            ("auto_scaling.max_rcu", a.and_then(|a| a.max_rcu.as_ref())),
            ("auto_scaling.min_wcu", a.and_then(|a| a.min_wcu.as_ref())),
            ("auto_scaling.max_wcu", a.and_then(|a| a.max_wcu.as_ref())),
        ];
        for (field, value) in units {
            out.extend(
                value.and_then(|v| SpecIssue::above_limit(field, v, limits::CAPACITY_UNITS)),
            );
        }
        if let Some(p) = &self.partitions {
            out.extend(SpecIssue::above_limit("partitions", p, limits::PARTITIONS));
        }
        if let Some(gb) = &self.table_gb {
            out.extend(SpecIssue::above_limit("table_gb", gb, limits::TABLE_GB));
        }
        if let Some(a) = &self.max_attempts {
            out.extend(SpecIssue::above_limit("max_attempts", a, limits::ATTEMPTS));
        }
    }

    fn stream_on(&self) -> bool {
        self.stream.as_ref().is_some_and(|s| *s.get_ref())
    }

    fn partitions(&self, rcu: u32, wcu: u32) -> u32 {
        if let Some(p) = &self.partitions {
            return *p.get_ref();
        }
        let d = crate::defaults::dynamodb();
        let by_capacity =
            (rcu as f64 / d.partition_rcu as f64 + wcu as f64 / d.partition_wcu as f64).ceil();
        let table_gb = self.table_gb.as_ref().map_or(0.0, |gb| *gb.get_ref());
        let by_size = (table_gb / d.partition_gb as f64).ceil();
        (by_capacity.max(by_size).max(1.0)) as u32
    }
}

impl Kind for Spec {
    const KIND: &'static str = "dynamodb";
    const SUMMARY: &'static str =
        "A DynamoDB table: capacity units, partitions and their throttling, optionally behind DAX.";
    const FOLLOWS: &'static str = "capacity units and their rounding; partitions from capacity and size; per-partition \
         ceilings; burst (300 s); adaptive capacity (instant, up to the ceiling); on-demand up to \
         double the previous peak; throttling with SDK retries (exponential back-off, full \
         jitter); DAX item cache with TTL, write-through";
    const SIMPLIFIES: &'static str = "the SDK retry loop runs inside the table; no sort keys or item collections; on-demand \
         repartitioning re-hashes keys at once; DAX evicts oldest first; auto scaling acts on the \
         minute with no CloudWatch delay; no GSIs; a stream has one shard per partition for the \
         table's life";
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
        self.stream_consumer
            .as_ref()
            .map_or_else(Vec::new, |c| c.references("stream_consumer"))
    }

    fn check(&self, span: Range<usize>) -> Vec<SpecIssue> {
        let mut out = Vec::new();
        if let Some(c) = &self.stream_consumer {
            if !self.stream_on() {
                out.push(issue(
                    "stream_consumer",
                    "reads the table's stream: it needs `stream = true`".into(),
                    c.function.span(),
                ));
            }
            out.extend(c.check("stream_consumer", &stream_source()));
        }
        match self.mode {
            Mode::Provisioned => {
                for (field, v) in [("rcu", &self.rcu), ("wcu", &self.wcu)] {
                    match v {
                        None => out.push(issue(
                            field,
                            format!("a provisioned table needs `{field}` (capacity units per second, at least 1)"),
                            span.clone(),
                        )),
                        Some(v) if *v.get_ref() == 0 => out.push(issue(
                            field,
                            "must be at least 1 in provisioned mode, found 0 (use mode = \"on_demand\" for a table without provisioned capacity)".to_string(),
                            v.span(),
                        )),
                        _ => {}
                    }
                }
            }
            Mode::OnDemand => {
                for (field, v) in [("rcu", &self.rcu), ("wcu", &self.wcu)] {
                    if let Some(v) = v {
                        out.push(issue(
                            field,
                            format!("`{field}` is provisioned capacity; an on-demand table has none (remove it or use mode = \"provisioned\")"),
                            v.span(),
                        ));
                    }
                }
            }
        }
        if let Some(p) = &self.partitions
            && *p.get_ref() == 0
        {
            out.push(issue("partitions", "must be at least 1".into(), p.span()));
        }
        if let Some(a) = &self.max_attempts
            && *a.get_ref() == 0
        {
            out.push(issue(
                "max_attempts",
                "must be at least 1 (the first attempt)".into(),
                a.span(),
            ));
        }
        if let Some(a) = &self.auto_scaling {
            if self.mode == Mode::OnDemand {
                out.push(issue(
                    "auto_scaling",
                    "auto scaling adjusts provisioned capacity; an on-demand table scales by itself".into(),
                    span.clone(),
                ));
            }
            if let Some(t) = &a.target
                && !(20.0..=90.0).contains(t.get_ref())
            {
                out.push(issue(
                    "auto_scaling.target",
                    format!(
                        "target utilisation must be between 20 and 90 percent, found {}",
                        t.get_ref()
                    ),
                    t.span(),
                ));
            }
        }
        if let Some(gb) = &self.table_gb
            && !(*gb.get_ref() >= 0.0 && gb.get_ref().is_finite())
        {
            out.push(issue(
                "table_gb",
                format!("must be a size in GB, found {}", gb.get_ref()),
                gb.span(),
            ));
        }
        self.check_bounds(&mut out);
        out
    }

    fn item_kb_issue(&self, name: &str, item_kb: f64) -> Option<String> {
        let max_kb = crate::defaults::dynamodb().max_item_kb as f64;
        (item_kb > max_kb).then(|| {
            format!(
                "`item_kb` must be at most {max_kb} (DynamoDB's item size limit) for a \
                 workload sending to the table `{name}`, found {item_kb}"
            )
        })
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String> {
        let d = crate::defaults::dynamodb();
        let (rcu, wcu) = match self.mode {
            Mode::Provisioned => (
                self.rcu.as_ref().map_or(0, |v| *v.get_ref()),
                self.wcu.as_ref().map_or(0, |v| *v.get_ref()),
            ),
            Mode::OnDemand => (d.on_demand_initial_rcu, d.on_demand_initial_wcu),
        };
        let partitions = self.partitions(rcu, wcu);
        let burst = self.burst.unwrap_or(true);
        let adaptive = self.adaptive.unwrap_or(true);
        let window = if burst && self.mode == Mode::Provisioned {
            d.burst_window
        } else {
            SimDuration::from_secs(1)
        };
        let build = |o: &Option<DurationDist>, default: &crate::dist::DistSpec| match o {
            Some(dd) => dd.0.build(cx.base_dir),
            None => default.build(cx.base_dir),
        };
        let dax = match &self.dax {
            None => None,
            Some(spec) => Some(Dax::new(
                spec.ttl.map_or(d.dax_ttl, |t| t.0),
                spec.items.unwrap_or(1_000_000) as usize,
                build(&spec.latency, &d.dax_latency)?,
            )),
        };
        let table = Table::new(self.mode, adaptive, window, rcu, wcu, partitions);
        let stream = match (&self.stream_consumer, self.stream_on()) {
            (_, false) => None,
            (None, true) => Some(Stream {
                mapping: None,
                shard_records: Vec::new(),
            }),
            (Some(c), true) => Some(Stream {
                mapping: Some(c.build(cx, &stream_source(), partitions, |code| {
                    DynamoDbTimer::StreamMapping(code).into()
                })?),
                shard_records: Vec::new(),
            }),
        };
        Ok(Box::new(DynamoDb {
            stream,
            table,
            read_latency: build(&self.read_latency, &d.read_latency)?,
            write_latency: build(&self.write_latency, &d.write_latency)?,
            max_attempts: self
                .max_attempts
                .as_ref()
                .map_or(d.max_attempts, |a| *a.get_ref()),
            retry_base: self.retry_base.map_or(d.retry_base, |b| b.0),
            max_backoff: self.max_backoff.map_or(d.max_backoff, |b| b.0),
            dax,
            auto_scaling: self
                .auto_scaling
                .as_ref()
                .map(|a| AutoScaling::new(a, rcu, wcu)),
            pending: Slab::default(),
            metrics: RequestMetrics::new(cx.warmup_end),
            figures: Figures::default(),
            interval_rcu: 0.0,
            interval_wcu: 0.0,
            last_sample: SimTime::ZERO,
            warmup_end: cx.warmup_end,
            billing: billing::Billing::new(
                cx.prices.dynamodb.clone(),
                self.mode,
                self.table_gb.as_ref().map_or(0.0, |gb| *gb.get_ref()),
                (rcu, wcu),
                cx.warmup_end,
            ),
            spent_usd: 0.0,
        }))
    }
}

/// A request being served (or waiting for its retry).
#[derive(Clone, Debug)]
struct Pending {
    request: Request,
    arrived: SimTime,
    attempts: u32,
    units: f64,
    write: bool,
    /// Served by DAX from its cache.
    dax_hit: bool,
}

#[derive(Clone, Debug, Default)]
struct Figures {
    reads: u64,
    writes: u64,
    throttle_events: u64,
    retries: u64,
    throttled: u64,
    consumed_rcu: f64,
    consumed_wcu: f64,
}

crate::timers! {
    /// The table's timers.
    enum DynamoDbTimer {
        /// A request admitted by the table is served (its slot).
        Done,
        /// A throttled request's back-off is over: the SDK tries again (its slot).
        Retry,
        /// A read DAX had in its cache is served (its slot).
        DaxHit,
        /// A minute of auto scaling has passed.
        Scaling,
        /// One of the stream's event source mapping's timers (its code).
        StreamMapping,
    }
}

/// What a table's stream offers its event source mapping (`models/kinesis.toml`).
fn stream_source() -> Source {
    let d = crate::defaults::kinesis();
    Source {
        label: "a DynamoDB stream",
        max_batch_size: 10_000,
        enhanced_fan_out: false,
        poll_interval: d.dynamodb_poll_interval,
        max_fetch_records: d.dynamodb_max_get_records,
        shard_read_kb_per_s: None,
        shard_reads_per_s: d.shard_reads_per_s,
        retention: d.dynamodb_stream_retention,
    }
}

/// The table's stream: a record per successful write, in the shard of its partition.
struct Stream {
    /// The Lambda event source mapping reading it, if any.
    mapping: Option<Mapping>,
    /// Records per shard in the measured window.
    shard_records: Vec<u64>,
}

/// A running table.
pub struct DynamoDb {
    table: Table,
    /// DynamoDB Streams, when `stream = true`.
    stream: Option<Stream>,
    read_latency: Dist,
    write_latency: Dist,
    max_attempts: u32,
    retry_base: SimDuration,
    max_backoff: SimDuration,
    dax: Option<Dax>,
    auto_scaling: Option<AutoScaling>,
    pending: Slab<Pending>,
    metrics: RequestMetrics,
    figures: Figures,
    interval_rcu: f64,
    interval_wcu: f64,
    last_sample: SimTime,
    warmup_end: SimTime,
    billing: billing::Billing,
    /// The bill up to the last sample (for the spend rate of the time series).
    spent_usd: f64,
}

/// Capacity units of one request, as AWS rounds them.
pub fn capacity_units(op: Op, item_kb: f32) -> (f64, bool) {
    let kb = item_kb.max(0.0) as f64;
    let reads = (kb / 4.0).ceil().max(1.0);
    let writes = kb.ceil().max(1.0);
    match op {
        Op::StrongRead | Op::StrongQuery => (reads, false),
        Op::Read | Op::Query | Op::Default => (reads / 2.0, false),
        Op::Write | Op::Event => (writes, true),
        Op::TransactWrite => (2.0 * writes, true),
    }
}

impl DynamoDb {
    fn in_window(&self, t: SimTime) -> bool {
        t >= self.warmup_end
    }

    fn on_request(&mut self, request: Request, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.metrics.arrived(now);
        let (units, write) = capacity_units(request.op, request.item_kb);
        if self.in_window(now) {
            if write {
                self.figures.writes += 1;
            } else {
                self.figures.reads += 1;
            }
        }
        let slot = self.pending.insert(Pending {
            request,
            arrived: now,
            attempts: 0,
            units,
            write,
            dax_hit: false,
        });
        // DAX serves eventually consistent single-item reads from its cache.
        if request.op == Op::Read
            && let Some(dax) = &mut self.dax
        {
            if dax.hit(request.key, now) {
                dax.hits += u64::from(now >= self.warmup_end);
                self.pending[slot].dax_hit = true;
                let delay = dax.latency.sample(cx.rng());
                cx.set_timer(delay, DynamoDbTimer::DaxHit(slot as u64));
                return;
            }
            dax.misses += u64::from(now >= self.warmup_end);
        }
        self.attempt(slot, cx);
    }

    fn attempt(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let now = cx.now();
        if self.table.mode == Mode::OnDemand {
            self.table.follow_demand(now);
        }
        let (key, units, write) = {
            let p = &mut self.pending[slot];
            p.attempts += 1;
            (p.request.key, p.units, p.write)
        };
        let part = self.table.partition_of(key);
        let in_window = self.in_window(self.pending[slot].arrived);
        if in_window && self.pending[slot].attempts == 1 {
            // Demand per partition: requests, not their retries.
            self.table.partitions[part].requests += 1;
        }
        if self.table.admit(now, part, units, write) {
            if write {
                self.figures.consumed_wcu += units * f64::from(u8::from(in_window));
                self.interval_wcu += units;
                if let Some(a) = &mut self.auto_scaling {
                    a.minute_wcu += units;
                }
                self.table.peak.add(now, 0.0, units);
            } else {
                self.figures.consumed_rcu += units * f64::from(u8::from(in_window));
                self.interval_rcu += units;
                if let Some(a) = &mut self.auto_scaling {
                    a.minute_rcu += units;
                }
                self.table.peak.add(now, units, 0.0);
            }
            let latency = if write {
                &self.write_latency
            } else {
                &self.read_latency
            };
            let delay = latency.sample(cx.rng());
            cx.set_timer(delay, DynamoDbTimer::Done(slot as u64));
            return;
        }
        // ProvisionedThroughputExceeded: the SDK backs off and retries, up to its limit.
        if in_window {
            self.figures.throttle_events += 1;
            self.table.partitions[part].throttles += 1;
        }
        let attempts = self.pending[slot].attempts;
        if attempts >= self.max_attempts {
            if in_window {
                self.figures.throttled += 1;
            }
            self.finish(slot, Outcome::Throttled, cx);
            return;
        }
        if in_window {
            self.figures.retries += 1;
        }
        // Full jitter: uniform in [0, min(cap, base · 2^attempt)).
        // The first retry waits up to `base`, the next up to 2·base, and so on.
        let retries_before = attempts.saturating_sub(1).min(62);
        let ceiling = self.retry_base.as_secs_f64() * 2f64.powi(retries_before as i32);
        let ceiling = ceiling.min(self.max_backoff.as_secs_f64());
        let backoff = SimDuration::from_secs_f64(cx.rng().random::<f64>() * ceiling);
        cx.set_timer(backoff, DynamoDbTimer::Retry(slot as u64));
    }

    fn finish(&mut self, slot: u32, outcome: Outcome, cx: &mut Ctx<'_>) {
        let p = self.pending[slot].clone();
        self.pending.remove(slot);
        let now = cx.now();
        if outcome.is_ok()
            && !p.dax_hit
            && let Some(dax) = &mut self.dax
        {
            // Misses fill the cache; writes go through it. A hit does not extend an entry:
            // DAX times it from when it was written.
            if p.request.op == Op::Read || p.write {
                dax.fill(p.request.key, now);
            }
        }
        if outcome.is_ok()
            && p.write
            && let Some(stream) = &mut self.stream
        {
            // The stream's shards follow the partitions (more when the table splits).
            let shard = self.table.partition_of(p.request.key);
            let shards = self.table.partitions.len();
            if stream.shard_records.len() < shards {
                stream.shard_records.resize(shards, 0);
            }
            if now >= self.warmup_end {
                stream.shard_records[shard] += 1;
            }
            if let Some(m) = &mut stream.mapping {
                m.ensure_shards(shards as u32);
                m.on_record(shard as u32, &p.request, cx);
            }
        }
        self.metrics.finished(p.arrived, now, outcome);
        cx.reply(Response {
            request: p.request,
            outcome,
        });
    }
}

impl Component<Msg> for DynamoDb {
    fn init(&mut self, cx: &mut Ctx<'_>) {
        if let Some(m) = self.stream.as_mut().and_then(|s| s.mapping.as_mut()) {
            m.init(cx);
        }
        if self.auto_scaling.is_some() {
            cx.set_timer(SimDuration::from_secs(60), DynamoDbTimer::Scaling(0));
        }
    }

    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => self.on_request(request, cx),
            Msg::Timer(timer) => match DynamoDbTimer::from(timer) {
                DynamoDbTimer::Done(slot) | DynamoDbTimer::DaxHit(slot) => {
                    self.finish(slot as u32, Outcome::Ok, cx)
                }
                DynamoDbTimer::Retry(slot) => self.attempt(slot as u32, cx),
                DynamoDbTimer::Scaling(_) => self.on_scaling_minute(cx),
                DynamoDbTimer::StreamMapping(code) => self
                    .stream
                    .as_mut()
                    .and_then(|s| s.mapping.as_mut())
                    .expect("only a stream's mapping sets its timers")
                    .on_timer(code, cx),
            },
            // Answers to the stream's mapping: its function's, its on-failure destination's.
            Msg::Response(response) => {
                if let Some(stream) = &mut self.stream {
                    Mapping::route_answer(&mut stream.mapping, response, cx);
                }
            }
            Msg::Lost(request) => {
                if let Some(stream) = &mut self.stream {
                    Mapping::route_answer(&mut stream.mapping, Msg::lost_as_timeout(request), cx);
                }
            }
            Msg::Control(_) => {
                debug_assert!(false, "a dynamodb table does not receive {msg:?}")
            }
        }
    }
}

impl Observe for DynamoDb {
    fn kind(&self) -> &'static str {
        Spec::KIND
    }

    fn in_flight(&self) -> u64 {
        self.pending.len() as u64
    }

    fn sample(&mut self, now: SimTime, row: &mut SeriesRow) {
        self.metrics.sample(self.pending.len() as u64, row);
        let secs = now.saturating_since(self.last_sample).as_secs_f64();
        if secs > 0.0 {
            row.set_gauge(Gauge::ConsumedRcu as usize, Some(self.interval_rcu / secs));
            row.set_gauge(Gauge::ConsumedWcu as usize, Some(self.interval_wcu / secs));
        }
        row.set_gauge(Gauge::ProvisionedRcu as usize, Some(self.table.rcu as f64));
        row.set_gauge(Gauge::ProvisionedWcu as usize, Some(self.table.wcu as f64));
        let f = &self.figures;
        let spent = self.billing.usd(now, f.consumed_rcu, f.consumed_wcu);
        let spend = usd_per_hour(spent - self.spent_usd, self.last_sample, now);
        row.set_gauge(Gauge::Spend as usize, Some(spend));
        self.spent_usd = spent;
        self.interval_rcu = 0.0;
        self.interval_wcu = 0.0;
        self.last_sample = now;
        if let Some(m) = self.stream.as_ref().and_then(|s| s.mapping.as_ref()) {
            row.queue_length = Some(m.backlog());
            let in_flight = m.records_in_flight() as f64;
            row.set_gauge(Gauge::StreamRecordsInFlight as usize, Some(in_flight));
            row.set_gauge(Gauge::StreamOldestRecordAge as usize, m.oldest_age(now));
        }
    }

    fn report(&self, end: SimTime) -> ComponentReport {
        let f = &self.figures;
        let per_partition: Vec<u64> = self.table.partitions.iter().map(|p| p.requests).collect();
        let throttles: Vec<u64> = self.table.partitions.iter().map(|p| p.throttles).collect();
        let total: u64 = per_partition.iter().sum();
        let hottest = per_partition.iter().copied().max().unwrap_or(0);
        let measured = end
            .saturating_since(self.warmup_end)
            .as_secs_f64()
            .max(1e-9);
        let mut report = self
            .metrics
            .report(Spec::KIND, self.pending.len() as u64)
            .figure("mode", self.table.mode)
            .figure("partitions", self.table.partitions.len())
            .figure("provisioned_rcu", self.table.rcu)
            .figure("provisioned_wcu", self.table.wcu)
            .figure("reads", f.reads)
            .figure("writes", f.writes)
            .figure("consumed_rcu_mean", f.consumed_rcu / measured)
            .figure("consumed_wcu_mean", f.consumed_wcu / measured)
            .figure("throttle_events", f.throttle_events)
            .figure("retries", f.retries)
            .figure("throttles", f.throttled)
            .figure("partition_requests", per_partition)
            .figure("partition_throttles", throttles)
            .figure(
                "hottest_partition_share",
                if total > 0 {
                    hottest as f64 / total as f64
                } else {
                    0.0
                },
            );
        if let Some(a) = &self.auto_scaling {
            report = report.figure(super::outputs::SCALING_ACTIVITIES, a.activities);
        }
        report = report.bill(Some(self.billing.bill(end, f.consumed_rcu, f.consumed_wcu)));
        if let Some(stream) = &self.stream {
            let mut shard_records = stream.shard_records.clone();
            shard_records.resize(self.table.partitions.len(), 0);
            report = report
                .figure("stream_records", shard_records.iter().sum::<u64>())
                .figure("shard_records", shard_records);
            if let Some(m) = &stream.mapping {
                report = m.report(report, end);
            }
        }
        if let Some(dax) = &self.dax {
            let lookups = dax.hits + dax.misses;
            report = report
                .figure("dax_hits", dax.hits)
                .figure("dax_misses", dax.misses)
                .figure(
                    "dax_hit_ratio",
                    if lookups > 0 {
                        dax.hits as f64 / lookups as f64
                    } else {
                        0.0
                    },
                );
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_derived_at_the_bounds_stay_within_their_limit() {
        let max = limits::CAPACITY_UNITS.max;
        let text = format!(
            "rcu = {max}\nwcu = {max}\ntable_gb = {:?}\n",
            limits::TABLE_GB.max
        );
        let spec: Spec = toml::from_str(&text).unwrap();
        assert!(spec.check(0..0).is_empty());
        assert!(spec.partitions(max, max) <= limits::PARTITIONS.max);
        let above = text.replace("table_gb = 10000000.0", "table_gb = 1e9");
        let spec: Spec = toml::from_str(&above).unwrap();
        let issues = spec.check(0..0);
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].field, "table_gb");
        assert_eq!(&above[issues[0].span.clone()], "1e9");
    }

    #[test]
    fn capacity_units_round_as_aws_does() {
        // Reads per 4 KB rounded up, halved when eventually consistent.
        assert_eq!(capacity_units(Op::StrongRead, 3.0), (1.0, false));
        assert_eq!(capacity_units(Op::StrongRead, 6.0), (2.0, false));
        assert_eq!(capacity_units(Op::Read, 6.0), (1.0, false));
        assert_eq!(capacity_units(Op::Read, 1.0), (0.5, false));
        // Writes per KB rounded up; transactions doubled.
        assert_eq!(capacity_units(Op::Write, 3.5), (4.0, true));
        assert_eq!(capacity_units(Op::Write, 1.2), (2.0, true));
        assert_eq!(capacity_units(Op::TransactWrite, 1.2), (4.0, true));
        // A query of 10 items of 2 KB: 20 KB → 5 reads, halved.
        assert_eq!(capacity_units(Op::Query, 20.0), (2.5, false));
    }
}
