//! Render prefix sets as firewall and AWS rules: nftables, ipset + iptables, pf, AWS WAF
//! IP sets, VPC prefix lists and security-group rules, in full and as incremental
//! updates between two versions (no_std + alloc).
//!
//! Every format goes through one door, [`export`], with a [`Request`]: the new set, the
//! old one for an update, a header describing the data, and flat [`Options`] that the
//! CLI, the wasm package and the C API fill the same way.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

use alloc::string::String;
use alloc::vec::Vec;
use ipfence_core::{PrefixSet, SourceInfo};

pub mod aws;
pub mod ipset;
pub mod iptables;
pub mod nftables;
pub mod pf;

/// Every output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// `nft -f` input.
    Nftables,
    /// `ipset restore` input.
    Ipset,
    /// `iptables-restore` / `ip6tables-restore` input.
    Iptables,
    /// pf.conf table / `pfctl -T` file.
    Pf,
    /// AWS WAFv2 IP set payloads (`--cli-input-json`) or CloudFormation.
    AwsWaf,
    /// AWS VPC customer-managed prefix list payloads.
    AwsPrefixList,
    /// AWS security-group `--ip-permissions` payloads.
    AwsSecurityGroup,
}

/// What is known about the data being rendered, for the header comment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Header<'a> {
    /// The inputs (name, format, createDate, syncToken).
    pub sources: &'a [SourceInfo],
    /// The filter, as the user gave it (e.g. `service=API_GATEWAY family=ipv4`).
    pub filter: &'a str,
}

/// One export: the new set, the old set for an incremental update, the header, options.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The set to render (already selected and filtered).
    pub set: &'a PrefixSet,
    /// For an incremental update: the set currently loaded.
    pub old: Option<&'a PrefixSet>,
    /// Header data.
    pub header: Header<'a>,
    /// Format options.
    pub options: &'a Options,
}

/// Flat options shared by every format; each format documents which it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Base name of the table/set/IP set/prefix list (validated per format).
    pub name: String,
    /// Variant of the output (format-specific; e.g. nftables `full|sets|replace`).
    pub style: Option<String>,
    /// Destination ports for rules (empty: all).
    pub ports: Vec<u16>,
    /// Protocol for rules: `tcp`, `udp`, ...
    pub protocol: String,
    /// WAF scope: `REGIONAL` or `CLOUDFRONT`.
    pub scope: String,
    /// Maximum entries per object (WAF: 10,000 addresses; security group rules: 60;
    /// prefix list max entries); `None` for the format's default.
    pub max_entries: Option<usize>,
    /// When a set is over `max_entries`: `true` fits it into the budget (admits extra
    /// addresses, reported), `false` splits it across several objects.
    pub summarize: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            name: String::from("ipfence"),
            style: None,
            ports: Vec::new(),
            protocol: String::from("tcp"),
            scope: String::from("REGIONAL"),
            max_entries: None,
            summarize: false,
        }
    }
}

/// Everything that can go wrong while rendering.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A name the target tool would reject or misread.
    #[error("{format}: name {name}: {why}")]
    Name {
        /// Format whose rules the name breaks.
        format: &'static str,
        /// The name, quoted.
        name: String,
        /// Which rule it breaks and what is allowed.
        why: String,
    },
    /// An option value that does not fit the format.
    #[error("{format}: {msg}")]
    Option {
        /// Format.
        format: &'static str,
        /// What is wrong and what to do.
        msg: String,
    },
    /// An error of the core (e.g. from fitting to a budget).
    #[error(transparent)]
    Core(#[from] ipfence_core::Error),
}

/// The result of one export: the text to write plus notes for the user (e.g. "split into
/// 2 IP sets", "summarized: 1,024 extra addresses allowed").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    /// The file contents.
    pub text: String,
    /// Human-readable notes, one per line, for stderr.
    pub notes: Vec<String>,
}
