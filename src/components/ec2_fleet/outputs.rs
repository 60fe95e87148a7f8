//! What an `ec2_fleet` adds to a run's outputs: how busy its instances were and its spend rate.

use serde_json::Value;

use super::Spec;
use crate::components::burst_credits;
use crate::components::outputs::{Outputs, SPEND_COLUMN, pool_findings, pool_notes};
use crate::metrics::Column;
use crate::metrics::finding::Finding;
use crate::metrics::plot::Figure;
use crate::metrics::series::Series;

/// Its own time-series columns, in [`Outputs::COLUMNS`] order.
pub(super) enum Gauge {
    Spend,
    /// The first of [`burst_credits::CREDIT_COLUMNS`], its optional columns.
    Credits,
}

impl Outputs for Spec {
    const COLUMNS: &'static [Column] = &[SPEND_COLUMN];

    const OPTIONAL_COLUMNS: &'static [Column] = burst_credits::CREDIT_COLUMNS;

    const HEADLINE_FIGURES: &'static [&'static str] = &["utilisation"];

    fn notes(report: &Value) -> Vec<String> {
        pool_notes(report)
    }

    fn findings(name: &str, report: &Value) -> Vec<Finding> {
        pool_findings(name, report)
    }

    fn plots(name: &str, _report: &Value, series: &Series) -> Vec<Figure> {
        burst_credits::credit_figure(series, name, "ec2_fleet")
            .into_iter()
            .collect()
    }
}
