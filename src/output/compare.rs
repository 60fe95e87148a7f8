//! `awsim compare A.json B.json`: two summaries side by side.
//!
//! Figures are matched by their path in summary.json (`latency_ms.p99` of workload `shoppers`):
//! every number, flag and word of each workload and component, in A's order (then what only B
//! has), with B − A and (B − A) / A, then the bills (`cost`: total, per hour, per month, per
//! component, per million requests of each workload, what is not billed). Lists (per-instance
//! counts, scaling activities) are left out: they do not line up between two runs.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Map, Value};

/// A summary that cannot be compared.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct CompareError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Reads a summary.json file.
pub fn read_summary(path: &Path) -> Result<Value, CompareError> {
    let fail = |message: String| CompareError {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| fail(format!("not valid JSON: {e}")))?;
    let is_summary = ["workloads", "components"]
        .iter()
        .all(|k| v.get(k).is_some_and(Value::is_object));
    if !is_summary {
        return Err(fail(
            "not an awsim summary.json (no `workloads` and `components` objects)".into(),
        ));
    }
    Ok(v)
}

/// The side-by-side table of the summaries at `a` and `b`.
pub fn compare_files(a: &Path, b: &Path) -> Result<String, CompareError> {
    let (va, vb) = (read_summary(a)?, read_summary(b)?);
    Ok(compare(
        &va,
        &vb,
        &a.display().to_string(),
        &b.display().to_string(),
    ))
}

/// A figure's value: a number, or anything else as text.
#[derive(Clone, Debug, PartialEq)]
enum Leaf {
    /// A number; integers keep their exact value (seeds are 64-bit).
    Number(f64, Option<i128>),
    Text(String),
}

/// The leaves of an object, as (`path.with.dots`, value), in order; lists are skipped.
fn leaves(v: &Value, prefix: &str, out: &mut Vec<(String, Leaf)>) {
    let path = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                leaves(child, &path(k), out);
            }
        }
        Value::Number(n) => {
            let exact = n
                .as_i64()
                .map(i128::from)
                .or_else(|| n.as_u64().map(i128::from));
            out.push((
                prefix.to_string(),
                Leaf::Number(n.as_f64().unwrap_or(0.0), exact),
            ));
        }
        Value::Bool(b) => out.push((prefix.to_string(), Leaf::Text(b.to_string()))),
        Value::String(s) => out.push((prefix.to_string(), Leaf::Text(s.clone()))),
        Value::Null => out.push((prefix.to_string(), Leaf::Text("null".into()))),
        Value::Array(_) => {}
    }
}

/// A number as a person reads it: integers whole, others to 2 decimals or 4 significant
/// digits below 1.
pub fn show(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return format!("{x:.0}");
    }
    if x.abs() >= 1.0 {
        return format!("{x:.2}");
    }
    let digits = (3 - x.abs().log10().floor() as i32).clamp(1, 9) as usize;
    format!("{x:.digits$}")
}

fn row(path: &str, a: Option<&Leaf>, b: Option<&Leaf>) -> [String; 5] {
    let cell = |l: Option<&Leaf>| match l {
        Some(Leaf::Number(_, Some(i))) => i.to_string(),
        Some(Leaf::Number(x, None)) => show(*x),
        Some(Leaf::Text(s)) => s.clone(),
        None => "-".into(),
    };
    let (diff, rel) = match (a, b) {
        (Some(Leaf::Number(x, xi)), Some(Leaf::Number(y, yi))) => {
            let d = y - x;
            let diff = match (xi, yi) {
                (Some(a), Some(b)) if a == b => "0".to_string(),
                (Some(a), Some(b)) if b > a => format!("+{}", b - a),
                (Some(a), Some(b)) => (b - a).to_string(),
                _ if d == 0.0 => "0".to_string(),
                _ if d > 0.0 => format!("+{}", show(d)),
                _ => show(d),
            };
            let d = if diff == "0" { 0.0 } else { d };
            let rel = if d == 0.0 {
                String::new()
            } else if *x != 0.0 {
                format!("{:+.1}%", 100.0 * d / x.abs())
            } else {
                "new".into()
            };
            (diff, rel)
        }
        (Some(x), Some(y)) if x != y => ("differs".into(), String::new()),
        (Some(_), Some(_)) => (String::new(), String::new()),
        _ => ("only in one".into(), String::new()),
    };
    [format!("  {path}"), cell(a), cell(b), diff, rel]
}

/// Rows for the entries of `a` and `b` (both objects of named entries).
fn section(
    title: &str,
    a: Option<&Map<String, Value>>,
    b: Option<&Map<String, Value>>,
    rows: &mut Vec<[String; 5]>,
) {
    let empty = Map::new();
    let (a, b) = (a.unwrap_or(&empty), b.unwrap_or(&empty));
    let mut names: Vec<&String> = a.keys().collect();
    names.extend(b.keys().filter(|k| !a.contains_key(*k)));
    for name in names {
        let kind = a
            .get(name)
            .or_else(|| b.get(name))
            .and_then(|v| v.get("kind"))
            .and_then(Value::as_str)
            .map(|k| format!(" ({k})"))
            .unwrap_or_default();
        rows.push([
            format!("{title} {name}{kind}"),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]);
        let (mut la, mut lb) = (Vec::new(), Vec::new());
        if let Some(v) = a.get(name) {
            leaves(v, "", &mut la);
        }
        if let Some(v) = b.get(name) {
            leaves(v, "", &mut lb);
        }
        let mut paths: Vec<&String> = la.iter().map(|(p, _)| p).collect();
        paths.extend(
            lb.iter()
                .map(|(p, _)| p)
                .filter(|p| !la.iter().any(|(q, _)| q == *p)),
        );
        for path in paths {
            if path == "kind" {
                continue;
            }
            let find =
                |l: &Vec<(String, Leaf)>| l.iter().find(|(p, _)| p == path).map(|(_, v)| v.clone());
            rows.push(row(path, find(&la).as_ref(), find(&lb).as_ref()));
        }
    }
}

/// The bills side by side: the total for the window, per hour and per month, each component's
/// amount and each workload's cost per million requests (summary.json's `cost`).
fn cost_rows(a: Option<&Value>, b: Option<&Value>, rows: &mut Vec<[String; 5]>) {
    if a.is_none() && b.is_none() {
        return;
    }
    rows.push([
        "cost (USD)".into(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    ]);
    let leaf = |v: Option<&Value>, path: &str| {
        let mut out = Vec::new();
        if let Some(x) = v.and_then(|v| v.pointer(path)) {
            leaves(x, "", &mut out);
        }
        out.into_iter().next().map(|(_, l)| l)
    };
    let mut paths: Vec<(String, String)> = ["total_usd", "usd_per_hour", "usd_per_month"]
        .iter()
        .map(|k| (k.to_string(), format!("/{k}")))
        .collect();
    for (group, figure, label) in [
        ("components", "usd", "usd"),
        (
            "workloads",
            "usd_per_million_requests",
            "usd_per_million_requests",
        ),
    ] {
        let names = |v: Option<&Value>| -> Vec<String> {
            v.and_then(|v| v.get(group))
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default()
        };
        let mut all = names(a);
        all.extend(names(b).into_iter().filter(|n| !names(a).contains(n)));
        for name in all {
            // A name may hold `/` or `~`: JSON pointers escape them.
            let key = name.replace('~', "~0").replace('/', "~1");
            paths.push((
                format!("{name}.{label}"),
                format!("/{group}/{key}/{figure}"),
            ));
        }
    }
    for (label, path) in paths {
        rows.push(row(
            &label,
            leaf(a, &path).as_ref(),
            leaf(b, &path).as_ref(),
        ));
    }
    let not_billed = |v: Option<&Value>| {
        let names = v?.get("not_billed")?.as_array()?;
        let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
        Some(Leaf::Text(if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        }))
    };
    rows.push(row(
        "not_billed",
        not_billed(a).as_ref(),
        not_billed(b).as_ref(),
    ));
}

/// The side-by-side table of summaries `a` and `b` (named `a_name`, `b_name` in the header).
pub fn compare(a: &Value, b: &Value, a_name: &str, b_name: &str) -> String {
    let mut rows: Vec<[String; 5]> = vec![[
        "figure".into(),
        "A".into(),
        "B".into(),
        "B - A".into(),
        "(B - A)/A".into(),
    ]];
    rows.push([
        "run".into(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    ]);
    for key in [
        "scenario",
        "seed",
        "duration_s",
        "warmup_s",
        "interval_s",
        "events",
    ] {
        let mut la = Vec::new();
        let mut lb = Vec::new();
        if let Some(v) = a.get(key) {
            leaves(v, key, &mut la);
        }
        if let Some(v) = b.get(key) {
            leaves(v, key, &mut lb);
        }
        if key == "seed" {
            // A seed names a stream: its difference means nothing.
            for (_, l) in la.iter_mut().chain(lb.iter_mut()) {
                if let Leaf::Number(_, Some(i)) = l {
                    *l = Leaf::Text(i.to_string());
                }
            }
        }
        rows.push(row(
            key,
            la.first().map(|(_, l)| l),
            lb.first().map(|(_, l)| l),
        ));
    }
    let ok = |v: &Value| {
        v.pointer("/conservation/ok")
            .map(|o| Leaf::Text(o.to_string()))
    };
    rows.push(row("conservation.ok", ok(a).as_ref(), ok(b).as_ref()));
    section(
        "workload",
        a.get("workloads").and_then(Value::as_object),
        b.get("workloads").and_then(Value::as_object),
        &mut rows,
    );
    section(
        "component",
        a.get("components").and_then(Value::as_object),
        b.get("components").and_then(Value::as_object),
        &mut rows,
    );
    cost_rows(a.get("cost"), b.get("cost"), &mut rows);
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            rows.iter()
                .filter(|r| i > 0 || !r[1].is_empty() || !r[2].is_empty() || r[0] == "figure")
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = format!("A: {a_name}\nB: {b_name}\n");
    for r in &rows {
        if r[1..].iter().all(String::is_empty) {
            let _ = writeln!(out, "{}", r[0]);
            continue;
        }
        let line = format!(
            "{:<w0$}  {:>w1$}  {:>w2$}  {:>w3$}  {:>w4$}",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
            w4 = widths[4]
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_figures_by_path() {
        let a = json!({"scenario": "s", "seed": 1, "workloads": {"w": {"latency_ms": {"p99": 100.0}, "requests": {"created": 10}}},
                       "components": {"web": {"kind": "ec2_fleet", "utilisation": 0.5, "instance_requests": [1, 2]}}});
        let b = json!({"scenario": "s", "seed": 2, "workloads": {"w": {"latency_ms": {"p99": 150.0}, "requests": {"created": 10}}},
                       "components": {"web": {"kind": "ec2_fleet", "utilisation": 0.25}, "db": {"kind": "dynamodb", "reads": 3}}});
        let t = compare(&a, &b, "a.json", "b.json");
        assert!(t.contains("workload w\n"), "{t}");
        let p99 = t.lines().find(|l| l.contains("latency_ms.p99")).unwrap();
        assert!(
            p99.contains("100")
                && p99.contains("150")
                && p99.contains("+50")
                && p99.contains("+50.0%"),
            "{p99}"
        );
        let created = t.lines().find(|l| l.contains("requests.created")).unwrap();
        assert!(created.trim_end().ends_with(" 0"), "{created}");
        let util = t.lines().find(|l| l.contains("utilisation")).unwrap();
        assert!(
            util.contains("-0.2500") && util.contains("-50.0%"),
            "{util}"
        );
        assert!(t.contains("component db (dynamodb)"), "{t}");
        assert!(
            t.lines()
                .any(|l| l.contains("reads") && l.contains("only in one")),
            "{t}"
        );
        assert!(!t.contains("instance_requests"), "lists are left out: {t}");
        assert!(!t.contains("cost (USD)"), "no bill, no cost rows: {t}");
    }

    #[test]
    fn the_bills_are_compared_in_total_and_per_component() {
        let bill = |web: f64, per_hour: f64| {
            json!({"workloads": {}, "components": {}, "cost": {
                "total_usd": web, "usd_per_hour": per_hour, "usd_per_month": per_hour * 730.0,
                "workloads": {"w": {"requests": 10, "usd_per_million_requests": web * 1e5}},
                "components": {"web": {"kind": "asg", "usd": web}},
                "not_billed": ["alb"]}})
        };
        let t = compare(&bill(2.0, 4.0), &bill(3.0, 6.0), "a", "b");
        let line = |needle: &str| {
            t.lines()
                .find(|l| l.trim_start().starts_with(needle))
                .unwrap_or_else(|| panic!("no {needle}: {t}"))
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(t.contains("cost (USD)\n"), "{t}");
        assert_eq!(line("total_usd"), "total_usd 2 3 +1 +50.0%");
        assert_eq!(line("usd_per_hour"), "usd_per_hour 4 6 +2 +50.0%");
        assert_eq!(
            line("usd_per_month"),
            "usd_per_month 2920 4380 +1460 +50.0%"
        );
        assert_eq!(line("web.usd"), "web.usd 2 3 +1 +50.0%");
        assert_eq!(
            line("w.usd_per_million_requests"),
            "w.usd_per_million_requests 200000 300000 +100000 +50.0%"
        );
        assert_eq!(line("not_billed"), "not_billed alb alb");
    }

    #[test]
    fn shows_numbers_readably() {
        assert_eq!(show(42.0), "42");
        assert_eq!(show(42.387), "42.39");
        assert_eq!(show(0.59912), "0.5991");
        assert_eq!(show(0.0012346), "0.001235");
        assert_eq!(show(-0.25), "-0.2500");
    }
}
