//! The sweep's progress bar: runs done out of runs to do, with an ETA; shown on a terminal,
//! hidden otherwise (not a terminal, `--quiet`). Like `output::progress`, the only part of a
//! sweep that reads the wall clock; nothing it measures reaches the results.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar over runs. Cheap to share between threads (`&SweepProgress` is `Sync`).
pub struct SweepProgress {
    bar: ProgressBar,
    started: Instant,
}

impl SweepProgress {
    /// A bar for `runs` runs; `quiet` hides it.
    pub fn new(runs: u64, quiet: bool) -> Self {
        let shown = !quiet && std::io::stderr().is_terminal();
        let target = if shown {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(runs), target);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} sweep [{bar:40}] {pos}/{len} runs, {elapsed} (eta {eta})",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        if shown {
            bar.enable_steady_tick(Duration::from_millis(200));
        }
        SweepProgress {
            bar,
            started: Instant::now(),
        }
    }

    /// One more run finished.
    pub fn run_done(&self) {
        self.bar.inc(1);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// Wall time since the bar was made.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}
