//! The progress bar: shown on a terminal for runs that last more than about a second, hidden
//! otherwise (not a terminal, `--quiet`). The only place that reads the wall clock.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::time::{SimDuration, SimTime};

/// A progress bar over simulated time.
pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    enabled: bool,
    shown: bool,
}

impl Progress {
    /// A bar for a run of `duration`; `quiet` hides it.
    pub fn new(duration: SimDuration, quiet: bool) -> Self {
        let bar = ProgressBar::with_draw_target(
            Some(duration.as_nanos() / 1_000_000),
            ProgressDrawTarget::hidden(),
        );
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} simulated {msg} [{bar:40}] {percent}% (eta {eta})",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        Progress {
            bar,
            started: Instant::now(),
            enabled: !quiet && std::io::stderr().is_terminal(),
            shown: false,
        }
    }

    /// The run reached simulated time `now`.
    pub fn update(&mut self, now: SimTime) {
        if !self.enabled {
            return;
        }
        if !self.shown && self.started.elapsed() > Duration::from_secs(1) {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown = true;
        }
        self.bar.set_position(now.as_nanos() / 1_000_000);
        self.bar
            .set_message(SimDuration(now.as_nanos()).to_string());
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
