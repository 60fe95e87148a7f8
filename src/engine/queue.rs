//! The event queue: pending events, popped in exact `(time, push order)` order.
//!
//! # Guarantees
//!
//! - **Exact FIFO ties.** Events come out by time; events at the same time come out in the order
//!   they were pushed, however many there are. Together with integer time this is what makes a
//!   run reproducible. The order is checked against a `BinaryHeap` on `(time, sequence number)`
//!   by property tests over random interleavings of pushes and pops.
//! - **Monotone pushes.** A push must not be earlier than the time of the last popped event:
//!   simulated time never goes back. Pushing *at* the current time is fine; such an event comes
//!   out after the ones already waiting at that time. Debug builds panic on an earlier push;
//!   release builds clamp it to the current time, so the queue's order is never corrupted.
//!
//! # Structure: a monotone radix heap with FIFO buckets
//!
//! Monotone time allows a radix heap instead of a comparison heap. Every queued time is at or
//! after `last`, the last popped time; an event at `last` goes to the `now` list, any other to
//! bucket `k`, where `k` is the highest bit in which its time differs from `last`. Every event in
//! a lower bucket is earlier than every event in a higher one. `pop` takes the front of `now`;
//! when `now` is empty it takes the lowest non-empty bucket (a bit mask finds it), makes its
//! minimum (tracked per bucket) the new `last`, and files that bucket's events again: each lands
//! in `now` or a strictly lower bucket. So:
//!
//! - `push`, `peek_time`, `len`: O(1).
//! - `pop`: O(1) amortized. An event is moved at most 64 times in its life, in practice about
//!   log2(its delay / the typical gap between events); a move is a sequential copy, with no
//!   comparison between events. A single `pop` can move a whole bucket.
//!
//! FIFO order among equal times needs no stored sequence number (saving 8 bytes per event, and a
//! 128-bit key): buckets are append-only and kept in push order; events at the same time are
//! always in the same bucket; a refill moves one bucket's events, in order, into `now` and lower
//! buckets, all of which are empty at that moment (the refilled bucket is the lowest non-empty
//! one); and `now` is popped from the front. So every bucket stays in push order.
//!
//! Storage: each bucket is a list of fixed-size chunks (about 16 KiB) that come from, and return
//! to, a pool shared by all buckets, so memory follows the number of pending events: measured at
//! 1.02x the events' own size (8-byte time + payload) with 1 000 000 pending 48-byte events,
//! 1.6x with 10 000 (partly filled chunks). With one growable vector per bucket instead, each
//! bucket keeps its own peak size: 5.3x, for 5-15% more speed at 1 000 000 pending and none at
//! 10 000. A queue of steady size stops allocating after warm-up. Like std's collections, it
//! keeps its peak storage (the `now` list, for instance, the size of the largest group of ties).
//!
//! A calendar or ladder queue would also be O(1), but needs its bucket width tuned to the event
//! density, which the engine cannot know in advance; the radix heap needs no tuning.
//!
//! # Measured
//!
//! `benches/event_queue.rs`, hold model (pop the earliest event, push it back at its time plus an
//! exponential increment of mean 1 ms), pop + push pairs per second on one core of the 2-core
//! development machine (AMD EPYC), release build. Criterion medians; runs on this shared machine
//! vary by about 15%.
//!
//! | pending   | payload  | `EventQueue` | `BinaryHeap<Reverse<(time, seq, payload)>>` |
//! |-----------|----------|--------------|---------------------------------------------|
//! | 10 000    | `u32`    | 21.1 M/s     | 13.2 M/s                                    |
//! | 10 000    | 48 bytes | 21.3 M/s     | 9.0 M/s                                     |
//! | 1 000 000 | `u32`    | 20.8 M/s     | 1.20 M/s                                    |
//! | 1 000 000 | 48 bytes | 13.2 M/s     | 0.70 M/s                                    |

use std::collections::VecDeque;

use crate::engine::time::SimTime;

/// Number of radix buckets besides the "now" bucket: one per bit of a `u64` time.
const BUCKETS: usize = 64;

/// Target size of one bucket chunk in bytes.
const CHUNK_BYTES: usize = 16384;

/// Events per bucket chunk for payload `T`: about [`CHUNK_BYTES`], at least 16.
const fn chunk_len<T>() -> usize {
    let per_event = size_of::<(u64, T)>();
    let n = CHUNK_BYTES / per_event;
    if n < 16 { 16 } else { n }
}

/// One radix bucket: a list of fixed-capacity chunks, in push order.
struct Bucket<T> {
    /// Filled chunks, oldest first.
    full: Vec<Vec<(u64, T)>>,
    /// The chunk being filled; it always has spare capacity, unless it has none allocated yet.
    tail: Vec<(u64, T)>,
}

/// The radix buckets of an [`EventQueue`]: every event later than its `last` time.
struct Buckets<T> {
    /// `by_bit[k]` holds the events whose time first differs from `last` at bit `k` (counting
    /// from the least significant bit), in push order.
    by_bit: [Bucket<T>; BUCKETS],
    /// `mins[k]`: the smallest time in `by_bit[k]` (`u64::MAX` when empty).
    mins: [u64; BUCKETS],
    /// `min_at[k]`: where the first event at `mins[k]` sits in `by_bit[k]`, as (chunk, offset),
    /// the chunk counted in `full` with the tail after them: the event `pop` will return once
    /// the queue reaches that bucket, which [`EventQueue::next_hint`] tells the engine early.
    min_at: [(u32, u32); BUCKETS],
    /// Bit `k` set when `by_bit[k]` is non-empty.
    occupied: u64,
    /// Empty chunks, ready for reuse by any bucket.
    pool: Vec<Vec<(u64, T)>>,
}

/// A priority queue of simulation events, popped in `(time, push order)` order.
///
/// Times must be monotone: every push must carry a time no earlier than the time of the last
/// popped event (see [`EventQueue::push`]).
pub struct EventQueue<T> {
    /// Time of the last popped event (zero before the first pop). Every queued event is at
    /// or after it.
    last: u64,
    /// Events whose time equals `last`, in push order.
    now: VecDeque<(u64, T)>,
    /// Events later than `last`.
    buckets: Buckets<T>,
    /// Number of queued events.
    len: usize,
}

impl<T> EventQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            last: 0,
            now: VecDeque::new(),
            buckets: Buckets {
                by_bit: std::array::from_fn(|_| Bucket {
                    full: Vec::new(),
                    tail: Vec::new(),
                }),
                mins: [u64::MAX; BUCKETS],
                min_at: [(0, 0); BUCKETS],
                occupied: 0,
                pool: Vec::new(),
            },
            len: 0,
        }
    }

    /// An empty queue with storage for `n` pending events allocated up front.
    pub fn with_capacity(n: usize) -> Self {
        let mut queue = Self::new();
        let chunks = n.div_ceil(chunk_len::<T>());
        queue.buckets.pool = (0..chunks)
            .map(|_| Vec::with_capacity(chunk_len::<T>()))
            .collect();
        queue
    }

    /// Schedules `item` at `time`.
    ///
    /// `time` must not be earlier than the time of the last popped event: simulated time only
    /// moves forward. Debug builds panic when it is; release builds schedule such an event at
    /// the last popped time instead (it then comes out after the events already queued there).
    #[inline]
    pub fn push(&mut self, time: SimTime, item: T) {
        debug_assert!(
            time.0 >= self.last,
            "event scheduled in the past: {time:?} is before the last popped time {:?}",
            SimTime(self.last)
        );
        let t = time.0.max(self.last);
        self.len += 1;
        file(&mut self.now, &mut self.buckets, self.last, t, item);
    }

    /// Removes and returns the earliest event; among events at the same time, the one pushed
    /// first.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, T)> {
        if self.now.is_empty() {
            if self.buckets.occupied == 0 {
                return None;
            }
            self.refill();
        }
        let (t, item) = self.now.pop_front()?;
        self.len -= 1;
        Some((SimTime(t), item))
    }

    /// Advances `last` to the earliest queued time and moves the events of the lowest non-empty
    /// bucket to where they belong relative to it. Requires `now` empty and a non-empty bucket.
    fn refill(&mut self) {
        let Self {
            last, now, buckets, ..
        } = self;
        let k = buckets.occupied.trailing_zeros() as usize;
        let new_last = buckets.mins[k];
        *last = new_last;
        buckets.occupied &= !(1 << k);
        buckets.mins[k] = u64::MAX;
        let mut tail = std::mem::take(&mut buckets.by_bit[k].tail);
        if !buckets.by_bit[k].full.is_empty() {
            let mut full = std::mem::take(&mut buckets.by_bit[k].full);
            for mut chunk in full.drain(..) {
                for (t, item) in chunk.drain(..) {
                    file(now, buckets, new_last, t, item);
                }
                if chunk.capacity() >= chunk_len::<T>() {
                    buckets.pool.push(chunk);
                }
            }
            buckets.by_bit[k].full = full;
        }
        for (t, item) in tail.drain(..) {
            file(now, buckets, new_last, t, item);
        }
        // The bucket keeps its emptied tail chunk: buckets near `last` hold a few events and are
        // refilled constantly, and fetching a chunk from the pool for each would cost time.
        buckets.by_bit[k].tail = tail;
    }

    /// Time of the event [`pop`](Self::pop) would return next, without removing it.
    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        if !self.now.is_empty() {
            Some(SimTime(self.last))
        } else if self.buckets.occupied != 0 {
            let k = self.buckets.occupied.trailing_zeros() as usize;
            Some(SimTime(self.buckets.mins[k]))
        } else {
            None
        }
    }

    /// The event [`pop`](Self::pop) will return next if nothing earlier is pushed before it:
    /// a hint, read without moving anything, so the engine can fetch what it needs of that
    /// event into the cache while the current one is handled.
    #[inline]
    pub fn next_hint(&self) -> Option<&T> {
        if let Some((_, item)) = self.now.front() {
            return Some(item);
        }
        if self.buckets.occupied == 0 {
            return None;
        }
        let k = self.buckets.occupied.trailing_zeros() as usize;
        let (chunk, offset) = self.buckets.min_at[k];
        let bucket = &self.buckets.by_bit[k];
        let chunk = bucket.full.get(chunk as usize).unwrap_or(&bucket.tail);
        chunk.get(offset as usize).map(|(_, item)| item)
    }

    /// Keeps only the events for which `keep(time, item)` is true; the others are dropped. The
    /// kept events stay in `(time, push order)` order. O(queued events): for removing many
    /// events at once (cancelled timers), not one.
    pub fn retain(&mut self, mut keep: impl FnMut(SimTime, &T) -> bool) {
        let Self {
            now, buckets, len, ..
        } = self;
        now.retain(|(t, item)| keep(SimTime(*t), item));
        *len = now.len();
        let mut occupied = buckets.occupied;
        while occupied != 0 {
            let k = occupied.trailing_zeros() as usize;
            occupied &= !(1 << k);
            // The kept events go, in order, into dense chunks: a bucket never holds mostly
            // empty chunks after many of its events went.
            let old = std::mem::replace(
                &mut buckets.by_bit[k],
                Bucket {
                    full: Vec::new(),
                    tail: Vec::new(),
                },
            );
            let (mut min, mut kept) = (u64::MAX, 0);
            for mut chunk in old.full.into_iter().chain([old.tail]) {
                for (t, item) in chunk.drain(..) {
                    if !keep(SimTime(t), &item) {
                        continue;
                    }
                    let bucket = &mut buckets.by_bit[k];
                    if t < min || kept == 0 {
                        min = t;
                        buckets.min_at[k] = (bucket.full.len() as u32, bucket.tail.len() as u32);
                    }
                    if bucket.tail.capacity() == 0 {
                        bucket.tail = buckets
                            .pool
                            .pop()
                            .unwrap_or_else(|| Vec::with_capacity(chunk_len::<T>()));
                    }
                    bucket.tail.push((t, item));
                    if bucket.tail.len() == bucket.tail.capacity() {
                        spill(bucket, &mut buckets.pool);
                    }
                    kept += 1;
                }
                if chunk.capacity() >= chunk_len::<T>() {
                    buckets.pool.push(chunk);
                }
            }
            buckets.mins[k] = min;
            *len += kept;
            if kept == 0 {
                buckets.occupied &= !(1 << k);
            }
        }
    }

    /// The event [`pop`](Self::pop) would return next, without removing it. Takes `&mut self`
    /// because it may move the next bucket's events into place, as `pop` would have.
    pub fn peek(&mut self) -> Option<(SimTime, &T)> {
        if self.now.is_empty() {
            if self.buckets.occupied == 0 {
                return None;
            }
            self.refill();
        }
        self.now.front().map(|(t, item)| (SimTime(*t), item))
    }

    /// Number of queued events.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no event is queued.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Files an event at time `t >= last` where it belongs: `now` if `t == last`, else the bucket
/// of the highest bit in which `t` differs from `last`.
#[inline(always)]
fn file<T>(now: &mut VecDeque<(u64, T)>, buckets: &mut Buckets<T>, last: u64, t: u64, item: T) {
    let diff = t ^ last;
    if diff == 0 {
        now.push_back((t, item));
    } else {
        let k = (63 - diff.leading_zeros()) as usize;
        let bucket = &mut buckets.by_bit[k];
        // An empty bucket's minimum reads u64::MAX, the time of an event at the end of time too.
        if t < buckets.mins[k] || buckets.occupied & (1 << k) == 0 {
            buckets.mins[k] = t;
            buckets.min_at[k] = (bucket.full.len() as u32, bucket.tail.len() as u32);
        }
        // Never reallocates once the bucket has a chunk: the tail always has room.
        bucket.tail.push((t, item));
        if bucket.tail.len() == bucket.tail.capacity() {
            spill(bucket, &mut buckets.pool);
        }
        buckets.occupied |= 1 << k;
    }
}

/// Moves `bucket`'s full tail chunk to its list of full chunks and starts an empty one.
#[cold]
#[inline(never)]
fn spill<T>(bucket: &mut Bucket<T>, pool: &mut Vec<Vec<(u64, T)>>) {
    let fresh = pool
        .pop()
        .unwrap_or_else(|| Vec::with_capacity(chunk_len::<T>()));
    bucket.full.push(std::mem::replace(&mut bucket.tail, fresh));
}

impl<T> Default for EventQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> std::fmt::Debug for EventQueue<T> {
    /// A summary (the events themselves are not listed): length, current and next time.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventQueue")
            .field("len", &self.len)
            .field("last_popped", &SimTime(self.last))
            .field("next", &self.peek_time())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    use std::rc::Rc;

    /// The specification: a binary heap on `(time, insertion sequence)`.
    #[derive(Default)]
    struct Reference {
        heap: BinaryHeap<Reverse<(u64, u64)>>,
        seq: u64,
    }

    impl Reference {
        /// Pushes an event and returns its sequence number (the payload used in the queue).
        fn push(&mut self, time: u64) -> u64 {
            let seq = self.seq;
            self.seq += 1;
            self.heap.push(Reverse((time, seq)));
            seq
        }

        fn pop(&mut self) -> Option<(u64, u64)> {
            self.heap.pop().map(|Reverse(key)| key)
        }

        fn peek_time(&self) -> Option<u64> {
            self.heap.peek().map(|Reverse((time, _))| *time)
        }
    }

    /// A payload that carries the reference's sequence number.
    trait Tag {
        fn tag(seq: u64) -> Self;
        fn seq(&self) -> u64;
    }

    impl Tag for u64 {
        fn tag(seq: u64) -> Self {
            seq
        }
        fn seq(&self) -> u64 {
            *self
        }
    }

    /// A 256-byte payload: chunks then hold only 16 events, so chunk boundaries are crossed
    /// often even in short runs.
    #[derive(Debug)]
    struct Padded([u64; 32]);

    impl Tag for Padded {
        fn tag(seq: u64) -> Self {
            Padded([seq; 32])
        }
        fn seq(&self) -> u64 {
            self.0[31]
        }
    }

    /// Pushes `time` into both, tagging the queue's event with the reference's sequence number.
    fn push_both<P: Tag>(queue: &mut EventQueue<P>, reference: &mut Reference, time: u64) {
        let seq = reference.push(time);
        queue.push(SimTime(time), P::tag(seq));
    }

    /// Pops one event from both and checks they agree; returns the popped time.
    /// Hints and peeks first: the hinted and the peeked event must be the popped one (peeking
    /// may refill).
    fn pop_both<P: Tag>(queue: &mut EventQueue<P>, reference: &mut Reference) -> Option<u64> {
        let hinted = queue.next_hint().map(Tag::seq);
        let peeked = queue.peek().map(|(time, item)| (time.0, item.seq()));
        let got = queue.pop().map(|(time, item)| (time.0, item.seq()));
        assert_eq!(peeked, got);
        assert_eq!(hinted, got.map(|(_, seq)| seq));
        assert_eq!(got, reference.pop());
        assert_eq!(queue.len(), reference.heap.len());
        assert_eq!(queue.peek_time().map(|t| t.0), reference.peek_time());
        got.map(|(time, _)| time)
    }

    /// Pops everything, checking each event against the reference.
    fn drain_both<P: Tag>(queue: &mut EventQueue<P>, reference: &mut Reference) {
        while pop_both(queue, reference).is_some() {}
        assert!(queue.is_empty());
    }

    fn drain<T>(queue: &mut EventQueue<T>) -> Vec<(u64, T)> {
        std::iter::from_fn(|| queue.pop().map(|(time, item)| (time.0, item))).collect()
    }

    #[test]
    fn empty_queue_has_nothing() {
        for mut queue in [
            EventQueue::<u8>::new(),
            EventQueue::default(),
            EventQueue::with_capacity(1000),
        ] {
            assert!(queue.is_empty());
            assert_eq!(queue.len(), 0);
            assert_eq!(queue.peek_time(), None);
            assert_eq!(queue.pop(), None);
        }
    }

    #[test]
    fn debug_output_summarises() {
        let mut queue = EventQueue::new();
        queue.push(SimTime(5), [0u8; 3]);
        let text = format!("{queue:?}");
        assert!(
            text.contains("len: 1") && text.contains("SimTime(5)"),
            "{text}"
        );
    }

    #[test]
    fn pops_in_time_order() {
        let mut queue = EventQueue::new();
        for time in [50, 10, 40, 20, 30, 0, 1 << 40, 7] {
            queue.push(SimTime(time), time);
        }
        assert_eq!(queue.len(), 8);
        assert_eq!(queue.peek_time(), Some(SimTime(0)));
        let times: Vec<u64> = drain(&mut queue).into_iter().map(|(t, _)| t).collect();
        assert_eq!(times, [0, 7, 10, 20, 30, 40, 50, 1 << 40]);
    }

    #[test]
    fn equal_times_pop_in_push_order() {
        let mut queue = EventQueue::new();
        let pushes = [
            (5, 'a'),
            (3, 'b'),
            (5, 'c'),
            (3, 'd'),
            (9, 'e'),
            (5, 'f'),
            (3, 'g'),
        ];
        for (time, name) in pushes {
            queue.push(SimTime(time), name);
        }
        let order: String = drain(&mut queue)
            .into_iter()
            .map(|(_, name)| name)
            .collect();
        assert_eq!(order, "bdgacfe");
    }

    #[test]
    fn push_at_current_time_comes_after_queued_ties() {
        let mut queue = EventQueue::new();
        queue.push(SimTime(100), "first");
        queue.push(SimTime(100), "second");
        queue.push(SimTime(200), "later");
        assert_eq!(queue.pop(), Some((SimTime(100), "first")));
        // Time is now 100: a new event at 100 runs after the one already waiting there.
        queue.push(SimTime(100), "third");
        assert_eq!(queue.peek_time(), Some(SimTime(100)));
        assert_eq!(queue.pop(), Some((SimTime(100), "second")));
        assert_eq!(queue.pop(), Some((SimTime(100), "third")));
        // Still at 100 with nothing left there: scheduling at the current time is allowed.
        queue.push(SimTime(100), "fourth");
        assert_eq!(queue.pop(), Some((SimTime(100), "fourth")));
        assert_eq!(queue.pop(), Some((SimTime(200), "later")));
        assert_eq!(queue.pop(), None);
        queue.push(SimTime(200), "again");
        assert_eq!(queue.pop(), Some((SimTime(200), "again")));
    }

    #[test]
    fn popped_times_never_decrease_and_peek_matches_pop() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut queue = EventQueue::new();
        for _ in 0..1000 {
            queue.push(SimTime(rng.random_range(0..10_000)), ());
        }
        let mut previous = SimTime::ZERO;
        while let Some(expected) = queue.peek_time() {
            let (time, ()) = queue.pop().unwrap();
            assert_eq!(time, expected);
            assert!(time >= previous);
            previous = time;
            if rng.random_bool(0.5) {
                queue.push(
                    time + crate::engine::time::SimDuration(rng.random_range(0..500)),
                    (),
                );
            }
        }
        assert!(queue.is_empty());
    }

    #[test]
    fn many_equal_timestamps_keep_fifo_order() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut queue = EventQueue::<u64>::new();
        let mut reference = Reference::default();
        // 100 000 events spread over only three distinct times, in random push order.
        for _ in 0..100_000 {
            push_both(
                &mut queue,
                &mut reference,
                [1_000, 1_001, 5_000][rng.random_range(0..3)],
            );
        }
        // Pop part of the first tie group, then keep adding at the current time and later.
        for _ in 0..20_000 {
            pop_both(&mut queue, &mut reference);
        }
        for _ in 0..50_000 {
            push_both(
                &mut queue,
                &mut reference,
                [1_000, 1_001, 5_000][rng.random_range(0..3)],
            );
            if rng.random_bool(0.3) {
                pop_both(&mut queue, &mut reference);
            }
        }
        drain_both(&mut queue, &mut reference);
    }

    #[test]
    fn huge_times_near_the_top_bit_and_max() {
        let half = u64::MAX / 2; // 0x7fff..ff: the next nanosecond flips every bit.
        let mut queue = EventQueue::<u64>::new();
        let mut reference = Reference::default();
        for time in [
            half + 1,
            half,
            half - 1,
            u64::MAX,
            half + 1,
            half,
            u64::MAX - 1,
            u64::MAX,
        ] {
            push_both(&mut queue, &mut reference, time);
        }
        assert_eq!(pop_both(&mut queue, &mut reference), Some(half - 1));
        assert_eq!(pop_both(&mut queue, &mut reference), Some(half));
        push_both(&mut queue, &mut reference, half);
        push_both(&mut queue, &mut reference, half + 1);
        push_both(&mut queue, &mut reference, SimTime::MAX.0);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for _ in 0..10_000 {
            let time = half + rng.random_range(0..4);
            push_both(&mut queue, &mut reference, time);
        }
        for _ in 0..5_000 {
            pop_both(&mut queue, &mut reference);
        }
        drain_both(&mut queue, &mut reference);
        assert_eq!(queue.peek_time(), None);
    }

    #[test]
    fn hold_model_matches_reference() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
        let mut queue = EventQueue::<u64>::new();
        let mut reference = Reference::default();
        for _ in 0..10_000 {
            push_both(&mut queue, &mut reference, rng.random_range(0..1_000_000));
        }
        for _ in 0..200_000 {
            let now = pop_both(&mut queue, &mut reference).unwrap();
            // Coarse increments make plenty of ties; the occasional big one reaches high bits.
            let increment = match rng.random_range(0..10) {
                0 => 0,
                1 => rng.random_range(0..1 << 40),
                _ => rng.random_range(0..2_000) * 1_000,
            };
            push_both(&mut queue, &mut reference, now + increment);
        }
        drain_both(&mut queue, &mut reference);
    }

    #[test]
    fn payloads_are_moved_out_or_dropped_exactly_once() {
        let token = Rc::new(());
        let mut queue = EventQueue::new();
        for time in 0..10_000u64 {
            queue.push(SimTime(time * 7919 % 10_007), Rc::clone(&token));
        }
        assert_eq!(Rc::strong_count(&token), 10_001);
        for _ in 0..4_000 {
            drop(queue.pop());
        }
        assert_eq!(Rc::strong_count(&token), 6_001);
        drop(queue);
        assert_eq!(Rc::strong_count(&token), 1);
    }

    #[test]
    fn storage_stays_proportional_to_pending_events() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(23);
        let mut queue = EventQueue::new();
        let pending: usize = 20_000;
        for _ in 0..pending {
            queue.push(SimTime(rng.random_range(0..1_000_000)), [0u64; 6]);
        }
        for _ in 0..200_000 {
            let (now, item) = queue.pop().unwrap();
            let increment = (-(1.0 - rng.random::<f64>()).ln() * 1e5) as u64;
            queue.push(now + crate::engine::time::SimDuration(increment), item);
        }
        let chunks = queue.buckets.pool.len()
            + queue
                .buckets
                .by_bit
                .iter()
                .map(|b| b.full.len() + usize::from(b.tail.capacity() != 0))
                .sum::<usize>();
        // Full chunks hold live events; at most one partial chunk per bucket, plus the pool's
        // leftovers from the largest refill in flight.
        let bound = pending.div_ceil(chunk_len::<[u64; 6]>()) + 2 * BUCKETS + 1;
        assert!(
            chunks <= bound,
            "{chunks} chunks for {pending} events (bound {bound})"
        );
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "scheduled in the past")]
    fn push_into_the_past_panics_in_debug_builds() {
        let mut queue = EventQueue::new();
        queue.push(SimTime(10), ());
        queue.pop();
        queue.push(SimTime(9), ());
    }

    #[test]
    #[cfg(not(debug_assertions))]
    fn push_into_the_past_is_clamped_to_now_in_release_builds() {
        let mut queue = EventQueue::new();
        queue.push(SimTime(10), "a");
        queue.push(SimTime(10), "b");
        queue.push(SimTime(20), "c");
        queue.pop();
        queue.push(SimTime(9), "late");
        let order: Vec<(u64, &str)> = drain(&mut queue);
        assert_eq!(order, [(10, "b"), (10, "late"), (20, "c")]);
    }

    #[derive(Clone, Debug)]
    enum Op {
        /// Push at the last popped time (or the base time) plus this delay.
        Push(u64),
        Pop,
    }

    fn delay() -> impl Strategy<Value = u64> {
        prop_oneof![
            4 => Just(0u64),
            4 => 0u64..4,
            3 => 0u64..1_000,
            2 => 0u64..1 << 40,
            1 => 0u64..u64::MAX / 4,
        ]
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        let op = prop_oneof![3 => delay().prop_map(Op::Push), 2 => Just(Op::Pop)];
        prop::collection::vec(op, 0..3_000)
    }

    /// Runs `ops` against the queue (payload `P`) and the reference, comparing every step.
    fn check_against_reference<P: Tag>(base: u64, ops: Vec<Op>) {
        let mut queue = EventQueue::<P>::new();
        let mut reference = Reference::default();
        let mut floor = base;
        for op in ops {
            match op {
                Op::Push(delay) => {
                    push_both(&mut queue, &mut reference, floor.saturating_add(delay))
                }
                Op::Pop => {
                    if let Some(time) = pop_both(&mut queue, &mut reference) {
                        floor = time;
                    }
                }
            }
        }
        drain_both(&mut queue, &mut reference);
    }

    /// Runs `ops` (and, before each `retain`, a random drop decision per event) against the
    /// queue and the reference, comparing every pop.
    #[test]
    fn the_hint_names_an_event_at_the_end_of_time() {
        // An empty bucket's minimum reads u64::MAX, the time of an event at the end of time too:
        // such an event must still be hinted, not a stale position of the bucket's last use.
        let mut queue = EventQueue::<u64>::new();
        let mut reference = Reference::default();
        for time in [(1 << 63) + 10, (1 << 63) + 9, (1 << 63) + 3] {
            push_both(&mut queue, &mut reference, time);
        }
        queue.retain(|_, _| false);
        reference.heap.clear();
        push_both(&mut queue, &mut reference, u64::MAX);
        assert_eq!(queue.next_hint(), Some(&3));
        assert_eq!(pop_both(&mut queue, &mut reference), Some(u64::MAX));
        assert_eq!(queue.next_hint(), None);
    }

    #[test]
    fn retain_keeps_a_bucket_whose_events_are_all_at_the_last_instant() {
        // Found by retain_matches_reference_heap: a bucket left holding only events at
        // u64::MAX was taken for empty.
        let mut queue = EventQueue::<u64>::new();
        let mut reference = Reference::default();
        push_both(&mut queue, &mut reference, 5);
        push_both(&mut queue, &mut reference, u64::MAX);
        push_both(&mut queue, &mut reference, u64::MAX);
        assert_eq!(pop_both(&mut queue, &mut reference), Some(5));
        queue.retain(|_, &seq| seq != 2);
        reference.heap.retain(|Reverse((_, seq))| *seq != 2);
        assert_eq!(queue.peek_time(), Some(SimTime(u64::MAX)));
        drain_both(&mut queue, &mut reference);
    }

    fn check_retain_against_reference(base: u64, ops: Vec<Op>, drop_every: u64) {
        let mut queue = EventQueue::<u64>::new();
        let mut reference = Reference::default();
        let mut floor = base;
        for (i, op) in ops.into_iter().enumerate() {
            match op {
                Op::Push(delay) => {
                    push_both(&mut queue, &mut reference, floor.saturating_add(delay))
                }
                Op::Pop => {
                    if let Some(time) = pop_both(&mut queue, &mut reference) {
                        floor = time;
                    }
                }
            }
            if i % 97 == 96 {
                let dropped = |seq: u64| seq % drop_every == i as u64 % drop_every;
                queue.retain(|_, &seq| !dropped(seq));
                let kept: Vec<Reverse<(u64, u64)>> = reference
                    .heap
                    .drain()
                    .filter(|Reverse((_, seq))| !dropped(*seq))
                    .collect();
                reference.heap.extend(kept);
                assert_eq!(queue.len(), reference.heap.len());
                assert_eq!(queue.peek_time().map(|t| t.0), reference.peek_time());
            }
        }
        drain_both(&mut queue, &mut reference);
    }

    #[test]
    fn retain_keeps_order_and_frees_whole_buckets() {
        let mut queue = EventQueue::new();
        for (time, name) in [(5, 'a'), (1 << 20, 'b'), (5, 'c'), (9, 'd'), (1 << 20, 'e')] {
            queue.push(SimTime(time), name);
        }
        queue.retain(|time, &name| name != 'a' && time.0 != 9);
        assert_eq!(queue.len(), 3);
        assert_eq!(queue.peek_time(), Some(SimTime(5)));
        queue.retain(|_, _| true);
        assert_eq!(
            drain(&mut queue),
            [(5, 'c'), (1 << 20, 'b'), (1 << 20, 'e')]
        );
        queue.push(SimTime(1 << 21), 'f');
        queue.retain(|_, _| false);
        assert!(queue.is_empty());
        assert_eq!((queue.peek_time(), queue.pop()), (None, None));
    }

    fn base() -> impl Strategy<Value = u64> {
        prop_oneof![Just(0u64), Just(u64::MAX / 2 - 500), 0u64..u64::MAX / 2]
    }

    proptest! {
        /// Any interleaving of monotone pushes and pops gives exactly the reference's sequence.
        #[test]
        fn matches_reference_heap(base in base(), ops in ops()) {
            check_against_reference::<u64>(base, ops);
        }

        /// The same with large payloads, whose small chunks put ties across chunk boundaries.
        #[test]
        fn matches_reference_heap_with_large_payloads(base in base(), ops in ops()) {
            check_against_reference::<Padded>(base, ops);
        }

        /// Dropping events now and then (as cancelled timers are) leaves the others in the
        /// reference's order.
        #[test]
        fn retain_matches_reference_heap(base in base(), ops in ops(), drop_every in 1u64..5) {
            check_retain_against_reference(base, ops, drop_every);
        }
    }
}
