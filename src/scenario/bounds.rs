//! Bounds on a scenario as a whole, checked before anything is built from it: the file's size
//! and encoding, and how many workloads, components and faults it has. The bounds on single
//! values live with the values (`units::limits`).

use std::io::Read;
use std::ops::Range;
use std::path::Path;

use toml::de::DeTable;

use super::{Diagnostic, Scenario, ScenarioError};
use crate::units::limits::{self, Limit};

/// The text of the scenario file at `path`: at most [`limits::SCENARIO_BYTES`] (a wrong path,
/// such as a log or a device, is refused without being read whole) and UTF-8 (the first byte that
/// is not is located by line and column).
pub(super) fn read_text(path: &Path) -> Result<String, ScenarioError> {
    let cannot_read = |e: std::io::Error| {
        ScenarioError::single(
            path,
            Diagnostic::plain(format!("cannot read the file: {e}")),
        )
    };
    let limit = limits::SCENARIO_BYTES;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(limit.max + 1).read_to_end(&mut bytes))
        .map_err(cannot_read)?;
    if bytes.len() as u64 > limit.max {
        return Err(ScenarioError::single(
            path,
            Diagnostic::plain(format!(
                "the file is larger than {} bytes ({}): is it a scenario?",
                limit.max, limit.why
            )),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        // The valid text before the byte locates it; nothing after it is shown.
        let before = std::str::from_utf8(&bytes[..at]).expect("valid up to the first bad byte");
        ScenarioError::new(
            path,
            before,
            vec![Diagnostic::located(
                at..at + 1,
                format!(
                    "byte 0x{:02X} is not UTF-8 text; a scenario file must be UTF-8 (save it as \
                     UTF-8)",
                    bytes[at]
                ),
            )],
        )
    })
}

impl Scenario {
    /// More workloads, components or faults than the limits allow, at the first one too many.
    pub(super) fn count_issues(&self, root: &DeTable<'_>) -> Vec<Diagnostic> {
        let workloads: Vec<Range<usize>> = self.workloads.iter().map(|w| w.name.span()).collect();
        let components: Vec<Range<usize>> =
            self.components.iter().map(|c| c.span.clone()).collect();
        let faults: Vec<Range<usize>> = self.faults.iter().map(|f| f.span()).collect();
        [
            ("workloads", workloads, limits::WORKLOADS),
            ("components", components, limits::COMPONENTS),
            ("faults", faults, limits::FAULTS),
        ]
        .into_iter()
        .filter_map(
            |(what, spans, limit): (&str, Vec<Range<usize>>, Limit<usize>)| {
                let why = limit.check(spans.len()).err()?;
                let first_too_many = spans[limit.max].clone();
                Some(Diagnostic::at(
                    first_too_many,
                    root,
                    format!("the number of {what} {why}"),
                ))
            },
        )
        .collect()
    }
}
