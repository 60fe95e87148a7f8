//! ElastiCache (issue 19): an LRU cache under independent Zipf requests against Che's
//! approximation, a TTL cache against the exact renewal formula, the shards' shares of a Zipf
//! load against the keys' exact probabilities through CRC16 hash slots, a hot key saturating
//! its shard, writes refused without eviction, determinism, and bad input.
//!
//! # How tolerances are derived
//! As in `theory.rs`: R = 10 replications (seeds 1..=10, each discarding its own warm-up), one
//! estimate per run, a 95 % Student-t interval; an exact value must lie within 3 half-widths
//! (`Checks::ci`). Che's approximation is not exact: for an LRU cache of C ≥ 100 items under
//! Zipf requests its error is well under one percentage point (Fricker, Robert and Roberts,
//! "A versatile and accurate approximation for LRU cache performance", ITC 2012); the LRU
//! check allows 3 half-widths plus 0.01 absolute, and says so.
//!
//! # Time budget
//! About 15 s of wall time on 2 cores (`cargo test --release --test it elasticache --
//! --nocapture` prints each case's numbers and wall time).

use std::path::Path;

use awsim::run::run_quietly;
use awsim::scenario::{RunSettings, Scenario};

use crate::stats::{Checks, ConfidenceInterval, counts, number, replicate};

/// Replications per statistical check.
const R: u64 = 10;

/// Zipf popularity of keys 0..n (key k has rank k + 1) with exponent `s`.
fn zipf(n: usize, s: f64) -> Vec<f64> {
    let w: Vec<f64> = (1..=n).map(|r| (r as f64).powf(-s)).collect();
    let total: f64 = w.iter().sum();
    w.into_iter().map(|x| x / total).collect()
}

/// Poisson reads of Zipf keys into a cache whose misses read a database answering in 1 ms.
fn cache_aside(rate: f64, keys: usize, exponent: f64, times: &str, cache: &str) -> String {
    format!(
        r#"
[simulation]
{times}

[[workload]]
name = "reads"
target = "cache"
op = "read"
item_kb = 400
arrival = {{ process = "poisson", rate = "{rate}/s" }}
key = {{ dist = "zipf", keys = {keys}, exponent = {exponent} }}

[[component]]
name = "cache"
kind = "elasticache"
command_time = "0s"
on_miss = {{ call = "db" }}
{cache}

[[component]]
name = "db"
kind = "rds"
instance_class = "db.m5.4xlarge"
query_cpu = {{ default = "1ms" }}
"#
    )
}

fn hit_ratio(s: &awsim::run::summary::Summary) -> f64 {
    let c = &s.components;
    number(c, &["cache", "hits"])
        / (number(c, &["cache", "hits"]) + number(c, &["cache", "misses"]))
}

#[test]
fn an_lru_cache_under_zipf_requests_follows_che_s_approximation() {
    // cache.t3.micro: maxmemory 536 870 912 bytes, 25 % reserved: 402 653 184 bytes for data;
    // items of 400 KB plus 64 bytes: C = 982 items of N = 10 000 Zipf(0.8) keys.
    let (n, s) = (10_000, 0.8);
    let c = (402_653_184u64 / (400 * 1024 + 64)) as f64;
    let q = zipf(n, s);
    // Che: the characteristic time T solves Σ (1 − e^{−q_k T}) = C; the hit ratio is
    // Σ q_k (1 − e^{−q_k T}) (time in units of requests: the rate cancels).
    let filled = |t: f64| q.iter().map(|p| 1.0 - (-p * t).exp()).sum::<f64>();
    let (mut lo, mut hi) = (0.0, 1e9);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if filled(mid) < c { lo = mid } else { hi = mid }
    }
    let che: f64 = q.iter().map(|p| p * (1.0 - (-p * lo).exp())).sum();
    let text = cache_aside(
        2000.0,
        n,
        s,
        "duration = \"100s\"\nwarmup = \"20s\"",
        "node_type = \"cache.t3.micro\"\nmaxmemory_policy = \"allkeys-lru\"",
    );
    let runs = replicate(&text, R, |s| {
        let c = &s.components;
        (
            hit_ratio(s),
            number(c, &["cache", "items"]),
            number(c, &["cache", "evictions"]),
        )
    });
    let mut checks = Checks::new("elasticache LRU, Zipf(0.8), N = 10 000, C = 982");
    let ci = ConfidenceInterval::from_replications(&runs.iter().map(|r| r.0).collect::<Vec<_>>());
    checks.holds(
        "hit ratio = Che's approximation (3 half-widths + 0.01)",
        (ci.mean - che).abs() <= 3.0 * ci.half_width + 0.01,
        format!("Che {che:.4}, simulated {ci}"),
    );
    checks.holds(
        "the cache is full at the end, and evicts",
        runs.iter().all(|r| r.1 == c && r.2 > 0.0),
        format!("{:?}", runs.iter().map(|r| (r.1, r.2)).collect::<Vec<_>>()),
    );
    checks.finish();
}

#[test]
fn a_ttl_cache_follows_the_exact_renewal_formula() {
    // Memory far above the keys (cache.r6g.4xlarge, 1 000 keys of 400 KB): only the TTL takes
    // items out. A miss at 0 fills at d (the database's 1 ms); the misses in (0, d) fill again
    // at their own time + d, the last of them (t_m) setting the expiry at t_m + d + T; after it
    // the next request is a miss. Per key (Poisson rate λ), by the renewal-reward theorem:
    // h = λ(T + E t_m) / (1 + λd + λ(T + E t_m)), with E t_m = d − (1 − e^{−λd})/λ.
    let (n, s, rate, ttl, d) = (1000, 1.0, 200.0, 2.0, 0.001);
    let exact: f64 = zipf(n, s)
        .iter()
        .map(|q| {
            let l = rate * q;
            let tm = d - (1.0 - (-l * d).exp()) / l;
            q * l * (ttl + tm) / (1.0 + l * d + l * (ttl + tm))
        })
        .sum();
    let text = cache_aside(
        rate,
        n,
        s,
        "duration = \"330s\"\nwarmup = \"30s\"",
        "node_type = \"cache.r6g.4xlarge\"\nttl = \"2s\"",
    );
    let runs = replicate(&text, R, |s| {
        (hit_ratio(s), number(&s.components, &["cache", "evictions"]))
    });
    let mut checks = Checks::new("elasticache TTL 2 s, Zipf(1.0), N = 1 000, 200 reads/s");
    checks.ci(
        "hit ratio = renewal formula",
        exact,
        runs.iter().map(|r| r.0),
    );
    checks.holds(
        "nothing evicted (memory is ample)",
        runs.iter().all(|r| r.1 == 0.0),
        format!("{:?}", runs.iter().map(|r| r.1).collect::<Vec<_>>()),
    );
    checks.finish();
}

/// CRC16/XMODEM, written again here from the Redis cluster specification (polynomial 0x1021).
fn crc16(bytes: &[u8]) -> u16 {
    let mut crc = 0u16;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The shard of key `k` among `shards` (redis-cli's even contiguous slot ranges).
fn shard_of_key(k: usize, shards: usize) -> usize {
    let slot = (crc16(k.to_string().as_bytes()) % 16384) as f64;
    let per = 16384.0 / shards as f64;
    (0..shards)
        .find(|&i| i == shards - 1 || slot <= ((i + 1) as f64 * per - 1.0).round())
        .unwrap()
}

#[test]
fn shards_take_the_exact_share_of_their_keys_and_a_hot_key_saturates_one() {
    // 4 shards, reads without on_miss (one GET each), Zipf(1.2) over 1 000 keys; each command
    // takes 1 ms on its shard's thread: 1 000 commands/s per shard at most.
    let (n, s, shards, rate) = (1000, 1.2, 4, 3000.0);
    let q = zipf(n, s);
    let mut share = vec![0.0; shards];
    for (k, p) in q.iter().enumerate() {
        share[shard_of_key(k, shards)] += p;
    }
    let hot = shard_of_key(0, shards);
    let text = format!(
        r#"
[simulation]
duration = "70s"
warmup = "10s"

[[workload]]
name = "reads"
target = "cache"
op = "read"
arrival = {{ process = "poisson", rate = "{rate}/s" }}
key = {{ dist = "zipf", keys = {n}, exponent = {s} }}

[[component]]
name = "cache"
kind = "elasticache"
node_type = "cache.m6g.large"
shards = {shards}
command_time = "1ms"
"#
    );
    let runs = replicate(&text, R, |s| {
        let c = &s.components;
        (
            counts(c, &["cache", "shard_ops"]),
            number(c, &["cache", "requests", "created"]),
            number(c, &["cache", "engine_cpu_busiest"]),
        )
    });
    let mut checks = Checks::new("elasticache 4 shards, Zipf(1.2), N = 1 000");
    // Offered per shard: rate × share. The hot shard is offered more than its thread can run
    // (ρ > 1): it serves at most 1 000/s, busy all the time, and its queue grows; the others
    // serve what they are offered (their commands counted by the arrival of their request).
    println!("exact shares {share:?}, hot shard {hot}");
    checks.holds(
        "the hot key's shard is offered more than one thread can run",
        rate * share[hot] > 1000.0,
        format!("{} commands/s", rate * share[hot]),
    );
    for (i, p) in share.iter().enumerate() {
        if i == hot {
            continue;
        }
        checks.ci(
            &format!("shard {i}: commands/s = rate × its keys' probability"),
            rate * p,
            runs.iter().map(|r| r.0[i] as f64 / 60.0),
        );
    }
    checks.holds(
        "the hot shard's engine is saturated",
        runs.iter()
            .all(|r| r.2 > 0.99 && r.0[hot] as f64 / 60.0 <= 1000.0 + 1e-9),
        format!(
            "{:?}",
            runs.iter().map(|r| (r.2, r.0[hot])).collect::<Vec<_>>()
        ),
    );
    checks.finish();
}

/// Runs `text` once with `seed`.
fn run(text: &str, seed: u64) -> awsim::run::summary::Summary {
    let scenario = Scenario::parse(text, Path::new("case.toml")).unwrap_or_else(|e| panic!("{e}"));
    let settings = RunSettings {
        seed: Some(seed),
        duration: None,
        interval: None,
    };
    run_quietly(&scenario, settings).unwrap()
}

#[test]
fn without_eviction_writes_that_do_not_fit_are_refused_and_runs_repeat() {
    // The default policy (volatile-lru) with no ttl: nothing may be evicted. 2 000 uniform
    // keys of 400 KB against room for 982: the cache fills to 982 items and refuses the
    // rest of the fills, which still answer the database's item.
    let text = cache_aside(
        500.0,
        2000,
        1.0,
        "duration = \"60s\"",
        "node_type = \"cache.t3.micro\"",
    )
    .replace(
        "dist = \"zipf\", keys = 2000, exponent = 1",
        "dist = \"uniform\", keys = 2000",
    );
    let a = run(&text, 7);
    assert!(a.conservation.ok);
    let c = &a.components;
    assert_eq!(number(c, &["cache", "items"]), 982.0);
    assert_eq!(number(c, &["cache", "evictions"]), 0.0);
    assert!(number(c, &["cache", "writes_refused"]) > 1000.0);
    assert_eq!(number(c, &["cache", "requests", "failed"]), 0.0);
    let b = run(&text, 7);
    assert_eq!(
        serde_json::to_string(&a.components).unwrap(),
        serde_json::to_string(&b.components).unwrap(),
        "same scenario and seed, same figures"
    );
}

/// The error text for `text`, which must be refused.
fn error_of(text: &str) -> String {
    match Scenario::parse(text, Path::new("case.toml")) {
        Ok(_) => panic!("accepted a bad scenario:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_cache_specs_are_refused_with_their_place() {
    let with = |cache: &str| cache_aside(10.0, 100, 1.0, "duration = \"10s\"", cache);
    let line = |m: &str, l: u32| m.contains(&format!("case.toml:{l}:"));
    // The cache's own lines start at 18 (after `on_miss`).
    let m = error_of(&with("node_type = \"cache.r6g.larg\""));
    assert!(
        line(&m, 18) && m.contains("did you mean `cache.r6g.large`"),
        "{m}"
    );
    let m = error_of(&with("node_type = \"cache.r6g.large\"\nshards = 0"));
    assert!(line(&m, 19) && m.contains("from 1 to 500"), "{m}");
    let m = error_of(&with("node_type = \"cache.r6g.large\"\nshards = 501"));
    assert!(line(&m, 19) && m.contains("from 1 to 500"), "{m}");
    let m = error_of(&with(
        "node_type = \"cache.r6g.large\"\nreserved_memory_percent = 100",
    ));
    assert!(line(&m, 19) && m.contains("0 to 99"), "{m}");
    let m = error_of(&with(
        "node_type = \"cache.r6g.large\"\nengine = \"memcached\"",
    ));
    assert!(
        line(&m, 19) && m.contains("Memcached is not modelled"),
        "{m}"
    );
    let m = error_of(&with(
        "node_type = \"cache.r6g.large\"\nmaxmemory_policy = \"allkeys-lfu\"",
    ));
    assert!(line(&m, 19) && m.contains("allkeys-lru"), "{m}");
    let m = error_of(&with("node_type = \"cache.r6g.large\"\nttl = \"0s\""));
    assert!(line(&m, 19), "{m}");
    let m = error_of(
        &with("node_type = \"cache.r6g.large\"").replace("call = \"db\"", "call = \"dbb\""),
    );
    assert!(
        m.contains("on_miss.call") && m.contains("did you mean `db`"),
        "{m}"
    );
    let m = error_of(&with("node_type = \"cache.r6g.large\"\nmemory = \"1GiB\""));
    assert!(line(&m, 19) && m.contains("unknown field `memory`"), "{m}");
}
