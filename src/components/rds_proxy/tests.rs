//! The model file, the pool size, and exact cases with evenly spaced arrivals and constant
//! query times.

use std::path::Path;

use super::{Spec, defaults};
use crate::engine::time::SimDuration;
use crate::run::run_quietly;
use crate::scenario::{RunSettings, Scenario};

#[test]
fn the_model_file_parses_with_the_documented_defaults() {
    let d = defaults();
    assert_eq!(d.pool.max_connections_percent, 100);
    assert_eq!(
        d.pool.connection_borrow_timeout,
        SimDuration::from_secs(120)
    );
    assert_eq!(d.pool.idle_client_timeout, SimDuration::from_secs(1800));
    assert_eq!(
        d.pool.idle_client_timeout_max,
        SimDuration::from_secs(8 * 3600)
    );
    assert_eq!(d.pinning.fraction, 0.0);
}

#[test]
fn the_pool_is_the_percentage_of_max_connections_rounded_down_and_at_least_one() {
    let spec = |percent: u32| -> Spec {
        toml::from_str(&format!(
            "target = \"db\"\nmax_connections_percent = {percent}"
        ))
        .unwrap()
    };
    // AWS's example: max_connections 1 000 at 95 % gives 950.
    assert_eq!(spec(95).pool_size(1000), 950);
    assert_eq!(spec(10).pool_size(112), 11);
    assert_eq!(spec(1).pool_size(5), 1);
    assert_eq!(spec(100).pool_size(901), 901);
}

/// Ten requests a second, evenly spaced, to a proxy (its extra keys) in front of a database
/// with 10 connections and `query_cpu` per query.
fn run(proxy: &str, query_cpu: &str) -> serde_json::Value {
    let text = format!(
        r#"
[simulation]
duration = "60s"

[[workload]]
name = "clients"
target = "proxy"
arrival = {{ process = "constant", rate = "10/s" }}

[[component]]
name = "proxy"
kind = "rds_proxy"
target = "db"
{proxy}

[[component]]
name = "db"
kind = "rds"
instance_class = "db.m5.4xlarge"
max_connections = 10
query_cpu = {{ default = "{query_cpu}" }}
"#
    );
    let scenario =
        Scenario::parse(&text, Path::new("proxy.toml")).unwrap_or_else(|e| panic!("{e}"));
    let summary = run_quietly(&scenario, RunSettings::default()).unwrap();
    assert!(summary.conservation.ok);
    serde_json::to_value(&summary.components).unwrap()
}

fn n(v: &serde_json::Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"))
}

#[test]
fn two_connections_carry_queries_of_190ms_every_100ms_without_a_wait() {
    // 20 % of 10 connections: 2. A query holds one for 190 ms and the next arrives 100 ms
    // later: at most two are ever borrowed, and nobody waits.
    let c = run("max_connections_percent = 20", "190ms");
    let proxy = &c["proxy"];
    assert_eq!(n(proxy, "database_connections_allowed"), 2);
    assert_eq!(n(proxy, "database_connections_max"), 2);
    assert_eq!(n(proxy, "client_connections_max"), 2);
    assert_eq!(n(proxy, "borrow_waits"), 0);
    assert_eq!(n(&c["db"], "connections_max"), 2);
    assert_eq!(n(&c["db"], "connections_refused"), 0);
}

#[test]
fn one_connection_makes_requests_queue_and_give_up_at_the_borrow_timeout() {
    // One connection, 150 ms per query, a request every 100 ms: the backlog grows by one every
    // 300 ms and each request waits 50 ms longer than the last; past 1 s they give up. The
    // database never sees more than the one connection, so it refuses nothing.
    let c = run(
        "max_connections_percent = 10\nconnection_borrow_timeout = \"1s\"",
        "150ms",
    );
    let (proxy, db) = (&c["proxy"], &c["db"]);
    assert_eq!(n(proxy, "database_connections_allowed"), 1);
    assert_eq!(n(proxy, "database_connections_max"), 1);
    assert_eq!(n(db, "connections_max"), 1);
    assert_eq!(n(db, "connections_refused"), 0);
    assert!(n(proxy, "borrow_timeouts") > 100, "{proxy}");
    // The connection is never idle once the backlog has built: 60 s / 150 ms at most.
    let queries = n(db, "queries");
    assert!((395..=400).contains(&queries), "{queries}");
    assert!(proxy["borrow_wait_ms"]["max"].as_f64().unwrap() <= 1000.0);
    // About ten wait at once (1 s of arrivals) besides the one at the database.
    assert!(
        (10..=12).contains(&n(proxy, "client_connections_max")),
        "{proxy}"
    );
    let created = n(&proxy["requests"], "created");
    assert_eq!(
        created,
        n(&proxy["requests"], "completed")
            + n(&proxy["requests"], "timed_out")
            + n(&proxy["requests"], "in_flight")
    );
}

#[test]
fn a_pinned_connection_stays_with_its_client_for_the_idle_client_timeout() {
    // Every session pins: each request keeps its connection 5 s after its 10 ms query, so the
    // 10 connections serve 10 requests per 5.01 s, and the rest wait (2 s) and give up.
    let c = run(
        "pinning_fraction = 1\nidle_client_timeout = \"5s\"\nconnection_borrow_timeout = \"2s\"",
        "10ms",
    );
    let proxy = &c["proxy"];
    assert_eq!(n(proxy, "database_connections_max"), 10);
    let served = n(&c["db"], "queries");
    // Ten at once, every 5.01 s over 60 s: 12 rounds.
    assert!((110..=120).contains(&served), "{served}");
    assert!(n(proxy, "pinned").abs_diff(served) <= 1, "{proxy}");
    assert!(n(proxy, "borrow_timeouts") > 400, "{proxy}");
}
