//! The command line: `awsim run`, `awsim check`, `awsim sweep`, `awsim record`, `awsim import`,
//! `awsim compare`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::engine::time::SimDuration;

use crate::units::{parse_positive_duration, parse_size};

pub use crate::sweep::{LimitArgs, SweepArgs};

/// Deterministic discrete-event simulator of AWS architectures.
///
/// Exit codes: 0 success; 1 a run failed its conservation check (a bug in awsim) or its output
/// could not be written; 2 bad usage or an invalid scenario; 3 a run stopped at one of its
/// limits (--max-events, --max-memory...: the scenario likely never ends); 130 interrupted
/// (Ctrl-C), with nothing half written left behind.
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
        /// A price list to bill with, in the format of models/prices.toml (wins over the
        /// scenario's `[pricing] file`).
        #[arg(long, value_name = "FILE")]
        prices: Option<PathBuf>,
    },
    /// Run a scenario over a grid of parameter values, with replications; write sweep.csv.
    ///
    /// sweep.csv has one row per point: the swept values, then the mean and 95 % confidence
    /// half-width of each headline figure across replications.
    Sweep(SweepArgs),
    /// Run a scenario and write the arrivals its workloads create as a CSV trace, so that a
    /// synthetic load can be frozen and replayed exactly (arrival = { process = "trace", ... }).
    Record(RecordArgs),
    /// Turn a CloudFormation or SAM template (YAML or JSON) into a scenario that runs, and
    /// print what became of each resource (mapped, skipped, unsupported).
    Import(ImportArgs),
    /// Compare two summary.json files side by side, with absolute and relative differences.
    Compare {
        /// The first summary (A).
        a: PathBuf,
        /// The second summary (B); differences are B − A.
        b: PathBuf,
    },
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
    #[arg(long, value_parser = parse_positive_duration)]
    pub duration: Option<SimDuration>,
    /// Time-series interval, e.g. 1s or 10s (default 1 s).
    #[arg(long, value_parser = parse_positive_duration)]
    pub interval: Option<SimDuration>,
    /// Output folder (default: output/<scenario name>). It is replaced as a whole when the
    /// run completes; a non-empty folder that is not an awsim run folder is never replaced.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Largest output the run may write, e.g. 500MB or 5GiB (default 1GiB): a run whose
    /// timeseries.csv would be larger is refused before it starts.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_output: Option<u64>,
    /// No progress bar and no table; errors only.
    #[arg(long, short)]
    pub quiet: bool,
    /// A price list to bill with, in the format of models/prices.toml (wins over the
    /// scenario's `[pricing] file`).
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Bounds on the run.
    #[command(flatten)]
    pub limits: LimitArgs,
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
    #[arg(long, value_parser = parse_positive_duration)]
    pub duration: Option<SimDuration>,
    /// The trace to write (default: output/<scenario name>-arrivals.csv).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No progress bar and no message; errors only.
    #[arg(long, short)]
    pub quiet: bool,
    /// Bounds on the run.
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Arguments of `awsim import`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:
  awsim import template.yaml --out scenario.toml --parameter Stage=prod
  then fill in the `TODO(import)` values (the load, service times) and `awsim run scenario.toml`.")]
pub struct ImportArgs {
    /// The template (YAML or JSON).
    pub template: PathBuf,
    /// The scenario to write (default: print it).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A template parameter's value, NAME=VALUE (wins over its Default); repeatable.
    #[arg(long = "parameter", value_name = "NAME=VALUE", value_parser = parse_parameter)]
    pub parameters: Vec<(String, String)>,
}

fn parse_parameter(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("expected NAME=VALUE, not `{s}`")),
    }
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
