//! `awsim import`: `AWS::DynamoDB::Table` (and SAM's `SimpleTable`) → `dynamodb`.
//!
//! Carried over: `BillingMode` (`PAY_PER_REQUEST` → `on_demand`), `ProvisionedThroughput`,
//! `StreamSpecification` (a stream) with the event source mapping that reads it. Global
//! secondary indexes are noted: awsim does not simulate their capacity.

use toml::Value as Toml;

use crate::import::text::{s, seconds};
use crate::import::{Cx, Draft, ImportError, Resource};

/// The resource types that become a table.
pub const RESOURCE_TYPES: &[&str] = &["AWS::DynamoDB::Table"];

/// Writes the table of `r`.
pub fn map(r: &Resource, cx: &Cx<'_>, d: &mut Draft) -> Result<(), ImportError> {
    let on_demand =
        r.prop("BillingMode").and_then(|n| n.text()).as_deref() == Some("PAY_PER_REQUEST");
    if on_demand {
        d.set("mode", s("on_demand"), "BillingMode PAY_PER_REQUEST");
    } else {
        let throughput = r.prop("ProvisionedThroughput");
        match cx.number_in(throughput, "ReadCapacityUnits")? {
            Some(v) => d.set("rcu", Toml::Integer(v as i64), "ProvisionedThroughput"),
            None => d.todo(
                "rcu",
                Toml::Integer(5),
                "provisioned table without ProvisionedThroughput",
            ),
        }
        match cx.number_in(throughput, "WriteCapacityUnits")? {
            Some(v) => d.set("wcu", Toml::Integer(v as i64), "ProvisionedThroughput"),
            None => d.todo(
                "wcu",
                Toml::Integer(5),
                "provisioned table without ProvisionedThroughput",
            ),
        }
    }
    if let Some(gsis) = r.prop("GlobalSecondaryIndexes") {
        d.note(format!(
            "{} global secondary index(es) not simulated: their capacity and the writes they copy",
            gsis.items().len()
        ));
    }
    if r.prop("StreamSpecification").is_some() {
        d.set("stream", Toml::Boolean(true), "StreamSpecification");
        let mut mappings = cx.stream_mappings(&r.id);
        let mapping = mappings.next();
        for (other, _) in mappings {
            d.unsupported.push((
                other.id.clone(),
                format!(
                    "a second reader of `{}`'s stream: an awsim table's stream has one",
                    d.name
                ),
            ));
        }
        if let Some((m, function)) = mapping {
            d.absorb(&m.id);
            d.refer(function);
            let mut fields = vec![("function", s(function))];
            if let Some(b) = cx.number(m, "BatchSize")? {
                fields.push(("batch_size", Toml::Integer(b as i64)));
            }
            if let Some(w) = cx.number(m, "MaximumBatchingWindowInSeconds")? {
                fields.push(("batch_window", seconds(w)));
            }
            if let Some(p) = cx.number(m, "ParallelizationFactor")? {
                fields.push(("parallelization_factor", Toml::Integer(p as i64)));
            }
            let mut t = toml::map::Map::new();
            for (k, v) in fields {
                t.insert(k.into(), v);
            }
            d.set(
                "stream_consumer",
                Toml::Table(t),
                &format!("event source mapping `{}`", m.id),
            );
        }
    }
    Ok(())
}
