//! Memory stays flat as simulated time grows: the peak resident memory of a 10-hour simulated
//! run must be within 10 % of a 1-hour run's.
//!
//! Each run happens in a child process (peak memory only grows within a process), which
//! reports its own peak (`VmHWM` from /proc/self/status, Linux only). The time series is
//! streamed to a temporary file exactly as `awsim run` does.
//!
//! Run with `cargo bench --bench memory`. Exits non-zero if the bound is broken.

use std::path::Path;
use std::process::Command;

use awsim::engine::time::SimDuration;
use awsim::output::timeseries::CsvSeries;
use awsim::run::run;
use awsim::scenario::{RunSettings, Scenario};

const CHILD_ENV: &str = "AWSIM_MEMORY_BENCH_HOURS";
const SCENARIO: &str = "scenarios/examples/web_tier.toml";

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

fn child(hours: u64) {
    let scenario = Scenario::load(Path::new(SCENARIO)).expect("valid scenario");
    let dir = std::env::temp_dir().join(format!("awsim-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut series = CsvSeries::create(&dir.join("timeseries.csv")).expect("series file");
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

fn measure(hours: u64) -> (u64, u64) {
    let exe = std::env::current_exe().expect("own path");
    let out = Command::new(exe)
        .env(CHILD_ENV, hours.to_string())
        .output()
        .expect("child runs");
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

fn main() {
    if let Ok(hours) = std::env::var(CHILD_ENV) {
        child(hours.parse().expect("hours"));
        return;
    }
    let (peak_1h, requests_1h) = measure(1);
    let (peak_10h, requests_10h) = measure(10);
    let ratio = peak_10h as f64 / peak_1h as f64;
    println!(
        "memory: 1 h simulated ({requests_1h} requests): peak {peak_1h} KiB; \
         10 h simulated ({requests_10h} requests): peak {peak_10h} KiB; ratio {ratio:.3}"
    );
    if ratio > 1.10 {
        eprintln!("memory grows with simulated time: ratio {ratio:.3} > 1.10");
        std::process::exit(1);
    }
}
