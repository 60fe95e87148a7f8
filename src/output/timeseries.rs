//! `timeseries.csv`: one row per interval and component, streamed to disk as the run goes (so
//! memory stays flat), under a temporary name until the run completes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::components::SeriesKinds;
use crate::engine::time::SimTime;
use crate::files::csv_text;
use crate::metrics::series::{Series, SeriesBuilder};
use crate::metrics::{REQUEST_COLUMNS, SeriesRow, SeriesSink};

/// Column names, in order: the time, the component, the request columns every component has,
/// then the own columns of the kinds in `kinds` ([`crate::components::series_columns`]); a row
/// leaves empty the columns its kind does not have.
pub fn columns(kinds: &SeriesKinds) -> Vec<&'static str> {
    let mut columns = vec!["time_s", "name", "kind"];
    columns.extend_from_slice(REQUEST_COLUMNS);
    columns.extend(crate::components::series_columns(kinds));
    columns
}

/// Writes rows to `timeseries.csv` through a temporary file ([`CsvSeries::create`]), or into
/// memory ([`CsvSeries::in_memory`]: the browser, which has no files).
pub struct CsvSeries<W: Write = BufWriter<File>> {
    writer: csv::Writer<W>,
    /// The kinds' own columns, in file order.
    kind_columns: Vec<&'static str>,
    /// Per kind: where each of its own columns goes among `kind_columns` (`None`: an optional
    /// column this run does not write).
    places: BTreeMap<String, Vec<Option<usize>>>,
    tmp: PathBuf,
    path: PathBuf,
    error: Option<io::Error>,
    /// One number as text, reused from field to field.
    field: String,
    /// The kinds' own columns of one row, reused from row to row.
    kind_values: Vec<Option<f64>>,
    /// The rows as the plots draw them, reduced as they are written: the plots need not read
    /// the file back.
    reduced: SeriesBuilder,
    /// One row's values by column number, reused from row to row.
    row_values: Vec<Option<f64>>,
}

impl CsvSeries {
    /// Starts writing what will become `path`, with the columns of the kinds in `kinds` (a
    /// scenario's, [`crate::scenario::Scenario::series_kinds`]).
    pub fn create(path: &Path, kinds: &SeriesKinds) -> io::Result<Self> {
        let tmp = super::temp_path(path);
        let file = BufWriter::new(File::create(&tmp)?);
        CsvSeries::start(file, kinds, tmp, path.to_path_buf())
    }

    /// Flushes and renames the file into place and returns what was written as the plots draw
    /// it (the same as [`Series::read`] of the file); reports the first write error, if any.
    pub fn finish(mut self) -> io::Result<Series> {
        if let Some(e) = self.error.take() {
            let _ = std::fs::remove_file(&self.tmp);
            return Err(e);
        }
        self.writer.flush()?;
        let file = self
            .writer
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?;
        file.sync_all()?;
        std::fs::rename(&self.tmp, &self.path)?;
        Ok(self.reduced.finish())
    }

    /// Drops the partial file (the run failed).
    pub fn abandon(self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

impl<W: Write> CsvSeries<W> {
    /// Starts writing `timeseries.csv` into `writer` (memory, in the browser, which has no
    /// files; [`std::io::sink`] to keep only the rows as the plots draw them).
    pub fn to_writer(writer: W, kinds: &SeriesKinds) -> io::Result<Self> {
        CsvSeries::start(writer, kinds, PathBuf::new(), PathBuf::new())
    }

    /// The writer, holding byte for byte what [`CsvSeries::create`] writes to its file, and the
    /// rows as the plots draw them; reports the first write error, if any.
    pub fn finish_writer(mut self) -> io::Result<(W, Series)> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let writer = self
            .writer
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok((writer, self.reduced.finish()))
    }

    /// Writes the header row into `writer`; `tmp` and `path` are the file's names, if any.
    fn start(writer: W, kinds: &SeriesKinds, tmp: PathBuf, path: PathBuf) -> io::Result<Self> {
        let mut writer = csv::Writer::from_writer(writer);
        let columns = columns(kinds);
        writer.write_record(&columns).map_err(io::Error::other)?;
        let numbers = columns
            .iter()
            .enumerate()
            .map(|(i, name)| (name.to_string(), i))
            .collect();
        Ok(CsvSeries {
            reduced: SeriesBuilder::new(numbers),
            row_values: vec![None; columns.len()],
            writer,
            kind_columns: crate::components::series_columns(kinds),
            places: BTreeMap::new(),
            tmp,
            path,
            error: None,
            field: String::new(),
            kind_values: Vec::new(),
        })
    }

    /// Where each of `kind`'s own columns goes: worked out once per kind, not per row.
    fn places_of(&mut self, kind: &str) -> &[Option<usize>] {
        if !self.places.contains_key(kind) {
            let (own, optional) = crate::components::kind_outputs(kind)
                .map_or((&[][..], &[][..]), |k| (k.columns, k.optional_columns));
            let place = |c: &crate::metrics::Column| {
                self.kind_columns.iter().position(|name| *name == c.name)
            };
            let places = own
                .iter()
                .map(|c| Some(place(c).expect("series_columns lists every kind's columns")))
                .chain(optional.iter().map(place))
                .collect();
            self.places.insert(kind.to_string(), places);
        }
        &self.places[kind]
    }

    /// Writes one row field by field, through buffers kept from row to row: a row used to
    /// cost a vector and a string per field, the largest part of sampling every second.
    fn write_row(
        &mut self,
        time: SimTime,
        name: &str,
        kind: &str,
        row: &SeriesRow,
    ) -> csv::Result<()> {
        let mut values = std::mem::take(&mut self.kind_values);
        values.clear();
        values.resize(self.kind_columns.len(), None);
        for (index, &place) in self.places_of(kind).iter().enumerate() {
            if let Some(place) = place {
                values[place] = row.gauges[index];
            }
        }
        let [p50, p90, p99] = match row.latency_ms {
            Some([a, b, c]) => [Some(a), Some(b), Some(c)],
            None => [None, None, None],
        };
        let counts = [
            row.arrivals,
            row.completions,
            row.errors,
            row.throttles,
            row.timeouts,
            row.in_flight,
        ];
        let time_s = time.as_secs_f64();
        // The row by column number, as the plots read it: the numbers the file holds (a count
        // as `f64` is what reading its digits back gives).
        let mut numbers = std::mem::take(&mut self.row_values);
        numbers.clear();
        numbers.extend([None; 3]);
        numbers.extend(counts.map(|c| Some(c as f64)));
        numbers.push(row.queue_length.map(|q| q as f64));
        numbers.extend([row.utilisation, p50, p90, p99]);
        numbers.extend(values.iter().copied());
        debug_assert_eq!(numbers.len(), 3 + REQUEST_COLUMNS.len() + values.len());

        self.decimal(time_s)?;
        self.writer.write_field(csv_text(name).as_bytes())?;
        self.writer.write_field(csv_text(kind).as_bytes())?;
        for count in counts {
            self.integer(count)?;
        }
        match row.queue_length {
            Some(length) => self.integer(length)?,
            None => self.writer.write_field(b"")?,
        }
        for value in [row.utilisation, p50, p90, p99]
            .into_iter()
            .chain(values.iter().copied())
        {
            match value {
                Some(value) => self.decimal(value)?,
                None => self.writer.write_field(b"")?,
            }
        }
        self.kind_values = values;
        self.reduced.push(time_s, name, |i| numbers[i]);
        self.row_values = numbers;
        self.writer.write_record(None::<&[u8]>)
    }

    /// One field: `value` in decimal digits.
    fn integer(&mut self, value: u64) -> csv::Result<()> {
        let mut digits = itoa::Buffer::new();
        self.writer.write_field(digits.format(value).as_bytes())
    }

    /// One field: `value` as `Display` writes it (see [`display_f64`]).
    fn decimal(&mut self, value: f64) -> csv::Result<()> {
        display_f64(value, &mut self.field);
        self.writer.write_field(self.field.as_bytes())
    }
}

/// Writes `value` into `out` exactly as `format!("{value}")` does (the shortest digits that
/// read back as the same number, never an exponent). A whole number goes through `itoa`,
/// about a fifth of the cost: sampling every second writes millions of numbers in a long run,
/// and many are whole (a share of 1, a gauge, a time). ryu was tried for the others and
/// measured no faster than `Display` here, besides breaking exact ties between two shortest
/// candidates differently.
pub fn display_f64(value: f64, out: &mut String) {
    out.clear();
    // Below 2^53 a whole number is the integer it is; negative zero keeps its sign below.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if value.fract() == 0.0 && value.abs() < EXACT && (value != 0.0 || value.is_sign_positive()) {
        out.push_str(itoa::Buffer::new().format(value as i64));
        return;
    }
    use std::fmt::Write;
    write!(out, "{value}").expect("writing to a string");
}

impl<W: Write> SeriesSink for CsvSeries<W> {
    fn row(&mut self, time: SimTime, name: &str, kind: &str, row: &SeriesRow) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.write_row(time, name, kind, row) {
            self.error = Some(io::Error::other(e));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::display_f64;
    use rand::{Rng, SeedableRng};

    fn check(value: f64) {
        let mut out = String::new();
        display_f64(value, &mut out);
        assert_eq!(out, format!("{value}"), "bits {:#x}", value.to_bits());
    }

    #[test]
    fn writes_what_display_writes_at_the_edges() {
        let edges = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            0.1 + 0.2,
            1e-5,
            1.5e-5,
            1e-7,
            -2.5e-7,
            1e15,
            1e16,
            1.234e16,
            9_007_199_254_740_992.0,
            9_007_199_254_740_994.0,
            -9_007_199_254_740_994.0,
            1e22,
            1.7976931348623157e308,
            5e-324,
            f64::MIN_POSITIVE,
            f64::EPSILON,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            123_456.789,
            0.467_232_423_75,
        ];
        for value in edges {
            check(value);
        }
    }

    #[test]
    fn writes_what_display_writes_for_any_bits_and_any_time_series_value() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(15);
        for _ in 0..300_000 {
            // Any bit pattern: every exponent, NaNs and infinities included.
            check(f64::from_bits(rng.random()));
            // Values like those sampled: seconds, milliseconds, shares, rates.
            check(rng.random::<f64>() * 10f64.powi(rng.random_range(-12..20)));
            check(rng.random_range(0..100_000_000u64) as f64 / 1e3);
        }
    }
}
