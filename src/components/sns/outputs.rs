//! What an `sns` topic adds to a run's outputs: its fan-out in the terminal summary, its
//! losses as findings, its delivery counts in sweeps. It has no time-series columns of its own
//! (its publishes and throttles are the request columns every component has).

use serde_json::Value;

use super::Spec;
use crate::components::outputs::{Outputs, figure};
use crate::metrics::finding::{Finding, Severity, group};

impl Outputs for Spec {
    const HEADLINE_FIGURES: &'static [&'static str] = &[
        "published",
        "deliveries",
        "delivered",
        "retries",
        "dead_lettered",
        "lost",
    ];

    fn notes(report: &Value) -> Vec<String> {
        let count = |name| figure(report, name).unwrap_or(0.0) as u64;
        let mut notes = vec![format!(
            "published {}, deliveries {} (fan-out {:.2}), delivered {}",
            count("published"),
            count("deliveries"),
            count("deliveries") as f64 / count("published").max(1) as f64,
            count("delivered")
        )];
        if count("retries") > 0 {
            notes.push(format!("retries {}", count("retries")));
        }
        if count("dead_lettered") + count("lost") > 0 {
            notes.push(format!(
                "dead-lettered {}, lost {}",
                count("dead_lettered"),
                count("lost")
            ));
        }
        notes
    }

    fn findings(name: &str, report: &Value) -> Vec<Finding> {
        let mut out = Vec::new();
        if let Some(lost) = figure(report, "lost").filter(|l| *l > 0.0) {
            out.push(Finding::new(
                Severity::Warning,
                name,
                format!(
                    "lost {} deliveries: their delivery policy ran out and their subscription \
                     has no dead-letter queue",
                    group(lost as u64)
                ),
            ));
        }
        if let Some(d) = figure(report, "dead_lettered").filter(|d| *d > 0.0) {
            out.push(Finding::new(
                Severity::Note,
                name,
                format!(
                    "{} deliveries went to a dead-letter queue after their delivery policy ran out",
                    group(d as u64)
                ),
            ));
        }
        out
    }
}
