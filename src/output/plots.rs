//! The plots of a run, drawn with plotters from `timeseries.csv`, as SVG and PNG.
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
//! shades the warm-up, labels its axes with units and has its legend beside it, never over the
//! data. Text is drawn with DejaVu Sans, embedded, so PNGs need no system font; SVGs name the
//! generic `sans-serif` family. The same inputs give byte-identical files.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;

use super::summary::Summary;

/// The font family every text uses (registered with the embedded DejaVu Sans).
const FONT: &str = "sans-serif";
/// Width of every figure (pixels).
const WIDTH: u32 = 1100;
/// Height of one panel (pixels).
const PANEL_HEIGHT: u32 = 300;
/// Height of a figure's title (pixels).
const TITLE_HEIGHT: u32 = 44;
/// Width of the legend beside each panel (pixels).
const LEGEND_WIDTH: u32 = 230;

const BLUE: RGBColor = RGBColor(0, 114, 178);
const GREEN: RGBColor = RGBColor(0, 158, 115);
const ORANGE: RGBColor = RGBColor(230, 159, 0);
const VERMILION: RGBColor = RGBColor(213, 94, 0);
const PURPLE: RGBColor = RGBColor(204, 121, 167);
const SKY: RGBColor = RGBColor(86, 180, 233);
const INK: RGBColor = RGBColor(30, 30, 30);
const GREY: RGBColor = RGBColor(110, 110, 110);
const WARMUP: RGBColor = RGBColor(150, 150, 150);

/// Registers the embedded font once; plotters measures text with it for both backends.
pub(crate) fn register_font() -> io::Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(io::Error::other("cannot load the embedded plot font"))
    }
}

/// The embedded font, for the PNG backend's text.
fn text_font() -> io::Result<ab_glyph::FontRef<'static>> {
    ab_glyph::FontRef::try_from_slice(dejavu::sans::regular())
        .map_err(|e| io::Error::other(format!("cannot load the embedded plot font: {e}")))
}

/// The rows of one workload or component in `timeseries.csv`.
struct Track {
    /// End of each interval (s).
    time: Vec<f64>,
    /// Each row's values, by column index (empty fields are `None`).
    rows: Vec<Vec<Option<f64>>>,
}

/// `timeseries.csv`, grouped by name.
pub(super) struct Series {
    columns: HashMap<String, usize>,
    tracks: HashMap<String, Track>,
}

impl Series {
    /// Reads `path` (a `timeseries.csv`).
    pub(super) fn read(path: &Path) -> io::Result<Series> {
        let mut reader = csv::Reader::from_path(path).map_err(|e| csv_error(path, e))?;
        let headers = reader.headers().map_err(|e| csv_error(path, e))?.clone();
        let columns: HashMap<String, usize> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| (h.to_string(), i))
            .collect();
        let index = |name: &str| {
            columns.get(name).copied().ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: no column `{name}`", path.display()),
                )
            })
        };
        let (time_col, name_col) = (index("time_s")?, index("name")?);
        let mut tracks: HashMap<String, Track> = HashMap::new();
        for record in reader.records() {
            let record = record.map_err(|e| csv_error(path, e))?;
            let values: Vec<Option<f64>> = record
                .iter()
                .map(|field| field.parse::<f64>().ok().filter(|v| v.is_finite()))
                .collect();
            let name = record.get(name_col).unwrap_or_default().to_string();
            let track = tracks.entry(name).or_insert_with(|| Track {
                time: Vec::new(),
                rows: Vec::new(),
            });
            track
                .time
                .push(values.get(time_col).copied().flatten().unwrap_or(0.0));
            track.rows.push(values);
        }
        Ok(Series { columns, tracks })
    }

    /// The column `column` of `name`'s rows (all `None` when the column does not exist).
    pub(super) fn column(&self, name: &str, column: &str) -> Vec<Option<f64>> {
        let Some(track) = self.tracks.get(name) else {
            return Vec::new();
        };
        match self.columns.get(column) {
            Some(&i) => track
                .rows
                .iter()
                .map(|r| r.get(i).copied().flatten())
                .collect(),
            None => vec![None; track.rows.len()],
        }
    }

    /// A count column of `name` turned into a rate per second over each interval.
    fn rate(&self, name: &str, column: &str) -> Vec<Option<f64>> {
        let time = self.time(name);
        self.column(name, column)
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let start = if i == 0 { 0.0 } else { time[i - 1] };
                let dt = time[i] - start;
                v.map(|v| if dt > 0.0 { v / dt } else { 0.0 })
            })
            .collect()
    }

    /// End of each of `name`'s intervals (s).
    pub(super) fn time(&self, name: &str) -> &[f64] {
        self.tracks.get(name).map_or(&[], |t| &t.time)
    }
}

fn csv_error(path: &Path, e: csv::Error) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {e}", path.display()),
    )
}

/// One line of a panel.
struct Line {
    label: String,
    color: RGBColor,
    width: u32,
    /// Dashed and drawn over the solid lines: targets and limits (desired, provisioned).
    dashed: bool,
    /// Aligned with the panel's `time`.
    values: Vec<Option<f64>>,
}

impl Line {
    fn new(label: &str, color: RGBColor, width: u32, values: Vec<Option<f64>>) -> Line {
        Line {
            label: label.to_string(),
            color,
            width,
            dashed: false,
            values,
        }
    }

    fn dashed(mut self) -> Line {
        self.dashed = true;
        self
    }

    fn has_data(&self) -> bool {
        self.values.iter().any(Option::is_some)
    }

    fn nonzero(&self) -> bool {
        self.values.iter().flatten().any(|v| *v != 0.0)
    }
}

/// One chart: lines against time, with a legend beside it.
struct Panel {
    title: String,
    y_desc: String,
    /// End of each interval (s).
    time: Vec<f64>,
    lines: Vec<Line>,
    /// A remark under the legend (what was left out).
    note: Option<String>,
}

impl Panel {
    fn has_data(&self) -> bool {
        self.lines.iter().any(Line::has_data)
    }

    fn y_max(&self) -> f64 {
        let max = self
            .lines
            .iter()
            .flat_map(|l| l.values.iter().flatten())
            .fold(0.0f64, |m, v| m.max(*v));
        if max > 0.0 { max * 1.08 } else { 1.0 }
    }
}

/// One file (SVG and PNG): a title over panels stacked vertically, sharing the time axis.
struct Figure {
    stem: String,
    title: String,
    panels: Vec<Panel>,
}

/// The time axis: seconds, minutes or hours, as the run's length suits.
#[derive(Copy, Clone)]
struct TimeAxis {
    /// Seconds per unit.
    scale: f64,
    unit: &'static str,
    /// End of the run, in units.
    end: f64,
    /// End of the warm-up, in units.
    warmup: f64,
}

impl TimeAxis {
    fn new(summary: &Summary, latest: f64) -> TimeAxis {
        let duration = summary.duration_s.max(latest);
        let (scale, unit) = if duration <= 900.0 {
            (1.0, "s")
        } else if duration <= 6.0 * 3600.0 {
            (60.0, "min")
        } else {
            (3600.0, "h")
        };
        TimeAxis {
            scale,
            unit,
            end: if duration > 0.0 {
                duration / scale
            } else {
                1.0
            },
            warmup: summary.warmup_s.min(duration) / scale,
        }
    }
}

/// Plot files written for `stem`.
fn file_name(stem: &str, ext: &str) -> String {
    format!("{stem}.{ext}")
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
    register_font()?;
    let series = Series::read(&dir.join("timeseries.csv"))?;
    let latest = series
        .tracks
        .values()
        .flat_map(|t| t.time.last())
        .fold(0.0f64, |m, t| m.max(*t));
    let axis = TimeAxis::new(summary, latest);
    let figures = figures(&series, summary);
    let mut svgs = Vec::new();
    let mut pngs = Vec::new();
    for figure in &figures {
        let svg_path = dir.join(file_name(&figure.stem, "svg"));
        super::write_atomic(&svg_path, render_svg(figure, axis)?.as_bytes())?;
        svgs.push(svg_path);
        let png_path = dir.join(file_name(&figure.stem, "png"));
        super::write_atomic(&png_path, &render_png(figure, axis)?)?;
        pngs.push(png_path);
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

fn panel(series: &Series, name: &str, title: String, y_desc: &str, lines: Vec<Line>) -> Panel {
    Panel {
        title,
        y_desc: y_desc.to_string(),
        time: series.time(name).to_vec(),
        lines,
        note: None,
    }
}

fn latency_figure(series: &Series, summary: &Summary) -> Option<Figure> {
    let panels: Vec<Panel> = summary
        .workloads
        .keys()
        .map(|name| {
            let line =
                |label, color, width, col| Line::new(label, color, width, series.column(name, col));
            let mut p = panel(
                series,
                name,
                format!("{name}: end-to-end latency of successful requests"),
                "latency (ms)",
                vec![
                    line("p99", VERMILION, 2, "latency_p99_ms"),
                    line("p90", GREEN, 2, "latency_p90_ms"),
                    line("p50", BLUE, 2, "latency_p50_ms"),
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
    let mut lines = vec![Line::new(
        "completions",
        BLUE,
        2,
        series.rate(name, "completions"),
    )];
    let mut absent = Vec::new();
    for (label, color, column) in [
        ("errors", VERMILION, "errors"),
        ("throttles", ORANGE, "throttles"),
        ("timeouts", PURPLE, "timeouts"),
    ] {
        let line = Line::new(label, color, 2, series.rate(name, column));
        if line.nonzero() {
            lines.push(line);
        } else {
            absent.push(label);
        }
    }
    let mut p = panel(series, name, title, "requests per second", lines);
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
    let col = |c| series.column(name, c);
    let mut lines = vec![
        Line::new("desired", INK, 2, col("desired")).dashed(),
        Line::new("in service", BLUE, 2, col("in_service")),
        Line::new("pending", ORANGE, 2, col("pending")),
    ];
    let draining = Line::new("draining", PURPLE, 2, col("draining"));
    if draining.nonzero() {
        lines.push(draining);
    }
    let p = panel(
        series,
        name,
        format!("{name} (asg): instances"),
        "instances",
        lines,
    );
    p.has_data().then(|| Figure {
        stem: format!("capacity_{}", safe(name)),
        title: format!("Capacity of {name}"),
        panels: vec![p],
    })
}

fn lambda_figure(series: &Series, name: &str, component: &Value) -> Option<Figure> {
    let col = |c| series.column(name, c);
    let mut lines = vec![
        Line::new("environments (alive)", GREEN, 2, col("environments")),
        Line::new("concurrency (busy)", BLUE, 2, col("concurrency")),
    ];
    let provisioned = component
        .get("provisioned_concurrency")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    if provisioned > 0.0 {
        let n = series.time(name).len();
        lines.push(
            Line::new(
                "provisioned concurrency",
                INK,
                2,
                vec![Some(provisioned); n],
            )
            .dashed(),
        );
    }
    let p = panel(
        series,
        name,
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
    let col = |c| series.column(name, c);
    let mut panels = Vec::new();
    for (what, unit, consumed, provisioned) in [
        ("reads", "RCU", "consumed_rcu", "provisioned_rcu"),
        ("writes", "WCU", "consumed_wcu", "provisioned_wcu"),
    ] {
        let mut lines = Vec::new();
        let prov = Line::new(&format!("provisioned {unit}"), INK, 2, col(provisioned)).dashed();
        let used = Line::new(&format!("consumed {unit}"), BLUE, 2, col(consumed));
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
        let mut p = panel(
            series,
            name,
            format!("{name} (dynamodb): {what}, consumed against provisioned"),
            &format!("{unit} per second"),
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
    let col = |c| series.column(name, c);
    let mut lines = vec![
        Line::new("visible", BLUE, 2, col("queue_length")),
        Line::new("in flight", GREEN, 2, col("messages_in_flight")),
    ];
    let delayed = Line::new("delayed", SKY, 2, col("messages_delayed"));
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
    let age = Line::new("oldest visible message", VERMILION, 2, ages);
    if !lines.iter().any(Line::nonzero) && !age.nonzero() {
        return None;
    }
    let messages = panel(
        series,
        name,
        format!("{name} (sqs): messages in the queue"),
        "messages",
        lines,
    );
    let waited = age.nonzero();
    let mut age = panel(
        series,
        name,
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

/// A duration in seconds as people say it: `45 s`, `10 min`, `1.5 h`.
pub(super) fn duration_text(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{} s", tick(seconds))
    } else if seconds < 2.0 * 3600.0 {
        format!("{} min", tick(seconds / 60.0))
    } else {
        format!("{} h", tick(seconds / 3600.0))
    }
}

/// A tick label: at most three decimals, trailing zeros dropped.
pub(super) fn tick(v: f64) -> String {
    let s = if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    };
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".into() } else { s }
}

fn figure_size(figure: &Figure) -> (u32, u32) {
    (
        WIDTH,
        TITLE_HEIGHT + PANEL_HEIGHT * figure.panels.len() as u32,
    )
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    figure: &Figure,
    axis: TimeAxis,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(TITLE_HEIGHT);
    title.draw(&Text::new(
        figure.title.clone(),
        (16, TITLE_HEIGHT as i32 / 2),
        (FONT, 24)
            .into_font()
            .color(&INK)
            .pos(Pos::new(HPos::Left, VPos::Center)),
    ))?;
    let areas = body.split_evenly((figure.panels.len(), 1));
    for (area, panel) in areas.iter().zip(&figure.panels) {
        draw_panel(area, panel, axis)?;
    }
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    axis: TimeAxis,
) -> DrawResult<DB> {
    let (plot, legend) = area.split_horizontally(WIDTH - LEGEND_WIDTH);
    let y_max = panel.y_max();
    let mut chart = ChartBuilder::on(&plot)
        .caption(&panel.title, (FONT, 17).into_font().color(&INK))
        .margin_left(8)
        .margin_right(18)
        .margin_top(6)
        .margin_bottom(6)
        .x_label_area_size(46)
        .y_label_area_size(76)
        .build_cartesian_2d(0.0..axis.end, 0.0..y_max)?;
    let x_desc = format!("time ({})", axis.unit);
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(panel.y_desc.clone())
        .label_style((FONT, 14).into_font().color(&INK))
        .axis_desc_style((FONT, 15).into_font().color(&INK))
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .x_labels(12)
        .y_labels(6)
        .max_light_lines(1)
        .bold_line_style(RGBColor(214, 214, 214))
        .light_line_style(RGBColor(240, 240, 240))
        .axis_style(GREY)
        .draw()?;
    if axis.warmup > 0.0 {
        chart.draw_series(std::iter::once(Rectangle::new(
            [(0.0, 0.0), (axis.warmup, y_max)],
            WARMUP.mix(0.25).filled(),
        )))?;
    }
    let solid = panel.lines.iter().filter(|l| !l.dashed);
    for line in solid.chain(panel.lines.iter().filter(|l| l.dashed)) {
        let style = line.color.stroke_width(line.width);
        for segment in segments(&panel.time, &line.values, axis.scale) {
            if line.dashed {
                chart.draw_series(DashedLineSeries::new(segment, 8, 5, style))?;
            } else if segment.len() == 1 {
                chart.draw_series(std::iter::once(Circle::new(
                    segment[0],
                    2,
                    line.color.filled(),
                )))?;
            } else {
                chart.draw_series(LineSeries::new(segment, style))?;
            }
        }
    }
    draw_legend(&legend, panel, axis)
}

/// Runs of consecutive points with a value; a missing value breaks the line.
fn segments(time: &[f64], values: &[Option<f64>], scale: f64) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    for (t, v) in time.iter().zip(values) {
        match v {
            Some(v) => current.push((t / scale, *v)),
            None => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    axis: TimeAxis,
) -> DrawResult<DB> {
    let text = (FONT, 15)
        .into_font()
        .color(&INK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let (x0, x1, x_text) = (6, 36, 44);
    let mut y = 44;
    for line in &panel.lines {
        let style = line.color.stroke_width(line.width + 1);
        if line.dashed {
            for x in [x0, x0 + 11, x0 + 22] {
                area.draw(&PathElement::new(vec![(x, y), ((x + 7).min(x1), y)], style))?;
            }
        } else {
            area.draw(&PathElement::new(vec![(x0, y), (x1, y)], style))?;
        }
        area.draw(&Text::new(line.label.clone(), (x_text, y), text.clone()))?;
        y += 24;
    }
    if axis.warmup > 0.0 {
        area.draw(&Rectangle::new(
            [(x0, y - 7), (x1, y + 7)],
            WARMUP.mix(0.35).filled(),
        ))?;
        let label = format!("warm-up: first {}", duration_text(axis.warmup * axis.scale));
        area.draw(&Text::new(label, (x_text, y), text.clone()))?;
        y += 24;
    }
    if let Some(note) = &panel.note {
        let small = (FONT, 13)
            .into_font()
            .color(&GREY)
            .pos(Pos::new(HPos::Left, VPos::Center));
        y += 6;
        for row in wrap(note, 28) {
            area.draw(&Text::new(row, (x0, y), small.clone()))?;
            y += 18;
        }
    }
    Ok(())
}

/// Splits `text` into lines of at most `width` characters, at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

fn plot_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("cannot draw a plot: {e}"))
}

fn render_svg(figure: &Figure, axis: TimeAxis) -> io::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, figure_size(figure)).into_drawing_area();
        draw_figure(&root, figure, axis).map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

fn render_png(figure: &Figure, axis: TimeAxis) -> io::Result<Vec<u8>> {
    png_bytes(figure_size(figure), |root| {
        draw_figure(root, figure, axis).map_err(|e| e.to_string())
    })
}

/// A PNG of `size` pixels drawn by `draw`, with text laid out by the embedded font (see
/// [`raster`]); every PNG awsim writes goes through here.
pub(crate) fn png_bytes(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<raster::Raster<'_>, Shift>) -> Result<(), String>,
) -> io::Result<Vec<u8>> {
    let (w, h) = size;
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let root = raster::Raster::new(
            BitMapBackend::with_buffer(&mut pixels, (w, h)),
            text_font()?,
        )
        .into_drawing_area();
        draw(&root).map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(io::Error::other)?;
        writer.write_image_data(&pixels).map_err(io::Error::other)?;
        writer.finish().map_err(io::Error::other)?;
    }
    Ok(out)
}

/// The PNG backend: plotters' bitmap backend, with text drawn here. Plotters' own glyph
/// placement drops each glyph's side bearing (letters collide or drift apart); this places
/// every glyph at its advance and bearing, with kerning, anchored and rotated as asked.
pub(crate) mod raster {
    use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
    use plotters::prelude::{BitMapBackend, DrawingBackend};
    use plotters_backend::text_anchor::{HPos, VPos};
    use plotters_backend::{
        BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
    };

    type Error = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

    pub struct Raster<'a> {
        inner: BitMapBackend<'a>,
        font: FontRef<'static>,
    }

    impl<'a> Raster<'a> {
        pub fn new(inner: BitMapBackend<'a>, font: FontRef<'static>) -> Self {
            Raster { inner, font }
        }
    }

    impl DrawingBackend for Raster<'_> {
        type ErrorType = Error;

        fn get_size(&self) -> (u32, u32) {
            self.inner.get_size()
        }

        fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Error>> {
            self.inner.ensure_prepared()
        }

        fn present(&mut self) -> Result<(), DrawingErrorKind<Error>> {
            self.inner.present()
        }

        fn draw_pixel(
            &mut self,
            point: BackendCoord,
            color: BackendColor,
        ) -> Result<(), DrawingErrorKind<Error>> {
            self.inner.draw_pixel(point, color)
        }

        fn draw_line<S: BackendStyle>(
            &mut self,
            from: BackendCoord,
            to: BackendCoord,
            style: &S,
        ) -> Result<(), DrawingErrorKind<Error>> {
            self.inner.draw_line(from, to, style)
        }

        fn draw_rect<S: BackendStyle>(
            &mut self,
            upper_left: BackendCoord,
            bottom_right: BackendCoord,
            style: &S,
            fill: bool,
        ) -> Result<(), DrawingErrorKind<Error>> {
            self.inner.draw_rect(upper_left, bottom_right, style, fill)
        }

        fn blit_bitmap(
            &mut self,
            pos: BackendCoord,
            size: (u32, u32),
            src: &[u8],
        ) -> Result<(), DrawingErrorKind<Error>> {
            self.inner.blit_bitmap(pos, size, src)
        }

        fn draw_text<S: BackendTextStyle>(
            &mut self,
            text: &str,
            style: &S,
            pos: BackendCoord,
        ) -> Result<(), DrawingErrorKind<Error>> {
            let color = style.color();
            if color.alpha == 0.0 {
                return Ok(());
            }
            // The same scale plotters measures text with, so layouts agree.
            let scale = PxScale::from(style.size() as f32);
            let font = self.font.as_scaled(scale);
            let mut glyphs = Vec::new();
            let mut caret = 0.0f32;
            let mut previous = None;
            for c in text.chars() {
                let id = font.glyph_id(c);
                if let Some(p) = previous {
                    caret += font.kern(p, id);
                }
                glyphs.push(id.with_scale_and_position(scale, point(caret, font.ascent())));
                caret += font.h_advance(id);
                previous = Some(id);
            }
            let width = caret;
            let height = font.ascent() - font.descent();
            let dx = match style.anchor().h_pos {
                HPos::Left => 0.0,
                HPos::Center => -width / 2.0,
                HPos::Right => -width,
            };
            let dy = match style.anchor().v_pos {
                VPos::Top => 0.0,
                VPos::Center => -height / 2.0,
                VPos::Bottom => -height,
            };
            let transform = style.transform();
            let (w, h) = self.get_size();
            let mut result = Ok(());
            for glyph in glyphs {
                let Some(outline) = self.font.outline_glyph(glyph) else {
                    continue;
                };
                let bounds = outline.px_bounds();
                let (x0, y0) = (bounds.min.x + dx, bounds.min.y + dy);
                outline.draw(|gx, gy, coverage| {
                    if coverage <= 0.0 || result.is_err() {
                        return;
                    }
                    // Round half up, the same way on both sides of zero: `round` sends -0.5
                    // to -1 and 0.5 to 1, which skipped the anchor's row (a white line through
                    // vertically centred text).
                    let x = (x0 + gx as f32 + 0.5).floor() as i32;
                    let y = (y0 + gy as f32 + 0.5).floor() as i32;
                    let (x, y) = transform.transform(x, y);
                    let (x, y) = (pos.0 + x, pos.1 + y);
                    if x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h {
                        let pixel = BackendColor {
                            alpha: color.alpha * f64::from(coverage.min(1.0)),
                            rgb: color.rgb,
                        };
                        result = self.inner.draw_pixel((x, y), pixel);
                    }
                });
                std::mem::replace(&mut result, Ok(()))?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centred_png_text_has_no_missing_row() {
        // "H" has ink on every row from its top to its baseline; a skipped row shows as a gap.
        let (w, h) = (40u32, 30u32);
        let mut pixels = vec![255u8; (w * h * 3) as usize];
        {
            let root = raster::Raster::new(
                BitMapBackend::with_buffer(&mut pixels, (w, h)),
                text_font().unwrap(),
            )
            .into_drawing_area();
            let style = (FONT, 15)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center));
            root.draw(&Text::new("H", (5, 15), style)).unwrap();
            root.present().unwrap();
        }
        let inked: Vec<bool> = (0..h)
            .map(|y| (0..w).any(|x| pixels[((y * w + x) * 3) as usize] < 128))
            .collect();
        let first = inked.iter().position(|&i| i).expect("text drawn");
        let last = inked.iter().rposition(|&i| i).unwrap();
        assert!(last - first >= 8, "glyph {first}..{last}");
        assert!(inked[first..=last].iter().all(|&i| i), "rows {inked:?}");
    }

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(2.5), "2.5");
        assert_eq!(tick(0.125), "0.125");
        assert_eq!(tick(1500.0), "1500");
        assert_eq!(tick(-0.0001), "0");
    }

    #[test]
    fn durations_read_as_spoken() {
        assert_eq!(duration_text(60.0), "60 s");
        assert_eq!(duration_text(600.0), "10 min");
        assert_eq!(duration_text(9000.0), "2.5 h");
    }

    #[test]
    fn missing_values_break_lines() {
        let time = [1.0, 2.0, 3.0, 4.0, 5.0];
        let values = [Some(1.0), Some(2.0), None, Some(4.0), None];
        assert_eq!(
            segments(&time, &values, 1.0),
            vec![vec![(1.0, 1.0), (2.0, 2.0)], vec![(4.0, 4.0)]]
        );
    }

    #[test]
    fn notes_wrap_at_spaces() {
        assert_eq!(
            wrap("no errors, throttles or timeouts", 16),
            vec!["no errors,", "throttles or", "timeouts"]
        );
    }

    #[test]
    fn names_are_safe_in_files() {
        assert_eq!(safe("orders-dlq"), "orders-dlq");
        assert_eq!(safe("a/b c"), "a_b_c");
    }
}
