//! Time-weighted averages of quantities that change in steps: busy servers, queue lengths,
//! concurrent executions, the busy vCPUs of one instance.
//!
//! One type serves every model, so every such figure is integrated the same way: the value
//! times the nanoseconds it held, summed in `f64` in the order the changes happen. The sums
//! feed `summary.json` and `timeseries.csv`, so their order and rounding are part of the
//! outputs: do not regroup them.

use crate::engine::time::SimTime;

/// Time-weighted average of a quantity that changes in steps, over the measured window (from
/// the end of the warm-up) and over intervals taken one after another.
#[derive(Clone, Debug, Default)]
pub struct TimeWeighted {
    value: f64,
    /// When `value` was set: the integrals below run up to here.
    since: SimTime,
    /// Integral of the value over the measured window so far, value·ns.
    window_area: f64,
    /// Integral of the value over the current interval so far, value·ns.
    interval_area: f64,
    interval_start: SimTime,
}

impl TimeWeighted {
    /// Starts at `value` at time zero, with the first interval.
    pub fn new(value: f64) -> Self {
        TimeWeighted::starting_at(SimTime::ZERO, value)
    }

    /// Starts at `value` at `now`, with the first interval (for something that appears during
    /// the run, such as an instance). Its window mean counts the time before as zero.
    pub fn starting_at(now: SimTime, value: f64) -> Self {
        TimeWeighted {
            value,
            since: now,
            interval_start: now,
            ..Default::default()
        }
    }

    /// Integrates the value up to `now`; a `now` not after the last change adds nothing.
    #[inline]
    fn advance(&mut self, now: SimTime, warmup_end: SimTime) {
        if now <= self.since {
            return;
        }
        let elapsed = (now - self.since).as_nanos() as f64;
        self.interval_area += self.value * elapsed;
        if now > warmup_end {
            let from = self.since.max(warmup_end);
            self.window_area += self.value * (now - from).as_nanos() as f64;
        }
        self.since = now;
    }

    /// The quantity changes to `value` at `now`; the measured window starts at `warmup_end`.
    #[inline]
    pub fn set(&mut self, now: SimTime, warmup_end: SimTime, value: f64) {
        self.advance(now, warmup_end);
        self.value = value;
    }

    /// The current value.
    #[inline]
    pub fn value(&self) -> f64 {
        self.value
    }

    /// Mean over the interval since the last take, which ends at `now` (the current value when
    /// that interval is empty); starts a new interval.
    pub fn take_interval_mean(&mut self, now: SimTime, warmup_end: SimTime) -> f64 {
        self.advance(now, warmup_end);
        let span = (now - self.interval_start).as_nanos() as f64;
        let mean = if span > 0.0 {
            self.interval_area / span
        } else {
            self.value
        };
        self.interval_area = 0.0;
        self.interval_start = now;
        mean
    }

    /// The interval's mean as a share of `capacity` (busy vCPUs of `capacity` vCPUs → CPU
    /// utilisation, 0..=1), 0 when the interval is empty; starts a new interval at `now`.
    ///
    /// Computed as area / (span · capacity), not as [`take_interval_mean`] / capacity: the two
    /// round differently, and instance CPU utilisation has always been the first. `now` may be
    /// before the interval's start (a group closing a metric period a nanosecond in the past
    /// for an instance added since): the interval is then empty.
    ///
    /// [`take_interval_mean`]: TimeWeighted::take_interval_mean
    pub fn take_interval_share(&mut self, now: SimTime, warmup_end: SimTime, capacity: f64) -> f64 {
        self.advance(now, warmup_end);
        let span = now.saturating_since(self.interval_start).as_nanos() as f64;
        let area = std::mem::take(&mut self.interval_area);
        self.interval_start = now;
        if span > 0.0 {
            area / (span * capacity)
        } else {
            0.0
        }
    }

    /// Mean over the measured window, from `warmup_end` up to `end` (the current value when the
    /// window is empty).
    pub fn window_mean(&self, end: SimTime, warmup_end: SimTime) -> f64 {
        let mut copy = self.clone();
        copy.advance(end, warmup_end);
        let span = end.saturating_since(warmup_end).as_nanos() as f64;
        if span > 0.0 {
            copy.window_area / span
        } else {
            copy.value
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> SimTime {
        SimTime(s * 1_000_000_000)
    }

    #[test]
    fn window_mean_splits_at_warmup() {
        let warm = SimTime(100);
        let mut tw = TimeWeighted::new(0.0);
        tw.set(SimTime(50), warm, 2.0); // 0 over [0,50)
        tw.set(SimTime(150), warm, 4.0); // 2 over [50,150)
        // window [100, 200): 2 over [100,150), 4 over [150,200) -> mean 3
        assert!((tw.window_mean(SimTime(200), warm) - 3.0).abs() < 1e-12);
        // whole interval [0, 200): (0*50 + 2*100 + 4*50)/200 = 2
        assert!((tw.take_interval_mean(SimTime(200), warm) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn intervals_weight_by_time_and_carry_the_value_on() {
        let mut busy = TimeWeighted::new(0.0);
        busy.set(secs(15), SimTime::ZERO, 2.0); // 0 for 15 s
        busy.set(secs(45), SimTime::ZERO, 1.0); // 2 for 30 s, then 1 for 15 s
        let mean = busy.take_interval_mean(secs(60), SimTime::ZERO);
        assert_eq!(mean, (2.0 * 30.0 + 15.0) / 60.0);
        assert_eq!(busy.value(), 1.0);
        assert_eq!(busy.take_interval_mean(secs(120), SimTime::ZERO), 1.0);
        // An empty interval has the current value as mean, and no share.
        assert_eq!(busy.take_interval_mean(secs(120), SimTime::ZERO), 1.0);
        assert_eq!(busy.take_interval_share(secs(120), SimTime::ZERO, 4.0), 0.0);
    }

    #[test]
    fn started_mid_run_it_shares_over_its_own_time() {
        // 4 of 8 vCPUs busy from 30 s, none from 50 s: over [30, 60) that is 80 / 240.
        let mut busy = TimeWeighted::starting_at(secs(30), 4.0);
        busy.set(secs(50), SimTime::ZERO, 0.0);
        let share = busy.take_interval_share(secs(60), SimTime::ZERO, 8.0);
        assert_eq!(share, 80e9 / (30e9 * 8.0));
        // A take a little before its start (a period closed in the past) is empty, and the
        // next interval runs from that take.
        let mut late = TimeWeighted::starting_at(secs(60), 2.0);
        assert_eq!(late.take_interval_share(secs(59), SimTime::ZERO, 8.0), 0.0);
        assert_eq!(
            late.take_interval_share(secs(61), SimTime::ZERO, 8.0),
            2e9 / (2e9 * 8.0)
        );
    }
}
