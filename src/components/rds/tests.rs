//! Exact checks of the connection rules with evenly spaced arrivals and constant query times.

use std::path::Path;

use crate::run::run_quietly;
use crate::scenario::{RunSettings, Scenario};

fn run(db: &str) -> serde_json::Value {
    let text = format!(
        r#"
[simulation]
duration = "60s"

[[workload]]
name = "clients"
target = "db"
arrival = {{ process = "constant", rate = "10/s" }}

[[component]]
name = "db"
kind = "rds"
instance_class = "db.m5.large"
{db}
"#
    );
    let scenario = Scenario::parse(&text, Path::new("rds.toml")).unwrap_or_else(|e| panic!("{e}"));
    let summary = run_quietly(&scenario, RunSettings::default()).unwrap();
    assert!(summary.conservation.ok);
    serde_json::to_value(&summary.components["db"]).unwrap()
}

fn n(v: &serde_json::Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"))
}

#[test]
fn with_two_connections_held_250ms_every_third_request_is_refused() {
    // Arrivals 100 ms apart each hold a connection for 250 ms: two are busy when every third
    // arrives, and that one is refused; the others find one free.
    let db = run("max_connections = 2\nquery_cpu = { default = \"250ms\" }");
    let created = n(&db["requests"], "created");
    let refused = n(&db, "connections_refused");
    assert!(created >= 590, "{db}");
    assert!(refused.abs_diff(created / 3) <= 1, "{refused} of {created}");
    assert_eq!(n(&db["requests"], "failed"), refused);
    assert_eq!(n(&db, "connections_max"), 2);
    assert_eq!(n(&db, "max_connections"), 2);
}

#[test]
fn waiting_requests_queue_for_a_connection_and_give_up_at_the_pool_timeout() {
    // One connection, 150 ms per query, a request every 100 ms: the backlog grows by one every
    // 300 ms and each waits 50 ms longer than the last; past 1 s of waiting they give up.
    let db = run("max_connections = 1\nquery_cpu = { default = \"150ms\" }\n\
         no_free_connection = \"wait\"\npool_timeout = \"1s\"");
    assert_eq!(n(&db, "connections_refused"), 0);
    assert!(n(&db, "pool_timeouts") > 100, "{db}");
    // The connection is never idle once the backlog has built: 60 s / 150 ms queries at most.
    assert!(n(&db, "queries") <= 400 && n(&db, "queries") >= 395, "{db}");
    assert!(db["connection_wait_ms"]["max"].as_f64().unwrap() <= 1000.0);
}

#[test]
fn max_connections_defaults_to_the_engine_formula() {
    let db = run("engine = \"mysql\"\nquery_cpu = { default = \"1ms\" }");
    assert_eq!(n(&db, "max_connections"), 682); // 8 GiB / 12 582 880 bytes
    let db = run("query_cpu = { default = \"1ms\" }");
    assert_eq!(n(&db, "max_connections"), 901); // 8 GiB / 9 531 392 bytes
}
