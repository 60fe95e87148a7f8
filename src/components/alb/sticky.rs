//! Sticky sessions: `stickiness = { type = "lb_cookie", duration = "1h" }`, AWS's target group
//! attributes `stickiness.enabled`, `stickiness.type` and
//! `stickiness.lb_cookie.duration_seconds` (or `stickiness.app_cookie.duration_seconds`).
//!
//! # What it follows
//! - A client's first request is routed by the algorithm; the answer carries a cookie naming
//!   the target (AWS's `AWSALB`). The client's next requests present it and go to that target,
//!   bypassing the algorithm ("the routing algorithm of the target group is overridden after
//!   the initial target selection").
//! - The cookie's expiry is reset by every answer ("the Application Load Balancer resets the
//!   expiry of the cookies it generates after every request"): it expires `duration` after the
//!   last answer the client got, so a client that keeps sending never loses its target. A
//!   request arriving at or after the expiry is routed by the algorithm and gets a new cookie.
//! - A cookie naming a target that left (deregistered, draining, unhealthy, terminated) is
//!   ignored: the request is routed by the algorithm and the answer's cookie names the new
//!   target, which the client keeps even if the old one comes back.
//! - With weighted target groups (`forward`), AWS requires target group stickiness as well:
//!   the cookie pins the client's group together with its target, for the same duration.
//!   Application-based stickiness "does not work with weighted target groups": refused.
//!
//! # What it simplifies
//! The client is a workload's client (`connections = { clients = N }`: its source address),
//! whose cookie jar outlives its connections; a request on a one-request connection (a
//! workload without `connections`, a call from another component) is a new client without a
//! cookie, so it is never sticky. `app_cookie` assumes the application sets its cookie in
//! every answer, so it behaves as `lb_cookie` with its own duration. Only answers from a target
//! set a cookie (not the ALB's own 503 or 504). A cookie whose target is full, or (without
//! cross-zone load balancing) in another AZ than the node the client reached, is ignored like
//! one naming a target that left. Memory: one entry per client, so at most the clients of the
//! workloads in front.

use std::collections::HashMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::super::SpecIssue;
use crate::engine::time::{SimDuration, SimTime};
use crate::message::Request;

/// The default cookie duration, 1 day (`stickiness.lb_cookie.duration_seconds` and
/// `stickiness.app_cookie.duration_seconds` default to 86400).
pub const DEFAULT_DURATION: SimDuration = SimDuration::from_secs(86_400);

/// The shortest cookie duration AWS accepts, 1 second.
pub const MIN_DURATION: SimDuration = SimDuration::from_secs(1);

/// The longest cookie duration AWS accepts, 7 days (604800 seconds).
pub const MAX_DURATION: SimDuration = SimDuration::from_secs(604_800);

/// Which cookie keeps a client on its target.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum CookieType {
    /// Duration-based: the load balancer's own cookie (`AWSALB`).
    #[default]
    LbCookie,
    /// Application-based: the load balancer's `AWSALBAPP` cookie, issued with the
    /// application's own (assumed set in every answer).
    AppCookie,
}

/// `stickiness = { type = "lb_cookie", duration = "1h" }`.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StickinessSpec {
    /// `"lb_cookie"` (default, AWS's duration-based stickiness) or `"app_cookie"`
    /// (application-based; not with weighted target groups).
    #[serde(rename = "type", default)]
    pub cookie: CookieType,
    /// How long after a client's last answer its cookie expires (AWS
    /// `stickiness.lb_cookie.duration_seconds` or `stickiness.app_cookie.duration_seconds`):
    /// 1 s to 7 days, default 1 day.
    #[schemars(with = "Option<SimDuration>")]
    pub duration: Option<Spanned<SimDuration>>,
}

impl StickinessSpec {
    /// The cookie duration.
    pub fn duration(&self) -> SimDuration {
        self.duration
            .as_ref()
            .map_or(DEFAULT_DURATION, |d| *d.get_ref())
    }

    /// What is wrong with it; `weighted` when the ALB forwards to several target groups.
    pub fn issues(spec: &Spanned<StickinessSpec>, weighted: bool) -> Vec<SpecIssue> {
        let mut out = Vec::new();
        let s = spec.get_ref();
        if let Some(d) = &s.duration
            && !(MIN_DURATION..=MAX_DURATION).contains(d.get_ref())
        {
            out.push(issue(
                "stickiness.duration",
                format!(
                    "a cookie duration is 1 s to 7 days (604800 s), found {}",
                    d.get_ref()
                ),
                d.span(),
            ));
        }
        if weighted && s.cookie == CookieType::AppCookie {
            out.push(issue(
                "stickiness.type",
                "application-based stickiness does not work with weighted target groups \
                 (`forward`), as AWS documents: use `type = \"lb_cookie\"`"
                    .into(),
                spec.span(),
            ));
        }
        out
    }
}

fn issue(field: &str, message: String, span: Range<usize>) -> SpecIssue {
    SpecIssue {
        field: field.into(),
        message,
        span,
    }
}

/// A client's cookie: its target group, its target and when it expires.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Cookie {
    group: u8,
    target: u32,
    expires: SimTime,
}

/// The cookies the ALB has handed out, by client.
#[derive(Clone, Debug)]
pub struct Cookies {
    /// The cookie type (for the report).
    pub cookie: CookieType,
    duration: SimDuration,
    by_client: HashMap<u64, Cookie>,
    /// Requests routed by a cookie in the measured window.
    pub routed: u64,
}

impl Cookies {
    /// No cookie handed out yet.
    pub fn new(spec: &StickinessSpec) -> Cookies {
        Cookies {
            cookie: spec.cookie,
            duration: spec.duration(),
            by_client: HashMap::new(),
            routed: 0,
        }
    }

    /// The client that sent `request`, if it keeps cookies: a workload's client (its source
    /// address, with the workload's index so that workloads never share one). A one-request
    /// connection is a new client each time.
    fn client(request: &Request) -> Option<u64> {
        (!request.connection.single)
            .then(|| (u64::from(request.workload) << 32) | u64::from(request.connection.source_ip))
    }

    /// The group and target of the cookie `request` presents at `now`, if it has one that has
    /// not expired.
    pub fn presented(&self, request: &Request, now: SimTime) -> Option<(usize, u32)> {
        let cookie = self.by_client.get(&Self::client(request)?)?;
        (now < cookie.expires).then_some((cookie.group as usize, cookie.target))
    }

    /// The answer to `request` from `target` of group `group` leaves the ALB at `now`: it sets
    /// (or renews) the client's cookie.
    pub fn answered(&mut self, request: &Request, group: usize, target: u32, now: SimTime) {
        if let Some(client) = Self::client(request) {
            self.by_client.insert(
                client,
                Cookie {
                    group: group as u8,
                    target,
                    expires: now + self.duration,
                },
            );
        }
    }

    /// Clients that were handed a cookie.
    pub fn clients(&self) -> usize {
        self.by_client.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Connection;

    fn spec(duration: &str) -> StickinessSpec {
        toml::from_str(&format!("duration = \"{duration}\"")).unwrap()
    }

    fn request(source_ip: u32, single: bool) -> Request {
        Request {
            id: 1,
            workload: 0,
            created_at: SimTime::ZERO,
            key: 1,
            item_kb: 1.0,
            op: crate::message::Op::Default,
            attempt: 1,
            reply_to: crate::engine::ComponentId(0),
            tag: 0,
            route: crate::message::NO_ROUTE,
            recorded_duration: crate::message::Recorded::NONE,
            connection: Connection {
                source_ip,
                single,
                ..Connection::default()
            },
        }
    }

    #[test]
    fn a_cookie_expires_exactly_its_duration_after_the_last_answer() {
        let mut cookies = Cookies::new(&spec("10s"));
        let r = request(7, false);
        let t = |s: u64| SimTime::ZERO + SimDuration::from_secs(s);
        assert_eq!(cookies.presented(&r, t(0)), None);
        cookies.answered(&r, 0, 3, t(5));
        assert_eq!(cookies.presented(&r, t(14)), Some((0, 3)));
        let just_before = SimTime::ZERO + SimDuration::from_nanos(15_000_000_000 - 1);
        assert_eq!(cookies.presented(&r, just_before), Some((0, 3)));
        assert_eq!(cookies.presented(&r, t(15)), None);
        // Each answer renews it.
        cookies.answered(&r, 0, 3, t(14));
        assert_eq!(cookies.presented(&r, t(23)), Some((0, 3)));
        assert_eq!(cookies.presented(&r, t(24)), None);
        assert_eq!(cookies.clients(), 1);
    }

    #[test]
    fn one_request_connections_and_other_clients_carry_no_cookie() {
        let mut cookies = Cookies::new(&spec("1h"));
        let t = SimTime::ZERO + SimDuration::from_secs(1);
        let one_shot = request(7, true);
        cookies.answered(&one_shot, 0, 1, t);
        assert_eq!(cookies.presented(&one_shot, t), None);
        assert_eq!(cookies.clients(), 0);
        cookies.answered(&request(7, false), 0, 1, t);
        assert_eq!(cookies.presented(&request(8, false), t), None);
        let mut other_workload = request(7, false);
        other_workload.workload = 1;
        assert_eq!(cookies.presented(&other_workload, t), None);
    }
}
