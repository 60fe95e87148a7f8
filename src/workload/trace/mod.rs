//! Recorded load: arrivals replayed from a trace file, streamed so that a trace far larger than
//! memory replays in flat memory.
//!
//! ```toml
//! arrival = { process = "trace", file = "traces/day1.csv" }          # format = "csv"
//! arrival = { process = "trace", file = "d01.csv", format = "azure_functions_2019", top = 3 }
//! arrival = { process = "trace", file = "inv.csv", format = "azure_functions_2021",
//!             function = "a1b2c3", speedup = 60, window = { from = "2h", to = "3h" } }
//! ```
//!
//! Formats (each is documented in its reader):
//! - `csv` ([`csv_rows`]): a header, then one row per arrival. `timestamp` is required: seconds
//!   since the start (`12.5`), Unix seconds with `timestamps = "unix"`, or RFC 3339 times
//!   (`2026-11-29T09:00:00.250Z`). Optional columns: `key`, `item_kb`, `operation`, `workload`
//!   (one file feeds several workloads) and `duration` (the recorded service time).
//! - `azure_functions_2019` ([`azure`]): one row per function with 1440 per-minute counts;
//!   arrivals within a minute are spread by `spread`.
//! - `azure_functions_2021` ([`azure`]): one row per invocation, `app, func, end_timestamp,
//!   duration`; the arrival is `end_timestamp − duration` and the duration travels with the
//!   request (a handler step `compute = "from_trace"` uses it).
//!
//! Replay controls, applied in this order:
//! 1. `window = { from = "2h", to = "3h" }`: only rows with trace time in `[from, to)`; the
//!    window's start becomes the run's start.
//! 2. `speedup = k`: trace time is divided by `k` (60 replays an hour in a minute).
//! 3. `offset = "30s"`: the first row arrives this much later.
//! 4. `loop = true`: at the end the trace starts again, one period later. The period is the
//!    window's length when `window.to` is given, a day for `azure_functions_2019`, and
//!    otherwise the trace's span from the window start to its last row plus one mean gap
//!    between rows (so a constant-rate trace stays evenly spaced across the seam).
//! 5. `scale = s`: every row is replayed ⌊s⌋ times, plus once more with probability s − ⌊s⌋
//!    (seeded): 2 doubles the load exactly, 0.5 keeps each row with probability one half.
//!    Copies of a row arrive at the same instant with the same key.
//!
//! Order: rows need not be sorted. The file is checked whole before the run (every row
//! parses; bad rows are errors naming the line and column, or with `on_bad_row = "skip"` are
//! skipped and counted in the summary), and that pass measures how far any row lies behind
//! the latest time before it (its lateness). Replay then holds rows in a reorder buffer for
//! that long only, so a sorted trace needs no buffer and a nearly sorted one (an invocation
//! log ordered by end time) a small one; memory follows the disorder, not the length.
//!
//! Limits: every input is bounded before it is allocated or replayed (see the constants
//! below): the file must be a regular file of at most [`MAX_TRACE_BYTES`], each line at most
//! [`MAX_LINE_BYTES`]; the reorder buffer holds at most [`MAX_REORDER_ROWS`] rows; an Azure
//! file names at most [`MAX_FUNCTIONS`] functions with hashes of at most [`MAX_HASH_BYTES`]; a
//! pass replays at most [`MAX_PASS_ARRIVALS`] arrivals; and a looped trace's lap lasts at
//! least [`MIN_LOOP_PERIOD`] and replays at most [`MAX_LOOP_RATE`] arrivals a second on
//! average. Errors name the file, line and column, and show file contents only as the
//! field's value, cut short and escaped.

pub mod azure;
pub mod csv_rows;
pub(crate) mod lines;

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::path::{Path, PathBuf};

use rand::Rng;

use crate::engine::rng::SimRng;
use crate::engine::time::{NANOS_PER_SEC, SimDuration, SimTime};
use crate::message::Op;

/// The largest trace file read: 16 GiB. Memory does not grow with the file (it is streamed),
/// but checking it does take time (about 20 s per GiB).
pub const MAX_TRACE_BYTES: u64 = 16 << 30;
/// The longest line of a trace: 1 MiB. The longest real rows, the Azure 2019 layout's 1440
/// per-minute counts, are under 20 KiB; a file without line breaks is not a trace.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// The most rows held at once to replay an unsorted trace in time order: 2²⁰ (about
/// 80 MB). An invocation log ordered by end time holds the invocations running at once.
pub const MAX_REORDER_ROWS: usize = 1 << 20;
/// The most distinct functions an Azure trace may name: 2¹⁸, which bounds the memory of
/// choosing among them (a hash and a count each, under 150 MB in all).
pub const MAX_FUNCTIONS: usize = 1 << 18;
/// The longest function hash in an Azure trace: 256 bytes (the datasets' are 64 hex digits).
pub const MAX_HASH_BYTES: usize = 256;
/// The most non-zero per-minute counts held for the chosen functions of an Azure 2019 trace:
/// 2²⁵ (8 bytes each: 256 MiB). Only non-zero counts are held, and most functions of a day
/// are idle most minutes.
pub const MAX_MINUTE_COUNTS: usize = 1 << 25;
/// The most arrivals one pass of a trace replays (rows in the window × `scale`): 10⁹, about
/// ten minutes of simulation at the engine's speed. A per-minute count of the Azure 2019
/// layout is one field but may stand for billions of arrivals.
pub const MAX_PASS_ARRIVALS: f64 = 1e9;
/// The shortest lap of a looped trace, in simulated time after `speedup`: 1 ms. A lap must
/// advance simulated time, or the loop replays forever at one instant.
pub const MIN_LOOP_PERIOD: SimDuration = SimDuration::from_millis(1);
/// The highest mean arrival rate of a looped trace (rows × `scale` per lap, after
/// `speedup`): 10⁷ per simulated second. The engine simulates a few million requests per
/// second of wall time, so a faster loop would run for hours per simulated minute.
pub const MAX_LOOP_RATE: f64 = 1e7;
/// The smallest `scale`: 0.001 (one row in a thousand). A loop draws rows until one is kept,
/// so a scale near zero would spin without advancing time.
pub const MIN_SCALE: f64 = 0.001;
/// The largest `scale`: 1000.
pub const MAX_SCALE: f64 = 1000.0;

/// The longest value a message shows, in characters.
const SHOWN_CHARS: usize = 32;

/// `text` (a value read from a file) for a message: at most [`SHOWN_CHARS`] characters, with
/// control characters escaped, so that a message never prints a file's contents or lets
/// them drive the terminal.
pub(crate) fn shown(text: &str) -> String {
    match text.char_indices().nth(SHOWN_CHARS) {
        Some((cut, _)) => inert(&text[..cut]) + "…",
        None => inert(text),
    }
}

/// `text` with control characters and invisible marks escaped (see [`is_hidden`]), and
/// backticks, which quote values in messages.
pub(crate) fn inert(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_hidden(c) {
            out.extend(c.escape_default());
        } else if c == '`' {
            out.push_str("\\`");
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `c` would act on a terminal rather than show: control characters, and the
/// invisible marks that reorder or hide text (bidirectional overrides, zero-width spaces).
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
        )
}

/// A path for a message, control characters escaped.
pub(crate) fn quoted(path: &Path) -> String {
    inert(&path.display().to_string())
}

/// A trace file's layout.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum TraceFormat {
    /// awsim's own CSV layout (see [`csv_rows`]).
    #[default]
    Csv,
    /// The Azure Functions 2019 per-minute invocation counts (see [`azure`]).
    AzureFunctions2019,
    /// The Azure Functions 2021 per-invocation trace (see [`azure`]).
    AzureFunctions2021,
}

impl TraceFormat {
    /// The names scenarios use, in the order of the variants.
    pub const NAMES: &'static [&'static str] =
        &["csv", "azure_functions_2019", "azure_functions_2021"];

    /// The format called `name`.
    pub fn from_name(name: &str) -> Option<TraceFormat> {
        Some(match name {
            "csv" => TraceFormat::Csv,
            "azure_functions_2019" => TraceFormat::AzureFunctions2019,
            "azure_functions_2021" => TraceFormat::AzureFunctions2021,
            _ => return None,
        })
    }

    /// The name scenarios use.
    pub fn name(self) -> &'static str {
        match self {
            TraceFormat::Csv => "csv",
            TraceFormat::AzureFunctions2019 => "azure_functions_2019",
            TraceFormat::AzureFunctions2021 => "azure_functions_2021",
        }
    }

    fn is_azure(self) -> bool {
        self != TraceFormat::Csv
    }
}

/// What to do with a row that cannot be read.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum BadRows {
    /// Stop before the run with an error naming the line and column.
    #[default]
    Error,
    /// Skip it, and count it in the summary (`trace_rows_skipped`).
    Skip,
}

/// How a minute's invocation count becomes arrival times (Azure 2019).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Spread {
    /// Independent uniform times within the minute, sorted: a Poisson process conditioned on
    /// the minute's count (seeded).
    #[default]
    Uniform,
    /// Evenly spaced: the i-th of c arrivals at (i + ½)/c of the minute.
    Even,
}

/// Which functions of an Azure trace to replay.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum FunctionChoice {
    /// Every function in the file, merged.
    #[default]
    All,
    /// The functions whose hash is, or starts with, this text (one function, or the rows of
    /// one hash in several apps).
    Hash(String),
    /// The N functions with the most invocations, merged.
    Top(u32),
    /// Only the N-th busiest function (1 = the busiest).
    Rank(u32),
}

/// What numbers in a CSV `timestamp` column mean.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum NumericTimes {
    /// Seconds since the start of the trace.
    #[default]
    Relative,
    /// Seconds since the Unix epoch (absolute, like RFC 3339 times).
    Unix,
}

/// `arrival = { process = "trace", ... }`: the file and how to replay it (see the module doc).
#[derive(Clone, Debug, PartialEq)]
pub struct TraceSpec {
    /// The trace file, relative to the scenario file.
    pub file: String,
    /// Its layout.
    pub format: TraceFormat,
    /// Trace time is divided by this.
    pub speedup: f64,
    /// The replay starts this much after the run.
    pub offset: SimDuration,
    /// Start again at the end.
    pub repeat: bool,
    /// Rate multiplier, by duplication and thinning.
    pub scale: f64,
    /// Start of the replayed window, in trace time.
    pub window_from: SimDuration,
    /// End of the replayed window, in trace time (exclusive).
    pub window_to: Option<SimDuration>,
    /// What to do with unreadable rows.
    pub on_bad_row: BadRows,
    /// What numbers in a CSV `timestamp` column mean.
    pub timestamps: NumericTimes,
    /// Time zero of a trace with absolute times, in nanoseconds since the Unix epoch (default:
    /// its earliest time).
    pub origin: Option<i128>,
    /// Which functions of an Azure trace to replay.
    pub functions: FunctionChoice,
    /// Azure 2019: only functions with this trigger (`http`, `timer`, `queue`...).
    pub trigger: Option<String>,
    /// Azure 2019: how a minute's arrivals are spread.
    pub spread: Spread,
}

impl TraceSpec {
    /// A CSV trace replayed as recorded.
    pub fn csv(file: &str) -> TraceSpec {
        TraceSpec {
            file: file.to_string(),
            format: TraceFormat::Csv,
            speedup: 1.0,
            offset: SimDuration::ZERO,
            repeat: false,
            scale: 1.0,
            window_from: SimDuration::ZERO,
            window_to: None,
            on_bad_row: BadRows::Error,
            timestamps: NumericTimes::Relative,
            origin: None,
            functions: FunctionChoice::All,
            trigger: None,
            spread: Spread::Uniform,
        }
    }
}

/// The trace-only fields of `arrival`, as written, for [`TraceOptions::into_spec`].
#[derive(Clone, Debug, Default)]
pub struct TraceOptions {
    /// `file`.
    pub file: Option<String>,
    /// `format`.
    pub format: Option<String>,
    /// `speedup`.
    pub speedup: Option<f64>,
    /// `offset`.
    pub offset: Option<SimDuration>,
    /// `loop`.
    pub repeat: Option<bool>,
    /// `scale`.
    pub scale: Option<f64>,
    /// `window.from` and `window.to`.
    pub window: Option<(Option<SimDuration>, Option<SimDuration>)>,
    /// `on_bad_row`.
    pub on_bad_row: Option<String>,
    /// `timestamps`.
    pub timestamps: Option<String>,
    /// `origin`.
    pub origin: Option<String>,
    /// `function`.
    pub function: Option<String>,
    /// `top`.
    pub top: Option<u32>,
    /// `rank`.
    pub rank: Option<u32>,
    /// `trigger`.
    pub trigger: Option<String>,
    /// `spread`.
    pub spread: Option<String>,
}

impl TraceOptions {
    /// True when any trace-only field is given (they do not belong to other processes).
    pub fn any(&self) -> bool {
        self.file.is_some()
            || self.format.is_some()
            || self.speedup.is_some()
            || self.offset.is_some()
            || self.repeat.is_some()
            || self.scale.is_some()
            || self.window.is_some()
            || self.on_bad_row.is_some()
            || self.timestamps.is_some()
            || self.origin.is_some()
            || self.function.is_some()
            || self.top.is_some()
            || self.rank.is_some()
            || self.trigger.is_some()
            || self.spread.is_some()
    }

    /// Checks the fields against each other and the format.
    pub fn into_spec(self) -> Result<TraceSpec, String> {
        let format = match self.format.as_deref() {
            None => TraceFormat::Csv,
            Some(name) => TraceFormat::from_name(name).ok_or_else(|| {
                format!(
                    "unknown trace `format` `{name}`; expected one of {}{}",
                    TraceFormat::NAMES.join(", "),
                    crate::units::did_you_mean(name, TraceFormat::NAMES)
                )
            })?,
        };
        let file = self
            .file
            .ok_or("a trace needs a `file`, e.g. file = \"day1.csv\"")?;
        let speedup = self.speedup.unwrap_or(1.0);
        if !(speedup > 0.0 && speedup.is_finite()) {
            return Err(format!(
                "`speedup` must be a positive number (2 replays twice as fast), found {speedup}"
            ));
        }
        let scale = self.scale.unwrap_or(1.0);
        if !(MIN_SCALE..=MAX_SCALE).contains(&scale) {
            return Err(format!(
                "`scale` must be above 0 (at least {MIN_SCALE}: one row in a thousand) and at \
                 most {MAX_SCALE} (2 doubles the rate, 0.5 halves it), found {scale}"
            ));
        }
        let (window_from, window_to) = self.window.unwrap_or((None, None));
        let window_from = window_from.unwrap_or(SimDuration::ZERO);
        if let Some(to) = window_to
            && to <= window_from
        {
            return Err(format!(
                "`window.to` ({to}) must come after `window.from` ({window_from})"
            ));
        }
        let on_bad_row = match self.on_bad_row.as_deref() {
            None | Some("error") => BadRows::Error,
            Some("skip") => BadRows::Skip,
            Some(other) => {
                return Err(format!(
                    "`on_bad_row` is \"error\" (the default) or \"skip\", found \"{other}\""
                ));
            }
        };
        let only_for = |field: &str, given: bool, allowed: bool, formats: &str| {
            if given && !allowed {
                Err(format!(
                    "`{field}` applies to {formats} traces, not to format \"{}\"",
                    format.name()
                ))
            } else {
                Ok(())
            }
        };
        only_for(
            "timestamps",
            self.timestamps.is_some(),
            format == TraceFormat::Csv,
            "\"csv\"",
        )?;
        only_for(
            "origin",
            self.origin.is_some(),
            format == TraceFormat::Csv,
            "\"csv\"",
        )?;
        let azure = "the Azure Functions";
        only_for(
            "function",
            self.function.is_some(),
            format.is_azure(),
            azure,
        )?;
        only_for("top", self.top.is_some(), format.is_azure(), azure)?;
        only_for("rank", self.rank.is_some(), format.is_azure(), azure)?;
        let only_2019 = format == TraceFormat::AzureFunctions2019;
        only_for(
            "trigger",
            self.trigger.is_some(),
            only_2019,
            "\"azure_functions_2019\"",
        )?;
        only_for(
            "spread",
            self.spread.is_some(),
            only_2019,
            "\"azure_functions_2019\"",
        )?;
        let timestamps = match self.timestamps.as_deref() {
            None | Some("relative") => NumericTimes::Relative,
            Some("unix") => NumericTimes::Unix,
            Some(other) => {
                return Err(format!(
                    "`timestamps` is \"relative\" (seconds since the start, the default) or \
                     \"unix\" (seconds since 1970), found \"{other}\""
                ));
            }
        };
        let origin = match &self.origin {
            None => None,
            Some(text) => Some(csv_rows::parse_rfc3339(text).map_err(|e| {
                format!("`origin` must be an RFC 3339 time like 2026-11-29T09:00:00Z: {e}")
            })?),
        };
        let chosen =
            self.function.is_some() as u8 + self.top.is_some() as u8 + self.rank.is_some() as u8;
        if chosen > 1 {
            return Err(
                "choose functions with one of `function` (a hash), `top` (the N busiest, \
                 merged) or `rank` (the N-th busiest)"
                    .into(),
            );
        }
        let functions = if let Some(hash) = self.function {
            if hash.is_empty() {
                return Err("`function` needs a function hash (or its first characters)".into());
            }
            FunctionChoice::Hash(hash)
        } else if let Some(n) = self.top {
            if n == 0 {
                return Err("`top` must be at least 1".into());
            }
            FunctionChoice::Top(n)
        } else if let Some(n) = self.rank {
            if n == 0 {
                return Err("`rank` must be at least 1 (1 = the busiest function)".into());
            }
            FunctionChoice::Rank(n)
        } else {
            FunctionChoice::All
        };
        let spread = match self.spread.as_deref() {
            None | Some("uniform") | Some("poisson") => Spread::Uniform,
            Some("even") => Spread::Even,
            Some(other) => {
                return Err(format!(
                    "`spread` is \"uniform\" (seeded random times, as a Poisson process \
                     with the minute's count; \"poisson\" is the same) or \"even\", found \
                     \"{other}\""
                ));
            }
        };
        Ok(TraceSpec {
            file,
            format,
            speedup,
            offset: self.offset.unwrap_or(SimDuration::ZERO),
            repeat: self.repeat.unwrap_or(false),
            scale,
            window_from,
            window_to,
            on_bad_row,
            timestamps,
            origin,
            functions,
            trigger: self.trigger,
            spread,
        })
    }
}

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
    /// Its recorded service time, if the trace gives one.
    pub duration: Option<SimDuration>,
}

/// A row as a format reader yields it, in trace time.
#[derive(Copy, Clone, Debug, PartialEq)]
pub(crate) struct SourceRow {
    /// Nanoseconds since the trace's time zero (negative before it).
    pub t: i64,
    /// Its line in the file (0 when the row is generated, as Azure 2019's are).
    pub line: u64,
    pub key: Option<u64>,
    pub item_kb: Option<f32>,
    pub op: Option<Op>,
    pub duration: Option<SimDuration>,
}

/// A row that cannot be read: where and why.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BadRow {
    /// Line in the file (1 = the first line, the header).
    pub line: u64,
    /// Column in the line, in characters (1 = the first).
    pub column: u64,
    /// The field, for the message: its column's name in backticks (or `field N`).
    pub field: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl BadRow {
    /// A bad value in the column `name`, at `column` of `line`.
    pub fn at(line: u64, column: u64, name: &str, message: String) -> BadRow {
        BadRow {
            line,
            column,
            field: format!("column `{name}`"),
            message,
        }
    }

    /// The message for the row of `path`, starting with its place (file:line:column).
    pub fn located(&self, path: &Path) -> String {
        format!(
            "trace {}:{}:{}: {}: {}",
            quoted(path),
            self.line,
            self.column,
            self.field,
            self.message
        )
    }
}

/// What a format reader read.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Read {
    /// A row for this workload.
    Row(SourceRow),
    /// A row that cannot be read.
    Bad(BadRow),
    /// The end of the file.
    End,
}

/// A format reader: rows in file order.
pub(crate) trait Source: Send {
    /// The next row for this workload, a bad row, or the end of the file; `Err` when the
    /// file cannot be read on (a line over [`MAX_LINE_BYTES`], a read error).
    fn next_row(&mut self, rng: &mut SimRng) -> Result<Read, String>;
    /// Back to the first row (for `loop`).
    fn rewind(&mut self) -> Result<(), String>;
    /// Bad rows the reader skipped while opening (Azure 2019 reads its counts then).
    fn skipped_on_open(&self) -> u64 {
        0
    }
    /// The trace's natural length, when its layout fixes one (a day of minutes).
    fn period(&self) -> Option<i64> {
        None
    }
    /// The rows inside and outside `[from, to)`, when the reader can count them without
    /// yielding each (Azure 2019: a count stands for many arrivals).
    fn count(&self, _from: i64, _to: Option<i64>) -> Option<(u64, u64)> {
        None
    }
}

/// What the checking pass found.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct TraceStats {
    /// Rows replayed per pass (inside the window, before `scale`).
    pub rows: u64,
    /// Bad rows skipped (`on_bad_row = "skip"`).
    pub skipped: u64,
    /// Good rows outside the window (or before the trace's time zero).
    pub outside_window: u64,
    /// The largest lateness of a row behind the latest time before it, in nanoseconds.
    pub max_lateness: i64,
    first: i64,
    last: i64,
}

/// A buffered row, ordered by time then by file order.
struct Buffered {
    t: i64,
    seq: u64,
    row: SourceRow,
}

impl PartialEq for Buffered {
    fn eq(&self, other: &Self) -> bool {
        (self.t, self.seq) == (other.t, other.seq)
    }
}
impl Eq for Buffered {}
impl PartialOrd for Buffered {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Buffered {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.t, self.seq).cmp(&(other.t, other.seq))
    }
}

/// A trace being replayed for one workload.
pub struct Trace {
    source: Box<dyn Source + Send>,
    stats: TraceStats,
    window_from: i64,
    window_to: Option<i64>,
    speedup: f64,
    offset: u64,
    /// The loop period in trace nanoseconds, when looping.
    period: Option<i64>,
    scale_whole: u32,
    scale_fraction: f64,
    reorder: BinaryHeap<Reverse<Buffered>>,
    latest: i64,
    seq: u64,
    source_done: bool,
    lap: u64,
    copy: Option<(TraceRow, u32)>,
}

fn secs_to_ns(d: SimDuration) -> i64 {
    d.as_nanos().min(i64::MAX as u64) as i64
}

/// Trace nanoseconds as simulated nanoseconds, after `speedup`.
fn compress(trace_ns: i64, speedup: f64) -> u64 {
    let trace_ns = trace_ns.max(0) as u64;
    if speedup == 1.0 {
        trace_ns
    } else {
        (trace_ns as f64 / speedup).round() as u64
    }
}

/// Added to a bad row's message when bad rows stop the run.
const SKIP_HINT: &str = " (or set on_bad_row = \"skip\" to skip and count such rows)";

impl Trace {
    /// Checks the whole trace at `path` for `workload` (see the module doc), then opens it for
    /// replay.
    pub fn open(path: &Path, workload: &str, spec: &TraceSpec) -> Result<Trace, String> {
        let mut source: Box<dyn Source + Send> = match spec.format {
            TraceFormat::Csv => Box::new(csv_rows::CsvSource::open(path, workload, spec)?),
            TraceFormat::AzureFunctions2019 => Box::new(azure::Minutes::open(path, spec)?),
            TraceFormat::AzureFunctions2021 => Box::new(azure::Invocations::open(path, spec)?),
        };
        let window_from = secs_to_ns(spec.window_from);
        let window_to = spec.window_to.map(secs_to_ns);
        let inside = |t: i64| t >= window_from && window_to.is_none_or(|to| t < to);
        let mut stats = TraceStats {
            skipped: source.skipped_on_open(),
            first: i64::MAX,
            last: i64::MIN,
            ..TraceStats::default()
        };
        // The checking passes draw their own numbers: the replay's stream is untouched.
        let mut rng = crate::engine::rng::stream(0, "trace check");
        // The line of the row furthest behind the latest time before it.
        let mut latest_line = 0;
        if let Some((inside, outside)) = source.count(window_from, window_to) {
            stats.rows = inside;
            stats.outside_window = outside;
        } else {
            let mut latest = i64::MIN;
            loop {
                match source.next_row(&mut rng)? {
                    Read::End => break,
                    Read::Bad(bad) => match spec.on_bad_row {
                        BadRows::Error => return Err(bad.located(path) + SKIP_HINT),
                        BadRows::Skip => stats.skipped += 1,
                    },
                    Read::Row(row) if !inside(row.t) => stats.outside_window += 1,
                    Read::Row(row) => {
                        stats.rows += 1;
                        stats.first = stats.first.min(row.t);
                        stats.last = stats.last.max(row.t);
                        if row.t < latest && latest - row.t > stats.max_lateness {
                            stats.max_lateness = latest - row.t;
                            latest_line = row.line;
                        }
                        latest = latest.max(row.t);
                    }
                }
            }
        }
        let name = quoted(path);
        if stats.rows == 0 {
            let why = match (stats.outside_window, stats.skipped) {
                (0, 0) if spec.format == TraceFormat::Csv => {
                    format!("has no row for workload `{}`", shown(workload))
                }
                (0, 0) => "has no invocation for the chosen functions".to_string(),
                (outside, 0) => {
                    format!("has no row inside the window ({outside} rows outside it)")
                }
                (_, skipped) => format!("has no readable row ({skipped} skipped)"),
            };
            return Err(format!("trace {name} {why}"));
        }
        let arrivals = stats.rows as f64 * spec.scale;
        if arrivals > MAX_PASS_ARRIVALS {
            return Err(format!(
                "trace {name}: one pass replays {} rows × scale {} = {arrivals:.3e} arrivals, \
                 more than the limit of {MAX_PASS_ARRIVALS:.0e}; replay a `window` of it or \
                 lower `scale`",
                stats.rows, spec.scale
            ));
        }
        if stats.max_lateness > 0 {
            source.rewind()?;
            Self::check_reorder_depth(source.as_mut(), &mut rng, &inside, stats.max_lateness)
                .map_err(|()| {
                    format!(
                        "trace {name}: the rows are too far out of time order to replay: line \
                         {latest_line} lies {} behind an earlier row, and replaying in order \
                         would hold more than {MAX_REORDER_ROWS} rows at once; sort the file \
                         by time",
                        SimDuration::from_nanos(stats.max_lateness as u64)
                    )
                })?;
        }
        let period = spec.repeat.then(|| {
            if let Some(to) = window_to {
                to - window_from
            } else if let Some(natural) = source.period() {
                (natural - window_from).max(1)
            } else {
                // One mean gap after the last row (a second when the rows share one instant,
                // as for a single row), so that a constant-rate trace stays evenly spaced.
                let mean_gap = if stats.rows > 1 && stats.last > stats.first {
                    (stats.last - stats.first) / (stats.rows as i64 - 1)
                } else {
                    NANOS_PER_SEC as i64
                };
                stats
                    .last
                    .saturating_sub(window_from)
                    .saturating_add(mean_gap.max(1))
                    .max(1)
            }
        });
        if let Some(period) = period {
            let lap = compress(period, spec.speedup);
            let trace_time = SimDuration::from_nanos(period as u64);
            if lap < MIN_LOOP_PERIOD.as_nanos() {
                return Err(format!(
                    "trace {name}: with `loop`, each lap lasts {} ({trace_time} of trace time \
                     ÷ speedup {}), less than the minimum of {MIN_LOOP_PERIOD}; lower \
                     `speedup` or give the lap's length with `window.to`",
                    SimDuration::from_nanos(lap),
                    spec.speedup
                ));
            }
            let rate = arrivals / (lap as f64 / NANOS_PER_SEC as f64);
            if rate > MAX_LOOP_RATE {
                return Err(format!(
                    "trace {name}: with `loop`, {} rows × scale {} every {} is \
                     {rate:.3e} arrivals a second, more than the limit of {MAX_LOOP_RATE:.0e}; \
                     lower `speedup` or `scale`",
                    stats.rows,
                    spec.scale,
                    SimDuration::from_nanos(lap)
                ));
            }
        }
        source.rewind()?;
        Ok(Trace {
            source,
            stats,
            window_from,
            window_to,
            speedup: spec.speedup,
            offset: spec.offset.as_nanos(),
            period,
            scale_whole: spec.scale.floor() as u32,
            scale_fraction: spec.scale - spec.scale.floor(),
            reorder: BinaryHeap::new(),
            latest: i64::MIN,
            seq: 0,
            source_done: false,
            lap: 0,
            copy: None,
        })
    }

    /// Replays the rows' times through a reorder buffer as deep as `stats.max_lateness`;
    /// `Err` as soon as it would hold more than [`MAX_REORDER_ROWS`] rows.
    fn check_reorder_depth(
        source: &mut dyn Source,
        rng: &mut SimRng,
        inside: &dyn Fn(i64) -> bool,
        max_lateness: i64,
    ) -> Result<(), ()> {
        let mut held: BinaryHeap<Reverse<i64>> = BinaryHeap::new();
        let mut latest = i64::MIN;
        loop {
            match source.next_row(rng) {
                // An error means the file changed since the first pass; the replay stops there.
                Ok(Read::End) | Err(_) => return Ok(()),
                Ok(Read::Row(row)) if inside(row.t) => {
                    latest = latest.max(row.t);
                    let ready = latest.saturating_sub(max_lateness);
                    while held.peek().is_some_and(|Reverse(t)| *t <= ready) {
                        held.pop();
                    }
                    held.push(Reverse(row.t));
                    if held.len() > MAX_REORDER_ROWS {
                        return Err(());
                    }
                }
                Ok(_) => {}
            }
        }
    }

    /// What the checking pass found.
    pub fn stats(&self) -> TraceStats {
        self.stats
    }

    /// The next arrival, or `None` at the end of the trace. `rng` draws `scale`'s thinning
    /// and the Azure 2019 spread.
    pub fn next_row(&mut self, rng: &mut SimRng) -> Option<TraceRow> {
        loop {
            if let Some((row, left)) = &mut self.copy
                && *left > 0
            {
                *left -= 1;
                return Some(*row);
            }
            let row = self.next_in_order(rng)?;
            let copies = self.scale_whole
                + u32::from(self.scale_fraction > 0.0 && rng.random::<f64>() < self.scale_fraction);
            if copies > 0 {
                self.copy = Some((row, copies - 1));
                return Some(row);
            }
        }
    }

    /// The next row in time order, mapped to simulated time.
    fn next_in_order(&mut self, rng: &mut SimRng) -> Option<TraceRow> {
        loop {
            if let Some(Reverse(top)) = self.reorder.peek()
                && (self.source_done
                    || top.t <= self.latest.saturating_sub(self.stats.max_lateness))
            {
                let Reverse(buffered) = self.reorder.pop().expect("peeked");
                return Some(self.to_sim(buffered.row));
            }
            if self.source_done {
                self.period?;
                if self.source.rewind().is_err() {
                    return None;
                }
                self.source_done = false;
                self.lap += 1;
                self.latest = i64::MIN;
                continue;
            }
            match self.source.next_row(rng) {
                // A file that cannot be read on was refused by the checking pass, unless it
                // changed since: the pass ends there.
                Ok(Read::End) | Err(_) => self.source_done = true,
                // Counted by the checking pass (which stops the run unless told to skip).
                Ok(Read::Bad(_)) => {}
                Ok(Read::Row(row)) => {
                    if row.t < self.window_from || self.window_to.is_some_and(|to| row.t >= to) {
                        continue;
                    }
                    if self.stats.max_lateness == 0 {
                        return Some(self.to_sim(row));
                    }
                    self.latest = self.latest.max(row.t);
                    self.seq += 1;
                    self.reorder.push(Reverse(Buffered {
                        t: row.t,
                        seq: self.seq,
                        row,
                    }));
                }
            }
        }
    }

    fn to_sim(&self, row: SourceRow) -> TraceRow {
        let lap_start = self
            .period
            .map_or(0, |p| compress(p, self.speedup).saturating_mul(self.lap));
        let at = self
            .offset
            .saturating_add(lap_start)
            .saturating_add(compress(row.t - self.window_from, self.speedup));
        TraceRow {
            at: SimTime(at),
            key: row.key,
            item_kb: row.item_kb,
            op: row.op,
            duration: row.duration,
        }
    }
}

/// Where a trace file named in a scenario is.
pub fn resolve(base_dir: &Path, file: &str) -> PathBuf {
    base_dir.join(file)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes `text` to a file of this test process and returns its path.
    pub(crate) fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("awsim-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    pub(crate) fn all(trace: &mut Trace) -> Vec<TraceRow> {
        let mut rng = crate::engine::rng::stream(1, "t");
        std::iter::from_fn(|| trace.next_row(&mut rng)).collect()
    }

    fn times(rows: &[TraceRow]) -> Vec<f64> {
        rows.iter().map(|r| r.at.as_secs_f64()).collect()
    }

    #[test]
    fn unsorted_rows_replay_in_time_order_with_a_buffer_as_deep_as_their_disorder() {
        let path = write(
            "unsorted.csv",
            "timestamp,key\n1,1\n3,3\n2,2\n2,22\n5,5\n4,4\n",
        );
        let mut t = Trace::open(&path, "w", &TraceSpec::csv("x")).unwrap();
        assert_eq!(t.stats().max_lateness, 1_000_000_000);
        let rows = all(&mut t);
        assert_eq!(times(&rows), [1.0, 2.0, 2.0, 3.0, 4.0, 5.0]);
        // Equal times keep file order.
        assert_eq!(rows[1].key, Some(2));
        assert_eq!(rows[2].key, Some(22));
    }

    #[test]
    fn window_speedup_offset_and_loop_map_trace_time_to_run_time() {
        let path = write("ctl.csv", "timestamp\n0\n10\n20\n30\n40\n");
        let spec = TraceSpec {
            window_from: SimDuration::from_secs(10),
            window_to: Some(SimDuration::from_secs(30)),
            speedup: 2.0,
            offset: SimDuration::from_secs(100),
            repeat: true,
            ..TraceSpec::csv("x")
        };
        let mut t = Trace::open(&path, "w", &spec).unwrap();
        let mut rng = crate::engine::rng::stream(1, "t");
        let first: Vec<f64> = (0..6)
            .map(|_| t.next_row(&mut rng).unwrap().at.as_secs_f64())
            .collect();
        // Rows 10 and 20 (the window), compressed ×2, shifted 100 s, every 20 s / 2 = 10 s.
        assert_eq!(first, [100.0, 105.0, 110.0, 115.0, 120.0, 125.0]);
    }

    #[test]
    fn a_loop_without_a_window_repeats_after_the_span_plus_one_mean_gap() {
        let path = write("loop.csv", "timestamp\n0\n1\n2\n");
        let spec = TraceSpec {
            repeat: true,
            ..TraceSpec::csv("x")
        };
        let mut t = Trace::open(&path, "w", &spec).unwrap();
        let mut rng = crate::engine::rng::stream(1, "t");
        let got: Vec<f64> = (0..7)
            .map(|_| t.next_row(&mut rng).unwrap().at.as_secs_f64())
            .collect();
        assert_eq!(got, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn whole_scales_duplicate_exactly_and_fractions_thin_binomially() {
        let mut text = String::from("timestamp\n");
        for i in 0..10_000 {
            text.push_str(&format!("{}\n", i as f64 * 0.01));
        }
        let path = write("scale.csv", &text);
        let count = |scale: f64| {
            let spec = TraceSpec {
                scale,
                ..TraceSpec::csv("x")
            };
            all(&mut Trace::open(&path, "w", &spec).unwrap()).len() as f64
        };
        assert_eq!(count(3.0), 30_000.0);
        // Binomial(10 000, p): 5 standard deviations either side.
        for (scale, expected, sd) in [(0.5, 5_000.0, 50.0), (1.25, 12_500.0, 43.3)] {
            let n = count(scale);
            assert!((n - expected).abs() < 5.0 * sd, "scale {scale}: {n} rows");
        }
    }

    #[test]
    fn bad_rows_stop_the_run_or_are_skipped_and_counted() {
        let path = write("bad.csv", "timestamp,item_kb\n1,2\nsoon,1\n3,-4\n4,1\n");
        let e = Trace::open(&path, "w", &TraceSpec::csv("x")).err().unwrap();
        assert!(e.contains(":3:1: column `timestamp`"), "{e}");
        let spec = TraceSpec {
            on_bad_row: BadRows::Skip,
            ..TraceSpec::csv("x")
        };
        let mut t = Trace::open(&path, "w", &spec).unwrap();
        assert_eq!((t.stats().rows, t.stats().skipped), (2, 2));
        assert_eq!(times(&all(&mut t)), [1.0, 4.0]);
        let empty = write("empty.csv", "timestamp\nx\n");
        let e = Trace::open(&empty, "w", &spec).err().unwrap();
        assert!(e.contains("no readable row (1 skipped)"), "{e}");
    }

    #[test]
    fn values_are_shown_short_and_inert() {
        assert_eq!(shown("soon"), "soon");
        assert_eq!(shown("a\x1b[2Jb\u{202e}c`d"), "a\\u{1b}[2Jb\\u{202e}c\\`d");
        let long = "x".repeat(100);
        assert_eq!(shown(&long), format!("{}…", "x".repeat(SHOWN_CHARS)));
        assert_eq!(quoted(Path::new("a\nb.csv")), "a\\nb.csv");
    }

    #[test]
    fn options_are_checked_against_each_other() {
        let base = || TraceOptions {
            file: Some("t.csv".into()),
            ..TraceOptions::default()
        };
        let err = |o: TraceOptions| o.into_spec().err().unwrap();
        assert!(
            err(TraceOptions {
                format: Some("azure_function_2019".into()),
                ..base()
            })
            .contains("did you mean `azure_functions_2019`?")
        );
        assert!(
            err(TraceOptions {
                top: Some(3),
                ..base()
            })
            .contains("`top` applies to the Azure Functions traces")
        );
        assert!(
            err(TraceOptions {
                speedup: Some(0.0),
                ..base()
            })
            .contains("`speedup` must be a positive number")
        );
        assert!(
            err(TraceOptions {
                window: Some((
                    Some(SimDuration::from_secs(5)),
                    Some(SimDuration::from_secs(5))
                )),
                ..base()
            })
            .contains("must come after")
        );
        assert!(
            err(TraceOptions {
                format: Some("azure_functions_2021".into()),
                top: Some(2),
                rank: Some(1),
                ..base()
            })
            .contains("one of `function`")
        );
        assert!(
            err(TraceOptions {
                format: Some("azure_functions_2021".into()),
                spread: Some("even".into()),
                ..base()
            })
            .contains("`spread` applies to \"azure_functions_2019\"")
        );
    }
}
