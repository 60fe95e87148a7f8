//! Random durations: how scenario files describe them ([`DistSpec`]) and how models draw them
//! ([`Dist`]).
//!
//! A distribution is an inline table keyed by `dist`:
//!
//! | `dist`        | fields                                            | notes                          |
//! |---------------|---------------------------------------------------|--------------------------------|
//! | `constant`    | `value`                                           | always the same duration       |
//! | `exponential` | `mean`                                            | memoryless; mean > 0           |
//! | `uniform`     | `min`, `max`                                      | whole nanoseconds, both ends   |
//! | `normal`      | `mean`, `sd`                                      | truncated at zero (see below)  |
//! | `lognormal`   | `mean`, `p99` — or `mu`, `sigma`                  | `mu`, `sigma` of ln(seconds)   |
//! | `gamma`       | `shape` with `mean` or `scale`                    | mean = shape × scale           |
//! | `pareto`      | `shape` with `scale` or `mean`                    | `scale` is the smallest value  |
//! | `empirical`   | `file`, optional `unit`                           | resampled uniformly            |
//!
//! ```toml
//! compute = { dist = "lognormal", mean = "40ms", p99 = "200ms" }
//! think = { dist = "exponential", mean = "2s" }
//! ```
//!
//! Checking happens while the scenario is read, so every mistake is reported with its place in
//! the file; [`DistSpec::build`] then only has to read empirical sample files. Sampling is done
//! in seconds as `f64` and rounded to the nearest nanosecond; a sample beyond the longest
//! duration saturates (it can only happen in the far tail of a pareto or lognormal).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rand::Rng;
use rand::distr::{Distribution, Uniform};
use rand_distr::{Exp, Gamma, LogNormal, Normal, Pareto};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::engine::time::{NANOS_PER_SEC, SimDuration};
use crate::units::{closest_spelling, parse_duration, unit_nanos};

/// The standard normal quantile at 0.99, used to turn a p99 into a lognormal sigma.
const Z99: f64 = 2.326_347_874_040_840_8;

/// Draws a truncated normal takes at most, before falling back to the mean. With the mean never
/// negative at least half the draws are accepted, so the fallback has probability below 2⁻⁶⁴:
/// the bound exists only so no input can make sampling loop forever.
const NORMAL_MAX_TRIES: u32 = 64;

/// The longest duration, in seconds (u64 nanoseconds ≈ 584 years).
const MAX_SECS: f64 = u64::MAX as f64 / NANOS_PER_SEC as f64;

/// Distribution names, in the order error messages list them.
const KINDS: [&str; 8] = [
    "constant",
    "exponential",
    "uniform",
    "normal",
    "lognormal",
    "gamma",
    "pareto",
    "empirical",
];

/// Which fields each distribution takes, and how messages say so.
fn kind_fields(kind: &str) -> (&'static [&'static str], &'static str) {
    match kind {
        "constant" => (&["value"], "`value`"),
        "exponential" => (&["mean"], "`mean`"),
        "uniform" => (&["min", "max"], "`min` and `max`"),
        "normal" => (&["mean", "sd"], "`mean` and `sd`"),
        "lognormal" => (
            &["mean", "p99", "mu", "sigma"],
            "`mean` and `p99`, or `mu` and `sigma`",
        ),
        "gamma" => (
            &["shape", "mean", "scale"],
            "`shape`, with `mean` or `scale`",
        ),
        "pareto" => (
            &["shape", "scale", "mean"],
            "`shape`, with `scale` or `mean`",
        ),
        _ => (
            &["file", "unit"],
            "`file`, and `unit` if its samples are bare numbers",
        ),
    }
}

/// "a lognormal", "an exponential": messages read as sentences.
fn with_article(kind: &str) -> String {
    let article = if matches!(kind, "exponential" | "empirical") {
        "an"
    } else {
        "a"
    };
    format!("{article} {kind}")
}

/// The scenario-file form of a distribution, as written (one flat table so that serde reports
/// every field error at its place in the file, which an internally tagged enum would not).
#[derive(Clone, Debug, Default, Deserialize, schemars::JsonSchema, Serialize)]
#[serde(deny_unknown_fields)]
struct RawDist {
    dist: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<SimDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mean: Option<SimDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min: Option<SimDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<SimDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sd: Option<SimDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    p99: Option<SimDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sigma: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shape: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scale: Option<SimDuration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
}

impl RawDist {
    /// Names of the fields given, besides `dist`.
    fn present(&self) -> Vec<&'static str> {
        let fields = [
            ("value", self.value.is_some()),
            ("mean", self.mean.is_some()),
            ("min", self.min.is_some()),
            ("max", self.max.is_some()),
            ("sd", self.sd.is_some()),
            ("p99", self.p99.is_some()),
            ("mu", self.mu.is_some()),
            ("sigma", self.sigma.is_some()),
            ("shape", self.shape.is_some()),
            ("scale", self.scale.is_some()),
            ("file", self.file.is_some()),
            ("unit", self.unit.is_some()),
        ];
        fields
            .iter()
            .filter(|(_, given)| *given)
            .map(|(name, _)| *name)
            .collect()
    }
}

/// A checked distribution of durations, as read from a scenario file: a table keyed by `dist`,
/// or a plain duration (`"40ms"`), which is a constant.
///
/// Reading it checks everything that can be checked without touching the disk; turn it into a
/// sampler with [`DistSpec::build`]. Serializes back to the table form.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(into = "RawDist")]
pub struct DistSpec {
    kind: Kind,
}

impl<'de> Deserialize<'de> for DistSpec {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DistVisitor)
    }
}

impl schemars::JsonSchema for DistSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Distribution".into()
    }

    /// A plain duration, or one table per distribution with exactly the fields [`kind_fields`]
    /// gives it: the same tables the loader reads, so the two cannot drift apart.
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let duration = generator.subschema_for::<SimDuration>().to_value();
        let mut tables = Vec::new();
        for kind in KINDS {
            let (fields, needs) = kind_fields(kind);
            let mut properties = serde_json::Map::new();
            properties.insert(
                "dist".into(),
                serde_json::json!({ "const": kind, "description": "The distribution." }),
            );
            for &field in fields {
                let described = |description: &str| serde_json::json!({ "description": description, "allOf": [duration] });
                let schema = match field {
                    "mu" => serde_json::json!({
                        "type": "number",
                        "description": "The mean of the logarithm of the duration in seconds."
                    }),
                    "sigma" => serde_json::json!({
                        "type": "number",
                        "description": "The standard deviation of the logarithm of the duration \
                                        in seconds (above 0)."
                    }),
                    "shape" => serde_json::json!({
                        "type": "number",
                        "description": "The shape parameter (above 0)."
                    }),
                    "value" => described("The constant duration."),
                    "mean" => described("The mean."),
                    "min" => described("The smallest value."),
                    "max" => described("The largest value."),
                    "sd" => described("The standard deviation."),
                    "p99" => described("The 99th percentile."),
                    "scale" => described("The scale (a Pareto's: its minimum)."),
                    "file" => serde_json::json!({
                        "type": "string",
                        "description": "A file of samples, one per line, relative to the scenario."
                    }),
                    "unit" => serde_json::json!({
                        "type": "string",
                        "description": "The unit of the file's bare numbers (ns, us, ms, s, m, h, d)."
                    }),
                    _ => unreachable!("kind_fields names no other field"),
                };
                properties.insert(field.into(), schema);
            }
            tables.push(serde_json::json!({
                "type": "object",
                "description": format!("{}: needs {needs}.", with_article(kind)),
                "properties": properties,
                "required": ["dist"],
                "additionalProperties": false,
            }));
        }
        schemars::json_schema!({
            "description": "A distribution of durations: a table keyed by `dist`, like \
                            { dist = \"exponential\", mean = \"40ms\" }, or a plain duration \
                            (\"40ms\") for a constant.",
            "anyOf": [duration, { "oneOf": tables }],
        })
    }
}

/// Reads a [`DistSpec`] from a table or a plain duration.
struct DistVisitor;

impl<'de> Visitor<'de> for DistVisitor {
    type Value = DistSpec;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            "a distribution like { dist = \"exponential\", mean = \"40ms\" }, or a duration \
             like \"40ms\" for a constant",
        )
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<DistSpec, E> {
        parse_duration(s).map(DistSpec::constant).map_err(E::custom)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DistSpec, A::Error> {
        let raw = RawDist::deserialize(de::value::MapAccessDeserializer::new(map))?;
        DistSpec::try_from(raw).map_err(de::Error::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<DistSpec, E> {
        Err(E::custom(format!(
            "expected a duration with a unit, like \"40ms\", or a distribution, found {v}"
        )))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<DistSpec, E> {
        self.visit_i64(v.min(i64::MAX as u64) as i64)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<DistSpec, E> {
        Err(E::custom(format!(
            "expected a duration with a unit, like \"40ms\", or a distribution, found {v:?}"
        )))
    }
}

/// The validated forms. Lognormal keeps both what the user wrote (to write it back) and the
/// derived parameters.
#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Constant {
        value: SimDuration,
    },
    Exponential {
        mean: SimDuration,
    },
    Uniform {
        min: SimDuration,
        max: SimDuration,
    },
    Normal {
        mean: SimDuration,
        sd: SimDuration,
    },
    LogNormalMeanP99 {
        mean: SimDuration,
        p99: SimDuration,
        mu: f64,
        sigma: f64,
    },
    LogNormalMuSigma {
        mu: f64,
        sigma: f64,
    },
    GammaMean {
        shape: f64,
        mean: SimDuration,
    },
    GammaScale {
        shape: f64,
        scale: SimDuration,
    },
    ParetoScale {
        shape: f64,
        scale: SimDuration,
    },
    ParetoMean {
        shape: f64,
        mean: SimDuration,
    },
    Empirical {
        file: String,
        unit: Option<String>,
    },
}

/// A shape parameter: finite and greater than zero.
fn check_shape(name: &str, value: f64) -> Result<f64, String> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(format!(
            "`{name}` must be a finite number greater than zero, found {value}"
        ))
    }
}

/// A duration parameter that must not be zero (a mean or scale).
fn check_positive(name: &str, kind: &str, value: SimDuration) -> Result<SimDuration, String> {
    if value.is_zero() {
        Err(format!(
            "the {name} of {} distribution must be greater than zero, found \"{value}\"",
            with_article(kind)
        ))
    } else {
        Ok(value)
    }
}

/// Lognormal (mu, sigma) of ln(seconds) with the given mean and 99th percentile.
///
/// mean = exp(mu + sigma²/2) and p99 = exp(mu + z·sigma), so ln(p99/mean) = z·sigma − sigma²/2;
/// the smaller root is taken because the larger one (sigma > z) puts the p99 below the median.
fn lognormal_from_mean_p99(mean: SimDuration, p99: SimDuration) -> Result<(f64, f64), String> {
    let mean = check_positive("mean", "lognormal", mean)?;
    if p99 <= mean {
        return Err(format!(
            "p99 ({p99}) must be greater than the mean ({mean}) of a lognormal distribution"
        ));
    }
    let ratio = p99.as_secs_f64() / mean.as_secs_f64();
    let max_ratio = (Z99 * Z99 / 2.0).exp();
    let discriminant = Z99 * Z99 - 2.0 * ratio.ln();
    if discriminant < 0.0 {
        return Err(format!(
            "no lognormal distribution has a p99 more than {max_ratio:.2} times its mean, and \
             p99 ({p99}) is {ratio:.2} times the mean ({mean}); lower the p99, raise the mean, \
             or give `mu` and `sigma` instead"
        ));
    }
    let sigma = Z99 - discriminant.sqrt();
    let mu = mean.as_secs_f64().ln() - sigma * sigma / 2.0;
    Ok((mu, sigma))
}

impl TryFrom<RawDist> for DistSpec {
    type Error = String;

    fn try_from(raw: RawDist) -> Result<DistSpec, String> {
        let name = raw.dist.as_str();
        if !KINDS.contains(&name) {
            let mut msg = format!(
                "unknown distribution `{name}`; expected one of {}",
                KINDS.join(", ")
            );
            if let Some(suggestion) = closest_spelling(name, &KINDS) {
                msg.push_str(&format!("; did you mean `{suggestion}`?"));
            }
            return Err(msg);
        }
        let (allowed, takes) = kind_fields(name);
        let present = raw.present();
        if let Some(stray) = present.iter().find(|field| !allowed.contains(field)) {
            return Err(format!(
                "`{stray}` does not apply to {} distribution; it takes {takes}",
                with_article(name)
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
            format!(
                "{} distribution needs {takes}; found {found}",
                with_article(name)
            )
        };
        let kind = match name {
            "constant" => Kind::Constant {
                value: raw.value.ok_or_else(missing)?,
            },
            "exponential" => Kind::Exponential {
                mean: check_positive("mean", name, raw.mean.ok_or_else(missing)?)?,
            },
            "uniform" => {
                let (Some(min), Some(max)) = (raw.min, raw.max) else {
                    return Err(missing());
                };
                if min >= max {
                    return Err(format!(
                        "min ({min}) must be less than max ({max}) in a uniform distribution; \
                         for a fixed duration write {{ dist = \"constant\", value = \"{min}\" }}"
                    ));
                }
                Kind::Uniform { min, max }
            }
            "normal" => {
                let (Some(mean), Some(sd)) = (raw.mean, raw.sd) else {
                    return Err(missing());
                };
                Kind::Normal { mean, sd }
            }
            "lognormal" => match (raw.mean, raw.p99, raw.mu, raw.sigma) {
                (Some(mean), Some(p99), None, None) => {
                    let (mu, sigma) = lognormal_from_mean_p99(mean, p99)?;
                    Kind::LogNormalMeanP99 {
                        mean,
                        p99,
                        mu,
                        sigma,
                    }
                }
                (None, None, Some(mu), Some(sigma)) => {
                    if !mu.is_finite() {
                        return Err(format!("`mu` must be a finite number, found {mu}"));
                    }
                    let sigma = check_shape("sigma", sigma)?;
                    let mean = (mu + sigma * sigma / 2.0).exp();
                    if !mean.is_finite() || mean > MAX_SECS {
                        return Err(format!(
                            "mu = {mu} and sigma = {sigma} give a mean of {mean:e} seconds, \
                             beyond the longest duration (about 584 years); mu and sigma are \
                             of ln(seconds), so a median of 40ms is mu = ln(0.04) = -3.22"
                        ));
                    }
                    Kind::LogNormalMuSigma { mu, sigma }
                }
                _ => return Err(missing()),
            },
            "gamma" | "pareto" => {
                let shape = check_shape("shape", raw.shape.ok_or_else(missing)?)?;
                match (raw.mean, raw.scale, name) {
                    (Some(_), Some(_), _) => {
                        return Err(format!(
                            "{} distribution takes `mean` or `scale`, not both",
                            with_article(name)
                        ));
                    }
                    (None, None, _) => return Err(missing()),
                    (Some(mean), None, "gamma") => Kind::GammaMean {
                        shape,
                        mean: check_positive("mean", name, mean)?,
                    },
                    (None, Some(scale), "gamma") => Kind::GammaScale {
                        shape,
                        scale: check_positive("scale", name, scale)?,
                    },
                    (Some(mean), None, _) => {
                        if shape <= 1.0 {
                            return Err(format!(
                                "a pareto distribution with shape {shape} has no finite mean, \
                                 so `mean` cannot set it; give `scale` (the smallest value) \
                                 instead, or a shape greater than 1"
                            ));
                        }
                        Kind::ParetoMean {
                            shape,
                            mean: check_positive("mean", name, mean)?,
                        }
                    }
                    (None, Some(scale), _) => Kind::ParetoScale {
                        shape,
                        scale: check_positive("scale", name, scale)?,
                    },
                }
            }
            _ => {
                let file = raw.file.ok_or_else(missing)?;
                if file.trim().is_empty() {
                    return Err("`file` of an empirical distribution must name a file".into());
                }
                if let Some(unit) = &raw.unit {
                    unit_nanos(unit).map_err(|e| format!("invalid `unit`: {e}"))?;
                }
                Kind::Empirical {
                    file,
                    unit: raw.unit,
                }
            }
        };
        Ok(DistSpec { kind })
    }
}

impl From<DistSpec> for RawDist {
    fn from(spec: DistSpec) -> RawDist {
        let mut raw = RawDist {
            dist: spec.name().to_string(),
            ..RawDist::default()
        };
        match spec.kind {
            Kind::Constant { value } => raw.value = Some(value),
            Kind::Exponential { mean } => raw.mean = Some(mean),
            Kind::Uniform { min, max } => (raw.min, raw.max) = (Some(min), Some(max)),
            Kind::Normal { mean, sd } => (raw.mean, raw.sd) = (Some(mean), Some(sd)),
            Kind::LogNormalMeanP99 { mean, p99, .. } => {
                (raw.mean, raw.p99) = (Some(mean), Some(p99))
            }
            Kind::LogNormalMuSigma { mu, sigma } => (raw.mu, raw.sigma) = (Some(mu), Some(sigma)),
            Kind::GammaMean { shape, mean } | Kind::ParetoMean { shape, mean } => {
                (raw.shape, raw.mean) = (Some(shape), Some(mean))
            }
            Kind::GammaScale { shape, scale } | Kind::ParetoScale { shape, scale } => {
                (raw.shape, raw.scale) = (Some(shape), Some(scale))
            }
            Kind::Empirical { file, unit } => (raw.file, raw.unit) = (Some(file), unit),
        }
        raw
    }
}

impl DistSpec {
    /// Always `value`.
    pub fn constant(value: SimDuration) -> DistSpec {
        DistSpec {
            kind: Kind::Constant { value },
        }
    }

    /// Exponential with the given mean; a zero mean gives the constant zero, which is what an
    /// exponential tends to as its mean shrinks.
    pub fn exponential(mean: SimDuration) -> DistSpec {
        if mean.is_zero() {
            return DistSpec::constant(SimDuration::ZERO);
        }
        DistSpec {
            kind: Kind::Exponential { mean },
        }
    }

    /// The `dist` name: `"lognormal"`, `"exponential"`, ...
    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::Constant { .. } => "constant",
            Kind::Exponential { .. } => "exponential",
            Kind::Uniform { .. } => "uniform",
            Kind::Normal { .. } => "normal",
            Kind::LogNormalMeanP99 { .. } | Kind::LogNormalMuSigma { .. } => "lognormal",
            Kind::GammaMean { .. } | Kind::GammaScale { .. } => "gamma",
            Kind::ParetoScale { .. } | Kind::ParetoMean { .. } => "pareto",
            Kind::Empirical { .. } => "empirical",
        }
    }

    /// The mean in seconds where it is known without reading a file (`None` for empirical);
    /// infinite for a pareto with shape ≤ 1. Lets a scenario be checked before it is built,
    /// e.g. a visibility timeout shorter than the mean processing time.
    pub fn mean_secs(&self) -> Option<f64> {
        match self.sampler_without_files() {
            Ok((_, mean)) => Some(mean),
            Err(_) => None,
        }
    }

    /// Turns the spec into a sampler, reading an empirical sample file relative to `base_dir`
    /// (the scenario file's folder). Errors name the file and, for a bad sample, its line.
    pub fn build(&self, base_dir: &Path) -> Result<Dist, String> {
        if let Kind::Empirical { file, unit } = &self.kind {
            let path = base_dir.join(file);
            let unit = match unit {
                Some(name) => Some((name.as_str(), unit_nanos(name)?)),
                None => None,
            };
            let samples = load_samples(&path, unit)?;
            let total: u128 = samples.iter().map(|d| u128::from(d.as_nanos())).sum();
            let mean = total as f64 / samples.len() as f64 / NANOS_PER_SEC as f64;
            return Ok(Dist {
                sampler: Sampler::Empirical(samples.into()),
                mean,
            });
        }
        let (sampler, mean) = self.sampler_without_files()?;
        Ok(Dist { sampler, mean })
    }

    /// The sampler and its exact mean in seconds, for every kind but empirical.
    fn sampler_without_files(&self) -> Result<(Sampler, f64), String> {
        // Specs are checked when read, so these errors only guard specs built in code.
        let bad = |e: &dyn fmt::Display| format!("invalid {} distribution: {e}", self.name());
        let secs = SimDuration::as_secs_f64;
        Ok(match self.kind {
            Kind::Constant { value } => (Sampler::Constant(value), secs(value)),
            Kind::Exponential { mean } => (
                Sampler::Exponential(Exp::new(1.0 / secs(mean)).map_err(|e| bad(&e))?),
                secs(mean),
            ),
            Kind::Uniform { min, max } => {
                let uniform = Uniform::new_inclusive(min.as_nanos(), max.as_nanos());
                let mid = (u128::from(min.as_nanos()) + u128::from(max.as_nanos())) as f64 / 2.0;
                (
                    Sampler::Uniform(uniform.map_err(|e| bad(&e))?),
                    mid / NANOS_PER_SEC as f64,
                )
            }
            Kind::Normal { mean, sd } => {
                let normal = Normal::new(secs(mean), secs(sd)).map_err(|e| bad(&e))?;
                (
                    Sampler::Normal(normal),
                    truncated_normal_mean(secs(mean), secs(sd)),
                )
            }
            Kind::LogNormalMeanP99 { mu, sigma, .. } | Kind::LogNormalMuSigma { mu, sigma } => {
                let lognormal = LogNormal::new(mu, sigma).map_err(|e| bad(&e))?;
                (
                    Sampler::LogNormal(lognormal),
                    (mu + sigma * sigma / 2.0).exp(),
                )
            }
            Kind::GammaMean { shape, mean } => {
                let gamma = Gamma::new(shape, secs(mean) / shape).map_err(|e| bad(&e))?;
                (Sampler::Gamma(gamma), secs(mean))
            }
            Kind::GammaScale { shape, scale } => {
                let gamma = Gamma::new(shape, secs(scale)).map_err(|e| bad(&e))?;
                (Sampler::Gamma(gamma), shape * secs(scale))
            }
            Kind::ParetoScale { shape, scale } => {
                let pareto = Pareto::new(secs(scale), shape).map_err(|e| bad(&e))?;
                (Sampler::Pareto(pareto), pareto_mean(shape, secs(scale)))
            }
            Kind::ParetoMean { shape, mean } => {
                let scale = secs(mean) * (shape - 1.0) / shape;
                let pareto = Pareto::new(scale, shape).map_err(|e| bad(&e))?;
                (Sampler::Pareto(pareto), secs(mean))
            }
            Kind::Empirical { .. } => return Err(bad(&"its samples are in a file")),
        })
    }
}

impl fmt::Display for DistSpec {
    /// Compact form for reports: `lognormal(mean=40ms, p99=200ms)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name();
        match &self.kind {
            Kind::Constant { value } => write!(f, "{name}({value})"),
            Kind::Exponential { mean } => write!(f, "{name}(mean={mean})"),
            Kind::Uniform { min, max } => write!(f, "{name}({min}..{max})"),
            Kind::Normal { mean, sd } => write!(f, "{name}(mean={mean}, sd={sd})"),
            Kind::LogNormalMeanP99 { mean, p99, .. } => write!(f, "{name}(mean={mean}, p99={p99})"),
            Kind::LogNormalMuSigma { mu, sigma } => write!(f, "{name}(mu={mu}, sigma={sigma})"),
            Kind::GammaMean { shape, mean } | Kind::ParetoMean { shape, mean } => {
                write!(f, "{name}(shape={shape}, mean={mean})")
            }
            Kind::GammaScale { shape, scale } | Kind::ParetoScale { shape, scale } => {
                write!(f, "{name}(shape={shape}, scale={scale})")
            }
            Kind::Empirical { file, .. } => write!(f, "{name}({file})"),
        }
    }
}

/// Mean in seconds of a pareto with the given shape and scale (its minimum); infinite when the
/// shape is at most 1.
fn pareto_mean(shape: f64, scale: f64) -> f64 {
    if shape > 1.0 {
        shape * scale / (shape - 1.0)
    } else {
        f64::INFINITY
    }
}

/// Mean of a normal(mean, sd) conditioned on being ≥ 0: mean + sd·φ(a)/Φ(a) with a = mean/sd.
///
/// `mean` and `sd` in a scenario describe the normal before truncation, so when sd is not small
/// against the mean the samples average a little more than `mean`; reports use this figure.
fn truncated_normal_mean(mean: f64, sd: f64) -> f64 {
    if sd == 0.0 {
        return mean;
    }
    let a = mean / sd;
    let density = (-a * a / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let below = 0.5 * erfc(-a / std::f64::consts::SQRT_2);
    mean + sd * density / below
}

/// Complementary error function (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7):
/// `f64::erfc` is not stable yet, and the mean above needs only a few digits.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Reads an empirical sample file: one duration per line (`42ms`), or bare numbers when the
/// distribution gives a `unit`; blank lines and `#` comments are skipped.
fn load_samples(path: &Path, unit: Option<(&str, u64)>) -> Result<Vec<SimDuration>, String> {
    let shown = path.display();
    let text = crate::files::read_to_string(path).map_err(|e| {
        format!("cannot read the samples file `{shown}` of an empirical distribution: {e}")
    })?;
    let mut samples = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let content = line.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let sample = match (content.parse::<f64>(), unit) {
            (Ok(value), Some((unit_name, unit_size))) => bare_sample(value, unit_size)
                .map_err(|why| format!("`{shown}` line {line_no}: `{content}` {unit_name} {why}")),
            (Ok(_), None) => Err(format!(
                "`{shown}` line {line_no}: `{content}` has no unit; write samples like \"42ms\", \
                 or give the unit of bare numbers in the distribution, like `unit = \"ms\"`"
            )),
            (Err(_), _) => {
                parse_duration(content).map_err(|e| format!("`{shown}` line {line_no}: {e}"))
            }
        }?;
        samples.push(sample);
    }
    if samples.is_empty() {
        return Err(format!(
            "the samples file `{shown}` of an empirical distribution has no samples (blank lines \
             and `#` comments are skipped)"
        ));
    }
    Ok(samples)
}

/// A bare number of `unit_size`-nanosecond units, rounded to the nearest nanosecond. Floats are
/// accepted (`4.2e-3` with unit `s`), as recorded data often comes from tools that print them.
fn bare_sample(value: f64, unit_size: u64) -> Result<SimDuration, String> {
    if !value.is_finite() {
        return Err("is not a finite number".into());
    }
    if value < 0.0 {
        return Err("must not be negative".into());
    }
    let nanos = (value * unit_size as f64).round();
    if nanos >= u64::MAX as f64 {
        return Err("is too long: the longest duration is about 584 years".into());
    }
    Ok(SimDuration(nanos as u64))
}

/// A ready-to-sample distribution of durations, built from a [`DistSpec`].
///
/// Every parameter is precomputed, so a draw costs a few arithmetic operations and never
/// allocates; cloning shares empirical samples rather than copying them.
#[derive(Clone, Debug)]
pub struct Dist {
    sampler: Sampler,
    mean: f64,
}

/// Samplers work in seconds (f64) but for uniform (integer nanoseconds, so its mean is exact)
/// and the kinds that hold durations.
#[derive(Clone, Debug)]
enum Sampler {
    Constant(SimDuration),
    Exponential(Exp<f64>),
    Uniform(Uniform<u64>),
    /// Truncated at zero by resampling.
    Normal(Normal<f64>),
    LogNormal(LogNormal<f64>),
    Gamma(Gamma<f64>),
    Pareto(Pareto<f64>),
    /// Never empty: [`load_samples`] refuses empty files.
    Empirical(Arc<[SimDuration]>),
}

impl Dist {
    /// Always `d`.
    pub fn constant(d: SimDuration) -> Dist {
        Dist {
            sampler: Sampler::Constant(d),
            mean: d.as_secs_f64(),
        }
    }

    /// Exponential with the given mean; a zero mean gives the constant zero.
    pub fn exponential(mean: SimDuration) -> Dist {
        match Exp::new(1.0 / mean.as_secs_f64()) {
            Ok(exp) if !mean.is_zero() => Dist {
                sampler: Sampler::Exponential(exp),
                mean: mean.as_secs_f64(),
            },
            _ => Dist::constant(SimDuration::ZERO),
        }
    }

    /// One random duration.
    ///
    /// A truncated normal redraws negative values; after 64 negative draws in a row (probability
    /// below 2⁻⁶⁴, as its mean is never negative) it returns the mean, so a draw always ends.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> SimDuration {
        let secs = match &self.sampler {
            Sampler::Constant(d) => return *d,
            Sampler::Uniform(uniform) => return SimDuration(uniform.sample(rng)),
            Sampler::Empirical(samples) => return samples[rng.random_range(0..samples.len())],
            Sampler::Exponential(exp) => exp.sample(rng),
            Sampler::Normal(normal) => {
                let mut tries = 0;
                loop {
                    let x = normal.sample(rng);
                    if x >= 0.0 {
                        break x;
                    }
                    tries += 1;
                    if tries == NORMAL_MAX_TRIES {
                        break normal.mean();
                    }
                }
            }
            Sampler::LogNormal(lognormal) => lognormal.sample(rng),
            Sampler::Gamma(gamma) => gamma.sample(rng),
            Sampler::Pareto(pareto) => pareto.sample(rng),
        };
        SimDuration::from_secs_f64(secs)
    }

    /// The mean in seconds: exact where the distribution defines one (infinite for a pareto with
    /// shape ≤ 1; for a truncated normal, the mean after truncation), the sample mean for an
    /// empirical distribution.
    pub fn mean(&self) -> f64 {
        self.mean
    }
}

impl Distribution<SimDuration> for Dist {
    /// Lets a `Dist` be used with `rng.sample(&dist)`.
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> SimDuration {
        Dist::sample(self, rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use std::path::PathBuf;

    #[derive(Debug, Deserialize, schemars::JsonSchema, Serialize, PartialEq)]
    struct Wrapper {
        d: DistSpec,
    }

    fn spec(table: &str) -> DistSpec {
        match toml::from_str::<Wrapper>(&format!("d = {table}")) {
            Ok(w) => w.d,
            Err(e) => panic!("{table}: {e}"),
        }
    }

    fn spec_err(table: &str) -> String {
        toml::from_str::<Wrapper>(&format!("d = {table}"))
            .expect_err(table)
            .message()
            .to_string()
    }

    fn build(table: &str) -> Dist {
        spec(table).build(Path::new(".")).unwrap()
    }

    fn ms(n: u64) -> SimDuration {
        SimDuration::from_millis(n)
    }

    /// Mean and standard deviation in seconds of `n` samples from a fixed seed.
    fn sample_stats(dist: &Dist, n: usize, seed: u64) -> (f64, f64, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let xs: Vec<f64> = (0..n)
            .map(|_| dist.sample(&mut rng).as_secs_f64())
            .collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        (mean, var.sqrt(), xs)
    }

    /// Checks the sample mean against `expected` within five standard errors of the theoretical
    /// standard deviation `sd`: a fixed seed makes this deterministic, and five standard errors
    /// keep it valid for any seed but with odds of about one in 1.7 million.
    fn assert_mean(dist: &Dist, expected: f64, sd: f64) {
        let n = 200_000;
        let (mean, _, _) = sample_stats(dist, n, 7);
        let tolerance = 5.0 * sd / (n as f64).sqrt();
        assert!(
            (mean - expected).abs() <= tolerance,
            "sample mean {mean} vs {expected} (tolerance {tolerance})"
        );
        assert!(
            (dist.mean() - expected).abs() <= 1e-9 * expected,
            "{} vs {expected}",
            dist.mean()
        );
    }

    #[test]
    fn parses_each_kind() {
        assert_eq!(
            spec(r#"{ dist = "constant", value = "40ms" }"#),
            DistSpec::constant(ms(40))
        );
        assert_eq!(
            spec(r#"{ dist = "exponential", mean = "120ms" }"#),
            DistSpec::exponential(ms(120))
        );
        for table in [
            r#"{ dist = "uniform", min = "10ms", max = "50ms" }"#,
            r#"{ dist = "normal", mean = "40ms", sd = "10ms" }"#,
            r#"{ dist = "lognormal", mean = "40ms", p99 = "200ms" }"#,
            r#"{ dist = "lognormal", mu = -3.5, sigma = 0.8 }"#,
            r#"{ dist = "lognormal", mu = -3, sigma = 1 }"#,
            r#"{ dist = "gamma", shape = 2.0, mean = "50ms" }"#,
            r#"{ dist = "gamma", shape = 2, scale = "25ms" }"#,
            r#"{ dist = "pareto", shape = 2.5, scale = "10ms" }"#,
            r#"{ dist = "pareto", shape = 2.5, mean = "10ms" }"#,
            r#"{ dist = "empirical", file = "samples.txt" }"#,
            r#"{ dist = "empirical", file = "samples.txt", unit = "ms" }"#,
        ] {
            let parsed = spec(table);
            assert!(table.contains(parsed.name()), "{table}");
        }
    }

    #[test]
    fn specs_round_trip_through_toml() {
        for table in [
            r#"{ dist = "constant", value = "1.234567ms" }"#,
            r#"{ dist = "uniform", min = "0s", max = "50ms" }"#,
            r#"{ dist = "normal", mean = "40ms", sd = "0s" }"#,
            r#"{ dist = "lognormal", mean = "40ms", p99 = "200ms" }"#,
            r#"{ dist = "lognormal", mu = -3.5, sigma = 0.8 }"#,
            r#"{ dist = "gamma", shape = 0.5, scale = "25ms" }"#,
            r#"{ dist = "pareto", shape = 1.5, mean = "10ms" }"#,
            r#"{ dist = "empirical", file = "a/b.txt", unit = "us" }"#,
        ] {
            let original = Wrapper { d: spec(table) };
            let text = toml::to_string(&original).unwrap();
            assert_eq!(
                toml::from_str::<Wrapper>(&text).unwrap(),
                original,
                "{text}"
            );
        }
    }

    #[test]
    fn display_is_compact() {
        let s = spec(r#"{ dist = "lognormal", mean = "40ms", p99 = "200ms" }"#);
        assert_eq!(s.to_string(), "lognormal(mean=40ms, p99=200ms)");
    }

    #[test]
    fn unknown_distribution_suggests_the_nearest() {
        assert_eq!(
            spec_err(r#"{ dist = "lognormla", mean = "40ms", p99 = "200ms" }"#),
            "unknown distribution `lognormla`; expected one of constant, exponential, uniform, \
             normal, lognormal, gamma, pareto, empirical; did you mean `lognormal`?"
        );
        assert!(spec_err(r#"{ dist = "Exponential", mean = "1s" }"#).ends_with("`exponential`?"));
        assert!(spec_err(r#"{ dist = "weibull", mean = "1s" }"#).ends_with("pareto, empirical"));
    }

    #[test]
    fn unknown_and_missing_fields() {
        let e = spec_err(r#"{ dist = "exponential", mean = "1s", p98 = "2s" }"#);
        assert!(
            e.starts_with("unknown field `p98`, expected one of `dist`"),
            "{e}"
        );
        assert_eq!(spec_err(r#"{ mean = "1s" }"#), "missing field `dist`");
        assert_eq!(
            spec_err("5"),
            "expected a duration with a unit, like \"40ms\", or a distribution, found 5"
        );
        assert!(spec_err("true").contains("a distribution like { dist"));
        assert!(spec_err(r#""5 parsecs""#).starts_with("invalid duration \"5 parsecs\""));
    }

    #[test]
    fn fields_of_other_kinds_are_rejected() {
        assert_eq!(
            spec_err(r#"{ dist = "exponential", mean = "40ms", p99 = "200ms" }"#),
            "`p99` does not apply to an exponential distribution; it takes `mean`"
        );
        assert_eq!(
            spec_err(r#"{ dist = "constant", mean = "40ms" }"#),
            "`mean` does not apply to a constant distribution; it takes `value`"
        );
        assert!(
            spec_err(r#"{ dist = "normal", mean = "40ms", sd = "1ms", unit = "ms" }"#)
                .starts_with("`unit` does not apply to a normal distribution")
        );
    }

    #[test]
    fn required_fields_are_named() {
        assert_eq!(
            spec_err(r#"{ dist = "lognormal", mean = "40ms" }"#),
            "a lognormal distribution needs `mean` and `p99`, or `mu` and `sigma`; found `mean`"
        );
        assert_eq!(
            spec_err(r#"{ dist = "lognormal", mean = "40ms", sigma = 0.5 }"#),
            "a lognormal distribution needs `mean` and `p99`, or `mu` and `sigma`; found `mean` \
             and `sigma`"
        );
        assert_eq!(
            spec_err(r#"{ dist = "uniform" }"#),
            "a uniform distribution needs `min` and `max`; found none of them"
        );
        assert!(spec_err(r#"{ dist = "constant" }"#).starts_with("a constant distribution needs"));
        assert!(spec_err(r#"{ dist = "normal", sd = "1ms" }"#).contains("needs `mean` and `sd`"));
        assert!(spec_err(r#"{ dist = "gamma", mean = "1ms" }"#).contains("needs `shape`"));
        assert!(spec_err(r#"{ dist = "pareto", shape = 2.0 }"#).contains("needs `shape`, with"));
        assert!(spec_err(r#"{ dist = "empirical" }"#).contains("needs `file`"));
        assert_eq!(
            spec_err(r#"{ dist = "gamma", shape = 2.0, mean = "1s", scale = "1s" }"#),
            "a gamma distribution takes `mean` or `scale`, not both"
        );
    }

    #[test]
    fn lognormal_p99_must_exceed_the_mean_and_be_reachable() {
        assert_eq!(
            spec_err(r#"{ dist = "lognormal", mean = "40ms", p99 = "10ms" }"#),
            "p99 (10ms) must be greater than the mean (40ms) of a lognormal distribution"
        );
        assert!(
            spec_err(r#"{ dist = "lognormal", mean = "40ms", p99 = "40ms" }"#)
                .starts_with("p99 (40ms) must be greater")
        );
        assert_eq!(
            spec_err(r#"{ dist = "lognormal", mean = "40ms", p99 = "1s" }"#),
            "no lognormal distribution has a p99 more than 14.97 times its mean, and p99 (1s) is \
             25.00 times the mean (40ms); lower the p99, raise the mean, or give `mu` and `sigma` \
             instead"
        );
        // Just inside the limit still fits.
        spec(r#"{ dist = "lognormal", mean = "1s", p99 = "14.9s" }"#);
        assert!(
            spec_err(r#"{ dist = "lognormal", mean = "0s", p99 = "1s" }"#)
                .contains("mean of a lognormal distribution must be greater than zero")
        );
    }

    #[test]
    fn numeric_parameters_are_checked() {
        assert_eq!(
            spec_err(r#"{ dist = "exponential", mean = "0s" }"#),
            "the mean of an exponential distribution must be greater than zero, found \"0s\""
        );
        assert_eq!(
            spec_err(r#"{ dist = "uniform", min = "50ms", max = "10ms" }"#),
            "min (50ms) must be less than max (10ms) in a uniform distribution; for a fixed \
             duration write { dist = \"constant\", value = \"50ms\" }"
        );
        assert!(spec_err(r#"{ dist = "uniform", min = "10ms", max = "10ms" }"#).contains("less"));
        assert!(
            spec_err(r#"{ dist = "normal", mean = "40ms", sd = "-1ms" }"#)
                .contains("must not be negative")
        );
        assert_eq!(
            spec_err(r#"{ dist = "gamma", shape = 0, mean = "1s" }"#),
            "`shape` must be a finite number greater than zero, found 0"
        );
        assert!(spec_err(r#"{ dist = "gamma", shape = -2.0, scale = "1s" }"#).contains("found -2"));
        assert!(spec_err(r#"{ dist = "gamma", shape = nan, scale = "1s" }"#).contains("found NaN"));
        assert!(
            spec_err(r#"{ dist = "gamma", shape = 2.0, scale = "0s" }"#)
                .contains("scale of a gamma distribution must be greater than zero")
        );
        assert!(
            spec_err(r#"{ dist = "pareto", shape = inf, scale = "1s" }"#).contains("found inf")
        );
        assert_eq!(
            spec_err(r#"{ dist = "pareto", shape = 0.8, mean = "1s" }"#),
            "a pareto distribution with shape 0.8 has no finite mean, so `mean` cannot set it; \
             give `scale` (the smallest value) instead, or a shape greater than 1"
        );
        assert!(
            spec_err(r#"{ dist = "lognormal", mu = -3.0, sigma = 0 }"#)
                .contains("`sigma` must be a finite number greater than zero, found 0")
        );
        assert!(spec_err(r#"{ dist = "lognormal", mu = inf, sigma = 1 }"#).contains("`mu` must"));
        assert!(
            spec_err(r#"{ dist = "lognormal", mu = 40, sigma = 1 }"#)
                .contains("beyond the longest duration")
        );
        assert!(
            spec_err(r#"{ dist = "lognormal", mu = "40ms", sigma = 1 }"#)
                .contains("invalid type: string")
        );
        assert!(
            spec_err(r#"{ dist = "exponential", mean = 5 }"#)
                .contains("expected a duration with a unit, like \"250ms\", found 5")
        );
        assert!(
            spec_err(r#"{ dist = "empirical", file = "x", unit = "sec" }"#)
                .ends_with("did you mean `s`?")
        );
        assert!(spec_err(r#"{ dist = "empirical", file = " " }"#).contains("must name a file"));
    }

    #[test]
    fn errors_point_into_the_file() {
        let text = "a = 1\nd = { dist = \"lognormal\", mean = \"40ms\", p99 = \"10ms\" }\n";
        #[derive(Debug, Deserialize, schemars::JsonSchema)]
        #[allow(dead_code)]
        struct Two {
            a: u32,
            d: DistSpec,
        }
        let e = toml::from_str::<Two>(text).unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let bad_field = "a = 1\nd = { dist = \"uniform\", min = \"1x\", max = \"2s\" }\n";
        let e = toml::from_str::<Two>(bad_field).unwrap_err();
        let span = e.span().unwrap();
        assert_eq!(&bad_field[span], "\"1x\"");
    }

    #[test]
    fn a_plain_duration_is_a_constant() {
        assert_eq!(
            spec(r#""1s""#),
            DistSpec::constant(SimDuration::from_secs(1))
        );
        assert_eq!(spec(r#""0s""#), DistSpec::constant(SimDuration::ZERO));
        // It writes back as the table it stands for.
        let text = toml::to_string(&Wrapper {
            d: spec(r#""40ms""#),
        })
        .unwrap();
        let back: Wrapper = toml::from_str(&text).unwrap();
        assert_eq!(back.d, spec(r#""40ms""#));
        assert!(text.contains("dist = \"constant\""), "{text}");
    }

    #[test]
    fn constant_and_uniform_samples() {
        let constant = build(r#"{ dist = "constant", value = "40ms" }"#);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert!((0..100).all(|_| constant.sample(&mut rng) == ms(40)));
        assert_eq!(constant.mean(), 0.04);

        let uniform = build(r#"{ dist = "uniform", min = "10ms", max = "50ms" }"#);
        assert!((0..10_000).all(|_| (ms(10)..=ms(50)).contains(&uniform.sample(&mut rng))));
        assert_mean(&uniform, 0.03, 0.04 / 12f64.sqrt());
    }

    #[test]
    fn exponential_mean() {
        assert_mean(
            &build(r#"{ dist = "exponential", mean = "120ms" }"#),
            0.12,
            0.12,
        );
        assert_mean(&Dist::exponential(ms(120)), 0.12, 0.12);
        assert_eq!(
            Dist::exponential(SimDuration::ZERO).sample(&mut ChaCha8Rng::seed_from_u64(1)),
            SimDuration::ZERO
        );
    }

    #[test]
    fn normal_is_truncated_at_zero() {
        // Barely truncated (four sd above zero): the mean moves by sd·φ(4)/Φ(4) = 1.34 µs.
        let narrow = build(r#"{ dist = "normal", mean = "40ms", sd = "10ms" }"#);
        assert!(
            (narrow.mean() - 0.040_001_34).abs() < 1e-8,
            "{}",
            narrow.mean()
        );
        assert_mean(&narrow, narrow.mean(), 0.01);
        // Heavily truncated: mean + sd·φ(a)/Φ(a) with a = 0.5 is 10 + 20·0.35207/0.69146 ms.
        let wide = build(r#"{ dist = "normal", mean = "10ms", sd = "20ms" }"#);
        assert!((wide.mean() - 0.020_183_4).abs() < 1e-6, "{}", wide.mean());
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        assert!((0..10_000).all(|_| wide.sample(&mut rng) < SimDuration::from_secs(1)));
        // Truncation only shrinks the spread, so sd bounds the standard deviation.
        assert_mean(&wide, wide.mean(), 0.02);
        // Mean zero is a half-normal: sd·√(2/π).
        let half = build(r#"{ dist = "normal", mean = "0s", sd = "10ms" }"#);
        assert!((half.mean() - 0.01 * (2.0 / std::f64::consts::PI).sqrt()).abs() < 1e-8);
        assert_mean(&half, half.mean(), 0.01);
    }

    #[test]
    fn lognormal_matches_mean_and_p99() {
        let dist = build(r#"{ dist = "lognormal", mean = "40ms", p99 = "200ms" }"#);
        let (mu, sigma) = lognormal_from_mean_p99(ms(40), ms(200)).unwrap();
        assert!((mu + Z99 * sigma).exp() - 0.2 < 1e-12);
        let sd = ((sigma * sigma).exp() - 1.0).sqrt() * 0.04;
        assert_mean(&dist, 0.04, sd);

        // The empirical p99 has standard error √(p(1−p)/n) / f(p99), f the density.
        let n = 200_000;
        let (_, _, mut xs) = sample_stats(&dist, n, 11);
        xs.sort_by(f64::total_cmp);
        let p99 = xs[(0.99 * n as f64) as usize];
        let density = (-((0.2f64.ln() - mu).powi(2)) / (2.0 * sigma * sigma)).exp()
            / (0.2 * sigma * (2.0 * std::f64::consts::PI).sqrt());
        let tolerance = 5.0 * (0.99 * 0.01 / n as f64).sqrt() / density;
        assert!(
            (p99 - 0.2).abs() <= tolerance,
            "p99 {p99} (tolerance {tolerance})"
        );
    }

    #[test]
    fn lognormal_from_mu_sigma() {
        let dist = build(r#"{ dist = "lognormal", mu = -3.5, sigma = 0.8 }"#);
        let mean = (-3.5f64 + 0.32).exp();
        let sd = ((0.64f64).exp() - 1.0).sqrt() * mean;
        assert_mean(&dist, mean, sd);
    }

    #[test]
    fn gamma_means() {
        // Variance shape·scale².
        let by_mean = build(r#"{ dist = "gamma", shape = 2.0, mean = "50ms" }"#);
        assert_mean(&by_mean, 0.05, 2f64.sqrt() * 0.025);
        let by_scale = build(r#"{ dist = "gamma", shape = 0.5, scale = "20ms" }"#);
        assert_mean(&by_scale, 0.01, 0.5f64.sqrt() * 0.02);
    }

    #[test]
    fn pareto_means() {
        // Variance scale²·α / ((α−1)²(α−2)) for α > 2.
        let sd = |scale: f64, a: f64| (scale * scale * a / ((a - 1.0).powi(2) * (a - 2.0))).sqrt();
        let by_scale = build(r#"{ dist = "pareto", shape = 2.5, scale = "10ms" }"#);
        assert_mean(&by_scale, 0.025 / 1.5, sd(0.01, 2.5));
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        assert!((0..10_000).all(|_| by_scale.sample(&mut rng) >= ms(10)));
        let by_mean = build(r#"{ dist = "pareto", shape = 3.0, mean = "30ms" }"#);
        assert_mean(&by_mean, 0.03, sd(0.02, 3.0));
        let heavy = build(r#"{ dist = "pareto", shape = 0.9, scale = "1ms" }"#);
        assert_eq!(heavy.mean(), f64::INFINITY);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..100_000 {
            heavy.sample(&mut rng); // saturates instead of overflowing
        }
    }

    #[test]
    fn sampling_is_deterministic() {
        for table in [
            r#"{ dist = "exponential", mean = "120ms" }"#,
            r#"{ dist = "normal", mean = "5ms", sd = "10ms" }"#,
            r#"{ dist = "lognormal", mean = "40ms", p99 = "200ms" }"#,
            r#"{ dist = "gamma", shape = 0.7, mean = "50ms" }"#,
        ] {
            let dist = build(table);
            let (_, _, a) = sample_stats(&dist, 1_000, 99);
            let (_, _, b) = sample_stats(&dist, 1_000, 99);
            let (_, _, c) = sample_stats(&dist, 1_000, 100);
            assert_eq!(a, b, "{table}");
            assert_ne!(a, c, "{table}");
        }
    }

    #[test]
    fn spec_means_are_known_without_building() {
        assert_eq!(
            spec(r#"{ dist = "gamma", shape = 2.0, scale = "25ms" }"#).mean_secs(),
            Some(0.05)
        );
        assert_eq!(
            spec(r#"{ dist = "empirical", file = "x" }"#).mean_secs(),
            None
        );
    }

    /// A file in the temp folder that removes itself.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str, contents: &str) -> TempFile {
            let path =
                std::env::temp_dir().join(format!("awsim-dist-{}-{name}", std::process::id()));
            std::fs::write(&path, contents).unwrap();
            TempFile(path)
        }

        fn spec(&self, unit: Option<&str>) -> DistSpec {
            let unit = unit
                .map(|u| format!(", unit = \"{u}\""))
                .unwrap_or_default();
            let name = self.0.file_name().unwrap().to_str().unwrap();
            spec(&format!(
                "{{ dist = \"empirical\", file = \"{name}\"{unit} }}"
            ))
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn empirical_reads_durations_and_bare_numbers() {
        let dir = std::env::temp_dir();
        let file = TempFile::new("ok.txt", "# latencies\n10ms\n\n  20ms  # slow\n30 ms\n");
        let dist = file.spec(None).build(&dir).unwrap();
        assert!((dist.mean() - 0.02).abs() < 1e-12);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut seen = [false; 3];
        for _ in 0..1_000 {
            let x = dist.sample(&mut rng);
            seen[(x.as_nanos() / 10_000_000 - 1) as usize] = true;
        }
        assert_eq!(seen, [true; 3]);
        assert_mean(&dist, 0.02, (2.0f64 / 3.0).sqrt() * 0.01);

        let bare = TempFile::new("bare.txt", "1\n2.5\n4e-1\n7us\n");
        let dist = bare.spec(Some("ms")).build(&dir).unwrap();
        let expected = (1.0 + 2.5 + 0.4 + 0.007) / 4.0 / 1000.0;
        assert!((dist.mean() - expected).abs() < 1e-12, "{}", dist.mean());
    }

    #[test]
    fn empirical_errors() {
        let dir = std::env::temp_dir();
        let missing = spec(r#"{ dist = "empirical", file = "awsim-no-such-file.txt" }"#);
        let e = missing.build(&dir).unwrap_err();
        assert!(e.starts_with("cannot read the samples file `"), "{e}");
        assert!(e.contains("awsim-no-such-file.txt"), "{e}");

        let bare = TempFile::new("nounit.txt", "10ms\n42\n");
        let e = bare.spec(None).build(&dir).unwrap_err();
        assert!(
            e.ends_with(
                "line 2: `42` has no unit; write samples like \"42ms\", or give the unit of bare \
             numbers in the distribution, like `unit = \"ms\"`"
            ),
            "{e}"
        );

        let bad = TempFile::new("bad.txt", "10ms\n\n# note\n12 parsecs\n");
        let e = bad.spec(Some("ms")).build(&dir).unwrap_err();
        assert!(
            e.contains("line 4: invalid duration \"12 parsecs\": unknown unit `parsecs`"),
            "{e}"
        );

        let negative = TempFile::new("neg.txt", "-3\n");
        let e = negative.spec(Some("ms")).build(&dir).unwrap_err();
        assert!(e.ends_with("line 1: `-3` ms must not be negative"), "{e}");

        let nan = TempFile::new("nan.txt", "NaN\n");
        assert!(
            nan.spec(Some("s"))
                .build(&dir)
                .unwrap_err()
                .contains("not a finite number")
        );

        let empty = TempFile::new("empty.txt", "# nothing\n\n");
        let e = empty.spec(None).build(&dir).unwrap_err();
        assert!(
            e.ends_with("has no samples (blank lines and `#` comments are skipped)"),
            "{e}"
        );
    }

    #[test]
    fn erfc_is_accurate_enough() {
        for (x, expected) in [
            (0.0, 1.0),
            (0.5, 0.479_500_122_186_953_5),
            (-1.0, 1.842_700_792_949_715),
            (2.0, 0.004_677_734_981_047_266),
        ] {
            assert!(
                (erfc(x) - expected).abs() <= 2e-7 * expected,
                "erfc({x}) = {}",
                erfc(x)
            );
        }
    }
}
