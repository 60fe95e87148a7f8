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
//!
//! # Bill
//! Its hours plus NLCU-hours, each hour at its largest TCP dimension (`super::capacity_units`):
//! new connections, active connections (flows in the table plus one-request connections in
//! flight), processed bytes from `item_kb`. With `cross_zone = true`, each request's `item_kb`
//! that a node sends to a target in another AZ is billed at the inter-AZ rate in each direction
//! (AWS: with cross-zone on an NLB, "EC2 data transfer charges apply"); responses carry no size
//! in the model and are not billed. Without a `[region]` nothing crosses AZs.

mod cloudformation;
mod flows;
mod outputs;
mod routing;

use serde::Deserialize;
use toml::Spanned;

use super::capacity_units::CapacityMeter;
use super::health::{
    HealthCheck, HealthCheckSpec, TargetState, Targets, imbalance, target_group, targets_reference,
};
use super::{BuildContext, Kind, Reference, SpecIssue};
use crate::defaults::NlbPrices;
use crate::engine::slab::Slab;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{Component, ComponentId};
use crate::message::Ctx;
use crate::message::{CONNECTION_RESET, Connection, Control, Msg, Outcome, Request, Response};
use crate::metrics::{ComponentReport, Observe, RequestMetrics, SeriesRow};
use crate::region::HopLatency;
use crate::units::PositiveDuration;
use flows::FlowTable;
pub use routing::{
    LISTENER_PORT, PROTOCOL_TCP, choose_node_and_target, choose_target, dns_hash, flow_hash,
    node_ip, reduce,
};

/// The `nlb` table of a scenario.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The target group: the name of an `ec2_fleet` or `asg`.
    #[schemars(with = "String")]
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

impl Kind for Spec {
    const KIND: &'static str = "nlb";
    const SUMMARY: &'static str = "A Network Load Balancer: one TCP listener forwarding connections to one target group, at \
         layer 4.";
    const FOLLOWS: &'static str = "flow hash on (protocol, source IP/port, destination IP/port, TCP sequence number); a \
         connection stays on one target for its life; flow table with client closes, 350 s idle \
         timeout, resets; deregistration delay keeps existing flows; unhealthy targets' \
         connections reset; health checks and fail open as `alb`; cross-zone off by default, one \
         node per AZ with candidates";
    const SIMPLIFIES: &'static str = "adds no processing time of its own (only the region's hop latency, as `alb`); no request \
         timeout; TCP only, one listener; no source-IP stickiness, TLS or UDP; requests already \
         forwarded on a reset flow still get their answers";
    const CLOUDFORMATION_TYPES: &'static [&'static str] = cloudformation::RESOURCE_TYPES;

    fn import(
        resource: &crate::import::Resource,
        cx: &crate::import::Cx<'_>,
        draft: &mut crate::import::Draft,
    ) -> Result<(), crate::import::ImportError> {
        cloudformation::map(resource, cx, draft)
    }

    fn claims(resource: &crate::import::Resource) -> bool {
        cloudformation::claims(resource)
    }
    const ACCEPTS_REQUESTS: bool = true;
    const SEES_CONNECTIONS: bool = true;

    fn references(&self) -> Vec<Reference<'_>> {
        targets_reference(&self.targets)
    }

    fn check(&self, _span: std::ops::Range<usize>) -> Vec<SpecIssue> {
        HealthCheckSpec::issues(self.health_check.as_ref())
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String> {
        let target_name = self.targets.get_ref();
        target_group(cx, target_name)?;
        let mut nlb = self.runtime(cx.id(target_name), cx.warmup_end, &cx.prices.nlb);
        nlb.hops = cx.region.hops();
        nlb.transfer_usd_per_gb = cx.prices.data_transfer.usd_per_gb_inter_az_each_direction;
        Ok(Box::new(nlb))
    }
}

impl Spec {
    /// The running NLB in front of `group`, with the defaults of `models/nlb.toml` for what
    /// the spec leaves out.
    fn runtime(&self, group: ComponentId, warmup_end: SimTime, prices: &NlbPrices) -> Nlb {
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
            targets: Targets::new(group, health, deregistration_delay),
            flows: FlowTable::new(self.idle_timeout.map_or(defaults.idle_timeout, |d| d.0)),
            forwards: Slab::default(),
            scratch: Vec::new(),
            in_flight: 0,
            single_in_flight: 0,
            figures: Figures::default(),
            metrics: RequestMetrics::new(warmup_end),
            meter: CapacityMeter::new(prices.nlcu, warmup_end),
            prices: prices.clone(),
            transfer_usd_per_gb: 0.0,
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
    /// The target group's instances, by instance index.
    targets: Targets<TargetFlows>,
    /// Open connections and the target each goes to.
    flows: FlowTable,
    forwards: Slab<Forward>,
    /// Reused buffer of candidate targets.
    scratch: Vec<u32>,
    in_flight: u64,
    /// Requests in flight on one-request connections (not in the flow table).
    single_in_flight: u64,
    figures: Figures,
    metrics: RequestMetrics,
    /// NLCU usage and inter-AZ bytes for the bill: flows plus one-request connections in
    /// flight are its active connections.
    meter: CapacityMeter,
    prices: NlbPrices,
    /// Inter-AZ data transfer, per GB in each direction.
    transfer_usd_per_gb: f64,
}

impl Nlb {
    /// The bill of the window up to `end`: hours, NLCU-hours and, with cross-zone load
    /// balancing, the payload its nodes sent to targets in other AZs, charged out of one AZ and
    /// into the other.
    fn bill(&self, end: SimTime) -> crate::metrics::cost::Bill {
        use crate::metrics::cost::{dollars, figure};
        let metered = self.meter.metered(end);
        let bill = metered.bill(
            self.prices.usd_per_hour,
            "NLCU",
            self.prices.usd_per_nlcu_hour,
        );
        if !self.cross_zone {
            return bill;
        }
        let gb = metered.cross_az_gb();
        bill.charge(
            2.0 * gb,
            "GB transferred between AZs",
            self.transfer_usd_per_gb,
            format!(
                "{} GB sent by nodes to targets in other AZs (cross-zone) × 2 directions × {}/GB",
                figure(gb, 6),
                dollars(self.transfer_usd_per_gb)
            ),
        )
    }

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
        self.meter.request(now, request.item_kb, connection.opens);
        let key = connection.key();
        let known = self.flows.slot_of(key);
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
            // A one-request connection never enters the table.
            let flow = (!connection.single).then(|| {
                self.targets[target].extra.flows += 1;
                self.flows.open(key, node_az, target, now, cx)
            });
            (node_az, target, flow)
        } else {
            let live = known.filter(|&slot| self.flows.is_active(slot, now));
            match (known, live) {
                (_, Some(slot)) => {
                    let f = self.flows.get(slot);
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
            let f = self.flows.get_mut(slot);
            f.outstanding += 1;
            f.last_active = now;
        }
        let t = &mut self.targets[target];
        t.outstanding += 1;
        if self.metrics.in_window(now) {
            t.requests += 1;
        }
        self.in_flight += 1;
        self.single_in_flight += u64::from(flow.is_none());
        if node_az != self.targets[target].az {
            // Cross-zone: the payload leaves the node's AZ for the target's.
            self.meter.cross_az(now, request.item_kb);
        }
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

    /// Takes flow `slot` out of the table; its target may now be drained.
    fn remove_flow(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let target = self.flows.close(slot, cx);
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
            && let Some(f) = self.flows.live_mut(flow, generation)
        {
            f.outstanding -= 1;
            f.last_active = now;
            if dropped {
                self.figures.flows_reset += 1;
                self.remove_flow(flow, cx);
            }
        }
        self.in_flight -= 1;
        self.single_in_flight -= u64::from(forward.flow.is_none());
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
        if let Some(slot) = self.flows.on_idle_timer(id, cx) {
            self.figures.flows_idled_out += 1;
            self.remove_flow(slot, cx);
        }
    }

    /// Resets every flow of `target`.
    fn reset_flows(&mut self, target: u32, cx: &mut Ctx<'_>) {
        let slots = self.flows.of_target(target);
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
                ..
            } => self
                .targets
                .register(instance, healthy, az, NlbTimer::HealthCheck, cx),
            Control::Deregister { instance, .. } => {
                self.targets.deregister(instance, cx);
                self.targets
                    .arm_drain_deadline(instance, NlbTimer::DrainDeadline, cx);
                self.maybe_drained(instance, cx);
            }
            Control::HealthCheckResult {
                instance, healthy, ..
            } => self.on_health_result(instance, healthy, cx),
            Control::ConnectionClosed { connection } => {
                if let Some(slot) = self.flows.slot_of(connection.key()) {
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

impl Component<Msg> for Nlb {
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
        self.meter
            .set_active(cx.now(), self.flows.len() as u64 + self.single_in_flight);
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

    fn report(&self, end: SimTime) -> ComponentReport {
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
            .bill(Some(self.bill(end)))
    }
}

#[cfg(test)]
mod tests;
