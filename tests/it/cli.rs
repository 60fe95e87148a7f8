//! The `awsim` binary as a user meets it: exit codes, messages, files written.

use crate::common::{awsim, text};

#[test]
fn check_prints_the_component_graph() {
    let out = awsim(&["check", "scenarios/examples/web_tier.toml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("valid scenario `web_tier`"), "{stdout}");
    assert!(
        stdout.contains("workload shoppers (poisson 120/s) -> web-alb"),
        "{stdout}"
    );
    assert!(
        stdout.contains("web-alb (alb) -> web [targets]"),
        "{stdout}"
    );
}

#[test]
fn an_invalid_scenario_exits_2_with_the_location() {
    let dir = std::env::temp_dir().join(format!("awsim-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.toml");
    std::fs::write(&file, "[simulation]\nduration = \"1m\"\nseeed = 3\n").unwrap();
    for command in ["check", "run"] {
        let out = awsim(&[command, file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{command}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("bad.toml:3:1: "), "{stderr}");
        assert!(stderr.contains("did you mean `seed`?"), "{stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_writes_complete_outputs_and_a_table() {
    let dir = std::env::temp_dir().join(format!("awsim-cli-run-{}", std::process::id()));
    let out = awsim(&[
        "run",
        "scenarios/examples/web_tier.toml",
        "--duration",
        "90s",
        "--seed",
        "5",
        "--interval",
        "10s",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("seed=5"), "{stdout}");
    assert!(stdout.contains("conservation: ok"), "{stdout}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["seed"], 5);
    assert_eq!(summary["duration_s"], 90.0);
    assert_eq!(summary["conservation"]["ok"], true);
    let csv = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert!(
        rows[0].starts_with("time_s,name,kind,arrivals"),
        "{}",
        rows[0]
    );
    // 9 intervals of 10 s, three rows each (workload, alb, fleet).
    assert_eq!(rows.len(), 1 + 9 * 3, "{csv}");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn quiet_prints_nothing_on_success() {
    let dir = std::env::temp_dir().join(format!("awsim-cli-quiet-{}", std::process::id()));
    let out = awsim(&[
        "run",
        "scenarios/examples/web_tier.toml",
        "--duration",
        "70s",
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn help_describes_each_command() {
    let out = awsim(&["run", "--help"]);
    let help = text(&out.stdout);
    for flag in ["--seed", "--duration", "--interval", "--out", "--quiet"] {
        assert!(help.contains(flag), "run --help lacks {flag}:\n{help}");
    }
    let out = awsim(&["check", "--help"]);
    assert!(text(&out.stdout).contains("Validate a scenario"));
    let out = awsim(&["run"]);
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
}

#[test]
fn record_writes_a_trace_that_replays_the_same_arrivals() {
    let dir = std::env::temp_dir().join(format!("awsim-cli-record-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("arrivals.csv");
    let out = awsim(&[
        "record",
        "scenarios/examples/web_tier.toml",
        // Longer than web_tier's warm-up (1m), as every run must be.
        "--duration",
        "70s",
        "--out",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let rows = std::fs::read_to_string(&trace).unwrap().lines().count() - 1;
    assert!(
        stdout.contains(&format!("recorded {rows} arrivals of `web_tier`")),
        "{stdout}"
    );
    // Nothing left under a temporary name.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["arrivals.csv"]);
    // Replayed, the trace makes a run whose table shows the replay.
    let scenario = std::fs::read_to_string("scenarios/examples/web_tier.toml")
        .unwrap()
        .replace(
            "arrival = { process = \"poisson\", rate = \"120/s\" }",
            "arrival = { process = \"trace\", file = \"arrivals.csv\" }",
        );
    let file = dir.join("replay.toml");
    std::fs::write(&file, scenario).unwrap();
    let out = awsim(&[
        "run",
        file.to_str().unwrap(),
        "--duration",
        "70s",
        "--out",
        dir.join("out").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("shoppers: trace of {rows} rows per pass")),
        "{stdout}"
    );
    // A scenario that does not load is exit code 2, and no trace is written.
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[simulation]\nduration = \"1m\"\nseeed = 3\n").unwrap();
    let out = awsim(&[
        "record",
        bad.to_str().unwrap(),
        "--out",
        dir.join("x.csv").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.join("x.csv").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
