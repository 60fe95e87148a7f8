//! What a function is billed (prices from `models/prices.toml`): each invocation, its duration
//! in GB-seconds rounded up to 1 ms at the configured memory, and with provisioned concurrency
//! the GB-seconds it is configured for plus the lower duration price of what runs on it.

use serde::Deserialize;

use crate::defaults::{LambdaDurationPrices, LambdaPrices};
use crate::metrics::cost::{Bill, dollars, figure};

/// The instruction set a function runs on; it sets the duration price.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub enum Architecture {
    /// x86-64 processors.
    #[default]
    #[serde(rename = "x86_64")]
    X86_64,
    /// AWS Graviton (arm64) processors.
    #[serde(rename = "arm64")]
    Arm64,
}

impl Architecture {
    fn name(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }

    fn prices(self, lambda: &LambdaPrices) -> &LambdaDurationPrices {
        match self {
            Architecture::X86_64 => &lambda.x86_64,
            Architecture::Arm64 => &lambda.arm64,
        }
    }
}

/// What a function used in the measured window.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub(super) struct Usage {
    /// Invocations.
    pub requests: u64,
    /// Billed duration on on-demand environments (ms, each invocation rounded up to 1 ms).
    pub on_demand_ms: u64,
    /// Billed duration on provisioned environments (ms).
    pub provisioned_ms: u64,
    /// Provisioned concurrency configured.
    pub provisioned: u32,
    /// Length of the window (s).
    pub window_s: f64,
    /// Billed duration of a new version whose memory differs from the function's (ms).
    pub new_version_ms: u64,
    /// That version's memory (MB).
    pub new_version_memory_mb: u32,
}

/// GB-seconds of `ms` milliseconds at `memory_mb`.
pub(super) fn gb_seconds(ms: u64, memory_mb: u32) -> f64 {
    ms as f64 / 1000.0 * memory_mb as f64 / 1024.0
}

/// What `usage` costs at `memory_mb` on `arch`, at `prices`: the amount of [`bill`], without
/// its words (the time series asks every interval).
pub(super) fn usd(usage: Usage, memory_mb: u32, arch: Architecture, prices: &LambdaPrices) -> f64 {
    let p = arch.prices(prices);
    let gb = memory_mb as f64 / 1024.0;
    let mut usd = usage.requests as f64 * prices.usd_per_request
        + gb_seconds(usage.on_demand_ms, memory_mb) * p.usd_per_gb_second;
    if usage.provisioned > 0 {
        usd += usage.provisioned as f64 * gb * usage.window_s * p.provisioned_usd_per_gb_second
            + gb_seconds(usage.provisioned_ms, memory_mb)
                * p.provisioned_duration_usd_per_gb_second;
    }
    usd + gb_seconds(usage.new_version_ms, usage.new_version_memory_mb) * p.usd_per_gb_second
}

/// The bill of `usage` at `memory_mb` on `arch`, at `prices`.
pub(super) fn bill(
    usage: Usage,
    memory_mb: u32,
    arch: Architecture,
    prices: &LambdaPrices,
) -> Bill {
    let p = arch.prices(prices);
    let per_request = prices.usd_per_request;
    let gb = memory_mb as f64 / 1024.0;
    let mut bill = Bill::default().charge(
        usage.requests as f64,
        "requests",
        per_request,
        format!("{} requests × {}", usage.requests, dollars(per_request)),
    );
    let on_demand = gb_seconds(usage.on_demand_ms, memory_mb);
    bill = bill.charge(
        on_demand,
        "GB-seconds",
        p.usd_per_gb_second,
        format!(
            "{} s billed (per 1 ms) × {} GB = {} GB-s × {}/GB-s ({})",
            figure(usage.on_demand_ms as f64 / 1000.0, 9),
            figure(gb, 6),
            figure(on_demand, 9),
            dollars(p.usd_per_gb_second),
            arch.name()
        ),
    );
    if usage.provisioned > 0 {
        let configured = usage.provisioned as f64 * gb * usage.window_s;
        bill = bill.charge(
            configured,
            "GB-seconds",
            p.provisioned_usd_per_gb_second,
            format!(
                "{} provisioned × {} GB × {} s = {} GB-s × {}/GB-s (provisioned concurrency)",
                usage.provisioned,
                figure(gb, 6),
                figure(usage.window_s, 9),
                figure(configured, 9),
                dollars(p.provisioned_usd_per_gb_second)
            ),
        );
        let on_provisioned = gb_seconds(usage.provisioned_ms, memory_mb);
        bill = bill.charge(
            on_provisioned,
            "GB-seconds",
            p.provisioned_duration_usd_per_gb_second,
            format!(
                "{} s billed on provisioned concurrency × {} GB = {} GB-s × {}/GB-s",
                figure(usage.provisioned_ms as f64 / 1000.0, 9),
                figure(gb, 6),
                figure(on_provisioned, 9),
                dollars(p.provisioned_duration_usd_per_gb_second)
            ),
        );
    }
    if usage.new_version_ms > 0 {
        let mb = usage.new_version_memory_mb;
        let new = gb_seconds(usage.new_version_ms, mb);
        bill = bill.charge(
            new,
            "GB-seconds",
            p.usd_per_gb_second,
            format!(
                "{} s billed (per 1 ms) on the new version × {} GB = {} GB-s × {}/GB-s",
                figure(usage.new_version_ms as f64 / 1000.0, 9),
                figure(mb as f64 / 1024.0, 6),
                figure(new, 9),
                dollars(p.usd_per_gb_second)
            ),
        );
    }
    bill
}
