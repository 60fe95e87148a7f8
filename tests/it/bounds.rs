//! Every input has a bound and no input stops simulated time: each example of issue 14 (points
//! 1, 2, 6 and 9) is refused with its place in the file, the field and the bound, or runs to
//! its end. The bounds and their reasons are in README's "Limits".

use std::path::{Path, PathBuf};

use crate::common::{awsim, text};
use awsim::run::{RunError, run_quietly};
use awsim::scenario::{RunSettings, Scenario};
use awsim::units::limits;

/// A fleet behind a workload; the tests edit it.
const BASE: &str = r#"[simulation]
duration = "1m"

[[workload]]
name = "shoppers"
target = "web"
arrival = { process = "poisson", rate = "100/s" }

[[component]]
name = "web"
kind = "ec2_fleet"
instances = 2
handler = [ { compute = "10ms" } ]
"#;

/// BASE with `from` replaced by `to` (which must occur in BASE).
fn edit(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "test setup: `{from}` not in BASE");
    BASE.replacen(from, to, 1)
}

/// The error for scenario `text` (named case.toml), which must be refused.
fn error_of(text: &str) -> String {
    match Scenario::parse(text, Path::new("case.toml")) {
        Ok(_) => panic!("accepted a bad scenario:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// Asserts the first line of `message` starts with `location` and contains every part.
fn assert_located(message: &str, location: &str, parts: &[&str]) {
    let first = message.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(location),
        "expected `{location}` first in:\n{message}"
    );
    for part in parts {
        assert!(first.contains(part), "expected `{part}` in:\n{message}");
    }
}

/// A fresh folder of this test process.
fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("awsim-bounds-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_base_scenario_is_valid() {
    Scenario::parse(BASE, Path::new("case.toml")).expect("BASE is valid");
}

// Point 2: rates.

#[test]
fn a_rate_of_1e18_per_second_is_refused_at_its_place() {
    let m = error_of(&edit("rate = \"100/s\"", "rate = \"1e18/s\""));
    assert_located(
        &m,
        "case.toml:7:41: ",
        &[
            "workload `shoppers`, field `arrival.rate`",
            "invalid rate \"1e18/s\"",
            "must be at most 10000000/s",
            "found 1000000000000000000/s",
        ],
    );
    // The bound itself is accepted.
    Scenario::parse(
        &edit("rate = \"100/s\"", "rate = \"10000000/s\""),
        Path::new("case.toml"),
    )
    .expect("the bound is a valid rate");
}

#[test]
fn schedule_and_throttle_rates_have_the_same_bound() {
    let m = error_of(&edit(
        "arrival = { process = \"poisson\", rate = \"100/s\" }",
        "arrival = { process = \"poisson\" }\nschedule = [ { at = \"0s\", rate = \"2/ns\" } ]",
    ));
    assert_located(
        &m,
        "case.toml:8:34: ",
        &["schedule[0].rate", "must be at most 10000000/s"],
    );
    let m = error_of(&format!(
        "{BASE}[account]\napi_gateway_throttle = {{ rate = \"1e12/s\", burst = 5 }}\n"
    ));
    assert_located(
        &m,
        "case.toml:15:33: ",
        &[
            "account.api_gateway_throttle.rate",
            "must be at most 10000000/s",
        ],
    );
}

// Point 2: sizes, before anything is allocated.

#[test]
fn four_billion_instances_are_refused_without_allocating() {
    // Building 4 294 967 295 instances would need about 34 GB: the bound comes first.
    let m = error_of(&edit("instances = 2", "instances = 4294967295"));
    assert_located(
        &m,
        "case.toml:12:13: ",
        &[
            "component `web`, field `instances`",
            "must be at most 1000000",
            "EC2 Fleet's quota",
            "found 4294967295",
        ],
    );
    // A speed per instance does not make the check allocate one per instance either.
    let m = error_of(&edit(
        "instances = 2",
        "instances = 4294967295\nspeed = 0.5",
    ));
    assert!(m.contains("must be at most 1000000"), "{m}");
}

#[test]
fn vcpus_that_would_overflow_utilisation_are_refused() {
    // 65 536 × 65 537 overflows a u32 (utilisation came out 65 000 times too high).
    let m = error_of(&edit("instances = 2", "instances = 65536\nvcpus = 65537"));
    assert_located(
        &m,
        "case.toml:13:9: ",
        &[
            "component `web`, field `vcpus`",
            "must be at most 1024 (the largest EC2 instances have 896 vCPUs), found 65537",
        ],
    );
    // At the bounds the product fits the pool's counters.
    assert!(u64::from(limits::INSTANCES.max) * u64::from(limits::VCPUS.max) < u64::from(u32::MAX));
    let m = error_of(&edit(
        "instances = 2",
        "instances = 2\nmax_queue = 4294967295",
    ));
    assert_located(
        &m,
        "case.toml:13:13: ",
        &["field `max_queue`", "must be at most 1000000"],
    );
}

/// A queue read by a group; `consumer_extra` and `queue_extra` are added to their tables.
fn queue_scenario(consumer_extra: &str, queue_extra: &str) -> String {
    format!(
        r#"[simulation]
duration = "10s"

[[workload]]
name = "producer"
target = "jobs"
arrival = {{ process = "poisson", rate = "10/s" }}

[[component]]
name = "jobs"
kind = "sqs"
consumer = "workers"
{queue_extra}

[[component]]
name = "workers"
kind = "asg"
min = 1
max = 2
{consumer_extra}
handler = [ {{ compute = "10ms" }} ]
"#
    )
}

#[test]
fn an_sqs_consumer_with_four_billion_vcpus_is_refused() {
    Scenario::parse(&queue_scenario("", ""), Path::new("case.toml")).expect("valid");
    let m = error_of(&queue_scenario("vcpus = 4294967290", ""));
    assert_located(
        &m,
        "case.toml:20:9: ",
        &["component `workers`, field `vcpus`", "must be at most 1024"],
    );
    let m = error_of(&queue_scenario("", "pollers = 4294967290"));
    assert_located(
        &m,
        "case.toml:13:11: ",
        &["component `jobs`, field `pollers`", "must be at most 1024"],
    );
}

#[test]
fn asg_sizes_are_bounded() {
    let m = error_of(&queue_scenario("desired = 4294967295", ""));
    assert!(
        m.contains("field `desired`: must be at most 1000000"),
        "{m}"
    );
    let m = error_of(&queue_scenario("", "").replace("max = 2", "max = 4294967295"));
    assert_located(
        &m,
        "case.toml:19:7: ",
        &["field `max`", "must be at most 1000000"],
    );
}

/// A table of DynamoDB with `extra` fields, sent to directly.
fn table_scenario(extra: &str) -> String {
    format!(
        r#"[simulation]
duration = "10s"

[[workload]]
name = "w"
target = "orders"
op = "read"
arrival = {{ process = "poisson", rate = "10/s" }}

[[component]]
name = "orders"
kind = "dynamodb"
rcu = 100
wcu = 100
{extra}
"#
    )
}

#[test]
fn a_table_of_a_billion_gb_is_refused_at_its_place() {
    Scenario::parse(&table_scenario("table_gb = 20"), Path::new("case.toml")).expect("valid");
    let m = error_of(&table_scenario("table_gb = 1e9"));
    assert_located(
        &m,
        "case.toml:15:12: ",
        &[
            "component `orders`, field `table_gb`",
            "must be at most 10000000",
            "10 PB",
        ],
    );
    let m = error_of(&table_scenario("partitions = 4294967295"));
    assert_located(
        &m,
        "case.toml:15:14: ",
        &["field `partitions`", "at most 1000000"],
    );
    let m = error_of(&table_scenario("").replace("rcu = 100", "rcu = 4294967295"));
    assert_located(
        &m,
        "case.toml:13:7: ",
        &["field `rcu`", "at most 100000000"],
    );
    let m = error_of(&table_scenario("auto_scaling = { max_wcu = 4294967295 }"));
    assert_located(
        &m,
        "case.toml:15:28: ",
        &["field `auto_scaling.max_wcu`", "at most 100000000"],
    );
}

/// A function sent to directly, with `extra` fields.
fn function_scenario(extra: &str) -> String {
    format!(
        r#"[simulation]
duration = "10s"

[[workload]]
name = "w"
target = "fn"
arrival = {{ process = "poisson", rate = "10/s" }}

[[component]]
name = "fn"
kind = "lambda"
handler = [ {{ compute = "10ms" }} ]
{extra}
"#
    )
}

#[test]
fn lambda_limits_follow_aws() {
    Scenario::parse(&function_scenario(""), Path::new("case.toml")).expect("valid");
    let m = error_of(&function_scenario("memory_mb = 20000"));
    assert_located(
        &m,
        "case.toml:13:13: ",
        &["field `memory_mb`", "128 and 10240"],
    );
    let m = error_of(&function_scenario("timeout = \"901s\""));
    assert_located(&m, "case.toml:13:11: ", &["field `timeout`", "at most 15m"]);
    // Reservations that would overflow the account's sums are refused, not wrapped.
    let m = error_of(&function_scenario("reserved_concurrency = 4294967295"));
    assert_located(
        &m,
        "case.toml:13:24: ",
        &["field `reserved_concurrency`", "must be at most 100000"],
    );
    let m = error_of(&format!(
        "{}[account]\nlambda_unreserved_minimum = 4294967295\n",
        function_scenario("reserved_concurrency = 10")
    ));
    assert_located(
        &m,
        "case.toml:15:29: ",
        &[
            "account.lambda_unreserved_minimum",
            "must be at most 100000",
        ],
    );
}

#[test]
fn connections_and_item_sizes_are_bounded() {
    let m = error_of(&edit(
        "rate = \"100/s\" }",
        "rate = \"100/s\" }\nconnections = { clients = 65535, per_client = 28232 }",
    ));
    assert_located(
        &m,
        "case.toml:8:15: ",
        &[
            "`clients` × `per_client` must be at most 1000000",
            "found 1850184120",
        ],
    );
    let m = error_of(&edit(
        "rate = \"100/s\" }",
        "rate = \"100/s\" }\nitem_kb = 1e39",
    ));
    assert_located(
        &m,
        "case.toml:8:11: ",
        &["field `item_kb`", "must be at most 1048576"],
    );
}

#[test]
fn too_many_workloads_are_refused_at_the_first_one_too_many() {
    let mut text = String::from("[simulation]\nduration = \"1s\"\n");
    let n = limits::WORKLOADS.max + 1;
    for i in 0..n {
        text.push_str(&format!(
            "[[workload]]\nname = \"w{i}\"\ntarget = \"web\"\narrival = {{ process = \"poisson\", rate = \"1/s\" }}\n"
        ));
    }
    text.push_str("[[component]]\nname = \"web\"\nkind = \"ec2_fleet\"\ninstances = 1\nhandler = [ { compute = \"1ms\" } ]\n");
    let m = error_of(&text);
    let line = 2 + 4 * limits::WORKLOADS.max + 2;
    assert_located(
        &m,
        &format!("case.toml:{line}:8: "),
        &[
            "the number of workloads must be at most 10000",
            "found 10001",
        ],
    );
}

#[test]
fn a_scenario_file_of_more_than_16_mib_is_not_read_whole() {
    let dir = temp("big");
    let file = dir.join("big.toml");
    let mut text = String::from(BASE);
    text.push_str(&"# padding\n".repeat(2 * 1024 * 1024));
    std::fs::write(&file, text).unwrap();
    let m = Scenario::load(&file).unwrap_err().to_string();
    assert!(
        m.contains("big.toml: the file is larger than 16777216 bytes"),
        "{m}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

// Point 1: what would stop simulated time is refused when the scenario is read.

#[test]
fn an_sqs_poller_that_polls_without_pause_is_refused() {
    // receive_wait = 0 is short polling: an idle poller receives again after poll_interval.
    let m = error_of(&queue_scenario(
        "",
        "receive_wait = \"0s\"\npoll_interval = \"0s\"",
    ));
    assert_located(
        &m,
        "case.toml:14:17: ",
        &[
            "component `jobs`, field `poll_interval`",
            "must be longer than zero",
            "simulated time would stop",
        ],
    );
    let m = error_of(&queue_scenario("", "visibility_timeout = \"0s\""));
    assert_located(
        &m,
        "case.toml:13:22: ",
        &[
            "field `visibility_timeout`",
            "must be longer than zero for a queue with a `consumer`",
        ],
    );
    // Without a consumer a zero visibility timeout redelivers nothing at once: accepted.
    let no_consumer =
        queue_scenario("", "visibility_timeout = \"0s\"").replace("consumer = \"workers\"\n", "");
    Scenario::parse(&no_consumer, Path::new("case.toml")).expect("valid without a consumer");
}

/// A closed loop of `users` thinking `think` against `target`, with `components` after it.
fn closed_loop(think: &str, target: &str, components: &str) -> String {
    format!(
        r#"[simulation]
duration = "2s"

[[workload]]
name = "users"
target = "{target}"
arrival = {{ process = "closed", users = 10, think = {think} }}
{components}"#
    )
}

/// Targets that answer at once, as the issue found them: a throttling API Gateway, an instance
/// with `max_queue = 0` and a busy worker, an ALB whose group has no instance in service, a
/// Lambda function that throttles.
fn instant_answers() -> Vec<(&'static str, &'static str, String)> {
    let slow = "[[component]]\nname = \"slow\"\nkind = \"ec2_fleet\"\ninstances = 1\nhandler = [ { sleep = \"10s\" } ]\n";
    vec![
        (
            "api_gateway",
            "gw",
            format!(
                "[[component]]\nname = \"gw\"\nkind = \"api_gateway\"\ntarget = \"slow\"\nthrottle = {{ rate = \"1/s\", burst = 1 }}\n{slow}"
            ),
        ),
        (
            "max_queue",
            "full",
            "[[component]]\nname = \"full\"\nkind = \"ec2_fleet\"\ninstances = 1\nmax_queue = 0\nhandler = [ { sleep = \"10s\" } ]\n".into(),
        ),
        (
            "alb",
            "lb",
            "[[component]]\nname = \"lb\"\nkind = \"alb\"\ntargets = \"group\"\n\n[[component]]\nname = \"group\"\nkind = \"asg\"\nmin = 0\nmax = 1\nhandler = [ { compute = \"1ms\" } ]\n".into(),
        ),
        (
            "lambda",
            "fn",
            "[[component]]\nname = \"fn\"\nkind = \"lambda\"\nreserved_concurrency = 1\nhandler = [ { sleep = \"1s\" } ]\n".into(),
        ),
    ]
}

#[test]
fn zero_think_time_against_instant_answers_is_refused() {
    for (_, target, components) in instant_answers() {
        for think in [
            r#""0s""#,
            r#"{ dist = "constant", value = "0s" }"#,
            r#"{ dist = "normal", mean = "0s", sd = "0s" }"#,
        ] {
            let m = error_of(&closed_loop(think, target, &components));
            assert_located(
                &m,
                "case.toml:7:11: ",
                &[
                    "workload `users`, field `arrival`",
                    "`think` must have a mean above zero",
                    "simulated time would stop",
                ],
            );
        }
    }
}

#[test]
fn positive_think_time_against_instant_answers_runs_to_its_end() {
    for (case, target, components) in instant_answers() {
        let text = closed_loop(r#""1ms""#, target, &components);
        let scenario = Scenario::parse(&text, Path::new("case.toml"))
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        let summary = run_quietly(&scenario, RunSettings::default())
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert!(summary.conservation.ok, "{case}");
        let requests = &summary.workloads["users"]["requests"];
        let created = requests["created"].as_u64().unwrap();
        // Ten users, each sending about every millisecond for 2 s, most answered at once.
        assert!(created > 1_000, "{case}: {requests}");
    }
}

#[test]
fn a_closed_loop_faster_than_the_rate_bound_is_refused() {
    let components = "[[component]]\nname = \"web\"\nkind = \"ec2_fleet\"\ninstances = 1\nhandler = [ { compute = \"1ms\" } ]\n";
    let m =
        error_of(&closed_loop(r#""1ns""#, "web", components).replace("users = 10", "users = 1000"));
    assert_located(
        &m,
        "case.toml:7:11: ",
        &[
            "1000 users with a mean `think` of 1ns would send 1000000000000 requests/s",
            "at most 10000000/s",
        ],
    );
    let m = error_of(
        &closed_loop(r#""1s""#, "web", components).replace("users = 10", "users = 4294967295"),
    );
    assert!(m.contains("`users` must be at most 1000000"), "{m}");
}

#[test]
fn an_empirical_think_time_of_zeros_is_refused_by_check() {
    let dir = temp("empirical");
    std::fs::write(dir.join("zeros.txt"), "0ms\n0ms\n").unwrap();
    let file = dir.join("case.toml");
    let components = "[[component]]\nname = \"web\"\nkind = \"ec2_fleet\"\ninstances = 1\nhandler = [ { compute = \"1ms\" } ]\n";
    std::fs::write(
        &file,
        closed_loop(
            r#"{ dist = "empirical", file = "zeros.txt" }"#,
            "web",
            components,
        ),
    )
    .unwrap();
    let out = awsim(&["check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("case.toml:7:11: "), "{stderr}");
    assert!(
        stderr.contains("`think` must have a mean above zero"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

// Point 6: one set of checks for every command.

/// BASE with a warm-up of 2 minutes in a run of 10 and a failure at 5 minutes.
fn warmup_and_fault() -> String {
    edit("duration = \"1m\"", "duration = \"10m\"\nwarmup = \"2m\"")
        + "\n[[fault]]\nkind = \"instance_failure\"\ncomponent = \"web\"\ntimes = [\"5m\"]\n"
}

#[test]
fn a_shorter_run_is_checked_as_the_file_is() {
    let scenario = Scenario::parse(&warmup_and_fault(), Path::new("case.toml")).expect("valid");
    let shorter = |secs| RunSettings {
        duration: Some(awsim::engine::time::SimDuration::from_secs(secs)),
        ..RunSettings::default()
    };
    // The warm-up is no longer clamped to the run (0 measured requests, exit 0): refused.
    let m = scenario
        .check_settings(shorter(60))
        .unwrap_err()
        .to_string();
    assert_located(
        &m,
        "case.toml:3:10: ",
        &[
            "field `simulation.warmup`",
            "the duration given on the command line (1m) must be longer than the warm-up (2m)",
        ],
    );
    assert!(
        m.contains(
            "case.toml:19:10: field `fault[0].times[0]`: 5m is outside the simulated time (0 to 1m)"
        ),
        "{m}"
    );
    // Building (what `run`, `record` and each sweep run do) refuses it too.
    match run_quietly(&scenario, shorter(60)) {
        Err(RunError::Scenario(e)) => assert_eq!(e.to_string(), m),
        other => panic!(
            "expected the scenario error, got {:?}",
            other.map(|s| s.scenario)
        ),
    }
    // A fault after the new end is refused, not reported as if it happened.
    let m = scenario
        .check_settings(shorter(180))
        .unwrap_err()
        .to_string();
    assert_located(
        &m,
        "case.toml:19:10: ",
        &["5m is outside the simulated time (0 to 3m)"],
    );
    scenario
        .check_settings(shorter(400))
        .expect("a run past the fault is fine");
    scenario
        .check_settings(RunSettings::default())
        .expect("the file's own duration");
}

#[test]
fn run_record_and_sweep_refuse_a_duration_shorter_than_the_warm_up() {
    let dir = temp("settings");
    let file = dir.join("case.toml");
    std::fs::write(&file, warmup_and_fault()).unwrap();
    let file = file.to_str().unwrap();
    let out_dir = dir.join("out");
    let out = out_dir.to_str().unwrap();
    let csv = dir.join("arrivals.csv");
    for args in [
        vec!["run", file, "--duration", "1m", "--out", out, "-q"],
        vec![
            "record",
            file,
            "--duration",
            "1m",
            "--out",
            csv.to_str().unwrap(),
            "-q",
        ],
        vec![
            "sweep",
            file,
            "--set",
            "web.instances=2,3",
            "--duration",
            "1m",
            "--out",
            out,
            "-q",
        ],
    ] {
        let result = awsim(&args);
        let stderr = text(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("case.toml:3:10: "), "{args:?}: {stderr}");
        assert!(
            stderr.contains("must be longer than the warm-up (2m)"),
            "{args:?}: {stderr}"
        );
        assert!(
            !out_dir.exists() && !csv.exists(),
            "{args:?}: wrote before refusing"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

// Point 2 for sweeps.

#[test]
fn sweep_replications_and_grids_are_bounded() {
    let dir = temp("sweep");
    let out = dir.join("out");
    let result = awsim(&[
        "sweep",
        "scenarios/examples/web_tier.toml",
        "--set",
        "web.instances=2",
        "-r",
        "100000000",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(result.status.code(), Some(2));
    let stderr = text(&result.stderr);
    assert!(stderr.contains("100000000 is not in 1..=10000"), "{stderr}");
    let result = awsim(&[
        "sweep",
        "scenarios/examples/web_tier.toml",
        "--set",
        "web.instances=1..10000",
        "--set",
        "web.vcpus=1..1000",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(result.status.code(), Some(2));
    let stderr = text(&result.stderr);
    assert!(
        stderr.contains("the grid has 10000 × 1000 points; at most 10000 are accepted"),
        "{stderr}"
    );
    assert!(!out.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

// Point 9.

#[test]
fn a_plain_duration_is_a_constant_think_time() {
    let components = "[[component]]\nname = \"web\"\nkind = \"ec2_fleet\"\ninstances = 1\nhandler = [ { compute = \"1ms\" } ]\n";
    let plain = Scenario::parse(
        &closed_loop(r#""1s""#, "web", components),
        Path::new("a.toml"),
    )
    .expect("think = \"1s\" is a constant");
    let table = Scenario::parse(
        &closed_loop(r#"{ dist = "constant", value = "1s" }"#, "web", components),
        Path::new("a.toml"),
    )
    .expect("valid");
    let a = run_quietly(&plain, RunSettings::default()).unwrap();
    let b = run_quietly(&table, RunSettings::default()).unwrap();
    assert_eq!(a.to_json(), b.to_json());
    // Users start by thinking: each sends at 1 s, is answered at 1.001 s, and thinks past the
    // end of the 2 s run.
    assert_eq!(a.workloads["users"]["requests"]["created"], 10);
}

#[test]
fn asg_vcpus_of_zero_is_reported_at_the_field() {
    let m = error_of(&queue_scenario("vcpus = 0", ""));
    assert_located(
        &m,
        "case.toml:20:9: ",
        &["component `workers`, field `vcpus`", "must be at least 1"],
    );
}

#[test]
fn a_non_utf8_scenario_is_located_at_its_first_bad_byte() {
    let dir = temp("utf8");
    let file = dir.join("latin1.toml");
    let mut bytes = b"[simulation]\nduration = \"1m\"\n# caf".to_vec();
    bytes.extend([0xE9, b'\n']);
    std::fs::write(&file, &bytes).unwrap();
    let m = Scenario::load(&file).unwrap_err().to_string();
    let first = m.lines().next().unwrap();
    assert!(first.ends_with("latin1.toml:3:6: byte 0xE9 is not UTF-8 text; a scenario file must be UTF-8 (save it as UTF-8)"), "{m}");
    assert!(
        m.contains("3 | # caf"),
        "shows the line up to the byte: {m}"
    );
    let out = awsim(&["check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("latin1.toml:3:6: byte 0xE9"));
    std::fs::remove_dir_all(&dir).unwrap();
}
