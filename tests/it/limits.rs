//! The watchdog: a run that would never end, or would exhaust memory, stops at one of its
//! bounds with an error that names the bound, the components involved and what to change.
//!
//! The scenarios of issue 14 that hung run here through the `awsim` binary with small bounds,
//! so each ends in well under a second, and a run that does not end is killed (no test hangs
//! and nothing eats the machine if the watchdog breaks). Validation may come to refuse some of
//! them before they run; a located refusal is then an acceptable end too. The other tests
//! bound ordinary scenarios tightly, so they do not depend on what validation accepts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use awsim::engine::time::{SimDuration, SimTime};
use awsim::engine::watchdog::{Limit, Limits};
use awsim::metrics::NoSeries;
use awsim::run::limits::LimitError;
use awsim::run::{RunError, run_quietly, run_with_limits};
use awsim::scenario::{RunSettings, Scenario};

/// A fresh folder for one test's files.
fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("awsim-limits-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `awsim` with `args`; kills it and fails the test if it has not ended after a minute
/// (far beyond what the bounds these tests give allow).
fn awsim(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_awsim"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("awsim starts");
    let started = Instant::now();
    while child.try_wait().expect("awsim runs").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("awsim {args:?} did not end within a minute");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("awsim's output")
}

/// Small bounds: a stall is seen after 10⁴ events, any run stops after 10⁵.
const SMALL: &[&str] = &["--max-stall-events", "1e4", "--max-events", "1e5"];

/// Writes `text` as `name.toml` in a fresh folder, with `files` beside it, and runs it with
/// `awsim run` and the bounds `flags`. Returns the exit code and the error message; nothing is
/// written as a finished run.
fn run_bounded(name: &str, text: &str, files: &[(&str, &str)], flags: &[&str]) -> (i32, String) {
    let dir = folder(name);
    for (file, contents) in files {
        std::fs::write(dir.join(file), contents).unwrap();
    }
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    let out = dir.join("out");
    let mut args = vec![
        "run",
        path.to_str().unwrap(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(flags);
    let output = awsim(&args);
    assert!(!out.join("summary.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
    let code = output.status.code().expect("awsim exited");
    (code, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// An example from the issue ends either refused by validation (exit code 2) with the file's
/// location, or stopped (exit code 3) at the bound `expected` (one of its flags as the message
/// gives it) naming the components `involved`. Returns the message.
fn ends(
    name: &str,
    text: &str,
    files: &[(&str, &str)],
    expected: &[&str],
    involved: &[&str],
) -> String {
    let (code, message) = run_bounded(name, text, files, SMALL);
    match code {
        2 => assert!(
            message.contains(&format!("{name}.toml:")),
            "not located: {message}"
        ),
        3 => {
            assert!(expected.iter().any(|e| message.contains(e)), "{message}");
            for name in involved {
                assert!(
                    message.contains(&format!("`{name}`")),
                    "{name} not named: {message}"
                );
            }
        }
        _ => panic!("exit code {code}: {message}"),
    }
    message
}

/// The stall bound as the message gives it.
const STALL: &str = "(--max-stall-events 10000)";

/// Runs the scenario at `path` within `limits` (the run must end without them too).
fn run_file(path: &Path, limits: Limits) -> Result<(), RunError> {
    let scenario = Scenario::load(path).unwrap_or_else(|e| panic!("{e}"));
    run_with_limits(
        &scenario,
        RunSettings::default(),
        limits,
        &mut NoSeries,
        |_| {},
    )
    .map(|_| ())
}

/// The stop of a run expected to go past a bound.
fn stopped(result: Result<(), RunError>) -> LimitError {
    match result {
        Err(RunError::Limit(e)) => *e,
        Err(e) => panic!("expected a stop at a bound, got: {e}"),
        Ok(()) => panic!("expected a stop at a bound, the run ended"),
    }
}

#[test]
fn closed_loop_users_with_no_think_time_against_a_throttle_stop_as_a_stall() {
    let text = r#"
[simulation]
duration = "10s"

[[workload]]
name = "users"
target = "gate"
arrival = { process = "closed", users = 10, think = { dist = "constant", value = "0s" } }

[[component]]
name = "gate"
kind = "api_gateway"
target = "fn"
throttle = { rate = "1/s", burst = 1 }

[[component]]
name = "fn"
kind = "lambda"
timeout = "900s"
handler = [ { compute = "10ms" } ]
"#;
    let message = ends("throttle", text, &[], &[STALL], &["users", "gate"]);
    if message.contains("stopped at") {
        assert!(
            message.contains("busiest over the last 5000 events"),
            "{message}"
        );
        assert!(message.contains("zero think time"), "{message}");
        assert!(message.contains("--max-stall-events 10000"), "{message}");
    }
}

#[test]
fn closed_loop_users_with_no_think_time_against_a_throttling_function_stop() {
    let text = r#"
[simulation]
duration = "10s"

[[workload]]
name = "users"
target = "fn"
arrival = { process = "closed", users = 10, think = { dist = "constant", value = "0s" } }

[[component]]
name = "fn"
kind = "lambda"
timeout = "900s"
reserved_concurrency = 1
handler = [ { compute = "10ms" } ]
"#;
    ends("function", text, &[], &[STALL], &["users", "fn"]);
}

#[test]
fn closed_loop_users_with_no_think_time_against_a_full_queue_stop() {
    let text = r#"
[simulation]
duration = "10s"

[[workload]]
name = "users"
target = "web"
arrival = { process = "closed", users = 5, think = { dist = "constant", value = "0s" } }

[[component]]
name = "web"
kind = "ec2_fleet"
instances = 1
max_queue = 0
handler = [ { compute = "10ms" } ]
"#;
    ends("full_queue", text, &[], &[STALL], &["users", "web"]);
}

#[test]
fn closed_loop_users_with_no_think_time_against_a_load_balancer_without_targets_stop() {
    let text = r#"
[simulation]
duration = "10m"

[[workload]]
name = "users"
target = "lb"
arrival = { process = "closed", users = 5, think = { dist = "constant", value = "0s" } }

[[component]]
name = "lb"
kind = "alb"
targets = "web"

[[component]]
name = "web"
kind = "ec2_fleet"
instances = 1
handler = [ { compute = "10ms" } ]

[[fault]]
kind = "instance_failure"
component = "web"
times = ["1s"]
"#;
    let message = ends("no_target", text, &[], &[STALL], &["users", "lb"]);
    if message.contains("stopped at") {
        assert!(
            message.contains("stopped at simulated time 1s of 10m"),
            "{message}"
        );
    }
}

#[test]
fn a_queue_polled_with_no_wait_stops_even_in_a_nanosecond() {
    let text = r#"
[simulation]
duration = "1ns"

[[workload]]
name = "producer"
target = "q"
arrival = { process = "poisson", rate = "1/s" }

[[component]]
name = "q"
kind = "sqs"
consumer = "workers"
receive_wait = "0s"
poll_interval = "0s"

[[component]]
name = "workers"
kind = "ec2_fleet"
instances = 1
handler = [ { compute = "10ms" } ]
"#;
    ends("poll", text, &[], &[STALL], &["q"]);
}

#[test]
fn a_trace_looped_at_a_huge_speedup_stops() {
    let text = r#"
[simulation]
duration = "10s"

[[workload]]
name = "replay"
target = "web"
arrival = { process = "trace", file = "short.csv", loop = true, speedup = 1000000 }

[[component]]
name = "web"
kind = "ec2_fleet"
instances = 2
handler = [ { compute = "1ms" } ]
"#;
    let trace = [("short.csv", "timestamp\n0.000\n0.001\n")];
    // Time moves a nanosecond per loop: far too slowly to end, but it moves.
    let expected = [STALL, "(--max-events 100000)"];
    ends("trace_loop", text, &trace, &expected, &["replay"]);
}

#[test]
fn an_arrival_rate_beyond_the_clock_stops() {
    let text = r#"
[simulation]
duration = "10s"

[[workload]]
name = "flood"
target = "web"
arrival = { process = "poisson", rate = "1e18/s" }

[[component]]
name = "web"
kind = "ec2_fleet"
instances = 2
handler = [ { compute = "1ms" } ]
"#;
    ends("flood", text, &[], &[STALL], &["flood"]);
}

const MMC: &str = "scenarios/examples/mmc.toml";
const PIPELINE: &str = "scenarios/examples/order_pipeline.toml";

#[test]
fn the_event_bound_stops_a_run_exactly_there_naming_the_busiest() {
    let limits = Limits {
        max_events: Some(100_000),
        ..Limits::default()
    };
    let stop = stopped(run_file(Path::new(MMC), limits));
    assert_eq!(stop.limit, Limit::Events(100_000));
    assert_eq!(stop.events, 100_000);
    assert!(stop.at > SimTime::ZERO && stop.at < stop.end);
    assert_eq!(stop.handled_over, 50_000);
    assert!(!stop.handled.is_empty());
    assert_eq!(stop.handled.iter().map(|i| i.count).sum::<u64>(), 50_000);
    let message = stop.to_string();
    assert!(
        message.starts_with("the run reached its limit of 100000 events (--max-events 100000)"),
        "{message}"
    );
    assert!(message.contains("--max-events none"), "{message}");
}

#[test]
fn the_pending_bound_names_the_components_that_hold_the_events() {
    let limits = Limits {
        max_pending: Some(200),
        ..Limits::default()
    };
    // 500 invocations a second of a function that computes for a second: about 500
    // executions run at once (below the account's 1 000), each waiting as one event of the function (its end), while the
    // workload holds one arrival ahead.
    let text = r#"
[simulation]
duration = "10s"

[[workload]]
name = "callers"
target = "work"
arrival = { process = "poisson", rate = "500/s" }

[[component]]
name = "work"
kind = "lambda"
handler = [ { compute = "1s" } ]
"#;
    let scenario =
        Scenario::parse(text, Path::new("pending.toml")).unwrap_or_else(|e| panic!("{e}"));
    let result = run_with_limits(
        &scenario,
        RunSettings::default(),
        limits,
        &mut NoSeries,
        |_| {},
    );
    let stop = stopped(result.map(|_| ()));
    assert_eq!(stop.limit, Limit::Pending(200));
    assert!(stop.pending > 200);
    assert_eq!(stop.pending_by[0].name, "work");
    assert_eq!(stop.pending_by[0].kind, "lambda");
    assert!(stop.pending_by.iter().map(|i| i.count).sum::<u64>() <= stop.pending);
    assert!(stop.to_string().contains("--max-pending 200"));
}

#[test]
fn the_memory_bound_stops_a_growing_run_before_it_is_too_late() {
    // 100 000 requests/s against one instance that serves one a second: the queue grows by
    // about 100 000 requests per simulated second, a simulated hour would need tens of GB.
    let text = r#"
[simulation]
duration = "1h"

[[workload]]
name = "flood"
target = "web"
arrival = { process = "poisson", rate = "100000/s" }

[[component]]
name = "web"
kind = "ec2_fleet"
instances = 1
handler = [ { compute = "1s" } ]
"#;
    let (code, message) = run_bounded("memory", text, &[], &["--max-memory", "64MiB"]);
    assert_eq!(code, 3, "{message}");
    // "awsim held 101.85MiB of memory, more than --max-memory 64MiB": seen within a few
    // thousand events of crossing it, though the instance's queue may just have doubled its
    // storage (counted whole; its new half is not touched yet).
    let held: f64 = message
        .strip_prefix("error: awsim held ")
        .and_then(|rest| rest.split_once("MiB of memory, more than --max-memory 64MiB"))
        .and_then(|(held, _)| held.parse().ok())
        .unwrap_or_else(|| panic!("{message}"));
    assert!(held > 64.0 && held < 2.0 * 64.0, "{message}");
    // The workload waits for every request the instance holds.
    assert!(
        message.contains("most requests in flight: `flood` (workload) "),
        "{message}"
    );
    assert!(message.contains("`web` (ec2_fleet)"), "{message}");
}

#[test]
fn a_wall_clock_bound_stops_a_long_run() {
    let limits = Limits {
        max_wall: Some(Duration::from_millis(1)),
        ..Limits::default()
    };
    let stop = stopped(run_file(Path::new(PIPELINE), limits));
    assert_eq!(stop.limit, Limit::Wall(Duration::from_millis(1)));
    assert!(stop.to_string().contains("--max-wall 1ms"));
}

#[test]
fn an_interrupt_stops_a_run() {
    static INTERRUPT: AtomicBool = AtomicBool::new(false);
    let scenario = Scenario::load(Path::new(PIPELINE)).unwrap();
    let limits = Limits {
        interrupt: Some(&INTERRUPT),
        ..Limits::default()
    };
    let mut progress = 0;
    let result = run_with_limits(
        &scenario,
        RunSettings::default(),
        limits,
        &mut NoSeries,
        |_| {
            progress += 1;
            if progress == 3 {
                INTERRUPT.store(true, Ordering::Relaxed);
            }
        },
    );
    let stop = stopped(result.map(|_| ()));
    assert_eq!(stop.limit, Limit::Interrupted);
    assert!(stop.at < stop.end);
    assert!(stop.to_string().starts_with("the run was interrupted"));
}

#[test]
fn a_run_within_its_bounds_is_unchanged_by_them() {
    // Bounds just above what the run needs change nothing in its summary.
    let scenario = Scenario::load(Path::new(MMC)).unwrap();
    let settings = RunSettings {
        // Just past its 10-minute warm-up.
        duration: Some(SimDuration::from_secs(11 * 60)),
        ..RunSettings::default()
    };
    let free = run_quietly(&scenario, settings).unwrap();
    let tight = Limits {
        max_events: Some(free.events),
        ..Limits::default()
    };
    let bounded = run_with_limits(&scenario, settings, tight, &mut NoSeries, |_| {}).unwrap();
    assert_eq!(free.to_json(), bounded.to_json());
    let short = Limits {
        max_events: Some(free.events - 1),
        ..Limits::default()
    };
    let result = run_with_limits(&scenario, settings, short, &mut NoSeries, |_| {});
    assert_eq!(stopped(result.map(|_| ())).events, free.events - 1);
}

#[test]
fn the_command_line_exits_3_with_the_bound_and_writes_no_result() {
    let dir = folder("cli");
    let out = dir.join("run");
    let run = awsim(&[
        "run",
        MMC,
        "--quiet",
        "--max-events",
        "1e4",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("--max-events 10000"), "{stderr}");
    assert!(stderr.contains("stopped at simulated time"), "{stderr}");
    assert!(!out.join("summary.json").exists());

    let trace = dir.join("arrivals.csv");
    let record = awsim(&[
        "record",
        MMC,
        "--quiet",
        "--max-events",
        "1e4",
        "--out",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(
        record.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&record.stderr)
    );
    assert!(!trace.exists());

    let sweep = awsim(&[
        "sweep",
        MMC,
        "--set",
        "server.vcpus=8",
        "-r",
        "1",
        "--quiet",
        "--max-events",
        "1e4",
        "--out",
        dir.join("sweep").to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&sweep.stderr);
    assert_eq!(sweep.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("replication 1") && stderr.contains("--max-events 10000"),
        "{stderr}"
    );

    let bad = awsim(&["run", MMC, "--max-memory", "4"]);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("units are"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
