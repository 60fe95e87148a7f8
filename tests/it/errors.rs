//! Bad input is rejected before anything runs, with a message that names file:line:column, the
//! field, what was expected and, for a misspelt name, the nearest valid one.

use std::path::Path;

use awsim::scenario::Scenario;

const BASE: &str = r#"[simulation]
duration = "1m"

[[workload]]
name = "shoppers"
target = "web-alb"
arrival = { process = "poisson", rate = "100/s" }

[[component]]
name = "web-alb"
kind = "alb"
targets = "web"

[[component]]
name = "web"
kind = "ec2_fleet"
instances = 2
handler = [ { compute = { dist = "lognormal", mean = "40ms", p99 = "200ms" } } ]
"#;

/// The error text for BASE with `from` replaced by `to` (which must occur in BASE).
fn error_for(from: &str, to: &str) -> String {
    assert!(
        BASE.contains(from),
        "test setup: `{from}` not in the base scenario"
    );
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
fn the_base_scenario_is_valid() {
    Scenario::parse(BASE, Path::new("case.toml")).expect("the base scenario is valid");
}

#[test]
fn toml_syntax_error() {
    let m = error_for("instances = 2", "instances = ");
    assert_message(&m, "case.toml:17:13: ", &["string values must be quoted"]);
    assert!(m.contains("17 | instances ="), "shows the line: {m}");
}

#[test]
fn unknown_key_suggests_the_nearest_field() {
    let m = error_for("instances = 2", "instanses = 2");
    assert_message(
        &m,
        "case.toml:17:1: ",
        &[
            "component `web`, field `instanses`",
            "unknown field `instanses`",
            "did you mean `instances`?",
        ],
    );
}

#[test]
fn unknown_top_level_table() {
    let m = error_for("[simulation]", "[simulaton]");
    assert_message(
        &m,
        "case.toml:1:",
        &["simulaton", "did you mean `simulation`?"],
    );
}

#[test]
fn misspelt_component_name() {
    let m = error_for(r#"targets = "web""#, r#"targets = "wbe""#);
    assert_message(
        &m,
        "case.toml:12:11: ",
        &[
            "component `web-alb`, field `targets`",
            "no component is named `wbe`",
            "expected an asg or an ec2_fleet",
            "did you mean `web`?",
        ],
    );
}

#[test]
fn misspelt_workload_target() {
    let m = error_for(r#"target = "web-alb""#, r#"target = "web-abl""#);
    assert_message(
        &m,
        "case.toml:6:10: ",
        &[
            "workload `shoppers`, field `target`",
            "did you mean `web-alb`?",
        ],
    );
}

#[test]
fn duplicate_names() {
    let m = error_for(r#"name = "web-alb""#, r#"name = "web""#);
    assert_message(
        &m,
        "case.toml:15:8: ",
        &["the name `web` is already used on line 10"],
    );
    assert_eq!(
        m.lines().filter(|l| l.starts_with("case.toml")).count(),
        1,
        "{m}"
    );
}

#[test]
fn misspelt_kind() {
    let m = error_for(r#"kind = "alb""#, r#"kind = "abl""#);
    assert_message(
        &m,
        "case.toml:11:8: ",
        &["unknown kind `abl`", "did you mean `alb`?"],
    );
}

#[test]
fn zero_rate() {
    let m = error_for(r#""100/s""#, r#""0/s""#);
    assert_message(
        &m,
        "case.toml:7:41: ",
        &["field `arrival.rate`", "a rate must be greater than zero"],
    );
}

#[test]
fn negative_rate() {
    let m = error_for(r#""100/s""#, r#""-5/s""#);
    assert_message(&m, "case.toml:7:41: ", &["must not be negative"]);
}

#[test]
fn rate_without_unit() {
    let m = error_for(r#""100/s""#, "100");
    assert_message(&m, "case.toml:7:41: ", &["expected a rate with a unit"]);
}

#[test]
fn zero_duration() {
    let m = error_for(r#"duration = "1m""#, r#"duration = "0s""#);
    assert_message(
        &m,
        "case.toml:2:12: ",
        &["field `simulation.duration`", "must be greater than zero"],
    );
}

#[test]
fn negative_duration() {
    let m = error_for(r#"duration = "1m""#, r#"duration = "-1m""#);
    assert_message(&m, "case.toml:2:12: ", &["must not be negative"]);
}

#[test]
fn warmup_longer_than_the_run() {
    let m = error_for(r#"duration = "1m""#, "duration = \"1m\"\nwarmup = \"2m\"");
    assert_message(
        &m,
        "case.toml:3:10: ",
        &["warm-up (2m) must be shorter than the duration (1m)"],
    );
}

#[test]
fn missing_target() {
    let m = error_for(r#"target = "web-alb""#, r#"target = "database""#);
    assert_message(
        &m,
        "case.toml:6:10: ",
        &["no component is named `database`"],
    );
}

#[test]
fn missing_target_field() {
    let m = error_for("targets = \"web\"\n", "");
    assert_message(&m, "case.toml:", &["missing field `targets`"]);
}

#[test]
fn wrong_kind_of_target() {
    let m = error_for(r#"targets = "web""#, r#"targets = "web-alb""#);
    assert_message(
        &m,
        "case.toml:12:11: ",
        &["`web-alb` is an alb, but this must name an asg or an ec2_fleet"],
    );
}

#[test]
fn a_workload_is_not_a_target() {
    let m = error_for(r#"targets = "web""#, r#"targets = "shoppers""#);
    assert_message(&m, "case.toml:12:11: ", &["`shoppers` is a workload"]);
}

#[test]
fn p99_below_the_mean() {
    let m = error_for(r#"p99 = "200ms""#, r#"p99 = "20ms""#);
    assert_message(
        &m,
        "case.toml:18:25: ",
        &[
            "component `web`, field `handler[0].compute`",
            "p99 (20ms) must be greater than the mean (40ms)",
        ],
    );
}

#[test]
fn cycle_of_synchronous_calls() {
    let m = error_for(
        r#"{ compute = { dist = "lognormal", mean = "40ms", p99 = "200ms" } }"#,
        r#"{ call = "web-alb" }"#,
    );
    assert_message(
        &m,
        "case.toml:18:22: ",
        &["synchronous calls form a cycle: web-alb -> web -> web-alb"],
    );
}

#[test]
fn a_component_calling_itself_is_a_cycle() {
    let m = error_for(
        r#"{ compute = { dist = "lognormal", mean = "40ms", p99 = "200ms" } }"#,
        r#"{ call = "web" }"#,
    );
    assert_message(&m, "case.toml:18:22: ", &["cycle: web -> web"]);
}

#[test]
fn zero_instances() {
    let m = error_for("instances = 2", "instances = 0");
    assert_message(
        &m,
        "case.toml:17:13: ",
        &["field `instances`", "must be at least 1"],
    );
}

#[test]
fn speed_list_of_the_wrong_length() {
    let m = error_for("instances = 2", "instances = 2\nspeed = [1, 1, 0.5]");
    assert_message(&m, "case.toml:18:9: ", &["gives 3 factors for 2 instances"]);
}

#[test]
fn unknown_algorithm() {
    let m = error_for(
        r#"targets = "web""#,
        "targets = \"web\"\nalgorithm = \"least_outstanding\"",
    );
    assert_message(
        &m,
        "case.toml:13:13: ",
        &[
            "unknown variant `least_outstanding`",
            "least_outstanding_requests",
        ],
    );
}

#[test]
fn unknown_distribution() {
    let m = error_for(r#"dist = "lognormal""#, r#"dist = "lognormla""#);
    assert_message(&m, "case.toml:18:25: ", &["did you mean `lognormal`?"]);
}

#[test]
fn unknown_arrival_process() {
    let m = error_for(r#"process = "poisson""#, r#"process = "poison""#);
    assert_message(
        &m,
        "case.toml:7:11: ",
        &[
            "unknown arrival process `poison`",
            "did you mean `poisson`?",
        ],
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = BASE
        .replacen(r#"targets = "web""#, r#"targets = "wbe""#, 1)
        .replacen("instances = 2", "instances = 0", 1);
    let e = Scenario::parse(&text, Path::new("case.toml")).unwrap_err();
    assert_eq!(e.diagnostics.len(), 2, "{e}");
    assert!(
        e.diagnostics[0].line < e.diagnostics[1].line,
        "in file order: {e}"
    );
}

#[test]
fn an_unreadable_file_is_an_error_not_a_panic() {
    let e = Scenario::load(Path::new("does/not/exist.toml")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("does/not/exist.toml: cannot read the file"),
        "{e}"
    );
}

#[test]
fn trace_options_that_do_not_fit_are_errors_at_the_arrival() {
    let poisson = r#"arrival = { process = "poisson", rate = "100/s" }"#;
    let cases = [
        (
            r#"arrival = { process = "trace", file = "t.csv", top = 3 }"#,
            "`top` applies to the Azure Functions traces, not to format \"csv\"",
        ),
        (
            r#"arrival = { process = "trace", file = "t.csv", format = "azure_function_2019" }"#,
            "did you mean `azure_functions_2019`?",
        ),
        (
            r#"arrival = { process = "trace", file = "t.csv", scale = 0 }"#,
            "`scale` must be above 0",
        ),
        (
            r#"arrival = { process = "trace", file = "t.csv", window = { from = "2h", to = "1h" } }"#,
            "`window.to` (1h) must come after `window.from` (2h)",
        ),
        (
            r#"arrival = { process = "trace", file = "t.csv", on_bad_row = "ignore" }"#,
            "`on_bad_row` is \"error\" (the default) or \"skip\"",
        ),
        (
            r#"arrival = { process = "poisson", rate = "100/s", speedup = 2 }"#,
            "belong to trace arrivals, not `poisson`",
        ),
    ];
    for (arrival, expected) in cases {
        let m = error_for(poisson, arrival);
        assert_message(
            &m,
            "case.toml:7:",
            &["workload `shoppers`, field `arrival`", expected],
        );
    }
}
