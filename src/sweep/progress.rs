//! The sweep's progress bar: runs done out of runs to do, with an ETA; an
//! [`output::progress::Bar`](crate::output::progress::Bar), so shown on a terminal only.

use std::time::Duration;

use crate::output::progress::Bar;

/// A progress bar over runs. Cheap to share between threads (`&SweepProgress` is `Sync`).
pub struct SweepProgress {
    bar: Bar,
}

impl SweepProgress {
    /// A bar for `runs` runs; `quiet` hides it.
    pub fn new(runs: u64, quiet: bool) -> Self {
        let bar = Bar::new(
            runs,
            "{spinner} sweep [{bar:40}] {pos}/{len} runs, {elapsed} (eta {eta})",
            quiet,
        );
        // Shown at once (a sweep is long), and redrawn while a slow run holds every thread.
        bar.show(Some(Duration::from_millis(200)));
        SweepProgress { bar }
    }

    /// One more run finished.
    pub fn run_done(&self) {
        self.bar.inc();
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish();
    }

    /// Wall time since the bar was made.
    pub fn elapsed(&self) -> Duration {
        self.bar.elapsed()
    }
}
