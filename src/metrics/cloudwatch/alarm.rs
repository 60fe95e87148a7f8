//! CloudWatch-style metrics and alarms: observations → one datapoint per period → M-of-N alarm.
//!
//! Pure data structures: nothing here touches the engine. A model feeds a [`PeriodAggregator`]
//! with raw observations ([`PeriodAggregator::record`]), asks it for the datapoints an alarm can
//! see at time `now` ([`PeriodAggregator::visible`]) and hands them to an [`Alarm`]
//! ([`Alarm::evaluate`]). A quantity that changes in steps (an instance's busy vCPUs) becomes
//! one observation per period with [`TimeWeighted`](super::TimeWeighted), as EC2's
//! `CPUUtilization` is.
//!
//! # What follows AWS, and where it comes from
//!
//! * **Statistics** (`Average` = Sum / SampleCount, `Sum`, `Minimum`, `Maximum`, `SampleCount`,
//!   `pNN.NN`): CloudWatch User Guide, "CloudWatch statistics definitions"
//!   (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html>).
//!   AWS does not publish how it interpolates percentiles; we use the nearest-rank method (see
//!   [`Statistic::Percentile`]), which matches its definition "p95 means that 95 percent of the
//!   data within the period is lower than this value".
//! * **Alarm states** `OK`, `ALARM`, `INSUFFICIENT_DATA`, and a new alarm starting in
//!   `INSUFFICIENT_DATA`: CloudWatch User Guide, "Alarm evaluation" / "Metric alarm states"
//!   (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html>) and
//!   the `AWS::CloudWatch::Alarm` CloudFormation reference ("When this operation creates an alarm,
//!   the alarm state is immediately set to `INSUFFICIENT_DATA`").
//! * **M of N**: "Datapoints to Alarm is the number of data points within the evaluation period
//!   that must be breaching to cause the alarm to go to the ALARM state. The breaching data points
//!   do not have to be consecutive" (same page; `DatapointsToAlarm` is M, `EvaluationPeriods` is
//!   N in the `PutMetricAlarm` API).
//! * **Missing data**: CloudWatch User Guide, "Configuring how CloudWatch alarms treat missing
//!   data" and "How alarm state is evaluated when data is missing"
//!   (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html>,
//!   formerly sections of `AlarmThatSendsEmail.html`), including its two tables of examples, which
//!   the tests reproduce row by row; and the AWS Knowledge Center article "Why did my CloudWatch
//!   alarm send me a notification after a single breached data point?"
//!   (<https://repost.aws/knowledge-center/cloudwatch-alarm-single-data-point>, formerly under
//!   `aws.amazon.com/premiumsupport/knowledge-center/`). The rules are
//!   spelled out on [`Alarm::evaluate`].
//!
//! # Simplifications
//!
//! * The *evaluation range* (how many recent periods CloudWatch fetches) is not published; AWS's
//!   example fetches 5 periods for an alarm with 3 evaluation periods. We use N + 2
//!   ([`EXTRA_EVALUATION_PERIODS`]).
//! * AWS's limits on the alarm's total span (period × N at most one day, or seven days for periods
//!   of an hour or more) and on which periods are allowed (10 s, 20 s, 30 s or multiples of 60 s)
//!   are the scenario loader's business: this module accepts any period.
//! * Percentile alarms' "evaluate low sample count" option is not modelled: a percentile is always
//!   computed from whatever observations the period has.

use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::engine::time::{SimDuration, SimTime};
use crate::units::closest_spelling;

// ---------------------------------------------------------------------------------------------
// Parsing helpers
// ---------------------------------------------------------------------------------------------

/// The message for a word that names nothing: what was expected, and the likely intended word
/// (from `aliases`, lower-cased keys, or the nearest of `candidates`).
fn unknown_word(
    what: &str,
    word: &str,
    expected: &str,
    aliases: &[(&str, &str)],
    candidates: &[&str],
) -> String {
    let mut msg = format!("unknown {what} `{word}`; expected {expected}");
    let lower = word.to_lowercase();
    let alias = aliases
        .iter()
        .find(|(alias, _)| *alias == lower)
        .map(|(_, meant)| *meant);
    if let Some(suggestion) = alias.or_else(|| closest_spelling(word, candidates)) {
        msg.push_str(&format!("; did you mean `{suggestion}`?"));
    }
    msg
}

/// Deserializes any `FromStr<Err = String>` type from a string, with the parse error as the
/// message and `expecting` for values of the wrong type.
struct ParseVisitor<T> {
    expecting: &'static str,
    target: PhantomData<T>,
}

impl<T: FromStr<Err = String>> Visitor<'_> for ParseVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<T, E> {
        s.parse().map_err(E::custom)
    }
}

fn deserialize_parsed<'de, D, T>(deserializer: D, expecting: &'static str) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = String>,
{
    deserializer.deserialize_str(ParseVisitor {
        expecting,
        target: PhantomData,
    })
}

// ---------------------------------------------------------------------------------------------
// Statistic
// ---------------------------------------------------------------------------------------------

/// How a period's observations become one datapoint (CloudWatch's "statistic").
///
/// Written in scenario files as `"average"` (or `"avg"`), `"sum"`, `"maximum"` (`"max"`),
/// `"minimum"` (`"min"`), `"sample_count"`, or a percentile `"p50"`, `"p99"`, `"p99.9"`; it
/// serializes back to the long form (`"average"`, `"p99.9"`).
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Statistic {
    /// Sum / SampleCount of the period's observations.
    Average,
    /// All observations of the period added together.
    Sum,
    /// The highest observation of the period.
    Maximum,
    /// The lowest observation of the period.
    Minimum,
    /// How many observations the period has.
    SampleCount,
    /// The given percentile (0 to 100) of the period's observations, by the nearest-rank method:
    /// the smallest observation such that at least `p` % of the observations are less than or
    /// equal to it, i.e. the one of rank ⌈p/100 · n⌉ in ascending order (rank 1 for `p0`). The
    /// value is always one of the observations, never an interpolation. AWS does not document its
    /// interpolation; this matches its definition of p95 as the value with 95 % of the data below
    /// it and 5 % above.
    Percentile(f64),
}

/// Statistic spellings accepted by [`Statistic::from_str`], besides percentiles.
const STATISTIC_NAMES: &[&str] = &[
    "average",
    "avg",
    "sum",
    "maximum",
    "max",
    "minimum",
    "min",
    "sample_count",
];

/// How the statistics are listed in error messages.
const STATISTIC_LIST: &str = "one of average (or avg), sum, maximum (or max), minimum (or min), \
                              sample_count, or a percentile like p50, p99, p99.9";

/// Words people write for a statistic, mapped to ours (used only to suggest a fix).
const STATISTIC_ALIASES: &[(&str, &str)] = &[
    ("mean", "average"),
    ("total", "sum"),
    ("count", "sample_count"),
    ("samplecount", "sample_count"),
    ("samples", "sample_count"),
    ("median", "p50"),
];

impl Statistic {
    /// The period's datapoint from its observations; `None` when there are none. `values` may be
    /// reordered (percentiles select in place).
    fn compute(self, count: u64, sum: f64, min: f64, max: f64, values: &mut [f64]) -> Option<f64> {
        if count == 0 {
            return None;
        }
        Some(match self {
            Statistic::Average => sum / count as f64,
            Statistic::Sum => sum,
            Statistic::Maximum => max,
            Statistic::Minimum => min,
            Statistic::SampleCount => count as f64,
            Statistic::Percentile(p) => nearest_rank(values, p),
        })
    }

    fn keeps_values(self) -> bool {
        matches!(self, Statistic::Percentile(_))
    }

    /// Parses the number of `"p99.9"` (the part after `p`).
    fn parse_percentile(s: &str, number: &str) -> Result<Statistic, String> {
        let fail = |why: &str| format!("invalid percentile `{s}`: {why}");
        if number.is_empty() {
            return Err(fail(
                "write the percent after `p`, like \"p99\" or \"p99.9\"",
            ));
        }
        let well_formed = number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && number.bytes().filter(|&b| b == b'.').count() <= 1
            && number != ".";
        let value: f64 = match number.parse() {
            Ok(v) if well_formed => v,
            _ => {
                return Err(fail(
                    "expected a number from 0 to 100 after `p`, like \"p99\" or \"p99.9\"",
                ));
            }
        };
        if value > 100.0 {
            return Err(fail("a percentile must be between p0 and p100"));
        }
        Ok(Statistic::Percentile(value))
    }
}

/// The nearest-rank percentile of `values` (not empty): the value of rank ⌈p/100 · n⌉.
fn nearest_rank(values: &mut [f64], percent: f64) -> f64 {
    let n = values.len();
    debug_assert!(n > 0, "a percentile of no values");
    let exact = percent.clamp(0.0, 100.0) / 100.0 * n as f64;
    // Shave off float noise before the ceiling: 99.9 / 100 · 1000 is 999.0000000000001, which
    // would otherwise skip to rank 1000.
    let rank = ((exact - exact * 1e-12).ceil() as usize).clamp(1, n);
    let (_, value, _) = values.select_nth_unstable_by(rank - 1, f64::total_cmp);
    *value
}

impl FromStr for Statistic {
    type Err = String;

    /// Parses `"average"`, `"avg"`, `"sum"`, `"maximum"`, `"max"`, `"minimum"`, `"min"`,
    /// `"sample_count"` or `"pNN"` / `"pNN.NN"` (0 to 100). Anything else is an error that lists
    /// the valid forms and suggests the nearest.
    fn from_str(s: &str) -> Result<Self, String> {
        let word = s.trim();
        match word {
            "average" | "avg" => return Ok(Statistic::Average),
            "sum" => return Ok(Statistic::Sum),
            "maximum" | "max" => return Ok(Statistic::Maximum),
            "minimum" | "min" => return Ok(Statistic::Minimum),
            "sample_count" => return Ok(Statistic::SampleCount),
            _ => {}
        }
        if let Some(number) = word.strip_prefix('p')
            && number
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '+')
        {
            return Statistic::parse_percentile(word, number);
        }
        // "99" or "P99": a percentile without its lower-case `p`.
        let bare = word.strip_prefix('P').unwrap_or(word);
        if !bare.is_empty()
            && let Ok(Statistic::Percentile(_)) = Statistic::parse_percentile(word, bare)
        {
            return Err(format!(
                "unknown statistic `{word}`; expected {STATISTIC_LIST}; did you mean `p{bare}`?"
            ));
        }
        Err(unknown_word(
            "statistic",
            word,
            STATISTIC_LIST,
            STATISTIC_ALIASES,
            STATISTIC_NAMES,
        ))
    }
}

impl fmt::Display for Statistic {
    /// The long scenario-file form: `average`, `sample_count`, `p99.9`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statistic::Average => f.write_str("average"),
            Statistic::Sum => f.write_str("sum"),
            Statistic::Maximum => f.write_str("maximum"),
            Statistic::Minimum => f.write_str("minimum"),
            Statistic::SampleCount => f.write_str("sample_count"),
            Statistic::Percentile(p) => write!(f, "p{p}"),
        }
    }
}

impl Serialize for Statistic {
    /// As its [`Display`](fmt::Display) form, so that it reads back with [`FromStr`].
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Statistic {
    /// From the string form (see [`Statistic::from_str`]).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_parsed(
            deserializer,
            "a statistic like \"average\", \"maximum\" or \"p99\"",
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Period aggregation
// ---------------------------------------------------------------------------------------------

/// One period's datapoint.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Datapoint {
    /// The end of the period (exclusive): the period is `[period_end − period, period_end)`.
    pub period_end: SimTime,
    /// The statistic over the period; `None` when the period had no observation (CloudWatch's
    /// "missing" datapoint).
    pub value: Option<f64>,
}

/// The observations of the open period.
#[derive(Clone, Debug, Default)]
struct Accumulator {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    /// Only for percentiles; cleared (capacity kept) when the period closes.
    values: Vec<f64>,
}

impl Accumulator {
    fn add(&mut self, value: f64, keep_values: bool) {
        if self.count == 0 {
            self.min = value;
            self.max = value;
        } else {
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
        self.count += 1;
        self.sum += value;
        if keep_values {
            self.values.push(value);
        }
    }

    /// The datapoint value so far, leaving the period open.
    fn peek(&self, statistic: Statistic) -> Option<f64> {
        let mut values = if statistic.keeps_values() {
            self.values.clone()
        } else {
            Vec::new()
        };
        statistic.compute(self.count, self.sum, self.min, self.max, &mut values)
    }

    /// The datapoint value; empties the accumulator for the next period.
    fn take(&mut self, statistic: Statistic) -> Option<f64> {
        let value = statistic.compute(self.count, self.sum, self.min, self.max, &mut self.values);
        self.count = 0;
        self.sum = 0.0;
        self.values.clear();
        value
    }
}

/// Aggregates observations of one metric into fixed periods aligned to time zero
/// (`[0, period)`, `[period, 2·period)`, ...), one [`Datapoint`] per period with the chosen
/// [`Statistic`], visible `publication_delay` after the period ends.
///
/// Memory stays flat whatever the run length: at most `keep` closed datapoints are retained (the
/// oldest are dropped), and only percentiles keep observations, those of the open period alone.
///
/// Observation times must be non-decreasing and never inside a period already closed (checked
/// in debug builds). An observation exactly at a period boundary belongs to the period that
/// starts there.
#[derive(Clone, Debug)]
pub struct PeriodAggregator {
    period: SimDuration,
    statistic: Statistic,
    delay: SimDuration,
    keep: usize,
    /// Index of the open period: `[current·period, (current+1)·period)`.
    current: u64,
    open: Accumulator,
    /// Closed datapoints, oldest first, contiguous, at most `keep`.
    closed: VecDeque<Datapoint>,
    /// Time of the latest observation, for the ordering check.
    last_observation: SimTime,
}

impl PeriodAggregator {
    /// An aggregator with no observations yet; its first period starts at time zero.
    ///
    /// `keep` is how many closed datapoints are retained (at least 1); an [`Alarm`] needs
    /// [`Alarm::evaluation_range`] of them to see its whole evaluation range.
    ///
    /// Panics if `period` is zero, `keep` is zero, or a percentile is outside 0..=100: these are
    /// programming errors, scenario values are checked when parsed.
    pub fn new(
        period: SimDuration,
        statistic: Statistic,
        publication_delay: SimDuration,
        keep: usize,
    ) -> Self {
        assert!(
            !period.is_zero(),
            "a metric period must be longer than zero"
        );
        assert!(keep >= 1, "a metric must keep at least one datapoint");
        if let Statistic::Percentile(p) = statistic {
            assert!(
                (0.0..=100.0).contains(&p),
                "percentile p{p} is outside 0..=100"
            );
        }
        PeriodAggregator {
            period,
            statistic,
            delay: publication_delay,
            keep,
            current: 0,
            open: Accumulator::default(),
            closed: VecDeque::with_capacity(keep),
            last_observation: SimTime::ZERO,
        }
    }

    /// The length of a period.
    pub fn period(&self) -> SimDuration {
        self.period
    }

    /// The end of period `index`.
    fn period_end(&self, index: u64) -> SimTime {
        SimTime(
            index
                .saturating_add(1)
                .saturating_mul(self.period.as_nanos()),
        )
    }

    fn push(&mut self, datapoint: Datapoint) {
        if self.closed.len() == self.keep {
            self.closed.pop_front();
        }
        self.closed.push_back(datapoint);
    }

    /// An observation of `value` at `now`. Periods that ended at or before `now` are closed
    /// first, so the value lands in the period containing `now`.
    ///
    /// Non-finite values are dropped (CloudWatch rejects NaN and infinities) and flagged in debug
    /// builds.
    pub fn record(&mut self, now: SimTime, value: f64) {
        debug_assert!(
            now >= self.last_observation,
            "observations must come in time order: {now} is before {}",
            self.last_observation
        );
        debug_assert!(
            now >= SimTime(self.current.saturating_mul(self.period.as_nanos())),
            "observation at {now} is in a period that is already closed"
        );
        debug_assert!(value.is_finite(), "metric value {value} is not finite");
        self.last_observation = self.last_observation.max(now);
        self.close_until(now);
        if value.is_finite() {
            self.open.add(value, self.statistic.keeps_values());
        }
    }

    /// Closes every period that ends at or before `now`; a period without observations gives a
    /// datapoint with `value: None`. Cheap after a long gap: only the last `keep` periods are
    /// materialised.
    pub fn close_until(&mut self, now: SimTime) {
        let target = now.as_nanos() / self.period.as_nanos();
        if target <= self.current {
            return;
        }
        let value = self.open.take(self.statistic);
        let end = self.period_end(self.current);
        self.push(Datapoint {
            period_end: end,
            value,
        });
        let empties = target - self.current - 1;
        let skipped = empties.saturating_sub(self.keep as u64);
        for index in self.current + 1 + skipped..target {
            let period_end = self.period_end(index);
            self.push(Datapoint {
                period_end,
                value: None,
            });
        }
        self.current = target;
    }

    /// The datapoints visible at `now`: those of periods that ended by `now`, whose
    /// `period_end + publication_delay <= now`, oldest first, at most `keep`, contiguous (empty
    /// periods appear with `value: None`).
    ///
    /// Needs no [`close_until`](PeriodAggregator::close_until) first: periods that have ended but
    /// are not closed yet are included as if they were.
    pub fn visible(&self, now: SimTime) -> Vec<Datapoint> {
        let Some(horizon) = now.as_nanos().checked_sub(self.delay.as_nanos()) else {
            return Vec::new();
        };
        let open_end = self.period_end(self.current);
        if open_end.as_nanos() > horizon {
            return self
                .closed
                .iter()
                .take_while(|d| d.period_end.as_nanos() <= horizon)
                .copied()
                .collect();
        }
        // The open period and `empties` empty ones after it have ended by the horizon: close them
        // virtually (index 0 is the open period), keeping the last `keep` datapoints overall.
        let empties = (horizon - open_end.as_nanos()) / self.period.as_nanos();
        let virtual_len = empties.saturating_add(1);
        let keep = self.keep as u64;
        let first_virtual = virtual_len.saturating_sub(keep);
        let from_closed = (keep - (virtual_len - first_virtual)) as usize;
        let mut out = Vec::with_capacity(self.keep);
        let skip = self.closed.len().saturating_sub(from_closed);
        out.extend(self.closed.iter().skip(skip).copied());
        for j in first_virtual..virtual_len {
            let value = if j == 0 {
                self.open.peek(self.statistic)
            } else {
                None
            };
            out.push(Datapoint {
                period_end: self.period_end(self.current.saturating_add(j)),
                value,
            });
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Alarm configuration
// ---------------------------------------------------------------------------------------------

/// How a datapoint is compared with the alarm threshold (CloudWatch's `ComparisonOperator`,
/// static-threshold forms).
///
/// Written `">"`, `">="`, `"<"`, `"<="` or `"greater_than"`, `"greater_than_or_equal"`,
/// `"less_than"`, `"less_than_or_equal"`; serialized in the long form.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Comparison {
    /// Breaching when value > threshold (`GreaterThanThreshold`).
    #[serde(rename = "greater_than")]
    GreaterThan,
    /// Breaching when value ≥ threshold (`GreaterThanOrEqualToThreshold`).
    #[serde(rename = "greater_than_or_equal")]
    GreaterOrEqual,
    /// Breaching when value < threshold (`LessThanThreshold`).
    #[serde(rename = "less_than")]
    LessThan,
    /// Breaching when value ≤ threshold (`LessThanOrEqualToThreshold`).
    #[serde(rename = "less_than_or_equal")]
    LessOrEqual,
}

const COMPARISON_NAMES: &[&str] = &[
    ">",
    ">=",
    "<",
    "<=",
    "greater_than",
    "greater_than_or_equal",
    "less_than",
    "less_than_or_equal",
];

const COMPARISON_LIST: &str = "one of \">\", \">=\", \"<\", \"<=\" (or greater_than, \
                               greater_than_or_equal, less_than, less_than_or_equal)";

/// Other spellings (lower-cased), including CloudWatch's API names, mapped to ours.
const COMPARISON_ALIASES: &[(&str, &str)] = &[
    ("=>", ">="),
    ("=<", "<="),
    ("gt", ">"),
    ("ge", ">="),
    ("gte", ">="),
    ("lt", "<"),
    ("le", "<="),
    ("lte", "<="),
    ("greaterthanthreshold", "greater_than"),
    ("greaterthanorequaltothreshold", "greater_than_or_equal"),
    ("lessthanthreshold", "less_than"),
    ("lessthanorequaltothreshold", "less_than_or_equal"),
    ("greater_than_or_equal_to", "greater_than_or_equal"),
    ("less_than_or_equal_to", "less_than_or_equal"),
];

impl Comparison {
    /// True when `value` is on the alarming side of `threshold`. NaN never breaches.
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterThan => value > threshold,
            Comparison::GreaterOrEqual => value >= threshold,
            Comparison::LessThan => value < threshold,
            Comparison::LessOrEqual => value <= threshold,
        }
    }
}

impl FromStr for Comparison {
    type Err = String;

    /// Parses the symbol or the long name; anything else is an error with a suggestion.
    fn from_str(s: &str) -> Result<Self, String> {
        let word = s.trim();
        match word {
            ">" | "greater_than" => Ok(Comparison::GreaterThan),
            ">=" | "greater_than_or_equal" => Ok(Comparison::GreaterOrEqual),
            "<" | "less_than" => Ok(Comparison::LessThan),
            "<=" | "less_than_or_equal" => Ok(Comparison::LessOrEqual),
            _ => Err(unknown_word(
                "comparison",
                word,
                COMPARISON_LIST,
                COMPARISON_ALIASES,
                COMPARISON_NAMES,
            )),
        }
    }
}

impl fmt::Display for Comparison {
    /// The symbol: `>`, `>=`, `<`, `<=`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Comparison::GreaterThan => ">",
            Comparison::GreaterOrEqual => ">=",
            Comparison::LessThan => "<",
            Comparison::LessOrEqual => "<=",
        })
    }
}

impl<'de> Deserialize<'de> for Comparison {
    /// From the string form (see [`Comparison::from_str`]).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_parsed(deserializer, "a comparison like \">\" or \"less_than\"")
    }
}

/// How an alarm treats periods without a datapoint (CloudWatch's `TreatMissingData`). The exact
/// rules are on [`Alarm::evaluate`].
///
/// Written `"missing"`, `"breaching"`, `"not_breaching"` or `"ignore"`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TreatMissingData {
    /// AWS's default: missing datapoints are not evidence either way; with none at all in the
    /// evaluation range the alarm goes to `INSUFFICIENT_DATA`.
    #[default]
    Missing,
    /// Missing datapoints count as breaching.
    Breaching,
    /// Missing datapoints count as within the threshold.
    NotBreaching,
    /// Like `Missing`, but where `Missing` would give `INSUFFICIENT_DATA` (or alarm on a stale
    /// breach) the alarm keeps its current state.
    Ignore,
}

const TREAT_MISSING_NAMES: &[&str] = &["missing", "breaching", "not_breaching", "ignore"];

const TREAT_MISSING_LIST: &str = "one of missing, breaching, not_breaching, ignore";

impl FromStr for TreatMissingData {
    type Err = String;

    /// Parses `"missing"`, `"breaching"`, `"not_breaching"` or `"ignore"`.
    fn from_str(s: &str) -> Result<Self, String> {
        let word = s.trim();
        match word {
            "missing" => Ok(TreatMissingData::Missing),
            "breaching" => Ok(TreatMissingData::Breaching),
            "not_breaching" => Ok(TreatMissingData::NotBreaching),
            "ignore" => Ok(TreatMissingData::Ignore),
            _ => Err(unknown_word(
                "missing-data treatment",
                word,
                TREAT_MISSING_LIST,
                &[("notbreaching", "not_breaching")],
                TREAT_MISSING_NAMES,
            )),
        }
    }
}

impl fmt::Display for TreatMissingData {
    /// The scenario-file form: `missing`, `breaching`, `not_breaching`, `ignore`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TreatMissingData::Missing => "missing",
            TreatMissingData::Breaching => "breaching",
            TreatMissingData::NotBreaching => "not_breaching",
            TreatMissingData::Ignore => "ignore",
        })
    }
}

impl<'de> Deserialize<'de> for TreatMissingData {
    /// From the string form (see [`TreatMissingData::from_str`]).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_parsed(
            deserializer,
            "one of \"missing\", \"breaching\", \"not_breaching\", \"ignore\"",
        )
    }
}

/// The state of an alarm, serialized as CloudWatch writes it (`"OK"`, `"ALARM"`,
/// `"INSUFFICIENT_DATA"`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    /// The metric is within the threshold.
    Ok,
    /// The metric is outside the threshold.
    Alarm,
    /// The alarm has just started, or there is not enough data to decide.
    InsufficientData,
}

impl fmt::Display for AlarmState {
    /// `OK`, `ALARM`, `INSUFFICIENT_DATA`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Alarm
// ---------------------------------------------------------------------------------------------

/// How many periods beyond its N evaluation periods an alarm looks back (its *evaluation range*
/// is N + this). AWS does not publish the number; its documented example retrieves the 5 most
/// recent datapoints for an alarm with 3 evaluation periods.
pub const EXTRA_EVALUATION_PERIODS: u32 = 2;

/// A real datapoint inside the evaluation range.
#[derive(Copy, Clone, Debug)]
struct Seen {
    /// Periods back from the newest period of the range (0 = newest).
    age: u64,
    value: f64,
    breaching: bool,
}

/// An M-of-N alarm on one metric: ALARM when at least M (`datapoints_to_alarm`) of the last N
/// (`evaluation_periods`) datapoints breach the threshold. Starts in `INSUFFICIENT_DATA`.
///
/// The alarm knows nothing of time: feed it [`PeriodAggregator::visible`] at each evaluation (AWS
/// evaluates once a period). With EC2 Auto Scaling actions AWS re-invokes the action every period
/// the alarm stays in ALARM, so a caller that scales should act on every evaluation that returns
/// [`AlarmState::Alarm`], not only on the transition.
#[derive(Clone, Debug)]
pub struct Alarm {
    comparison: Comparison,
    threshold: f64,
    evaluation_periods: u32,
    datapoints_to_alarm: u32,
    treat_missing: TreatMissingData,
    evaluation_range: u32,
    state: AlarmState,
}

impl Alarm {
    /// An alarm in `INSUFFICIENT_DATA`. `evaluation_periods` is N and `datapoints_to_alarm` is
    /// M; 1 ≤ M ≤ N is required, and a finite threshold.
    pub fn new(
        comparison: Comparison,
        threshold: f64,
        evaluation_periods: u32,
        datapoints_to_alarm: u32,
        treat_missing: TreatMissingData,
    ) -> Result<Self, String> {
        if !threshold.is_finite() {
            return Err(format!(
                "the alarm threshold must be a finite number, found {threshold}"
            ));
        }
        if evaluation_periods == 0 {
            return Err(
                "evaluation_periods must be at least 1: the alarm needs at least one period to \
                 look at"
                    .to_string(),
            );
        }
        if datapoints_to_alarm == 0 {
            return Err(
                "datapoints_to_alarm must be at least 1: with 0 the alarm would fire without any \
                 breaching datapoint"
                    .to_string(),
            );
        }
        if datapoints_to_alarm > evaluation_periods {
            return Err(format!(
                "datapoints_to_alarm ({datapoints_to_alarm}) cannot exceed evaluation_periods \
                 ({evaluation_periods}): the alarm fires when M of the last N datapoints breach, \
                 so M must be at most N"
            ));
        }
        Ok(Alarm {
            comparison,
            threshold,
            evaluation_periods,
            datapoints_to_alarm,
            treat_missing,
            evaluation_range: evaluation_periods.saturating_add(EXTRA_EVALUATION_PERIODS),
            state: AlarmState::InsufficientData,
        })
    }

    /// How many periods the alarm looks back: the `keep` a [`PeriodAggregator`] feeding it
    /// should have at least.
    pub fn evaluation_range(&self) -> usize {
        self.evaluation_range as usize
    }

    /// The real datapoints of the evaluation range (the `evaluation_range` periods ending with
    /// the newest datapoint), newest first.
    fn seen(&self, visible: &[Datapoint]) -> Vec<Seen> {
        let Some(newest) = visible.last() else {
            return Vec::new();
        };
        let spacing = period_spacing(visible);
        let mut seen = Vec::new();
        for datapoint in visible.iter().rev() {
            let back = newest
                .period_end
                .as_nanos()
                .saturating_sub(datapoint.period_end.as_nanos());
            let age = spacing.map_or(0, |s| back / s);
            if age >= u64::from(self.evaluation_range) {
                break;
            }
            if let Some(value) = datapoint.value {
                seen.push(Seen {
                    age,
                    value,
                    breaching: self.comparison.breaches(value, self.threshold),
                });
            }
        }
        seen
    }

    /// Evaluates on the most recent visible datapoints (oldest first, as
    /// [`PeriodAggregator::visible`] gives them) and returns the new state.
    ///
    /// The alarm looks at its *evaluation range*: the last
    /// [`evaluation_range`](Alarm::evaluation_range) periods ending with the newest datapoint. A
    /// period there with no datapoint, or with `value: None`, is missing; so are periods before
    /// the first datapoint. (The period length is taken from the spacing of the datapoints; the
    /// aggregator's output is contiguous, so this matters only for hand-built slices.) Then, as
    /// the CloudWatch User Guide describes ("How alarm state is evaluated when data is missing"):
    ///
    /// 1. If the range holds at least N real datapoints, the N most recent of them are evaluated
    ///    and the missing-data setting is not used: ALARM if at least M breach, else OK.
    /// 2. Otherwise the k < N real datapoints are evaluated together with N − k missing ones,
    ///    treated per [`TreatMissingData`] (b = breaching real datapoints):
    ///    * `breaching`: ALARM if b + (N − k) ≥ M, else OK;
    ///    * `not_breaching`: ALARM if b ≥ M, else OK;
    ///    * `missing`: INSUFFICIENT_DATA if k = 0. Else ALARM if b ≥ M; else OK if some real
    ///      datapoint is not breaching; else (every real datapoint breaches, fewer than M) ALARM
    ///      if the oldest of them is at least M periods old counting its own (the Knowledge
    ///      Center rule: a breach followed only by breaching or missing datapoints for M periods
    ///      alarms "even when missing data is being treated as missing"), else
    ///      INSUFFICIENT_DATA;
    ///    * `ignore`: as `missing`, except that where `missing` gives INSUFFICIENT_DATA or
    ///      applies the Knowledge Center rule, the state does not change.
    ///
    /// This reproduces every row of AWS's two example tables (3 of 3 and 2 of 3 with 5 datapoints
    /// retrieved). Rules for cases the tables do not show (k < N with b ≥ M under `missing` /
    /// `ignore`, and which real points are non-breaching) are our reading of "does not consider
    /// missing data points when evaluating whether to change state". AWS re-evaluating
    /// datapoints from before the alarm existed is not modelled.
    pub fn evaluate(&mut self, visible: &[Datapoint]) -> AlarmState {
        let seen = self.seen(visible);
        self.state = self.decide(&seen);
        self.state
    }

    fn decide(&self, seen: &[Seen]) -> AlarmState {
        use AlarmState::{Alarm, InsufficientData, Ok};
        let n = self.evaluation_periods as usize;
        let m = self.datapoints_to_alarm as usize;
        let k = seen.len();
        if k >= n {
            let breaching = seen[..n].iter().filter(|s| s.breaching).count();
            return if breaching >= m { Alarm } else { Ok };
        }
        let breaching = seen.iter().filter(|s| s.breaching).count();
        let verdict = |alarm: bool| if alarm { Alarm } else { Ok };
        match self.treat_missing {
            TreatMissingData::Breaching => verdict(breaching + (n - k) >= m),
            TreatMissingData::NotBreaching => verdict(breaching >= m),
            TreatMissingData::Missing | TreatMissingData::Ignore => {
                let undecided = if self.treat_missing == TreatMissingData::Missing {
                    InsufficientData
                } else {
                    self.state
                };
                if k == 0 {
                    undecided
                } else if breaching >= m {
                    Alarm
                } else if breaching < k {
                    Ok
                } else if self.treat_missing == TreatMissingData::Missing
                    && seen[k - 1].age + 1 >= m as u64
                {
                    Alarm
                } else {
                    undecided
                }
            }
        }
    }

    /// How far the newest real datapoint of the evaluation range is from the threshold (value −
    /// threshold, negative below it), as step scaling's step bounds measure it; `None` if the
    /// range has no real datapoint.
    pub fn breach(&self, visible: &[Datapoint]) -> Option<f64> {
        self.seen(visible)
            .first()
            .map(|newest| newest.value - self.threshold)
    }
}

/// The period length implied by the datapoints' ends: the greatest common divisor of the gaps
/// between consecutive ones (`None` for fewer than two datapoints).
fn period_spacing(visible: &[Datapoint]) -> Option<u64> {
    let mut spacing: Option<u64> = None;
    for pair in visible.windows(2) {
        let (a, b) = (pair[0].period_end.as_nanos(), pair[1].period_end.as_nanos());
        debug_assert!(a < b, "datapoints must be oldest first, one per period");
        let gap = b.saturating_sub(a);
        if gap > 0 {
            spacing = Some(spacing.map_or(gap, |s| gcd(s, gap)));
        }
    }
    spacing
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: SimDuration = SimDuration::from_secs(60);

    fn secs(s: u64) -> SimTime {
        SimTime(s * 1_000_000_000)
    }

    fn aggregator(statistic: Statistic) -> PeriodAggregator {
        PeriodAggregator::new(MINUTE, statistic, SimDuration::ZERO, 10)
    }

    /// Feeds 3, 1, 4, 1, 5 in the first minute and returns the datapoint of that minute.
    fn first_minute(statistic: Statistic) -> Option<f64> {
        let mut agg = aggregator(statistic);
        for (t, v) in [(0, 3.0), (10, 1.0), (20, 4.0), (30, 1.0), (59, 5.0)] {
            agg.record(secs(t), v);
        }
        agg.close_until(secs(60));
        let visible = agg.visible(secs(60));
        assert_eq!(visible.len(), 1);
        assert_eq!(visible[0].period_end, secs(60));
        visible[0].value
    }

    #[test]
    fn each_statistic_over_a_period() {
        assert_eq!(first_minute(Statistic::Average), Some(14.0 / 5.0));
        assert_eq!(first_minute(Statistic::Sum), Some(14.0));
        assert_eq!(first_minute(Statistic::Maximum), Some(5.0));
        assert_eq!(first_minute(Statistic::Minimum), Some(1.0));
        assert_eq!(first_minute(Statistic::SampleCount), Some(5.0));
        // Sorted: 1 1 3 4 5. p50: rank ceil(2.5) = 3; p80: rank 4 exactly; p99: rank 5.
        assert_eq!(first_minute(Statistic::Percentile(50.0)), Some(3.0));
        assert_eq!(first_minute(Statistic::Percentile(80.0)), Some(4.0));
        assert_eq!(first_minute(Statistic::Percentile(99.0)), Some(5.0));
        assert_eq!(first_minute(Statistic::Percentile(0.0)), Some(1.0));
        assert_eq!(first_minute(Statistic::Percentile(100.0)), Some(5.0));
    }

    #[test]
    fn percentiles_on_known_data_use_nearest_rank() {
        let mut values: Vec<f64> = (1..=1000).rev().map(f64::from).collect();
        assert_eq!(nearest_rank(&mut values, 50.0), 500.0);
        assert_eq!(nearest_rank(&mut values, 90.0), 900.0);
        assert_eq!(nearest_rank(&mut values, 99.0), 990.0);
        // 99.9 / 100 · 1000 is 999.0000000000001 in floats: still rank 999.
        assert_eq!(nearest_rank(&mut values, 99.9), 999.0);
        assert_eq!(nearest_rank(&mut values, 99.95), 1000.0);
        let mut hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(nearest_rank(&mut hundred, 99.9), 100.0);
        assert_eq!(nearest_rank(&mut hundred, 1.0), 1.0);
        assert_eq!(nearest_rank(&mut hundred, 1.5), 2.0);
        let mut one = vec![7.0];
        assert_eq!(nearest_rank(&mut one, 0.0), 7.0);
        assert_eq!(nearest_rank(&mut one, 100.0), 7.0);
    }

    #[test]
    fn percentile_values_are_cleared_each_period() {
        let mut agg = aggregator(Statistic::Percentile(100.0));
        agg.record(secs(1), 100.0);
        agg.record(secs(61), 2.0);
        agg.close_until(secs(120));
        let v: Vec<_> = agg.visible(secs(120)).iter().map(|d| d.value).collect();
        assert_eq!(v, [Some(100.0), Some(2.0)]);
        assert!(agg.open.values.is_empty());
    }

    #[test]
    fn periods_without_observations_are_none() {
        let mut agg = aggregator(Statistic::Sum);
        agg.record(secs(5), 1.0);
        agg.record(secs(185), 2.0); // minutes 1 and 2 are empty
        agg.close_until(secs(240));
        assert_eq!(
            agg.visible(secs(240)),
            [
                Datapoint {
                    period_end: secs(60),
                    value: Some(1.0)
                },
                Datapoint {
                    period_end: secs(120),
                    value: None
                },
                Datapoint {
                    period_end: secs(180),
                    value: None
                },
                Datapoint {
                    period_end: secs(240),
                    value: Some(2.0)
                },
            ]
        );
    }

    #[test]
    fn an_observation_on_a_boundary_starts_the_next_period() {
        let mut agg = aggregator(Statistic::Sum);
        agg.record(secs(59), 1.0);
        agg.record(secs(60), 10.0);
        agg.close_until(secs(120));
        let v: Vec<_> = agg.visible(secs(120)).iter().map(|d| d.value).collect();
        assert_eq!(v, [Some(1.0), Some(10.0)]);
    }

    #[test]
    fn close_until_closes_periods_ending_at_or_before_now() {
        let mut agg = aggregator(Statistic::Sum);
        agg.record(secs(1), 1.0);
        agg.close_until(SimTime(secs(60).0 - 1));
        assert!(agg.closed.is_empty());
        agg.close_until(secs(60));
        assert_eq!(agg.closed.len(), 1);
        agg.close_until(secs(60)); // idempotent
        assert_eq!(agg.closed.len(), 1);
    }

    #[test]
    fn publication_delay_hides_a_datapoint_until_end_plus_delay() {
        let delay = SimDuration::from_secs(30);
        let mut agg = PeriodAggregator::new(MINUTE, Statistic::Average, delay, 10);
        agg.record(secs(10), 42.0);
        agg.close_until(secs(60));
        assert_eq!(agg.visible(secs(60)), []);
        assert_eq!(agg.visible(SimTime(secs(90).0 - 1)), []);
        let dp = Datapoint {
            period_end: secs(60),
            value: Some(42.0),
        };
        assert_eq!(agg.visible(secs(90)), [dp]);
        // Before the delay has even elapsed since time zero nothing is visible.
        assert_eq!(agg.visible(secs(10)), []);
        assert_eq!(agg.period(), MINUTE);
    }

    #[test]
    fn visible_closes_ended_periods_without_close_until() {
        let delay = SimDuration::from_secs(30);
        let mut lazy = PeriodAggregator::new(MINUTE, Statistic::Percentile(50.0), delay, 4);
        let mut eager = lazy.clone();
        for (t, v) in [(1, 5.0), (2, 1.0), (3, 3.0), (70, 8.0)] {
            lazy.record(secs(t), v);
            eager.record(secs(t), v);
        }
        for now in [60, 89, 90, 130, 150, 200, 400, 100_000] {
            eager.close_until(secs(now));
            assert_eq!(
                lazy.visible(secs(now)),
                eager.visible(secs(now)),
                "at {now}s"
            );
        }
        assert_eq!(
            lazy.visible(secs(150)),
            [
                Datapoint {
                    period_end: secs(60),
                    value: Some(3.0)
                },
                Datapoint {
                    period_end: secs(120),
                    value: Some(8.0)
                },
            ]
        );
    }

    #[test]
    fn keep_bounds_retention_and_long_gaps_are_cheap() {
        let mut agg = PeriodAggregator::new(MINUTE, Statistic::Sum, SimDuration::ZERO, 3);
        for minute in 0..100 {
            agg.record(secs(minute * 60), minute as f64);
        }
        agg.close_until(secs(100 * 60));
        assert_eq!(agg.closed.len(), 3);
        let v: Vec<_> = agg.visible(secs(6000)).iter().map(|d| d.value).collect();
        assert_eq!(v, [Some(97.0), Some(98.0), Some(99.0)]);
        // Close about 190 years of minutes at once: only `keep` datapoints are materialised.
        let far = SimTime(u64::MAX / 100);
        let visible = agg.visible(far);
        agg.close_until(far);
        assert_eq!(agg.closed.len(), 3);
        assert_eq!(agg.visible(far), visible);
        assert!(visible.iter().all(|d| d.value.is_none()));
        let last = visible.last().unwrap().period_end;
        assert!(last <= far && far.as_nanos() - last.as_nanos() < MINUTE.as_nanos());
    }

    #[test]
    #[should_panic(expected = "already closed")]
    #[cfg(debug_assertions)]
    fn recording_into_a_closed_period_is_caught() {
        let mut agg = aggregator(Statistic::Sum);
        agg.close_until(secs(120));
        agg.record(secs(30), 1.0);
    }

    // --- alarms -------------------------------------------------------------------------------

    /// Datapoints from a pattern like AWS's tables: `0` within the threshold (value 1), `X`
    /// breaching (value 10), `-` missing; oldest first, one per minute.
    fn points(pattern: &str) -> Vec<Datapoint> {
        pattern
            .split_whitespace()
            .enumerate()
            .map(|(i, c)| Datapoint {
                period_end: secs(60 * (i as u64 + 1)),
                value: match c {
                    "0" => Some(1.0),
                    "X" => Some(10.0),
                    "-" => None,
                    other => panic!("bad pattern symbol {other}"),
                },
            })
            .collect()
    }

    fn alarm(n: u32, m: u32, treat: TreatMissingData) -> Alarm {
        Alarm::new(Comparison::GreaterThan, 5.0, n, m, treat).unwrap()
    }

    /// The state after one evaluation of `pattern`, starting from `from`.
    fn state_after(
        n: u32,
        m: u32,
        treat: TreatMissingData,
        from: AlarmState,
        pattern: &str,
    ) -> AlarmState {
        let mut a = alarm(n, m, treat);
        a.state = from;
        a.evaluate(&points(pattern))
    }

    /// One row of AWS's tables: the states for MISSING, IGNORE, BREACHING, NOT BREACHING, with
    /// `None` meaning "retain current state".
    fn check_row(n: u32, m: u32, pattern: &str, expected: [Option<AlarmState>; 4]) {
        use TreatMissingData::*;
        for (treat, want) in [Missing, Ignore, Breaching, NotBreaching]
            .into_iter()
            .zip(expected)
        {
            for from in [
                AlarmState::Ok,
                AlarmState::Alarm,
                AlarmState::InsufficientData,
            ] {
                let got = state_after(n, m, treat, from, pattern);
                assert_eq!(
                    got,
                    want.unwrap_or(from),
                    "{m} of {n}, `{pattern}`, treat {treat}, from {from}"
                );
            }
        }
    }

    const OK: Option<AlarmState> = Some(AlarmState::Ok);
    const ALARM: Option<AlarmState> = Some(AlarmState::Alarm);
    const INSUFFICIENT: Option<AlarmState> = Some(AlarmState::InsufficientData);
    const RETAIN: Option<AlarmState> = None;

    #[test]
    fn reproduces_aws_missing_data_table_3_of_3() {
        check_row(3, 3, "0 - X - X", [OK, OK, OK, OK]);
        check_row(3, 3, "0 - - - -", [OK, OK, OK, OK]);
        check_row(3, 3, "- - - - -", [INSUFFICIENT, RETAIN, ALARM, OK]);
        check_row(3, 3, "0 X X - X", [ALARM, ALARM, ALARM, ALARM]);
        check_row(3, 3, "- - - - X", [INSUFFICIENT, RETAIN, ALARM, OK]);
        check_row(3, 3, "X - - - -", [ALARM, RETAIN, ALARM, OK]);
    }

    #[test]
    fn reproduces_aws_missing_data_table_2_of_3() {
        check_row(3, 2, "0 - X - X", [ALARM, ALARM, ALARM, ALARM]);
        check_row(3, 2, "0 0 X 0 X", [ALARM, ALARM, ALARM, ALARM]);
        check_row(3, 2, "0 - X - -", [OK, OK, ALARM, OK]);
        check_row(3, 2, "- - - - 0", [OK, OK, ALARM, OK]);
        check_row(3, 2, "- - - - X", [INSUFFICIENT, RETAIN, ALARM, OK]);
    }

    #[test]
    fn an_empty_slice_is_all_missing() {
        check_row(3, 3, "", [INSUFFICIENT, RETAIN, ALARM, OK]);
    }

    #[test]
    fn starts_in_insufficient_data() {
        let a = alarm(3, 3, TreatMissingData::Missing);
        assert_eq!(a.state, AlarmState::InsufficientData);
        assert_eq!(a.evaluation_range(), 5);
    }

    #[test]
    fn three_of_three_alarms_exactly_when_the_third_breach_becomes_visible() {
        // CPU average per minute, 30 s publication delay, like the ASG's scale-out alarm.
        let delay = SimDuration::from_secs(30);
        let mut a = alarm(3, 3, TreatMissingData::Missing);
        let mut agg =
            PeriodAggregator::new(MINUTE, Statistic::Average, delay, a.evaluation_range());
        // Three minutes above 5, observed every 10 s.
        for t in (0..180).step_by(10) {
            agg.record(secs(t), 9.0);
        }
        let mut first_alarm = None;
        for t in (0..=300).step_by(5) {
            let now = secs(t);
            let state = a.evaluate(&agg.visible(now));
            if state == AlarmState::Alarm && first_alarm.is_none() {
                first_alarm = Some(t);
            }
            if t < 210 {
                assert_ne!(state, AlarmState::Alarm, "too early at {t}s");
                assert_ne!(state, AlarmState::Ok, "no data says OK at {t}s");
            }
        }
        // The third datapoint ends at 180 s and is published at 210 s.
        assert_eq!(first_alarm, Some(210));
    }

    #[test]
    fn fifteen_of_fifteen_below_for_scale_in() {
        let mut a = Alarm::new(
            Comparison::LessThan,
            36.0,
            15,
            15,
            TreatMissingData::Missing,
        )
        .unwrap();
        let mut agg = PeriodAggregator::new(MINUTE, Statistic::Average, SimDuration::ZERO, 17);
        // Two busy minutes, then quiet ones.
        agg.record(secs(0), 80.0);
        agg.record(secs(60), 80.0);
        for minute in 2..=16u64 {
            agg.record(secs(minute * 60), 10.0);
            let state = a.evaluate(&agg.visible(secs((minute + 1) * 60)));
            let quiet = minute - 1; // quiet datapoints visible
            if quiet < 15 {
                assert_eq!(state, AlarmState::Ok, "{quiet} quiet minutes");
            } else {
                assert_eq!(state, AlarmState::Alarm, "{quiet} quiet minutes");
            }
        }
        assert_eq!(a.state, AlarmState::Alarm);
    }

    #[test]
    fn fifteen_of_fifteen_from_the_start_waits_for_fifteen_datapoints() {
        let mut a = Alarm::new(
            Comparison::LessThan,
            36.0,
            15,
            15,
            TreatMissingData::Missing,
        )
        .unwrap();
        let mut agg = PeriodAggregator::new(MINUTE, Statistic::Average, SimDuration::ZERO, 17);
        for minute in 0..15u64 {
            agg.record(secs(minute * 60), 10.0);
            let state = a.evaluate(&agg.visible(secs((minute + 1) * 60)));
            let want = if minute < 14 {
                AlarmState::InsufficientData
            } else {
                AlarmState::Alarm
            };
            assert_eq!(state, want, "after {} datapoints", minute + 1);
        }
    }

    #[test]
    fn m_of_n_counts_breaches_that_are_not_consecutive() {
        // 3 of 5, six datapoints: only the last five count.
        assert_eq!(
            state_after(
                5,
                3,
                TreatMissingData::Missing,
                AlarmState::Ok,
                "X X 0 X 0 X"
            ),
            AlarmState::Alarm
        );
        assert_eq!(
            state_after(
                5,
                3,
                TreatMissingData::Missing,
                AlarmState::Ok,
                "X X 0 0 0 X"
            ),
            AlarmState::Ok
        );
    }

    #[test]
    fn gaps_in_the_slice_are_missing_periods() {
        // Minutes 1, 2, 3 and 5 (`0 X X _ X`), minute 4 absent from the slice: the spacing is
        // still one minute, and the three newest real datapoints, X X X, alarm a 2-of-3 alarm.
        let mut sparse = points("0 X X - X");
        sparse.remove(3);
        let mut a = alarm(3, 2, TreatMissingData::Breaching);
        assert_eq!(a.evaluate(&sparse), AlarmState::Alarm);
        // Gaps also push old datapoints out of the range: minutes 1 and 9 only.
        let far_apart = [
            Datapoint {
                period_end: secs(60),
                value: Some(10.0),
            },
            Datapoint {
                period_end: secs(9 * 60),
                value: Some(1.0),
            },
        ];
        // From these two alone the spacing looks like 8 minutes: both are in the range, so a
        // 2-of-3 `not_breaching` alarm sees one breach: OK.
        let mut b = alarm(3, 2, TreatMissingData::NotBreaching);
        assert_eq!(b.evaluate(&far_apart), AlarmState::Ok);
        // Add minute 8: spacing is one minute and minute 1 is 8 periods back, out of the range.
        let with_minute_8 = [
            far_apart[0],
            Datapoint {
                period_end: secs(8 * 60),
                value: Some(10.0),
            },
            far_apart[1],
        ];
        let mut c = alarm(3, 2, TreatMissingData::Breaching);
        // Range holds minutes 5..=9: reals X (8) and 0 (9), one missing filled as breaching → 2.
        assert_eq!(c.evaluate(&with_minute_8), AlarmState::Alarm);
        let mut d = alarm(3, 2, TreatMissingData::NotBreaching);
        assert_eq!(d.evaluate(&with_minute_8), AlarmState::Ok);
    }

    #[test]
    fn each_missing_data_option_when_the_metric_stops() {
        use TreatMissingData::*;
        // 3 of 3 in ALARM, then the metric stops: datapoints keep coming as `None`.
        let history = [
            "X X X",
            "X X X -",
            "X X X - -",
            "X X X - - -",
            "X X X - - - - - -",
        ];
        let expect = |treat, states: [AlarmState; 5]| {
            let mut a = alarm(3, 3, treat);
            for (pattern, want) in history.iter().zip(states) {
                assert_eq!(a.evaluate(&points(pattern)), want, "{treat}: `{pattern}`");
            }
        };
        let (al, ok, ins) = (
            AlarmState::Alarm,
            AlarmState::Ok,
            AlarmState::InsufficientData,
        );
        // Three real breaches stay in the range (of 5) for two more periods.
        expect(Missing, [al, al, al, al, ins]);
        expect(Ignore, [al, al, al, al, al]);
        expect(Breaching, [al, al, al, al, al]);
        expect(NotBreaching, [al, al, al, ok, ok]);
    }

    #[test]
    fn back_to_ok_when_the_breach_ends() {
        let mut a = alarm(3, 3, TreatMissingData::Missing);
        assert_eq!(a.evaluate(&points("X X X")), AlarmState::Alarm);
        assert_eq!(a.evaluate(&points("X X X 0")), AlarmState::Ok);
        assert_eq!(a.evaluate(&points("X X X 0 X X")), AlarmState::Ok);
        assert_eq!(a.evaluate(&points("X X X 0 X X X")), AlarmState::Alarm);
    }

    #[test]
    fn ignore_keeps_the_state_through_gaps() {
        let mut a = alarm(3, 3, TreatMissingData::Ignore);
        assert_eq!(a.evaluate(&points("- - -")), AlarmState::InsufficientData);
        assert_eq!(a.evaluate(&points("0 0 0")), AlarmState::Ok);
        assert_eq!(a.evaluate(&points("0 0 0 - - - - -")), AlarmState::Ok);
        assert_eq!(a.evaluate(&points("0 0 0 - - - - - X")), AlarmState::Ok);
    }

    #[test]
    fn comparisons_and_breach_size() {
        assert!(Comparison::GreaterThan.breaches(5.1, 5.0));
        assert!(!Comparison::GreaterThan.breaches(5.0, 5.0));
        assert!(Comparison::GreaterOrEqual.breaches(5.0, 5.0));
        assert!(Comparison::LessThan.breaches(4.9, 5.0));
        assert!(!Comparison::LessThan.breaches(5.0, 5.0));
        assert!(Comparison::LessOrEqual.breaches(5.0, 5.0));
        assert!(!Comparison::GreaterThan.breaches(f64::NAN, 5.0));

        let a = alarm(3, 3, TreatMissingData::Missing);
        assert_eq!(a.breach(&points("0 X")), Some(5.0));
        assert_eq!(a.breach(&points("X 0")), Some(-4.0));
        // The newest real datapoint of the range, skipping missing ones.
        assert_eq!(a.breach(&points("X - -")), Some(5.0));
        assert_eq!(a.breach(&points("X - - - - -")), None);
        assert_eq!(a.breach(&[]), None);
    }

    #[test]
    fn alarm_configuration_is_checked() {
        let new = |n, m| {
            Alarm::new(
                Comparison::GreaterThan,
                1.0,
                n,
                m,
                TreatMissingData::Missing,
            )
        };
        assert!(new(3, 3).is_ok());
        assert!(new(15, 1).is_ok());
        assert_eq!(
            new(3, 4).unwrap_err(),
            "datapoints_to_alarm (4) cannot exceed evaluation_periods (3): the alarm fires when \
             M of the last N datapoints breach, so M must be at most N"
        );
        assert!(
            new(0, 0)
                .unwrap_err()
                .starts_with("evaluation_periods must be at least 1")
        );
        assert!(
            new(3, 0)
                .unwrap_err()
                .starts_with("datapoints_to_alarm must be at least 1")
        );
        let nan = Alarm::new(
            Comparison::LessThan,
            f64::NAN,
            1,
            1,
            TreatMissingData::Missing,
        );
        assert!(nan.unwrap_err().contains("finite"));
    }

    // --- parsing ------------------------------------------------------------------------------

    fn statistic(s: &str) -> Result<Statistic, String> {
        s.parse()
    }

    #[test]
    fn parses_statistics() {
        use Statistic::*;
        for (s, want) in [
            ("average", Average),
            ("avg", Average),
            ("sum", Sum),
            ("maximum", Maximum),
            ("max", Maximum),
            ("minimum", Minimum),
            ("min", Minimum),
            ("sample_count", SampleCount),
            ("p50", Percentile(50.0)),
            ("p99", Percentile(99.0)),
            ("p99.9", Percentile(99.9)),
            ("p0", Percentile(0.0)),
            ("p100", Percentile(100.0)),
            (" p95.45 ", Percentile(95.45)),
        ] {
            assert_eq!(statistic(s), Ok(want), "{s}");
        }
        assert_eq!(Percentile(99.9).to_string(), "p99.9");
        assert_eq!(Percentile(99.0).to_string(), "p99");
        assert_eq!(SampleCount.to_string(), "sample_count");
    }

    #[test]
    fn statistic_errors_suggest_a_fix() {
        assert_eq!(
            statistic("avrage").unwrap_err(),
            "unknown statistic `avrage`; expected one of average (or avg), sum, maximum (or max), \
             minimum (or min), sample_count, or a percentile like p50, p99, p99.9; did you mean \
             `average`?"
        );
        assert!(
            statistic("Average")
                .unwrap_err()
                .ends_with("did you mean `average`?")
        );
        assert!(
            statistic("mean")
                .unwrap_err()
                .ends_with("did you mean `average`?")
        );
        assert!(
            statistic("median")
                .unwrap_err()
                .ends_with("did you mean `p50`?")
        );
        assert!(
            statistic("SampleCount")
                .unwrap_err()
                .ends_with("did you mean `sample_count`?")
        );
        assert!(
            statistic("99")
                .unwrap_err()
                .ends_with("did you mean `p99`?")
        );
        assert!(
            statistic("P99.9")
                .unwrap_err()
                .ends_with("did you mean `p99.9`?")
        );
        assert_eq!(
            statistic("p101").unwrap_err(),
            "invalid percentile `p101`: a percentile must be between p0 and p100"
        );
        assert!(
            statistic("p")
                .unwrap_err()
                .contains("write the percent after `p`")
        );
        assert!(
            statistic("p-5")
                .unwrap_err()
                .contains("expected a number from 0 to 100")
        );
        assert!(
            statistic("p9.9.9")
                .unwrap_err()
                .contains("expected a number from 0 to 100")
        );
        assert!(
            statistic("")
                .unwrap_err()
                .starts_with("unknown statistic ``")
        );
        assert!(!statistic("zzz").unwrap_err().contains("did you mean"));
    }

    #[test]
    fn parses_comparisons_and_missing_data_treatments() {
        use Comparison::*;
        for (s, want) in [
            (">", GreaterThan),
            ("greater_than", GreaterThan),
            (">=", GreaterOrEqual),
            ("greater_than_or_equal", GreaterOrEqual),
            ("<", LessThan),
            ("less_than", LessThan),
            ("<=", LessOrEqual),
            ("less_than_or_equal", LessOrEqual),
        ] {
            assert_eq!(s.parse::<Comparison>(), Ok(want), "{s}");
        }
        let err = |s: &str| s.parse::<Comparison>().unwrap_err();
        assert!(err("=>").ends_with("did you mean `>=`?"), "{}", err("=>"));
        assert!(err("gte").ends_with("did you mean `>=`?"));
        assert!(err("GreaterThanThreshold").ends_with("did you mean `greater_than`?"));
        assert!(err("less_then").ends_with("did you mean `less_than`?"));
        assert!(err("==").starts_with("unknown comparison `==`; expected one of \">\""));

        use TreatMissingData::*;
        for (s, want) in [
            ("missing", Missing),
            ("breaching", Breaching),
            ("not_breaching", NotBreaching),
            ("ignore", Ignore),
        ] {
            assert_eq!(s.parse::<TreatMissingData>(), Ok(want), "{s}");
            assert_eq!(want.to_string(), s);
        }
        assert_eq!(TreatMissingData::default(), Missing);
        let err = "notBreaching".parse::<TreatMissingData>().unwrap_err();
        assert_eq!(
            err,
            "unknown missing-data treatment `notBreaching`; expected one of missing, breaching, \
             not_breaching, ignore; did you mean `not_breaching`?"
        );
        assert!(
            "ignored"
                .parse::<TreatMissingData>()
                .unwrap_err()
                .ends_with("did you mean `ignore`?")
        );
    }

    #[derive(Debug, Deserialize, Serialize)]
    struct Spec {
        statistic: Statistic,
        comparison: Comparison,
        treat_missing: TreatMissingData,
    }

    #[test]
    fn serde_round_trips_and_reports_errors() {
        let spec: Spec = toml::from_str(
            "statistic = \"p99.9\"\ncomparison = \">=\"\ntreat_missing = \"not_breaching\"",
        )
        .unwrap();
        assert_eq!(spec.statistic, Statistic::Percentile(99.9));
        assert_eq!(spec.comparison, Comparison::GreaterOrEqual);
        assert_eq!(spec.treat_missing, TreatMissingData::NotBreaching);
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(
            json,
            r#"{"statistic":"p99.9","comparison":"greater_than_or_equal","treat_missing":"not_breaching"}"#
        );
        assert_eq!(
            serde_json::to_string(&AlarmState::InsufficientData).unwrap(),
            r#""INSUFFICIENT_DATA""#
        );
        assert_eq!(AlarmState::Ok.to_string(), "OK");

        let err = toml::from_str::<Spec>(
            "statistic = \"maxium\"\ncomparison = \">\"\ntreat_missing = \"missing\"",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("did you mean `maximum`?"), "{err}");
        let err = toml::from_str::<Spec>(
            "statistic = 99\ncomparison = \">\"\ntreat_missing = \"missing\"",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("expected a statistic like"), "{err}");
        let err = toml::from_str::<Spec>(
            "statistic = \"sum\"\ncomparison = \"gt\"\ntreat_missing = \"missing\"",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("did you mean `>`?"), "{err}");
    }
}
