//! What an `asg` adds to a run's outputs: how busy its instances were, how its capacity moved,
//! and the instance-hours it bills.

use serde_json::Value;

use super::Spec;
use crate::components::burst_credits;
use crate::components::outputs::{Outputs, SPEND_COLUMN, figure, pool_findings, pool_notes};
use crate::metrics::Column;
use crate::metrics::finding::Finding;
use crate::metrics::plot::{Color, Figure, Line, Panel, safe_name};
use crate::metrics::series::Series;

/// Its own time-series columns, in [`Outputs::COLUMNS`] order.
pub(super) enum Gauge {
    Desired,
    Pending,
    InService,
    Draining,
    Spend,
    /// The first of [`burst_credits::CREDIT_COLUMNS`], its optional columns.
    Credits,
}

impl Outputs for Spec {
    const COLUMNS: &'static [Column] = &[
        Column {
            name: "desired",
            description: "desired capacity at the end of the interval (instances)",
        },
        Column {
            name: "pending",
            description: "instances launching at the end of the interval",
        },
        Column {
            name: "in_service",
            description: "instances in service at the end of the interval",
        },
        Column {
            name: "draining",
            description: "instances draining before termination at the end of the interval",
        },
        SPEND_COLUMN,
    ];

    const OPTIONAL_COLUMNS: &'static [Column] = burst_credits::CREDIT_COLUMNS;

    const HEADLINE_FIGURES: &'static [&'static str] = &["utilisation", "instance_hours"];

    fn notes(report: &Value) -> Vec<String> {
        let mut notes = pool_notes(report);
        if let Some(d) = report.get("desired_max").and_then(Value::as_u64) {
            let n = |k: &str| figure(report, k).unwrap_or(0.0);
            notes.push(format!(
                "desired capacity up to {d} (at the end {}), {} instances launched, {:.2} \
                 instance-hours",
                n("desired_end"),
                n("instances_launched"),
                n("instance_hours")
            ));
        }
        notes
    }

    fn findings(name: &str, report: &Value) -> Vec<Finding> {
        pool_findings(name, report)
    }

    fn plots(name: &str, _report: &Value, series: &Series) -> Vec<Figure> {
        asg_figure(series, name)
            .into_iter()
            .chain(burst_credits::credit_figure(series, name, "asg"))
            .collect()
    }
}

/// Its instances over time: desired against in service, pending and draining.
fn asg_figure(series: &Series, name: &str) -> Option<Figure> {
    let time = series.time(name);
    let col = |c| series.column(name, c);
    let mut lines = vec![
        Line::new("desired", Color::Ink, time, col("desired")).dashed(),
        Line::new("in service", Color::Blue, time, col("in_service")),
        Line::new("pending", Color::Orange, time, col("pending")),
    ];
    let draining = Line::new("draining", Color::Purple, time, col("draining"));
    if draining.nonzero() {
        lines.push(draining);
    }
    let p = Panel::new(format!("{name} (asg): instances"), "instances", lines);
    p.has_data().then(|| Figure {
        stem: format!("capacity_{}", safe_name(name)),
        title: format!("Capacity of {name}"),
        panels: vec![p],
    })
}
