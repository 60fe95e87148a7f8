//! What an `echo` adds to a run's outputs: a column, a plot, a note, a finding and a sweep
//! figure, one of each to show the way.

use serde_json::Value;

use super::Spec;
use crate::components::outputs::{Outputs, figure};
use crate::metrics::Column;
use crate::metrics::finding::{Finding, Severity, group};
use crate::metrics::plot::{Color, Figure, Line, Panel, safe_name};
use crate::metrics::series::Series;

/// Its own time-series columns, in [`Outputs::COLUMNS`] order.
pub(super) enum Gauge {
    Waiting,
}

impl Outputs for Spec {
    const COLUMNS: &'static [Column] = &[Column {
        name: "echo_waiting",
        description: "requests waiting for their echo at the end of the interval",
    }];

    const HEADLINE_FIGURES: &'static [&'static str] = &["answered"];

    fn notes(report: &Value) -> Vec<String> {
        figure(report, "answered")
            .map(|n| format!("answered {}", n as u64))
            .into_iter()
            .collect()
    }

    fn findings(name: &str, report: &Value) -> Vec<Finding> {
        figure(report, "answered")
            .map(|n| {
                Finding::new(
                    Severity::Note,
                    name,
                    format!("echoed {} requests", group(n as u64)),
                )
            })
            .into_iter()
            .collect()
    }

    fn plots(name: &str, _report: &Value, series: &Series) -> Vec<Figure> {
        let time = series.time(name);
        let waiting = Line::new(
            "waiting",
            Color::Blue,
            time,
            series.column(name, "echo_waiting"),
        );
        let panel = Panel::new(
            format!("{name} (echo): requests waiting"),
            "requests",
            vec![waiting],
        );
        if !panel.has_data() {
            return Vec::new();
        }
        vec![Figure {
            stem: format!("echo_{}", safe_name(name)),
            title: format!("Echo {name}"),
            panels: vec![panel],
        }]
    }
}
