//! SNS (issue 18): fan-out conserves messages per subscription (a ledger), filter policies
//! against their exact or binomial shares, the publish quota against exact token-bucket
//! counts, the FIFO rules, determinism, and bad input with located errors.

use std::path::Path;

use awsim::run::run_quietly;
use awsim::run::summary::Summary;
use awsim::scenario::{RunSettings, Scenario};
use serde_json::Value;

fn parse(text: &str) -> Scenario {
    Scenario::parse(text, Path::new("sns.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn run_once(text: &str) -> Summary {
    let s = run_quietly(&parse(text), RunSettings::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(s.conservation.ok, "conservation: {:?}", s.conservation);
    s
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("a count, found {v}"))
}

/// A topic fanned out to a standard queue, a function, an HTTP endpoint that refuses most
/// deliveries (an API whose stage lets 1 request a second through), and two filtered queues.
const FANOUT: &str = r#"
[simulation]
duration = "5m"
warmup = "10s"
seed = 3

[[workload]]
name = "publishers"
target = "topic"
arrival = { process = "poisson", rate = "50/s" }
key = { dist = "uniform", keys = 10 }
op = "write"

[[component]]
name = "topic"
kind = "sns"
subscriptions = [
  { endpoint = "all" },
  { endpoint = "fn" },
  { endpoint = "partner", dead_letter_queue = "dlq" },
  { endpoint = "partner" },
  { endpoint = "some", filter = { fraction = 0.3 } },
  { endpoint = "keyed", filter = { keys = [1, 2, 3], ops = ["write"] } },
  { endpoint = "reads", filter = { ops = ["read"] } },
]

[[component]]
name = "all"
kind = "sqs"

[[component]]
name = "some"
kind = "sqs"

[[component]]
name = "keyed"
kind = "sqs"

[[component]]
name = "reads"
kind = "sqs"

[[component]]
name = "dlq"
kind = "sqs"

[[component]]
name = "fn"
kind = "lambda"
handler = [ { compute = "10ms" } ]

[[component]]
name = "partner"
kind = "api_gateway"
target = "backend"
throttle = { rate = "1/s", burst = 1 }

[[component]]
name = "backend"
kind = "ec2_fleet"
instances = 1
vcpus = 100
handler = [ { compute = "5ms" } ]
"#;

#[test]
fn fan_out_conserves_every_subscriptions_messages() {
    let s = run_once(FANOUT);
    let topic = &s.components["topic"];
    let published = u(&topic["published"]);
    assert!(published > 4_000, "{topic}");
    assert_eq!(
        published,
        u(&topic["requests"]["completed"]),
        "every publish accepted"
    );
    let subs = topic["subscriptions"].as_array().unwrap();
    let mut deliveries = 0;
    for sub in subs {
        let made = u(&sub["deliveries"]);
        // The ledger: published × matching = delivered + dead-lettered + lost + in flight.
        assert_eq!(
            made,
            u(&sub["delivered"])
                + u(&sub["dead_lettered"])
                + u(&sub["lost"])
                + u(&sub["in_flight"]),
            "{sub}"
        );
        assert_eq!(made + u(&sub["filtered_out"]), published, "{sub}");
        deliveries += made;
    }
    assert_eq!(u(&topic["deliveries"]), deliveries);
    // Unfiltered subscriptions get every message; the queues and the function take them all.
    for i in [0, 1, 2, 3] {
        assert_eq!(u(&subs[i]["deliveries"]), published);
    }
    for i in [0, 1] {
        assert_eq!(u(&subs[i]["retries"]), 0, "{}", subs[i]);
    }
    // The partner refuses all but about one a second: most deliveries exhaust the HTTP/S
    // policy (3 retries, 20 s apart); with a DLQ they are dead-lettered, without one lost.
    assert!(u(&subs[2]["dead_lettered"]) > published / 2, "{}", subs[2]);
    assert_eq!(u(&subs[2]["lost"]), 0);
    assert!(u(&subs[3]["lost"]) > published / 2, "{}", subs[3]);
    assert_eq!(u(&subs[3]["dead_lettered"]), 0);
    assert!(
        u(&subs[2]["in_flight"]) > 0,
        "deliveries still retrying at the end"
    );
    // The dead-letter queue received what was dead-lettered (sends in the window).
    assert!(u(&s.components["dlq"]["requests"]["created"]) >= u(&subs[2]["dead_lettered"]));
    // A fraction filter passes a binomial share: within 4 standard deviations of 0.3.
    let n = published as f64;
    let share = u(&subs[4]["deliveries"]) as f64;
    let sd = (n * 0.3 * 0.7).sqrt();
    assert!((share - 0.3 * n).abs() < 4.0 * sd, "{share} of {n}");
    // Keys 1..=3 of 10 uniform keys: a binomial share of 0.3 too; no read is published.
    let keyed = u(&subs[5]["deliveries"]) as f64;
    assert!((keyed - 0.3 * n).abs() < 4.0 * sd, "{keyed} of {n}");
    assert_eq!(u(&subs[6]["deliveries"]), 0);
    assert_eq!(u(&subs[6]["filtered_out"]), published);
    // The queue received each delivery as a send. Its window counts sends arriving after the
    // warm-up, which adds the deliveries of messages published in the 20 ms before it ends
    // (about 1 at 50/s) to the topic's in-window count.
    let sends = u(&s.components["all"]["requests"]["created"]);
    let delivered = u(&subs[0]["delivered"]);
    assert!(
        (delivered..=delivered + 10).contains(&sends),
        "{sends} {delivered}"
    );
}

#[test]
fn a_fan_out_run_is_deterministic() {
    let a = serde_json::to_string(&run_once(FANOUT).components["topic"]).unwrap();
    let b = serde_json::to_string(&run_once(FANOUT).components["topic"]).unwrap();
    assert_eq!(a, b);
}

/// Admitted arrivals of evenly spaced arrivals at `a`/s in [0, `secs`) against a full bucket
/// of rate `r`/s and burst `b`: min(n, b + ⌊r·(tₙ − t₁)⌋) with n = a·secs − 1 (see
/// `api_gateway.rs` for the derivation).
fn admitted_theory(a: u64, r: u64, b: u64, secs: u64) -> u64 {
    let n = a * secs - 1;
    (b + r * (n - 1) / a).min(n)
}

fn throttled_topic(a: u64, r: u64, b: u64, secs: u64, fifo: bool) -> String {
    let (topic_type, queue_type) = if fifo {
        ("type = \"fifo\"", "type = \"fifo\"")
    } else {
        ("", "")
    };
    let throttle = if r > 0 {
        format!("publish_throttle = {{ rate = \"{r}/s\", burst = {b} }}")
    } else {
        String::new()
    };
    format!(
        r#"
[simulation]
duration = "{secs}s"

[[workload]]
name = "load"
target = "topic"
arrival = {{ process = "constant", rate = "{a}/s" }}

[[component]]
name = "topic"
kind = "sns"
{topic_type}
{throttle}
subscriptions = [ {{ endpoint = "q" }} ]

[[component]]
name = "q"
kind = "sqs"
{queue_type}
"#
    )
}

#[test]
fn the_publish_quota_admits_exactly_burst_plus_rate_times_time() {
    for (a, r, b, secs) in [(1000, 100, 200, 10), (500, 7, 50, 20), (300, 10, 1, 10)] {
        let s = run_once(&throttled_topic(a, r, b, secs, false));
        let topic = &s.components["topic"];
        let created = u(&topic["requests"]["created"]);
        let expected = admitted_theory(a, r, b, secs);
        assert_eq!(created, a * secs - 1);
        assert_eq!(u(&topic["published"]), expected, "a={a} r={r} b={b}");
        assert_eq!(u(&topic["throttled"]), created - expected);
        assert_eq!(
            u(&s.workloads["load"]["requests"]["throttled"]),
            created - expected
        );
    }
}

#[test]
fn a_fifo_topic_is_held_to_3000_publishes_a_second_by_default() {
    // 5 000/s for 4 s against the FIFO default (3 000/s, burst 3 000).
    let s = run_once(&throttled_topic(5000, 0, 0, 4, true));
    let topic = &s.components["topic"];
    assert_eq!(u(&topic["published"]), admitted_theory(5000, 3000, 3000, 4));
    // The FIFO queue's own 300 sends a second throttle deliveries: SNS retries them.
    assert!(u(&topic["retries"]) > 0, "{topic}");
}

/// The build error (at run time) of a scenario that validates.
fn build_error(text: &str) -> String {
    match parse(text).build(RunSettings::default()) {
        Ok(_) => panic!("built a bad scenario:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn fifo_topics_deliver_only_to_fifo_queues() {
    // A FIFO topic and a standard queue.
    let mixed = throttled_topic(10, 0, 0, 1, true)
        .replace("kind = \"sqs\"\ntype = \"fifo\"", "kind = \"sqs\"");
    let e = build_error(&mixed);
    assert!(e.contains("sns.toml:"), "{e}");
    assert!(e.contains("FIFO topics deliver only to FIFO queues"), "{e}");
    // A standard topic and a FIFO queue.
    let mixed = throttled_topic(10, 0, 0, 1, false)
        .replace("kind = \"sqs\"\n", "kind = \"sqs\"\ntype = \"fifo\"\n");
    let e = build_error(&mixed);
    assert!(e.contains("`q` is a FIFO queue"), "{e}");
    // A FIFO topic and a function.
    let to_fn = throttled_topic(10, 0, 0, 1, true).replace(
        "name = \"q\"\nkind = \"sqs\"\ntype = \"fifo\"",
        "name = \"q\"\nkind = \"lambda\"\nhandler = [ { compute = \"1ms\" } ]",
    );
    let e = build_error(&to_fn);
    assert!(
        e.contains("delivers only to FIFO queues, and `q` is a lambda"),
        "{e}"
    );
}

fn parse_error(text: &str) -> String {
    match Scenario::parse(text, Path::new("sns.toml")) {
        Ok(_) => panic!("accepted a bad scenario:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_input_gets_located_errors() {
    let base = throttled_topic(10, 0, 0, 1, false);
    // A misspelt endpoint: its place and the nearest name.
    let e = parse_error(&base.replace("endpoint = \"q\"", "endpoint = \"qq\""));
    let line = base
        .lines()
        .position(|l| l.contains("endpoint = \"q\""))
        .unwrap()
        + 1;
    assert!(e.starts_with(&format!("sns.toml:{line}:")), "{e}");
    assert!(e.contains("`q`"), "{e}");
    // An unknown field of a subscription.
    let e = parse_error(&base.replace(
        "endpoint = \"q\" }",
        "endpoint = \"q\", dead_letter = \"q\" }",
    ));
    assert!(e.contains(&format!("sns.toml:{line}:")), "{e}");
    assert!(e.contains("dead_letter_queue"), "{e}");
    // A fraction above 1.
    let e = parse_error(&base.replace(
        "endpoint = \"q\" }",
        "endpoint = \"q\", filter = { fraction = 1.5 } }",
    ));
    assert!(e.contains(&format!("sns.toml:{line}:")), "{e}");
    assert!(e.contains("between 0 and 1, found 1.5"), "{e}");
    // An HTTP/S policy beyond SNS's hour.
    let e = parse_error(&base.replace(
        "endpoint = \"q\" }",
        "endpoint = \"q\", delivery_policy = { num_retries = 100, min_delay_target = \"60s\", max_delay_target = \"60s\" } }",
    ));
    assert!(e.contains(&format!("sns.toml:{line}:")), "{e}");
    assert!(e.contains("caps an HTTP/S policy at 1h"), "{e}");
    // A misspelt back-off function.
    let e = parse_error(&base.replace(
        "endpoint = \"q\" }",
        "endpoint = \"q\", delivery_policy = { backoff_function = \"exponentail\" } }",
    ));
    assert!(e.contains("exponential"), "{e}");
    // No subscription.
    let e = parse_error(&base.replace("{ endpoint = \"q\" }", ""));
    assert!(e.contains("at least one subscription"), "{e}");
    // A delivery policy on a queue's subscription (SNS's managed policy is fixed).
    let e = build_error(&base.replace(
        "endpoint = \"q\" }",
        "endpoint = \"q\", delivery_policy = { num_retries = 5 } }",
    ));
    assert!(e.contains("cannot be changed"), "{e}");
    // A topic subscribed to itself.
    let e = build_error(&base.replace("endpoint = \"q\"", "endpoint = \"topic\""));
    assert!(e.contains("subscribes to itself"), "{e}");
}

/// The lesson `sns_fanout.toml`: one publish becomes one delivery per subscription, and each
/// function subscriber's concurrency is the publish rate times its duration (Little's law);
/// the one capped below that falls behind by the difference.
#[test]
fn the_fanout_lesson_multiplies_downstream_concurrency() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lessons/sns_fanout.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let scenario = Scenario::parse(&text, &path).unwrap_or_else(|e| panic!("{e}"));
    let s = run_quietly(&scenario, RunSettings::default()).unwrap();
    assert!(s.conservation.ok);
    let topic = &s.components["order-events"];
    let published = u(&topic["published"]);
    assert_eq!(
        u(&topic["deliveries"]),
        5 * published,
        "five subscriptions, no filter drops"
    );
    assert_eq!(u(&topic["retries"]), 0);
    let window = 240.0;
    for (name, secs) in [("billing", 0.2), ("shipping", 0.3), ("receipts", 0.1)] {
        let f = &s.components[name];
        let rate = u(&f["events_accepted"]) as f64 / window;
        let little = rate * secs;
        let mean = f["concurrency_mean"].as_f64().unwrap();
        assert!(
            (mean - little).abs() < 0.02 * little,
            "{name}: concurrency {mean} against λ·S = {little}"
        );
    }
    // 200/s × 0.5 s = 100 needed, 50 allowed: 100 events a second run, the rest wait.
    let fraud = &s.components["fraud"];
    assert_eq!(u(&fraud["concurrency_max"]), 50);
    let publish_rate = published as f64 / window;
    let behind = (publish_rate - 100.0) * 300.0;
    let waiting = u(&fraud["events_waiting_end"]) as f64;
    assert!(
        (waiting - behind).abs() < 0.05 * behind,
        "{waiting} events waiting against (λ − 100/s) × 300 s = {behind}"
    );
}
