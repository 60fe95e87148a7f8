//! The running cluster: each request's commands queue on its key's shard, one engine thread
//! per shard; a read that misses goes to the database and comes back to write the item.

use std::collections::VecDeque;

use super::catalogue::{self, Node};
use super::outputs::Gauge;
use super::store::{Store, Written};
use super::{Kind, Spec};
use crate::dist::Dist;
use crate::engine::slab::Slab;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{Component, ComponentId};
use crate::message::{Connection, Ctx, Msg, NO_ROUTE, Op, Outcome, Request, Response};
use crate::metrics::TimeWeighted;
use crate::metrics::{ComponentReport, Observe, RequestMetrics, SeriesRow};

/// The status of a write refused for want of memory (Redis's "OOM command not allowed").
const OUT_OF_MEMORY: u16 = 500;

/// What the builder hands the running cluster.
pub(super) struct Settings {
    pub shards: u32,
    pub node: Node,
    /// Bytes each shard has for data.
    pub data_bytes: u64,
    pub may_evict: bool,
    pub ttl: Option<SimDuration>,
    pub item_overhead: u64,
    pub command_time: Dist,
    /// The database a read that misses calls, with the operation it asks for.
    pub on_miss: Option<(ComponentId, Op)>,
}

crate::timers! {
    /// The timers of a cluster.
    enum CacheTimer {
        /// The running command of a shard is done (the shard's index).
        Command,
    }
}

/// A command on a shard's thread.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Command {
    Get,
    Set,
}

/// A request inside the cluster.
struct Pending {
    request: Request,
    arrived: SimTime,
    shard: u32,
    /// True once the database has answered a miss (its SET fills the cache).
    filling: bool,
}

/// One shard: its memory, its thread and its counts.
struct Shard {
    store: Store,
    queue: VecDeque<(u32, Command)>,
    running: Option<(u32, Command)>,
    busy: TimeWeighted,
    /// Commands run in the measured window, and in the current interval.
    ops: u64,
    interval_ops: u64,
}

/// A running ElastiCache cluster.
pub(super) struct Cluster {
    s: Settings,
    shards: Vec<Shard>,
    /// Slot → shard.
    slot_shard: Vec<u16>,
    pending: Slab<Pending>,
    metrics: RequestMetrics,
    hits: u64,
    misses: u64,
    evictions: u64,
    refused_writes: u64,
    fills: u64,
    interval_hits: u64,
    interval_misses: u64,
    interval_evictions: u64,
    last_sample: SimTime,
    peak_memory: u64,
}

impl Cluster {
    pub(super) fn new(s: Settings, warmup_end: SimTime) -> Cluster {
        let slot_shard = catalogue::slot_shards(s.shards);
        let shards = (0..s.shards)
            .map(|_| Shard {
                store: Store::new(s.data_bytes, s.may_evict),
                queue: VecDeque::new(),
                running: None,
                busy: TimeWeighted::new(0.0),
                ops: 0,
                interval_ops: 0,
            })
            .collect();
        Cluster {
            s,
            shards,
            slot_shard,
            pending: Slab::default(),
            metrics: RequestMetrics::new(warmup_end),
            hits: 0,
            misses: 0,
            evictions: 0,
            refused_writes: 0,
            fills: 0,
            interval_hits: 0,
            interval_misses: 0,
            interval_evictions: 0,
            last_sample: SimTime::ZERO,
            peak_memory: 0,
        }
    }

    fn warmup_end(&self) -> SimTime {
        self.metrics.warmup_end()
    }

    fn arrive(&mut self, request: Request, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.metrics.arrived(now);
        let shard = self.slot_shard[catalogue::hash_slot(request.key) as usize] as u32;
        let command = match request.op {
            Op::Write | Op::TransactWrite => Command::Set,
            _ => Command::Get,
        };
        let slot = self.pending.insert(Pending {
            request,
            arrived: now,
            shard,
            filling: false,
        });
        self.enqueue(shard, slot, command, cx);
    }

    fn enqueue(&mut self, shard: u32, slot: u32, command: Command, cx: &mut Ctx<'_>) {
        if self.shards[shard as usize].running.is_some() {
            self.shards[shard as usize].queue.push_back((slot, command));
        } else {
            let warmup_end = self.warmup_end();
            self.shards[shard as usize]
                .busy
                .set(cx.now(), warmup_end, 1.0);
            self.start(shard, slot, command, cx);
        }
    }

    fn start(&mut self, shard: u32, slot: u32, command: Command, cx: &mut Ctx<'_>) {
        self.shards[shard as usize].running = Some((slot, command));
        let delay = self.s.command_time.sample(cx.rng());
        cx.set_timer(delay, CacheTimer::Command(shard as u64));
    }

    fn command_done(&mut self, shard: u32, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let (slot, command) = self.shards[shard as usize]
            .running
            .take()
            .expect("a command timer has a running command");
        let in_window = self.metrics.in_window(self.pending[slot].arrived);
        let sh = &mut self.shards[shard as usize];
        sh.interval_ops += 1;
        if in_window {
            sh.ops += 1;
        }
        match sh.queue.pop_front() {
            Some((next, next_command)) => self.start(shard, next, next_command, cx),
            None => {
                let warmup_end = self.metrics.warmup_end();
                self.shards[shard as usize].busy.set(now, warmup_end, 0.0);
            }
        }
        match command {
            Command::Get => self.get(shard, slot, in_window, cx),
            Command::Set => self.set(shard, slot, in_window, cx),
        }
    }

    fn get(&mut self, shard: u32, slot: u32, in_window: bool, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let key = self.pending[slot].request.key;
        if self.shards[shard as usize].store.get(key, now) {
            self.interval_hits += 1;
            self.hits += in_window as u64;
            return self.finish(slot, Outcome::Ok, cx);
        }
        self.interval_misses += 1;
        self.misses += in_window as u64;
        let Some((db, op)) = self.s.on_miss else {
            return self.finish(slot, Outcome::Ok, cx);
        };
        let request = self.pending[slot].request;
        let call = Request {
            op,
            reply_to: cx.me(),
            tag: slot as u64,
            route: NO_ROUTE,
            // The application opens its own connection to the database.
            connection: Connection::single(request.id),
            ..request
        };
        cx.send_request(db, call);
    }

    fn set(&mut self, shard: u32, slot: u32, in_window: bool, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let p = &self.pending[slot];
        let (key, filling) = (p.request.key, p.filling);
        let bytes = (f64::from(p.request.item_kb) * 1024.0).round() as u64 + self.s.item_overhead;
        let expires = self.s.ttl.map(|ttl| now + ttl);
        let outcome = match self.shards[shard as usize]
            .store
            .set(key, bytes, expires, now)
        {
            Written::Stored { evicted } => {
                self.interval_evictions += evicted;
                if in_window {
                    self.evictions += evicted;
                    self.fills += filling as u64;
                }
                Outcome::Ok
            }
            Written::OutOfMemory => {
                self.refused_writes += in_window as u64;
                // A fill that does not fit still answers the database's item.
                if filling {
                    Outcome::Ok
                } else {
                    Outcome::Error(OUT_OF_MEMORY)
                }
            }
        };
        let used = self.memory_used();
        self.peak_memory = self.peak_memory.max(used);
        self.finish(slot, outcome, cx);
    }

    /// The database answered the miss of `slot`: an item to write, or a failure to pass on.
    fn on_database(&mut self, slot: u32, outcome: Outcome, cx: &mut Ctx<'_>) {
        if !outcome.is_ok() {
            return self.finish(slot, outcome, cx);
        }
        let p = &mut self.pending[slot];
        p.filling = true;
        let shard = p.shard;
        self.enqueue(shard, slot, Command::Set, cx);
    }

    fn finish(&mut self, slot: u32, outcome: Outcome, cx: &mut Ctx<'_>) {
        let p = &self.pending[slot];
        let (request, arrived) = (p.request, p.arrived);
        self.pending.remove(slot);
        self.metrics.finished(arrived, cx.now(), outcome);
        cx.reply(Response { request, outcome });
    }

    fn memory_used(&self) -> u64 {
        self.shards.iter().map(|s| s.store.used_bytes()).sum()
    }
}

impl Component<Msg> for Cluster {
    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => self.arrive(request, cx),
            Msg::Timer(timer) => match CacheTimer::from(timer) {
                CacheTimer::Command(shard) => self.command_done(shard as u32, cx),
            },
            Msg::Response(response) => {
                self.on_database(response.request.tag as u32, response.outcome, cx)
            }
            Msg::Lost(request) => self.on_database(request.tag as u32, Outcome::Timeout, cx),
            Msg::Control(_) => {}
        }
    }
}

impl Observe for Cluster {
    fn kind(&self) -> &'static str {
        Spec::KIND
    }

    fn in_flight(&self) -> u64 {
        self.pending.len() as u64
    }

    fn sample(&mut self, now: SimTime, row: &mut SeriesRow) {
        let warmup_end = self.warmup_end();
        self.metrics.sample(self.in_flight(), row);
        let secs = now.saturating_since(self.last_sample).as_secs_f64();
        self.last_sample = now;
        let per_s = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        let lookups = self.interval_hits + self.interval_misses;
        row.set_gauge(Gauge::Hits as usize, Some(per_s(self.interval_hits)));
        row.set_gauge(Gauge::Misses as usize, Some(per_s(self.interval_misses)));
        row.set_gauge(
            Gauge::HitRatio as usize,
            (lookups > 0).then(|| self.interval_hits as f64 / lookups as f64),
        );
        row.set_gauge(
            Gauge::Evictions as usize,
            Some(per_s(self.interval_evictions)),
        );
        for shard in &mut self.shards {
            shard.store.expire(now);
        }
        row.set_gauge(
            Gauge::MemoryUsed as usize,
            Some(self.memory_used() as f64 / (1u64 << 20) as f64),
        );
        let hottest = self
            .shards
            .iter()
            .map(|s| s.interval_ops)
            .max()
            .unwrap_or(0);
        row.set_gauge(Gauge::HottestShardOps as usize, Some(per_s(hottest)));
        let mut busiest: f64 = 0.0;
        let mut queued = 0;
        for shard in &mut self.shards {
            busiest = busiest.max(shard.busy.take_interval_share(now, warmup_end, 1.0));
            shard.interval_ops = 0;
            queued += shard.queue.len();
        }
        row.queue_length = Some(queued as u64);
        row.utilisation = Some(busiest);
        row.set_gauge(Gauge::EngineCpuBusiest as usize, Some(busiest));
        self.interval_hits = 0;
        self.interval_misses = 0;
        self.interval_evictions = 0;
    }

    fn report(&self, end: SimTime) -> ComponentReport {
        let warmup_end = self.warmup_end();
        let lookups = self.hits + self.misses;
        let shard_ops: Vec<u64> = self.shards.iter().map(|s| s.ops).collect();
        let total_ops: u64 = shard_ops.iter().sum();
        let cpu: Vec<f64> = self
            .shards
            .iter()
            .map(|s| s.busy.window_mean(end, warmup_end))
            .collect();
        let items: usize = self.shards.iter().map(|s| s.store.len()).sum();
        self.metrics
            .report(Spec::KIND, self.in_flight())
            .figure("shards", self.s.shards)
            .figure("vcpus_per_node", self.s.node.vcpus)
            .figure("data_bytes_per_shard", self.s.data_bytes)
            .figure("hits", self.hits)
            .figure("misses", self.misses)
            .figure(
                "hit_ratio",
                if lookups > 0 {
                    self.hits as f64 / lookups as f64
                } else {
                    0.0
                },
            )
            .figure("fills", self.fills)
            .figure("evictions", self.evictions)
            .figure("writes_refused", self.refused_writes)
            .figure("items", items)
            .figure("memory_used_bytes", self.memory_used())
            .figure("memory_used_peak_bytes", self.peak_memory)
            .figure("shard_ops", &shard_ops)
            .figure(
                "hottest_shard_share",
                if total_ops > 0 {
                    *shard_ops.iter().max().unwrap_or(&0) as f64 / total_ops as f64
                } else {
                    0.0
                },
            )
            .figure("engine_cpu_utilisation", &cpu)
            .figure(
                "engine_cpu_busiest",
                cpu.iter().copied().fold(0.0, f64::max),
            )
    }
}
