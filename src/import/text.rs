//! The scenario text an import writes: each component as a [`Draft`] of TOML lines with their
//! comments (where a value came from, `TODO(import)` where the template could not say).

use toml::Value as Toml;

use super::template::{Resource, Template};
use super::wiring::Workload;
use super::{Outcome, Row};

/// A component being written.
#[derive(Clone, Debug)]
pub struct Draft {
    /// Its name in the scenario.
    pub name: String,
    /// Its kind.
    pub kind: &'static str,
    /// Whether it accepts requests.
    pub accepts_requests: bool,
    /// The resource it came from, as its header comment says.
    origin: String,
    notes: Vec<String>,
    lines: Vec<String>,
    tables: Vec<(String, Vec<String>)>,
    /// Components it names (its consumer, its target, its calls).
    pub references: Vec<String>,
    /// Resources folded into it (logical ids).
    pub absorbed: Vec<String>,
    /// Related resources it could not carry over, with why: (logical id, reason).
    pub unsupported: Vec<(String, String)>,
    /// Why the resource cannot become this component after all (nothing is written).
    pub dropped: Option<String>,
}

/// The component name of a resource's logical id (the id itself: a reader finds one in the
/// other).
pub fn component_name(id: &str) -> String {
    id.to_string()
}

/// A TOML value on one line (inline tables and arrays).
pub fn inline(v: &Toml) -> String {
    match v {
        Toml::Array(items) => {
            let parts: Vec<String> = items.iter().map(inline).collect();
            format!("[{}]", parts.join(", "))
        }
        Toml::Table(t) => {
            let parts: Vec<String> = t
                .iter()
                .map(|(k, v)| format!("{} = {}", key(k), inline(v)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
        Toml::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.1}"),
        other => other.to_string(),
    }
}

fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        Toml::String(k.into()).to_string()
    }
}

/// A string value.
pub fn s(text: impl Into<String>) -> Toml {
    Toml::String(text.into())
}

/// An inline table from pairs.
pub fn table<const N: usize>(pairs: [(&str, Toml); N]) -> Toml {
    let mut t = toml::map::Map::new();
    for (k, v) in pairs {
        t.insert(k.to_string(), v);
    }
    Toml::Table(t)
}

/// A duration as scenarios write it, from seconds.
pub fn seconds(secs: f64) -> Toml {
    if secs.fract() == 0.0 {
        s(format!("{}s", secs as i64))
    } else {
        s(format!("{}ms", (secs * 1000.0).round() as i64))
    }
}

/// A conservative handler for instances whose work a template cannot say.
pub fn instance_handler(d: &mut Draft) {
    d.list(
        "handler",
        &[(
            table([(
                "compute",
                table([
                    ("dist", s("lognormal")),
                    ("mean", s("50ms")),
                    ("p99", s("200ms")),
                ]),
            )]),
            "TODO(import): what one request computes on an instance".to_string(),
        )],
    );
}

/// `instance_type` when the price list knows `ty` (it sets the vCPUs and the price), else a
/// conservative `vcpus = 1` marked TODO.
pub fn instance_type(d: &mut Draft, ty: Option<&str>, from: &str) {
    match ty {
        Some(ty)
            if crate::defaults::embedded_prices()
                .ec2
                .instance_type(ty)
                .is_ok() =>
        {
            d.set("instance_type", s(ty), from);
        }
        Some(ty) => d.todo(
            "vcpus",
            Toml::Integer(1),
            &format!("{from} is `{ty}`, which awsim's price list lacks: its vCPUs"),
        ),
        None => d.todo("vcpus", Toml::Integer(1), "no instance type: its vCPUs"),
    }
}

/// `credit_specification` from a template's CPU credits (`credits`: the value and where it is
/// written), for a burstable instance type `ty` only: AWS applies it to T instances alone, and
/// awsim refuses it on others. Without it the type's default holds (standard for T2,
/// unlimited for T3, T3a and T4g), as at AWS.
pub fn credit_specification(d: &mut Draft, ty: Option<&str>, credits: Option<(String, String)>) {
    let Some((value, from)) = credits else {
        return;
    };
    let burstable = ty.is_some_and(|t| crate::defaults::burstable().types.contains_key(t));
    match value.as_str() {
        "standard" | "unlimited" if burstable => d.set("credit_specification", s(&value), &from),
        _ if !burstable => d.note(format!(
            "{from} is `{value}`, which only a burstable (T) instance type uses: not carried over"
        )),
        _ => d.note(format!(
            "{from} is `{value}`, neither `standard` nor `unlimited`: not carried over"
        )),
    }
}

fn comment(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!("  # {text}")
    }
}

impl Draft {
    /// An empty component `name` of `kind` for resource `r`.
    pub fn new(name: &str, kind: &'static str, accepts_requests: bool, r: &Resource) -> Draft {
        let origin = match &r.from {
            Some(from) => format!("{} `{}` (from {from}, line {})", r.kind, r.id, r.pos.line),
            None => format!("{} `{}` (line {})", r.kind, r.id, r.pos.line),
        };
        Draft {
            name: name.to_string(),
            kind,
            accepts_requests,
            origin,
            notes: Vec::new(),
            lines: Vec::new(),
            tables: Vec::new(),
            references: Vec::new(),
            absorbed: Vec::new(),
            unsupported: Vec::new(),
            dropped: None,
        }
    }

    /// `key = value`, with where it came from (e.g. the property name) as a comment.
    pub fn set(&mut self, key: &str, value: Toml, from: &str) {
        self.lines
            .push(format!("{key} = {}{}", inline(&value), comment(from)));
    }

    /// `key = value  # TODO(import): why`: a default the template cannot give.
    pub fn todo(&mut self, key: &str, value: Toml, why: &str) {
        self.lines
            .push(format!("{key} = {}  # TODO(import): {why}", inline(&value)));
    }

    /// A list written one item a line, each with its comment.
    pub fn list(&mut self, key: &str, items: &[(Toml, String)]) {
        let mut text = format!("{key} = [\n");
        for (v, c) in items {
            text.push_str(&format!("  {},{}\n", inline(v), comment(c)));
        }
        text.push(']');
        self.lines.push(text);
    }

    /// A comment line above the component's keys.
    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    /// A sub-table (`[[component.policy]]`) with its lines (`key = value  # comment`).
    pub fn sub_table(&mut self, header: &str, lines: Vec<(String, Toml, String)>) {
        let lines = lines
            .into_iter()
            .map(|(k, v, c)| format!("{k} = {}{}", inline(&v), comment(&c)))
            .collect();
        self.tables.push((header.to_string(), lines));
    }

    /// Records that it names component `name`.
    pub fn refer(&mut self, name: &str) {
        if !self.references.iter().any(|r| r == name) {
            self.references.push(name.to_string());
        }
    }

    /// Records that resource `id` was folded into this component.
    pub fn absorb(&mut self, id: &str) {
        if !self.absorbed.iter().any(|a| a == id) {
            self.absorbed.push(id.to_string());
        }
    }

    fn write(&self, out: &mut String) {
        out.push_str(&format!("\n# {}\n", self.origin));
        for n in &self.notes {
            out.push_str(&format!("# {n}\n"));
        }
        out.push_str("[[component]]\n");
        out.push_str(&format!("name = {}\n", s(&self.name)));
        out.push_str(&format!("kind = {}\n", s(self.kind)));
        for l in &self.lines {
            out.push_str(l);
            out.push('\n');
        }
        for (header, lines) in &self.tables {
            out.push_str(&format!("\n{header}\n"));
            for l in lines {
                out.push_str(l);
                out.push('\n');
            }
        }
    }
}

/// The whole scenario.
pub fn scenario(
    template: &Template,
    drafts: &[Draft],
    workloads: &[Workload],
    table: &[Row],
) -> String {
    let mut out = format!("# Imported by `awsim import` from {}.\n", template.file);
    if let Some(d) = &template.description {
        for line in d.lines().filter(|l| !l.trim().is_empty()) {
            out.push_str(&format!("# {}\n", line.trim()));
        }
    }
    let count = |f: fn(&Outcome) -> bool| table.iter().filter(|r| f(&r.outcome)).count();
    out.push_str(&format!(
        "#\n# Resources: {} mapped, {} folded into a component, {} skipped (no effect on \
         performance), {} unsupported.\n",
        count(|o| matches!(o, Outcome::Mapped { .. })),
        count(|o| matches!(o, Outcome::Into { .. })),
        count(|o| matches!(o, Outcome::Skipped(_))),
        count(|o| matches!(o, Outcome::Unsupported(_))),
    ));
    for r in table {
        if let Outcome::Unsupported(why) = &r.outcome {
            out.push_str(&format!("#   unsupported: {} ({}): {why}\n", r.id, r.kind));
        }
    }
    out.push_str(
        "# A template says what is deployed, not how it is used: every `TODO(import)` marks a \
         plain,\n# conservative default (the load, service times, which calls a request makes) \
         to replace\n# with what you know. Calls marked `inferred` come from the function's \
         policies or\n# environment variables.\n",
    );
    out.push_str(
        "\n[simulation]\nduration = \"10m\"  # TODO(import): how long to simulate\nwarmup = \"30s\"\nseed = 1\n",
    );
    for w in workloads {
        out.push_str(&format!("\n# {}\n[[workload]]\n", w.why));
        out.push_str(&format!(
            "name = {}\ntarget = {}\n",
            s(&w.name),
            s(&w.target)
        ));
        out.push_str(&format!(
            "arrival = {{ process = \"{}\", rate = {} }}  # TODO(import): {}\n",
            w.process,
            s(&w.rate),
            w.todo
        ));
        if let Some(op) = &w.op {
            out.push_str(&format!("op = {}\n", s(op)));
        }
    }
    for d in drafts {
        d.write(&mut out);
    }
    out
}
