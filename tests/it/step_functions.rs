//! Step Functions (issue 18) end to end: an inline and an ASL JSON definition run against real
//! components, executions conserved and runs deterministic, the StartExecution bucket against
//! exact token-bucket counts, and bad definitions with located errors (in the scenario, or in
//! the JSON file).

use std::path::{Path, PathBuf};

use awsim::run::run_quietly;
use awsim::run::summary::Summary;
use awsim::scenario::{RunSettings, Scenario};
use serde_json::Value;

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("a count, found {v}"))
}

/// A fresh folder for this test process.
fn scratch(name: &str) -> PathBuf {
    crate::common::scratch("sfn", name)
}

fn run_at(text: &str, path: &Path) -> Summary {
    let scenario = Scenario::parse(text, path).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let s = run_quietly(&scenario, RunSettings::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(s.conservation.ok, "conservation: {:?}", s.conservation);
    s
}

const INLINE: &str = r#"
[simulation]
duration = "2m"
warmup = "10s"
seed = 5

[[workload]]
name = "orders"
target = "flow"
arrival = { process = "poisson", rate = "20/s" }
op = "write"

[[component]]
name = "flow"
kind = "step_functions"
type = "express"
invocation = "sync"

[component.definition]
StartAt = "Route"
[component.definition.States.Route]
Type = "Choice"
Choices = [ { Variable = "$.op", StringEquals = "write", Next = "Fan" } ]
Default = "Done"
[component.definition.States.Fan]
Type = "Parallel"
Next = "Items"
[[component.definition.States.Fan.Branches]]
StartAt = "Charge"
[component.definition.States.Fan.Branches.States.Charge]
Type = "Task"
Resource = "payments"
Retry = [ { ErrorEquals = ["States.ALL"], IntervalSeconds = 1, MaxAttempts = 2 } ]
End = true
[[component.definition.States.Fan.Branches]]
StartAt = "Pause"
[component.definition.States.Fan.Branches.States.Pause]
Type = "Wait"
Seconds = 1
End = true
[component.definition.States.Items]
Type = "Map"
Items = 5
MaxConcurrency = 2
Next = "Done"
[component.definition.States.Items.ItemProcessor]
StartAt = "Ship"
[component.definition.States.Items.ItemProcessor.States.Ship]
Type = "Task"
Resource = "shipping"
Op = "write"
End = true
[component.definition.States.Done]
Type = "Succeed"

[[component]]
name = "payments"
kind = "lambda"
memory_mb = 1769
handler = [ { compute = "50ms" } ]

[[component]]
name = "shipping"
kind = "dynamodb"
mode = "on_demand"
"#;

#[test]
fn an_inline_machine_runs_conserves_its_executions_and_is_deterministic() {
    let path = Path::new("flow.toml");
    let s = run_at(INLINE, path);
    let flow = &s.components["flow"];
    let started = u(&flow["executions_started"]);
    assert!(started > 1_500, "{flow}");
    assert_eq!(
        started,
        u(&flow["succeeded"])
            + u(&flow["failed"])
            + u(&flow["timed_out"])
            + u(&flow["requests"]["in_flight"]),
        "{flow}"
    );
    assert!(u(&flow["succeeded"]) > 0);
    // Each write: Route, Fan, Charge, Pause, Items, 5 × Ship, Done = 11 transitions, and one
    // Charge call plus 5 Ship calls.
    assert_eq!(u(&flow["map_concurrency_max"]), 2);
    let transitions = u(&flow["state_transitions"]) as f64;
    assert!((transitions / started as f64 - 11.0).abs() < 0.1, "{flow}");
    // Synchronous: the workload's latency is the execution's: at least the 1 s Wait and three
    // rounds of the Map.
    let p50 = s.workloads["orders"]["latency_ms"]["p50"].as_f64().unwrap();
    assert!(p50 > 1_000.0, "{p50}");
    let again = run_at(INLINE, path);
    assert_eq!(
        serde_json::to_string(&s.components).unwrap(),
        serde_json::to_string(&again.components).unwrap()
    );
}

const JSON: &str = r#"{
  "Comment": "two steps",
  "StartAt": "Charge",
  "States": {
    "Charge": {
      "Type": "Task",
      "Resource": "payments",
      "Next": "Done"
    },
    "Done": { "Type": "Succeed" }
  }
}
"#;

fn with_file(dir: &Path, json: &str) -> String {
    std::fs::write(dir.join("machine.asl.json"), json).unwrap();
    INLINE[..INLINE.find("[component.definition]").unwrap()].replace(
        "invocation = \"sync\"\n",
        "invocation = \"sync\"\ndefinition_file = \"machine.asl.json\"\n",
    ) + &INLINE[INLINE.find("[[component]]\nname = \"payments\"").unwrap()..]
}

#[test]
fn an_asl_json_definition_file_runs() {
    let dir = scratch("json");
    let text = with_file(&dir, JSON);
    let s = run_at(&text, &dir.join("flow.toml"));
    let flow = &s.components["flow"];
    assert!(u(&flow["succeeded"]) > 1_500, "{flow}");
    // One call per execution: every one that succeeded made it; one still open may have.
    let (calls, succeeded) = (u(&flow["task_calls"]), u(&flow["succeeded"]));
    let open = u(&flow["requests"]["in_flight"]);
    assert!((succeeded..=succeeded + open).contains(&calls), "{flow}");
}

/// The error of building a scenario whose definition file holds `json`.
fn file_error(name: &str, json: &str) -> String {
    let dir = scratch(name);
    let text = with_file(&dir, json);
    let scenario = Scenario::parse(&text, &dir.join("flow.toml")).unwrap_or_else(|e| panic!("{e}"));
    match scenario.build(RunSettings::default()) {
        Ok(_) => panic!("built a bad definition:\n{json}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_bad_asl_json_file_is_located_in_the_file() {
    // A syntax error: serde_json's own line and column.
    let e = file_error(
        "syntax",
        &JSON.replace("\"Next\": \"Done\"", "\"Next\": \"Done\",,"),
    );
    assert!(e.contains("machine.asl.json:8:"), "{e}");
    // A misspelt field, with the nearest name.
    let e = file_error(
        "field",
        &JSON.replace("\"Next\": \"Done\"", "\"Nxt\": \"Done\""),
    );
    assert!(e.contains("machine.asl.json:8:"), "{e}");
    assert!(e.contains("did you mean `Next`?"), "{e}");
    // A `Next` naming no state: located at its key, with the nearest state.
    let e = file_error(
        "next",
        &JSON.replace("\"Next\": \"Done\"", "\"Next\": \"Dome\""),
    );
    assert!(
        e.contains("machine.asl.json:8:7: States.Charge.Next: no state `Dome`"),
        "{e}"
    );
    assert!(e.contains("did you mean `Done`?"), "{e}");
    // A resource that is no component.
    let e = file_error("resource", &JSON.replace("\"payments\"", "\"paymnets\""));
    assert!(
        e.contains("machine.asl.json:7:7: States.Charge.Resource"),
        "{e}"
    );
    assert!(e.contains("did you mean `payments`?"), "{e}");
    // No file.
    let dir = scratch("missing");
    let text = with_file(&dir, JSON).replace("machine.asl.json", "absent.asl.json");
    let scenario = Scenario::parse(&text, &dir.join("flow.toml")).unwrap();
    let e = scenario
        .build(RunSettings::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("absent.asl.json"), "{e}");
}

fn parse_error(text: &str) -> String {
    match Scenario::parse(text, Path::new("flow.toml")) {
        Ok(_) => panic!("accepted a bad scenario:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_bad_inline_definition_is_located_in_the_scenario() {
    let line_of = |needle: &str| INLINE.lines().position(|l| l.contains(needle)).unwrap() + 1;
    // A misspelt resource: the loader's nearest name.
    let e = parse_error(&INLINE.replace("Resource = \"payments\"", "Resource = \"paymens\""));
    assert!(e.contains("`payments`"), "{e}");
    assert!(e.starts_with("flow.toml:"), "{e}");
    // A misspelt field: at its line.
    let e = parse_error(&INLINE.replace("MaxConcurrency = 2", "MaxConcurency = 2"));
    assert!(
        e.starts_with(&format!("flow.toml:{}:", line_of("MaxConcurrency"))),
        "{e}"
    );
    assert!(e.contains("MaxConcurrency"), "{e}");
    // A Next naming no state: the field path and the nearest state.
    let e = parse_error(&INLINE.replace("Next = \"Items\"", "Next = \"Itmes\""));
    assert!(e.contains("States.Fan.Next"), "{e}");
    assert!(e.contains("did you mean `Items`?"), "{e}");
    // Synchronous Standard executions do not exist.
    let e = parse_error(&INLINE.replace("type = \"express\"\n", ""));
    assert!(e.contains("StartSyncExecution"), "{e}");
    // No definition at all.
    let start = INLINE.find("[component.definition]").unwrap();
    let end = INLINE.find("[[component]]\nname = \"payments\"").unwrap();
    let e = parse_error(&format!("{}{}", &INLINE[..start], &INLINE[end..]));
    assert!(e.contains("`definition_file`"), "{e}");
}

/// Admitted arrivals of evenly spaced arrivals (see `api_gateway.rs`).
fn admitted_theory(a: u64, r: u64, b: u64, secs: u64) -> u64 {
    let n = a * secs - 1;
    (b + r * (n - 1) / a).min(n)
}

#[test]
fn the_start_execution_bucket_admits_exactly_burst_plus_rate_times_time() {
    for (a, r, b, secs) in [(1000, 300, 1300, 10), (500, 7, 50, 20)] {
        let text = format!(
            r#"
[simulation]
duration = "{secs}s"

[[workload]]
name = "load"
target = "flow"
arrival = {{ process = "constant", rate = "{a}/s" }}

[[component]]
name = "flow"
kind = "step_functions"
start_throttle = {{ rate = "{r}/s", burst = {b} }}
[component.definition]
StartAt = "P"
[component.definition.States.P]
Type = "Pass"
End = true
"#
        );
        let s = run_at(&text, Path::new("flow.toml"));
        let flow = &s.components["flow"];
        let expected = admitted_theory(a, r, b, secs);
        assert_eq!(
            u(&flow["executions_started"]),
            expected,
            "a={a} r={r} b={b}"
        );
        assert_eq!(u(&flow["throttled"]), a * secs - 1 - expected);
        assert_eq!(
            u(&s.workloads["load"]["requests"]["throttled"]),
            a * secs - 1 - expected
        );
    }
}
