//! The worked example end to end: an echo wired in a scenario, validated, run, summarised,
//! written to `timeseries.csv`, plotted, reported and swept, with nothing outside its folder
//! but its registry line.

use std::path::PathBuf;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::metrics::NoSeries;
use crate::output::timeseries::CsvSeries;
use crate::output::{plots, report, table};
use crate::run::run;
use crate::scenario::{RunSettings, Scenario};

const SCENARIO: &str = r#"
[simulation]
duration = "60s"
seed = 7

[[workload]]
name = "callers"
target = "mirror"
arrival = { process = "poisson", rate = "100/s" }

[[component]]
name = "mirror"
kind = "echo"
latency = "20ms"
"#;

/// A fresh folder of this test process.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("awsim-echo-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

#[test]
fn an_echo_runs_and_every_output_shows_it() {
    let dir = scratch("run");
    let scenario =
        Scenario::parse(SCENARIO, &dir.join("echo.toml")).unwrap_or_else(|e| panic!("{e}"));
    let mut series =
        CsvSeries::create(&dir.join("timeseries.csv"), &scenario.series_kinds()).unwrap();
    let summary = run(&scenario, RunSettings::default(), &mut series, |_| {}).unwrap();
    let reduced = series.finish().unwrap();

    // The model: every answer takes exactly the latency, and what went in came out.
    let mirror = &summary.components["mirror"];
    assert_eq!(mirror["kind"], "echo");
    assert!((mirror["latency_ms"]["mean"].as_f64().unwrap() - 20.0).abs() < 1e-9);
    assert_eq!(mirror["latency_ms"]["max"].as_f64().unwrap(), 20.0);
    let requests = &mirror["requests"];
    let created = requests["created"].as_u64().unwrap();
    assert!(created > 5_000, "{requests}");
    assert_eq!(
        mirror["answered"].as_u64().unwrap(),
        requests["completed"].as_u64().unwrap()
    );
    assert_eq!(
        created,
        requests["completed"].as_u64().unwrap() + requests["in_flight"].as_u64().unwrap()
    );
    assert!(summary.conservation.ok);

    // The terminal table carries its note.
    assert!(table::render(&summary).contains("mirror: answered "));

    // timeseries.csv has its column, filled on its rows only.
    let csv = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = header
        .iter()
        .position(|c| *c == "echo_waiting")
        .expect("its column");
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        match fields[1] {
            "mirror" => assert!(fields[column].parse::<f64>().is_ok(), "{line}"),
            _ => assert_eq!(fields[column], "", "{line}"),
        }
    }

    // Its plot is drawn, and the report shows it with its finding.
    let files = plots::write_run_plots(&dir, &summary, &reduced).unwrap();
    assert!(
        files.iter().any(|f| f.ends_with("echo_mirror.svg")),
        "{files:?}"
    );
    let page = report::write_report(&dir, &scenario, &summary, &files).unwrap();
    let html = std::fs::read_to_string(page).unwrap();
    assert!(html.contains("echo_mirror.svg"));
    assert!(html.contains("echoed "));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_echo_is_swept_by_its_fields_and_headline_figures() {
    let dir = scratch("sweep");
    let file = dir.join("echo.toml");
    std::fs::write(&file, SCENARIO).unwrap();
    let out = dir.join("out");
    let cli = Cli::try_parse_from([
        "awsim",
        "sweep",
        file.to_str().unwrap(),
        "--set",
        "mirror.latency=10ms,40ms",
        "-r",
        "2",
        "--duration",
        "20s",
        "-q",
        "--out",
        out.to_str().unwrap(),
    ])
    .unwrap();
    let Command::Sweep(args) = cli.command else {
        panic!("a sweep")
    };
    crate::sweep::run_sweep(&args).unwrap_or_else(|e| panic!("{e}"));
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.contains("mirror.answered.mean"), "{header}");
    assert_eq!(csv.lines().count(), 3, "{csv}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_echo_gets_a_located_error() {
    let text = SCENARIO.replace("latency = \"20ms\"", "latency = \"-5ms\"");
    let error = Scenario::parse(&text, std::path::Path::new("echo.toml")).unwrap_err();
    assert!(error.to_string().starts_with("echo.toml:14:11"), "{error}");

    // Its name is a kind the loader knows, and suggests.
    let text = SCENARIO.replace("kind = \"echo\"", "kind = \"ecko\"");
    let error = Scenario::parse(&text, std::path::Path::new("echo.toml")).unwrap_err();
    assert!(
        error.to_string().contains("did you mean `echo`?"),
        "{error}"
    );

    // A run without time series gives the same figures.
    let scenario = Scenario::parse(SCENARIO, std::path::Path::new("echo.toml")).unwrap();
    let quiet = run(&scenario, RunSettings::default(), &mut NoSeries, |_| {}).unwrap();
    assert!(quiet.conservation.ok);
}
