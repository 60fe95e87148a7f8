//! Recorded load: a CSV trace replays exactly, row by row, with its keys, sizes and operations.

use std::path::Path;

use awsim::run::run_quietly;
use awsim::scenario::{RunSettings, Scenario};

const FILE: &str = "scenarios/examples/trace_replay.toml";
const TRACE: &str = "scenarios/examples/traces/shop_10min.csv";

/// (timestamp, operation) of every row.
fn rows() -> Vec<(f64, String)> {
    std::fs::read_to_string(TRACE)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().unwrap(), f[3].to_string())
        })
        .collect()
}

#[test]
fn every_row_arrives_with_its_operation() {
    let scenario = Scenario::load(Path::new(FILE)).unwrap_or_else(|e| panic!("{e}"));
    let s = serde_json::to_value(run_quietly(&scenario, RunSettings::default()).unwrap()).unwrap();
    // The measured window starts at the 30 s warm-up and the run ends at 600 s.
    let measured: Vec<(f64, String)> = rows()
        .into_iter()
        .filter(|r| r.0 >= 30.0 && r.0 < 600.0)
        .collect();
    let writes = measured.iter().filter(|r| r.1 == "write").count() as u64;
    let created = s["workloads"]["recorded"]["requests"]["created"]
        .as_u64()
        .unwrap();
    assert_eq!(created, measured.len() as u64);
    // Each request's recorded operation reaches the table through the fleet's call.
    let table = &s["components"]["orders"];
    let in_flight = table["requests"]["in_flight"].as_u64().unwrap()
        + s["components"]["web"]["requests"]["in_flight"]
            .as_u64()
            .unwrap();
    let table_writes = table["writes"].as_u64().unwrap();
    assert!(
        table_writes <= writes && writes - table_writes <= in_flight,
        "writes: table {table_writes}, trace {writes}"
    );
}

#[test]
fn the_same_trace_and_seed_give_the_same_summary() {
    let scenario = Scenario::load(Path::new(FILE)).unwrap();
    let a = run_quietly(&scenario, RunSettings::default())
        .unwrap()
        .to_json();
    let b = run_quietly(&scenario, RunSettings::default())
        .unwrap()
        .to_json();
    assert_eq!(a, b);
}

#[test]
fn a_missing_trace_is_an_error_before_the_run() {
    let text = std::fs::read_to_string(FILE)
        .unwrap()
        .replace("traces/shop_10min.csv", "traces/nothing.csv");
    let scenario = Scenario::parse(&text, Path::new(FILE)).unwrap();
    let e = scenario
        .build(RunSettings::default())
        .err()
        .expect("build fails");
    let m = e.to_string();
    assert!(m.contains("cannot read the trace"), "{m}");
    assert!(m.contains("workload `recorded`, field `arrival`"), "{m}");
}
