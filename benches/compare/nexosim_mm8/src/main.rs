//! M/M/8 at ρ = 0.9 (λ = 72/s, μ = 10/s, as `scenarios/examples/mmc.toml`) in nexosim, for
//! `benches/compare/run.py`: `nexosim_mm8 --customers N [--seed S]` prints one JSON line (the
//! same fields as the hand-written loop's in `benches/mm8_loop.rs`).
//!
//! Written as nexosim models are: a `Source` model schedules its own arrivals and sends each to
//! the `Station` model's input port; the station schedules its own departures. One executor
//! thread, as awsim and the other peers run on one core.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use nexosim::Message;
use nexosim::model::{Context, Model, schedulable};
use nexosim::ports::{EventSinkReader, Output, SinkState, event_slot};
use nexosim::simulation::{Mailbox, SimInit};
use nexosim::time::MonotonicTime;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

const SERVERS: u32 = 8;
const ARRIVAL_RATE: f64 = 72.0;
const SERVICE_RATE: f64 = 10.0;
/// Customers arriving before this are not measured (the scenario's `warmup`).
const WARMUP_S: f64 = 600.0;
/// Batches of the batch-means standard error, by arrival time.
const BATCHES: usize = 20;

fn exponential(rng: &mut SmallRng, rate: f64) -> f64 {
    -(1.0 - rng.random::<f64>()).ln() / rate
}

/// A delay nexosim accepts: at least a nanosecond (a zero delay is not in the future).
fn delay(seconds: f64) -> Duration {
    Duration::from_secs_f64(seconds).max(Duration::from_nanos(1))
}

/// nexosim models must be serialisable (to save and restore a simulation, which this run never
/// does) and `SmallRng` is not: a restored model would get this stream.
fn unseeded() -> SmallRng {
    SmallRng::seed_from_u64(0)
}

fn seconds(t: MonotonicTime) -> f64 {
    let d = t.duration_since(MonotonicTime::EPOCH);
    d.as_secs_f64()
}

/// The station's figures, sent once at the end.
#[derive(Clone, Debug, Default, Message, Serialize, Deserialize)]
struct Figures {
    sums: Vec<f64>,
    counts: Vec<u64>,
}

/// Poisson arrivals: `customers` of them.
#[derive(Serialize, Deserialize)]
struct Source {
    arrival: Output<()>,
    #[serde(skip, default = "unseeded")]
    rng: SmallRng,
    left: u64,
}

#[Model]
impl Source {
    #[nexosim(init)]
    async fn init(&mut self, cx: &Context<Self>) {
        let gap = exponential(&mut self.rng, ARRIVAL_RATE);
        cx.schedule_event(delay(gap), schedulable!(Self::arrive), ())
            .unwrap();
    }

    #[nexosim(schedulable)]
    async fn arrive(&mut self, _: (), cx: &Context<Self>) {
        self.left -= 1;
        if self.left > 0 {
            let gap = exponential(&mut self.rng, ARRIVAL_RATE);
            cx.schedule_event(delay(gap), schedulable!(Self::arrive), ())
                .unwrap();
        }
        self.arrival.send(()).await;
    }
}

/// Eight servers and one FIFO queue.
#[derive(Serialize, Deserialize)]
struct Station {
    report: Output<Figures>,
    #[serde(skip, default = "unseeded")]
    rng: SmallRng,
    busy: u32,
    waiting: VecDeque<f64>,
    batch_span: f64,
    figures: Figures,
}

#[Model]
impl Station {
    /// Input port: a customer arrives.
    async fn arrive(&mut self, _: (), cx: &Context<Self>) {
        let now = seconds(cx.time());
        if self.busy < SERVERS {
            self.busy += 1;
            let service = exponential(&mut self.rng, SERVICE_RATE);
            cx.schedule_event(delay(service), schedulable!(Self::depart), now)
                .unwrap();
        } else {
            self.waiting.push_back(now);
        }
    }

    #[nexosim(schedulable)]
    async fn depart(&mut self, arrived: f64, cx: &Context<Self>) {
        let now = seconds(cx.time());
        if arrived >= WARMUP_S {
            let batch = (((arrived - WARMUP_S) / self.batch_span) as usize).min(BATCHES - 1);
            self.figures.sums[batch] += now - arrived;
            self.figures.counts[batch] += 1;
        }
        match self.waiting.pop_front() {
            Some(next) => {
                let service = exponential(&mut self.rng, SERVICE_RATE);
                cx.schedule_event(delay(service), schedulable!(Self::depart), next)
                    .unwrap();
            }
            None => self.busy -= 1,
        }
    }

    /// Input port: send the figures.
    async fn send_report(&mut self, _: ()) {
        self.report.send(self.figures.clone()).await;
    }
}

fn arg(args: &[String], flag: &str, default: Option<u64>) -> u64 {
    match args.iter().position(|a| a == flag) {
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse::<f64>().ok())
            .map(|v| v as u64)
            .unwrap_or_else(|| panic!("{flag} takes a number")),
        None => default.unwrap_or_else(|| panic!("{flag} is required")),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let customers = arg(&args, "--customers", None);
    let seed = arg(&args, "--seed", Some(1));
    let start = Instant::now();

    let mut rng = SmallRng::seed_from_u64(seed);
    let mut source = Source {
        arrival: Output::default(),
        rng: SmallRng::seed_from_u64(rng.random()),
        left: customers,
    };
    let mut station = Station {
        report: Output::default(),
        rng: SmallRng::seed_from_u64(rng.random()),
        busy: 0,
        waiting: VecDeque::new(),
        batch_span: ((customers as f64 / ARRIVAL_RATE - WARMUP_S) / BATCHES as f64).max(1e-9),
        figures: Figures {
            sums: vec![0.0; BATCHES],
            counts: vec![0; BATCHES],
        },
    };
    let source_box = Mailbox::new();
    let station_box = Mailbox::new();
    source.arrival.connect(Station::arrive, &station_box);
    let (sink, mut reports) = event_slot(SinkState::Enabled);
    station.report.connect_sink(sink);

    let mut bench = SimInit::with_num_threads(1);
    let ask = nexosim::ports::EventSource::new()
        .connect(Station::send_report, &station_box)
        .register(&mut bench);
    let mut simu = bench
        .add_model(source, source_box, "source")
        .add_model(station, station_box, "station")
        .init(MonotonicTime::EPOCH)
        .expect("the bench initialises");
    // Every event: the run ends when the last customer has left.
    simu.run().expect("the simulation runs");
    simu.process_event(&ask, ()).expect("the report is asked");
    let figures = reports.try_read().expect("the station reports");
    let elapsed = start.elapsed().as_secs_f64();

    let measured: u64 = figures.counts.iter().sum();
    let total: f64 = figures.sums.iter().sum();
    let means: Vec<f64> = (0..BATCHES)
        .filter(|&b| figures.counts[b] > 0)
        .map(|b| figures.sums[b] / figures.counts[b] as f64)
        .collect();
    let grand = means.iter().sum::<f64>() / means.len().max(1) as f64;
    let variance = means.iter().map(|m| (m - grand).powi(2)).sum::<f64>()
        / (means.len().saturating_sub(1)).max(1) as f64;
    println!(
        "{{\"customers\": {customers}, \"seconds\": {elapsed}, \"customers_per_s\": {}, \
         \"mean_response_s\": {}, \"standard_error_s\": {}, \"measured\": {measured}}}",
        customers as f64 / elapsed,
        total / measured.max(1) as f64,
        (variance / means.len().max(1) as f64).sqrt(),
    );
}
