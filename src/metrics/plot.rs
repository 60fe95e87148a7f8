//! What a figure shows, as plain data: panels of lines, each line its points, colour and
//! style, with an optional confidence band; a panel's goal bound and ringed point. No drawing
//! here: `output::render` draws these, for runs and for sweeps alike, so a component kind can
//! describe its own figures without depending on the output code.

/// A colour of the plot palette: the Okabe–Ito colours (told apart with any colour vision),
/// plus ink for limits and targets and red for goals.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Color {
    /// Blue `#0072B2`.
    Blue,
    /// Bluish green `#009E73`.
    Green,
    /// Orange `#E69F00`.
    Orange,
    /// Vermilion `#D55E00`.
    Vermilion,
    /// Reddish purple `#CC79A7`.
    Purple,
    /// Sky blue `#56B4E9`.
    Sky,
    /// Near-black `#1E1E1E`, the colour of text.
    Ink,
    /// Red `#C81E1E`: goals and the point chosen against them.
    Red,
}

impl Color {
    /// The colours given in turn to lines that only their colour tells apart.
    const CYCLE: [Color; 6] = [
        Color::Blue,
        Color::Vermilion,
        Color::Green,
        Color::Purple,
        Color::Orange,
        Color::Sky,
    ];

    /// The colour of the `i`-th of several like lines (the palette repeats after six).
    pub fn nth(i: usize) -> Color {
        Color::CYCLE[i % Color::CYCLE.len()]
    }

    /// Red, green and blue.
    pub const fn rgb(self) -> (u8, u8, u8) {
        match self {
            Color::Blue => (0, 114, 178),
            Color::Green => (0, 158, 115),
            Color::Orange => (230, 159, 0),
            Color::Vermilion => (213, 94, 0),
            Color::Purple => (204, 121, 167),
            Color::Sky => (86, 180, 233),
            Color::Ink => (30, 30, 30),
            Color::Red => (200, 30, 30),
        }
    }
}

/// One file (SVG and PNG): a title over panels stacked vertically, sharing the x axis.
#[derive(Clone, Debug)]
pub struct Figure {
    /// File name without extension, e.g. `capacity_web`.
    pub stem: String,
    /// Title over the panels.
    pub title: String,
    /// The panels, top to bottom.
    pub panels: Vec<Panel>,
}

/// One chart: lines against the figure's x axis, with a legend beside it.
#[derive(Clone, Debug)]
pub struct Panel {
    /// Caption over the chart.
    pub title: String,
    /// Title of the y axis, with its unit.
    pub y_desc: String,
    /// The lines, in legend order (dashed ones are drawn over the solid ones).
    pub lines: Vec<Line>,
    /// A remark under the legend (what was left out).
    pub note: Option<String>,
    /// A bound to meet, drawn in red as a dashed line across the chart.
    pub bound: Option<Bound>,
    /// A point to ring in red (e.g. the cheapest one meeting the goals).
    pub ring: Option<Ring>,
    /// The lines are stacked: each holds the running total up to it (the first from zero),
    /// and the band between it and the line before is filled in its colour.
    pub stacked: bool,
    /// Moments marked by a vertical dashed line across the chart (a deployment's steps).
    pub marks: Vec<Mark>,
}

/// A moment marked on a panel.
#[derive(Clone, Debug)]
pub struct Mark {
    /// Where, on the x axis (seconds, for a run's time axis).
    pub x: f64,
    /// What happened, for the legend.
    pub label: String,
}

impl Panel {
    /// A panel of `lines`, without note, bound or ring.
    pub fn new(title: String, y_desc: impl Into<String>, lines: Vec<Line>) -> Panel {
        Panel {
            title,
            y_desc: y_desc.into(),
            lines,
            note: None,
            bound: None,
            ring: None,
            stacked: false,
            marks: Vec::new(),
        }
    }

    /// A stacked panel of `layers` (label, colour, values at `x`), bottom first: each line is
    /// the running total up to its layer, a missing value counting as zero.
    pub fn stacked(
        title: String,
        y_desc: impl Into<String>,
        x: &[f64],
        layers: Vec<(String, Color, Vec<Option<f64>>)>,
    ) -> Panel {
        let mut total = vec![0.0; x.len()];
        let lines = layers
            .into_iter()
            .map(|(label, color, values)| {
                for (t, v) in total.iter_mut().zip(&values) {
                    *t += v.unwrap_or(0.0);
                }
                Line::new(label, color, x, total.iter().map(|t| Some(*t)).collect())
            })
            .collect();
        let mut p = Panel::new(title, y_desc, lines);
        p.stacked = true;
        p
    }

    /// Some line has a value.
    pub fn has_data(&self) -> bool {
        self.lines.iter().any(Line::has_data)
    }

    /// The highest value drawn: the lines, the tops of their bands and the bound (0 at least).
    pub fn top(&self) -> f64 {
        let bands = self.lines.iter().flat_map(|l| {
            l.values.iter().enumerate().filter_map(|(i, v)| {
                let half = l.band.as_ref().and_then(|b| b.get(i)).copied();
                v.map(|v| half.map_or(v, |h| v + h))
            })
        });
        bands
            .chain(self.bound.iter().map(|b| b.value))
            .fold(0.0f64, f64::max)
    }
}

/// One line of a panel: `values[i]` at `x[i]`; a missing value breaks the line.
#[derive(Clone, Debug)]
pub struct Line {
    /// Its name in the legend.
    pub label: String,
    /// Its colour.
    pub color: Color,
    /// Stroke width (pixels).
    pub width: u32,
    /// Dashed and drawn over the solid lines: targets and limits (desired, provisioned).
    pub dashed: bool,
    /// A dot on every point (points measured one by one, as in a sweep); otherwise only a
    /// point with no neighbour gets one.
    pub markers: bool,
    /// Dots only, not joined (a scatter of points, e.g. cost against latency).
    pub scatter: bool,
    /// Where each value is on the x axis (seconds, for a run's time axis).
    pub x: Vec<f64>,
    /// The values, aligned with `x`.
    pub values: Vec<Option<f64>>,
    /// Half-width of each value's 95 % confidence interval, aligned with `values`: a shaded
    /// band when any is above zero.
    pub band: Option<Vec<f64>>,
}

impl Line {
    /// A solid line of width 2 through `values` at `x`, without markers or band.
    pub fn new(
        label: impl Into<String>,
        color: Color,
        x: &[f64],
        values: Vec<Option<f64>>,
    ) -> Line {
        Line {
            label: label.into(),
            color,
            width: 2,
            dashed: false,
            markers: false,
            scatter: false,
            x: x.to_vec(),
            values,
            band: None,
        }
    }

    /// The same line, dashed.
    pub fn dashed(mut self) -> Line {
        self.dashed = true;
        self
    }

    /// Some value is present.
    pub fn has_data(&self) -> bool {
        self.values.iter().any(Option::is_some)
    }

    /// Some value is present and not zero.
    pub fn nonzero(&self) -> bool {
        self.values.iter().flatten().any(|v| *v != 0.0)
    }
}

/// A horizontal bound across a panel, e.g. a sweep goal's latency limit.
#[derive(Clone, Debug)]
pub struct Bound {
    /// Its y value.
    pub value: f64,
    /// Its name in the legend.
    pub label: String,
}

/// A ringed point of a panel.
#[derive(Clone, Debug)]
pub struct Ring {
    /// Index of the line in the panel's `lines`.
    pub line: usize,
    /// Index of the point in that line's values.
    pub point: usize,
    /// What the ring means, in the legend.
    pub label: String,
}

/// A workload or component name made safe for a file name (`a/b c` → `a_b_c`).
pub fn safe_name(name: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_counts_bands_and_bounds() {
        let mut line = Line::new("a", Color::Blue, &[1.0, 2.0], vec![Some(3.0), None]);
        let mut panel = Panel::new("p".into(), "y", vec![line.clone()]);
        assert_eq!(panel.top(), 3.0);
        line.band = Some(vec![0.5, 9.0]);
        panel.lines = vec![line];
        assert_eq!(
            panel.top(),
            3.5,
            "a band counts only where there is a value"
        );
        panel.bound = Some(Bound {
            value: 5.0,
            label: "goal".into(),
        });
        assert_eq!(panel.top(), 5.0);
    }

    #[test]
    fn stacked_lines_hold_running_totals() {
        let p = Panel::stacked(
            "p".into(),
            "y",
            &[1.0, 2.0],
            vec![
                ("a".into(), Color::Blue, vec![Some(1.0), None]),
                ("b".into(), Color::Green, vec![Some(2.0), Some(3.0)]),
            ],
        );
        assert!(p.stacked);
        assert_eq!(p.lines[0].values, vec![Some(1.0), Some(0.0)]);
        assert_eq!(p.lines[1].values, vec![Some(3.0), Some(3.0)]);
        assert_eq!(p.top(), 3.0);
    }

    #[test]
    fn like_lines_cycle_through_six_colours() {
        assert_eq!(Color::nth(0), Color::Blue);
        assert_eq!(Color::nth(1), Color::Vermilion);
        assert_eq!(Color::nth(6), Color::Blue);
    }
}
