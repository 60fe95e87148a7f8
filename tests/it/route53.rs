//! Route 53 (issue 20): weighted shares against their binomial bounds, and bad input with
//! located errors. The exact failover arithmetic is in the kind's unit tests
//! (`components/route53/tests.rs`).

use std::path::Path;

use awsim::run::run_quietly;
use awsim::scenario::{RunSettings, Scenario};

use crate::stats::Checks;

const WEIGHTED: &str = r#"
[simulation]
duration = "200s"
seed = 7

[[workload]]
name = "clients"
target = "www"
arrival = { process = "poisson", rate = "100/s" }

[[component]]
name = "www"
kind = "route53"
routing = "weighted"
ttl = "0s"
records = [ { target = "a", weight = 70 }, { target = "b", weight = 20 }, { target = "c", weight = 10 } ]

[[component]]
name = "a"
kind = "ec2_fleet"
instances = 1
vcpus = 100
handler = [ { compute = "5ms" } ]

[[component]]
name = "b"
kind = "ec2_fleet"
instances = 1
vcpus = 100
handler = [ { compute = "5ms" } ]

[[component]]
name = "c"
kind = "ec2_fleet"
instances = 1
vcpus = 100
handler = [ { compute = "5ms" } ]
"#;

#[test]
fn weighted_answers_follow_the_weights_within_binomial_bounds() {
    let s = run_quietly(
        &Scenario::parse(WEIGHTED, Path::new("route53.toml")).unwrap(),
        RunSettings::default(),
    )
    .unwrap();
    assert!(s.conservation.ok);
    let answers: Vec<u64> = s.components["www"]["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let n: u64 = answers.iter().sum();
    let mut checks = Checks::new("route53 weighted 70/20/10, TTL 0");
    checks.equal(
        "every request is answered (TTL 0)",
        s.components["www"]["requests"]["created"].as_u64().unwrap() as f64,
        n as f64,
    );
    for (count, p) in answers.iter().zip([0.7, 0.2, 0.1]) {
        let sigma = (n as f64 * p * (1.0 - p)).sqrt();
        checks.near("answers", n as f64 * p, *count as f64, 4.0 * sigma);
    }
    checks.finish();
}

fn parse_error(text: &str) -> String {
    match Scenario::parse(text, Path::new("route53.toml")) {
        Ok(_) => panic!("accepted a bad scenario:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn bad_input_gets_located_errors() {
    let records = "records = [ { target = \"a\", weight = 70 }";
    let line = line_of(WEIGHTED, records);
    let e = parse_error(&WEIGHTED.replace("weight = 70", "weight = 300"));
    assert!(e.starts_with(&format!("route53.toml:{line}:")), "{e}");
    assert!(e.contains("between 0 and 255"), "{e}");
    let e = parse_error(&WEIGHTED.replace("target = \"a\"", "target = \"aa\""));
    assert!(e.contains(&format!("route53.toml:{line}:")), "{e}");
    let e = parse_error(&WEIGHTED.replace(
        "ttl = \"0s\"",
        "ttl = \"0s\"\nhealth_check = { interval = \"20s\" }",
    ));
    assert!(e.contains("10s (fast)"), "{e}");
    let e = parse_error(&WEIGHTED.replace(
        "ttl = \"0s\"",
        "ttl = \"0s\"\nhealth_check = { failure_threshold = 11 }",
    ));
    assert!(e.contains("between 1 and 10"), "{e}");
    let e = parse_error(&WEIGHTED.replace("\"weighted\"", "\"failover\""));
    assert!(e.contains("one with `role = \"primary\"`"), "{e}");
    let e = parse_error(&WEIGHTED.replace("\"weighted\"", "\"latency\""));
    assert!(e.contains("needs `client_groups`"), "{e}");
    let e = parse_error(&WEIGHTED.replace("\"weighted\"", "\"wieghted\""));
    assert!(e.contains("weighted"), "{e}");
    let e = parse_error(&WEIGHTED.replace("ttl = \"0s\"", "ttl = \"0s\"\nstale_fraction = 1.5"));
    assert!(e.contains("between 0 and 1"), "{e}");
}

/// The lesson `dns_failover_ttl.toml`: detection at interval × threshold after the last
/// passed probe, the last ordinary client moving off at most a TTL later, and the seed-42
/// figures the header quotes.
#[test]
fn the_dns_failover_lesson_takes_detection_plus_the_ttl() {
    let file = Path::new("scenarios/lessons/dns_failover_ttl.toml");
    let scenario = Scenario::load(file).unwrap_or_else(|e| panic!("{e}"));
    let s = run_quietly(&scenario, RunSettings::default()).expect("run");
    assert!(s.conservation.ok);
    let mut errors = Vec::new();
    for (ttl, quoted_failover, quoted_errors) in [(300.0, 329.6, 8_864.0), (60.0, 89.9, 2_616.0)] {
        let record = &s.components[&format!("www-{ttl}")];
        let f = &record["targets"][&format!("primary-{ttl}")]["failovers"][0];
        let at = |key: &str| f[key].as_f64().unwrap();
        // The fault starts at 300.1 s, just after the probe at 300 s passed.
        assert!((300.1..300.2).contains(&at("failed_at_s")), "{f}");
        // Three failed probes 10 s apart: interval × threshold after the passed one.
        assert_eq!(at("detected_at_s"), 300.0 + 10.0 * 3.0);
        // The last client that resolved before the detection keeps its answer a TTL.
        let moved = at("clients_moved_at_s");
        assert!(
            moved <= 330.0 + ttl && moved > 330.0 + ttl - 1.0,
            "TTL {ttl}: {moved}"
        );
        assert!((at("failover_s") - (moved - at("failed_at_s"))).abs() < 1e-9);
        assert!((at("failover_s") - quoted_failover).abs() < 0.05, "{f}");
        assert_eq!(record["failover_errors"].as_f64().unwrap(), quoted_errors);
        errors.push(at("stale_errors"));
        errors.push(record["resolutions"].as_f64().unwrap());
    }
    assert_eq!(errors, [160.0, 9_227.0, 332.0, 30_905.0]);
}
