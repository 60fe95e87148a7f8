use super::*;
use crate::run::run_text;

#[test]
fn the_model_file_parses_with_route53_documented_values() {
    let d: Defaults = toml::from_str(DEFAULTS_TOML).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.interval, SimDuration::from_secs(30));
    assert_eq!(d.fast_interval, SimDuration::from_secs(10));
    assert_eq!((d.failure_threshold, d.failure_threshold_max), (3, 10));
    assert_eq!(d.weight_max, 255);
}

/// 1 000 clients send 10 801 requests an hour in turn (3 a second, each client every 333 s,
/// so every request resolves afresh; a rate whose arrivals never meet a probe's instant
/// between 90 and 130 s) to a failover record over two fleets; the primary fails every
/// request from 90.5 s.
fn failover(ttl_s: u64) -> String {
    format!(
        r#"
[simulation]
duration = "300s"
[[workload]]
name = "clients"
target = "www"
arrival = {{ process = "constant", rate = "10801/h" }}
connections = {{ clients = 1000 }}
[[component]]
name = "www"
kind = "route53"
routing = "failover"
ttl = "{ttl_s}s"
records = [ {{ target = "a", role = "primary" }}, {{ target = "b", role = "secondary" }} ]
health_check = {{ interval = "10s", failure_threshold = 3 }}
staggered_start = false
[[component]]
name = "a"
kind = "ec2_fleet"
instances = 1
vcpus = 100
handler = [ {{ compute = "10ms" }} ]
[[component]]
name = "b"
kind = "ec2_fleet"
instances = 1
vcpus = 100
handler = [ {{ compute = "10ms" }} ]
[[fault]]
kind = "error_injection"
component = "a"
at = "90500ms"
duration = "200s"
fraction = 1.0
"#
    )
}

#[test]
fn failover_takes_the_detection_time_plus_the_ttl_exactly() {
    let (interval, threshold, ttl) = (10_000_000_000u64, 3u64, 60_000_000_000u64);
    let s = run_text(&failover(ttl / 1_000_000_000));
    let www = &s["components"]["www"];
    let episode = &www["targets"]["a"]["failovers"][0];
    // Arrivals at k × 3600/10801 s, rounded to the nanosecond. The fault starts at 90.5 s,
    // just after the probe at 90 s passed: the first request after it fails at once.
    let spacing = 3600e9 / 10801.0;
    let arrival = |k: u64| (k as f64 * spacing).round() as u64;
    let fault = 90_500_000_000u64;
    let first_failed = (1..).find(|&k| arrival(k) > fault).unwrap();
    let failed = arrival(first_failed);
    // Probes at 100, 110 and 120 s fail: the third marks the primary unhealthy.
    let last_pass = fault / interval * interval;
    let detected = last_pass + threshold * interval;
    // The last client to resolve before the detection keeps the primary for the TTL.
    let last_sent = (1..).take_while(|&k| arrival(k) < detected).last().unwrap();
    let last_answer = arrival(last_sent);
    let moved = last_answer + ttl;
    // Reported in seconds with nanosecond digits; the generator sums its spacing in floating
    // point, so its instants may differ from k × spacing by a nanosecond.
    let ns = |v: &serde_json::Value| (v.as_f64().unwrap() * 1e9).round() as i64;
    let near = |v: &serde_json::Value, expected: u64| (ns(v) - expected as i64).abs() <= 1;
    assert!(near(&episode["failed_at_s"], failed), "{www:#} {failed}");
    assert!(near(&episode["detected_at_s"], detected), "{detected}");
    assert!(near(&episode["clients_moved_at_s"], moved), "{moved}");
    let secs = |ns: u64| ns as f64 / 1e9;
    // Failover = interval × threshold + TTL, less the time from the last passed probe to the
    // first failed request and from the last answer to the detection.
    let expected = interval * threshold + ttl - (failed - last_pass) - (detected - last_answer);
    assert_eq!(moved - failed, expected);
    let failover = www["failover_s"].as_f64().unwrap();
    assert!((failover - secs(expected)).abs() < 3e-9, "{failover}");
    assert!(failover <= secs(interval * threshold + ttl));
    // The first failure comes at the first arrival after the fault (0.5 s after the probe).
    let offsets = (fault - last_pass) as f64 / 1e9 + 2.0 * spacing / 1e9;
    assert!(failover > secs(interval * threshold + ttl) - offsets);
    // Every request from the first failure to the detection went to the failed primary.
    let errors = last_sent - first_failed + 1;
    assert_eq!(episode["errors"], errors);
    assert_eq!(www["failover_errors"], errors);
    assert_eq!(www["requests"]["failed"], errors);
}

#[test]
fn a_shorter_ttl_moves_clients_sooner_by_the_difference() {
    let long = run_text(&failover(300));
    let short = run_text(&failover(60));
    let f = |s: &serde_json::Value| s["components"]["www"]["failover_s"].as_f64().unwrap();
    assert!((f(&long) - f(&short) - 240.0).abs() < 1e-9);
}

#[test]
fn latency_routing_answers_each_group_its_nearest_target() {
    let text = failover(60)
        .replace("routing = \"failover\"", "routing = \"latency\"")
        .replace(
            "{ target = \"a\", role = \"primary\" }, { target = \"b\", role = \"secondary\" }",
            "{ target = \"a\" }, { target = \"b\" }",
        )
        .replace(
            "health_check = {",
            "client_groups = [ { share = 0.5, latency = [\"10ms\", \"80ms\"] }, { share = 0.5, latency = [\"90ms\", \"20ms\"] } ]\nhealth_check = {",
        )
        .replace("[[fault]]", "[[fault_removed]]");
    let text = &text[..text.find("[[fault_removed]]").unwrap()];
    let s = run_text(text);
    let www = &s["components"]["www"];
    let a = www["targets"]["a"]["requests"].as_u64().unwrap();
    let b = www["targets"]["b"]["requests"].as_u64().unwrap();
    // Half the clients each (by address): nearly even; the latency is the group's own.
    assert!(a > 300 && b > 300, "{a} {b}");
    let mean = www["latency_ms"]["mean"].as_f64().unwrap();
    let expected = (a as f64 * 20.0 + b as f64 * 30.0) / (a + b) as f64;
    // `requests` counts what was sent, the mean what was answered: a request or two still in
    // flight at the end moves it by a hundredth of a millisecond at most.
    assert!((mean - expected).abs() < 0.02, "{mean} {expected}");
}
