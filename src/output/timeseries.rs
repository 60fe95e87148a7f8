//! `timeseries.csv`: one row per interval and component, streamed to disk as the run goes (so
//! memory stays flat), under a temporary name until the run completes.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use crate::engine::time::SimTime;
use crate::metrics::SeriesRow;
use crate::metrics::SeriesSink;

/// Column names, in order.
pub const COLUMNS: &[&str] = &[
    "time_s",
    "name",
    "kind",
    "arrivals",
    "completions",
    "errors",
    "throttles",
    "timeouts",
    "in_flight",
    "queue_length",
    "utilisation",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
    "desired",
    "pending",
    "in_service",
    "draining",
    "concurrency",
    "environments",
    "messages_in_flight",
    "messages_delayed",
    "oldest_message_age_s",
    "consumed_rcu",
    "consumed_wcu",
    "provisioned_rcu",
    "provisioned_wcu",
    "cache_hits",
    "cache_misses",
];

/// Writes rows to `timeseries.csv` through a temporary file.
pub struct CsvSeries {
    writer: csv::Writer<BufWriter<File>>,
    tmp: PathBuf,
    path: PathBuf,
    error: Option<io::Error>,
}

impl CsvSeries {
    /// Starts writing what will become `path`.
    pub fn create(path: &Path) -> io::Result<Self> {
        let tmp = super::temp_path(path);
        let mut writer = csv::Writer::from_writer(BufWriter::new(File::create(&tmp)?));
        writer.write_record(COLUMNS).map_err(io::Error::other)?;
        Ok(CsvSeries {
            writer,
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
        let capacity =
            |f: fn(&crate::metrics::CapacityRow) -> u64| opt(row.capacity.as_ref().map(f));
        let record = [
            time.as_secs_f64().to_string(),
            name.to_string(),
            kind.to_string(),
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
            capacity(|c| c.desired),
            capacity(|c| c.pending),
            capacity(|c| c.in_service),
            capacity(|c| c.draining),
            opt(row.concurrency),
            opt(row.environments),
            opt(row.messages_in_flight),
            opt(row.messages_delayed),
            opt(row.oldest_message_age_s),
            opt(row.consumed_rcu),
            opt(row.consumed_wcu),
            opt(row.provisioned_rcu),
            opt(row.provisioned_wcu),
            opt(row.cache_hits),
            opt(row.cache_misses),
        ];
        if let Err(e) = self.writer.write_record(&record) {
            self.error = Some(io::Error::other(e));
        }
    }
}
