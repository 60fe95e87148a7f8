//! `timeseries.csv` and `sweep.csv` load in one line in pandas, polars, R and spreadsheets:
//! one header row of unique names without spaces, and columns that are numbers (or empty) all
//! the way down or text all the way down, never mixed, so no reader guesses a column's type
//! from its first rows and then fails.

use std::path::Path;

use crate::common::{awsim, scratch, text};

/// Checks the header and the type of every column of the CSV file at `path`; returns the header.
fn assert_loads_in_one_line(path: &Path) -> Vec<String> {
    let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    for name in &header {
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)),
            "{path:?}: column `{name}` is not a plain name"
        );
    }
    let mut unique = header.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        header.len(),
        "{path:?}: repeated column names"
    );
    // Per column: rows holding a number, rows holding text.
    let mut numbers = vec![0usize; header.len()];
    let mut texts = vec![0usize; header.len()];
    let mut rows = 0;
    for record in reader.records() {
        let record = record.unwrap();
        assert_eq!(
            record.len(),
            header.len(),
            "{path:?}: a row of another width"
        );
        for (i, cell) in record.iter().enumerate() {
            if cell.is_empty() {
                continue;
            }
            match cell.parse::<f64>() {
                Ok(v) if v.is_finite() => numbers[i] += 1,
                _ => texts[i] += 1,
            }
        }
        rows += 1;
    }
    assert!(rows > 0, "{path:?} has no rows");
    for (i, name) in header.iter().enumerate() {
        assert!(
            numbers[i] == 0 || texts[i] == 0,
            "{path:?}: column `{name}` mixes {} numbers and {} texts",
            numbers[i],
            texts[i]
        );
    }
    header
}

#[test]
fn the_time_series_and_a_sweep_load_without_options() {
    let dir = scratch("analysis", "outputs");
    let run_dir = dir.join("run");
    let run = awsim(&[
        "run",
        "-q",
        "scenarios/examples/web_tier_autoscaling.toml",
        "--duration",
        "20m",
        "--out",
        run_dir.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let header = assert_loads_in_one_line(&run_dir.join("timeseries.csv"));
    assert_eq!(header[..3], ["time_s", "name", "kind"]);
    assert!(header.contains(&"spend_usd_per_hour".to_string()));

    let sweep_dir = dir.join("sweep");
    let sweep = awsim(&[
        "sweep",
        "-q",
        "scenarios/examples/web_tier.toml",
        "--set",
        "web.instances=3,4",
        "--replications",
        "2",
        "--duration",
        "2m",
        "--out",
        sweep_dir.to_str().unwrap(),
    ]);
    assert!(sweep.status.success(), "{}", text(&sweep.stderr));
    let header = assert_loads_in_one_line(&sweep_dir.join("sweep.csv"));
    assert_eq!(header[..3], ["point", "web.instances", "replications"]);
    assert!(header.iter().any(|h| h == "shoppers.latency_p99_ms.mean"));
    std::fs::remove_dir_all(&dir).unwrap();
}
