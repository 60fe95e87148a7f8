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

/// A cold start's init is billed with its invocation (AWS bills the INIT phase of on-demand
/// functions since 1 August 2025), in one duration rounded up to 1 ms: with a 100.5 ms init the
/// first call (at 0.25 s) is ready at 0.3505 s and done at 0.4505 s, before the second arrives,
/// so there is one cold start, billed 100.5 + 100 = 200.5 ms -> 201 ms; the other 398 calls
/// bill 100 ms each. 398 × 0.1 + 0.201 = 40.001 GB-s at 1 GB.
#[test]
fn a_cold_start_bills_its_init_with_the_invocation() {
    let text = lambda_scenario("").replace(r#"cold_start = "0s""#, r#"cold_start = "100.5ms""#);
    let s = summary(&text);
    assert_eq!(num(&s, &["components", "fn", "cold_starts"]), 1.0, "{s}");
    let bill = &s["cost"]["components"]["fn"];
    assert_close(num(bill, &["charges", "1", "usage"]), 40.001, "GB-seconds");
    let expected = 399.0 * LAMBDA_PER_REQUEST + 40.001 * LAMBDA_X86_GB_S;
    assert_close(num(bill, &["usd"]), expected, "with init");
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

// Prices of models/prices.toml for the kinds below (us-east-1).
const RCU_HOUR: f64 = 0.00013;
const WCU_HOUR: f64 = 0.00065;
const PER_MILLION_RRU: f64 = 0.125;
const PER_MILLION_WRU: f64 = 0.625;
const GB_MONTH: f64 = 0.25;
const SQS_STANDARD_PER_MILLION: f64 = 0.40;
const SQS_FIFO_PER_MILLION: f64 = 0.50;
const REST_PER_MILLION: f64 = 3.50;
const CACHE_0_5_GB_HOUR: f64 = 0.02;
const CACHE_6_1_GB_HOUR: f64 = 0.2;
const ALB_HOUR: f64 = 0.0225;
const LCU_HOUR: f64 = 0.008;
const NLB_HOUR: f64 = 0.0225;
const NLCU_HOUR: f64 = 0.006;
const INTER_AZ_GB_EACH_WAY: f64 = 0.01;
/// KB in a GB, as the bills count them (1024 × 1024).
const KB_PER_GB: f64 = 1024.0 * 1024.0;

/// A provisioned table of 100 RCU and 50 WCU holding 10 GB, measured for 1 h after a 10 min
/// warm-up, that receives one write a minute: billed for all of its capacity, used or not.
#[test]
fn a_provisioned_table_bills_its_capacity_used_or_not_and_its_storage() {
    let s = summary(
        r#"
[simulation]
duration = "70m"
warmup = "10m"
seed = 1

[[workload]]
name = "writes"
target = "orders"
op = "write"
arrival = { process = "constant", rate = "1/min" }

[[component]]
name = "orders"
kind = "dynamodb"
rcu = 100
wcu = 50
table_gb = 10
"#,
    );
    let bill = &s["cost"]["components"]["orders"];
    let expected = 100.0 * 1.0 * RCU_HOUR + 50.0 * 1.0 * WCU_HOUR + 10.0 * (1.0 / 730.0) * GB_MONTH;
    assert_close(num(bill, &["usd"]), expected, "provisioned table");
    assert_close(num(bill, &["charges", "0", "usage"]), 100.0, "RCU-hours");
    assert_close(num(bill, &["charges", "1", "usage"]), 50.0, "WCU-hours");
    // Next to that, the writes consumed 60 WCU in an hour: the bill does not follow them.
    assert_close(
        num(&s, &["components", "orders", "consumed_wcu_mean"]) * 3600.0,
        60.0,
        "consumed WCU",
    );
    let basis = bill["basis"].as_str().unwrap();
    assert!(
        basis.contains("100 RCU-hours provisioned (used or not)"),
        "{basis}"
    );
}

/// On demand, the bill counts request units: 399 eventually consistent reads of 6 KB (2 × 4 KB,
/// halved: 1 RRU each) and 199 writes of 1.5 KB (2 WRU each) in 100 s.
#[test]
fn an_on_demand_table_bills_request_units_as_the_model_counts_them() {
    let s = summary(
        r#"
[simulation]
duration = "100s"
warmup = "0s"
seed = 1

[[workload]]
name = "reads"
target = "orders"
op = "read"
item_kb = 6
arrival = { process = "constant", rate = "4/s" }

[[workload]]
name = "writes"
target = "orders"
op = "write"
item_kb = 1.5
arrival = { process = "constant", rate = "2/s" }

[[component]]
name = "orders"
kind = "dynamodb"
mode = "on_demand"
"#,
    );
    let bill = &s["cost"]["components"]["orders"];
    assert_eq!(
        num(&s, &["workloads", "reads", "requests", "created"]),
        399.0
    );
    assert_eq!(
        num(&s, &["workloads", "writes", "requests", "created"]),
        199.0
    );
    let expected = 399.0 * 1.0 / 1e6 * PER_MILLION_RRU + 199.0 * 2.0 / 1e6 * PER_MILLION_WRU;
    assert_close(num(bill, &["usd"]), expected, "on-demand table");
    assert_close(num(bill, &["charges", "0", "usage"]), 399e-6, "million RRU");
    assert_close(num(bill, &["charges", "1", "usage"]), 398e-6, "million WRU");
    // No table_gb: no storage.
    assert_close(num(bill, &["charges", "2", "usd"]), 0.0, "storage");
}

/// A queue nobody sends to, read by one poller for 100 s: short polling (every 1 s) makes an
/// empty receive at 0, 1, ..., 99 s (100 requests); long polling (20 s) one at 20, 40, 60 and
/// 80 s (the wait that starts at 80 s ends with the run): 4 requests.
#[test]
fn long_polling_bills_fewer_empty_receives_than_short_polling() {
    let queue = |polling: &str| {
        format!(
            r#"
[simulation]
duration = "100s"
warmup = "0s"
seed = 1

[[workload]]
name = "direct"
target = "workers"
arrival = {{ process = "constant", rate = "0.001/s" }}

[[component]]
name = "jobs"
kind = "sqs"
consumer = "workers"
{polling}

[[component]]
name = "workers"
kind = "ec2_fleet"
instances = 1
vcpus = 1
handler = [ {{ sleep = "10ms" }} ]
"#
        )
    };
    let short = summary(&queue("receive_wait = \"0s\"\npoll_interval = \"1s\""));
    let long = summary(&queue("receive_wait = \"20s\""));
    let short_usd = num(&short, &["cost", "components", "jobs", "usd"]);
    let long_usd = num(&long, &["cost", "components", "jobs", "usd"]);
    assert_close(
        short_usd,
        100.0 / 1e6 * SQS_STANDARD_PER_MILLION,
        "short polling",
    );
    assert_close(
        long_usd,
        4.0 / 1e6 * SQS_STANDARD_PER_MILLION,
        "long polling",
    );
    assert_eq!(
        num(&short, &["components", "jobs", "empty_receives"]),
        100.0
    );
    assert!(long_usd < short_usd);
}

/// 99 messages of 100 KB (two 64 KB chunks each) sent at 1/s and read by a long-polling poller
/// that is always waiting when the next one comes: 99 sends and 99 receives of 2 requests
/// each, 99 deletes, no empty receive. A FIFO queue bills the same requests at its own price.
#[test]
fn sqs_bills_sends_receives_and_deletes_with_64_kb_chunks() {
    let queue = |fifo: &str| {
        format!(
            r#"
[simulation]
duration = "100s"
warmup = "0s"
seed = 1

[[workload]]
name = "orders"
target = "jobs{fifo}"
item_kb = 100
arrival = {{ process = "constant", rate = "1/s" }}

[[component]]
name = "jobs{fifo}"
kind = "sqs"
consumer = "workers"
{fifo_type}

[[component]]
name = "workers"
kind = "ec2_fleet"
instances = 1
vcpus = 1
handler = [ {{ sleep = "10ms" }} ]
"#,
            fifo_type = if fifo.is_empty() {
                ""
            } else {
                "type = \"fifo\""
            }
        )
    };
    let requests = 99.0 * 2.0 + 99.0 * 2.0 + 99.0;
    let s = summary(&queue(""));
    let bill = &s["cost"]["components"]["jobs"];
    assert_close(
        num(bill, &["usd"]),
        requests / 1e6 * SQS_STANDARD_PER_MILLION,
        "standard",
    );
    let basis = bill["basis"].as_str().unwrap();
    assert!(
        basis.contains("495 requests (198 sends, 198 receives, 0 empty receives, 99 deletes"),
        "{basis}"
    );
    let s = summary(&queue("-fifo"));
    assert_close(
        num(&s, &["cost", "components", "jobs-fifo", "usd"]),
        requests / 1e6 * SQS_FIFO_PER_MILLION,
        "fifo",
    );
}

fn balancer(kind: &str, extra: &str, item_kb: f64) -> String {
    format!(
        r#"
[simulation]
duration = "100s"
warmup = "0s"
seed = 1

[[workload]]
name = "calls"
target = "lb"
item_kb = {item_kb}
arrival = {{ process = "constant", rate = "4/s" }}

[[component]]
name = "lb"
kind = "{kind}"
targets = "web"
{extra}

[[component]]
name = "web"
kind = "ec2_fleet"
instances = 2
handler = [ {{ sleep = "10ms" }} ]
"#
    )
}

/// 399 one-KB requests in 100 s, each on its own connection: the new connections (399 /
/// (25/s × 3600 s) LCU-hours) outweigh the bytes (399 KB) and the active connections (about
/// 0.04 on average). With 1 MB requests the bytes (399 MB) set the LCUs instead.
#[test]
fn an_alb_bills_its_hours_and_the_largest_lcu_dimension() {
    let hours = 100.0 / 3600.0;
    let s = summary(&balancer("alb", "", 1.0));
    let bill = &s["cost"]["components"]["lb"];
    let lcu_hours = 399.0 / (25.0 * 3600.0);
    assert_close(
        num(bill, &["charges", "1", "usage"]),
        lcu_hours,
        "LCU-hours",
    );
    assert_close(
        num(bill, &["usd"]),
        hours * ALB_HOUR + lcu_hours * LCU_HOUR,
        "connections",
    );
    let basis = bill["basis"].as_str().unwrap();
    assert!(basis.contains("new connections in 1 h"), "{basis}");

    let s = summary(&balancer("alb", "", 1024.0));
    let bill = &s["cost"]["components"]["lb"];
    let lcu_hours = 399.0 * 1024.0 / KB_PER_GB;
    assert_close(
        num(bill, &["charges", "1", "usage"]),
        lcu_hours,
        "LCU-hours",
    );
    assert_close(
        num(bill, &["usd"]),
        hours * ALB_HOUR + lcu_hours * LCU_HOUR,
        "bytes",
    );
    let basis = bill["basis"].as_str().unwrap();
    assert!(basis.contains("processed bytes in 1 h"), "{basis}");
}

/// An NLB's NLCU allows 800 new connections a second but only 1 GB an hour: 399 one-KB
/// requests make 399 KB, 399 / 1024² NLCU-hours, more than the 399 / (800 × 3600) of their
/// connections.
#[test]
fn an_nlb_bills_its_hours_and_nlcu_hours() {
    let s = summary(&balancer("nlb", "", 1.0));
    let bill = &s["cost"]["components"]["lb"];
    let nlcu_hours = 399.0 / KB_PER_GB;
    assert!(nlcu_hours > 399.0 / (800.0 * 3600.0));
    assert_close(
        num(bill, &["usd"]),
        100.0 / 3600.0 * NLB_HOUR + nlcu_hours * NLCU_HOUR,
        "nlb",
    );
    // Cross-zone off (the NLB default): no transfer line.
    assert_eq!(bill["charges"].as_array().unwrap().len(), 2);
}

/// Two AZs, a target in each. The ALB routes across zones for free; an NLB with cross-zone on
/// pays the inter-AZ rate out of one AZ and into the other for each payload its nodes send to
/// the other AZ's target: about half of the 399 requests of 64 KB.
#[test]
fn inter_az_transfer_is_billed_on_an_nlb_with_cross_zone_not_on_an_alb() {
    let region = r#"
[region]
azs = ["us-east-1a", "us-east-1b"]
"#;
    let with_azs = |kind: &str, extra: &str| {
        let text = balancer(kind, extra, 64.0).replace(
            "instances = 2\n",
            "instances = 2\nazs = [\"us-east-1a\", \"us-east-1b\"]\n",
        );
        format!("{region}{text}")
    };
    let alb = summary(&with_azs("alb", ""));
    let lines = alb["cost"]["components"]["lb"]["charges"]
        .as_array()
        .unwrap();
    assert_eq!(lines.len(), 2, "an ALB bills no transfer: {lines:?}");

    let nlb = summary(&with_azs("nlb", "cross_zone = true"));
    let bill = &nlb["cost"]["components"]["lb"];
    let transfer = &bill["charges"][2];
    assert_eq!(transfer["unit"], "GB transferred between AZs");
    let gb_both_ways = num(transfer, &["usage"]);
    // A whole number of 64 KB payloads, each counted twice (out of one AZ, into the other).
    let crossings = gb_both_ways / 2.0 * KB_PER_GB / 64.0;
    assert_close(crossings, crossings.round(), "whole crossings");
    assert!(
        (100.0..=300.0).contains(&crossings),
        "about half of 399 requests cross: {crossings}"
    );
    assert_close(
        num(transfer, &["usd"]),
        2.0 * crossings * 64.0 / KB_PER_GB * INTER_AZ_GB_EACH_WAY,
        "transfer",
    );
    let nlcu_hours = 399.0 * 64.0 / KB_PER_GB;
    assert_close(
        num(bill, &["usd"]),
        100.0 / 3600.0 * NLB_HOUR + nlcu_hours * NLCU_HOUR + num(transfer, &["usd"]),
        "nlb total",
    );
    // Without cross-zone, no node sends to another AZ: no transfer line.
    let local = summary(&with_azs("nlb", "cross_zone = false"));
    assert_eq!(
        local["cost"]["components"]["lb"]["charges"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// 399 requests through a REST API for 100 s; with a cache (0.5 GB by default, or a size
/// AWS offers) its hours are billed too, whether it hits or not.
#[test]
fn api_gateway_bills_requests_and_cache_hours_by_size() {
    let api = |cache: &str| {
        format!(
            r#"
[simulation]
duration = "100s"
warmup = "0s"
seed = 1

[[workload]]
name = "calls"
target = "api"
op = "read"
arrival = {{ process = "constant", rate = "4/s" }}

[[component]]
name = "api"
kind = "api_gateway"
target = "fn"
{cache}

[[component]]
name = "fn"
kind = "lambda"
memory_mb = 1024
cold_start = "0s"
handler = [ {{ sleep = "100ms" }} ]
"#
        )
    };
    let hours = 100.0 / 3600.0;
    let requests = 399.0 / 1e6 * REST_PER_MILLION;
    let s = summary(&api(""));
    assert_close(
        num(&s, &["cost", "components", "api", "usd"]),
        requests,
        "no cache",
    );
    let s = summary(&api("cache = { ttl = \"300s\" }"));
    assert_close(
        num(&s, &["cost", "components", "api", "usd"]),
        requests + hours * CACHE_0_5_GB_HOUR,
        "0.5 GB cache",
    );
    let s = summary(&api("cache = { ttl = \"300s\", size_gb = 6.1 }"));
    assert_close(
        num(&s, &["cost", "components", "api", "usd"]),
        requests + hours * CACHE_6_1_GB_HOUR,
        "6.1 GB cache",
    );
    let err = parse(&api("cache = { size_gb = 2 }")).unwrap_err();
    assert!(err.contains("`cache.size_gb` must be one of"), "{err}");
    assert!(err.contains("0.5, 1.6, 6.1"), "{err}");
}

/// A fresh folder of this test process.
fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("awsim-cost-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const EMBEDDED_PRICES: &str = include_str!("../../models/prices.toml");

/// The lambda scenario above billed with a price file where a request costs 10 times more:
/// the same 399 requests, the request line 10 times larger. `[pricing] file` is relative to
/// the scenario; `--prices` wins over it.
#[test]
fn a_price_file_changes_the_bill_exactly_and_the_flag_wins() {
    let dir = temp("override");
    let dearer =
        EMBEDDED_PRICES.replace("usd_per_request = 0.0000002", "usd_per_request = 0.000002");
    assert_ne!(dearer, EMBEDDED_PRICES);
    std::fs::create_dir_all(dir.join("prices")).unwrap();
    std::fs::write(dir.join("prices/dear.toml"), &dearer).unwrap();
    std::fs::write(dir.join("list.toml"), EMBEDDED_PRICES).unwrap();
    let scenario = format!(
        "[pricing]\nfile = \"prices/dear.toml\"\n{}",
        lambda_scenario("")
    );
    let path = dir.join("fn.toml");
    std::fs::write(&path, &scenario).unwrap();
    let run = |s: &Scenario| {
        let summary = run_quietly(s, RunSettings::default()).unwrap();
        serde_json::to_value(&summary).unwrap()
    };
    let s = run(&Scenario::load(&path).unwrap());
    let duration = 399.0 * 0.1 * LAMBDA_X86_GB_S;
    assert_close(
        num(&s, &["cost", "components", "fn", "usd"]),
        399.0 * 0.000002 + duration,
        "scenario's price file",
    );
    let file = s["cost"]["prices"]["file"].as_str().unwrap();
    assert!(file.ends_with("dear.toml"), "{file}");
    assert_eq!(s["cost"]["prices"]["taken"], "2026-12-07");
    // The flag wins.
    let list = dir.join("list.toml");
    let s = run(&Scenario::load_with_prices(&path, Some(&list)).unwrap());
    assert_close(
        num(&s, &["cost", "components", "fn", "usd"]),
        399.0 * LAMBDA_PER_REQUEST + duration,
        "--prices",
    );
    assert_eq!(s["cost"]["prices"]["file"], list.display().to_string());
    // Without either: the embedded list.
    let s = summary(&lambda_scenario(""));
    assert_eq!(s["cost"]["prices"]["file"], "embedded");
}

/// A price file with a misspelt field, a negative price or a missing file is refused with its
/// place: the price file's line and column, and the scenario's `[pricing]` line.
#[test]
fn a_bad_price_file_is_a_located_error() {
    let dir = temp("bad");
    let misspelt = EMBEDDED_PRICES.replace("usd_per_million_fifo", "usd_per_milion_fifo");
    std::fs::write(dir.join("misspelt.toml"), &misspelt).unwrap();
    let line = misspelt
        .lines()
        .position(|l| l.starts_with("usd_per_milion_fifo"))
        .unwrap()
        + 1;
    let scenario = |file: &str| format!("[pricing]\nfile = \"{file}\"\n{}", lambda_scenario(""));
    let path = dir.join("fn.toml");
    std::fs::write(&path, scenario("misspelt.toml")).unwrap();
    let err = Scenario::load(&path).unwrap_err().to_string();
    assert!(err.contains(&format!("misspelt.toml:{line}:1:")), "{err}");
    assert!(err.contains("unknown field `usd_per_milion_fifo`"), "{err}");
    assert!(err.contains("usd_per_million_fifo"), "{err}");
    assert!(err.contains("fn.toml:2:8"), "{err}");

    let negative = EMBEDDED_PRICES.replace("usd_per_wcu_hour = 0.00065", "usd_per_wcu_hour = -1");
    std::fs::write(dir.join("negative.toml"), negative).unwrap();
    std::fs::write(&path, scenario("negative.toml")).unwrap();
    let err = Scenario::load(&path).unwrap_err().to_string();
    assert!(
        err.contains("dynamodb.usd_per_wcu_hour must be a price of zero or more, found -1"),
        "{err}"
    );

    std::fs::write(&path, scenario("nowhere.toml")).unwrap();
    let err = Scenario::load(&path).unwrap_err().to_string();
    assert!(err.contains("cannot read the price file"), "{err}");

    let err = Scenario::load_with_prices(&path, Some(&dir.join("misspelt.toml")))
        .unwrap_err()
        .to_string();
    assert!(err.contains("--prices:"), "{err}");
    assert!(err.contains(&format!("misspelt.toml:{line}:1:")), "{err}");
}

/// `awsim check --prices FILE` and `awsim run --prices FILE`: a bad list is refused (exit 2)
/// with its place; a good one is the run's, and summary.json says so.
#[test]
fn the_prices_flag_of_check_and_run() {
    let dir = temp("flag");
    let path = dir.join("fn.toml");
    std::fs::write(&path, lambda_scenario("")).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, EMBEDDED_PRICES.replace("[sqs]", "[sqs]\nfree = true")).unwrap();
    let awsim = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_awsim"))
            .args(args)
            .output()
            .expect("awsim runs")
    };
    let (p, b) = (path.to_str().unwrap(), bad.to_str().unwrap());
    let out = awsim(&["check", p, "--prices", b]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:") && err.contains("unknown field `free`"),
        "{err}"
    );
    let good = dir.join("good.toml");
    std::fs::write(&good, EMBEDDED_PRICES).unwrap();
    let g = good.to_str().unwrap();
    assert!(awsim(&["check", p, "--prices", g]).status.success());
    let run = dir.join("run");
    let out = awsim(&[
        "run",
        p,
        "--prices",
        g,
        "--out",
        run.to_str().unwrap(),
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["cost"]["prices"]["file"], g);
}

/// `awsim sweep --prices FILE`: every run of every point bills with the file's prices.
#[test]
fn a_sweep_bills_every_point_with_the_prices_flag() {
    let dir = temp("sweep");
    let path = dir.join("fn.toml");
    std::fs::write(&path, lambda_scenario("")).unwrap();
    let dear = dir.join("dear.toml");
    std::fs::write(
        &dear,
        EMBEDDED_PRICES.replace("usd_per_request = 0.0000002", "usd_per_request = 0.000002"),
    )
    .unwrap();
    let out = dir.join("out");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_awsim"))
        .args([
            "sweep",
            path.to_str().unwrap(),
            "--set",
            "fn.memory_mb=512,1024",
        ])
        .args([
            "-r",
            "1",
            "-j",
            "1",
            "-q",
            "--prices",
            dear.to_str().unwrap(),
        ])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .expect("awsim runs");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    for (memory, gb) in [(512, 0.5), (1024, 1.0)] {
        let run = out.join(format!("runs/fn.memory_mb={memory}/rep-1.json"));
        let s: Value = serde_json::from_str(&std::fs::read_to_string(&run).unwrap()).unwrap();
        assert_close(
            num(&s, &["cost", "components", "fn", "usd"]),
            399.0 * 0.000002 + 399.0 * 0.1 * gb * LAMBDA_X86_GB_S,
            "point",
        );
        assert_eq!(s["cost"]["prices"]["file"], dear.display().to_string());
    }
}

/// A Lambda consumer taking batches of up to 20 with a 25 s window, messages sent at 1, 2, ...,
/// 99 s. The window starts with the first message that waits and runs its course: a batch
/// fills (20 messages) at 20 s, the window started at 1 s ends at 26 s with 6 (21..26); the
/// next starts at 27 s: 20 at 46 s, 6 at 52 s; then 20 at 72 s, 6 at 78 s; then 20 at 98 s
/// (the window started at 79 s would end after the run; message 99 waits). A batch of 20
/// takes two ReceiveMessage calls (10 messages each) and two DeleteMessageBatch calls, a batch
/// of 6 one of each: 4 × 2 + 3 = 11 receives, 11 deletes, plus 99 sends.
#[test]
fn an_event_source_mapping_receives_and_deletes_ten_messages_a_request() {
    let s = summary(
        r#"
[simulation]
duration = "100s"
warmup = "0s"
seed = 1

[[workload]]
name = "orders"
target = "jobs"
arrival = { process = "constant", rate = "1/s" }

[[component]]
name = "jobs"
kind = "sqs"
consumer = "fn"
batch_size = 20
batch_window = "25s"

[[component]]
name = "fn"
kind = "lambda"
memory_mb = 1024
cold_start = "0s"
handler = [ { sleep = "100ms" } ]
"#,
    );
    let bill = &s["cost"]["components"]["jobs"];
    let basis = bill["basis"].as_str().unwrap();
    assert!(
        basis.contains("121 requests (99 sends, 11 receives, 0 empty receives, 11 deletes"),
        "{basis}"
    );
    assert_close(
        num(bill, &["usd"]),
        121.0 / 1e6 * SQS_STANDARD_PER_MILLION,
        "esm",
    );
}
