//! The one error type of `ipfence-core`.

use alloc::string::String;

/// Everything that can go wrong in `ipfence-core`, in words a user can act on.
///
/// Each variant says **what** (the offending value, truncated), **where** (file and
/// JSON path or line:column, or a blob offset) and **why**.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A source file (published ranges, CIDR list) could not be read.
    ///
    /// `at` is a JSON path (`prefixes[1204].ip_prefix`) or `line 3, column 7`.
    #[error("{file}: {at}: {msg}")]
    Parse {
        /// The name of the input (file name, `<stdin>`, `embedded ...`).
        file: String,
        /// Where in the input.
        at: String,
        /// What is wrong and, where possible, what to do.
        msg: String,
    },
    /// A single prefix or address given on its own (command line, API call) is invalid.
    #[error("{0}")]
    Prefix(String),
    /// A compiled blob is corrupt, truncated, of another version or hostile.
    #[error("blob: offset {offset}: {msg}")]
    Blob {
        /// Byte offset of the problem inside the blob.
        offset: usize,
        /// What is wrong.
        msg: String,
    },
    /// A name the data or the library does not have: a service, region or provider a
    /// filter names, a source format.
    #[error("unknown {what} {name}: {known}")]
    UnknownName {
        /// What kind of name: `service`, `region`, `provider`, `source format`, ...
        what: &'static str,
        /// The name as given, quoted and truncated.
        name: String,
        /// Why, and the valid names (`the input has none; known: AMAZON, EC2, ...`).
        known: String,
    },
    /// A limit of the format or of the library was reached (2^31 prefixes, 4 GiB of tag
    /// strings, ...).
    #[error("{0}")]
    Limit(String),
    /// A caller's output buffer is smaller than what is to be written.
    #[error("output buffer of {have} bytes is too small: {need} bytes needed")]
    BufferTooSmall {
        /// Bytes needed.
        need: usize,
        /// Bytes given.
        have: usize,
    },
    /// A request that cannot be met (e.g. a budget of zero prefixes for a non-empty set,
    /// a malformed source name).
    #[error("{0}")]
    Invalid(String),
}

/// Shortens `value` to at most 80 characters for an error message, quoting it.
pub(crate) fn quote(value: &str) -> String {
    use core::fmt::Write;
    let mut out = String::new();
    let mut chars = value.chars();
    let short: String = chars.by_ref().take(80).collect();
    let _ = write!(out, "{short:?}");
    if chars.next().is_some() {
        out.pop();
        out.push_str("...\"");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_truncates_long_values() {
        let long = "x".repeat(200);
        let q = quote(&long);
        assert!(q.len() < 100);
        assert!(q.ends_with("...\""));
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
    }
}
