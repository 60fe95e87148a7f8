//! The plot renderer: draws a [`Figure`] (plain data from [`crate::metrics::plot`]) with
//! plotters, as SVG and PNG, for run plots and sweep plots alike. What differs between the two
//! (figure width, legend width, text sizes, the x axis and its ticks, the y ticks) is a
//! [`Frame`]; bands, markers, bounds and rings are in the figure itself.
//!
//! Every panel has its legend beside it, never over the data. Text is drawn with DejaVu Sans,
//! embedded, so PNGs need no system font; SVGs name the generic `sans-serif` family. The same
//! inputs give byte-identical files.

use std::io;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

// `plot::Color` by its path: the plotters prelude has a `Color` trait.
use crate::metrics::plot::{self, Figure, Line, Panel};

/// The font family every text uses (registered with the embedded DejaVu Sans).
const FONT: &str = "sans-serif";
/// Height of one panel (pixels).
const PANEL_HEIGHT: u32 = 300;
/// Height of a figure's title (pixels).
const TITLE_HEIGHT: u32 = 44;
/// Characters per line of a panel's note.
const NOTE_WIDTH: usize = 28;

const INK: RGBColor = rgb(plot::Color::Ink);
const GREY: RGBColor = RGBColor(110, 110, 110);
const SHADE: RGBColor = RGBColor(150, 150, 150);
/// Bounds and rings: a goal's colour.
const GOAL: RGBColor = rgb(plot::Color::Red);

const fn rgb(color: plot::Color) -> RGBColor {
    let (r, g, b) = color.rgb();
    RGBColor(r, g, b)
}

/// How the figures of one set are laid out: sizes, text, axes. Run plots and sweep plots
/// differ only here.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Width of the figure (pixels).
    width: u32,
    /// Width of the legend beside each panel (pixels).
    legend_width: u32,
    /// Text size of the figure's title (pixels).
    title_size: u32,
    /// Text size of a panel's caption (pixels).
    caption_size: u32,
    /// Text size of tick labels (pixels).
    tick_size: u32,
    /// Text size of axis titles and legends (pixels).
    text_size: u32,
    /// Distance between legend entries (pixels).
    legend_row: i32,
    /// Room above the highest value, as a factor of it.
    headroom: f64,
    /// Most light grid lines between two labelled ones.
    light_lines: usize,
    /// The x axis.
    x: XAxis,
    /// How the y axis writes its ticks.
    y: Ticks,
}

impl Frame {
    /// The frame of a run's plots: 1100 pixels wide, against time.
    pub fn run(x: XAxis) -> Frame {
        Frame {
            width: 1100,
            legend_width: 230,
            title_size: 24,
            caption_size: 17,
            tick_size: 14,
            text_size: 15,
            legend_row: 24,
            headroom: 1.08,
            light_lines: 1,
            x,
            y: Ticks::Numbers(tick),
        }
    }

    /// The frame of a sweep's plots: 1000 pixels wide, against a parameter; `y` writes the
    /// y ticks.
    pub fn sweep(x: XAxis, y: Ticks) -> Frame {
        Frame {
            width: 1000,
            legend_width: 250,
            title_size: 22,
            caption_size: 16,
            tick_size: 13,
            text_size: 14,
            legend_row: 22,
            headroom: 1.1,
            // plotters' default.
            light_lines: 10,
            x,
            y,
        }
    }
}

/// The x axis shared by a figure's panels.
#[derive(Clone, Debug)]
pub struct XAxis {
    /// Its title, with the unit.
    pub desc: String,
    /// Its first and last value, in axis units.
    pub range: (f64, f64),
    /// Line x values are divided by this to give axis units (60 for a time axis in minutes).
    pub scale: f64,
    /// How ticks are written.
    pub ticks: Ticks,
    /// About how many ticks.
    pub count: usize,
    /// A stretch from the start shaded grey, e.g. a run's warm-up.
    pub shade: Option<Shade>,
}

/// How an axis writes its tick labels.
#[derive(Clone, Debug)]
pub enum Ticks {
    /// Every tick, written by the function.
    Numbers(fn(f64) -> String),
    /// Whole-number ticks only (instances, vCPUs), written by the function; others blank.
    Whole(fn(f64) -> String),
    /// `names[i]` at `i`; other ticks blank.
    Names(Vec<String>),
}

impl Ticks {
    fn label(&self, v: f64) -> String {
        match self {
            Ticks::Numbers(write) => write(v),
            Ticks::Whole(write) => {
                if (v - v.round()).abs() > 1e-9 {
                    String::new()
                } else {
                    write(v)
                }
            }
            Ticks::Names(names) => {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 {
                    names.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            }
        }
    }
}

/// A shaded stretch at the start of the x axis.
#[derive(Clone, Debug)]
pub struct Shade {
    /// Where it ends, in axis units.
    pub until: f64,
    /// Its entry in each legend.
    pub label: String,
}

/// Writes `figure` as `dir/<stem>.svg` and `dir/<stem>.png`, each atomically; returns both
/// paths, SVG first.
pub fn write_figure(dir: &Path, figure: &Figure, frame: &Frame) -> io::Result<[PathBuf; 2]> {
    register_font()?;
    let svg_path = dir.join(format!("{}.svg", figure.stem));
    super::write_atomic(&svg_path, render_svg(figure, frame)?.as_bytes())?;
    let png_path = dir.join(format!("{}.png", figure.stem));
    super::write_atomic(&png_path, &render_png(figure, frame)?)?;
    Ok([svg_path, png_path])
}

/// Registers the embedded font once; plotters measures text with it for both backends.
#[cfg(not(target_arch = "wasm32"))]
fn register_font() -> io::Result<()> {
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(io::Error::other("cannot load the embedded plot font"))
    }
}

/// In the browser plotters measures text through the page (web/ gives its worker what that
/// needs): there is no font to register.
#[cfg(target_arch = "wasm32")]
fn register_font() -> io::Result<()> {
    Ok(())
}

/// The embedded font, for the PNG backend's text.
fn text_font() -> io::Result<ab_glyph::FontRef<'static>> {
    ab_glyph::FontRef::try_from_slice(dejavu::sans::regular())
        .map_err(|e| io::Error::other(format!("cannot load the embedded plot font: {e}")))
}

/// A duration in seconds as people say it: `45 s`, `10 min`, `1.5 h`.
pub(crate) fn duration_text(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{} s", tick(seconds))
    } else if seconds < 2.0 * 3600.0 {
        format!("{} min", tick(seconds / 60.0))
    } else {
        format!("{} h", tick(seconds / 3600.0))
    }
}

/// A tick label: at most three decimals, trailing zeros dropped.
pub(crate) fn tick(v: f64) -> String {
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

fn figure_size(figure: &Figure, frame: &Frame) -> (u32, u32) {
    (
        frame.width,
        TITLE_HEIGHT + PANEL_HEIGHT * figure.panels.len() as u32,
    )
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw_figure<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    figure: &Figure,
    frame: &Frame,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(TITLE_HEIGHT);
    title.draw(&Text::new(
        figure.title.clone(),
        (16, TITLE_HEIGHT as i32 / 2),
        (FONT, frame.title_size)
            .into_font()
            .color(&INK)
            .pos(Pos::new(HPos::Left, VPos::Center)),
    ))?;
    let areas = body.split_evenly((figure.panels.len(), 1));
    for (area, panel) in areas.iter().zip(&figure.panels) {
        draw_panel(area, panel, frame)?;
    }
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    frame: &Frame,
) -> DrawResult<DB> {
    let (plot, legend) = area.split_horizontally(frame.width - frame.legend_width);
    let top = panel.top();
    let y_max = if top > 0.0 { top * frame.headroom } else { 1.0 };
    let x = &frame.x;
    let mut chart = ChartBuilder::on(&plot)
        .caption(
            &panel.title,
            (FONT, frame.caption_size).into_font().color(&INK),
        )
        .margin_left(8)
        .margin_right(18)
        .margin_top(6)
        .margin_bottom(6)
        .x_label_area_size(46)
        .y_label_area_size(76)
        .build_cartesian_2d(x.range.0..x.range.1, 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc(x.desc.clone())
        .y_desc(panel.y_desc.clone())
        .label_style((FONT, frame.tick_size).into_font().color(&INK))
        .axis_desc_style((FONT, frame.text_size).into_font().color(&INK))
        .x_label_formatter(&|v| x.ticks.label(*v))
        .y_label_formatter(&|v| frame.y.label(*v))
        .x_labels(x.count)
        .y_labels(6)
        .max_light_lines(frame.light_lines)
        .bold_line_style(RGBColor(214, 214, 214))
        .light_line_style(RGBColor(240, 240, 240))
        .axis_style(GREY)
        .draw()?;
    if let Some(shade) = &x.shade {
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x.range.0, 0.0), (shade.until, y_max)],
            SHADE.mix(0.25).filled(),
        )))?;
    }
    if panel.stacked {
        for (i, line) in panel.lines.iter().enumerate() {
            let below = i.checked_sub(1).map(|b| &panel.lines[b]);
            chart.draw_series(std::iter::once(Polygon::new(
                layer(line, below, x.scale),
                rgb(line.color).mix(0.45).filled(),
            )))?;
        }
    }
    // Dashed lines (targets, limits) go over the solid ones.
    let lines = panel.lines.iter().enumerate();
    let solid = lines.clone().filter(|(_, l)| !l.dashed);
    for (i, line) in solid.chain(lines.filter(|(_, l)| l.dashed)) {
        let color = rgb(line.color);
        let points = points(line, x.scale);
        if let Some(band) = band(line, x.scale) {
            chart.draw_series(std::iter::once(Polygon::new(
                band,
                color.mix(0.18).filled(),
            )))?;
        }
        let style = color.stroke_width(line.width);
        let joined = if line.scatter {
            Vec::new()
        } else {
            segments(&points)
        };
        for segment in joined {
            if line.dashed {
                chart.draw_series(DashedLineSeries::new(segment, 8, 5, style))?;
            } else if segment.len() == 1 && !line.markers {
                // A lone point shows as a dot.
                chart.draw_series(std::iter::once(Circle::new(segment[0], 2, color.filled())))?;
            } else {
                chart.draw_series(LineSeries::new(segment, style))?;
            }
        }
        if line.markers || line.scatter {
            chart.draw_series(
                points
                    .iter()
                    .flatten()
                    .map(|&p| Circle::new(p, 3, color.filled())),
            )?;
        }
        if let Some(ring) = panel.ring.as_ref().filter(|r| r.line == i)
            && let Some(Some(p)) = points.get(ring.point)
        {
            chart.draw_series(std::iter::once(Circle::new(*p, 9, GOAL.stroke_width(2))))?;
        }
    }
    for mark in &panel.marks {
        // Twenty dashes up the chart.
        let at = mark.x / x.scale;
        let steps = 40;
        let dashes = (0..steps).step_by(2).map(|k| {
            let y0 = y_max * k as f64 / steps as f64;
            let y1 = y_max * (k + 1) as f64 / steps as f64;
            PathElement::new(vec![(at, y0), (at, y1)], INK.stroke_width(1))
        });
        chart.draw_series(dashes)?;
    }
    if let Some(bound) = &panel.bound {
        // Thirty dashes across the chart, whatever its x range.
        let (lo, hi) = x.range;
        let steps = 60;
        let dashes = (0..steps).step_by(2).map(|k| {
            let x0 = lo + (hi - lo) * k as f64 / steps as f64;
            let x1 = lo + (hi - lo) * (k + 1) as f64 / steps as f64;
            PathElement::new(
                vec![(x0, bound.value), (x1, bound.value)],
                GOAL.stroke_width(2),
            )
        });
        chart.draw_series(dashes)?;
    }
    draw_legend(&legend, panel, frame)
}

/// A line's points in axis units; `None` where a value is missing.
fn points(line: &Line, scale: f64) -> Vec<Option<(f64, f64)>> {
    line.x
        .iter()
        .zip(&line.values)
        .map(|(x, v)| v.map(|v| (x / scale, v)))
        .collect()
}

/// The outline of a stacked layer: along `line`, back along `below` (or zero); a missing
/// value counts as zero.
fn layer(line: &Line, below: Option<&Line>, scale: f64) -> Vec<(f64, f64)> {
    let at = |l: &Line, i: usize| l.values.get(i).copied().flatten().unwrap_or(0.0);
    let xs = line.x.iter().map(|x| x / scale);
    let mut outline: Vec<(f64, f64)> = xs
        .clone()
        .enumerate()
        .map(|(i, x)| (x, at(line, i)))
        .collect();
    let base: Vec<(f64, f64)> = xs
        .enumerate()
        .map(|(i, x)| (x, below.map_or(0.0, |b| at(b, i))))
        .collect();
    outline.extend(base.into_iter().rev());
    outline
}

/// Runs of consecutive points with a value; a missing value breaks the line.
fn segments(points: &[Option<(f64, f64)>]) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    for p in points {
        match p {
            Some(p) => current.push(*p),
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

/// The outline of a line's confidence band (along its top, back along its bottom, which stops
/// at zero), when any half-width is above zero.
fn band(line: &Line, scale: f64) -> Option<Vec<(f64, f64)>> {
    let halves = line.band.as_ref()?;
    if !halves.iter().any(|h| *h > 0.0) {
        return None;
    }
    let known: Vec<(f64, f64, f64)> = line
        .x
        .iter()
        .zip(&line.values)
        .zip(halves)
        .filter_map(|((x, v), h)| v.map(|v| (x / scale, v, *h)))
        .collect();
    let mut outline: Vec<(f64, f64)> = known.iter().map(|(x, m, h)| (*x, m + h)).collect();
    outline.extend(known.iter().rev().map(|(x, m, h)| (*x, (m - h).max(0.0))));
    Some(outline)
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    frame: &Frame,
) -> DrawResult<DB> {
    let text = (FONT, frame.text_size)
        .into_font()
        .color(&INK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let (x0, x1, x_text) = (6, 36, 44);
    let mut y = 44;
    for line in &panel.lines {
        let style = rgb(line.color).stroke_width(line.width + 1);
        if line.scatter {
            area.draw(&Circle::new((x0 + 15, y), 4, rgb(line.color).filled()))?;
        } else if line.dashed {
            for x in [x0, x0 + 11, x0 + 22] {
                area.draw(&PathElement::new(vec![(x, y), ((x + 7).min(x1), y)], style))?;
            }
        } else {
            area.draw(&PathElement::new(vec![(x0, y), (x1, y)], style))?;
        }
        area.draw(&Text::new(line.label.clone(), (x_text, y), text.clone()))?;
        y += frame.legend_row;
    }
    if let Some(bound) = &panel.bound {
        let style = GOAL.stroke_width(2);
        area.draw(&PathElement::new(vec![(x0, y), (x0 + 12, y)], style))?;
        area.draw(&PathElement::new(vec![(x0 + 18, y), (x1, y)], style))?;
        area.draw(&Text::new(bound.label.clone(), (x_text, y), text.clone()))?;
        y += frame.legend_row;
    }
    if !panel.marks.is_empty() {
        let style = INK.stroke_width(1);
        for dy in [-7, 1] {
            area.draw(&PathElement::new(
                vec![(x0 + 15, y + dy), (x0 + 15, y + dy + 5)],
                style,
            ))?;
        }
        let mut labels: Vec<&str> = Vec::new();
        for m in &panel.marks {
            if !labels.contains(&m.label.as_str()) {
                labels.push(&m.label);
            }
        }
        let mut label = labels.join("; ");
        if label.chars().count() > 28 {
            label = format!("{}…", label.chars().take(27).collect::<String>());
        }
        area.draw(&Text::new(label, (x_text, y), text.clone()))?;
        y += frame.legend_row;
    }
    if let Some(ring) = &panel.ring {
        area.draw(&Circle::new((x0 + 15, y), 8, GOAL.stroke_width(2)))?;
        area.draw(&Text::new(ring.label.clone(), (x_text, y), text.clone()))?;
        y += frame.legend_row;
    }
    if let Some(shade) = &frame.x.shade {
        area.draw(&Rectangle::new(
            [(x0, y - 7), (x1, y + 7)],
            SHADE.mix(0.35).filled(),
        ))?;
        area.draw(&Text::new(shade.label.clone(), (x_text, y), text.clone()))?;
        y += frame.legend_row;
    }
    if let Some(note) = &panel.note {
        let small = (FONT, 13)
            .into_font()
            .color(&GREY)
            .pos(Pos::new(HPos::Left, VPos::Center));
        y += 6;
        for row in wrap(note, NOTE_WIDTH) {
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

/// The figure as SVG text, as [`write_figure`] writes it (the browser shows it inline).
pub fn render_svg(figure: &Figure, frame: &Frame) -> io::Result<String> {
    register_font()?;
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, figure_size(figure, frame)).into_drawing_area();
        draw_figure(&root, figure, frame).map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// A PNG of the figure, with text laid out by the embedded font (see [`raster`]).
fn render_png(figure: &Figure, frame: &Frame) -> io::Result<Vec<u8>> {
    let (w, h) = figure_size(figure, frame);
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let root = raster::Raster::new(
            BitMapBackend::with_buffer(&mut pixels, (w, h)),
            text_font()?,
        )
        .into_drawing_area();
        draw_figure(&root, figure, frame).map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        // Fast (fdeflate, tuned for PNG) rather than the default Balanced: on a 20-minute M/M/8
        // run the default's deflate cost 180 M instructions, more than half the simulation's
        // 286 M; Fast costs about 35 M, for files about 1.6 times larger (28 -> 44 KB).
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().map_err(io::Error::other)?;
        writer.write_image_data(&pixels).map_err(io::Error::other)?;
        writer.finish().map_err(io::Error::other)?;
    }
    Ok(out)
}

/// The PNG backend: plotters' bitmap backend, with text drawn here. Plotters' own glyph
/// placement drops each glyph's side bearing (letters collide or drift apart); this places
/// every glyph at its advance and bearing, with kerning, anchored and rotated as asked.
mod raster {
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
        let time = [60.0, 120.0, 180.0, 240.0, 300.0];
        let values = vec![Some(1.0), Some(2.0), None, Some(4.0), None];
        let line = Line::new("l", plot::Color::Blue, &time, values);
        assert_eq!(
            segments(&points(&line, 60.0)),
            vec![vec![(1.0, 1.0), (2.0, 2.0)], vec![(4.0, 4.0)]]
        );
    }

    #[test]
    fn bands_stop_at_zero_and_skip_missing_values() {
        let mut line = Line::new(
            "l",
            plot::Color::Blue,
            &[1.0, 2.0, 3.0],
            vec![Some(1.0), None, Some(3.0)],
        );
        assert_eq!(band(&line, 1.0), None, "no band without half-widths");
        line.band = Some(vec![0.0, 0.0, 0.0]);
        assert_eq!(
            band(&line, 1.0),
            None,
            "no band when every half-width is zero"
        );
        line.band = Some(vec![2.0, 5.0, 1.0]);
        assert_eq!(
            band(&line, 1.0),
            Some(vec![(1.0, 3.0), (3.0, 4.0), (3.0, 2.0), (1.0, 0.0)])
        );
    }

    #[test]
    fn a_stacked_layer_runs_along_its_top_and_back_along_the_one_below() {
        let low = Line::new("a", plot::Color::Blue, &[0.0, 60.0], vec![Some(1.0), None]);
        let high = Line::new(
            "b",
            plot::Color::Green,
            &[0.0, 60.0],
            vec![Some(3.0), Some(2.0)],
        );
        assert_eq!(
            layer(&high, Some(&low), 60.0),
            vec![(0.0, 3.0), (1.0, 2.0), (1.0, 0.0), (0.0, 1.0)]
        );
        assert_eq!(
            layer(&low, None, 60.0),
            vec![(0.0, 1.0), (1.0, 0.0), (1.0, 0.0), (0.0, 0.0)]
        );
    }

    #[test]
    fn named_and_whole_ticks_leave_the_rest_blank() {
        let names = Ticks::Names(vec!["a".into(), "b".into()]);
        assert_eq!(names.label(1.0), "b");
        assert_eq!(names.label(0.5), "");
        assert_eq!(names.label(2.0), "");
        let whole = Ticks::Whole(tick);
        assert_eq!(whole.label(3.0), "3");
        assert_eq!(whole.label(2.5), "");
    }

    #[test]
    fn notes_wrap_at_spaces() {
        assert_eq!(
            wrap("no errors, throttles or timeouts", 16),
            vec!["no errors,", "throttles or", "timeouts"]
        );
    }
}
