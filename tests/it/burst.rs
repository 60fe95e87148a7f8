//! Burstable instances (issue 20): CPU credit arithmetic exact for constant loads (earn −
//! spend per second, capped at the maximum), throttling from the instant the balance reaches
//! zero, unlimited mode's surplus, the same through a fleet run, and located errors.

use std::path::Path;

use awsim::components::burst_credits::{CreditModel, CreditSpecification, Credits};
use awsim::engine::time::{SimDuration, SimTime};
use awsim::run::run_quietly;
use awsim::scenario::{RunSettings, Scenario};

fn at(s: f64) -> SimTime {
    SimTime::ZERO + SimDuration::from_secs_f64(s)
}

fn t3_micro(mode: CreditSpecification, initial: f64) -> CreditModel {
    CreditModel::of("t3.micro", 2, Some(mode), initial).unwrap()
}

#[test]
fn the_documented_figures_of_a_t3_micro_and_a_t2_micro() {
    let m = CreditModel::of("t3.micro", 2, None, 0.0).unwrap();
    assert_eq!(m.mode, CreditSpecification::Unlimited);
    assert_eq!(m.earn_per_s * 3600.0, 12.0);
    assert_eq!(m.max_balance, 288.0);
    assert_eq!(m.launch_credits, 0.0);
    let t2 = CreditModel::of("t2.micro", 1, None, 0.0).unwrap();
    assert_eq!(t2.mode, CreditSpecification::Standard);
    assert_eq!(t2.launch_credits, 30.0);
    let t2u = CreditModel::of("t2.micro", 1, Some(CreditSpecification::Unlimited), 0.0);
    assert_eq!(t2u.unwrap().launch_credits, 0.0);
    assert!(CreditModel::of("m5.large", 2, None, 0.0).is_none());
}

#[test]
fn the_balance_is_earnings_less_spending_per_second_capped_at_the_maximum() {
    let m = t3_micro(CreditSpecification::Standard, 100.0);
    let mut c = Credits::new(&m, SimTime::ZERO, SimTime::ZERO);
    // Idle: 12 credits an hour, capped at 288.
    c.advance(&m, at(3600.0));
    assert!((c.balance() - 112.0).abs() < 1e-9);
    c.advance(&m, at(20.0 * 3600.0));
    assert_eq!(c.balance(), 288.0);
    // One vCPU busy: 60 credits an hour spent, 12 earned.
    c.set_busy(&m, 1, at(20.0 * 3600.0));
    c.advance(&m, at(21.0 * 3600.0));
    assert!(
        (c.balance() - (288.0 - 48.0)).abs() < 1e-9,
        "{}",
        c.balance()
    );
    // Empty after (288 − 48) / 48 more hours = 5 h.
    let left = c.time_to_empty(&m).unwrap();
    assert!((left.as_secs_f64() - 5.0 * 3600.0).abs() < 1e-6);
}

#[test]
fn a_standard_instance_is_throttled_to_its_baseline_share_and_stays_empty() {
    let m = t3_micro(CreditSpecification::Standard, 10.0);
    let mut c = Credits::new(&m, SimTime::ZERO, SimTime::ZERO);
    assert!(!c.set_busy(&m, 2, SimTime::ZERO));
    // 2 credits a minute spent, 0.2 earned: 10 credits last 10 / 1.8 minutes.
    let empty = c.time_to_empty(&m).unwrap();
    assert!((empty.as_secs_f64() - 600.0 / 1.8).abs() < 1e-6);
    assert!(c.on_empty(&m, SimTime::ZERO + empty));
    assert!(c.is_throttled());
    // Both vCPUs at the baseline (10 %): spending equals earning.
    assert!((c.speed_factor(&m) - 0.1).abs() < 1e-12);
    c.advance(&m, at(3600.0));
    assert_eq!(c.balance(), 0.0);
    // One vCPU busy: 0.2 vCPU of work, each busy vCPU at 20 %.
    c.set_busy(&m, 1, at(3600.0));
    assert!((c.speed_factor(&m) - 0.2).abs() < 1e-12);
    // Under the baseline: no longer throttled, and it earns again.
    c.set_busy(&m, 0, at(3600.0));
    assert!(!c.is_throttled());
    c.advance(&m, at(7200.0));
    assert!((c.balance() - 12.0).abs() < 1e-9);
    let w = c.window(&m, at(7200.0));
    assert!((w.throttled_s - (3600.0 - 600.0 / 1.8)).abs() < 1e-6);
    assert_eq!(w.balance_min, 0.0);
    assert_eq!(w.surplus_spent, 0.0);
}

#[test]
fn unlimited_mode_spends_surplus_exactly_and_pays_it_down() {
    let m = t3_micro(CreditSpecification::Unlimited, 0.0);
    let mut c = Credits::new(&m, SimTime::ZERO, SimTime::ZERO);
    c.set_busy(&m, 2, SimTime::ZERO);
    assert!(c.time_to_empty(&m).is_none());
    c.advance(&m, at(3600.0));
    assert!(!c.is_throttled());
    // 120 credits spent in the hour, 12 earned.
    assert!((c.surplus() - 108.0).abs() < 1e-9);
    c.set_busy(&m, 0, at(3600.0));
    // Idle for 2 h: 24 credits pay down surplus first.
    c.advance(&m, at(3.0 * 3600.0));
    assert!((c.surplus() - 84.0).abs() < 1e-9);
    assert_eq!(c.balance(), 0.0);
    let w = c.window(&m, at(3.0 * 3600.0));
    assert!((w.surplus_spent - 108.0).abs() < 1e-9);
    assert!((w.surplus_billed - 84.0).abs() < 1e-9);
    // $0.05 per vCPU-hour of 60 credits.
    assert!((m.usd_per_surplus_credit * 60.0 - 0.05).abs() < 1e-15);
}

#[test]
fn t2_launch_credits_go_first_and_do_not_count_against_the_maximum() {
    let m = CreditModel::of("t2.micro", 1, None, 144.0).unwrap();
    let mut c = Credits::new(&m, SimTime::ZERO, SimTime::ZERO);
    c.set_busy(&m, 1, SimTime::ZERO);
    // 30 launch credits last 30 minutes at one credit a minute; the balance is full.
    c.advance(&m, at(1800.0));
    assert!(c.launch_credits().abs() < 1e-9);
    assert_eq!(c.balance(), 144.0);
    // Then 144 credits at 1 − 0.1 a minute.
    let left = c.time_to_empty(&m).unwrap().as_secs_f64();
    assert!((left - 144.0 / 0.9 * 60.0).abs() < 1e-6, "{left}");
}

#[test]
fn the_window_starts_at_the_warm_up() {
    let m = t3_micro(CreditSpecification::Standard, 0.0);
    let mut c = Credits::new(&m, SimTime::ZERO, at(100.0));
    c.advance(&m, at(400.0));
    let w = c.window(&m, at(400.0));
    // The balance rises from 100/300 to 400/300 credits over the 300 s window.
    let (b0, b1) = (100.0 / 300.0, 400.0 / 300.0);
    assert!((w.balance_integral - (b0 + b1) / 2.0 * 300.0).abs() < 1e-9);
    assert!((w.balance_min - b0).abs() < 1e-12);
}

/// One t3.micro (2 vCPUs, baseline 10 %, 12 credits an hour) serving a request every 100 ms
/// that computes 100 ms: one vCPU always busy, spending a credit a minute and earning 0.2.
fn one_busy_vcpu(extra: &str) -> String {
    format!(
        r#"
[simulation]
duration = "20m"

[[workload]]
name = "load"
target = "web"
arrival = {{ process = "constant", rate = "10/s" }}

[[component]]
name = "web"
kind = "ec2_fleet"
instances = 1
instance_type = "t3.micro"
{extra}
handler = [ {{ compute = "100ms" }} ]
"#
    )
}

fn run(text: &str) -> serde_json::Value {
    let s = Scenario::parse(text, Path::new("burst.toml")).unwrap_or_else(|e| panic!("{e}"));
    let summary = run_quietly(&s, RunSettings::default()).expect("run");
    assert!(summary.conservation.ok);
    serde_json::to_value(summary).unwrap()
}

#[test]
fn a_standard_fleet_is_throttled_the_instant_its_credits_run_out() {
    let s = run(&one_busy_vcpu(
        "credit_specification = \"standard\"\ninitial_credit_balance = 10",
    ));
    let web = &s["components"]["web"];
    let c = &web["cpu_credits"];
    // Idle until the first request at 0.1 s, earning 12 credits an hour (1/300 a second);
    // then 10 + 0.1/300 credits at 1 − 0.2 a minute (1/75 a second).
    let start = 10.0 + 0.1 / 300.0;
    let empty = 0.1 + start * 75.0;
    let first = c["first_throttled_s"].as_f64().unwrap();
    assert!((first - empty).abs() < 1e-6, "{c}");
    assert!((c["throttled_s"].as_f64().unwrap() - (1200.0 - empty)).abs() < 1e-6);
    assert_eq!(c["balance_min"].as_f64().unwrap(), 0.0);
    assert_eq!(c["balance_end_mean"].as_f64().unwrap(), 0.0);
    // The balance falls in a straight line from 10 to 0 over 750 s, then stays at 0.
    let mean = c["balance_mean"].as_f64().unwrap();
    let exact = ((10.0 + start) / 2.0 * 0.1 + start / 2.0 * (empty - 0.1)) / 1200.0;
    assert!((mean - exact).abs() < 1e-6, "{mean} against {exact}");
    assert_eq!(c["surplus_credits"].as_f64().unwrap(), 0.0);
    // Before: 100 ms. After: both vCPUs share 0.2 vCPU, a request takes 1 s and the queue
    // grows by 8 requests a second.
    let latency = &s["workloads"]["load"]["latency_ms"];
    assert_eq!(latency["p50"].as_f64().unwrap().round(), 100.0);
    assert!(latency["max"].as_f64().unwrap() > 60_000.0, "{latency}");
}

#[test]
fn an_unlimited_fleet_is_never_throttled_and_pays_its_surplus_exactly() {
    let s = run(&one_busy_vcpu(""));
    let web = &s["components"]["web"];
    let c = &web["cpu_credits"];
    assert_eq!(c["credit_specification"], "unlimited");
    assert_eq!(c["throttled_s"].as_f64().unwrap(), 0.0);
    assert!(c["first_throttled_s"].is_null());
    // 0.8 credits a minute past the earnings (1/75 a second) from 0.1 s to the end, less
    // what the idle first 0.1 s earned (1/300 a second).
    let surplus = 1199.9 / 75.0 - 0.1 / 300.0;
    assert!(
        (c["surplus_credits"].as_f64().unwrap() - surplus).abs() < 1e-6,
        "{c}"
    );
    assert!((c["surplus_credits_billed"].as_f64().unwrap() - surplus).abs() < 1e-6);
    let latency = &s["workloads"]["load"]["latency_ms"];
    assert_eq!(latency["max"].as_f64().unwrap(), 100.0);
    // The bill: 20 minutes of a t3.micro and the surplus at $0.05 per vCPU-hour.
    let usd = s["cost"]["components"]["web"]["usd"].as_f64().unwrap();
    let exact = 0.0104 / 3.0 + surplus / 60.0 * 0.05;
    assert!((usd - exact).abs() < 1e-9, "{usd} against {exact}");
}

/// `timeseries.csv` of a run of `text`, as rows of (name, column → value).
fn series_rows(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let run = awsim::output::memory::run_text(
        text,
        Path::new("burst.toml"),
        RunSettings::default(),
        true,
        |_| {},
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let csv = String::from_utf8(run.timeseries_csv.expect("asked for")).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    (header, rows)
}

#[test]
fn the_credit_balance_over_time_follows_the_exact_line_and_throttling_starts_at_zero() {
    let text = one_busy_vcpu("credit_specification = \"standard\"\ninitial_credit_balance = 10");
    let (header, rows) = series_rows(&text);
    let col = |name: &str| header.iter().position(|c| c == name).unwrap();
    let (time, name) = (col("time_s"), col("name"));
    let (min, mean, throttled) = (
        col("cpu_credits_min"),
        col("cpu_credits_mean"),
        col("throttled_instances"),
    );
    let start = 10.0 + 0.1 / 300.0;
    let empty = 0.1 + start * 75.0;
    let mut checked = 0;
    for row in rows.iter().filter(|r| r[name] == "web") {
        let t: f64 = row[time].parse().unwrap();
        // One instance: the lowest balance is the mean, and both follow the exact line.
        let exact = (start - (t - 0.1) / 75.0).max(0.0);
        let got: f64 = row[mean].parse().unwrap();
        assert!(
            (got - exact).abs() < 1e-9,
            "at {t} s: {got} against {exact}"
        );
        assert_eq!(row[min], row[mean]);
        let expected = if t >= empty { "1" } else { "0" };
        assert_eq!(row[throttled], expected, "throttled at {t} s");
        checked += 1;
    }
    assert_eq!(checked, 1200);
}

#[test]
fn only_burstable_groups_write_credit_columns() {
    let (header, _) = series_rows(&one_busy_vcpu("").replace("t3.micro", "m5.large"));
    assert!(
        !header.iter().any(|c| c.starts_with("cpu_credits")),
        "{header:?}"
    );
    // Beside a burstable fleet, a fleet of another type leaves them empty.
    let both = format!(
        "{}\n[[component]]\nname = \"other\"\nkind = \"ec2_fleet\"\ninstances = 1\n\
         instance_type = \"m5.large\"\nhandler = [ {{ compute = \"1ms\" }} ]\n",
        one_busy_vcpu("")
    );
    let (header, rows) = series_rows(&both);
    let col = |name: &str| header.iter().position(|c| c == name).unwrap();
    let other = rows.iter().find(|r| r[col("name")] == "other").unwrap();
    assert_eq!(other[col("cpu_credits_mean")], "");
    let web = rows.iter().find(|r| r[col("name")] == "web").unwrap();
    assert!(!web[col("cpu_credits_mean")].is_empty());
}

#[test]
fn a_non_burstable_fleet_has_no_credit_figures() {
    let s = run(&one_busy_vcpu("").replace("t3.micro", "m5.large"));
    assert!(s["components"]["web"].get("cpu_credits").is_none());
}

fn parse_error(text: &str) -> String {
    match Scenario::parse(text, Path::new("burst.toml")) {
        Ok(_) => panic!("accepted a bad scenario:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_credit_settings_get_located_errors() {
    let text = one_busy_vcpu("credit_specification = \"standard\"");
    let line = text
        .lines()
        .position(|l| l.contains("credit_specification"))
        .unwrap()
        + 1;
    let e = parse_error(&text.replace("t3.micro", "m5.large"));
    assert!(e.contains(&format!("burst.toml:{line}:")), "{e}");
    assert!(e.contains("applies to burstable instances only"), "{e}");
    assert!(e.contains("\"m5.large\" is not burstable"), "{e}");
    let e = parse_error(&text.replace("t3.micro", "t3.micor"));
    assert!(e.contains("did you mean `t3.micro`"), "{e}");
    let e = parse_error(&text.replace("\"standard\"", "\"standart\""));
    assert!(e.contains("standard") && e.contains("unlimited"), "{e}");
    let e = parse_error(&one_busy_vcpu("initial_credit_balance = 300"));
    assert!(e.contains("maximum balance, 288 credits"), "{e}");
    // On an Auto Scaling Group too.
    let asg = r#"
[simulation]
duration = "1m"
[[workload]]
name = "load"
target = "web"
arrival = { process = "constant", rate = "1/s" }
[[component]]
name = "web"
kind = "asg"
min = 1
max = 2
instance_type = "c7g.large"
credit_specification = "unlimited"
handler = [ { compute = "1ms" } ]
"#;
    let e = parse_error(asg);
    assert!(e.contains("\"c7g.large\" is not burstable"), "{e}");
}

/// The lesson `t3_credits.toml`: the seed-42 figures its header quotes, and the hour the
/// credits last against the arithmetic (60 credits at 72 − 12 an hour).
#[test]
fn the_t3_credits_lesson_shows_what_its_header_quotes() {
    let file = Path::new("scenarios/lessons/t3_credits.toml");
    let scenario = Scenario::load(file).unwrap_or_else(|e| panic!("{e}"));
    let s = serde_json::to_value(run_quietly(&scenario, RunSettings::default()).unwrap()).unwrap();
    let c = |name: &str, key: &str| s["components"][name]["cpu_credits"][key].as_f64();
    let first = c("web-standard", "first_throttled_s").unwrap();
    assert!((first - 3_571.5).abs() < 0.1, "{first}");
    // Poisson arrivals: the hour of the arithmetic, within 2 %.
    assert!((first - 3_600.0).abs() < 72.0);
    assert!((c("web-standard", "throttled_s").unwrap() - 3_642.1).abs() < 0.1);
    assert_eq!(c("web-unlimited", "throttled_s").unwrap(), 0.0);
    assert!((c("web-unlimited", "surplus_credits").unwrap() - 64.08).abs() < 0.01);
    assert!((c("web-unlimited", "surplus_credits_billed").unwrap() - 61.39).abs() < 0.01);
    assert!(s["components"]["web-m5"].get("cpu_credits").is_none());
    let w = |name: &str| &s["workloads"][name];
    assert_eq!(w("users-standard")["requests"]["failed"], 72_526);
    let p99 = |name: &str| w(name)["latency_ms"]["p99"].as_f64().unwrap();
    assert!((p99("users-standard") - 28_442.6).abs() < 1.0);
    assert!((p99("users-unlimited") - 286.7).abs() < 0.5);
    assert!((p99("users-m5") - 290.0).abs() < 0.5);
    let usd = |name: &str| s["cost"]["components"][name]["usd"].as_f64().unwrap();
    assert!((usd("web-standard") - 0.0312).abs() < 1e-9);
    assert!((usd("web-unlimited") - 0.0824).abs() < 0.0005);
    assert!((usd("web-m5") - 0.288).abs() < 1e-9);
}
