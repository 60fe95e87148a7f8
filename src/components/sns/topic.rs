//! The running topic: publishes in, one delivery per matching subscription out, each retried
//! on its subscription's schedule until delivered, dead-lettered or lost.

use rand::Rng;
use serde::Serialize;

use super::Spec;
use super::policy::Schedule;
use crate::components::Kind;
use crate::components::token_bucket::ExactBucket;
use crate::dist::Dist;
use crate::engine::slab::Slab;
use crate::engine::time::SimTime;
use crate::engine::{Component, ComponentId};
use crate::message::{Connection, Ctx, Msg, NO_ROUTE, Op, Outcome, Recorded, Request, Response};
use crate::metrics::{ComponentReport, Ledger, Observe, RequestMetrics, SeriesRow};

/// How a subscription's endpoint receives a message.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Protocol {
    /// An `sqs` queue: a SendMessage.
    Sqs,
    /// A `lambda`: an asynchronous invocation.
    Lambda,
    /// Any other component: an HTTP/S POST, with the request's own operation.
    Http,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Protocol::Sqs => crate::components::sqs::Spec::KIND,
            Protocol::Lambda => crate::components::lambda::Spec::KIND,
            Protocol::Http => "http",
        }
    }
}

/// A subscription filter policy (every condition given must hold).
#[derive(Clone, Debug, Default)]
pub(super) struct Filter {
    pub(super) ops: Option<Vec<Op>>,
    /// Sorted.
    pub(super) keys: Option<Vec<u64>>,
    pub(super) fraction: Option<f64>,
}

impl Filter {
    fn matches(&self, request: &Request, cx: &mut Ctx<'_>) -> bool {
        if let Some(ops) = &self.ops
            && !ops.contains(&request.op)
        {
            return false;
        }
        if let Some(keys) = &self.keys
            && keys.binary_search(&request.key).is_err()
        {
            return false;
        }
        match self.fraction {
            // Drawn only for a message the other conditions let through, and only when the
            // fraction is not certain, so a filter without one draws nothing.
            Some(p) if p < 1.0 => cx.rng().random::<f64>() < p,
            _ => true,
        }
    }
}

/// Counts of one subscription: the measured window's (messages published after the warm-up).
#[derive(Clone, Debug, Default, Serialize)]
struct SubscriptionFigures {
    /// Copies made for it (published and matching).
    deliveries: u64,
    delivered: u64,
    retries: u64,
    failed_attempts: u64,
    dead_lettered: u64,
    lost: u64,
    filtered_out: u64,
    /// Copies still being delivered at the end.
    in_flight: u64,
}

/// One subscription as it runs.
pub(super) struct Subscription {
    endpoint_name: String,
    endpoint: ComponentId,
    protocol: Protocol,
    filter: Filter,
    dead_letter_queue: Option<ComponentId>,
    schedule: Schedule,
    window: SubscriptionFigures,
    /// Whole-run copies made and ended, for the ledger.
    made_total: u64,
    ended_total: u64,
}

impl Subscription {
    pub(super) fn new(
        endpoint_name: String,
        endpoint: ComponentId,
        protocol: Protocol,
        filter: Filter,
        dead_letter_queue: Option<ComponentId>,
        schedule: Schedule,
    ) -> Subscription {
        Subscription {
            endpoint_name,
            endpoint,
            protocol,
            filter,
            dead_letter_queue,
            schedule,
            window: SubscriptionFigures::default(),
            made_total: 0,
            ended_total: 0,
        }
    }
}

/// One copy of a message on its way to one subscription.
#[derive(Copy, Clone, Debug)]
struct Delivery {
    /// The publish as the publisher sent it.
    request: Request,
    published_at: SimTime,
    subscription: u32,
    /// Retries used so far.
    retries: u64,
}

crate::timers! {
    /// The topic's timers.
    enum SnsTimer {
        /// A delivery's delay or retry wait is over (its slot).
        Attempt,
    }
}

/// Tags of requests sent to dead-letter queues (their answers are not waited for).
const TAG_DEAD_LETTER: u64 = u64::MAX;

/// A running topic.
pub(super) struct Topic {
    subscriptions: Vec<Subscription>,
    bucket: ExactBucket,
    delivery_delay: Dist,
    deliveries: Slab<Delivery>,
    metrics: RequestMetrics,
    published: u64,
}

impl Topic {
    pub(super) fn new(
        subscriptions: Vec<Subscription>,
        bucket: ExactBucket,
        delivery_delay: Dist,
        metrics: RequestMetrics,
    ) -> Topic {
        Topic {
            subscriptions,
            bucket,
            delivery_delay,
            deliveries: Slab::default(),
            metrics,
            published: 0,
        }
    }

    fn on_publish(&mut self, request: Request, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.metrics.arrived(now);
        if !self.bucket.has_token(now) {
            self.metrics.finished(now, now, Outcome::Throttled);
            cx.reply(Response {
                request,
                outcome: Outcome::Throttled,
            });
            return;
        }
        self.bucket.take_token();
        self.metrics.finished(now, now, Outcome::Ok);
        cx.reply(Response {
            request,
            outcome: Outcome::Ok,
        });
        let in_window = self.metrics.in_window(now);
        if in_window {
            self.published += 1;
        }
        for (i, sub) in self.subscriptions.iter_mut().enumerate() {
            if !sub.filter.matches(&request, cx) {
                if in_window {
                    sub.window.filtered_out += 1;
                }
                continue;
            }
            sub.made_total += 1;
            if in_window {
                sub.window.deliveries += 1;
                sub.window.in_flight += 1;
            }
            let slot = self.deliveries.insert(Delivery {
                request,
                published_at: now,
                subscription: i as u32,
                retries: 0,
            });
            let delay = self.delivery_delay.sample(cx.rng());
            cx.set_timer(delay, SnsTimer::Attempt(slot as u64));
        }
    }

    /// Sends the delivery in `slot` to its endpoint.
    fn attempt(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let d = self.deliveries[slot];
        let sub = &self.subscriptions[d.subscription as usize];
        let op = match sub.protocol {
            Protocol::Sqs => Op::Default,
            Protocol::Lambda => Op::Event,
            Protocol::Http => d.request.op,
        };
        cx.send_request(
            sub.endpoint,
            Request {
                op,
                attempt: (d.retries + 1).min(u16::MAX as u64) as u16,
                reply_to: cx.me(),
                tag: slot as u64,
                route: NO_ROUTE,
                recorded_duration: Recorded::NONE,
                connection: Connection::single(d.request.id),
                ..d.request
            },
        );
    }

    /// The endpoint answered the delivery in `slot` (or lost it).
    fn on_answer(&mut self, slot: u32, ok: bool, cx: &mut Ctx<'_>) {
        let mut d = self.deliveries[slot];
        let in_window = self.metrics.in_window(d.published_at);
        let sub = &mut self.subscriptions[d.subscription as usize];
        if ok {
            if in_window {
                sub.window.delivered += 1;
            }
            Self::end(sub, in_window);
            self.deliveries.remove(slot);
            return;
        }
        if in_window {
            sub.window.failed_attempts += 1;
        }
        if let Some(delay) = sub.schedule.delay_before(d.retries + 1) {
            d.retries += 1;
            if in_window {
                sub.window.retries += 1;
            }
            self.deliveries[slot] = d;
            cx.set_timer(delay, SnsTimer::Attempt(slot as u64));
            return;
        }
        match sub.dead_letter_queue {
            Some(dlq) => {
                if in_window {
                    sub.window.dead_lettered += 1;
                }
                cx.send_request(
                    dlq,
                    Request {
                        op: Op::Default,
                        reply_to: cx.me(),
                        tag: TAG_DEAD_LETTER,
                        route: NO_ROUTE,
                        recorded_duration: Recorded::NONE,
                        ..d.request
                    },
                );
            }
            None => {
                if in_window {
                    sub.window.lost += 1;
                }
            }
        }
        Self::end(sub, in_window);
        self.deliveries.remove(slot);
    }

    fn end(sub: &mut Subscription, in_window: bool) {
        sub.ended_total += 1;
        if in_window {
            sub.window.in_flight -= 1;
        }
    }

    fn total<F: Fn(&SubscriptionFigures) -> u64>(&self, f: F) -> u64 {
        self.subscriptions.iter().map(|s| f(&s.window)).sum()
    }
}

impl Component<Msg> for Topic {
    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => self.on_publish(request, cx),
            Msg::Response(Response { request, outcome }) => {
                if request.tag != TAG_DEAD_LETTER {
                    self.on_answer(request.tag as u32, outcome.is_ok(), cx);
                }
            }
            Msg::Lost(request) => {
                if request.tag != TAG_DEAD_LETTER {
                    self.on_answer(request.tag as u32, false, cx);
                }
            }
            Msg::Timer(timer) => match SnsTimer::from(timer) {
                SnsTimer::Attempt(slot) => self.attempt(slot as u32, cx),
            },
            // Not a load balancer's target, suffers no fault.
            Msg::Control(_) => {}
        }
    }
}

/// One subscription's figures as summary.json lists them.
#[derive(Serialize)]
struct SubscriptionReport<'a> {
    endpoint: &'a str,
    protocol: &'static str,
    #[serde(flatten)]
    figures: &'a SubscriptionFigures,
}

impl Observe for Topic {
    fn kind(&self) -> &'static str {
        Spec::KIND
    }

    fn in_flight(&self) -> u64 {
        // Publishes are answered at once; deliveries have their own ledger.
        0
    }

    fn sample(&mut self, _now: SimTime, row: &mut SeriesRow) {
        self.metrics.sample(0, row);
    }

    fn report(&self, _end: SimTime) -> ComponentReport {
        let subscriptions: Vec<SubscriptionReport<'_>> = self
            .subscriptions
            .iter()
            .map(|s| SubscriptionReport {
                endpoint: &s.endpoint_name,
                protocol: s.protocol.name(),
                figures: &s.window,
            })
            .collect();
        let mut report = self
            .metrics
            .report(Spec::KIND, 0)
            .figure("published", self.published)
            .figure("throttled", self.metrics.window.throttled)
            .figure("deliveries", self.total(|f| f.deliveries))
            .figure("delivered", self.total(|f| f.delivered))
            .figure("retries", self.total(|f| f.retries))
            .figure("failed_attempts", self.total(|f| f.failed_attempts))
            .figure(
                "failed_deliveries",
                self.total(|f| f.dead_lettered + f.lost),
            )
            .figure("dead_lettered", self.total(|f| f.dead_lettered))
            .figure("lost", self.total(|f| f.lost))
            .figure("filtered_out", self.total(|f| f.filtered_out))
            .figure("deliveries_in_flight", self.total(|f| f.in_flight))
            .figure("subscriptions", subscriptions);
        let made: u64 = self.subscriptions.iter().map(|s| s.made_total).sum();
        let ended: u64 = self.subscriptions.iter().map(|s| s.ended_total).sum();
        report.ledgers.push(Ledger {
            name: "deliveries",
            created: made,
            finished: ended,
            inside: self.deliveries.len() as u64,
        });
        report
    }
}
