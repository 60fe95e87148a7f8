//! `route53`: an Amazon Route 53 record with a routing policy over targets (any components
//! that accept requests: two stacks standing for two Regions, say), its health checks, and the
//! clients that cache its answers for the TTL.
//!
//! ```toml
//! [[component]]
//! name = "www"
//! kind = "route53"
//! routing = "failover"                      # simple, weighted, latency or failover
//! ttl = "60s"
//! records = [ { target = "us-east", role = "primary" }, { target = "eu-west", role = "secondary" } ]
//! health_check = { interval = "10s", failure_threshold = 3 }
//! stale_fraction = 0.05                     # clients that keep answers longer (assumption)
//! stale_ttl = "15m"
//! client_groups = [ { share = 0.7, latency = ["20ms", "90ms"] }, { share = 0.3, latency = ["90ms", "15ms"] } ]
//! ```
//!
//! # How a scenario uses it
//! Route 53 answers DNS queries, not requests. Here a workload's `target` is the record: each
//! request goes to the target its client's cached answer names, resolving first when the
//! client has no answer or its answer has expired. A client is a source address of the
//! workload (`connections = { clients = N }`; without `connections` each request comes from
//! one of 65 536 addresses). The record forwards the request and passes the target's answer
//! back: it stands for the client's resolver cache and its direct connection to the target.
//!
//! # What it follows (sources in `models/route53.toml`)
//! - **Routing.** `simple`: one of the records at random. `weighted`: a record with probability
//!   weight / total among the healthy ones (weights 0–255; all healthy if none is). `latency`:
//!   the healthy record with the lowest latency from the client's group. `failover`: the
//!   primary while it is healthy, else the secondary (the primary if neither is).
//! - **Health checks** (not for `simple`): a checker probes every target each `interval` (30 s
//!   standard, 10 s fast); a target turns unhealthy after `failure_threshold` consecutive
//!   failed probes (1–10, default 3) and healthy again after as many passed ones. A probe
//!   fails when the target answers an error, or has not answered by the next probe.
//! - **TTL.** A client keeps its answer for `ttl` (default 300 s, the console's default) and
//!   asks again at its first request after. A fraction `stale_fraction` of the clients (an
//!   assumption: resolvers and clients that ignore the TTL) keep answers for `stale_ttl`. A
//!   client's first answer lasts a uniform share of its TTL (`staggered_start`, by address): the
//!   clients' caches were running before the run began, and do not all expire together.
//!
//! # What it simplifies
//! One checker with one view (AWS's checkers in several Regions vote; a target is healthy when
//! more than 18 % of them say so); the probe is a request like any other (it loads the target),
//! answered in time if before the next probe; DNS resolution takes no time; a client's group's
//! latency is a round trip added before the request reaches its target. Not billed.

mod outputs;
mod record;

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::OnceLock;

use serde::Deserialize;
use toml::Spanned;

use super::{BuildContext, Expects, Kind, Reference, SpecIssue};
use crate::engine::time::SimDuration;
use crate::metrics::Observe;
use crate::units::format_duration_exact;

pub use record::Record;

/// Most records one name may have.
pub const MAX_RECORDS: usize = 100;

/// Most client groups.
pub const MAX_GROUPS: usize = 100;

/// How a record chooses its answer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Routing {
    /// One of the records at random.
    Simple,
    /// By weight among the healthy records.
    Weighted,
    /// The healthy record nearest to the client.
    Latency,
    /// The primary while healthy, else the secondary.
    Failover,
}

/// A failover record's role.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Answered while healthy.
    Primary,
    /// Answered when the primary is not.
    Secondary,
}

/// The `route53` table of a scenario: one name and its records.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The routing policy.
    #[schemars(with = "Routing")]
    pub routing: Spanned<Routing>,
    /// The records: one per target.
    #[schemars(with = "Vec<RecordSpec>")]
    pub records: Spanned<Vec<RecordSpec>>,
    /// How long clients keep an answer (default 300 s).
    #[schemars(with = "Option<SimDuration>")]
    pub ttl: Option<Spanned<SimDuration>>,
    /// Health checks of every record's target (default: none).
    pub health_check: Option<HealthCheckSpec>,
    /// Fraction of the clients that keep answers for `stale_ttl` (default 0).
    #[schemars(with = "Option<f64>")]
    pub stale_fraction: Option<Spanned<f64>>,
    /// How long those clients keep an answer (default from `models/route53.toml`).
    #[schemars(with = "Option<SimDuration>")]
    pub stale_ttl: Option<Spanned<SimDuration>>,
    /// Groups of clients, their shares and their latency to each record's target.
    #[schemars(with = "Option<Vec<GroupSpec>>")]
    pub client_groups: Option<Spanned<Vec<GroupSpec>>>,
    /// True (default): a client's first answer lasts a uniform share of its TTL (by address),
    /// as in caches that were running before the run began; false: the whole TTL, so every
    /// client's cache expires in step with its first request.
    pub staggered_start: Option<bool>,
}

/// `{ target = "us-east", weight = 70, role = "primary" }`.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordSpec {
    /// The component the answer names.
    #[schemars(with = "String")]
    pub target: Spanned<String>,
    /// Weight, 0 to 255 (`weighted` only; default 1).
    #[schemars(with = "Option<u32>")]
    pub weight: Option<Spanned<u32>>,
    /// Primary or secondary (`failover` only).
    #[schemars(with = "Option<Role>")]
    pub role: Option<Spanned<Role>>,
}

/// `health_check = { interval = "30s", failure_threshold = 3 }`.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "RecordHealthCheck")]
#[serde(deny_unknown_fields)]
pub struct HealthCheckSpec {
    /// 30 s (standard) or 10 s (fast); default 30 s.
    #[schemars(with = "Option<SimDuration>")]
    pub interval: Option<Spanned<SimDuration>>,
    /// Consecutive probes that change a target's status, 1 to 10 (default 3).
    #[schemars(with = "Option<u32>")]
    pub failure_threshold: Option<Spanned<u32>>,
}

/// `{ share = 0.7, latency = ["20ms", "90ms"] }`.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// The group's share of the clients; the shares add up to 1.
    #[schemars(with = "f64")]
    pub share: Spanned<f64>,
    /// Round trip to each record's target, in the order of `records`.
    #[schemars(with = "Vec<SimDuration>")]
    pub latency: Spanned<Vec<SimDuration>>,
}

/// `models/route53.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Record TTL.
    pub ttl: SimDuration,
    /// Standard health-check interval.
    pub interval: SimDuration,
    /// Fast health-check interval.
    pub fast_interval: SimDuration,
    /// Failure threshold.
    pub failure_threshold: u32,
    /// Greatest failure threshold.
    pub failure_threshold_max: u32,
    /// Greatest weight.
    pub weight_max: u32,
    /// How long stale clients keep an answer.
    pub stale_ttl: SimDuration,
}

const DEFAULTS_TOML: &str = include_str!("../../../models/route53.toml");

/// The defaults of `models/route53.toml`.
pub fn defaults() -> &'static Defaults {
    static DEFAULTS: OnceLock<Defaults> = OnceLock::new();
    DEFAULTS.get_or_init(|| {
        toml::from_str(DEFAULTS_TOML).expect("models/route53.toml is checked by a test")
    })
}

fn issue(field: impl Into<String>, message: String, span: Range<usize>) -> SpecIssue {
    SpecIssue {
        field: field.into(),
        message,
        span,
    }
}

impl Kind for Spec {
    const KIND: &'static str = "route53";
    const SUMMARY: &'static str = "A Route 53 record with a routing policy over targets, health checks, and clients that \
         cache its answer.";
    const FOLLOWS: &'static str = "simple, weighted, latency and failover routing; health checks every 30 s or 10 s with a \
         failure threshold; all records answered when none is healthy; clients cache answers for \
         the TTL, a stale fraction longer";
    const SIMPLIFIES: &'static str = "one checker; probes are requests, failed by an error or no answer before the next; \
         resolution takes no time; not billed";
    const ACCEPTS_REQUESTS: bool = true;

    fn references(&self) -> Vec<Reference<'_>> {
        self.records
            .get_ref()
            .iter()
            .enumerate()
            .map(|(i, r)| Reference {
                field: format!("records[{i}].target"),
                name: &r.target,
                expects: Expects::RequestTarget,
                synchronous: true,
            })
            .collect()
    }

    fn check(&self, _span: Range<usize>) -> Vec<SpecIssue> {
        let d = defaults();
        let mut out = Vec::new();
        let routing = *self.routing.get_ref();
        let records = self.records.get_ref();
        if records.is_empty() || records.len() > MAX_RECORDS {
            out.push(issue(
                "records",
                format!(
                    "`records` must list between 1 and {MAX_RECORDS} records, found {}",
                    records.len()
                ),
                self.records.span(),
            ));
        }
        let mut targets = BTreeSet::new();
        for (i, r) in records.iter().enumerate() {
            let field = format!("records[{i}]");
            if !targets.insert(r.target.get_ref()) {
                out.push(issue(
                    format!("{field}.target"),
                    format!(
                        "`{}` has a record already; give each target one record",
                        r.target.get_ref()
                    ),
                    r.target.span(),
                ));
            }
            if let Some(w) = &r.weight {
                if routing != Routing::Weighted {
                    out.push(issue(
                        format!("{field}.weight"),
                        "`weight` applies to `routing = \"weighted\"` only".into(),
                        w.span(),
                    ));
                } else if *w.get_ref() > d.weight_max {
                    out.push(issue(
                        format!("{field}.weight"),
                        format!(
                            "`{field}.weight` must be between 0 and {} (Route 53's range), found {}",
                            d.weight_max,
                            w.get_ref()
                        ),
                        w.span(),
                    ));
                }
            }
            if let Some(role) = &r.role
                && routing != Routing::Failover
            {
                out.push(issue(
                    format!("{field}.role"),
                    "`role` applies to `routing = \"failover\"` only".into(),
                    role.span(),
                ));
            }
        }
        if routing == Routing::Failover {
            let roles: Vec<Option<Role>> = records
                .iter()
                .map(|r| r.role.as_ref().map(|s| *s.get_ref()))
                .collect();
            let primaries = roles.iter().filter(|r| **r == Some(Role::Primary)).count();
            let secondaries = roles
                .iter()
                .filter(|r| **r == Some(Role::Secondary))
                .count();
            if records.len() != 2 || primaries != 1 || secondaries != 1 {
                out.push(issue(
                    "records",
                    "failover routing needs two records: one with `role = \"primary\"`, one \
                     with `role = \"secondary\"`"
                        .into(),
                    self.records.span(),
                ));
            }
        }
        if routing == Routing::Weighted
            && !records.is_empty()
            && records
                .iter()
                .all(|r| r.weight.as_ref().is_some_and(|w| *w.get_ref() == 0))
        {
            out.push(issue(
                "records",
                "every weight is 0: give at least one record a weight above 0".into(),
                self.records.span(),
            ));
        }
        if let Some(hc) = &self.health_check {
            if routing == Routing::Simple {
                out.push(issue(
                    "health_check",
                    "simple routing does not use health checks (Route 53 answers every record); \
                     choose weighted, latency or failover routing"
                        .into(),
                    self.routing.span(),
                ));
            }
            if let Some(i) = &hc.interval
                && *i.get_ref() != d.interval
                && *i.get_ref() != d.fast_interval
            {
                out.push(issue(
                    "health_check.interval",
                    format!(
                        "`health_check.interval` must be {} (standard) or {} (fast), Route 53's \
                         two request intervals, found {}",
                        format_duration_exact(d.interval),
                        format_duration_exact(d.fast_interval),
                        format_duration_exact(*i.get_ref())
                    ),
                    i.span(),
                ));
            }
            if let Some(t) = &hc.failure_threshold
                && !(1..=d.failure_threshold_max).contains(t.get_ref())
            {
                out.push(issue(
                    "health_check.failure_threshold",
                    format!(
                        "`health_check.failure_threshold` must be between 1 and {}, found {}",
                        d.failure_threshold_max,
                        t.get_ref()
                    ),
                    t.span(),
                ));
            }
        }
        if let Some(f) = &self.stale_fraction
            && !(0.0..=1.0).contains(f.get_ref())
        {
            out.push(issue(
                "stale_fraction",
                format!(
                    "`stale_fraction` must be a fraction of the clients between 0 and 1, found {}",
                    f.get_ref()
                ),
                f.span(),
            ));
        }
        match &self.client_groups {
            None if routing == Routing::Latency => out.push(issue(
                "client_groups",
                "latency routing needs `client_groups` (each group's latency to each target)"
                    .into(),
                self.routing.span(),
            )),
            None => {}
            Some(groups) => {
                let list = groups.get_ref();
                if list.is_empty() || list.len() > MAX_GROUPS {
                    out.push(issue(
                        "client_groups",
                        format!(
                            "`client_groups` must list between 1 and {MAX_GROUPS} groups, found {}",
                            list.len()
                        ),
                        groups.span(),
                    ));
                }
                let mut total = 0.0;
                for (i, g) in list.iter().enumerate() {
                    let share = *g.share.get_ref();
                    if !(share > 0.0 && share <= 1.0) {
                        out.push(issue(
                            format!("client_groups[{i}].share"),
                            format!(
                                "`client_groups[{i}].share` must be above 0 and at most 1, found \
                                 {share}"
                            ),
                            g.share.span(),
                        ));
                    }
                    total += share;
                    if g.latency.get_ref().len() != records.len() {
                        out.push(issue(
                            format!("client_groups[{i}].latency"),
                            format!(
                                "`client_groups[{i}].latency` needs one latency per record ({}), \
                                 found {}",
                                records.len(),
                                g.latency.get_ref().len()
                            ),
                            g.latency.span(),
                        ));
                    }
                }
                if !list.is_empty() && (total - 1.0).abs() > 1e-9 {
                    out.push(issue(
                        "client_groups",
                        format!("the client groups' shares must add up to 1, found {total}"),
                        groups.span(),
                    ));
                }
            }
        }
        out
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String> {
        let d = defaults();
        let records = self.records.get_ref();
        let groups = match &self.client_groups {
            Some(g) => g
                .get_ref()
                .iter()
                .map(|g| record::Group {
                    share: *g.share.get_ref(),
                    latency: g.latency.get_ref().clone(),
                })
                .collect(),
            None => vec![record::Group {
                share: 1.0,
                latency: vec![SimDuration::ZERO; records.len()],
            }],
        };
        let health = self.health_check.as_ref().map(|h| record::HealthPlan {
            interval: h.interval.as_ref().map_or(d.interval, |i| *i.get_ref()),
            threshold: h
                .failure_threshold
                .as_ref()
                .map_or(d.failure_threshold, |t| *t.get_ref()),
        });
        let ttl = self.ttl.as_ref().map_or(d.ttl, |t| *t.get_ref());
        Ok(Box::new(Record::new(record::Plan {
            routing: *self.routing.get_ref(),
            targets: records
                .iter()
                .map(|r| record::TargetPlan {
                    name: r.target.get_ref().clone(),
                    id: cx.id(r.target.get_ref()),
                    weight: r.weight.as_ref().map_or(1, |w| *w.get_ref()),
                    primary: r
                        .role
                        .as_ref()
                        .is_some_and(|r| *r.get_ref() == Role::Primary),
                })
                .collect(),
            ttl,
            stale_fraction: self.stale_fraction.as_ref().map_or(0.0, |f| *f.get_ref()),
            stale_ttl: self
                .stale_ttl
                .as_ref()
                .map_or(d.stale_ttl, |t| *t.get_ref())
                .max(ttl),
            groups,
            health,
            staggered_start: self.staggered_start.unwrap_or(true),
            warmup_end: cx.warmup_end,
        })))
    }
}

#[cfg(test)]
mod tests;
