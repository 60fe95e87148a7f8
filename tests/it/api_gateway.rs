//! API Gateway (issue 9) against exact token-bucket counts, renewal theory for the response
//! cache, and its documented behaviour: the integration timeout (504), limits that bind at the
//! method, stage and account levels, determinism, and bad input.
//!
//! # Exact counts
//! A token bucket of rate r and burst b that starts full, fed evenly spaced arrivals at a rate
//! a > r from t₁ on, admits every arrival until the bucket runs dry and then exactly one per
//! whole token that accrues: by the n-th arrival it has admitted min(n, b + ⌊r·(tₙ − t₁)⌋).
//! (The refill of (0, t₁) is lost: the bucket is full. Once dry, each gap brings r/a < 1 token,
//! so every whole token is taken by the next arrival, the level stays below 1 + r/a, and none
//! is lost to the cap as long as b ≥ 1 + r/a — or, with b = 1, when r/a = 1/m: the level then
//! reaches exactly 1 at an arrival.) The gateway
//! counts its tokens in integers, so the count is exact even when a token becomes whole at
//! exactly an arrival.
//!
//! # How tolerances are derived
//! As in `lambda.rs`: R = 10 replications (seeds 1..=10), one estimate per run, a 95 % Student-t
//! interval, and the exact value must lie within K = 3 half-widths.

use std::path::Path;

use awsim::run::run_quietly;
use awsim::run::summary::Summary;
use awsim::scenario::{RunSettings, Scenario};

use crate::stats::{ConfidenceInterval, assert_within, number, replicate};

/// Replications per statistical check.
const R: u64 = 10;
/// Half-widths an estimate may be off.
const K: f64 = 3.0;

fn parse(text: &str) -> Scenario {
    Scenario::parse(text, Path::new("api.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn run_once(text: &str) -> Summary {
    let s = run_quietly(&parse(text), RunSettings::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(s.conservation.ok, "conservation: {:?}", s.conservation);
    s
}

fn fig(s: &Summary, component: &str, path: &str) -> u64 {
    let mut keys = vec![component];
    keys.extend(path.split('.'));
    number(&s.components, &keys) as u64
}

fn requests(s: &Summary, workload: &str, what: &str) -> u64 {
    number(&s.workloads, &[workload, "requests", what]) as u64
}

/// Requests a workload got past the gateway's limits (completed, or still in flight at the
/// end: the last ones are admitted less than the overhead before it).
fn admitted(s: &Summary, workload: &str) -> u64 {
    requests(s, workload, "created") - requests(s, workload, "throttled")
}

/// A constant-rate workload `name` → `target` at `rate` per second, with extra lines.
fn constant(name: &str, target: &str, rate: u64, extra: &str) -> String {
    format!(
        r#"
[[workload]]
name = "{name}"
target = "{target}"
arrival = {{ process = "constant", rate = "{rate}/s" }}
{extra}
"#
    )
}

/// An API Gateway `name` in front of `target`, with extra lines.
fn gateway(name: &str, target: &str, extra: &str) -> String {
    format!(
        r#"
[[component]]
name = "{name}"
kind = "api_gateway"
target = "{target}"
{extra}
"#
    )
}

/// A backend that never queues: one instance with many workers and a constant handler.
fn backend(name: &str, handler: &str) -> String {
    format!(
        r#"
[[component]]
name = "{name}"
kind = "ec2_fleet"
instances = 1
vcpus = 1000
handler = [ {handler} ]
"#
    )
}

fn simulation(duration: &str, warmup: &str) -> String {
    format!("[simulation]\nduration = \"{duration}\"\nwarmup = \"{warmup}\"\nseed = 1\n")
}

/// Admitted arrivals of evenly spaced arrivals at `a`/s in [0, `secs`) against a full bucket of
/// rate `r`/s and burst `b` (see the module docs): arrivals at k/a for k = 1..n, n = a·secs − 1
/// (the one at exactly `secs` falls at the end of the run and is not simulated).
fn admitted_theory(a: u64, r: u64, b: u64, secs: u64) -> u64 {
    let n = a * secs - 1;
    // ⌊r·(tₙ − t₁)⌋ = ⌊r·(n − 1)/a⌋, in integers.
    (b + r * (n - 1) / a).min(n)
}

// ---------------------------------------------------------------------------------------------
// Token bucket: exact counts
// ---------------------------------------------------------------------------------------------

/// Constant arrivals above the stage limit: exactly b + ⌊r·(tₙ − t₁)⌋ admitted, the rest 429.
/// Cases where a token becomes whole exactly at an arrival (r/a = 1/10, 7/500) would lose one
/// token to float round-off; fractional-free integers keep them exact.
#[test]
fn the_stage_bucket_admits_exactly_burst_plus_rate_times_time() {
    for (a, r, b, secs) in [
        (1000, 100, 200, 10),
        (500, 7, 50, 20),
        (2000, 1999, 2, 5),
        (300, 10, 5000, 10),
    ] {
        let text = simulation(&format!("{secs}s"), "0s")
            + &constant("load", "api", a, "")
            + &gateway(
                "api",
                "web",
                &format!("throttle = {{ rate = \"{r}/s\", burst = {b} }}"),
            )
            + &backend("web", r#"{ compute = "1ms" }"#);
        let s = run_once(&text);
        let created = requests(&s, "load", "created");
        let expected = admitted_theory(a, r, b, secs);
        let case = format!("a = {a}/s, r = {r}/s, b = {b}, T = {secs} s");
        assert_eq!(created, a * secs - 1, "{case}: arrivals");
        assert_eq!(admitted(&s, "load"), expected, "{case}: admitted");
        assert_eq!(
            requests(&s, "load", "throttled"),
            created - expected,
            "{case}: throttled"
        );
        assert_eq!(fig(&s, "api", "throttled_by.stage"), created - expected);
        assert_eq!(fig(&s, "api", "errors_4xx"), created - expected);
        assert_eq!(fig(&s, "api", "throttled_by.account"), 0, "{case}");
    }
}

/// With the defaults (10 000/s, burst 5 000) a steady 15 000/s for 2 s: the burst lasts 1 s,
/// then 5 000 + ⌊10 000 · (tₙ − t₁)⌋ are admitted in all, by the account bucket.
#[test]
fn the_account_defaults_are_10000_per_second_with_a_burst_of_5000() {
    let (a, secs) = (15_000, 2);
    let text = simulation("2s", "0s")
        + &constant("load", "api", a, "")
        + &gateway("api", "web", "")
        + &backend("web", r#"{ compute = "1ms" }"#);
    let s = run_once(&text);
    let expected = admitted_theory(a, 10_000, 5_000, secs);
    assert_eq!(expected, 5_000 + 19_998);
    assert_eq!(admitted(&s, "load"), expected);
    assert_eq!(
        fig(&s, "api", "throttled_by.account"),
        a * secs - 1 - expected
    );
}

/// A Poisson load at 80 % of every limit is never throttled (the bucket of 2 000 would need
/// an excess of 2 000 arrivals over the rate: far beyond any fluctuation of these runs).
#[test]
fn poisson_load_below_the_limits_is_never_throttled() {
    let text = simulation("5m", "0s")
        + r#"
[account]
api_gateway_throttle = { rate = "1000/s", burst = 2000 }
[[workload]]
name = "load"
target = "api"
arrival = { process = "poisson", rate = "400/s" }
op = "read"
"# + &gateway(
        "api",
        "web",
        r#"throttle = { rate = "500/s", burst = 1000 }
methods = [ { op = "read", rate = "500/s", burst = 1000 } ]"#,
    ) + &backend(
        "web",
        r#"{ compute = { dist = "exponential", mean = "20ms" } }"#,
    );
    let runs = replicate(&text, R, |s| {
        (
            requests(s, "load", "created"),
            requests(s, "load", "throttled"),
        )
    });
    for (seed, (created, throttled)) in runs.iter().enumerate() {
        assert!(*created > 100_000, "seed {}: {created} created", seed + 1);
        assert_eq!(*throttled, 0, "seed {}: throttled", seed + 1);
    }
}

/// Each level binds where its limit is the lowest, and only there; a request refused by one
/// level takes no token from the others.
#[test]
fn method_stage_and_account_limits_each_bind_where_they_should() {
    // Method: reads limited to 50/s (burst 1), the stage at 1000/s. Writes have no method
    // limit and pass. Each gap brings 1/2 token: 1 + ⌊50·(tₙ − t₁)⌋ reads admitted.
    let text = simulation("10s", "0s")
        + &constant("reads", "api", 100, "op = \"read\"")
        + &constant("writes", "api", 100, "op = \"write\"")
        + &gateway(
            "api",
            "web",
            r#"throttle = { rate = "1000/s", burst = 1000 }
methods = [ { op = "read", rate = "50/s", burst = 1 } ]"#,
        )
        + &backend("web", r#"{ compute = "1ms" }"#);
    let s = run_once(&text);
    let reads_ok = admitted_theory(100, 50, 1, 10);
    assert_eq!(admitted(&s, "reads"), reads_ok);
    assert_eq!(requests(&s, "writes", "throttled"), 0);
    assert_eq!(fig(&s, "api", "throttled_by.method"), 999 - reads_ok);
    assert_eq!(fig(&s, "api", "throttled_by.stage"), 0);
    assert_eq!(fig(&s, "api", "throttled_by.account"), 0);

    // Stage: 80/s (burst 10) for every operation, the method limit of reads far above it.
    let text = simulation("10s", "0s")
        + &constant("reads", "api", 100, "op = \"read\"")
        + &gateway(
            "api",
            "web",
            r#"throttle = { rate = "80/s", burst = 10 }
methods = [ { op = "read", rate = "1000/s", burst = 1000 } ]"#,
        )
        + &backend("web", r#"{ compute = "1ms" }"#);
    let s = run_once(&text);
    let ok = admitted_theory(100, 80, 10, 10);
    assert_eq!(admitted(&s, "reads"), ok);
    assert_eq!(fig(&s, "api", "throttled_by.stage"), 999 - ok);
    assert_eq!(fig(&s, "api", "throttled_by.method"), 0);

    // Account: two gateways, each at 100/s with its own generous stage limit, share an account
    // bucket of 150/s (burst 10). Arrivals come in pairs at the same instants, every 10 ms;
    // each pair instant brings 1.5 tokens and the bucket stays below its cap once dry, so in
    // all 10 + ⌊150·(tₙ − t₁)⌋ are admitted.
    let text = simulation("10s", "0s")
        + "[account]\napi_gateway_throttle = { rate = \"150/s\", burst = 10 }\n"
        + &constant("a", "api-a", 100, "")
        + &constant("b", "api-b", 100, "")
        + &gateway(
            "api-a",
            "web",
            r#"throttle = { rate = "1000/s", burst = 100 }"#,
        )
        + &gateway(
            "api-b",
            "web",
            r#"throttle = { rate = "1000/s", burst = 100 }"#,
        )
        + &backend("web", r#"{ compute = "1ms" }"#);
    let s = run_once(&text);
    let both = admitted(&s, "a") + admitted(&s, "b");
    assert_eq!(both, 10 + 150 * 998 / 100);
    let refused =
        fig(&s, "api-a", "throttled_by.account") + fig(&s, "api-b", "throttled_by.account");
    assert_eq!(refused, 2 * 999 - both);
    assert_eq!(
        fig(&s, "api-a", "throttled_by.stage") + fig(&s, "api-b", "throttled_by.stage"),
        0
    );
    // The gateway that comes first at each instant gets the token first.
    assert!(admitted(&s, "a") > admitted(&s, "b"));
}

// ---------------------------------------------------------------------------------------------
// Integration timeout
// ---------------------------------------------------------------------------------------------

/// A backend slower than the integration timeout: every client gets a 504 at arrival +
/// overhead + timeout; every late answer is discarded and counted; conservation holds.
#[test]
fn a_slow_integration_gets_504_at_the_timeout_and_late_answers_are_discarded() {
    // Timeout 1 s, backend 1.5 s, arrivals at 1..9 s: the requests of 1..8 s time out at
    // k + 1.01 s (the one of 9 s would at 10.01 s, after the end), and their answers come back
    // at k + 1.51 s.
    let text = simulation("10s", "0s")
        + &constant("load", "api", 1, "")
        + &gateway("api", "web", "integration_timeout = \"1s\"")
        + &backend("web", r#"{ sleep = "1500ms" }"#);
    let s = run_once(&text);
    assert_eq!(requests(&s, "load", "timed_out"), 8);
    assert_eq!(requests(&s, "load", "completed"), 0);
    assert_eq!(requests(&s, "load", "in_flight"), 1);
    assert_eq!(fig(&s, "api", "errors_5xx"), 8);
    assert_eq!(fig(&s, "api", "late_responses"), 8);
    assert_eq!(fig(&s, "web", "requests.completed"), 8);
    assert_eq!(fig(&s, "api", "integration_latency_ms.count"), 0);
    // The users waited for those 504s: overhead + timeout each, reported apart from the
    // successful requests' latency (issue 24 point 8).
    let failed = |k: &str| number(&s.workloads, &["load", "latency_failed_ms", k]);
    assert_eq!(failed("count"), 8.0);
    assert!((failed("mean") - 1010.0).abs() < 1e-9, "{}", failed("mean"));
    assert_eq!(failed("max"), 1010.0);
    assert_eq!(number(&s.workloads, &["load", "latency_ms", "count"]), 0.0);
    // With answers taking 0.5 to 1.5 s, some come in time and some do not; a successful
    // answer never took longer than overhead + timeout.
    let s = run_once(
        &(simulation("10s", "0s")
            + &constant("load", "api", 1, "")
            + &gateway("api", "web", "integration_timeout = \"1s\"")
            + &backend(
                "web",
                r#"{ sleep = { dist = "uniform", min = "500ms", max = "1500ms" } }"#,
            )),
    );
    let timed_out = requests(&s, "load", "timed_out");
    let completed = requests(&s, "load", "completed");
    assert_eq!(timed_out + completed + requests(&s, "load", "in_flight"), 9);
    assert!(timed_out > 0 && completed > 0, "{timed_out} / {completed}");
    assert!(number(&s.workloads, &["load", "latency_ms", "max"]) <= 1010.0);
}

/// The default integration timeout is 29 s.
#[test]
fn the_default_integration_timeout_is_29_seconds() {
    // Arrivals every 10 s; a 30 s backend: each 504 comes at k + 29.01 s.
    let text = simulation("100s", "0s")
        + &constant("load", "api", 1, "")
        + &gateway("api", "web", "")
        + &backend("web", r#"{ sleep = "30s" }"#);
    let text = text.replace("rate = \"1/s\"", "rate = \"0.1/s\"");
    let s = run_once(&text);
    // Arrivals at 10..90 s; deadlines at 39.01 .. 99.01 s are within the run for 10..70 s.
    assert_eq!(requests(&s, "load", "timed_out"), 7);
    assert_eq!(requests(&s, "load", "in_flight"), 2);
    assert_eq!(fig(&s, "api", "late_responses"), 6);
}

// ---------------------------------------------------------------------------------------------
// Response cache
// ---------------------------------------------------------------------------------------------

/// Hit ratio of one key with Poisson arrivals at μ, TTL T and a constant time d from a miss to
/// its answer being cached. A miss at 0 starts a cycle; the arrivals in (0, d) miss too (no
/// coalescing), and the last of them, at a (0 if none), re-caches the key until a + d + T. The
/// arrivals in [d, a + d + T) hit; the first after that misses and starts the next cycle.
/// E[misses] = 1 + μd, E[hits] = μ(T + E[a]) with E[a] = d − (1 − e^{−μd})/μ; the hit ratio is
/// E[hits] / (E[hits] + E[misses]) (renewal-reward). With d → 0 it is μT / (1 + μT).
fn hit_ratio_theory(mu: f64, ttl: f64, d: f64) -> f64 {
    let last_miss = d - (1.0 - (-mu * d).exp()) / mu;
    let hits = mu * (ttl + last_miss);
    let misses = 1.0 + mu * d;
    hits / (hits + misses)
}

/// Uniform keys over K with Poisson arrivals at λ: each key sees Poisson arrivals at λ/K, and
/// the hit ratio is the single-key renewal result. d = overhead 10 ms + handler 5 ms.
#[test]
fn cache_hit_ratio_follows_renewal_theory() {
    for (lambda, keys, ttl) in [(200.0, 1000, 5.0), (200.0, 100, 2.0), (100.0, 20, 0.5)] {
        let mu = lambda / keys as f64;
        let d = 0.015;
        let exact = hit_ratio_theory(mu, ttl, d);
        let text = simulation("6m", "1m")
            + &format!(
                r#"
[[workload]]
name = "load"
target = "api"
arrival = {{ process = "poisson", rate = "{lambda}/s" }}
key = {{ dist = "uniform", keys = {keys} }}
"#
            )
            + &gateway(
                "api",
                "web",
                &format!("overhead = \"10ms\"\ncache = {{ ttl = \"{ttl}s\" }}"),
            )
            + &backend("web", r#"{ compute = "5ms" }"#);
        let runs = replicate(&text, R, |s| {
            let hits = fig(s, "api", "cache_hits") as f64;
            let misses = fig(s, "api", "cache_misses") as f64;
            let backend = fig(s, "web", "requests.created") as f64;
            (
                hits / (hits + misses),
                fig(s, "api", "cache_entries_max"),
                misses,
                backend,
            )
        });
        let ratios: Vec<f64> = runs.iter().map(|r| r.0).collect();
        let ci = ConfidenceInterval::from_replications(&ratios);
        let name = format!("λ = {lambda}/s, K = {keys}, T = {ttl} s: hit ratio");
        println!("{name}: exact {exact:.5}, estimate {ci}");
        assert_within(&name, exact, &ci, K);
        for (_, peak, _, _) in &runs {
            assert!(*peak <= keys, "at most one entry per key: {peak} > {keys}");
        }
    }
}

/// The per-interval cache columns of timeseries.csv add up to the run's figures.
#[test]
fn cache_series_columns_add_up_to_the_figures() {
    use awsim::engine::time::SimTime;
    use awsim::metrics::SeriesRow;
    use awsim::metrics::SeriesSink;

    #[derive(Default)]
    struct Sums {
        hits: u64,
        misses: u64,
        rows: u64,
    }
    impl SeriesSink for Sums {
        fn row(&mut self, _time: SimTime, name: &str, kind: &str, row: &SeriesRow) {
            if name == "api" {
                let count = |column| {
                    awsim::components::outputs::column_value(kind, row, column)
                        .expect("a cache gives hits and misses") as u64
                };
                self.hits += count("cache_hits");
                self.misses += count("cache_misses");
                self.rows += 1;
            }
        }
    }
    let text = simulation("30s", "0s")
        + r#"
[[workload]]
name = "load"
target = "api"
arrival = { process = "poisson", rate = "100/s" }
key = { dist = "zipf", keys = 500, exponent = 1.1 }
"# + &gateway("api", "web", "cache = { ttl = \"5s\" }")
        + &backend("web", r#"{ compute = "5ms" }"#);
    let mut sums = Sums::default();
    let s = awsim::run::run(&parse(&text), RunSettings::default(), &mut sums, |_| {}).unwrap();
    assert_eq!(sums.rows, 30);
    assert_eq!(sums.hits, fig(&s, "api", "cache_hits"));
    assert_eq!(sums.misses, fig(&s, "api", "cache_misses"));
    assert!(sums.hits > 0 && sums.misses > 0);
}

/// Writes and strongly consistent reads bypass the cache; reads use it.
#[test]
fn only_read_like_operations_are_cached() {
    let mut text = simulation("10s", "0s");
    for op in ["read", "strong_read", "write", "query"] {
        text += &constant(
            op,
            "api",
            10,
            &format!("op = \"{op}\"\nkey = {{ dist = \"uniform\", keys = 1 }}"),
        );
    }
    text += &gateway("api", "web", "cache = { ttl = \"1h\" }");
    text += &backend("web", r#"{ compute = "1ms" }"#);
    let s = run_once(&text);
    // One key each for read and query (the same key 0): the first read misses, and so does
    // the first query if it arrives before the read's answer is cached (same instant).
    let hits = fig(&s, "api", "cache_hits");
    let misses = fig(&s, "api", "cache_misses");
    assert_eq!(hits + misses, 2 * 99, "reads and queries look the cache up");
    assert_eq!(misses, 2);
    // Backend: 99 strong reads + 99 writes + the 2 misses.
    assert_eq!(fig(&s, "web", "requests.created"), 2 * 99 + 2);
}

// ---------------------------------------------------------------------------------------------
// Determinism
// ---------------------------------------------------------------------------------------------

#[test]
fn same_seed_same_summary() {
    let text = simulation("1m", "10s")
        + r#"
[[workload]]
name = "load"
target = "api"
arrival = { process = "poisson", rate = "300/s" }
key = { dist = "zipf", keys = 1000, exponent = 1.1 }
"# + &gateway(
        "api",
        "fn",
        r#"throttle = { rate = "250/s", burst = 100 }
integration_timeout = "200ms"
cache = { ttl = "2s" }"#,
    ) + r#"
[[component]]
name = "fn"
kind = "lambda"
handler = [ { compute = { dist = "exponential", mean = "40ms" } } ]
"#;
    let scenario = parse(&text);
    let json = |seed: u64| {
        let settings = RunSettings {
            seed: Some(seed),
            ..RunSettings::default()
        };
        serde_json::to_string(&run_quietly(&scenario, settings).unwrap()).unwrap()
    };
    assert_eq!(json(7), json(7));
    assert_ne!(json(7), json(8));
}

// ---------------------------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------------------------

const BASE: &str = r#"[simulation]
duration = "1m"

[[workload]]
name = "users"
target = "api"
arrival = { process = "poisson", rate = "100/s" }

[[component]]
name = "api"
kind = "api_gateway"
target = "orders"
throttle = { rate = "500/s", burst = 1000 }
methods = [ { op = "read", rate = "100/s", burst = 200 } ]
integration_timeout = "10s"
cache = { ttl = "300s" }

[[component]]
name = "orders"
kind = "lambda"
handler = [ { compute = "40ms" } ]
"#;

/// The first line of the error for BASE with `from` replaced by `to`.
fn error_for(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "test setup: `{from}` not in BASE");
    let text = BASE.replacen(from, to, 1);
    match Scenario::parse(&text, Path::new("case.toml")) {
        Ok(_) => panic!("accepted a bad scenario:\n{text}"),
        Err(e) => e.to_string().lines().next().unwrap_or_default().to_string(),
    }
}

fn assert_error(from: &str, to: &str, location: &str, parts: &[&str]) {
    let m = error_for(from, to);
    assert!(m.starts_with(location), "expected `{location}`, got: {m}");
    for part in parts {
        assert!(m.contains(part), "expected `{part}` in: {m}");
    }
}

#[test]
fn the_base_scenario_is_valid() {
    parse(BASE);
}

#[test]
fn burst_below_one_is_an_error() {
    assert_error(
        "burst = 1000",
        "burst = 0",
        "case.toml:13:",
        &["`throttle.burst` must be at least 1"],
    );
    assert_error(
        "burst = 200",
        "burst = 0",
        "case.toml:14:",
        &["`methods[0].burst` must be at least 1"],
    );
    assert_error("burst = 1000", "burst = -1", "case.toml:13:", &["burst"]);
    assert_error(
        "[[workload]]",
        "[account]\napi_gateway_throttle = { rate = \"10/s\", burst = 0 }\n\n[[workload]]",
        "case.toml:5:",
        &["`api_gateway_throttle.burst` must be at least 1"],
    );
}

#[test]
fn a_rate_of_zero_or_below_is_an_error() {
    assert_error(
        "rate = \"500/s\"",
        "rate = \"0/s\"",
        "case.toml:13:",
        &["must be greater than zero"],
    );
    assert_error(
        "rate = \"100/s\", burst",
        "rate = \"-100/s\", burst",
        "case.toml:14:",
        &["must not be negative"],
    );
}

#[test]
fn ttl_above_an_hour_is_an_error() {
    assert_error(
        "ttl = \"300s\"",
        "ttl = \"3601s\"",
        "case.toml:16:",
        &["`cache.ttl` must be at most 1h", "found 3601s"],
    );
}

#[test]
fn integration_timeout_outside_50ms_to_29s_is_an_error() {
    for bad in ["30s", "49ms"] {
        assert_error(
            "integration_timeout = \"10s\"",
            &format!("integration_timeout = \"{bad}\""),
            "case.toml:15:",
            &["`integration_timeout` must be between 50ms and 29s", bad],
        );
    }
}

#[test]
fn an_unknown_target_names_the_nearest() {
    assert_error(
        "target = \"orders\"",
        "target = \"order\"",
        "case.toml:12:",
        &["no component is named `order`", "did you mean `orders`?"],
    );
}

#[test]
fn an_unknown_or_repeated_method_op_is_an_error() {
    assert_error(
        "op = \"read\"",
        "op = \"reed\"",
        "case.toml:14:",
        &["unknown variant `reed`", "`read`"],
    );
    assert_error(
        "methods = [ { op = \"read\", rate = \"100/s\", burst = 200 } ]",
        "methods = [ { op = \"read\", rate = \"100/s\", burst = 200 }, { op = \"read\", rate = \"5/s\", burst = 5 } ]",
        "case.toml:14:",
        &["`read` already has limits in methods[0]"],
    );
}
