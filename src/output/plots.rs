//! The plots of a run, drawn from `timeseries.csv` by [`super::render`], as SVG and PNG.
//!
//! - `latency`: end-to-end latency p50/p90/p99 per interval, one panel per workload;
//! - `throughput`: completions, errors, throttles and timeouts per second, one panel per
//!   workload and one per component that had errors, throttles or timeouts;
//! - `cost`: the spend rate of every component that reports one (the time-series column
//!   `spend_usd_per_hour`), stacked, so the top line is the bill's rate;
//! - then each component's own figures, as its kind draws them
//!   ([`crate::components::outputs::Outputs::plots`]): e.g. `capacity_<component>` (instances,
//!   executions, capacity units against time) or `queue_<component>` (messages and their age).
//!
//! The series is reduced as it is written ([`Series`]): a long run's lines are drawn through the
//! extremes of at most 4 096 buckets each, so every figure has a bounded size however long the
//! run; a run of up to 8 192 intervals is drawn interval by interval.
//!
//! A figure draws at most 24 panels (`MAX_PANELS`), the first ones in scenario order; its title
//! says how many it leaves out (they are all in `timeseries.csv`). Likewise the figures of at
//! most 24 components are drawn (`MAX_COMPONENTS_DRAWN`), the first in scenario order that have
//! any; [`Plots::not_drawn`] names the others, and the report lists them.
//!
//! Only plots with data are written (a queue that never held a message has none). Every panel
//! is drawn against time (seconds, minutes or hours, as the run's length suits), shades the
//! warm-up and labels its axes with units. The figures are built here as plain
//! [`crate::metrics::plot`] data; drawing them is the renderer's job.

use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::render::{self, Frame, Shade, Ticks, XAxis, duration_text, tick};
use crate::components::kind_outputs;
use crate::components::outputs::SPEND_COLUMN;
use crate::metrics::plot::{Color, Figure, Line, Mark, Panel};
use crate::metrics::series::Series;
use crate::run::summary::Summary;

/// Most panels a figure draws. A figure is one image whose height grows with its panels: with
/// one per workload, 2 000 workloads made 38 MB images that took 2 GB and a minute to draw.
const MAX_PANELS: usize = 24;

/// Most components whose own figures are drawn. Each is an SVG and a PNG: a pool of 1 000
/// Lambda functions spent three quarters of its run drawing 2 000 images.
pub const MAX_COMPONENTS_DRAWN: usize = 24;

/// The plots of a run: the files written, and the components whose figures were not drawn.
/// Dereferences to the files.
#[derive(Debug, Default)]
pub struct Plots {
    /// Every SVG, then every PNG, in the same order.
    pub files: Vec<PathBuf>,
    /// Components with figures of their own that were not drawn (past
    /// [`MAX_COMPONENTS_DRAWN`]), in scenario order.
    pub not_drawn: Vec<String>,
}

impl std::ops::Deref for Plots {
    type Target = [PathBuf];
    fn deref(&self) -> &[PathBuf] {
        &self.files
    }
}

/// A figure of `panels` (at most [`MAX_PANELS`] of them drawn, the title saying so when there
/// are more); `None` without panels.
fn figure(stem: &str, title: &str, mut panels: Vec<Panel>) -> Option<Figure> {
    let title = if panels.len() > MAX_PANELS {
        let all = panels.len();
        panels.truncate(MAX_PANELS);
        format!("{title} (the first {MAX_PANELS} of {all} panels; all are in timeseries.csv)")
    } else {
        title.to_string()
    };
    (!panels.is_empty()).then(|| Figure {
        stem: stem.into(),
        title,
        panels,
    })
}

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

/// Writes the run's plots as SVG and PNG into `dir`, from the run's series as written to
/// `timeseries.csv` and reduced while it was ([`crate::output::timeseries::CsvSeries::finish`];
/// [`Series::read`] of the file gives the same) and the summary; returns the files written: every SVG, then every PNG, in the same
/// order (latency, throughput, then capacity and queues in the scenario's component order).
pub fn write_run_plots(dir: &Path, summary: &Summary, series: &Series) -> io::Result<Plots> {
    let (frame, figures, not_drawn) = run_figures(summary, series);
    let mut svgs = Vec::new();
    let mut pngs = Vec::new();
    for figure in figures {
        let [svg, png] = render::write_figure(dir, &figure, &frame)?;
        svgs.push(svg);
        pngs.push(png);
    }
    svgs.extend(pngs);
    Ok(Plots {
        files: svgs,
        not_drawn,
    })
}

/// Plots as `(file stem, SVG text)`, in file order.
pub type NamedSvgs = Vec<(String, String)>;

/// The run's plots as [`write_run_plots`] draws them, written nowhere (the browser shows them
/// inline); and the components not drawn.
pub fn run_svgs(summary: &Summary, series: &Series) -> io::Result<(NamedSvgs, Vec<String>)> {
    let (frame, figures, not_drawn) = run_figures(summary, series);
    let svgs = figures
        .iter()
        .map(|figure| Ok((figure.stem.clone(), render::render_svg(figure, &frame)?)))
        .collect::<io::Result<_>>()?;
    Ok((svgs, not_drawn))
}

/// The frame and every figure of a run's plots, and the components whose figures are left out.
fn run_figures(summary: &Summary, series: &Series) -> (Frame, Vec<Figure>, Vec<String>) {
    let frame = Frame::run(time_axis(summary, series.latest()));
    let (mut figures, not_drawn) = figures(series, summary);
    if series.reduced() {
        // Each bucket's extremes, a fraction of a pixel apart: the line turns back on itself at
        // every bucket. Plotters outlines a stroke wider than a pixel as one polygon, whose
        // joins break into spikes and holes at such turns; a 1-pixel stroke is drawn segment
        // by segment, and the envelope is solid anyway.
        let lines = figures.iter_mut().flat_map(|f| &mut f.panels);
        for line in lines.flat_map(|p| &mut p.lines).filter(|l| !l.dashed) {
            line.width = 1;
        }
    }
    (frame, figures, not_drawn)
}

/// Every figure that has data, in file order, and the components whose figures are left out.
fn figures(series: &Series, summary: &Summary) -> (Vec<Figure>, Vec<String>) {
    let mut figures = Vec::new();
    figures.extend(latency_figure(series, summary));
    figures.extend(throughput_figure(series, summary));
    figures.extend(cost_figure(series, summary));
    let (mut drawn, mut not_drawn) = (0, Vec::new());
    for (name, component) in &summary.components {
        let kind = component.get("kind").and_then(Value::as_str).unwrap_or("");
        let Some(outputs) = kind_outputs(kind) else {
            continue;
        };
        let own = (outputs.plots)(name, component, series);
        if own.is_empty() {
            continue;
        }
        if drawn < MAX_COMPONENTS_DRAWN {
            figures.extend(own);
            drawn += 1;
        } else {
            not_drawn.push(name.clone());
        }
    }
    (figures, not_drawn)
}

/// The steps of every deployment, to mark on the latency and throughput panels.
fn deployment_marks(summary: &Summary) -> Vec<Mark> {
    let mut marks = Vec::new();
    for d in summary.deployments.iter().flat_map(|d| d.values()) {
        for (time, _) in super::deployments::steps(d) {
            marks.push(Mark {
                x: time,
                label: "deployment steps".into(),
            });
        }
    }
    marks
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
            p.marks = deployment_marks(summary);
            p
        })
        .filter(Panel::has_data)
        .collect();
    figure("latency", "End-to-end latency per workload", panels)
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
    let marks = deployment_marks(summary);
    for p in &mut panels {
        p.marks = marks.clone();
    }
    figure("throughput", "Throughput, errors and throttles", panels)
}

/// Most components a cost figure stacks one by one; the others are one layer.
const MAX_LAYERS: usize = 11;

/// The spend rate of every component that has one, stacked in scenario order: the top line is
/// the whole bill's rate, the area under it over the measured window the bill.
fn cost_figure(series: &Series, summary: &Summary) -> Option<Figure> {
    let mut time: Option<&[f64]> = None;
    let mut layers = Vec::new();
    let mut others: Option<(usize, Vec<Option<f64>>)> = None;
    for name in summary.components.keys() {
        let values = series.column(name, SPEND_COLUMN.name);
        if !values.iter().any(Option::is_some) {
            continue;
        }
        // Every component is sampled at the same instants; a track that is not is left out
        // rather than stacked out of step.
        let t = series.time(name);
        if *time.get_or_insert(t) != t {
            continue;
        }
        if layers.len() < MAX_LAYERS {
            layers.push((name.clone(), Color::nth(layers.len()), values));
        } else {
            let (n, sum) = others.get_or_insert_with(|| (0, vec![Some(0.0); t.len()]));
            *n += 1;
            for (s, v) in sum.iter_mut().zip(values) {
                *s = Some(s.unwrap_or(0.0) + v.unwrap_or(0.0));
            }
        }
    }
    if let Some((n, sum)) = others {
        layers.push((format!("{n} others"), Color::Ink, sum));
    }
    let time = time?;
    let mut p = Panel::stacked(
        "Spend rate per component, stacked (the top line is the total)".into(),
        "USD per hour",
        time,
        layers,
    );
    p.note = Some(
        "the area under the top line over the measured window is the bill; the warm-up is \
         not billed; components that report no spend rate are not drawn (summary.json's \
         cost has every bill)"
            .into(),
    );
    (p.lines.iter().any(Line::nonzero)).then(|| Figure {
        stem: "cost".into(),
        title: format!(
            "Cost: {} over the window",
            crate::metrics::cost::amount(summary.cost.total_usd)
        ),
        panels: vec![p],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panels(n: usize) -> Vec<Panel> {
        (0..n)
            .map(|i| Panel::new(format!("panel {i}"), "y", Vec::new()))
            .collect()
    }

    #[test]
    fn a_figure_draws_at_most_its_share_of_panels_and_says_so() {
        let all = figure("f", "Title", panels(MAX_PANELS)).unwrap();
        assert_eq!(
            (all.panels.len(), all.title.as_str()),
            (MAX_PANELS, "Title")
        );
        let cut = figure("f", "Title", panels(2_000)).unwrap();
        assert_eq!(cut.panels.len(), MAX_PANELS);
        assert_eq!(
            cut.panels[MAX_PANELS - 1].title,
            format!("panel {}", MAX_PANELS - 1)
        );
        assert_eq!(
            cut.title,
            "Title (the first 24 of 2000 panels; all are in timeseries.csv)"
        );
        assert!(figure("f", "Title", Vec::new()).is_none());
    }
}
