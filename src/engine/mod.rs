//! The event engine: simulated time, one event queue, components addressed by id.
//!
//! # Lifecycle
//! A [`Simulation`] is built from a validated scenario (see `crate::scenario`): one
//! [`Component`] per workload and component, each with its own random stream. The first
//! [`Simulation::run_until`] calls every component's `init`; each call then pops events in
//! `(time, sequence)` order and hands each to its target through a [`Ctx`], up to the time it
//! was given. The engine knows only events and handlers: no metric and no AWS kind. The run
//! loop above it (`crate::run`) samples time series between two calls and gathers reports at
//! the end. Nor does it know the messages: a simulation is generic over its message type `M`
//! (awsim's is `crate::message::Msg`, whose module adds the request, reply and timer helpers to
//! the context).
//!
//! # Ordering and determinism
//! Simultaneous events run in the order they were scheduled: the queue ([`queue::EventQueue`],
//! a monotone radix heap) keeps exact `(time, push order)` order, zero-delay messages (a component
//! calling another "now") included. Every random number comes from the target component's stream
//! ([`rng::stream`]). Only the watchdog's wall-clock bound reads the wall clock, and it can stop
//! a run but not change what it computes.
//!
//! # Bounds
//! Every run is bounded ([`watchdog::Limits`]: events in all, events at one instant, pending
//! events, memory, wall clock, an interrupt flag): [`Simulation::run_until`] returns a
//! [`watchdog::Stop`] instead of running past one, so no scenario hangs or exhausts memory.

pub mod memory;
pub mod queue;
pub mod rng;
pub mod slab;
pub mod time;
pub mod timer;
pub mod watchdog;

use std::collections::VecDeque;

use queue::EventQueue;
use rng::SimRng;
use slab::Slab;
use time::{SimDuration, SimTime};
use watchdog::{Limit, Limits, Stop, Watchdog};

/// Index of a component in its simulation.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ComponentId(pub u32);

impl ComponentId {
    /// The id as a vector index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One event: a message (of the simulation's message type `M`) for a component.
#[derive(Copy, Clone, Debug)]
pub struct Event<M> {
    /// Who handles it.
    pub target: ComponentId,
    /// What it is.
    pub msg: M,
}

/// One event handler: a model of an AWS resource, a workload, anything that reacts to
/// messages. Single-threaded, owns its state, talks to the rest only through [`Ctx`]. `Send`
/// so whole simulations can run on a thread pool.
///
/// The engine asks nothing else of a component: what a run reports of it (figures, time
/// series) is the business of the layers above (`crate::metrics::Observe`).
pub trait Component<M>: Send {
    /// Sets initial timers (first arrival, periodic checks). Runs once, at time zero.
    fn init(&mut self, _cx: &mut Ctx<'_, M>) {}

    /// Reacts to one message at `cx.now()`.
    fn handle(&mut self, msg: M, cx: &mut Ctx<'_, M>);
}

impl<M, C: Component<M> + ?Sized> Component<M> for Box<C> {
    fn init(&mut self, cx: &mut Ctx<'_, M>) {
        (**self).init(cx)
    }

    fn handle(&mut self, msg: M, cx: &mut Ctx<'_, M>) {
        (**self).handle(msg, cx)
    }
}

/// A pending event, as the scheduler keeps it: the event's fields and the stamp that tells its
/// [`EventId`] from the ids of earlier events in the same slot. The stamp sits in what would be
/// `Event`'s padding, so a pending event takes no more room than an event.
#[derive(Copy, Clone, Debug)]
struct Pending<M> {
    target: ComponentId,
    stamp: u32,
    msg: M,
}

/// The target of a cancelled event still in the queue: it is dropped when it comes out.
const CANCELLED: ComponentId = ComponentId(u32::MAX);

/// The slot of an [`EventId`] for an event in the same-instant list ([`Scheduler::instant`]);
/// its stamp is the event's sequence number in that list.
const INSTANT: u32 = u32::MAX - 1;

/// Cancelled events are swept out of the queue once there are more of them than this and
/// than live ones, so the queue stays within about twice the live events.
const SWEEP_FLOOR: usize = 1024;

/// A scheduled event, to cancel it ([`Ctx::cancel`]). Only good until the event is delivered;
/// cancelling it after that does nothing: its slot has been freed, or reused by an event with
/// another stamp (stamps count scheduled events, so one repeats only after 2³² more of them),
/// and only the component the event is for may cancel it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct EventId {
    slot: u32,
    stamp: u32,
}

impl EventId {
    /// An id that names no event: cancelling it does nothing.
    pub const NONE: EventId = EventId {
        slot: u32::MAX,
        stamp: 0,
    };
}

impl Default for EventId {
    fn default() -> Self {
        EventId::NONE
    }
}

/// The scheduler state a component may touch while it handles an event.
///
/// Events wait in a slab and the queue orders only their slab indices: the radix heap moves its
/// entries between buckets, and moving 16 bytes instead of the whole event measured about 1.5×
/// faster on the hold benchmark.
///
/// Events for the current instant (a message sent "now": a request to the next component, an
/// answer) skip both: they wait, whole, in a plain FIFO list, `instant`. That keeps the exact
/// `(time, push order)` order: an event in the queue at the current time was pushed before the
/// clock got there, so before every event of `instant`, and comes out first; once the clock is
/// at a time, every push at that time goes to `instant`. Half the events of a request/response
/// model are such messages (measured on M/M/8: about 140 instructions less for each).
struct Scheduler<M> {
    queue: EventQueue<u32>,
    events: Slab<Pending<M>>,
    /// Events at `now` pushed since the clock got to `now`, in push order; the stamp of each is
    /// its sequence number in this list (`instant_front` for the first).
    instant: VecDeque<Pending<M>>,
    /// Sequence number of `instant`'s first event.
    instant_front: u32,
    /// Cancelled events still in `instant`.
    instant_cancelled: usize,
    now: SimTime,
    next_request_id: u64,
    /// Stamp of the next scheduled event.
    next_stamp: u32,
    /// Cancelled events still in the queue.
    cancelled: usize,
    /// Cancelled events due before `end`, dropped from the queue: counted as handled (see
    /// [`Simulation::events`]).
    dropped: u64,
    end: SimTime,
}

impl<M: Copy> Scheduler<M> {
    fn push(&mut self, at: SimTime, event: Event<M>) -> EventId {
        debug_assert!(at >= self.now, "event scheduled in the past");
        if at <= self.now {
            let stamp = self.instant_front.wrapping_add(self.instant.len() as u32);
            self.instant.push_back(Pending {
                target: event.target,
                stamp,
                msg: event.msg,
            });
            return EventId {
                slot: INSTANT,
                stamp,
            };
        }
        let stamp = self.next_stamp;
        self.next_stamp = stamp.wrapping_add(1);
        let slot = self.events.insert(Pending {
            target: event.target,
            stamp,
            msg: event.msg,
        });
        self.queue.push(at, slot);
        EventId { slot, stamp }
    }

    /// The next event in `(time, sequence)` order, if it is due before `end`; cancelled events
    /// are dropped on the way.
    fn pop(&mut self, end: SimTime) -> Option<Event<M>> {
        loop {
            match self.queue.peek_time() {
                // The queue's events at the current time were pushed before `instant`'s.
                Some(t) if t < end && (t == self.now || self.instant.is_empty()) => {
                    let (t, slot) = self.queue.pop().expect("peeked");
                    // With many events pending, reading an event from the slab is a cache
                    // miss: start loading the next one now, while this one is handled.
                    if let Some(&next) = self.queue.next_hint() {
                        self.events.prefetch(next);
                    }
                    debug_assert!(t >= self.now, "time went backwards");
                    self.now = t;
                    self.events.remove(slot);
                    let Pending { target, msg, .. } = self.events[slot];
                    if target == CANCELLED {
                        self.cancelled -= 1;
                        self.count_dropped(t);
                        continue;
                    }
                    return Some(Event { target, msg });
                }
                _ if self.now < end => {
                    let Pending { target, msg, .. } = self.instant.pop_front()?;
                    self.instant_front = self.instant_front.wrapping_add(1);
                    if target == CANCELLED {
                        self.instant_cancelled -= 1;
                        self.count_dropped(self.now);
                        continue;
                    }
                    return Some(Event { target, msg });
                }
                _ => return None,
            }
        }
    }

    /// Cancels event `id` of component `owner` if it is still pending.
    fn cancel(&mut self, id: EventId, owner: ComponentId) {
        if id.slot == INSTANT {
            let index = id.stamp.wrapping_sub(self.instant_front) as usize;
            if let Some(pending) = self.instant.get_mut(index)
                && pending.stamp == id.stamp
                && pending.target == owner
            {
                pending.target = CANCELLED;
                self.instant_cancelled += 1;
            }
            return;
        }
        if !self.events.is_live(id.slot) {
            return;
        }
        let pending = &mut self.events[id.slot];
        if pending.stamp != id.stamp || pending.target != owner {
            return;
        }
        pending.target = CANCELLED;
        self.cancelled += 1;
        if self.cancelled > SWEEP_FLOOR && self.cancelled * 2 > self.queue.len() {
            self.sweep();
        }
    }

    /// Drops every cancelled event from the queue. O(queued events), once per as many
    /// cancellations as live events: O(1) per cancellation, amortised.
    fn sweep(&mut self) {
        let Self {
            queue,
            events,
            dropped,
            end,
            ..
        } = self;
        queue.retain(|t, &slot| {
            let keep = events[slot].target != CANCELLED;
            if !keep {
                events.remove(slot);
                *dropped += u64::from(t < *end);
            }
            keep
        });
        self.cancelled = 0;
    }

    fn count_dropped(&mut self, at: SimTime) {
        self.dropped += u64::from(at < self.end);
    }

    /// Events waiting to be delivered (cancelled ones not counted).
    fn pending(&self) -> usize {
        self.queue.len() - self.cancelled + self.instant.len() - self.instant_cancelled
    }

    /// The time and target of the next event, if it is due before `end`; cancelled events are
    /// dropped on the way, as [`Scheduler::pop`] would.
    fn peek(&mut self, end: SimTime) -> Option<(SimTime, ComponentId)> {
        loop {
            let next = self.queue.peek_time();
            if let Some(t) = next
                && t < end
                && (t == self.now || self.instant.is_empty())
            {
                let (t, &slot) = self.queue.peek().expect("peeked");
                let target = self.events[slot].target;
                if target != CANCELLED {
                    return Some((t, target));
                }
                self.queue.pop();
                self.now = t;
                self.events.remove(slot);
                self.cancelled -= 1;
                self.count_dropped(t);
                continue;
            }
            if self.now >= end {
                return None;
            }
            let target = self.instant.front()?.target;
            if target != CANCELLED {
                return Some((self.now, target));
            }
            self.instant.pop_front();
            self.instant_front = self.instant_front.wrapping_add(1);
            self.instant_cancelled -= 1;
            self.count_dropped(self.now);
        }
    }
}

/// What a component sees while it handles one event: the clock, its own random stream, and the
/// means to send messages and set timers.
pub struct Ctx<'a, M> {
    me: ComponentId,
    warmup_end: SimTime,
    rng: &'a mut SimRng,
    scheduler: &'a mut Scheduler<M>,
}

impl<M: Copy> Ctx<'_, M> {
    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.scheduler.now
    }

    /// The id of the component handling the event.
    pub fn me(&self) -> ComponentId {
        self.me
    }

    /// The end of the warm-up: statistics count requests that arrive at or after it.
    pub fn warmup_end(&self) -> SimTime {
        self.warmup_end
    }

    /// This component's own random stream.
    pub fn rng(&mut self) -> &mut SimRng {
        self.rng
    }

    /// A fresh request id, unique within the run.
    pub fn new_request_id(&mut self) -> u64 {
        self.scheduler.next_request_id += 1;
        self.scheduler.next_request_id
    }

    /// Delivers `msg` to `to` after `delay` (zero: later in this same instant). Returns the
    /// event's id, with which a component may cancel a timer it set.
    pub fn send_after(&mut self, to: ComponentId, delay: SimDuration, msg: M) -> EventId {
        let at = self.scheduler.now + delay;
        self.scheduler.push(at, Event { target: to, msg })
    }

    /// Delivers `msg` to `to` in this same instant, after what is already due now.
    pub fn send(&mut self, to: ComponentId, msg: M) {
        self.send_after(to, SimDuration::ZERO, msg);
    }

    /// Delivers `msg` to the component itself after `delay` (a timer); returns the id that
    /// cancels it.
    pub fn send_self(&mut self, delay: SimDuration, msg: M) -> EventId {
        let me = self.me;
        self.send_after(me, delay, msg)
    }

    /// Cancels a timer of this component, event `id`, if it has not been delivered yet: it
    /// never will be. A timer that outlives what it was for (the timeout of a request already
    /// answered) would otherwise wait in the queue until its time, so pending events would
    /// follow the timeouts' length rather than the work in flight. Nothing else changes: the
    /// other events keep their order, and an id already delivered (or not this component's)
    /// is ignored.
    pub fn cancel(&mut self, id: EventId) {
        self.scheduler.cancel(id, self.me);
    }
}

/// A built simulation: its components (of type `C`, usually boxed trait objects) exchanging
/// messages of type `M`, their random streams and the event queue.
///
/// The caller drives it: [`Simulation::run_until`] handles every event due before a time, so
/// the layer above can look at the components between two calls (sampling time series)
/// without the engine knowing what it looks at.
pub struct Simulation<M, C> {
    components: Vec<C>,
    names: Vec<String>,
    rngs: Vec<SimRng>,
    scheduler: Scheduler<M>,
    end: SimTime,
    warmup_end: SimTime,
    started: bool,
    events: u64,
    watchdog: Watchdog,
}

impl<M: Copy, C: Component<M>> Simulation<M, C> {
    /// An empty simulation of `duration` that excludes `warmup` from statistics.
    pub fn new(duration: SimDuration, warmup: SimDuration) -> Self {
        Simulation {
            components: Vec::new(),
            names: Vec::new(),
            rngs: Vec::new(),
            scheduler: Scheduler {
                queue: EventQueue::with_capacity(1024),
                events: Slab::with_capacity(1024),
                instant: VecDeque::with_capacity(64),
                instant_front: 0,
                instant_cancelled: 0,
                now: SimTime::ZERO,
                next_request_id: 0,
                next_stamp: 0,
                cancelled: 0,
                dropped: 0,
                end: SimTime::ZERO + duration,
            },
            end: SimTime::ZERO + duration,
            warmup_end: SimTime::ZERO + warmup,
            started: false,
            events: 0,
            watchdog: Watchdog::new::<M>(Limits::default()),
        }
    }

    /// Bounds the run by `limits` instead of the defaults. Set before the run starts.
    pub fn set_limits(&mut self, limits: Limits) {
        debug_assert!(!self.started, "limits are set before the run starts");
        self.watchdog = Watchdog::new::<M>(limits);
    }

    /// The bounds of the run.
    pub fn limits(&self) -> &Limits {
        self.watchdog.limits()
    }

    /// Events scheduled and not yet delivered (cancelled ones not counted).
    pub fn pending(&self) -> u64 {
        self.scheduler.pending() as u64
    }

    /// Adds a component with its random stream; returns its id. Ids are given in order.
    pub fn add(&mut self, name: &str, rng: SimRng, component: C) -> ComponentId {
        debug_assert!(!self.started, "components are added before the run starts");
        let id = ComponentId(self.components.len() as u32);
        self.components.push(component);
        self.names.push(name.to_string());
        self.rngs.push(rng);
        id
    }

    /// The simulated end time.
    pub fn end(&self) -> SimTime {
        self.end
    }

    /// The end of the warm-up.
    pub fn warmup_end(&self) -> SimTime {
        self.warmup_end
    }

    /// Events handled so far. A cancelled timer whose time came within the run counts as
    /// handled, as it did when timers were left to fire and be ignored: the figure does not
    /// depend on which components cancel their timers.
    pub fn events(&self) -> u64 {
        self.events + self.scheduler.dropped
    }

    /// The components with their names, in id order.
    pub fn components(&self) -> impl Iterator<Item = (&str, &C)> {
        self.names.iter().map(String::as_str).zip(&self.components)
    }

    /// The components with their names, in id order, to change (sampling resets interval
    /// figures).
    pub fn components_mut(&mut self) -> impl Iterator<Item = (&str, &mut C)> {
        self.names
            .iter()
            .map(String::as_str)
            .zip(&mut self.components)
    }

    /// Handles, in `(time, sequence)` order, every event due before `until` (and before the
    /// end of the run). The first call runs every component's `init` first. `progress` is
    /// called now and then with the current simulated time (for a progress bar).
    ///
    /// Stops early, with what it found, when the run goes past one of its bounds
    /// ([`Simulation::set_limits`]); the simulation is then left as it was at the stop.
    pub fn run_until(
        &mut self,
        until: SimTime,
        progress: &mut impl FnMut(SimTime),
    ) -> Result<(), Box<Stop>> {
        if !self.started {
            self.started = true;
            for i in 0..self.components.len() {
                let mut cx = Ctx {
                    me: ComponentId(i as u32),
                    warmup_end: self.warmup_end,
                    rng: &mut self.rngs[i],
                    scheduler: &mut self.scheduler,
                };
                self.components[i].init(&mut cx);
            }
        }
        // Also between events: a run whose events are sparse (or absent) still sees its wall
        // clock and interrupt flag once per call.
        let pending = self.pending();
        if let Err(limit) = self.watchdog.check_slow(pending) {
            return Err(self.stop(limit));
        }
        let until = until.min(self.end);
        loop {
            if self.events >= self.watchdog.next_check {
                self.check(until, progress)?;
            }
            let Some(event) = self.scheduler.pop(until) else {
                return Ok(());
            };
            let i = event.target.index();
            let mut cx = Ctx {
                me: event.target,
                warmup_end: self.warmup_end,
                rng: &mut self.rngs[i],
                scheduler: &mut self.scheduler,
            };
            self.components[i].handle(event.msg, &mut cx);
            self.events += 1;
        }
    }

    /// The watchdog's check before the next event, out of the event loop's way.
    #[cold]
    #[inline(never)]
    fn check(
        &mut self,
        until: SimTime,
        progress: &mut impl FnMut(SimTime),
    ) -> Result<(), Box<Stop>> {
        let Some(next) = self.scheduler.peek(until) else {
            return Ok(());
        };
        let pending = self.pending();
        let (now, components) = (self.scheduler.now, self.components.len());
        self.watchdog
            .check(self.events, next, pending, now, components, progress)
            .map_err(|limit| self.stop(limit))
    }

    /// What the run looked like when it went past `limit`.
    fn stop(&mut self, limit: Limit) -> Box<Stop> {
        let mut pending = vec![0u64; self.components.len()];
        let scheduler = &self.scheduler;
        for event in scheduler.events.iter().chain(&scheduler.instant) {
            if event.target != CANCELLED {
                pending[event.target.index()] += 1;
            }
        }
        let (handled, handled_over) = self.watchdog.take_handled(self.events);
        Box::new(Stop {
            limit,
            at: self.scheduler.now,
            events: self.events,
            pending: self.pending(),
            handled,
            handled_over,
            pending_by_target: watchdog::ranked(pending),
        })
    }

    /// Runs to the end time, or to a bound (see [`Simulation::run_until`]).
    pub fn run(&mut self, mut progress: impl FnMut(SimTime)) -> Result<(), Box<Stop>> {
        self.run_until(self.end, &mut progress)?;
        progress(self.end);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Replays a script: event `i` (a message that is the number `i`: the engine knows no
    /// message type of its own) schedules the events listed for it, each with its delay (zero
    /// delays go through the same-instant FIFO). Records the order in which events arrive.
    struct Script {
        children: Vec<Vec<(u64, u64)>>,
        log: Vec<(u64, u64)>,
    }

    impl Component<u64> for Script {
        fn init(&mut self, cx: &mut Ctx<'_, u64>) {
            cx.send_self(SimDuration::ZERO, 0);
        }
        fn handle(&mut self, event: u64, cx: &mut Ctx<'_, u64>) {
            self.log.push((cx.now().as_nanos(), event));
            for &(delay, child) in &self.children[event as usize] {
                cx.send_self(SimDuration::from_nanos(delay), child);
            }
        }
    }

    /// The reference order: a plain sort by (time, scheduling sequence).
    fn reference(children: &[Vec<(u64, u64)>]) -> Vec<(u64, u64)> {
        let mut pending = vec![(0u64, 0u64, 0u64)]; // (time, seq, id)
        let mut seq = 1;
        let mut out = Vec::new();
        while !pending.is_empty() {
            pending.sort();
            let (t, _, id) = pending.remove(0);
            out.push((t, id));
            for &(delay, child) in &children[id as usize] {
                pending.push((t + delay, seq, child));
                seq += 1;
            }
        }
        out
    }

    /// Sets one timer per entry of `delays` at init; when timer `i` fires, cancels the timers
    /// listed in `cancels[i]`. Records which fire, and when.
    struct Canceller {
        delays: Vec<u64>,
        cancels: Vec<Vec<usize>>,
        ids: Vec<EventId>,
        log: Vec<(u64, u64)>,
        /// Pending events seen by each handler call (checked against the reference).
        pending: Vec<usize>,
    }

    impl Component<u64> for Canceller {
        fn init(&mut self, cx: &mut Ctx<'_, u64>) {
            for (i, &d) in self.delays.iter().enumerate() {
                let id = cx.send_self(SimDuration::from_nanos(d), i as u64);
                self.ids.push(id);
            }
        }
        fn handle(&mut self, event: u64, cx: &mut Ctx<'_, u64>) {
            self.log.push((cx.now().as_nanos(), event));
            self.pending.push(cx.scheduler.pending());
            for &j in &self.cancels[event as usize] {
                cx.cancel(self.ids[j]);
            }
        }
    }

    /// Runs a [`Canceller`] against the reference: (time, index) order, a timer skipped if it
    /// is cancelled before it fires. Cancelled timers never fire, the others fire in (time,
    /// scheduling) order as if none had been cancelled, pending events count only live ones,
    /// and the events figure counts a cancelled timer due within the run as if it had fired.
    fn check_cancels(delays: Vec<u64>, cancels: Vec<Vec<usize>>) {
        let n = delays.len();
        let end = 2_500;
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| (delays[i], i));
        let mut cancelled = vec![false; n];
        let (mut expected, mut pending, mut due_cancelled) = (Vec::new(), Vec::new(), 0u64);
        let mut live = n;
        for &i in &order {
            if delays[i] >= end {
                break;
            }
            if cancelled[i] {
                continue;
            }
            live -= 1;
            expected.push((delays[i], i as u64));
            pending.push(live);
            for &j in &cancels[i] {
                let fired = (delays[j], j) <= (delays[i], i);
                if !fired && !cancelled[j] {
                    cancelled[j] = true;
                    live -= 1;
                    due_cancelled += u64::from(delays[j] < end);
                }
            }
        }
        let mut sim = Simulation::new(SimDuration::from_nanos(end), SimDuration::ZERO);
        sim.add(
            "canceller",
            rng::stream(1, "canceller"),
            Canceller {
                delays,
                cancels,
                ids: Vec::new(),
                log: Vec::new(),
                pending: Vec::new(),
            },
        );
        sim.run(|_| {}).expect("within its bounds");
        let events = sim.events();
        let (_, c) = sim.components().next().unwrap();
        assert_eq!(c.log, expected);
        assert_eq!(c.pending, pending);
        assert_eq!(events, expected.len() as u64 + due_cancelled);
    }

    proptest! {
        #[test]
        fn cancelled_events_are_dropped_and_the_rest_keep_their_order(
            delays in prop::collection::vec(0u64..3_000, 1..2_500),
            picks in prop::collection::vec((any::<prop::sample::Index>(), prop::collection::vec(any::<prop::sample::Index>(), 0..6)), 0..600),
        ) {
            let n = delays.len();
            let mut cancels = vec![Vec::new(); n];
            for (at, victims) in &picks {
                cancels[at.index(n)].extend(victims.iter().map(|v| v.index(n)));
            }
            check_cancels(delays, cancels);
        }
    }

    #[test]
    fn many_cancellations_sweep_the_queue_and_keep_the_order() {
        // 6 000 timers over 3 000 ns (many ties, some past the end); the first cancels four in
        // five of them at once, enough to sweep the queue, and later ones cancel a few more.
        let delays: Vec<u64> = (0..6_000u64).map(|i| (i * 7_919) % 3_001).collect();
        let first = (0..6_000).min_by_key(|&i| (delays[i], i)).unwrap();
        let mut cancels = vec![Vec::new(); 6_000];
        cancels[first] = (0..6_000).filter(|i| i % 5 != 0).collect();
        for i in (0..6_000).step_by(5).take(200) {
            cancels[i] = vec![(i * 31 + 5) % 6_000, (i * 17 + 10) % 6_000];
        }
        check_cancels(delays, cancels);
    }

    #[test]
    fn a_pending_event_is_no_larger_than_an_event() {
        // An 80-byte message, as awsim's `Msg` is: the stamp fits in the padding.
        assert_eq!(
            size_of::<Pending<[u64; 10]>>(),
            size_of::<Event<[u64; 10]>>()
        );
    }

    #[test]
    fn cancelling_a_delivered_or_foreign_event_does_nothing() {
        /// Sets timers 0 and 1; when 0 fires it cancels itself (already delivered) and the
        /// other component's timer; it never cancels its own 1, which must fire.
        struct Pair {
            mine: Vec<EventId>,
            theirs: Option<EventId>,
            log: Vec<u64>,
        }
        impl Component<u64> for Pair {
            fn init(&mut self, cx: &mut Ctx<'_, u64>) {
                self.mine.push(cx.send_self(SimDuration::from_nanos(10), 0));
                self.mine.push(cx.send_self(SimDuration::from_nanos(20), 1));
            }
            fn handle(&mut self, event: u64, cx: &mut Ctx<'_, u64>) {
                self.log.push(event);
                if event == 0 {
                    cx.cancel(self.mine[0]);
                    if let Some(id) = self.theirs {
                        cx.cancel(id);
                    }
                    // Slot reuse: a new event may take the slot event 0 had.
                    let id = cx.send_self(SimDuration::from_nanos(5), 2);
                    cx.cancel(self.mine[0]);
                    prop_assert_ne_helper(id, self.mine[0]);
                }
            }
        }
        fn prop_assert_ne_helper(a: EventId, b: EventId) {
            assert!(a.slot != b.slot || a.stamp != b.stamp);
        }
        let mut sim = Simulation::new(SimDuration::from_secs(1), SimDuration::ZERO);
        let a = sim.add(
            "a",
            rng::stream(1, "a"),
            Pair {
                mine: Vec::new(),
                theirs: None,
                log: Vec::new(),
            },
        );
        let b = sim.add(
            "b",
            rng::stream(1, "b"),
            Pair {
                mine: Vec::new(),
                theirs: None,
                log: Vec::new(),
            },
        );
        sim.run_until(SimTime(1), &mut |_| {})
            .expect("within its bounds");
        // `a` is handed an id of `b`'s: cancelling it must not touch `b`'s timer.
        let b_first = sim.components[b.index()].mine[0];
        sim.components[a.index()].theirs = Some(b_first);
        sim.run(|_| {}).expect("within its bounds");
        assert_eq!(sim.components[a.index()].log, [0, 2, 1]);
        assert_eq!(sim.components[b.index()].log, [0, 2, 1]);
        assert_eq!(sim.pending(), 0);
        assert_eq!(EventId::default(), EventId::NONE);
    }

    proptest! {
        #[test]
        fn events_run_in_time_then_scheduling_order(
            raw in prop::collection::vec(prop::collection::vec((0u64..4, any::<u64>()), 0..4), 1..40)
        ) {
            // A tree: event i may only schedule events with larger ids, so the script ends.
            let n = raw.len() as u64;
            let mut next_id = 1;
            let mut children = vec![Vec::new(); raw.len()];
            for (i, kids) in raw.iter().enumerate() {
                for &(delay, _) in kids {
                    if next_id < n {
                        children[i].push((delay, next_id));
                        next_id += 1;
                    }
                }
            }
            let mut sim = Simulation::new(SimDuration::from_secs(1), SimDuration::ZERO);
            sim.add("script", rng::stream(1, "script"), Script {
                children: children.clone(),
                log: Vec::new(),
            });
            sim.run(|_| {}).unwrap();
            let (_, script) = sim.components().next().unwrap();
            prop_assert_eq!(&script.log, &reference(&children));
        }
    }
}
