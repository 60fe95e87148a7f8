//! Same scenario + same seed = byte-identical outputs; another seed = different outputs; the
//! random streams of one component do not depend on the others.

use std::path::Path;
use std::process::Command;

use awsim::run::run_quietly;
use awsim::scenario::{RunSettings, Scenario};

const WEB: &str = "scenarios/examples/web_tier.toml";

fn settings(seed: u64) -> RunSettings {
    RunSettings {
        seed: Some(seed),
        duration: Some(awsim::units::parse_duration("2m").unwrap()),
        interval: None,
    }
}

fn summary_json(text: &str, seed: u64) -> String {
    let scenario = Scenario::parse(text, Path::new("inline.toml")).expect("valid scenario");
    run_quietly(&scenario, settings(seed))
        .expect("run")
        .to_json()
}

fn run_cli(out: &Path, seed: &str) {
    let status = Command::new(env!("CARGO_BIN_EXE_awsim"))
        .args([
            "run",
            WEB,
            "--quiet",
            "--duration",
            "2m",
            "--seed",
            seed,
            "--out",
        ])
        .arg(out)
        .status()
        .expect("awsim runs");
    assert!(status.success());
}

#[test]
fn same_seed_gives_byte_identical_files_another_seed_does_not() {
    let dir = std::env::temp_dir().join(format!("awsim-determinism-{}", std::process::id()));
    let (a, b, c) = (dir.join("a"), dir.join("b"), dir.join("c"));
    run_cli(&a, "7");
    run_cli(&b, "7");
    run_cli(&c, "8");
    for file in ["summary.json", "timeseries.csv"] {
        let bytes = |d: &Path| std::fs::read(d.join(file)).expect("output written");
        assert_eq!(
            bytes(&a),
            bytes(&b),
            "{file} differs between two runs with seed 7"
        );
        assert_ne!(bytes(&a), bytes(&c), "{file} is the same for seeds 7 and 8");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn runs_on_several_threads_match_the_sequential_run() {
    let text = std::fs::read_to_string(WEB).unwrap();
    let sequential: Vec<String> = (1..=4).map(|seed| summary_json(&text, seed)).collect();
    let parallel: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (1..=4)
            .map(|seed| {
                let text = &text;
                s.spawn(move || summary_json(text, seed))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(sequential, parallel);
}

#[test]
fn adding_a_component_does_not_change_another_workloads_randomness() {
    let one = r#"
[simulation]
duration = "1m"
[[workload]]
name = "a"
target = "fleet-a"
arrival = { process = "poisson", rate = "50/s" }
[[component]]
name = "fleet-a"
kind = "ec2_fleet"
instances = 2
handler = [ { compute = { dist = "exponential", mean = "20ms" } } ]
"#;
    let two = format!(
        "{one}{}",
        r#"
[[workload]]
name = "b"
target = "fleet-b"
arrival = { process = "poisson", rate = "80/s" }
[[component]]
name = "fleet-b"
kind = "ec2_fleet"
instances = 1
handler = [ { compute = { dist = "exponential", mean = "5ms" } } ]
"#
    );
    let a_alone: serde_json::Value = serde_json::from_str(&summary_json(one, 3)).unwrap();
    let a_with_b: serde_json::Value = serde_json::from_str(&summary_json(&two, 3)).unwrap();
    assert_eq!(a_alone["workloads"]["a"], a_with_b["workloads"]["a"]);
    assert_eq!(
        a_alone["components"]["fleet-a"],
        a_with_b["components"]["fleet-a"]
    );
}

/// A sink that keeps nothing but still asks for rows, so the engine samples.
struct Sampling;

impl awsim::metrics::SeriesSink for Sampling {
    fn row(
        &mut self,
        _time: awsim::engine::time::SimTime,
        _name: &str,
        _kind: &str,
        _row: &awsim::metrics::SeriesRow,
    ) {
    }
}

#[test]
fn the_summary_does_not_depend_on_whether_time_series_are_taken() {
    for file in [
        "scenarios/examples/api_function.toml",
        "scenarios/examples/web_tier_autoscaling.toml",
        "scenarios/examples/order_pipeline.toml",
    ] {
        let scenario = Scenario::load(Path::new(file)).unwrap_or_else(|e| panic!("{e}"));
        let settings = RunSettings {
            duration: Some(awsim::units::parse_duration("20m").unwrap()),
            ..RunSettings::default()
        };
        let quiet = run_quietly(&scenario, settings).expect("run").to_json();
        let sampled = awsim::run::run(&scenario, settings, &mut Sampling, |_| {})
            .expect("run")
            .to_json();
        assert_eq!(quiet, sampled, "{file}: sampling changed the summary");
    }
}
