//! Random streams: one per component, derived from (run seed, component name).
//!
//! Keyed by *name*, not by creation order, so adding or reordering components never changes
//! another component's random numbers. The generator is named (ChaCha8), never `StdRng`, whose
//! algorithm rand may change between versions; the name hash is FNV-1a written out here, never
//! `DefaultHasher`, whose algorithm std may change.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator every component uses.
pub type SimRng = ChaCha8Rng;

/// FNV-1a, 64 bit: stable forever, which a seed derivation needs.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= b as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The random stream of the component (or sub-stream, e.g. `"web/arrivals"`) named `name`.
pub fn stream(seed: u64, name: &str) -> SimRng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(fnv1a64(name.as_bytes()));
    rng
}

/// The stream `name` of the same run as `rng`: what [`stream`] gives for the seed `rng` was made
/// from. Lets a part that only holds one stream derive another without the run seed (for a
/// sub-stream such as `"web/connections"` that must not move the existing ones).
pub fn sibling(rng: &SimRng, name: &str) -> SimRng {
    let mut sibling = ChaCha8Rng::from_seed(rng.get_seed());
    sibling.set_stream(fnv1a64(name.as_bytes()));
    sibling
}

/// A sub-stream of the component whose own stream is `rng`, for draws that must not move the
/// component's numbers: fault injection draws from `substream(rng, "faults")`, so a run with a
/// fault and one without draw the same service times (common random numbers for comparisons).
pub fn substream(rng: &SimRng, label: &str) -> SimRng {
    sibling(rng, &format!("{}/{label}", rng.get_stream()))
}

/// SplitMix64's finaliser: a stable bijection that spreads consecutive integers (request ids)
/// evenly over 64 bits, for hash-based choices such as DNS round robin.
pub fn mix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A seed derived stably from a base seed and a label (replications, sweep points).
pub fn derive_seed(seed: u64, label: &str) -> u64 {
    let mut bytes = seed.to_le_bytes().to_vec();
    bytes.extend_from_slice(label.as_bytes());
    fnv1a64(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn fnv_matches_reference_vectors() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn streams_differ_by_name_and_repeat_by_seed() {
        let a: u64 = stream(1, "web").random();
        let b: u64 = stream(1, "web").random();
        let c: u64 = stream(1, "alb").random();
        let d: u64 = stream(2, "web").random();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn a_sibling_is_the_stream_of_the_same_seed() {
        let mut keys = stream(7, "w/keys");
        let _: u64 = keys.random();
        let a: u64 = sibling(&keys, "w/connections").random();
        let b: u64 = stream(7, "w/connections").random();
        assert_eq!(a, b);
    }
}
