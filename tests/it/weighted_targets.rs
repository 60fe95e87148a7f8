//! An ALB forwarding to several target groups by weight (AWS's weighted target groups), and
//! weight changes at given times: the shares against the binomial distribution, the exact
//! moments a shift takes effect, and located errors.

use serde_json::Value;

use crate::stats::{Checks, replicate};

/// The summary of a run of `text` (default seed), as JSON.
fn run_json(text: &str) -> Value {
    let scenario = awsim::scenario::Scenario::parse(text, std::path::Path::new("weights.toml"))
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let s = awsim::run::run_quietly(&scenario, awsim::scenario::RunSettings::default())
        .unwrap_or_else(|e| panic!("{e}"));
    serde_json::to_value(&s).expect("summary serialises")
}

/// An ALB with `alb` (its forward lines) in front of three fleets, blue, green and grey, of two
/// instances each, under `rate` constant arrivals for `duration`.
fn three_groups(alb: &str, rate: &str, duration: &str) -> String {
    let fleet = |name: &str| {
        format!(
            "[[component]]\nname = \"{name}\"\nkind = \"ec2_fleet\"\ninstances = 2\nhandler = [ {{ compute = \"1ms\" }} ]\n"
        )
    };
    format!(
        r#"
[simulation]
duration = "{duration}"
[[workload]]
name = "load"
target = "lb"
arrival = {{ process = "constant", rate = "{rate}" }}
[[component]]
name = "lb"
kind = "alb"
{alb}
{}{}{}"#,
        fleet("blue"),
        fleet("green"),
        fleet("grey")
    )
}

/// Requests the ALB forwarded to each of its target groups, in `forward` order.
fn group_requests(components: &serde_json::Map<String, Value>) -> Vec<u64> {
    components["lb"]["target_groups"]
        .as_array()
        .expect("several groups: a target_groups figure")
        .iter()
        .map(|g| g["requests"].as_u64().unwrap())
        .collect()
}

#[test]
fn weighted_groups_get_binomial_shares_of_the_requests() {
    // Weights 1, 0 and 3: each request goes to blue with probability 1/4, to grey with 3/4,
    // never to green. 200/s for 60 s: 11 999 arrivals, independent draws from the ALB's
    // stream, so blue's count is Binomial(n, 1/4) in every run (sd about 47).
    let text = three_groups(
        r#"forward = [ { targets = "blue", weight = 1 }, { targets = "green", weight = 0 },
            { targets = "grey", weight = 3 } ]"#,
        "200/s",
        "60s",
    );
    let runs = replicate(&text, 20, |s| group_requests(&s.components));
    let mut checks = Checks::new("weighted target groups 1/0/3");
    let p = 0.25;
    for (seed, counts) in runs.iter().enumerate() {
        let n: u64 = counts.iter().sum();
        checks.equal("arrivals", 11_999.0, n as f64);
        checks.equal("green (weight 0) gets nothing", 0.0, counts[1] as f64);
        // Five binomial standard deviations: a miss has probability below 1e-6 per run.
        let sd = (n as f64 * p * (1.0 - p)).sqrt();
        checks.near(
            &format!("seed {}: blue's count", seed + 1),
            n as f64 * p,
            counts[0] as f64,
            5.0 * sd,
        );
    }
    checks.ci(
        "blue's share over 20 seeds",
        p,
        runs.iter()
            .map(|c| c[0] as f64 / c.iter().sum::<u64>() as f64),
    );
    checks.finish();
}

#[test]
fn a_single_group_forward_sends_everything_there_without_a_draw() {
    // `forward` with one group is `targets`: the same figures, request for request.
    let plain = run_json(&three_groups(r#"targets = "blue""#, "50/s", "20s"));
    let one = run_json(&three_groups(
        r#"forward = [ { targets = "blue", weight = 7 } ]"#,
        "50/s",
        "20s",
    ));
    assert_eq!(plain["components"]["lb"], one["components"]["lb"]);
    assert_eq!(
        plain["components"]["lb"]["target_requests"],
        serde_json::json!([500, 499])
    );
}

#[test]
fn weight_changes_take_effect_at_their_times() {
    // Blue/green in two steps: all to blue, half and half from 20.05 s, all to green from
    // 40.05 s. 10 arrivals a second at 0.1, 0.2, ... 59.9 s: 200 before the first change
    // (all blue), 200 between (Binomial(200, 1/2) to blue), 199 after (all green).
    let text = three_groups(
        r#"forward = [ { targets = "blue", weight = 100 }, { targets = "green", weight = 0 },
            { targets = "grey", weight = 0 } ]
weight_changes = [ { at = "20.05s", weights = [50, 50, 0] },
                   { at = "40.05s", weights = [0, 100, 0] } ]"#,
        "10/s",
        "60s",
    );
    let s = run_json(&text);
    let components = s["components"].as_object().unwrap();
    let counts = group_requests(components);
    assert_eq!(counts.iter().sum::<u64>(), 599);
    assert_eq!(counts[2], 0);
    let (blue_in_middle, green_in_middle) = (counts[0] - 200, counts[1] - 199);
    assert_eq!(blue_in_middle + green_in_middle, 200);
    // Binomial(200, 1/2): sd 7.07; five of them.
    assert!(
        (blue_in_middle as f64 - 100.0).abs() <= 5.0 * 50f64.sqrt(),
        "{counts:?}"
    );
    let groups = &components["lb"]["target_groups"];
    assert_eq!(groups[0]["weight_end"], 0);
    assert_eq!(groups[1]["weight_end"], 100);
    assert_eq!(groups[1]["name"], "green");
    // Round robin inside each group: blue's two instances split its requests evenly.
    let per_target: Vec<u64> = components["lb"]["target_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(per_target.len(), 6);
    assert!(per_target[0].abs_diff(per_target[1]) <= 1, "{per_target:?}");
    assert!(per_target[2].abs_diff(per_target[3]) <= 1, "{per_target:?}");
    assert_eq!(s["conservation"]["ok"], true);
}

#[test]
fn each_group_registers_drains_and_is_health_checked_on_its_own() {
    // Two auto scaling groups behind one ALB, half and half. Green scales out to 3 at 30 s:
    // its third instance is in service 60 s later (launch time), checked every 10 s from
    // then and healthy after 2 passes, at 100 s; blue scales in to 1 at 30 s and its second
    // instance drains (no request left after 5 s at most) and is terminated.
    let asg = |name: &str, desired: u32| {
        format!(
            r#"[[component]]
name = "{name}"
kind = "asg"
min = 1
max = 4
desired = 2
handler = [ {{ compute = "10ms" }} ]
launch_time = "60s"
scheduled = [ {{ at = "30s", desired = {desired} }} ]
"#
        )
    };
    let text = format!(
        r#"
[simulation]
duration = "200s"
[[workload]]
name = "load"
target = "lb"
arrival = {{ process = "constant", rate = "20/s" }}
[[component]]
name = "lb"
kind = "alb"
forward = [ {{ targets = "blue", weight = 1 }}, {{ targets = "green", weight = 1 }} ]
deregistration_delay = "5s"
health_check = {{ interval = "10s", healthy_threshold = 2 }}
{}{}"#,
        asg("blue", 1),
        asg("green", 3)
    );
    let s = run_json(&text);
    let lb = &s["components"]["lb"];
    let groups = lb["target_groups"].as_array().unwrap();
    assert_eq!(groups[0]["targets"], 2);
    assert_eq!(groups[1]["targets"], 3);
    // blue 0, 1; green 0, 1, 2: green's new instance got traffic once healthy (a third of
    // green's 10/s from 100 s: about 333), blue's oldest (scaled in) stopped at 30 s.
    let per_target: Vec<u64> = lb["target_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!((250..=420).contains(&per_target[4]), "{per_target:?}");
    assert!(per_target[1] > per_target[0] + 1_000, "{per_target:?}");
    assert!(per_target[2].abs_diff(per_target[3]) <= 1, "{per_target:?}");
    assert_eq!(lb["healthy_targets_end"], 4);
    assert_eq!(s["components"]["blue"]["desired_end"], 1);
    assert_eq!(s["components"]["green"]["desired_end"], 3);
    assert_eq!(s["workloads"]["load"]["requests"]["failed"], 0);
    assert_eq!(s["conservation"]["ok"], true);
}

#[test]
fn bad_forward_actions_are_located() {
    let base = |alb: &str| three_groups(alb, "10/s", "10s");
    let bad = [
        (
            r#"forward = [ { targets = "blue", weight = 1000 } ]"#,
            "forward[0].weight",
            "0 to 999, found 1000",
        ),
        (
            r#"targets = "blue"
forward = [ { targets = "green", weight = 1 } ]"#,
            "targets",
            "not both",
        ),
        (
            "algorithm = \"round_robin\"",
            "targets",
            "`targets` (one target group) or `forward`",
        ),
        (
            r#"forward = [ { targets = "blue", weight = 0 }, { targets = "green", weight = 0 } ]"#,
            "forward",
            "every weight is 0",
        ),
        (
            r#"forward = [ { targets = "blue", weight = 1 }, { targets = "blue", weight = 2 } ]"#,
            "forward[1].targets",
            "named twice",
        ),
        (
            r#"forward = [ { targets = "bleu", weight = 1 } ]"#,
            "bleu",
            "blue",
        ),
        (
            r#"forward = [ { targets = "blue", weight = 1 }, { targets = "green", weight = 1 } ]
weight_changes = [ { at = "5s", weights = [1] } ]"#,
            "weight_changes[0]",
            "one weight per group of `forward` (2), found 1",
        ),
        (
            r#"forward = [ { targets = "blue", weight = 1 }, { targets = "green", weight = 1 } ]
weight_changes = [ { at = "5s", weights = [0, 1] }, { at = "4s", weights = [1, 0] } ]"#,
            "weight_changes[1]",
            "time order",
        ),
        (
            r#"forward = [ { targets = "blue", weight = 1 }, { targets = "green", weight = 1 } ]
weight_changes = [ { at = "5s", weights = [0, 0] } ]"#,
            "weight_changes[0]",
            "every weight is 0",
        ),
        (
            r#"targets = "blue"
weight_changes = [ { at = "5s", weights = [1] } ]"#,
            "weight_changes",
            "need `forward`",
        ),
        (
            r#"forward = [ { targets = "blue" } ]"#,
            "weight",
            "missing field",
        ),
    ];
    for (alb, field, message) in bad {
        let text = base(alb);
        let e = awsim::scenario::Scenario::parse(&text, std::path::Path::new("weights.toml"))
            .err()
            .unwrap_or_else(|| panic!("{alb} accepted"))
            .to_string();
        assert!(e.contains(field), "{alb}: {e}");
        assert!(e.contains(message), "{alb}: {e}");
        assert!(e.contains("weights.toml:"), "{alb}: {e}");
    }
    // Six groups: one more than an ALB's forward action may name.
    let six: Vec<String> = (0..6)
        .map(|i| format!("{{ targets = \"g{i}\", weight = 1 }}"))
        .collect();
    let mut text = format!(
        "[simulation]\nduration = \"10s\"\n[[workload]]\nname = \"load\"\ntarget = \"lb\"\narrival = {{ process = \"constant\", rate = \"1/s\" }}\n[[component]]\nname = \"lb\"\nkind = \"alb\"\nforward = [ {} ]\n",
        six.join(", ")
    );
    for i in 0..6 {
        text.push_str(&format!(
            "[[component]]\nname = \"g{i}\"\nkind = \"ec2_fleet\"\ninstances = 1\nhandler = [ {{ compute = \"1ms\" }} ]\n"
        ));
    }
    let Err(e) = awsim::scenario::Scenario::parse(&text, std::path::Path::new("weights.toml"))
    else {
        panic!("six groups accepted");
    };
    let e = e.to_string();
    assert!(e.contains("1 to 5 target groups, found 6"), "{e}");
}

const LESSON: &str = "scenarios/lessons/blue_green_shift.toml";

#[test]
fn the_blue_green_lesson_shows_what_its_header_says() {
    let text = std::fs::read_to_string(LESSON).unwrap();
    let s = run_json(&text);
    let w = |name: &str| s["workloads"][name].clone();
    let failed = |name: &str| w(name)["requests"]["failed"].as_u64().unwrap();
    let p99 = |name: &str| w(name)["latency_ms"]["p99"].as_f64().unwrap().round();
    assert_eq!(failed("users-switch"), 31_868);
    assert_eq!(p99("users-switch"), 2_279.0);
    assert_eq!(failed("users-steps"), 378);
    assert_eq!(p99("users-steps"), 2_101.0);
    assert_eq!(failed("users-warm"), 0);
    assert_eq!(p99("users-warm"), 183.0);
    // Target tracking doubles the saturated group (CPU 100 % against 50 %) once it has seen
    // three datapoints, at 14 and 21 minutes.
    let outs: Vec<(f64, u64)> = s["components"]["green-switch"]["scaling_activities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["activity"] == "scale_out")
        .map(|a| {
            (
                a["time_s"].as_f64().unwrap(),
                a["desired_to"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(outs[..2], [(840.0, 4), (1260.0, 8)]);
    // Every request after the switch went to green: blue's share is the first 9 minutes'.
    for lb in ["lb-switch", "lb-warm"] {
        let groups = &s["components"][lb]["target_groups"];
        assert_eq!(groups[0]["weight_end"], 0);
        let blue = groups[0]["requests"].as_f64().unwrap();
        // 9 measured minutes at 200/s: 108 000, Poisson sd 329.
        assert!((blue - 108_000.0).abs() < 5.0 * 329.0, "{lb}: {blue}");
    }
    assert_eq!(s["conservation"]["ok"], true);
}
