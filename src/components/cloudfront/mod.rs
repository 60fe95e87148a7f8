//! `cloudfront`: an Amazon CloudFront distribution in front of one origin (any component that
//! accepts requests), with edge locations, regional edge caches and an optional Origin Shield.
//!
//! ```toml
//! [[component]]
//! name = "cdn"
//! kind = "cloudfront"
//! origin = "web"
//! edge_locations = [
//!   { name = "iad", share = 0.6, regional = "us" },
//!   { name = "fra", share = 0.4, regional = "eu", latency = "25ms" },
//! ]
//! regional_edge_caches = ["us", "eu"]            # default: one, `regional`
//! origin_shield = { latency = "60ms" }           # default: none
//! cache = { default_ttl = "60s", min_ttl = "0s", max_ttl = "1h", origin_max_age = "30s" }
//! behaviors = [ { op = "query", default_ttl = "5s" } ]   # per operation
//! ```
//! Defaults come from `models/cloudfront.toml`.
//!
//! # What it follows (sources in `models/cloudfront.toml`)
//! - **Tiers.** A client's request reaches one edge location: a client (its source address) is
//!   sent to the edge of its share, always the same one, as DNS sends a viewer to the nearest
//!   edge. The edge answers from its cache; on a miss it asks its regional edge cache, which
//!   answers from its own cache or asks the origin — through Origin Shield, when there is one,
//!   a single cache every regional cache asks first. Each tier that fetches caches the answer
//!   as it passes back.
//! - **What is cached.** CloudFront caches GET and HEAD: requests with the read-like
//!   operations `default`, `read` and `query`. The others (`write`, `transact_write`,
//!   `event`: the proxy methods PUT/POST/PATCH/DELETE; `strong_read`, `strong_query`: dynamic
//!   content) go from the edge straight to the origin, past the regional caches, and are never
//!   cached.
//! - **TTL.** The cache policy's `default_ttl` (24 h), `min_ttl` (0) and `max_ttl` (1 year),
//!   per operation through `behaviors`. The origin's `Cache-Control: max-age`
//!   (`origin_max_age`, default: none) is clamped to `[min_ttl, max_ttl]`; without it an object
//!   is cached for `default_ttl`. An entry expires its TTL after it was filled (a hit does not
//!   renew it), so a key requested as a Poisson stream of rate λ hits with probability
//!   λT/(1+λT).
//! - **Request collapsing.** While a tier fetches a key, further requests for the same key at
//!   that tier wait for the same answer (`collapsed`): one request per tier and key goes up.
//! - **Latency.** Every answer takes the client's round trip to its edge (`edge_latency`, or
//!   the edge's own `latency`); a miss adds the round trip to the regional cache
//!   (`regional_latency`), then to the shield (`origin_shield.latency`) and to the origin
//!   (`origin_latency`, or `origin_shield.origin_latency` from the shield), plus the origin's
//!   own time. Requests that are never cached take the edge's, the regional and the origin
//!   round trips.
//!
//! # What it simplifies
//! A client always reaches the same edge (no DNS or anycast changes); each edge has one cache
//! (no servers within a location); an entry lives its TTL unless its tier holds `capacity`
//! entries (then the entry that expires first goes: AWS evicts unpopular objects at any time);
//! every tier counts a TTL from when the answer reached it (no `Age` header); errors are not
//! cached and reach every collapsed request; no revalidation (a 304 costs the same as a
//! miss), no invalidations, no origin timeouts or retries, no Lambda@Edge. Not billed.

mod distribution;
mod outputs;

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::OnceLock;

use serde::Deserialize;
use toml::Spanned;

use super::{BuildContext, Expects, Kind, Reference, SpecIssue};
use crate::engine::time::SimDuration;
use crate::message::Op;
use crate::metrics::Observe;
use crate::units::{did_you_mean, format_duration_exact};

pub use distribution::Distribution;

/// Most edge locations or regional edge caches one distribution may declare (CloudFront has a
/// few hundred points of presence).
pub const MAX_LOCATIONS: usize = 1_000;

/// Most entries one cache may hold (each takes memory).
pub const MAX_CAPACITY: u64 = 100_000_000;

/// The `cloudfront` table of a scenario: one distribution.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The origin: any component that accepts requests.
    #[schemars(with = "String")]
    pub origin: Spanned<String>,
    /// Edge locations and their shares of the clients (default: one edge with every client).
    #[schemars(with = "Option<Vec<EdgeSpec>>")]
    pub edge_locations: Option<Spanned<Vec<EdgeSpec>>>,
    /// Regional edge cache names (default: one, `regional`).
    #[schemars(with = "Option<Vec<String>>")]
    pub regional_edge_caches: Option<Spanned<Vec<Spanned<String>>>>,
    /// Origin Shield, a cache between the regional caches and the origin (default: none).
    pub origin_shield: Option<ShieldSpec>,
    /// The cache policy of every cacheable operation without a behavior of its own.
    pub cache: Option<CachePolicy>,
    /// Cache policies per operation.
    #[serde(default)]
    pub behaviors: Vec<BehaviorSpec>,
    /// Client ↔ edge round trip (default from `models/cloudfront.toml`).
    pub edge_latency: Option<SimDuration>,
    /// Edge ↔ regional edge cache round trip.
    pub regional_latency: Option<SimDuration>,
    /// Round trip between the tier that asks the origin and the origin.
    pub origin_latency: Option<SimDuration>,
    /// Most entries one cache (an edge, a regional cache, the shield) holds (default 1 000 000).
    #[schemars(with = "Option<u64>")]
    pub capacity: Option<Spanned<u64>>,
}

/// `{ name = "iad", share = 0.6, regional = "us", latency = "20ms" }`.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EdgeSpec {
    /// The location's name.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Its share of the clients, in (0, 1]; the shares add up to 1.
    #[schemars(with = "f64")]
    pub share: Spanned<f64>,
    /// The regional edge cache it asks (default: the first).
    #[schemars(with = "Option<String>")]
    pub regional: Option<Spanned<String>>,
    /// Its clients' round trip to it (default: `edge_latency`).
    pub latency: Option<SimDuration>,
}

/// `origin_shield = { latency = "60ms", origin_latency = "2ms" }`.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShieldSpec {
    /// Regional cache ↔ shield round trip (default: `origin_latency`: the shield sits near the
    /// origin, so the long leg moves in front of it).
    pub latency: Option<SimDuration>,
    /// Shield ↔ origin round trip (default from `models/cloudfront.toml`).
    pub origin_latency: Option<SimDuration>,
}

/// `{ default_ttl = "24h", min_ttl = "0s", max_ttl = "365d", origin_max_age = "60s" }`.
#[derive(Clone, Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CachePolicy {
    /// TTL when the origin sends no `max-age`.
    #[schemars(with = "Option<SimDuration>")]
    pub default_ttl: Option<Spanned<SimDuration>>,
    /// Least TTL.
    #[schemars(with = "Option<SimDuration>")]
    pub min_ttl: Option<Spanned<SimDuration>>,
    /// Greatest TTL.
    #[schemars(with = "Option<SimDuration>")]
    pub max_ttl: Option<Spanned<SimDuration>>,
    /// The `Cache-Control: max-age` the origin sends (default: none).
    #[schemars(with = "Option<SimDuration>")]
    pub origin_max_age: Option<Spanned<SimDuration>>,
}

/// `{ op = "query", default_ttl = "5s", ... }`: the cache policy of one operation.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BehaviorSpec {
    /// The operation (a cacheable one).
    #[schemars(with = "Op")]
    pub op: Spanned<Op>,
    /// TTL when the origin sends no `max-age` (default: the distribution's).
    #[schemars(with = "Option<SimDuration>")]
    pub default_ttl: Option<Spanned<SimDuration>>,
    /// Least TTL (default: the distribution's).
    #[schemars(with = "Option<SimDuration>")]
    pub min_ttl: Option<Spanned<SimDuration>>,
    /// Greatest TTL (default: the distribution's).
    #[schemars(with = "Option<SimDuration>")]
    pub max_ttl: Option<Spanned<SimDuration>>,
    /// The origin's `max-age` for this operation (default: the distribution's).
    #[schemars(with = "Option<SimDuration>")]
    pub origin_max_age: Option<Spanned<SimDuration>>,
}

impl BehaviorSpec {
    /// Its values as a cache policy.
    fn policy(&self) -> CachePolicy {
        CachePolicy {
            default_ttl: self.default_ttl.clone(),
            min_ttl: self.min_ttl.clone(),
            max_ttl: self.max_ttl.clone(),
            origin_max_age: self.origin_max_age.clone(),
        }
    }
}

/// `models/cloudfront.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Default TTL.
    pub default_ttl: SimDuration,
    /// Default minimum TTL.
    pub min_ttl: SimDuration,
    /// Default maximum TTL.
    pub max_ttl: SimDuration,
    /// Client ↔ edge round trip.
    pub edge_latency: SimDuration,
    /// Edge ↔ regional cache round trip.
    pub regional_latency: SimDuration,
    /// Regional cache (or shield) ↔ origin round trip.
    pub origin_latency: SimDuration,
    /// Shield ↔ origin round trip.
    pub shield_origin_latency: SimDuration,
    /// Entries per cache.
    pub capacity: u64,
}

const DEFAULTS_TOML: &str = include_str!("../../../models/cloudfront.toml");

/// The defaults of `models/cloudfront.toml`.
pub fn defaults() -> &'static Defaults {
    static DEFAULTS: OnceLock<Defaults> = OnceLock::new();
    DEFAULTS.get_or_init(|| {
        toml::from_str(DEFAULTS_TOML).expect("models/cloudfront.toml is checked by a test")
    })
}

/// Operations CloudFront caches (GET and HEAD).
pub fn cacheable(op: Op) -> bool {
    matches!(op, Op::Default | Op::Read | Op::Query)
}

/// A cache policy with every value resolved.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Ttls {
    /// Default TTL.
    pub default: SimDuration,
    /// Minimum TTL.
    pub min: SimDuration,
    /// Maximum TTL.
    pub max: SimDuration,
    /// The origin's max-age, if it sends one.
    pub origin_max_age: Option<SimDuration>,
}

impl Ttls {
    /// How long an answer is cached: the origin's max-age clamped to `[min, max]`, or the
    /// default (at least the minimum) without one.
    pub fn ttl(&self) -> SimDuration {
        match self.origin_max_age {
            Some(age) => age.clamp(self.min, self.max),
            None => self.default.max(self.min),
        }
    }
}

impl CachePolicy {
    /// The policy's values, each falling back to `base`'s.
    fn resolve(&self, base: Ttls) -> Ttls {
        let get = |v: &Option<Spanned<SimDuration>>| v.as_ref().map(|s| *s.get_ref());
        Ttls {
            default: get(&self.default_ttl).unwrap_or(base.default),
            min: get(&self.min_ttl).unwrap_or(base.min),
            max: get(&self.max_ttl).unwrap_or(base.max),
            origin_max_age: get(&self.origin_max_age).or(base.origin_max_age),
        }
    }

    /// `min_ttl ≤ default_ttl ≤ max_ttl`, as CloudFront requires of a cache policy.
    fn issues(&self, field: &str, resolved: Ttls, span: Range<usize>, out: &mut Vec<SpecIssue>) {
        let place = |v: &Option<Spanned<SimDuration>>| v.as_ref().map(Spanned::span);
        let at = place(&self.default_ttl)
            .or(place(&self.min_ttl))
            .or(place(&self.max_ttl))
            .unwrap_or(span);
        if !(resolved.min <= resolved.default && resolved.default <= resolved.max) {
            out.push(SpecIssue {
                field: field.into(),
                message: format!(
                    "`{field}` needs min_ttl ≤ default_ttl ≤ max_ttl (CloudFront's rule), found \
                     min_ttl {}, default_ttl {}, max_ttl {}",
                    format_duration_exact(resolved.min),
                    format_duration_exact(resolved.default),
                    format_duration_exact(resolved.max)
                ),
                span: at,
            });
        }
    }
}

impl Spec {
    /// The distribution-wide policy.
    fn base_ttls(&self) -> Ttls {
        let d = defaults();
        let base = Ttls {
            default: d.default_ttl,
            min: d.min_ttl,
            max: d.max_ttl,
            origin_max_age: None,
        };
        self.cache.clone().unwrap_or_default().resolve(base)
    }

    /// The regional cache names (the default one when none is declared).
    fn regional_names(&self) -> Vec<String> {
        match &self.regional_edge_caches {
            Some(names) => names
                .get_ref()
                .iter()
                .map(|n| n.get_ref().clone())
                .collect(),
            None => vec!["regional".into()],
        }
    }
}

fn issue(field: impl Into<String>, message: String, span: Range<usize>) -> SpecIssue {
    SpecIssue {
        field: field.into(),
        message,
        span,
    }
}

impl Kind for Spec {
    const KIND: &'static str = "cloudfront";
    const SUMMARY: &'static str = "A CloudFront distribution in front of one origin (any component that accepts requests): \
         edge locations, each its own cache with a share of the clients; regional edge caches \
         behind them; optionally Origin Shield, one more cache every regional cache goes through.";
    const FOLLOWS: &'static str = "edge locations by client share, regional edge caches, Origin Shield; caching of GET/HEAD \
         by key with default/min/max TTL and the origin's max-age, per operation; request \
         collapsing at each tier; proxy methods straight to the origin; round trips per tier";
    const SIMPLIFIES: &'static str = "a client keeps its edge; one cache per location, bounded in entries; TTL from each \
         tier's fill; errors not cached; no revalidation, invalidation, origin timeouts or \
         Lambda@Edge; not billed";
    const ACCEPTS_REQUESTS: bool = true;

    fn references(&self) -> Vec<Reference<'_>> {
        vec![Reference {
            field: "origin".into(),
            name: &self.origin,
            expects: Expects::RequestTarget,
            synchronous: true,
        }]
    }

    fn check(&self, span: Range<usize>) -> Vec<SpecIssue> {
        let mut out = Vec::new();
        let regional = self.regional_names();
        if let Some(names) = &self.regional_edge_caches {
            if names.get_ref().is_empty() || names.get_ref().len() > MAX_LOCATIONS {
                out.push(issue(
                    "regional_edge_caches",
                    format!(
                        "`regional_edge_caches` must name between 1 and {MAX_LOCATIONS} caches, \
                         found {}",
                        names.get_ref().len()
                    ),
                    names.span(),
                ));
            }
            let mut seen = BTreeSet::new();
            for (i, n) in names.get_ref().iter().enumerate() {
                if !seen.insert(n.get_ref()) {
                    out.push(issue(
                        format!("regional_edge_caches[{i}]"),
                        format!("the regional edge cache `{}` is named twice", n.get_ref()),
                        n.span(),
                    ));
                }
            }
        }
        if let Some(edges) = &self.edge_locations {
            let list = edges.get_ref();
            if list.is_empty() || list.len() > MAX_LOCATIONS {
                out.push(issue(
                    "edge_locations",
                    format!(
                        "`edge_locations` must list between 1 and {MAX_LOCATIONS} locations, \
                         found {}",
                        list.len()
                    ),
                    edges.span(),
                ));
            }
            let mut seen = BTreeSet::new();
            let mut total = 0.0;
            for (i, e) in list.iter().enumerate() {
                let field = format!("edge_locations[{i}]");
                if !seen.insert(e.name.get_ref()) {
                    out.push(issue(
                        format!("{field}.name"),
                        format!("the edge location `{}` is named twice", e.name.get_ref()),
                        e.name.span(),
                    ));
                }
                let share = *e.share.get_ref();
                if !(share > 0.0 && share <= 1.0) {
                    out.push(issue(
                        format!("{field}.share"),
                        format!(
                            "`{field}.share` must be a fraction of the clients above 0 and at \
                             most 1, found {share}"
                        ),
                        e.share.span(),
                    ));
                }
                total += share;
                if let Some(r) = &e.regional
                    && !regional.contains(r.get_ref())
                {
                    let names: Vec<&str> = regional.iter().map(String::as_str).collect();
                    out.push(issue(
                        format!("{field}.regional"),
                        format!(
                            "`{field}.regional` names no regional edge cache: `{}`{} (declared: \
                             {})",
                            r.get_ref(),
                            did_you_mean(r.get_ref(), &names),
                            names.join(", ")
                        ),
                        r.span(),
                    ));
                }
            }
            if !list.is_empty() && (total - 1.0).abs() > 1e-9 {
                out.push(issue(
                    "edge_locations",
                    format!("the edge locations' shares must add up to 1, found {total}"),
                    edges.span(),
                ));
            }
        }
        if let Some(c) = &self.capacity
            && !(1..=MAX_CAPACITY).contains(c.get_ref())
        {
            out.push(issue(
                "capacity",
                format!(
                    "`capacity` must be between 1 and {MAX_CAPACITY} entries per cache (memory \
                     grows with it), found {}",
                    c.get_ref()
                ),
                c.span(),
            ));
        }
        let base = self.base_ttls();
        if let Some(policy) = &self.cache {
            policy.issues("cache", base, span.clone(), &mut out);
        }
        for (i, b) in self.behaviors.iter().enumerate() {
            let field = format!("behaviors[{i}]");
            let op = *b.op.get_ref();
            if !cacheable(op) {
                out.push(issue(
                    format!("{field}.op"),
                    format!(
                        "CloudFront never caches `{}` requests (it caches GET and HEAD: `default`, \
                         `read`, `query`); they go to the origin without a cache policy",
                        op.name()
                    ),
                    b.op.span(),
                ));
            }
            if let Some(first) = self.behaviors[..i]
                .iter()
                .position(|e| *e.op.get_ref() == op)
            {
                out.push(issue(
                    format!("{field}.op"),
                    format!(
                        "the operation `{}` already has a behavior in behaviors[{first}]; give \
                         each operation one",
                        op.name()
                    ),
                    b.op.span(),
                ));
            }
            let policy = b.policy();
            policy.issues(&field, policy.resolve(base), b.op.span(), &mut out);
        }
        out
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String> {
        let d = defaults();
        let base = self.base_ttls();
        let regional_names = self.regional_names();
        let edge_rtt = self.edge_latency.unwrap_or(d.edge_latency);
        let edges: Vec<distribution::EdgePlan> = match &self.edge_locations {
            None => vec![distribution::EdgePlan {
                name: "edge".into(),
                share: 1.0,
                regional: 0,
                rtt: edge_rtt,
            }],
            Some(list) => list
                .get_ref()
                .iter()
                .map(|e| distribution::EdgePlan {
                    name: e.name.get_ref().clone(),
                    share: *e.share.get_ref(),
                    regional: e.regional.as_ref().map_or(0, |r| {
                        regional_names
                            .iter()
                            .position(|n| n == r.get_ref())
                            .expect("checked")
                    }),
                    rtt: e.latency.unwrap_or(edge_rtt),
                })
                .collect(),
        };
        let origin_rtt = self.origin_latency.unwrap_or(d.origin_latency);
        let shield = self
            .origin_shield
            .as_ref()
            .map(|s| distribution::ShieldPlan {
                rtt: s.latency.unwrap_or(origin_rtt),
                origin_rtt: s.origin_latency.unwrap_or(d.shield_origin_latency),
            });
        let behaviors = self
            .behaviors
            .iter()
            .map(|b| (*b.op.get_ref(), b.policy().resolve(base).ttl()))
            .collect();
        Ok(Box::new(Distribution::new(distribution::Plan {
            origin: cx.id(self.origin.get_ref()),
            edges,
            regional_names,
            regional_rtt: self.regional_latency.unwrap_or(d.regional_latency),
            origin_rtt,
            shield,
            ttl: base.ttl(),
            behaviors,
            capacity: self.capacity.as_ref().map_or(d.capacity, |c| *c.get_ref()) as usize,
            warmup_end: cx.warmup_end,
        })))
    }
}

#[cfg(test)]
mod tests;
