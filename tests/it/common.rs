//! Helpers the integration tests share: running the `awsim` binary and reading what it printed.

use std::process::{Command, Output};

/// Runs the `awsim` binary built for these tests with `args`, and waits for it.
pub fn awsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_awsim"))
        .args(args)
        .output()
        .expect("awsim runs")
}

/// What a process printed, as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An empty scratch folder for one test, `awsim-it-{group}-{name}-{pid}` under the system's
/// temporary folder (removed first if a previous run left it). Tests share one process, so
/// `group` (the test file) and `name` keep their folders apart.
pub fn scratch(group: &str, name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("awsim-it-{group}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

/// Runs scenario `text` with `seed` and returns the whole summary as JSON; conservation must
/// hold.
pub fn summary_of(text: &str, seed: u64) -> serde_json::Value {
    use awsim::scenario::{RunSettings, Scenario};
    let scenario =
        Scenario::parse(text, std::path::Path::new("case.toml")).unwrap_or_else(|e| panic!("{e}"));
    let settings = RunSettings {
        seed: Some(seed),
        ..RunSettings::default()
    };
    let s = awsim::run::run_quietly(&scenario, settings).unwrap();
    assert!(s.conservation.ok, "{:?}", s.conservation);
    serde_json::to_value(&s).unwrap()
}

/// The number at `path` in `v`.
pub fn n(v: &serde_json::Value, path: &[&str]) -> f64 {
    let mut v = v;
    for p in path {
        v = &v[*p];
    }
    v.as_f64().unwrap_or_else(|| panic!("{path:?} in {v}"))
}
