//! The watchdog: a run that would never end, or would exhaust memory, stops at one of its
//! bounds with an error that names the bound, the components involved and what to change.
//!
//! The scenarios of issue 14 that hung run here with small bounds, so each ends in well under
//! a second. Validation may come to refuse some of them before they run; a located refusal is
//! then an acceptable end too. The rest bound ordinary scenarios tightly, so they do not depend
//! on what validation accepts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use awsim::engine::memory::live_bytes;
use awsim::engine::time::SimDuration;
use awsim::engine::watchdog::{Limit, Limits};
use awsim::metrics::NoSeries;
use awsim::run::limits::LimitError;
use awsim::run::{RunError, run_with_limits};
use awsim::scenario::{RunSettings, Scenario};

/// Small bounds: a stall is seen after 10⁴ events, any run stops after 10⁵.
fn small() -> Limits {
    Limits {
        max_events: Some(100_000),
        max_stalled_events: 10_000,
        ..Limits::default()
    }
}

/// A fresh folder for one test's files.
fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("awsim-limits-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the scenario at `path` within `limits`, on a thread: a run that has not ended after a
/// minute (far beyond what these bounds allow) fails the test instead of hanging it.
fn run_file(path: &Path, limits: Limits) -> Result<(), RunError> {
    let path = path.to_path_buf();
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = Scenario::load(&path)
            .map_err(RunError::from)
            .and_then(|scenario| {
                run_with_limits(
                    &scenario,
                    RunSettings::default(),
                    limits,
                    &mut NoSeries,
                    |_| {},
                )
            });
        let _ = send.send(result.map(|_| ()));
    });
    receive
        .recv_timeout(Duration::from_secs(60))
        .expect("the run ended within a minute")
}

/// Writes `text` as `name.toml` in a fresh folder (with `files` beside it) and runs it.
fn run_text(
    name: &str,
    text: &str,
    files: &[(&str, &str)],
    limits: Limits,
) -> Result<(), RunError> {
    let dir = folder(name);
    for (file, contents) in files {
        std::fs::write(dir.join(file), contents).unwrap();
    }
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    let result = run_file(&path, limits);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The stop of a run expected to go past a bound.
fn stopped(result: Result<(), RunError>) -> LimitError {
    match result {
        Err(RunError::Limit(e)) => *e,
        Err(e) => panic!("expected a stop at a bound, got: {e}"),
        Ok(()) => panic!("expected a stop at a bound, the run ended"),
    }
}

/// An example from the issue ends either refused by validation, with the file's location, or
/// stopped at one of `expected` bounds naming the components `involved`; returns the message.
fn ends(
    name: &str,
    text: &str,
    files: &[(&str, &str)],
    expected: &[Limit],
    involved: &[&str],
) -> String {
    match run_text(name, text, files, small()) {
        Err(RunError::Scenario(e)) => {
            let message = e.to_string();
            assert!(
                message.contains(&format!("{name}.toml:")),
                "not located: {message}"
            );
            message
        }
        result => {
            let stop = stopped(result);
            let message = stop.to_string();
            assert!(expected.contains(&stop.limit), "{message}");
            for name in involved {
                assert!(
                    message.contains(&format!("`{name}`")),
                    "{name} not named: {message}"
                );
            }
            message
        }
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
    let message = ends(
        "throttle",
        text,
        &[],
        &[Limit::Stall(10_000)],
        &["users", "gate"],
    );
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
    ends(
        "function",
        text,
        &[],
        &[Limit::Stall(10_000)],
        &["users", "fn"],
    );
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
    ends(
        "full_queue",
        text,
        &[],
        &[Limit::Stall(10_000)],
        &["users", "web"],
    );
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
    let message = ends(
        "no_target",
        text,
        &[],
        &[Limit::Stall(10_000)],
        &["users", "lb"],
    );
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
    ends("poll", text, &[], &[Limit::Stall(10_000)], &["q"]);
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
    let expected = [Limit::Stall(10_000), Limit::Events(100_000)];
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
    ends("flood", text, &[], &[Limit::Stall(10_000)], &["flood"]);
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
    assert!(stop.at > awsim::engine::time::SimTime::ZERO && stop.at < stop.end);
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
    let stop = stopped(run_file(Path::new(PIPELINE), limits));
    assert_eq!(stop.limit, Limit::Pending(200));
    assert!(stop.pending > 200);
    // The queue's messages wait as events of the queue (visibility, delivery).
    assert_eq!(stop.pending_by[0].name, "orders");
    assert_eq!(stop.pending_by[0].kind, "sqs");
    assert!(stop.pending_by.iter().map(|i| i.count).sum::<u64>() <= stop.pending);
    assert!(stop.to_string().contains("--max-pending 200"));
}

#[test]
fn the_memory_bound_stops_a_growing_run_before_it_is_too_late() {
    let live = live_bytes().expect("the test binary counts its memory (main.rs)");
    // 100 000 requests/s against one instance that serves one a second: the queue grows by
    // about 100 000 requests per simulated second.
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
    let margin = 64 << 20;
    let limits = Limits {
        max_memory: live as u64 + margin,
        ..Limits::default()
    };
    let stop = stopped(run_text("memory", text, &[], limits));
    let Limit::Memory { limit, held } = stop.limit else {
        panic!("{stop}");
    };
    assert_eq!(limit, live + margin);
    // Seen within a few thousand events of crossing it (other tests allocate meanwhile too).
    assert!(
        held > limit && held < limit + margin,
        "held {held}, limit {limit}"
    );
    // The workload waits for every request the instance holds.
    let holders: Vec<&str> = stop.in_flight.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(holders, ["flood", "web"]);
    assert_eq!(stop.in_flight[0].count, stop.in_flight[1].count);
    let message = stop.to_string();
    assert!(message.contains("more than --max-memory"), "{message}");
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
        duration: Some(SimDuration::from_secs(60)),
        ..RunSettings::default()
    };
    let free = awsim::run::run_quietly(&scenario, settings).unwrap();
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

fn awsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_awsim"))
        .args(args)
        .output()
        .expect("awsim runs")
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
