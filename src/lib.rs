//! # awsim — a deterministic discrete-event simulator of AWS architectures
//!
//! A scenario (TOML) describes load — workloads with arrival processes — and components wired
//! by name: load balancers, EC2 fleets, and more as models land. awsim runs it in simulated time
//! and reports what the system's users would see: latency percentiles, errors, throttles,
//! capacity over time.
//!
//! # Lifecycle
//! 1. [`scenario::Scenario::load`] parses and validates a file: every problem is reported with
//!    file, line, column and field before anything runs.
//! 2. [`scenario::Scenario::build`] turns it into an [`engine::Simulation`]: one
//!    [`engine::Component`] per workload and component, each with its own random stream.
//! 3. [`run::run`] runs it and gathers a [`run::summary::Summary`]; the `output` module
//!    writes `summary.json`, `timeseries.csv` and the terminal table.
//!
//! # Determinism contract
//! The same scenario, seed and settings give byte-identical outputs on any machine and any
//! thread count: simulated time is integer nanoseconds, simultaneous events run in scheduling
//! order, every component draws from its own named ChaCha8 stream, no hash-map iteration order
//! reaches results, and nothing in a run reads the wall clock.
//!
//! # Module map
//! - [`engine`]: time, event queue, random streams, the component trait (no metric, no kind).
//! - [`message`]: requests, responses, timers.
//! - [`components`]: one folder per AWS kind, the parts they share, and the registry of kinds
//!   (ARCHITECTURE.md: the layers and how to add a kind).
//! - [`workload`]: arrival processes and key distributions.
//! - [`scenario`]: scenario files, validation, diagnostics.
//! - [`metrics`]: counts, latency histograms, time series, plots as data, findings, the
//!   conservation check, the `Observe` trait.
//! - [`run`]: one run: the loop that observes components, the conservation check, the summary.
//! - [`output`]: summary.json, timeseries.csv, terminal table, progress bar, plots, report.
//! - [`sweep`]: parameter sweeps with replications and confidence intervals (`awsim sweep`).
//! - [`units`], [`dist`]: durations, rates, distributions as scenarios write them.
//! - [`files`]: files written whole or not at all.
//! - [`defaults`]: AWS defaults embedded from `models/*.toml`.
//!
//! # Features
//! `cli` (default) adds the command line (`cli`), parallel sweeps (`sweep`, with rayon), the
//! progress bar and Ctrl-C handling (`output::progress`, `output::interrupt`) and run folders
//! (`output::folder`). Without it the library is the simulator core, which builds for the
//! browser (`wasm32-unknown-unknown`): `web/` binds it.

#![warn(missing_docs)]

#[cfg(feature = "cli")]
pub mod cli;
pub mod components;
pub mod defaults;
pub mod dist;
pub mod engine;
pub mod faults;
pub mod files;
pub mod import;
pub mod message;
pub mod metrics;
pub mod output;
pub mod region;
pub mod run;
pub mod scenario;
#[cfg(feature = "cli")]
pub mod sweep;
pub mod units;
pub mod workload;
