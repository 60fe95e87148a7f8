//! Outputs stay where they are told and are whole or absent (issue 14): names that are one plain
//! path component, run folders replaced as a whole, never a folder that is not awsim's, a kill
//! or Ctrl-C at any moment, the planned output size, CSV and terminal escaping.

use crate::common::text;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const AWSIM: &str = env!("CARGO_BIN_EXE_awsim");
const WEB_TIER: &str = "scenarios/examples/web_tier.toml";
const AUTOSCALING: &str = "scenarios/examples/web_tier_autoscaling.toml";

fn awsim_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(AWSIM)
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("awsim runs")
}

fn awsim(args: &[&str]) -> Output {
    awsim_in(Path::new("."), args)
}

fn scratch(name: &str) -> PathBuf {
    crate::common::scratch("outputs", name)
}

fn absolute(path: &str) -> String {
    std::env::current_dir()
        .unwrap()
        .join(path)
        .to_string_lossy()
        .into_owned()
}

/// Every entry under `dir`, as relative paths, sorted.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(
                path.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
            if path.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

/// The contents of every file in `dir` (not recursive).
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&path).unwrap(),
            )
        })
        .collect()
}

/// `web_tier.toml` with `name = <value>` (a TOML string, escapes and all) in `[simulation]`.
fn named(name_toml: &str) -> String {
    fs::read_to_string(WEB_TIER).unwrap().replacen(
        "[simulation]\n",
        &format!("[simulation]\nname = {name_toml}\n"),
        1,
    )
}

#[test]
fn names_that_are_not_one_plain_path_component_are_refused_where_they_are_written() {
    // One level down, so that where `../../x` would land (beside `dir`) is ours alone.
    let root = scratch("names");
    let dir = root.join("work");
    fs::create_dir_all(&dir).unwrap();
    let long = format!("\"{}\"", "n".repeat(250));
    let absolute = format!("\"{}\"", dir.join("elsewhere").display());
    let cases: [(&str, &str); 9] = [
        ("\"../../x\"", "cannot contain `/`"),
        (&absolute, "cannot contain `/`"),
        ("\"..\"", "cannot start with `.`"),
        ("\".\"", "cannot start with `.`"),
        ("\"\"", "must not be empty"),
        (&long, "at most 64 characters long; this one has 250"),
        ("\"ok\\u001b[2J\"", "control character U+001B"),
        ("\"x\\nawsim: all good\"", "control character U+000A"),
        ("\"=HYPERLINK(\\\"http://x\\\")\"", "cannot contain `=`"),
    ];
    let file = dir.join("s.toml");
    let file_arg = file.to_str().unwrap().to_string();
    let out_file = dir.join("t.csv");
    for (value, why) in cases {
        fs::write(&file, named(value)).unwrap();
        let line = named(value)
            .lines()
            .position(|l| l.starts_with("name = "))
            .unwrap()
            + 1;
        for command in [
            vec!["check", file_arg.as_str()],
            vec!["run", file_arg.as_str()],
            vec!["record", file_arg.as_str()],
            vec![
                "record",
                file_arg.as_str(),
                "--out",
                out_file.to_str().unwrap(),
            ],
            vec!["sweep", file_arg.as_str(), "--set", "web.instances=2"],
        ] {
            let out = awsim_in(&dir, &command);
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{value} {command:?}: {stderr}");
            assert!(
                stderr.contains(&format!(
                    "s.toml:{line}:8: field `simulation.name`: a name "
                )),
                "{value} {command:?}: {stderr}"
            );
            assert!(stderr.contains(why), "{value} {command:?}: {stderr}");
            assert!(stderr.contains("a name has letters"), "{stderr}");
            assert!(!stderr.contains('\u{1b}'), "raw escape in {stderr:?}");
            // Nothing was written, here or anywhere the name points.
            assert_eq!(tree(&dir), ["s.toml"], "{value} {command:?}");
        }
    }
    assert!(!dir.join("elsewhere").exists() && !root.join("x").exists());
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn workload_and_component_names_follow_the_same_rule() {
    let dir = scratch("parts");
    let file = dir.join("s.toml");
    let base = fs::read_to_string(WEB_TIER).unwrap();
    for (from, to, why) in [
        ("name = \"web\"", "name = \"../web\"", "cannot contain `/`"),
        (
            "name = \"shoppers\"",
            "name = \"=cmd|' /C calc'!A0\"",
            "cannot contain `=`",
        ),
        (
            "name = \"web-alb\"",
            "name = \"-alb\"",
            "cannot start with `-`",
        ),
    ] {
        assert!(base.contains(from));
        let scenario = base.replacen(from, to, 1);
        let line = scenario.lines().position(|l| l == to).unwrap() + 1;
        fs::write(&file, &scenario).unwrap();
        let out = awsim(&["check", file.to_str().unwrap()]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&format!("s.toml:{line}:8: ")), "{stderr}");
        assert!(stderr.contains(why), "{stderr}");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_shipped_scenario_has_a_valid_name() {
    for dir in ["scenarios/examples", "scenarios/lessons", "scenarios/bench"] {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let out = awsim(&["check", path.to_str().unwrap()]);
                assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
            }
        }
    }
}

#[test]
fn a_run_replaces_the_previous_folder_as_a_whole() {
    let dir = scratch("replace");
    let dest = dir.join("result");
    let dest_arg = dest.to_str().unwrap();
    let first = awsim(&[
        "run",
        AUTOSCALING,
        "--duration",
        "3h",
        "--interval",
        "1m",
        "-q",
        "--out",
        dest_arg,
    ]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let before = tree(&dest);
    assert!(
        before.contains(&"scaling_activities.csv".to_string()),
        "{before:?}"
    );
    assert!(
        before.contains(&"capacity_web.svg".to_string()),
        "{before:?}"
    );
    let second = awsim(&["run", WEB_TIER, "--duration", "70s", "--out", dest_arg]);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second.stderr));
    assert!(
        text(&second.stdout).contains(&format!("wrote {dest_arg}/summary.json")),
        "the message names the folder, not the staging folder: {}",
        text(&second.stdout)
    );
    // Only the second run's files: no stale activities or capacity plot.
    assert_eq!(
        tree(&dest),
        [
            "latency.png",
            "latency.svg",
            "report.html",
            "summary.json",
            "throughput.png",
            "throughput.svg",
            "timeseries.csv"
        ]
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(dest.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["scenario"], "web_tier");
    // Nothing hidden is left beside it.
    assert_eq!(tree(&dir).iter().filter(|n| n.starts_with('.')).count(), 0);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_folder_that_is_not_awsims_is_never_replaced() {
    let dir = scratch("foreign");
    let mine = dir.join("thesis");
    fs::create_dir(&mine).unwrap();
    fs::write(mine.join("chapter1.tex"), "precious").unwrap();
    let mine_arg = mine.to_str().unwrap();
    for command in [
        vec!["run", WEB_TIER, "--duration", "70s", "--out", mine_arg],
        vec![
            "sweep",
            WEB_TIER,
            "--set",
            "web.instances=2",
            "-r",
            "1",
            "--out",
            mine_arg,
        ],
    ] {
        let out = awsim(&command);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(
            stderr.contains("is not empty and does not look like an awsim"),
            "{stderr}"
        );
        assert!(
            stderr.contains("remove it or give another --out"),
            "{stderr}"
        );
    }
    // A run folder is not a sweep folder either, and a file is no folder.
    let run = dir.join("run");
    let out = awsim(&[
        "run",
        WEB_TIER,
        "--duration",
        "70s",
        "-q",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let out = awsim(&[
        "sweep",
        WEB_TIER,
        "--set",
        "web.instances=2",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(
        text(&out.stderr)
            .contains("does not look like an awsim sweep folder (it has no sweep.json)")
    );
    let out = awsim(&[
        "run",
        WEB_TIER,
        "--out",
        mine.join("chapter1.tex").to_str().unwrap(),
    ]);
    assert!(text(&out.stderr).contains("exists and is not a folder"));
    // `--out .` in a folder of one's own.
    let out = awsim_in(
        &mine,
        &[
            "run",
            &absolute(WEB_TIER),
            "--duration",
            "70s",
            "--out",
            ".",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(tree(&mine), ["chapter1.tex"]);
    assert_eq!(
        fs::read_to_string(mine.join("chapter1.tex")).unwrap(),
        "precious"
    );
    fs::remove_dir_all(&dir).unwrap();
}

/// Waits until `cond` holds or `child` has exited; whether it holds.
fn wait_for(child: &mut Child, cond: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(120) {
        if cond() {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return cond();
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("timed out");
}

fn staging_of(dest: &Path, pid: u32) -> PathBuf {
    let name = dest.file_name().unwrap().to_string_lossy();
    dest.with_file_name(format!(".{name}.partial-{pid}"))
}

#[test]
fn killed_at_any_moment_a_run_folder_is_the_old_one_the_new_one_or_absent() {
    let dir = scratch("kill");
    let dest = dir.join("result");
    let dest_arg = dest.to_str().unwrap().to_string();
    let old = awsim(&[
        "run",
        AUTOSCALING,
        "--duration",
        "3h",
        "--interval",
        "1m",
        "-q",
        "--out",
        &dest_arg,
    ]);
    assert_eq!(old.status.code(), Some(0), "{}", text(&old.stderr));
    let old = files(&dest);
    let new_args = [
        "run",
        WEB_TIER,
        "--duration",
        "2m",
        "--interval",
        "100ms",
        "-q",
        "--out",
        &dest_arg,
    ];
    // The new result whole, as a run that is not killed writes it elsewhere.
    let reference = dir.join("reference");
    let reference_arg = reference.to_str().unwrap().to_string();
    let mut reference_args = new_args;
    reference_args[8] = &reference_arg;
    let done = awsim(&reference_args);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
    let new = files(&reference);
    fs::remove_dir_all(&reference).unwrap();
    let mut in_write_phase = 0;
    for attempt in 0..12 {
        let mut child = Command::new(AWSIM).args(new_args).spawn().unwrap();
        let staging = staging_of(&dest, child.id());
        if attempt % 3 == 2 {
            // Some at a moment of no interest: while it simulates, or whenever.
            std::thread::sleep(Duration::from_millis(5 * attempt));
        } else if wait_for(&mut child, || staging.join("timeseries.csv").exists()) {
            // The simulation is over and the plots and report are being written.
            in_write_phase += 1;
        }
        let _ = child.kill();
        let status = child.wait().unwrap();
        if status.success() {
            let now = files(&dest);
            assert!(now.contains_key("summary.json") && now.contains_key("report.html"));
            assert!(
                !now.contains_key("scaling_activities.csv"),
                "old and new mixed"
            );
            break;
        }
        // Killed: the old result exactly, none (between the two renames), or the new result
        // whole (killed after its last rename, before it exited).
        if dest.exists() {
            let now = files(&dest);
            assert!(
                now == old || now == new,
                "attempt {attempt}: neither the old result nor the new one whole: {:?}",
                now.keys().collect::<Vec<_>>()
            );
        }
    }
    assert!(
        in_write_phase > 0,
        "no kill landed while the outputs were written"
    );
    // The next run removes what the killed ones left and puts a whole result in place.
    let out = awsim(&new_args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        tree(&dir)
            .iter()
            .filter(|n| !n.contains('/'))
            .collect::<Vec<_>>(),
        ["result"]
    );
    assert!(!files(&dest).contains_key("scaling_activities.csv"));
    fs::remove_dir_all(&dir).unwrap();
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .expect("the kill command runs");
    assert!(status.success());
}

#[test]
fn ctrl_c_or_sigterm_stops_a_run_says_so_and_leaves_nothing_half_written() {
    let dir = scratch("ctrlc");
    let dest = dir.join("result");
    let dest_arg = dest.to_str().unwrap().to_string();
    for (signal_name, previous) in [("INT", false), ("TERM", true)] {
        if previous {
            let out = awsim(&[
                "run",
                WEB_TIER,
                "--duration",
                "70s",
                "-q",
                "--out",
                &dest_arg,
            ]);
            assert_eq!(out.status.code(), Some(0));
        }
        let before = if previous { Some(files(&dest)) } else { None };
        // Hours of M/M/c: long enough to be interrupted.
        let mut child = Command::new(AWSIM)
            .args([
                "run",
                "scenarios/examples/mmc.toml",
                "--duration",
                "1000h",
                "--interval",
            ])
            .args(["1m", "--out", &dest_arg])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let staging = staging_of(&dest, child.id());
        assert!(wait_for(&mut child, || staging
            .join(".timeseries.csv.partial")
            .exists()));
        signal(&child, signal_name);
        let out = child.wait_with_output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "SIG{signal_name}: {stderr}");
        assert!(
            stderr.contains("awsim: interrupted; nothing was written"),
            "{stderr}"
        );
        assert_eq!(
            stderr.contains(&format!("({dest_arg} still holds the previous run)")),
            previous,
            "{stderr}"
        );
        assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
        // The previous result as it was, or none; no staging folder.
        match before {
            Some(before) => assert_eq!(files(&dest), before),
            None => assert!(!dest.exists()),
        }
        let hidden: Vec<String> = tree(&dir)
            .into_iter()
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(hidden.is_empty(), "{hidden:?}");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ctrl_c_keeps_a_sweeps_whole_runs_and_resume_continues() {
    let dir = scratch("sweep-ctrlc");
    let out_dir = dir.join("sweep");
    let out_arg = out_dir.to_str().unwrap().to_string();
    let args = [
        "sweep",
        WEB_TIER,
        "--set",
        "web.instances=3,4",
        "-r",
        "20",
        "-j",
        "1",
        "--duration",
        "5m",
        "--out",
        &out_arg,
    ];
    let mut child = Command::new(AWSIM)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first = out_dir.join("runs/web.instances=3/rep-1.json");
    assert!(wait_for(&mut child, || first.exists()));
    signal(&child, "INT");
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let kept = tree(&out_dir)
        .iter()
        .filter(|n| n.ends_with(".json") && n.contains("/rep-"))
        .count();
    assert!(kept >= 1);
    assert!(
        stderr.contains(&format!(
            "awsim: interrupted; {kept} of 40 runs are whole and kept in"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("--resume to continue"), "{stderr}");
    // Nothing that looks finished, nothing half written.
    let names = tree(&out_dir);
    assert!(
        !names
            .iter()
            .any(|n| n == "sweep.csv" || n.ends_with(".svg")),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.contains("/.") || n.starts_with('.')),
        "{names:?}"
    );
    // --resume runs only the rest.
    let mut resume: Vec<&str> = args.to_vec();
    resume.extend(["--resume", "-q"]);
    let out = awsim(&resume);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out_dir.join("sweep.csv").exists());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_fresh_sweep_replaces_an_earlier_one_and_a_resumed_one_keeps_only_its_runs() {
    let dir = scratch("sweep-fresh");
    let out_dir = dir.join("sweep");
    let out_arg = out_dir.to_str().unwrap();
    let sweep = |set: &str, replications: &str, extra: &[&str]| {
        let mut args = vec!["sweep", WEB_TIER, "--set", set, "-r", replications];
        args.extend_from_slice(&["--duration", "3m"]);
        args.extend_from_slice(&["-q", "--out", out_arg]);
        args.extend_from_slice(extra);
        let out = awsim(&args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    };
    sweep("web.instances=3,4", "2", &[]);
    sweep("web.instances=5", "2", &[]);
    let points = |names: Vec<String>| -> Vec<String> {
        names
            .into_iter()
            .filter(|n| n.starts_with("runs/") && n.matches('/').count() == 1)
            .collect()
    };
    assert_eq!(points(tree(&out_dir)), ["runs/web.instances=5"]);
    // Resumed with another grid: the old point's runs are kept for it, then the folder holds
    // exactly the new grid's.
    sweep("web.instances=5,6", "1", &["--resume"]);
    assert_eq!(
        points(tree(&out_dir)),
        ["runs/web.instances=5", "runs/web.instances=6"]
    );
    assert!(!out_dir.join("runs/web.instances=5/rep-2.json").exists());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn resume_trusts_nothing_when_sweep_json_does_not_say_how_the_runs_were_made() {
    let dir = scratch("sweep-manifest");
    let out_dir = dir.join("sweep");
    let out_arg = out_dir.to_str().unwrap();
    let args = [
        "sweep",
        WEB_TIER,
        "--set",
        "web.instances=3",
        "-r",
        "1",
        "--duration",
        "3m",
        "-q",
        "--out",
        out_arg,
        "--resume",
    ];
    assert_eq!(awsim(&args).status.code(), Some(0));
    fs::write(out_dir.join("sweep.json"), "{\"seed\": 42}").unwrap();
    let out = awsim(&args);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("sweep.json does not give `scenario_fnv1a64`"),
        "{}",
        text(&out.stderr)
    );
    fs::write(out_dir.join("sweep.json"), "{ truncated").unwrap();
    let out = awsim(&args);
    assert!(
        text(&out.stderr).contains("cannot be read"),
        "{}",
        text(&out.stderr)
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_planned_output_size_is_checked_before_anything_runs() {
    let dir = scratch("volume");
    let file = dir.join("fine.toml");
    let scenario = fs::read_to_string(WEB_TIER).unwrap().replacen(
        "[simulation]\n",
        "[simulation]\ninterval = \"1ns\"\n",
        1,
    );
    fs::write(&file, scenario).unwrap();
    let file_arg = file.to_str().unwrap();
    let web_tier = absolute(WEB_TIER);
    for args in [
        vec!["run", file_arg],
        vec!["run", &web_tier, "--duration", "36500d"],
        vec!["run", &web_tier, "--max-output", "10KB"],
    ] {
        let start = Instant::now();
        let out = awsim_in(&dir, &args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("this run's timeseries.csv would write about"),
            "{stderr}"
        );
        assert!(
            stderr.contains("sample less often with --interval"),
            "{stderr}"
        );
        assert!(stderr.contains("or allow it with --max-output"), "{stderr}");
        assert!(start.elapsed() < Duration::from_secs(60));
    }
    let out = awsim_in(&dir, &["run", &web_tier, "--duration", "36500d"]);
    assert!(text(&out.stderr).contains("GiB of output, more than the limit of 1GiB"));
    // A sweep of a hundred million runs.
    let out = awsim_in(
        &dir,
        &[
            "sweep",
            &web_tier,
            "--set",
            "web.instances=2",
            "-r",
            "100000000",
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    // Refused by the bound on replications before any size is planned.
    assert!(stderr.contains("100000000 is not in 1..=10000"), "{stderr}");
    assert_eq!(tree(&dir), ["fine.toml"], "nothing written");
    // Within the bounds, a sweep too big for its --max-output.
    let out = awsim_in(
        &dir,
        &[
            "sweep",
            &web_tier,
            "--set",
            "web.instances=2",
            "-r",
            "10000",
            "--max-output",
            "1MB",
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("this sweep's 10000 runs would write about"),
        "{stderr}"
    );
    assert!(
        stderr.contains("run fewer points or replications"),
        "{stderr}"
    );
    assert_eq!(tree(&dir), ["fine.toml"], "nothing written");
    // The limit can be raised.
    let out = awsim_in(
        &dir,
        &[
            "run",
            &web_tier,
            "--duration",
            "70s",
            "--max-output",
            "1KB",
            "-q",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = awsim_in(
        &dir,
        &[
            "run",
            &web_tier,
            "--duration",
            "70s",
            "--max-output",
            "1MB",
            "-q",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = awsim(&["run", WEB_TIER, "--max-output", "5 parsecs"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("invalid size \"5 parsecs\": units are"));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn csv_text_cannot_be_a_formula() {
    let dir = scratch("csv");
    let file = dir.join("s.toml");
    let scenario = fs::read_to_string(AUTOSCALING).unwrap().replacen(
        "name = \"cpu-50\"",
        "name = \"=HYPERLINK(1)\"",
        1,
    );
    fs::write(&file, scenario).unwrap();
    let out_dir = dir.join("out");
    let out = awsim(&[
        "run",
        file.to_str().unwrap(),
        "--duration",
        "3h",
        "--interval",
        "1m",
        "-q",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let csv = fs::read_to_string(out_dir.join("scaling_activities.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let mut policy_rows = 0;
    for row in reader.records() {
        let row = row.unwrap();
        for field in row.iter() {
            let formula = field.starts_with(['=', '+', '@', '\t', '\r'])
                || (field.starts_with('-') && field.parse::<f64>().is_err());
            assert!(!formula, "{field:?} in {csv}");
        }
        if row[5].starts_with("'=HYPERLINK(1): ") {
            policy_rows += 1;
        }
        // Numbers stay numbers.
        assert!(row[0].parse::<f64>().is_ok(), "{row:?}");
    }
    assert!(policy_rows > 0, "{csv}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn terminal_output_shows_control_characters_instead_of_obeying_them() {
    let dir = scratch("terminal");
    // A file name and a field value with escape sequences and a carriage return.
    let file = dir.join("evil\u{1b}[2J\r.toml");
    fs::write(&file, fs::read_to_string(WEB_TIER).unwrap()).unwrap();
    let out = awsim(&["check", file.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        stdout.contains("evil\\u{1b}[2J\\u{d}.toml: valid scenario"),
        "{stdout:?}"
    );
    // The name made from that file name is plain.
    assert!(stdout.contains("valid scenario `evil__2J_`"), "{stdout:?}");
    let scenario = fs::read_to_string(WEB_TIER).unwrap().replacen(
        "kind = \"alb\"",
        "kind = \"alb\\u001b]0;owned\\u0007\"",
        1,
    );
    fs::write(&file, scenario).unwrap();
    let out = awsim(&["check", file.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("unknown kind `alb\\u{1b}]0;owned\\u{7}`"),
        "{stderr:?}"
    );
    for c in ['\u{1b}', '\u{7}', '\r'] {
        assert!(!stderr.contains(c) && !stdout.contains(c), "{c:?}");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn record_writes_beside_the_run_folder_so_a_run_keeps_it() {
    let dir = scratch("record");
    let scenario = absolute(WEB_TIER);
    let out = awsim_in(&dir, &["record", &scenario, "--duration", "70s", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let trace = dir.join("output/web_tier-arrivals.csv");
    let recorded = fs::read(&trace).unwrap();
    let out = awsim_in(&dir, &["run", &scenario, "--duration", "70s", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(fs::read(&trace).unwrap(), recorded);
    assert!(dir.join("output/web_tier/summary.json").exists());
    fs::remove_dir_all(&dir).unwrap();
}
