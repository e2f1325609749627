//! Compiles the embedded data: every published list in `tests/data/` that commands use
//! when given no `--input`, as one matcher blob (tags and sources included), so the
//! binary carries a compact table instead of megabytes of JSON.

use std::path::Path;

use sha2::{Digest, Sha256};

use ipfence_core::source::{self, Label, Options};
use ipfence_core::{Matcher, Ranges};

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let data = Path::new("tests/data");
    let list = data.join("embedded.txt");
    println!("cargo::rerun-if-changed={}", list.display());
    let list = std::fs::read_to_string(&list).unwrap_or_else(|e| panic!("{}: {e}", list.display()));
    // Each line: a file under tests/data, then the name it needs when its layout does not
    // say whose it is.
    let embedded = list
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut words = l.split_whitespace();
            (words.next().unwrap_or_default(), words.next())
        });
    let mut all = Ranges::new();
    // The SHA-256 of each list's bytes, in source order: the version of a list that
    // carries none.
    let mut digests = String::new();
    for (file, label) in embedded {
        let path = data.join(file);
        println!("cargo::rerun-if-changed={}", path.display());
        let bytes =
            std::fs::read(&path).unwrap_or_else(|e| panic!("{}: cannot read: {e}", path.display()));
        let label = label.map(|l| Label::new(l).expect("a valid name"));
        let name = format!("embedded {file}");
        let hex: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        digests.push_str(&format!("    \"sha256:{hex}\",\n"));
        let r = source::parse_labeled(&bytes, &name, None, label.as_ref(), Options::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.sources.len(), 1, "{name}: one source per list");
        all.extend(&r);
    }
    let blob = Matcher::build(&all)
        .unwrap_or_else(|e| panic!("embedded data: {e}"))
        .to_bytes();
    let out = Path::new(&std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("embedded.ipfence");
    std::fs::write(&out, blob).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    let out = out.with_file_name("embedded_digests.rs");
    std::fs::write(&out, format!("&[\n{digests}]\n"))
        .unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}
