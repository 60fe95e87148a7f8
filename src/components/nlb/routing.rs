//! Where a new connection goes: the NLB node its client's DNS resolution reaches, and the
//! target the flow hash picks there. Pure functions of the connection and the candidate
//! targets, so the choice is stable across runs, Rust versions and platforms.

use crate::engine::rng::fnv1a64;
use crate::message::Connection;

/// IP protocol number of TCP, the first field of the flow hash.
pub const PROTOCOL_TCP: u8 = 6;
/// The listener's port.
pub const LISTENER_PORT: u16 = 80;

/// The address of the NLB's node in AZ `az`: `172.31.<az>.10`.
pub fn node_ip(az: u8) -> u32 {
    0xAC1F_000A | ((az as u32) << 8)
}

/// The flow hash: FNV-1a 64 over (protocol, source IP, source port, destination IP, destination
/// port, initial sequence number), each in network byte order. Stable across Rust versions and
/// runs (no `HashMap` seed involved).
pub fn flow_hash(
    protocol: u8,
    source_ip: u32,
    source_port: u16,
    destination_ip: u32,
    destination_port: u16,
    isn: u32,
) -> u64 {
    let mut bytes = [0u8; 17];
    bytes[0] = protocol;
    bytes[1..5].copy_from_slice(&source_ip.to_be_bytes());
    bytes[5..7].copy_from_slice(&source_port.to_be_bytes());
    bytes[7..11].copy_from_slice(&destination_ip.to_be_bytes());
    bytes[11..13].copy_from_slice(&destination_port.to_be_bytes());
    bytes[13..17].copy_from_slice(&isn.to_be_bytes());
    fnv1a64(&bytes)
}

/// Which node (AZ) a new connection reaches: a hash of its source, standing for the client's
/// DNS resolution of the NLB's name.
pub fn dns_hash(connection: &Connection) -> u64 {
    let mut bytes = [0u8; 13];
    bytes[..3].copy_from_slice(b"dns");
    bytes[3..7].copy_from_slice(&connection.source_ip.to_be_bytes());
    bytes[7..9].copy_from_slice(&connection.source_port.to_be_bytes());
    bytes[9..13].copy_from_slice(&connection.isn.to_be_bytes());
    fnv1a64(&bytes)
}

/// Maps a 64-bit hash to `0..n` by its high bits (`hash × n / 2⁶⁴`): FNV-1a's low bits depend
/// only on the inputs' low bits, its high bits on all of them.
pub fn reduce(hash: u64, n: usize) -> usize {
    ((hash as u128 * n as u128) >> 64) as usize
}

/// The target of a new connection among `pool` (candidate targets in instance order, `az_of`
/// giving their AZ): see [`choose_node_and_target`].
pub fn choose_target(
    connection: &Connection,
    pool: &[u32],
    az_of: impl Fn(u32) -> u8,
    cross_zone: bool,
) -> Option<u32> {
    choose_node_and_target(connection, pool, az_of, cross_zone).map(|(_, target)| target)
}

/// The node (its AZ) and target of a new connection among `pool` (candidate targets in
/// instance order, `az_of` giving their AZ): its node by [`dns_hash`] among the AZs of the
/// pool, then a target by [`flow_hash`] among the pool's targets in that AZ (or all of them
/// with `cross_zone`).
pub fn choose_node_and_target(
    connection: &Connection,
    pool: &[u32],
    az_of: impl Fn(u32) -> u8,
    cross_zone: bool,
) -> Option<(u8, u32)> {
    if pool.is_empty() {
        return None;
    }
    // AZs with candidates, as a bit set (at most `region::MAX_AZS`, in index order): no
    // allocation per connection.
    let present = pool.iter().fold(0u32, |set, &t| set | 1 << az_of(t));
    let pick = reduce(dns_hash(connection), present.count_ones() as usize);
    let node = (0..32u8)
        .filter(|&az| present & (1 << az) != 0)
        .nth(pick)
        .expect("pick < number of AZs present");
    let hash = flow_hash(
        PROTOCOL_TCP,
        connection.source_ip,
        connection.source_port,
        node_ip(node),
        LISTENER_PORT,
        connection.isn,
    );
    if cross_zone {
        return Some((node, pool[reduce(hash, pool.len())]));
    }
    let local = pool.iter().filter(|&&t| az_of(t) == node).count();
    let k = reduce(hash, local);
    pool.iter()
        .copied()
        .filter(|&t| az_of(t) == node)
        .nth(k)
        .map(|t| (node, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(source_ip: u32, source_port: u16, isn: u32) -> Connection {
        Connection {
            source_ip,
            source_port,
            isn,
            opens: true,
            single: false,
        }
    }

    #[test]
    fn without_cross_zone_a_node_keeps_to_its_own_az() {
        // Targets 0, 1 in AZ 0; 2..=9 in AZ 1 (the notes' 2 + 8 example).
        let az_of = |t: u32| if t < 2 { 0 } else { 1 };
        let pool: Vec<u32> = (0..10).collect();
        let mut by_target = [0u32; 10];
        let mut by_az_node = [[0u32; 2]; 2];
        let n = 100_000;
        for i in 0..n {
            let c = connection(
                0x0A00_0001 + (i % 50),
                32768 + (i % 20_000) as u16,
                i.wrapping_mul(2_654_435_761),
            );
            let node = [0u8, 1][reduce(dns_hash(&c), 2)];
            let t = choose_target(&c, &pool, az_of, false).unwrap();
            by_target[t as usize] += 1;
            by_az_node[node as usize][az_of(t) as usize] += 1;
        }
        // Never across zones.
        assert_eq!(by_az_node[0][1], 0);
        assert_eq!(by_az_node[1][0], 0);
        // Each node gets half; AZ 0's two targets a quarter each, AZ 1's eight 1/16 each.
        for (t, &count) in by_target.iter().enumerate() {
            let share = count as f64 / n as f64;
            let expected = if t < 2 { 0.25 } else { 0.0625 };
            // Binomial sd at most sqrt(0.25·0.75/1e5) = 0.0014: 5 sd.
            assert!((share - expected).abs() < 0.007, "target {t}: {share}");
        }
    }

    #[test]
    fn with_cross_zone_every_target_gets_the_same_share() {
        let az_of = |t: u32| if t < 2 { 0 } else { 1 };
        let pool: Vec<u32> = (0..10).collect();
        let mut by_target = [0u32; 10];
        let n = 100_000;
        for i in 0..n {
            let c = connection(
                0x0A00_0001 + (i % 50),
                32768 + (i % 20_000) as u16,
                i.wrapping_mul(2_654_435_761),
            );
            by_target[choose_target(&c, &pool, az_of, true).unwrap() as usize] += 1;
        }
        for (t, &count) in by_target.iter().enumerate() {
            let share = count as f64 / n as f64;
            // sd sqrt(0.1·0.9/1e5) = 0.00095: 5 sd.
            assert!((share - 0.1).abs() < 0.005, "target {t}: {share}");
        }
    }

    #[test]
    fn an_az_without_candidates_has_no_node() {
        // Only AZ 1 has candidates: every connection lands there.
        let az_of = |t: u32| if t < 2 { 0 } else { 1 };
        let pool: Vec<u32> = vec![2, 3, 4];
        for i in 0..1000u32 {
            let c = connection(0x0A00_0001, 32768 + i as u16, i);
            let t = choose_target(&c, &pool, az_of, false).unwrap();
            assert!(pool.contains(&t));
        }
        assert_eq!(choose_target(&connection(1, 2, 3), &[], az_of, false), None);
    }
}
