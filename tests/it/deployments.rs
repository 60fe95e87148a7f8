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
