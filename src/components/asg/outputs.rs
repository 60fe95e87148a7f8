//! What an `asg` adds to a run's outputs: how busy its instances were, how its capacity moved,
//! and the instance-hours it bills.

use serde_json::Value;

use super::Spec;
use crate::components::outputs::{Outputs, Usage, figure, pool_findings, pool_notes};
use crate::metrics::finding::Finding;

impl Outputs for Spec {
    const HEADLINE_FIGURES: &'static [&'static str] = &["utilisation", "instance_hours"];

    const USAGE: &'static [(&'static str, Usage)] = &[("instance_hours", Usage::InstanceHours)];

    fn notes(report: &Value) -> Vec<String> {
        let mut notes = pool_notes(report);
        if let Some(d) = report.get("desired_max").and_then(Value::as_u64) {
            let n = |k: &str| figure(report, k).unwrap_or(0.0);
            notes.push(format!(
                "desired capacity up to {d} (at the end {}), {} instances launched, {:.2} \
                 instance-hours",
                n("desired_end"),
                n("instances_launched"),
                n("instance_hours")
            ));
        }
        notes
    }

    fn findings(name: &str, report: &Value) -> Vec<Finding> {
        pool_findings(name, report)
    }
}
