//! What a `route53` adds to a run's outputs: notes and sweep figures (its figures are in its
//! report; it adds no time-series column).

use serde_json::Value;

use super::Spec;
use crate::components::outputs::{Outputs, counts_list, figure};

impl Outputs for Spec {
    const HEADLINE_FIGURES: &'static [&'static str] = &["failover_s", "failover_errors"];

    fn notes(report: &Value) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(a) = counts_list(report, "answers") {
            notes.push(format!("answers per target {a}"));
        }
        if let Some(f) = figure(report, "failover_s") {
            notes.push(format!("failover {f:.1} s"));
        }
        notes
    }
}
