//! The front door works as written: README.md's shell examples run against the built
//! binary (those that need no root, network or other tool) or name only subcommands and
//! flags that exist; its sample output is what the binary prints; the blob format's
//! document matches the module that owns the format; completions and man pages.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{data, ipfence, needs, on_path, tempdir, AWS_NEW};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The lines of every fenced block of `lang` in `text` (continuations joined), with the
/// line number each starts on.
fn blocks(text: &str, lang: &str) -> Vec<Vec<(usize, String)>> {
    let mut out = Vec::new();
    let mut current: Option<Vec<(usize, String)>> = None;
    let mut pending = String::new();
    for (i, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim_end() == format!("```{lang}") => current = Some(Vec::new()),
            None => {}
            Some(block) if line.starts_with("```") => {
                out.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                if let Some(head) = line.strip_suffix('\\') {
                    pending.push_str(head);
                    continue;
                }
                pending.push_str(line);
                if !pending.trim().is_empty() {
                    block.push((i + 1, std::mem::take(&mut pending)));
                }
                pending.clear();
            }
        }
    }
    assert!(current.is_none(), "an unterminated ```{lang} block");
    out
}

/// `line` without a trailing `# comment` (a `#` after whitespace, outside quotes).
fn strip_comment(line: &str) -> &str {
    let (mut single, mut double) = (false, false);
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\'' if !double => single = !single,
            b'"' if !single => double = !double,
            b'#' if !single && !double && (i == 0 || bytes[i - 1].is_ascii_whitespace()) => {
                return line[..i].trim_end();
            }
            _ => {}
        }
    }
    line.trim_end()
}

/// `cargo run --release -- ARGS` runs the binary this test built, as `ipfence ARGS`.
fn as_ipfence(line: &str) -> String {
    line.replace("cargo run --release -- ", "ipfence ")
}

/// The program of each simple command in `line`: the first word after the start, a
/// pipe, `;`, `&&`, `||`, `{`, `(` or `$(`.
fn programs(line: &str) -> Vec<String> {
    line.split(['|', ';', '&', '{', '}', '(', ')'])
        .filter_map(|part| part.split_whitespace().next())
        .filter(|w| *w != "$")
        .map(|w| w.trim_start_matches('$').to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Programs a README line may use and still run here: no root, network or other tool.
const RUNNABLE: [&str; 8] = [
    "ipfence", "echo", "printf", "cat", "head", "sort", "wc", "grep",
];

/// Each `ipfence SUBCOMMAND` of `line` with the long flags given to it.
fn invocations(line: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for part in line.split(['|', ';', '{', '}', '(', ')']) {
        let words: Vec<&str> = part.split_whitespace().collect();
        let Some(at) = words.iter().position(|w| *w == "ipfence") else {
            continue;
        };
        if at != 0 {
            continue; // `ipfence` as an argument (a name, a path), not the program
        }
        let Some(sub) = words.get(1) else {
            continue;
        };
        let flags = words[2..]
            .iter()
            .take_while(|w| !w.starts_with('>') && !w.starts_with("&&"))
            .filter(|w| w.starts_with("--"))
            .map(|w| w.split('=').next().unwrap().to_string())
            .collect();
        out.push((sub.to_string(), flags));
    }
    out
}

/// A folder whose `ipfence` is the binary under test, for `PATH`.
fn bin_dir(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_ipfence"), bin.join("ipfence")).unwrap();
    bin
}

/// The input files README examples name, from tests/data.
fn provide_inputs(dir: &Path) {
    for (name, rel) in [
        ("ip-ranges.json", AWS_NEW),
        ("new.json", AWS_NEW),
        ("old.json", "aws/ip-ranges-2026-07-23-16-17-05.json"),
    ] {
        std::fs::copy(data(rel), dir.join(name)).unwrap();
    }
}

/// Every README shell line that needs only ipfence and the shell runs and exits 0 in a
/// temporary folder; every `ipfence SUB --flag` of every line (the ones that need root,
/// the network, the aws CLI or a build too) names a subcommand and flags its `--help`
/// has.
#[test]
fn readme_shell_examples_run_as_written() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let dir = tempdir();
    let bin = bin_dir(dir.path());
    provide_inputs(dir.path());
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let (mut ran, mut checked) = (0, 0);
    let mut helps = std::collections::BTreeMap::new();
    for block in blocks(&readme, "sh") {
        for (n, raw) in block {
            let line = as_ipfence(strip_comment(&raw));
            for (sub, flags) in invocations(&line) {
                let help = helps.entry(sub.clone()).or_insert_with(|| {
                    let r = ipfence(&[&sub, "--help"], "");
                    assert_eq!(
                        r.code, 0,
                        "README.md:{n}: `ipfence {sub}` is not a subcommand"
                    );
                    r.stdout
                });
                for flag in flags {
                    let known = help.match_indices(&flag).any(|(i, _)| {
                        let next = help[i + flag.len()..].chars().next();
                        !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
                    });
                    assert!(
                        known,
                        "README.md:{n}: `ipfence {sub}` has no flag {flag}:\n{raw}"
                    );
                }
                checked += 1;
            }
            // sync downloads and applies (network, root): checked above, not run.
            let runnable = programs(&line)
                .iter()
                .all(|p| RUNNABLE.contains(&p.as_str()))
                && !invocations(&line).iter().any(|(sub, _)| sub == "sync");
            if runnable {
                let out = Command::new("sh")
                    .args(["-e", "-c", &line])
                    .current_dir(dir.path())
                    .env("PATH", &path)
                    .env("IPFENCE_NOW", "2026-08-22")
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "README.md:{n} failed ({}):\n{raw}\n{}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                );
                ran += 1;
            }
        }
    }
    // The recipes exist, and most of the lines that can run here did.
    assert!(ran >= 6 && checked >= 12, "ran {ran}, checked {checked}");
}

/// The sample output README shows (a ```text block starting with `$ ipfence ...`) is
/// what the binary prints.
#[test]
fn readme_sample_output_is_what_ipfence_prints() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut seen = 0;
    for block in blocks(&readme, "text") {
        let Some(((n, first), rest)) = block.split_first() else {
            continue;
        };
        let Some(command) = first.strip_prefix("$ ipfence ") else {
            continue;
        };
        let args: Vec<&str> = command.split_whitespace().collect();
        let r = ipfence(&args, "");
        let want: Vec<&str> = rest.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            r.stdout.lines().collect::<Vec<_>>(),
            want,
            "README.md:{n}: `ipfence {command}` prints otherwise"
        );
        seen += 1;
    }
    assert!(seen >= 1, "README.md shows no sample output");
}

/// docs/blob-format.md's layout table is the one `core/src/matcher/format.rs` documents.
#[test]
fn blob_format_document_matches_the_module() {
    let module = std::fs::read_to_string(root().join("core/src/matcher/format.rs")).unwrap();
    let module_doc: String = module
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| format!("{}\n", l.strip_prefix(' ').unwrap_or(l)))
        .collect();
    let doc = std::fs::read_to_string(root().join("docs/blob-format.md")).unwrap();
    let table = |text: &str| -> Vec<String> {
        blocks(text, "text")
            .into_iter()
            .next()
            .expect("a ```text layout table")
            .into_iter()
            .map(|(_, l)| l)
            .collect()
    };
    assert_eq!(
        table(&doc),
        table(&module_doc),
        "docs/blob-format.md: copy the layout table from core/src/matcher/format.rs"
    );
    let version = module
        .lines()
        .find_map(|l| l.strip_prefix("pub(crate) const VERSION: u32 = "))
        .unwrap()
        .trim_end_matches(';');
    assert!(
        doc.starts_with(&format!(
            "# The compiled matcher format (blob format {version})"
        )),
        "docs/blob-format.md names another format version than {version}"
    );
}

/// Every file README.md, CONTRIBUTING.md and docs/ link to exists.
#[test]
fn front_door_links_resolve() {
    let mut files = vec![root().join("README.md"), root().join("CONTRIBUTING.md")];
    for e in std::fs::read_dir(root().join("docs")).unwrap() {
        files.push(e.unwrap().path());
    }
    files.push(root().join("ffi/README.md"));
    files.push(root().join("wasm/README.md"));
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, _) in text.match_indices("](") {
            let target = &text[i + 2..];
            let target = &target[..target.find(')').unwrap()];
            if target.starts_with("http") || target.starts_with('#') {
                continue;
            }
            let path = target.split('#').next().unwrap();
            let resolved = file.parent().unwrap().join(path);
            assert!(
                resolved.exists(),
                "{}: link to {target}, which does not exist",
                file.display()
            );
        }
    }
}

#[test]
fn completions_name_every_subcommand() {
    let subcommands = [
        "lookup",
        "aggregate",
        "diff",
        "services",
        "sources",
        "compile",
        "export",
        "sync",
        "completions",
        "man",
    ];
    for (shell, marker) in [
        ("bash", "_ipfence()"),
        ("zsh", "#compdef ipfence"),
        ("fish", "complete -c ipfence"),
    ] {
        let r = ipfence(&["completions", shell], "");
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(r.stdout.contains(marker), "{shell}: {marker} missing");
        for sub in subcommands {
            assert!(r.stdout.contains(sub), "{shell} completions lack {sub}");
        }
        assert!(
            r.stdout.contains("--provider") || r.stdout.contains("-l provider"),
            "{shell}: flags missing"
        );
    }
    let r = ipfence(&["completions", "tcsh"], "");
    assert_eq!(r.code, 2, "an unknown shell is an error");
    if needs("bash, to check the completion script's syntax", || {
        on_path("bash")
    }) {
        let dir = tempdir();
        let script = dir.path().join("ipfence.bash");
        std::fs::write(&script, ipfence(&["completions", "bash"], "").stdout).unwrap();
        let ok = Command::new("bash")
            .arg("-n")
            .arg(&script)
            .status()
            .unwrap();
        assert!(ok.success(), "bash -n refuses the completion script");
    }
}

#[test]
fn man_pages_for_the_command_and_each_subcommand() {
    let r = ipfence(&["man"], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(".TH ipfence 1"), "{}", &r.stdout[..200]);
    assert!(r.stdout.contains("lookup"));

    let dir = tempdir();
    let d = dir.path().to_str().unwrap();
    let r = ipfence(&["man", "--dir", d], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    pages.sort();
    assert_eq!(
        pages,
        [
            "ipfence-aggregate.1",
            "ipfence-compile.1",
            "ipfence-completions.1",
            "ipfence-diff.1",
            "ipfence-export.1",
            "ipfence-grep.1",
            "ipfence-lookup.1",
            "ipfence-man.1",
            "ipfence-services.1",
            "ipfence-sources.1",
            "ipfence-sync.1",
            "ipfence-verify-bot.1",
            "ipfence.1",
        ]
    );
    let lookup = std::fs::read_to_string(dir.path().join("ipfence-lookup.1")).unwrap();
    assert!(lookup.contains(".TH ipfence-lookup 1"));
    assert!(
        lookup.contains("\\-\\-provider"),
        "the flags are documented"
    );

    let missing = dir.path().join("nope");
    let r = ipfence(&["man", "--dir", missing.to_str().unwrap()], "");
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
}
