//! `awsim import`: `AWS::EC2::Instance` → an `ec2_fleet` of one instance.
//!
//! Carried over: its `InstanceType` and `CreditSpecification` (or its launch template's). What
//! it serves is what a template cannot say: a conservative compute step marked
//! `TODO(import)`. A load balancer it registers with names it as its target.

use toml::Value as Toml;

use crate::import::text;
use crate::import::{Cx, Draft, ImportError, Resource, ec2};

/// The resource types that become a fleet.
pub const RESOURCE_TYPES: &[&str] = &["AWS::EC2::Instance"];

/// Writes the one-instance fleet of `r`.
pub fn map(r: &Resource, cx: &Cx<'_>, d: &mut Draft) -> Result<(), ImportError> {
    d.set("instances", Toml::Integer(1), "one AWS::EC2::Instance");
    let launch = ec2::launch(r, cx);
    if let Some(h) = &launch.holder {
        d.absorb(h);
    }
    text::instance_type(d, launch.instance_type.as_deref(), &launch.from);
    text::credit_specification(d, launch.instance_type.as_deref(), launch.cpu_credits);
    text::instance_handler(d);
    Ok(())
}
