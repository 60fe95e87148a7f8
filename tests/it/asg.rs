//! Auto Scaling Groups end to end: alarm timing, capacity limits, cooldown, warm-up, draining,
//! replacement, step and scheduled scaling, determinism, and bad input.
//!
//! Timings are exact where the model is deterministic: constant arrivals, constant handlers and
//! `launch_time = "60s"`. The expectations are computed from the documented semantics: one
//! datapoint per `metric_period` (60 s) aligned to time 0, visible `metric_publication_delay`
//! (60 s) after its period ends; target tracking scales out when 3 of 3 datapoints are above the
//! target, to ceil(warm capacity × metric / target), and scales in on 15 of 15 below 90 % of it.

use std::path::Path;

use awsim::components::asg::CapacityRow;
use awsim::components::outputs::column_value;
use awsim::engine::time::SimTime;
use awsim::metrics::SeriesRow;
use awsim::metrics::SeriesSink;
use awsim::run::{run, run_quietly};
use awsim::scenario::{RunSettings, Scenario};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn parse(text: &str) -> Scenario {
    Scenario::parse(text, Path::new("asg.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// The summary of one run (default seed), as JSON.
fn summary(text: &str) -> Value {
    let s = run_quietly(&parse(text), RunSettings::default()).unwrap_or_else(|e| panic!("{e}"));
    serde_json::to_value(&s).expect("summary serialises")
}

/// One time-series row of the group.
#[derive(Copy, Clone, Debug)]
struct Row {
    /// End of the interval (s).
    t: f64,
    capacity: CapacityRow,
    utilisation: f64,
    errors: u64,
}

/// Keeps the rows of one component.
struct Capture {
    component: &'static str,
    rows: Vec<Row>,
}

impl SeriesSink for Capture {
    fn row(&mut self, time: SimTime, name: &str, kind: &str, row: &SeriesRow) {
        if name == self.component {
            let count = |column| {
                column_value(kind, row, column).expect("an asg reports its capacity") as u64
            };
            self.rows.push(Row {
                t: time.as_secs_f64(),
                capacity: CapacityRow {
                    desired: count("desired"),
                    pending: count("pending"),
                    in_service: count("in_service"),
                    draining: count("draining"),
                },
                utilisation: row.utilisation.expect("an asg reports its utilisation"),
                errors: row.errors,
            });
        }
    }
}

/// The summary and the group's time series (1 s rows).
fn summary_and_rows(text: &str, group: &'static str) -> (Value, Vec<Row>) {
    let mut sink = Capture {
        component: group,
        rows: Vec::new(),
    };
    let s = run(&parse(text), RunSettings::default(), &mut sink, |_| {})
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!sink.rows.is_empty(), "no rows for `{group}`");
    (serde_json::to_value(&s).expect("serialises"), sink.rows)
}

/// The row of the interval ending at `t`.
fn row_at(rows: &[Row], t: f64) -> Row {
    *rows
        .iter()
        .find(|r| (r.t - t).abs() < 1e-9)
        .unwrap_or_else(|| panic!("no row at {t} s"))
}

#[derive(Clone, Debug)]
struct Activity {
    t: f64,
    kind: String,
    from: u64,
    to: u64,
    reason: String,
}

fn activities(s: &Value, group: &str) -> Vec<Activity> {
    s["components"][group]["scaling_activities"]
        .as_array()
        .unwrap_or_else(|| panic!("no scaling_activities for `{group}`"))
        .iter()
        .map(|a| Activity {
            // To the microsecond: a decision may be stamped a nanosecond after the boundary it
            // belongs to (ordered after the period's close).
            t: (a["time_s"].as_f64().expect("time_s") * 1e6).round() / 1e6,
            kind: a["activity"].as_str().expect("activity").to_string(),
            from: a["desired_from"].as_u64().expect("desired_from"),
            to: a["desired_to"].as_u64().expect("desired_to"),
            reason: a["reason"].as_str().expect("reason").to_string(),
        })
        .collect()
}

/// The activities of one kind (`scale_out`, `in_service`, ...).
fn of_kind(all: &[Activity], kind: &str) -> Vec<Activity> {
    all.iter().filter(|a| a.kind == kind).cloned().collect()
}

fn times(all: &[Activity], kind: &str) -> Vec<f64> {
    of_kind(all, kind).iter().map(|a| a.t).collect()
}

fn figure(s: &Value, group: &str, name: &str) -> u64 {
    s["components"][group][name].as_u64().unwrap_or_else(|| {
        panic!(
            "`{group}.{name}` is not a count: {}",
            s["components"][group]
        )
    })
}

fn requests(s: &Value, workload: &str, field: &str) -> u64 {
    s["workloads"][workload]["requests"][field]
        .as_u64()
        .unwrap_or_else(|| panic!("no `{field}` for workload `{workload}`"))
}

/// The number that follows `after` in `text` (e.g. the breach size in an activity reason).
fn number_after(text: &str, after: &str) -> f64 {
    let start = text
        .find(after)
        .unwrap_or_else(|| panic!("`{after}` not in `{text}`"))
        + after.len();
    let digits: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after `{after}` in `{text}`"))
}

// ---------------------------------------------------------------------------------------------
// 1. Target tracking (and how policies combine): scale-out and scale-in exactly when the alarms
//    allow, to the needed capacity
// ---------------------------------------------------------------------------------------------

/// Two 1-vCPU instances, 100 ms per request: 4/s is 20 % CPU each; from 5 min, 19/s is 95 %.
/// Target tracking at 50 % needs ceil(2 × 95 / 50) = 4 instances, which then run at 47.5 %:
/// between the scale-in threshold (45 %) and the target, so nothing else happens.
fn load_step(metric_period: &str, delay: &str) -> String {
    format!(
        r#"
[simulation]
duration = "20m"

[[workload]]
name = "load"
target = "web"
arrival = {{ process = "constant" }}
schedule = [ {{ at = "0s", rate = "4/s" }}, {{ at = "5m", rate = "19/s" }} ]

[[component]]
name = "web"
kind = "asg"
min = 1
max = 10
desired = 2
handler = [ {{ compute = "100ms" }} ]
launch_time = "60s"
metric_period = "{metric_period}"
metric_publication_delay = "{delay}"

[[component.policy]]
type = "target_tracking"
metric = "cpu_utilization"
target = 50
"#
    )
}

#[test]
fn a_load_step_scales_out_when_the_third_breaching_datapoint_is_visible() {
    // (metric period, publication delay, expected scale-out time): the step is at 300 s, so the
    // third breaching period ends at 300 + 3 × period and is visible `delay` later.
    for (period, delay, expected) in [
        ("60s", "60s", 300.0 + 3.0 * 60.0 + 60.0),
        ("60s", "0s", 300.0 + 3.0 * 60.0),
        ("30s", "60s", 300.0 + 3.0 * 30.0 + 60.0),
    ] {
        let case = format!("metric_period {period}, delay {delay}");
        let (s, rows) = summary_and_rows(&load_step(period, delay), "web");
        let all = activities(&s, "web");
        // Nothing happens before the alarm fires: the first activity is the scale-out.
        let first = &all[0];
        assert_eq!(first.kind, "scale_out", "{case}: {all:?}");
        assert_eq!(first.t, expected, "{case}: {all:?}");
        assert_eq!(
            (first.from, first.to),
            (2, 4),
            "{case}: ceil(2 × 95 / 50) = 4"
        );
        assert!(
            first.reason.contains("above target 50"),
            "{case}: {}",
            first.reason
        );
        let metric = number_after(&first.reason, "cpu_utilization ");
        assert!((metric - 95.0).abs() < 0.2, "{case}: {}", first.reason);
        // One scale-out only; the two launches are in service one launch time later.
        assert_eq!(times(&all, "scale_out"), [expected], "{case}: {all:?}");
        assert_eq!(
            times(&all, "in_service"),
            [expected + 60.0, expected + 60.0],
            "{case}"
        );
        assert_eq!(all.len(), 3, "{case}: {all:?}");
        assert_eq!(figure(&s, "web", "desired_end"), 4, "{case}");
        assert_eq!(figure(&s, "web", "instances_max"), 4, "{case}");
        assert_eq!(figure(&s, "web", "instances_launched"), 4, "{case}");
        // Capacity over time: 2 in service until the launches complete, then 4. (The row
        // ending at a time is sampled before the events at that time.)
        let before = row_at(&rows, expected + 1.0);
        assert_eq!(
            (before.capacity.desired, before.capacity.in_service),
            (4, 2),
            "{case}: {before:?}"
        );
        assert_eq!(before.capacity.pending, 2, "{case}: {before:?}");
        let after = row_at(&rows, expected + 61.0);
        assert_eq!(
            (
                after.capacity.desired,
                after.capacity.pending,
                after.capacity.in_service
            ),
            (4, 0, 4),
            "{case}: {after:?}"
        );
        // Serving the load: 19/s × 0.1 s over 4 workers = 47.5 % busy, near the target.
        let late: Vec<f64> = rows
            .iter()
            .filter(|r| r.t > expected + 120.0)
            .map(|r| r.utilisation)
            .collect();
        let mean = late.iter().sum::<f64>() / late.len() as f64;
        assert!((mean - 0.475).abs() < 0.005, "{case}: utilisation {mean}");
        // Before the scale-out the two instances ran at 95 %.
        let hot = row_at(&rows, expected - 10.0).utilisation;
        assert!((hot - 0.95).abs() < 0.03, "{case}: utilisation {hot}");
        assert_eq!(requests(&s, "load", "failed"), 0, "{case}");
    }
}

/// Four warm instances at 47.5 % (19/s), between the scale-in threshold (45 %) and the target;
/// from 5 min, 7/s: 17.5 % each. Target tracking needs ceil(4 × 17.5 / 50) = 2 instances.
fn load_drop(warmup: &str) -> String {
    format!(
        r#"
[simulation]
duration = "35m"

[[workload]]
name = "load"
target = "web"
arrival = {{ process = "constant" }}
schedule = [ {{ at = "0s", rate = "19/s" }}, {{ at = "5m", rate = "7/s" }} ]

[[component]]
name = "web"
kind = "asg"
min = 1
max = 10
desired = 4
handler = [ {{ compute = "100ms" }} ]
launch_time = "60s"
instance_warmup = "{warmup}"

[[component.policy]]
type = "target_tracking"
metric = "cpu_utilization"
target = 50
"#
    )
}

#[test]
fn a_load_drop_scales_in_when_the_fifteenth_low_datapoint_is_visible() {
    // Periods [300 s, 360 s) to [1140 s, 1200 s) are the 15 below 45 %; the last is visible at
    // 1260 s.
    let s = summary(&load_drop("300s"));
    let all = activities(&s, "web");
    let first = &all[0];
    assert_eq!(first.kind, "scale_in", "{all:?}");
    assert_eq!(first.t, 300.0 + 15.0 * 60.0 + 60.0, "{all:?}");
    assert_eq!((first.from, first.to), (4, 2), "{all:?}");
    assert!(first.reason.contains("17.5 below target 50"), "{all:?}");
}

#[test]
fn a_target_tracking_scale_in_acts_once_on_a_steady_load() {
    // 7/s of 100 ms requests is 0.7 vCPU: two instances at 35 %, within the target. After the
    // scale-in to 2 at 1260 s, the datapoint of [1200 s, 1260 s) (17.5 %, averaged over the 4
    // instances that served then) becomes visible at 1320 s; multiplied by the new warm
    // capacity it would ask for ceil(2 × 17.5 / 50) = 1, one instance at 70 %, and a scale-out
    // back to 2 later. It describes a capacity that no longer exists and must not be used.
    let s = summary(&load_drop("300s"));
    let all = activities(&s, "web");
    let changes: Vec<(f64, u64, u64)> = all
        .iter()
        .filter(|a| a.kind == "scale_in" || a.kind == "scale_out")
        .map(|a| (a.t, a.from, a.to))
        .collect();
    assert_eq!(changes, [(1260.0, 4, 2)], "{all:?}");
}

#[test]
fn target_tracking_does_not_scale_in_while_instances_warm_up() {
    // The group starts with 2 instances: 19/s is 95 % on each, and target tracking scales out
    // to 4 at 240 s (the third datapoint from time 0 is visible then). The new instances are in
    // service at 300 s and warm up for 20 min, to 1500 s. The load falls to 4/s at 5 min: the
    // two warm instances (sharing it with the two warming ones) run at 10 %, and the 15th low
    // datapoint is visible at 1260 s. Scale-in waits for the warm-up to end: 1500 s.
    let text = load_drop("20m")
        .replace("desired = 4", "desired = 2")
        .replace(r#"rate = "7/s""#, r#"rate = "4/s""#);
    let s = summary(&text);
    let all = activities(&s, "web");
    let changes: Vec<(f64, &str, u64, u64)> = all
        .iter()
        .filter(|a| a.kind == "scale_in" || a.kind == "scale_out")
        .map(|a| (a.t, a.kind.as_str(), a.from, a.to))
        .collect();
    // ceil(4 warm × 10 / 50) = 1.
    assert_eq!(
        changes,
        [(240.0, "scale_out", 2, 4), (1500.0, "scale_in", 4, 1)],
        "{all:?}"
    );
}

#[test]
fn a_warm_up_ending_between_a_period_and_its_evaluation_does_not_double_the_capacity() {
    // The load step of the first test behind an ALB, with a 90 s warm-up. The two new
    // instances are in service at 600 s, warm at 690 s, and get traffic from 720 s (fifth
    // health check). The datapoint of [600 s, 660 s) is the two old instances' 95 %; it is
    // visible at 720 s, when the warm capacity is 4: ceil(4 × 95 / 50) = 8, although those 95 %
    // came from 2 instances and 4 are enough. (AWS may overshoot too when the warm-up is shorter
    // than the time a new instance needs to take load; the model's proportion is still computed
    // from capacities that did not produce the datapoint.)
    let text = load_step("60s", "60s")
        .replace(
            "[[component]]\nname = \"web\"",
            "[[component]]\nname = \"lb\"\nkind = \"alb\"\ntargets = \"web\"\n\n[[component]]\nname = \"web\"",
        )
        .replace("target = \"web\"\narrival", "target = \"lb\"\narrival")
        .replace(
            "launch_time = \"60s\"",
            "launch_time = \"60s\"\ninstance_warmup = \"90s\"",
        );
    let s = summary(&text);
    let all = activities(&s, "web");
    assert_eq!(times(&all, "scale_out"), [540.0], "{all:?}");
    assert_eq!(figure(&s, "web", "desired_max"), 4, "{all:?}");
}

/// 10/s through an ALB to 2 instances: 600 requests a minute, 300 per target (statistic: sum).
/// With target 250 the group needs ceil(600 / 250) = 3 instances (200 per target: under the
/// target, and ceil(3 × 200 / 250) = 3 on the scale-in side).
const REQUEST_COUNT: &str = r#"
[simulation]
duration = "30m"

[[workload]]
name = "load"
target = "lb"
arrival = { process = "constant", rate = "10/s" }

[[component]]
name = "lb"
kind = "alb"
targets = "web"

[[component]]
name = "web"
kind = "asg"
min = 1
max = 10
desired = 2
handler = [ { compute = "10ms" } ]
launch_time = "60s"

[[component.policy]]
type = "target_tracking"
metric = "request_count_per_target"
target = 250
"#;

#[test]
fn target_tracking_on_request_count_per_target() {
    // Three datapoints from time 0, visible at 240 s: ceil(2 × 300 / 250) = 3.
    let s = summary(REQUEST_COUNT);
    let all = activities(&s, "web");
    let first = &all[0];
    assert_eq!(first.kind, "scale_out", "{all:?}");
    assert_eq!((first.t, first.from, first.to), (240.0, 2, 3), "{all:?}");
    let per_target = number_after(&first.reason, "request_count_per_target ");
    assert!((per_target - 300.0).abs() <= 1.0, "{all:?}");
    assert!(first.reason.contains("above target 250"), "{all:?}");
}

#[test]
fn target_tracking_on_request_count_settles_on_a_constant_load() {
    // Observed: 2 → 3 at 240 s, then 3 → 4 at 600 s: the [480 s, 540 s) datapoint (600 requests
    // over the 2 instances warm then: 300) times the 3 instances warm at 600 s gives
    // ceil(3 × 300 / 250) = 4; then 4 → 3 at 1500 s (150 per target).
    let s = summary(REQUEST_COUNT);
    let all = activities(&s, "web");
    let changes: Vec<(f64, u64, u64)> = all
        .iter()
        .filter(|a| a.kind == "scale_in" || a.kind == "scale_out")
        .map(|a| (a.t, a.from, a.to))
        .collect();
    assert_eq!(changes, [(240.0, 2, 3)], "{all:?}");
}

#[test]
fn the_largest_capacity_wins_when_policies_act_together() {
    // Two step policies on the same 80 % CPU (16/s on 2 instances): one adds 1, the other 3;
    // and a third wants to scale in (CPU > 10 → -1, a deliberately odd policy). The group goes
    // to the largest: 2 + 3 = 5.
    let text = r#"
[simulation]
duration = "3m"

[[workload]]
name = "load"
target = "web"
arrival = { process = "constant", rate = "16/s" }

[[component]]
name = "web"
kind = "asg"
min = 1
max = 10
desired = 2
handler = [ { compute = "100ms" } ]
launch_time = "60s"

[[component.policy]]
name = "small"
type = "step"
metric = "cpu_utilization"
comparison = ">"
threshold = 50
steps = [ { lower = 0, change = 1 } ]

[[component.policy]]
name = "big"
type = "step"
metric = "cpu_utilization"
comparison = ">"
threshold = 70
steps = [ { lower = 0, change = 3 } ]

[[component.policy]]
name = "odd"
type = "step"
metric = "cpu_utilization"
comparison = ">"
threshold = 10
steps = [ { lower = 0, change = -1 } ]
"#;
    let s = summary(text);
    let all = activities(&s, "web");
    let out = of_kind(&all, "scale_out");
    assert_eq!(out.len(), 1, "{all:?}");
    assert_eq!((out[0].t, out[0].from, out[0].to), (120.0, 2, 5), "{all:?}");
    assert!(out[0].reason.starts_with("big: "), "{all:?}");
    assert!(of_kind(&all, "scale_in").is_empty(), "{all:?}");
}

// ---------------------------------------------------------------------------------------------
// 2. min and max are never crossed
// ---------------------------------------------------------------------------------------------

#[test]
fn capacity_never_leaves_min_and_max() {
    // 200/s of 100 ms requests needs 20 instances; max is 5. Then the load nearly stops: target
    // tracking wants ceil(5 × 2 % / 50) = 1 instance, min is 2.
    let text = r#"
[simulation]
duration = "35m"

[[workload]]
name = "load"
target = "web"
arrival = { process = "constant" }
schedule = [ { at = "0s", rate = "200/s" }, { at = "10m", rate = "1/s" } ]

[[component]]
name = "web"
kind = "asg"
min = 2
max = 5
handler = [ { compute = "100ms" } ]
max_queue = 5
launch_time = "60s"

[[component.policy]]
type = "target_tracking"
metric = "cpu_utilization"
target = 50
"#;
    let (s, rows) = summary_and_rows(text, "web");
    for r in &rows {
        let c = r.capacity;
        assert!((2..=5).contains(&c.desired), "desired out of [2, 5]: {r:?}");
        assert!(
            (2..=5).contains(&(c.pending + c.in_service)),
            "instances out of [2, 5]: {r:?}"
        );
        assert!(c.in_service + c.draining <= 5, "{r:?}");
    }
    let all = activities(&s, "web");
    for a in &all {
        assert!((2..=5).contains(&a.to), "{a:?}");
    }
    // It does reach max, and the way down stops at min. The new instances (in service at 300 s)
    // are warm from 600 s, so the [540 s, 600 s) datapoint is the first measured on 4 instances
    // at 100 %: visible at 660 s, it asks for ceil(4 × 100 / 50) = 8: the group takes 5. (The
    // datapoints before it were measured on the 2 old instances and ask for 4, which the group
    // has.) The 15th low datapoint (from the drop at 600 s) is visible at 1560 s;
    // ceil(5 × 2 / 50) = 1 is held at 2.
    let changes: Vec<(f64, u64, u64)> = all
        .iter()
        .filter(|a| a.kind == "scale_in" || a.kind == "scale_out")
        .map(|a| (a.t, a.from, a.to))
        .collect();
    assert_eq!(
        changes,
        [(240.0, 2, 4), (660.0, 4, 5), (1560.0, 5, 2)],
        "{all:?}"
    );
    assert_eq!(figure(&s, "web", "desired_max"), 5);
    assert_eq!(figure(&s, "web", "instances_max"), 5);
    let scale_in = of_kind(&all, "scale_in");
    assert!(!scale_in.is_empty(), "no scale-in: {all:?}");
    assert_eq!(scale_in.last().unwrap().to, 2, "{all:?}");
    assert_eq!(figure(&s, "web", "desired_end"), 2);
    assert_eq!(figure(&s, "web", "min"), 2);
    assert_eq!(figure(&s, "web", "max"), 5);
    let last = rows.last().unwrap().capacity;
    assert_eq!((last.desired, last.in_service, last.draining), (2, 2, 0));
    // The excess load was refused (503), not lost.
    assert!(figure(&s, "web", "rejected") > 0);
}

// ---------------------------------------------------------------------------------------------
// 3. Simple scaling respects its cooldown
// ---------------------------------------------------------------------------------------------

/// One instance swamped by 100/s of 100 ms requests: CPU stays at 100 % whatever the group
/// does (new instances are warming up for 300 s and do not count), so the alarm is always in
/// ALARM from its first datapoint, visible at 120 s. Launches take 50 s, so an activity
/// completes between two evaluations.
fn swamped_simple(cooldown: &str) -> String {
    format!(
        r#"
[simulation]
duration = "20m"

[[workload]]
name = "load"
target = "web"
arrival = {{ process = "constant", rate = "100/s" }}

[[component]]
name = "web"
kind = "asg"
min = 1
max = 8
handler = [ {{ compute = "100ms" }} ]
max_queue = 10
launch_time = "50s"

[[component.policy]]
type = "simple"
metric = "cpu_utilization"
comparison = ">"
threshold = 50
adjustment = 1
cooldown = "{cooldown}"
"#
    )
}

#[test]
fn simple_scaling_waits_for_its_cooldown() {
    // The activity decided at 120 s completes when its instance is in service (170 s); the
    // 240 s cooldown runs from then, to 410 s (from the decision it would end at 360 s); the
    // next evaluation, at 420 s, acts. And so on every 300 s.
    let s = summary(&swamped_simple("240s"));
    let all = activities(&s, "web");
    let out = times(&all, "scale_out");
    assert_eq!(out, [120.0, 420.0, 720.0, 1020.0], "{all:?}");
    for pair in out.windows(2) {
        assert!(pair[1] - pair[0] >= 50.0 + 240.0, "{out:?}");
    }
    for a in of_kind(&all, "scale_out") {
        assert_eq!(a.to, a.from + 1, "one instance per activity: {a:?}");
        assert!(a.reason.contains("adjustment 1"), "{a:?}");
    }
    assert_eq!(times(&all, "in_service"), [170.0, 470.0, 770.0, 1070.0]);

    // Without a cooldown the policy acts at every evaluation (each activity has completed by
    // the next one), one instance a minute up to max.
    let s = summary(&swamped_simple("0s"));
    let out = times(&activities(&s, "web"), "scale_out");
    assert_eq!(out, [120.0, 180.0, 240.0, 300.0, 360.0, 420.0, 480.0]);
    assert_eq!(figure(&s, "web", "desired_end"), 8);
    assert_eq!(figure(&s, "web", "desired_max"), 8);
}

#[test]
fn a_simple_policy_without_a_cooldown_waits_the_groups_default_cooldown() {
    // The same group with the policy's `cooldown` left out and `default_cooldown = "240s"` on
    // the group: the policy waits 240 s, as with its own 240 s (AWS: a simple policy without a
    // cooldown uses the group's default cooldown). Before this was read, it waited 300 s.
    let text = swamped_simple("240s")
        .replace("cooldown = \"240s\"\n", "")
        .replace(
            "launch_time = \"50s\"",
            "launch_time = \"50s\"\ndefault_cooldown = \"240s\"",
        );
    assert!(
        text.contains("default_cooldown") && !text.contains("\ncooldown"),
        "{text}"
    );
    let s = summary(&text);
    let out = times(&activities(&s, "web"), "scale_out");
    assert_eq!(out, [120.0, 420.0, 720.0, 1020.0]);
}

#[test]
fn a_simple_scale_in_cooldown_starts_after_draining() {
    // Four instances behind an ALB, 2/s of requests that sleep 20 s (no CPU): the CPU < 30
    // alarm is in ALARM from its first datapoint (120 s). Each scale-in deregisters the oldest
    // instance, which drains its requests for up to 20 s; the 50 s cooldown runs from the end
    // of the drain. Instance 0's last request arrived at 118.5 s and ends at 138.5 s: cooldown
    // to 188.5 s, so the evaluation at 180 s may not act and the one at 240 s does (a cooldown
    // counted from the decision would have allowed 180 s). Instance 1 then gets a request every
    // 1.5 s, its last at 238.5 s or later: drained at 258.5 s or later, cooldown past 300 s.
    let text = r#"
[simulation]
duration = "8m"

[[workload]]
name = "load"
target = "lb"
arrival = { process = "constant", rate = "2/s" }

[[component]]
name = "lb"
kind = "alb"
targets = "web"

[[component]]
name = "web"
kind = "asg"
min = 1
max = 4
desired = 4
vcpus = 20
handler = [ { sleep = "20s" } ]
launch_time = "60s"

[[component.policy]]
type = "simple"
metric = "cpu_utilization"
comparison = "<"
threshold = 30
adjustment = -1
cooldown = "50s"
"#;
    let s = summary(text);
    let all = activities(&s, "web");
    let scale_in: Vec<(f64, u64, u64)> = of_kind(&all, "scale_in")
        .iter()
        .map(|a| (a.t, a.from, a.to))
        .collect();
    assert_eq!(
        scale_in,
        [(120.0, 4, 3), (240.0, 3, 2), (360.0, 2, 1)],
        "{all:?}"
    );
    // Draining ended every request normally.
    assert_eq!(requests(&s, "load", "failed"), 0);
}

// ---------------------------------------------------------------------------------------------
// 4. Warm-up instances do not count
// ---------------------------------------------------------------------------------------------

/// Two instances at 45 % behind an ALB (health checks every 30 s, 5 to pass). A scheduled
/// action launches two more at 60 s: in service at 120 s, but the ALB sends them nothing until
/// their fifth passed check at 240 s. At 120 s the load doubles, so from 120 s to 240 s the two
/// old instances run at 90 % while the two new ones idle at 0 %.
///
/// A step policy (> 50 %, +1 for a breach under 30, +3 above) reads the datapoint of
/// [120 s, 180 s) at 240 s. Without the warming instances it is 90 % (breach 40: 2 warm + 3 = 5
/// instances); with them (warm-up 0) it would be (90 + 90 + 0 + 0) / 4 = 45 %, no breach at all.
fn idle_newcomers(warmup: &str) -> String {
    format!(
        r#"
[simulation]
duration = "10m"

[[workload]]
name = "load"
target = "lb"
arrival = {{ process = "constant" }}
schedule = [ {{ at = "0s", rate = "9/s" }}, {{ at = "2m", rate = "18/s" }} ]

[[component]]
name = "lb"
kind = "alb"
targets = "web"

[[component]]
name = "web"
kind = "asg"
min = 1
max = 10
desired = 2
handler = [ {{ compute = "100ms" }} ]
launch_time = "60s"
instance_warmup = "{warmup}"
scheduled = [ {{ at = "1m", desired = 4 }} ]

[[component.policy]]
type = "step"
metric = "cpu_utilization"
comparison = ">"
threshold = 50
steps = [ {{ lower = 0, upper = 30, change = 1 }}, {{ lower = 30, change = 3 }} ]
"#
    )
}

#[test]
fn warming_instances_are_left_out_of_the_metric() {
    let s = summary(&idle_newcomers("300s"));
    let all = activities(&s, "web");
    assert_eq!(times(&all, "scheduled"), [60.0]);
    assert_eq!(times(&all, "in_service")[..2], [120.0, 120.0]);
    let out = of_kind(&all, "scale_out");
    assert_eq!(out.len(), 1, "{all:?}");
    assert_eq!(out[0].t, 240.0, "{all:?}");
    assert_eq!((out[0].from, out[0].to), (4, 5), "2 warm instances + 3");
    let breach = number_after(&out[0].reason, "breached by ");
    assert!(
        (breach - 40.0).abs() < 0.5,
        "the old instances' 90 %: {all:?}"
    );
    assert!(out[0].reason.contains("step change 3"), "{all:?}");

    // Counting the idle newcomers, the average never breaches 50 %.
    let s = summary(&idle_newcomers("0s"));
    let all = activities(&s, "web");
    assert!(of_kind(&all, "scale_out").is_empty(), "{all:?}");
    assert_eq!(figure(&s, "web", "desired_max"), 4);
}

/// Two instances at 80 % (16/s of 100 ms requests), no load balancer: new instances share the
/// load as soon as they are in service. A step policy adds 2 whenever CPU > 50 %: first at
/// 120 s (the datapoint of [0 s, 60 s)); the two new instances are in service at 170 s. The
/// datapoint of [60 s, 120 s) still shows 80 % when it becomes visible at 180 s.
fn repeated_breach(warmup: &str) -> String {
    format!(
        r#"
[simulation]
duration = "10m"

[[workload]]
name = "load"
target = "web"
arrival = {{ process = "constant", rate = "16/s" }}

[[component]]
name = "web"
kind = "asg"
min = 1
max = 10
desired = 2
handler = [ {{ compute = "100ms" }} ]
launch_time = "50s"
instance_warmup = "{warmup}"

[[component.policy]]
type = "step"
metric = "cpu_utilization"
comparison = ">"
threshold = 50
steps = [ {{ lower = 0, change = 2 }} ]
"#
    )
}

#[test]
fn step_scaling_adds_to_the_warm_capacity_only() {
    // With a warm-up, the breaches seen at 180 s and 240 s add 2 to the 2 warm instances again:
    // 4, which the group already wants. Nothing is added twice.
    let s = summary(&repeated_breach("300s"));
    let all = activities(&s, "web");
    let out = of_kind(&all, "scale_out");
    assert_eq!(out.len(), 1, "{all:?}");
    assert_eq!((out[0].t, out[0].from, out[0].to), (120.0, 2, 4));
    assert_eq!(figure(&s, "web", "desired_max"), 4);
    assert_eq!(figure(&s, "web", "desired_end"), 4);

    // Without one, the new instances count as capacity at once and the stale breach adds two
    // more at 180 s: the overshoot the warm-up exists to prevent.
    let s = summary(&repeated_breach("0s"));
    let all = activities(&s, "web");
    let out: Vec<(f64, u64, u64)> = of_kind(&all, "scale_out")
        .iter()
        .map(|a| (a.t, a.from, a.to))
        .collect();
    assert_eq!(out[..2], [(120.0, 2, 4), (180.0, 4, 6)], "{all:?}");
    assert!(figure(&s, "web", "desired_max") >= 6, "{all:?}");
}

// ---------------------------------------------------------------------------------------------
// 5. Draining loses no request
// ---------------------------------------------------------------------------------------------

/// Four instances behind an ALB (round robin), 4/s of `service` requests, and a scheduled
/// scale-in to 2 at 120 s: the two oldest instances are deregistered with requests in flight.
fn scale_in_under_load(service: &str, deregistration_delay: &str) -> String {
    format!(
        r#"
[simulation]
duration = "4m"

[[workload]]
name = "load"
target = "lb"
arrival = {{ process = "constant", rate = "4/s" }}

[[component]]
name = "lb"
kind = "alb"
targets = "web"
deregistration_delay = "{deregistration_delay}"

[[component]]
name = "web"
kind = "asg"
min = 1
max = 4
desired = 4
vcpus = 10
handler = [ {{ compute = "{service}" }} ]
launch_time = "60s"
scheduled = [ {{ at = "2m", desired = 2 }} ]
"#
    )
}

#[test]
fn draining_instances_finish_their_requests() {
    let (s, rows) = summary_and_rows(&scale_in_under_load("2s", "300s"), "web");
    let all = activities(&s, "web");
    let scheduled = of_kind(&all, "scheduled");
    assert_eq!(scheduled.len(), 1);
    assert_eq!(
        (scheduled[0].t, scheduled[0].from, scheduled[0].to),
        (120.0, 4, 2)
    );
    // Each old instance holds two 2 s requests when deregistered: it drains them, then
    // terminates, long before the 300 s deregistration delay.
    let during = row_at(&rows, 121.0).capacity;
    assert_eq!((during.in_service, during.draining), (2, 2), "{during:?}");
    let after = row_at(&rows, 123.0).capacity;
    assert_eq!((after.in_service, after.draining), (2, 0), "{after:?}");
    // Every request got its answer (and the conservation check, run by `run`, passed).
    assert_eq!(requests(&s, "load", "failed"), 0);
    assert_eq!(requests(&s, "load", "timed_out"), 0);
    assert_eq!(figure(&s, "web", "crashed_requests"), 0);
    assert_eq!(
        requests(&s, "load", "completed") + requests(&s, "load", "in_flight"),
        requests(&s, "load", "created")
    );
    assert!(rows.iter().all(|r| r.errors == 0));
    assert_eq!(s["conservation"]["ok"], true);
    // The oldest instances went: 0 and 1 stopped getting requests at 120 s (one every second
    // each until then), 2 and 3 took the rest.
    let per_instance = &s["components"]["lb"]["target_requests"];
    assert_eq!(per_instance[0], 120, "{per_instance}");
    assert_eq!(per_instance[1], 120, "{per_instance}");
}

#[test]
fn a_short_deregistration_delay_cuts_requests_off_with_502() {
    // 5 s requests, 1 s delay. Instance 0 takes the arrivals at 0.25 + k s, instance 1 those at
    // 0.5 + k s. At 120 s each holds the five that arrived after 115 s; the one that arrived at
    // 115.25 (115.5) finishes at 120.25 (120.5), inside the delay. The other four each are cut
    // off at 121 s: 8 requests answered 502.
    let (s, rows) = summary_and_rows(&scale_in_under_load("5s", "1s"), "web");
    assert_eq!(figure(&s, "web", "crashed_requests"), 8);
    assert_eq!(requests(&s, "load", "failed"), 8);
    assert_eq!(s["components"]["lb"]["requests"]["failed"], 8);
    // Answered at 121 s: in the interval [121 s, 122 s).
    assert_eq!(row_at(&rows, 122.0).errors, 8, "{:?}", &rows[118..125]);
    assert_eq!(rows.iter().map(|r| r.errors).sum::<u64>(), 8);
    assert_eq!(s["conservation"]["ok"], true);
    let last = rows.last().unwrap().capacity;
    assert_eq!((last.in_service, last.draining), (2, 0));
}

// ---------------------------------------------------------------------------------------------
// 6. Health-check failure leads to replacement
// ---------------------------------------------------------------------------------------------

/// Three instances behind an ALB; 6/s of 1 s requests (instance 0 takes the arrivals at
/// 1/6 + k/2 s). The oldest instance fails at 5 min.
fn failing_instance(health_check_type: &str) -> String {
    format!(
        r#"
[simulation]
duration = "10m"

[[workload]]
name = "load"
target = "lb"
arrival = {{ process = "constant", rate = "6/s" }}

[[component]]
name = "lb"
kind = "alb"
targets = "web"

[[component]]
name = "web"
kind = "asg"
min = 3
max = 3
vcpus = 4
handler = [ {{ compute = "1s" }} ]
launch_time = "60s"
health_check_type = "{health_check_type}"
failures = [ {{ at = "5m", count = 1 }} ]
"#
    )
}

#[test]
fn a_failed_instance_is_replaced() {
    for check in ["ec2", "elb"] {
        let (s, rows) = summary_and_rows(&failing_instance(check), "web");
        let all = activities(&s, "web");
        let replace = of_kind(&all, "replace");
        assert_eq!(replace.len(), 1, "{check}: {all:?}");
        // Instances present at the start have no grace period left: replaced at once.
        assert_eq!(replace[0].t, 300.0, "{check}");
        assert!(
            replace[0].reason.starts_with("instance 0 "),
            "{check}: {all:?}"
        );
        assert_eq!((replace[0].from, replace[0].to), (3, 3), "{check}");
        assert_eq!(figure(&s, "web", "replaced"), 1, "{check}");
        assert_eq!(figure(&s, "web", "instances_launched"), 4, "{check}");
        // The replacement is launched at once and in service one launch time later.
        let in_service = of_kind(&all, "in_service");
        assert_eq!(in_service.len(), 1, "{check}: {all:?}");
        assert_eq!(in_service[0].t, 360.0, "{check}");
        assert_eq!(in_service[0].reason, "instance 3 in service", "{check}");
        let gap = row_at(&rows, 301.0).capacity;
        assert_eq!(
            (gap.desired, gap.pending, gap.in_service),
            (3, 1, 2),
            "{check}: {gap:?}"
        );
        for r in rows.iter().filter(|r| r.t > 360.0) {
            assert_eq!(r.capacity.in_service, 3, "{check}: {r:?}");
        }
        // The requests the failed instance held (arrived at 299.17 and 299.67 s) are answered
        // 502, and nothing else fails.
        assert_eq!(figure(&s, "web", "crashed_requests"), 2, "{check}");
        assert_eq!(requests(&s, "load", "failed"), 2, "{check}");
        // The ALB ends with three healthy targets, the replacement among them.
        assert_eq!(s["components"]["lb"]["healthy_targets_end"], 3, "{check}");
    }
}

/// The same three instances, but at 5 min one of them hangs (`mode = "hang"`): it answers
/// nothing, fails the ALB's health checks, and passes its EC2 status checks.
fn hanging_instance(health_check_type: &str) -> String {
    failing_instance(health_check_type).replace(
        "failures = [ { at = \"5m\", count = 1 } ]",
        "\n[[fault]]\nkind = \"instance_failure\"\ncomponent = \"web\"\ntimes = [\"5m\"]\n\
         mode = \"hang\"",
    )
}

#[test]
fn a_hung_instance_is_replaced_only_with_elb_health_checks() {
    // EC2 checks: the ALB takes the instance out of rotation, the group never hears of it.
    let (s, rows) = summary_and_rows(&hanging_instance("ec2"), "web");
    assert!(of_kind(&activities(&s, "web"), "replace").is_empty());
    assert_eq!(figure(&s, "web", "replaced"), 0);
    assert_eq!(figure(&s, "web", "instances_launched"), 3);
    assert_eq!(s["components"]["lb"]["healthy_targets_end"], 2);
    // It stays in service, counted in the desired capacity, to the end.
    let last = rows.last().unwrap().capacity;
    assert_eq!((last.desired, last.in_service), (3, 3));
    // What it held and what reached it before the checks was never answered: no 502 (a crash
    // answers those), the ALB's timeouts instead.
    assert_eq!(requests(&s, "load", "failed"), 0);
    assert!(requests(&s, "load", "timed_out") > 0);
    assert_eq!(s["conservation"]["ok"], true);

    // ELB checks: the ALB's verdict reaches the group, which replaces the instance.
    let (s, rows) = summary_and_rows(&hanging_instance("elb"), "web");
    let all = activities(&s, "web");
    let replace = of_kind(&all, "replace");
    assert_eq!(replace.len(), 1, "{all:?}");
    assert!(
        replace[0].reason.contains("load balancer health checks"),
        "{all:?}"
    );
    // Two failed checks 30 s apart after the hang at 300 s.
    assert!(replace[0].t > 300.0 && replace[0].t <= 360.0, "{all:?}");
    assert_eq!(figure(&s, "web", "replaced"), 1);
    assert_eq!(figure(&s, "web", "instances_launched"), 4);
    assert_eq!(s["components"]["lb"]["healthy_targets_end"], 3);
    let last = rows.last().unwrap().capacity;
    assert_eq!((last.desired, last.in_service), (3, 3));
    assert_eq!(s["conservation"]["ok"], true);
}

/// No instance at the start; a scheduled action launches one at 60 s (in service at 120 s) and
/// it fails at `fail_at`. The grace period is 300 s.
fn failing_newcomer(fail_at: &str) -> String {
    format!(
        r#"
[simulation]
duration = "10m"

[[workload]]
name = "load"
target = "web"
arrival = {{ process = "constant", rate = "1/s" }}

[[component]]
name = "web"
kind = "asg"
min = 0
max = 2
desired = 0
handler = [ {{ compute = "100ms" }} ]
launch_time = "60s"
health_check_grace_period = "300s"
scheduled = [ {{ at = "1m", desired = 1 }} ]
failures = [ {{ at = "{fail_at}", count = 1 }} ]
"#
    )
}

#[test]
fn a_failure_during_the_grace_period_is_acted_on_when_it_ends() {
    // AWS: the grace period starts when the instance comes into service (120 s), so it ends at
    // 420 s; the replacement is in service at 480 s.
    let s = summary(&failing_newcomer("3m"));
    let all = activities(&s, "web");
    assert_eq!(times(&all, "replace"), [420.0], "{all:?}");
    assert_eq!(times(&all, "in_service"), [120.0, 480.0], "{all:?}");
    assert_eq!(figure(&s, "web", "replaced"), 1);
    assert_eq!(figure(&s, "web", "instances_launched"), 2);
}

#[test]
fn the_grace_period_runs_from_in_service() {
    // Failure at 390 s: after launch + grace (360 s) but before in service + grace (420 s).
    // AWS ("waits before checking the health status of an EC2 instance that has come into
    // service") replaces it at 420 s, as the grace timer does for earlier failures.
    let s = summary(&failing_newcomer("6m30s"));
    let all = activities(&s, "web");
    assert_eq!(times(&all, "replace"), [420.0], "{all:?}");
}

// ---------------------------------------------------------------------------------------------
// 7. Step scaling: the step whose bounds contain the breach applies
// ---------------------------------------------------------------------------------------------

#[test]
fn the_step_containing_the_breach_applies() {
    // Two instances at rate × 5 % CPU each; threshold 50: breaches of 10, 30 and 50 fall in the
    // first, second and third step. The first datapoint is visible at 120 s; the change applies
    // to the two warm instances.
    for (rate, change, breach) in [("12/s", 1, 10.0), ("16/s", 2, 30.0), ("20/s", 4, 50.0)] {
        let text = format!(
            r#"
[simulation]
duration = "5m"

[[workload]]
name = "load"
target = "web"
arrival = {{ process = "constant", rate = "{rate}" }}

[[component]]
name = "web"
kind = "asg"
min = 1
max = 10
desired = 2
handler = [ {{ compute = "100ms" }} ]
launch_time = "60s"

[[component.policy]]
type = "step"
metric = "cpu_utilization"
comparison = ">="
threshold = 50
steps = [
  {{ lower = 0, upper = 20, change = 1 }},
  {{ lower = 20, upper = 40, change = 2 }},
  {{ lower = 40, change = 4 }},
]
"#
        );
        let s = summary(&text);
        let all = activities(&s, "web");
        let out = of_kind(&all, "scale_out");
        assert_eq!(out.len(), 1, "{rate}: {all:?}");
        assert_eq!(out[0].t, 120.0, "{rate}");
        assert_eq!((out[0].from, out[0].to), (2, 2 + change), "{rate}: {all:?}");
        let seen = number_after(&out[0].reason, "breached by ");
        assert!((seen - breach).abs() < 0.5, "{rate}: {}", out[0].reason);
        assert!(
            out[0].reason.contains(&format!("step change {change}")),
            "{rate}: {}",
            out[0].reason
        );
    }
}

#[test]
fn a_step_policy_scales_in_by_its_negative_steps() {
    // Four instances at 10 % CPU (4/s); CPU < 30 alarms with a breach of -20, in the step below
    // -10: remove 2, at the first evaluation (120 s).
    let text = r#"
[simulation]
duration = "8m"

[[workload]]
name = "load"
target = "web"
arrival = { process = "constant", rate = "4/s" }

[[component]]
name = "web"
kind = "asg"
min = 1
max = 10
desired = 4
handler = [ { compute = "100ms" } ]
launch_time = "60s"

[[component.policy]]
type = "step"
metric = "cpu_utilization"
comparison = "<"
threshold = 30
steps = [ { upper = -10, change = -2 }, { lower = -10, upper = 0, change = -1 } ]
"#;
    let s = summary(text);
    let all = activities(&s, "web");
    let scale_in = of_kind(&all, "scale_in");
    assert_eq!(scale_in[0].t, 120.0, "{all:?}");
    assert_eq!((scale_in[0].from, scale_in[0].to), (4, 2), "{all:?}");
    let breach = number_after(&scale_in[0].reason, "breached by ");
    assert!((breach + 20.0).abs() < 0.5, "{all:?}");
    assert!(scale_in[0].reason.contains("step change -2"), "{all:?}");
    // Whatever happens next, the group ends at min and never below it.
    assert!(scale_in.iter().all(|a| a.to >= 1), "{all:?}");
    assert_eq!(figure(&s, "web", "desired_end"), 1);
}

// ---------------------------------------------------------------------------------------------
// 8. Scheduled actions
// ---------------------------------------------------------------------------------------------

#[test]
fn scheduled_actions_set_min_max_and_desired_at_their_time() {
    let text = r#"
[simulation]
duration = "10m"

[[workload]]
name = "load"
target = "web"
arrival = { process = "constant", rate = "5/s" }

[[component]]
name = "web"
kind = "asg"
min = 1
max = 4
desired = 2
handler = [ { compute = "100ms" } ]
launch_time = "60s"
scheduled = [
  { at = "4m", max = 3 },
  { at = "2m", min = 3, max = 8, desired = 6 },
  { at = "6m", min = 1, desired = 1 },
  { at = "8m", min = 2 },
]
"#;
    let (s, rows) = summary_and_rows(text, "web");
    let all = activities(&s, "web");
    let scheduled: Vec<(f64, u64, u64)> = of_kind(&all, "scheduled")
        .iter()
        .map(|a| (a.t, a.from, a.to))
        .collect();
    // In time order, whatever the order in the file. At 4 min the new max (3) pulls desired
    // down; at 8 min the new min (2) pulls it up.
    assert_eq!(
        scheduled,
        [(120.0, 2, 6), (240.0, 6, 3), (360.0, 3, 1), (480.0, 1, 2)],
        "{all:?}"
    );
    let at = |t: f64| row_at(&rows, t).capacity;
    assert_eq!(
        at(120.0).desired,
        2,
        "the interval ending at 2 min is before the action"
    );
    assert_eq!((at(121.0).desired, at(121.0).pending), (6, 4));
    assert_eq!(at(181.0).in_service, 6);
    assert_eq!((at(241.0).desired, at(241.0).in_service), (3, 3));
    assert_eq!((at(361.0).desired, at(361.0).in_service), (1, 1));
    assert_eq!((at(481.0).desired, at(481.0).pending), (2, 1));
    assert_eq!(at(541.0).in_service, 2);
    assert_eq!(figure(&s, "web", "min"), 2);
    assert_eq!(figure(&s, "web", "max"), 3);
    assert_eq!(figure(&s, "web", "desired_end"), 2);
    assert_eq!(figure(&s, "web", "desired_max"), 6);
    assert_eq!(requests(&s, "load", "failed"), 0);
}

// ---------------------------------------------------------------------------------------------
// 9. Determinism
// ---------------------------------------------------------------------------------------------

#[test]
fn the_same_seed_gives_the_same_summary() {
    // Random arrivals, launch times, failures; target tracking behind an ALB.
    let text = r#"
[simulation]
duration = "30m"

[[workload]]
name = "load"
target = "lb"
arrival = { process = "poisson" }
schedule = [ { at = "0s", rate = "10/s" }, { at = "3m", rate = "40/s" }, { at = "8m", rate = "5/s" } ]

[[component]]
name = "lb"
kind = "alb"
targets = "web"
algorithm = "least_outstanding_requests"
deregistration_delay = "30s"

[[component]]
name = "web"
kind = "asg"
min = 2
max = 12
vcpus = 2
handler = [ { compute = { dist = "exponential", mean = "80ms" } } ]
launch_time = { dist = "lognormal", mean = "60s", p99 = "150s" }
instance_warmup = "120s"
mtbf = "30m"

[[component.policy]]
type = "target_tracking"
metric = "cpu_utilization"
target = 40
"#;
    let scenario = parse(text);
    let json = |seed| {
        let settings = RunSettings {
            seed: Some(seed),
            ..RunSettings::default()
        };
        run_quietly(&scenario, settings)
            .unwrap_or_else(|e| panic!("{e}"))
            .to_json()
    };
    let a = json(7);
    assert_eq!(a, json(7), "two runs with seed 7 differ");
    assert_ne!(a, json(8), "seeds 7 and 8 give the same summary");
    // The run did scale and replace, so the comparison covered those paths.
    let v: Value = serde_json::from_str(&a).unwrap();
    let all = activities(&v, "web");
    assert!(!of_kind(&all, "scale_out").is_empty(), "{all:?}");
    assert!(!of_kind(&all, "scale_in").is_empty(), "{all:?}");
    assert!(figure(&v, "web", "replaced") > 0, "{all:?}");
}

// ---------------------------------------------------------------------------------------------
// 10. Bad input: a clear error before the run
// ---------------------------------------------------------------------------------------------

const BASE: &str = r#"[simulation]
duration = "10m"

[[workload]]
name = "load"
target = "web"
arrival = { process = "poisson", rate = "10/s" }

[[component]]
name = "web"
kind = "asg"
min = 2
max = 6
desired = 3
handler = [ { compute = "100ms" } ]

[[component.policy]]
type = "target_tracking"
metric = "cpu_utilization"
target = 50
"#;

/// The error for BASE with `from` replaced by `to` (which must occur in BASE).
fn error_for(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "test setup: `{from}` not in BASE");
    let text = BASE.replacen(from, to, 1);
    match Scenario::parse(&text, Path::new("case.toml")) {
        Ok(_) => panic!("accepted a bad scenario:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// Asserts the first line of `message` starts with `location` and contains every `part`.
fn assert_message(message: &str, location: &str, parts: &[&str]) {
    let first = message.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(location),
        "expected the message to start with `{location}`, got:\n{message}"
    );
    for part in parts {
        assert!(first.contains(part), "expected `{part}` in:\n{message}");
    }
}

#[test]
fn the_base_asg_scenario_is_valid() {
    parse(BASE);
}

#[test]
fn min_above_max() {
    let m = error_for("min = 2", "min = 7");
    assert_message(
        &m,
        "case.toml:12:7: ",
        &[
            "component `web`, field `min`",
            "min (7) must not be greater than max (6)",
        ],
    );
}

#[test]
fn desired_outside_min_and_max() {
    for (desired, column) in [("desired = 1", "14:11"), ("desired = 9", "14:11")] {
        let m = error_for("desired = 3", desired);
        let value = &desired["desired = ".len()..];
        assert_message(
            &m,
            &format!("case.toml:{column}: "),
            &[
                "field `desired`",
                &format!("desired ({value}) must be between min (2) and max (6)"),
            ],
        );
    }
}

#[test]
fn a_policy_naming_an_unknown_metric() {
    let m = error_for(r#""cpu_utilization""#, r#""cpu_utilisation""#);
    assert_message(
        &m,
        "case.toml:19:10: ",
        &[
            "field `policy",
            "unknown metric `cpu_utilisation`",
            "cpu_utilization, request_count_per_target",
            "did you mean `cpu_utilization`?",
        ],
    );
}

#[test]
fn a_percentage_target_of_zero_or_above_100() {
    for bad in ["0", "150", "-5"] {
        let m = error_for("target = 50", &format!("target = {bad}"));
        assert_message(
            &m,
            "case.toml:20:10: ",
            &[
                "target",
                "cpu_utilization is a percentage",
                "above 0 and at most 100",
                &format!("found {bad}"),
            ],
        );
    }
    // 100 itself is allowed.
    Scenario::parse(
        &BASE.replacen("target = 50", "target = 100", 1),
        Path::new("case.toml"),
    )
    .expect("a target of 100 % is valid");
}

#[test]
fn a_request_count_target_must_be_positive() {
    let m = error_for(
        "metric = \"cpu_utilization\"\ntarget = 50",
        "metric = \"request_count_per_target\"\ntarget = 0",
    );
    assert_message(
        &m,
        "case.toml:20:10: ",
        &["target", "must be a positive number, found 0"],
    );
    // Above 100 is fine for a count.
    Scenario::parse(
        &BASE.replacen(
            "metric = \"cpu_utilization\"\ntarget = 50",
            "metric = \"request_count_per_target\"\ntarget = 1000",
            1,
        ),
        Path::new("case.toml"),
    )
    .expect("1000 requests per target is a valid target");
}

#[test]
fn an_unknown_policy_type() {
    let m = error_for(r#""target_tracking""#, r#""target_tracker""#);
    assert_message(
        &m,
        "case.toml:18:8: ",
        &[
            "unknown policy type `target_tracker`",
            "target_tracking, step, simple",
            "did you mean `target_tracking`?",
        ],
    );
}

#[test]
fn a_step_policy_without_its_alarm() {
    let m = error_for(
        "type = \"target_tracking\"\nmetric = \"cpu_utilization\"\ntarget = 50",
        "type = \"step\"\nmetric = \"cpu_utilization\"\nsteps = [ { lower = 0, change = 1 } ]",
    );
    assert_message(
        &m,
        "case.toml:",
        &[
            "a step policy needs an alarm",
            "`comparison`",
            "`threshold`",
        ],
    );
    // The policy is located: on its table, not at the top of the file.
    let line: usize = m.split(':').nth(1).unwrap().parse().unwrap();
    assert!((17..=20).contains(&line), "{m}");
}

#[test]
fn a_step_policy_without_steps() {
    let m = error_for(
        "type = \"target_tracking\"\nmetric = \"cpu_utilization\"\ntarget = 50",
        "type = \"step\"\nmetric = \"cpu_utilization\"\ncomparison = \">\"\nthreshold = 70",
    );
    assert_message(&m, "case.toml:", &["a step policy needs `steps`"]);
}

#[test]
fn an_alarm_period_that_is_not_a_multiple_of_the_metric_period() {
    let m = error_for(
        "type = \"target_tracking\"\nmetric = \"cpu_utilization\"\ntarget = 50",
        "type = \"simple\"\nmetric = \"cpu_utilization\"\ncomparison = \">\"\nthreshold = 70\n\
         adjustment = 1\nperiod = \"90s\"",
    );
    assert_message(
        &m,
        "case.toml:",
        &[
            "component `web`, field `policy",
            "period`",
            "the alarm period must be a whole number of metric periods (1m), found 1.5m",
        ],
    );
    let line: usize = m.split(':').nth(1).unwrap().parse().unwrap();
    assert!((17..=23).contains(&line), "{m}");
}

#[test]
fn a_target_tracking_policy_without_a_target() {
    let m = error_for("target = 50\n", "");
    assert_message(
        &m,
        "case.toml:17:1: ",
        &[
            "field `policy[0]`",
            "a target tracking policy needs a `target` value",
        ],
    );
}

#[test]
fn a_scheduled_action_with_min_above_max() {
    let m = error_for(
        "max = 6",
        "max = 6\nscheduled = [ { at = \"1m\", min = 5, max = 3 } ]",
    );
    assert_message(
        &m,
        "case.toml:14:15: ",
        &[
            "field `scheduled[0]`",
            "min (5) must not be greater than max (3)",
        ],
    );
}

#[test]
fn every_asg_problem_is_reported_at_once() {
    let text = BASE.replacen("min = 2", "min = 7", 1).replacen(
        r#""cpu_utilization""#,
        r#""cpu_utilisation""#,
        1,
    );
    let e = Scenario::parse(&text, Path::new("case.toml")).unwrap_err();
    assert!(e.diagnostics.len() >= 2, "{e}");
}

/// The lesson `elb_health_checks.toml`: the seed-42 figures its header quotes.
#[test]
fn the_elb_health_checks_lesson_shows_what_its_header_quotes() {
    let file = std::path::Path::new("scenarios/lessons/elb_health_checks.toml");
    let scenario = Scenario::load(file).unwrap_or_else(|e| panic!("{e}"));
    let s = serde_json::to_value(run_quietly(&scenario, RunSettings::default()).unwrap()).unwrap();
    let w = |name: &str, key: &str| s["workloads"][name]["requests"][key].as_u64().unwrap();
    assert_eq!(w("users-ec2", "created"), 285_898);
    assert_eq!(w("users-ec2", "failed"), 30_016);
    assert_eq!(w("users-ec2", "timed_out"), 420);
    assert_eq!(
        s["workloads"]["users-ec2"]["latency_failed_ms"]["count"],
        30_436
    );
    assert_eq!(
        s["workloads"]["users-ec2"]["latency_ms"]["p99"]
            .as_f64()
            .unwrap()
            .round(),
        1_363.0
    );
    assert_eq!(
        w("users-elb", "failed") + w("users-elb", "timed_out"),
        2_337
    );
    // The group with EC2 checks never acts; the one with ELB checks replaces at 310 s.
    assert_eq!(
        s["components"]["asg-ec2"]["scaling_activities"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(s["components"]["alb-ec2"]["healthy_targets_end"], 3);
    let elb = s["components"]["asg-elb"]["scaling_activities"]
        .as_array()
        .unwrap();
    assert_eq!(elb[0]["activity"], "replace");
    assert_eq!(elb[0]["time_s"], 310.0);
    assert_eq!(elb[1]["activity"], "in_service");
    assert_eq!(elb[1]["time_s"], 400.0);
    let recovery = |fault: usize, w: &str| s["faults"][fault]["workloads"][w]["recovery_s"].clone();
    assert!(recovery(0, "users-ec2").is_null());
    assert_eq!(recovery(1, "users-elb"), 140.0);
}
