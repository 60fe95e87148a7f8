//! `awsim import`: an `AWS::ElasticLoadBalancingV2::LoadBalancer` of `Type` `network`, with its
//! `Listener`s and the `TargetGroup` they forward to → `nlb`.
//!
//! Its `targets` are what registers in the group: the Auto Scaling group whose
//! `TargetGroupARNs` name it, or the first instance of its `Targets` (an `nlb` has one group:
//! the others are noted). Carried over: `deregistration_delay.timeout_seconds`,
//! `load_balancing.cross_zone.enabled` (the group's, else the load balancer's), the health
//! check's interval and thresholds.

use crate::import::elb;
use crate::import::text::s;
use crate::import::{Cx, Draft, ImportError, Resource};

/// The resource types that become an NLB.
pub const RESOURCE_TYPES: &[&str] = &[elb::V2];

/// Whether `r` is a network load balancer.
pub fn claims(r: &Resource) -> bool {
    elb::is_type(r, "network")
}

/// Writes the NLB of `r`.
pub fn map(r: &Resource, cx: &Cx<'_>, d: &mut Draft) -> Result<(), ImportError> {
    let routing = elb::routing(r, cx);
    for l in &routing.listeners {
        d.absorb(&l.id);
    }
    let Some(tg) = routing.groups.first().copied() else {
        d.dropped = Some("its listeners forward to no target group of the template".into());
        return Ok(());
    };
    let members = elb::members(tg, cx);
    let Some((first, _)) = members.first() else {
        d.dropped = Some(format!(
            "nothing of the template registers in its target group `{}`",
            tg.id
        ));
        return Ok(());
    };
    d.absorb(&tg.id);
    d.set("targets", s(first), &format!("target group `{}`", tg.id));
    d.refer(first);
    if members.len() > 1 || routing.groups.len() > 1 {
        let others: Vec<&str> = members[1..]
            .iter()
            .map(|(n, _)| n.as_str())
            .chain(routing.groups[1..].iter().map(|g| g.id.as_str()))
            .collect();
        d.note(format!(
            "TODO(import): an nlb forwards to one group; also registered or forwarded to: {}",
            others.join(", ")
        ));
    }
    elb::group_settings(cx, r, tg, d)
}
