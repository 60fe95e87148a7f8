//! The queue's pollers on the instances of a consumer that declares
//! [`QueueConsumer::Pollers`](crate::components::QueueConsumer::Pollers) (an EC2 fleet or group):
//! each instance registers and runs `pollers` of them; a poller receives a batch, hands its
//! messages one by one to its instance and deletes each after success. Idle pollers wait
//! (long polling) or retry after `poll_interval` (short polling). A deregistered instance's
//! pollers stop, and the instance is reported drained once nothing it holds is outstanding.

use std::collections::{BTreeMap, VecDeque};

use super::queue::{Queue, Received};
use super::{SqsTimer, TAG_KIND_POLLER};
use crate::dist::Dist;
use crate::engine::slab::Slab;
use crate::engine::time::SimDuration;
use crate::engine::{ComponentId, EventId};
use crate::message::Ctx;
use crate::message::{Control, Msg, Op, Request, Response};

/// One consumer instance.
#[derive(Clone, Debug, Default)]
struct Host {
    /// Pollers of this host (slots in `Pollers::pollers`).
    pollers: Vec<u32>,
    /// Messages sent to the host and not yet answered.
    outstanding: u32,
    /// Deregistered: its pollers stop; once idle the host is reported drained.
    draining: bool,
}

/// One poller: a loop of receive, process each message, delete.
#[derive(Clone, Debug)]
struct Poller {
    host: u32,
    /// Received messages not yet handed to the host.
    batch: VecDeque<Received>,
    /// The message being processed, if any.
    current: Option<Received>,
    /// Bumped each time the poller starts waiting, so stale wait timers are ignored.
    wait_generation: u32,
    waiting: bool,
    /// The end of its long poll, cancelled when a message wakes it first (left pending, the
    /// ends of the long polls woken early kept a `receive_wait` of receives in the queue).
    wait_timer: EventId,
    stopped: bool,
}

/// The pollers of every instance of the consumer.
pub(super) struct Pollers {
    /// The consumer (its instances register with the queue).
    target: ComponentId,
    per_host: u32,
    /// Messages per receive.
    batch_size: u32,
    /// Long-polling wait (zero: short polling).
    receive_wait: SimDuration,
    /// Short polling: time between receives of an idle poller.
    poll_interval: SimDuration,
    hosts: BTreeMap<u32, Host>,
    pollers: Slab<Poller>,
    /// Long-polling pollers waiting for a message, in the order they started waiting.
    waiting: VecDeque<(u32, u32)>,
    /// Time a receive that returns messages takes (`None`: none).
    receive_latency: Option<Dist>,
}

impl Pollers {
    /// No instance yet: each runs `per_host` pollers once it registers.
    pub(super) fn new(
        target: ComponentId,
        per_host: u32,
        batch_size: u32,
        receive_wait: SimDuration,
        poll_interval: SimDuration,
        receive_latency: Option<Dist>,
    ) -> Pollers {
        Pollers {
            target,
            per_host,
            batch_size,
            receive_wait,
            poll_interval,
            hosts: BTreeMap::new(),
            pollers: Slab::default(),
            waiting: VecDeque::new(),
            receive_latency,
        }
    }

    /// Messages became visible: waiting pollers receive them, in the order they started
    /// waiting.
    pub(super) fn wake(&mut self, queue: &mut Queue, cx: &mut Ctx<'_>) {
        while queue.deliverable() {
            let Some((poller, generation)) = self.waiting.pop_front() else {
                break;
            };
            let p = &self.pollers[poller];
            if !p.waiting || p.wait_generation != generation || p.stopped {
                continue;
            }
            self.pollers[poller].waiting = false;
            cx.cancel(self.pollers[poller].wait_timer);
            self.poll(poller, queue, cx);
        }
    }

    /// Poller `id` receives: processes what it gets, or waits (long polling) / retries later
    /// (short polling).
    fn poll(&mut self, id: u32, queue: &mut Queue, cx: &mut Ctx<'_>) {
        if self.pollers[id].stopped {
            return;
        }
        let batch = queue.receive(self.batch_size, cx);
        if batch.is_empty() {
            let p = &mut self.pollers[id];
            p.wait_generation = p.wait_generation.wrapping_add(1);
            let generation = p.wait_generation;
            let timer = SqsTimer::Poll(((generation as u64) << 32) | id as u64);
            if self.receive_wait.is_zero() {
                // Short polling: an empty answer at once; try again later.
                queue.count_empty_receive(cx.now());
                cx.set_timer(self.poll_interval, timer);
            } else {
                p.waiting = true;
                self.waiting.push_back((id, generation));
                p.wait_timer = cx.send_self(self.receive_wait, Msg::Timer(timer.into()));
            }
            return;
        }
        self.pollers[id].batch.extend(batch);
        if let Some(latency) = &self.receive_latency {
            // The messages are in flight already; the poller has them when the call returns.
            let delay = latency.sample(cx.rng());
            cx.set_timer(delay, SqsTimer::PollerReceived(id as u64));
            return;
        }
        self.process_next(id, queue, cx);
    }

    /// Poller `id`'s receive returned (after `receive_latency`): it processes the batch,
    /// unless its instance left meanwhile.
    pub(super) fn on_received(&mut self, id: u32, queue: &mut Queue, cx: &mut Ctx<'_>) {
        if !self.pollers[id].stopped {
            self.process_next(id, queue, cx);
        }
    }

    /// The wait (long polling) or interval (short polling) armed with payload `id`
    /// (generation and poller) ended.
    pub(super) fn on_poll_timer(&mut self, id: u64, queue: &mut Queue, cx: &mut Ctx<'_>) {
        let generation = (id >> 32) as u32;
        let id = id as u32;
        let long = !self.receive_wait.is_zero();
        let p = &mut self.pollers[id];
        if p.wait_generation != generation || p.stopped || p.current.is_some() {
            return;
        }
        if long {
            if !p.waiting {
                return;
            }
            // The long poll ended empty.
            p.waiting = false;
            queue.count_empty_receive(cx.now());
        }
        self.poll(id, queue, cx);
    }

    /// Hands poller `id`'s next received message to its host, or receives again.
    fn process_next(&mut self, id: u32, queue: &mut Queue, cx: &mut Ctx<'_>) {
        loop {
            let Some(next) = self.pollers[id].batch.pop_front() else {
                self.poll(id, queue, cx);
                return;
            };
            let Some(original) = queue.start_processing(next) else {
                continue;
            };
            let host = self.pollers[id].host;
            let request = Request {
                reply_to: cx.me(),
                tag: TAG_KIND_POLLER | ((id as u64) << 32),
                route: host,
                op: Op::Default,
                ..original
            };
            self.pollers[id].current = Some(next);
            self.hosts.get_mut(&host).expect("host").outstanding += 1;
            cx.send_request(self.target, request);
            return;
        }
    }

    /// The host answered for the message a poller handed it: delete it after success, then
    /// go on (or stop, if the host is draining).
    pub(super) fn on_answer(&mut self, response: Response, queue: &mut Queue, cx: &mut Ctx<'_>) {
        let id = ((response.request.tag >> 32) & 0x3FFF_FFFF) as u32;
        let done = self.pollers[id]
            .current
            .take()
            .expect("poller was processing");
        let host = self.pollers[id].host;
        self.hosts.get_mut(&host).expect("host").outstanding -= 1;
        // A poison message fails its processing on a healthy host too.
        let ok = response.outcome.is_ok() && !done.poison();
        if ok {
            // DeleteMessage, one per message (for an extra copy too: it deletes nothing).
            queue.count_deletes(cx.now(), 1);
        }
        match done {
            Received::Message { slot, receipt, .. } => {
                queue.stop_processing(slot, receipt);
                queue.settle(done, ok, cx);
            }
            // The work was done twice (or tried twice, when it failed); the delete of the copy
            // deletes nothing.
            Received::Extra { sent_at, .. } => queue.count_duplicate(sent_at),
        }
        if self.hosts[&host].draining {
            self.pollers[id].stopped = true;
            self.pollers[id].batch.clear();
            self.maybe_drained(host, cx);
        } else {
            self.process_next(id, queue, cx);
        }
    }

    /// Reports `host` drained once it is deregistered and holds nothing outstanding.
    fn maybe_drained(&mut self, host: u32, cx: &mut Ctx<'_>) {
        let h = &self.hosts[&host];
        if h.draining && h.outstanding == 0 {
            self.hosts.remove(&host);
            cx.send(
                self.target,
                Msg::Control(Control::Drained { instance: host }),
            );
        }
    }

    /// An instance registers (its pollers start), deregisters (they stop), or is probed.
    pub(super) fn on_control(&mut self, control: Control, queue: &mut Queue, cx: &mut Ctx<'_>) {
        match control {
            Control::Register { instance, .. } => {
                let ids: Vec<u32> = (0..self.per_host)
                    .map(|_| {
                        self.pollers.insert(Poller {
                            host: instance,
                            batch: VecDeque::new(),
                            current: None,
                            wait_generation: 0,
                            waiting: false,
                            wait_timer: EventId::NONE,
                            stopped: false,
                        })
                    })
                    .collect();
                self.hosts.insert(
                    instance,
                    Host {
                        pollers: ids.clone(),
                        outstanding: 0,
                        draining: false,
                    },
                );
                for id in ids {
                    self.poll(id, queue, cx);
                }
            }
            Control::Deregister { instance, .. } => {
                let Some(h) = self.hosts.get_mut(&instance) else {
                    cx.send(self.target, Msg::Control(Control::Drained { instance }));
                    return;
                };
                h.draining = true;
                for &id in &h.pollers {
                    let p = &mut self.pollers[id];
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
                        group: self.target,
                    }),
                );
            }
            _ => {}
        }
    }
}
