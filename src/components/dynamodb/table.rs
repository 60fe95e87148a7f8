//! A table's capacity: partitions, each with its share of the provisioned capacity (retaining
//! unused capacity as burst) and its hard ceiling, adaptive capacity lent between partitions,
//! and the peak an on-demand table's capacity follows.
//!
//! A request costs O(log partitions): a partition's buckets are refilled when it is used, and
//! adaptive capacity finds its lender in [`Lenders`], the partitions ordered by when their
//! share is full again, instead of refilling and comparing every partition per request (which
//! took 24 s for 2 simulated seconds of a table of 10⁶ partitions).

use std::collections::{BTreeSet, VecDeque};

use super::Mode;
use crate::components::token_bucket::FloatBucket;
use crate::engine::rng::fnv1a64;
use crate::engine::time::{SimDuration, SimTime};

/// One partition: its share (without adaptive capacity) and its hard ceiling.
#[derive(Clone, Debug)]
pub(super) struct Partition {
    read_share: FloatBucket,
    write_share: FloatBucket,
    read_ceiling: FloatBucket,
    write_ceiling: FloatBucket,
    /// Requests (not retries) of the measured window.
    pub(super) requests: u64,
    /// Throttled attempts of the measured window.
    pub(super) throttles: u64,
}

/// The largest per-second consumption over a sliding window (on-demand capacity).
#[derive(Clone, Debug)]
pub(super) struct PeakTracker {
    window: SimDuration,
    /// (second index, read units, write units), oldest first.
    seconds: VecDeque<(u64, f64, f64)>,
    /// The peaks as last computed, and the second they were computed in: they change only
    /// when a second enters or leaves `seconds` or the current second moves on, so an
    /// on-demand table looks over its 30-minute window once a second, not once a request.
    cached: Option<(u64, (f64, f64))>,
}

impl PeakTracker {
    fn new(window: SimDuration) -> Self {
        PeakTracker {
            window,
            seconds: VecDeque::new(),
            cached: None,
        }
    }

    /// Counts `read` and `write` units consumed at `now`.
    pub(super) fn add(&mut self, now: SimTime, read: f64, write: f64) {
        let second = now.as_nanos() / 1_000_000_000;
        match self.seconds.back_mut() {
            Some(last) if last.0 == second => {
                last.1 += read;
                last.2 += write;
            }
            _ => {
                self.seconds.push_back((second, read, write));
                self.cached = None;
            }
        }
        // (Adding to the current second changes no cached peak: a second counts only once
        // it is a minute old.)
        let keep_from = second.saturating_sub(self.window.as_nanos() / 1_000_000_000);
        while self.seconds.front().is_some_and(|s| s.0 < keep_from) {
            self.seconds.pop_front();
            self.cached = None;
        }
    }

    /// Peak read and write units per second over the window, not counting the last minute:
    /// a new peak lets capacity double again only once the table has had time to scale.
    fn peaks(&mut self, now: SimTime) -> (f64, f64) {
        let second = now.as_nanos() / 1_000_000_000;
        if let Some((at, peaks)) = self.cached
            && at == second
        {
            return peaks;
        }
        let recent = second.saturating_sub(ON_DEMAND_SCALING_SECS);
        let peaks = self
            .seconds
            .iter()
            .filter(|s| s.0 < recent)
            .fold((0.0f64, 0.0f64), |(r, w), s| (r.max(s.1), w.max(s.2)));
        self.cached = Some((second, peaks));
        peaks
    }
}

/// How old a peak must be before it raises an on-demand table's instant capacity.
const ON_DEMAND_SCALING_SECS: u64 = 60;

/// The table's capacity: its partitions and their buckets.
pub(super) struct Table {
    /// Capacity mode.
    pub(super) mode: Mode,
    adaptive: bool,
    /// How much unused capacity a partition's share retains (its burst).
    window: SimDuration,
    /// Provisioned (or, on demand, current) read capacity units.
    pub(super) rcu: u32,
    /// Provisioned (or, on demand, current) write capacity units.
    pub(super) wcu: u32,
    /// The partitions, by index.
    pub(super) partitions: Vec<Partition>,
    /// Peak consumption (on-demand capacity follows it).
    pub(super) peak: PeakTracker,
    /// With adaptive capacity: the partitions that may lend read and write capacity.
    lenders: Option<[Lenders; 2]>,
}

/// The partitions that may lend one kind of capacity (reads or writes), ordered by how much
/// their share holds: every partition's share has the same rate and size, so the share that
/// will be full first holds the most now, and full ones hold the same.
#[derive(Clone, Debug, Default)]
struct Lenders {
    /// Partitions whose share is full (as of when they were last used, or since the time it
    /// would be full passed), by index.
    full: BTreeSet<u32>,
    /// The others, by when their share is full again (ns), then index.
    filling: BTreeSet<(u64, u32)>,
    /// Each partition's key in `filling` (`None` when it is in `full`).
    key: Vec<Option<u64>>,
}

impl Lenders {
    /// `n` partitions, all full.
    fn full(n: usize) -> Lenders {
        Lenders {
            full: (0..n as u32).collect(),
            filling: BTreeSet::new(),
            key: vec![None; n],
        }
    }

    /// Partition `p`'s share changed (it was taken from, or its rate changed): its place
    /// follows.
    fn update(&mut self, p: usize, share: &FloatBucket, now: SimTime) {
        match self.key[p].take() {
            Some(at) => {
                self.filling.remove(&(at, p as u32));
            }
            None => {
                self.full.remove(&(p as u32));
            }
        }
        let at = share.full_at();
        if at <= now {
            self.full.insert(p as u32);
        } else {
            self.filling.insert((at.as_nanos(), p as u32));
            self.key[p] = Some(at.as_nanos());
        }
    }

    /// The partition other than `p` with the most unused capacity at `now`: the first full one
    /// by index, else the one that will be full soonest (lowest index on ties).
    fn richest(&mut self, p: usize, now: SimTime) -> Option<usize> {
        while let Some(&(at, i)) = self.filling.first()
            && at <= now.as_nanos()
        {
            self.filling.pop_first();
            self.key[i as usize] = None;
            self.full.insert(i);
        }
        let other = |&(_, i): &(u64, u32)| i as usize != p;
        self.full
            .iter()
            .map(|&i| i as usize)
            .find(|&i| i != p)
            .or_else(|| self.filling.iter().find(|e| other(e)).map(|e| e.1 as usize))
    }
}

impl Table {
    /// A table of `partitions` partitions sharing `rcu` and `wcu`, each share retaining
    /// `window` of unused capacity.
    pub(super) fn new(
        mode: Mode,
        adaptive: bool,
        window: SimDuration,
        rcu: u32,
        wcu: u32,
        partitions: u32,
    ) -> Table {
        let mut table = Table {
            mode,
            adaptive,
            window,
            rcu,
            wcu,
            partitions: Vec::new(),
            peak: PeakTracker::new(crate::defaults::dynamodb().on_demand_peak_window),
            lenders: None,
        };
        table.repartition(partitions);
        table
    }

    fn repartition(&mut self, n: u32) {
        let d = crate::defaults::dynamodb();
        let n = n.max(1) as usize;
        let share_r = self.rcu as f64 / n as f64;
        let share_w = self.wcu as f64 / n as f64;
        // The ceiling bucket holds one second: a partition cannot burst past its ceiling.
        let second = SimDuration::from_secs(1);
        self.partitions = (0..n)
            .map(|i| {
                let old = self.partitions.get(i);
                Partition {
                    read_share: FloatBucket::per_second(share_r, self.window),
                    write_share: FloatBucket::per_second(share_w, self.window),
                    read_ceiling: FloatBucket::per_second(d.partition_rcu as f64, second),
                    write_ceiling: FloatBucket::per_second(d.partition_wcu as f64, second),
                    requests: old.map_or(0, |p| p.requests),
                    throttles: old.map_or(0, |p| p.throttles),
                }
            })
            .collect();
        self.lenders = (self.adaptive || self.mode == Mode::OnDemand)
            .then(|| [Lenders::full(n), Lenders::full(n)]);
    }

    /// New provisioned capacity (auto scaling): the buckets take the new rates; partitions are
    /// added if the capacity needs more, never removed.
    pub(super) fn set_capacity(&mut self, now: SimTime, rcu: u32, wcu: u32) {
        let d = crate::defaults::dynamodb();
        self.rcu = rcu;
        self.wcu = wcu;
        let needed = (rcu as f64 / d.partition_rcu as f64 + wcu as f64 / d.partition_wcu as f64)
            .ceil() as usize;
        let n = needed.max(self.partitions.len());
        let (share_r, share_w) = (rcu as f64 / n as f64, wcu as f64 / n as f64);
        if n > self.partitions.len() {
            self.repartition(n as u32);
        } else {
            for (i, p) in self.partitions.iter_mut().enumerate() {
                p.read_share.set_rate(now, share_r, self.window);
                p.write_share.set_rate(now, share_w, self.window);
                if let Some([read, write]) = &mut self.lenders {
                    read.update(i, &p.read_share, now);
                    write.update(i, &p.write_share, now);
                }
            }
        }
    }

    /// The partition that holds `key`.
    pub(super) fn partition_of(&self, key: u64) -> usize {
        (fnv1a64(&key.to_le_bytes()) % self.partitions.len() as u64) as usize
    }

    /// On-demand: capacity follows double the previous peak, and partitions follow capacity.
    pub(super) fn follow_demand(&mut self, now: SimTime) {
        let d = crate::defaults::dynamodb();
        let (peak_r, peak_w) = self.peak.peaks(now);
        let rcu = (d.on_demand_initial_rcu as f64).max(2.0 * peak_r).ceil() as u32;
        let wcu = (d.on_demand_initial_wcu as f64).max(2.0 * peak_w).ceil() as u32;
        if rcu != self.rcu || wcu != self.wcu {
            self.set_capacity(now, rcu, wcu);
        }
    }

    /// Takes `units` for a read or write on partition `p` if capacity allows: from its own
    /// share, or (adaptive capacity) from the share another partition leaves unused; never past
    /// the partition's ceiling.
    pub(super) fn admit(&mut self, now: SimTime, p: usize, units: f64, write: bool) -> bool {
        fn share_of(part: &mut Partition, write: bool) -> &mut FloatBucket {
            if write {
                &mut part.write_share
            } else {
                &mut part.read_share
            }
        }
        let ceiling = if write {
            &mut self.partitions[p].write_ceiling
        } else {
            &mut self.partitions[p].read_ceiling
        };
        if !ceiling.has(now, units) {
            return false;
        }
        let lenders = self
            .lenders
            .as_mut()
            .map(|[read, write_lenders]| if write { write_lenders } else { read });
        let own = share_of(&mut self.partitions[p], write);
        let served = if own.has(now, units) {
            own.take(units);
            if let Some(lenders) = lenders {
                lenders.update(p, own, now);
            }
            true
        } else if let Some(lenders) = lenders {
            // Borrow from the partition with the most unused capacity (lowest index on ties,
            // so the choice is deterministic), if it has enough: then no other has. A lender
            // keeps half a second of its own share: what it lends is what it leaves unused,
            // not what it is about to need.
            match lenders.richest(p, now) {
                Some(i) => {
                    let share = share_of(&mut self.partitions[i], write);
                    share.refill(now);
                    let spare = share.tokens() - 0.5 * share.rate_per_s();
                    let lends = spare >= units && spare > 0.0;
                    if lends {
                        share.take(units);
                        lenders.update(i, share, now);
                    }
                    lends
                }
                None => false,
            }
        } else {
            false
        };
        if served {
            let ceiling = if write {
                &mut self.partitions[p].write_ceiling
            } else {
                &mut self.partitions[p].read_ceiling
            };
            ceiling.take(units);
        }
        served
    }
}
