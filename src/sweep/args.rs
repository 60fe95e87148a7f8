//! The settings of a sweep, as `awsim sweep` parses them from the command line.

use std::ops::Deref;

use clap::builder::{OsStringValueParser, TypedValueParser};
use std::path::PathBuf;
use std::time::Duration;

use crate::engine::time::SimDuration;
use crate::engine::watchdog::Limits;
use crate::run::limits::{parse_event_count, parse_wall};
use crate::units::{limits, parse_positive_duration, parse_size};

/// Arguments of `awsim sweep`.
#[derive(Debug, Clone, clap::Args)]
pub struct SweepArgs {
    /// The scenario file (TOML).
    // Empty only with an action (`awsim sweep run DIR`), which has no file: clap needs a value.
    #[arg(default_value = "", hide_default_value = true,
          value_parser = OsStringValueParser::new().map(PathBuf::from))]
    pub file: PathBuf,
    /// NAME.FIELD=VALUES: a key of the workload, component or named fault NAME (nested with dots:
    /// shoppers.arrival.rate; a number indexes a list: web.handler.0.compute) and its values:
    /// a list (2,4,8), an inclusive range (2..20:2, 0.5..1:0.25) or strings (30s,5m). Repeat
    /// for a grid: the cross product of every --set. Keys joined by `/` take the same values
    /// together (a.arrival.rate/b.arrival.rate=10/s,20/s).
    #[arg(long = "set", value_name = "NAME.FIELD=VALUES", required = true)]
    pub sets: Vec<String>,
    /// Replications per point (at least 2 for confidence intervals; at most 10000).
    #[arg(long, short = 'r', default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(limits::REPLICATIONS.max)))]
    pub replications: u32,
    /// Runs at once (default: one per core). Results are the same for any value.
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// Base seed; replication r runs with a seed derived from it and r (default: the
    /// scenario's seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated duration of every run, e.g. 10m (overrides the scenario's `duration`).
    #[arg(long, value_parser = parse_positive_duration)]
    pub duration: Option<SimDuration>,
    /// Output folder (default: output/<scenario name>-sweep). Without --resume an earlier
    /// sweep there is replaced; a non-empty folder that is not a sweep folder is never touched.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Largest output the sweep may write, e.g. 500MB or 5GiB (default 1GiB): a sweep whose
    /// runs would write more is refused before it starts.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_output: Option<u64>,
    /// A bound on a workload figure, [WORKLOAD.]FIGURE<VALUE with FIGURE one of mean, p50,
    /// p90, p99, p999 (latency: 200ms, 1s) or errors (share: 1%); `<=` too. Repeat for several
    /// (all must hold). Marks meets_goal in sweep.csv and names the cheapest point meeting it.
    #[arg(long = "goal", value_name = "EXPR")]
    pub goals: Vec<String>,
    /// A price list to bill with, in the format of models/prices.toml (wins over the
    /// scenario's `[pricing] file`).
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Keep the runs already in the output folder and run only the missing ones.
    #[arg(long)]
    pub resume: bool,
    /// Derive each point's seeds from its parameters too, instead of common random numbers.
    #[arg(long)]
    pub independent_seeds: bool,
    /// No progress bar and no table; errors only.
    #[arg(long, short)]
    pub quiet: bool,
    /// Bounds on every run.
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// `awsim sweep`: a sweep's arguments, or one of the actions on a plan folder (`awsim sweep run
/// DIR`...). It dereferences to its [`SweepArgs`], which are empty with an action.
#[derive(Debug, Clone, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:
  awsim sweep scenarios/examples/web_tier.toml --set web.instances=2..8 --goal 'p99<200ms'
  awsim sweep FILE --set web.instances=2,4,8 --set web.vcpus=1,2 --replications 10 --jobs 4
  awsim sweep FILE --set shoppers.arrival.rate=50/s,100/s --set jobs.visibility_timeout=30s,5m

Replication r uses the same seed at every point (common random numbers), so differences
between points are not noise; results do not depend on --jobs.

On a batch scheduler (README, \"When one machine is not enough\"):
  awsim sweep FILE --set web.instances=2..8 -r 10 --plan study --emit slurm
  awsim sweep run study --index-from-env SLURM_ARRAY_TASK_ID
  awsim sweep status study
  awsim sweep merge study"
)]
pub struct SweepCommand {
    /// An action on a plan folder; without one, the sweep runs (or is planned, with --plan).
    #[command(subcommand)]
    pub action: Option<SweepAction>,
    /// The sweep.
    #[command(flatten)]
    pub args: SweepArgs,
    /// Plan instead of run.
    #[command(flatten)]
    pub plan: PlanArgs,
}

impl Deref for SweepCommand {
    type Target = SweepArgs;
    fn deref(&self) -> &SweepArgs {
        &self.args
    }
}

/// `--plan` and what goes with it.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Planning for a batch scheduler")]
pub struct PlanArgs {
    /// Write the plan (every run's index, point, replication, seed and resolved scenario) to
    /// DIR and run nothing; run it with `awsim sweep run DIR --index I`, anywhere, then
    /// `awsim sweep merge DIR`.
    #[arg(long, value_name = "DIR")]
    pub plan: Option<PathBuf>,
    /// Also write the job scripts of a batch scheduler into the plan folder: `slurm` writes
    /// sweep.sbatch (an array job, at most --jobs tasks at once), merge.sbatch and submit.sh
    /// (submits both, the merge after the array succeeds).
    #[arg(long, value_name = "SCHEDULER", requires = "plan")]
    pub emit: Option<Emit>,
    /// A line for the job scripts, NAME=VALUE (e.g. time=00:30:00, partition=short, mem=2G):
    /// written as `#SBATCH --NAME=VALUE`. Repeat for several.
    #[arg(
        long = "slurm-option",
        value_name = "NAME=VALUE",
        requires = "emit",
        allow_hyphen_values = true
    )]
    pub slurm_options: Vec<String>,
    /// Submit only the runs of the plan already in DIR that have no valid result: keeps the
    /// plan and its results (the sweep's arguments must be the same).
    #[arg(long, requires = "plan")]
    pub missing: bool,
}

/// A batch scheduler `--emit` writes job scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Emit {
    /// Slurm: `sbatch` array and dependent merge job.
    Slurm,
}

/// The actions on a plan folder.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum SweepAction {
    /// Run runs of a plan and write each one's result (a run that has a valid result is
    /// skipped).
    Run(RunPlanArgs),
    /// Merge a plan's results into sweep.csv, sweep.json and the plots, as `awsim sweep` writes
    /// them.
    Merge {
        /// The plan folder.
        dir: PathBuf,
        /// Merge even when runs have no result: their points' figures are left empty, and
        /// sweep.json and sweep.csv (a `complete` column) say so.
        #[arg(long)]
        partial: bool,
        /// No table; errors only.
        #[arg(long, short)]
        quiet: bool,
    },
    /// List a plan's done, failed and missing runs.
    Status {
        /// The plan folder.
        dir: PathBuf,
    },
}

/// Arguments of `awsim sweep run`.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["index", "index_from_env", "shard"])))]
pub struct RunPlanArgs {
    /// The plan folder.
    pub dir: PathBuf,
    /// The run to run (0-based, as array jobs count).
    #[arg(long, value_name = "I")]
    pub index: Option<u64>,
    /// Read the run's index from this environment variable: SLURM_ARRAY_TASK_ID,
    /// AWS_BATCH_JOB_ARRAY_INDEX, JOB_COMPLETION_INDEX (Kubernetes Indexed Job)...
    #[arg(long, value_name = "VAR")]
    pub index_from_env: Option<String>,
    /// Run block K of N equal blocks of the plan's runs (K from 0 to N-1).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Runs at once within a shard (default: one per core). Results are the same for any value.
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// No message; errors only.
    #[arg(long, short)]
    pub quiet: bool,
    /// Bounds on every run.
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// The bounds of a run (`awsim run`, `record`, and each run of `sweep`): a run that goes past
/// one stops with an error naming the components involved (exit code 3). README, "Limits",
/// gives the reasons for the defaults.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Limits")]
pub struct LimitArgs {
    /// Most events in one run, e.g. 1e9; `none`: no bound [default: 1e10].
    #[arg(long, value_name = "N", value_parser = parse_event_count)]
    pub max_events: Option<u64>,
    /// Most events at one simulated instant: more means time has stopped [default: 1e7].
    #[arg(long, value_name = "N", value_parser = parse_event_count)]
    pub max_stall_events: Option<u64>,
    /// Most events pending at once [default: as many as fit in a quarter of --max-memory,
    /// about 9.8 million at 4GiB].
    #[arg(long, value_name = "N", value_parser = parse_event_count)]
    pub max_pending: Option<u64>,
    /// Most memory awsim may hold, e.g. 512MiB or 8GiB; a sweep's runs share it
    /// [default: 4GiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<u64>,
    /// Most wall-clock time per run, e.g. 10m; `none`: no bound [default: 1h].
    #[arg(long, value_name = "DURATION", value_parser = parse_wall)]
    pub max_wall: Option<Duration>,
}

impl LimitArgs {
    /// The bounds these flags set, the defaults for the others.
    pub fn limits(&self) -> Limits {
        let default = Limits::default();
        Limits {
            max_events: match self.max_events {
                Some(u64::MAX) => None,
                Some(n) => Some(n),
                None => default.max_events,
            },
            max_stalled_events: self.max_stall_events.unwrap_or(default.max_stalled_events),
            max_pending: self.max_pending.or(default.max_pending),
            max_memory: self.max_memory.unwrap_or(default.max_memory),
            max_wall: match self.max_wall {
                Some(Duration::MAX) => None,
                Some(d) => Some(d),
                None => default.max_wall,
            },
            interrupt: None,
        }
    }
}
