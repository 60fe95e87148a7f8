//! Client connections: `connections = { clients = 4, per_client = 2, lifetime = "60s" }`.
//!
//! Without `connections`, every request is its own TCP connection (opened for it, closed when
//! it is answered), as a client without keep-alive behaves. With it, the workload is `clients`
//! clients, each with a stable source address (10.w.x.y: `w` the workload's index, `x.y` the
//! client's number from 1), and each keeps `per_client` connections open and sends its
//! requests over them. This is what a layer-4 load balancer (`nlb`) sees: it routes whole
//! connections, so a few long-lived ones can load its targets unevenly.
//!
//! # What it models
//! - **Which connection a request takes**: round robin over all connection slots, client by
//!   client (client 1's first connection, client 2's first, ..., client 1's second...), so
//!   every open connection carries the same share of the requests, ±1. A connection may carry
//!   several requests at once (HTTP/2 multiplexing or pipelining).
//! - **Opening**: a slot opens its connection with the first request that picks it; the
//!   connection gets a source port drawn uniformly from the Linux ephemeral range
//!   32768–60999 (not one the client already uses) and a random 32-bit initial sequence
//!   number, from the workload's stream `"<name>/connections"` (its own stream, so adding
//!   connections never moves arrival times or keys).
//! - **Lifetime**: `lifetime` is a duration (`"60s"`) or a distribution of durations
//!   (`{ dist = "exponential", mean = "60s" }`), sampled for each connection when it opens;
//!   without it connections live for the whole run. When a connection's lifetime ends it takes
//!   no new request; it closes (the client sends its FIN) once its requests in flight are
//!   answered, and the slot's next request opens a new connection (new port, new sequence
//!   number) — as an HTTP client with a maximum connection age does.
//! - **Resets**: an answer saying the connection was reset ([`CONNECTION_RESET`]: the load
//!   balancer had no flow for it, e.g. after its idle timeout or a target's deregistration)
//!   makes the client drop the connection; the slot's next request reconnects.
//!
//! Only a layer-4 load balancer sees the client's connections close: the workload tells its
//! target (`Control::ConnectionClosed`) when the target is an `nlb`; any other target
//! terminates the TCP connection itself and ignores it. Not modelled: connection setup time
//! (the handshake adds no latency), TCP keep-alive probes.

use serde::Deserialize;

use crate::components::handler::DurationDist;
use crate::dist::{Dist, DistSpec};
use crate::engine::ComponentId;
use crate::engine::rng::{SimRng, sibling};
use crate::engine::timer::{TimerSlot, timer_index};
use crate::message::Ctx;
use crate::message::{CONNECTION_RESET, Connection, Control, Msg, Outcome, Response};
use crate::metrics::ComponentReport;
use rand::Rng;

/// Most clients one workload may have (their addresses are 10.w.0.1 to 10.w.255.255).
pub const MAX_CLIENTS: u32 = 65_535;

/// `connections = { clients = N, per_client = M, lifetime = "..." }` as written.
#[derive(Clone, Debug, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "RawConnections")]
pub struct ConnectionsSpec {
    /// Clients, each with its own source address.
    pub clients: u32,
    /// Connections each client keeps open.
    pub per_client: u32,
    /// How long a connection lives; `None`: the whole run.
    pub lifetime: Option<DistSpec>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawConnections {
    /// Clients, each with its own source address.
    clients: u32,
    /// Connections each client keeps open (default 1).
    per_client: Option<u32>,
    /// How long a connection lives before the client closes it and opens another (default: the whole run).
    lifetime: Option<DurationDist>,
}

impl TryFrom<RawConnections> for ConnectionsSpec {
    type Error = String;
    fn try_from(raw: RawConnections) -> Result<Self, String> {
        if !(1..=MAX_CLIENTS).contains(&raw.clients) {
            return Err(format!(
                "`clients` must be between 1 and {MAX_CLIENTS}, found {}",
                raw.clients
            ));
        }
        let per_client = raw.per_client.unwrap_or(1);
        if per_client == 0 {
            return Err("`per_client` must be at least 1 (connections per client)".into());
        }
        if per_client > 28_232 {
            return Err(format!(
                "`per_client` must be at most 28232 (the client's ephemeral ports), found \
                 {per_client}"
            ));
        }
        let connections = u64::from(raw.clients) * u64::from(per_client);
        crate::units::limits::CONNECTIONS
            .check(connections)
            .map_err(|why| format!("`clients` × `per_client` {why}"))?;
        let lifetime = raw.lifetime.map(|d| d.0);
        if let Some(mean) = lifetime.as_ref().and_then(DistSpec::mean_secs)
            && mean <= 0.0
        {
            return Err(
                "`lifetime` must be longer than zero (omit it: connections live for \
                        the whole run)"
                    .into(),
            );
        }
        Ok(ConnectionsSpec {
            clients: raw.clients,
            per_client,
            lifetime,
        })
    }
}

/// One connection slot of a client.
#[derive(Clone, Debug, Default)]
struct Slot {
    /// The open connection, if any.
    open: Option<Connection>,
    /// Its requests in flight.
    in_flight: u32,
    lifetime: TimerSlot,
}

/// A connection past its lifetime (or reset) whose requests are still in flight.
#[derive(Clone, Debug)]
struct Closing {
    connection: Connection,
    in_flight: u32,
}

/// The connections of a running workload.
pub struct Connections {
    workload: u32,
    clients: u32,
    per_client: u32,
    lifetime: Option<Dist>,
    rng: SimRng,
    /// `client * per_client + k`.
    slots: Vec<Slot>,
    /// Round-robin position over `clients × per_client`, client by client.
    next: usize,
    closing: Vec<Closing>,
    /// Where closes go: the workload's target when it is a layer-4 load balancer.
    closes_to: Option<ComponentId>,
    opened: u64,
    resets: u64,
}

impl Connections {
    /// The connections of workload `index` named `name`; `keys_rng` is one of its streams (the
    /// connections take the sibling stream `"<name>/connections"`).
    pub fn build(
        spec: &ConnectionsSpec,
        index: u32,
        name: &str,
        keys_rng: &SimRng,
        base_dir: &std::path::Path,
    ) -> Result<Self, String> {
        let n = (spec.clients * spec.per_client) as usize;
        Ok(Connections {
            workload: index,
            clients: spec.clients,
            per_client: spec.per_client,
            lifetime: spec
                .lifetime
                .as_ref()
                .map(|d| d.build(base_dir))
                .transpose()?,
            rng: sibling(keys_rng, &format!("{name}/connections")),
            slots: vec![Slot::default(); n],
            next: 0,
            closing: Vec::new(),
            closes_to: None,
            opened: 0,
            resets: 0,
        })
    }

    /// Tells `target` (a layer-4 load balancer) when a connection closes.
    pub fn send_closes_to(&mut self, target: ComponentId) {
        self.closes_to = Some(target);
    }

    /// The source address of client `client` (0-based).
    pub fn client_ip(workload: u32, client: u32) -> u32 {
        0x0A00_0000 | ((workload & 0xFF) << 16) | (client + 1)
    }

    /// The connection the next request goes on (opening one if its slot has none).
    pub fn pick(&mut self, cx: &mut Ctx<'_>) -> Connection {
        let position = self.next;
        self.next = (position + 1) % self.slots.len();
        let client = position as u32 % self.clients;
        let k = position as u32 / self.clients;
        let index = (client * self.per_client + k) as usize;
        if let Some(connection) = self.slots[index].open {
            self.slots[index].in_flight += 1;
            return connection;
        }
        let connection = Connection {
            source_ip: Self::client_ip(self.workload, client),
            source_port: self.free_port(client),
            isn: self.rng.random(),
            opens: false,
            single: false,
        };
        self.opened += 1;
        let slot = &mut self.slots[index];
        slot.open = Some(connection);
        slot.in_flight = 1;
        if let Some(lifetime) = &self.lifetime {
            let delay = lifetime.sample(&mut self.rng);
            slot.lifetime.arm(
                cx,
                delay,
                super::WorkloadTimer::ConnectionLifetime,
                index as u32,
            );
        }
        Connection {
            opens: true,
            ..connection
        }
    }

    /// A port in the ephemeral range that `client` has no connection on, if one is found in a
    /// few draws; else the last drawn, in use (nearly every port taken: the tuple is reused,
    /// and an NLB takes the reuse for the end of the old flow). Bounded, so a client with
    /// almost every port open never stalls the run.
    fn free_port(&mut self, client: u32) -> u16 {
        const TRIES: u32 = 64;
        let first = (client * self.per_client) as usize;
        for _ in 1..TRIES {
            let port = self.rng.random_range(32768..=60999u16);
            let mine = self.slots[first..first + self.per_client as usize]
                .iter()
                .filter_map(|s| s.open)
                .chain(self.closing.iter().map(|c| c.connection));
            if !mine
                .filter(|c| c.source_ip == Self::client_ip(self.workload, client))
                .any(|c| c.source_port == port)
            {
                return port;
            }
        }
        self.rng.random_range(32768..=60999u16)
    }

    /// The answer to a request sent on one of the connections.
    pub fn answered(&mut self, response: &Response, cx: &mut Ctx<'_>) {
        let connection = response.request.connection;
        if connection.single {
            return;
        }
        let reset = response.outcome == Outcome::Error(CONNECTION_RESET);
        let client = (connection.source_ip & 0xFFFF).saturating_sub(1);
        let first = (client * self.per_client) as usize;
        let slots = first..(first + self.per_client as usize).min(self.slots.len());
        if let Some(index) = slots.clone().find(|&i| {
            self.slots[i]
                .open
                .is_some_and(|c| c.key() == connection.key())
        }) {
            let slot = &mut self.slots[index];
            slot.in_flight -= 1;
            if reset {
                // The client learns its connection is gone and reconnects on its next request.
                self.resets += 1;
                let open = slot.open.take().expect("found open");
                slot.lifetime.cancel(cx);
                let in_flight = std::mem::take(&mut slot.in_flight);
                self.retire(open, in_flight, cx);
            }
            return;
        }
        if let Some(at) = self
            .closing
            .iter()
            .position(|c| c.connection.key() == connection.key())
        {
            let c = &mut self.closing[at];
            c.in_flight -= 1;
            if c.in_flight == 0 {
                let c = self.closing.swap_remove(at);
                self.close(c.connection, cx);
            }
            return;
        }
        debug_assert!(false, "an answer on an unknown connection {connection:?}");
    }

    /// A connection stops taking requests: it closes now, or when its last answer is in.
    fn retire(&mut self, connection: Connection, in_flight: u32, cx: &mut Ctx<'_>) {
        if in_flight == 0 {
            self.close(connection, cx);
        } else {
            self.closing.push(Closing {
                connection,
                in_flight,
            });
        }
    }

    fn close(&mut self, connection: Connection, cx: &mut Ctx<'_>) {
        if let Some(to) = self.closes_to {
            cx.send(to, Msg::Control(Control::ConnectionClosed { connection }));
        }
    }

    /// A lifetime timer (payload `id`) fired.
    pub fn on_timer(&mut self, id: u64, cx: &mut Ctx<'_>) {
        let index = timer_index(id) as usize;
        let slot = &mut self.slots[index];
        if !slot.lifetime.fire(id) {
            return;
        }
        if let Some(open) = slot.open.take() {
            let in_flight = std::mem::take(&mut slot.in_flight);
            self.retire(open, in_flight, cx);
        }
    }

    /// Adds the connection figures to the workload's report: `connections = { opened,
    /// resets }`.
    pub fn figures(&self, report: ComponentReport) -> ComponentReport {
        report.figure(
            "connections",
            serde_json::json!({ "opened": self.opened, "resets": self.resets }),
        )
    }
}
