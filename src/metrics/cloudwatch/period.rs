//! One datapoint per period: observations of a metric become one value per period with a
//! [`Statistic`], visible once the period's publication delay has passed.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::deserialize_parsed;
use crate::engine::time::{SimDuration, SimTime};
use crate::units::unknown_word;

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

impl schemars::JsonSchema for Statistic {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Statistic".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": STATISTIC_LIST,
            "anyOf": [
                { "enum": STATISTIC_NAMES },
                { "type": "string", "pattern": r"^p\d+(\.\d+)?$" },
            ],
        })
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
    /// `keep` is how many closed datapoints are retained (at least 1); an [`Alarm`](super::Alarm) needs
    /// [`Alarm::evaluation_range`](super::Alarm::evaluation_range) of them to see its whole evaluation range.
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
}
