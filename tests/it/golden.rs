//! Golden outputs: every shipped scenario's files (`summary.json`, `timeseries.csv`, plots,
//! `report.html`), its terminal table and its `awsim check` listing, plus two sweeps, hashed and
//! compared with `tests/golden/outputs.sha256`.
//!
//! A restructuring must leave every digest as it is. A deliberate model change moves some:
//! rerun with `AWSIM_BLESS=1 cargo test --release golden` to rewrite the file, and say in the
//! commit which figures moved and why (the diff of the digest file shows which outputs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

const DIGESTS: &str = "tests/golden/outputs.sha256";

fn awsim(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_awsim"))
        .args(args)
        .output()
        .expect("awsim runs");
    assert!(
        out.status.success(),
        "awsim {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The run's wall time and the scratch folder are the things in the terminal output that change
/// from run to run.
fn without_wall_time(stdout: &[u8], scratch: &Path) -> Vec<u8> {
    let text = String::from_utf8_lossy(stdout).replace(scratch.to_str().unwrap(), "OUT");
    text.lines()
        .map(|line| match line.find(" events in ") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes()
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable") {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Adds the digest of every file under `dir`, named `label/relative path`.
fn digest_folder(dir: &Path, label: &str, digests: &mut BTreeMap<String, String>) {
    let mut files = Vec::new();
    files_under(dir, &mut files);
    for file in files {
        let relative = file
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        digests.insert(
            format!("{label}/{relative}"),
            hex(&std::fs::read(&file).unwrap()),
        );
    }
}

fn scenario_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["scenarios/examples", "scenarios/lessons", "scenarios/bench"] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn current_digests() -> BTreeMap<String, String> {
    let scratch = std::env::temp_dir().join(format!("awsim-golden-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let mut digests = BTreeMap::new();
    for file in scenario_files() {
        let path = file.to_str().unwrap();
        let label = path
            .trim_start_matches("scenarios/")
            .trim_end_matches(".toml")
            .to_string();
        let out = scratch.join(&label);
        let stdout = awsim(&["run", path, "--out", out.to_str().unwrap()]);
        digests.insert(
            format!("{label}/stdout"),
            hex(&without_wall_time(&stdout, &scratch)),
        );
        digest_folder(&out, &label, &mut digests);
        digests.insert(format!("{label}/check"), hex(&awsim(&["check", path])));
    }
    let sweeps: [(&str, &str, &[&str]); 2] = [
        (
            "sweep/web_tier",
            "scenarios/examples/web_tier.toml",
            &["--set", "web.instances=3,4", "--goal", "p99<300ms"],
        ),
        (
            "sweep/api_function",
            "scenarios/examples/api_function.toml",
            &["--set", "api.memory_mb=512,1024"],
        ),
    ];
    for (label, file, set) in sweeps {
        let out = scratch.join(label);
        let mut args = vec!["sweep", file, "-r", "2", "--duration", "3m", "-q"];
        args.extend_from_slice(set);
        args.extend_from_slice(&["--out", out.to_str().unwrap()]);
        awsim(&args);
        digest_folder(&out, label, &mut digests);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    digests
}

#[test]
fn every_shipped_scenario_gives_its_golden_outputs() {
    let digests = current_digests();
    let text: String = digests
        .iter()
        .map(|(name, hash)| format!("{hash}  {name}\n"))
        .collect();
    if std::env::var_os("AWSIM_BLESS").is_some() {
        std::fs::write(DIGESTS, &text).expect("writes the digests");
        return;
    }
    let expected = std::fs::read_to_string(DIGESTS).unwrap_or_default();
    let expected: BTreeMap<&str, &str> = expected
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(hash, name)| (name, hash))
        .collect();
    let mut differences = Vec::new();
    for (name, hash) in &digests {
        match expected.get(name.as_str()) {
            Some(h) if h == hash => {}
            Some(_) => differences.push(format!("changed: {name}")),
            None => differences.push(format!("new:     {name}")),
        }
    }
    for name in expected.keys() {
        if !digests.contains_key(*name) {
            differences.push(format!("missing: {name}"));
        }
    }
    assert!(
        differences.is_empty(),
        "outputs differ from {DIGESTS} (rerun with AWSIM_BLESS=1 after a deliberate model \
         change, and say which figures moved and why):\n  {}",
        differences.join("\n  ")
    );
}
