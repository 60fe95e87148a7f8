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
//! - A request sent to the queue is a SendMessage: answered at once; the message becomes
//!   visible after the queue's `delay` (0–15 min).
//! - A receive takes up to `batch_size` (≤ 10) visible messages; each becomes invisible for
//!   `visibility_timeout` (default 30 s, at most 12 h) and its receive count grows. A message
//!   not deleted by then is visible again; the consumer that finishes it afterwards holds a
//!   stale receipt handle, so its delete does not delete it: a duplicate delivery (counted).
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
//! - Standard queues: at-least-once delivery, best-effort order, optionally an extra delivery
//!   with probability `extra_delivery_probability`. FIFO queues: messages of one group (the
//!   request's key is its MessageGroupId) are delivered in order, one group blocked while one of
//!   its messages is in flight; a message whose deduplication id (the request id) was sent in
//!   the last 5 minutes is accepted but not enqueued again; sends beyond 300 per second are
//!   throttled.
//!
//! # What it simplifies
//! Sends take no time. A message returning to visibility goes back to the head of the queue (of
//! its group). The whole queue is one server (no sampling of a subset of servers for short
//! polls). Per-message delays and partial batch responses are not modelled.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;

use rand::Rng;
use serde::Deserialize;
use toml::Spanned;

use super::{BuildContext, ComponentSpec, Expects, Kind, Reference, SpecIssue};
use crate::engine::slab::Slab;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{Component, ComponentId, Ctx};
use crate::message::{Control, Msg, NO_ROUTE, Op, Outcome, Request, Response, Timer};
use crate::metrics::{ComponentReport, Latency, Ledger, Observe, RequestMetrics, SeriesRow};

/// The `sqs` table of a scenario.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// `"standard"` (default) or `"fifo"`.
    #[serde(rename = "type", default)]
    pub queue_type: QueueType,
    /// How long a received message stays invisible (default 30 s, at most 12 h).
    pub visibility_timeout: Option<Spanned<SimDuration>>,
    /// How long a message is kept (default 4 days, 60 s to 14 days).
    pub retention: Option<Spanned<SimDuration>>,
    /// Delay before a sent message becomes visible (0 to 15 min).
    pub delay: Option<Spanned<SimDuration>>,
    /// Receives after which a message moves to the dead-letter queue (1 to 1000).
    pub max_receive_count: Option<Spanned<u32>>,
    /// The dead-letter queue (an `sqs` of the same type).
    pub dead_letter_queue: Option<Spanned<String>>,
    /// On a dead-letter queue: when to move its messages back to their source queue.
    pub redrive_at: Option<SimDuration>,
    /// Who reads the queue: an `ec2_fleet` or `asg` (pollers) or a `lambda`.
    pub consumer: Option<Spanned<String>>,
    /// Long-polling wait (0 to 20 s; default 20 s for pollers; 0 means short polling).
    pub receive_wait: Option<Spanned<SimDuration>>,
    /// Short polling: time between receives of an idle poller (default 1 s).
    pub poll_interval: Option<SimDuration>,
    /// Messages per receive (1 to 10; Lambda: up to 10 000 with a batch window).
    pub batch_size: Option<Spanned<u32>>,
    /// Lambda consumer: longest wait to fill a batch (0 to 300 s).
    pub batch_window: Option<Spanned<SimDuration>>,
    /// Lambda consumer: most concurrent batches (2 to 1000).
    pub maximum_concurrency: Option<Spanned<u32>>,
    /// Pollers per consumer instance (default: the instance's vCPUs).
    pub pollers: Option<u32>,
    /// Pollers extend the visibility of the message they are processing.
    #[serde(default)]
    pub heartbeat: bool,
    /// Standard queues: probability that a receive delivers a message twice.
    pub extra_delivery_probability: Option<Spanned<f64>>,
}

/// The two kinds of queue.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
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

const CONSUMER_KINDS: &[&str] = &["ec2_fleet", "asg", "lambda"];
const QUEUE_KINDS: &[&str] = &["sqs"];

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
/// Lambda event source mapping: initial concurrent batches and growth per minute.
const ESM_INITIAL: u32 = 5;
const ESM_GROWTH_PER_MINUTE: u32 = 300;

fn issue(field: &str, message: String, span: Range<usize>) -> SpecIssue {
    SpecIssue {
        field: field.into(),
        message,
        span,
    }
}

fn check_range(
    out: &mut Vec<SpecIssue>,
    field: &str,
    value: &Option<Spanned<SimDuration>>,
    min: SimDuration,
    max: SimDuration,
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
    const ACCEPTS_REQUESTS: bool = true;

    fn references(&self) -> Vec<Reference<'_>> {
        let mut refs = Vec::new();
        if let Some(dlq) = &self.dead_letter_queue {
            refs.push(Reference {
                field: "dead_letter_queue".into(),
                name: dlq,
                expects: Expects::Kinds(QUEUE_KINDS),
                synchronous: false,
            });
        }
        if let Some(c) = &self.consumer {
            refs.push(Reference {
                field: "consumer".into(),
                name: c,
                expects: Expects::Kinds(CONSUMER_KINDS),
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
        if let Some(m) = &self.max_receive_count {
            if !(1..=1000).contains(m.get_ref()) {
                out.push(issue(
                    "max_receive_count",
                    format!("must be between 1 and 1000, found {}", m.get_ref()),
                    m.span(),
                ));
            }
            if self.dead_letter_queue.is_none() {
                out.push(issue(
                    "max_receive_count",
                    "needs a `dead_letter_queue` to move messages to".into(),
                    m.span(),
                ));
            }
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
        if let Some(m) = &self.maximum_concurrency
            && !(2..=1000).contains(m.get_ref())
        {
            out.push(issue(
                "maximum_concurrency",
                format!("must be between 2 and 1000, found {}", m.get_ref()),
                m.span(),
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
        let consumer = match &self.consumer {
            None => Consumer::None,
            Some(name) => {
                let id = cx.id(name.get_ref());
                match cx.specs.get(name.get_ref().as_str()) {
                    Some(ComponentSpec::Lambda(_)) => Consumer::Lambda(Esm {
                        target: id,
                        limit: ESM_INITIAL.min(self.max_concurrency()),
                        maximum: self.max_concurrency(),
                        running: 0,
                        batches: Slab::default(),
                        window_armed: false,
                        growth_armed: false,
                    }),
                    Some(spec) => {
                        let vcpus = match spec {
                            ComponentSpec::Ec2Fleet(f) => *f.vcpus.get_ref(),
                            ComponentSpec::Asg(a) => a.vcpus,
                            _ => 1,
                        };
                        Consumer::Pollers(Pollers {
                            target: id,
                            per_host: self.pollers.unwrap_or(vcpus).max(1),
                            hosts: BTreeMap::new(),
                            pollers: Slab::default(),
                            waiting: VecDeque::new(),
                        })
                    }
                    None => return Err(format!("unknown consumer `{}`", name.get_ref())),
                }
            }
        };
        let is_lambda = matches!(consumer, Consumer::Lambda(_));
        if is_lambda && self.heartbeat {
            return Err(
                "`heartbeat` is for pollers on an ec2_fleet or asg; a Lambda consumer's \
                 visibility is not extended (set the visibility timeout to at least 6 times the \
                 function's timeout, as AWS advises)"
                    .into(),
            );
        }
        Ok(Box::new(Sqs {
            queue_type: self.queue_type,
            visibility_timeout: self
                .visibility_timeout
                .as_ref()
                .map_or(DEFAULT_VISIBILITY, |v| *v.get_ref()),
            retention: self
                .retention
                .as_ref()
                .map_or(DEFAULT_RETENTION, |v| *v.get_ref()),
            delay: self
                .delay
                .as_ref()
                .map_or(SimDuration::ZERO, |v| *v.get_ref()),
            max_receive_count: self.max_receive_count.as_ref().map(|m| *m.get_ref()),
            dead_letter_queue: dlq.map(|n| cx.id(n)),
            redrive_at: self.redrive_at,
            redrive_to: cx.referrers("dead_letter_queue").first().copied(),
            receive_wait: self
                .receive_wait
                .as_ref()
                .map_or(MAX_RECEIVE_WAIT, |w| *w.get_ref()),
            poll_interval: self.poll_interval.unwrap_or(SimDuration::from_secs(1)),
            batch_size: self.batch_size.as_ref().map_or(10, |b| *b.get_ref()),
            batch_window: self
                .batch_window
                .as_ref()
                .map_or(SimDuration::ZERO, |b| *b.get_ref()),
            heartbeat: self.heartbeat,
            extra_delivery: self
                .extra_delivery_probability
                .as_ref()
                .map_or(0.0, |p| *p.get_ref()),
            consumer,
            messages: Slab::default(),
            visible: VecDeque::new(),
            groups: BTreeMap::new(),
            ready_groups: VecDeque::new(),
            dedup: VecDeque::new(),
            dedup_ids: BTreeMap::new(),
            send_window: (SimTime::ZERO, 0),
            counts: MessageCounts::default(),
            delayed: 0,
            extra_copies: VecDeque::new(),
            next_receipt: 0,
            age: Latency::new(3),
            metrics: RequestMetrics::new(cx.warmup_end),
            warmup_end: cx.warmup_end,
        }))
    }
}

impl Spec {
    fn max_concurrency(&self) -> u32 {
        self.maximum_concurrency
            .as_ref()
            .map_or(1000, |m| *m.get_ref())
    }
}

/// Where a message is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Where {
    Delayed,
    Visible,
    InFlight,
}

#[derive(Clone, Debug)]
struct Message {
    request: Request,
    sent_at: SimTime,
    receive_count: u32,
    /// The current receipt handle (new at each receive and each return to visibility), so
    /// stale visibility timers and deletes are recognised.
    receipt: u32,
    state: Where,
    /// Being processed by a poller with heartbeats (its visibility keeps being extended).
    processing: bool,
    /// The queue that dead-lettered it here (for redrive).
    source: Option<ComponentId>,
}

/// One delivery a receive returned.
#[derive(Copy, Clone, Debug)]
enum Received {
    /// A message, with the receipt handle of this receive.
    Message {
        /// Its slot.
        slot: u32,
        /// The receipt handle of this receive.
        receipt: u32,
        /// When the message was sent (it may be gone by the time this delivery ends).
        sent_at: SimTime,
    },
    /// An extra copy of a message a standard queue delivered twice: processing it repeats
    /// work, and its delete deletes nothing.
    Extra {
        /// The message's request.
        request: Request,
        /// When the message was sent.
        sent_at: SimTime,
    },
}

impl Received {
    fn sent_at(&self) -> SimTime {
        match *self {
            Received::Message { sent_at, .. } | Received::Extra { sent_at, .. } => sent_at,
        }
    }
}

/// One consumer instance (for pollers).
#[derive(Clone, Debug, Default)]
struct Host {
    /// Pollers of this host (slots in `Pollers::pollers`).
    pollers: Vec<u32>,
    /// Messages sent to the host and not yet answered.
    outstanding: u32,
    /// Deregistered: its pollers stop; once idle the host is reported drained.
    draining: bool,
}

#[derive(Clone, Debug)]
struct Poller {
    host: u32,
    /// Received messages not yet handed to the host (slot, receipt).
    batch: VecDeque<Received>,
    /// The message being processed, if any.
    current: Option<Received>,
    /// Bumped each time the poller starts waiting, so stale wait timers are ignored.
    wait_generation: u32,
    waiting: bool,
    stopped: bool,
}

struct Pollers {
    target: ComponentId,
    per_host: u32,
    hosts: BTreeMap<u32, Host>,
    pollers: Slab<Poller>,
    /// Long-polling pollers waiting for a message, in the order they started waiting.
    waiting: VecDeque<(u32, u32)>,
}

/// Lambda event source mapping.
struct Esm {
    target: ComponentId,
    /// Concurrent batches allowed now (grows while messages wait).
    limit: u32,
    maximum: u32,
    running: u32,
    /// Messages of each batch in flight: (slot, receipt).
    batches: Slab<Vec<Received>>,
    window_armed: bool,
    growth_armed: bool,
}

enum Consumer {
    None,
    Pollers(Pollers),
    Lambda(Esm),
}

/// Whole-run and window message counts.
#[derive(Clone, Debug, Default, serde::Serialize)]
struct MessageCounts {
    sent: u64,
    sent_total: u64,
    deduplicated: u64,
    received: u64,
    deleted: u64,
    deleted_total: u64,
    redeliveries: u64,
    duplicate_deliveries: u64,
    extra_deliveries: u64,
    dead_lettered: u64,
    dead_lettered_total: u64,
    expired: u64,
    expired_total: u64,
    redriven_total: u64,
    empty_receives: u64,
    heartbeats: u64,
    failed_processing: u64,
    throttled_sends: u64,
}

/// Timer kinds.
const TIMER_VISIBILITY: u32 = 0;
const TIMER_DELAY_DONE: u32 = 1;
const TIMER_POLL: u32 = 2;
const TIMER_RETENTION: u32 = 3;
const TIMER_BATCH_WINDOW: u32 = 4;
const TIMER_ESM_GROWTH: u32 = 5;
const TIMER_REDRIVE: u32 = 6;

/// How often expired messages are swept out.
const RETENTION_SWEEP: SimDuration = SimDuration::from_secs(60);

/// Tags of requests the queue sends: what the answer is about.
const TAG_KIND_POLLER: u64 = 1 << 62;
const TAG_KIND_ESM: u64 = 2 << 62;
const TAG_KIND_FORWARD: u64 = 3 << 62;

/// A running queue.
pub struct Sqs {
    queue_type: QueueType,
    visibility_timeout: SimDuration,
    retention: SimDuration,
    delay: SimDuration,
    max_receive_count: Option<u32>,
    dead_letter_queue: Option<ComponentId>,
    redrive_at: Option<SimDuration>,
    redrive_to: Option<ComponentId>,
    receive_wait: SimDuration,
    poll_interval: SimDuration,
    batch_size: u32,
    batch_window: SimDuration,
    heartbeat: bool,
    extra_delivery: f64,
    consumer: Consumer,
    messages: Slab<Message>,
    /// Standard queue: visible messages, head first.
    visible: VecDeque<u32>,
    /// FIFO queue: visible messages per group, and the groups ready to deliver (not blocked).
    groups: BTreeMap<u64, FifoGroup>,
    ready_groups: VecDeque<u64>,
    /// FIFO deduplication: ids sent in the last 5 minutes, oldest first.
    dedup: VecDeque<(SimTime, u64)>,
    dedup_ids: BTreeMap<u64, SimTime>,
    /// FIFO send throttle: (second started, sends in it).
    send_window: (SimTime, u32),
    counts: MessageCounts,
    /// Messages waiting for their delivery delay.
    delayed: u64,
    /// Extra copies (standard queues) waiting to be received.
    extra_copies: VecDeque<(Request, SimTime)>,
    /// Receipt handles are unique across the queue (not per slot), so a timer or delete of a
    /// message never matches a later message that reuses its slot.
    next_receipt: u32,
    /// Send → delete time of deleted messages.
    age: Latency,
    metrics: RequestMetrics,
    warmup_end: SimTime,
}

#[derive(Clone, Debug, Default)]
struct FifoGroup {
    messages: VecDeque<u32>,
    /// Messages of the group in flight (the group is blocked while > 0).
    in_flight: u32,
    /// In `ready_groups`.
    ready: bool,
}

impl Sqs {
    fn in_window(&self, t: SimTime) -> bool {
        t >= self.warmup_end
    }

    // ----- the queue itself -----

    fn count_visible(&self) -> usize {
        match self.queue_type {
            QueueType::Standard => self.visible.len(),
            QueueType::Fifo => self.groups.values().map(|g| g.messages.len()).sum(),
        }
    }

    /// True when a receive would return something now (FIFO: a message of an unblocked group).
    fn deliverable(&self) -> bool {
        if !self.extra_copies.is_empty() {
            return true;
        }
        match self.queue_type {
            QueueType::Standard => !self.visible.is_empty(),
            QueueType::Fifo => self.ready_groups.iter().any(|g| {
                self.groups
                    .get(g)
                    .is_some_and(|g| g.in_flight == 0 && !g.messages.is_empty())
            }),
        }
    }

    /// Makes message `slot` visible (at the back for new messages, at the head for returns).
    fn make_visible(&mut self, slot: u32, at_head: bool) {
        let msg = &mut self.messages[slot];
        msg.state = Where::Visible;
        msg.processing = false;
        match self.queue_type {
            QueueType::Standard => {
                if at_head {
                    self.visible.push_front(slot);
                } else {
                    self.visible.push_back(slot);
                }
            }
            QueueType::Fifo => {
                let group_id = msg.request.key;
                let g = self.groups.entry(group_id).or_default();
                if at_head {
                    g.messages.push_front(slot);
                } else {
                    g.messages.push_back(slot);
                }
                if g.in_flight == 0 && !g.ready {
                    g.ready = true;
                    self.ready_groups.push_back(group_id);
                }
            }
        }
    }

    /// Takes the next visible message, if any (FIFO: from the next unblocked group).
    fn pop_visible(&mut self) -> Option<u32> {
        match self.queue_type {
            QueueType::Standard => self.visible.pop_front(),
            QueueType::Fifo => {
                while let Some(group_id) = self.ready_groups.pop_front() {
                    let g = self.groups.get_mut(&group_id).expect("ready group exists");
                    g.ready = false;
                    if g.in_flight > 0 {
                        continue;
                    }
                    if let Some(slot) = g.messages.pop_front() {
                        g.in_flight += 1;
                        return Some(slot);
                    }
                    self.groups.remove(&group_id);
                }
                None
            }
        }
    }

    /// A FIFO message left flight (deleted, moved, or visible again): unblock its group.
    fn release_group(&mut self, slot: u32) {
        if self.queue_type != QueueType::Fifo {
            return;
        }
        let group_id = self.messages[slot].request.key;
        if let Some(g) = self.groups.get_mut(&group_id) {
            g.in_flight -= 1;
            if g.in_flight == 0 && !g.messages.is_empty() && !g.ready {
                g.ready = true;
                self.ready_groups.push_back(group_id);
            }
            if g.in_flight == 0 && g.messages.is_empty() {
                self.groups.remove(&group_id);
            }
        }
    }

    /// Receives up to `max` messages: each becomes in flight with a new receipt; messages past
    /// their receive limit go to the dead-letter queue instead, expired ones are dropped.
    fn receive(&mut self, max: u32, cx: &mut Ctx<'_>) -> Vec<Received> {
        let now = cx.now();
        let mut got = Vec::new();
        // Extra copies of earlier deliveries come out like any visible message.
        while got.len() < max as usize {
            let Some((request, sent_at)) = self.extra_copies.pop_front() else {
                break;
            };
            got.push(Received::Extra { request, sent_at });
        }
        while got.len() < max as usize {
            let Some(slot) = self.pop_visible() else {
                break;
            };
            if now >= self.messages[slot].sent_at + self.retention {
                self.release_group(slot);
                self.expire(slot);
                continue;
            }
            let msg = &mut self.messages[slot];
            msg.receive_count += 1;
            if let Some(limit) = self.max_receive_count
                && msg.receive_count > limit
            {
                self.dead_letter(slot, cx);
                continue;
            }
            self.next_receipt = self.next_receipt.wrapping_add(1);
            msg.receipt = self.next_receipt;
            msg.state = Where::InFlight;
            let (receipt, first) = (msg.receipt, msg.receive_count == 1);
            let sent_at = msg.sent_at;
            if self.in_window(sent_at) {
                self.counts.received += 1;
                if !first {
                    self.counts.redeliveries += 1;
                }
            }
            cx.set_timer(
                self.visibility_timeout,
                Timer {
                    kind: TIMER_VISIBILITY,
                    id: ((receipt as u64) << 32) | slot as u64,
                },
            );
            got.push(Received::Message {
                slot,
                receipt,
                sent_at,
            });
            // Standard queues occasionally deliver a message twice (at-least-once): the copy
            // goes out with a later receive, to any consumer.
            if self.extra_delivery > 0.0 && cx.rng().random::<f64>() < self.extra_delivery {
                if self.in_window(sent_at) {
                    self.counts.extra_deliveries += 1;
                }
                let request = self.messages[slot].request;
                self.extra_copies.push_back((request, sent_at));
            }
        }
        got
    }

    fn expire(&mut self, slot: u32) {
        if self.in_window(self.messages[slot].sent_at) {
            self.counts.expired += 1;
        }
        self.counts.expired_total += 1;
        self.messages.remove(slot);
    }

    fn dead_letter(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let msg = self.messages[slot].clone();
        if self.in_window(msg.sent_at) {
            self.counts.dead_lettered += 1;
        }
        self.counts.dead_lettered_total += 1;
        self.release_group_if_fifo_popped(slot);
        self.messages.remove(slot);
        if let Some(dlq) = self.dead_letter_queue {
            let forward = Request {
                reply_to: cx.me(),
                tag: TAG_KIND_FORWARD,
                route: NO_ROUTE,
                recorded_duration: crate::message::Recorded::NONE,
                op: Op::Default,
                ..msg.request
            };
            cx.send_request(dlq, forward);
        }
    }

    /// A FIFO message taken by `pop_visible` but not delivered leaves its group's flight.
    fn release_group_if_fifo_popped(&mut self, slot: u32) {
        self.release_group(slot);
    }

    /// Deletes message `slot` if `receipt` is its current receipt; false if stale.
    fn delete(&mut self, slot: u32, receipt: u32, now: SimTime) -> bool {
        let current = self.messages.is_live(slot)
            && self.messages[slot].receipt == receipt
            && self.messages[slot].state == Where::InFlight;
        if !current {
            return false;
        }
        let sent_at = self.messages[slot].sent_at;
        if self.in_window(sent_at) {
            self.counts.deleted += 1;
            self.age.record(now - sent_at);
        }
        self.counts.deleted_total += 1;
        self.release_group(slot);
        self.messages.remove(slot);
        true
    }

    fn on_visibility_timeout(&mut self, timer: Timer, cx: &mut Ctx<'_>) {
        let slot = timer.id as u32;
        let receipt = (timer.id >> 32) as u32;
        if !self.messages.is_live(slot) {
            return;
        }
        let msg = &mut self.messages[slot];
        if msg.receipt != receipt || msg.state != Where::InFlight {
            return;
        }
        if msg.processing && self.heartbeat {
            // ChangeMessageVisibility: the poller still works on it.
            let sent_at = msg.sent_at;
            if self.in_window(sent_at) {
                self.counts.heartbeats += 1;
            }
            cx.set_timer(self.visibility_timeout, timer);
            return;
        }
        // Visible again; the receipt handle of whoever holds it is now stale.
        self.next_receipt = self.next_receipt.wrapping_add(1);
        msg.receipt = self.next_receipt;
        self.release_group(slot);
        self.make_visible(slot, true);
        self.deliver(cx);
    }

    fn on_send(&mut self, request: Request, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.metrics.arrived(now);
        if self.queue_type == QueueType::Fifo {
            // Throttle beyond the per-second API limit.
            let (start, n) = self.send_window;
            if now >= start + SimDuration::from_secs(1) {
                self.send_window = (now, 1);
            } else if n >= FIFO_SENDS_PER_SECOND {
                if self.in_window(now) {
                    self.counts.throttled_sends += 1;
                }
                self.metrics.finished(now, now, Outcome::Throttled);
                cx.reply(Response {
                    request,
                    outcome: Outcome::Throttled,
                });
                return;
            } else {
                self.send_window.1 += 1;
            }
            // Deduplication within 5 minutes (the request id is the deduplication id).
            while let Some(&(t, id)) = self.dedup.front() {
                if t + DEDUP_WINDOW > now {
                    break;
                }
                self.dedup.pop_front();
                if self.dedup_ids.get(&id) == Some(&t) {
                    self.dedup_ids.remove(&id);
                }
            }
            if self.dedup_ids.contains_key(&request.id) {
                if self.in_window(now) {
                    self.counts.deduplicated += 1;
                }
                self.metrics.finished(now, now, Outcome::Ok);
                cx.reply(Response {
                    request,
                    outcome: Outcome::Ok,
                });
                return;
            }
            self.dedup.push_back((now, request.id));
            self.dedup_ids.insert(request.id, now);
        }
        self.metrics.finished(now, now, Outcome::Ok);
        cx.reply(Response {
            request,
            outcome: Outcome::Ok,
        });
        self.enqueue(request, now, cx);
    }

    fn enqueue(&mut self, request: Request, sent_at: SimTime, cx: &mut Ctx<'_>) {
        if self.in_window(sent_at) {
            self.counts.sent += 1;
        }
        self.counts.sent_total += 1;
        let slot = self.messages.insert(Message {
            request,
            sent_at,
            receive_count: 0,
            receipt: 0,
            state: Where::Delayed,
            processing: false,
            source: (request.tag == TAG_KIND_FORWARD).then_some(request.reply_to),
        });
        if self.delay.is_zero() {
            self.make_visible(slot, false);
            self.deliver(cx);
        } else {
            self.delayed += 1;
            cx.set_timer(
                self.delay,
                Timer {
                    kind: TIMER_DELAY_DONE,
                    id: slot as u64,
                },
            );
        }
    }

    fn retention_sweep(&mut self, now: SimTime) {
        let retention = self.retention;
        match self.queue_type {
            QueueType::Standard => {
                // Best-effort order keeps the oldest near the head.
                while let Some(&slot) = self.visible.front() {
                    if now < self.messages[slot].sent_at + retention {
                        break;
                    }
                    self.visible.pop_front();
                    self.expire(slot);
                }
            }
            QueueType::Fifo => {
                let ids: Vec<u64> = self.groups.keys().copied().collect();
                for id in ids {
                    loop {
                        let g = self.groups.get_mut(&id).expect("group");
                        let Some(&slot) = g.messages.front() else {
                            break;
                        };
                        if now < self.messages[slot].sent_at + retention {
                            break;
                        }
                        g.messages.pop_front();
                        self.expire(slot);
                    }
                }
            }
        }
    }

    fn oldest_age(&self, now: SimTime) -> Option<f64> {
        let front = match self.queue_type {
            QueueType::Standard => self
                .visible
                .iter()
                .take(64)
                .map(|&s| self.messages[s].sent_at)
                .min(),
            QueueType::Fifo => self
                .groups
                .values()
                .filter_map(|g| g.messages.front())
                .map(|&s| self.messages[s].sent_at)
                .min(),
        };
        front.map(|t| now.saturating_since(t).as_secs_f64())
    }

    // ----- consumers -----

    /// Hands visible messages to idle consumers.
    fn deliver(&mut self, cx: &mut Ctx<'_>) {
        match &self.consumer {
            Consumer::None => {}
            Consumer::Pollers(_) => self.wake_pollers(cx),
            Consumer::Lambda(_) => self.esm_dispatch(cx),
        }
    }

    fn pollers(&mut self) -> &mut Pollers {
        match &mut self.consumer {
            Consumer::Pollers(p) => p,
            _ => unreachable!("poller consumer"),
        }
    }

    fn wake_pollers(&mut self, cx: &mut Ctx<'_>) {
        while self.deliverable() {
            let Some((poller, generation)) = self.pollers().waiting.pop_front() else {
                break;
            };
            let p = &self.pollers().pollers[poller];
            if !p.waiting || p.wait_generation != generation || p.stopped {
                continue;
            }
            self.pollers().pollers[poller].waiting = false;
            self.poll(poller, cx);
        }
    }

    /// Poller `id` receives: processes what it gets, or waits (long polling) / retries later
    /// (short polling).
    fn poll(&mut self, id: u32, cx: &mut Ctx<'_>) {
        if self.pollers().pollers[id].stopped {
            return;
        }
        let batch = self.receive(self.batch_size, cx);
        if batch.is_empty() {
            let now = cx.now();
            let wait = self.receive_wait;
            let p = &mut self.pollers().pollers[id];
            p.wait_generation = p.wait_generation.wrapping_add(1);
            let generation = p.wait_generation;
            if wait.is_zero() {
                // Short polling: an empty answer at once; try again later.
                if self.in_window(now) {
                    self.counts.empty_receives += 1;
                }
                cx.set_timer(
                    self.poll_interval,
                    Timer {
                        kind: TIMER_POLL,
                        id: ((generation as u64) << 32) | id as u64,
                    },
                );
            } else {
                p.waiting = true;
                self.pollers().waiting.push_back((id, generation));
                cx.set_timer(
                    wait,
                    Timer {
                        kind: TIMER_POLL,
                        id: ((generation as u64) << 32) | id as u64,
                    },
                );
            }
            return;
        }
        self.pollers().pollers[id].batch.extend(batch);
        self.process_next(id, cx);
    }

    fn on_poll_timer(&mut self, timer: Timer, cx: &mut Ctx<'_>) {
        let id = timer.id as u32;
        let generation = (timer.id >> 32) as u32;
        let now = cx.now();
        let long = !self.receive_wait.is_zero();
        let p = &mut self.pollers().pollers[id];
        if p.wait_generation != generation || p.stopped || p.current.is_some() {
            return;
        }
        if long {
            if !p.waiting {
                return;
            }
            // The long poll ended empty.
            p.waiting = false;
            if self.in_window(now) {
                self.counts.empty_receives += 1;
            }
        }
        self.poll(id, cx);
    }

    /// Hands poller `id`'s next received message to its host, or receives again.
    fn process_next(&mut self, id: u32, cx: &mut Ctx<'_>) {
        loop {
            let Some(next) = self.pollers().pollers[id].batch.pop_front() else {
                self.poll(id, cx);
                return;
            };
            let original = match next {
                Received::Message { slot, receipt, .. } => {
                    let live =
                        self.messages.is_live(slot) && self.messages[slot].receipt == receipt;
                    if !live {
                        // Its visibility ended while it waited in the batch: someone else has
                        // it.
                        continue;
                    }
                    self.messages[slot].processing = true;
                    self.messages[slot].request
                }
                Received::Extra { request, .. } => request,
            };
            let host = self.pollers().pollers[id].host;
            let target = self.pollers().target;
            let request = Request {
                reply_to: cx.me(),
                tag: TAG_KIND_POLLER | ((id as u64) << 32),
                route: host,
                op: Op::Default,
                ..original
            };
            let pollers = self.pollers();
            pollers.pollers[id].current = Some(next);
            pollers.hosts.get_mut(&host).expect("host").outstanding += 1;
            cx.send_request(target, request);
            return;
        }
    }

    fn on_poller_answer(&mut self, response: Response, cx: &mut Ctx<'_>) {
        let id = ((response.request.tag >> 32) & 0x3FFF_FFFF) as u32;
        let now = cx.now();
        let done = self.pollers().pollers[id]
            .current
            .take()
            .expect("poller was processing");
        let host = self.pollers().pollers[id].host;
        let h = self.pollers().hosts.get_mut(&host).expect("host");
        h.outstanding -= 1;
        let counted = self.in_window(done.sent_at());
        match done {
            Received::Message { slot, receipt, .. } => {
                if self.messages.is_live(slot) && self.messages[slot].receipt == receipt {
                    self.messages[slot].processing = false;
                }
                if response.outcome.is_ok() {
                    // A delete with a stale receipt handle deletes nothing: the message
                    // finished after its visibility timeout and was (or will be) delivered
                    // again.
                    if !self.delete(slot, receipt, now) && counted {
                        self.counts.duplicate_deliveries += 1;
                    }
                } else if counted {
                    // Not deleted: it comes back after its visibility timeout.
                    self.counts.failed_processing += 1;
                }
            }
            Received::Extra { .. } => {
                // The work was done twice; the delete of the copy deletes nothing.
                if counted {
                    self.counts.duplicate_deliveries += 1;
                }
            }
        }
        let draining = self.pollers().hosts[&host].draining;
        if draining {
            self.pollers().pollers[id].stopped = true;
            self.pollers().pollers[id].batch.clear();
            self.maybe_drained(host, cx);
        } else {
            self.process_next(id, cx);
        }
    }

    fn maybe_drained(&mut self, host: u32, cx: &mut Ctx<'_>) {
        let target = self.pollers().target;
        let h = &self.pollers().hosts[&host];
        if h.draining && h.outstanding == 0 {
            self.pollers().hosts.remove(&host);
            cx.send(target, Msg::Control(Control::Drained { instance: host }));
        }
    }

    fn on_control(&mut self, control: Control, cx: &mut Ctx<'_>) {
        if let Control::QueryDepth { from } = control {
            let visible = self.count_visible() as u64;
            cx.send(from, Msg::Control(Control::QueueDepth { visible }));
            return;
        }
        if !matches!(self.consumer, Consumer::Pollers(_)) {
            return;
        }
        match control {
            Control::Register { instance, .. } => {
                let per_host = self.pollers().per_host;
                let mut ids = Vec::new();
                for _ in 0..per_host {
                    let id = self.pollers().pollers.insert(Poller {
                        host: instance,
                        batch: VecDeque::new(),
                        current: None,
                        wait_generation: 0,
                        waiting: false,
                        stopped: false,
                    });
                    ids.push(id);
                }
                self.pollers().hosts.insert(
                    instance,
                    Host {
                        pollers: ids.clone(),
                        outstanding: 0,
                        draining: false,
                    },
                );
                for id in ids {
                    self.poll(id, cx);
                }
            }
            Control::Deregister { instance } => {
                let Some(h) = self.pollers().hosts.get_mut(&instance) else {
                    cx.send(
                        self.pollers().target,
                        Msg::Control(Control::Drained { instance }),
                    );
                    return;
                };
                h.draining = true;
                let ids = h.pollers.clone();
                for id in ids {
                    let p = &mut self.pollers().pollers[id];
                    if p.current.is_none() {
                        // Idle or waiting: stops now; received messages come back later.
                        p.stopped = true;
                        p.waiting = false;
                        p.batch.clear();
                    }
                }
                self.maybe_drained(instance, cx);
            }
            Control::HealthCheck { instance, from } => {
                cx.send(
                    from,
                    Msg::Control(Control::HealthCheckResult {
                        instance,
                        healthy: true,
                    }),
                );
            }
            _ => {}
        }
    }

    // ----- Lambda event source mapping -----

    fn esm(&mut self) -> &mut Esm {
        match &mut self.consumer {
            Consumer::Lambda(e) => e,
            _ => unreachable!("lambda consumer"),
        }
    }

    fn esm_dispatch(&mut self, cx: &mut Ctx<'_>) {
        loop {
            let esm = self.esm();
            if esm.running >= esm.limit {
                // Messages wait: the mapping adds concurrency, up to 300 batches a minute.
                if !esm.growth_armed && esm.limit < esm.maximum {
                    esm.growth_armed = true;
                    cx.set_timer(
                        SimDuration::from_millis(200),
                        Timer {
                            kind: TIMER_ESM_GROWTH,
                            id: 0,
                        },
                    );
                }
                return;
            }
            if !self.deliverable() {
                return;
            }
            let visible = self.count_visible() as u32;
            if visible < self.batch_size && !self.batch_window.is_zero() {
                // Wait up to the batch window for a fuller batch.
                let window = self.batch_window;
                let esm = self.esm();
                if !esm.window_armed {
                    esm.window_armed = true;
                    cx.set_timer(
                        window,
                        Timer {
                            kind: TIMER_BATCH_WINDOW,
                            id: 0,
                        },
                    );
                }
                return;
            }
            if !self.esm_invoke(cx) {
                return;
            }
        }
    }

    /// Invokes the function with a batch; false when nothing could be received.
    fn esm_invoke(&mut self, cx: &mut Ctx<'_>) -> bool {
        let batch = self.receive(self.batch_size, cx);
        let Some(first) = batch.first() else {
            return false;
        };
        let first = match *first {
            Received::Message { slot, .. } => self.messages[slot].request,
            Received::Extra { request, .. } => request,
        };
        let esm = self.esm();
        esm.running += 1;
        let target = esm.target;
        let id = esm.batches.insert(batch);
        let request = Request {
            reply_to: cx.me(),
            tag: TAG_KIND_ESM | id as u64,
            route: NO_ROUTE,
            recorded_duration: crate::message::Recorded::NONE,
            op: Op::Default,
            ..first
        };
        cx.send_request(target, request);
        true
    }

    fn on_esm_answer(&mut self, response: Response, cx: &mut Ctx<'_>) {
        let id = (response.request.tag & 0xFFFF_FFFF) as u32;
        let now = cx.now();
        let esm = self.esm();
        esm.running -= 1;
        let batch = esm.batches[id].clone();
        esm.batches.remove(id);
        let ok = response.outcome.is_ok();
        for item in batch {
            let counted = self.in_window(item.sent_at());
            // A stale delete (or the copy of an extra delivery) deletes nothing: duplicate work.
            let duplicate = ok
                && match item {
                    Received::Message { slot, receipt, .. } => !self.delete(slot, receipt, now),
                    Received::Extra { .. } => true,
                };
            if counted && duplicate {
                self.counts.duplicate_deliveries += 1;
            } else if counted && !ok {
                // Throttled or failed: the batch returns after its visibility timeout.
                self.counts.failed_processing += 1;
            }
        }
        self.esm_dispatch(cx);
    }

    fn on_esm_growth(&mut self, cx: &mut Ctx<'_>) {
        let visible = self.count_visible();
        let esm = self.esm();
        esm.growth_armed = false;
        if visible > 0 && esm.running >= esm.limit {
            // 300 per minute is one more every 200 ms.
            esm.limit = (esm.limit + ESM_GROWTH_PER_MINUTE / 300).min(esm.maximum);
        } else if visible == 0 && esm.limit > ESM_INITIAL {
            esm.limit -= 1;
        }
        self.esm_dispatch(cx);
    }

    fn redrive(&mut self, cx: &mut Ctx<'_>) {
        let Some(fallback) = self.redrive_to else {
            return;
        };
        while let Some(slot) = self.pop_visible() {
            let msg = self.messages[slot].clone();
            // Back to the queue that dead-lettered it.
            let source = msg.source.unwrap_or(fallback);
            self.counts.redriven_total += 1;
            self.release_group(slot);
            self.messages.remove(slot);
            let forward = Request {
                reply_to: cx.me(),
                tag: TAG_KIND_FORWARD,
                route: NO_ROUTE,
                recorded_duration: crate::message::Recorded::NONE,
                op: Op::Default,
                ..msg.request
            };
            cx.send_request(source, forward);
        }
    }

    fn inside(&self) -> u64 {
        self.messages.len() as u64
    }
}

impl Component for Sqs {
    fn init(&mut self, cx: &mut Ctx<'_>) {
        cx.set_timer(
            RETENTION_SWEEP,
            Timer {
                kind: TIMER_RETENTION,
                id: 0,
            },
        );
        if let Some(at) = self.redrive_at {
            cx.set_timer(
                at,
                Timer {
                    kind: TIMER_REDRIVE,
                    id: 0,
                },
            );
        }
    }

    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => self.on_send(request, cx),
            Msg::Response(response) => match response.request.tag & (3 << 62) {
                TAG_KIND_POLLER => self.on_poller_answer(response, cx),
                TAG_KIND_ESM => self.on_esm_answer(response, cx),
                _ => {} // a dead-letter or redrive forward was accepted
            },
            // A message handed to a poller whose instance was lost (its AZ failed): the poller is
            // gone with it and polls no more; the message, not deleted, comes back after its
            // visibility timeout. (Answering for it would let the poller spin through the queue
            // at one instant.)
            Msg::Lost(_) => {}
            Msg::Control(control) => self.on_control(control, cx),
            Msg::Timer(timer) => match timer.kind {
                TIMER_VISIBILITY => self.on_visibility_timeout(timer, cx),
                TIMER_DELAY_DONE => {
                    self.delayed -= 1;
                    self.make_visible(timer.id as u32, false);
                    self.deliver(cx);
                }
                TIMER_POLL => self.on_poll_timer(timer, cx),
                TIMER_RETENTION => {
                    self.retention_sweep(cx.now());
                    cx.set_timer(RETENTION_SWEEP, timer);
                }
                TIMER_BATCH_WINDOW => {
                    self.esm().window_armed = false;
                    if self.deliverable() && self.esm().running < self.esm().limit {
                        self.esm_invoke(cx);
                    }
                    self.esm_dispatch(cx);
                }
                TIMER_ESM_GROWTH => self.on_esm_growth(cx),
                TIMER_REDRIVE => self.redrive(cx),
                _ => debug_assert!(false, "unknown sqs timer {timer:?}"),
            },
        }
    }
}

impl Observe for Sqs {
    fn kind(&self) -> &'static str {
        Spec::KIND
    }

    fn in_flight(&self) -> u64 {
        // Sends are answered at once; messages have their own ledger.
        0
    }

    fn sample(&mut self, now: SimTime, row: &mut SeriesRow) {
        self.metrics.sample(0, row);
        row.queue_length = Some(self.count_visible() as u64);
        row.messages_in_flight = Some(self.messages_in(Where::InFlight));
        row.messages_delayed = Some(self.messages_in(Where::Delayed));
        row.oldest_message_age_s = self.oldest_age(now);
    }

    fn report(&self, _end: SimTime) -> ComponentReport {
        let c = &self.counts;
        let finished = c.deleted_total + c.dead_lettered_total + c.expired_total + c.redriven_total;
        let mut report = self
            .metrics
            .report(Spec::KIND, 0)
            .figure("type", self.queue_type)
            .figure("sent", c.sent)
            .figure("received", c.received)
            .figure("deleted", c.deleted)
            .figure("redeliveries", c.redeliveries)
            .figure("duplicate_deliveries", c.duplicate_deliveries)
            .figure("extra_deliveries", c.extra_deliveries)
            .figure("dead_lettered", c.dead_lettered)
            .figure("expired", c.expired)
            .figure("deduplicated", c.deduplicated)
            .figure("empty_receives", c.empty_receives)
            .figure("heartbeats", c.heartbeats)
            .figure("failed_processing", c.failed_processing)
            .figure("throttled_sends", c.throttled_sends)
            .figure("visible_end", self.count_visible())
            .figure("in_flight_end", self.messages_in(Where::InFlight))
            .figure("message_age_ms", self.age.summary());
        report.ledgers.push(Ledger {
            name: "messages",
            created: c.sent_total,
            finished,
            inside: self.inside(),
        });
        report
    }
}

impl Sqs {
    fn messages_in(&self, state: Where) -> u64 {
        let visible = self.count_visible() as u64;
        match state {
            Where::Visible => visible,
            Where::Delayed => self.delayed,
            Where::InFlight => self.inside() - visible - self.delayed,
        }
    }
}
