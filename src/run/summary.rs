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
    /// The impact of each `[[fault]]` (see `crate::faults`); absent without faults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faults: Option<Value>,
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
        for (i, (name, report)) in output.reports.iter().enumerate() {
            if report.kind == crate::faults::INJECTOR_KIND {
                faults = report.figures.get("faults").cloned();
            } else if i < n_workloads {
                let w = WorkloadSummary {
                    target: scenario.workloads[i].target.get_ref().clone(),
                    requests: report.requests,
                    latency_ms: report.latency_ms,
                    throughput_per_s: report
                        .figures
                        .get("throughput_per_s")
                        .and_then(Value::as_f64)
                        .unwrap_or(0.0),
                    trace: report.figures.get("trace").cloned(),
                    connections: report.figures.get("connections").cloned(),
                };
                workloads.insert(name.clone(), to_value(&w));
            } else {
                let mut entry = Map::new();
                entry.insert("kind".into(), Value::from(report.kind));
                entry.insert("requests".into(), to_value(&report.requests));
                entry.insert("latency_ms".into(), to_value(&report.latency_ms));
                for (k, v) in &report.figures {
                    entry.insert(k.clone(), v.clone());
                }
                components.insert(name.clone(), Value::Object(entry));
            }
        }
        let duration = settings.duration.unwrap_or_else(|| scenario.duration());
        Summary {
            scenario: scenario.name.clone(),
            seed,
            duration_s: duration.as_secs_f64(),
            warmup_s: scenario.warmup().min(duration).as_secs_f64(),
            interval_s: settings
                .interval
                .unwrap_or_else(|| scenario.interval())
                .as_secs_f64(),
            workloads,
            components,
            faults,
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
