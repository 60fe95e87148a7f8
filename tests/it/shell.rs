//! Shell completions and man pages, generated from the clap definitions.

use std::process::Command;

use crate::common::{awsim, text};

const SUBCOMMANDS: [&str; 10] = [
    "run",
    "check",
    "sweep",
    "record",
    "import",
    "compare",
    "completions",
    "man",
    "schema",
    "kinds",
];

#[test]
fn every_shell_gets_a_script_naming_every_subcommand() {
    for (shell, marker) in [
        ("bash", "complete -F _awsim"),
        ("zsh", "#compdef awsim"),
        ("fish", "complete -c awsim"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let output = awsim(&["completions", shell]);
        assert!(output.status.success(), "{shell}: {}", text(&output.stderr));
        let script = text(&output.stdout);
        assert!(script.contains(marker), "{shell} script lacks `{marker}`");
        for sub in SUBCOMMANDS {
            assert!(script.contains(sub), "{shell} script lacks `{sub}`");
        }
        assert!(
            script.contains("max-output"),
            "{shell} script lacks run's flags"
        );
    }
}

#[test]
fn bash_completes_a_subcommand_and_a_flag() {
    if Command::new("bash").arg("--version").output().is_err() {
        eprintln!("SKIPPED bash_completes_a_subcommand_and_a_flag: no bash on this machine");
        return;
    }
    let dir = tempdir("bash-completion");
    let script = dir.join("awsim.bash");
    std::fs::write(&script, awsim(&["completions", "bash"]).stdout).unwrap();
    // Call the completion function as bash's `complete` would, on `awsim ru` and `awsim run --max-o`.
    let probe = format!(
        "source {}; \
         COMP_WORDS=(awsim ru); COMP_CWORD=1; _awsim awsim ru awsim; echo \"[${{COMPREPLY[*]}}]\"; \
         COMP_WORDS=(awsim run --max-o); COMP_CWORD=2; _awsim awsim --max-o run; echo \"[${{COMPREPLY[*]}}]\"",
        script.display()
    );
    let output = Command::new("bash")
        .args(["--norc", "-c", &probe])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let lines: Vec<String> = text(&output.stdout).lines().map(str::to_string).collect();
    assert_eq!(
        lines,
        ["[run]", "[--max-output]"],
        "{}",
        text(&output.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn man_pages_cover_every_subcommand() {
    let top = awsim(&["man"]);
    assert!(top.status.success(), "{}", text(&top.stderr));
    let page = text(&top.stdout);
    assert!(page.contains(".TH awsim 1 "), "{page}");
    for sub in SUBCOMMANDS {
        assert!(
            page.contains(&format!("awsim\\-{sub}(1)")),
            "awsim.1 does not refer to awsim-{sub}(1)"
        );
    }
    let run = text(&awsim(&["man", "run"]).stdout);
    assert!(run.contains(".TH awsim-run 1 "), "{run}");
    assert!(
        run.contains("\\-\\-max\\-output"),
        "awsim-run.1 lacks --max-output"
    );

    let dir = tempdir("man-pages");
    let written = awsim(&["man", "--dir", dir.to_str().unwrap()]);
    assert!(written.status.success(), "{}", text(&written.stderr));
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut expected: Vec<String> = SUBCOMMANDS.iter().map(|s| format!("awsim-{s}.1")).collect();
    expected.push("awsim.1".into());
    expected.sort();
    assert_eq!(files, expected);
    assert_eq!(
        std::fs::read(dir.join("awsim-run.1")).unwrap(),
        run.as_bytes()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_man_page_of_no_subcommand_names_the_nearest() {
    let output = awsim(&["man", "rnu"]);
    assert_eq!(output.status.code(), Some(2));
    let message = text(&output.stderr);
    assert!(
        message.contains("no subcommand `rnu`; did you mean `run`?"),
        "{message}"
    );
    assert!(output.stdout.is_empty());
}

fn tempdir(name: &str) -> std::path::PathBuf {
    crate::common::scratch("shell", name)
}
