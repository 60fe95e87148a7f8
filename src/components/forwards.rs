//! Requests a component forwards and answers itself if the answer is late: a 504 at a load
//! balancer's idle timeout (`alb`) or an API's integration timeout (`api_gateway`).
//!
//! Each forwarded request has a record, named in the forwarded copy's `tag`, and a deadline (see
//! [`super::deadlines`]). Whichever comes first, the answer or the deadline, answers the
//! client; the other is then late. A record lives until the answer comes, even after the
//! client had its 504 (its late answer is discarded, and the owner counts it), or until
//! [`Msg::Lost`](crate::message::Msg::Lost) says no answer will come. What the owner does with
//! an answer (delays, counts, caches) stays with the owner.

use super::deadlines::Deadlines;
use crate::engine::slab::Slab;
use crate::engine::time::SimTime;
use crate::message::Ctx;
use crate::message::{Request, Timer};

/// What a component remembers of a request it forwarded.
#[derive(Copy, Clone, Debug)]
pub struct Forward<T> {
    /// The request as the client sent it (its `reply_to` and `tag` are the client's).
    pub request: Request,
    /// When it arrived.
    pub arrived: SimTime,
    /// What the owner keeps besides (where it went, when it left).
    pub via: T,
    /// False once the client has had its 504; the answer is then discarded.
    pub waiting: bool,
    /// Unique per forwarded request, so a deadline left behind by an earlier user of the slot
    /// is recognised as stale.
    generation: u64,
    /// The instance holding it was lost: no answer will come, and the record goes once the
    /// client has had its 504.
    lost: bool,
}

/// The forwarded requests of one component and their deadlines.
#[derive(Clone, Debug)]
pub struct Forwards<T> {
    records: Slab<Forward<T>>,
    next_generation: u64,
    deadlines: Deadlines,
}

impl<T> Default for Forwards<T> {
    fn default() -> Self {
        Forwards {
            records: Slab::default(),
            next_generation: 0,
            deadlines: Deadlines::default(),
        }
    }
}

impl<T: Copy> Forwards<T> {
    /// Records `request` (arrived at `arrived`, forwarded `via`), whose client gets a 504 at
    /// `deadline` unless the answer comes first; `deadline` must not come before any deadline
    /// already recorded. Arms the owner's deadline timer (made by `timer`) if it is not armed.
    /// Returns the tag for the forwarded copy.
    pub fn insert<Tm: Into<Timer>>(
        &mut self,
        request: Request,
        arrived: SimTime,
        via: T,
        deadline: SimTime,
        cx: &mut Ctx<'_>,
        timer: impl FnOnce(u64) -> Tm,
    ) -> u64 {
        let generation = self.next_generation;
        self.next_generation += 1;
        let slot = self.records.insert(Forward {
            request,
            arrived,
            via,
            waiting: true,
            generation,
            lost: false,
        });
        let records = &self.records;
        self.deadlines
            .push(deadline, slot, generation, cx, timer, |s, g| {
                waiting(records, s, g)
            });
        slot as u64
    }

    /// The answer to the forward tagged `tag` came: its record, taken out (`waiting` false when
    /// the client already had its 504).
    pub fn answered(&mut self, tag: u64) -> Forward<T> {
        let slot = tag as u32;
        let forward = self.records[slot];
        self.records.remove(slot);
        forward
    }

    /// The forwarded copy `request` was lost with the instance holding it: no answer will
    /// come. A client still waiting gets its 504 at the deadline; the record goes then, or now
    /// if the client already had it. Returns where it went, if it is one of this component's
    /// forwards still waiting for an answer.
    pub fn lost(&mut self, request: &Request) -> Option<T> {
        let slot = request.tag as u32;
        if !self.records.is_live(slot) || self.records[slot].request.id != request.id {
            return None;
        }
        let forward = &mut self.records[slot];
        let via = forward.via;
        if forward.waiting {
            forward.lost = true;
        } else {
            self.records.remove(slot);
        }
        Some(via)
    }

    /// When the deadline timer fires: the next forward whose deadline has passed at `now` and
    /// whose client still waits, as (the client's request, its arrival). The client is owed a
    /// 504 now; the record no longer waits. Call until `None`, then [`Forwards::arm`].
    pub fn next_timed_out(&mut self, now: SimTime) -> Option<(Request, SimTime)> {
        while let Some((slot, generation)) = self.deadlines.pop_expired(now) {
            if !waiting(&self.records, slot, generation) {
                continue;
            }
            // The record stays until the answer comes, unless none will.
            let forward = &mut self.records[slot];
            forward.waiting = false;
            let (request, arrived) = (forward.request, forward.arrived);
            if forward.lost {
                self.records.remove(slot);
            }
            return Some((request, arrived));
        }
        None
    }

    /// Arms the deadline timer (made by `timer`) for the next client still waiting.
    pub fn arm<Tm: Into<Timer>>(&mut self, cx: &mut Ctx<'_>, timer: impl FnOnce(u64) -> Tm) {
        let records = &self.records;
        self.deadlines.arm(cx, timer, |s, g| waiting(records, s, g));
    }
}

/// True when the request forwarded in `slot` (of `generation`) still waits for its answer.
fn waiting<T>(records: &Slab<Forward<T>>, slot: u32, generation: u64) -> bool {
    records.is_live(slot) && {
        let f = &records[slot];
        f.generation == generation && f.waiting
    }
}
