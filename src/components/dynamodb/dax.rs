//! DAX: an item cache in front of a table's eventually consistent reads, written through by
//! writes, evicting the oldest entry when full.

use std::collections::{HashMap, VecDeque};

use crate::dist::Dist;
use crate::engine::time::{SimDuration, SimTime};

/// A DAX cluster's item cache.
pub(super) struct Dax {
    ttl: SimDuration,
    capacity: usize,
    /// Service time of a hit.
    pub(super) latency: Dist,
    /// Key → expiry. Looked up only, never iterated (iteration order must not reach results).
    entries: HashMap<u64, SimTime>,
    /// Keys in insertion order, for eviction.
    order: VecDeque<u64>,
    /// Hits of the measured window.
    pub(super) hits: u64,
    /// Misses of the measured window.
    pub(super) misses: u64,
}

impl Dax {
    /// An empty cache of `capacity` items kept `ttl`, answering hits in `latency`.
    pub(super) fn new(ttl: SimDuration, capacity: usize, latency: Dist) -> Dax {
        Dax {
            ttl,
            capacity,
            latency,
            entries: HashMap::new(),
            order: VecDeque::new(),
            hits: 0,
            misses: 0,
        }
    }

    /// True when `key` is cached at `now`.
    pub(super) fn hit(&self, key: u64, now: SimTime) -> bool {
        self.entries.get(&key).is_some_and(|&expiry| now < expiry)
    }

    /// Caches `key` from `now` (an entry already there keeps its expiry).
    pub(super) fn fill(&mut self, key: u64, now: SimTime) {
        if self.entries.insert(key, now + self.ttl).is_none() {
            self.order.push_back(key);
            while self.entries.len() > self.capacity {
                if let Some(old) = self.order.pop_front() {
                    self.entries.remove(&old);
                }
            }
        }
    }
}
