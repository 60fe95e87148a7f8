//! What an `api_gateway` adds to a run's outputs: nothing beyond its figures yet.

use super::Spec;
use crate::components::outputs::Outputs;
use crate::metrics::Column;

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
}
