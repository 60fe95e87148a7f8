//! What a stream read by an event source mapping adds to outputs, whichever kind owns it
//! (`kinesis`, a `dynamodb` table's stream): its columns, findings and figure.

use serde_json::Value;

use crate::components::outputs::{counts_list, figure};
use crate::metrics::Column;
use crate::metrics::finding::{Finding, Severity, fixed, group, percent};
use crate::metrics::plot::{Color, Figure, Line, Panel, safe_name};
use crate::metrics::series::Series;

/// The columns of a stream read by an event source mapping, under the names a queue's have
/// (they mean the same: records handed to the function and not yet done, and the age of the
/// oldest record not yet processed).
pub const STREAM_COLUMNS: [Column; 2] = [
    Column {
        name: "messages_in_flight",
        description: "messages received and not yet deleted, at the end of the interval",
    },
    Column {
        name: "oldest_message_age_s",
        description: "age of the oldest visible message at the end of the interval (s)",
    },
];

/// Indexes of [`STREAM_COLUMNS`].
pub enum StreamGauge {
    /// `messages_in_flight`.
    RecordsInFlight,
    /// `oldest_message_age_s`.
    OldestRecordAge,
}

/// What the report says of a stream and its mapping (shared with a table's stream).
pub fn stream_findings(name: &str, report: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    if let (Some(t), Some(share)) = (
        figure(report, "write_throttle_events"),
        figure(report, "hottest_shard_share"),
    ) && t > 0.0
    {
        let shards = figure(report, "shards").unwrap_or(1.0);
        out.push(Finding::new(
            Severity::Warning,
            name,
            format!(
                "{} puts refused for a shard's write limit (ProvisionedThroughputExceeded); the \
                 busiest of {} shards took {} of the records (per shard: {})",
                group(t as u64),
                shards,
                percent(share),
                counts_list(report, "shard_write_throttles").unwrap_or_default()
            ),
        ));
    }
    for (key, severity, text) in [
        (
            "discarded",
            Severity::Warning,
            "records discarded by the event source mapping (retries or record age exhausted)",
        ),
        (
            "expired",
            Severity::Warning,
            "records lost: they passed the stream's retention before the mapping processed them",
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
    if let Some(b) = figure(report, "blocked_s")
        && b > 0.0
    {
        out.push(Finding::new(
            Severity::Warning,
            name,
            format!(
                "shards blocked behind failing batches for {} s in all (per shard: {} s); \
                 nothing behind a failing batch is processed",
                fixed(b, 1),
                report
                    .get("shard_blocked_s")
                    .and_then(Value::as_array)
                    .map(|l| l
                        .iter()
                        .take(16)
                        .map(|v| fixed(v.as_f64().unwrap_or(0.0), 0))
                        .collect::<Vec<_>>()
                        .join("/"))
                    .unwrap_or_default()
            ),
        ));
    }
    out
}

/// Its records waiting (and with `puts`, the puts arriving and throttled), and the age of
/// the oldest unprocessed one.
pub fn stream_figure(series: &Series, name: &str, kind: &str, puts: bool) -> Option<Figure> {
    let time = series.time(name);
    let col = |c| series.column(name, c);
    let mut lines = Vec::new();
    if puts {
        lines.push(Line::new(
            "puts arriving",
            Color::Blue,
            time,
            col("arrivals"),
        ));
        lines.push(Line::new(
            "puts throttled",
            Color::Vermilion,
            time,
            col("throttles"),
        ));
    }
    lines.push(Line::new(
        "records waiting",
        Color::Green,
        time,
        col("queue_length"),
    ));
    let age = Line::new(
        "oldest unprocessed record",
        Color::Vermilion,
        time,
        col("oldest_message_age_s"),
    );
    if !lines.iter().any(Line::nonzero) && !age.nonzero() {
        return None;
    }
    let records = Panel::new(
        format!("{name} ({kind}): records per interval"),
        "records",
        lines,
    );
    let age = Panel::new(
        format!("{name} ({kind}): iterator age"),
        "age (s)",
        vec![age],
    );
    Some(Figure {
        stem: format!("stream_{}", safe_name(name)),
        title: format!("Stream {name}"),
        panels: vec![records, age],
    })
}
