//! The SAM transform (`AWS::Serverless-2016-10-31`), as far as performance goes: `Globals`
//! merged into each resource; `AWS::Serverless::Function` becomes an `AWS::Lambda::Function`
//! and each of its `Events` the resource CloudFormation would deploy (an event source mapping
//! for SQS, Kinesis and DynamoDB, an API method or HTTP API integration, an SNS subscription, a
//! schedule rule); `Api`, `HttpApi`, `SimpleTable` and `StateMachine` become their
//! CloudFormation types. `AutoPublishAlias` and `DeploymentPreference` stay on the function for
//! its mapper.

use super::ImportError;
use super::template::{Resource, Template};
use super::tree::{Key, Node, Pos, Value};

/// Globals sections and the SAM types they apply to.
const GLOBALS: &[(&str, &[&str])] = &[
    ("Function", &["AWS::Serverless::Function"]),
    ("Api", &["AWS::Serverless::Api"]),
    ("HttpApi", &["AWS::Serverless::HttpApi"]),
    ("SimpleTable", &["AWS::Serverless::SimpleTable"]),
    ("StateMachine", &["AWS::Serverless::StateMachine"]),
];

/// The implicit API SAM creates for `Api` events that name none.
const IMPLICIT_REST_API: &str = "ServerlessRestApi";
/// The implicit HTTP API for `HttpApi` events that name none.
const IMPLICIT_HTTP_API: &str = "ServerlessHttpApi";

fn key(name: &str, pos: Pos) -> Key {
    Key {
        name: name.into(),
        pos,
    }
}

fn map(pos: Pos, entries: Vec<(&str, Node)>) -> Node {
    Node::new(
        Value::Map(entries.into_iter().map(|(k, v)| (key(k, pos), v)).collect()),
        pos,
    )
}

fn text(pos: Pos, s: impl Into<String>) -> Node {
    Node::new(Value::Str(s.into()), pos)
}

/// `defaults` under `props`: keys `props` lacks are added; mappings on both sides merge.
fn merge(props: &mut Node, defaults: &Node) {
    let Value::Map(entries) = &mut props.value else {
        return;
    };
    for (k, v) in defaults.entries() {
        match entries.iter_mut().find(|(ek, _)| ek.name == k.name) {
            Some((_, existing)) => {
                if matches!(existing.value, Value::Map(_)) && matches!(v.value, Value::Map(_)) {
                    merge(existing, v);
                }
            }
            None => entries.push((k.clone(), v.clone())),
        }
    }
}

/// Applies the SAM transform to `template` in place.
pub fn expand(
    template: &mut Template,
    globals: Option<&Node>,
    _root: &Node,
) -> Result<(), ImportError> {
    let old = std::mem::take(&mut template.resources);
    let mut out: Vec<Resource> = Vec::new();
    let mut implicit: Vec<Resource> = Vec::new();
    for mut r in old {
        if !r.kind.starts_with("AWS::Serverless::") {
            out.push(r);
            continue;
        }
        if let Some(g) = globals {
            for (section, kinds) in GLOBALS {
                if kinds.contains(&r.kind.as_str())
                    && let Some(defaults) = g.get(section)
                {
                    merge(&mut r.properties, defaults);
                }
            }
        }
        let sam_kind = r.kind.clone();
        let from = Some(sam_kind.clone());
        match sam_kind.as_str() {
            "AWS::Serverless::Function" => {
                let events = r.prop("Events").cloned();
                if let Value::Map(entries) = &mut r.properties.value {
                    entries.retain(|(k, _)| k.name != "Events");
                }
                r.kind = "AWS::Lambda::Function".into();
                r.from = from;
                let function = r.id.clone();
                let pos = r.pos;
                out.push(r);
                for (name, event) in events.as_ref().map(Node::entries).unwrap_or_default() {
                    let (res, api) = event_resource(&function, &name.name, event, pos);
                    out.push(res);
                    if let Some((id, kind)) = api
                        && !implicit.iter().any(|i| i.id == id)
                    {
                        implicit.push(Resource {
                            id: id.to_string(),
                            kind: kind.to_string(),
                            pos,
                            properties: map(pos, Vec::new()),
                            from: Some("the implicit API of SAM".into()),
                        });
                    }
                }
            }
            other => {
                r.kind = match other {
                    "AWS::Serverless::Api" => "AWS::ApiGateway::RestApi",
                    "AWS::Serverless::HttpApi" => "AWS::ApiGatewayV2::Api",
                    "AWS::Serverless::SimpleTable" => "AWS::DynamoDB::Table",
                    "AWS::Serverless::StateMachine" => "AWS::StepFunctions::StateMachine",
                    "AWS::Serverless::LayerVersion" => "AWS::Lambda::LayerVersion",
                    "AWS::Serverless::Connector" => "AWS::IAM::Policy",
                    _ => other,
                }
                .to_string();
                if r.kind == "AWS::DynamoDB::Table" && r.prop("ProvisionedThroughput").is_none() {
                    let pos = r.pos;
                    if let Value::Map(entries) = &mut r.properties.value {
                        entries.push((key("BillingMode", pos), text(pos, "PAY_PER_REQUEST")));
                    }
                }
                if r.kind != other {
                    r.from = from;
                }
                out.push(r);
            }
        }
    }
    for i in implicit {
        if !out.iter().any(|r| r.id == i.id) {
            out.push(i);
        }
    }
    template.resources = out;
    Ok(())
}

/// The resource an event of function `function` becomes, and the implicit API it needs.
fn event_resource(
    function: &str,
    name: &str,
    event: &Node,
    pos: Pos,
) -> (Resource, Option<(&'static str, &'static str)>) {
    let ty = event.get("Type").and_then(Node::text).unwrap_or_default();
    let props = event
        .get("Properties")
        .cloned()
        .unwrap_or_else(|| map(pos, Vec::new()));
    let arn = text(pos, format!("${{{function}.Arn}}"));
    let from = Some(format!(
        "event `{name}` of AWS::Serverless::Function `{function}`"
    ));
    let id = format!("{function}{name}");
    let mut api = None;
    let (kind, properties) = match ty.as_str() {
        "SQS" | "Kinesis" | "DynamoDB" | "MSK" | "MQ" => {
            let mut p = props.clone();
            if let Value::Map(entries) = &mut p.value {
                for (k, _) in entries.iter_mut() {
                    if k.name == "Queue" || k.name == "Stream" {
                        k.name = "EventSourceArn".into();
                    }
                }
                entries.push((
                    key("FunctionName", pos),
                    text(pos, format!("${{{function}}}")),
                ));
            }
            ("AWS::Lambda::EventSourceMapping".to_string(), p)
        }
        "Api" => {
            let rest_api = match props.get("RestApiId") {
                Some(r) => r.clone(),
                None => {
                    api = Some((IMPLICIT_REST_API, "AWS::ApiGateway::RestApi"));
                    Node::new(
                        Value::Ref {
                            id: IMPLICIT_REST_API.into(),
                            attr: None,
                        },
                        pos,
                    )
                }
            };
            let mut entries = vec![
                ("RestApiId", rest_api),
                ("Integration", map(pos, vec![("Uri", arn)])),
            ];
            if let Some(m) = props.get("Method") {
                entries.push(("HttpMethod", m.clone()));
            }
            if let Some(p) = props.get("Path") {
                entries.push(("ResourcePath", p.clone()));
            }
            ("AWS::ApiGateway::Method".to_string(), map(pos, entries))
        }
        "HttpApi" => {
            let http_api = match props.get("ApiId") {
                Some(r) => r.clone(),
                None => {
                    api = Some((IMPLICIT_HTTP_API, "AWS::ApiGatewayV2::Api"));
                    Node::new(
                        Value::Ref {
                            id: IMPLICIT_HTTP_API.into(),
                            attr: None,
                        },
                        pos,
                    )
                }
            };
            (
                "AWS::ApiGatewayV2::Integration".to_string(),
                map(pos, vec![("ApiId", http_api), ("IntegrationUri", arn)]),
            )
        }
        "SNS" => (
            "AWS::SNS::Subscription".to_string(),
            map(
                pos,
                vec![
                    (
                        "TopicArn",
                        props.get("Topic").cloned().unwrap_or_else(|| text(pos, "")),
                    ),
                    ("Endpoint", arn),
                ],
            ),
        ),
        "Schedule" | "ScheduleV2" => (
            "AWS::Events::Rule".to_string(),
            map(
                pos,
                vec![
                    (
                        "ScheduleExpression",
                        props
                            .get("Schedule")
                            .or_else(|| props.get("ScheduleExpression"))
                            .cloned()
                            .unwrap_or_else(|| text(pos, "")),
                    ),
                    (
                        "Targets",
                        Node::new(Value::List(vec![map(pos, vec![("Arn", arn)])]), pos),
                    ),
                ],
            ),
        ),
        other => (format!("{other} event"), props),
    };
    (
        Resource {
            id,
            kind,
            pos: event.pos,
            properties,
            from,
        },
        api,
    )
}
