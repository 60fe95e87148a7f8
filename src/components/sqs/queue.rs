//! The queue itself: its messages and where each one is (delayed, visible, in flight), receipt
//! handles and visibility timeouts, FIFO groups and deduplication, retention, dead-lettering and
//! redrive, and the figures it reports. Consumers ([`super::pollers`],
//! [`super::event_source_mapping`]) receive, process and settle messages through its methods.

use super::outputs::Gauge;
use std::collections::{BTreeMap, VecDeque};

use rand::Rng;

use super::billing::{Requests, chunks};
use super::{
    DEDUP_WINDOW, DEFAULT_RETENTION, DEFAULT_VISIBILITY, FIFO_SENDS_PER_SECOND, QueueType, Spec,
    SqsTimer, TAG_KIND_FORWARD, resent,
};
use crate::components::BuildContext;
use crate::defaults::SqsPrices;
use crate::engine::slab::Slab;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{ComponentId, EventId};
use crate::message::Ctx;
use crate::message::{Msg, Outcome, Request, Response};
use crate::metrics::{ComponentReport, Latency, Ledger, RequestMetrics, SeriesRow};

/// Where a message is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Where {
    Delayed,
    Visible,
    InFlight,
    /// Deleted while visible (a standard queue's late delete with the latest receipt handle):
    /// still in the list of visible messages, dropped when a receive or the retention sweep
    /// reaches it, so a delete never searches the list.
    Deleted,
}

/// One message in the queue.
#[derive(Clone, Debug)]
struct Message {
    request: Request,
    sent_at: SimTime,
    receive_count: u32,
    /// The receipt handle of the latest receive (a FIFO queue's also changes when the message
    /// becomes visible again: its handle expires), so stale visibility timers and deletes are
    /// recognised.
    receipt: u32,
    /// The queue's receipt counter when the message was stored: every handle of this message
    /// is above it, so an old handle of the message that held its slot before is told apart.
    stored_at_receipt: u32,
    state: Where,
    /// Being processed by a poller with heartbeats (its visibility keeps being extended).
    processing: bool,
    /// The queue that dead-lettered it here (for redrive).
    source: Option<ComponentId>,
    /// Its visibility timer while in flight, cancelled when it is deleted: left to fire, the
    /// timers of deleted messages kept a visibility timeout's worth of receives pending.
    visibility: EventId,
    /// A poison message: its processing fails every time (`poison_fraction`).
    poison: bool,
}

/// One delivery a receive returned.
#[derive(Copy, Clone, Debug)]
pub(super) enum Received {
    /// A message, with the receipt handle of this receive.
    Message {
        /// Its slot.
        slot: u32,
        /// The receipt handle of this receive.
        receipt: u32,
        /// When the message was sent (it may be gone by the time this delivery ends).
        sent_at: SimTime,
        /// A poison message: its processing fails.
        poison: bool,
    },
    /// An extra copy of a message a standard queue delivered twice: processing it repeats
    /// work, and its delete deletes nothing.
    Extra {
        /// The message's request.
        request: Request,
        /// When the message was sent.
        sent_at: SimTime,
        /// A copy of a poison message: its processing fails.
        poison: bool,
    },
}

impl Received {
    /// When the delivered message was sent.
    pub(super) fn sent_at(&self) -> SimTime {
        match *self {
            Received::Message { sent_at, .. } | Received::Extra { sent_at, .. } => sent_at,
        }
    }

    /// True for a poison message (or its copy): its processing fails.
    pub(super) fn poison(&self) -> bool {
        match *self {
            Received::Message { poison, .. } | Received::Extra { poison, .. } => poison,
        }
    }
}

/// Most messages one ReceiveMessage returns.
const MESSAGES_PER_RECEIVE: usize = 10;

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
    expired_receipt_deletes: u64,
    late_deletes: u64,
    empty_receives: u64,
    heartbeats: u64,
    failed_processing: u64,
    throttled_sends: u64,
}

/// The visible messages of one FIFO message group.
#[derive(Clone, Debug, Default)]
struct FifoGroup {
    messages: VecDeque<u32>,
    /// Messages of the group in flight (the group is blocked while > 0).
    in_flight: u32,
    /// In `ready_groups`.
    ready: bool,
}

/// The messages of one queue and the rules they follow, without its consumers.
pub(super) struct Queue {
    queue_type: QueueType,
    visibility_timeout: SimDuration,
    retention: SimDuration,
    delay: SimDuration,
    max_receive_count: Option<u32>,
    dead_letter_queue: Option<ComponentId>,
    /// On a dead-letter queue: where redriven messages go when their source is unknown.
    redrive_to: Option<ComponentId>,
    /// Pollers extend the visibility of the message they are processing.
    heartbeat: bool,
    /// Standard queues: probability that a receive delivers a message twice.
    extra_delivery: f64,
    /// Standard queues: probability that a delete with an older receipt handle deletes.
    stale_delete_deletes: f64,
    messages: Slab<Message>,
    /// Messages deleted while visible, still listed in `visible` ([`Where::Deleted`]).
    deleted_visible: u64,
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
    /// API requests billed in the window.
    requests: Requests,
    prices: SqsPrices,
    /// Messages waiting for their delivery delay.
    delayed: u64,
    /// Extra copies (standard queues) waiting to be received, with their poison flag.
    extra_copies: VecDeque<(Request, SimTime, bool)>,
    /// Fraction of the messages sent here that are poison, spread evenly.
    poison_fraction: f64,
    /// Messages sent here and stored (not moved here), for spreading the poison ones.
    stored_sends: u64,
    /// Receipt handles are unique across the queue (not per slot), so a timer or delete of a
    /// message never matches a later message that reuses its slot.
    next_receipt: u32,
    /// Send → delete time of deleted messages.
    age: Latency,
    metrics: RequestMetrics,
    warmup_end: SimTime,
}

impl Queue {
    /// An empty queue as `spec` describes it; `dead_letter_queue` is the id of its own DLQ.
    pub(super) fn new(
        spec: &Spec,
        dead_letter_queue: Option<ComponentId>,
        cx: &BuildContext<'_>,
    ) -> Queue {
        Queue {
            queue_type: spec.queue_type,
            visibility_timeout: spec
                .visibility_timeout
                .as_ref()
                .map_or(DEFAULT_VISIBILITY, |v| *v.get_ref()),
            retention: spec
                .retention
                .as_ref()
                .map_or(DEFAULT_RETENTION, |v| *v.get_ref()),
            delay: spec
                .delay
                .as_ref()
                .map_or(SimDuration::ZERO, |v| *v.get_ref()),
            max_receive_count: spec.max_receive_count.as_ref().map(|m| *m.get_ref()),
            dead_letter_queue,
            redrive_to: cx.referrers("dead_letter_queue").first().copied(),
            heartbeat: spec.heartbeat,
            extra_delivery: spec
                .extra_delivery_probability
                .as_ref()
                .map_or(0.0, |p| *p.get_ref()),
            stale_delete_deletes: spec
                .stale_delete_deletes
                .as_ref()
                .map_or(0.0, |p| *p.get_ref()),
            messages: Slab::default(),
            deleted_visible: 0,
            visible: VecDeque::new(),
            groups: BTreeMap::new(),
            ready_groups: VecDeque::new(),
            dedup: VecDeque::new(),
            dedup_ids: BTreeMap::new(),
            send_window: (SimTime::ZERO, 0),
            counts: MessageCounts::default(),
            requests: Requests::default(),
            prices: cx.prices.sqs.clone(),
            delayed: 0,
            extra_copies: VecDeque::new(),
            poison_fraction: spec.poison_fraction.as_ref().map_or(0.0, |p| *p.get_ref()),
            stored_sends: 0,
            next_receipt: 0,
            age: Latency::new(3),
            metrics: RequestMetrics::new(cx.warmup_end),
            warmup_end: cx.warmup_end,
        }
    }

    /// True when something at `t` counts in the figures (after the warm-up).
    pub(super) fn in_window(&self, t: SimTime) -> bool {
        t >= self.warmup_end
    }

    // ----- sending -----

    /// A SendMessage: answered at once (FIFO: throttled beyond 300 per second, accepted but not
    /// enqueued again when its deduplication id was sent in the last 5 minutes). True when a
    /// message became visible, for the consumers to be told.
    pub(super) fn on_send(&mut self, request: Request, cx: &mut Ctx<'_>) -> bool {
        let now = cx.now();
        self.send_arrived(now);
        self.accept_send(request, now, cx)
    }

    /// A SendMessage arrived at `now` (its answer follows, after `send_latency`).
    pub(super) fn send_arrived(&mut self, now: SimTime) {
        self.metrics.arrived(now);
    }

    /// The SendMessage that arrived at `arrived` is done now: stored (or throttled, or
    /// deduplicated) and answered, as [`Queue::on_send`] says.
    pub(super) fn accept_send(
        &mut self,
        request: Request,
        arrived: SimTime,
        cx: &mut Ctx<'_>,
    ) -> bool {
        let now = cx.now();
        if self.queue_type == QueueType::Fifo {
            // Throttle beyond the per-second API limit.
            let (start, n) = self.send_window;
            if now >= start + SimDuration::from_secs(1) {
                self.send_window = (now, 1);
            } else if n >= FIFO_SENDS_PER_SECOND {
                if self.in_window(now) {
                    self.counts.throttled_sends += 1;
                }
                self.answer(request, arrived, Outcome::Throttled, cx);
                return false;
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
                self.count_send(&request, now);
                self.answer(request, arrived, Outcome::Ok, cx);
                return false;
            }
            self.dedup.push_back((now, request.id));
            self.dedup_ids.insert(request.id, now);
        }
        self.count_send(&request, now);
        self.answer(request, arrived, Outcome::Ok, cx);
        self.enqueue(request, now, cx)
    }

    /// Bills an accepted send at `now` (a dead-letter move or a redrive is no send).
    fn count_send(&mut self, request: &Request, now: SimTime) {
        if request.tag != TAG_KIND_FORWARD && self.in_window(now) {
            self.requests.sends += chunks(f64::from(request.item_kb));
        }
    }

    /// Bills `calls` delete requests made at `now`.
    pub(super) fn count_deletes(&mut self, now: SimTime, calls: u64) {
        if self.in_window(now) {
            self.requests.deletes += calls;
        }
    }

    /// Answers a send that arrived at `arrived`.
    fn answer(&mut self, request: Request, arrived: SimTime, outcome: Outcome, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.metrics.finished(arrived, now, outcome);
        cx.reply(Response { request, outcome });
    }

    /// Stores a sent message: visible now (true) or after the queue's delay (false).
    fn enqueue(&mut self, request: Request, sent_at: SimTime, cx: &mut Ctx<'_>) -> bool {
        if self.in_window(sent_at) {
            self.counts.sent += 1;
        }
        self.counts.sent_total += 1;
        let poison = request.tag != TAG_KIND_FORWARD && self.next_send_is_poison();
        let slot = self.messages.insert(Message {
            request,
            sent_at,
            receive_count: 0,
            receipt: 0,
            stored_at_receipt: self.next_receipt,
            state: Where::Delayed,
            processing: false,
            source: (request.tag == TAG_KIND_FORWARD).then_some(request.reply_to),
            visibility: EventId::NONE,
            poison,
        });
        if self.delay.is_zero() {
            self.make_visible(slot, false);
            true
        } else {
            self.delayed += 1;
            cx.set_timer(self.delay, SqsTimer::DelayOver(slot as u64));
            false
        }
    }

    /// Whether the next message sent here is poison: the n-th (from 1) is when n × fraction
    /// passes a whole number, so exactly `fraction` of them are, evenly spread (0.1: the 10th,
    /// 20th...). An assumption: the model has no contents, and even spreading keeps counts
    /// exact. Messages moved here (dead-lettered, redriven) are never poison: a redrive
    /// follows a fix.
    fn next_send_is_poison(&mut self) -> bool {
        if self.poison_fraction <= 0.0 {
            return false;
        }
        // A hair of slack so that 10 × 0.1 counts as 1.
        let whole = |n: u64| (n as f64 * self.poison_fraction + 1e-9).floor();
        let n = self.stored_sends;
        self.stored_sends += 1;
        whole(n + 1) > whole(n)
    }

    /// The delivery delay of message `slot` is over: it becomes visible.
    pub(super) fn on_delay_over(&mut self, slot: u32) {
        self.delayed -= 1;
        self.make_visible(slot, false);
    }

    // ----- visible messages -----

    /// Visible messages (ApproximateNumberOfMessagesVisible).
    pub(super) fn count_visible(&self) -> usize {
        match self.queue_type {
            QueueType::Standard => self.visible.len() - self.deleted_visible as usize,
            QueueType::Fifo => self.groups.values().map(|g| g.messages.len()).sum(),
        }
    }

    /// True when a receive would return something now (FIFO: a message of an unblocked group).
    pub(super) fn deliverable(&self) -> bool {
        if !self.extra_copies.is_empty() {
            return true;
        }
        match self.queue_type {
            QueueType::Standard => self.visible.len() as u64 > self.deleted_visible,
            QueueType::Fifo => self.ready_groups.iter().any(|g| {
                self.groups
                    .get(g)
                    .is_some_and(|g| g.in_flight == 0 && !g.messages.is_empty())
            }),
        }
    }

    /// Makes message `slot` visible: at the back, or at the head (of its group) with `at_head`.
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
            QueueType::Standard => loop {
                let slot = self.visible.pop_front()?;
                if !self.drop_if_deleted(slot) {
                    return Some(slot);
                }
            },
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

    /// Frees message `slot`, just taken off the list of visible messages, if it was deleted
    /// while there; true if it was.
    fn drop_if_deleted(&mut self, slot: u32) -> bool {
        if self.messages[slot].state != Where::Deleted {
            return false;
        }
        self.messages.remove(slot);
        self.deleted_visible -= 1;
        true
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

    // ----- receiving and settling -----

    /// Receives up to `max` messages: each becomes in flight with a new receipt; messages past
    /// their receive limit go to the dead-letter queue instead, expired ones are dropped.
    pub(super) fn receive(&mut self, max: u32, cx: &mut Ctx<'_>) -> Vec<Received> {
        let now = cx.now();
        let mut got = Vec::new();
        // Extra copies of earlier deliveries come out like any visible message.
        while got.len() < max as usize {
            let Some((request, sent_at, poison)) = self.extra_copies.pop_front() else {
                break;
            };
            got.push(Received::Extra {
                request,
                sent_at,
                poison,
            });
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
            let (sent_at, poison) = (msg.sent_at, msg.poison);
            if self.in_window(sent_at) {
                self.counts.received += 1;
                if !first {
                    self.counts.redeliveries += 1;
                }
            }
            let timer = SqsTimer::Visibility(((receipt as u64) << 32) | slot as u64);
            self.messages[slot].visibility =
                cx.send_self(self.visibility_timeout, Msg::Timer(timer.into()));
            got.push(Received::Message {
                slot,
                receipt,
                sent_at,
                poison,
            });
            // Standard queues occasionally deliver a message twice (at-least-once): the copy
            // goes out with a later receive, to any consumer.
            if self.extra_delivery > 0.0 && cx.rng().random::<f64>() < self.extra_delivery {
                if self.in_window(sent_at) {
                    self.counts.extra_deliveries += 1;
                }
                let request = self.messages[slot].request;
                self.extra_copies.push_back((request, sent_at, poison));
            }
        }
        if !got.is_empty() && self.in_window(now) {
            // A ReceiveMessage returns at most 10 messages (an event source mapping's larger
            // batches take several), each call billed per 64 KB of what it returns.
            for call in got.chunks(MESSAGES_PER_RECEIVE) {
                let kb: f64 = call
                    .iter()
                    .map(|&item| f64::from(self.request_of(item).item_kb.max(0.0)))
                    .sum();
                self.requests.receives += chunks(kb);
            }
        }
        got
    }

    /// The request of a delivery, as it was sent.
    pub(super) fn request_of(&self, item: Received) -> Request {
        match item {
            Received::Message { slot, .. } => self.messages[slot].request,
            Received::Extra { request, .. } => request,
        }
    }

    /// A poller starts processing a delivery: its request, or `None` when its visibility ended
    /// while it waited in the poller's batch (someone else has it now).
    pub(super) fn start_processing(&mut self, item: Received) -> Option<Request> {
        match item {
            Received::Message { slot, receipt, .. } => {
                if !self.messages.is_live(slot) {
                    return None;
                }
                let msg = &mut self.messages[slot];
                if msg.receipt != receipt || msg.state == Where::Deleted {
                    return None;
                }
                // Heartbeats now extend its visibility, while it is in flight: a standard
                // queue's message visible again (nobody received it since) is still processed,
                // but ChangeMessageVisibility fails for a message not in flight.
                msg.processing = msg.state == Where::InFlight;
                Some(msg.request)
            }
            Received::Extra { request, .. } => Some(request),
        }
    }

    /// A poller stopped processing message `slot` (received with `receipt`): no more
    /// heartbeats.
    pub(super) fn stop_processing(&mut self, slot: u32, receipt: u32) {
        if self.messages.is_live(slot) && self.messages[slot].receipt == receipt {
            self.messages[slot].processing = false;
        }
    }

    /// A consumer is done with a delivery. After success it deletes the message (see
    /// [`Queue::delete`] for what a late delete does); a delete that deletes nothing, or of an
    /// extra copy, means the work is done twice: a duplicate delivery. After a failure nothing
    /// is deleted: the message comes back after its visibility timeout.
    pub(super) fn settle(&mut self, item: Received, ok: bool, cx: &mut Ctx<'_>) {
        let counted = self.in_window(item.sent_at());
        let duplicate = ok
            && match item {
                Received::Message {
                    slot,
                    receipt,
                    sent_at,
                    ..
                } => !self.delete(slot, receipt, sent_at, cx),
                Received::Extra { .. } => true,
            };
        if counted && duplicate {
            self.counts.duplicate_deliveries += 1;
        } else if counted && !ok {
            self.counts.failed_processing += 1;
        }
    }

    /// Counts a delivery that repeated work already done (a message sent at `sent_at`).
    pub(super) fn count_duplicate(&mut self, sent_at: SimTime) {
        if self.in_window(sent_at) {
            self.counts.duplicate_deliveries += 1;
        }
    }

    /// Counts a receive at `now` that returned nothing.
    pub(super) fn count_empty_receive(&mut self, now: SimTime) {
        if self.in_window(now) {
            self.counts.empty_receives += 1;
            self.requests.empty_receives += 1;
        }
    }

    /// DeleteMessage of message `slot` with the handle `receipt`; true when it deleted it.
    ///
    /// Standard queues: the latest receive's handle deletes the message, in flight or visible
    /// again after its timeout; an older one (the message was received since) deletes it only
    /// with probability `stale_delete_deletes`. FIFO queues: the handle expires with the
    /// visibility timeout, so a late delete fails (`expired_receipt_deletes`) and the
    /// message stays.
    fn delete(&mut self, slot: u32, receipt: u32, sent_at: SimTime, cx: &mut Ctx<'_>) -> bool {
        // Deleted already, or moved to the dead-letter queue: a slot reused since holds a
        // message with another handle.
        let ours = self.messages.is_live(slot) && {
            let msg = &self.messages[slot];
            // Later than the counter at its store (wrapping, like the counter).
            (receipt.wrapping_sub(msg.stored_at_receipt) as i32) > 0
        };
        let (state, latest) = match ours {
            true => (
                self.messages[slot].state,
                self.messages[slot].receipt == receipt,
            ),
            false => (Where::Deleted, false),
        };
        let deletes = match self.queue_type {
            QueueType::Fifo => {
                let current = latest && state == Where::InFlight;
                if !current && self.in_window(sent_at) {
                    self.counts.expired_receipt_deletes += 1;
                }
                current
            }
            QueueType::Standard => match state {
                Where::Deleted | Where::Delayed => false,
                Where::InFlight | Where::Visible if latest => true,
                Where::InFlight | Where::Visible => {
                    self.stale_delete_deletes > 0.0
                        && cx.rng().random::<f64>() < self.stale_delete_deletes
                }
            },
        };
        if !deletes {
            return false;
        }
        let now = cx.now();
        if self.in_window(sent_at) {
            self.counts.deleted += 1;
            self.age.record(now - sent_at);
            if state == Where::Visible {
                self.counts.late_deletes += 1;
            }
        }
        self.counts.deleted_total += 1;
        if state == Where::Visible {
            // Still listed among the visible messages: dropped when reached.
            self.messages[slot].state = Where::Deleted;
            self.deleted_visible += 1;
            return true;
        }
        self.release_group(slot);
        cx.cancel(self.messages[slot].visibility);
        self.messages.remove(slot);
        true
    }

    /// The visibility timeout armed with payload `id` (receipt and slot) ended. True when the
    /// message became visible again, for the consumers to be told.
    pub(super) fn on_visibility_timeout(&mut self, id: u64, cx: &mut Ctx<'_>) -> bool {
        let slot = id as u32;
        let receipt = (id >> 32) as u32;
        if !self.messages.is_live(slot) {
            return false;
        }
        let msg = &mut self.messages[slot];
        if msg.receipt != receipt || msg.state != Where::InFlight {
            return false;
        }
        if msg.processing && self.heartbeat {
            // ChangeMessageVisibility: the poller still works on it.
            let sent_at = msg.sent_at;
            if self.in_window(sent_at) {
                self.counts.heartbeats += 1;
            }
            if self.in_window(cx.now()) {
                self.requests.visibility_changes += 1;
            }
            let timer = Msg::Timer(SqsTimer::Visibility(id).into());
            self.messages[slot].visibility = cx.send_self(self.visibility_timeout, timer);
            return false;
        }
        // Visible again. A FIFO queue's receipt handle expires now; a standard queue's stays
        // good until the next receive.
        if self.queue_type == QueueType::Fifo {
            self.next_receipt = self.next_receipt.wrapping_add(1);
            msg.receipt = self.next_receipt;
        }
        self.release_group(slot);
        // Standard queues promise only best-effort order: a returning message goes behind the
        // messages already visible (an assumption; AWS documents no place). A FIFO message
        // goes back to the head of its group, whose order AWS keeps.
        self.make_visible(slot, self.queue_type == QueueType::Fifo);
        true
    }

    // ----- retention, dead letters, redrive -----

    fn expire(&mut self, slot: u32) {
        if self.in_window(self.messages[slot].sent_at) {
            self.counts.expired += 1;
        }
        self.counts.expired_total += 1;
        self.messages.remove(slot);
    }

    /// Drops visible messages older than the retention period.
    pub(super) fn retention_sweep(&mut self, now: SimTime) {
        let retention = self.retention;
        match self.queue_type {
            QueueType::Standard => {
                // Best-effort order keeps the oldest near the head.
                while let Some(&slot) = self.visible.front() {
                    let deleted = self.messages[slot].state == Where::Deleted;
                    if !deleted && now < self.messages[slot].sent_at + retention {
                        break;
                    }
                    self.visible.pop_front();
                    if !self.drop_if_deleted(slot) {
                        self.expire(slot);
                    }
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

    /// Moves message `slot` (taken by `pop_visible`, past its receive limit) to the
    /// dead-letter queue.
    fn dead_letter(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let msg = self.messages[slot].clone();
        if self.in_window(msg.sent_at) {
            self.counts.dead_lettered += 1;
        }
        self.counts.dead_lettered_total += 1;
        self.release_group(slot);
        self.messages.remove(slot);
        if let Some(dlq) = self.dead_letter_queue {
            cx.send_request(dlq, resent(msg.request, TAG_KIND_FORWARD, cx.me()));
        }
    }

    /// On a dead-letter queue: moves every visible message back to the queue that
    /// dead-lettered it.
    pub(super) fn redrive(&mut self, cx: &mut Ctx<'_>) {
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
            cx.send_request(source, resent(msg.request, TAG_KIND_FORWARD, cx.me()));
        }
    }

    // ----- figures -----

    /// Messages in the queue, wherever they are (not those deleted while visible).
    fn inside(&self) -> u64 {
        self.messages.len() as u64 - self.deleted_visible
    }

    fn messages_in(&self, state: Where) -> u64 {
        let visible = self.count_visible() as u64;
        match state {
            Where::Visible => visible,
            Where::Delayed => self.delayed,
            Where::InFlight => self.inside() - visible - self.delayed,
            Where::Deleted => self.deleted_visible,
        }
    }

    fn oldest_age(&self, now: SimTime) -> Option<f64> {
        let front = match self.queue_type {
            QueueType::Standard => self
                .visible
                .iter()
                .take(64)
                .filter(|&&s| self.messages[s].state != Where::Deleted)
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

    /// Writes the queue's gauges into a time-series row.
    pub(super) fn sample(&mut self, now: SimTime, row: &mut SeriesRow) {
        self.metrics.sample(0, row);
        row.queue_length = Some(self.count_visible() as u64);
        let in_flight = self.messages_in(Where::InFlight) as f64;
        row.set_gauge(Gauge::MessagesInFlight as usize, Some(in_flight));
        let delayed = self.messages_in(Where::Delayed) as f64;
        row.set_gauge(Gauge::MessagesDelayed as usize, Some(delayed));
        row.set_gauge(Gauge::OldestMessageAge as usize, self.oldest_age(now));
    }

    /// The queue's figures and its ledger of messages.
    pub(super) fn report(&self, kind: &'static str) -> ComponentReport {
        let c = &self.counts;
        let finished = c.deleted_total + c.dead_lettered_total + c.expired_total + c.redriven_total;
        let mut report = self
            .metrics
            .report(kind, 0)
            .figure("type", self.queue_type)
            .figure("sent", c.sent)
            .figure("received", c.received)
            .figure("deleted", c.deleted)
            .figure("redeliveries", c.redeliveries)
            .figure("duplicate_deliveries", c.duplicate_deliveries)
            .figure("late_deletes", c.late_deletes)
            .figure("expired_receipt_deletes", c.expired_receipt_deletes)
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
            .figure("message_age_ms", self.age.summary())
            .bill(Some(self.requests.bill(self.queue_type, &self.prices)));
        report.ledgers.push(Ledger {
            name: "messages",
            created: c.sent_total,
            finished,
            inside: self.inside(),
        });
        report
    }
}
