//! Sweeps beyond one machine: `awsim sweep ... --plan DIR` writes every run of a sweep as an
//! independent task addressed by an index; `awsim sweep run DIR --index I` runs one anywhere
//! (a Slurm array task, an AWS Batch array child, a Kubernetes Indexed Job pod, a line of GNU
//! parallel); `awsim sweep merge DIR` writes what the one-machine `awsim sweep` writes.
//!
//! The plan folder:
//! - `plan.json`: the format and its version, the plan's digest (SHA-256 of the plan's body
//!   as compact JSON) and the body: the sweep's arguments, each point's label, folder name and
//!   the SHA-256 of its resolved scenario, and every run's index, point, replication and seed
//!   (the seeds of [`super::replication_seed`], as the one-machine sweep derives them). A body
//!   edited by hand no longer matches its digest, and every command refuses it.
//! - `scenario.toml`: the base scenario's text; `points/<point>.toml`: each point's resolved
//!   scenario (the text `awsim sweep` runs). Relative file names in them are relative to the
//!   original scenario file's folder, as in a sweep.
//! - `results/<index>.json`: a run's result, the plan's digest, the run's index, point,
//!   replication and seed, and its summary.json, written under a temporary name and renamed
//!   ([`crate::files::write_temp`]), so a run killed half-way leaves only a hidden `.partial`
//!   file that nothing reads. A result is valid when it names this plan's digest and index and
//!   its summary has the run's seed and duration and passed its conservation check.
//!   `results/<index>.failed`: why a run failed (removed when it succeeds).
//! - `sweep.csv`, `sweep.json` and the plots, from `merge`: its results are read one at a time,
//!   in grid order, and aggregated point by point ([`super::Aggregate`]), by the same code as the
//!   one-machine sweep, so the files are byte-identical to its, whatever ran where and in what
//!   order.
//! - With `--emit slurm`: `sweep.sbatch` (the array job), `merge.sbatch` (the merge),
//!   `submit.sh` (submits both, the merge with `--dependency=afterok` on the array) and
//!   `logs/`.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::args::{Emit, PlanArgs, RunPlanArgs, SweepAction, SweepCommand};
use super::{
    Aggregate, Grid, Prepared, SweepArgs, SweepError, SweepOutcome, Tally, add_not_billed,
    headline_figures, manifest, prepare, remove_results, replication_seed, run_sweep,
};
use crate::engine::time::SimDuration;
use crate::files::{is_temp_name, write_temp};
use crate::metrics::NoSeries;
use crate::output::{folder, interrupt, write_atomic};
use crate::run::{RunError, run_with_limits};
use crate::scenario::{RunSettings, Scenario};

/// What `plan.json` says it is.
pub const PLAN_FORMAT: &str = "awsim sweep plan";
/// The version of the plan format this awsim reads and writes.
pub const PLAN_VERSION: u64 = 1;
/// The plan file, in the plan folder.
pub const PLAN_FILE: &str = "plan.json";
/// Most bytes of `plan.json` read (a plan of the largest sweep, 100 000 runs, is about 10 MB).
const MAX_PLAN_BYTES: u64 = 256 << 20;
/// Most bytes of one result read (a summary is a few KiB per workload and component).
const MAX_RESULT_BYTES: u64 = 64 << 20;

/// Runs `awsim sweep`: a sweep on this machine, a plan (`--plan`), or an action on a plan
/// folder. Returns what to print (nothing with `--quiet`).
pub fn command(cmd: &SweepCommand) -> Result<String, SweepError> {
    match &cmd.action {
        Some(SweepAction::Run(args)) => run_plan(args),
        Some(SweepAction::Merge {
            dir,
            partial,
            quiet,
        }) => {
            let outcome = merge(dir, *partial)?;
            Ok(if *quiet {
                String::new()
            } else {
                outcome.report()
            })
        }
        Some(SweepAction::Status { dir }) => status(dir).map(|s| s.report()),
        None if cmd.args.file.as_os_str().is_empty() => Err(SweepError::Input(
            "give the scenario file: awsim sweep FILE --set NAME.FIELD=VALUES".into(),
        )),
        None => match &cmd.plan.plan {
            Some(dir) => {
                let message = write_plan(&cmd.args, &cmd.plan, dir)?;
                Ok(if cmd.args.quiet {
                    String::new()
                } else {
                    message
                })
            }
            None => {
                let outcome = run_sweep(&cmd.args)?;
                Ok(if cmd.args.quiet {
                    String::new()
                } else {
                    outcome.report()
                })
            }
        },
    }
}

/// SHA-256 of `bytes`, in hex.
fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// One point of a plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanPoint {
    /// Its position in the grid.
    pub index: usize,
    /// `web.instances=4,...`.
    pub label: String,
    /// Its folder name in a one-machine sweep (`runs/<dir>/`).
    pub dir: String,
    /// Its resolved scenario, relative to the plan folder.
    pub scenario: String,
    /// SHA-256 of that scenario's text.
    pub sha256: String,
}

/// One run of a plan.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanRun {
    /// Its index (0-based, as array jobs count).
    pub index: usize,
    /// Its point's index.
    pub point: usize,
    /// Its replication (1-based).
    pub replication: u32,
    /// Its seed.
    pub seed: u64,
}

/// The body of `plan.json`: everything its digest covers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanBody {
    /// The scenario's name.
    pub scenario: String,
    /// The scenario file as given to `awsim sweep`: relative file names in the scenarios start
    /// from its folder.
    pub file: String,
    /// `--prices`, as given.
    pub prices: Option<String>,
    /// SHA-256 of the base scenario's text (`scenario.toml`).
    pub scenario_sha256: String,
    /// The base seed.
    pub seed: u64,
    /// Every run's simulated duration, in nanoseconds.
    pub duration_ns: u64,
    /// Replications per point.
    pub replications: u32,
    /// `--independent-seeds`.
    pub independent_seeds: bool,
    /// The `--set` arguments.
    pub sets: Vec<String>,
    /// The `--goal` arguments.
    pub goals: Vec<String>,
    /// The points, in grid order.
    pub points: Vec<PlanPoint>,
    /// The runs, in index order: point by point, replication by replication (the order the
    /// one-machine sweep aggregates them in).
    pub runs: Vec<PlanRun>,
}

impl PlanBody {
    /// The digest of the body.
    fn digest(&self) -> String {
        sha256(&serde_json::to_vec(self).expect("json"))
    }

    /// The arguments of the sweep it was made from (for `sweep.json` and the goals).
    fn args(&self) -> SweepArgs {
        SweepArgs {
            file: PathBuf::from(&self.file),
            sets: self.sets.clone(),
            replications: self.replications,
            jobs: None,
            seed: Some(self.seed),
            duration: Some(self.duration()),
            out: None,
            max_output: None,
            goals: self.goals.clone(),
            prices: self.prices.as_ref().map(PathBuf::from),
            resume: false,
            independent_seeds: self.independent_seeds,
            quiet: true,
            limits: Default::default(),
        }
    }

    fn duration(&self) -> SimDuration {
        SimDuration::from_nanos(self.duration_ns)
    }
}

/// A plan read from its folder, its digest checked.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The plan folder.
    pub dir: PathBuf,
    /// SHA-256 of the body.
    pub digest: String,
    /// The body.
    pub body: PlanBody,
}

/// The file of `plan.json`.
#[derive(Serialize)]
struct PlanFile<'a> {
    format: &'a str,
    version: u64,
    digest: &'a str,
    plan: &'a PlanBody,
}

fn io_failed(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> SweepError {
    let text = format!("cannot {what} {}", path.display());
    move |e| SweepError::Failed(format!("{text}: {e}"))
}

/// Reads a file of at most `max` bytes.
fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    fs::File::open(path)?
        .take(max + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(std::io::Error::other(format!("larger than {max} bytes")));
    }
    Ok(bytes)
}

impl Plan {
    /// Reads the plan in `dir`, refusing one of another format or version, or whose body does
    /// not match its digest (edited by hand).
    pub fn read(dir: &Path) -> Result<Plan, SweepError> {
        let path = dir.join(PLAN_FILE);
        let bad = |why: String| {
            SweepError::Input(format!(
                "{}: {why}; make the plan again with awsim sweep ... --plan {}",
                path.display(),
                dir.display()
            ))
        };
        let bytes = match read_bounded(&path, MAX_PLAN_BYTES) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SweepError::Input(format!(
                    "{} holds no sweep plan (no {PLAN_FILE}): make one with awsim sweep FILE \
                     --set ... --plan {}",
                    dir.display(),
                    dir.display()
                )));
            }
            Err(e) => return Err(bad(format!("cannot be read: {e}"))),
        };
        let v: Value =
            serde_json::from_slice(&bytes).map_err(|e| bad(format!("not JSON ({e})")))?;
        if v.get("format").and_then(Value::as_str) != Some(PLAN_FORMAT) {
            return Err(bad(format!(
                "not an {PLAN_FORMAT} (no \"format\": \"{PLAN_FORMAT}\")"
            )));
        }
        match v.get("version").and_then(Value::as_u64) {
            Some(PLAN_VERSION) => {}
            other => {
                return Err(bad(format!(
                    "version {}, but this awsim reads version {PLAN_VERSION}",
                    other.map_or("missing".to_string(), |n| n.to_string())
                )));
            }
        }
        let digest = v
            .get("digest")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no digest".into()))?
            .to_string();
        // The digest of the body as read (compact JSON in file order is the bytes it was made
        // from), before anything else of it is trusted.
        let raw = v.get("plan").cloned().unwrap_or_default();
        if sha256(&serde_json::to_vec(&raw).expect("json")) != digest {
            return Err(bad(
                "its plan does not match its digest (was it edited by hand?)".to_string(),
            ));
        }
        let body: PlanBody = serde_json::from_value(raw)
            .map_err(|e| bad(format!("its plan cannot be read ({e})")))?;
        let consistent = body.replications >= 1
            && body.runs.len() == body.points.len() * body.replications as usize
            && body.points.iter().enumerate().all(|(i, p)| p.index == i)
            && body.runs.iter().enumerate().all(|(i, r)| {
                r.index == i
                    && r.point == i / body.replications as usize
                    && r.replication as usize == i % body.replications as usize + 1
            });
        if !consistent {
            return Err(bad("its runs are not the points × replications".into()));
        }
        Ok(Plan {
            dir: dir.to_path_buf(),
            digest,
            body,
        })
    }

    /// The result file of run `index`.
    pub fn result_path(&self, index: usize) -> PathBuf {
        self.dir.join("results").join(format!("{index}.json"))
    }

    /// The failure note of run `index`.
    pub fn failed_path(&self, index: usize) -> PathBuf {
        self.dir.join("results").join(format!("{index}.failed"))
    }

    /// Reads a plan file under the plan folder, checking its SHA-256.
    fn read_checked(&self, relative: &str, sha: &str) -> Result<String, SweepError> {
        let path = self.dir.join(relative);
        let text = fs::read_to_string(&path).map_err(|e| {
            SweepError::Input(format!("cannot read {} of the plan: {e}", path.display()))
        })?;
        if sha256(text.as_bytes()) != sha {
            return Err(SweepError::Input(format!(
                "{} is not the one planned (changed after the plan was made); make the plan \
                 again",
                path.display()
            )));
        }
        Ok(text)
    }

    /// The base scenario, as the one-machine sweep loads it.
    fn base_scenario(&self) -> Result<Scenario, SweepError> {
        let text = self.read_checked("scenario.toml", &self.body.scenario_sha256)?;
        let file = PathBuf::from(&self.body.file);
        let prices = self.body.prices.as_ref().map(PathBuf::from);
        let mut s = Scenario::parse_with_prices(&text, &file, prices.as_deref())
            .map_err(|e| SweepError::Input(e.to_string()))?;
        s.name = self.body.scenario.clone();
        Ok(s)
    }

    /// What is known of run `index`'s result.
    pub fn result(&self, index: usize) -> RunState {
        let path = self.result_path(index);
        let Ok(bytes) = read_bounded(&path, MAX_RESULT_BYTES) else {
            return match fs::read_to_string(self.failed_path(index)) {
                Ok(text) => RunState::Failed(failure_message(&text)),
                Err(_) => RunState::Missing,
            };
        };
        let run = self.body.runs[index];
        let valid = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|mut v| {
                let ours = v.get("plan")?.as_str()? == self.digest
                    && v.get("index")?.as_u64()? == index as u64;
                let summary = v.get_mut("summary")?.take();
                let same = summary.get("seed")?.as_u64()? == run.seed
                    && summary.get("duration_s")?.as_f64()? == self.body.duration().as_secs_f64()
                    && summary.get("conservation")?.get("ok")?.as_bool()?;
                (ours && same).then_some(summary)
            });
        match valid {
            Some(summary) => RunState::Done(summary),
            None => RunState::Invalid,
        }
    }
}

/// What is known of one run.
#[derive(Clone, Debug, PartialEq)]
pub enum RunState {
    /// A valid result: its summary.
    Done(Value),
    /// No valid result; the run failed with this message.
    Failed(String),
    /// No result.
    Missing,
    /// A result that is not this run's of this plan (another plan's, or unreadable): it will
    /// be run again.
    Invalid,
}

fn failure_message(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("error")?.as_str().map(str::to_string))
        .unwrap_or_else(|| "failed (no message)".into())
}

/// Writes the plan of `args` into `dir` (and the job scripts of `--emit`); returns the message.
fn write_plan(args: &SweepArgs, plan_args: &PlanArgs, dir: &Path) -> Result<String, SweepError> {
    if args.out.is_some() || args.resume {
        return Err(SweepError::Input(
            "--plan writes the plan folder and runs nothing: --out and --resume do not go with \
             it (`awsim sweep merge DIR` writes sweep.csv in the plan folder)"
                .into(),
        ));
    }
    let Prepared {
        scenario,
        grid,
        base_seed,
        duration,
        ..
    } = prepare(args)?;
    let body = plan_body(args, &scenario, &grid, base_seed, duration)?;
    let digest = body.digest();
    folder::check_replaceable(dir, PLAN_FILE, "an awsim sweep plan folder").map_err(
        |e| match e {
            folder::FolderError::NotOurs { .. } => SweepError::Input(e.to_string()),
            folder::FolderError::Io { .. } => SweepError::Failed(e.to_string()),
        },
    )?;
    let before = Plan::read(dir).ok();
    let same = before.as_ref().is_some_and(|p| p.digest == digest);
    if plan_args.missing && !same {
        return Err(SweepError::Input(format!(
            "--missing: {} does not hold this plan ({}): give the same scenario and arguments \
             as when it was made, or drop --missing to make a new plan there",
            dir.display(),
            if before.is_some() {
                "it holds another one"
            } else {
                "it holds none"
            }
        )));
    }
    if !same {
        remove_plan(dir).map_err(io_failed("clean", dir))?;
    }
    for sub in ["points", "results"] {
        let path = dir.join(sub);
        fs::create_dir_all(&path).map_err(io_failed("create", &path))?;
    }
    let file = PlanFile {
        format: PLAN_FORMAT,
        version: PLAN_VERSION,
        digest: &digest,
        plan: &body,
    };
    let plan_path = dir.join(PLAN_FILE);
    let text = format!("{}\n", serde_json::to_string_pretty(&file).expect("json"));
    write_atomic(&plan_path, text.as_bytes()).map_err(io_failed("write", &plan_path))?;
    // The texts after plan.json, every time: a plan interrupted half-way is completed by making
    // it again (results are kept when the plan is the same).
    let base = dir.join("scenario.toml");
    write_atomic(&base, scenario.text.as_bytes()).map_err(io_failed("write", &base))?;
    for p in &grid.points {
        let path = dir.join(&body.points[p.index].scenario);
        let text = grid.text(p.index).map_err(SweepError::Input)?;
        write_atomic(&path, text.as_bytes()).map_err(io_failed("write", &path))?;
    }
    let plan = Plan::read(dir)?;
    let runs = plan.body.runs.len();
    let mut message = format!(
        "awsim sweep: planned {} ({} point{} × {} replication{}) of `{}` in {} (plan {})\n",
        plural(runs, "run"),
        grid.points.len(),
        if grid.points.len() == 1 { "" } else { "s" },
        body.replications,
        if body.replications == 1 { "" } else { "s" },
        body.scenario,
        dir.display(),
        &digest[..12],
    );
    if same {
        let done = (0..runs)
            .filter(|&i| matches!(plan.result(i), RunState::Done(_)))
            .count();
        message.push_str(&format!(
            "the same plan was there: its {} kept\n",
            plural(done, "valid result")
        ));
    }
    match plan_args.emit {
        Some(Emit::Slurm) => {
            message.push_str(&super::slurm::emit(&plan, plan_args, args.jobs)?);
        }
        None => message.push_str(&format!(
            "run each with: awsim sweep run {dir} --index I   (I from 0 to {last}; or \
             --index-from-env VAR, or --shard K/N)\nthen: awsim sweep merge {dir}\n",
            dir = dir.display(),
            last = runs - 1
        )),
    }
    Ok(message)
}

/// `n thing` or `n things`.
pub(crate) fn plural(n: usize, thing: &str) -> String {
    format!("{n} {thing}{}", if n == 1 { "" } else { "s" })
}

/// The body of the plan of a prepared sweep.
fn plan_body(
    args: &SweepArgs,
    scenario: &Scenario,
    grid: &Grid,
    base_seed: u64,
    duration: SimDuration,
) -> Result<PlanBody, SweepError> {
    let mut points = Vec::with_capacity(grid.points.len());
    let mut runs = Vec::new();
    for p in &grid.points {
        let text = grid.text(p.index).map_err(SweepError::Input)?;
        points.push(PlanPoint {
            index: p.index,
            label: p.label.clone(),
            dir: p.dir.clone(),
            scenario: format!("points/{}.toml", p.index),
            sha256: sha256(text.as_bytes()),
        });
        for r in 1..=args.replications {
            runs.push(PlanRun {
                index: runs.len(),
                point: p.index,
                replication: r,
                seed: replication_seed(
                    base_seed,
                    r,
                    args.independent_seeds.then_some(p.label.as_str()),
                ),
            });
        }
    }
    Ok(PlanBody {
        scenario: scenario.name.clone(),
        file: args.file.display().to_string(),
        prices: args.prices.as_ref().map(|p| p.display().to_string()),
        scenario_sha256: sha256(scenario.text.as_bytes()),
        seed: base_seed,
        duration_ns: duration.as_nanos(),
        replications: args.replications,
        independent_seeds: args.independent_seeds,
        sets: args.sets.clone(),
        goals: args.goals.clone(),
        points,
        runs,
    })
}

/// Removes what a plan folder holds (of an earlier plan): only the names a plan writes.
fn remove_plan(dir: &Path) -> std::io::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    remove_results(dir, true)?;
    for sub in ["points", "results", "logs"] {
        let path = dir.join(sub);
        if path.is_dir() {
            fs::remove_dir_all(&path)?;
        }
    }
    for name in [
        PLAN_FILE,
        "scenario.toml",
        "sweep.sbatch",
        "merge.sbatch",
        "submit.sh",
    ] {
        let path = dir.join(name);
        if path.is_file() {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// The runs `awsim sweep run` is asked to run.
fn chosen_runs(args: &RunPlanArgs, runs: usize) -> Result<std::ops::Range<usize>, SweepError> {
    let input = SweepError::Input;
    let one = |i: u64, from: &str| {
        if i as usize >= runs || i >= runs as u64 {
            return Err(input(format!(
                "{from}: the plan has {} (indices 0 to {}); {i} is not one",
                plural(runs, "run"),
                runs - 1
            )));
        }
        Ok(i as usize..i as usize + 1)
    };
    if let Some(i) = args.index {
        return one(i, "--index");
    }
    if let Some(var) = &args.index_from_env {
        let from = format!("--index-from-env {var}");
        let value = std::env::var(var).map_err(|_| {
            input(format!(
                "{from}: the variable {var} is not set (the scheduler sets it in each task: \
                 SLURM_ARRAY_TASK_ID, AWS_BATCH_JOB_ARRAY_INDEX, JOB_COMPLETION_INDEX...)"
            ))
        })?;
        let i = value.trim().parse::<u64>().map_err(|_| {
            input(format!(
                "{from}: {var} is `{value}`, not a run index (a whole number)"
            ))
        })?;
        return one(i, &from);
    }
    let shard = args.shard.as_deref().unwrap_or_default();
    let (k, n) = parse_shard(shard).map_err(|e| input(format!("--shard {shard}: {e}")))?;
    // Block k of n: runs k·runs/n to (k+1)·runs/n, as even as whole runs allow.
    let at = |k: u64| (k as u128 * runs as u128 / n as u128) as usize;
    Ok(at(k)..at(k + 1))
}

/// Parses `K/N` with 0 ≤ K < N.
fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let (k, n) = text
        .split_once('/')
        .ok_or("expected K/N, block K (from 0) of N, e.g. 0/8")?;
    let k: u64 = k
        .trim()
        .parse()
        .map_err(|_| format!("K `{k}` is not a whole number"))?;
    let n: u64 = n
        .trim()
        .parse()
        .map_err(|_| format!("N `{n}` is not a whole number"))?;
    if n == 0 || k >= n {
        return Err(format!("K must be from 0 to N-1; N is {n}"));
    }
    Ok((k, n))
}

/// `awsim sweep run`: runs the chosen runs that have no valid result and writes each result.
fn run_plan(args: &RunPlanArgs) -> Result<String, SweepError> {
    let plan = Plan::read(&args.dir)?;
    let chosen = chosen_runs(args, plan.body.runs.len())?;
    let results = plan.dir.join("results");
    fs::create_dir_all(&results).map_err(io_failed("create", &results))?;
    let to_run: Vec<usize> = chosen
        .clone()
        .filter(|&i| !matches!(plan.result(i), RunState::Done(_)))
        .collect();
    let kept = chosen.len() - to_run.len();
    if to_run.is_empty() {
        return Ok(if args.quiet {
            String::new()
        } else {
            format!(
                "awsim sweep run: {} of {} already {} a valid result; nothing to do\n",
                describe_runs(&chosen.collect::<Vec<_>>()),
                plan.dir.display(),
                if kept == 1 { "has" } else { "have" }
            )
        });
    }
    let base = plan.base_scenario()?;
    // From now on an interrupt removes this process's half-written results (and only them: other
    // tasks may be writing theirs in the same folder).
    let suffix = format!(".{}.partial", std::process::id());
    {
        let results = results.clone();
        let suffix = suffix.clone();
        interrupt::hold(|on| {
            on.set(move || {
                if let Ok(entries) = fs::read_dir(&results) {
                    for e in entries.flatten() {
                        if e.file_name().to_string_lossy().ends_with(&suffix) {
                            let _ = fs::remove_file(e.path());
                        }
                    }
                }
                "awsim: interrupted; the runs not finished have no result".into()
            })
        });
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.map_or(0, |j| j as usize))
        .build()
        .map_err(|e| SweepError::Failed(format!("cannot start the worker threads: {e}")))?;
    let limits = args.limits.limits();
    let done = Arc::new(AtomicUsize::new(0));
    let start = std::time::Instant::now();
    let outcomes: Vec<Result<(), SweepError>> = pool.install(|| {
        to_run
            .par_iter()
            .map(|&i| {
                let result = run_one(&plan, &base, i, limits);
                if result.is_ok() {
                    done.fetch_add(1, Ordering::SeqCst);
                }
                result
            })
            .collect()
    });
    interrupt::hold(|on| on.clear());
    let failures: Vec<SweepError> = outcomes.into_iter().filter_map(Result::err).collect();
    if let Some(first) = failures.into_iter().next() {
        return Err(first);
    }
    Ok(if args.quiet {
        String::new()
    } else {
        format!(
            "awsim sweep run: {} of {} done in {:.2} s{}\n",
            describe_runs(&to_run),
            plan.dir.display(),
            start.elapsed().as_secs_f64(),
            if kept > 0 {
                format!(" ({} already had a valid result)", kept)
            } else {
                String::new()
            }
        )
    })
}

/// `run 4` or `runs 0-3, 7`.
fn describe_runs(indices: &[usize]) -> String {
    format!(
        "run{} {}",
        if indices.len() == 1 { "" } else { "s" },
        ranges(indices)
    )
}

/// Indices as compact ranges, `0-3,7,9-12` (the form of Slurm's `--array`).
pub fn ranges(indices: &[usize]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let mut j = i;
        while j + 1 < indices.len() && indices[j + 1] == indices[j] + 1 {
            j += 1;
        }
        out.push(if j == i {
            indices[i].to_string()
        } else {
            format!("{}-{}", indices[i], indices[j])
        });
        i = j + 1;
    }
    out.join(",")
}

/// Runs run `index` of `plan` and writes its result (or why it failed).
fn run_one(
    plan: &Plan,
    base: &Scenario,
    index: usize,
    limits: crate::engine::watchdog::Limits,
) -> Result<(), SweepError> {
    let run = plan.body.runs[index];
    let point = &plan.body.points[run.point];
    let outcome = (|| {
        let text = plan.read_checked(&point.scenario, &point.sha256)?;
        let file = PathBuf::from(&plan.body.file);
        let scenario = super::grid::check(&text, &file, base)
            .map_err(|e| SweepError::Input(format!("point {}: {e}", point.label)))?;
        let settings = RunSettings {
            seed: Some(run.seed),
            duration: Some(plan.body.duration()),
            interval: None,
        };
        scenario.check_settings(settings).map_err(|e| {
            SweepError::Input(format!(
                "point {}: {}",
                point.label,
                super::grid::describe(&e)
            ))
        })?;
        let at = format!(
            "run {index} (point {}, replication {})",
            point.label, run.replication
        );
        match run_with_limits(&scenario, settings, limits, &mut NoSeries, |_| {}) {
            Ok(summary) => Ok(summary.to_json()),
            Err(RunError::Scenario(e)) => Err(SweepError::Input(format!(
                "{at}: {}",
                super::grid::describe(&e)
            ))),
            Err(e @ RunError::Limit(_)) => Err(SweepError::Limit(format!("{at}: {e}"))),
            Err(e) => Err(SweepError::Failed(format!("{at}: {e}"))),
        }
    })();
    let path = plan.result_path(index);
    let failed = plan.failed_path(index);
    match outcome {
        Ok(summary) => {
            let text = format!(
                "{{\n\"plan\": \"{}\",\n\"index\": {index},\n\"point\": {},\n\"replication\": {},\n\
                 \"seed\": {},\n\"summary\": {}\n}}\n",
                plan.digest,
                run.point,
                run.replication,
                run.seed,
                summary.trim_end()
            );
            write_result(&path, &text)?;
            if failed.exists() {
                fs::remove_file(&failed).map_err(io_failed("remove", &failed))?;
            }
            Ok(())
        }
        Err(e) => {
            let note = serde_json::json!({
                "plan": plan.digest,
                "index": index,
                "error": e.to_string(),
                "exit_code": e.exit_code(),
            });
            write_result(&failed, &format!("{note:#}\n"))?;
            Err(e)
        }
    }
}

/// Writes `text` to `path` whole: under a temporary name of this process (tasks of a
/// resubmitted array may run the same index at once), renamed under the interrupt's lock.
fn write_result(path: &Path, text: &str) -> Result<(), SweepError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let staged = path.with_file_name(format!("{name}.{}", std::process::id()));
    write_temp(&staged, text.as_bytes())
        .and_then(|tmp| interrupt::hold(|_| fs::rename(tmp, path)))
        .map_err(io_failed("write", path))
}

/// `awsim sweep merge`: reads the plan's results one at a time, in grid order, and writes
/// `sweep.json`, the plots and `sweep.csv` (last) in the plan folder.
pub fn merge(dir: &Path, partial: bool) -> Result<SweepOutcome, SweepError> {
    let start = std::time::Instant::now();
    let plan = Plan::read(dir)?;
    let body = &plan.body;
    let scenario = plan.base_scenario()?;
    let args = body.args();
    let file = PathBuf::from(&body.file);
    let grid = Grid::unchecked(&scenario, &file, &body.sets).map_err(SweepError::Input)?;
    let same_points = grid.points.len() == body.points.len()
        && grid.points.iter().zip(&body.points).all(|(g, p)| {
            g.label == p.label
                && grid
                    .text(g.index)
                    .is_ok_and(|t| sha256(t.as_bytes()) == p.sha256)
        });
    if !same_points {
        return Err(SweepError::Input(format!(
            "{}: the grid made from its --set arguments is not the one planned (was the plan made \
             by another version of awsim?); make the plan again",
            dir.display()
        )));
    }
    let names: Vec<&str> = scenario
        .workloads
        .iter()
        .map(|w| w.name.get_ref().as_str())
        .collect();
    let goals = body
        .goals
        .iter()
        .map(|g| super::Goal::parse(g, &names))
        .collect::<Result<Vec<_>, _>>()
        .map_err(SweepError::Input)?;
    let mut aggregate = Aggregate::new(&goals, body.replications);
    let mut not_billed = Vec::new();
    let (mut missing, mut failed) = (Vec::new(), Vec::new());
    for run in &body.runs {
        match plan.result(run.index) {
            RunState::Done(summary) => {
                if run.replication == 1 {
                    add_not_billed(&summary, &mut not_billed);
                }
                aggregate.add(run.point, headline_figures(&summary));
            }
            RunState::Failed(why) => failed.push((run.index, why)),
            RunState::Missing | RunState::Invalid => missing.push(run.index),
        }
    }
    let absent = missing.len() + failed.len();
    if absent > 0 && !partial {
        let mut why = format!(
            "{} of {} {} no valid result",
            absent,
            plural(body.runs.len(), "run"),
            if absent == 1 { "has" } else { "have" }
        );
        if !missing.is_empty() {
            why.push_str(&format!("; missing: {}", ranges(&missing)));
        }
        if !failed.is_empty() {
            let list: Vec<usize> = failed.iter().map(|f| f.0).collect();
            why.push_str(&format!(
                "; failed: {} (run {}: {})",
                ranges(&list),
                failed[0].0,
                failed[0].1
            ));
        }
        return Err(SweepError::Failed(format!(
            "{}: {why}. Run them (awsim sweep run {} --index I; --emit slurm --missing \
             resubmits them), or merge what there is with --partial",
            dir.display(),
            dir.display()
        )));
    }
    remove_results(dir, false).map_err(io_failed("clean", dir))?;
    let mut sweep_json = manifest(&scenario, &args, body.seed, body.duration());
    if absent > 0 {
        let mut all: Vec<usize> = missing.clone();
        all.extend(failed.iter().map(|f| f.0));
        all.sort_unstable();
        sweep_json["partial"] = Value::Bool(true);
        sweep_json["runs_without_result"] = Value::String(ranges(&all));
    }
    let json_path = dir.join("sweep.json");
    write_atomic(
        &json_path,
        format!(
            "{}\n",
            serde_json::to_string_pretty(&sweep_json).expect("json")
        )
        .as_bytes(),
    )
    .map_err(io_failed("write", &json_path))?;
    let mut outcome = SweepOutcome::new(
        &scenario,
        &grid,
        goals,
        aggregate,
        not_billed,
        dir.to_path_buf(),
        Tally {
            total: body.runs.len(),
            done: 0,
            jobs: 0,
            partial: absent > 0,
        },
    );
    outcome.write(&grid)?;
    outcome.elapsed = start.elapsed();
    Ok(outcome)
}

/// The state of a plan's runs.
#[derive(Clone, Debug)]
pub struct Status {
    /// The plan.
    pub plan: Plan,
    /// Runs with a valid result.
    pub done: Vec<usize>,
    /// Runs that failed, with why.
    pub failed: Vec<(usize, String)>,
    /// Runs with no result (or one that is not theirs).
    pub missing: Vec<usize>,
    /// Half-written results of killed runs (never read).
    pub partial_files: usize,
}

/// `awsim sweep status`.
pub fn status(dir: &Path) -> Result<Status, SweepError> {
    let plan = Plan::read(dir)?;
    let (mut done, mut failed, mut missing) = (Vec::new(), Vec::new(), Vec::new());
    for run in &plan.body.runs {
        match plan.result(run.index) {
            RunState::Done(_) => done.push(run.index),
            RunState::Failed(why) => failed.push((run.index, why)),
            RunState::Missing | RunState::Invalid => missing.push(run.index),
        }
    }
    let partial_files = fs::read_dir(dir.join("results"))
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| is_temp_name(&e.file_name().to_string_lossy()))
                .count()
        })
        .unwrap_or(0);
    Ok(Status {
        plan,
        done,
        failed,
        missing,
        partial_files,
    })
}

impl Status {
    /// The runs without a valid result (failed or missing), in order.
    pub fn without_result(&self) -> Vec<usize> {
        let mut all = self.missing.clone();
        all.extend(self.failed.iter().map(|f| f.0));
        all.sort_unstable();
        all
    }

    /// What `awsim sweep status` prints.
    pub fn report(&self) -> String {
        let body = &self.plan.body;
        let mut out = format!(
            "awsim sweep status: plan {} of `{}` in {}: {} ({} points × {} replications)\n\
             done {}, failed {}, missing {}\n",
            &self.plan.digest[..12],
            body.scenario,
            self.plan.dir.display(),
            plural(body.runs.len(), "run"),
            body.points.len(),
            body.replications,
            self.done.len(),
            self.failed.len(),
            self.missing.len()
        );
        if !self.failed.is_empty() {
            let list: Vec<usize> = self.failed.iter().map(|f| f.0).collect();
            out.push_str(&format!("failed: {}\n", ranges(&list)));
            for (i, why) in self.failed.iter().take(10) {
                out.push_str(&format!("  run {i}: {why}\n"));
            }
            if self.failed.len() > 10 {
                out.push_str(&format!("  ... and {} more\n", self.failed.len() - 10));
            }
        }
        if !self.missing.is_empty() {
            out.push_str(&format!("missing: {}\n", ranges(&self.missing)));
        }
        if self.partial_files > 0 {
            out.push_str(&format!(
                "{} of killed runs (never read; `awsim sweep run` writes them anew)\n",
                plural(self.partial_files, "half-written result")
            ));
        }
        let merged = self.plan.dir.join("sweep.csv").exists();
        out.push_str(&if self.done.len() == body.runs.len() {
            format!(
                "every run is done: {}\n",
                if merged {
                    "sweep.csv is written".to_string()
                } else {
                    format!("awsim sweep merge {}", self.plan.dir.display())
                }
            )
        } else {
            format!(
                "run the others (awsim sweep run {dir} --index I, or --emit slurm --missing), or \
                 awsim sweep merge {dir} --partial\n",
                dir = self.plan.dir.display()
            )
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_written_as_compact_ranges() {
        assert_eq!(ranges(&[]), "");
        assert_eq!(ranges(&[4]), "4");
        assert_eq!(ranges(&[0, 1, 2, 3, 7, 9, 10, 11, 12]), "0-3,7,9-12");
        assert_eq!(ranges(&[1, 3]), "1,3");
    }

    #[test]
    fn shards_cover_every_run_once_in_near_even_blocks() {
        for runs in [1usize, 7, 32, 100] {
            for n in [1u64, 3, 8, 200] {
                let mut next = 0;
                for k in 0..n {
                    let args = RunPlanArgs {
                        dir: PathBuf::new(),
                        index: None,
                        index_from_env: None,
                        shard: Some(format!("{k}/{n}")),
                        jobs: None,
                        quiet: true,
                        limits: Default::default(),
                    };
                    let block = chosen_runs(&args, runs).unwrap();
                    assert_eq!(block.start, next, "{k}/{n} of {runs}");
                    let even = runs / n as usize;
                    assert!(block.len() == even || block.len() == even + 1);
                    next = block.end;
                }
                assert_eq!(next, runs, "{n} shards of {runs}");
            }
        }
        for bad in ["3", "2/2", "x/4", "1/0", "-1/3"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }
}
