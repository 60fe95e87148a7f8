//! `awsim import`: `AWS::Kinesis::Stream` → `kinesis`, with the `AWS::Lambda::EventSourceMapping`
//! (or SAM `Kinesis` event) that reads it as its consumer.
//!
//! Carried over: `ShardCount`, `StreamModeDetails` (`ON_DEMAND`), `RetentionPeriodHours`; from
//! the mapping `BatchSize`, `MaximumBatchingWindowInSeconds`, `StartingPosition`,
//! `ParallelizationFactor`, `BisectBatchOnFunctionError`, `MaximumRetryAttempts`,
//! `MaximumRecordAgeInSeconds`.

use toml::Value as Toml;

use crate::import::text::{s, seconds};
use crate::import::tree::Node;
use crate::import::{Cx, Draft, ImportError, Resource};

/// The resource types that become a stream.
pub const RESOURCE_TYPES: &[&str] = &["AWS::Kinesis::Stream"];

/// Writes the stream of `r`.
pub fn map(r: &Resource, cx: &Cx<'_>, d: &mut Draft) -> Result<(), ImportError> {
    let mode = r
        .prop("StreamModeDetails")
        .and_then(|m| m.get("StreamMode"))
        .and_then(Node::text);
    if mode.as_deref() == Some("ON_DEMAND") {
        d.set("mode", s("on_demand"), "StreamModeDetails");
    } else {
        match cx.number(r, "ShardCount")? {
            Some(n) => d.set("shards", Toml::Integer(n.max(1.0) as i64), "ShardCount"),
            None => d.set(
                "shards",
                Toml::Integer(1),
                "CloudFormation's default (no ShardCount)",
            ),
        }
    }
    if let Some(h) = cx.number(r, "RetentionPeriodHours")? {
        d.set(
            "retention",
            s(format!("{}h", h as i64)),
            "RetentionPeriodHours",
        );
    }
    let mut mappings = cx.stream_mappings(&r.id);
    let first = mappings.next();
    for (other, _) in mappings {
        d.unsupported.push((
            other.id.clone(),
            format!("a second consumer of `{}`: an awsim stream has one", d.name),
        ));
    }
    let Some((m, function)) = first else {
        return Ok(());
    };
    d.absorb(&m.id);
    d.refer(function);
    let mut t = toml::map::Map::new();
    t.insert("function".into(), s(function));
    let mut int = |key: &str, v: f64| {
        t.insert(key.into(), Toml::Integer(v as i64));
    };
    if let Some(b) = cx.number(m, "BatchSize")? {
        int("batch_size", b);
    }
    if let Some(p) = cx.number(m, "ParallelizationFactor")? {
        int("parallelization_factor", p);
    }
    if let Some(a) = cx.number_signed(&m.properties, "MaximumRetryAttempts")? {
        int("maximum_retry_attempts", a);
    }
    if let Some(w) = cx.number(m, "MaximumBatchingWindowInSeconds")? {
        t.insert("batch_window".into(), seconds(w));
    }
    if let Some(age) = cx.number_signed(&m.properties, "MaximumRecordAgeInSeconds")?
        && age >= 60.0
    {
        t.insert("maximum_record_age".into(), seconds(age));
    }
    if m.prop("StartingPosition").and_then(Node::text).as_deref() == Some("TRIM_HORIZON") {
        t.insert("starting_position".into(), s("trim_horizon"));
    }
    if m.prop("BisectBatchOnFunctionError").and_then(Node::boolean) == Some(true) {
        t.insert("bisect_batch_on_error".into(), Toml::Boolean(true));
    }
    d.set(
        "consumer",
        Toml::Table(t),
        &format!("event source mapping `{}`", m.id),
    );
    Ok(())
}
