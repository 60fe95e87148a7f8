//! awsim in the browser: [`run`], [`check`] and [`compare`] for the page's Web Worker, every
//! answer a JSON string. The run is `awsim::output::memory::run_text`, the same code as
//! `awsim run` (awsim's tests/web.rs holds their outputs byte for byte against each other).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use wasm_bindgen::prelude::*;

use awsim::files::{GivenFiles, with_given_files};
use awsim::output::memory::{MemoryError, run_text};
use awsim::scenario::{RunSettings, Scenario};
use awsim::units::parse_positive_duration;

/// The options of a run, from the page: `{"file", "seed", "duration", "interval",
/// "timeseries", "files"}`, every one optional (`file` names the scenario in messages;
/// `files` maps the names a scenario gives its traces and sample files, as it writes them, to
/// their text).
struct Options {
    file: String,
    settings: RunSettings,
    timeseries: bool,
    files: GivenFiles,
}

fn options(json: &str) -> Result<Options, String> {
    let v: Value = if json.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(json).map_err(|e| format!("options: {e}"))?
    };
    let duration = |key: &str| -> Result<_, String> {
        match v.get(key).and_then(Value::as_str) {
            Some(s) if !s.trim().is_empty() => parse_positive_duration(s.trim())
                .map(Some)
                .map_err(|e| format!("{key} `{s}`: {e}")),
            _ => Ok(None),
        }
    };
    let seed = match v.get("seed") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(
            s.trim()
                .parse::<u64>()
                .map_err(|_| format!("seed `{s}`: a whole number from 0 to 2^64-1"))?,
        ),
        Some(n) => Some(
            n.as_u64()
                .ok_or_else(|| format!("seed {n}: a whole number from 0 to 2^64-1"))?,
        ),
    };
    let file = v
        .get("file")
        .and_then(Value::as_str)
        .unwrap_or("scenario.toml")
        .to_string();
    // By the path the scenario's reference resolves to: its folder joined with the name.
    let folder = Path::new(&file)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut files: GivenFiles = Vec::new();
    match v.get("files") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, text) in map {
                let text = text
                    .as_str()
                    .ok_or_else(|| format!("files `{name}`: the file's text, as a string"))?;
                let path: PathBuf = folder.join(name);
                files.push((path, Arc::from(text.as_bytes())));
            }
        }
        Some(other) => return Err(format!("files: an object of name → text, not {other}")),
    }
    Ok(Options {
        file,
        files,
        settings: RunSettings {
            seed,
            duration: duration("duration")?,
            interval: duration("interval")?,
        },
        timeseries: v
            .get("timeseries")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

fn failure(error: Value) -> String {
    json!({ "ok": false, "error": error }).to_string()
}

fn options_error(message: String) -> String {
    failure(json!({ "kind": "options", "text": message }))
}

/// Runs `scenario` (TOML text) with `options` (JSON, see [`Options`]); calls `progress` with
/// the share of the simulated time done (0 to 1) now and then. Answers
/// `{"ok": true, "summary_json", "table", "warnings", "plots": [{"name", "svg"}],
/// "timeseries_csv"?}` or `{"ok": false, "error": {"kind", "text", "diagnostics"?}}`, the
/// diagnostics located at 1-based line and column.
#[wasm_bindgen]
pub fn run(scenario: &str, options_json: &str, progress: &js_sys::Function) -> String {
    let mut options = match options(options_json) {
        Ok(o) => o,
        Err(e) => return options_error(e),
    };
    let files = std::mem::take(&mut options.files);
    with_given_files(files, || run_with(scenario, &options, progress))
}

/// [`run`], once the options are read and their files given.
fn run_with(scenario: &str, options: &Options, progress: &js_sys::Function) -> String {
    let file = Path::new(&options.file);
    let total = match Scenario::parse(scenario, file) {
        Ok(s) => options
            .settings
            .duration
            .unwrap_or_else(|| s.duration())
            .as_secs_f64(),
        Err(e) => return failure(MemoryError::Scenario(e).to_json()),
    };
    let report = |t: awsim::engine::time::SimTime| {
        let share = if total > 0.0 {
            t.as_secs_f64() / total
        } else {
            1.0
        };
        let _ = progress.call1(&JsValue::NULL, &JsValue::from_f64(share));
    };
    match run_text(
        scenario,
        file,
        options.settings,
        options.timeseries,
        report,
    ) {
        Ok(run) => json!({
            "ok": true,
            "summary_json": run.summary_json,
            "table": run.table,
            "warnings": run.warnings,
            "plots": run.plots.into_iter().map(|(name, svg)| json!({"name": name, "svg": svg})).collect::<Vec<_>>(),
            "timeseries_csv": run.timeseries_csv.map(|b| String::from_utf8_lossy(&b).into_owned()),
        })
        .to_string(),
        Err(e) => failure(e.to_json()),
    }
}

/// Checks `scenario` without running it, as `awsim check` does: `{"ok": true, "duration_s",
/// "graph"}` or the located errors as [`run`] gives them.
#[wasm_bindgen]
pub fn check(scenario: &str, options_json: &str) -> String {
    let mut options = match options(options_json) {
        Ok(o) => o,
        Err(e) => return options_error(e),
    };
    let files = std::mem::take(&mut options.files);
    with_given_files(files, || check_with(scenario, &options))
}

/// [`check`], once the options are read and their files given.
fn check_with(scenario: &str, options: &Options) -> String {
    let file = Path::new(&options.file);
    let parsed = Scenario::parse(scenario, file).and_then(|s| {
        s.check_settings(options.settings)?;
        s.build(options.settings)?;
        Ok(s)
    });
    match parsed {
        Ok(s) => json!({
            "ok": true,
            "duration_s": options.settings.duration.unwrap_or_else(|| s.duration()).as_secs_f64(),
            "graph": s.graph_text(),
        })
        .to_string(),
        Err(e) => failure(MemoryError::Scenario(e).to_json()),
    }
}

/// Two summaries (`summary.json` texts) side by side, with absolute and relative differences:
/// the table `awsim compare` prints.
#[wasm_bindgen]
pub fn compare(a: &str, b: &str, a_name: &str, b_name: &str) -> String {
    match (
        serde_json::from_str::<Value>(a),
        serde_json::from_str::<Value>(b),
    ) {
        (Ok(a), Ok(b)) => awsim::output::compare::compare(&a, &b, a_name, b_name),
        (Err(e), _) | (_, Err(e)) => format!("not a summary: {e}"),
    }
}

/// awsim's version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
