//! The message vocabulary shared by every component: requests, their answers, and timers.
//!
//! `Msg` is a closed enum on purpose: adding a variant makes the compiler point at every
//! component that must consider it (no type-erased payloads, no run-time downcasts).

use crate::engine::ComponentId;
use crate::engine::time::{SimDuration, SimTime};

/// What a request asks of the component that receives it. Models that do not distinguish
/// operations (a web fleet) ignore it; storage models charge capacity by it.
#[derive(
    Copy,
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// The request as the workload made it (no specific operation).
    #[default]
    Default,
    /// A read of one item (eventually consistent).
    Read,
    /// A strongly consistent read of one item.
    StrongRead,
    /// A write of one item.
    Write,
    /// A query returning several items (its `item_kb` is their total).
    Query,
    /// A strongly consistent query.
    StrongQuery,
    /// A transactional write (twice the capacity of a write).
    TransactWrite,
    /// An asynchronous invocation (Lambda's `Event` invocation type): accepted at once, the
    /// work carries on after the answer.
    Event,
}

impl Op {
    /// The name scenarios use.
    pub fn name(self) -> &'static str {
        match self {
            Op::Default => "default",
            Op::Read => "read",
            Op::StrongRead => "strong_read",
            Op::Write => "write",
            Op::Query => "query",
            Op::StrongQuery => "strong_query",
            Op::TransactWrite => "transact_write",
            Op::Event => "event",
        }
    }
}

/// Marks a request that no load balancer has routed to a particular instance.
pub const NO_ROUTE: u32 = u32::MAX;

/// One request in flight. Plain data, copied from hop to hop: a caller forwards a copy with its
/// own `reply_to` and `tag`, and the callee answers with the copy it received.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Request {
    /// Unique within a run; every hop of the same user request keeps it.
    pub id: u64,
    /// Index of the workload that created the request.
    pub workload: u32,
    /// When the workload created the request (end-to-end latency starts here).
    pub created_at: SimTime,
    /// The request's key (partition key, cache key, FIFO message group...); the request id
    /// when the workload has no key spec (every request its own key).
    pub key: u64,
    /// Item size in KB (capacity units of storage models).
    pub item_kb: f32,
    /// What the request asks for.
    pub op: Op,
    /// 1 for the first try; retries increase it.
    pub attempt: u16,
    /// Where the answer goes.
    pub reply_to: ComponentId,
    /// The caller's correlation token, returned untouched in the answer.
    pub tag: u64,
    /// Instance index chosen by a load balancer, or [`NO_ROUTE`].
    pub route: u32,
    /// The service time a trace recorded for this request (Azure Functions 2021, or a CSV
    /// `duration` column), used by handler steps `compute = "from_trace"`.
    pub recorded_duration: Recorded,
    /// The client connection the request travels on: what a layer-4 load balancer (`nlb`)
    /// hashes. Without a workload's `connections`, every request is its own connection
    /// ([`Connection::single`]); a call a server makes is its own connection too.
    pub connection: Connection,
}

/// The service time a trace recorded for a request, if any, in 8 bytes: every message
/// carries one, and `Option<SimDuration>` would take 16 (messages are copied through the event
/// queue, so their size is the engine's memory traffic).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Recorded(u64);

impl Recorded {
    /// No recorded duration.
    pub const NONE: Recorded = Recorded(u64::MAX);

    /// `duration`, or none (a duration of 584 years or more is kept one nanosecond short).
    pub fn new(duration: Option<SimDuration>) -> Recorded {
        duration.map_or(Recorded::NONE, |d| Recorded(d.as_nanos().min(u64::MAX - 1)))
    }

    /// The recorded duration, if there is one.
    pub fn get(self) -> Option<SimDuration> {
        (self != Recorded::NONE).then_some(SimDuration(self.0))
    }
}

/// A client's TCP connection as a layer-4 load balancer sees it: the source address and port,
/// the initial sequence number (the rest of the flow-hash tuple, protocol and destination, is
/// the load balancer's own), and whether this request opens or ends the connection.
///
/// 12 bytes, copied with the request. Identity is `(source_ip, source_port, isn)`
/// ([`Connection::key`]); the two flags describe the request, not the connection.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Connection {
    /// Client IPv4 address (stable per client).
    pub source_ip: u32,
    /// Client ephemeral port.
    pub source_port: u16,
    /// Initial TCP sequence number (random per connection).
    pub isn: u32,
    /// True on the first request of a connection: the load balancer sees the SYN with it and
    /// creates a flow. A request on a connection it does not know that does not open one gets
    /// a reset.
    pub opens: bool,
    /// True when the connection carries this request only and closes once it is answered.
    pub single: bool,
}

/// The TCP reset a client sees when a layer-4 load balancer drops its connection (no flow for
/// it, no target to open one to). Not an HTTP status: an L4 load balancer has no HTTP to
/// answer with. Counted as failed.
pub const CONNECTION_RESET: u16 = 0;

impl Connection {
    /// The one-request connection numbered `id` by its sender (a request sent without a
    /// connection pool): source address, port and sequence number derived from the number by a
    /// fixed mix, so that no random number is drawn and per-request flows still spread evenly.
    /// A workload numbers its own (salted with its name), so other traffic never moves them;
    /// servers' calls and API Gateway use the request id.
    pub fn single(id: u64) -> Connection {
        let z = crate::engine::rng::mix64(id);
        Connection {
            // 10.255.x.y: one-shot clients.
            source_ip: 0x0AFF_0000 | (z >> 48) as u32,
            source_port: 32768 + ((z >> 32) as u16 % 28232),
            isn: z as u32,
            opens: true,
            single: true,
        }
    }

    /// What identifies the connection in a flow table.
    pub fn key(&self) -> (u32, u16, u32) {
        (self.source_ip, self.source_port, self.isn)
    }
}

/// How a request ended, as seen by the component that answers it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Served.
    Ok,
    /// Refused by a rate or concurrency limit (HTTP 429, ProvisionedThroughputExceeded...).
    Throttled,
    /// Failed with an HTTP-like status (502, 503...).
    Error(u16),
    /// No answer in time (HTTP 504, function timeout...).
    Timeout,
}

impl Outcome {
    /// True for [`Outcome::Ok`].
    pub fn is_ok(self) -> bool {
        matches!(self, Outcome::Ok)
    }
}

/// The answer to a request: the request as the callee received it, and its outcome.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Response {
    /// The request being answered (its `reply_to` and `tag` route the answer).
    pub request: Request,
    /// How it ended.
    pub outcome: Outcome,
}

/// A timer a component set for itself, as the event queue carries it. Components declare their
/// own timers as an enum with [`timers!`](crate::timers) and convert to and from this; `kind`
/// is the variant's code and `id` its payload. A component that re-arms or cancels timers keeps
/// a generation in `id` and ignores stale ones (lazy deletion: cancelling never searches the
/// event queue).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Timer {
    /// Which of the component's timers this is.
    pub kind: u32,
    /// Which instance of it (a slot index, possibly with a generation in the high bits).
    pub id: u64,
}

/// Control-plane messages between a load balancer and the group of instances behind it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Control {
    /// Group → load balancer: register `instance` as a target. A target that starts healthy
    /// (instances in service when the run starts) takes traffic at once; any other waits for
    /// `healthy_threshold` passed health checks.
    Register {
        /// Instance index in the group.
        instance: u32,
        /// True to skip the initial health checks.
        healthy: bool,
        /// The instance's availability zone: an index into the scenario's `[region] azs`
        /// (0 when the scenario declares none).
        az: u8,
        /// The group the instance belongs to (an ALB may forward to several).
        group: ComponentId,
    },
    /// Group → load balancer: deregister `instance`; it drains, then the load balancer answers
    /// [`Control::Drained`].
    Deregister {
        /// Instance index in the group.
        instance: u32,
        /// The group the instance belongs to.
        group: ComponentId,
    },
    /// Load balancer → group: `instance` has no request in flight any more (or the
    /// deregistration delay is over); the group may terminate it.
    Drained {
        /// Instance index in the group.
        instance: u32,
    },
    /// Load balancer → group: health check probe of `instance`.
    HealthCheck {
        /// Instance index in the group.
        instance: u32,
        /// The load balancer that asks (the answer goes there).
        from: ComponentId,
    },
    /// Group → load balancer: the answer to a probe.
    HealthCheckResult {
        /// Instance index in the group.
        instance: u32,
        /// True when the instance answered.
        healthy: bool,
        /// The group the instance belongs to.
        group: ComponentId,
    },
    /// Group → queue: report your visible messages (for the backlog-per-instance metric).
    QueryDepth {
        /// Where the answer goes.
        from: ComponentId,
    },
    /// Queue → group: visible messages now.
    QueueDepth {
        /// ApproximateNumberOfMessagesVisible.
        visible: u64,
    },
    /// Workload → layer-4 load balancer: the client closed `connection` (its FIN); the flow
    /// leaves the flow table.
    ConnectionClosed {
        /// The connection (its [`Connection::key`] identifies it).
        connection: Connection,
    },
    /// Load balancer → group: the target's health changed (`healthy_threshold` passes or
    /// `unhealthy_threshold` failures in a row).
    TargetHealth {
        /// Instance index in the group.
        instance: u32,
        /// The new health.
        healthy: bool,
    },
    /// Fault injector → component: a scheduled fault starts or ends (see `crate::faults`).
    Fault(FaultAction),
}

/// What a fault does to the component it is delivered to, at the moment it is delivered.
///
/// Ratios are integers in millionths so that control messages stay `Eq` and exact.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// Availability zone `az` fails: its instances stop answering.
    AzDown {
        /// Index into the scenario's `[region] azs`.
        az: u8,
    },
    /// Availability zone `az` is back.
    AzUp {
        /// Index into the scenario's `[region] azs`.
        az: u8,
    },
    /// One instance of the group, chosen at random among those in service, crashes.
    InstanceFailure,
    /// One instance of the group, chosen at random among those in service, hangs: its
    /// application stops answering (what it holds and what is sent to it is lost; senders time
    /// out) while the instance itself runs on, so its EC2 status checks still pass and only a
    /// load balancer's health checks see it.
    InstanceHang,
    /// Service times are multiplied by `factor_ppm / 1e6` from now on (1e6 ends the fault).
    Slowdown {
        /// The factor in millionths.
        factor_ppm: u32,
    },
    /// From now on a fraction `fraction_ppm / 1e6` of requests fail with a 500 (0 ends it).
    Errors {
        /// The fraction in millionths.
        fraction_ppm: u32,
    },
}

/// Millionths of a unit, as [`FaultAction`] carries ratios.
pub const PPM: f64 = 1e6;

/// Everything that travels between components.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Msg {
    /// A request to serve; answer it with a [`Msg::Response`] to its `reply_to`.
    Request(Request),
    /// An answer to a request this component sent.
    Response(Response),
    /// A timer this component set.
    Timer(Timer),
    /// Load balancer ↔ target group coordination.
    Control(Control),
    /// A request this component sent was lost with the instance holding it (its availability
    /// zone failed): no answer will come. The sender frees what it kept for the request. A
    /// sender with an answer timeout of its own (an ALB's idle timeout, an API's integration
    /// timeout) still answers its client at that timeout; any other treats the request as
    /// timed out now (a client without a timeout of its own would wait for ever).
    Lost(Request),
}

impl Msg {
    /// The answer a sender without a timeout of its own takes a lost request for.
    pub fn lost_as_timeout(request: Request) -> Response {
        Response {
            request,
            outcome: Outcome::Timeout,
        }
    }
}

/// What a component of awsim sees while it handles one event: the engine's context for this
/// message vocabulary.
pub type Ctx<'a> = crate::engine::Ctx<'a, Msg>;

impl Ctx<'_> {
    /// Sends `request` to `to`.
    pub fn send_request(&mut self, to: ComponentId, request: Request) {
        self.send(to, Msg::Request(request));
    }

    /// Answers `response.request` to whoever sent it.
    pub fn reply(&mut self, response: Response) {
        self.send(response.request.reply_to, Msg::Response(response));
    }

    /// Sets a timer for this component, `delay` from now.
    pub fn set_timer(&mut self, delay: SimDuration, timer: impl Into<Timer>) {
        self.send_self(delay, Msg::Timer(timer.into()));
    }
}

impl From<Timer> for Msg {
    fn from(timer: Timer) -> Msg {
        Msg::Timer(timer)
    }
}

/// Declares a component's own timers as an enum whose variants each carry a `u64` (a slot,
/// an instance, a generation...), and converts them to and from the [`Timer`] a message
/// carries. The component sets `cx.set_timer(delay, MyTimer::Poll(id))` and matches
/// `MyTimer::from(timer)` exhaustively: the compiler checks that every timer is handled, and a
/// timer the component never set is a bug that stops the run (in release builds too), never
/// an event silently ignored.
///
/// ```
/// awsim::timers! {
///     /// The timers of a polling model.
///     pub enum PollTimer {
///         /// Time to poll again.
///         Poll,
///         /// A message's visibility ended (its slot).
///         Visibility,
///     }
/// }
/// let timer: awsim::message::Timer = PollTimer::Visibility(7).into();
/// assert_eq!(PollTimer::from(timer), PollTimer::Visibility(7));
/// ```
#[macro_export]
macro_rules! timers {
    ($(#[$meta:meta])* $vis:vis enum $name:ident {
        $($(#[$variant_meta:meta])* $variant:ident),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq)]
        $vis enum $name {
            $($(#[$variant_meta])* $variant(u64),)+
        }

        impl From<$name> for $crate::message::Timer {
            fn from(timer: $name) -> $crate::message::Timer {
                // A variant's position is its code.
                #[allow(dead_code)]
                #[repr(u32)]
                enum Code { $($variant),+ }
                match timer {
                    $($name::$variant(id) => $crate::message::Timer {
                        kind: Code::$variant as u32,
                        id,
                    },)+
                }
            }
        }

        impl From<$name> for $crate::message::Msg {
            fn from(timer: $name) -> $crate::message::Msg {
                $crate::message::Msg::Timer(timer.into())
            }
        }

        impl From<$crate::message::Timer> for $name {
            fn from(timer: $crate::message::Timer) -> $name {
                #[allow(dead_code)]
                #[repr(u32)]
                enum Code { $($variant),+ }
                $(
                    if timer.kind == Code::$variant as u32 {
                        return $name::$variant(timer.id);
                    }
                )+
                panic!(
                    "{} has no timer with code {}: a timer this component never sets (a bug)",
                    stringify!($name),
                    timer.kind
                )
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_stay_small() {
        // Every event carries a message through the queue: its size is the engine's memory
        // traffic (the 1 M-pending hold benchmark lost 20 % when it grew from 64 to 88 bytes).
        // Grow it only knowingly, and re-measure `cargo bench --bench engine`.
        assert!(
            size_of::<Request>() <= 72,
            "Request: {} bytes",
            size_of::<Request>()
        );
        assert!(size_of::<Msg>() <= 80, "Msg: {} bytes", size_of::<Msg>());
    }

    #[test]
    fn a_recorded_duration_round_trips_and_none_is_none() {
        assert_eq!(Recorded::new(None).get(), None);
        let d = SimDuration::from_millis(250);
        assert_eq!(Recorded::new(Some(d)).get(), Some(d));
        assert_eq!(
            Recorded::new(Some(SimDuration::ZERO)).get(),
            Some(SimDuration::ZERO)
        );
    }
}
