//! What a `kinesis` stream adds to a run's outputs: records in flight and the age of the
//! oldest unprocessed record over time, and the report's word on throttled shards, blocked
//! shards and lost records.

use serde_json::Value;

use super::Spec;
use crate::components::outputs::{Outputs, counts_list, figure};
use crate::components::stream_mapping::outputs::{STREAM_COLUMNS, stream_figure, stream_findings};
use crate::metrics::Column;
use crate::metrics::finding::{Finding, fixed, group};
use crate::metrics::plot::Figure;
use crate::metrics::series::Series;

impl Outputs for Spec {
    const COLUMNS: &'static [Column] = &STREAM_COLUMNS;

    const HEADLINE_FIGURES: &'static [&'static str] = &[
        "records",
        "write_throttle_events",
        "iterator_age_max_ms",
        "blocked_s",
    ];

    const BACKLOG_COLUMNS: &'static [(&'static str, &'static str)] =
        &[("queue_length", "records not yet processed")];

    fn notes(report: &Value) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(r) = counts_list(report, "shard_records") {
            notes.push(format!("records per shard {r}"));
        }
        if let Some(t) = figure(report, "write_throttle_events")
            && t > 0.0
        {
            notes.push(format!("write throttles {}", group(t as u64)));
        }
        if let Some(a) = figure(report, "iterator_age_max_ms") {
            notes.push(format!("iterator age max {} s", fixed(a / 1e3, 1)));
        }
        notes
    }

    fn findings(name: &str, report: &Value) -> Vec<Finding> {
        stream_findings(name, report)
    }

    fn plots(name: &str, _report: &Value, series: &Series) -> Vec<Figure> {
        stream_figure(series, name, "kinesis", true)
            .into_iter()
            .collect()
    }
}
