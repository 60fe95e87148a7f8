//! The checks that depend on a run's settings (its duration): a warm-up shorter than the run,
//! faults inside it. Loading a file runs them with the file's own duration; a run, a recording
//! or a sweep whose command line overrides the duration runs them again with its own, through
//! [`Scenario::check_settings`], so every command refuses what `awsim check` refuses.

use toml::de::DeTable;

use super::{Diagnostic, RunSettings, Scenario, ScenarioError};
use crate::engine::time::SimDuration;

impl Scenario {
    /// Checks a run of this scenario with `settings` as loading checked the file: a duration
    /// that leaves no time after the warm-up, or that ends before a fault starts, is refused
    /// with the place in the file it conflicts with. Every command that runs a scenario calls
    /// it (building a simulation does).
    pub fn check_settings(&self, settings: RunSettings) -> Result<(), ScenarioError> {
        let Some(duration) = settings.duration.filter(|d| *d != self.duration()) else {
            // The file's own duration: loading checked it.
            return Ok(());
        };
        let root = DeTable::parse(&self.text).expect("a loaded scenario parses");
        let mut diagnostics: Vec<Diagnostic> = self
            .warmup_issue(root.get_ref(), duration, true)
            .into_iter()
            .collect();
        diagnostics.extend(self.fault_issues(root.get_ref(), duration));
        if diagnostics.is_empty() {
            Ok(())
        } else {
            Err(ScenarioError::new(&self.file, &self.text, diagnostics))
        }
    }

    /// A warm-up that leaves nothing of a run of `duration` to measure; `from_command_line` when
    /// the duration is not the file's (the warm-up is then what the message points at, and the
    /// duration what it blames).
    pub(super) fn warmup_issue(
        &self,
        root: &DeTable<'_>,
        duration: SimDuration,
        from_command_line: bool,
    ) -> Option<Diagnostic> {
        let warmup = self.simulation.warmup.as_ref()?;
        if *warmup.get_ref() < duration {
            return None;
        }
        let message = if from_command_line {
            format!(
                "the duration given on the command line ({duration}) must be longer than the \
                 warm-up ({}): nothing would be measured",
                warmup.get_ref()
            )
        } else {
            format!(
                "the warm-up ({}) must be shorter than the duration ({duration})",
                warmup.get_ref()
            )
        };
        Some(Diagnostic::at(warmup.span(), root, message))
    }

    /// Problems of the region, the placements and the faults for a run of `duration` (a fault
    /// that starts after the run ends...).
    pub(super) fn fault_issues(
        &self,
        root: &DeTable<'_>,
        duration: SimDuration,
    ) -> Vec<Diagnostic> {
        crate::faults::issues(&self.fault_setting(duration))
            .into_iter()
            .map(|(message, span)| Diagnostic::at(span, root, message))
            .collect()
    }
}
