//! Running executions: each is a tree of threads (one per branch or Map iteration in
//! progress) walking the compiled states, joined at their Parallel or Map state.
//!
//! Threads, joins and executions live in slabs; a timer or a task's tag names a thread by slot
//! and generation, so an event for a thread that has moved on (a late answer, a timeout after
//! the answer) is recognised and ignored. An execution that ends (timed out, or failed in one
//! branch) leaves its other threads to notice at their next event and end quietly: no search.

use rand::Rng;

use super::Spec;
use super::asl::{
    self, Action, Field, Machine, NO_CHOICE_MATCHED, Rule, SERVICE_ERROR, THROTTLED, TIMEOUT, Test,
};
use crate::components::Kind;
use crate::components::token_bucket::ExactBucket;
use crate::engine::slab::Slab;
use crate::engine::time::{SimDuration, SimTime};
use crate::engine::{Component, EventId};
use crate::message::{Connection, Ctx, Msg, NO_ROUTE, Outcome, Recorded, Request, Response};
use crate::metrics::{ComponentReport, Latency, Ledger, Observe, RequestMetrics, SeriesRow};

/// Settings of a machine beyond its states.
#[derive(Copy, Clone, Debug)]
pub(super) struct Limits {
    /// Longest execution.
    pub(super) timeout: SimDuration,
    /// Time per transition before a state acts.
    pub(super) overhead: SimDuration,
    /// Open executions at most.
    pub(super) max_open: u64,
    /// Callers wait for the execution's end.
    pub(super) sync: bool,
}

/// How an execution or a branch ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum End {
    Succeeded,
    Failed(u32),
}

struct Execution {
    request: Request,
    started_at: SimTime,
    /// Unique in the run: threads name their execution by it.
    id: u64,
    /// Its timeout timer, cancelled when it ends first (a Standard execution's year-long timer
    /// left pending would keep the event queue growing with every execution).
    timeout: Option<EventId>,
}

struct Thread {
    /// Its execution's slot and id.
    execution: u32,
    execution_id: u64,
    /// The join it belongs to (slot and id), if it is a branch or an iteration.
    join: Option<(u32, u64)>,
    state: usize,
    /// Retries used per retrier of the current state.
    retries: Vec<u32>,
    /// Bumped whenever it starts waiting: events carry it.
    generation: u32,
}

struct Join {
    id: u64,
    /// The thread of the Parallel or Map state (slot and generation when it began waiting).
    parent: u32,
    parent_generation: u32,
    /// Branches or iterations still to succeed.
    remaining: u32,
    /// Threads of it still alive.
    live: u32,
    /// Map: the next item to start, the item count, iterations running, the limit.
    next_item: u32,
    items: u32,
    running: u32,
    max_concurrency: u32,
    start: usize,
    failed: bool,
}

crate::timers! {
    /// The machine's timers: (generation << 32) | thread slot, or an execution slot.
    enum SfnTimer {
        /// A transition's overhead is over: the state acts.
        Act,
        /// A Wait state is over, or a retry's interval.
        Resume,
        /// A throttled transition tries again.
        Transition,
        /// A task's TimeoutSeconds.
        TaskTimeout,
        /// An execution's timeout: its slot in the low 32 bits, its id's low 32 in the high.
        ExecutionTimeout,
    }
}

/// Counts of the measured window (executions started after the warm-up).
#[derive(Default)]
struct Figures {
    started: u64,
    succeeded: u64,
    failed: u64,
    timed_out: u64,
    throttled: u64,
    transitions: u64,
    transitions_throttled: u64,
    task_calls: u64,
    retries: u64,
    caught: u64,
    map_concurrency_max: u32,
}

/// A running state machine.
pub(super) struct Runner {
    machine: Machine,
    limits: Limits,
    start_bucket: ExactBucket,
    transition_bucket: Option<ExactBucket>,
    /// Time for one transition token to accrue (the wait of a throttled transition).
    token_time: SimDuration,
    executions: Slab<Execution>,
    threads: Slab<Thread>,
    joins: Slab<Join>,
    /// Whether the thread in a slot waits for a `Resume` as a retry (true) or a Wait (false).
    retrying: Vec<bool>,
    next_id: u64,
    open: u64,
    started_total: u64,
    ended_total: u64,
    metrics: RequestMetrics,
    durations: Latency,
    figures: Figures,
}

fn key(slot: u32, generation: u32) -> u64 {
    ((generation as u64) << 32) | slot as u64
}

fn unkey(id: u64) -> (u32, u32) {
    (id as u32, (id >> 32) as u32)
}

impl Runner {
    pub(super) fn new(
        machine: Machine,
        limits: Limits,
        start_bucket: ExactBucket,
        transition_bucket: Option<ExactBucket>,
        metrics: RequestMetrics,
    ) -> Runner {
        Runner {
            machine,
            limits,
            start_bucket,
            token_time: SimDuration::ZERO,
            transition_bucket,
            executions: Slab::default(),
            threads: Slab::default(),
            joins: Slab::default(),
            retrying: Vec::new(),
            next_id: 1,
            open: 0,
            started_total: 0,
            ended_total: 0,
            metrics,
            durations: Latency::new(3),
            figures: Figures::default(),
        }
    }

    /// Sets the wait of a throttled transition from the bucket's rate.
    pub(super) fn with_token_time(mut self, rate_per_s: f64) -> Runner {
        self.token_time = SimDuration::from_secs_f64(1.0 / rate_per_s.max(1e-9));
        self
    }

    fn in_window(&self, execution: u32) -> bool {
        self.metrics
            .in_window(self.executions[execution].started_at)
    }

    fn on_start(&mut self, request: Request, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.metrics.arrived(now);
        if self.open >= self.limits.max_open || !self.start_bucket.has_token(now) {
            if self.metrics.in_window(now) {
                self.figures.throttled += 1;
            }
            self.metrics.finished(now, now, Outcome::Throttled);
            cx.reply(Response {
                request,
                outcome: Outcome::Throttled,
            });
            return;
        }
        self.start_bucket.take_token();
        if !self.limits.sync {
            self.metrics.finished(now, now, Outcome::Ok);
            cx.reply(Response {
                request,
                outcome: Outcome::Ok,
            });
        }
        let id = self.next_id;
        self.next_id += 1;
        let execution = self.executions.insert(Execution {
            request,
            started_at: now,
            id,
            timeout: None,
        });
        self.open += 1;
        self.started_total += 1;
        if self.metrics.in_window(now) {
            self.figures.started += 1;
        }
        let timer = SfnTimer::ExecutionTimeout(key(execution, id as u32));
        self.executions[execution].timeout =
            Some(cx.send_self(self.limits.timeout, Msg::Timer(timer.into())));
        let start = self.machine.start;
        self.spawn(execution, None, start, cx);
    }

    /// Starts a thread of `execution` at `state`.
    fn spawn(&mut self, execution: u32, join: Option<(u32, u64)>, state: usize, cx: &mut Ctx<'_>) {
        let thread = self.threads.insert(Thread {
            execution,
            execution_id: self.executions[execution].id,
            join,
            state,
            retries: Vec::new(),
            generation: 0,
        });
        if self.retrying.len() <= thread as usize {
            self.retrying.resize(thread as usize + 1, false);
        }
        if let Some((j, _)) = join {
            self.joins[j].live += 1;
        }
        self.enter(thread, state, cx);
    }

    /// True while the thread's execution is open and its join (if any) has not failed.
    fn alive(&self, thread: u32) -> bool {
        let t = &self.threads[thread];
        let execution_open = self.executions.is_live(t.execution)
            && self.executions[t.execution].id == t.execution_id;
        let join_ok = t.join.is_none_or(|(j, id)| {
            self.joins.is_live(j) && self.joins[j].id == id && !self.joins[j].failed
        });
        execution_open && join_ok
    }

    /// The thread of the event `id` (slot and generation), if it is still waiting for it.
    fn waiting(&self, id: u64) -> Option<u32> {
        let (slot, generation) = unkey(id);
        (self.threads.is_live(slot) && self.threads[slot].generation == generation).then_some(slot)
    }

    /// A new wait of `thread`: its key for the event that ends it.
    fn wait_key(&mut self, thread: u32) -> u64 {
        let t = &mut self.threads[thread];
        t.generation = t.generation.wrapping_add(1);
        key(thread, t.generation)
    }

    /// The thread moves to `state` (a transition).
    fn enter(&mut self, thread: u32, state: usize, cx: &mut Ctx<'_>) {
        let retriers = self.machine.states[state].retry.len();
        let t = &mut self.threads[thread];
        t.state = state;
        t.retries.clear();
        t.retries.resize(retriers, 0);
        self.transition(thread, cx);
    }

    /// Takes a transition token (or waits for one), then the overhead, then the state acts.
    fn transition(&mut self, thread: u32, cx: &mut Ctx<'_>) {
        if !self.alive(thread) {
            self.drop_thread(thread);
            return;
        }
        let in_window = self.in_window(self.threads[thread].execution);
        if let Some(bucket) = &mut self.transition_bucket {
            if !bucket.has_token(cx.now()) {
                if in_window {
                    self.figures.transitions_throttled += 1;
                }
                let k = self.wait_key(thread);
                cx.set_timer(self.token_time, SfnTimer::Transition(k));
                return;
            }
            bucket.take_token();
        }
        if in_window {
            self.figures.transitions += 1;
        }
        if self.limits.overhead.is_zero() {
            self.act(thread, cx);
        } else {
            let k = self.wait_key(thread);
            cx.set_timer(self.limits.overhead, SfnTimer::Act(k));
        }
    }

    /// The current state of `thread` does what it does.
    fn act(&mut self, thread: u32, cx: &mut Ctx<'_>) {
        if !self.alive(thread) {
            self.drop_thread(thread);
            return;
        }
        let t = &self.threads[thread];
        let (execution, state) = (t.execution, t.state);
        match &self.machine.states[state].action {
            Action::Task {
                target,
                op,
                timeout,
            } => {
                let (target, op, timeout) = (*target, *op, *timeout);
                let attempt: u32 = 1 + self.threads[thread].retries.iter().sum::<u32>();
                let request = self.executions[execution].request;
                let k = self.wait_key(thread);
                if self.in_window(execution) {
                    self.figures.task_calls += 1;
                }
                cx.send_request(
                    target,
                    Request {
                        op,
                        attempt: attempt.min(u16::MAX as u32) as u16,
                        reply_to: cx.me(),
                        tag: k,
                        route: NO_ROUTE,
                        recorded_duration: Recorded::NONE,
                        connection: Connection::single(request.id),
                        ..request
                    },
                );
                if let Some(timeout) = timeout {
                    cx.set_timer(timeout, SfnTimer::TaskTimeout(k));
                }
            }
            Action::Wait(d) => {
                let d = *d;
                let k = self.wait_key(thread);
                self.retrying[thread as usize] = false;
                cx.set_timer(d, SfnTimer::Resume(k));
            }
            Action::Pass => self.advance(thread, cx),
            Action::Succeed => self.thread_end(thread, End::Succeeded, cx),
            Action::Fail(e) => {
                let e = *e;
                self.thread_end(thread, End::Failed(e), cx)
            }
            Action::Choice { rules, default } => {
                let request = self.executions[execution].request;
                let default = *default;
                let mut draw: Option<f64> = None;
                let mut cumulative = 0.0;
                let mut chosen = None;
                for rule in rules {
                    match *rule {
                        Rule::Probability(p, next) => {
                            let u = *draw.get_or_insert_with(|| cx.rng().random::<f64>());
                            cumulative += p;
                            if u < cumulative {
                                chosen = Some(next);
                                break;
                            }
                        }
                        Rule::Compare(field, test, next) => {
                            if passes(&request, field, test) {
                                chosen = Some(next);
                                break;
                            }
                        }
                    }
                }
                match chosen.or(default) {
                    Some(next) => self.enter(thread, next, cx),
                    None => self.error(thread, NO_CHOICE_MATCHED, cx),
                }
            }
            Action::Parallel(branches) => {
                let branches = branches.clone();
                let join = self.new_join(thread, branches.len() as u32, 0, 0, 0);
                for start in branches {
                    self.spawn(execution, Some(join), start, cx);
                }
            }
            Action::Map {
                start,
                items,
                max_concurrency,
            } => {
                let (start, items, max) = (*start, *items, *max_concurrency);
                if items == 0 {
                    self.advance(thread, cx);
                    return;
                }
                let join = self.new_join(thread, items, items, max, start);
                self.fill(join, cx);
            }
        }
    }

    fn new_join(
        &mut self,
        parent: u32,
        remaining: u32,
        items: u32,
        max: u32,
        start: usize,
    ) -> (u32, u64) {
        let id = self.next_id;
        self.next_id += 1;
        let parent_generation = {
            let t = &mut self.threads[parent];
            t.generation = t.generation.wrapping_add(1);
            t.generation
        };
        let slot = self.joins.insert(Join {
            id,
            parent,
            parent_generation,
            remaining,
            live: 0,
            next_item: 0,
            items,
            running: 0,
            max_concurrency: max,
            start,
            failed: false,
        });
        (slot, id)
    }

    /// Starts Map items while the join's limit allows. (Every transition takes time, so no
    /// iteration ends while this runs.)
    fn fill(&mut self, join: (u32, u64), cx: &mut Ctx<'_>) {
        loop {
            let j = &self.joins[join.0];
            let room = j.max_concurrency == 0 || j.running < j.max_concurrency;
            if j.next_item >= j.items || !room {
                return;
            }
            self.start_item(join, cx);
        }
    }

    /// Starts the next item of a Map join.
    fn start_item(&mut self, join: (u32, u64), cx: &mut Ctx<'_>) {
        let j = &mut self.joins[join.0];
        j.next_item += 1;
        j.running += 1;
        let (start, running) = (j.start, j.running);
        let execution = self.threads[j.parent].execution;
        if self.in_window(execution) {
            self.figures.map_concurrency_max = self.figures.map_concurrency_max.max(running);
        }
        self.spawn(execution, Some(join), start, cx);
    }

    /// The thread's state is done: on to its `Next`, or the end of its branch.
    fn advance(&mut self, thread: u32, cx: &mut Ctx<'_>) {
        match self.machine.states[self.threads[thread].state].next {
            Some(next) => self.enter(thread, next, cx),
            None => self.thread_end(thread, End::Succeeded, cx),
        }
    }

    /// The thread's state raised `error`: retry, catch, or fail the branch.
    fn error(&mut self, thread: u32, error: u32, cx: &mut Ctx<'_>) {
        let state = &self.machine.states[self.threads[thread].state];
        let matches = |errors: &[u32]| {
            errors.iter().any(|&e| {
                e == error || e == asl::ALL || (e == asl::TASK_FAILED && error != TIMEOUT)
            })
        };
        let in_window = self.in_window(self.threads[thread].execution);
        if let Some(r) = state.retry.iter().position(|r| matches(&r.errors)) {
            let retrier = &state.retry[r];
            let used = self.threads[thread].retries[r];
            if used < retrier.max_attempts {
                let mut delay = retrier.delay(used + 1);
                if retrier.full_jitter {
                    delay =
                        SimDuration::from_secs_f64(delay.as_secs_f64() * cx.rng().random::<f64>());
                }
                self.threads[thread].retries[r] += 1;
                if in_window {
                    self.figures.retries += 1;
                }
                let k = self.wait_key(thread);
                self.retrying[thread as usize] = true;
                cx.set_timer(delay, SfnTimer::Resume(k));
                return;
            }
        }
        if let Some((_, next)) = state.catch.iter().find(|(errors, _)| matches(errors)) {
            let next = *next;
            if in_window {
                self.figures.caught += 1;
            }
            self.enter(thread, next, cx);
            return;
        }
        self.thread_end(thread, End::Failed(error), cx);
    }

    /// A thread that has nothing more to do leaves (its execution or join has ended).
    fn drop_thread(&mut self, thread: u32) {
        let t = &self.threads[thread];
        if let Some((j, id)) = t.join
            && self.joins.is_live(j)
            && self.joins[j].id == id
        {
            // A branch of it ended quietly: the join cannot complete any more.
            let join = &mut self.joins[j];
            join.live -= 1;
            join.failed = true;
            self.free_join_if_done(j);
        }
        self.threads.remove(thread);
    }

    fn free_join_if_done(&mut self, j: u32) {
        let join = &self.joins[j];
        if join.live == 0 && (join.failed || join.remaining == 0) {
            self.joins.remove(j);
        }
    }

    /// The thread's branch ended.
    fn thread_end(&mut self, thread: u32, end: End, cx: &mut Ctx<'_>) {
        let t = &self.threads[thread];
        let (execution, join) = (t.execution, t.join);
        self.threads.remove(thread);
        match join {
            None => self.execution_end(execution, end, cx),
            Some((j, id)) => {
                if !self.joins.is_live(j) || self.joins[j].id != id {
                    return;
                }
                let join = &mut self.joins[j];
                join.live -= 1;
                if join.failed {
                    self.free_join_if_done(j);
                    return;
                }
                let (parent, generation) = (join.parent, join.parent_generation);
                let parent_waiting =
                    self.threads.is_live(parent) && self.threads[parent].generation == generation;
                match end {
                    End::Failed(error) => {
                        join.failed = true;
                        self.free_join_if_done(j);
                        if parent_waiting && self.alive(parent) {
                            self.error(parent, error, cx);
                        } else if parent_waiting {
                            self.drop_thread(parent);
                        }
                    }
                    End::Succeeded => {
                        join.remaining -= 1;
                        join.running = join.running.saturating_sub(1);
                        let more = join.next_item < join.items;
                        let done = join.remaining == 0;
                        if more {
                            if parent_waiting && self.alive(parent) {
                                self.fill((j, id), cx);
                            } else {
                                self.joins[j].failed = true;
                                self.free_join_if_done(j);
                                if parent_waiting {
                                    self.drop_thread(parent);
                                }
                            }
                        } else if done {
                            self.free_join_if_done(j);
                            if parent_waiting {
                                if self.alive(parent) {
                                    self.advance(parent, cx);
                                } else {
                                    self.drop_thread(parent);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The execution ended (or timed out: `None`).
    fn execution_end(&mut self, execution: u32, end: End, cx: &mut Ctx<'_>) {
        self.close(execution, Some(end), cx);
    }

    fn close(&mut self, execution: u32, end: Option<End>, cx: &mut Ctx<'_>) {
        let e = &self.executions[execution];
        let (request, started_at) = (e.request, e.started_at);
        if end.is_some()
            && let Some(timer) = e.timeout
        {
            cx.cancel(timer);
        }
        let now = cx.now();
        let in_window = self.metrics.in_window(started_at);
        let outcome = match end {
            Some(End::Succeeded) => Outcome::Ok,
            Some(End::Failed(_)) => Outcome::Error(500),
            None => Outcome::Timeout,
        };
        if in_window {
            match outcome {
                Outcome::Ok => self.figures.succeeded += 1,
                Outcome::Timeout => self.figures.timed_out += 1,
                _ => self.figures.failed += 1,
            }
            self.durations.record(now - started_at);
        }
        if self.limits.sync {
            self.metrics.finished(started_at, now, outcome);
            cx.reply(Response { request, outcome });
        }
        self.executions.remove(execution);
        self.open -= 1;
        self.ended_total += 1;
    }

    fn on_answer(&mut self, response: Response, cx: &mut Ctx<'_>) {
        let Some(thread) = self.waiting(response.request.tag) else {
            return;
        };
        // The answer ends the wait (a pending task timeout is now stale).
        self.wait_key(thread);
        if !self.alive(thread) {
            self.drop_thread(thread);
            return;
        }
        match response.outcome {
            Outcome::Ok => self.advance(thread, cx),
            Outcome::Throttled => self.error(thread, THROTTLED, cx),
            Outcome::Error(_) => self.error(thread, SERVICE_ERROR, cx),
            Outcome::Timeout => self.error(thread, TIMEOUT, cx),
        }
    }

    fn on_timer(&mut self, timer: SfnTimer, cx: &mut Ctx<'_>) {
        match timer {
            SfnTimer::ExecutionTimeout(k) => {
                let (slot, id) = unkey(k);
                if self.executions.is_live(slot) && self.executions[slot].id as u32 == id {
                    self.close(slot, None, cx);
                }
            }
            SfnTimer::Act(k) => {
                if let Some(t) = self.waiting(k) {
                    self.act(t, cx);
                }
            }
            SfnTimer::Transition(k) => {
                if let Some(t) = self.waiting(k) {
                    self.transition(t, cx);
                }
            }
            SfnTimer::Resume(k) => {
                if let Some(t) = self.waiting(k) {
                    if !self.alive(t) {
                        self.drop_thread(t);
                    } else if self.retrying[t as usize] {
                        // A retry is a transition of its own, into the same state.
                        self.transition(t, cx);
                    } else {
                        self.advance(t, cx);
                    }
                }
            }
            SfnTimer::TaskTimeout(k) => {
                if let Some(t) = self.waiting(k) {
                    self.wait_key(t);
                    if self.alive(t) {
                        self.error(t, TIMEOUT, cx);
                    } else {
                        self.drop_thread(t);
                    }
                }
            }
        }
    }
}

/// Whether the request's `field` passes `test`.
fn passes(request: &Request, field: Field, test: Test) -> bool {
    let value = match field {
        Field::Op => return matches!(test, Test::OpIs(op) if op == request.op),
        Field::Key => request.key as f64,
        Field::ItemKb => request.item_kb as f64,
    };
    match test {
        Test::OpIs(_) => false,
        Test::Eq(x) => value == x,
        Test::Lt(x) => value < x,
        Test::Gt(x) => value > x,
        Test::Le(x) => value <= x,
        Test::Ge(x) => value >= x,
    }
}

impl Component<Msg> for Runner {
    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => self.on_start(request, cx),
            Msg::Response(response) => self.on_answer(response, cx),
            Msg::Lost(request) => self.on_answer(Msg::lost_as_timeout(request), cx),
            Msg::Timer(timer) => self.on_timer(SfnTimer::from(timer), cx),
            Msg::Control(_) => {}
        }
    }
}

impl Observe for Runner {
    fn kind(&self) -> &'static str {
        Spec::KIND
    }

    fn in_flight(&self) -> u64 {
        if self.limits.sync { self.open } else { 0 }
    }

    fn sample(&mut self, _now: SimTime, row: &mut SeriesRow) {
        let in_flight = self.in_flight();
        self.metrics.sample(in_flight, row);
    }

    fn report(&self, _end: SimTime) -> ComponentReport {
        let f = &self.figures;
        let mut report = self
            .metrics
            .report(Spec::KIND, self.in_flight())
            .figure("executions_started", f.started)
            .figure("succeeded", f.succeeded)
            .figure("failed", f.failed)
            .figure("timed_out", f.timed_out)
            .figure("throttled", f.throttled)
            .figure("executions_open_end", self.open)
            .figure("state_transitions", f.transitions)
            .figure("transitions_throttled", f.transitions_throttled)
            .figure("task_calls", f.task_calls)
            .figure("retries", f.retries)
            .figure("caught", f.caught)
            .figure("map_concurrency_max", f.map_concurrency_max)
            .figure("duration_ms", self.durations.summary());
        report.ledgers.push(Ledger {
            name: "executions",
            created: self.started_total,
            finished: self.ended_total,
            inside: self.open,
        });
        report
    }
}
