//! The running proxy: requests borrow one of a bounded set of database connections for as long
//! as the database takes to answer them, or wait for one, first come first served, until the
//! borrow timeout.

use std::collections::VecDeque;

use rand::Rng;

use super::Spec;
use super::outputs::Gauge;
use crate::components::Kind;
use crate::engine::slab::Slab;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{Component, ComponentId};
use crate::message::{Ctx, Msg, Outcome, Request, Response};
use crate::metrics::{ComponentReport, Latency, Observe, RequestMetrics, SeriesRow, TimeWeighted};

/// What the builder hands the running proxy.
pub(super) struct Settings {
    /// The database.
    pub target: ComponentId,
    /// Database connections the proxy may open.
    pub pool: u32,
    pub borrow_timeout: SimDuration,
    pub pinning_fraction: f64,
    /// How long a pinned connection stays with its client after the answer.
    pub idle_client_timeout: SimDuration,
}

crate::timers! {
    /// The timers of a proxy.
    enum ProxyTimer {
        /// The oldest request waiting for a connection may have waited too long.
        BorrowTimeout,
        /// A pinned connection goes back to the pool.
        Unpin,
    }
}

/// A client request at the proxy.
#[derive(Copy, Clone)]
struct Client {
    request: Request,
    arrived: SimTime,
    /// True when its session pins the connection it borrows.
    pinned: bool,
}

/// A count that changes over time: its current value, its time-weighted mean, and its peaks
/// (in the current interval and in the measured window).
struct Count {
    now: u32,
    avg: TimeWeighted,
    interval_peak: u32,
    window_peak: u32,
}

impl Count {
    fn new() -> Count {
        Count {
            now: 0,
            avg: TimeWeighted::new(0.0),
            interval_peak: 0,
            window_peak: 0,
        }
    }

    fn set(&mut self, now: SimTime, warmup_end: SimTime, n: u32) {
        self.now = n;
        self.avg.set(now, warmup_end, f64::from(n));
        self.interval_peak = self.interval_peak.max(n);
        if now >= warmup_end {
            self.window_peak = self.window_peak.max(n);
        }
    }
}

/// A running RDS Proxy.
pub(super) struct Proxy {
    s: Settings,
    /// Requests at the proxy (waiting for a connection, or at the database); a forwarded
    /// copy's `tag` is its slot.
    clients: Slab<Client>,
    /// Requests waiting for a connection, with the time they give up, oldest first.
    waiting: VecDeque<(u32, SimTime)>,
    /// When the pending `BorrowTimeout` timer fires, if one is pending.
    timeout_at: Option<SimTime>,
    /// Client requests at the proxy.
    client_count: Count,
    /// Database connections borrowed (pinned ones included).
    borrowed: Count,
    metrics: RequestMetrics,
    /// Time the window's requests waited for a connection, zero included (those that got
    /// one).
    borrow_wait: Latency,
    borrow_waits: u64,
    borrow_timeouts: u64,
    pinned: u64,
}

impl Proxy {
    pub(super) fn new(s: Settings, warmup_end: SimTime) -> Proxy {
        Proxy {
            s,
            clients: Slab::default(),
            waiting: VecDeque::new(),
            timeout_at: None,
            client_count: Count::new(),
            borrowed: Count::new(),
            metrics: RequestMetrics::new(warmup_end),
            borrow_wait: Latency::new(3),
            borrow_waits: 0,
            borrow_timeouts: 0,
            pinned: 0,
        }
    }

    fn warmup_end(&self) -> SimTime {
        self.metrics.warmup_end()
    }

    fn set_clients(&mut self, now: SimTime, n: u32) {
        let warmup_end = self.warmup_end();
        self.client_count.set(now, warmup_end, n);
    }

    fn set_borrowed(&mut self, now: SimTime, n: u32) {
        let warmup_end = self.warmup_end();
        self.borrowed.set(now, warmup_end, n);
    }

    fn arrive(&mut self, request: Request, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.metrics.arrived(now);
        let pinned =
            self.s.pinning_fraction > 0.0 && cx.rng().random::<f64>() < self.s.pinning_fraction;
        let slot = self.clients.insert(Client {
            request,
            arrived: now,
            pinned,
        });
        self.set_clients(now, self.client_count.now + 1);
        if self.borrowed.now < self.s.pool {
            if self.metrics.in_window(now) {
                self.borrow_wait.record(SimDuration::ZERO);
            }
            self.borrow(slot, cx);
            return;
        }
        if self.metrics.in_window(now) {
            self.borrow_waits += 1;
        }
        let deadline = now + self.s.borrow_timeout;
        self.waiting.push_back((slot, deadline));
        if self.timeout_at.is_none() {
            self.timeout_at = Some(deadline);
            cx.set_timer(self.s.borrow_timeout, ProxyTimer::BorrowTimeout(0));
        }
    }

    /// Request `slot` borrows a connection and goes to the database on it.
    fn borrow(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.set_borrowed(now, self.borrowed.now + 1);
        let client = self.clients[slot];
        if client.pinned && self.metrics.in_window(client.arrived) {
            self.pinned += 1;
        }
        let mut forwarded = client.request;
        forwarded.reply_to = cx.me();
        forwarded.tag = u64::from(slot);
        cx.send_request(self.s.target, forwarded);
    }

    /// The database answered request `tag`: the client has its answer, and the connection goes
    /// back to the pool (a pinned one after `idle_client_timeout`).
    fn answered(&mut self, tag: u64, outcome: Outcome, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let slot = tag as u32;
        let client = self.clients[slot];
        self.clients.remove(slot);
        self.set_clients(now, self.client_count.now - 1);
        self.metrics.finished(client.arrived, now, outcome);
        cx.reply(Response {
            request: client.request,
            outcome,
        });
        if client.pinned {
            cx.set_timer(self.s.idle_client_timeout, ProxyTimer::Unpin(0));
        } else {
            self.give_back(cx);
        }
    }

    /// A connection goes back to the pool: the oldest waiting request borrows it.
    fn give_back(&mut self, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.set_borrowed(now, self.borrowed.now - 1);
        if let Some((next, _)) = self.waiting.pop_front() {
            let arrived = self.clients[next].arrived;
            if self.metrics.in_window(arrived) {
                self.borrow_wait.record(now - arrived);
            }
            self.borrow(next, cx);
        }
    }

    /// Requests whose wait is over give up; the timer is re-armed for the next one.
    fn expire(&mut self, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.timeout_at = None;
        while let Some(&(slot, deadline)) = self.waiting.front() {
            if deadline > now {
                self.timeout_at = Some(deadline);
                cx.set_timer(deadline - now, ProxyTimer::BorrowTimeout(0));
                return;
            }
            self.waiting.pop_front();
            let client = self.clients[slot];
            self.clients.remove(slot);
            self.set_clients(now, self.client_count.now - 1);
            if self.metrics.in_window(client.arrived) {
                self.borrow_timeouts += 1;
            }
            self.metrics.finished(client.arrived, now, Outcome::Timeout);
            cx.reply(Response {
                request: client.request,
                outcome: Outcome::Timeout,
            });
        }
    }
}

impl Component<Msg> for Proxy {
    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => self.arrive(request, cx),
            Msg::Response(response) => {
                self.answered(response.request.tag, response.outcome, cx);
            }
            // The database loses nothing it is sent; were it to, the client would wait for
            // ever: answer a timeout.
            Msg::Lost(request) => self.answered(request.tag, Outcome::Timeout, cx),
            Msg::Timer(timer) => match ProxyTimer::from(timer) {
                ProxyTimer::BorrowTimeout(_) => self.expire(cx),
                ProxyTimer::Unpin(_) => self.give_back(cx),
            },
            // It suffers no fault of its own (RDS Proxy is multi-AZ).
            Msg::Control(_) => {}
        }
    }
}

impl Observe for Proxy {
    fn kind(&self) -> &'static str {
        Spec::KIND
    }

    fn in_flight(&self) -> u64 {
        self.clients.len() as u64
    }

    fn sample(&mut self, now: SimTime, row: &mut SeriesRow) {
        let warmup_end = self.warmup_end();
        self.metrics.sample(self.in_flight(), row);
        row.queue_length = Some(self.waiting.len() as u64);
        let borrowed = self.borrowed.avg.take_interval_mean(now, warmup_end);
        let clients = self.client_count.avg.take_interval_mean(now, warmup_end);
        row.utilisation = Some(borrowed / f64::from(self.s.pool));
        row.set_gauge(Gauge::DatabaseConnections as usize, Some(borrowed));
        row.set_gauge(
            Gauge::DatabaseConnectionsPeak as usize,
            Some(f64::from(self.borrowed.interval_peak)),
        );
        row.set_gauge(Gauge::ClientConnections as usize, Some(clients));
        row.set_gauge(
            Gauge::BorrowWaiting as usize,
            Some(self.waiting.len() as f64),
        );
        self.borrowed.interval_peak = self.borrowed.now;
        self.client_count.interval_peak = self.client_count.now;
    }

    fn report(&self, end: SimTime) -> ComponentReport {
        let warmup_end = self.warmup_end();
        self.metrics
            .report(Spec::KIND, self.in_flight())
            .figure("database_connections_allowed", self.s.pool)
            .figure("database_connections_max", self.borrowed.window_peak)
            .figure(
                "database_connections_mean",
                self.borrowed.avg.window_mean(end, warmup_end),
            )
            .figure("client_connections_max", self.client_count.window_peak)
            .figure(
                "client_connections_mean",
                self.client_count.avg.window_mean(end, warmup_end),
            )
            .figure("borrow_waits", self.borrow_waits)
            .figure("borrow_wait_ms", self.borrow_wait.summary())
            .figure("borrow_timeouts", self.borrow_timeouts)
            .figure("pinned", self.pinned)
            .figure("borrow_timeout_s", self.s.borrow_timeout.as_secs_f64())
    }
}
