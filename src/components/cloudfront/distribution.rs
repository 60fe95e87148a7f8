//! A running CloudFront distribution: its caches in tiers (edges, regional edge caches, the
//! shield), the fetches in flight at each, and the requests waiting for them.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::{Spec, cacheable};
use crate::components::Kind;
use crate::engine::rng::mix64;
use crate::engine::slab::Slab;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{Component, ComponentId};
use crate::message::Ctx;
use crate::message::{Connection, Msg, NO_ROUTE, Op, Outcome, Request, Response};
use crate::metrics::{ComponentReport, Latency, Observe, RequestMetrics, SeriesRow};

/// An edge location as built.
#[derive(Clone, Debug)]
pub struct EdgePlan {
    /// Its name.
    pub name: String,
    /// Its share of the clients.
    pub share: f64,
    /// Index of its regional edge cache.
    pub regional: usize,
    /// Its clients' round trip to it.
    pub rtt: SimDuration,
}

/// Origin Shield as built.
#[derive(Copy, Clone, Debug)]
pub struct ShieldPlan {
    /// Regional cache ↔ shield round trip.
    pub rtt: SimDuration,
    /// Shield ↔ origin round trip.
    pub origin_rtt: SimDuration,
}

/// Everything a distribution is built from.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The origin.
    pub origin: ComponentId,
    /// Edge locations.
    pub edges: Vec<EdgePlan>,
    /// Regional edge cache names.
    pub regional_names: Vec<String>,
    /// Edge ↔ regional cache round trip.
    pub regional_rtt: SimDuration,
    /// Regional cache ↔ origin round trip (without a shield).
    pub origin_rtt: SimDuration,
    /// Origin Shield, if any.
    pub shield: Option<ShieldPlan>,
    /// TTL of cacheable operations without a behavior.
    pub ttl: SimDuration,
    /// TTL per operation.
    pub behaviors: Vec<(Op, SimDuration)>,
    /// Entries per cache.
    pub capacity: usize,
    /// End of the warm-up.
    pub warmup_end: SimTime,
}

/// Which tier a cache belongs to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Tier {
    Edge,
    Regional,
    Shield,
}

/// What one tier counted in the measured window.
#[derive(Copy, Clone, Debug, Default)]
struct TierCounts {
    hits: u64,
    misses: u64,
    collapsed: u64,
}

impl TierCounts {
    fn lookups(&self) -> u64 {
        self.hits + self.misses + self.collapsed
    }

    fn hit_ratio(&self) -> f64 {
        match self.lookups() {
            0 => 0.0,
            n => self.hits as f64 / n as f64,
        }
    }

    fn add(&mut self, other: TierCounts) {
        self.hits += other.hits;
        self.misses += other.misses;
        self.collapsed += other.collapsed;
    }
}

/// One cache: key → expiry, the same in expiry order, and its fetches in flight.
struct Cache {
    tier: Tier,
    /// Index of the cache it asks on a miss; `None`: the origin.
    parent: Option<usize>,
    /// One way to the parent (or the origin).
    up: SimDuration,
    /// Key → expiry of its live entry. Looked up, never iterated.
    entries: HashMap<u64, SimTime>,
    /// (expiry, key) of every entry, earliest first; an element whose expiry no longer matches
    /// `entries` is stale.
    expiries: BinaryHeap<Reverse<(SimTime, u64)>>,
    /// Key → its fetch in flight.
    fetching: HashMap<u64, u32>,
    counts: TierCounts,
}

impl Cache {
    fn new(tier: Tier, parent: Option<usize>, rtt: SimDuration) -> Cache {
        Cache {
            tier,
            parent,
            up: SimDuration(rtt.as_nanos() / 2),
            entries: HashMap::new(),
            expiries: BinaryHeap::new(),
            fetching: HashMap::new(),
            counts: TierCounts::default(),
        }
    }

    /// Drops the earliest entry (expired or not); false when there is none.
    fn drop_earliest(&mut self) -> bool {
        let Some(Reverse((expiry, key))) = self.expiries.pop() else {
            return false;
        };
        if self.entries.get(&key) == Some(&expiry) {
            self.entries.remove(&key);
        }
        true
    }

    fn purge(&mut self, now: SimTime) {
        while let Some(&Reverse((expiry, _))) = self.expiries.peek() {
            if expiry > now {
                break;
            }
            self.drop_earliest();
        }
    }

    /// True when `key` has a live entry at `now` (an entry is gone at its expiry).
    fn fresh(&mut self, key: u64, now: SimTime) -> bool {
        self.purge(now);
        self.entries.contains_key(&key)
    }

    fn fill(&mut self, key: u64, now: SimTime, ttl: SimDuration, capacity: usize) {
        if ttl.is_zero() {
            return;
        }
        self.purge(now);
        let expiry = now + ttl;
        self.entries.insert(key, expiry);
        self.expiries.push(Reverse((expiry, key)));
        while self.entries.len() > capacity && self.drop_earliest() {}
    }
}

/// Who waits for a fetch.
#[derive(Copy, Clone, Debug)]
enum Waiter {
    /// A client's request (its slot in `clients`).
    Client(u32),
    /// The fetch of a lower tier (its slot in `fetches`).
    Fetch(u32),
}

/// A key being fetched by one cache.
struct Fetch {
    cache: usize,
    key: u64,
    ttl: SimDuration,
    /// The first client request behind it (what the origin receives).
    request: Request,
    waiters: Vec<Waiter>,
    /// How it ended, once the answer has come.
    outcome: Outcome,
    /// When its request left for the origin (for a cache that asks the origin).
    asked: SimTime,
}

/// A client's request until it is answered.
#[derive(Copy, Clone, Debug)]
struct Client {
    request: Request,
    arrived: SimTime,
    edge: usize,
    outcome: Outcome,
}

/// Marks an origin request's tag as a request sent straight from an edge (its client's slot);
/// otherwise the tag is a fetch slot.
const DIRECT: u64 = 1 << 63;

crate::timers! {
    /// The distribution's timers.
    enum CloudFrontTimer {
        /// A fetch's request reaches its cache's parent (the fetch's slot).
        Ask,
        /// A fetch's answer reaches its cache (the fetch's slot).
        Answered,
        /// A client's answer reaches it (the client's slot).
        Reply,
    }
}

/// A running distribution.
pub struct Distribution {
    origin: ComponentId,
    edges: Vec<EdgePlan>,
    /// Cumulative shares of the edges, for picking one by a client's address.
    cumulative: Vec<f64>,
    regional_names: Vec<String>,
    /// Edges first (same index as `edges`), then regional caches, then the shield.
    caches: Vec<Cache>,
    /// One way from an edge to the origin for requests never cached.
    direct_up: Vec<SimDuration>,
    ttl: SimDuration,
    behaviors: Vec<(Op, SimDuration)>,
    capacity: usize,
    fetches: Slab<Fetch>,
    clients: Slab<Client>,
    metrics: RequestMetrics,
    origin_latency: Latency,
    origin_requests: u64,
    origin_kb: f64,
    passed_through: u64,
    edge_requests: Vec<u64>,
    interval_hits: u64,
    interval_misses: u64,
}

impl Distribution {
    /// Builds the distribution of `plan`.
    pub fn new(plan: Plan) -> Distribution {
        let e = plan.edges.len();
        let r = plan.regional_names.len();
        let shield = plan.shield.map(|_| e + r);
        let mut caches = Vec::with_capacity(e + r + 1);
        for edge in &plan.edges {
            caches.push(Cache::new(
                Tier::Edge,
                Some(e + edge.regional),
                plan.regional_rtt,
            ));
        }
        for _ in 0..r {
            let rtt = plan.shield.map_or(plan.origin_rtt, |s| s.rtt);
            caches.push(Cache::new(Tier::Regional, shield, rtt));
        }
        if let Some(s) = plan.shield {
            caches.push(Cache::new(Tier::Shield, None, s.origin_rtt));
        }
        let direct_up = plan
            .edges
            .iter()
            .map(|_| SimDuration((plan.regional_rtt.as_nanos() + plan.origin_rtt.as_nanos()) / 2))
            .collect();
        let mut total = 0.0;
        let cumulative = plan
            .edges
            .iter()
            .map(|edge| {
                total += edge.share;
                total
            })
            .collect();
        Distribution {
            origin: plan.origin,
            cumulative,
            regional_names: plan.regional_names,
            caches,
            direct_up,
            ttl: plan.ttl,
            behaviors: plan.behaviors,
            capacity: plan.capacity,
            fetches: Slab::default(),
            clients: Slab::default(),
            metrics: RequestMetrics::new(plan.warmup_end),
            origin_latency: Latency::new(3),
            origin_requests: 0,
            origin_kb: 0.0,
            passed_through: 0,
            edge_requests: vec![0; e],
            edges: plan.edges,
            interval_hits: 0,
            interval_misses: 0,
        }
    }

    /// The edge of a client: its address, mixed, as a point in [0, 1) against the shares.
    fn edge_of(&self, connection: &Connection) -> usize {
        let u = (mix64(u64::from(connection.source_ip)) >> 11) as f64 / (1u64 << 53) as f64;
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        self.cumulative
            .iter()
            .position(|&c| u * total < c)
            .unwrap_or(self.edges.len() - 1)
    }

    fn ttl_of(&self, op: Op) -> SimDuration {
        self.behaviors
            .iter()
            .find(|(o, _)| *o == op)
            .map_or(self.ttl, |&(_, ttl)| ttl)
    }

    fn on_request(&mut self, request: Request, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.metrics.arrived(now);
        let counted = self.metrics.in_window(now);
        let edge = self.edge_of(&request.connection);
        self.edge_requests[edge] += u64::from(counted);
        let slot = self.clients.insert(Client {
            request,
            arrived: now,
            edge,
            outcome: Outcome::Ok,
        });
        if !cacheable(request.op) {
            self.passed_through += u64::from(counted);
            self.ask_origin(request, slot as u64 | DIRECT, self.direct_up[edge], cx);
            return;
        }
        let ttl = self.ttl_of(request.op);
        self.look_up(edge, request, ttl, Waiter::Client(slot), cx);
    }

    /// `waiter` asks cache `index` for `request.key`.
    fn look_up(
        &mut self,
        index: usize,
        request: Request,
        ttl: SimDuration,
        waiter: Waiter,
        cx: &mut Ctx<'_>,
    ) {
        let now = cx.now();
        let counted = u64::from(self.metrics.in_window(now));
        let key = request.key;
        let edge = self.caches[index].tier == Tier::Edge;
        let cache = &mut self.caches[index];
        if cache.fresh(key, now) {
            cache.counts.hits += counted;
            self.interval_hits += u64::from(edge);
            self.deliver(index, waiter, Outcome::Ok, cx);
            return;
        }
        self.interval_misses += u64::from(edge);
        if let Some(&fetch) = cache.fetching.get(&key) {
            cache.counts.collapsed += counted;
            self.fetches[fetch].waiters.push(waiter);
            return;
        }
        cache.counts.misses += counted;
        let (parent, up) = (cache.parent, cache.up);
        let fetch = self.fetches.insert(Fetch {
            cache: index,
            key,
            ttl,
            request,
            waiters: vec![waiter],
            outcome: Outcome::Ok,
            asked: now + up,
        });
        self.caches[index].fetching.insert(key, fetch);
        match parent {
            Some(_) => cx.set_timer(up, CloudFrontTimer::Ask(u64::from(fetch))),
            None => self.ask_origin(request, u64::from(fetch), up, cx),
        }
    }

    fn ask_origin(&mut self, request: Request, tag: u64, after: SimDuration, cx: &mut Ctx<'_>) {
        if self.metrics.in_window(cx.now()) {
            self.origin_requests += 1;
            self.origin_kb += f64::from(request.item_kb);
        }
        let forwarded = Request {
            reply_to: cx.me(),
            tag,
            route: NO_ROUTE,
            // CloudFront keeps its own connections to the origin; one per request here.
            connection: Connection::single(request.id),
            created_at: request.created_at,
            ..request
        };
        cx.send_after(self.origin, after, Msg::Request(forwarded));
    }

    /// Cache `index` has the answer for `waiter`: it travels down one hop.
    fn deliver(&mut self, index: usize, waiter: Waiter, outcome: Outcome, cx: &mut Ctx<'_>) {
        match waiter {
            Waiter::Client(slot) => {
                let client = &mut self.clients[slot];
                client.outcome = outcome;
                let rtt = self.edges[client.edge].rtt;
                cx.set_timer(rtt, CloudFrontTimer::Reply(u64::from(slot)));
            }
            Waiter::Fetch(fetch) => {
                self.fetches[fetch].outcome = outcome;
                let child = self.fetches[fetch].cache;
                debug_assert_eq!(self.caches[child].parent, Some(index));
                let down = self.caches[child].up;
                cx.set_timer(down, CloudFrontTimer::Answered(u64::from(fetch)));
            }
        }
    }

    /// The answer of `fetch` has reached its cache: fill it and pass the answer on.
    fn on_answered(&mut self, fetch: u32, cx: &mut Ctx<'_>) {
        let f = &mut self.fetches[fetch];
        let (cache, key, ttl, outcome) = (f.cache, f.key, f.ttl, f.outcome);
        let waiters = std::mem::take(&mut f.waiters);
        self.fetches.remove(fetch);
        let c = &mut self.caches[cache];
        c.fetching.remove(&key);
        if outcome.is_ok() {
            c.fill(key, cx.now(), ttl, self.capacity);
        }
        for waiter in waiters {
            self.deliver(cache, waiter, outcome, cx);
        }
    }

    fn on_ask(&mut self, fetch: u32, cx: &mut Ctx<'_>) {
        let f = &self.fetches[fetch];
        let parent = self.caches[f.cache].parent.expect("only asked of a parent");
        let (request, ttl) = (f.request, f.ttl);
        self.look_up(parent, request, ttl, Waiter::Fetch(fetch), cx);
    }

    fn on_origin_answer(&mut self, request: Request, outcome: Outcome, cx: &mut Ctx<'_>) {
        let tag = request.tag;
        let now = cx.now();
        let asked = if tag & DIRECT != 0 {
            let client = &self.clients[(tag & !DIRECT) as u32];
            client.arrived + self.direct_up[client.edge]
        } else {
            self.fetches[tag as u32].asked
        };
        if outcome.is_ok() && self.metrics.in_window(asked) {
            self.origin_latency.record(now.saturating_since(asked));
        }
        if tag & DIRECT != 0 {
            let slot = (tag & !DIRECT) as u32;
            let client = &mut self.clients[slot];
            client.outcome = outcome;
            let edge = client.edge;
            let delay = self.direct_up[edge] + self.edges[edge].rtt;
            cx.set_timer(delay, CloudFrontTimer::Reply(u64::from(slot)));
        } else {
            let fetch = tag as u32;
            let f = &mut self.fetches[fetch];
            f.outcome = outcome;
            let up = self.caches[f.cache].up;
            cx.set_timer(up, CloudFrontTimer::Answered(u64::from(fetch)));
        }
    }

    fn on_reply(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let client = self.clients[slot];
        self.clients.remove(slot);
        self.metrics
            .finished(client.arrived, cx.now(), client.outcome);
        cx.reply(Response {
            request: client.request,
            outcome: client.outcome,
        });
    }

    /// The counts of every cache of `tier`, added up.
    fn tier_counts(&self, tier: Tier) -> TierCounts {
        let mut total = TierCounts::default();
        for c in self.caches.iter().filter(|c| c.tier == tier) {
            total.add(c.counts);
        }
        total
    }
}

impl Component<Msg> for Distribution {
    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => self.on_request(request, cx),
            Msg::Response(response) => {
                self.on_origin_answer(response.request, response.outcome, cx)
            }
            // Lost with the origin's instance: no answer will come, and CloudFront has no
            // timeout of its own here.
            Msg::Lost(request) => self.on_origin_answer(request, Outcome::Timeout, cx),
            Msg::Timer(timer) => match CloudFrontTimer::from(timer) {
                CloudFrontTimer::Ask(fetch) => self.on_ask(fetch as u32, cx),
                CloudFrontTimer::Answered(fetch) => self.on_answered(fetch as u32, cx),
                CloudFrontTimer::Reply(slot) => self.on_reply(slot as u32, cx),
            },
            Msg::Control(control) => {
                debug_assert!(false, "a cloudfront does not receive {control:?}")
            }
        }
    }
}

fn tier_json(counts: TierCounts) -> serde_json::Value {
    serde_json::json!({
        "requests": counts.lookups(),
        "hits": counts.hits,
        "misses": counts.misses,
        "collapsed": counts.collapsed,
        "hit_ratio": counts.hit_ratio(),
    })
}

impl Observe for Distribution {
    fn kind(&self) -> &'static str {
        Spec::KIND
    }

    fn in_flight(&self) -> u64 {
        self.clients.len() as u64
    }

    fn sample(&mut self, _now: SimTime, row: &mut SeriesRow) {
        self.metrics.sample(self.in_flight(), row);
        let hits = std::mem::take(&mut self.interval_hits);
        let misses = std::mem::take(&mut self.interval_misses);
        row.set_gauge(super::outputs::Gauge::CacheHits as usize, Some(hits as f64));
        row.set_gauge(
            super::outputs::Gauge::CacheMisses as usize,
            Some(misses as f64),
        );
    }

    fn report(&self, _end: SimTime) -> ComponentReport {
        let edge = self.tier_counts(Tier::Edge);
        let regional = self.tier_counts(Tier::Regional);
        let mut tiers = serde_json::Map::new();
        tiers.insert("edge".into(), tier_json(edge));
        tiers.insert("regional".into(), tier_json(regional));
        if self.caches.iter().any(|c| c.tier == Tier::Shield) {
            tiers.insert("shield".into(), tier_json(self.tier_counts(Tier::Shield)));
        }
        let per_edge: serde_json::Map<String, serde_json::Value> = self
            .edges
            .iter()
            .zip(&self.caches)
            .zip(&self.edge_requests)
            .map(|((e, c), &n)| {
                (
                    e.name.clone(),
                    serde_json::json!({ "requests": n, "hit_ratio": c.counts.hit_ratio() }),
                )
            })
            .collect();
        let per_regional: serde_json::Map<String, serde_json::Value> = self
            .regional_names
            .iter()
            .zip(&self.caches[self.edges.len()..])
            .map(|(name, c)| (name.clone(), tier_json(c.counts)))
            .collect();
        let created = self.metrics.window.created;
        self.metrics
            .report(Spec::KIND, self.in_flight())
            .figure("cache_hit_ratio", edge.hit_ratio())
            .figure("tiers", tiers)
            .figure("edge_locations", per_edge)
            .figure("regional_edge_caches", per_regional)
            .figure("origin_requests", self.origin_requests)
            .figure(
                "origin_offload",
                if created > 0 {
                    1.0 - self.origin_requests as f64 / created as f64
                } else {
                    0.0
                },
            )
            .figure("origin_bytes", (self.origin_kb * 1024.0).round() as u64)
            .figure("passed_through", self.passed_through)
            .figure("origin_latency_ms", self.origin_latency.summary())
            .figure(
                "cache_entries_end",
                self.caches.iter().map(|c| c.entries.len()).sum::<usize>(),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_expires_exactly_at_its_ttl_and_a_full_cache_drops_the_earliest() {
        let at = |s: u64| SimTime::ZERO + SimDuration::from_secs(s);
        let ten = SimDuration::from_secs(10);
        let mut c = Cache::new(Tier::Edge, None, SimDuration::ZERO);
        c.fill(1, at(0), ten, 2);
        assert!(c.fresh(1, at(9)));
        assert!(!c.fresh(1, at(10)));
        assert!(c.entries.is_empty() && c.expiries.is_empty());
        c.fill(1, at(20), ten, 2);
        c.fill(2, at(21), SimDuration::from_secs(5), 2);
        c.fill(3, at(22), ten, 2);
        // Key 2 expires first (26 s): it went to make room.
        assert!(!c.fresh(2, at(23)));
        assert!(c.fresh(1, at(23)) && c.fresh(3, at(23)));
    }
}
