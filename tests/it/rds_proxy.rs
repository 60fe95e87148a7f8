//! RDS Proxy (issue 19): the borrow wait against Erlang C (the pool is c servers with a
//! queue), Little's law on the connections borrowed, a failover through the proxy, the
//! connection storm lesson, and bad input.

use std::path::Path;

use crate::common::{n, summary_of};
use awsim::run::run_quietly;
use awsim::scenario::{RunSettings, Scenario};

/// Erlang C: the probability that an arrival waits, with `c` servers and offered load `a`
/// (Erlang B by its recursion, then C = B / (1 − ρ(1 − B))).
fn erlang_c(c: u32, a: f64) -> f64 {
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    let rho = a / f64::from(c);
    b / (1.0 - rho * (1.0 - b))
}

/// Mean and 95 % half-width (Student t, 9 degrees of freedom) of ten replications.
fn mean_and_half_width(xs: &[f64]) -> (f64, f64) {
    assert_eq!(xs.len(), 10);
    let m = xs.iter().sum::<f64>() / 10.0;
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 9.0;
    (m, 2.262 * (var / 10.0).sqrt())
}

#[test]
fn the_borrow_wait_follows_erlang_c() {
    // 4 % of 100 connections: a pool of c = 4. Poisson arrivals at 32/s, exponential queries
    // of 100 ms on a 64-vCPU class (no CPU queue): M/M/4 with ρ = 0.8.
    let text = r#"
[simulation]
duration = "2000s"
warmup = "100s"

[[workload]]
name = "clients"
target = "proxy"
arrival = { process = "poisson", rate = "32/s" }

[[component]]
name = "proxy"
kind = "rds_proxy"
target = "db"
max_connections_percent = 4

[[component]]
name = "db"
kind = "rds"
instance_class = "db.m5.16xlarge"
max_connections = 100
query_cpu = { default = { dist = "exponential", mean = "100ms" } }
"#;
    let (c, lambda, mu) = (4, 32.0, 10.0);
    let p_wait = erlang_c(c, lambda / mu);
    let wq_ms = 1000.0 * p_wait / (f64::from(c) * mu - lambda);
    let (mut waits, mut p, mut busy) = (Vec::new(), Vec::new(), Vec::new());
    for seed in 1..=10 {
        let s = summary_of(text, seed);
        let proxy = &s["components"]["proxy"];
        assert_eq!(n(proxy, &["database_connections_allowed"]), 4.0);
        assert_eq!(n(proxy, &["database_connections_max"]), 4.0);
        assert_eq!(n(proxy, &["borrow_timeouts"]), 0.0);
        waits.push(n(proxy, &["borrow_wait_ms", "mean"]));
        p.push(n(proxy, &["borrow_waits"]) / n(proxy, &["requests", "created"]));
        busy.push(n(proxy, &["database_connections_mean"]));
        // The database sees the pool, never more.
        assert!(n(&s["components"]["db"], &["connections_max"]) <= 4.0);
    }
    let (m, h) = mean_and_half_width(&waits);
    assert!(
        (m - wq_ms).abs() <= 3.0 * h,
        "Wq {m:.2} ± {h:.2} ms, Erlang C {wq_ms:.2}"
    );
    let (m, h) = mean_and_half_width(&p);
    assert!(
        (m - p_wait).abs() <= 3.0 * h,
        "P(wait) {m:.4} ± {h:.4}, Erlang C {p_wait:.4}"
    );
    // Little's law: connections borrowed on average = λ·E[S] = 3.2.
    let (m, h) = mean_and_half_width(&busy);
    assert!((m - lambda / mu).abs() <= 3.0 * h, "{m:.3} ± {h:.3}");
    // The tolerances are tight enough to tell Erlang C from a wrong pool size.
    assert!(3.0 * h < 0.1, "{h}");
}

#[test]
fn during_a_failover_requests_through_the_proxy_wait_while_direct_ones_fail() {
    // One database, two clients at 10/s each: one through the proxy, one direct. The primary
    // crashes at 60 s with a 30 s failover: the direct client's 300 requests of the window
    // fail; the proxy's wait for the first 34 % (10.2 s), then reach the new primary.
    let text = r#"
[simulation]
duration = "3m"

[[workload]]
name = "via-proxy"
target = "proxy"
arrival = { process = "constant", rate = "10/s" }

[[workload]]
name = "direct"
target = "db"
arrival = { process = "constant", rate = "10/s" }

[[component]]
name = "proxy"
kind = "rds_proxy"
target = "db"

[[component]]
name = "db"
kind = "rds"
instance_class = "db.m5.large"
query_cpu = { default = "1ms" }
multi_az = true
failover_time = "30s"

[[fault]]
kind = "instance_failure"
component = "db"
times = ["60s"]
"#;
    let s = summary_of(text, 1);
    let direct = &s["workloads"]["direct"]["requests"];
    assert!((n(direct, &["failed"]) - 300.0).abs() <= 1.0, "{direct}");
    let via = &s["workloads"]["via-proxy"];
    assert_eq!(n(via, &["requests", "failed"]), 0.0, "{via}");
    // The first request of the window waits nearly the whole 10.2 s (then its 1 ms query,
    // behind the others held).
    let max = n(via, &["latency_ms", "max"]);
    assert!((10_100.0..=10_260.0).contains(&max), "{max}");
    let db = &s["components"]["db"];
    assert!((n(db, &["errors_during_failover"]) - 300.0).abs() <= 1.0);
    assert_eq!(n(db, &["unavailable_s"]), 30.0);
}

#[test]
fn proxied_runs_repeat_exactly_and_conserve_requests() {
    let text = r#"
[simulation]
duration = "2m"

[[workload]]
name = "clients"
target = "fn"
arrival = { process = "poisson", rate = "300/s" }

[[component]]
name = "fn"
kind = "lambda"
handler = [ { compute = "5ms" }, { call = "proxy", op = "write" } ]

[[component]]
name = "proxy"
kind = "rds_proxy"
target = "db"
max_connections_percent = 5
connection_borrow_timeout = "1s"
pinning_fraction = 0.01
idle_client_timeout = "2s"

[[component]]
name = "db"
kind = "rds"
instance_class = "db.t3.micro"
query_cpu = { default = { dist = "exponential", mean = "2ms" } }
client_hold = { dist = "exponential", mean = "10ms" }
"#;
    let a = summary_of(text, 3);
    assert_eq!(a, summary_of(text, 3));
    let proxy = &a["components"]["proxy"];
    let r = &proxy["requests"];
    assert_eq!(
        n(r, &["created"]),
        n(r, &["completed"]) + n(r, &["failed"]) + n(r, &["timed_out"]) + n(r, &["in_flight"])
    );
    assert!(n(proxy, &["pinned"]) > 0.0, "{proxy}");
    assert_eq!(n(proxy, &["database_connections_allowed"]), 5.0);
    assert!(n(proxy, &["database_connections_max"]) <= 5.0);
    assert_ne!(a, summary_of(text, 4));
}

/// The error text for `text`, which must be refused.
fn error_of(text: &str) -> String {
    match Scenario::parse(text, Path::new("case.toml")) {
        Ok(_) => panic!("accepted a bad scenario:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_proxy_settings_are_refused_with_their_place() {
    let with = |proxy: &str| {
        format!(
            r#"
[simulation]
duration = "1m"

[[workload]]
name = "clients"
target = "proxy"
arrival = {{ process = "constant", rate = "1/s" }}

[[component]]
name = "proxy"
kind = "rds_proxy"
{proxy}

[[component]]
name = "db"
kind = "rds"
instance_class = "db.m5.large"
query_cpu = {{ default = "1ms" }}

[[component]]
name = "cache"
kind = "sqs"
"#
        )
    };
    // The proxy's keys start on line 13.
    let m = error_of(&with("target = \"db\"\nmax_connections_percent = 0"));
    assert!(
        m.contains("case.toml:14:") && m.contains("between 1 and 100"),
        "{m}"
    );
    let m = error_of(&with("target = \"db\"\nmax_connections_percent = 101"));
    assert!(m.contains("case.toml:14:") && m.contains("100"), "{m}");
    let m = error_of(&with("target = \"db\"\nconnection_borrow_timeout = \"2h\""));
    assert!(
        m.contains("case.toml:14:") && m.contains("between 1s and 1h"),
        "{m}"
    );
    let m = error_of(&with("target = \"db\"\npinning_fraction = 1.5"));
    assert!(
        m.contains("case.toml:14:") && m.contains("between 0 and 1"),
        "{m}"
    );
    let m = error_of(&with("target = \"db\"\nidle_client_timeout = \"9h\""));
    assert!(
        m.contains("case.toml:14:") && m.contains("between 1s and 8h"),
        "{m}"
    );
    let m = error_of(&with("target = \"bd\""));
    assert!(
        m.contains("case.toml:13:") && m.contains("did you mean `db`"),
        "{m}"
    );
    let m = error_of(&with("target = \"cache\""));
    assert!(
        m.contains("case.toml:13:") && m.contains("`cache` is a sqs, but this must name a rds"),
        "{m}"
    );
    let m = error_of(&with("target = \"db\"\nmax_conections_percent = 5"));
    assert!(
        m.contains("case.toml:14:") && m.contains("max_connections_percent"),
        "{m}"
    );
}

#[test]
fn the_connection_storm_lesson_shows_what_its_header_says() {
    let text = std::fs::read_to_string("scenarios/lessons/lambda_connection_storm.toml").unwrap();
    let scenario = Scenario::parse(&text, Path::new("lambda_connection_storm.toml")).unwrap();
    let s = run_quietly(&scenario, RunSettings::default()).unwrap();
    assert!(s.conservation.ok);
    let s = serde_json::to_value(&s).unwrap();
    let (c, w) = (&s["components"], &s["workloads"]);
    let (direct, proxied, proxy) = (&c["db-direct"], &c["db-proxied"], &c["proxy"]);
    assert_eq!(n(direct, &["max_connections"]), 112.0);
    assert_eq!(n(direct, &["connections_max"]), 112.0);
    assert_eq!(n(direct, &["connections_refused"]), 6_225.0);
    assert_eq!((n(direct, &["cpu_utilisation"]) * 100.0).round(), 15.0);
    assert_eq!(n(&w["orders-direct"], &["requests", "failed"]), 6_225.0);
    assert_eq!(n(&c["fn-direct"], &["concurrency_max"]), 360.0);
    assert_eq!(n(&c["fn-direct"], &["cold_starts"]), 312.0);
    assert_eq!(n(proxied, &["connections_refused"]), 0.0);
    assert_eq!(n(proxy, &["database_connections_allowed"]), 112.0);
    assert_eq!(n(proxy, &["database_connections_max"]), 112.0);
    assert_eq!(n(proxy, &["client_connections_max"]), 197.0);
    assert_eq!(n(proxy, &["borrow_waits"]), 43_138.0);
    assert_eq!(
        (n(proxy, &["borrow_wait_ms", "mean"]) * 100.0).round(),
        44.0
    );
    assert_eq!((n(proxy, &["borrow_wait_ms", "p99"]) * 10.0).round(), 77.0);
    assert_eq!(n(proxy, &["borrow_wait_ms", "max"]).round(), 38.0);
    assert_eq!(n(proxy, &["borrow_timeouts"]), 0.0);
    assert_eq!(n(&w["orders-proxy"], &["requests", "failed"]), 0.0);
    assert_eq!(
        (n(&w["orders-proxy"], &["latency_ms", "p99"]) * 10.0).round(),
        756.0
    );
    assert_eq!(
        (n(&w["orders-direct"], &["latency_ms", "p99"]) * 10.0).round(),
        685.0
    );
}
