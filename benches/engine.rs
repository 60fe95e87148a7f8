//! Engine benchmarks: events per second on the classic "hold" model, and simulated requests per
//! second of wall time on the M/M/8 queue at utilisation 0.9.
//!
//! Run with `cargo bench --bench engine`. Figures are recorded in benches/README.md.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::Rng;
use rand_distr::Exp1;

use awsim::engine::rng::stream;
use awsim::engine::time::SimDuration;
use awsim::engine::{Component, Simulation};
use awsim::message::{Ctx, Msg, Timer};
use awsim::run::run_quietly;
use awsim::scenario::{RunSettings, Scenario};

/// The hold model: `pending` timers are always scheduled; each one, when it fires, schedules
/// one more at an exponential delay. Every event is one pop and one push of the engine's queue
/// plus one dispatch to a component.
struct Hold {
    pending: u32,
    mean_delay_ns: f64,
}

impl Hold {
    fn delay(&self, cx: &mut Ctx<'_>) -> SimDuration {
        let e: f64 = cx.rng().sample(Exp1);
        SimDuration::from_nanos((e * self.mean_delay_ns) as u64 + 1)
    }
}

impl Component<Msg> for Hold {
    fn init(&mut self, cx: &mut Ctx<'_>) {
        for _ in 0..self.pending {
            let d = self.delay(cx);
            cx.set_timer(d, Timer { kind: 0, id: 0 });
        }
    }

    fn handle(&mut self, _msg: Msg, cx: &mut Ctx<'_>) {
        let d = self.delay(cx);
        cx.set_timer(d, Timer { kind: 0, id: 0 });
    }
}

/// Runs the hold model until about `events` events have been processed.
fn hold(pending: u32, events: u64) -> u64 {
    // Mean delay 1 ms per timer: `pending` timers fire at pending/ms, so this horizon gives
    // about `events` events.
    let mean_delay_ns = 1e6;
    let horizon_ns = (events as f64 / pending as f64 * mean_delay_ns) as u64;
    // Boxed, as a scenario's components are: the event dispatch is a virtual call.
    let mut sim: Simulation<Msg, Box<dyn Component<Msg>>> =
        Simulation::new(SimDuration::from_nanos(horizon_ns), SimDuration::ZERO);
    sim.add(
        "hold",
        stream(1, "hold"),
        Box::new(Hold {
            pending,
            mean_delay_ns,
        }),
    );
    sim.run(|_| {}).expect("within the default limits");
    sim.events()
}

fn bench_hold(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine_hold");
    group.sample_size(10);
    for pending in [10_000u32, 1_000_000] {
        let events = 4_000_000u64;
        // Measure the events actually processed (the horizon gives about `events`).
        let processed = hold(pending, events) - pending as u64;
        group.throughput(Throughput::Elements(processed));
        group.bench_function(format!("pending_{pending}"), |b| {
            b.iter(|| black_box(hold(pending, events)))
        });
    }
    group.finish();
}

const MM8: &str = r#"
[simulation]
duration = "10m"
seed = 1
[[workload]]
name = "arrivals"
target = "server"
arrival = { process = "poisson", rate = "72/s" }
[[component]]
name = "server"
kind = "ec2_fleet"
instances = 1
vcpus = 8
handler = [ { compute = { dist = "exponential", mean = "100ms" } } ]
"#;

fn bench_mm8(c: &mut Criterion) {
    let scenario = Scenario::parse(MM8, Path::new("mm8.toml")).expect("valid");
    let settings = RunSettings {
        duration: Some(SimDuration::from_secs(20_000)),
        ..RunSettings::default()
    };
    let requests = run_quietly(&scenario, settings).expect("runs").workloads["arrivals"]
        ["requests"]["created"]
        .as_u64()
        .expect("count");
    let mut group = c.benchmark_group("mm8_rho_0.9");
    group.sample_size(10);
    group.throughput(Throughput::Elements(requests));
    group.bench_function("simulated_requests", |b| {
        b.iter(|| black_box(run_quietly(&scenario, settings).expect("runs")))
    });
    group.finish();
}

criterion_group!(benches, bench_hold, bench_mm8);
criterion_main!(benches);
