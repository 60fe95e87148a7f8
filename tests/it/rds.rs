//! RDS (issue 19): the connection limit as c servers (a client pool that waits against Erlang C,
//! one that is refused against Erlang B), vCPU workers against Erlang C, a Lambda function
//! calling the database through its handler, and bad input.
//!
//! # How tolerances are derived
//! As in `theory.rs`: R = 10 replications (seeds 1..=10, each discarding its own warm-up), one
//! estimate per run, a 95 % Student-t interval; the exact value must lie within 3 half-widths
//! (`Checks::ci`). Nothing is tuned by hand; never widen the bound or shorten a run to make a
//! miss pass.
//!
//! # Time budget
//! About 25 s of wall time on 2 cores (the M/M/8 pool, 3 simulated hours × 10, most of it) (`cargo test --release --test it rds -- --nocapture`
//! prints each case's numbers and wall time).

use std::path::Path;

use awsim::run::run_quietly;
use awsim::scenario::{RunSettings, Scenario};

use crate::stats::{Checks, erlang_b, erlang_c, mmc_mean_wait, number, replicate};

/// Replications per statistical check.
const R: u64 = 10;

/// Poisson clients at `rate`/s → one DB instance with `db` settings.
fn clients_and_db(rate: f64, duration: &str, db: &str) -> String {
    format!(
        r#"
[simulation]
duration = "{duration}"
warmup = "5m"
interval = "10m"

[[workload]]
name = "clients"
target = "db"
arrival = {{ process = "poisson", rate = "{rate}/s" }}

[[component]]
name = "db"
kind = "rds"
{db}
"#
    )
}

#[test]
fn a_waiting_pool_of_c_connections_is_erlang_c() {
    // 8 connections, queries of exponential CPU time (mean 100 ms) on a class with 8 vCPUs, so
    // a query never waits for a vCPU: the connections are the 8 servers of M/M/8 and the pool
    // its queue (timeout 1 h: nobody gives up). ρ = 0.8.
    let (c, mu, lambda) = (8, 10.0, 64.0);
    let text = clients_and_db(
        lambda,
        "3h",
        r#"instance_class = "db.m5.2xlarge"
max_connections = 8
no_free_connection = "wait"
pool_timeout = "1h"
query_cpu = { default = { dist = "exponential", mean = "100ms" } }"#,
    );
    let runs = replicate(&text, R, |s| {
        let c = &s.components;
        (
            number(c, &["db", "connection_waits"]) / number(c, &["db", "requests", "created"]),
            number(c, &["db", "connection_wait_ms", "mean"]) / 1e3,
            number(c, &["db", "connections_mean"]),
            number(c, &["db", "pool_timeouts"]),
            number(c, &["db", "connections_max"]),
        )
    });
    let mut checks = Checks::new("rds M/M/8 pool, ρ = 0.8");
    checks.ci(
        "P(wait for a connection) = Erlang C",
        erlang_c(c, lambda / mu),
        runs.iter().map(|r| r.0),
    );
    checks.ci(
        "mean wait for a connection (s)",
        mmc_mean_wait(c, lambda, mu),
        runs.iter().map(|r| r.1),
    );
    checks.ci(
        "mean connections in use = λ/μ",
        lambda / mu,
        runs.iter().map(|r| r.2),
    );
    checks.holds(
        "nobody gave up, never more than 8 connections",
        runs.iter().all(|r| r.3 == 0.0 && r.4 == 8.0),
        format!("{:?}", runs.iter().map(|r| (r.3, r.4)).collect::<Vec<_>>()),
    );
    checks.finish();
}

#[test]
fn a_refusing_database_of_c_connections_is_erlang_b() {
    // The same 8 connections refuse instead: M/M/8/8, whose blocking is Erlang B (insensitive
    // to the service distribution; here a lognormal with the same 100 ms mean).
    let (c, lambda) = (8, 64.0);
    let text = clients_and_db(
        lambda,
        "2h",
        r#"instance_class = "db.m5.2xlarge"
max_connections = 8
query_cpu = { default = { dist = "lognormal", mean = "100ms", p99 = "400ms" } }"#,
    );
    let runs = replicate(&text, R, |s| {
        let c = &s.components;
        number(c, &["db", "connections_refused"]) / number(c, &["db", "requests", "created"])
    });
    let mut checks = Checks::new("rds M/G/8/8, a = 6.4");
    checks.ci("refused share = Erlang B", erlang_b(c, lambda * 0.1), runs);
    checks.finish();
}

#[test]
fn vcpus_are_the_servers_of_erlang_c_when_connections_are_plenty() {
    // db.m5.xlarge: 4 vCPUs; max_connections from the formula (PostgreSQL, 16 GiB: 1 802), far
    // above the load: queries queue for a vCPU, M/M/4 at ρ = 0.75.
    let (c, mu, lambda) = (4, 20.0, 60.0);
    let text = clients_and_db(
        lambda,
        "3h",
        r#"instance_class = "db.m5.xlarge"
query_cpu = { default = { dist = "exponential", mean = "50ms" } }"#,
    );
    let runs = replicate(&text, R, |s| {
        let c = &s.components;
        (
            number(c, &["db", "latency_ms", "mean"]) / 1e3,
            number(c, &["db", "cpu_utilisation"]),
            number(c, &["db", "max_connections"]),
            number(c, &["db", "connection_waits"]),
        )
    });
    let mut checks = Checks::new("rds M/M/4 vCPUs, ρ = 0.75");
    checks.ci(
        "mean query latency = Wq + 1/μ (s)",
        mmc_mean_wait(c, lambda, mu) + 1.0 / mu,
        runs.iter().map(|r| r.0),
    );
    checks.ci(
        "CPU utilisation = λ/(cμ)",
        lambda / (c as f64 * mu),
        runs.iter().map(|r| r.1),
    );
    checks.holds(
        "the formula's 1 802 connections, none waited for",
        runs.iter().all(|r| r.2 == 1802.0 && r.3 == 0.0),
        format!("{:?}", runs.iter().map(|r| (r.2, r.3)).collect::<Vec<_>>()),
    );
    checks.finish();
}

#[test]
fn a_function_calls_the_database_through_its_handler() {
    // A handler step `{ call = "db", op = "write" }` reaches the database with its operation
    // (the write CPU time), and a refused connection fails the invocation with the 503.
    let text = r#"
[simulation]
duration = "60s"

[[workload]]
name = "clients"
target = "fn"
arrival = { process = "constant", rate = "10/s" }

[[component]]
name = "fn"
kind = "lambda"
handler = [ { call = "db", op = "write" } ]

[[component]]
name = "db"
kind = "rds"
instance_class = "db.t3.micro"
max_connections = 2
query_cpu = { read = "1ms", write = "250ms", default = "1ms" }
"#;
    let scenario = Scenario::parse(text, Path::new("case.toml")).unwrap_or_else(|e| panic!("{e}"));
    let s = run_quietly(&scenario, RunSettings::default()).unwrap();
    assert!(s.conservation.ok);
    let c = &s.components;
    let created = number(c, &["db", "requests", "created"]);
    let refused = number(c, &["db", "connections_refused"]);
    assert!(created >= 590.0, "{created}");
    // As in the unit test: 250 ms writes 100 ms apart on two connections, every third refused
    // (give or take the first few calls, which cold starts space unevenly).
    assert!(
        (refused - created / 3.0).abs() <= 3.0,
        "{refused} of {created}"
    );
    assert_eq!(number(c, &["db", "latency_ms", "p50"]), 250.0);
    assert_eq!(number(c, &["fn", "requests", "failed"]), refused);
}

/// The error text for `text`, which must be refused.
fn error_of(text: &str) -> String {
    match Scenario::parse(text, Path::new("case.toml")) {
        Ok(_) => panic!("accepted a bad scenario:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_database_specs_are_refused_with_their_place() {
    let with = |db: &str| clients_and_db(1.0, "10m", db);
    let m = error_of(&with(
        "instance_class = \"db.m5.larg\"\nquery_cpu = { default = \"1ms\" }",
    ));
    assert!(
        m.contains("case.toml:15:") && m.contains("did you mean `db.m5.large`"),
        "{m}"
    );
    let m = error_of(&with(
        "instance_class = \"db.m5.large\"\nengine = \"oracle\"\nquery_cpu = { default = \"1ms\" }",
    ));
    assert!(
        m.contains("case.toml:16:") && m.contains("mysql") && m.contains("postgres"),
        "{m}"
    );
    let m = error_of(&with(
        "instance_class = \"db.m5.large\"\nmax_connections = 0\nquery_cpu = { default = \"1ms\" }",
    ));
    assert!(
        m.contains("case.toml:16:") && m.contains("at least 1"),
        "{m}"
    );
    let m = error_of(&with(
        "instance_class = \"db.m5.large\"\nmax_connections = 200000\nquery_cpu = { default = \"1ms\" }",
    ));
    assert!(m.contains("must be at most 100000"), "{m}");
    let m = error_of(&with(
        "instance_class = \"db.m5.large\"\npool_timeout = \"5s\"\nquery_cpu = { default = \"1ms\" }",
    ));
    assert!(
        m.contains("case.toml:16:") && m.contains("no_free_connection = \"wait\""),
        "{m}"
    );
    let m = error_of(&with(
        "instance_class = \"db.m5.large\"\nquery_cpu = { reads = \"1ms\", default = \"1ms\" }",
    ));
    assert!(m.contains("unknown field `reads`"), "{m}");
    let m = error_of(&with("instance_class = \"db.m5.large\""));
    assert!(m.contains("query_cpu"), "{m}");
}
