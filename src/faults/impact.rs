//! Impact analysis: what each fault did to the answers users got (see the module docs of
//! `crate::faults`, "Impact"), measured from the final answers the workloads copy to the injector.

use serde_json::{Value, json};

use crate::engine::time::{SimDuration, SimTime};
use crate::metrics::{Counts, Latency};

/// Length of a recovery bucket.
const BUCKET: SimDuration = SimDuration::from_secs(10);
/// Normal buckets in a row that make a recovery.
const SUSTAIN: usize = 6;
/// The look-back of the baseline.
const BASELINE: SimDuration = SimDuration::from_secs(60);
/// Buckets tracked per fault (two hours): memory stays bounded however long the run.
const MAX_BUCKETS: usize = 720;
/// Requests sent in the last minute of the run may still be in flight: not judged.
const SETTLE: SimDuration = SimDuration::from_secs(60);
/// Impact window after the last of a list of failure times.
pub(super) const AFTER_LAST_FAILURE: SimDuration = SimDuration::from_secs(60);

/// Answers of one recovery bucket.
#[derive(Copy, Clone, Debug, Default)]
struct Bucket {
    total: u64,
    errors: u64,
    /// Successes slower than the slow threshold.
    slow: u64,
}

/// What the injector measures for one fault: over all workloads, and per workload.
pub(super) struct Impact {
    label: String,
    kind: String,
    subject: String,
    all: Tally,
    /// One per workload, in workload order, with its name.
    workloads: Vec<(String, Tally)>,
}

impl Impact {
    /// The measures of fault `label` (of `kind`, on `subject`: an AZ or a component) over its
    /// impact window `(start, end)`, for all requests and for each of `workloads` (their names,
    /// in workload order).
    pub(super) fn new(
        label: String,
        kind: String,
        subject: String,
        (start, end): (SimTime, SimTime),
        workloads: impl Iterator<Item = String>,
    ) -> Impact {
        Impact {
            label,
            kind,
            subject,
            all: Tally::new(start, end),
            workloads: workloads.map(|w| (w, Tally::new(start, end))).collect(),
        }
    }

    /// A final answer, `ok` or not, at `now` to a request of `workload` created at `created`.
    pub(super) fn record(&mut self, workload: usize, created: SimTime, now: SimTime, ok: bool) {
        self.all.record(created, now, ok);
        if let Some((_, tally)) = self.workloads.get_mut(workload) {
            tally.record(created, now, ok);
        }
    }

    /// This fault's entry of `summary.json` → `faults`, for a run that ended at `run_end`.
    pub(super) fn report(&self, run_end: SimTime) -> Value {
        let mut v = self.all.report(run_end);
        let mut per_workload = serde_json::Map::new();
        for (name, tally) in &self.workloads {
            per_workload.insert(name.clone(), tally.report(run_end));
        }
        let mut out = serde_json::Map::new();
        out.insert("name".into(), self.label.clone().into());
        out.insert("kind".into(), self.kind.clone().into());
        out.insert("subject".into(), self.subject.clone().into());
        if let Value::Object(m) = &mut v {
            out.append(m);
        }
        if self.workloads.len() > 1 {
            out.insert("workloads".into(), Value::Object(per_workload));
        }
        Value::Object(out)
    }
}

/// The impact of one fault on one set of requests (all, or one workload's).
struct Tally {
    start: SimTime,
    /// End of the impact window.
    end: SimTime,
    baseline: Counts,
    baseline_latency: Latency,
    /// 1.5 × the baseline p99, fixed at the first answer after the start.
    slow_threshold: Option<SimDuration>,
    during: Counts,
    during_latency: Latency,
    buckets: Vec<Bucket>,
}

impl Tally {
    fn new(start: SimTime, end: SimTime) -> Tally {
        Tally {
            start,
            end,
            baseline: Counts::default(),
            baseline_latency: Latency::new(3),
            slow_threshold: None,
            during: Counts::default(),
            during_latency: Latency::new(3),
            buckets: Vec::new(),
        }
    }

    fn record(&mut self, created: SimTime, now: SimTime, ok: bool) {
        let latency = now - created;
        if now < self.start {
            if now + BASELINE >= self.start {
                count(&mut self.baseline, &mut self.baseline_latency, ok, latency);
            }
            return;
        }
        if created < self.start {
            return;
        }
        if created < self.end {
            count(&mut self.during, &mut self.during_latency, ok, latency);
        }
        let threshold = *self.slow_threshold.get_or_insert_with(|| {
            let p99 = self.baseline_latency.quantile_ms(0.99);
            SimDuration::from_secs_f64(p99 * 1.5 / 1e3)
        });
        let index = ((created - self.start).as_nanos() / BUCKET.as_nanos()) as usize;
        if index >= MAX_BUCKETS {
            return;
        }
        if self.buckets.len() <= index {
            self.buckets.resize(index + 1, Bucket::default());
        }
        let b = &mut self.buckets[index];
        b.total += 1;
        if !ok {
            b.errors += 1;
        } else if self.baseline.completed > 0 && latency > threshold {
            b.slow += 1;
        }
    }

    fn baseline_error_rate(&self) -> f64 {
        rate(self.baseline.failed, self.baseline.created)
    }

    /// When the system recovered (see the module docs), if it did before `run_end`.
    fn recovered_at(&self, run_end: SimTime) -> Option<SimTime> {
        let allowed = self.baseline_error_rate() + 0.01;
        let mut streak_start = None;
        let mut streak = 0;
        for k in 0..MAX_BUCKETS {
            let bucket_start = self.start + BUCKET.mul_f64(k as f64);
            if bucket_start + BUCKET + SETTLE > run_end {
                break;
            }
            let b = self.buckets.get(k).copied().unwrap_or_default();
            let normal =
                b.total > 0 && rate(b.errors, b.total) <= allowed && rate(b.slow, b.total) <= 0.01;
            if normal {
                streak_start.get_or_insert(bucket_start);
                streak += 1;
                if streak >= SUSTAIN {
                    return streak_start;
                }
            } else {
                streak_start = None;
                streak = 0;
            }
        }
        None
    }

    fn report(&self, run_end: SimTime) -> Value {
        let recovered = self.recovered_at(run_end);
        let during = self.during_latency.summary();
        json!({
            "start_s": self.start.as_secs_f64(),
            "end_s": self.end.as_secs_f64(),
            "baseline": {
                "requests": self.baseline.created,
                "errors": self.baseline.failed,
                "error_rate": self.baseline_error_rate(),
                "p99_ms": self.baseline_latency.quantile_ms(0.99),
            },
            "during": {
                "requests": self.during.created,
                "errors": self.during.failed,
                "error_rate": rate(self.during.failed, self.during.created),
                "p99_ms": during.p99,
                "latency_ms": during,
            },
            "recovered_at_s": recovered.map(SimTime::as_secs_f64),
            "recovery_s": recovered.map(|t| t.saturating_since(self.start).as_secs_f64()),
        })
    }
}

/// Counts one answer, `ok` or not, in `counts`, and a success's `latency` in `latencies`.
fn count(counts: &mut Counts, latencies: &mut Latency, ok: bool, latency: SimDuration) {
    counts.created += 1;
    if ok {
        counts.completed += 1;
        latencies.record(latency);
    } else {
        counts.failed += 1;
    }
}

fn rate(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs_f64(s)
    }

    /// A tally of a fault from 100 s to 200 s, fed one request every 100 ms from 0 to `until`
    /// seconds; `bad(t)` says whether the request sent at `t` fails.
    fn tally(until: f64, bad: impl Fn(f64) -> bool) -> Tally {
        let mut t = Tally::new(secs(100.0), secs(200.0));
        let mut sent = 0.0;
        while sent < until {
            // 10 ms each, or a failure after 60 s (an ALB's 504).
            let (ok, took) = if bad(sent) {
                (false, 60.0)
            } else {
                (true, 0.01)
            };
            t.record(secs(sent), secs(sent + took), ok);
            sent += 0.1;
        }
        t
    }

    #[test]
    fn recovery_starts_with_six_normal_buckets_in_a_row() {
        // Requests sent from 100 s to 125 s fail (their answers come a minute later).
        let t = tally(400.0, |s| (100.0..125.0).contains(&s));
        assert_eq!(t.recovered_at(secs(400.0)), Some(secs(130.0)));
        // A few failures (3 %) late in a streak restart it.
        let t = tally(400.0, |s| {
            (100.0..125.0).contains(&s) || (150.0..150.25).contains(&s)
        });
        assert_eq!(t.recovered_at(secs(400.0)), Some(secs(160.0)));
        // Never disturbed: recovered at once.
        let t = tally(400.0, |_| false);
        assert_eq!(t.recovered_at(secs(400.0)), Some(secs(100.0)));
        // Not enough judged buckets before the end (the last minute is not judged).
        let t = tally(400.0, |s| (100.0..125.0).contains(&s));
        assert_eq!(t.recovered_at(secs(180.0)), None);
    }

    #[test]
    fn slow_answers_count_against_recovery() {
        let mut t = Tally::new(secs(100.0), secs(200.0));
        let mut sent = 0.0;
        while sent < 400.0 {
            // 10 ms normally; 20 ms (over 1.5 x the baseline p99) for requests sent in the
            // first 40 s of the fault.
            let took = if (100.0..140.0).contains(&sent) {
                0.02
            } else {
                0.01
            };
            t.record(secs(sent), secs(sent + took), true);
            sent += 0.1;
        }
        assert_eq!(t.recovered_at(secs(400.0)), Some(secs(140.0)));
        assert_eq!(t.during.created, 1000);
        assert_eq!(t.baseline.created, 600);
    }
}
