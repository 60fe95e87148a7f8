//! `timeseries.csv` read back, grouped by workload or component name: what figures are drawn
//! from. Plain data; a kind reads its own columns by name.
//!
//! The file keeps every interval, and a long run has millions of them, so [`Series::read`]
//! streams it and keeps at most [`BUCKETS`] buckets per track, whatever the run's length: each
//! bucket holds, per column, the smallest and the largest value of its rows, in the order they
//! occurred (min/max per pixel column). A line through them covers everything the full series
//! covers, so a spike of a single interval still shows, as the maximum of its bucket; an
//! average (or LTTB, which picks one point per bucket by area) can miss or shrink it. Buckets
//! double in width (merging neighbours, extremes kept exactly) when there would be more than
//! [`BUCKETS`] of them, so the reduction needs no length known in advance.
//!
//! A bucket of one or two rows is those rows, exactly: up to `2 × BUCKETS` intervals are drawn
//! point for point as they were written. Findings that need every interval exactly (a backlog
//! still growing at the end) read the file row by row through [`Rows`] instead.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Most buckets a track keeps. Over five times the width of a run plot's chart (about 770
/// pixels), so a zoomed SVG keeps detail, and twice that many intervals (8 192: two hours at
/// 1 s) are drawn exactly; at about 8 bytes a point in an SVG, a line weighs at most 70 KB.
pub const BUCKETS: usize = 4096;

/// Columns that count what happened in an interval: [`Series::rate`] turns them into rates.
pub const COUNT_COLUMNS: &[&str] = &["arrivals", "completions", "errors", "throttles", "timeouts"];

/// Columns of every row that are not values.
const KEY_COLUMNS: &[&str] = &["time_s", "name", "kind"];

/// `timeseries.csv` row by row, nothing kept: for figures that need every interval exactly.
pub struct Rows {
    reader: csv::Reader<File>,
    record: csv::StringRecord,
    columns: HashMap<String, usize>,
    time: usize,
    name: usize,
    path: PathBuf,
}

/// One row of [`Rows`].
pub struct Row<'a> {
    record: &'a csv::StringRecord,
    time: usize,
    name: usize,
}

impl Row<'_> {
    /// The workload or component the row is of.
    pub fn name(&self) -> &str {
        self.record.get(self.name).unwrap_or_default()
    }

    /// End of the row's interval (s; 0 when unreadable).
    pub fn time(&self) -> f64 {
        self.value(self.time).unwrap_or(0.0)
    }

    /// The value in column number `index` (see [`Rows::column`]); `None` for an empty field.
    pub fn value(&self, index: usize) -> Option<f64> {
        let field = self.record.get(index)?;
        if field.is_empty() {
            return None;
        }
        field.parse::<f64>().ok().filter(|v| v.is_finite())
    }
}

impl Rows {
    /// Opens `path` (a `timeseries.csv`) and reads its header.
    pub fn open(path: &Path) -> io::Result<Rows> {
        let mut reader = csv::Reader::from_path(path).map_err(|e| csv_error(path, e))?;
        let headers = reader.headers().map_err(|e| csv_error(path, e))?;
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
        let (time, name) = (index("time_s")?, index("name")?);
        Ok(Rows {
            reader,
            record: csv::StringRecord::new(),
            columns,
            time,
            name,
            path: path.to_path_buf(),
        })
    }

    /// The number of the column named `name`, if the file has it.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.get(name).copied()
    }

    /// The next row; `None` at the end of the file.
    pub fn next_row(&mut self) -> io::Result<Option<Row<'_>>> {
        let more = self
            .reader
            .read_record(&mut self.record)
            .map_err(|e| csv_error(&self.path, e))?;
        Ok(more.then_some(Row {
            record: &self.record,
            time: self.time,
            name: self.name,
        }))
    }
}

/// The rows a bucket holds: the ends of its first and last intervals and how many.
#[derive(Copy, Clone, Debug, PartialEq)]
struct Span {
    first: f64,
    last: f64,
    rows: u64,
}

/// One column in a bucket: its smallest and largest values, the earlier one first (NaN: no
/// value). A bucket of two rows holds their two values as they are, missing ones included.
#[derive(Copy, Clone, Debug)]
struct Extremes {
    earlier: f64,
    later: f64,
}

impl Extremes {
    const NONE: Extremes = Extremes {
        earlier: f64::NAN,
        later: f64::NAN,
    };

    fn of(value: Option<f64>) -> Extremes {
        let v = value.unwrap_or(f64::NAN);
        Extremes {
            earlier: v,
            later: v,
        }
    }

    /// The extremes of a bucket of `rows` rows in all, made of `self` followed by `next`.
    fn then(self, next: Extremes, rows: u64) -> Extremes {
        if rows > 2 && next.earlier.to_bits() == next.later.to_bits() {
            return self.then_value(next.earlier);
        }
        self.merge(next, rows)
    }

    /// [`Extremes::then`] by searching the four values.
    fn merge(self, next: Extremes, rows: u64) -> Extremes {
        if rows == 2 {
            // Two single rows: both values, exactly, even a missing one.
            return Extremes {
                earlier: self.earlier,
                later: next.earlier,
            };
        }
        let values = [self.earlier, self.later, next.earlier, next.later];
        // The first smallest and the first largest: a tie keeps the earlier one.
        let mut low: Option<usize> = None;
        let mut high: Option<usize> = None;
        for (i, v) in values.iter().enumerate().filter(|(_, v)| !v.is_nan()) {
            if low.is_none_or(|l| *v < values[l]) {
                low = Some(i);
            }
            if high.is_none_or(|h| *v > values[h]) {
                high = Some(i);
            }
        }
        match (low, high) {
            (Some(l), Some(h)) => Extremes {
                earlier: values[l.min(h)],
                later: values[l.max(h)],
            },
            _ => Extremes::NONE,
        }
    }

    /// The extremes of a bucket of more than two rows, `self`, followed by one more value:
    /// what [`Extremes::then`] gives, without its search (the common case, once per row).
    fn then_value(self, v: f64) -> Extremes {
        // A bucket of two rows may hold one missing value.
        let (earlier, later) = match (self.earlier.is_nan(), self.later.is_nan()) {
            (true, true) => return Extremes::of((!v.is_nan()).then_some(v)),
            (true, false) => (self.later, self.later),
            (false, true) => (self.earlier, self.earlier),
            (false, false) => (self.earlier, self.later),
        };
        let (low, high) = if earlier <= later {
            (earlier, later)
        } else {
            (later, earlier)
        };
        if v < low {
            Extremes {
                earlier: high,
                later: v,
            }
        } else if v > high {
            Extremes {
                earlier: low,
                later: v,
            }
        } else {
            Extremes { earlier, later }
        }
    }
}

/// What a track keeps of a column: its value, or its value per second of the interval.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Measure {
    Value(usize),
    Rate(usize),
}

/// The rows of one workload or component, reduced to at most [`BUCKETS`] buckets.
#[derive(Debug)]
struct Track {
    /// Rows per bucket (a power of two); the last bucket may hold fewer.
    width: u64,
    spans: Vec<Span>,
    /// Per measure (by its number in [`Series::read`]'s list): where its extremes are in
    /// `columns`, once it has had a value.
    slots: Vec<Option<usize>>,
    /// The extremes per bucket (aligned with `spans`) of each measure that has had a value.
    columns: Vec<Vec<Extremes>>,
    /// End of the latest interval (s).
    latest: f64,
    /// The drawn times: one per bucket of one row, two (its ends) per larger bucket.
    time: Vec<f64>,
}

impl Track {
    fn new(measures: usize) -> Track {
        Track {
            width: 1,
            spans: Vec::new(),
            slots: vec![None; measures],
            columns: Vec::new(),
            latest: 0.0,
            time: Vec::new(),
        }
    }

    /// Adds one row: the end of its interval and the value of every measure (`None` where
    /// empty).
    fn push(&mut self, time: f64, values: &[Option<f64>]) {
        let extend = self.spans.last().is_some_and(|s| s.rows < self.width);
        if extend {
            let span = self.spans.last_mut().expect("a bucket");
            span.last = time;
            span.rows += 1;
        } else {
            if self.spans.len() == BUCKETS {
                self.halve();
            }
            self.spans.push(Span {
                first: time,
                last: time,
                rows: 1,
            });
        }
        let rows = self.spans.last().map_or(1, |s| s.rows);
        let buckets = self.spans.len();
        for (slot, &value) in self.slots.iter_mut().zip(values) {
            let column = match slot {
                Some(at) => &mut self.columns[*at],
                None if value.is_none() => continue,
                None => {
                    *slot = Some(self.columns.len());
                    self.columns.push(vec![Extremes::NONE; buckets - 1]);
                    self.columns.last_mut().expect("just pushed")
                }
            };
            if extend {
                let last = column.last_mut().expect("a bucket");
                *last = last.then(Extremes::of(value), rows);
            } else {
                column.push(Extremes::of(value));
            }
        }
        self.latest = time;
    }

    /// Merges neighbouring buckets in pairs: half as many, twice as wide.
    fn halve(&mut self) {
        for column in &mut self.columns {
            *column = column
                .chunks(2)
                .zip(self.spans.chunks(2))
                .map(|(pair, spans)| match (pair, spans) {
                    ([a, b], [s, t]) => a.then(*b, s.rows + t.rows),
                    _ => pair[0],
                })
                .collect();
        }
        self.spans = self
            .spans
            .chunks(2)
            .map(|pair| Span {
                first: pair[0].first,
                last: pair[pair.len() - 1].last,
                rows: pair.iter().map(|s| s.rows).sum(),
            })
            .collect();
        self.width *= 2;
    }

    /// Works out the drawn times once every row is in.
    fn finish(&mut self) {
        self.time = self
            .spans
            .iter()
            .flat_map(|s| [s.first, s.last].into_iter().take(ends(s)))
            .collect();
    }

    /// The drawn values of measure number `measure`, aligned with `time`.
    fn values(&self, measure: usize) -> Vec<Option<f64>> {
        let Some(at) = self.slots.get(measure).copied().flatten() else {
            return vec![None; self.time.len()];
        };
        let known = |v: f64| (!v.is_nan()).then_some(v);
        self.spans
            .iter()
            .zip(&self.columns[at])
            .flat_map(|(s, e)| [known(e.earlier), known(e.later)].into_iter().take(ends(s)))
            .collect()
    }
}

/// Points a bucket draws: its row, or its two extremes at its two ends.
fn ends(span: &Span) -> usize {
    if span.rows == 1 { 1 } else { 2 }
}

/// `timeseries.csv`, grouped by name, each track reduced to at most [`BUCKETS`] buckets.
pub struct Series {
    /// What each track keeps, in order: every value column, each count followed by its rate.
    measures: Vec<Measure>,
    columns: HashMap<String, usize>,
    tracks: HashMap<String, Track>,
}

/// A [`Series`] built one row at a time: from the file ([`Series::read`]), or from the rows
/// as a run writes them, so the plots need not read the file back.
pub struct SeriesBuilder {
    measures: Vec<Measure>,
    columns: HashMap<String, usize>,
    tracks: HashMap<String, Track>,
    /// One row's measures, reused from row to row.
    values: Vec<Option<f64>>,
}

impl SeriesBuilder {
    /// A builder for rows with these columns (name → number in the row, `time_s`, `name` and
    /// `kind` among them).
    pub fn new(columns: HashMap<String, usize>) -> SeriesBuilder {
        let mut named: Vec<(&str, usize)> = columns
            .iter()
            .filter(|(name, _)| !KEY_COLUMNS.contains(&name.as_str()))
            .map(|(name, &i)| (name.as_str(), i))
            .collect();
        named.sort_by_key(|&(_, i)| i);
        let mut measures = Vec::new();
        for (name, i) in named {
            measures.push(Measure::Value(i));
            if COUNT_COLUMNS.contains(&name) {
                measures.push(Measure::Rate(i));
            }
        }
        SeriesBuilder {
            values: Vec::with_capacity(measures.len()),
            measures,
            columns,
            tracks: HashMap::new(),
        }
    }

    /// Adds the row of `name` for the interval that ends at `time` (s); `value(i)` is the value
    /// in column number `i` (`None` when empty). Values that are not finite count as empty,
    /// as they do when read from the file.
    pub fn push(&mut self, time: f64, name: &str, value: impl Fn(usize) -> Option<f64>) {
        let track = match self.tracks.get_mut(name) {
            Some(track) => track,
            None => self
                .tracks
                .entry(name.to_string())
                .or_insert_with(|| Track::new(self.measures.len())),
        };
        // The interval's length: from the end of the track's previous one (or 0).
        let dt = time - track.latest;
        let values = &mut self.values;
        values.clear();
        for &m in &self.measures {
            let v = match m {
                Measure::Value(i) => value(i).filter(|v| v.is_finite()),
                // Right after the count's value.
                Measure::Rate(_) => values
                    .last()
                    .copied()
                    .flatten()
                    .map(|v| if dt > 0.0 { v / dt } else { 0.0 }),
            };
            values.push(v);
        }
        track.push(time, values);
    }

    /// The series, every row in.
    pub fn finish(mut self) -> Series {
        for track in self.tracks.values_mut() {
            track.finish();
        }
        Series {
            measures: self.measures,
            columns: self.columns,
            tracks: self.tracks,
        }
    }
}

impl Series {
    /// Reads `path` (a `timeseries.csv`), one row at a time.
    pub fn read(path: &Path) -> io::Result<Series> {
        let mut rows = Rows::open(path)?;
        let mut builder = SeriesBuilder::new(rows.columns.clone());
        while let Some(row) = rows.next_row()? {
            builder.push(row.time(), row.name(), |i| row.value(i));
        }
        Ok(builder.finish())
    }

    /// The column `column` of `name`, aligned with [`Series::time`] (all `None` when the column
    /// does not exist).
    pub fn column(&self, name: &str, column: &str) -> Vec<Option<f64>> {
        let measure = self.columns.get(column).map(|&i| Measure::Value(i));
        self.values(name, measure)
    }

    /// A count column of `name` ([`COUNT_COLUMNS`]) as a rate per second over each interval,
    /// aligned with [`Series::time`] (all `None` for another column).
    pub fn rate(&self, name: &str, column: &str) -> Vec<Option<f64>> {
        debug_assert!(COUNT_COLUMNS.contains(&column), "`{column}` counts nothing");
        let measure = self.columns.get(column).map(|&i| Measure::Rate(i));
        self.values(name, measure)
    }

    fn values(&self, name: &str, measure: Option<Measure>) -> Vec<Option<f64>> {
        let Some(track) = self.tracks.get(name) else {
            return Vec::new();
        };
        match measure.and_then(|m| self.measures.iter().position(|x| *x == m)) {
            Some(m) => track.values(m),
            None => vec![None; track.time.len()],
        }
    }

    /// Where `name`'s points are (s): the end of each interval, or of the first and last
    /// interval of each bucket once a long run's intervals are merged.
    pub fn time(&self, name: &str) -> &[f64] {
        self.tracks.get(name).map_or(&[], |t| &t.time)
    }

    /// Some track has buckets of more than two intervals: its lines are envelopes (each
    /// bucket's extremes), no longer the intervals themselves.
    pub fn reduced(&self) -> bool {
        self.tracks.values().any(|t| t.width > 2)
    }

    /// End of the latest interval of any name (s; 0 without rows).
    pub fn latest(&self) -> f64 {
        // A maximum: the hash map's order does not reach the result.
        self.tracks.values().fold(0.0f64, |m, t| m.max(t.latest))
    }
}

fn csv_error(path: &Path, e: csv::Error) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {e}", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A track of one measure fed `values` at times 1, 2, 3...
    fn track(values: &[Option<f64>]) -> Track {
        let mut t = Track::new(1);
        for (i, v) in values.iter().enumerate() {
            t.push((i + 1) as f64, &[*v]);
        }
        t.finish();
        t
    }

    /// A deterministic wiggle in 0..10.
    fn noise(i: usize) -> f64 {
        ((i * 7_919) % 1_000) as f64 / 100.0
    }

    #[test]
    fn up_to_twice_as_many_rows_as_buckets_are_drawn_as_they_are() {
        for n in [0, 1, 7, BUCKETS, BUCKETS + 1, 2 * BUCKETS - 1, 2 * BUCKETS] {
            let values: Vec<Option<f64>> = (0..n).map(|i| (i % 5 != 3).then(|| noise(i))).collect();
            let t = track(&values);
            let times: Vec<f64> = (1..=n).map(|i| i as f64).collect();
            assert_eq!(t.time, times, "{n} rows");
            assert_eq!(t.values(0), values, "{n} rows");
        }
    }

    #[test]
    fn each_bucket_keeps_the_exact_extremes_of_its_rows_in_order() {
        let n = 10 * BUCKETS + 123;
        let values: Vec<Option<f64>> = (0..n)
            .map(|i| (i % 97 != 0).then(|| noise(i) - 5.0))
            .collect();
        let t = track(&values);
        assert!(t.spans.len() <= BUCKETS && t.spans.len() > BUCKETS / 2);
        assert_eq!(t.time.len(), t.values(0).len());
        assert!(t.time.len() <= 2 * BUCKETS);
        let mut start = 0;
        for (span, e) in t.spans.iter().zip(&t.columns[0]) {
            let rows = span.rows as usize;
            let bucket: Vec<(usize, f64)> = (start..start + rows)
                .filter_map(|i| values[i].map(|v| (i, v)))
                .collect();
            let low = bucket
                .iter()
                .fold(bucket[0], |a, b| if b.1 < a.1 { *b } else { a });
            let high = bucket
                .iter()
                .fold(bucket[0], |a, b| if b.1 > a.1 { *b } else { a });
            let (earlier, later) = if low.0 <= high.0 {
                (low, high)
            } else {
                (high, low)
            };
            assert_eq!((e.earlier, e.later), (earlier.1, later.1), "rows {start}..");
            assert_eq!(
                (span.first, span.last),
                ((start + 1) as f64, (start + rows) as f64)
            );
            start += rows;
        }
        assert_eq!(start, n, "every row in a bucket");
    }

    #[test]
    fn one_more_value_gives_what_the_search_gives() {
        let values = [f64::NAN, -1.0, 0.0, 2.0, 2.0, 5.0];
        for &a in &values {
            for &b in &values {
                for &v in &values {
                    let two = Extremes {
                        earlier: a,
                        later: b,
                    };
                    let searched = two.merge(Extremes::of((!v.is_nan()).then_some(v)), 3);
                    let quick = two.then_value(v);
                    let bits = |e: Extremes| (e.earlier.to_bits(), e.later.to_bits());
                    assert_eq!(bits(quick), bits(searched), "{a} {b} then {v}");
                }
            }
        }
    }

    #[test]
    fn a_single_interval_spike_in_a_long_series_shows() {
        let n = 1_000_000;
        let spike = 654_321;
        let values: Vec<Option<f64>> = (0..n)
            .map(|i| Some(if i == spike { 1_000.0 } else { noise(i) }))
            .collect();
        let t = track(&values);
        let drawn = t.values(0);
        assert!(drawn.len() <= 2 * BUCKETS);
        let (at, top) = drawn
            .iter()
            .enumerate()
            .map(|(i, v)| (i, v.unwrap()))
            .fold((0, f64::MIN), |a, b| if b.1 > a.1 { b } else { a });
        assert_eq!(top, 1_000.0);
        // Drawn at an end of the bucket that holds it.
        let width = n as f64 / BUCKETS as f64;
        assert!((t.time[at] - (spike + 1) as f64).abs() <= 2.0 * width);
        // And a dip too.
        let low = drawn.iter().map(|v| v.unwrap()).fold(f64::MAX, f64::min);
        assert_eq!(
            low,
            (0..n)
                .filter(|&i| i != spike)
                .map(noise)
                .fold(f64::MAX, f64::min)
        );
    }

    #[test]
    fn the_first_and_last_intervals_are_kept() {
        // A ramp: each bucket's extremes are its first and last rows, so the reduced line
        // starts and ends where the full one does.
        let n = 50_001;
        let values: Vec<Option<f64>> = (0..n).map(|i| Some(i as f64 * 0.5)).collect();
        let t = track(&values);
        let drawn = t.values(0);
        assert_eq!((t.time[0], drawn[0]), (1.0, Some(0.0)));
        let last = t.time.len() - 1;
        assert_eq!(
            (t.time[last], drawn[last]),
            (n as f64, Some((n - 1) as f64 * 0.5))
        );
        assert!(t.time.windows(2).all(|w| w[0] < w[1]), "times increase");
    }

    #[test]
    fn a_column_that_starts_late_is_empty_before() {
        let mut t = Track::new(2);
        for i in 0..3 * BUCKETS {
            let late = (i >= 2 * BUCKETS).then_some(1.0);
            t.push(i as f64, &[Some(2.0), late]);
        }
        t.finish();
        let late = t.values(1);
        assert_eq!(late.len(), t.time.len());
        let first = late.iter().position(Option::is_some).unwrap();
        assert!(t.time[first] >= (2 * BUCKETS - 4) as f64);
        assert!(late[first..].iter().all(|v| *v == Some(1.0)));
        assert!(t.values(0).iter().all(|v| *v == Some(2.0)));
    }

    fn scratch_csv(name: &str, text: &str) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("awsim-series-{}-{name}.csv", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn counts_are_request_columns() {
        for c in COUNT_COLUMNS {
            assert!(crate::metrics::REQUEST_COLUMNS.contains(c), "{c}");
        }
    }

    #[test]
    fn counts_become_rates_over_each_interval() {
        let path = scratch_csv(
            "rates",
            "time_s,name,kind,completions,queue_length\n\
             10,a,workload,20,\n\
             10,b,echo,5,3\n\
             20,a,workload,50,\n\
             25,a,workload,10,\n",
        );
        let series = Series::read(&path).unwrap();
        std::fs::remove_file(&path).ok();
        assert_eq!(series.time("a"), &[10.0, 20.0, 25.0]);
        assert_eq!(
            series.rate("a", "completions"),
            vec![Some(2.0), Some(5.0), Some(2.0)]
        );
        assert_eq!(
            series.column("a", "completions"),
            vec![Some(20.0), Some(50.0), Some(10.0)]
        );
        assert_eq!(series.column("a", "queue_length"), vec![None; 3]);
        assert_eq!(series.column("b", "queue_length"), vec![Some(3.0)]);
        assert_eq!(series.column("a", "nothing"), vec![None; 3]);
        assert!(series.column("c", "completions").is_empty());
        assert_eq!(series.latest(), 25.0);
    }

    #[test]
    fn rates_are_reduced_per_interval_not_per_bucket() {
        // Intervals of 1 s, then one of 0.1 s: its rate is ten times its count.
        let mut text = String::from("time_s,name,kind,errors\n");
        let n = 3 * BUCKETS;
        for i in 1..=n {
            text.push_str(&format!("{i},a,workload,1\n"));
        }
        text.push_str(&format!("{},a,workload,1\n", n as f64 + 0.1));
        let path = scratch_csv("partial", &text);
        let series = Series::read(&path).unwrap();
        std::fs::remove_file(&path).ok();
        let rates = series.rate("a", "errors");
        let top = rates.iter().flatten().fold(0.0f64, |a, b| a.max(*b));
        assert!((top - 10.0).abs() < 1e-6, "{top}");
        assert!(
            rates
                .iter()
                .flatten()
                .all(|r| *r == 1.0 || (r - 10.0).abs() < 1e-6)
        );
    }
}
