//! The NLB's flow table: the target each open client connection goes to for the connection's
//! life, and when an idle flow leaves the table.

use std::collections::HashMap;

use super::NlbTimer;
use crate::engine::slab::Slab;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::timer::{TimerSlot, timer_index};
use crate::message::Ctx;

/// What identifies a connection ([`crate::message::Connection::key`]).
pub(super) type FlowKey = (u32, u16, u32);

/// One entry of the flow table.
#[derive(Clone, Debug)]
pub(super) struct Flow {
    key: FlowKey,
    /// The target the connection goes to.
    pub(super) target: u32,
    /// The AZ of the node the connection landed on.
    pub(super) node_az: u8,
    /// Requests of the flow forwarded and not yet answered.
    pub(super) outstanding: u32,
    /// The last request or answer of the flow.
    pub(super) last_active: SimTime,
    /// Tells this flow from earlier users of its slot.
    pub(super) generation: u64,
}

/// The open flows, by slot, and their idle timers.
pub(super) struct FlowTable {
    flows: Slab<Flow>,
    /// Lookups only: never iterated where order could matter.
    by_key: HashMap<FlowKey, u32>,
    /// The idle timer of each flow slot. Kept apart from the flows so a slot's generations
    /// carry on across its users, and a timer of an earlier user never fires for a later one.
    idle_timers: Vec<TimerSlot>,
    next_generation: u64,
    /// A flow idle this long leaves the table.
    idle_timeout: SimDuration,
}

impl FlowTable {
    /// An empty table whose flows leave after `idle_timeout` without traffic.
    pub(super) fn new(idle_timeout: SimDuration) -> Self {
        FlowTable {
            flows: Slab::default(),
            by_key: HashMap::new(),
            idle_timers: Vec::new(),
            next_generation: 0,
            idle_timeout,
        }
    }

    /// Flows in the table.
    pub(super) fn len(&self) -> usize {
        self.flows.len()
    }

    /// The slot of connection `key`'s flow, if the table holds one.
    pub(super) fn slot_of(&self, key: FlowKey) -> Option<u32> {
        self.by_key.get(&key).copied()
    }

    /// Flow `slot`, which the table holds.
    pub(super) fn get(&self, slot: u32) -> &Flow {
        &self.flows[slot]
    }

    /// Flow `slot`, which the table holds.
    pub(super) fn get_mut(&mut self, slot: u32) -> &mut Flow {
        &mut self.flows[slot]
    }

    /// The flow opened as (`slot`, `generation`), if it is still in the table.
    pub(super) fn live_mut(&mut self, slot: u32, generation: u64) -> Option<&mut Flow> {
        (self.flows.is_live(slot) && self.flows[slot].generation == generation)
            .then(|| &mut self.flows[slot])
    }

    /// True when flow `slot` is not idle at `now`: a request in flight, or one within the idle
    /// timeout.
    pub(super) fn is_active(&self, slot: u32, now: SimTime) -> bool {
        let f = &self.flows[slot];
        f.outstanding > 0 || now < f.last_active + self.idle_timeout
    }

    /// Opens the flow of connection `key` to `target` through the node of `node_az`, and arms
    /// its idle timer. Returns its (slot, generation).
    pub(super) fn open(
        &mut self,
        key: FlowKey,
        node_az: u8,
        target: u32,
        now: SimTime,
        cx: &mut Ctx<'_>,
    ) -> (u32, u64) {
        let generation = self.next_generation;
        self.next_generation += 1;
        let slot = self.flows.insert(Flow {
            key,
            target,
            node_az,
            outstanding: 0,
            last_active: now,
            generation,
        });
        self.by_key.insert(key, slot);
        if self.idle_timers.len() <= slot as usize {
            self.idle_timers
                .resize(slot as usize + 1, TimerSlot::default());
        }
        self.idle_timers[slot as usize].arm(cx, self.idle_timeout, NlbTimer::FlowIdle, slot);
        (slot, generation)
    }

    /// Takes flow `slot` out of the table; returns its target.
    pub(super) fn close(&mut self, slot: u32, cx: &mut Ctx<'_>) -> u32 {
        let flow = &self.flows[slot];
        let (key, target) = (flow.key, flow.target);
        self.by_key.remove(&key);
        self.idle_timers[slot as usize].cancel(cx);
        self.flows.remove(slot);
        target
    }

    /// The idle timer with payload `id` fired. Returns the flow's slot if the flow has been
    /// idle for the timeout (the caller closes it); otherwise, if the timer is current, looks
    /// again when the flow could be idle.
    pub(super) fn on_idle_timer(&mut self, id: u64, cx: &mut Ctx<'_>) -> Option<u32> {
        let slot = timer_index(id);
        if !self.idle_timers[slot as usize].fire(id) {
            return None;
        }
        let now = cx.now();
        let f = &self.flows[slot];
        let deadline = f.last_active + self.idle_timeout;
        let delay = if f.outstanding > 0 {
            // Waiting for an answer is not idleness: look again a timeout from now.
            self.idle_timeout
        } else if now >= deadline {
            return Some(slot);
        } else {
            deadline.saturating_since(now)
        };
        self.idle_timers[slot as usize].arm(cx, delay, NlbTimer::FlowIdle, slot);
        None
    }

    /// The flows to `target`, by slot (so the order never depends on the hash map's).
    pub(super) fn of_target(&self, target: u32) -> Vec<u32> {
        let mut slots: Vec<u32> = self
            .by_key
            .values()
            .copied()
            .filter(|&s| self.flows[s].target == target)
            .collect();
        slots.sort_unstable();
        slots
    }
}
