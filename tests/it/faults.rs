//! Availability zones and fault injection end to end: cross-zone load balancing shares, AZ
//! outages (health checks, replacement in the surviving AZs, rebalancing, recovery time),
//! instance failures, latency and error injection, conservation, determinism, and bad input.
//!
//! Where the model is deterministic (constant arrivals, constant handlers, fixed launch time)
//! the expectations are exact or bounded by the timings the scenario sets. The only randomness
//! in the cross-zone shares is the DNS choice of node, a hash of the request id that behaves as
//! a fair coin per request: the tolerances are 5 binomial standard deviations.

use std::path::Path;

use awsim::run::run_quietly;
use awsim::scenario::{RunSettings, Scenario};
use serde_json::Value;

fn parse(text: &str) -> Scenario {
    Scenario::parse(text, Path::new("faults.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// The summary of one run, as JSON.
fn summary_with(text: &str, seed: Option<u64>) -> Value {
    let settings = RunSettings {
        seed,
        ..RunSettings::default()
    };
    let s = run_quietly(&parse(text), settings).unwrap_or_else(|e| panic!("{e}"));
    serde_json::to_value(&s).expect("summary serialises")
}

fn summary(text: &str) -> Value {
    summary_with(text, None)
}

fn f64_at(v: &Value, path: &[&str]) -> f64 {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_f64()
        .unwrap_or_else(|| panic!("no number at {path:?} in {v:#}"))
}

/// The classic example: two AZs, two targets in `a` and eight in `b`, 1000 requests/s.
fn two_and_eight(cross_zone: bool) -> String {
    format!(
        r#"
[simulation]
duration = "20s"
[region]
azs = ["a", "b"]
[[workload]]
name = "load"
target = "lb"
arrival = {{ process = "constant", rate = "1000/s" }}
[[component]]
name = "lb"
kind = "alb"
targets = "web"
cross_zone = {cross_zone}
[[component]]
name = "web"
kind = "ec2_fleet"
instances = 10
vcpus = 4
azs = ["a", "a", "b", "b", "b", "b", "b", "b", "b", "b"]
handler = [ {{ compute = "1ms" }} ]
"#
    )
}

fn target_shares(s: &Value) -> Vec<f64> {
    let counts: Vec<f64> = s["components"]["lb"]["target_requests"]
        .as_array()
        .expect("per-target counts")
        .iter()
        .map(|c| c.as_f64().unwrap())
        .collect();
    let total: f64 = counts.iter().sum();
    counts.iter().map(|c| c / total).collect()
}

#[test]
fn cross_zone_on_gives_every_target_the_same_share() {
    let s = summary(&two_and_eight(true));
    let lb = &s["components"]["lb"];
    assert_eq!(lb["cross_zone"], true);
    assert_eq!(
        lb["target_azs"],
        serde_json::json!(["a", "a", "b", "b", "b", "b", "b", "b", "b", "b"])
    );
    // Each node takes the targets in turn: whatever the node split, every target gets a tenth
    // to within the two nodes' unfinished turns.
    let n = f64_at(lb, &["requests", "created"]);
    for share in target_shares(&s) {
        assert!((share - 0.1).abs() <= 2.0 / n, "{share}");
    }
}

#[test]
fn cross_zone_off_loads_the_smaller_zone_four_times_more() {
    let s = summary(&two_and_eight(false));
    let lb = &s["components"]["lb"];
    assert_eq!(lb["cross_zone"], false);
    let n = f64_at(lb, &["requests", "created"]);
    // Node A gets Binomial(n, 1/2) requests: sd of a target's share in A is sqrt(n/4)/2/n.
    let sd_a = (n / 4.0).sqrt() / 2.0 / n;
    let sd_b = (n / 4.0).sqrt() / 8.0 / n;
    let shares = target_shares(&s);
    for &share in &shares[..2] {
        assert!((share - 0.25).abs() < 5.0 * sd_a + 2.0 / n, "{shares:?}");
    }
    for &share in &shares[2..] {
        assert!((share - 0.0625).abs() < 5.0 * sd_b + 2.0 / n, "{shares:?}");
    }
    // The DNS split between the two nodes is even.
    let node_a = f64_at(&lb["nodes"][0], &["requests"]);
    assert_eq!(lb["nodes"][0]["az"], "a");
    assert!(
        (node_a / n - 0.5).abs() < 5.0 * (0.25 / n).sqrt(),
        "{node_a}"
    );
}

#[test]
fn hops_cost_the_region_latency_and_cross_az_hops_more() {
    // One node in `a` (the only target AZ), so every hop stays in the AZ: 1 ms + 2 x 0.1 ms.
    let same = summary(&two_and_eight(false).replace(
        r#"azs = ["a", "a", "b", "b", "b", "b", "b", "b", "b", "b"]"#,
        r#"azs = ["a"]"#,
    ));
    assert_eq!(same["workloads"]["load"]["latency_ms"]["max"], 1.2);
    // With cross-zone on and two nodes, half the hops of node `a` cross to `b` and back: 1 ms
    // + 2 x (0.1 + 0.4) ms; explicit latencies replace the model's.
    let text = two_and_eight(true).replace(
        "azs = [\"a\", \"b\"]\n[[workload]]",
        "azs = [\"a\", \"b\"]\nlatency = { hop = \"1ms\", cross_az = \"2ms\" }\n[[workload]]",
    );
    let s = summary(&text);
    let latency = &s["workloads"]["load"]["latency_ms"];
    // Node `a` crosses for 8 targets of 10, node `b` for 2 of 10: half the hops cross, for a
    // mean of 1 + 2 x 1 + 2 x 2 x 0.5 = 5 ms (the node split moves it by a few hundredths).
    let mean = latency["mean"].as_f64().unwrap();
    assert!((mean - 5.0).abs() < 0.1, "{mean}");
    assert_eq!(latency["max"], 7.0);
    let p50 = latency["p50"].as_f64().unwrap();
    assert!(p50 == 3.0 || p50 == 7.0, "{p50}");
}

#[test]
fn no_region_means_no_latency_and_no_new_figures() {
    let text = two_and_eight(true)
        .replace("[region]\nazs = [\"a\", \"b\"]\n", "")
        .replace(
            "azs = [\"a\", \"a\", \"b\", \"b\", \"b\", \"b\", \"b\", \"b\", \"b\", \"b\"]\n",
            "",
        );
    let s = summary(&text);
    assert_eq!(s["workloads"]["load"]["latency_ms"]["max"], 1.0);
    assert!(s["components"]["lb"].get("nodes").is_none());
    assert!(s.get("faults").is_none());
}

/// Three AZs of two instances each behind an ALB checking every 10 s; AZ `a` fails at 300 s.
fn outage_fleet(cross_zone: bool, extra: &str) -> String {
    format!(
        r#"
[simulation]
duration = "10m"
warmup = "1m"
[region]
azs = ["a", "b", "c"]
[[workload]]
name = "load"
target = "lb"
arrival = {{ process = "poisson", rate = "300/s" }}
[[component]]
name = "lb"
kind = "alb"
targets = "web"
cross_zone = {cross_zone}
health_check = {{ interval = "10s", healthy_threshold = 3, unhealthy_threshold = 2 }}
[[component]]
name = "web"
kind = "ec2_fleet"
instances = 6
vcpus = 8
handler = [ {{ compute = {{ dist = "exponential", mean = "20ms" }} }} ]
[[fault]]
kind = "az_outage"
az = "a"
at = "300s"
duration = "200s"
{extra}
"#
    )
}

#[test]
fn no_request_reaches_a_dead_target_once_health_checks_mark_it() {
    for cross_zone in [true, false] {
        let s = summary(&outage_fleet(cross_zone, ""));
        let web = &s["components"]["web"];
        // Checks run every 10 s from the start: the one at 300 s fails first, the one at 310 s
        // makes two in a row. Requests reach the dead instances until then, never after.
        let last = f64_at(web, &["last_unreachable_request_s"]);
        assert!(
            (300.0..=310.0).contains(&last),
            "cross_zone {cross_zone}: {last}"
        );
        // About 10 s of a third of 300/s (cross-zone on: every node sends a third; off: node
        // `a` gets a third of the requests and sends them all there).
        let lost = f64_at(web, &["unreachable_requests"]);
        assert!((lost - 1000.0).abs() < 5.0 * 1000f64.sqrt(), "{lost}");
        // Each one, and each held by the instances when they went, gets the ALB's 504 at its
        // idle timeout.
        let timed_out = f64_at(&s["workloads"]["load"], &["requests", "timed_out"]);
        assert_eq!(timed_out, lost + f64_at(web, &["crashed_requests"]));
        // The AZ comes back at 500 s; its instances pass three checks and serve again.
        let per_target = s["components"]["lb"]["target_requests"].as_array().unwrap();
        assert!(per_target.iter().all(|c| c.as_u64().unwrap() > 0));
        let fault = &s["faults"][0];
        assert_eq!(fault["kind"], "az_outage");
        assert_eq!(fault["subject"], "a");
        // The 504s belong to the first 10 s bucket: recovered from 310 s on.
        assert_eq!(fault["recovery_s"], 10.0, "cross_zone {cross_zone}");
        assert!(f64_at(fault, &["during", "errors"]) >= lost);
        assert_eq!(fault["baseline"]["errors"], 0);
    }
}

/// Six single-worker instances spread over three AZs with no queue, 500 requests/s spaced
/// exactly and 10 ms each: six instances serve everything, four cannot (20 % refused).
fn outage_group(outage: &str) -> String {
    format!(
        r#"
[simulation]
duration = "{outage}"
warmup = "1m"
[region]
azs = ["a", "b", "c"]
[[workload]]
name = "load"
target = "lb"
arrival = {{ process = "constant", rate = "500/s" }}
[[component]]
name = "lb"
kind = "alb"
targets = "web"
algorithm = "least_outstanding_requests"
health_check = {{ interval = "10s", healthy_threshold = 3, unhealthy_threshold = 2 }}
[[component]]
name = "web"
kind = "asg"
min = 6
max = 6
vcpus = 1
max_queue = 0
launch_time = "60s"
health_check_type = "elb"
health_check_grace_period = "30s"
handler = [ {{ compute = "10ms" }} ]
[[fault]]
kind = "az_outage"
az = "a"
at = "300s"
duration = "1h"
"#
    )
}

#[test]
fn the_group_replaces_capacity_in_the_surviving_zones_within_the_set_times() {
    let s = summary(&outage_group("10m"));
    let web = &s["components"]["web"];
    assert_eq!(
        web["in_service_per_az_end"],
        serde_json::json!({ "a": 0, "b": 3, "c": 3 })
    );
    assert_eq!(web["replaced"], 2);
    // Unhealthy after two failed checks (300 s, 310 s), launched at once, in service 60 s
    // later, healthy after three passed checks 10 s apart: traffic is whole again from
    // (2 - 1) x 10 + 60 + (3 - 1) x 10 = 90 s after the fault's start, and the recovery
    // buckets are 10 s wide.
    let recovery = f64_at(&s["faults"][0], &["recovery_s"]);
    assert!((90.0..=100.0).contains(&recovery), "{recovery}");
    // Meanwhile four instances refused a fifth of the requests.
    let during = &s["faults"][0]["during"];
    assert!(f64_at(during, &["errors"]) > 0.0);
}

#[test]
fn the_group_rebalances_when_the_zone_comes_back() {
    let text = outage_group("30m").replace("duration = \"1h\"", "duration = \"5m\"");
    let s = summary(&text);
    let web = &s["components"]["web"];
    assert_eq!(
        web["in_service_per_az_end"],
        serde_json::json!({ "a": 2, "b": 2, "c": 2 })
    );
    // Two launches in `a`, each followed by a termination in the most populated zone.
    assert_eq!(web["rebalanced"], 2);
    let activities = web["scaling_activities"].as_array().unwrap();
    let rebalances = activities
        .iter()
        .filter(|a| a["activity"] == "rebalance")
        .count();
    assert_eq!(rebalances, 2);
    // The group never had fewer than six instances counted after the outage began.
    assert_eq!(web["desired_end"], 6);
}

#[test]
fn launches_spread_evenly_over_the_group_zones() {
    let text = outage_group("2m")
        .replace("min = 6\nmax = 6", "min = 5\nmax = 5")
        .replace("at = \"300s\"", "at = \"100s\"");
    let s = summary(&text);
    assert_eq!(
        s["components"]["web"]["in_service_per_az_end"],
        // 5 over 3 AZs: 2, 2, 1 before the outage; the outage at 100 s leaves b and c.
        serde_json::json!({ "a": 0, "b": 2, "c": 1 })
    );
}

#[test]
fn latency_injection_multiplies_service_time() {
    let text = r#"
[simulation]
duration = "3m"
[[workload]]
name = "load"
target = "web"
arrival = { process = "constant", rate = "10/s" }
[[component]]
name = "web"
kind = "ec2_fleet"
instances = 1
vcpus = 100
handler = [ { compute = "10ms" }, { sleep = "5ms" } ]
[[fault]]
kind = "latency_injection"
component = "web"
at = "20s"
duration = "10s"
factor = 3
"#;
    let s = summary(text);
    let f = &s["faults"][0];
    // Requests sent in the window take 3 x 15 ms; those before it 15 ms.
    assert_eq!(f64_at(f, &["during", "latency_ms", "mean"]), 45.0);
    assert_eq!(f64_at(f, &["during", "latency_ms", "max"]), 45.0);
    assert_eq!(f64_at(f, &["during", "requests"]), 100.0);
    assert_eq!(f64_at(f, &["baseline", "p99_ms"]), 15.0);
    assert_eq!(s["workloads"]["load"]["latency_ms"]["max"], 45.0);
    // Slower than 1.5 x the baseline p99 for 10 s: normal again from 30 s on.
    assert_eq!(f["recovery_s"], 10.0);
}

#[test]
fn latency_injection_follows_the_mm1_mean_during_the_window() {
    // M/M/1 at rho = 0.1 -> 0.5 under factor 5: mean response 1/(mu' - lambda) with mu' = 1/50ms.
    let text = r#"
[simulation]
duration = "2h"
[[workload]]
name = "load"
target = "web"
arrival = { process = "poisson", rate = "10/s" }
[[component]]
name = "web"
kind = "ec2_fleet"
instances = 1
handler = [ { compute = { dist = "exponential", mean = "10ms" } } ]
[[fault]]
kind = "latency_injection"
component = "web"
at = "10m"
duration = "1h"
factor = 5
"#;
    let mut means = Vec::new();
    for seed in 1..=5 {
        let s = summary_with(text, Some(seed));
        means.push(f64_at(&s["faults"][0], &["during", "latency_ms", "mean"]));
    }
    let n = means.len() as f64;
    let mean = means.iter().sum::<f64>() / n;
    let sd = (means.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    // 1 / (20/s - 10/s) = 100 ms; t(0.995, 4) = 4.604.
    let half_width = 4.604 * sd / n.sqrt();
    assert!(
        (mean - 100.0).abs() < half_width.max(1.0),
        "{mean} +- {half_width} ({means:?})"
    );
}

#[test]
fn error_injection_fails_the_set_fraction() {
    let text = r#"
[simulation]
duration = "60s"
[[workload]]
name = "load"
target = "web"
arrival = { process = "poisson", rate = "1000/s" }
[[component]]
name = "web"
kind = "ec2_fleet"
instances = 2
vcpus = 50
handler = [ { compute = "1ms" } ]
[[fault]]
kind = "error_injection"
component = "web"
at = "10s"
duration = "40s"
fraction = 0.2
"#;
    let s = summary(text);
    let f = &s["faults"][0];
    let n = f64_at(f, &["during", "requests"]);
    let errors = f64_at(f, &["during", "errors"]);
    let sd = (0.2 * 0.8 / n).sqrt();
    assert!((errors / n - 0.2).abs() < 5.0 * sd, "{errors} of {n}");
    // Only in the window: every injected error is a request of the window.
    assert_eq!(
        f64_at(&s["components"]["web"], &["injected_errors"]),
        errors
    );
    assert_eq!(s["workloads"]["load"]["requests"]["failed"], errors as u64);
}

#[test]
fn a_function_can_be_slowed_down_and_made_to_fail() {
    let text = r#"
[simulation]
duration = "5m"
[[workload]]
name = "load"
target = "fn"
arrival = { process = "poisson", rate = "50/s" }
[[component]]
name = "fn"
kind = "lambda"
memory_mb = 1769
handler = [ { compute = "100ms" } ]
[[fault]]
kind = "latency_injection"
component = "fn"
at = "1m"
duration = "1m"
factor = 2
[[fault]]
kind = "error_injection"
component = "fn"
at = "3m"
duration = "1m"
fraction = 0.5
"#;
    let s = summary(text);
    // At 1769 MB a function has one full vCPU: 100 ms, doubled in the window. Environments
    // started before the window are warm, but the window needs twice as many: the new ones
    // add their cold start, so the p50 is exact and the mean at least 200 ms.
    let slow = &s["faults"][0]["during"]["latency_ms"];
    // (Percentiles come from a histogram with three significant figures.)
    assert!((f64_at(slow, &["p50"]) - 200.0).abs() < 0.2, "{slow}");
    assert!(f64_at(slow, &["mean"]) >= 200.0);
    let failing = &s["faults"][1]["during"];
    let n = f64_at(failing, &["requests"]);
    let errors = f64_at(failing, &["errors"]);
    assert!(
        (errors / n - 0.5).abs() < 5.0 * (0.25 / n).sqrt(),
        "{errors} of {n}"
    );
    assert_eq!(f64_at(&s["components"]["fn"], &["injected_errors"]), errors);
}

#[test]
fn random_instance_failures_follow_their_rate() {
    let text = r#"
[simulation]
duration = "10h"
[[workload]]
name = "load"
target = "web"
arrival = { process = "poisson", rate = "5/s" }
[[component]]
name = "web"
kind = "asg"
min = 4
max = 4
launch_time = "60s"
handler = [ { compute = "10ms" } ]
[[fault]]
kind = "instance_failure"
component = "web"
rate = "6/h"
"#;
    let mut total = 0.0;
    let seeds = 10;
    for seed in 1..=seeds {
        let s = summary_with(text, Some(seed));
        total += f64_at(&s["components"]["web"], &["replaced"]);
    }
    // 60 failures expected per run: Poisson, so the sum of ten runs has sd sqrt(600).
    let expected = 60.0 * seeds as f64;
    assert!(
        (total - expected).abs() < 5.0 * expected.sqrt(),
        "{total} vs {expected}"
    );
}

#[test]
fn listed_instance_failures_crash_one_instance_each() {
    let text = r#"
[simulation]
duration = "5m"
[[workload]]
name = "load"
target = "lb"
arrival = { process = "constant", rate = "100/s" }
[[component]]
name = "lb"
kind = "alb"
targets = "web"
[[component]]
name = "web"
kind = "ec2_fleet"
instances = 4
handler = [ { compute = "5ms" } ]
[[fault]]
kind = "instance_failure"
component = "web"
times = ["60s", "120s"]
"#;
    let s = summary(text);
    let lb = &s["components"]["lb"];
    // Two targets stop answering (502 until the ALB's checks, 2 x 30 s, mark them).
    assert_eq!(lb["healthy_targets_end"], 2);
    let f = &s["faults"][0];
    assert_eq!(f["start_s"], 60.0);
    assert_eq!(f["end_s"], 180.0);
    assert!(f64_at(f, &["during", "errors"]) > 0.0);
}

/// A scenario with every fault kind on a fleet and a group.
const EVERYTHING: &str = r#"
[simulation]
duration = "20m"
warmup = "1m"
[region]
azs = ["a", "b"]
[[workload]]
name = "front"
target = "lb"
arrival = { process = "poisson", rate = "100/s" }
[[workload]]
name = "direct"
target = "back"
arrival = { process = "poisson", rate = "20/s" }
[[component]]
name = "lb"
kind = "alb"
targets = "web"
cross_zone = false
[[component]]
name = "web"
kind = "asg"
min = 4
max = 8
launch_time = { dist = "uniform", min = "30s", max = "90s" }
vcpus = 4
health_check_type = "elb"
handler = [ { compute = { dist = "exponential", mean = "20ms" } }, { call = "back" } ]
[[component]]
name = "back"
kind = "ec2_fleet"
instances = 4
vcpus = 8
handler = [ { compute = { dist = "exponential", mean = "5ms" } } ]
[[fault]]
kind = "az_outage"
az = "b"
at = "3m"
duration = "4m"
[[fault]]
kind = "instance_failure"
component = "web"
rate = "12/h"
[[fault]]
kind = "instance_failure"
component = "back"
times = ["15m"]
[[fault]]
kind = "latency_injection"
component = "back"
at = "10m"
duration = "2m"
factor = 4
[[fault]]
kind = "error_injection"
component = "web"
at = "13m"
duration = "1m"
fraction = 0.05
"#;

#[test]
fn conservation_holds_through_every_fault_kind() {
    for seed in 1..=3 {
        // run_quietly fails when any component loses or invents a request.
        let s = summary_with(EVERYTHING, Some(seed));
        assert_eq!(s["conservation"]["ok"], true);
        assert_eq!(s["faults"].as_array().unwrap().len(), 5);
        assert!(f64_at(&s["components"]["web"], &["replaced"]) > 0.0);
    }
}

#[test]
fn faults_are_deterministic() {
    let a = summary_with(EVERYTHING, Some(7));
    let b = summary_with(EVERYTHING, Some(7));
    assert_eq!(a.to_string(), b.to_string());
    let c = summary_with(EVERYTHING, Some(8));
    assert_ne!(a["faults"], c["faults"]);
}

// ---------------------------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------------------------

fn error_for(text: &str) -> String {
    match Scenario::parse(text, Path::new("case.toml")) {
        Ok(_) => panic!("accepted a bad scenario:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// The outage fleet scenario with its fault table replaced by `fault`.
fn with_fault(fault: &str) -> String {
    outage_fleet(true, "").replace(
        "[[fault]]\nkind = \"az_outage\"\naz = \"a\"\nat = \"300s\"\nduration = \"200s\"\n",
        fault,
    )
}

#[test]
fn bad_faults_are_rejected_with_positions() {
    let cases: &[(&str, &[&str])] = &[
        (
            "[[fault]]\nkind = \"az_outage\"\naz = \"bb\"\nat = \"1m\"\nduration = \"1m\"\n",
            &[
                "case.toml:25:",
                "unknown availability zone `bb`",
                "did you mean `b`",
            ],
        ),
        (
            "[[fault]]\nkind = \"latency_injection\"\ncomponent = \"wbe\"\nat = \"1m\"\nduration = \"1m\"\nfactor = 2\n",
            &[
                "case.toml:25:",
                "no component is named `wbe`",
                "did you mean `web`",
            ],
        ),
        (
            "[[fault]]\nkind = \"error_injection\"\ncomponent = \"lb\"\nat = \"1m\"\nduration = \"1m\"\nfraction = 0.1\n",
            &[
                "case.toml:25:",
                "applies to an asg, an ec2_fleet or a lambda",
                "`lb` is an alb",
            ],
        ),
        (
            "[[fault]]\nkind = \"az_outage\"\naz = \"a\"\nat = \"11m\"\nduration = \"1m\"\n",
            &["case.toml:26:", "outside the simulated time"],
        ),
        (
            "[[fault]]\nkind = \"az_outage\"\naz = \"a\"\nat = \"1m\"\nduration = \"0s\"\n",
            &["case.toml:27:", "`duration` must be longer than zero"],
        ),
        (
            "[[fault]]\nkind = \"az_outage\"\naz = \"a\"\nat = \"1m\"\nduration = \"-1s\"\n",
            &["case.toml:27:", "negative"],
        ),
        (
            "[[fault]]\nkind = \"error_injection\"\ncomponent = \"web\"\nat = \"1m\"\nduration = \"1m\"\nfraction = 1.5\n",
            &[
                "case.toml:28:",
                "`fraction` must be between 0 and 1, found 1.5",
            ],
        ),
        (
            "[[fault]]\nkind = \"az_outage\"\naz = \"a\"\nat = \"1m\"\nduration = \"1m\"\nfactor = 2\n",
            &[
                "case.toml:28:",
                "`factor` does not apply to a az_outage fault",
            ],
        ),
        (
            "[[fault]]\nkind = \"az_outtage\"\naz = \"a\"\n",
            &[
                "case.toml:24:",
                "unknown fault kind `az_outtage`",
                "did you mean `az_outage`",
            ],
        ),
        (
            "[[fault]]\nkind = \"instance_failure\"\ncomponent = \"web\"\n",
            &["case.toml:23:", "needs `rate`"],
        ),
        (
            "[[fault]]\nkind = \"instance_failure\"\ncomponent = \"web\"\ntimes = [\"1m\", \"20m\"]\n",
            &["case.toml:26:", "20m is outside the simulated time"],
        ),
        (
            "[[fault]]\nkind = \"latency_injection\"\ncomponent = \"web\"\nat = \"1m\"\nduration = \"1m\"\n",
            &["case.toml:23:", "needs `factor`"],
        ),
        (
            "[[fault]]\nkind = \"az_outage\"\naz = \"a\"\nat = \"1m\"\nduration = \"3m\"\n\
             [[fault]]\nkind = \"az_outage\"\naz = \"a\"\nat = \"2m\"\nduration = \"1m\"\n",
            &[
                "case.toml:31:",
                "this az_outage of `a` overlaps the one from 1m to 4m",
            ],
        ),
        (
            "[[fault]]\nkind = \"instance_failure\"\ncomponent = \"web\"\nrate = \"1000000/s\"\n",
            &[
                "case.toml:26:",
                "`rate` would fail about",
                "at most 1000000",
            ],
        ),
    ];
    for (fault, parts) in cases {
        let message = error_for(&with_fault(fault));
        for part in *parts {
            assert!(message.contains(part), "expected `{part}` in:\n{message}");
        }
    }
}

#[test]
fn bad_zones_are_rejected_with_positions() {
    let m = error_for(
        &outage_fleet(true, "").replace("instances = 6\n", "instances = 6\nazs = [\"a\", \"d\"]\n"),
    );
    assert!(m.contains("unknown availability zone `d`"), "{m}");
    let m = error_for(
        &outage_fleet(true, "")
            .replace("azs = [\"a\", \"b\", \"c\"]", "azs = [\"a\", \"b\", \"a\"]"),
    );
    assert!(m.contains("listed twice"), "{m}");
    let m = error_for(&two_and_eight(true).replace("[region]\nazs = [\"a\", \"b\"]\n", ""));
    assert!(m.contains("declares none"), "{m}");
}

#[test]
fn a_short_outage_with_requests_in_transit_keeps_the_albs_counts_exact() {
    // Hop latency puts requests on the wire when AZ a fails and comes back; the instances'
    // lost requests are reported to the ALB, whose per-target counts stay exact (they used to
    // be reset at re-registration and underflowed when in-transit requests were answered).
    // A 5 s outage is shorter than two failed checks: the targets stay healthy and registered.
    let text = r#"
[simulation]
duration = "3m"
seed = 1
[region]
azs = ["a", "b"]
latency = { hop = "5ms", cross_az = "20ms" }
[[workload]]
name = "load"
target = "lb"
arrival = { process = "poisson", rate = "2000/s" }
[[component]]
name = "lb"
kind = "alb"
targets = "web"
[[component]]
name = "web"
kind = "ec2_fleet"
instances = 4
vcpus = 4
handler = [ { compute = { dist = "exponential", mean = "2ms" } } ]
[[fault]]
kind = "az_outage"
az = "a"
at = "60s"
duration = "5s"
"#;
    let s = summary(text);
    let w = &s["workloads"]["load"]["requests"];
    // Lost requests get their 504 at the idle timeout (60 s), so all are answered by the end:
    // in flight is only the last moments' traffic (Little: 2000/s × tens of ms).
    assert!(w["timed_out"].as_u64().unwrap() > 1000, "{w}");
    assert!(w["in_flight"].as_u64().unwrap() < 200, "{w}");
    // AZ a's targets take traffic again as soon as the AZ is back: per-target counts stay
    // near even (they were out for 120 s before, waiting for three passed checks).
    let shares = target_shares(&s);
    for share in &shares {
        assert!((share - 0.25).abs() < 0.01, "{shares:?}");
    }
}

#[test]
fn another_workload_does_not_move_an_albs_dns_choices() {
    // Each ALB draws its nodes from its own stream: adding an unrelated workload (whose
    // requests take ids in between) changes nothing at this ALB.
    let alone = summary(&two_and_eight(false));
    let extra = format!(
        "{}\n[[workload]]\nname = \"other\"\ntarget = \"other-web\"\narrival = {{ process = \"poisson\", rate = \"300/s\" }}\n\
         [[component]]\nname = \"other-web\"\nkind = \"ec2_fleet\"\ninstances = 2\nhandler = [ {{ compute = \"1ms\" }} ]\n",
        two_and_eight(false)
    );
    let with_other = summary(&extra);
    assert_eq!(
        alone["components"]["lb"]["target_requests"],
        with_other["components"]["lb"]["target_requests"]
    );
    assert_eq!(
        alone["workloads"]["load"]["latency_ms"],
        with_other["workloads"]["load"]["latency_ms"]
    );
}

/// `mode` belongs to instance failures, and is `"crash"` or `"hang"`: anything else is a
/// located error.
#[test]
fn a_failure_mode_is_checked_where_it_is_written() {
    let base = r#"
[simulation]
duration = "5m"
[[workload]]
name = "load"
target = "web"
arrival = { process = "constant", rate = "10/s" }
[[component]]
name = "web"
kind = "ec2_fleet"
instances = 2
handler = [ { compute = "5ms" } ]
[[fault]]
"#;
    let error = |fault: &str| {
        let text = format!("{base}{fault}");
        Scenario::parse(&text, Path::new("faults.toml"))
            .map(|_| ())
            .expect_err(fault)
            .to_string()
    };
    let e = error(
        "kind = \"latency_injection\"\ncomponent = \"web\"\nat = \"1m\"\nduration = \"1m\"\n\
         factor = 2\nmode = \"hang\"\n",
    );
    assert!(e.contains("faults.toml:19:") && e.contains("mode"), "{e}");
    let e = error(
        "kind = \"instance_failure\"\ncomponent = \"web\"\ntimes = [\"1m\"]\nmode = \"freeze\"\n",
    );
    assert!(e.contains("faults.toml:17:") && e.contains("crash"), "{e}");
    // Both modes run; the ALB's checks take either instance out, but only a hung one swallows
    // the requests that reach it (a crashed one refuses them with a 502).
    for (mode, swallowed) in [("crash", false), ("hang", true)] {
        let text = format!(
            "{}kind = \"instance_failure\"\ncomponent = \"web\"\ntimes = [\"1m\"]\nmode = \"{mode}\"\n",
            base.replace("target = \"web\"", "target = \"lb\"").replace(
                "[[component]]\nname = \"web\"",
                "[[component]]\nname = \"lb\"\nkind = \"alb\"\ntargets = \"web\"\n\
                 [[component]]\nname = \"web\""
            )
        );
        let s = summary(&text);
        assert_eq!(s["conservation"]["ok"], true);
        let web = &s["components"]["web"];
        let unreachable = web
            .get("unreachable_requests")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        assert_eq!(unreachable > 0, swallowed, "{mode}: {web}");
        assert_eq!(s["components"]["lb"]["healthy_targets_end"], 1, "{mode}");
    }
}
