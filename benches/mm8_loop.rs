//! The floor for M/M/8 at ρ = 0.9: a minimal hand-written discrete-event loop (std
//! `BinaryHeap` of (time, seq, kind), rand's `SmallRng` (xoshiro256++), exponential draws by
//! inversion, a `VecDeque` of waiting arrivals, no histogram), against which awsim's
//! customers per second are measured (issue 15).
//!
//! Two uses:
//! - `cargo bench --bench mm8_loop -- --noplot`: criterion runs the loop and awsim's
//!   `scenarios/examples/mmc.toml` (without a time series, as `engine`'s `mm8`) on the same
//!   number of customers, so one run gives the ratio awsim / loop.
//! - `mm8_loop --customers N [--seed S]` (the bench binary, built by `cargo bench --no-run`):
//!   one run, one JSON line with customers per second and the mean response time with its
//!   batch-means standard error and Erlang C's value; `benches/compare/run.py` runs it so.
//! - `mm8_loop --awsim FILE [--duration-s S] [--seed S]`: runs a scenario through the library
//!   with no time series and no outputs (as this bench's `awsim_no_series`) and prints the
//!   wall time and the summary as one JSON line, so `run.py` can tell the simulation's cost
//!   from what `awsim run` adds (the series, the plots, the report).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use criterion::{Criterion, Throughput};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use awsim::engine::time::SimDuration;
use awsim::run::run_quietly;
use awsim::scenario::{RunSettings, Scenario};

/// Servers, arrival and service rates of `scenarios/examples/mmc.toml`.
const SERVERS: u32 = 8;
const ARRIVAL_RATE: f64 = 72.0;
const SERVICE_RATE: f64 = 10.0;
/// Customers arriving before this are not measured (the scenario's `warmup`).
const WARMUP_S: f64 = 600.0;
/// Batches of the batch-means standard error, by arrival time.
const BATCHES: usize = 20;

/// What happens at an event. A departure carries its customer's arrival time (as bits, see
/// [`Event`]) to measure its response time.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Arrival,
    Departure { arrived: u64 },
}

/// (time, seq, kind): times are non-negative `f64` seconds stored as their bits, which order
/// as the numbers do; `seq` keeps equal times first in, first out.
type Event = Reverse<(u64, u64, Kind)>;

/// One run's figures.
struct Outcome {
    customers: u64,
    events: u64,
    mean_response_s: f64,
    standard_error_s: f64,
    measured: u64,
}

fn exponential(rng: &mut SmallRng, rate: f64) -> f64 {
    // 1 − u lies in (0, 1], so the logarithm is finite.
    -(1.0 - rng.random::<f64>()).ln() / rate
}

/// Simulates `customers` arrivals to the M/M/8 queue, serving every one of them.
fn simulate(customers: u64, seed: u64) -> Outcome {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut heap: BinaryHeap<Event> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut schedule = |heap: &mut BinaryHeap<Event>, at: f64, kind: Kind| {
        seq += 1;
        heap.push(Reverse((at.to_bits(), seq, kind)));
    };
    let mut waiting: VecDeque<f64> = VecDeque::new();
    let mut busy = 0u32;
    let mut arrivals = 0u64;
    let mut events = 0u64;
    let batch_span = ((customers as f64 / ARRIVAL_RATE - WARMUP_S) / BATCHES as f64).max(1e-9);
    let mut sums = [0.0f64; BATCHES];
    let mut counts = [0u64; BATCHES];

    schedule(
        &mut heap,
        exponential(&mut rng, ARRIVAL_RATE),
        Kind::Arrival,
    );
    while let Some(Reverse((bits, _, kind))) = heap.pop() {
        events += 1;
        let now = f64::from_bits(bits);
        match kind {
            Kind::Arrival => {
                arrivals += 1;
                if arrivals < customers {
                    let next = now + exponential(&mut rng, ARRIVAL_RATE);
                    schedule(&mut heap, next, Kind::Arrival);
                }
                if busy < SERVERS {
                    busy += 1;
                    let done = now + exponential(&mut rng, SERVICE_RATE);
                    schedule(&mut heap, done, Kind::Departure { arrived: bits });
                } else {
                    waiting.push_back(now);
                }
            }
            Kind::Departure { arrived } => {
                let arrived = f64::from_bits(arrived);
                if arrived >= WARMUP_S {
                    let batch = (((arrived - WARMUP_S) / batch_span) as usize).min(BATCHES - 1);
                    sums[batch] += now - arrived;
                    counts[batch] += 1;
                }
                match waiting.pop_front() {
                    Some(next) => {
                        let done = now + exponential(&mut rng, SERVICE_RATE);
                        let arrived = next.to_bits();
                        schedule(&mut heap, done, Kind::Departure { arrived });
                    }
                    None => busy -= 1,
                }
            }
        }
    }
    let measured: u64 = counts.iter().sum();
    let total: f64 = sums.iter().sum();
    let means: Vec<f64> = (0..BATCHES)
        .filter(|&b| counts[b] > 0)
        .map(|b| sums[b] / counts[b] as f64)
        .collect();
    let grand = means.iter().sum::<f64>() / means.len().max(1) as f64;
    let variance = means.iter().map(|m| (m - grand).powi(2)).sum::<f64>()
        / (means.len().saturating_sub(1)).max(1) as f64;
    Outcome {
        customers: arrivals,
        events,
        mean_response_s: total / measured.max(1) as f64,
        standard_error_s: (variance / means.len().max(1) as f64).sqrt(),
        measured,
    }
}

/// Erlang C's mean response time (wait plus service) of the M/M/c queue.
fn erlang_c_response(servers: u32, arrival_rate: f64, service_rate: f64) -> f64 {
    let offered = arrival_rate / service_rate;
    let rho = offered / servers as f64;
    let mut term = 1.0;
    let mut below = 1.0;
    for k in 1..servers {
        term *= offered / k as f64;
        below += term;
    }
    let top = term * offered / servers as f64 / (1.0 - rho);
    let wait_probability = top / (below + top);
    wait_probability / (servers as f64 * service_rate - arrival_rate) + 1.0 / service_rate
}

/// `--customers N [--seed S]`: one run, its figures as one JSON line.
fn run_once(args: &[String]) -> Result<(), String> {
    let value = |flag: &str, default: Option<u64>| -> Result<u64, String> {
        match args.iter().position(|a| a == flag) {
            Some(i) => args
                .get(i + 1)
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| *v >= 1.0 && *v <= 1e12)
                .map(|v| v as u64)
                .ok_or(format!("{flag} takes a number from 1 to 1e12")),
            None => default.ok_or(format!("{flag} is required")),
        }
    };
    let customers = value("--customers", None)?;
    let seed = value("--seed", Some(1))?;
    let start = Instant::now();
    let out = simulate(customers, seed);
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{{\"customers\": {}, \"events\": {}, \"seconds\": {seconds}, \"customers_per_s\": {}, \
         \"mean_response_s\": {}, \"standard_error_s\": {}, \"measured\": {}, \
         \"erlang_c_response_s\": {}}}",
        out.customers,
        out.events,
        out.customers as f64 / seconds,
        out.mean_response_s,
        out.standard_error_s,
        out.measured,
        erlang_c_response(SERVERS, ARRIVAL_RATE, SERVICE_RATE)
    );
    Ok(())
}

/// `--awsim FILE [--duration-s S] [--seed S]`: one library run, its wall time and summary.
fn run_scenario(args: &[String]) -> Result<(), String> {
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let file = flag("--awsim").ok_or("--awsim takes a scenario file")?;
    let number = |name: &str| -> Result<Option<f64>, String> {
        flag(name)
            .map(|v| {
                v.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .ok_or(format!("{name} takes a number"))
            })
            .transpose()
    };
    let scenario = Scenario::load(Path::new(file)).map_err(|e| e.to_string())?;
    let settings = RunSettings {
        seed: number("--seed")?.map(|s| s as u64),
        duration: number("--duration-s")?.map(SimDuration::from_secs_f64),
        ..RunSettings::default()
    };
    let start = Instant::now();
    let summary = run_quietly(&scenario, settings).map_err(|e| e.to_string())?;
    let seconds = start.elapsed().as_secs_f64();
    let summary = serde_json::to_string(&summary).map_err(|e| e.to_string())?;
    println!("{{\"seconds\": {seconds}, \"summary\": {summary}}}");
    Ok(())
}

fn bench(c: &mut Criterion) {
    // 20 000 simulated seconds, as `engine`'s `mm8`.
    let seconds = 20_000u64;
    let customers = (ARRIVAL_RATE * seconds as f64) as u64;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/examples/mmc.toml");
    let scenario = Scenario::load(&path).expect("the shipped scenario loads");
    let settings = RunSettings {
        duration: Some(SimDuration::from_secs(seconds)),
        ..RunSettings::default()
    };
    let mut group = c.benchmark_group("mm8_customers");
    group.sample_size(10);
    group.throughput(Throughput::Elements(customers));
    group.bench_function("hand_written_loop", |b| {
        b.iter(|| black_box(simulate(customers, 1).events))
    });
    group.bench_function("awsim_no_series", |b| {
        b.iter(|| black_box(run_quietly(&scenario, settings).expect("runs")))
    });
    group.finish();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let one_run = if args.iter().any(|a| a == "--awsim") {
        Some(run_scenario(&args))
    } else if args.iter().any(|a| a == "--customers") {
        Some(run_once(&args))
    } else {
        None
    };
    if let Some(result) = one_run {
        if let Err(e) = result {
            eprintln!("mm8_loop: {e}");
            std::process::exit(2);
        }
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
