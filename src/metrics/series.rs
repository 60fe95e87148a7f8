//! `timeseries.csv` read back, grouped by workload or component name: what figures and the
//! report's findings are drawn from. Plain data; a kind reads its own columns by name.

use std::collections::HashMap;
use std::io;
use std::path::Path;

/// The rows of one workload or component in `timeseries.csv`.
struct Track {
    /// End of each interval (s).
    time: Vec<f64>,
    /// Each row's values, by column index (empty fields are `None`).
    rows: Vec<Vec<Option<f64>>>,
}

/// `timeseries.csv`, grouped by name.
pub struct Series {
    columns: HashMap<String, usize>,
    tracks: HashMap<String, Track>,
}

impl Series {
    /// Reads `path` (a `timeseries.csv`).
    pub fn read(path: &Path) -> io::Result<Series> {
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
    pub fn column(&self, name: &str, column: &str) -> Vec<Option<f64>> {
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
    pub fn rate(&self, name: &str, column: &str) -> Vec<Option<f64>> {
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
    pub fn time(&self, name: &str) -> &[f64] {
        self.tracks.get(name).map_or(&[], |t| &t.time)
    }

    /// End of the latest interval of any name (s; 0 without rows).
    pub fn latest(&self) -> f64 {
        // A maximum: the hash map's order does not reach the result.
        self.tracks
            .values()
            .flat_map(|t| t.time.last())
            .fold(0.0f64, |m, t| m.max(*t))
    }
}

fn csv_error(path: &Path, e: csv::Error) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {e}", path.display()),
    )
}
