//! `echo`: a service that answers every request after the same fixed latency. It models
//! nothing of AWS: it is the worked example of ARCHITECTURE.md ("adding a kind, step by step")
//! and exists only in test builds, where its tests run it through everything a kind reaches:
//! validation, a run, the summary and the terminal table, `timeseries.csv`, the plots, the HTML
//! report and a sweep. Its whole footprint outside this folder is its line in the registry.

mod outputs;

use std::collections::VecDeque;

use serde::Deserialize;
use toml::Spanned;

use super::{BuildContext, Kind, Reference};
use crate::engine::Component;
use crate::engine::time::{SimDuration, SimTime};
use crate::message::Ctx;
use crate::message::{Msg, Outcome, Request, Response};
use crate::metrics::{ComponentReport, Observe, RequestMetrics, SeriesRow};
use crate::units::PositiveDuration;

/// An `echo` as a scenario writes it.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// How long it takes to answer a request.
    #[schemars(with = "PositiveDuration")]
    pub latency: Spanned<PositiveDuration>,
}

impl Kind for Spec {
    const KIND: &'static str = "echo";
    const SUMMARY: &'static str = "The worked example of ARCHITECTURE.md: answers after a delay.";
    const FOLLOWS: &'static str = "nothing in AWS";
    const SIMPLIFIES: &'static str = "everything";
    const ACCEPTS_REQUESTS: bool = true;

    fn references(&self) -> Vec<Reference<'_>> {
        Vec::new()
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<Box<dyn Observe>, String> {
        Ok(Box::new(Echo {
            latency: self.latency.get_ref().0,
            waiting: VecDeque::new(),
            answered: 0,
            metrics: RequestMetrics::new(cx.warmup_end),
        }))
    }
}

crate::timers! {
    /// The timers of an echo.
    enum EchoTimer {
        /// The oldest waiting request is due (payload unused).
        Answer,
    }
}

/// A running echo.
struct Echo {
    latency: SimDuration,
    /// Requests waiting for their answer, with their arrival, oldest first.
    waiting: VecDeque<(SimTime, Request)>,
    answered: u64,
    metrics: RequestMetrics,
}

impl Component<Msg> for Echo {
    fn handle(&mut self, msg: Msg, cx: &mut Ctx<'_>) {
        match msg {
            Msg::Request(request) => {
                self.metrics.arrived(cx.now());
                self.waiting.push_back((cx.now(), request));
                cx.set_timer(self.latency, EchoTimer::Answer(0));
            }
            Msg::Timer(timer) => match EchoTimer::from(timer) {
                EchoTimer::Answer(_) => {
                    // Every request waits the same time: they leave in the order they came.
                    let (arrived, request) = self
                        .waiting
                        .pop_front()
                        .expect("one timer per waiting request");
                    self.metrics.finished(arrived, cx.now(), Outcome::Ok);
                    self.answered += 1;
                    cx.reply(Response {
                        request,
                        outcome: Outcome::Ok,
                    });
                }
            },
            // It calls no one (no answers, no lost requests) and suffers no fault.
            Msg::Response(_) | Msg::Control(_) | Msg::Lost(_) => {}
        }
    }
}

impl Observe for Echo {
    fn kind(&self) -> &'static str {
        Spec::KIND
    }

    fn in_flight(&self) -> u64 {
        self.waiting.len() as u64
    }

    fn sample(&mut self, _now: SimTime, row: &mut SeriesRow) {
        self.metrics.sample(self.in_flight(), row);
        row.set_gauge(
            outputs::Gauge::Waiting as usize,
            Some(self.in_flight() as f64),
        );
    }

    fn report(&self, _end: SimTime) -> ComponentReport {
        self.metrics
            .report(Spec::KIND, self.in_flight())
            .figure("answered", self.answered)
    }
}

#[cfg(test)]
mod tests;
