//! Everything a run writes: `summary.json`, `timeseries.csv`, the terminal table, the progress
//! bar. A run's files are written into a staging folder and renamed into place together
//! ([`folder`]), so an interrupted run never leaves files that look whole; what it will write is
//! bounded before it starts ([`volume`]); Ctrl-C stops it cleanly ([`interrupt`]); what it
//! prints is made safe for the terminal ([`terminal`]).

pub mod activities;
pub mod compare;
pub mod deployments;
pub mod folder;
pub mod interrupt;
pub mod plots;
pub mod progress;
pub mod render;
pub mod report;
pub mod table;
pub mod terminal;
pub mod timeseries;
pub mod volume;

pub use crate::files::{temp_path, write_atomic};
