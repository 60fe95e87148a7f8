//! What an `rds` adds to a run's outputs: connections in use (mean and peak) and waiting, CPU
//! utilisation, and findings when connections ran out.

use serde_json::Value;

use super::Spec;
use crate::components::outputs::{Outputs, figure, pool_findings};
use crate::metrics::Column;
use crate::metrics::finding::{Finding, Severity, group};
use crate::metrics::plot::{Color, Figure, Line, Panel, safe_name};
use crate::metrics::series::Series;

/// Its own time-series columns, in [`Outputs::COLUMNS`] order.
pub(super) enum Gauge {
    ConnectionsInUse,
    ConnectionsPeak,
    ConnectionWaiting,
    CpuUtilisation,
}

impl Outputs for Spec {
    const COLUMNS: &'static [Column] = &[
        Column {
            name: "db_connections_in_use",
            description: "database connections in use, mean over the interval",
        },
        Column {
            name: "db_connections_peak",
            description: "most database connections in use at once during the interval",
        },
        Column {
            name: "db_connection_waiting",
            description: "requests waiting for a database connection at the end of the interval",
        },
        Column {
            name: "db_cpu_utilisation",
            description: "busy share of the database's vCPUs over the interval (0..1)",
        },
    ];

    const HEADLINE_FIGURES: &'static [&'static str] = &[
        "queries",
        "connections_max",
        "connections_refused",
        "pool_timeouts",
        "cpu_utilisation",
    ];

    const BACKLOG_COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("db_connection_waiting", "requests waiting for a connection"),
        ("queue_length", "queued queries"),
    ];

    fn notes(report: &Value) -> Vec<String> {
        let mut notes = Vec::new();
        if let (Some(peak), Some(max)) = (
            figure(report, "connections_max"),
            figure(report, "max_connections"),
        ) {
            notes.push(format!("connections peak {}/{}", peak as u64, max as u64));
        }
        if let Some(u) = figure(report, "cpu_utilisation") {
            notes.push(format!("CPU {:.1}%", u * 100.0));
        }
        for (name, what) in [
            ("connections_refused", "refused"),
            ("pool_timeouts", "pool timeouts"),
        ] {
            if let Some(n) = figure(report, name).filter(|n| *n > 0.0) {
                notes.push(format!("{what} {}", n as u64));
            }
        }
        notes
    }

    fn findings(name: &str, report: &Value) -> Vec<Finding> {
        let mut findings = Vec::new();
        let refused = figure(report, "connections_refused").unwrap_or(0.0) as u64;
        let timeouts = figure(report, "pool_timeouts").unwrap_or(0.0) as u64;
        let max = figure(report, "max_connections").unwrap_or(0.0) as u64;
        if refused > 0 {
            findings.push(Finding::new(
                Severity::Warning,
                name,
                format!(
                    "ran out of connections: {} requests refused with all {} in use \
                     (a connection pooler such as RDS Proxy, fewer clients, or a class with \
                     more memory raises the limit)",
                    group(refused),
                    group(max)
                ),
            ));
        }
        if timeouts > 0 {
            findings.push(Finding::new(
                Severity::Warning,
                name,
                format!(
                    "{} requests gave up waiting for one of its {} connections",
                    group(timeouts),
                    group(max)
                ),
            ));
        }
        let cpu = figure(report, "cpu_utilisation");
        findings.extend(pool_findings(
            name,
            &serde_json::json!({ "utilisation": cpu }),
        ));
        findings
    }

    fn plots(name: &str, _report: &Value, series: &Series) -> Vec<Figure> {
        let time = series.time(name);
        let connections = Panel::new(
            format!("{name} (rds): connections"),
            "connections",
            vec![
                Line::new(
                    "in use (mean)",
                    Color::Blue,
                    time,
                    series.column(name, "db_connections_in_use"),
                ),
                Line::new(
                    "peak",
                    Color::Vermilion,
                    time,
                    series.column(name, "db_connections_peak"),
                ),
                Line::new(
                    "waiting",
                    Color::Orange,
                    time,
                    series.column(name, "db_connection_waiting"),
                ),
            ],
        );
        let cpu = Panel::new(
            format!("{name} (rds): CPU utilisation"),
            "share of vCPUs",
            vec![Line::new(
                "CPU",
                Color::Green,
                time,
                series.column(name, "db_cpu_utilisation"),
            )],
        );
        let panels: Vec<Panel> = [connections, cpu]
            .into_iter()
            .filter(Panel::has_data)
            .collect();
        if panels.is_empty() {
            return Vec::new();
        }
        vec![Figure {
            stem: format!("rds_{}", safe_name(name)),
            title: format!("RDS {name}"),
            panels,
        }]
    }
}
