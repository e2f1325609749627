//! Compiles the embedded data: every published list in `tests/data/` that commands use
//! when given no `--input`, as one matcher blob (tags and sources included), so the
//! binary carries a compact table instead of megabytes of JSON.

use std::path::Path;

use sha2::{Digest, Sha256};

use ipfence_core::source::{self, Label, Options};
use ipfence_core::{Matcher, Ranges};

/// (file under tests/data, the name it needs when its layout does not say whose it is).
/// Keep in step with README.md ("Embedded data").
const EMBEDDED: &[(&str, Option<&str>)] = &[
    ("aws/ip-ranges-2026-08-22-15-17-05.json", None),
    ("cloudfront/list-cloudfront-ips.json", None),
    ("google/goog.json", None),
    ("google/cloud.json", None),
    ("google/googlebot.json", Some("googlebot")),
    ("google/special-crawlers.json", Some("special-crawlers")),
    (
        "google/user-triggered-fetchers.json",
        Some("user-triggered-fetchers"),
    ),
    ("azure/ServiceTags_Public.json", None),
    ("github/meta.json", None),
    ("oracle/public_ip_ranges.json", None),
    ("atlassian/ip-ranges.json", None),
    ("fastly/public-ip-list.json", None),
    ("cloudflare/api-ips.json", None),
    ("zscaler/hub-cidr-recommended.json", None),
    ("digitalocean/google.csv", Some("digitalocean")),
    ("linode/geofeed.csv", Some("linode")),
];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let data = Path::new("tests/data");
    let mut all = Ranges::new();
    // The SHA-256 of each list's bytes, in source order: the version of a list that
    // carries none.
    let mut digests = String::new();
    for (file, label) in EMBEDDED {
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
