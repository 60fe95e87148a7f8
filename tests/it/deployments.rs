//! Deployments end to end through the `awsim` binary: the lesson on canaries, deployments.csv,
//! the terminal line and summary.json's `deployments`.

use serde_json::Value;

use crate::common::{awsim, text};

const LESSON: &str = "scenarios/lessons/canary_catches_a_bad_release.toml";

#[test]
fn a_canary_shows_a_bad_release_to_far_fewer_users_than_all_at_once() {
    let dir = std::env::temp_dir().join(format!("awsim-it-canary-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = awsim(&["run", LESSON, "--out", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let failed = |w: &str| {
        summary["workloads"][w]["requests"]["failed"]
            .as_u64()
            .unwrap()
    };
    let (all, canary) = (failed("users-all-at-once"), failed("users-canary"));
    // All at once: version 2 serves everyone for the last 20 minutes, 5 % of 120 000 fail
    // (binomial sd 75: 5 sd).
    assert!((all as f64 - 6_000.0).abs() < 375.0, "{all}");
    // Canary: one minute of 10 % of the traffic at 5 %: about 30, and the lesson's claim.
    assert!((10..=60).contains(&canary), "{canary}");
    assert!(all > 100 * canary, "{all} against {canary}");
    let d = &summary["deployments"];
    assert_eq!(d["api-all-at-once"]["outcome"], "succeeded");
    assert_eq!(d["api-all-at-once"]["duration_s"], 0.0);
    assert_eq!(d["api-canary"]["outcome"], "rolled_back");
    assert_eq!(d["api-canary"]["ended_s"], 1260.0);
    assert_eq!(
        d["api-canary"]["versions"]["new"]["errors"].as_u64(),
        Some(canary)
    );
    // deployments.csv lists every step of both, in time order; the terminal one line each.
    let csv = std::fs::read_to_string(dir.join("deployments.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "time_s,component,step,new_version_percent,detail");
    assert_eq!(lines.len(), 8, "{csv}");
    assert_eq!(
        lines[7],
        "1260,api-canary,rolled_back,0,alarm error-rate in ALARM"
    );
    assert_eq!(printed.matches("deployment of ").count(), 2, "{printed}");
    assert!(
        printed
            .contains("deployment of api-canary (Canary10Percent5Minutes, at 1200 s): rolled_back")
    );
    assert!(printed.contains("deployments.csv"));
    let report = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(report.contains("id=\"deployments\""));
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Instance refresh and rolling updates on an `asg`
// ---------------------------------------------------------------------------------------------

/// The summary of a run of `text` (default seed), as JSON.
fn run_json(text: &str) -> Value {
    let scenario = awsim::scenario::Scenario::parse(text, std::path::Path::new("deploy.toml"))
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let s = awsim::run::run_quietly(&scenario, awsim::scenario::RunSettings::default())
        .unwrap_or_else(|e| panic!("{e}"));
    serde_json::to_value(&s).expect("summary serialises")
}

/// Ten instances behind an ALB at 100 requests/s (a quarter of their workers busy), launches
/// of exactly 60 s and a warmup of 120 s, with `replacement` (a line of the group's table).
fn group(replacement: &str) -> String {
    format!(
        r#"
[simulation]
duration = "50m"
[[workload]]
name = "load"
target = "lb"
arrival = {{ process = "constant", rate = "100/s" }}
[[component]]
name = "lb"
kind = "alb"
targets = "web"
deregistration_delay = "5s"
health_check = {{ interval = "10s", healthy_threshold = 2 }}
[[component]]
name = "web"
kind = "asg"
min = 10
max = 20
vcpus = 2
handler = [ {{ compute = "50ms" }} ]
launch_time = "60s"
instance_warmup = "120s"
{replacement}
"#
    )
}

/// The steps of the group's deployment named `step`, as (time, percent, detail).
fn steps_named(s: &Value, step: &str) -> Vec<(f64, u64, String)> {
    s["deployments"]["web"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["step"] == step)
        .map(|x| {
            (
                x["time_s"].as_f64().unwrap(),
                x["new_version_percent"].as_u64().unwrap(),
                x["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn capacity(s: &Value) -> (u64, u64) {
    let dip = &s["deployments"]["web"]["capacity_dip"];
    (
        dip["before"].as_u64().unwrap(),
        dip["least"].as_u64().unwrap(),
    )
}

#[test]
fn an_instance_refresh_never_goes_below_its_minimum_healthy_percentage() {
    // 90 % of 10 is 9: one instance at a time. Each batch: the old instance is taken out,
    // its replacement launches at once, is in service 60 s later and warm 120 s after that:
    // 180 s a batch, ten batches from 300 s.
    let s = run_json(&group(
        r#"instance_refresh = { at = "5m", min_healthy_percentage = 90,
                    new = { handler = [ { compute = "40ms" } ] } }"#,
    ));
    let d = &s["deployments"]["web"];
    assert_eq!(d["type"], "InstanceRefresh");
    assert_eq!(d["outcome"], "succeeded");
    assert_eq!(d["started_s"], 300.0);
    assert_eq!(d["ended_s"], 300.0 + 10.0 * 180.0);
    assert_eq!(capacity(&s), (10, 9));
    let batches = steps_named(&s, "batch_started");
    assert_eq!(batches.len(), 10);
    for (k, (t, pct, detail)) in batches.iter().enumerate() {
        assert_eq!(*t, 300.0 + 180.0 * k as f64);
        assert_eq!(*pct, 10 * k as u64);
        assert_eq!(detail, "replacing 1: launching 0 first, terminating 1");
    }
    // Both versions served during it, and nothing was lost.
    assert!(d["versions"]["old"]["requests"].as_u64().unwrap() > 0);
    assert!(d["versions"]["new"]["requests"].as_u64().unwrap() > 0);
    assert_eq!(d["versions"]["new"]["errors"], 0);
    assert_eq!(d["cold_starts_caused"], 10);
    assert_eq!(s["workloads"]["load"]["requests"]["failed"], 0);
    assert_eq!(s["conservation"]["ok"], true);
    // Fifty percent: five at a time, two batches.
    let s = run_json(&group(
        r#"instance_refresh = { at = "5m", min_healthy_percentage = 50 }"#,
    ));
    // Without a new version and with skip matching (the default) nothing needs replacing.
    assert_eq!(s["deployments"]["web"]["ended_s"], 300.0);
    assert_eq!(capacity(&s), (10, 10));
    let s = run_json(&group(
        r#"instance_refresh = { at = "5m", min_healthy_percentage = 50, skip_matching = false }"#,
    ));
    assert_eq!(s["deployments"]["web"]["ended_s"], 300.0 + 2.0 * 180.0);
    assert_eq!(capacity(&s), (10, 5));
    let sizes: Vec<String> = steps_named(&s, "batch_started")
        .into_iter()
        .map(|b| b.2)
        .collect();
    assert_eq!(sizes, ["replacing 5: launching 0 first, terminating 5"; 2]);
}

#[test]
fn above_100_percent_an_instance_refresh_launches_before_it_terminates() {
    // Minimum 100 %, maximum 110 %: one new instance first, the old one goes once it is warm;
    // capacity never dips.
    let s = run_json(&group(
        r#"instance_refresh = { at = "5m", min_healthy_percentage = 100, max_healthy_percentage = 110,
                    new = { speed = 2.0 } }"#,
    ));
    assert_eq!(capacity(&s), (10, 10));
    assert_eq!(s["deployments"]["web"]["ended_s"], 300.0 + 10.0 * 180.0);
    let b = steps_named(&s, "batch_started");
    assert_eq!(b[0].2, "replacing 1: launching 1 first, terminating 0");
    assert_eq!(s["components"]["web"]["instances_max"], 11);
    // At 100 % and 100 % AWS replaces one at a time, dipping by one.
    let s = run_json(&group(
        r#"instance_refresh = { at = "5m", min_healthy_percentage = 100, skip_matching = false }"#,
    ));
    assert_eq!(capacity(&s), (10, 9));
}

#[test]
fn an_instance_refresh_pauses_at_its_checkpoints() {
    // Half, then a 10 minute pause, then the rest.
    let s = run_json(&group(
        r#"instance_refresh = { at = "5m", min_healthy_percentage = 50, skip_matching = false,
                    checkpoint_percentages = [50, 100], checkpoint_delay = "10m" }"#,
    ));
    let checkpoint = steps_named(&s, "checkpoint");
    assert_eq!(checkpoint.len(), 1);
    assert_eq!((checkpoint[0].0, checkpoint[0].1), (480.0, 50));
    assert_eq!(steps_named(&s, "checkpoint_over")[0].0, 1080.0);
    assert_eq!(s["deployments"]["web"]["ended_s"], 1260.0);
}

#[test]
fn a_rolling_update_replaces_exact_batches() {
    // At most 3 at a time keeping 8 in service: CloudFormation raises the group to 11, so a
    // batch launches 1 first and takes 2 out; after each batch's instances are in service
    // (60 s) and the 60 s pause, the one launched first replaces a third old instance.
    // Batches of 3, 3, 3 and 1, 120 s each.
    let s = run_json(&group(
        r#"rolling_update = { at = "5m", min_instances_in_service = 8, max_batch_size = 3,
                  pause_time = "60s", new = { failure_probability = 1.0 } }"#,
    ));
    let d = &s["deployments"]["web"];
    assert_eq!(d["type"], "RollingUpdate");
    let b: Vec<(f64, String)> = steps_named(&s, "batch_started")
        .into_iter()
        .map(|b| (b.0, b.2))
        .collect();
    assert_eq!(
        b,
        [
            (
                300.0,
                "replacing 3: launching 1 first, terminating 2".to_string()
            ),
            (
                420.0,
                "replacing 3: launching 1 first, terminating 2".to_string()
            ),
            (
                540.0,
                "replacing 3: launching 1 first, terminating 2".to_string()
            ),
            (
                660.0,
                "replacing 1: launching 1 first, terminating 0".to_string()
            ),
        ]
    );
    assert_eq!(d["ended_s"], 780.0);
    assert_eq!(capacity(&s), (10, 8));
    // The new version fails everything it serves: its errors are its requests, the old
    // version's none; the workload sees exactly those.
    let new = &d["versions"]["new"];
    assert!(new["requests"].as_u64().unwrap() > 0);
    assert_eq!(new["errors"], new["requests"]);
    assert_eq!(d["versions"]["old"]["errors"], 0);
    assert_eq!(s["conservation"]["ok"], true);
}

#[test]
fn bad_replacement_settings_are_located() {
    let bad = [
        (
            r#"instance_refresh = { at = "5m", min_healthy_percentage = 120 }"#,
            "instance_refresh.min_healthy_percentage",
            "must be between 0 and 100, found 120",
        ),
        (
            r#"instance_refresh = { at = "5m", max_healthy_percentage = 250 }"#,
            "instance_refresh.max_healthy_percentage",
            "must be between 100 and 200, found 250",
        ),
        (
            r#"instance_refresh = { at = "5m", min_healthy_percentage = 20, max_healthy_percentage = 150 }"#,
            "instance_refresh.max_healthy_percentage",
            "by at most 100",
        ),
        (
            r#"instance_refresh = { at = "5m", checkpoint_percentages = [50, 20] }"#,
            "instance_refresh.checkpoint_percentages",
            "increasing",
        ),
        (
            r#"rolling_update = { at = "5m", min_instances_in_service = 20 }"#,
            "rolling_update.min_instances_in_service",
            "less than the group's max (20)",
        ),
        (
            r#"rolling_update = { at = "5m", max_batch_size = 0 }"#,
            "rolling_update.max_batch_size",
            "at least 1",
        ),
        (
            r#"rolling_update = { at = "5m", new = { failure_probability = 2.0 } }"#,
            "rolling_update.new.failure_probability",
            "between 0 and 1",
        ),
        (
            "instance_refresh = { at = \"5m\" }\nrolling_update = { at = \"6m\" }",
            "rolling_update",
            "not both",
        ),
    ];
    for (line, field, message) in bad {
        let text = group(line);
        let e = awsim::scenario::Scenario::parse(&text, std::path::Path::new("deploy.toml"))
            .err()
            .unwrap_or_else(|| panic!("{line} accepted"))
            .to_string();
        assert!(e.contains(field), "{line}: {e}");
        assert!(e.contains(message), "{line}: {e}");
        assert!(e.contains("deploy.toml:"), "{line}: {e}");
    }
}

const REFRESH_LESSON: &str = "scenarios/lessons/instance_refresh_under_load.toml";

#[test]
fn the_instance_refresh_lesson_shows_what_its_header_says() {
    let text = std::fs::read_to_string(REFRESH_LESSON).unwrap();
    let s = run_json(&text);
    let d = |g: &str| s["deployments"][g].clone();
    let (d90, d50) = (d("web-90"), d("web-50"));
    for d in [&d90, &d50] {
        assert_eq!(d["outcome"], "succeeded");
        assert_eq!(d["started_s"], 600.0);
    }
    // 90 %: ten batches of one, 1 870 s, at least 9 of 10 in service, no error, p99 331 / 329.
    assert_eq!(d90["duration_s"].as_f64().unwrap().round(), 1870.0);
    assert_eq!(d90["capacity_dip"]["least"], 9);
    assert_eq!(d90["capacity_dip"]["before"], 10);
    let batches = |d: &Value, n: &str| {
        d["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["step"] == "batch_started")
            .filter(|x| x["detail"].as_str().unwrap().starts_with(n))
            .count()
    };
    assert_eq!(batches(&d90, "replacing 1:"), 10);
    assert_eq!(s["workloads"]["users-90"]["requests"]["failed"], 0);
    let p99 = |d: &Value, v: &str| d["versions"][v]["p99_ms"].as_f64().unwrap().round();
    assert_eq!((p99(&d90, "old"), p99(&d90, "new")), (331.0, 329.0));
    // 50 %: two batches of five, 393 s, 5 of 10 in service, 5 016 requests answered 503,
    // p99 4 243 ms during the refresh.
    assert_eq!(d50["duration_s"].as_f64().unwrap().round(), 393.0);
    assert_eq!(d50["capacity_dip"]["least"], 5);
    assert_eq!(batches(&d50, "replacing 5:"), 2);
    assert_eq!(s["workloads"]["users-50"]["requests"]["failed"], 5016);
    assert_eq!(s["components"]["lb-50"]["rejected"], 5016);
    assert_eq!(p99(&d50, "old"), 4243.0);
    assert_eq!(s["conservation"]["ok"], true);
    // The header says the same.
    for claim in [
        "1 870 s",
        "393 s",
        "5 016 requests",
        "4 243 ms",
        "9 of 10",
        "5 of 10",
    ] {
        assert!(text.contains(claim), "{claim}");
    }
}
