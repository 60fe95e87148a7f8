//! The `asg` table of a scenario: its fields, their validation, and building a running group
//! from it.

use std::collections::VecDeque;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::CapacityRow;
use super::policy::{self, Policy, PolicySpec, SimpleScaling};
use super::scheduled::{self, ScheduledSpec};
use super::{Asg, AsgTimer};
use crate::components::burst_credits::{CreditFields, CreditSpecification};
use crate::components::handler::{DurationDist, Handler, StepSpec, call_references, empty_handler};
use crate::components::instance_billing::{BillingFields, Purchase};
use crate::components::instances::Pool;
use crate::components::{BuildContext, Kind, Reference, SpecIssue, TargetGroup};
use crate::engine::time::{SimDuration, SimTime};
use crate::metrics::{Observe, TimeWeighted};
use crate::units::{PositiveDuration, limits};

/// The `asg` table of a scenario.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Fewest instances.
    #[schemars(with = "u32", range(max = limits::INSTANCES.max))]
    pub min: Spanned<u32>,
    /// Most instances.
    #[schemars(with = "u32", range(max = limits::INSTANCES.max))]
    pub max: Spanned<u32>,
    /// Instances wanted at the start (default `min`).
    #[schemars(with = "Option<u32>", range(max = limits::INSTANCES.max))]
    pub desired: Option<Spanned<u32>>,
    /// Requests served in parallel per instance (default: the `instance_type`'s vCPUs, else 1).
    #[serde(default = "one_vcpu")]
    #[schemars(with = "u32", range(max = limits::VCPUS.max))]
    pub vcpus: Spanned<u32>,
    /// The EC2 instance type (`c7g.large`), from `models/prices.toml`: sets `vcpus` and the
    /// price. Without one the group is not billed.
    #[schemars(with = "Option<String>")]
    pub instance_type: Option<Spanned<String>>,
    /// How the instances are bought (default on demand).
    #[schemars(with = "Option<Purchase>")]
    pub purchase: Option<Spanned<Purchase>>,
    /// Share taken off the on-demand price by `purchase` (default from the price list).
    #[schemars(with = "Option<f64>")]
    pub discount: Option<Spanned<f64>>,
    /// How a burstable `instance_type` (t2, t3, t3a, t4g) bursts: `standard` (runs at its
    /// baseline when its CPU credits run out; T2's default) or `unlimited` (never throttled,
    /// surplus credits billed; T3, T3a and T4g's default).
    #[schemars(with = "Option<CreditSpecification>")]
    pub credit_specification: Option<Spanned<CreditSpecification>>,
    /// Earned CPU credits each burstable instance starts with when it launches (default 0, as
    /// a new T3 starts; at most the type's maximum balance, 24 hours of its earnings).
    #[schemars(with = "Option<f64>")]
    pub initial_credit_balance: Option<Spanned<f64>>,
    /// Waiting requests per instance beyond which it answers 503 (default unbounded).
    #[schemars(with = "Option<u32>", range(max = limits::MAX_QUEUE.max))]
    pub max_queue: Option<Spanned<u32>>,
    /// Speed factor of every instance (default 1).
    #[schemars(with = "Option<f64>")]
    pub speed: Option<Spanned<f64>>,
    /// What serving one request does.
    #[schemars(with = "Vec<StepSpec>")]
    pub handler: Spanned<Vec<StepSpec>>,
    /// Launch request to in service (default from `models/asg.toml`).
    pub launch_time: Option<DurationDist>,
    /// Time after launch during which health checks do not count (default 300 s).
    pub health_check_grace_period: Option<SimDuration>,
    /// `"ec2"` (default) or `"elb"`.
    pub health_check_type: Option<HealthCheckType>,
    /// Time a new instance is excluded from metrics and current capacity (default 300 s).
    pub instance_warmup: Option<SimDuration>,
    /// Cooldown of simple policies that set none (default 300 s).
    pub default_cooldown: Option<SimDuration>,
    /// Which instance scale-in terminates.
    #[serde(default)]
    pub termination_policy: TerminationPolicy,
    /// Aggregation period of the group's metrics (default 60 s).
    pub metric_period: Option<PositiveDuration>,
    /// Delay before a datapoint is visible to alarms (default 60 s).
    pub metric_publication_delay: Option<SimDuration>,
    /// Mean time between failures of one instance (exponential), if instances fail at random.
    pub mtbf: Option<PositiveDuration>,
    /// Instances that fail at given times: `[ { at = "10m", count = 1 } ]`.
    #[serde(default)]
    pub failures: Vec<FailureSpec>,
    /// Scaling policies.
    #[serde(default)]
    #[schemars(with = "Vec<PolicySpec>")]
    pub policy: Vec<Spanned<PolicySpec>>,
    /// Scheduled actions.
    #[serde(default)]
    #[schemars(with = "Vec<ScheduledSpec>")]
    pub scheduled: Vec<Spanned<ScheduledSpec>>,
    /// Availability zones the group launches into (default: every AZ of the region).
    #[schemars(with = "Option<Vec<String>>")]
    pub azs: Option<Spanned<Vec<Spanned<String>>>>,
    /// An instance refresh at a given time.
    pub instance_refresh: Option<super::RefreshSpec>,
    /// A CloudFormation rolling update at a given time.
    pub rolling_update: Option<super::RollingSpec>,
    /// A CodeDeploy deployment (in place or blue/green) at a given time.
    pub codedeploy: Option<super::CodeDeploySpec>,
}

fn one() -> u32 {
    1
}

fn one_vcpu() -> Spanned<u32> {
    Spanned::new(0..0, 1)
}

/// Which health checks make the group replace an instance.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthCheckType {
    /// EC2 status checks only (a failed instance).
    #[default]
    Ec2,
    /// EC2 status checks and the load balancers' health checks.
    Elb,
}

/// Which instance scale-in terminates first.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum TerminationPolicy {
    /// The instance launched first.
    #[default]
    OldestInstance,
    /// The instance launched last.
    NewestInstance,
}

/// `[ { at = "10m", count = 1 } ]`: `count` in-service instances (oldest first) fail at `at`.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FailureSpec {
    /// When.
    pub at: SimDuration,
    /// How many instances (default 1).
    #[serde(default = "one")]
    pub count: u32,
}

impl Spec {
    fn credits(&self) -> CreditFields<'_> {
        CreditFields {
            instance_type: self.instance_type.as_ref(),
            credit_specification: self.credit_specification.as_ref(),
            initial_credit_balance: self.initial_credit_balance.as_ref(),
        }
    }

    fn billing(&self) -> BillingFields<'_> {
        BillingFields {
            instance_type: self.instance_type.as_ref(),
            vcpus: &self.vcpus,
            purchase: self.purchase.as_ref(),
            discount: self.discount.as_ref(),
        }
    }

    fn desired(&self) -> u32 {
        self.desired
            .as_ref()
            .map_or(*self.min.get_ref(), |d| *d.get_ref())
    }
}

/// A problem with `field` of a group's spec, at `span`.
pub(super) fn issue(field: &str, message: String, span: Range<usize>) -> SpecIssue {
    SpecIssue {
        field: field.into(),
        message,
        span,
    }
}

impl Spec {
    /// Adds the code of a new version to `pool` (its own handler, failure probability and
    /// speed, the group's where it gives none), as an instance refresh or a CodeDeploy
    /// deployment brings it: its (speed, code).
    fn add_new_version(
        &self,
        new: Option<&super::refresh::NewVersion>,
        speed: f64,
        pool: &mut Pool<AsgTimer>,
        cx: &BuildContext<'_>,
    ) -> Result<(f64, u8), String> {
        let steps = new
            .and_then(|n| n.handler.as_ref())
            .unwrap_or(&self.handler);
        let handler = Handler::build(steps.get_ref(), cx.base_dir, |n| cx.id(n))?;
        let failure = new
            .and_then(|n| n.failure_probability.as_ref())
            .map_or(0.0, |p| *p.get_ref());
        let new_speed = new
            .and_then(|n| n.speed.as_ref())
            .map_or(speed, |s| *s.get_ref());
        let code = pool.add_code(handler, failure);
        pool.log_finished();
        Ok((new_speed, code))
    }
}

impl Kind for Spec {
    const KIND: &'static str = "asg";
    const SUMMARY: &'static str = "An EC2 Auto Scaling Group: instances as in `ec2_fleet` that launch, warm up, serve, \
         fail, drain and terminate, with a capacity that scaling policies change from \
         CloudWatch-style metrics.";
    const FOLLOWS: &'static str = "capacity within [min, max]; pending for `launch_time`, then in service; ALB \
         registration, health checks and draining (no request lost at scale-in); one datapoint \
         per metric period, visible after a publication delay; M-of-N alarms with CloudWatch's \
         missing-data rules; target tracking (3 of 3 out, 15 of 15 below 90 % in, instance \
         warm-up), step, simple (group-wide cooldown from the activity's completion) and \
         scheduled scaling; largest capacity wins; oldest instance terminated first; unhealthy \
         instances replaced";
    const SIMPLIFIES: &'static str = "AZ balance kept by the choice of launch and scale-in AZ; after an outage, rebalancing \
         one instance at a time (launch first); identical instances; `instance_hours` counts \
         every second in service or draining, with no 60 s minimum (the bill in `cost` has it, \
         from launch to termination); no lifecycle hooks, warm pools or predictive scaling; a \
         crashed instance's requests are answered 502";
    const CLOUDFORMATION_TYPES: &'static [&'static str] = super::cloudformation::RESOURCE_TYPES;

    fn import(
        resource: &crate::import::Resource,
        cx: &crate::import::Cx<'_>,
        draft: &mut crate::import::Draft,
    ) -> Result<(), crate::import::ImportError> {
        super::cloudformation::map(resource, cx, draft)
    }
    const ACCEPTS_REQUESTS: bool = true;
    const ROLES: crate::components::Roles = crate::components::Roles::INSTANCE_GROUP;

    fn references(&self) -> Vec<Reference<'_>> {
        let mut refs = call_references(self.handler.get_ref());
        for new in [
            self.instance_refresh.as_ref().and_then(|r| r.new.as_ref()),
            self.rolling_update.as_ref().and_then(|r| r.new.as_ref()),
            self.codedeploy.as_ref().and_then(|r| r.new.as_ref()),
        ]
        .into_iter()
        .flatten()
        {
            if let Some(h) = &new.handler {
                refs.extend(call_references(h.get_ref()));
            }
        }
        refs
    }

    fn check(&self, _span: Range<usize>) -> Vec<SpecIssue> {
        let mut out = Vec::new();
        let (min, max) = (*self.min.get_ref(), *self.max.get_ref());
        if min > max {
            out.push(issue(
                "min",
                format!("min ({min}) must not be greater than max ({max})"),
                self.min.span(),
            ));
        }
        if max == 0 {
            out.push(issue("max", "must be at least 1".into(), self.max.span()));
        }
        if let Some(d) = &self.desired
            && min <= max
        {
            let d_value = *d.get_ref();
            if d_value < min || d_value > max {
                out.push(issue(
                    "desired",
                    format!("desired ({d_value}) must be between min ({min}) and max ({max})"),
                    d.span(),
                ));
            }
        }
        if *self.vcpus.get_ref() == 0 {
            out.push(issue(
                "vcpus",
                "must be at least 1".into(),
                self.vcpus.span(),
            ));
        }
        // Bounds before anything is sized from them.
        for (field, value) in [("min", Some(&self.min)), ("max", Some(&self.max))]
            .into_iter()
            .chain([("desired", self.desired.as_ref())])
        {
            if let Some(v) = value {
                out.extend(SpecIssue::above_limit(field, v, limits::INSTANCES));
            }
        }
        out.extend(SpecIssue::above_limit("vcpus", &self.vcpus, limits::VCPUS));
        if let Some(q) = &self.max_queue {
            out.extend(SpecIssue::above_limit("max_queue", q, limits::MAX_QUEUE));
        }
        if let Some(s) = &self.speed
            && !(*s.get_ref() > 0.0 && s.get_ref().is_finite())
        {
            out.push(issue(
                "speed",
                format!("must be a positive number, found {}", s.get_ref()),
                s.span(),
            ));
        }
        out.extend(empty_handler(&self.handler));
        let base = self
            .metric_period
            .map_or(crate::defaults::asg().metric_period, |p| p.0);
        for p in &self.policy {
            policy::check(p, base, &mut out);
        }
        for s in &self.scheduled {
            scheduled::check(s, &mut out);
        }
        out.extend(self.billing().check());
        out.extend(self.credits().check());
        super::refresh::check(
            self.instance_refresh.as_ref(),
            self.rolling_update.as_ref(),
            &self.max,
            &mut out,
        );
        if let Some(d) = &self.codedeploy {
            d.check(&mut out);
            if self.instance_refresh.is_some() || self.rolling_update.is_some() {
                out.push(issue(
                    "codedeploy",
                    "a group has one replacement: give `codedeploy`, `instance_refresh` or \
                     `rolling_update`, not two"
                        .into(),
                    d.at.span(),
                ));
            }
        }
        out
    }

    fn target_group(&self) -> Option<TargetGroup> {
        Some(TargetGroup {
            capacity_per_instance: self
                .max_queue
                .as_ref()
                .map(|q| q.get_ref().saturating_add(self.billing().vcpus())),
        })
    }

    fn queue_consumer(&self) -> Option<crate::components::QueueConsumer> {
        Some(crate::components::QueueConsumer::Pollers {
            per_instance: self.billing().vcpus(),
        })
    }

    fn writes_optional_columns(&self) -> bool {
        self.credits().is_burstable()
    }

    fn azs(&self) -> Option<&Spanned<Vec<Spanned<String>>>> {
        self.azs.as_ref()
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String> {
        let defaults = crate::defaults::asg();
        let handler = Handler::build(self.handler.get_ref(), cx.base_dir, |n| cx.id(n))?;
        let launch_time = match &self.launch_time {
            Some(d) => d.0.build(cx.base_dir)?,
            None => defaults.launch_time.build(cx.base_dir)?,
        };
        let metric_period = self.metric_period.map_or(defaults.metric_period, |p| p.0);
        let delay = self
            .metric_publication_delay
            .unwrap_or(defaults.metric_publication_delay);
        // The group's default cooldown is what its simple policies without one wait.
        let default_cooldown = self.default_cooldown.unwrap_or(defaults.default_cooldown);
        let mut policies = Vec::new();
        for (i, p) in self.policy.iter().enumerate() {
            policies.push(Policy::build(
                p.get_ref(),
                i,
                metric_period,
                delay,
                default_cooldown,
            )?);
        }
        let mut scheduled: Vec<ScheduledSpec> =
            self.scheduled.iter().map(|s| s.get_ref().clone()).collect();
        scheduled.sort_by_key(|s| s.at);
        let mut failures: Vec<FailureSpec> = self.failures.clone();
        failures.sort_by_key(|f| f.at);
        // A group's AZs are a set: a name listed twice counts once.
        let mut azs: Vec<u8> = Vec::new();
        for az in cx.region.placement(self.azs.as_ref()) {
            if !azs.contains(&az) {
                azs.push(az);
            }
        }
        let census = super::census::Census::new(azs.len());
        let speed = self.speed.as_ref().map_or(1.0, |s| *s.get_ref());
        let warmup = self.instance_warmup.unwrap_or(defaults.instance_warmup);
        let mut pool = Pool::new(
            handler,
            self.billing().vcpus(),
            self.max_queue.as_ref().map(|q| *q.get_ref()),
            cx.warmup_end,
            AsgTimer::Step,
        );
        if let Some(model) = self.credits().model(self.billing().vcpus()) {
            pool.burstable(model, AsgTimer::CreditsEmpty);
        }
        let mut versions = [(speed, 0), (speed, 0)];
        let refresh = match (&self.instance_refresh, &self.rolling_update) {
            (Some(r), _) => Some((
                *r.at.get_ref(),
                r.new.as_ref(),
                super::refresh::Rule::Refresh {
                    min_healthy: r
                        .min_healthy_percentage
                        .as_ref()
                        .map_or(defaults.refresh_min_healthy_percentage, |m| *m.get_ref()),
                    max_healthy: r
                        .max_healthy_percentage
                        .as_ref()
                        .map_or(100, |m| *m.get_ref()),
                    checkpoints: r
                        .checkpoint_percentages
                        .as_ref()
                        .map(|c| c.get_ref().clone())
                        .unwrap_or_default(),
                    checkpoint_delay: r
                        .checkpoint_delay
                        .as_ref()
                        .map_or(defaults.refresh_checkpoint_delay, |c| *c.get_ref()),
                    skip_matching: r.skip_matching.unwrap_or(true),
                },
                r.instance_warmup.as_ref().map_or(warmup, |w| *w.get_ref()),
            )),
            (None, Some(r)) => Some((
                *r.at.get_ref(),
                r.new.as_ref(),
                super::refresh::Rule::Rolling {
                    min_in_service: r
                        .min_instances_in_service
                        .as_ref()
                        .map_or(0, |m| *m.get_ref()),
                    max_batch: r.max_batch_size.as_ref().map_or(1, |b| *b.get_ref()),
                },
                r.pause_time
                    .as_ref()
                    .map_or(SimDuration::ZERO, |p| *p.get_ref()),
            )),
            (None, None) => None,
        };
        let refresh = match refresh {
            None => None,
            Some((at, new, rule, settle)) => {
                versions[1] = self.add_new_version(new, speed, &mut pool, cx)?;
                Some(super::refresh::Replacement::new(
                    at,
                    rule,
                    settle,
                    new.is_some(),
                ))
            }
        };
        let load_balancers = {
            let mut lbs = cx.referrers("targets");
            lbs.extend(cx.referrers("consumer"));
            lbs
        };
        let codedeploy = match &self.codedeploy {
            None => None,
            Some(spec) => {
                if spec.deployment_type == super::DeploymentType::BlueGreen
                    && cx.referrers("targets").is_empty()
                {
                    return Err("a blue/green deployment reroutes traffic through a load \
                                balancer: none has this group as its `targets`"
                        .into());
                }
                let new = spec.new.as_ref();
                versions[1] = self.add_new_version(new, speed, &mut pool, cx)?;
                Some(super::codedeploy::CodeDeploy::new(spec)?)
            }
        };
        Ok(Box::new(Asg {
            codedeploy,
            refresh,
            surge: 0,
            launch_version: 0,
            versions,
            census,
            az_names: cx.region.has_azs().then(|| cx.region.azs.clone()),
            azs,
            az_down: 0,
            rebalanced: 0,
            pool,
            min: *self.min.get_ref(),
            max: *self.max.get_ref(),
            desired: self.desired(),
            launch_time,
            grace: self
                .health_check_grace_period
                .unwrap_or(defaults.health_check_grace_period),
            health_check_type: self.health_check_type.unwrap_or_default(),
            warmup,
            termination_policy: self.termination_policy,
            metric_period,
            delay,
            mtbf: self.mtbf.map(|m| m.0),
            failures,
            scheduled,
            policies,
            // Load balancers route to the instances; queues whose consumer is the group poll
            // from them. Both learn of instances by registration and drain them.
            load_balancers,
            queues: cx.referrers("consumer"),
            backlog: 0,
            instances: Vec::new(),
            by_pool: Vec::new(),
            next_direct: 0,
            routed_requests: 0,
            activities: Vec::new(),
            in_service_hours: TimeWeighted::new(0.0),
            rate: self.billing().rate(cx.prices)?,
            billed_ns: 0,
            billed_instances: 0,
            spend: Default::default(),
            counts: CapacityRow::default(),
            desired_max: 0,
            in_service_max: 0,
            replaced: 0,
            warmup_end: cx.warmup_end,
            simple: SimpleScaling::default(),
            last_capacity_change: SimTime::ZERO,
            period_bases: VecDeque::new(),
        }))
    }
}
