//! The bill in summary.json (`cost`), computed by hand for small deterministic scenarios: the
//! arithmetic is in each test, from the list prices of `models/prices.toml`.

use std::path::Path;

use awsim::run::run_quietly;
use awsim::scenario::{RunSettings, Scenario};
use serde_json::Value;

fn parse(text: &str) -> Result<Scenario, String> {
    Scenario::parse(text, Path::new("cost.toml")).map_err(|e| e.to_string())
}

fn summary(text: &str) -> Value {
    let scenario = parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let s = run_quietly(&scenario, RunSettings::default()).unwrap_or_else(|e| panic!("{e}"));
    serde_json::to_value(&s).expect("summary serialises")
}

fn num(v: &Value, path: &[&str]) -> f64 {
    let pointer = format!("/{}", path.join("/"));
    v.pointer(&pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{pointer} is not a number in {v}"))
}

fn assert_close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= 1e-12 * expected.abs().max(1.0),
        "{what}: {actual} != {expected}"
    );
}

// Prices of models/prices.toml used below (us-east-1).
const LAMBDA_PER_REQUEST: f64 = 0.0000002;
const LAMBDA_X86_GB_S: f64 = 0.0000166667;
const LAMBDA_ARM_GB_S: f64 = 0.0000133334;
const LAMBDA_X86_PROVISIONED_GB_S: f64 = 0.0000041667;
const LAMBDA_X86_PROVISIONED_DURATION_GB_S: f64 = 0.0000097222;
const C7G_LARGE_PER_HOUR: f64 = 0.0725;
const M7G_LARGE_PER_HOUR: f64 = 0.0816;

fn lambda_scenario(extra: &str) -> String {
    format!(
        r#"
[simulation]
duration = "100s"
warmup = "0s"
seed = 1

[[workload]]
name = "calls"
target = "fn"
arrival = {{ process = "constant", rate = "4/s" }}

[[component]]
name = "fn"
kind = "lambda"
memory_mb = 1024
cold_start = "0s"
{extra}
handler = [ {{ sleep = "100ms" }} ]
"#
    )
}

/// Constant arrivals at 4/s for 100 s come at k/4 s, k = 1..399 (the 400th would be at 100 s,
/// the end); each runs 100 ms, so all 399 finish. A 100 ms handler at 1024 MB bills 100 ms ×
/// 1 GB = 0.1 GB-s per invocation: 39.9 GB-s in all, plus 399 requests.
#[test]
fn lambda_bills_requests_and_gb_seconds_by_architecture() {
    for (arch, per_gb_s) in [("x86_64", LAMBDA_X86_GB_S), ("arm64", LAMBDA_ARM_GB_S)] {
        let s = summary(&lambda_scenario(&format!("architecture = \"{arch}\"")));
        assert_eq!(
            num(&s, &["workloads", "calls", "requests", "created"]),
            399.0
        );
        let bill = &s["cost"]["components"]["fn"];
        let expected = 399.0 * LAMBDA_PER_REQUEST + 399.0 * 0.1 * 1.0 * per_gb_s;
        assert_close(num(bill, &["usd"]), expected, arch);
        assert_close(num(&s, &["cost", "total_usd"]), expected, arch);
        assert_close(num(bill, &["charges", "1", "usage"]), 39.9, "GB-seconds");
        let basis = bill["basis"].as_str().unwrap();
        assert!(basis.contains("399 requests × $0.0000002"), "{basis}");
        assert!(basis.contains("39.9 GB-s"), "{basis}");
        assert!(basis.contains(arch), "{basis}");
        // The window is 100 s: the rate per hour is 36 times the bill.
        assert_close(
            num(&s, &["cost", "usd_per_hour"]),
            expected * 36.0,
            "per hour",
        );
        assert_close(
            num(&s, &["cost", "usd_per_month"]),
            expected * 36.0 * 730.0,
            "per month",
        );
        assert_close(
            num(
                &s,
                &["cost", "workloads", "calls", "usd_per_million_requests"],
            ),
            expected / 399.0 * 1e6,
            "per million requests",
        );
        assert_eq!(s["cost"]["not_billed"], serde_json::json!([]));
    }
}

/// With 2 environments of provisioned concurrency (100 s × 2 × 1 GB = 200 GB-s configured) and
/// never more than one invocation at a time, every invocation runs on a provisioned environment
/// and its 0.1 GB-s is billed at the provisioned duration price.
#[test]
fn provisioned_concurrency_bills_its_configuration_and_its_lower_duration_price() {
    let s = summary(&lambda_scenario("provisioned_concurrency = 2"));
    let bill = &s["cost"]["components"]["fn"];
    let expected = 399.0 * LAMBDA_PER_REQUEST
        + 2.0 * 1.0 * 100.0 * LAMBDA_X86_PROVISIONED_GB_S
        + 399.0 * 0.1 * LAMBDA_X86_PROVISIONED_DURATION_GB_S;
    assert_close(num(bill, &["usd"]), expected, "provisioned");
    assert_close(num(bill, &["charges", "1", "usage"]), 0.0, "on-demand GB-s");
}

/// A group with scheduled actions and a constant 30 s launch, measured after a 300 s warm-up
/// until 1800 s, instances terminated newest first:
/// - instance 0 runs from the start: billed 300 → 1800 = 1500 s;
/// - at 600 s desired 3 launches instances 1 and 2; instance 1 runs to the end: 1200 s;
/// - at 900.5 s desired 2 terminates instance 2 (idle, no load balancer: at once): it ran
///   300.5 s, billed per second: 301 s;
/// - at 1200.5 s desired 3 launches instance 3, and at 1210.5 s desired 2 terminates it while
///   still pending: 10 s, billed the 60 s minimum.
///
/// 1500 + 1200 + 301 + 60 = 3061 s of c7g.large.
#[test]
fn an_asg_bills_each_instance_per_second_with_a_one_minute_minimum() {
    let group = |purchase: &str| {
        format!(
            r#"
[simulation]
duration = "1800s"
warmup = "300s"
seed = 1

[[workload]]
name = "calls"
target = "web"
arrival = {{ process = "constant", rate = "1/s" }}

[[component]]
name = "web"
kind = "asg"
min = 1
max = 5
desired = 1
instance_type = "c7g.large"
{purchase}
launch_time = "30s"
termination_policy = "newest_instance"
handler = [ {{ sleep = "100ms" }} ]
scheduled = [
  {{ at = "600s", desired = 3 }},
  {{ at = "900500ms", desired = 2 }},
  {{ at = "1200500ms", desired = 3 }},
  {{ at = "1210500ms", desired = 2 }},
]
"#
        )
    };
    let s = summary(&group(""));
    let bill = &s["cost"]["components"]["web"];
    let hours = 3061.0 / 3600.0;
    assert_close(
        num(bill, &["charges", "0", "usage"]),
        hours,
        "instance-hours",
    );
    assert_close(num(bill, &["usd"]), hours * C7G_LARGE_PER_HOUR, "on demand");
    let basis = bill["basis"].as_str().unwrap();
    assert!(basis.contains("3061 s billed"), "{basis}");
    assert!(basis.contains("4 instances"), "{basis}");
    assert!(basis.contains("c7g.large"), "{basis}");
    // The type sets the vCPUs: two requests served in parallel per instance.
    assert_eq!(num(&s, &["components", "web", "vcpus"]), 2.0);
    let spot = summary(&group("purchase = \"spot\"\ndiscount = 0.6"));
    assert_close(
        num(&spot, &["cost", "components", "web", "usd"]),
        hours * C7G_LARGE_PER_HOUR * (1.0 - 0.6),
        "spot",
    );
}

/// A fixed fleet of 3 m7g.large over a 1 h run with a 10 min warm-up: 3 × 50/60 h.
/// A second fleet without an instance type is listed as not billed, not counted as free.
#[test]
fn a_fixed_fleet_bills_instances_times_the_window() {
    let s = summary(
        r#"
[simulation]
duration = "1h"
warmup = "10m"
seed = 1

[[workload]]
name = "calls"
target = "web"
arrival = { process = "constant", rate = "1/s" }

[[component]]
name = "web"
kind = "ec2_fleet"
instances = 3
instance_type = "m7g.large"
handler = [ { sleep = "10ms" } ]

[[component]]
name = "spare"
kind = "ec2_fleet"
instances = 2
handler = [ { sleep = "10ms" } ]
"#,
    );
    let expected = 3.0 * (50.0 / 60.0) * M7G_LARGE_PER_HOUR;
    assert_close(
        num(&s, &["cost", "components", "web", "usd"]),
        expected,
        "fleet",
    );
    assert_close(num(&s, &["cost", "total_usd"]), expected, "total");
    assert_close(num(&s, &["cost", "window_h"]), 50.0 / 60.0, "window");
    assert_eq!(
        s["cost"]["components"]["web"]["basis"],
        "3 × m7g.large × 0.8333 h × $0.0816/h"
    );
    assert_eq!(s["cost"]["not_billed"], serde_json::json!(["spare"]));
}

#[test]
fn an_instance_type_that_contradicts_vcpus_or_does_not_exist_is_a_located_error() {
    let fleet = |fields: &str| {
        format!(
            r#"[simulation]
duration = "1m"

[[workload]]
name = "calls"
target = "web"
arrival = {{ process = "constant", rate = "1/s" }}

[[component]]
name = "web"
kind = "ec2_fleet"
instances = 1
{fields}
handler = [ {{ sleep = "10ms" }} ]
"#
        )
    };
    let err = parse(&fleet("instance_type = \"c7g.large\"\nvcpus = 4")).unwrap_err();
    assert!(
        err.contains("vcpus = 4 contradicts instance_type = \"c7g.large\", which has 2 vCPUs"),
        "{err}"
    );
    assert!(err.contains("cost.toml:14:9:"), "{err}");
    let err = parse(&fleet("instance_type = \"c7g.lage\"")).unwrap_err();
    assert!(err.contains("did you mean `c7g.large`?"), "{err}");
    assert!(err.contains("cost.toml:13:"), "{err}");
    let err = parse(&fleet("instance_type = \"c7g.large\"\ndiscount = 0.3")).unwrap_err();
    assert!(err.contains("discount"), "{err}");
    let err = parse(&fleet("purchase = \"spot\"")).unwrap_err();
    assert!(err.contains("needs an `instance_type`"), "{err}");
    let err = parse(&fleet(
        "instance_type = \"c7g.large\"\npurchase = \"reserved\"",
    ))
    .unwrap_err();
    assert!(err.contains("purchase"), "{err}");
    assert!(parse(&fleet("instance_type = \"c7g.large\"\nvcpus = 2")).is_ok());
}
