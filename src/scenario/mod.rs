//! Scenario files: raw TOML → validated [`Scenario`] → [`Simulation`].
//!
//! Loading has two phases, as ripgrep's low/high-level arguments do. Parsing turns the text into
//! typed specs with serde; every spec is `deny_unknown_fields` and every value type checks its
//! own range, so the TOML parser can point at the exact key or value. Validation then checks
//! what needs the whole file: unique names, references that resolve to the right kind of
//! component, no cycle of synchronous calls, a warm-up shorter than the run. Only a scenario that
//! passes both becomes a [`Simulation`]; nothing runs before.
//!
//! Every problem becomes a [`Diagnostic`] naming file, line and column, the field, what was
//! expected and, for a misspelt name, the nearest valid one.

mod bounds;
mod diagnostic;
pub mod schema;
mod settings;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

pub use diagnostic::{Diagnostic, ScenarioError};

use crate::components::account::{Account, AccountSpec};
use crate::components::{self, BuildContext, ComponentSpec, Expects};
use crate::defaults::PriceList;
use crate::engine::rng;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{ComponentId, Simulation};
use crate::faults::FaultSpec;
use crate::message::Msg;
use crate::metrics::Observe;
use crate::region::{Region, RegionSpec};
use crate::units::{PositiveDuration, did_you_mean};
use crate::workload::record::SharedRecorder;
use crate::workload::{ArrivalSpec, Workload, WorkloadSpec};

/// The `[simulation]` table.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulationSpec {
    /// A name for outputs (default: the file name without extension); one plain path
    /// component ([`crate::files::name_issue`]).
    #[schemars(with = "Option<String>")]
    pub name: Option<Spanned<String>>,
    /// Simulated time to run.
    #[schemars(with = "PositiveDuration")]
    pub duration: Spanned<PositiveDuration>,
    /// Simulated time excluded from statistics at the start (default 0).
    #[schemars(with = "Option<SimDuration>")]
    pub warmup: Option<Spanned<SimDuration>>,
    /// Seed of every random stream (default 1; `--seed` overrides).
    pub seed: Option<u64>,
    /// Time-series interval (default 1 s; `--interval` overrides).
    pub interval: Option<PositiveDuration>,
}

/// The top level of a scenario file (components are parsed separately, kind by kind).
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "awsim scenario")]
struct RawScenario {
    /// How long to simulate, from which seed, and how often to sample the time series.
    simulation: SimulationSpec,
    /// Account-wide quotas shared by components (Lambda concurrency, API Gateway throttling).
    #[serde(default)]
    account: AccountSpec,
    /// The load: each workload sends requests to one component.
    #[serde(default)]
    workload: Vec<WorkloadSpec>,
    /// The architecture: each component has a `name`, a `kind` and the kind's own keys.
    #[serde(default)]
    #[allow(dead_code)]
    #[schemars(with = "schema::ComponentTables")]
    component: serde::de::IgnoredAny,
    /// Availability zones and network latency.
    region: Option<RegionSpec>,
    /// Faults injected at given times: outages, failures, latency and errors.
    #[serde(default)]
    #[schemars(with = "Vec<FaultSpec>")]
    fault: Vec<Spanned<FaultSpec>>,
    /// A price list to bill with instead of the embedded one.
    pricing: Option<PricingSpec>,
}

/// Where a scenario being parsed takes its price list from.
enum PricesFrom<'a> {
    /// `--prices FILE` when given, else the scenario's `[pricing] file`, else the embedded
    /// list.
    Flag(Option<&'a Path>),
    /// A list already resolved.
    Resolved(Arc<PriceList>),
}

/// The `[pricing]` table: the price list to bill with instead of the embedded one.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PricingSpec {
    /// A whole price list in the format of `models/prices.toml`, relative to the scenario.
    #[schemars(with = "String")]
    pub file: Spanned<String>,
}

/// One `[[component]]`: its name, kind and spec.
#[derive(Clone, Debug)]
pub struct NamedComponent {
    /// Unique name.
    pub name: String,
    /// Where the name is written.
    pub name_span: Range<usize>,
    /// The whole table.
    pub span: Range<usize>,
    /// The kind-specific spec.
    pub spec: ComponentSpec,
}

/// A validated scenario: every name resolves, every value is in range.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Name used for the output folder.
    pub name: String,
    /// The file it came from (as given).
    pub file: PathBuf,
    /// The file's text (the HTML report shows it).
    pub text: String,
    /// The `[simulation]` table.
    pub simulation: SimulationSpec,
    /// The `[account]` table.
    pub account: AccountSpec,
    /// The workloads, in file order.
    pub workloads: Vec<WorkloadSpec>,
    /// The components, in file order.
    pub components: Vec<NamedComponent>,
    /// The `[region]` table (availability zones, network latency), if any.
    pub region: Option<RegionSpec>,
    /// The `[[fault]]` tables, in file order.
    pub faults: Vec<Spanned<FaultSpec>>,
    /// The price list the run bills with: `--prices`, else `[pricing] file`, else the embedded
    /// `models/prices.toml`.
    pub prices: Arc<PriceList>,
}

/// Settings of one run that the command line may override.
#[derive(Copy, Clone, Debug, Default)]
pub struct RunSettings {
    /// Seed (default: the scenario's, else 1).
    pub seed: Option<u64>,
    /// Simulated duration (default: the scenario's).
    pub duration: Option<SimDuration>,
    /// Time-series interval (default: the scenario's, else 1 s).
    pub interval: Option<SimDuration>,
}

/// The seed used when neither the scenario nor the command line gives one.
pub const DEFAULT_SEED: u64 = 1;

impl Scenario {
    /// Reads and validates the scenario at `path`.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = bounds::read_text(path)?;
        Scenario::parse(&text, path)
    }

    /// Reads and validates the scenario at `path`, billing with the price list in the file
    /// `prices` (`--prices`) when given, whatever the scenario's `[pricing]` says.
    pub fn load_with_prices(path: &Path, prices: Option<&Path>) -> Result<Scenario, ScenarioError> {
        let text = bounds::read_text(path)?;
        Scenario::parse_with_prices(&text, path, prices)
    }

    /// Validates scenario `text`; `path` names it in messages and anchors relative file names.
    pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
        Scenario::parse_with_prices(text, path, None)
    }

    /// Validates scenario `text` as [`Scenario::parse`] does, billing with the price list in
    /// the file `prices` when given (`--prices`, relative to the working directory).
    pub fn parse_with_prices(
        text: &str,
        path: &Path,
        prices: Option<&Path>,
    ) -> Result<Scenario, ScenarioError> {
        Scenario::parse_inner(text, path, PricesFrom::Flag(prices))
    }

    /// Validates scenario `text` as [`Scenario::parse`] does, billing with `prices`, already
    /// resolved (a sweep's points bill with their base scenario's list).
    pub fn parse_priced(
        text: &str,
        path: &Path,
        prices: Arc<PriceList>,
    ) -> Result<Scenario, ScenarioError> {
        Scenario::parse_inner(text, path, PricesFrom::Resolved(prices))
    }

    fn parse_inner(
        text: &str,
        path: &Path,
        prices: PricesFrom<'_>,
    ) -> Result<Scenario, ScenarioError> {
        let fail = |diagnostics: Vec<Diagnostic>| ScenarioError::new(path, text, diagnostics);
        let root = DeTable::parse(text).map_err(|e| fail(vec![Diagnostic::from_toml(&e, None)]))?;
        let raw: RawScenario = RawScenario::deserialize(ValueDeserializer::from(Spanned::new(
            root.span(),
            DeValue::Table(root.get_ref().clone()),
        )))
        .map_err(|e| fail(vec![Diagnostic::from_toml(&e, Some(root.get_ref()))]))?;

        let mut diagnostics = Vec::new();
        let components = parse_components(root.get_ref(), &mut diagnostics);
        if !diagnostics.is_empty() {
            return Err(fail(diagnostics));
        }
        let name = match &raw.simulation.name {
            Some(name) => name.get_ref().clone(),
            None => crate::files::name_from(
                &path
                    .file_stem()
                    .map(|s| s.to_string_lossy())
                    .unwrap_or_default(),
            ),
        };
        let max_bytes = crate::units::limits::SCENARIO_BYTES.max;
        let prices = match (prices, &raw.pricing) {
            (PricesFrom::Resolved(list), _) => list,
            (PricesFrom::Flag(Some(flag)), _) => {
                Arc::new(PriceList::load(flag, max_bytes).map_err(|e| {
                    ScenarioError::single(path, Diagnostic::plain(format!("--prices: {e}")))
                })?)
            }
            (PricesFrom::Flag(None), Some(pricing)) => {
                let base = path.parent().unwrap_or(Path::new(""));
                let list = PriceList::load(&base.join(pricing.file.get_ref()), max_bytes).map_err(
                    |e| fail(vec![Diagnostic::at(pricing.file.span(), root.get_ref(), e)]),
                )?;
                Arc::new(list)
            }
            (PricesFrom::Flag(None), None) => Arc::new(PriceList::embedded()),
        };
        let scenario = Scenario {
            name,
            file: path.to_path_buf(),
            text: text.to_string(),
            simulation: raw.simulation,
            account: raw.account,
            workloads: raw.workload,
            components,
            region: raw.region,
            faults: raw.fault,
            prices,
        };
        let diagnostics = scenario.validate(root.get_ref());
        if !diagnostics.is_empty() {
            return Err(fail(diagnostics));
        }
        Ok(scenario)
    }

    /// Directory that relative file names in the scenario start from.
    pub fn base_dir(&self) -> PathBuf {
        self.file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// The simulated duration.
    pub fn duration(&self) -> SimDuration {
        self.simulation.duration.get_ref().0
    }

    /// The warm-up.
    pub fn warmup(&self) -> SimDuration {
        self.simulation
            .warmup
            .as_ref()
            .map_or(SimDuration::ZERO, |w| *w.get_ref())
    }

    /// The seed from the file, or the default.
    pub fn seed(&self) -> u64 {
        self.simulation.seed.unwrap_or(DEFAULT_SEED)
    }

    /// The time-series interval from the file, or 1 s.
    pub fn interval(&self) -> SimDuration {
        self.simulation
            .interval
            .map_or(SimDuration::from_secs(1), |i| i.0)
    }

    fn component(&self, name: &str) -> Option<&NamedComponent> {
        self.components.iter().find(|c| c.name == name)
    }

    /// Every component's name and spec, in file order.
    fn named_specs(&self) -> impl Iterator<Item = (&str, &ComponentSpec)> {
        self.components.iter().map(|c| (c.name.as_str(), &c.spec))
    }

    fn workload(&self, name: &str) -> Option<&WorkloadSpec> {
        self.workloads.iter().find(|w| w.name.get_ref() == name)
    }

    /// Whole-file checks. Returns every problem found, in file order.
    fn validate(&self, root: &DeTable<'_>) -> Vec<Diagnostic> {
        let mut out = self.count_issues(root);
        if !out.is_empty() {
            return out;
        }
        let at = |span: Range<usize>, message: String| Diagnostic::at(span, root, message);

        // Simulation settings.
        out.extend(self.warmup_issue(root, self.duration(), false));

        // Names become file names: one plain path component each.
        if let Some(name) = &self.simulation.name
            && let Some(issue) = crate::files::name_issue(name.get_ref())
        {
            out.push(at(name.span(), issue));
        }

        // Unique names across workloads and components.
        let mut seen: BTreeMap<&str, Range<usize>> = BTreeMap::new();
        let names = self
            .workloads
            .iter()
            .map(|w| (w.name.get_ref().as_str(), w.name.span()))
            .chain(
                self.components
                    .iter()
                    .map(|c| (c.name.as_str(), c.name_span.clone())),
            );
        for (name, span) in names {
            if let Some(issue) = crate::files::name_issue(name) {
                out.push(at(span, issue));
            } else if let Some(first) = seen.get(name) {
                let (line, _) = diagnostic::line_col(&self.text, first.start);
                out.push(at(
                    span,
                    format!(
                        "the name `{name}` is already used on line {line}; names must be unique"
                    ),
                ));
            } else {
                seen.insert(name, span);
            }
        }

        // References cannot be checked against ambiguous names.
        if !out.is_empty() {
            return out;
        }

        // Local checks of each spec.
        for w in &self.workloads {
            if let Err((message, span)) = w.check() {
                out.push(at(span, message));
            }
        }
        for c in &self.components {
            for issue in c.spec.check(c.span.clone()) {
                out.push(at(issue.span, issue.message));
            }
        }

        // References.
        for w in &self.workloads {
            if let Some(message) = self.check_reference(&w.target, Expects::RequestTarget) {
                out.push(at(w.target.span(), message));
            }
        }
        for c in &self.components {
            for r in c.spec.references() {
                if let Some(message) = self.check_reference(r.name, r.expects) {
                    out.push(at(r.name.span(), message));
                }
            }
        }
        // A kind may limit the size of the items sent to it (a table's item size limit).
        for w in &self.workloads {
            if let (Some(kb), Some(c)) = (&w.item_kb, self.component(w.target.get_ref()))
                && let Some(message) = c.spec.item_kb_issue(&c.name, *kb.get_ref())
            {
                out.push(at(kb.span(), message));
            }
        }
        for (message, span) in self.account.issues(self.named_specs()) {
            out.push(at(span, message));
        }
        out.extend(self.fault_issues(root, self.duration()));
        if out.is_empty()
            && let Some(d) = self.find_call_cycle(root)
        {
            out.push(d);
        }
        out.sort_by_key(|d| (d.line, d.column));
        out
    }

    /// Why `name` cannot be what `expects` asks for, if it cannot.
    fn check_reference(&self, name: &Spanned<String>, expects: Expects) -> Option<String> {
        let name = name.get_ref();
        let wanted = match expects {
            Expects::RequestTarget => components::request_target_kinds(),
            Expects::Kind(kind) => vec![kind],
            Expects::Role(role) => components::kinds_where(|roles| roles.has(role)),
        };
        let wanted_text = components::kinds_phrase(&wanted);
        if let Some(c) = self.component(name) {
            if wanted.contains(&c.spec.kind()) {
                return None;
            }
            return Some(format!(
                "`{name}` is {} {}, but this must name {wanted_text}",
                components::article(c.spec.kind()),
                c.spec.kind()
            ));
        }
        if self.workload(name).is_some() {
            return Some(format!(
                "`{name}` is a workload: workloads send requests, they do not receive them; \
                 expected {wanted_text}"
            ));
        }
        let candidates: Vec<&str> = self
            .components
            .iter()
            .filter(|c| wanted.contains(&c.spec.kind()))
            .map(|c| c.name.as_str())
            .collect();
        let all: Vec<&str> = self.components.iter().map(|c| c.name.as_str()).collect();
        let hint = match did_you_mean(name, &candidates) {
            s if s.is_empty() => did_you_mean(name, &all),
            s => s,
        };
        Some(format!(
            "no component is named `{name}`; expected {wanted_text}{hint}"
        ))
    }

    /// A cycle in the graph of synchronous calls (a component that, through its callees, waits
    /// for itself would deadlock), reported at the reference that closes it.
    fn find_call_cycle(&self, root: &DeTable<'_>) -> Option<Diagnostic> {
        let index: BTreeMap<&str, usize> = self
            .components
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.as_str(), i))
            .collect();
        let edges: Vec<Vec<(usize, Range<usize>)>> = self
            .components
            .iter()
            .map(|c| {
                c.spec
                    .references()
                    .into_iter()
                    .filter(|r| r.synchronous)
                    .filter_map(|r| {
                        index
                            .get(r.name.get_ref().as_str())
                            .map(|&j| (j, r.name.span()))
                    })
                    .collect()
            })
            .collect();
        // Iterative depth-first search with colours: 0 new, 1 on the stack, 2 done.
        let mut colour = vec![0u8; edges.len()];
        for start in 0..edges.len() {
            if colour[start] != 0 {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            colour[start] = 1;
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                if let Some((to, span)) = edges[node].get(*next).cloned() {
                    *next += 1;
                    match colour[to] {
                        0 => {
                            colour[to] = 1;
                            stack.push((to, 0));
                        }
                        1 => {
                            let from = stack.iter().position(|&(n, _)| n == to).unwrap_or(0);
                            let mut path: Vec<&str> = stack[from..]
                                .iter()
                                .map(|&(n, _)| self.components[n].name.as_str())
                                .collect();
                            path.push(self.components[to].name.as_str());
                            return Some(Diagnostic::at(
                                span,
                                root,
                                format!(
                                    "synchronous calls form a cycle: {}; a request would wait \
                                     for itself",
                                    path.join(" -> ")
                                ),
                            ));
                        }
                        _ => {}
                    }
                } else {
                    colour[node] = 2;
                    stack.pop();
                }
            }
        }
        None
    }

    /// Builds the simulation of one run.
    pub fn build(
        &self,
        settings: RunSettings,
    ) -> Result<Simulation<Msg, Box<dyn Observe>>, ScenarioError> {
        self.build_with(settings, None)
    }

    /// Builds the simulation of one run whose workloads write their arrivals to `recorder`
    /// (`awsim record`).
    pub fn build_recording(
        &self,
        settings: RunSettings,
        recorder: &SharedRecorder,
    ) -> Result<Simulation<Msg, Box<dyn Observe>>, ScenarioError> {
        self.build_with(settings, Some(recorder))
    }

    fn build_with(
        &self,
        settings: RunSettings,
        recorder: Option<&SharedRecorder>,
    ) -> Result<Simulation<Msg, Box<dyn Observe>>, ScenarioError> {
        self.check_settings(settings)?;
        let seed = settings.seed.unwrap_or_else(|| self.seed());
        let duration = settings.duration.unwrap_or_else(|| self.duration());
        let warmup = self.warmup();
        let warmup_end = SimTime::ZERO + warmup;
        let base_dir = self.base_dir();

        let mut ids: BTreeMap<String, ComponentId> = BTreeMap::new();
        let all_names = self
            .workloads
            .iter()
            .map(|w| w.name.get_ref().clone())
            .chain(self.components.iter().map(|c| c.name.clone()));
        for (i, name) in all_names.enumerate() {
            ids.insert(name, ComponentId(i as u32));
        }
        let specs: BTreeMap<String, &ComponentSpec> = self
            .components
            .iter()
            .map(|c| (c.name.clone(), &c.spec))
            .collect();
        let build_error = |span: Range<usize>, message: String| {
            let root = DeTable::parse(&self.text).expect("validated text parses");
            ScenarioError::new(
                &self.file,
                &self.text,
                vec![Diagnostic::at(span, root.get_ref(), message)],
            )
        };

        let account = Account::new(&self.account, self.named_specs());
        let region = Region::from_spec(self.region.as_ref());
        // The fault injector comes after every workload and component.
        let injector = (!self.faults.is_empty()).then_some(ComponentId(ids.len() as u32));
        let mut sim: Simulation<Msg, Box<dyn Observe>> = Simulation::new(duration, warmup);
        for (i, w) in self.workloads.iter().enumerate() {
            let name = w.name.get_ref();
            let mut workload = Workload::build(
                w,
                i as u32,
                ids[w.target.get_ref()],
                warmup_end,
                &base_dir,
                rng::stream(seed, &format!("{name}/keys")),
            )
            .map_err(|m| build_error(w.arrival.span(), m))?;
            if let Some(recorder) = recorder {
                workload.record_to(recorder.clone());
            }
            // Only a layer-4 load balancer sees the client's connections end to end.
            if specs
                .get(w.target.get_ref())
                .is_some_and(|s| s.sees_connections())
            {
                workload.send_connection_closes();
            }
            let workload = match injector {
                Some(monitor) => workload.copy_answers_to(monitor),
                None => workload,
            };
            sim.add(name, rng::stream(seed, name), Box::new(workload));
        }
        for c in &self.components {
            let cx = BuildContext {
                name: &c.name,
                ids: &ids,
                specs: &specs,
                warmup_end,
                base_dir: &base_dir,
                account: &account,
                region: &region,
                prices: &self.prices.prices,
            };
            let component = c
                .spec
                .build(&cx)
                .map_err(|m| build_error(c.span.clone(), m))?;
            sim.add(&c.name, rng::stream(seed, &c.name), component);
        }
        if injector.is_some() {
            let name = crate::faults::INJECTOR_NAME;
            let plan = crate::faults::Injector::build(
                &self.fault_setting(duration),
                &region,
                &ids,
                duration,
                warmup_end,
                rng::stream(seed, &format!("{name}/plan")),
            );
            sim.add(name, rng::stream(seed, name), Box::new(plan));
        }
        Ok(sim)
    }

    /// What the faults need to know of this scenario, for a run of `duration`.
    fn fault_setting(&self, duration: SimDuration) -> crate::faults::Setting<'_> {
        crate::faults::Setting {
            faults: &self.faults,
            region: self.region.as_ref(),
            components: self
                .components
                .iter()
                .map(|c| (c.name.as_str(), &c.spec))
                .collect(),
            workloads: self
                .workloads
                .iter()
                .map(|w| w.name.get_ref().as_str())
                .collect(),
            duration,
        }
    }

    /// The kinds of the scenario's components, each once, in the order they first appear, and
    /// which of them write their optional time-series columns: what `timeseries.csv` holds.
    pub fn series_kinds(&self) -> crate::components::SeriesKinds {
        let mut kinds = crate::components::SeriesKinds::default();
        for c in &self.components {
            let kind = c.spec.kind();
            if !kinds.kinds.contains(&kind) {
                kinds.kinds.push(kind);
            }
            if c.spec.writes_optional_columns() && !kinds.with_optional.contains(&kind) {
                kinds.with_optional.push(kind);
            }
        }
        kinds
    }

    /// The wiring as a Mermaid flowchart (the diagram language GitHub and most Markdown
    /// viewers draw): workloads as rounded nodes, components as boxes labelled with their kind,
    /// an arrow for each reference, labelled with the field that makes it.
    pub fn graph_mermaid(&self) -> String {
        // Names become labels, never node ids, so any name a scenario accepts is safe.
        let label = |name: &str| name.replace('"', "#quot;");
        let mut ids = std::collections::HashMap::new();
        let mut out = String::from("flowchart LR\n");
        for (i, w) in self.workloads.iter().enumerate() {
            let id = format!("w{i}");
            out.push_str(&format!("  {id}([\"{}\"])\n", label(w.name.get_ref())));
            ids.insert(w.name.get_ref().as_str(), id);
        }
        for (i, c) in self.components.iter().enumerate() {
            let id = format!("c{i}");
            out.push_str(&format!(
                "  {id}[\"{}<br/><i>{}</i>\"]\n",
                label(&c.name),
                c.spec.kind()
            ));
            ids.insert(c.name.as_str(), id);
        }
        for w in &self.workloads {
            if let Some(to) = ids.get(w.target.get_ref().as_str()) {
                out.push_str(&format!("  {} --> {to}\n", ids[w.name.get_ref().as_str()]));
            }
        }
        for c in &self.components {
            for r in c.spec.references() {
                if let Some(to) = ids.get(r.name.get_ref().as_str()) {
                    out.push_str(&format!(
                        "  {} -->|\"{}\"| {to}\n",
                        ids[c.name.as_str()],
                        label(&r.field)
                    ));
                }
            }
        }
        out
    }

    /// The wiring as text: one line per workload and component with what it sends to.
    pub fn graph_text(&self) -> String {
        let mut out = String::new();
        for w in &self.workloads {
            let arrival = match w.arrival.get_ref() {
                ArrivalSpec::Poisson { rate: Some(r) } => format!("poisson {r}"),
                ArrivalSpec::Constant { rate: Some(r) } => format!("constant {r}"),
                ArrivalSpec::Poisson { rate: None } => "poisson on a schedule".into(),
                ArrivalSpec::Constant { rate: None } => "constant on a schedule".into(),
                ArrivalSpec::Closed { users, .. } => format!("closed loop, {users} users"),
                ArrivalSpec::Trace(t) => format!("trace {} ({})", t.file, t.format.name()),
            };
            out.push_str(&format!(
                "  workload {} ({arrival}) -> {}\n",
                w.name.get_ref(),
                w.target.get_ref()
            ));
        }
        for c in &self.components {
            let refs: Vec<String> = c
                .spec
                .references()
                .iter()
                .map(|r| format!("{} [{}]", r.name.get_ref(), r.field))
                .collect();
            let arrow = if refs.is_empty() {
                String::new()
            } else {
                format!(" -> {}", refs.join(", "))
            };
            out.push_str(&format!("  {} ({}){arrow}\n", c.name, c.spec.kind()));
        }
        if let Some(azs) = self.region.as_ref().and_then(|r| r.azs.as_ref()) {
            let names: Vec<&str> = azs.get_ref().iter().map(|n| n.get_ref().as_str()).collect();
            out.push_str(&format!(
                "  region: availability zones {}\n",
                names.join(", ")
            ));
        }
        for (i, f) in self.faults.iter().enumerate() {
            let f = f.get_ref();
            let on = f.az.as_ref().or(f.component.as_ref());
            out.push_str(&format!(
                "  fault {} ({}){}\n",
                f.label(i),
                f.kind.get_ref(),
                on.map(|n| format!(" on {}", n.get_ref()))
                    .unwrap_or_default()
            ));
        }
        out
    }
}

/// Parses every `[[component]]` by its `kind`, collecting problems.
fn parse_components(root: &DeTable<'_>, out: &mut Vec<Diagnostic>) -> Vec<NamedComponent> {
    let Some(list) = root.get("component") else {
        return Vec::new();
    };
    let DeValue::Array(items) = list.get_ref() else {
        out.push(Diagnostic::at(
            list.span(),
            root,
            "`component` must be an array of tables: write each as [[component]]".into(),
        ));
        return Vec::new();
    };
    let mut components = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let span = item.span();
        let DeValue::Table(table) = item.get_ref() else {
            out.push(Diagnostic::at(
                span,
                root,
                "a component must be a table".into(),
            ));
            continue;
        };
        let string_field = |key: &str| -> Option<(String, Range<usize>)> {
            let v = table.get(key)?;
            match v.get_ref() {
                DeValue::String(s) => Some((s.to_string(), v.span())),
                _ => None,
            }
        };
        let Some((name, name_span)) = string_field("name") else {
            out.push(Diagnostic::at(
                span.clone(),
                root,
                format!("component number {} needs a `name` (a string)", index + 1),
            ));
            continue;
        };
        let kinds = components::kind_names();
        let Some((kind, kind_span)) = string_field("kind") else {
            out.push(Diagnostic::at(
                span.clone(),
                root,
                format!(
                    "component `{name}` needs a `kind`, one of {}",
                    kinds.join(", ")
                ),
            ));
            continue;
        };
        if !kinds.contains(&kind.as_str()) {
            out.push(Diagnostic::at(
                kind_span,
                root,
                format!(
                    "unknown kind `{kind}`; expected one of {}{}",
                    kinds.join(", "),
                    did_you_mean(&kind, &kinds)
                ),
            ));
            continue;
        }
        let mut rest = table.clone();
        rest.remove("name");
        rest.remove("kind");
        let de = ValueDeserializer::from(Spanned::new(span.clone(), DeValue::Table(rest)));
        match ComponentSpec::deserialize_kind(&kind, de) {
            Ok(spec) => components.push(NamedComponent {
                name,
                name_span,
                span,
                spec,
            }),
            Err(e) => out.push(Diagnostic::from_toml(&e, Some(root))),
        }
    }
    components
}
