//! The ALB's sticky sessions and slow start (issue 24, point 3): a client keeps its target
//! until its cookie expires (exactly `duration` after its last answer) or the target leaves;
//! a target in slow start gets a share that rises linearly; stickiness nobody can use changes
//! nothing; bad values are refused where they are written; and the lesson shows what its
//! header quotes.
//!
//! # How tolerances are derived
//! - Stickiness is deterministic: every count is exact (constant arrivals, fixed service
//!   times, no region so no hop latency).
//! - Slow start: with `n` full targets and a target of weight `w` (its elapsed share of the
//!   slow start), round robin offers the slow target one turn per cycle and it takes a share
//!   `w` of them (its credit, below one request at any time, carries the rest), so it takes
//!   `w / (n + w)` of the requests. The expected count up to time `T` is the integral of that
//!   share times the rate; the credit (less than one request) and the cycle in progress (at most
//!   one more turn) bound the difference by 2 requests.

use std::path::Path;

use serde_json::Value;

/// The summary of a run of `text`, as JSON, with conservation checked.
fn run_json(text: &str) -> Value {
    let scenario = awsim::scenario::Scenario::parse(text, Path::new("sticky.toml"))
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let s = awsim::run::run_quietly(&scenario, awsim::scenario::RunSettings::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(s.conservation.ok, "conservation: {:?}", s.conservation);
    serde_json::to_value(&s).expect("summary serialises")
}

fn error_of(text: &str) -> String {
    awsim::scenario::Scenario::parse(text, Path::new("sticky.toml"))
        .err()
        .unwrap_or_else(|| panic!("accepted:\n{text}"))
        .to_string()
}

fn counts(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

/// A workload `load` (`workload` lines added) at `rate` constant arrivals for `duration`,
/// through an ALB `lb` (`alb` lines added) to `targets` (a component given in full).
fn scenario(duration: &str, rate: &str, workload: &str, alb: &str, targets: &str) -> String {
    format!(
        r#"
[simulation]
duration = "{duration}"
warmup = "0s"
seed = 42
[[workload]]
name = "load"
target = "lb"
arrival = {{ process = "constant", rate = "{rate}" }}
{workload}
[[component]]
name = "lb"
kind = "alb"
targets = "web"
{alb}
{targets}
"#
    )
}

/// Two instances answering in exactly 1 ms.
const TWO_INSTANCES: &str = r#"[[component]]
name = "web"
kind = "ec2_fleet"
instances = 2
handler = [ { compute = "1ms" } ]
"#;

#[test]
fn a_cookie_holds_until_exactly_its_duration_after_the_last_answer() {
    // One client, a request every 2 s (at 2, 4, ..., 18 s: 9 requests), each answered 1 ms
    // later, when the cookie is set: it expires at the answer + duration. With 2 s it expires
    // 1 ms after the next request arrives: every request after the first follows it, all on
    // one target. With 1999 ms it expires exactly when the next request arrives, which is
    // routed afresh: round robin alternates.
    let one_client = "connections = { clients = 1 }";
    let run = |duration: &str| {
        let alb = format!("stickiness = {{ type = \"lb_cookie\", duration = \"{duration}\" }}");
        let s = run_json(&scenario("19s", "30/min", one_client, &alb, TWO_INSTANCES));
        s["components"]["lb"].clone()
    };
    let sticky = run("2s");
    assert_eq!(counts(&sticky["target_requests"]), [9, 0]);
    assert_eq!(sticky["sticky_routed"], 8);
    assert_eq!(sticky["sticky_clients"], 1);
    assert_eq!(sticky["stickiness"], "lb_cookie");
    let expired = run("1999ms");
    assert_eq!(counts(&expired["target_requests"]), [5, 4]);
    assert_eq!(expired["sticky_routed"], 0);
}

#[test]
fn a_client_loses_its_target_when_it_is_deregistered_and_keeps_the_new_one() {
    // Two clients, taking turns (client 1, client 2, ...), 4 requests/s: client 1's first
    // request goes to instance 0, client 2's to instance 1, and each sticks. At 10.1 s the group
    // scales in and deregisters its oldest instance, 0: client 1's next request is routed afresh
    // (to instance 1, the only one) and sticks there.
    let group = r#"[[component]]
name = "web"
kind = "asg"
min = 1
max = 2
desired = 2
handler = [ { compute = "1ms" } ]
[[component.scheduled]]
at = "10100ms"
desired = 1
"#;
    let s = run_json(&scenario(
        "20s",
        "4/s",
        "connections = { clients = 2 }",
        "stickiness = { duration = \"1h\" }",
        group,
    ));
    let lb = &s["components"]["lb"];
    let arrivals = s["workloads"]["load"]["requests"]["completed"]
        .as_u64()
        .unwrap();
    // Arrivals every 0.25 s from 0.25 s: 40 up to 10 s (20 each), client 1 has the odd ones.
    let before: u64 = 20;
    assert_eq!(counts(&lb["target_requests"]), [before, arrivals - before]);
    // Everything followed a cookie but each client's first request and client 1's first after
    // the scale-in.
    assert_eq!(lb["sticky_routed"].as_u64().unwrap(), arrivals - 3);
    assert_eq!(lb["sticky_clients"], 2);
    assert_eq!(s["workloads"]["load"]["requests"]["failed"], 0);
}

#[test]
fn without_clients_stickiness_changes_nothing() {
    // Stickiness on, but the workload has no `connections`: each request is a new client with
    // no cookie. The results are those of the same run without stickiness, byte for byte, but
    // for the three figures it adds; the same with `slow_start = "0s"` (off).
    let fleet = r#"[[component]]
name = "web"
kind = "ec2_fleet"
instances = 3
handler = [ { compute = { dist = "exponential", mean = "20ms" } } ]
"#;
    let plain = run_json(&scenario("30s", "50/s", "", "", fleet));
    let mut sticky = run_json(&scenario(
        "30s",
        "50/s",
        "",
        "stickiness = { type = \"lb_cookie\" }\nslow_start = \"0s\"",
        fleet,
    ));
    let lb = sticky["components"]["lb"].as_object_mut().unwrap();
    assert_eq!(lb.remove("sticky_routed"), Some(Value::from(0)));
    assert_eq!(lb.remove("sticky_clients"), Some(Value::from(0)));
    assert_eq!(lb.remove("stickiness"), Some(Value::from("lb_cookie")));
    assert_eq!(
        serde_json::to_string(&plain["components"]).unwrap(),
        serde_json::to_string(&sticky["components"]).unwrap()
    );
    assert_eq!(plain["workloads"], sticky["workloads"]);
}

/// Two instances, raised to three at 10 s: the new one is in service at 15 s, checked at
/// once and every 5 s, healthy after 2 passes (at 20 s).
fn slow_start_run(duration: &str, slow_start: &str) -> Vec<u64> {
    let group = r#"[[component]]
name = "web"
kind = "asg"
min = 2
max = 3
desired = 2
vcpus = 100
launch_time = "5s"
handler = [ { compute = "1ms" } ]
[[component.scheduled]]
at = "10s"
desired = 3
"#;
    let alb = format!(
        "slow_start = \"{slow_start}\"\nhealth_check = {{ interval = \"5s\", healthy_threshold = 2 }}"
    );
    let s = run_json(&scenario(duration, "100/s", "", &alb, group));
    if slow_start != "0s" {
        assert_eq!(s["components"]["lb"]["slow_start_targets"], 1);
    }
    counts(&s["components"]["lb"]["target_requests"])
}

#[test]
fn slow_start_ramps_a_new_targets_share_linearly() {
    // Without slow start the new target takes a third of the requests from 20 s on.
    let off = slow_start_run("50s", "0s");
    assert!(off[2].abs_diff(1000) <= 1, "{off:?}");
    // With 100 s of slow start from 20 s: weight w = (t - 20 s) / 100 s, share w / (2 + w).
    // Requests to it up to 20 s + 100 x s: 100/s x 100 s x the integral of w / (2 + w) from 0
    // to x, that is 10 000 (x - 2 ln(1 + x / 2)).
    let expected = |x: f64| 10_000.0 * (x - 2.0 * (1.0 + x / 2.0).ln());
    let mut cumulative = vec![0];
    for k in 1..=10u32 {
        let x = f64::from(k) / 10.0;
        let got = slow_start_run(&format!("{}s", 20 + 10 * k), "100s")[2];
        assert!(
            (got as f64 - expected(x)).abs() <= 2.0,
            "at {x}: {got} against {:.1}",
            expected(x)
        );
        cumulative.push(got);
    }
    // It takes more in each 10 s than in the one before: the ramp rises.
    let windows: Vec<u64> = cumulative.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(windows.windows(2).all(|w| w[1] > w[0]), "{windows:?}");
    // After the ramp, a third of the requests, as without slow start.
    let after = slow_start_run("150s", "100s")[2] - slow_start_run("120s", "100s")[2];
    assert!(after.abs_diff(1000) <= 1, "{after}");
}

#[test]
fn bad_stickiness_and_slow_start_are_refused_where_written() {
    let bad = [
        (
            "stickiness = { duration = \"0s\" }",
            "stickiness.duration",
            "1 s to 7 days",
        ),
        (
            "stickiness = { duration = \"8d\" }",
            "stickiness.duration",
            "found 192h",
        ),
        (
            "stickiness = { type = \"lb_cooky\" }",
            "lb_cooky",
            "lb_cookie",
        ),
        ("stickiness = { duraton = \"1h\" }", "duraton", "duration"),
        ("slow_start = \"10s\"", "slow_start", "30 s to 900 s"),
        ("slow_start = \"16m\"", "slow_start", "30 s to 900 s"),
        (
            "algorithm = \"least_outstanding_requests\"\nslow_start = \"60s\"",
            "slow_start",
            "least_outstanding_requests",
        ),
    ];
    for (alb, field, message) in bad {
        let e = error_of(&scenario("10s", "1/s", "", alb, TWO_INSTANCES));
        assert!(e.contains(field), "{alb}: {e}");
        assert!(e.contains(message), "{alb}: {e}");
        assert!(e.contains("sticky.toml:"), "{alb}: not located: {e}");
    }
    // Application cookies do not work with weighted target groups (AWS).
    let weighted = r#"
[simulation]
duration = "10s"
[[workload]]
name = "load"
target = "lb"
arrival = { process = "constant", rate = "1/s" }
[[component]]
name = "lb"
kind = "alb"
forward = [ { targets = "web", weight = 1 } ]
stickiness = { type = "app_cookie", duration = "1h" }
[[component]]
name = "web"
kind = "ec2_fleet"
instances = 2
handler = [ { compute = "1ms" } ]
"#;
    let e = error_of(weighted);
    assert!(
        e.contains("stickiness") && e.contains("weighted target groups"),
        "{e}"
    );
}

#[test]
fn the_lesson_repeats_byte_for_byte_and_shows_what_its_header_quotes() {
    let file = Path::new("scenarios/lessons/sticky_sessions_scale_out.toml");
    let scenario = awsim::scenario::Scenario::load(file).unwrap_or_else(|e| panic!("{e}"));
    let settings = awsim::scenario::RunSettings::default;
    let a = awsim::run::run_quietly(&scenario, settings()).expect("run");
    let b = awsim::run::run_quietly(&scenario, settings()).expect("run");
    assert_eq!(a.to_json(), b.to_json());
    assert!(a.conservation.ok);
    let s = serde_json::to_value(&a).unwrap();
    let c = &s["components"];
    let number = |v: &Value| v.as_f64().unwrap();
    let near = |v: &Value, quoted: f64, within: f64| {
        assert!((number(v) - quoted).abs() < within, "{v} against {quoted}")
    };
    // The seed-42 figures the header quotes.
    assert_eq!(
        counts(&c["sticky-alb"]["target_requests"]),
        [36_059, 36_059, 0, 0]
    );
    assert_eq!(c["sticky-alb"]["sticky_routed"], 72_118);
    assert_eq!(
        c["sticky-alb"]["requests"]["created"],
        c["sticky-alb"]["sticky_routed"]
    );
    assert_eq!(c["sticky-alb"]["sticky_clients"], 200);
    assert_eq!(
        counts(&c["alb"]["target_requests"]),
        [18_040, 18_040, 18_039, 18_039]
    );
    let w = &s["workloads"];
    near(&w["sticky-users"]["latency_ms"]["p99"], 602.6, 0.05);
    near(&w["sticky-users"]["latency_ms"]["mean"], 130.0, 0.05);
    near(&w["users"]["latency_ms"]["p99"], 142.7, 0.05);
    near(&w["users"]["latency_ms"]["mean"], 32.3, 0.05);
    near(&c["sticky-web"]["wait_ms"]["mean"], 99.9, 0.05);
    near(&c["web"]["wait_ms"]["mean"], 2.5, 0.05);
    near(&c["sticky-web"]["utilisation"], 0.453, 0.0005);
    near(&c["web"]["utilisation"], 0.448, 0.0005);
    near(&c["sticky-alb"]["imbalance"], 1.0, 0.005);
    near(&c["alb"]["imbalance"], 1.0, 0.005);
}
