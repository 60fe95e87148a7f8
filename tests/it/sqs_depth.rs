//! SQS depth (issue 24, point 6): partial batch responses of a Lambda consumer
//! (`ReportBatchItemFailures`) with poison messages.
//!
//! Every check here is exact: evenly spaced sends (`constant_sends`: one a second from 1.5 s),
//! constant handlers and poison messages spread evenly (`poison_fraction = 0.1` makes the tenth
//! message sent poison), so each receive, failure and move to the dead-letter queue happens at a
//! known time and the counts are compared exactly. The lesson's numbers are checked as its header
//! quotes them.

use std::path::Path;

use awsim::run::run_quietly;
use awsim::scenario::{RunSettings, Scenario};

use crate::sqs::{constant_sends, fig, run_once};

/// Ten sends (the tenth poison) → a queue read by a Lambda function in batches of ten
/// (batch window 20 s, so the ten go as one batch at 10.5 s), visibility timeout 30 s,
/// max_receive_count 3, a dead-letter queue; `extra` adds keys to the queue.
fn batch_of_ten(extra: &str) -> String {
    format!(
        r#"
[simulation]
duration = "10m"
seed = 1
{sends}
[[component]]
name = "queue"
kind = "sqs"
consumer = "fn"
batch_size = 10
batch_window = "20s"
visibility_timeout = "30s"
max_receive_count = 3
dead_letter_queue = "dlq"
poison_fraction = 0.1
{extra}

[[component]]
name = "dlq"
kind = "sqs"

[[component]]
name = "fn"
kind = "lambda"
handler = [ {{ sleep = "100ms" }} ]
"#,
        sends = constant_sends("producer", "queue", 10)
    )
}

/// Without `ReportBatchItemFailures` the one poison message fails its whole batch: the ten come
/// back together after each visibility timeout (10.5 s, 40.5 s, 70.5 s), are received three
/// times each and all go to the dead-letter queue at the fourth receive (100.5 s): 30 receives,
/// 20 redeliveries, 30 failed, 0 deleted, 10 dead-lettered, 3 invocations.
///
/// With it, the first invocation deletes the nine good messages and only the poison one comes
/// back: received at 60.5 s and 110.5 s (each time after the 20 s batch window, alone), and
/// dead-lettered at 160.5 s: 12 receives, 2 redeliveries, 3 failed, 9 deleted, 1 dead-lettered,
/// 3 invocations; DeleteMessageBatch once.
#[test]
fn a_poison_message_fails_its_whole_batch_unless_the_function_reports_item_failures() {
    let cases = [
        ("", [10.0, 30.0, 20.0, 30.0, 0.0, 10.0, 3.0]),
        (
            "report_batch_item_failures = true",
            [10.0, 12.0, 2.0, 3.0, 9.0, 1.0, 3.0],
        ),
    ];
    for (extra, expected) in cases {
        let s = run_once(&batch_of_ten(extra));
        let q = |k: &str| fig(&s, "queue", k);
        let got = [
            q("sent"),
            q("received"),
            q("redeliveries"),
            q("failed_processing"),
            q("deleted"),
            q("dead_lettered"),
            fig(&s, "fn", "invocations"),
        ];
        println!(
            "`{extra}`: sent, received, redeliveries, failed, deleted, dead, invocations {got:?}"
        );
        assert_eq!(got, expected, "`{extra}`");
        assert_eq!(fig(&s, "dlq", "visible_end"), expected[5], "`{extra}`");
        assert_eq!(q("duplicate_deliveries"), 0.0, "`{extra}`");
        assert_eq!(q("visible_end") + q("in_flight_end"), 0.0, "`{extra}`");
    }
}

/// Pollers process messages one by one, so a poison message fails only itself: one poller,
/// batches of one, ten sends with the tenth poison, max_receive_count 2: nine deleted, the poison
/// one received twice and dead-lettered.
#[test]
fn a_poison_message_read_by_pollers_fails_alone() {
    let text = format!(
        r#"
[simulation]
duration = "10m"
seed = 1
{sends}
[[component]]
name = "queue"
kind = "sqs"
consumer = "workers"
pollers = 1
batch_size = 1
visibility_timeout = "30s"
max_receive_count = 2
dead_letter_queue = "dlq"
poison_fraction = 0.1

[[component]]
name = "dlq"
kind = "sqs"

[[component]]
name = "workers"
kind = "ec2_fleet"
instances = 1
vcpus = 1
handler = [ {{ sleep = "100ms" }} ]
"#,
        sends = constant_sends("producer", "queue", 10)
    );
    let s = run_once(&text);
    let q = |k: &str| fig(&s, "queue", k);
    assert_eq!(q("received"), 11.0);
    assert_eq!(q("failed_processing"), 2.0);
    assert_eq!(q("deleted"), 9.0);
    assert_eq!(q("dead_lettered"), 1.0);
}

/// Runs the lesson with its own seed; conservation must hold.
fn partial_batch_lesson() -> awsim::run::summary::Summary {
    let text =
        std::fs::read_to_string("scenarios/lessons/sqs_partial_batch_failures.toml").unwrap();
    run_once(&text)
}

/// The lesson's header numbers (seed 42), and what holds whatever the numbers: every message
/// sent ends deleted, dead-lettered or still in the queue; with partial responses only the
/// poison messages (one in 50) are dead-lettered, without them several times as many.
#[test]
fn the_partial_batch_lesson_shows_what_its_header_quotes() {
    let s = partial_batch_lesson();
    let quoted = [
        // queue: sent, received, failed, deleted, dead-lettered; function: invocations
        (
            "whole",
            [26_773.0, 37_501.0, 13_465.0, 24_031.0, 2_605.0, 5_108.0],
        ),
        (
            "partial",
            [26_787.0, 27_837.0, 1_590.0, 26_247.0, 517.0, 3_960.0],
        ),
    ];
    for (name, expected) in quoted {
        let (q, function) = (format!("{name}-q"), format!("{name}-fn"));
        let f = |k: &str| fig(&s, &q, k);
        let got = [
            f("sent"),
            f("received"),
            f("failed_processing"),
            f("deleted"),
            f("dead_lettered"),
            fig(&s, &function, "invocations"),
        ];
        println!(
            "{q}: {got:?}, age p99 {}, {function} gb_s {}",
            f("message_age_ms.p99"),
            fig(&s, &function, "billed_gb_seconds")
        );
        assert_eq!(got, expected, "{q}");
    }
    let near = |component: &str, path: &str, quoted: f64, within: f64| {
        let v = fig(&s, component, path);
        assert!(
            (v - quoted).abs() <= within,
            "{component} {path}: {v} against {quoted}"
        );
    };
    near("whole-q", "message_age_ms.p99", 61_000.0, 500.0);
    near("partial-q", "message_age_ms.p99", 1_400.0, 50.0);
    near("whole-fn", "billed_gb_seconds", 1_747.0, 0.5);
    near("partial-fn", "billed_gb_seconds", 1_384.0, 0.5);
    // Partial responses dead-letter only the poison messages: about one in 50 of those sent.
    let poison = fig(&s, "partial-q", "sent") / 50.0;
    assert!((fig(&s, "partial-q", "dead_lettered") - poison).abs() < 0.05 * poison);
}

/// The same scenario and seed give the same summary, byte for byte.
#[test]
fn partial_batch_responses_are_deterministic() {
    let text = batch_of_ten("report_batch_item_failures = true");
    let scenario = Scenario::parse(&text, Path::new("case.toml")).expect("parses");
    let once = |_: u32| {
        let s = run_quietly(&scenario, RunSettings::default()).expect("runs");
        serde_json::to_string(&s).expect("serialises")
    };
    assert_eq!(once(1), once(2));
}

/// The error a scenario gets, from parsing or building it.
fn error_of(text: &str) -> String {
    match Scenario::parse(text, Path::new("case.toml")) {
        Err(e) => e.to_string(),
        Ok(scenario) => match scenario.build(RunSettings::default()) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("accepted a bad scenario:\n{text}"),
        },
    }
}

#[test]
fn a_poison_fraction_outside_0_to_1_is_a_located_error() {
    let text = batch_of_ten("").replace("poison_fraction = 0.1", "poison_fraction = 1.5");
    let m = error_of(&text);
    assert!(m.starts_with("case.toml:"), "{m}");
    assert!(m.contains("poison_fraction"), "{m}");
    assert!(m.contains("between 0 and 1, found 1.5"), "{m}");
}

#[test]
fn report_batch_item_failures_is_for_a_lambda_consumer() {
    let text = format!(
        r#"
[simulation]
duration = "1m"
{sends}
[[component]]
name = "queue"
kind = "sqs"
consumer = "workers"
report_batch_item_failures = true

[[component]]
name = "workers"
kind = "ec2_fleet"
instances = 1
vcpus = 1
handler = [ {{ sleep = "100ms" }} ]
"#,
        sends = constant_sends("producer", "queue", 1)
    );
    let m = error_of(&text);
    assert!(m.starts_with("case.toml:"), "{m}");
    assert!(m.contains("report_batch_item_failures"), "{m}");
    assert!(m.contains("Lambda consumer"), "{m}");
}

// ---------------------------------------------------------------------------------------------
// Send and receive latency
// ---------------------------------------------------------------------------------------------

/// Ten sends → a queue read by one poller (long polling, batches of one) on an instance whose
/// handler sleeps 100 ms; `extra` adds keys to the queue.
fn polled(extra: &str) -> String {
    format!(
        r#"
[simulation]
duration = "1m"
seed = 1
{sends}
[[component]]
name = "queue"
kind = "sqs"
consumer = "workers"
pollers = 1
batch_size = 1
{extra}

[[component]]
name = "workers"
kind = "ec2_fleet"
instances = 1
vcpus = 1
handler = [ {{ sleep = "100ms" }} ]
"#,
        sends = constant_sends("producer", "queue", 10)
    )
}

/// A SendMessage of 50 ms answers its sender 50 ms after the call (the queue's latency), and
/// the message is stored then; a ReceiveMessage of 30 ms hands the message to the poller 30 ms
/// after it left the queue, so each message lives 30 + 100 ms from store to delete. Without
/// latencies both are zero and a message lives 100 ms.
#[test]
fn sends_and_receives_take_their_latency() {
    let cases = [
        ("", 0.0, 100.0),
        (
            "send_latency = \"50ms\"\nreceive_latency = \"30ms\"",
            50.0,
            130.0,
        ),
    ];
    for (extra, send_ms, age_ms) in cases {
        let s = run_once(&polled(extra));
        let q = |k: &str| fig(&s, "queue", k);
        println!(
            "`{extra}`: send latency mean {} max {}, age mean {} max {}",
            q("latency_ms.mean"),
            q("latency_ms.max"),
            q("message_age_ms.mean"),
            q("message_age_ms.max")
        );
        assert_eq!(q("deleted"), 10.0, "`{extra}`");
        for k in ["latency_ms.mean", "latency_ms.max"] {
            assert!((q(k) - send_ms).abs() < 1.0, "`{extra}` {k}: {}", q(k));
        }
        for k in ["message_age_ms.mean", "message_age_ms.max"] {
            assert!((q(k) - age_ms).abs() < 1.0, "`{extra}` {k}: {}", q(k));
        }
    }
}

/// A Lambda consumer's receive latency delays the invocation: batches of one, a 100 ms
/// function, 30 ms receives: a warm message lives 130 ms (the median: only the first
/// invocation starts cold).
#[test]
fn a_lambda_consumers_receive_latency_delays_the_invocation() {
    let age = |extra: &str| {
        let text = batch_of_ten("")
            .replace("batch_size = 10\nbatch_window = \"20s\"", "batch_size = 1")
            .replace("poison_fraction = 0.1", extra);
        let s = run_once(&text);
        fig(&s, "queue", "message_age_ms.p50")
    };
    let (without, with) = (age(""), age("receive_latency = \"30ms\""));
    println!("median age without {without} ms, with 30 ms receives {with} ms");
    assert!((with - without - 30.0).abs() < 1.0, "{without} → {with}");
}

// ---------------------------------------------------------------------------------------------
// A returning message's place
// ---------------------------------------------------------------------------------------------

/// A standard queue's message whose visibility timeout ends goes behind the messages already
/// visible, not to the head. One poller, batches of one, a handler of 1.8 s, sends at 1.5 s,
/// 2.5 s, ... (the third poison), visibility timeout 3 s: m1 is processed 1.5–3.3 s, m2 3.3–5.1,
/// m3 fails 5.1–6.9, m4 6.9–8.7; m3 is visible again at 8.1, behind m5 and m6. At 8.7 the
/// poller receives m5 (the head before the change would have given it m3 again): by 10 s five
/// messages were received, none twice.
#[test]
fn a_returning_message_goes_behind_the_visible_ones() {
    let text = format!(
        r#"
[simulation]
duration = "10s"
seed = 1
{sends}
[[component]]
name = "queue"
kind = "sqs"
consumer = "workers"
pollers = 1
batch_size = 1
visibility_timeout = "3s"
poison_fraction = 0.34

[[component]]
name = "workers"
kind = "ec2_fleet"
instances = 1
vcpus = 1
handler = [ {{ sleep = "1800ms" }} ]
"#,
        sends = constant_sends("producer", "queue", 6)
    );
    let s = run_once(&text);
    let q = |k: &str| fig(&s, "queue", k);
    let got = [
        q("received"),
        q("redeliveries"),
        q("deleted"),
        q("failed_processing"),
    ];
    println!("received, redeliveries, deleted, failed: {got:?}");
    assert_eq!(got, [5.0, 0.0, 3.0, 1.0]);
}
