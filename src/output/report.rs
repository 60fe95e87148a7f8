//! `report.html`: one self-contained page per run, to read in any browser, offline. It holds
//! the warnings first (conservation, saturation, a backlog still growing at the end, failed and
//! throttled shares), then the summary tables per workload and component, every plot (SVG
//! inlined; a PNG without its SVG as a `data:` URI), the scaling activities and the scenario's
//! text. Nothing is fetched: no script, no stylesheet, no image from elsewhere. The same run
//! gives the same bytes (no clock, no absolute path).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::plots::{MAX_COMPONENTS_DRAWN, Plots};
use super::render::{duration_text, tick};
use crate::components::kind_outputs;
use crate::metrics::cost::{amount, dollars};
use crate::metrics::finding::{
    Finding, Growth, SATURATED_UTILISATION, Severity, fixed, group, percent, whole,
};
use crate::metrics::series::Rows;
use crate::run::summary::Summary;
use crate::scenario::Scenario;

/// Share of failed, throttled, timed-out or dropped requests from which a warning (rather than
/// a note) is raised.
pub const FAILURE_SHARE_WARNING: f64 = 0.01;

/// Writes `dir/report.html`: one self-contained file (plots inlined, no external assets, opens
/// offline) with the scenario text, the summary table per workload and component, all plots,
/// scaling activities (from `dir/scaling_activities.csv` if present) and warnings. `plots` are
/// the files [`super::plots::write_run_plots`] returned; returns the report's path.
pub fn write_report(
    dir: &Path,
    scenario: &Scenario,
    summary: &Summary,
    plots: &Plots,
) -> io::Result<PathBuf> {
    let html = render(dir, scenario, summary, plots)?;
    let path = dir.join("report.html");
    super::write_atomic(&path, html.as_bytes())?;
    Ok(path)
}

/// The page's HTML.
pub fn render(
    dir: &Path,
    scenario: &Scenario,
    summary: &Summary,
    plots: &Plots,
) -> io::Result<String> {
    let series_path = dir.join("timeseries.csv");
    let series = if series_path.exists() {
        Some(series_facts(&series_path, summary)?)
    } else {
        None
    };
    let findings = findings(summary, series.as_ref());
    let activities = read_activities(&dir.join("scaling_activities.csv"))?;

    let mut h = String::new();
    let title = format!("awsim report: {}", summary.scenario);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(h, "<title>{}</title>", esc(&title));
    let _ = writeln!(h, "<style>\n{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(h, "<h1>{}</h1>", esc(&title));
    let file = scenario
        .file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let _ = writeln!(
        h,
        "<p class=\"meta\">Scenario file <code>{}</code> · seed {} · duration {} · warm-up {} \
         (excluded from statistics, shaded in the plots) · interval {} · {} events · \
         conservation {}</p>",
        esc(&file),
        summary.seed,
        esc(&duration_text(summary.duration_s)),
        esc(&duration_text(summary.warmup_s)),
        esc(&duration_text(summary.interval_s)),
        group(summary.events),
        if summary.conservation.ok {
            "<span class=\"ok\">ok</span>"
        } else {
            "<span class=\"bad\">VIOLATED</span>"
        }
    );
    h.push_str("<nav><a href=\"#warnings\">Warnings</a> · <a href=\"#summary\">Summary</a> · ");
    h.push_str("<a href=\"#cost\">Cost</a> · <a href=\"#plots\">Plots</a> · ");
    if activities.is_some() {
        h.push_str("<a href=\"#activities\">Scaling activities</a> · ");
    }
    if summary.deployments.is_some() {
        h.push_str("<a href=\"#deployments\">Deployments</a> · ");
    }
    h.push_str("<a href=\"#scenario\">Scenario</a></nav>\n");

    warnings_section(&mut h, &findings);
    summary_section(&mut h, summary);
    faults_section(&mut h, summary);
    cost_section(&mut h, summary, plots)?;
    plots_section(&mut h, plots)?;
    if let Some(rows) = &activities {
        activities_section(&mut h, rows);
    }
    deployments_section(&mut h, summary);
    h.push_str("<h2 id=\"scenario\">Scenario</h2>\n");
    let _ = writeln!(h, "<pre class=\"scenario\">{}</pre>", esc(&scenario.text));
    let _ = writeln!(
        h,
        "<footer>Written by awsim {}.</footer>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION")
    );
    Ok(h)
}

const STYLE: &str = "\
body { font-family: sans-serif; margin: 1.5em auto; max-width: 1200px; padding: 0 1em; \
color: #1e1e1e; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
.meta { color: #444; }
nav { margin: 0.8em 0; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #d4d4d4; padding: 0.25em 0.55em; }
th { background: #f2f2f2; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; }
ul.findings { padding-left: 0; list-style: none; }
ul.findings li { margin: 0.3em 0; padding: 0.35em 0.6em; border-left: 4px solid; }
ul.findings li.warning { border-color: #d55e00; background: #fdf0e8; }
ul.findings li.note { border-color: #0072b2; background: #eaf3f9; }
.ok { color: #007a52; font-weight: bold; }
.bad { color: #d55e00; font-weight: bold; }
figure.plot { margin: 1em 0 2em; }
figure.plot svg, figure.plot img { max-width: 100%; height: auto; display: block; }
figcaption { color: #555; font-size: 0.85em; }
details { margin: 0.3em 0; }
summary { cursor: pointer; }
pre.scenario { background: #f7f7f7; border: 1px solid #ddd; padding: 0.8em; overflow-x: auto; \
font-size: 0.85em; }
footer { margin-top: 2em; color: #777; font-size: 0.8em; }
";

fn warnings_section(h: &mut String, findings: &[Finding]) {
    h.push_str("<h2 id=\"warnings\">Warnings</h2>\n");
    if findings.is_empty() {
        h.push_str(
            "<p>None: conservation holds, no fleet is saturated, no backlog was still growing \
             at the end, and no request failed or was throttled.</p>\n",
        );
        return;
    }
    h.push_str("<ul class=\"findings\">\n");
    for f in findings {
        let (class, word) = match f.severity {
            Severity::Warning => ("warning", "Warning"),
            Severity::Note => ("note", "Note"),
        };
        let subject = if f.subject.is_empty() {
            String::new()
        } else {
            format!(" <code>{}</code>:", esc(&f.subject))
        };
        let _ = writeln!(
            h,
            "<li class=\"{class}\"><strong>{word}</strong>{subject} {}</li>",
            esc(&f.text)
        );
    }
    h.push_str("</ul>\n");
}

const COUNTS: &[(&str, &str)] = &[
    ("created", "requests"),
    ("completed", "ok"),
    ("failed", "failed"),
    ("throttled", "throttled"),
    ("timed_out", "timed out"),
    ("dropped", "dropped"),
    ("in_flight", "in flight"),
];
const LATENCY: &[&str] = &["mean", "p50", "p90", "p99", "p999", "max"];

fn summary_section(h: &mut String, summary: &Summary) {
    h.push_str("<h2 id=\"summary\">Summary</h2>\n");
    let _ = writeln!(
        h,
        "<p>Requests that arrived after the warm-up, whenever they ended. Latency percentiles \
         are of successful requests only (ms): read them with the failed and timed-out \
         counts, and with how long the bad answers took (below the table, when there were \
         any).</p>"
    );
    h.push_str("<h3>Workloads (end to end)</h3>\n<div class=\"scroll\"><table>\n<tr>");
    h.push_str("<th>workload</th><th>target</th>");
    for (_, label) in COUNTS {
        let _ = write!(h, "<th>{label}</th>");
    }
    h.push_str("<th>throughput /s</th>");
    for l in LATENCY {
        let _ = write!(h, "<th>{l} ms</th>");
    }
    h.push_str("</tr>\n");
    for (name, w) in &summary.workloads {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td>",
            esc(name),
            esc(w.get("target").and_then(Value::as_str).unwrap_or(""))
        );
        counts_cells(h, w);
        let _ = write!(
            h,
            "<td class=\"n\">{}</td>",
            number(w.get("throughput_per_s"))
        );
        latency_cells(h, w, "latency_ms");
        h.push_str("</tr>\n");
    }
    h.push_str("</table></div>\n");
    failed_latency_table(h, summary);

    h.push_str("<h3>Components</h3>\n<div class=\"scroll\"><table>\n<tr>");
    h.push_str("<th>component</th><th>kind</th>");
    for (_, label) in COUNTS {
        let _ = write!(h, "<th>{label}</th>");
    }
    for l in LATENCY {
        let _ = write!(h, "<th>{l} ms</th>");
    }
    h.push_str("</tr>\n");
    for (name, c) in &summary.components {
        let _ = write!(h, "<tr><td>{}</td><td>{}</td>", esc(name), esc(kind(c)));
        counts_cells(h, c);
        latency_cells(h, c, "latency_ms");
        h.push_str("</tr>\n");
    }
    h.push_str("</table></div>\n");
    h.push_str(
        "<p>Latency of a component is the time spent inside it. Each component's model \
         figures (as in <code>summary.json</code>):</p>\n",
    );
    for (name, c) in &summary.components {
        let _ = write!(
            h,
            "<details><summary><code>{}</code> ({})</summary>\n<table>\n",
            esc(name),
            esc(kind(c))
        );
        if let Value::Object(map) = c {
            for (key, value) in map {
                if matches!(key.as_str(), "kind" | "requests" | "latency_ms") {
                    continue;
                }
                let _ = writeln!(
                    h,
                    "<tr><th>{}</th><td>{}</td></tr>",
                    esc(key),
                    esc(&figure_text(key, value))
                );
            }
        }
        h.push_str("</table></details>\n");
    }
}

/// One row per `[[fault]]`: its window, what users saw during it, and the time to recover.
fn faults_section(h: &mut String, summary: &Summary) {
    let Some(faults) = summary.faults.as_ref().and_then(Value::as_array) else {
        return;
    };
    h.push_str(
        "<h3>Faults</h3>
",
    );
    h.push_str(
        "<p>Requests sent while each fault was active (end to end), against the 60 s before \
         it. Recovered: from the fault's start to the first of six 10 s buckets in a row whose \
         requests saw the baseline error rate (+1 point) and p99 (×1.5).</p>\n",
    );
    h.push_str("<div class=\"scroll\"><table>\n<tr><th>fault</th><th>kind</th><th>on</th>");
    h.push_str("<th>from s</th><th>to s</th><th>requests</th><th>error rate</th>");
    h.push_str("<th>p99 ms</th><th>baseline error rate</th><th>baseline p99 ms</th>");
    h.push_str("<th>recovered after s</th></tr>\n");
    let text = |f: &Value, k: &str| esc(f.get(k).and_then(Value::as_str).unwrap_or(""));
    for f in faults {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            text(f, "name"),
            text(f, "kind"),
            text(f, "subject"),
            number(f.get("start_s")),
            number(f.get("end_s")),
            number(f.get("during").and_then(|d| d.get("requests"))),
            percent(figure(&f["during"], "error_rate").unwrap_or(0.0)),
            number(f.get("during").and_then(|d| d.get("p99_ms"))),
            percent(figure(&f["baseline"], "error_rate").unwrap_or(0.0)),
            number(f.get("baseline").and_then(|d| d.get("p99_ms"))),
            match f.get("recovery_s").and_then(Value::as_f64) {
                Some(r) => fixed(r, 0),
                None => "not by the end".into(),
            },
        );
    }
    h.push_str("</table></div>\n");
}

fn counts_cells(h: &mut String, v: &Value) {
    for (key, _) in COUNTS {
        let _ = write!(
            h,
            "<td class=\"n\">{}</td>",
            number(v.get("requests").and_then(|r| r.get(*key)))
        );
    }
}

/// The workloads' latency of bad answers (failed, throttled, timed out), when any had one:
/// a timeout a user waited for is part of what they felt.
fn failed_latency_table(h: &mut String, summary: &Summary) {
    let count = |w: &Value| {
        w.get("latency_failed_ms")
            .and_then(|l| l.get("count"))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    if summary.workloads.values().all(|w| count(w) == 0) {
        return;
    }
    h.push_str(
        "<p>How long the requests that got a bad answer (failed, throttled or timed out) \
         waited for it (ms, <code>latency_failed_ms</code>):</p>\n",
    );
    h.push_str("<div class=\"scroll\"><table>\n<tr><th>workload</th><th>bad answers</th>");
    for l in LATENCY {
        let _ = write!(h, "<th>{l} ms</th>");
    }
    h.push_str("</tr>\n");
    for (name, w) in &summary.workloads {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td>",
            esc(name),
            count(w)
        );
        latency_cells(h, w, "latency_failed_ms");
        h.push_str("</tr>\n");
    }
    h.push_str("</table></div>\n");
}

/// The cells of latency summary `field` of `v`: dashes when it counted nothing.
fn latency_cells(h: &mut String, v: &Value, field: &str) {
    let count = v
        .get(field)
        .and_then(|l| l.get("count"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    for key in LATENCY {
        let cell = if count == 0 {
            "–".to_string()
        } else {
            number(v.get(field).and_then(|l| l.get(*key)))
        };
        let _ = write!(h, "<td class=\"n\">{cell}</td>");
    }
}

fn kind(v: &Value) -> &str {
    v.get("kind").and_then(Value::as_str).unwrap_or("")
}

/// A model figure as text: numbers formatted, lists joined, percentile tables on one line.
fn figure_text(key: &str, value: &Value) -> String {
    match value {
        Value::Array(items) if key == crate::components::outputs::SCALING_ACTIVITIES => {
            format!("{} (listed under Scaling activities)", items.len())
        }
        Value::Array(items) => {
            let shown: Vec<String> = items.iter().take(64).map(|v| figure_text("", v)).collect();
            let more = if items.len() > 64 {
                format!(" … ({} in all)", items.len())
            } else {
                String::new()
            };
            format!("{}{more}", shown.join(", "))
        }
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k} {}", figure_text(k, v)))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Number(_) => number(Some(value)),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "–".into(),
    }
}

/// The stem of the stacked spend-rate plot, which the cost section shows.
const COST_PLOT: &str = "cost";

/// The bill: each billed component's charges with their arithmetic, the totals and rates,
/// each workload's cost per million requests, what is not billed, and the spend-rate plot.
fn cost_section(h: &mut String, summary: &Summary, plots: &Plots) -> io::Result<()> {
    let cost = &summary.cost;
    h.push_str("<h2 id=\"cost\">Cost</h2>\n");
    let rates = match (cost.usd_per_hour, cost.usd_per_month) {
        (Some(per_h), Some(per_month)) => format!(
            ": <strong>{}</strong> per hour, <strong>{}</strong> per month of 730 hours at \
             that rate",
            esc(&amount(per_h)),
            esc(&amount(per_month))
        ),
        _ => String::new(),
    };
    let _ = writeln!(
        h,
        "<p>The AWS bill of the measured window ({}, after the warm-up) at {} list prices \
         (<code>models/prices.toml</code>): <strong>{}</strong>{rates}. Free tier, taxes, \
         support plans and upfront payments are left out.</p>",
        esc(&duration_text(cost.window_h * 3600.0)),
        esc(&cost.region),
        esc(&amount(cost.total_usd)),
    );
    if !cost.components.is_empty() {
        h.push_str(
            "<div class=\"scroll\"><table>\n<tr><th>component</th><th>kind</th><th>usage</th>\
             <th>price</th><th>amount</th><th>basis</th></tr>\n",
        );
        for (name, bill) in &cost.components {
            let charges = bill
                .get("charges")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            for (i, c) in charges.iter().enumerate() {
                let first = if i == 0 {
                    format!(
                        "<td rowspan=\"{}\">{}</td><td rowspan=\"{}\">{}</td>",
                        charges.len(),
                        esc(name),
                        charges.len(),
                        esc(kind(bill))
                    )
                } else {
                    String::new()
                };
                let unit = c.get("unit").and_then(Value::as_str).unwrap_or("");
                let _ = writeln!(
                    h,
                    "<tr>{first}<td class=\"n\">{} {}</td><td class=\"n\">{}</td>\
                     <td class=\"n\">{}</td><td>{}</td></tr>",
                    esc(&figure_of(c, "usage")),
                    esc(unit),
                    esc(&dollars(figure(c, "usd_per_unit").unwrap_or(0.0))),
                    esc(&amount(figure(c, "usd").unwrap_or(0.0))),
                    esc(c.get("basis").and_then(Value::as_str).unwrap_or(""))
                );
            }
        }
        let _ = writeln!(
            h,
            "<tr><th colspan=\"4\">total</th><th class=\"n\">{}</th><th></th></tr>\n\
             </table></div>",
            esc(&amount(cost.total_usd))
        );
    }
    let per_million: Vec<String> = cost
        .workloads
        .iter()
        .map(|(name, w)| {
            let usd = w
                .get("usd_per_million_requests")
                .and_then(Value::as_f64)
                .map_or("–".to_string(), amount);
            format!(
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(name),
                number(w.get("requests")),
                esc(&usd)
            )
        })
        .collect();
    if !per_million.is_empty() {
        h.push_str(
            "<p>The whole bill per million requests of each workload (its requests created in \
             the window):</p>\n<table>\n<tr><th>workload</th><th>requests</th>\
             <th>USD per million requests</th></tr>\n",
        );
        for row in per_million {
            let _ = writeln!(h, "{row}");
        }
        h.push_str("</table>\n");
    }
    if !cost.not_billed.is_empty() {
        let names: Vec<String> = cost
            .not_billed
            .iter()
            .map(|n| format!("<code>{}</code>", esc(n)))
            .collect();
        let _ = writeln!(
            h,
            "<p>Not billed (their kind has no price model yet, or an instance group has no \
             <code>instance_type</code>), so not in the total: {}.</p>",
            names.join(", ")
        );
    }
    if let Some(svg) = plots
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "svg") && is_cost_plot(p))
    {
        let _ = writeln!(
            h,
            "<figure class=\"plot\">\n{}\n<figcaption>{}</figcaption>\n</figure>",
            inline_svg(&std::fs::read_to_string(svg)?),
            esc(&svg
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default())
        );
    }
    Ok(())
}

fn is_cost_plot(path: &Path) -> bool {
    path.file_stem().is_some_and(|s| s == COST_PLOT)
}

/// A usage as its basis writes it: up to 6 significant digits (`1000`, `0.833333`).
fn figure_of(v: &Value, key: &str) -> String {
    figure(v, key).map_or("–".into(), |x| crate::metrics::cost::figure(x, 6))
}

fn plots_section(h: &mut String, plots: &Plots) -> io::Result<()> {
    h.push_str("<h2 id=\"plots\">Plots</h2>\n");
    if !plots.not_drawn.is_empty() {
        let names: Vec<String> = plots.not_drawn.iter().take(10).map(|n| esc(n)).collect();
        let more = plots.not_drawn.len().saturating_sub(names.len());
        let _ = writeln!(
            h,
            "<p>The figures of {} more components are not drawn (those of the first {} are): \
             {}{}. Their series are in timeseries.csv.</p>",
            plots.not_drawn.len(),
            MAX_COMPONENTS_DRAWN,
            names.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
    }
    let has_svg = |stem: &std::ffi::OsStr| {
        plots
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "svg") && p.file_stem() == Some(stem))
    };
    let mut shown = 0;
    for path in plots.iter() {
        if is_cost_plot(path) {
            continue; // under Cost
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        let body = match ext.as_deref() {
            Some("svg") => inline_svg(&std::fs::read_to_string(path)?),
            Some("png") => {
                if path.file_stem().is_some_and(has_svg) {
                    continue; // the SVG is shown
                }
                format!(
                    "<img alt=\"{}\" src=\"data:image/png;base64,{}\">",
                    esc(&name),
                    base64(&std::fs::read(path)?)
                )
            }
            _ => continue,
        };
        let _ = writeln!(
            h,
            "<figure class=\"plot\">\n{body}\n<figcaption>{}</figcaption>\n</figure>",
            esc(&name)
        );
        shown += 1;
    }
    if shown == 0 {
        h.push_str("<p>No plots.</p>\n");
    }
    Ok(())
}

/// An SVG document as an element of the page: no XML declaration or doctype.
fn inline_svg(text: &str) -> String {
    let start = text.find("<svg").unwrap_or(0);
    text[start..].trim_end().to_string()
}

/// Each deployment's outcome and steps (`deployments.csv`), if the run has any.
fn deployments_section(h: &mut String, summary: &Summary) {
    let Some(deployments) = &summary.deployments else {
        return;
    };
    h.push_str("<h2 id=\"deployments\">Deployments</h2>\n");
    for line in super::deployments::lines(summary) {
        let _ = writeln!(h, "<p>{}</p>", esc(&line));
    }
    h.push_str("<div class=\"scroll\"><table>\n<tr>");
    for c in super::deployments::COLUMNS {
        let _ = write!(h, "<th>{}</th>", esc(c));
    }
    h.push_str("</tr>\n");
    for (name, d) in deployments {
        for (time, step) in super::deployments::steps(d) {
            let text = |k: &str| match step.get(k) {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => String::new(),
            };
            let _ = writeln!(
                h,
                "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                esc(&fixed(time, 1)),
                esc(name),
                esc(&text("step")),
                esc(&text("new_version_percent")),
                esc(&text("detail"))
            );
        }
    }
    h.push_str("</table></div>\n");
}

/// `scaling_activities.csv` as header and rows, if the file exists.
fn read_activities(path: &Path) -> io::Result<Option<Vec<Vec<String>>>> {
    if !path.exists() {
        return Ok(None);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .map_err(io::Error::other)?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(io::Error::other)?;
        rows.push(record.iter().map(str::to_string).collect());
    }
    Ok(Some(rows))
}

fn activities_section(h: &mut String, rows: &[Vec<String>]) {
    h.push_str("<h2 id=\"activities\">Scaling activities</h2>\n");
    let Some((header, body)) = rows.split_first() else {
        h.push_str("<p>None.</p>\n");
        return;
    };
    if body.is_empty() {
        h.push_str("<p>None: no group changed its capacity.</p>\n");
        return;
    }
    let _ = writeln!(
        h,
        "<p>{} activities, warm-up included, in time order (<code>scaling_activities.csv</code>).</p>",
        body.len()
    );
    h.push_str("<div class=\"scroll\"><table>\n<tr>");
    for c in header {
        let _ = write!(h, "<th>{}</th>", esc(c));
    }
    h.push_str("</tr>\n");
    let numeric = |c: &str| matches!(c, "time_s" | "desired_from" | "desired_to");
    for row in body {
        h.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let column = header.get(i).map_or("", String::as_str);
            if numeric(column) {
                let decimals = if column == "time_s" { 1 } else { 0 };
                let text = cell
                    .parse::<f64>()
                    .map(|v| fixed(v, decimals))
                    .unwrap_or_else(|_| cell.clone());
                let _ = write!(h, "<td class=\"n\">{}</td>", esc(&text));
            } else {
                let _ = write!(h, "<td>{}</td>", esc(cell));
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table></div>\n");
}

/// The warnings and notes that the summary alone shows (all but those read off the time
/// series: saturation over time, a backlog still growing), as [`render`] lists them.
pub fn summary_findings(summary: &Summary) -> Vec<Finding> {
    findings(summary, None)
}

/// What a reader should know about the run, most serious first, in file order within each.
fn findings(summary: &Summary, series: Option<&HashMap<String, SeriesFacts>>) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut add = |severity, subject: &str, text: String| {
        out.push(Finding {
            severity,
            subject: subject.to_string(),
            text,
        })
    };
    for v in &summary.conservation.violations {
        add(
            Severity::Warning,
            "",
            format!("conservation violated (a bug in awsim): {v}"),
        );
    }
    if !summary.conservation.ok && summary.conservation.violations.is_empty() {
        add(Severity::Warning, "", "conservation violated".into());
    }
    let entries = summary
        .workloads
        .iter()
        .map(|(n, v)| (n, v, "workload"))
        .chain(summary.components.iter().map(|(n, v)| (n, v, kind(v))));
    for (name, v, kind) in entries {
        failures(&mut add, name, v);
        if kind == "workload" {
            let created = count(v, "created");
            let in_flight = count(v, "in_flight");
            if in_flight > 10 && in_flight as f64 > 0.01 * created as f64 {
                add(
                    Severity::Note,
                    name,
                    format!(
                        "{} requests ({}) were still in flight when the run ended",
                        group(in_flight),
                        percent(in_flight as f64 / created.max(1) as f64)
                    ),
                );
            }
            let skipped = v
                .get("trace")
                .and_then(|t| t.get("rows_skipped"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            if skipped > 0 {
                add(
                    Severity::Warning,
                    name,
                    format!(
                        "{} bad trace rows were skipped (on_bad_row = \"skip\"): the replay is \
                         not the whole recorded load",
                        group(skipped)
                    ),
                );
            }
        }
        if let Some(outputs) = kind_outputs(kind) {
            for f in (outputs.findings)(name, v) {
                add(f.severity, &f.subject, f.text);
            }
        }
        if let Some(facts) = series.and_then(|s| s.get(name.as_str())) {
            series_findings(&mut add, name, v, kind, facts);
        }
    }
    out.sort_by_key(|f| f.severity);
    out
}

fn count(v: &Value, key: &str) -> u64 {
    v.get("requests")
        .and_then(|r| r.get(key))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

fn figure(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

/// Failed, throttled, timed-out and dropped requests as a share of those created.
fn failures(add: &mut impl FnMut(Severity, &str, String), name: &str, v: &Value) {
    let created = count(v, "created");
    if created == 0 {
        return;
    }
    let parts: Vec<(u64, &str)> = [
        (count(v, "failed"), "failed"),
        (count(v, "throttled"), "throttled"),
        (count(v, "timed_out"), "timed out"),
        (count(v, "dropped"), "dropped"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .collect();
    if parts.is_empty() {
        return;
    }
    let total: u64 = parts.iter().map(|(n, _)| n).sum();
    let share = total as f64 / created as f64;
    let severity = if share >= FAILURE_SHARE_WARNING {
        Severity::Warning
    } else {
        Severity::Note
    };
    let detail: Vec<String> = parts
        .iter()
        .map(|(n, what)| format!("{} {what}", group(*n)))
        .collect();
    add(
        severity,
        name,
        format!(
            "{} of {} requests did not succeed ({})",
            percent(share),
            group(created),
            detail.join(", ")
        ),
    );
}

/// The columns where a backlog of a `kind` builds up, with what they count, in the order the
/// report tries them.
fn backlog_columns(kind: &str) -> &'static [(&'static str, &'static str)] {
    match kind_outputs(kind) {
        Some(outputs) => outputs.backlog_columns,
        None => &[
            ("queue_length", "queued requests"),
            ("in_flight", "requests in flight"),
        ],
    }
}

/// What the report reads in the time series of one workload or component: every interval
/// after the warm-up, exactly (the plots draw a reduced series; findings must not).
struct SeriesFacts {
    /// Intervals that end after the warm-up.
    measured: u64,
    /// Of those, intervals busy above [`SATURATED_UTILISATION`].
    busy: u64,
    /// End of the first busy one (s).
    first_busy: Option<f64>,
    /// Per backlog column ([`backlog_columns`]): its number in the file, and the fit of its
    /// measured values.
    backlogs: Vec<(Option<usize>, TailFit)>,
}

/// Reads `path` (a `timeseries.csv`) for the findings of every workload and component of
/// `summary`, keeping nothing per interval: one pass, then one more per step of the backlog
/// fits that still need it (at most three, only while a backlog might be growing).
fn series_facts(path: &Path, summary: &Summary) -> io::Result<HashMap<String, SeriesFacts>> {
    let mut rows = Rows::open(path)?;
    let utilisation = rows.column("utilisation");
    let kinds = summary
        .workloads
        .keys()
        .map(|n| (n, "workload"))
        .chain(summary.components.iter().map(|(n, v)| (n, kind(v))));
    let mut facts: HashMap<String, SeriesFacts> = kinds
        .map(|(name, kind)| {
            let backlogs = backlog_columns(kind)
                .iter()
                .map(|(column, _)| (rows.column(column), TailFit::default()))
                .collect();
            let facts = SeriesFacts {
                measured: 0,
                busy: 0,
                first_busy: None,
                backlogs,
            };
            (name.clone(), facts)
        })
        .collect();
    let warmup = summary.warmup_s;
    let mut first = true;
    loop {
        while let Some(row) = rows.next_row()? {
            let Some(f) = facts.get_mut(row.name()) else {
                continue;
            };
            let time = row.time();
            if time <= warmup {
                continue;
            }
            if first {
                f.measured += 1;
                let u = utilisation.and_then(|i| row.value(i));
                if u.is_some_and(|u| u > SATURATED_UTILISATION) {
                    f.busy += 1;
                    f.first_busy.get_or_insert(time);
                }
            }
            for (column, fit) in &mut f.backlogs {
                if let Some(v) = column.and_then(|i| row.value(i))
                    && !fit.done()
                {
                    fit.add(time, v);
                }
            }
        }
        first = false;
        let fits = facts.values_mut().flat_map(|f| &mut f.backlogs);
        let mut again = false;
        for (_, fit) in fits {
            fit.next_step();
            again |= !fit.done();
        }
        if !again {
            return Ok(facts);
        }
        rows = Rows::open(path)?;
    }
}

/// Saturated intervals and a backlog still growing at the end, from the time series.
fn series_findings(
    add: &mut impl FnMut(Severity, &str, String),
    name: &str,
    summary_entry: &Value,
    kind: &str,
    facts: &SeriesFacts,
) {
    if facts.measured == 0 {
        return;
    }
    if let Some(first) = facts.first_busy {
        add(
            Severity::Note,
            name,
            format!(
                "busy above {} in {} of {} measured intervals (the first ending at {} s)",
                percent(SATURATED_UTILISATION),
                facts.busy,
                facts.measured,
                tick(first)
            ),
        );
    }
    let outputs = kind_outputs(kind);
    let growing = backlog_columns(kind)
        .iter()
        .zip(&facts.backlogs)
        .find_map(|((_, what), (_, fit))| fit.growth().map(|g| (what, g)));
    // One growing measure per component is enough.
    let Some((what, growth)) = growing else {
        return;
    };
    if let Some(f) = outputs.and_then(|o| (o.growing_backlog)(name, summary_entry, &growth)) {
        add(f.severity, &f.subject, f.text);
    } else {
        add(
            Severity::Warning,
            name,
            format!(
                "{what} still growing when the run ended: from {} to {} over the last {} \
                 (about {}/s); the run ended before a steady state, or the system cannot \
                 keep up",
                whole(growth.from),
                whole(growth.to),
                duration_text(growth.span_s),
                fixed(growth.slope, 2)
            ),
        );
    }
}

/// [`TailFit`] over a slice.
#[cfg(test)]
fn growing_at_end(points: &[(f64, f64)]) -> Option<Growth> {
    let mut fit = TailFit::default();
    while !fit.done() {
        for &(t, v) in points {
            fit.add(t, v);
        }
        fit.next_step();
    }
    fit.growth()
}

/// The steps of a [`TailFit`], one pass over the points each.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
enum FitStep {
    /// Counting the points and finding their maximum.
    #[default]
    Count,
    /// Summing the tail's times and values.
    Means,
    /// Summing the tail's squares and products about its means.
    Slope,
    /// Summing the squared residuals of the tail's line.
    Residuals,
    Done,
}

/// Whether the points (time, value) of the measured window end with a sustained rise: over the
/// last quarter (at least 4 points), the least-squares line rises by at least 10 and by more
/// than 3 standard deviations of the residuals, and the last value is within 20 % of the
/// window's maximum. Noise around a steady level rarely passes all three; a backlog that grows
/// until the end does.
///
/// The points are read again for each step rather than kept (a long run has millions): one
/// pass counts them, the next ones sum over the tail, as a fit over a slice of them would, in
/// the same order, so with the same result to the bit; at most four passes, fewer when a step
/// settles it.
#[derive(Clone, Debug, Default)]
struct TailFit {
    step: FitStep,
    /// Points seen so far in this pass.
    seen: usize,
    /// Points in all.
    count: usize,
    /// Index of the tail's first point.
    tail: usize,
    max: Option<f64>,
    first_t: f64,
    last: (f64, f64),
    sum_t: f64,
    sum_v: f64,
    mean_t: f64,
    mean_v: f64,
    sxx: f64,
    sxy: f64,
    slope: f64,
    ssr: f64,
    growth: Option<Growth>,
}

impl TailFit {
    /// The next point of the current pass.
    fn add(&mut self, t: f64, v: f64) {
        let in_tail = self.seen >= self.tail;
        match self.step {
            FitStep::Count => {
                self.count += 1;
                self.max = Some(self.max.map_or(v, |m| m.max(v)));
                self.last = (t, v);
            }
            FitStep::Means if in_tail => {
                if self.seen == self.tail {
                    self.first_t = t;
                }
                self.sum_t += t;
                self.sum_v += v;
                self.last = (t, v);
            }
            FitStep::Slope if in_tail => {
                self.sxx += (t - self.mean_t).powi(2);
                self.sxy += (t - self.mean_t) * (v - self.mean_v);
            }
            FitStep::Residuals if in_tail => {
                self.ssr += (v - (self.mean_v + self.slope * (t - self.mean_t))).powi(2);
            }
            _ => {}
        }
        self.seen += 1;
    }

    /// Ends a pass: works out what it summed and moves to the next step (or to the end).
    fn next_step(&mut self) {
        self.seen = 0;
        let n = (self.count - self.tail) as f64;
        self.step = match self.step {
            // Too few points, or the last is well below the maximum: no rise to find.
            FitStep::Count if self.count < 8 || self.last.1 < 0.8 * self.max() => FitStep::Done,
            FitStep::Count => {
                self.tail = self.count - (self.count / 4).max(4);
                // Where `Iterator::sum` starts.
                (self.sum_t, self.sum_v) = (-0.0, -0.0);
                FitStep::Means
            }
            FitStep::Means => {
                self.mean_t = self.sum_t / n;
                self.mean_v = self.sum_v / n;
                (self.sxx, self.sxy) = (-0.0, -0.0);
                FitStep::Slope
            }
            FitStep::Slope => {
                self.slope = self.sxy / self.sxx;
                let rise = self.slope * (self.last.0 - self.first_t);
                if self.sxx <= 0.0 || rise < 10.0 || rise.is_nan() {
                    FitStep::Done
                } else {
                    self.ssr = -0.0;
                    FitStep::Residuals
                }
            }
            FitStep::Residuals => {
                let span = self.last.0 - self.first_t;
                let rise = self.slope * span;
                let residual_sd = (self.ssr / n).sqrt();
                if rise > 3.0 * residual_sd {
                    self.growth = Some(Growth {
                        from: self.mean_v + self.slope * (self.first_t - self.mean_t),
                        to: self.last.1,
                        span_s: span,
                        slope: self.slope,
                    });
                }
                FitStep::Done
            }
            FitStep::Done => FitStep::Done,
        };
    }

    /// The largest value (after the first pass).
    fn max(&self) -> f64 {
        self.max.unwrap_or(f64::MIN)
    }

    /// No more passes needed.
    fn done(&self) -> bool {
        self.step == FitStep::Done
    }

    /// The rise found, once done.
    fn growth(&self) -> Option<Growth> {
        self.growth
    }
}

/// A JSON number for a table: integers grouped, others with 2 to 4 significant decimals.
fn number(v: Option<&Value>) -> String {
    let Some(v) = v else {
        return "–".into();
    };
    if let Some(n) = v.as_u64() {
        return group(n);
    }
    if let Some(n) = v.as_i64() {
        return format!("-{}", group(n.unsigned_abs()));
    }
    match v.as_f64() {
        Some(0.0) => "0".into(),
        Some(x) if x.abs() >= 100.0 => fixed(x, 1),
        Some(x) if x.abs() >= 1.0 => fixed(x, 2),
        Some(x) => {
            let s = format!("{x:.4}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
        None => esc(&v.to_string()),
    }
}

/// Escapes text for HTML content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(231_084), "231\u{202f}084");
        assert_eq!(group(1_000_000), "1\u{202f}000\u{202f}000");
    }

    #[test]
    fn a_backlog_growing_to_the_end_is_found() {
        let steady: Vec<(f64, f64)> = (0..100)
            .map(|i| (f64::from(i), 20.0 + if i % 2 == 0 { 8.0 } else { -8.0 }))
            .collect();
        assert_eq!(growing_at_end(&steady), None);
        let growing: Vec<(f64, f64)> = (0..100)
            .map(|i| {
                (
                    f64::from(i),
                    if i < 60 {
                        5.0
                    } else {
                        5.0 + 3.0 * f64::from(i - 60)
                    },
                )
            })
            .collect();
        let g = growing_at_end(&growing).expect("growing");
        assert!((g.slope - 3.0).abs() < 1e-9 && g.to == 122.0);
        // A peak that drained before the end is not a growing backlog.
        let drained: Vec<(f64, f64)> = (0..100)
            .map(|i| (f64::from(i), if i < 80 { f64::from(i) * 10.0 } else { 0.0 }))
            .collect();
        assert_eq!(growing_at_end(&drained), None);
    }
}
