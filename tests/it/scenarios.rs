//! Every scenario shipped in `scenarios/` validates and runs (on a shortened horizon), with
//! conservation holding and requests actually served.

use std::path::{Path, PathBuf};

use awsim::engine::time::SimDuration;
use awsim::run::run_quietly;
use awsim::scenario::{RunSettings, Scenario};

fn scenario_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("scenarios/ exists") {
        let path = entry.unwrap().path();
        if path.is_dir() {
            scenario_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

/// The shortest run of `scenario` from `wanted` on, in steps of a minute, that it accepts (longer
/// than its warm-up, past its faults), and never longer than its own duration: tests shorten
/// runs to stay fast, and a run is checked as the file is.
pub fn accepted_duration(scenario: &Scenario, wanted: SimDuration) -> SimDuration {
    let mut duration = wanted.min(scenario.duration());
    while duration < scenario.duration()
        && scenario
            .check_settings(RunSettings {
                duration: Some(duration),
                ..RunSettings::default()
            })
            .is_err()
    {
        duration = (duration + SimDuration::from_secs(60)).min(scenario.duration());
    }
    duration
}

#[test]
fn every_shipped_scenario_validates_and_runs() {
    let mut files = Vec::new();
    scenario_files(Path::new("scenarios"), &mut files);
    files.sort();
    assert!(
        files.len() >= 3,
        "expected the example scenarios, found {files:?}"
    );
    for file in files {
        let scenario = Scenario::load(&file).unwrap_or_else(|e| panic!("{e}"));
        // Warm-up plus one minute keeps the suite fast while still measuring something.
        let duration = accepted_duration(&scenario, scenario.warmup() + SimDuration::from_secs(60));
        let settings = RunSettings {
            duration: Some(duration),
            ..RunSettings::default()
        };
        let summary =
            run_quietly(&scenario, settings).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(summary.conservation.ok);
        for (name, w) in &summary.workloads {
            let completed = w["requests"]["completed"].as_u64().unwrap();
            assert!(
                completed > 0,
                "{}: workload {name} completed nothing",
                file.display()
            );
        }
    }
}
