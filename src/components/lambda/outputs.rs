//! What a `lambda` adds to a run's outputs: the GB-seconds it bills and its spend rate.

use serde_json::Value;

use super::Spec;
use crate::components::outputs::{Outputs, SPEND_COLUMN};
use crate::metrics::Column;
use crate::metrics::plot::{Color, Figure, Line, Panel, safe_name};
use crate::metrics::series::Series;

/// Its own time-series columns, in [`Outputs::COLUMNS`] order.
pub(super) enum Gauge {
    Concurrency,
    Environments,
    Spend,
}

impl Outputs for Spec {
    const COLUMNS: &'static [Column] = &[
        Column {
            name: "concurrency",
            description: "concurrent executions at the end of the interval",
        },
        Column {
            name: "environments",
            description: "execution environments alive at the end of the interval",
        },
        SPEND_COLUMN,
    ];

    const HEADLINE_FIGURES: &'static [&'static str] = &["billed_gb_seconds"];

    fn plots(name: &str, report: &Value, series: &Series) -> Vec<Figure> {
        lambda_figure(series, name, report).into_iter().collect()
    }
}

/// Its concurrent executions against live execution environments.
fn lambda_figure(series: &Series, name: &str, report: &Value) -> Option<Figure> {
    let time = series.time(name);
    let col = |c| series.column(name, c);
    let mut lines = vec![
        Line::new(
            "environments (alive)",
            Color::Green,
            time,
            col("environments"),
        ),
        Line::new("concurrency (busy)", Color::Blue, time, col("concurrency")),
    ];
    let provisioned = report
        .get("provisioned_concurrency")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    if provisioned > 0.0 {
        lines.push(
            Line::new(
                "provisioned concurrency",
                Color::Ink,
                time,
                vec![Some(provisioned); time.len()],
            )
            .dashed(),
        );
    }
    let p = Panel::new(
        format!("{name} (lambda): concurrent executions and execution environments"),
        "executions / environments",
        lines,
    );
    (p.has_data() && p.lines.iter().any(Line::nonzero)).then(|| Figure {
        stem: format!("capacity_{}", safe_name(name)),
        title: format!("Capacity of {name}"),
        panels: vec![p],
    })
}
