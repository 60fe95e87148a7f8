use super::*;
use crate::run::run_text;

#[test]
fn the_model_file_parses_with_aws_documented_ttls() {
    let d: Defaults = toml::from_str(DEFAULTS_TOML).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.default_ttl, SimDuration::from_secs(86_400));
    assert_eq!(d.max_ttl, SimDuration::from_secs(31_536_000));
    assert_eq!(d.min_ttl, SimDuration::ZERO);
}

#[test]
fn the_origin_max_age_is_clamped_and_the_default_applies_without_one() {
    let s = SimDuration::from_secs;
    let t = |age: Option<u64>| Ttls {
        default: s(100),
        min: s(10),
        max: s(1000),
        origin_max_age: age.map(s),
    };
    assert_eq!(t(None).ttl(), s(100));
    assert_eq!(t(Some(5)).ttl(), s(10));
    assert_eq!(t(Some(500)).ttl(), s(500));
    assert_eq!(t(Some(5000)).ttl(), s(1000));
}

fn scenario(cdn: &str, rate: &str, keys: u64, origin_ms: u64) -> String {
    format!(
        r#"
[simulation]
duration = "10s"
[[workload]]
name = "viewers"
target = "cdn"
arrival = {{ process = "constant", rate = "{rate}" }}
key = {{ dist = "uniform", keys = {keys} }}
[[component]]
name = "cdn"
kind = "cloudfront"
origin = "web"
{cdn}
[[component]]
name = "web"
kind = "ec2_fleet"
instances = 1
vcpus = 1000
handler = [ {{ compute = "{origin_ms}ms" }} ]
"#
    )
}

#[test]
fn one_key_misses_once_per_ttl_and_latency_adds_up_per_tier() {
    // A request every 100 ms for one key. Round trips: client-edge 20 ms, edge-regional
    // 10 ms, regional-origin 60 ms, origin 30 ms. The miss at 0.1 s reaches the origin at
    // 0.135 s, is answered at 0.165 s, fills the regional cache at 0.195 s and the edge at
    // 0.2 s: the client has it at 0.22 s (120 ms). The request at 0.2 s finds the edge filled
    // at that instant: a hit. The TTL of 1 s runs out at 1.2 s at the edge (exclusive), and
    // the regional entry at 1.195 s: the request at 1.2 s misses at both tiers.
    let s = run_text(&scenario(
        "cache = { default_ttl = \"1s\" }\nedge_latency = \"20ms\"\nregional_latency = \"10ms\"\norigin_latency = \"60ms\"",
        "10/s",
        1,
        30,
    ));
    let cdn = &s["components"]["cdn"];
    assert_eq!(cdn["tiers"]["edge"]["misses"], 9, "{cdn:#}");
    assert_eq!(cdn["tiers"]["edge"]["hits"], 90);
    assert_eq!(cdn["tiers"]["regional"]["misses"], 9);
    assert_eq!(cdn["tiers"]["regional"]["hits"], 0);
    assert_eq!(cdn["origin_requests"], 9);
    assert_eq!(s["components"]["web"]["requests"]["created"], 9);
    let mean = cdn["latency_ms"]["mean"].as_f64().unwrap();
    let expected = (90.0 * 20.0 + 9.0 * 120.0) / 99.0;
    assert!((mean - expected).abs() < 1e-9, "{mean} against {expected}");
}

#[test]
fn concurrent_misses_of_one_key_collapse_into_one_origin_request_per_burst() {
    // 1000 requests a second for one key; the origin takes 500 ms and the TTL is 0: nothing is
    // cached, so each fetch serves exactly the requests that came while it was in flight.
    // Latencies 0 except the origin's: a fetch starts at a request and ends 500 ms later, so
    // a burst is 500 requests and 10 s make 20 bursts (the last one cut at the end).
    let s = run_text(&scenario(
        "cache = { default_ttl = \"0s\" }\nedge_latency = \"0s\"\nregional_latency = \"0s\"\norigin_latency = \"0s\"",
        "1000/s",
        1,
        500,
    ));
    let cdn = &s["components"]["cdn"];
    let origin = cdn["origin_requests"].as_u64().unwrap();
    let edge = &cdn["tiers"]["edge"];
    assert_eq!(origin, 20, "{cdn:#}");
    assert_eq!(edge["misses"], 20);
    assert_eq!(edge["hits"], 0);
    assert_eq!(edge["collapsed"].as_u64().unwrap() + 20, 9_999);
    // The regional cache sees only the edge's fetches.
    assert_eq!(cdn["tiers"]["regional"]["requests"], 20);
    assert_eq!(cdn["tiers"]["regional"]["collapsed"], 0);
}

#[test]
fn writes_bypass_the_caches_and_go_to_the_origin() {
    let text = scenario("", "10/s", 1, 30).replace(
        "key = { dist = \"uniform\", keys = 1 }",
        "key = { dist = \"uniform\", keys = 1 }\nop = \"write\"",
    );
    let s = run_text(&text);
    let cdn = &s["components"]["cdn"];
    assert_eq!(cdn["passed_through"], 99);
    assert_eq!(cdn["origin_requests"], 99);
    assert_eq!(cdn["tiers"]["edge"]["requests"], 0);
    // Client 20 ms + edge-origin (10 + 60 ms) + origin 30 ms.
    assert_eq!(cdn["latency_ms"]["mean"], 120.0);
}
