//! Helpers for the integration tests: run the built `ipfence` binary, find fixtures.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// A fixture under tests/data.
pub fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

/// The newest AWS file (the embedded snapshot) and the one published just before it.
pub const AWS_NEW: &str = "aws/ip-ranges-2026-08-22-15-17-05.json";
pub const AWS_PREV: &str = "aws/ip-ranges-2026-08-22-11-57-05.json";

/// The result of one run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Runs `ipfence ARGS` with `stdin` as standard input.
pub fn ipfence(args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ipfence"))
        .args(args)
        // "Today" is the embedded snapshot's day, so the stale-data warning (over 30 days)
        // depends on the fixtures, not on when the tests run.
        .env("IPFENCE_NOW", "2026-08-22")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the ipfence binary runs");
    let mut input = child.stdin.take().expect("stdin is piped");
    // The command may exit before reading everything (an error): ignore EPIPE here.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    child.wait_with_output().expect("ipfence finishes").into()
}

/// A fresh temporary folder, removed when dropped.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary folder")
}

/// The Python of the oracles' venv (`json`, `ipaddress`, `netaddr`), made by
/// scripts/setup-oracles.
pub fn python() -> std::path::PathBuf {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/oracles/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup-oracles (scripts/test does)",
        p.display()
    );
    p
}
