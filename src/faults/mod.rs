//! `[[fault]]`: failures injected at given times (an AZ outage, instances crashing, a slow or
//! failing dependency), and the impact each has on what users see.
//!
//! ```toml
//! [[fault]]
//! kind = "az_outage"           # the AZ's instances stop answering until it comes back
//! az = "a"
//! at = "5m"
//! duration = "10m"
//!
//! [[fault]]
//! kind = "instance_failure"    # instances of a fleet or group crash
//! component = "web"
//! rate = "2/h"                 # Poisson (seeded), over `at`..`at + duration` (default: the run)
//! # times = ["3m", "7m"]       # or one crash at each listed time
//! # mode = "hang"              # the application hangs instead: EC2 status checks pass, only
//!                              # a load balancer's health checks see it
//!
//! [[fault]]
//! kind = "latency_injection"   # service times multiplied by `factor` during the window
//! component = "web"            # an ec2_fleet, asg or lambda
//! at = "2m"
//! duration = "1m"
//! factor = 3
//!
//! [[fault]]
//! kind = "error_injection"     # a fraction of the requests fail at once with a 500 (a
//!                              # function's synchronous invocations; events are accepted)
//! component = "web"
//! at = "2m"
//! duration = "1m"
//! fraction = 0.2
//! ```
//!
//! # How faults are delivered
//! The engine knows nothing of faults. When a scenario has `[[fault]]` entries, the loader adds
//! one more component, the *injector* (named [`INJECTOR_NAME`], kind `faults`), after all the
//! others. At time zero it schedules a [`Control::Fault`](crate::message::Control::Fault) message for every start and end of
//! every fault, addressed to the components concerned: an AZ outage to every fleet and group
//! (each acts on what it has in that AZ), the other kinds to their
//! `component`. Random failure times (`rate`) are drawn when the run is built, from the
//! injector's own stream, so they do not move any component's random numbers. The components
//! act on the message with their own machinery: a crash is the crash of `failures`/`mtbf`, an
//! unreachable instance answers nothing and fails its health checks.
//!
//! # What it simplifies
//! An AZ outage reaches instances only (fleets' and groups' instances, and a database's
//! primary): load balancer nodes, functions, tables and queues are regional or AWS-managed and
//! carry on. A queue's pollers on an instance of the failed AZ stay
//! stuck on the message they were handing over (it becomes visible again after its visibility
//! timeout); when the AZ comes back its instances register again with their load balancers,
//! not with the queues they consume. A latency injection stretches the steps that *start* in
//! the window (a step already running keeps its time), not a function's cold start.
//!
//! # Impact
//! Every workload copies its final answers (end to end, retries included) to the injector, which
//! reports for each fault (`summary.json` → `faults`; over all workloads together, and, when
//! there are several, per workload under `workloads`):
//! - `baseline`: requests answered in the 60 s before the fault starts (from time zero if the
//!   fault starts earlier): their count, error rate and p99.
//! - `during`: requests *sent* while the fault is active (`at` .. `at + duration`; for
//!   `instance_failure` with `times`, from the first failure to 60 s after the last): count,
//!   errors (any answer but a success: 5xx, 504, throttles), error rate, latency percentiles of
//!   the successful ones.
//! - `recovery_s`: the time to recover. Requests are grouped by the 10 s bucket in which they
//!   were sent, from the fault's start. A bucket is *normal* when it had requests, its error rate
//!   is at most the baseline's plus one percentage point, and at most 1 % of its requests
//!   succeeded more slowly than 1.5 × the baseline p99 (i.e. its p99 is at most 1.5 × the
//!   baseline's). The system has recovered at the start of the first bucket that begins a run of
//!   six normal buckets (60 s); `recovery_s` is that instant minus the fault's start (0 when the
//!   fault never disturbed anything), `null` when no such run ends before the last minute of
//!   the simulation (whose requests may still be in flight). Grouping by send time matters: a
//!   request sent to a dead instance fails only at the load balancer's idle timeout, and its
//!   failure must count against the moment it was sent.
//!
//! # Where things are
//! - `spec.rs`: the `[[fault]]` tables ([`FaultSpec`]) and their validation ([`issues`]).
//! - `inject.rs`: the [`Injector`], which delivers the faults and collects the final answers.
//! - `impact.rs`: the impact analysis behind `summary.json` → `faults`.

mod impact;
mod inject;
mod spec;

pub use inject::{INJECTOR_KIND, INJECTOR_NAME, Injector};
pub use spec::{FaultSpec, KINDS, Setting, issues};
