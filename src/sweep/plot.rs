//! Plots of a sweep: figures against a swept parameter, with 95 % confidence bands.
//!
//! One figure per workload, `sweep_<workload>.svg` and `.png` in the sweep folder: its p99
//! latency (and the latency a `--goal` names, with the goal's bound as a dashed line), its error
//! share and, when the scenario bills some component, the bill (USD per hour). The x axis
//! is the first `--set` whose values are all numbers (else the first `--set`, one tick per
//! value); every combination of the other `--set`s is one line, with a dot at each point. The
//! cheapest point meeting the goal is ringed. The figures are built here as plain
//! [`crate::metrics::plot`] data and drawn by the run plots' renderer, [`crate::output::render`].
//! The same sweep gives byte-identical files.

use std::io;
use std::path::PathBuf;

use super::goal::GoalFigure;
use super::{Estimate, Grid, SweepOutcome, USD_PER_HOUR, number};
use crate::metrics::plot::{Bound, Color, Figure, Line, Panel, Ring};
use crate::output::render::{Frame, Ticks, XAxis, write_figure};

/// The x axis: the parameter it shows, and how it is drawn.
struct Axis {
    /// Index of the assignment on the x axis.
    param: usize,
    /// The values are not numbers: each is placed at its index and named.
    by_name: bool,
    x: XAxis,
}

fn axis(grid: &Grid) -> Axis {
    let numeric = grid
        .assignments
        .iter()
        .position(|a| a.set.values.iter().all(|v| v.number().is_some()));
    let param = numeric.unwrap_or(0);
    let a = &grid.assignments[param];
    let (ticks, xs): (Ticks, Vec<f64>) = match numeric {
        Some(_) => {
            // Whole-number parameters (instances, vCPUs) get whole-number ticks only.
            let ticks = if a.set.values.iter().all(|v| v.value.is_integer()) {
                Ticks::Whole(number)
            } else {
                Ticks::Numbers(number)
            };
            (
                ticks,
                a.set.values.iter().filter_map(|v| v.number()).collect(),
            )
        }
        None => (
            Ticks::Names(a.set.values.iter().map(|v| v.text.clone()).collect()),
            (0..a.set.values.len()).map(|i| i as f64).collect(),
        ),
    };
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = if hi > lo { (hi - lo) * 0.05 } else { 0.5 };
    let count = match &ticks {
        Ticks::Names(names) => names.len() * 4 + 1,
        _ => 10,
    };
    Axis {
        param,
        by_name: numeric.is_none(),
        x: XAxis {
            desc: a.set.key.clone(),
            range: (lo - pad, hi + pad),
            scale: 1.0,
            ticks,
            count,
            shade: None,
        },
    }
}

/// What a sweep's plots are drawn from.
struct Source<'a> {
    outcome: &'a SweepOutcome,
    grid: &'a Grid,
    axis: Axis,
}

impl Source<'_> {
    /// The x of a point on the axis.
    fn x_of(&self, point: usize) -> f64 {
        let param = self.axis.param;
        let c = self.grid.points[point].choice[param];
        if self.axis.by_name {
            c as f64
        } else {
            self.grid.assignments[param].set.values[c]
                .number()
                .unwrap_or(c as f64)
        }
    }

    /// The lines of `figure` (a column of `sweep.csv`; `None`: the bill per hour), scaled by
    /// `scale`, one per combination of the other parameters; and where the chosen point is
    /// among them.
    fn lines(&self, figure: Option<&str>, scale: f64) -> (Vec<Line>, Option<Ring>) {
        let (outcome, grid, param) = (self.outcome, self.grid, self.axis.param);
        let mut keys: Vec<Vec<usize>> = Vec::new();
        let mut out: Vec<Line> = Vec::new();
        let mut ring = None;
        for (i, p) in grid.points.iter().enumerate() {
            let (mean, half) = match figure {
                Some(f) => match outcome.estimate(i, f) {
                    Some(e) => match e.mean {
                        Some(m) => (m, e.ci95.unwrap_or(0.0)),
                        None => continue,
                    },
                    None => continue,
                },
                None => match outcome.estimate(i, USD_PER_HOUR) {
                    Some(Estimate {
                        mean: Some(m),
                        ci95,
                    }) => (*m, ci95.unwrap_or(0.0)),
                    _ => continue,
                },
            };
            let mut others = p.choice.clone();
            others.remove(param);
            let pos = match keys.iter().position(|k| *k == others) {
                Some(pos) => pos,
                None => {
                    let label = grid
                        .assignments
                        .iter()
                        .zip(&p.choice)
                        .enumerate()
                        .filter(|(j, _)| *j != param)
                        .map(|(_, (a, &c))| format!("{}={}", a.set.key, a.set.values[c].text))
                        .collect::<Vec<_>>()
                        .join(", ");
                    // With a single `--set` there are no other parameters to name.
                    let label = if label.is_empty() {
                        "mean".into()
                    } else {
                        label
                    };
                    let mut line = Line::new(label, Color::nth(out.len()), &[], Vec::new());
                    line.markers = true;
                    line.band = Some(Vec::new());
                    keys.push(others);
                    out.push(line);
                    out.len() - 1
                }
            };
            let line = &mut out[pos];
            if outcome.choice.as_ref().is_some_and(|c| c.point == i) {
                ring = Some(Ring {
                    line: pos,
                    point: line.values.len(),
                    label: "cheapest meeting goal".into(),
                });
            }
            line.x.push(self.x_of(i));
            line.values.push(Some(mean * scale));
            line.band.get_or_insert_with(Vec::new).push(half * scale);
        }
        (out, ring)
    }

    /// A panel of workload `w`'s figure `column` (a column of `sweep.csv` after `w.`, scaled by
    /// `scale`; `None`: the bill per hour), with the bound of the first goal on it.
    fn panel(
        &self,
        w: &str,
        column: Option<&str>,
        scale: f64,
        title: String,
        y_desc: &str,
    ) -> Panel {
        let key = column.map(|c| format!("{w}.{c}"));
        let (lines, ring) = self.lines(key.as_deref(), scale);
        let mut p = Panel::new(title, y_desc, lines);
        p.bound = column.and_then(|c| {
            let goal =
                self.outcome.goals.iter().find(|g| {
                    g.figure.column() == c && g.workload.as_ref().is_none_or(|n| n == w)
                })?;
            Some(Bound {
                value: goal.bound * scale,
                label: format!("goal {}", goal.text),
            })
        });
        p.ring = ring;
        p
    }
}

/// Writes the plots; returns the files written.
pub fn write_plots(outcome: &SweepOutcome, grid: &Grid) -> io::Result<Vec<PathBuf>> {
    if outcome.points.is_empty() {
        return Ok(Vec::new());
    }
    let source = Source {
        outcome,
        grid,
        axis: axis(grid),
    };
    let frame = Frame::sweep(source.axis.x.clone(), Ticks::Numbers(number));
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
            panels.push(source.panel(
                w,
                Some(&format!("latency_{stat}_ms")),
                1.0,
                format!("{w}: {stat} latency{band}"),
                &format!("{stat} latency (ms)"),
            ));
        }
        panels.push(source.panel(
            w,
            Some("error_share"),
            100.0,
            format!("{w}: failed, throttled or timed out{band}"),
            "share of requests (%)",
        ));
        if outcome.points.iter().all(|p| p.cost.is_some()) {
            panels.push(source.panel(
                w,
                None,
                1.0,
                format!("the bill, every billed component{band}"),
                "USD per hour",
            ));
        }
        panels.retain(Panel::has_data);
        if panels.is_empty() {
            continue;
        }
        let figure = Figure {
            stem: format!("sweep_{}", super::grid::escape(w)),
            title: format!("{}: {w} against {}", outcome.scenario, source.axis.x.desc),
            panels,
        };
        written.extend(write_figure(&outcome.out_dir, &figure, &frame)?);
    }
    Ok(written)
}
