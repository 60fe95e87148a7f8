//! Which key each request touches: the popularity of items, which decides how load spreads over
//! DynamoDB partitions (and, later, caches).
//!
//! ```toml
//! key = { dist = "uniform", keys = 100000 }
//! key = { dist = "zipf", keys = 100000, exponent = 1.1 }
//! key = { dist = "hot", keys = 100000, fraction = 0.3 }
//! ```
//!
//! Keys are numbered `0..keys`. Key 0 is always the most popular one: the first rank of a Zipf
//! law and the hot key, so a report or a test can name "the hot key" without knowing the kind.

use std::fmt;

use rand::Rng;
use rand::distr::{Bernoulli, Distribution, Uniform};
use rand_distr::Zipf;
use serde::{Deserialize, Serialize};

use crate::units::closest_spelling;

/// Key distribution names, in the order error messages list them.
const KINDS: [&str; 3] = ["uniform", "zipf", "hot"];

/// The scenario-file form, as written: one flat table so serde reports each field's errors at
/// its place in the file.
#[derive(Clone, Debug, Default, Deserialize, schemars::JsonSchema, Serialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    /// `"uniform"`, `"zipf"` (rank 1 = key 0) or `"hot"` (a `fraction` on key 0, the rest uniform).
    dist: String,
    /// How many distinct keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    keys: Option<u64>,
    /// Zipf: the exponent (above 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    exponent: Option<f64>,
    /// Hot: the share of requests on key 0 (0 to 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    fraction: Option<f64>,
}

/// A checked key distribution, as read from a scenario file. Build a sampler with
/// [`KeySpec::build`].
#[derive(Clone, Debug, PartialEq, Deserialize, schemars::JsonSchema, Serialize)]
#[serde(try_from = "RawKey", into = "RawKey")]
pub struct KeySpec {
    kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Uniform { keys: u64 },
    Zipf { keys: u64, exponent: f64 },
    Hot { keys: u64, fraction: f64 },
}

impl TryFrom<RawKey> for KeySpec {
    type Error = String;

    fn try_from(raw: RawKey) -> Result<KeySpec, String> {
        let name = raw.dist.as_str();
        let (allowed, takes): (&[&str], &str) = match name {
            "uniform" => (&["keys"], "`keys`"),
            "zipf" => (&["keys", "exponent"], "`keys` and `exponent`"),
            "hot" => (&["keys", "fraction"], "`keys` and `fraction`"),
            _ => {
                let mut msg = format!(
                    "unknown key distribution `{name}`; expected one of {}",
                    KINDS.join(", ")
                );
                if let Some(suggestion) = closest_spelling(name, &KINDS) {
                    msg.push_str(&format!("; did you mean `{suggestion}`?"));
                }
                return Err(msg);
            }
        };
        let present: Vec<&str> = [
            ("keys", raw.keys.is_some()),
            ("exponent", raw.exponent.is_some()),
            ("fraction", raw.fraction.is_some()),
        ]
        .iter()
        .filter(|(_, given)| *given)
        .map(|(field, _)| *field)
        .collect();
        if let Some(stray) = present.iter().find(|field| !allowed.contains(field)) {
            return Err(format!(
                "`{stray}` does not apply to a {name} key distribution; it takes {takes}"
            ));
        }
        let missing = || {
            let found = if present.is_empty() {
                "none of them".to_string()
            } else {
                present
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            };
            format!("a {name} key distribution needs {takes}; found {found}")
        };
        let keys = raw.keys.ok_or_else(missing)?;
        if keys == 0 {
            return Err("`keys` must be at least 1, found 0".into());
        }
        let kind = match name {
            "uniform" => Kind::Uniform { keys },
            "zipf" => {
                let exponent = raw.exponent.ok_or_else(missing)?;
                if !(exponent.is_finite() && exponent > 0.0) {
                    return Err(format!(
                        "`exponent` must be a finite number greater than zero, found {exponent} \
                         (for equally popular keys use {{ dist = \"uniform\", keys = {keys} }})"
                    ));
                }
                Kind::Zipf { keys, exponent }
            }
            _ => {
                let fraction = raw.fraction.ok_or_else(missing)?;
                if !(0.0..=1.0).contains(&fraction) {
                    return Err(format!(
                        "`fraction` (the share of requests on the hot key) must be between 0 and \
                         1, found {fraction}"
                    ));
                }
                Kind::Hot { keys, fraction }
            }
        };
        Ok(KeySpec { kind })
    }
}

impl From<KeySpec> for RawKey {
    fn from(spec: KeySpec) -> RawKey {
        let mut raw = RawKey {
            dist: spec.name().to_string(),
            keys: Some(spec.keys()),
            ..RawKey::default()
        };
        match spec.kind {
            Kind::Uniform { .. } => {}
            Kind::Zipf { exponent, .. } => raw.exponent = Some(exponent),
            Kind::Hot { fraction, .. } => raw.fraction = Some(fraction),
        }
        raw
    }
}

impl KeySpec {
    /// Every key equally likely; `keys` of zero is taken as one (the checked file form rejects
    /// zero, code gets a usable spec).
    pub fn uniform(keys: u64) -> KeySpec {
        KeySpec {
            kind: Kind::Uniform { keys: keys.max(1) },
        }
    }

    /// The `dist` name: `"uniform"`, `"zipf"` or `"hot"`.
    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::Uniform { .. } => "uniform",
            Kind::Zipf { .. } => "zipf",
            Kind::Hot { .. } => "hot",
        }
    }

    /// How many distinct keys requests touch (keys are `0..keys`).
    pub fn keys(&self) -> u64 {
        match self.kind {
            Kind::Uniform { keys } | Kind::Zipf { keys, .. } | Kind::Hot { keys, .. } => keys,
        }
    }

    /// A sampler of keys. Cannot fail: the spec was checked when read.
    pub fn build(&self) -> KeySampler {
        let keys = self.keys();
        // `keys >= 1` holds for every spec, so the range is never empty; the fallback only
        // keeps this free of panics.
        let all = Uniform::new(0, keys).unwrap_or_else(|_| Uniform::new_inclusive(0, 0).unwrap());
        let sampler = match self.kind {
            Kind::Uniform { .. } => Sampler::Uniform(all),
            Kind::Zipf { exponent, .. } => match Zipf::new(keys as f64, exponent) {
                Ok(zipf) => Sampler::Zipf {
                    zipf,
                    max_key: keys - 1,
                    harmonic: generalized_harmonic(keys, exponent),
                    exponent,
                },
                Err(_) => Sampler::Uniform(all),
            },
            Kind::Hot { fraction, .. } => Sampler::Hot {
                hot: Bernoulli::new(fraction).unwrap_or_else(|_| Bernoulli::new(0.0).unwrap()),
                fraction,
                all,
            },
        };
        KeySampler { keys, sampler }
    }
}

impl fmt::Display for KeySpec {
    /// Compact form for reports: `zipf(keys=100000, exponent=1.1)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::Uniform { keys } => write!(f, "uniform(keys={keys})"),
            Kind::Zipf { keys, exponent } => write!(f, "zipf(keys={keys}, exponent={exponent})"),
            Kind::Hot { keys, fraction } => write!(f, "hot(keys={keys}, fraction={fraction})"),
        }
    }
}

/// Draws request keys in `0..keys`.
///
/// Every draw is O(1) without allocation: Zipf uses rand_distr's rejection-inversion sampler,
/// which needs no table of the keys, so a billion keys cost no memory.
#[derive(Clone, Debug)]
pub struct KeySampler {
    keys: u64,
    sampler: Sampler,
}

#[derive(Clone, Debug)]
enum Sampler {
    Uniform(Uniform<u64>),
    Zipf {
        zipf: Zipf<f64>,
        max_key: u64,
        /// H(keys, exponent), for [`KeySampler::probability`].
        harmonic: f64,
        exponent: f64,
    },
    /// The hot key is also one of the uniform keys, so key 0 gets
    /// `fraction + (1 − fraction) / keys` of the requests.
    Hot {
        hot: Bernoulli,
        fraction: f64,
        all: Uniform<u64>,
    },
}

impl KeySampler {
    /// One key in `0..keys`.
    ///
    /// Zipf: rank r (1 = most popular) is key r − 1. Hot: key 0 with probability `fraction`,
    /// otherwise uniform over all keys, key 0 included.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        match &self.sampler {
            Sampler::Uniform(all) => all.sample(rng),
            Sampler::Zipf { zipf, max_key, .. } => {
                // Ranks are whole floats in [1, keys]; the clamp guards the float→int edge for
                // key counts beyond 2⁵³, where f64 cannot name every rank.
                let rank = zipf.sample(rng) as u64;
                rank.saturating_sub(1).min(*max_key)
            }
            Sampler::Hot { hot, all, .. } => {
                if hot.sample(rng) {
                    0
                } else {
                    all.sample(rng)
                }
            }
        }
    }

    /// How many distinct keys there are.
    pub fn keys(&self) -> u64 {
        self.keys
    }

    /// The probability that a request touches `key` (0 outside `0..keys`): what theory needs,
    /// e.g. a partition's share of demand is the sum over its keys.
    pub fn probability(&self, key: u64) -> f64 {
        if key >= self.keys {
            return 0.0;
        }
        let uniform = 1.0 / self.keys as f64;
        match &self.sampler {
            Sampler::Uniform(_) => uniform,
            Sampler::Zipf {
                harmonic, exponent, ..
            } => ((key + 1) as f64).powf(-exponent) / harmonic,
            Sampler::Hot { fraction, .. } => {
                let hot = if key == 0 { *fraction } else { 0.0 };
                hot + (1.0 - fraction) * uniform
            }
        }
    }
}

/// H(n, s) = Σ_{k=1}^{n} k^−s, the normalising constant of a Zipf law.
///
/// Summed directly for the first thousand terms and by Euler–Maclaurin beyond, so a billion
/// keys cost no more than a thousand; the neglected remainder is below 1e−12 relative.
fn generalized_harmonic(n: u64, s: f64) -> f64 {
    const DIRECT: u64 = 1_000;
    let head_end = n.min(DIRECT);
    // Smallest terms first, for accuracy.
    let head: f64 = (1..=head_end).rev().map(|k| (k as f64).powf(-s)).sum();
    if n <= DIRECT {
        return head;
    }
    let a = (DIRECT + 1) as f64;
    let b = n as f64;
    let integral = if (s - 1.0).abs() < 1e-12 {
        (b / a).ln()
    } else {
        (b.powf(1.0 - s) - a.powf(1.0 - s)) / (1.0 - s)
    };
    let ends = (a.powf(-s) + b.powf(-s)) / 2.0;
    let first = s / 12.0 * (a.powf(-s - 1.0) - b.powf(-s - 1.0));
    let second = s * (s + 1.0) * (s + 2.0) / 720.0 * (a.powf(-s - 3.0) - b.powf(-s - 3.0));
    head + integral + ends + first - second
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[derive(Debug, Deserialize, schemars::JsonSchema, Serialize, PartialEq)]
    struct Wrapper {
        key: KeySpec,
    }

    fn spec(table: &str) -> KeySpec {
        match toml::from_str::<Wrapper>(&format!("key = {table}")) {
            Ok(w) => w.key,
            Err(e) => panic!("{table}: {e}"),
        }
    }

    fn spec_err(table: &str) -> String {
        let text = format!("key = {table}");
        toml::from_str::<Wrapper>(&text)
            .expect_err(table)
            .message()
            .to_string()
    }

    /// Share of `n` draws (fixed seed) that hit key `key`.
    fn share(sampler: &KeySampler, key: u64, n: u64) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        (0..n).filter(|_| sampler.sample(&mut rng) == key).count() as f64 / n as f64
    }

    /// Asserts an observed share is within five binomial standard errors of `p`.
    fn assert_share(observed: f64, p: f64, n: u64) {
        let tolerance = 5.0 * (p * (1.0 - p) / n as f64).sqrt();
        assert!(
            (observed - p).abs() <= tolerance,
            "share {observed} vs {p} (±{tolerance})"
        );
    }

    #[test]
    fn parses_each_kind_and_round_trips() {
        for table in [
            r#"{ dist = "uniform", keys = 100000 }"#,
            r#"{ dist = "zipf", keys = 100000, exponent = 1.1 }"#,
            r#"{ dist = "zipf", keys = 10, exponent = 1 }"#,
            r#"{ dist = "hot", keys = 100000, fraction = 0.3 }"#,
            r#"{ dist = "hot", keys = 1, fraction = 1 }"#,
        ] {
            let original = Wrapper { key: spec(table) };
            let text = toml::to_string(&original).unwrap();
            assert_eq!(
                toml::from_str::<Wrapper>(&text).unwrap(),
                original,
                "{text}"
            );
        }
        assert_eq!(
            spec(r#"{ dist = "uniform", keys = 7 }"#),
            KeySpec::uniform(7)
        );
        assert_eq!(
            spec(r#"{ dist = "zipf", keys = 5, exponent = 1.1 }"#).keys(),
            5
        );
        assert_eq!(
            spec(r#"{ dist = "zipf", keys = 5, exponent = 1.1 }"#).to_string(),
            "zipf(keys=5, exponent=1.1)"
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            spec_err(r#"{ dist = "zipff", keys = 10 }"#),
            "unknown key distribution `zipff`; expected one of uniform, zipf, hot; did you mean \
             `zipf`?"
        );
        assert_eq!(
            spec_err(r#"{ dist = "uniform", keys = 0 }"#),
            "`keys` must be at least 1, found 0"
        );
        assert!(spec_err(r#"{ dist = "uniform", keys = -5 }"#).contains("-5"));
        assert_eq!(
            spec_err(r#"{ dist = "zipf", keys = 10, exponent = 0 }"#),
            "`exponent` must be a finite number greater than zero, found 0 (for equally popular \
             keys use { dist = \"uniform\", keys = 10 })"
        );
        assert!(spec_err(r#"{ dist = "zipf", keys = 10, exponent = -1.5 }"#).contains("-1.5"));
        assert!(spec_err(r#"{ dist = "zipf", keys = 10, exponent = nan }"#).contains("NaN"));
        assert_eq!(
            spec_err(r#"{ dist = "hot", keys = 10, fraction = 1.5 }"#),
            "`fraction` (the share of requests on the hot key) must be between 0 and 1, found 1.5"
        );
        assert!(spec_err(r#"{ dist = "hot", keys = 10, fraction = -0.1 }"#).contains("-0.1"));
        assert!(spec_err(r#"{ dist = "hot", keys = 10, fraction = nan }"#).contains("NaN"));
        assert_eq!(
            spec_err(r#"{ dist = "uniform", keys = 10, exponent = 1.1 }"#),
            "`exponent` does not apply to a uniform key distribution; it takes `keys`"
        );
        assert_eq!(
            spec_err(r#"{ dist = "zipf", keys = 10 }"#),
            "a zipf key distribution needs `keys` and `exponent`; found `keys`"
        );
        assert_eq!(
            spec_err(r#"{ dist = "hot" }"#),
            "a hot key distribution needs `keys` and `fraction`; found none of them"
        );
        assert!(
            spec_err(r#"{ dist = "hot", keys = 3, fractoin = 0.1 }"#)
                .starts_with("unknown field `fractoin`")
        );
    }

    #[test]
    fn keys_stay_in_range() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for table in [
            r#"{ dist = "uniform", keys = 3 }"#,
            r#"{ dist = "zipf", keys = 3, exponent = 0.2 }"#,
            r#"{ dist = "zipf", keys = 3, exponent = 5 }"#,
            r#"{ dist = "hot", keys = 3, fraction = 0.5 }"#,
        ] {
            let sampler = spec(table).build();
            let mut seen = [0u32; 3];
            for _ in 0..30_000 {
                seen[sampler.sample(&mut rng) as usize] += 1;
            }
            assert!(seen.iter().all(|&c| c > 0), "{table}: {seen:?}");
        }
        for table in [
            r#"{ dist = "uniform", keys = 1 }"#,
            r#"{ dist = "zipf", keys = 1, exponent = 1.1 }"#,
            r#"{ dist = "hot", keys = 1, fraction = 0.3 }"#,
        ] {
            let sampler = spec(table).build();
            assert!((0..1_000).all(|_| sampler.sample(&mut rng) == 0), "{table}");
        }
        let huge = spec(r#"{ dist = "zipf", keys = 9223372036854775807, exponent = 1.01 }"#);
        let sampler = huge.build();
        assert!((0..10_000).all(|_| sampler.sample(&mut rng) < huge.keys()));
    }

    #[test]
    fn uniform_spreads_evenly() {
        let sampler = spec(r#"{ dist = "uniform", keys = 10 }"#).build();
        let n = 200_000;
        assert_share(share(&sampler, 0, n), 0.1, n);
        assert_share(share(&sampler, 9, n), 0.1, n);
        assert_eq!(sampler.probability(3), 0.1);
        assert_eq!(sampler.probability(10), 0.0);
    }

    #[test]
    fn hot_key_gets_its_fraction_plus_its_uniform_share() {
        let sampler = spec(r#"{ dist = "hot", keys = 100, fraction = 0.3 }"#).build();
        let n = 500_000;
        let hot = 0.3 + 0.7 / 100.0;
        assert!((sampler.probability(0) - hot).abs() < 1e-15);
        assert_share(share(&sampler, 0, n), hot, n);
        assert_share(share(&sampler, 42, n), 0.007, n);
        let never = spec(r#"{ dist = "hot", keys = 4, fraction = 0 }"#).build();
        assert_share(share(&never, 0, n), 0.25, n);
        let always = spec(r#"{ dist = "hot", keys = 4, fraction = 1 }"#).build();
        assert_eq!(share(&always, 0, 1_000), 1.0);
    }

    #[test]
    fn zipf_top_keys_follow_theory() {
        for (keys, exponent) in [(100_000u64, 1.1), (1_000, 0.8), (50, 1.0), (1_000_000, 1.5)] {
            let sampler = spec(&format!(
                "{{ dist = \"zipf\", keys = {keys}, exponent = {exponent} }}"
            ))
            .build();
            let h = (1..=keys)
                .rev()
                .map(|k| (k as f64).powf(-exponent))
                .sum::<f64>();
            let n = 400_000;
            assert!(
                (sampler.probability(0) - 1.0 / h).abs() < 1e-12,
                "{keys} {exponent}"
            );
            assert_share(share(&sampler, 0, n), 1.0 / h, n);
            let p1 = 2f64.powf(-exponent) / h;
            assert_share(share(&sampler, 1, n), p1, n);
        }
    }

    #[test]
    fn harmonic_numbers_are_accurate() {
        for (n, s) in [
            (1u64, 1.1),
            (1_000, 1.0),
            (1_001, 1.0),
            (123_456, 1.0),
            (200_000, 0.7),
            (77_777, 2.5),
        ] {
            let direct = (1..=n).rev().map(|k| (k as f64).powf(-s)).sum::<f64>();
            let fast = generalized_harmonic(n, s);
            assert!(
                ((fast - direct) / direct).abs() < 1e-12,
                "H({n}, {s}): {fast} vs {direct}"
            );
        }
    }

    #[test]
    fn sampling_is_deterministic() {
        let sampler = spec(r#"{ dist = "zipf", keys = 1000, exponent = 1.1 }"#).build();
        let draw = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..1_000)
                .map(|_| sampler.sample(&mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(5), draw(5));
        assert_ne!(draw(5), draw(6));
    }
}
