//! `nlb`: a Network Load Balancer (layer 4) with one TCP listener forwarding to one target group.
//!
//! ```toml
//! [[component]]
//! name = "tcp-lb"
//! kind = "nlb"
//! targets = "web"                  # an ec2_fleet or asg: its instances are the targets
//! cross_zone = false               # default (AWS: off for NLB)
//! idle_timeout = "350s"            # a flow idle this long leaves the flow table
//! deregistration_delay = "300s"    # how long a deregistered target keeps its flows
//! health_check = { interval = "30s", healthy_threshold = 5, unhealthy_threshold = 2 }
//! ```
//! Defaults come from `models/nlb.toml` (AWS values, `shared/aws-facts.md` part A, "NLB").
//! Send it requests over client connections (a workload's `connections`) to see what it does:
//! without them every request is its own connection and the NLB spreads them like a random
//! split.
//!
//! # What it follows
//! - **Flow hash.** A new connection (the request that opens it, [`Connection::opens`]) goes to
//!   the target picked by a hash of (protocol TCP = 6, source IP and port, destination IP and
//!   port, initial TCP sequence number): FNV-1a 64 over those 17 bytes in network order
//!   ([`flow_hash`]), reduced to a target by its high bits ([`reduce`]), among the candidate
//!   targets in instance order. The destination is the NLB node's address in its AZ
//!   (`172.31.<az>.10`, port 80). Every later request of the connection goes to the same target
//!   for the connection's life (the flow table: connection → target). AWS: "routes each
//!   individual TCP connection to a single target for the life of the connection"
//!   (`aws-facts.md` §1.1).
//! - **Nodes and cross-zone.** The NLB has a node in each AZ that has candidate targets; a new
//!   connection lands on a node by a hash of its source (DNS resolution, [`dns_hash`]). With
//!   `cross_zone = false` (AWS's default for NLB) a node picks only among the candidates of its
//!   own AZ; with it on, among all.
//! - **Candidates** are the healthy targets; if none is healthy but some are registered, all
//!   of those (AWS documents that NLB fails open too); with none registered the connection is
//!   reset. There is no HTTP at layer 4: no 502/503/504 from the NLB itself. A target that is
//!   full answers its own 503, as the instance's server would.
//! - **Flow table and its end.** A flow leaves the table when the client closes the connection
//!   (its FIN: `Control::ConnectionClosed`), when it has been idle (no request in flight and
//!   none for `idle_timeout`, 350 s for TCP), or when it is reset (below). A request on a
//!   connection the table does not hold, which does not open one, gets a TCP reset
//!   ([`CONNECTION_RESET`], counted as failed); the client then reconnects on its next
//!   request, which may hash to another target. A one-request connection
//!   ([`Connection::single`]) never enters the table: its request is the whole flow.
//! - **Deregistration.** A deregistered target takes no new flow; its existing flows keep
//!   going to it until they close or `deregistration_delay` (300 s) ends. Then they are reset
//!   (removed from the table: their next request gets a reset) and the group is told the target
//!   is drained (the ASG terminates the instance; requests still inside fail, as resets, see
//!   below). When its last flow closes and its last request is answered before that, it is
//!   drained at once. (AWS leaves such flows open after the delay unless "connection
//!   termination on deregistration" is on; a group terminates the instance then, so they could
//!   not carry on anyway.)
//! - **Gone targets.** A deregistered target whose instance is gone (crashed, or terminated
//!   after the delay) refuses requests with 502 ("nothing listens there"); at layer 4 that is
//!   a dropped connection, so the NLB passes it on as a reset and the flow ends
//!   (`dropped_by_target`). An instance that crashes is deregistered at once by its group; the
//!   requests it held fail with 502, and the next request on each of its connections is
//!   reset, after which the client reconnects elsewhere. (A draining target that answers 502
//!   for another reason, a failed downstream call, is taken for gone too.)
//! - **Unhealthy targets.** Health checks as the ALB does them (see [`super::health`]). When a
//!   target becomes unhealthy its flows are reset at once: AWS's default for NLB target groups
//!   ("unhealthy target connection termination" on).
//!
//! # What it simplifies
//! The NLB adds no processing time of its own, only the region's hop latency (with a
//! `[region]`: node → target and back, plus the cross-AZ extra when they are in different
//! AZs, as for the ALB); it never times a request out (an L4 balancer does not read answers);
//! health checks are answered at once; in an AZ outage its nodes survive and health checks
//! take the dead targets out. Only TCP; one listener; no source-IP
//! stickiness, no TLS termination, no UDP. Requests already forwarded on a reset flow still
//! get their answers (a real reset would cut them off too).
//!
//! # Figures
//! `target_requests` and `target_connections` (flows opened per target in the measured
//! window, one-request connections included), `imbalance` (max over mean of
//! `target_requests` over the targets registered at the end or that got any request: unlike
//! the ALB's, a registered target left idle counts, as that is the imbalance to see),
//! `connection_imbalance` (the same for `target_connections`; 0 when no connection opened in
//! the window, as long-lived ones opened during the warm-up), `target_open_connections` (flows
//! per target in the table at the end), `flows_open_end`,
//! `flows_closed`, `flows_idled_out`, `flows_reset` (by deregistration, unhealthy or gone
//! targets), `connection_resets` (requests the NLB answered with a reset: no flow, no
//! target), `dropped_by_target` (requests a gone target refused, passed on as resets),
//! `cross_zone`.

use std::collections::HashMap;

use serde::Deserialize;
use toml::Spanned;

use super::health::{
    HealthCheck, HealthCheckSpec, TargetState, Targets, imbalance, target_group, targets_reference,
};
use super::{BuildContext, Kind, Reference, SpecIssue};
use crate::engine::rng::fnv1a64;
use crate::engine::slab::Slab;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::timer::{TimerSlot, timer_index};
use crate::engine::{Component, ComponentId, Ctx};
use crate::message::{CONNECTION_RESET, Connection, Control, Msg, Outcome, Request, Response};
use crate::metrics::{ComponentReport, Observe, RequestMetrics, SeriesRow};
use crate::region::HopLatency;
use crate::units::PositiveDuration;

/// The `nlb` table of a scenario.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The target group: the name of an `ec2_fleet` or `asg`.
    pub targets: Spanned<String>,
    /// Cross-zone load balancing (default from `models/nlb.toml`: off).
    pub cross_zone: Option<bool>,
    /// A flow idle this long leaves the flow table (default 350 s).
    pub idle_timeout: Option<PositiveDuration>,
    /// How long a deregistered target keeps its existing flows (default 300 s).
    pub deregistration_delay: Option<SimDuration>,
    /// Target health checks.
    pub health_check: Option<HealthCheckSpec>,
}

/// IP protocol number of TCP, the first field of the flow hash.
pub const PROTOCOL_TCP: u8 = 6;
/// The listener's port.
pub const LISTENER_PORT: u16 = 80;

/// The address of the NLB's node in AZ `az`: `172.31.<az>.10`.
pub fn node_ip(az: u8) -> u32 {
    0xAC1F_000A | ((az as u32) << 8)
}

/// The flow hash: FNV-1a 64 over (protocol, source IP, source port, destination IP, destination
/// port, initial sequence number), each in network byte order. Stable across Rust versions and
/// runs (no `HashMap` seed involved).
pub fn flow_hash(
    protocol: u8,
    source_ip: u32,
    source_port: u16,
    destination_ip: u32,
    destination_port: u16,
    isn: u32,
) -> u64 {
    let mut bytes = [0u8; 17];
    bytes[0] = protocol;
    bytes[1..5].copy_from_slice(&source_ip.to_be_bytes());
    bytes[5..7].copy_from_slice(&source_port.to_be_bytes());
    bytes[7..11].copy_from_slice(&destination_ip.to_be_bytes());
    bytes[11..13].copy_from_slice(&destination_port.to_be_bytes());
    bytes[13..17].copy_from_slice(&isn.to_be_bytes());
    fnv1a64(&bytes)
}

/// Which node (AZ) a new connection reaches: a hash of its source, standing for the client's
/// DNS resolution of the NLB's name.
pub fn dns_hash(connection: &Connection) -> u64 {
    let mut bytes = [0u8; 13];
    bytes[..3].copy_from_slice(b"dns");
    bytes[3..7].copy_from_slice(&connection.source_ip.to_be_bytes());
    bytes[7..9].copy_from_slice(&connection.source_port.to_be_bytes());
    bytes[9..13].copy_from_slice(&connection.isn.to_be_bytes());
    fnv1a64(&bytes)
}

/// Maps a 64-bit hash to `0..n` by its high bits (`hash × n / 2⁶⁴`): FNV-1a's low bits depend
/// only on the inputs' low bits, its high bits on all of them.
pub fn reduce(hash: u64, n: usize) -> usize {
    ((hash as u128 * n as u128) >> 64) as usize
}

impl Kind for Spec {
    const KIND: &'static str = "nlb";
    const ACCEPTS_REQUESTS: bool = true;

    fn references(&self) -> Vec<Reference<'_>> {
        targets_reference(&self.targets)
    }

    fn check(&self, _span: std::ops::Range<usize>) -> Vec<SpecIssue> {
        HealthCheckSpec::issues(self.health_check.as_ref())
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String> {
        let target_name = self.targets.get_ref();
        target_group(cx, target_name)?;
        let mut nlb = self.runtime(cx.id(target_name), cx.warmup_end);
        nlb.hops = cx.region.hops();
        Ok(Box::new(nlb))
    }
}

impl Spec {
    /// The running NLB in front of `group`, with the defaults of `models/nlb.toml` for what
    /// the spec leaves out.
    fn runtime(&self, group: ComponentId, warmup_end: SimTime) -> Nlb {
        let defaults = crate::defaults::nlb();
        let health = HealthCheckSpec::settings(
            self.health_check.as_ref(),
            HealthCheck {
                interval: defaults.health_check_interval,
                healthy_threshold: defaults.healthy_threshold,
                unhealthy_threshold: defaults.unhealthy_threshold,
            },
        );
        let deregistration_delay = self
            .deregistration_delay
            .unwrap_or(defaults.deregistration_delay);
        Nlb {
            cross_zone: self.cross_zone.unwrap_or(defaults.cross_zone),
            hops: HopLatency::default(),
            idle_timeout: self.idle_timeout.map_or(defaults.idle_timeout, |d| d.0),
            targets: Targets::new(group, health, deregistration_delay),
            flows: Slab::default(),
            flow_by_key: HashMap::new(),
            idle_timers: Vec::new(),
            next_flow_generation: 0,
            forwards: Slab::default(),
            scratch: Vec::new(),
            in_flight: 0,
            figures: Figures::default(),
            metrics: RequestMetrics::new(warmup_end),
        }
    }
}

/// What the NLB keeps of a target besides what every load balancer keeps (a draining target
/// keeps its flows until they end or the delay is over; an unhealthy one has had its flows
/// reset).
#[derive(Clone, Debug, Default)]
struct TargetFlows {
    /// Flows in the table that go here.
    flows: u32,
    /// Flows (connections) opened to it in the measured window.
    connections: u64,
    /// Forwards lost with its instance (its AZ failed), answered with a reset at its next
    /// health check or at the end of its deregistration delay.
    lost: Vec<u32>,
}

/// One entry of the flow table.
#[derive(Clone, Debug)]
struct Flow {
    key: (u32, u16, u32),
    target: u32,
    /// The AZ of the node the connection landed on.
    node_az: u8,
    /// Requests of the flow forwarded and not yet answered.
    outstanding: u32,
    /// The last request or answer of the flow.
    last_active: SimTime,
    /// Tells this flow from earlier users of its slot.
    generation: u64,
}

/// What the NLB remembers of a request it forwarded.
#[derive(Clone, Debug)]
struct Forward {
    /// The request as the client sent it.
    request: Request,
    arrived: SimTime,
    target: u32,
    /// The AZ of the node that received the request.
    node_az: u8,
    /// The flow (slot, generation), `None` for a one-request connection.
    flow: Option<(u32, u64)>,
}

/// Counters reported at the end (measured window where it says so).
#[derive(Clone, Debug, Default)]
struct Figures {
    flows_closed: u64,
    flows_idled_out: u64,
    flows_reset: u64,
    /// Requests answered with a reset, in the measured window.
    connection_resets: u64,
    /// Requests a deregistered target refused (its instance gone), passed on as resets.
    dropped_by_target: u64,
}

crate::timers! {
    /// The NLB's timers.
    enum NlbTimer {
        /// A target's health check is due (its timer slot's payload).
        HealthCheck,
        /// A deregistered target's deregistration delay is over (its timer slot's payload).
        DrainDeadline,
        /// A flow may have been idle for the idle timeout (its timer slot's payload).
        FlowIdle,
    }
}

/// A running NLB.
pub struct Nlb {
    cross_zone: bool,
    /// One-way hop latency from a node to a target in its AZ, and the cross-AZ extra (zero
    /// without a `[region]`).
    hops: HopLatency,
    idle_timeout: SimDuration,
    /// The target group's instances, by instance index.
    targets: Targets<TargetFlows>,
    flows: Slab<Flow>,
    /// Lookups only: never iterated where order could matter.
    flow_by_key: HashMap<(u32, u16, u32), u32>,
    /// The idle timer of each flow slot. Kept apart from the flows so a slot's generations
    /// carry on across its users, and a timer of an earlier user never fires for a later one.
    idle_timers: Vec<TimerSlot>,
    next_flow_generation: u64,
    forwards: Slab<Forward>,
    /// Reused buffer of candidate targets.
    scratch: Vec<u32>,
    in_flight: u64,
    figures: Figures,
    metrics: RequestMetrics,
}

impl Nlb {
    /// The node (its AZ) and target for a new connection, or `None` when no target is
    /// registered.
    fn choose(&mut self, connection: &Connection) -> Option<(u8, u32)> {
        let mut pool = std::mem::take(&mut self.scratch);
        pool.clear();
        pool.extend(self.targets.in_state(TargetState::Healthy));
        if pool.is_empty() {
            // Fail open: every registered target that is not draining.
            pool.extend(self.targets.fail_open());
        }
        let chosen =
            choose_node_and_target(connection, &pool, |t| self.targets[t].az, self.cross_zone);
        self.scratch = pool;
        chosen
    }

    fn reset(&mut self, request: Request, now: SimTime, cx: &mut Ctx<'_>) {
        if self.metrics.in_window(now) {
            self.figures.connection_resets += 1;
        }
        let outcome = Outcome::Error(CONNECTION_RESET);
        self.metrics.finished(now, now, outcome);
        cx.reply(Response { request, outcome });
    }

    fn on_request(&mut self, request: Request, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.metrics.arrived(now);
        let connection = request.connection;
        let key = connection.key();
        let known = self.flow_by_key.get(&key).copied();
        let (node_az, target, flow) = if connection.opens {
            if let Some(old) = known {
                // The client reused the tuple: the old flow is over.
                self.remove_flow(old, cx);
            }
            let Some((node_az, target)) = self.choose(&connection) else {
                self.reset(request, now, cx);
                return;
            };
            if self.metrics.in_window(now) {
                self.targets[target].extra.connections += 1;
            }
            let flow = (!connection.single).then(|| self.add_flow(key, node_az, target, now, cx));
            (node_az, target, flow)
        } else {
            let live = known.filter(|&slot| {
                let f = &self.flows[slot];
                f.outstanding > 0 || now < f.last_active + self.idle_timeout
            });
            match (known, live) {
                (_, Some(slot)) => {
                    let f = &self.flows[slot];
                    (f.node_az, f.target, Some((slot, f.generation)))
                }
                (Some(stale), None) => {
                    // Idle past the timeout at this very instant: gone, as if its timer had
                    // fired first.
                    self.figures.flows_idled_out += 1;
                    self.remove_flow(stale, cx);
                    self.reset(request, now, cx);
                    return;
                }
                (None, None) => {
                    self.reset(request, now, cx);
                    return;
                }
            }
        };
        if let Some((slot, _)) = flow {
            let f = &mut self.flows[slot];
            f.outstanding += 1;
            f.last_active = now;
        }
        let t = &mut self.targets[target];
        t.outstanding += 1;
        if self.metrics.in_window(now) {
            t.requests += 1;
        }
        self.in_flight += 1;
        let slot = self.forwards.insert(Forward {
            request,
            arrived: now,
            target,
            node_az,
            flow,
        });
        let forwarded = Request {
            reply_to: cx.me(),
            tag: slot as u64,
            route: target,
            ..request
        };
        let delay = self.hops.between(node_az, self.targets[target].az);
        cx.send_after(self.targets.group(), delay, Msg::Request(forwarded));
    }

    fn add_flow(
        &mut self,
        key: (u32, u16, u32),
        node_az: u8,
        target: u32,
        now: SimTime,
        cx: &mut Ctx<'_>,
    ) -> (u32, u64) {
        let generation = self.next_flow_generation;
        self.next_flow_generation += 1;
        let slot = self.flows.insert(Flow {
            key,
            target,
            node_az,
            outstanding: 0,
            last_active: now,
            generation,
        });
        self.flow_by_key.insert(key, slot);
        self.targets[target].extra.flows += 1;
        if self.idle_timers.len() <= slot as usize {
            self.idle_timers
                .resize(slot as usize + 1, TimerSlot::default());
        }
        self.idle_timers[slot as usize].arm(cx, self.idle_timeout, NlbTimer::FlowIdle, slot);
        (slot, generation)
    }

    /// Takes flow `slot` out of the table; its target may now be drained.
    fn remove_flow(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let flow = &self.flows[slot];
        let (key, target) = (flow.key, flow.target);
        self.flow_by_key.remove(&key);
        self.idle_timers[slot as usize].cancel();
        self.flows.remove(slot);
        self.targets[target].extra.flows -= 1;
        self.maybe_drained(target, cx);
    }

    fn on_response(&mut self, response: Response, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let slot = response.request.tag as u32;
        let forward = self.forwards[slot].clone();
        self.forwards.remove(slot);
        let target = &mut self.targets[forward.target];
        target.outstanding -= 1;
        // A deregistered target that refuses the request (502: nothing listens there any
        // more, the instance is gone) has dropped the connection: at layer 4 that is a reset,
        // and the flow is over.
        let dropped = response.outcome == Outcome::Error(502)
            && matches!(target.state, TargetState::Draining | TargetState::Unused);
        let outcome = if dropped {
            if self.metrics.in_window(forward.arrived) {
                self.figures.dropped_by_target += 1;
            }
            Outcome::Error(CONNECTION_RESET)
        } else {
            response.outcome
        };
        if let Some((flow, generation)) = forward.flow
            && self.flows.is_live(flow)
            && self.flows[flow].generation == generation
        {
            let f = &mut self.flows[flow];
            f.outstanding -= 1;
            f.last_active = now;
            if dropped {
                self.figures.flows_reset += 1;
                self.remove_flow(flow, cx);
            }
        }
        self.in_flight -= 1;
        // The answer travels back from the target to the node.
        let back = self
            .hops
            .between(self.targets[forward.target].az, forward.node_az);
        self.metrics.finished(forward.arrived, now + back, outcome);
        cx.send_after(
            forward.request.reply_to,
            back,
            Msg::Response(Response {
                request: forward.request,
                outcome,
            }),
        );
        self.maybe_drained(forward.target, cx);
    }

    fn on_idle_timer(&mut self, id: u64, cx: &mut Ctx<'_>) {
        let slot = timer_index(id);
        if !self.idle_timers[slot as usize].fire(id) {
            return;
        }
        let now = cx.now();
        let f = &self.flows[slot];
        let deadline = f.last_active + self.idle_timeout;
        if f.outstanding > 0 {
            // Waiting for an answer is not idleness: look again a timeout from now.
            let delay = self.idle_timeout;
            self.idle_timers[slot as usize].arm(cx, delay, NlbTimer::FlowIdle, slot);
        } else if now >= deadline {
            self.figures.flows_idled_out += 1;
            self.remove_flow(slot, cx);
        } else {
            let delay = deadline.saturating_since(now);
            self.idle_timers[slot as usize].arm(cx, delay, NlbTimer::FlowIdle, slot);
        }
    }

    /// Resets every flow of `target` (sorted by slot, so the order never depends on the hash
    /// map's).
    fn reset_flows(&mut self, target: u32, cx: &mut Ctx<'_>) {
        let mut slots: Vec<u32> = self
            .flow_by_key
            .values()
            .copied()
            .filter(|&s| self.flows[s].target == target)
            .collect();
        slots.sort_unstable();
        self.figures.flows_reset += slots.len() as u64;
        for s in slots {
            self.remove_flow(s, cx);
        }
    }

    fn on_control(&mut self, control: Control, cx: &mut Ctx<'_>) {
        match control {
            Control::Register {
                instance,
                healthy,
                az,
            } => self
                .targets
                .register(instance, healthy, az, NlbTimer::HealthCheck, cx),
            Control::Deregister { instance } => {
                self.targets.deregister(instance);
                self.targets
                    .arm_drain_deadline(instance, NlbTimer::DrainDeadline, cx);
                self.maybe_drained(instance, cx);
            }
            Control::HealthCheckResult { instance, healthy } => {
                self.on_health_result(instance, healthy, cx)
            }
            Control::ConnectionClosed { connection } => {
                if let Some(slot) = self.flow_by_key.get(&connection.key()).copied() {
                    self.figures.flows_closed += 1;
                    self.remove_flow(slot, cx);
                }
            }
            // Like the ALB's, the NLB's nodes survive an AZ outage; its targets' health checks
            // take the dead ones out (and reset their flows).
            Control::Fault(_) => {}
            Control::Drained { .. }
            | Control::HealthCheck { .. }
            | Control::TargetHealth { .. }
            | Control::QueryDepth { .. }
            | Control::QueueDepth { .. } => {
                debug_assert!(false, "an NLB does not receive {control:?}")
            }
        }
    }

    /// A forwarded request was lost with its target's instance (its AZ failed): no answer will
    /// come. The client's connection is dead; it learns so (a reset) when the NLB next probes
    /// that target, standing in for the client's TCP timeout.
    fn on_lost(&mut self, request: Request) {
        let slot = request.tag as u32;
        if self.forwards.is_live(slot) && self.forwards[slot].request.id == request.id {
            let target = self.forwards[slot].target;
            self.targets[target].extra.lost.push(slot);
        }
    }

    /// Answers the forwards lost with target `instance` with a reset.
    fn release_lost(&mut self, instance: u32, cx: &mut Ctx<'_>) {
        let Some(target) = self.targets.get_mut(instance) else {
            return;
        };
        for slot in std::mem::take(&mut target.extra.lost) {
            let request = Request {
                tag: u64::from(slot),
                ..self.forwards[slot].request
            };
            self.on_response(
                Response {
                    request,
                    outcome: Outcome::Error(CONNECTION_RESET),
                },
                cx,
            );
        }
    }

    fn on_health_result(&mut self, instance: u32, healthy: bool, cx: &mut Ctx<'_>) {
        self.release_lost(instance, cx);
        if self.targets.on_check_result(instance, healthy, cx) == Some(false) {
            // AWS's default for NLB target groups: connections to an unhealthy target are
            // terminated.
            self.reset_flows(instance, cx);
        }
    }

    /// A draining target with no flow and no request left is done.
    fn maybe_drained(&mut self, instance: u32, cx: &mut Ctx<'_>) {
        let t = &self.targets[instance];
        if t.state == TargetState::Draining && t.extra.flows == 0 && t.outstanding == 0 {
            self.targets.finish_draining(instance, cx);
        }
    }

    fn on_drain_deadline(&mut self, id: u64, cx: &mut Ctx<'_>) {
        let Some(instance) = self.targets.drain_deadline_fired(id) else {
            return;
        };
        // The delay is over: the remaining flows are reset (after the state change, so that
        // removing them does not finish the draining once per flow); the group may terminate
        // the instance whatever it still holds.
        self.targets[instance].state = TargetState::Unused;
        self.release_lost(instance, cx);
        self.reset_flows(instance, cx);
        self.targets.finish_draining(instance, cx);
    }
}

/// The target of a new connection among `pool` (candidate targets in instance order, `az_of`
/// giving their AZ): see [`choose_node_and_target`].
pub fn choose_target(
    connection: &Connection,
    pool: &[u32],
    az_of: impl Fn(u32) -> u8,
    cross_zone: bool,
) -> Option<u32> {
    choose_node_and_target(connection, pool, az_of, cross_zone).map(|(_, target)| target)
}

/// The node (its AZ) and target of a new connection among `pool` (candidate targets in
/// instance order, `az_of` giving their AZ): its node by [`dns_hash`] among the AZs of the
/// pool, then a target by [`flow_hash`] among the pool's targets in that AZ (or all of them
/// with `cross_zone`).
pub fn choose_node_and_target(
    connection: &Connection,
    pool: &[u32],
    az_of: impl Fn(u32) -> u8,
    cross_zone: bool,
) -> Option<(u8, u32)> {
    if pool.is_empty() {
        return None;
    }
    // AZs with candidates, as a bit set (at most `region::MAX_AZS`, in index order): no
    // allocation per connection.
    let present = pool.iter().fold(0u32, |set, &t| set | 1 << az_of(t));
    let pick = reduce(dns_hash(connection), present.count_ones() as usize);
    let node = (0..32u8)
        .filter(|&az| present & (1 << az) != 0)
        .nth(pick)
        .expect("pick < number of AZs present");
    let hash = flow_hash(
        PROTOCOL_TCP,
        connection.source_ip,
        connection.source_port,
        node_ip(node),
        LISTENER_PORT,
        connection.isn,
    );
    if cross_zone {
        return Some((node, pool[reduce(hash, pool.len())]));
    }
    let local = pool.iter().filter(|&&t| az_of(t) == node).count();
    let k = reduce(hash, local);
    pool.iter()
        .copied()
        .filter(|&t| az_of(t) == node)
        .nth(k)
        .map(|t| (node, t))
}

impl Component for Nlb {
    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => self.on_request(request, cx),
            Msg::Response(response) => self.on_response(response, cx),
            Msg::Lost(request) => self.on_lost(request),
            Msg::Control(control) => self.on_control(control, cx),
            Msg::Timer(timer) => match NlbTimer::from(timer) {
                NlbTimer::HealthCheck(id) => {
                    self.targets.on_check_timer(id, NlbTimer::HealthCheck, cx)
                }
                NlbTimer::DrainDeadline(id) => self.on_drain_deadline(id, cx),
                NlbTimer::FlowIdle(id) => self.on_idle_timer(id, cx),
            },
        }
    }
}

impl Observe for Nlb {
    fn kind(&self) -> &'static str {
        Spec::KIND
    }

    fn in_flight(&self) -> u64 {
        self.in_flight
    }

    fn sample(&mut self, _now: SimTime, row: &mut SeriesRow) {
        self.metrics.sample(self.in_flight, row);
    }

    fn report(&self, _end: SimTime) -> ComponentReport {
        let target_requests: Vec<u64> = self.targets.iter().map(|t| t.requests).collect();
        let target_connections: Vec<u64> =
            self.targets.iter().map(|t| t.extra.connections).collect();
        // Targets still registered count even when they got nothing: an idle target is the
        // imbalance a few long connections make.
        let counted = |loads: &[u64]| -> Vec<u64> {
            loads
                .iter()
                .zip(self.targets.iter())
                .filter(|(load, t)| **load > 0 || t.state != TargetState::Unused)
                .map(|(load, _)| *load)
                .collect()
        };
        let healthy = self.targets.in_state(TargetState::Healthy).count();
        self.metrics
            .report(Spec::KIND, self.in_flight)
            .figure("cross_zone", self.cross_zone)
            .figure("targets", self.targets.len())
            .figure("healthy_targets_end", healthy)
            .figure("imbalance", imbalance(&counted(&target_requests)))
            .figure(
                "connection_imbalance",
                imbalance(&counted(&target_connections)),
            )
            .figure("target_requests", target_requests)
            .figure("target_connections", target_connections)
            .figure(
                "target_open_connections",
                self.targets
                    .iter()
                    .map(|t| t.extra.flows)
                    .collect::<Vec<_>>(),
            )
            .figure("flows_open_end", self.flows.len())
            .figure("flows_closed", self.figures.flows_closed)
            .figure("flows_idled_out", self.figures.flows_idled_out)
            .figure("flows_reset", self.figures.flows_reset)
            .figure("connection_resets", self.figures.connection_resets)
            .figure("dropped_by_target", self.figures.dropped_by_target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(source_ip: u32, source_port: u16, isn: u32) -> Connection {
        Connection {
            source_ip,
            source_port,
            isn,
            opens: true,
            single: false,
        }
    }

    #[test]
    fn without_cross_zone_a_node_keeps_to_its_own_az() {
        // Targets 0, 1 in AZ 0; 2..=9 in AZ 1 (the notes' 2 + 8 example).
        let az_of = |t: u32| if t < 2 { 0 } else { 1 };
        let pool: Vec<u32> = (0..10).collect();
        let mut by_target = [0u32; 10];
        let mut by_az_node = [[0u32; 2]; 2];
        let n = 100_000;
        for i in 0..n {
            let c = connection(
                0x0A00_0001 + (i % 50),
                32768 + (i % 20_000) as u16,
                i.wrapping_mul(2_654_435_761),
            );
            let node = [0u8, 1][reduce(dns_hash(&c), 2)];
            let t = choose_target(&c, &pool, az_of, false).unwrap();
            by_target[t as usize] += 1;
            by_az_node[node as usize][az_of(t) as usize] += 1;
        }
        // Never across zones.
        assert_eq!(by_az_node[0][1], 0);
        assert_eq!(by_az_node[1][0], 0);
        // Each node gets half; AZ 0's two targets a quarter each, AZ 1's eight 1/16 each.
        for (t, &count) in by_target.iter().enumerate() {
            let share = count as f64 / n as f64;
            let expected = if t < 2 { 0.25 } else { 0.0625 };
            // Binomial sd at most sqrt(0.25·0.75/1e5) = 0.0014: 5 sd.
            assert!((share - expected).abs() < 0.007, "target {t}: {share}");
        }
    }

    #[test]
    fn with_cross_zone_every_target_gets_the_same_share() {
        let az_of = |t: u32| if t < 2 { 0 } else { 1 };
        let pool: Vec<u32> = (0..10).collect();
        let mut by_target = [0u32; 10];
        let n = 100_000;
        for i in 0..n {
            let c = connection(
                0x0A00_0001 + (i % 50),
                32768 + (i % 20_000) as u16,
                i.wrapping_mul(2_654_435_761),
            );
            by_target[choose_target(&c, &pool, az_of, true).unwrap() as usize] += 1;
        }
        for (t, &count) in by_target.iter().enumerate() {
            let share = count as f64 / n as f64;
            // sd sqrt(0.1·0.9/1e5) = 0.00095: 5 sd.
            assert!((share - 0.1).abs() < 0.005, "target {t}: {share}");
        }
    }

    #[test]
    fn an_az_without_candidates_has_no_node() {
        // Only AZ 1 has candidates: every connection lands there.
        let az_of = |t: u32| if t < 2 { 0 } else { 1 };
        let pool: Vec<u32> = vec![2, 3, 4];
        for i in 0..1000u32 {
            let c = connection(0x0A00_0001, 32768 + i as u16, i);
            let t = choose_target(&c, &pool, az_of, false).unwrap();
            assert!(pool.contains(&t));
        }
        assert_eq!(choose_target(&connection(1, 2, 3), &[], az_of, false), None);
    }

    /// A hand-made target group: registers `azs.len()` instances, instance `i` in AZ
    /// `azs[i]`, healthy from the start; answers every request at once.
    struct Group {
        lb: ComponentId,
        azs: Vec<u8>,
        /// An instance that fails its health checks from this time on.
        failing: Option<(u32, SimTime)>,
        metrics: RequestMetrics,
    }

    impl Component for Group {
        fn init(&mut self, cx: &mut Ctx<'_>) {
            for (instance, &az) in self.azs.iter().enumerate() {
                let register = Control::Register {
                    instance: instance as u32,
                    healthy: true,
                    az,
                };
                cx.send(self.lb, Msg::Control(register));
            }
        }

        fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
            match msg {
                Msg::Request(request) => cx.reply(Response {
                    request,
                    outcome: Outcome::Ok,
                }),
                Msg::Control(Control::HealthCheck { instance, from }) => {
                    let failing = self
                        .failing
                        .is_some_and(|(i, from)| i == instance && cx.now() >= from);
                    let result = Control::HealthCheckResult {
                        instance,
                        healthy: !failing,
                    };
                    cx.send(from, Msg::Control(result));
                }
                _ => {}
            }
        }
    }

    impl Observe for Group {
        fn kind(&self) -> &'static str {
            "group"
        }

        fn in_flight(&self) -> u64 {
            0
        }

        fn sample(&mut self, _now: SimTime, _row: &mut SeriesRow) {}

        fn report(&self, _end: SimTime) -> ComponentReport {
            self.metrics.report("group", 0)
        }
    }

    /// Sends `n` requests to the NLB, one a millisecond: each its own connection, or in turn
    /// over `pooled` long-lived connections.
    struct Client {
        lb: ComponentId,
        n: u64,
        pooled: Option<u64>,
        metrics: RequestMetrics,
    }

    impl Component for Client {
        fn init(&mut self, cx: &mut Ctx<'_>) {
            for id in 1..=self.n {
                let request = Request {
                    id,
                    workload: 0,
                    created_at: SimTime::ZERO,
                    key: id,
                    item_kb: 1.0,
                    op: crate::message::Op::Default,
                    attempt: 1,
                    reply_to: cx.me(),
                    tag: 0,
                    route: crate::message::NO_ROUTE,
                    recorded_duration: crate::message::Recorded::NONE,
                    connection: match self.pooled {
                        None => Connection::single(id),
                        Some(k) => Connection {
                            source_ip: 0x0A00_0001,
                            source_port: 40_000 + (id % k) as u16,
                            isn: (id % k) as u32 * 7919,
                            opens: id <= k,
                            single: false,
                        },
                    },
                };
                cx.send_after(self.lb, SimDuration::from_millis(id), Msg::Request(request));
            }
        }

        fn handle(&mut self, _msg: Msg, _cx: &mut Ctx<'_>) {}
    }

    impl Observe for Client {
        fn kind(&self) -> &'static str {
            "client"
        }

        fn in_flight(&self) -> u64 {
            0
        }

        fn sample(&mut self, _now: SimTime, _row: &mut SeriesRow) {}

        fn report(&self, _end: SimTime) -> ComponentReport {
            self.metrics.report("client", 0)
        }
    }

    /// Per-target requests of an NLB in front of targets in `azs`.
    fn run_registered(azs: Vec<u8>, cross_zone: bool, n: u64) -> Vec<u64> {
        let report = run_harness(azs, cross_zone, n, None, None);
        serde_json::from_value(report.figures["target_requests"].clone()).expect("a list of counts")
    }

    /// The NLB's report after `n` requests (see [`Client`] and [`Group`]).
    fn run_harness(
        azs: Vec<u8>,
        cross_zone: bool,
        n: u64,
        pooled: Option<u64>,
        failing: Option<(u32, SimTime)>,
    ) -> ComponentReport {
        use crate::engine::Simulation;
        use crate::engine::rng::stream;
        let mut sim: Simulation<Box<dyn Observe>> =
            Simulation::new(SimDuration::from_secs(n / 1000 + 1), SimDuration::ZERO);
        // Ids in the order added: the client 0, the NLB 1, the group 2.
        let (lb, group) = (ComponentId(1), ComponentId(2));
        let metrics = || RequestMetrics::new(SimTime::ZERO);
        sim.add(
            "client",
            stream(1, "client"),
            Box::new(Client {
                lb,
                n,
                pooled,
                metrics: metrics(),
            }),
        );
        let spec = Spec {
            targets: Spanned::new(0..0, "group".into()),
            cross_zone: Some(cross_zone),
            idle_timeout: None,
            deregistration_delay: None,
            health_check: None,
        };
        sim.add(
            "lb",
            stream(1, "lb"),
            Box::new(spec.runtime(group, SimTime::ZERO)),
        );
        sim.add(
            "group",
            stream(1, "group"),
            Box::new(Group {
                lb,
                azs,
                failing,
                metrics: metrics(),
            }),
        );
        sim.run(|_| {});
        let (_, lb) = sim.components().nth(1).expect("the NLB");
        lb.report(sim.end())
    }

    #[test]
    fn an_unhealthy_targets_flows_are_reset() {
        // 16 long-lived connections over 4 targets, 1 request per ms for 100 s. Target 0 fails
        // its checks from 1 s: checks every 30 s, 2 failures, so unhealthy at 60 s; its flows
        // are reset then, and every later request on them is refused with a reset (this
        // client does not reconnect).
        let failing = Some((0, SimTime::ZERO + SimDuration::from_secs(1)));
        let report = run_harness(vec![0; 4], false, 100_000, Some(16), failing);
        let f = &report.figures;
        let open: Vec<u64> = serde_json::from_value(f["target_open_connections"].clone()).unwrap();
        let reset = f["flows_reset"].as_u64().unwrap();
        assert!(reset > 0, "target 0 had flows: {f:?}");
        assert_eq!(open[0], 0);
        assert_eq!(open.iter().sum::<u64>() + reset, 16);
        assert_eq!(f["healthy_targets_end"], 3);
        // Requests from 60 s on the reset connections: 40 000 × reset / 16, give or take one
        // per connection.
        let resets = f["connection_resets"].as_u64().unwrap() as f64;
        let expected = 40_000.0 * reset as f64 / 16.0;
        assert!((resets - expected).abs() <= 16.0, "{resets} vs {expected}");
        assert_eq!(report.requests.failed, resets as u64);
    }

    #[test]
    fn registered_azs_drive_cross_zone_balancing() {
        // The notes' example: 2 targets in AZ 0, 8 in AZ 1, one NLB node per AZ.
        let azs = vec![0, 0, 1, 1, 1, 1, 1, 1, 1, 1];
        let n = 40_000;
        let off = run_registered(azs.clone(), false, n);
        let on = run_registered(azs, true, n);
        assert_eq!(off.iter().sum::<u64>(), n);
        assert_eq!(on.iter().sum::<u64>(), n);
        // Off: each node half, split among its own AZ: 25 % and 6.25 %. On: 10 % each.
        // Binomial sd at most sqrt(0.25·0.75/40 000) = 0.0022: 5 sd.
        for (t, (&o, &c)) in off.iter().zip(&on).enumerate() {
            let expected_off = if t < 2 { 0.25 } else { 0.0625 };
            let (share_off, share_on) = (o as f64 / n as f64, c as f64 / n as f64);
            assert!((share_off - expected_off).abs() < 0.011, "off {t}: {off:?}");
            assert!((share_on - 0.1).abs() < 0.0075, "on {t}: {on:?}");
        }
        // Everything in AZ 0 (no AZs declared): cross-zone makes no difference.
        assert_eq!(
            run_registered(vec![0; 4], false, 1000),
            run_registered(vec![0; 4], true, 1000)
        );
    }
}
