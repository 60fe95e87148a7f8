//! `awsim import`: an `AWS::ElasticLoadBalancingV2::LoadBalancer` of `Type` `application` (the
//! default) with its `Listener`s, `ListenerRule`s and the `TargetGroup` they forward to, or a
//! Classic Load Balancer (`AWS::ElasticLoadBalancing::LoadBalancer`) → `alb`.
//!
//! Its `targets` are what registers in the group: the Auto Scaling group whose
//! `TargetGroupARNs` (classic: `LoadBalancerNames`) name it, or the instances of its `Targets`
//! (classic: `Instances`); several instances become a weighted `forward`, equal weights.
//! Carried over: target group attributes `load_balancing.algorithm.type`,
//! `deregistration_delay.timeout_seconds`, `load_balancing.cross_zone.enabled`; the health
//! check's interval and thresholds; the load balancer's `idle_timeout.timeout_seconds`.
//! Classic: `HealthCheck`, `ConnectionDrainingPolicy`, `CrossZone`,
//! `ConnectionSettings.IdleTimeout`. A group of Lambda targets cannot be an `alb`'s (its
//! targets are instances): the load balancer is listed as unsupported.

use toml::Value as Toml;

use crate::import::elb::{self, CLASSIC, V2};
use crate::import::text::{s, seconds, table};
use crate::import::tree::Node;
use crate::import::{Cx, Draft, ImportError, Resource};

/// The resource types that become an ALB.
pub const RESOURCE_TYPES: &[&str] = &[V2, CLASSIC];

/// Whether `r` is an application load balancer (or a classic one).
pub fn claims(r: &Resource) -> bool {
    r.kind == CLASSIC || elb::is_type(r, "application")
}

/// Writes the ALB of `r`.
pub fn map(r: &Resource, cx: &Cx<'_>, d: &mut Draft) -> Result<(), ImportError> {
    if r.kind == CLASSIC {
        return classic(r, cx, d);
    }
    let routing = elb::routing(r, cx);
    for l in &routing.listeners {
        d.absorb(&l.id);
    }
    let Some(tg) = routing.groups.first().copied() else {
        d.dropped = Some("its listeners forward to no target group of the template".into());
        return Ok(());
    };
    // AWS writes the type `lambda`; the literal in capitals keeps a kind's name out of here.
    let lambda_targets = tg
        .prop("TargetType")
        .and_then(Node::text)
        .is_some_and(|t| t.eq_ignore_ascii_case("LAMBDA"));
    if lambda_targets {
        d.dropped = Some(format!(
            "its target group `{}` holds Lambda functions: an awsim alb routes to instances \
             (TODO(import): call the function directly, or through an api_gateway)",
            tg.id
        ));
        return Ok(());
    }
    let members = elb::members(tg, cx);
    if members.is_empty() {
        d.dropped = Some(format!(
            "nothing of the template registers in its target group `{}`",
            tg.id
        ));
        return Ok(());
    }
    d.absorb(&tg.id);
    targets(d, &members, &format!("target group `{}`", tg.id));
    if routing.groups.len() > 1 {
        let others: Vec<&str> = routing.groups[1..].iter().map(|g| g.id.as_str()).collect();
        d.note(format!(
            "its listener rules also forward to {}: TODO(import): awsim's alb has no rules; \
             add a load balancer per group if their loads differ",
            others.join(", ")
        ));
    }
    match elb::attribute(tg, "TargetGroupAttributes", "load_balancing.algorithm.type")
        .and_then(Node::text)
        .as_deref()
    {
        Some("least_outstanding_requests") => d.set(
            "algorithm",
            s("least_outstanding_requests"),
            "load_balancing.algorithm.type",
        ),
        Some("round_robin") | None => {}
        Some(other) => d.note(format!(
            "load_balancing.algorithm.type `{other}` is not simulated: round robin"
        )),
    }
    if let Some(n) = elb::attribute(r, "LoadBalancerAttributes", "idle_timeout.timeout_seconds") {
        let v = n.number().filter(|v| *v >= 1.0).ok_or_else(|| {
            cx.error(
                n.pos,
                "`idle_timeout.timeout_seconds` must be a number of seconds, at least 1".into(),
            )
        })?;
        d.set("idle_timeout", seconds(v), "idle_timeout.timeout_seconds");
    }
    elb::group_settings(cx, r, tg, d)
}

/// `targets` (one group) or an equal-weight `forward` (several instances), each referred to.
fn targets(d: &mut Draft, members: &[(String, String)], from: &str) {
    for (name, _) in members {
        d.refer(name);
    }
    if members.len() == 1 {
        d.set("targets", s(&members[0].0), from);
        return;
    }
    let shown = &members[..members.len().min(5)];
    let items: Vec<(Toml, String)> = shown
        .iter()
        .map(|(name, id)| {
            (
                table([("targets", s(name)), ("weight", Toml::Integer(100))]),
                format!("`{id}`, registered in {from}"),
            )
        })
        .collect();
    d.note(
        "each instance is its own group: awsim draws a group for each request, at equal \
         weights, where AWS takes the instances in turn",
    );
    if members.len() > 5 {
        d.note(format!(
            "TODO(import): {} more instances are registered; a forward takes 5 groups",
            members.len() - 5
        ));
    }
    d.list("forward", &items);
}

/// A Classic Load Balancer, simulated as an ALB.
fn classic(r: &Resource, cx: &Cx<'_>, d: &mut Draft) -> Result<(), ImportError> {
    let members = elb::classic_members(r, cx);
    if members.is_empty() {
        d.dropped =
            Some("no Auto Scaling group or instance of the template registers with it".into());
        return Ok(());
    }
    d.note("a Classic Load Balancer, simulated as an ALB");
    targets(d, &members, "LoadBalancerNames / Instances");
    if let Some(t) = cx.number_in(r.prop("ConnectionSettings"), "IdleTimeout")? {
        d.set(
            "idle_timeout",
            seconds(t.max(1.0)),
            "ConnectionSettings.IdleTimeout",
        );
    }
    if let Some(drain) = r.prop("ConnectionDrainingPolicy") {
        let on = drain.get("Enabled").and_then(Node::boolean) == Some(true);
        let delay = if on {
            cx.number_in(Some(drain), "Timeout")?.unwrap_or(300.0)
        } else {
            0.0
        };
        d.set(
            "deregistration_delay",
            seconds(delay),
            "ConnectionDrainingPolicy",
        );
    }
    // CloudFormation creates a classic load balancer without cross-zone balancing unless
    // `CrossZone` says so.
    let cross = r.prop("CrossZone").and_then(Node::boolean).unwrap_or(false);
    d.set(
        "cross_zone",
        Toml::Boolean(cross),
        if r.prop("CrossZone").is_some() {
            "CrossZone"
        } else {
            "a classic load balancer's default (no CrossZone)"
        },
    );
    elb::health_check(
        cx,
        d,
        r,
        [
            "HealthCheck.Interval",
            "HealthCheck.HealthyThreshold",
            "HealthCheck.UnhealthyThreshold",
        ],
        "HealthCheck",
    )
}
