//! The running DB instance and its read replicas: connections (refused or waited for), then a
//! vCPU worker for the query's CPU time, then the client's hold of the connection; writes
//! committed on the primary replayed on each replica after a shipping delay; the primary's
//! failures, with a Multi-AZ failover to the standby or a Single-AZ recovery.

use std::collections::{HashMap, VecDeque};

use super::catalogue::{Engine, Hardware};
use super::outputs::Gauge;
use super::{Kind, Spec};
use crate::dist::Dist;
use crate::engine::slab::Slab;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{Component, ComponentId};
use crate::message::{Control, Ctx, FaultAction, Msg, Op, Outcome, Request, Response};
use crate::metrics::TimeWeighted;
use crate::metrics::{ComponentReport, Latency, Observe, RequestMetrics, SeriesRow};

/// The status a refused connection is answered with (the database is there but will not take
/// one more client).
const REFUSED: u16 = 503;

/// The status a request is answered with when the primary cannot be reached (failing over, or
/// down): the client's connection attempt or its query fails.
const UNAVAILABLE: u16 = 503;

/// The primary's index in [`Database::nodes`]; replicas follow it.
const PRIMARY: usize = 0;

/// Where the primary and its standby live, and how long the primary is away when it fails.
pub(super) struct Availability {
    /// True when a standby in `standby_az` takes over after `failover_time`.
    pub multi_az: bool,
    pub failover_time: SimDuration,
    /// The time a primary without a standby takes to recover from an instance failure.
    pub recovery_time: SimDuration,
    pub primary_az: u8,
    pub standby_az: u8,
    /// The `rds_proxy` components in front: their requests wait out the first `proxy_wait` of
    /// a failover instead of failing, then reach the new primary.
    pub proxies: Vec<ComponentId>,
    pub proxy_wait: SimDuration,
    /// The region's AZ names, when it declares some (for the report).
    pub az_names: Option<Vec<String>>,
}

/// Whether the primary serves.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Primary {
    Up,
    /// The standby is being promoted. Requests through a proxy wait until `proxy_ready`, then
    /// reach the new primary; the others fail until the window ends.
    FailingOver {
        proxy_ready: SimTime,
    },
    /// No standby could take over: back after `recovery_time`, or when its AZ returns.
    Down {
        until_az_returns: bool,
    },
}

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
    /// Read replicas (0 to 15).
    pub read_replicas: u32,
    /// The time a committed write takes to reach a replica, before its replay.
    pub replica_lag: Dist,
    /// What happens when the primary fails.
    pub availability: Availability,
}

crate::timers! {
    /// The timers of a DB instance.
    enum DbTimer {
        /// A job's CPU time is over (its slot).
        Cpu,
        /// The client's hold of a connection after its query is over (its slot).
        Hold,
        /// The oldest request waiting for a connection of a node may have waited too long (the
        /// node's index).
        PoolTimeout,
        /// A committed write has reached its replica and queues for replay (its slot).
        Shipped,
        /// The failover or recovery that started at this failure (its epoch) is over.
        Restored,
        /// Proxies have found the new primary of this failover (its epoch).
        ProxyReady,
    }
}

/// Work inside the database: a client's query, or a replica's replay of a committed write.
#[derive(Copy, Clone)]
enum Job {
    Query {
        request: Request,
        arrived: SimTime,
        /// The node that serves it.
        node: usize,
        /// The primary's failures before it arrived ([`Database::epoch`]).
        epoch: u32,
    },
    Replay {
        /// The replica that replays it.
        node: usize,
        /// When the write committed on the primary.
        committed: SimTime,
        key: u64,
        /// The primary's failures before it shipped.
        epoch: u32,
    },
}

impl Job {
    fn node(&self) -> usize {
        match self {
            Job::Query { node, .. } | Job::Replay { node, .. } => *node,
        }
    }

    fn epoch(&self) -> u32 {
        match self {
            Job::Query { epoch, .. } | Job::Replay { epoch, .. } => *epoch,
        }
    }
}

/// One DB instance (the primary or a replica): its connections, vCPUs and queues.
struct Node {
    /// Requests waiting for a connection, with the time they give up, oldest first (their
    /// deadlines are in the same order: one timeout for all).
    waiting: VecDeque<(u32, SimTime)>,
    /// Jobs waiting for a vCPU (queries holding a connection, replays), oldest first.
    cpu_queue: VecDeque<u32>,
    /// When the pending `PoolTimeout` timer fires, if one is pending (at most one: deadlines
    /// come in order).
    timeout_at: Option<SimTime>,
    /// Bumped when the node loses its waiting requests (the primary's failure): a
    /// `PoolTimeout` timer set before is stale.
    timer_epoch: u32,
    connections: u32,
    busy_vcpus: u32,
    connections_avg: TimeWeighted,
    busy_avg: TimeWeighted,
    /// Most connections in use in the current interval, and in the measured window.
    interval_peak: u32,
    window_peak: u32,
    /// Queries answered (all time, as the single-instance figure always was).
    queries_done: u64,
    /// A replica's figures: writes committed on the primary and not yet replayed here, by key
    /// (an entry leaves at zero, so the map holds only writes in flight).
    unapplied: HashMap<u64, u32>,
    /// Replication lag of the window's replays: commit on the primary to replay done here.
    lag: Latency,
    /// Reads of the window that ran here while a write of their key was not yet replayed.
    stale_reads: u64,
    /// Reads of the window that ran here.
    reads: u64,
}

impl Node {
    fn new() -> Node {
        Node {
            waiting: VecDeque::new(),
            cpu_queue: VecDeque::new(),
            timeout_at: None,
            timer_epoch: 0,
            connections: 0,
            busy_vcpus: 0,
            connections_avg: TimeWeighted::new(0.0),
            busy_avg: TimeWeighted::new(0.0),
            interval_peak: 0,
            window_peak: 0,
            queries_done: 0,
            unapplied: HashMap::new(),
            lag: Latency::new(3),
            stale_reads: 0,
            reads: 0,
        }
    }

    fn set_connections(&mut self, now: SimTime, warmup_end: SimTime, n: u32) {
        self.connections = n;
        self.connections_avg.set(now, warmup_end, n as f64);
        self.interval_peak = self.interval_peak.max(n);
        if now >= warmup_end {
            self.window_peak = self.window_peak.max(n);
        }
    }

    fn set_busy(&mut self, now: SimTime, warmup_end: SimTime, n: u32) {
        self.busy_vcpus = n;
        self.busy_avg.set(now, warmup_end, n as f64);
    }
}

/// A running DB instance with its read replicas.
pub(super) struct Database {
    s: Settings,
    jobs: Slab<Job>,
    /// Replays in `jobs` (they are not requests: `in_flight` leaves them out).
    replays: u64,
    /// The primary, then the replicas.
    nodes: Vec<Node>,
    /// The replica the reader endpoint gives the next connection (round robin).
    next_reader: usize,
    metrics: RequestMetrics,
    /// Replication lag of the window's replays on every replica.
    lag: Latency,
    /// Time requests of the window waited for a connection, zero included (those that got
    /// one).
    connection_wait: Latency,
    waited: u64,
    refused: u64,
    pool_timeouts: u64,
    primary: Primary,
    /// Failures of the primary so far: a job or timer of an earlier epoch is stale.
    epoch: u32,
    /// The AZs of the primary and its standby (swapped by a failover).
    primary_az: u8,
    standby_az: u8,
    /// AZs in an outage now.
    down_azs: Vec<u8>,
    /// When the primary stopped serving, while it is away.
    down_since: Option<SimTime>,
    /// Time of the measured window the primary was away, over spells that ended.
    unavailable: SimDuration,
    /// True once the primary has failed (its figures then appear without Multi-AZ too).
    ever_failed: bool,
    failovers: u64,
    /// Failures the primary had no standby for.
    outages: u64,
    errors_during_failover: u64,
    /// Requests through a proxy waiting for it to find the new primary, with their arrival.
    held: Vec<(Request, SimTime)>,
    /// One past the highest slot `jobs` has used (a failure looks for the primary's jobs).
    slot_end: u32,
}

impl Database {
    pub(super) fn new(s: Settings, warmup_end: SimTime) -> Database {
        let nodes = (0..=s.read_replicas).map(|_| Node::new()).collect();
        let (primary_az, standby_az) = (s.availability.primary_az, s.availability.standby_az);
        Database {
            s,
            jobs: Slab::default(),
            replays: 0,
            nodes,
            next_reader: 0,
            metrics: RequestMetrics::new(warmup_end),
            lag: Latency::new(3),
            connection_wait: Latency::new(3),
            waited: 0,
            refused: 0,
            pool_timeouts: 0,
            primary: Primary::Up,
            epoch: 0,
            primary_az,
            standby_az,
            down_azs: Vec::new(),
            down_since: None,
            unavailable: SimDuration::ZERO,
            ever_failed: false,
            failovers: 0,
            outages: 0,
            errors_during_failover: 0,
            held: Vec::new(),
            slot_end: 0,
        }
    }

    /// Stores `job` (of the current epoch).
    fn insert(&mut self, job: Job) -> u32 {
        let slot = self.jobs.insert(job);
        self.slot_end = self.slot_end.max(slot + 1);
        slot
    }

    /// The id of a timer of job `slot`: its slot and its epoch.
    fn job_timer(&self, slot: u32) -> u64 {
        (u64::from(self.jobs[slot].epoch()) << 32) | u64::from(slot)
    }

    /// The job a timer of [`Database::job_timer`] is for, unless the primary's failure took it.
    fn timer_job(&self, id: u64) -> Option<u32> {
        let slot = id as u32;
        (self.jobs.is_live(slot) && u64::from(self.jobs[slot].epoch()) == id >> 32).then_some(slot)
    }

    /// True when `request` comes through one of the proxies in front.
    fn proxied(&self, request: &Request) -> bool {
        self.s.availability.proxies.contains(&request.reply_to)
    }

    fn warmup_end(&self) -> SimTime {
        self.metrics.warmup_end()
    }

    fn cpu_time(&self, op: Op) -> &Dist {
        match op {
            Op::Read | Op::StrongRead => &self.s.read_cpu,
            Op::Write | Op::TransactWrite => &self.s.write_cpu,
            Op::Query | Op::StrongQuery => &self.s.query_cpu,
            Op::Default | Op::Event => &self.s.default_cpu,
        }
    }

    /// The node a request connects to: reads and queries through the reader endpoint, which
    /// gives each new connection to the next replica in turn; strong reads and queries (which
    /// must see the latest write), writes and the rest to the primary.
    fn route(&mut self, op: Op) -> usize {
        if self.nodes.len() == 1 || !matches!(op, Op::Read | Op::Query) {
            return PRIMARY;
        }
        let node = 1 + self.next_reader;
        self.next_reader = (self.next_reader + 1) % (self.nodes.len() - 1);
        node
    }

    fn arrive(&mut self, request: Request, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.metrics.arrived(now);
        let node = self.route(request.op);
        if node == PRIMARY {
            match self.primary {
                Primary::Up => {}
                Primary::FailingOver { proxy_ready } if self.proxied(&request) => {
                    if now < proxy_ready {
                        self.held.push((request, now));
                        return;
                    }
                }
                _ => {
                    self.fail_unavailable(request, now, cx);
                    return;
                }
            }
        }
        self.admit(request, now, node, cx);
    }

    /// Request `request`, which arrived at `arrived`, asks `node` for a connection.
    fn admit(&mut self, request: Request, arrived: SimTime, node: usize, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let epoch = self.epoch;
        if self.nodes[node].connections < self.s.max_connections {
            let slot = self.insert(Job::Query {
                request,
                arrived,
                node,
                epoch,
            });
            if self.metrics.in_window(arrived) {
                self.connection_wait.record(SimDuration::ZERO);
            }
            self.connect(slot, node, cx);
            return;
        }
        let Some(timeout) = self.s.pool_timeout else {
            if self.metrics.in_window(arrived) {
                self.refused += 1;
            }
            self.metrics.finished(arrived, now, Outcome::Error(REFUSED));
            cx.reply(Response {
                request,
                outcome: Outcome::Error(REFUSED),
            });
            return;
        };
        let slot = self.insert(Job::Query {
            request,
            arrived,
            node,
            epoch,
        });
        if self.metrics.in_window(arrived) {
            self.waited += 1;
        }
        let deadline = now + timeout;
        let n = &mut self.nodes[node];
        n.waiting.push_back((slot, deadline));
        if n.timeout_at.is_none() {
            n.timeout_at = Some(deadline);
            let id = (u64::from(n.timer_epoch) << 32) | node as u64;
            cx.set_timer(timeout, DbTimer::PoolTimeout(id));
        }
    }

    /// `request` fails because the primary cannot be reached.
    fn fail_unavailable(&mut self, request: Request, arrived: SimTime, cx: &mut Ctx<'_>) {
        let now = cx.now();
        if self.metrics.in_window(now) {
            self.errors_during_failover += 1;
        }
        self.metrics
            .finished(arrived, now, Outcome::Error(UNAVAILABLE));
        cx.reply(Response {
            request,
            outcome: Outcome::Error(UNAVAILABLE),
        });
    }

    /// A fault reaches the database: the primary's instance or an AZ fails, or an AZ returns.
    /// Replicas are not placed in AZs and do not fail.
    fn on_fault(&mut self, action: FaultAction, cx: &mut Ctx<'_>) {
        match action {
            // RDS monitors the primary itself, so a hung one is failed over like a crashed one.
            FaultAction::InstanceFailure | FaultAction::InstanceHang => {
                // An instance that is not serving (being promoted, recovering) has nothing to
                // lose.
                if self.primary == Primary::Up {
                    self.primary_fails(cx);
                }
            }
            FaultAction::AzDown { az } => {
                if !self.down_azs.contains(&az) {
                    self.down_azs.push(az);
                }
                let waiting_for_az = Primary::Down {
                    until_az_returns: true,
                };
                if az == self.primary_az && self.primary != waiting_for_az {
                    self.primary_fails(cx);
                }
            }
            FaultAction::AzUp { az } => {
                self.down_azs.retain(|&a| a != az);
                let waiting_for_az = Primary::Down {
                    until_az_returns: true,
                };
                if az == self.primary_az && self.primary == waiting_for_az {
                    self.restore(cx);
                }
            }
            // The kind does not declare these faults (the loader refuses them).
            FaultAction::Slowdown { .. } | FaultAction::Errors { .. } => {}
        }
    }

    /// The primary fails: what it held is lost, and the standby takes over after the failover
    /// window (Multi-AZ, its AZ up) or the primary is down until it recovers or its AZ returns.
    fn primary_fails(&mut self, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let was_down = matches!(self.primary, Primary::Down { .. });
        self.abort_primary(cx);
        self.epoch += 1;
        self.ever_failed = true;
        self.down_since.get_or_insert(now);
        let in_window = self.metrics.in_window(now);
        let a = &self.s.availability;
        let epoch = u64::from(self.epoch);
        if a.multi_az && !self.down_azs.contains(&self.standby_az) {
            std::mem::swap(&mut self.primary_az, &mut self.standby_az);
            if in_window {
                self.failovers += 1;
            }
            self.primary = Primary::FailingOver {
                proxy_ready: now + a.proxy_wait,
            };
            cx.set_timer(a.failover_time, DbTimer::Restored(epoch));
            if !a.proxies.is_empty() && a.proxy_wait < a.failover_time {
                cx.set_timer(a.proxy_wait, DbTimer::ProxyReady(epoch));
            }
        } else {
            if in_window && !was_down {
                self.outages += 1;
            }
            let until_az_returns = self.down_azs.contains(&self.primary_az);
            self.primary = Primary::Down { until_az_returns };
            if !until_az_returns {
                cx.set_timer(a.recovery_time, DbTimer::Restored(epoch));
            }
        }
    }

    /// Every request the primary holds fails (queries running, in a client's hold, waiting for
    /// a vCPU or a connection, held for a proxy); its connections are dropped.
    fn abort_primary(&mut self, cx: &mut Ctx<'_>) {
        for slot in 0..self.slot_end {
            if !self.jobs.is_live(slot) {
                continue;
            }
            let Job::Query {
                request,
                arrived,
                node: PRIMARY,
                ..
            } = self.jobs[slot]
            else {
                continue;
            };
            self.jobs.remove(slot);
            self.fail_unavailable(request, arrived, cx);
        }
        for (request, arrived) in std::mem::take(&mut self.held) {
            self.fail_unavailable(request, arrived, cx);
        }
        let (now, warmup_end) = (cx.now(), self.warmup_end());
        let n = &mut self.nodes[PRIMARY];
        n.waiting.clear();
        n.cpu_queue.clear();
        n.timeout_at = None;
        n.timer_epoch += 1;
        n.set_connections(now, warmup_end, 0);
        n.set_busy(now, warmup_end, 0);
    }

    /// The primary serves again (the standby promoted, or the instance recovered); requests
    /// held for a proxy go to it.
    fn restore(&mut self, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.primary = Primary::Up;
        if let Some(since) = self.down_since.take() {
            self.unavailable += self.window_part(since, now);
        }
        self.release_held(cx);
    }

    /// Requests held for a proxy go to the primary.
    fn release_held(&mut self, cx: &mut Ctx<'_>) {
        for (request, arrived) in std::mem::take(&mut self.held) {
            self.admit(request, arrived, PRIMARY, cx);
        }
    }

    /// The part of [`from`, `to`) inside the measured window.
    fn window_part(&self, from: SimTime, to: SimTime) -> SimDuration {
        to.saturating_since(from.max(self.warmup_end()))
    }

    /// Query `slot` takes a free connection of `node` and asks for a vCPU.
    fn connect(&mut self, slot: u32, node: usize, cx: &mut Ctx<'_>) {
        let (now, warmup_end) = (cx.now(), self.warmup_end());
        let n = &mut self.nodes[node];
        n.set_connections(now, warmup_end, n.connections + 1);
        self.want_cpu(slot, node, cx);
    }

    /// Job `slot` runs on a free vCPU of `node`, or queues for one.
    fn want_cpu(&mut self, slot: u32, node: usize, cx: &mut Ctx<'_>) {
        if self.nodes[node].busy_vcpus < self.s.hardware.vcpus {
            let (now, warmup_end) = (cx.now(), self.warmup_end());
            let n = &mut self.nodes[node];
            n.set_busy(now, warmup_end, n.busy_vcpus + 1);
            self.start(slot, cx);
        } else {
            self.nodes[node].cpu_queue.push_back(slot);
        }
    }

    /// Job `slot` starts on a vCPU: a query for its operation's CPU time, a replay for a
    /// write's.
    fn start(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let op = match &self.jobs[slot] {
            Job::Query { request, node, .. } => {
                let (op, key, node) = (request.op, request.key, *node);
                if node != PRIMARY && self.metrics.in_window(cx.now()) {
                    let n = &mut self.nodes[node];
                    n.reads += 1;
                    if n.unapplied.contains_key(&key) {
                        n.stale_reads += 1;
                    }
                }
                op
            }
            Job::Replay { .. } => Op::Write,
        };
        let delay = self.cpu_time(op).sample(cx.rng());
        cx.set_timer(delay, DbTimer::Cpu(self.job_timer(slot)));
    }

    fn cpu_done(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let node = self.jobs[slot].node();
        match self.nodes[node].cpu_queue.pop_front() {
            // The vCPU passes straight to the next job: busy stays the same.
            Some(next) => self.start(next, cx),
            None => {
                let (now, warmup_end) = (cx.now(), self.warmup_end());
                let n = &mut self.nodes[node];
                n.set_busy(now, warmup_end, n.busy_vcpus - 1);
            }
        }
        match self.jobs[slot] {
            Job::Replay { committed, key, .. } => {
                self.jobs.remove(slot);
                self.replays -= 1;
                let now = cx.now();
                let n = &mut self.nodes[node];
                if let Some(count) = n.unapplied.get_mut(&key) {
                    *count -= 1;
                    if *count == 0 {
                        n.unapplied.remove(&key);
                    }
                }
                if now >= self.metrics.warmup_end() {
                    n.lag.record(now - committed);
                    self.lag.record(now - committed);
                }
                return;
            }
            Job::Query { request, .. } => {
                if node == PRIMARY && matches!(request.op, Op::Write | Op::TransactWrite) {
                    self.replicate(request.key, cx);
                }
            }
        }
        match &self.s.client_hold {
            Some(hold) => {
                let delay = hold.sample(cx.rng());
                cx.set_timer(delay, DbTimer::Hold(self.job_timer(slot)));
            }
            None => self.finish(slot, cx),
        }
    }

    /// A write to `key` has committed on the primary: it ships to every replica.
    fn replicate(&mut self, key: u64, cx: &mut Ctx<'_>) {
        let now = cx.now();
        for node in 1..self.nodes.len() {
            *self.nodes[node].unapplied.entry(key).or_insert(0) += 1;
            let slot = self.insert(Job::Replay {
                node,
                committed: now,
                key,
                epoch: self.epoch,
            });
            self.replays += 1;
            let delay = self.s.replica_lag.sample(cx.rng());
            cx.set_timer(delay, DbTimer::Shipped(self.job_timer(slot)));
        }
    }

    /// Query `slot` is answered and its connection freed: the oldest request waiting for one
    /// of its node takes it.
    fn finish(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let Job::Query {
            request,
            arrived,
            node,
            ..
        } = self.jobs[slot]
        else {
            unreachable!("only queries hold connections");
        };
        self.jobs.remove(slot);
        self.metrics.finished(arrived, now, Outcome::Ok);
        cx.reply(Response {
            request,
            outcome: Outcome::Ok,
        });
        let warmup_end = self.warmup_end();
        let n = &mut self.nodes[node];
        n.queries_done += 1;
        n.set_connections(now, warmup_end, n.connections - 1);
        if let Some((next, _)) = n.waiting.pop_front() {
            let Job::Query { arrived, .. } = self.jobs[next] else {
                unreachable!("only queries wait for connections");
            };
            if self.metrics.in_window(arrived) {
                self.connection_wait.record(now - arrived);
            }
            self.connect(next, node, cx);
        }
    }

    /// Requests of `node` whose wait is over give up; the timer is re-armed for the next one.
    fn expire(&mut self, node: usize, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.nodes[node].timeout_at = None;
        while let Some(&(slot, deadline)) = self.nodes[node].waiting.front() {
            if deadline > now {
                let n = &mut self.nodes[node];
                n.timeout_at = Some(deadline);
                let id = (u64::from(n.timer_epoch) << 32) | node as u64;
                cx.set_timer(deadline - now, DbTimer::PoolTimeout(id));
                return;
            }
            self.nodes[node].waiting.pop_front();
            let Job::Query {
                request, arrived, ..
            } = self.jobs[slot]
            else {
                unreachable!("only queries wait for connections");
            };
            self.jobs.remove(slot);
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

    /// The primary's failures: failovers, their window, the time it was away and the requests
    /// that failed for it.
    fn availability_report(&self, report: ComponentReport, end: SimTime) -> ComponentReport {
        let a = &self.s.availability;
        let away = self.unavailable
            + self
                .down_since
                .map_or(SimDuration::ZERO, |since| self.window_part(since, end));
        let mut report = report
            .figure("multi_az", a.multi_az)
            .figure("failovers", self.failovers)
            .figure("outages", self.outages)
            .figure("unavailable_s", away.as_secs_f64())
            .figure("errors_during_failover", self.errors_during_failover);
        if a.multi_az {
            report = report.figure("failover_time_s", a.failover_time.as_secs_f64());
        }
        if let Some(names) = &a.az_names {
            report = report.figure("primary_az", names[self.primary_az as usize].as_str());
        }
        report
    }

    /// The figures of replica `node`.
    fn replica_report(&self, node: usize, end: SimTime) -> serde_json::Value {
        let n = &self.nodes[node];
        let warmup_end = self.warmup_end();
        serde_json::json!({
            "queries": n.queries_done,
            "reads": n.reads,
            "stale_reads": n.stale_reads,
            "connections_max": n.window_peak,
            "cpu_utilisation": n.busy_avg.window_mean(end, warmup_end) / self.s.hardware.vcpus as f64,
            "lag_ms": n.lag.summary(),
        })
    }
}

impl Component<Msg> for Database {
    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => self.arrive(request, cx),
            Msg::Timer(timer) => match DbTimer::from(timer) {
                DbTimer::Cpu(id) => {
                    if let Some(slot) = self.timer_job(id) {
                        self.cpu_done(slot, cx);
                    }
                }
                DbTimer::Hold(id) => {
                    if let Some(slot) = self.timer_job(id) {
                        self.finish(slot, cx);
                    }
                }
                DbTimer::PoolTimeout(id) => {
                    let node = id as u32 as usize;
                    if u64::from(self.nodes[node].timer_epoch) == id >> 32 {
                        self.expire(node, cx);
                    }
                }
                DbTimer::Shipped(id) => {
                    if let Some(slot) = self.timer_job(id) {
                        let node = self.jobs[slot].node();
                        self.want_cpu(slot, node, cx);
                    }
                }
                DbTimer::Restored(epoch) => {
                    if epoch == u64::from(self.epoch) && self.primary != Primary::Up {
                        self.restore(cx);
                    }
                }
                DbTimer::ProxyReady(epoch) => {
                    if epoch == u64::from(self.epoch) {
                        self.release_held(cx);
                    }
                }
            },
            Msg::Control(Control::Fault(action)) => self.on_fault(action, cx),
            // It calls no one.
            Msg::Response(_) | Msg::Control(_) | Msg::Lost(_) => {}
        }
    }
}

impl Observe for Database {
    fn kind(&self) -> &'static str {
        Spec::KIND
    }

    fn in_flight(&self) -> u64 {
        self.jobs.len() as u64 - self.replays + self.held.len() as u64
    }

    fn sample(&mut self, now: SimTime, row: &mut SeriesRow) {
        let warmup_end = self.warmup_end();
        self.metrics.sample(self.in_flight(), row);
        let queued: usize = self
            .nodes
            .iter()
            .map(|n| n.waiting.len() + n.cpu_queue.len())
            .sum();
        row.queue_length = Some(queued as u64);
        let waiting: usize = self.nodes.iter().map(|n| n.waiting.len()).sum();
        let primary = &mut self.nodes[PRIMARY];
        let cpu =
            primary
                .busy_avg
                .take_interval_share(now, warmup_end, self.s.hardware.vcpus as f64);
        row.utilisation = Some(cpu);
        let mean = primary.connections_avg.take_interval_mean(now, warmup_end);
        row.set_gauge(Gauge::ConnectionsInUse as usize, Some(mean));
        row.set_gauge(
            Gauge::ConnectionsPeak as usize,
            Some(primary.interval_peak as f64),
        );
        row.set_gauge(Gauge::ConnectionWaiting as usize, Some(waiting as f64));
        row.set_gauge(Gauge::CpuUtilisation as usize, Some(cpu));
        primary.interval_peak = primary.connections;
        for replica in &mut self.nodes[1..] {
            // Replicas have no columns: their interval figures restart unread.
            let _ = replica.busy_avg.take_interval_share(now, warmup_end, 1.0);
            let _ = replica.connections_avg.take_interval_mean(now, warmup_end);
            replica.interval_peak = replica.connections;
        }
    }

    fn report(&self, end: SimTime) -> ComponentReport {
        let warmup_end = self.warmup_end();
        let wait = self.connection_wait.summary();
        let primary = &self.nodes[PRIMARY];
        let queries: u64 = self.nodes.iter().map(|n| n.queries_done).sum();
        let report = self
            .metrics
            .report(Spec::KIND, self.in_flight())
            .figure("engine", self.s.engine.name())
            .figure("vcpus", self.s.hardware.vcpus)
            .figure("memory_gib", self.s.hardware.memory_gib)
            .figure("max_connections", self.s.max_connections)
            .figure("queries", queries)
            .figure("connections_max", primary.window_peak)
            .figure(
                "connections_mean",
                primary.connections_avg.window_mean(end, warmup_end),
            )
            .figure("connection_waits", self.waited)
            .figure("connection_wait_ms", wait)
            .figure("connections_refused", self.refused)
            .figure("pool_timeouts", self.pool_timeouts)
            .figure(
                "cpu_utilisation",
                primary.busy_avg.window_mean(end, warmup_end) / self.s.hardware.vcpus as f64,
            );
        let report = if self.s.availability.multi_az || self.ever_failed {
            self.availability_report(report, end)
        } else {
            report
        };
        if self.nodes.len() == 1 {
            return report;
        }
        let (reads, stale) = self.nodes[1..]
            .iter()
            .fold((0, 0), |(r, s), n| (r + n.reads, s + n.stale_reads));
        report
            .figure("read_replicas", self.s.read_replicas)
            .figure("primary_queries", primary.queries_done)
            .figure("replica_reads", reads)
            .figure("stale_reads", stale)
            .figure("replica_lag_ms", self.lag.summary())
            .figure(
                "replicas",
                (1..self.nodes.len())
                    .map(|node| self.replica_report(node, end))
                    .collect::<Vec<_>>(),
            )
    }
}
