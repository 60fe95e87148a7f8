//! Plots and the HTML report: produced for every example scenario, well-formed, self-contained
//! (nothing fetched from elsewhere) and byte-identical for the same run.

use std::path::{Path, PathBuf};

use awsim::output::plots::write_run_plots;
use awsim::output::report::write_report;
use awsim::output::timeseries::CsvSeries;
use awsim::output::{activities, write_atomic};
use awsim::run::run;
use awsim::run::summary::Summary;
use awsim::scenario::{RunSettings, Scenario};

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

fn temp_dir(name: &str) -> PathBuf {
    crate::common::scratch("report", name)
}

/// Runs `file` for `duration` into `dir` as `awsim run` does, then writes plots and report.
fn run_into(file: &str, duration: &str, dir: &Path) -> (Scenario, Summary, Vec<PathBuf>, PathBuf) {
    let scenario = Scenario::load(Path::new(file)).expect("valid scenario");
    let wanted = awsim::units::parse_duration(duration).unwrap();
    let settings = RunSettings {
        duration: Some(crate::scenarios::accepted_duration(&scenario, wanted)),
        ..RunSettings::default()
    };
    let mut series =
        CsvSeries::create(&dir.join("timeseries.csv"), &scenario.series_kinds()).expect("csv");
    let summary = run(&scenario, settings, &mut series, |_| {}).expect("run");
    let reduced = series.finish().expect("csv written");
    activities::write(&summary, dir).expect("activities written");
    write_atomic(&dir.join("summary.json"), summary.to_json().as_bytes()).unwrap();
    let plots = write_run_plots(dir, &summary, &reduced).expect("plots written");
    let report = write_report(dir, &scenario, &summary, &plots).expect("report written");
    (scenario, summary, plots.files, report)
}

fn names(plots: &[PathBuf]) -> Vec<String> {
    plots
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// Checks every plot file and the report; returns the report's text.
fn check_outputs(
    scenario: &Scenario,
    summary: &Summary,
    plots: &[PathBuf],
    report: &Path,
) -> String {
    assert!(!plots.is_empty(), "{}: no plot", scenario.name);
    for plot in plots {
        let bytes = std::fs::read(plot).expect("plot exists");
        assert!(!bytes.is_empty(), "{} is empty", plot.display());
        match plot.extension().and_then(|e| e.to_str()) {
            Some("svg") => {
                let text = String::from_utf8(bytes).expect("SVG is UTF-8");
                assert!(
                    text.starts_with("<svg") || text.starts_with("<?xml"),
                    "{} does not start as an SVG document",
                    plot.display()
                );
                assert!(
                    text.trim_end().ends_with("</svg>"),
                    "{} is cut",
                    plot.display()
                );
                assert_eq!(
                    text.matches("<text").count(),
                    text.matches("</text>").count(),
                    "{}: unbalanced <text>",
                    plot.display()
                );
            }
            Some("png") => assert!(
                bytes.starts_with(PNG_SIGNATURE),
                "{} is no PNG",
                plot.display()
            ),
            other => panic!("unexpected plot file type {other:?}"),
        }
    }
    // Every plot has its SVG and its PNG, listed SVGs first.
    let names = names(plots);
    let svgs: Vec<&String> = names.iter().filter(|n| n.ends_with(".svg")).collect();
    assert_eq!(svgs.len() * 2, names.len(), "{names:?}");
    for (i, svg) in svgs.iter().enumerate() {
        assert_eq!(names[i], **svg, "SVGs first: {names:?}");
        assert_eq!(
            names[svgs.len() + i],
            svg.replace(".svg", ".png"),
            "{names:?}"
        );
    }

    assert_eq!(report.file_name().unwrap(), "report.html");
    let html = std::fs::read_to_string(report).expect("report written");
    assert!(html.starts_with("<!DOCTYPE html>"));
    for tag in [
        "html", "head", "body", "table", "figure", "svg", "pre", "details",
    ] {
        let opened =
            html.matches(&format!("<{tag}>")).count() + html.matches(&format!("<{tag} ")).count();
        let closed = html.matches(&format!("</{tag}>")).count();
        assert_eq!(
            opened, closed,
            "{}: <{tag}> opened {opened}, closed {closed}",
            scenario.name
        );
    }
    assert_eq!(html.matches("<html").count(), 1);
    assert_eq!(html.matches("<body").count(), 1);
    assert!(html.contains(&scenario.name), "scenario name missing");
    for name in summary.workloads.keys().chain(summary.components.keys()) {
        assert!(
            html.contains(&format!("<td>{name}</td>")),
            "{name} missing from the tables"
        );
    }
    // The scenario text (escaped) is there.
    let first_line = scenario
        .text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap();
    assert!(
        html.contains(
            &first_line
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
                .replace('\'', "&#39;")
        )
    );
    // Every plot is inlined: one <svg> per SVG file (the PNGs are the same pictures).
    let inline_svgs = html.matches("<svg ").count();
    let data_pngs = html.matches("data:image/png;base64,").count();
    assert!(
        inline_svgs + data_pngs >= svgs.len(),
        "{} SVGs inlined and {} PNGs for {} plots",
        inline_svgs,
        data_pngs,
        svgs.len()
    );
    // Self-contained: nothing fetched.
    for external in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "<link",
        "<script",
        "url(",
        "@import",
    ] {
        assert!(
            !html.contains(external),
            "{}: report references `{external}`",
            scenario.name
        );
    }
    html
}

#[test]
fn order_pipeline_plots_and_report_are_complete_and_deterministic() {
    let dir = temp_dir("order");
    let (a, b) = (dir.join("a"), dir.join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let file = "scenarios/examples/order_pipeline.toml";
    let (scenario, summary, plots, report) = run_into(file, "25m", &a);
    let html = check_outputs(&scenario, &summary, &plots, &report);
    // `cost`: the function `api` is billed, so its spend rate is stacked.
    let expected = [
        "latency",
        "throughput",
        "cost",
        "capacity_api",
        "queue_orders",
        "capacity_workers",
    ];
    let mut want: Vec<String> = expected.iter().map(|s| format!("{s}.svg")).collect();
    want.extend(expected.iter().map(|s| format!("{s}.png")));
    // `orders-dlq` never held a message and `orders-table` (ec2_fleet) has no capacity series.
    assert_eq!(names(&plots), want);
    assert!(html.contains("id=\"activities\"") && html.contains("scale_out"));
    assert!(html.contains("backlog-300"), "activity reasons shown");
    assert!(
        html.contains("busy above 95"),
        "the saturated workers noted: {html}"
    );

    // The same run again: the same bytes, plots and report.
    let (_, _, plots_b, report_b) = run_into(file, "25m", &b);
    assert_eq!(names(&plots), names(&plots_b));
    for (x, y) in plots.iter().zip(&plots_b) {
        assert!(
            std::fs::read(x).unwrap() == std::fs::read(y).unwrap(),
            "{} differs",
            x.display()
        );
    }
    assert!(
        std::fs::read(&report).unwrap() == std::fs::read(&report_b).unwrap(),
        "report.html differs between two identical runs"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dynamodb_capacity_and_throttles_are_plotted_and_warned_about() {
    let dir = temp_dir("dynamodb");
    let (scenario, summary, plots, report) =
        run_into("scenarios/lessons/burst_capacity.toml", "6m", &dir);
    let html = check_outputs(&scenario, &summary, &plots, &report);
    let names = names(&plots);
    for table in summary
        .components
        .iter()
        .filter(|(_, c)| c["kind"] == "dynamodb")
        .map(|(n, _)| n)
    {
        let file = format!("capacity_{table}.svg");
        assert!(names.contains(&file), "no {file}: {names:?}");
        let svg = std::fs::read_to_string(dir.join(&file)).unwrap();
        assert!(
            svg.contains("consumed RCU") && svg.contains("provisioned RCU"),
            "{file}"
        );
    }
    // The spike outruns the table without burst capacity: its throttled requests are a warning.
    assert!(
        html.contains("<strong>Warning</strong> <code>table-no-burst</code>")
            && html.contains("throttled)"),
        "{html}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_example_and_lesson_gets_plots_and_a_report() {
    let dir = temp_dir("all");
    let mut files: Vec<PathBuf> = ["scenarios/examples", "scenarios/lessons"]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).expect("scenario folder"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        // hot_key simulates 16 000 reads a second: its tables are covered by burst_capacity.
        .filter(|p| !p.ends_with("hot_key.toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 6);
    for file in &files {
        let out = dir.join(file.file_stem().unwrap());
        std::fs::create_dir_all(&out).unwrap();
        let (scenario, summary, plots, report) = run_into(file.to_str().unwrap(), "2m", &out);
        check_outputs(&scenario, &summary, &plots, &report);
        let names = names(&plots);
        assert!(
            names.contains(&"latency.svg".to_string()),
            "{}: {names:?}",
            file.display()
        );
        assert!(
            names.contains(&"throughput.svg".to_string()),
            "{}: {names:?}",
            file.display()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_figures_of_at_most_24_components_are_drawn_and_the_report_names_the_others() {
    // 30 functions, each with its own capacity figure: 2 images each would be 60 images.
    let dir = temp_dir("many-components");
    let mut text = String::from("[simulation]\nduration = \"1m\"\nwarmup = \"0s\"\n");
    for i in 0..30 {
        text.push_str(&format!(
            "[[workload]]\nname = \"w{i}\"\ntarget = \"f{i}\"\n\
             arrival = {{ process = \"poisson\", rate = \"5/s\" }}\n\
             [[component]]\nname = \"f{i}\"\nkind = \"lambda\"\n\
             handler = [ {{ compute = \"100ms\" }} ]\n"
        ));
    }
    let file = dir.join("many.toml");
    std::fs::write(&file, text).unwrap();
    let (_, _, plots, report) = run_into(file.to_str().unwrap(), "1m", &dir);
    let drawn: Vec<String> = names(&plots)
        .into_iter()
        .filter(|n| n.starts_with("capacity_") && n.ends_with(".svg"))
        .collect();
    let expected: Vec<String> = (0..24).map(|i| format!("capacity_f{i}.svg")).collect();
    let mut sorted = drawn.clone();
    sorted.sort();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(
        sorted, expected_sorted,
        "the first 24 components, in scenario order"
    );
    let html = std::fs::read_to_string(report).unwrap();
    assert!(
        html.contains(
            "The figures of 6 more components are not drawn (those of the first 24 are): \
             f24, f25, f26, f27, f28, f29. Their series are in timeseries.csv."
        ),
        "{}",
        &html[..html.len().min(2000)]
    );
    // Every function is still in timeseries.csv.
    let csv = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    assert!(csv.lines().any(|l| l.contains(",f29,")));
}
