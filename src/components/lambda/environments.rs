//! A function's execution environments and the concurrency they hold: which limit applies
//! (its reservation or the account's unreserved pool), the environments alive, and their
//! reclaim after the keep-alive.

use std::sync::Arc;

use super::Lambda;
use crate::components::account::LambdaPool;
use crate::engine::time::SimTime;
use crate::metrics::TimeWeighted;

/// Where a function's concurrency comes from.
pub(super) enum Limit {
    /// Its own reservation.
    Reserved(u32),
    /// The account's unreserved pool.
    Account(Arc<LambdaPool>),
}

/// One execution environment.
#[derive(Clone, Debug)]
pub(super) struct Env {
    /// Initialised before the run, never reclaimed.
    pub(super) provisioned: bool,
    /// When it last became idle.
    pub(super) idle_since: SimTime,
}

impl Lambda {
    /// Environments alive now: busy, provisioned, and idle ones not yet reclaimed.
    pub(super) fn alive(&self, now: SimTime) -> u64 {
        let idle: usize = self.idle.iter().map(Vec::len).sum();
        let idle_alive: usize = (0..2)
            .map(|v| self.idle[v].len() - self.first_alive_idle(v, now))
            .sum();
        (self.envs.len() - idle + idle_alive) as u64
    }

    /// Index in version `v`'s idle list of the first environment still within its keep-alive
    /// (the ones below it idled earlier and are reclaimed).
    fn first_alive_idle(&self, v: usize, now: SimTime) -> usize {
        let keep_alive = self.keep_alive;
        self.idle[v].partition_point(|&e| self.envs[e].idle_since + keep_alive < now)
    }

    /// The idle environments of both versions among the first `counts` of each list, in the
    /// order they idled (so in the order their keep-alives expire).
    fn idle_in_order(&self, counts: [usize; 2]) -> Vec<u32> {
        let (a, b) = (&self.idle[0][..counts[0]], &self.idle[1][..counts[1]]);
        let mut merged = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let take_a = j == b.len()
                || (i < a.len() && self.envs[a[i]].idle_since <= self.envs[b[j]].idle_since);
            if take_a {
                merged.push(a[i]);
                i += 1;
            } else {
                merged.push(b[j]);
                j += 1;
            }
        }
        merged
    }

    /// The environments level with every reclaim up to `end` applied (reclaims happen lazily,
    /// so the report must not depend on whether anything sampled the function lately).
    pub(super) fn environments_until(&self, end: SimTime) -> TimeWeighted {
        let mut level = self.environments.clone();
        let mut alive = self.envs.len() as f64;
        for e in self.idle_in_order([self.idle[0].len(), self.idle[1].len()]) {
            let expired_at = self.envs[e].idle_since + self.keep_alive;
            if expired_at >= end {
                break;
            }
            alive -= 1.0;
            level.set(expired_at, self.warmup_end, alive);
        }
        level
    }

    /// Frees reclaimed environments.
    pub(super) fn reclaim(&mut self, now: SimTime) {
        let gone = [self.first_alive_idle(0, now), self.first_alive_idle(1, now)];
        if gone == [0, 0] {
            return;
        }
        // Step the environments level down at each reclaim time (oldest first), so its time
        // average does not count environments past their keep-alive.
        let mut level = self.envs.len() as f64;
        for e in self.idle_in_order(gone) {
            let expired_at = self.envs[e].idle_since + self.keep_alive;
            level -= 1.0;
            self.environments.set(expired_at, self.warmup_end, level);
            self.envs.remove(e);
        }
        for (v, n) in gone.into_iter().enumerate() {
            self.idle[v].drain(..n);
        }
    }

    /// Concurrency in use: busy on-demand and provisioned environments.
    pub(super) fn busy(&self) -> u32 {
        self.on_demand_busy + (self.provisioned - self.idle_provisioned.len() as u32)
    }

    /// Reclaims expired environments and records the concurrency and environment levels.
    pub(super) fn record_levels(&mut self, now: SimTime) {
        self.reclaim(now);
        let busy = self.busy() as u64;
        let alive = self.alive(now);
        if self.in_window(now) {
            self.figures.concurrency_max = self.figures.concurrency_max.max(busy);
            self.figures.environments_max = self.figures.environments_max.max(alive);
        }
        self.concurrency.set(now, self.warmup_end, busy as f64);
        self.environments.set(now, self.warmup_end, alive as f64);
    }

    /// Takes one unit of on-demand concurrency, if the limit allows.
    pub(super) fn acquire(&mut self) -> bool {
        let ok = match &self.limit {
            // Provisioned environments hold part of the reservation permanently.
            Limit::Reserved(r) => self.on_demand_busy + self.provisioned < *r,
            Limit::Account(account) => account.try_acquire(1),
        };
        if ok {
            self.on_demand_busy += 1;
        }
        ok
    }

    /// Gives back one unit of on-demand concurrency.
    pub(super) fn release(&mut self) {
        self.on_demand_busy -= 1;
        if let Limit::Account(account) = &self.limit {
            account.release(1);
        }
    }
}
