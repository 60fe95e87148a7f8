//! Long runs: `timeseries.csv` keeps every interval, while the plots and the report are drawn
//! from a reduced series, so their size stays bounded however long the run, a spike of a single
//! interval still shows, and the report's findings stay exact.

use std::path::{Path, PathBuf};

use awsim::engine::time::SimDuration;
use awsim::metrics::finding::{fixed, whole};
use awsim::metrics::series::{BUCKETS, COUNT_COLUMNS, Series};
use awsim::output::plots::write_run_plots;
use awsim::output::report::write_report;
use awsim::output::timeseries::CsvSeries;
use awsim::run::run;
use awsim::run::summary::Summary;
use awsim::scenario::{RunSettings, Scenario};

const MMC: &str = "scenarios/examples/mmc.toml";
/// Largest report of any run length.
const REPORT_BOUND: u64 = 2_000_000;

fn scratch(name: &str) -> PathBuf {
    crate::common::scratch("long", name)
}

/// M/M/8 with arrivals at `rate` per second, for `seconds` at an interval of `interval_ms`,
/// with its time series written to `dir`.
fn run_mmc(dir: &Path, rate: &str, seconds: u64, interval_ms: u64) -> (Scenario, Summary) {
    let text = std::fs::read_to_string(MMC).unwrap();
    let text = text.replace("rate = \"72/s\"", &format!("rate = \"{rate}\""));
    let scenario = Scenario::parse(&text, Path::new(MMC)).expect("valid scenario");
    let settings = RunSettings {
        duration: Some(SimDuration::from_secs(seconds)),
        interval: Some(SimDuration::from_millis(interval_ms)),
        ..RunSettings::default()
    };
    let mut series =
        CsvSeries::create(&dir.join("timeseries.csv"), &scenario.series_kinds()).unwrap();
    let summary = run(&scenario, settings, &mut series, |_| {}).expect("run");
    series.finish().unwrap();
    (scenario, summary)
}

/// Writes the plots and the report of the run in `dir`, drawn from its `timeseries.csv` as it
/// is on disk now; returns the plot files.
fn draw(dir: &Path, scenario: &Scenario, summary: &Summary) -> Vec<PathBuf> {
    let series = Series::read(&dir.join("timeseries.csv")).expect("series read");
    let plots = write_run_plots(dir, summary, &series).expect("plots written");
    write_report(dir, scenario, summary, &plots).expect("report written");
    plots.files
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

/// The rows of `timeseries.csv` of `name`: header and fields.
fn rows(dir: &Path, name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(dir.join("timeseries.csv")).unwrap();
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect::<Vec<_>>())
        .filter(|r| r[1] == name)
        .collect();
    (header, rows)
}

/// The points of the data lines (ten points or more) drawn in `color` in an SVG.
fn svg_lines(svg: &str, color: &str) -> Vec<Vec<(i32, i32)>> {
    svg.split("<polyline")
        .skip(1)
        .filter(|p| p.contains(&format!("stroke=\"{color}\"")))
        .map(|p| {
            let points = p
                .split("points=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            points
                .split_whitespace()
                .map(|xy| {
                    let (x, y) = xy.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect::<Vec<_>>()
        })
        .filter(|line| line.len() >= 10)
        .collect()
}

#[test]
fn the_series_reduced_while_written_is_the_series_read_back() {
    // 2 h at 100 ms: 72 000 intervals, reduced to buckets of 32 rows, with every kind of
    // column (counts and their rates, optional queue lengths, latencies, a kind's own).
    let dir = scratch("reduced");
    let text = std::fs::read_to_string(MMC).unwrap();
    let scenario = Scenario::parse(&text, Path::new(MMC)).expect("valid scenario");
    let settings = RunSettings {
        duration: Some(SimDuration::from_secs(7_200)),
        interval: Some(SimDuration::from_millis(100)),
        ..RunSettings::default()
    };
    let mut series =
        CsvSeries::create(&dir.join("timeseries.csv"), &scenario.series_kinds()).unwrap();
    run(&scenario, settings, &mut series, |_| {}).expect("run");
    let reduced = series.finish().unwrap();
    let read = Series::read(&dir.join("timeseries.csv")).unwrap();
    assert!(reduced.reduced() && read.reduced());
    assert_eq!(reduced.latest().to_bits(), read.latest().to_bits());
    let header = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    let header = header.lines().next().unwrap().to_string();
    let bits = |v: Vec<Option<f64>>| -> Vec<Option<u64>> {
        v.into_iter().map(|x| x.map(f64::to_bits)).collect()
    };
    let mut compared = 0;
    for name in ["arrivals", "server"] {
        let time = |s: &Series| s.time(name).iter().map(|t| t.to_bits()).collect::<Vec<_>>();
        assert_eq!(time(&reduced), time(&read), "{name}");
        assert!(!reduced.time(name).is_empty(), "{name}");
        for column in header.split(',').skip(3) {
            let (a, b) = (reduced.column(name, column), read.column(name, column));
            compared += a.iter().flatten().count();
            assert_eq!(bits(a), bits(b), "{name} {column}");
        }
        for column in COUNT_COLUMNS {
            let (a, b) = (reduced.rate(name, column), read.rate(name, column));
            assert_eq!(bits(a), bits(b), "{name} {column} rate");
        }
    }
    assert!(compared > 10_000, "{compared} values compared");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_long_run_draws_bounded_plots_that_still_show_a_one_interval_spike() {
    // 1 h at 100 ms: 36 000 intervals, over four times what is drawn point for point.
    let dir = scratch("spike");
    let (scenario, summary) = run_mmc(&dir, "72/s", 3_600, 100);
    let (header, arrivals) = rows(&dir, "arrivals");
    assert_eq!(
        arrivals.len(),
        36_000,
        "timeseries.csv keeps every interval"
    );
    assert!(arrivals.len() > 4 * BUCKETS);

    // One interval, late in the run, gets a p99 far above any other.
    let p99 = header.iter().position(|h| h == "latency_p99_ms").unwrap();
    let csv = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    let at = "2345.6,arrivals,workload,";
    let line = csv.lines().find(|l| l.starts_with(at)).expect("the row");
    let mut fields: Vec<&str> = line.split(',').collect();
    assert!(!fields[p99].is_empty(), "a p99 to raise");
    fields[p99] = "1000000";
    let spiked = csv.replacen(line, &fields.join(","), 1);
    std::fs::write(dir.join("timeseries.csv"), spiked).unwrap();

    let plots = draw(&dir, &scenario, &summary);
    let report = dir.join("report.html");
    assert!(
        size(&report) < REPORT_BOUND,
        "report.html: {} bytes",
        size(&report)
    );
    for plot in &plots {
        // At most 2 × BUCKETS points per line, each under 10 bytes, for at most 3 lines.
        let bound = 40_000 + 3 * 2 * BUCKETS as u64 * 10;
        assert!(
            size(plot) < bound,
            "{}: {} bytes",
            plot.display(),
            size(plot)
        );
    }

    // The y axis reaches the spike, and the p99 line climbs to it from the bottom.
    let svg = std::fs::read_to_string(dir.join("latency.svg")).unwrap();
    assert!(svg.contains("\n1000000\n"), "the axis reaches the spike");
    let p99_lines = svg_lines(&svg, "#D55E00");
    let mut ys: Vec<i32> = p99_lines.iter().flatten().map(|p| p.1).collect();
    assert!(ys.len() <= 2 * BUCKETS, "{} points", ys.len());
    ys.sort_unstable();
    let (top, median) = (ys[0], ys[ys.len() / 2]);
    assert!(
        median - top > 150,
        "spike at y = {top}, median y = {median}"
    );
    // The report inlines it.
    let page = std::fs::read_to_string(&report).unwrap();
    assert!(page.contains("\n1000000\n"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn plots_do_not_grow_with_the_run() {
    let sizes = |seconds: u64| {
        let dir = scratch(&format!("grow-{seconds}"));
        let (scenario, summary) = run_mmc(&dir, "72/s", seconds, 100);
        let plots = draw(&dir, &scenario, &summary);
        let mut sizes: Vec<u64> = plots.iter().map(|p| size(p)).collect();
        sizes.push(size(&dir.join("report.html")));
        std::fs::remove_dir_all(&dir).ok();
        sizes
    };
    // 18 000 and 72 000 intervals: four times the run, about the same pictures.
    let (short, long) = (sizes(1_800), sizes(7_200));
    assert_eq!(short.len(), long.len());
    for (s, l) in short.iter().zip(&long) {
        assert!(
            (*l as f64) < 1.25 * *s as f64,
            "{long:?} against {short:?} bytes"
        );
    }
    assert!(long.last().unwrap() < &REPORT_BOUND);
}

/// The least-squares fit of the report's growing-backlog finding, worked out here from every
/// interval: (from, to, slope) over the last quarter of the measured points.
fn fit(points: &[(f64, f64)]) -> (f64, f64, f64) {
    let tail = &points[points.len() - (points.len() / 4).max(4)..];
    let n = tail.len() as f64;
    let mean_t = tail.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_v = tail.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = tail.iter().map(|p| (p.0 - mean_t).powi(2)).sum();
    let sxy: f64 = tail.iter().map(|p| (p.0 - mean_t) * (p.1 - mean_v)).sum();
    let slope = sxy / sxx;
    let from = mean_v + slope * (tail[0].0 - mean_t);
    (from, tail[tail.len() - 1].1, slope)
}

#[test]
fn a_long_runs_findings_are_read_from_every_interval() {
    // Arrivals at 1.125 times the servers' capacity: the queue grows to the end, and the
    // servers are busy nearly all the time. 30 min at 100 ms: 18 000 intervals.
    let dir = scratch("findings");
    let (scenario, summary) = run_mmc(&dir, "90/s", 1_800, 100);
    draw(&dir, &scenario, &summary);
    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();

    let (header, server) = rows(&dir, "server");
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (time, queue, busy) = (col("time_s"), col("queue_length"), col("utilisation"));
    let measured: Vec<&Vec<String>> = server
        .iter()
        .filter(|r| r[time].parse::<f64>().unwrap() > summary.warmup_s)
        .collect();
    let saturated: Vec<f64> = measured
        .iter()
        .filter(|r| r[busy].parse::<f64>().is_ok_and(|u| u > 0.95))
        .map(|r| r[time].parse().unwrap())
        .collect();
    assert!(saturated.len() > 1_000 && measured.len() > 2 * BUCKETS);
    let note = format!(
        "in {} of {} measured intervals (the first ending at {:.0} s)",
        saturated.len(),
        measured.len(),
        saturated[0]
    );
    assert!(page.contains(&note), "no `{note}`");

    let points: Vec<(f64, f64)> = measured
        .iter()
        .map(|r| (r[time].parse().unwrap(), r[queue].parse().unwrap()))
        .collect();
    let (from, to, slope) = fit(&points);
    assert!(slope > 10.0, "the queue grows: {slope}/s");
    let warning = format!(
        "queued requests still growing when the run ended: from {} to {} over the last",
        whole(from),
        whole(to)
    );
    assert!(page.contains(&warning), "no `{warning}`");
    assert!(page.contains(&format!("(about {}/s)", fixed(slope, 2))));
    std::fs::remove_dir_all(&dir).ok();
}
