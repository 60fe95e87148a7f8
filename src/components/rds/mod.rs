//! `rds`: an Amazon RDS DB instance (MySQL or PostgreSQL) that serves queries with a limited
//! number of connections and one worker per vCPU.
//!
//! ```toml
//! [[component]]
//! name = "db"
//! kind = "rds"
//! engine = "postgres"                # or "mysql"
//! instance_class = "db.m5.large"     # vCPUs and memory from models/rds.toml
//! query_cpu = { read = "2ms", write = { dist = "exponential", mean = "5ms" }, default = "3ms" }
//! no_free_connection = "wait"        # or "refuse" (the default)
//! pool_timeout = "30s"               # with "wait"
//! read_replicas = 2                  # 0 to 15
//! replica_lag = "10ms"               # a write's shipping delay to a replica
//! multi_az = true                    # a standby in a second AZ
//! failover_time = "90s"              # the failover window (default 90 s)
//! azs = ["a", "b"]                   # with [region]: the primary's AZ, then the standby's
//! ```
//!
//! What it follows (sources in `models/rds.toml`):
//! - `max_connections` is the engine's default parameter-group formula from the class's memory
//!   (MySQL `{DBInstanceClassMemory/12582880}`, PostgreSQL `LEAST({DBInstanceClassMemory/
//!   9531392}, 5000)`), unless the scenario sets it.
//! - A request takes a connection for as long as its query runs (and `client_hold` after it,
//!   if given: a transaction's round trips, work between statements). With every connection in
//!   use, a new one is refused (`no_free_connection = "refuse"`, MySQL's "Too many
//!   connections", answered 503) or waits in the client's pool (`"wait"`), first come first
//!   served, until one frees or `pool_timeout` passes (answered as a timeout).
//! - A query runs on one of the class's vCPUs for its CPU time (`query_cpu` by operation:
//!   `read` covers reads and strong reads, `write` writes and transactional writes, `query`
//!   queries; `default` the rest), queued first come first served when every vCPU is busy.
//! - Read replicas (`read_replicas`, up to RDS's 15) are instances of the same class with their
//!   own vCPUs and connection limit. Reads and queries go through a reader endpoint that gives
//!   each new connection to the next replica in turn (round robin per connection, as the DNS
//!   rotation of Aurora's reader endpoint does and as a client spreading connections over the
//!   replicas' endpoints would; here every query is a new connection, so the shares are equal
//!   to one query); strong reads and queries, writes and the rest go to the primary.
//!   Replication is asynchronous: a write, once its CPU time on the primary is over
//!   (committed), reaches each replica after `replica_lag` and is then replayed there for a
//!   write's CPU time, queued with the replica's reads for a vCPU, so a saturated replica
//!   falls behind. A read that starts on a replica while a write of its key is committed but
//!   not yet replayed there is counted stale.
//! - Multi-AZ (`multi_az = true`): a synchronous standby in another AZ. When the primary fails
//!   (an `instance_failure` fault aimed at the database, or an `az_outage` of the primary's
//!   AZ), every request it holds fails (503), its connections are dropped, and for
//!   `failover_time` (AWS: typically 60–120 s; 90 s by default, an assumption) requests for
//!   the primary fail at once; then the standby is the primary, in the other AZ, and the old
//!   primary's AZ holds the new standby. Without a standby (Single-AZ, or the standby's AZ is
//!   down too) the primary is down until it recovers (`recovery_time` after an instance
//!   failure, an assumption) or until its AZ comes back. Requests through an `rds_proxy` wait
//!   out the first part of a failover instead of failing (`models/rds.toml`), then reach the
//!   new primary.
//!
//! What it simplifies: the clients' pools are one pool at the database (all clients share the
//! connection budget; per-client pools that cannot lend to each other are not modelled), a
//! connection is opened for each query and closed after it (no idle connections held by
//! clients, no connection set-up time), `DBInstanceClassMemory` is the class's whole memory
//! (the OS reserve is not published; see `models/rds.toml`), queries do no I/O and take no
//! locks, and nothing is billed (the price list has no RDS prices). A replica replays on any
//! free vCPU (PostgreSQL's single replay process and MySQL's replication threads are not
//! told apart) and does no other replication work; the reader endpoint turns by connection,
//! not by load. The standby serves nothing and is ready again as soon as its AZ is up (RDS
//! rebuilds it in the background); a failover's window is the same whatever the load; read
//! replicas live in no AZ and never fail.

mod catalogue;
mod database;
mod outputs;

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

pub use catalogue::{Engine, Hardware};

use super::handler::DurationDist;
use super::{BuildContext, Kind, Reference, Roles, SpecIssue};
use crate::dist::Dist;
use crate::metrics::Observe;
use crate::units::limits::Limit;
use crate::units::{PositiveDuration, format_duration_exact};
use database::{Availability, Database, Settings};

/// Most connections a scenario may give (the PostgreSQL formula's own cap is 5 000; MySQL's
/// parameter allows 100 000).
const MAX_CONNECTIONS: Limit<u32> = Limit {
    max: 100_000,
    why: "MySQL's max_connections parameter allows at most 100 000",
};

/// An `rds` as a scenario writes it.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// `"postgres"` (default) or `"mysql"`: which `max_connections` formula applies.
    #[serde(default)]
    pub engine: Engine,
    /// The DB instance class (`db.m5.large`).
    #[schemars(with = "String")]
    pub instance_class: Spanned<String>,
    /// Connections, overriding the engine's formula.
    #[schemars(with = "Option<u32>")]
    pub max_connections: Option<Spanned<u32>>,
    /// CPU time of a query, by operation.
    pub query_cpu: QueryCpu,
    /// Time a client keeps the connection after its query (its transaction's other round
    /// trips), without CPU at the database.
    pub client_hold: Option<DurationDist>,
    /// What a request does when every connection is in use.
    #[schemars(with = "Option<NoFreeConnection>")]
    pub no_free_connection: Option<Spanned<NoFreeConnection>>,
    /// How long a request waits for a connection with `no_free_connection = "wait"` (default
    /// from `models/rds.toml`).
    #[schemars(with = "Option<PositiveDuration>")]
    pub pool_timeout: Option<Spanned<PositiveDuration>>,
    /// Read replicas of the same class, 0 (the default) to 15: reads and queries go to them
    /// through the reader endpoint, a connection to each in turn.
    #[schemars(with = "Option<u32>", range(max = 15))]
    pub read_replicas: Option<Spanned<u32>>,
    /// The time a write committed on the primary takes to reach a replica, before the replica
    /// replays it (a duration or a distribution; default 10 ms from `models/rds.toml`, an
    /// assumption). Needs `read_replicas`.
    #[schemars(with = "Option<DurationDist>")]
    pub replica_lag: Option<Spanned<DurationDist>>,
    /// A Multi-AZ deployment: a synchronous standby in a second AZ takes over when the primary
    /// fails (default false).
    #[schemars(with = "Option<bool>")]
    pub multi_az: Option<Spanned<bool>>,
    /// With `multi_az`: how long a failover keeps the database unreachable, 1 s to 1 h
    /// (default 90 s, an assumption inside AWS's "typically 60–120 seconds").
    #[schemars(with = "Option<PositiveDuration>")]
    pub failover_time: Option<Spanned<PositiveDuration>>,
    /// How long a primary without a standby takes to recover from an instance failure, 1 s
    /// to 24 h (default 10 min, an assumption: AWS publishes none).
    #[schemars(with = "Option<PositiveDuration>")]
    pub recovery_time: Option<Spanned<PositiveDuration>>,
    /// With `[region]`: the primary's AZ, then (with `multi_az`) the standby's (default: the
    /// region's first AZ, then its second).
    #[schemars(with = "Option<Vec<String>>")]
    pub azs: Option<Spanned<Vec<Spanned<String>>>>,
}

/// CPU time of a query, by operation.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryCpu {
    /// Reads (`read`, `strong_read`).
    pub read: Option<DurationDist>,
    /// Writes (`write`, `transact_write`).
    pub write: Option<DurationDist>,
    /// Queries (`query`, `strong_query`).
    pub query: Option<DurationDist>,
    /// Every other operation, and those above when not given.
    pub default: DurationDist,
}

/// What a request does when every connection is in use.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoFreeConnection {
    /// The database refuses it (MySQL error 1040 "Too many connections", PostgreSQL "too many
    /// clients already"): answered 503.
    #[default]
    Refuse,
    /// It waits in the client's pool, first come first served, up to `pool_timeout`.
    Wait,
}

impl Spec {
    /// The class's hardware (the name is checked by [`Kind::check`]).
    fn hardware(&self) -> Result<Hardware, String> {
        catalogue::class(self.instance_class.get_ref())
    }

    /// What a request does when every connection is in use.
    fn when_no_connection(&self) -> NoFreeConnection {
        self.no_free_connection
            .as_ref()
            .map_or_else(NoFreeConnection::default, |n| *n.get_ref())
    }

    /// Connections: the scenario's, or the engine's formula from the class's memory.
    fn connections(&self, hardware: Hardware) -> u32 {
        self.max_connections.as_ref().map_or_else(
            || self.engine.default_max_connections(hardware.memory_gib),
            |m| *m.get_ref(),
        )
    }

    /// Read replicas (0 when not given).
    fn replicas(&self) -> u32 {
        self.read_replicas.as_ref().map_or(0, |r| *r.get_ref())
    }

    /// True with a standby.
    fn multi_az(&self) -> bool {
        self.multi_az.as_ref().is_some_and(|m| *m.get_ref())
    }

    /// Connections in effect: the scenario's `max_connections`, or the engine's formula (for
    /// a proxy in front, which opens a share of them); `None` for an unknown class.
    pub(crate) fn max_connections_in_effect(&self) -> Option<u32> {
        self.hardware().ok().map(|h| self.connections(h))
    }

    /// The issues of the Multi-AZ keys.
    fn availability_issues(&self) -> Vec<SpecIssue> {
        let d = &catalogue::defaults().multi_az;
        let mut issues = Vec::new();
        let mut bounds = |field: &str, value: &Spanned<PositiveDuration>, min, max| {
            let v = value.get_ref().get();
            if !(min..=max).contains(&v) {
                issues.push(SpecIssue {
                    field: field.into(),
                    message: format!(
                        "`{field}` must be between {} and {}, found {}",
                        format_duration_exact(min),
                        format_duration_exact(max),
                        format_duration_exact(v)
                    ),
                    span: value.span(),
                });
            }
        };
        if let Some(t) = &self.failover_time {
            bounds("failover_time", t, d.failover_time_min, d.failover_time_max);
        }
        if let Some(t) = &self.recovery_time {
            bounds(
                "recovery_time",
                t,
                crate::engine::time::SimDuration::from_secs(1),
                d.recovery_time_max,
            );
        }
        if let Some(t) = &self.failover_time
            && !self.multi_az()
        {
            issues.push(SpecIssue {
                field: "failover_time".into(),
                message: "applies to a Multi-AZ deployment: add multi_az = true, or remove it"
                    .into(),
                span: t.span(),
            });
        }
        if let Some(azs) = &self.azs {
            let list = azs.get_ref();
            let wanted = if self.multi_az() { 2 } else { 1 };
            if list.len() != wanted {
                let message = if self.multi_az() {
                    format!(
                        "with multi_az, `azs` names two availability zones, the primary's then                          the standby's; found {}",
                        list.len()
                    )
                } else {
                    format!(
                        "without multi_az, `azs` names one availability zone, the instance's;                          found {}",
                        list.len()
                    )
                };
                issues.push(SpecIssue {
                    field: "azs".into(),
                    message,
                    span: azs.span(),
                });
            } else if wanted == 2 && list[0].get_ref() == list[1].get_ref() {
                issues.push(SpecIssue {
                    field: "azs".into(),
                    message: "the standby must be in another availability zone than the primary"
                        .into(),
                    span: list[1].span(),
                });
            }
        }
        issues
    }
}

impl Kind for Spec {
    const KIND: &'static str = "rds";
    const SUMMARY: &'static str = "An Amazon RDS DB instance (MySQL or PostgreSQL).";
    const FOLLOWS: &'static str = "`max_connections` by the engine's default parameter-group formula from the class's \
         memory (overridable); connections refused (503) or waited for in a pool with a timeout; \
         one worker per vCPU, CPU time per operation, FIFO; up to 15 read replicas behind a \
         round-robin reader endpoint, asynchronous replication (a shipping delay, then replay \
         queued for the replica's vCPUs), stale reads counted; Multi-AZ: on an instance failure \
         or an outage of the primary's AZ, what the primary holds fails and requests fail for \
         `failover_time` (90 s, inside AWS's 60–120 s), then the standby in the other AZ is the \
         primary; Single-AZ: down for `recovery_time` or until its AZ returns; requests through \
         RDS Proxy wait out the first 34 % of a failover instead of failing";
    const SIMPLIFIES: &'static str = "all clients share one pool at the database; no idle connections held between queries, no \
         connection set-up time; `DBInstanceClassMemory` taken as the whole memory (AWS does not \
         publish the OS reserve, so the default is a few per cent high); no I/O, locks, buffer \
         cache or storage; replicas replay on any free vCPU, the reader endpoint turns by \
         connection, not by load; the standby is ready again once its AZ is up, a failover's \
         window does not depend on the load, replicas never fail; Aurora not modelled yet; not \
         billed";
    const ACCEPTS_REQUESTS: bool = true;
    /// Its primary fails (`instance_failure`) and lives in an AZ (`az_outage`).
    const ROLES: Roles = Roles {
        instance_failure: true,
        az_placement: true,
        ..Roles::NONE
    };

    fn azs(&self) -> Option<&Spanned<Vec<Spanned<String>>>> {
        self.azs.as_ref()
    }

    fn references(&self) -> Vec<Reference<'_>> {
        Vec::new()
    }

    fn check(&self, _component_span: Range<usize>) -> Vec<SpecIssue> {
        let mut issues = Vec::new();
        if let Err(message) = self.hardware() {
            issues.push(SpecIssue {
                field: "instance_class".into(),
                message,
                span: self.instance_class.span(),
            });
        }
        if let Some(m) = &self.max_connections {
            if *m.get_ref() == 0 {
                issues.push(SpecIssue {
                    field: "max_connections".into(),
                    message: "must be at least 1".into(),
                    span: m.span(),
                });
            }
            issues.extend(SpecIssue::above_limit(
                "max_connections",
                m,
                MAX_CONNECTIONS,
            ));
        }
        if let Some(r) = &self.read_replicas {
            let max = catalogue::defaults().read_replicas.max;
            if *r.get_ref() > max {
                issues.push(SpecIssue {
                    field: "read_replicas".into(),
                    message: format!(
                        "must be at most {max} (RDS's quota of read replicas per primary DB \
                         instance)"
                    ),
                    span: r.span(),
                });
            }
        }
        if let Some(lag) = &self.replica_lag
            && self.replicas() == 0
        {
            issues.push(SpecIssue {
                field: "replica_lag".into(),
                message: "applies to read replicas: add read_replicas = 1 or more, or remove it"
                    .into(),
                span: lag.span(),
            });
        }
        if let Some(t) = &self.pool_timeout
            && self.when_no_connection() == NoFreeConnection::Refuse
        {
            issues.push(SpecIssue {
                field: "pool_timeout".into(),
                message: "applies to requests that wait for a connection: add \
                          no_free_connection = \"wait\", or remove it"
                    .into(),
                span: t.span(),
            });
        }
        issues.extend(self.availability_issues());
        issues
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String> {
        let hardware = self.hardware()?;
        let build =
            |d: &Option<DurationDist>| d.as_ref().map(|d| d.0.build(cx.base_dir)).transpose();
        let default = self.query_cpu.default.0.build(cx.base_dir)?;
        let pool_timeout = match self.when_no_connection() {
            NoFreeConnection::Refuse => None,
            NoFreeConnection::Wait => Some(
                self.pool_timeout
                    .as_ref()
                    .map_or(catalogue::defaults().pool.timeout, |t| t.get_ref().get()),
            ),
        };
        Ok(Box::new(Database::new(
            Settings {
                engine: self.engine,
                hardware,
                max_connections: self.connections(hardware),
                read_cpu: build(&self.query_cpu.read)?.unwrap_or_else(|| default.clone()),
                write_cpu: build(&self.query_cpu.write)?.unwrap_or_else(|| default.clone()),
                query_cpu: build(&self.query_cpu.query)?.unwrap_or_else(|| default.clone()),
                default_cpu: default,
                client_hold: build(&self.client_hold)?,
                pool_timeout,
                read_replicas: self.replicas(),
                replica_lag: match &self.replica_lag {
                    Some(lag) => lag.get_ref().0.build(cx.base_dir)?,
                    None => Dist::constant(catalogue::defaults().read_replicas.ship_delay),
                },
                availability: self.availability(cx),
            },
            cx.warmup_end,
        )))
    }
}

impl Spec {
    /// Where the primary and standby live and what a failure of the primary costs.
    fn availability(&self, cx: &BuildContext<'_>) -> Availability {
        let d = &catalogue::defaults().multi_az;
        let placement = cx.region.placement(self.azs.as_ref());
        let failover_time = self
            .failover_time
            .as_ref()
            .map_or(d.failover_time, |t| t.get_ref().get());
        Availability {
            multi_az: self.multi_az(),
            failover_time,
            recovery_time: self
                .recovery_time
                .as_ref()
                .map_or(d.recovery_time, |t| t.get_ref().get()),
            primary_az: placement[0],
            standby_az: placement.get(1).copied().unwrap_or(placement[0]),
            proxies: cx
                .specs
                .iter()
                .filter(|(_, spec)| {
                    spec.kind() == <super::rds_proxy::Spec as Kind>::KIND
                        && spec
                            .references()
                            .iter()
                            .any(|r| r.field == "target" && r.name.get_ref() == cx.name)
                })
                .map(|(name, _)| cx.id(name))
                .collect(),
            proxy_wait: failover_time.mul_f64(d.proxy_failover_share),
            az_names: cx.region.has_azs().then(|| cx.region.azs.clone()),
        }
    }
}

#[cfg(test)]
mod tests;
