//! The benchmark suite: every scenario in `scenarios/bench/` runs whole, and its headline
//! figures must match `scenarios/bench/expected.json`, so that a change in a model that moves
//! results is seen in review rather than discovered by a user.
//!
//! Counts must match exactly (the traces fix the arrivals and the seed fixes the rest);
//! latencies and other measures within 0.5 % (room for a platform's last-bit differences in
//! `ln`/`exp`, none for a model change). When a change moves them on purpose, regenerate the
//! file with `AWSIM_BLESS=1 cargo test --release --test it bench` and explain the new figures in
//! the commit.

use std::path::{Path, PathBuf};

use awsim::run::run_quietly;
use awsim::scenario::{RunSettings, Scenario};
use serde_json::{Map, Value};

const DIR: &str = "scenarios/bench";
const EXPECTED: &str = "scenarios/bench/expected.json";

fn bench_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(DIR)
        .expect("scenarios/bench exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// The figures a benchmark pins: per workload its request counts and latency percentiles,
/// per component its request counts and the model figures that summarise its behaviour.
fn headline(summary: &Value) -> Value {
    let mut out = Map::new();
    for (name, w) in summary["workloads"].as_object().unwrap() {
        out.insert(format!("workload {name} requests"), w["requests"].clone());
        for p in ["p50", "p99", "mean"] {
            out.insert(
                format!("workload {name} latency_ms {p}"),
                w["latency_ms"][p].clone(),
            );
        }
    }
    for (name, c) in summary["components"].as_object().unwrap() {
        out.insert(format!("component {name} requests"), c["requests"].clone());
        for figure in [
            "cold_starts",
            "throttles",
            "concurrency_max",
            "instances_max",
            "instance_hours",
            "billed_gb_seconds",
            "consumed_rcu",
        ] {
            if let Some(v) = c.get(figure) {
                out.insert(format!("component {name} {figure}"), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// Differences between `got` and `want`: exact for integers, 0.5 % for other numbers.
fn differences(path: &str, got: &Value, want: &Value, out: &mut Vec<String>) {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for (k, wv) in w {
                match g.get(k) {
                    Some(gv) => differences(&format!("{path}.{k}"), gv, wv, out),
                    None => out.push(format!("{path}.{k}: missing (expected {wv})")),
                }
            }
            for k in g.keys().filter(|k| !w.contains_key(*k)) {
                out.push(format!("{path}.{k}: new figure {}", g[k]));
            }
        }
        (Value::Number(g), Value::Number(w)) if g.is_u64() && w.is_u64() && g != w => {
            out.push(format!("{path}: {g}, expected {w}"));
        }
        (Value::Number(g), Value::Number(w)) if g.is_u64() && w.is_u64() => {}
        (Value::Number(g), Value::Number(w)) => {
            let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
            if (g - w).abs() > 0.005 * w.abs().max(1e-9) {
                out.push(format!("{path}: {g}, expected {w}"));
            }
        }
        _ if got != want => out.push(format!("{path}: {got}, expected {want}")),
        _ => {}
    }
}

#[test]
fn every_benchmark_reproduces_its_expected_headline_figures() {
    let files = bench_files();
    assert!(files.len() >= 3, "benchmarks: {files:?}");
    let mut got = Map::new();
    for file in &files {
        let scenario = Scenario::load(file).unwrap_or_else(|e| panic!("{e}"));
        let summary = run_quietly(&scenario, RunSettings::default())
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let name = file.file_stem().unwrap().to_string_lossy().to_string();
        got.insert(name, headline(&serde_json::to_value(&summary).unwrap()));
    }
    let got = Value::Object(got);
    if std::env::var_os("AWSIM_BLESS").is_some() {
        let mut text = serde_json::to_string_pretty(&got).unwrap();
        text.push('\n');
        std::fs::write(EXPECTED, text).unwrap();
        return;
    }
    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(EXPECTED))
            .expect("scenarios/bench/expected.json (AWSIM_BLESS=1 writes it)"),
    )
    .unwrap();
    let mut diffs = Vec::new();
    differences("", &got, &want, &mut diffs);
    assert!(
        diffs.is_empty(),
        "benchmark figures moved (if on purpose, rerun with AWSIM_BLESS=1 and explain why):\n  {}",
        diffs.join("\n  ")
    );
}

#[test]
fn the_benchmark_traces_are_what_their_recipes_record() {
    // Each trace is its recipe's arrivals frozen by `awsim record`: regenerating one gives the
    // same bytes (so the committed traces can be trusted and rebuilt).
    let dir = std::env::temp_dir().join(format!("awsim-bench-recipes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for recipe in ["daily_bursts", "flash_crowd", "long_tail_keys"] {
        let scenario =
            Scenario::load(&Path::new(DIR).join(format!("recipes/{recipe}.toml"))).unwrap();
        let out = dir.join(format!("{recipe}.csv"));
        awsim::run::record(&scenario, RunSettings::default(), &out, |_| {}).unwrap();
        let committed = std::fs::read(Path::new(DIR).join(format!("traces/{recipe}.csv"))).unwrap();
        assert!(
            std::fs::read(&out).unwrap() == committed,
            "traces/{recipe}.csv differs from what its recipe records; run scenarios/bench/make_traces.sh"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
