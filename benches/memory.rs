//! Memory stays flat as simulated time grows: the peak resident memory of a 10-hour simulated
//! run must be within 10 % of a 1-hour run's, both for the synthetic web tier and for the same
//! load replayed from a recorded trace ten times longer (the trace is streamed, never loaded).
//! And whatever the interval: M/M/8 for 77 hours at the default 1 s interval (277 200
//! intervals), with its plots and report written as `awsim run` writes them, must peak within
//! 1.2 times the same model's 1-hour run (the plots and report read the series reduced).
//!
//! Each run happens in a child process (peak memory only grows within a process), which
//! reports its own peak (`VmHWM` from /proc/self/status, Linux only). The time series is
//! streamed to a temporary file exactly as `awsim run` does.
//!
//! Run with `cargo bench --bench memory`. Exits non-zero if the bound is broken. Under
//! `cargo test --benches` (no `--bench` argument) it runs as a smoke test: every case at 1 and
//! 2 hours, printing the ratios without holding them to the bounds, so that CI sees it still
//! builds and runs in a few seconds.

use std::path::Path;
use std::process::Command;

use awsim::engine::time::SimDuration;
use awsim::output::timeseries::CsvSeries;
use awsim::output::{activities, plots, report, write_atomic};
use awsim::run::run;
use awsim::scenario::{RunSettings, Scenario};

const CHILD_ENV: &str = "AWSIM_MEMORY_BENCH_HOURS";
const TRACE_ENV: &str = "AWSIM_MEMORY_BENCH_TRACE";
const MMC_ENV: &str = "AWSIM_MEMORY_BENCH_MMC_HOURS";
const SCENARIO: &str = "scenarios/examples/web_tier.toml";
const MMC: &str = "scenarios/examples/mmc.toml";

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

/// The web tier with its workload replaying `trace` instead of generating arrivals.
fn replay_scenario(trace: &Path) -> Scenario {
    let text = std::fs::read_to_string(SCENARIO).expect("scenario text");
    let arrival = "arrival = { process = \"poisson\", rate = \"120/s\" }";
    assert!(
        text.contains(arrival),
        "{SCENARIO} changed: update the memory benchmark"
    );
    let replay = text.replace(
        arrival,
        &format!(
            "arrival = {{ process = \"trace\", file = \"{}\" }}",
            trace.display()
        ),
    );
    Scenario::parse(&replay, Path::new(SCENARIO)).expect("valid replay scenario")
}

fn child(hours: u64, trace: Option<&str>) {
    let scenario = match trace {
        Some(path) => replay_scenario(Path::new(path)),
        None => Scenario::load(Path::new(SCENARIO)).expect("valid scenario"),
    };
    let dir = std::env::temp_dir().join(format!("awsim-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut series = CsvSeries::create(&dir.join("timeseries.csv"), &scenario.series_kinds())
        .expect("series file");
    let settings = RunSettings {
        duration: Some(SimDuration::from_secs(hours * 3600)),
        ..RunSettings::default()
    };
    let summary = run(&scenario, settings, &mut series, |_| {}).expect("run");
    series.finish().expect("series written");
    let requests = summary.workloads["shoppers"]["requests"]["created"]
        .as_u64()
        .unwrap_or(0);
    std::fs::remove_dir_all(&dir).ok();
    println!("{} {}", peak_kib(), requests);
}

/// M/M/8 for `hours` at the default 1 s interval, with every output `awsim run` writes.
fn mmc_child(hours: u64) {
    let scenario = Scenario::load(Path::new(MMC)).expect("valid scenario");
    let dir = std::env::temp_dir().join(format!("awsim-memory-mmc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut series = CsvSeries::create(&dir.join("timeseries.csv"), &scenario.series_kinds())
        .expect("series file");
    let settings = RunSettings {
        duration: Some(SimDuration::from_secs(hours * 3600)),
        ..RunSettings::default()
    };
    let summary = run(&scenario, settings, &mut series, |_| {}).expect("run");
    let reduced = series.finish().expect("series written");
    activities::write(&summary, &dir).expect("activities written");
    let plots = plots::write_run_plots(&dir, &summary, &reduced).expect("plots written");
    report::write_report(&dir, &scenario, &summary, &plots).expect("report written");
    write_atomic(&dir.join("summary.json"), summary.to_json().as_bytes()).expect("summary");
    let requests = summary.workloads["arrivals"]["requests"]["created"]
        .as_u64()
        .unwrap_or(0);
    std::fs::remove_dir_all(&dir).ok();
    println!("{} {}", peak_kib(), requests);
}

fn measure(hours: u64, trace: Option<&Path>) -> (u64, u64) {
    measure_in(CHILD_ENV, hours, trace)
}

/// Runs the child that `env` selects for `hours`; its peak (KiB) and requests.
fn measure_in(env: &str, hours: u64, trace: Option<&Path>) -> (u64, u64) {
    let exe = std::env::current_exe().expect("own path");
    let mut command = Command::new(exe);
    command.env(env, hours.to_string());
    if let Some(trace) = trace {
        command.env(TRACE_ENV, trace);
    }
    let out = command.output().expect("child runs");
    assert!(
        out.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text
        .split_whitespace()
        .map(|p| p.parse::<u64>().expect("number"));
    (parts.next().expect("peak"), parts.next().expect("requests"))
}

/// Records `hours` of the web tier's arrivals as a trace in `dir`.
fn record_trace(dir: &Path, hours: u64) -> std::path::PathBuf {
    let scenario = Scenario::load(Path::new(SCENARIO)).expect("valid scenario");
    let path = dir.join(format!("web_tier_{hours}h.csv"));
    let settings = RunSettings {
        duration: Some(SimDuration::from_secs(hours * 3600)),
        ..RunSettings::default()
    };
    awsim::run::record(&scenario, settings, &path, |_| {}).expect("recorded");
    path
}

/// Compares the peaks of a 1-hour and a `hours`-hour run; false if memory grew by more than
/// `bound` times.
fn compare(label: &str, short: (u64, u64), long: (u64, u64), hours: u64, bound: f64) -> bool {
    let ((peak_1h, requests_1h), (peak_long, requests_long)) = (short, long);
    let ratio = peak_long as f64 / peak_1h as f64;
    println!(
        "memory, {label}: 1 h simulated ({requests_1h} requests): peak {peak_1h} KiB; \
         {hours} h simulated ({requests_long} requests): peak {peak_long} KiB; ratio {ratio:.3}"
    );
    if ratio > bound {
        eprintln!("memory grows with simulated time ({label}): ratio {ratio:.3} > {bound}");
        return false;
    }
    true
}

fn main() {
    if let Ok(hours) = std::env::var(CHILD_ENV) {
        let trace = std::env::var(TRACE_ENV).ok();
        child(hours.parse().expect("hours"), trace.as_deref());
        return;
    }
    if let Ok(hours) = std::env::var(MMC_ENV) {
        mmc_child(hours.parse().expect("hours"));
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    let full = std::env::args().any(|a| a == "--bench");
    let (long, mmc_long) = if full { (10, 77) } else { (2, 2) };
    let bound = |b: f64| if full { b } else { f64::INFINITY };
    let synthetic = compare(
        "synthetic arrivals",
        measure(1, None),
        measure(long, None),
        long,
        bound(1.10),
    );
    let dir = std::env::temp_dir().join(format!("awsim-memory-traces-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (short, long_trace) = (record_trace(&dir, 1), record_trace(&dir, long));
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len() / 1024).unwrap_or(0);
    println!(
        "traces: 1 h = {} KiB, {long} h = {} KiB",
        size(&short),
        size(&long_trace)
    );
    let replay = compare(
        "trace replay",
        measure(1, Some(&short)),
        measure(long, Some(&long_trace)),
        long,
        bound(1.10),
    );
    std::fs::remove_dir_all(&dir).ok();
    let intervals = compare(
        "M/M/8 at a 1 s interval, plots and report written",
        measure_in(MMC_ENV, 1, None),
        measure_in(MMC_ENV, mmc_long, None),
        mmc_long,
        bound(1.20),
    );
    if !(synthetic && replay && intervals) {
        std::process::exit(1);
    }
}
