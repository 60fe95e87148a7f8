//! CodeDeploy on an auto scaling group behind an ALB: in place (OneAtATime, HalfAtATime,
//! AllAtOnce) and blue/green, their capacity timelines to the nanosecond, and alarm rollbacks.
//!
//! The scenarios keep the instances idle at every step: arrivals every 100 ms (at 0.1, 0.2, ...
//! s) take 10 ms, and the deployment starts at 300.05 s, so every deregistration drains at
//! once and every step lands between two arrivals. An instance out of traffic is then back
//! `install_time` (30 s) later, registered again, probed at once and every 10 s, healthy at
//! its second pass: 40 s a batch.

use serde_json::Value;

/// The summary of a run of `text` (default seed), as JSON.
fn run_json(text: &str) -> Value {
    let scenario = awsim::scenario::Scenario::parse(text, std::path::Path::new("codedeploy.toml"))
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let s = awsim::run::run_quietly(&scenario, awsim::scenario::RunSettings::default())
        .unwrap_or_else(|e| panic!("{e}"));
    serde_json::to_value(&s).expect("summary serialises")
}

/// `instances` instances behind an ALB at 10 requests/s, with `deploy` (the group's
/// `codedeploy` table).
fn group(instances: u32, deploy: &str) -> String {
    format!(
        r#"
[simulation]
duration = "20m"
[[workload]]
name = "load"
target = "lb"
arrival = {{ process = "constant", rate = "10/s" }}
[[component]]
name = "lb"
kind = "alb"
targets = "web"
deregistration_delay = "5s"
health_check = {{ interval = "10s", healthy_threshold = 2 }}
[[component]]
name = "web"
kind = "asg"
min = {instances}
max = {max}
vcpus = 2
handler = [ {{ compute = "10ms" }} ]
launch_time = "60s"
codedeploy = {deploy}
"#,
        max = 2 * instances
    )
}

/// The deployment's steps as (milliseconds since the start, step, detail).
fn steps(s: &Value) -> Vec<(u64, String, String)> {
    s["deployments"]["web"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                (x["time_s"].as_f64().unwrap() * 1e3).round() as u64,
                x["step"].as_str().unwrap().to_string(),
                x["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The instances in traffic after each step that says (its detail's last figure).
fn timeline(s: &Value) -> Vec<(u64, &'static str, u64)> {
    steps(s)
        .into_iter()
        .filter_map(|(t, step, detail)| {
            let n = detail.strip_suffix(" in traffic")?.rsplit(' ').next()?;
            let step: &'static str = Box::leak(step.into_boxed_str());
            Some((t, step, n.parse().ok()?))
        })
        .collect()
}

#[test]
fn in_place_batches_take_instances_out_of_traffic_as_their_configuration_says() {
    // OneAtATime: ten batches of one, 40 s each, 9 of 10 in traffic throughout.
    let s = run_json(&group(
        10,
        r#"{ at = "300.05s", config = "OneAtATime", install_time = "30s" }"#,
    ));
    let d = &s["deployments"]["web"];
    assert_eq!(d["type"], "CodeDeployDefault.OneAtATime");
    assert_eq!(d["outcome"], "succeeded");
    let mut expected = Vec::new();
    for k in 0..10u64 {
        let t = 300_050 + 40_000 * k;
        expected.push((t, "batch_started", 9));
        expected.push((t + 40_000, "batch_done", 10));
    }
    assert_eq!(timeline(&s), expected);
    assert_eq!(d["ended_s"].as_f64().unwrap(), 700.05);
    assert_eq!(d["capacity_dip"]["least"], 9);
    assert_eq!(d["capacity_dip"]["before"], 10);
    assert_eq!(s["workloads"]["load"]["requests"]["failed"], 0);
    assert_eq!(s["conservation"]["ok"], true);

    // HalfAtATime: two batches of five.
    let s = run_json(&group(
        10,
        r#"{ at = "300.05s", config = "CodeDeployDefault.HalfAtATime", install_time = "30s" }"#,
    ));
    assert_eq!(
        timeline(&s),
        [
            (300_050, "batch_started", 5),
            (340_050, "batch_done", 10),
            (340_050, "batch_started", 5),
            (380_050, "batch_done", 10),
        ]
    );
    assert_eq!(s["deployments"]["web"]["capacity_dip"]["least"], 5);
    // Half of 5 rounded down: batches of 2, 2 and 1.
    let s = run_json(&group(
        5,
        r#"{ at = "300.05s", config = "HalfAtATime", install_time = "30s" }"#,
    ));
    let out: Vec<u64> = timeline(&s)
        .into_iter()
        .filter(|x| x.1 == "batch_started")
        .map(|x| x.2)
        .collect();
    assert_eq!(out, [3, 3, 4]);
    assert_eq!(s["workloads"]["load"]["requests"]["failed"], 0);

    // AllAtOnce: nothing in traffic for 30 s: the ALB has no target and answers 503 to the
    // 300 arrivals from 300.1 to 330.0 s; from 330.05 s it fails open to the targets it is
    // checking, so nothing else fails.
    let s = run_json(&group(
        10,
        r#"{ at = "300.05s", config = "AllAtOnce", install_time = "30s" }"#,
    ));
    assert_eq!(
        timeline(&s),
        [(300_050, "batch_started", 0), (340_050, "batch_done", 10)]
    );
    assert_eq!(s["deployments"]["web"]["capacity_dip"]["least"], 0);
    assert_eq!(s["workloads"]["load"]["requests"]["failed"], 300);
    assert_eq!(s["components"]["lb"]["rejected"], 300);
    assert_eq!(s["conservation"]["ok"], true);
}

#[test]
fn blue_green_launches_replacements_reroutes_and_terminates_the_originals_after_the_wait() {
    // Four replacements launch at 300.05 s, are in service 60 s later, checked at once and
    // healthy 10 s after: traffic moves at 370.05 s; the originals go 10 minutes later.
    let s = run_json(&group(
        4,
        r#"{ at = "300.05s", type = "blue_green", termination_wait = "10m",
             new = { speed = 2.0 } }"#,
    ));
    let d = &s["deployments"]["web"];
    assert_eq!(d["type"], "BlueGreen");
    assert_eq!(d["outcome"], "succeeded");
    assert_eq!(
        timeline(&s),
        [
            (300_050, "replacements_launched", 4),
            (370_050, "replacement_healthy", 5),
            (370_050, "replacement_healthy", 6),
            (370_050, "replacement_healthy", 7),
            (370_050, "rerouted", 4),
            (970_050, "originals_terminated", 4),
        ]
    );
    assert_eq!(d["ended_s"].as_f64().unwrap(), 970.05);
    assert_eq!(d["capacity_dip"]["least"], 4);
    assert_eq!(s["components"]["web"]["instances_max"], 8);
    assert_eq!(s["components"]["web"]["desired_end"], 4);
    // Both versions served, the new one at twice the speed, nothing failed.
    assert!(d["versions"]["new"]["requests"].as_u64().unwrap() > 5_000);
    assert_eq!(s["workloads"]["load"]["requests"]["failed"], 0);
    assert_eq!(s["conservation"]["ok"], true);
}

/// An alarm on the new version's errors: 10 or more in a minute, one period.
const ERROR_ALARM: &str =
    r#"alarms = [ { name = "errors", metric = "Errors", comparison = ">=", threshold = 10 } ]"#;

#[test]
fn a_blue_green_rollback_sends_traffic_back_to_the_originals_while_they_exist() {
    // The new version fails everything. Traffic moves at 370.05 s; the alarm's period
    // [360 s, 420 s) ends with 499 errors (arrivals 370.1 to 419.9 s): ALARM at 420 s. The
    // originals register again, are checked at once and healthy at 430 s; in between the ALB
    // fails open to them, so the errors are exactly those 499.
    let s = run_json(&group(
        4,
        &format!(
            r#"{{ at = "300.05s", type = "blue_green", termination_wait = "10m",
             new = {{ failure_probability = 1.0 }}, {ERROR_ALARM} }}"#
        ),
    ));
    let d = &s["deployments"]["web"];
    assert_eq!(d["outcome"], "rolled_back");
    assert_eq!(d["ended_s"].as_f64().unwrap(), 420.0);
    assert_eq!(d["versions"]["new"]["errors"], 499);
    assert_eq!(s["workloads"]["load"]["requests"]["failed"], 499);
    let tl = timeline(&s);
    assert_eq!(tl[tl.len() - 5], (420_000, "rerouting_back", 0));
    for k in 1..=4 {
        assert_eq!(
            tl[tl.len() - 5 + k],
            (430_000, "original_healthy", k as u64)
        );
    }
    let all = steps(&s);
    assert!(
        all.iter().any(|x| x.1 == "rerouting_back"
            && x.2
                .starts_with("4 originals registered again, 4 replacements terminated")),
        "{all:?}"
    );
    assert_eq!(s["components"]["web"]["desired_end"], 4);
    assert_eq!(s["conservation"]["ok"], true);
}

#[test]
fn an_in_place_rollback_redeploys_the_original_version_in_the_same_batches() {
    // OneAtATime, the new version fails everything: the first instance runs it from 340.05 s
    // (1 in 9 of the requests while the second is out of traffic). The period [300 s, 360 s)
    // ends with about 22 errors: ALARM at 360 s. The second batch finishes with the original
    // version (its scripts end at 370.05 s, healthy at 380.05 s), then the first instance is
    // redeployed: out at 380.05 s, healthy at 420.05 s.
    let s = run_json(&group(
        10,
        &format!(
            r#"{{ at = "300.05s", install_time = "30s", new = {{ failure_probability = 1.0 }},
             {ERROR_ALARM} }}"#
        ),
    ));
    let d = &s["deployments"]["web"];
    assert_eq!(d["outcome"], "rolled_back");
    assert_eq!(d["ended_s"].as_f64().unwrap(), 360.0);
    let tail: Vec<(u64, String)> = steps(&s)
        .into_iter()
        .filter(|x| x.0 >= 360_000)
        .map(|x| (x.0, x.1))
        .collect();
    let expected: Vec<(u64, String)> = [
        (360_000, "alarm"),
        (360_000, "rolled_back"),
        (360_000, "redeploying"),
        (380_050, "batch_done"),
        (380_050, "batch_started"),
        (420_050, "batch_done"),
        (420_050, "redeployed"),
    ]
    .into_iter()
    .map(|(t, s)| (t, s.to_string()))
    .collect();
    assert_eq!(tail, expected);
    // Only the first instance ever ran the new version, from 340.05 to 380.05 s: every error
    // is one of its requests, and none came after.
    let failed = s["workloads"]["load"]["requests"]["failed"]
        .as_u64()
        .unwrap();
    assert!((30..=60).contains(&failed), "{failed}");
    assert_eq!(s["conservation"]["ok"], true);
}

#[test]
fn bad_codedeploy_settings_are_located() {
    let bad = [
        (
            r#"{ at = "5m", config = "TwoAtATime" }"#,
            "codedeploy.config",
            "expected OneAtATime, HalfAtATime or AllAtOnce, found `TwoAtATime`",
        ),
        (
            r#"{ at = "5m", type = "blue_green", config = "OneAtATime" }"#,
            "codedeploy.config",
            "in-place",
        ),
        (
            r#"{ at = "5m", type = "blue_green", termination_wait = "3d" }"#,
            "codedeploy.termination_wait",
            "at most",
        ),
        (
            r#"{ at = "5m", termination_wait = "1h" }"#,
            "codedeploy.termination_wait",
            "blue/green",
        ),
        (
            r#"{ at = "5m", install_time = "7h" }"#,
            "codedeploy.install_time",
            "at most",
        ),
        (
            r#"{ at = "5m", new = { speed = 2.0 } }"#,
            "codedeploy.new.speed",
            "blue/green",
        ),
        (
            r#"{ at = "5m", type = "sideways" }"#,
            "codedeploy",
            "in_place",
        ),
        (
            r#"{ at = "5m", alarms = [ { metric = "Erors", comparison = ">", threshold = 1 } ] }"#,
            "codedeploy.alarms[0]",
            "Errors",
        ),
    ];
    for (table, field, message) in bad {
        let text = group(4, table);
        let e = awsim::scenario::Scenario::parse(&text, std::path::Path::new("codedeploy.toml"))
            .err()
            .unwrap_or_else(|| panic!("{table} accepted"))
            .to_string();
        assert!(e.contains(field), "{table}: {e}");
        assert!(e.contains(message), "{table}: {e}");
        assert!(e.contains("codedeploy.toml:"), "{table}: {e}");
    }
}
