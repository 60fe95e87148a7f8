//! How much memory the process holds: a counting wrapper around the system allocator.
//!
//! The memory limit of a run ([`super::watchdog::Limits::max_memory`]) needs a measure that is
//! cheap enough to read every few thousand events, exact, and the same on every platform. The
//! operating system's figures (resident set size) are none of these: reading them is a system
//! call or a file to parse, they differ between Linux, macOS and Windows, and they lag behind
//! (freed memory often stays resident). Counting in the allocator is exact and costs two
//! relaxed atomic additions per allocation; the engine's hot loop allocates rarely (its queue
//! and slabs reuse their storage), so this does not show in the M/M/8 benchmark
//! (`benches/README.md`).
//!
//! It counts what the program has reserved, not what the system has touched: a vector that
//! has just doubled counts its new capacity whole, though its new half is not yet written (the
//! system allocator grows large blocks in place, without copying). So a run is seen past its
//! bound at the first check after it got there, by up to the size of the structure that
//! doubled; the limit stays far below what would make an allocation fail.
//!
//! The count is process-wide: a sweep running several runs at once measures them together,
//! which is what protects the machine. A binary opts in with one line:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOCATOR: awsim::engine::memory::CountingAlloc = awsim::engine::memory::CountingAlloc;
//! ```
//!
//! Without it (a library user, a unit-test binary) nothing is counted and [`live_bytes`] says
//! so: the memory limit is then not enforced, and the bound on pending events
//! ([`super::watchdog::Limits::max_pending`]) is what keeps a run's own growth in check.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes allocated through [`CountingAlloc`] and not yet freed.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// Allocations (and reallocations) made through [`CountingAlloc`].
static CALLS: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting the bytes it holds for the program.
pub struct CountingAlloc;

// SAFETY: every call is forwarded unchanged to `System`, which upholds `GlobalAlloc`'s
// contract; the counter only observes sizes, and is updated only for calls that succeeded.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc(layout) };
        CALLS.fetch_add(1, Ordering::Relaxed);
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.alloc_zeroed(layout) };
        CALLS.fetch_add(1, Ordering::Relaxed);
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        CALLS.fetch_add(1, Ordering::Relaxed);
        if !p.is_null() {
            if new_size >= layout.size() {
                LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

/// Allocations and reallocations made so far through [`CountingAlloc`] (zero when it is not
/// the global allocator): what `tests/allocations.rs` reads to show that a run in its steady
/// state allocates nothing per event.
pub fn allocations() -> u64 {
    CALLS.load(Ordering::Relaxed) as u64
}

/// Bytes the program holds from the allocator now, or `None` when [`CountingAlloc`] is not the
/// global allocator.
///
/// A program that has built a simulation has allocated, so a count of zero means nothing is
/// counting.
pub fn live_bytes() -> Option<u64> {
    match LIVE.load(Ordering::Relaxed) {
        0 => None,
        n => Some(n as u64),
    }
}
