//! Kinesis Data Streams (issue 18) against exact results: a shard's write limits under
//! overload (token-bucket counts), each shard's share of the records against the key
//! distribution's exact probabilities and the MD5 hash key ranges, IteratorAge under a consumer
//! slower than its input (the fluid limit), a poison record blocking its shard for exactly its
//! retry schedule, conservation, determinism and bad input.
//!
//! # How tolerances are derived
//! As in `dynamodb.rs`: statistical checks run R = 10 replications (seeds 1..=10) and pass
//! when the exact value lies within 3 half-widths of a 95 % Student-t interval; shares of many
//! independent records are checked within 5 binomial standard errors. Deterministic arrival
//! patterns are compared exactly, with a slack of one record for fractional tokens.

use std::path::Path;

use awsim::components::kinesis::shard_of_key;
use awsim::engine::time::SimTime;
use awsim::metrics::{SeriesRow, SeriesSink};
use awsim::run::summary::Summary;
use awsim::run::{run, run_quietly};
use awsim::scenario::{RunSettings, Scenario};
use awsim::workload::keys::KeySpec;

use crate::stats::{Checks, counts, number};

/// Replications per statistical check.
const R: u64 = 10;

fn parse(text: &str) -> Scenario {
    Scenario::parse(text, Path::new("kinesis.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn run_once(text: &str) -> Summary {
    let s = run_quietly(&parse(text), RunSettings::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(s.conservation.ok, "conservation: {:?}", s.conservation);
    s
}

fn fig(s: &Summary, c: &str, path: &str) -> f64 {
    let mut keys = vec![c];
    keys.extend(path.split('.'));
    number(&s.components, &keys)
}

/// A function that takes exactly `ms` per invocation, with a 1 ms cold start.
fn function(name: &str, ms: u32) -> String {
    format!(
        r#"
[[component]]
name = "{name}"
kind = "lambda"
memory_mb = 1769
cold_start = {{ dist = "constant", value = "1ms" }}
handler = [ {{ compute = {{ dist = "constant", value = "{ms}ms" }} }} ]
"#
    )
}

/// Records a full token bucket of `capacity` refilled at `rate` a second admits from
/// constant arrivals at `arrivals` a second over a run of `duration` seconds, each taking
/// `size`, when every arrival finds it short after the first: the arrivals come at k / arrivals
/// for k = 1, 2... before the end; the bucket is full (and wastes its refill) until the first,
/// then admits whatever refills: ⌊(capacity + rate · (last − first)) / size⌋.
fn admitted(capacity: f64, rate: f64, arrivals: f64, duration: f64, size: f64) -> f64 {
    let (first, last) = (1.0 / arrivals, duration - 1.0 / arrivals);
    ((capacity + rate * (last - first)) / size).floor()
}

#[test]
fn a_shards_admitted_rate_equals_its_write_limits_under_overload() {
    let mut c = Checks::new("kinesis write limits");
    // 3 000 records/s of 0.1 KB on one shard, for 10 s, no SDK retry: the records bucket
    // (1 000/s, one second held) admits its 1 000 and then 1 000 a second.
    let records = run_once(
        r#"
[simulation]
duration = "10s"
seed = 1

[[workload]]
name = "w"
target = "s"
arrival = { process = "constant", rate = "3000/s" }
item_kb = 0.1

[[component]]
name = "s"
kind = "kinesis"
shards = 1
max_attempts = 1
"#,
    );
    c.equal(
        "records admitted",
        admitted(1000.0, 1000.0, 3000.0, 10.0, 1.0),
        fig(&records, "s", "records"),
    );
    c.equal(
        "refused = arrived − admitted",
        fig(&records, "s", "requests.created") - fig(&records, "s", "records"),
        fig(&records, "s", "requests.throttled"),
    );
    // 300 records/s of 10 KB: 3 000 KB/s against 1 MiB/s.
    let bytes = run_once(
        r#"
[simulation]
duration = "10s"
seed = 1

[[workload]]
name = "w"
target = "s"
arrival = { process = "constant", rate = "300/s" }
item_kb = 10

[[component]]
name = "s"
kind = "kinesis"
shards = 1
max_attempts = 1
"#,
    );
    c.equal(
        "records admitted (bytes)",
        admitted(1024.0, 1024.0, 300.0, 10.0, 10.0),
        fig(&bytes, "s", "records"),
    );
    c.finish();
}

/// Each shard's share of `keys` under the MD5 mapping of a stream of `shards`.
fn exact_shares(keys: &KeySpec, shards: u32) -> Vec<f64> {
    let sampler = keys.build();
    let mut shares = vec![0.0; shards as usize];
    for k in 0..sampler.keys() {
        shares[shard_of_key(k, shards)] += sampler.probability(k);
    }
    shares
}

#[test]
fn each_shards_share_follows_the_key_distributions_exact_probabilities() {
    let mut c = Checks::new("kinesis shard shares");
    for dist in [
        r#"{ dist = "hot", keys = 500, fraction = 0.2 }"#,
        r#"{ dist = "zipf", keys = 1000, exponent = 1.1 }"#,
    ] {
        let table: toml::Table = toml::from_str(&format!("key = {dist}")).unwrap();
        let spec: KeySpec = table["key"].clone().try_into().unwrap();
        let text = format!(
            r#"
[simulation]
duration = "60s"
seed = 3

[[workload]]
name = "w"
target = "s"
arrival = {{ process = "poisson", rate = "2000/s" }}
key = {dist}
item_kb = 0.5

[[component]]
name = "s"
kind = "kinesis"
shards = 8
"#
        );
        let s = run_once(&text);
        let per_shard = counts(&s.components, &["s", "shard_records"]);
        let total: u64 = per_shard.iter().sum();
        assert_eq!(fig(&s, "s", "write_throttle_events"), 0.0, "{dist}");
        for (i, (&n, p)) in per_shard.iter().zip(exact_shares(&spec, 8)).enumerate() {
            let se = (p * (1.0 - p) / total as f64).sqrt();
            c.near(
                &format!("{dist} shard {i} share"),
                p,
                n as f64 / total as f64,
                5.0 * se,
            );
        }
    }
    c.finish();
}

/// The stream's rows: (end of interval, records waiting, age of the oldest).
struct AgeRows(Vec<(f64, f64, f64)>);

impl SeriesSink for AgeRows {
    fn row(&mut self, time: SimTime, name: &str, kind: &str, row: &SeriesRow) {
        if name == "s" {
            let col = |c| awsim::components::outputs::column_value(kind, row, c);
            self.0.push((
                time.as_secs_f64(),
                col("queue_length").unwrap_or(0.0),
                col("oldest_message_age_s").unwrap_or(0.0),
            ));
        }
    }
}

#[test]
fn iterator_age_grows_at_the_rate_difference_under_a_slower_consumer() {
    // λ = 200 records/s in; the function takes 100 ms for a batch of 10: μ = 100 records/s.
    // Fluid limit: the backlog grows at λ − μ = 100 records/s, and the oldest record waiting
    // at t arrived when the μ·t-th did, at μ·t/λ: its age grows at 1 − μ/λ = 0.5 s per s.
    let text = format!(
        r#"
[simulation]
duration = "150s"
interval = "10s"

[[workload]]
name = "w"
target = "s"
arrival = {{ process = "poisson", rate = "200/s" }}
item_kb = 0.5

[[component]]
name = "s"
kind = "kinesis"
shards = 1
consumer = {{ function = "f", batch_size = 10 }}
{}"#,
        function("f", 100)
    );
    let scenario = parse(&text);
    let mut c = Checks::new("kinesis iterator age");
    let (mut age_slopes, mut backlog_slopes) = (Vec::new(), Vec::new());
    for seed in 1..=R {
        let mut rows = AgeRows(Vec::new());
        let settings = RunSettings {
            seed: Some(seed),
            ..RunSettings::default()
        };
        let s = run(&scenario, settings, &mut rows, |_| {}).unwrap();
        assert!(s.conservation.ok);
        let at = |t: f64| *rows.0.iter().find(|r| (r.0 - t).abs() < 1e-9).unwrap();
        let (a, b) = (at(50.0), at(150.0));
        age_slopes.push((b.2 - a.2) / 100.0);
        backlog_slopes.push((b.1 - a.1) / 100.0);
    }
    c.ci("age slope (s per s)", 0.5, age_slopes);
    c.ci("backlog slope (records per s)", 100.0, backlog_slopes);
    c.finish();
}

#[test]
fn a_poison_record_blocks_its_shard_for_exactly_its_retry_schedule() {
    // Ten records, one a second, each one the function always fails on; batches of one; two
    // retries. Each batch fails 3 times (100 ms each) with a 1 s wait before each retry, so it
    // blocks its shard from its first failure to its discard: 2 × (1 s + 100 ms).
    let text = format!(
        r#"
[simulation]
duration = "120s"

[[workload]]
name = "w"
target = "s"
arrival = {{ process = "constant" }}
schedule = [ {{ at = "0s", rate = "1/s" }}, {{ at = "9500ms", rate = "0/s" }} ]
item_kb = 0.5

[[component]]
name = "s"
kind = "kinesis"
shards = 1
consumer = {{ function = "f", batch_size = 1, maximum_retry_attempts = 2, on_failure = "dlq", poison_probability = 1.0 }}

[[component]]
name = "dlq"
kind = "sqs"
{}"#,
        function("f", 100)
    );
    let s = run_once(&text);
    let mut c = Checks::new("kinesis poison record");
    let n = fig(&s, "s", "records");
    c.holds("records written", n > 5.0, format!("{n}"));
    c.equal("discarded batches", n, fig(&s, "s", "discarded_batches"));
    c.equal("function errors", 3.0 * n, fig(&s, "s", "function_errors"));
    c.equal("retries", 2.0 * n, fig(&s, "s", "batch_retries"));
    c.near(
        "blocked time",
        n * 2.0 * 1.1,
        fig(&s, "s", "blocked_s"),
        1e-6,
    );
    c.equal(
        "dead-lettered to the destination",
        n,
        fig(&s, "dlq", "sent"),
    );
    c.equal("processed", 0.0, fig(&s, "s", "processed"));
    c.finish();
}

/// A stream with every mapping feature on, for conservation and determinism.
fn busy_stream() -> String {
    r#"
[simulation]
duration = "3m"
warmup = "30s"
seed = 9

[[workload]]
name = "w"
target = "s"
arrival = { process = "poisson", rate = "2000/s" }
key = { dist = "zipf", keys = 10000, exponent = 1.2 }
item_kb = 1

[[component]]
name = "s"
kind = "kinesis"
shards = 2
consumer = { function = "f", batch_size = 50, batch_window = "200ms", parallelization_factor = 3, bisect_batch_on_error = true, maximum_retry_attempts = 2, maximum_record_age = "60s", on_failure = "dlq", poison_probability = 0.001 }

[[component]]
name = "dlq"
kind = "sqs"

[[component]]
name = "f"
kind = "lambda"
failure_probability = 0.05
handler = [ { compute = { dist = "exponential", mean = "80ms" } } ]
"#
    .to_string()
}

#[test]
fn records_are_conserved_and_runs_repeat_exactly() {
    let text = busy_stream();
    let a = run_once(&text);
    let b = run_once(&text);
    assert_eq!(
        serde_json::to_string(&a.components).unwrap(),
        serde_json::to_string(&b.components).unwrap()
    );
    // Conservation (checked by run_once) holds with records discarded, bisected and retried.
    for figure in ["bisections", "discarded", "batch_retries", "processed"] {
        assert!(fig(&a, "s", figure) > 0.0, "{figure} is 0");
    }
    assert!(fig(&a, "s", "write_throttle_events") > 0.0);
    // Another seed moves the figures.
    let other = run_quietly(
        &parse(&text),
        RunSettings {
            seed: Some(10),
            ..RunSettings::default()
        },
    )
    .unwrap();
    assert_ne!(fig(&a, "s", "processed"), fig(&other, "s", "processed"));
}

#[test]
fn bad_input_is_located_with_the_nearest_valid_name() {
    let base = busy_stream();
    let error = |from: &str, to: &str| {
        assert!(base.contains(from), "{from}");
        let text = base.replacen(from, to, 1);
        match Scenario::parse(&text, Path::new("case.toml")) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e.to_string(),
        }
    };
    let line_of = |needle: &str| base.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let consumer_line = line_of("consumer = {");
    let m = error("batch_size = 50", "batch_sise = 50");
    assert!(m.starts_with(&format!("case.toml:{consumer_line}:")), "{m}");
    assert!(
        m.contains("consumer.batch_sise") && m.contains("did you mean `batch_size`"),
        "{m}"
    );
    let m = error("parallelization_factor = 3", "parallelization_factor = 11");
    assert!(m.starts_with(&format!("case.toml:{consumer_line}:")), "{m}");
    assert!(m.contains("between 1 and 10, found 11"), "{m}");
    let m = error("shards = 2", "shards = 0");
    assert!(
        m.starts_with(&format!("case.toml:{}:10:", line_of("shards = 2"))),
        "{m}"
    );
    let m = error("kind = \"kinesis\"", "kind = \"kinesys\"");
    assert!(m.contains("did you mean `kinesis`"), "{m}");
    let m = error("maximum_retry_attempts = 2", "maximum_retry_attempts = -2");
    assert!(m.contains("between -1"), "{m}");
    let m = error("function = \"f\"", "function = \"dlq\"");
    assert!(m.contains("`dlq`"), "{m}");
    let m = error("function = \"f\"", "function = \"ff\"");
    assert!(m.contains("did you mean `f`"), "{m}");
}

#[test]
fn a_table_stream_emits_a_record_per_write_into_shards_that_follow_its_partitions() {
    // 3 partitions (ceil(100/3000 + 2000/1000)); 500 writes/s over 1 000 keys, well within
    // capacity: every write succeeds and adds a record to its partition's shard.
    let text = format!(
        r#"
[simulation]
duration = "60s"
seed = 4

[[workload]]
name = "w"
target = "t"
op = "write"
arrival = {{ process = "poisson", rate = "500/s" }}
key = {{ dist = "uniform", keys = 1000 }}
item_kb = 1

[[component]]
name = "t"
kind = "dynamodb"
rcu = 100
wcu = 2000
stream = true
stream_consumer = {{ function = "f", batch_size = 100, parallelization_factor = 2 }}
{}"#,
        function("f", 20)
    );
    let s = run_once(&text);
    let mut c = Checks::new("dynamodb stream");
    let writes = fig(&s, "t", "requests.completed");
    c.equal("a record per write", writes, fig(&s, "t", "stream_records"));
    let shards = counts(&s.components, &["t", "shard_records"]);
    let partitions = counts(&s.components, &["t", "partition_requests"]);
    // A write counts in its partition when it arrives, in its shard when it succeeds: they
    // differ by the writes still in flight at the end.
    let in_flight = fig(&s, "t", "requests.in_flight") as u64;
    let behind: u64 = partitions
        .iter()
        .zip(&shards)
        .map(|(p, s)| p - s.min(p))
        .sum();
    c.holds(
        "shards follow partitions",
        shards.len() == 3
            && shards.iter().zip(&partitions).all(|(s, p)| s <= p)
            && behind == in_flight,
        format!("{shards:?} against {partitions:?}, {in_flight} in flight"),
    );
    let done = fig(&s, "t", "processed") + fig(&s, "t", "backlog_end");
    c.equal("records processed or waiting", writes, done);
    c.holds(
        "processed nearly all",
        fig(&s, "t", "processed") > 0.99 * writes,
        format!("{} of {writes}", fig(&s, "t", "processed")),
    );
    c.finish();
    // The mapping's rules are the stream's: `stream_consumer` needs `stream = true`.
    let bad = text.replace("stream = true\n", "");
    let m = match Scenario::parse(&bad, Path::new("case.toml")) {
        Ok(_) => panic!("accepted a stream consumer without a stream"),
        Err(e) => e.to_string(),
    };
    assert!(m.contains("needs `stream = true`"), "{m}");
    assert!(m.starts_with("case.toml:"), "{m}");
}

fn lesson(file: &str) -> Summary {
    let text = std::fs::read_to_string(Path::new("scenarios/lessons").join(file)).unwrap();
    run_once(&text)
}

#[test]
fn lesson_kinesis_hot_shard_one_key_throttles_one_shard_more_shards_do_not_help() {
    let s = lesson("kinesis_hot_shard.toml");
    let measured = s.duration_s - s.warmup_s;
    for stream in ["by-user", "by-user-16"] {
        let throttled: Vec<u64> = counts(&s.components, &[stream, "shard_write_throttles"]);
        let hot = throttled.iter().filter(|&&t| t > 0).count();
        assert_eq!(hot, 1, "{stream}: one shard throttles: {throttled:?}");
        assert!(fig(&s, stream, "throttles") > 0.0, "{stream}: puts fail");
        let shards = fig(&s, stream, "shards");
        let accepted = fig(&s, stream, "records") / measured;
        assert!(
            accepted < 0.8 * 1000.0 * shards,
            "{stream}: the stream has capacity to spare: {accepted}/s of {shards} shards"
        );
    }
    // Four times the shards: the hot shard's share of the records barely moves.
    let share4 = fig(&s, "by-user", "hottest_shard_share");
    let share16 = fig(&s, "by-user-16", "hottest_shard_share");
    assert!(share16 > 0.3 && share4 > 0.3, "{share4} {share16}");
    assert_eq!(fig(&s, "by-event", "write_throttle_events"), 0.0);
    assert_eq!(fig(&s, "by-event", "throttles"), 0.0);
}

#[test]
fn lesson_poison_record_blocks_its_shard_until_a_retry_limit_is_set() {
    let s = lesson("poison_record_blocks_shard.toml");
    let window = s.duration_s - s.warmup_s;
    for stream in ["default", "bisect"] {
        let blocked = fig(&s, stream, "blocked_s");
        assert!(
            blocked > 0.4 * 2.0 * window,
            "{stream}: its 2 shards blocked for much of the window: {blocked} s"
        );
        assert!(
            fig(&s, stream, "iterator_age_max_ms") > 60_000.0,
            "{stream}"
        );
        assert!(fig(&s, stream, "backlog_end") > 10_000.0, "{stream}");
        assert_eq!(fig(&s, stream, "discarded"), 0.0, "{stream}");
    }
    assert!(fig(&s, "bisect", "bisections") > 0.0);
    for stream in ["limit", "isolate"] {
        let blocked = fig(&s, stream, "blocked_s");
        let poison = fig(&s, stream, "poison_records");
        assert!(poison > 5.0, "{stream}: {poison}");
        assert!(
            blocked < 10.0 * poison,
            "{stream}: blocked a few seconds per poison record: {blocked} s"
        );
        assert!(
            fig(&s, stream, "iterator_age_max_ms") < 10_000.0,
            "{stream}"
        );
    }
    // A retry limit alone discards whole batches; with bisection only the bad records go.
    assert!(fig(&s, "limit", "discarded") > 10.0 * fig(&s, "limit", "poison_records"));
    let isolate_discarded = fig(&s, "isolate", "discarded");
    let isolate_poison = fig(&s, "isolate", "poison_records");
    assert!(
        (isolate_discarded - isolate_poison).abs() <= 2.0,
        "{isolate_discarded} discarded for {isolate_poison} poison records"
    );
    assert!(fig(&s, "limit-dlq", "sent") > 0.0);
}

#[test]
fn an_on_demand_stream_adds_shards_for_double_its_peak_write_rate() {
    // 2 000 records/s, then 7 000/s from 2 minutes: above the 4 000/s of a new stream and
    // above double the first peak, so puts are refused until the stream has scaled.
    let text = r#"
[simulation]
duration = "6m"
seed = 1
interval = "30s"

[[workload]]
name = "w"
target = "s"
arrival = { process = "poisson" }
schedule = [ { at = "0s", rate = "2000/s" }, { at = "2m", rate = "7000/s" } ]
item_kb = 0.5

[[component]]
name = "s"
kind = "kinesis"
mode = "on_demand"
"#;
    let s = run_once(text);
    let mut c = Checks::new("kinesis on demand");
    let peak = fig(&s, "s", "peak_records_per_s");
    let expected = (2.0 * peak / 1000.0).ceil().clamp(4.0, 200.0);
    c.equal(
        "shards for double the peak",
        expected,
        fig(&s, "s", "shards"),
    );
    c.holds(
        "scaled after the jump",
        fig(&s, "s", "shards") >= 14.0 && fig(&s, "s", "scalings") >= 2.0,
        format!(
            "{} shards, {} scalings",
            fig(&s, "s", "shards"),
            fig(&s, "s", "scalings")
        ),
    );
    c.holds(
        "refused puts while it scaled",
        fig(&s, "s", "write_throttle_events") > 0.0,
        format!("{}", fig(&s, "s", "write_throttle_events")),
    );
    c.finish();
    let bad = text.replace("mode = \"on_demand\"", "mode = \"on_demand\"\nshards = 4");
    let m = match Scenario::parse(&bad, Path::new("case.toml")) {
        Ok(_) => panic!("accepted shards on an on-demand stream"),
        Err(e) => e.to_string(),
    };
    assert!(
        m.starts_with("case.toml:18:10:") && m.contains("on-demand"),
        "{m}"
    );
}

#[test]
fn standard_consumers_share_a_shards_reads_and_enhanced_fan_out_does_not() {
    // Records arrive all the time, so the mapping always wants more: it polls once a second
    // alone; ten standard consumers share the shard's 5 GetRecords/s, one every 2 s each; an
    // enhanced fan-out consumer has every record pushed as it arrives.
    let stream = |consumer: &str| {
        format!(
            r#"
[simulation]
duration = "60s"
seed = 5

[[workload]]
name = "w"
target = "s"
arrival = {{ process = "constant", rate = "100/s" }}
item_kb = 1

[[component]]
name = "s"
kind = "kinesis"
shards = 1
consumer = {{ function = "f", batch_size = 10000{consumer} }}
{}"#,
            function("f", 10)
        )
    };
    let mut c = Checks::new("kinesis reads");
    let alone = run_once(&stream(""));
    c.near(
        "polls alone",
        60.0,
        fig(&alone, "s", "get_records_calls"),
        1.0,
    );
    let shared = run_once(&stream(", standard_consumers = 10"));
    c.near(
        "polls shared by ten",
        30.0,
        fig(&shared, "s", "get_records_calls"),
        1.0,
    );
    let efo = run_once(&stream(", enhanced_fan_out = true"));
    c.holds(
        "pushed as they arrive",
        fig(&efo, "s", "get_records_calls") > 5_000.0,
        format!("{}", fig(&efo, "s", "get_records_calls")),
    );
    // Pushed records are sent sooner: IteratorAge (the age of a batch's last record when it
    // is sent) is about a record's gap (10 ms) when polled, nothing when pushed at once.
    let (pushed, polled) = (
        fig(&efo, "s", "iterator_age_ms.mean"),
        fig(&alone, "s", "iterator_age_ms.mean"),
    );
    c.holds(
        "iterator age: pushed < polled",
        pushed < polled,
        format!("{pushed} < {polled}"),
    );
    c.finish();
}
