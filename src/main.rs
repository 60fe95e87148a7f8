//! The `awsim` binary: parse the command line, run, report. See `awsim --help`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use awsim::cli::{Cli, Command, RecordArgs, RunArgs};
use awsim::output::progress::Progress;
use awsim::output::timeseries::CsvSeries;
use awsim::output::{activities, plots, report, table, write_atomic};
use awsim::run::limits::EXIT_LIMIT;
use awsim::run::{RecordError, RunError, record_with_limits, run_with_limits};
use awsim::scenario::{RunSettings, Scenario};

#[global_allocator]
static ALLOCATOR: awsim::engine::memory::CountingAlloc = awsim::engine::memory::CountingAlloc;

/// Exit code for a run that failed (conservation) or could not write its output.
const EXIT_RUN_FAILED: u8 = 1;
/// Exit code for bad usage or an invalid scenario.
const EXIT_BAD_INPUT: u8 = 2;

/// Writes to stdout; a closed pipe (`awsim check FILE | head -1`) ends the program quietly
/// instead of panicking, as command-line tools do.
fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(EXIT_RUN_FAILED as i32);
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { file } => check(&file),
        Command::Run(args) => match run_command(&args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(EXIT_RUN_FAILED)
            }
        },
        Command::Sweep(args) => match awsim::sweep::run_sweep(&args) {
            Ok(outcome) => {
                if !args.quiet {
                    out(&outcome.report());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(e.exit_code())
            }
        },
        Command::Record(args) => record_command(&args),
        Command::Compare { a, b } => match awsim::output::compare::compare_files(&a, &b) {
            Ok(table) => {
                out(&table);
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_BAD_INPUT)
            }
        },
    }
}

fn load(file: &Path) -> Result<Scenario, ExitCode> {
    Scenario::load(file).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

fn check(file: &Path) -> ExitCode {
    let scenario = match load(file) {
        Ok(s) => s,
        Err(code) => return code,
    };
    // Building checks what needs the models (files of empirical distributions, queue types
    // of dead-letter queues...); it runs nothing.
    if let Err(e) = scenario.build(RunSettings::default()) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    out(&format!(
        "{}: valid scenario `{}` (duration {}, warm-up {}, seed {})\n",
        file.display(),
        scenario.name,
        scenario.duration(),
        scenario.warmup(),
        scenario.seed()
    ));
    out(&scenario.graph_text());
    ExitCode::SUCCESS
}

fn record_command(args: &RecordArgs) -> ExitCode {
    let scenario = match load(&args.file) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let settings = RunSettings {
        seed: args.seed,
        duration: args.duration,
        interval: None,
    };
    if let Err(e) = scenario.check_settings(settings) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let path = args.out.clone().unwrap_or_else(|| {
        Path::new("output")
            .join(&scenario.name)
            .join("arrivals.csv")
    });
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!("error: cannot create the folder {}: {e}", dir.display());
        return ExitCode::from(EXIT_RUN_FAILED);
    }
    let mut progress = Progress::new(
        settings.duration.unwrap_or_else(|| scenario.duration()),
        args.quiet,
    );
    let limits = args.limits.limits();
    let result = record_with_limits(&scenario, settings, limits, &path, |t| progress.update(t));
    progress.finish();
    match result {
        Ok((summary, rows)) => {
            if !args.quiet {
                out(&format!(
                    "awsim: recorded {rows} arrivals of `{}` (seed {}, {} s) in {}\n",
                    summary.scenario,
                    summary.seed,
                    summary.duration_s,
                    path.display()
                ));
            }
            ExitCode::SUCCESS
        }
        Err(RecordError::Run(RunError::Scenario(e))) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
        Err(RecordError::Run(e @ RunError::Limit(_))) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_LIMIT)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_RUN_FAILED)
        }
    }
}

fn run_command(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let scenario = match load(&args.file) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let settings = RunSettings {
        seed: args.seed,
        duration: args.duration,
        interval: args.interval,
    };
    // Checked before anything is written, as `check` and `sweep` check.
    if let Err(e) = scenario.check_settings(settings) {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(EXIT_BAD_INPUT));
    }
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("output").join(&scenario.name));
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create the output folder {}", out_dir.display()))?;
    let series_path = out_dir.join("timeseries.csv");
    let mut series = CsvSeries::create(&series_path)
        .with_context(|| format!("cannot write {}", series_path.display()))?;
    let mut progress = Progress::new(
        settings.duration.unwrap_or_else(|| scenario.duration()),
        args.quiet,
    );
    let limits = args.limits.limits();
    let result = run_with_limits(&scenario, settings, limits, &mut series, |t| {
        progress.update(t)
    });
    progress.finish();
    let summary = match result {
        Ok(summary) => summary,
        Err(RunError::Scenario(e)) => {
            series.abandon();
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
        Err(e @ RunError::Conservation { .. }) => {
            series.abandon();
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_RUN_FAILED));
        }
        Err(e @ RunError::Limit(_)) => {
            series.abandon();
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_LIMIT));
        }
    };
    series
        .finish()
        .with_context(|| format!("cannot write {}", series_path.display()))?;
    let wrote_activities = activities::write(&summary, &out_dir).with_context(|| {
        format!(
            "cannot write scaling_activities.csv in {}",
            out_dir.display()
        )
    })?;
    let plot_files = plots::write_run_plots(&out_dir, &summary)
        .with_context(|| format!("cannot write the plots in {}", out_dir.display()))?;
    let report_path = report::write_report(&out_dir, &scenario, &summary, &plot_files)
        .with_context(|| format!("cannot write report.html in {}", out_dir.display()))?;
    // summary.json last: its presence means the run and every other file are complete.
    let summary_path = out_dir.join("summary.json");
    write_atomic(&summary_path, summary.to_json().as_bytes())
        .with_context(|| format!("cannot write {}", summary_path.display()))?;
    if !args.quiet {
        out(&format!(
            "awsim: {}  seed={}  duration={}s  warm-up={}s  ({} events in {:.2} s wall)\n",
            summary.scenario,
            summary.seed,
            summary.duration_s,
            summary.warmup_s,
            summary.events,
            progress.elapsed().as_secs_f64()
        ));
        out(&table::render(&summary));
        let extra = if wrote_activities {
            format!(", {}", out_dir.join("scaling_activities.csv").display())
        } else {
            String::new()
        };
        out(&format!(
            "wrote {}, {}{extra}, {} plots and {}\n",
            summary_path.display(),
            series_path.display(),
            plot_files.len(),
            report_path.display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}
