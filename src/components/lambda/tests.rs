//! Deployments of a function, run end to end: the shift schedule in a run, the alarm rollback
//! at the evaluation its periods give, hooks that stop or roll back a deployment, cold starts
//! of the new version, conservation throughout, and located errors for bad `deploy` tables.

use std::path::Path;

use serde_json::Value;

use crate::run::run_quietly;
use crate::run::summary::Summary;
use crate::scenario::{RunSettings, Scenario};

/// A function behind a constant 100/s workload for `duration`, with `deploy` as its `deploy`
/// table and `extra` appended (hook functions).
fn scenario(duration: &str, deploy: &str, extra: &str) -> String {
    format!(
        r#"
[simulation]
duration = "{duration}"
seed = 11

[[workload]]
name = "users"
target = "api"
arrival = {{ process = "constant", rate = "100/s" }}

[[component]]
name = "api"
kind = "lambda"
memory_mb = 1769
handler = [ {{ compute = "20ms" }} ]
deploy = {deploy}
{extra}
"#
    )
}

fn run_text(text: &str) -> Summary {
    let s = Scenario::parse(text, Path::new("deploy.toml")).unwrap_or_else(|e| panic!("{e}"));
    run_quietly(&s, RunSettings::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn deployment(summary: &Summary) -> &Value {
    &summary.deployments.as_ref().expect("a deployment")["api"]
}

/// The (time in ns, step, new version's percentage) of every step.
fn steps(d: &Value) -> Vec<(u64, String, u64)> {
    d["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                (s["time_s"].as_f64().unwrap() * 1e9).round() as u64,
                s["step"].as_str().unwrap().to_string(),
                s["new_version_percent"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// Conservation at the function and the workload, and the versions' invocations adding up.
fn assert_conserved(summary: &Summary) {
    assert!(summary.conservation.ok, "{:?}", summary.conservation);
    let api = &summary.components["api"];
    let versions = &api["versions"];
    assert_eq!(
        n(&versions["old"]["invocations"]) + n(&versions["new"]["invocations"]),
        n(&api["invocations"])
    );
    assert_eq!(
        n(&versions["old"]["errors"]) + n(&versions["new"]["errors"]),
        n(&api["errors"])
    );
    let r = &summary.workloads["users"]["requests"];
    assert_eq!(
        n(&r["created"]),
        n(&r["completed"])
            + n(&r["failed"])
            + n(&r["throttled"])
            + n(&r["timed_out"])
            + n(&r["dropped"])
            + n(&r["in_flight"])
    );
}

const SECOND: u64 = 1_000_000_000;

#[test]
fn a_linear_deployment_shifts_on_schedule_to_the_nanosecond_in_a_run() {
    // 2 minutes and 1 ns: off every period boundary, so the times are the schedule's alone.
    let at = 120 * SECOND + 1;
    let text = scenario(
        "15m",
        r#"{ at = "120000000001ns", type = "Linear10PercentEvery1Minute" }"#,
        "",
    );
    let summary = run_text(&text);
    let d = deployment(&summary);
    let mut expected = vec![(at, "started".to_string(), 0)];
    for k in 0..10u64 {
        expected.push((at + k * 60 * SECOND, "shifted".into(), 10 * (k + 1)));
    }
    expected.push((at + 540 * SECOND, "completed".into(), 100));
    assert_eq!(steps(d), expected);
    assert_eq!(d["outcome"], "succeeded");
    assert_eq!(d["duration_s"].as_f64().unwrap(), 540.0);
    // Every request during the deployment went to one version or the other, and the new one's
    // share shows: 10 % to 90 %, a minute each, 50 % on average.
    let old = n(&d["versions"]["old"]["requests"]);
    let new = n(&d["versions"]["new"]["requests"]);
    assert_eq!(old + new, 54_000);
    let share = new as f64 / 54_000.0;
    // Binomial sd of the share is at most 0.5 / sqrt(54000) = 0.0022: 5 sd.
    assert!((share - 0.5).abs() < 0.011, "{share}");
    // Once complete, the new version serves everything: 100/s for the last 240 s (the
    // arrival process may or may not put one at the run's last instant).
    let api = &summary.components["api"];
    let after = n(&api["versions"]["new"]["invocations"]) - new;
    assert!((23_998..=24_000).contains(&after), "{after}");
    assert_eq!(
        n(&api["versions"]["old"]["invocations"]),
        old + n(&api["invocations"]) - 54_000 - after
    );
    assert_conserved(&summary);
}

#[test]
fn an_alarm_rolls_back_at_the_evaluation_that_crosses_its_threshold() {
    // A new version that always fails, canary from 150 s, an alarm on its Errors with a
    // 1-minute period, 2 of 3 datapoints: its first datapoint (errors in 150–180 s) is one
    // breaching point of the 2 it needs (it stays INSUFFICIENT_DATA at 180 s: no step); the
    // second breaching one makes it ALARM at the end of the next period, 240 s, and traffic
    // returns at once.
    let text = scenario(
        "6m",
        r#"{ at = "150s", type = "Canary10Percent5Minutes", new = { failure_probability = 1.0 },
             alarms = [ { name = "errors", metric = "Errors", period = "1m",
                          evaluation_periods = 3, datapoints_to_alarm = 2,
                          comparison = ">", threshold = 0 } ] }"#,
        "",
    );
    let summary = run_text(&text);
    let d = deployment(&summary);
    assert_eq!(
        steps(d),
        [
            (150 * SECOND, "started".to_string(), 0),
            (150 * SECOND, "shifted".into(), 10),
            (240 * SECOND, "alarm".into(), 10),
            (240 * SECOND, "rolled_back".into(), 0),
        ]
    );
    let details: Vec<&str> = d["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["detail"].as_str().unwrap())
        .collect();
    assert_eq!(details[2], "errors: INSUFFICIENT_DATA -> ALARM");
    assert_eq!(d["outcome"], "rolled_back");
    assert_eq!(d["reason"], "alarm errors in ALARM");
    assert_eq!(d["duration_s"].as_f64().unwrap(), 90.0);
    // Every error is the new version's, all within the 90 s it had 10 % of the traffic; the
    // users saw exactly those.
    let new = &d["versions"]["new"];
    assert_eq!(n(&new["errors"]), n(&new["requests"]));
    let share = n(&new["requests"]) as f64 / 9_000.0;
    assert!((share - 0.1).abs() < 0.02, "{share}");
    assert_eq!(n(&d["versions"]["old"]["errors"]), 0);
    let api = &summary.components["api"];
    assert_eq!(n(&api["versions"]["new"]["errors"]), n(&new["errors"]));
    assert_eq!(
        n(&summary.workloads["users"]["requests"]["failed"]),
        n(&new["errors"])
    );
    assert_conserved(&summary);
}

#[test]
fn an_alarm_with_one_period_rolls_back_at_the_first_period_end() {
    // 1 of 1 on 30 s periods: the first period with an error ends at 150 s.
    let text = scenario(
        "4m",
        r#"{ at = "2m10s", type = "Linear10PercentEvery1Minute", new = { failure_probability = 1.0 },
             alarms = [ { metric = "Errors", period = "30s", comparison = ">=", threshold = 1 } ] }"#,
        "",
    );
    let d = deployment(&run_text(&text)).clone();
    let last = steps(&d).last().unwrap().clone();
    assert_eq!(last, (150 * SECOND, "rolled_back".into(), 0));
    assert_eq!(d["reason"], "alarm alarm 1 in ALARM");
}

const HOOK: &str = r#"
[[component]]
name = "check"
kind = "lambda"
memory_mb = 1769
handler = [ { compute = "2s" } ]
"#;

#[test]
fn a_failing_pre_traffic_hook_stops_the_deployment_before_any_traffic_moves() {
    let hook = HOOK.replace("\"2s\" } ]", "\"2s\" } ]\nfailure_probability = 1.0");
    let text = scenario(
        "4m",
        r#"{ at = "1m", type = "AllAtOnce", hooks = { pre_traffic = "check" } }"#,
        &hook,
    );
    let summary = run_text(&text);
    let d = deployment(&summary);
    let s = steps(d);
    assert_eq!(
        s.iter().map(|s| s.1.as_str()).collect::<Vec<_>>(),
        [
            "started",
            "pre_traffic_hook_started",
            "pre_traffic_hook_failed",
            "failed"
        ]
    );
    // The hook ran cold: its init and 2 s later it failed.
    assert!(s[2].0 > 62 * SECOND && s.iter().all(|s| s.2 == 0), "{s:?}");
    assert_eq!(d["outcome"], "failed");
    let api = &summary.components["api"];
    assert_eq!(n(&api["versions"]["new"]["invocations"]), 0);
    assert_eq!(n(&d["versions"]["new"]["requests"]), 0);
    assert_eq!(n(&summary.components["check"]["requests"]["failed"]), 1);
    assert_conserved(&summary);
}

#[test]
fn a_passing_pre_traffic_hook_starts_the_shift_when_it_answers() {
    let text = scenario(
        "4m",
        r#"{ at = "1m", type = "Canary10Percent1Minutes", hooks = { pre_traffic = "check", post_traffic = "check" } }"#,
        HOOK,
    );
    let summary = run_text(&text);
    let d = deployment(&summary);
    let s = steps(d);
    let names: Vec<&str> = s.iter().map(|s| s.1.as_str()).collect();
    assert_eq!(
        names,
        [
            "started",
            "pre_traffic_hook_started",
            "pre_traffic_hook_passed",
            "shifted",
            "shifted",
            "post_traffic_hook_started",
            "post_traffic_hook_passed",
            "completed"
        ]
    );
    // The shift starts when the hook passes, the second increment a minute later.
    assert_eq!(s[3].0, s[2].0);
    assert_eq!(s[4].0, s[3].0 + 60 * SECOND);
    assert_eq!(d["outcome"], "succeeded");
    assert_conserved(&summary);
}

#[test]
fn a_failing_post_traffic_hook_rolls_back() {
    let hook = HOOK.replace("\"2s\" } ]", "\"2s\" } ]\nfailure_probability = 1.0");
    let text = scenario(
        "3m",
        r#"{ at = "1m", type = "AllAtOnce", hooks = { post_traffic = "check" } }"#,
        &hook,
    );
    let summary = run_text(&text);
    let d = deployment(&summary);
    let s = steps(d);
    assert_eq!(s[1], (60 * SECOND, "shifted".into(), 100));
    assert_eq!(s.last().unwrap().1, "rolled_back");
    assert_eq!(s.last().unwrap().2, 0);
    assert_eq!(d["outcome"], "rolled_back");
    assert!(n(&d["versions"]["new"]["requests"]) > 0);
    assert_conserved(&summary);
}

#[test]
fn the_new_version_starts_cold_with_its_own_code() {
    // A slower new version at half the memory: every environment it needs starts cold.
    let text = scenario(
        "4m",
        r#"{ at = "2m", type = "AllAtOnce",
             new = { handler = [ { compute = "40ms" } ], memory_mb = 1024, cold_start = "500ms" } }"#,
        "",
    );
    let summary = run_text(&text);
    let api = &summary.components["api"];
    let d = deployment(&summary);
    let new_cold = n(&api["versions"]["new"]["cold_starts"]);
    assert!(new_cold >= 7, "{new_cold}");
    assert_eq!(n(&d["cold_starts_caused"]), new_cold);
    // Its handler runs at its own memory: 40 ms at 1024 MB is 69 ms, half the invocations.
    let p90 = summary.components["api"]["duration_ms"]["p90"]
        .as_f64()
        .unwrap();
    assert!((69.0..70.0).contains(&p90), "{p90}");
    assert_conserved(&summary);
}

#[test]
fn a_function_without_a_deployment_reports_none() {
    let text = scenario("10s", "{ at = \"1h\", type = \"AllAtOnce\" }", "");
    let summary = run_text(&text);
    assert_eq!(deployment(&summary)["outcome"], "not_started");
    let plain = text.replace("deploy = { at = \"1h\", type = \"AllAtOnce\" }", "");
    let summary = run_text(&plain);
    assert!(summary.deployments.is_none());
    assert!(summary.components["api"].get("versions").is_none());
}

fn error(deploy: &str) -> String {
    let text = scenario("1m", deploy, HOOK);
    match Scenario::parse(&text, Path::new("deploy.toml")) {
        Ok(_) => panic!("accepted {deploy}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_deploy_tables_get_located_errors_with_the_nearest_name() {
    let m = error(r#"{ at = "1m", type = "Canery10Percent5Minutes" }"#);
    assert!(m.starts_with("deploy.toml:16:"), "{m}");
    assert!(m.contains("did you mean `Canary10Percent5Minutes`?"), "{m}");
    let m = error(
        r#"{ at = "1m", type = "AllAtOnce", alarms = [ { metric = "Erors", comparison = ">", threshold = 1 } ] }"#,
    );
    assert!(m.starts_with("deploy.toml:16:"), "{m}");
    assert!(m.contains("did you mean `Errors`?"), "{m}");
    let m = error(
        r#"{ at = "1m", type = "AllAtOnce", alarms = [ { metric = "Errors", period = "45s", comparison = ">", threshold = 1 } ] }"#,
    );
    assert!(
        m.contains("10s, 20s, 30s or a whole number of minutes"),
        "{m}"
    );
    let m = error(r#"{ at = "1m", type = "AllAtOnce", hooks = { pre_traffic = "chek" } }"#);
    assert!(m.contains("did you mean `check`?"), "{m}");
    let m = error(r#"{ at = "1m", type = "AllAtOnce", new = { failure_probability = 2 } }"#);
    assert!(m.contains("between 0 and 1"), "{m}");
    let m = error(r#"{ at = "1m", type = "AllAtOnce", new = { handlr = [] } }"#);
    assert!(m.contains("handlr"), "{m}");
    let m = error(
        r#"{ at = "1m", type = "AllAtOnce", alarms = [ { metric = "Errors", evaluation_periods = 2, datapoints_to_alarm = 3, comparison = ">", threshold = 1 } ] }"#,
    );
    assert!(
        m.contains("datapoints_to_alarm (3) <= evaluation_periods (2)"),
        "{m}"
    );
}
