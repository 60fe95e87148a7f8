//! The two public Azure Functions trace layouts.
//!
//! **2019** (`format = "azure_functions_2019"`, the `invocations_per_function_md.anon.dNN.csv`
//! files of the Azure Functions dataset 2019): one row per function,
//! `HashOwner,HashApp,HashFunction,Trigger,1,2,…,1440`, the numbers being invocations in each
//! minute of one day. A minute's `c` invocations become `c` arrivals inside that minute:
//! with `spread = "uniform"` (the default) at independent uniform times, sorted (the arrivals
//! of a Poisson process conditioned on its count, drawn one after another as order statistics
//! so no minute is held in memory); with `spread = "even"` at (i + ½)/c of the minute. The
//! day is 86 400 s, which is also the period of `loop`. `trigger = "http"` keeps only that
//! trigger's functions.
//!
//! **2021** (`format = "azure_functions_2021"`, `AzureFunctionsInvocationTraceForTwoWeeksJan2021`):
//! one row per invocation, `app,func,end_timestamp,duration`, times in seconds since the trace
//! start. The arrival is `end_timestamp − duration`; rows are ordered by end time, so arrivals
//! are out of order by up to the longest duration, which the reorder buffer absorbs.
//! Invocations that started before the trace's start (negative arrival) count as outside the
//! window. The duration travels with the request (`compute = "from_trace"`).
//!
//! Functions are chosen with `function` (a hash or its first characters: every row of that
//! function hash), `top = N` (the N functions with the most invocations in the file, merged)
//! or `rank = N` (only the N-th busiest); by default every function in the file. Ties in
//! invocation counts are broken by first appearance in the file. A request's key is the
//! FNV-1a hash of its function's hash, so merged functions stay distinguishable downstream.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use rand::Rng;

use super::csv_rows::{header, parse_seconds, read, reader};
use super::{BadRow, BadRows, FunctionChoice, Source, SourceRow, Spread, TraceSpec};
use crate::engine::rng::{SimRng, fnv1a64};
use crate::engine::time::{NANOS_PER_SEC, SimDuration};

/// Minutes in the 2019 layout's day.
pub const MINUTES: usize = 1440;
const MINUTE_NS: i64 = 60 * NANOS_PER_SEC as i64;

/// A function's invocation total and where it was first seen, for choosing.
struct Candidate {
    hash: String,
    total: u64,
    first_line: u64,
}

/// The function hashes `choice` selects among `candidates` (in file order of first sight).
fn choose(
    candidates: Vec<Candidate>,
    choice: &FunctionChoice,
    path: &Path,
) -> Result<Vec<String>, String> {
    let busiest = |candidates: &[Candidate]| {
        let mut sorted: Vec<&Candidate> = candidates.iter().collect();
        sorted.sort_by(|a, b| b.total.cmp(&a.total).then(a.first_line.cmp(&b.first_line)));
        sorted
            .into_iter()
            .map(|c| c.hash.clone())
            .collect::<Vec<_>>()
    };
    match choice {
        FunctionChoice::All => Ok(candidates.into_iter().map(|c| c.hash).collect()),
        FunctionChoice::Hash(prefix) => {
            let matching: Vec<String> = candidates
                .iter()
                .filter(|c| c.hash.starts_with(prefix.as_str()))
                .map(|c| c.hash.clone())
                .collect();
            match matching.len() {
                1 => Ok(matching),
                0 => {
                    let top: Vec<String> = busiest(&candidates).into_iter().take(3).collect();
                    Err(format!(
                        "trace `{}` has no function whose hash starts with `{prefix}`; the \
                         busiest are {}",
                        path.display(),
                        top.join(", ")
                    ))
                }
                n => Err(format!(
                    "trace `{}`: {n} functions have hashes starting with `{prefix}` ({}...); \
                     give more characters",
                    path.display(),
                    matching[..2].join(", ")
                )),
            }
        }
        FunctionChoice::Top(n) => Ok(busiest(&candidates).into_iter().take(*n as usize).collect()),
        FunctionChoice::Rank(n) => {
            let count = candidates.len();
            busiest(&candidates)
                .into_iter()
                .nth(*n as usize - 1)
                .map(|h| vec![h])
                .ok_or_else(|| {
                    format!(
                        "`rank = {n}`: trace `{}` has only {count} functions",
                        path.display()
                    )
                })
        }
    }
}

fn bad(line: u64, column: &str, message: String) -> BadRow {
    BadRow {
        line,
        column: column.to_string(),
        message,
    }
}

fn bad_row_error(path: &Path, row: BadRow) -> String {
    format!(
        "trace `{}` line {}, column `{}`: {} (or set on_bad_row = \"skip\" to skip and count \
         such rows)",
        path.display(),
        row.line,
        row.column,
        row.message
    )
}

/// One 2019 row: its function and per-minute counts, or a bad row.
fn minute_row(record: &csv::StringRecord, line: u64) -> Result<(String, String, Vec<u32>), BadRow> {
    let function = record.get(2).unwrap_or("").to_string();
    if function.is_empty() {
        return Err(bad(
            line,
            "HashFunction",
            "the function hash is empty".into(),
        ));
    }
    let trigger = record.get(3).unwrap_or("").to_string();
    if record.len() != 4 + MINUTES {
        return Err(bad(
            line,
            "1",
            format!(
                "expected 4 columns and 1440 minute counts, found {} fields",
                record.len()
            ),
        ));
    }
    let mut counts = Vec::with_capacity(MINUTES);
    for minute in 0..MINUTES {
        let raw = &record[4 + minute];
        match raw.parse::<u32>() {
            Ok(c) => counts.push(c),
            Err(_) => {
                return Err(bad(
                    line,
                    &(minute + 1).to_string(),
                    format!("expected a count of invocations (0 or more), found `{raw}`"),
                ));
            }
        }
    }
    Ok((function, trigger, counts))
}

/// An Azure Functions 2019 trace: the chosen functions' per-minute counts, turned into
/// arrivals minute by minute.
pub(crate) struct Minutes {
    /// Per chosen row: its key and counts.
    functions: Vec<(u64, Vec<u32>)>,
    spread: Spread,
    skipped: u64,
    /// Where the generator is: the minute, and how many of its arrivals are out.
    minute: usize,
    total: u64,
    issued: u64,
    /// Per function: arrivals of this minute not yet issued.
    remaining: Vec<u64>,
    /// The last arrival's position in the minute, in [0, 1).
    last_fraction: f64,
}

impl Minutes {
    /// Reads the file twice: totals to choose functions, then the chosen rows' counts.
    pub fn open(path: &Path, spec: &TraceSpec) -> Result<Minutes, String> {
        let check_header = |path: &Path| -> Result<csv::Reader<BufReader<File>>, String> {
            let mut r = reader(path)?;
            let h = header(&mut r, path)?;
            let expected = ["HashOwner", "HashApp", "HashFunction", "Trigger"];
            let names: Vec<&str> = h.iter().take(4).collect();
            if names != expected || h.len() != 4 + MINUTES || h.get(4) != Some("1") {
                return Err(format!(
                    "trace `{}`: an azure_functions_2019 file starts with the header \
                     HashOwner,HashApp,HashFunction,Trigger,1,2,...,1440; found {}{}",
                    path.display(),
                    names.join(","),
                    if h.len() > 4 {
                        format!(",... ({} columns)", h.len())
                    } else {
                        String::new()
                    }
                ));
            }
            Ok(r)
        };
        let mut r = check_header(path)?;
        let mut record = csv::StringRecord::new();
        let mut candidates: Vec<Candidate> = Vec::new();
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        let mut skipped = 0;
        loop {
            let line = r.position().line();
            match read(&mut r, &mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(format!("trace `{}` line {line}: {e}", path.display())),
            }
            let (function, trigger, counts) = match minute_row(&record, line) {
                Ok(row) => row,
                Err(row) if spec.on_bad_row == BadRows::Skip => {
                    let _ = row;
                    skipped += 1;
                    continue;
                }
                Err(row) => return Err(bad_row_error(path, row)),
            };
            if spec.trigger.as_ref().is_some_and(|t| *t != trigger) {
                continue;
            }
            let total: u64 = counts.iter().map(|&c| u64::from(c)).sum();
            match index.get(&function) {
                Some(&i) => candidates[i].total += total,
                None => {
                    index.insert(function.clone(), candidates.len());
                    candidates.push(Candidate {
                        hash: function,
                        total,
                        first_line: line,
                    });
                }
            }
        }
        let chosen = choose(candidates, &spec.functions, path)?;
        let mut r = check_header(path)?;
        let mut functions = Vec::new();
        loop {
            let line = r.position().line();
            match read(&mut r, &mut record) {
                Ok(true) => {}
                _ => break,
            }
            let Ok((function, trigger, counts)) = minute_row(&record, line) else {
                continue;
            };
            if spec.trigger.as_ref().is_some_and(|t| *t != trigger) {
                continue;
            }
            if chosen.contains(&function) {
                functions.push((fnv1a64(function.as_bytes()), counts));
            }
        }
        let width = functions.len();
        let mut minutes = Minutes {
            functions,
            spread: spec.spread,
            skipped,
            minute: 0,
            total: 0,
            issued: 0,
            remaining: vec![0; width],
            last_fraction: 0.0,
        };
        minutes.start_minute(0);
        Ok(minutes)
    }

    fn start_minute(&mut self, minute: usize) {
        self.minute = minute;
        self.issued = 0;
        self.last_fraction = 0.0;
        self.total = 0;
        for (i, (_, counts)) in self.functions.iter().enumerate() {
            let c = counts.get(minute).map_or(0, |&c| u64::from(c));
            self.remaining[i] = c;
            self.total += c;
        }
    }
}

impl Source for Minutes {
    fn next_row(&mut self, rng: &mut SimRng) -> Option<Result<SourceRow, BadRow>> {
        while self.issued == self.total {
            if self.minute + 1 >= MINUTES {
                return None;
            }
            self.start_minute(self.minute + 1);
        }
        let left = self.total - self.issued;
        let fraction = match self.spread {
            // The smallest of `left` uniforms on [last, 1): the next order statistic.
            Spread::Uniform => {
                let v: f64 = rng.random();
                self.last_fraction
                    + (1.0 - self.last_fraction) * (1.0 - (1.0 - v).powf(1.0 / left as f64))
            }
            Spread::Even => (self.issued as f64 + 0.5) / self.total as f64,
        };
        self.last_fraction = fraction.min(1.0 - f64::EPSILON);
        // Which function: drawn in proportion to what each has left this minute (exactly the
        // minute's counts in the end).
        let mut pick = if self.functions.len() == 1 {
            0
        } else {
            rng.random_range(0..left)
        };
        let mut which = 0;
        for (i, &r) in self.remaining.iter().enumerate() {
            if pick < r {
                which = i;
                break;
            }
            pick -= r;
        }
        self.remaining[which] -= 1;
        self.issued += 1;
        let within = ((self.last_fraction * MINUTE_NS as f64) as i64).min(MINUTE_NS - 1);
        Some(Ok(SourceRow {
            t: self.minute as i64 * MINUTE_NS + within,
            key: Some(self.functions[which].0),
            item_kb: None,
            op: None,
            duration: None,
        }))
    }

    fn rewind(&mut self) -> Result<(), String> {
        self.start_minute(0);
        Ok(())
    }

    fn skipped_on_open(&self) -> u64 {
        self.skipped
    }

    fn period(&self) -> Option<i64> {
        Some(MINUTES as i64 * MINUTE_NS)
    }
}

/// An Azure Functions 2021 trace: one row per invocation of the chosen functions.
pub(crate) struct Invocations {
    path: PathBuf,
    reader: csv::Reader<BufReader<File>>,
    columns: [usize; 4],
    /// The chosen function hashes, sorted; `None` = every function.
    chosen: Option<Vec<String>>,
    record: csv::StringRecord,
}

impl Invocations {
    const COLUMNS: [&'static str; 4] = ["app", "func", "end_timestamp", "duration"];

    /// Opens the file; when functions are chosen by count, reads it once to count them.
    pub fn open(path: &Path, spec: &TraceSpec) -> Result<Invocations, String> {
        let (reader, columns) = Self::start(path)?;
        let mut source = Invocations {
            path: path.to_path_buf(),
            reader,
            columns,
            chosen: None,
            record: csv::StringRecord::new(),
        };
        if spec.functions != FunctionChoice::All {
            let mut candidates: Vec<Candidate> = Vec::new();
            let mut index: BTreeMap<String, usize> = BTreeMap::new();
            let mut record = csv::StringRecord::new();
            loop {
                let line = source.reader.position().line();
                match read(&mut source.reader, &mut record) {
                    Ok(true) => {}
                    _ => break,
                }
                let function = record.get(columns[1]).unwrap_or("");
                if function.is_empty() {
                    continue;
                }
                match index.get(function) {
                    Some(&i) => candidates[i].total += 1,
                    None => {
                        index.insert(function.to_string(), candidates.len());
                        candidates.push(Candidate {
                            hash: function.to_string(),
                            total: 1,
                            first_line: line,
                        });
                    }
                }
            }
            let mut chosen = choose(candidates, &spec.functions, path)?;
            chosen.sort();
            source.chosen = Some(chosen);
            source.rewind()?;
        }
        Ok(source)
    }

    fn start(path: &Path) -> Result<(csv::Reader<BufReader<File>>, [usize; 4]), String> {
        let mut r = reader(path)?;
        let h = header(&mut r, path)?;
        let mut columns = [0; 4];
        for (slot, name) in columns.iter_mut().zip(Self::COLUMNS) {
            *slot = h.iter().position(|c| c == name).ok_or_else(|| {
                format!(
                    "trace `{}`: an azure_functions_2021 file has the columns \
                     app,func,end_timestamp,duration; `{name}` is missing (found {})",
                    path.display(),
                    h.iter().collect::<Vec<_>>().join(",")
                )
            })?;
        }
        Ok((r, columns))
    }
}

impl Source for Invocations {
    fn next_row(&mut self, _rng: &mut SimRng) -> Option<Result<SourceRow, BadRow>> {
        loop {
            let line = self.reader.position().line();
            match read(&mut self.reader, &mut self.record) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(e) => return Some(Err(bad(line, "func", e))),
            }
            let [_, func, end, duration] = self.columns;
            let function = self.record.get(func).unwrap_or("");
            if let Some(chosen) = &self.chosen
                && chosen
                    .binary_search_by(|c| c.as_str().cmp(function))
                    .is_err()
            {
                continue;
            }
            let raw_end = self.record.get(end).unwrap_or("");
            let Some(end_ns) = parse_seconds(raw_end) else {
                return Some(Err(bad(
                    line,
                    "end_timestamp",
                    format!("expected seconds since the trace start, found `{raw_end}`"),
                )));
            };
            let raw_duration = self.record.get(duration).unwrap_or("");
            let duration_ns = match parse_seconds(raw_duration) {
                Some(ns) if ns >= 0 => ns,
                _ => {
                    return Some(Err(bad(
                        line,
                        "duration",
                        format!(
                            "expected a non-negative number of seconds, found `{raw_duration}`"
                        ),
                    )));
                }
            };
            let start = end_ns - duration_ns;
            let Ok(t) = i64::try_from(start) else {
                return Some(Err(bad(
                    line,
                    "end_timestamp",
                    format!("`{raw_end}` is out of range"),
                )));
            };
            return Some(Ok(SourceRow {
                t,
                key: Some(fnv1a64(function.as_bytes())),
                item_kb: None,
                op: None,
                duration: Some(SimDuration::from_nanos(duration_ns as u64)),
            }));
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
    use super::super::{Trace, TraceFormat, TraceSpec};
    use super::*;

    fn header_2019() -> String {
        let minutes: Vec<String> = (1..=MINUTES).map(|m| m.to_string()).collect();
        format!(
            "HashOwner,HashApp,HashFunction,Trigger,{}\n",
            minutes.join(",")
        )
    }

    fn row_2019(function: &str, trigger: &str, counts: &[(usize, u32)]) -> String {
        let mut minutes = vec![0u32; MINUTES];
        for &(m, c) in counts {
            minutes[m] = c;
        }
        let minutes: Vec<String> = minutes.iter().map(|c| c.to_string()).collect();
        format!("o,a,{function},{trigger},{}\n", minutes.join(","))
    }

    fn spec(format: TraceFormat, functions: FunctionChoice) -> TraceSpec {
        TraceSpec {
            format,
            functions,
            ..TraceSpec::csv("x")
        }
    }

    fn per_minute(rows: &[super::super::TraceRow]) -> BTreeMap<u64, u32> {
        let mut counts = BTreeMap::new();
        for r in rows {
            *counts
                .entry(r.at.as_nanos() / MINUTE_NS as u64)
                .or_insert(0) += 1;
        }
        counts
    }

    #[test]
    fn the_2019_layout_yields_each_minutes_count_inside_that_minute() {
        let text = header_2019()
            + &row_2019("f1", "http", &[(0, 3), (1, 1000), (1439, 7)])
            + &row_2019("f2", "timer", &[(1, 5), (2, 2)])
            + &row_2019("f3", "http", &[(5, 1)]);
        let path = write("az19.csv", &text);
        for spread in [Spread::Uniform, Spread::Even] {
            let s = TraceSpec {
                spread,
                ..spec(TraceFormat::AzureFunctions2019, FunctionChoice::All)
            };
            let rows = all(&mut Trace::open(&path, "w", &s).unwrap());
            let expected = BTreeMap::from([(0, 3), (1, 1005), (2, 2), (5, 1), (1439, 7)]);
            assert_eq!(per_minute(&rows), expected, "{spread:?}");
            assert!(rows.windows(2).all(|w| w[0].at <= w[1].at));
            // Merged functions keep their own keys: f2's 5 arrivals in minute 1.
            let f2 = fnv1a64(b"f2");
            let f2_in_1 = rows
                .iter()
                .filter(|r| r.key == Some(f2) && r.at.as_nanos() / 60_000_000_000 == 1)
                .count();
            assert_eq!(f2_in_1, 5);
        }
        // Even spread: 3 arrivals at 10 s, 30 s, 50 s.
        let s = TraceSpec {
            spread: Spread::Even,
            ..spec(TraceFormat::AzureFunctions2019, FunctionChoice::Top(1))
        };
        let rows = all(&mut Trace::open(&path, "w", &s).unwrap());
        let first: Vec<f64> = rows[..3].iter().map(|r| r.at.as_secs_f64()).collect();
        assert_eq!(first, [10.0, 30.0, 50.0]);
        assert_eq!(rows.len(), 1010);
    }

    #[test]
    fn uniform_spread_within_a_minute_is_uniform() {
        let path = write(
            "az19u.csv",
            &(header_2019() + &row_2019("f", "http", &[(0, 60_000)])),
        );
        let s = spec(TraceFormat::AzureFunctions2019, FunctionChoice::All);
        let rows = all(&mut Trace::open(&path, "w", &s).unwrap());
        // Per-second counts of 60 000 uniform times: each Binomial(60 000, 1/60), sd ≈ 31.4.
        let mut seconds = [0u32; 60];
        for r in &rows {
            seconds[(r.at.as_nanos() / NANOS_PER_SEC) as usize] += 1;
        }
        for (s, &c) in seconds.iter().enumerate() {
            assert!((c as f64 - 1000.0).abs() < 5.0 * 31.4, "second {s}: {c}");
        }
    }

    #[test]
    fn functions_are_chosen_by_hash_top_or_rank_and_trigger() {
        let text = header_2019()
            + &row_2019("aaa111", "http", &[(0, 10)])
            + &row_2019("bbb222", "timer", &[(0, 30)])
            + &row_2019("ccc333", "http", &[(0, 20)]);
        let path = write("az19c.csv", &text);
        let count = |s: TraceSpec| all(&mut Trace::open(&path, "w", &s).unwrap()).len();
        let f = TraceFormat::AzureFunctions2019;
        assert_eq!(count(spec(f, FunctionChoice::Hash("ccc".into()))), 20);
        assert_eq!(count(spec(f, FunctionChoice::Top(2))), 50);
        assert_eq!(count(spec(f, FunctionChoice::Rank(3))), 10);
        let http = TraceSpec {
            trigger: Some("http".into()),
            ..spec(f, FunctionChoice::Top(1))
        };
        assert_eq!(count(http), 20);
        let e = Trace::open(&path, "w", &spec(f, FunctionChoice::Hash("zzz".into())))
            .err()
            .unwrap();
        assert!(
            e.contains("no function whose hash starts with `zzz`; the busiest are bbb222"),
            "{e}"
        );
        let e = Trace::open(&path, "w", &spec(f, FunctionChoice::Rank(4)))
            .err()
            .unwrap();
        assert!(e.contains("has only 3 functions"), "{e}");
    }

    #[test]
    fn bad_2019_rows_name_the_minute_column() {
        let text = header_2019() + &row_2019("f", "http", &[(0, 1)]).replacen(",1,", ",x,", 1);
        let path = write("az19bad.csv", &text);
        let e = Trace::open(
            &path,
            "w",
            &spec(TraceFormat::AzureFunctions2019, FunctionChoice::All),
        )
        .err()
        .unwrap();
        assert!(e.contains("line 2, column `1`: expected a count"), "{e}");
        let path = write("az19hdr.csv", "HashOwner,HashApp,HashFunction\n");
        let e = Trace::open(
            &path,
            "w",
            &spec(TraceFormat::AzureFunctions2019, FunctionChoice::All),
        )
        .err()
        .unwrap();
        assert!(e.contains("starts with the header"), "{e}");
    }

    #[test]
    fn the_2021_layout_arrives_at_end_minus_duration_in_time_order() {
        let path = write(
            "az21.csv",
            "app,func,end_timestamp,duration\na,f1,10.0,0.5\na,f2,10.2,3.0\nb,f1,10.4,0.1\n\
             b,f1,1.0,2.0\na,f2,12.0,0.25\n",
        );
        let s = spec(TraceFormat::AzureFunctions2021, FunctionChoice::All);
        let mut t = Trace::open(&path, "w", &s).unwrap();
        // The row ending at 1.0 after 2.0 s started before the trace: outside.
        assert_eq!((t.stats().rows, t.stats().outside_window), (4, 1));
        assert_eq!(t.stats().max_lateness, 2_300_000_000);
        let rows = all(&mut t);
        let at: Vec<f64> = rows.iter().map(|r| r.at.as_secs_f64()).collect();
        assert_eq!(at, [7.2, 9.5, 10.3, 11.75]);
        assert_eq!(rows[0].duration, Some(SimDuration::from_secs(3)));
        assert_eq!(rows[0].key, Some(fnv1a64(b"f2")));
        let top = spec(TraceFormat::AzureFunctions2021, FunctionChoice::Top(1));
        assert_eq!(all(&mut Trace::open(&path, "w", &top).unwrap()).len(), 2);
        let bad = write("az21bad.csv", "app,func,end_timestamp,duration\na,f,3,-1\n");
        let e = Trace::open(&bad, "w", &s).err().unwrap();
        assert!(e.contains("line 2, column `duration`"), "{e}");
        let missing = write("az21hdr.csv", "app,func,end\n");
        let e = Trace::open(&missing, "w", &s).err().unwrap();
        assert!(e.contains("`end_timestamp` is missing"), "{e}");
    }
}
