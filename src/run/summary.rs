//! `summary.json`: the stable, machine-readable result of a run. Field names are part of the
//! interface (tools and tests read them); see DESIGN.md.

use serde::Serialize;
use serde_json::{Map, Value};

use super::RunOutput;
use crate::metrics::conservation::Conservation;
use crate::metrics::{LatencySummary, RequestCounts};
use crate::scenario::{RunSettings, Scenario};

/// One workload's end-to-end figures.
#[derive(Clone, Debug, Serialize)]
pub struct WorkloadSummary {
    /// The component it sends to.
    pub target: String,
    /// Request counts in the measured window.
    pub requests: RequestCounts,
    /// End-to-end latency of successful requests (ms).
    pub latency_ms: LatencySummary,
    /// End-to-end latency of the requests that failed, were throttled or timed out (ms): how
    /// long a user waited for a bad answer (a timeout is felt in full).
    pub latency_failed_ms: Value,
    /// Successful requests per second of measured time.
    pub throughput_per_s: f64,
    /// For trace replay: rows replayed per pass (`rows`), bad rows skipped (`rows_skipped`,
    /// with `on_bad_row = "skip"`) and rows outside the window (`rows_outside_window`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<Value>,
    /// With client `connections`: connections opened (`opened`) and reset (`resets`) in the
    /// whole run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<Value>,
}

/// What the measured window costs: each component's bill, the total, its rates, and the
/// components awsim does not bill (so a total never omits them silently).
#[derive(Clone, Debug, Serialize)]
pub struct Cost {
    /// The region of the prices.
    pub region: String,
    /// The price list billed with: `file` (its path, or `embedded` for `models/prices.toml`)
    /// and `taken` (the dates its prices were taken).
    pub prices: Value,
    /// Measured window (after the warm-up), in hours.
    pub window_h: f64,
    /// Every billed component's amount, in the window.
    pub total_usd: f64,
    /// `total_usd` over the window (`None` for an empty window).
    pub usd_per_hour: Option<f64>,
    /// A 730-hour month at `usd_per_hour`.
    pub usd_per_month: Option<f64>,
    /// Per workload: its requests in the window and the whole bill per million of them.
    pub workloads: Map<String, Value>,
    /// Per billed component, in file order: `kind`, `usd`, `basis` and its `charges` (each a
    /// `usage` in a `unit`, `usd_per_unit`, `usd` and `basis`).
    pub components: Map<String, Value>,
    /// Components awsim does not bill (their kind has no bill yet, or an instance group has
    /// no `instance_type`), in file order.
    pub not_billed: Vec<String>,
}

/// Hours in the month of `usd_per_month` (AWS's pricing pages use 730).
pub const HOURS_PER_MONTH: f64 = 730.0;

/// The whole summary of one run.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// The seed of every random stream.
    pub seed: u64,
    /// Simulated duration (s).
    pub duration_s: f64,
    /// Warm-up excluded from statistics (s).
    pub warmup_s: f64,
    /// Time-series interval (s).
    pub interval_s: f64,
    /// Per workload, in file order.
    pub workloads: Map<String, Value>,
    /// Per component, in file order: `kind`, `requests`, `latency_ms`, then model figures.
    pub components: Map<String, Value>,
    /// The bill of the measured window (see [`Cost`]).
    pub cost: Cost,
    /// The impact of each `[[fault]]` (see `crate::faults`); absent without faults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faults: Option<Value>,
    /// Per component that deploys a new version, its deployment: outcome, duration, steps and
    /// figures per version (see `crate::components::deployment`); absent without any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployments: Option<Map<String, Value>>,
    /// The conservation check.
    pub conservation: Conservation,
    /// Events the engine processed.
    pub events: u64,
}

impl Summary {
    /// Gathers the reports of a finished run.
    pub fn new(
        scenario: &Scenario,
        settings: RunSettings,
        seed: u64,
        output: &RunOutput,
        conservation: Conservation,
    ) -> Summary {
        let mut workloads = Map::new();
        let mut components = Map::new();
        let n_workloads = scenario.workloads.len();
        let mut faults = None;
        let mut deployments = Map::new();
        let mut bills = Map::new();
        let mut not_billed = Vec::new();
        let mut workload_requests = Vec::new();
        for (i, (name, report)) in output.reports.iter().enumerate() {
            if report.kind == crate::faults::INJECTOR_KIND {
                faults = report.figures.get("faults").cloned();
            } else if i < n_workloads {
                let w = WorkloadSummary {
                    target: scenario.workloads[i].target.get_ref().clone(),
                    requests: report.requests,
                    latency_ms: report.latency_ms,
                    latency_failed_ms: report
                        .figures
                        .get("latency_failed_ms")
                        .cloned()
                        .unwrap_or(Value::Null),
                    throughput_per_s: report
                        .figures
                        .get("throughput_per_s")
                        .and_then(Value::as_f64)
                        .unwrap_or(0.0),
                    trace: report.figures.get("trace").cloned(),
                    connections: report.figures.get("connections").cloned(),
                };
                workloads.insert(name.clone(), to_value(&w));
                workload_requests.push((name.clone(), report.requests.created));
            } else {
                let mut entry = Map::new();
                entry.insert("kind".into(), Value::from(report.kind));
                entry.insert("requests".into(), to_value(&report.requests));
                entry.insert("latency_ms".into(), to_value(&report.latency_ms));
                for (k, v) in &report.figures {
                    if k == crate::components::outputs::DEPLOYMENT {
                        deployments.insert(name.clone(), v.clone());
                    } else {
                        entry.insert(k.clone(), v.clone());
                    }
                }
                components.insert(name.clone(), Value::Object(entry));
                match &report.bill {
                    Some(bill) => {
                        let mut entry = Map::new();
                        entry.insert("kind".into(), Value::from(report.kind));
                        entry.insert("usd".into(), Value::from(bill.usd()));
                        entry.insert("basis".into(), Value::from(bill.basis()));
                        entry.insert("charges".into(), to_value(&bill.charges));
                        bills.insert(name.clone(), Value::Object(entry));
                    }
                    None => not_billed.push(name.clone()),
                }
            }
        }
        let duration = settings.duration.unwrap_or_else(|| scenario.duration());
        let warmup = scenario.warmup().min(duration);
        let window_h = (duration.as_secs_f64() - warmup.as_secs_f64()) / 3600.0;
        let total_usd: f64 = bills
            .values()
            .filter_map(|b| b.get("usd").and_then(Value::as_f64))
            .fold(0.0, |sum, usd| sum + usd);
        let usd_per_hour = (window_h > 0.0).then(|| total_usd / window_h);
        let cost = Cost {
            region: scenario.prices.prices.region.clone(),
            prices: serde_json::json!({
                "file": scenario.prices.file,
                "taken": scenario.prices.taken(),
            }),
            window_h,
            total_usd,
            usd_per_hour,
            usd_per_month: usd_per_hour.map(|r| r * HOURS_PER_MONTH),
            workloads: workload_requests
                .into_iter()
                .map(|(name, requests)| {
                    let per_million = (requests > 0).then(|| total_usd / requests as f64 * 1e6);
                    let entry = serde_json::json!({
                        "requests": requests,
                        "usd_per_million_requests": per_million,
                    });
                    (name, entry)
                })
                .collect(),
            components: bills,
            not_billed,
        };
        Summary {
            scenario: scenario.name.clone(),
            seed,
            duration_s: duration.as_secs_f64(),
            warmup_s: warmup.as_secs_f64(),
            interval_s: settings
                .interval
                .unwrap_or_else(|| scenario.interval())
                .as_secs_f64(),
            workloads,
            components,
            cost,
            faults,
            deployments: (!deployments.is_empty()).then_some(deployments),
            conservation,
            events: output.events,
        }
    }

    /// Pretty JSON, newline-terminated.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("summary is plain data");
        s.push('\n');
        s
    }
}

fn to_value(v: &impl Serialize) -> Value {
    serde_json::to_value(v).expect("summary parts are plain data")
}
