//! What an `rds_proxy` adds to a run's outputs: database connections borrowed against client
//! requests, requests waiting for a connection, and findings when they waited or timed out.

use serde_json::Value;

use super::Spec;
use crate::components::outputs::{Outputs, figure};
use crate::metrics::Column;
use crate::metrics::finding::{Finding, Severity, group};
use crate::metrics::plot::{Color, Figure, Line, Panel, safe_name};
use crate::metrics::series::Series;

/// Its own time-series columns, in [`Outputs::COLUMNS`] order.
pub(super) enum Gauge {
    DatabaseConnections,
    DatabaseConnectionsPeak,
    ClientConnections,
    BorrowWaiting,
}

impl Outputs for Spec {
    const COLUMNS: &'static [Column] = &[
        Column {
            name: "proxy_db_connections",
            description: "database connections the proxy had borrowed, mean over the interval",
        },
        Column {
            name: "proxy_db_connections_peak",
            description: "most database connections the proxy had borrowed at once during the \
                          interval",
        },
        Column {
            name: "proxy_client_connections",
            description: "client requests at the proxy (waiting or at the database), mean over \
                          the interval",
        },
        Column {
            name: "proxy_borrow_waiting",
            description: "requests waiting for a database connection at the end of the interval",
        },
    ];

    const HEADLINE_FIGURES: &'static [&'static str] = &[
        "database_connections_max",
        "client_connections_max",
        "borrow_waits",
        "borrow_timeouts",
    ];

    const BACKLOG_COLUMNS: &'static [(&'static str, &'static str)] =
        &[("proxy_borrow_waiting", "requests waiting for a connection")];

    fn notes(report: &Value) -> Vec<String> {
        let mut notes = Vec::new();
        if let (Some(clients), Some(db), Some(allowed)) = (
            figure(report, "client_connections_max"),
            figure(report, "database_connections_max"),
            figure(report, "database_connections_allowed"),
        ) {
            notes.push(format!(
                "clients peak {} on database connections peak {}/{}",
                clients as u64, db as u64, allowed as u64
            ));
        }
        for (name, what) in [
            ("borrow_waits", "borrow waits"),
            ("borrow_timeouts", "borrow timeouts"),
        ] {
            if let Some(n) = figure(report, name).filter(|n| *n > 0.0) {
                notes.push(format!("{what} {}", n as u64));
            }
        }
        notes
    }

    fn findings(name: &str, report: &Value) -> Vec<Finding> {
        let timeouts = figure(report, "borrow_timeouts").unwrap_or(0.0) as u64;
        let allowed = figure(report, "database_connections_allowed").unwrap_or(0.0) as u64;
        if timeouts == 0 {
            return Vec::new();
        }
        vec![Finding::new(
            Severity::Warning,
            name,
            format!(
                "{} requests gave up waiting for one of its {} database connections \
                 (connection_borrow_timeout): the database answers too slowly for the load, \
                 or pinned sessions hold connections",
                group(timeouts),
                group(allowed)
            ),
        )]
    }

    fn plots(name: &str, _report: &Value, series: &Series) -> Vec<Figure> {
        let time = series.time(name);
        let panel = Panel::new(
            format!("{name} (rds_proxy): connections"),
            "connections",
            vec![
                Line::new(
                    "client requests (mean)",
                    Color::Blue,
                    time,
                    series.column(name, "proxy_client_connections"),
                ),
                Line::new(
                    "database connections (mean)",
                    Color::Green,
                    time,
                    series.column(name, "proxy_db_connections"),
                ),
                Line::new(
                    "database connections (peak)",
                    Color::Vermilion,
                    time,
                    series.column(name, "proxy_db_connections_peak"),
                ),
                Line::new(
                    "waiting to borrow",
                    Color::Orange,
                    time,
                    series.column(name, "proxy_borrow_waiting"),
                ),
            ],
        );
        if !panel.has_data() {
            return Vec::new();
        }
        vec![Figure {
            stem: format!("rds_proxy_{}", safe_name(name)),
            title: format!("RDS Proxy {name}"),
            panels: vec![panel],
        }]
    }
}
