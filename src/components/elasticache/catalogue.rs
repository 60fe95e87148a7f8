//! The node types and defaults of `models/elasticache.toml`, and the cluster's key → hash slot
//! → shard mapping.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::EvictionPolicy;
use crate::engine::time::SimDuration;

const DEFAULTS_TOML: &str = include_str!("../../../models/elasticache.toml");

/// `models/elasticache.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Defaults {
    pub memory: MemoryDefaults,
    pub engine: EngineDefaults,
    pub cluster: ClusterDefaults,
    pub node_type: NodeTypes,
}

/// The default parameter group's memory rules.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemoryDefaults {
    #[allow(dead_code)]
    pub source: String,
    pub reserved_memory_percent: u8,
    pub maxmemory_policy: EvictionPolicy,
    pub item_overhead_bytes: u64,
}

/// The assumed engine time of one command.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EngineDefaults {
    #[allow(dead_code)]
    pub source: String,
    pub command_time: SimDuration,
}

/// Cluster mode's hash slots and shard limit.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClusterDefaults {
    #[allow(dead_code)]
    pub source: String,
    pub hash_slots: u16,
    pub max_shards: u32,
}

/// The node types.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NodeTypes {
    #[allow(dead_code)]
    pub source: String,
    pub hardware: BTreeMap<String, Node>,
}

/// A node type's memory and vCPUs.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// `maxmemory`: bytes the node gives Redis (data and the reserve).
    pub maxmemory: u64,
    /// Its vCPUs (one runs the engine's command thread).
    pub vcpus: u32,
}

/// The ElastiCache defaults.
pub(crate) fn defaults() -> &'static Defaults {
    static DEFAULTS: OnceLock<Defaults> = OnceLock::new();
    DEFAULTS.get_or_init(|| {
        toml::from_str(DEFAULTS_TOML).expect("models/elasticache.toml is checked by a test")
    })
}

/// The node type `name`, or why there is none (with the nearest name).
pub fn node(name: &str) -> Result<Node, String> {
    let types = &defaults().node_type.hardware;
    types.get(name).copied().ok_or_else(|| {
        let names: Vec<&str> = types.keys().map(String::as_str).collect();
        format!(
            "`{name}` is not a node type awsim knows ({}){}",
            names.join(", "),
            crate::units::did_you_mean(name, &names)
        )
    })
}

/// CRC16 as Redis cluster uses it (CCITT/XMODEM: polynomial 0x1021, initial value 0, no
/// reflection).
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in bytes {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The hash slot of key number `key`, whose name is its decimal digits (`"42"`).
pub fn hash_slot(key: u64) -> u16 {
    let mut digits = [0u8; 20];
    let mut n = key;
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    crc16(&digits[start..]) % defaults().cluster.hash_slots
}

/// The shard of each hash slot when `shards` shards split them into contiguous ranges as
/// `redis-cli --cluster create` does (and ElastiCache's default distribution): with S/n slots
/// per shard, shard i ends at slot round((i+1)·S/n − 1), the last at S − 1. Three shards hold
/// 0–5460, 5461–10922 and 10923–16383.
pub fn slot_shards(shards: u32) -> Vec<u16> {
    let slots = defaults().cluster.hash_slots as usize;
    let n = shards.max(1) as usize;
    let per_shard = slots as f64 / n as f64;
    let mut table = Vec::with_capacity(slots);
    for i in 0..n {
        let last = if i == n - 1 {
            slots - 1
        } else {
            ((i + 1) as f64 * per_shard - 1.0).round() as usize
        };
        table.resize(last + 1, i as u16);
    }
    table
}
