//! `awsim sweep`: one scenario over a grid of parameter values, with replications.
//!
//! 1. The grid ([`grid`]): every `--set NAME.FIELD=VALUES` edits the scenario document; the
//!    grid is their cross product; every point's scenario is validated before anything runs.
//! 2. Seeds: replication r runs with `derive_seed(base, "replication r")`, the same at every
//!    point (common random numbers: two points see the same arrivals, so their difference is
//!    not noise); `--independent-seeds` mixes the point's label in.
//! 3. Runs: every (point, replication) pair is one run, run with rayon on `--jobs` threads and
//!    collected in grid order, so nothing depends on the thread count or on which run finishes
//!    first. Each run's summary is written atomically to `runs/<point>/rep-<r>.json`.
//! 4. `sweep.csv`: one row per point with the mean and the 95 % confidence half-width (Student
//!    t, R − 1 degrees of freedom) of each headline figure across replications, written last.
//!
//! The folder: a non-empty `--out` without `sweep.json` is never touched. A fresh sweep first
//! removes an earlier sweep's runs and results; every run file is whole (written under a
//! temporary name and renamed); `sweep.csv` is removed at the start and written last, so only
//! a finished sweep has one, and at the end the folder holds exactly this sweep's runs.
//! `--resume` keeps the run files already there when `sweep.json`, the sweep's settings,
//! matches; Ctrl-C keeps the whole runs for it and removes the rest.

mod args;
pub mod goal;
pub mod grid;
pub mod pareto;
pub mod plan;
pub mod plot;
pub mod progress;
pub mod slurm;
pub mod stats;

pub use args::{Emit, LimitArgs, PlanArgs, RunPlanArgs, SweepAction, SweepArgs, SweepCommand};

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rayon::prelude::*;
use serde_json::{Map, Value, json};

use crate::components::kind_outputs;
use crate::engine::rng::{derive_seed, fnv1a64};
use crate::engine::time::SimDuration;
use crate::files::{csv_text, is_temp_name, write_temp};
use crate::metrics::NoSeries;
use crate::output::{folder, interrupt, volume, write_atomic};
use crate::run::limits::EXIT_LIMIT;
use crate::run::{RunError, run_with_limits};
use crate::scenario::{RunSettings, Scenario};

pub use goal::{Goal, GoalFigure};
pub use grid::{Grid, Point};

/// Why a sweep stopped.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// Bad arguments or an invalid scenario or grid: nothing ran (exit code 2).
    #[error("{0}")]
    Input(String),
    /// A run failed its conservation check, or an output could not be written (exit code 1).
    #[error("{0}")]
    Failed(String),
    /// A run went past one of its bounds (`--max-events`...; exit code 3).
    #[error("{0}")]
    Limit(String),
}

impl SweepError {
    /// The process exit code: 2 for bad input, 1 for a failed run or output, 3 for a run
    /// stopped at a bound.
    pub fn exit_code(&self) -> u8 {
        match self {
            SweepError::Input(_) => 2,
            SweepError::Failed(_) => 1,
            SweepError::Limit(_) => EXIT_LIMIT,
        }
    }
}

/// The seed of replication `replication` (1-based): derived from the base seed and the
/// replication alone, so every point sees the same random numbers (common random numbers);
/// with `independent_point` (the point's label) the point is mixed in too.
pub fn replication_seed(base: u64, replication: u32, independent_point: Option<&str>) -> u64 {
    match independent_point {
        None => derive_seed(base, &format!("replication {replication}")),
        Some(label) => derive_seed(base, &format!("{label} replication {replication}")),
    }
}

/// Workload figures in `sweep.csv`, after `WORKLOAD.`; the latency percentiles a goal names are
/// added to these.
pub const WORKLOAD_FIGURES: [&str; 5] = [
    "latency_mean_ms",
    "latency_p50_ms",
    "latency_p99_ms",
    "throughput_per_s",
    "error_share",
];

/// One headline figure of one run: `NAME.figure` and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Headline {
    /// `NAME.figure`.
    pub key: String,
    /// Its value in the run.
    pub value: f64,
    /// A component's figure or a cost: always a column of `sweep.csv` (a workload's latency
    /// percentiles are columns only when a goal names them).
    pub component: bool,
}

/// The cost columns of `sweep.csv` that are not a workload's or a component's: the bill of the
/// measured window and its rate (`--goal` ranks points by the rate).
pub const TOTAL_USD: &str = "cost.total_usd";
/// See [`TOTAL_USD`].
pub const USD_PER_HOUR: &str = "cost.usd_per_hour";

/// The headline figures of one run's summary.json, in summary order: each workload's latency,
/// throughput and error share, then each component's figures its kind names as headline
/// figures ([`crate::components::outputs::Outputs::HEADLINE_FIGURES`]), then, when some
/// component is billed, the bill: [`TOTAL_USD`], [`USD_PER_HOUR`], each billed component's
/// `NAME.usd` and each workload's `NAME.usd_per_million_requests`.
///
/// Latency figures are left out when the workload had no successful request (there is no
/// latency to report); `error_share` is (failed + throttled + timed out) / created.
pub fn headline_figures(summary: &Value) -> Vec<Headline> {
    let mut out = Vec::new();
    let num = |v: &Value, path: &[&str]| -> Option<f64> {
        path.iter().try_fold(v, |v, k| v.get(k))?.as_f64()
    };
    let mut workload = |key: String, value: f64| {
        out.push(Headline {
            key,
            value,
            component: false,
        })
    };
    if let Some(Value::Object(workloads)) = summary.get("workloads") {
        for (name, w) in workloads {
            if num(w, &["latency_ms", "count"]).unwrap_or(0.0) > 0.0 {
                for stat in ["mean", "p50", "p90", "p99", "p999"] {
                    if let Some(x) = num(w, &["latency_ms", stat]) {
                        workload(format!("{name}.latency_{stat}_ms"), x);
                    }
                }
            }
            if let Some(x) = num(w, &["throughput_per_s"]) {
                workload(format!("{name}.throughput_per_s"), x);
            }
            let count = |k: &str| num(w, &["requests", k]).unwrap_or(0.0);
            let created = count("created");
            if created > 0.0 {
                let bad = count("failed") + count("throttled") + count("timed_out");
                workload(format!("{name}.error_share"), bad / created);
            }
        }
    }
    if let Some(Value::Object(components)) = summary.get("components") {
        for (name, c) in components {
            let kind = c.get("kind").and_then(Value::as_str).unwrap_or("");
            let Some(outputs) = kind_outputs(kind) else {
                continue;
            };
            for &figure in outputs.headline_figures {
                if let Some(x) = num(c, &[figure]) {
                    out.push(Headline {
                        key: format!("{name}.{figure}"),
                        value: x,
                        component: true,
                    });
                }
            }
        }
    }
    let cost = summary.get("cost");
    let billed = cost
        .and_then(|c| c.get("components"))
        .and_then(Value::as_object)
        .filter(|b| !b.is_empty());
    if let (Some(cost), Some(billed)) = (cost, billed) {
        let mut add = |key: String, value: Option<f64>| {
            if let Some(value) = value {
                out.push(Headline {
                    key,
                    value,
                    component: true,
                });
            }
        };
        add(TOTAL_USD.into(), num(cost, &["total_usd"]));
        add(USD_PER_HOUR.into(), num(cost, &["usd_per_hour"]));
        for (name, bill) in billed {
            add(format!("{name}.usd"), num(bill, &["usd"]));
        }
        if let Some(Value::Object(workloads)) = cost.get("workloads") {
            for (name, w) in workloads {
                add(
                    format!("{name}.usd_per_million_requests"),
                    num(w, &["usd_per_million_requests"]),
                );
            }
        }
    }
    out
}

/// The spend rate of one run (`cost.usd_per_hour`), when some component is billed.
pub fn usd_per_hour(figures: &[Headline]) -> Option<f64> {
    figures
        .iter()
        .find(|h| h.key == USD_PER_HOUR)
        .map(|h| h.value)
}

/// One figure of one point across replications.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// Mean across replications (`None` when some replication lacks the figure).
    pub mean: Option<f64>,
    /// 95 % confidence half-width (`None` with one replication).
    pub ci95: Option<f64>,
}

/// The results of one point.
#[derive(Clone, Debug)]
pub struct PointResult {
    /// The point.
    pub point: Point,
    /// One estimate per column of [`SweepOutcome::figures`].
    pub estimates: Vec<Estimate>,
    /// Mean spend rate (USD per hour), when every replication bills some component.
    pub cost: Option<f64>,
    /// Whether the point meets every goal (`None` without goals).
    pub meets_goal: Option<bool>,
    /// Its runs with a result: every replication, but in a partial merge.
    pub runs: u32,
}

/// Which point the goal picked and by which rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// Index of the point in the grid.
    pub point: usize,
    /// The rule, in words.
    pub rule: String,
}

/// What a sweep did and found.
#[derive(Clone, Debug)]
pub struct SweepOutcome {
    /// Scenario name.
    pub scenario: String,
    /// The output folder.
    pub out_dir: PathBuf,
    /// `sweep.csv`.
    pub csv_path: PathBuf,
    /// Plots written (figure against a swept parameter).
    pub plots: Vec<PathBuf>,
    /// The scenario's workloads, in file order.
    pub workloads: Vec<String>,
    /// The swept keys, in `--set` order.
    pub params: Vec<String>,
    /// The swept values of each point, as text, in `--set` order.
    pub values: Vec<Vec<String>>,
    /// The figure columns (`NAME.figure`).
    pub figures: Vec<String>,
    /// Per point, in grid order.
    pub points: Vec<PointResult>,
    /// Replications per point.
    pub replications: u32,
    /// Runs the sweep has (points × replications).
    pub runs_total: usize,
    /// Runs this invocation ran.
    pub runs_done: usize,
    /// Runs kept from an earlier invocation (`--resume`).
    pub runs_resumed: usize,
    /// Threads used.
    pub jobs: usize,
    /// The goals.
    pub goals: Vec<Goal>,
    /// The cheapest point meeting every goal, with goals and a point meeting them.
    pub choice: Option<Choice>,
    /// Components some point does not bill (not in its cost), in scenario order.
    pub not_billed: Vec<String>,
    /// Wall time of the sweep (for the message only).
    pub elapsed: Duration,
    /// Merged with runs missing (`awsim sweep merge --partial`): points missing a run have no
    /// figures, and `sweep.csv` has a `complete` column.
    pub partial: bool,
}

/// A sweep's arguments, checked: the base scenario, the validated grid, the goals, the base
/// seed and duration of every run, and `sweep.json`'s settings. Nothing is written.
pub(crate) struct Prepared {
    /// The base scenario.
    pub scenario: Scenario,
    /// The grid, every point validated.
    pub grid: Grid,
    /// The goals.
    pub goals: Vec<Goal>,
    /// The base seed.
    pub base_seed: u64,
    /// Every run's simulated duration.
    pub duration: SimDuration,
    /// `sweep.json`.
    pub manifest: Value,
}

/// Checks a sweep's arguments as `awsim sweep` does before it writes anything: the scenario,
/// every point with the run's settings, the goals, the size of the grid and of its output.
pub(crate) fn prepare(args: &SweepArgs) -> Result<Prepared, SweepError> {
    let input = SweepError::Input;
    let scenario = Scenario::load_with_prices(&args.file, args.prices.as_deref())
        .map_err(|e| input(e.to_string()))?;
    let grid = Grid::new(&scenario, &args.file, &args.sets).map_err(input)?;
    let workload_names: Vec<&str> = scenario
        .workloads
        .iter()
        .map(|w| w.name.get_ref().as_str())
        .collect();
    let goals = args
        .goals
        .iter()
        .map(|g| Goal::parse(g, &workload_names))
        .collect::<Result<Vec<_>, _>>()
        .map_err(input)?;
    let base_seed = args.seed.unwrap_or_else(|| scenario.seed());
    let duration = args.duration.unwrap_or_else(|| scenario.duration());
    // Every point is checked with the run's settings as `awsim run` checks them.
    let settings = RunSettings {
        seed: None,
        duration: Some(duration),
        interval: None,
    };
    scenario
        .check_settings(settings)
        .map_err(|e| input(e.to_string()))?;
    for (p, s) in grid.points.iter().zip(&grid.scenarios) {
        s.check_settings(settings)
            .map_err(|e| input(format!("point {}: {}", p.label, grid::describe(&e))))?;
    }
    grid::check_size(grid.points.len(), args.replications).map_err(input)?;

    // The settings that decide each run's result; --resume needs them unchanged.
    let manifest = manifest(&scenario, args, base_seed, duration);
    let runs_total = grid.points.len() as u64 * u64::from(args.replications);
    let planned = volume::planned_summary(&scenario).saturating_mul(runs_total)
        + grid.points.len() as u64 * scenario.text.len() as u64;
    volume::check(
        planned,
        args.max_output.unwrap_or(volume::DEFAULT_MAX_OUTPUT),
        &format!("this sweep's {runs_total} runs"),
        "run fewer points or replications (--set, --replications)",
    )
    .map_err(input)?;
    Ok(Prepared {
        scenario,
        grid,
        goals,
        base_seed,
        duration,
        manifest,
    })
}

/// `sweep.json`: the settings that decide each run's result (`--resume` needs them unchanged).
pub(crate) fn manifest(
    scenario: &Scenario,
    args: &SweepArgs,
    base_seed: u64,
    duration: SimDuration,
) -> Value {
    json!({
        "scenario": scenario.name,
        "file": args.file.display().to_string(),
        "scenario_fnv1a64": format!("{:016x}", fnv1a64(scenario.text.as_bytes())),
        "seed": base_seed,
        "duration_s": duration.as_secs_f64(),
        "independent_seeds": args.independent_seeds,
        "replications": args.replications,
        "sets": args.sets,
        "goals": args.goals,
    })
}

/// Runs a sweep as `awsim sweep` does. Progress goes to the terminal unless `--quiet`.
pub fn run_sweep(args: &SweepArgs) -> Result<SweepOutcome, SweepError> {
    let Prepared {
        scenario,
        grid,
        goals,
        base_seed,
        duration,
        manifest,
    } = prepare(args)?;
    let input = SweepError::Input;
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("output").join(format!("{}-sweep", scenario.name)));
    let failed = |what: &str, path: &Path, e: std::io::Error| {
        SweepError::Failed(format!("cannot {what} {}: {e}", path.display()))
    };
    let manifest_path = out_dir.join("sweep.json");
    folder::check_replaceable(&out_dir, "sweep.json", "an awsim sweep folder").map_err(
        |e| match e {
            folder::FolderError::NotOurs { .. } => input(e.to_string()),
            folder::FolderError::Io { .. } => SweepError::Failed(e.to_string()),
        },
    )?;
    if args.resume && manifest_path.exists() {
        check_manifest(&manifest_path, &manifest)?;
    }
    // Nothing of an earlier sweep may pass for this one's: a fresh sweep starts from an empty
    // folder, a resumed one keeps only its runs (checked one by one below).
    remove_results(&out_dir, !args.resume).map_err(|e| failed("clean", &out_dir, e))?;
    fs::create_dir_all(out_dir.join("runs"))
        .map_err(|e| failed("create the output folder", &out_dir, e))?;
    write_atomic(
        &manifest_path,
        format!(
            "{}\n",
            serde_json::to_string_pretty(&manifest).expect("json")
        )
        .as_bytes(),
    )
    .map_err(|e| failed("write", &manifest_path, e))?;

    // Every (point, replication), with its seed; kept runs are read back, the rest run.
    let r_count = args.replications;
    let mut tasks = Vec::new();
    for p in &grid.points {
        let dir = out_dir.join("runs").join(&p.dir);
        fs::create_dir_all(&dir).map_err(|e| failed("create", &dir, e))?;
        remove_partials(&dir).map_err(|e| failed("clean", &dir, e))?;
        let text = format!(
            "# {} at {} (from {}; relative file names are relative to its folder)\n{}",
            scenario.name,
            p.label,
            args.file.display(),
            grid.text(p.index).map_err(input)?
        );
        let toml_path = dir.join("scenario.toml");
        write_atomic(&toml_path, text.as_bytes()).map_err(|e| failed("write", &toml_path, e))?;
        for r in 1..=r_count {
            let seed = replication_seed(
                base_seed,
                r,
                args.independent_seeds.then_some(p.label.as_str()),
            );
            tasks.push((p.index, r, seed, dir.join(format!("rep-{r}.json"))));
        }
    }
    let kept: Vec<Option<Vec<Headline>>> = tasks
        .iter()
        .map(|(_, _, seed, path)| {
            if args.resume {
                read_run(path, *seed, duration)
            } else {
                None
            }
        })
        .collect();
    let to_run: Vec<usize> = (0..tasks.len()).filter(|&i| kept[i].is_none()).collect();
    let whole = Arc::new(AtomicUsize::new(tasks.len() - to_run.len()));
    on_interrupt(&out_dir, &grid, tasks.len(), Arc::clone(&whole));

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.map_or(0, |j| j as usize))
        .build()
        .map_err(|e| SweepError::Failed(format!("cannot start the worker threads: {e}")))?;
    let jobs = pool.current_num_threads();
    let progress = progress::SweepProgress::new(to_run.len() as u64, args.quiet);
    let limits = args.limits.limits();
    let fresh: Vec<Result<Vec<Headline>, SweepError>> = pool.install(|| {
        to_run
            .par_iter()
            .map(|&i| {
                let (point, r, seed, ref path) = tasks[i];
                let settings = RunSettings {
                    seed: Some(seed),
                    duration: Some(duration),
                    interval: None,
                };
                let label = &grid.points[point].label;
                let scenario = &grid.scenarios[point];
                let ran = run_with_limits(scenario, settings, limits, &mut NoSeries, |_| {});
                let result = match ran {
                    Ok(summary) => {
                        let text = summary.to_json();
                        // Renamed under the interrupt's lock, so its count of whole runs is
                        // exact.
                        write_temp(path, text.as_bytes())
                            .and_then(|tmp| {
                                interrupt::hold(|_| {
                                    fs::rename(tmp, path)?;
                                    whole.fetch_add(1, Ordering::SeqCst);
                                    Ok(())
                                })
                            })
                            .map_err(|e| failed("write", path, e))
                            .map(|()| parse_figures(&text).expect("a summary parses"))
                    }
                    Err(RunError::Scenario(e)) => Err(SweepError::Input(format!(
                        "point {label}: {}",
                        grid::describe(&e)
                    ))),
                    Err(e @ RunError::Conservation { .. }) => Err(SweepError::Failed(format!(
                        "point {label}, replication {r}: {e}"
                    ))),
                    Err(e @ RunError::Limit(_)) => Err(SweepError::Limit(format!(
                        "point {label}, replication {r}: {e}"
                    ))),
                };
                progress.run_done();
                result
            })
            .collect()
    });
    progress.finish();
    let runs_done = fresh.len();
    let mut fresh = fresh.into_iter();
    let mut runs: Vec<Vec<Headline>> = Vec::with_capacity(tasks.len());
    for k in kept {
        match k {
            Some(figures) => runs.push(figures),
            None => runs.push(fresh.next().expect("one result per run")?),
        }
    }

    let mut aggregate = Aggregate::new(&goals, r_count);
    for (task, run) in tasks.iter().zip(runs) {
        aggregate.add(task.0, run);
    }
    let not_billed = not_billed(&out_dir, &grid);
    remove_stale_runs(&out_dir, &grid, r_count).map_err(|e| failed("clean", &out_dir, e))?;
    let mut outcome = SweepOutcome::new(
        &scenario,
        &grid,
        goals,
        aggregate,
        not_billed,
        out_dir,
        Tally {
            total: tasks.len(),
            done: runs_done,
            jobs,
            partial: false,
        },
    );
    outcome.write(&grid)?;
    outcome.elapsed = progress.elapsed();
    Ok(outcome)
}

/// How many runs a sweep has and ran, on how many threads.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tally {
    /// Runs the sweep has.
    pub total: usize,
    /// Runs this invocation ran (the others were kept or merged).
    pub done: usize,
    /// Threads used.
    pub jobs: usize,
    /// Some runs have no result (`awsim sweep merge --partial`).
    pub partial: bool,
}

impl SweepOutcome {
    /// The outcome of `grid`'s runs, aggregated in `aggregate`, into `out_dir`; nothing is
    /// written yet ([`SweepOutcome::write`]).
    pub(crate) fn new(
        scenario: &Scenario,
        grid: &Grid,
        goals: Vec<Goal>,
        aggregate: Aggregate,
        not_billed: Vec<String>,
        out_dir: PathBuf,
        tally: Tally,
    ) -> SweepOutcome {
        let workloads: Vec<String> = scenario
            .workloads
            .iter()
            .map(|w| w.name.get_ref().clone())
            .collect();
        let names: Vec<&str> = workloads.iter().map(String::as_str).collect();
        let replications = aggregate.replications;
        let (figures, points) = aggregate.finish(grid, &goals, &names);
        let region = &scenario.prices.prices.region;
        let choice = choose(grid, &points, &goals, &not_billed, region);
        let values: Vec<Vec<String>> = grid
            .points
            .iter()
            .map(|p| {
                grid.assignments
                    .iter()
                    .zip(&p.choice)
                    .map(|(a, &c)| a.set.values[c].text.clone())
                    .collect()
            })
            .collect();
        SweepOutcome {
            scenario: scenario.name.clone(),
            csv_path: out_dir.join("sweep.csv"),
            out_dir,
            plots: Vec::new(),
            workloads,
            params: grid.assignments.iter().map(|a| a.set.key.clone()).collect(),
            values,
            figures,
            points,
            replications,
            runs_total: tally.total,
            runs_done: tally.done,
            runs_resumed: tally.total - tally.done,
            jobs: tally.jobs,
            goals,
            choice,
            not_billed,
            elapsed: Duration::ZERO,
            partial: tally.partial,
        }
    }

    /// Writes the plots, then `sweep.csv` last (its presence means the sweep is complete).
    pub(crate) fn write(&mut self, grid: &Grid) -> Result<(), SweepError> {
        self.plots = plot::write_plots(self, grid)
            .and_then(|mut plots| {
                plots.extend(pareto::write_pareto(self)?);
                Ok(plots)
            })
            .map_err(|e| SweepError::Failed(format!("cannot write the sweep plots: {e}")))?;
        interrupt::hold(|on| {
            let written = write_atomic(&self.csv_path, self.csv().as_bytes());
            if written.is_ok() {
                let dir = self.out_dir.clone();
                on.set(move || {
                    format!(
                        "awsim: interrupted; the sweep in {} is complete",
                        dir.display()
                    )
                });
            }
            written
        })
        .map_err(|e| SweepError::Failed(format!("cannot write {}: {e}", self.csv_path.display())))
    }
}

/// The figures of a sweep's runs, aggregated one point at a time: runs are given in grid order
/// (point by point) and only the current point's runs are held, so a sweep of any size is
/// aggregated in the memory of one point's runs plus one estimate per point and figure.
#[derive(Debug)]
pub struct Aggregate {
    replications: u32,
    t: Option<f64>,
    /// Workload figures that are columns (components' and costs' always are).
    wanted: Vec<String>,
    /// The columns so far: the headline figures any run reports, in the order they first
    /// appear.
    figures: Vec<String>,
    /// The point whose runs are in `rows`.
    current: Option<usize>,
    rows: Vec<Vec<Headline>>,
    finished: Vec<FinishedPoint>,
}

/// One point [`Aggregate`] has finished.
#[derive(Debug)]
struct FinishedPoint {
    index: usize,
    /// Its figures' estimates, by column (those of figures it has).
    estimates: Vec<(usize, Estimate)>,
    /// Its mean cost, when every run bills some component.
    cost: Option<f64>,
    /// How many runs it had.
    runs: u32,
}

impl Aggregate {
    /// An empty aggregate of a sweep with these goals (latency percentiles beyond mean, p50 and
    /// p99 are columns only when a goal names them) and replications per point.
    pub fn new(goals: &[Goal], replications: u32) -> Aggregate {
        let mut wanted: Vec<String> = WORKLOAD_FIGURES.iter().map(|s| s.to_string()).collect();
        for g in goals {
            if !wanted.contains(&g.figure.column()) {
                wanted.push(g.figure.column());
            }
        }
        Aggregate {
            replications,
            t: (replications >= 2).then(|| stats::t975(replications - 1)),
            wanted,
            figures: Vec::new(),
            current: None,
            rows: Vec::new(),
            finished: Vec::new(),
        }
    }

    /// Adds one run of point `point`: points in grid order, each point's runs in replication
    /// order.
    pub fn add(&mut self, point: usize, run: Vec<Headline>) {
        if self.current != Some(point) {
            debug_assert!(self.current.is_none_or(|c| c < point), "grid order");
            self.close_point();
            self.current = Some(point);
        }
        self.rows.push(run);
    }

    /// The runs held now (those of the current point).
    pub fn runs_held(&self) -> usize {
        self.rows.len()
    }

    fn close_point(&mut self) {
        let Some(point) = self.current.take() else {
            return;
        };
        let rows = std::mem::take(&mut self.rows);
        for run in &rows {
            for h in run {
                let figure = h.key.rsplit('.').next().unwrap_or(&h.key);
                let shown = h.component || self.wanted.iter().any(|w| w == figure);
                if shown && !self.figures.contains(&h.key) {
                    self.figures.push(h.key.clone());
                }
            }
        }
        let mut estimates = Vec::new();
        for (i, f) in self.figures.iter().enumerate() {
            let xs: Vec<f64> = rows
                .iter()
                .filter_map(|run| run.iter().find(|h| &h.key == f).map(|h| h.value))
                .collect();
            if !xs.is_empty() {
                estimates.push((i, estimate(&xs, self.replications as usize, self.t)));
            }
        }
        let costs: Vec<f64> = rows.iter().filter_map(|run| usd_per_hour(run)).collect();
        let cost = (!rows.is_empty() && costs.len() == rows.len()).then(|| stats::mean(&costs));
        self.finished.push(FinishedPoint {
            index: point,
            estimates,
            cost,
            runs: rows.len() as u32,
        });
    }

    /// The columns and every point's results (a point without runs has no estimates), with
    /// whether each meets the goals.
    fn finish(
        mut self,
        grid: &Grid,
        goals: &[Goal],
        workloads: &[&str],
    ) -> (Vec<String>, Vec<PointResult>) {
        self.close_point();
        let none = Estimate {
            mean: None,
            ci95: None,
        };
        let mut finished = self.finished.into_iter().peekable();
        let mut points = Vec::with_capacity(grid.points.len());
        for p in &grid.points {
            let mut estimates = vec![none.clone(); self.figures.len()];
            let (mut cost, mut runs) = (None, 0);
            if let Some(found) = finished.next_if(|f| f.index == p.index) {
                for (i, e) in found.estimates {
                    estimates[i] = e;
                }
                (cost, runs) = (found.cost, found.runs);
            }
            let meets_goal =
                (!goals.is_empty()).then(|| meets(goals, workloads, &self.figures, &estimates));
            points.push(PointResult {
                point: p.clone(),
                estimates,
                cost,
                meets_goal,
                runs,
            });
        }
        (self.figures, points)
    }
}

/// Mean and half-width of `xs`, which should hold one value per replication.
fn estimate(xs: &[f64], replications: usize, t: Option<f64>) -> Estimate {
    if xs.len() != replications || xs.is_empty() {
        return Estimate {
            mean: None,
            ci95: None,
        };
    }
    let n = xs.len() as f64;
    Estimate {
        mean: Some(stats::mean(xs)),
        ci95: t.map(|t| t * stats::sample_std_dev(xs) / n.sqrt()),
    }
}

/// Whether the estimates meet every goal (judged on the mean across replications).
fn meets(goals: &[Goal], workloads: &[&str], figures: &[String], estimates: &[Estimate]) -> bool {
    goals.iter().all(|g| {
        let names: Vec<&str> = match &g.workload {
            Some(w) => vec![w.as_str()],
            None => workloads.to_vec(),
        };
        names.iter().all(|w| {
            let key = format!("{w}.{}", g.figure.column());
            figures
                .iter()
                .position(|f| *f == key)
                .and_then(|i| estimates[i].mean)
                .is_some_and(|x| g.holds(x))
        })
    })
}

/// The components the first replication of some point does not bill, in the order they
/// first appear (a `--set` may add or drop an `instance_type`).
fn not_billed(out_dir: &Path, grid: &Grid) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for p in &grid.points {
        let path = out_dir.join("runs").join(&p.dir).join("rep-1.json");
        let Some(v) = fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        else {
            continue;
        };
        add_not_billed(&v, &mut names);
    }
    names
}

/// Adds the components `summary` does not bill to `names`, those not there yet, in order.
pub(crate) fn add_not_billed(summary: &Value, names: &mut Vec<String>) {
    let listed = summary
        .pointer("/cost/not_billed")
        .and_then(Value::as_array);
    for name in listed.into_iter().flatten().filter_map(Value::as_str) {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
}

/// The cheapest of `candidates` (index, cost), given in order of preference among equals:
/// the lowest cost, the first of equal ones.
pub fn cheapest(candidates: &[(usize, f64)]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for &(i, cost) in candidates {
        if best.is_none_or(|(_, b)| cost < b) {
            best = Some((i, cost));
        }
    }
    best.map(|(i, _)| i)
}

/// The cheapest point meeting every goal: by its bill (mean USD per hour) when every such
/// point bills some component, else the smallest capacity (the smallest swept values, compared
/// in `--set` order: numbers by value, other values by their position in the `--set` list);
/// ties go to the smaller capacity, then to grid order. `not_billed` are the components left
/// out of the bill, which the rule names; `region` is where the prices are from.
fn choose(
    grid: &Grid,
    points: &[PointResult],
    goals: &[Goal],
    not_billed: &[String],
    region: &str,
) -> Option<Choice> {
    if goals.is_empty() {
        return None;
    }
    let mut meeting: Vec<&PointResult> = points
        .iter()
        .filter(|p| p.meets_goal == Some(true))
        .collect();
    if meeting.is_empty() {
        return None;
    }
    let capacity = |p: &PointResult| -> Vec<f64> {
        grid.assignments
            .iter()
            .zip(&p.point.choice)
            .map(|(a, &c)| a.set.values[c].number().unwrap_or(c as f64))
            .collect()
    };
    meeting.sort_by(|a, b| {
        let (x, y) = (capacity(a), capacity(b));
        x.iter()
            .zip(&y)
            .map(|(x, y)| x.total_cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.point.index.cmp(&b.point.index))
    });
    let costs: Option<Vec<(usize, f64)>> = meeting
        .iter()
        .map(|p| p.cost.map(|c| (p.point.index, c)))
        .collect();
    if let Some(costs) = costs {
        let best = cheapest(&costs).expect("not empty");
        let usd = points[best].cost.unwrap_or(0.0);
        let left_out = if not_billed.is_empty() {
            String::new()
        } else {
            format!("; not billed, so not in it: {}", not_billed.join(", "))
        };
        return Some(Choice {
            point: best,
            rule: format!(
                "lowest bill: {}/h (cost.usd_per_hour, mean over replications, at {} list \
                 prices){left_out}",
                crate::metrics::cost::amount(usd),
                region
            ),
        });
    }
    Some(Choice {
        point: meeting[0].point.index,
        rule: "smallest capacity: the smallest swept values, compared in --set order; no \
               component is billed at every point meeting the goal (give ec2_fleet and asg an \
               instance_type), so there is no bill to compare"
            .into(),
    })
}

/// A number for `sweep.csv` and tables: at most six decimals, no trailing zeros.
pub fn number(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".into() } else { s }
}

impl SweepOutcome {
    /// The text of `sweep.csv`: `point`, the swept keys, `replications`, then `FIGURE.mean` and
    /// `FIGURE.ci95` for every figure, then `meets_goal` with goals, and `complete` (whether
    /// the point has all its runs) in a partial merge. Text a spreadsheet would
    /// take for a formula (a `--set` value `=...`) is written as text ([`csv_text`]).
    pub fn csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<String> = vec!["point".into()];
        header.extend(self.params.iter().cloned());
        header.push("replications".into());
        for f in &self.figures {
            header.push(format!("{f}.mean"));
            header.push(format!("{f}.ci95"));
        }
        if !self.goals.is_empty() {
            header.push("meets_goal".into());
        }
        if self.partial {
            header.push("complete".into());
        }
        let header: Vec<String> = header.iter().map(|h| csv_text(h).into_owned()).collect();
        w.write_record(&header).expect("in memory");
        for (p, values) in self.points.iter().zip(&self.values) {
            let mut row: Vec<String> = vec![csv_text(&p.point.dir).into_owned()];
            row.extend(values.iter().map(|v| csv_text(v).into_owned()));
            row.push(self.replications.to_string());
            for e in &p.estimates {
                row.push(e.mean.map(number).unwrap_or_default());
                row.push(e.ci95.map(number).unwrap_or_default());
            }
            if let Some(m) = p.meets_goal {
                row.push(m.to_string());
            }
            if self.partial {
                row.push((p.runs == self.replications).to_string());
            }
            w.write_record(&row).expect("in memory");
        }
        String::from_utf8(w.into_inner().expect("in memory")).expect("utf-8")
    }

    /// The estimate of `figure` (`NAME.figure`) at point `index`.
    pub fn estimate(&self, index: usize, figure: &str) -> Option<&Estimate> {
        let i = self.figures.iter().position(|f| f == figure)?;
        self.points.get(index).map(|p| &p.estimates[i])
    }

    /// The terminal report: one line per point with each workload's p99 and error share (and
    /// the goals' figures), then the goal's choice and the files written.
    pub fn report(&self) -> String {
        let mut columns: Vec<String> = Vec::new();
        for f in &self.figures {
            let figure = f.rsplit('.').next().unwrap_or("");
            let goal_figure = self.goals.iter().any(|g| {
                g.figure.column() == figure
                    && g.workload
                        .as_ref()
                        .is_none_or(|w| f.starts_with(&format!("{w}.")))
            });
            if figure == "latency_p99_ms" || figure == "error_share" || goal_figure {
                columns.push(f.clone());
            }
        }
        if self.figures.iter().any(|f| f == USD_PER_HOUR) {
            columns.push(USD_PER_HOUR.into());
        }
        let mut header: Vec<String> = self.params.clone();
        header.extend(columns.iter().map(|c| {
            if c == USD_PER_HOUR {
                return "USD/h".to_string();
            }
            c.replace(".latency_", " ")
                .replace(".error_share", " errors")
        }));
        if !self.goals.is_empty() {
            header.push("meets goal".into());
        }
        let mut rows = vec![header];
        for (p, values) in self.points.iter().zip(&self.values) {
            let mut row = values.clone();
            for c in &columns {
                let i = self.figures.iter().position(|f| f == c).expect("a column");
                let e = &p.estimates[i];
                let scale = if c.ends_with(".error_share") {
                    100.0
                } else {
                    1.0
                };
                let unit = if scale == 100.0 { "%" } else { "" };
                let money = |x: f64| crate::metrics::cost::figure(x, 3);
                row.push(match (e.mean, e.ci95) {
                    _ if c == USD_PER_HOUR => match (e.mean, e.ci95) {
                        (Some(m), Some(h)) => format!("{} ± {}", money(m), money(h)),
                        (Some(m), None) => money(m),
                        _ => "-".into(),
                    },
                    (Some(m), Some(h)) => format!("{:.2}{unit} ± {:.2}", m * scale, h * scale),
                    (Some(m), None) => format!("{:.2}{unit}", m * scale),
                    _ => "-".into(),
                });
            }
            if let Some(m) = p.meets_goal {
                row.push(if m { "yes" } else { "no" }.into());
            }
            rows.push(row);
        }
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = format!(
            "awsim sweep: {}  {} point{} × {} replication{} = {} runs ({} run, {} kept) on {} \
             threads in {:.2} s wall\n",
            self.scenario,
            self.points.len(),
            if self.points.len() == 1 { "" } else { "s" },
            self.replications,
            if self.replications == 1 { "" } else { "s" },
            self.runs_total,
            self.runs_done,
            self.runs_resumed,
            self.jobs,
            self.elapsed.as_secs_f64()
        );
        for row in &rows {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (c, w))| {
                    if i < self.params.len() {
                        format!("{c:<w$}")
                    } else {
                        format!("{c:>w$}")
                    }
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
        if self.replications >= 2 {
            out.push_str(&format!(
                "(mean ± 95 % confidence half-width over {} replications)\n",
                self.replications
            ));
        }
        if !self.goals.is_empty() {
            let goals: Vec<String> = self.goals.iter().map(|g| g.text.clone()).collect();
            match &self.choice {
                Some(c) => out.push_str(&format!(
                    "goal {}: cheapest point meeting it: {}\n  (rule: {})\n",
                    goals.join(" and "),
                    self.points[c.point].point.label,
                    c.rule
                )),
                None => out.push_str(&format!(
                    "goal {}: no point meets it (judged on the mean over replications)\n",
                    goals.join(" and ")
                )),
            }
        }
        let plots = if self.plots.is_empty() {
            String::new()
        } else {
            format!(", {} plots", self.plots.len())
        };
        out.push_str(&format!(
            "wrote {}{plots} and the runs in {}\n",
            self.csv_path.display(),
            self.out_dir.join("runs").display()
        ));
        out
    }
}

/// The headline figures of a summary.json text.
fn parse_figures(text: &str) -> Option<Vec<Headline>> {
    let v: Value = serde_json::from_str(text).ok()?;
    Some(headline_figures(&v))
}

/// The figures of a kept run, if its file is whole and was made with this seed and duration.
fn read_run(path: &Path, seed: u64, duration: SimDuration) -> Option<Vec<Headline>> {
    let text = fs::read_to_string(path).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    let same = v.get("seed")?.as_u64()? == seed
        && v.get("duration_s")?.as_f64()? == duration.as_secs_f64()
        && v.get("conservation")?.get("ok")?.as_bool()?;
    same.then(|| headline_figures(&v))
}

/// Removes files an interrupted run left under a temporary name.
fn remove_partials(dir: &Path) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if let Some(name) = name
            && is_temp_name(&name)
        {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Removes what a sweep writes at the top of its folder once its runs are done (`sweep.csv`,
/// the plots, their temporary files) and, with `runs`, the runs and `sweep.json` too. Nothing
/// else in the folder is touched.
fn remove_results(out_dir: &Path, runs: bool) -> std::io::Result<()> {
    let entries = match fs::read_dir(out_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let Some(name) = name else { continue };
        let result = name == "sweep.csv"
            || (name.starts_with("sweep_") && (name.ends_with(".svg") || name.ends_with(".png")))
            || [".svg", ".png"]
                .map(|e| format!("{}{e}", pareto::STEM))
                .contains(&name)
            || is_temp_name(&name);
        if name == "runs" && runs && path.is_dir() {
            fs::remove_dir_all(&path)?;
        } else if result || (runs && name == "sweep.json") {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Removes the runs a resumed sweep does not have: point folders of another grid, and
/// replications past `replications`, so the folder holds exactly this sweep's runs.
fn remove_stale_runs(out_dir: &Path, grid: &Grid, replications: u32) -> std::io::Result<()> {
    let points: std::collections::BTreeSet<&str> =
        grid.points.iter().map(|p| p.dir.as_str()).collect();
    for entry in fs::read_dir(out_dir.join("runs"))? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let Some(name) = name else { continue };
        if !points.contains(name.as_str()) {
            if path.is_dir() {
                fs::remove_dir_all(&path)?;
            }
            continue;
        }
        for file in fs::read_dir(&path)? {
            let file = file?.path();
            let replication = file.file_name().and_then(|n| n.to_str()).and_then(|n| {
                n.strip_prefix("rep-")?
                    .strip_suffix(".json")?
                    .parse::<u32>()
                    .ok()
            });
            if replication.is_some_and(|r| r > replications) {
                fs::remove_file(&file)?;
            }
        }
    }
    Ok(())
}

/// From now on Ctrl-C removes what the sweep has half written, keeps its whole runs for
/// `--resume` and says how many there are.
fn on_interrupt(out_dir: &Path, grid: &Grid, runs: usize, whole: Arc<AtomicUsize>) {
    let out_dir = out_dir.to_path_buf();
    let point_dirs: Vec<PathBuf> = grid
        .points
        .iter()
        .map(|p| out_dir.join("runs").join(&p.dir))
        .collect();
    interrupt::hold(|on| {
        on.set(move || {
            for dir in &point_dirs {
                let _ = remove_partials(dir);
            }
            let _ = remove_results(&out_dir, false);
            format!(
                "awsim: interrupted; {} of {runs} runs are whole and kept in {} (sweep.csv was \
                 not written): run the same command with --resume to continue",
                whole.load(Ordering::SeqCst),
                out_dir.join("runs").display()
            )
        })
    });
}

/// `--resume` refuses a folder whose runs were made from another scenario text, base seed,
/// duration or seed rule, or whose `sweep.json` does not say (then nothing there can be
/// trusted).
fn check_manifest(path: &Path, now: &Value) -> Result<(), SweepError> {
    let folder = path.parent().unwrap_or(Path::new(".")).display();
    let refuse = |what: String| {
        SweepError::Input(format!(
            "--resume: the runs in {folder} were made with other settings ({what}); give \
             another --out, or drop --resume to run everything again"
        ))
    };
    let before: Map<String, Value> = fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .ok_or_else(|| refuse(format!("{} cannot be read", path.display())))?;
    for key in [
        "scenario_fnv1a64",
        "seed",
        "duration_s",
        "independent_seeds",
    ] {
        let old = before.get(key);
        if old != now.get(key) {
            return Err(refuse(match (key, old) {
                ("scenario_fnv1a64", Some(_)) => "the scenario file has changed".to_string(),
                (_, Some(old)) => format!("`{key}` was {old}, now {}", now[key]),
                (_, None) => format!("sweep.json does not give `{key}`"),
            }));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 10 000-run sweep is aggregated holding one point's runs at a time, and each point's
    /// estimate is the mean and half-width of its own runs.
    #[test]
    fn aggregation_holds_one_points_runs_at_a_time() {
        let file = Path::new("scenarios/examples/web_tier.toml");
        let scenario = Scenario::load(file).unwrap();
        let grid = Grid::unchecked(&scenario, file, &["web.instances=1..2500".into()]).unwrap();
        let replications = 4;
        let mut aggregate = Aggregate::new(&[], replications);
        let mut most_held = 0;
        for p in &grid.points {
            for r in 1..=replications {
                // The last point misses a replication (a partial merge).
                if p.index == 2499 && r == 4 {
                    continue;
                }
                let x = p.index as f64 + f64::from(r);
                let run = vec![
                    Headline {
                        key: "shoppers.latency_p99_ms".into(),
                        value: x,
                        component: false,
                    },
                    Headline {
                        key: "shoppers.latency_p90_ms".into(),
                        value: x,
                        component: false,
                    },
                    Headline {
                        key: "web.utilisation".into(),
                        value: 2.0 * x,
                        component: true,
                    },
                ];
                aggregate.add(p.index, run);
                most_held = most_held.max(aggregate.runs_held());
            }
        }
        assert_eq!(most_held, replications as usize);
        let (figures, points) = aggregate.finish(&grid, &[], &["shoppers"]);
        // p90 is not a column without a goal naming it.
        assert_eq!(figures, ["shoppers.latency_p99_ms", "web.utilisation"]);
        assert_eq!(points.len(), 2500);
        let half = stats::t975(3) * stats::sample_std_dev(&[1.0, 2.0, 3.0, 4.0]) / 2.0;
        for p in [0, 17, 2498] {
            let e = &points[p].estimates;
            assert_eq!(e[0].mean, Some(p as f64 + 2.5));
            assert_eq!(e[1].mean, Some(2.0 * (p as f64 + 2.5)));
            assert!((e[0].ci95.unwrap() - half).abs() < 1e-12);
            assert_eq!(points[p].runs, 4);
        }
        assert_eq!(points[2499].runs, 3);
        assert_eq!(points[2499].estimates[0].mean, None);
    }

    #[test]
    fn the_cheapest_is_the_lowest_cost_and_the_first_of_equals() {
        assert_eq!(cheapest(&[(0, 3.0), (1, 1.5), (2, 2.0)]), Some(1));
        // Equal costs: the one given first (the smaller capacity).
        assert_eq!(cheapest(&[(4, 1.0), (2, 1.0), (3, 1.0)]), Some(4));
        assert_eq!(cheapest(&[(7, 0.0)]), Some(7));
        assert_eq!(cheapest(&[]), None);
    }
}
