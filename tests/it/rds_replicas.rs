//! RDS read replicas (issue 19): the reader endpoint's shares, replication lag (exact with
//! constant times, growing on a saturated replica), reads that see a write not yet replayed,
//! conservation, and bad input.

use std::path::Path;

use awsim::run::run_quietly;
use awsim::scenario::{RunSettings, Scenario};
use serde_json::Value;

/// Runs `text` (seed 1) and returns the database's report; conservation must hold.
fn db_of(text: &str) -> Value {
    let scenario = Scenario::parse(text, Path::new("case.toml")).unwrap_or_else(|e| panic!("{e}"));
    let s = run_quietly(&scenario, RunSettings::default()).unwrap();
    assert!(s.conservation.ok, "{:?}", s.conservation);
    serde_json::to_value(&s.components["db"]).unwrap()
}

fn n(v: &Value, path: &[&str]) -> f64 {
    let mut v = v;
    for p in path {
        v = &v[*p];
    }
    v.as_f64().unwrap_or_else(|| panic!("{path:?} in {v}"))
}

/// A reads workload and a writes workload, over the same keys, into one database.
fn reads_and_writes(reads: &str, writes: &str, keys: &str, db: &str) -> String {
    format!(
        r#"
[simulation]
duration = "10m"
warmup = "1m"

[[workload]]
name = "reads"
target = "db"
op = "read"
arrival = {reads}
key = {keys}

[[workload]]
name = "writes"
target = "db"
op = "write"
arrival = {writes}
key = {keys}

[[component]]
name = "db"
kind = "rds"
instance_class = "db.m5.large"
{db}
"#
    )
}

#[test]
fn the_reader_endpoint_gives_each_replica_its_turn_and_writes_stay_on_the_primary() {
    // Poisson reads and writes, 3 replicas: round robin per connection gives each replica the
    // same number of reads (±1 for the last turn, ±1 for the warm-up's edge), every write and
    // strong read runs on the primary, and every replica replays every write.
    let text = reads_and_writes(
        r#"{ process = "poisson", rate = "300/s" }"#,
        r#"{ process = "poisson", rate = "20/s" }"#,
        r#"{ dist = "uniform", keys = 1000 }"#,
        r#"read_replicas = 3
query_cpu = { read = { dist = "exponential", mean = "2ms" }, write = "5ms", default = "1ms" }"#,
    );
    let db = db_of(&text);
    let replicas = db["replicas"].as_array().unwrap();
    assert_eq!(replicas.len(), 3);
    let reads: Vec<f64> = replicas.iter().map(|r| n(r, &["reads"])).collect();
    let total: f64 = reads.iter().sum();
    assert_eq!(total, n(&db, &["replica_reads"]));
    for r in &reads {
        assert!((r - total / 3.0).abs() <= 2.0, "{reads:?}");
    }
    // About 300 × 540 s reads in the window; the primary has the writes alone.
    assert!((total / (300.0 * 540.0) - 1.0).abs() < 0.02, "{total}");
    let primary = n(&db, &["primary_queries"]);
    assert!((primary / (20.0 * 600.0) - 1.0).abs() < 0.05, "{primary}");
    let queries: f64 = replicas.iter().map(|r| n(r, &["queries"])).sum();
    assert_eq!(n(&db, &["queries"]), primary + queries);
    // Each replica replayed every write of the window: its lag count is the same.
    let lags: Vec<f64> = replicas
        .iter()
        .map(|r| n(r, &["lag_ms", "count"]))
        .collect();
    assert!(lags.iter().all(|l| *l == lags[0]), "{lags:?}");
    assert_eq!(n(&db, &["replica_lag_ms", "count"]), 3.0 * lags[0]);
    // Replica CPU: its reads and every replayed write (2 vCPUs):
    // (100/s × 2 ms + 20/s × 5 ms) / 2 = 0.15.
    for r in replicas {
        let u = n(r, &["cpu_utilisation"]);
        assert!((u - 0.15).abs() < 0.01, "{u}");
    }
}

#[test]
fn lag_is_the_shipping_delay_plus_the_replay_and_reads_inside_it_are_stale() {
    // One key, a write every second (1 ms of CPU, committed at its end), shipped in 500 ms and
    // replayed in 1 ms on an idle replica: every lag is exactly 501 ms. Reads of the key every
    // 100 ms see the write missing for 501 ms of each second: 5 or 6 of every 10 reads (the
    // phase of the two workloads decides which), so the stale share is between 0.5 and 0.6.
    let text = reads_and_writes(
        r#"{ process = "constant", rate = "10/s" }"#,
        r#"{ process = "constant", rate = "1/s" }"#,
        r#"{ dist = "uniform", keys = 1 }"#,
        r#"read_replicas = 1
replica_lag = "500ms"
query_cpu = { default = "1ms" }"#,
    );
    let db = db_of(&text);
    assert_eq!(n(&db, &["replica_lag_ms", "mean"]), 501.0);
    assert_eq!(n(&db, &["replica_lag_ms", "max"]), 501.0);
    let (stale, reads) = (n(&db, &["stale_reads"]), n(&db, &["replica_reads"]));
    assert!(reads >= 5390.0, "{reads}");
    let share = stale / reads;
    assert!((0.5..=0.6).contains(&share), "{stale} of {reads}");
    // Without replicas nothing is stale: there is no replica figure at all.
    let text = reads_and_writes(
        r#"{ process = "constant", rate = "10/s" }"#,
        r#"{ process = "constant", rate = "1/s" }"#,
        r#"{ dist = "uniform", keys = 1 }"#,
        r#"query_cpu = { default = "1ms" }"#,
    );
    let db = db_of(&text);
    assert!(
        db.get("stale_reads").is_none() && db.get("replicas").is_none(),
        "{db}"
    );
}

#[test]
fn a_saturated_replica_falls_behind() {
    // One replica of 2 vCPUs gets 250 reads/s of 10 ms (125 % of its CPU): requests pile up
    // in the pool and all 901 connections hold a query queued for a vCPU. A write's replay
    // queues behind them: 901 × 10 ms / 2 vCPUs = 4.5 s of lag, against the 10 ms shipping
    // delay of an idle replica. The primary (writes only) keeps up.
    let text = reads_and_writes(
        r#"{ process = "poisson", rate = "250/s" }"#,
        r#"{ process = "poisson", rate = "5/s" }"#,
        r#"{ dist = "uniform", keys = 100 }"#,
        r#"read_replicas = 1
no_free_connection = "wait"
pool_timeout = "1h"
query_cpu = { read = "10ms", write = "2ms", default = "1ms" }"#,
    );
    let db = db_of(&text);
    let replica = &db["replicas"][0];
    assert!(n(replica, &["cpu_utilisation"]) > 0.99, "{replica}");
    assert_eq!(n(replica, &["connections_max"]), 901.0);
    let lag = &db["replica_lag_ms"];
    assert!(
        n(lag, &["mean"]) > 4_000.0 && n(lag, &["max"]) < 4_600.0,
        "{lag}"
    );
    assert!(n(&db, &["cpu_utilisation"]) < 0.01, "{db}");
    // Hundreds of writes land in each 4.5 s window over 100 keys: many reads are stale.
    assert!(
        n(&db, &["stale_reads"]) > 0.1 * n(&db, &["replica_reads"]),
        "{db}"
    );
}

/// The error text for `text`, which must be refused.
fn error_of(text: &str) -> String {
    match Scenario::parse(text, Path::new("case.toml")) {
        Ok(_) => panic!("accepted a bad scenario:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_replica_settings_are_refused_with_their_place() {
    let with = |db: &str| {
        reads_and_writes(
            r#"{ process = "constant", rate = "1/s" }"#,
            r#"{ process = "constant", rate = "1/s" }"#,
            r#"{ dist = "uniform", keys = 1 }"#,
            db,
        )
    };
    let m = error_of(&with(
        "read_replicas = 16\nquery_cpu = { default = \"1ms\" }",
    ));
    assert!(
        m.contains("case.toml:24:") && m.contains("read_replicas") && m.contains("at most 15"),
        "{m}"
    );
    let m = error_of(&with(
        "read_replicas = -1\nquery_cpu = { default = \"1ms\" }",
    ));
    assert!(m.contains("case.toml:24:"), "{m}");
    let m = error_of(&with(
        "replica_lag = \"5ms\"\nquery_cpu = { default = \"1ms\" }",
    ));
    assert!(
        m.contains("case.toml:24:") && m.contains("add read_replicas"),
        "{m}"
    );
    let m = error_of(&with(
        "read_replicas = 2\nreplica_lag = \"fast\"\nquery_cpu = { default = \"1ms\" }",
    ));
    assert!(m.contains("case.toml:25:"), "{m}");
}

#[test]
fn the_read_replicas_lesson_shows_what_its_header_says() {
    let text = std::fs::read_to_string("scenarios/lessons/read_replicas.toml").unwrap();
    let scenario = Scenario::parse(&text, Path::new("read_replicas.toml")).unwrap();
    let s = run_quietly(&scenario, RunSettings::default()).unwrap();
    assert!(s.conservation.ok);
    let c = serde_json::to_value(&s.components).unwrap();
    let (alone, replicas) = (&c["db-alone"], &c["db-replicas"]);
    assert_eq!(n(alone, &["cpu_utilisation"]), 1.0);
    assert_eq!(n(alone, &["connections_max"]), 901.0);
    assert_eq!(n(alone, &["connections_refused"]), 11_676.0);
    assert_eq!(n(alone, &["requests", "created"]), 240_341.0);
    assert_eq!(n(alone, &["latency_ms", "p99"]).round(), 1_906.0);
    for r in replicas["replicas"].as_array().unwrap() {
        assert_eq!(n(r, &["reads"]), 107_890.0);
        assert_eq!((n(r, &["cpu_utilisation"]) * 1000.0).round(), 600.0);
    }
    assert_eq!((n(replicas, &["cpu_utilisation"]) * 1000.0).round(), 151.0);
    assert_eq!(n(replicas, &["connections_refused"]), 0.0);
    assert_eq!((n(replicas, &["latency_ms", "p99"]) * 10.0).round(), 103.0);
    assert_eq!(
        (n(replicas, &["replica_lag_ms", "mean"]) * 10.0).round(),
        169.0
    );
    assert_eq!(n(replicas, &["replica_lag_ms", "max"]).round(), 34.0);
    assert_eq!(n(replicas, &["stale_reads"]), 3_136.0);
    assert_eq!(n(replicas, &["replica_reads"]), 215_780.0);
}
