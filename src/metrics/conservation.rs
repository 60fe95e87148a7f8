//! The end-of-run conservation check: every request that entered a component either ended
//! (completed, failed, throttled, timed out, dropped) or is still inside it.
//!
//! A violation is a bug in a model, never a property of the scenario: the run fails with a
//! message naming the component and the numbers.

use serde::Serialize;

use super::ComponentReport;

/// The result of the check, as summary.json shows it.
#[derive(Clone, Debug, Serialize)]
pub struct Conservation {
    /// True when every component balanced.
    pub ok: bool,
    /// Components and workloads checked.
    pub checked: usize,
    /// Requests created by all workloads over the whole run (warm-up included).
    pub created_total: u64,
    /// One line per imbalance.
    pub violations: Vec<String>,
}

/// Checks every report: whole-run `created = finished + in_flight`, and the window's derived
/// in-flight count cannot exceed what is really inside.
pub fn check<'a>(
    reports: impl IntoIterator<Item = (&'a str, &'a ComponentReport)>,
    workload_created: u64,
) -> Conservation {
    let mut violations = Vec::new();
    let mut checked = 0;
    for (name, report) in reports {
        checked += 1;
        let t = &report.total;
        if t.created != t.finished() + report.in_flight_now {
            violations.push(format!(
                "{name} ({}): created {} != completed {} + failed {} + throttled {} + timed out {} \
                 + dropped {} + in flight {}",
                report.kind,
                t.created,
                t.completed,
                t.failed,
                t.throttled,
                t.timed_out,
                t.dropped,
                report.in_flight_now
            ));
        }
        for ledger in &report.ledgers {
            if ledger.created != ledger.finished + ledger.inside {
                violations.push(format!(
                    "{name} ({}): {} created {} != finished {} + inside {}",
                    report.kind, ledger.name, ledger.created, ledger.finished, ledger.inside
                ));
            }
        }
        if report.requests.in_flight > report.in_flight_now {
            violations.push(format!(
                "{name} ({}): {} measured requests unaccounted for, but only {} inside",
                report.kind, report.requests.in_flight, report.in_flight_now
            ));
        }
    }
    Conservation {
        ok: violations.is_empty(),
        checked,
        created_total: workload_created,
        violations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Counts, LatencySummary};

    fn report(created: u64, completed: u64, inside: u64) -> ComponentReport {
        let total = Counts {
            created,
            completed,
            ..Counts::default()
        };
        ComponentReport {
            kind: "test",
            requests: total.into(),
            latency_ms: LatencySummary::default(),
            total,
            in_flight_now: inside,
            figures: Default::default(),
            ledgers: Vec::new(),
            bill: None,
        }
    }

    #[test]
    fn balanced_reports_pass() {
        let r = report(10, 7, 3);
        assert!(check([("a", &r)], 10).ok);
    }

    #[test]
    fn an_unbalanced_ledger_is_a_violation() {
        let mut r = report(10, 10, 0);
        r.ledgers.push(crate::metrics::Ledger {
            name: "async events",
            created: 5,
            finished: 3,
            inside: 1,
        });
        let c = check([("fn", &r)], 10);
        assert!(!c.ok);
        assert!(
            c.violations[0].contains("async events created 5"),
            "{:?}",
            c.violations
        );
    }

    #[test]
    fn a_lost_request_is_a_violation_naming_the_component() {
        let r = report(10, 7, 2);
        let c = check([("web", &r)], 10);
        assert!(!c.ok);
        assert!(
            c.violations[0].starts_with("web (test): created 10"),
            "{:?}",
            c.violations
        );
    }
}
