//! The watchdog: bounds that stop a run which would otherwise never end or exhaust memory.
//!
//! Validation refuses what it can see in a scenario, but whether a run ends is not decidable
//! from its file (a closed loop with no delay against a component that answers at once, a
//! trace looped at a huge speed-up...). So the engine bounds every run ([`Limits`]) and stops
//! one that goes past a bound with a [`Stop`] that says which bound, where the run was, and
//! which components were involved, for the layer above to explain.
//!
//! # Cost
//! The event loop compares its event count with one number per event (`next_check`), as it
//! did for the progress callback before. Everything else happens in [`Watchdog::check`], every
//! [`CHECK_EVERY`] events at most: the stall and the event total, then the pending events, the
//! memory (one atomic load), the wall clock (only when bounded) and the interrupt flag. Near
//! the stall or event bound the loop checks every event, for at most [`WINDOW`] events, to
//! count which components handle them, so the error can name them; nothing is counted per
//! event otherwise.
//!
//! # Determinism
//! Whether and where a run stops at a bound on events (total, stall, pending) depends only on
//! the scenario and seed. The memory, wall-clock and interrupt bounds depend on the machine;
//! none of them changes what a run that ends computes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::time::SimTime;
use super::{ComponentId, Event, memory};

/// Default bound on the events of one run: about 10¹⁰, some twenty minutes to an hour of one
/// core at the engine's few million events per second; a week of simulated traffic at
/// 1 000 requests/s with ten events per request fits.
pub const DEFAULT_MAX_EVENTS: u64 = 10_000_000_000;

/// Default bound on the events at one simulated instant: 10⁷. A legitimate instant holds a few
/// events per request or instance that is due then (the shipped scenarios have at most a few
/// thousand); ten million, well past any scenario that builds in seconds, takes about a second
/// to reach when time has stopped.
pub const DEFAULT_MAX_STALLED_EVENTS: u64 = 10_000_000;

/// Default bound on the memory awsim holds: 4 GiB, half of a classroom laptop or of a CI
/// runner (7 to 16 GB), far above any shipped scenario (a few megabytes).
pub const DEFAULT_MAX_MEMORY: u64 = 4 << 30;

/// Default bound on the wall-clock time of one run: an hour. The event bound ends a fast run
/// in well under that; this one ends a run whose events are slow (a model scanning a large
/// structure per request, a trace reopened per row), and keeps a mistake from holding a CI
/// job or a classroom machine for longer than a lesson.
pub const DEFAULT_MAX_WALL: Duration = Duration::from_secs(3600);

/// Share of the memory bound that pending events may take when their bound is derived from
/// it: their storage grows by doubling, so a quarter leaves room for the last doubling and the
/// rest of the run.
const PENDING_SHARE_OF_MEMORY: u64 = 4;

/// Most events between two checks of the slower bounds (memory, wall clock, pending events,
/// interrupt): about a millisecond of work.
pub const CHECK_EVERY: u64 = 4096;

/// How often the progress callback is called, in events.
const PROGRESS_EVERY: u64 = 1 << 16;

/// Most events counted per component before a stop, to name the busiest components.
pub const WINDOW: u64 = 1 << 16;

/// Bounds on one run. [`Default`] gives the documented defaults.
#[derive(Copy, Clone, Debug)]
pub struct Limits {
    /// Events the run may handle in all; `None`: no bound.
    pub max_events: Option<u64>,
    /// Events that may run at one simulated instant (time not advancing), at least 1.
    pub max_stalled_events: u64,
    /// Events that may be pending at once; `None`: derived from `max_memory`
    /// ([`Limits::pending_bound`]).
    pub max_pending: Option<u64>,
    /// Bytes the process may hold, as [`memory::CountingAlloc`] counts them (not enforced
    /// where it is not the global allocator).
    pub max_memory: u64,
    /// Wall-clock time the run may take; `None`: no bound.
    pub max_wall: Option<Duration>,
    /// Stops the run at its next check once set (Ctrl-C, a caller giving up).
    pub interrupt: Option<&'static AtomicBool>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_events: Some(DEFAULT_MAX_EVENTS),
            max_stalled_events: DEFAULT_MAX_STALLED_EVENTS,
            max_pending: None,
            max_memory: DEFAULT_MAX_MEMORY,
            max_wall: Some(DEFAULT_MAX_WALL),
            interrupt: None,
        }
    }
}

impl Limits {
    /// The bound on pending events of a simulation with messages of type `M`: `max_pending`,
    /// else as many as fit in a quarter of `max_memory`.
    pub fn pending_bound<M>(&self) -> u64 {
        self.max_pending.unwrap_or_else(|| {
            self.max_memory / PENDING_SHARE_OF_MEMORY / bytes_per_pending_event::<M>()
        })
    }
}

/// What one pending event costs the engine: the event in its slab (with the slab's live flag
/// and a free-list entry once it is handled) and its entry in the queue.
pub fn bytes_per_pending_event<M>() -> u64 {
    (size_of::<Event<M>>() + size_of::<bool>() + size_of::<u32>() + size_of::<(u64, u32)>()) as u64
}

/// The bound a run went past.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Limit {
    /// The run had handled this many events (`max_events`) and more were due.
    Events(u64),
    /// This many events (`max_stalled_events`) ran at one simulated instant.
    Stall(u64),
    /// More events than this were pending at once.
    Pending(u64),
    /// The process held `held` bytes, more than `limit`.
    Memory {
        /// `max_memory`.
        limit: u64,
        /// Bytes held when it was seen.
        held: u64,
    },
    /// The run took longer than this on the wall clock.
    Wall(Duration),
    /// The interrupt flag was set.
    Interrupted,
}

/// Why and where a run stopped before its end.
#[derive(Clone, Debug)]
pub struct Stop {
    /// The bound it went past.
    pub limit: Limit,
    /// The simulated time reached.
    pub at: SimTime,
    /// Events handled.
    pub events: u64,
    /// Events pending.
    pub pending: u64,
    /// Events handled per component over the last `handled_over` events (counted only near a
    /// bound on events: the stall and the total), most first; no zero counts.
    pub handled: Vec<(ComponentId, u64)>,
    /// The events `handled` covers (0 when not counted).
    pub handled_over: u64,
    /// Pending events per target component (a timer's target is its owner), most first; no
    /// zero counts.
    pub pending_by_target: Vec<(ComponentId, u64)>,
}

/// Counts of events handled per component since `start` (an event count).
struct Window {
    start: u64,
    counts: Vec<u64>,
}

/// The watchdog's state in one simulation: its bounds and what it has seen.
pub(super) struct Watchdog {
    limits: Limits,
    max_pending: u64,
    max_events: u64,
    /// The loop calls [`Watchdog::check`] before the event that would make this many.
    pub(super) next_check: u64,
    /// Events at which to check the slower bounds next.
    next_slow: u64,
    next_progress: u64,
    check_every: u64,
    /// The simulated instant of the current stall, and the event count when it was first seen.
    stall_time: SimTime,
    stall_start: u64,
    window: Option<Window>,
    started: Option<Instant>,
}

impl Watchdog {
    /// A watchdog enforcing `limits` on a simulation of messages `M`.
    pub(super) fn new<M>(limits: Limits) -> Self {
        // At most half the range, so that a count plus it never overflows.
        let max_stalled = limits.max_stalled_events.clamp(1, u64::MAX / 2);
        Watchdog {
            max_pending: limits.pending_bound::<M>(),
            max_events: limits.max_events.unwrap_or(u64::MAX),
            limits: Limits {
                max_stalled_events: max_stalled,
                ..limits
            },
            next_check: 0,
            next_slow: 0,
            next_progress: PROGRESS_EVERY,
            // Small stall bounds (tests) are seen within a quarter of themselves.
            check_every: (max_stalled / 4).clamp(1, CHECK_EVERY),
            stall_time: SimTime::ZERO,
            stall_start: 0,
            window: None,
            started: None,
        }
    }

    /// The bounds enforced.
    pub(super) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Checks the bounds that need no event: pending events, memory, wall clock, interrupt.
    /// Starts the wall clock on the first call, when it is bounded.
    pub(super) fn check_slow(&mut self, pending: u64) -> Result<(), Limit> {
        if pending > self.max_pending {
            return Err(Limit::Pending(self.max_pending));
        }
        if let Some(held) = memory::live_bytes()
            && held > self.limits.max_memory
        {
            return Err(Limit::Memory {
                limit: self.limits.max_memory,
                held,
            });
        }
        // The clock is read only when bounded: the browser (wasm32-unknown-unknown) has none
        // that `Instant` can read, and its runs are stopped by the page instead.
        if let Some(max) = self.limits.max_wall
            && self.started.get_or_insert_with(Instant::now).elapsed() > max
        {
            return Err(Limit::Wall(max));
        }
        if self
            .limits
            .interrupt
            .is_some_and(|f| f.load(Ordering::Relaxed))
        {
            return Err(Limit::Interrupted);
        }
        Ok(())
    }

    /// Checks every bound before the next event is handled: `events` handled so far, the next
    /// event `(due time, target)`, `pending` events queued, `now` the time reached, among
    /// `components`. Sets `next_check`.
    pub(super) fn check(
        &mut self,
        events: u64,
        (next, target): (SimTime, ComponentId),
        pending: u64,
        now: SimTime,
        components: usize,
        progress: &mut impl FnMut(SimTime),
    ) -> Result<(), Limit> {
        if events >= self.next_slow {
            self.next_slow = events + self.check_every;
            self.check_slow(pending)?;
            if events >= self.next_progress {
                self.next_progress = events + PROGRESS_EVERY;
                progress(now);
            }
        }
        // Time is monotone, so when the next event is at the instant seen at `stall_start`,
        // every event since then ran at that instant.
        if next != self.stall_time {
            self.stall_time = next;
            self.stall_start = events;
        }
        let max_stalled = self.limits.max_stalled_events;
        let stalled = events - self.stall_start;
        if stalled >= max_stalled {
            return Err(Limit::Stall(max_stalled));
        }
        if events >= self.max_events {
            return Err(Limit::Events(self.max_events));
        }
        // Count the events that lead up to a bound on events, to name who handles them.
        let stall_window_from = self.stall_start + max_stalled - (max_stalled / 2).min(WINDOW);
        let events_window_from = self.max_events - (self.max_events / 2).min(WINDOW);
        if events >= stall_window_from || events >= events_window_from {
            let window = self.window.get_or_insert_with(|| Window {
                start: events,
                counts: vec![0; components],
            });
            window.counts[target.index()] += 1;
            self.next_check = events + 1;
        } else {
            self.window = None;
            self.next_check = self
                .next_slow
                .min(stall_window_from)
                .min(events_window_from);
        }
        Ok(())
    }

    /// The per-component counts of the events before a stop, most first, and how many events
    /// they cover.
    pub(super) fn take_handled(&mut self, events: u64) -> (Vec<(ComponentId, u64)>, u64) {
        match self.window.take() {
            Some(w) => (ranked(w.counts), events - w.start),
            None => (Vec::new(), 0),
        }
    }
}

/// Non-zero counts by component, most first (ties by id).
pub(super) fn ranked(counts: Vec<u64>) -> Vec<(ComponentId, u64)> {
    let mut ranked: Vec<(ComponentId, u64)> = counts
        .into_iter()
        .enumerate()
        .filter(|&(_, n)| n > 0)
        .map(|(i, n)| (ComponentId(i as u32), n))
        .collect();
    ranked.sort_by_key(|&(id, n)| (std::cmp::Reverse(n), id));
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::time::SimDuration;
    use crate::engine::{Component, Ctx, Simulation, rng};

    /// Sends itself `fan_out` messages `delay` nanoseconds after each it handles, for `rounds`
    /// events in all (then it stops): with no delay, a loop at one instant; with a fan-out of
    /// 2, a queue that grows.
    struct Echo {
        delay: u64,
        fan_out: usize,
        rounds: u64,
    }

    impl Component<u64> for Echo {
        fn init(&mut self, cx: &mut Ctx<'_, u64>) {
            cx.send_self(SimDuration::ZERO, 0);
        }
        fn handle(&mut self, _: u64, cx: &mut Ctx<'_, u64>) {
            if self.rounds == 0 {
                return;
            }
            self.rounds -= 1;
            for _ in 0..self.fan_out {
                cx.send_self(SimDuration::from_nanos(self.delay), 0);
            }
        }
    }

    fn echo(delay: u64, fan_out: usize, rounds: u64) -> Box<dyn Component<u64>> {
        Box::new(Echo {
            delay,
            fan_out,
            rounds,
        })
    }

    /// A component that sends `burst` messages to itself at once every millisecond, forever.
    struct Bursts {
        burst: u64,
    }

    impl Component<u64> for Bursts {
        fn init(&mut self, cx: &mut Ctx<'_, u64>) {
            cx.send_self(SimDuration::ZERO, 0);
        }
        fn handle(&mut self, n: u64, cx: &mut Ctx<'_, u64>) {
            if n == 0 {
                for i in 1..self.burst {
                    cx.send_self(SimDuration::ZERO, i);
                }
                cx.send_self(SimDuration::from_millis(1), 0);
            }
        }
    }

    fn simulation(
        limits: Limits,
        parts: Vec<Box<dyn Component<u64>>>,
    ) -> Simulation<u64, Box<dyn Component<u64>>> {
        let mut sim = Simulation::new(SimDuration::from_secs(1), SimDuration::ZERO);
        for (i, part) in parts.into_iter().enumerate() {
            let name = format!("c{i}");
            sim.add(&name, rng::stream(1, &name), part);
        }
        sim.set_limits(limits);
        sim
    }

    fn limits() -> Limits {
        Limits {
            max_events: None,
            max_wall: None,
            ..Limits::default()
        }
    }

    #[test]
    fn a_loop_with_no_delay_stops_at_the_stall_bound_naming_its_component() {
        let limits = Limits {
            max_stalled_events: 10_000,
            ..limits()
        };
        let mut sim = simulation(limits, vec![echo(0, 1, 3), echo(0, 1, u64::MAX)]);
        let stop = sim.run(|_| {}).unwrap_err();
        assert_eq!(stop.limit, Limit::Stall(10_000));
        // All at time zero: the stall began with the first event, and is seen within a
        // quarter of the bound.
        assert_eq!(stop.at, SimTime::ZERO);
        assert!((10_000..12_500).contains(&stop.events), "{}", stop.events);
        assert_eq!(stop.handled_over, 5_000);
        assert_eq!(stop.handled, vec![(ComponentId(1), 5_000)]);
        assert_eq!(stop.pending_by_target, vec![(ComponentId(1), 1)]);
    }

    #[test]
    fn bursts_below_the_stall_bound_run_to_the_end() {
        // 1 000 events at each instant, a thousand instants: far more events in all than the
        // stall bound, but never that many at once.
        let run = |max_stalled_events| {
            let limits = Limits {
                max_stalled_events,
                ..limits()
            };
            let mut sim = simulation(limits, vec![Box::new(Bursts { burst: 1_000 })]);
            sim.run(|_| {}).map(|()| sim.events())
        };
        assert_eq!(run(1_000).unwrap(), 1_000 * 1_000);
        assert_eq!(run(999).unwrap_err().limit, Limit::Stall(999));
    }

    #[test]
    fn the_event_bound_is_exact() {
        // Ten rounds of one event each, one per nanosecond: 11 events.
        let run = |max| {
            let limits = Limits {
                max_events: Some(max),
                ..limits()
            };
            let mut sim = simulation(limits, vec![echo(1, 1, 10)]);
            sim.run(|_| {}).map(|()| sim.events())
        };
        assert_eq!(run(11).unwrap(), 11);
        let stop = run(10).unwrap_err();
        assert_eq!((stop.limit, stop.events), (Limit::Events(10), 10));
        assert_eq!(stop.at, SimTime(9));
        assert_eq!(
            (stop.handled_over, &stop.handled[..]),
            (5, &[(ComponentId(0), 5)][..])
        );
    }

    #[test]
    fn a_growing_queue_stops_at_the_pending_bound() {
        let limits = Limits {
            max_pending: Some(100_000),
            ..limits()
        };
        let mut sim = simulation(limits, vec![echo(1, 1, u64::MAX), echo(1, 2, u64::MAX)]);
        let stop = sim.run(|_| {}).unwrap_err();
        assert_eq!(stop.limit, Limit::Pending(100_000));
        // Seen at the next check, at most CHECK_EVERY events later (each adds at most one).
        assert!((100_001..=100_000 + CHECK_EVERY).contains(&stop.pending));
        assert_eq!(
            stop.pending_by_target,
            vec![(ComponentId(1), stop.pending - 1), (ComponentId(0), 1)]
        );
        assert!(stop.handled.is_empty());
    }

    #[test]
    fn the_pending_bound_defaults_to_a_quarter_of_memory() {
        let limits = Limits::default();
        let per_event = bytes_per_pending_event::<u64>();
        // The event (target and message), its slab flag and free-list entry, its queue entry.
        assert_eq!(per_event, 16 + 1 + 4 + 16);
        assert_eq!(limits.pending_bound::<u64>(), (4 << 30) / 4 / per_event);
        let set = Limits {
            max_pending: Some(7),
            ..limits
        };
        assert_eq!(set.pending_bound::<u64>(), 7);
    }

    #[test]
    fn an_interrupt_stops_the_run_at_its_next_check() {
        static STOP: AtomicBool = AtomicBool::new(false);
        let limits = Limits {
            interrupt: Some(&STOP),
            ..limits()
        };
        // One event per nanosecond for a second: 10⁹ events unless interrupted.
        let mut sim = simulation(limits, vec![echo(1, 1, u64::MAX)]);
        let stop = sim
            .run(|_| STOP.store(true, Ordering::Relaxed))
            .unwrap_err();
        assert_eq!(stop.limit, Limit::Interrupted);
        // The first progress call comes after PROGRESS_EVERY events, the flag is seen at the
        // next check.
        assert_eq!(stop.events, PROGRESS_EVERY + CHECK_EVERY);
        assert!(stop.handled.is_empty());
    }

    #[test]
    fn a_wall_clock_bound_stops_a_long_run() {
        let limits = Limits {
            max_wall: Some(Duration::from_millis(1)),
            ..limits()
        };
        let mut sim = simulation(limits, vec![echo(1, 1, u64::MAX)]);
        let stop = sim.run(|_| {}).unwrap_err();
        assert_eq!(stop.limit, Limit::Wall(Duration::from_millis(1)));
        assert!(stop.at < sim.end());
    }

    #[test]
    fn progress_is_still_reported() {
        let mut calls = Vec::new();
        let mut sim = simulation(limits(), vec![echo(1, 1, 200_000)]);
        sim.run(|t| calls.push(t)).unwrap();
        // After 65 536, 131 072 and 196 608 events, then at the end.
        assert_eq!(calls.len(), 4);
        assert_eq!(calls.last(), Some(&sim.end()));
    }
}
