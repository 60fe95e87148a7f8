//! `awsim import`: `AWS::ApiGateway::RestApi` (SAM `Api`, and the implicit API of `Api`
//! events) and `AWS::ApiGatewayV2::Api` (SAM `HttpApi`) → `api_gateway`.
//!
//! Its `target` is the function its methods (or HTTP API integrations) invoke; an API whose
//! methods reach several functions targets the first, and says so. Carried over: stage
//! `MethodSettings` throttling (`ThrottlingRateLimit`, `ThrottlingBurstLimit`) and caching
//! (`CacheClusterEnabled`, `CacheClusterSize`, `CacheTtlInSeconds`), on the API (SAM) or on its
//! `AWS::ApiGateway::Stage`; an HTTP API stage's `DefaultRouteSettings` throttling.

use toml::Value as Toml;

use crate::import::text::{s, seconds};
use crate::import::{Cx, Draft, ImportError, Node, Resource};

/// The resource types that become a gateway.
pub const RESOURCE_TYPES: &[&str] = &["AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api"];

/// Writes the gateway of `r`.
pub fn map(r: &Resource, cx: &Cx<'_>, d: &mut Draft) -> Result<(), ImportError> {
    let http = r.kind == "AWS::ApiGatewayV2::Api";
    // Its integrations: (resource, the node naming the function).
    let mut targets: Vec<(String, String)> = Vec::new();
    let routes: Vec<&Resource> = if http {
        cx.referring("AWS::ApiGatewayV2::Integration", "ApiId", &r.id)
            .chain(cx.referring("AWS::ApiGatewayV2::Route", "ApiId", &r.id))
            .collect()
    } else {
        cx.referring("AWS::ApiGateway::Method", "RestApiId", &r.id)
            .chain(cx.referring("AWS::ApiGateway::Stage", "RestApiId", &r.id))
            .chain(cx.referring("AWS::ApiGateway::Resource", "RestApiId", &r.id))
            .collect()
    };
    for route in &routes {
        d.absorb(&route.id);
        let uri: Option<&Node> = if http {
            route.prop("IntegrationUri")
        } else {
            route.prop("Integration").and_then(|i| i.get("Uri"))
        };
        if let Some((_, name, _)) = uri.and_then(|u| cx.component_of(u))
            && !targets.iter().any(|(n, _)| n == name)
        {
            targets.push((name.to_string(), route.id.clone()));
        }
    }
    if http {
        for stage in cx.referring("AWS::ApiGatewayV2::Stage", "ApiId", &r.id) {
            d.absorb(&stage.id);
        }
    }
    let Some((target, via)) = targets.first() else {
        d.dropped = Some("none of its methods invokes a function the template defines".into());
        return Ok(());
    };
    d.set("target", s(target), &format!("the integration of `{via}`"));
    d.refer(target);
    if targets.len() > 1 {
        let others: Vec<&str> = targets[1..].iter().map(|(n, _)| n.as_str()).collect();
        d.note(format!(
            "its methods also invoke {}: TODO(import): one gateway has one target in awsim; \
             add a gateway per function if their loads differ",
            others.join(", ")
        ));
    }
    if http {
        d.note("an HTTP API, simulated as a REST API's gateway without cache");
        let stage = cx
            .referring("AWS::ApiGatewayV2::Stage", "ApiId", &r.id)
            .next();
        let settings = stage
            .and_then(|s| s.prop("DefaultRouteSettings"))
            .or_else(|| r.prop("DefaultRouteSettings"));
        throttle(cx, d, settings, "DefaultRouteSettings")?;
        return Ok(());
    }
    // SAM puts the stage's settings on the API; plain CloudFormation on a Stage.
    let stage = cx
        .referring("AWS::ApiGateway::Stage", "RestApiId", &r.id)
        .next();
    let holder = stage.unwrap_or(r);
    let all_methods = holder.prop("MethodSettings").and_then(|m| {
        m.items().iter().find(|s| {
            s.get("ResourcePath")
                .and_then(Node::text)
                .is_none_or(|p| p == "/*")
                && s.get("HttpMethod")
                    .and_then(Node::text)
                    .is_none_or(|p| p == "*")
        })
    });
    throttle(cx, d, all_methods, "MethodSettings")?;
    let cache_on = holder.prop("CacheClusterEnabled").and_then(Node::boolean) == Some(true);
    if cache_on {
        let mut fields = toml::map::Map::new();
        if let Some(ttl) = cx.number_in(all_methods, "CacheTtlInSeconds")? {
            fields.insert("ttl".into(), seconds(ttl));
        }
        if let Some(size) = cx.number(holder, "CacheClusterSize")? {
            fields.insert("size_gb".into(), Toml::Float(size));
        }
        d.set("cache", Toml::Table(fields), "CacheClusterEnabled");
    }
    Ok(())
}

/// Stage throttling from `settings` (`ThrottlingRateLimit`, `ThrottlingBurstLimit`).
fn throttle(
    cx: &Cx<'_>,
    d: &mut Draft,
    settings: Option<&Node>,
    from: &str,
) -> Result<(), ImportError> {
    let rate = cx.number_in(settings, "ThrottlingRateLimit")?;
    let burst = cx.number_in(settings, "ThrottlingBurstLimit")?;
    if let (Some(rate), Some(burst)) = (rate, burst)
        && rate > 0.0
        && burst >= 1.0
    {
        let mut t = toml::map::Map::new();
        t.insert(
            "rate".into(),
            s(format!("{}/s", crate::import::tree::number_text(rate))),
        );
        t.insert("burst".into(), Toml::Integer(burst as i64));
        d.set("throttle", Toml::Table(t), from);
    }
    Ok(())
}
