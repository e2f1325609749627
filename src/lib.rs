//! `ipfence`: turn published cloud IP ranges into firewall rules and fast membership
//! answers. This library is a thin facade over [`ipfence_core`]; the `ipfence` binary
//! is the command-line tool.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use ipfence_core as core;

/// The embedded data that commands use when given no input: every published list in
/// `tests/data/` (see `build.rs`), compiled into one matcher blob with its tags and
/// sources.
pub const EMBEDDED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/embedded.ipfence"));

/// `sha256:<hex>` of each embedded list's bytes, in the order of the blob's sources: the
/// version of a list that carries none.
pub const EMBEDDED_DIGESTS: &[&str] = include!(concat!(env!("OUT_DIR"), "/embedded_digests.rs"));

/// The embedded snapshot of AWS `ip-ranges.json` alone (tests and benchmarks compare with it).
pub const EMBEDDED_AWS: &str = include_str!("../tests/data/aws/ip-ranges-2026-08-22-15-17-05.json");

/// The name shown for the embedded snapshot.
pub const EMBEDDED_AWS_NAME: &str = "embedded AWS ip-ranges.json";
