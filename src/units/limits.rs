//! Upper bounds on what a scenario, the command line and a sweep may ask for.
//!
//! Every number a user writes has a bound, checked when the scenario is read and before anything
//! is sized from it, so that no input makes awsim allocate without end, overflow an integer or
//! stop simulated time. Where AWS has a quota the bound follows it, with room (quotas can be
//! raised on request); where it has none the bound is what a simulation can still run and what
//! the models' integers hold. README's "Limits" table gives each bound with its reason: keep the
//! two in step.

use std::fmt::Display;

/// An upper bound and the few words a message gives for it.
#[derive(Copy, Clone, Debug)]
pub struct Limit<T> {
    /// The largest value accepted.
    pub max: T,
    /// Why, for messages: "the largest EC2 instances have 896 vCPUs".
    pub why: &'static str,
}

impl<T: PartialOrd + Display + Copy> Limit<T> {
    /// `Err("must be at most MAX (WHY), found VALUE")` when `value` is above the bound.
    pub fn check(&self, value: T) -> Result<(), String> {
        if value > self.max {
            Err(format!(
                "must be at most {} ({}), found {value}",
                self.max, self.why
            ))
        } else {
            Ok(())
        }
    }
}

/// Events per second of any rate a scenario writes (workload rates, schedules, throttles, fault
/// rates), and of a closed loop whose answers come at once (`users` / mean `think`).
pub const RATE_PER_SECOND: Limit<f64> = Limit {
    max: 1e7,
    why: "awsim simulates a few million events per wall-clock second, so one simulated second \
          at this rate already takes it many seconds",
};

/// Users of one closed-loop workload.
pub const USERS: Limit<u32> = Limit {
    max: 1_000_000,
    why: "each user is a request or a timer in flight at every moment",
};

/// Instances of an `ec2_fleet`, and `min`, `max`, `desired` of an `asg` (and its scheduled
/// actions and adjustments).
pub const INSTANCES: Limit<u32> = Limit {
    max: 1_000_000,
    why: "a hundred times EC2 Fleet's quota of 10000 instances per fleet",
};

/// Requests an instance serves in parallel (`vcpus`).
pub const VCPUS: Limit<u32> = Limit {
    max: 1_024,
    why: "the largest EC2 instances have 896 vCPUs",
};

/// Pollers of a queue on each consumer instance (`pollers`).
pub const POLLERS: Limit<u32> = Limit {
    max: 1_024,
    why: "pollers are threads of one instance, which has at most 896 vCPUs",
};

/// Waiting requests per instance (`max_queue`).
pub const MAX_QUEUE: Limit<u32> = Limit {
    max: 1_000_000,
    why: "leave `max_queue` out for a queue without a bound",
};

/// Lambda concurrency: the account's, its unreserved minimum, a function's reserved and
/// provisioned concurrency.
pub const LAMBDA_CONCURRENCY: Limit<u32> = Limit {
    max: 100_000,
    why: "a hundred times Lambda's default account quota of 1000",
};

/// DynamoDB capacity units: `rcu`, `wcu` and the auto scaling bounds.
pub const CAPACITY_UNITS: Limit<u32> = Limit {
    max: 100_000_000,
    why: "2500 times DynamoDB's default table quota of 40000",
};

/// Partitions of a DynamoDB table, given or derived from its capacity and size.
pub const PARTITIONS: Limit<u32> = Limit {
    max: 1_000_000,
    why: "10 PB at 10 GB a partition; the model keeps each partition's buckets",
};

/// Size of a DynamoDB table (`table_gb`): [`PARTITIONS`] partitions of 10 GB.
pub const TABLE_GB: Limit<f64> = Limit {
    max: 1e7,
    why: "10 PB, a million partitions of 10 GB",
};

/// Attempts of a throttled DynamoDB request (`max_attempts`).
pub const ATTEMPTS: Limit<u32> = Limit {
    max: 100,
    why: "AWS SDKs make 3 to 11; each attempt is a timer",
};

/// Client connections of one workload (`clients` × `per_client`): each is kept in memory.
pub const CONNECTIONS: Limit<u64> = Limit {
    max: 1_000_000,
    why: "each connection is kept in memory for the whole run",
};

/// Size of the item a request carries (`item_kb`).
pub const ITEM_KB: Limit<f64> = Limit {
    max: 1_048_576.0,
    why: "1 GB; no AWS request carries more than 10 MB",
};

/// Alarm evaluation periods of a scaling policy (`evaluation_periods`).
pub const EVALUATION_PERIODS: Limit<u32> = Limit {
    max: 8_640,
    why: "CloudWatch evaluates at most one day, 8640 periods of 10 s",
};

/// Size of a scaling adjustment (`adjustment`, a step's `change`), either way.
pub const ADJUSTMENT: Limit<i64> = Limit {
    max: 1_000_000,
    why: "the most instances a group may have",
};

/// `[[workload]]` tables in one scenario.
pub const WORKLOADS: Limit<usize> = Limit {
    max: 10_000,
    why: "each is a row of every time-series interval",
};

/// `[[component]]` tables in one scenario.
pub const COMPONENTS: Limit<usize> = Limit {
    max: 10_000,
    why: "each is a row of every time-series interval",
};

/// `[[fault]]` tables in one scenario.
pub const FAULTS: Limit<usize> = Limit {
    max: 10_000,
    why: "each fault's windows are planned before the run",
};

/// Bytes of a scenario file: scenarios are written by hand; this keeps a wrong path (a log, a
/// device) from being read into memory.
pub const SCENARIO_BYTES: Limit<u64> = Limit {
    max: 16 * 1024 * 1024,
    why: "16 MiB; scenarios are written by hand",
};

/// Replications per sweep point (`sweep -r`).
pub const REPLICATIONS: Limit<u32> = Limit {
    max: 10_000,
    why: "a confidence interval narrows as 1/√r: 10000 replications give 1 % of one run's spread",
};

/// Points of a sweep grid (the product of the `--set` value counts).
pub const GRID_POINTS: Limit<u64> = Limit {
    max: 10_000,
    why: "each point is a scenario validated before anything runs",
};

/// Runs of one sweep (points × replications).
pub const SWEEP_RUNS: Limit<u64> = Limit {
    max: 100_000,
    why: "each run writes its own file",
};

// A group's workers (instances × vCPUs) fit the u32 counters of its pool, and the pollers of a
// queue (instances × pollers) fit the 30 bits of a poller's tag.
const _: () = assert!((INSTANCES.max as u64) * (VCPUS.max as u64) < 1 << 30);
const _: () = assert!((INSTANCES.max as u64) * (POLLERS.max as u64) < 1 << 30);
// Reserved concurrency of every function fits the u32 sums of the account's checks.
const _: () =
    assert!((LAMBDA_CONCURRENCY.max as u64) * (COMPONENTS.max as u64 + 1) < u32::MAX as u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_says_the_bound_its_reason_and_the_value() {
        assert_eq!(VCPUS.check(896), Ok(()));
        assert_eq!(VCPUS.check(1024), Ok(()));
        assert_eq!(
            VCPUS.check(65_537),
            Err(
                "must be at most 1024 (the largest EC2 instances have 896 vCPUs), found 65537"
                    .into()
            )
        );
        assert!(
            TABLE_GB
                .check(1e9)
                .unwrap_err()
                .contains("found 1000000000")
        );
    }

    #[test]
    fn derived_partitions_stay_within_their_limit() {
        assert!(TABLE_GB.max / 10.0 <= PARTITIONS.max as f64);
    }
}
