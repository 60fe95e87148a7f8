//! The event source mapping as a scenario writes it: its fields, their checks against what
//! the source (a Kinesis stream, a table's stream) allows, and the build of the running
//! [`Mapping`].

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::{Counts, Mapping};
use crate::components::{BuildContext, Expects, QueueConsumer, Reference, Role, SpecIssue};
use crate::engine::slab::Slab;
use crate::engine::time::SimDuration;
use crate::message::Timer;
use crate::metrics::Latency;
use crate::units::PositiveDuration;

/// Where the mapping begins reading a shard.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum StartingPosition {
    /// Only records that arrive after the mapping starts.
    #[default]
    Latest,
    /// Every record the shard holds when the mapping starts.
    TrimHorizon,
}

/// The event source mapping as a scenario writes it: `consumer = { function = "f", ... }`
/// on a `kinesis` stream, `stream_consumer = { ... }` on a table with `stream = true`.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingSpec {
    /// The Lambda function it invokes.
    #[schemars(with = "String")]
    pub function: Spanned<String>,
    /// Records per batch (default 100).
    #[schemars(with = "Option<u32>")]
    pub batch_size: Option<Spanned<u32>>,
    /// Longest wait to fill a batch (0 to 300 s, default 0).
    #[schemars(with = "Option<SimDuration>")]
    pub batch_window: Option<Spanned<SimDuration>>,
    /// `"latest"` (default) or `"trim_horizon"`.
    #[serde(default)]
    pub starting_position: StartingPosition,
    /// When the mapping starts reading (default the start of the run).
    pub start_at: Option<SimDuration>,
    /// Concurrent batches per shard, by partition key (1 to 10, default 1).
    #[schemars(with = "Option<u32>")]
    pub parallelization_factor: Option<Spanned<u32>>,
    /// Split a failed batch in two and retry the halves.
    #[serde(default)]
    pub bisect_batch_on_error: bool,
    /// Retries of a failed batch before it is discarded (−1, the default, retries until the
    /// records expire; up to 10 000).
    #[schemars(with = "Option<i64>")]
    pub maximum_retry_attempts: Option<Spanned<i64>>,
    /// Records older than this are discarded instead of sent (60 s to 7 days; default none).
    #[schemars(with = "Option<PositiveDuration>")]
    pub maximum_record_age: Option<Spanned<PositiveDuration>>,
    /// Where a discarded batch goes (any component that accepts requests, e.g. an `sqs`).
    #[schemars(with = "Option<String>")]
    pub on_failure: Option<Spanned<String>>,
    /// Kinesis only: an enhanced fan-out consumer (2 MiB/s per shard of its own, records
    /// pushed at once).
    #[schemars(with = "Option<bool>")]
    pub enhanced_fan_out: Option<Spanned<bool>>,
    /// Kinesis only: standard consumers that share each shard's reads, this one included
    /// (default 1).
    #[schemars(with = "Option<u32>")]
    pub standard_consumers: Option<Spanned<u32>>,
    /// Share of records the function fails on every time (poison records), 0 to 1.
    #[schemars(with = "Option<f64>")]
    pub poison_probability: Option<Spanned<f64>>,
}

/// The source a mapping reads, for its checks and its reads.
#[derive(Copy, Clone, Debug)]
pub struct Source {
    /// How people name it in messages ("a Kinesis stream").
    pub label: &'static str,
    /// Largest `batch_size`.
    pub max_batch_size: u32,
    /// Whether it offers enhanced fan-out.
    pub enhanced_fan_out: bool,
    /// How often a standard consumer polls an idle shard.
    pub poll_interval: SimDuration,
    /// Records one GetRecords returns at most.
    pub max_fetch_records: u32,
    /// Read throughput of a shard (KB/s) shared by standard consumers, if limited.
    pub shard_read_kb_per_s: Option<f64>,
    /// GetRecords calls per second per shard, shared by standard consumers.
    pub shard_reads_per_s: u32,
    /// How long records are kept.
    pub retention: SimDuration,
}

fn issue(field: String, message: String, span: Range<usize>) -> SpecIssue {
    SpecIssue {
        field,
        message,
        span,
    }
}

impl MappingSpec {
    /// The names it refers to, its fields under `field` (`consumer`).
    pub fn references<'a>(&'a self, field: &str) -> Vec<Reference<'a>> {
        let mut refs = vec![Reference {
            field: format!("{field}.function"),
            name: &self.function,
            expects: Expects::Role(Role::QueueConsumer),
            synchronous: false,
        }];
        if let Some(dest) = &self.on_failure {
            refs.push(Reference {
                field: format!("{field}.on_failure"),
                name: dest,
                expects: Expects::RequestTarget,
                synchronous: false,
            });
        }
        refs
    }

    fn efo(&self) -> bool {
        self.enhanced_fan_out.as_ref().is_some_and(|e| *e.get_ref())
    }

    /// Its fields' ranges, as AWS's CreateEventSourceMapping bounds them.
    pub fn check(&self, field: &str, source: &Source) -> Vec<SpecIssue> {
        let mut out = Vec::new();
        let at = |name: &str| format!("{field}.{name}");
        if let Some(b) = &self.batch_size
            && !(1..=source.max_batch_size).contains(b.get_ref())
        {
            out.push(issue(
                at("batch_size"),
                format!(
                    "must be between 1 and {} for {}, found {}",
                    source.max_batch_size,
                    source.label,
                    b.get_ref()
                ),
                b.span(),
            ));
        }
        if let Some(w) = &self.batch_window
            && *w.get_ref() > SimDuration::from_secs(300)
        {
            out.push(issue(
                at("batch_window"),
                format!("must be between 0s and 300s, found {}", w.get_ref()),
                w.span(),
            ));
        }
        if let Some(p) = &self.parallelization_factor
            && !(1..=10).contains(p.get_ref())
        {
            out.push(issue(
                at("parallelization_factor"),
                format!("must be between 1 and 10, found {}", p.get_ref()),
                p.span(),
            ));
        }
        if let Some(r) = &self.maximum_retry_attempts
            && !(-1..=10_000).contains(r.get_ref())
        {
            out.push(issue(
                at("maximum_retry_attempts"),
                format!(
                    "must be between -1 (retry until the records expire) and 10000, found {}",
                    r.get_ref()
                ),
                r.span(),
            ));
        }
        if let Some(a) = &self.maximum_record_age {
            let age = a.get_ref().0;
            if age < SimDuration::from_secs(60) || age > SimDuration::from_secs(604_800) {
                out.push(issue(
                    at("maximum_record_age"),
                    format!("must be between 60s and 7 days (\"7d\"), found {age}"),
                    a.span(),
                ));
            }
        }
        if let Some(e) = &self.enhanced_fan_out
            && *e.get_ref()
            && !source.enhanced_fan_out
        {
            out.push(issue(
                at("enhanced_fan_out"),
                format!("{} has no enhanced fan-out consumers", source.label),
                e.span(),
            ));
        }
        if let Some(n) = &self.standard_consumers {
            if !source.enhanced_fan_out {
                out.push(issue(
                    at("standard_consumers"),
                    format!(
                        "{} shares no read throughput setting; remove it",
                        source.label
                    ),
                    n.span(),
                ));
            } else if self.efo() {
                out.push(issue(
                    at("standard_consumers"),
                    "an enhanced fan-out consumer shares no read throughput with standard \
                     consumers; remove it or set enhanced_fan_out = false"
                        .into(),
                    n.span(),
                ));
            } else if !(1..=20).contains(n.get_ref()) {
                out.push(issue(
                    at("standard_consumers"),
                    format!("must be between 1 and 20, found {}", n.get_ref()),
                    n.span(),
                ));
            }
        }
        if let Some(p) = &self.poison_probability
            && !(0.0..=1.0).contains(p.get_ref())
        {
            out.push(issue(
                at("poison_probability"),
                format!("must be between 0 and 1, found {}", p.get_ref()),
                p.span(),
            ));
        }
        out
    }

    /// The running mapping of `shards` shards; `timer` wraps its timer codes into its owner's
    /// timers.
    pub fn build(
        &self,
        cx: &BuildContext<'_>,
        source: &Source,
        shards: u32,
        timer: fn(u64) -> Timer,
    ) -> Result<Mapping, String> {
        let name = self.function.get_ref();
        let is_function = cx
            .specs
            .get(name.as_str())
            .and_then(|spec| spec.queue_consumer())
            == Some(QueueConsumer::Function);
        if !is_function {
            return Err(format!(
                "the event source mapping of `{}` invokes `{name}`, which is no function: it \
                 must be a lambda",
                cx.name
            ));
        }
        let d = crate::defaults::kinesis();
        let efo = self.efo();
        let sharing = self.standard_consumers.as_ref().map_or(1, |n| *n.get_ref());
        // Five calls a second shared: more than five consumers each poll less than once a second.
        let poll_interval = if efo {
            SimDuration::ZERO
        } else {
            let share =
                SimDuration::from_secs_f64(sharing as f64 / source.shard_reads_per_s as f64);
            source.poll_interval.max(share)
        };
        let read_kb = if efo {
            Some(d.efo_read_kb_per_s)
        } else {
            source.shard_read_kb_per_s.map(|kb| kb / sharing as f64)
        };
        let mut mapping = Mapping {
            function: cx.id(name),
            on_failure: self.on_failure.as_ref().map(|n| cx.id(n.get_ref())),
            timer,
            batch_size: self
                .batch_size
                .as_ref()
                .map_or(d.batch_size, |b| *b.get_ref()),
            batch_window: self
                .batch_window
                .as_ref()
                .map_or(SimDuration::ZERO, |w| *w.get_ref()),
            factor: self
                .parallelization_factor
                .as_ref()
                .map_or(1, |p| *p.get_ref()),
            bisect: self.bisect_batch_on_error,
            max_retries: self
                .maximum_retry_attempts
                .as_ref()
                .and_then(|r| u32::try_from(*r.get_ref()).ok()),
            max_age: self.maximum_record_age.as_ref().map(|a| a.get_ref().0),
            retention: source.retention,
            retry_delay: d.mapping_retry_delay,
            starting_position: self.starting_position,
            start_at: self.start_at.unwrap_or(SimDuration::ZERO),
            started: false,
            efo,
            poll_interval,
            read_kb_per_s: read_kb,
            max_fetch: source.max_fetch_records,
            poison: self
                .poison_probability
                .as_ref()
                .map_or(0.0, |p| *p.get_ref()),
            shards: Vec::new(),
            batches: Slab::default(),
            warmup_end: cx.warmup_end,
            counts: Counts::default(),
            iterator_age: Latency::new(3),
        };
        mapping.ensure_shards(shards);
        Ok(mapping)
    }
}
