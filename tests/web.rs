//! The browser's run (`awsim::output::memory::run_text`, which web/ binds to WebAssembly) gives
//! what `awsim run` writes: for every lesson and example, the same
//! `summary.json`, `timeseries.csv` and SVG plots, byte for byte, with the files a scenario
//! names (traces, samples) given as bytes, as the page gives them. Compiled natively, this is
//! the code path the page runs; web/tests/browser.mjs checks the page itself in Chromium.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use awsim::files::{GivenFiles, with_given_files};

use awsim::output::memory::{MemoryError, run_text};
use awsim::scenario::RunSettings;

/// Every shipped lesson and example, in name order.
fn shipped() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["scenarios/lessons", "scenarios/examples"] {
        for entry in std::fs::read_dir(dir).expect("the scenario folder") {
            let path = entry.expect("a folder entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The files a scenario names (`file = "…"`, `definition_file = "…"`), as it writes them.
fn named_files(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let mut rest = line;
        while let Some(at) = rest.find("file = \"") {
            rest = &rest[at + "file = \"".len()..];
            let end = rest.find('"').expect("a closed string");
            names.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    names
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("awsim-web-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn the_browser_run_writes_what_awsim_run_writes() {
    let mut compared = 0;
    let mut with_files = 0;
    for file in shipped() {
        let text = std::fs::read_to_string(&file).unwrap();
        // The page has no disk: it runs the scenario under a name in a folder that does not
        // exist, with the files it names given as bytes, as the browser gives them.
        let group = file.parent().unwrap().file_name().unwrap();
        let in_memory = Path::new("no-such-folder-awsim-web")
            .join(group)
            .join(file.file_name().unwrap());
        let given: GivenFiles = named_files(&text)
            .into_iter()
            .map(|name| {
                let bytes = std::fs::read(file.parent().unwrap().join(&name)).unwrap();
                (in_memory.parent().unwrap().join(name), Arc::from(bytes))
            })
            .collect();
        with_files += usize::from(!given.is_empty());
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let out = scratch(&name);
        let status = Command::new(env!("CARGO_BIN_EXE_awsim"))
            .args(["run", "--quiet", "--out"])
            .arg(&out)
            .arg(&file)
            .status()
            .expect("awsim runs");
        assert!(status.success(), "{}: awsim run failed", file.display());

        let run = with_given_files(given, || {
            run_text(&text, &in_memory, RunSettings::default(), true, |_| {})
        })
        .unwrap_or_else(|e| panic!("{}: {:?}", file.display(), e.to_json()));
        let native = std::fs::read_to_string(out.join("summary.json")).unwrap();
        assert_eq!(run.summary_json, native, "{}: summary.json", file.display());
        let csv = std::fs::read(out.join("timeseries.csv")).unwrap();
        assert!(
            run.timeseries_csv.as_deref() == Some(&csv[..]),
            "{}: timeseries.csv differs",
            file.display()
        );
        let mut svgs: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".svg"))
            .collect();
        svgs.sort();
        let mut stems: Vec<String> = run.plots.iter().map(|(s, _)| format!("{s}.svg")).collect();
        stems.sort();
        assert_eq!(stems, svgs, "{}: the plots drawn", file.display());
        for (stem, svg) in &run.plots {
            let written = std::fs::read_to_string(out.join(format!("{stem}.svg"))).unwrap();
            assert!(*svg == written, "{}: {stem}.svg differs", file.display());
        }
        std::fs::remove_dir_all(&out).unwrap();
        compared += 1;
    }
    assert!(compared >= 15, "only {compared} scenarios compared");
    assert!(
        with_files >= 2,
        "only {with_files} scenarios with files given"
    );
}

#[test]
fn a_file_neither_given_nor_on_disk_is_a_located_error() {
    let file = Path::new("scenarios/examples/trace_replay.toml");
    let text = std::fs::read_to_string(file).unwrap();
    let in_memory = Path::new("no-such-folder-awsim-web/examples/trace_replay.toml");
    let error = run_text(&text, in_memory, RunSettings::default(), false, |_| {}).unwrap_err();
    let json = error.to_json();
    let message = json["text"].as_str().unwrap();
    assert!(
        message.contains("traces/shop_10min.csv") && message.contains("cannot read"),
        "{json}"
    );
    assert!(json["diagnostics"][0]["line"].as_u64().is_some(), "{json}");
}

#[test]
fn a_broken_scenario_is_reported_at_its_line_and_column() {
    let file = Path::new("scenarios/examples/mmc.toml");
    let text = std::fs::read_to_string(file).unwrap();
    // Break the first `duration` value: a number where a duration text is expected.
    let line = text
        .lines()
        .position(|l| l.starts_with("duration"))
        .expect("mmc.toml sets a duration");
    let broken: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == line {
                "duration = \"ten minutes\"\n".to_string()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let error = run_text(&broken, file, RunSettings::default(), false, |_| {}).unwrap_err();
    let MemoryError::Scenario(_) = &error else {
        panic!("not a scenario error: {error:?}");
    };
    let json = error.to_json();
    let first = &json["diagnostics"][0];
    assert_eq!(first["line"], line + 1, "{json}");
    assert_eq!(first["column"], 12, "{json}");
    assert!(
        json["text"].as_str().unwrap().contains("mmc.toml"),
        "{json}"
    );
}

#[test]
fn the_browser_reports_progress_up_to_the_end() {
    let file = Path::new("scenarios/examples/mmc.toml");
    let text = std::fs::read_to_string(file).unwrap();
    let mut last = None;
    let settings = RunSettings {
        duration: Some(awsim::units::parse_positive_duration("30m").unwrap()),
        ..RunSettings::default()
    };
    let run = run_text(&text, file, settings, false, |t| last = Some(t)).unwrap();
    let summary: serde_json::Value = serde_json::from_str(&run.summary_json).unwrap();
    let end = summary["duration_s"].as_f64().unwrap() + summary["warmup_s"].as_f64().unwrap();
    let last = last.unwrap().as_secs_f64();
    assert!(
        last == end || last == summary["duration_s"].as_f64().unwrap(),
        "last progress at {last} s, the run ends at {end} s"
    );
}

/// The page's code path compiled natively on M/M/8 for 20 h of simulated time: the native side
/// of web/tests/speed.mjs's comparison without writing files (a measurement, printed, not a
/// test of speed: `cargo test --release --test web -- --ignored --nocapture`).
#[test]
#[ignore]
fn the_pages_code_path_natively_on_mm8() {
    let file = Path::new("scenarios/examples/mmc.toml");
    let text = std::fs::read_to_string(file).unwrap();
    let settings = RunSettings {
        duration: Some(awsim::units::parse_positive_duration("20h").unwrap()),
        ..RunSettings::default()
    };
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let run = run_text(&text, file, settings, true, |_| {}).unwrap();
        let summary: serde_json::Value = serde_json::from_str(&run.summary_json).unwrap();
        println!(
            "run_text natively: {} events in {:.2} s",
            summary["events"],
            started.elapsed().as_secs_f64()
        );
    }
}
