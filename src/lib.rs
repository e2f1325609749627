//! `ipfence`: turn published cloud IP ranges into firewall rules and fast membership
//! answers. This library is a thin facade over [`ipfence_core`]; the `ipfence` binary
//! is the command-line tool.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use ipfence_core as core;

/// The embedded snapshot of AWS `ip-ranges.json` that commands use when given no input.
pub const EMBEDDED_AWS: &str = include_str!("../tests/data/aws/ip-ranges-2026-08-22-15-17-05.json");

/// The name shown for the embedded snapshot.
pub const EMBEDDED_AWS_NAME: &str = "embedded AWS ip-ranges.json";
