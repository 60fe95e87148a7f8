//! Model data embedded from `models/*.toml`: AWS defaults with their sources.
//!
//! The files are compiled into the binary, so a run never depends on files beside it, and
//! parsed once on first use. A test checks that every embedded file parses, so a bad edit to
//! `models/` fails the build's tests rather than a user's run.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::dist::DistSpec;
use crate::engine::time::SimDuration;
use crate::units::Rate;

/// `models/alb.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlbDefaults {
    /// No answer from a target within this: 504.
    pub idle_timeout: SimDuration,
    /// Time between health checks of a target.
    pub health_check_interval: SimDuration,
    /// A health check not answered within this fails.
    pub health_check_timeout: SimDuration,
    /// Consecutive successful checks before a target is healthy.
    pub healthy_threshold: u32,
    /// Consecutive failed checks before a target is unhealthy.
    pub unhealthy_threshold: u32,
    /// How long a deregistering target drains.
    pub deregistration_delay: SimDuration,
}

const ALB_TOML: &str = include_str!("../models/alb.toml");
const NLB_TOML: &str = include_str!("../models/nlb.toml");

/// `models/nlb.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NlbDefaults {
    /// A TCP flow idle longer than this leaves the flow table.
    pub idle_timeout: SimDuration,
    /// Time between health checks of a target.
    pub health_check_interval: SimDuration,
    /// Consecutive successful checks before a target is healthy.
    pub healthy_threshold: u32,
    /// Consecutive failed checks before a target is unhealthy.
    pub unhealthy_threshold: u32,
    /// How long a deregistering target keeps its flows.
    pub deregistration_delay: SimDuration,
    /// Cross-zone load balancing.
    pub cross_zone: bool,
}

/// The NLB defaults.
pub fn nlb() -> &'static NlbDefaults {
    static NLB: OnceLock<NlbDefaults> = OnceLock::new();
    NLB.get_or_init(|| toml::from_str(NLB_TOML).expect("models/nlb.toml is checked by a test"))
}
const ASG_TOML: &str = include_str!("../models/asg.toml");
const LAMBDA_TOML: &str = include_str!("../models/lambda.toml");
const DYNAMODB_TOML: &str = include_str!("../models/dynamodb.toml");
const API_GATEWAY_TOML: &str = include_str!("../models/api_gateway.toml");

/// `models/api_gateway.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiGatewayDefaults {
    /// Steady rate of the account-level token bucket, shared by every API.
    pub account_rate: Rate,
    /// Size of the account-level token bucket (the burst).
    pub account_burst: u32,
    /// No answer from the integration within this: 504.
    pub integration_timeout: SimDuration,
    /// Shortest integration timeout AWS accepts.
    pub integration_timeout_min: SimDuration,
    /// Longest integration timeout AWS accepts (by default).
    pub integration_timeout_max: SimDuration,
    /// Time to live of a cached response.
    pub cache_ttl: SimDuration,
    /// Longest time to live AWS accepts.
    pub cache_ttl_max: SimDuration,
    /// Time the gateway adds to every request it lets through.
    pub overhead: SimDuration,
    /// Time to answer from the cache (on top of `overhead`).
    pub cache_latency: SimDuration,
}

/// The API Gateway defaults.
pub fn api_gateway() -> &'static ApiGatewayDefaults {
    static API_GATEWAY: OnceLock<ApiGatewayDefaults> = OnceLock::new();
    API_GATEWAY.get_or_init(|| {
        toml::from_str(API_GATEWAY_TOML).expect("models/api_gateway.toml is checked by a test")
    })
}

const NETWORK_TOML: &str = include_str!("../models/network.toml");

/// `models/network.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkDefaults {
    /// One-way latency of a hop inside one availability zone.
    pub hop: SimDuration,
    /// Extra one-way latency of a hop between availability zones.
    pub cross_az: SimDuration,
}

/// The network defaults.
pub fn network() -> &'static NetworkDefaults {
    static NETWORK: OnceLock<NetworkDefaults> = OnceLock::new();
    NETWORK.get_or_init(|| {
        toml::from_str(NETWORK_TOML).expect("models/network.toml is checked by a test")
    })
}

/// `models/dynamodb.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynamoDbDefaults {
    /// Read capacity one partition serves at most.
    pub partition_rcu: u32,
    /// Write capacity one partition serves at most.
    pub partition_wcu: u32,
    /// Data one partition holds (GB).
    pub partition_gb: u32,
    /// How long unused capacity is retained for bursts.
    pub burst_window: SimDuration,
    /// Largest item (KB).
    pub max_item_kb: u32,
    /// Read rate a new on-demand table serves at once.
    pub on_demand_initial_rcu: u32,
    /// Write rate a new on-demand table serves at once.
    pub on_demand_initial_wcu: u32,
    /// Window over which the previous peak of an on-demand table counts.
    pub on_demand_peak_window: SimDuration,
    /// Service time of a read.
    pub read_latency: DistSpec,
    /// Service time of a write.
    pub write_latency: DistSpec,
    /// Service time of a DAX cache hit.
    pub dax_latency: DistSpec,
    /// Attempts of a throttled request, the first included.
    pub max_attempts: u32,
    /// Base of the exponential back-off.
    pub retry_base: SimDuration,
    /// Longest back-off.
    pub max_backoff: SimDuration,
    /// DAX item time to live.
    pub dax_ttl: SimDuration,
}

/// The DynamoDB defaults.
pub fn dynamodb() -> &'static DynamoDbDefaults {
    static DYNAMODB: OnceLock<DynamoDbDefaults> = OnceLock::new();
    DYNAMODB.get_or_init(|| {
        toml::from_str(DYNAMODB_TOML).expect("models/dynamodb.toml is checked by a test")
    })
}

/// `models/lambda.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaDefaults {
    /// Concurrent executions of the account.
    pub account_concurrency_limit: u32,
    /// Concurrency the account keeps unreserved.
    pub unreserved_minimum: u32,
    /// Smallest memory setting (MB).
    pub memory_min_mb: u32,
    /// Largest memory setting (MB).
    pub memory_max_mb: u32,
    /// Memory that gives one full vCPU (MB).
    pub memory_per_vcpu_mb: u32,
    /// Memory when a function sets none (MB).
    pub default_memory_mb: u32,
    /// Timeout when a function sets none.
    pub default_timeout: SimDuration,
    /// Largest timeout.
    pub max_timeout: SimDuration,
    /// New execution environments a function may add per `scaling_period`.
    pub scaling_environments: u32,
    /// See `scaling_environments`.
    pub scaling_period: SimDuration,
    /// Init duration when a function sets no `cold_start`.
    pub cold_start: DistSpec,
    /// Idle time after which an environment is reclaimed.
    pub keep_alive: SimDuration,
    /// Retries of an asynchronous event after function errors.
    pub max_retry_attempts: u32,
    /// Delay before each retry.
    pub retry_delays: Vec<SimDuration>,
    /// Oldest an asynchronous event may get before it is given up.
    pub max_event_age: SimDuration,
}

/// The Lambda defaults.
pub fn lambda() -> &'static LambdaDefaults {
    static LAMBDA: OnceLock<LambdaDefaults> = OnceLock::new();
    LAMBDA.get_or_init(|| {
        toml::from_str(LAMBDA_TOML).expect("models/lambda.toml is checked by a test")
    })
}

/// `models/asg.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsgDefaults {
    /// Time after launch during which health checks do not count.
    pub health_check_grace_period: SimDuration,
    /// Cooldown of simple scaling policies.
    pub default_cooldown: SimDuration,
    /// Time a new instance is excluded from metrics and current capacity.
    pub instance_warmup: SimDuration,
    /// Launch request to in service.
    pub launch_time: DistSpec,
    /// CloudWatch aggregation period of the group's metrics.
    pub metric_period: SimDuration,
    /// Delay before a datapoint is visible to alarms.
    pub metric_publication_delay: SimDuration,
    /// Datapoints (of as many) above target before target tracking scales out.
    pub target_tracking_scale_out_datapoints: u32,
    /// Datapoints (of as many) below the scale-in threshold before target tracking scales in.
    pub target_tracking_scale_in_datapoints: u32,
    /// Scale-in threshold as a fraction of the target.
    pub target_tracking_scale_in_ratio: f64,
}

/// The Auto Scaling defaults.
pub fn asg() -> &'static AsgDefaults {
    static ASG: OnceLock<AsgDefaults> = OnceLock::new();
    ASG.get_or_init(|| toml::from_str(ASG_TOML).expect("models/asg.toml is checked by a test"))
}

/// The ALB defaults.
pub fn alb() -> &'static AlbDefaults {
    static ALB: OnceLock<AlbDefaults> = OnceLock::new();
    ALB.get_or_init(|| toml::from_str(ALB_TOML).expect("models/alb.toml is checked by a test"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_model_files_parse() {
        let alb: AlbDefaults = toml::from_str(ALB_TOML).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(alb.idle_timeout, SimDuration::from_secs(60));
        assert_eq!(alb.deregistration_delay, SimDuration::from_secs(300));
        let asg: AsgDefaults = toml::from_str(ASG_TOML).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(asg.default_cooldown, SimDuration::from_secs(300));
        assert_eq!(asg.target_tracking_scale_out_datapoints, 3);
        asg.launch_time
            .build(std::path::Path::new("."))
            .expect("launch time builds");
        let api: ApiGatewayDefaults =
            toml::from_str(API_GATEWAY_TOML).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(api.account_rate.per_second(), 10_000.0);
        assert_eq!(api.account_burst, 5_000);
        assert_eq!(api.integration_timeout, SimDuration::from_secs(29));
        assert_eq!(api.cache_ttl_max, SimDuration::from_secs(3600));
        let network: NetworkDefaults =
            toml::from_str(NETWORK_TOML).unwrap_or_else(|e| panic!("{e}"));
        assert!(network.hop < network.cross_az);
    }

    #[test]
    fn nlb_defaults_are_aws_documented_values() {
        let nlb: NlbDefaults = toml::from_str(NLB_TOML).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(nlb.idle_timeout, SimDuration::from_secs(350));
        assert_eq!(nlb.deregistration_delay, SimDuration::from_secs(300));
        assert_eq!(nlb.health_check_interval, SimDuration::from_secs(30));
        assert!(!nlb.cross_zone);
    }
}
