//! `awsim record`: the arrivals a scenario's workloads create, written as a CSV trace, so that
//! a synthetic load can be frozen and replayed exactly.
//!
//! The file is awsim's CSV trace layout (see [`super::trace::csv_rows`]): `timestamp`
//! (seconds since the start, with nine decimals, so replay lands on the same nanosecond),
//! `workload`, `key`, `item_kb`, `operation` and `duration` (empty unless the request carried a
//! recorded one). Replaying it with `arrival = { process = "trace", file = ... }` in every
//! workload gives the same arrivals, keys, sizes and operations. A closed-loop workload is
//! recorded as its users happened to send in this run; replayed, those times become open-loop.
//!
//! Rows are written as requests are created, in simulated-time order, to a temporary file that
//! is renamed into place only when the run ends well.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::engine::time::{NANOS_PER_SEC, SimTime};
use crate::message::Request;

/// The columns of a recorded trace.
pub const COLUMNS: [&str; 6] = [
    "timestamp",
    "workload",
    "key",
    "item_kb",
    "operation",
    "duration",
];

/// Writes arrivals as trace rows.
pub struct Recorder {
    writer: csv::Writer<BufWriter<File>>,
    tmp: PathBuf,
    path: PathBuf,
    rows: u64,
    error: Option<io::Error>,
}

/// A recorder shared by the workloads of one run.
pub type SharedRecorder = Arc<Mutex<Recorder>>;

/// Seconds with nine decimals: exact to the nanosecond.
fn seconds(ns: u64) -> String {
    format!("{}.{:09}", ns / NANOS_PER_SEC, ns % NANOS_PER_SEC)
}

impl Recorder {
    /// Starts a trace at `path` (written under a temporary name until [`Recorder::finish`]).
    pub fn create(path: &Path) -> io::Result<SharedRecorder> {
        let tmp = crate::files::temp_path(path);
        let mut writer = csv::Writer::from_writer(BufWriter::new(File::create(&tmp)?));
        writer.write_record(COLUMNS).map_err(io::Error::other)?;
        Ok(Arc::new(Mutex::new(Recorder {
            writer,
            tmp,
            path: path.to_path_buf(),
            rows: 0,
            error: None,
        })))
    }

    /// Records one arrival of `workload`.
    pub fn arrival(&mut self, at: SimTime, workload: &str, request: &Request) {
        if self.error.is_some() {
            return;
        }
        let duration = request
            .recorded_duration
            .get()
            .map(|d| seconds(d.as_nanos()))
            .unwrap_or_default();
        let result = self.writer.write_record([
            seconds(at.as_nanos()).as_str(),
            workload,
            &request.key.to_string(),
            &request.item_kb.to_string(),
            request.op.name(),
            &duration,
        ]);
        match result {
            Ok(()) => self.rows += 1,
            Err(e) => self.error = Some(io::Error::other(e)),
        }
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes the trace and renames it into place; reports the first write error, if any.
    pub fn finish(shared: SharedRecorder) -> io::Result<(PathBuf, u64)> {
        let recorder = Arc::try_unwrap(shared)
            .map_err(|_| io::Error::other("the recorder is still in use"))?
            .into_inner()
            .map_err(|_| io::Error::other("the recorder's lock was poisoned"))?;
        let Recorder {
            mut writer,
            tmp,
            path,
            rows,
            error,
        } = recorder;
        if let Some(e) = error {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        writer.flush()?;
        let file = writer
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        Ok((path, rows))
    }

    /// Drops the partial trace (the run failed).
    pub fn abandon(shared: SharedRecorder) {
        if let Ok(recorder) = shared.lock() {
            let _ = std::fs::remove_file(&recorder.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_keep_every_nanosecond() {
        assert_eq!(seconds(0), "0.000000000");
        assert_eq!(seconds(12_500_000_001), "12.500000001");
        let back = crate::workload::trace::csv_rows::parse_seconds(&seconds(86_399_999_999_999));
        assert_eq!(back, Some(86_399_999_999_999));
    }
}
