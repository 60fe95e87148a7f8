//! What an `alb` adds to a run's outputs: how evenly it spread requests over its targets.

use serde_json::Value;

use super::Spec;
use crate::components::outputs::{Outputs, balancer_notes};

impl Outputs for Spec {
    fn notes(report: &Value) -> Vec<String> {
        balancer_notes(report)
    }
}
