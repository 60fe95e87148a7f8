//! A run stopped at one of its bounds: what the engine's watchdog found, told in the
//! scenario's terms (component names and kinds, the flag to change), and the parsers of the
//! command-line flags that set the bounds (`--max-events`, `--max-memory`...).

use std::fmt;
use std::time::Duration;

use crate::engine::ComponentId;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::watchdog::{Limit, Limits, Stop};
use crate::metrics::Observe;
use crate::units::format_size;

/// The exit code of a command whose run stopped at a bound (or was interrupted).
pub const EXIT_LIMIT: u8 = 3;

/// Components named per list in a [`LimitError`].
const NAMED: usize = 3;

/// A component involved in a stop, with its share of what was counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Involved {
    /// Its name in the scenario.
    pub name: String,
    /// Its kind (or `workload`).
    pub kind: &'static str,
    /// What was counted for it (events handled, events pending, requests in flight).
    pub count: u64,
}

/// A run stopped at one of its bounds before its end: which bound, where, who was involved,
/// and what to change.
#[derive(Clone, Debug)]
pub struct LimitError {
    /// The bound the run went past.
    pub limit: Limit,
    /// The bounds it ran under.
    pub limits: Limits,
    /// The simulated time reached.
    pub at: SimTime,
    /// The simulated end the run was heading for.
    pub end: SimTime,
    /// Events handled.
    pub events: u64,
    /// Events pending.
    pub pending: u64,
    /// The components that handled the most of the last `handled_over` events (bounds on
    /// events only).
    pub handled: Vec<Involved>,
    /// The events `handled` covers.
    pub handled_over: u64,
    /// The components with the most pending events (messages to them, their timers).
    pub pending_by: Vec<Involved>,
    /// The components with the most requests in flight.
    pub in_flight: Vec<Involved>,
}

impl LimitError {
    /// Tells `stop` in the terms of the components it names (`components`, in id order), for a
    /// run under `limits` heading for `end`.
    pub fn new<'a>(
        stop: &Stop,
        limits: Limits,
        end: SimTime,
        components: impl Iterator<Item = (&'a str, &'a dyn Observe)>,
    ) -> LimitError {
        let components: Vec<(&str, &dyn Observe)> = components.collect();
        let involved = |ranked: &[(ComponentId, u64)]| -> Vec<Involved> {
            ranked
                .iter()
                .take(NAMED)
                .map(|&(id, count)| {
                    let (name, c) = components[id.index()];
                    Involved {
                        name: name.to_string(),
                        kind: c.kind(),
                        count,
                    }
                })
                .collect()
        };
        let mut in_flight: Vec<(ComponentId, u64)> = components
            .iter()
            .enumerate()
            .map(|(i, (_, c))| (ComponentId(i as u32), c.in_flight()))
            .filter(|&(_, n)| n > 0)
            .collect();
        in_flight.sort_by_key(|&(id, n)| (std::cmp::Reverse(n), id));
        LimitError {
            limit: stop.limit,
            limits,
            at: stop.at,
            end,
            events: stop.events,
            pending: stop.pending,
            handled: involved(&stop.handled),
            handled_over: stop.handled_over,
            pending_by: involved(&stop.pending_by_target),
            in_flight: involved(&in_flight),
        }
    }

    /// The flag that sets the bound the run went past (`None` for an interrupt).
    pub fn flag(&self) -> Option<&'static str> {
        match self.limit {
            Limit::Events(_) => Some("--max-events"),
            Limit::Stall(_) => Some("--max-stall-events"),
            Limit::Pending(_) => Some("--max-pending"),
            Limit::Memory { .. } => Some("--max-memory"),
            Limit::Wall(_) => Some("--max-wall"),
            Limit::Interrupted => None,
        }
    }

    /// What probably caused the stop and what to change.
    fn advice(&self) -> String {
        match self.limit {
            Limit::Stall(_) => "likely cause: something answers or repeats with no delay. \
                Look for a closed-loop workload with zero think time against a component \
                that answers at once (a throttle, a full queue, no healthy target), a queue \
                polled with zero receive_wait and zero poll_interval, a rate near 1e9/s or more \
                (the clock counts nanoseconds), or a trace looped with a huge speedup. If that \
                many events really happen at one instant, raise --max-stall-events."
                .into(),
            Limit::Events(_) => "to change: shorten the duration or lower the rates, or raise \
                --max-events (--max-events none: no bound)."
                .into(),
            Limit::Pending(_) => {
                "likely cause: events are scheduled faster than they come due: arrivals \
                far above what the components serve, or a timer per request (timeouts, \
                retries, visibility) that outlives many requests. Lower the rate, the duration \
                or the timeouts; or raise --max-pending or --max-memory."
                    .into()
            }
            Limit::Memory { .. } => {
                "likely cause: the components above hold what grows (pending events, \
                requests in flight): lower the rate, the duration or the sizes; or raise \
                --max-memory if the machine has the memory."
                    .into()
            }
            Limit::Wall(_) => {
                "to change: shorten the duration or lower the rates, or raise --max-wall \
                 (--max-wall none: no bound)."
                    .into()
            }
            Limit::Interrupted => String::new(),
        }
    }
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.limit {
            Limit::Events(n) => write!(
                f,
                "the run reached its limit of {n} events (--max-events {n})"
            )?,
            Limit::Stall(n) => write!(
                f,
                "simulated time stopped: {n} events ran at one instant without the clock \
                 moving (--max-stall-events {n})"
            )?,
            Limit::Pending(n) => {
                write!(
                    f,
                    "more than {n} events were waiting in the event queue at once (--max-pending {n}"
                )?;
                if self.limits.max_pending.is_none() {
                    let memory = format_size(self.limits.max_memory);
                    write!(f, ", a quarter of --max-memory {memory}")?;
                }
                write!(f, ")")?;
            }
            Limit::Memory { limit, held } => write!(
                f,
                "awsim held {} of memory, more than --max-memory {}",
                format_size(held),
                format_size(limit)
            )?,
            Limit::Wall(d) => write!(
                f,
                "the run took more than --max-wall {} of wall-clock time",
                SimDuration(d.as_nanos().min(u64::MAX as u128) as u64)
            )?,
            Limit::Interrupted => write!(f, "the run was interrupted")?,
        }
        writeln!(
            f,
            "\n  stopped at simulated time {} of {}, after {} events, {} pending",
            SimDuration(self.at.0),
            SimDuration(self.end.0),
            self.events,
            self.pending
        )?;
        if !self.handled.is_empty() {
            let over = self.handled_over;
            write!(f, "  busiest over the last {over} events: ")?;
            list(f, &self.handled, |n| {
                format!("{:.1} %", 100.0 * n as f64 / over as f64)
            })?;
        }
        if !self.pending_by.is_empty() {
            write!(f, "  most events pending: ")?;
            list(f, &self.pending_by, |n| n.to_string())?;
        }
        if !self.in_flight.is_empty() {
            write!(f, "  most requests in flight: ")?;
            list(f, &self.in_flight, |n| n.to_string())?;
        }
        let advice = self.advice();
        if !advice.is_empty() {
            write!(f, "  {advice}")?;
        }
        Ok(())
    }
}

/// One line of involved components: `` `name` (kind) count, ... ``.
fn list(
    f: &mut fmt::Formatter<'_>,
    involved: &[Involved],
    count: impl Fn(u64) -> String,
) -> fmt::Result {
    let items: Vec<String> = involved
        .iter()
        .map(|i| format!("`{}` ({}) {}", i.name, i.kind, count(i.count)))
        .collect();
    writeln!(f, "{}", items.join(", "))
}

/// Parses a count of events: `10000000`, `10_000_000` or `1e7`, at least 1; `none` for no
/// bound (`u64::MAX`, a count no run reaches).
pub fn parse_event_count(s: &str) -> Result<u64, String> {
    let text = s.trim().replace('_', "");
    if text == "none" {
        return Ok(u64::MAX);
    }
    let value = match text.parse::<u64>() {
        Ok(n) => n,
        Err(_) => match text.parse::<f64>() {
            Ok(x) if x.fract() == 0.0 && (0.0..1.8e19).contains(&x) => x as u64,
            _ => {
                return Err(format!(
                    "invalid count \"{s}\": write a whole number like 10000000 or 1e7, or none"
                ));
            }
        },
    };
    if value == 0 {
        return Err(format!(
            "invalid count \"{s}\": must be at least 1 (none: no bound)"
        ));
    }
    Ok(value)
}

/// Parses a wall-clock duration: `30s`, `10m`, `2h` (the units of scenario durations);
/// `none` for no bound (`Duration::MAX`).
pub fn parse_wall(s: &str) -> Result<Duration, String> {
    if s.trim() == "none" {
        return Ok(Duration::MAX);
    }
    crate::units::parse_positive_duration(s).map(|d| Duration::from_nanos(d.as_nanos()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_parse() {
        assert_eq!(parse_event_count("10000000"), Ok(10_000_000));
        assert_eq!(parse_event_count("10_000_000"), Ok(10_000_000));
        assert_eq!(parse_event_count("1e7"), Ok(10_000_000));
        assert_eq!(parse_event_count("none"), Ok(u64::MAX));
        assert!(parse_event_count("0").is_err());
        assert!(parse_event_count("1.5").is_err());
        assert!(parse_event_count("-3").is_err());
        assert!(
            parse_event_count("lots")
                .unwrap_err()
                .contains("whole number")
        );
    }

    #[test]
    fn the_default_pending_bound_is_the_one_documented() {
        // README ("Limits") and `--help` say 9.8 million, about 109 bytes each.
        assert_eq!(
            crate::engine::watchdog::bytes_per_pending_event::<crate::message::Msg>(),
            109
        );
        let bound = Limits::default().pending_bound::<crate::message::Msg>();
        assert_eq!(bound / 100_000, 98, "{bound}");
    }

    #[test]
    fn wall_durations_parse() {
        assert_eq!(parse_wall("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_wall("none"), Ok(Duration::MAX));
        assert!(parse_wall("0s").is_err());
        assert!(parse_wall("10").is_err());
    }
}
