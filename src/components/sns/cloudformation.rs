//! `awsim import`: `AWS::SNS::Topic` → `sns`, with its subscriptions: the topic's own
//! `Subscription` list, the `AWS::SNS::Subscription`s whose `TopicArn` names it, and SAM `SNS`
//! events (which the transform makes subscriptions).
//!
//! Carried over: `FifoTopic`; each subscription whose `Endpoint` is a component of the template
//! (a queue, a function) with its `RedrivePolicy` dead-letter queue. A subscription to
//! something outside the template (an e-mail address, a URL) has nothing to deliver to and is
//! noted; a `FilterPolicy` filters on message attributes awsim's requests do not carry, so it
//! is noted as a TODO. A topic with no subscription in the template is listed as unsupported.

use toml::Value as Toml;

use crate::import::text::s;
use crate::import::tree::Node;
use crate::import::{Cx, Draft, ImportError, Resource};

/// The resource types that become a topic.
pub const RESOURCE_TYPES: &[&str] = &["AWS::SNS::Topic"];

/// Writes the topic of `r`.
pub fn map(r: &Resource, cx: &Cx<'_>, d: &mut Draft) -> Result<(), ImportError> {
    if r.prop("FifoTopic").and_then(Node::boolean) == Some(true) {
        d.set("type", s("fifo"), "FifoTopic");
    }
    let mut items: Vec<(Toml, String)> = Vec::new();
    let mut outside = 0;
    let mut add = |d: &mut Draft, node: &Node, from: String, holder: Option<&Resource>| {
        let endpoint = node.get("Endpoint").and_then(|e| cx.component_of(e));
        let Some((_, name, _)) = endpoint else {
            outside += 1;
            return;
        };
        if items
            .iter()
            .any(|(t, _)| t.get("endpoint").and_then(Toml::as_str) == Some(name))
        {
            return;
        }
        d.refer(name);
        let mut fields = vec![("endpoint", s(name))];
        let dlq = holder
            .and_then(|h| h.prop("RedrivePolicy"))
            .and_then(|p| p.get("deadLetterTargetArn"))
            .and_then(|n| cx.component_of(n));
        if let Some((_, q, _)) = dlq {
            d.refer(q);
            fields.push(("dead_letter_queue", s(q)));
        }
        let mut comment = from;
        if holder.and_then(|h| h.prop("FilterPolicy")).is_some() {
            comment.push_str("; TODO(import): its FilterPolicy filters on message attributes: a `filter` of `ops`, `keys` or `fraction`?");
        }
        let mut t = toml::map::Map::new();
        for (k, v) in fields {
            t.insert(k.into(), v);
        }
        items.push((Toml::Table(t), comment));
    };
    for sub in r.prop("Subscription").map(Node::items).unwrap_or_default() {
        add(d, sub, "the topic's Subscription".into(), None);
    }
    for sub in cx.referring("AWS::SNS::Subscription", "TopicArn", &r.id) {
        d.absorb(&sub.id);
        add(
            d,
            &sub.properties,
            format!("subscription `{}`", sub.id),
            Some(sub),
        );
    }
    if outside > 0 {
        d.note(format!(
            "{outside} subscription(s) to endpoints outside the template (e-mail, URLs...) not simulated"
        ));
    }
    if items.is_empty() {
        d.dropped = Some("none of its subscriptions reaches a resource of the template".into());
        return Ok(());
    }
    d.list("subscriptions", &items);
    Ok(())
}
