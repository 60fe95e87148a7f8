//! Token buckets: a level refilled continuously at a fixed rate up to a capacity, from which
//! requests take. API Gateway throttling, DynamoDB capacity (with its burst) and the rate at which
//! a Lambda function may add environments are all token buckets.
//!
//! One bucket, [`TokenBucket`], with one refill rule, counts its contents in one of two ways. The
//! two are kept because each model's results depend on its own arithmetic, and results must not
//! move:
//! - [`ExactBucket`] (API Gateway) counts in integer units of 10⁻¹⁵ token: a rate of `r`
//!   tokens per second refills exactly `r`·10⁶ units per nanosecond, so nothing drifts over
//!   repeated refills and a token becomes whole at exactly the nanosecond theory says. It holds
//!   and takes whole tokens.
//! - [`FloatBucket`] (DynamoDB, Lambda) counts in `f64` tokens, so a request may take a
//!   fraction (DynamoDB's half read unit); each refill adds elapsed time × rate and rounds.

use crate::engine::time::{NANOS_PER_SEC, SimDuration, SimTime};
use crate::units::Rate;

/// How a bucket counts its contents: `u128` units of 10⁻¹⁵ token, or `f64` tokens.
pub trait Level: Copy + PartialOrd + std::fmt::Debug {
    /// `self` after `elapsed_ns` nanoseconds of refill at `per_ns` a nanosecond, capped at
    /// `capacity`.
    fn refilled(self, elapsed_ns: u64, per_ns: Self, capacity: Self) -> Self;
    /// `self` less `amount`.
    fn less(self, amount: Self) -> Self;
}

impl Level for u128 {
    fn refilled(self, elapsed_ns: u64, per_ns: u128, capacity: u128) -> u128 {
        // Saturating: a bucket idle for a very long time at a very high rate just fills.
        self.saturating_add((elapsed_ns as u128).saturating_mul(per_ns))
            .min(capacity)
    }

    fn less(self, amount: u128) -> u128 {
        self - amount
    }
}

impl Level for f64 {
    fn refilled(self, elapsed_ns: u64, per_ns: f64, capacity: f64) -> f64 {
        (self + elapsed_ns as f64 * per_ns).min(capacity)
    }

    fn less(self, amount: f64) -> f64 {
        self - amount
    }
}

/// A token bucket refilled continuously: `capacity` at most, `per_ns` a nanosecond. It starts
/// full.
#[derive(Clone, Debug)]
pub struct TokenBucket<L> {
    capacity: L,
    level: L,
    per_ns: L,
    /// The last refill.
    last: SimTime,
}

/// A bucket counted exactly, in integer units (see the module doc).
pub type ExactBucket = TokenBucket<u128>;

/// A bucket counted in `f64` tokens (see the module doc).
pub type FloatBucket = TokenBucket<f64>;

impl<L: Level> TokenBucket<L> {
    fn full(capacity: L, per_ns: L) -> Self {
        TokenBucket {
            capacity,
            level: capacity,
            per_ns,
            last: SimTime::ZERO,
        }
    }

    /// Adds what has accrued since the last refill, up to the capacity.
    pub fn refill(&mut self, now: SimTime) {
        let elapsed = now.saturating_since(self.last).as_nanos();
        self.level = self.level.refilled(elapsed, self.per_ns, self.capacity);
        self.last = self.last.max(now);
    }

    /// True when `amount` is there at `now` (refilling first).
    pub fn has(&mut self, now: SimTime, amount: L) -> bool {
        self.refill(now);
        self.level >= amount
    }

    /// Takes `amount`; call only when [`TokenBucket::has`] said yes at the same time.
    pub fn take(&mut self, amount: L) {
        self.level = self.level.less(amount);
    }

    /// Takes `amount` if it is there at `now`; true when it did.
    pub fn try_take(&mut self, now: SimTime, amount: L) -> bool {
        let ok = self.has(now, amount);
        if ok {
            self.take(amount);
        }
        ok
    }
}

/// Units of an [`ExactBucket`] in one token.
const UNITS_PER_TOKEN: u128 = 1_000_000_000_000_000;

impl ExactBucket {
    /// A full bucket of `burst` tokens refilled at `rate`. Rates are kept to the nearest 10⁻⁶
    /// token per second (exact for any rate written with up to six decimals per second, e.g.
    /// "800/s", "0.5/s", "3000/min"); a rate that rounds to nothing refills one unit a
    /// nanosecond.
    pub fn new(rate: Rate, burst: u32) -> Self {
        let capacity = burst as u128 * UNITS_PER_TOKEN;
        let per_ns = UNITS_PER_TOKEN as f64 / NANOS_PER_SEC as f64; // 10⁶ units per ns at 1/s
        TokenBucket::full(
            capacity,
            ((rate.per_second() * per_ns).round() as u128).max(1),
        )
    }

    /// True when a whole token is there at `now` (refilling first).
    pub fn has_token(&mut self, now: SimTime) -> bool {
        self.has(now, UNITS_PER_TOKEN)
    }

    /// Takes one token; call only after [`ExactBucket::has_token`] said yes at the same time.
    pub fn take_token(&mut self) {
        debug_assert!(
            self.level >= UNITS_PER_TOKEN,
            "took a token that is not there"
        );
        self.take(UNITS_PER_TOKEN);
    }

    /// Tokens in the bucket (whole and partial), as of the last refill.
    pub fn tokens(&self) -> f64 {
        self.level as f64 / UNITS_PER_TOKEN as f64
    }
}

impl FloatBucket {
    /// A full bucket of `tokens` refilled by `tokens` every `period` ("1000 new environments
    /// per 10 s").
    pub fn per_period(tokens: u32, period: SimDuration) -> Self {
        TokenBucket::full(
            tokens as f64,
            tokens as f64 / period.as_nanos().max(1) as f64,
        )
    }

    /// A full bucket refilled at `rate_per_s` tokens a second, holding `window` of them ("3000
    /// units per second, unused capacity retained for 300 s").
    pub fn per_second(rate_per_s: f64, window: SimDuration) -> Self {
        TokenBucket::full(rate_per_s * window.as_secs_f64(), rate_per_s / 1e9)
    }

    /// Changes the rate (and the capacity, `window` of the new rate) from `now` on; what accrued
    /// before is kept, up to the new capacity.
    pub fn set_rate(&mut self, now: SimTime, rate_per_s: f64, window: SimDuration) {
        self.refill(now);
        self.per_ns = rate_per_s / 1e9;
        self.capacity = rate_per_s * window.as_secs_f64();
        self.level = self.level.min(self.capacity);
    }

    /// Tokens in the bucket, as of the last refill.
    pub fn tokens(&self) -> f64 {
        self.level
    }

    /// The refill rate, in tokens per second.
    pub fn rate_per_s(&self) -> f64 {
        self.per_ns * 1e9
    }

    /// When the bucket will be full if nothing is taken: its last refill if it is full then,
    /// `SimTime::MAX` if it does not refill.
    pub fn full_at(&self) -> SimTime {
        if self.level >= self.capacity {
            return self.last;
        }
        if self.per_ns <= 0.0 {
            return SimTime::MAX;
        }
        // A float-to-integer `as` saturates: a bucket that fills in more than 584 years is
        // full at the end of time.
        let wait = ((self.capacity - self.level) / self.per_ns).ceil() as u64;
        SimTime(self.last.as_nanos().saturating_add(wait))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_nanos(n: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_nanos(n)
    }

    fn rate(per_second: f64) -> Rate {
        Rate::from_per_second(per_second)
    }

    #[test]
    fn an_exact_bucket_admits_its_burst_at_one_instant_then_refills_exactly() {
        let mut b = ExactBucket::new(rate(10.0), 3);
        let t0 = SimTime::ZERO + SimDuration::from_secs(5);
        let admitted = (0..5)
            .filter(|_| {
                let ok = b.has_token(t0);
                if ok {
                    b.take_token();
                }
                ok
            })
            .count();
        assert_eq!(admitted, 3);
        // One token every 100 ms: none a nanosecond early, one exactly on time.
        assert!(!b.has_token(t0 + SimDuration::from_nanos(99_999_999)));
        assert!(b.has_token(t0 + SimDuration::from_millis(100)));
    }

    #[test]
    fn an_exact_bucket_never_refills_past_its_burst() {
        let mut b = ExactBucket::new(rate(1000.0), 2);
        assert!(b.has_token(SimTime::ZERO + SimDuration::from_secs(3600)));
        assert_eq!(b.tokens(), 2.0);
    }

    #[test]
    fn an_exact_bucket_keeps_fractional_rates_exact() {
        // 0.1 per second, five times in a row: float sums would fall short of a whole token.
        let mut b = ExactBucket::new(rate(0.1), 1);
        assert!(b.has_token(SimTime::ZERO));
        b.take_token();
        for s in [10, 20, 30, 40, 50] {
            let at = SimTime::ZERO + SimDuration::from_secs(s);
            assert!(b.has_token(at), "a token at {s} s");
            b.take_token();
        }
    }

    #[test]
    fn a_float_bucket_admits_burst_plus_rate_times_time() {
        // 10/s with 300 s of burst: 3000 at once, then 10 per second.
        let mut b = FloatBucket::per_second(10.0, SimDuration::from_secs(300));
        let admitted = (0..5000).filter(|_| b.try_take(SimTime::ZERO, 1.0)).count();
        assert_eq!(admitted, 3000);
        let later = SimTime::ZERO + SimDuration::from_secs(60);
        let mut more = 0;
        while b.try_take(later, 1.0) {
            more += 1;
        }
        assert_eq!(more, 600);
    }

    #[test]
    fn a_float_bucket_refills_takes_fractions_and_caps_at_its_capacity() {
        // 2 tokens per 2³⁰ ns: 2⁻²⁹ a nanosecond, every figure below exact in binary.
        let period = SimDuration::from_nanos(1 << 30);
        let mut b = FloatBucket::per_period(2, period);
        assert!(b.try_take(SimTime::ZERO, 1.5));
        assert_eq!(b.tokens(), 0.5);
        assert!(!b.try_take(SimTime::ZERO, 1.0));
        // 2²⁸ ns later, half a token more: one in all.
        assert!(b.has(at_nanos(1 << 28), 1.0));
        assert_eq!(b.tokens(), 1.0);
        // A long idle time fills it to its capacity, no further.
        b.refill(at_nanos(1 << 40));
        assert_eq!(b.tokens(), 2.0);
        assert!(b.try_take(at_nanos(1 << 40), 2.0));
        assert_eq!(b.tokens(), 0.0);
    }

    #[test]
    fn a_float_bucket_changes_rate_and_keeps_what_fits() {
        let mut b = FloatBucket::per_second(8.0, SimDuration::from_secs(2));
        assert_eq!(b.tokens(), 16.0);
        b.set_rate(SimTime::ZERO, 2.0, SimDuration::from_secs(2));
        assert_eq!(b.tokens(), 4.0);
        assert_eq!(b.rate_per_s(), 2.0);
        b.set_rate(SimTime::ZERO, 4.0, SimDuration::from_secs(2));
        assert_eq!(b.tokens(), 4.0, "a higher rate does not add tokens at once");
    }
}
