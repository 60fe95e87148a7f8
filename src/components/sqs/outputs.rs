//! What an `sqs` queue adds to a run's outputs: the report's word on dead letters, expired
//! and duplicate messages, and on a backlog nobody receives from.

use serde_json::Value;

use super::Spec;
use crate::components::outputs::{Outputs, figure};
use crate::metrics::finding::{Finding, Growth, Severity, fixed, group, whole};

impl Outputs for Spec {
    const BACKLOG_COLUMNS: &'static [(&'static str, &'static str)] =
        &[("queue_length", "visible messages")];

    fn findings(name: &str, report: &Value) -> Vec<Finding> {
        let mut out = Vec::new();
        for (key, severity, text) in [
            (
                "dead_lettered",
                Severity::Warning,
                "messages moved to the dead-letter queue",
            ),
            (
                "expired",
                Severity::Warning,
                "messages expired (retention period) before being processed",
            ),
            (
                "duplicate_deliveries",
                Severity::Note,
                "messages processed twice (the visibility timeout ran out first)",
            ),
        ] {
            if let Some(n) = figure(report, key)
                && n > 0.0
            {
                out.push(Finding::new(
                    severity,
                    name,
                    format!("{} {text}", group(n as u64)),
                ));
            }
        }
        out
    }

    fn growing_backlog(name: &str, report: &Value, growth: &Growth) -> Option<Finding> {
        // Messages pile up in a queue with no consumer: not a capacity problem.
        (figure(report, "received") == Some(0.0)).then(|| {
            Finding::new(
                Severity::Note,
                name,
                format!(
                    "{} visible messages at the end, still arriving (about {}/s): nothing \
                     receives from this queue",
                    whole(growth.to),
                    fixed(growth.slope, 2)
                ),
            )
        })
    }
}
