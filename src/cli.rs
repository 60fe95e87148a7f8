//! The command line: `awsim run`, `awsim check`.

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
