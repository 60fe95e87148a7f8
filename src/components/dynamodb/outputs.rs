//! What a `dynamodb` table adds to a run's outputs: its consumed capacity, and the report's
//! word on saturation and throttling.

use serde_json::Value;

use super::Spec;
use crate::components::outputs::{Outputs, SPEND_COLUMN, figure};
use crate::components::stream_mapping::outputs::{STREAM_COLUMNS, stream_figure, stream_findings};
use crate::metrics::Column;
use crate::metrics::finding::{Finding, SATURATED_UTILISATION, Severity, fixed, group, percent};
use crate::metrics::plot::{Color, Figure, Line, Panel, safe_name};
use crate::metrics::series::Series;

/// Its own time-series columns, in [`Outputs::COLUMNS`] order.
pub(super) enum Gauge {
    ConsumedRcu,
    ConsumedWcu,
    ProvisionedRcu,
    ProvisionedWcu,
    Spend,
    StreamRecordsInFlight,
    StreamOldestRecordAge,
}

impl Outputs for Spec {
    const COLUMNS: &'static [Column] = &[
        Column {
            name: "consumed_rcu",
            description: "read capacity consumed per second over the interval (RCU)",
        },
        Column {
            name: "consumed_wcu",
            description: "write capacity consumed per second over the interval (WCU)",
        },
        Column {
            name: "provisioned_rcu",
            description: "read capacity available at the end of the interval (RCU)",
        },
        Column {
            name: "provisioned_wcu",
            description: "write capacity available at the end of the interval (WCU)",
        },
        SPEND_COLUMN,
        // DynamoDB Streams read by an event source mapping (named as a queue's: they mean the
        // same, so `timeseries.csv` keeps one column for both).
        STREAM_COLUMNS[0],
        STREAM_COLUMNS[1],
    ];

    const HEADLINE_FIGURES: &'static [&'static str] = &["consumed_rcu_mean", "consumed_wcu_mean"];

    fn findings(name: &str, report: &Value) -> Vec<Finding> {
        let mut out = Vec::new();
        for (what, consumed, provisioned) in [
            ("read", "consumed_rcu_mean", "provisioned_rcu"),
            ("write", "consumed_wcu_mean", "provisioned_wcu"),
        ] {
            if let (Some(c), Some(p)) = (figure(report, consumed), figure(report, provisioned))
                && p > 0.0
                && c / p > SATURATED_UTILISATION
            {
                out.push(Finding::new(
                    Severity::Warning,
                    name,
                    format!(
                        "saturated: consumed {} of the provisioned {what} capacity on average",
                        percent(c / p)
                    ),
                ));
            }
        }
        let attempts =
            figure(report, "reads").unwrap_or(0.0) + figure(report, "writes").unwrap_or(0.0);
        if let Some(t) = figure(report, "throttle_events")
            && t > 0.0
        {
            out.push(Finding::new(
                Severity::Note,
                name,
                format!(
                    "{} attempts were throttled (then retried, or failed after the last \
                     retry): {} per read or write",
                    group(t as u64),
                    fixed(t / attempts.max(1.0), 2)
                ),
            ));
        }
        out.extend(stream_findings(name, report));
        out
    }

    fn plots(name: &str, report: &Value, series: &Series) -> Vec<Figure> {
        let mut figures: Vec<Figure> = dynamodb_figure(series, name).into_iter().collect();
        if report.get("invocations").is_some() {
            figures.extend(stream_figure(series, name, "dynamodb stream", false));
        }
        figures
    }
}

/// Its consumed against provisioned capacity units.
fn dynamodb_figure(series: &Series, name: &str) -> Option<Figure> {
    let time = series.time(name);
    let col = |c| series.column(name, c);
    let mut panels = Vec::new();
    for (what, unit, consumed, provisioned) in [
        ("reads", "RCU", "consumed_rcu", "provisioned_rcu"),
        ("writes", "WCU", "consumed_wcu", "provisioned_wcu"),
    ] {
        let mut lines = Vec::new();
        let prov = Line::new(
            format!("provisioned {unit}"),
            Color::Ink,
            time,
            col(provisioned),
        )
        .dashed();
        let used = Line::new(format!("consumed {unit}"), Color::Blue, time, col(consumed));
        if !used.nonzero() {
            continue;
        }
        let mut note = None;
        if prov.has_data() {
            lines.push(prov);
        } else {
            note = Some("on-demand: nothing provisioned".to_string());
        }
        lines.push(used);
        let mut p = Panel::new(
            format!("{name} (dynamodb): {what}, consumed against provisioned"),
            format!("{unit} per second"),
            lines,
        );
        p.note = note;
        panels.push(p);
    }
    (!panels.is_empty()).then(|| Figure {
        stem: format!("capacity_{}", safe_name(name)),
        title: format!("Capacity of {name}"),
        panels,
    })
}
