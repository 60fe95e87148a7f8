//! A run from scenario text to outputs in memory: what the browser shows (web/), where there is
//! no file to read or write. The summary is byte for byte `awsim run`'s `summary.json`, the
//! plots are the SVGs it writes, and `timeseries.csv` its file; the same code runs natively
//! (tests/it/web.rs holds the two against each other for every lesson).

use std::path::Path;

use serde_json::{Value, json};

use super::plots;
use super::report::summary_findings;
use super::table;
use super::timeseries::CsvSeries;
use crate::engine::time::SimTime;
use crate::metrics::finding::Severity;
use crate::run::{Limits, RunError, run_with_limits};
use crate::scenario::{RunSettings, Scenario, ScenarioError};

/// What a run in memory gives back.
#[derive(Debug)]
pub struct MemoryRun {
    /// `summary.json`, as `awsim run` writes it.
    pub summary_json: String,
    /// The table `awsim run` prints.
    pub table: String,
    /// The warnings and notes the summary shows, as the report lists them.
    pub warnings: Vec<Value>,
    /// Every plot as `(stem, SVG text)`, in the order `awsim run` writes them.
    pub plots: Vec<(String, String)>,
    /// `timeseries.csv`, when asked for.
    pub timeseries_csv: Option<Vec<u8>>,
}

/// Why a run in memory gave no outputs: a located problem in the scenario, or a run error.
#[derive(Debug)]
pub enum MemoryError {
    /// The scenario is invalid (or its settings are): every problem, located.
    Scenario(ScenarioError),
    /// The run failed (conservation, a bound) or a plot could not be drawn.
    Run(String),
}

impl MemoryError {
    /// The error as JSON: `{"kind": "scenario", "text", "diagnostics": [{line, column, field,
    /// message}]}` (line and column 1-based, 0 when not at one place) or `{"kind": "run",
    /// "text"}`; `text` is what the command line prints.
    pub fn to_json(&self) -> Value {
        match self {
            MemoryError::Scenario(e) => json!({
                "kind": "scenario",
                "text": e.to_string(),
                "diagnostics": e.diagnostics.iter().map(|d| json!({
                    "line": d.line,
                    "column": d.column,
                    "field": d.field,
                    "message": d.message,
                })).collect::<Vec<_>>(),
            }),
            MemoryError::Run(text) => json!({ "kind": "run", "text": text }),
        }
    }
}

impl From<RunError> for MemoryError {
    fn from(e: RunError) -> Self {
        match e {
            RunError::Scenario(e) => MemoryError::Scenario(e),
            e => MemoryError::Run(e.to_string()),
        }
    }
}

/// Parses `text` (named `file` in messages) and runs it as `awsim run` would with `settings`,
/// keeping every output in memory; `progress` is called now and then with the simulated time
/// reached. The run has `awsim run`'s bounds but the wall clock's (the page stops a run).
/// Files a scenario names (traces, empirical distributions, definitions) are read relative to
/// `file`, from the bytes given for them ([`crate::files::with_given_files`], which the browser
/// uses: it has no disk) or else from disk; one that is neither is a located error.
pub fn run_text(
    text: &str,
    file: &Path,
    settings: RunSettings,
    want_timeseries: bool,
    progress: impl FnMut(SimTime),
) -> Result<MemoryRun, MemoryError> {
    let scenario = Scenario::parse(text, file).map_err(MemoryError::Scenario)?;
    scenario
        .check_settings(settings)
        .map_err(MemoryError::Scenario)?;
    let limits = Limits {
        max_wall: None,
        ..Limits::default()
    };
    let run_error = |e: std::io::Error| MemoryError::Run(e.to_string());
    let (summary, series, csv) = if want_timeseries {
        let mut sink =
            CsvSeries::to_writer(Vec::new(), &scenario.series_kinds()).map_err(run_error)?;
        let summary = run_with_limits(&scenario, settings, limits, &mut sink, progress)?;
        let (csv, series) = sink.finish_writer().map_err(run_error)?;
        (summary, series, Some(csv))
    } else {
        let mut sink =
            CsvSeries::to_writer(std::io::sink(), &scenario.series_kinds()).map_err(run_error)?;
        let summary = run_with_limits(&scenario, settings, limits, &mut sink, progress)?;
        let (_, series) = sink.finish_writer().map_err(run_error)?;
        (summary, series, None)
    };
    let (plots, _) = plots::run_svgs(&summary, &series).map_err(run_error)?;
    let warnings = summary_findings(&summary)
        .into_iter()
        .map(|f| {
            json!({
                "severity": match f.severity {
                    Severity::Warning => "warning",
                    Severity::Note => "note",
                },
                "subject": f.subject,
                "text": f.text,
            })
        })
        .collect();
    Ok(MemoryRun {
        summary_json: summary.to_json(),
        table: table::render(&summary),
        warnings,
        plots,
        timeseries_csv: csv,
    })
}
