//! A template's sections, with every intrinsic function resolved: `Parameters` (defaults,
//! overridden by `--parameter`), `Mappings`, `Conditions`, the pseudo parameters, and each
//! resource's `Properties`, where a `Ref` or `Fn::GetAtt` of another resource stays a
//! [`Value::Ref`] (inside a string, `${Id}` or `${Id.Attr}`) for the mappers to wire.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use super::ImportError;
use super::tree::{Key, Node, Pos, Value, number_text};

/// The region a template is imported into (pseudo parameters, `Fn::GetAZs`).
pub const REGION: &str = "us-east-1";
/// The account id `AWS::AccountId` stands for.
const ACCOUNT: &str = "123456789012";

/// One resource, its properties resolved.
#[derive(Clone, Debug)]
pub struct Resource {
    /// Its logical id.
    pub id: String,
    /// Its type (`AWS::SQS::Queue`).
    pub kind: String,
    /// Where its entry starts.
    pub pos: Pos,
    /// `Properties`, resolved (an empty mapping if it has none).
    pub properties: Node,
    /// For a resource the SAM transform made: the SAM resource it came from.
    pub from: Option<String>,
}

impl Resource {
    /// The property `name`, if set.
    pub fn prop(&self, name: &str) -> Option<&Node> {
        self.properties.get(name)
    }
}

/// A template after resolution (and, when it declares it, the SAM transform).
#[derive(Clone, Debug)]
pub struct Template {
    /// The file, as messages name it.
    pub file: String,
    /// Its `Description`.
    pub description: Option<String>,
    /// Its resources, in the template's order.
    pub resources: Vec<Resource>,
    /// Resources left out because their `Condition` is false: (id, type, condition).
    pub omitted: Vec<(String, String, String)>,
}

impl Template {
    /// The resource with logical id `id`.
    pub fn resource(&self, id: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.id == id)
    }

    /// Resources of type `kind`.
    pub fn of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Resource> + 'a {
        self.resources.iter().filter(move |r| r.kind == kind)
    }
}

/// Reads and resolves a template's sections. `overrides` are `--parameter NAME=VALUE`.
pub fn resolve(
    file: &str,
    root: &Node,
    overrides: &[(String, String)],
) -> Result<(Template, Option<Node>), ImportError> {
    let err = |pos: Pos, msg: String| ImportError::at(file, pos, msg);
    let known = [
        "AWSTemplateFormatVersion",
        "Description",
        "Metadata",
        "Parameters",
        "Rules",
        "Mappings",
        "Conditions",
        "Transform",
        "Resources",
        "Outputs",
        "Globals",
    ];
    for (key, _) in root.entries() {
        if !known.contains(&key.name.as_str()) {
            return Err(err(
                key.pos,
                format!(
                    "unknown template section `{}`{}",
                    key.name,
                    hint(&key.name, &known)
                ),
            ));
        }
    }
    let resources_node = root
        .get("Resources")
        .ok_or_else(|| err(root.pos, "the template has no `Resources` section".into()))?;
    if !matches!(resources_node.value, Value::Map(_)) {
        return Err(err(
            resources_node.pos,
            "`Resources` must be a mapping of logical ids".into(),
        ));
    }
    let resource_ids: BTreeSet<String> = resources_node
        .entries()
        .iter()
        .map(|(k, _)| k.name.clone())
        .collect();
    let stack_name = std::path::Path::new(file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "stack".into());

    let params = parameters(file, root.get("Parameters"), overrides)?;
    let conditions: BTreeMap<String, Node> = root
        .get("Conditions")
        .map(|c| {
            c.entries()
                .iter()
                .map(|(k, v)| (k.name.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let r = Resolver {
        file,
        params,
        mappings: root.get("Mappings"),
        conditions,
        evaluated: RefCell::new(BTreeMap::new()),
        visiting: RefCell::new(Vec::new()),
        resource_ids: resource_ids.clone(),
        stack_name,
    };
    let names: Vec<String> = r.conditions.keys().cloned().collect();
    for name in &names {
        r.condition(name, r.conditions[name].pos)?;
    }
    check_cycles(file, resources_node, &resource_ids)?;

    let mut resources = Vec::new();
    let mut omitted = Vec::new();
    for (key, body) in resources_node.entries() {
        let kind = body
            .get("Type")
            .and_then(Node::text)
            .ok_or_else(|| err(key.pos, format!("resource `{}` has no `Type`", key.name)))?;
        if let Some(cond) = body.get("Condition") {
            let name = cond.text().unwrap_or_default();
            if !r.condition(&name, cond.pos)? {
                omitted.push((key.name.clone(), kind, name));
                continue;
            }
        }
        let properties = match body.get("Properties") {
            Some(p) => r
                .resolve(p, &[])?
                .unwrap_or_else(|| Node::new(Value::Map(Vec::new()), p.pos)),
            None => Node::new(Value::Map(Vec::new()), key.pos),
        };
        resources.push(Resource {
            id: key.name.clone(),
            kind,
            pos: key.pos,
            properties,
            from: None,
        });
    }
    let globals = match root.get("Globals") {
        Some(g) => r.resolve(g, &[])?,
        None => None,
    };
    let description = root.get("Description").and_then(Node::text);
    Ok((
        Template {
            file: file.to_string(),
            description,
            resources,
            omitted,
        },
        globals,
    ))
}

/// `"; did you mean `x`?"` for the nearest of `candidates`, or nothing.
pub fn hint<S: AsRef<str>>(name: &str, candidates: &[S]) -> String {
    let names: Vec<&str> = candidates.iter().map(|c| c.as_ref()).collect();
    crate::units::did_you_mean(name, &names)
}

/// Each parameter's value: its `--parameter`, else its `Default`.
fn parameters(
    file: &str,
    section: Option<&Node>,
    overrides: &[(String, String)],
) -> Result<BTreeMap<String, Node>, ImportError> {
    let declared: Vec<&(Key, Node)> = section
        .map(|s| s.entries().iter().collect())
        .unwrap_or_default();
    let names: Vec<&str> = declared.iter().map(|(k, _)| k.name.as_str()).collect();
    for (name, _) in overrides {
        if !names.contains(&name.as_str()) {
            return Err(ImportError::at(
                file,
                section.map(|s| s.pos).unwrap_or(Pos { line: 1, col: 1 }),
                format!(
                    "--parameter {name}: the template declares no parameter `{name}`{}",
                    hint(name, &names)
                ),
            ));
        }
    }
    let mut values = BTreeMap::new();
    for (key, decl) in declared {
        let ty = decl.get("Type").and_then(Node::text).unwrap_or_default();
        let given = overrides.iter().rev().find(|(n, _)| *n == key.name);
        let value = match (given, decl.get("Default")) {
            (Some((_, text)), _) => {
                if let Some(allowed) = decl.get("AllowedValues") {
                    let allowed: Vec<String> =
                        allowed.items().iter().filter_map(Node::text).collect();
                    if !allowed.is_empty() && !allowed.contains(text) {
                        return Err(ImportError::at(
                            file,
                            key.pos,
                            format!(
                                "--parameter {}={text}: not one of its AllowedValues ({}){}",
                                key.name,
                                allowed.join(", "),
                                hint(text, &allowed)
                            ),
                        ));
                    }
                }
                Node::new(Value::Str(text.clone()), key.pos)
            }
            (None, Some(default)) => default.clone(),
            (None, None) => {
                return Err(ImportError::at(
                    file,
                    key.pos,
                    format!(
                        "parameter `{}` has no Default: give it with --parameter {}=VALUE",
                        key.name, key.name
                    ),
                ));
            }
        };
        let value = if ty == "Number" {
            match value.number() {
                Some(n) => Node::new(Value::Num(n), value.pos),
                None => {
                    return Err(ImportError::at(
                        file,
                        key.pos,
                        format!(
                            "parameter `{}` is a Number, not `{}`",
                            key.name,
                            value.text().unwrap_or_default()
                        ),
                    ));
                }
            }
        } else if ty.starts_with("List<") || ty == "CommaDelimitedList" {
            match &value.value {
                Value::Str(s) => Node::new(
                    Value::List(
                        s.split(',')
                            .map(|p| Node::new(Value::Str(p.trim().to_string()), value.pos))
                            .collect(),
                    ),
                    value.pos,
                ),
                _ => value,
            }
        } else {
            value
        };
        values.insert(key.name.clone(), value);
    }
    Ok(values)
}

/// The resources each resource refers to (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `DependsOn`), and a
/// cycle among them as an error.
fn check_cycles(file: &str, resources: &Node, ids: &BTreeSet<String>) -> Result<(), ImportError> {
    let mut edges: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (key, body) in resources.entries() {
        let mut out = Vec::new();
        if let Some(props) = body.get("Properties") {
            referenced(props, ids, &mut out);
        }
        if let Some(deps) = body.get("DependsOn") {
            match &deps.value {
                Value::Str(s) => out.push(s.clone()),
                Value::List(items) => out.extend(items.iter().filter_map(Node::text)),
                _ => {}
            }
        }
        out.retain(|d| ids.contains(d));
        edges.insert(key.name.as_str(), out);
    }
    // Depth-first search: 0 unseen, 1 on the path, 2 done.
    let mut state: BTreeMap<&str, u8> = BTreeMap::new();
    fn visit<'a>(
        id: &'a str,
        edges: &'a BTreeMap<&'a str, Vec<String>>,
        state: &mut BTreeMap<&'a str, u8>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match state.get(id) {
            Some(2) => return None,
            Some(1) => {
                let from = path.iter().position(|p| *p == id).unwrap_or(0);
                let mut cycle: Vec<String> = path[from..].iter().map(|s| s.to_string()).collect();
                cycle.push(id.to_string());
                return Some(cycle);
            }
            _ => {}
        }
        state.insert(id, 1);
        path.push(id);
        for next in edges.get(id).into_iter().flatten() {
            if let Some((key, _)) = edges.get_key_value(next.as_str())
                && let Some(cycle) = visit(key, edges, state, path)
            {
                return Some(cycle);
            }
        }
        path.pop();
        state.insert(id, 2);
        None
    }
    for (key, _) in resources.entries() {
        let mut path = Vec::new();
        if let Some(cycle) = visit(key.name.as_str(), &edges, &mut state, &mut path) {
            let at = resources
                .entries()
                .iter()
                .find(|(k, _)| k.name == cycle[0])
                .map(|(k, _)| k.pos)
                .unwrap_or(key.pos);
            return Err(ImportError::at(
                file,
                at,
                format!(
                    "circular dependency between resources (Ref, Fn::GetAtt, Fn::Sub or \
                     DependsOn): {}",
                    cycle.join(" → ")
                ),
            ));
        }
    }
    Ok(())
}

/// The logical ids `node` names through `Ref`, `Fn::GetAtt` or `${...}` in `Fn::Sub`.
pub fn referenced(node: &Node, ids: &BTreeSet<String>, out: &mut Vec<String>) {
    if let Some((key, arg)) = node.intrinsic() {
        match key.name.as_str() {
            "Ref" => out.extend(arg.text()),
            "Fn::GetAtt" => match &arg.value {
                Value::Str(s) => out.push(s.split('.').next().unwrap_or_default().to_string()),
                _ => out.extend(arg.items().first().and_then(Node::text)),
            },
            "Fn::Sub" => {
                let text = match &arg.value {
                    Value::List(items) => items.first().and_then(Node::text),
                    _ => arg.text(),
                };
                for var in sub_vars(&text.unwrap_or_default()) {
                    let id = var.split('.').next().unwrap_or_default();
                    if ids.contains(id) {
                        out.push(id.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    match &node.value {
        Value::List(items) => items.iter().for_each(|i| referenced(i, ids, out)),
        Value::Map(entries) => entries.iter().for_each(|(_, v)| referenced(v, ids, out)),
        Value::Str(s) => {
            for var in sub_vars(s) {
                let id = var.split('.').next().unwrap_or_default();
                if ids.contains(id) {
                    out.push(id.to_string());
                }
            }
        }
        Value::Ref { id, .. } => out.push(id.clone()),
        _ => {}
    }
}

/// The variables `${...}` of a `Fn::Sub` string (`${!Literal}` is none).
pub fn sub_vars(text: &str) -> Vec<&str> {
    let mut vars = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let var = &after[..end];
        if !var.starts_with('!') {
            vars.push(var.trim());
        }
        rest = &after[end + 1..];
    }
    vars
}

struct Resolver<'a> {
    file: &'a str,
    params: BTreeMap<String, Node>,
    mappings: Option<&'a Node>,
    conditions: BTreeMap<String, Node>,
    evaluated: RefCell<BTreeMap<String, bool>>,
    visiting: RefCell<Vec<String>>,
    resource_ids: BTreeSet<String>,
    stack_name: String,
}

const PSEUDO: &[&str] = &[
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

impl Resolver<'_> {
    fn err(&self, pos: Pos, msg: String) -> ImportError {
        ImportError::at(self.file, pos, msg)
    }

    /// The value of condition `name`, evaluated once; a cycle among conditions is an error.
    fn condition(&self, name: &str, pos: Pos) -> Result<bool, ImportError> {
        if let Some(v) = self.evaluated.borrow().get(name) {
            return Ok(*v);
        }
        let Some(def) = self.conditions.get(name) else {
            let names: Vec<&String> = self.conditions.keys().collect();
            return Err(self.err(
                pos,
                format!(
                    "no condition `{name}` in `Conditions`{}",
                    hint(name, &names)
                ),
            ));
        };
        if self.visiting.borrow().iter().any(|v| v == name) {
            let mut path = self.visiting.borrow().clone();
            path.push(name.to_string());
            return Err(self.err(
                def.pos,
                format!("circular conditions: {}", path.join(" → ")),
            ));
        }
        self.visiting.borrow_mut().push(name.to_string());
        let value = self.resolve(def, &[])?;
        self.visiting.borrow_mut().pop();
        let value = value
            .and_then(|v| v.boolean())
            .ok_or_else(|| self.err(def.pos, format!("condition `{name}` is not true or false")))?;
        self.evaluated.borrow_mut().insert(name.to_string(), value);
        Ok(value)
    }

    /// The value of `Ref name` outside a string; `None` for `AWS::NoValue`.
    fn reference(
        &self,
        name: &str,
        pos: Pos,
        locals: &[(String, Node)],
    ) -> Result<Option<Node>, ImportError> {
        if let Some((_, v)) = locals.iter().find(|(n, _)| n == name) {
            return Ok(Some(v.clone()));
        }
        if let Some(v) = self.params.get(name) {
            return Ok(Some(Node::new(v.value.clone(), pos)));
        }
        if self.resource_ids.contains(name) {
            return Ok(Some(Node::new(
                Value::Ref {
                    id: name.to_string(),
                    attr: None,
                },
                pos,
            )));
        }
        let s = |t: String| Ok(Some(Node::new(Value::Str(t), pos)));
        match name {
            "AWS::NoValue" => Ok(None),
            "AWS::AccountId" => s(ACCOUNT.into()),
            "AWS::Region" => s(REGION.into()),
            "AWS::Partition" => s("aws".into()),
            "AWS::URLSuffix" => s("amazonaws.com".into()),
            "AWS::StackName" => s(self.stack_name.clone()),
            "AWS::StackId" => s(format!(
                "arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{}/imported",
                self.stack_name
            )),
            "AWS::NotificationARNs" => Ok(Some(Node::new(Value::List(Vec::new()), pos))),
            _ => {
                let mut names: Vec<&str> = self.params.keys().map(String::as_str).collect();
                names.extend(self.resource_ids.iter().map(String::as_str));
                names.extend(locals.iter().map(|(n, _)| n.as_str()));
                names.extend(PSEUDO);
                Err(self.err(
                    pos,
                    format!(
                        "`Ref {name}` names no parameter, resource or pseudo parameter{}",
                        hint(name, &names)
                    ),
                ))
            }
        }
    }

    fn getatt(&self, id: &str, attr: &str, pos: Pos) -> Result<Node, ImportError> {
        if !self.resource_ids.contains(id) {
            let names: Vec<&String> = self.resource_ids.iter().collect();
            return Err(self.err(
                pos,
                format!(
                    "`Fn::GetAtt {id}.{attr}` names no resource{}",
                    hint(id, &names)
                ),
            ));
        }
        Ok(Node::new(
            Value::Ref {
                id: id.into(),
                attr: Some(attr.into()),
            },
            pos,
        ))
    }

    /// `node` as text inside a string: a resource's reference as `${Id}` / `${Id.Attr}`.
    fn as_text(&self, node: &Node) -> Result<String, ImportError> {
        match &node.value {
            Value::Ref { id, attr: None } => Ok(format!("${{{id}}}")),
            Value::Ref { id, attr: Some(a) } => Ok(format!("${{{id}.{a}}}")),
            Value::List(items) => Ok(items
                .iter()
                .map(|i| self.as_text(i))
                .collect::<Result<Vec<_>, _>>()?
                .join(",")),
            Value::Null => Ok(String::new()),
            _ => node
                .text()
                .ok_or_else(|| self.err(node.pos, "expected a string here, not a mapping".into())),
        }
    }

    fn sub(&self, text: &str, pos: Pos, locals: &[(String, Node)]) -> Result<String, ImportError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(self.err(
                    pos,
                    format!("`Fn::Sub`: `${{` without its `}}` in `{text}`"),
                ));
            };
            let var = after[..end].trim();
            if let Some(literal) = var.strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            } else if let Some((id, attr)) = var
                .split_once('.')
                .filter(|_| !locals.iter().any(|(n, _)| n == var))
            {
                out.push_str(&self.as_text(&self.getatt(id, attr, pos)?)?);
            } else {
                let v = self.reference(var, pos, locals)?;
                out.push_str(&match v {
                    Some(v) => self.as_text(&v)?,
                    None => String::new(),
                });
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// `node` with every intrinsic function evaluated; `None` where `AWS::NoValue` removes it.
    fn resolve(&self, node: &Node, locals: &[(String, Node)]) -> Result<Option<Node>, ImportError> {
        if let Some((key, arg)) = node.intrinsic() {
            return self.intrinsic(&key.name, key.pos, arg, node.pos, locals);
        }
        Ok(Some(match &node.value {
            Value::List(items) => {
                let mut out = Vec::new();
                for i in items {
                    out.extend(self.resolve(i, locals)?);
                }
                Node::new(Value::List(out), node.pos)
            }
            Value::Map(entries) => {
                let mut out = Vec::new();
                for (k, v) in entries {
                    if let Some(v) = self.resolve(v, locals)? {
                        out.push((k.clone(), v));
                    }
                }
                Node::new(Value::Map(out), node.pos)
            }
            _ => node.clone(),
        }))
    }

    fn resolved(&self, node: &Node, locals: &[(String, Node)]) -> Result<Node, ImportError> {
        Ok(self
            .resolve(node, locals)?
            .unwrap_or_else(|| Node::new(Value::Null, node.pos)))
    }

    fn args<'n>(&self, name: &str, arg: &'n Node, n: usize) -> Result<&'n [Node], ImportError> {
        match &arg.value {
            Value::List(items) if items.len() == n => Ok(items),
            _ => Err(self.err(arg.pos, format!("`{name}` takes a list of {n} values"))),
        }
    }

    fn intrinsic(
        &self,
        name: &str,
        key_pos: Pos,
        arg: &Node,
        pos: Pos,
        locals: &[(String, Node)],
    ) -> Result<Option<Node>, ImportError> {
        let out = |v: Value| Ok(Some(Node::new(v, pos)));
        match name {
            "Ref" => {
                let target = arg
                    .text()
                    .ok_or_else(|| self.err(arg.pos, "`Ref` takes a name".into()))?;
                self.reference(&target, arg.pos, locals)
            }
            "Condition" => match arg.text() {
                Some(c) if self.conditions.contains_key(&c) => {
                    out(Value::Bool(self.condition(&c, arg.pos)?))
                }
                _ => Ok(Some(Node::new(
                    Value::Map(vec![(
                        Key {
                            name: name.into(),
                            pos: key_pos,
                        },
                        self.resolved(arg, locals)?,
                    )]),
                    pos,
                ))),
            },
            "Fn::GetAtt" => {
                let (id, attr) = match &arg.value {
                    Value::Str(s) => match s.split_once('.') {
                        Some((a, b)) => (a.to_string(), b.to_string()),
                        None => {
                            return Err(self.err(
                                arg.pos,
                                format!("`Fn::GetAtt {s}`: expected `Resource.Attribute`"),
                            ));
                        }
                    },
                    Value::List(items) if items.len() == 2 => {
                        let attr = self.as_text(&self.resolved(&items[1], locals)?)?;
                        (items[0].text().unwrap_or_default(), attr)
                    }
                    _ => {
                        return Err(
                            self.err(arg.pos, "`Fn::GetAtt` takes [resource, attribute]".into())
                        );
                    }
                };
                Ok(Some(self.getatt(&id, &attr, arg.pos)?))
            }
            "Fn::Sub" => {
                let (text, vars) = match &arg.value {
                    Value::List(items) if items.len() == 2 => (
                        items[0].text(),
                        items[1]
                            .entries()
                            .iter()
                            .map(|(k, v)| Ok((k.name.clone(), self.resolved(v, locals)?)))
                            .collect::<Result<Vec<_>, ImportError>>()?,
                    ),
                    _ => (arg.text(), Vec::new()),
                };
                let text = text.ok_or_else(|| {
                    self.err(
                        arg.pos,
                        "`Fn::Sub` takes a string or [string, variables]".into(),
                    )
                })?;
                let mut all = vars;
                all.extend(locals.iter().cloned());
                out(Value::Str(self.sub(&text, arg.pos, &all)?))
            }
            "Fn::Join" => {
                let a = self.args(name, arg, 2)?;
                let delim = a[0].text().unwrap_or_default();
                let list = self.resolved(&a[1], locals)?;
                let parts = list
                    .items()
                    .iter()
                    .map(|i| self.as_text(i))
                    .collect::<Result<Vec<_>, _>>()?;
                out(Value::Str(parts.join(&delim)))
            }
            "Fn::If" => {
                let a = self.args(name, arg, 3)?;
                let cond = a[0].text().unwrap_or_default();
                let branch = if self.condition(&cond, a[0].pos)? {
                    &a[1]
                } else {
                    &a[2]
                };
                self.resolve(branch, locals)
            }
            "Fn::Select" => {
                let a = self.args(name, arg, 2)?;
                let index = self.resolved(&a[0], locals)?.number().unwrap_or(-1.0);
                let list = self.resolved(&a[1], locals)?;
                let items = list.items();
                // A split of a resource's attribute (`${Table.StreamArn}`) has unknown parts:
                // the reference is what matters.
                if index >= 0.0
                    && index as usize >= items.len()
                    && let Some(reference) = items
                        .iter()
                        .find(|i| i.text().is_some_and(|t| t.contains("${")))
                {
                    return Ok(Some(reference.clone()));
                }
                if index < 0.0 || index as usize >= items.len() {
                    return Err(self.err(
                        a[0].pos,
                        format!(
                            "`Fn::Select`: index {} outside a list of {}",
                            number_text(index),
                            items.len()
                        ),
                    ));
                }
                Ok(Some(items[index as usize].clone()))
            }
            "Fn::FindInMap" => {
                let a = match &arg.value {
                    Value::List(items) if items.len() >= 3 => &items[..3],
                    _ => {
                        return Err(
                            self.err(arg.pos, "`Fn::FindInMap` takes [map, key, key]".into())
                        );
                    }
                };
                let mut at = self.mappings.ok_or_else(|| {
                    self.err(
                        arg.pos,
                        "`Fn::FindInMap` but the template has no `Mappings`".into(),
                    )
                })?;
                for part in a {
                    let want = self.as_text(&self.resolved(part, locals)?)?;
                    let names: Vec<&str> =
                        at.entries().iter().map(|(k, _)| k.name.as_str()).collect();
                    at = at.get(&want).ok_or_else(|| {
                        self.err(
                            part.pos,
                            format!(
                                "`Fn::FindInMap`: no key `{want}` here{}",
                                hint(&want, &names)
                            ),
                        )
                    })?;
                }
                Ok(Some(Node::new(at.value.clone(), pos)))
            }
            "Fn::Split" => {
                let a = self.args(name, arg, 2)?;
                let delim = a[0].text().unwrap_or_default();
                let text = self.as_text(&self.resolved(&a[1], locals)?)?;
                out(Value::List(
                    text.split(delim.as_str())
                        .map(|p| Node::new(Value::Str(p.into()), pos))
                        .collect(),
                ))
            }
            "Fn::Base64" | "Fn::ToJsonString" => {
                let v = self.resolved(arg, locals)?;
                Ok(Some(v))
            }
            "Fn::GetAZs" => out(Value::List(
                ["a", "b", "c"]
                    .iter()
                    .map(|z| Node::new(Value::Str(format!("{REGION}{z}")), pos))
                    .collect(),
            )),
            "Fn::ImportValue" => {
                let v = self.as_text(&self.resolved(arg, locals)?)?;
                out(Value::Str(format!("imported:{v}")))
            }
            "Fn::Cidr" => out(Value::List(Vec::new())),
            "Fn::Length" => out(Value::Num(self.resolved(arg, locals)?.items().len() as f64)),
            "Fn::Equals" => {
                let a = self.args(name, arg, 2)?;
                let x = self.resolved(&a[0], locals)?;
                let y = self.resolved(&a[1], locals)?;
                out(Value::Bool(
                    x.text().is_some() && x.text() == y.text() || x.value == y.value,
                ))
            }
            "Fn::And" | "Fn::Or" | "Fn::Not" => {
                let mut values = Vec::new();
                for item in arg.items() {
                    let v = self.resolved(item, locals)?;
                    values.push(v.boolean().ok_or_else(|| {
                        self.err(
                            item.pos,
                            format!("`{name}` takes conditions (true or false)"),
                        )
                    })?);
                }
                out(Value::Bool(match name {
                    "Fn::And" => values.iter().all(|v| *v),
                    "Fn::Or" => values.iter().any(|v| *v),
                    _ => !values.first().copied().unwrap_or(false),
                }))
            }
            "Fn::Transform" => out(Value::Null),
            _ => {
                let longs: Vec<&str> = super::tree::INTRINSICS.iter().map(|(_, l)| *l).collect();
                Err(self.err(
                    key_pos,
                    format!("unknown intrinsic function `{name}`{}", hint(name, &longs)),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::tree::parse;

    fn resolve_text(text: &str, overrides: &[(&str, &str)]) -> Result<Template, ImportError> {
        let root = parse("t.yaml", text)?;
        let o: Vec<(String, String)> = overrides
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        resolve("t.yaml", &root, &o).map(|(t, _)| t)
    }

    const T: &str = "\
Parameters:
  Env: { Type: String, Default: prod, AllowedValues: [prod, dev] }
  Mem: { Type: Number, Default: 256 }
Mappings:
  Sizes: { prod: { Timeout: 30 }, dev: { Timeout: 5 } }
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
Resources:
  Q:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: !FindInMap [Sizes, !Ref Env, Timeout]
      QueueName: !Sub '${AWS::StackName}-${Env}-q'
  Extra:
    Type: AWS::SQS::Queue
    Condition: IsDev
  F:
    Type: AWS::Lambda::Function
    Properties:
      MemorySize: !If [IsProd, !Ref Mem, 128]
      Role: !GetAtt Q.Arn
      Env: !Join ['-', [a, !Ref Q, !Select [1, !Split [',', 'x,y,z']]]]
      Gone: !Ref AWS::NoValue
";

    #[test]
    fn intrinsics_parameters_mappings_conditions() {
        let t = resolve_text(T, &[]).unwrap();
        assert_eq!(t.resources.len(), 2);
        assert_eq!(
            t.omitted,
            vec![("Extra".into(), "AWS::SQS::Queue".into(), "IsDev".into())]
        );
        let q = t.resource("Q").unwrap();
        assert_eq!(q.prop("VisibilityTimeout").unwrap().number(), Some(30.0));
        assert_eq!(q.prop("QueueName").unwrap().text().unwrap(), "t-prod-q");
        let f = t.resource("F").unwrap();
        assert_eq!(f.prop("MemorySize").unwrap().number(), Some(256.0));
        assert_eq!(
            f.prop("Role").unwrap().value,
            Value::Ref {
                id: "Q".into(),
                attr: Some("Arn".into())
            }
        );
        assert_eq!(f.prop("Env").unwrap().text().unwrap(), "a-${Q}-y");
        assert!(f.prop("Gone").is_none());

        let t = resolve_text(T, &[("Env", "dev"), ("Mem", "512")]).unwrap();
        assert_eq!(t.resources.len(), 3);
        let f = t.resource("F").unwrap();
        assert_eq!(f.prop("MemorySize").unwrap().number(), Some(128.0));
        assert_eq!(
            t.resource("Q")
                .unwrap()
                .prop("VisibilityTimeout")
                .unwrap()
                .number(),
            Some(5.0)
        );
    }

    #[test]
    fn bad_input_is_located_with_the_nearest_name() {
        let e = resolve_text(T, &[("Envv", "dev")]).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("declares no parameter `Envv`; did you mean `Env`?"),
            "{e}"
        );
        let e = resolve_text(T, &[("Env", "test")]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t.yaml:2:3: --parameter Env=test: not one of"),
            "{e}"
        );
        let e = resolve_text(&T.replace("!Ref Mem", "!Ref Memm"), &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.yaml:21:32: `Ref Memm` names no parameter, resource or pseudo parameter; did you mean `Mem`?"
        );
        let e = resolve_text(&T.replace("Default: 256", "MinValue: 1"), &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.yaml:3:3: parameter `Mem` has no Default: give it with --parameter Mem=VALUE"
        );
        // A name in the wrong case is the typo the hint catches for a one-letter name.
        let e = resolve_text(&T.replace("!GetAtt Q.Arn", "!GetAtt q.Arn"), &[]).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "t.yaml:22:13: `Fn::GetAtt q.Arn` names no resource; did you mean `Q`?"
            ),
            "{e}"
        );
        let e = resolve_text(
            "Resources:\n  A:\n    Type: X\n    Properties: { P: { 'Fn::Jion': [a, [b]] } }\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.yaml:4:24: unknown intrinsic function `Fn::Jion`; did you mean `Fn::Join`?"
        );
        let e = resolve_text(&T.replace("[Sizes, !Ref Env", "[Size, !Ref Env"), &[]).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("no key `Size` here; did you mean `Sizes`?"),
            "{e}"
        );
        let e = resolve_text("Resourcs: {}\n", &[]).unwrap_err();
        assert!(e.to_string().ends_with("did you mean `Resources`?"), "{e}");
    }

    #[test]
    fn cycles_are_refused() {
        let e = resolve_text(
            "Resources:\n  A:\n    Type: X\n    Properties: { P: !Ref B }\n  B:\n    Type: X\n    DependsOn: [C]\n  C:\n    Type: X\n    Properties: { P: !Sub '${A.Arn}' }\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.yaml:2:3: circular dependency between resources (Ref, Fn::GetAtt, Fn::Sub or DependsOn): A → B → C → A"
        );
        let e = resolve_text(
            "Conditions:\n  A: !Condition B\n  B: !Not [!Condition A]\nResources: {}\n",
            &[],
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("circular conditions: A → B → A"),
            "{e}"
        );
    }
}
