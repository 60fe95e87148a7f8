//! Recorded load: arrivals replayed from a CSV trace, streamed so a trace far larger than
//! memory replays in flat memory.
//!
//! ```toml
//! arrival = { process = "trace", file = "traces/day1.csv" }   # format = "csv" (the default)
//! ```
//! The file has a header. `timestamp` is required: seconds since the start of the run (a
//! decimal number, e.g. `12.5`). Optional columns: `key` (a number, or any text, hashed to a
//! number), `item_kb`, `operation` (`read`, `strong_read`, `write`, `query`, `transact_write`,
//! `event`) and `workload` (only rows naming this workload are replayed, so one file can feed
//! several workloads). Rows must be sorted by timestamp.
//!
//! The file is checked whole before the run (one streaming pass: every row parses, times never
//! decrease), so a bad trace is reported with its line number instead of failing halfway; then
//! it is read again, row by row, as the run goes.
//!
//! Not yet: absolute RFC 3339 timestamps and the Azure Functions trace layouts (issue 8).

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::engine::rng::fnv1a64;
use crate::engine::time::{SimDuration, SimTime};
use crate::message::Op;

/// One replayed arrival.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct TraceRow {
    /// When it arrives.
    pub at: SimTime,
    /// Its key, if the trace gives one.
    pub key: Option<u64>,
    /// Its item size, if the trace gives one.
    pub item_kb: Option<f32>,
    /// Its operation, if the trace gives one.
    pub op: Option<Op>,
}

/// Column positions in the header.
#[derive(Clone, Debug)]
struct Columns {
    timestamp: usize,
    key: Option<usize>,
    item_kb: Option<usize>,
    operation: Option<usize>,
    workload: Option<usize>,
}

/// A trace being replayed for one workload.
pub struct Trace {
    reader: csv::Reader<BufReader<File>>,
    columns: Columns,
    workload: String,
    record: csv::StringRecord,
}

fn op_of(name: &str) -> Option<Op> {
    Some(match name {
        "read" => Op::Read,
        "strong_read" => Op::StrongRead,
        "write" => Op::Write,
        "query" => Op::Query,
        "strong_query" => Op::StrongQuery,
        "transact_write" => Op::TransactWrite,
        "event" => Op::Event,
        "" | "default" => Op::Default,
        _ => return None,
    })
}

fn open(path: &Path) -> Result<(csv::Reader<BufReader<File>>, Columns), String> {
    let file =
        File::open(path).map_err(|e| format!("cannot read the trace `{}`: {e}", path.display()))?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(BufReader::new(file));
    let headers = reader
        .headers()
        .map_err(|e| format!("trace `{}`: cannot read its header: {e}", path.display()))?
        .clone();
    let find = |name: &str| headers.iter().position(|h| h == name);
    let timestamp = find("timestamp").ok_or_else(|| {
        format!(
            "trace `{}`: the header needs a `timestamp` column (seconds since the start); \
             found {}",
            path.display(),
            headers.iter().collect::<Vec<_>>().join(", ")
        )
    })?;
    Ok((
        reader,
        Columns {
            timestamp,
            key: find("key"),
            item_kb: find("item_kb"),
            operation: find("operation"),
            workload: find("workload"),
        },
    ))
}

/// Parses one record; `None` when it belongs to another workload.
fn parse(
    record: &csv::StringRecord,
    columns: &Columns,
    workload: &str,
) -> Result<Option<TraceRow>, String> {
    let field = |i: Option<usize>| i.and_then(|i| record.get(i)).filter(|v| !v.is_empty());
    if let Some(w) = field(columns.workload)
        && w != workload
    {
        return Ok(None);
    }
    let raw = record.get(columns.timestamp).unwrap_or("");
    let seconds: f64 = raw.parse().map_err(|_| {
        format!("`timestamp` must be seconds since the start (a number), found `{raw}`")
    })?;
    if !(seconds >= 0.0 && seconds.is_finite()) {
        return Err(format!(
            "`timestamp` must be a non-negative number of seconds, found `{raw}`"
        ));
    }
    let key =
        field(columns.key).map(|k| k.parse::<u64>().unwrap_or_else(|_| fnv1a64(k.as_bytes())));
    let item_kb = match field(columns.item_kb) {
        None => None,
        Some(v) => {
            let kb: f32 = v
                .parse()
                .map_err(|_| format!("`item_kb` must be a number, found `{v}`"))?;
            if !(kb > 0.0 && kb.is_finite()) {
                return Err(format!("`item_kb` must be a positive number, found `{v}`"));
            }
            Some(kb)
        }
    };
    let op = match field(columns.operation) {
        None => None,
        Some(v) => Some(op_of(v).ok_or_else(|| {
            format!(
                "unknown `operation` `{v}`; expected read, strong_read, write, query, \
                 transact_write or event"
            )
        })?),
    };
    Ok(Some(TraceRow {
        at: SimTime::ZERO + SimDuration::from_secs_f64(seconds),
        key,
        item_kb,
        op,
    }))
}

impl Trace {
    /// Checks the whole trace at `path` for `workload` (every row parses, times never
    /// decrease), then opens it for replay. Returns the trace and how many rows it will replay.
    pub fn open(path: &Path, workload: &str) -> Result<(Trace, u64), String> {
        let (mut reader, columns) = open(path)?;
        let mut record = csv::StringRecord::new();
        let mut last = SimTime::ZERO;
        let mut rows = 0u64;
        let mut line = 1u64;
        loop {
            line += 1;
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(format!("trace `{}` line {line}: {e}", path.display())),
            }
            let row = parse(&record, &columns, workload)
                .map_err(|e| format!("trace `{}` line {line}: {e}", path.display()))?;
            if let Some(row) = row {
                if row.at < last {
                    return Err(format!(
                        "trace `{}` line {line}: timestamps must not decrease ({} s after {} s); \
                         sort the trace by timestamp",
                        path.display(),
                        row.at.as_secs_f64(),
                        last.as_secs_f64()
                    ));
                }
                last = row.at;
                rows += 1;
            }
        }
        if rows == 0 {
            return Err(format!(
                "trace `{}` has no row for workload `{workload}`",
                path.display()
            ));
        }
        let (reader, columns) = open(path)?;
        Ok((
            Trace {
                reader,
                columns,
                workload: workload.to_string(),
                record: csv::StringRecord::new(),
            },
            rows,
        ))
    }

    /// The next row for this workload, or `None` at the end of the trace.
    pub fn next_row(&mut self) -> Option<TraceRow> {
        loop {
            match self.reader.read_record(&mut self.record) {
                Ok(true) => {}
                // Checked whole when opened: an error now means the file changed under us.
                Ok(false) | Err(_) => return None,
            }
            if let Ok(Some(row)) = parse(&self.record, &self.columns, &self.workload) {
                return Some(row);
            }
        }
    }
}

/// Where a trace file named in a scenario is.
pub fn resolve(base_dir: &Path, file: &str) -> PathBuf {
    base_dir.join(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("awsim-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn rows_replay_in_order_for_their_workload() {
        let path = write(
            "ok.csv",
            "timestamp,key,item_kb,operation,workload\n0.5,7,2,read,a\n1.0,x,,write,b\n1.5,,4,,a\n",
        );
        let (mut t, rows) = Trace::open(&path, "a").unwrap();
        assert_eq!(rows, 2);
        let first = t.next_row().unwrap();
        assert_eq!(first.at, SimTime(500_000_000));
        assert_eq!(
            (first.key, first.item_kb, first.op),
            (Some(7), Some(2.0), Some(Op::Read))
        );
        let second = t.next_row().unwrap();
        assert_eq!(second.at, SimTime(1_500_000_000));
        assert_eq!(
            (second.key, second.item_kb, second.op),
            (None, Some(4.0), None)
        );
        assert_eq!(t.next_row(), None);
    }

    #[test]
    fn bad_traces_name_the_line() {
        let unsorted = write("unsorted.csv", "timestamp\n1\n2\n1.5\n");
        let e = Trace::open(&unsorted, "w").err().unwrap();
        assert!(e.contains("line 4: timestamps must not decrease"), "{e}");
        let bad = write("bad.csv", "timestamp,operation\n1,read\nsoon,read\n");
        let e = Trace::open(&bad, "w").err().unwrap();
        assert!(e.contains("line 3: `timestamp` must be seconds"), "{e}");
        let op = write("op.csv", "timestamp,operation\n1,delete\n");
        let e = Trace::open(&op, "w").err().unwrap();
        assert!(e.contains("unknown `operation` `delete`"), "{e}");
        let header = write("header.csv", "time\n1\n");
        let e = Trace::open(&header, "w").err().unwrap();
        assert!(e.contains("needs a `timestamp` column"), "{e}");
        let e = Trace::open(Path::new("/nonexistent/trace.csv"), "w")
            .err()
            .unwrap();
        assert!(e.contains("cannot read the trace"), "{e}");
    }
}
