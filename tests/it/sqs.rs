//! SQS (issue 5) against queueing theory and against its documented rules: pollers as the c
//! servers of M/M/c, a visibility timeout shorter than the processing time (duplicates and the
//! dead-letter count, exactly), FIFO groups, conservation of messages through retention, delay,
//! dead-letter queues, redrive and a throttled Lambda consumer, empty receives of long and short
//! polling, heartbeats, and bad input.
//!
//! # How tolerances are derived
//! As in `theory.rs`: every statistical check runs R = 10 independent replications (seeds
//! 1..=10, each a whole run that discards its own warm-up), takes one estimate per run and
//! builds a 95 % Student-t interval (t(0.975, 9) = 2.262). A check passes when the exact value
//! lies within K = 3 half-widths. The half-width comes from the data; the seeds are fixed, so
//! the tests are deterministic. Never widen K or shorten a run to make a miss pass.
//!
//! Most checks here are not statistical: with evenly spaced arrivals, constant handlers
//! (`sleep`) and enough pollers, the visibility-timeout, dead-letter, retention, delay,
//! heartbeat and polling rules give exact counts, and the tests compare them exactly. Arrivals
//! then start at 1.5 s and come every second (a schedule from 500 ms at 1/s), so message events
//! fall on half seconds and never coincide with a time-series sample (whole seconds); where two
//! message events do coincide (after the redrive burst), the counts checked do not depend on
//! their order.
//!
//! # Time budget
//! The whole module takes about 7 s of wall time on 2 cores (`cargo test --release --test it
//! sqs -- --nocapture` prints each case's numbers and wall time). Measured one test at a time:
//! M/M/8 about 2.4 s, M/M/4 about 2 s, the batch comparison 1.3 s, the two FIFO comparisons
//! with M/M/1 0.5–0.7 s each, M/M/1 0.4 s, every exact check under 0.05 s (a FIFO guard adds
//! about 0.1 s for its child process).
//!
//! The FIFO tests first run their scenario in a child `awsim` process with a time limit
//! (`assert_finishes`): the model once looped forever on a FIFO queue with a consumer (see
//! `fifo_queue_with_a_consumer_terminates`), and a regression must fail cleanly, not hang.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use awsim::engine::time::SimTime;
use awsim::metrics::SeriesRow;
use awsim::metrics::SeriesSink;
use awsim::run::summary::Summary;
use awsim::run::{run, run_quietly};
use awsim::scenario::{RunSettings, Scenario};

use crate::stats::{Checks, ConfidenceInterval, mmc_mean_wait, number, replicate};

/// Replications per statistical check.
const R: u64 = 10;
/// Half-widths an estimate may be off.
const K: f64 = 3.0;
/// Service rate of the exponential handlers: a 100 ms mean (μ = 10/s).
const MU: f64 = 10.0;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

pub(crate) fn parse(text: &str) -> Scenario {
    Scenario::parse(text, Path::new("sqs.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// One run with the scenario's own seed; conservation (messages included) must hold.
pub(crate) fn run_once(text: &str) -> Summary {
    let s = run_quietly(&parse(text), RunSettings::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(s.conservation.ok, "conservation: {:?}", s.conservation);
    s
}

/// A component's figure, e.g. `fig(s, "queue", "sent")` or `fig(s, "queue", "message_age_ms.mean")`.
pub(crate) fn fig(s: &Summary, component: &str, path: &str) -> f64 {
    let mut keys = vec![component];
    keys.extend(path.split('.'));
    number(&s.components, &keys)
}

/// Every time-series row, in order.
#[derive(Default)]
struct Series {
    rows: Vec<(f64, String, SeriesRow)>,
}

impl SeriesSink for Series {
    fn row(&mut self, time: SimTime, name: &str, _kind: &str, row: &SeriesRow) {
        self.rows
            .push((time.as_secs_f64(), name.to_string(), row.clone()));
    }
}

/// A queue's own time-series column, as a count.
fn gauge(row: &SeriesRow, column: &str) -> u64 {
    awsim::components::outputs::column_value("sqs", row, column).expect("a queue reports it") as u64
}

impl Series {
    /// The rows of one component: (end of the interval in seconds, row).
    fn of(&self, name: &str) -> Vec<(f64, &SeriesRow)> {
        self.rows
            .iter()
            .filter(|(_, n, _)| n == name)
            .map(|(t, _, r)| (*t, r))
            .collect()
    }

    /// Requests that reached `name` by the end of each interval: (time, cumulative arrivals).
    fn cumulative_arrivals(&self, name: &str) -> Vec<(f64, u64)> {
        let mut total = 0;
        self.of(name)
            .into_iter()
            .map(|(t, r)| {
                total += r.arrivals;
                (t, total)
            })
            .collect()
    }
}

/// One run (scenario seed, 1 s rows) with its time series.
fn run_with_series(text: &str) -> (Summary, Series) {
    let mut series = Series::default();
    let s = run(&parse(text), RunSettings::default(), &mut series, |_| {})
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(s.conservation.ok, "conservation: {:?}", s.conservation);
    (s, series)
}

/// Runs `text` for `duration` in a child `awsim` process and panics if it has not finished
/// within `limit`: a guard for scenarios that make the model loop forever (the child is
/// killed, so a hang costs `limit` and no memory).
fn assert_finishes(text: &str, case: &str, duration: &str, limit: Duration) {
    let dir = std::env::temp_dir().join(format!("awsim-sqs-{}-{case}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("scenario.toml");
    std::fs::write(&file, text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_awsim"))
        .arg("run")
        .arg(&file)
        .args(["--duration", duration, "--quiet", "--out"])
        .arg(dir.join("out"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("awsim starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    std::fs::remove_dir_all(&dir).ok();
    match status {
        Some(s) => assert!(s.success(), "{case}: awsim run failed ({s})"),
        None => panic!(
            "{case}: {duration} of simulated time did not finish in {} s of wall time (it \
             takes well under a second): the simulation loops forever",
            limit.as_secs()
        ),
    }
}

/// Evenly spaced sends, one a second at 1.5 s, 2.5 s, ... (`count` of them; none at a whole
/// second), to `target`.
pub(crate) fn constant_sends(name: &str, target: &str, count: u32) -> String {
    format!(
        r#"
[[workload]]
name = "{name}"
target = "{target}"
arrival = {{ process = "constant" }}
schedule = [ {{ at = "500ms", rate = "1/s" }}, {{ at = "{end}ms", rate = "0/s" }} ]
"#,
        end = 500 + 1000 * count as u64 + 500
    )
}

/// An ec2_fleet of one instance with `workers` workers, handler `handler`.
fn fleet(name: &str, workers: u32, handler: &str) -> String {
    format!(
        r#"
[[component]]
name = "{name}"
kind = "ec2_fleet"
instances = 1
vcpus = {workers}
handler = [ {handler} ]
"#
    )
}

const EXPONENTIAL_100MS: &str = r#"{ compute = { dist = "exponential", mean = "100ms" } }"#;

// ---------------------------------------------------------------------------------------------
// 1. Pollers as the c servers of M/M/c
// ---------------------------------------------------------------------------------------------

/// Poisson sends → a standard queue → one instance with `c` workers and `c` pollers.
///
/// How pollers map to servers: each poller receives one message (`batch_size = 1`), hands it to
/// its instance and receives again only once it is done, so at most `c` messages are in process
/// and the instance (with `vcpus = c` workers) never queues them. With long polling an idle
/// poller waits inside its receive and gets a message the instant it is sent; a returning poller
/// takes the head of the queue. That is one FIFO queue in front of c servers that never idle
/// while a message waits: M/M/c with exponential handlers. The message age send → delete is the
/// M/M/c sojourn time Wq + E[S] (the delete takes no time); the visibility timeout (1 h) is far
/// above any processing time, so nothing is delivered twice.
fn mmc_queue(c: u32, lambda: f64, batch_size: u32, duration: &str, warmup: &str) -> String {
    format!(
        r#"
[simulation]
duration = "{duration}"
warmup = "{warmup}"
interval = "10m"

[[workload]]
name = "producer"
target = "queue"
arrival = {{ process = "poisson", rate = "{lambda}/s" }}

[[component]]
name = "queue"
kind = "sqs"
consumer = "workers"
pollers = {c}
batch_size = {batch_size}
visibility_timeout = "1h"
{workers}"#,
        workers = fleet("workers", c, EXPONENTIAL_100MS)
    )
}

#[derive(Clone, Debug)]
struct QueueFigures {
    age_ms: f64,
    age_p50_ms: f64,
    age_p90_ms: f64,
    sent: f64,
    deleted: f64,
    /// Visible or in flight at the end.
    left: f64,
    duplicates: f64,
    redeliveries: f64,
    /// The longest wait of a message on the instance (for a worker).
    fleet_wait_max_ms: f64,
    fleet_waited_fraction: f64,
    fleet_utilisation: f64,
}

impl QueueFigures {
    fn of(s: &Summary) -> QueueFigures {
        QueueFigures {
            age_ms: fig(s, "queue", "message_age_ms.mean"),
            age_p50_ms: fig(s, "queue", "message_age_ms.p50"),
            age_p90_ms: fig(s, "queue", "message_age_ms.p90"),
            sent: fig(s, "queue", "sent"),
            deleted: fig(s, "queue", "deleted"),
            left: fig(s, "queue", "visible_end") + fig(s, "queue", "in_flight_end"),
            duplicates: fig(s, "queue", "duplicate_deliveries"),
            redeliveries: fig(s, "queue", "redeliveries"),
            fleet_wait_max_ms: fig(s, "workers", "wait_ms.max"),
            fleet_waited_fraction: fig(s, "workers", "waited_fraction"),
            fleet_utilisation: fig(s, "workers", "utilisation"),
        }
    }
}

fn check_mmc(c: u32, lambda: f64, hours: u32) {
    let rho = lambda / (c as f64 * MU);
    let mut checks = Checks::new(format!(
        "SQS + {c} pollers as M/M/{c} at ρ = {rho} (λ = {lambda}/s, {hours} h × {R} runs)"
    ));
    let text = mmc_queue(c, lambda, 1, &format!("{hours}h"), "30m");
    let runs = replicate(&text, R, QueueFigures::of);
    let wq = mmc_mean_wait(c, lambda, MU);
    checks.ci(
        "mean message age send → delete (ms) vs Erlang C Wq + 1/μ",
        1e3 * (wq + 1.0 / MU),
        runs.iter().map(|r| r.age_ms),
    );
    checks.ci(
        "consumer utilisation vs ρ",
        rho,
        runs.iter().map(|r| r.fleet_utilisation),
    );
    let fleet_wait = runs.iter().map(|r| r.fleet_wait_max_ms).fold(0.0, f64::max);
    let fleet_waited = runs
        .iter()
        .map(|r| r.fleet_waited_fraction)
        .fold(0.0, f64::max);
    checks.holds(
        "messages wait in the queue, never on the instance, every run",
        fleet_wait == 0.0 && fleet_waited == 0.0,
        format!("longest fleet wait {fleet_wait} ms, largest waited fraction {fleet_waited}"),
    );
    let twice: f64 = runs.iter().map(|r| r.duplicates + r.redeliveries).sum();
    checks.holds(
        "no duplicate or repeated delivery",
        twice == 0.0,
        format!("{twice}"),
    );
    let unaccounted = runs
        .iter()
        .map(|r| (r.sent - r.deleted - r.left).abs())
        .fold(0.0, f64::max);
    checks.holds(
        "sent − deleted = still visible or in flight at the end, every run",
        unaccounted == 0.0,
        format!("largest difference {unaccounted}"),
    );
    checks.finish();
}

// Measured half-widths of the mean age: about ±0.6 % (c = 1), ±1.6 % (c = 4), ±0.4 % (c = 8);
// of the utilisation about ±0.2 %.

#[test]
fn pollers_as_servers_match_mm1() {
    check_mmc(1, 5.0, 4);
}

#[test]
fn pollers_as_servers_match_mm4_at_rho_0_9() {
    check_mmc(4, 36.0, 3);
}

#[test]
fn pollers_as_servers_match_mm8() {
    check_mmc(8, 60.0, 2);
}

/// Receive batches break the M/M/c equivalence. A poller that receives a batch of k messages
/// makes them invisible to every other poller and then processes them one by one: the second
/// message of the batch waits for the first even when other pollers sit idle in their long
/// polls. The c pollers are no longer c servers sharing one queue but c private queues filled
/// in chunks, which is not work-conserving, so messages wait longer than Erlang C says (the
/// total work is unchanged, so utilisation still equals ρ). How much longer depends on the load:
/// at ρ = 0.5 most batches hold one message (a waiting poller takes each message as it comes);
/// at ρ = 0.9 messages pile up while every poller is busy and the next free poller takes up to
/// 10 of them at once.
#[test]
fn receive_batches_break_the_mmc_equivalence() {
    let (c, lambda, hours) = (4, 36.0, 2);
    let mut checks = Checks::new(format!(
        "SQS + {c} pollers, batch_size 10, at ρ = 0.9 ({hours} h × {R} runs)"
    ));
    let runs = replicate(
        &mmc_queue(c, lambda, 10, &format!("{hours}h"), "30m"),
        R,
        QueueFigures::of,
    );
    let erlang = 1e3 * (mmc_mean_wait(c, lambda, MU) + 1.0 / MU);
    let ages: Vec<f64> = runs.iter().map(|r| r.age_ms).collect();
    let ci = ConfidenceInterval::from_replications(&ages);
    checks.holds(
        "mean age above Erlang C's Wq + 1/μ by more than K half-widths",
        ci.mean - K * ci.half_width > erlang,
        format!("Erlang C {erlang:.1} ms, batches of 10: {ci}"),
    );
    checks.ci(
        "consumer utilisation still ρ",
        lambda / (c as f64 * MU),
        runs.iter().map(|r| r.fleet_utilisation),
    );
    checks.finish();
}

// ---------------------------------------------------------------------------------------------
// 2. Visibility timeout against processing time
// ---------------------------------------------------------------------------------------------

/// `n` messages, one a second, into a standard queue consumed by 200 pollers whose handler
/// sleeps 25 s, with a visibility timeout of `v` seconds and `extra` queue keys.
fn visibility_scenario(n: u32, v: u32, extra: &str) -> String {
    format!(
        r#"
[simulation]
duration = "15m"
{sends}
[[component]]
name = "queue"
kind = "sqs"
consumer = "workers"
pollers = 200
batch_size = 1
visibility_timeout = "{v}s"
{extra}

[[component]]
name = "dlq"
kind = "sqs"
{workers}"#,
        sends = constant_sends("producer", "queue", n),
        workers = fleet("workers", 200, r#"{ sleep = "25s" }"#),
    )
}

/// Visibility timeout V = 10 s shorter than a fixed processing time p = 25 s.
///
/// The expectation: a message sent at s is received at once (a poller waits in its long poll),
/// at s + 0. Its visibility ends at s + V, before its consumer finishes at s + p, so it is
/// visible again and received again at once, and so on: receives at s, s + V, s + 2V, ..., the
/// one at s + kV with receive count k + 1. The receive that would make the count m + 1 (at
/// s + mV) moves it to the dead-letter queue instead. The consumer of the receive at s + kV
/// finishes at s + kV + p, after that receive's visibility ended at s + (k + 1)V (since V < p):
/// its receipt handle is stale, its
/// delete deletes nothing, and the message was (or would have been) delivered again. So per
/// message, for any m:
///   received = m, redeliveries = m − 1, duplicate deliveries = m (every consumer), deleted = 0,
///   dead-lettered = 1, in the dead-letter queue from s + mV on.
/// The pollers must never run out for this to be exact: at one message a second, with m
/// receives of 25 s each per message, 25m pollers are busy at a time, and there are 200 (m ≤ 5).
#[test]
fn visibility_timeout_shorter_than_processing_dead_letters_every_message() {
    let mut checks = Checks::new("V = 10 s < p = 25 s, 100 messages");
    for m in [1, 3, 5] {
        let text = visibility_scenario(
            100,
            10,
            &format!("max_receive_count = {m}\ndead_letter_queue = \"dlq\""),
        );
        let (s, series) = run_with_series(&text);
        let n = fig(&s, "queue", "sent");
        checks.equal("100 messages sent", 100.0, n);
        let m = m as f64;
        let q = |k: &str| fig(&s, "queue", k);
        checks.equal(&format!("m = {m}: received = m·n"), m * n, q("received"));
        checks.equal(
            &format!("m = {m}: redeliveries = (m − 1)·n"),
            (m - 1.0) * n,
            q("redeliveries"),
        );
        checks.equal(
            &format!("m = {m}: duplicate deliveries = m·n"),
            m * n,
            q("duplicate_deliveries"),
        );
        checks.equal(&format!("m = {m}: deleted = 0"), 0.0, q("deleted"));
        checks.equal(
            &format!("m = {m}: dead-lettered = n"),
            n,
            q("dead_lettered"),
        );
        checks.equal(
            &format!("m = {m}: the DLQ holds n at the end"),
            n,
            fig(&s, "dlq", "visible_end"),
        );
        checks.equal(
            &format!("m = {m}: workers ran m·n handlers"),
            m * n,
            fig(&s, "workers", "requests.completed"),
        );
        // Each message reaches the DLQ exactly mV = 10m seconds after it was sent: the DLQ's
        // visible count at t equals the messages sent by t − 10m.
        let sent_by = series.cumulative_arrivals("queue");
        let dlq = series.of("dlq");
        let lag = 10 * m as usize;
        let mismatches: Vec<String> = dlq
            .iter()
            .enumerate()
            .filter(|(i, _)| *i >= lag)
            .filter_map(|(i, (t, row))| {
                let expected = sent_by[i - lag].1;
                let seen = row.queue_length.unwrap();
                (seen != expected).then(|| format!("t = {t}: {seen} (expected {expected})"))
            })
            .take(3)
            .collect();
        checks.holds(
            &format!("m = {m}: each message reaches the DLQ {lag} s after it was sent"),
            mismatches.is_empty() && dlq[lag - 1].1.queue_length == Some(0),
            format!("{} rows; first mismatches {mismatches:?}", dlq.len()),
        );
    }
    checks.finish();
}

/// V = 30 s > p = 25 s: every message is received once and deleted by its first consumer, 25 s
/// after it was sent. No duplicates at all.
#[test]
fn visibility_timeout_longer_than_processing_has_no_duplicates() {
    let mut checks = Checks::new("V = 30 s > p = 25 s, 100 messages");
    let s = run_once(&visibility_scenario(
        100,
        30,
        "max_receive_count = 1\ndead_letter_queue = \"dlq\"",
    ));
    let q = |k: &str| fig(&s, "queue", k);
    checks.equal("sent", 100.0, q("sent"));
    checks.equal("received once each", 100.0, q("received"));
    checks.equal("deleted", 100.0, q("deleted"));
    for k in ["redeliveries", "duplicate_deliveries", "dead_lettered"] {
        checks.equal(k, 0.0, q(k));
    }
    for k in ["mean", "p50", "max"] {
        checks.equal(
            &format!("message age {k} = p = 25 s"),
            25_000.0,
            q(&format!("message_age_ms.{k}")),
        );
    }
    checks.finish();
}

/// Without a dead-letter queue the message of the previous tests cycles until its retention
/// ends: with retention 60 s and V = 10 s it is received at s, s + 10, ..., s + 50 (6 times, 6
/// stale deletes) and expires at the receive attempt at s + 60.
#[test]
fn without_a_dead_letter_queue_messages_cycle_until_retention() {
    let mut checks = Checks::new("V = 10 s < p = 25 s, no DLQ, retention 60 s, 100 messages");
    let s = run_once(&visibility_scenario(100, 10, "retention = \"60s\""));
    let q = |k: &str| fig(&s, "queue", k);
    let n = q("sent");
    checks.equal("sent", 100.0, n);
    checks.equal("received 6 times each", 6.0 * n, q("received"));
    checks.equal(
        "6 duplicate deliveries each",
        6.0 * n,
        q("duplicate_deliveries"),
    );
    checks.equal("all expired", n, q("expired"));
    checks.equal("none deleted", 0.0, q("deleted"));
    checks.finish();
}

/// Heartbeats: with `heartbeat = true` a poller extends the visibility of the message it
/// processes every V, so with V = 10 s < p = 25 s (batch_size 1) nothing is delivered twice:
/// 2 heartbeats per message (at s + 10 and s + 20), deleted at s + 25.
#[test]
fn heartbeats_prevent_duplicates() {
    let mut checks = Checks::new("V = 10 s < p = 25 s with heartbeats, 100 messages");
    let s = run_once(&visibility_scenario(
        100,
        10,
        "heartbeat = true\nmax_receive_count = 1\ndead_letter_queue = \"dlq\"",
    ));
    let q = |k: &str| fig(&s, "queue", k);
    let n = q("sent");
    checks.equal("sent", 100.0, n);
    checks.equal("received once each", n, q("received"));
    checks.equal("deleted", n, q("deleted"));
    checks.equal("2 heartbeats each", 2.0 * n, q("heartbeats"));
    for k in ["redeliveries", "duplicate_deliveries", "dead_lettered"] {
        checks.equal(k, 0.0, q(k));
    }
    // Mean = max = 25 s: every message is deleted exactly 25 s after it was sent.
    for k in ["mean", "max"] {
        checks.equal(
            &format!("message age {k} = p = 25 s"),
            25_000.0,
            q(&format!("message_age_ms.{k}")),
        );
    }
    checks.finish();
}

/// One message sent at 1.5 s into a queue of `queue_type` with V = 10 s, consumed by
/// `pollers` single-message pollers whose handler sleeps `p` seconds, `extra` queue keys.
fn receipt_scenario(queue_type: &str, pollers: u32, p: u32, extra: &str) -> String {
    format!(
        r#"
[simulation]
duration = "3m"
{sends}
[[component]]
name = "queue"
kind = "sqs"
type = "{queue_type}"
consumer = "workers"
pollers = {pollers}
batch_size = 1
visibility_timeout = "10s"
{extra}

[[component]]
name = "dlq"
kind = "sqs"
type = "{queue_type}"
{workers}"#,
        sends = constant_sends("producer", "queue", 1),
        workers = fleet("workers", pollers, &format!(r#"{{ sleep = "{p}s" }}"#)),
    )
}

/// The three cases of a delete, one message each (V = 10 s; times below from its send at 0):
/// - **before** the visibility timeout (p = 5 s): deleted, nothing twice, either queue type;
/// - **after, no new receive** (one poller, p = 25 s: busy when the message reappears at
///   10 s, so nobody receives it again before the delete at 25 s). Standard: the latest
///   handle deletes it, late; no duplicate. FIFO: the handle expired at 10 s, the delete
///   fails, and the message is received again at 25 s (count 2), reappears at 35 s, its
///   second delete at 50 s fails too, and the receive at 50 s would be its third: with
///   `max_receive_count = 2` it is dead-lettered;
/// - **after, with a new receive** (two pollers, p = 15 s): A receives at 0 (h1); it
///   reappears at 10 s and B receives it (h2, count 2); A deletes with h1 at 15 s, an older
///   handle: nothing deleted, a duplicate. It reappears at 20 s and A's receive would be the
///   third: dead-lettered; B's delete at 25 s finds nothing, a second duplicate. With
///   `stale_delete_deletes = 1` A's delete at 15 s deletes it, and B's at 25 s is the one
///   duplicate.
#[test]
fn receipt_handles_follow_the_documented_rule_of_each_queue_type() {
    let mut checks = Checks::new("receipt handles, one message, V = 10 s");
    let dlq = "max_receive_count = 2\ndead_letter_queue = \"dlq\"";
    struct Case {
        name: &'static str,
        queue_type: &'static str,
        pollers: u32,
        p: u32,
        extra: String,
        // received, deleted, duplicates, dead-lettered, late deletes, expired-handle deletes
        expected: [f64; 6],
    }
    let cases = [
        Case {
            name: "standard, delete before the timeout",
            queue_type: "standard",
            pollers: 1,
            p: 5,
            extra: dlq.to_string(),
            expected: [1.0, 1.0, 0.0, 0.0, 0.0, 0.0],
        },
        Case {
            name: "fifo, delete before the timeout",
            queue_type: "fifo",
            pollers: 1,
            p: 5,
            extra: dlq.to_string(),
            expected: [1.0, 1.0, 0.0, 0.0, 0.0, 0.0],
        },
        Case {
            name: "standard, late delete, no new receive",
            queue_type: "standard",
            pollers: 1,
            p: 25,
            extra: dlq.to_string(),
            expected: [1.0, 1.0, 0.0, 0.0, 1.0, 0.0],
        },
        Case {
            name: "fifo, late delete, no new receive",
            queue_type: "fifo",
            pollers: 1,
            p: 25,
            extra: dlq.to_string(),
            expected: [2.0, 0.0, 2.0, 1.0, 0.0, 2.0],
        },
        Case {
            name: "standard, late delete after a new receive",
            queue_type: "standard",
            pollers: 2,
            p: 15,
            extra: dlq.to_string(),
            expected: [2.0, 0.0, 2.0, 1.0, 0.0, 0.0],
        },
        Case {
            name: "standard, late delete after a new receive, stale_delete_deletes = 1",
            queue_type: "standard",
            pollers: 2,
            p: 15,
            extra: format!("{dlq}\nstale_delete_deletes = 1"),
            expected: [2.0, 1.0, 1.0, 0.0, 0.0, 0.0],
        },
    ];
    let figures = [
        "received",
        "deleted",
        "duplicate_deliveries",
        "dead_lettered",
        "late_deletes",
        "expired_receipt_deletes",
    ];
    for case in &cases {
        let text = receipt_scenario(case.queue_type, case.pollers, case.p, &case.extra);
        let s = run_once(&text);
        checks.equal(
            &format!("{}: sent", case.name),
            1.0,
            fig(&s, "queue", "sent"),
        );
        for (figure, expected) in figures.iter().zip(case.expected) {
            checks.equal(
                &format!("{}: {figure}", case.name),
                expected,
                fig(&s, "queue", figure),
            );
        }
    }
    // The late delete of the standard queue deleted it 25 s after it was sent.
    let s = run_once(&receipt_scenario("standard", 1, 25, dlq));
    checks.equal(
        "standard, late delete: message age 25 s",
        25_000.0,
        fig(&s, "queue", "message_age_ms.max"),
    );
    checks.finish();
}

/// Heartbeats extend only a message in flight. Two messages (sent at 1.5 s and 2.5 s) reach
/// one short-polling poller together at its poll at 10 s (polls every 10 s from 0; batch of
/// 2, V = 10 s, p = 25 s, heartbeats on): the first is processed at once, extended at 20 s
/// and 30 s, deleted at 35 s; the second waits in the batch, reappears at 20 s (no heartbeat:
/// not being processed), is not received again (the only poller is busy), and is processed
/// from 35 s to 60 s: a heartbeat for it would fail (not in flight), and, on a standard
/// queue, its delete with the latest handle deletes it, 57.5 s after it was sent.
#[test]
fn heartbeats_extend_only_messages_in_flight() {
    let mut checks = Checks::new("heartbeats and late deletes, standard queue");
    let text = format!(
        r#"
[simulation]
duration = "3m"
{sends}
[[component]]
name = "queue"
kind = "sqs"
consumer = "workers"
pollers = 1
batch_size = 2
receive_wait = "0s"
poll_interval = "10s"
visibility_timeout = "10s"
heartbeat = true
{workers}"#,
        sends = constant_sends("producer", "queue", 2),
        workers = fleet("workers", 1, r#"{ sleep = "25s" }"#),
    );
    let s = run_once(&text);
    let q = |k: &str| fig(&s, "queue", k);
    checks.equal("sent", 2.0, q("sent"));
    checks.equal("received once each", 2.0, q("received"));
    checks.equal("both deleted", 2.0, q("deleted"));
    checks.equal("one late delete", 1.0, q("late_deletes"));
    checks.equal("two heartbeats, for the first", 2.0, q("heartbeats"));
    checks.equal("no duplicates", 0.0, q("duplicate_deliveries"));
    // Ages 35 − 1.5 = 33.5 s and 60 − 2.5 = 57.5 s.
    checks.equal(
        "the second deleted at 60 s",
        57_500.0,
        q("message_age_ms.max"),
    );
    checks.equal("the first at 35 s", 45_500.0, q("message_age_ms.mean"));
    checks.finish();
}

/// An independent model of a standard queue under load, for the check below: Poisson sends,
/// `pollers` single-message long-polling pollers taking the head of the queue, a message
/// returning to visibility behind the visible ones (awsim's assumed place: AWS promises only
/// best-effort order), dead-lettered at the receive past `max_receives`.
/// `late_delete`: a standard queue's documented rule (the latest handle deletes, even after
/// the timeout); without it, a delete counts only within the visibility timeout (a FIFO
/// queue's rule, and the one awsim used to follow for both). A FIFO queue whose messages are
/// each their own group behaves the same: a returning message joins the back of the ready
/// groups. Returns
/// (receives per message, dead-lettered share) of the messages sent after the warm-up.
fn reference_queue(seed: u64, late_delete: bool) -> (f64, f64) {
    use rand::SeedableRng;
    use rand_distr::{Distribution, Exp, LogNormal};
    use std::cmp::Reverse;
    use std::collections::{BinaryHeap, VecDeque};

    const POLLERS: u32 = 8;
    const VISIBILITY: f64 = 10.0;
    const MAX_RECEIVES: u32 = 3;
    const WARMUP: f64 = 1_800.0;
    const END: f64 = 4.0 * 3_600.0;
    #[derive(PartialEq)]
    enum State {
        Visible,
        InFlight,
        Gone,
    }
    struct Message {
        sent_at: f64,
        receives: u32,
        handle: u64,
        state: State,
    }
    // Events as (time in ns, order, kind, message, handle): kind 0 send, 1 visibility ends,
    // 2 processing ends.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let gap = Exp::new(0.6).unwrap();
    let work = LogNormal::new(5f64.ln(), 1.0).unwrap();
    let mut events = BinaryHeap::new();
    let mut order = 0u64;
    let mut push = |events: &mut BinaryHeap<_>, t: f64, kind: u8, m: usize, h: u64| {
        order += 1;
        events.push(Reverse(((t * 1e9) as u64, order, kind, m, h)));
    };
    let mut messages: Vec<Message> = Vec::new();
    let mut visible: VecDeque<usize> = VecDeque::new();
    let (mut idle, mut handles) = (POLLERS, 0u64);
    let (mut sent, mut receives, mut dead) = (0u64, 0u64, 0u64);
    push(&mut events, gap.sample(&mut rng), 0, 0, 0);
    while let Some(Reverse((t, _, kind, m, h))) = events.pop() {
        let now = t as f64 / 1e9;
        if now >= END {
            break;
        }
        match kind {
            0 => {
                messages.push(Message {
                    sent_at: now,
                    receives: 0,
                    handle: 0,
                    state: State::Visible,
                });
                visible.push_back(messages.len() - 1);
                sent += u64::from(now >= WARMUP);
                push(&mut events, now + gap.sample(&mut rng), 0, 0, 0);
            }
            1 => {
                let msg = &mut messages[m];
                if msg.state == State::InFlight && msg.handle == h {
                    msg.state = State::Visible;
                    visible.push_back(m);
                }
            }
            _ => {
                idle += 1;
                let msg = &mut messages[m];
                let deletes = msg.handle == h
                    && match msg.state {
                        State::InFlight => true,
                        State::Visible => late_delete,
                        State::Gone => false,
                    };
                if deletes {
                    // A visible one stays listed and is skipped when reached.
                    msg.state = State::Gone;
                }
            }
        }
        while idle > 0 {
            let Some(m) = visible.pop_front() else { break };
            let msg = &mut messages[m];
            if msg.state != State::Visible {
                continue;
            }
            msg.receives += 1;
            let counted = msg.sent_at >= WARMUP;
            if msg.receives > MAX_RECEIVES {
                msg.state = State::Gone;
                dead += u64::from(counted);
                continue;
            }
            receives += u64::from(counted);
            handles += 1;
            msg.handle = handles;
            msg.state = State::InFlight;
            idle -= 1;
            push(&mut events, now + VISIBILITY, 1, m, handles);
            push(&mut events, now + work.sample(&mut rng), 2, m, handles);
        }
    }
    (receives as f64 / sent as f64, dead as f64 / sent as f64)
}

/// A busy standard queue (8 single-message pollers, 0.6 messages/s, lognormal processing with
/// median 5 s and σ = 1, so about 62 % busy, V = 10 s, `max_receive_count = 3`): receives per
/// message and the dead-lettered share agree with the independent model of the documented
/// rule within confidence bounds, and differ from the model of the rule awsim used to follow
/// (the check can tell the two apart). The same queue as FIFO agrees with the model of
/// handles that expire.
#[test]
fn busy_queues_match_an_independent_model_of_each_documented_rule() {
    let text = r#"
[simulation]
duration = "4h"
warmup = "30m"

[[workload]]
name = "producer"
target = "queue"
arrival = { process = "poisson", rate = "0.6/s" }

[[component]]
name = "queue"
kind = "sqs"
consumer = "workers"
pollers = 8
batch_size = 1
visibility_timeout = "10s"
max_receive_count = 3
dead_letter_queue = "dlq"

[[component]]
name = "dlq"
kind = "sqs"

[[component]]
name = "workers"
kind = "ec2_fleet"
instances = 1
vcpus = 8
handler = [ { compute = { dist = "lognormal", mu = 1.6094379124341003, sigma = 1.0 } } ]
"#;
    let mut checks = Checks::new("busy standard queue against an independent model");
    // Four times the usual replications (each run takes milliseconds): enough to tell the
    // two rules' dead-lettered shares apart (1.1 % against 1.4 %).
    let awsim = replicate(text, 4 * R, |s| {
        let sent = fig(s, "queue", "sent");
        (
            fig(s, "queue", "received") / sent,
            fig(s, "queue", "dead_lettered") / sent,
        )
    });
    let documented: Vec<(f64, f64)> = (1..=4 * R)
        .map(|seed| reference_queue(seed, true))
        .collect();
    let old: Vec<(f64, f64)> = (1..=4 * R)
        .map(|seed| reference_queue(seed, false))
        .collect();
    let ci = |xs: Vec<f64>| ConfidenceInterval::from_replications(&xs);
    for (what, pick) in [
        ("receives per message", 0usize),
        ("dead-lettered share", 1usize),
    ] {
        let get = |v: &[(f64, f64)]| -> Vec<f64> {
            v.iter()
                .map(|p| if pick == 0 { p.0 } else { p.1 })
                .collect()
        };
        let (a, d, o) = (ci(get(&awsim)), ci(get(&documented)), ci(get(&old)));
        let bound = |x: &ConfidenceInterval, y: &ConfidenceInterval| {
            K * (x.half_width.powi(2) + y.half_width.powi(2)).sqrt()
        };
        checks.holds(
            &format!("{what}: awsim agrees with the documented rule"),
            (a.mean - d.mean).abs() <= bound(&a, &d),
            format!("awsim {a}, documented rule {d}"),
        );
        checks.holds(
            &format!("{what}: and not with the old rule"),
            (a.mean - o.mean).abs() > bound(&a, &o),
            format!("awsim {a}, old rule {o}"),
        );
    }
    checks.finish();

    // The same queue as FIFO, every message its own group (the request id is the key): a late
    // delete fails, so it follows the rule the standard queue no longer does.
    let fifo = text
        .replace(
            "kind = \"sqs\"\nconsumer",
            "kind = \"sqs\"\ntype = \"fifo\"\nconsumer",
        )
        .replace(
            "name = \"dlq\"\nkind = \"sqs\"",
            "name = \"dlq\"\nkind = \"sqs\"\ntype = \"fifo\"",
        );
    assert_eq!(fifo.matches("fifo").count(), 2, "{fifo}");
    let mut checks = Checks::new("busy FIFO queue against an independent model");
    let awsim = replicate(&fifo, 4 * R, |s| {
        let sent = fig(s, "queue", "sent");
        (
            fig(s, "queue", "received") / sent,
            fig(s, "queue", "dead_lettered") / sent,
        )
    });
    let expiring: Vec<(f64, f64)> = (1..=4 * R)
        .map(|seed| reference_queue(seed, false))
        .collect();
    for (what, pick) in [
        ("receives per message", 0usize),
        ("dead-lettered share", 1usize),
    ] {
        let get = |v: &[(f64, f64)]| -> Vec<f64> {
            v.iter()
                .map(|p| if pick == 0 { p.0 } else { p.1 })
                .collect()
        };
        let (a, e) = (ci(get(&awsim)), ci(get(&expiring)));
        let bound = K * (a.half_width.powi(2) + e.half_width.powi(2)).sqrt();
        checks.holds(
            &format!("{what}: awsim agrees with handles that expire"),
            (a.mean - e.mean).abs() <= bound,
            format!("awsim {a}, expiring handles {e}"),
        );
    }
    checks.finish();
}

// ---------------------------------------------------------------------------------------------
// 3. FIFO queues
// ---------------------------------------------------------------------------------------------

/// Poisson sends with `groups` message groups (the request key) → a queue of `queue_type`
/// consumed by 4 pollers of one 4-worker instance, exponential 100 ms handler.
fn fifo_scenario(queue_type: &str, groups: u32, lambda: f64, hours: u32) -> String {
    format!(
        r#"
[simulation]
duration = "{hours}h"
warmup = "10m"
interval = "10m"

[[workload]]
name = "producer"
target = "queue"
arrival = {{ process = "poisson", rate = "{lambda}/s" }}
key = {{ dist = "uniform", keys = {groups} }}

[[component]]
name = "queue"
kind = "sqs"
type = "{queue_type}"
consumer = "workers"
pollers = 4
batch_size = 1
visibility_timeout = "1h"
{workers}"#,
        workers = fleet("workers", 4, EXPONENTIAL_100MS)
    )
}

/// The smallest FIFO case that showed the hang (fixed; kept as a guard): one group, a poller
/// waiting while a message of the group is in flight. Also with a Lambda consumer.
#[test]
fn fifo_queue_with_a_consumer_terminates() {
    let limit = Duration::from_secs(10);
    assert_finishes(&fifo_scenario("fifo", 1, 5.0, 1), "pollers", "20m", limit);
    let lambda = r#"
[simulation]
duration = "1m"

[[workload]]
name = "producer"
target = "queue"
arrival = { process = "poisson", rate = "5/s" }
key = { dist = "uniform", keys = 1 }

[[component]]
name = "queue"
kind = "sqs"
type = "fifo"
consumer = "fn"

[[component]]
name = "fn"
kind = "lambda"
handler = [ { compute = { dist = "exponential", mean = "100ms" } } ]
"#;
    assert_finishes(lambda, "lambda", "1m", limit);
}

/// Order within a group: one message group and 4 pollers. A FIFO queue delivers a group's
/// messages in order and never two at a time, so however many pollers wait, the group is served
/// by one at a time: an M/M/1 queue (λ = 5/s, μ = 10/s), not M/M/4. Its sojourn time in FIFO
/// order is exponential with rate μ − λ: mean 200 ms, median ln 2/(μ − λ) = 138.6 ms, p90
/// ln 10/(μ − λ) = 460.5 ms. The percentiles depend on the service order (the mean would be the
/// same for any order that serves one message at a time), so they check the order too. The
/// same load on a standard queue is M/M/4: mean about 100.3 ms.
#[test]
fn fifo_one_group_is_served_in_order_one_at_a_time() {
    let (lambda, hours) = (5.0, 2);
    let text = fifo_scenario("fifo", 1, lambda, hours);
    assert_finishes(&text, "one-group", "20m", Duration::from_secs(10));
    let mut checks = Checks::new(format!(
        "FIFO, one group, 4 pollers, λ = {lambda}/s ({hours} h × {R} runs)"
    ));
    let runs = replicate(&text, R, QueueFigures::of);
    let rate = MU - lambda;
    checks.ci(
        "mean age (ms) vs M/M/1 1/(μ − λ)",
        1e3 / rate,
        runs.iter().map(|r| r.age_ms),
    );
    checks.ci(
        "median age (ms) vs ln 2/(μ − λ)",
        1e3 * 2f64.ln() / rate,
        runs.iter().map(|r| r.age_p50_ms),
    );
    checks.ci(
        "p90 age (ms) vs ln 10/(μ − λ)",
        1e3 * 10f64.ln() / rate,
        runs.iter().map(|r| r.age_p90_ms),
    );
    let standard = replicate(
        &fifo_scenario("standard", 1, lambda, hours),
        R,
        QueueFigures::of,
    );
    checks.ci(
        "standard queue, same load: mean age (ms) vs M/M/4",
        1e3 * (mmc_mean_wait(4, lambda, MU) + 1.0 / MU),
        standard.iter().map(|r| r.age_ms),
    );
    checks.finish();
}

/// A blocked group does not block the others: 4 groups (uniform keys) and 4 pollers. Each group
/// has at most one message in flight, and there are as many pollers as groups, so a message
/// of an unblocked group never waits for a poller: each group is its own M/M/1 queue with a
/// quarter of the load (λ/4 = 5/s, μ = 10/s): mean age 1/(μ − λ/4) = 200 ms. If one group's
/// message in flight held up the others, the queue would be one M/M/1 at λ = 20/s > μ: unstable.
#[test]
fn fifo_groups_are_independent_queues() {
    let (groups, lambda, hours) = (4, 20.0, 1);
    let text = fifo_scenario("fifo", groups, lambda, hours);
    assert_finishes(&text, "four-groups", "20m", Duration::from_secs(10));
    let mut checks = Checks::new(format!(
        "FIFO, {groups} groups, 4 pollers, λ = {lambda}/s ({hours} h × {R} runs)"
    ));
    let runs = replicate(&text, R, QueueFigures::of);
    let rate = MU - lambda / groups as f64;
    checks.ci(
        "mean age (ms) vs M/M/1 per group 1/(μ − λ/4)",
        1e3 / rate,
        runs.iter().map(|r| r.age_ms),
    );
    checks.ci(
        "p90 age (ms) vs ln 10/(μ − λ/4)",
        1e3 * 10f64.ln() / rate,
        runs.iter().map(|r| r.age_p90_ms),
    );
    checks.finish();
}

/// Order with a dead-letter queue: one FIFO group, V = 10 s < p = 25 s, max_receive_count 3,
/// messages every second. The head message is received at 0, 10 and 20 s after it reached the
/// head and moved to the DLQ at 30 s; only then is the next message of the group delivered (the
/// group is blocked while its head is in flight, and a returning message goes back to the head).
/// So the group moves exactly one message to the DLQ every 30 s, in order, while the others
/// wait: after 10 minutes 20 are dead-lettered, and each consumer finishing holds a stale handle.
#[test]
fn fifo_group_waits_behind_its_failing_head() {
    let text = format!(
        r#"
[simulation]
duration = "601s"
{sends}
[[component]]
name = "queue"
kind = "sqs"
type = "fifo"
consumer = "workers"
pollers = 10
batch_size = 1
visibility_timeout = "10s"
max_receive_count = 3
dead_letter_queue = "dlq"

[[component]]
name = "dlq"
kind = "sqs"
type = "fifo"
{workers}"#,
        // One message group: the key is the group (without `key` each message is its own).
        sends = constant_sends("producer", "queue", 100).replace(
            "schedule =",
            "key = { dist = \"uniform\", keys = 1 }\nschedule =",
        ),
        workers = fleet("workers", 10, r#"{ sleep = "25s" }"#),
    );
    assert_finishes(&text, "fifo-dlq", "601s", Duration::from_secs(10));
    let mut checks = Checks::new("FIFO, one group, V = 10 s < p = 25 s, max_receive_count 3");
    let s = run_once(&text);
    let q = |k: &str| fig(&s, "queue", k);
    // The first message arrives at 1.5 s; the k-th dead-letter is at 1.5 + 30k s.
    let moved = ((601.0 - 1.5) / 30.0_f64).floor();
    checks.equal(
        "one message to the DLQ every 30 s",
        moved,
        q("dead_lettered"),
    );
    checks.equal("DLQ holds them", moved, fig(&s, "dlq", "sent"));
    // The head in flight at the end has had its 3 receives too.
    checks.equal(
        "3 receives per message that reached the head",
        3.0 * (moved + 1.0),
        q("received"),
    );
    checks.equal("none deleted", 0.0, q("deleted"));
    checks.finish();
}

/// FIFO deduplication: the request id is the deduplication id, and every hop of a user request
/// keeps its id, so a handler that sends the same request twice sends the same id twice. Within
/// 5 minutes the second send is accepted but not enqueued; 301 s later it is a new message. A
/// standard queue keeps both.
#[test]
fn fifo_deduplicates_within_five_minutes() {
    let mut checks = Checks::new("FIFO deduplication, 100 requests each sending twice");
    let lambda = |name: &str, handler: &str| {
        format!(
            r#"
[[component]]
name = "{name}"
kind = "lambda"
timeout = "400s"
handler = [ {handler} ]
"#
        )
    };
    let queue = |name: &str, queue_type: &str| {
        format!("\n[[component]]\nname = \"{name}\"\nkind = \"sqs\"\ntype = \"{queue_type}\"\n")
    };
    let mut text = "[simulation]\nduration = \"10m\"\n".to_string();
    text += &constant_sends("twice", "send-twice", 100);
    text += &constant_sends("later", "send-later", 100);
    text += &constant_sends("standard", "send-standard", 100);
    text += &lambda(
        "send-twice",
        r#"{ call = "orders" }, { sleep = "1s" }, { call = "orders" }"#,
    );
    text += &lambda(
        "send-later",
        r#"{ call = "orders-later" }, { sleep = "301s" }, { call = "orders-later" }"#,
    );
    text += &lambda(
        "send-standard",
        r#"{ call = "orders-std" }, { call = "orders-std" }"#,
    );
    text += &queue("orders", "fifo");
    text += &queue("orders-later", "fifo");
    text += &queue("orders-std", "standard");
    let s = run_once(&text);
    checks.equal(
        "within 5 min: enqueued once",
        100.0,
        fig(&s, "orders", "sent"),
    );
    checks.equal(
        "within 5 min: deduplicated once",
        100.0,
        fig(&s, "orders", "deduplicated"),
    );
    checks.equal(
        "301 s apart: enqueued twice",
        200.0,
        fig(&s, "orders-later", "sent"),
    );
    checks.equal(
        "301 s apart: nothing deduplicated",
        0.0,
        fig(&s, "orders-later", "deduplicated"),
    );
    checks.equal(
        "standard queue: enqueued twice",
        200.0,
        fig(&s, "orders-std", "sent"),
    );
    checks.finish();
}

/// FIFO queues accept at most 300 sends per second (no batching): at a constant 400/s for 10 s
/// each second admits 300 and throttles 100.
#[test]
fn fifo_throttles_sends_beyond_300_per_second() {
    let mut checks = Checks::new("FIFO send limit, 400/s for 10 s");
    let text = r#"
[simulation]
duration = "1m"

[[workload]]
name = "producer"
target = "queue"
arrival = { process = "constant" }
schedule = [ { at = "0s", rate = "400/s" }, { at = "10s", rate = "0/s" } ]

[[component]]
name = "queue"
kind = "sqs"
type = "fifo"
"#;
    let s = run_once(text);
    let (sent, throttled) = (
        fig(&s, "queue", "sent"),
        fig(&s, "queue", "throttled_sends"),
    );
    let total = number(&s.workloads, &["producer", "requests", "created"]);
    checks.holds(
        "3000 sent and 1000 throttled (±1 at the edges)",
        (sent - 3000.0).abs() <= 1.0 && (throttled - 1000.0).abs() <= 1.0,
        format!("{sent} sent, {throttled} throttled of {total}"),
    );
    checks.equal(
        "the producer sees the throttles",
        throttled,
        number(&s.workloads, &["producer", "requests", "throttled"]),
    );
    checks.finish();
}

// ---------------------------------------------------------------------------------------------
// 4. Nothing is lost
// ---------------------------------------------------------------------------------------------

/// A queue nobody reads, retention 60 s: every message expires (counted), standard and FIFO.
/// Expired messages leave at the next sweep (every 60 s), so none is left after 10 minutes.
#[test]
fn unread_messages_expire_after_retention() {
    let mut checks = Checks::new("retention 60 s, no consumer, 100 messages");
    for queue_type in ["standard", "fifo"] {
        let mut text = "[simulation]\nduration = \"10m\"\n".to_string();
        text += &constant_sends("producer", "queue", 100);
        text += &format!(
            "\n[[component]]\nname = \"queue\"\nkind = \"sqs\"\ntype = \"{queue_type}\"\n\
             retention = \"60s\"\n"
        );
        let s = run_once(&text);
        let q = |k: &str| fig(&s, "queue", k);
        checks.equal(&format!("{queue_type}: sent"), 100.0, q("sent"));
        checks.equal(
            &format!("{queue_type}: expired = sent"),
            q("sent"),
            q("expired"),
        );
        checks.equal(&format!("{queue_type}: none left"), 0.0, q("visible_end"));
    }
    checks.finish();
}

/// A delay queue (60 s): a message is invisible (`messages_delayed`) for its first 60 s and
/// visible after. Queue `held` has no consumer, so at each whole second t its visible count is
/// the number sent by t − 60 and its delayed count the number sent in (t − 60, t]. Queue `fast`
/// has 10 pollers and a 1 s handler: every message is deleted exactly 61 s after it was sent.
#[test]
fn delayed_messages_stay_invisible_until_the_delay_ends() {
    let mut checks = Checks::new("delay 60 s, 100 messages");
    let mut text = "[simulation]\nduration = \"5m\"\n".to_string();
    text += &constant_sends("to-held", "held", 100);
    text += &constant_sends("to-fast", "fast", 100);
    text += r#"
[[component]]
name = "held"
kind = "sqs"
delay = "60s"

[[component]]
name = "fast"
kind = "sqs"
delay = "60s"
consumer = "workers"
pollers = 10
batch_size = 1
"#;
    text += &fleet("workers", 10, r#"{ sleep = "1s" }"#);
    let (s, series) = run_with_series(&text);
    let sent_by = series.cumulative_arrivals("held");
    let rows = series.of("held");
    let mut wrong = Vec::new();
    for (i, (t, row)) in rows.iter().enumerate() {
        let now = sent_by[i].1;
        let visible_by = if i >= 60 { sent_by[i - 60].1 } else { 0 };
        let seen = (
            row.queue_length.unwrap(),
            gauge(row, "messages_delayed"),
            gauge(row, "messages_in_flight"),
        );
        if seen != (visible_by, now - visible_by, 0) {
            wrong.push(format!(
                "t = {t}: (visible, delayed, in flight) {seen:?}, expected ({visible_by}, {}, 0)",
                now - visible_by
            ));
        }
    }
    checks.holds(
        "visible = sent by t − 60 s, delayed = sent in the last 60 s, every second",
        wrong.is_empty(),
        format!("{} rows; {:?}", rows.len(), &wrong[..wrong.len().min(3)]),
    );
    checks.equal(
        "at most 60 delayed at once",
        60.0,
        rows.iter()
            .map(|(_, r)| gauge(r, "messages_delayed"))
            .max()
            .unwrap() as f64,
    );
    checks.equal("fast: all deleted", 100.0, fig(&s, "fast", "deleted"));
    for k in ["mean", "max"] {
        checks.equal(
            &format!("fast: message age {k} = delay + 1 s"),
            61_000.0,
            fig(&s, "fast", &format!("message_age_ms.{k}")),
        );
    }
    checks.finish();
}

/// Dead-letter queue and redrive: V = 10 s < p = 25 s and max_receive_count 3 send all 100
/// messages to the DLQ by 131 s; `redrive_at = "5m"` moves them back to the source, where (the
/// consumer being as slow as before) they are dead-lettered again. Counted as messages: the
/// source has 200 sends (100 + 100 redriven), 600 receives and 200 dead-letters; the DLQ has 200
/// arrivals, is empty just after the redrive and holds 100 at the end.
#[test]
fn redrive_returns_dead_letters_to_the_source() {
    let mut checks = Checks::new("DLQ redrive at 5 min, 100 messages");
    let mut text = visibility_scenario(
        100,
        10,
        "max_receive_count = 3\ndead_letter_queue = \"dlq\"",
    );
    text = text.replace(
        "name = \"dlq\"\nkind = \"sqs\"\n",
        "name = \"dlq\"\nkind = \"sqs\"\nredrive_at = \"5m\"\n",
    );
    let (s, series) = run_with_series(&text);
    let q = |k: &str| fig(&s, "queue", k);
    checks.equal("source: sent 100 + 100 redriven", 200.0, q("sent"));
    checks.equal("source: received 3 × 200", 600.0, q("received"));
    checks.equal(
        "source: dead-lettered twice each",
        200.0,
        q("dead_lettered"),
    );
    checks.equal("DLQ: 200 arrivals", 200.0, fig(&s, "dlq", "sent"));
    checks.equal("DLQ: 100 at the end", 100.0, fig(&s, "dlq", "visible_end"));
    let dlq = series.of("dlq");
    let at = |t: f64| {
        dlq.iter()
            .find(|(time, _)| *time == t)
            .and_then(|(_, r)| r.queue_length)
    };
    checks.holds(
        "DLQ holds 100 just before the redrive and none just after",
        at(299.0) == Some(100) && at(301.0) == Some(0),
        format!("t = 299 s: {:?}, t = 301 s: {:?}", at(299.0), at(301.0)),
    );
    checks.finish();
}

/// A Lambda consumer throttled by a small reserved concurrency (2, while the event source
/// mapping starts with 5 concurrent batches): throttled batches are not deleted and come back
/// after the visibility timeout, until they succeed or pass max_receive_count. Arrivals stop
/// after 2 minutes and the run goes on for 30: every message ends deleted or dead-lettered.
/// With batches of one message, each failure is followed by exactly one more receive or one
/// move to the DLQ: redeliveries + dead-lettered = failed processing = the function's throttles.
#[test]
fn throttled_lambda_batches_come_back_until_deleted_or_dead_lettered() {
    let mut checks = Checks::new("Lambda consumer, reserved concurrency 2, 20/s for 2 min");
    let text = r#"
[simulation]
duration = "30m"
seed = 3

[[workload]]
name = "producer"
target = "queue"
arrival = { process = "poisson" }
schedule = [ { at = "0s", rate = "20/s" }, { at = "2m", rate = "0/s" } ]

[[component]]
name = "queue"
kind = "sqs"
consumer = "fn"
batch_size = 1
visibility_timeout = "30s"
max_receive_count = 4
dead_letter_queue = "dlq"

[[component]]
name = "dlq"
kind = "sqs"

[[component]]
name = "fn"
kind = "lambda"
memory_mb = 1769
reserved_concurrency = 2
handler = [ { compute = { dist = "exponential", mean = "100ms" } } ]
"#;
    let s = run_once(text);
    let q = |k: &str| fig(&s, "queue", k);
    let sent = q("sent");
    let (deleted, dead) = (q("deleted"), q("dead_lettered"));
    println!(
        "sent {sent}, deleted {deleted}, dead-lettered {dead}, failed {}, redeliveries {}, \
         throttles {}",
        q("failed_processing"),
        q("redeliveries"),
        fig(&s, "fn", "throttles")
    );
    checks.holds(
        "throttled batches happened and came back",
        q("failed_processing") > 0.0 && q("redeliveries") > 0.0,
        format!(
            "failed {}, redeliveries {}",
            q("failed_processing"),
            q("redeliveries")
        ),
    );
    checks.equal(
        "every message deleted or dead-lettered",
        sent,
        deleted + dead,
    );
    checks.equal("none left visible", 0.0, q("visible_end"));
    checks.equal("none left in flight", 0.0, q("in_flight_end"));
    checks.equal(
        "failed processing = the function's throttles",
        fig(&s, "fn", "throttles"),
        q("failed_processing"),
    );
    checks.equal(
        "redeliveries + dead-lettered = failed processing",
        q("failed_processing"),
        q("redeliveries") + dead,
    );
    checks.equal(
        "DLQ holds the dead-lettered",
        dead,
        fig(&s, "dlq", "visible_end"),
    );
    checks.finish();
}

/// Redrive returns each message to the queue it came from. Two source queues share one
/// dead-letter queue (AWS allows it); with V < p and max_receive_count 1 both send everything
/// there; after the redrive each source should get its own messages back: `a` 99 + 99 sends,
/// `b` 49 + 49.
#[test]
fn redrive_returns_each_message_to_its_own_source() {
    let mut checks = Checks::new("two sources share a DLQ, redrive at 5 min");
    let source = |name: &str, consumer: &str| {
        format!(
            r#"
[[component]]
name = "{name}"
kind = "sqs"
consumer = "{consumer}"
batch_size = 1
visibility_timeout = "10s"
max_receive_count = 1
dead_letter_queue = "dlq"
"#
        )
    };
    let mut text = "[simulation]\nduration = \"20m\"\n".to_string();
    text += &constant_sends("to-a", "a", 99);
    text += &constant_sends("to-b", "b", 49);
    text += &source("a", "wa");
    text += &source("b", "wb");
    text += "\n[[component]]\nname = \"dlq\"\nkind = \"sqs\"\nredrive_at = \"5m\"\n";
    text += &fleet("wa", 100, r#"{ sleep = "25s" }"#);
    text += &fleet("wb", 100, r#"{ sleep = "25s" }"#);
    let s = run_once(&text);
    checks.equal("a: its 99 twice", 198.0, fig(&s, "a", "sent"));
    checks.equal("b: its 49 twice", 98.0, fig(&s, "b", "sent"));
    checks.finish();
}

// ---------------------------------------------------------------------------------------------
// 5. Long and short polling
// ---------------------------------------------------------------------------------------------

/// An idle queue (the only workload sends elsewhere) for 601 s, read by 2 instances × 3 pollers.
/// Long polling: each poller's receive waits `receive_wait` and ends empty, then it receives
/// again: one empty receive per poller per wait, at 20 s, 40 s, ..., 600 s (30 each with 20 s,
/// 120 each with 5 s). Short polling: an empty receive at once at 0 s and then every
/// `poll_interval` (2 s): at 0, 2, ..., 600 s, 301 each.
#[test]
fn empty_receives_of_long_and_short_polling() {
    let mut checks = Checks::new("idle queue, 6 pollers, 601 s");
    for (wait, per_poller) in [("20s", 30.0), ("5s", 120.0), ("0s", 301.0)] {
        let text = format!(
            r#"
[simulation]
duration = "601s"

[[workload]]
name = "other"
target = "elsewhere"
arrival = {{ process = "constant", rate = "1/s" }}
{elsewhere}
[[component]]
name = "queue"
kind = "sqs"
consumer = "workers"
pollers = 3
receive_wait = "{wait}"
poll_interval = "2s"

[[component]]
name = "workers"
kind = "ec2_fleet"
instances = 2
vcpus = 4
handler = [ {{ compute = "1ms" }} ]
"#,
            elsewhere = fleet("elsewhere", 1, r#"{ compute = "1ms" }"#),
        );
        let s = run_once(&text);
        checks.equal(
            &format!("receive_wait {wait}: empty receives"),
            6.0 * per_poller,
            fig(&s, "queue", "empty_receives"),
        );
    }
    checks.finish();
}

// ---------------------------------------------------------------------------------------------
// Extra deliveries
// ---------------------------------------------------------------------------------------------

/// `extra_delivery_probability`: "probability that a receive delivers a message twice". A
/// delivered message is processed, so the consumer's handler should run once per delivery:
/// received + extra_deliveries times, and the copy processed second finds its message deleted
/// (a duplicate delivery).
#[test]
fn extra_deliveries_reach_the_consumer() {
    let mut checks = Checks::new("extra_delivery_probability 0.2, pollers, batch_size 10");
    let text = format!(
        r#"
[simulation]
duration = "10m"
seed = 1

[[workload]]
name = "producer"
target = "queue"
arrival = {{ process = "poisson", rate = "10/s" }}

[[component]]
name = "queue"
kind = "sqs"
consumer = "workers"
pollers = 4
batch_size = 10
extra_delivery_probability = 0.2
{workers}"#,
        workers = fleet("workers", 4, EXPONENTIAL_100MS)
    );
    let s = run_once(&text);
    let q = |k: &str| fig(&s, "queue", k);
    checks.holds(
        "some extra deliveries",
        q("extra_deliveries") > 0.0,
        format!("{}", q("extra_deliveries")),
    );
    checks.equal(
        "handlers run = received + extra deliveries",
        q("received") + q("extra_deliveries"),
        fig(&s, "workers", "requests.created"),
    );
    checks.equal(
        "each extra copy is a duplicate delivery",
        q("extra_deliveries"),
        q("duplicate_deliveries"),
    );
    checks.finish();
}

// ---------------------------------------------------------------------------------------------
// 7. Bad input
// ---------------------------------------------------------------------------------------------

const BASE: &str = r#"[simulation]
duration = "1m"

[[workload]]
name = "orders"
target = "jobs"
arrival = { process = "poisson", rate = "10/s" }

[[component]]
name = "jobs"
kind = "sqs"
visibility_timeout = "30s"
retention = "4d"
consumer = "workers"
max_receive_count = 5
dead_letter_queue = "jobs-dlq"

[[component]]
name = "jobs-dlq"
kind = "sqs"

[[component]]
name = "workers"
kind = "ec2_fleet"
instances = 2
handler = [ { compute = "10ms" } ]

[[component]]
name = "web-alb"
kind = "alb"
targets = "workers"
"#;

/// The error text for BASE with `from` replaced by `to` (which must occur in BASE): from parsing
/// or, if the scenario parses, from building it (where queue types are compared).
fn error_for(from: &str, to: &str) -> String {
    assert!(
        BASE.contains(from),
        "test setup: `{from}` not in the base scenario"
    );
    let text = BASE.replacen(from, to, 1);
    match Scenario::parse(&text, Path::new("case.toml")) {
        Err(e) => e.to_string(),
        Ok(scenario) => match scenario.build(RunSettings::default()) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("accepted a bad scenario:\n{text}"),
        },
    }
}

/// Asserts the first line of `message` starts with `location` and contains every `part`.
fn assert_message(message: &str, location: &str, parts: &[&str]) {
    let first = message.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(location),
        "expected the message to start with `{location}`, got:\n{message}"
    );
    for part in parts {
        assert!(first.contains(part), "expected `{part}` in:\n{message}");
    }
}

#[test]
fn the_base_queue_scenario_is_valid() {
    let scenario = parse(BASE);
    scenario
        .build(RunSettings::default())
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn visibility_timeout_above_12_hours() {
    let m = error_for(r#""30s""#, r#""13h""#);
    assert_message(
        &m,
        "case.toml:12:22: ",
        &[
            "component `jobs`, field `visibility_timeout`",
            "must be between 0s and 12h, found 13h",
        ],
    );
}

#[test]
fn retention_below_60_seconds() {
    let m = error_for(r#""4d""#, r#""59s""#);
    assert_message(
        &m,
        "case.toml:13:13: ",
        &[
            "field `retention`",
            "must be between 60s and 14 days",
            "found 59s",
        ],
    );
}

#[test]
fn retention_above_14_days() {
    let m = error_for(r#""4d""#, r#""15d""#);
    // The value comes back as "360h", not as written ("15d").
    assert_message(
        &m,
        "case.toml:13:13: ",
        &["field `retention`", "must be between 60s and 14 days"],
    );
}

#[test]
fn delay_above_15_minutes() {
    let m = error_for(r#"retention = "4d""#, "retention = \"4d\"\ndelay = \"16m\"");
    assert_message(
        &m,
        "case.toml:14:9: ",
        &["field `delay`", "must be between 0s and 15m, found 16m"],
    );
}

#[test]
fn receive_wait_above_20_seconds() {
    let m = error_for(
        r#"retention = "4d""#,
        "retention = \"4d\"\nreceive_wait = \"21s\"",
    );
    assert_message(
        &m,
        "case.toml:14:16: ",
        &["field `receive_wait`", "must be between 0s and 20s"],
    );
}

#[test]
fn batch_of_more_than_10() {
    let m = error_for(r#"retention = "4d""#, "retention = \"4d\"\nbatch_size = 11");
    assert_message(
        &m,
        "case.toml:14:14: ",
        &["field `batch_size`", "must be between 1 and 10", "found 11"],
    );
}

#[test]
fn fifo_queue_with_a_standard_dead_letter_queue() {
    let m = error_for(r#"retention = "4d""#, "retention = \"4d\"\ntype = \"fifo\"");
    assert_message(
        &m,
        "case.toml:9:1: ",
        &[
            "component `jobs`",
            "the dead-letter queue `jobs-dlq` is a standard queue but `jobs` is a FIFO queue",
            "a FIFO queue needs a FIFO dead-letter queue",
        ],
    );
}

#[test]
fn standard_queue_with_a_fifo_dead_letter_queue() {
    let m = error_for(
        "name = \"jobs-dlq\"\nkind = \"sqs\"",
        "name = \"jobs-dlq\"\nkind = \"sqs\"\ntype = \"fifo\"",
    );
    assert_message(
        &m,
        "case.toml:9:1: ",
        &["the dead-letter queue `jobs-dlq` is a FIFO queue but `jobs` is a standard queue"],
    );
}

#[test]
fn a_dead_letter_queue_must_be_a_queue() {
    let m = error_for(
        r#"dead_letter_queue = "jobs-dlq""#,
        r#"dead_letter_queue = "workers""#,
    );
    assert_message(
        &m,
        "case.toml:16:21: ",
        &["field `dead_letter_queue`", "`workers` is an ec2_fleet"],
    );
}

#[test]
fn a_load_balancer_cannot_consume() {
    let m = error_for(r#"consumer = "workers""#, r#"consumer = "web-alb""#);
    assert_message(
        &m,
        "case.toml:14:12: ",
        &[
            "component `jobs`, field `consumer`",
            "`web-alb` is an alb, but this must name an asg, an ec2_fleet or a lambda",
        ],
    );
}

#[test]
fn a_workload_cannot_consume() {
    let m = error_for(r#"consumer = "workers""#, r#"consumer = "orders""#);
    assert_message(
        &m,
        "case.toml:14:12: ",
        &[
            "field `consumer`",
            "`orders` is a workload",
            "expected an asg, an ec2_fleet or a lambda",
        ],
    );
}

#[test]
fn misspelt_consumer() {
    let m = error_for(r#"consumer = "workers""#, r#"consumer = "wrokers""#);
    assert_message(
        &m,
        "case.toml:14:12: ",
        &["no component is named `wrokers`", "did you mean `workers`?"],
    );
}

#[test]
fn max_receive_count_without_a_dead_letter_queue() {
    let m = error_for("dead_letter_queue = \"jobs-dlq\"\n", "");
    assert_message(
        &m,
        "case.toml:15:21: ",
        &[
            "field `max_receive_count`",
            "needs a `dead_letter_queue` to move messages to",
        ],
    );
}

#[test]
fn dead_letter_queue_without_max_receive_count() {
    let m = error_for("max_receive_count = 5\n", "");
    // Reported at the component, and the first line does not name `dead_letter_queue`.
    assert_message(&m, "case.toml:9:1: ", &["needs `max_receive_count`"]);
}

#[test]
fn max_receive_count_out_of_range() {
    let m = error_for("max_receive_count = 5", "max_receive_count = 0");
    assert_message(
        &m,
        "case.toml:15:21: ",
        &["must be between 1 and 1000, found 0"],
    );
}

#[test]
fn fifo_queues_have_no_extra_deliveries() {
    let m = error_for(
        r#"retention = "4d""#,
        "retention = \"4d\"\ntype = \"fifo\"\nextra_delivery_probability = 0.1",
    );
    assert_message(
        &m,
        "case.toml:15:30: ",
        &["FIFO queues deliver exactly once"],
    );
}

#[test]
fn stale_delete_deletes_is_a_probability_of_standard_queues() {
    let m = error_for(
        r#"retention = "4d""#,
        "retention = \"4d\"\nstale_delete_deletes = 1.5",
    );
    assert_message(
        &m,
        "case.toml:14:24: ",
        &["stale_delete_deletes", "must be between 0 and 1, found 1.5"],
    );
    let m = error_for(
        r#"retention = "4d""#,
        "retention = \"4d\"\ntype = \"fifo\"\nstale_delete_deletes = 0.5",
    );
    assert_message(&m, "case.toml:15:24: ", &["receipt handle expires"]);
}
