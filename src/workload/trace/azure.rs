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

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rand::Rng;

use super::csv_rows::{header_hint, parse_seconds};
use super::lines::{Fields, Line, Lines};
use super::{
    BadRow, BadRows, FunctionChoice, MAX_FUNCTIONS, MAX_HASH_BYTES, MAX_MINUTE_COUNTS, Read,
    SKIP_HINT, Source, SourceRow, Spread, TraceSpec, quoted, shown,
};
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

/// Function totals gathered row by row, within [`MAX_FUNCTIONS`].
#[derive(Default)]
struct Candidates {
    list: Vec<Candidate>,
    index: BTreeMap<String, usize>,
}

impl Candidates {
    /// Adds `count` invocations of `hash`, first seen at `line`.
    fn add(&mut self, hash: &str, count: u64, line: u64, path: &Path) -> Result<(), String> {
        match self.index.get(hash) {
            Some(&i) => self.list[i].total += count,
            None => {
                if self.list.len() == MAX_FUNCTIONS {
                    return Err(format!(
                        "trace {}:{line}:1: more than {MAX_FUNCTIONS} distinct functions, the \
                         limit",
                        quoted(path)
                    ));
                }
                self.index.insert(hash.to_string(), self.list.len());
                self.list.push(Candidate {
                    hash: hash.to_string(),
                    total: count,
                    first_line: line,
                });
            }
        }
        Ok(())
    }
}

/// The function hashes `choice` selects among `candidates` (in file order of first sight).
fn choose(
    candidates: Vec<Candidate>,
    choice: &FunctionChoice,
    path: &Path,
) -> Result<BTreeSet<String>, String> {
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
                1 => Ok(matching.into_iter().collect()),
                0 => {
                    let top: Vec<String> = busiest(&candidates)
                        .into_iter()
                        .take(3)
                        .map(|h| shown(&h))
                        .collect();
                    Err(format!(
                        "trace {} has no function whose hash starts with `{}`; the busiest are \
                         {}",
                        quoted(path),
                        shown(prefix),
                        top.join(", ")
                    ))
                }
                n => Err(format!(
                    "trace {}: {n} functions have hashes starting with `{}` ({}, {}...); give \
                     more characters",
                    quoted(path),
                    shown(prefix),
                    shown(&matching[0]),
                    shown(&matching[1])
                )),
            }
        }
        FunctionChoice::Top(n) => Ok(busiest(&candidates).into_iter().take(*n as usize).collect()),
        FunctionChoice::Rank(n) => {
            let count = candidates.len();
            busiest(&candidates)
                .into_iter()
                .nth(*n as usize - 1)
                .map(|h| BTreeSet::from([h]))
                .ok_or_else(|| {
                    format!(
                        "`rank = {n}`: trace {} has only {count} functions",
                        quoted(path)
                    )
                })
        }
    }
}

/// The function hash in field `i` of `fields`, or a bad row when it is too long.
fn function_hash<'f>(fields: &'f Fields, i: usize, name: &str) -> Result<&'f str, BadRow> {
    let hash = fields.get(i).unwrap_or("");
    if hash.len() > MAX_HASH_BYTES {
        return Err(BadRow::at(
            fields.line,
            fields.column(i),
            name,
            format!(
                "a function hash is at most {MAX_HASH_BYTES} bytes, found {}",
                hash.len()
            ),
        ));
    }
    Ok(hash)
}

/// The 2019 layout's header names.
const HEADER_2019: [&str; 4] = ["HashOwner", "HashApp", "HashFunction", "Trigger"];

/// One 2019 row: its function and per-minute counts, or a bad row.
fn minute_row(fields: &Fields, counts: &mut Vec<u32>) -> Result<(String, String), BadRow> {
    let line = fields.line;
    let function = function_hash(fields, 2, "HashFunction")?.to_string();
    if function.is_empty() {
        return Err(BadRow::at(
            line,
            fields.column(2),
            "HashFunction",
            "the function hash is empty".into(),
        ));
    }
    let trigger = fields.get(3).unwrap_or("").to_string();
    if fields.len() != 4 + MINUTES {
        let at = fields.len().min(4 + MINUTES);
        return Err(BadRow::at(
            line,
            fields.column(at),
            &(at.max(4) - 3).to_string(),
            format!(
                "expected 4 columns and 1440 minute counts, found {} fields",
                fields.len()
            ),
        ));
    }
    counts.clear();
    for minute in 0..MINUTES {
        let raw = fields.get(4 + minute).unwrap_or("");
        match raw.parse::<u32>() {
            Ok(c) => counts.push(c),
            Err(_) => {
                return Err(BadRow::at(
                    line,
                    fields.column(4 + minute),
                    &(minute + 1).to_string(),
                    format!(
                        "expected a count of invocations (0 to {}), found `{}`",
                        u32::MAX,
                        shown(raw)
                    ),
                ));
            }
        }
    }
    Ok((function, trigger))
}

/// Opens a 2019 file and checks its header.
fn start_2019(path: &Path) -> Result<(Lines, Fields), String> {
    let mut lines = Lines::open(path)?;
    let mut header = Fields::default();
    lines.header(&mut header)?;
    let expected = |i: usize| -> String {
        match HEADER_2019.get(i) {
            Some(name) => (*name).to_string(),
            None => (i - 3).to_string(),
        }
    };
    let wrong = (0..4 + MINUTES).find(|&i| header.get(i) != Some(expected(i).as_str()));
    if let Some(i) = wrong.or((header.len() > 4 + MINUTES).then_some(4 + MINUTES)) {
        let what = if i < 4 + MINUTES {
            format!("column {} should be `{}`", i + 1, expected(i))
        } else {
            format!("the header has {} columns", header.len())
        };
        return Err(format!(
            "trace {}:{}:{}: an azure_functions_2019 file starts with the header \
             HashOwner,HashApp,HashFunction,Trigger,1,2,...,1440 ({} columns); {what}",
            quoted(path),
            header.line,
            header.column(i),
            4 + MINUTES
        ));
    }
    Ok((lines, header))
}

/// Arrival times within a minute for `spread = "even"`: the `i`-th of `c` at (i + ½)/c of
/// the minute, in nanoseconds (the same arithmetic as the replay).
fn even_within(i: u64, c: u64) -> i64 {
    let fraction = ((i as f64 + 0.5) / c as f64).min(1.0 - f64::EPSILON);
    ((fraction * MINUTE_NS as f64) as i64).min(MINUTE_NS - 1)
}

/// Counts that can be drawn from in proportion and decremented, both in O(log n): a
/// Fenwick tree over one minute's non-zero counts.
#[derive(Default)]
struct Remaining {
    tree: Vec<u64>,
}

impl Remaining {
    fn reset(&mut self, counts: impl Iterator<Item = u64>) {
        self.tree.clear();
        self.tree.extend(counts);
        let n = self.tree.len();
        for i in 0..n {
            let parent = i | (i + 1);
            if parent < n {
                self.tree[parent] += self.tree[i];
            }
        }
    }

    /// The first index whose cumulative count exceeds `pick` (what a scan from the first
    /// would find), taking one from it.
    fn take(&mut self, mut pick: u64) -> usize {
        let n = self.tree.len();
        let mut at = 0; // answer + 1, built bit by bit
        let mut step = n.next_power_of_two();
        while step > 0 {
            let next = at + step;
            if next <= n && self.tree[next - 1] <= pick {
                pick -= self.tree[next - 1];
                at = next;
            }
            step /= 2;
        }
        let mut i = at;
        while i < n {
            self.tree[i] -= 1;
            i |= i + 1;
        }
        at
    }
}

/// An Azure Functions 2019 trace: the chosen functions' per-minute counts, turned into
/// arrivals minute by minute.
pub(crate) struct Minutes {
    /// Per chosen row: its key (rows of one function in several apps share it).
    keys: Vec<u64>,
    /// Per minute: its non-zero counts, as (chosen row, count), in file order.
    by_minute: Vec<Vec<(u32, u32)>>,
    spread: Spread,
    skipped: u64,
    /// Where the generator is: the minute, and how many of its arrivals are out.
    minute: usize,
    total: u64,
    issued: u64,
    /// Arrivals of this minute not yet issued, per entry of its `by_minute`.
    remaining: Remaining,
    /// The last arrival's position in the minute, in [0, 1).
    last_fraction: f64,
}

impl Minutes {
    /// Reads the file twice: totals to choose functions, then the chosen rows' counts.
    pub fn open(path: &Path, spec: &TraceSpec) -> Result<Minutes, String> {
        let (mut lines, header) = start_2019(path)?;
        let mut fields = Fields::default();
        let mut counts = Vec::with_capacity(MINUTES);
        let mut candidates = Candidates::default();
        let mut skipped = 0;
        while let Some(line) = lines.next(&mut fields)? {
            let row = match line {
                Line::Bad(fault) => Err(fault.named(&header)),
                Line::Row => minute_row(&fields, &mut counts),
            };
            let (function, trigger) = match row {
                Ok(row) => row,
                Err(_) if spec.on_bad_row == BadRows::Skip => {
                    skipped += 1;
                    continue;
                }
                Err(bad) => return Err(bad.located(path) + SKIP_HINT),
            };
            if spec.trigger.as_ref().is_some_and(|t| *t != trigger) {
                continue;
            }
            let total: u64 = counts.iter().map(|&c| u64::from(c)).sum();
            candidates.add(&function, total, fields.line, path)?;
        }
        let chosen = choose(candidates.list, &spec.functions, path)?;
        lines.rewind(&mut fields)?;
        let mut keys = Vec::new();
        let mut by_minute: Vec<Vec<(u32, u32)>> = vec![Vec::new(); MINUTES];
        let mut held = 0;
        while let Some(line) = lines.next(&mut fields)? {
            if !matches!(line, Line::Row) {
                continue;
            }
            let Ok((function, trigger)) = minute_row(&fields, &mut counts) else {
                continue;
            };
            if spec.trigger.as_ref().is_some_and(|t| *t != trigger) || !chosen.contains(&function) {
                continue;
            }
            let row = keys.len() as u32;
            keys.push(fnv1a64(function.as_bytes()));
            for (minute, &c) in counts.iter().enumerate() {
                if c > 0 {
                    by_minute[minute].push((row, c));
                    held += 1;
                }
            }
            if held > MAX_MINUTE_COUNTS {
                return Err(format!(
                    "trace {}:{}:1: the chosen functions have more than {MAX_MINUTE_COUNTS} \
                     non-zero per-minute counts, the limit; choose fewer with `function`, \
                     `top` or `trigger`",
                    quoted(path),
                    fields.line
                ));
            }
        }
        let mut minutes = Minutes {
            keys,
            by_minute,
            spread: spec.spread,
            skipped,
            minute: 0,
            total: 0,
            issued: 0,
            remaining: Remaining::default(),
            last_fraction: 0.0,
        };
        minutes.start_minute(0);
        Ok(minutes)
    }

    fn start_minute(&mut self, minute: usize) {
        self.minute = minute;
        self.issued = 0;
        self.last_fraction = 0.0;
        let counts = &self.by_minute[minute];
        self.total = counts.iter().map(|&(_, c)| u64::from(c)).sum();
        self.remaining
            .reset(counts.iter().map(|&(_, c)| u64::from(c)));
    }
}

impl Source for Minutes {
    fn next_row(&mut self, rng: &mut SimRng) -> Result<Read, String> {
        while self.issued == self.total {
            if self.minute + 1 >= MINUTES {
                return Ok(Read::End);
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
        let pick = if self.keys.len() == 1 {
            0
        } else {
            rng.random_range(0..left)
        };
        let which = self.by_minute[self.minute][self.remaining.take(pick)].0;
        self.issued += 1;
        let within = ((self.last_fraction * MINUTE_NS as f64) as i64).min(MINUTE_NS - 1);
        Ok(Read::Row(SourceRow {
            t: self.minute as i64 * MINUTE_NS + within,
            line: 0,
            key: Some(self.keys[which as usize]),
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

    /// Minutes wholly inside or outside the window count whole. In a minute the window cuts,
    /// evenly spread arrivals are counted exactly; uniform ones (random) by their expected
    /// number, rounded.
    fn count(&self, from: i64, to: Option<i64>) -> Option<(u64, u64)> {
        let (mut inside, mut outside) = (0u64, 0u64);
        let to = to.unwrap_or(i64::MAX);
        for (minute, counts) in self.by_minute.iter().enumerate() {
            let c: u64 = counts.iter().map(|&(_, c)| u64::from(c)).sum();
            let start = minute as i64 * MINUTE_NS;
            let end = start + MINUTE_NS;
            let within = if from <= start && end <= to {
                c
            } else if end <= from || to <= start {
                0
            } else {
                let (a, b) = (from.max(start) - start, to.min(end) - start);
                match self.spread {
                    Spread::Even => {
                        // The first arrival at or after each bound (times rise with i).
                        let first_at = |bound: i64| {
                            let (mut lo, mut hi) = (0u64, c);
                            while lo < hi {
                                let mid = lo + (hi - lo) / 2;
                                if even_within(mid, c) < bound {
                                    lo = mid + 1;
                                } else {
                                    hi = mid;
                                }
                            }
                            lo
                        };
                        first_at(b) - first_at(a)
                    }
                    Spread::Uniform => {
                        (c as f64 * (b - a) as f64 / MINUTE_NS as f64).round() as u64
                    }
                }
            };
            inside += within;
            outside += c - within;
        }
        Some((inside, outside))
    }
}

/// An Azure Functions 2021 trace: one row per invocation of the chosen functions.
pub(crate) struct Invocations {
    lines: Lines,
    header: Fields,
    columns: [usize; 4],
    /// The chosen function hashes; `None` = every function.
    chosen: Option<BTreeSet<String>>,
    fields: Fields,
}

impl Invocations {
    const COLUMNS: [&'static str; 4] = ["app", "func", "end_timestamp", "duration"];

    /// Opens the file; when functions are chosen by count, reads it once to count them.
    pub fn open(path: &Path, spec: &TraceSpec) -> Result<Invocations, String> {
        let (lines, header, columns) = Self::start(path)?;
        let mut source = Invocations {
            lines,
            header,
            columns,
            chosen: None,
            fields: Fields::default(),
        };
        if spec.functions != FunctionChoice::All {
            let mut candidates = Candidates::default();
            // Bad rows are passed over here; the checking pass counts or reports them.
            while let Some(line) = source.lines.next(&mut source.fields)? {
                if !matches!(line, Line::Row) {
                    continue;
                }
                let Ok(function) = function_hash(&source.fields, columns[1], "func") else {
                    continue;
                };
                if !function.is_empty() {
                    candidates.add(function, 1, source.fields.line, path)?;
                }
            }
            source.chosen = Some(choose(candidates.list, &spec.functions, path)?);
            source.rewind()?;
        }
        Ok(source)
    }

    fn start(path: &Path) -> Result<(Lines, Fields, [usize; 4]), String> {
        let mut lines = Lines::open(path)?;
        let mut header = Fields::default();
        lines.header(&mut header)?;
        let mut columns = [0; 4];
        for (slot, name) in columns.iter_mut().zip(Self::COLUMNS) {
            *slot = header.iter().position(|c| c == name).ok_or_else(|| {
                format!(
                    "trace {}:{}:1: an azure_functions_2021 file has the columns \
                     app,func,end_timestamp,duration; `{name}` is missing{}",
                    quoted(path),
                    header.line,
                    header_hint(&header, name)
                )
            })?;
        }
        Ok((lines, header, columns))
    }

    /// Parses the current line; `None` when its function is not chosen.
    fn parse(&self) -> Option<Read> {
        let fields = &self.fields;
        let line = fields.line;
        let [_, func, end, duration] = self.columns;
        let function = match function_hash(fields, func, "func") {
            Ok(function) => function,
            Err(bad) => return Some(Read::Bad(bad)),
        };
        if let Some(chosen) = &self.chosen
            && !chosen.contains(function)
        {
            return None;
        }
        let bad = |i: usize, name: &str, message: String| {
            Some(Read::Bad(BadRow::at(line, fields.column(i), name, message)))
        };
        let raw_end = fields.get(end).unwrap_or("");
        let Some(end_ns) = parse_seconds(raw_end) else {
            return bad(
                end,
                "end_timestamp",
                format!(
                    "expected seconds since the trace start, found `{}`",
                    shown(raw_end)
                ),
            );
        };
        let raw_duration = fields.get(duration).unwrap_or("");
        let duration_ns = match parse_seconds(raw_duration) {
            Some(ns) if ns >= 0 => ns,
            _ => {
                return bad(
                    duration,
                    "duration",
                    format!(
                        "expected a non-negative number of seconds, found `{}`",
                        shown(raw_duration)
                    ),
                );
            }
        };
        let Ok(t) = i64::try_from(end_ns - duration_ns) else {
            return bad(
                end,
                "end_timestamp",
                format!("`{}` is out of range", shown(raw_end)),
            );
        };
        Some(Read::Row(SourceRow {
            t,
            line,
            key: Some(fnv1a64(function.as_bytes())),
            item_kb: None,
            op: None,
            duration: Some(SimDuration::from_nanos(
                duration_ns.min(u64::MAX as i128) as u64
            )),
        }))
    }
}

impl Source for Invocations {
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
    fn drawing_from_what_is_left_finds_what_a_scan_from_the_first_finds() {
        let mut rng = crate::engine::rng::stream(3, "fenwick");
        for n in [1usize, 2, 3, 7, 8, 33] {
            let mut left: Vec<u64> = (0..n).map(|_| rng.random_range(0..5u64)).collect();
            left[n / 2] += 1;
            let mut tree = Remaining::default();
            tree.reset(left.iter().copied());
            while left.iter().sum::<u64>() > 0 {
                let pick = rng.random_range(0..left.iter().sum::<u64>());
                let (mut rest, mut scan) = (pick, 0);
                while rest >= left[scan] {
                    rest -= left[scan];
                    scan += 1;
                }
                assert_eq!(tree.take(pick), scan, "{left:?} pick {pick}");
                left[scan] -= 1;
            }
        }
    }

    #[test]
    fn the_2019_rows_of_a_window_are_counted_without_generating_them() {
        let text = header_2019()
            + &row_2019("f1", "http", &[(0, 7), (1, 1000), (2, 13), (3, 5)])
            + &row_2019("f2", "http", &[(1, 3), (2, 1)]);
        let path = write("az19w.csv", &text);
        // A window cutting minutes 0 and 2: evenly spread rows are counted exactly.
        let window = |spread| TraceSpec {
            spread,
            window_from: SimDuration::from_millis(50_500),
            window_to: Some(SimDuration::from_millis(130_250)),
            ..spec(TraceFormat::AzureFunctions2019, FunctionChoice::All)
        };
        let mut t = Trace::open(&path, "w", &window(Spread::Even)).unwrap();
        let counted = t.stats().rows;
        assert_eq!(all(&mut t).len() as u64, counted);
        // 7 at (i + ½)/7 of minute 0: one after 50.5 s; all 1 003 of minute 1; 14 at
        // (i + ½)/14 of minute 2: 2 before 10.25 s.
        assert_eq!(counted, 1 + 1003 + 2);
        assert_eq!(t.stats().outside_window, 1029 - counted);
        // Uniformly spread rows in a cut minute are counted by their expected number, rounded:
        // 7 · 9.5/60 = 1.1 and 14 · 10.25/60 = 2.4.
        let t = Trace::open(&path, "w", &window(Spread::Uniform)).unwrap();
        assert_eq!(t.stats().rows, 1 + 1003 + 2);
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
        assert!(e.contains(":2:12: column `1`: expected a count"), "{e}");
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
        assert!(e.contains(":2:7: column `duration`"), "{e}");
        let missing = write("az21hdr.csv", "app,func,end\n");
        let e = Trace::open(&missing, "w", &s).err().unwrap();
        assert!(e.contains("`end_timestamp` is missing"), "{e}");
    }
}
