//! What an `nlb` adds to a run's outputs: how evenly it spread requests and connections over
//! its targets.

use serde_json::Value;

use super::Spec;
use crate::components::outputs::{Outputs, balancer_notes, counts_list};

impl Outputs for Spec {
    fn notes(report: &Value) -> Vec<String> {
        let mut notes = balancer_notes(report);
        if let Some(c) = counts_list(report, "target_open_connections") {
            notes.push(format!("open connections {c}"));
        }
        notes
    }
}
