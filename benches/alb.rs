//! Per-request cost of an ALB over many targets against a few (issue 15): choosing a target is
//! O(log n) in the targets (`components/target_order.rs`) and allocates nothing, so a request
//! through an ALB over 1 000 instances should cost about what it costs over 4.
//!
//! Each case runs 200 000 requests at the same utilisation (50 %): the rate grows with the
//! instances, so the queueing, and the events per request, stay the same and only the choice
//! of a target changes. Criterion reports requests per second.
//!
//! Run with `cargo bench --bench alb -- --noplot`. Figures are recorded in benches/README.md.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use awsim::run::run_quietly;
use awsim::scenario::{RunSettings, Scenario};

/// Requests per case.
const REQUESTS: u64 = 200_000;

/// An ALB over `instances` single-vCPU instances of 10 ms each, at 50 % utilisation.
fn scenario(instances: u64, algorithm: &str, cross_zone: bool) -> Scenario {
    let rate = instances as f64 * 50.0;
    let seconds = REQUESTS as f64 / rate;
    let text = format!(
        r#"
[simulation]
duration = "{seconds}s"
warmup = "0s"
[region]
azs = ["a", "b"]
[[workload]]
name = "load"
target = "lb"
arrival = {{ process = "poisson", rate = "{rate}/s" }}
[[component]]
name = "lb"
kind = "alb"
algorithm = "{algorithm}"
cross_zone = {cross_zone}
targets = "web"
[[component]]
name = "web"
kind = "ec2_fleet"
instances = {instances}
handler = [ {{ compute = {{ dist = "exponential", mean = "10ms" }} }} ]
"#
    );
    Scenario::parse(&text, Path::new("alb.toml")).expect("valid scenario")
}

fn bench_alb(c: &mut Criterion) {
    let mut group = c.benchmark_group("alb");
    group.sample_size(10);
    group.throughput(Throughput::Elements(REQUESTS));
    for algorithm in ["round_robin", "least_outstanding_requests"] {
        for cross_zone in [true, false] {
            for instances in [4, 1000] {
                let scenario = scenario(instances, algorithm, cross_zone);
                let zones = if cross_zone { "cross_zone" } else { "in_zone" };
                group.bench_function(format!("{algorithm}/{zones}/{instances}"), |b| {
                    b.iter(|| black_box(run_quietly(&scenario, RunSettings::default()).unwrap()))
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, bench_alb);
criterion_main!(benches);
