//! The Lambda event source mapping of a queue whose consumer declares
//! [`QueueConsumer::Function`](crate::components::QueueConsumer::Function): it invokes the
//! function synchronously with batches of up to `batch_size` messages, waits up to
//! `batch_window` to fill one, and scales its concurrent batches from 5 by up to 300 a minute
//! while messages wait, up to `maximum_concurrency`. A batch that succeeds is deleted whole; a
//! failed or throttled one is not, and its messages come back after the visibility timeout. A
//! batch holding a poison message fails whole too, unless the mapping has
//! `ReportBatchItemFailures` (`report_batch_item_failures`): then only the poison messages come
//! back ("partial batch responses").

use std::collections::BTreeMap;

use super::queue::{Queue, Received};
use super::{SqsTimer, TAG_KIND_ESM, resent};
use crate::dist::Dist;
use crate::engine::ComponentId;
use crate::engine::slab::Slab;
use crate::engine::time::SimDuration;
use crate::message::Ctx;
use crate::message::{Request, Response};

/// Concurrent batches the mapping starts with.
const INITIAL_CONCURRENCY: u32 = 5;
/// Concurrent batches the mapping may add per minute while messages wait.
const GROWTH_PER_MINUTE: u32 = 300;
/// How often the mapping reconsiders its concurrency: 300 per minute is one more every 200 ms.
const GROWTH_STEP: SimDuration = SimDuration::from_millis(200);

/// A Lambda event source mapping reading the queue.
pub(super) struct EventSourceMapping {
    /// The function.
    target: ComponentId,
    /// Messages per batch.
    batch_size: u32,
    /// Longest wait to fill a batch (zero: invoke with what is there).
    batch_window: SimDuration,
    /// Concurrent batches allowed now (grows while messages wait).
    limit: u32,
    maximum: u32,
    running: u32,
    /// The deliveries of each batch in flight.
    batches: Slab<Vec<Received>>,
    window_armed: bool,
    growth_armed: bool,
    /// The function reports the messages that failed (`ReportBatchItemFailures`): only those
    /// return to the queue.
    report_item_failures: bool,
    /// Time a receive takes (`None`: none).
    receive_latency: Option<Dist>,
    /// Batches received and not yet handed to the function (their receive is under way), with
    /// the invocation each becomes.
    receiving: BTreeMap<u32, Request>,
}

impl EventSourceMapping {
    /// A mapping invoking `target`, with at most `maximum` concurrent batches.
    pub(super) fn new(
        target: ComponentId,
        batch_size: u32,
        batch_window: SimDuration,
        maximum: u32,
        report_item_failures: bool,
        receive_latency: Option<Dist>,
    ) -> EventSourceMapping {
        EventSourceMapping {
            target,
            batch_size,
            batch_window,
            limit: INITIAL_CONCURRENCY.min(maximum),
            maximum,
            running: 0,
            batches: Slab::default(),
            window_armed: false,
            growth_armed: false,
            report_item_failures,
            receive_latency,
            receiving: BTreeMap::new(),
        }
    }

    /// Invokes the function with batches while concurrency allows and messages are there (or
    /// waits for the batch window to fill one).
    pub(super) fn dispatch(&mut self, queue: &mut Queue, cx: &mut Ctx<'_>) {
        loop {
            if self.running >= self.limit {
                // Messages wait: the mapping adds concurrency, up to 300 batches a minute.
                if !self.growth_armed && self.limit < self.maximum {
                    self.growth_armed = true;
                    cx.set_timer(GROWTH_STEP, SqsTimer::MappingGrowth(0));
                }
                return;
            }
            if !queue.deliverable() {
                return;
            }
            let visible = queue.count_visible() as u32;
            if visible < self.batch_size && !self.batch_window.is_zero() {
                // Wait up to the batch window for a fuller batch.
                if !self.window_armed {
                    self.window_armed = true;
                    cx.set_timer(self.batch_window, SqsTimer::BatchWindow(0));
                }
                return;
            }
            if !self.invoke(queue, cx) {
                return;
            }
        }
    }

    /// Invokes the function with a batch; false when nothing could be received.
    fn invoke(&mut self, queue: &mut Queue, cx: &mut Ctx<'_>) -> bool {
        let batch = queue.receive(self.batch_size, cx);
        let Some(&first) = batch.first() else {
            return false;
        };
        let first = queue.request_of(first);
        self.running += 1;
        let id = self.batches.insert(batch);
        let invocation = resent(first, TAG_KIND_ESM | id as u64, cx.me());
        match &self.receive_latency {
            None => cx.send_request(self.target, invocation),
            Some(latency) => {
                // The messages are in flight already; the function is invoked when the
                // receive returns.
                let delay = latency.sample(cx.rng());
                self.receiving.insert(id, invocation);
                cx.set_timer(delay, SqsTimer::BatchReceived(id as u64));
            }
        }
        true
    }

    /// The receive of batch `id` returned (after `receive_latency`): invoke the function.
    pub(super) fn on_received(&mut self, id: u32, cx: &mut Ctx<'_>) {
        if let Some(invocation) = self.receiving.remove(&id) {
            cx.send_request(self.target, invocation);
        }
    }

    /// The batch window ended: invoke with what is there, however small.
    pub(super) fn on_batch_window(&mut self, queue: &mut Queue, cx: &mut Ctx<'_>) {
        self.window_armed = false;
        if queue.deliverable() && self.running < self.limit {
            self.invoke(queue, cx);
        }
        self.dispatch(queue, cx);
    }

    /// The function answered for a batch. A failed invocation (an error, a throttle, a
    /// timeout) deletes nothing. One that ran deletes every message, unless the batch held a
    /// poison message: then the function's code failed on it, and without
    /// `ReportBatchItemFailures` it had to fail the whole batch (nothing deleted); with it, it
    /// reports the poison messages and the others are deleted.
    pub(super) fn on_answer(&mut self, response: Response, queue: &mut Queue, cx: &mut Ctx<'_>) {
        let id = (response.request.tag & 0xFFFF_FFFF) as u32;
        self.running -= 1;
        let batch = std::mem::take(&mut self.batches[id]);
        self.batches.remove(id);
        let ran = response.outcome.is_ok();
        let whole_batch_fails = !self.report_item_failures && batch.iter().any(|i| i.poison());
        let deleted = |item: &Received| ran && !whole_batch_fails && !item.poison();
        let deletes = batch.iter().filter(|i| deleted(i)).count();
        if deletes > 0 {
            // DeleteMessageBatch deletes up to 10 messages a request.
            queue.count_deletes(cx.now(), deletes.div_ceil(10) as u64);
        }
        for item in batch {
            queue.settle(item, deleted(&item), cx);
        }
        self.dispatch(queue, cx);
    }

    /// Every 200 ms while messages wait: one more concurrent batch if all are busy; one fewer
    /// when the queue is empty.
    pub(super) fn on_growth(&mut self, queue: &mut Queue, cx: &mut Ctx<'_>) {
        let visible = queue.count_visible();
        self.growth_armed = false;
        if visible > 0 && self.running >= self.limit {
            // A minute holds 300 steps of 200 ms.
            self.limit = (self.limit + GROWTH_PER_MINUTE / 300).min(self.maximum);
        } else if visible == 0 && self.limit > INITIAL_CONCURRENCY {
            self.limit -= 1;
        }
        self.dispatch(queue, cx);
    }
}
