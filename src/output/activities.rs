//! `scaling_activities.csv`: every scaling activity of every Auto Scaling Group, in time order.
//! Text fields go through [`csv_text`] (a policy named `=...` stays text in a spreadsheet).

use std::io;
use std::path::Path;

use serde_json::Value;

use crate::files::csv_text;
use crate::run::summary::Summary;

/// Column names, in order.
pub const COLUMNS: &[&str] = &[
    "time_s",
    "group",
    "activity",
    "desired_from",
    "desired_to",
    "reason",
];

/// The CSV text of every group's activities, or `None` when the scenario has no group.
pub fn render(summary: &Summary) -> Option<String> {
    let mut rows: Vec<(f64, usize, String, &Value)> = Vec::new();
    let mut any_group = false;
    for (name, component) in &summary.components {
        let Some(list) = component
            .get(crate::components::outputs::SCALING_ACTIVITIES)
            .and_then(Value::as_array)
        else {
            continue;
        };
        any_group = true;
        for (i, a) in list.iter().enumerate() {
            let time = a.get("time_s").and_then(Value::as_f64).unwrap_or(0.0);
            rows.push((time, i, name.clone(), a));
        }
    }
    if !any_group {
        return None;
    }
    // Stable order: by time, then by group name and the group's own order.
    rows.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)).then(a.1.cmp(&b.1)));
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(COLUMNS).expect("in-memory write");
    for (time, _, group, a) in rows {
        let field = |k: &str| super::csv_field(a.get(k));
        writer
            .write_record([
                time.to_string(),
                csv_text(&group).into_owned(),
                field("activity"),
                field("desired_from"),
                field("desired_to"),
                field("reason"),
            ])
            .expect("in-memory write");
    }
    let bytes = writer.into_inner().expect("in-memory flush");
    Some(String::from_utf8(bytes).expect("CSV of UTF-8 fields"))
}

/// Writes `scaling_activities.csv` into `dir` if the scenario has a group; returns whether it
/// wrote one.
pub fn write(summary: &Summary, dir: &Path) -> io::Result<bool> {
    super::write_if_any(dir, "scaling_activities.csv", render(summary))
}
