//! Fuzzes the scenario loader as `awsim check` runs it: parse the text, then build the
//! simulation with default settings (which opens trace and model files, and runs nothing).
//! Relative file names resolve from `scenarios/examples/`, so the shipped traces are found.
#![no_main]

use std::path::PathBuf;

use awsim::scenario::{RunSettings, Scenario};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/examples/fuzz.toml");
    if let Ok(scenario) = Scenario::parse(text, &path) {
        let _ = scenario.build(RunSettings::default());
    }
});
