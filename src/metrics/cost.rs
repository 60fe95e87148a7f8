//! A component's bill for the measured window: each usage, its price and the amount, with the
//! arithmetic in words so a reader can redo it.

use serde::Serialize;

use crate::engine::time::SimTime;

/// One line of a bill: a usage times its price.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Charge {
    /// What was used, in `unit`s.
    pub usage: f64,
    /// The unit AWS bills (`instance-hours`, `requests`, `GB-seconds`).
    pub unit: String,
    /// The price of one unit (after any discount).
    pub usd_per_unit: f64,
    /// `usage × usd_per_unit`.
    pub usd: f64,
    /// The arithmetic in words (`3 × c7g.large × 1.02 h × $0.0725/h`).
    pub basis: String,
}

/// What one component costs in the measured window.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Bill {
    /// Its lines.
    pub charges: Vec<Charge>,
}

impl Bill {
    /// Adds a line: `usage` `unit`s at `usd_per_unit` each, said as `basis`.
    pub fn charge(mut self, usage: f64, unit: &str, usd_per_unit: f64, basis: String) -> Bill {
        self.charges.push(Charge {
            usage,
            unit: unit.to_string(),
            usd_per_unit,
            usd: usage * usd_per_unit,
            basis,
        });
        self
    }

    /// The amount of every line.
    pub fn usd(&self) -> f64 {
        self.charges.iter().map(|c| c.usd).sum()
    }

    /// Every line's basis, joined by ` + `.
    pub fn basis(&self) -> String {
        let parts: Vec<&str> = self.charges.iter().map(|c| c.basis.as_str()).collect();
        parts.join(" + ")
    }
}

/// The part of the interval from `from` to `to` that falls in the measured window (from
/// `warmup_end` on), in ns.
pub fn window_ns(from: SimTime, to: SimTime, warmup_end: SimTime) -> u64 {
    to.saturating_since(from.max(warmup_end)).as_nanos()
}

/// A spend of `usd` over the interval from `from` to `to` as a rate per hour (0 for an empty
/// interval): a time-series row's spend column.
pub fn usd_per_hour(usd: f64, from: SimTime, to: SimTime) -> f64 {
    let ns = to.saturating_since(from).as_nanos();
    if ns == 0 {
        0.0
    } else {
        usd / (ns as f64 / NS_PER_HOUR)
    }
}

/// Nanoseconds in an hour.
pub const NS_PER_HOUR: f64 = 3_600e9;

/// A number for a basis: up to `digits` significant digits, without trailing zeros
/// (`1.02`, `0.0725`, `3600`).
pub fn figure(x: f64, digits: usize) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let magnitude = x.abs().log10().floor() as i64;
    let decimals = (digits as i64 - 1 - magnitude).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// An amount for a table: cents from a dollar up (`$12.34`), 3 significant digits below
/// (`$0.0123`), a minus sign before the dollar sign (`-$0.5`).
pub fn amount(x: f64) -> String {
    let sign = if x < 0.0 { "-" } else { "" };
    let x = x.abs();
    if x >= 1.0 || x == 0.0 {
        format!("{sign}${x:.2}")
    } else {
        format!("{sign}${}", figure(x, 3))
    }
}

/// A price for a basis: `$0.0725`, `$0.0000166667` (up to 6 significant digits).
pub fn dollars(x: f64) -> String {
    format!("${}", figure(x, 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_keep_significant_digits_and_drop_trailing_zeros() {
        assert_eq!(figure(1.0166666, 3), "1.02");
        assert_eq!(figure(0.0725, 4), "0.0725");
        assert_eq!(figure(3600.0, 4), "3600");
        assert_eq!(figure(0.5, 4), "0.5");
        assert_eq!(dollars(0.0000166667), "$0.0000166667");
        assert_eq!(dollars(0.2), "$0.2");
        assert_eq!(amount(12.345), "$12.35");
        assert_eq!(amount(0.0123456), "$0.0123");
        assert_eq!(amount(-0.5), "-$0.5");
        assert_eq!(amount(0.0), "$0.00");
    }

    #[test]
    fn spend_rates_cover_only_the_window() {
        let s = |x: u64| SimTime(x * 1_000_000_000);
        assert_eq!(window_ns(s(0), s(60), s(30)), 30_000_000_000);
        assert_eq!(window_ns(s(0), s(20), s(30)), 0);
        assert_eq!(window_ns(s(40), s(60), s(30)), 20_000_000_000);
        // $1 over 30 minutes is $2/h.
        assert_eq!(usd_per_hour(1.0, s(0), s(1800)), 2.0);
        assert_eq!(usd_per_hour(1.0, s(5), s(5)), 0.0);
    }

    #[test]
    fn a_bill_adds_its_lines() {
        let b = Bill::default()
            .charge(
                1000.0,
                "requests",
                2e-7,
                "1000 requests × $0.0000002".into(),
            )
            .charge(
                100.0,
                "GB-seconds",
                0.0000166667,
                "100 GB-s × $0.0000166667".into(),
            );
        assert!((b.usd() - (1000.0 * 2e-7 + 100.0 * 0.0000166667)).abs() < 1e-15);
        assert_eq!(
            b.basis(),
            "1000 requests × $0.0000002 + 100 GB-s × $0.0000166667"
        );
    }
}
