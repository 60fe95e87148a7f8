//! Table auto scaling (`auto_scaling = { target = 70 }`): target tracking of a provisioned
//! table's utilisation, minute by minute.

use std::collections::VecDeque;

use super::{AutoScalingSpec, DynamoDb, DynamoDbTimer};
use crate::engine::time::SimDuration;
use crate::message::Ctx;

/// Application Auto Scaling of a table: target tracking on consumed / provisioned, per
/// minute, for reads and writes separately. Scale out after 2 consecutive minutes above the
/// target, scale in after 15 below 80 % of it (as AWS's DynamoDB target tracking alarms do),
/// to ceil(consumed / target).
pub(super) struct AutoScaling {
    target: f64,
    min_rcu: u32,
    max_rcu: u32,
    min_wcu: u32,
    max_wcu: u32,
    /// Read units consumed in the current minute.
    pub(super) minute_rcu: f64,
    /// Write units consumed in the current minute.
    pub(super) minute_wcu: f64,
    /// Per minute, newest last.
    history: VecDeque<Minute>,
    /// Capacity changes made.
    pub(super) activities: u64,
}

/// One minute of a table's use: consumed RCU/s, consumed WCU/s, provisioned RCU, WCU.
type Minute = (f64, f64, u32, u32);

/// Picks the read or the write half of a [`Minute`]: (consumed per second, provisioned).
type Pick = fn(&Minute) -> (f64, u32);

const SCALE_OUT_MINUTES: usize = 2;
const SCALE_IN_MINUTES: usize = 15;

impl AutoScaling {
    /// The scaling `spec` sets for a table provisioned with `rcu` and `wcu`.
    pub(super) fn new(spec: &AutoScalingSpec, rcu: u32, wcu: u32) -> AutoScaling {
        AutoScaling {
            target: spec.target.as_ref().map_or(70.0, |t| *t.get_ref()),
            min_rcu: spec.min_rcu.as_ref().map_or(rcu, |v| *v.get_ref()).max(1),
            max_rcu: spec
                .max_rcu
                .as_ref()
                .map_or(40_000, |v| *v.get_ref())
                .max(1),
            min_wcu: spec.min_wcu.as_ref().map_or(wcu, |v| *v.get_ref()).max(1),
            max_wcu: spec
                .max_wcu
                .as_ref()
                .map_or(40_000, |v| *v.get_ref())
                .max(1),
            minute_rcu: 0.0,
            minute_wcu: 0.0,
            history: VecDeque::new(),
            activities: 0,
        }
    }

    /// New (rcu, wcu), if the last minutes call for a change.
    fn decide(&self) -> Option<(u32, u32)> {
        let last = *self.history.back()?;
        let decide_one = |pick: Pick, min: u32, max: u32| {
            let (consumed, provisioned) = pick(&last);
            let utilisation = |h: &Minute| {
                let (c, p) = pick(h);
                100.0 * c / p.max(1) as f64
            };
            let recent = |n: usize| self.history.iter().rev().take(n);
            let wanted = ((consumed * 100.0 / self.target).ceil() as u32).clamp(min, max);
            if self.history.len() >= SCALE_OUT_MINUTES
                && recent(SCALE_OUT_MINUTES).all(|h| utilisation(h) > self.target)
                && wanted > provisioned
            {
                return Some(wanted);
            }
            if self.history.len() >= SCALE_IN_MINUTES
                && recent(SCALE_IN_MINUTES).all(|h| utilisation(h) < 0.8 * self.target)
                && wanted < provisioned
            {
                return Some(wanted);
            }
            None
        };
        let r = decide_one(|h| (h.0, h.2), self.min_rcu, self.max_rcu);
        let w = decide_one(|h| (h.1, h.3), self.min_wcu, self.max_wcu);
        if r.is_none() && w.is_none() {
            return None;
        }
        Some((r.unwrap_or(last.2), w.unwrap_or(last.3)))
    }
}

impl DynamoDb {
    /// One minute of auto scaling: record utilisation, change the capacity if due.
    pub(super) fn on_scaling_minute(&mut self, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let (rcu, wcu) = (self.table.rcu, self.table.wcu);
        let Some(a) = &mut self.auto_scaling else {
            return;
        };
        a.history
            .push_back((a.minute_rcu / 60.0, a.minute_wcu / 60.0, rcu, wcu));
        while a.history.len() > SCALE_IN_MINUTES {
            a.history.pop_front();
        }
        a.minute_rcu = 0.0;
        a.minute_wcu = 0.0;
        if let Some((new_rcu, new_wcu)) = a.decide() {
            a.activities += 1;
            // Decisions start afresh on the new capacity.
            a.history.clear();
            self.table.set_capacity(now, new_rcu, new_wcu);
            self.billing
                .capacity_changed(now, self.table.rcu, self.table.wcu);
        }
        cx.set_timer(SimDuration::from_secs(60), DynamoDbTimer::Scaling(0));
    }
}
