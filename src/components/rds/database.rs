//! The running DB instance: connections (refused or waited for), then a vCPU worker for the
//! query's CPU time, then the client's hold of the connection.

use std::collections::VecDeque;

use super::catalogue::{Engine, Hardware};
use super::outputs::Gauge;
use super::{Kind, Spec};
use crate::dist::Dist;
use crate::engine::Component;
use crate::engine::slab::Slab;
use crate::engine::time::{SimDuration, SimTime};
use crate::message::{Ctx, Msg, Op, Outcome, Request, Response};
use crate::metrics::TimeWeighted;
use crate::metrics::{ComponentReport, Latency, Observe, RequestMetrics, SeriesRow};

/// The status a refused connection is answered with (the database is there but will not take
/// one more client).
const REFUSED: u16 = 503;

/// What the builder hands the running database.
pub(super) struct Settings {
    pub engine: Engine,
    pub hardware: Hardware,
    pub max_connections: u32,
    pub read_cpu: Dist,
    pub write_cpu: Dist,
    pub query_cpu: Dist,
    pub default_cpu: Dist,
    pub client_hold: Option<Dist>,
    /// `Some` when requests wait for a connection, for this long at most.
    pub pool_timeout: Option<SimDuration>,
}

crate::timers! {
    /// The timers of a DB instance.
    enum DbTimer {
        /// A query's CPU time is over (its slot).
        Cpu,
        /// The client's hold of a connection after its query is over (its slot).
        Hold,
        /// The oldest request waiting for a connection may have waited too long (payload
        /// unused).
        PoolTimeout,
    }
}

/// A request inside the database.
struct Query {
    request: Request,
    arrived: SimTime,
}

/// A running DB instance.
pub(super) struct Database {
    s: Settings,
    queries: Slab<Query>,
    /// Requests waiting for a connection, with the time they give up, oldest first (their
    /// deadlines are in the same order: one timeout for all).
    waiting: VecDeque<(u32, SimTime)>,
    /// Queries holding a connection and waiting for a vCPU, oldest first.
    cpu_queue: VecDeque<u32>,
    /// When the pending `PoolTimeout` timer fires, if one is pending (at most one: deadlines
    /// come in order).
    timeout_at: Option<SimTime>,
    connections: u32,
    busy_vcpus: u32,
    connections_avg: TimeWeighted,
    busy_avg: TimeWeighted,
    /// Most connections in use in the current interval, and in the measured window.
    interval_peak: u32,
    window_peak: u32,
    metrics: RequestMetrics,
    /// Time requests of the window waited for a connection, zero included (those that got
    /// one).
    connection_wait: Latency,
    queries_done: u64,
    waited: u64,
    refused: u64,
    pool_timeouts: u64,
}

impl Database {
    pub(super) fn new(s: Settings, warmup_end: SimTime) -> Database {
        Database {
            s,
            queries: Slab::default(),
            waiting: VecDeque::new(),
            cpu_queue: VecDeque::new(),
            timeout_at: None,
            connections: 0,
            busy_vcpus: 0,
            connections_avg: TimeWeighted::new(0.0),
            busy_avg: TimeWeighted::new(0.0),
            interval_peak: 0,
            window_peak: 0,
            metrics: RequestMetrics::new(warmup_end),
            connection_wait: Latency::new(3),
            queries_done: 0,
            waited: 0,
            refused: 0,
            pool_timeouts: 0,
        }
    }

    fn warmup_end(&self) -> SimTime {
        self.metrics.warmup_end()
    }

    fn set_connections(&mut self, now: SimTime, n: u32) {
        self.connections = n;
        self.connections_avg.set(now, self.warmup_end(), n as f64);
        self.interval_peak = self.interval_peak.max(n);
        if now >= self.warmup_end() {
            self.window_peak = self.window_peak.max(n);
        }
    }

    fn set_busy(&mut self, now: SimTime, n: u32) {
        self.busy_vcpus = n;
        self.busy_avg.set(now, self.warmup_end(), n as f64);
    }

    fn cpu_time(&self, op: Op) -> &Dist {
        match op {
            Op::Read | Op::StrongRead => &self.s.read_cpu,
            Op::Write | Op::TransactWrite => &self.s.write_cpu,
            Op::Query | Op::StrongQuery => &self.s.query_cpu,
            Op::Default | Op::Event => &self.s.default_cpu,
        }
    }

    fn arrive(&mut self, request: Request, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.metrics.arrived(now);
        if self.connections < self.s.max_connections {
            let slot = self.queries.insert(Query {
                request,
                arrived: now,
            });
            if self.metrics.in_window(now) {
                self.connection_wait.record(SimDuration::ZERO);
            }
            self.connect(slot, cx);
            return;
        }
        let Some(timeout) = self.s.pool_timeout else {
            if self.metrics.in_window(now) {
                self.refused += 1;
            }
            self.metrics.finished(now, now, Outcome::Error(REFUSED));
            cx.reply(Response {
                request,
                outcome: Outcome::Error(REFUSED),
            });
            return;
        };
        let slot = self.queries.insert(Query {
            request,
            arrived: now,
        });
        if self.metrics.in_window(now) {
            self.waited += 1;
        }
        let deadline = now + timeout;
        self.waiting.push_back((slot, deadline));
        if self.timeout_at.is_none() {
            self.timeout_at = Some(deadline);
            cx.set_timer(timeout, DbTimer::PoolTimeout(0));
        }
    }

    /// Query `slot` takes a free connection and asks for a vCPU.
    fn connect(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.set_connections(now, self.connections + 1);
        if self.busy_vcpus < self.s.hardware.vcpus {
            self.run(slot, cx);
        } else {
            self.cpu_queue.push_back(slot);
        }
    }

    fn run(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        self.set_busy(cx.now(), self.busy_vcpus + 1);
        let op = self.queries[slot].request.op;
        let delay = self.cpu_time(op).sample(cx.rng());
        cx.set_timer(delay, DbTimer::Cpu(slot as u64));
    }

    fn cpu_done(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        match self.cpu_queue.pop_front() {
            Some(next) => {
                // The vCPU passes straight to the next query: busy stays the same.
                let op = self.queries[next].request.op;
                let delay = self.cpu_time(op).sample(cx.rng());
                cx.set_timer(delay, DbTimer::Cpu(next as u64));
            }
            None => self.set_busy(cx.now(), self.busy_vcpus - 1),
        }
        match &self.s.client_hold {
            Some(hold) => {
                let delay = hold.sample(cx.rng());
                cx.set_timer(delay, DbTimer::Hold(slot as u64));
            }
            None => self.finish(slot, cx),
        }
    }

    /// Query `slot` is answered and its connection freed: the oldest waiting request takes it.
    fn finish(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let query = &self.queries[slot];
        let (request, arrived) = (query.request, query.arrived);
        self.queries.remove(slot);
        self.queries_done += 1;
        self.metrics.finished(arrived, now, Outcome::Ok);
        cx.reply(Response {
            request,
            outcome: Outcome::Ok,
        });
        self.set_connections(now, self.connections - 1);
        if let Some((next, _)) = self.waiting.pop_front() {
            let arrived = self.queries[next].arrived;
            if self.metrics.in_window(arrived) {
                self.connection_wait.record(now - arrived);
            }
            self.connect(next, cx);
        }
    }

    /// Requests whose wait is over give up; the timer is re-armed for the next one.
    fn expire(&mut self, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.timeout_at = None;
        while let Some(&(slot, deadline)) = self.waiting.front() {
            if deadline > now {
                self.timeout_at = Some(deadline);
                cx.set_timer(deadline - now, DbTimer::PoolTimeout(0));
                return;
            }
            self.waiting.pop_front();
            let query = &self.queries[slot];
            let (request, arrived) = (query.request, query.arrived);
            self.queries.remove(slot);
            if self.metrics.in_window(arrived) {
                self.pool_timeouts += 1;
            }
            self.metrics.finished(arrived, now, Outcome::Timeout);
            cx.reply(Response {
                request,
                outcome: Outcome::Timeout,
            });
        }
    }
}

impl Component<Msg> for Database {
    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => self.arrive(request, cx),
            Msg::Timer(timer) => match DbTimer::from(timer) {
                DbTimer::Cpu(slot) => self.cpu_done(slot as u32, cx),
                DbTimer::Hold(slot) => self.finish(slot as u32, cx),
                DbTimer::PoolTimeout(_) => self.expire(cx),
            },
            // It calls no one and suffers no fault yet.
            Msg::Response(_) | Msg::Control(_) | Msg::Lost(_) => {}
        }
    }
}

impl Observe for Database {
    fn kind(&self) -> &'static str {
        Spec::KIND
    }

    fn in_flight(&self) -> u64 {
        self.queries.len() as u64
    }

    fn sample(&mut self, now: SimTime, row: &mut SeriesRow) {
        let warmup_end = self.warmup_end();
        self.metrics.sample(self.in_flight(), row);
        row.queue_length = Some((self.waiting.len() + self.cpu_queue.len()) as u64);
        let cpu = self
            .busy_avg
            .take_interval_share(now, warmup_end, self.s.hardware.vcpus as f64);
        row.utilisation = Some(cpu);
        let mean = self.connections_avg.take_interval_mean(now, warmup_end);
        row.set_gauge(Gauge::ConnectionsInUse as usize, Some(mean));
        row.set_gauge(
            Gauge::ConnectionsPeak as usize,
            Some(self.interval_peak as f64),
        );
        row.set_gauge(
            Gauge::ConnectionWaiting as usize,
            Some(self.waiting.len() as f64),
        );
        row.set_gauge(Gauge::CpuUtilisation as usize, Some(cpu));
        self.interval_peak = self.connections;
    }

    fn report(&self, end: SimTime) -> ComponentReport {
        let warmup_end = self.warmup_end();
        let wait = self.connection_wait.summary();
        self.metrics
            .report(Spec::KIND, self.in_flight())
            .figure("engine", self.s.engine.name())
            .figure("vcpus", self.s.hardware.vcpus)
            .figure("memory_gib", self.s.hardware.memory_gib)
            .figure("max_connections", self.s.max_connections)
            .figure("queries", self.queries_done)
            .figure("connections_max", self.window_peak)
            .figure(
                "connections_mean",
                self.connections_avg.window_mean(end, warmup_end),
            )
            .figure("connection_waits", self.waited)
            .figure("connection_wait_ms", wait)
            .figure("connections_refused", self.refused)
            .figure("pool_timeouts", self.pool_timeouts)
            .figure(
                "cpu_utilisation",
                self.busy_avg.window_mean(end, warmup_end) / self.s.hardware.vcpus as f64,
            )
    }
}
