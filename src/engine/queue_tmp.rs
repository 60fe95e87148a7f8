//! Temporary binary-heap event queue (replaced by the radix queue).
use crate::engine::time::SimTime;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

struct Entry<T> {
    key: (u64, u64),
    item: T,
}
impl<T> PartialEq for Entry<T> {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Entry<T> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.key.cmp(&o.key)
    }
}

/// Events by (time, seq).
pub struct EventQueue<T> {
    heap: BinaryHeap<Reverse<Entry<T>>>,
    seq: u64,
}
impl<T> EventQueue<T> {
    /// Empty.
    pub fn with_capacity(n: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(n),
            seq: 0,
        }
    }
    /// Push.
    pub fn push(&mut self, time: SimTime, item: T) {
        self.seq += 1;
        self.heap.push(Reverse(Entry {
            key: (time.0, self.seq),
            item,
        }));
    }
    /// Pop.
    pub fn pop(&mut self) -> Option<(SimTime, T)> {
        self.heap.pop().map(|Reverse(e)| (SimTime(e.key.0), e.item))
    }
    /// Peek.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|Reverse(e)| SimTime(e.key.0))
    }
}
