//! What an instance runs on, as a template says it: its own `InstanceType` (and
//! `CreditSpecification`), or that of the `AWS::EC2::LaunchTemplate` or
//! `AWS::AutoScaling::LaunchConfiguration` it is launched from.

use super::tree::Node;
use super::wiring::any_id;
use super::{Cx, Resource};

/// The instance type `r` launches, where it is written, and the launch template or
/// configuration that holds it (folded into `r`'s component).
pub struct Launch {
    /// The instance type, when the template gives one.
    pub instance_type: Option<String>,
    /// Where it comes from, for the comment.
    pub from: String,
    /// The launch template or configuration's logical id.
    pub holder: Option<String>,
    /// Its `CreditSpecification`'s CPU credits (`standard` or `unlimited`) and where that is
    /// written: the instance's own (`CPUCredits`), else its launch template's (`CpuCredits`).
    pub cpu_credits: Option<(String, String)>,
}

/// The launch of an instance or an Auto Scaling group `r`.
pub fn launch(r: &Resource, cx: &Cx<'_>) -> Launch {
    let mixed = r
        .prop("MixedInstancesPolicy")
        .and_then(|m| m.get("LaunchTemplate"));
    let spec = r
        .prop("LaunchTemplate")
        .or_else(|| mixed.and_then(|m| m.get("LaunchTemplateSpecification")));
    let override_type = mixed
        .and_then(|m| m.get("Overrides"))
        .and_then(|o| o.items().first())
        .and_then(|o| o.get("InstanceType"))
        .and_then(Node::text);
    let own_credits = r
        .prop("CreditSpecification")
        .and_then(|c| c.get("CPUCredits"))
        .and_then(Node::text)
        .map(|c| (c, "CreditSpecification.CPUCredits".to_string()));
    let holder = spec
        .and_then(|s| {
            s.get("LaunchTemplateId")
                .or_else(|| s.get("LaunchTemplateName"))
        })
        .or_else(|| r.prop("LaunchConfigurationName"))
        .and_then(|n| any_id(n, cx.template))
        .and_then(|id| cx.template.resource(&id));
    let cpu_credits = own_credits.or_else(|| {
        let h = holder?;
        let credits = h
            .prop("LaunchTemplateData")
            .and_then(|d| d.get("CreditSpecification"))
            .and_then(|c| c.get("CpuCredits"))
            .and_then(Node::text)?;
        let from = format!("CreditSpecification of {} `{}`", short(&h.kind), h.id);
        Some((credits, from))
    });
    if let Some(t) = r.prop("InstanceType").and_then(Node::text) {
        return Launch {
            instance_type: Some(t),
            from: "InstanceType".into(),
            holder: holder.map(|h| h.id.clone()),
            cpu_credits,
        };
    }
    if let Some(t) = override_type {
        return Launch {
            instance_type: Some(t),
            from: "MixedInstancesPolicy's first override".into(),
            holder: holder.map(|h| h.id.clone()),
            cpu_credits,
        };
    }
    let Some(h) = holder else {
        return Launch {
            instance_type: None,
            from: String::new(),
            holder: None,
            cpu_credits,
        };
    };
    let ty = h
        .prop("LaunchTemplateData")
        .and_then(|d| d.get("InstanceType"))
        .or_else(|| h.prop("InstanceType"))
        .and_then(Node::text);
    Launch {
        instance_type: ty,
        from: format!("InstanceType of {} `{}`", short(&h.kind), h.id),
        holder: Some(h.id.clone()),
        cpu_credits,
    }
}

fn short(kind: &str) -> &str {
    kind.rsplit("::").next().unwrap_or(kind)
}
