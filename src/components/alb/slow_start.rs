//! Slow start mode: `slow_start = "120s"`, AWS's target group attribute
//! `slow_start.duration_seconds` (30 to 900 s; 0, the default, turns it off).
//!
//! # What it follows
//! - A target enters slow start when it becomes healthy (after its initial health checks, or
//!   again after being unhealthy), and only if the group has at least one healthy target that
//!   is not in slow start. Targets healthy when the run starts do not enter it (as targets
//!   already healthy when slow start is enabled do not). It leaves slow start when the duration
//!   has passed, or when it becomes unhealthy or is deregistered.
//! - "The load balancer linearly increases the number of requests that it can send to a
//!   target in slow start mode": a target `t` into a slow start of duration `D` has the weight
//!   `t / D` (0 to 1). awsim applies it to round robin as a credit: each time a round-robin
//!   turn reaches the target it gains its current weight, and it takes the request only when
//!   its credit reaches a whole request (which it spends); otherwise the turn passes on to the
//!   next target. Over its turns a target of weight `w` takes a share `w` of what a full
//!   target takes, so with `n` full targets its share of the group's requests is
//!   `w / (n + w)`, rising linearly in `w` from 0 to the fair `1 / (n + 1)`. The credit is kept
//!   in nanoseconds (exact integer arithmetic).
//! - "You cannot enable both slow start mode and least outstanding requests": refused.
//!
//! # What it simplifies
//! If every target that can take a request is in slow start with too little credit (the full
//! ones are full), the first of them takes it rather than the ALB refusing it. A sticky
//! client's request goes to its target whatever the target's credit (stickiness overrides the
//! algorithm).

use std::ops::Range;

use toml::Spanned;

use super::super::SpecIssue;
use super::Algorithm;
use crate::engine::time::{SimDuration, SimTime};

/// The shortest slow start AWS accepts (besides 0, off).
pub const MIN: SimDuration = SimDuration::from_secs(30);

/// The longest slow start AWS accepts, 15 minutes.
pub const MAX: SimDuration = SimDuration::from_secs(900);

/// What is wrong with `slow_start` given the algorithm.
pub fn issues(slow_start: Option<&Spanned<SimDuration>>, algorithm: Algorithm) -> Vec<SpecIssue> {
    let Some(d) = slow_start else {
        return Vec::new();
    };
    let issue = |message: String, span: Range<usize>| SpecIssue {
        field: "slow_start".into(),
        message,
        span,
    };
    let duration = *d.get_ref();
    let mut out = Vec::new();
    if !duration.is_zero() && !(MIN..=MAX).contains(&duration) {
        out.push(issue(
            format!("slow start is 30 s to 900 s, or 0 (off), found {duration}"),
            d.span(),
        ));
    }
    if !duration.is_zero() && algorithm == Algorithm::LeastOutstandingRequests {
        out.push(issue(
            "AWS does not allow slow start with `least_outstanding_requests`: use \
             `round_robin`, or remove `slow_start`"
                .into(),
            d.span(),
        ));
    }
    out
}

/// A target's slow start: when it began, and the credit its turns have earned.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Ramp {
    since: Option<SimTime>,
    /// Earned credit, in nanoseconds of elapsed slow start (a whole request is the duration).
    credit: u64,
}

impl Ramp {
    /// The target enters slow start at `now`.
    pub fn start(&mut self, now: SimTime) {
        *self = Ramp {
            since: Some(now),
            credit: 0,
        };
    }

    /// The target leaves slow start (unhealthy, deregistered).
    pub fn stop(&mut self) {
        *self = Ramp::default();
    }

    /// True when the target is in a slow start of `duration` at `now`.
    pub fn active(&self, now: SimTime, duration: SimDuration) -> bool {
        self.since.is_some_and(|s| now < s + duration)
    }

    /// A round-robin turn reaches the target at `now`: true if it takes the request (out of
    /// slow start, or its credit reaches a whole request).
    pub fn offer(&mut self, now: SimTime, duration: SimDuration) -> bool {
        let Some(since) = self.since else {
            return true;
        };
        let elapsed = now.saturating_since(since);
        if elapsed >= duration {
            self.stop();
            return true;
        }
        self.credit += elapsed.as_nanos();
        if self.credit >= duration.as_nanos() {
            self.credit -= duration.as_nanos();
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(secs)
    }

    #[test]
    fn a_target_takes_a_turn_in_proportion_to_its_elapsed_share() {
        let d = SimDuration::from_secs(100);
        let mut ramp = Ramp::default();
        assert!(ramp.offer(at(0), d), "not in slow start: takes every turn");
        ramp.start(at(0));
        // At 25 s its weight is 1/4: it takes one turn in four, the fourth.
        let taken: Vec<bool> = (0..8).map(|_| ramp.offer(at(25), d)).collect();
        assert_eq!(
            taken,
            [false, false, false, true, false, false, false, true]
        );
        // At 0 s it earns nothing.
        let mut fresh = Ramp::default();
        fresh.start(at(10));
        assert!(!(0..1000).any(|_| fresh.offer(at(10), d)));
        assert!(fresh.active(at(109), d));
        assert!(!fresh.active(at(110), d));
        // At the end of the duration it leaves slow start and takes every turn.
        assert!(fresh.offer(at(110), d));
        assert!(!fresh.active(at(110), d));
        assert_eq!(fresh, Ramp::default());
    }

    #[test]
    fn bounds_and_least_outstanding_requests_are_refused() {
        let spanned = |s: &str| -> Spanned<SimDuration> {
            #[derive(serde::Deserialize)]
            struct T {
                d: Spanned<SimDuration>,
            }
            toml::from_str::<T>(&format!("d = \"{s}\"")).unwrap().d
        };
        let rr = Algorithm::RoundRobin;
        assert!(issues(Some(&spanned("0s")), rr).is_empty());
        assert!(issues(Some(&spanned("30s")), rr).is_empty());
        assert!(issues(Some(&spanned("15m")), rr).is_empty());
        assert!(
            issues(Some(&spanned("29s")), rr)[0]
                .message
                .contains("30 s to 900 s")
        );
        assert!(
            issues(Some(&spanned("901s")), rr)[0]
                .message
                .contains("30 s to 900 s")
        );
        let lor = issues(Some(&spanned("60s")), Algorithm::LeastOutstandingRequests);
        assert!(
            lor[0].message.contains("least_outstanding_requests"),
            "{lor:?}"
        );
        assert!(issues(Some(&spanned("0s")), Algorithm::LeastOutstandingRequests).is_empty());
    }
}
