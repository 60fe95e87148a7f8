//! A template as a tree of located values, read from YAML or JSON.
//!
//! YAML is read with `saphyr-parser`'s event stream: it keeps each node's line and column and
//! its custom tag, so the short forms of the intrinsic functions (`!Ref`, `!GetAtt`...) become
//! their long forms (`{ Ref: ... }`, `{ Fn::GetAtt: [...] }`) here, located where they were
//! written. JSON is checked with `serde_json` first (its messages locate JSON errors best), then
//! read by the same YAML reader (JSON is YAML), so both give the same located tree.

use std::collections::BTreeMap;
use std::fmt;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use super::ImportError;

/// A place in the template: 1-based line and column.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, in characters, from 1.
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A value of the template.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number.
    Num(f64),
    /// A string.
    Str(String),
    /// A list.
    List(Vec<Node>),
    /// A mapping, in the template's order; each key with its place.
    Map(Vec<(Key, Node)>),
    /// After resolution: a `Ref` or `Fn::GetAtt` of a resource (its logical id and attribute).
    Ref {
        /// The resource's logical id.
        id: String,
        /// The attribute of `Fn::GetAtt`; `None` for `Ref`.
        attr: Option<String>,
    },
}

/// A mapping key and its place.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    /// The key.
    pub name: String,
    /// Where it is written.
    pub pos: Pos,
}

/// A value and where it is written.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it starts.
    pub pos: Pos,
}

/// The intrinsic functions and condition functions, by short tag and long name.
pub const INTRINSICS: &[(&str, &str)] = &[
    ("Ref", "Ref"),
    ("Condition", "Condition"),
    ("GetAtt", "Fn::GetAtt"),
    ("Sub", "Fn::Sub"),
    ("Join", "Fn::Join"),
    ("If", "Fn::If"),
    ("Select", "Fn::Select"),
    ("FindInMap", "Fn::FindInMap"),
    ("Split", "Fn::Split"),
    ("Base64", "Fn::Base64"),
    ("GetAZs", "Fn::GetAZs"),
    ("ImportValue", "Fn::ImportValue"),
    ("Equals", "Fn::Equals"),
    ("And", "Fn::And"),
    ("Or", "Fn::Or"),
    ("Not", "Fn::Not"),
    ("Cidr", "Fn::Cidr"),
    ("Length", "Fn::Length"),
    ("ToJsonString", "Fn::ToJsonString"),
    ("Transform", "Fn::Transform"),
];

impl Node {
    /// A node of `value` at `pos`.
    pub fn new(value: Value, pos: Pos) -> Node {
        Node { value, pos }
    }

    /// The value of key `name`, if this is a mapping that has it.
    pub fn get(&self, name: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The entries of a mapping (none for another value).
    pub fn entries(&self) -> &[(Key, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    /// The items of a list (none for another value).
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::List(items) => items,
            _ => &[],
        }
    }

    /// The text of a string, number or boolean.
    pub fn text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Num(n) => Some(number_text(*n)),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A number, also when written as a string (CloudFormation accepts `"30"`).
    pub fn number(&self) -> Option<f64> {
        match &self.value {
            Value::Num(n) => Some(*n),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A boolean, also when written as a string.
    pub fn boolean(&self) -> Option<bool> {
        match &self.value {
            Value::Bool(b) => Some(*b),
            Value::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Value::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    /// The intrinsic function this node calls, if it is a one-key mapping whose key is one
    /// (`{ "Ref": ... }`, `{ "Fn::Sub": ... }`), with its argument.
    pub fn intrinsic(&self) -> Option<(&Key, &Node)> {
        match &self.value {
            Value::Map(entries) if entries.len() == 1 => {
                let (key, arg) = &entries[0];
                (key.name == "Ref" || key.name == "Condition" || key.name.starts_with("Fn::"))
                    .then_some((key, arg))
            }
            _ => None,
        }
    }
}

/// A number as CloudFormation would print it (no `.0` on integers).
pub fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// Reads a template, YAML or JSON.
pub fn parse(file: &str, text: &str) -> Result<Node, ImportError> {
    if text.trim_start().starts_with('{') {
        if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
            return Err(ImportError::at(
                file,
                Pos {
                    line: e.line(),
                    col: e.column(),
                },
                format!("malformed JSON: {e}")
                    .split(" at line ")
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            ));
        }
        // Tabs are only whitespace in valid JSON (a tab inside a string must be escaped), and
        // YAML refuses them as indentation: spaces keep every column.
        return read_yaml(file, &text.replace('\t', " "));
    }
    read_yaml(file, text)
}

fn pos_of(span: &Span) -> Pos {
    Pos {
        line: span.start.line(),
        col: span.start.col() + 1,
    }
}

/// A node being built: a list or a mapping waiting for its children.
enum Open {
    List(Vec<Node>, Pos, Option<String>, usize),
    Map(Vec<(Key, Node)>, Option<Key>, Pos, Option<String>, usize),
}

fn read_yaml(file: &str, text: &str) -> Result<Node, ImportError> {
    let mut stack: Vec<Open> = Vec::new();
    let mut anchors: BTreeMap<usize, Node> = BTreeMap::new();
    let mut root: Option<Node> = None;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            ImportError::at(
                file,
                Pos {
                    line: e.marker().line(),
                    col: e.marker().col() + 1,
                },
                format!("malformed YAML: {}", e.info()),
            )
        })?;
        let pos = pos_of(&span);
        let done = match event {
            Event::Scalar(value, style, anchor, tag) => {
                let intrinsic = tag_name(file, pos, tag.as_deref())?;
                let node = Node::new(scalar(&value, style, tag.as_deref()), pos);
                Some((node, intrinsic, anchor))
            }
            Event::SequenceStart(anchor, tag) => {
                let intrinsic = tag_name(file, pos, tag.as_deref())?;
                stack.push(Open::List(Vec::new(), pos, intrinsic, anchor));
                None
            }
            Event::MappingStart(anchor, tag) => {
                let intrinsic = tag_name(file, pos, tag.as_deref())?;
                stack.push(Open::Map(Vec::new(), None, pos, intrinsic, anchor));
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Open::List(items, pos, intrinsic, anchor)) => {
                    Some((Node::new(Value::List(items), pos), intrinsic, anchor))
                }
                _ => None,
            },
            Event::MappingEnd => match stack.pop() {
                Some(Open::Map(entries, _, pos, intrinsic, anchor)) => {
                    Some((Node::new(Value::Map(entries), pos), intrinsic, anchor))
                }
                _ => None,
            },
            Event::Alias(id) => match anchors.get(&id) {
                Some(node) => Some((node.clone(), None, 0)),
                None => return Err(ImportError::at(file, pos, "an alias to no anchor".into())),
            },
            _ => None,
        };
        let Some((mut node, intrinsic, anchor)) = done else {
            continue;
        };
        if let Some(long) = intrinsic {
            node = short_form(long, node);
        }
        if anchor > 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => {
                if root.is_none() {
                    root = Some(node);
                }
            }
            Some(Open::List(items, ..)) => items.push(node),
            Some(Open::Map(entries, pending, ..)) => match pending.take() {
                None => {
                    let name = node.text().unwrap_or_default();
                    *pending = Some(Key {
                        name,
                        pos: node.pos,
                    });
                }
                Some(key) => {
                    if let Some((first, _)) = entries.iter().find(|(k, _)| k.name == key.name) {
                        return Err(ImportError::at(
                            file,
                            key.pos,
                            format!(
                                "the key `{}` is written twice (first on line {})",
                                key.name, first.pos.line
                            ),
                        ));
                    }
                    entries.push((key, node));
                }
            },
        }
    }
    match root {
        Some(node) if matches!(node.value, Value::Map(_)) => Ok(node),
        Some(node) => Err(ImportError::at(
            file,
            node.pos,
            "a template is a mapping (AWSTemplateFormatVersion, Resources...)".into(),
        )),
        None => Err(ImportError::at(
            file,
            Pos { line: 1, col: 1 },
            "the template is empty".into(),
        )),
    }
}

/// The long name of an intrinsic's short tag (`!Ref` → `Ref`), `None` for no tag or a core
/// tag (`!!str`), an error naming the nearest for an unknown one.
fn tag_name(file: &str, pos: Pos, tag: Option<&Tag>) -> Result<Option<String>, ImportError> {
    let Some(tag) = tag else { return Ok(None) };
    if tag.handle != "!" {
        return Ok(None);
    }
    if let Some((_, long)) = INTRINSICS.iter().find(|(short, _)| *short == tag.suffix) {
        return Ok(Some((*long).to_string()));
    }
    let shorts: Vec<&str> = INTRINSICS.iter().map(|(s, _)| *s).collect();
    let hint = match crate::units::closest_spelling(&tag.suffix, &shorts) {
        Some(near) => format!("; did you mean `!{near}`?"),
        None => String::new(),
    };
    Err(ImportError::at(
        file,
        pos,
        format!("unknown intrinsic function `!{}`{hint}", tag.suffix),
    ))
}

/// `!GetAtt A.B` as `{ Fn::GetAtt: [A, B] }`; every other short form as `{ Long: node }`.
fn short_form(long: String, node: Node) -> Node {
    let pos = node.pos;
    let arg = match (&node.value, long.as_str()) {
        (Value::Str(s), "Fn::GetAtt") => match s.split_once('.') {
            Some((id, attr)) => Node::new(
                Value::List(vec![
                    Node::new(Value::Str(id.into()), pos),
                    Node::new(Value::Str(attr.into()), pos),
                ]),
                pos,
            ),
            None => node,
        },
        _ => node,
    };
    Node::new(Value::Map(vec![(Key { name: long, pos }, arg)]), pos)
}

/// A scalar's value: plain scalars may be numbers, booleans or null; quoted ones are strings.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    let core = tag.filter(|t| t.handle == "!!").map(|t| t.suffix.as_str());
    if style != ScalarStyle::Plain || core == Some("str") {
        return Value::Str(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => match text.parse::<f64>() {
            Ok(n) if n.is_finite() && !text.starts_with('+') && !text.ends_with('.') => {
                Value::Num(n)
            }
            _ => Value::Str(text.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_tags_become_long_forms_located() {
        let t = parse("t.yaml", "A:\n  B: !Ref Foo\n  C: !GetAtt Q.Arn\n  D: 5\n").unwrap();
        let a = t.get("A").unwrap();
        let (key, arg) = a.get("B").unwrap().intrinsic().unwrap();
        assert_eq!(key.name, "Ref");
        assert_eq!(arg.value, Value::Str("Foo".into()));
        assert_eq!(arg.pos, Pos { line: 2, col: 6 });
        let (key, arg) = a.get("C").unwrap().intrinsic().unwrap();
        assert_eq!(key.name, "Fn::GetAtt");
        assert_eq!(arg.items().len(), 2);
        assert_eq!(a.get("D").unwrap().value, Value::Num(5.0));
    }

    #[test]
    fn json_is_read_with_positions() {
        let t = parse("t.json", "{\n\t\"A\": {\"Ref\": \"X\"},\n  \"B\": \"5\"\n}").unwrap();
        assert_eq!(t.get("A").unwrap().pos.line, 2);
        assert_eq!(t.get("B").unwrap().value, Value::Str("5".into()));
    }

    #[test]
    fn errors_are_located() {
        let e = parse("t.json", "{\n  \"A\": 1,\n  \"B\" 2\n}").unwrap_err();
        assert_eq!((e.pos.line, e.pos.col), (3, 7), "{e}");
        assert!(
            e.to_string().starts_with("t.json:3:7: malformed JSON"),
            "{e}"
        );
        let e = parse("t.yaml", "A:\n  - b\n  c: d\n").unwrap_err();
        assert!(e.to_string().contains("malformed YAML"), "{e}");
        assert_eq!(e.pos.line, 3, "{e}");
        let e = parse("t.yaml", "A:\n  B: !Reff X\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.yaml:2:6: unknown intrinsic function `!Reff`; did you mean `!Ref`?"
        );
        let e = parse("t.yaml", "A: 1\nA: 2\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t.yaml:2:1: the key `A` is written twice")
        );
    }
}
