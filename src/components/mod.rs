//! The component models, one folder per AWS kind, the parts they share, and the registry that
//! maps a scenario `kind` to its model.
//!
//! A kind is the only door to itself: its folder owns its `Spec` (what a scenario may write,
//! checked by serde) and what the rest of the program needs to know about it — [`Kind`]
//! (validation, wiring, roles, faults, AZ placement, build) and [`outputs::Outputs`]
//! (time-series columns, plots, notes, findings, sweep figures, billed usage) — with the
//! running model, its timers and its unit tests. Nothing outside `components/` names a kind:
//! the loader, outputs, sweeps and faults ask the registry. Adding a kind means writing its
//! folder and adding one line to `registry!` below; ARCHITECTURE.md at the top of the
//! repository walks through it with `echo/`, a test-only kind.

pub mod account;
pub mod alb;
pub mod api_gateway;
pub mod asg;
pub mod burst_credits;
pub mod capacity_units;
pub mod cloudfront;
pub mod deadlines;
pub mod deployment;
pub mod dynamodb;
pub mod ec2_fleet;
#[cfg(test)]
pub mod echo;
pub mod elasticache;
pub mod forwards;
pub mod handler;
pub mod health;
pub mod injected;
pub mod instance_billing;
pub mod instances;
pub mod kinesis;
pub mod lambda;
pub mod nlb;
pub mod outputs;
pub mod rds;
pub mod rds_proxy;
pub mod route53;
pub mod sns;
pub mod sqs;
pub mod step_functions;
pub mod stream_mapping;
pub mod target_order;
pub mod token_bucket;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml::Spanned;

use crate::engine::ComponentId;
use crate::engine::time::SimTime;
use crate::metrics::Observe;

/// What a name in a spec must refer to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Expects {
    /// Any component that accepts requests.
    RequestTarget,
    /// A component of this one kind (a queue's dead-letter queue is a queue).
    Kind(&'static str),
    /// A component of any kind with this role ([`Kind::ROLES`]).
    Role(Role),
}

/// A part a kind can play in another component's wiring, besides receiving requests.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// A load balancer's `targets`: instances that register with it.
    LoadBalancerTarget,
    /// A queue's `consumer` (see [`QueueConsumer`]).
    QueueConsumer,
}

/// The roles a kind can play ([`Role`]), and the faults it can suffer.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Roles {
    /// Load balancers can route to its instances.
    pub load_balancer_target: bool,
    /// A queue can name it as its consumer.
    pub queue_consumer: bool,
    /// Its instances fail and are replaced (`instance_failure` faults).
    pub instance_failure: bool,
    /// Its service time and answers can be tampered with (`latency_injection`,
    /// `error_injection` faults).
    pub fault_injection: bool,
    /// Its instances live in availability zones and go down with one (`az_outage` faults).
    pub az_placement: bool,
}

impl Roles {
    /// No role beyond receiving requests, no fault.
    pub const NONE: Roles = Roles {
        load_balancer_target: false,
        queue_consumer: false,
        instance_failure: false,
        fault_injection: false,
        az_placement: false,
    };

    /// A group of EC2 instances (`ec2_fleet`, `asg`): load balancers route to it, it polls
    /// queues, its instances fail, can be slowed or made to fail, and live in AZs.
    pub const INSTANCE_GROUP: Roles = Roles {
        load_balancer_target: true,
        queue_consumer: true,
        instance_failure: true,
        fault_injection: true,
        az_placement: true,
    };

    /// Whether the kind plays `role`.
    pub fn has(self, role: Role) -> bool {
        match role {
            Role::LoadBalancerTarget => self.load_balancer_target,
            Role::QueueConsumer => self.queue_consumer,
        }
    }
}

/// A name a spec refers to, for the loader to resolve and check.
#[derive(Clone, Debug)]
pub struct Reference<'a> {
    /// The field, as a path inside the component (`targets`, `handler[1].call`).
    pub field: String,
    /// The name, with its place in the file.
    pub name: &'a Spanned<String>,
    /// What it must be.
    pub expects: Expects,
    /// True when the referrer waits for the answer (the edges of the synchronous call graph,
    /// which must have no cycle).
    pub synchronous: bool,
}

/// A problem found in one spec after parsing, with the span it concerns.
#[derive(Clone, Debug)]
pub struct SpecIssue {
    /// The field (path inside the component).
    pub field: String,
    /// What is wrong and what was expected.
    pub message: String,
    /// Where, in bytes of the scenario text.
    pub span: Range<usize>,
}

impl SpecIssue {
    /// The issue of `field` when `value` is above `limit` (one of `units::limits`), at the
    /// value's place.
    pub fn above_limit<T: PartialOrd + std::fmt::Display + Copy>(
        field: &str,
        value: &Spanned<T>,
        limit: crate::units::limits::Limit<T>,
    ) -> Option<SpecIssue> {
        let message = limit.check(*value.get_ref()).err()?;
        Some(SpecIssue {
            field: field.into(),
            message,
            span: value.span(),
        })
    }
}

/// How a kind reads an `sqs` queue that names it as its `consumer`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum QueueConsumer {
    /// An event source mapping invokes it with batches of messages.
    Function,
    /// Its instances register with the queue and each runs pollers that receive and delete.
    Pollers {
        /// Pollers per instance when the queue does not set `pollers` (the instance's vCPUs).
        per_instance: u32,
    },
}

/// What a load balancer knows of the instances it routes to before they register.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TargetGroup {
    /// Requests one instance can hold (serving plus queued) before it refuses; `None` if
    /// unbounded.
    pub capacity_per_instance: Option<u32>,
}

/// What the builder of one component can see: the names and ids of everything, the specs of
/// the components it refers to, and the run's settings.
pub struct BuildContext<'a> {
    /// The component's own name.
    pub name: &'a str,
    /// Every workload and component, by name.
    pub ids: &'a BTreeMap<String, ComponentId>,
    /// Every component's spec, by name.
    pub specs: &'a BTreeMap<String, &'a ComponentSpec>,
    /// End of the warm-up.
    pub warmup_end: SimTime,
    /// Directory that relative file names in the scenario start from.
    pub base_dir: &'a Path,
    /// The account's limits shared by several components (Lambda concurrency, API Gateway
    /// throttling).
    pub account: &'a account::Account,
    /// The region: availability zones and network latency.
    pub region: &'a crate::region::Region,
    /// The price list the run bills with (the embedded one, or the scenario's `[pricing]
    /// file`, or `--prices`).
    pub prices: &'a crate::defaults::Prices,
}

impl BuildContext<'_> {
    /// The components whose `field` names this component (e.g. the load balancers whose
    /// `targets` is this group), in name order.
    pub fn referrers(&self, field: &str) -> Vec<ComponentId> {
        self.specs
            .iter()
            .filter(|(_, spec)| {
                spec.references()
                    .iter()
                    .any(|r| r.field == field && r.name.get_ref() == self.name)
            })
            .map(|(name, _)| self.id(name))
            .collect()
    }

    /// The id of a name the loader has already resolved.
    pub fn id(&self, name: &str) -> ComponentId {
        *self
            .ids
            .get(name)
            .expect("the loader resolves every reference before building")
    }
}

/// What every component spec tells the loader about itself.
pub trait Kind: DeserializeOwned + schemars::JsonSchema {
    /// The scenario `kind` string.
    const KIND: &'static str;
    /// True when workloads and other components may send it requests.
    const ACCEPTS_REQUESTS: bool;
    /// What it models, in one line (`awsim kinds`; README's first line under the kind's
    /// heading says the same, checked by a test).
    const SUMMARY: &'static str;
    /// The AWS behaviour it follows (`awsim kinds KIND`; README's "Models" table).
    const FOLLOWS: &'static str;
    /// What it simplifies (`awsim kinds KIND`; README's "Models" table).
    const SIMPLIFIES: &'static str;

    /// The names this spec refers to.
    fn references(&self) -> Vec<Reference<'_>>;

    /// Checks that need more than one field; spans locate the problems.
    fn check(&self, _component_span: Range<usize>) -> Vec<SpecIssue> {
        Vec::new()
    }

    /// The instances behind it, if a load balancer can route to it.
    fn target_group(&self) -> Option<TargetGroup> {
        None
    }

    /// How it reads a queue that names it as its consumer; `None` if it cannot (it then has
    /// no [`Roles::queue_consumer`]).
    fn queue_consumer(&self) -> Option<QueueConsumer> {
        None
    }

    /// The roles it can play in others' wiring and the faults it can suffer.
    const ROLES: Roles = Roles::NONE;

    /// A layer-4 load balancer sees its clients' connections end to end: workloads sending
    /// to it tell it when a connection closes.
    const SEES_CONNECTIONS: bool = false;

    /// True when it writes its kind's [`outputs::Outputs::OPTIONAL_COLUMNS`] (a group of
    /// burstable instances, its CPU credits).
    fn writes_optional_columns(&self) -> bool {
        false
    }

    /// Its own `azs` list, for a kind placed in availability zones ([`Roles::az_placement`]).
    fn azs(&self) -> Option<&Spanned<Vec<Spanned<String>>>> {
        None
    }

    /// Why a workload sending items of `item_kb` KB to it (named `name`) is wrong, if it is
    /// (a table's item size limit).
    fn item_kb_issue(&self, _name: &str, _item_kb: f64) -> Option<String> {
        None
    }

    /// Builds the running component.
    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String>;

    /// The CloudFormation resource types `awsim import` turns into a component of this kind,
    /// one each (its folder's `cloudformation.rs`).
    const CLOUDFORMATION_TYPES: &'static [&'static str] = &[];

    /// Whether a resource of those types becomes a component of this kind: a type two kinds
    /// share (`AWS::ElasticLoadBalancingV2::LoadBalancer`, an `alb` or an `nlb` by its `Type`)
    /// goes to the first kind that claims it.
    fn claims(_resource: &crate::import::Resource) -> bool {
        true
    }

    /// Writes the component of one resource of those types: the properties that change
    /// behaviour, conservative `TODO(import)` defaults for what the template cannot say.
    fn import(
        _resource: &crate::import::Resource,
        _cx: &crate::import::Cx<'_>,
        _draft: &mut crate::import::Draft,
    ) -> Result<(), crate::import::ImportError> {
        Ok(())
    }
}

/// "a" or "an" before `word`.
pub fn article(word: &str) -> &'static str {
    match word.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
}

/// Kinds as a message names them: "an alb or an ec2_fleet".
pub fn kinds_phrase(kinds: &[&str]) -> String {
    let parts: Vec<String> = kinds
        .iter()
        .map(|k| format!("{} {k}", article(k)))
        .collect();
    match parts.len() {
        0 => "nothing".into(),
        1 => parts[0].clone(),
        n => format!("{} or {}", parts[..n - 1].join(", "), parts[n - 1]),
    }
}

/// What a kind declares about itself: its [`Kind`] texts and its [`outputs::Outputs`] figures.
#[derive(Copy, Clone, Debug)]
pub struct KindDescription {
    /// See [`Kind::KIND`].
    pub kind: &'static str,
    /// See [`Kind::SUMMARY`].
    pub summary: &'static str,
    /// See [`Kind::FOLLOWS`].
    pub follows: &'static str,
    /// See [`Kind::SIMPLIFIES`].
    pub simplifies: &'static str,
    /// See [`Kind::ACCEPTS_REQUESTS`].
    pub accepts_requests: bool,
    /// Its own time-series columns (see [`outputs::Outputs::COLUMNS`]).
    pub columns: &'static [crate::metrics::Column],
    /// Its columns written only by some of its components (see
    /// [`outputs::Outputs::OPTIONAL_COLUMNS`]).
    pub optional_columns: &'static [crate::metrics::Column],
    /// The figures a sweep tabulates (see [`outputs::Outputs::HEADLINE_FIGURES`]).
    pub headline_figures: &'static [&'static str],
}

/// Which kinds' columns a run's `timeseries.csv` has
/// ([`crate::scenario::Scenario::series_kinds`]).
#[derive(Clone, Debug, Default)]
pub struct SeriesKinds {
    /// The kinds of its components, each once, in the order they first appear.
    pub kinds: Vec<&'static str>,
    /// Those of them with a component that writes the kind's optional columns
    /// ([`Kind::writes_optional_columns`]).
    pub with_optional: Vec<&'static str>,
}

macro_rules! registry {
    ($($(#[$attr:meta])* $variant:ident => $spec:path;)*) => {
        /// A component as the scenario describes it: one variant per kind (the registry).
        // Specs are built once per run; their size does not matter, boxing them would only add
        // noise to every match.
        #[allow(clippy::large_enum_variant)]
        #[derive(Clone, Debug)]
        pub enum ComponentSpec {
            $(
                #[doc = concat!("See [`", stringify!($spec), "`].")]
                $(#[$attr])*
                $variant($spec),
            )*
        }

        /// Every kind in registry order (the order of their time-series columns).
        // Pushes, not `vec![...]`: a kind's line may carry a `cfg`.
        #[allow(clippy::vec_init_then_push)]
        fn registry() -> Vec<&'static str> {
            let mut kinds = Vec::new();
            $(
                $(#[$attr])*
                kinds.push(<$spec as Kind>::KIND);
            )*
            kinds
        }

        /// How `awsim import` maps resources to each kind that imports some, in registry
        /// order.
        pub fn importers() -> Vec<crate::import::Importer> {
            let mut importers = Vec::new();
            $(
                $(#[$attr])*
                if !<$spec as Kind>::CLOUDFORMATION_TYPES.is_empty() {
                    importers.push(crate::import::Importer {
                        kind: <$spec as Kind>::KIND,
                        accepts_requests: <$spec as Kind>::ACCEPTS_REQUESTS,
                        resource_types: <$spec as Kind>::CLOUDFORMATION_TYPES,
                        claims: <$spec as Kind>::claims,
                        map: <$spec as Kind>::import,
                    });
                }
            )*
            importers
        }

        /// Each kind's name and the JSON Schema of its own keys (its spec), in registry order.
        #[allow(clippy::vec_init_then_push)]
        pub fn spec_schemas(
            generator: &mut schemars::SchemaGenerator,
        ) -> Vec<(&'static str, schemars::Schema)> {
            let mut schemas = Vec::new();
            $(
                $(#[$attr])*
                schemas.push((
                    <$spec as Kind>::KIND,
                    <$spec as schemars::JsonSchema>::json_schema(generator),
                ));
            )*
            schemas
        }

        /// What each kind declares about itself, in alphabetical order (`awsim kinds`).
        #[allow(clippy::vec_init_then_push)]
        pub fn kind_descriptions() -> Vec<KindDescription> {
            let mut kinds = Vec::new();
            $(
                $(#[$attr])*
                kinds.push(KindDescription {
                    kind: <$spec as Kind>::KIND,
                    summary: <$spec as Kind>::SUMMARY,
                    follows: <$spec as Kind>::FOLLOWS,
                    simplifies: <$spec as Kind>::SIMPLIFIES,
                    accepts_requests: <$spec as Kind>::ACCEPTS_REQUESTS,
                    columns: <$spec as outputs::Outputs>::COLUMNS,
                    optional_columns: <$spec as outputs::Outputs>::OPTIONAL_COLUMNS,
                    headline_figures: <$spec as outputs::Outputs>::HEADLINE_FIGURES,
                });
            )*
            kinds.sort_by_key(|k| k.kind);
            kinds
        }

        /// Every kind a scenario may use, in alphabetical order (for messages).
        pub fn kind_names() -> Vec<&'static str> {
            let mut kinds = registry();
            kinds.sort_unstable();
            kinds
        }

        /// Kinds that accept requests, in alphabetical order (for messages).
        pub fn request_target_kinds() -> Vec<&'static str> {
            let mut kinds = Vec::new();
            $(
                $(#[$attr])*
                if <$spec as Kind>::ACCEPTS_REQUESTS {
                    kinds.push(<$spec as Kind>::KIND);
                }
            )*
            kinds.sort_unstable();
            kinds
        }

        /// The own time-series columns of the kinds in `kinds`, each kind's in its order
        /// ([`outputs::Outputs::COLUMNS`], then its optional ones when a component writes them),
        /// kinds in registry order; a name two kinds share appears once (it must mean the same
        /// for both). A run's `timeseries.csv` has the columns of the kinds it has, so a kind
        /// added to awsim changes no other scenario's file.
        pub fn series_columns(kinds: &SeriesKinds) -> Vec<&'static str> {
            let mut columns: Vec<&'static str> = Vec::new();
            $(
                $(#[$attr])*
                if kinds.kinds.contains(&<$spec as Kind>::KIND) {
                    let optional = if kinds.with_optional.contains(&<$spec as Kind>::KIND) {
                        <$spec as outputs::Outputs>::OPTIONAL_COLUMNS
                    } else {
                        &[]
                    };
                    for c in <$spec as outputs::Outputs>::COLUMNS.iter().chain(optional) {
                        if !columns.contains(&c.name) {
                            columns.push(c.name);
                        }
                    }
                }
            )*
            columns
        }

        /// Kinds whose [`Roles`] pass `has`, in alphabetical order (for messages).
        pub fn kinds_where(has: impl Fn(Roles) -> bool) -> Vec<&'static str> {
            let mut kinds = Vec::new();
            $(
                $(#[$attr])*
                if has(<$spec as Kind>::ROLES) {
                    kinds.push(<$spec as Kind>::KIND);
                }
            )*
            kinds.sort_unstable();
            kinds
        }

        /// What the kind named `kind` contributes to outputs (see [`outputs::Outputs`]);
        /// `None` for a name that is no kind (a workload).
        pub fn kind_outputs(kind: &str) -> Option<outputs::KindOutputs> {
            $(
                $(#[$attr])*
                if kind == <$spec as Kind>::KIND {
                    return Some(outputs::KindOutputs::of::<$spec>());
                }
            )*
            None
        }

        impl ComponentSpec {
            /// Deserializes the spec of `kind` (already known to be in [`kind_names`]).
            pub fn deserialize_kind<'de, D: serde::Deserializer<'de>>(
                kind: &str,
                d: D,
            ) -> Result<Self, D::Error> {
                use serde::Deserialize;
                $(
                    $(#[$attr])*
                    if kind == <$spec as Kind>::KIND {
                        return <$spec>::deserialize(d).map(ComponentSpec::$variant);
                    }
                )*
                Err(serde::de::Error::custom(format!("unknown kind `{kind}`")))
            }

            /// The scenario `kind`.
            pub fn kind(&self) -> &'static str {
                match self { $($(#[$attr])* ComponentSpec::$variant(_) => <$spec as Kind>::KIND,)* }
            }

            /// See [`Kind::ACCEPTS_REQUESTS`].
            pub fn accepts_requests(&self) -> bool {
                match self { $($(#[$attr])* ComponentSpec::$variant(_) => <$spec as Kind>::ACCEPTS_REQUESTS,)* }
            }

            /// See [`Kind::references`].
            pub fn references(&self) -> Vec<Reference<'_>> {
                match self { $($(#[$attr])* ComponentSpec::$variant(s) => s.references(),)* }
            }

            /// See [`Kind::check`].
            pub fn check(&self, span: Range<usize>) -> Vec<SpecIssue> {
                match self { $($(#[$attr])* ComponentSpec::$variant(s) => s.check(span),)* }
            }

            /// See [`Kind::target_group`].
            pub fn target_group(&self) -> Option<TargetGroup> {
                match self { $($(#[$attr])* ComponentSpec::$variant(s) => s.target_group(),)* }
            }

            /// See [`Kind::queue_consumer`].
            pub fn queue_consumer(&self) -> Option<QueueConsumer> {
                match self { $($(#[$attr])* ComponentSpec::$variant(s) => s.queue_consumer(),)* }
            }

            /// See [`Kind::ROLES`].
            pub fn roles(&self) -> Roles {
                match self { $($(#[$attr])* ComponentSpec::$variant(_) => <$spec as Kind>::ROLES,)* }
            }

            /// See [`Kind::SEES_CONNECTIONS`].
            pub fn sees_connections(&self) -> bool {
                match self { $($(#[$attr])* ComponentSpec::$variant(_) => <$spec as Kind>::SEES_CONNECTIONS,)* }
            }

            /// See [`Kind::writes_optional_columns`].
            pub fn writes_optional_columns(&self) -> bool {
                match self { $($(#[$attr])* ComponentSpec::$variant(s) => s.writes_optional_columns(),)* }
            }

            /// See [`Kind::azs`].
            pub fn azs(&self) -> Option<&Spanned<Vec<Spanned<String>>>> {
                match self { $($(#[$attr])* ComponentSpec::$variant(s) => s.azs(),)* }
            }

            /// See [`Kind::item_kb_issue`].
            pub fn item_kb_issue(&self, name: &str, item_kb: f64) -> Option<String> {
                match self { $($(#[$attr])* ComponentSpec::$variant(s) => s.item_kb_issue(name, item_kb),)* }
            }

            /// See [`Kind::build`].
            pub fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String> {
                match self { $($(#[$attr])* ComponentSpec::$variant(s) => s.build(cx),)* }
            }
        }
    };
}

// The order of registration: a new kind goes at the end, and its time-series columns come
// after the others' (messages list kinds alphabetically, whatever this order).
registry! {
    Asg => asg::Spec;
    Lambda => lambda::Spec;
    Sqs => sqs::Spec;
    Dynamodb => dynamodb::Spec;
    ApiGateway => api_gateway::Spec;
    Alb => alb::Spec;
    Ec2Fleet => ec2_fleet::Spec;
    Nlb => nlb::Spec;
    Kinesis => kinesis::Spec;
    Sns => sns::Spec;
    StepFunctions => step_functions::Spec;
    Cloudfront => cloudfront::Spec;
    Route53 => route53::Spec;
    Rds => rds::Spec;
    Elasticache => elasticache::Spec;
    RdsProxy => rds_proxy::Spec;
    // The worked example of ARCHITECTURE.md, in test builds only.
    #[cfg(test)]
    Echo => echo::Spec;
}
