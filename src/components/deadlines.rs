//! Answer deadlines of forwarded requests: a load balancer's idle timeout, an API's
//! integration timeout.
//!
//! Every deadline is set the same fixed time after its request is forwarded, and simulated
//! time only moves forward, so deadlines expire in the order they are set: a FIFO queue with
//! one armed timer (for the front) serves them all, instead of a timer per request. A request
//! answered in time leaves its entry behind, skipped when it reaches the front: no search and
//! no cancel. Entries name the caller's record of the request by slot and generation, so an
//! entry left behind by an earlier user of a slot is recognised as stale.

use std::collections::VecDeque;

use crate::engine::time::SimTime;
use crate::message::Ctx;
use crate::message::Timer;

/// The pending deadlines of one component, and whether its timer is armed.
#[derive(Clone, Debug, Default)]
pub struct Deadlines {
    /// (deadline, slot, generation), in deadline order.
    queue: VecDeque<(SimTime, u32, u64)>,
    armed: bool,
}

impl Deadlines {
    /// Adds the deadline of the request recorded at (`slot`, `generation`), which must not come
    /// before any deadline already queued, and arms the timer `timer` makes if none is armed.
    /// `waiting(slot, generation)` tells whether a request still waits for its answer.
    pub fn push<T: Into<Timer>>(
        &mut self,
        deadline: SimTime,
        slot: u32,
        generation: u64,
        cx: &mut Ctx<'_>,
        timer: impl FnOnce(u64) -> T,
        waiting: impl Fn(u32, u64) -> bool,
    ) {
        debug_assert!(self.queue.back().is_none_or(|&(last, ..)| last <= deadline));
        self.queue.push_back((deadline, slot, generation));
        if !self.armed {
            self.arm(cx, timer, waiting);
        }
    }

    /// The next deadline that has passed at `now`, taken out of the queue, as (slot,
    /// generation); whether its request still waits is for the caller to check. Call until
    /// `None` when the timer fires, then [`Deadlines::arm`].
    pub fn pop_expired(&mut self, now: SimTime) -> Option<(u32, u64)> {
        match self.queue.front() {
            Some(&(deadline, slot, generation)) if deadline <= now => {
                self.queue.pop_front();
                Some((slot, generation))
            }
            _ => None,
        }
    }

    /// Arms the timer `timer` makes (with payload 0) for the earliest deadline whose request
    /// still waits, dropping the stale ones in front.
    pub fn arm<T: Into<Timer>>(
        &mut self,
        cx: &mut Ctx<'_>,
        timer: impl FnOnce(u64) -> T,
        waiting: impl Fn(u32, u64) -> bool,
    ) {
        while let Some(&(deadline, slot, generation)) = self.queue.front() {
            if !waiting(slot, generation) {
                self.queue.pop_front();
                continue;
            }
            self.armed = true;
            cx.set_timer(deadline.saturating_since(cx.now()), timer(0));
            return;
        }
        self.armed = false;
    }
}
