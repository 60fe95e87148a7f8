//! Load balancers as a template spreads them over several resources: an
//! `AWS::ElasticLoadBalancingV2::LoadBalancer`, the `Listener`s (and `ListenerRule`s) that name
//! it, the `TargetGroup`s they forward to, and what registers in those groups (an Auto Scaling
//! group's `TargetGroupARNs`, a group's `Targets`); or a Classic Load Balancer
//! (`AWS::ElasticLoadBalancing::LoadBalancer`) and the groups and instances that name it. The
//! `alb` and `nlb` mappers share this reading and the settings both kinds have.

use toml::Value as Toml;

use super::text::seconds;
use super::tree::Node;
use super::wiring::any_id;
use super::{Cx, Draft, ImportError, Resource};

/// The classic load balancer's resource type.
pub const CLASSIC: &str = "AWS::ElasticLoadBalancing::LoadBalancer";
/// The v2 load balancer's resource type (application, network or gateway, by `Type`).
pub const V2: &str = "AWS::ElasticLoadBalancingV2::LoadBalancer";

/// Whether `r` is a v2 load balancer whose `Type` is `ty` (`application` when unset).
pub fn is_type(r: &Resource, ty: &str) -> bool {
    r.kind == V2
        && r.prop("Type")
            .and_then(Node::text)
            .unwrap_or_else(|| "application".into())
            .eq_ignore_ascii_case(ty)
}

/// What a load balancer routes to.
pub struct Routing<'t> {
    /// The target groups its listeners forward to, in the template's order.
    pub groups: Vec<&'t Resource>,
    /// Its listeners and listener rules.
    pub listeners: Vec<&'t Resource>,
}

/// The target groups a v2 load balancer's listeners (default actions and rules) forward to.
pub fn routing<'t>(lb: &Resource, cx: &Cx<'t>) -> Routing<'t> {
    let template = cx.template;
    let refers =
        |n: Option<&Node>, id: &str| n.and_then(|n| any_id(n, template)).is_some_and(|x| x == id);
    let mut listeners: Vec<&'t Resource> = template
        .of_type("AWS::ElasticLoadBalancingV2::Listener")
        .filter(|l| refers(l.prop("LoadBalancerArn"), &lb.id))
        .collect();
    let rules: Vec<&'t Resource> = template
        .of_type("AWS::ElasticLoadBalancingV2::ListenerRule")
        .filter(|r| {
            listeners
                .iter()
                .any(|l| refers(r.prop("ListenerArn"), &l.id))
        })
        .collect();
    let mut group_ids: Vec<String> = Vec::new();
    for holder in listeners.iter().chain(rules.iter()) {
        let actions = holder
            .prop("DefaultActions")
            .or_else(|| holder.prop("Actions"));
        for action in actions.map(Node::items).unwrap_or_default() {
            let mut arns: Vec<&Node> = action.get("TargetGroupArn").into_iter().collect();
            if let Some(forward) = action.get("ForwardConfig") {
                for g in forward
                    .get("TargetGroups")
                    .map(Node::items)
                    .unwrap_or_default()
                {
                    arns.extend(g.get("TargetGroupArn"));
                }
            }
            for arn in arns {
                if let Some(id) = any_id(arn, template)
                    && !group_ids.contains(&id)
                {
                    group_ids.push(id);
                }
            }
        }
    }
    listeners.extend(rules);
    let groups = group_ids
        .iter()
        .filter_map(|id| template.resource(id))
        .filter(|r| r.kind == "AWS::ElasticLoadBalancingV2::TargetGroup")
        .collect();
    Routing { groups, listeners }
}

/// The components registered in target group `tg`: the Auto Scaling groups whose
/// `TargetGroupARNs` name it, then the instances its `Targets` name, as (component, resource).
pub fn members(tg: &Resource, cx: &Cx<'_>) -> Vec<(String, String)> {
    let targets = tg.prop("Targets").map(Node::items).unwrap_or_default();
    let instances = targets.iter().filter_map(|t| t.get("Id"));
    behind(&tg.id, "TargetGroupARNs", instances, cx)
}

/// The components behind a Classic Load Balancer: the Auto Scaling groups whose
/// `LoadBalancerNames` name it, then its `Instances`.
pub fn classic_members(lb: &Resource, cx: &Cx<'_>) -> Vec<(String, String)> {
    let instances = lb.prop("Instances").map(Node::items).unwrap_or_default();
    behind(&lb.id, "LoadBalancerNames", instances.iter(), cx)
}

/// The components behind resource `id` (a target group or a Classic Load Balancer), each once:
/// the Auto Scaling groups whose list `group_property` names it, then the EC2 instances among
/// `instances`, as (component, resource).
fn behind<'a>(
    id: &str,
    group_property: &str,
    instances: impl Iterator<Item = &'a Node>,
    cx: &Cx<'_>,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |resource: &str| {
        if let Some((name, _)) = cx.components.get(resource)
            && !out.iter().any(|(n, _)| n == name)
        {
            out.push((name.clone(), resource.to_string()));
        }
    };
    for asg in cx.template.of_type("AWS::AutoScaling::AutoScalingGroup") {
        let named = asg
            .prop(group_property)
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .any(|n| any_id(n, cx.template).as_deref() == Some(id));
        if named {
            add(&asg.id);
        }
    }
    for node in instances {
        if let Some(instance) = any_id(node, cx.template)
            && is_instance(cx, &instance)
        {
            add(&instance);
        }
    }
    out
}

/// Whether resource `id` is an EC2 instance (a target group's `Targets` may also name a Lambda
/// function, an IP address or another load balancer).
fn is_instance(cx: &Cx<'_>, id: &str) -> bool {
    cx.template
        .resource(id)
        .is_some_and(|r| r.kind == "AWS::EC2::Instance")
}

/// The value of attribute `key` in `r`'s list `list` (`TargetGroupAttributes`,
/// `LoadBalancerAttributes`: `[{ Key, Value }]`).
pub fn attribute<'n>(r: &'n Resource, list: &str, key: &str) -> Option<&'n Node> {
    r.prop(list)?
        .items()
        .iter()
        .find(|a| a.get("Key").and_then(Node::text).as_deref() == Some(key))
        .and_then(|a| a.get("Value"))
}

/// A number in an attribute, located error if it is not one.
fn attribute_number(
    cx: &Cx<'_>,
    r: &Resource,
    list: &str,
    key: &str,
) -> Result<Option<f64>, ImportError> {
    match attribute(r, list, key) {
        None => Ok(None),
        Some(n) => match n.number() {
            Some(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
            _ => Err(cx.error(n.pos, format!("attribute `{key}` must be a number"))),
        },
    }
}

/// What both kinds take from a v2 target group (and its load balancer): the deregistration
/// delay, cross-zone load balancing (the group's setting over the load balancer's), and the
/// health check's interval and thresholds.
pub fn group_settings(
    cx: &Cx<'_>,
    lb: &Resource,
    tg: &Resource,
    d: &mut Draft,
) -> Result<(), ImportError> {
    const GROUP: &str = "TargetGroupAttributes";
    if let Some(v) = attribute_number(cx, tg, GROUP, "deregistration_delay.timeout_seconds")? {
        d.set(
            "deregistration_delay",
            seconds(v),
            "deregistration_delay.timeout_seconds",
        );
    }
    let cross_zone = [
        (tg, GROUP, "target group"),
        (lb, "LoadBalancerAttributes", "load balancer"),
    ]
    .into_iter()
    .find_map(|(r, list, whose)| {
        attribute(r, list, "load_balancing.cross_zone.enabled")
            .and_then(Node::boolean)
            .map(|b| (b, whose))
    });
    if let Some((on, whose)) = cross_zone {
        d.set(
            "cross_zone",
            Toml::Boolean(on),
            &format!("the {whose}'s load_balancing.cross_zone.enabled"),
        );
    }
    if tg.prop("HealthCheckEnabled").and_then(Node::boolean) == Some(false) {
        d.note(format!(
            "target group `{}` turns health checks off: awsim's load balancers always check",
            tg.id
        ));
    }
    health_check(
        cx,
        d,
        tg,
        [
            "HealthCheckIntervalSeconds",
            "HealthyThresholdCount",
            "UnhealthyThresholdCount",
        ],
        &format!("target group `{}`'s health check", tg.id),
    )
}

/// `health_check` from `holder`'s interval and thresholds, named by `fields`.
pub fn health_check(
    cx: &Cx<'_>,
    d: &mut Draft,
    holder: &Resource,
    fields: [&str; 3],
    from: &str,
) -> Result<(), ImportError> {
    let [interval, healthy, unhealthy] = fields;
    let parent = |f: &str| match f.split_once('.') {
        Some((p, k)) => (holder.prop(p), k.to_string()),
        None => (Some(&holder.properties), f.to_string()),
    };
    let number = |f: &str| {
        let (node, key) = parent(f);
        cx.number_in(node, &key)
    };
    let mut t = toml::map::Map::new();
    if let Some(v) = number(interval)? {
        t.insert("interval".into(), seconds(v));
    }
    for (field, key) in [
        (healthy, "healthy_threshold"),
        (unhealthy, "unhealthy_threshold"),
    ] {
        if let Some(v) = number(field)? {
            t.insert(key.into(), Toml::Integer(v as i64));
        }
    }
    if !t.is_empty() {
        d.set("health_check", Toml::Table(t), from);
    }
    Ok(())
}
