//! Timers that can be re-armed or cancelled without searching the event queue.
//!
//! Every arm or cancel bumps the slot's generation, and the timer event carries the generation it
//! was armed with. When an event fires, [`TimerSlot::fire`] tells whether it is still the
//! current one. A superseded or cancelled arming is also taken out of the engine's queue
//! ([`Ctx::cancel`]), so a slot leaves no event behind; the generation check stays as the
//! guard. Re-arming a visibility timeout or restarting a cooldown is O(1).

use super::time::SimDuration;
use super::{Ctx, EventId};

/// One re-armable timer of a component (e.g. the visibility timeout of one message slot).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct TimerSlot {
    generation: u32,
    armed: bool,
    /// The event of the latest arming, to cancel it if it is superseded.
    event: EventId,
}

impl TimerSlot {
    /// Arms (or re-arms) the timer to fire `delay` from now for item `index`, as the timer
    /// `timer(id)` makes (a variant of the component's timer enum, e.g. `SqsTimer::Visibility`);
    /// any earlier arming is superseded.
    pub fn arm<M: Copy, T: Into<M>>(
        &mut self,
        cx: &mut Ctx<'_, M>,
        delay: SimDuration,
        timer: impl FnOnce(u64) -> T,
        index: u32,
    ) {
        if self.armed {
            cx.cancel(self.event);
        }
        self.generation = self.generation.wrapping_add(1);
        self.armed = true;
        let id = ((self.generation as u64) << 32) | index as u64;
        self.event = cx.send_self(delay, timer(id).into());
    }

    /// Cancels the timer: its pending event is taken out of the queue.
    pub fn cancel<M: Copy>(&mut self, cx: &mut Ctx<'_, M>) {
        if self.armed {
            cx.cancel(self.event);
        }
        self.generation = self.generation.wrapping_add(1);
        self.armed = false;
    }

    /// True when the timer with payload `id` is the current arming of this slot (then the slot
    /// is disarmed); false for a stale event of an earlier arming or a cancelled one.
    pub fn fire(&mut self, id: u64) -> bool {
        let current = self.armed && (id >> 32) as u32 == self.generation;
        if current {
            self.armed = false;
        }
        current
    }

    /// True while armed and not yet fired.
    pub fn is_armed(&self) -> bool {
        self.armed
    }
}

/// The item index a [`TimerSlot`] timer with payload `id` was armed for.
pub fn timer_index(id: u64) -> u32 {
    id as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::stream;
    use crate::engine::time::SimTime;
    use crate::engine::{Component, Simulation};
    use crate::message::{Ctx, Msg};

    /// Arms at 0 for 10 s, re-arms at 1 s for 5 s (fires at 6 s), arms a second slot at 2 s and
    /// cancels it at 3 s. Only the re-armed timer may fire, once, at 6 s.
    struct Probe {
        slots: [TimerSlot; 2],
        fired: Vec<(u64, u32)>,
    }

    crate::timers! {
        /// The probe's timers.
        enum ProbeTimer {
            /// A step of the script (its number).
            Step,
            /// Slot 0 or 1 fired.
            Slot,
        }
    }

    impl Component<Msg> for Probe {
        fn init(&mut self, cx: &mut Ctx<'_>) {
            self.slots[0].arm(cx, SimDuration::from_secs(10), ProbeTimer::Slot, 0);
            for s in 1..=3 {
                cx.set_timer(SimDuration::from_secs(s), ProbeTimer::Step(s));
            }
        }

        fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
            let Msg::Timer(t) = msg else { return };
            match ProbeTimer::from(t) {
                ProbeTimer::Step(1) => {
                    self.slots[0].arm(cx, SimDuration::from_secs(5), ProbeTimer::Slot, 0)
                }
                ProbeTimer::Step(2) => {
                    self.slots[1].arm(cx, SimDuration::from_secs(1), ProbeTimer::Slot, 1)
                }
                ProbeTimer::Step(_) => self.slots[1].cancel(cx),
                ProbeTimer::Slot(id) => {
                    let i = timer_index(id) as usize;
                    if self.slots[i].fire(id) {
                        self.fired
                            .push((cx.now().as_nanos() / 1_000_000_000, i as u32));
                    }
                }
            }
        }
    }

    #[test]
    fn rearmed_and_cancelled_timers_fire_only_when_current() {
        let mut sim = Simulation::new(SimDuration::from_secs(20), SimDuration::ZERO);
        sim.add(
            "probe",
            stream(1, "probe"),
            Probe {
                slots: [TimerSlot::default(); 2],
                fired: Vec::new(),
            },
        );
        sim.run(|_| {}).unwrap();
        let (_, probe) = sim.components().next().unwrap();
        assert_eq!(probe.fired, vec![(6, 0)]);
    }

    /// Re-arms one slot 1 000 times before it fires.
    struct Rearmer {
        slot: TimerSlot,
        fired: u32,
    }

    impl Component<Msg> for Rearmer {
        fn init(&mut self, cx: &mut Ctx<'_>) {
            for s in 1..=1_000 {
                self.slot
                    .arm(cx, SimDuration::from_secs(s), ProbeTimer::Slot, 0);
            }
        }

        fn handle(&mut self, msg: Msg, _cx: &mut Ctx<'_>) {
            let Msg::Timer(t) = msg else { return };
            if let ProbeTimer::Slot(id) = ProbeTimer::from(t)
                && self.slot.fire(id)
            {
                self.fired += 1;
            }
        }
    }

    #[test]
    fn a_slot_leaves_no_superseded_event_behind() {
        let mut sim = Simulation::new(SimDuration::from_secs(2_000), SimDuration::ZERO);
        sim.add(
            "rearmer",
            stream(1, "rearmer"),
            Rearmer {
                slot: TimerSlot::default(),
                fired: 0,
            },
        );
        sim.run_until(SimTime(1), &mut |_| {})
            .expect("within its bounds");
        assert_eq!(sim.pending(), 1);
        sim.run(|_| {}).expect("within its bounds");
        assert_eq!(sim.components().next().unwrap().1.fired, 1);
        // The superseded armings count as the events they would have been.
        assert_eq!(sim.events(), 1_000);
    }
}
