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

/// `models/kinesis.toml`: Kinesis Data Streams, DynamoDB Streams and the Lambda event source
/// mapping that reads them.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KinesisDefaults {
    /// Records a shard accepts per second.
    pub shard_write_records_per_s: u32,
    /// KB a shard accepts per second.
    pub shard_write_kb_per_s: f64,
    /// Largest record (KB).
    pub max_record_kb: f64,
    /// KB a shard serves per second to its standard consumers together.
    pub shard_read_kb_per_s: f64,
    /// GetRecords calls a shard serves per second to its standard consumers together.
    pub shard_reads_per_s: u32,
    /// Records one GetRecords returns at most.
    pub max_get_records: u32,
    /// KB per second per shard of an enhanced fan-out consumer.
    pub efo_read_kb_per_s: f64,
    /// Default retention.
    pub retention: SimDuration,
    /// Longest retention.
    pub max_retention: SimDuration,
    /// Producer SDK: attempts of a throttled PutRecord, the first included.
    pub max_attempts: u32,
    /// Producer SDK: base of the exponential back-off.
    pub retry_base: SimDuration,
    /// Producer SDK: longest back-off.
    pub max_backoff: SimDuration,
    /// Shards of a new on-demand stream.
    pub on_demand_initial_shards: u32,
    /// Most shards an on-demand stream scales to.
    pub on_demand_max_shards: u32,
    /// How often an on-demand stream reconsiders its shards (an assumption).
    pub on_demand_scaling_interval: SimDuration,
    /// Event source mapping: default records per batch.
    pub batch_size: u32,
    /// Event source mapping: polls of an idle Kinesis shard.
    pub poll_interval: SimDuration,
    /// Event source mapping: polls of an idle DynamoDB Streams shard.
    pub dynamodb_poll_interval: SimDuration,
    /// Event source mapping: wait before retrying a failed batch (an assumption).
    pub mapping_retry_delay: SimDuration,
    /// DynamoDB Streams retention.
    pub dynamodb_stream_retention: SimDuration,
    /// Records one DynamoDB Streams GetRecords returns at most.
    pub dynamodb_max_get_records: u32,
}

const KINESIS_TOML: &str = include_str!("../models/kinesis.toml");

/// The Kinesis defaults.
pub fn kinesis() -> &'static KinesisDefaults {
    static KINESIS: OnceLock<KinesisDefaults> = OnceLock::new();
    KINESIS.get_or_init(|| {
        toml::from_str(KINESIS_TOML).expect("models/kinesis.toml is checked by a test")
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
    /// An instance refresh's default minimum healthy percentage.
    pub refresh_min_healthy_percentage: u32,
    /// An instance refresh's default pause at a checkpoint.
    pub refresh_checkpoint_delay: SimDuration,
    /// The longest pause at a checkpoint.
    pub refresh_checkpoint_delay_max: SimDuration,
    /// The longest pause of a rolling update.
    pub rolling_pause_time_max: SimDuration,
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

const BURSTABLE_TOML: &str = include_str!("../models/burstable.toml");

/// `models/burstable.toml`: the CPU credits of burstable instance types (T2, T3, T3a, T4g).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurstableDefaults {
    /// Where the figures come from.
    pub source: String,
    /// When they were taken.
    pub taken: String,
    /// Launch credits per vCPU of a T2 instance launched in standard mode.
    pub t2_launch_credits_per_vcpu: f64,
    /// Price of surplus credits in unlimited mode, per vCPU-hour (60 credits).
    pub surplus_usd_per_vcpu_hour: f64,
    /// The credit figures of each burstable type, by name (`t3.micro`).
    #[serde(rename = "type")]
    pub types: std::collections::BTreeMap<String, BurstableType>,
}

/// The CPU credit figures of one burstable instance type.
#[derive(Copy, Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurstableType {
    /// Credits earned per hour (one credit: one vCPU busy for one minute).
    pub credits_per_hour: f64,
    /// The most earned credits it can accrue (24 hours of earnings).
    pub max_balance: f64,
    /// Baseline utilisation per vCPU (0..1): credits per hour / vCPUs / 60.
    pub baseline: f64,
}

/// The burstable instance figures.
pub fn burstable() -> &'static BurstableDefaults {
    static BURSTABLE: OnceLock<BurstableDefaults> = OnceLock::new();
    BURSTABLE.get_or_init(|| {
        toml::from_str(BURSTABLE_TOML).expect("models/burstable.toml is checked by a test")
    })
}

const CODEDEPLOY_TOML: &str = include_str!("../models/codedeploy.toml");

/// One predefined CodeDeploy configuration of `models/codedeploy.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredefinedShift {
    /// Its name without the `CodeDeployDefault.Lambda` prefix (`Canary10Percent5Minutes`).
    pub name: String,
    /// `all_at_once`, `canary` or `linear`.
    pub kind: String,
    /// Percentage of traffic shifted by an increment.
    pub percent: u32,
    /// Minutes between increments.
    pub minutes: u32,
}

/// `models/codedeploy.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeDeployDefaults {
    /// The predefined configurations.
    pub predefined: Vec<PredefinedShift>,
    /// Longest interval of a custom configuration (minutes).
    pub max_interval_minutes: u32,
}

/// The CodeDeploy configurations.
pub fn codedeploy() -> &'static CodeDeployDefaults {
    static CODEDEPLOY: OnceLock<CodeDeployDefaults> = OnceLock::new();
    CODEDEPLOY.get_or_init(|| {
        toml::from_str(CODEDEPLOY_TOML).expect("models/codedeploy.toml is checked by a test")
    })
}

const PRICES_TOML: &str = include_str!("../models/prices.toml");

/// `models/prices.toml`: AWS list prices of one region, in the unit AWS bills.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    /// The region the prices are of.
    pub region: String,
    /// The currency of every price.
    pub currency: String,
    /// EC2 instances.
    pub ec2: Ec2Prices,
    /// Lambda functions.
    pub lambda: LambdaPrices,
    /// DynamoDB tables.
    pub dynamodb: DynamoDbPrices,
    /// SQS queues.
    pub sqs: SqsPrices,
    /// API Gateway REST APIs.
    pub api_gateway: ApiGatewayPrices,
    /// Application Load Balancers.
    pub alb: LoadBalancerPrices,
    /// Network Load Balancers.
    pub nlb: NlbPrices,
    /// Data transfer inside the region.
    pub data_transfer: DataTransferPrices,
}

/// EC2 prices: on-demand per instance-hour, and the discounts of the other purchase options.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ec2Prices {
    /// Where the figures come from.
    pub source: String,
    /// When they were taken.
    pub taken: String,
    /// Time billed at least each time an instance starts.
    pub minimum_billed: SimDuration,
    /// Default share taken off the on-demand price by Spot (an assumption).
    pub spot_discount: f64,
    /// Default share taken off the on-demand price by a Savings Plan (an assumption).
    pub savings_plan_discount: f64,
    /// The catalogue of instance types, by name (`c7g.large`).
    pub instance: std::collections::BTreeMap<String, toml::Spanned<InstanceType>>,
}

/// One EC2 instance type.
#[derive(Copy, Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceType {
    /// Its vCPUs.
    pub vcpus: u32,
    /// Its memory (GiB).
    pub memory_gib: f64,
    /// On-demand Linux price per instance-hour.
    pub usd_per_hour: f64,
}

impl Ec2Prices {
    /// The instance type named `name`, or why there is none (with the nearest name).
    pub fn instance_type(&self, name: &str) -> Result<InstanceType, String> {
        match self.instance.get(name) {
            Some(t) => Ok(*t.get_ref()),
            None => {
                let names: Vec<&str> = self.instance.keys().map(String::as_str).collect();
                let mut families: Vec<&str> = names
                    .iter()
                    .map(|n| n.split('.').next().unwrap_or(n))
                    .collect();
                families.dedup();
                Err(format!(
                    "`{name}` is not an instance type of the price list (families {}){}",
                    families.join(", "),
                    crate::units::did_you_mean(name, &names)
                ))
            }
        }
    }
}

/// Lambda prices.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaPrices {
    /// Where the figures come from.
    pub source: String,
    /// When they were taken.
    pub taken: String,
    /// Per invocation.
    pub usd_per_request: f64,
    /// Duration prices of x86_64 functions.
    pub x86_64: LambdaDurationPrices,
    /// Duration prices of arm64 functions.
    pub arm64: LambdaDurationPrices,
}

/// Lambda duration prices of one architecture.
#[derive(Copy, Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaDurationPrices {
    /// Per GB-second of duration (on-demand).
    pub usd_per_gb_second: f64,
    /// Per GB-second of provisioned concurrency configured, used or not.
    pub provisioned_usd_per_gb_second: f64,
    /// Per GB-second of duration run on provisioned concurrency.
    pub provisioned_duration_usd_per_gb_second: f64,
}

/// DynamoDB prices.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynamoDbPrices {
    /// Where the figures come from.
    pub source: String,
    /// When they were taken.
    pub taken: String,
    /// Per provisioned read capacity unit-hour.
    pub usd_per_rcu_hour: f64,
    /// Per provisioned write capacity unit-hour.
    pub usd_per_wcu_hour: f64,
    /// On-demand, per million read request units.
    pub usd_per_million_rru: f64,
    /// On-demand, per million write request units.
    pub usd_per_million_wru: f64,
    /// Storage per GB-month.
    pub usd_per_gb_month: f64,
}

/// SQS prices.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqsPrices {
    /// Where the figures come from.
    pub source: String,
    /// When they were taken.
    pub taken: String,
    /// Per million requests to a standard queue.
    pub usd_per_million_standard: f64,
    /// Per million requests to a FIFO queue.
    pub usd_per_million_fifo: f64,
}

/// API Gateway prices.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiGatewayPrices {
    /// Where the figures come from.
    pub source: String,
    /// When they were taken.
    pub taken: String,
    /// Per million REST API requests.
    pub usd_per_million_rest: f64,
    /// The response cache, per hour of each size AWS offers.
    pub cache: Vec<CacheSizePrice>,
}

/// The hourly price of one API Gateway cache size.
#[derive(Copy, Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSizePrice {
    /// Cache memory (GB).
    pub gb: f64,
    /// Per hour.
    pub usd_per_hour: f64,
}

impl ApiGatewayPrices {
    /// The hourly price of a cache of `gb`, or why there is none (with the sizes there are).
    pub fn cache_usd_per_hour(&self, gb: f64) -> Result<f64, String> {
        self.cache
            .iter()
            .find(|c| c.gb == gb)
            .map(|c| c.usd_per_hour)
            .ok_or_else(|| {
                let sizes: Vec<String> = self.cache.iter().map(|c| c.gb.to_string()).collect();
                format!(
                    "the price list has no API Gateway cache of {gb} GB; its sizes are {} GB",
                    sizes.join(", ")
                )
            })
    }
}

/// What one load balancer capacity unit (ALB LCU, NLB NLCU) allows per hour: the unit used is
/// the largest of these dimensions.
#[derive(Copy, Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityUnit {
    /// New connections per second.
    pub new_connections_per_s: f64,
    /// Active connections (sampled per minute).
    pub active_connections: f64,
    /// GB processed per hour.
    pub processed_gb_per_hour: f64,
    /// Rule evaluations per second (ALB only).
    pub rule_evaluations_per_s: Option<f64>,
}

/// Application Load Balancer prices.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancerPrices {
    /// Where the figures come from.
    pub source: String,
    /// When they were taken.
    pub taken: String,
    /// Per hour or partial hour the load balancer runs.
    pub usd_per_hour: f64,
    /// Per load balancer capacity unit-hour.
    pub usd_per_lcu_hour: f64,
    /// What one LCU allows.
    pub lcu: CapacityUnit,
}

/// Network Load Balancer prices.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NlbPrices {
    /// Where the figures come from.
    pub source: String,
    /// When they were taken.
    pub taken: String,
    /// Per hour or partial hour the load balancer runs.
    pub usd_per_hour: f64,
    /// Per network load balancer capacity unit-hour.
    pub usd_per_nlcu_hour: f64,
    /// What one NLCU allows.
    pub nlcu: CapacityUnit,
}

/// Data transfer prices.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataTransferPrices {
    /// Where the figures come from.
    pub source: String,
    /// When they were taken.
    pub taken: String,
    /// Per GB between availability zones, charged in each direction.
    pub usd_per_gb_inter_az_each_direction: f64,
}

/// Parses and checks a price list (`file` names it in messages): a syntax error or a price
/// that is not a non-negative number comes back located (`file:line:column`).
pub fn parse_prices(text: &str, file: &str) -> Result<Prices, String> {
    let prices: Prices = toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|s| line_column(text, s.start))
            .unwrap_or_default();
        format!("{file}{at}: {}", e.message())
    })?;
    let price = |field: String, value: f64| -> Result<(), String> {
        if value.is_finite() && value >= 0.0 {
            Ok(())
        } else {
            Err(format!(
                "{file}: {field} must be a price of zero or more, found {value}"
            ))
        }
    };
    let discount = |field: &str, value: f64| -> Result<(), String> {
        if (0.0..1.0).contains(&value) {
            Ok(())
        } else {
            Err(format!(
                "{file}: ec2.{field} must be a share of the on-demand price from 0 up to (not \
                 including) 1, found {value}"
            ))
        }
    };
    discount("spot_discount", prices.ec2.spot_discount)?;
    discount("savings_plan_discount", prices.ec2.savings_plan_discount)?;
    if prices.ec2.instance.is_empty() {
        return Err(format!("{file}: ec2.instance lists no instance type"));
    }
    for (name, t) in &prices.ec2.instance {
        let at = line_column(text, t.span().start);
        let t = t.get_ref();
        if t.vcpus == 0 || crate::units::limits::VCPUS.check(t.vcpus).is_err() {
            return Err(format!(
                "{file}{at}: ec2.instance.\"{name}\".vcpus must be from 1 to {}, found {}",
                crate::units::limits::VCPUS.max,
                t.vcpus
            ));
        }
        if !(t.memory_gib.is_finite() && t.memory_gib > 0.0) {
            return Err(format!(
                "{file}{at}: ec2.instance.\"{name}\".memory_gib must be a positive number, \
                 found {}",
                t.memory_gib
            ));
        }
        if !(t.usd_per_hour.is_finite() && t.usd_per_hour > 0.0) {
            return Err(format!(
                "{file}{at}: ec2.instance.\"{name}\".usd_per_hour must be a positive price, \
                 found {}",
                t.usd_per_hour
            ));
        }
    }
    let l = &prices.lambda;
    price("lambda.usd_per_request".into(), l.usd_per_request)?;
    for (arch, d) in [("x86_64", &l.x86_64), ("arm64", &l.arm64)] {
        price(
            format!("lambda.{arch}.usd_per_gb_second"),
            d.usd_per_gb_second,
        )?;
        price(
            format!("lambda.{arch}.provisioned_usd_per_gb_second"),
            d.provisioned_usd_per_gb_second,
        )?;
        price(
            format!("lambda.{arch}.provisioned_duration_usd_per_gb_second"),
            d.provisioned_duration_usd_per_gb_second,
        )?;
    }
    let d = &prices.dynamodb;
    for (field, value) in [
        ("dynamodb.usd_per_rcu_hour", d.usd_per_rcu_hour),
        ("dynamodb.usd_per_wcu_hour", d.usd_per_wcu_hour),
        ("dynamodb.usd_per_million_rru", d.usd_per_million_rru),
        ("dynamodb.usd_per_million_wru", d.usd_per_million_wru),
        ("dynamodb.usd_per_gb_month", d.usd_per_gb_month),
        (
            "sqs.usd_per_million_standard",
            prices.sqs.usd_per_million_standard,
        ),
        ("sqs.usd_per_million_fifo", prices.sqs.usd_per_million_fifo),
        (
            "api_gateway.usd_per_million_rest",
            prices.api_gateway.usd_per_million_rest,
        ),
        ("alb.usd_per_hour", prices.alb.usd_per_hour),
        ("alb.usd_per_lcu_hour", prices.alb.usd_per_lcu_hour),
        ("nlb.usd_per_hour", prices.nlb.usd_per_hour),
        ("nlb.usd_per_nlcu_hour", prices.nlb.usd_per_nlcu_hour),
        (
            "data_transfer.usd_per_gb_inter_az_each_direction",
            prices.data_transfer.usd_per_gb_inter_az_each_direction,
        ),
    ] {
        price(field.into(), value)?;
    }
    if prices.api_gateway.cache.is_empty() {
        return Err(format!("{file}: api_gateway.cache lists no cache size"));
    }
    for c in &prices.api_gateway.cache {
        if !(c.gb.is_finite() && c.gb > 0.0) {
            return Err(format!(
                "{file}: api_gateway.cache sizes must be positive GB, found {}",
                c.gb
            ));
        }
        price(
            format!("api_gateway.cache ({} GB).usd_per_hour", c.gb),
            c.usd_per_hour,
        )?;
    }
    for (field, unit) in [("alb.lcu", &prices.alb.lcu), ("nlb.nlcu", &prices.nlb.nlcu)] {
        for (dimension, value) in [
            ("new_connections_per_s", Some(unit.new_connections_per_s)),
            ("active_connections", Some(unit.active_connections)),
            ("processed_gb_per_hour", Some(unit.processed_gb_per_hour)),
            ("rule_evaluations_per_s", unit.rule_evaluations_per_s),
        ] {
            if let Some(v) = value
                && !(v.is_finite() && v > 0.0)
            {
                return Err(format!(
                    "{file}: {field}.{dimension} must be a positive amount, found {v}"
                ));
            }
        }
    }
    Ok(prices)
}

/// A price list and where it came from.
#[derive(Clone, Debug)]
pub struct PriceList {
    /// The prices.
    pub prices: Prices,
    /// The file they were read from, or `embedded` for `models/prices.toml`.
    pub file: String,
}

impl PriceList {
    /// The embedded `models/prices.toml`.
    pub fn embedded() -> PriceList {
        PriceList {
            prices: embedded_prices().clone(),
            file: "embedded".into(),
        }
    }

    /// The price list in the file at `path` (read whole, at most `max_bytes`; the bytes given
    /// for it instead, [`crate::files::with_given_files`]), in the format of
    /// `models/prices.toml`; a problem comes back located (`file:line:column`).
    pub fn load(path: &std::path::Path, max_bytes: u64) -> Result<PriceList, String> {
        use std::io::Read;
        let name = path.display().to_string();
        let mut bytes = Vec::new();
        match crate::files::given_file(path) {
            Some(given) => bytes.extend(given.iter().take(max_bytes as usize + 1)),
            None => std::fs::File::open(path)
                .and_then(|f| f.take(max_bytes + 1).read_to_end(&mut bytes))
                .map(drop)
                .map_err(|e| format!("cannot read the price file {name}: {e}"))?,
        }
        if bytes.len() as u64 > max_bytes {
            return Err(format!(
                "the price file {name} is larger than {max_bytes} bytes: is it a price list?"
            ));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| format!("the price file {name} is not UTF-8 text"))?;
        Ok(PriceList {
            prices: parse_prices(&text, &name)?,
            file: name,
        })
    }

    /// The dates its groups were taken, oldest first, without repeats (`2026-12-07`).
    pub fn taken(&self) -> String {
        let p = &self.prices;
        let mut dates = vec![
            &p.ec2.taken,
            &p.lambda.taken,
            &p.dynamodb.taken,
            &p.sqs.taken,
            &p.api_gateway.taken,
            &p.alb.taken,
            &p.nlb.taken,
            &p.data_transfer.taken,
        ];
        dates.sort();
        dates.dedup();
        dates
            .iter()
            .map(|d| d.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `:line:column` (1-based) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |n| before.len() - n - 1)
        + 1;
    format!(":{line}:{column}")
}

/// The price list embedded from `models/prices.toml`. A run bills with the price list its
/// scenario resolved ([`PriceList`], through `BuildContext::prices`); this one also serves as
/// the catalogue of instance types (their vCPUs) when a scenario is checked.
pub fn embedded_prices() -> &'static Prices {
    static PRICES: OnceLock<Prices> = OnceLock::new();
    PRICES.get_or_init(|| {
        parse_prices(PRICES_TOML, "models/prices.toml")
            .expect("models/prices.toml is checked by a test")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_model_files_parse() {
        let codedeploy: CodeDeployDefaults =
            toml::from_str(CODEDEPLOY_TOML).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(codedeploy.predefined.len(), 9);
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
        let kinesis: KinesisDefaults =
            toml::from_str(KINESIS_TOML).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(kinesis.shard_write_records_per_s, 1000);
        let network: NetworkDefaults =
            toml::from_str(NETWORK_TOML).unwrap_or_else(|e| panic!("{e}"));
        assert!(network.hop < network.cross_az);
    }

    #[test]
    fn burstable_types_earn_their_baseline_and_accrue_a_day_of_it() {
        let b: BurstableDefaults = toml::from_str(BURSTABLE_TOML).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.types.len(), 26);
        assert_eq!(b.t2_launch_credits_per_vcpu, 30.0);
        assert_eq!(b.surplus_usd_per_vcpu_hour, 0.05);
        for (name, t) in &b.types {
            // Every type is in the catalogue, which gives its vCPUs.
            let vcpus = embedded_prices()
                .ec2
                .instance_type(name)
                .unwrap_or_else(|e| panic!("{e}"))
                .vcpus;
            // AWS's formula: credits per hour = baseline × vCPUs × 60.
            let earned = t.baseline * vcpus as f64 * 60.0;
            assert!((earned - t.credits_per_hour).abs() < 1e-9, "{name}");
            assert!(
                (t.max_balance - 24.0 * t.credits_per_hour).abs() < 1e-9,
                "{name}"
            );
        }
    }

    #[test]
    fn nlb_defaults_are_aws_documented_values() {
        let nlb: NlbDefaults = toml::from_str(NLB_TOML).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(nlb.idle_timeout, SimDuration::from_secs(350));
        assert_eq!(nlb.deregistration_delay, SimDuration::from_secs(300));
        assert_eq!(nlb.health_check_interval, SimDuration::from_secs(30));
        assert!(!nlb.cross_zone);
    }

    #[test]
    fn embedded_prices_are_valid_and_cover_the_catalogue() {
        let prices =
            parse_prices(PRICES_TOML, "models/prices.toml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(prices.region, "us-east-1");
        assert_eq!(prices.ec2.minimum_billed, SimDuration::from_secs(60));
        // Every family the price list promises, with the sizes it promises.
        let mut expected = Vec::new();
        for family in ["t3", "t4g"] {
            for size in ["micro", "small", "medium", "large", "xlarge", "2xlarge"] {
                expected.push(format!("{family}.{size}"));
            }
        }
        for family in ["t2", "t3a"] {
            for size in [
                "nano", "micro", "small", "medium", "large", "xlarge", "2xlarge",
            ] {
                expected.push(format!("{family}.{size}"));
            }
        }
        for family in ["m5", "m6i", "m7g", "c5", "c6i", "c7g", "r5", "r6i"] {
            for size in ["large", "xlarge", "2xlarge", "4xlarge"] {
                expected.push(format!("{family}.{size}"));
            }
        }
        for name in &expected {
            let t = prices
                .ec2
                .instance_type(name)
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(
                t.vcpus >= 1 && t.memory_gib > 0.0 && t.usd_per_hour > 0.0,
                "{name}"
            );
        }
        assert_eq!(prices.ec2.instance.len(), expected.len());
        // A size up doubles vCPUs, memory and price within a family.
        for family in ["m5", "m6i", "m7g", "c5", "c6i", "c7g", "r5", "r6i"] {
            let t = |s: &str| prices.ec2.instance_type(&format!("{family}.{s}")).unwrap();
            for (small, big) in [
                ("large", "xlarge"),
                ("xlarge", "2xlarge"),
                ("2xlarge", "4xlarge"),
            ] {
                assert_eq!(t(big).vcpus, 2 * t(small).vcpus, "{family}.{big}");
                assert!((t(big).usd_per_hour - 2.0 * t(small).usd_per_hour).abs() < 1e-9);
            }
        }
        let c7g = prices.ec2.instance_type("c7g.large").unwrap();
        assert_eq!(
            (c7g.vcpus, c7g.memory_gib, c7g.usd_per_hour),
            (2, 4.0, 0.0725)
        );
        assert!(prices.lambda.arm64.usd_per_gb_second < prices.lambda.x86_64.usd_per_gb_second);
    }

    #[test]
    fn an_unknown_instance_type_names_the_nearest() {
        let err = embedded_prices()
            .ec2
            .instance_type("c7g.lrage")
            .unwrap_err();
        assert!(err.contains("did you mean `c7g.large`?"), "{err}");
    }

    #[test]
    fn a_bad_price_list_is_a_located_error() {
        let bad_price = PRICES_TOML.replace("usd_per_hour = 0.0725", "usd_per_hour = -1");
        let err = parse_prices(&bad_price, "p.toml").unwrap_err();
        let line = PRICES_TOML
            .lines()
            .position(|l| l.contains("usd_per_hour = 0.0725"))
            .unwrap()
            + 1;
        assert!(err.starts_with(&format!("p.toml:{line}:")), "{err}");
        assert!(
            err.contains("\"c7g.large\".usd_per_hour must be a positive price"),
            "{err}"
        );
        let no_vcpus = PRICES_TOML.replace(
            "vcpus = 2, memory_gib = 4, usd_per_hour = 0.0725",
            "memory_gib = 4, usd_per_hour = 0.0725",
        );
        let err = parse_prices(&no_vcpus, "p.toml").unwrap_err();
        assert!(
            err.starts_with(&format!("p.toml:{line}:")) && err.contains("vcpus"),
            "{err}"
        );
        let syntax = PRICES_TOML.replace("spot_discount = 0.70", "spot_discount = ");
        let err = parse_prices(&syntax, "p.toml").unwrap_err();
        assert!(err.starts_with("p.toml:"), "{err}");
        let discount = PRICES_TOML.replace("spot_discount = 0.70", "spot_discount = 1.5");
        let err = parse_prices(&discount, "p.toml").unwrap_err();
        assert!(err.contains("spot_discount"), "{err}");
    }
}
