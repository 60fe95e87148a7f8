//! `--emit slurm`: the job scripts of a plan for Slurm. `sweep.sbatch` is an array job, one task
//! per run, each calling `awsim sweep run DIR --index-from-env SLURM_ARRAY_TASK_ID`;
//! `merge.sbatch` calls `awsim sweep merge DIR`; `submit.sh` submits the array, then the merge
//! with `--dependency=afterok` on it, so the merge runs once every task has succeeded. With
//! `--missing` the array holds only the runs without a valid result.

use std::fs;
use std::path::{Path, PathBuf};

use super::SweepError;
use super::args::PlanArgs;
use super::plan::{Plan, RunState, plural, ranges};
use crate::output::write_atomic;

/// Options `--slurm-option` may not set: the scripts set them, and the plan depends on them.
const OWN_OPTIONS: [&str; 6] = ["array", "dependency", "output", "chdir", "parsable", "wrap"];

/// Checks `--slurm-option NAME=VALUE` and gives the `#SBATCH` line's option, `--NAME=VALUE`.
pub fn option_line(option: &str) -> Result<String, String> {
    let trimmed = option.trim().trim_start_matches("--");
    let (name, value) = trimmed.split_once('=').ok_or_else(|| {
        format!("--slurm-option {option}: expected NAME=VALUE, e.g. time=00:30:00")
    })?;
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !name_ok {
        return Err(format!(
            "--slurm-option {option}: `{name}` is not an sbatch option name (letters, digits, `-`)"
        ));
    }
    if OWN_OPTIONS.contains(&name) {
        return Err(format!(
            "--slurm-option {option}: awsim writes --{name} itself (the plan decides it)"
        ));
    }
    if value.is_empty() || value.chars().any(|c| c.is_control()) {
        return Err(format!(
            "--slurm-option {option}: the value must be one line, not empty"
        ));
    }
    Ok(format!("--{name}={value}"))
}

/// A path as an `#SBATCH` line and a shell word take it: absolute, and made only of characters
/// that need no quoting in either (Slurm reads `%` in `--output` as a pattern).
fn plain_path(path: &Path, what: &str) -> Result<String, SweepError> {
    let text = path.display().to_string();
    let ok = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | ',' | '='));
    if !ok {
        return Err(SweepError::Input(format!(
            "--emit slurm: the {what} {text} has a character the job scripts cannot take \
             unquoted (a space, a quote, `%`...): use a folder without one"
        )));
    }
    Ok(text)
}

/// Writes the job scripts of `plan` and returns the message saying how to submit them.
/// `jobs`: at most this many tasks at once (`%K`).
pub fn emit(plan: &Plan, args: &PlanArgs, jobs: Option<u32>) -> Result<String, SweepError> {
    let lines = args
        .slurm_options
        .iter()
        .map(|o| option_line(o))
        .collect::<Result<Vec<_>, _>>()
        .map_err(SweepError::Input)?;
    let failed = |what: &str, path: &Path, e: std::io::Error| {
        SweepError::Failed(format!("cannot {what} {}: {e}", path.display()))
    };
    let dir = fs::canonicalize(&plan.dir).map_err(|e| failed("find", &plan.dir, e))?;
    let cwd = std::env::current_dir().map_err(|e| failed("find", Path::new("."), e))?;
    let exe = std::env::current_exe()
        .and_then(fs::canonicalize)
        .map_err(|e| failed("find", Path::new("awsim"), e))?;
    let (dir_text, cwd_text, exe_text) = (
        plain_path(&dir, "plan folder")?,
        plain_path(&cwd, "working folder")?,
        plain_path(&exe, "awsim binary")?,
    );
    let runs = plan.body.runs.len();
    let indices: Vec<usize> = if args.missing {
        (0..runs)
            .filter(|&i| !matches!(plan.result(i), RunState::Done(_)))
            .collect()
    } else {
        (0..runs).collect()
    };
    let logs = dir.join("logs");
    fs::create_dir_all(&logs).map_err(|e| failed("create", &logs, e))?;
    let name = &plan.body.scenario;
    let throttle = jobs.map(|k| format!("%{k}")).unwrap_or_default();
    let user: String = lines.iter().map(|l| format!("#SBATCH {l}\n")).collect();
    let header = format!(
        "# awsim sweep plan {} of `{name}` ({}); made by `awsim sweep ... --plan \
         --emit slurm`.\n# AWSIM names the awsim binary of the nodes (default: the one that \
         made the plan).\n",
        &plan.digest[..12],
        plural(runs, "run")
    );
    let array = format!(
        "#!/bin/bash\n{header}# The array job: task I runs run I of the plan; a run with a \
         valid result is not run again.\n#SBATCH --job-name=awsim-{name}\n#SBATCH \
         --array={}{throttle}\n#SBATCH --chdir={cwd_text}\n#SBATCH \
         --output={dir_text}/logs/run-%a.out\n{user}set -eu\nexec \"${{AWSIM:-{exe_text}}}\" \
         sweep run {dir_text} --index-from-env SLURM_ARRAY_TASK_ID\n",
        ranges(&indices)
    );
    let merge = format!(
        "#!/bin/bash\n{header}# The merge job: writes sweep.csv, sweep.json and the plots in the \
         plan folder.\n#SBATCH --job-name=awsim-{name}-merge\n#SBATCH --chdir={cwd_text}\n\
         #SBATCH --output={dir_text}/logs/merge-%j.out\n{user}set -eu\nexec \
         \"${{AWSIM:-{exe_text}}}\" sweep merge {dir_text}\n"
    );
    let submit = if indices.is_empty() {
        format!(
            "#!/bin/sh\n{header}# Every run has a valid result: only the merge is left.\nset \
             -eu\nmerge=$(sbatch --parsable {dir_text}/merge.sbatch)\necho \"submitted merge job \
             ${{merge%%;*}}\"\n"
        )
    } else {
        format!(
            "#!/bin/sh\n{header}# Submits the array job, then the merge job, which starts once \
             every task has succeeded.\nset -eu\narray=$(sbatch --parsable \
             {dir_text}/sweep.sbatch)\narray=${{array%%;*}}\nmerge=$(sbatch --parsable \
             --dependency=afterok:$array {dir_text}/merge.sbatch)\necho \"submitted array job \
             $array ({}) and merge job ${{merge%%;*}}\"\n",
            plural(indices.len(), "task")
        )
    };
    let mut written: Vec<PathBuf> = Vec::new();
    for (file, text) in [
        ("sweep.sbatch", array),
        ("merge.sbatch", merge),
        ("submit.sh", submit),
    ] {
        let path = dir.join(file);
        write_atomic(&path, text.as_bytes()).map_err(|e| failed("write", &path, e))?;
        written.push(path);
    }
    Ok(format!(
        "wrote {} ({} of {}{}), {} and {}\nsubmit with: sh {}\n",
        written[0].display(),
        plural(indices.len(), "task"),
        plural(runs, "run"),
        if args.missing {
            ": those without a valid result"
        } else {
            ""
        },
        written[1].display(),
        written[2].display(),
        written[2].display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slurm_options_become_sbatch_lines_and_bad_ones_are_refused() {
        assert_eq!(option_line("time=00:30:00").unwrap(), "--time=00:30:00");
        assert_eq!(option_line("--mem=2G").unwrap(), "--mem=2G");
        assert_eq!(option_line("partition=short").unwrap(), "--partition=short");
        for (bad, why) in [
            ("time", "expected NAME=VALUE"),
            ("array=0-3", "writes --array itself"),
            ("dependency=afterok:1", "writes --dependency itself"),
            ("time=1\n#SBATCH --x=y", "one line"),
            ("ti me=1", "not an sbatch option name"),
            ("mem=", "not empty"),
        ] {
            let e = option_line(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }
}
