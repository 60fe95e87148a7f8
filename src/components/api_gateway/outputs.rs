//! What an `api_gateway` adds to a run's outputs: nothing beyond its figures yet.

use super::Spec;
use crate::components::outputs::Outputs;

impl Outputs for Spec {}
