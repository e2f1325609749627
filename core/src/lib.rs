//! Parsers for published cloud IP ranges, exact prefix-set algebra, diffs between
//! versions and a compiled longest-prefix-match matcher, for `no_std` + `alloc`.
//!
//! ```
//! use ipfence_core::{source, Filter};
//! let json = r#"{"syncToken": "1", "createDate": "2026-01-01-00-00-00",
//!   "prefixes": [{"ip_prefix": "3.5.140.0/22", "region": "ap-northeast-2",
//!                 "service": "AMAZON", "network_border_group": "ap-northeast-2"}],
//!   "ipv6_prefixes": []}"#;
//! let ranges = source::aws::parse(json.as_bytes(), "ip-ranges.json", Default::default())?;
//! let set = Filter::default().services(["AMAZON"]).select(&ranges).to_set();
//! assert!(set.contains("3.5.140.2".parse().unwrap()));
//! # Ok::<(), ipfence_core::Error>(())
//! ```
//!
//! # Crate features
//! - `std` (default): `std::error::Error` for [`Error`] and std support in dependencies.
//!   Without it the crate needs only `core` and `alloc`.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod budget;
pub mod crawler;
pub mod diff;
mod error;
pub mod filter;
pub mod matcher;
pub mod prefix;
pub mod ranges;
pub mod set;
pub mod source;

pub use error::Error;
pub use filter::{Family, Filter};
pub use ipnet::{IpNet, Ipv4Net, Ipv6Net};
pub use matcher::{Match, Matcher};
pub use ranges::{Entry, Ranges, SourceInfo, Tags};
pub use set::PrefixSet;
