//! What a kind contributes to a run's outputs besides its figures: lines of the terminal
//! summary, findings of the HTML report, the figures a sweep tabulates and the usage it bills.
//!
//! Everything here reads the kind's own report as summary.json holds it (a JSON object of its
//! figures), so the output layers (`crate::output`, `crate::sweep`) can ask any kind through
//! the registry ([`super::kind_outputs`]) without naming a kind or a figure themselves.

use serde_json::Value;

use crate::metrics::finding::{Finding, Growth, SATURATED_UTILISATION, Severity, percent};
use crate::metrics::plot::Figure;
use crate::metrics::series::Series;
use crate::metrics::{Column, MAX_COLUMNS, SeriesRow};

/// The figure in which a kind that changes its capacity (an Auto Scaling Group, a table with
/// auto scaling) lists its scaling activities; `scaling_activities.csv` gathers them all.
pub const SCALING_ACTIVITIES: &str = "scaling_activities";

/// The figure in which a component that deploys a new version reports its deployment
/// (`crate::components::deployment::Deployment::report`); `summary.json` lists them under
/// `deployments` and `deployments.csv` gathers their steps.
pub const DEPLOYMENT: &str = "deployment";

/// The column of the spend rate: what the interval added to the bill of the measured window,
/// per hour of the interval (0 in the warm-up, which is not billed; empty for a component
/// awsim does not bill). A kind whose spend moves with time declares it among its
/// [`Outputs::COLUMNS`]; the run's `cost` figure stacks every component's, so the area under
/// it is the bill.
pub const SPEND_COLUMN: Column = Column {
    name: "spend_usd_per_hour",
    description: "spend rate over the interval: what it added to the measured window's bill, \
                  per hour (USD/h)",
};

/// What a kind contributes to outputs. Every method has a default: a kind overrides what it
/// has to say.
pub trait Outputs {
    /// Its own time-series columns (after the request columns every component has,
    /// [`crate::metrics::REQUEST_COLUMNS`]), in the order its `sample` fills
    /// [`crate::metrics::SeriesRow::gauges`]; at most [`crate::metrics::MAX_COLUMNS`].
    const COLUMNS: &'static [Column] = &[];

    /// Columns written only when a component of the kind has what they measure
    /// ([`super::Kind::writes_optional_columns`]: burstable instances' CPU credits), after
    /// [`Outputs::COLUMNS`] in [`crate::metrics::SeriesRow::gauges`]; a scenario without such a
    /// component keeps the file it had before they existed.
    const OPTIONAL_COLUMNS: &'static [Column] = &[];

    /// The figures a sweep tabulates for a component of this kind (`sweep.csv`), in order, when
    /// its report has them.
    const HEADLINE_FIGURES: &'static [&'static str] = &[];

    /// Time-series columns where a backlog builds up, with what they count, tried in order:
    /// the report mentions the first one still growing at the end of the run.
    const BACKLOG_COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("queue_length", "queued requests"),
        ("in_flight", "requests in flight"),
    ];

    /// Its notes in the terminal summary (`utilisation 59.9%`), from its report.
    fn notes(_report: &Value) -> Vec<String> {
        Vec::new()
    }

    /// What the HTML report should say about its figures (beyond the failures, saturation and
    /// backlogs every component gets).
    fn findings(_name: &str, _report: &Value) -> Vec<Finding> {
        Vec::new()
    }

    /// Its own wording of a backlog still growing at the end of the run, if the generic
    /// warning would mislead.
    fn growing_backlog(_name: &str, _report: &Value, _growth: &Growth) -> Option<Finding> {
        None
    }

    /// Its own figures (`capacity_<name>`, `queue_<name>`...), drawn from its time-series
    /// columns and its report; only those with data.
    fn plots(_name: &str, _report: &Value, _series: &Series) -> Vec<Figure> {
        Vec::new()
    }
}

/// A kind's [`Outputs`] as values, for the registry to hand out by kind name.
#[derive(Copy, Clone)]
pub struct KindOutputs {
    /// See [`Outputs::COLUMNS`].
    pub columns: &'static [Column],
    /// See [`Outputs::OPTIONAL_COLUMNS`].
    pub optional_columns: &'static [Column],
    /// See [`Outputs::HEADLINE_FIGURES`].
    pub headline_figures: &'static [&'static str],
    /// See [`Outputs::BACKLOG_COLUMNS`].
    pub backlog_columns: &'static [(&'static str, &'static str)],
    /// See [`Outputs::notes`].
    pub notes: fn(&Value) -> Vec<String>,
    /// See [`Outputs::findings`].
    pub findings: fn(&str, &Value) -> Vec<Finding>,
    /// See [`Outputs::growing_backlog`].
    pub growing_backlog: fn(&str, &Value, &Growth) -> Option<Finding>,
    /// See [`Outputs::plots`].
    pub plots: fn(&str, &Value, &Series) -> Vec<Figure>,
}

impl KindOutputs {
    /// The outputs of the kind whose spec is `K`.
    pub fn of<K: Outputs>() -> KindOutputs {
        const {
            assert!(
                K::COLUMNS.len() + K::OPTIONAL_COLUMNS.len() <= MAX_COLUMNS,
                "too many time-series columns"
            )
        };
        KindOutputs {
            columns: K::COLUMNS,
            optional_columns: K::OPTIONAL_COLUMNS,
            headline_figures: K::HEADLINE_FIGURES,
            backlog_columns: K::BACKLOG_COLUMNS,
            notes: K::notes,
            findings: K::findings,
            growing_backlog: K::growing_backlog,
            plots: K::plots,
        }
    }
}

/// A number figure of a report.
pub fn figure(report: &Value, name: &str) -> Option<f64> {
    report.get(name).and_then(Value::as_f64)
}

/// Up to 16 counts of a list figure joined by `/` (`16110/16279/...`).
pub fn counts_list(report: &Value, name: &str) -> Option<String> {
    let list = report.get(name).and_then(Value::as_array)?;
    let counts: Vec<String> = list.iter().take(16).map(|c| c.to_string()).collect();
    let more = if list.len() > 16 { "/..." } else { "" };
    Some(format!("{}{more}", counts.join("/")))
}

/// The notes of a load balancer: how unevenly it spread requests, and over which targets.
pub fn balancer_notes(report: &Value) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(i) = figure(report, "imbalance") {
        notes.push(format!("imbalance {i:.2}"));
    }
    if let Some(t) = counts_list(report, "target_requests") {
        notes.push(format!("per target {t}"));
    }
    notes
}

/// The notes of a pool of instances: how busy its workers were and how long requests waited.
pub fn pool_notes(report: &Value) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(u) = figure(report, "utilisation") {
        notes.push(format!("utilisation {:.1}%", u * 100.0));
    }
    if let Some(w) = report
        .get("wait_ms")
        .and_then(|w| w.get("mean"))
        .and_then(Value::as_f64)
    {
        notes.push(format!("mean queue wait {w:.2} ms"));
    }
    notes
}

/// The findings of a pool of instances: saturated when its workers were busy nearly all the
/// time.
pub fn pool_findings(name: &str, report: &Value) -> Vec<Finding> {
    match figure(report, "utilisation") {
        Some(u) if u > SATURATED_UTILISATION => vec![Finding::new(
            Severity::Warning,
            name,
            format!(
                "saturated: workers busy {} of the time on average (above {}); requests queue",
                percent(u),
                percent(SATURATED_UTILISATION)
            ),
        )],
        _ => Vec::new(),
    }
}

/// The value of the column named `column` in a row of a component of kind `kind` (a request
/// column or the kind's own); `None` for an empty field or a column it does not have.
pub fn column_value(kind: &str, row: &SeriesRow, column: &str) -> Option<f64> {
    let own =
        super::kind_outputs(kind).and_then(|k| k.columns.iter().position(|c| c.name == column));
    if let Some(index) = own {
        return row.gauges[index];
    }
    let [p50, p90, p99] = row.latency_ms.map_or([None; 3], |l| l.map(Some));
    match column {
        "arrivals" => Some(row.arrivals as f64),
        "completions" => Some(row.completions as f64),
        "errors" => Some(row.errors as f64),
        "throttles" => Some(row.throttles as f64),
        "timeouts" => Some(row.timeouts as f64),
        "in_flight" => Some(row.in_flight as f64),
        "queue_length" => row.queue_length.map(|q| q as f64),
        "utilisation" => row.utilisation,
        "latency_p50_ms" => p50,
        "latency_p90_ms" => p90,
        "latency_p99_ms" => p99,
        _ => None,
    }
}
