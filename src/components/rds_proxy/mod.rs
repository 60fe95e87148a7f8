//! `rds_proxy`: Amazon RDS Proxy in front of an `rds`, pooling and multiplexing its clients'
//! requests onto a few database connections.
//!
//! ```toml
//! [[component]]
//! name = "db-proxy"
//! kind = "rds_proxy"
//! target = "db"                        # an rds
//! max_connections_percent = 100        # of the database's max_connections (1 to 100)
//! connection_borrow_timeout = "120s"   # a request's wait for a connection (1 s to 1 h)
//! pinning_fraction = 0                 # requests whose session is pinned (an assumption)
//! idle_client_timeout = "30m"          # how long a pinned connection stays with its client
//! ```
//!
//! What it follows (sources in `models/rds_proxy.toml`):
//! - The proxy opens at most `max_connections_percent` of the database's `max_connections`
//!   (rounded down, at least one). A client request borrows one of them for as long as the
//!   database takes to answer it (multiplexing: transaction-level reuse), so any number of
//!   clients (Lambda environments) share them. With all borrowed, a request waits, first come
//!   first served, up to `connection_borrow_timeout`, then fails (a timeout).
//! - A share `pinning_fraction` of requests pin their connection: it stays with the client
//!   after the answer, for `idle_client_timeout` (until the client connection would close),
//!   and serves nobody else meanwhile.
//! - During a Multi-AZ failover of its database, the proxy keeps its clients' connections and
//!   finds the new primary sooner than DNS would: its requests wait out the first part of the
//!   window instead of failing (the `rds` model holds them; `models/rds.toml`).
//!
//! What it simplifies: requests are the sessions (a request is one transaction of its own
//! client; no client connection set-up, no IdleClientTimeout for unpinned clients, no TLS or
//! authentication time); the proxy adds no latency; the connections RDS Proxy reserves for its
//! own monitoring and `MaxIdleConnectionsPercent` are not modelled; one proxy endpoint, to the
//! database's writer (a proxy's reads still go through the database's reader endpoint when it
//! has replicas); not billed.

mod outputs;
mod proxy;

use std::ops::Range;
use std::sync::OnceLock;

use serde::Deserialize;
use toml::Spanned;

use super::{BuildContext, ComponentSpec, Expects, Kind, Reference, SpecIssue};
use crate::engine::time::SimDuration;
use crate::metrics::Observe;
use crate::units::{PositiveDuration, format_duration_exact};
use proxy::{Proxy, Settings};

const DEFAULTS_TOML: &str = include_str!("../../../models/rds_proxy.toml");

/// `models/rds_proxy.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Defaults {
    pub pool: PoolDefaults,
    pub pinning: PinningDefaults,
}

/// The connection pool's documented defaults and bounds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PoolDefaults {
    #[allow(dead_code)]
    pub source: String,
    pub max_connections_percent: u32,
    pub connection_borrow_timeout: SimDuration,
    pub connection_borrow_timeout_max: SimDuration,
    pub idle_client_timeout: SimDuration,
    pub idle_client_timeout_max: SimDuration,
}

/// The assumed share of pinned sessions.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PinningDefaults {
    #[allow(dead_code)]
    pub source: String,
    pub fraction: f64,
}

/// The RDS Proxy defaults.
pub(crate) fn defaults() -> &'static Defaults {
    static DEFAULTS: OnceLock<Defaults> = OnceLock::new();
    DEFAULTS.get_or_init(|| {
        toml::from_str(DEFAULTS_TOML).expect("models/rds_proxy.toml is checked by a test")
    })
}

/// An `rds_proxy` as a scenario writes it.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The `rds` it fronts.
    #[schemars(with = "String")]
    pub target: Spanned<String>,
    /// The share of the database's `max_connections` the proxy may open, 1 to 100 (default
    /// 100).
    #[schemars(with = "Option<u32>", range(min = 1, max = 100))]
    pub max_connections_percent: Option<Spanned<u32>>,
    /// How long a request waits for a database connection when all are borrowed, 1 s to 1 h
    /// (default 120 s); then it fails as a timeout.
    #[schemars(with = "Option<PositiveDuration>")]
    pub connection_borrow_timeout: Option<Spanned<PositiveDuration>>,
    /// The share of requests whose session is pinned to its database connection, 0 to 1
    /// (default 0, an assumption).
    #[schemars(with = "Option<f64>", range(min = 0.0, max = 1.0))]
    pub pinning_fraction: Option<Spanned<f64>>,
    /// How long a pinned connection stays with its client after the answer (the client
    /// connection's idle timeout), 1 s to 8 h (default 30 min).
    #[schemars(with = "Option<PositiveDuration>")]
    pub idle_client_timeout: Option<Spanned<PositiveDuration>>,
}

impl Spec {
    fn percent(&self) -> u32 {
        self.max_connections_percent
            .as_ref()
            .map_or(defaults().pool.max_connections_percent, |p| *p.get_ref())
    }

    /// The connections the proxy may open to a database of `max_connections`.
    pub(crate) fn pool_size(&self, max_connections: u32) -> u32 {
        ((u64::from(max_connections) * u64::from(self.percent()) / 100) as u32).max(1)
    }
}

/// `value` between `min` and `max`, or the issue saying so.
fn duration_issue(
    field: &str,
    value: &Spanned<PositiveDuration>,
    min: SimDuration,
    max: SimDuration,
) -> Option<SpecIssue> {
    let v = value.get_ref().get();
    (!(min..=max).contains(&v)).then(|| SpecIssue {
        field: field.into(),
        message: format!(
            "`{field}` must be between {} and {}, found {}",
            format_duration_exact(min),
            format_duration_exact(max),
            format_duration_exact(v)
        ),
        span: value.span(),
    })
}

impl Kind for Spec {
    const KIND: &'static str = "rds_proxy";
    const SUMMARY: &'static str =
        "Amazon RDS Proxy: a connection pool in front of an rds, shared by all its clients.";
    const FOLLOWS: &'static str = "at most `max_connections_percent` of the database's `max_connections`; a request borrows \
         a connection only while the database answers it (multiplexing), so any number of \
         clients share them; with all borrowed it waits first come first served up to \
         `connection_borrow_timeout` (default 120 s), then times out; pinned sessions keep their \
         connection for `idle_client_timeout`; during a Multi-AZ failover its requests wait out \
         the first 34 % of the window (AWS: up to 66 % faster) instead of failing";
    const SIMPLIFIES: &'static str = "a request is its client's whole session (no client connection set-up, no idle clients); \
         no proxy latency, no connections reserved for monitoring, no idle-connection limit; the \
         share of pinned sessions is an input (default 0); one endpoint, to the writer; not billed";
    const ACCEPTS_REQUESTS: bool = true;

    fn references(&self) -> Vec<Reference<'_>> {
        vec![Reference {
            field: "target".into(),
            name: &self.target,
            expects: Expects::Kind(super::rds::Spec::KIND),
            synchronous: true,
        }]
    }

    fn check(&self, _component_span: Range<usize>) -> Vec<SpecIssue> {
        let d = &defaults().pool;
        let mut issues = Vec::new();
        if let Some(p) = &self.max_connections_percent
            && !(1..=100).contains(p.get_ref())
        {
            issues.push(SpecIssue {
                field: "max_connections_percent".into(),
                message: format!(
                    "`max_connections_percent` must be between 1 and 100, found {}",
                    p.get_ref()
                ),
                span: p.span(),
            });
        }
        if let Some(t) = &self.connection_borrow_timeout {
            issues.extend(duration_issue(
                "connection_borrow_timeout",
                t,
                SimDuration::from_secs(1),
                d.connection_borrow_timeout_max,
            ));
        }
        if let Some(t) = &self.idle_client_timeout {
            issues.extend(duration_issue(
                "idle_client_timeout",
                t,
                SimDuration::from_secs(1),
                d.idle_client_timeout_max,
            ));
        }
        if let Some(f) = &self.pinning_fraction
            && !(0.0..=1.0).contains(f.get_ref())
        {
            issues.push(SpecIssue {
                field: "pinning_fraction".into(),
                message: format!(
                    "`pinning_fraction` must be between 0 and 1, found {}",
                    f.get_ref()
                ),
                span: f.span(),
            });
        }
        issues
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String> {
        let target = self.target.get_ref();
        let max_connections = match cx.specs.get(target.as_str()) {
            Some(ComponentSpec::Rds(db)) => db.max_connections_in_effect(),
            _ => None,
        }
        .ok_or_else(|| format!("`{target}` is not an rds awsim can build"))?;
        let d = defaults();
        Ok(Box::new(Proxy::new(
            Settings {
                target: cx.id(target),
                pool: self.pool_size(max_connections),
                borrow_timeout: self
                    .connection_borrow_timeout
                    .as_ref()
                    .map_or(d.pool.connection_borrow_timeout, |t| t.get_ref().get()),
                pinning_fraction: self
                    .pinning_fraction
                    .as_ref()
                    .map_or(d.pinning.fraction, |f| *f.get_ref()),
                idle_client_timeout: self
                    .idle_client_timeout
                    .as_ref()
                    .map_or(d.pool.idle_client_timeout, |t| t.get_ref().get()),
            },
            cx.warmup_end,
        )))
    }
}

#[cfg(test)]
mod tests;
