//! Raw event-queue throughput in the classic "hold model": pop the earliest event, push it back
//! at its time plus a random increment (exponential, mean 1 ms, in ns), so the number of pending
//! events stays constant. One element = one pop + push pair.
//!
//! Cases: 10 000 and 1 000 000 pending events, with a small (`u32`) and a 48-byte (`[u64; 6]`)
//! payload, for `awsim`'s `EventQueue` and, as the baseline, a std
//! `BinaryHeap<Reverse<(time, seq, payload)>>`.
//!
//! Run: `cargo bench --bench event_queue` (add `-- hold_10000` etc. to filter).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::Duration;

use awsim::engine::queue::EventQueue;
use awsim::engine::time::SimTime;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Pre-generated increments, cycled through (a power of two so indexing is a mask).
const INCREMENTS: usize = 1 << 16;
/// Mean increment: 1 ms in ns.
const MEAN_NS: f64 = 1e6;

/// Exponential increments with mean 1 ms, from a fixed seed, so RNG cost is not measured.
fn increments() -> Vec<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    (0..INCREMENTS)
        .map(|_| {
            let u: f64 = rng.random::<f64>();
            (-(1.0 - u).ln() * MEAN_NS) as u64
        })
        .collect()
}

/// The two operations the hold model needs, so both queues run the same loop.
trait HoldQueue<P> {
    fn push(&mut self, time: u64, payload: P);
    fn pop(&mut self) -> (u64, P);
}

impl<P> HoldQueue<P> for EventQueue<P> {
    #[inline]
    fn push(&mut self, time: u64, payload: P) {
        EventQueue::push(self, SimTime(time), payload);
    }
    #[inline]
    fn pop(&mut self) -> (u64, P) {
        let (time, payload) = EventQueue::pop(self).expect("hold model never empties");
        (time.0, payload)
    }
}

/// The baseline: std's binary heap, with an insertion counter for FIFO ties.
struct StdHeap<P> {
    heap: BinaryHeap<Reverse<(u64, u64, P)>>,
    seq: u64,
}

impl<P: Ord> HoldQueue<P> for StdHeap<P> {
    #[inline]
    fn push(&mut self, time: u64, payload: P) {
        self.heap.push(Reverse((time, self.seq, payload)));
        self.seq += 1;
    }
    #[inline]
    fn pop(&mut self) -> (u64, P) {
        let Reverse((time, _, payload)) = self.heap.pop().expect("hold model never empties");
        (time, payload)
    }
}

/// Fills `queue` with `pending` events and runs the hold model long enough (two full turnovers)
/// for the time distribution to reach its steady state.
fn prepare<P, Q: HoldQueue<P>>(
    queue: &mut Q,
    pending: usize,
    payload: impl Fn(usize) -> P,
    incs: &[u64],
) {
    for i in 0..pending {
        queue.push(incs[i % INCREMENTS], payload(i));
    }
    for k in 0..2 * pending {
        let (time, p) = queue.pop();
        queue.push(time + incs[k % INCREMENTS], p);
    }
}

/// Benchmarks one (queue, payload) case of the hold model.
fn hold_case<P, Q: HoldQueue<P>>(
    c: &mut Criterion,
    pending: usize,
    queue_name: &str,
    payload_name: &str,
    mut queue: Q,
    payload: impl Fn(usize) -> P,
) {
    let incs = increments();
    prepare(&mut queue, pending, payload, &incs);
    let mut group = c.benchmark_group(format!("hold_{pending}"));
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    let mut k = 0usize;
    group.bench_function(BenchmarkId::new(queue_name, payload_name), |b| {
        b.iter(|| {
            let (time, p) = queue.pop();
            queue.push(black_box(time) + incs[k & (INCREMENTS - 1)], p);
            k += 1;
        })
    });
    group.finish();
}

/// The 48-byte payload: about the size of the engine's event struct.
type Payload48 = [u64; 6];

fn payload_u32(i: usize) -> u32 {
    i as u32
}

fn payload_48(i: usize) -> Payload48 {
    [i as u64; 6]
}

fn std_heap<P: Ord>(pending: usize) -> StdHeap<P> {
    StdHeap {
        heap: BinaryHeap::with_capacity(pending),
        seq: 0,
    }
}

fn hold(c: &mut Criterion) {
    for pending in [10_000, 1_000_000] {
        let q = EventQueue::with_capacity(pending);
        hold_case(c, pending, "EventQueue", "u32", q, payload_u32);
        hold_case(
            c,
            pending,
            "BinaryHeap",
            "u32",
            std_heap(pending),
            payload_u32,
        );
        let q = EventQueue::with_capacity(pending);
        hold_case(c, pending, "EventQueue", "48B", q, payload_48);
        hold_case(
            c,
            pending,
            "BinaryHeap",
            "48B",
            std_heap(pending),
            payload_48,
        );
    }
}

criterion_group!(benches, hold);
criterion_main!(benches);
