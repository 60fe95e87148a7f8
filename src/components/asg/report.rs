//! What a group reports: its scaling activities (`scaling_activities.csv` and the summary),
//! its capacity in the time series, and its figures at the end of the run.

use super::CapacityRow;
use super::outputs::Gauge;
use super::{Asg, Spec, State};
use crate::components::Kind;
use crate::components::burst_credits;
use crate::components::instance_billing::InstanceRate;
use crate::engine::time::SimTime;
use crate::metrics::cost::{Bill, NS_PER_HOUR, usd_per_hour, window_ns};
use crate::metrics::{ComponentReport, Observe, SeriesRow};

/// One scaling activity, for `scaling_activities.csv` and the summary.
#[derive(Clone, Debug, serde::Serialize)]
pub(super) struct Activity {
    time_s: f64,
    activity: &'static str,
    desired_from: u32,
    desired_to: u32,
    reason: String,
}

impl Asg {
    /// Records a scaling activity at `now`: the desired capacity went `from` → `to`, and why.
    pub(super) fn record(
        &mut self,
        now: SimTime,
        activity: &'static str,
        from: u32,
        to: u32,
        reason: String,
    ) {
        self.activities.push(Activity {
            time_s: now.as_secs_f64(),
            activity,
            desired_from: from,
            desired_to: to,
            reason,
        });
    }

    /// Recounts the instances by state after a change (the time series' capacity columns,
    /// the maxima and the billed instance-hours).
    pub(super) fn update_counts(&mut self, now: SimTime) {
        let c = CapacityRow {
            desired: self.desired as u64,
            pending: self.census.pending,
            in_service: self.census.in_service,
            draining: self.census.draining,
        };
        self.counts = c;
        self.desired_max = self.desired_max.max(self.desired);
        self.in_service_max = self.in_service_max.max(c.in_service as u32);
        // Billed while running: in service or draining.
        let running = (c.in_service + c.draining) as f64;
        self.in_service_hours.set(now, self.warmup_end, running);
        self.spend
            .set(now, self.warmup_end, c.pending + c.in_service + c.draining);
        if let Some(r) = &mut self.refresh {
            r.deployment
                .capacity(u64::from(self.census.ready), r.before());
        }
    }
}

/// What the group's bill has accrued, for the time series' spend column: the billed
/// instance-time in the window (every instance not terminated, from its launch), in integer
/// ns so the sum of the intervals is the bill's, and the padding a terminated instance adds
/// (its 60 s minimum, its last second rounded up).
#[derive(Clone, Debug, Default)]
pub(super) struct SpendMeter {
    /// Instances billed now (pending, in service or draining).
    running: u64,
    /// When `running` last changed: `billed_ns` runs up to here.
    since: SimTime,
    /// Instance-ns billed in the window so far.
    billed_ns: u128,
    /// `billed_ns` at the end of the last time-series interval.
    at_last_sample: u128,
    /// End of the last time-series interval.
    last_sample: SimTime,
}

impl SpendMeter {
    fn advance(&mut self, now: SimTime, warmup_end: SimTime) {
        let ns = window_ns(self.since, now, warmup_end);
        self.billed_ns += u128::from(self.running) * u128::from(ns);
        self.since = self.since.max(now);
    }

    /// `running` instances are billed from `now` on.
    fn set(&mut self, now: SimTime, warmup_end: SimTime, running: u64) {
        self.advance(now, warmup_end);
        self.running = running;
    }

    /// The interval ending at `now` as a spend rate at `rate`; starts the next interval.
    fn take_usd_per_hour(&mut self, now: SimTime, warmup_end: SimTime, rate: &InstanceRate) -> f64 {
        self.advance(now, warmup_end);
        let ns = self.billed_ns - self.at_last_sample;
        let usd = ns as f64 / NS_PER_HOUR * rate.usd_per_hour;
        let per_hour = usd_per_hour(usd, self.last_sample, now);
        self.at_last_sample = self.billed_ns;
        self.last_sample = now;
        per_hour
    }
}

impl Asg {
    /// Adds the billed time of instance `id`, terminated at `now`, to the bill (a 60 s minimum
    /// that reaches past the end of the run is billed whole: the launch was in the window).
    pub(super) fn bill_stopped(&mut self, id: u32, now: SimTime) {
        let Some(rate) = &self.rate else {
            return;
        };
        let launched = self.instances[id as usize].launched_at;
        let ns = rate.billed_ns(launched, Some(now), self.warmup_end, SimTime::MAX);
        let ran = window_ns(launched, now, self.warmup_end);
        self.spend.billed_ns += u128::from(ns.saturating_sub(ran));
        self.billed_ns += u128::from(ns);
        self.billed_instances += usize::from(ns > 0);
    }

    /// The group's bill at `end`: the instances terminated so far and those still running.
    fn bill(&self, end: SimTime) -> Option<Bill> {
        let rate = self.rate.as_ref()?;
        let mut ns = self.billed_ns;
        let mut instances = self.billed_instances;
        for inst in self
            .instances
            .iter()
            .filter(|i| i.state != State::Terminated)
        {
            let billed = rate.billed_ns(inst.launched_at, None, self.warmup_end, end);
            ns += u128::from(billed);
            instances += usize::from(billed > 0);
        }
        let bill = rate.group_bill(ns, instances);
        Some(match self.pool.credit_windows(end) {
            Some((model, windows)) => burst_credits::bill_surplus(bill, &model, &windows),
            None => bill,
        })
    }
}

impl Observe for Asg {
    fn kind(&self) -> &'static str {
        Spec::KIND
    }

    fn in_flight(&self) -> u64 {
        self.pool.in_flight()
    }

    fn sample(&mut self, now: SimTime, row: &mut SeriesRow) {
        self.pool.sample(now, row);
        let c = self.counts;
        row.set_gauge(Gauge::Desired as usize, Some(c.desired as f64));
        row.set_gauge(Gauge::Pending as usize, Some(c.pending as f64));
        row.set_gauge(Gauge::InService as usize, Some(c.in_service as f64));
        row.set_gauge(Gauge::Draining as usize, Some(c.draining as f64));
        let spend = self
            .rate
            .as_ref()
            .map(|r| self.spend.take_usd_per_hour(now, self.warmup_end, r));
        row.set_gauge(Gauge::Spend as usize, spend);
        if let Some(credits) = self.pool.credit_gauges(now) {
            for (i, value) in credits.into_iter().enumerate() {
                row.set_gauge(Gauge::Credits as usize + i, value);
            }
        }
    }

    fn report(&self, end: SimTime) -> ComponentReport {
        let hours = self.in_service_hours.window_mean(end, self.warmup_end)
            * end.saturating_since(self.warmup_end).as_secs_f64()
            / 3600.0;
        let mut report = self
            .pool
            .report(Spec::KIND, end)
            .figure("min", self.min)
            .figure("max", self.max)
            .figure("desired_end", self.desired)
            .figure("desired_max", self.desired_max)
            .figure("instances_max", self.in_service_max)
            .figure("instances_launched", self.instances.len())
            .figure("instance_hours", hours)
            .figure("replaced", self.replaced)
            .bill(self.bill(end))
            .figure(
                crate::components::outputs::SCALING_ACTIVITIES,
                &self.activities,
            );
        if let Some((model, windows)) = self.pool.credit_windows(end) {
            let window_s = end.saturating_since(self.warmup_end).as_secs_f64();
            report = report.figure(
                "cpu_credits",
                burst_credits::figures(&model, &windows, window_s),
            );
        }
        if let Some(r) = &self.refresh {
            report = report.figure(
                crate::components::outputs::DEPLOYMENT,
                r.deployment.report(end),
            );
        }
        if let Some(d) = &self.codedeploy {
            report = report.figure(
                crate::components::outputs::DEPLOYMENT,
                d.deployment.report(end),
            );
        }
        let Some(names) = &self.az_names else {
            return report;
        };
        let mut per_az = serde_json::Map::new();
        for &az in &self.azs {
            let n = self
                .instances
                .iter()
                .filter(|i| i.az == az && i.state == State::InService)
                .count();
            per_az.insert(names[az as usize].clone(), n.into());
        }
        report
            .figure("in_service_per_az_end", per_az)
            .figure("rebalanced", self.rebalanced)
    }
}
