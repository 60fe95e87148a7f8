//! CodeDeploy to the group's instances (`codedeploy`): in place, a batch of instances at a
//! time taken out of the load balancer, updated and returned, or blue/green, a replacement
//! fleet launched, traffic rerouted to it and the original fleet terminated after a wait;
//! CloudWatch alarms on the new version roll either back.
//!
//! ```toml
//! codedeploy = { at = "20m", type = "in_place", config = "HalfAtATime", install_time = "30s",
//!                new = { failure_probability = 0.05 },
//!                alarms = [ { metric = "Errors", comparison = ">=", threshold = 10 } ] }
//! codedeploy = { at = "20m", type = "blue_green", termination_wait = "10m" }
//! ```
//!
//! # What it follows (sources in `models/codedeploy.toml`)
//! - In place: the instances are deployed to a batch at a time, in launch order:
//!   `OneAtATime` one, `HalfAtATime` half of them (rounded down, at least one), `AllAtOnce`
//!   all. Each instance of a batch is deregistered from the group's load balancers
//!   (BlockTraffic) and drains through their deregistration delay; then its lifecycle scripts
//!   run for `install_time` (ApplicationStop to ValidateService) and it runs the new version;
//!   then it is registered again (AllowTraffic) and the batch is over when every instance of
//!   it has passed the load balancer's health checks. The next batch starts then.
//! - Blue/green: the group launches a replacement for each instance it has (the copy of the
//!   group CodeDeploy makes), running the new version. Once every replacement is in service
//!   and healthy behind the load balancer, the original instances are deregistered at once
//!   (traffic rerouted) and kept, out of traffic, for `termination_wait`; then they are
//!   terminated and the deployment is complete.
//! - Alarms watch the new version's `Errors`, `Requests` and `Latency` (ms; any statistic,
//!   e.g. `p99`) from the start. The first evaluation in ALARM rolls the deployment back:
//!   in place, the original version is redeployed (a new deployment, as CodeDeploy's
//!   rollback is) to the instances that run the new one, in the same batches; blue/green,
//!   the original instances, while they still exist, are registered again and the
//!   replacements are deregistered and terminated.
//!
//! # What it simplifies
//! - Lifecycle scripts take exactly `install_time` and never fail; no hooks.
//! - A blue/green replacement registers with the load balancer as soon as it is in service
//!   (CodeDeploy registers them all at AllowTraffic once their scripts have run: here they
//!   take traffic a little earlier, one by one).
//! - In place, the new version's `speed` is not applied (an instance keeps its speed): it is
//!   refused.
//! - One deployment per group, which has no instance refresh or rolling update; the group's
//!   scaling policies keep acting during it, and instances launched during an in-place
//!   deployment run the version being deployed.

use serde::Deserialize;
use toml::Spanned;

use super::refresh::NewVersion;
use super::{Asg, AsgTimer, State};
use crate::components::SpecIssue;
use crate::components::deployment::{AlarmSpec, Deployment, MetricName, Version};
use crate::engine::time::{SimDuration, SimTime};
use crate::message::{Control, Ctx, Msg, Outcome};
use crate::metrics::cloudwatch::Statistic;

/// The longest `termination_wait` CodeDeploy accepts (2 days: "up to 2 days (2880
/// minutes)", BlueGreenDeploymentConfiguration's terminationWaitTimeInMinutes).
const MAX_TERMINATION_WAIT: SimDuration = SimDuration::from_secs(2880 * 60);
/// CodeDeploy's default wait before the original instances are terminated (1 hour).
const DEFAULT_TERMINATION_WAIT: SimDuration = SimDuration::from_secs(3600);
/// The longest `install_time` awsim accepts: CodeDeploy's script timeout of one hour for each
/// of the six lifecycle events that run scripts.
const MAX_INSTALL_TIME: SimDuration = SimDuration::from_secs(6 * 3600);

/// The metrics a group's deployment alarms may watch, in the order [`Metric`] numbers them.
pub(super) const METRICS: &[MetricName] = &[
    MetricName {
        name: "Requests",
        statistic: Statistic::Sum,
    },
    MetricName {
        name: "Errors",
        statistic: Statistic::Sum,
    },
    MetricName {
        name: "Latency",
        statistic: Statistic::Average,
    },
];

/// Index of a metric in [`METRICS`].
#[derive(Copy, Clone)]
enum Metric {
    Requests,
    Errors,
    Latency,
}

/// In place or blue/green.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentType {
    /// The instances are updated where they run, a batch at a time.
    #[default]
    InPlace,
    /// A replacement fleet takes the traffic; the original is terminated.
    BlueGreen,
}

/// `codedeploy = { ... }`: a CodeDeploy deployment to the group.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeDeploySpec {
    /// When it starts (a time from the start of the run).
    #[schemars(with = "SimDuration")]
    pub at: Spanned<SimDuration>,
    /// `"in_place"` (default) or `"blue_green"`.
    #[serde(rename = "type", default)]
    pub deployment_type: DeploymentType,
    /// In place: `"OneAtATime"` (default), `"HalfAtATime"` or `"AllAtOnce"` (with or
    /// without the `CodeDeployDefault.` prefix).
    #[schemars(with = "Option<String>")]
    pub config: Option<Spanned<String>>,
    /// In place: how long an instance's lifecycle scripts run once it is out of traffic,
    /// from ApplicationStop to ValidateService (default 0 s, at most 6 h).
    #[schemars(with = "Option<SimDuration>")]
    pub install_time: Option<Spanned<SimDuration>>,
    /// Blue/green: how long the original instances are kept after traffic has moved to the
    /// replacements (default 1 h, at most 2 days).
    #[schemars(with = "Option<SimDuration>")]
    pub termination_wait: Option<Spanned<SimDuration>>,
    /// The new version (none: the same code redeployed).
    pub new: Option<NewVersion>,
    /// CloudWatch alarms on the new version's `Requests`, `Errors` or `Latency` that roll
    /// the deployment back (none by default).
    #[serde(default)]
    pub alarms: Vec<AlarmSpec>,
}

/// An in-place configuration's batch size for `n` instances.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum InPlaceConfig {
    OneAtATime,
    HalfAtATime,
    AllAtOnce,
}

impl InPlaceConfig {
    fn parse(name: &str) -> Option<InPlaceConfig> {
        match name.strip_prefix("CodeDeployDefault.").unwrap_or(name) {
            "OneAtATime" => Some(InPlaceConfig::OneAtATime),
            "HalfAtATime" => Some(InPlaceConfig::HalfAtATime),
            "AllAtOnce" => Some(InPlaceConfig::AllAtOnce),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            InPlaceConfig::OneAtATime => "OneAtATime",
            InPlaceConfig::HalfAtATime => "HalfAtATime",
            InPlaceConfig::AllAtOnce => "AllAtOnce",
        }
    }

    /// Instances deployed to at once out of `n`.
    fn batch(self, n: u32) -> u32 {
        match self {
            InPlaceConfig::OneAtATime => 1,
            InPlaceConfig::HalfAtATime => (n / 2).max(1),
            InPlaceConfig::AllAtOnce => n.max(1),
        }
    }
}

impl CodeDeploySpec {
    /// The issues of this table.
    pub(super) fn check(&self, out: &mut Vec<SpecIssue>) {
        let f = "codedeploy";
        let mut issue = |field: &str, message: String, span| {
            out.push(SpecIssue {
                field: format!("{f}.{field}"),
                message,
                span,
            })
        };
        let blue_green = self.deployment_type == DeploymentType::BlueGreen;
        if let Some(c) = &self.config {
            if blue_green {
                issue(
                    "config",
                    "a blue/green deployment reroutes all traffic at once: `config` is for \
                     in-place deployments"
                        .into(),
                    c.span(),
                );
            } else if InPlaceConfig::parse(c.get_ref()).is_none() {
                issue(
                    "config",
                    format!(
                        "expected OneAtATime, HalfAtATime or AllAtOnce, found `{}`",
                        c.get_ref()
                    ),
                    c.span(),
                );
            }
        }
        if let Some(t) = &self.install_time {
            if blue_green {
                issue(
                    "install_time",
                    "a blue/green replacement installs while it launches (its `launch_time`): \
                     `install_time` is for in-place deployments"
                        .into(),
                    t.span(),
                );
            } else if *t.get_ref() > MAX_INSTALL_TIME {
                issue(
                    "install_time",
                    format!(
                        "must be at most {MAX_INSTALL_TIME} (six lifecycle events of at most \
                         an hour each), found {}",
                        t.get_ref()
                    ),
                    t.span(),
                );
            }
        }
        if let Some(w) = &self.termination_wait {
            if !blue_green {
                issue(
                    "termination_wait",
                    "only a blue/green deployment has original instances to terminate".into(),
                    w.span(),
                );
            } else if *w.get_ref() > MAX_TERMINATION_WAIT {
                issue(
                    "termination_wait",
                    format!(
                        "must be at most {MAX_TERMINATION_WAIT} (CodeDeploy's 2 days), found {}",
                        w.get_ref()
                    ),
                    w.span(),
                );
            }
        }
        if let Some(n) = &self.new {
            if !blue_green && let Some(s) = &n.speed {
                issue(
                    "new.speed",
                    "an in-place deployment changes the code, not the instances: `speed` \
                     needs a blue/green deployment"
                        .into(),
                    s.span(),
                );
            }
            n.check(f, out);
        }
        for (i, a) in self.alarms.iter().enumerate() {
            a.check(&format!("{f}.alarms[{i}]"), METRICS, out);
        }
    }
}

/// Where an instance is in an in-place deployment or a blue/green one.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(super) enum DeployStep {
    /// Not taken out of traffic by the deployment.
    #[default]
    Serving,
    /// Deregistered, draining before its update.
    Draining,
    /// Its lifecycle scripts run.
    Installing,
    /// Registered again, waiting to pass the health checks.
    Checking,
    /// A blue/green original, out of traffic until it is terminated (or traffic comes back).
    Held,
}

/// How the deployment moves the group.
#[derive(Clone, Debug)]
pub(super) enum Mode {
    InPlace {
        config: InPlaceConfig,
        install: SimDuration,
    },
    BlueGreen {
        wait: SimDuration,
    },
}

/// A CodeDeploy deployment to the group.
pub(super) struct CodeDeploy {
    pub(super) at: SimTime,
    mode: Mode,
    pub(super) deployment: Deployment,
    /// The version instances are moved to: 1, or 0 once rolled back in place.
    target: u8,
    /// Instances in the deployment group when it started.
    total: u32,
    /// Instances of the batch under way not yet back in traffic (in place), or replacements
    /// not yet healthy (blue/green).
    awaiting: u32,
    /// Blue/green: traffic has moved to the replacements.
    rerouted: bool,
    /// Blue/green: the original instances (group ids).
    originals: Vec<u32>,
    /// The instances in traffic when it started (the capacity dip's base).
    before: u64,
}

/// The timer id of the deployment's own steps (alarm ids come from the deployment).
const INSTALLED_BASE: u64 = 1 << 62;
const TERMINATE_ORIGINALS: u64 = (1 << 62) - 1;
const START: u64 = (1 << 62) - 2;

impl CodeDeploy {
    /// A pending deployment of `spec` (checked).
    pub(super) fn new(spec: &CodeDeploySpec) -> Result<CodeDeploy, String> {
        let at = SimTime::ZERO + *spec.at.get_ref();
        let (mode, name) = match spec.deployment_type {
            DeploymentType::InPlace => {
                let config = spec
                    .config
                    .as_ref()
                    .and_then(|c| InPlaceConfig::parse(c.get_ref()))
                    .unwrap_or(InPlaceConfig::OneAtATime);
                let install = spec
                    .install_time
                    .as_ref()
                    .map_or(SimDuration::ZERO, |t| *t.get_ref());
                (
                    Mode::InPlace { config, install },
                    format!("CodeDeployDefault.{}", config.name()),
                )
            }
            DeploymentType::BlueGreen => (
                Mode::BlueGreen {
                    wait: spec
                        .termination_wait
                        .as_ref()
                        .map_or(DEFAULT_TERMINATION_WAIT, |w| *w.get_ref()),
                },
                "BlueGreen".to_string(),
            ),
        };
        Ok(CodeDeploy {
            at,
            mode,
            deployment: Deployment::driven_watching(at, name, &spec.alarms, METRICS)?,
            target: 1,
            total: 0,
            awaiting: 0,
            rerouted: false,
            originals: Vec::new(),
            before: 0,
        })
    }

    /// Its first timer (from the group's `init`).
    pub(super) fn start_timer(&self, now: SimTime) -> (SimDuration, AsgTimer) {
        (self.at.saturating_since(now), AsgTimer::Deploy(START))
    }
}

impl Asg {
    /// Instances taking traffic: in service, not failed, not out of traffic for the
    /// deployment.
    fn in_traffic(&self) -> u64 {
        self.instances
            .iter()
            .filter(|i| i.state == State::InService && !i.failed && i.deploy == DeployStep::Serving)
            .count() as u64
    }

    /// One of the deployment's timers fired.
    pub(super) fn on_deploy_timer(&mut self, id: u64, cx: &mut Ctx<'_>) {
        match id {
            START => self.deploy_start(cx),
            TERMINATE_ORIGINALS => self.terminate_originals(cx),
            id if id >= INSTALLED_BASE => self.installed((id - INSTALLED_BASE) as u32, cx),
            alarm => {
                let Some(d) = &mut self.codedeploy else {
                    return;
                };
                let was = d.deployment.rolled_back();
                d.deployment.on_timer(alarm, cx, AsgTimer::Deploy);
                if !was && d.deployment.rolled_back() {
                    self.roll_back(cx);
                }
            }
        }
    }

    fn deploy_start(&mut self, cx: &mut Ctx<'_>) {
        let before = self.in_traffic();
        let serving: Vec<u32> = (0..self.instances.len() as u32)
            .filter(|&id| {
                let i = &self.instances[id as usize];
                i.state == State::InService && !i.failed
            })
            .collect();
        // From now on launches run the new version (replacements, and in place any launch).
        self.launch_version = 1;
        let Some(d) = &mut self.codedeploy else {
            return;
        };
        d.before = before;
        d.total = serving.len() as u32;
        let detail = match d.mode {
            Mode::InPlace { config, install } => format!(
                "{} instances, {} at a time, install {install}",
                d.total,
                config.batch(d.total)
            ),
            Mode::BlueGreen { wait } => format!(
                "{} replacements; originals terminated {wait} after the reroute",
                d.total
            ),
        };
        d.deployment.begin_watching(cx, detail, AsgTimer::Deploy);
        d.deployment.capacity(before, before);
        if matches!(d.mode, Mode::InPlace { .. }) {
            self.next_deploy_batch(cx);
        } else {
            d.originals = serving;
            d.awaiting = d.total;
            self.surge += d.total;
            let first_new = self.instances.len();
            self.reconcile(cx);
            // The replacements count in traffic once the load balancer finds them healthy.
            for i in &mut self.instances[first_new..] {
                i.deploy = DeployStep::Checking;
            }
            self.deploy_capacity(cx.now(), "replacements_launched", String::new());
        }
    }

    /// Records the capacity now, with a step.
    fn deploy_capacity(&mut self, now: SimTime, step: &'static str, detail: String) {
        let serving = self.in_traffic();
        let Some(d) = &mut self.codedeploy else {
            return;
        };
        let done = self
            .instances
            .iter()
            .filter(|i| {
                matches!(i.state, State::InService)
                    && !i.failed
                    && i.version == 1
                    && i.deploy == DeployStep::Serving
            })
            .count() as u64;
        let pct = if d.total == 0 {
            100
        } else {
            (done * 100 / u64::from(d.total)).min(100) as u32
        };
        let detail = if detail.is_empty() {
            format!("{serving} in traffic")
        } else {
            format!("{detail}; {serving} in traffic")
        };
        d.deployment.capacity(serving, d.before);
        if d.deployment.rolled_back() {
            d.deployment.after_rollback(now, step, pct, detail);
        } else {
            d.deployment.progress(now, step, pct, detail);
        }
    }

    /// In place: starts the next batch, or completes the deployment.
    fn next_deploy_batch(&mut self, cx: &mut Ctx<'_>) {
        let Some(d) = &self.codedeploy else {
            return;
        };
        let Mode::InPlace { config, .. } = d.mode else {
            return;
        };
        if d.awaiting > 0 {
            return;
        }
        let target = d.target;
        let size = config.batch(d.total);
        let batch: Vec<u32> = (0..self.instances.len() as u32)
            .filter(|&id| {
                let i = &self.instances[id as usize];
                i.state == State::InService
                    && !i.failed
                    && i.version != target
                    && i.deploy == DeployStep::Serving
            })
            .take(size as usize)
            .collect();
        let now = cx.now();
        if batch.is_empty() {
            let d = self.codedeploy.as_mut().expect("checked above");
            if d.deployment.rolled_back() {
                d.deployment.after_rollback(
                    now,
                    "redeployed",
                    0,
                    "original version everywhere".into(),
                );
            } else {
                d.deployment.complete(now);
            }
            return;
        }
        let lbs = self.load_balancers.len() as u32;
        for &id in &batch {
            let inst = &mut self.instances[id as usize];
            inst.deploy = DeployStep::Draining;
            inst.drain_acks = lbs;
        }
        self.codedeploy.as_mut().expect("checked above").awaiting = batch.len() as u32;
        self.deploy_capacity(
            now,
            "batch_started",
            format!("{} out of traffic", batch.len()),
        );
        for &id in &batch {
            let pool_index = self.instances[id as usize].pool_index.expect("in service");
            if lbs == 0 {
                self.drained_for_update(id, cx);
            } else {
                self.deregister(pool_index, cx);
            }
        }
    }

    /// A load balancer drained instance `id` (group id) that the deployment took out of
    /// traffic: true if it was one.
    pub(super) fn deploy_drained(&mut self, id: u32, cx: &mut Ctx<'_>) -> bool {
        let inst = &mut self.instances[id as usize];
        match inst.deploy {
            DeployStep::Draining => {
                inst.drain_acks = inst.drain_acks.saturating_sub(1);
                if inst.drain_acks == 0 {
                    self.drained_for_update(id, cx);
                }
                true
            }
            DeployStep::Held => true,
            _ => false,
        }
    }

    /// Instance `id` is out of traffic: its lifecycle scripts run.
    fn drained_for_update(&mut self, id: u32, cx: &mut Ctx<'_>) {
        let Some(Mode::InPlace { install, .. }) = self.codedeploy.as_ref().map(|d| &d.mode) else {
            return;
        };
        let install = *install;
        self.instances[id as usize].deploy = DeployStep::Installing;
        cx.set_timer(install, AsgTimer::Deploy(INSTALLED_BASE + u64::from(id)));
    }

    /// Instance `id`'s scripts are done: it runs the deployment's target version and
    /// registers again.
    fn installed(&mut self, id: u32, cx: &mut Ctx<'_>) {
        let Some(d) = &self.codedeploy else {
            return;
        };
        let target = d.target;
        let inst = &self.instances[id as usize];
        if inst.deploy != DeployStep::Installing || inst.state != State::InService {
            return;
        }
        let pool_index = inst.pool_index.expect("in service");
        let code = self.versions[target as usize].1;
        self.pool.set_code(pool_index, code);
        let az = inst.az;
        self.change(id, |i| i.version = target);
        if self.load_balancers.is_empty() {
            self.instances[id as usize].deploy = DeployStep::Serving;
            self.back_in_traffic(cx);
            return;
        }
        self.instances[id as usize].deploy = DeployStep::Checking;
        for &lb in &self.load_balancers {
            cx.send(
                lb,
                Msg::Control(Control::Register {
                    instance: pool_index,
                    healthy: false,
                    az,
                    group: cx.me(),
                }),
            );
        }
    }

    /// A load balancer found instance `id` (group id) healthy.
    pub(super) fn deploy_target_healthy(&mut self, id: u32, cx: &mut Ctx<'_>) {
        let Some(d) = &mut self.codedeploy else {
            return;
        };
        if !d.deployment.active() && !d.deployment.rolled_back() {
            return;
        }
        let in_place = matches!(d.mode, Mode::InPlace { .. });
        let inst = &mut self.instances[id as usize];
        match (in_place, inst.deploy) {
            (true, DeployStep::Checking) => {
                inst.deploy = DeployStep::Serving;
                self.back_in_traffic(cx);
            }
            (false, DeployStep::Checking) => {
                inst.deploy = DeployStep::Serving;
                if inst.version == 0 {
                    // An original back in traffic after a rollback.
                    self.deploy_capacity(cx.now(), "original_healthy", String::new());
                    return;
                }
                d.awaiting = d.awaiting.saturating_sub(1);
                if d.awaiting == 0 && !d.rerouted && !d.deployment.rolled_back() {
                    self.reroute(cx);
                } else {
                    self.deploy_capacity(cx.now(), "replacement_healthy", String::new());
                }
            }
            _ => {}
        }
    }

    /// In place: an instance of the batch is back in traffic.
    fn back_in_traffic(&mut self, cx: &mut Ctx<'_>) {
        let Some(d) = &mut self.codedeploy else {
            return;
        };
        d.awaiting = d.awaiting.saturating_sub(1);
        if d.awaiting == 0 {
            self.deploy_capacity(cx.now(), "batch_done", String::new());
            self.next_deploy_batch(cx);
        }
    }

    /// Blue/green: every replacement is healthy: the originals leave traffic and are kept
    /// for the termination wait.
    fn reroute(&mut self, cx: &mut Ctx<'_>) {
        let Some(d) = &mut self.codedeploy else {
            return;
        };
        let Mode::BlueGreen { wait } = d.mode else {
            return;
        };
        d.rerouted = true;
        let originals = d.originals.clone();
        for &id in &originals {
            let inst = &self.instances[id as usize];
            if inst.state != State::InService {
                continue;
            }
            let pool_index = inst.pool_index.expect("in service");
            self.instances[id as usize].deploy = DeployStep::Held;
            self.deregister(pool_index, cx);
        }
        self.deploy_capacity(cx.now(), "rerouted", format!("originals kept for {wait}"));
        cx.set_timer(wait, AsgTimer::Deploy(TERMINATE_ORIGINALS));
    }

    /// Blue/green: the wait is over: the originals are terminated.
    fn terminate_originals(&mut self, cx: &mut Ctx<'_>) {
        let Some(d) = &mut self.codedeploy else {
            return;
        };
        if d.deployment.rolled_back() {
            return;
        }
        let originals = std::mem::take(&mut d.originals);
        self.surge = self.surge.saturating_sub(originals.len() as u32);
        for &id in &originals {
            if self.instances[id as usize].state == State::InService {
                self.terminate(id, cx);
            }
        }
        self.reconcile(cx);
        let now = cx.now();
        self.deploy_capacity(now, "originals_terminated", String::new());
        if let Some(d) = &mut self.codedeploy {
            d.deployment.complete(now);
        }
    }

    /// An alarm rolled the deployment back: undo it.
    fn roll_back(&mut self, cx: &mut Ctx<'_>) {
        let Some(d) = &mut self.codedeploy else {
            return;
        };
        let now = cx.now();
        // Launches run the original version again.
        self.launch_version = 0;
        if matches!(d.mode, Mode::InPlace { .. }) {
            d.target = 0;
            self.deploy_capacity(now, "redeploying", "the original version".into());
            self.next_deploy_batch(cx);
        } else {
            let originals = std::mem::take(&mut d.originals);
            let replacements: Vec<u32> = (0..self.instances.len() as u32)
                .filter(|&id| {
                    let i = &self.instances[id as usize];
                    i.version == 1 && matches!(i.state, State::Pending | State::InService)
                })
                .collect();
            self.surge = self.surge.saturating_sub(originals.len() as u32);
            let mut back = 0;
            for &id in &originals {
                let inst = &self.instances[id as usize];
                if inst.state != State::InService || inst.deploy != DeployStep::Held {
                    continue;
                }
                back += 1;
                let (pool_index, az) = (inst.pool_index.expect("in service"), inst.az);
                self.instances[id as usize].deploy = DeployStep::Checking;
                for &lb in &self.load_balancers {
                    cx.send(
                        lb,
                        Msg::Control(Control::Register {
                            instance: pool_index,
                            healthy: false,
                            az,
                            group: cx.me(),
                        }),
                    );
                }
            }
            for &id in &replacements {
                self.terminate(id, cx);
            }
            self.reconcile(cx);
            self.deploy_capacity(
                now,
                "rerouting_back",
                format!(
                    "{back} originals registered again, {} replacements terminated",
                    replacements.len()
                ),
            );
        }
    }

    /// Hands the requests the pool finished to the deployment's figures per version and to
    /// its alarms.
    pub(super) fn count_deploy_versions(&mut self) {
        let Some(d) = &mut self.codedeploy else {
            return;
        };
        for f in self.pool.take_finished() {
            let v = if f.code == 0 {
                Version::Old
            } else {
                Version::New
            };
            d.deployment.finished(v, f.arrived, f.ended, f.outcome);
            if v == Version::New {
                let error = if matches!(f.outcome, Outcome::Ok) {
                    0.0
                } else {
                    1.0
                };
                d.deployment
                    .observe(f.ended, Metric::Requests as usize, 1.0);
                d.deployment
                    .observe(f.ended, Metric::Errors as usize, error);
                if f.outcome.is_ok() {
                    let ms = (f.ended - f.arrived).as_secs_f64() * 1e3;
                    d.deployment.observe(f.ended, Metric::Latency as usize, ms);
                }
            }
        }
    }
}
