//! What a `step_functions` machine adds to a run's outputs: its executions in the terminal
//! summary, failures and throttles as findings, its counts in sweeps. No time-series columns of
//! its own (starts and throttles are the request columns every component has).

use serde_json::Value;

use super::Spec;
use crate::components::outputs::{Outputs, figure};
use crate::metrics::finding::{Finding, Severity, group};

impl Outputs for Spec {
    const HEADLINE_FIGURES: &'static [&'static str] = &[
        "executions_started",
        "succeeded",
        "failed",
        "timed_out",
        "throttled",
        "state_transitions",
    ];

    fn notes(report: &Value) -> Vec<String> {
        let count = |name| figure(report, name).unwrap_or(0.0) as u64;
        let mut notes = vec![format!(
            "executions {} (succeeded {}, failed {}, timed out {})",
            count("executions_started"),
            count("succeeded"),
            count("failed"),
            count("timed_out")
        )];
        notes.push(format!("transitions {}", count("state_transitions")));
        if count("retries") > 0 {
            notes.push(format!("retries {}", count("retries")));
        }
        notes
    }

    fn findings(name: &str, report: &Value) -> Vec<Finding> {
        let mut out = Vec::new();
        let count = |name| figure(report, name).unwrap_or(0.0) as u64;
        if count("failed") + count("timed_out") > 0 {
            out.push(Finding::new(
                Severity::Warning,
                name,
                format!(
                    "{} executions failed and {} timed out",
                    group(count("failed")),
                    group(count("timed_out"))
                ),
            ));
        }
        if count("transitions_throttled") > 0 {
            out.push(Finding::new(
                Severity::Note,
                name,
                format!(
                    "{} state transitions waited for the transition bucket: executions slowed",
                    group(count("transitions_throttled"))
                ),
            ));
        }
        out
    }
}
