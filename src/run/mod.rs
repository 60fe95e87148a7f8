//! One run of a scenario: build, simulate, check conservation, summarise.
//!
//! The engine only handles events; this is the loop that observes the components while it
//! runs: a time-series row per component at every interval boundary (before any event at that
//! instant), and every component's report at the end. A run is bounded by the engine's
//! watchdog ([`Limits`]); one that goes past a bound ends with [`RunError::Limit`], which names
//! the components involved ([`limits::LimitError`]).

use crate::engine::Simulation;
use crate::engine::time::{SimDuration, SimTime};
pub use crate::engine::watchdog::Limits;
use crate::message::Msg;
use crate::metrics::{ComponentReport, Observe, SeriesRow, SeriesSink, conservation};
pub mod limits;
pub mod summary;

use crate::scenario::{RunSettings, Scenario, ScenarioError};
use crate::workload::record::Recorder;
use limits::LimitError;
use summary::Summary;

/// Why a run did not produce a trustworthy summary.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The scenario could not be built.
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    /// A model lost or invented requests: a bug in awsim, not in the scenario.
    #[error(
        "conservation check failed (a bug in awsim; please report it with the scenario and \
         seed {seed}):\n  {}",
        violations.join("\n  ")
    )]
    Conservation {
        /// The seed of the failing run, to reproduce it.
        seed: u64,
        /// One line per imbalance.
        violations: Vec<String>,
        /// The summary anyway, for inspection.
        summary: Box<Summary>,
    },
    /// The run went past one of its bounds (or was interrupted) before its end: no summary.
    #[error("{0}")]
    Limit(Box<LimitError>),
}

/// Runs `scenario` once within the default [`Limits`]. Time-series rows go to `series` as they
/// are produced; `progress` is called now and then with the simulated time reached.
pub fn run(
    scenario: &Scenario,
    settings: RunSettings,
    series: &mut dyn SeriesSink,
    progress: impl FnMut(SimTime),
) -> Result<Summary, RunError> {
    run_with_limits(scenario, settings, Limits::default(), series, progress)
}

/// [`run`] within `limits` (the command line's `--max-events`, `--max-memory`...).
pub fn run_with_limits(
    scenario: &Scenario,
    settings: RunSettings,
    limits: Limits,
    series: &mut dyn SeriesSink,
    progress: impl FnMut(SimTime),
) -> Result<Summary, RunError> {
    let seed = settings.seed.unwrap_or_else(|| scenario.seed());
    let mut simulation = scenario.build(settings)?;
    simulation.set_limits(limits);
    let output = observe(simulation, interval(scenario, settings), series, progress)?;
    summarise(scenario, settings, seed, &output)
}

/// The time-series interval of a run: the command line's, else the scenario's (never zero).
fn interval(scenario: &Scenario, settings: RunSettings) -> SimDuration {
    let interval = settings.interval.unwrap_or_else(|| scenario.interval());
    if interval.is_zero() {
        SimDuration::from_secs(1)
    } else {
        interval
    }
}

/// What a finished run hands back: every component's report, in id order.
pub struct RunOutput {
    /// `(name, report)` per component, in id order.
    pub reports: Vec<(String, ComponentReport)>,
    /// Events processed.
    pub events: u64,
    /// The simulated end time.
    pub end: SimTime,
}

/// Runs `simulation` to its end, sampling every component into `series` every `interval` (the
/// last interval possibly partial), and gathers the reports; or stops at one of the
/// simulation's bounds ([`Simulation::set_limits`]), with the rows sampled so far in `series`.
pub fn observe(
    mut simulation: Simulation<Msg, Box<dyn Observe>>,
    interval: SimDuration,
    series: &mut dyn SeriesSink,
    mut progress: impl FnMut(SimTime),
) -> Result<RunOutput, RunError> {
    let end = simulation.end();
    let ran = if series.wants_rows() {
        let mut row = SeriesRow::default();
        let mut next_sample = SimTime::ZERO + interval;
        let mut ran = Ok(());
        while next_sample < end && ran.is_ok() {
            ran = simulation.run_until(next_sample, &mut progress);
            if ran.is_ok() {
                sample(&mut simulation, next_sample, series, &mut row);
                next_sample += interval;
            }
        }
        ran.and_then(|()| simulation.run_until(end, &mut progress))
            .map(|()| {
                sample(&mut simulation, end, series, &mut row);
                progress(end);
            })
    } else {
        simulation.run(&mut progress)
    };
    if let Err(stop) = ran {
        let limits = *simulation.limits();
        let components = simulation
            .components()
            .map(|(n, c)| (n, &**c as &dyn Observe));
        let error = LimitError::new(&stop, limits, end, components);
        return Err(RunError::Limit(Box::new(error)));
    }
    let reports = simulation
        .components()
        .map(|(name, c)| (name.to_string(), c.report(end)))
        .collect();
    Ok(RunOutput {
        reports,
        events: simulation.events(),
        end,
    })
}

fn sample(
    simulation: &mut Simulation<Msg, Box<dyn Observe>>,
    at: SimTime,
    series: &mut dyn SeriesSink,
    row: &mut SeriesRow,
) {
    for (name, component) in simulation.components_mut() {
        if component.has_series() {
            *row = SeriesRow::default();
            component.sample(at, row);
            series.row(at, name, component.kind(), row);
        }
    }
}

/// The summary of a finished simulation, after its conservation check.
fn summarise(
    scenario: &Scenario,
    settings: RunSettings,
    seed: u64,
    output: &RunOutput,
) -> Result<Summary, RunError> {
    let workloads = scenario.workloads.len();
    let created: u64 = output.reports[..workloads]
        .iter()
        .map(|(_, r)| r.total.created)
        .sum();
    let check = conservation::check(output.reports.iter().map(|(n, r)| (n.as_str(), r)), created);
    let summary = Summary::new(scenario, settings, seed, output, check);
    if !summary.conservation.ok {
        return Err(RunError::Conservation {
            seed,
            violations: summary.conservation.violations.clone(),
            summary: Box::new(summary),
        });
    }
    Ok(summary)
}

/// Runs `scenario` once within the default [`Limits`] and writes the arrivals its workloads
/// create to the trace at `path` (`awsim record`). The trace is renamed into place only when
/// the run passes its checks. Returns the summary and the number of rows written.
pub fn record(
    scenario: &Scenario,
    settings: RunSettings,
    path: &std::path::Path,
    progress: impl FnMut(SimTime),
) -> Result<(Summary, u64), RecordError> {
    record_with_limits(scenario, settings, Limits::default(), path, progress)
}

/// [`record`] within `limits`.
pub fn record_with_limits(
    scenario: &Scenario,
    settings: RunSettings,
    limits: Limits,
    path: &std::path::Path,
    progress: impl FnMut(SimTime),
) -> Result<(Summary, u64), RecordError> {
    let recorder = Recorder::create(path).map_err(|e| RecordError::Write(path.into(), e))?;
    let seed = settings.seed.unwrap_or_else(|| scenario.seed());
    let mut simulation = match scenario.build_recording(settings, &recorder) {
        Ok(s) => s,
        Err(e) => {
            Recorder::abandon(recorder);
            return Err(RecordError::Run(RunError::Scenario(e)));
        }
    };
    simulation.set_limits(limits);
    let output = observe(
        simulation,
        interval(scenario, settings),
        &mut crate::metrics::NoSeries,
        progress,
    );
    let summary = output.and_then(|output| summarise(scenario, settings, seed, &output));
    if let Err(e) = summary {
        Recorder::abandon(recorder);
        return Err(RecordError::Run(e));
    }
    let (_, rows) = Recorder::finish(recorder).map_err(|e| RecordError::Write(path.into(), e))?;
    Ok((summary.expect("checked above"), rows))
}

/// Why `awsim record` wrote no trace.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The run failed.
    #[error("{0}")]
    Run(RunError),
    /// The trace could not be written.
    #[error("cannot write the trace {path}: {1}", path = .0.display())]
    Write(std::path::PathBuf, std::io::Error),
}

/// Runs `scenario` within the default limits, with no time series and no progress (tests).
pub fn run_quietly(scenario: &Scenario, settings: RunSettings) -> Result<Summary, RunError> {
    run(scenario, settings, &mut crate::metrics::NoSeries, |_| {})
}

/// Runs scenario text (default seed) and returns its summary as JSON, for model unit tests.
#[cfg(test)]
pub(crate) fn run_text(text: &str) -> serde_json::Value {
    let scenario =
        Scenario::parse(text, std::path::Path::new("test.toml")).unwrap_or_else(|e| panic!("{e}"));
    let summary = run_quietly(&scenario, RunSettings::default()).unwrap_or_else(|e| panic!("{e}"));
    serde_json::to_value(&summary).expect("summary serialises")
}
