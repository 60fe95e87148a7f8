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
//!
//! What it simplifies: the clients' pools are one pool at the database (all clients share the
//! connection budget; per-client pools that cannot lend to each other are not modelled), a
//! connection is opened for each query and closed after it (no idle connections held by
//! clients, no connection set-up time), `DBInstanceClassMemory` is the class's whole memory
//! (the OS reserve is not published; see `models/rds.toml`), queries do no I/O and take no
//! locks, and nothing is billed (the price list has no RDS prices). A replica replays on any
//! free vCPU (PostgreSQL's single replay process and MySQL's replication threads are not
//! told apart) and does no other replication work; the reader endpoint turns by connection,
//! not by load.

mod catalogue;
mod database;
mod outputs;

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

pub use catalogue::{Engine, Hardware};

use super::handler::DurationDist;
use super::{BuildContext, Kind, Reference, SpecIssue};
use crate::dist::Dist;
use crate::metrics::Observe;
use crate::units::PositiveDuration;
use crate::units::limits::Limit;
use database::{Database, Settings};

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
}

impl Kind for Spec {
    const KIND: &'static str = "rds";
    const SUMMARY: &'static str = "An Amazon RDS DB instance (MySQL or PostgreSQL).";
    const FOLLOWS: &'static str = "`max_connections` by the engine's default parameter-group formula from the class's \
         memory (overridable); connections refused (503) or waited for in a pool with a timeout; \
         one worker per vCPU, CPU time per operation, FIFO; up to 15 read replicas behind a \
         round-robin reader endpoint, asynchronous replication (a shipping delay, then replay \
         queued for the replica's vCPUs), stale reads counted";
    const SIMPLIFIES: &'static str = "all clients share one pool at the database; no idle connections held between queries, no \
         connection set-up time; `DBInstanceClassMemory` taken as the whole memory (AWS does not \
         publish the OS reserve, so the default is a few per cent high); no I/O, locks, buffer \
         cache or storage; replicas replay on any free vCPU, the reader endpoint turns by \
         connection, not by load; Multi-AZ failover and Aurora not modelled yet; not billed";
    const ACCEPTS_REQUESTS: bool = true;

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
            },
            cx.warmup_end,
        )))
    }
}

#[cfg(test)]
mod tests;
