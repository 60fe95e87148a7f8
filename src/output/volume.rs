//! How much a command will write, known before it runs, and the limit on it: a run with
//! `interval = "1ns"` or `duration = "36500d"` would otherwise fill the disk (and the memory the
//! plots read the time series back into) before anyone notices.

use crate::engine::time::SimDuration;
use crate::scenario::{RunSettings, Scenario};
use crate::units::format_size;

/// The default limit on what one command writes: 1 GiB (`--max-output` changes it).
pub const DEFAULT_MAX_OUTPUT: u64 = 1 << 30;

/// Bytes of a `timeseries.csv` row besides its separators, its name and its kind: the time and
/// the request columns. With them, rows of the shipped scenarios come out at 78–86 bytes, a
/// little under this estimate.
const ROW_VALUES: u64 = 50;

/// Bytes of one workload or component in `summary.json`: 0.9–1.5 KiB in the shipped scenarios
/// (more for a group with many scaling activities).
const SUMMARY_PER_PART: u64 = 2048;

/// The size of `timeseries.csv` a run of `scenario` with `settings` will write, about: one row
/// per interval (the last one possibly partial) for every workload and component.
pub fn planned_series(scenario: &Scenario, settings: RunSettings) -> u64 {
    let duration = settings.duration.unwrap_or_else(|| scenario.duration());
    let interval = settings.interval.unwrap_or_else(|| scenario.interval());
    let samples = duration.as_nanos().div_ceil(interval.as_nanos().max(1));
    let separators = super::timeseries::columns(&scenario.series_kinds()).len() as u64;
    let names = scenario
        .workloads
        .iter()
        .map(|w| w.name.get_ref().len())
        .chain(scenario.components.iter().map(|c| c.name.len()));
    let kind = crate::components::kind_names()
        .iter()
        .map(|k| k.len())
        .max()
        .unwrap_or(0) as u64;
    let row_bytes: u64 = names
        .map(|name| separators + name as u64 + kind + ROW_VALUES)
        .sum();
    samples.saturating_mul(row_bytes)
}

/// The size of one run's `summary.json` in a sweep, about.
pub fn planned_summary(scenario: &Scenario) -> u64 {
    let parts = (scenario.workloads.len() + scenario.components.len()) as u64;
    SUMMARY_PER_PART * (parts + 1)
}

/// Refuses `planned` bytes over `limit`: the message says what would be written and, from
/// `ways_out`, how to write less or allow more.
pub fn check(planned: u64, limit: u64, what: &str, ways_out: &str) -> Result<(), String> {
    if planned <= limit {
        return Ok(());
    }
    Err(format!(
        "{what} would write about {} of output, more than the limit of {}; {ways_out}, or \
         allow it with --max-output {}GiB",
        format_size(planned),
        format_size(limit),
        planned.div_ceil(1 << 30)
    ))
}

/// The interval that brings a run's `timeseries.csv` from `planned` bytes under `limit`.
pub fn interval_within(interval: SimDuration, planned: u64, limit: u64) -> SimDuration {
    let factor = planned.div_ceil(limit.max(1)).max(1);
    let nanos = interval.as_nanos().saturating_mul(factor);
    // Round up to a whole unit a user would write.
    let unit = [
        3_600_000_000_000,
        60_000_000_000,
        1_000_000_000,
        1_000_000,
        1_000,
        1,
    ]
    .into_iter()
    .find(|&u| nanos >= u)
    .unwrap_or(1);
    SimDuration::from_nanos(nanos.div_ceil(unit).saturating_mul(unit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scenario(simulation: &str) -> Scenario {
        let text = format!(
            "[simulation]\n{simulation}\n\n[[workload]]\nname = \"users\"\ntarget = \"web\"\n\
             arrival = {{ process = \"poisson\", rate = \"10/s\" }}\n\n[[component]]\n\
             name = \"web\"\nkind = \"ec2_fleet\"\ninstances = 1\nvcpus = 1\n\
             handler = [{{ compute = {{ dist = \"exponential\", mean = \"1ms\" }} }}]\n"
        );
        Scenario::parse(&text, Path::new("v.toml")).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_planned_series_grows_with_intervals_and_rows() {
        let s = scenario("duration = \"10m\"");
        let per_interval = planned_series(&s, RunSettings::default()) / 600;
        // Two rows (workload and fleet) of about 80–130 bytes each.
        assert!((160..=260).contains(&per_interval), "{per_interval}");
        let fine = RunSettings {
            interval: Some(SimDuration::from_nanos(1)),
            ..RunSettings::default()
        };
        assert!(planned_series(&s, fine) > 100 * DEFAULT_MAX_OUTPUT);
        let century = scenario("duration = \"36500d\"");
        let planned = planned_series(&century, RunSettings::default());
        assert!(planned > 300 * DEFAULT_MAX_OUTPUT, "{planned}");
        // The interval suggested brings it under the limit.
        let wider = interval_within(SimDuration::from_secs(1), planned, DEFAULT_MAX_OUTPUT);
        let settings = RunSettings {
            interval: Some(wider),
            ..RunSettings::default()
        };
        assert!(planned_series(&century, settings) <= DEFAULT_MAX_OUTPUT);
        assert!(wider.as_nanos().is_multiple_of(60_000_000_000), "{wider}");
        assert_eq!(
            interval_within(SimDuration::from_secs(1), 2500, 1000),
            SimDuration::from_secs(3)
        );
    }

    #[test]
    fn over_the_limit_is_refused_with_the_ways_out() {
        assert_eq!(check(10, 10, "the run", "x"), Ok(()));
        let e = check(3 << 30, 1 << 30, "the run", "sample less often").unwrap_err();
        assert!(e.contains("about 3GiB"), "{e}");
        assert!(e.contains("limit of 1GiB"), "{e}");
        assert!(e.contains("sample less often"), "{e}");
        assert!(e.contains("--max-output 3GiB"), "{e}");
    }
}
