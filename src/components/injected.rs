//! Latency and error injection as a component applies it: a service-time multiplier and a
//! failure fraction, set by the `latency_injection` and `error_injection` faults' start and end
//! messages ([`FaultAction`]), and the failures it caused. A part the models use (the instance
//! pool, Lambda functions), so it lives with them; the injector that sends the messages is in
//! `faults`, which depends on the components, never the reverse.

use rand::Rng;

use crate::engine::rng::SimRng;
use crate::engine::time::SimDuration;
use crate::message::{FaultAction, PPM};
use crate::metrics::ComponentReport;

/// Latency and error injection on one component (a Lambda function, an instance pool): a
/// service-time multiplier and a failure fraction, and the failures counted.
#[derive(Clone, Debug)]
pub struct Injected {
    slowdown: f64,
    error_fraction: f64,
    injected_errors: u64,
    touched: bool,
    /// The component's `"faults"` sub-stream, made at the first draw: injected failures never
    /// move the component's own numbers, so runs with and without the fault stay comparable.
    rng: Option<SimRng>,
}

impl Default for Injected {
    fn default() -> Self {
        Injected {
            slowdown: 1.0,
            error_fraction: 0.0,
            injected_errors: 0,
            touched: false,
            rng: None,
        }
    }
}

impl Injected {
    /// Takes a fault's start or end into account (other actions do not concern it).
    pub fn apply(&mut self, action: FaultAction) {
        match action {
            FaultAction::Slowdown { factor_ppm } => self.slowdown = factor_ppm as f64 / PPM,
            FaultAction::Errors { fraction_ppm } => self.error_fraction = fraction_ppm as f64 / PPM,
            _ => return,
        }
        self.touched = true;
    }

    /// A service step's time under the current slowdown.
    pub fn stretch(&self, delay: SimDuration) -> SimDuration {
        if self.slowdown == 1.0 {
            delay
        } else {
            delay.mul_f64(self.slowdown)
        }
    }

    /// True when an arriving request must fail (a seeded draw, only while errors are
    /// injected); counted when `in_window`. `own` is the component's stream, from which the
    /// fault sub-stream is derived (it is not drawn from).
    pub fn fails(&mut self, in_window: bool, own: &SimRng) -> bool {
        if self.error_fraction <= 0.0 {
            return false;
        }
        let fraction = self.error_fraction;
        if self.rng(own).random::<f64>() < fraction {
            if in_window {
                self.injected_errors += 1;
            }
            true
        } else {
            false
        }
    }

    /// The component's fault sub-stream (`own` is the component's own stream, which is not
    /// drawn from): for every random choice a fault makes (which request fails, which instance
    /// crashes).
    pub fn rng(&mut self, own: &SimRng) -> &mut SimRng {
        self.rng
            .get_or_insert_with(|| crate::engine::rng::substream(own, "faults"))
    }

    /// Requests failed by injection in the measured window.
    pub fn injected_errors(&self) -> u64 {
        self.injected_errors
    }

    /// Adds `injected_errors` to a report once a fault touched the component.
    pub fn report(&self, report: ComponentReport) -> ComponentReport {
        if self.touched {
            report.figure("injected_errors", self.injected_errors)
        } else {
            report
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_effects_start_and_end() {
        let mut injected = Injected::default();
        let rng = crate::engine::rng::stream(1, "test");
        assert!(!injected.fails(true, &rng));
        injected.apply(FaultAction::Slowdown {
            factor_ppm: 2_500_000,
        });
        assert_eq!(
            injected.stretch(SimDuration::from_millis(10)),
            SimDuration::from_millis(25)
        );
        injected.apply(FaultAction::Errors {
            fraction_ppm: 1_000_000,
        });
        assert!(injected.fails(true, &rng));
        injected.apply(FaultAction::Errors { fraction_ppm: 0 });
        assert!(!injected.fails(true, &rng));
        assert_eq!(injected.injected_errors, 1);
    }
}
