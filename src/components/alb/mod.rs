//! `alb`: an Application Load Balancer with one listener forwarding to one target group, or to
//! several by weight.
//!
//! ```toml
//! [[component]]
//! name = "web-alb"
//! kind = "alb"
//! targets = "web"                            # an ec2_fleet or asg: its instances are the targets
//! algorithm = "least_outstanding_requests"   # or "round_robin" (default)
//! idle_timeout = "60s"                       # no answer by then -> 504
//! deregistration_delay = "300s"              # draining time of a deregistered target
//! health_check = { interval = "30s", healthy_threshold = 5, unhealthy_threshold = 2 }
//! cross_zone = true                          # default, as AWS: each node routes to every AZ
//! stickiness = { type = "lb_cookie", duration = "1h" }   # sticky sessions (off by default)
//! slow_start = "2m"                          # a new target's share ramps up (off by default)
//! ```
//! or, instead of `targets`, weighted target groups (blue/green, canary on EC2):
//! ```toml
//! forward = [ { targets = "blue", weight = 100 }, { targets = "green", weight = 0 } ]
//! weight_changes = [ { at = "20m", weights = [90, 10] }, { at = "25m", weights = [0, 100] } ]
//! ```
//! Defaults come from `models/alb.toml`.
//!
//! # What it follows
//! - Round robin is the default routing algorithm: each request goes to the next target in turn.
//! - Least outstanding requests picks the target with the fewest requests sent and not yet
//!   answered. Ties go to the first tied target after the last one chosen, so equal targets
//!   share the load in turn instead of piling onto the first.
//! - Weighted target groups (`models/alb.toml`, forward action): 1 to 5 groups, weights 0 to
//!   999; each request goes to a group with probability its weight over the sum of the
//!   weights (a group at 0 gets none), drawn from the ALB's own random stream, then to a
//!   target of that group by the routing algorithm, which runs for each group on its own (as
//!   AWS routes "independently for each target group"). `weight_changes` set new weights at
//!   given times, as a `ModifyListener` call would: requests arriving from then on follow
//!   them, requests in flight finish where they are.
//! - Targets register and deregister as their group launches and terminates instances. A new
//!   target gets traffic only after `healthy_threshold` consecutive passed health checks, one
//!   every `interval` (the first at registration); a healthy target that fails
//!   `unhealthy_threshold` checks in a row stops getting traffic, and the group is told. Targets
//!   in service when the run starts are healthy from the start.
//! - If no target is healthy but some are registered, the ALB routes to all of them (AWS's
//!   "fail open"); with none registered it answers 503.
//! - A deregistered target drains: it gets no new request; when its last in-flight request is
//!   answered, or `deregistration_delay` has passed, the group is told it may terminate it.
//! - 504 when a target does not answer within the idle timeout (the target's late answer is then
//!   discarded and counted as `late_responses`).
//! - Availability zones (with a `[region]`): the ALB has a node in each AZ where a target has
//!   registered. Clients resolve the ALB's DNS name to the nodes in DNS and spread evenly over
//!   them (DNS round robin); each request's node is drawn from the ALB's own random stream, so
//!   the choice is seeded and independent of every other component. Each node
//!   runs its own routing algorithm (its own round-robin turn). With `cross_zone = true` (the
//!   ALB default, aws-facts.md) a node routes to every healthy target; with `cross_zone = false`
//!   only to the healthy targets in its own AZ, so an AZ with fewer targets loads each of them
//!   more (2 AZs with 2 and 8 targets: 25 % of requests to each target in the first, 6.25 % in
//!   the second). Without cross-zone, a node with no healthy target in its AZ is taken out of
//!   DNS at once; if every node is out, all are used (fail open). An `az_outage` takes out the
//!   AZ's *instances*: the ALB's node there keeps answering (its nodes are AWS-managed), so
//!   until health checks mark the dead targets unhealthy, the requests routed to them get a 504
//!   at the idle timeout, whether cross-zone load balancing is on (every node sends them a
//!   share) or off (the node of the failed AZ sends them all its requests, then leaves DNS). A
//!   forward to a target, and its answer back, take the region's hop latency, plus the
//!   cross-AZ extra when the target is in another AZ than the node (`models/network.toml`).
//! - Sticky sessions (`stickiness = { type = "lb_cookie", duration = "1h" }`): see `sticky.rs`.
//! - Slow start (`slow_start = "2m"`): see `slow_start.rs`.
//! - Not modelled: the weighted random algorithm with Automatic Target Weights (anomaly
//!   mitigation). AWS documents what it reacts to (5XX and connection errors of a target
//!   compared with its peers) and that it lowers an anomalous target's traffic "iteratively"
//!   and raises it "gradually", but not the detection threshold, the step sizes or their
//!   timing, so any model would be invented numbers.
//!
//! # What it simplifies
//! The load balancer adds no processing time of its own, and a health check is answered at once
//! (its timeout does not matter; a target that cannot be reached fails it). Clients see DNS
//! changes at once (no DNS caching TTL). It knows each target's capacity (workers plus `max_queue`) and
//! skips a target that is full, as if the target refused the connection; with an unbounded
//! queue no target is ever full. Listener rules are not modelled. With weighted
//! target groups, the group is drawn for each request (no target-group stickiness), and a drawn
//! group with no target that can take the request answers 503 (or fails open within itself)
//! rather than passing the request to another group; a weight change applies at its instant
//! (the API call's propagation is not modelled).
//!
//! # Bill
//! Its hours plus LCU-hours, each hour at its largest dimension (`super::capacity_units`): new
//! connections from the requests that open one, active connections from the requests in
//! flight (it does not see idle keep-alive connections), processed bytes from `item_kb`, no
//! rule evaluations. Traffic from a node to a target in another AZ is not billed: cross-zone
//! load balancing is always on for an ALB, without inter-AZ data charges.

mod cloudformation;
mod forward;
mod outputs;
mod slow_start;
mod sticky;

use rand::Rng;
use serde::Deserialize;
use toml::Spanned;

use super::capacity_units::CapacityMeter;
use super::forwards::Forwards;
use super::health::{
    HealthCheck, TargetState, Targets, imbalance, target_group, targets_reference,
};
use super::target_order::TargetOrder;
use super::{BuildContext, Kind, Reference, SpecIssue};
use crate::defaults::LoadBalancerPrices;
use crate::engine::rng::SimRng;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{Component, ComponentId};
use crate::message::Ctx;
use crate::message::{Control, Msg, Outcome, Request, Response};
use crate::metrics::{ComponentReport, Observe, RequestMetrics, SeriesRow};
use crate::region::HopLatency;
use crate::units::PositiveDuration;

pub use forward::{WeightChange, WeightedTargetGroup};
pub use sticky::{CookieType, StickinessSpec};

/// The `alb` table of a scenario.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The target group: the name of an `ec2_fleet` or `asg`. Give either this or `forward`.
    #[schemars(with = "Option<String>")]
    pub targets: Option<Spanned<String>>,
    /// Several target groups with weights, AWS's weighted forward action: 1 to 5 entries
    /// `{ targets = "NAME", weight = W }`, each weight 0 to 999; a request goes to a group
    /// with probability its weight over the sum of the weights. Give either this or `targets`.
    #[schemars(with = "Option<Vec<WeightedTargetGroup>>")]
    pub forward: Option<Spanned<Vec<WeightedTargetGroup>>>,
    /// New weights for the groups of `forward` at given times, in time order
    /// (`{ at = "20m", weights = [0, 100] }`): a blue/green switch is one change, a shift in
    /// steps several. None by default; at most 10 000.
    #[serde(default)]
    #[schemars(with = "Vec<WeightChange>")]
    pub weight_changes: Vec<Spanned<WeightChange>>,
    /// Routing algorithm (default round robin).
    #[serde(default)]
    pub algorithm: Algorithm,
    /// How long the ALB waits for a target's answer before it answers 504 (default from
    /// `models/alb.toml`: 60 s).
    pub idle_timeout: Option<PositiveDuration>,
    /// How long a deregistered target may keep serving its in-flight requests (default 300 s).
    pub deregistration_delay: Option<SimDuration>,
    /// Target health checks.
    pub health_check: Option<HealthCheckSpec>,
    /// Cross-zone load balancing (default true).
    pub cross_zone: Option<bool>,
    /// Sticky sessions (AWS target group attributes `stickiness.*`): `{ type = "lb_cookie",
    /// duration = "1h" }`; a workload's client (`connections`) stays on its target until its
    /// cookie expires `duration` after its last answer (1 s to 7 days, default 1 day) or the
    /// target leaves. Off by default.
    #[schemars(with = "Option<StickinessSpec>")]
    pub stickiness: Option<Spanned<StickinessSpec>>,
    /// Slow start (AWS `slow_start.duration_seconds`): a target that becomes healthy gets a
    /// linearly rising share of the requests over this duration, 30 s to 900 s; 0 (default)
    /// is off. Not with `least_outstanding_requests`.
    #[schemars(with = "Option<SimDuration>")]
    pub slow_start: Option<Spanned<SimDuration>>,
}

pub use super::health::HealthCheckSpec;

/// How the ALB picks a target.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// Each target in turn.
    #[default]
    RoundRobin,
    /// The target with the fewest outstanding requests.
    LeastOutstandingRequests,
}

impl Spec {
    /// The target groups with their weights, in the order given (one group: weight 1).
    fn groups(&self) -> Vec<(&Spanned<String>, u32)> {
        match (&self.forward, &self.targets) {
            (Some(forward), _) => forward
                .get_ref()
                .iter()
                .map(|g| (&g.targets, *g.weight.get_ref()))
                .collect(),
            (None, Some(targets)) => vec![(targets, 1)],
            (None, None) => Vec::new(),
        }
    }
}

impl Kind for Spec {
    const KIND: &'static str = "alb";
    const SUMMARY: &'static str = "An Application Load Balancer: requests spread over the instances of its target groups \
         (each an `ec2_fleet` or an `asg`), with health checks, draining and nodes in each availability \
         zone.";
    const FOLLOWS: &'static str = "round robin default; least outstanding requests; registration, health checks \
         (healthy/unhealthy thresholds, fail open), draining with a deregistration delay; 503 \
         with no available target; 504 after the idle timeout; nodes per AZ with DNS round robin \
         over them; cross-zone on by default (off: a node keeps to its AZ and leaves DNS without \
         a healthy target there); sticky sessions (lb_cookie or app_cookie, expiry reset by \
         every answer, lost when the target leaves); slow start (a new target's round-robin \
         share rises linearly; refused with least outstanding requests)";
    const SIMPLIFIES: &'static str = "adds no processing time of its own (only the region's hop latency); health checks answer \
         at once; clients see DNS changes at once; sees each target's capacity; no listener \
         rules; only a workload's clients (`connections`) keep cookies; no weighted random \
         algorithm (its anomaly mitigation is not documented precisely enough)";
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

    fn references(&self) -> Vec<Reference<'_>> {
        let mut refs = self.targets.as_ref().map_or(Vec::new(), targets_reference);
        if let Some(forward) = &self.forward {
            refs.extend(forward::references(forward.get_ref()));
        }
        refs
    }

    fn check(&self, span: std::ops::Range<usize>) -> Vec<SpecIssue> {
        let mut out = forward::issues(
            self.targets.as_ref(),
            self.forward.as_ref(),
            &self.weight_changes,
            span,
        );
        out.extend(HealthCheckSpec::issues(self.health_check.as_ref()));
        if let Some(stickiness) = &self.stickiness {
            out.extend(StickinessSpec::issues(stickiness, self.forward.is_some()));
        }
        out.extend(slow_start::issues(self.slow_start.as_ref(), self.algorithm));
        out
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String> {
        let defaults = crate::defaults::alb();
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
        let mut groups = Vec::new();
        for (name, weight) in self.groups() {
            let name = name.get_ref();
            let group = target_group(cx, name)?;
            groups.push(Group {
                name: name.clone(),
                weight,
                capacity: group.capacity_per_instance,
                targets: Targets::new(cx.id(name), health, deregistration_delay),
                routable: Vec::new(),
                requests: 0,
            });
        }
        Ok(Box::new(Alb {
            algorithm: self.algorithm,
            idle_timeout: self.idle_timeout.map_or(defaults.idle_timeout, |d| d.0),
            groups,
            weight_changes: self
                .weight_changes
                .iter()
                .map(|c| c.get_ref().clone())
                .collect(),
            cross_zone: self.cross_zone.unwrap_or(true),
            cookies: self
                .stickiness
                .as_ref()
                .map(|s| sticky::Cookies::new(s.get_ref())),
            slow_start: self
                .slow_start
                .as_ref()
                .map(|d| *d.get_ref())
                .filter(|d| !d.is_zero()),
            slow_starts: 0,
            hops: cx.region.hops(),
            az_names: cx.region.has_azs().then(|| cx.region.azs.clone()),
            nodes: Vec::new(),
            forwards: Forwards::default(),
            in_flight: 0,
            rejected: 0,
            late_responses: 0,
            metrics: RequestMetrics::new(cx.warmup_end),
            meter: CapacityMeter::new(cx.prices.alb.lcu, cx.warmup_end),
            prices: cx.prices.alb.clone(),
        }))
    }
}

/// Where the ALB sent a request: the target group, the target, and the AZ of the node that
/// received it.
#[derive(Copy, Clone, Debug)]
struct Route {
    group: u8,
    target: u32,
    node_az: u8,
}

/// The load balancer's node in one AZ.
#[derive(Clone, Debug)]
struct Node {
    az: u8,
    /// Per target group, where the node's next round-robin turn (or least-outstanding
    /// tie-break scan) starts, as a position in its pool of that group's targets.
    next: Vec<usize>,
    /// Requests it received in the measured window.
    requests: u64,
}

/// One target group of the forward action.
struct Group {
    name: String,
    /// Its current weight (1 when it is the only group).
    weight: u32,
    /// Requests one of its instances can hold (workers plus queue), if bounded.
    capacity: Option<u32>,
    /// The group's instances, by instance index, with their slow start.
    targets: Targets<slow_start::Ramp>,
    /// Healthy targets, in the order they became healthy: the ones requests go to. With
    /// cross-zone load balancing one list of every target; without it, one per AZ (by AZ
    /// index), each node routing over its own AZ's.
    routable: Vec<TargetOrder>,
    /// Requests forwarded to the group in the measured window.
    requests: u64,
}

crate::timers! {
    /// The ALB's timers.
    enum AlbTimer {
        /// The earliest idle timeout of the forwarded requests is due.
        IdleTimeout,
        /// A target's health check is due (its timer slot's payload, with the target group).
        HealthCheck,
        /// A deregistered target's deregistration delay is over (its timer slot's payload,
        /// with the target group).
        DrainDeadline,
        /// Weight change number (payload) is due.
        WeightChange,
    }
}

/// Where a timer slot's payload carries the target group: the top bits of its 32-bit item
/// index. Instance indices stay far below 2^29 (a group keeps every instance it ever launched
/// in memory), and with group 0 the payload is the slot's own.
const GROUP_SHIFT: u32 = 29;
const _: () = assert!(forward::MAX_GROUPS <= 1 << (32 - GROUP_SHIFT));

/// A timer slot's payload `id` with target group `g` in it.
fn with_group(id: u64, g: usize) -> u64 {
    id | ((g as u64) << GROUP_SHIFT)
}

/// The target group in a payload, and the payload as its slot made it.
fn split_group(id: u64) -> (usize, u64) {
    let mask = !((1u64 << GROUP_SHIFT) - 1) & u64::from(u32::MAX);
    (((id & mask) >> GROUP_SHIFT) as usize, id & !mask)
}

/// A running ALB.
pub struct Alb {
    algorithm: Algorithm,
    idle_timeout: SimDuration,
    /// The target groups of the forward action, in the order given.
    groups: Vec<Group>,
    /// Weight changes, in time order (scheduled at the start).
    weight_changes: Vec<WeightChange>,
    cross_zone: bool,
    /// The cookies of sticky sessions, if they are on.
    cookies: Option<sticky::Cookies>,
    /// The slow start duration, if slow start is on.
    slow_start: Option<SimDuration>,
    /// Targets that entered slow start in the run.
    slow_starts: u64,
    /// One-way hop latency inside an AZ, and the cross-AZ extra.
    hops: HopLatency,
    /// AZ names, when the scenario declares AZs (for the report).
    az_names: Option<Vec<String>>,
    /// One node per AZ with targets, in AZ order.
    nodes: Vec<Node>,
    /// Requests forwarded to targets, and their idle timeouts.
    forwards: Forwards<Route>,
    in_flight: u64,
    rejected: u64,
    late_responses: u64,
    metrics: RequestMetrics,
    /// LCU usage for the bill: requests in flight stand for its active connections.
    meter: CapacityMeter,
    prices: LoadBalancerPrices,
}

impl Alb {
    fn can_take(&self, g: usize, target: u32) -> bool {
        let group = &self.groups[g];
        group
            .capacity
            .is_none_or(|cap| group.targets[target].outstanding < cap)
    }

    /// When no target of group `g` is healthy, its registered ones that are not draining
    /// (fail open), in AZ `az` only if given.
    fn candidates(&self, g: usize, az: Option<u8>) -> Vec<u32> {
        let targets = &self.groups[g].targets;
        targets
            .fail_open()
            .filter(|&t| az.is_none_or(|a| a == targets[t].az))
            .collect()
    }

    /// True when node `k` is in DNS: with cross-zone load balancing always, without it when
    /// a group that gets traffic has a healthy target in its AZ.
    fn node_in_dns(&self, k: usize) -> bool {
        self.cross_zone
            || (0..self.groups.len()).any(|g| {
                self.groups[g].weight > 0 && self.routable_in(g, self.nodes[k].az).is_some()
            })
    }

    /// The list of routable targets a target (or node) in AZ `az` belongs to.
    fn list_of(&self, az: u8) -> usize {
        if self.cross_zone { 0 } else { az as usize }
    }

    /// The routable targets of group `g` a node in AZ `az` routes over, if there are any.
    fn routable_in(&self, g: usize, az: u8) -> Option<&TargetOrder> {
        self.groups[g]
            .routable
            .get(self.list_of(az))
            .filter(|list| !list.is_empty())
    }

    /// The first position from `start` (wrapping around) in `list` of a target `algorithm`
    /// picks, with the target: the next that can take a request in turn, or the first of
    /// those with the fewest outstanding requests.
    fn pick(
        algorithm: Algorithm,
        capacity: Option<u32>,
        list: &TargetOrder,
        start: usize,
    ) -> Option<(usize, u32)> {
        let bound = match algorithm {
            // Any target that can take the request.
            Algorithm::RoundRobin => match capacity {
                Some(0) => return None,
                Some(cap) => cap - 1,
                None => u32::MAX,
            },
            // The targets with the least outstanding, if they can take it.
            Algorithm::LeastOutstandingRequests => {
                let least = list.min_load();
                if least == u32::MAX || capacity.is_some_and(|cap| least >= cap) {
                    return None;
                }
                least
            }
        };
        list.first_at_most(start, bound)
    }

    /// The outstanding requests of `target` of group `g` changed: its place in the
    /// least-outstanding order (or among the targets that are full) follows.
    fn load_changed(&mut self, g: usize, target: u32) {
        let group = &self.groups[g];
        if self.algorithm == Algorithm::RoundRobin && group.capacity.is_none() {
            return;
        }
        let t = &group.targets[target];
        let (list, load) = (self.list_of(t.az), t.outstanding);
        if let Some(list) = self.groups[g].routable.get_mut(list) {
            list.set_load(target, load);
        }
    }

    /// The node that receives a request: one of the nodes in DNS, drawn from the ALB's own
    /// random stream (DNS round robin as clients see it). Its own stream, not a hash of the
    /// request id: ids are numbered across the whole run, so another workload's requests would
    /// move this ALB's choices.
    fn pick_node(&self, rng: &mut SimRng) -> Option<usize> {
        match self.nodes.len() {
            0 => None,
            1 => Some(0),
            n => {
                let in_dns = (0..n).filter(|&k| self.node_in_dns(k)).count();
                if in_dns == 0 {
                    return Some(rng.random_range(0..n));
                }
                let pick = rng.random_range(0..in_dns);
                (0..n).filter(|&k| self.node_in_dns(k)).nth(pick)
            }
        }
    }

    /// The target group a request goes to: drawn by weight from the ALB's own random stream
    /// (with a single group, no draw).
    fn pick_group(&self, rng: &mut SimRng) -> usize {
        if self.groups.len() == 1 {
            return 0;
        }
        let total: u32 = self.groups.iter().map(|g| g.weight).sum();
        let draw = rng.random_range(0..total);
        forward::weighted_pick(self.groups.iter().map(|g| g.weight), draw)
    }

    /// The target of group `g` node `node` sends the next request to at `now`, or `None` if
    /// none can take it. A target in slow start may let its turn pass to the next one
    /// (`slow_start::Ramp::offer`); after as many passes as targets, the turn's target takes
    /// the request whatever its credit.
    fn choose(&mut self, node: usize, g: usize, now: SimTime) -> Option<u32> {
        let az = self.nodes[node].az;
        let (algorithm, slow_start, list_index) =
            (self.algorithm, self.slow_start, self.list_of(az));
        let group = &mut self.groups[g];
        let capacity = group.capacity;
        if let Some(list) = group.routable.get(list_index).filter(|l| !l.is_empty()) {
            let n = list.len();
            let mut start = self.nodes[node].next[g] % n;
            let mut passed = 0;
            let (at, target) = loop {
                let (at, target) = Self::pick(algorithm, capacity, list, start)?;
                let takes = slow_start
                    .is_none_or(|d| passed >= n || group.targets[target].extra.offer(now, d));
                if takes {
                    break (at, target);
                }
                passed += 1;
                start = (at + 1) % n;
            };
            self.nodes[node].next[g] = (at + 1) % n;
            return Some(target);
        }
        let pool = self.candidates(g, (!self.cross_zone).then_some(az));
        let n = pool.len();
        if n == 0 {
            return None;
        }
        let start = self.nodes[node].next[g] % n;
        let chosen = match self.algorithm {
            Algorithm::RoundRobin => (0..n)
                .map(|k| (start + k) % n)
                .find(|&k| self.can_take(g, pool[k])),
            Algorithm::LeastOutstandingRequests => {
                let mut best = None;
                let mut best_count = u32::MAX;
                for k in 0..n {
                    let at = (start + k) % n;
                    let outstanding = self.groups[g].targets[pool[at]].outstanding;
                    if outstanding < best_count && self.can_take(g, pool[at]) {
                        best = Some(at);
                        best_count = outstanding;
                    }
                }
                best
            }
        };
        let at = chosen?;
        let target = pool[at];
        self.nodes[node].next[g] = (at + 1) % n;
        Some(target)
    }

    fn on_request(&mut self, request: Request, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.metrics.arrived(now);
        self.meter
            .request(now, request.item_kb, request.connection.opens);
        let node = self.pick_node(cx.rng());
        // A client's valid cookie names its group and target; otherwise the group is drawn.
        let sticky = node.and_then(|k| self.sticky_target(k, &request, now));
        let g = match sticky {
            Some((g, _)) => g,
            None => self.pick_group(cx.rng()),
        };
        if self.metrics.in_window(now) {
            if let Some(k) = node {
                self.nodes[k].requests += 1;
            }
            self.groups[g].requests += 1;
        }
        let chosen = match sticky {
            Some((_, target)) => {
                if let Some(cookies) = &mut self.cookies
                    && self.metrics.in_window(now)
                {
                    cookies.routed += 1;
                }
                Some(target)
            }
            None => node.and_then(|k| self.choose(k, g, now)),
        };
        let Some(target) = chosen else {
            if self.metrics.in_window(now) {
                self.rejected += 1;
            }
            let outcome = Outcome::Error(503);
            self.metrics.finished(now, now, outcome);
            cx.reply(Response { request, outcome });
            return;
        };
        let group = &mut self.groups[g];
        if self.metrics.in_window(now) {
            group.targets[target].requests += 1;
        }
        group.targets[target].outstanding += 1;
        let (target_az, to) = (group.targets[target].az, group.targets.group());
        self.load_changed(g, target);
        self.in_flight += 1;
        let node_az = self.nodes[node.expect("a target was chosen by a node")].az;
        let route = Route {
            group: g as u8,
            target,
            node_az,
        };
        let deadline = now + self.idle_timeout;
        let tag = self
            .forwards
            .insert(request, now, route, deadline, cx, AlbTimer::IdleTimeout);
        let forwarded = Request {
            reply_to: cx.me(),
            tag,
            route: target,
            ..request
        };
        let delay = self.hops.between(node_az, target_az);
        cx.send_after(to, delay, Msg::Request(forwarded));
    }

    /// The target's instance was lost holding a forwarded request (its AZ failed): the target
    /// no longer holds it, and the client, still waiting, gets its 504 at the idle timeout as
    /// from any target that does not answer.
    fn on_lost(&mut self, request: Request, cx: &mut Ctx<'_>) {
        if let Some(route) = self.forwards.lost(&request) {
            let g = route.group as usize;
            self.groups[g].targets[route.target].outstanding -= 1;
            self.load_changed(g, route.target);
            self.drain_if_idle(g, route.target, cx);
        }
    }

    fn on_response(&mut self, response: Response, cx: &mut Ctx<'_>) {
        let forward = self.forwards.answered(response.request.tag);
        let Route {
            group,
            target,
            node_az,
        } = forward.via;
        let g = group as usize;
        self.groups[g].targets[target].outstanding -= 1;
        self.load_changed(g, target);
        if forward.waiting {
            self.in_flight -= 1;
            if let Some(cookies) = &mut self.cookies {
                cookies.answered(&forward.request, g, target, cx.now());
            }
            // The answer travels back from the target to the node.
            let back = self
                .hops
                .between(self.groups[g].targets[target].az, node_az);
            self.metrics
                .finished(forward.arrived, cx.now() + back, response.outcome);
            cx.send_after(
                forward.request.reply_to,
                back,
                Msg::Response(Response {
                    request: forward.request,
                    outcome: response.outcome,
                }),
            );
        } else {
            self.late_responses += 1;
        }
        self.drain_if_idle(g, target, cx);
    }

    fn on_idle_timeout(&mut self, cx: &mut Ctx<'_>) {
        let now = cx.now();
        while let Some((request, arrived)) = self.forwards.next_timed_out(now) {
            self.in_flight -= 1;
            self.metrics.finished(arrived, now, Outcome::Timeout);
            cx.reply(Response {
                request,
                outcome: Outcome::Timeout,
            });
        }
        self.forwards.arm(cx, AlbTimer::IdleTimeout);
    }

    fn set_routable(&mut self, g: usize, instance: u32, routable: bool) {
        let t = &self.groups[g].targets[instance];
        let (list, load) = (self.list_of(t.az), t.outstanding);
        let lists = &mut self.groups[g].routable;
        if lists.len() <= list {
            lists.resize_with(list + 1, TargetOrder::default);
        }
        let list = &mut lists[list];
        if !routable {
            list.remove(instance);
        } else if !list.contains(instance) {
            list.push(instance, load);
        }
    }

    /// The index of the target group `group`.
    fn group_of(&self, group: ComponentId) -> usize {
        self.groups
            .iter()
            .position(|g| g.targets.group() == group)
            .expect("only the ALB's target groups register with it")
    }

    fn on_control(&mut self, control: Control, cx: &mut Ctx<'_>) {
        match control {
            Control::Register {
                instance,
                healthy,
                az,
                group,
            } => {
                let g = self.group_of(group);
                self.ensure_node(az);
                self.groups[g].targets.register(
                    instance,
                    healthy,
                    az,
                    |id| AlbTimer::HealthCheck(with_group(id, g)),
                    cx,
                );
                self.set_routable(g, instance, healthy);
            }
            Control::Deregister { instance, group } => {
                let g = self.group_of(group);
                let targets = &mut self.groups[g].targets;
                targets.deregister(instance, cx);
                targets[instance].extra.stop();
                let idle = targets[instance].outstanding == 0;
                if !idle {
                    targets.arm_drain_deadline(
                        instance,
                        |id| AlbTimer::DrainDeadline(with_group(id, g)),
                        cx,
                    );
                }
                self.set_routable(g, instance, false);
                if idle {
                    self.groups[g].targets.finish_draining(instance, cx);
                }
            }
            Control::HealthCheckResult {
                instance,
                healthy,
                group,
            } => {
                let g = self.group_of(group);
                if let Some(now_healthy) = self.groups[g]
                    .targets
                    .on_check_result(instance, healthy, cx)
                {
                    self.set_routable(g, instance, now_healthy);
                    self.health_changed(g, instance, now_healthy, cx.now());
                }
            }
            // The ALB's nodes survive an AZ outage; its targets' health checks tell.
            Control::Fault(_) => {}
            // An ALB terminates the client's connection: its close changes nothing here.
            Control::ConnectionClosed { .. } => {}
            Control::Drained { .. }
            | Control::HealthCheck { .. }
            | Control::TargetHealth { .. }
            | Control::QueryDepth { .. }
            | Control::QueueDepth { .. } => {
                debug_assert!(false, "an ALB does not receive {control:?}")
            }
        }
    }

    /// Adds the node of AZ `az` if the ALB has none there yet (nodes stay in AZ order).
    fn ensure_node(&mut self, az: u8) {
        if let Err(at) = self.nodes.binary_search_by_key(&az, |n| n.az) {
            self.nodes.insert(
                at,
                Node {
                    az,
                    next: vec![0; self.groups.len()],
                    requests: 0,
                },
            );
        }
    }

    /// The cookie `request` presents at `now`, as the group and target it goes to from node
    /// `node`, if it is valid and its target is one the node routes to (healthy, and in the
    /// node's AZ without cross-zone load balancing) and can take the request.
    fn sticky_target(&self, node: usize, request: &Request, now: SimTime) -> Option<(usize, u32)> {
        let (g, target) = self.cookies.as_ref()?.presented(request, now)?;
        let routable = g < self.groups.len()
            && self
                .routable_in(g, self.nodes[node].az)
                .is_some_and(|list| list.contains(target));
        (routable && self.can_take(g, target)).then_some((g, target))
    }

    /// Target `instance` of group `g` became healthy (`true`) or unhealthy at `now`. With slow
    /// start, a healthy one enters it if another healthy target of the group is not in it (a
    /// target no other can stand in for takes its full share at once); an unhealthy one
    /// leaves it.
    fn health_changed(&mut self, g: usize, instance: u32, healthy: bool, now: SimTime) {
        let Some(duration) = self.slow_start else {
            return;
        };
        let targets = &mut self.groups[g].targets;
        if !healthy {
            targets[instance].extra.stop();
            return;
        }
        let full_share = targets
            .in_state(TargetState::Healthy)
            .any(|t| t != instance && !targets[t].extra.active(now, duration));
        if full_share {
            targets[instance].extra.start(now);
            self.slow_starts += 1;
        }
    }

    /// A draining target with no request left is done.
    fn drain_if_idle(&mut self, g: usize, target: u32, cx: &mut Ctx<'_>) {
        let targets = &mut self.groups[g].targets;
        let t = &targets[target];
        if t.state == TargetState::Draining && t.outstanding == 0 {
            targets.finish_draining(target, cx);
        }
    }

    /// Weight change `index` is due: the groups' weights become its own.
    fn on_weight_change(&mut self, index: usize) {
        let weights = &self.weight_changes[index].weights;
        for (group, &w) in self.groups.iter_mut().zip(weights) {
            group.weight = w;
        }
    }
}

impl Component<Msg> for Alb {
    fn init(&mut self, cx: &mut Ctx<'_>) {
        for (i, change) in self.weight_changes.iter().enumerate() {
            cx.set_timer(change.at, AlbTimer::WeightChange(i as u64));
        }
    }

    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => self.on_request(request, cx),
            Msg::Response(response) => self.on_response(response, cx),
            Msg::Lost(request) => self.on_lost(request, cx),
            Msg::Control(control) => self.on_control(control, cx),
            Msg::Timer(timer) => match AlbTimer::from(timer) {
                AlbTimer::IdleTimeout(_) => self.on_idle_timeout(cx),
                AlbTimer::HealthCheck(id) => {
                    let (g, id) = split_group(id);
                    self.groups[g].targets.on_check_timer(
                        id,
                        |id| AlbTimer::HealthCheck(with_group(id, g)),
                        cx,
                    )
                }
                AlbTimer::DrainDeadline(id) => {
                    // The delay is over: the group terminates the instance, whatever it still
                    // holds.
                    let (g, id) = split_group(id);
                    let targets = &mut self.groups[g].targets;
                    if let Some(instance) = targets.drain_deadline_fired(id) {
                        targets.finish_draining(instance, cx);
                    }
                }
                AlbTimer::WeightChange(index) => self.on_weight_change(index as usize),
            },
        }
        self.meter.set_active(cx.now(), self.in_flight);
    }
}

impl Observe for Alb {
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
        let targets = || self.groups.iter().flat_map(|g| g.targets.iter());
        let target_requests: Vec<u64> = targets().map(|t| t.requests).collect();
        // Over the targets that got requests (the NLB's counts idle registered ones too).
        let served: Vec<u64> = target_requests.iter().copied().filter(|&r| r > 0).collect();
        let healthy = targets()
            .filter(|t| t.state == TargetState::Healthy)
            .count();
        let mut report = self
            .metrics
            .report(Spec::KIND, self.in_flight)
            .figure("algorithm", self.algorithm)
            .figure("targets", targets().count())
            .figure("healthy_targets_end", healthy)
            .figure("target_requests", target_requests)
            .figure("imbalance", imbalance(&served))
            .figure("rejected", self.rejected)
            .figure("late_responses", self.late_responses);
        if let Some(cookies) = &self.cookies {
            report = report
                .figure("stickiness", cookies.cookie)
                .figure("sticky_routed", cookies.routed)
                .figure("sticky_clients", cookies.clients());
        }
        if self.slow_start.is_some() {
            report = report.figure("slow_start_targets", self.slow_starts);
        }
        report = report.bill(Some(self.meter.metered(end).bill(
            self.prices.usd_per_hour,
            "LCU",
            self.prices.usd_per_lcu_hour,
        )));
        if self.groups.len() > 1 {
            let groups: Vec<serde_json::Value> = self
                .groups
                .iter()
                .map(|g| {
                    serde_json::json!({
                        "name": g.name,
                        "requests": g.requests,
                        "weight_end": g.weight,
                        "targets": g.targets.len(),
                    })
                })
                .collect();
            report = report.figure("target_groups", groups);
        }
        let Some(names) = &self.az_names else {
            return report;
        };
        let name = |az: u8| names.get(az as usize).cloned().unwrap_or_default();
        let nodes: Vec<serde_json::Value> = self
            .nodes
            .iter()
            .map(|n| serde_json::json!({ "az": name(n.az), "requests": n.requests }))
            .collect();
        let target_azs: Vec<String> = targets().map(|t| name(t.az)).collect();
        report
            .figure("cross_zone", self.cross_zone)
            .figure("nodes", nodes)
            .figure("target_azs", target_azs)
    }
}

#[cfg(test)]
mod tests {
    use crate::run::run_text;

    fn scenario(alb: &str, fleet: &str, rate: &str) -> String {
        format!(
            r#"
[simulation]
duration = "10s"
[[workload]]
name = "load"
target = "lb"
arrival = {{ process = "constant", rate = "{rate}" }}
[[component]]
name = "lb"
kind = "alb"
targets = "web"
{alb}
[[component]]
name = "web"
kind = "ec2_fleet"
{fleet}
"#
        )
    }

    #[test]
    fn round_robin_takes_each_target_in_turn() {
        let s = run_text(&scenario(
            "",
            "instances = 4\nhandler = [ { compute = \"1ms\" } ]",
            "10/s",
        ));
        // 99 arrivals: 25, 25, 25, 24.
        let lb = &s["components"]["lb"];
        assert_eq!(lb["target_requests"], serde_json::json!([25, 25, 25, 24]));
        assert_eq!(lb["algorithm"], "round_robin");
        let imbalance = lb["imbalance"].as_f64().unwrap();
        assert!((imbalance - 25.0 / 24.75).abs() < 1e-12, "{imbalance}");
    }

    #[test]
    fn least_outstanding_spreads_ties_and_avoids_busy_targets() {
        // Each request takes 250 ms and they come every 100 ms: when one arrives, two or three
        // targets are busy, and the idle ones are chosen in turn.
        let s = run_text(&scenario(
            "algorithm = \"least_outstanding_requests\"",
            "instances = 4\nhandler = [ { compute = \"250ms\" } ]",
            "10/s",
        ));
        let lb = &s["components"]["lb"];
        let web = &s["components"]["web"];
        assert_eq!(lb["target_requests"], serde_json::json!([25, 25, 25, 24]));
        // Nobody ever waits: a free target always exists and is preferred.
        assert_eq!(web["wait_ms"]["max"], 0.0);
    }

    #[test]
    fn no_target_with_room_means_503_from_the_alb() {
        // Two single-worker targets with no queue; requests every 100 ms need 250 ms each, so
        // some arrive when both are busy.
        let s = run_text(&scenario(
            "algorithm = \"least_outstanding_requests\"",
            "instances = 2\nmax_queue = 0\nhandler = [ { compute = \"250ms\" } ]",
            "10/s",
        ));
        let lb = &s["components"]["lb"];
        let rejected = lb["rejected"].as_u64().unwrap();
        assert!(rejected > 0);
        assert_eq!(lb["requests"]["failed"].as_u64().unwrap(), rejected);
        // The targets never had to refuse: the ALB did not send them what they could not take.
        assert_eq!(s["components"]["web"]["rejected"], 0);
        // Arrivals at 0.1 and 0.2 s are taken; 0.3 is refused (busy until 0.35 and 0.45); 0.4
        // and 0.5 are taken; 0.6 is refused... one in three: 0.3, 0.6, ..., 9.9 s.
        assert_eq!(rejected, 33);
    }

    #[test]
    fn a_target_slower_than_the_idle_timeout_gets_504s() {
        let s = run_text(&scenario(
            "idle_timeout = \"1s\"",
            "instances = 1\nvcpus = 100\nhandler = [ { sleep = \"1500ms\" } ]",
            "1/s",
        ));
        let load = &s["workloads"]["load"]["requests"];
        let lb = &s["components"]["lb"];
        // Arrivals at 1..9 s; each times out 1 s later (the last at 10 s is past the end).
        assert_eq!(load["timed_out"], 8);
        assert_eq!(load["completed"], 0);
        assert_eq!(lb["requests"]["timed_out"], 8);
        // The target answers 0.5 s after each timeout: eight late answers are discarded.
        assert_eq!(lb["late_responses"], 8);
        assert_eq!(s["components"]["web"]["requests"]["completed"], 8);
    }
}
