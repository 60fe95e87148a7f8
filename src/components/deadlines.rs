//! Answer deadlines of forwarded requests: a load balancer's idle timeout, an API's
//! integration timeout.
//!
//! Every deadline is set the same fixed time after its request is forwarded, and simulated
//! time only moves forward, so deadlines expire in the order they are set: a FIFO queue with
//! one armed timer (for the front) serves them all, instead of a timer per request. A request
//! answered in time leaves its entry behind, skipped when it reaches the front: no search and
//! no cancel. Entries name the caller's record of the request by slot and generation, so an
//! entry left behind by an earlier user of a slot is recognised as stale. Left-behind entries
//! are swept out whenever the queue has doubled since the last sweep, so it holds about the
//! requests still waiting, not every request of the last timeout's length (a 4 000 s idle
//! timeout at 10 000 requests/s would have kept 40 million entries).

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
    /// The length at which the queue is next swept of entries whose request has its answer.
    sweep_at: usize,
}

/// The queue is not swept below this length.
const SWEEP_FLOOR: usize = 1024;

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
        if self.queue.len() >= self.sweep_at.max(SWEEP_FLOOR) {
            // O(length) once the length has doubled: O(1) a request, amortised. The armed
            // timer may have been for an entry swept out; it then finds nothing due and arms
            // for the next, as it would have after skipping that entry.
            self.queue.retain(|&(_, s, g)| waiting(s, g));
            self.sweep_at = 2 * self.queue.len();
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::stream;
    use crate::engine::time::SimDuration;
    use crate::engine::{Component, Simulation};
    use crate::message::Msg;

    crate::timers! {
        /// The test's timers.
        enum TestTimer {
            /// The deadline timer.
            Deadline,
            /// Adds the next request (and answers the one before, unless it is kept).
            Next,
        }
    }

    /// Forwards a request every millisecond, each with a deadline 10 s on; answers all but
    /// every 100th before its deadline. Records the deadlines that expire.
    struct Forwarder {
        deadlines: Deadlines,
        waiting: Vec<bool>,
        longest: usize,
        expired: Vec<u32>,
    }

    impl Component<Msg> for Forwarder {
        fn init(&mut self, cx: &mut Ctx<'_>) {
            cx.set_timer(SimDuration::ZERO, TestTimer::Next(0));
        }

        fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
            let Msg::Timer(t) = msg else { return };
            let waiting = &self.waiting;
            match TestTimer::from(t) {
                TestTimer::Next(i) => {
                    let i = i as u32;
                    self.waiting.push(true);
                    let deadline = cx.now() + SimDuration::from_secs(10);
                    let waiting = &self.waiting;
                    self.deadlines
                        .push(deadline, i, 0, cx, TestTimer::Deadline, |s, _| {
                            waiting[s as usize]
                        });
                    if !i.is_multiple_of(100) {
                        self.waiting[i as usize] = false;
                    }
                    self.longest = self.longest.max(self.deadlines.queue.len());
                    if i < 50_000 {
                        cx.set_timer(SimDuration::from_millis(1), TestTimer::Next(i as u64 + 1));
                    }
                }
                TestTimer::Deadline(_) => {
                    while let Some((slot, _)) = self.deadlines.pop_expired(cx.now()) {
                        if waiting[slot as usize] {
                            self.expired.push(slot);
                        }
                    }
                    let waiting = &self.waiting;
                    self.deadlines
                        .arm(cx, TestTimer::Deadline, |s, _| waiting[s as usize]);
                }
            }
        }
    }

    #[test]
    fn answered_requests_are_swept_and_the_rest_expire_in_order() {
        let mut sim = Simulation::new(SimDuration::from_secs(100), SimDuration::ZERO);
        sim.add(
            "forwarder",
            stream(1, "forwarder"),
            Forwarder {
                deadlines: Deadlines::default(),
                waiting: Vec::new(),
                longest: 0,
                expired: Vec::new(),
            },
        );
        sim.run(|_| {});
        let (_, f) = sim.components().next().unwrap();
        // 10 s of requests (10 000) are within their deadline at any time, 100 of them still
        // waiting: the queue holds about those, not all 10 000.
        assert!(f.longest <= SWEEP_FLOOR, "{}", f.longest);
        let kept: Vec<u32> = (0..=50_000u32).filter(|i| i.is_multiple_of(100)).collect();
        assert_eq!(f.expired, kept);
    }
}
