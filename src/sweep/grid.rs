//! The sweep grid: `--set NAME.FIELD=VALUES` arguments, their values (lists and ranges), the
//! cross product of all of them, and the scenario text of each point.
//!
//! A `--set` edits the scenario document: the `[[workload]]`, `[[component]]` or (named)
//! `[[fault]]` table named `NAME` gets `FIELD` (a key of that table, nested with dots: `arrival.rate`; a number indexes
//! a list: `handler.0.compute`) set to each value in turn. The edited document is written back
//! as TOML and validated exactly as a scenario file is, so a field the kind does not accept, or a
//! value of the wrong type, is reported before anything runs.

use std::path::Path;

use toml::{Table, Value};

use crate::scenario::{Scenario, ScenarioError};
use crate::units::{did_you_mean, limits};

/// Most values one `--set` may expand to (a guard against a mistyped range step).
pub const MAX_VALUES: usize = 10_000;

/// One value of a `--set` list.
#[derive(Clone, Debug, PartialEq)]
pub struct SetValue {
    /// The TOML value written into the scenario.
    pub value: Value,
    /// How the value is shown in labels and in `sweep.csv`.
    pub text: String,
}

impl SetValue {
    /// The value as a number, if it is one (for "smallest capacity" and plots).
    pub fn number(&self) -> Option<f64> {
        match self.value {
            Value::Integer(i) => Some(i as f64),
            Value::Float(f) => Some(f),
            _ => None,
        }
    }
}

/// One `--set NAME.FIELD=VALUES`, parsed but not yet resolved against a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct SetArg {
    /// The argument as given.
    pub arg: String,
    /// `NAME.FIELD` as given (the column name in `sweep.csv`).
    pub key: String,
    /// The values, in order.
    pub values: Vec<SetValue>,
}

/// A `--set` resolved against a scenario: which table, which field.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    /// The parsed argument.
    pub set: SetArg,
    /// `workload` or `component`.
    pub section: &'static str,
    /// The workload or component name.
    pub name: String,
    /// The field path inside its table.
    pub field: Vec<String>,
    /// Further fields set to the same values (`NAME.FIELD/NAME.FIELD=VALUES`): `section`,
    /// `name` and `field` of each.
    pub tied: Vec<(&'static str, String, Vec<String>)>,
}

impl Assignment {
    /// Every (name, field) it sets.
    fn targets(&self) -> impl Iterator<Item = (&str, &[String])> {
        std::iter::once((self.name.as_str(), self.field.as_slice())).chain(
            self.tied
                .iter()
                .map(|(_, name, field)| (name.as_str(), field.as_slice())),
        )
    }
}

/// One point of the grid: one value of every `--set`.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// Position in the grid (the first `--set` varies slowest).
    pub index: usize,
    /// For each assignment, the index of its value.
    pub choice: Vec<usize>,
    /// `web.instances=4,shoppers.arrival.rate=120/s`: names the point in messages and seeds.
    pub label: String,
    /// The label made safe as one folder name (`runs/<dir>/`): percent-encoded, at most
    /// [`POINT_DIR_MAX`] bytes.
    pub dir: String,
}

/// Parses `NAME.FIELD=VALUES`.
pub fn parse_set(arg: &str) -> Result<SetArg, String> {
    let Some((key, values)) = arg.split_once('=') else {
        return Err(format!(
            "--set {arg}: expected NAME.FIELD=VALUES, e.g. web.instances=2,4,8"
        ));
    };
    let key = key.trim();
    for key in key.split('/') {
        if !key.contains('.') || key.split('.').any(str::is_empty) {
            return Err(format!(
                "--set {arg}: `{key}` must be NAME.FIELD: a workload or component name, a dot, \
                 and a key of its table (e.g. web.instances, shoppers.arrival.rate; several \
                 joined by `/` take the same values together)"
            ));
        }
    }
    let values = parse_values(values).map_err(|e| format!("--set {arg}: {e}"))?;
    Ok(SetArg {
        arg: arg.to_string(),
        key: key.to_string(),
        values,
    })
}

/// Parses a value list: `2,4,8`, `2..20:2`, `0.5..1:0.25`, `"30s",5m`, `true`, `[1, 0.5]`.
pub fn parse_values(text: &str) -> Result<Vec<SetValue>, String> {
    let mut out = Vec::new();
    for item in split_top_level(text)? {
        let item = item.trim();
        if item.is_empty() {
            return Err(format!("empty value in `{text}`"));
        }
        if let Some(range) = parse_range(item)? {
            out.extend(range);
        } else {
            out.push(parse_one(item)?);
        }
        if out.len() > MAX_VALUES {
            return Err(format!("more than {MAX_VALUES} values"));
        }
    }
    for (i, v) in out.iter().enumerate() {
        if out[..i].iter().any(|w| w.value == v.value) {
            return Err(format!("the value {} is given twice", v.text));
        }
    }
    Ok(out)
}

/// Splits at commas that are not inside quotes, brackets or braces.
fn split_top_level(text: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None::<char>, 0);
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        if depth < 0 {
            return Err(format!("unbalanced brackets in `{text}`"));
        }
    }
    if quote.is_some() || depth != 0 {
        return Err(format!("unclosed quote or bracket in `{text}`"));
    }
    parts.push(&text[start..]);
    Ok(parts)
}

/// Looks like a number to a person (not `inf` or `nan`, which Rust would also parse).
fn numeric(s: &str) -> bool {
    !s.is_empty()
        && s.chars().any(|c| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E' | '_'))
}

fn parse_number(s: &str) -> Option<Value> {
    let s = s.trim();
    if !numeric(s) {
        return None;
    }
    let plain = s.replace('_', "");
    if let Ok(i) = plain.parse::<i64>() {
        return Some(Value::Integer(i));
    }
    plain
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Value::Float)
}

fn parse_one(item: &str) -> Result<SetValue, String> {
    if let Some(v) = parse_number(item) {
        return Ok(SetValue {
            text: value_text(&v),
            value: v,
        });
    }
    let structured = item.starts_with(['"', '\'', '[', '{']) || item == "true" || item == "false";
    if structured {
        let doc: Table = toml::from_str(&format!("v = {item}"))
            .map_err(|e| format!("`{item}` is not a TOML value: {}", e.message()))?;
        let value = doc["v"].clone();
        let text = match &value {
            Value::String(s) => s.clone(),
            _ => item.to_string(),
        };
        return Ok(SetValue { value, text });
    }
    Ok(SetValue {
        value: Value::String(item.to_string()),
        text: item.to_string(),
    })
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Integer(i) => i.to_string(),
        Value::Float(f) => {
            let s = f.to_string();
            if s.contains(['.', 'e', 'E']) {
                s
            } else {
                format!("{s}.0")
            }
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Digits after the decimal point as written (`0.25` → 2), to round float ranges.
fn decimals(s: &str) -> Option<usize> {
    if s.contains(['e', 'E']) {
        return None;
    }
    Some(s.split_once('.').map_or(0, |(_, frac)| frac.len()))
}

/// `START..END` or `START..END:STEP` (inclusive); `None` when `item` is not a range.
fn parse_range(item: &str) -> Result<Option<Vec<SetValue>>, String> {
    let Some((start, rest)) = item.split_once("..") else {
        return Ok(None);
    };
    if item.starts_with(['"', '\'', '[', '{']) {
        return Ok(None);
    }
    let (end, step) = match rest.split_once(':') {
        Some((end, step)) => (end, Some(step)),
        None => (rest, None),
    };
    let bad = |why: &str| {
        Err(format!(
            "bad range `{item}`: {why}; write START..END or START..END:STEP with numbers, e.g. \
             2..20:2 (inclusive)"
        ))
    };
    let (Some(a), Some(b)) = (parse_number(start), parse_number(end)) else {
        return bad("the bounds must be numbers");
    };
    let s = match step {
        Some(step) => match parse_number(step) {
            Some(s) => s,
            None => return bad("the step must be a number"),
        },
        None => Value::Integer(1),
    };
    let mut values = Vec::new();
    match (a, b, s) {
        (Value::Integer(a), Value::Integer(b), Value::Integer(s)) => {
            if s <= 0 {
                return bad("the step must be greater than zero");
            }
            if b < a {
                return bad("the end is smaller than the start");
            }
            if (b - a) / s >= MAX_VALUES as i64 {
                return Err(format!("range `{item}` has more than {MAX_VALUES} values"));
            }
            let mut v = a;
            while v <= b {
                values.push(Value::Integer(v));
                v += s;
            }
        }
        (a, b, s) => {
            let f = |v: &Value| v.as_float().or_else(|| v.as_integer().map(|i| i as f64));
            let (a, b, s) = (
                f(&a).unwrap_or(0.0),
                f(&b).unwrap_or(0.0),
                f(&s).unwrap_or(0.0),
            );
            if s <= 0.0 {
                return bad("the step must be greater than zero");
            }
            if b < a {
                return bad("the end is smaller than the start");
            }
            if (b - a) / s >= MAX_VALUES as f64 {
                return Err(format!("range `{item}` has more than {MAX_VALUES} values"));
            }
            let digits = match (decimals(start.trim()), decimals(step.unwrap_or("1").trim())) {
                (Some(x), Some(y)) => Some(x.max(y)),
                _ => None,
            };
            let mut i = 0u32;
            loop {
                let mut v = a + f64::from(i) * s;
                if let Some(d) = digits {
                    v = format!("{v:.d$}").parse().unwrap_or(v);
                }
                if v > b + s * 1e-9 {
                    break;
                }
                values.push(Value::Float(v));
                i += 1;
            }
        }
    }
    Ok(Some(
        values
            .into_iter()
            .map(|value| SetValue {
                text: value_text(&value),
                value,
            })
            .collect(),
    ))
}

/// The names of the scenario document's workloads, components and named faults, with their
/// section.
fn names(doc: &Table) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for section in ["workload", "component", "fault"] {
        if let Some(Value::Array(items)) = doc.get(section) {
            for item in items {
                if let Some(Value::String(name)) = item.get("name") {
                    out.push((section, name.clone()));
                }
            }
        }
    }
    out
}

/// Finds the table `NAME` of a `NAME.FIELD` key (the longest prefix that is a name: names may
/// contain dots); keys joined by `/` (names cannot contain one) are tied: each is set to the
/// same value at every point.
pub fn resolve(set: SetArg, doc: &Table) -> Result<Assignment, String> {
    if !set.key.contains('/') {
        return resolve_one(set, doc);
    }
    let keys: Vec<String> = set.key.split('/').map(str::to_string).collect();
    let one = |key: &str| {
        resolve_one(
            SetArg {
                key: key.to_string(),
                ..set.clone()
            },
            doc,
        )
    };
    let mut first = one(&keys[0])?;
    for key in &keys[1..] {
        let a = one(key)?;
        if first.targets().any(|(n, f)| n == a.name && f == a.field) {
            return Err(format!("--set {}: `{key}` is given twice", set.arg));
        }
        first.tied.push((a.section, a.name, a.field));
    }
    first.set = set;
    Ok(first)
}

fn resolve_one(set: SetArg, doc: &Table) -> Result<Assignment, String> {
    let all = names(doc);
    let segments: Vec<&str> = set.key.split('.').collect();
    for k in (1..segments.len()).rev() {
        let name = segments[..k].join(".");
        if let Some((section, _)) = all.iter().find(|(_, n)| *n == name) {
            let field: Vec<String> = segments[k..].iter().map(|s| s.to_string()).collect();
            if field.len() == 1 && (field[0] == "name" || field[0] == "kind") {
                return Err(format!(
                    "--set {}: `{}` cannot be swept (it identifies the {section})",
                    set.arg, field[0]
                ));
            }
            return Ok(Assignment {
                section,
                name,
                field,
                tied: Vec::new(),
                set,
            });
        }
    }
    let candidates: Vec<&str> = all.iter().map(|(_, n)| n.as_str()).collect();
    let first = segments[0];
    Err(format!(
        "--set {}: no workload, component or fault is named `{first}`{}; the scenario has {}",
        set.arg,
        did_you_mean(first, &candidates),
        candidates
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// Writes `value` at the assignment's field (and at those tied to it).
pub fn apply(doc: &mut Table, a: &Assignment, value: &Value) -> Result<(), String> {
    let tied = a.tied.iter().map(|(s, n, f)| (*s, n, f));
    for (section, name, field) in std::iter::once((a.section, &a.name, &a.field)).chain(tied) {
        let entry = match doc.get_mut(section) {
            Some(Value::Array(items)) => items
                .iter_mut()
                .find(|t| t.get("name").and_then(Value::as_str) == Some(name.as_str())),
            _ => None,
        };
        let Some(entry) = entry else {
            return Err(format!("the scenario has no {section} `{name}`"));
        };
        set_at(entry, field, value, name, &a.set.arg)?;
    }
    Ok(())
}

/// Sets `path` below `at` (whose own path is `walked`) to `value`: table keys are created as
/// needed; a number indexes a list.
fn set_at(
    at: &mut Value,
    path: &[String],
    value: &Value,
    walked: &str,
    arg: &str,
) -> Result<(), String> {
    let Some((seg, rest)) = path.split_first() else {
        *at = value.clone();
        return Ok(());
    };
    let here = format!("{walked}.{seg}");
    match at {
        Value::Table(t) => {
            if rest.is_empty() {
                t.insert(seg.clone(), value.clone());
                return Ok(());
            }
            let child = t
                .entry(seg.clone())
                .or_insert_with(|| Value::Table(Table::new()));
            set_at(child, rest, value, &here, arg)
        }
        Value::Array(list) => {
            let len = list.len();
            match seg.parse::<usize>().ok().and_then(|n| list.get_mut(n)) {
                Some(slot) => set_at(slot, rest, value, &here, arg),
                None => Err(format!(
                    "--set {arg}: `{walked}` is a list of {len}; index it with a number from 0 \
                     to {}",
                    len.saturating_sub(1)
                )),
            }
        }
        _ => Err(format!(
            "--set {arg}: `{walked}` is a single value, not a table: it has no field `{seg}`"
        )),
    }
}

/// The longest point folder name, in bytes (a path component has at most 255); a longer
/// label is cut and ends with a hash of the whole ([`crate::files::shortened`]).
pub const POINT_DIR_MAX: usize = 200;

/// The cross product of every assignment's values: the first `--set` varies slowest.
pub fn expand(assignments: &[Assignment]) -> Vec<Point> {
    let total: usize = assignments.iter().map(|a| a.set.values.len()).product();
    (0..total)
        .map(|index| {
            let mut rest = index;
            let mut choice = vec![0; assignments.len()];
            for (i, a) in assignments.iter().enumerate().rev() {
                let n = a.set.values.len();
                choice[i] = rest % n;
                rest /= n;
            }
            let parts: Vec<(String, String)> = assignments
                .iter()
                .zip(&choice)
                .map(|(a, &c)| (a.set.key.clone(), a.set.values[c].text.clone()))
                .collect();
            let label = parts
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",");
            let dir = parts
                .iter()
                .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
                .collect::<Vec<_>>()
                .join(",");
            Point {
                index,
                choice,
                label,
                dir: crate::files::shortened(&dir, POINT_DIR_MAX).into_owned(),
            }
        })
        .collect()
}

/// Percent-encodes everything but letters, digits, `.`, `_` and `-`: a safe, reversible folder
/// name on every file system (`120/s` → `120%2Fs`).
pub fn escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The scenario text of one point: `doc` with every assignment applied.
pub fn point_text(
    doc: &Table,
    assignments: &[Assignment],
    point: &Point,
) -> Result<String, String> {
    let mut doc = doc.clone();
    for (a, &c) in assignments.iter().zip(&point.choice) {
        apply(&mut doc, a, &a.set.values[c].value)?;
    }
    toml::to_string(&doc).map_err(|e| format!("cannot write the scenario of {}: {e}", point.label))
}

/// The problems of a scenario error without file positions (the text is generated, so lines
/// and columns would point nowhere useful).
pub fn describe(e: &ScenarioError) -> String {
    e.diagnostics
        .iter()
        .map(|d| match &d.field {
            Some(field) => format!("{field}: {}", d.message),
            None => d.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A validated grid: the assignments, the points, and each point's scenario.
#[derive(Clone, Debug)]
pub struct Grid {
    /// The scenario document the points are edited from.
    pub doc: Table,
    /// The resolved `--set`s, in command-line order.
    pub assignments: Vec<Assignment>,
    /// Every point, in grid order.
    pub points: Vec<Point>,
    /// Each point's validated scenario.
    pub scenarios: Vec<Scenario>,
}

impl Grid {
    /// Parses, resolves and validates every `--set` against `scenario` (read from `file`), then
    /// builds and validates every point. Nothing runs.
    pub fn new(scenario: &Scenario, file: &Path, sets: &[String]) -> Result<Grid, String> {
        if sets.is_empty() {
            return Err("give at least one --set NAME.FIELD=VALUES".into());
        }
        let doc: Table = toml::from_str(&scenario.text)
            .map_err(|e| format!("cannot read {} as TOML: {}", file.display(), e.message()))?;
        let parsed = sets
            .iter()
            .map(|arg| parse_set(arg))
            .collect::<Result<Vec<SetArg>, String>>()?;
        // The grid's size first: each value is validated (and built) below.
        check_grid_points(&parsed)?;
        let mut assignments: Vec<Assignment> = Vec::new();
        for (arg, set) in sets.iter().zip(parsed) {
            let a = resolve(set, &doc)?;
            if let Some(b) = assignments
                .iter()
                .find(|b| b.targets().any(|t| a.targets().any(|u| t == u)))
            {
                return Err(format!(
                    "--set {}: the same field is already swept by --set {}",
                    a.set.arg, b.set.arg
                ));
            }
            // Each value alone, so that an error names the value that causes it.
            for v in &a.set.values {
                let mut one = doc.clone();
                apply(&mut one, &a, &v.value)?;
                let text = toml::to_string(&one).map_err(|e| format!("--set {arg}: {e}"))?;
                check(&text, file, scenario).map_err(|e| {
                    if a.set.values.len() > 1 {
                        format!("--set {arg}: with {}={}: {e}", a.set.key, v.text)
                    } else {
                        format!("--set {arg}: {e}")
                    }
                })?;
            }
            assignments.push(a);
        }
        let points = expand(&assignments);
        let mut scenarios = Vec::with_capacity(points.len());
        for p in &points {
            let text = point_text(&doc, &assignments, p)?;
            let s = check(&text, file, scenario).map_err(|e| format!("point {}: {e}", p.label))?;
            scenarios.push(s);
        }
        Ok(Grid {
            doc,
            assignments,
            points,
            scenarios,
        })
    }
}

/// Refuses a grid of more than [`limits::GRID_POINTS`] points, counted without overflow before
/// any point is made.
fn check_grid_points(sets: &[SetArg]) -> Result<(), String> {
    let limit = limits::GRID_POINTS;
    let mut points: u64 = 1;
    for set in sets {
        points = points.saturating_mul(set.values.len() as u64);
        if points > limit.max {
            let counts: Vec<String> = sets.iter().map(|s| s.values.len().to_string()).collect();
            return Err(format!(
                "the grid has {} points; at most {} are accepted ({}): sweep fewer values",
                counts.join(" × "),
                limit.max,
                limit.why
            ));
        }
    }
    Ok(())
}

/// Refuses a sweep of more than [`limits::SWEEP_RUNS`] runs (`points` × `replications`).
pub fn check_size(points: usize, replications: u32) -> Result<(), String> {
    let limit = limits::SWEEP_RUNS;
    let runs = (points as u64).saturating_mul(u64::from(replications));
    if runs > limit.max {
        return Err(format!(
            "{points} points × {replications} replications make {runs} runs; at most {} are \
             accepted ({}): sweep fewer values or use fewer replications",
            limit.max, limit.why
        ));
    }
    Ok(())
}

impl Grid {
    /// The grid of `sets` over `scenario` (read from `file`) without validating any point: for
    /// a plan, whose points were validated when it was made and whose texts are checked
    /// against its digests. Its `scenarios` are left empty.
    pub fn unchecked(scenario: &Scenario, file: &Path, sets: &[String]) -> Result<Grid, String> {
        let doc: Table = toml::from_str(&scenario.text)
            .map_err(|e| format!("cannot read {} as TOML: {}", file.display(), e.message()))?;
        let assignments = sets
            .iter()
            .map(|arg| resolve(parse_set(arg)?, &doc))
            .collect::<Result<Vec<Assignment>, String>>()?;
        Ok(Grid {
            points: expand(&assignments),
            doc,
            assignments,
            scenarios: Vec::new(),
        })
    }

    /// The scenario text of point `index`.
    pub fn text(&self, index: usize) -> Result<String, String> {
        point_text(&self.doc, &self.assignments, &self.points[index])
    }
}

/// Validates a point's text as a scenario file (and builds it, which checks what needs the
/// models), keeping the original's name.
pub(crate) fn check(text: &str, file: &Path, original: &Scenario) -> Result<Scenario, String> {
    let mut s =
        Scenario::parse_priced(text, file, original.prices.clone()).map_err(|e| describe(&e))?;
    s.name = original.name.clone();
    s.build(crate::scenario::RunSettings::default())
        .map_err(|e| describe(&e))?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(v: &[SetValue]) -> Vec<String> {
        v.iter().map(|v| v.text.clone()).collect()
    }

    #[test]
    fn lists_ranges_and_strings() {
        assert_eq!(texts(&parse_values("2,4,8").unwrap()), ["2", "4", "8"]);
        assert_eq!(
            texts(&parse_values("2..10:4").unwrap()),
            ["2", "6", "10"],
            "inclusive end"
        );
        assert_eq!(texts(&parse_values("1..3").unwrap()), ["1", "2", "3"]);
        assert_eq!(
            texts(&parse_values("0.1..0.5:0.1").unwrap()),
            ["0.1", "0.2", "0.3", "0.4", "0.5"]
        );
        let v = parse_values("\"30s\",5m").unwrap();
        assert_eq!(v[0].value, Value::String("30s".into()));
        assert_eq!(v[1].value, Value::String("5m".into()));
        let v = parse_values("[1, 0.5],true,1.5").unwrap();
        assert!(matches!(v[0].value, Value::Array(_)));
        assert_eq!(v[1].value, Value::Boolean(true));
        assert_eq!(v[2].value, Value::Float(1.5));
        assert!(parse_values("inf").unwrap()[0].value.is_str());
    }

    #[test]
    fn bad_values() {
        for bad in [
            "5..2",
            "1..5:0",
            "a..b",
            "1..5:-1",
            "",
            "1,,2",
            "2,2",
            "[1,2",
            "1..100000",
        ] {
            assert!(parse_values(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn named_faults_can_be_swept() {
        let mut doc: Table = toml::from_str(
            "[[workload]]\nname = \"w\"\n[[fault]]\nname = \"outage\"\nkind = \"az_outage\"\n\
             duration = \"10m\"\n",
        )
        .unwrap();
        let a = resolve(parse_set("outage.duration=5m,20m").unwrap(), &doc).unwrap();
        assert_eq!((a.section, a.name.as_str()), ("fault", "outage"));
        apply(&mut doc, &a, &Value::String("20m".into())).unwrap();
        assert_eq!(doc["fault"][0]["duration"].as_str(), Some("20m"));
        let e = resolve(parse_set("outgae.duration=5m").unwrap(), &doc).unwrap_err();
        assert!(
            e.contains("no workload, component or fault is named `outgae`"),
            "{e}"
        );
    }

    #[test]
    fn keys_joined_by_a_slash_take_the_same_values() {
        let doc: Table = toml::from_str(
            r#"
[[workload]]
name = "a"
rate = 1
[[workload]]
name = "b"
rate = 1
"#,
        )
        .unwrap();
        let a = resolve(parse_set("a.rate/b.rate=2,3").unwrap(), &doc).unwrap();
        assert_eq!(a.set.key, "a.rate/b.rate");
        assert_eq!(
            a.tied,
            vec![("workload", "b".to_string(), vec!["rate".to_string()])]
        );
        let mut edited = doc.clone();
        apply(&mut edited, &a, &Value::Integer(3)).unwrap();
        let rates: Vec<i64> = edited["workload"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["rate"].as_integer().unwrap())
            .collect();
        assert_eq!(rates, [3, 3]);
        let e = resolve(parse_set("a.rate/a.rate=2").unwrap(), &doc).unwrap_err();
        assert!(e.contains("given twice"), "{e}");
        let e = resolve(parse_set("a.rate/c.rate=2").unwrap(), &doc).unwrap_err();
        assert!(
            e.contains("no workload, component or fault is named `c`"),
            "{e}"
        );
        assert!(parse_set("a.rate/b=2").is_err());
    }

    #[test]
    fn escape_is_safe() {
        assert_eq!(escape("120/s"), "120%2Fs");
        assert_eq!(escape("a b,c=d%"), "a%20b%2Cc%3Dd%25");
    }
}
