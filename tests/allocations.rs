//! A run in its steady state allocates nothing per event (issue 15): the engine's queue and
//! slabs, the components' pools and the metrics reuse their storage, so after a warm-up the
//! allocator is not called again however long the run.
//!
//! Its own test binary, with one test, because it counts every allocation of the process
//! ([`awsim::engine::memory::CountingAlloc`] registered here): tests running beside it on
//! other threads would be counted too.

use std::path::Path;

use awsim::engine::memory::{CountingAlloc, allocations};
use awsim::engine::time::{SimDuration, SimTime};
use awsim::metrics::{SeriesRow, SeriesSink};
use awsim::run::observe;
use awsim::scenario::{RunSettings, Scenario};

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

/// Notes the allocation count at the first row at or after each of `marks` and at the last
/// row; stores nothing else, so it allocates nothing itself.
struct Counter {
    marks: [SimTime; 2],
    counts: [Option<u64>; 2],
    last: u64,
}

impl SeriesSink for Counter {
    fn row(&mut self, time: SimTime, _name: &str, _kind: &str, _row: &SeriesRow) {
        for (mark, count) in self.marks.iter().zip(&mut self.counts) {
            if time >= *mark {
                count.get_or_insert_with(allocations);
            }
        }
        self.last = allocations();
    }
}

#[test]
fn an_mmc_run_allocates_nothing_per_event_once_warm() {
    // M/M/8 at 72 requests/s for 20 hours, sampled every second: about 5.2 million requests,
    // 20 million events and 144 000 rows.
    let scenario =
        Scenario::load(Path::new("scenarios/examples/mmc.toml")).unwrap_or_else(|e| panic!("{e}"));
    let hours = |n: u64| SimDuration::from_secs(n * 3600);
    let settings = RunSettings {
        duration: Some(hours(20)),
        interval: Some(SimDuration::from_secs(1)),
        ..RunSettings::default()
    };
    let simulation = scenario.build(settings).expect("builds");
    let mut counter = Counter {
        marks: [SimTime::ZERO + hours(1), SimTime::ZERO + hours(2)],
        counts: [None, None],
        last: 0,
    };
    let output = observe(simulation, SimDuration::from_secs(1), &mut counter, |_| {})
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(output.events > 18_000_000, "{} events", output.events);
    let [Some(at_1h), Some(at_2h)] = counter.counts else {
        panic!("rows after both marks");
    };
    assert!(at_1h > 0, "the counting allocator is registered");
    // What allocates after the warm-up is storage growing to a new peak, never per event or
    // per row: a histogram meeting a latency longer than any before, a queue longer than any
    // before, and the event queue's radix heap using a bucket for the first time when the clock
    // passes a power of two of nanoseconds (2^44, 2^45 and 2^46 ns fall in the last 18 hours:
    // up to 3 allocations each). Peaks come ever more rarely in a steady state, so the count
    // grows with the logarithm of the run's length: 16 in the last 18 hours here, while one
    // allocation per event would be 18 million, and one per row 130 000.
    let second_hour = at_2h - at_1h;
    let last_18_hours = counter.last - at_2h;
    eprintln!(
        "{} events; allocations: {at_1h} in the first hour, {second_hour} in the second, \
         {last_18_hours} in the last 18",
        output.events
    );
    assert!(
        last_18_hours <= 32,
        "{last_18_hours} allocations in the last 18 hours ({second_hour} in the second hour)"
    );
}
