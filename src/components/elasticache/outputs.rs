//! What an `elasticache` adds to a run's outputs: hits, misses and the hit ratio over time,
//! evictions, memory used, the hottest shard's operations and engine CPU, and findings when
//! the cache thrashes, refuses writes or has one saturated shard.

use serde_json::Value;

use super::Spec;
use crate::components::outputs::{Outputs, figure};
use crate::metrics::Column;
use crate::metrics::finding::{Finding, Severity, group};
use crate::metrics::plot::{Color, Figure, Line, Panel, safe_name};
use crate::metrics::series::Series;

/// Its own time-series columns, in [`Outputs::COLUMNS`] order.
pub(super) enum Gauge {
    Hits,
    Misses,
    HitRatio,
    Evictions,
    MemoryUsed,
    HottestShardOps,
    EngineCpuBusiest,
}

/// Engine CPU above which one shard is called saturated.
const SATURATED: f64 = 0.9;

impl Outputs for Spec {
    const COLUMNS: &'static [Column] = &[
        Column {
            name: "cache_hits_per_s",
            description: "cache reads that found their item, per second over the interval",
        },
        Column {
            name: "cache_misses_per_s",
            description: "cache reads that did not find their item, per second over the interval",
        },
        Column {
            name: "cache_hit_ratio",
            description: "hits / (hits + misses) over the interval (empty without reads)",
        },
        Column {
            name: "cache_evictions_per_s",
            description: "items evicted for memory, per second over the interval",
        },
        Column {
            name: "cache_memory_used_mib",
            description: "memory the cache's items use, all shards, at the end of the interval (MiB)",
        },
        Column {
            name: "cache_hottest_shard_ops_per_s",
            description: "commands per second of the busiest shard over the interval",
        },
        Column {
            name: "cache_engine_cpu_busiest",
            description: "busy share of the busiest shard's engine thread over the interval (0..1)",
        },
    ];

    const HEADLINE_FIGURES: &'static [&'static str] = &[
        "hit_ratio",
        "misses",
        "evictions",
        "memory_used_peak_bytes",
        "hottest_shard_share",
        "engine_cpu_busiest",
    ];

    const BACKLOG_COLUMNS: &'static [(&'static str, &'static str)] = &[(
        "queue_length",
        "commands waiting for a shard's engine thread",
    )];

    fn notes(report: &Value) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(h) = figure(report, "hit_ratio") {
            notes.push(format!("hit ratio {:.1}%", h * 100.0));
        }
        if let Some(e) = figure(report, "evictions").filter(|e| *e > 0.0) {
            notes.push(format!("evictions {}", e as u64));
        }
        if let Some(c) = figure(report, "engine_cpu_busiest") {
            notes.push(format!("busiest shard CPU {:.1}%", c * 100.0));
        }
        notes
    }

    fn findings(name: &str, report: &Value) -> Vec<Finding> {
        let mut findings = Vec::new();
        let refused = figure(report, "writes_refused").unwrap_or(0.0) as u64;
        if refused > 0 {
            findings.push(Finding::new(
                Severity::Warning,
                name,
                format!(
                    "{} writes refused for want of memory (nothing could be evicted: set a \
                     ttl with volatile-lru, or maxmemory_policy = \"allkeys-lru\")",
                    group(refused)
                ),
            ));
        }
        let busiest = figure(report, "engine_cpu_busiest").unwrap_or(0.0);
        let shards = figure(report, "shards").unwrap_or(1.0);
        if busiest >= SATURATED {
            let share = figure(report, "hottest_shard_share").unwrap_or(0.0);
            findings.push(Finding::new(
                Severity::Warning,
                name,
                if shards > 1.0 {
                    format!(
                        "one shard's engine thread is {:.0}% busy: it takes {:.0}% of the \
                         commands of {} shards (a hot key: more shards do not help, replicate \
                         or split the key, or cache it in the application)",
                        busiest * 100.0,
                        share * 100.0,
                        shards as u64
                    )
                } else {
                    format!(
                        "its engine thread is {:.0}% busy: commands queue (more shards \
                         spread the keys)",
                        busiest * 100.0
                    )
                },
            ));
        }
        let evictions = figure(report, "evictions").unwrap_or(0.0);
        let fills = figure(report, "fills").unwrap_or(0.0);
        if fills > 0.0 && evictions >= 0.5 * fills {
            findings.push(Finding::new(
                Severity::Note,
                name,
                format!(
                    "evicts as fast as it fills ({} evictions for {} fills): memory bounds \
                     the hit ratio ({:.1}%)",
                    group(evictions as u64),
                    group(fills as u64),
                    figure(report, "hit_ratio").unwrap_or(0.0) * 100.0
                ),
            ));
        }
        findings
    }

    fn plots(name: &str, _report: &Value, series: &Series) -> Vec<Figure> {
        let time = series.time(name);
        let line =
            |label, color, column| Line::new(label, color, time, series.column(name, column));
        let panels: Vec<Panel> = [
            Panel::new(
                format!("{name} (elasticache): reads"),
                "reads/s",
                vec![
                    line("hits", Color::Green, "cache_hits_per_s"),
                    line("misses", Color::Vermilion, "cache_misses_per_s"),
                ],
            ),
            Panel::new(
                format!("{name} (elasticache): hit ratio"),
                "share of reads",
                vec![line("hit ratio", Color::Blue, "cache_hit_ratio")],
            ),
            Panel::new(
                format!("{name} (elasticache): memory"),
                "MiB / evictions per s",
                vec![
                    line("memory used (MiB)", Color::Blue, "cache_memory_used_mib"),
                    line("evictions/s", Color::Orange, "cache_evictions_per_s"),
                ],
            ),
            Panel::new(
                format!("{name} (elasticache): busiest shard"),
                "commands/s",
                vec![line(
                    "hottest shard",
                    Color::Vermilion,
                    "cache_hottest_shard_ops_per_s",
                )],
            ),
            Panel::new(
                format!("{name} (elasticache): engine CPU"),
                "busy share",
                vec![line(
                    "busiest shard",
                    Color::Green,
                    "cache_engine_cpu_busiest",
                )],
            ),
        ]
        .into_iter()
        .filter(Panel::has_data)
        .collect();
        if panels.is_empty() {
            return Vec::new();
        }
        vec![Figure {
            stem: format!("elasticache_{}", safe_name(name)),
            title: format!("ElastiCache {name}"),
            panels,
        }]
    }
}
