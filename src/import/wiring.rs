//! Wiring a template does not state outright: the calls a function makes, inferred from its
//! policies (SAM policy templates, IAM statements naming a resource) and from environment
//! variables that refer to another resource; and the workloads that drive the scenario (a
//! schedule that invokes a function, and a conservative load on every component nobody calls).

use std::collections::BTreeMap;

use super::Cx;
use super::template::{Resource, Template, sub_vars};
use super::text::Draft;
use super::tree::{Node, Value};

/// The logical id `node` refers to, among `components`: `!Ref X`, `!GetAtt X.Attr`, or the
/// first `${X}` / `${X.Attr}` of a string.
pub fn referenced_id(
    node: &Node,
    components: &BTreeMap<String, (String, &'static str)>,
) -> Option<String> {
    match &node.value {
        Value::Ref { id, .. } if components.contains_key(id) => Some(id.clone()),
        Value::Str(s) => sub_vars(s)
            .into_iter()
            .map(|v| v.split('.').next().unwrap_or_default().to_string())
            .find(|id| components.contains_key(id)),
        _ => None,
    }
}

/// The logical id `node` refers to among all of the template's resources.
pub fn any_id(node: &Node, template: &Template) -> Option<String> {
    match &node.value {
        Value::Ref { id, .. } => Some(id.clone()),
        Value::Str(s) => sub_vars(s)
            .into_iter()
            .map(|v| v.split('.').next().unwrap_or_default().to_string())
            .find(|id| template.resource(id).is_some()),
        _ => None,
    }
}

/// Every resource id `node` refers to, anywhere inside it.
fn all_ids(node: &Node, out: &mut Vec<String>) {
    match &node.value {
        Value::Ref { id, .. } => out.push(id.clone()),
        Value::Str(s) => out.extend(
            sub_vars(s)
                .into_iter()
                .map(|v| v.split('.').next().unwrap_or_default().to_string()),
        ),
        Value::List(items) => items.iter().for_each(|i| all_ids(i, out)),
        Value::Map(entries) => entries.iter().for_each(|(_, v)| all_ids(v, out)),
        _ => {}
    }
}

/// A call a function is inferred to make.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The component called.
    pub target: String,
    /// The operation, when the policy says (`read`, `write`, `query`).
    pub op: Option<&'static str>,
    /// Where the inference comes from.
    pub why: String,
}

/// SAM policy templates that let a function call a resource, with the operation they suggest
/// (`None`: the callee's default).
const SAM_POLICIES: &[(&str, Option<&str>)] = &[
    ("DynamoDBCrudPolicy", Some("write")),
    ("DynamoDBWritePolicy", Some("write")),
    ("DynamoDBReadPolicy", Some("read")),
    ("SQSSendMessagePolicy", None),
    ("SNSPublishMessagePolicy", None),
    ("KinesisCrudPolicy", None),
    ("StepFunctionsExecutionPolicy", None),
    ("LambdaInvokePolicy", None),
];

/// IAM actions that are calls, with the operation they suggest.
fn action_op(action: &str) -> Option<Option<&'static str>> {
    let a = action.to_ascii_lowercase();
    if let Some(name) = a.strip_prefix("dynamodb:") {
        return match name {
            "putitem" | "updateitem" | "deleteitem" | "batchwriteitem" | "*" => Some(Some("write")),
            "getitem" | "batchgetitem" => Some(Some("read")),
            "query" | "scan" => Some(Some("query")),
            "transactwriteitems" => Some(Some("transact_write")),
            _ => None,
        };
    }
    const SENDS: &[&str] = &[
        "sqs:sendmessage",
        "sqs:sendmessagebatch",
        "sqs:*",
        "sns:publish",
        "sns:*",
        "kinesis:putrecord",
        "kinesis:putrecords",
        "kinesis:*",
        "states:startexecution",
        "states:startsyncexecution",
        "lambda:invokefunction",
    ];
    SENDS.contains(&a.as_str()).then_some(None)
}

/// The calls a function makes, as far as its template tells, in a stable order: SAM policy
/// templates, IAM statements of its role, then environment variables naming a resource.
pub fn calls(r: &Resource, cx: &Cx<'_>, own: &str) -> Vec<Call> {
    let mut out: Vec<Call> = Vec::new();
    let mut add = |id: &str, op: Option<&'static str>, why: String| {
        let Some((name, _)) = cx.components.get(id) else {
            return;
        };
        if name == own {
            return;
        }
        if let Some(c) = out.iter_mut().find(|c| c.target == *name) {
            if c.op.is_none() {
                c.op = op;
            }
            return;
        }
        out.push(Call {
            target: name.clone(),
            op,
            why,
        });
    };
    // SAM `Policies`: a list of templates `{ DynamoDBCrudPolicy: { TableName: !Ref T } }`, or
    // inline statements.
    if let Some(policies) = r.prop("Policies") {
        let list: Vec<&Node> = match &policies.value {
            Value::List(items) => items.iter().collect(),
            _ => vec![policies],
        };
        for p in list {
            for (key, arg) in p.entries() {
                if let Some((_, op)) = SAM_POLICIES.iter().find(|(n, _)| *n == key.name) {
                    let mut ids = Vec::new();
                    all_ids(arg, &mut ids);
                    for id in ids {
                        add(
                            &id,
                            *op,
                            format!("inferred from its SAM policy {}", key.name),
                        );
                    }
                }
            }
            statements(p, &mut |id, op, why| add(id, op, why));
        }
    }
    // The role it runs as: inline `Policies` of an `AWS::IAM::Role`, and `AWS::IAM::Policy`
    // resources attached to that role.
    if let Some(role) = r.prop("Role").and_then(|n| any_id(n, cx.template)) {
        if let Some(role_res) = cx.template.resource(&role) {
            for p in role_res
                .prop("Policies")
                .map(Node::items)
                .unwrap_or_default()
            {
                if let Some(doc) = p.get("PolicyDocument") {
                    statements(doc, &mut |id, op, why| add(id, op, why));
                }
            }
        }
        for policy in cx
            .template
            .resources
            .iter()
            .filter(|p| p.kind == "AWS::IAM::Policy" || p.kind == "AWS::IAM::ManagedPolicy")
        {
            let attached = policy
                .prop("Roles")
                .map(|roles| {
                    roles
                        .items()
                        .iter()
                        .any(|n| any_id(n, cx.template).as_deref() == Some(role.as_str()))
                })
                .unwrap_or(false);
            if attached && let Some(doc) = policy.prop("PolicyDocument") {
                statements(doc, &mut |id, op, why| add(id, op, why));
            }
        }
    }
    if let Some(vars) = r.prop("Environment").and_then(|e| e.get("Variables")) {
        for (key, value) in vars.entries() {
            let mut ids = Vec::new();
            all_ids(value, &mut ids);
            for id in ids {
                add(
                    &id,
                    None,
                    format!("inferred from its environment variable {}", key.name),
                );
            }
        }
    }
    out
}

/// IAM statements of a policy document (or a SAM inline `Statement`), each resource they name
/// with the operation their actions suggest.
fn statements(doc: &Node, add: &mut dyn FnMut(&str, Option<&'static str>, String)) {
    let Some(list) = doc.get("Statement") else {
        return;
    };
    let list: Vec<&Node> = match &list.value {
        Value::List(items) => items.iter().collect(),
        _ => vec![list],
    };
    for st in list {
        if st.get("Effect").and_then(Node::text).as_deref() == Some("Deny") {
            continue;
        }
        let actions: Vec<String> = match st.get("Action") {
            Some(a) if matches!(a.value, Value::List(_)) => {
                a.items().iter().filter_map(Node::text).collect()
            }
            Some(a) => a.text().into_iter().collect(),
            None => Vec::new(),
        };
        let ops: Vec<Option<&'static str>> = actions.iter().filter_map(|a| action_op(a)).collect();
        if ops.is_empty() {
            continue;
        }
        // A write outweighs a read: the costlier operation is the conservative guess.
        let op = ["transact_write", "write", "query", "read"]
            .into_iter()
            .find(|o| ops.contains(&Some(*o)));
        let mut ids = Vec::new();
        if let Some(res) = st.get("Resource") {
            all_ids(res, &mut ids);
        }
        for id in ids {
            add(
                &id,
                op,
                format!(
                    "inferred from an IAM statement allowing {}",
                    actions.join(", ")
                ),
            );
        }
    }
}

/// A workload the import writes.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// Its name.
    pub name: String,
    /// The component it sends to.
    pub target: String,
    /// `poisson` or `constant`.
    pub process: &'static str,
    /// Its rate, as scenarios write rates.
    pub rate: String,
    /// The comment above it.
    pub why: String,
    /// The `TODO(import)` on its rate.
    pub todo: String,
    /// The operation its requests ask for.
    pub op: Option<String>,
}

/// A schedule expression's rate: `rate(5 minutes)` → `"0.2/min"`; `cron(...)` → `None`.
fn schedule_rate(expr: &str) -> Option<String> {
    let inner = expr.trim().strip_prefix("rate(")?.strip_suffix(')')?;
    let (n, unit) = inner.trim().split_once(' ')?;
    let n: f64 = n.parse().ok().filter(|n: &f64| *n > 0.0)?;
    let unit = match unit.trim().trim_end_matches('s') {
        "minute" => "min",
        "hour" => "h",
        "day" => "d",
        "second" => "s",
        _ => return None,
    };
    Some(format!(
        "{}/{unit}",
        super::tree::number_text(1.0 / n)
            .chars()
            .take(12)
            .collect::<String>()
    ))
}

/// The workloads: one per schedule that invokes a component, and one on each component that
/// accepts requests and that nothing else names (the entry points), at a conservative rate.
pub fn workloads(
    template: &Template,
    drafts: &[Draft],
    components: &BTreeMap<String, (String, &'static str)>,
) -> Vec<Workload> {
    let mut out: Vec<Workload> = Vec::new();
    for rule in template
        .resources
        .iter()
        .filter(|r| r.kind == "AWS::Events::Rule" || r.kind == "AWS::Scheduler::Schedule")
    {
        let Some(expr) = rule.prop("ScheduleExpression").and_then(Node::text) else {
            continue;
        };
        let targets: Vec<&Node> = match rule.prop("Targets").or_else(|| rule.prop("Target")) {
            Some(t) if matches!(t.value, Value::List(_)) => t.items().iter().collect(),
            Some(t) => vec![t],
            None => Vec::new(),
        };
        for t in targets {
            let Some(id) = t.get("Arn").and_then(|a| referenced_id(a, components)) else {
                continue;
            };
            let name = &components[&id].0;
            let (rate, todo) = match schedule_rate(&expr) {
                Some(rate) => (
                    rate,
                    format!("from `{expr}`; a schedule fires once a period, not at random"),
                ),
                None => (
                    "1/h".to_string(),
                    format!("`{expr}` is a cron expression: its mean rate, please"),
                ),
            };
            out.push(Workload {
                name: format!("{}-schedule", rule.id),
                target: name.clone(),
                process: "constant",
                rate,
                why: format!(
                    "AWS::Events::Rule `{}` (line {}) invokes `{name}`",
                    rule.id, rule.pos.line
                ),
                todo,
                op: None,
            });
        }
    }
    for d in drafts {
        let named = drafts.iter().any(|o| o.references.contains(&d.name))
            || out.iter().any(|w| w.target == d.name);
        if d.accepts_requests && !named {
            out.push(Workload {
                name: format!("{}-clients", d.name),
                target: d.name.clone(),
                process: "poisson",
                rate: "10/s".into(),
                why: format!("Nothing in the template calls `{}`: a load on it", d.name),
                todo: "the load this entry point receives".into(),
                op: None,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_rates() {
        assert_eq!(schedule_rate("rate(5 minutes)").as_deref(), Some("0.2/min"));
        assert_eq!(schedule_rate("rate(1 hour)").as_deref(), Some("1/h"));
        assert_eq!(schedule_rate("cron(0 12 * * ? *)"), None);
    }

    #[test]
    fn actions_suggest_operations() {
        assert_eq!(action_op("dynamodb:PutItem"), Some(Some("write")));
        assert_eq!(action_op("dynamodb:GetItem"), Some(Some("read")));
        assert_eq!(action_op("sqs:SendMessage"), Some(None));
        assert_eq!(action_op("s3:GetObject"), None);
    }
}
