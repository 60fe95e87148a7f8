//! A running Route 53 record: the clients' cached answers, the health of each target as the
//! checker sees it, and each target's failures from the first error to the last client moving
//! off it.

use std::collections::HashMap;

use rand::Rng;

use super::{Routing, Spec};
use crate::components::Kind;
use crate::engine::rng::mix64;
use crate::engine::slab::Slab;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{Component, ComponentId};
use crate::message::Ctx;
use crate::message::{Connection, Msg, NO_ROUTE, Op, Outcome, Recorded, Request, Response};
use crate::metrics::{ComponentReport, Observe, RequestMetrics, SeriesRow};

/// A record's target as built.
#[derive(Clone, Debug)]
pub struct TargetPlan {
    /// The component's name.
    pub name: String,
    /// Its id.
    pub id: ComponentId,
    /// Its weight (weighted routing).
    pub weight: u32,
    /// True for a failover primary.
    pub primary: bool,
}

/// A group of clients as built.
#[derive(Clone, Debug)]
pub struct Group {
    /// Share of the clients.
    pub share: f64,
    /// Round trip to each target.
    pub latency: Vec<SimDuration>,
}

/// Health checks as built.
#[derive(Copy, Clone, Debug)]
pub struct HealthPlan {
    /// Time between probes.
    pub interval: SimDuration,
    /// Consecutive probes that change a status.
    pub threshold: u32,
}

/// Everything a record is built from.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The routing policy.
    pub routing: Routing,
    /// One per record.
    pub targets: Vec<TargetPlan>,
    /// Answer TTL.
    pub ttl: SimDuration,
    /// Clients that keep answers for `stale_ttl`.
    pub stale_fraction: f64,
    /// How long they keep them.
    pub stale_ttl: SimDuration,
    /// Client groups.
    pub groups: Vec<Group>,
    /// Health checks, if any.
    pub health: Option<HealthPlan>,
    /// A client's first answer lasts a uniform share of its TTL.
    pub staggered_start: bool,
    /// End of the warm-up.
    pub warmup_end: SimTime,
}

/// One failure of a target: from its first failed answer or probe to the moment the last
/// client's cached answer naming it expires.
#[derive(Copy, Clone, Debug)]
struct Episode {
    failed_at: SimTime,
    detected_at: Option<SimTime>,
    /// When the last ordinary client's answer naming the target, given before detection,
    /// expires.
    clients_moved_at: Option<SimTime>,
    /// The same for the clients that keep answers past the TTL.
    stale_clients_moved_at: Option<SimTime>,
    /// Failed requests until the ordinary clients had moved.
    errors: u64,
    /// Failed requests after that (stale clients).
    stale_errors: u64,
}

impl Episode {
    fn new(failed_at: SimTime) -> Episode {
        Episode {
            failed_at,
            detected_at: None,
            clients_moved_at: None,
            stale_clients_moved_at: None,
            errors: 0,
            stale_errors: 0,
        }
    }
}

/// Most failure episodes a target keeps for its report.
const MAX_EPISODES: usize = 100;

/// A target and what the record knows of it.
struct Target {
    plan: TargetPlan,
    healthy: bool,
    /// Consecutive probes that disagree with `healthy`.
    against: u32,
    /// The generation of the probe in flight, if one is.
    probe_in_flight: Option<u64>,
    probe_generation: u64,
    /// The latest expiry of an answer naming it, for ordinary and for stale clients.
    latest_expiry: SimTime,
    latest_stale_expiry: SimTime,
    open: Option<Episode>,
    episodes: Vec<Episode>,
    answers: u64,
    requests: u64,
    errors: u64,
}

/// A client's cached answer.
#[derive(Copy, Clone, Debug)]
struct Cached {
    target: usize,
    expires: SimTime,
}

/// A request forwarded to a target.
#[derive(Copy, Clone, Debug)]
struct Pending {
    request: Request,
    arrived: SimTime,
    target: usize,
}

/// Marks a probe's tag: `PROBE | generation << 16 | target`.
const PROBE: u64 = 1 << 63;

crate::timers! {
    /// The record's timers.
    enum Route53Timer {
        /// Time to probe a target (its index).
        Probe,
    }
}

/// A running record.
pub struct Record {
    routing: Routing,
    targets: Vec<Target>,
    ttl: SimDuration,
    stale_fraction: f64,
    stale_ttl: SimDuration,
    groups: Vec<Group>,
    cumulative: Vec<f64>,
    health: Option<HealthPlan>,
    staggered_start: bool,
    /// Client address → its cached answer. Looked up, never iterated.
    clients: HashMap<u32, Cached>,
    pending: Slab<Pending>,
    metrics: RequestMetrics,
    resolutions: u64,
}

/// A point in [0, 1) from a client's address and a salt.
fn unit(ip: u32, salt: u64) -> f64 {
    (mix64(u64::from(ip) ^ salt) >> 11) as f64 / (1u64 << 53) as f64
}

impl Record {
    /// Builds the record of `plan`.
    pub fn new(plan: Plan) -> Record {
        let mut total = 0.0;
        let cumulative = plan
            .groups
            .iter()
            .map(|g| {
                total += g.share;
                total
            })
            .collect();
        Record {
            routing: plan.routing,
            targets: plan
                .targets
                .into_iter()
                .map(|plan| Target {
                    plan,
                    healthy: true,
                    against: 0,
                    probe_in_flight: None,
                    probe_generation: 0,
                    latest_expiry: SimTime::ZERO,
                    latest_stale_expiry: SimTime::ZERO,
                    open: None,
                    episodes: Vec::new(),
                    answers: 0,
                    requests: 0,
                    errors: 0,
                })
                .collect(),
            ttl: plan.ttl,
            stale_fraction: plan.stale_fraction,
            stale_ttl: plan.stale_ttl,
            groups: plan.groups,
            cumulative,
            health: plan.health,
            staggered_start: plan.staggered_start,
            clients: HashMap::new(),
            pending: Slab::default(),
            metrics: RequestMetrics::new(plan.warmup_end),
            resolutions: 0,
        }
    }

    fn group_of(&self, ip: u32) -> usize {
        let u = unit(ip, 0x5EED_6A0F) * self.cumulative.last().copied().unwrap_or(1.0);
        self.cumulative
            .iter()
            .position(|&c| u < c)
            .unwrap_or(self.groups.len() - 1)
    }

    /// The answer for a client of `group`.
    fn resolve(&self, group: usize, cx: &mut Ctx<'_>) -> usize {
        let n = self.targets.len();
        let healthy: Vec<usize> = (0..n).filter(|&i| self.targets[i].healthy).collect();
        // Route 53 answers as if every record were healthy when none is.
        let candidates: Vec<usize> = if healthy.is_empty() {
            (0..n).collect()
        } else {
            healthy
        };
        match self.routing {
            Routing::Simple => cx.rng().random_range(0..n),
            Routing::Weighted => {
                let total: u64 = candidates
                    .iter()
                    .map(|&i| u64::from(self.targets[i].plan.weight))
                    .sum();
                if total == 0 {
                    return candidates[cx.rng().random_range(0..candidates.len())];
                }
                let mut pick = cx.rng().random_range(0..total);
                for &i in &candidates {
                    let w = u64::from(self.targets[i].plan.weight);
                    if pick < w {
                        return i;
                    }
                    pick -= w;
                }
                unreachable!("the pick is below the total weight")
            }
            Routing::Latency => *candidates
                .iter()
                .min_by_key(|&&i| (self.groups[group].latency[i], i))
                .expect("at least one record"),
            Routing::Failover => {
                let primary = (0..n)
                    .find(|&i| self.targets[i].plan.primary)
                    .expect("checked: one primary");
                let secondary = 1 - primary;
                if self.targets[primary].healthy || !self.targets[secondary].healthy {
                    primary
                } else {
                    secondary
                }
            }
        }
    }

    fn on_request(&mut self, request: Request, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let counted = u64::from(self.metrics.in_window(now));
        self.metrics.arrived(now);
        let ip = request.connection.source_ip;
        let group = self.group_of(ip);
        let cached = self.clients.get(&ip).copied();
        let target = match cached {
            Some(c) if now < c.expires => c.target,
            _ => {
                let target = self.resolve(group, cx);
                let stale = unit(ip, 0x57A1E) < self.stale_fraction;
                let mut keep = if stale { self.stale_ttl } else { self.ttl };
                if cached.is_none() && self.staggered_start {
                    keep = SimDuration((keep.as_nanos() as f64 * unit(ip, 0x1A57)) as u64);
                }
                let expires = now + keep;
                self.clients.insert(ip, Cached { target, expires });
                let t = &mut self.targets[target];
                let latest = if stale {
                    &mut t.latest_stale_expiry
                } else {
                    &mut t.latest_expiry
                };
                *latest = (*latest).max(expires);
                t.answers += counted;
                self.resolutions += counted;
                target
            }
        };
        self.targets[target].requests += counted;
        let slot = self.pending.insert(Pending {
            request,
            arrived: now,
            target,
        });
        let forwarded = Request {
            reply_to: cx.me(),
            tag: u64::from(slot),
            route: NO_ROUTE,
            // The client connects to the target itself; the record only told it where.
            ..request
        };
        let delay = self.groups[group].latency[target];
        cx.send_after(self.targets[target].plan.id, delay, Msg::Request(forwarded));
    }

    fn on_answer(&mut self, request: Request, outcome: Outcome, cx: &mut Ctx<'_>) {
        let now = cx.now();
        if request.tag & PROBE != 0 {
            let target = (request.tag & 0xFFFF) as usize;
            let generation = (request.tag & !PROBE) >> 16;
            if self.targets[target].probe_in_flight == Some(generation) {
                self.targets[target].probe_in_flight = None;
                self.probed(target, outcome.is_ok(), now);
            }
            return;
        }
        let slot = request.tag as u32;
        let Pending {
            request: original,
            arrived,
            target,
        } = self.pending[slot];
        self.pending.remove(slot);
        let counted = self.metrics.in_window(arrived);
        let t = &mut self.targets[target];
        if outcome.is_ok() {
            // A target that answers again was not failing: an error before was a blip.
            if t.open.is_some_and(|e| e.detected_at.is_none()) {
                t.open = None;
            }
        } else {
            t.errors += u64::from(counted);
            if t.open.is_none() && t.healthy {
                t.open = Some(Episode::new(now));
            }
            if let Some(e) = &mut t.open {
                if e.clients_moved_at.is_none_or(|m| now <= m) {
                    e.errors += 1;
                } else {
                    e.stale_errors += 1;
                }
            }
        }
        self.metrics.finished(arrived, now, outcome);
        cx.reply(Response {
            request: original,
            outcome,
        });
    }

    /// A probe of `target` passed or failed at `now`.
    fn probed(&mut self, target: usize, ok: bool, now: SimTime) {
        let threshold = self.health.map_or(1, |h| h.threshold);
        let t = &mut self.targets[target];
        if ok == t.healthy {
            t.against = 0;
            if ok && t.open.is_some_and(|e| e.detected_at.is_none()) {
                t.open = None;
            }
            return;
        }
        if !ok && t.open.is_none() {
            t.open = Some(Episode::new(now));
        }
        t.against += 1;
        if t.against < threshold {
            return;
        }
        t.against = 0;
        t.healthy = ok;
        if ok {
            if let Some(e) = t.open.take()
                && t.episodes.len() < MAX_EPISODES
            {
                t.episodes.push(e);
            }
        } else if let Some(e) = &mut t.open {
            e.detected_at = Some(now);
            e.clients_moved_at = Some(t.latest_expiry.max(now));
            e.stale_clients_moved_at = Some(t.latest_stale_expiry.max(t.latest_expiry).max(now));
        }
    }

    fn on_probe(&mut self, target: usize, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let Some(health) = self.health else {
            return;
        };
        // Unanswered since the last probe: a failure.
        if self.targets[target].probe_in_flight.take().is_some() {
            self.probed(target, false, now);
        }
        let t = &mut self.targets[target];
        t.probe_generation += 1;
        t.probe_in_flight = Some(t.probe_generation);
        let id = cx.new_request_id();
        let probe = Request {
            id,
            workload: 0,
            created_at: now,
            key: 0,
            item_kb: 1.0,
            op: Op::Default,
            attempt: 1,
            reply_to: cx.me(),
            tag: PROBE | (t.probe_generation << 16) | target as u64,
            route: NO_ROUTE,
            recorded_duration: Recorded::NONE,
            connection: Connection::single(id),
        };
        cx.send_request(t.plan.id, probe);
        cx.set_timer(health.interval, Route53Timer::Probe(target as u64));
    }

    /// The episodes of `target`: the closed ones, then the open one.
    fn episodes(&self, target: usize) -> impl Iterator<Item = &Episode> {
        let t = &self.targets[target];
        t.episodes.iter().chain(t.open.iter())
    }
}

impl Component<Msg> for Record {
    fn init(&mut self, cx: &mut Ctx<'_>) {
        if let Some(h) = self.health {
            for i in 0..self.targets.len() {
                cx.set_timer(h.interval, Route53Timer::Probe(i as u64));
            }
        }
    }

    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => self.on_request(request, cx),
            Msg::Response(response) => self.on_answer(response.request, response.outcome, cx),
            Msg::Lost(request) => self.on_answer(request, Outcome::Timeout, cx),
            Msg::Timer(timer) => match Route53Timer::from(timer) {
                Route53Timer::Probe(target) => self.on_probe(target as usize, cx),
            },
            Msg::Control(control) => debug_assert!(false, "a route53 does not receive {control:?}"),
        }
    }
}

fn secs(t: SimTime) -> f64 {
    t.saturating_since(SimTime::ZERO).as_secs_f64()
}

impl Observe for Record {
    fn kind(&self) -> &'static str {
        Spec::KIND
    }

    fn in_flight(&self) -> u64 {
        self.pending.len() as u64
    }

    fn sample(&mut self, _now: SimTime, row: &mut SeriesRow) {
        self.metrics.sample(self.in_flight(), row);
    }

    fn report(&self, _end: SimTime) -> ComponentReport {
        let mut failover_s: Option<f64> = None;
        let mut failover_errors = 0;
        let targets: serde_json::Map<String, serde_json::Value> = self
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let episodes: Vec<serde_json::Value> = self
                    .episodes(i)
                    .filter(|e| e.detected_at.is_some())
                    .map(|e| {
                        let moved = e.clients_moved_at.expect("set with detection");
                        let failover = moved.saturating_since(e.failed_at).as_secs_f64();
                        failover_s = Some(failover_s.map_or(failover, |f: f64| f.max(failover)));
                        failover_errors += e.errors;
                        serde_json::json!({
                            "failed_at_s": secs(e.failed_at),
                            "detected_at_s": secs(e.detected_at.expect("filtered")),
                            "clients_moved_at_s": secs(moved),
                            "stale_clients_moved_at_s": secs(
                                e.stale_clients_moved_at.expect("set with detection")
                            ),
                            "failover_s": failover,
                            "errors": e.errors,
                            "stale_errors": e.stale_errors,
                        })
                    })
                    .collect();
                (
                    t.plan.name.clone(),
                    serde_json::json!({
                        "answers": t.answers,
                        "requests": t.requests,
                        "errors": t.errors,
                        "healthy_at_end": t.healthy,
                        "failovers": episodes,
                    }),
                )
            })
            .collect();
        let answers: Vec<u64> = self.targets.iter().map(|t| t.answers).collect();
        let mut report = self
            .metrics
            .report(Spec::KIND, self.in_flight())
            .figure("answers", answers)
            .figure("resolutions", self.resolutions)
            .figure("targets", targets);
        if let Some(f) = failover_s {
            report = report
                .figure("failover_s", f)
                .figure("failover_errors", failover_errors);
        }
        report
    }
}
