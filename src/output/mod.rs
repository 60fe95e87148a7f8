//! Everything a run writes: `summary.json`, `timeseries.csv`, the terminal table, the progress
//! bar. Files are written under a temporary name and renamed when complete, so an interrupted
//! run never leaves a truncated file that looks whole.

pub mod activities;
pub mod compare;
pub mod plots;
pub mod progress;
pub mod render;
pub mod report;
pub mod table;
pub mod timeseries;

pub use crate::files::{temp_path, write_atomic};
