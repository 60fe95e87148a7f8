//! `awsim import`: a CloudFormation or SAM template becomes a scenario that runs.
//!
//! The part that knows no kind lives here: reading YAML or JSON with positions (`tree.rs`),
//! intrinsic functions, `Parameters`, `Mappings` and `Conditions` (`template.rs`), the SAM
//! transform (`sam.rs`), the calls a function makes as its policies and environment suggest
//! (`wiring.rs`), the resource table, and the scenario text ([`Draft`], `text.rs`). Which AWS
//! resource type becomes which kind, and how its properties carry over, each kind says in its
//! own folder (`components/<kind>/cloudformation.rs`) as an [`Importer`], which the registry
//! lists; the driver here is handed that list and never names a kind.
//!
//! What a template cannot say (the load, the service times, how often each call is made) is
//! written as a plain, conservative default marked `# TODO(import): ...`, so the scenario runs
//! as it is.

pub mod ec2;
pub mod elb;
pub mod sam;
pub mod template;
pub mod text;
pub mod tree;
pub mod wiring;

use std::collections::BTreeMap;
use std::fmt;

pub use template::{Resource, Template};
pub use text::Draft;
pub use tree::{Node, Pos, Value};

/// A problem in the template, with its place.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportError {
    /// The file.
    pub file: String,
    /// Where.
    pub pos: Pos,
    /// What is wrong and what was expected.
    pub message: String,
}

impl ImportError {
    /// An error at `pos` of `file`.
    pub fn at(file: &str, pos: Pos, message: String) -> ImportError {
        ImportError {
            file: file.to_string(),
            pos,
            message,
        }
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.pos, self.message)
    }
}

impl std::error::Error for ImportError {}

/// How one kind imports resources (declared in its folder, listed by the registry).
#[derive(Copy, Clone)]
pub struct Importer {
    /// The kind it writes.
    pub kind: &'static str,
    /// Whether components of the kind accept requests (a workload may drive one nobody calls).
    pub accepts_requests: bool,
    /// The resource types each of which becomes one component of this kind.
    pub resource_types: &'static [&'static str],
    /// Whether a resource of those types is this kind's (a type two kinds share).
    pub claims: fn(&Resource) -> bool,
    /// Writes the component of one resource into `draft`.
    pub map: fn(&Resource, &Cx<'_>, &mut Draft) -> Result<(), ImportError>,
}

/// What a mapper sees: the whole template and the component each resource became.
pub struct Cx<'a> {
    /// The resolved template.
    pub template: &'a Template,
    /// Each mapped resource's component: logical id → (component name, kind).
    pub components: &'a BTreeMap<String, (String, &'static str)>,
}

impl Cx<'_> {
    /// The component a node refers to (`!Ref X`, `!GetAtt X.Arn`, `${X.Arn}` in a string), if
    /// X became one: (logical id, component name, kind).
    pub fn component_of(&self, node: &Node) -> Option<(&str, &str, &'static str)> {
        let id = wiring::referenced_id(node, self.components)?;
        let (id, (name, kind)) = self.components.get_key_value(id.as_str())?;
        Some((id.as_str(), name.as_str(), *kind))
    }

    /// The resources of `kind` whose property `field` refers to `target`.
    pub fn referring<'r>(
        &'r self,
        kind: &'r str,
        field: &'r str,
        target: &'r str,
    ) -> impl Iterator<Item = &'r Resource> + 'r {
        self.template.of_type(kind).filter(move |r| {
            r.prop(field)
                .and_then(|n| {
                    wiring::referenced_id(n, self.components)
                        .or_else(|| wiring::any_id(n, self.template))
                })
                .is_some_and(|id| id == target)
        })
    }

    /// The event source mappings that read `source` (a stream or a table's stream) into a
    /// function the import maps, each with that function's component name.
    pub fn stream_mappings<'r>(
        &'r self,
        source: &'r str,
    ) -> impl Iterator<Item = (&'r Resource, &'r str)> + 'r {
        self.referring("AWS::Lambda::EventSourceMapping", "EventSourceArn", source)
            .filter_map(|m| {
                m.prop("FunctionName")
                    .and_then(|n| self.component_of(n))
                    .map(|f| (m, f.1))
            })
    }

    /// Property `name` of `r` as a number, located error if it is something else.
    pub fn number(&self, r: &Resource, name: &str) -> Result<Option<f64>, ImportError> {
        number_at(&self.template.file, r.prop(name), name)
    }

    /// A number inside `node` at `name`.
    pub fn number_in(&self, node: Option<&Node>, name: &str) -> Result<Option<f64>, ImportError> {
        number_at(&self.template.file, node.and_then(|n| n.get(name)), name)
    }

    /// A number inside `node` at `name` that may be negative (a scaling adjustment, a step
    /// bound), located error if it is something else.
    pub fn number_signed(&self, node: &Node, name: &str) -> Result<Option<f64>, ImportError> {
        match node.get(name) {
            None => Ok(None),
            Some(n) => match n.number() {
                Some(v) if v.is_finite() => Ok(Some(v)),
                _ => Err(self.error(
                    n.pos,
                    format!("`{name}` must be a number, not {}", describe(n)),
                )),
            },
        }
    }

    /// An error at `node`'s place.
    pub fn error(&self, pos: Pos, message: String) -> ImportError {
        ImportError::at(&self.template.file, pos, message)
    }
}

fn number_at(file: &str, node: Option<&Node>, name: &str) -> Result<Option<f64>, ImportError> {
    match node {
        None => Ok(None),
        Some(n) => match n.number() {
            Some(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
            _ => Err(ImportError::at(
                file,
                n.pos,
                format!("`{name}` must be a number, not {}", describe(n)),
            )),
        },
    }
}

/// How a message names a value.
fn describe(n: &Node) -> String {
    match &n.value {
        Value::Str(s) => format!("\"{s}\""),
        Value::Ref { id, .. } => format!("a reference to `{id}`"),
        Value::List(_) => "a list".into(),
        Value::Map(_) => "a mapping".into(),
        other => format!("{other:?}"),
    }
}

/// What happened to one resource.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// It became a component.
    Mapped {
        /// The component's kind.
        kind: &'static str,
        /// The component's name.
        name: String,
    },
    /// A component's mapper folded it into that component (a listener, an event source
    /// mapping, a scaling policy...).
    Into {
        /// The component's name.
        name: String,
    },
    /// It does not change performance (IAM, security groups, VPC, log groups...).
    Skipped(String),
    /// awsim does not import it (with the reason).
    Unsupported(String),
}

/// One row of the resource table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Logical id.
    pub id: String,
    /// Resource type (the SAM type it came from in brackets).
    pub kind: String,
    /// What became of it.
    pub outcome: Outcome,
}

/// An import's result: the scenario text and the table of resources.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The scenario, TOML.
    pub scenario: String,
    /// Every resource of the template (after the SAM transform), in order.
    pub table: Vec<Row>,
}

/// Resource types that do not change performance, by prefix or exact name, with the reason.
const IRRELEVANT: &[(&str, &str)] = &[
    ("AWS::IAM::", "permissions"),
    ("AWS::EC2::SecurityGroup", "network security"),
    ("AWS::EC2::VPC", "network layout"),
    ("AWS::EC2::Subnet", "network layout"),
    ("AWS::EC2::RouteTable", "network layout"),
    ("AWS::EC2::Route", "network layout"),
    ("AWS::EC2::InternetGateway", "network layout"),
    ("AWS::EC2::NatGateway", "network layout"),
    ("AWS::EC2::EIP", "network layout"),
    ("AWS::EC2::VPCGatewayAttachment", "network layout"),
    ("AWS::EC2::VPCEndpoint", "network layout"),
    ("AWS::EC2::NetworkAcl", "network security"),
    ("AWS::EC2::KeyPair", "access"),
    ("AWS::Logs::", "logging"),
    ("AWS::Lambda::Permission", "permissions"),
    ("AWS::Lambda::LayerVersion", "code packaging"),
    ("AWS::SQS::QueuePolicy", "permissions"),
    ("AWS::SNS::TopicPolicy", "permissions"),
    ("AWS::S3::BucketPolicy", "permissions"),
    ("AWS::KMS::", "encryption keys"),
    ("AWS::SecretsManager::", "configuration"),
    ("AWS::SSM::Parameter", "configuration"),
    ("AWS::CloudFormation::", "stack machinery"),
    ("AWS::CDK::Metadata", "stack machinery"),
    ("AWS::ApiGateway::Account", "logging"),
    ("AWS::ApiGateway::Deployment", "deployment machinery"),
    (
        "AWS::ApiGateway::Resource",
        "routing: its methods are read with their API",
    ),
    ("AWS::ApiGatewayV2::Stage", "deployment machinery"),
    ("AWS::ApiGatewayV2::Deployment", "deployment machinery"),
    ("AWS::CloudWatch::Dashboard", "monitoring"),
    (
        "AWS::CloudWatch::Alarm",
        "monitoring: it triggers no scaling policy of a mapped group",
    ),
    ("AWS::ApiGateway::Model", "request validation"),
    ("AWS::ApiGateway::RequestValidator", "request validation"),
    ("AWS::ApiGateway::Authorizer", "authorisation"),
    (
        "AWS::Events::Rule",
        "read as a workload when it schedules a function",
    ),
    (
        "AWS::Scheduler::Schedule",
        "read as a workload when it schedules a function",
    ),
];

/// Why awsim cannot model a resource type that matters to performance.
fn unsupported_reason(kind: &str) -> String {
    match kind {
        "AWS::Lambda::EventSourceMapping" => {
            return "its event source is not imported (SQS queues, Kinesis streams and DynamoDB streams are)".into();
        }
        "AWS::ElasticLoadBalancingV2::Listener"
        | "AWS::ElasticLoadBalancingV2::ListenerRule"
        | "AWS::ElasticLoadBalancingV2::TargetGroup" => {
            return "its load balancer is not imported (see the load balancer's row)".into();
        }
        "AWS::SNS::Subscription" => {
            return "its topic is not imported, or its endpoint is outside the template".into();
        }
        "AWS::AutoScaling::ScalingPolicy" | "AWS::AutoScaling::ScheduledAction" => {
            return "its Auto Scaling group is not imported".into();
        }
        "AWS::EC2::LaunchTemplate" | "AWS::AutoScaling::LaunchConfiguration" => {
            return "no imported group or instance launches from it".into();
        }
        "AWS::ApiGateway::Method"
        | "AWS::ApiGatewayV2::Route"
        | "AWS::ApiGatewayV2::Integration" => {
            return "its API is not imported (it invokes no function of the template)".into();
        }
        _ => {}
    }
    if !kind.contains("::") {
        return format!("awsim does not import {kind}s yet");
    }
    // Not "no model of the service": several services awsim models have resource types it does
    // not import yet (`AWS::Lambda::Version`, Step Functions, RDS...).
    format!("awsim does not import `{kind}` yet")
}

/// Imports `text` (the template read from `file`) with `overrides` of its parameters, mapping
/// resources with `importers` (the registry's list).
pub fn import(
    file: &str,
    text: &str,
    overrides: &[(String, String)],
    importers: &[Importer],
) -> Result<Imported, ImportError> {
    let root = tree::parse(file, text)?;
    let (mut template, globals) = template::resolve(file, &root, overrides)?;
    sam::expand(&mut template, globals.as_ref(), &root)?;

    // Which component each resource becomes, before any mapper runs, so wiring can name it.
    let mut components: BTreeMap<String, (String, &'static str)> = BTreeMap::new();
    for r in &template.resources {
        if let Some(imp) = importer_of(importers, r) {
            components.insert(r.id.clone(), (text::component_name(&r.id), imp.kind));
        }
    }
    // A resource whose mapper drops it (a topic nobody in the template subscribes to) is no
    // component after all: the others are mapped again without it, so that nothing names it.
    let mut dropped: BTreeMap<String, String> = BTreeMap::new();
    let drafts = loop {
        let cx = Cx {
            template: &template,
            components: &components,
        };
        let mut drafts = Vec::new();
        let mut newly_dropped = Vec::new();
        for r in &template.resources {
            if dropped.contains_key(&r.id) {
                continue;
            }
            if let Some(imp) = importer_of(importers, r) {
                let mut draft = Draft::new(&components[&r.id].0, imp.kind, imp.accepts_requests, r);
                (imp.map)(r, &cx, &mut draft)?;
                match draft.dropped.take() {
                    Some(why) => newly_dropped.push((r.id.clone(), why)),
                    None => drafts.push(draft),
                }
            }
        }
        if newly_dropped.is_empty() {
            break drafts;
        }
        for (id, why) in newly_dropped {
            components.remove(&id);
            dropped.insert(id, why);
        }
    };

    let mut table = Vec::new();
    for r in &template.resources {
        let kind = match &r.from {
            Some(from) => format!("{} ({from})", r.kind),
            None => r.kind.clone(),
        };
        let outcome = if let Some(why) = dropped.get(&r.id) {
            Outcome::Unsupported(why.clone())
        } else if let Some((name, k)) = components.get(&r.id) {
            Outcome::Mapped {
                kind: k,
                name: name.clone(),
            }
        } else if let Some(d) = drafts.iter().find(|d| d.absorbed.contains(&r.id)) {
            Outcome::Into {
                name: d.name.clone(),
            }
        } else if let Some((_, why)) = IRRELEVANT.iter().find(|(p, _)| r.kind.starts_with(p)) {
            Outcome::Skipped((*why).to_string())
        } else if let Some(d) = drafts
            .iter()
            .find_map(|d| d.unsupported.iter().find(|(id, _)| *id == r.id))
        {
            Outcome::Unsupported(d.1.clone())
        } else {
            Outcome::Unsupported(unsupported_reason(&r.kind))
        };
        table.push(Row {
            id: r.id.clone(),
            kind,
            outcome,
        });
    }
    for (id, kind, cond) in &template.omitted {
        table.push(Row {
            id: id.clone(),
            kind: kind.clone(),
            outcome: Outcome::Skipped(format!("its condition `{cond}` is false")),
        });
    }
    let workloads = wiring::workloads(&template, &drafts, &components);
    let scenario = text::scenario(&template, &drafts, &workloads, &table);
    Ok(Imported { scenario, table })
}

/// The importer that maps `r`: the first that lists its type and claims it.
fn importer_of<'i>(importers: &'i [Importer], r: &Resource) -> Option<&'i Importer> {
    importers
        .iter()
        .find(|i| i.resource_types.contains(&r.kind.as_str()) && (i.claims)(r))
}

/// The table as the command prints it.
pub fn table_text(rows: &[Row]) -> String {
    let width = rows.iter().map(|r| r.id.len()).max().unwrap_or(0).max(8);
    let type_width = rows.iter().map(|r| r.kind.len()).max().unwrap_or(0).max(4);
    let mut out = format!("{:width$}  {:type_width$}  outcome\n", "resource", "type");
    for r in rows {
        let outcome = match &r.outcome {
            Outcome::Mapped { kind, name } => format!("mapped: {kind} `{name}`"),
            Outcome::Into { name } => format!("mapped into `{name}`"),
            Outcome::Skipped(why) => format!("skipped: {why}"),
            Outcome::Unsupported(why) => format!("unsupported: {why}"),
        };
        out.push_str(&format!(
            "{:width$}  {:type_width$}  {outcome}\n",
            r.id, r.kind
        ));
    }
    out
}
