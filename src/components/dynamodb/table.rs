//! A table's capacity: partitions, each with its share of the provisioned capacity (retaining
//! unused capacity as burst) and its hard ceiling, adaptive capacity lent between partitions,
//! and the peak an on-demand table's capacity follows.

use std::collections::VecDeque;

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
}

impl PeakTracker {
    fn new(window: SimDuration) -> Self {
        PeakTracker {
            window,
            seconds: VecDeque::new(),
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
            _ => self.seconds.push_back((second, read, write)),
        }
        let keep_from = second.saturating_sub(self.window.as_nanos() / 1_000_000_000);
        while self.seconds.front().is_some_and(|s| s.0 < keep_from) {
            self.seconds.pop_front();
        }
    }

    /// Peak read and write units per second over the window, not counting the last minute:
    /// a new peak lets capacity double again only once the table has had time to scale.
    fn peaks(&self, now: SimTime) -> (f64, f64) {
        let second = now.as_nanos() / 1_000_000_000;
        let recent = second.saturating_sub(ON_DEMAND_SCALING_SECS);
        self.seconds
            .iter()
            .filter(|s| s.0 < recent)
            .fold((0.0, 0.0), |(r, w), s| (r.max(s.1), w.max(s.2)))
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
            for p in &mut self.partitions {
                p.read_share.set_rate(now, share_r, self.window);
                p.write_share.set_rate(now, share_w, self.window);
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
        let adaptive = self.adaptive || self.mode == Mode::OnDemand;
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
        let own = share_of(&mut self.partitions[p], write);
        let served = if own.has(now, units) {
            own.take(units);
            true
        } else if adaptive {
            // Borrow from the partition with the most unused capacity (lowest index on ties,
            // so the choice is deterministic). A lender keeps half a second of its own share:
            // what it lends is what it leaves unused, not what it is about to need.
            let mut donor = None;
            let mut most = 0.0;
            for (i, part) in self.partitions.iter_mut().enumerate() {
                if i == p {
                    continue;
                }
                let share = share_of(part, write);
                share.refill(now);
                let reserve = 0.5 * share.rate_per_s();
                let spare = share.tokens() - reserve;
                if spare >= units && spare > most {
                    most = spare;
                    donor = Some(i);
                }
            }
            match donor {
                Some(i) => {
                    share_of(&mut self.partitions[i], write).take(units);
                    true
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
