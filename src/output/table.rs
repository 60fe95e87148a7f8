//! The short human-readable table a run prints on stdout.

use std::fmt::Write;

use serde_json::Value;

use super::render::duration_text;
use crate::metrics::cost::amount;
use crate::run::summary::Summary;

fn num(v: &Value, path: &[&str]) -> f64 {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(next) => cur = next,
            None => return 0.0,
        }
    }
    cur.as_f64().unwrap_or(0.0)
}

fn row(out: &mut String, name: &str, kind: &str, v: &Value) {
    let count = |k: &str| num(v, &["requests", k]) as u64;
    let lat = |k: &str| num(v, &["latency_ms", k]);
    let _ = writeln!(
        out,
        "{name:<18} {kind:<10} {:>10} {:>10} {:>8} {:>9} {:>9} {:>9} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
        count("created"),
        count("completed"),
        count("failed"),
        count("throttled"),
        count("timed_out"),
        count("in_flight"),
        lat("mean"),
        lat("p50"),
        lat("p90"),
        lat("p99"),
        lat("max"),
    );
}

/// The bill in a few lines: the total for the window and its rates, each billed component's
/// amount, the cost per million requests of each workload and what is not billed.
fn cost_lines(out: &mut String, summary: &Summary) {
    let cost = &summary.cost;
    let rates = match (cost.usd_per_hour, cost.usd_per_month) {
        (Some(h), Some(m)) => format!(" = {}/h, {}/month", amount(h), amount(m)),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "cost: {} for the {} window{rates} ({} list prices)",
        amount(cost.total_usd),
        duration_text(cost.window_h * 3600.0),
        cost.region
    );
    let parts: Vec<String> = cost
        .components
        .iter()
        .map(|(name, bill)| format!("{name} {}", amount(num(bill, &["usd"]))))
        .collect();
    if !parts.is_empty() {
        let _ = writeln!(out, "  {}", parts.join(", "));
    }
    let per_million: Vec<String> = cost
        .workloads
        .iter()
        .filter_map(|(name, w)| {
            let usd = w.get("usd_per_million_requests")?.as_f64()?;
            Some(format!("{name} {}", amount(usd)))
        })
        .collect();
    if !per_million.is_empty() && !cost.components.is_empty() {
        let _ = writeln!(out, "  per million requests: {}", per_million.join(", "));
    }
    if !cost.not_billed.is_empty() {
        let _ = writeln!(out, "  not billed: {}", cost.not_billed.join(", "));
    }
}

/// Renders the summary as a table: one line per workload and component.
pub fn render(summary: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<18} {:<10} {:>10} {:>10} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "name",
        "kind",
        "requests",
        "ok",
        "failed",
        "throttled",
        "timed_out",
        "in_flight",
        "mean_ms",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "max_ms"
    );
    for (name, v) in &summary.workloads {
        row(&mut out, name, "workload", v);
    }
    for (name, v) in &summary.components {
        let kind = v.get("kind").and_then(Value::as_str).unwrap_or("?");
        row(&mut out, name, kind, v);
    }
    for (name, v) in &summary.workloads {
        let failed = |k: &str| num(v, &["latency_failed_ms", k]);
        if failed("count") > 0.0 {
            let _ = writeln!(
                out,
                "  {name}: {} bad answers (failed, throttled, timed out) came after mean {:.2} \
                 ms, p50 {:.2}, p99 {:.2}, max {:.2}",
                failed("count"),
                failed("mean"),
                failed("p50"),
                failed("p99"),
                failed("max")
            );
        }
    }
    for (name, v) in &summary.workloads {
        if let Some(trace) = v.get("trace") {
            let n = |k: &str| trace.get(k).and_then(Value::as_u64).unwrap_or(0);
            let mut note = format!("  {name}: trace of {} rows per pass", n("rows"));
            if n("rows_outside_window") > 0 {
                let _ = write!(note, ", {} outside the window", n("rows_outside_window"));
            }
            if n("rows_skipped") > 0 {
                let _ = write!(note, ", {} bad rows SKIPPED", n("rows_skipped"));
            }
            let _ = writeln!(out, "{note}");
        }
    }
    for (name, v) in &summary.components {
        let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
        let notes = crate::components::kind_outputs(kind).map_or_else(Vec::new, |k| (k.notes)(v));
        if !notes.is_empty() {
            let _ = writeln!(out, "  {name}: {}", notes.join(", "));
        }
    }
    for f in summary
        .faults
        .iter()
        .flat_map(|f| f.as_array().into_iter().flatten())
    {
        let text = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
        let during = |k: &str| num(f, &["during", k]);
        let recovery = match f.get("recovery_s").and_then(Value::as_f64) {
            Some(r) => format!("recovered after {r:.0} s"),
            None => "not recovered by the end of the run".into(),
        };
        let _ = writeln!(
            out,
            "fault {} ({}, {:.0}-{:.0} s): {} requests sent, {:.2}% errors, p99 {:.2} ms \
             (before: {:.2}% errors, p99 {:.2} ms); {recovery}",
            text("name"),
            text("subject"),
            num(f, &["start_s"]),
            num(f, &["end_s"]),
            during("requests") as u64,
            during("error_rate") * 100.0,
            during("p99_ms"),
            num(f, &["baseline", "error_rate"]) * 100.0,
            num(f, &["baseline", "p99_ms"]),
        );
    }
    for line in super::deployments::lines(summary) {
        let _ = writeln!(out, "{line}");
    }
    cost_lines(&mut out, summary);
    let c = &summary.conservation;
    let _ = writeln!(
        out,
        "conservation: {} ({} components checked)",
        if c.ok { "ok" } else { "VIOLATED" },
        c.checked
    );
    out
}
