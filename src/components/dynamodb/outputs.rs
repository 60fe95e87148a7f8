//! What a `dynamodb` table adds to a run's outputs: its consumed capacity, and the report's
//! word on saturation and throttling.

use serde_json::Value;

use super::Spec;
use crate::components::outputs::{Outputs, figure};
use crate::metrics::finding::{Finding, SATURATED_UTILISATION, Severity, fixed, group, percent};

impl Outputs for Spec {
    const HEADLINE_FIGURES: &'static [&'static str] = &["consumed_rcu_mean", "consumed_wcu_mean"];

    fn findings(name: &str, report: &Value) -> Vec<Finding> {
        let mut out = Vec::new();
        for (what, consumed, provisioned) in [
            ("read", "consumed_rcu_mean", "provisioned_rcu"),
            ("write", "consumed_wcu_mean", "provisioned_wcu"),
        ] {
            if let (Some(c), Some(p)) = (figure(report, consumed), figure(report, provisioned))
                && p > 0.0
                && c / p > SATURATED_UTILISATION
            {
                out.push(Finding::new(
                    Severity::Warning,
                    name,
                    format!(
                        "saturated: consumed {} of the provisioned {what} capacity on average",
                        percent(c / p)
                    ),
                ));
            }
        }
        let attempts =
            figure(report, "reads").unwrap_or(0.0) + figure(report, "writes").unwrap_or(0.0);
        if let Some(t) = figure(report, "throttle_events")
            && t > 0.0
        {
            out.push(Finding::new(
                Severity::Note,
                name,
                format!(
                    "{} attempts were throttled (then retried, or failed after the last \
                     retry): {} per read or write",
                    group(t as u64),
                    fixed(t / attempts.max(1.0), 2)
                ),
            ));
        }
        out
    }
}
