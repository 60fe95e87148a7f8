//! Recorded load: a CSV trace replays exactly, row by row, with its keys, sizes and operations.

use std::path::Path;

use awsim::run::run_quietly;
use awsim::scenario::{RunSettings, Scenario};

const FILE: &str = "scenarios/examples/trace_replay.toml";
const TRACE: &str = "scenarios/examples/traces/shop_10min.csv";

/// (timestamp, operation) of every row.
fn rows() -> Vec<(f64, String)> {
    std::fs::read_to_string(TRACE)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().unwrap(), f[3].to_string())
        })
        .collect()
}

#[test]
fn every_row_arrives_with_its_operation() {
    let scenario = Scenario::load(Path::new(FILE)).unwrap_or_else(|e| panic!("{e}"));
    let s = serde_json::to_value(run_quietly(&scenario, RunSettings::default()).unwrap()).unwrap();
    // The measured window starts at the 30 s warm-up and the run ends at 600 s.
    let measured: Vec<(f64, String)> = rows()
        .into_iter()
        .filter(|r| r.0 >= 30.0 && r.0 < 600.0)
        .collect();
    let writes = measured.iter().filter(|r| r.1 == "write").count() as u64;
    let created = s["workloads"]["recorded"]["requests"]["created"]
        .as_u64()
        .unwrap();
    assert_eq!(created, measured.len() as u64);
    // Each request's recorded operation reaches the table through the fleet's call.
    let table = &s["components"]["orders"];
    let in_flight = table["requests"]["in_flight"].as_u64().unwrap()
        + s["components"]["web"]["requests"]["in_flight"]
            .as_u64()
            .unwrap();
    let table_writes = table["writes"].as_u64().unwrap();
    assert!(
        table_writes <= writes && writes - table_writes <= in_flight,
        "writes: table {table_writes}, trace {writes}"
    );
}

#[test]
fn the_same_trace_and_seed_give_the_same_summary() {
    let scenario = Scenario::load(Path::new(FILE)).unwrap();
    let a = run_quietly(&scenario, RunSettings::default())
        .unwrap()
        .to_json();
    let b = run_quietly(&scenario, RunSettings::default())
        .unwrap()
        .to_json();
    assert_eq!(a, b);
}

#[test]
fn a_missing_trace_is_an_error_before_the_run() {
    let text = std::fs::read_to_string(FILE)
        .unwrap()
        .replace("traces/shop_10min.csv", "traces/nothing.csv");
    let scenario = Scenario::parse(&text, Path::new(FILE)).unwrap();
    let e = scenario
        .build(RunSettings::default())
        .err()
        .expect("build fails");
    let m = e.to_string();
    assert!(m.contains("cannot read the trace"), "{m}");
    assert!(m.contains("workload `recorded`, field `arrival`"), "{m}");
}

/// A scratch folder of this test process.
fn scratch(name: &str) -> std::path::PathBuf {
    crate::common::scratch("trace", name)
}

/// Parses `text` as a scenario living in `dir`.
fn scenario_in(dir: &Path, text: &str) -> Scenario {
    let file = dir.join("scenario.toml");
    std::fs::write(&file, text).unwrap();
    Scenario::load(&file).unwrap_or_else(|e| panic!("{e}"))
}

const SYNTHETIC: &str = r#"
[simulation]
duration = "2m"
warmup = "10s"
seed = 7

[[workload]]
name = "shoppers"
target = "web"
arrival = { process = "poisson" }
schedule = [{ at = "0s", rate = "80/s" }, { at = "1m", rate = "160/s" }]
key = { dist = "zipf", keys = 1000, exponent = 1.1 }
op = "read"
item_kb = 3

[[workload]]
name = "admins"
target = "web"
arrival = { process = "constant", rate = "5/s" }
op = "write"

[[component]]
name = "web"
kind = "ec2_fleet"
instances = 3
vcpus = 2
handler = [{ compute = { dist = "exponential", mean = "20ms" } }, { call = "table" }]

[[component]]
name = "table"
kind = "dynamodb"
rcu = 400
wcu = 100
"#;

#[test]
fn a_recorded_synthetic_load_replays_to_the_same_arrivals_and_results() {
    let dir = scratch("record");
    let original = scenario_in(&dir, SYNTHETIC);
    let first = dir.join("first.csv");
    let (summary, rows) =
        awsim::run::record(&original, RunSettings::default(), &first, |_| {}).unwrap();
    let created =
        |s: &serde_json::Value, w: &str| s["workloads"][w]["requests"]["created"].as_u64().unwrap();
    let a = serde_json::to_value(&summary).unwrap();
    assert!(rows > 10_000, "{rows} rows");

    // Every workload now replays its part of the recorded file.
    let replay_text = SYNTHETIC
        .replace(
            r#"arrival = { process = "poisson" }
schedule = [{ at = "0s", rate = "80/s" }, { at = "1m", rate = "160/s" }]"#,
            r#"arrival = { process = "trace", file = "first.csv" }"#,
        )
        .replace(
            r#"arrival = { process = "constant", rate = "5/s" }"#,
            r#"arrival = { process = "trace", file = "first.csv" }"#,
        )
        .replace(
            "key = { dist = \"zipf\", keys = 1000, exponent = 1.1 }\n",
            "",
        );
    let replay = scenario_in(&dir, &replay_text);
    let second = dir.join("second.csv");
    let (summary, _) =
        awsim::run::record(&replay, RunSettings::default(), &second, |_| {}).unwrap();
    let b = serde_json::to_value(&summary).unwrap();
    // The same arrivals, to the nanosecond, with the same keys, sizes and operations...
    assert_eq!(
        std::fs::read_to_string(&first).unwrap(),
        std::fs::read_to_string(&second).unwrap()
    );
    // ...so the system sees the same load and, with the same seed, gives the same results.
    for w in ["shoppers", "admins"] {
        assert_eq!(created(&a, w), created(&b, w));
        assert_eq!(
            a["workloads"][w]["latency_ms"],
            b["workloads"][w]["latency_ms"]
        );
    }
    assert_eq!(a["components"], b["components"]);
}

/// A trace of `n` rows, one every `gap` seconds from 0.
fn even_trace(dir: &Path, n: u32, gap: f64) {
    let mut text = String::from("timestamp\n");
    for i in 0..n {
        text.push_str(&format!("{:.3}\n", f64::from(i) * gap));
    }
    std::fs::write(dir.join("even.csv"), text).unwrap();
}

fn replay_counts(dir: &Path, arrival: &str, duration: &str) -> (u64, serde_json::Value) {
    let text = format!(
        r#"
[simulation]
duration = "{duration}"
warmup = "0s"
seed = 3

[[workload]]
name = "replay"
target = "web"
arrival = {arrival}

[[component]]
name = "web"
kind = "ec2_fleet"
instances = 4
handler = [{{ compute = "1ms" }}]
"#
    );
    let s = serde_json::to_value(
        run_quietly(&scenario_in(dir, &text), RunSettings::default()).unwrap(),
    )
    .unwrap();
    let created = s["workloads"]["replay"]["requests"]["created"]
        .as_u64()
        .unwrap();
    (created, s)
}

#[test]
fn speedup_scale_window_offset_and_loop_give_the_documented_counts() {
    let dir = scratch("controls");
    // 600 rows, one every 0.1 s: a minute of trace.
    even_trace(&dir, 600, 0.1);
    let trace = |extra: &str| format!(r#"{{ process = "trace", file = "even.csv"{extra} }}"#);
    assert_eq!(replay_counts(&dir, &trace(""), "2m").0, 600);
    // Twice as fast: the minute fits in 30 s, and all of it arrives before 30 s.
    assert_eq!(replay_counts(&dir, &trace(", speedup = 2"), "30s").0, 600);
    assert_eq!(replay_counts(&dir, &trace(""), "30s").0, 300);
    // Scale 3 triples exactly; a window keeps [10 s, 20 s): 100 rows.
    assert_eq!(replay_counts(&dir, &trace(", scale = 3"), "2m").0, 1800);
    assert_eq!(
        replay_counts(
            &dir,
            &trace(r#", window = { from = "10s", to = "20s" }"#),
            "2m"
        )
        .0,
        100
    );
    // An offset of 45 s leaves 15 s of the trace inside a 1-minute run: 150 rows.
    assert_eq!(
        replay_counts(&dir, &trace(r#", offset = "45s""#), "1m").0,
        150
    );
    // Looping a minute (600 rows, period 60 s) over 5 minutes: 3000 rows.
    assert_eq!(replay_counts(&dir, &trace(", loop = true"), "5m").0, 3000);
    // A fraction thins binomially: 600 · 2 · 0.25 = 300 expected, sd = sqrt(1200 · 0.25 · 0.75) = 15.
    let (thinned, _) = replay_counts(&dir, &trace(", loop = true, scale = 0.25"), "2m");
    assert!((thinned as f64 - 300.0).abs() < 5.0 * 15.0, "{thinned}");
}

#[test]
fn skipped_bad_rows_are_counted_in_the_summary() {
    let dir = scratch("skip");
    std::fs::write(
        dir.join("bad.csv"),
        "timestamp,item_kb\n1,1\nlater,1\n2,-1\n3,1\n",
    )
    .unwrap();
    let arrival = r#"{ process = "trace", file = "bad.csv", on_bad_row = "skip" }"#;
    let (created, s) = replay_counts(&dir, arrival, "1m");
    assert_eq!(created, 2);
    assert_eq!(s["workloads"]["replay"]["trace"]["rows_skipped"], 2);
    let text = format!(
        "[simulation]\nduration = \"1m\"\nwarmup = \"0s\"\n[[workload]]\nname = \"w\"\ntarget = \"web\"\narrival = {}\n\
         [[component]]\nname = \"web\"\nkind = \"ec2_fleet\"\ninstances = 1\nhandler = [{{ compute = \"1ms\" }}]\n",
        r#"{ process = "trace", file = "bad.csv" }"#
    );
    let e = scenario_in(&dir, &text)
        .build(RunSettings::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("bad.csv:3:1: column `timestamp`: cannot read `later` as a time"),
        "{e}"
    );
    assert!(e.contains("on_bad_row = \"skip\""), "{e}");
}

/// One Azure Functions 2019 row: function hash, trigger, and (minute, count) pairs.
type MinuteRow<'a> = (&'a str, &'a str, &'a [(usize, u32)]);

/// An Azure Functions 2019 file with the given rows.
fn azure_2019(dir: &Path, rows: &[MinuteRow<'_>]) {
    let minutes: Vec<String> = (1..=1440).map(|m| m.to_string()).collect();
    let mut text = format!(
        "HashOwner,HashApp,HashFunction,Trigger,{}\n",
        minutes.join(",")
    );
    for (function, trigger, counts) in rows {
        let mut per_minute = vec![0u32; 1440];
        for &(m, c) in *counts {
            per_minute[m] = c;
        }
        let per_minute: Vec<String> = per_minute.iter().map(|c| c.to_string()).collect();
        text.push_str(&format!(
            "owner,app,{function},{trigger},{}\n",
            per_minute.join(",")
        ));
    }
    std::fs::write(dir.join("azure19.csv"), text).unwrap();
}

#[test]
fn the_azure_2019_layout_replays_the_counts_it_contains() {
    let dir = scratch("azure19");
    azure_2019(
        &dir,
        &[
            (
                "busy",
                "http",
                &[(0, 600), (1, 1200), (2, 60), (3, 0), (4, 3000)],
            ),
            ("quiet", "timer", &[(0, 1), (2, 1)]),
        ],
    );
    let arrival =
        r#"{ process = "trace", file = "azure19.csv", format = "azure_functions_2019", top = 1 }"#;
    let text = format!(
        "[simulation]\nduration = \"5m\"\nwarmup = \"0s\"\nseed = 5\n[[workload]]\nname = \"busy\"\ntarget = \"fn\"\narrival = {arrival}\n\
         [[component]]\nname = \"fn\"\nkind = \"lambda\"\nhandler = [{{ compute = \"100ms\" }}]\n"
    );
    let scenario = scenario_in(&dir, &text);
    let mut series = PerMinute::default();
    let summary = awsim::run::run(&scenario, RunSettings::default(), &mut series, |_| {}).unwrap();
    let s = serde_json::to_value(&summary).unwrap();
    assert_eq!(s["workloads"]["busy"]["requests"]["created"], 4860);
    assert_eq!(s["components"]["fn"]["requests"]["created"], 4860);
    // Arrivals per minute, from the time series (one row per second).
    assert_eq!(series.arrivals, [600, 1200, 60, 0, 3000]);
}

/// Sums the workload's arrivals per minute from the time-series rows.
#[derive(Default)]
struct PerMinute {
    arrivals: Vec<u64>,
}

impl awsim::metrics::SeriesSink for PerMinute {
    fn row(
        &mut self,
        time: awsim::engine::time::SimTime,
        name: &str,
        _kind: &str,
        row: &awsim::metrics::SeriesRow,
    ) {
        if name != "busy" {
            return;
        }
        // The row at time t covers (t − 1 s, t].
        let minute = ((time.as_nanos() - 1) / 60_000_000_000) as usize;
        if self.arrivals.len() <= minute {
            self.arrivals.resize(minute + 1, 0);
        }
        self.arrivals[minute] += row.arrivals;
    }
}

#[test]
fn recorded_azure_2021_durations_drive_compute_from_trace() {
    let dir = scratch("azure21");
    // Invocations of f1 (0.2 s or 0.6 s) and f2 (1 s), ordered by end time as in the dataset.
    let mut text = String::from("app,func,end_timestamp,duration\n");
    let mut f1_total = 0.0;
    let mut f1_count = 0;
    for i in 0..400 {
        let start = 5.0 + f64::from(i) * 0.25;
        let d = if i % 2 == 0 { 0.2 } else { 0.6 };
        text.push_str(&format!("app1,f1,{:.3},{d}\n", start + d));
        f1_total += d;
        f1_count += 1;
        if i % 4 == 0 {
            text.push_str(&format!("app2,f2,{:.3},1.0\n", start + 1.0));
        }
    }
    std::fs::write(dir.join("azure21.csv"), text).unwrap();
    let scenario = |arrival: &str| {
        format!(
            "[simulation]\nduration = \"3m\"\nwarmup = \"0s\"\nseed = 5\n[[workload]]\nname = \"w\"\ntarget = \"fn\"\narrival = {arrival}\n\
             [[component]]\nname = \"fn\"\nkind = \"lambda\"\nhandler = [{{ compute = \"from_trace\" }}]\n"
        )
    };
    let arrival = r#"{ process = "trace", file = "azure21.csv", format = "azure_functions_2021", function = "f1" }"#;
    let s = serde_json::to_value(
        run_quietly(
            &scenario_in(&dir, &scenario(arrival)),
            RunSettings::default(),
        )
        .unwrap(),
    )
    .unwrap();
    let f = &s["components"]["fn"];
    assert_eq!(s["workloads"]["w"]["requests"]["created"], f1_count);
    assert_eq!(f["requests"]["failed"], 0);
    // Every invocation ran exactly its recorded duration: the mean is the trace's mean.
    let mean = f["duration_ms"]["mean"].as_f64().unwrap();
    let expected = f1_total / f64::from(f1_count) * 1000.0;
    assert!(
        (mean - expected).abs() < 0.5,
        "mean {mean} ms, trace {expected} ms"
    );
    // A request without a recorded duration cannot run `from_trace`: a 500, counted.
    let synthetic = r#"{ process = "constant", rate = "1/s" }"#;
    let s = serde_json::to_value(
        run_quietly(
            &scenario_in(&dir, &scenario(synthetic)),
            RunSettings::default(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        s["components"]["fn"]["requests"]["failed"],
        s["components"]["fn"]["requests"]["created"]
    );
}

// ---- Issue 14: traces in skip mode, bounds, and what errors show ----

use awsim::workload::trace::{
    BadRows, FunctionChoice, MAX_LINE_BYTES, MAX_REORDER_ROWS, Trace, TraceFormat, TraceSpec,
};

/// Writes `bytes` as `name` in the scratch folder `dir` and opens it as a trace for workload
/// `w`.
fn open_bytes(dir: &str, name: &str, bytes: &[u8], spec: &TraceSpec) -> Result<Trace, String> {
    let path = scratch(dir).join(name);
    std::fs::write(&path, bytes).unwrap();
    Trace::open(&path, "w", spec)
}

fn skipping(format: TraceFormat) -> TraceSpec {
    TraceSpec {
        format,
        on_bad_row: BadRows::Skip,
        ..TraceSpec::csv("x")
    }
}

/// Arrivals of one pass.
fn drain(trace: &mut Trace) -> u64 {
    let mut rng = awsim::engine::rng::stream(1, "t");
    std::iter::from_fn(|| trace.next_row(&mut rng)).count() as u64
}

/// `n` rows, one a second, with row `bad` (0-based) replaced by `line`.
fn rows_with(n: usize, bad: usize, line: &str) -> String {
    let mut text = String::from("timestamp,key\n");
    for i in 0..n {
        if i == bad {
            text.push_str(line);
        } else {
            text.push_str(&format!("{i},{i}"));
        }
        text.push('\n');
    }
    text
}

#[test]
fn an_unterminated_quote_is_one_bad_row_not_the_rest_of_the_file() {
    // Row 3 of 3 000 opens a quote it never closes.
    let text = rows_with(3000, 2, "2,\"unclosed");
    let mut t = open_bytes(
        "quote",
        "q.csv",
        text.as_bytes(),
        &skipping(TraceFormat::Csv),
    )
    .unwrap();
    assert_eq!((t.stats().rows, t.stats().skipped), (2999, 1));
    assert_eq!(drain(&mut t), 2999);
    // Without skipping, the row is named with the quote's place: line 4, column 3.
    let e = open_bytes("quote", "q.csv", text.as_bytes(), &TraceSpec::csv("x"))
        .err()
        .unwrap();
    assert!(
        e.contains("q.csv:4:3: column `key`: the quote that opens this field is not closed"),
        "{e}"
    );
    // The same in a run: the summary counts exactly the one row.
    let dir = scratch("quote-run");
    std::fs::write(dir.join("q.csv"), &text).unwrap();
    let arrival = r#"{ process = "trace", file = "q.csv", on_bad_row = "skip" }"#;
    let (created, s) = replay_counts(&dir, arrival, "1h");
    assert_eq!(created, 2999);
    assert_eq!(s["workloads"]["replay"]["trace"]["rows_skipped"], 1);
    assert_eq!(s["workloads"]["replay"]["trace"]["rows"], 2999);
}

#[test]
fn one_absolute_time_in_a_relative_trace_is_the_row_blamed() {
    let text = rows_with(10, 6, "2026-11-29T09:00:00Z,6");
    let e = open_bytes("kinds", "k.csv", text.as_bytes(), &TraceSpec::csv("x"))
        .err()
        .unwrap();
    assert!(
        e.contains(
            "k.csv:8:1: column `timestamp`: `2026-11-29T09:00:00Z` is an absolute time, but \
             the trace's times are seconds since the start (9 of its 10 times are)"
        ),
        "{e}"
    );
    let t = open_bytes(
        "kinds",
        "k.csv",
        text.as_bytes(),
        &skipping(TraceFormat::Csv),
    )
    .unwrap();
    assert_eq!((t.stats().rows, t.stats().skipped), (9, 1));
    // And the other way round: one relative time among absolute ones is the one blamed, even
    // when it comes first.
    let text = "timestamp\n5\n2026-11-29T09:00:00Z\n2026-11-29T09:00:01Z\n";
    let e = open_bytes("kinds", "a.csv", text.as_bytes(), &TraceSpec::csv("x"))
        .err()
        .unwrap();
    assert!(
        e.contains(
            "a.csv:2:1: column `timestamp`: `5` is seconds since the start, but the \
                    trace's times are absolute (RFC 3339 or Unix: 2 of its 3 times are)"
        ),
        "{e}"
    );
}

/// A row that is not UTF-8 text, in each layout: (format, file).
fn non_utf8_files() -> Vec<(TraceFormat, Vec<u8>)> {
    let minutes: Vec<String> = (1..=1440).map(|m| m.to_string()).collect();
    let header_2019 = format!(
        "HashOwner,HashApp,HashFunction,Trigger,{}\n",
        minutes.join(",")
    );
    let row_2019 = |f: &str| format!("o,a,{f},http,5{}\n", ",0".repeat(1439));
    let mut az19 = (header_2019 + &row_2019("f1")).into_bytes();
    az19.extend_from_slice(b"o,a,f\xff2,http,1");
    az19.extend_from_slice(",0".repeat(1439).as_bytes());
    az19.extend_from_slice(b"\n");
    az19.extend_from_slice(row_2019("f3").as_bytes());
    vec![
        (
            TraceFormat::Csv,
            b"timestamp,key\n1,1\n2,k\xff\n3,3\n".to_vec(),
        ),
        (TraceFormat::AzureFunctions2019, az19),
        (
            TraceFormat::AzureFunctions2021,
            b"app,func,end_timestamp,duration\na,f,1,0.5\na,f\xff,2,0.5\na,f,3,0.5\n".to_vec(),
        ),
    ]
}

#[test]
fn every_reader_skips_and_counts_a_row_that_is_not_utf8_or_names_its_place() {
    for (format, bytes) in non_utf8_files() {
        let mut t = open_bytes("utf8", "u.csv", &bytes, &skipping(format))
            .unwrap_or_else(|e| panic!("{format:?}: {e}"));
        assert_eq!(t.stats().skipped, 1, "{format:?}");
        // Two good rows: 2 arrivals, or the 2019 rows' 5 + 5 invocations.
        let expected = if format == TraceFormat::AzureFunctions2019 {
            10
        } else {
            2
        };
        assert_eq!(drain(&mut t), expected, "{format:?}");
        let e = open_bytes(
            "utf8",
            "u.csv",
            &bytes,
            &TraceSpec {
                format,
                ..TraceSpec::csv("x")
            },
        )
        .err()
        .unwrap();
        let place = match format {
            TraceFormat::Csv => "u.csv:3:4: column `key`: the line is not UTF-8 text",
            TraceFormat::AzureFunctions2019 => {
                "u.csv:3:6: column `HashFunction`: the line is not UTF-8 text"
            }
            TraceFormat::AzureFunctions2021 => "u.csv:3:4: column `func`: the line is not UTF-8",
        };
        assert!(e.contains(place), "{format:?}: {e}");
        assert!(e.contains("on_bad_row = \"skip\""), "{e}");
    }
}

#[test]
fn errors_locate_without_echoing_the_file() {
    // A file that is not a trace: its first line must not appear in the message.
    let secret = "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nmore\n";
    for format in [
        TraceFormat::Csv,
        TraceFormat::AzureFunctions2019,
        TraceFormat::AzureFunctions2021,
    ] {
        let spec = TraceSpec {
            format,
            ..TraceSpec::csv("x")
        };
        let e = open_bytes("echo", "env", secret.as_bytes(), &spec)
            .err()
            .unwrap();
        assert!(
            !e.contains("wJalr") && !e.contains("AWS_SECRET"),
            "{format:?}: {e}"
        );
        assert!(e.contains("env:1:1: "), "{format:?}: {e}");
    }
    // A near miss of a column name is named by its place, with the name meant.
    let e = open_bytes(
        "echo",
        "h.csv",
        b"Timestamp,key\n1,1\n",
        &TraceSpec::csv("x"),
    )
    .err()
    .unwrap();
    assert!(
        e.contains("h.csv:1:1: the header has no `timestamp` column")
            && e.contains("did you mean `timestamp` for column 1?"),
        "{e}"
    );
    // A value is shown cut short, its control characters escaped.
    let long = format!("\x1b[31m{}", "9".repeat(200));
    let e = open_bytes(
        "echo",
        "v.csv",
        format!("timestamp,operation\n1,{long}\n").as_bytes(),
        &TraceSpec::csv("x"),
    )
    .err()
    .unwrap();
    assert!(!e.contains('\x1b') && !e.contains(&"9".repeat(40)), "{e}");
    assert!(e.contains("unknown operation `\\u{1b}[31m999"), "{e}");
    assert!(e.contains("…`"), "{e}");
}

#[test]
fn what_is_read_is_bounded_before_it_is_held() {
    // A device never ends: refused before reading.
    let e = Trace::open(Path::new("/dev/zero"), "w", &TraceSpec::csv("x"))
        .err()
        .unwrap();
    assert!(e.contains("/dev/zero is not a regular file"), "{e}");
    let e = Trace::open(&scratch("bounds"), "w", &TraceSpec::csv("x"))
        .err()
        .unwrap();
    assert!(e.contains("is not a regular file"), "{e}");
    // A line longer than the limit stops the file, wherever it is, even when skipping.
    let mut text = String::from("timestamp\n1\n");
    text.push_str(&"7".repeat(MAX_LINE_BYTES + 10));
    let e = open_bytes(
        "bounds",
        "long.csv",
        text.as_bytes(),
        &skipping(TraceFormat::Csv),
    )
    .err()
    .unwrap();
    assert!(
        e.contains("long.csv:3:1: the line is longer than the limit of 1048576 bytes"),
        "{e}"
    );
    // A function hash longer than any real one is a bad row.
    let text = format!(
        "app,func,end_timestamp,duration\na,f,1,0\na,{},2,0\n",
        "f".repeat(300)
    );
    let e = open_bytes(
        "bounds",
        "hash.csv",
        text.as_bytes(),
        &TraceSpec {
            format: TraceFormat::AzureFunctions2021,
            ..TraceSpec::csv("x")
        },
    )
    .err()
    .unwrap();
    assert!(
        e.contains("hash.csv:3:3: column `func`: a function hash is at most 256 bytes, found 300"),
        "{e}"
    );
}

#[test]
fn a_trace_too_far_out_of_order_is_refused_not_buffered() {
    // The first row is the latest: replaying in order would hold every other row at once.
    let mut text = String::from("timestamp\n100000000\n");
    for i in 0..=MAX_REORDER_ROWS {
        text.push_str(&format!("{i}\n"));
    }
    let e = open_bytes("order", "late.csv", text.as_bytes(), &TraceSpec::csv("x"))
        .err()
        .unwrap();
    assert!(
        e.contains("too far out of time order") && e.contains("line 3 lies"),
        "{e}"
    );
    assert!(
        e.contains(&format!("more than {MAX_REORDER_ROWS} rows")),
        "{e}"
    );
}

#[test]
fn an_azure_2019_count_cannot_stand_for_more_arrivals_than_a_pass_allows() {
    let minutes: Vec<String> = (1..=1440).map(|m| m.to_string()).collect();
    let text = format!(
        "HashOwner,HashApp,HashFunction,Trigger,{}\no,a,f,http,{}\n",
        minutes.join(","),
        vec!["4294967295"; 1440].join(",")
    );
    let spec = TraceSpec {
        format: TraceFormat::AzureFunctions2019,
        ..TraceSpec::csv("x")
    };
    let started = std::time::Instant::now();
    let e = open_bytes("amplify", "day.csv", text.as_bytes(), &spec)
        .err()
        .unwrap();
    assert!(
        e.contains(
            "one pass replays 6184752904800 rows × scale 1 = 6.185e12 arrivals, more \
                    than the limit of 1e9"
        ),
        "{e}"
    );
    // Counted, not generated one by one.
    assert!(started.elapsed().as_secs() < 5);
    // Choosing the functions is within a bound too: a hash prefix names them.
    let spec = TraceSpec {
        functions: FunctionChoice::Hash("g".into()),
        ..spec
    };
    let e = open_bytes("amplify", "day.csv", text.as_bytes(), &spec)
        .err()
        .unwrap();
    assert!(
        e.contains("no function whose hash starts with `g`; the busiest are f"),
        "{e}"
    );
}

/// A scenario replaying the shipped 10-minute trace with `arrival`'s extra keys, checked as
/// `awsim check` does.
fn check_with(extra: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(FILE).unwrap().replace(
        r#"file = "traces/shop_10min.csv""#,
        &format!(r#"file = "traces/shop_10min.csv"{extra}"#),
    );
    let scenario = Scenario::parse(&text, Path::new(FILE)).map_err(|e| e.to_string())?;
    scenario
        .build(RunSettings::default())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn a_loop_that_would_not_advance_time_is_refused_at_load() {
    // 15 589 rows over 600 s, a million times faster: a lap of 0.6 ms.
    let e = check_with(", loop = true, speedup = 1e6").unwrap_err();
    assert!(e.contains("workload `recorded`, field `arrival`"), "{e}");
    assert!(
        e.contains("with `loop`, each lap lasts 600.025us")
            && e.contains("less than the minimum of 1ms"),
        "{e}"
    );
    // Half as fast, a lap lasts 1.2 ms but would replay 1.3·10⁷ arrivals a second.
    let e = check_with(", loop = true, speedup = 5e5").unwrap_err();
    assert!(
        e.contains(
            "with `loop`, 15589 rows × scale 1 every 1.2ms is 1.299e7 arrivals a second, \
             more than the limit of 1e7"
        ),
        "{e}"
    );
    // Without the loop the same speedup is a finite burst, and a slower loop is fine.
    check_with(", speedup = 1e6").unwrap();
    check_with(", loop = true, speedup = 100").unwrap();
    // Too small a scale would spin looking for a row to keep.
    let e = check_with(", loop = true, scale = 1e-9").unwrap_err();
    assert!(e.contains("`scale` must be above 0 (at least 0.001"), "{e}");
}

#[test]
fn a_looped_trace_of_one_instant_repeats_a_second_later() {
    // Rows that share one time have no gap to repeat after: a second, as for a single row
    // (not a nanosecond, which replayed them a billion times a second).
    let spec = TraceSpec {
        repeat: true,
        ..TraceSpec::csv("x")
    };
    let mut t = open_bytes("instant", "i.csv", b"timestamp\n0\n0\n", &spec).unwrap();
    let mut rng = awsim::engine::rng::stream(1, "t");
    let at: Vec<f64> = (0..6)
        .map(|_| t.next_row(&mut rng).unwrap().at.as_secs_f64())
        .collect();
    assert_eq!(at, [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]);
}
