//! `awsim import`: `AWS::Lambda::Function` (and SAM's `AWS::Serverless::Function`) → `lambda`.
//!
//! Carried over: `MemorySize`, `Timeout`, `ReservedConcurrentExecutions`, SAM's
//! `ProvisionedConcurrencyConfig`, `Architectures`. The handler is what a template cannot say:
//! a conservative compute step marked `TODO(import)`, then one call per resource the function's
//! policies or environment variables name (each marked inferred).

use toml::Value as Toml;

use crate::import::text::{s, seconds, table};
use crate::import::{Cx, Draft, ImportError, Resource, wiring};

/// The resource types that become a function.
pub const RESOURCE_TYPES: &[&str] = &["AWS::Lambda::Function"];

/// Writes the function of `r`.
pub fn map(r: &Resource, cx: &Cx<'_>, d: &mut Draft) -> Result<(), ImportError> {
    if let Some(mb) = cx.number(r, "MemorySize")? {
        if !(128.0..=10240.0).contains(&mb) {
            let pos = r.prop("MemorySize").map(|n| n.pos).unwrap_or(r.pos);
            return Err(cx.error(
                pos,
                format!("`MemorySize` {mb} is outside Lambda's 128 to 10240 MB"),
            ));
        }
        d.set("memory_mb", Toml::Integer(mb as i64), "MemorySize");
    } else {
        d.set(
            "memory_mb",
            Toml::Integer(128),
            "Lambda's default (no MemorySize)",
        );
    }
    if let Some(t) = cx.number(r, "Timeout")? {
        if !(1.0..=900.0).contains(&t) {
            let pos = r.prop("Timeout").map(|n| n.pos).unwrap_or(r.pos);
            return Err(cx.error(pos, format!("`Timeout` {t} is outside Lambda's 1 to 900 s")));
        }
        d.set("timeout", seconds(t), "Timeout");
    }
    if let Some(c) = cx.number(r, "ReservedConcurrentExecutions")? {
        d.set(
            "reserved_concurrency",
            Toml::Integer(c as i64),
            "ReservedConcurrentExecutions",
        );
    }
    let provisioned = r.prop("ProvisionedConcurrencyConfig");
    if let Some(p) = cx.number_in(provisioned, "ProvisionedConcurrentExecutions")? {
        d.set(
            "provisioned_concurrency",
            Toml::Integer(p as i64),
            "ProvisionedConcurrencyConfig",
        );
    }
    let arm = r
        .prop("Architectures")
        .map(|a| {
            a.items()
                .iter()
                .any(|i| i.text().as_deref() == Some("arm64"))
        })
        .unwrap_or(false);
    if arm {
        d.set("architecture", s("arm64"), "Architectures");
    }
    if r.prop("AutoPublishAlias").is_some() || r.prop("DeploymentPreference").is_some() {
        d.note("AutoPublishAlias / DeploymentPreference: a deployment is not imported yet (see `deploy`)");
    }
    let mut steps = vec![(
        table([(
            "compute",
            table([
                ("dist", s("lognormal")),
                ("mean", s("50ms")),
                ("p99", s("200ms")),
            ]),
        )]),
        "TODO(import): what one invocation computes".to_string(),
    )];
    for call in wiring::calls(r, cx, &d.name) {
        d.refer(&call.target);
        let step = match call.op {
            Some(op) => table([("call", s(&call.target)), ("op", s(op))]),
            None => table([("call", s(&call.target))]),
        };
        steps.push((
            step,
            format!("{}; TODO(import): once per invocation?", call.why),
        ));
    }
    d.list("handler", &steps);
    Ok(())
}
