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
        let idle_alive = self.idle.len() - self.first_alive_idle(now);
        (self.envs.len() - self.idle.len() + idle_alive) as u64
    }

    /// Index in `idle` of the first environment still within its keep-alive (the ones below
    /// it idled earlier and are reclaimed).
    fn first_alive_idle(&self, now: SimTime) -> usize {
        let keep_alive = self.keep_alive;
        self.idle
            .partition_point(|&e| self.envs[e].idle_since + keep_alive < now)
    }

    /// The environments level with every reclaim up to `end` applied (reclaims happen lazily,
    /// so the report must not depend on whether anything sampled the function lately).
    pub(super) fn environments_until(&self, end: SimTime) -> TimeWeighted {
        let mut level = self.environments.clone();
        let mut alive = self.envs.len() as f64;
        for &e in &self.idle {
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
        let gone = self.first_alive_idle(now);
        // Step the environments level down at each reclaim time (oldest first), so its time
        // average does not count environments past their keep-alive.
        let mut level = self.envs.len() as f64;
        for e in self.idle.drain(..gone) {
            let expired_at = self.envs[e].idle_since + self.keep_alive;
            level -= 1.0;
            self.environments.set(expired_at, self.warmup_end, level);
            self.envs.remove(e);
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
