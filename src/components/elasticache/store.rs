//! One shard's memory: items by key, with their size, their expiry and their recency, evicted
//! least recently used first when a write does not fit.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::engine::time::SimTime;

/// An item in memory.
#[derive(Copy, Clone, Debug)]
struct Item {
    bytes: u64,
    /// Its place in the recency order (larger is more recent).
    used: u64,
    expires: Option<SimTime>,
}

/// What a write did.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Written {
    /// Stored, after evicting this many items.
    Stored { evicted: u64 },
    /// Refused: it does not fit and nothing may be evicted (Redis's "OOM command not allowed").
    OutOfMemory,
}

/// A shard's items.
pub(super) struct Store {
    capacity: u64,
    used_bytes: u64,
    /// Whether a write may evict (`allkeys-lru`, or `volatile-lru` with expiring items).
    may_evict: bool,
    /// Key → item. Looked up only, never iterated (iteration order must not reach results).
    items: HashMap<u64, Item>,
    /// Recency → key, least recent first.
    recency: BTreeMap<u64, u64>,
    /// (expiry, key) of the items that expire, soonest first.
    expiries: BTreeSet<(SimTime, u64)>,
    clock: u64,
}

impl Store {
    /// An empty shard with `capacity` bytes for data.
    pub(super) fn new(capacity: u64, may_evict: bool) -> Store {
        Store {
            capacity,
            used_bytes: 0,
            may_evict,
            items: HashMap::new(),
            recency: BTreeMap::new(),
            expiries: BTreeSet::new(),
            clock: 0,
        }
    }

    /// Bytes in use.
    pub(super) fn used_bytes(&self) -> u64 {
        self.used_bytes
    }

    /// Items held.
    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    /// Removes the items expired by `now`.
    pub(super) fn expire(&mut self, now: SimTime) {
        while let Some(&(at, key)) = self.expiries.first() {
            if at > now {
                break;
            }
            self.remove(key);
        }
    }

    fn remove(&mut self, key: u64) -> Option<Item> {
        let item = self.items.remove(&key)?;
        self.recency.remove(&item.used);
        if let Some(at) = item.expires {
            self.expiries.remove(&(at, key));
        }
        self.used_bytes -= item.bytes;
        Some(item)
    }

    fn touch(&mut self, key: u64) -> u64 {
        self.clock += 1;
        self.recency.insert(self.clock, key);
        self.clock
    }

    /// A read of `key` at `now`: true on a hit, which makes it the most recently used.
    pub(super) fn get(&mut self, key: u64, now: SimTime) -> bool {
        self.expire(now);
        let Some(old) = self.items.get(&key).map(|i| i.used) else {
            return false;
        };
        self.recency.remove(&old);
        let used = self.touch(key);
        self.items.get_mut(&key).expect("looked up above").used = used;
        true
    }

    /// A write of `key` (`bytes`, expiring at `expires`) at `now`: replaces the item, then
    /// evicts the least recently used others until it fits.
    pub(super) fn set(
        &mut self,
        key: u64,
        bytes: u64,
        expires: Option<SimTime>,
        now: SimTime,
    ) -> Written {
        self.expire(now);
        if bytes > self.capacity {
            return Written::OutOfMemory;
        }
        let old = self.remove(key);
        let mut evicted = 0;
        while self.used_bytes + bytes > self.capacity {
            if !self.may_evict {
                // Put the old item back untouched: a refused SET changes nothing.
                if let Some(item) = old {
                    self.insert(key, item);
                }
                return Written::OutOfMemory;
            }
            let (_, victim) = self.recency.pop_first().expect("used bytes imply items");
            let item = self
                .items
                .remove(&victim)
                .expect("recency lists held items");
            if let Some(at) = item.expires {
                self.expiries.remove(&(at, victim));
            }
            self.used_bytes -= item.bytes;
            evicted += 1;
        }
        let used = self.touch(key);
        self.insert(
            key,
            Item {
                bytes,
                used,
                expires,
            },
        );
        Written::Stored { evicted }
    }

    fn insert(&mut self, key: u64, item: Item) {
        self.recency.insert(item.used, key);
        if let Some(at) = item.expires {
            self.expiries.insert((at, key));
        }
        self.used_bytes += item.bytes;
        self.items.insert(key, item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> SimTime {
        SimTime::ZERO + crate::engine::time::SimDuration::from_secs(s)
    }

    #[test]
    fn the_least_recently_used_item_leaves_first() {
        let mut s = Store::new(300, true);
        for k in 0..3 {
            assert_eq!(s.set(k, 100, None, t(0)), Written::Stored { evicted: 0 });
        }
        assert!(s.get(0, t(1)));
        // Key 1 is now the least recently used: the fourth item evicts it.
        assert_eq!(s.set(3, 100, None, t(2)), Written::Stored { evicted: 1 });
        assert!(!s.get(1, t(3)));
        assert!(s.get(0, t(3)) && s.get(2, t(3)) && s.get(3, t(3)));
        // A 250-byte item needs two more evictions (2 and 0 are older than 3).
        assert_eq!(s.set(9, 250, None, t(4)), Written::Stored { evicted: 3 });
        assert_eq!((s.len(), s.used_bytes()), (1, 250));
    }

    #[test]
    fn items_expire_and_free_their_memory() {
        let mut s = Store::new(1000, true);
        s.set(1, 100, Some(t(10)), t(0));
        assert!(s.get(1, t(9)));
        assert!(!s.get(1, t(10)), "expired at its expiry");
        assert_eq!(s.used_bytes(), 0);
        // A rewrite replaces the expiry.
        s.set(2, 100, Some(t(5)), t(0));
        s.set(2, 100, Some(t(20)), t(4));
        s.expire(t(19));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn without_eviction_a_write_that_does_not_fit_is_refused_and_changes_nothing() {
        let mut s = Store::new(200, false);
        s.set(1, 100, None, t(0));
        s.set(2, 100, None, t(0));
        assert_eq!(s.set(3, 100, None, t(1)), Written::OutOfMemory);
        assert_eq!(s.set(1, 150, None, t(1)), Written::OutOfMemory);
        assert!(s.get(1, t(2)) && s.get(2, t(2)));
        assert_eq!(s.used_bytes(), 200);
        assert_eq!(s.set(4, 201, None, t(1)), Written::OutOfMemory);
    }
}
