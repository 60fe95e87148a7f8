//! The bill in every output (issue 16): the terminal table, report.html, the spend column of
//! timeseries.csv and its stacked plot, sweep.csv's cost columns, `--goal` in dollars,
//! pareto.svg, `awsim compare`, and the figures the cost_of_latency lesson quotes.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common::{awsim, text};
use awsim::run::run_quietly;
use awsim::scenario::{RunSettings, Scenario};
use serde_json::Value;

fn scratch(name: &str) -> PathBuf {
    crate::common::scratch("cost-out", name)
}

fn run_ok(args: &[&str]) -> String {
    let out = awsim(args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// A group that scales out under a load step and in after it, a function beside it and a
/// table it writes to, whose capacity auto scaling follows: all billed; an unbilled fleet.
const SCALING: &str = r#"
[simulation]
duration = "30m"
warmup = "2m"
seed = 3
interval = "10s"

[[workload]]
name = "users"
target = "web"
arrival = { process = "poisson" }
schedule = [ { at = "0s", rate = "10/s" }, { at = "8m", rate = "60/s" }, { at = "18m", rate = "10/s" } ]

[[workload]]
name = "calls"
target = "fn"
arrival = { process = "poisson", rate = "20/s" }

[[component]]
name = "web"
kind = "asg"
min = 1
max = 10
desired = 1
instance_type = "c7g.large"
handler = [ { compute = { dist = "exponential", mean = "50ms" } } ]

[[component.policy]]
name = "cpu"
type = "target_tracking"
metric = "cpu_utilization"
target = 50

[[component]]
name = "fn"
kind = "lambda"
memory_mb = 512
handler = [ { compute = "30ms" }, { call = "spare" }, { call = "orders", op = "write" } ]

[[component]]
name = "orders"
kind = "dynamodb"
rcu = 5
wcu = 5
auto_scaling = { target = 70 }

[[component]]
name = "spare"
kind = "ec2_fleet"
instances = 2
vcpus = 4
handler = [ { compute = "1ms" } ]
"#;

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let file = dir.join(name);
    fs::write(&file, body).unwrap();
    file
}

#[test]
fn the_spend_column_adds_up_to_each_bill_and_the_outputs_show_it() {
    let dir = scratch("run");
    let file = write(&dir, "scaling.toml", SCALING);
    let out = dir.join("out");
    let stdout = run_ok(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let summary: Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let cost = &summary["cost"];
    let usd = |name: &str| cost["components"][name]["usd"].as_f64().unwrap();
    assert!(usd("web") > 0.0 && usd("fn") > 0.0 && usd("orders") > 0.0);
    assert!(
        summary["components"]["web"]["instances_launched"]
            .as_u64()
            .unwrap()
            > 2,
        "the group scaled"
    );
    // Σ spend_usd_per_hour × interval over the rows after the warm-up is the bill (the warm-up
    // rows are 0: not billed).
    let mut reader = csv::Reader::from_path(out.join("timeseries.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
    let (time, name, spend) = (col("time_s"), col("name"), col("spend_usd_per_hour"));
    let provisioned_wcu = col("provisioned_wcu");
    let mut sums = std::collections::BTreeMap::<String, f64>::new();
    let mut table_capacities = std::collections::BTreeSet::<String>::new();
    for row in reader.records() {
        let row = row.unwrap();
        if &row[name] == "orders" {
            table_capacities.insert(row[provisioned_wcu].to_string());
        }
        let field = &row[spend];
        if field.is_empty() {
            continue;
        }
        let t: f64 = row[time].parse().unwrap();
        let rate: f64 = field.parse().unwrap();
        if t <= 120.0 {
            assert_eq!(
                rate, 0.0,
                "{} at {t} s: the warm-up is not billed",
                &row[name]
            );
        }
        *sums.entry(row[name].to_string()).or_default() += rate * 10.0 / 3600.0;
    }
    assert_eq!(
        sums.keys().collect::<Vec<_>>(),
        ["fn", "orders", "web"],
        "spare is not billed"
    );
    assert!(
        table_capacities.len() > 1,
        "the table's capacity moved: {table_capacities:?}"
    );
    for n in ["web", "fn", "orders"] {
        let (got, want) = (sums[n], usd(n));
        assert!((got - want).abs() < 1e-9 * want, "{n}: {got} != {want}");
    }
    // The table: the total for the window, its rates, each component and what is not billed.
    let total = cost["total_usd"].as_f64().unwrap();
    let money = |x: f64| {
        if x >= 1.0 {
            format!("${x:.2}")
        } else {
            format!("${x:.3}")
        }
    };
    assert!(
        stdout.contains(&format!("cost: {} for the 28 min window = ", money(total))),
        "{stdout}"
    );
    assert!(stdout.contains("  not billed: spare\n"), "{stdout}");
    assert!(
        stdout.contains("  per million requests: users $"),
        "{stdout}"
    );
    // The stacked plot and the report's cost section.
    let svg = fs::read_to_string(out.join("cost.svg")).unwrap();
    assert!(
        svg.contains("Spend rate per component, stacked"),
        "{}",
        &svg[..300]
    );
    assert!(out.join("cost.png").exists());
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    let section = &html[html.find("<h2 id=\"cost\">").expect("a cost section")..];
    let section = &section[..section.find("<h2 id=\"plots\">").unwrap()];
    for needle in [
        "<td rowspan=\"1\">web</td>",
        "instance-hours of c7g.large",
        "GB-seconds",
        "per 1 ms",
        "<th>USD per million requests</th>",
        "<code>spare</code>",
        "Spend rate per component",
    ] {
        assert!(section.contains(needle), "no {needle} in {section}");
    }
    fs::remove_dir_all(&dir).unwrap();
}

/// Two 2-vCPU types: by position m5.large is the "smaller" value, by price c7g.large is cheaper.
const TYPES: &str = r#"
[simulation]
duration = "3m"
warmup = "30s"
seed = 9

[[workload]]
name = "users"
target = "web"
arrival = { process = "poisson", rate = "20/s" }

[[component]]
name = "web"
kind = "ec2_fleet"
instances = 2
instance_type = "m5.large"
handler = [ { compute = { dist = "exponential", mean = "50ms" } } ]
"#;

#[test]
fn the_goal_picks_the_cheaper_point_in_dollars_and_compare_shows_the_difference() {
    let dir = scratch("sweep");
    let file = write(&dir, "types.toml", TYPES);
    let out = dir.join("sweep");
    let stdout = run_ok(&[
        "sweep",
        file.to_str().unwrap(),
        "--set",
        "web.instance_type=m5.large,c7g.large",
        "-r",
        "2",
        "--goal",
        "p99<2s",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        stdout.contains(
            "cheapest point meeting it: web.instance_type=c7g.large\n  (rule: lowest bill: $0.145/h"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("USD/h"), "{stdout}");
    let csv = fs::read_to_string(out.join("sweep.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    for column in [
        "cost.total_usd.mean",
        "cost.total_usd.ci95",
        "cost.usd_per_hour.mean",
        "cost.usd_per_hour.ci95",
        "web.usd.mean",
        "users.usd_per_million_requests.mean",
        "users.usd_per_million_requests.ci95",
    ] {
        assert!(header.contains(&column), "no {column} in {header:?}");
    }
    let at = header
        .iter()
        .position(|h| *h == "cost.usd_per_hour.mean")
        .unwrap();
    let rates: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(at).unwrap().parse().unwrap())
        .collect();
    // 2 instances all the time, whatever the replication.
    assert_eq!(rates, [2.0 * 0.096, 2.0 * 0.0725]);
    let svg = fs::read_to_string(out.join("pareto.svg")).unwrap();
    assert!(svg.contains("Pareto front") && svg.contains("cheapest meeting goal"));
    // compare: the bills side by side.
    let a = out.join("runs/web.instance_type=m5.large/rep-1.json");
    let b = out.join("runs/web.instance_type=c7g.large/rep-1.json");
    let table = run_ok(&["compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    let row = |needle: &str| {
        table
            .lines()
            .find(|l| l.trim_start().starts_with(needle))
            .unwrap_or_else(|| panic!("no {needle} row: {table}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(table.contains("cost (USD)\n"), "{table}");
    assert_eq!(
        row("usd_per_hour"),
        "usd_per_hour 0.1920 0.1450 -0.04700 -24.5%"
    );
    assert!(row("web.usd").ends_with("-24.5%"), "{table}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn without_a_bill_the_goal_falls_back_to_the_smallest_capacity_and_says_why() {
    let dir = scratch("nobill");
    let file = write(
        &dir,
        "plain.toml",
        &TYPES.replace("instance_type = \"m5.large\"\n", ""),
    );
    let out = dir.join("sweep");
    let stdout = run_ok(&[
        "sweep",
        file.to_str().unwrap(),
        "--set",
        "web.instances=3,2",
        "-r",
        "1",
        "--goal",
        "p99<2s",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        stdout.contains("web.instances=2\n  (rule: smallest capacity")
            && stdout.contains("no bill to compare"),
        "{stdout}"
    );
    let csv = fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert!(
        !csv.contains("cost."),
        "no cost columns without a bill: {csv}"
    );
    assert!(!out.join("pareto.svg").exists());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_cost_of_latency_lesson_shows_what_its_header_quotes() {
    let file = Path::new("scenarios/lessons/cost_of_latency.toml");
    let scenario = Scenario::load(file).unwrap_or_else(|e| panic!("{e}"));
    let s = serde_json::to_value(run_quietly(&scenario, RunSettings::default()).unwrap()).unwrap();
    let per_hour = |name: &str| {
        s["cost"]["components"][name]["usd"].as_f64().unwrap()
            / s["cost"]["window_h"].as_f64().unwrap()
    };
    let p99 = |w: &str| s["workloads"][w]["latency_ms"]["p99"].as_f64().unwrap();
    assert!((per_hour("fleet") - 0.3625).abs() < 1e-9);
    assert!(
        (per_hour("web") - 0.2096).abs() < 5e-5,
        "{}",
        per_hour("web")
    );
    assert!((per_hour("fn") - 0.2140).abs() < 5e-5, "{}", per_hour("fn"));
    assert!(
        (p99("fleet-users") - 306.7).abs() < 0.05,
        "{}",
        p99("fleet-users")
    );
    assert!(
        (p99("asg-users") - 323.8).abs() < 0.05,
        "{}",
        p99("asg-users")
    );
    assert!(
        (p99("fn-users") - 300.0).abs() < 0.05,
        "{}",
        p99("fn-users")
    );
    assert_eq!(s["components"]["web"]["instances_launched"], 8);
    assert_eq!(s["components"]["web"]["desired_max"], 6);
    assert_eq!(s["components"]["fn"]["cold_starts"], 14);
    assert_eq!(s["workloads"]["fn-users"]["requests"]["created"], 156_245);
}
