//! `sqs`: an Amazon SQS queue (standard or FIFO) with the consumers that read it: pollers on
//! an `ec2_fleet` or `asg`, or a Lambda event source mapping.
//!
//! ```toml
//! [[component]]
//! name = "jobs"
//! kind = "sqs"
//! type = "standard"              # or "fifo"
//! visibility_timeout = "30s"
//! max_receive_count = 5          # then to the dead-letter queue
//! dead_letter_queue = "jobs-dlq"
//! consumer = "workers"           # an ec2_fleet / asg (pollers) or a lambda (event source mapping)
//! receive_wait = "20s"           # long polling (0s: short polling)
//! batch_size = 10
//! ```
//!
//! # What it follows (defaults from AWS's documentation)
//! - A request sent to the queue is a SendMessage: answered after `send_latency` (default 0),
//!   when the message is stored; it becomes visible after the queue's `delay` (0–15 min). A
//!   receive that returns messages takes `receive_latency` (default 0): they are in flight from
//!   its start and reach the consumer at its end. `models/sqs.toml` notes typical values (tens
//!   of milliseconds).
//! - A receive takes up to `batch_size` (≤ 10) visible messages; each becomes invisible for
//!   `visibility_timeout` (default 30 s, at most 12 h) and its receive count grows. A message
//!   not deleted by then is visible again: in a standard queue behind the messages already
//!   visible (AWS promises only best-effort order; the place is an assumption), in a FIFO queue
//!   at the head of its group. Every receive returns a new receipt handle, and
//!   what a late delete does depends on the queue type:
//!   - **Standard**: a delete with the most recent handle deletes the message even after its
//!     visibility timeout ("Amazon SQS can delete a message from a queue even if a visibility
//!     timeout setting causes the message to be locked by another consumer"): a message that
//!     was visible again but not received since is simply gone, and no duplicate. A delete
//!     with an older handle (someone received the message since) "succeeds, but the message
//!     might not be deleted": here it is not, unless `stale_delete_deletes` (a probability,
//!     default 0, an assumption) says otherwise; the late consumer's work is a duplicate
//!     delivery (counted).
//!   - **FIFO**: the handle expires with the visibility timeout ("The receipt handle has
//!     expired"): a late delete fails (`expired_receipt_deletes`, and a duplicate delivery),
//!     and the message stays for its next receive.
//!   - Heartbeats (ChangeMessageVisibility) follow the same rules: they extend only a message
//!     in flight.
//! - A message received more than `max_receive_count` times moves to the `dead_letter_queue`
//!   (a queue of the same type) instead of being delivered. `redrive_at` on a dead-letter queue
//!   moves its messages back to their source queue at that time.
//! - Messages older than `retention` (default 4 days, 60 s to 14 days) expire: counted, never
//!   silently lost.
//! - Pollers (`pollers` per consumer instance, default its vCPUs) receive a batch, process its
//!   messages one by one through the consumer's handler and delete each after success. With
//!   long polling (`receive_wait` > 0, up to 20 s) an idle poller waits for a message and gets
//!   it as soon as it arrives, else it counts an empty receive every `receive_wait`; with short
//!   polling (`receive_wait = "0s"`) it receives at once, possibly empty, and tries again after
//!   `poll_interval`. `heartbeat = true` extends the visibility of the message being processed
//!   (ChangeMessageVisibility) so slow processing does not cause duplicates; messages still
//!   waiting in a received batch are not extended.
//! - A Lambda consumer (event source mapping) invokes the function synchronously with batches
//!   of up to `batch_size`, waiting up to `batch_window` to fill one; it starts with 5
//!   concurrent batches and adds up to 300 per minute while messages wait, up to
//!   `maximum_concurrency` (2–1000). A failed or throttled batch is not deleted: its messages
//!   come back after the visibility timeout.
//! - Poison messages (`poison_fraction` of those sent, spread evenly) fail their processing every
//!   time. A poller fails them alone; a Lambda batch holding one fails whole ("the entire batch
//!   returns to the queue"), unless `report_batch_item_failures` (the mapping's
//!   `ReportBatchItemFailures`): then the function reports the failed ones and only they return.
//! - Standard queues: at-least-once delivery, best-effort order, optionally an extra delivery
//!   with probability `extra_delivery_probability`. FIFO queues: messages of one group (the
//!   request's key is its MessageGroupId) are delivered in order, one group blocked while one of
//!   its messages is in flight; a message whose deduplication id (the request id) was sent in
//!   the last 5 minutes is accepted but not enqueued again; sends beyond 300 per second are
//!   throttled.
//!
//! # What it simplifies
//! API calls take no time unless `send_latency` and `receive_latency` say so (deletes and
//! empty receives never do). The whole queue is one server (no sampling of a subset of servers
//! for short polls). Per-message delays are not modelled. A message has no contents: which messages are
//! poison is a fraction, spread evenly.
//!
//! # Where things are
//! This file holds the spec and its checks, the build, and the running component, which hands
//! each event to one of three parts: the queue itself (`queue.rs`: messages, visibility, delay,
//! retention, FIFO groups and deduplication, dead-lettering and redrive, figures), the pollers
//! of an instance consumer (`pollers.rs`) and the event source mapping of a function consumer
//! (`event_source_mapping.rs`). A consumer's kind says which of the two it is
//! ([`Kind::queue_consumer`]); the queue never reads another kind's spec. Its bill, the API
//! requests its senders and consumers make, is in `billing.rs`.

mod billing;
mod cloudformation;
mod event_source_mapping;
mod outputs;
mod pollers;
mod queue;

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::handler::DurationDist;
use super::{BuildContext, ComponentSpec, Expects, Kind, QueueConsumer, Reference, SpecIssue};
use crate::dist::Dist;
use crate::engine::slab::Slab;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{Component, ComponentId};
use crate::message::Ctx;
use crate::message::{Control, Msg, NO_ROUTE, Op, Recorded, Request};
use crate::metrics::{ComponentReport, Observe, SeriesRow};
use crate::units::limits;
use event_source_mapping::EventSourceMapping;
use pollers::Pollers;
use queue::Queue;

/// The `sqs` table of a scenario.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// `"standard"` (default) or `"fifo"`.
    #[serde(rename = "type", default)]
    pub queue_type: QueueType,
    /// How long a received message stays invisible (default 30 s, at most 12 h).
    #[schemars(with = "Option<SimDuration>")]
    pub visibility_timeout: Option<Spanned<SimDuration>>,
    /// How long a message is kept (default 4 days, 60 s to 14 days).
    #[schemars(with = "Option<SimDuration>")]
    pub retention: Option<Spanned<SimDuration>>,
    /// Delay before a sent message becomes visible (0 to 15 min).
    #[schemars(with = "Option<SimDuration>")]
    pub delay: Option<Spanned<SimDuration>>,
    /// Receives after which a message moves to the dead-letter queue (1 to 1000).
    #[schemars(with = "Option<u32>")]
    pub max_receive_count: Option<Spanned<u32>>,
    /// The dead-letter queue (an `sqs` of the same type).
    #[schemars(with = "Option<String>")]
    pub dead_letter_queue: Option<Spanned<String>>,
    /// On a dead-letter queue: when to move its messages back to their source queue.
    pub redrive_at: Option<SimDuration>,
    /// Who reads the queue: an `ec2_fleet` or `asg` (pollers) or a `lambda`.
    #[schemars(with = "Option<String>")]
    pub consumer: Option<Spanned<String>>,
    /// Long-polling wait (0 to 20 s; default 20 s for pollers; 0 means short polling).
    #[schemars(with = "Option<SimDuration>")]
    pub receive_wait: Option<Spanned<SimDuration>>,
    /// Short polling: time between receives of an idle poller (default 1 s; above zero).
    #[schemars(with = "Option<SimDuration>")]
    pub poll_interval: Option<Spanned<SimDuration>>,
    /// Messages per receive (1 to 10; Lambda: up to 10 000 with a batch window).
    #[schemars(with = "Option<u32>")]
    pub batch_size: Option<Spanned<u32>>,
    /// Lambda consumer: longest wait to fill a batch (0 to 300 s).
    #[schemars(with = "Option<SimDuration>")]
    pub batch_window: Option<Spanned<SimDuration>>,
    /// Lambda consumer: most concurrent batches (2 to 1000).
    #[schemars(with = "Option<u32>")]
    pub maximum_concurrency: Option<Spanned<u32>>,
    /// Pollers per consumer instance (default: the instance's vCPUs).
    #[schemars(with = "Option<u32>", range(max = limits::POLLERS.max))]
    pub pollers: Option<Spanned<u32>>,
    /// Pollers extend the visibility of the message they are processing.
    #[serde(default)]
    pub heartbeat: bool,
    /// Standard queues: probability that a receive delivers a message twice.
    #[schemars(with = "Option<f64>")]
    pub extra_delivery_probability: Option<Spanned<f64>>,
    /// Standard queues: probability that a delete with an older receipt handle (the message
    /// was received again since) deletes it anyway (default 0; AWS says it "might not be
    /// deleted").
    #[schemars(with = "Option<f64>")]
    pub stale_delete_deletes: Option<Spanned<f64>>,
    /// Fraction of the messages sent here that the consumer can never process (poison
    /// messages), spread evenly: 0.1 makes every tenth message sent poison (0 to 1, default 0).
    #[schemars(with = "Option<f64>")]
    pub poison_fraction: Option<Spanned<f64>>,
    /// Lambda consumer: the function reports the messages that failed
    /// (`ReportBatchItemFailures`), so only those return to the queue; without it a batch with
    /// one failed message fails whole.
    #[schemars(with = "Option<bool>")]
    pub report_batch_item_failures: Option<Spanned<bool>>,
    /// Time a SendMessage takes: the message is stored and the sender answered at its end
    /// (default 0; `models/sqs.toml` notes typical values).
    pub send_latency: Option<DurationDist>,
    /// Time a ReceiveMessage that returns messages takes: they are in flight from its start
    /// and reach the consumer at its end (default 0).
    pub receive_latency: Option<DurationDist>,
}

/// `models/sqs.toml`: the API latencies a queue takes when it sets none.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    send_latency: SimDuration,
    receive_latency: SimDuration,
}

const DEFAULTS_TOML: &str = include_str!("../../../models/sqs.toml");

/// The SQS defaults.
fn defaults() -> Defaults {
    toml::from_str(DEFAULTS_TOML).expect("models/sqs.toml parses: every sqs test builds a queue")
}

/// A latency as a distribution to draw from, or `None` when it is always zero (then no draw
/// is made, so a run without latencies draws the same numbers as before they existed).
fn latency(
    given: &Option<DurationDist>,
    default: SimDuration,
    cx: &BuildContext<'_>,
) -> Result<Option<Dist>, String> {
    match given {
        Some(d) => d.0.build(cx.base_dir).map(Some),
        None if default.is_zero() => Ok(None),
        None => Ok(Some(Dist::constant(default))),
    }
}

/// The two kinds of queue.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum QueueType {
    /// At-least-once, best-effort order.
    #[default]
    Standard,
    /// Ordered within a message group, deduplicated.
    Fifo,
}

impl QueueType {
    /// How people write it.
    fn label(self) -> &'static str {
        match self {
            QueueType::Standard => "standard",
            QueueType::Fifo => "FIFO",
        }
    }
}

const HOUR: u64 = 3600;
const MAX_VISIBILITY: SimDuration = SimDuration::from_secs(12 * HOUR);
const MIN_RETENTION: SimDuration = SimDuration::from_secs(60);
const MAX_RETENTION: SimDuration = SimDuration::from_secs(14 * 24 * HOUR);
const DEFAULT_RETENTION: SimDuration = SimDuration::from_secs(4 * 24 * HOUR);
const MAX_DELAY: SimDuration = SimDuration::from_secs(15 * 60);
const MAX_RECEIVE_WAIT: SimDuration = SimDuration::from_secs(20);
const DEFAULT_VISIBILITY: SimDuration = SimDuration::from_secs(30);
const DEDUP_WINDOW: SimDuration = SimDuration::from_secs(300);
/// FIFO queues: API calls per second per action without batching.
const FIFO_SENDS_PER_SECOND: u32 = 300;

fn issue(field: &str, message: String, span: Range<usize>) -> SpecIssue {
    SpecIssue {
        field: field.into(),
        message,
        span,
    }
}

/// Adds an issue when `value` is set and outside `min..=max` (`words` says the range).
fn check_range<T: Copy + PartialOrd + std::fmt::Display>(
    out: &mut Vec<SpecIssue>,
    field: &str,
    value: &Option<Spanned<T>>,
    min: T,
    max: T,
    words: &str,
) {
    if let Some(v) = value {
        let d = *v.get_ref();
        if d < min || d > max {
            out.push(issue(
                field,
                format!("must be {words}, found {d}"),
                v.span(),
            ));
        }
    }
}

impl Kind for Spec {
    const KIND: &'static str = "sqs";
    const SUMMARY: &'static str = "A queue, and the consumers that read it.";
    const FOLLOWS: &'static str = "SendMessage; receive batches; visibility timeout with receipt handles per queue type \
         (standard: the latest handle deletes, even late; FIFO: handles expire); redelivery; DLQ \
         after `max_receive_count`; redrive; retention with expiry counted; delay queues; long \
         and short polling with empty receives; heartbeats; Lambda event source mapping (5 \
         batches, +300/min, maximum concurrency); FIFO groups, blocking, deduplication, 300 \
         sends/s; poison messages; partial batch responses (ReportBatchItemFailures); send and \
         receive latency";
    const SIMPLIFIES: &'static str = "send and receive latency off unless set; deletes and empty receives take no time; a \
         returning message goes behind the visible ones (assumed place); no per-message delay; \
         short polls see the whole queue; poison messages are a fraction, spread evenly";
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
        if let Some(dlq) = &self.dead_letter_queue {
            refs.push(Reference {
                field: "dead_letter_queue".into(),
                name: dlq,
                expects: Expects::Kind(Self::KIND),
                synchronous: false,
            });
        }
        if let Some(c) = &self.consumer {
            refs.push(Reference {
                field: "consumer".into(),
                name: c,
                expects: Expects::Role(super::Role::QueueConsumer),
                synchronous: false,
            });
        }
        refs
    }

    fn check(&self, span: Range<usize>) -> Vec<SpecIssue> {
        let mut out = Vec::new();
        check_range(
            &mut out,
            "visibility_timeout",
            &self.visibility_timeout,
            SimDuration::ZERO,
            MAX_VISIBILITY,
            "between 0s and 12h",
        );
        check_range(
            &mut out,
            "retention",
            &self.retention,
            MIN_RETENTION,
            MAX_RETENTION,
            "between 60s and 14 days (\"14d\")",
        );
        check_range(
            &mut out,
            "delay",
            &self.delay,
            SimDuration::ZERO,
            MAX_DELAY,
            "between 0s and 15m",
        );
        check_range(
            &mut out,
            "receive_wait",
            &self.receive_wait,
            SimDuration::ZERO,
            MAX_RECEIVE_WAIT,
            "between 0s and 20s",
        );
        check_range(
            &mut out,
            "batch_window",
            &self.batch_window,
            SimDuration::ZERO,
            SimDuration::from_secs(300),
            "between 0s and 300s",
        );
        check_range(
            &mut out,
            "max_receive_count",
            &self.max_receive_count,
            1,
            1000,
            "between 1 and 1000",
        );
        if let Some(m) = &self.max_receive_count
            && self.dead_letter_queue.is_none()
        {
            out.push(issue(
                "max_receive_count",
                "needs a `dead_letter_queue` to move messages to".into(),
                m.span(),
            ));
        }
        if self.dead_letter_queue.is_some() && self.max_receive_count.is_none() {
            out.push(issue(
                "dead_letter_queue",
                "needs `max_receive_count`: how many receives before a message moves there".into(),
                span.clone(),
            ));
        }
        if let Some(b) = &self.batch_size {
            let window = self
                .batch_window
                .as_ref()
                .is_some_and(|w| !w.get_ref().is_zero());
            let max = if window { 10_000 } else { 10 };
            if !(1..=max).contains(b.get_ref()) {
                out.push(issue(
                    "batch_size",
                    format!(
                        "must be between 1 and {max}{}, found {}",
                        if window {
                            ""
                        } else {
                            " (up to 10 000 for a Lambda consumer with a batch_window)"
                        },
                        b.get_ref()
                    ),
                    b.span(),
                ));
            }
        }
        check_range(
            &mut out,
            "maximum_concurrency",
            &self.maximum_concurrency,
            2,
            1000,
            "between 2 and 1000",
        );
        self.check_loops(&mut out);
        if let Some(p) = &self.pollers {
            out.extend(SpecIssue::above_limit("pollers", p, limits::POLLERS));
        }
        if let Some(p) = &self.stale_delete_deletes {
            if !(0.0..=1.0).contains(p.get_ref()) {
                out.push(issue(
                    "stale_delete_deletes",
                    format!("must be between 0 and 1, found {}", p.get_ref()),
                    p.span(),
                ));
            } else if self.queue_type == QueueType::Fifo && *p.get_ref() > 0.0 {
                out.push(issue(
                    "stale_delete_deletes",
                    "a FIFO queue's receipt handle expires with its visibility timeout: a late \
                     delete always fails, so only standard queues take this"
                        .into(),
                    p.span(),
                ));
            }
        }
        if let Some(p) = &self.poison_fraction
            && !(0.0..=1.0).contains(p.get_ref())
        {
            out.push(issue(
                "poison_fraction",
                format!("must be between 0 and 1, found {}", p.get_ref()),
                p.span(),
            ));
        }
        if let Some(p) = &self.extra_delivery_probability {
            if !(0.0..=1.0).contains(p.get_ref()) {
                out.push(issue(
                    "extra_delivery_probability",
                    format!("must be between 0 and 1, found {}", p.get_ref()),
                    p.span(),
                ));
            } else if self.queue_type == QueueType::Fifo && *p.get_ref() > 0.0 {
                out.push(issue(
                    "extra_delivery_probability",
                    "FIFO queues deliver exactly once: only standard queues have extra deliveries"
                        .into(),
                    p.span(),
                ));
            }
        }
        out
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String> {
        let dlq = self
            .dead_letter_queue
            .as_ref()
            .map(|n| n.get_ref().as_str());
        if let Some(name) = dlq
            && let Some(ComponentSpec::Sqs(d)) = cx.specs.get(name)
            && d.queue_type != self.queue_type
        {
            return Err(format!(
                "the dead-letter queue `{name}` is a {} queue but `{}` is a {} queue; a FIFO \
                 queue needs a FIFO dead-letter queue and a standard queue a standard one",
                d.queue_type.label(),
                cx.name,
                self.queue_type.label()
            ));
        }
        if let Some(name) = dlq
            && name == cx.name
        {
            return Err(format!(
                "`{name}` names itself as its dead-letter queue; give it another queue"
            ));
        }
        let d = defaults();
        let receive_latency = latency(&self.receive_latency, d.receive_latency, cx)?;
        let consumer = self.consumer(cx, receive_latency)?;
        Ok(Box::new(Sqs {
            queue: Queue::new(self, dlq.map(|n| cx.id(n)), cx),
            consumer,
            redrive_at: self.redrive_at,
            send_latency: latency(&self.send_latency, d.send_latency, cx)?,
            pending_sends: Slab::default(),
        }))
    }
}

impl Spec {
    /// Settings that would make a consumer receive again and again at one instant, so that
    /// simulated time stops: a zero `poll_interval` (an idle short-polling poller receives
    /// again at once, forever) and, with a consumer, a zero `visibility_timeout` (a message whose
    /// processing fails at once, on a throttle or a full queue, is visible and received again at
    /// the same instant, forever).
    fn check_loops(&self, out: &mut Vec<SpecIssue>) {
        if let Some(p) = &self.poll_interval
            && p.get_ref().is_zero()
        {
            out.push(issue(
                "poll_interval",
                "must be longer than zero: an idle short-polling poller would receive again at \
                 the same instant, forever, and simulated time would stop"
                    .into(),
                p.span(),
            ));
        }
        if let Some(v) = &self.visibility_timeout
            && v.get_ref().is_zero()
            && self.consumer.is_some()
        {
            out.push(issue(
                "visibility_timeout",
                "must be longer than zero for a queue with a `consumer`: a message whose \
                 processing fails at once (a throttle, a full queue) would be received again at \
                 the same instant, forever, and simulated time would stop"
                    .into(),
                v.span(),
            ));
        }
    }

    /// The consumer, read as its spec declares ([`Kind::queue_consumer`]).
    fn consumer(
        &self,
        cx: &BuildContext<'_>,
        receive_latency: Option<Dist>,
    ) -> Result<Consumer, String> {
        let Some(name) = &self.consumer else {
            return Ok(Consumer::None);
        };
        let target = cx.id(name.get_ref());
        let batch_size = self.batch_size.as_ref().map_or(10, |b| *b.get_ref());
        let reads = cx
            .specs
            .get(name.get_ref().as_str())
            .and_then(|spec| spec.queue_consumer());
        match reads {
            Some(QueueConsumer::Function) if self.heartbeat => Err(
                "`heartbeat` is for pollers on an ec2_fleet or asg; a Lambda consumer's \
                 visibility is not extended (set the visibility timeout to at least 6 times the \
                 function's timeout, as AWS advises)"
                    .into(),
            ),
            Some(QueueConsumer::Pollers { .. })
                if self
                    .report_batch_item_failures
                    .as_ref()
                    .is_some_and(|r| *r.get_ref()) =>
            {
                Err(
                    "`report_batch_item_failures` is for a Lambda consumer (an event source \
                     mapping's ReportBatchItemFailures); pollers delete each message on its own"
                        .into(),
                )
            }
            Some(QueueConsumer::Function) => Ok(Consumer::Function(EventSourceMapping::new(
                target,
                batch_size,
                self.batch_window
                    .as_ref()
                    .map_or(SimDuration::ZERO, |b| *b.get_ref()),
                self.maximum_concurrency
                    .as_ref()
                    .map_or(1000, |m| *m.get_ref()),
                self.report_batch_item_failures
                    .as_ref()
                    .is_some_and(|r| *r.get_ref()),
                receive_latency,
            ))),
            Some(QueueConsumer::Pollers { per_instance }) => Ok(Consumer::Pollers(Pollers::new(
                target,
                self.pollers
                    .as_ref()
                    .map_or(per_instance, |p| *p.get_ref())
                    .max(1),
                batch_size,
                self.receive_wait
                    .as_ref()
                    .map_or(MAX_RECEIVE_WAIT, |w| *w.get_ref()),
                self.poll_interval
                    .as_ref()
                    .map_or(SimDuration::from_secs(1), |p| *p.get_ref()),
                receive_latency,
            ))),
            None => Err(format!("unknown consumer `{}`", name.get_ref())),
        }
    }
}

crate::timers! {
    /// The queue's timers (their order is their codes).
    enum SqsTimer {
        /// A message's visibility timeout ended: (receipt << 32) | slot.
        Visibility,
        /// A message's delivery delay ended: its slot.
        DelayOver,
        /// A poller's long-polling wait or short-polling interval ended:
        /// (generation << 32) | poller.
        Poll,
        /// Time to sweep out expired messages.
        RetentionSweep,
        /// The event source mapping's batch window ended.
        BatchWindow,
        /// The event source mapping reconsiders its concurrency.
        MappingGrowth,
        /// A dead-letter queue's `redrive_at`.
        Redrive,
        /// A SendMessage's latency ended: its slot among the pending sends.
        SendDone,
        /// A poller's ReceiveMessage latency ended: the poller.
        PollerReceived,
        /// The event source mapping's ReceiveMessage latency ended: the batch.
        BatchReceived,
    }
}

/// How often expired messages are swept out.
const RETENTION_SWEEP: SimDuration = SimDuration::from_secs(60);

/// Tags of requests the queue sends: what the answer is about (the top two bits).
const TAG_KIND_MASK: u64 = 3 << 62;
const TAG_KIND_POLLER: u64 = 1 << 62;
const TAG_KIND_ESM: u64 = 2 << 62;
const TAG_KIND_FORWARD: u64 = 3 << 62;

/// A message's request as the queue sends it on itself (to a function, a dead-letter queue,
/// a redrive source): the answer comes back to the queue with `tag`; no route, no recorded
/// duration.
fn resent(request: Request, tag: u64, me: ComponentId) -> Request {
    Request {
        reply_to: me,
        tag,
        route: NO_ROUTE,
        recorded_duration: Recorded::NONE,
        op: Op::Default,
        ..request
    }
}

/// Who reads the queue.
enum Consumer {
    /// Nobody: messages wait until they expire.
    None,
    /// Pollers on the instances of a fleet or group.
    Pollers(Pollers),
    /// A function, through an event source mapping.
    Function(EventSourceMapping),
}

/// A running queue.
pub struct Sqs {
    queue: Queue,
    consumer: Consumer,
    /// On a dead-letter queue: when to move its messages back to their source queue.
    redrive_at: Option<SimDuration>,
    /// Time a SendMessage takes (`None`: none).
    send_latency: Option<Dist>,
    /// Sends under way (with `send_latency`) and when each arrived.
    pending_sends: Slab<(Request, SimTime)>,
}

impl Sqs {
    /// Hands visible messages to idle consumers.
    fn deliver(&mut self, cx: &mut Ctx<'_>) {
        match &mut self.consumer {
            Consumer::None => {}
            Consumer::Pollers(pollers) => pollers.wake(&mut self.queue, cx),
            Consumer::Function(mapping) => mapping.dispatch(&mut self.queue, cx),
        }
    }

    fn on_control(&mut self, control: Control, cx: &mut Ctx<'_>) {
        if let Control::QueryDepth { from } = control {
            let visible = self.queue.count_visible() as u64;
            cx.send(from, Msg::Control(Control::QueueDepth { visible }));
            return;
        }
        if let Consumer::Pollers(pollers) = &mut self.consumer {
            pollers.on_control(control, &mut self.queue, cx);
        }
    }

    fn on_timer(&mut self, timer: SqsTimer, cx: &mut Ctx<'_>) {
        match (timer, &mut self.consumer) {
            (SqsTimer::Visibility(id), _) => {
                if self.queue.on_visibility_timeout(id, cx) {
                    self.deliver(cx);
                }
            }
            (SqsTimer::DelayOver(slot), _) => {
                self.queue.on_delay_over(slot as u32);
                self.deliver(cx);
            }
            (SqsTimer::RetentionSweep(id), _) => {
                self.queue.retention_sweep(cx.now());
                cx.set_timer(RETENTION_SWEEP, SqsTimer::RetentionSweep(id));
            }
            (SqsTimer::Redrive(_), _) => self.queue.redrive(cx),
            (SqsTimer::SendDone(slot), _) => {
                let (request, arrived) = self.pending_sends[slot as u32];
                self.pending_sends.remove(slot as u32);
                if self.queue.accept_send(request, arrived, cx) {
                    self.deliver(cx);
                }
            }
            (SqsTimer::PollerReceived(id), Consumer::Pollers(pollers)) => {
                pollers.on_received(id as u32, &mut self.queue, cx)
            }
            (SqsTimer::BatchReceived(id), Consumer::Function(mapping)) => {
                mapping.on_received(id as u32, cx)
            }
            (SqsTimer::Poll(id), Consumer::Pollers(pollers)) => {
                pollers.on_poll_timer(id, &mut self.queue, cx)
            }
            (SqsTimer::BatchWindow(_), Consumer::Function(mapping)) => {
                mapping.on_batch_window(&mut self.queue, cx)
            }
            (SqsTimer::MappingGrowth(_), Consumer::Function(mapping)) => {
                mapping.on_growth(&mut self.queue, cx)
            }
            (timer, _) => unreachable!("{timer:?} is set only by the consumer that handles it"),
        }
    }
}

impl Component<Msg> for Sqs {
    fn init(&mut self, cx: &mut Ctx<'_>) {
        cx.set_timer(RETENTION_SWEEP, SqsTimer::RetentionSweep(0));
        if let Some(at) = self.redrive_at {
            cx.set_timer(at, SqsTimer::Redrive(0));
        }
    }

    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => match &self.send_latency {
                None => {
                    if self.queue.on_send(request, cx) {
                        self.deliver(cx);
                    }
                }
                Some(latency) => {
                    let delay = latency.sample(cx.rng());
                    let now = cx.now();
                    self.queue.send_arrived(now);
                    let slot = self.pending_sends.insert((request, now));
                    cx.set_timer(delay, SqsTimer::SendDone(slot as u64));
                }
            },
            Msg::Response(response) => {
                match (&mut self.consumer, response.request.tag & TAG_KIND_MASK) {
                    (Consumer::Pollers(pollers), TAG_KIND_POLLER) => {
                        pollers.on_answer(response, &mut self.queue, cx)
                    }
                    (Consumer::Function(mapping), TAG_KIND_ESM) => {
                        mapping.on_answer(response, &mut self.queue, cx)
                    }
                    // A dead-letter or redrive forward was accepted.
                    _ => {}
                }
            }
            // A message handed to a poller whose instance was lost (its AZ failed): the poller is
            // gone with it and polls no more; the message, not deleted, comes back after its
            // visibility timeout. (Answering for it would let the poller spin through the queue
            // at one instant.)
            Msg::Lost(_) => {}
            Msg::Control(control) => self.on_control(control, cx),
            Msg::Timer(timer) => self.on_timer(SqsTimer::from(timer), cx),
        }
    }
}

impl Observe for Sqs {
    fn kind(&self) -> &'static str {
        Spec::KIND
    }

    fn in_flight(&self) -> u64 {
        // Sends under way (messages have their own ledger).
        self.pending_sends.len() as u64
    }

    fn sample(&mut self, now: SimTime, row: &mut SeriesRow) {
        self.queue.sample(now, row);
    }

    fn report(&self, _end: SimTime) -> ComponentReport {
        self.queue.report(Spec::KIND)
    }
}
