//! `awsim import`: `AWS::SQS::Queue` → `sqs`, with the `AWS::Lambda::EventSourceMapping` (or
//! SAM `SQS` event) that reads it as its consumer.
//!
//! Carried over: `FifoQueue`, `VisibilityTimeout`, `MessageRetentionPeriod`, `DelaySeconds`,
//! `ReceiveMessageWaitTimeSeconds` (for instance consumers; Lambda's pollers long-poll on their
//! own), `RedrivePolicy` (dead-letter queue and `maxReceiveCount`); from the mapping
//! `BatchSize`, `MaximumBatchingWindowInSeconds`, `ScalingConfig.MaximumConcurrency`,
//! `FunctionResponseTypes` (`ReportBatchItemFailures`).

use toml::Value as Toml;

use crate::import::text::{s, seconds};
use crate::import::{Cx, Draft, ImportError, Resource};

/// The resource types that become a queue.
pub const RESOURCE_TYPES: &[&str] = &["AWS::SQS::Queue"];

/// Writes the queue of `r`.
pub fn map(r: &Resource, cx: &Cx<'_>, d: &mut Draft) -> Result<(), ImportError> {
    if r.prop("FifoQueue").and_then(|n| n.boolean()) == Some(true) {
        d.set("type", s("fifo"), "FifoQueue");
    }
    for (prop, key) in [
        ("VisibilityTimeout", "visibility_timeout"),
        ("MessageRetentionPeriod", "retention"),
        ("DelaySeconds", "delay"),
    ] {
        if let Some(v) = cx.number(r, prop)? {
            d.set(key, seconds(v), prop);
        }
    }
    if let Some(redrive) = r.prop("RedrivePolicy") {
        let target = redrive
            .get("deadLetterTargetArn")
            .and_then(|n| cx.component_of(n));
        match target {
            Some((_, name, _)) => {
                d.set(
                    "dead_letter_queue",
                    s(name),
                    "RedrivePolicy.deadLetterTargetArn",
                );
                d.refer(name);
                let count = cx
                    .number_in(Some(redrive), "maxReceiveCount")?
                    .unwrap_or(10.0);
                d.set(
                    "max_receive_count",
                    Toml::Integer(count as i64),
                    "RedrivePolicy.maxReceiveCount",
                );
            }
            None => {
                d.note("RedrivePolicy names a queue outside the template: no dead-letter queue")
            }
        }
    }
    let mut mappings = cx.referring("AWS::Lambda::EventSourceMapping", "EventSourceArn", &r.id);
    if let Some(m) = mappings.next() {
        let function = m.prop("FunctionName").and_then(|n| cx.component_of(n));
        if let Some((_, name, _)) = function {
            d.absorb(&m.id);
            d.set(
                "consumer",
                s(name),
                &format!("event source mapping `{}`", m.id),
            );
            d.refer(name);
            if let Some(b) = cx.number(m, "BatchSize")? {
                d.set("batch_size", Toml::Integer(b as i64), "BatchSize");
            }
            if let Some(w) = cx.number(m, "MaximumBatchingWindowInSeconds")? {
                d.set("batch_window", seconds(w), "MaximumBatchingWindowInSeconds");
            }
            let reports = m.prop("FunctionResponseTypes").is_some_and(|types| {
                types
                    .items()
                    .iter()
                    .any(|t| t.text().as_deref() == Some("ReportBatchItemFailures"))
            });
            if reports {
                d.set(
                    "report_batch_item_failures",
                    Toml::Boolean(true),
                    "FunctionResponseTypes",
                );
            }
            if let Some(c) = cx.number_in(m.prop("ScalingConfig"), "MaximumConcurrency")? {
                d.set(
                    "maximum_concurrency",
                    Toml::Integer(c as i64),
                    "ScalingConfig.MaximumConcurrency",
                );
            }
        }
    } else if let Some(w) = cx.number(r, "ReceiveMessageWaitTimeSeconds")? {
        d.set("receive_wait", seconds(w), "ReceiveMessageWaitTimeSeconds");
    }
    for other in mappings {
        d.unsupported.push((
            other.id.clone(),
            format!("a second consumer of `{}`: an awsim queue has one", d.name),
        ));
    }
    Ok(())
}
