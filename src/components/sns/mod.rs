//! `sns`: an Amazon SNS topic (standard or FIFO) and its subscriptions.
//!
//! ```toml
//! [[component]]
//! name = "orders-topic"
//! kind = "sns"
//! type = "standard"                          # or "fifo"
//! publish_throttle = { rate = "30000/s", burst = 30000 }
//! delivery_delay = "20ms"                    # or a distribution
//! subscriptions = [
//!   { endpoint = "billing-queue" },                                  # an sqs
//!   { endpoint = "audit-fn", filter = { ops = ["write"] } },         # a lambda, invoked async
//!   { endpoint = "partner-api", filter = { fraction = 0.1 },         # any other: HTTP/S
//!     delivery_policy = { num_retries = 5, min_delay_target = "5s" },
//!     dead_letter_queue = "partner-dlq" },
//! ]
//! ```
//! Defaults come from `models/sns.toml`, with their sources.
//!
//! # What it follows (AWS's documentation)
//! - A request sent to the topic is a Publish: answered at once (or throttled with 429 when the
//!   topic's publish bucket is empty: a token bucket of `publish_throttle`, by default the
//!   us-east-1 quota, 30 000/s for standard topics and 3 000/s for FIFO topics).
//! - Every subscription whose filter policy matches gets its own copy after `delivery_delay`
//!   (fan-out): one publish becomes as many deliveries as there are matching subscriptions.
//!   A filter matches on the request's operation (`ops`), on its key (`keys`), or on a fraction
//!   of messages drawn at random (`fraction`, standing for attributes awsim does not carry);
//!   the conditions given must all hold, as the keys of a filter policy do.
//! - The endpoint's kind is the protocol: an `sqs` queue receives a SendMessage, a `lambda`
//!   an asynchronous (`event`) invocation, any other component that accepts requests is an
//!   HTTP/S endpoint and receives the request with its own operation. An answer other than
//!   success (a throttle, an error, a timeout, a lost request) is a failed delivery, retried per
//!   the delivery policy of the endpoint's type: SQS and Lambda get the AWS-managed policy
//!   (3 immediate retries, 2 one second apart, 10 with exponential back-off from 1 to 20 s,
//!   100 000 twenty seconds apart); HTTP/S endpoints get the default HTTP/S policy (3 retries
//!   20 s apart) or the subscription's own `delivery_policy` (its four phases, at most an hour in
//!   all). When the policy is exhausted the message goes to the subscription's
//!   `dead_letter_queue` (an `sqs`), or is lost; both are counted.
//! - FIFO topics deliver only to FIFO queues (and dead-letter to FIFO queues); standard topics
//!   cannot deliver to FIFO queues.
//! - Figures: `published`, `throttled`, `deliveries` (copies made), `delivered`, `retries`,
//!   `failed_attempts`, `failed_deliveries` (policy exhausted), `dead_lettered`, `lost`,
//!   `filtered_out`, and the same per subscription (`subscriptions`). Each subscription keeps a
//!   ledger: deliveries = delivered + dead-lettered + lost + in flight.
//!
//! # What it simplifies
//! No jitter on retry delays (AWS applies some; without it retry timings are exact). Only the
//! `linear` and `exponential` back-off functions. The publish quota is per topic (AWS's is per
//! account and Region for standard topics). A FIFO topic's ordering and deduplication are left
//! to its FIFO queues (the queue deduplicates by the request id); retries do not hold back the
//! later messages of a group. Message attributes are not carried: a filter matches on the
//! operation, the key, or a fraction. SNS is not billed. No raw message delivery, email, SMS or
//! mobile push; a dead-letter queue that refuses a message (a throttle) loses it silently.

mod cloudformation;
mod outputs;
mod policy;
mod topic;

use std::ops::Range;
use std::sync::OnceLock;

use serde::Deserialize;
use toml::Spanned;

use super::api_gateway::ThrottleSpec;
use super::{BuildContext, ComponentSpec, Expects, Kind, Reference, SpecIssue};
use crate::dist::DistSpec;
use crate::engine::time::SimDuration;
use crate::message::Op;
use crate::metrics::{Observe, RequestMetrics};
use crate::units::Rate;
use crate::units::limits::Limit;
use policy::{HttpDefaults, HttpPolicySpec, ManagedPolicy};
use topic::{Filter, Protocol, Subscription, Topic};

/// The `sns` table of a scenario: one topic and its subscriptions.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// `"standard"` (default) or `"fifo"`.
    #[serde(rename = "type", default)]
    pub topic_type: TopicType,
    /// Who receives the topic's messages.
    #[schemars(with = "Vec<SubscriptionSpec>")]
    pub subscriptions: Spanned<Vec<SubscriptionSpec>>,
    /// Time from an accepted publish to each delivery attempt (default 20 ms, an assumption).
    pub delivery_delay: Option<DistSpec>,
    /// The publish quota as a token bucket (default: AWS's, by topic type).
    pub publish_throttle: Option<ThrottleSpec>,
}

/// The two kinds of topic.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TopicType {
    /// Best-effort order, at-least-once delivery.
    #[default]
    Standard,
    /// Delivers to FIFO queues only.
    Fifo,
}

/// One subscription.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionSpec {
    /// The endpoint: an `sqs`, a `lambda`, or any component that accepts requests (HTTP/S).
    #[schemars(with = "String")]
    pub endpoint: Spanned<String>,
    /// Which messages it receives (default: all).
    pub filter: Option<FilterSpec>,
    /// Where messages go once the delivery policy is exhausted (an `sqs`); without one they
    /// are lost.
    #[schemars(with = "Option<String>")]
    pub dead_letter_queue: Option<Spanned<String>>,
    /// HTTP/S endpoints only: the delivery policy (default: 3 retries, 20 s apart).
    #[schemars(with = "Option<HttpPolicySpec>")]
    pub delivery_policy: Option<Spanned<HttpPolicySpec>>,
}

/// A subscription filter policy, on what a request carries.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterSpec {
    /// Operations it accepts (`read`, `write`...).
    pub ops: Option<Vec<Op>>,
    /// Keys it accepts.
    #[schemars(with = "Option<Vec<u64>>")]
    pub keys: Option<Spanned<Vec<u64>>>,
    /// The share of messages it accepts, drawn at random (0 to 1).
    #[schemars(with = "Option<f64>")]
    pub fraction: Option<Spanned<f64>>,
}

/// `models/sns.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Defaults {
    publish_rate: Rate,
    publish_burst: u32,
    fifo_publish_rate: Rate,
    fifo_publish_burst: u32,
    delivery_delay: SimDuration,
    max_message_kb: f64,
    managed_policy: ManagedPolicy,
    http_policy: HttpDefaults,
}

const DEFAULTS_TOML: &str = include_str!("../../../models/sns.toml");

/// The SNS defaults.
pub(crate) fn defaults() -> &'static Defaults {
    static DEFAULTS: OnceLock<Defaults> = OnceLock::new();
    DEFAULTS.get_or_init(|| {
        toml::from_str(DEFAULTS_TOML).expect("models/sns.toml is checked by a test")
    })
}

/// Most subscriptions of one topic (AWS allows 12.5 million; a scenario needs far fewer).
const MAX_SUBSCRIPTIONS: Limit<usize> = Limit {
    max: 1_000,
    why: "each delivery of each subscription is simulated",
};

fn issue(field: String, message: String, span: Range<usize>) -> SpecIssue {
    SpecIssue {
        field,
        message,
        span,
    }
}

impl Kind for Spec {
    const KIND: &'static str = "sns";
    const SUMMARY: &'static str = "A topic and its subscriptions: a request sent to it is a Publish, answered at once (or \
         429 when the publish quota's bucket is empty), and copied to every subscription whose \
         filter matches.";
    const FOLLOWS: &'static str = "Publish answered at once; publish quota as a token bucket (30 000/s standard, 3 000/s \
         FIFO); fan-out to every matching subscription after a delivery delay; filter policies; \
         SQS (SendMessage), Lambda (asynchronous invocation) or any component as HTTP/S; AWS's \
         delivery policies (managed: 3 immediate, 2 at 1 s, 10 backing off 1–20 s, 100 000 at 20 \
         s; HTTP/S: 3 at 20 s or the subscription's own, at most an hour); then the \
         subscription's DLQ or loss, counted; FIFO topics only to FIFO queues";
    const SIMPLIFIES: &'static str = "no retry jitter; linear and exponential back-off only; the quota per topic, not per \
         account; FIFO ordering and deduplication left to the queues; filters on operation, key \
         or a fraction (no message attributes); the delivery delay is an assumption (20 ms); not \
         billed";
    const CLOUDFORMATION_TYPES: &'static [&'static str] = cloudformation::RESOURCE_TYPES;

    fn import(
        resource: &crate::import::Resource,
        cx: &crate::import::Cx<'_>,
        draft: &mut crate::import::Draft,
    ) -> Result<(), crate::import::ImportError> {
        cloudformation::map(resource, cx, draft)
    }
    const ACCEPTS_REQUESTS: bool = true;

    fn references(&self) -> Vec<Reference<'_>> {
        let mut refs = Vec::new();
        for (i, s) in self.subscriptions.get_ref().iter().enumerate() {
            refs.push(Reference {
                field: format!("subscriptions[{i}].endpoint"),
                name: &s.endpoint,
                expects: Expects::RequestTarget,
                synchronous: false,
            });
            if let Some(dlq) = &s.dead_letter_queue {
                refs.push(Reference {
                    field: format!("subscriptions[{i}].dead_letter_queue"),
                    name: dlq,
                    expects: Expects::Kind(super::sqs::Spec::KIND),
                    synchronous: false,
                });
            }
        }
        refs
    }

    fn check(&self, _span: Range<usize>) -> Vec<SpecIssue> {
        let mut out = Vec::new();
        let subs = self.subscriptions.get_ref();
        if subs.is_empty() {
            out.push(issue(
                "subscriptions".into(),
                "a topic needs at least one subscription, e.g. `subscriptions = [ { endpoint = \"queue\" } ]`".into(),
                self.subscriptions.span(),
            ));
        }
        if let Err(message) = MAX_SUBSCRIPTIONS.check(subs.len()) {
            out.push(issue(
                "subscriptions".into(),
                message,
                self.subscriptions.span(),
            ));
        }
        if let Some(t) = &self.publish_throttle {
            t.issues("publish_throttle", &mut out);
        }
        for (i, s) in subs.iter().enumerate() {
            let field = format!("subscriptions[{i}]");
            if let Some(f) = &s.filter {
                if let Some(p) = &f.fraction
                    && !(0.0..=1.0).contains(p.get_ref())
                {
                    out.push(issue(
                        format!("{field}.filter.fraction"),
                        format!("must be between 0 and 1, found {}", p.get_ref()),
                        p.span(),
                    ));
                }
                if f.ops.is_none() && f.keys.is_none() && f.fraction.is_none() {
                    out.push(issue(
                        format!("{field}.filter"),
                        "an empty filter: give `ops`, `keys` or `fraction` (or leave out `filter` to receive every message)".into(),
                        s.endpoint.span(),
                    ));
                }
            }
            if let Some(p) = &s.delivery_policy
                && let Err(e) = p.get_ref().schedule(
                    &format!("{field}.delivery_policy"),
                    &defaults().http_policy,
                    p.span(),
                )
            {
                out.push(e);
            }
            if let Some(dlq) = &s.dead_letter_queue
                && dlq.get_ref() == s.endpoint.get_ref()
            {
                out.push(issue(
                    format!("{field}.dead_letter_queue"),
                    "the dead-letter queue is the endpoint itself; name another queue".into(),
                    dlq.span(),
                ));
            }
        }
        out
    }

    fn item_kb_issue(&self, name: &str, item_kb: f64) -> Option<String> {
        let max = defaults().max_message_kb;
        (item_kb > max).then(|| {
            format!("messages of {item_kb} KB are larger than an SNS message may be ({max} KB) for topic `{name}`")
        })
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String> {
        let d = defaults();
        let fifo = self.topic_type == TopicType::Fifo;
        let mut subscriptions = Vec::new();
        for (i, s) in self.subscriptions.get_ref().iter().enumerate() {
            let name = s.endpoint.get_ref();
            if name == cx.name {
                return Err(format!(
                    "subscriptions[{i}]: `{name}` subscribes to itself; every delivery would be \
                     published again, without end"
                ));
            }
            let spec = cx
                .specs
                .get(name.as_str())
                .ok_or_else(|| format!("unknown endpoint `{name}`"))?;
            let protocol = match spec {
                ComponentSpec::Sqs(q) => {
                    let queue_fifo = q.queue_type == super::sqs::QueueType::Fifo;
                    if queue_fifo != fifo {
                        return Err(format!(
                            "subscriptions[{i}]: `{name}` is a {} queue but `{}` is a {} topic; FIFO topics deliver only to FIFO queues and standard topics only to standard queues",
                            if queue_fifo { "FIFO" } else { "standard" },
                            cx.name,
                            if fifo { "FIFO" } else { "standard" },
                        ));
                    }
                    Protocol::Sqs
                }
                ComponentSpec::Lambda(_) => Protocol::Lambda,
                _ => Protocol::Http,
            };
            if fifo && protocol != Protocol::Sqs {
                return Err(format!(
                    "subscriptions[{i}]: a FIFO topic delivers only to FIFO queues, and `{name}` is {} {}",
                    super::article(spec.kind()),
                    spec.kind()
                ));
            }
            let schedule = match (&s.delivery_policy, protocol) {
                (Some(_), Protocol::Sqs | Protocol::Lambda) => {
                    return Err(format!(
                        "subscriptions[{i}]: `delivery_policy` is for HTTP/S endpoints; SNS's policy for {} endpoints cannot be changed",
                        spec.kind()
                    ));
                }
                (Some(p), Protocol::Http) => p
                    .get_ref()
                    .schedule("delivery_policy", &d.http_policy, p.span())
                    .map_err(|e| e.message)?,
                (None, Protocol::Http) => HttpPolicySpec::default()
                    .schedule("delivery_policy", &d.http_policy, 0..0)
                    .map_err(|e| e.message)?,
                (None, _) => d.managed_policy.schedule(),
            };
            let dlq = match &s.dead_letter_queue {
                None => None,
                Some(q) => {
                    if let Some(ComponentSpec::Sqs(spec)) = cx.specs.get(q.get_ref().as_str())
                        && (spec.queue_type == super::sqs::QueueType::Fifo) != fifo
                    {
                        return Err(format!(
                            "subscriptions[{i}]: the dead-letter queue `{}` must be a {} queue, like its topic",
                            q.get_ref(),
                            if fifo { "FIFO" } else { "standard" }
                        ));
                    }
                    Some(cx.id(q.get_ref()))
                }
            };
            let filter = s.filter.as_ref().map_or(Filter::default(), |f| Filter {
                ops: f.ops.clone(),
                keys: f.keys.as_ref().map(|k| {
                    let mut keys = k.get_ref().clone();
                    keys.sort_unstable();
                    keys
                }),
                fraction: f.fraction.as_ref().map(|p| *p.get_ref()),
            });
            subscriptions.push(Subscription::new(
                name.clone(),
                cx.id(name),
                protocol,
                filter,
                dlq,
                schedule,
            ));
        }
        let (rate, burst) = match (&self.publish_throttle, fifo) {
            (Some(t), _) => (*t.rate.get_ref(), *t.burst.get_ref()),
            (None, false) => (d.publish_rate, d.publish_burst),
            (None, true) => (d.fifo_publish_rate, d.fifo_publish_burst),
        };
        let delivery_delay = match &self.delivery_delay {
            Some(spec) => spec.build(cx.base_dir)?,
            None => crate::dist::Dist::constant(d.delivery_delay),
        };
        Ok(Box::new(Topic::new(
            subscriptions,
            crate::components::token_bucket::ExactBucket::new(rate, burst),
            delivery_delay,
            RequestMetrics::new(cx.warmup_end),
        )))
    }
}

#[cfg(test)]
mod tests;
