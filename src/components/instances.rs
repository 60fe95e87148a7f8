//! A pool of EC2 instances serving requests: the part `ec2_fleet` and `asg` share.
//!
//! Each instance is a FIFO queue in front of `vcpus` workers. A request holds one worker for its
//! whole handler (compute, calls and sleeps alike, as a thread-per-request server does), and
//! queued requests start in arrival order. An instance whose queue already holds `max_queue`
//! requests answers 503 at once. Compute steps take their sampled time divided by the instance's
//! speed; CPU utilisation counts compute time only, `utilisation` counts busy workers.
//!
//! The pool does not decide which instances exist or where a request goes: its owner (a fixed
//! fleet or an Auto Scaling Group) adds instances, picks the instance for each request, and
//! may crash one ([`Pool::crash`]): its requests are then answered 502, as a load balancer
//! answers when a target drops the connection.
//!
//! Faults (see `crate::faults`) reach the pool through its owner: an instance whose availability
//! zone fails is *isolated* ([`Pool::isolate`]): the requests it held are lost without an answer
//! (counted as dropped), and requests sent to it meanwhile vanish too ([`Pool::swallow`]), so
//! the caller learns of it only by its own timeout; [`Pool::reconnect`] brings it back, empty.
//! A slowdown multiplies every compute and sleep step that starts while it lasts; an error
//! fraction makes that share of arriving requests fail at once with a 500.

use std::collections::VecDeque;

use super::burst_credits::{CreditModel, CreditWindow, Credits};
use super::handler::{Handler, Progress, Serving};
use crate::engine::EventId;
use crate::engine::slab::Slab;
use crate::engine::time::SimTime;
use crate::message::Ctx;
use crate::message::{FaultAction, Msg, Outcome, Request, Response, Timer};
use crate::metrics::{ComponentReport, Latency, RequestMetrics, SeriesRow, TimeWeighted};

/// One instance of the pool.
#[derive(Clone, Debug)]
struct Instance {
    speed: f64,
    /// Which of the pool's codes it runs (0: the pool's own handler).
    code: u8,
    /// Jobs being served (at most `vcpus`).
    serving: Vec<u32>,
    queue: VecDeque<u32>,
    /// False once crashed or removed: it takes no request.
    up: bool,
    /// Requests routed here in the measured window.
    requests: u64,
    /// Busy vCPUs, over the current CPU-utilisation measurement.
    cpu: TimeWeighted,
    /// Its CPU credits (burstable types only).
    credits: Option<Credits>,
    /// The timer of the instant its credit balance runs out, if one is set.
    credit_timer: EventId,
}

/// A request inside the pool.
#[derive(Clone, Debug)]
struct Job {
    request: Request,
    arrived: SimTime,
    instance: u32,
    /// Index of the next handler step.
    step: u16,
    on_cpu: bool,
    /// Distinguishes this job from earlier users of its slot, whose call answers may still
    /// arrive after a crash answered them.
    generation: u32,
    /// Its step timer, cancelled if the job ends mid-step (its instance crashed or was cut off).
    step_timer: EventId,
    /// When its compute step ends at the instance's current speed (burstable instances
    /// move it when their speed changes).
    cpu_until: SimTime,
}

/// A version of the code instances run: its handler and the probability that a request it
/// serves fails (a 500 once the handler is done).
struct Code {
    handler: Handler,
    failure_probability: f64,
}

/// A request that ended on an instance running code `code` (see [`Pool::log_finished`]).
#[derive(Copy, Clone, Debug)]
pub struct Finished {
    /// The code of the instance that held it.
    pub code: u8,
    /// When it reached the pool.
    pub arrived: SimTime,
    /// When it ended.
    pub ended: SimTime,
    /// How.
    pub outcome: Outcome,
}

/// Instances, their jobs, and the metrics they share. `T` is the owner's timer enum: the pool
/// sets its step timers in the owner's timer space, as the variant the owner gave it.
pub struct Pool<T> {
    /// The codes instances run: the pool's handler first, then the versions an owner deploys.
    codes: Vec<Code>,
    /// Requests ended since the owner last took them, when it asked for them (deployments
    /// count each version's).
    finished: Option<Vec<Finished>>,
    /// Makes the owner's timer for a job's handler step (e.g. `AsgTimer::Step`); the owner
    /// hands its payload back to [`Pool::on_step_done`].
    step_timer: fn(u64) -> T,
    vcpus: u32,
    max_queue: Option<u32>,
    instances: Vec<Instance>,
    /// Instances that are up, kept as they change: recounting them on every change made
    /// building a fleet quadratic in its size.
    up: u64,
    jobs: Slab<Job>,
    next_generation: u32,
    in_flight: u64,
    queued: u64,
    metrics: RequestMetrics,
    busy_workers: TimeWeighted,
    busy_cpus: TimeWeighted,
    inside: TimeWeighted,
    waiting: TimeWeighted,
    wait: Latency,
    accepted: u64,
    queued_on_arrival: u64,
    rejected: u64,
    crashed_requests: u64,
    /// Worker capacity of the instances that are up, over time (for utilisation).
    capacity: TimeWeighted,
    /// Injected slowdown and errors (latency and error injection).
    injected: super::injected::Injected,
    /// True once a fault touched the pool: its figures are reported then.
    faulted: bool,
    /// Requests that reached an isolated instance and vanished (in the window).
    unreachable_requests: u64,
    /// When the last of those arrived.
    last_unreachable_at: Option<SimTime>,
    /// CPU credits, when the instances are of a burstable type.
    burst: Option<Burst<T>>,
}

/// The CPU credit model of a pool of burstable instances, and the owner's timer for the
/// instant an instance's balance runs out.
struct Burst<T> {
    model: CreditModel,
    timer: fn(u64) -> T,
}

fn job_id(generation: u32, slot: u32) -> u64 {
    ((generation as u64) << 32) | slot as u64
}

impl<T: Into<Timer>> Pool<T> {
    /// An empty pool whose instances have `vcpus` workers and queue at most `max_queue`
    /// requests each, running `handler`; its step timers are `step_timer(job)`.
    pub fn new(
        handler: Handler,
        vcpus: u32,
        max_queue: Option<u32>,
        warmup_end: SimTime,
        step_timer: fn(u64) -> T,
    ) -> Self {
        Pool {
            codes: vec![Code {
                handler,
                failure_probability: 0.0,
            }],
            finished: None,
            step_timer,
            vcpus,
            max_queue,
            instances: Vec::new(),
            up: 0,
            jobs: Slab::default(),
            next_generation: 0,
            in_flight: 0,
            queued: 0,
            metrics: RequestMetrics::new(warmup_end),
            busy_workers: TimeWeighted::new(0.0),
            busy_cpus: TimeWeighted::new(0.0),
            inside: TimeWeighted::new(0.0),
            waiting: TimeWeighted::new(0.0),
            wait: Latency::new(3),
            accepted: 0,
            queued_on_arrival: 0,
            rejected: 0,
            crashed_requests: 0,
            capacity: TimeWeighted::new(0.0),
            injected: super::injected::Injected::default(),
            faulted: false,
            unreachable_requests: 0,
            last_unreachable_at: None,
            burst: None,
        }
    }

    /// Instances added from now on are burstable with `model`'s CPU credits; the instant an
    /// instance's balance runs out is the owner's timer `timer(instance)`, handed back to
    /// [`Pool::on_credits_empty`].
    pub fn burstable(&mut self, model: CreditModel, timer: fn(u64) -> T) {
        self.burst = Some(Burst { model, timer });
    }

    /// Instance `i`'s credit balance ran out (the owner's credit timer): a standard instance
    /// runs at its baseline from now.
    pub fn on_credits_empty(&mut self, i: u32, cx: &mut Ctx<'_>) {
        let Some(burst) = &self.burst else { return };
        let model = burst.model;
        let inst = &mut self.instances[i as usize];
        inst.credit_timer = EventId::NONE;
        let Some(credits) = &mut inst.credits else {
            return;
        };
        let before = credits.speed_factor(&model);
        credits.on_empty(&model, cx.now());
        self.credits_changed(i, before, cx);
    }

    /// Instance `i`'s busy vCPUs changed: its credits are brought up to date, and its compute
    /// steps and credit timer follow a change of speed.
    fn on_busy_changed(&mut self, i: u32, cx: &mut Ctx<'_>) {
        let Some(burst) = &self.burst else { return };
        let model = burst.model;
        let inst = &mut self.instances[i as usize];
        let busy = inst.cpu.value() as u32;
        let Some(credits) = &mut inst.credits else {
            return;
        };
        let before = credits.speed_factor(&model);
        credits.set_busy(&model, busy, cx.now());
        self.credits_changed(i, before, cx);
    }

    /// After instance `i`'s credits changed: its compute steps in progress, started at speed
    /// factor `before`, finish their remaining work at the new factor, and its credit timer
    /// is set for the instant its balance will run out at the new load.
    fn credits_changed(&mut self, i: u32, before: f64, cx: &mut Ctx<'_>) {
        let Some(burst) = &self.burst else { return };
        let (model, credit_timer, step_timer) = (burst.model, burst.timer, self.step_timer);
        let now = cx.now();
        let inst = &mut self.instances[i as usize];
        let Some(credits) = &inst.credits else { return };
        let after = credits.speed_factor(&model);
        let empty_in = credits.time_to_empty(&model);
        cx.cancel(inst.credit_timer);
        inst.credit_timer = match empty_in {
            Some(delay) => cx.send_self(delay, Msg::Timer(credit_timer(i as u64).into())),
            None => EventId::NONE,
        };
        if after == before {
            return;
        }
        for &slot in &inst.serving {
            let job = &mut self.jobs[slot];
            if !job.on_cpu {
                continue;
            }
            let left = job.cpu_until.saturating_since(now).mul_f64(before / after);
            cx.cancel(job.step_timer);
            let timer = Msg::Timer(step_timer(job_id(job.generation, slot)).into());
            job.step_timer = cx.send_self(left, timer);
            job.cpu_until = now + left;
        }
    }

    /// The CPU credit figures of each instance over the measured window, with the model, when
    /// the instances are burstable; `up` tells whether each was still up at `end`.
    pub fn credit_windows(&self, end: SimTime) -> Option<(CreditModel, Vec<(CreditWindow, bool)>)> {
        let model = self.burst.as_ref()?.model;
        let windows = self
            .instances
            .iter()
            .filter_map(|inst| {
                inst.credits
                    .as_ref()
                    .map(|c| (c.window(&model, end), inst.up))
            })
            .collect();
        Some((model, windows))
    }

    /// The values of [`burst_credits::CREDIT_COLUMNS`](super::burst_credits::CREDIT_COLUMNS) at
    /// `now`, over the instances up; `None` when the instances are not burstable.
    pub fn credit_gauges(&self, now: SimTime) -> Option<[Option<f64>; 3]> {
        let model = self.burst.as_ref()?.model;
        let up = self
            .instances
            .iter()
            .filter(|inst| inst.up)
            .filter_map(|inst| inst.credits.as_ref());
        Some(super::burst_credits::gauges(&model, up, now))
    }

    /// True when instance `i` takes requests (not crashed, isolated or removed).
    pub fn is_up(&self, i: u32) -> bool {
        self.instances[i as usize].up
    }

    /// The pool's fault sub-stream (see [`Injected::rng`](super::injected::Injected::rng)).
    pub fn fault_rng(
        &mut self,
        own: &crate::engine::rng::SimRng,
    ) -> &mut crate::engine::rng::SimRng {
        self.injected.rng(own)
    }

    /// Starts or ends a latency injection (a slowdown multiplies every compute and sleep step
    /// that starts while it lasts) or an error injection (a fraction of arriving requests fail
    /// with a 500).
    pub fn inject(&mut self, action: FaultAction) {
        self.faulted = true;
        self.injected.apply(action);
    }

    /// `request` reached an instance that cannot be reached: it is lost without an answer.
    pub fn swallow(&mut self, request: Request, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.metrics.arrived(now);
        self.metrics.dropped(now);
        if self.metrics.in_window(now) {
            self.unreachable_requests += 1;
        }
        self.last_unreachable_at = Some(now);
        // No answer will come: the sender hears so, to free what it holds for the request.
        cx.send(request.reply_to, Msg::Lost(request));
    }

    /// Instance `i` can no longer be reached (its AZ failed): what it held is lost without an
    /// answer, and it takes no request until [`Pool::reconnect`].
    pub fn isolate(&mut self, i: u32, cx: &mut Ctx<'_>) {
        self.faulted = true;
        self.stop(i, None, cx);
    }

    /// Instance `i`, isolated, can be reached again; it comes back empty.
    pub fn reconnect(&mut self, i: u32, now: SimTime) {
        let inst = &mut self.instances[i as usize];
        if inst.up {
            return;
        }
        inst.up = true;
        // Its CPU measurement restarts: what it did before it was cut off is not reported.
        inst.cpu = TimeWeighted::starting_at(now, inst.cpu.value());
        self.up += 1;
        self.update_capacity(now);
    }

    /// Adds a code instances may run (a new version: its handler, and the probability that a
    /// request it serves fails); returns its number for [`Pool::add_instance_running`].
    pub fn add_code(&mut self, handler: Handler, failure_probability: f64) -> u8 {
        self.codes.push(Code {
            handler,
            failure_probability,
        });
        (self.codes.len() - 1) as u8
    }

    /// From now on every request that ends is kept for [`Pool::take_finished`].
    pub fn log_finished(&mut self) {
        self.finished.get_or_insert_with(Vec::new);
    }

    /// The requests that ended since the last call (none unless [`Pool::log_finished`]).
    pub fn take_finished(&mut self) -> std::vec::Drain<'_, Finished> {
        self.finished.get_or_insert_with(Vec::new).drain(..)
    }

    fn note_finished(&mut self, instance: u32, arrived: SimTime, ended: SimTime, outcome: Outcome) {
        if let Some(log) = &mut self.finished {
            log.push(Finished {
                code: self.instances[instance as usize].code,
                arrived,
                ended,
                outcome,
            });
        }
    }

    /// Adds an instance that can take requests from `now`; returns its index.
    pub fn add_instance(&mut self, speed: f64, now: SimTime) -> u32 {
        self.add_instance_running(speed, 0, now)
    }

    /// Adds an instance running code `code` (0: the pool's handler) that can take requests
    /// from `now`; returns its index.
    pub fn add_instance_running(&mut self, speed: f64, code: u8, now: SimTime) -> u32 {
        self.instances.push(Instance {
            speed,
            code,
            serving: Vec::new(),
            queue: VecDeque::new(),
            up: true,
            requests: 0,
            cpu: TimeWeighted::starting_at(now, 0.0),
            credits: self
                .burst
                .as_ref()
                .map(|b| Credits::new(&b.model, now, self.metrics.warmup_end())),
            credit_timer: EventId::NONE,
        });
        self.up += 1;
        self.update_capacity(now);
        (self.instances.len() - 1) as u32
    }

    /// Instance `i` runs code `code` from now on (an in-place deployment updated it); requests
    /// it holds finish as they started.
    pub fn set_code(&mut self, i: u32, code: u8) {
        self.instances[i as usize].code = code;
    }

    /// Records the worker capacity of the instances that are up, after `up` changed.
    fn update_capacity(&mut self, now: SimTime) {
        let warmup_end = self.metrics.warmup_end();
        // In u64: 65 536 instances of 65 537 vCPUs overflow a u32.
        let workers = self.up * u64::from(self.vcpus);
        self.capacity.set(now, warmup_end, workers as f64);
    }

    /// Instances ever added (indices run from 0 to this).
    pub fn len(&self) -> usize {
        self.instances.len()
    }

    /// True when no instance was ever added.
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }

    /// Requests held by instance `i` (served and queued).
    pub fn load(&self, i: u32) -> usize {
        let inst = &self.instances[i as usize];
        inst.serving.len() + inst.queue.len()
    }

    /// Workers per instance.
    pub fn vcpus(&self) -> u32 {
        self.vcpus
    }

    /// Requests one instance can hold before it refuses (workers plus queue), if bounded.
    pub fn capacity_per_instance(&self) -> Option<u32> {
        self.max_queue.map(|q| q.saturating_add(self.vcpus))
    }

    /// The request metrics (arrivals, outcomes, latency inside the pool).
    pub fn metrics(&self) -> &RequestMetrics {
        &self.metrics
    }

    /// Answers `request` without any instance (none available), counting it as arrived here.
    pub fn refuse(&mut self, request: Request, outcome: Outcome, cx: &mut Ctx<'_>) {
        let now = cx.now();
        self.metrics.arrived(now);
        if self.metrics.in_window(now) {
            self.rejected += 1;
        }
        self.metrics.finished(now, now, outcome);
        cx.reply(Response { request, outcome });
    }

    /// Gives `request` to instance `i`: served at once, queued, or refused with 503 when the
    /// queue is full.
    pub fn accept(&mut self, request: Request, i: u32, cx: &mut Ctx<'_>) {
        let now = cx.now();
        if self.injected.fails(self.metrics.in_window(now), cx.rng()) {
            self.metrics.arrived(now);
            let outcome = Outcome::Error(500);
            self.metrics.finished(now, now, outcome);
            self.note_finished(i, now, now, outcome);
            cx.reply(Response { request, outcome });
            return;
        }
        let in_window = self.metrics.in_window(now);
        let inst = &mut self.instances[i as usize];
        debug_assert!(inst.up, "requests go to instances that are up");
        if in_window {
            inst.requests += 1;
        }
        let must_wait = inst.serving.len() as u32 >= self.vcpus;
        if must_wait
            && self
                .max_queue
                .is_some_and(|max| inst.queue.len() >= max as usize)
        {
            self.note_finished(i, now, now, Outcome::Error(503));
            self.refuse(request, Outcome::Error(503), cx);
            return;
        }
        self.metrics.arrived(now);
        self.in_flight += 1;
        self.inside.set(now, cx.warmup_end(), self.in_flight as f64);
        if in_window {
            self.accepted += 1;
        }
        self.next_generation = self.next_generation.wrapping_add(1);
        let slot = self.jobs.insert(Job {
            request,
            arrived: now,
            instance: i,
            step: 0,
            on_cpu: false,
            generation: self.next_generation,
            step_timer: EventId::NONE,
            cpu_until: now,
        });
        if must_wait {
            if in_window {
                self.queued_on_arrival += 1;
            }
            self.instances[i as usize].queue.push_back(slot);
            self.queued += 1;
            self.waiting.set(now, cx.warmup_end(), self.queued as f64);
        } else {
            self.start(slot, cx);
        }
    }

    /// A worker takes job `slot`.
    fn start(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let job = &self.jobs[slot];
        self.instances[job.instance as usize].serving.push(slot);
        if self.metrics.in_window(job.arrived) {
            self.wait.record(now - job.arrived);
        }
        let busy = self.busy_workers.value() + 1.0;
        self.busy_workers.set(now, cx.warmup_end(), busy);
        self.run(slot, cx);
    }

    /// Runs job `slot` up to its next wait, call, or its end.
    fn run(&mut self, slot: u32, cx: &mut Ctx<'_>) {
        let job = &mut self.jobs[slot];
        let inst = &mut self.instances[job.instance as usize];
        let run = Serving {
            request: &job.request,
            step: &mut job.step,
            id: job_id(job.generation, slot),
            timer: &mut job.step_timer,
        };
        let code = &self.codes[inst.code as usize];
        let failure_probability = code.failure_probability;
        let speed = match (&self.burst, &inst.credits) {
            (Some(b), Some(c)) => inst.speed * c.speed_factor(&b.model),
            _ => inst.speed,
        };
        let progress = code
            .handler
            .advance(run, speed, &self.injected, self.step_timer, cx);
        match progress {
            Progress::Waiting { cpu: true, delay } => {
                job.on_cpu = true;
                job.cpu_until = cx.now() + delay;
                let instance = job.instance;
                inst.cpu
                    .set(cx.now(), cx.warmup_end(), inst.cpu.value() + 1.0);
                let busy = self.busy_cpus.value() + 1.0;
                self.busy_cpus.set(cx.now(), cx.warmup_end(), busy);
                self.on_busy_changed(instance, cx);
            }
            Progress::Waiting { cpu: false, .. } | Progress::Calling => {}
            Progress::Done => {
                // A version's own failures (drawn only where it has any, so a pool without
                // them draws nothing).
                let failed = failure_probability > 0.0
                    && rand::Rng::random::<f64>(cx.rng()) < failure_probability;
                let outcome = if failed {
                    Outcome::Error(500)
                } else {
                    Outcome::Ok
                };
                self.finish(slot, outcome, cx)
            }
            Progress::Failed => self.finish(slot, Outcome::Error(500), cx),
        }
    }

    /// The job a timer or call answer is for, if it is still alive.
    fn live_job(&self, id: u64) -> Option<u32> {
        let slot = id as u32;
        let generation = (id >> 32) as u32;
        (self.jobs.is_live(slot) && self.jobs[slot].generation == generation).then_some(slot)
    }

    /// Handles the step timer of job `id` (the payload of the owner's step-timer variant).
    /// Returns the instance whose job ended, if one did.
    pub fn on_step_done(&mut self, id: u64, cx: &mut Ctx<'_>) -> Option<u32> {
        let slot = self.live_job(id)?;
        let job = &mut self.jobs[slot];
        let instance = job.instance;
        if job.on_cpu {
            job.on_cpu = false;
            let inst = &mut self.instances[instance as usize];
            inst.cpu
                .set(cx.now(), cx.warmup_end(), inst.cpu.value() - 1.0);
            let busy = self.busy_cpus.value() - 1.0;
            self.busy_cpus.set(cx.now(), cx.warmup_end(), busy);
            self.on_busy_changed(instance, cx);
        }
        let before = self.jobs.len();
        self.run(slot, cx);
        (self.jobs.len() < before).then_some(instance)
    }

    /// Handles the answer to a call a job made. Returns the instance whose job ended, if one
    /// did.
    pub fn on_response(&mut self, response: Response, cx: &mut Ctx<'_>) -> Option<u32> {
        let slot = self.live_job(response.request.tag)?;
        let instance = self.jobs[slot].instance;
        if response.outcome.is_ok() {
            let before = self.jobs.len();
            self.run(slot, cx);
            (self.jobs.len() < before).then_some(instance)
        } else {
            // A failed call fails the request with the callee's outcome.
            self.finish(slot, response.outcome, cx);
            Some(instance)
        }
    }

    /// Answers job `slot`, frees its worker, and starts the next waiting job of its instance.
    fn finish(&mut self, slot: u32, outcome: Outcome, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let job = self.jobs[slot].clone();
        let i = job.instance as usize;
        cx.reply(Response {
            request: job.request,
            outcome,
        });
        self.metrics.finished(job.arrived, now, outcome);
        self.note_finished(job.instance, job.arrived, now, outcome);
        self.in_flight -= 1;
        self.inside.set(now, cx.warmup_end(), self.in_flight as f64);
        self.jobs.remove(slot);
        let serving = &mut self.instances[i].serving;
        if let Some(pos) = serving.iter().position(|&s| s == slot) {
            serving.swap_remove(pos);
        }
        let busy = self.busy_workers.value() - 1.0;
        self.busy_workers.set(now, cx.warmup_end(), busy);
        if let Some(next) = self.instances[i].queue.pop_front() {
            self.queued -= 1;
            self.waiting.set(now, cx.warmup_end(), self.queued as f64);
            self.start(next, cx);
        }
    }

    /// Instance `i` stops at `now`: every request it holds is answered 502 (the connection
    /// drops) and it takes no more.
    pub fn crash(&mut self, i: u32, cx: &mut Ctx<'_>) {
        self.stop(i, Some(Outcome::Error(502)), cx);
    }

    /// Instance `i` stops: what it holds is answered with `answer`, or lost when `None`.
    fn stop(&mut self, i: u32, answer: Option<Outcome>, cx: &mut Ctx<'_>) {
        let now = cx.now();
        let warmup_end = cx.warmup_end();
        let inst = &mut self.instances[i as usize];
        if !inst.up {
            return;
        }
        inst.up = false;
        self.up -= 1;
        let queued: Vec<u32> = inst.queue.drain(..).collect();
        let serving: Vec<u32> = std::mem::take(&mut inst.serving);
        let cpus = serving.iter().filter(|&&s| self.jobs[s].on_cpu).count();
        inst.cpu.set(now, warmup_end, 0.0);
        self.queued -= queued.len() as u64;
        self.waiting.set(now, warmup_end, self.queued as f64);
        let workers = self.busy_workers.value() - serving.len() as f64;
        self.busy_workers.set(now, warmup_end, workers);
        let cpu = self.busy_cpus.value() - cpus as f64;
        self.busy_cpus.set(now, warmup_end, cpu);
        for slot in queued.into_iter().chain(serving) {
            let job = self.jobs[slot].clone();
            cx.cancel(job.step_timer);
            match answer {
                Some(outcome) => {
                    cx.reply(Response {
                        request: job.request,
                        outcome,
                    });
                    self.metrics.finished(job.arrived, now, outcome);
                    self.note_finished(i, job.arrived, now, outcome);
                }
                None => {
                    self.metrics.dropped(job.arrived);
                    cx.send(job.request.reply_to, Msg::Lost(job.request));
                }
            }
            if self.metrics.in_window(job.arrived) {
                self.crashed_requests += 1;
            }
            self.in_flight -= 1;
            self.jobs.remove(slot);
        }
        self.inside.set(now, warmup_end, self.in_flight as f64);
        self.update_capacity(now);
        // A stopped instance spends no credits and runs out of none.
        self.on_busy_changed(i, cx);
    }

    /// Instance `i` leaves the pool (terminated after draining). It must hold no request.
    pub fn remove(&mut self, i: u32, now: SimTime) {
        let inst = &mut self.instances[i as usize];
        debug_assert!(inst.serving.is_empty() && inst.queue.is_empty());
        if inst.up {
            inst.up = false;
            self.up -= 1;
            self.update_capacity(now);
        }
    }

    /// Mean CPU utilisation (0..=1) of instance `i` since the last call (or since it was
    /// added), up to `now`; starts a new measurement.
    pub fn take_cpu_utilisation(&mut self, i: u32, now: SimTime) -> f64 {
        let warmup_end = self.metrics.warmup_end();
        self.instances[i as usize]
            .cpu
            .take_interval_share(now, warmup_end, self.vcpus as f64)
    }

    /// Requests inside the pool right now.
    pub fn in_flight(&self) -> u64 {
        self.in_flight
    }

    /// Fills the pool's part of a time-series row.
    pub fn sample(&mut self, now: SimTime, row: &mut SeriesRow) {
        self.metrics.sample(self.in_flight, row);
        row.queue_length = Some(self.queued);
        let warmup_end = self.metrics.warmup_end();
        let busy = self.busy_workers.take_interval_mean(now, warmup_end);
        let capacity = self.capacity.take_interval_mean(now, warmup_end);
        row.utilisation = Some(if capacity > 0.0 { busy / capacity } else { 0.0 });
    }

    /// The pool's figures at the end of the run.
    pub fn report(&self, kind: &'static str, end: SimTime) -> ComponentReport {
        let warmup_end = self.metrics.warmup_end();
        let waited_fraction = if self.accepted > 0 {
            self.queued_on_arrival as f64 / self.accepted as f64
        } else {
            0.0
        };
        let capacity = self.capacity.window_mean(end, warmup_end);
        let share = |tw: &TimeWeighted| {
            if capacity > 0.0 {
                tw.window_mean(end, warmup_end) / capacity
            } else {
                0.0
            }
        };
        let per_instance: Vec<u64> = self.instances.iter().map(|i| i.requests).collect();
        let report = self
            .metrics
            .report(kind, self.in_flight)
            .figure("vcpus", self.vcpus)
            .figure("utilisation", share(&self.busy_workers))
            .figure("cpu_utilisation", share(&self.busy_cpus))
            .figure("in_flight_mean", self.inside.window_mean(end, warmup_end))
            .figure(
                "queue_length_mean",
                self.waiting.window_mean(end, warmup_end),
            )
            .figure("wait_ms", self.wait.summary())
            .figure("waited_fraction", waited_fraction)
            .figure("rejected", self.rejected)
            .figure("crashed_requests", self.crashed_requests)
            .figure("instance_requests", per_instance);
        if !self.faulted {
            return report;
        }
        report
            .figure("injected_errors", self.injected.injected_errors())
            .figure("unreachable_requests", self.unreachable_requests)
            .figure(
                "last_unreachable_request_s",
                self.last_unreachable_at.map(SimTime::as_secs_f64),
            )
    }

    /// Handles a call a job made whose callee's instance was lost: the call failed (timed
    /// out). Returns the instance whose job ended, if one did.
    pub fn on_lost(&mut self, request: Request, cx: &mut Ctx<'_>) -> Option<u32> {
        self.on_response(Msg::lost_as_timeout(request), cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ComponentId;

    crate::timers! {
        /// The test pool's timers.
        enum TestTimer {
            /// A job's step.
            Step,
        }
    }

    fn pool(vcpus: u32) -> Pool<TestTimer> {
        let handler = Handler::build(&[], std::path::Path::new("."), |_| ComponentId(0))
            .expect("an empty handler builds");
        Pool::new(handler, vcpus, None, SimTime::ZERO, TestTimer::Step)
    }

    #[test]
    fn the_capacity_of_many_wide_instances_does_not_overflow() {
        // 65 536 × 65 537 workers overflow a u32 (it wrapped to 65 536: utilisation 65 537×
        // too high).
        let mut pool = pool(65_537);
        for _ in 0..65_536 {
            pool.add_instance(1.0, SimTime::ZERO);
        }
        assert_eq!(pool.capacity.value(), 65_536.0 * 65_537.0);
        pool.remove(7, SimTime(10));
        pool.remove(7, SimTime(20));
        assert_eq!(pool.capacity.value(), 65_535.0 * 65_537.0);
        assert_eq!(pool.up, 65_535);
    }

    #[test]
    fn the_count_of_instances_up_follows_adds_and_removals() {
        let mut pool = pool(2);
        for _ in 0..5 {
            pool.add_instance(1.0, SimTime::ZERO);
        }
        pool.remove(1, SimTime(1));
        pool.remove(3, SimTime(2));
        assert_eq!(pool.up as usize, (0..5).filter(|&i| pool.is_up(i)).count());
        assert_eq!(pool.capacity.value(), 6.0);
    }
}
