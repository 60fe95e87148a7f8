//! The plots of a run, drawn from `timeseries.csv` by [`super::render`], as SVG and PNG.
//!
//! - `latency`: end-to-end latency p50/p90/p99 per interval, one panel per workload;
//! - `throughput`: completions, errors, throttles and timeouts per second, one panel per
//!   workload and one per component that had errors, throttles or timeouts;
//! - `capacity_<component>`: an `asg`'s desired capacity and instances in service, pending and
//!   draining; a `lambda`'s concurrency and live environments; a `dynamodb` table's consumed
//!   against provisioned read and write capacity units;
//! - `queue_<component>`: an `sqs` queue's visible, in-flight and delayed messages and the age
//!   of its oldest message.
//!
//! Only plots with data are written (a queue that never held a message has none). Every panel
//! is drawn against time (seconds, minutes or hours, as the run's length suits), shades the
//! warm-up and labels its axes with units. The figures are built here as plain
//! [`crate::metrics::plot`] data; drawing them is the renderer's job.

use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::render::{self, Frame, Shade, Ticks, XAxis, duration_text, tick};
use super::summary::Summary;
use crate::metrics::plot::{Color, Figure, Line, Panel};
use crate::metrics::series::Series;

/// The time axis: seconds, minutes or hours, as the run's length suits (`latest`: the end of
/// the last interval written, s), with the warm-up shaded.
fn time_axis(summary: &Summary, latest: f64) -> XAxis {
    let duration = summary.duration_s.max(latest);
    let (scale, unit) = if duration <= 900.0 {
        (1.0, "s")
    } else if duration <= 6.0 * 3600.0 {
        (60.0, "min")
    } else {
        (3600.0, "h")
    };
    let end = if duration > 0.0 {
        duration / scale
    } else {
        1.0
    };
    let warmup = summary.warmup_s.min(duration) / scale;
    XAxis {
        desc: format!("time ({unit})"),
        range: (0.0, end),
        scale,
        ticks: Ticks::Numbers(tick),
        count: 12,
        shade: (warmup > 0.0).then(|| Shade {
            until: warmup,
            label: format!("warm-up: first {}", duration_text(warmup * scale)),
        }),
    }
}

/// A component name made safe for a file name.
fn safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes the run's plots as SVG and PNG into `dir`, reading `dir/timeseries.csv` (already
/// written) and the summary; returns the files written: every SVG, then every PNG, in the same
/// order (latency, throughput, then capacity and queues in the scenario's component order).
pub fn write_run_plots(dir: &Path, summary: &Summary) -> io::Result<Vec<PathBuf>> {
    let series = Series::read(&dir.join("timeseries.csv"))?;
    let frame = Frame::run(time_axis(summary, series.latest()));
    let mut svgs = Vec::new();
    let mut pngs = Vec::new();
    for figure in figures(&series, summary) {
        let [svg, png] = render::write_figure(dir, &figure, &frame)?;
        svgs.push(svg);
        pngs.push(png);
    }
    svgs.extend(pngs);
    Ok(svgs)
}

/// Every figure that has data, in file order.
fn figures(series: &Series, summary: &Summary) -> Vec<Figure> {
    let mut figures = Vec::new();
    figures.extend(latency_figure(series, summary));
    figures.extend(throughput_figure(series, summary));
    for (name, component) in &summary.components {
        let kind = component.get("kind").and_then(Value::as_str).unwrap_or("");
        let figure = match kind {
            "asg" => asg_figure(series, name),
            "lambda" => lambda_figure(series, name, component),
            "dynamodb" => dynamodb_figure(series, name),
            "sqs" => queue_figure(series, name),
            _ => None,
        };
        figures.extend(figure);
    }
    figures
}

fn latency_figure(series: &Series, summary: &Summary) -> Option<Figure> {
    let panels: Vec<Panel> = summary
        .workloads
        .keys()
        .map(|name| {
            let time = series.time(name);
            let line = |label, color, col| Line::new(label, color, time, series.column(name, col));
            let mut p = Panel::new(
                format!("{name}: end-to-end latency of successful requests"),
                "latency (ms)",
                vec![
                    line("p99", Color::Vermilion, "latency_p99_ms"),
                    line("p90", Color::Green, "latency_p90_ms"),
                    line("p50", Color::Blue, "latency_p50_ms"),
                ],
            );
            p.note = Some("percentiles of the requests completed in each interval".into());
            p
        })
        .filter(Panel::has_data)
        .collect();
    (!panels.is_empty()).then(|| Figure {
        stem: "latency".into(),
        title: "End-to-end latency per workload".into(),
        panels,
    })
}

/// Completions, errors, throttles and timeouts per second of `name`; the failure lines only
/// when they happened.
fn throughput_panel(series: &Series, name: &str, title: String) -> Panel {
    let time = series.time(name);
    let mut lines = vec![Line::new(
        "completions",
        Color::Blue,
        time,
        series.rate(name, "completions"),
    )];
    let mut absent = Vec::new();
    for (label, color, column) in [
        ("errors", Color::Vermilion, "errors"),
        ("throttles", Color::Orange, "throttles"),
        ("timeouts", Color::Purple, "timeouts"),
    ] {
        let line = Line::new(label, color, time, series.rate(name, column));
        if line.nonzero() {
            lines.push(line);
        } else {
            absent.push(label);
        }
    }
    let mut p = Panel::new(title, "requests per second", lines);
    if !absent.is_empty() {
        p.note = Some(format!("no {}", join_words(&absent)));
    }
    p
}

/// `a`, `a or b`, `a, b or c`.
fn join_words(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn throughput_figure(series: &Series, summary: &Summary) -> Option<Figure> {
    let mut panels: Vec<Panel> = summary
        .workloads
        .keys()
        .map(|name| {
            throughput_panel(
                series,
                name,
                format!("{name}: end-to-end throughput, errors and throttles"),
            )
        })
        .filter(Panel::has_data)
        .collect();
    // Components whose requests failed, were throttled or timed out: where the trouble is.
    for (name, component) in &summary.components {
        let kind = component.get("kind").and_then(Value::as_str).unwrap_or("");
        let p = throughput_panel(series, name, format!("{name} ({kind}): requests"));
        if p.lines.len() > 1 {
            panels.push(p);
        }
    }
    (!panels.is_empty()).then(|| Figure {
        stem: "throughput".into(),
        title: "Throughput, errors and throttles".into(),
        panels,
    })
}

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
        stem: format!("capacity_{}", safe(name)),
        title: format!("Capacity of {name}"),
        panels: vec![p],
    })
}

fn lambda_figure(series: &Series, name: &str, component: &Value) -> Option<Figure> {
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
    let provisioned = component
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
        stem: format!("capacity_{}", safe(name)),
        title: format!("Capacity of {name}"),
        panels: vec![p],
    })
}

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
        stem: format!("capacity_{}", safe(name)),
        title: format!("Capacity of {name}"),
        panels,
    })
}

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
        stem: format!("queue_{}", safe(name)),
        title: format!("Queue {name}"),
        panels: vec![messages, age],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_in_files() {
        assert_eq!(safe("orders-dlq"), "orders-dlq");
        assert_eq!(safe("a/b c"), "a_b_c");
    }
}
