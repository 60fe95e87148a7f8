//! Cost against what it buys: `pareto.svg` and `.png` in the sweep folder, when the scenario
//! bills some component. Per workload, one panel of its p99 latency (and of the latency a
//! `--goal` names) and one of its error share, each against the bill (mean USD per hour): every
//! point of the grid as a dot, the Pareto front joined (the points no other point beats on
//! both: none is as cheap and as good and better in one), the goal's bound dashed and the
//! point `--goal` chose ringed. Drawn by the run plots' renderer, [`crate::output::render`].

use std::io;
use std::path::PathBuf;

use super::goal::GoalFigure;
use super::{SweepOutcome, USD_PER_HOUR, number};
use crate::metrics::plot::{Bound, Color, Figure, Line, Panel, Ring};
use crate::output::render::{Frame, Ticks, XAxis, write_figure};

/// The stem of the file.
pub const STEM: &str = "pareto";

/// Indices of the points (cost, value) on the Pareto front of both kept low, in order of
/// cost (then of value, then of index): a point is on it unless another is at most as costly
/// and at most as high and lower in one of the two. Equal points are all on it.
pub fn front(points: &[(f64, f64)]) -> Vec<usize> {
    let beats = |q: (f64, f64), p: (f64, f64)| q.0 <= p.0 && q.1 <= p.1 && (q.0 < p.0 || q.1 < p.1);
    let mut on: Vec<usize> = (0..points.len())
        .filter(|&i| !points.iter().any(|&q| beats(q, points[i])))
        .collect();
    on.sort_by(|&a, &b| {
        let (p, q) = (points[a], points[b]);
        p.0.total_cmp(&q.0)
            .then(p.1.total_cmp(&q.1))
            .then(a.cmp(&b))
    });
    on
}

/// A panel of `column` (a column of `sweep.csv`, scaled by `scale`) against the bill.
fn panel(outcome: &SweepOutcome, column: &str, scale: f64, title: String, y: &str) -> Panel {
    let mut x = Vec::new();
    let mut values = Vec::new();
    let mut ring = None;
    for i in 0..outcome.points.len() {
        let cost = outcome.estimate(i, USD_PER_HOUR).and_then(|e| e.mean);
        let value = outcome.estimate(i, column).and_then(|e| e.mean);
        let (Some(cost), Some(value)) = (cost, value) else {
            continue;
        };
        if outcome.choice.as_ref().is_some_and(|c| c.point == i) {
            ring = Some(Ring {
                line: 0,
                point: x.len(),
                label: "cheapest meeting goal".into(),
            });
        }
        x.push(cost);
        values.push(value * scale);
    }
    let pairs: Vec<(f64, f64)> = x.iter().copied().zip(values.iter().copied()).collect();
    let on = front(&pairs);
    let mut points = Line::new(
        "grid points",
        Color::Blue,
        &x,
        values.into_iter().map(Some).collect(),
    );
    points.scatter = true;
    let front_x: Vec<f64> = on.iter().map(|&i| pairs[i].0).collect();
    let mut front_line = Line::new(
        "Pareto front",
        Color::Vermilion,
        &front_x,
        on.iter().map(|&i| Some(pairs[i].1)).collect(),
    );
    front_line.markers = true;
    let mut p = Panel::new(title, y, vec![points, front_line]);
    let (workload, figure) = column.rsplit_once('.').unwrap_or(("", column));
    p.bound = outcome
        .goals
        .iter()
        .find(|g| g.figure.column() == figure && g.workload.as_ref().is_none_or(|w| w == workload))
        .map(|g| Bound {
            value: g.bound * scale,
            label: format!("goal {}", g.text),
        });
    p.ring = ring;
    p.note = Some("each dot one point of the grid, mean over replications".into());
    p
}

/// Writes the figure when every point has a bill; returns the files written.
pub fn write_pareto(outcome: &SweepOutcome) -> io::Result<Vec<PathBuf>> {
    let costs: Option<Vec<f64>> = (0..outcome.points.len())
        .map(|i| outcome.estimate(i, USD_PER_HOUR).and_then(|e| e.mean))
        .collect();
    let Some(costs) = costs.filter(|c| !c.is_empty()) else {
        return Ok(Vec::new());
    };
    let lo = costs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = costs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = if hi > lo {
        (hi - lo) * 0.05
    } else {
        (lo * 0.05).max(1e-6)
    };
    let x = XAxis {
        desc: "bill (USD per hour, mean over replications)".into(),
        range: ((lo - pad).max(0.0), hi + pad),
        scale: 1.0,
        ticks: Ticks::Numbers(number),
        count: 10,
        shade: None,
    };
    let mut panels = Vec::new();
    for w in &outcome.workloads {
        let mut stats = vec!["p99"];
        for g in &outcome.goals {
            if let GoalFigure::Latency(stat) = g.figure
                && g.workload.as_ref().is_none_or(|n| n == w)
                && !stats.contains(&stat)
            {
                stats.push(stat);
            }
        }
        for stat in stats {
            panels.push(panel(
                outcome,
                &format!("{w}.latency_{stat}_ms"),
                1.0,
                format!("{w}: {stat} latency against the bill"),
                &format!("{stat} latency (ms)"),
            ));
        }
        panels.push(panel(
            outcome,
            &format!("{w}.error_share"),
            100.0,
            format!("{w}: failed, throttled or timed out against the bill"),
            "share of requests (%)",
        ));
    }
    panels.retain(Panel::has_data);
    if panels.is_empty() {
        return Ok(Vec::new());
    }
    let figure = Figure {
        stem: STEM.into(),
        title: format!(
            "{}: what each point costs and what it buys",
            outcome.scenario
        ),
        panels,
    };
    let frame = Frame::sweep(x, Ticks::Numbers(number));
    Ok(write_figure(&outcome.out_dir, &figure, &frame)?.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_front_keeps_the_points_nothing_beats_on_both() {
        // (cost, p99): 0 is cheapest; 1 is dearer and slower than 0 (beaten); 2 is dearer and
        // faster (on it); 3 is dearer than 2 and as fast (beaten); 4 is the fastest.
        let points = [
            (1.0, 300.0),
            (2.0, 400.0),
            (2.0, 200.0),
            (3.0, 200.0),
            (5.0, 50.0),
        ];
        assert_eq!(front(&points), vec![0, 2, 4]);
    }

    #[test]
    fn equal_points_are_all_on_the_front_and_order_is_by_cost() {
        let points = [(2.0, 10.0), (1.0, 20.0), (2.0, 10.0)];
        assert_eq!(front(&points), vec![1, 0, 2]);
        assert_eq!(front(&[]), Vec::<usize>::new());
        // One point beats every other on both.
        assert_eq!(front(&[(3.0, 3.0), (1.0, 1.0), (2.0, 5.0)]), vec![1]);
    }
}
