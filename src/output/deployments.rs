//! `deployments.csv`: every step of every deployment (started, shifted to N %, hook passed or
//! failed, alarm state changes, rolled back, completed), in time order. Text fields go through
//! [`csv_text`] (a component named `=...` stays text in a spreadsheet).

use std::io;
use std::path::Path;

use serde_json::Value;

use crate::files::csv_text;
use crate::run::summary::Summary;

/// Column names, in order.
pub const COLUMNS: &[&str] = &[
    "time_s",
    "component",
    "step",
    "new_version_percent",
    "detail",
];

/// Every step of `deployment` with its time, in its order.
pub fn steps(deployment: &Value) -> impl Iterator<Item = (f64, &Value)> {
    deployment
        .get("steps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|s| (s.get("time_s").and_then(Value::as_f64).unwrap_or(0.0), s))
}

/// The CSV text of every deployment's steps, or `None` when the run has no deployment.
pub fn render(summary: &Summary) -> Option<String> {
    let deployments = summary.deployments.as_ref()?;
    let mut rows: Vec<(f64, &String, usize, &Value)> = Vec::new();
    for (name, d) in deployments {
        for (i, (time, step)) in steps(d).enumerate() {
            rows.push((time, name, i, step));
        }
    }
    // Stable order: by time, then by component name and the deployment's own order.
    rows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(b.1)).then(a.2.cmp(&b.2)));
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(COLUMNS).expect("in-memory write");
    for (time, name, _, step) in rows {
        let field = |k: &str| super::csv_field(step.get(k));
        writer
            .write_record([
                time.to_string(),
                csv_text(name).into_owned(),
                field("step"),
                field("new_version_percent"),
                field("detail"),
            ])
            .expect("in-memory write");
    }
    let bytes = writer.into_inner().expect("in-memory flush");
    Some(String::from_utf8(bytes).expect("CSV of UTF-8 fields"))
}

/// Writes `deployments.csv` into `dir` if the run has a deployment; returns whether it wrote
/// one.
pub fn write(summary: &Summary, dir: &Path) -> io::Result<bool> {
    super::write_if_any(dir, "deployments.csv", render(summary))
}

/// One line per deployment for the terminal summary: its outcome, duration and each
/// version's requests, errors and p99 during it.
pub fn lines(summary: &Summary) -> Vec<String> {
    let Some(deployments) = &summary.deployments else {
        return Vec::new();
    };
    deployments
        .iter()
        .map(|(name, d)| {
            let text = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("?");
            let duration = match d.get("duration_s").and_then(Value::as_f64) {
                Some(s) => format!("{s:.0} s"),
                None => "-".into(),
            };
            let version = |v: &str| {
                let f = |k: &str| d["versions"][v].get(k).and_then(Value::as_f64);
                let p99 = f("p99_ms").map_or("-".into(), |p| format!("{p:.2} ms"));
                format!(
                    "{v} {} requests, {} errors, p99 {p99}",
                    f("requests").unwrap_or(0.0),
                    f("errors").unwrap_or(0.0)
                )
            };
            let reason = match text("reason") {
                "" => String::new(),
                r => format!(" ({r})"),
            };
            // Kinds with instances: the least capacity in service against before.
            let dip = &d["capacity_dip"];
            let capacity = match (dip["least"].as_u64(), dip["before"].as_u64()) {
                (Some(least), Some(before)) => {
                    format!("; at least {least} of {before} instances in service")
                }
                _ => String::new(),
            };
            format!(
                "deployment of {name} ({}, at {:.0} s): {}{reason} after {duration}; {}; {}; \
                 {} cold starts{capacity}",
                text("type"),
                d.get("at_s").and_then(Value::as_f64).unwrap_or(0.0),
                text("outcome"),
                version("old"),
                version("new"),
                d.get("cold_starts_caused")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
            )
        })
        .collect()
}
