//! The command line: `awsim run`, `awsim check`, `awsim sweep`, `awsim record`, `awsim compare`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::engine::time::SimDuration;

/// Deterministic discrete-event simulator of AWS architectures.
///
/// Exit codes: 0 success; 1 a run failed its conservation check (a bug in awsim) or its output
/// could not be written; 2 bad usage or an invalid scenario.
#[derive(Debug, Parser)]
#[command(name = "awsim", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario and write summary.json and timeseries.csv.
    Run(RunArgs),
    /// Validate a scenario without running it, and print its component graph.
    Check {
        /// The scenario file (TOML).
        file: PathBuf,
    },
    /// Run a scenario over a grid of parameter values, with replications; write sweep.csv.
    ///
    /// sweep.csv has one row per point: the swept values, then the mean and 95 % confidence
    /// half-width of each headline figure across replications.
    Sweep(SweepArgs),
    /// Run a scenario and write the arrivals its workloads create as a CSV trace, so that a
    /// synthetic load can be frozen and replayed exactly (arrival = { process = "trace", ... }).
    Record(RecordArgs),
    /// Compare two summary.json files side by side, with absolute and relative differences.
    Compare {
        /// The first summary (A).
        a: PathBuf,
        /// The second summary (B); differences are B − A.
        b: PathBuf,
    },
}

/// Arguments of `awsim sweep`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:
  awsim sweep scenarios/examples/web_tier.toml --set web.instances=2..8 --goal 'p99<200ms'
  awsim sweep FILE --set web.instances=2,4,8 --set web.vcpus=1,2 --replications 10 --jobs 4
  awsim sweep FILE --set shoppers.arrival.rate=50/s,100/s --set jobs.visibility_timeout=30s,5m

Replication r uses the same seed at every point (common random numbers), so differences
between points are not noise; results do not depend on --jobs.")]
pub struct SweepArgs {
    /// The scenario file (TOML).
    pub file: PathBuf,
    /// NAME.FIELD=VALUES: a key of the workload, component or named fault NAME (nested with dots:
    /// shoppers.arrival.rate; a number indexes a list: web.handler.0.compute) and its values:
    /// a list (2,4,8), an inclusive range (2..20:2, 0.5..1:0.25) or strings (30s,5m). Repeat
    /// for a grid: the cross product of every --set.
    #[arg(long = "set", value_name = "NAME.FIELD=VALUES", required = true)]
    pub sets: Vec<String>,
    /// Replications per point (at least 2 for confidence intervals).
    #[arg(long, short = 'r', default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub replications: u32,
    /// Runs at once (default: one per core). Results are the same for any value.
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// Base seed; replication r runs with a seed derived from it and r (default: the
    /// scenario's seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated duration of every run, e.g. 10m (overrides the scenario's `duration`).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<SimDuration>,
    /// Output folder (default: output/<scenario name>-sweep).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A bound on a workload figure, [WORKLOAD.]FIGURE<VALUE with FIGURE one of mean, p50,
    /// p90, p99, p999 (latency: 200ms, 1s) or errors (share: 1%); `<=` too. Repeat for several
    /// (all must hold). Marks meets_goal in sweep.csv and names the cheapest point meeting it.
    #[arg(long = "goal", value_name = "EXPR")]
    pub goals: Vec<String>,
    /// Keep the runs already in the output folder and run only the missing ones.
    #[arg(long)]
    pub resume: bool,
    /// Derive each point's seeds from its parameters too, instead of common random numbers.
    #[arg(long)]
    pub independent_seeds: bool,
    /// No progress bar and no table; errors only.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Arguments of `awsim run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The scenario file (TOML).
    pub file: PathBuf,
    /// Seed of every random stream (overrides the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated duration, e.g. 10m (overrides the scenario's `duration`).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<SimDuration>,
    /// Time-series interval, e.g. 1s or 10s (default 1 s).
    #[arg(long, value_parser = parse_positive_duration)]
    pub interval: Option<SimDuration>,
    /// Output folder (default: output/<scenario name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No progress bar and no table; errors only.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Arguments of `awsim record`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:
  awsim record scenarios/examples/web_tier.toml --duration 10m --out web_tier.csv
  then, in a copy of the scenario: arrival = { process = \"trace\", file = \"web_tier.csv\" }

Columns: timestamp (seconds, nine decimals), workload, key, item_kb, operation, duration.")]
pub struct RecordArgs {
    /// The scenario file (TOML).
    pub file: PathBuf,
    /// Seed of every random stream (overrides the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated duration, e.g. 10m (overrides the scenario's `duration`).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<SimDuration>,
    /// The trace to write (default: output/<scenario name>/arrivals.csv).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No progress bar and no message; errors only.
    #[arg(long, short)]
    pub quiet: bool,
}

fn parse_duration(s: &str) -> Result<SimDuration, String> {
    let d = crate::units::parse_duration(s)?;
    if d.is_zero() {
        return Err("must be greater than zero".into());
    }
    Ok(d)
}

fn parse_positive_duration(s: &str) -> Result<SimDuration, String> {
    parse_duration(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
