//! Scale (issue 14): building and running large scenarios costs time and memory in proportion
//! to what they hold, not to its square; a timer per request goes when the request ends.
//!
//! No test here is timed (speed targets live in `benches/`). Each runs a case that a quadratic
//! build, a per-request pass over every instance or partition, or timers kept for their whole
//! timeout would not finish in the test run's time, or would fail outright (the pending-event
//! bounds). Each takes about a second in a release build.

use std::path::Path;

use awsim::engine::time::{SimDuration, SimTime};
use awsim::run::run_quietly;
use awsim::run::summary::Summary;
use awsim::scenario::{RunSettings, Scenario};

fn scenario(text: &str) -> Scenario {
    Scenario::parse(text, Path::new("scale.toml")).unwrap_or_else(|e| panic!("{e}"))
}

fn run(text: &str) -> Summary {
    run_quietly(&scenario(text), RunSettings::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn component<'a>(summary: &'a Summary, name: &str) -> &'a serde_json::Value {
    summary.components.get(name).expect("component reported")
}

#[test]
fn a_fleet_of_a_million_instances_checks() {
    // `awsim check` builds the simulation: a million instances, placed in AZs.
    let s = scenario(
        r#"
[simulation]
duration = "1m"
[region]
azs = ["a", "b", "c"]
[[workload]]
name = "load"
target = "web"
arrival = { process = "poisson", rate = "100/s" }
[[component]]
name = "web"
kind = "ec2_fleet"
instances = 1000000
vcpus = 2
handler = [ { compute = "10ms" } ]
"#,
    );
    let simulation = s.build(RunSettings::default()).expect("builds");
    assert_eq!(simulation.components().count(), 2);
}

#[test]
fn a_hundred_thousand_targets_register_and_take_turns_behind_an_alb() {
    // Every target registers at the start; least outstanding requests picks among all of
    // them for each request. 4 000 requests a second, each held 100 ms: about 400 of the
    // 100 000 targets are busy at once, so each request goes to the next idle one in turn.
    let summary = run(r#"
[simulation]
duration = "5s"
[[workload]]
name = "load"
target = "lb"
arrival = { process = "constant", rate = "4000/s" }
[[component]]
name = "lb"
kind = "alb"
algorithm = "least_outstanding_requests"
targets = "web"
[[component]]
name = "web"
kind = "ec2_fleet"
instances = 100000
max_queue = 0
handler = [ { compute = "100ms" } ]
"#);
    let lb = component(&summary, "lb");
    assert_eq!(lb["targets"], 100_000);
    assert_eq!(lb["healthy_targets_end"], 100_000);
    assert_eq!(lb["rejected"], 0);
    // 19 999 requests, taken in turn from the start: the first 19 999 targets once each.
    let per_target = lb["target_requests"].as_array().unwrap();
    let once = per_target.iter().filter(|n| n.as_u64() == Some(1)).count();
    assert_eq!(once, 19_999);
    assert!(per_target[..19_999].iter().all(|n| n == 1));
}

#[test]
fn a_group_of_a_hundred_thousand_starts_scales_in_and_out() {
    // The group starts at 100 000 instances behind an ALB, halves at 4 s (scale-in drains the
    // oldest of each AZ) and goes back to 100 000 at 6 s (50 000 launches, balanced over AZs).
    let summary = run(r#"
[simulation]
duration = "8s"
[region]
azs = ["a", "b", "c"]
[[workload]]
name = "load"
target = "lb"
arrival = { process = "poisson", rate = "2000/s" }
[[workload]]
name = "direct"
target = "web"
arrival = { process = "poisson", rate = "500/s" }
[[component]]
name = "lb"
kind = "alb"
algorithm = "least_outstanding_requests"
targets = "web"
deregistration_delay = "1s"
[[component]]
name = "web"
kind = "asg"
min = 1
max = 200000
desired = 100000
launch_time = "1s"
handler = [ { compute = "20ms" } ]
scheduled = [ { at = "4s", desired = 50000 }, { at = "6s", desired = 100000 } ]
"#);
    let web = component(&summary, "web");
    assert_eq!(web["desired_end"], 100_000);
    assert_eq!(web["instances_launched"], 150_000);
    assert_eq!(web["instances_max"], 100_000);
    let per_az = web["in_service_per_az_end"].as_object().unwrap();
    let counts: Vec<u64> = per_az.values().map(|v| v.as_u64().unwrap()).collect();
    assert_eq!(counts.iter().sum::<u64>(), 100_000);
    assert!(counts.iter().max().unwrap() - counts.iter().min().unwrap() <= 1);
    // The load balancer drains what it sent before an instance goes. (Requests sent to the
    // group directly are cut off when the instance terminates: `direct` may see 502s.)
    assert_eq!(summary.workloads["load"]["requests"]["failed"], 0);
    assert!(summary.conservation.ok);
}

#[test]
fn a_table_of_a_million_partitions_lends_capacity_per_request() {
    // A hot key: its partition's share (0.04 RCU/s) is spent at once and every request
    // borrows from the partitions with unused capacity.
    let summary = run(r#"
[simulation]
duration = "3s"
[[workload]]
name = "reads"
target = "table"
op = "read"
item_kb = 4
arrival = { process = "poisson", rate = "5000/s" }
key = { dist = "zipf", keys = 1000000, exponent = 1.2 }
[[component]]
name = "table"
kind = "dynamodb"
rcu = 40000
wcu = 100
partitions = 1000000
"#);
    let table = component(&summary, "table");
    assert_eq!(table["partitions"], 1_000_000);
    // Everything fits in the table's capacity: adaptive capacity serves the hot partitions.
    assert_eq!(table["throttle_events"], 0);
    assert!(table["hottest_partition_share"].as_f64().unwrap() > 0.1);
}

#[test]
fn two_thousand_workloads_run() {
    let mut text = String::from(
        r#"
[simulation]
duration = "10s"
[[component]]
name = "web"
kind = "ec2_fleet"
instances = 4
vcpus = 2
handler = [ { compute = { dist = "exponential", mean = "5ms" } } ]
"#,
    );
    for i in 0..2_000 {
        text.push_str(&format!(
            "[[workload]]\nname = \"w{i}\"\ntarget = \"web\"\n\
             arrival = {{ process = \"poisson\", rate = \"1/s\" }}\n"
        ));
    }
    let summary = run(&text);
    assert_eq!(summary.workloads.len(), 2_000);
    assert!(summary.conservation.ok);
}

/// Runs `text` in steps of `step`, checking at each that the events pending (not counting
/// cancelled ones) are at most `per_request` per request in flight, plus `fixed`. Returns the
/// largest number of requests in flight seen.
fn pending_events_follow_in_flight(text: &str, step: SimDuration, per_request: u64, fixed: u64) {
    let mut simulation = scenario(text).build(RunSettings::default()).unwrap();
    let mut t = SimTime::ZERO;
    let mut busiest = 0;
    while t < simulation.end() {
        t += step;
        simulation
            .run_until(t, &mut |_| {})
            .expect("within its bounds");
        let in_flight: u64 = simulation.components().map(|(_, c)| c.in_flight()).sum();
        busiest = busiest.max(in_flight);
        let pending = simulation.pending();
        assert!(
            pending <= per_request * in_flight + fixed,
            "at {t}: {pending} events pending for {in_flight} requests in flight"
        );
    }
    assert!(busiest > 0, "the check saw requests in flight");
}

#[test]
fn a_900_s_lambda_timeout_leaves_no_timer_behind() {
    // 1 000 invocations a second of 20 ms each: about 20 in flight (each counted by the
    // workload and the function), each with its step timer and its timeout; left pending
    // until their 900 s were up, timeouts piled up to 300 000 by the end.
    pending_events_follow_in_flight(
        r#"
[simulation]
duration = "5m"
[[workload]]
name = "calls"
target = "fn"
arrival = { process = "poisson", rate = "1000/s" }
[[component]]
name = "fn"
kind = "lambda"
timeout = "900s"
cold_start = "0s"
handler = [ { compute = { dist = "exponential", mean = "20ms" } } ]
"#,
        SimDuration::from_secs(10),
        2,
        16,
    );
}

#[test]
fn a_12_h_visibility_timeout_leaves_no_timer_behind() {
    // Messages are received and deleted within milliseconds; each receive arms a 12 h
    // visibility timer, which a delete now cancels.
    pending_events_follow_in_flight(
        r#"
[simulation]
duration = "5m"
[[workload]]
name = "orders"
target = "queue"
arrival = { process = "poisson", rate = "500/s" }
[[component]]
name = "queue"
kind = "sqs"
visibility_timeout = "12h"
consumer = "workers"
[[component]]
name = "workers"
kind = "ec2_fleet"
instances = 2
vcpus = 4
handler = [ { compute = { dist = "exponential", mean = "2ms" } } ]
"#,
        SimDuration::from_secs(10),
        4,
        64,
    );
}

#[test]
fn an_invocation_that_times_out_mid_step_leaves_no_step_timer_behind() {
    // Every invocation computes for an hour and times out after 3 s: its step timer, left
    // pending, would wait the rest of the hour.
    pending_events_follow_in_flight(
        r#"
[simulation]
duration = "5m"
[[workload]]
name = "calls"
target = "fn"
arrival = { process = "poisson", rate = "100/s" }
[[component]]
name = "fn"
kind = "lambda"
timeout = "3s"
cold_start = "0s"
handler = [ { compute = "1h" } ]
"#,
        SimDuration::from_secs(10),
        2,
        16,
    );
}
