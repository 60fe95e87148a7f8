//! `awsim sweep` and `awsim compare`: the grid as documented, clear errors before anything runs,
//! common random numbers, results independent of the thread count, `--resume`, goals, and the
//! side-by-side comparison. Runs are short (a few simulated minutes of the web tier).

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{awsim, text};
use awsim::cli::SweepArgs;
use awsim::engine::time::SimDuration;
use awsim::run::run_quietly;
use awsim::scenario::{RunSettings, Scenario};
use awsim::sweep::grid::{Grid, parse_values};
use awsim::sweep::{Goal, GoalFigure, replication_seed, run_sweep};

const WEB_TIER: &str = "scenarios/examples/web_tier.toml";

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("awsim-sweep-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn args(sets: &[&str], replications: u32, out: &Path) -> SweepArgs {
    SweepArgs {
        file: PathBuf::from(WEB_TIER),
        sets: sets.iter().map(|s| s.to_string()).collect(),
        replications,
        jobs: None,
        seed: None,
        duration: Some(SimDuration::from_secs(150)),
        out: Some(out.to_path_buf()),
        max_output: None,
        goals: Vec::new(),
        prices: None,
        resume: false,
        independent_seeds: false,
        quiet: true,
        limits: Default::default(),
    }
}

fn values(text: &str) -> Vec<String> {
    parse_values(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .into_iter()
        .map(|v| v.text)
        .collect()
}

#[test]
fn values_parse_as_documented() {
    assert_eq!(values("2,4,8"), ["2", "4", "8"]);
    assert_eq!(values("2..20:6"), ["2", "8", "14", "20"]);
    assert_eq!(values("2..5"), ["2", "3", "4", "5"]);
    assert_eq!(values("0.5..1:0.25"), ["0.5", "0.75", "1.0"]);
    assert_eq!(values("\"30s\",5m"), ["30s", "5m"]);
    assert_eq!(values("1,3..5:2,10"), ["1", "3", "5", "10"]);
    let v = parse_values("30s,2,1.5").unwrap();
    assert_eq!(v[0].value, toml::Value::String("30s".into()));
    assert_eq!(v[1].value, toml::Value::Integer(2));
    assert_eq!(v[2].value, toml::Value::Float(1.5));
    for bad in ["8..2", "2..8:0", "2..8:-2", "x..8", "2,,4", "3,3", "\"open"] {
        assert!(parse_values(bad).is_err(), "`{bad}` should not parse");
    }
    let e = parse_values("8..2").unwrap_err();
    assert!(e.contains("bad range `8..2`"), "{e}");
}

#[test]
fn the_grid_is_the_cross_product_first_set_slowest() {
    let scenario = Scenario::load(Path::new(WEB_TIER)).unwrap();
    let sets = [
        "web.instances=3..5".to_string(),
        "shoppers.arrival.rate=60/s,120/s".to_string(),
    ];
    let grid = Grid::new(&scenario, Path::new(WEB_TIER), &sets).unwrap();
    let labels: Vec<&str> = grid.points.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "web.instances=3,shoppers.arrival.rate=60/s",
            "web.instances=3,shoppers.arrival.rate=120/s",
            "web.instances=4,shoppers.arrival.rate=60/s",
            "web.instances=4,shoppers.arrival.rate=120/s",
            "web.instances=5,shoppers.arrival.rate=60/s",
            "web.instances=5,shoppers.arrival.rate=120/s",
        ]
    );
    // Folder names are safe: `/` is percent-encoded.
    assert_eq!(
        grid.points[1].dir,
        "web.instances=3,shoppers.arrival.rate=120%2Fs"
    );
    // Each point's scenario has its values, and keeps the scenario's name.
    let s = &grid.scenarios[4];
    assert_eq!(s.name, "web_tier");
    assert!(s.text.contains("instances = 5"), "{}", s.text);
    assert!(s.text.contains("rate = \"60/s\""), "{}", s.text);
}

#[test]
fn setting_a_field_to_its_own_value_changes_nothing() {
    // The edited document is written back with toml; it must mean the same scenario.
    let scenario = Scenario::load(Path::new(WEB_TIER)).unwrap();
    let grid = Grid::new(
        &scenario,
        Path::new(WEB_TIER),
        &["web.instances=4".to_string()],
    )
    .unwrap();
    let settings = RunSettings {
        seed: Some(3),
        duration: Some(SimDuration::from_secs(90)),
        interval: None,
    };
    let a = run_quietly(&scenario, settings).unwrap().to_json();
    let b = run_quietly(&grid.scenarios[0], settings).unwrap().to_json();
    assert_eq!(a, b);
}

#[test]
fn every_shipped_scenario_survives_the_round_trip_through_toml() {
    let mut files = Vec::new();
    for dir in ["scenarios/examples", "scenarios/lessons"] {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    for file in files {
        let original = Scenario::load(&file).unwrap();
        let doc: toml::Table = toml::from_str(&original.text).unwrap();
        let rewritten = Scenario::parse(&toml::to_string(&doc).unwrap(), &file)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let settings = RunSettings {
            seed: Some(11),
            duration: Some(crate::scenarios::accepted_duration(
                &original,
                original.warmup() + SimDuration::from_secs(20),
            )),
            interval: None,
        };
        let a = run_quietly(&original, settings).unwrap().to_json();
        let b = run_quietly(&rewritten, settings).unwrap().to_json();
        assert!(
            a == b,
            "{}: the rewritten scenario runs differently",
            file.display()
        );
    }
}

#[test]
fn a_bad_set_is_a_clear_error_before_anything_runs() {
    let out = temp("bad");
    let cases = [
        (
            "wbe.instances=2,4",
            "no workload, component or fault is named `wbe`; did you mean `web`?",
        ),
        (
            "web.instancs=2,4",
            "unknown field `instancs`, expected one of `instances`",
        ),
        ("web.instancs=2", "did you mean `instances`?"),
        (
            "web.instances=2,many",
            "with web.instances=many: component `web`, field `instances`: invalid type: string \
             \"many\", expected u32",
        ),
        ("web.instances=9..3", "bad range `9..3`"),
        (
            "shoppers.arrival.rat=60/s",
            "field `arrival.rat`: unknown field `rat`",
        ),
        ("web.handler.first=1", "`web.handler` is a list of 1"),
        ("web.kind=alb", "`kind` cannot be swept"),
        ("instances=2", "must be NAME.FIELD"),
    ];
    for (set, expected) in cases {
        let result = awsim(&[
            "sweep",
            WEB_TIER,
            "--set",
            set,
            "--out",
            out.to_str().unwrap(),
        ]);
        let stderr = text(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{set}: {stderr}");
        assert!(stderr.contains(expected), "{set}: {stderr}");
        assert!(
            !out.exists(),
            "{set}: nothing may be written before the grid is valid"
        );
    }
    // A point that is invalid only in combination (warm-up past a shortened duration is caught
    // too, as is a bad goal).
    let result = awsim(&[
        "sweep",
        WEB_TIER,
        "--set",
        "web.instances=2",
        "--duration",
        "30s",
    ]);
    assert_eq!(result.status.code(), Some(2));
    assert!(text(&result.stderr).contains("longer than the warm-up"));
    let result = awsim(&[
        "sweep",
        WEB_TIER,
        "--set",
        "web.instances=2",
        "--goal",
        "shopers.p99<1s",
    ]);
    assert_eq!(result.status.code(), Some(2));
    assert!(text(&result.stderr).contains("did you mean `shoppers`?"));
    assert!(!out.exists());
}

#[test]
fn replication_seeds_are_common_across_points_and_differ_across_replications() {
    let seeds: Vec<u64> = (1..=5).map(|r| replication_seed(42, r, None)).collect();
    for (i, a) in seeds.iter().enumerate() {
        assert!(!seeds[..i].contains(a), "replications need their own seeds");
    }
    assert_eq!(replication_seed(42, 3, None), replication_seed(42, 3, None));
    assert_ne!(
        replication_seed(42, 1, Some("web.instances=2")),
        replication_seed(42, 1, Some("web.instances=3"))
    );

    // In the run files: replication r has the same seed at every point; arrivals are common,
    // so the workload created the same number of requests at every point.
    let out = temp("crn");
    run_sweep(&args(&["web.instances=3,5"], 2, &out)).unwrap();
    let read = |point: &str, r: u32| -> serde_json::Value {
        let path = out.join("runs").join(point).join(format!("rep-{r}.json"));
        serde_json::from_slice(&fs::read(&path).unwrap()).unwrap()
    };
    for r in 1..=2 {
        let (a, b) = (read("web.instances=3", r), read("web.instances=5", r));
        assert_eq!(a["seed"], b["seed"]);
        assert_eq!(a["seed"].as_u64(), Some(replication_seed(42, r, None)));
        assert_eq!(
            a["workloads"]["shoppers"]["requests"]["created"],
            b["workloads"]["shoppers"]["requests"]["created"]
        );
    }
    assert_ne!(
        read("web.instances=3", 1)["seed"],
        read("web.instances=3", 2)["seed"]
    );
    // --independent-seeds: each point its own.
    let mut independent = args(&["web.instances=3,5"], 2, &out);
    independent.independent_seeds = true;
    run_sweep(&independent).unwrap();
    assert_ne!(
        read("web.instances=3", 1)["seed"],
        read("web.instances=5", 1)["seed"]
    );
    fs::remove_dir_all(&out).unwrap();
}

#[test]
fn one_and_four_threads_give_byte_identical_results() {
    let (one, four) = (temp("jobs1"), temp("jobs4"));
    for (dir, jobs) in [(&one, "1"), (&four, "4")] {
        let result = awsim(&[
            "sweep",
            WEB_TIER,
            "--set",
            "web.instances=3..5",
            "--set",
            "web.vcpus=1,2",
            "--replications",
            "3",
            "--duration",
            "2m",
            "--jobs",
            jobs,
            "--quiet",
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(result.status.code(), Some(0), "{}", text(&result.stderr));
        assert!(result.stdout.is_empty() && result.stderr.is_empty());
    }
    for file in ["sweep.csv", "sweep_shoppers.svg", "sweep_shoppers.png"] {
        assert!(
            fs::read(one.join(file)).unwrap() == fs::read(four.join(file)).unwrap(),
            "{file} differs between --jobs 1 and --jobs 4"
        );
    }
    let point = "runs/web.instances=4,web.vcpus=2/rep-3.json";
    assert_eq!(
        fs::read(one.join(point)).unwrap(),
        fs::read(four.join(point)).unwrap()
    );
    fs::remove_dir_all(&one).unwrap();
    fs::remove_dir_all(&four).unwrap();
}

#[test]
fn the_csv_has_the_documented_columns() {
    let out = temp("csv");
    let outcome = run_sweep(&args(
        &["web.instances=3,4", "shoppers.arrival.rate=60/s,120/s"],
        3,
        &out,
    ))
    .unwrap();
    let csv = fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert_eq!(csv, outcome.csv());
    let mut rows = csv.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    let mut expected: Vec<String> = [
        "point",
        "web.instances",
        "shoppers.arrival.rate",
        "replications",
    ]
    .map(String::from)
    .to_vec();
    for figure in [
        "shoppers.latency_mean_ms",
        "shoppers.latency_p50_ms",
        "shoppers.latency_p99_ms",
        "shoppers.throughput_per_s",
        "shoppers.error_share",
        "web.utilisation",
        // The bill: the load balancer's (the fleet has no instance type, so no price).
        "cost.total_usd",
        "cost.usd_per_hour",
        "web-alb.usd",
        "shoppers.usd_per_million_requests",
    ] {
        expected.push(format!("{figure}.mean"));
        expected.push(format!("{figure}.ci95"));
    }
    assert_eq!(header, expected);
    let rows: Vec<Vec<String>> = {
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect()
    };
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[1][0], "web.instances=3,shoppers.arrival.rate=120%2Fs");
    assert_eq!(rows[1][1..4], ["3", "120/s", "3"]);
    // Throughput follows the arrival rate; the half-width is a positive number.
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let throughput = |row: &Vec<String>| {
        row[col("shoppers.throughput_per_s.mean")]
            .parse::<f64>()
            .unwrap()
    };
    assert!((throughput(&rows[0]) - 60.0).abs() < 5.0, "{rows:?}");
    assert!((throughput(&rows[1]) - 120.0).abs() < 8.0, "{rows:?}");
    let ci: f64 = rows[1][col("shoppers.latency_p99_ms.ci95")]
        .parse()
        .unwrap();
    assert!(ci > 0.0, "{rows:?}");
    // The half-width is Student t with R − 1 = 2 df over √R times the sample deviation of the
    // replications' figures.
    let p99: Vec<f64> = (1..=3)
        .map(|r| {
            let path = out
                .join("runs")
                .join(&rows[1][0])
                .join(format!("rep-{r}.json"));
            let v: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
            v["workloads"]["shoppers"]["latency_ms"]["p99"]
                .as_f64()
                .unwrap()
        })
        .collect();
    let ci_here = crate::stats::ConfidenceInterval::from_replications(&p99);
    let mean: f64 = rows[1][col("shoppers.latency_p99_ms.mean")]
        .parse()
        .unwrap();
    assert!((mean - ci_here.mean).abs() < 1e-5, "{mean} vs {ci_here}");
    assert!((ci - ci_here.half_width).abs() < 1e-5, "{ci} vs {ci_here}");
    fs::remove_dir_all(&out).unwrap();
}

#[test]
fn resume_runs_only_what_is_missing() {
    let out = temp("resume");
    let sets = ["web.instances=3..5"];
    let first = run_sweep(&args(&sets, 2, &out)).unwrap();
    assert_eq!((first.runs_done, first.runs_resumed), (6, 0));
    let whole = fs::read(out.join("sweep.csv")).unwrap();

    // An interrupted sweep: one point gone, one replication gone with a partial file in its
    // place, and no sweep.csv.
    fs::remove_dir_all(out.join("runs/web.instances=4")).unwrap();
    let point5 = out.join("runs/web.instances=5");
    fs::remove_file(point5.join("rep-2.json")).unwrap();
    fs::write(point5.join(".rep-2.json.partial"), "{\"scenario\": \"web_t").unwrap();
    fs::remove_file(out.join("sweep.csv")).unwrap();
    let kept = point5.join("rep-1.json");
    let before = fs::metadata(&kept).unwrap().modified().unwrap();

    let mut resume = args(&sets, 2, &out);
    resume.resume = true;
    let second = run_sweep(&resume).unwrap();
    assert_eq!((second.runs_done, second.runs_resumed), (3, 3));
    assert_eq!(fs::metadata(&kept).unwrap().modified().unwrap(), before);
    assert!(!point5.join(".rep-2.json.partial").exists());
    assert_eq!(fs::read(out.join("sweep.csv")).unwrap(), whole);

    // Nothing missing: nothing runs. More replications: only the new ones run.
    let third = run_sweep(&resume).unwrap();
    assert_eq!((third.runs_done, third.runs_resumed), (0, 6));
    resume.replications = 3;
    let fourth = run_sweep(&resume).unwrap();
    assert_eq!((fourth.runs_done, fourth.runs_resumed), (3, 6));

    // Other settings: refused rather than mixed.
    resume.duration = Some(SimDuration::from_secs(200));
    let e = run_sweep(&resume).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("made with other settings"), "{e}");
    fs::remove_dir_all(&out).unwrap();
}

#[test]
fn goals_parse() {
    let w = ["shoppers", "admin"];
    let g = Goal::parse("p99<200ms", &w).unwrap();
    assert_eq!(
        (g.workload.as_deref(), g.figure, g.bound),
        (None, GoalFigure::Latency("p99"), 200.0)
    );
    let g = Goal::parse("admin.mean <= 1.5s", &w).unwrap();
    assert_eq!(g.workload.as_deref(), Some("admin"));
    assert_eq!(
        (g.figure, g.bound, g.inclusive),
        (GoalFigure::Latency("mean"), 1500.0, true)
    );
    for (goal, stat) in [("p50<1s", "p50"), ("p90<1s", "p90"), ("p999<1s", "p999")] {
        assert_eq!(
            Goal::parse(goal, &w).unwrap().figure,
            GoalFigure::Latency(stat)
        );
    }
    let g = Goal::parse("errors<0.5%", &w).unwrap();
    assert_eq!(g.figure, GoalFigure::Errors);
    assert!((g.bound - 0.005).abs() < 1e-12);
    for bad in [
        "p99>200ms",
        "p99<200",
        "p95<1s",
        "nobody.p99<1s",
        "errors<2",
    ] {
        assert!(Goal::parse(bad, &w).is_err(), "{bad}");
    }
}

#[test]
fn the_goal_marks_points_and_names_the_cheapest_meeting_it_with_what_is_not_billed() {
    let out = temp("goal");
    let result = awsim(&[
        "sweep",
        WEB_TIER,
        "--set",
        "web.instances=2..5",
        "--replications",
        "2",
        "--duration",
        "150s",
        "--goal",
        "p99<1s",
        "--goal",
        "errors<1%",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = text(&result.stdout);
    assert_eq!(result.status.code(), Some(0), "{}", text(&result.stderr));
    assert!(
        stdout.contains(
            "goal p99<1s and errors<1%: cheapest point meeting it: web.instances=3\n  (rule: \
             lowest bill: "
        ) && stdout.contains("not billed, so not in it: web)"),
        "{stdout}"
    );
    let csv = fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert!(
        csv.lines().next().unwrap().ends_with(",meets_goal"),
        "{csv}"
    );
    let marks: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap())
        .collect();
    assert_eq!(marks, ["false", "true", "true", "true"], "{csv}");
    // The plot marks it too.
    let svg = fs::read_to_string(out.join("sweep_shoppers.svg")).unwrap();
    assert!(
        svg.contains("cheapest meeting goal") && svg.contains("goal p99&lt;1s"),
        "{}",
        &svg[..200]
    );
    fs::remove_dir_all(&out).unwrap();
}

#[test]
fn without_an_instance_type_the_goal_picks_the_smallest_capacity_that_keeps_up() {
    let dir = temp("cost");
    fs::create_dir_all(&dir).unwrap();
    let file = dir.join("group.toml");
    fs::write(
        &file,
        r#"
[simulation]
duration = "3m"
warmup = "1m"
seed = 5

[[workload]]
name = "users"
target = "web"
arrival = { process = "poisson", rate = "50/s" }

[[component]]
name = "web"
kind = "asg"
min = 1
max = 10
desired = 2
vcpus = 2
handler = [ { compute = { dist = "exponential", mean = "50ms" } } ]
"#,
    )
    .unwrap();
    let mut a = args(&["web.desired=4,2,3", "web.vcpus=1,2"], 2, &dir.join("out"));
    a.file = file;
    a.duration = None;
    a.goals = vec!["errors<=0%".into(), "p99<2s".into()];
    let outcome = run_sweep(&a).unwrap();
    let choice = outcome.choice.clone().expect("a point meets the goal");
    let label = &outcome.points[choice.point].point.label;
    // 2.5 erlangs of work: 2 instances of 1 vCPU fall behind; 2 of 2 vCPUs are the smallest
    // capacity that keeps up. Nothing is billed (no instance_type): no bill to rank by.
    assert_eq!(label, "web.desired=2,web.vcpus=2", "{}", outcome.report());
    assert!(
        choice.rule.starts_with("smallest capacity") && choice.rule.contains("no bill"),
        "{}",
        choice.rule
    );
    assert_eq!(outcome.not_billed, ["web"]);
    assert!(outcome.figures.contains(&"web.instance_hours".to_string()));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn compare_shows_two_summaries_side_by_side() {
    let out = temp("compare");
    run_sweep(&args(&["web.instances=3,5"], 1, &out)).unwrap();
    let a = out.join("runs/web.instances=3/rep-1.json");
    let b = out.join("runs/web.instances=5/rep-1.json");
    let result = awsim(&["compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(result.status.code(), Some(0), "{}", text(&result.stderr));
    let stdout = text(&result.stdout);
    let line = |needle: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(needle))
            .unwrap_or_else(|| panic!("no `{needle}` row:\n{stdout}"))
            .to_string()
    };
    assert!(stdout.starts_with(&format!("A: {}\nB: {}\n", a.display(), b.display())));
    assert!(stdout.contains("workload shoppers\n"), "{stdout}");
    assert!(stdout.contains("component web (ec2_fleet)\n"), "{stdout}");
    // Common random numbers: the same requests arrive; the fleet's utilisation falls.
    assert!(
        line("requests.created").trim_end().ends_with(" 0"),
        "{stdout}"
    );
    let util = line("utilisation");
    let cells: Vec<&str> = util.split_whitespace().collect();
    let (x, y): (f64, f64) = (cells[1].parse().unwrap(), cells[2].parse().unwrap());
    assert!(y < x, "{util}");
    assert!(
        cells[3].starts_with('-') && cells[4].ends_with('%'),
        "{util}"
    );
    // Unreadable input exits 2.
    let result = awsim(&["compare", a.to_str().unwrap(), "no/such/summary.json"]);
    assert_eq!(result.status.code(), Some(2));
    assert!(text(&result.stderr).contains("no/such/summary.json: cannot read it"));
    let result = awsim(&[
        "compare",
        a.to_str().unwrap(),
        out.join("sweep.csv").to_str().unwrap(),
    ]);
    assert_eq!(result.status.code(), Some(2));
    fs::remove_dir_all(&out).unwrap();
}

#[test]
fn sweep_help_documents_the_flags() {
    let help = text(&awsim(&["sweep", "--help"]).stdout);
    for flag in [
        "--set",
        "--replications",
        "--jobs",
        "--seed",
        "--duration",
        "--out",
        "--goal",
        "--resume",
        "--independent-seeds",
        "--quiet",
    ] {
        assert!(help.contains(flag), "sweep --help lacks {flag}:\n{help}");
    }
    let result = awsim(&["sweep", WEB_TIER]);
    assert_eq!(result.status.code(), Some(2), "--set is required");
}
