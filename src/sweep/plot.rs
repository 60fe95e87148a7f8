//! Plots of a sweep: figures against a swept parameter, with 95 % confidence bands.
//!
//! One figure per workload, `sweep_<workload>.svg` and `.png` in the sweep folder: its p99
//! latency (and the latency a `--goal` names, with the goal's bound as a dashed line), its error
//! share and, when the scenario reports instance-hours or GB-seconds, the cost proxy. The x axis
//! is the first `--set` whose values are all numbers (else the first `--set`, one tick per
//! value); every combination of the other `--set`s is one line. The cheapest point meeting the
//! goal is ringed. The same sweep gives byte-identical files.

use std::io;
use std::path::PathBuf;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::goal::GoalFigure;
use super::{Grid, SweepOutcome, number};
use crate::output::plots::register_font;
use crate::output::write_atomic;

const FONT: &str = "sans-serif";
const WIDTH: u32 = 1000;
const PANEL_HEIGHT: u32 = 300;
const TITLE_HEIGHT: u32 = 44;
const LEGEND_WIDTH: u32 = 250;

const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
];
const INK: RGBColor = RGBColor(30, 30, 30);
const GREY: RGBColor = RGBColor(110, 110, 110);
const GOAL: RGBColor = RGBColor(200, 30, 30);

/// One line: a combination of the other parameters, its points (x, mean, half-width).
struct Line {
    label: String,
    points: Vec<(f64, f64, f64)>,
    /// Position in `points` of the chosen point, if it is on this line.
    chosen: Option<usize>,
}

/// One panel: a figure against the x parameter.
struct Panel {
    title: String,
    y_desc: String,
    lines: Vec<Line>,
    /// A goal's bound, drawn as a dashed line.
    bound: Option<(f64, String)>,
}

impl Panel {
    fn y_max(&self) -> f64 {
        let top = self
            .lines
            .iter()
            .flat_map(|l| l.points.iter().map(|(_, m, h)| m + h))
            .chain(self.bound.iter().map(|(b, _)| *b))
            .fold(0.0_f64, f64::max);
        if top > 0.0 { top * 1.1 } else { 1.0 }
    }
}

/// The x axis: the parameter, and each point's position on it.
struct Axis {
    /// Index of the assignment on the x axis.
    param: usize,
    /// Title, e.g. `web.instances`.
    desc: String,
    /// Tick labels when the values are not numbers.
    labels: Option<Vec<String>>,
    /// Every value is a whole number.
    integers: bool,
    range: (f64, f64),
}

fn axis(grid: &Grid) -> Axis {
    let numeric = grid
        .assignments
        .iter()
        .position(|a| a.set.values.iter().all(|v| v.number().is_some()));
    let param = numeric.unwrap_or(0);
    let a = &grid.assignments[param];
    let (labels, xs): (Option<Vec<String>>, Vec<f64>) = match numeric {
        Some(_) => (
            None,
            a.set.values.iter().filter_map(|v| v.number()).collect(),
        ),
        None => (
            Some(a.set.values.iter().map(|v| v.text.clone()).collect()),
            (0..a.set.values.len()).map(|i| i as f64).collect(),
        ),
    };
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = if hi > lo { (hi - lo) * 0.05 } else { 0.5 };
    Axis {
        param,
        desc: a.set.key.clone(),
        integers: a.set.values.iter().all(|v| v.value.is_integer()),
        labels,
        range: (lo - pad, hi + pad),
    }
}

/// The x of a point on the axis.
fn x_of(grid: &Grid, axis: &Axis, point: usize) -> f64 {
    let c = grid.points[point].choice[axis.param];
    match &axis.labels {
        Some(_) => c as f64,
        None => grid.assignments[axis.param].set.values[c]
            .number()
            .unwrap_or(c as f64),
    }
}

/// The lines of `figure` (a column of `sweep.csv`; `None`: the cost proxy), scaled by `scale`.
fn lines(
    outcome: &SweepOutcome,
    grid: &Grid,
    axis: &Axis,
    figure: Option<&str>,
    scale: f64,
) -> Vec<Line> {
    let mut out: Vec<(Vec<usize>, Line)> = Vec::new();
    for (i, p) in grid.points.iter().enumerate() {
        let (mean, half) = match figure {
            Some(f) => match outcome.estimate(i, f) {
                Some(e) => match e.mean {
                    Some(m) => (m, e.ci95.unwrap_or(0.0)),
                    None => continue,
                },
                None => continue,
            },
            None => match outcome.points[i].cost {
                Some(c) => (c, 0.0),
                None => continue,
            },
        };
        let mut others = p.choice.clone();
        others.remove(axis.param);
        let pos = match out.iter().position(|(k, _)| *k == others) {
            Some(pos) => pos,
            None => {
                let label = grid
                    .assignments
                    .iter()
                    .zip(&p.choice)
                    .enumerate()
                    .filter(|(j, _)| *j != axis.param)
                    .map(|(_, (a, &c))| format!("{}={}", a.set.key, a.set.values[c].text))
                    .collect::<Vec<_>>()
                    .join(", ");
                out.push((
                    others,
                    Line {
                        label,
                        points: Vec::new(),
                        chosen: None,
                    },
                ));
                out.len() - 1
            }
        };
        let line = &mut out[pos].1;
        if outcome.choice.as_ref().is_some_and(|c| c.point == i) {
            line.chosen = Some(line.points.len());
        }
        line.points
            .push((x_of(grid, axis, i), mean * scale, half * scale));
    }
    out.into_iter().map(|(_, l)| l).collect()
}

/// Writes the plots; returns the files written.
pub fn write_plots(outcome: &SweepOutcome, grid: &Grid) -> io::Result<Vec<PathBuf>> {
    if outcome.points.is_empty() {
        return Ok(Vec::new());
    }
    register_font()?;
    let axis = axis(grid);
    let mut written = Vec::new();
    let band = if outcome.replications >= 2 {
        " (mean, 95 % confidence band)"
    } else {
        ""
    };
    for w in &outcome.workloads {
        let mut panels = Vec::new();
        let mut stats = vec!["p99".to_string()];
        for g in &outcome.goals {
            if let GoalFigure::Latency(stat) = g.figure
                && g.workload.as_ref().is_none_or(|n| n == w)
                && !stats.iter().any(|s| s == stat)
            {
                stats.push(stat.to_string());
            }
        }
        for stat in stats {
            let key = format!("{w}.latency_{stat}_ms");
            let bound = outcome
                .goals
                .iter()
                .find(|g| {
                    g.figure.column() == format!("latency_{stat}_ms")
                        && g.workload.as_ref().is_none_or(|n| n == w)
                })
                .map(|g| (g.bound, format!("goal {}", g.text)));
            panels.push(Panel {
                title: format!("{w}: {stat} latency{band}"),
                y_desc: format!("{stat} latency (ms)"),
                lines: lines(outcome, grid, &axis, Some(&key), 1.0),
                bound,
            });
        }
        let bound = outcome
            .goals
            .iter()
            .find(|g| g.figure == GoalFigure::Errors && g.workload.as_ref().is_none_or(|n| n == w))
            .map(|g| (g.bound * 100.0, format!("goal {}", g.text)));
        panels.push(Panel {
            title: format!("{w}: failed, throttled or timed out{band}"),
            y_desc: "share of requests (%)".into(),
            lines: lines(
                outcome,
                grid,
                &axis,
                Some(&format!("{w}.error_share")),
                100.0,
            ),
            bound,
        });
        if outcome.points.iter().all(|p| p.cost.is_some()) {
            panels.push(Panel {
                title: "cost proxy: instance-hours + GB-seconds / 3600 (mean)".into(),
                y_desc: "instance-hour equivalents".into(),
                lines: lines(outcome, grid, &axis, None, 1.0),
                bound: None,
            });
        }
        panels.retain(|p| p.lines.iter().any(|l| !l.points.is_empty()));
        if panels.is_empty() {
            continue;
        }
        let title = format!("{}: {w} against {}", outcome.scenario, axis.desc);
        let stem = format!("sweep_{}", super::grid::escape(w));
        let svg_path = outcome.out_dir.join(format!("{stem}.svg"));
        write_atomic(&svg_path, render_svg(&title, &panels, &axis)?.as_bytes())?;
        let png_path = outcome.out_dir.join(format!("{stem}.png"));
        write_atomic(&png_path, &render_png(&title, &panels, &axis)?)?;
        written.push(svg_path);
        written.push(png_path);
    }
    Ok(written)
}

fn size(panels: &[Panel]) -> (u32, u32) {
    (WIDTH, TITLE_HEIGHT + PANEL_HEIGHT * panels.len() as u32)
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    panels: &[Panel],
    axis: &Axis,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (top, body) = root.split_vertically(TITLE_HEIGHT);
    top.draw(&Text::new(
        title.to_string(),
        (16, TITLE_HEIGHT as i32 / 2),
        (FONT, 22)
            .into_font()
            .color(&INK)
            .pos(Pos::new(HPos::Left, VPos::Center)),
    ))?;
    let areas = body.split_evenly((panels.len(), 1));
    for (area, panel) in areas.iter().zip(panels) {
        draw_panel(area, panel, axis)?;
    }
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    axis: &Axis,
) -> DrawResult<DB> {
    let (plot, legend) = area.split_horizontally(WIDTH - LEGEND_WIDTH);
    let y_max = panel.y_max();
    let mut chart = ChartBuilder::on(&plot)
        .caption(&panel.title, (FONT, 16).into_font().color(&INK))
        .margin_left(8)
        .margin_right(18)
        .margin_top(6)
        .margin_bottom(6)
        .x_label_area_size(46)
        .y_label_area_size(76)
        .build_cartesian_2d(axis.range.0..axis.range.1, 0.0..y_max)?;
    let labels = axis.labels.clone();
    let x_format = move |v: &f64| match &labels {
        Some(l) => {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 {
                l.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        }
        // Whole-number parameters (instances, vCPUs) get whole-number ticks only.
        None if axis.integers && (v - v.round()).abs() > 1e-9 => String::new(),
        None => number(*v),
    };
    let x_count = axis.labels.as_ref().map_or(10, |l| l.len() * 4 + 1);
    chart
        .configure_mesh()
        .x_desc(axis.desc.clone())
        .y_desc(panel.y_desc.clone())
        .label_style((FONT, 13).into_font().color(&INK))
        .axis_desc_style((FONT, 14).into_font().color(&INK))
        .x_label_formatter(&x_format)
        .y_label_formatter(&|v| number(*v))
        .x_labels(x_count)
        .y_labels(6)
        .bold_line_style(RGBColor(214, 214, 214))
        .light_line_style(RGBColor(240, 240, 240))
        .axis_style(GREY)
        .draw()?;
    for (i, line) in panel.lines.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        if line.points.iter().any(|(_, _, h)| *h > 0.0) {
            let mut band: Vec<(f64, f64)> =
                line.points.iter().map(|(x, m, h)| (*x, m + h)).collect();
            band.extend(
                line.points
                    .iter()
                    .rev()
                    .map(|(x, m, h)| (*x, (m - h).max(0.0))),
            );
            chart.draw_series(std::iter::once(Polygon::new(
                band,
                color.mix(0.18).filled(),
            )))?;
        }
        chart.draw_series(LineSeries::new(
            line.points.iter().map(|(x, m, _)| (*x, *m)),
            color.stroke_width(2),
        ))?;
        chart.draw_series(
            line.points
                .iter()
                .map(|(x, m, _)| Circle::new((*x, *m), 3, color.filled())),
        )?;
        if let Some(c) = line.chosen {
            let (x, m, _) = line.points[c];
            chart.draw_series(std::iter::once(Circle::new(
                (x, m),
                9,
                GOAL.stroke_width(2),
            )))?;
        }
    }
    if let Some((b, _)) = &panel.bound {
        let (lo, hi) = axis.range;
        let steps = 60;
        let dashes = (0..steps).step_by(2).map(|k| {
            let x0 = lo + (hi - lo) * k as f64 / steps as f64;
            let x1 = lo + (hi - lo) * (k + 1) as f64 / steps as f64;
            PathElement::new(vec![(x0, *b), (x1, *b)], GOAL.stroke_width(2))
        });
        chart.draw_series(dashes)?;
    }
    draw_legend(&legend, panel)
}

fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, panel: &Panel) -> DrawResult<DB> {
    let text = (FONT, 14)
        .into_font()
        .color(&INK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let (x0, x1, x_text) = (6, 36, 44);
    let mut y = 44;
    for (i, line) in panel.lines.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        area.draw(&PathElement::new(
            vec![(x0, y), (x1, y)],
            color.stroke_width(3),
        ))?;
        let label = if line.label.is_empty() {
            "mean".to_string()
        } else {
            line.label.clone()
        };
        area.draw(&Text::new(label, (x_text, y), text.clone()))?;
        y += 22;
    }
    if let Some((_, label)) = &panel.bound {
        area.draw(&PathElement::new(
            vec![(x0, y), (x0 + 12, y)],
            GOAL.stroke_width(2),
        ))?;
        area.draw(&PathElement::new(
            vec![(x0 + 18, y), (x1, y)],
            GOAL.stroke_width(2),
        ))?;
        area.draw(&Text::new(label.clone(), (x_text, y), text.clone()))?;
        y += 22;
    }
    if panel.lines.iter().any(|l| l.chosen.is_some()) {
        area.draw(&Circle::new((x0 + 15, y), 8, GOAL.stroke_width(2)))?;
        area.draw(&Text::new("cheapest meeting goal", (x_text, y), text))?;
    }
    Ok(())
}

fn plot_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("cannot draw a plot: {e}"))
}

fn render_svg(title: &str, panels: &[Panel], axis: &Axis) -> io::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size(panels)).into_drawing_area();
        draw(&root, title, panels, axis).map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

fn render_png(title: &str, panels: &[Panel], axis: &Axis) -> io::Result<Vec<u8>> {
    // The run plots' PNG path: the same font and text layout.
    crate::output::plots::png_bytes(size(panels), |root| {
        draw(root, title, panels, axis).map_err(|e| e.to_string())
    })
}
