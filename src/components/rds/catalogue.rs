//! The DB instance classes (`models/rds.toml`, sharing the EC2 catalogue of
//! `models/prices.toml` where a class is an EC2 instance type) and the engines' default
//! `max_connections` formulas.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::engine::time::SimDuration;

const DEFAULTS_TOML: &str = include_str!("../../../models/rds.toml");

/// `models/rds.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Defaults {
    pub max_connections: ConnectionFormulas,
    pub pool: PoolDefaults,
    pub read_replicas: ReplicaDefaults,
    pub multi_az: MultiAzDefaults,
    pub instance_class: ClassCatalogue,
}

/// The default parameter groups' `max_connections` formulas.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConnectionFormulas {
    #[allow(dead_code)]
    pub source: String,
    pub mysql_bytes_per_connection: u64,
    pub postgres_bytes_per_connection: u64,
    pub postgres_cap: u64,
}

/// The assumed client pool.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PoolDefaults {
    pub timeout: SimDuration,
}

/// Read replicas: how many, and the assumed time a write takes to reach one.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplicaDefaults {
    #[allow(dead_code)]
    pub source: String,
    pub max: u32,
    pub ship_delay: SimDuration,
}

/// Multi-AZ failover, Single-AZ recovery, and how much of a failover RDS Proxy hides.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MultiAzDefaults {
    #[allow(dead_code)]
    pub source: String,
    pub failover_time: SimDuration,
    pub failover_time_min: SimDuration,
    pub failover_time_max: SimDuration,
    pub recovery_time: SimDuration,
    pub recovery_time_max: SimDuration,
    /// The share of a failover window that clients behind RDS Proxy still wait through.
    pub proxy_failover_share: f64,
}

/// Which classes exist, and the hardware of those the EC2 catalogue does not carry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClassCatalogue {
    #[allow(dead_code)]
    pub source: String,
    pub ec2_families: Vec<String>,
    pub only_db: BTreeMap<String, Hardware>,
}

/// A DB instance class's hardware.
#[derive(Copy, Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hardware {
    /// Its vCPUs: the workers that run queries.
    pub vcpus: u32,
    /// Its memory (GiB).
    pub memory_gib: f64,
}

/// The RDS defaults.
pub(crate) fn defaults() -> &'static Defaults {
    static DEFAULTS: OnceLock<Defaults> = OnceLock::new();
    DEFAULTS.get_or_init(|| {
        toml::from_str(DEFAULTS_TOML).expect("models/rds.toml is checked by a test")
    })
}

/// Every DB instance class awsim knows, by name, with its hardware: `db.<type>` for each EC2
/// type of the embedded price list in the families RDS offers, and the DB-only classes.
pub fn classes() -> BTreeMap<String, Hardware> {
    let d = defaults();
    let mut classes = d.instance_class.only_db.clone();
    for (name, t) in &crate::defaults::embedded_prices().ec2.instance {
        let family = name.split('.').next().unwrap_or(name);
        if d.instance_class.ec2_families.iter().any(|f| f == family) {
            let t = t.get_ref();
            classes.insert(
                format!("db.{name}"),
                Hardware {
                    vcpus: t.vcpus,
                    memory_gib: t.memory_gib,
                },
            );
        }
    }
    classes
}

/// The hardware of class `name`, or why there is none (with the nearest name).
pub fn class(name: &str) -> Result<Hardware, String> {
    let classes = classes();
    match classes.get(name) {
        Some(h) => Ok(*h),
        None => {
            let names: Vec<&str> = classes.keys().map(String::as_str).collect();
            let mut families: Vec<&str> = names
                .iter()
                .map(|n| n.rsplit_once('.').map_or(*n, |(f, _)| f))
                .collect();
            families.dedup();
            Err(format!(
                "`{name}` is not a DB instance class awsim knows (families {}){}",
                families.join(", "),
                crate::units::did_you_mean(name, &names)
            ))
        }
    }
}

/// A database engine.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// MySQL (and MariaDB, which shares its formula).
    Mysql,
    /// PostgreSQL.
    #[default]
    Postgres,
}

impl Engine {
    /// The name scenarios use.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Mysql => "mysql",
            Engine::Postgres => "postgres",
        }
    }

    /// The default parameter group's `max_connections` for `memory_gib` GiB of memory.
    pub fn default_max_connections(self, memory_gib: f64) -> u32 {
        let f = &defaults().max_connections;
        let bytes = (memory_gib * (1u64 << 30) as f64) as u64;
        let n = match self {
            Engine::Mysql => bytes / f.mysql_bytes_per_connection,
            Engine::Postgres => (bytes / f.postgres_bytes_per_connection).min(f.postgres_cap),
        };
        n.clamp(1, u32::MAX as u64) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_file_parses_and_shares_the_ec2_catalogue() {
        let classes = classes();
        assert_eq!(
            classes["db.m5.large"],
            Hardware {
                vcpus: 2,
                memory_gib: 8.0
            }
        );
        assert_eq!(classes["db.r6g.large"].memory_gib, 16.0);
        assert!(!classes.contains_key("db.c5.large"), "RDS has no c5 class");
        assert_eq!(defaults().pool.timeout, SimDuration::from_secs(30));
        let m = &defaults().multi_az;
        assert_eq!(m.failover_time, SimDuration::from_secs(90));
        assert!(m.failover_time_min <= m.failover_time && m.failover_time <= m.failover_time_max);
        assert!(m.recovery_time <= m.recovery_time_max);
        assert!(m.proxy_failover_share > 0.0 && m.proxy_failover_share <= 1.0);
    }

    #[test]
    fn max_connections_follow_the_documented_formulas() {
        // MySQL: floor(bytes / 12 582 880); db.t3.micro (1 GiB) is the often-quoted 85.
        assert_eq!(Engine::Mysql.default_max_connections(1.0), 85);
        assert_eq!(Engine::Mysql.default_max_connections(4.0), 341);
        assert_eq!(Engine::Mysql.default_max_connections(16.0), 1365);
        // PostgreSQL: floor(bytes / 9 531 392), at most 5 000.
        assert_eq!(Engine::Postgres.default_max_connections(1.0), 112);
        assert_eq!(Engine::Postgres.default_max_connections(16.0), 1802);
        assert_eq!(Engine::Postgres.default_max_connections(64.0), 5000);
    }

    #[test]
    fn an_unknown_class_names_the_nearest() {
        let m = class("db.m5.larg").unwrap_err();
        assert!(m.contains("did you mean `db.m5.large`"), "{m}");
    }
}
