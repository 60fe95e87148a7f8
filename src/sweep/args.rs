//! The settings of a sweep, as `awsim sweep` parses them from the command line.

use std::path::PathBuf;

use crate::engine::time::SimDuration;
use crate::units::parse_positive_duration;

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
    #[arg(long, value_parser = parse_positive_duration)]
    pub duration: Option<SimDuration>,
    /// Output folder (default: output/<scenario name>-sweep). Without --resume an earlier
    /// sweep there is replaced; a non-empty folder that is not a sweep folder is never touched.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Largest output the sweep may write, e.g. 500MB or 5GiB (default 1GiB): a sweep whose
    /// runs would write more is refused before it starts.
    #[arg(long, value_name = "SIZE", value_parser = crate::output::volume::parse_size)]
    pub max_output: Option<u64>,
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
