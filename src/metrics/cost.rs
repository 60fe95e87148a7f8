//! A component's bill for the measured window: each usage, its price and the amount, with the
//! arithmetic in words so a reader can redo it.

use serde::Serialize;

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
