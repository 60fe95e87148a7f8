//! Availability zones: where a launch goes, what an AZ outage does to the group, and
//! AZRebalance once the AZ is back.

use rand::Rng;

use super::spec::HealthCheckType;
use super::{Asg, State};
use crate::message::Ctx;
use crate::message::FaultAction;

impl Asg {
    /// Instances (pending or in service, not being replaced) per AZ of the group, in `azs`
    /// order.
    pub(super) fn per_az(&self) -> &[u32] {
        &self.census.per_az
    }

    fn az_is_down(&self, az: u8) -> bool {
        self.az_down & (1 << az) != 0
    }

    /// The AZ a new instance goes to: the group's AZ that is up with the fewest instances
    /// (ties to the first listed); if every AZ is down, the one with the fewest.
    pub(super) fn launch_az(&self) -> u8 {
        let counts = self.per_az();
        let pick = |up_only: bool| {
            (0..self.azs.len())
                .filter(|&k| !up_only || !self.az_is_down(self.azs[k]))
                .min_by_key(|&k| (counts[k], k))
        };
        let k = pick(true)
            .or_else(|| pick(false))
            .expect("a group has an AZ");
        self.azs[k]
    }

    /// A fault starts or ends: an AZ goes down or comes back, an instance crashes, or the
    /// instances' latency or errors change (see `crate::faults`).
    pub(super) fn on_fault(&mut self, action: FaultAction, cx: &mut Ctx<'_>) {
        let now = cx.now();
        match action {
            FaultAction::AzDown { az } => {
                if !self.azs.contains(&az) {
                    return;
                }
                self.az_down |= 1 << az;
                let d = self.desired;
                for id in 0..self.instances.len() as u32 {
                    let inst = &mut self.instances[id as usize];
                    if inst.az != az {
                        continue;
                    }
                    match inst.state {
                        State::Pending => {
                            // The launch cannot complete in a failed AZ: it is abandoned.
                            self.change(id, |i| {
                                i.state = State::Terminated;
                                i.rebalancing = false;
                            });
                            self.bill_stopped(id, now);
                            self.instance_settled(id, now);
                            self.record(
                                now,
                                "launch_failed",
                                d,
                                d,
                                format!("instance {id}: its availability zone is down"),
                            );
                        }
                        State::InService | State::Draining if !inst.failed => {
                            inst.unreachable = true;
                            let p = inst.pool_index.expect("in service");
                            let in_service = inst.state == State::InService;
                            self.pool.isolate(p, cx);
                            if in_service && self.health_check_type == HealthCheckType::Ec2 {
                                self.mark_unhealthy(id, "failed its EC2 status check", cx);
                            }
                        }
                        _ => {}
                    }
                }
                self.reconcile(cx);
            }
            FaultAction::AzUp { az } => {
                if !self.azs.contains(&az) {
                    return;
                }
                self.az_down &= !(1 << az);
                for inst in &mut self.instances {
                    if inst.az == az && inst.unreachable {
                        inst.unreachable = false;
                        if let (Some(p), false) = (inst.pool_index, inst.failed || inst.hung)
                            && matches!(inst.state, State::InService | State::Draining)
                        {
                            // Back, empty. Not replaced yet, it stayed registered with its
                            // load balancers, whose health checks see it pass again (AWS keeps
                            // the registration through an outage).
                            self.pool.reconnect(p, now);
                        }
                    }
                }
                self.rebalance(cx);
            }
            FaultAction::InstanceFailure | FaultAction::InstanceHang => {
                let up: Vec<u32> = (0..self.instances.len() as u32)
                    .filter(|&id| {
                        let i = &self.instances[id as usize];
                        i.state == State::InService && !i.failed && !i.unreachable && !i.hung
                    })
                    .collect();
                if !up.is_empty() {
                    let id = up[self.pool.fault_rng(cx.rng()).random_range(0..up.len())];
                    if action == FaultAction::InstanceHang {
                        self.hang(id, cx);
                    } else {
                        self.fail(id, cx);
                    }
                }
            }
            action @ (FaultAction::Slowdown { .. } | FaultAction::Errors { .. }) => {
                self.pool.inject(action)
            }
        }
        self.update_counts(now);
    }

    /// AZRebalance: when the group's AZs that are up differ by more than one instance, launch
    /// one in the least populated (beyond the desired capacity); when it is in service, the
    /// most populated loses one (see `on_launched`), and this runs again.
    pub(super) fn rebalance(&mut self, cx: &mut Ctx<'_>) {
        if self.census.rebalancing > 0 {
            return;
        }
        let counts = self.per_az();
        let up: Vec<usize> = (0..self.azs.len())
            .filter(|&k| !self.az_is_down(self.azs[k]))
            .collect();
        let (Some(&low), Some(&high)) = (
            up.iter().min_by_key(|&&k| (counts[k], k)),
            up.iter().max_by_key(|&&k| (counts[k], k)),
        ) else {
            return;
        };
        if counts[high] <= counts[low] + 1 {
            return;
        }
        let d = self.desired;
        self.record(
            cx.now(),
            "rebalance",
            d,
            d,
            format!(
                "availability zones out of balance ({} instances in one, {} in another)",
                counts[high], counts[low]
            ),
        );
        self.launch(cx);
        let id = self.instances.len() as u32 - 1;
        self.change(id, |i| i.rebalancing = true);
        self.update_counts(cx.now());
    }
}
