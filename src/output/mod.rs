//! Everything a run writes: `summary.json`, `timeseries.csv`, the terminal table, the progress
//! bar. A run's files are written into a staging folder and renamed into place together
//! ([`folder`]), so an interrupted run never leaves files that look whole; what it will write is
//! bounded before it starts ([`volume`]); Ctrl-C stops it cleanly ([`interrupt`]); what it
//! prints is made safe for the terminal ([`terminal`]).

pub mod activities;
pub mod compare;
pub mod deployments;
#[cfg(feature = "cli")]
pub mod folder;
#[cfg(feature = "cli")]
pub mod interrupt;
pub mod kinds;
pub mod memory;
pub mod plots;
#[cfg(feature = "cli")]
pub mod progress;
pub mod render;
pub mod report;
pub mod table;
pub mod terminal;
pub mod timeseries;
pub mod volume;

pub use crate::files::{temp_path, write_atomic};

/// One CSV field from a JSON value of the summary: a string as text (made safe for a
/// spreadsheet), any other value as JSON writes it, nothing for a missing one.
pub(crate) fn csv_field(value: Option<&serde_json::Value>) -> String {
    match value {
        Some(serde_json::Value::String(s)) => crate::files::csv_text(s).into_owned(),
        Some(v) => v.to_string(),
        None => String::new(),
    }
}

/// Writes `text`, if there is any, as `file` in `dir` (whole or not at all); returns whether
/// it wrote it.
pub(crate) fn write_if_any(
    dir: &std::path::Path,
    file: &str,
    text: Option<String>,
) -> std::io::Result<bool> {
    match text {
        Some(text) => {
            write_atomic(&dir.join(file), text.as_bytes())?;
            Ok(true)
        }
        None => Ok(false),
    }
}
