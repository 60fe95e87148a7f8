//! CloudFront (issue 20): edge hit ratios against the renewal formula of a TTL cache, the same
//! formula per tier, request collapsing, the flow of requests between tiers, and bad input
//! with located errors.
//!
//! A TTL cache whose misses start the TTL, fed a Poisson stream of rate λ for one key, cycles
//! through a miss, the fetch (d), the TTL (T) and the wait for the next request (1/λ on
//! average). Per cycle the requests are 1 + λd + λT, of which λT hit (renewal-reward), so the
//! hit ratio is exactly λT / (1 + λ(T + d)): λT/(1+λT) for an instant fetch. Over keys of
//! probabilities p_k it is Σ p_k · h(λ p_k).

use std::path::Path;

use awsim::scenario::Scenario;

use crate::stats::{Checks, number, replicate};

/// The exact hit ratio of a TTL cache fed a Poisson stream of `rate` per second, with TTL
/// `ttl` and fetch time `fetch` (seconds).
fn renewal_hit_ratio(rate: f64, ttl: f64, fetch: f64) -> f64 {
    rate * ttl / (1.0 + rate * (ttl + fetch))
}

/// Zipf probabilities of `keys` keys with `exponent` (key 0 the most popular).
fn zipf(keys: u64, exponent: f64) -> Vec<f64> {
    let weights: Vec<f64> = (1..=keys).map(|k| (k as f64).powf(-exponent)).collect();
    let total: f64 = weights.iter().sum();
    weights.into_iter().map(|w| w / total).collect()
}

/// Viewers (Poisson, Zipf keys) → a distribution with `cdn` settings → a fleet answering in
/// 1 ms.
fn scenario(cdn: &str, rate: f64, keys: u64, exponent: f64) -> String {
    format!(
        r#"
[simulation]
duration = "130s"
warmup = "10s"

[[workload]]
name = "viewers"
target = "cdn"
arrival = {{ process = "poisson", rate = "{rate}/s" }}
key = {{ dist = "zipf", keys = {keys}, exponent = {exponent} }}

[[component]]
name = "cdn"
kind = "cloudfront"
origin = "web"
edge_latency = "0s"
regional_latency = "0s"
origin_latency = "0s"
{cdn}

[[component]]
name = "web"
kind = "ec2_fleet"
instances = 1
vcpus = 1000
handler = [ {{ compute = "1ms" }} ]
"#
    )
}

#[test]
fn the_edge_hit_ratio_is_the_renewal_formula_summed_over_zipf_keys() {
    let (rate, keys, exponent, ttl, fetch) = (300.0, 2_000, 0.9, 4.0, 0.001);
    let text = scenario("cache = { default_ttl = \"4s\" }", rate, keys, exponent);
    let exact: f64 = zipf(keys, exponent)
        .iter()
        .map(|p| p * renewal_hit_ratio(rate * p, ttl, fetch))
        .sum();
    let runs = replicate(&text, 12, |s| {
        (
            number(&s.components, &["cdn", "cache_hit_ratio"]),
            number(&s.components, &["cdn", "tiers", "regional", "hit_ratio"]),
        )
    });
    let mut checks = Checks::new("cloudfront, one edge, TTL 4 s, Zipf 0.9 over 2 000 keys");
    checks.ci("edge hit ratio", exact, runs.iter().map(|r| r.0));
    // One edge and one regional cache with the same TTL: the regional entry is filled by the
    // same fetch as the edge's, a moment earlier, so it has always expired when the edge
    // misses again.
    checks.holds(
        "the regional cache never hits behind a single edge",
        runs.iter().all(|r| r.1 == 0.0),
        format!("{:?}", runs.iter().map(|r| r.1).collect::<Vec<_>>()),
    );
    checks.finish();
}

#[test]
fn each_tier_follows_the_formula_for_the_requests_it_sees() {
    // Eight edges with an eighth of the clients each, one regional cache, TTL 2 s at both
    // (a cache policy applies at every tier).
    let (rate, keys, exponent, ttl, fetch) = (400.0, 500, 1.0, 2.0, 0.001);
    let edges = 8;
    let list: Vec<String> = (0..edges)
        .map(|i| format!("{{ name = \"e{i}\", share = 0.125 }}"))
        .collect();
    let cdn = format!(
        "cache = {{ default_ttl = \"2s\" }}\nedge_locations = [ {} ]",
        list.join(", ")
    );
    let text = scenario(&cdn, rate, keys, exponent);
    let p = zipf(keys, exponent);
    let per_edge = rate / edges as f64;
    let edge_exact: f64 = p
        .iter()
        .map(|p| p * renewal_hit_ratio(per_edge * p, ttl, fetch))
        .sum();
    // The regional cache sees the edges' misses: per key, edges × λ_e p (1 − h_e). Their
    // superposition is close to Poisson when the edges are many and each edge's misses are
    // rare; the formula then holds at the regional tier for that rate.
    let regional_rates: Vec<f64> = p
        .iter()
        .map(|p| {
            let lambda = per_edge * p;
            edges as f64 * lambda * (1.0 - renewal_hit_ratio(lambda, ttl, fetch))
        })
        .collect();
    let regional_total: f64 = regional_rates.iter().sum();
    let regional_exact: f64 = regional_rates
        .iter()
        .map(|r| r / regional_total * renewal_hit_ratio(*r, ttl, fetch))
        .sum();
    let runs = replicate(&text, 12, |s| {
        (
            number(&s.components, &["cdn", "cache_hit_ratio"]),
            number(&s.components, &["cdn", "tiers", "regional", "hit_ratio"]),
            number(&s.components, &["cdn", "tiers", "edge", "misses"]),
            number(&s.components, &["cdn", "tiers", "regional", "requests"]),
        )
    });
    let mut checks = Checks::new("cloudfront, 8 edges, TTL 2 s, Zipf 1.0 over 500 keys");
    checks.ci("edge hit ratio", edge_exact, runs.iter().map(|r| r.0));
    let observed: f64 = runs.iter().map(|r| r.1).sum::<f64>() / runs.len() as f64;
    checks.near(
        "regional hit ratio (Poisson approximation of the edges' misses)",
        regional_exact,
        observed,
        0.03,
    );
    checks.holds(
        "every edge miss is one regional request",
        runs.iter().all(|r| r.2 == r.3),
        format!("{:?}", runs.iter().map(|r| (r.2, r.3)).collect::<Vec<_>>()),
    );
    checks.finish();
}

fn parse_error(text: &str) -> String {
    match Scenario::parse(text, Path::new("cdn.toml")) {
        Ok(_) => panic!("accepted a bad scenario:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_input_gets_located_errors() {
    let base = scenario(
        "edge_locations = [ { name = \"iad\", share = 0.5, regional = \"us\" }, { name = \"fra\", share = 0.5, regional = \"us\" } ]\nregional_edge_caches = [\"us\"]\ncache = { default_ttl = \"60s\" }",
        10.0,
        10,
        1.0,
    );
    let edges = base
        .lines()
        .position(|l| l.contains("edge_locations"))
        .unwrap()
        + 1;
    // Shares that do not add up to 1.
    let e = parse_error(&base.replace(
        "share = 0.5, regional = \"us\" }, {",
        "share = 0.4, regional = \"us\" }, {",
    ));
    assert!(e.starts_with(&format!("cdn.toml:{edges}:")), "{e}");
    assert!(e.contains("add up to 1"), "{e}");
    // A misspelt regional cache: the nearest name.
    let e = parse_error(&base.replacen("regional = \"us\"", "regional = \"usa\"", 1));
    assert!(e.starts_with(&format!("cdn.toml:{edges}:")), "{e}");
    assert!(e.contains("`usa`") && e.contains("`us`"), "{e}");
    // TTLs out of order.
    let e = parse_error(&base.replace(
        "cache = { default_ttl = \"60s\" }",
        "cache = { default_ttl = \"60s\", max_ttl = \"30s\" }",
    ));
    assert!(e.contains("min_ttl ≤ default_ttl ≤ max_ttl"), "{e}");
    // A behavior for an operation CloudFront never caches.
    let e = parse_error(&base.replace(
        "cache = { default_ttl = \"60s\" }",
        "behaviors = [ { op = \"write\", default_ttl = \"5s\" } ]",
    ));
    assert!(e.contains("never caches `write`"), "{e}");
    // An unknown field.
    let e = parse_error(&base.replace("cache = {", "cache = { ttl = \"5s\","));
    assert!(e.contains("default_ttl"), "{e}");
    // An origin that does not exist.
    let e = parse_error(&base.replace("origin = \"web\"", "origin = \"wbe\""));
    assert!(e.contains("web"), "{e}");
}

/// The lesson `cdn_offload.toml`: the seed-42 figures its header quotes, and the edge hit
/// ratio against the renewal formula for 125 requests per second per edge.
#[test]
fn the_cdn_offload_lesson_shows_what_its_header_quotes() {
    let file = Path::new("scenarios/lessons/cdn_offload.toml");
    let scenario = Scenario::load(file).unwrap_or_else(|e| panic!("{e}"));
    let s =
        awsim::run::run_quietly(&scenario, awsim::scenario::RunSettings::default()).expect("run");
    assert!(s.conservation.ok);
    let c = &s.components;
    let at = |path: &[&str]| number(c, path);
    // No CDN: 500/s × 20 ms = 10 busy vCPUs of 16 × 4.
    let direct = at(&["origin-direct", "utilisation"]);
    assert!((direct - 10.0 / 64.0).abs() < 0.005, "{direct}");
    // The edge tier: 125/s per edge, TTL 60 s, a fetch of about 90 ms.
    let exact: f64 = zipf(50_000, 0.9)
        .iter()
        .map(|p| p * renewal_hit_ratio(125.0 * p, 60.0, 0.09))
        .sum();
    assert!((exact - 0.508).abs() < 0.001, "{exact}");
    for cdn in ["cdn", "shield"] {
        let edge = at(&[cdn, "tiers", "edge", "hit_ratio"]);
        assert!(
            (edge - exact).abs() < 0.005,
            "{cdn}: {edge} against {exact}"
        );
        assert!((edge - 0.51).abs() < 0.005, "{cdn}: {edge}");
    }
    let near = |path: &[&str], quoted: f64| {
        let v = at(path);
        assert!((v - quoted).abs() < 0.005, "{path:?}: {v} against {quoted}");
    };
    near(&["cdn", "tiers", "regional", "hit_ratio"], 0.16);
    near(&["cdn", "origin_offload"], 0.59);
    near(&["shield", "tiers", "shield", "hit_ratio"], 0.20);
    near(&["shield", "origin_offload"], 0.67);
    near(&["origin-cdn", "utilisation"], 0.064);
    near(&["origin-shield", "utilisation"], 0.052);
    assert!((at(&["origin-cdn", "in_flight_mean"]) - 4.1).abs() < 0.05);
    // What reaches each origin is what its distribution did not answer.
    for (cdn, origin) in [("cdn", "origin-cdn"), ("shield", "origin-shield")] {
        let sent = at(&[cdn, "origin_requests"]);
        let offload = at(&[cdn, "origin_offload"]);
        let requests = at(&[cdn, "tiers", "edge", "requests"]);
        assert!((sent / requests - (1.0 - offload)).abs() < 1e-9);
        assert!((at(&[origin, "requests", "created"]) - sent).abs() <= 10.0);
    }
    let p99 = |w: &str| number(&s.workloads, &[w, "latency_ms", "p99"]);
    let p50 = |w: &str| number(&s.workloads, &[w, "latency_ms", "p50"]);
    assert!((p50("viewers-cdn") - 20.0).abs() < 0.1);
    assert!((p99("viewers-cdn") - 110.0).abs() < 0.5);
    assert!((p99("viewers-shield") - 112.0).abs() < 0.5);
}
