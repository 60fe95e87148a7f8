//! The command line: `awsim run`, `awsim check`, `awsim sweep`, `awsim record`, `awsim import`,
//! `awsim compare`, and the shell completions and man pages generated from these definitions.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::engine::time::SimDuration;

use crate::units::{parse_positive_duration, parse_size};

pub use crate::sweep::{LimitArgs, SweepArgs, SweepCommand};

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
    /// half-width of each headline figure across replications. With --plan, writes the runs as
    /// a plan for a batch scheduler instead (`awsim sweep run|merge|status DIR`).
    Sweep(Box<SweepCommand>),
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
    /// Print the JSON Schema of scenario files (what `awsim.schema.json` holds), for editors:
    /// a scenario whose first line is `#:schema PATH` gets completion and hover docs in Taplo
    /// and Even Better TOML.
    Schema {
        /// Write it to this file (whole or not at all) instead of printing it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// List the component kinds, or describe one: what it models, its keys (type, default,
    /// bounds), the figures it reports and what it simplifies.
    Kinds {
        /// The kind to describe (e.g. `sqs`); without it, one line per kind.
        kind: Option<String>,
    },
    /// Print a shell completion script for awsim to stdout.
    #[command(after_help = "Install, for example:
  bash: awsim completions bash > ~/.local/share/bash-completion/completions/awsim
  zsh:  awsim completions zsh > ~/.zfunc/_awsim   (with fpath+=~/.zfunc before compinit)
  fish: awsim completions fish > ~/.config/fish/completions/awsim.fish
  PowerShell: awsim completions powershell | Out-String | Invoke-Expression")]
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Print awsim's man page (roff) to stdout, or a subcommand's (`awsim man run`), or write
    /// them all to a folder (`awsim man --dir ~/.local/share/man/man1`).
    Man {
        /// The subcommand whose page to print (the pages are named awsim-run(1)...).
        subcommand: Option<String>,
        /// Write awsim.1 and every awsim-SUBCOMMAND.1 into this folder instead.
        #[arg(long, value_name = "DIR", conflicts_with = "subcommand")]
        dir: Option<PathBuf>,
    },
}

/// The completion script of `shell` for the whole command line, as text.
pub fn completion_script(shell: clap_complete::Shell) -> Vec<u8> {
    let mut command = <Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "awsim", &mut script);
    script
}

/// The man pages (section 1, roff) of the command line: `awsim.1`, then one page per
/// subcommand, `awsim-run.1`..., as git and cargo ship theirs (the top page refers to them),
/// each as (file name, page).
pub fn man_pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    // Built, the subcommands carry their display names (`awsim-run`), as clap_mangen's own
    // `generate_to` relies on; `help` is clap's, not a page of ours.
    let mut command = <Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
    command.build();
    let mut pages = Vec::new();
    let subcommands = command
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned();
    for command in std::iter::once(command.clone()).chain(subcommands) {
        let man = clap_mangen::Man::new(command)
            .source(format!("awsim {}", env!("CARGO_PKG_VERSION")))
            .manual("awsim manual");
        let mut page = Vec::new();
        man.render(&mut page)?;
        pages.push((man.get_filename(), page));
    }
    Ok(pages)
}

/// The names of awsim's subcommands, in the order `--help` lists them.
pub fn subcommand_names() -> Vec<String> {
    <Cli as clap::CommandFactory>::command()
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect()
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
