//! Findings: what a reader of a run's report should know (a saturated fleet, a growing
//! backlog, messages dead-lettered), worded for people. The report (`crate::output`) gathers
//! the generic ones; each kind adds its own through `crate::components::Outputs`.

/// Mean utilisation above which servers are called saturated.
pub const SATURATED_UTILISATION: f64 = 0.95;

/// How serious a finding is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The results are wrong or the system did not cope.
    Warning,
    /// Worth a look.
    Note,
}

/// One finding about a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// How serious.
    pub severity: Severity,
    /// The workload or component it is about (empty for the whole run).
    pub subject: String,
    /// What was seen.
    pub text: String,
}

impl Finding {
    /// A finding about `subject`.
    pub fn new(severity: Severity, subject: &str, text: String) -> Finding {
        Finding {
            severity,
            subject: subject.to_string(),
            text,
        }
    }
}

/// A measure still growing at the end of the run (fitted over the last quarter of the measured
/// window).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Growth {
    /// Fitted value at the start of the tail.
    pub from: f64,
    /// The last value.
    pub to: f64,
    /// Length of the tail (s).
    pub span_s: f64,
    /// Fitted growth per second.
    pub slope: f64,
}

/// A share as a percentage with as many decimals as it needs: `12 %`, `1.5 %`, `0.012 %`.
pub fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p >= 10.0 {
        format!("{p:.0} %")
    } else if p >= 0.1 {
        format!("{p:.1} %")
    } else {
        format!("{p:.3} %")
    }
}

/// An integer with thin spaces between thousands: `231 084`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

/// A count that may be fractional (a fitted value), rounded and grouped.
pub fn whole(v: f64) -> String {
    if v < 0.0 {
        format!("-{}", group((-v).round() as u64))
    } else {
        group(v.round() as u64)
    }
}

/// `v` with exactly `decimals` decimals.
pub fn fixed(v: f64, decimals: usize) -> String {
    format!("{v:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(group(231_084), "231\u{202f}084");
        assert_eq!(group(999), "999");
        assert_eq!(whole(-1234.4), "-1\u{202f}234");
        assert_eq!(percent(0.5), "50 %");
        assert_eq!(percent(0.015), "1.5 %");
        assert_eq!(percent(0.00012), "0.012 %");
        assert_eq!(fixed(2.0 / 3.0, 2), "0.67");
    }
}
