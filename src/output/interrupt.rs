//! Ctrl-C (SIGINT), SIGTERM and SIGHUP: the command stops cleanly. What it has half written is
//! removed, one line says what was kept, and the process exits with [`EXIT_INTERRUPTED`].
//!
//! One lock decides the order: the signal's thread takes it, cleans up, prints and exits while
//! holding it; the main thread holds it while it renames results into place ([`hold`]). So an
//! interrupt lands either before a result is in place (and the result is removed whole) or
//! after (and the result stays whole). Printing does not take the lock (a blocked pipe must not
//! block Ctrl-C); it asks [`interrupted`] and stays quiet once the signal came.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The exit code of an interrupted command (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// What an interrupt does now: clean up, and say what was kept.
type Cleanup = Box<dyn FnMut() -> String + Send>;

/// What an interrupt does at this moment; see [`hold`].
pub struct OnInterrupt(Option<Cleanup>);

impl OnInterrupt {
    /// From now on an interrupt runs `cleanup` and prints the line it returns.
    pub fn set(&mut self, cleanup: impl FnMut() -> String + Send + 'static) {
        self.0 = Some(Box::new(cleanup));
    }

    /// From now on an interrupt has nothing to clean up (the results are whole and in place).
    pub fn clear(&mut self) {
        self.0 = None;
    }
}

static STATE: Mutex<OnInterrupt> = Mutex::new(OnInterrupt(None));
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether an interrupt came: the command is stopping, and prints nothing more of its own.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

fn lock() -> MutexGuard<'static, OnInterrupt> {
    // A panic while holding the lock leaves the state as it was: still the right thing to do.
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `f` with the lock held: an interrupt waits until `f` returns, and `f` may change what
/// the interrupt will do.
pub fn hold<R>(f: impl FnOnce(&mut OnInterrupt) -> R) -> R {
    f(&mut lock())
}

/// Handles Ctrl-C, SIGTERM and SIGHUP from now on (the binary calls it first thing).
pub fn install() -> Result<(), ctrlc::Error> {
    ctrlc::set_handler(|| {
        INTERRUPTED.store(true, Ordering::SeqCst);
        let mut state = lock();
        let message = match state.0.as_mut() {
            Some(cleanup) => cleanup(),
            None => "awsim: interrupted".to_string(),
        };
        // A progress bar may own the current line.
        let newline = if std::io::stderr().is_terminal() {
            "\n"
        } else {
            ""
        };
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{newline}{}", super::terminal::escape(&message));
        let _ = stderr.flush();
        std::process::exit(EXIT_INTERRUPTED.into());
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cleanup_runs_only_while_set() {
        let mut ran = false;
        hold(|on| {
            on.set(|| "kept nothing".into());
            ran = on.0.as_mut().map(|c| c()).as_deref() == Some("kept nothing");
            on.clear();
            assert!(on.0.is_none());
        });
        assert!(ran);
    }
}
