//! The CloudWatch alarms a deployment watches: each on one metric of the new version, with the
//! alarm machinery of `metrics::cloudwatch` (period, statistic, M of N, missing data).

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::components::SpecIssue;
use crate::engine::time::{SimDuration, SimTime};
use crate::metrics::cloudwatch::{
    Alarm, AlarmState, Comparison, PeriodAggregator, Statistic, TreatMissingData,
};
use crate::units::{PositiveDuration, limits};

/// One alarm of a `deploy` table.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlarmSpec {
    /// Its name in `deployments.csv` (default `alarm N`).
    pub name: Option<String>,
    /// The new version's metric it watches (the kind lists them, e.g. `Errors`).
    #[schemars(with = "String")]
    pub metric: Spanned<String>,
    /// The statistic of a period (default: the metric's own, e.g. `sum` for `Errors`).
    pub statistic: Option<Statistic>,
    /// Period length (default 1 minute): 10 s, 20 s, 30 s or a whole number of minutes.
    #[schemars(with = "Option<PositiveDuration>")]
    pub period: Option<Spanned<PositiveDuration>>,
    /// N (default 1).
    #[schemars(with = "Option<u32>")]
    pub evaluation_periods: Option<Spanned<u32>>,
    /// M (default N).
    #[schemars(with = "Option<u32>")]
    pub datapoints_to_alarm: Option<Spanned<u32>>,
    /// How a datapoint compares with the threshold.
    pub comparison: Comparison,
    /// The threshold.
    #[schemars(with = "f64")]
    pub threshold: Spanned<f64>,
    /// Missing data (default `missing`, AWS's).
    pub treat_missing_data: Option<TreatMissingData>,
}

/// A metric a kind publishes for the alarms of its deployments, with the statistic an alarm
/// on it uses by default.
#[derive(Copy, Clone, Debug)]
pub struct MetricName {
    /// As a scenario writes it (CloudWatch's name: `Errors`).
    pub name: &'static str,
    /// What an alarm reads of a period unless it says.
    pub statistic: Statistic,
}

/// The default alarm period (CloudWatch's standard resolution for Lambda metrics).
const DEFAULT_PERIOD: SimDuration = SimDuration::from_secs(60);

impl AlarmSpec {
    /// The issues of this alarm (`field` is its path), given the metrics the kind publishes.
    pub fn check(&self, field: &str, metrics: &[MetricName], out: &mut Vec<SpecIssue>) {
        let mut issue = |f: &str, message: String, span: Range<usize>| {
            out.push(SpecIssue {
                field: format!("{field}.{f}"),
                message,
                span,
            })
        };
        let names: Vec<&str> = metrics.iter().map(|m| m.name).collect();
        if !names.contains(&self.metric.get_ref().as_str()) {
            issue(
                "metric",
                format!(
                    "unknown metric `{}`; a deployment's alarm watches one of {}{}",
                    self.metric.get_ref(),
                    names.join(", "),
                    crate::units::did_you_mean(self.metric.get_ref(), &names)
                ),
                self.metric.span(),
            );
        }
        if let Some(p) = &self.period {
            let nanos = p.get_ref().0.as_nanos();
            let allowed = [10, 20, 30].map(|s| SimDuration::from_secs(s).as_nanos());
            if !allowed.contains(&nanos) && !nanos.is_multiple_of(DEFAULT_PERIOD.as_nanos()) {
                issue(
                    "period",
                    format!(
                        "CloudWatch alarm periods are 10s, 20s, 30s or a whole number of \
                         minutes, found {}",
                        p.get_ref().0
                    ),
                    p.span(),
                );
            }
        }
        let n = self.evaluation_periods.as_ref().map_or(1, |n| *n.get_ref());
        if let Some(e) = &self.evaluation_periods
            && let Some(i) =
                SpecIssue::above_limit("evaluation_periods", e, limits::EVALUATION_PERIODS)
        {
            issue("evaluation_periods", i.message, i.span);
        }
        if let Some(m) = &self.datapoints_to_alarm
            && (*m.get_ref() == 0 || *m.get_ref() > n)
        {
            issue(
                "datapoints_to_alarm",
                format!(
                    "needs 1 <= datapoints_to_alarm ({}) <= evaluation_periods ({n})",
                    m.get_ref()
                ),
                m.span(),
            );
        }
        if n == 0
            && let Some(e) = &self.evaluation_periods
        {
            issue("evaluation_periods", "must be at least 1".into(), e.span());
        }
        if !self.threshold.get_ref().is_finite() {
            issue(
                "threshold",
                "must be a finite number".into(),
                self.threshold.span(),
            );
        }
    }
}

/// An alarm at work: its datapoints and its state.
pub(super) struct Watch {
    pub(super) name: String,
    /// Index of its metric in the kind's list.
    pub(super) metric: usize,
    pub(super) period: SimDuration,
    aggregator: PeriodAggregator,
    alarm: Alarm,
    pub(super) state: AlarmState,
}

impl Watch {
    /// The alarm of a checked spec (the `index`-th of its deployment).
    pub(super) fn build(
        spec: &AlarmSpec,
        index: usize,
        metrics: &[MetricName],
    ) -> Result<Watch, String> {
        let metric = metrics
            .iter()
            .position(|m| m.name == spec.metric.get_ref())
            .ok_or_else(|| format!("unknown metric `{}`", spec.metric.get_ref()))?;
        let n = spec.evaluation_periods.as_ref().map_or(1, |n| *n.get_ref());
        let m = spec
            .datapoints_to_alarm
            .as_ref()
            .map_or(n, |m| *m.get_ref());
        let alarm = Alarm::new(
            spec.comparison,
            *spec.threshold.get_ref(),
            n,
            m,
            spec.treat_missing_data.unwrap_or_default(),
        )?;
        let period = spec
            .period
            .as_ref()
            .map_or(DEFAULT_PERIOD, |p| p.get_ref().0);
        let statistic = spec.statistic.unwrap_or(metrics[metric].statistic);
        Ok(Watch {
            name: spec
                .name
                .clone()
                .unwrap_or_else(|| format!("alarm {}", index + 1)),
            metric,
            period,
            aggregator: PeriodAggregator::new(
                period,
                statistic,
                SimDuration::ZERO,
                alarm.evaluation_range(),
            ),
            alarm,
            state: AlarmState::InsufficientData,
        })
    }

    /// An observation of its metric at `now`.
    pub(super) fn record(&mut self, now: SimTime, value: f64) {
        self.aggregator.record(now, value);
    }

    /// The first period end after `now`: when it is evaluated next.
    pub(super) fn next_evaluation(&self, now: SimTime) -> SimTime {
        let p = self.period.as_nanos();
        SimTime((now.as_nanos() / p + 1).saturating_mul(p))
    }

    /// Evaluates at `now` (a period end); the new state.
    pub(super) fn evaluate(&mut self, now: SimTime) -> AlarmState {
        self.state = self.alarm.evaluate(&self.aggregator.visible(now));
        self.state
    }
}
