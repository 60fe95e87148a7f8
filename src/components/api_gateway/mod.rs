//! `api_gateway`: an Amazon API Gateway REST API stage in front of one integration (a Lambda
//! function, a load balancer, or any component that accepts requests).
//!
//! ```toml
//! [account]
//! api_gateway_throttle = { rate = "10000/s", burst = 5000 }   # shared by every api_gateway
//!
//! [[component]]
//! name = "api"
//! kind = "api_gateway"
//! target = "orders-fn"                              # the integration
//! throttle = { rate = "1000/s", burst = 2000 }      # stage-level limits
//! methods = [ { op = "write", rate = "100/s", burst = 200 } ]   # method-level limits
//! integration_timeout = "29s"                       # 50 ms to 29 s; then 504
//! cache = { ttl = "300s", capacity = 100000 }       # response cache of read-like requests
//! ```
//! Defaults come from `models/api_gateway.toml`.
//!
//! # What it follows (see `shared/aws-facts.md`, "API Gateway"; the notes there do not hold the
//! numbers, which are AWS's documented values)
//! - Throttling is a token bucket: `rate` tokens per second up to `burst` tokens, one per
//!   request; a request that finds no token is refused with 429 (`throttled`). Buckets start
//!   full and refill continuously. A request must find a token in every bucket that applies:
//!   its method's (if `methods` names its operation), the stage's (`throttle`, if set) and the
//!   account's, shared by every `api_gateway` of the scenario (default 10 000 requests/s with a
//!   burst of 5 000, from `[account] api_gateway_throttle`). A request takes one token from each
//!   of them only if all have one, so a request refused by one limit costs the others nothing.
//! - A REST API method is an HTTP verb on a resource; awsim requests carry an operation instead
//!   (`op` of the workload, trace or calling step), so a method override is keyed by the
//!   request's operation: `default` (requests with no operation), `read`, `strong_read`,
//!   `write`, `query`, `strong_query`, `transact_write`, `event`.
//! - The integration timeout (default and maximum 29 s, at least 50 ms): if the integration has
//!   not answered by then, the client gets a 504 (`timed_out`, as the ALB's idle timeout); the
//!   integration's late answer is discarded and counted (`late_responses`).
//! - The response cache (off unless `cache` is set): API Gateway caches GET methods by default,
//!   so the read-like operations are cached: `default`, `read` and `query`. Strongly consistent
//!   reads (`strong_read`, `strong_query`) ask for the latest data and bypass it, as a client
//!   that sends `Cache-Control: max-age=0`; writes and asynchronous invocations are never
//!   cached and do not invalidate entries. The key is the request's key. A hit is answered
//!   after the cache latency without calling the integration; a miss is forwarded, and a
//!   successful answer is cached for `ttl` from the moment it arrives (default 300 s, at most
//!   3600 s). The hit ratio follows from the workload's key distribution.
//! - Every request the gateway lets through takes `overhead` (default 10 ms, an assumption: AWS
//!   publishes no figure) before it reaches the integration or the cache.
//! - Figures as CloudWatch names them: `count` (Count), `errors_4xx` (4XXError: throttles, the
//!   gateway's and the integration's), `errors_5xx` (5XXError: 504s, the integration's errors
//!   and timeouts), `cache_hits` / `cache_misses` (CacheHitCount, CacheMissCount), `latency_ms`
//!   (Latency, successful requests) and `integration_latency_ms` (IntegrationLatency: from
//!   forwarding to the integration's answer, for answers in time).
//!
//! # What it simplifies
//! One stage, one integration, no usage plans or per-client (API key) limits, no authorizers.
//! A throttled request is answered at once (no overhead). The integration's outcome reaches the
//! client as it is (a Lambda throttle stays a 429; AWS may map it to another status). Only
//! successful answers are cached. Requests that miss while the same key is being fetched are
//! all forwarded (no request coalescing), and each answer re-caches the key. The cache holds at
//! most one entry per key cached within the last `ttl` (expired entries are removed as time
//! passes); `capacity` bounds it, evicting the entry that expires first. `size_gb` (one of the
//! sizes AWS offers, default 0.5) sets the cache's hourly price, not its capacity.
//!
//! # Bill
//! Every request that reached the stage in the window, per million (REST, first tier), and
//! with a cache its hours at the price of `size_gb` (`Billing`).

mod cloudformation;
mod outputs;

use outputs::Gauge;
use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::account::ApiGatewayBucket;
use super::forwards::Forwards;
use super::token_bucket::ExactBucket;
use super::{BuildContext, Expects, Kind, Reference, SpecIssue};
use crate::engine::slab::Slab;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{Component, ComponentId};
use crate::message::Ctx;
use crate::message::{Connection, Msg, NO_ROUTE, Op, Outcome, Request, Response};
use crate::metrics::{ComponentReport, Latency, Observe, RequestMetrics, SeriesRow};
use crate::units::{PositiveDuration, Rate, format_duration_exact};

/// The `api_gateway` table of a scenario: one REST API stage.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The integration: any component that accepts requests.
    #[schemars(with = "String")]
    pub target: Spanned<String>,
    /// Stage-level throttling (default: none, only the account's limits apply).
    pub throttle: Option<ThrottleSpec>,
    /// Method-level throttling, keyed by the request's operation.
    #[serde(default)]
    pub methods: Vec<MethodSpec>,
    /// Longest wait for the integration's answer, 50 ms to 29 s (default 29 s).
    #[schemars(with = "Option<PositiveDuration>")]
    pub integration_timeout: Option<Spanned<PositiveDuration>>,
    /// Response cache of read-like requests (default: off).
    pub cache: Option<CacheSpec>,
    /// Time the gateway adds to every request it lets through (default 10 ms).
    pub overhead: Option<SimDuration>,
}

/// `{ rate = "1000/s", burst = 2000 }`: a token bucket's refill rate and size.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSpec {
    /// Tokens added per second (steady-state requests per second); greater than zero.
    #[schemars(with = "Rate")]
    pub rate: Spanned<Rate>,
    /// Tokens the bucket holds at most (the burst); at least 1.
    #[schemars(with = "u32")]
    pub burst: Spanned<u32>,
}

/// `{ op = "read", rate = "100/s", burst = 200 }`: the limits of one method.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MethodSpec {
    /// The operation of the requests this method limits.
    #[schemars(with = "Op")]
    pub op: Spanned<Op>,
    /// Tokens added per second.
    #[schemars(with = "Rate")]
    pub rate: Spanned<Rate>,
    /// Tokens the bucket holds at most.
    #[schemars(with = "u32")]
    pub burst: Spanned<u32>,
}

/// `cache = { ttl = "300s", capacity = 100000, latency = "1ms" }`.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CacheSpec {
    /// How long a cached answer is served, 0 to 3600 s (default 300 s; 0 caches nothing).
    #[schemars(with = "Option<SimDuration>")]
    pub ttl: Option<Spanned<SimDuration>>,
    /// Most entries (keys) held at once; at least 1 (default: unbounded).
    #[schemars(with = "Option<u64>")]
    pub capacity: Option<Spanned<u64>>,
    /// Time to answer a hit, on top of the overhead (default 1 ms).
    pub latency: Option<SimDuration>,
    /// The cache size bought, in GB: one of the sizes AWS offers ([`CACHE_SIZES_GB`]; default
    /// 0.5). It sets the hourly price only: `capacity` bounds the entries.
    #[schemars(with = "Option<f64>")]
    pub size_gb: Option<Spanned<f64>>,
}

/// The cache sizes AWS offers (GB).
pub const CACHE_SIZES_GB: [f64; 8] = [0.5, 1.6, 6.1, 13.5, 28.4, 58.2, 118.0, 237.0];

impl ThrottleSpec {
    /// Problems with this bucket, written at `field`.
    pub fn issues(&self, field: &str, out: &mut Vec<SpecIssue>) {
        burst_issue(&self.burst, field, out);
    }
}

fn burst_issue(burst: &Spanned<u32>, field: &str, out: &mut Vec<SpecIssue>) {
    if *burst.get_ref() < 1 {
        out.push(SpecIssue {
            field: format!("{field}.burst"),
            message: format!(
                "`{field}.burst` must be at least 1 (the bucket must hold one request), found 0"
            ),
            span: burst.span(),
        });
    }
}

/// Operations whose answers the cache keeps (API Gateway caches GET methods by default).
fn cacheable(op: Op) -> bool {
    matches!(op, Op::Default | Op::Read | Op::Query)
}

impl Kind for Spec {
    const KIND: &'static str = "api_gateway";
    const SUMMARY: &'static str = "A REST API stage in front of one integration: a Lambda function, a load balancer, or any \
         component that accepts requests.";
    const FOLLOWS: &'static str = "token buckets at method, stage and account level (account 10 000/s, burst 5 000, shared \
         by every API), 429 when one is empty; integration timeout 50 ms to 29 s, 504, late \
         answers discarded; response cache of read-like operations with a TTL (300 s default, \
         3600 s max) from the answer; Count, 4XXError, 5XXError, CacheHitCount, CacheMissCount, \
         Latency, IntegrationLatency";
    const SIMPLIFIES: &'static str = "one stage and one integration; no usage plans, API keys or authorizers; the overhead is \
         a fixed assumed 10 ms; a 429 is answered at once; the integration's outcome passes \
         through unchanged; only successful answers are cached, with no request coalescing; cache \
         size counted in entries, not GB; no per-request price";
    const CLOUDFORMATION_TYPES: &'static [&'static str] = cloudformation::RESOURCE_TYPES;

    fn import(
        resource: &crate::import::Resource,
        cx: &crate::import::Cx<'_>,
        draft: &mut crate::import::Draft,
    ) -> Result<(), crate::import::ImportError> {
        cloudformation::map(resource, cx, draft)
    }
    const ACCEPTS_REQUESTS: bool = true;

    fn references(&self) -> Vec<Reference<'_>> {
        vec![Reference {
            field: "target".into(),
            name: &self.target,
            expects: Expects::RequestTarget,
            synchronous: true,
        }]
    }

    fn check(&self, _span: Range<usize>) -> Vec<SpecIssue> {
        let d = crate::defaults::api_gateway();
        let mut out = Vec::new();
        if let Some(t) = &self.throttle {
            t.issues("throttle", &mut out);
        }
        for (i, m) in self.methods.iter().enumerate() {
            let field = format!("methods[{i}]");
            burst_issue(&m.burst, &field, &mut out);
            let op = *m.op.get_ref();
            if let Some(first) = self.methods[..i].iter().position(|e| *e.op.get_ref() == op) {
                out.push(SpecIssue {
                    field: format!("{field}.op"),
                    message: format!(
                        "the operation `{}` already has limits in methods[{first}]; give each \
                         operation one entry",
                        op.name()
                    ),
                    span: m.op.span(),
                });
            }
        }
        if let Some(t) = &self.integration_timeout {
            let timeout = t.get_ref().0;
            if !(d.integration_timeout_min..=d.integration_timeout_max).contains(&timeout) {
                out.push(SpecIssue {
                    field: "integration_timeout".into(),
                    message: format!(
                        "`integration_timeout` must be between {} and {} (API Gateway's \
                         limits), found {}",
                        d.integration_timeout_min,
                        d.integration_timeout_max,
                        format_duration_exact(timeout)
                    ),
                    span: t.span(),
                });
            }
        }
        if let Some(cache) = &self.cache {
            if let Some(ttl) = &cache.ttl
                && *ttl.get_ref() > d.cache_ttl_max
            {
                out.push(SpecIssue {
                    field: "cache.ttl".into(),
                    message: format!(
                        "`cache.ttl` must be at most {} (API Gateway's limit), found {}",
                        d.cache_ttl_max,
                        format_duration_exact(*ttl.get_ref())
                    ),
                    span: ttl.span(),
                });
            }
            if let Some(gb) = &cache.size_gb
                && !CACHE_SIZES_GB.contains(gb.get_ref())
            {
                let sizes: Vec<String> = CACHE_SIZES_GB.iter().map(|g| g.to_string()).collect();
                out.push(SpecIssue {
                    field: "cache.size_gb".into(),
                    message: format!(
                        "`cache.size_gb` must be one of the sizes API Gateway offers ({} GB), \
                         found {}",
                        sizes.join(", "),
                        gb.get_ref()
                    ),
                    span: gb.span(),
                });
            }
            if let Some(c) = &cache.capacity
                && *c.get_ref() < 1
            {
                out.push(SpecIssue {
                    field: "cache.capacity".into(),
                    message: "`cache.capacity` must be at least 1 entry, found 0 (leave out \
                              `cache` to disable caching)"
                        .into(),
                    span: c.span(),
                });
            }
        }
        out
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String> {
        let d = crate::defaults::api_gateway();
        let cache = self.cache.as_ref().map(|c| Cache {
            ttl: c.ttl.as_ref().map_or(d.cache_ttl, |t| *t.get_ref()),
            capacity: c.capacity.as_ref().map(|n| *n.get_ref() as usize),
            latency: c.latency.unwrap_or(d.cache_latency),
            entries: HashMap::new(),
            expiries: VecDeque::new(),
            peak: 0,
            interval_hits: 0,
            interval_misses: 0,
        });
        let prices = &cx.prices.api_gateway;
        let cache_price = match &self.cache {
            None => None,
            Some(c) => {
                let gb = c
                    .size_gb
                    .as_ref()
                    .map_or(CACHE_SIZES_GB[0], |g| *g.get_ref());
                Some((gb, prices.cache_usd_per_hour(gb)?))
            }
        };
        Ok(Box::new(ApiGateway {
            billing: Billing {
                usd_per_million: prices.usd_per_million_rest,
                cache: cache_price,
                window_start: cx.warmup_end,
            },
            target: cx.id(self.target.get_ref()),
            overhead: self.overhead.unwrap_or(d.overhead),
            timeout: self
                .integration_timeout
                .as_ref()
                .map_or(d.integration_timeout, |t| t.get_ref().0),
            methods: self
                .methods
                .iter()
                .map(|m| {
                    (
                        *m.op.get_ref(),
                        ExactBucket::new(*m.rate.get_ref(), *m.burst.get_ref()),
                    )
                })
                .collect(),
            stage: self
                .throttle
                .as_ref()
                .map(|t| ExactBucket::new(*t.rate.get_ref(), *t.burst.get_ref())),
            account: cx.account.api_gateway_bucket(),
            cache,
            hits: Slab::default(),
            forwards: Forwards::default(),
            in_flight: 0,
            metrics: RequestMetrics::new(cx.warmup_end),
            integration_latency: Latency::new(3),
            figures: Figures::default(),
        }))
    }
}

/// The response cache: key → expiry, and the same entries in expiry order.
struct Cache {
    ttl: SimDuration,
    capacity: Option<usize>,
    latency: SimDuration,
    /// Key → expiry of its live entry. Looked up, never iterated (iteration order must not
    /// reach results).
    entries: HashMap<u64, SimTime>,
    /// (expiry, key) in the order entries were written, which is expiry order because the TTL
    /// is the same for all and time only moves forward. An element whose expiry no longer
    /// matches `entries` is stale (the key was written again) and skipped.
    expiries: VecDeque<(SimTime, u64)>,
    /// Most entries held at once.
    peak: usize,
    /// Hits and misses of the current time-series interval.
    interval_hits: u64,
    interval_misses: u64,
}

impl Cache {
    /// Removes the entries that have expired by `now`.
    fn purge(&mut self, now: SimTime) {
        while let Some(&(expiry, key)) = self.expiries.front() {
            if expiry > now {
                break;
            }
            self.expiries.pop_front();
            if self.entries.get(&key) == Some(&expiry) {
                self.entries.remove(&key);
            }
        }
    }

    /// True when `key` has a live entry at `now`.
    fn hit(&mut self, key: u64, now: SimTime) -> bool {
        self.purge(now);
        self.entries.contains_key(&key)
    }

    /// Caches the answer for `key`, from `now` for the TTL.
    fn fill(&mut self, key: u64, now: SimTime) {
        if self.ttl.is_zero() {
            return;
        }
        self.purge(now);
        let expiry = now + self.ttl;
        self.entries.insert(key, expiry);
        self.expiries.push_back((expiry, key));
        if let Some(capacity) = self.capacity {
            // Evict the entries that expire first.
            while self.entries.len() > capacity {
                let Some((e, k)) = self.expiries.pop_front() else {
                    break;
                };
                if self.entries.get(&k) == Some(&e) {
                    self.entries.remove(&k);
                }
            }
        }
        self.peak = self.peak.max(self.entries.len());
    }
}

/// Which limit refused a request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Level {
    Method,
    Stage,
    Account,
}

/// A request the cache answers, until it is answered.
#[derive(Copy, Clone, Debug)]
struct CacheHit {
    /// The request as the client sent it.
    request: Request,
    arrived: SimTime,
}

/// Counts of the measured window (requests that arrived after the warm-up).
#[derive(Clone, Debug, Default)]
struct Figures {
    throttled_method: u64,
    throttled_stage: u64,
    throttled_account: u64,
    errors_4xx: u64,
    errors_5xx: u64,
    cache_hits: u64,
    cache_misses: u64,
    late_responses: u64,
}

crate::timers! {
    /// The gateway's timers.
    enum ApiGatewayTimer {
        /// The earliest integration timeout of the forwarded requests is due.
        IntegrationTimeout,
        /// A cache hit is answered (the slot of its request).
        CacheHit,
    }
}

/// What a stage is billed (prices from the run's price list): every request that reached
/// it in the window, per million at the REST API price of the first tier (throttled requests
/// included: AWS's pricing page does not exempt them, an assumption), and with a cache the
/// hours of its size, prorated over the window. Not billed: the free tier, later volume
/// tiers, data transfer out to the internet.
struct Billing {
    usd_per_million: f64,
    /// The cache's size (GB) and price per hour.
    cache: Option<(f64, f64)>,
    window_start: SimTime,
}

impl Billing {
    fn bill(&self, requests: u64, end: SimTime) -> crate::metrics::cost::Bill {
        use crate::metrics::cost::{Bill, dollars, figure};
        let bill = Bill::default().charge(
            requests as f64 / 1e6,
            "million requests",
            self.usd_per_million,
            format!(
                "{requests} requests × {} per million (REST)",
                dollars(self.usd_per_million)
            ),
        );
        let Some((gb, usd_per_hour)) = self.cache else {
            return bill;
        };
        let hours = end.saturating_since(self.window_start).as_secs_f64() / 3600.0;
        bill.charge(
            hours,
            "cache-hours",
            usd_per_hour,
            format!(
                "{} h of a {} GB cache × {}/h",
                figure(hours, 6),
                figure(gb, 4),
                dollars(usd_per_hour)
            ),
        )
    }
}

/// A running API Gateway stage.
pub struct ApiGateway {
    billing: Billing,
    target: ComponentId,
    overhead: SimDuration,
    timeout: SimDuration,
    /// Method buckets by operation (a handful at most: a linear search).
    methods: Vec<(Op, ExactBucket)>,
    stage: Option<ExactBucket>,
    account: Arc<ApiGatewayBucket>,
    cache: Option<Cache>,
    /// Requests the cache answers, until they are answered.
    hits: Slab<CacheHit>,
    /// Requests forwarded to the integration (with when they were handed over), and their
    /// integration timeouts.
    forwards: Forwards<SimTime>,
    in_flight: u64,
    metrics: RequestMetrics,
    integration_latency: Latency,
    figures: Figures,
}

impl ApiGateway {
    /// Takes a token from every bucket that applies to `op`, or none if one of them is empty;
    /// returns the first empty one (method, stage, account order).
    fn admit(&mut self, op: Op, now: SimTime) -> Result<(), Level> {
        let mut account = self.account.lock();
        let mut method = self
            .methods
            .iter_mut()
            .find(|(o, _)| *o == op)
            .map(|(_, b)| b);
        if let Some(b) = method.as_deref_mut()
            && !b.has_token(now)
        {
            return Err(Level::Method);
        }
        if let Some(b) = &mut self.stage
            && !b.has_token(now)
        {
            return Err(Level::Stage);
        }
        if !account.has_token(now) {
            return Err(Level::Account);
        }
        if let Some(b) = method {
            b.take_token();
        }
        if let Some(b) = &mut self.stage {
            b.take_token();
        }
        account.take_token();
        Ok(())
    }

    fn on_request(&mut self, request: Request, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let counted = self.metrics.in_window(now);
        self.metrics.arrived(now);
        if let Err(level) = self.admit(request.op, now) {
            if counted {
                let f = &mut self.figures;
                f.errors_4xx += 1;
                *match level {
                    Level::Method => &mut f.throttled_method,
                    Level::Stage => &mut f.throttled_stage,
                    Level::Account => &mut f.throttled_account,
                } += 1;
            }
            self.metrics.finished(now, now, Outcome::Throttled);
            cx.reply(Response {
                request,
                outcome: Outcome::Throttled,
            });
            return;
        }
        self.in_flight += 1;
        if let Some(cache) = &mut self.cache
            && cacheable(request.op)
        {
            if cache.hit(request.key, now) {
                cache.interval_hits += 1;
                self.figures.cache_hits += u64::from(counted);
                let slot = self.hits.insert(CacheHit {
                    request,
                    arrived: now,
                });
                cx.set_timer(
                    self.overhead + cache.latency,
                    ApiGatewayTimer::CacheHit(slot as u64),
                );
                return;
            }
            cache.interval_misses += 1;
            self.figures.cache_misses += u64::from(counted);
        }
        let forwarded_at = now + self.overhead;
        let deadline = forwarded_at + self.timeout;
        let timer = ApiGatewayTimer::IntegrationTimeout;
        let tag = self
            .forwards
            .insert(request, now, forwarded_at, deadline, cx, timer);
        let forwarded = Request {
            reply_to: cx.me(),
            tag,
            route: NO_ROUTE,
            // The gateway terminates the client's connection and opens its own to the
            // integration (one per request here), as a server's call does.
            connection: Connection::single(request.id),
            ..request
        };
        cx.send_after(self.target, self.overhead, Msg::Request(forwarded));
    }

    /// The cache answers the request in `slot`.
    fn on_cache_hit(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let CacheHit { request, arrived } = self.hits[slot];
        self.hits.remove(slot);
        self.answer(request, arrived, Outcome::Ok, cx);
    }

    /// Answers the client of `request`, which arrived at `arrived`.
    fn answer(&mut self, request: Request, arrived: SimTime, outcome: Outcome, cx: &mut Ctx<'_>) {
        self.in_flight -= 1;
        self.count_outcome(arrived, outcome);
        self.metrics.finished(arrived, cx.now(), outcome);
        cx.reply(Response { request, outcome });
    }

    /// CloudWatch's error classes of an answer other than the gateway's own throttles.
    fn count_outcome(&mut self, arrived: SimTime, outcome: Outcome) {
        if !self.metrics.in_window(arrived) {
            return;
        }
        match outcome {
            Outcome::Ok => {}
            Outcome::Throttled => self.figures.errors_4xx += 1,
            Outcome::Error(status) if status < 500 => self.figures.errors_4xx += 1,
            Outcome::Error(_) | Outcome::Timeout => self.figures.errors_5xx += 1,
        }
    }

    /// The integration's instance was lost holding a request (its AZ failed): no answer will
    /// come; the client, still waiting, gets its 504 at the integration timeout.
    fn on_lost(&mut self, request: Request) {
        self.forwards.lost(&request);
    }

    fn on_response(&mut self, response: Response, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let forward = self.forwards.answered(response.request.tag);
        let in_window = self.metrics.in_window(forward.arrived);
        if !forward.waiting {
            // The client already had its 504.
            if in_window {
                self.figures.late_responses += 1;
            }
            return;
        }
        if in_window {
            self.integration_latency.record(now - forward.via);
        }
        let request = forward.request;
        if response.outcome.is_ok()
            && cacheable(request.op)
            && let Some(cache) = &mut self.cache
        {
            cache.fill(request.key, now);
        }
        self.answer(request, forward.arrived, response.outcome, cx);
    }

    fn on_integration_timeout(&mut self, cx: &mut Ctx<'_>) {
        let now = cx.now();
        while let Some((request, arrived)) = self.forwards.next_timed_out(now) {
            self.answer(request, arrived, Outcome::Timeout, cx);
        }
        self.forwards.arm(cx, ApiGatewayTimer::IntegrationTimeout);
    }
}

impl Component<Msg> for ApiGateway {
    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => self.on_request(request, cx),
            Msg::Response(response) => self.on_response(response, cx),
            Msg::Lost(request) => self.on_lost(request),
            Msg::Timer(timer) => match ApiGatewayTimer::from(timer) {
                ApiGatewayTimer::IntegrationTimeout(_) => self.on_integration_timeout(cx),
                ApiGatewayTimer::CacheHit(slot) => self.on_cache_hit(slot as u32, cx),
            },
            Msg::Control(control) => {
                debug_assert!(false, "an api_gateway does not receive {control:?}")
            }
        }
    }
}

impl Observe for ApiGateway {
    fn kind(&self) -> &'static str {
        Spec::KIND
    }

    fn in_flight(&self) -> u64 {
        self.in_flight
    }

    fn sample(&mut self, _now: SimTime, row: &mut SeriesRow) {
        self.metrics.sample(self.in_flight, row);
        if let Some(cache) = &mut self.cache {
            let hits = std::mem::take(&mut cache.interval_hits);
            row.set_gauge(Gauge::CacheHits as usize, Some(hits as f64));
            let misses = std::mem::take(&mut cache.interval_misses);
            row.set_gauge(Gauge::CacheMisses as usize, Some(misses as f64));
        }
    }

    fn report(&self, end: SimTime) -> ComponentReport {
        let f = &self.figures;
        let bill = self.billing.bill(self.metrics.window.created, end);
        let mut report = self
            .metrics
            .report(Spec::KIND, self.in_flight)
            .figure("count", self.metrics.window.created)
            .figure("errors_4xx", f.errors_4xx)
            .figure("errors_5xx", f.errors_5xx)
            .figure(
                "throttled_by",
                serde_json::json!({
                    "method": f.throttled_method,
                    "stage": f.throttled_stage,
                    "account": f.throttled_account,
                }),
            )
            .figure("integration_latency_ms", self.integration_latency.summary())
            .figure("late_responses", f.late_responses)
            .figure("integration_timeout_s", self.timeout.as_secs_f64())
            .figure("overhead_ms", self.overhead.as_millis_f64())
            .bill(Some(bill));
        if let Some(cache) = &self.cache {
            let lookups = f.cache_hits + f.cache_misses;
            report = report
                .figure("cache_hits", f.cache_hits)
                .figure("cache_misses", f.cache_misses)
                .figure(
                    "cache_hit_ratio",
                    if lookups > 0 {
                        f.cache_hits as f64 / lookups as f64
                    } else {
                        0.0
                    },
                )
                .figure("cache_entries_max", cache.peak)
                .figure("cache_entries_end", cache.entries.len());
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::run_text;

    fn cache(ttl_s: u64, capacity: Option<usize>) -> Cache {
        Cache {
            ttl: SimDuration::from_secs(ttl_s),
            capacity,
            latency: SimDuration::ZERO,
            entries: HashMap::new(),
            expiries: VecDeque::new(),
            peak: 0,
            interval_hits: 0,
            interval_misses: 0,
        }
    }

    fn at(s: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(s)
    }

    #[test]
    fn cache_entries_expire_and_memory_follows_the_keys_of_one_ttl() {
        let mut c = cache(10, None);
        for key in 0..100 {
            c.fill(key, at(0));
        }
        assert!(c.hit(7, at(9)));
        // Expiry is exclusive: at exactly the TTL the entry is gone, and so is everything else.
        assert!(!c.hit(7, at(10)));
        assert_eq!(c.entries.len(), 0);
        assert_eq!(c.expiries.len(), 0);
        // Re-filling one key keeps one live entry; its stale expiry goes when it comes due.
        c.fill(1, at(20));
        c.fill(1, at(25));
        assert_eq!(c.entries.len(), 1);
        assert!(c.hit(1, at(34)), "the second fill extends the entry");
        assert_eq!(c.expiries.len(), 1, "the stale expiry at 30 s was dropped");
        assert_eq!(c.peak, 100);
    }

    #[test]
    fn a_full_cache_evicts_the_entry_that_expires_first() {
        let mut c = cache(60, Some(3));
        for (key, s) in [(1, 0), (2, 1), (3, 2), (1, 3), (4, 4)] {
            c.fill(key, at(s));
        }
        // Key 1 was written again at 3 s, so key 2 (expiring at 61 s) was the first to go.
        assert!(!c.hit(2, at(5)));
        for key in [1, 3, 4] {
            assert!(c.hit(key, at(5)), "key {key}");
        }
        assert_eq!(c.peak, 3);
    }

    fn scenario(gateway: &str, backend: &str, rate: &str) -> String {
        format!(
            r#"
[simulation]
duration = "10s"
[[workload]]
name = "load"
target = "api"
arrival = {{ process = "constant", rate = "{rate}" }}
key = {{ dist = "uniform", keys = 1 }}
[[component]]
name = "api"
kind = "api_gateway"
target = "web"
{gateway}
[[component]]
name = "web"
kind = "ec2_fleet"
instances = 1
vcpus = 1000
{backend}
"#
        )
    }

    #[test]
    fn latency_is_overhead_plus_integration() {
        let s = run_text(&scenario(
            "overhead = \"10ms\"",
            "handler = [ { compute = \"30ms\" } ]",
            "10/s",
        ));
        let api = &s["components"]["api"];
        assert_eq!(api["requests"]["completed"], 99);
        assert_eq!(api["latency_ms"]["mean"], 40.0);
        assert_eq!(api["integration_latency_ms"]["mean"], 30.0);
        assert_eq!(api["count"], 99);
    }

    #[test]
    fn one_key_hits_the_cache_until_its_ttl_runs_out() {
        // A request every 100 ms for one key; answers take 10 + 30 ms and are cached for 1 s
        // from the answer: the miss at 0.1 s fills at 0.14 s, so 0.2 .. 1.1 s hit (10), the
        // miss at 1.2 s fills at 1.24 s, ... every 11th request misses.
        let s = run_text(&scenario(
            "overhead = \"10ms\"\ncache = { ttl = \"1s\", latency = \"2ms\" }",
            "handler = [ { compute = \"30ms\" } ]",
            "10/s",
        ));
        let api = &s["components"]["api"];
        assert_eq!(api["cache_misses"], 9);
        assert_eq!(api["cache_hits"], 90);
        assert_eq!(s["components"]["web"]["requests"]["created"], 9);
        assert_eq!(api["cache_entries_max"], 1);
        // Hits take 12 ms, misses 40 ms.
        let mean = api["latency_ms"]["mean"].as_f64().unwrap();
        assert!(
            (mean - (90.0 * 12.0 + 9.0 * 40.0) / 99.0).abs() < 1e-9,
            "{mean}"
        );
    }
}
