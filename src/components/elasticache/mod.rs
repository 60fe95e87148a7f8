//! `elasticache`: an Amazon ElastiCache (Valkey or Redis OSS) cluster: items held in memory
//! until they expire or are evicted, least recently used first, spread over shards by hash
//! slot; a cache-aside read that misses fetches the item from the database and writes it.
//!
//! ```toml
//! [[component]]
//! name = "cache"
//! kind = "elasticache"
//! node_type = "cache.r6g.large"            # maxmemory from models/elasticache.toml
//! shards = 3                               # cluster mode: node groups (default 1)
//! ttl = "10m"                              # each write's expiry (default: none)
//! on_miss = { call = "db", op = "read" }   # cache-aside: a read that misses asks the database,
//!                                          # then writes the item
//! ```
//!
//! A handler calls it as any other component: `{ call = "cache", op = "read" }` reads the
//! request's key (`write` and `transact_write` write it; every other operation reads). Items
//! are `item_kb` (the call's or the workload's) plus a per-item overhead, so the hit ratio
//! emerges from the keys, their sizes, the TTL and the memory, never an input.
//!
//! What it follows (sources in `models/elasticache.toml`):
//! - Memory for data is the node type's `maxmemory` less `reserved_memory_percent` (25 % by
//!   default). A write that does not fit evicts the least recently used items
//!   (`maxmemory_policy`: `volatile-lru`, the default, evicts only items with an expiry, so
//!   without a `ttl` nothing is evicted and the write is refused, Redis's "OOM command not
//!   allowed"; `allkeys-lru` evicts any item; `noeviction` none).
//! - An item written with a `ttl` expires that long after its last write (a read does not
//!   renew it); an expired item is a miss and frees its memory.
//! - Cluster mode: key k (named by its decimal digits) lives in hash slot CRC16("k") mod 16384;
//!   the shards hold even contiguous slot ranges. Each shard runs its commands on one engine
//!   thread, first come first served, `command_time` each (10 µs assumed), so one hot key
//!   saturates its shard while the others idle.
//! - Cache-aside (lazy loading): a read that misses runs its GET, then the `on_miss` call, then
//!   a SET of the item (two commands on the shard), and answers with the database's outcome.
//!   Concurrent misses of one key each go to the database (no request coalescing). Without
//!   `on_miss`, a miss is answered at once (the caller learns the key is absent).
//!
//! What it simplifies: exact LRU (Redis samples `maxmemory-samples` keys and evicts the oldest
//! of them), exact expiry at the expiry time (Redis expires lazily and by sampling), one size
//! overhead per item, no network time between the client and the cache, no replicas (reads go
//! to the primaries; no failover), no client-side connection limits, Memcached not modelled,
//! and nothing billed (the price list has no ElastiCache prices).

mod catalogue;
mod cluster;
mod outputs;
mod store;

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

pub use catalogue::{crc16, hash_slot, node, slot_shards};

use super::handler::DurationDist;
use super::{BuildContext, Expects, Kind, Reference, SpecIssue};
use crate::message::Op;
use crate::metrics::Observe;
use crate::units::PositiveDuration;
use cluster::{Cluster, Settings};

/// An `elasticache` cluster as a scenario writes it.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The engine: `"valkey"` (the default) or `"redis"` (the same model); `"memcached"` is
    /// refused (not modelled).
    #[schemars(with = "Option<CacheEngine>")]
    pub engine: Option<Spanned<CacheEngine>>,
    /// The node type of every primary (`cache.r6g.large`), one of `models/elasticache.toml`.
    #[schemars(with = "String")]
    pub node_type: Spanned<String>,
    /// Shards (node groups) in cluster mode: 1 (the default, cluster mode disabled) to 500.
    #[schemars(with = "Option<u32>")]
    pub shards: Option<Spanned<u32>>,
    /// Expiry of each written item, counted from its last write; none by default (items stay
    /// until evicted).
    #[schemars(with = "Option<PositiveDuration>")]
    pub ttl: Option<Spanned<PositiveDuration>>,
    /// What memory pressure evicts: `"volatile-lru"` (the default parameter group's),
    /// `"allkeys-lru"` or `"noeviction"`.
    #[schemars(with = "Option<EvictionPolicy>")]
    pub maxmemory_policy: Option<Spanned<EvictionPolicy>>,
    /// Per cent of `maxmemory` kept from data, 0 to 99 (default 25).
    #[schemars(with = "Option<u8>")]
    pub reserved_memory_percent: Option<Spanned<u8>>,
    /// Engine time of one command on a shard's thread (default 10 µs, an assumption).
    pub command_time: Option<DurationDist>,
    /// Cache-aside: the call a read that misses makes (then it writes the item); none by
    /// default (a miss is answered at once).
    pub on_miss: Option<OnMiss>,
}

/// The database call of a cache-aside read that misses.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OnMiss {
    /// The component that holds the data (a component that accepts requests).
    #[schemars(with = "String")]
    pub call: Spanned<String>,
    /// The operation the call asks for (default `read`).
    pub op: Option<Op>,
}

/// The cache engine.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CacheEngine {
    /// Valkey.
    #[default]
    Valkey,
    /// Redis OSS (the same model as Valkey).
    Redis,
    /// Memcached: not modelled yet (refused with a message).
    Memcached,
}

/// Redis's `maxmemory-policy` values awsim models.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EvictionPolicy {
    /// Evict the least recently used item with an expiry.
    VolatileLru,
    /// Evict the least recently used item.
    AllkeysLru,
    /// Evict nothing: writes that do not fit are refused.
    Noeviction,
}

impl Spec {
    fn shard_count(&self) -> u32 {
        self.shards.as_ref().map_or(1, |s| *s.get_ref())
    }

    fn policy(&self) -> EvictionPolicy {
        self.maxmemory_policy.as_ref().map_or_else(
            || catalogue::defaults().memory.maxmemory_policy,
            |p| *p.get_ref(),
        )
    }

    /// Bytes each shard has for data.
    fn data_bytes(&self, maxmemory: u64) -> u64 {
        let reserved = self.reserved_memory_percent.as_ref().map_or_else(
            || catalogue::defaults().memory.reserved_memory_percent,
            |r| *r.get_ref(),
        );
        (maxmemory as u128 * (100 - reserved.min(100)) as u128 / 100) as u64
    }
}

impl Kind for Spec {
    const KIND: &'static str = "elasticache";
    const SUMMARY: &'static str = "An Amazon ElastiCache cluster (Valkey or Redis OSS): items in memory until they expire \
         or are evicted, least recently used first, over shards by hash slot.";
    const FOLLOWS: &'static str = "memory for data = maxmemory less 25 % reserved; items of `item_kb` + overhead; LRU \
         eviction by memory under `volatile-lru` (default), `allkeys-lru` or `noeviction` \
         (refused writes); TTL from the last write; cluster mode by CRC16 hash slot over even \
         slot ranges; one engine thread per shard; cache-aside reads (GET, database, SET)";
    const SIMPLIFIES: &'static str = "exact LRU and expiry; a fixed per-item overhead; no client–cache network time; no \
         request coalescing, replicas, failover or Memcached; not billed";
    const ACCEPTS_REQUESTS: bool = true;

    fn references(&self) -> Vec<Reference<'_>> {
        self.on_miss
            .iter()
            .map(|m| Reference {
                field: "on_miss.call".into(),
                name: &m.call,
                expects: Expects::RequestTarget,
                synchronous: true,
            })
            .collect()
    }

    fn check(&self, _component_span: Range<usize>) -> Vec<SpecIssue> {
        let mut issues = Vec::new();
        if let Some(e) = &self.engine
            && *e.get_ref() == CacheEngine::Memcached
        {
            issues.push(SpecIssue {
                field: "engine".into(),
                message: "Memcached is not modelled yet: use \"valkey\" or \"redis\"".into(),
                span: e.span(),
            });
        }
        if let Err(message) = node(self.node_type.get_ref()) {
            issues.push(SpecIssue {
                field: "node_type".into(),
                message,
                span: self.node_type.span(),
            });
        }
        if let Some(s) = &self.shards {
            let max = catalogue::defaults().cluster.max_shards;
            if !(1..=max).contains(s.get_ref()) {
                issues.push(SpecIssue {
                    field: "shards".into(),
                    message: format!(
                        "must be from 1 to {max} (ElastiCache's shards per cluster), found {}",
                        s.get_ref()
                    ),
                    span: s.span(),
                });
            }
        }
        if let Some(r) = &self.reserved_memory_percent
            && *r.get_ref() > 99
        {
            issues.push(SpecIssue {
                field: "reserved_memory_percent".into(),
                message: format!(
                    "must be from 0 to 99 (100 leaves no memory for data), found {}",
                    r.get_ref()
                ),
                span: r.span(),
            });
        }
        issues
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String> {
        let node = node(self.node_type.get_ref())?;
        let command_time = match &self.command_time {
            Some(d) => d.0.build(cx.base_dir)?,
            None => crate::dist::Dist::constant(catalogue::defaults().engine.command_time),
        };
        let ttl = self.ttl.as_ref().map(|t| t.get_ref().get());
        let may_evict = match self.policy() {
            EvictionPolicy::AllkeysLru => true,
            EvictionPolicy::VolatileLru => ttl.is_some(),
            EvictionPolicy::Noeviction => false,
        };
        Ok(Box::new(Cluster::new(
            Settings {
                shards: self.shard_count(),
                node,
                data_bytes: self.data_bytes(node.maxmemory),
                may_evict,
                ttl,
                item_overhead: catalogue::defaults().memory.item_overhead_bytes,
                command_time,
                on_miss: self
                    .on_miss
                    .as_ref()
                    .map(|m| (cx.id(m.call.get_ref()), m.op.unwrap_or(Op::Read))),
            },
            cx.warmup_end,
        )))
    }
}

#[cfg(test)]
mod tests;
