//! The component models, one file per AWS kind, and the registry that maps a scenario `kind` to
//! its model.
//!
//! Each model file owns its kind: the `Spec` (what a scenario may write, checked by serde), the
//! running state, event handling, figures and unit tests. Adding a kind means writing its file
//! and adding one line to [`registry!`] below.

pub mod account;
pub mod alb;
pub mod api_gateway;
pub mod asg;
pub mod deadlines;
pub mod dynamodb;
pub mod ec2_fleet;
pub mod forwards;
pub mod handler;
pub mod health;
pub mod instances;
pub mod lambda;
pub mod nlb;
pub mod sqs;
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
    /// A component of one of these kinds.
    Kinds(&'static [&'static str]),
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
pub trait Kind: DeserializeOwned {
    /// The scenario `kind` string.
    const KIND: &'static str;
    /// True when workloads and other components may send it requests.
    const ACCEPTS_REQUESTS: bool;

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

    /// Builds the running component.
    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String>;
}

macro_rules! registry {
    ($($variant:ident => $spec:path;)*) => {
        /// A component as the scenario describes it: one variant per kind (the registry).
        // Specs are built once per run; their size does not matter, boxing them would only add
        // noise to every match.
        #[allow(clippy::large_enum_variant)]
        #[derive(Clone, Debug)]
        pub enum ComponentSpec {
            $(
                #[doc = concat!("See [`", stringify!($spec), "`].")]
                $variant($spec),
            )*
        }

        /// Every kind a scenario may use, in registry order.
        pub const KINDS: &[&str] = &[$(<$spec as Kind>::KIND),*];

        /// Kinds that accept requests, in registry order (for messages).
        pub fn request_target_kinds() -> Vec<&'static str> {
            let mut kinds = Vec::new();
            $(
                if <$spec as Kind>::ACCEPTS_REQUESTS {
                    kinds.push(<$spec as Kind>::KIND);
                }
            )*
            kinds
        }

        impl ComponentSpec {
            /// Deserializes the spec of `kind` (already known to be in [`KINDS`]).
            pub fn deserialize_kind<'de, D: serde::Deserializer<'de>>(
                kind: &str,
                d: D,
            ) -> Result<Self, D::Error> {
                use serde::Deserialize;
                $(
                    if kind == <$spec as Kind>::KIND {
                        return <$spec>::deserialize(d).map(ComponentSpec::$variant);
                    }
                )*
                Err(serde::de::Error::custom(format!("unknown kind `{kind}`")))
            }

            /// The scenario `kind`.
            pub fn kind(&self) -> &'static str {
                match self { $(ComponentSpec::$variant(_) => <$spec as Kind>::KIND,)* }
            }

            /// See [`Kind::ACCEPTS_REQUESTS`].
            pub fn accepts_requests(&self) -> bool {
                match self { $(ComponentSpec::$variant(_) => <$spec as Kind>::ACCEPTS_REQUESTS,)* }
            }

            /// See [`Kind::references`].
            pub fn references(&self) -> Vec<Reference<'_>> {
                match self { $(ComponentSpec::$variant(s) => s.references(),)* }
            }

            /// See [`Kind::check`].
            pub fn check(&self, span: Range<usize>) -> Vec<SpecIssue> {
                match self { $(ComponentSpec::$variant(s) => s.check(span),)* }
            }

            /// See [`Kind::target_group`].
            pub fn target_group(&self) -> Option<TargetGroup> {
                match self { $(ComponentSpec::$variant(s) => s.target_group(),)* }
            }

            /// See [`Kind::build`].
            pub fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String> {
                match self { $(ComponentSpec::$variant(s) => s.build(cx),)* }
            }
        }
    };
}

registry! {
    Alb => alb::Spec;
    ApiGateway => api_gateway::Spec;
    Asg => asg::Spec;
    Dynamodb => dynamodb::Spec;
    Ec2Fleet => ec2_fleet::Spec;
    Lambda => lambda::Spec;
    Nlb => nlb::Spec;
    Sqs => sqs::Spec;
}
