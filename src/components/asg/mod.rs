//! `asg`: an EC2 Auto Scaling Group: instances that launch, warm up, serve, fail, drain and
//! terminate, and scaling policies fed by CloudWatch-style metrics.
//!
//! ```toml
//! [[component]]
//! name = "web"
//! kind = "asg"
//! min = 2
//! max = 20
//! desired = 2
//! vcpus = 2
//! handler = [ { compute = { dist = "exponential", mean = "40ms" } } ]
//! launch_time = { dist = "lognormal", mean = "60s", p99 = "150s" }
//!
//! [[component.policy]]
//! type = "target_tracking"
//! metric = "cpu_utilization"      # or "request_count_per_target"
//! target = 50
//! ```
//!
//! # What it follows
//! - Capacity: `desired` stays within [`min`, `max`]; the group launches or terminates
//!   instances until the instances it has (pending, in service) match `desired`.
//! - Lifecycle: a launched instance is *pending* for its `launch_time`, then *in service*: it
//!   registers with the load balancers whose `targets` is the group, which send it traffic once
//!   it passes their health checks. For `instance_warmup` after that it is *warming up*: not
//!   counted in the group's aggregated metrics nor in the current capacity that step and target
//!   tracking policies scale from.
//! - Scale-in terminates the instance launched first (`termination_policy = "oldest_instance"`,
//!   the default; `"newest_instance"` takes the last). A terminating instance is deregistered and
//!   drains (see the `alb` model); it terminates once drained, so no request is lost.
//! - Health: a failed instance (see `failures` and `mtbf`) is found unhealthy by its EC2 status
//!   checks (`health_check_type = "ec2"`, the default) or, with `"elb"`, also when a load
//!   balancer marks it unhealthy; health checks do not count during
//!   `health_check_grace_period` after launch. An unhealthy instance is terminated and replaced.
//! - Metrics (CloudWatch-style, one datapoint per `metric_period`, visible to alarms
//!   `metric_publication_delay` later): `cpu_utilization` (percent: busy vCPU time over total, of
//!   the warm in-service instances, averaged over them) and `request_count_per_target`
//!   (requests routed to the group by its load balancers in the period, per warm in-service
//!   instance) and `backlog_per_instance` (visible messages of the `sqs` queues the group
//!   consumes, at the end of the period, per warm in-service instance).
//! - Policies: `target_tracking` (scale out when 3 of 3 datapoints are above the target, to
//!   ceil(warm capacity × metric / target); scale in when 15 of 15 are below 90 % of the target,
//!   never while instances warm up, by the same proportion); `step` (an alarm; the step whose
//!   bounds contain the breach sets the adjustment, applied to the warm capacity while the alarm
//!   stays in ALARM; scale-in waits for warm-ups); `simple` (an alarm; one adjustment, then no
//!   simple-policy activity of the group until the activity's last launch or termination has
//!   completed and its `cooldown` has passed after that); scheduled actions set
//!   `min`, `max` and `desired` at given times. When several policies act at once, the largest
//!   resulting capacity wins.
//!
//! - Availability zones (with a `[region]`; `azs = [...]`, default every AZ of the region): a
//!   launch goes to the group's AZ with the fewest instances (pending or in service; ties to the
//!   first listed), skipping AZs that are down; scale-in first picks the AZ with the most
//!   instances, then applies the termination policy within it, so the group stays balanced.
//! - AZ outage (`[[fault]] kind = "az_outage"`): the AZ's instances stop answering (what they
//!   held is lost; requests sent to them vanish, so the load balancer answers 504 at its idle
//!   timeout). With `health_check_type = "ec2"` their EC2 status checks fail at once (after the
//!   grace period), as for a crash; with `"elb"` the group waits until a load balancer marks
//!   them unhealthy. Either way they are replaced, in the surviving AZs. Pending launches in the
//!   AZ are abandoned and relaunched elsewhere. When the AZ comes back, instances not yet
//!   replaced answer again, and the group rebalances as AWS's AZRebalance process does: it
//!   launches one instance in the least populated AZ first (beyond the desired capacity) and,
//!   once it is in service, terminates one from the most populated AZ (oldest first), until the
//!   AZs differ by at most one instance.
//!
//! # What it simplifies
//! Instances of a group are identical (one `speed`). `instance_hours` counts in-service and
//! draining time; the bill (with an `instance_type`) counts each instance from its launch
//! request to its termination, per second with a 60 s minimum (EC2 bills from the `running`
//! state, a few seconds after the request: the bill is that much high per launch). A crashed instance answers
//! nothing: requests it held are answered 502, as the load balancer would.
//!
//! # Where things are
//! - `spec`: the scenario table, its validation, and building a group from it.
//! - `lifecycle`: launch, in service, health-check grace, failure, replacement, draining and
//!   termination, and requests reaching the instances.
//! - `placement`: availability zones: where a launch goes, AZ outages, AZRebalance.
//! - `metrics`: the group's CloudWatch-style metrics, one datapoint per period.
//! - `policy`: scaling policies, each behind the `ScalingPolicy` trait in a file of its own,
//!   and the evaluation that lets the largest capacity win.
//! - `scheduled`: scheduled actions.
//! - `refresh`: instance refresh and CloudFormation rolling update: old instances replaced by a
//!   new version a batch at a time, reported as a deployment.
//! - `report`: scaling activities, time series and end-of-run figures.

mod census;
mod cloudformation;
mod codedeploy;
mod lifecycle;
mod metrics;
mod outputs;
mod placement;
mod policy;
mod refresh;
mod report;
mod scheduled;
mod spec;

pub use codedeploy::{CodeDeploySpec, DeploymentType};
pub use policy::{AdjustmentType, MetricName, PolicySpec, StepAdjustment};
pub use refresh::{NewVersion, RefreshSpec, RollingSpec};
pub use scheduled::ScheduledSpec;
pub use spec::{FailureSpec, HealthCheckType, Spec, TerminationPolicy};

use std::collections::VecDeque;

use super::instance_billing::InstanceRate;
use super::instances::Pool;
use crate::dist::Dist;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{Component, ComponentId};
use crate::message::Ctx;
use crate::message::Msg;
use crate::metrics::TimeWeighted;
use metrics::PeriodBase;
use policy::{Policy, SimpleScaling};
use report::Activity;

/// Instance counts of a scaling group at one moment.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct CapacityRow {
    /// Desired capacity.
    pub desired: u64,
    /// Instances launching (pending).
    pub pending: u64,
    /// Instances in service.
    pub in_service: u64,
    /// Instances draining before termination.
    pub draining: u64,
}

crate::timers! {
    /// The timers of a group. The payload is an instance (its index in the group), a job of the
    /// pool, an index into the sorted scheduled actions or failures, or unused (0).
    enum AsgTimer {
        /// A handler step of one of the pool's jobs ended (the job's id).
        Step,
        /// An instance's launch completed: it goes in service.
        Launched,
        /// A metric period ends.
        MetricPeriod,
        /// The datapoints of the period that just closed become visible: evaluate the policies.
        Evaluate,
        /// A scheduled action is due.
        Scheduled,
        /// A failure given in `failures` is due.
        Failure,
        /// An instance fails at random (`mtbf`).
        RandomFailure,
        /// An instance's health-check grace period is over.
        GraceOver,
        /// The metric period that ended a nanosecond ago closes (the queues have answered).
        MetricClose,
        /// An instance has served for the replacement's warmup or pause: it counts as ready.
        Ready,
        /// The instance refresh or rolling update starts.
        RefreshStart,
        /// An instance refresh's checkpoint pause is over.
        CheckpointOver,
        /// A step of the CodeDeploy deployment (its start, an instance's scripts done, the
        /// originals' termination, an alarm's evaluation).
        Deploy,
        /// A burstable instance's CPU credit balance ran out (the instance).
        CreditsEmpty,
    }
}

/// Where an instance is in its life.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum State {
    Pending,
    InService,
    /// Deregistered, finishing its requests before termination.
    Draining,
    Terminated,
}

/// One instance of the group.
#[derive(Clone, Debug)]
struct Instance {
    state: State,
    launched_at: SimTime,
    in_service_at: Option<SimTime>,
    /// From when it counts in metrics and current capacity.
    warm_from: SimTime,
    /// Index in the pool once in service (also the load balancers' target index).
    pool_index: Option<u32>,
    /// Crashed (fails health checks, answers nothing).
    failed: bool,
    /// Marked for replacement already.
    replacing: bool,
    /// Launched or being terminated by the running simple-scaling activity.
    simple_activity: bool,
    /// Load balancers and queues that have not yet reported the instance drained.
    drain_acks: u32,
    /// Availability zone (index into the region's AZs).
    az: u8,
    /// In an AZ that is down: answers nothing.
    unreachable: bool,
    /// Its application hangs (`instance_failure` with `mode = "hang"`): it answers nothing and
    /// fails load balancer health checks, but its EC2 status checks pass.
    hung: bool,
    /// Launched by rebalancing, beyond the desired capacity, until it is in service.
    rebalancing: bool,
    /// A load balancer's latest verdict was unhealthy (acted on after the grace period with
    /// `health_check_type = "elb"`).
    lb_unhealthy: bool,
    /// The version it runs: 0 the group's, 1 the one a replacement brings.
    version: u8,
    /// In service for the replacement's warmup or pause (the instances present at the start
    /// are): it counts toward the healthy capacity a replacement keeps.
    ready: bool,
    /// Where a CodeDeploy deployment has it (out of traffic or not).
    deploy: codedeploy::DeployStep,
}

impl Instance {
    /// An instance launched at `launched_at` into `az`, not yet in service.
    fn pending(az: u8, launched_at: SimTime, simple_activity: bool) -> Instance {
        Instance {
            state: State::Pending,
            launched_at,
            in_service_at: None,
            warm_from: SimTime::MAX,
            pool_index: None,
            failed: false,
            replacing: false,
            simple_activity,
            drain_acks: 0,
            az,
            unreachable: false,
            hung: false,
            rebalancing: false,
            lb_unhealthy: false,
            version: 0,
            ready: false,
            deploy: codedeploy::DeployStep::Serving,
        }
    }
}

/// A running Auto Scaling Group.
pub struct Asg {
    pool: Pool<AsgTimer>,
    /// The group's AZs (region indices), in launch preference order.
    azs: Vec<u8>,
    /// AZ names of the region, when the scenario declares AZs (for the report).
    az_names: Option<Vec<String>>,
    /// Bit per AZ that is down.
    az_down: u32,
    /// Instances terminated to rebalance AZs.
    rebalanced: u64,
    min: u32,
    max: u32,
    desired: u32,
    launch_time: Dist,
    grace: SimDuration,
    health_check_type: HealthCheckType,
    warmup: SimDuration,
    termination_policy: TerminationPolicy,
    metric_period: SimDuration,
    delay: SimDuration,
    mtbf: Option<SimDuration>,
    failures: Vec<FailureSpec>,
    scheduled: Vec<ScheduledSpec>,
    policies: Vec<Policy>,
    load_balancers: Vec<ComponentId>,
    /// Queues this group consumes (for the backlog metric).
    queues: Vec<ComponentId>,
    /// Visible messages of those queues, as last reported.
    backlog: u64,
    instances: Vec<Instance>,
    /// The instances counted by state, AZ and role, kept as they change.
    census: census::Census,
    /// Group instance of each pool index.
    by_pool: Vec<u32>,
    next_direct: usize,
    /// Requests routed here by load balancers in the current metric period.
    routed_requests: u64,
    activities: Vec<Activity>,
    in_service_hours: TimeWeighted,
    /// What one instance costs, when the scenario gives its type.
    rate: Option<InstanceRate>,
    /// Billed time in the measured window of the instances terminated so far (ns).
    billed_ns: u128,
    /// Of those, the instances with billed time in the window.
    billed_instances: usize,
    /// The bill as it accrues, for the time series.
    spend: report::SpendMeter,
    counts: CapacityRow,
    desired_max: u32,
    in_service_max: u32,
    replaced: u64,
    warmup_end: SimTime,
    /// The simple-scaling activity in progress and the simple policies' cooldown.
    simple: SimpleScaling,
    /// When a policy or scheduled action last changed the desired capacity.
    last_capacity_change: SimTime,
    /// Instance counts behind recent datapoints.
    period_bases: VecDeque<PeriodBase>,
    /// The instance refresh or rolling update, if the group has one.
    refresh: Option<refresh::Replacement>,
    /// Instances a replacement launches beyond the desired capacity.
    surge: u32,
    /// The version launches run (1 once a replacement has started).
    launch_version: u8,
    /// Speed and pool code of each version.
    versions: [(f64, u8); 2],
    /// The CodeDeploy deployment, if the group has one.
    codedeploy: Option<codedeploy::CodeDeploy>,
}

/// The time from `now` until `at` (a time since the start), zero if it is past.
fn until(at: SimDuration, now: SimTime) -> SimDuration {
    (SimTime::ZERO + at).saturating_since(now)
}

impl Component<Msg> for Asg {
    fn init(&mut self, cx: &mut Ctx<'_>) {
        // The group starts at its desired capacity, in service and warm.
        for _ in 0..self.desired {
            let id = self.push_pending(SimTime::ZERO);
            self.put_in_service(id, true, cx);
        }
        self.update_counts(cx.now());
        if !self.policies.is_empty() {
            cx.set_timer(self.metric_period, AsgTimer::MetricPeriod(0));
        }
        if let Some(first) = self.scheduled.first() {
            cx.set_timer(first.at, AsgTimer::Scheduled(0));
        }
        if let Some(first) = self.failures.first() {
            cx.set_timer(first.at, AsgTimer::Failure(0));
        }
        if let Some(r) = &self.refresh {
            cx.set_timer(r.at.saturating_since(cx.now()), AsgTimer::RefreshStart(0));
        }
        if let Some(d) = &self.codedeploy {
            let (delay, timer) = d.start_timer(cx.now());
            cx.set_timer(delay, timer);
        }
    }

    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => self.on_request(request, cx),
            Msg::Control(control) => self.on_control(control, cx),
            Msg::Timer(timer) => match AsgTimer::from(timer) {
                AsgTimer::Step(job) => {
                    if let Some(p) = self.pool.on_step_done(job, cx) {
                        self.finish_if_drained_direct(p, cx);
                    }
                }
                AsgTimer::Launched(id) => self.on_launched(id as u32, cx),
                AsgTimer::CreditsEmpty(i) => self.pool.on_credits_empty(i as u32, cx),
                AsgTimer::MetricPeriod(_) => self.on_metric_period(cx),
                AsgTimer::MetricClose(_) => self.on_metric_close(cx),
                AsgTimer::Evaluate(_) => self.on_evaluate(cx),
                AsgTimer::Scheduled(index) => self.on_scheduled(index as usize, cx),
                AsgTimer::Failure(index) => self.on_failure(index as usize, cx),
                AsgTimer::RandomFailure(id) => self.fail(id as u32, cx),
                AsgTimer::GraceOver(id) => self.on_grace_over(id as u32, cx),
                AsgTimer::Ready(id) => self.on_ready(id as u32, cx),
                AsgTimer::RefreshStart(_) => self.on_refresh_start(cx),
                AsgTimer::CheckpointOver(_) => self.on_checkpoint_over(cx),
                AsgTimer::Deploy(id) => self.on_deploy_timer(id, cx),
            },
            Msg::Response(response) => {
                if let Some(p) = self.pool.on_response(response, cx) {
                    self.finish_if_drained_direct(p, cx);
                }
            }
            // A call whose callee's instance was lost: the call failed (timed out).
            Msg::Lost(request) => {
                if let Some(p) = self.pool.on_lost(request, cx) {
                    self.finish_if_drained_direct(p, cx);
                }
            }
        }
        self.count_versions();
        self.count_deploy_versions();
    }
}
