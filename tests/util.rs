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
    ipfence_env(args, stdin, &[])
}

/// [`ipfence`] with variables added to its environment.
pub fn ipfence_env(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ipfence"))
        .args(args)
        // "Today" is the embedded snapshot's day, so the stale-data warning (over 30 days)
        // depends on the fixtures, not on when the tests run.
        .env("IPFENCE_NOW", "2026-08-22")
        .envs(env.iter().copied())
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

/// The environment variable `scripts/test` sets: every test that needs a system tool
/// must run, so a missing tool fails the test instead of skipping it.
pub const FULL_TESTS: &str = "IPFENCE_FULL_TESTS";

/// Declares that the calling test needs `what` (a tool, a venv, a kernel feature), which
/// `present` checks. Returns true when it is there. When it is not: with
/// `IPFENCE_FULL_TESTS=1` (scripts/test) the test fails; otherwise (a bare `cargo test`)
/// it prints `skipped: <test>: <reason>` to stderr and returns false, and the test
/// returns at once:
///
/// ```ignore
/// if !needs("nft (scripts/setup-firewall-tools)", || on_path("nft")) {
///     return;
/// }
/// ```
#[track_caller]
pub fn needs(what: &str, present: impl FnOnce() -> bool) -> bool {
    if present() {
        return true;
    }
    let caller = std::panic::Location::caller();
    // libtest names each test's thread after the test (not with --test-threads=1).
    let test = match std::thread::current().name() {
        Some(name) if name != "main" => format!("{name} ({}:{})", caller.file(), caller.line()),
        _ => format!("{}:{}", caller.file(), caller.line()),
    };
    if std::env::var_os(FULL_TESTS).is_some_and(|v| v == "1") {
        panic!("{test}: needs {what}, which is missing ({FULL_TESTS}=1: every test must run)");
    }
    // Written to the process's stderr, past libtest's capture, so that a plain `cargo
    // test` lists what it skipped.
    let _ = writeln!(std::io::stderr(), "skipped: {test}: needs {what}");
    false
}

/// Whether `tool` is an executable file in a folder of `PATH`.
pub fn on_path(tool: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| {
        std::fs::metadata(dir.join(tool))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// A program in one of the project's Python venvs (`.venv/NAME/bin/PROGRAM`).
pub fn venv_bin(venv: &str, program: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(".venv")
        .join(venv)
        .join("bin")
        .join(program)
}

/// The oracles' venv (`json`, `ipaddress`, `netaddr`), made by scripts/setup-oracles.
#[track_caller]
pub fn needs_oracles() -> bool {
    needs(
        "the Python oracles in .venv/oracles (run scripts/setup-oracles)",
        || python().exists(),
    )
}

/// The Python of the oracles' venv; call [`needs_oracles`] first.
pub fn python() -> PathBuf {
    venv_bin("oracles", "python")
}
