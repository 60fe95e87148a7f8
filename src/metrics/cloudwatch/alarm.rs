//! CloudWatch alarms: M of the last N datapoints breaching a threshold, with CloudWatch's rules
//! for missing data.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

use super::{Datapoint, deserialize_parsed};
use crate::units::unknown_word;

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

impl schemars::JsonSchema for Comparison {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Comparison".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": COMPARISON_LIST,
            "enum": COMPARISON_NAMES,
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

impl schemars::JsonSchema for TreatMissingData {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TreatMissingData".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": TREAT_MISSING_LIST,
            "enum": TREAT_MISSING_NAMES,
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
/// The alarm knows nothing of time: feed it [`PeriodAggregator::visible`](super::PeriodAggregator::visible) at each evaluation (AWS
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

    /// How many periods the alarm looks back: the `keep` a [`PeriodAggregator`](super::PeriodAggregator) feeding it
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
    /// [`PeriodAggregator::visible`](super::PeriodAggregator::visible) gives them) and returns the new state.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::time::{SimDuration, SimTime};
    use crate::metrics::cloudwatch::{PeriodAggregator, Statistic};

    const MINUTE: SimDuration = SimDuration::from_secs(60);

    fn secs(s: u64) -> SimTime {
        SimTime(s * 1_000_000_000)
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
}
