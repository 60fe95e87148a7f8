//! Metrics every component keeps the same way: request counts, latency histograms, and the
//! per-interval figures that become time series.
//!
//! Memory stays flat however long the run: no per-request record outlives its request. Latencies
//! go into HDR histograms (microsecond resolution, 3 significant figures for the run, 2 for each
//! time-series interval) and the mean comes from an exact sum, so it does not suffer from
//! histogram bucketing.
//!
//! # Counting windows
//! Statistics cover the measured window: a request counts when it *arrives* at or after the end
//! of the warm-up, and its outcome is counted with it whenever it ends. That cohort rule makes
//! `created = completed + failed + throttled + timed_out + dropped + in_flight` hold exactly for
//! the window too. A second set of counts covers the whole run; the end-of-run conservation
//! check compares it with the requests actually held inside the component.

pub mod cloudwatch;
pub mod conservation;
pub mod cost;
pub mod finding;
pub mod plot;
pub mod series;
mod time_weighted;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::engine::Component;
use crate::engine::time::{SimDuration, SimTime};
use crate::message::{Msg, Outcome};

/// What a run reads of a component besides its events: its kind, the requests inside it, its
/// time-series rows and its end-of-run report. The run loop (`crate::run`) calls it; the engine
/// never does.
pub trait Observe: Component<Msg> {
    /// The scenario `kind` of this component (or `"workload"`).
    fn kind(&self) -> &'static str;

    /// Requests inside this component right now (received and not yet answered).
    fn in_flight(&self) -> u64;

    /// Fills one time-series row for the interval that ends at `now`, and starts a new interval.
    fn sample(&mut self, now: SimTime, row: &mut SeriesRow);

    /// The component's figures at the end of the run (counts, latency, model figures).
    fn report(&self, end: SimTime) -> ComponentReport;

    /// False for a component that serves no request (the fault injector): it has no
    /// time-series rows.
    fn has_series(&self) -> bool {
        true
    }
}

/// Receives the time-series rows of a run as they are produced (so memory stays flat).
pub trait SeriesSink {
    /// One row: the interval ending at `time`, for component `name`.
    fn row(&mut self, time: SimTime, name: &str, kind: &str, row: &SeriesRow);

    /// False when rows are discarded: the run then skips sampling altogether.
    fn wants_rows(&self) -> bool {
        true
    }
}

/// A sink that discards rows (tests, sweeps).
pub struct NoSeries;

impl SeriesSink for NoSeries {
    fn row(&mut self, _time: SimTime, _name: &str, _kind: &str, _row: &SeriesRow) {}

    fn wants_rows(&self) -> bool {
        false
    }
}
pub use time_weighted::TimeWeighted;

/// Request counts. `in_flight` is derived, never counted.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Requests that arrived (created, for a workload).
    pub created: u64,
    /// Answered successfully.
    pub completed: u64,
    /// Answered with an error (HTTP 5xx-like).
    pub failed: u64,
    /// Refused by a rate or concurrency limit.
    pub throttled: u64,
    /// Not answered in time.
    pub timed_out: u64,
    /// Lost without an answer (e.g. expired in a queue).
    pub dropped: u64,
}

impl Counts {
    /// Requests that ended, whatever the outcome.
    pub fn finished(&self) -> u64 {
        self.completed + self.failed + self.throttled + self.timed_out + self.dropped
    }

    #[inline]
    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Ok => self.completed += 1,
            Outcome::Throttled => self.throttled += 1,
            Outcome::Error(_) => self.failed += 1,
            Outcome::Timeout => self.timed_out += 1,
        }
    }
}

/// The counts as summary.json shows them, with `in_flight`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RequestCounts {
    /// Requests that arrived in the window.
    pub created: u64,
    /// Of those, answered successfully.
    pub completed: u64,
    /// Answered with an error.
    pub failed: u64,
    /// Refused by a limit.
    pub throttled: u64,
    /// Not answered in time.
    pub timed_out: u64,
    /// Lost without an answer.
    pub dropped: u64,
    /// Still inside when the run ended.
    pub in_flight: u64,
}

impl From<Counts> for RequestCounts {
    fn from(c: Counts) -> Self {
        RequestCounts {
            created: c.created,
            completed: c.completed,
            failed: c.failed,
            throttled: c.throttled,
            timed_out: c.timed_out,
            dropped: c.dropped,
            in_flight: c.created - c.finished(),
        }
    }
}

/// Latency percentiles in milliseconds, as summary.json shows them.
#[derive(Copy, Clone, Debug, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Number of samples.
    pub count: u64,
    /// Exact mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest sample.
    pub max: f64,
}

/// Highest latency a histogram records exactly (one day, in microseconds); longer ones saturate.
const HIGHEST_MICROS: u64 = 86_400 * 1_000_000;

/// The largest value a histogram bounded at [`HIGHEST_MICROS`] with `sigfig` significant
/// figures records as it is (its top bucket reaches past the bound); larger ones saturate to
/// `HIGHEST_MICROS`. Found once, by asking such a histogram.
fn top_recorded_micros(sigfig: u8) -> u64 {
    static TOPS: [std::sync::OnceLock<u64>; 6] = [const { std::sync::OnceLock::new() }; 6];
    *TOPS[sigfig as usize].get_or_init(|| {
        let Ok(mut bounded) = Histogram::<u64>::new_with_bounds(1, HIGHEST_MICROS, sigfig) else {
            return HIGHEST_MICROS;
        };
        // The largest value it takes without saturating lies between the bound and the largest
        // any histogram takes.
        let (mut ok, mut too_big) = (HIGHEST_MICROS, u64::MAX / 2 + 1);
        while too_big - ok > 1 {
            let mid = ok + (too_big - ok) / 2;
            if bounded.record(mid).is_ok() {
                ok = mid;
            } else {
                too_big = mid;
            }
        }
        ok
    })
}

/// Samples a [`Latency`] keeps as they are before its histogram takes over.
const FEW: usize = 128;

/// Counts of values (microseconds) in the buckets of an HDR histogram whose lowest
/// discernible value is 1: the buckets of `hdrhistogram::Histogram::new(sigfig)`, index for
/// index, so every percentile read from it is the one that histogram gives (a test compares
/// them on thousands of values).
///
/// Recording is an index computation and an increment. `hdrhistogram`'s own `record` also
/// keeps a minimum and a maximum and checks its range on every sample, about 70 instructions
/// where this takes about 15; five latency distributions take a sample per request in an
/// M/M/c run.
#[derive(Clone, Debug)]
struct HdrCounts {
    /// Count per bucket index, grown (a whole bucket at a time) to the largest index recorded.
    counts: Vec<u64>,
    /// Samples counted.
    total: u64,
    /// One past the highest index that may be non-zero: what `reset` must clear.
    used: usize,
    /// log2 of the sub-buckets in one half bucket (10 at 3 significant figures, 7 at 2).
    half_magnitude: u32,
    /// `sub_bucket_count - 1`: values under it fall in bucket 0.
    mask: u64,
    /// 64 minus log2 of the sub-bucket count.
    zero_base: u32,
}

impl HdrCounts {
    /// Empty counts with the bucket layout of `Histogram::new(sigfig)`, computed as that
    /// histogram computes it.
    fn new(sigfig: u8) -> Self {
        let largest = 2 * 10_u32.pow(u32::from(sigfig));
        let count_magnitude = f64::from(largest).log2().ceil() as u32;
        HdrCounts {
            counts: Vec::new(),
            total: 0,
            used: 0,
            half_magnitude: count_magnitude - 1,
            mask: (1u64 << count_magnitude) - 1,
            zero_base: 64 - count_magnitude,
        }
    }

    /// The bucket of `value` (how many powers of two it is above bucket 0's range).
    #[inline]
    fn bucket(&self, value: u64) -> u32 {
        self.zero_base - (value | self.mask).leading_zeros()
    }

    /// The counts index of `value`.
    #[inline]
    fn index(&self, value: u64) -> usize {
        let bucket = self.bucket(value);
        let sub_bucket = (value >> bucket) as usize;
        ((bucket as usize + 1) << self.half_magnitude) + sub_bucket - (1 << self.half_magnitude)
    }

    /// The lowest value counted at `index`.
    fn value_for(&self, index: usize) -> u64 {
        let half = 1usize << self.half_magnitude;
        let bucket = (index >> self.half_magnitude) as isize - 1;
        let sub_bucket = (index & (half - 1)) + half;
        if bucket < 0 {
            (sub_bucket - half) as u64
        } else {
            (sub_bucket as u64) << bucket
        }
    }

    /// The lowest value counted with `value`.
    fn lowest_equivalent(&self, value: u64) -> u64 {
        let bucket = self.bucket(value);
        (value >> bucket) << bucket
    }

    /// The highest value counted with `value`.
    fn highest_equivalent(&self, value: u64) -> u64 {
        if value == u64::MAX {
            return u64::MAX;
        }
        let range = 1u64 << self.bucket(value);
        self.lowest_equivalent(value).saturating_add(range) - 1
    }

    #[inline]
    fn record(&mut self, value: u64) {
        let index = self.index(value);
        if index >= self.counts.len() {
            self.grow(value);
        }
        self.counts[index] += 1;
        self.total += 1;
        self.used = self.used.max(index + 1);
    }

    /// Makes room for `value`'s whole bucket.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, value: u64) {
        let end = ((self.bucket(value) as usize) + 2) << self.half_magnitude;
        self.counts.resize(end, 0);
    }

    /// The value at 1-based `rank` in order, as the highest value of its bucket, for each of
    /// `ranks` (ascending); `lowest` reads the lowest value of the bucket instead.
    fn at_ranks<const N: usize>(&self, ranks: [u64; N], lowest: [bool; N]) -> [u64; N] {
        let mut out = [0; N];
        let mut next = 0;
        let mut seen = 0u64;
        for (index, &count) in self.counts[..self.used].iter().enumerate() {
            if count == 0 {
                continue;
            }
            seen += count;
            while next < N && seen >= ranks[next] {
                let value = self.value_for(index);
                out[next] = if lowest[next] {
                    self.lowest_equivalent(value)
                } else {
                    self.highest_equivalent(value)
                };
                next += 1;
            }
            if next == N {
                break;
            }
        }
        out
    }

    fn reset(&mut self) {
        self.counts[..self.used].fill(0);
        self.used = 0;
        self.total = 0;
    }
}

/// A latency distribution: HDR histogram counts in microseconds plus an exact sum for the
/// mean.
///
/// The histogram grows with the largest latency it has seen, rather than being allocated for
/// a day of latency up front (220 KB per histogram at 3 significant figures: 2 000 workloads
/// took 500 MB before running). It records exactly what the day-bounded histogram did, so
/// every percentile is the same.
///
/// The first [`FEW`] samples are kept in a short list and go into the histogram only when
/// there are more: a time-series interval usually holds a few dozen requests, and reading
/// percentiles from them sorted, then emptying the list, costs a fraction of walking and
/// zeroing a histogram's buckets every interval (a quarter of an M/M/8 run at a 1 s interval).
/// Percentiles read from the list are the histogram's: each sample is reported as the highest
/// value of its bucket.
#[derive(Clone, Debug)]
pub struct Latency {
    histogram: HdrCounts,
    /// The samples (in microseconds, as the histogram records them) while there are at most
    /// [`FEW`] and the histogram is empty.
    few: Vec<u64>,
    /// See [`top_recorded_micros`].
    top_micros: u64,
    sum_nanos: u128,
    max_nanos: u64,
}

impl Latency {
    /// An empty distribution with `sigfig` significant figures (2 or 3).
    pub fn new(sigfig: u8) -> Self {
        Latency {
            histogram: HdrCounts::new(sigfig),
            few: Vec::new(),
            top_micros: top_recorded_micros(sigfig),
            sum_nanos: 0,
            max_nanos: 0,
        }
    }

    /// Adds one sample.
    #[inline]
    pub fn record(&mut self, latency: SimDuration) {
        let nanos = latency.as_nanos();
        let micros = nanos / 1_000;
        let micros = if micros > self.top_micros {
            HIGHEST_MICROS
        } else {
            micros
        };
        if self.histogram.total == 0 && self.few.len() < FEW {
            self.few.push(micros);
        } else {
            self.record_counted(micros);
        }
        self.sum_nanos += nanos as u128;
        self.max_nanos = self.max_nanos.max(nanos);
    }

    /// Counts `micros` in the histogram, with the first samples if they are still apart.
    #[inline]
    fn record_counted(&mut self, micros: u64) {
        if !self.few.is_empty() {
            for micros in self.few.drain(..) {
                self.histogram.record(micros);
            }
        }
        self.histogram.record(micros);
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.histogram.total + self.few.len() as u64
    }

    /// Exact mean in seconds (0 when empty).
    pub fn mean_secs(&self) -> f64 {
        if self.count() == 0 {
            return 0.0;
        }
        self.sum_nanos as f64 / self.count() as f64 / 1e9
    }

    /// The `q` quantile (0..=1) in milliseconds (0 when empty).
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if !self.few.is_empty() {
            return self.quantiles_ms([q])[0];
        }
        if self.count() == 0 {
            return 0.0;
        }
        // hdrhistogram's value_at_quantile: the rank rounded up, at least the first sample,
        // the lowest value of its bucket for the 0 quantile.
        let q = if q > 1.0 { 1.0 } else { q };
        let rank = ((q * self.count() as f64).ceil() as u64).max(1);
        let [value] = self.histogram.at_ranks([rank], [q == 0.0]);
        // The exact maximum is known; the histogram's top bucket would overstate it.
        let value_ms = value as f64 / 1_000.0;
        value_ms.min(self.max_nanos as f64 / 1e6)
    }

    /// Several quantiles (ascending) in milliseconds, in one pass over the histogram: the same
    /// values as [`Latency::quantile_ms`] for each, at a third of the cost for three.
    pub fn quantiles_ms<const N: usize>(&self, qs: [f64; N]) -> [f64; N] {
        debug_assert!(qs.is_sorted(), "quantiles in ascending order");
        let mut out = [0.0; N];
        let total = self.count();
        if total == 0 {
            return out;
        }
        let max_ms = self.max_nanos as f64 / 1e6;
        // The same rank rule as hdrhistogram's value_at_quantile.
        let rank = |q: f64| ((q * total as f64).ceil() as u64).clamp(1, total);
        if !self.few.is_empty() {
            let mut values = [0u64; FEW];
            let values = &mut values[..self.few.len()];
            values.copy_from_slice(&self.few);
            // The value of each rank, as a sort would place it, found by selection: the
            // ranks ascend, so each search only looks right of the one before. Half the cost
            // of sorting a second's few dozen samples, on every row of the time series.
            let mut from = 0;
            for (out, q) in out.iter_mut().zip(qs) {
                let at = rank(q) as usize - 1;
                let value = if at + 1 == from {
                    // The same rank as the quantile before.
                    values[at]
                } else {
                    let (_, nth, _) = values[from..].select_nth_unstable(at - from);
                    let nth = *nth;
                    from = at + 1;
                    nth
                };
                let value = self.histogram.highest_equivalent(value);
                *out = (value as f64 / 1_000.0).min(max_ms);
            }
            return out;
        }
        let values = self.histogram.at_ranks(qs.map(rank), [false; N]);
        for (out, value) in out.iter_mut().zip(values) {
            *out = (value as f64 / 1_000.0).min(max_ms);
        }
        out
    }

    /// Percentiles as summary.json shows them.
    pub fn summary(&self) -> LatencySummary {
        let [p50, p90, p99, p999] = self.quantiles_ms([0.5, 0.9, 0.99, 0.999]);
        LatencySummary {
            count: self.count(),
            mean: self.mean_secs() * 1e3,
            p50,
            p90,
            p99,
            p999,
            max: self.max_nanos as f64 / 1e6,
        }
    }

    /// Empties the distribution, keeping its allocation.
    pub fn reset(&mut self) {
        self.histogram.reset();
        self.few.clear();
        self.sum_nanos = 0;
        self.max_nanos = 0;
    }
}

/// One time-series row: what happened at one component during one interval. The request
/// columns every component has, then the columns its kind declares (`gauges`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeriesRow {
    /// Requests that arrived in the interval.
    pub arrivals: u64,
    /// Requests answered successfully in the interval.
    pub completions: u64,
    /// Requests that failed in the interval (errors, drops).
    pub errors: u64,
    /// Requests throttled in the interval.
    pub throttles: u64,
    /// Requests that timed out in the interval.
    pub timeouts: u64,
    /// Requests inside the component at the end of the interval.
    pub in_flight: u64,
    /// Requests (or messages) waiting in the component's queues at the end of the interval, if
    /// it queues.
    pub queue_length: Option<u64>,
    /// p50, p90, p99 latency (ms) of the requests completed in the interval, if any.
    pub latency_ms: Option<[f64; 3]>,
    /// Busy share of the component's servers over the interval (0..=1), if it has servers.
    pub utilisation: Option<f64>,
    /// The kind's own columns, in the order its kind declares them
    /// (`crate::components::outputs::Outputs::COLUMNS`); `None` is an empty field.
    pub gauges: [Option<f64>; MAX_COLUMNS],
}

/// The most time-series columns of its own a kind may declare.
pub const MAX_COLUMNS: usize = 8;

/// The columns every component's rows have, in `timeseries.csv` order (after `time_s`,
/// `name` and `kind`); a kind's own columns follow.
pub const REQUEST_COLUMNS: &[&str] = &[
    "arrivals",
    "completions",
    "errors",
    "throttles",
    "timeouts",
    "in_flight",
    "queue_length",
    "utilisation",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
];

/// A time-series column a kind declares.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// Its name in `timeseries.csv`.
    pub name: &'static str,
    /// What it measures, with its unit.
    pub description: &'static str,
}

impl SeriesRow {
    /// Sets the kind's own column number `index` (its position in the kind's columns).
    pub fn set_gauge(&mut self, index: usize, value: Option<f64>) {
        self.gauges[index] = value;
    }
}

/// The request metrics of one component (or workload): windowed and whole-run counts, the
/// latency of successful requests in the window, and the current interval's figures.
#[derive(Clone, Debug)]
pub struct RequestMetrics {
    warmup_end: SimTime,
    /// Whole-run counts (for the conservation check).
    pub total: Counts,
    /// Counts of the requests that arrived in the measured window.
    pub window: Counts,
    /// Latency of the window's successful requests.
    pub latency: Latency,
    interval: Counts,
    interval_latency: Latency,
}

impl RequestMetrics {
    /// Metrics that count from `warmup_end` on.
    pub fn new(warmup_end: SimTime) -> Self {
        RequestMetrics {
            warmup_end,
            total: Counts::default(),
            window: Counts::default(),
            latency: Latency::new(3),
            interval: Counts::default(),
            interval_latency: Latency::new(2),
        }
    }

    /// The end of the warm-up.
    pub fn warmup_end(&self) -> SimTime {
        self.warmup_end
    }

    /// True when a request that arrived at `arrived` belongs to the measured window.
    #[inline]
    pub fn in_window(&self, arrived: SimTime) -> bool {
        arrived >= self.warmup_end
    }

    /// A request arrived at `now`.
    #[inline]
    pub fn arrived(&mut self, now: SimTime) {
        self.total.created += 1;
        self.interval.created += 1;
        if self.in_window(now) {
            self.window.created += 1;
        }
    }

    /// A request that arrived at `arrived` ended at `now` with `outcome`.
    #[inline]
    pub fn finished(&mut self, arrived: SimTime, now: SimTime, outcome: Outcome) {
        self.total.count(outcome);
        self.interval.count(outcome);
        let latency = now - arrived;
        if outcome.is_ok() {
            self.interval_latency.record(latency);
        }
        if self.in_window(arrived) {
            self.window.count(outcome);
            if outcome.is_ok() {
                self.latency.record(latency);
            }
        }
    }

    /// A request that arrived at `arrived` was lost without an answer.
    pub fn dropped(&mut self, arrived: SimTime) {
        self.total.dropped += 1;
        self.interval.dropped += 1;
        if self.in_window(arrived) {
            self.window.dropped += 1;
        }
    }

    /// Fills the request part of a time-series row and starts a new interval.
    pub fn sample(&mut self, in_flight: u64, row: &mut SeriesRow) {
        row.arrivals = self.interval.created;
        row.completions = self.interval.completed;
        row.errors = self.interval.failed + self.interval.dropped;
        row.throttles = self.interval.throttled;
        row.timeouts = self.interval.timed_out;
        row.in_flight = in_flight;
        if self.interval_latency.count() > 0 {
            row.latency_ms = Some(self.interval_latency.quantiles_ms([0.5, 0.9, 0.99]));
        }
        self.interval = Counts::default();
        self.interval_latency.reset();
    }

    /// The common part of a component's end-of-run report.
    pub fn report(&self, kind: &'static str, in_flight: u64) -> ComponentReport {
        ComponentReport {
            kind,
            requests: self.window.into(),
            latency_ms: self.latency.summary(),
            total: self.total,
            in_flight_now: in_flight,
            figures: serde_json::Map::new(),
            ledgers: Vec::new(),
            bill: None,
        }
    }
}

/// What a component reports at the end of a run.
#[derive(Clone, Debug)]
pub struct ComponentReport {
    /// Scenario kind.
    pub kind: &'static str,
    /// Window counts.
    pub requests: RequestCounts,
    /// Window latency of successful requests.
    pub latency_ms: LatencySummary,
    /// Whole-run counts, for the conservation check.
    pub total: Counts,
    /// Requests actually held inside the component at the end.
    pub in_flight_now: u64,
    /// Model figures (`utilisation`, `imbalance`...), shown beside the common ones.
    pub figures: serde_json::Map<String, serde_json::Value>,
    /// Other units of work the component must account for (asynchronous events, messages),
    /// checked by the conservation check like requests.
    pub ledgers: Vec<Ledger>,
    /// What it costs in the measured window; `None` for a component awsim does not bill (it is
    /// listed as not billed, so a total never omits it silently).
    pub bill: Option<cost::Bill>,
}

/// A conservation ledger for units of work other than requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ledger {
    /// What is counted (`"async events"`, `"messages"`).
    pub name: &'static str,
    /// Units that entered over the whole run.
    pub created: u64,
    /// Units that ended over the whole run, whatever the outcome.
    pub finished: u64,
    /// Units inside at the end.
    pub inside: u64,
}

impl ComponentReport {
    /// Adds a model figure.
    pub fn figure(mut self, name: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).expect("figures are plain data");
        self.figures.insert(name.to_string(), value);
        self
    }

    /// Sets its bill.
    pub fn bill(mut self, bill: Option<cost::Bill>) -> Self {
        self.bill = bill;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_counts_follow_the_cohort_of_arrival() {
        let warm = SimTime(1_000);
        let mut m = RequestMetrics::new(warm);
        m.arrived(SimTime(500)); // before warm-up
        m.arrived(SimTime(1_500));
        m.finished(SimTime(500), SimTime(2_000), Outcome::Ok);
        assert_eq!(m.total.created, 2);
        assert_eq!(m.window.created, 1);
        assert_eq!(
            m.window.completed, 0,
            "the pre-warm-up request is not in the window"
        );
        let counts: RequestCounts = m.window.into();
        assert_eq!(counts.in_flight, 1);
        m.finished(SimTime(1_500), SimTime(3_000), Outcome::Throttled);
        assert_eq!(m.window.throttled, 1);
        assert_eq!(
            m.latency.count(),
            0,
            "throttled requests have no latency sample"
        );
    }

    #[test]
    fn growing_histograms_record_what_day_bounded_ones_did() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for sigfig in [2, 3] {
            let mut grown = Latency::new(sigfig);
            let mut bounded = Histogram::<u64>::new_with_bounds(1, HIGHEST_MICROS, sigfig).unwrap();
            let top = top_recorded_micros(sigfig);
            assert!(top > HIGHEST_MICROS);
            // Short, long, past a day, at and past the top of the bounded histogram's range.
            let mut micros: Vec<u64> = (0..5_000)
                .map(|_| 10f64.powf(rng.random_range(0.0..11.5)) as u64)
                .collect();
            micros.extend([0, 1, HIGHEST_MICROS, top, top + 1, u64::MAX / 4_000]);
            // What the histogram-backed Latency reported: each quantile's bucket read as
            // its highest value (lowest for the 0 quantile), capped at the exact maximum.
            let reference = |bounded: &Histogram<u64>, max_nanos: u64, q: f64| {
                let max_ms = max_nanos as f64 / 1e6;
                (bounded.value_at_quantile(q) as f64 / 1_000.0).min(max_ms)
            };
            for (i, &us) in micros.iter().enumerate() {
                grown.record(SimDuration::from_micros(us));
                bounded.saturating_record(us);
                if i % 250 != 0 && i < 5_000 && !(FEW - 2..FEW + 2).contains(&i) && i > 20 {
                    continue;
                }
                // The one-pass quantiles agree all along, read from the first samples as they
                // are or from the counts.
                assert_eq!(grown.count(), bounded.len());
                let qs = [0.001, 0.1, 0.5, 0.9, 0.99, 1.0];
                let expected = qs.map(|q| reference(&bounded, grown.max_nanos, q));
                assert_eq!(grown.quantiles_ms(qs), expected, "i = {i}");
                for (q, expected) in qs.into_iter().zip(expected) {
                    assert_eq!(grown.quantile_ms(q), expected, "i = {i}");
                }
            }
            for q in [0.0, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0, 1.5, -1.0] {
                assert_eq!(
                    grown.quantile_ms(q),
                    reference(&bounded, grown.max_nanos, q),
                    "q = {q}"
                );
            }
            // Bucket for bucket, the same counts as the histogram's.
            let h = &grown.histogram;
            let ours: Vec<(u64, u64)> = (0..h.used)
                .filter(|&i| h.counts[i] > 0)
                .map(|i| (h.highest_equivalent(h.value_for(i)), h.counts[i]))
                .collect();
            let theirs: Vec<(u64, u64)> = bounded
                .iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect();
            assert_eq!(ours, theirs);
            for &us in &micros {
                assert_eq!(h.highest_equivalent(us), bounded.highest_equivalent(us));
                assert_eq!(h.lowest_equivalent(us), bounded.lowest_equivalent(us));
            }
            // Emptied, it reads as empty and counts again from nothing.
            grown.reset();
            assert_eq!((grown.count(), grown.quantile_ms(0.5)), (0, 0.0));
            assert!(grown.histogram.counts.iter().all(|&c| c == 0));
        }
        // Far smaller while latencies stay short.
        let mut short = Latency::new(3);
        for _ in 0..=FEW {
            short.record(SimDuration::from_millis(50));
        }
        let day = Histogram::<u64>::new_with_bounds(1, HIGHEST_MICROS, 3).unwrap();
        let held = short.histogram.counts.len();
        assert!(held > 0 && held * 3 < day.distinct_values());
    }

    #[test]
    fn latency_mean_is_exact_and_percentiles_ordered() {
        let mut l = Latency::new(3);
        for ms in 1..=1000 {
            l.record(SimDuration::from_micros(ms * 1000 + 1));
        }
        let s = l.summary();
        assert!((s.mean - 500.501).abs() < 1e-9, "{}", s.mean);
        assert!(s.p50 <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.p999 && s.p999 <= s.max);
        assert!((s.p99 - 990.0).abs() / 990.0 < 0.002, "{}", s.p99);
        assert_eq!(s.max, 1000.001);
    }

    #[test]
    fn one_pass_quantiles_match_value_at_quantile() {
        let mut l = Latency::new(2);
        for i in 0..10_000u64 {
            l.record(SimDuration::from_micros(1 + (i * 7919) % 250_000));
        }
        let qs = [0.5, 0.9, 0.99, 0.999];
        let one_pass = l.quantiles_ms(qs);
        for (q, v) in qs.iter().zip(one_pass) {
            assert_eq!(v, l.quantile_ms(*q), "q = {q}");
        }
    }
}
