//! RDS Multi-AZ failover and Single-AZ outages (issue 19): the window exact with evenly spaced
//! arrivals, an AZ outage of the primary's AZ, conservation, determinism, and bad input.

use std::path::Path;

use crate::common::{n, summary_of};
use awsim::scenario::Scenario;
use serde_json::Value;

/// Ten requests a second, evenly spaced, 1 ms queries, into `db` (its extra keys), with
/// `rest` after (faults, a region).
fn scenario(arrival: &str, db: &str, rest: &str) -> String {
    format!(
        r#"
[simulation]
duration = "5m"

[[workload]]
name = "clients"
target = "db"
arrival = {arrival}

[[component]]
name = "db"
kind = "rds"
instance_class = "db.m5.large"
query_cpu = {{ default = "1ms" }}
{db}
{rest}
"#
    )
}

const EVERY_100MS: &str = r#"{ process = "constant", rate = "10/s" }"#;

const CRASH_AT_60S: &str = r#"
[[fault]]
kind = "instance_failure"
component = "db"
times = ["60s"]
"#;

#[test]
fn a_multi_az_failover_fails_exactly_the_requests_of_its_window() {
    // The primary crashes at 60 s; for 30 s every request fails at once, then the standby
    // serves: 10/s × 30 s = 300 errors (±1 for an arrival on either edge).
    let s = summary_of(
        &scenario(
            EVERY_100MS,
            "multi_az = true\nfailover_time = \"30s\"",
            CRASH_AT_60S,
        ),
        1,
    );
    let db = &s["components"]["db"];
    assert_eq!(n(db, &["failovers"]), 1.0, "{db}");
    assert_eq!(n(db, &["outages"]), 0.0);
    assert_eq!(n(db, &["failover_time_s"]), 30.0);
    assert_eq!(n(db, &["unavailable_s"]), 30.0);
    let errors = n(db, &["errors_during_failover"]);
    assert!((errors - 300.0).abs() <= 1.0, "{errors}");
    // Every failure of the run is the failover's, and the clients saw each of them.
    assert_eq!(n(db, &["requests", "failed"]), errors);
    assert_eq!(
        n(&s["workloads"]["clients"], &["requests", "failed"]),
        errors
    );
    let created = n(db, &["requests", "created"]);
    assert_eq!(n(db, &["requests", "completed"]) + errors, created);
    assert_eq!(db["multi_az"], Value::Bool(true));
}

#[test]
fn the_default_window_is_90_seconds() {
    let s = summary_of(&scenario(EVERY_100MS, "multi_az = true", CRASH_AT_60S), 1);
    let db = &s["components"]["db"];
    assert_eq!(n(db, &["failover_time_s"]), 90.0);
    assert_eq!(n(db, &["unavailable_s"]), 90.0);
    assert!((n(db, &["errors_during_failover"]) - 900.0).abs() <= 1.0);
}

#[test]
fn without_a_standby_an_instance_failure_takes_the_recovery_time() {
    let s = summary_of(
        &scenario(EVERY_100MS, "recovery_time = \"2m\"", CRASH_AT_60S),
        1,
    );
    let db = &s["components"]["db"];
    assert_eq!(n(db, &["failovers"]), 0.0, "{db}");
    assert_eq!(n(db, &["outages"]), 1.0);
    assert_eq!(n(db, &["unavailable_s"]), 120.0);
    assert!((n(db, &["errors_during_failover"]) - 1200.0).abs() <= 1.0);
    assert!(db.get("failover_time_s").is_none());
    assert_eq!(db["multi_az"], Value::Bool(false));
}

#[test]
fn queries_in_flight_at_the_failure_fail_and_their_connections_are_dropped() {
    // Connections held 10 s, one request every 100 ms: 100 are held when the primary crashes
    // at 60 s; they fail with the 300 that arrive during the 30 s window.
    let s = summary_of(
        &scenario(
            EVERY_100MS,
            "multi_az = true\nfailover_time = \"30s\"\nclient_hold = \"10s\"",
            CRASH_AT_60S,
        ),
        1,
    );
    let db = &s["components"]["db"];
    let errors = n(db, &["errors_during_failover"]);
    assert!((errors - 400.0).abs() <= 2.0, "{errors}");
    assert_eq!(n(db, &["requests", "failed"]), errors);
}

const REGION: &str = r#"
[region]
azs = ["a", "b"]
"#;

fn az_outage(az: &str, at: &str, duration: &str) -> String {
    format!(
        "[[fault]]\nkind = \"az_outage\"\naz = \"{az}\"\nat = \"{at}\"\nduration = \"{duration}\"\n"
    )
}

#[test]
fn an_outage_of_the_primary_s_az_fails_over_to_the_other_az() {
    let rest = format!("{REGION}{}", az_outage("a", "60s", "2m"));
    let s = summary_of(
        &scenario(
            EVERY_100MS,
            "multi_az = true\nfailover_time = \"30s\"\nazs = [\"a\", \"b\"]",
            &rest,
        ),
        1,
    );
    let db = &s["components"]["db"];
    assert_eq!(n(db, &["failovers"]), 1.0, "{db}");
    assert_eq!(n(db, &["unavailable_s"]), 30.0);
    assert!((n(db, &["errors_during_failover"]) - 300.0).abs() <= 1.0);
    assert_eq!(db["primary_az"], "b");
    // The AZ's return moves nothing back: the primary stays in b.
}

#[test]
fn a_single_az_instance_is_down_for_its_az_s_whole_outage() {
    let rest = format!("{REGION}{}", az_outage("a", "60s", "2m"));
    let s = summary_of(&scenario(EVERY_100MS, "azs = [\"a\"]", &rest), 1);
    let db = &s["components"]["db"];
    assert_eq!(n(db, &["outages"]), 1.0, "{db}");
    assert_eq!(n(db, &["unavailable_s"]), 120.0);
    assert!((n(db, &["errors_during_failover"]) - 1200.0).abs() <= 1.0);
    assert_eq!(db["primary_az"], "a");
}

#[test]
fn an_outage_of_the_standby_s_az_costs_nothing_but_leaves_no_standby() {
    // The standby's AZ (b) is out from 30 s to 4 m; the primary crashes at 60 s with no
    // standby to take over, so it recovers in place (20 s).
    let rest = format!("{REGION}{}{CRASH_AT_60S}", az_outage("b", "30s", "210s"));
    let s = summary_of(
        &scenario(
            EVERY_100MS,
            "multi_az = true\nrecovery_time = \"20s\"\nazs = [\"a\", \"b\"]",
            &rest,
        ),
        1,
    );
    let db = &s["components"]["db"];
    assert_eq!(n(db, &["failovers"]), 0.0, "{db}");
    assert_eq!(n(db, &["outages"]), 1.0);
    assert_eq!(n(db, &["unavailable_s"]), 20.0);
    assert!((n(db, &["errors_during_failover"]) - 200.0).abs() <= 1.0);
    assert_eq!(db["primary_az"], "a");
}

#[test]
fn failovers_under_random_load_conserve_requests_and_repeat_exactly() {
    // Poisson arrivals with replicas and a client hold, crashes at random: every request is
    // answered once, and the same seed gives the same summary.
    let text = scenario(
        r#"{ process = "poisson", rate = "200/s" }"#,
        "multi_az = true\nfailover_time = \"5s\"\nread_replicas = 2\n\
         client_hold = { dist = \"exponential\", mean = \"50ms\" }\nmax_connections = 20\n\
         no_free_connection = \"wait\"\npool_timeout = \"2s\"",
        "[[fault]]\nkind = \"instance_failure\"\ncomponent = \"db\"\nrate = \"1/m\"\n",
    )
    .replace("target = \"db\"\n", "target = \"db\"\nop = \"write\"\n");
    let a = summary_of(&text, 7);
    let b = summary_of(&text, 7);
    assert_eq!(a, b);
    let db = &a["components"]["db"];
    assert!(n(db, &["failovers"]) >= 2.0, "{db}");
    let r = &db["requests"];
    assert_eq!(
        n(r, &["created"]),
        n(r, &["completed"])
            + n(r, &["failed"])
            + n(r, &["timed_out"])
            + n(r, &["throttled"])
            + n(r, &["in_flight"])
    );
    assert_eq!(
        n(db, &["unavailable_s"]),
        5.0 * n(db, &["failovers"]),
        "each failover is one whole window"
    );
    let c = summary_of(&text, 8);
    assert_ne!(a, c, "another seed, other crash times");
}

/// The error text for `text`, which must be refused.
fn error_of(text: &str) -> String {
    match Scenario::parse(text, Path::new("case.toml")) {
        Ok(_) => panic!("accepted a bad scenario:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_failover_settings_are_refused_with_their_place() {
    // The db's extra keys start on line 15.
    let m = error_of(&scenario(
        EVERY_100MS,
        "multi_az = true\nfailover_time = \"2h\"",
        "",
    ));
    assert!(
        m.contains("case.toml:16:")
            && m.contains("failover_time")
            && m.contains("between 1s and 1h"),
        "{m}"
    );
    let m = error_of(&scenario(
        EVERY_100MS,
        "multi_az = true\nfailover_time = \"500ms\"",
        "",
    ));
    assert!(
        m.contains("case.toml:16:") && m.contains("between 1s"),
        "{m}"
    );
    let m = error_of(&scenario(EVERY_100MS, "failover_time = \"60s\"", ""));
    assert!(
        m.contains("case.toml:15:") && m.contains("add multi_az = true"),
        "{m}"
    );
    let m = error_of(&scenario(EVERY_100MS, "recovery_time = \"25h\"", ""));
    assert!(
        m.contains("case.toml:15:") && m.contains("recovery_time"),
        "{m}"
    );
    let m = error_of(&scenario(EVERY_100MS, "multi_az = \"yes\"", ""));
    assert!(m.contains("case.toml:15:") && m.contains("multi_az"), "{m}");
    let m = error_of(&scenario(
        EVERY_100MS,
        "multi_az = true\nazs = [\"a\", \"a\"]",
        REGION,
    ));
    assert!(
        m.contains("case.toml:16:") && m.contains("another availability zone"),
        "{m}"
    );
    let m = error_of(&scenario(EVERY_100MS, "azs = [\"a\", \"b\"]", REGION));
    assert!(
        m.contains("case.toml:15:") && m.contains("one availability zone"),
        "{m}"
    );
    let m = error_of(&scenario(
        EVERY_100MS,
        "multi_az = true\nazs = [\"a\", \"c\"]",
        REGION,
    ));
    assert!(
        m.contains("case.toml:16:") && m.contains("unknown availability zone `c`"),
        "{m}"
    );
}
