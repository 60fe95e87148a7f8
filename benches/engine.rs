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
use awsim::engine::time::{SimDuration, SimTime};
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

/// The end of a hold model's warm-up.
const WARM_END: SimTime = SimTime(1_000_000);

/// A hold model with `pending` timers, started and run through `pending` events so that every
/// timer has fired once (the queue and the slab at their steady size).
fn warm_hold(pending: u32) -> Simulation<Msg, Box<dyn Component<Msg>>> {
    let mean_delay_ns = 1e6;
    // Far beyond any measurement: the run is driven by `run_until`, one step per iteration.
    let horizon = SimDuration::from_secs(1_000_000_000);
    // Boxed, as a scenario's components are: the event dispatch is a virtual call.
    let mut sim: Simulation<Msg, Box<dyn Component<Msg>>> =
        Simulation::new(horizon, SimDuration::ZERO);
    sim.add(
        "hold",
        stream(1, "hold"),
        Box::new(Hold {
            pending,
            mean_delay_ns,
        }),
    );
    // `pending` timers firing at pending/ms each: 1 ms of simulated time is `pending` events.
    sim.run_until(WARM_END, &mut |_| {})
        .expect("within the default limits");
    sim
}

/// Simulated time in which `pending` timers of mean 1 ms give about `events` events.
fn hold_step(pending: u32, events: u64) -> SimDuration {
    SimDuration::from_nanos((events as f64 / pending as f64 * 1e6) as u64)
}

/// The hold model in its steady state: each iteration handles the events of one more step of
/// simulated time (about 1 000 000), so building and dropping the pending timers is not
/// measured (it is a one-off cost, `benches/build.rs` measures building).
fn bench_hold(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine_hold");
    group.sample_size(10);
    for pending in [10_000u32, 1_000_000] {
        let events = 1_000_000u64;
        let step = hold_step(pending, events);
        // The events one step actually handles, measured on a fresh model (Poisson: within a
        // fraction of a percent of `events`).
        let mut probe = warm_hold(pending);
        let before = probe.events();
        probe
            .run_until(WARM_END + step, &mut |_| {})
            .expect("within limits");
        group.throughput(Throughput::Elements(probe.events() - before));
        let mut sim = warm_hold(pending);
        let mut reached = WARM_END;
        group.bench_function(format!("pending_{pending}"), |b| {
            b.iter_custom(|iterations| {
                let start = std::time::Instant::now();
                for _ in 0..iterations {
                    reached += step;
                    sim.run_until(reached, &mut |_| {}).expect("within limits");
                }
                black_box(sim.events());
                start.elapsed()
            })
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
