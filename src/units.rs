//! Durations and rates with units, as scenario files write them: `"250ms"`, `"1m30s"`, `"800/s"`.
//!
//! A bare number is never accepted where a duration or rate is expected: "timeout = 5" is
//! ambiguous (seconds? milliseconds?) and a wrong guess silently changes every result by a
//! factor of a thousand, so the user is asked to write the unit.
//!
//! Durations are parsed with integer arithmetic, so `"0.1s"` is exactly 100 000 000 ns and a
//! parsed duration serializes back to the same string. Fractions of a nanosecond are rounded to
//! the nearest nanosecond (half up), because simulated time has no finer grain.
//!
//! Units (case sensitive): `ns`, `us` (also `µs`, `μs`), `ms`, `s`, `m` (also `min`), `h`, `d`.
//!
//! The spelling suggestions every scenario message gives for a misspelt name
//! ([`did_you_mean`], [`closest_spelling`], [`unknown_word`]) live here too: this is the lowest module about
//! scenario text, so the models, faults and workloads that check their own fields can use them
//! without depending on `scenario`.

pub mod limits;
mod size;
pub use size::{format_size, parse_size};

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::engine::time::{NANOS_PER_SEC, SimDuration};

/// Unit names and their length in nanoseconds. Aliases share a length.
const UNITS: &[(&str, u64)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", NANOS_PER_SEC),
    ("m", 60 * NANOS_PER_SEC),
    ("min", 60 * NANOS_PER_SEC),
    ("h", 3_600 * NANOS_PER_SEC),
    ("d", 86_400 * NANOS_PER_SEC),
];

/// How the units are listed in error messages.
const UNIT_LIST: &str = "ns, us, ms, s, m (or min), h, d";

/// Long or conventional spellings people write, mapped to the unit we accept. Used only to
/// suggest a fix: accepting them would give two spellings for one thing in scenario files.
const UNIT_ALIASES: &[(&str, &str)] = &[
    ("nanos", "ns"),
    ("nsec", "ns"),
    ("nanosecond", "ns"),
    ("nanoseconds", "ns"),
    ("micros", "us"),
    ("usec", "us"),
    ("microsecond", "us"),
    ("microseconds", "us"),
    ("millis", "ms"),
    ("msec", "ms"),
    ("msecs", "ms"),
    ("millisecond", "ms"),
    ("milliseconds", "ms"),
    ("sec", "s"),
    ("secs", "s"),
    ("second", "s"),
    ("seconds", "s"),
    ("mins", "min"),
    ("minute", "min"),
    ("minutes", "min"),
    ("hr", "h"),
    ("hrs", "h"),
    ("hour", "h"),
    ("hours", "h"),
    ("day", "d"),
    ("days", "d"),
];

/// The longest representable duration, for the overflow message (u64 nanoseconds ≈ 584 years).
const TOO_LONG: &str = "is too long: the longest duration is about 584 years";

/// The length in nanoseconds of a time unit such as `"ms"`, or a message naming the valid units
/// and the nearest one.
pub(crate) fn unit_nanos(unit: &str) -> Result<u64, String> {
    if let Some(&(_, nanos)) = UNITS.iter().find(|(name, _)| *name == unit) {
        return Ok(nanos);
    }
    let names: Vec<&str> = UNITS.iter().map(|(name, _)| *name).collect();
    let expected = format!("one of {UNIT_LIST}");
    Err(unknown_word("unit", unit, &expected, UNIT_ALIASES, &names))
}

/// The candidate closest to a misspelt `word`, if one is close enough to be a plausible typo.
///
/// Case is ignored when comparing, so `"LogNormal"` suggests `"lognormal"`; a word that is the
/// start of exactly one candidate (`"zip"` → `"zipf"`) is also suggested.
pub fn closest_spelling<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = word.to_lowercase();
    if word.is_empty() {
        return None;
    }
    if let Some(exact) = candidates.iter().find(|c| c.to_lowercase() == word) {
        return Some(exact);
    }
    let prefixed: Vec<&&str> = candidates.iter().filter(|c| c.starts_with(&word)).collect();
    if word.chars().count() >= 2 && prefixed.len() == 1 {
        return Some(prefixed[0]);
    }
    let (best, score) = candidates
        .iter()
        .map(|c| (*c, strsim::normalized_damerau_levenshtein(&word, c)))
        .fold(
            ("", 0.0),
            |best, next| if next.1 > best.1 { next } else { best },
        );
    (score >= 0.5).then_some(best)
}

/// `"; did you mean `x`?"` for the candidate nearest to `name`, or `""` if none is close (the
/// rule of [`closest_spelling`]: case ignored, a unique prefix, or a close spelling).
pub fn did_you_mean(name: &str, candidates: &[&str]) -> String {
    match closest_spelling(name, candidates).filter(|c| *c != name) {
        Some(c) => format!("; did you mean `{c}`?"),
        None => String::new(),
    }
}

/// The message for a word that names nothing: what was expected, and the likely intended word
/// (from `aliases`, lower-cased keys, or the nearest of `candidates`).
pub fn unknown_word(
    what: &str,
    word: &str,
    expected: &str,
    aliases: &[(&str, &str)],
    candidates: &[&str],
) -> String {
    let mut msg = format!("unknown {what} `{word}`; expected {expected}");
    let lower = word.to_lowercase();
    let alias = aliases
        .iter()
        .find(|(alias, _)| *alias == lower)
        .map(|(_, meant)| *meant);
    if let Some(suggestion) = alias.or_else(|| closest_spelling(word, candidates)) {
        msg.push_str(&format!("; did you mean `{suggestion}`?"));
    }
    msg
}

/// Parses a duration such as `"250ms"`, `"1.5s"`, `"5m"`, `"2 h"` or the compound `"1m30s"` /
/// `"1h 30m"` (units from largest to smallest).
///
/// Zero is accepted. Negative, unit-less, non-finite and out-of-range values are errors whose
/// message quotes the input and says what was expected.
pub fn parse_duration(s: &str) -> Result<SimDuration, String> {
    let fail = |why: String| format!("invalid duration \"{s}\": {why}");
    let text = s.trim();
    if text.is_empty() {
        return Err(fail(
            "a duration cannot be empty; write a number with a unit, like \"250ms\" or \"5m\""
                .into(),
        ));
    }
    let mut rest = text;
    let mut total: u128 = 0;
    let mut previous_unit: Option<(&str, u64)> = None;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_len];
        if number.is_empty() {
            return Err(fail(not_a_number(rest)));
        }
        rest = rest[number_len..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let after_unit = &rest[unit_len..];
        if unit.is_empty() {
            return Err(fail(
                "a duration needs a unit, like \"250ms\" or \"5m\"; units are ".to_string()
                    + UNIT_LIST,
            ));
        }
        if (unit == "e" || unit == "E")
            && after_unit.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+')
        {
            return Err(fail(
                "exponent notation is not supported in durations; write the digits out, \
                 like \"1000ms\""
                    .into(),
            ));
        }
        let unit_size = unit_nanos(unit).map_err(&fail)?;
        if let Some((previous, previous_size)) = previous_unit
            && unit_size >= previous_size
        {
            return Err(fail(format!(
                "`{unit}` comes after `{previous}`; in a compound duration the units must go \
                 from largest to smallest, like \"1h 30m\""
            )));
        }
        previous_unit = Some((unit, unit_size));
        let nanos = scaled_decimal(number, unit_size)
            .ok_or_else(|| fail(format!("`{number}` is not a number")))?
            .ok_or_else(|| fail(TOO_LONG.to_string()))?;
        total = total.saturating_add(nanos);
        rest = after_unit.trim_start();
    }
    u64::try_from(total)
        .map(SimDuration)
        .map_err(|_| fail(TOO_LONG.to_string()))
}

/// Explains why `rest` (where a number should start) is not one.
fn not_a_number(rest: &str) -> String {
    let lower = rest.to_lowercase();
    if rest.starts_with('-') {
        "must not be negative".to_string()
    } else if lower.starts_with("nan") || lower.starts_with("inf") {
        "expected a finite number with a unit, like \"250ms\"".to_string()
    } else {
        format!("expected a number with a unit, like \"250ms\", found `{rest}`")
    }
}

/// `number` (digits with at most one `.`) times `unit` nanoseconds, rounded to the nearest
/// nanosecond. `None` if `number` is malformed, `Some(None)` on overflow.
///
/// Integer arithmetic keeps `"0.1s"` exact, which floats would not.
fn scaled_decimal(number: &str, unit: u64) -> Option<Option<u128>> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if fraction.contains('.') || (whole.is_empty() && fraction.is_empty()) {
        return None;
    }
    let mut whole_value: u128 = 0;
    for digit in whole.bytes() {
        whole_value = match whole_value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u128::from(digit - b'0')))
        {
            Some(v) => v,
            None => return Some(None),
        };
    }
    // Twenty digits resolve far below a nanosecond for every unit (at most 8.64e13 ns), and keep
    // the products below u128::MAX.
    let fraction = &fraction[..fraction.len().min(20)];
    let mut fraction_value: u128 = 0;
    let mut denominator: u128 = 1;
    for digit in fraction.bytes() {
        fraction_value = fraction_value * 10 + u128::from(digit - b'0');
        denominator *= 10;
    }
    let unit = u128::from(unit);
    let fraction_nanos = (fraction_value * unit + denominator / 2) / denominator;
    Some(
        whole_value
            .checked_mul(unit)
            .and_then(|v| v.checked_add(fraction_nanos)),
    )
}

/// The exact text of a duration: the short [`fmt::Display`] form when it reads back to the same
/// value, otherwise an exact decimal in seconds or smaller, so serialized scenarios round-trip.
pub fn format_duration_exact(d: SimDuration) -> String {
    let short = d.to_string();
    if parse_duration(&short) == Ok(d) {
        return short;
    }
    // Hours and minutes do not divide into finite decimals; seconds and below always do.
    let n = d.as_nanos();
    let (size, unit) = [(NANOS_PER_SEC, "s"), (1_000_000, "ms"), (1_000, "us")]
        .into_iter()
        .find(|(size, _)| n >= *size)
        .unwrap_or((1, "ns"));
    let whole = n / size;
    let remainder = n % size;
    if remainder == 0 {
        return format!("{whole}{unit}");
    }
    let width = size.ilog10() as usize;
    let digits = format!("{remainder:0width$}");
    format!("{whole}.{}{unit}", digits.trim_end_matches('0'))
}

/// Whether a deserialized duration may be zero.
#[derive(Clone, Copy)]
struct DurationVisitor {
    positive: bool,
}

impl Visitor<'_> for DurationVisitor {
    type Value = SimDuration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration with a unit, like \"250ms\"")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<SimDuration, E> {
        let d = parse_duration(s).map_err(E::custom)?;
        if self.positive && d.is_zero() {
            return Err(E::custom(format!(
                "invalid duration \"{s}\": must be greater than zero"
            )));
        }
        Ok(d)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<SimDuration, E> {
        Err(E::custom(format!(
            "expected a duration with a unit, like \"250ms\", found {v}"
        )))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<SimDuration, E> {
        Err(E::custom(format!(
            "expected a duration with a unit, like \"250ms\", found {v}"
        )))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<SimDuration, E> {
        Err(E::custom(format!(
            "expected a duration with a unit, like \"250ms\", found {v:?}"
        )))
    }
}

impl<'de> Deserialize<'de> for SimDuration {
    /// Reads a string with a unit (see [`parse_duration`]); zero is allowed.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DurationVisitor { positive: false })
    }
}

impl Serialize for SimDuration {
    /// Writes the exact string form (see [`format_duration_exact`]), e.g. `"250ms"`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_duration_exact(*self))
    }
}

/// A duration that must be greater than zero: periods, timeouts, intervals, where zero would
/// make a model spin without time moving or divide by zero.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct PositiveDuration(pub SimDuration);

impl PositiveDuration {
    /// The duration inside.
    pub fn get(self) -> SimDuration {
        self.0
    }
}

impl From<PositiveDuration> for SimDuration {
    fn from(d: PositiveDuration) -> SimDuration {
        d.0
    }
}

impl<'de> Deserialize<'de> for PositiveDuration {
    /// Like [`SimDuration`], and zero is an error ("must be greater than zero").
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(DurationVisitor { positive: true })
            .map(PositiveDuration)
    }
}

/// A rate of events per second, such as an arrival rate.
///
/// Kept as a float: rates are distribution parameters, not points in time, and `"3000/min"` is
/// not a whole number of events per nanosecond.
#[derive(Copy, Clone, Debug, Default, PartialEq, PartialOrd)]
pub struct Rate(f64);

impl Rate {
    /// No events at all (a pause in a rate schedule).
    pub const ZERO: Rate = Rate(0.0);

    /// A rate of `per_second` events per second. Meant for values computed by the program, not
    /// read from users (use [`parse_rate`] for those): it must be finite and not negative, which
    /// debug builds check.
    pub fn from_per_second(per_second: f64) -> Rate {
        debug_assert!(
            per_second.is_finite() && per_second >= 0.0,
            "a rate must be finite and not negative, got {per_second}"
        );
        // Normalise -0.0 so it prints as "0/s".
        Rate(if per_second == 0.0 { 0.0 } else { per_second })
    }

    /// Events per second.
    pub fn per_second(&self) -> f64 {
        self.0
    }

    /// True when no events happen at this rate.
    pub fn is_zero(&self) -> bool {
        self.0 == 0.0
    }

    /// The mean time between events (1 / rate), rounded to the nearest nanosecond; `None` for a
    /// zero rate, which has no next event.
    pub fn mean_interval(&self) -> Option<SimDuration> {
        (self.0 > 0.0).then(|| SimDuration::from_secs_f64(1.0 / self.0))
    }
}

impl fmt::Display for Rate {
    /// Events per second as the shortest text that reads back exactly: `800/s`, `0.5/s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", self.0)
    }
}

impl Serialize for Rate {
    /// Writes the [`fmt::Display`] form, e.g. `"800/s"`, which [`parse_rate`] reads back exactly.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The grammar of [`parse_duration`] as a JSON Schema pattern: what an editor checks as the
/// user types (the loader's check is the parser itself, with its located messages).
pub const DURATION_PATTERN: &str = r"^\s*((\d+\.?\d*|\.\d+)\s*(ns|us|µs|μs|ms|min|s|m|h|d)\s*)+$";

/// The grammar of [`parse_rate`] as a JSON Schema pattern.
pub const RATE_PATTERN: &str =
    r"^\s*(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*/\s*(ns|us|µs|μs|ms|min|s|m|h|d)\s*$";

/// A string schema with `pattern`, and a second pattern the string must also contain (a
/// non-zero digit, for values that must be above zero).
fn pattern_schema(
    pattern: &str,
    also: Option<&str>,
    description: &str,
    example: &str,
) -> schemars::Schema {
    let mut schema = schemars::json_schema!({
        "type": "string",
        "pattern": pattern,
        "description": description,
        "examples": [example],
    });
    if let Some(also) = also {
        schema.insert("allOf".into(), serde_json::json!([{ "pattern": also }]));
    }
    schema
}

impl schemars::JsonSchema for SimDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        pattern_schema(
            DURATION_PATTERN,
            None,
            "A duration with its unit: \"250ms\", \"1.5s\", \"5m\", \"1h 30m\" (units ns, us, \
             ms, s, m or min, h, d; compound units from largest to smallest). A bare number is \
             refused: its unit would be a guess.",
            "250ms",
        )
    }
}

impl schemars::JsonSchema for PositiveDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PositiveDuration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        pattern_schema(
            DURATION_PATTERN,
            Some("[1-9]"),
            "A duration above zero, with its unit: \"250ms\", \"1.5s\", \"5m\", \"1h 30m\".",
            "1h",
        )
    }
}

impl schemars::JsonSchema for Rate {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Rate".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        pattern_schema(
            RATE_PATTERN,
            Some("[1-9]"),
            &format!(
                "A rate above zero: events per unit of time, like \"800/s\" or \"3000/min\" \
                 (at most {}/s).",
                limits::RATE_PER_SECOND.max
            ),
            "800/s",
        )
    }
}

impl schemars::JsonSchema for RateOrZero {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RateOrZero".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        pattern_schema(
            RATE_PATTERN,
            None,
            "A rate, zero allowed: events per unit of time, like \"800/s\" or \"0/s\".",
            "0/s",
        )
    }
}

/// Parses a rate: a number of events per unit of time, like `"800/s"`, `"3000/min"` (or
/// `"/m"`), `"10/h"`, `"0.5/ms"`; any unit of [`parse_duration`] works after the `/`.
///
/// Zero is accepted here (callers that need a positive rate check, as [`Rate`]'s
/// deserialization does); negative, non-finite and unit-less values are errors, and so is a
/// rate above [`limits::RATE_PER_SECOND`] (at which simulated time would barely move).
pub fn parse_rate(s: &str) -> Result<Rate, String> {
    let fail = |why: String| format!("invalid rate \"{s}\": {why}");
    let form = "write a number of events per unit of time, like \"800/s\" or \"3000/min\"";
    let text = s.trim();
    let Some((number, unit)) = text.split_once('/') else {
        if text.is_empty() {
            return Err(fail(format!("a rate cannot be empty; {form}")));
        }
        if text.parse::<f64>().is_ok() {
            return Err(fail(format!("a rate needs a unit; {form}")));
        }
        return Err(fail(format!("expected a rate; {form}")));
    };
    let number = number.trim();
    let unit = unit.trim();
    if number.is_empty() {
        return Err(fail(format!("the number of events is missing; {form}")));
    }
    if number.starts_with('-') {
        return Err(fail("must not be negative".into()));
    }
    let count: f64 = number
        .parse()
        .map_err(|_| fail(format!("`{number}` is not a number; {form}")))?;
    if !count.is_finite() {
        return Err(fail(format!("the number of events must be finite; {form}")));
    }
    if unit.is_empty() {
        return Err(fail(format!("a rate needs a unit after the `/`; {form}")));
    }
    if unit.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return Err(fail(format!(
            "the part after `/` must be a single unit like `s` or `min`, found `{unit}`; {form}"
        )));
    }
    let unit_size = unit_nanos(unit).map_err(fail)?;
    // Divide by whole seconds and multiply by sub-second factors: both are exact in f64, so
    // "3000/min" is exactly 50/s.
    let per_second = if unit_size >= NANOS_PER_SEC {
        count / (unit_size / NANOS_PER_SEC) as f64
    } else {
        count * (NANOS_PER_SEC / unit_size) as f64
    };
    if !per_second.is_finite() {
        return Err(fail("is too large".into()));
    }
    let limit = limits::RATE_PER_SECOND;
    if per_second > limit.max {
        return Err(fail(format!(
            "must be at most {}/s ({}), found {}/s",
            limit.max, limit.why, per_second
        )));
    }
    Ok(Rate::from_per_second(per_second))
}

/// Reads rates; `positive` rejects zero.
#[derive(Clone, Copy)]
struct RateVisitor {
    positive: bool,
}

impl RateVisitor {
    fn bare_number<E: de::Error>(found: String) -> E {
        E::custom(format!(
            "expected a rate with a unit, like \"800/s\", found {found}"
        ))
    }
}

impl Visitor<'_> for RateVisitor {
    type Value = Rate;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a rate with a unit, like \"800/s\"")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Rate, E> {
        let rate = parse_rate(s).map_err(E::custom)?;
        if self.positive && rate.is_zero() {
            return Err(E::custom(format!(
                "invalid rate \"{s}\": a rate must be greater than zero, like \"800/s\""
            )));
        }
        Ok(rate)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Rate, E> {
        Err(Self::bare_number(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Rate, E> {
        Err(Self::bare_number(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Rate, E> {
        Err(Self::bare_number(format!("{v:?}")))
    }
}

impl<'de> Deserialize<'de> for Rate {
    /// Reads a string like `"800/s"` (see [`parse_rate`]); zero is an error, because a workload
    /// with rate zero is almost always a mistake. Use [`RateOrZero`] where pauses are meant.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RateVisitor { positive: true })
    }
}

/// A rate that may be zero, for rate schedules that pause (`{ at = "5m", rate = "0/s" }`).
#[derive(Copy, Clone, Debug, Default, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct RateOrZero(pub Rate);

impl RateOrZero {
    /// The rate inside.
    pub fn get(self) -> Rate {
        self.0
    }
}

impl From<RateOrZero> for Rate {
    fn from(r: RateOrZero) -> Rate {
        r.0
    }
}

impl<'de> Deserialize<'de> for RateOrZero {
    /// Like [`Rate`], and zero is allowed.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(RateVisitor { positive: false })
            .map(RateOrZero)
    }
}

/// A duration from the command line (`"10m"`), which must be greater than zero.
pub fn parse_positive_duration(s: &str) -> Result<SimDuration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err("must be greater than zero".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> SimDuration {
        SimDuration::from_millis(n)
    }

    fn err(s: &str) -> String {
        parse_duration(s).expect_err(s)
    }

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("7ns"), Ok(SimDuration(7)));
        assert_eq!(parse_duration("7us"), Ok(SimDuration(7_000)));
        assert_eq!(parse_duration("7µs"), Ok(SimDuration(7_000)));
        assert_eq!(parse_duration("7μs"), Ok(SimDuration(7_000)));
        assert_eq!(parse_duration("250ms"), Ok(ms(250)));
        assert_eq!(parse_duration("3s"), Ok(SimDuration::from_secs(3)));
        assert_eq!(parse_duration("5m"), Ok(SimDuration::from_secs(300)));
        assert_eq!(parse_duration("5min"), Ok(SimDuration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(SimDuration::from_secs(7_200)));
        assert_eq!(parse_duration("1d"), Ok(SimDuration::from_secs(86_400)));
    }

    #[test]
    fn parses_fractions_exactly() {
        assert_eq!(parse_duration("1.5s"), Ok(ms(1_500)));
        assert_eq!(parse_duration("0.1s"), Ok(ms(100)));
        assert_eq!(parse_duration(".5s"), Ok(ms(500)));
        assert_eq!(parse_duration("2.s"), Ok(SimDuration::from_secs(2)));
        assert_eq!(parse_duration("0.25m"), Ok(SimDuration::from_secs(15)));
        assert_eq!(
            parse_duration("1.000000001s"),
            Ok(SimDuration(1_000_000_001))
        );
        // Below a nanosecond rounds to the nearest.
        assert_eq!(parse_duration("0.4ns"), Ok(SimDuration(0)));
        assert_eq!(parse_duration("1.5ns"), Ok(SimDuration(2)));
        assert_eq!(
            parse_duration("0.3333333333333333333333333h"),
            Ok(SimDuration::from_secs(1_200))
        );
    }

    #[test]
    fn accepts_zero_whitespace_and_compounds() {
        assert_eq!(parse_duration("0s"), Ok(SimDuration::ZERO));
        assert!(err("0").contains("needs a unit"));
        assert_eq!(parse_duration(" 250 ms "), Ok(ms(250)));
        assert_eq!(parse_duration("1m30s"), Ok(SimDuration::from_secs(90)));
        assert_eq!(parse_duration("1h 30m"), Ok(SimDuration::from_secs(5_400)));
        assert_eq!(
            parse_duration("1d 2h 3m 4s 5ms 6us 7ns").map(|d| d.0),
            Ok(93_784_005_006_007)
        );
    }

    #[test]
    fn rejects_negative() {
        assert_eq!(err("-5s"), "invalid duration \"-5s\": must not be negative");
        assert_eq!(
            err("1m -5s"),
            "invalid duration \"1m -5s\": must not be negative"
        );
    }

    #[test]
    fn rejects_missing_unit() {
        let expected = "invalid duration \"5\": a duration needs a unit, like \"250ms\" or \"5m\"; \
                        units are ns, us, ms, s, m (or min), h, d";
        assert_eq!(err("5"), expected);
        assert!(err("1m30").contains("a duration needs a unit"));
    }

    #[test]
    fn rejects_unknown_units_with_a_suggestion() {
        assert_eq!(
            err("5sec"),
            "invalid duration \"5sec\": unknown unit `sec`; expected one of ns, us, ms, s, m \
             (or min), h, d; did you mean `s`?"
        );
        assert!(
            err("5mss").ends_with("did you mean `ms`?"),
            "{}",
            err("5mss")
        );
        assert!(err("5MS").ends_with("did you mean `ms`?"));
        assert!(err("5hours").ends_with("did you mean `h`?"));
        assert!(err("5x").ends_with("h, d"), "{}", err("5x"));
    }

    #[test]
    fn rejects_non_numbers() {
        assert_eq!(
            err(""),
            "invalid duration \"\": a duration cannot be empty; write a number with a unit, \
             like \"250ms\" or \"5m\""
        );
        assert!(err("   ").contains("cannot be empty"));
        assert_eq!(
            err("NaNs"),
            "invalid duration \"NaNs\": expected a finite number with a unit, like \"250ms\""
        );
        assert!(err("inf s").contains("expected a finite number"));
        assert!(err("infinity").contains("expected a finite number"));
        assert_eq!(
            err("1.2.3s"),
            "invalid duration \"1.2.3s\": `1.2.3` is not a number"
        );
        assert_eq!(err(".s"), "invalid duration \".s\": `.` is not a number");
        assert_eq!(
            err("ms"),
            "invalid duration \"ms\": expected a number with a unit, like \"250ms\", found `ms`"
        );
        assert!(err("+5s").contains("found `+5s`"));
        assert!(err("1e3ms").contains("exponent notation is not supported"));
    }

    #[test]
    fn rejects_compounds_out_of_order() {
        assert_eq!(
            err("30s 1m"),
            "invalid duration \"30s 1m\": `m` comes after `s`; in a compound duration the units \
             must go from largest to smallest, like \"1h 30m\""
        );
        assert!(err("1s 2s").contains("largest to smallest"));
        assert!(err("1m 1min").contains("largest to smallest"));
    }

    #[test]
    fn rejects_overflow() {
        assert_eq!(
            err("1000000d"),
            "invalid duration \"1000000d\": is too long: the longest duration is about 584 years"
        );
        assert!(err("99999999999999999999999999999999999999999999999ns").contains("too long"));
        assert_eq!(
            parse_duration("18446744073709551615ns"),
            Ok(SimDuration(u64::MAX))
        );
        assert!(
            parse_duration("18446744073709551616ns")
                .unwrap_err()
                .contains("too long")
        );
        assert!(
            parse_duration("213503d 23h 59m")
                .unwrap_err()
                .contains("too long")
        );
    }

    #[test]
    fn exact_format_round_trips() {
        for n in [
            0,
            1,
            999,
            1_000,
            1_234_567,
            1_500_000_000,
            3_600_000_000_001,
            u64::MAX,
        ] {
            let d = SimDuration(n);
            assert_eq!(parse_duration(&format_duration_exact(d)), Ok(d), "{n}");
        }
        assert_eq!(format_duration_exact(ms(250)), "250ms");
        assert_eq!(format_duration_exact(SimDuration(1_234_567)), "1.234567ms");
        assert_eq!(
            format_duration_exact(SimDuration(3_600_000_000_001)),
            "3600.000000001s"
        );
    }

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Durations {
        d: SimDuration,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Positive {
        d: PositiveDuration,
    }

    fn toml_err<T: for<'de> Deserialize<'de> + fmt::Debug>(text: &str) -> String {
        toml::from_str::<T>(text)
            .expect_err(text)
            .message()
            .to_string()
    }

    #[test]
    fn deserializes_durations() {
        assert_eq!(
            toml::from_str::<Durations>("d = \"250ms\""),
            Ok(Durations { d: ms(250) })
        );
        assert_eq!(
            toml::from_str::<Durations>("d = \"0s\""),
            Ok(Durations { d: ms(0) })
        );
        assert_eq!(
            toml_err::<Durations>("d = 5"),
            "expected a duration with a unit, like \"250ms\", found 5"
        );
        assert_eq!(
            toml_err::<Durations>("d = 2.5"),
            "expected a duration with a unit, like \"250ms\", found 2.5"
        );
        assert_eq!(
            toml_err::<Durations>("d = true"),
            "invalid type: boolean `true`, expected a duration with a unit, like \"250ms\""
        );
        assert_eq!(
            toml_err::<Durations>("d = \"-1s\""),
            "invalid duration \"-1s\": must not be negative"
        );
    }

    #[test]
    fn deserialization_errors_carry_the_location() {
        let e = toml::from_str::<Durations>("\nd = \"5 parsecs\"").unwrap_err();
        assert_eq!(e.span(), Some(5..16));
        assert!(e.to_string().contains("line 2"), "{e}");
    }

    #[test]
    fn serializes_durations_as_strings() {
        let text = toml::to_string(&Durations {
            d: SimDuration(1_500_000_000),
        })
        .unwrap();
        assert_eq!(text.trim(), "d = \"1.5s\"");
        let odd = Durations {
            d: SimDuration(1_234_567),
        };
        let back: Durations = toml::from_str(&toml::to_string(&odd).unwrap()).unwrap();
        assert_eq!(back, odd);
    }

    #[test]
    fn positive_durations_reject_zero() {
        assert_eq!(
            toml::from_str::<Positive>("d = \"1ns\""),
            Ok(Positive {
                d: PositiveDuration(SimDuration(1))
            })
        );
        assert_eq!(
            toml_err::<Positive>("d = \"0ms\""),
            "invalid duration \"0ms\": must be greater than zero"
        );
        assert!(toml_err::<Positive>("d = 3").contains("found 3"));
    }

    fn rate(s: &str) -> f64 {
        parse_rate(s).unwrap().per_second()
    }

    fn rate_err(s: &str) -> String {
        parse_rate(s).expect_err(s)
    }

    #[test]
    fn parses_rates_in_every_unit() {
        assert_eq!(rate("800/s"), 800.0);
        assert_eq!(rate("3000/min"), 50.0);
        assert_eq!(rate("3000/m"), 50.0);
        assert_eq!(rate("36000/h"), 10.0);
        assert_eq!(rate("86400/d"), 1.0);
        assert_eq!(rate("0.5/ms"), 500.0);
        assert_eq!(rate("2/us"), 2e6);
        assert_eq!(rate("2/µs"), 2e6);
        assert_eq!(rate("0.01/ns"), 1e7);
        assert_eq!(rate(" 800 / s "), 800.0);
        assert_eq!(rate("1e3/s"), 1000.0);
        assert_eq!(rate("0/s"), 0.0);
    }

    #[test]
    fn rate_errors_explain_the_form() {
        assert_eq!(
            rate_err("800"),
            "invalid rate \"800\": a rate needs a unit; write a number of events per unit of \
             time, like \"800/s\" or \"3000/min\""
        );
        assert!(rate_err("fast").contains("expected a rate; write"));
        assert!(rate_err("").contains("cannot be empty"));
        assert!(rate_err("800/").contains("needs a unit after the `/`"));
        assert!(rate_err("/s").contains("the number of events is missing"));
        assert_eq!(
            rate_err("-5/s"),
            "invalid rate \"-5/s\": must not be negative"
        );
        assert!(rate_err("NaN/s").contains("must be finite"));
        assert!(rate_err("inf/s").contains("must be finite"));
        assert!(rate_err("x/s").contains("`x` is not a number"));
        assert!(rate_err("10/sec").ends_with("did you mean `s`?"));
        assert!(rate_err("1/5m").contains("must be a single unit"));
        assert!(rate_err("1e308/ns").contains("too large"));
        assert_eq!(rate("10000000/s"), 1e7);
        assert!(
            rate_err("1e18/s").starts_with(
                "invalid rate \"1e18/s\": must be at most 10000000/s (awsim simulates"
            ),
            "{}",
            rate_err("1e18/s")
        );
        assert!(rate_err("1/ns").ends_with("found 1000000000/s"));
    }

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Rates {
        r: Rate,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct MaybeZero {
        r: RateOrZero,
    }

    #[test]
    fn deserializes_rates() {
        let r: Rates = toml::from_str("r = \"3000/min\"").unwrap();
        assert_eq!(r.r.per_second(), 50.0);
        assert_eq!(r.r.to_string(), "50/s");
        assert_eq!(
            toml_err::<Rates>("r = \"0/s\""),
            "invalid rate \"0/s\": a rate must be greater than zero, like \"800/s\""
        );
        assert_eq!(
            toml_err::<Rates>("r = 800"),
            "expected a rate with a unit, like \"800/s\", found 800"
        );
        assert!(toml_err::<Rates>("r = -800").contains("found -800"));
        assert!(toml_err::<Rates>("r = 0.5").contains("found 0.5"));
        let z: MaybeZero = toml::from_str("r = \"0/s\"").unwrap();
        assert!(z.r.get().is_zero());
        assert!(toml_err::<MaybeZero>("r = \"-1/s\"").contains("must not be negative"));
    }

    #[test]
    fn rates_display_and_round_trip() {
        assert_eq!(Rate::from_per_second(800.0).to_string(), "800/s");
        assert_eq!(Rate::from_per_second(0.5).to_string(), "0.5/s");
        assert_eq!(Rate::from_per_second(-0.0).to_string(), "0/s");
        for value in [800.0, 1.0 / 3.0, 1e-9, 12345.678, 9_999_999.5] {
            let r = Rates {
                r: Rate::from_per_second(value),
            };
            let back: Rates = toml::from_str(&toml::to_string(&r).unwrap()).unwrap();
            assert_eq!(back, r);
        }
        assert_eq!(Rate::from_per_second(4.0).mean_interval(), Some(ms(250)));
        assert_eq!(Rate::ZERO.mean_interval(), None);
    }

    #[test]
    fn suggestions() {
        let kinds = ["constant", "exponential", "lognormal", "normal"];
        assert_eq!(closest_spelling("lognormla", &kinds), Some("lognormal"));
        assert_eq!(closest_spelling("LogNormal", &kinds), Some("lognormal"));
        assert_eq!(closest_spelling("const", &kinds), Some("constant"));
        assert_eq!(closest_spelling("banana", &kinds), None);
        assert_eq!(closest_spelling("", &kinds), None);
        assert_eq!(
            did_you_mean("wbe", &["web", "orders"]),
            "; did you mean `web`?"
        );
        assert_eq!(did_you_mean("zzzzzz", &["web", "orders"]), "");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn exact_format_always_round_trips(n in any::<u64>()) {
                let d = SimDuration(n);
                prop_assert_eq!(parse_duration(&format_duration_exact(d)), Ok(d));
            }

            #[test]
            fn display_form_reads_back_within_rounding(n in 0..u64::MAX / 2) {
                // Display keeps three decimals: reading it back is off by at most half a unit
                // of the last digit.
                let d = SimDuration(n);
                let back = parse_duration(&d.to_string()).unwrap();
                prop_assert!(back.0.abs_diff(n) as f64 <= (n as f64) * 0.0005 + 1.0);
            }

            #[test]
            fn parsing_never_panics(s in "\\PC{0,24}") {
                let _ = parse_duration(&s);
                let _ = parse_rate(&s);
            }

            #[test]
            fn parsing_never_panics_on_near_misses(s in "[-+0-9. a-zµμ/]{0,16}") {
                let _ = parse_duration(&s);
                let _ = parse_rate(&s);
            }
        }
    }
}
