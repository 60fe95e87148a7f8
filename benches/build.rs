//! Scale benchmarks (issue 14): building and starting large scenarios, and requests against a
//! table of many partitions. Each should grow in proportion to the size (or its logarithm),
//! never with its square.
//!
//! - `check_fleet/N`: building an `ec2_fleet` of N instances, as `awsim check` does.
//! - `asg_start/N`: an Auto Scaling Group of N instances behind an ALB (least outstanding
//!   requests) starting: every instance goes in service and registers; then 1 s of traffic.
//! - `dynamodb_hot_key/P`: 2 s of reads with a hot key against a table of P partitions, whose
//!   hot partitions borrow capacity from the others on nearly every request.
//! - `workloads/N`: building and running 10 s of N workloads.
//!
//! Run with `cargo bench --bench build -- --noplot`. Figures are recorded in benches/README.md.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use awsim::run::run_quietly;
use awsim::scenario::{RunSettings, Scenario};

fn scenario(text: &str) -> Scenario {
    Scenario::parse(text, Path::new("bench.toml")).expect("valid scenario")
}

fn fleet(instances: u32) -> Scenario {
    scenario(&format!(
        r#"
[simulation]
duration = "1m"
[region]
azs = ["a", "b", "c"]
[[workload]]
name = "load"
target = "lb"
arrival = {{ process = "poisson", rate = "100/s" }}
[[component]]
name = "lb"
kind = "alb"
targets = "web"
[[component]]
name = "web"
kind = "ec2_fleet"
instances = {instances}
vcpus = 2
handler = [ {{ compute = "10ms" }} ]
"#
    ))
}

fn asg(desired: u32) -> Scenario {
    scenario(&format!(
        r#"
[simulation]
duration = "1s"
[region]
azs = ["a", "b", "c"]
[[workload]]
name = "load"
target = "lb"
arrival = {{ process = "poisson", rate = "1000/s" }}
[[component]]
name = "lb"
kind = "alb"
algorithm = "least_outstanding_requests"
targets = "web"
[[component]]
name = "web"
kind = "asg"
min = 1
max = {desired}
desired = {desired}
handler = [ {{ compute = {{ dist = "exponential", mean = "20ms" }} }} ]
"#
    ))
}

fn table(partitions: u32) -> Scenario {
    scenario(&format!(
        r#"
[simulation]
duration = "2s"
[[workload]]
name = "reads"
target = "table"
op = "read"
item_kb = 4
arrival = {{ process = "poisson", rate = "4000/s" }}
key = {{ dist = "zipf", keys = 1000000, exponent = 1.2 }}
[[component]]
name = "table"
kind = "dynamodb"
rcu = 40000
wcu = 100
partitions = {partitions}
"#
    ))
}

fn workloads(n: u32) -> Scenario {
    let mut text = String::from(
        r#"
[simulation]
duration = "10s"
[[component]]
name = "web"
kind = "ec2_fleet"
instances = 4
vcpus = 2
handler = [ { compute = { dist = "exponential", mean = "5ms" } } ]
"#,
    );
    for i in 0..n {
        text.push_str(&format!(
            "[[workload]]\nname = \"w{i}\"\ntarget = \"web\"\n\
             arrival = {{ process = \"poisson\", rate = \"1/s\" }}\n"
        ));
    }
    scenario(&text)
}

fn bench_check_fleet(c: &mut Criterion) {
    let mut group = c.benchmark_group("check_fleet");
    group.sample_size(10);
    for n in [10_000u32, 100_000, 1_000_000] {
        let s = fleet(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(n.to_string(), |b| {
            b.iter(|| black_box(s.build(RunSettings::default()).expect("builds")))
        });
    }
    group.finish();
}

fn bench_asg_start(c: &mut Criterion) {
    let mut group = c.benchmark_group("asg_start");
    group.sample_size(10);
    for n in [10_000u32, 100_000] {
        let s = asg(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(n.to_string(), |b| {
            b.iter(|| black_box(run_quietly(&s, RunSettings::default()).expect("runs")))
        });
    }
    group.finish();
}

fn bench_dynamodb(c: &mut Criterion) {
    let mut group = c.benchmark_group("dynamodb_hot_key");
    group.sample_size(10);
    for p in [1_000u32, 1_000_000] {
        let s = table(p);
        group.bench_function(p.to_string(), |b| {
            b.iter(|| black_box(run_quietly(&s, RunSettings::default()).expect("runs")))
        });
    }
    group.finish();
}

fn bench_workloads(c: &mut Criterion) {
    let mut group = c.benchmark_group("workloads");
    group.sample_size(10);
    for n in [200u32, 2_000] {
        let s = workloads(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(n.to_string(), |b| {
            b.iter(|| black_box(run_quietly(&s, RunSettings::default()).expect("runs")))
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_check_fleet,
    bench_asg_start,
    bench_dynamodb,
    bench_workloads
);
criterion_main!(benches);
