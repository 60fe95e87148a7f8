//! awsim's CSV trace layout: a header, then one row per arrival.
//!
//! ```csv
//! timestamp,key,item_kb,operation,workload,duration
//! 0.25,user-17,2,read,shoppers,
//! 0.31,42,1,write,admins,0.120
//! ```
//! - `timestamp` (required): seconds since the start of the trace (`12.5`, read exactly to the
//!   nanosecond); seconds since 1970 with `timestamps = "unix"`; or an RFC 3339 time with
//!   its offset (`2026-11-29T09:00:00.250Z`, `2026-11-29T10:00:00+01:00`). Absolute times
//!   (Unix or RFC 3339) count from `origin` when it is given, else from the earliest time in
//!   the whole file (all workloads, so workloads fed by one file stay aligned). A file may
//!   not mix relative and absolute times.
//! - `key`: a number, or any text (hashed to a number with FNV-1a).
//! - `item_kb`: a positive number.
//! - `operation`: `read`, `strong_read`, `write`, `query`, `strong_query`, `transact_write`,
//!   `event` (or `default`/empty).
//! - `workload`: the workload the row feeds; rows for other workloads are passed over, and
//!   rows with no workload feed every workload of the file.
//! - `duration`: the recorded service time in seconds (used by `compute = "from_trace"`).
//!
//! Empty optional fields take the workload's own settings.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use super::{BadRow, NumericTimes, Source, SourceRow, TraceSpec};
use crate::engine::rng::{SimRng, fnv1a64};
use crate::engine::time::{NANOS_PER_SEC, SimDuration};
use crate::message::Op;

/// The operation called `name` in a trace.
pub fn op_of(name: &str) -> Option<Op> {
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

/// Reads decimal seconds (`12.5`, `-3`, `1e3`) as nanoseconds, exactly for plain decimals
/// (a recorded trace replays to the nanosecond), digits beyond the ninth decimal dropped.
pub fn parse_seconds(text: &str) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let plain = !(whole.is_empty() && fraction.is_empty())
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit());
    let ns = if plain {
        if whole.len() > 20 {
            return None;
        }
        let whole: i128 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut fraction_ns: i128 = 0;
        for (i, b) in fraction.bytes().take(9).enumerate() {
            fraction_ns += i128::from(b - b'0') * 10i128.pow(8 - i as u32);
        }
        whole * i128::from(NANOS_PER_SEC) + fraction_ns
    } else {
        let value: f64 = digits.parse().ok()?;
        if !value.is_finite() || value.abs() > 1e12 {
            return None;
        }
        (value * 1e9).round() as i128
    };
    Some(if negative { -ns } else { ns })
}

/// Reads an RFC 3339 time (`2026-11-29T09:00:00.250Z`, with `Z` or an offset) as nanoseconds
/// since the Unix epoch.
pub fn parse_rfc3339(text: &str) -> Result<i128, String> {
    text.parse::<jiff::Timestamp>()
        .map(|t| t.as_nanosecond())
        .map_err(|e| e.to_string())
}

/// A timestamp as written: relative to the trace start, or absolute.
#[derive(Copy, Clone, Debug, PartialEq)]
enum Stamp {
    Relative(i128),
    Absolute(i128),
}

fn parse_stamp(raw: &str, numbers: NumericTimes) -> Result<Stamp, String> {
    if let Some(ns) = parse_seconds(raw) {
        return match numbers {
            NumericTimes::Relative if ns < 0 => Err(format!(
                "a relative timestamp cannot be negative, found `{raw}`"
            )),
            NumericTimes::Relative => Ok(Stamp::Relative(ns)),
            NumericTimes::Unix => Ok(Stamp::Absolute(ns)),
        };
    }
    if raw.contains('T') || raw.contains(' ') || raw.contains('-') {
        return parse_rfc3339(raw).map(Stamp::Absolute).map_err(|e| {
            format!(
                "cannot read `{raw}` as an RFC 3339 time (like 2026-11-29T09:00:00Z, with Z \
                 or an offset such as +01:00): {e}"
            )
        });
    }
    Err(format!(
        "cannot read `{raw}` as a time: expected seconds since the start (like 12.5) or an \
         RFC 3339 time (like 2026-11-29T09:00:00Z)"
    ))
}

/// Column positions in the header.
#[derive(Clone, Debug)]
struct Columns {
    timestamp: usize,
    key: Option<usize>,
    item_kb: Option<usize>,
    operation: Option<usize>,
    workload: Option<usize>,
    duration: Option<usize>,
}

/// Opens a CSV trace (the header trimmed, fields trimmed); `Err` names the file.
pub(crate) fn reader(path: &Path) -> Result<csv::Reader<BufReader<File>>, String> {
    let file =
        File::open(path).map_err(|e| format!("cannot read the trace `{}`: {e}", path.display()))?;
    Ok(csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(BufReader::new(file)))
}

/// The header of `reader`, or an error naming the file.
pub(crate) fn header(
    reader: &mut csv::Reader<BufReader<File>>,
    path: &Path,
) -> Result<csv::StringRecord, String> {
    reader
        .headers()
        .cloned()
        .map_err(|e| format!("trace `{}`: cannot read its header: {e}", path.display()))
}

/// Reads the next record; `Ok(false)` at the end, `Err` for a broken line (bad UTF-8...).
pub(crate) fn read(
    reader: &mut csv::Reader<BufReader<File>>,
    record: &mut csv::StringRecord,
) -> Result<bool, String> {
    reader.read_record(record).map_err(|e| e.to_string())
}

/// A CSV trace being read for one workload.
pub(crate) struct CsvSource {
    path: PathBuf,
    reader: csv::Reader<BufReader<File>>,
    columns: Columns,
    workload: String,
    numbers: NumericTimes,
    /// Time zero of absolute times; `None` when the file's times are relative.
    origin: Option<i128>,
    record: csv::StringRecord,
}

impl CsvSource {
    /// Opens the trace and finds its time zero (one pass over the timestamps when they are
    /// absolute and the scenario gives no `origin`).
    pub fn open(path: &Path, workload: &str, spec: &TraceSpec) -> Result<CsvSource, String> {
        let (reader, columns) = Self::start(path)?;
        let mut source = CsvSource {
            path: path.to_path_buf(),
            reader,
            columns,
            workload: workload.to_string(),
            numbers: spec.timestamps,
            origin: spec.origin,
            record: csv::StringRecord::new(),
        };
        if source.origin.is_none() {
            let mut earliest: Option<i128> = None;
            let mut record = csv::StringRecord::new();
            while let Ok(true) = read(&mut source.reader, &mut record) {
                let raw = record.get(source.columns.timestamp).unwrap_or("");
                if let Ok(Stamp::Absolute(ns)) = parse_stamp(raw, source.numbers) {
                    earliest = Some(earliest.map_or(ns, |e| e.min(ns)));
                }
            }
            source.origin = earliest;
            source.rewind()?;
        }
        Ok(source)
    }

    fn start(path: &Path) -> Result<(csv::Reader<BufReader<File>>, Columns), String> {
        let mut reader = reader(path)?;
        let headers = header(&mut reader, path)?;
        let find = |name: &str| headers.iter().position(|h| h == name);
        let timestamp = find("timestamp").ok_or_else(|| {
            format!(
                "trace `{}`: the header needs a `timestamp` column (seconds since the start, \
                 or RFC 3339 times); found {}",
                path.display(),
                headers.iter().collect::<Vec<_>>().join(", ")
            )
        })?;
        let columns = Columns {
            timestamp,
            key: find("key"),
            item_kb: find("item_kb"),
            operation: find("operation"),
            workload: find("workload"),
            duration: find("duration"),
        };
        Ok((reader, columns))
    }

    /// Parses the current record; `None` when it belongs to another workload.
    fn parse(&self, line: u64) -> Option<Result<SourceRow, BadRow>> {
        let record = &self.record;
        let columns = &self.columns;
        let field = |i: Option<usize>| i.and_then(|i| record.get(i)).filter(|v| !v.is_empty());
        if let Some(w) = field(columns.workload)
            && w != self.workload
        {
            return None;
        }
        let bad = |column: &str, message: String| BadRow {
            line,
            column: column.to_string(),
            message,
        };
        let raw = record.get(columns.timestamp).unwrap_or("");
        let t = match parse_stamp(raw, self.numbers) {
            Err(message) => return Some(Err(bad("timestamp", message))),
            Ok(Stamp::Relative(ns)) if self.origin.is_some() => {
                let _ = ns;
                return Some(Err(bad(
                    "timestamp",
                    format!(
                        "`{raw}` is relative (seconds since the start) but the trace's times \
                         are absolute (RFC 3339 or Unix); use one kind throughout"
                    ),
                )));
            }
            Ok(Stamp::Relative(ns)) => ns,
            Ok(Stamp::Absolute(ns)) => match self.origin {
                Some(origin) => ns - origin,
                None => {
                    return Some(Err(bad(
                        "timestamp",
                        format!("`{raw}` is an absolute time but the trace's times are relative"),
                    )));
                }
            },
        };
        let Ok(t) = i64::try_from(t) else {
            return Some(Err(bad(
                "timestamp",
                format!("`{raw}` is more than 292 years from the trace's start"),
            )));
        };
        let key =
            field(columns.key).map(|k| k.parse::<u64>().unwrap_or_else(|_| fnv1a64(k.as_bytes())));
        let item_kb = match field(columns.item_kb) {
            None => None,
            Some(v) => match v.parse::<f32>() {
                Ok(kb) if kb > 0.0 && kb.is_finite() => Some(kb),
                Ok(_) => {
                    return Some(Err(bad(
                        "item_kb",
                        format!("the size must be a positive number of KB, found `{v}`"),
                    )));
                }
                Err(_) => {
                    return Some(Err(bad(
                        "item_kb",
                        format!("expected a number of KB, found `{v}`"),
                    )));
                }
            },
        };
        let op = match field(columns.operation) {
            None => None,
            Some(v) => match op_of(v) {
                Some(op) => Some(op),
                None => {
                    return Some(Err(bad(
                        "operation",
                        format!(
                            "unknown operation `{v}`; expected read, strong_read, write, query, \
                             strong_query, transact_write or event"
                        ),
                    )));
                }
            },
        };
        let duration = match field(columns.duration) {
            None => None,
            Some(v) => match parse_seconds(v) {
                Some(ns) if ns >= 0 => {
                    Some(SimDuration::from_nanos(ns.min(u64::MAX as i128) as u64))
                }
                _ => {
                    return Some(Err(bad(
                        "duration",
                        format!("expected a non-negative number of seconds, found `{v}`"),
                    )));
                }
            },
        };
        Some(Ok(SourceRow {
            t,
            key,
            item_kb,
            op,
            duration,
        }))
    }
}

impl Source for CsvSource {
    fn next_row(&mut self, _rng: &mut SimRng) -> Option<Result<SourceRow, BadRow>> {
        loop {
            // The header is line 1; `position` is where the next record starts.
            let line = self.reader.position().line();
            match read(&mut self.reader, &mut self.record) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(message) => {
                    return Some(Err(BadRow {
                        line,
                        column: "timestamp".into(),
                        message,
                    }));
                }
            }
            if let Some(row) = self.parse(line) {
                return Some(row);
            }
        }
    }

    fn rewind(&mut self) -> Result<(), String> {
        let (reader, columns) = Self::start(&self.path)?;
        self.reader = reader;
        self.columns = columns;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{all, write};
    use super::super::{Trace, TraceSpec};
    use super::*;
    use crate::engine::time::SimTime;

    #[test]
    fn seconds_are_read_exactly() {
        assert_eq!(parse_seconds("12.5"), Some(12_500_000_000));
        assert_eq!(parse_seconds("0.000000001"), Some(1));
        assert_eq!(parse_seconds("86399.999999999"), Some(86_399_999_999_999));
        assert_eq!(parse_seconds(".5"), Some(500_000_000));
        assert_eq!(parse_seconds("-2"), Some(-2_000_000_000));
        assert_eq!(parse_seconds("1e3"), Some(1_000_000_000_000));
        assert_eq!(parse_seconds("soon"), None);
        assert_eq!(parse_seconds(""), None);
        assert_eq!(parse_seconds("."), None);
    }

    #[test]
    fn rows_replay_in_order_for_their_workload() {
        let path = write(
            "ok.csv",
            "timestamp,key,item_kb,operation,workload,duration\n0.5,7,2,read,a,0.25\n\
             1.0,x,,write,b,\n1.5,,4,,a,\n",
        );
        let mut t = Trace::open(&path, "a", &TraceSpec::csv("x")).unwrap();
        assert_eq!(t.stats().rows, 2);
        let rows = all(&mut t);
        assert_eq!(rows[0].at, SimTime(500_000_000));
        assert_eq!(
            (rows[0].key, rows[0].item_kb, rows[0].op, rows[0].duration),
            (
                Some(7),
                Some(2.0),
                Some(Op::Read),
                Some(SimDuration::from_millis(250))
            )
        );
        assert_eq!(rows[1].at, SimTime(1_500_000_000));
        assert_eq!(
            (rows[1].key, rows[1].item_kb, rows[1].op),
            (None, Some(4.0), None)
        );
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn absolute_times_count_from_the_earliest_row_of_the_file_or_the_origin() {
        let path = write(
            "abs.csv",
            "timestamp,workload\n2026-11-29T09:00:01Z,a\n2026-11-29T10:00:00.5+01:00,b\n\
             2026-11-29T09:00:03.25Z,a\n",
        );
        // b's row is 09:00:00.5 UTC: the earliest of the file, so time zero for `a` too.
        let rows = all(&mut Trace::open(&path, "a", &TraceSpec::csv("x")).unwrap());
        assert_eq!(
            rows.iter().map(|r| r.at.as_secs_f64()).collect::<Vec<_>>(),
            [0.5, 2.75]
        );
        let spec = TraceSpec {
            origin: Some(parse_rfc3339("2026-11-29T09:00:00Z").unwrap()),
            ..TraceSpec::csv("x")
        };
        let rows = all(&mut Trace::open(&path, "a", &spec).unwrap());
        assert_eq!(rows[0].at, SimTime(1_000_000_000));
        let unix = write("unix.csv", "timestamp\n1764406800\n1764406801.5\n");
        let spec = TraceSpec {
            timestamps: NumericTimes::Unix,
            ..TraceSpec::csv("x")
        };
        let rows = all(&mut Trace::open(&unix, "w", &spec).unwrap());
        assert_eq!(rows[1].at, SimTime(1_500_000_000));
    }

    #[test]
    fn bad_traces_name_the_line_and_column() {
        let cases = [
            (
                "timestamp,operation\n1,read\nsoon,read\n",
                "line 3, column `timestamp`: cannot read `soon`",
            ),
            (
                "timestamp,operation\n1,delete\n",
                "line 2, column `operation`: unknown operation `delete`",
            ),
            (
                "timestamp,item_kb\n1,-2\n",
                "line 2, column `item_kb`: the size must be a positive",
            ),
            (
                "timestamp\n2026-13-01T00:00:00Z\n",
                "line 2, column `timestamp`: cannot read `2026-13-01T00:00:00Z` as an RFC 3339",
            ),
            (
                "timestamp\n1\n2026-11-29T09:00:00Z\n",
                "line 2, column `timestamp`: `1` is relative",
            ),
            ("timestamp\n-1\n", "cannot be negative"),
            (
                "timestamp,duration\n1,-0.5\n",
                "column `duration`: expected a non-negative",
            ),
            ("time\n1\n", "needs a `timestamp` column"),
        ];
        for (i, (text, expected)) in cases.into_iter().enumerate() {
            let path = write(&format!("bad{i}.csv"), text);
            let e = Trace::open(&path, "w", &TraceSpec::csv("x")).err().unwrap();
            assert!(e.contains(expected), "case {i}: {e}");
        }
        let e = Trace::open(
            Path::new("/nonexistent/trace.csv"),
            "w",
            &TraceSpec::csv("x"),
        )
        .err()
        .unwrap();
        assert!(e.contains("cannot read the trace"), "{e}");
    }
}
