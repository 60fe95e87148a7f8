//! Asynchronous invocations (`op = "event"`): accepted at once into the function's queue,
//! started as concurrency allows, retried after a failure, and given up (to the `on_failure`
//! destination, or dropped) when out of retries or age.

use super::{Lambda, LambdaTimer};
use crate::engine::time::{SimDuration, SimTime};
use crate::message::Ctx;
use crate::message::{NO_ROUTE, Op, Outcome, Request, Response};

/// An asynchronous event's own state, beside the invocation that runs it.
#[derive(Copy, Clone, Debug)]
pub(super) struct Event {
    /// The request as its caller sent it.
    pub(super) request: Request,
    /// When the function accepted it.
    pub(super) accepted_at: SimTime,
    /// Retries already used.
    pub(super) retries: u32,
}

/// Back-off of throttled asynchronous events: from 1 s, doubling, up to 5 minutes.
pub(super) const MIN_THROTTLE_BACKOFF: SimDuration = SimDuration::from_secs(1);
const MAX_THROTTLE_BACKOFF: SimDuration = SimDuration::from_secs(300);

impl Lambda {
    /// An asynchronous invocation: accepted at once (202), the event carries on inside.
    pub(super) fn accept_event(&mut self, request: Request, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.metrics.finished(now, now, Outcome::Ok);
        cx.reply(Response {
            request,
            outcome: Outcome::Ok,
        });
        self.figures.events_created_total += 1;
        if self.in_window(now) {
            self.figures.events_accepted += 1;
        }
        self.queue.push_back(Event {
            request,
            accepted_at: now,
            retries: 0,
        });
        self.dispatch_events(cx);
    }

    /// Starts queued events while concurrency allows; gives up on events past their age.
    pub(super) fn dispatch_events(&mut self, cx: &mut Ctx<'_>) {
        let now = cx.now();
        while let Some(&event) = self.queue.front() {
            if now >= event.accepted_at + self.max_event_age {
                self.queue.pop_front();
                if self.in_window(event.accepted_at) {
                    self.figures.events_expired += 1;
                }
                self.give_up(event, cx);
                continue;
            }
            let request = Request {
                op: Op::Event,
                ..event.request
            };
            let version = self.pick_version(cx);
            if self
                .start(request, event.accepted_at, Some(event), version, cx)
                .is_none()
            {
                if self.in_window(event.accepted_at) {
                    self.figures.events_throttled += 1;
                }
                // Concurrency may free elsewhere (the account pool is shared): try again after
                // a back-off that doubles up to 5 minutes, as AWS retries throttled events.
                if !self.dispatch_armed {
                    self.dispatch_armed = true;
                    let delay = self.dispatch_backoff;
                    self.dispatch_backoff = (delay + delay).min(MAX_THROTTLE_BACKOFF);
                    cx.set_timer(delay, LambdaTimer::Dispatch(0));
                }
                return;
            }
            self.queue.pop_front();
            self.dispatch_backoff = MIN_THROTTLE_BACKOFF;
        }
    }

    /// An event's invocation ended: done, retried later, or given up.
    pub(super) fn event_done(&mut self, mut event: Event, ok: bool, cx: &mut Ctx<'_>) {
        let in_window = self.in_window(event.accepted_at);
        if ok {
            self.figures.events_finished_total += 1;
            if in_window {
                self.figures.events_succeeded += 1;
            }
            return;
        }
        if event.retries < self.max_retries {
            let delay = self.retry_delays[event.retries as usize % self.retry_delays.len()];
            event.retries += 1;
            if in_window {
                self.figures.events_retried += 1;
            }
            let slot = self.retrying.insert(event);
            cx.set_timer(delay, LambdaTimer::Retry(slot as u64));
        } else {
            self.give_up(event, cx);
        }
    }

    /// An event out of retries or age: to the destination, or dropped.
    fn give_up(&mut self, event: Event, cx: &mut Ctx<'_>) {
        self.figures.events_finished_total += 1;
        let in_window = self.in_window(event.accepted_at);
        match self.on_failure {
            Some(dest) => {
                if in_window {
                    self.figures.events_to_destination += 1;
                }
                let record = Request {
                    op: Op::Event,
                    reply_to: cx.me(),
                    tag: u64::MAX,
                    route: NO_ROUTE,
                    recorded_duration: crate::message::Recorded::NONE,
                    ..event.request
                };
                cx.send_request(dest, record);
            }
            None => {
                if in_window {
                    self.figures.events_dropped += 1;
                }
            }
        }
    }

    /// The back-off of throttled events is over: try them again.
    pub(super) fn on_dispatch_timer(&mut self, cx: &mut Ctx<'_>) {
        self.dispatch_armed = false;
        self.dispatch_events(cx);
    }

    /// The retry delay of the event in `slot` of `retrying` is over.
    pub(super) fn on_retry_timer(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let event = self.retrying[slot];
        self.retrying.remove(slot);
        // A retried event goes to the back of the queue, as a new attempt.
        self.queue.push_back(event);
        self.dispatch_events(cx);
    }
}
