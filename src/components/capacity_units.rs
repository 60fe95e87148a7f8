//! What a load balancer is billed (`alb`: LCU, `nlb`: NLCU, prices from `models/prices.toml`):
//! each hour it runs, plus its capacity units, hour by hour. AWS bills an hour the units of
//! the largest of its dimensions that hour (new connections per second, active connections,
//! GB processed, rule evaluations per second), so the meter keeps one clock hour at a time,
//! counted from the start of the measured window, and adds its units when the hour is over
//! (memory stays flat however long the run).
//!
//! The dimensions, from what the model knows:
//! - new connections: the requests that open a client connection (`Connection::opens`): every
//!   request when the workload has no `connections` pool (one connection per request);
//! - active connections: the mean over the hour of what the load balancer holds open (the
//!   caller says what that is: requests in flight for the ALB, flows for the NLB);
//! - processed bytes: each request's `item_kb` once (the payload, whichever way it goes; the
//!   model has no separate response size), KB of 1024 bytes, GB of 1024 × 1024 KB;
//! - rule evaluations: none (listener rules are not modelled; AWS does not bill the first 10
//!   rules of a request).
//!
//! An hour of `h` seconds (the last one may be partial) uses `max(new / (per_s × 3600),
//! connection_seconds / (active × 3600), GB / per_hour)` unit-hours: the unit rate of the
//! largest dimension times `h / 3600`, which leaves `h` out.

use crate::defaults::CapacityUnit;
use crate::engine::time::SimTime;
use crate::metrics::cost::{Bill, dollars, figure};

const NS_PER_HOUR: u64 = 3_600_000_000_000;
const NS_PER_SECOND: f64 = 1e9;
const KB_PER_GB: f64 = 1024.0 * 1024.0;

/// The dimension that set an hour's units.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Dimension {
    NewConnections,
    ActiveConnections,
    ProcessedBytes,
}

/// The usage of one hour (or of the whole window).
#[derive(Copy, Clone, Debug, Default)]
struct Usage {
    new_connections: u64,
    kb: f64,
    /// Active connections integrated over time (connection-seconds).
    connection_seconds: f64,
}

/// A load balancer's billed usage, hour by hour.
#[derive(Clone, Debug)]
pub struct CapacityMeter {
    unit: CapacityUnit,
    window_start: u64,
    hour_start: u64,
    hour: Usage,
    /// Connections open now, and since when (ns) they are integrated.
    active: u64,
    active_since: u64,
    /// Closed hours: their unit-hours, how many each dimension set, and their usage.
    unit_hours: f64,
    set_by: [u32; 3],
    total: Usage,
    /// Payload crossing availability zones (KB).
    cross_az_kb: f64,
}

/// What the meter measured over the window.
#[derive(Copy, Clone, Debug)]
pub struct Metered {
    unit_hours: f64,
    set_by: [u32; 3],
    total: Usage,
    cross_az_kb: f64,
    window_s: f64,
}

impl CapacityMeter {
    /// A meter of `unit`s from `window_start` (the end of the warm-up).
    pub fn new(unit: CapacityUnit, window_start: SimTime) -> CapacityMeter {
        let start = window_start.as_nanos();
        CapacityMeter {
            unit,
            window_start: start,
            hour_start: start,
            hour: Usage::default(),
            active: 0,
            active_since: start,
            unit_hours: 0.0,
            set_by: [0; 3],
            total: Usage::default(),
            cross_az_kb: 0.0,
        }
    }

    /// Closes every hour over by `now` (ns).
    fn roll(&mut self, now: u64) {
        while now >= self.hour_start + NS_PER_HOUR {
            self.close(self.hour_start + NS_PER_HOUR);
        }
    }

    /// Closes the hour at `end` (ns): its units join the totals.
    fn close(&mut self, end: u64) {
        self.hour.connection_seconds +=
            self.active as f64 * (end - self.active_since) as f64 / NS_PER_SECOND;
        self.active_since = end;
        let h = &self.hour;
        let candidates = [
            (
                Dimension::NewConnections,
                h.new_connections as f64 / (self.unit.new_connections_per_s * 3600.0),
            ),
            (
                Dimension::ActiveConnections,
                h.connection_seconds / (self.unit.active_connections * 3600.0),
            ),
            (
                Dimension::ProcessedBytes,
                h.kb / KB_PER_GB / self.unit.processed_gb_per_hour,
            ),
        ];
        let (dimension, units) =
            candidates
                .into_iter()
                .fold((Dimension::NewConnections, 0.0), |best, c| {
                    if c.1 > best.1 { c } else { best }
                });
        if units > 0.0 {
            self.set_by[dimension as usize] += 1;
        }
        self.unit_hours += units;
        self.total.new_connections += h.new_connections;
        self.total.kb += h.kb;
        self.total.connection_seconds += h.connection_seconds;
        self.hour = Usage::default();
        self.hour_start = end;
    }

    /// The meter at `now` if it is in the window, its hour current.
    fn at(&mut self, now: SimTime) -> Option<&mut Usage> {
        let now = now.as_nanos();
        if now < self.window_start {
            return None;
        }
        self.roll(now);
        Some(&mut self.hour)
    }

    /// A request arrived at `now` carrying `item_kb`; `opens` when it opens a connection.
    pub fn request(&mut self, now: SimTime, item_kb: f32, opens: bool) {
        if let Some(hour) = self.at(now) {
            hour.kb += f64::from(item_kb.max(0.0));
            hour.new_connections += u64::from(opens);
        }
    }

    /// A request carrying `item_kb` crossed from one availability zone to another at `now`.
    pub fn cross_az(&mut self, now: SimTime, item_kb: f32) {
        if self.at(now).is_some() {
            self.cross_az_kb += f64::from(item_kb.max(0.0));
        }
    }

    /// The load balancer holds `count` connections open from `now` on (call it after every
    /// change; calls without a change cost nothing but the call).
    pub fn set_active(&mut self, now: SimTime, count: u64) {
        if count == self.active {
            return;
        }
        let now_ns = now.as_nanos();
        if now_ns > self.window_start {
            self.roll(now_ns);
            self.hour.connection_seconds +=
                self.active as f64 * (now_ns - self.active_since) as f64 / NS_PER_SECOND;
            self.active_since = now_ns;
        }
        self.active = count;
    }

    /// What was measured from the window's start to `end`.
    pub fn metered(&self, end: SimTime) -> Metered {
        let mut m = self.clone();
        let end = end.as_nanos().max(m.window_start);
        m.roll(end);
        if end > m.hour_start {
            m.close(end);
        }
        Metered {
            unit_hours: m.unit_hours,
            set_by: m.set_by,
            total: m.total,
            cross_az_kb: m.cross_az_kb,
            window_s: (end - m.window_start) as f64 / NS_PER_SECOND,
        }
    }
}

impl Metered {
    /// Unit-hours used.
    pub fn unit_hours(&self) -> f64 {
        self.unit_hours
    }

    /// GB that crossed availability zones.
    pub fn cross_az_gb(&self) -> f64 {
        self.cross_az_kb / KB_PER_GB
    }

    /// The bill: the hours the load balancer ran (`usd_per_hour`, prorated to the window),
    /// and its `unit` (`LCU`) hours at `usd_per_unit_hour`.
    pub fn bill(&self, usd_per_hour: f64, unit: &str, usd_per_unit_hour: f64) -> Bill {
        let hours = self.window_s / 3600.0;
        let mean_active = if self.window_s > 0.0 {
            self.total.connection_seconds / self.window_s
        } else {
            0.0
        };
        let [new, active, bytes] = self.set_by;
        Bill::default()
            .charge(
                hours,
                "hours",
                usd_per_hour,
                format!("{} h × {}/h", figure(hours, 6), dollars(usd_per_hour)),
            )
            .charge(
                self.unit_hours,
                &format!("{unit}-hours"),
                usd_per_unit_hour,
                format!(
                    "{} {unit}-hours × {} (each hour the largest dimension: new connections \
                     in {new} h, active connections in {active} h, processed bytes in {bytes} \
                     h; {} new connections, {} mean active, {} GB processed)",
                    figure(self.unit_hours, 6),
                    dollars(usd_per_unit_hour),
                    self.total.new_connections,
                    figure(mean_active, 4),
                    figure(self.total.kb / KB_PER_GB, 6),
                ),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::time::SimDuration;

    fn lcu() -> CapacityUnit {
        CapacityUnit {
            new_connections_per_s: 25.0,
            active_connections: 3000.0,
            processed_gb_per_hour: 1.0,
            rule_evaluations_per_s: Some(1000.0),
        }
    }

    fn at(s: f64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs_f64(s)
    }

    /// Each hour takes its own largest dimension: an hour of connections then an hour of bytes
    /// bill both, not the largest of the sums.
    #[test]
    fn each_hour_bills_its_own_largest_dimension() {
        let mut m = CapacityMeter::new(lcu(), at(0.0));
        // Hour 1: 90 000 one-KB connections (1 LCU of new connections, 0.086 GB).
        for i in 0..90_000 {
            m.request(at(i as f64 * 0.04), 1.0, true);
        }
        // Hour 2: 2 GB over 2 requests on no new connection.
        m.request(at(3700.0), 1024.0 * 1024.0, false);
        m.request(at(3800.0), 1024.0 * 1024.0, false);
        let metered = m.metered(at(7200.0));
        assert!((metered.unit_hours() - 3.0).abs() < 1e-9, "{metered:?}");
        assert_eq!(metered.set_by, [1, 0, 1]);
    }

    #[test]
    fn active_connections_integrate_over_time_and_nothing_counts_before_the_window() {
        let mut m = CapacityMeter::new(lcu(), at(100.0));
        m.set_active(at(50.0), 6000);
        m.request(at(60.0), 1e6, true);
        // 6000 connections for the window's hour: 2 LCU.
        let metered = m.metered(at(3700.0));
        assert!((metered.unit_hours() - 2.0).abs() < 1e-9, "{metered:?}");
        assert_eq!(metered.total.new_connections, 0);
        // Half an hour of it: 1 LCU-hour.
        let half = m.metered(at(1900.0));
        assert!((half.unit_hours() - 1.0).abs() < 1e-9, "{half:?}");
    }
}
