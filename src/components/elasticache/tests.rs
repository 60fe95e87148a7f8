//! The model file, Redis cluster's hash slots (against the specification's and `CLUSTER
//! KEYSLOT`'s values) and the slot ranges of shards.

use super::catalogue::{self, crc16, defaults, hash_slot, slot_shards};

#[test]
fn the_model_file_parses() {
    let d = defaults();
    assert_eq!(d.memory.reserved_memory_percent, 25);
    assert_eq!(d.cluster.hash_slots, 16384);
    assert_eq!(
        catalogue::node("cache.t3.micro").unwrap().maxmemory,
        536_870_912
    );
    let m = catalogue::node("cache.r6g.larg").unwrap_err();
    assert!(m.contains("did you mean `cache.r6g.large`"), "{m}");
}

#[test]
fn crc16_and_hash_slots_are_redis_cluster_s() {
    // The cluster specification's check value: CRC16("123456789") = 0x31C3.
    assert_eq!(crc16(b"123456789"), 0x31C3);
    // CLUSTER KEYSLOT foo = 12182 (the specification's example).
    assert_eq!(crc16(b"foo") % 16384, 12182);
    assert_eq!(hash_slot(123_456_789), 0x31C3);
    assert_eq!(hash_slot(0), crc16(b"0") % 16384);
}

#[test]
fn shards_hold_even_contiguous_slot_ranges() {
    for shards in [1u32, 2, 3, 7, 500] {
        let table = slot_shards(shards);
        assert_eq!(table.len(), 16384);
        let mut counts = vec![0u32; shards as usize];
        for pair in table.windows(2) {
            assert!(
                pair[1] == pair[0] || pair[1] == pair[0] + 1,
                "contiguous, in order"
            );
        }
        for &s in &table {
            counts[s as usize] += 1;
        }
        let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        assert!(hi - lo <= 1, "{shards} shards: {counts:?}");
    }
    // Three shards: 0–5460, 5461–10922, 10923–16383, as redis-cli --cluster create makes them.
    let t = slot_shards(3);
    assert_eq!((t[5460], t[5461], t[10922], t[10923]), (0, 1, 1, 2));
}
