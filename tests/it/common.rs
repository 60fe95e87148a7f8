//! Helpers the integration tests share: running the `awsim` binary and reading what it printed.

use std::process::{Command, Output};

/// Runs the `awsim` binary built for these tests with `args`, and waits for it.
pub fn awsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_awsim"))
        .args(args)
        .output()
        .expect("awsim runs")
}

/// What a process printed, as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
