//! What a `cloudfront` adds to a run's outputs: the edge tier's hits and misses over time (the
//! columns `api_gateway`'s cache also fills, with the same meaning), a plot of its hit ratio,
//! notes and sweep figures.

use serde_json::Value;

use super::Spec;
use crate::components::outputs::{Outputs, figure};
use crate::metrics::Column;
use crate::metrics::plot::{Color, Figure, Line, Panel, safe_name};
use crate::metrics::series::Series;

/// Its own time-series columns, in [`Outputs::COLUMNS`] order.
pub(super) enum Gauge {
    CacheHits,
    CacheMisses,
}

impl Outputs for Spec {
    const COLUMNS: &'static [Column] = &[
        Column {
            name: "cache_hits",
            description: "requests answered from the cache in the interval (CacheHitCount)",
        },
        Column {
            name: "cache_misses",
            description: "cacheable requests not found in the cache in the interval (CacheMissCount)",
        },
    ];

    const HEADLINE_FIGURES: &'static [&'static str] =
        &["cache_hit_ratio", "origin_requests", "origin_offload"];

    fn notes(report: &Value) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(h) = figure(report, "cache_hit_ratio") {
            notes.push(format!("edge hit ratio {:.1}%", h * 100.0));
        }
        if let Some(o) = figure(report, "origin_offload") {
            notes.push(format!("origin offload {:.1}%", o * 100.0));
        }
        notes
    }

    fn plots(name: &str, _report: &Value, series: &Series) -> Vec<Figure> {
        let time = series.time(name);
        let hits = series.column(name, "cache_hits");
        let misses = series.column(name, "cache_misses");
        let ratio: Vec<Option<f64>> = hits
            .iter()
            .zip(&misses)
            .map(|(h, m)| match (h, m) {
                (Some(h), Some(m)) if h + m > 0.0 => Some(h / (h + m)),
                _ => None,
            })
            .collect();
        let panel = Panel::new(
            format!("{name} (cloudfront): edge cache hit ratio"),
            "hit ratio",
            vec![Line::new("edge hit ratio", Color::Blue, time, ratio)],
        );
        if !panel.has_data() {
            return Vec::new();
        }
        vec![Figure {
            stem: format!("cloudfront_{}", safe_name(name)),
            title: format!("CloudFront {name}"),
            panels: vec![panel],
        }]
    }
}
