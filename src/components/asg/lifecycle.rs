//! The life of the group's instances: launch, in service, health-check grace, failure and
//! replacement, draining and termination, and the requests that reach them.

use rand::Rng;

use super::spec::{HealthCheckType, TerminationPolicy};
use super::{Asg, AsgTimer, Instance, State, until};
use crate::engine::time::{SimDuration, SimTime};
use crate::message::Ctx;
use crate::message::{Control, Msg, NO_ROUTE, Outcome, Request};

impl Asg {
    /// Instances that count toward capacity: pending or in service and not being replaced.
    pub(super) fn active(&self) -> u32 {
        self.census.active
    }

    /// Adds a pending instance launched at `now`, in the AZ a launch goes to; returns its id.
    pub(super) fn push_pending(&mut self, now: SimTime) -> u32 {
        let az = self.launch_az();
        let simple_activity = self.simple.tagging();
        let mut instance = Instance::pending(az, now, simple_activity);
        instance.version = self.launch_version;
        self.add(instance)
    }

    /// Launches an instance: in service after its `launch_time`.
    pub(super) fn launch(&mut self, cx: &mut Ctx<'_>) {
        let id = self.push_pending(cx.now());
        if self.simple.tagging() {
            self.simple.join();
        }
        let delay = self.launch_time.sample(cx.rng());
        cx.set_timer(delay, AsgTimer::Launched(id as u64));
        if let Some(r) = &mut self.refresh
            && self.launch_version == 1
        {
            r.deployment
                .cold_start(crate::components::deployment::Version::New);
        }
    }

    /// Puts instance `id` in service at once (instances present when the run starts, and
    /// launches that complete).
    pub(super) fn put_in_service(&mut self, id: u32, healthy_from_start: bool, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let (speed, code) = self.versions[self.instances[id as usize].version as usize];
        let pool_index = self.pool.add_instance_running(speed, code, now);
        self.by_pool.push(id);
        let warmup = self.warmup;
        self.change(id, |inst| {
            inst.ready = healthy_from_start;
            inst.state = State::InService;
            inst.in_service_at = Some(now);
            // Instances present from the start are warm already.
            inst.warm_from = if healthy_from_start {
                now
            } else {
                now + warmup
            };
            inst.pool_index = Some(pool_index);
        });
        let inst = &self.instances[id as usize];
        for &lb in &self.load_balancers {
            cx.send(
                lb,
                Msg::Control(Control::Register {
                    instance: pool_index,
                    healthy: healthy_from_start,
                    az: inst.az,
                    group: cx.me(),
                }),
            );
        }
        if let Some(mtbf) = self.mtbf {
            let mean = mtbf.as_secs_f64();
            let u: f64 = cx.rng().random();
            let delay = SimDuration::from_secs_f64(-(1.0 - u).ln() * mean);
            cx.set_timer(delay, AsgTimer::RandomFailure(id as u64));
        }
        if !healthy_from_start && self.grace > SimDuration::ZERO {
            cx.set_timer(self.grace, AsgTimer::GraceOver(id as u64));
        }
        if let Some(r) = &self.refresh
            && !healthy_from_start
        {
            cx.set_timer(r.settle, AsgTimer::Ready(id as u64));
        }
    }

    /// Instance `id`'s launch completed (unless it was abandoned meanwhile): it goes in service.
    pub(super) fn on_launched(&mut self, id: u32, cx: &mut Ctx<'_>) {
        if self.instances[id as usize].state != State::Pending {
            return;
        }
        let from = self.desired;
        self.put_in_service(id, false, cx);
        self.instance_settled(id, cx.now());
        self.record(
            cx.now(),
            "in_service",
            from,
            from,
            format!("instance {id} in service"),
        );
        self.update_counts(cx.now());
        if self.instances[id as usize].rebalancing {
            // The new instance serves: one from the most populated AZ goes.
            self.change(id, |i| i.rebalancing = false);
            self.rebalanced += 1;
            self.reconcile(cx);
            self.rebalance(cx);
        }
    }

    /// Instance `id`'s grace period is over: a failure during it is acted on now.
    pub(super) fn on_grace_over(&mut self, id: u32, cx: &mut Ctx<'_>) {
        let inst = &self.instances[id as usize];
        if inst.failed || (inst.unreachable && self.health_check_type == HealthCheckType::Ec2) {
            self.mark_unhealthy(id, "failed its EC2 status check", cx);
        } else if inst.lb_unhealthy && self.health_check_type == HealthCheckType::Elb {
            // A verdict given during the grace period counts once it is over.
            self.mark_unhealthy(id, "failed its load balancer health checks", cx);
        }
    }

    /// Launches or terminates instances until the active ones match `desired`.
    pub(super) fn reconcile(&mut self, cx: &mut Ctx<'_>) {
        // A replacement may launch beyond the desired capacity (`surge`).
        let target = self.desired + self.surge;
        while self.active() < target {
            self.launch(cx);
        }
        while self.active() > target {
            // Scale-in keeps the AZs balanced: the most populated AZ loses an instance (ties
            // to the last listed, so launches and terminations do not chase each other).
            let counts = &self.census.per_az;
            let Some(k) = (0..self.azs.len()).max_by_key(|&k| (counts[k], k)) else {
                break;
            };
            // Ids follow launch times, so the lowest id is the instance launched first.
            let oldest = self.termination_policy == TerminationPolicy::OldestInstance;
            let Some(id) = self.census.scale_in_candidate(k, oldest) else {
                break;
            };
            self.terminate(id, cx);
        }
        self.update_counts(cx.now());
    }

    /// Starts terminating instance `id`: a pending one stops at once; an in-service one drains.
    pub(super) fn terminate(&mut self, id: u32, cx: &mut Ctx<'_>) {
        if self.simple.tagging() && !self.instances[id as usize].simple_activity {
            self.instances[id as usize].simple_activity = true;
            self.simple.join();
        }
        match self.instances[id as usize].state {
            State::Pending => {
                self.change(id, |i| i.state = State::Terminated);
                self.bill_stopped(id, cx.now());
                self.instance_settled(id, cx.now());
            }
            State::InService => {
                let acks = self.load_balancers.len() as u32;
                self.change(id, |i| {
                    i.state = State::Draining;
                    i.drain_acks = acks;
                });
                let pool_index = self.instances[id as usize].pool_index.expect("in service");
                if self.load_balancers.is_empty() {
                    self.finish_if_drained(pool_index, cx);
                } else {
                    self.deregister(pool_index, cx);
                }
            }
            State::Draining | State::Terminated => {}
        }
    }

    /// Every load balancer (and queue) stops sending to the instance at `pool_index`; each
    /// answers [`Control::Drained`] once it has drained.
    pub(super) fn deregister(&self, pool_index: u32, cx: &mut Ctx<'_>) {
        for &lb in &self.load_balancers {
            cx.send(
                lb,
                Msg::Control(Control::Deregister {
                    instance: pool_index,
                    group: cx.me(),
                }),
            );
        }
    }

    /// Without a load balancer, a draining instance terminates when it holds no request.
    fn finish_if_drained(&mut self, pool_index: u32, cx: &mut Ctx<'_>) {
        let id = self.by_pool[pool_index as usize];
        if self.instances[id as usize].state == State::Draining && self.pool.load(pool_index) == 0 {
            self.finish_termination(id, cx);
        }
    }

    fn finish_termination(&mut self, id: u32, cx: &mut Ctx<'_>) {
        let now = cx.now();
        if self.instances[id as usize].state == State::Terminated {
            return;
        }
        self.change(id, |i| i.state = State::Terminated);
        if let Some(p) = self.instances[id as usize].pool_index {
            // Anything still held after the deregistration delay is cut off (502).
            self.pool.crash(p, cx);
            self.pool.remove(p, now);
        }
        self.bill_stopped(id, now);
        self.instance_settled(id, now);
        self.update_counts(now);
    }

    /// The instance routed requests go to when nobody chose one.
    fn direct_target(&mut self) -> Option<u32> {
        // The serving instances take turns, in id order.
        let serving = self.census.serving() as usize;
        if serving == 0 {
            return None;
        }
        let k = self.next_direct % serving;
        self.next_direct = self.next_direct.wrapping_add(1);
        let id = self.census.nth_serving(k as u32);
        self.instances[id as usize].pool_index
    }

    pub(super) fn on_request(&mut self, request: Request, cx: &mut Ctx<'_>) {
        let target = if request.route != NO_ROUTE {
            self.routed_requests += 1;
            Some(request.route)
        } else {
            self.direct_target()
        };
        match target {
            Some(p) if (p as usize) < self.by_pool.len() => {
                let id = self.by_pool[p as usize] as usize;
                let inst = &self.instances[id];
                if (inst.unreachable || inst.hung)
                    && !inst.failed
                    && inst.state != State::Terminated
                {
                    // Its AZ is down or its application hangs: the request vanishes.
                    self.pool.swallow(request, cx);
                } else if inst.failed || inst.state == State::Terminated {
                    // Nothing listens there any more: the connection is refused.
                    self.pool.refuse(request, Outcome::Error(502), cx);
                } else {
                    self.pool.accept(request, p, cx);
                }
            }
            _ => self.pool.refuse(request, Outcome::Error(503), cx),
        }
    }

    pub(super) fn mark_unhealthy(&mut self, id: u32, reason: &str, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let inst = &self.instances[id as usize];
        if inst.replacing || inst.state != State::InService {
            return;
        }
        // Health checks do not count during the grace period after launch.
        // (It runs from when the instance came into service; the starting instances have none.)
        if inst.launched_at > SimTime::ZERO
            && inst.in_service_at.is_some_and(|t| now < t + self.grace)
        {
            return;
        }
        self.change(id, |i| i.replacing = true);
        self.replaced += 1;
        let d = self.desired;
        self.record(now, "replace", d, d, format!("instance {id} {reason}"));
        // Terminate it now (nothing useful can drain from a failed instance) and launch a
        // replacement.
        let pool_index = self.instances[id as usize].pool_index.expect("in service");
        self.change(id, |i| i.state = State::Draining);
        self.deregister(pool_index, cx);
        self.finish_termination(id, cx);
        self.reconcile(cx);
    }

    pub(super) fn fail(&mut self, id: u32, cx: &mut Ctx<'_>) {
        let inst = &self.instances[id as usize];
        if inst.state != State::InService || inst.failed {
            return;
        }
        let pool_index = inst.pool_index.expect("in service");
        self.change(id, |i| i.failed = true);
        self.pool.crash(pool_index, cx);
        // EC2 status checks see a failed instance (after the grace period).
        self.mark_unhealthy(id, "failed its EC2 status check", cx);
    }

    /// Instance `id`'s application hangs: what it holds is lost and it answers nothing more,
    /// but the instance runs, so EC2 status checks pass: only a load balancer's health checks
    /// catch it, and the group replaces it only with `health_check_type = "elb"` (when the
    /// load balancer reports it unhealthy).
    pub(super) fn hang(&mut self, id: u32, cx: &mut Ctx<'_>) {
        let inst = &self.instances[id as usize];
        if inst.state != State::InService || inst.failed || inst.hung {
            return;
        }
        let pool_index = inst.pool_index.expect("in service");
        self.change(id, |i| i.hung = true);
        self.pool.isolate(pool_index, cx);
    }

    pub(super) fn on_control(&mut self, control: Control, cx: &mut Ctx<'_>) {
        match control {
            Control::HealthCheck { instance, from } => {
                let id = self.by_pool.get(instance as usize).copied();
                let healthy = id.is_some_and(|id| {
                    let i = &self.instances[id as usize];
                    !i.failed
                        && !i.unreachable
                        && !i.hung
                        && matches!(i.state, State::InService | State::Draining)
                });
                cx.send(
                    from,
                    Msg::Control(Control::HealthCheckResult {
                        instance,
                        healthy,
                        group: cx.me(),
                    }),
                );
            }
            Control::TargetHealth { instance, healthy } => {
                let id = self.by_pool[instance as usize];
                self.instances[id as usize].lb_unhealthy = !healthy;
                if healthy {
                    self.deploy_target_healthy(id, cx);
                }
                if !healthy && self.health_check_type == HealthCheckType::Elb {
                    let id = self.by_pool[instance as usize];
                    self.mark_unhealthy(id, "failed its load balancer health checks", cx);
                }
            }
            Control::Drained { instance } => {
                // Terminate once every load balancer and queue has drained the instance.
                let id = self.by_pool[instance as usize];
                let inst = &mut self.instances[id as usize];
                if inst.state == State::Draining {
                    inst.drain_acks = inst.drain_acks.saturating_sub(1);
                    if inst.drain_acks == 0 {
                        self.finish_termination(id, cx);
                    }
                } else {
                    self.deploy_drained(id, cx);
                }
            }
            Control::QueueDepth { visible } => {
                self.backlog += visible;
            }
            Control::Fault(action) => self.on_fault(action, cx),
            Control::QueryDepth { .. }
            | Control::Register { .. }
            | Control::ConnectionClosed { .. }
            | Control::Deregister { .. }
            | Control::HealthCheckResult { .. } => {
                debug_assert!(false, "an asg does not receive {control:?}")
            }
        }
    }

    /// Failures given in `failures`, entry `index` (of the entries sorted by time), are due:
    /// the oldest in-service instances that have not failed fail; the next entry is armed.
    pub(super) fn on_failure(&mut self, index: usize, cx: &mut Ctx<'_>) {
        let count = self.failures[index].count;
        let mut victims: Vec<u32> = (0..self.instances.len() as u32)
            .filter(|&id| {
                let i = &self.instances[id as usize];
                i.state == State::InService && !i.failed
            })
            .collect();
        victims.truncate(count as usize);
        for id in victims {
            self.fail(id, cx);
        }
        if let Some(next) = self.failures.get(index + 1) {
            cx.set_timer(
                until(next.at, cx.now()),
                AsgTimer::Failure((index + 1) as u64),
            );
        }
    }

    /// Instance `id` finished launching or terminating: if a simple activity started it, count
    /// it done.
    pub(super) fn instance_settled(&mut self, id: u32, now: SimTime) {
        let inst = &mut self.instances[id as usize];
        if inst.simple_activity {
            inst.simple_activity = false;
            self.simple.step_done(1, now);
        }
    }

    /// After a job ends: a draining instance without load balancers terminates once idle.
    pub(super) fn finish_if_drained_direct(&mut self, pool_index: u32, cx: &mut Ctx<'_>) {
        if self.load_balancers.is_empty() {
            self.finish_if_drained(pool_index, cx);
        }
    }
}
