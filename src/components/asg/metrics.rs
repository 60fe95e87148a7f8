//! The group's CloudWatch-style metrics: at the end of each `metric_period`, one datapoint of
//! `cpu_utilization`, `request_count_per_target` and `backlog_per_instance` goes to every
//! policy's aggregator, and the policies are evaluated once it is visible.

use std::collections::VecDeque;

use super::policy::MetricName;
use super::{Asg, AsgTimer, State};
use crate::engine::time::{SimDuration, SimTime};
use crate::message::Ctx;
use crate::message::{Control, Msg};
use crate::metrics::cloudwatch::Datapoint;

/// How many instances the datapoints of one metric period were measured on.
#[derive(Copy, Clone, Debug)]
pub(super) struct PeriodBase {
    period_end: SimTime,
    /// Warm in-service instances (CPU is averaged over them).
    warm: u32,
    /// In-service instances (requests and backlog are divided by them).
    in_service: u32,
}

/// The instance count a metric's datapoint ending at `period_end` was measured on.
pub(super) fn base_of(
    bases: &VecDeque<PeriodBase>,
    period_end: SimTime,
    metric: MetricName,
) -> u32 {
    // An alarm period may span several metric periods: take the last of them.
    let b = bases
        .iter()
        .rev()
        .find(|b| b.period_end <= period_end)
        .copied();
    match (b, metric) {
        (Some(b), MetricName::CpuUtilization) => b.warm,
        (Some(b), _) => b.in_service,
        (None, _) => 0,
    }
}

/// True when the newest datapoint's period began at or after `since` (it measured the capacity
/// in force now, not one that has since changed).
pub(super) fn fresh_after(visible: &[Datapoint], period: SimDuration, since: SimTime) -> bool {
    visible.last().is_some_and(|d| {
        d.period_end.as_nanos() >= period.as_nanos()
            && SimTime(d.period_end.as_nanos() - period.as_nanos()) >= since
    })
}

impl Asg {
    /// In-service instances past their warm-up: the capacity policies scale from.
    pub(super) fn warm(&self, now: SimTime) -> Vec<u32> {
        self.instances
            .iter()
            .filter(|i| i.state == State::InService && !i.failed && now >= i.warm_from)
            .filter_map(|i| i.pool_index)
            .collect()
    }

    /// True while an instance is pending or warming up.
    pub(super) fn warming(&self, now: SimTime) -> bool {
        self.instances.iter().any(|i| {
            matches!(i.state, State::Pending) || (i.state == State::InService && now < i.warm_from)
        })
    }

    /// A metric period ends now: ask the consumed queues for their depth, and close the
    /// period a nanosecond later, once their answers (sent at this same instant) are in.
    pub(super) fn on_metric_period(&mut self, cx: &mut Ctx<'_>) {
        self.backlog = 0;
        let me = cx.me();
        for &q in &self.queues {
            cx.send(q, Msg::Control(Control::QueryDepth { from: me }));
        }
        cx.set_timer(self.metric_period, AsgTimer::MetricPeriod(0));
        cx.set_timer(SimDuration::from_nanos(1), AsgTimer::MetricClose(0));
    }

    /// Closes the metric period that ended a nanosecond ago: one datapoint per metric into
    /// every policy's aggregator.
    pub(super) fn on_metric_close(&mut self, cx: &mut Ctx<'_>) {
        let now = SimTime(cx.now().as_nanos() - 1);
        let warm = self.warm(now);
        // Every in-service instance's CPU measurement restarts now; only the warm ones count.
        let mut cpu = Vec::with_capacity(warm.len());
        for i in 0..self.instances.len() {
            let inst = &self.instances[i];
            if let (State::InService, Some(p)) = (inst.state, inst.pool_index) {
                let u = self.pool.take_cpu_utilisation(p, now) * 100.0;
                // One of `warm` (the same test, instance by instance in the same order).
                if !inst.failed && now >= inst.warm_from {
                    cpu.push(u);
                }
            }
        }
        // Requests and backlog are per instance in service (warm or not: all of them take
        // requests and poll); CPU is averaged over the warm ones only.
        let in_service = self.census.serving();
        let per_instance = |count: u64| (in_service > 0).then(|| count as f64 / in_service as f64);
        let per_target = per_instance(self.routed_requests);
        let backlog = per_instance(self.backlog);
        self.routed_requests = 0;
        // Remember how many instances each datapoint was measured on: a policy scales from
        // that, not from the capacity at evaluation time.
        self.period_bases.push_back(PeriodBase {
            period_end: now,
            warm: warm.len() as u32,
            in_service,
        });
        while self.period_bases.len() > 64 {
            self.period_bases.pop_front();
        }
        for policy in &mut self.policies {
            let values: Vec<f64> = match policy.metric() {
                MetricName::CpuUtilization => cpu.clone(),
                MetricName::RequestCountPerTarget => per_target.into_iter().collect(),
                MetricName::BacklogPerInstance => backlog.into_iter().collect(),
            };
            // Observations are stamped just inside the period that ends now.
            let at = SimTime(now.as_nanos().saturating_sub(1));
            for &v in &values {
                policy.aggregator().record(at, v);
            }
            policy.aggregator().close_until(now);
        }
        // Evaluate when the datapoint becomes visible: `delay` after the period's end, which
        // was a nanosecond ago.
        cx.set_timer(
            SimDuration::from_nanos(self.delay.as_nanos().saturating_sub(1)),
            AsgTimer::Evaluate(0),
        );
    }
}
