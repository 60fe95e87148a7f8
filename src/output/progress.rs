//! Progress bars: over simulated time for a run, over runs for a sweep (`sweep::progress`).
//! Both are a [`Bar`]: drawn on stderr when it is a terminal, hidden otherwise (not a terminal,
//! `--quiet`). The only place that reads the wall clock; nothing it measures reaches the
//! results.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::time::{SimDuration, SimTime};

/// An indicatif bar, hidden until shown, and never shown unless stderr is a terminal and the
/// user did not ask for quiet. Cheap to share between threads (`&Bar` is `Sync`).
pub struct Bar {
    bar: ProgressBar,
    started: Instant,
    enabled: bool,
}

impl Bar {
    /// A hidden bar of `len` steps drawn with the indicatif `template`; `quiet` keeps it hidden.
    pub fn new(len: u64, template: &'static str, quiet: bool) -> Bar {
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template(template)
                .expect("static template")
                .progress_chars("=> "),
        );
        Bar {
            bar,
            started: Instant::now(),
            enabled: !quiet && std::io::stderr().is_terminal(),
        }
    }

    /// The bar may be shown (a terminal, not quiet).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Draws the bar from now on, if it may be shown; `spin`: redraw it this often even when
    /// it does not advance (the spinner and clock keep moving during long steps).
    pub fn show(&self, spin: Option<Duration>) {
        if !self.enabled {
            return;
        }
        self.bar.set_draw_target(ProgressDrawTarget::stderr());
        if let Some(every) = spin {
            self.bar.enable_steady_tick(every);
        }
    }

    /// Moves the bar to step `position`, with `message` for the template's `{msg}`.
    pub fn set(&self, position: u64, message: String) {
        self.bar.set_position(position);
        self.bar.set_message(message);
    }

    /// One more step done.
    pub fn inc(&self) {
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

/// A progress bar over simulated time, shown for runs that last more than about a second.
pub struct Progress {
    bar: Bar,
    shown: bool,
}

impl Progress {
    /// A bar for a run of `duration`; `quiet` hides it.
    pub fn new(duration: SimDuration, quiet: bool) -> Self {
        Progress {
            bar: Bar::new(
                duration.as_nanos() / 1_000_000,
                "{spinner} simulated {msg} [{bar:40}] {percent}% (eta {eta})",
                quiet,
            ),
            shown: false,
        }
    }

    /// The run reached simulated time `now`.
    pub fn update(&mut self, now: SimTime) {
        if !self.bar.enabled() {
            return;
        }
        // A short run ends before a bar would be worth reading.
        if !self.shown && self.bar.elapsed() > Duration::from_secs(1) {
            self.bar.show(None);
            self.shown = true;
        }
        self.bar.set(
            now.as_nanos() / 1_000_000,
            SimDuration(now.as_nanos()).to_string(),
        );
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
