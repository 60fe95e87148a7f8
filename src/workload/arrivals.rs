//! Open-loop arrival times: Poisson or evenly spaced, at a fixed rate or one that follows a
//! piecewise schedule (steps, or linear ramps between points).
//!
//! Both processes share one exact method: the *integrated rate* Λ(t) = ∫ λ(s) ds counts expected
//! arrivals, and the next arrival after `t` is where Λ has grown by one unit of "work" E.
//! E = 1 gives evenly spaced arrivals (constant process); E ~ Exp(1) gives a (non-homogeneous)
//! Poisson process exactly, by time-change, with no thinning and no rejected draws. On a linear
//! ramp the inversion solves a quadratic in closed form.

use rand::Rng;
use rand_distr::{Distribution, Exp1};

use crate::engine::time::{NANOS_PER_SEC, SimTime};

/// One point of a rate schedule: from `at_ns` on, the rate is `per_second` (or, with a ramp,
/// the rate moves linearly from this point's value to the next point's).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct RatePoint {
    /// When the point applies, ns since the start.
    pub at_ns: u64,
    /// Arrivals per second at that time.
    pub per_second: f64,
}

/// Which spacing the arrivals follow.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Spacing {
    /// Exponential gaps (Poisson process).
    Poisson,
    /// Evenly spaced in integrated rate (deterministic).
    Constant,
}

/// An arrival-time generator for one workload.
#[derive(Clone, Debug)]
pub struct Arrivals {
    spacing: Spacing,
    /// Sorted by time; the first point is at 0 (the rate before a later first point is zero).
    points: Vec<RatePoint>,
    ramp: bool,
    /// Exact (unrounded) time of the last arrival, in ns: evenly spaced arrivals advance from
    /// it, so rounding to whole nanoseconds never accumulates.
    last_ns: f64,
    /// `last_ns` rounded to whole ns (kept: rounding is a library call on baseline x86-64).
    last_rounded: u64,
}

impl Arrivals {
    /// Arrivals at a fixed rate.
    pub fn fixed(spacing: Spacing, per_second: f64) -> Self {
        Arrivals {
            spacing,
            points: vec![RatePoint {
                at_ns: 0,
                per_second,
            }],
            ramp: false,
            last_ns: 0.0,
            last_rounded: 0,
        }
    }

    /// Arrivals that follow a schedule. `points` must be sorted by strictly increasing time (the
    /// scenario loader checks it); before the first point the rate is zero, after the last it
    /// stays at the last point's rate.
    pub fn scheduled(spacing: Spacing, mut points: Vec<RatePoint>, ramp: bool) -> Self {
        if points.first().is_none_or(|p| p.at_ns > 0) {
            points.insert(
                0,
                RatePoint {
                    at_ns: 0,
                    per_second: 0.0,
                },
            );
        }
        Arrivals {
            spacing,
            points,
            ramp,
            last_ns: 0.0,
            last_rounded: 0,
        }
    }

    /// The rate (per second) at time `t_ns`.
    pub fn rate_at(&self, t_ns: u64) -> f64 {
        let i = self.segment(t_ns);
        let (rate, slope) = self.segment_line(i);
        rate + slope * (t_ns - self.points[i].at_ns) as f64
    }

    /// Index of the segment that contains `t_ns`.
    fn segment(&self, t_ns: u64) -> usize {
        self.points
            .partition_point(|p| p.at_ns <= t_ns)
            .saturating_sub(1)
    }

    /// The rate at the start of segment `i` (per second) and its slope (per second per ns).
    fn segment_line(&self, i: usize) -> (f64, f64) {
        let p = self.points[i];
        match self.points.get(i + 1) {
            Some(next) if self.ramp => {
                let slope = (next.per_second - p.per_second) / (next.at_ns - p.at_ns) as f64;
                (p.per_second, slope)
            }
            _ => (p.per_second, 0.0),
        }
    }

    /// The next arrival, or `None` if the rate never becomes positive again. Arrivals come
    /// out in order, strictly increasing.
    pub fn next<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Option<SimTime> {
        let work: f64 = match self.spacing {
            Spacing::Poisson => Exp1.sample(rng),
            Spacing::Constant => 1.0,
        };
        let exact = self.advance(self.last_ns, work)?;
        let previous = self.last_rounded;
        let rounded = round_ns(exact);
        (self.last_ns, self.last_rounded) = (exact, rounded);
        // Two arrivals never share a nanosecond, so each one is a distinct event in order.
        Some(SimTime(rounded.max(previous + 1)))
    }

    /// Where the integrated rate from `t_ns` reaches `work` (expected arrivals), in exact ns.
    fn advance(&self, t_ns: f64, mut work: f64) -> Option<f64> {
        if let [only] = self.points[..] {
            // A fixed rate: the general case below with slope 0, whose 2w / (a + sqrt(a²)) is
            // w / a to the last bit (sqrt(a²) = a exactly in binary floating point, and halving
            // both sides of a division is exact), at a fraction of the cost.
            let a = only.per_second * (1.0 / NANOS_PER_SEC as f64);
            if a > 0.0 {
                let hit = t_ns + work / a;
                return (hit < u64::MAX as f64 / 2.0).then_some(hit);
            }
            return None;
        }
        let mut t_ns = t_ns;
        let per_ns = 1.0 / NANOS_PER_SEC as f64;
        let mut i = self.segment(t_ns as u64);
        loop {
            let (start_rate, slope) = self.segment_line(i);
            let end_ns = self.points.get(i + 1).map(|p| p.at_ns as f64);
            // Rate (per ns) at t and its slope (per ns²) within the segment.
            let a = (start_rate + slope * (t_ns - self.points[i].at_ns as f64)) * per_ns;
            let b = slope * per_ns;
            // Solve a·x + b·x²/2 = work for x >= 0 (rationalised form, stable as b → 0).
            let disc = a * a + 2.0 * b * work;
            if disc >= 0.0 && a + disc.sqrt() > 0.0 {
                let hit = t_ns + 2.0 * work / (a + disc.sqrt());
                if end_ns.is_none_or(|end| hit < end) {
                    // Beyond u64 nanoseconds (584 years) nothing will ever arrive.
                    return (hit < u64::MAX as f64 / 2.0).then_some(hit);
                }
            }
            let end = end_ns?;
            let x = end - t_ns;
            work -= a * x + b * x * x / 2.0;
            t_ns = end;
            i += 1;
        }
    }
}

/// `exact.round() as u64` for a time in `[0, 2^63)` ns, without the library call `f64::round`
/// is on baseline x86-64 (about 45 instructions per arrival): the truncation is exact, so is
/// the fraction left (`exact` and its integer part are within 1 of each other, below 2^53,
/// or equal above), and a fraction of one half rounds up as `round` rounds it, away from zero.
#[inline]
fn round_ns(exact: f64) -> u64 {
    let whole = exact as u64;
    if exact - whole as f64 >= 0.5 {
        whole + 1
    } else {
        whole
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::stream;

    fn count_until(arrivals: &Arrivals, end_s: f64, seed: u64) -> u64 {
        let mut arrivals = arrivals.clone();
        let mut rng = stream(seed, "test");
        let end = SimTime((end_s * 1e9) as u64);
        let mut n = 0;
        let mut last = SimTime::ZERO;
        while let Some(next) = arrivals.next(&mut rng) {
            assert!(next > last, "arrivals must strictly increase");
            if next >= end {
                break;
            }
            n += 1;
            last = next;
        }
        n
    }

    #[test]
    fn rounding_to_whole_nanoseconds_is_f64_round() {
        let mut rng = stream(3, "round");
        let mut values = vec![
            0.0,
            0.49999999999999994,
            0.5,
            1.5,
            2.5,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            9_007_199_254_740_993.0,
            u64::MAX as f64 / 2.0 - 4096.0,
        ];
        for _ in 0..200_000 {
            let scale = 10f64.powf(rng.random_range(0.0..18.5));
            values.push(rng.random::<f64>() * scale);
            values.push((rng.random_range(0..1u64 << 53) as f64) + 0.5);
        }
        for x in values {
            let x = x.min(u64::MAX as f64 / 2.0);
            assert_eq!(round_ns(x), x.round() as u64, "{x}");
            let next = f64::from_bits(x.to_bits() + 1);
            assert_eq!(round_ns(next), next.round() as u64, "{next}");
        }
    }

    #[test]
    fn constant_spacing_is_exact() {
        let mut a = Arrivals::fixed(Spacing::Constant, 4.0);
        let mut rng = stream(1, "x");
        assert_eq!(a.next(&mut rng), Some(SimTime(250_000_000)));
        assert_eq!(a.next(&mut rng), Some(SimTime(500_000_000)));
        assert_eq!(
            count_until(&Arrivals::fixed(Spacing::Constant, 4.0), 10.0, 1),
            39
        );
        // 1/30 s is not a whole number of ns; rounding must not accumulate.
        assert_eq!(
            count_until(&Arrivals::fixed(Spacing::Constant, 30.0), 10.0, 1),
            299
        );
    }

    #[test]
    fn poisson_count_matches_rate() {
        // 100/s over 1000 s: mean 100 000, sd 316; allow 5 sd.
        let a = Arrivals::fixed(Spacing::Poisson, 100.0);
        let n = count_until(&a, 1000.0, 7) as f64;
        assert!((n - 100_000.0).abs() < 5.0 * 316.3, "{n}");
    }

    #[test]
    fn piecewise_schedule_counts_each_step() {
        let points = vec![
            RatePoint {
                at_ns: 0,
                per_second: 10.0,
            },
            RatePoint {
                at_ns: 100 * NANOS_PER_SEC,
                per_second: 0.0,
            },
            RatePoint {
                at_ns: 200 * NANOS_PER_SEC,
                per_second: 50.0,
            },
        ];
        let a = Arrivals::scheduled(Spacing::Constant, points, false);
        // 10/s for 100 s, nothing for 100 s, 50/s for 100 s (evenly spaced; edges exclusive).
        assert_eq!(count_until(&a, 300.0, 1), 999 + 5000);
        assert_eq!(a.rate_at(150 * NANOS_PER_SEC), 0.0);
    }

    #[test]
    fn linear_ramp_integrates_to_the_trapezoid() {
        // 0 -> 200/s over 100 s, then flat: expect 10 000 arrivals in the ramp.
        let points = vec![
            RatePoint {
                at_ns: 0,
                per_second: 0.0,
            },
            RatePoint {
                at_ns: 100 * NANOS_PER_SEC,
                per_second: 200.0,
            },
        ];
        let a = Arrivals::scheduled(Spacing::Constant, points.clone(), true);
        assert_eq!(count_until(&a, 100.0, 1), 9_999);
        assert!((a.rate_at(50 * NANOS_PER_SEC) - 100.0).abs() < 1e-9);
        // Poisson on the same ramp: mean 10 000, sd 100.
        let p = Arrivals::scheduled(Spacing::Poisson, points, true);
        let n = count_until(&p, 100.0, 3) as f64;
        assert!((n - 10_000.0).abs() < 500.0, "{n}");
    }

    #[test]
    fn a_rate_that_stays_zero_ends_the_arrivals() {
        let points = vec![RatePoint {
            at_ns: 0,
            per_second: 0.0,
        }];
        let mut a = Arrivals::scheduled(Spacing::Poisson, points, false);
        assert_eq!(a.next(&mut stream(1, "x")), None);
    }
}
