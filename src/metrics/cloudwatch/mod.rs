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
//!
//! # Where things are
//! - `period.rs`: the [`Statistic`] of a period and the [`PeriodAggregator`] that makes one
//!   [`Datapoint`] per period.
//! - `alarm.rs`: the M-of-N [`Alarm`] with its [`Comparison`], [`TreatMissingData`] and
//!   [`AlarmState`].
//! - here: the parsing helpers both use for the words scenario files write.

mod alarm;
mod period;

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};

pub use alarm::{Alarm, AlarmState, Comparison, EXTRA_EVALUATION_PERIODS, TreatMissingData};
pub use period::{Datapoint, PeriodAggregator, Statistic};

// ---------------------------------------------------------------------------------------------
// Parsing helpers
// ---------------------------------------------------------------------------------------------

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

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, Deserialize, schemars::JsonSchema, Serialize)]
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
