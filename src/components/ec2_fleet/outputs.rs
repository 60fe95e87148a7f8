//! What an `ec2_fleet` adds to a run's outputs: how busy its instances were.

use serde_json::Value;

use super::Spec;
use crate::components::outputs::{Outputs, pool_findings, pool_notes};
use crate::metrics::finding::Finding;

impl Outputs for Spec {
    const HEADLINE_FIGURES: &'static [&'static str] = &["utilisation"];

    fn notes(report: &Value) -> Vec<String> {
        pool_notes(report)
    }

    fn findings(name: &str, report: &Value) -> Vec<Finding> {
        pool_findings(name, report)
    }
}
