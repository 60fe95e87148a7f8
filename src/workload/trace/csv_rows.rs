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

use std::path::Path;

use super::lines::{Fields, Line, Lines};
use super::{BadRow, NumericTimes, Read, Source, SourceRow, TraceSpec, quoted, shown};
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
                "a relative timestamp cannot be negative, found `{}`",
                shown(raw)
            )),
            NumericTimes::Relative => Ok(Stamp::Relative(ns)),
            NumericTimes::Unix => Ok(Stamp::Absolute(ns)),
        };
    }
    if raw.contains('T') || raw.contains(' ') || raw.contains('-') {
        return parse_rfc3339(raw).map(Stamp::Absolute).map_err(|e| {
            // The parser's own words name what is wrong, but quote the whole value: only a
            // short one is worth them.
            let why = if raw.chars().count() <= 40 {
                format!(": {}", super::inert(&e))
            } else {
                String::new()
            };
            format!(
                "cannot read `{}` as an RFC 3339 time (like 2026-11-29T09:00:00Z, with Z or \
                 an offset such as +01:00){why}",
                shown(raw)
            )
        });
    }
    Err(format!(
        "cannot read `{}` as a time: expected seconds since the start (like 12.5) or an RFC \
         3339 time (like 2026-11-29T09:00:00Z)",
        shown(raw)
    ))
}

/// The columns this layout reads.
pub const COLUMNS: [&str; 6] = [
    "timestamp",
    "key",
    "item_kb",
    "operation",
    "workload",
    "duration",
];

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

/// `"; did you mean `name` for column N?"` for the first header field that looks like a
/// misspelt `name`, else `""` (the header's own text is not shown).
pub(crate) fn header_hint(header: &Fields, name: &str) -> String {
    (0..header.len())
        .find_map(|i| {
            let field = header.get(i)?;
            // Only short fields: a long one is not a misspelt column name.
            (field.len() <= 64 && !crate::units::did_you_mean(field, &[name]).is_empty())
                .then(|| format!("; did you mean `{name}` for column {}?", i + 1))
        })
        .unwrap_or_default()
}

/// The kind of times a CSV trace holds.
#[derive(Copy, Clone, Debug, PartialEq)]
enum Times {
    /// Seconds since the start.
    Relative,
    /// Absolute, counted from this time zero (ns since the Unix epoch).
    Absolute { origin: i128 },
}

/// Why the file's times are of their kind, for the message about a row of the other kind.
#[derive(Copy, Clone, Debug, PartialEq)]
enum Because {
    /// The scenario gives `origin` (so times are absolute).
    Origin,
    /// `timestamps = "unix"`.
    Unix,
    /// Most of the file's times are of that kind: (that kind, all).
    Most(u64, u64),
}

/// A CSV trace being read for one workload.
pub(crate) struct CsvSource {
    lines: Lines,
    header: Fields,
    columns: Columns,
    workload: String,
    numbers: NumericTimes,
    times: Times,
    because: Because,
    fields: Fields,
}

impl CsvSource {
    /// Opens the trace and finds what kind of times it holds and their time zero: one pass
    /// over the timestamps, unless `origin` is given.
    pub fn open(path: &Path, workload: &str, spec: &TraceSpec) -> Result<CsvSource, String> {
        let (lines, header, columns) = Self::start(path)?;
        let mut source = CsvSource {
            lines,
            header,
            columns,
            workload: workload.to_string(),
            numbers: spec.timestamps,
            times: Times::Relative,
            because: Because::Most(0, 0),
            fields: Fields::default(),
        };
        if let Some(origin) = spec.origin {
            source.times = Times::Absolute { origin };
            source.because = Because::Origin;
            return Ok(source);
        }
        // The kind most of the rows have (the first row's on a tie) is the file's: a row of
        // the other kind is the odd one out, the one to blame.
        let (mut relative, mut absolute) = (0u64, 0u64);
        let mut first_absolute = None;
        let mut earliest: Option<i128> = None;
        while let Some(line) = source.lines.next(&mut source.fields)? {
            if !matches!(line, Line::Row) {
                continue;
            }
            let raw = source.fields.get(source.columns.timestamp).unwrap_or("");
            match parse_stamp(raw, source.numbers) {
                Ok(Stamp::Relative(_)) => relative += 1,
                Ok(Stamp::Absolute(ns)) => {
                    absolute += 1;
                    earliest = Some(earliest.map_or(ns, |e| e.min(ns)));
                }
                Err(_) => continue,
            }
            first_absolute.get_or_insert(absolute > 0);
        }
        let absolute_wins =
            absolute > relative || (absolute == relative && first_absolute == Some(true));
        if let (true, Some(origin)) = (absolute_wins, earliest) {
            source.times = Times::Absolute { origin };
            source.because = if source.numbers == NumericTimes::Unix {
                Because::Unix
            } else {
                Because::Most(absolute, absolute + relative)
            };
        } else {
            source.because = Because::Most(relative, absolute + relative);
        }
        source.rewind()?;
        Ok(source)
    }

    fn start(path: &Path) -> Result<(Lines, Fields, Columns), String> {
        let mut lines = Lines::open(path)?;
        let mut header = Fields::default();
        lines.header(&mut header)?;
        let find = |name: &str| header.iter().position(|h| h == name);
        let timestamp = find("timestamp").ok_or_else(|| {
            format!(
                "trace {}:{}:1: the header has no `timestamp` column; expected a first line \
                 naming the columns, such as {}{}",
                quoted(path),
                header.line,
                COLUMNS.join(","),
                header_hint(&header, "timestamp")
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
        Ok((lines, header, columns))
    }

    /// Parses the current line; `None` when it belongs to another workload.
    fn parse(&self) -> Option<Read> {
        let fields = &self.fields;
        let columns = &self.columns;
        let line = fields.line;
        let field = |i: Option<usize>| i.and_then(|i| fields.get(i)).filter(|v| !v.is_empty());
        if let Some(w) = field(columns.workload)
            && w != self.workload
        {
            return None;
        }
        let bad = |i: usize, name: &str, message: String| {
            Some(Read::Bad(BadRow::at(line, fields.column(i), name, message)))
        };
        let at = columns.timestamp;
        let raw = fields.get(at).unwrap_or("");
        let t = match (parse_stamp(raw, self.numbers), self.times) {
            (Err(message), _) => return bad(at, "timestamp", message),
            (Ok(Stamp::Relative(ns)), Times::Relative) => ns,
            (Ok(Stamp::Absolute(ns)), Times::Absolute { origin }) => ns - origin,
            (Ok(Stamp::Relative(_)), Times::Absolute { .. }) => {
                let why = match self.because {
                    Because::Origin => "`origin` is given".to_string(),
                    Because::Unix => "`timestamps = \"unix\"`".to_string(),
                    Because::Most(n, all) => format!("{n} of its {all} times are"),
                };
                return bad(
                    at,
                    "timestamp",
                    format!(
                        "`{}` is seconds since the start, but the trace's times are absolute \
                         (RFC 3339 or Unix: {why}); use one kind throughout",
                        shown(raw)
                    ),
                );
            }
            (Ok(Stamp::Absolute(_)), Times::Relative) => {
                let why = match self.because {
                    Because::Most(n, all) => format!("{n} of its {all} times are"),
                    _ => "as given".to_string(),
                };
                return bad(
                    at,
                    "timestamp",
                    format!(
                        "`{}` is an absolute time, but the trace's times are seconds since the \
                         start ({why}); use one kind throughout",
                        shown(raw)
                    ),
                );
            }
        };
        let Ok(t) = i64::try_from(t) else {
            return bad(
                at,
                "timestamp",
                format!(
                    "`{}` is more than 292 years from the trace's start",
                    shown(raw)
                ),
            );
        };
        let key =
            field(columns.key).map(|k| k.parse::<u64>().unwrap_or_else(|_| fnv1a64(k.as_bytes())));
        let item_kb = match (columns.item_kb, field(columns.item_kb)) {
            (Some(i), Some(v)) => match v.parse::<f32>() {
                Ok(kb) if kb > 0.0 && kb.is_finite() => Some(kb),
                Ok(_) => {
                    return bad(
                        i,
                        "item_kb",
                        format!(
                            "the size must be a positive number of KB, found `{}`",
                            shown(v)
                        ),
                    );
                }
                Err(_) => {
                    return bad(
                        i,
                        "item_kb",
                        format!("expected a number of KB, found `{}`", shown(v)),
                    );
                }
            },
            _ => None,
        };
        let op = match (columns.operation, field(columns.operation)) {
            (Some(i), Some(v)) => match op_of(v) {
                Some(op) => Some(op),
                None => {
                    return bad(
                        i,
                        "operation",
                        format!(
                            "unknown operation `{}`; expected read, strong_read, write, query, \
                             strong_query, transact_write or event",
                            shown(v)
                        ),
                    );
                }
            },
            _ => None,
        };
        let duration = match (columns.duration, field(columns.duration)) {
            (Some(i), Some(v)) => match parse_seconds(v) {
                Some(ns) if ns >= 0 => {
                    Some(SimDuration::from_nanos(ns.min(u64::MAX as i128) as u64))
                }
                _ => {
                    return bad(
                        i,
                        "duration",
                        format!(
                            "expected a non-negative number of seconds, found `{}`",
                            shown(v)
                        ),
                    );
                }
            },
            _ => None,
        };
        Some(Read::Row(SourceRow {
            t,
            line,
            key,
            item_kb,
            op,
            duration,
        }))
    }
}

impl Source for CsvSource {
    fn next_row(&mut self, _rng: &mut SimRng) -> Result<Read, String> {
        loop {
            match self.lines.next(&mut self.fields)? {
                None => return Ok(Read::End),
                Some(Line::Bad(fault)) => return Ok(Read::Bad(fault.named(&self.header))),
                Some(Line::Row) => {}
            }
            if let Some(read) = self.parse() {
                return Ok(read);
            }
        }
    }

    fn rewind(&mut self) -> Result<(), String> {
        self.lines.rewind(&mut self.header)
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
                ":3:1: column `timestamp`: cannot read `soon`",
            ),
            (
                "timestamp,operation\n1,delete\n",
                ":2:3: column `operation`: unknown operation `delete`",
            ),
            (
                "timestamp,item_kb\n1,-2\n",
                ":2:3: column `item_kb`: the size must be a positive",
            ),
            (
                "timestamp\n2026-13-01T00:00:00Z\n",
                ":2:1: column `timestamp`: cannot read `2026-13-01T00:00:00Z` as an RFC 3339",
            ),
            (
                "timestamp\n1\n2026-11-29T09:00:00Z\n",
                ":3:1: column `timestamp`: `2026-11-29T09:00:00Z` is an absolute time, but the trace's times are seconds since the start (1 of its 2 times are)",
            ),
            ("timestamp\n-1\n", "cannot be negative"),
            (
                "timestamp,duration\n1,-0.5\n",
                ":2:3: column `duration`: expected a non-negative",
            ),
            (
                "time\n1\n",
                ":1:1: the header has no `timestamp` column; expected a first line naming the columns, such as timestamp,key,item_kb,operation,workload,duration; did you mean `timestamp` for column 1?",
            ),
        ];
        for (i, (text, expected)) in cases.into_iter().enumerate() {
            let path = write(&format!("bad{i}.csv"), text);
            let e = Trace::open(&path, "w", &TraceSpec::csv("x")).err().unwrap();
            assert!(e.contains(expected), "case {i}: {e}");
        }
        // A short value keeps the time parser's own words on what is wrong.
        let path = write("month.csv", "timestamp\n2026-13-01T00:00:00Z\n");
        let e = Trace::open(&path, "w", &TraceSpec::csv("x")).err().unwrap();
        assert!(e.contains("+01:00): ") && e.contains("month"), "{e}");
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
