//! What an `sqs` queue adds to a run's outputs: the report's word on dead letters, expired
//! and duplicate messages, and on a backlog nobody receives from.

use serde_json::Value;

use super::Spec;
use crate::components::outputs::{Outputs, figure};
use crate::metrics::Column;
use crate::metrics::finding::{Finding, Growth, Severity, fixed, group, whole};
use crate::metrics::plot::{Color, Figure, Line, Panel, safe_name};
use crate::metrics::series::Series;

/// Its own time-series columns, in [`Outputs::COLUMNS`] order.
pub(super) enum Gauge {
    MessagesInFlight,
    MessagesDelayed,
    OldestMessageAge,
}

impl Outputs for Spec {
    const COLUMNS: &'static [Column] = &[
        Column {
            name: "messages_in_flight",
            description: "messages received and not yet deleted, at the end of the interval",
        },
        Column {
            name: "messages_delayed",
            description: "messages waiting for their delivery delay, at the end of the interval",
        },
        Column {
            name: "oldest_message_age_s",
            description: "age of the oldest visible message at the end of the interval (s)",
        },
    ];

    const BACKLOG_COLUMNS: &'static [(&'static str, &'static str)] =
        &[("queue_length", "visible messages")];

    fn findings(name: &str, report: &Value) -> Vec<Finding> {
        let mut out = Vec::new();
        for (key, severity, text) in [
            (
                "dead_lettered",
                Severity::Warning,
                "messages moved to the dead-letter queue",
            ),
            (
                "expired",
                Severity::Warning,
                "messages expired (retention period) before being processed",
            ),
            (
                "duplicate_deliveries",
                Severity::Note,
                "messages processed twice (the visibility timeout ran out first)",
            ),
        ] {
            if let Some(n) = figure(report, key)
                && n > 0.0
            {
                out.push(Finding::new(
                    severity,
                    name,
                    format!("{} {text}", group(n as u64)),
                ));
            }
        }
        out
    }

    fn growing_backlog(name: &str, report: &Value, growth: &Growth) -> Option<Finding> {
        // Messages pile up in a queue with no consumer: not a capacity problem.
        (figure(report, "received") == Some(0.0)).then(|| {
            Finding::new(
                Severity::Note,
                name,
                format!(
                    "{} visible messages at the end, still arriving (about {}/s): nothing \
                     receives from this queue",
                    whole(growth.to),
                    fixed(growth.slope, 2)
                ),
            )
        })
    }

    fn plots(name: &str, _report: &Value, series: &Series) -> Vec<Figure> {
        queue_figure(series, name).into_iter().collect()
    }
}

/// Its messages visible, in flight and delayed, and the age of the oldest.
fn queue_figure(series: &Series, name: &str) -> Option<Figure> {
    let time = series.time(name);
    let col = |c| series.column(name, c);
    let mut lines = vec![
        Line::new("visible", Color::Blue, time, col("queue_length")),
        Line::new("in flight", Color::Green, time, col("messages_in_flight")),
    ];
    let delayed = Line::new("delayed", Color::Sky, time, col("messages_delayed"));
    if delayed.nonzero() {
        lines.push(delayed);
    }
    // An empty queue has no oldest message (an empty field): its age is drawn as 0.
    let visible = col("queue_length");
    let ages = col("oldest_message_age_s")
        .into_iter()
        .zip(&visible)
        .map(|(age, v)| age.or(v.map(|_| 0.0)))
        .collect();
    let age = Line::new("oldest visible message", Color::Vermilion, time, ages);
    if !lines.iter().any(Line::nonzero) && !age.nonzero() {
        return None;
    }
    let messages = Panel::new(
        format!("{name} (sqs): messages in the queue"),
        "messages",
        lines,
    );
    let waited = age.nonzero();
    let mut age = Panel::new(
        format!("{name} (sqs): age of the oldest message"),
        "age (s)",
        vec![age],
    );
    if !waited {
        age.note = Some("no message was visible at the end of any interval".into());
    }
    Some(Figure {
        stem: format!("queue_{}", safe_name(name)),
        title: format!("Queue {name}"),
        panels: vec![messages, age],
    })
}
