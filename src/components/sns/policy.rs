//! Delivery policies: when SNS retries a delivery that failed, phase by phase, as AWS
//! documents them ("Amazon SNS message delivery retries"): an immediate phase (no delay), a
//! pre-back-off phase (retries `min_delay` apart), a back-off phase (from `min_delay` to
//! `max_delay`) and a post-back-off phase (retries `max_delay` apart).

use serde::Deserialize;
use toml::Spanned;

use super::super::SpecIssue;
use crate::engine::time::SimDuration;

/// How the back-off phase moves from `min_delay` to `max_delay`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Backoff {
    /// Equal steps: the i-th of n retries waits `min + (max − min)·i/(n − 1)`.
    Linear,
    /// Equal ratios: the i-th of n retries waits `min·(max/min)^(i/(n − 1))`.
    Exponential,
}

/// A delivery policy as a schedule of retry delays.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Schedule {
    /// Retries without delay.
    pub no_delay: u32,
    /// Retries `min_delay` apart, before the back-off.
    pub pre_backoff: u32,
    /// Retries of the back-off phase.
    pub backoff: u32,
    /// Retries `max_delay` apart, after the back-off.
    pub post_backoff: u32,
    /// The pre-back-off delay and the first back-off delay.
    pub min_delay: SimDuration,
    /// The last back-off delay and the post-back-off delay.
    pub max_delay: SimDuration,
    /// How the back-off phase grows.
    pub function: Backoff,
}

impl Schedule {
    /// Retries after the first attempt.
    pub fn retries(&self) -> u64 {
        self.no_delay as u64
            + self.pre_backoff as u64
            + self.backoff as u64
            + self.post_backoff as u64
    }

    /// The wait before retry `n` (1 for the first retry); `None` past the last retry.
    pub fn delay_before(&self, n: u64) -> Option<SimDuration> {
        if n == 0 || n > self.retries() {
            return None;
        }
        let mut i = n - 1;
        if i < self.no_delay as u64 {
            return Some(SimDuration::ZERO);
        }
        i -= self.no_delay as u64;
        if i < self.pre_backoff as u64 {
            return Some(self.min_delay);
        }
        i -= self.pre_backoff as u64;
        if i < self.backoff as u64 {
            return Some(self.backoff_delay(i, self.backoff as u64));
        }
        Some(self.max_delay)
    }

    /// The `i`-th (from 0) of `n` back-off delays.
    fn backoff_delay(&self, i: u64, n: u64) -> SimDuration {
        if n <= 1 {
            return self.min_delay;
        }
        let (min, max) = (self.min_delay.as_nanos(), self.max_delay.as_nanos());
        match self.function {
            // Integer arithmetic: whole-second targets give whole-nanosecond steps exactly.
            Backoff::Linear => SimDuration(min + (max - min) * i / (n - 1)),
            Backoff::Exponential => {
                let ratio = max as f64 / min.max(1) as f64;
                SimDuration((min as f64 * ratio.powf(i as f64 / (n - 1) as f64)).round() as u64)
            }
        }
    }

    /// Time from the first failed attempt to the last retry.
    pub fn total(&self) -> SimDuration {
        let mut total = SimDuration::ZERO;
        for i in 0..self.backoff as u64 {
            total += self.backoff_delay(i, self.backoff as u64);
        }
        total
            + SimDuration(self.min_delay.as_nanos() * self.pre_backoff as u64)
            + SimDuration(self.max_delay.as_nanos() * self.post_backoff as u64)
    }
}

/// `models/sns.toml`'s managed policy (SQS, Lambda), as it reads.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManagedPolicy {
    num_no_delay_retries: u32,
    num_min_delay_retries: u32,
    min_delay_target: SimDuration,
    backoff_retries: u32,
    max_delay_target: SimDuration,
    num_max_delay_retries: u32,
    backoff_function: Backoff,
}

impl ManagedPolicy {
    /// Its schedule.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            no_delay: self.num_no_delay_retries,
            pre_backoff: self.num_min_delay_retries,
            backoff: self.backoff_retries,
            post_backoff: self.num_max_delay_retries,
            min_delay: self.min_delay_target,
            max_delay: self.max_delay_target,
            function: self.backoff_function,
        }
    }
}

/// An HTTP/S subscription's `delivery_policy`, with AWS's parameter names in snake case
/// (`numRetries` is `num_retries`...). Fields left out take the HTTP/S default policy's.
#[derive(Clone, Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpPolicySpec {
    /// Retries in all (0 to 100).
    #[schemars(with = "Option<u32>")]
    pub num_retries: Option<Spanned<u32>>,
    /// Retries without delay.
    #[schemars(with = "Option<u32>")]
    pub num_no_delay_retries: Option<Spanned<u32>>,
    /// Retries `min_delay_target` apart before the back-off.
    #[schemars(with = "Option<u32>")]
    pub num_min_delay_retries: Option<Spanned<u32>>,
    /// Retries `max_delay_target` apart after the back-off.
    #[schemars(with = "Option<u32>")]
    pub num_max_delay_retries: Option<Spanned<u32>>,
    /// The shortest delay (at least 1 s).
    #[schemars(with = "Option<SimDuration>")]
    pub min_delay_target: Option<Spanned<SimDuration>>,
    /// The longest delay (at most 3 600 s).
    #[schemars(with = "Option<SimDuration>")]
    pub max_delay_target: Option<Spanned<SimDuration>>,
    /// `linear` or `exponential`.
    pub backoff_function: Option<Backoff>,
}

/// `models/sns.toml`'s HTTP/S default policy.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpDefaults {
    num_retries: u32,
    num_no_delay_retries: u32,
    num_min_delay_retries: u32,
    num_max_delay_retries: u32,
    min_delay_target: SimDuration,
    max_delay_target: SimDuration,
    backoff_function: Backoff,
    /// The longest total retry time of an HTTP/S policy.
    pub max_total: SimDuration,
}

impl HttpPolicySpec {
    /// The schedule, or what is wrong with it (at `field`), over the HTTP/S defaults `d`.
    pub fn schedule(
        &self,
        field: &str,
        d: &HttpDefaults,
        span: std::ops::Range<usize>,
    ) -> Result<Schedule, SpecIssue> {
        let get =
            |v: &Option<Spanned<u32>>, default: u32| v.as_ref().map_or(default, |v| *v.get_ref());
        let retries = get(&self.num_retries, d.num_retries);
        let no_delay = get(&self.num_no_delay_retries, d.num_no_delay_retries);
        let pre = get(&self.num_min_delay_retries, d.num_min_delay_retries);
        let post = get(&self.num_max_delay_retries, d.num_max_delay_retries);
        let min = self
            .min_delay_target
            .as_ref()
            .map_or(d.min_delay_target, |v| *v.get_ref());
        let max = self
            .max_delay_target
            .as_ref()
            .map_or(d.max_delay_target, |v| *v.get_ref());
        let at = |v: &Option<Spanned<u32>>| v.as_ref().map_or(span.clone(), |v| v.span());
        let issue = |sub: &str, message: String, span| SpecIssue {
            field: format!("{field}.{sub}"),
            message,
            span,
        };
        if retries > 100 {
            return Err(issue(
                "num_retries",
                format!("must be between 0 and 100 (SNS's limit), found {retries}"),
                at(&self.num_retries),
            ));
        }
        let span_of =
            |v: &Option<Spanned<SimDuration>>| v.as_ref().map_or(span.clone(), |v| v.span());
        if min < SimDuration::from_secs(1) || min > max {
            return Err(issue(
                "min_delay_target",
                format!("must be at least 1s and at most max_delay_target ({max}), found {min}"),
                span_of(&self.min_delay_target),
            ));
        }
        if max > d.max_total {
            return Err(issue(
                "max_delay_target",
                format!("must be at most {} (SNS's limit), found {max}", d.max_total),
                span_of(&self.max_delay_target),
            ));
        }
        let phases = no_delay as u64 + pre as u64 + post as u64;
        if phases > retries as u64 {
            return Err(issue(
                "num_retries",
                format!(
                    "must be at least num_no_delay_retries + num_min_delay_retries + \
                     num_max_delay_retries = {phases}, found {retries}"
                ),
                at(&self.num_retries),
            ));
        }
        let schedule = Schedule {
            no_delay,
            pre_backoff: pre,
            backoff: retries - phases as u32,
            post_backoff: post,
            min_delay: min,
            max_delay: max,
            function: self.backoff_function.unwrap_or(d.backoff_function),
        };
        if schedule.total() > d.max_total {
            return Err(issue(
                "num_retries",
                format!(
                    "the policy's retries take {} in all; SNS caps an HTTP/S policy at {}",
                    schedule.total(),
                    d.max_total
                ),
                at(&self.num_retries),
            ));
        }
        Ok(schedule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> SimDuration {
        SimDuration::from_secs(secs)
    }

    #[test]
    fn the_managed_policy_follows_awss_four_phases() {
        let p = super::super::defaults().managed_policy.schedule();
        assert_eq!(p.retries(), 100_014, "100,015 attempts in all");
        // The first attempt and 2 retries without delay, 2 one second apart.
        for n in 1..=2 {
            assert_eq!(p.delay_before(n), Some(SimDuration::ZERO));
        }
        assert_eq!(p.delay_before(3), Some(s(1)));
        assert_eq!(p.delay_before(4), Some(s(1)));
        // The back-off phase: 10 retries from 1 s to 20 s in equal ratios.
        assert_eq!(p.delay_before(5), Some(s(1)));
        assert_eq!(p.delay_before(14), Some(s(20)));
        let ratio = 20f64.powf(1.0 / 9.0);
        let third = p.delay_before(7).unwrap().as_nanos() as f64;
        assert!((third - 1e9 * ratio * ratio).abs() <= 1.0, "{third}");
        assert_eq!(p.delay_before(15), Some(s(20)));
        assert_eq!(p.delay_before(100_014), Some(s(20)));
        assert_eq!(p.delay_before(100_015), None);
        // "over 23 days": 100,000 × 20 s after a back-off of under 2 minutes.
        let days = p.total().as_secs_f64() / 86_400.0;
        assert!((23.0..23.2).contains(&days), "{days}");
    }

    #[test]
    fn the_http_default_is_three_retries_twenty_seconds_apart() {
        let d = &super::super::defaults().http_policy;
        let p = HttpPolicySpec::default().schedule("p", d, 0..0).unwrap();
        assert_eq!(p.retries(), 3);
        assert_eq!(
            (1..=4).map(|n| p.delay_before(n)).collect::<Vec<_>>(),
            vec![Some(s(20)), Some(s(20)), Some(s(20)), None]
        );
    }

    #[test]
    fn a_linear_http_policy_steps_evenly_and_its_cap_is_checked() {
        let d = &super::super::defaults().http_policy;
        let spec: HttpPolicySpec = toml::from_str(
            "num_retries = 6\nnum_no_delay_retries = 1\nnum_min_delay_retries = 1\n\
             num_max_delay_retries = 1\nmin_delay_target = \"10s\"\nmax_delay_target = \"20s\"",
        )
        .unwrap();
        let p = spec.schedule("p", d, 0..0).unwrap();
        let delays: Vec<_> = (1..=6).map(|n| p.delay_before(n).unwrap()).collect();
        assert_eq!(delays, vec![s(0), s(10), s(10), s(15), s(20), s(20)]);
        let long: HttpPolicySpec = toml::from_str(
            "num_retries = 100\nmin_delay_target = \"60s\"\nmax_delay_target = \"60s\"",
        )
        .unwrap();
        let e = long.schedule("p", d, 0..0).unwrap_err();
        assert!(
            e.message.contains("caps an HTTP/S policy at 1h"),
            "{}",
            e.message
        );
        assert_eq!(e.field, "p.num_retries");
    }
}
