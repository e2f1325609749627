//! Parsers for the published formats: AWS `ip-ranges.json`, the CloudFront list and
//! plain CIDR text lists.
//!
//! Every parser returns a [`Ranges`] with one [`SourceInfo`](crate::SourceInfo) and every
//! entry tagged. Errors say which input, where (a JSON path such as
//! `prefixes[1204].ip_prefix`, or `line 3, column 1`), the value and why. No parser panics,
//! whatever the bytes.

use alloc::format;
use alloc::string::{String, ToString};
use core::fmt;
use core::str::FromStr;

use crate::prefix::HostBits;
use crate::{Error, Ranges};

pub mod aws;
pub mod cloudfront;
pub mod sns;
pub mod text;

/// How strict to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// What to do with host bits (`10.0.0.1/8`): refuse (default) or mask.
    pub host_bits: HostBits,
    /// Refuse inputs with more entries than this (default 1,000,000; the AWS file has
    /// about 17,000).
    pub max_entries: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            host_bits: HostBits::Reject,
            max_entries: 1_000_000,
        }
    }
}

/// A published format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// AWS `ip-ranges.json`.
    Aws,
    /// The CloudFront list (`CLOUDFRONT_GLOBAL_IP_LIST`, `CLOUDFRONT_REGIONAL_EDGE_IP_LIST`).
    CloudFront,
    /// One prefix or address per line.
    Text,
}

impl Format {
    /// `aws`, `cloudfront` or `text`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Aws => "aws",
            Format::CloudFront => "cloudfront",
            Format::Text => "text",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "aws" => Ok(Format::Aws),
            "cloudfront" => Ok(Format::CloudFront),
            "text" | "cidr" => Ok(Format::Text),
            _ => Err(Error::Invalid(format!(
                "unknown source format {}: expected aws, cloudfront or text",
                crate::error::quote(s)
            ))),
        }
    }
}

/// Guesses the format from the first bytes: JSON with `CLOUDFRONT_` keys is the
/// CloudFront list, other JSON is AWS, anything else a text list.
pub fn detect(bytes: &[u8]) -> Format {
    let head = bytes.get(..bytes.len().min(4096)).unwrap_or(bytes);
    let first = head
        .iter()
        .copied()
        .find(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF);
    if first != Some(b'{') {
        return Format::Text;
    }
    let text = String::from_utf8_lossy(head);
    if text.contains("\"CLOUDFRONT_") && !text.contains("\"prefixes\"") {
        Format::CloudFront
    } else {
        Format::Aws
    }
}

/// Parses `bytes` as `format`, or as the detected format when `None`.
///
/// # Errors
/// [`Error::Parse`] saying where and what, for any input that is not valid.
pub fn parse(
    bytes: &[u8],
    name: &str,
    format: Option<Format>,
    opts: Options,
) -> Result<Ranges, Error> {
    match format.unwrap_or_else(|| detect(bytes)) {
        Format::Aws => aws::parse(bytes, name, opts),
        Format::CloudFront => cloudfront::parse(bytes, name, opts),
        Format::Text => text::parse(bytes, name, opts),
    }
}

pub(crate) fn parse_error(file: &str, at: impl ToString, msg: impl ToString) -> Error {
    Error::Parse {
        file: file.to_string(),
        at: at.to_string(),
        msg: msg.to_string(),
    }
}

/// Turns a serde_json error into one a user can act on, with its line and column.
pub(crate) fn json_error(file: &str, what: &str, e: &serde_json::Error) -> Error {
    let at = format!("line {}, column {}", e.line(), e.column());
    let msg = match e.classify() {
        serde_json::error::Category::Eof if e.line() <= 1 && e.column() == 0 => {
            return parse_error(file, "line 1", format!("file is empty: expected {what}"));
        }
        serde_json::error::Category::Eof => {
            format!("file ends early (truncated download?): {e}")
        }
        serde_json::error::Category::Syntax => format!("not valid JSON: {e}"),
        serde_json::error::Category::Data => format!("not the shape of {what}: {e}"),
        serde_json::error::Category::Io => format!("cannot read: {e}"),
    };
    // serde_json appends " at line L column C"; we already say where.
    let msg = match msg.rfind(" at line ") {
        Some(i) => msg.get(..i).unwrap_or(&msg).to_string(),
        None => msg,
    };
    parse_error(file, at, msg)
}

/// The input as text: JSON must be UTF-8. Validating it once up front lets serde_json
/// skip validating each string.
pub(crate) fn utf8<'a>(file: &str, what: &str, bytes: &'a [u8]) -> Result<&'a str, Error> {
    core::str::from_utf8(bytes).map_err(|e| {
        let upto = bytes.get(..e.valid_up_to()).unwrap_or_default();
        let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
        parse_error(
            file,
            format!("line {line}"),
            format!("not UTF-8 text: expected {what}"),
        )
    })
}

pub(crate) fn too_many(file: &str, max: usize) -> Error {
    parse_error(
        file,
        "entries",
        format!("more than {max} entries: refusing a file this large (raise the entry limit, --max-input-entries in the CLI, if it is genuine)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats() {
        assert_eq!(
            detect(br#"{"syncToken": "1", "prefixes": []}"#),
            Format::Aws
        );
        assert_eq!(
            detect(br#" {"CLOUDFRONT_GLOBAL_IP_LIST": []}"#),
            Format::CloudFront
        );
        assert_eq!(detect(b"10.0.0.0/8\n"), Format::Text);
        assert_eq!(detect(b""), Format::Text);
        assert_eq!("AWS".parse::<Format>().unwrap(), Format::Aws);
        assert!("xml"
            .parse::<Format>()
            .unwrap_err()
            .to_string()
            .contains("expected aws, cloudfront or text"));
    }
}
