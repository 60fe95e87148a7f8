//! A state machine against a scripted client and service: exact retry timings, Map's
//! concurrency limit, Parallel's failure, the transition bucket, and the ASL checks.

use std::sync::{Arc, Mutex};

use super::asl::{Definition, Resources};
use super::machine::{Limits, Runner};
use crate::components::token_bucket::ExactBucket;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{Component, ComponentId, Simulation};
use crate::message::{Connection, Ctx, Msg, NO_ROUTE, Op, Outcome, Recorded, Request, Response};
use crate::metrics::{ComponentReport, Observe, RequestMetrics, SeriesRow};
use crate::units::Rate;

/// What the client and service saw.
#[derive(Default, Clone, Debug)]
struct Log {
    /// Task calls: when, and the attempt number.
    calls: Vec<(SimTime, u16)>,
    /// Most task calls in progress at once.
    concurrent_max: u32,
    /// Answers to the executions' starts.
    answers: Vec<(SimTime, Outcome)>,
}

/// Starts `executions` executions at time zero, then serves task calls: each answered with
/// `answer` after `latency`.
struct Client {
    machine: ComponentId,
    executions: u32,
    answer: Outcome,
    latency: SimDuration,
    waiting: Vec<Request>,
    log: Arc<Mutex<Log>>,
}

crate::timers! {
    enum ClientTimer {
        Answer,
    }
}

impl Component<Msg> for Client {
    fn init(&mut self, cx: &mut Ctx<'_>) {
        for _ in 0..self.executions {
            let id = cx.new_request_id();
            cx.send_request(
                self.machine,
                Request {
                    id,
                    workload: 0,
                    created_at: cx.now(),
                    key: 3,
                    item_kb: 1.0,
                    op: Op::Write,
                    attempt: 1,
                    reply_to: cx.me(),
                    tag: 0,
                    route: NO_ROUTE,
                    recorded_duration: Recorded::NONE,
                    connection: Connection::single(id),
                },
            );
        }
    }

    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        let mut log = self.log.lock().unwrap();
        match msg {
            Msg::Request(request) => {
                log.calls.push((cx.now(), request.attempt));
                self.waiting.push(request);
                log.concurrent_max = log.concurrent_max.max(self.waiting.len() as u32);
                cx.set_timer(self.latency, ClientTimer::Answer(0));
            }
            Msg::Timer(_) => {
                // Equal latencies: answers go in arrival order.
                let request = self.waiting.remove(0);
                cx.reply(Response {
                    request,
                    outcome: self.answer,
                });
            }
            Msg::Response(r) => log.answers.push((cx.now(), r.outcome)),
            _ => {}
        }
    }
}

impl Observe for Client {
    fn kind(&self) -> &'static str {
        "client"
    }
    fn in_flight(&self) -> u64 {
        0
    }
    fn sample(&mut self, _now: SimTime, _row: &mut SeriesRow) {}
    fn report(&self, _end: SimTime) -> ComponentReport {
        RequestMetrics::new(SimTime::ZERO).report("client", 0)
    }
}

/// Every task calls the client (component 1).
struct ToClient;

impl Resources for ToClient {
    fn resolve(&self, name: &str) -> Result<ComponentId, String> {
        if name == "service" {
            Ok(ComponentId(1))
        } else {
            Err(format!("unknown component `{name}`"))
        }
    }
}

struct Setup {
    executions: u32,
    answer: Outcome,
    latency: SimDuration,
    sync: bool,
    timeout: SimDuration,
    transitions: Option<(f64, u32)>,
    secs: u64,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            executions: 1,
            answer: Outcome::Ok,
            latency: SimDuration::ZERO,
            sync: true,
            timeout: SimDuration::from_secs(300),
            transitions: None,
            secs: 100,
        }
    }
}

fn run(definition: &str, setup: Setup) -> (Log, ComponentReport) {
    use crate::engine::rng::stream;
    let definition: Definition = toml::from_str(definition).unwrap_or_else(|e| panic!("{e}"));
    let machine = definition
        .compile(&ToClient)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let mut sim: Simulation<Msg, Box<dyn Observe>> =
        Simulation::new(SimDuration::from_secs(setup.secs), SimDuration::ZERO);
    let limits = Limits {
        timeout: setup.timeout,
        overhead: SimDuration::from_millis(20),
        max_open: 1_000_000,
        sync: setup.sync,
    };
    let (rate, burst) = setup.transitions.unwrap_or((1.0, 1));
    let runner = Runner::new(
        machine,
        limits,
        ExactBucket::new(Rate::from_per_second(10_000.0), 10_000),
        setup
            .transitions
            .map(|(r, b)| ExactBucket::new(Rate::from_per_second(r), b)),
        RequestMetrics::new(SimTime::ZERO),
    )
    .with_token_time(rate);
    let _ = burst;
    sim.add("machine", stream(1, "machine"), Box::new(runner));
    let log = Arc::new(Mutex::new(Log::default()));
    sim.add(
        "service",
        stream(1, "service"),
        Box::new(Client {
            machine: ComponentId(0),
            executions: setup.executions,
            answer: setup.answer,
            latency: setup.latency,
            waiting: Vec::new(),
            log: log.clone(),
        }),
    );
    sim.run(|_| {}).expect("within the default limits");
    let (_, m) = sim.components().next().unwrap();
    let report = m.report(sim.end());
    let log = log.lock().unwrap().clone();
    (log, report)
}

fn ms(t: SimTime) -> u64 {
    t.as_nanos() / 1_000_000
}

const RETRYING: &str = r#"
StartAt = "Charge"
[States.Charge]
Type = "Task"
Resource = "service"
Retry = [ { ErrorEquals = ["ServiceError"], IntervalSeconds = 2, BackoffRate = 3.0, MaxAttempts = 3, MaxDelaySeconds = 10 } ]
Catch = [ { ErrorEquals = ["States.ALL"], Next = "Recover" } ]
Next = "Done"
[States.Recover]
Type = "Pass"
End = true
[States.Done]
Type = "Succeed"
"#;

#[test]
fn retries_wait_interval_times_backoff_capped_at_max_delay_exactly() {
    let (log, report) = run(
        RETRYING,
        Setup {
            answer: Outcome::Error(500),
            ..Setup::default()
        },
    );
    // Each transition takes 20 ms before the state acts; the retries wait 2 s, 6 s, then
    // min(18 s, 10 s).
    let times: Vec<u64> = log.calls.iter().map(|(t, _)| ms(*t)).collect();
    assert_eq!(times, vec![20, 2_040, 8_060, 18_080]);
    let attempts: Vec<u16> = log.calls.iter().map(|(_, a)| *a).collect();
    assert_eq!(attempts, vec![1, 2, 3, 4]);
    // Out of retries: caught, to Recover (a transition), which ends the execution.
    assert_eq!(
        log.answers,
        vec![(
            SimTime::ZERO + SimDuration::from_millis(18_100),
            Outcome::Ok
        )]
    );
    let f = &report.figures;
    assert_eq!(f["retries"], 3);
    assert_eq!(f["caught"], 1);
    assert_eq!(f["succeeded"], 1);
    assert_eq!(f["state_transitions"], 5, "Charge, 3 retries, Recover");
    assert_eq!(f["task_calls"], 4);
}

#[test]
fn an_error_no_retrier_matches_goes_straight_to_the_catcher() {
    // A throttle is `Throttled`, which the retrier (ServiceError) does not match.
    let (log, report) = run(
        RETRYING,
        Setup {
            answer: Outcome::Throttled,
            ..Setup::default()
        },
    );
    assert_eq!(log.calls.len(), 1);
    assert_eq!(report.figures["retries"], 0);
    assert_eq!(report.figures["caught"], 1);
}

#[test]
fn an_uncaught_error_fails_the_execution() {
    let definition = RETRYING.replace(
        "Catch = [ { ErrorEquals = [\"States.ALL\"], Next = \"Recover\" } ]\n",
        "",
    );
    let (log, report) = run(
        &definition,
        Setup {
            answer: Outcome::Error(500),
            ..Setup::default()
        },
    );
    assert_eq!(log.calls.len(), 4);
    assert_eq!(log.answers[0].1, Outcome::Error(500));
    assert_eq!(report.figures["failed"], 1);
}

const MAP: &str = r#"
StartAt = "Each"
[States.Each]
Type = "Map"
Items = 20
MaxConcurrency = 3
End = true
[States.Each.ItemProcessor]
StartAt = "Work"
[States.Each.ItemProcessor.States.Work]
Type = "Task"
Resource = "service"
End = true
"#;

#[test]
fn a_map_never_runs_more_than_max_concurrency_iterations() {
    let (log, report) = run(
        MAP,
        Setup {
            executions: 4,
            latency: SimDuration::from_secs(1),
            ..Setup::default()
        },
    );
    // Four executions at once, three iterations each: twelve calls at most at a time.
    assert_eq!(log.calls.len(), 80);
    assert_eq!(log.concurrent_max, 12);
    assert_eq!(report.figures["map_concurrency_max"], 3);
    assert_eq!(report.figures["succeeded"], 4);
    // ⌈20 / 3⌉ = 7 rounds of 20 ms + 1 s, after the Map's own 20 ms.
    for (t, outcome) in &log.answers {
        assert_eq!(*outcome, Outcome::Ok);
        assert_eq!(ms(*t), 20 + 7 * 1_020);
    }
    // One execution alone: three at a time.
    let (log, _) = run(
        MAP,
        Setup {
            latency: SimDuration::from_secs(1),
            ..Setup::default()
        },
    );
    assert_eq!(log.concurrent_max, 3);
    // Without a limit every item runs at once.
    let (log, _) = run(
        &MAP.replace("MaxConcurrency = 3\n", ""),
        Setup {
            latency: SimDuration::from_secs(1),
            ..Setup::default()
        },
    );
    assert_eq!(log.concurrent_max, 20);
}

const PARALLEL: &str = r#"
StartAt = "Both"
[States.Both]
Type = "Parallel"
Next = "Done"
Catch = [ { ErrorEquals = ["Broken"], Next = "Handled" } ]
[[States.Both.Branches]]
StartAt = "Slow"
[States.Both.Branches.States.Slow]
Type = "Task"
Resource = "service"
End = true
[[States.Both.Branches]]
StartAt = "Pause"
[States.Both.Branches.States.Pause]
Type = "Wait"
Seconds = 1
Next = "Break"
[States.Both.Branches.States.Break]
Type = "Fail"
Error = "Broken"
[States.Done]
Type = "Succeed"
[States.Handled]
Type = "Pass"
End = true
"#;

#[test]
fn a_failing_branch_fails_its_parallel_state_at_once() {
    let (log, report) = run(
        PARALLEL,
        Setup {
            latency: SimDuration::from_secs(30),
            ..Setup::default()
        },
    );
    // Both (20 ms), Pause (20 ms + 1 s), Break (20 ms): the Parallel fails at 1.06 s, caught
    // to Handled (20 ms), without waiting for the slow branch.
    assert_eq!(
        log.answers,
        vec![(SimTime::ZERO + SimDuration::from_millis(1_080), Outcome::Ok)]
    );
    assert_eq!(report.figures["caught"], 1);
    let ledger = &report.ledgers[0];
    assert_eq!((ledger.created, ledger.finished, ledger.inside), (1, 1, 0));
}

#[test]
fn an_execution_past_its_timeout_times_out() {
    let definition = "StartAt = \"W\"\n[States.W]\nType = \"Wait\"\nSeconds = 400\nEnd = true\n";
    let (log, report) = run(
        definition,
        Setup {
            secs: 500,
            ..Setup::default()
        },
    );
    assert_eq!(
        log.answers,
        vec![(
            SimTime::ZERO + SimDuration::from_secs(300),
            Outcome::Timeout
        )]
    );
    assert_eq!(report.figures["timed_out"], 1);
}

#[test]
fn throttled_transitions_wait_for_their_tokens() {
    // 10 executions of one Pass each, at most 2 transitions a second with a burst of 2: two go
    // at once, then one every 0.5 s.
    let definition = "StartAt = \"P\"\n[States.P]\nType = \"Pass\"\nEnd = true\n";
    let (log, report) = run(
        definition,
        Setup {
            executions: 10,
            transitions: Some((2.0, 2)),
            ..Setup::default()
        },
    );
    let times: Vec<u64> = log.answers.iter().map(|(t, _)| ms(*t)).collect();
    assert_eq!(
        times,
        vec![20, 20, 520, 1_020, 1_520, 2_020, 2_520, 3_020, 3_520, 4_020]
    );
    assert_eq!(report.figures["state_transitions"], 10);
    assert!(report.figures["transitions_throttled"].as_u64().unwrap() >= 8);
}

#[test]
fn a_probability_choice_splits_by_its_probabilities() {
    let definition = r#"
StartAt = "Pick"
[States.Pick]
Type = "Choice"
Choices = [ { Probability = 0.25, Next = "Call" } ]
Default = "Skip"
[States.Call]
Type = "Task"
Resource = "service"
End = true
[States.Skip]
Type = "Succeed"
"#;
    let (log, report) = run(
        definition,
        Setup {
            executions: 4_000,
            ..Setup::default()
        },
    );
    let n = 4_000.0;
    let calls = log.calls.len() as f64;
    let sd = (n * 0.25 * 0.75f64).sqrt();
    assert!((calls - 0.25 * n).abs() < 4.0 * sd, "{calls}");
    assert_eq!(report.figures["succeeded"], 4_000);
    // A field choice: the client's requests are writes.
    let by_op = definition.replace(
        "{ Probability = 0.25, Next = \"Call\" }",
        "{ Variable = \"$.op\", StringEquals = \"write\", Next = \"Call\" }",
    );
    let (log, _) = run(&by_op, Setup::default());
    assert_eq!(log.calls.len(), 1);
}

fn compile_error(definition: &str) -> super::asl::AslIssue {
    let d: Definition = toml::from_str(definition).unwrap_or_else(|e| panic!("{e}"));
    d.compile(&ToClient).expect_err("a bad definition")
}

#[test]
fn bad_definitions_name_the_field_and_the_nearest_state() {
    let e = compile_error(
        "StartAt = \"A\"\n[States.A]\nType = \"Pass\"\nNext = \"bee\"\n[States.be]\nType = \"Succeed\"\n",
    );
    assert_eq!(e.path, vec!["States", "A", "Next"]);
    assert!(e.message.contains("did you mean `be`"), "{}", e.message);
    let e = compile_error("StartAt = \"A\"\n[States.A]\nType = \"Tsk\"\nEnd = true\n");
    assert!(e.message.contains("did you mean `Task`"), "{}", e.message);
    let e = compile_error(
        "StartAt = \"A\"\n[States.A]\nType = \"Task\"\nResource = \"nobody\"\nEnd = true\n",
    );
    assert_eq!(e.path, vec!["States", "A", "Resource"]);
    let e = compile_error(
        "StartAt = \"A\"\n[States.A]\nType = \"Task\"\nResource = \"service\"\nEnd = true\n\
         Retry = [ { ErrorEquals = [\"States.ALL\"], JitterStrategy = \"PARTIAL\" } ]\n",
    );
    assert_eq!(e.path, vec!["States", "A", "Retry", "0", "JitterStrategy"]);
    let e = compile_error("StartAt = \"A\"\n[States.A]\nType = \"Wait\"\nSeconds = 1\n");
    assert!(e.message.contains("`Next`"), "{}", e.message);
}

#[test]
fn an_asl_json_problem_is_located_in_the_file() {
    let json = "{\n  \"StartAt\": \"A\",\n  \"States\": {\n    \"A\": {\n      \"Type\": \"Pass\",\n      \"Next\": \"Nope\"\n    }\n  }\n}\n";
    let d: Definition = serde_json::from_str(json).unwrap();
    let e = d.compile(&ToClient).unwrap_err();
    let (line, column) = super::asl::line_col(json, super::asl::locate(json, &e.path));
    assert_eq!((line, column), (6, 7), "at \"Next\"");
    assert_eq!(
        super::asl::with_suggestion("unknown field `Nxt`, expected one of `Type`, `Next`, `End`"),
        "unknown field `Nxt`, expected one of `Type`, `Next`, `End`; did you mean `Next`?"
    );
}

#[test]
fn the_defaults_parse() {
    let d = super::defaults();
    assert_eq!(d.start_burst, 1_300);
    assert_eq!(d.transition_rate.per_second(), 1_500.0);
}
