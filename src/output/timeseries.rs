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

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

impl SeriesSink for CsvSeries {
    fn row(&mut self, time: SimTime, name: &str, kind: &str, row: &SeriesRow) {
        if self.error.is_some() {
            return;
        }
        let [p50, p90, p99] = match row.latency_ms {
            Some([a, b, c]) => [Some(a), Some(b), Some(c)],
            None => [None, None, None],
        };
        let mut record = vec![
            time.as_secs_f64().to_string(),
            csv_text(name).into_owned(),
            csv_text(kind).into_owned(),
            row.arrivals.to_string(),
            row.completions.to_string(),
            row.errors.to_string(),
            row.throttles.to_string(),
            row.timeouts.to_string(),
            row.in_flight.to_string(),
            opt(row.queue_length),
            opt(row.utilisation),
            opt(p50),
            opt(p90),
            opt(p99),
        ];
        // Where this kind's columns go: worked out once per kind, not per row.
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
        let first = record.len();
        record.resize(first + self.kind_columns.len(), String::new());
        for (index, &place) in self.places[kind].iter().enumerate() {
            record[first + place] = opt(row.gauges[index]);
        }
        if let Err(e) = self.writer.write_record(&record) {
            self.error = Some(io::Error::other(e));
        }
    }
}
