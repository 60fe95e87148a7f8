//! `timeseries.csv`: one row per interval and component, streamed to disk as the run goes (so
//! memory stays flat), under a temporary name until the run completes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use crate::engine::time::SimTime;
use crate::files::csv_text;
use crate::metrics::{REQUEST_COLUMNS, SeriesRow, SeriesSink};

/// Column names, in order: the time, the component, the request columns every component has,
/// then every kind's own columns ([`crate::components::series_columns`]); a row leaves empty
/// the columns its kind does not have.
pub fn columns() -> Vec<&'static str> {
    let mut columns = vec!["time_s", "name", "kind"];
    columns.extend_from_slice(REQUEST_COLUMNS);
    columns.extend(crate::components::series_columns());
    columns
}

/// Writes rows to `timeseries.csv` through a temporary file.
pub struct CsvSeries {
    writer: csv::Writer<BufWriter<File>>,
    /// The kinds' own columns, in file order.
    kind_columns: Vec<&'static str>,
    /// Per kind: where each of its own columns goes among `kind_columns`.
    places: BTreeMap<String, Vec<usize>>,
    tmp: PathBuf,
    path: PathBuf,
    error: Option<io::Error>,
    /// One number as text, reused from field to field.
    field: String,
    /// The kinds' own columns of one row, reused from row to row.
    kind_values: Vec<Option<f64>>,
}

impl CsvSeries {
    /// Starts writing what will become `path`.
    pub fn create(path: &Path) -> io::Result<Self> {
        let tmp = super::temp_path(path);
        let mut writer = csv::Writer::from_writer(BufWriter::new(File::create(&tmp)?));
        writer.write_record(columns()).map_err(io::Error::other)?;
        Ok(CsvSeries {
            writer,
            kind_columns: crate::components::series_columns(),
            places: BTreeMap::new(),
            tmp,
            path: path.to_path_buf(),
            error: None,
            field: String::new(),
            kind_values: Vec::new(),
        })
    }

    /// Flushes and renames the file into place; reports the first write error, if any.
    pub fn finish(mut self) -> io::Result<()> {
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
        std::fs::rename(&self.tmp, &self.path)
    }

    /// Drops the partial file (the run failed).
    pub fn abandon(self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

impl CsvSeries {
    /// Where each of `kind`'s own columns goes: worked out once per kind, not per row.
    fn places_of(&mut self, kind: &str) -> &[usize] {
        if !self.places.contains_key(kind) {
            let own = crate::components::kind_outputs(kind).map_or(&[][..], |k| k.columns);
            let places = own
                .iter()
                .map(|c| {
                    self.kind_columns
                        .iter()
                        .position(|name| *name == c.name)
                        .expect("series_columns lists every kind's columns")
                })
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
            values[place] = row.gauges[index];
        }
        let [p50, p90, p99] = match row.latency_ms {
            Some([a, b, c]) => [Some(a), Some(b), Some(c)],
            None => [None, None, None],
        };
        self.number(time.as_secs_f64())?;
        self.writer.write_field(csv_text(name).as_bytes())?;
        self.writer.write_field(csv_text(kind).as_bytes())?;
        for count in [
            row.arrivals,
            row.completions,
            row.errors,
            row.throttles,
            row.timeouts,
            row.in_flight,
        ] {
            self.number(count)?;
        }
        self.optional(row.queue_length)?;
        for value in [row.utilisation, p50, p90, p99]
            .into_iter()
            .chain(values.iter().copied())
        {
            self.optional(value)?;
        }
        self.kind_values = values;
        self.writer.write_record(None::<&[u8]>)
    }

    /// One field: `value` as `Display` writes it (`to_string()` before).
    fn number(&mut self, value: impl std::fmt::Display) -> csv::Result<()> {
        use std::fmt::Write;
        self.field.clear();
        write!(self.field, "{value}").expect("writing to a string");
        self.writer.write_field(self.field.as_bytes())
    }

    /// One field: `value`, or nothing when there is none.
    fn optional(&mut self, value: Option<impl std::fmt::Display>) -> csv::Result<()> {
        match value {
            Some(value) => self.number(value),
            None => self.writer.write_field(b""),
        }
    }
}

impl SeriesSink for CsvSeries {
    fn row(&mut self, time: SimTime, name: &str, kind: &str, row: &SeriesRow) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.write_row(time, name, kind, row) {
            self.error = Some(io::Error::other(e));
        }
    }
}
