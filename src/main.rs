//! The `awsim` binary: parse the command line, run, report. See `awsim --help`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use awsim::cli::{Cli, Command, RecordArgs, RunArgs};
use awsim::output::folder::{FolderError, Staging, remove_folder};
use awsim::output::progress::Progress;
use awsim::output::timeseries::CsvSeries;
use awsim::output::{
    activities, deployments, interrupt, plots, report, table, terminal, volume, write_atomic,
};
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
/// instead of panicking, as command-line tools do. Every line printed goes through here or
/// [`err`]: control characters in user text are shown, not obeyed ([`terminal::escape`]), and
/// nothing is printed once Ctrl-C has been pressed (the interrupt prints the last line).
fn out(text: &str) {
    use std::io::Write;
    if interrupt::interrupted() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(terminal::escape(text).as_bytes())
        .and_then(|()| stdout.flush())
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        err(&format!("error: cannot write to stdout: {e}"));
        std::process::exit(EXIT_RUN_FAILED as i32);
    }
}

/// Writes one message line to stderr, as [`out`] does to stdout.
fn err(text: &str) {
    if !interrupt::interrupted() {
        eprintln!("{}", terminal::escape(text));
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = interrupt::install() {
        err(&format!(
            "warning: Ctrl-C cannot be handled ({e}): an interrupted run may leave a hidden \
             staging folder, removed by the next run"
        ));
    }
    match cli.command {
        Command::Check { file, prices } => check(&file, prices.as_deref()),
        Command::Run(args) => run_command(&args),
        Command::Sweep(command) => match awsim::sweep::plan::command(&command) {
            Ok(report) => {
                out(&report);
                ExitCode::SUCCESS
            }
            Err(e) => {
                err(&format!("error: {e}"));
                ExitCode::from(e.exit_code())
            }
        },
        Command::Record(args) => record_command(&args),
        Command::Completions { shell } => {
            out(&String::from_utf8_lossy(&awsim::cli::completion_script(
                shell,
            )));
            ExitCode::SUCCESS
        }
        Command::Schema { out: None } => {
            out(&awsim::scenario::schema::schema_text());
            ExitCode::SUCCESS
        }
        Command::Schema { out: Some(path) } => {
            match awsim::files::write_atomic(
                &path,
                awsim::scenario::schema::schema_text().as_bytes(),
            ) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    err(&format!("error: cannot write {}: {e}", path.display()));
                    ExitCode::from(EXIT_BAD_INPUT)
                }
            }
        }
        Command::Kinds { kind } => kinds_command(kind.as_deref()),
        Command::Man { subcommand, dir } => man_command(subcommand.as_deref(), dir.as_deref()),
        Command::Import(args) => import_command(&args),
        Command::Compare { a, b } => match awsim::output::compare::compare_files(&a, &b) {
            Ok(table) => {
                out(&table);
                ExitCode::SUCCESS
            }
            Err(e) => {
                err(&format!("error: {e}"));
                ExitCode::from(EXIT_BAD_INPUT)
            }
        },
    }
}

/// `awsim man`: one page to stdout, or every page into a folder (each file written whole).
fn man_command(subcommand: Option<&str>, dir: Option<&Path>) -> ExitCode {
    let pages = match awsim::cli::man_pages() {
        Ok(pages) => pages,
        Err(e) => {
            err(&format!("error: cannot render the man pages: {e}"));
            return ExitCode::from(EXIT_RUN_FAILED);
        }
    };
    if let Some(dir) = dir {
        for (name, page) in &pages {
            let path = dir.join(name);
            if let Err(e) = std::fs::create_dir_all(dir).and_then(|()| write_atomic(&path, page)) {
                err(&format!("error: cannot write {}: {e}", path.display()));
                return ExitCode::from(EXIT_RUN_FAILED);
            }
        }
        out(&format!(
            "wrote {} man pages to {}\n",
            pages.len(),
            dir.display()
        ));
        return ExitCode::SUCCESS;
    }
    let wanted = match subcommand {
        None => "awsim.1".to_string(),
        Some(name) => format!("awsim-{name}.1"),
    };
    match pages.iter().find(|(file, _)| *file == wanted) {
        Some((_, page)) => {
            out(&String::from_utf8_lossy(page));
            ExitCode::SUCCESS
        }
        None => {
            let names = awsim::cli::subcommand_names();
            let candidates: Vec<&str> = names.iter().map(String::as_str).collect();
            let hint = awsim::units::did_you_mean(subcommand.unwrap_or(""), &candidates);
            err(&format!(
                "error: awsim has no subcommand `{}`{hint}; its subcommands: {}",
                subcommand.unwrap_or(""),
                names.join(", ")
            ));
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

fn load(file: &Path, prices: Option<&Path>) -> Result<Scenario, ExitCode> {
    Scenario::load_with_prices(file, prices).map_err(|e| {
        err(&format!("error: {e}"));
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

fn check(file: &Path, prices: Option<&Path>) -> ExitCode {
    let scenario = match load(file, prices) {
        Ok(s) => s,
        Err(code) => return code,
    };
    // Building checks what needs the models (files of empirical distributions, queue types
    // of dead-letter queues...); it runs nothing.
    if let Err(e) = scenario.build(RunSettings::default()) {
        err(&format!("error: {e}"));
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

/// Largest template `awsim import` reads (CloudFormation's own limit is 1 MB).
const MAX_TEMPLATE_BYTES: u64 = 16 << 20;

fn import_command(args: &awsim::cli::ImportArgs) -> ExitCode {
    let shown = args.template.display().to_string();
    let size = std::fs::metadata(&args.template)
        .map(|m| m.len())
        .unwrap_or(0);
    if size > MAX_TEMPLATE_BYTES {
        err(&format!(
            "error: {shown}: {size} bytes; a template may have at most {MAX_TEMPLATE_BYTES}"
        ));
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let text = match std::fs::read_to_string(&args.template) {
        Ok(t) => t,
        Err(e) => {
            err(&format!("error: cannot read {shown}: {e}"));
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let importers = awsim::components::importers();
    let imported = match awsim::import::import(&shown, &text, &args.parameters, &importers) {
        Ok(i) => i,
        Err(e) => {
            err(&format!("error: {e}"));
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    // Every import must pass `awsim check`: one that does not is awsim's bug, not the user's.
    let place = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("imported.toml"));
    let checked = Scenario::parse(&imported.scenario, &place)
        .map_err(|e| e.to_string())
        .and_then(|s| {
            s.build(RunSettings::default())
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
    if let Err(e) = checked {
        err(&format!(
            "error: the imported scenario does not pass `awsim check` (a bug in awsim import): {e}"
        ));
        return ExitCode::from(EXIT_RUN_FAILED);
    }
    match &args.out {
        Some(path) => {
            if let Err(e) = awsim::files::write_atomic(path, imported.scenario.as_bytes()) {
                err(&format!("error: cannot write {}: {e}", path.display()));
                return ExitCode::from(EXIT_RUN_FAILED);
            }
            out(&awsim::import::table_text(&imported.table));
            out(&format!("wrote {}\n", path.display()));
        }
        None => {
            err(&awsim::import::table_text(&imported.table));
            out(&imported.scenario);
        }
    }
    ExitCode::SUCCESS
}

fn record_command(args: &RecordArgs) -> ExitCode {
    let scenario = match load(&args.file, None) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let settings = RunSettings {
        seed: args.seed,
        duration: args.duration,
        interval: None,
    };
    if let Err(e) = scenario.check_settings(settings) {
        err(&format!("error: {e}"));
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    // Beside the run folders, not in one: `awsim run` replaces its folder as a whole.
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("output").join(format!("{}-arrivals.csv", scenario.name)));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        err(&format!(
            "error: cannot create the folder {}: {e}",
            dir.display()
        ));
        return ExitCode::from(EXIT_RUN_FAILED);
    }
    let partial = awsim::files::temp_path(&path);
    interrupt::hold(|on| {
        on.set(move || {
            let _ = std::fs::remove_file(&partial);
            "awsim: interrupted; no trace was written".into()
        })
    });
    let mut progress = Progress::new(
        settings.duration.unwrap_or_else(|| scenario.duration()),
        args.quiet,
    );
    let limits = args.limits.limits();
    let result = record_with_limits(&scenario, settings, limits, &path, |t| progress.update(t));
    progress.finish();
    interrupt::hold(|on| on.clear());
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
            err(&format!("error: {e}"));
            ExitCode::from(EXIT_BAD_INPUT)
        }
        Err(RecordError::Run(e @ RunError::Limit(_))) => {
            err(&format!("error: {e}"));
            ExitCode::from(EXIT_LIMIT)
        }
        Err(e) => {
            err(&format!("error: {e}"));
            ExitCode::from(EXIT_RUN_FAILED)
        }
    }
}

fn run_command(args: &RunArgs) -> ExitCode {
    let scenario = match load(&args.file, args.prices.as_deref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let settings = RunSettings {
        seed: args.seed,
        duration: args.duration,
        interval: args.interval,
    };
    // Checked before anything is written, as `check` and `sweep` check.
    if let Err(e) = scenario.check_settings(settings) {
        err(&format!("error: {e}"));
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    if let Err(message) = check_volume(&scenario, settings, args.max_output) {
        err(&format!("error: {message}"));
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("output").join(&scenario.name));
    let staging = match begin_staging(&out_dir) {
        Ok(staging) => staging,
        Err(e) => {
            err(&format!("error: {e}"));
            return ExitCode::from(match e {
                FolderError::NotOurs { .. } => EXIT_BAD_INPUT,
                FolderError::Io { .. } => EXIT_RUN_FAILED,
            });
        }
    };
    match write_run(args, &scenario, settings, staging, &out_dir) {
        Ok(code) => code,
        Err(e) => {
            err(&format!("error: {e:#}"));
            ExitCode::from(EXIT_RUN_FAILED)
        }
    }
}

/// Refuses a run whose `timeseries.csv` would pass the output limit.
fn check_volume(
    scenario: &Scenario,
    settings: RunSettings,
    max_output: Option<u64>,
) -> Result<(), String> {
    let limit = max_output.unwrap_or(volume::DEFAULT_MAX_OUTPUT);
    let planned = volume::planned_series(scenario, settings);
    let interval = settings.interval.unwrap_or_else(|| scenario.interval());
    volume::check(
        planned,
        limit,
        "this run's timeseries.csv",
        &format!(
            "sample less often with --interval {} (or `interval` in [simulation])",
            volume::interval_within(interval, planned, limit)
        ),
    )
}

/// Makes the staging folder of a run into `out_dir`; from now on Ctrl-C removes it.
fn begin_staging(out_dir: &Path) -> Result<Staging, FolderError> {
    interrupt::hold(|on| {
        let staging = Staging::begin(out_dir)?;
        let dir = staging.path().to_path_buf();
        let dest = out_dir.to_path_buf();
        on.set(move || {
            remove_folder(&dir);
            let kept = if dest.join("summary.json").exists() {
                format!(" ({} still holds the previous run)", dest.display())
            } else {
                String::new()
            };
            format!("awsim: interrupted; nothing was written{kept}")
        });
        Ok(staging)
    })
}

/// Runs the scenario, writes every output into `staging` and puts it in place as `out_dir`.
fn write_run(
    args: &RunArgs,
    scenario: &Scenario,
    settings: RunSettings,
    staging: Staging,
    out_dir: &Path,
) -> anyhow::Result<ExitCode> {
    let dir = staging.path().to_path_buf();
    let series_path = dir.join("timeseries.csv");
    let mut series = CsvSeries::create(&series_path, &scenario.series_kinds())
        .with_context(|| format!("cannot write {}", series_path.display()))?;
    let mut progress = Progress::new(
        settings.duration.unwrap_or_else(|| scenario.duration()),
        args.quiet,
    );
    let limits = args.limits.limits();
    let result = run_with_limits(scenario, settings, limits, &mut series, |t| {
        progress.update(t)
    });
    progress.finish();
    let summary = match result {
        Ok(summary) => summary,
        Err(RunError::Scenario(e)) => {
            series.abandon();
            err(&format!("error: {e}"));
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
        Err(e @ RunError::Conservation { .. }) => {
            series.abandon();
            err(&format!("error: {e}"));
            return Ok(ExitCode::from(EXIT_RUN_FAILED));
        }
        Err(e @ RunError::Limit(_)) => {
            series.abandon();
            err(&format!("error: {e}"));
            return Ok(ExitCode::from(EXIT_LIMIT));
        }
    };
    let reduced = series
        .finish()
        .with_context(|| format!("cannot write {}", series_path.display()))?;
    let wrote_activities = activities::write(&summary, &dir)
        .with_context(|| format!("cannot write scaling_activities.csv in {}", dir.display()))?;
    let wrote_deployments = deployments::write(&summary, &dir)
        .with_context(|| format!("cannot write deployments.csv in {}", dir.display()))?;
    let plot_files = plots::write_run_plots(&dir, &summary, &reduced)
        .with_context(|| format!("cannot write the plots in {}", dir.display()))?;
    report::write_report(&dir, scenario, &summary, &plot_files)
        .with_context(|| format!("cannot write report.html in {}", dir.display()))?;
    // summary.json last: its presence marks a whole run folder.
    write_atomic(&dir.join("summary.json"), summary.to_json().as_bytes())
        .with_context(|| format!("cannot write summary.json in {}", dir.display()))?;
    interrupt::hold(|on| {
        let committed = staging.commit();
        match &committed {
            Ok(()) => {
                let dest = out_dir.to_path_buf();
                on.set(move || {
                    format!(
                        "awsim: interrupted; the run's outputs in {} are complete",
                        dest.display()
                    )
                });
            }
            Err(_) => on.clear(),
        }
        committed
    })?;
    if !args.quiet {
        let file = |name: &str| -> PathBuf { out_dir.join(name) };
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
        let mut extra = String::new();
        for (wrote, name) in [
            (wrote_activities, "scaling_activities.csv"),
            (wrote_deployments, "deployments.csv"),
        ] {
            if wrote {
                extra.push_str(&format!(", {}", file(name).display()));
            }
        }
        out(&format!(
            "wrote {}, {}{extra}, {} plots and {}\n",
            file("summary.json").display(),
            file("timeseries.csv").display(),
            plot_files.len(),
            file("report.html").display()
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// `awsim kinds [KIND]`: every kind in one line each, or one kind whole.
fn kinds_command(kind: Option<&str>) -> ExitCode {
    match kind {
        None => {
            out(&awsim::output::kinds::kinds_list());
            ExitCode::SUCCESS
        }
        Some(kind) => match awsim::output::kinds::kind_text(kind) {
            Ok(text) => {
                out(&text);
                ExitCode::SUCCESS
            }
            Err(message) => {
                err(&format!("error: {message}"));
                ExitCode::from(EXIT_BAD_INPUT)
            }
        },
    }
}
