//! What a `lambda` adds to a run's outputs: the GB-seconds it bills.

use super::Spec;
use crate::components::outputs::{Outputs, Usage};

impl Outputs for Spec {
    const HEADLINE_FIGURES: &'static [&'static str] = &["billed_gb_seconds"];

    const USAGE: &'static [(&'static str, Usage)] =
        &[("billed_gb_seconds", Usage::LambdaGbSeconds)];
}
