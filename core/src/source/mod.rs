//! Parsers for the published formats: AWS `ip-ranges.json`, the CloudFront list,
//! Google's layout, Azure Service Tags, GitHub meta, Oracle, Atlassian, Fastly,
//! Cloudflare, Zscaler, RFC 8805 geofeeds and plain CIDR text lists.
//!
//! Every parser returns a [`Ranges`] with one [`SourceInfo`](crate::SourceInfo) and every
//! entry tagged. Errors say which input, where (a JSON path such as
//! `prefixes[1204].ip_prefix`, or `line 3, column 1`), the value and why. No parser panics,
//! whatever the bytes.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use serde::Deserialize;

use crate::prefix::HostBits;
use crate::{Error, Ranges, Tags};

pub mod atlassian;
pub mod aws;
pub mod azure;
pub mod cloudflare;
pub mod cloudfront;
pub mod fastly;
pub mod geofeed;
pub mod github;
pub mod google;
pub mod oracle;
mod scan;
pub mod sns;
pub mod text;
pub mod zscaler;

/// How strict to be, and how to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// What to do with host bits (`10.0.0.1/8`): refuse (default) or mask.
    pub host_bits: HostBits,
    /// Refuse inputs with more entries than this (default 1,000,000; the AWS file has
    /// about 17,000).
    pub max_entries: usize,
    /// Runs two parts of a large file's parse at once (see [`Join`]); `None`: one after
    /// the other.
    pub join: Option<Join>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            host_bits: HostBits::Reject,
            max_entries: 1_000_000,
            join: None,
        }
    }
}

/// Runs both closures, each once, and returns when both have: a caller with threads runs
/// the second on another core. The core has no threads, so the parser of a large file
/// (Azure Service Tags, 4 MB) asks for them this way; the result is the same either way.
#[derive(Clone, Copy)]
pub struct Join(pub fn(&mut (dyn FnMut() + Send), &mut (dyn FnMut() + Send)));

impl Join {
    /// One closure after the other, on the calling thread.
    pub const SEQUENTIAL: Join = Join(|a, b| {
        a();
        b();
    });
}

impl fmt::Debug for Join {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Join")
    }
}

/// Every `Join` is equal: how a parse runs does not change what it reads.
impl PartialEq for Join {
    fn eq(&self, _: &Join) -> bool {
        true
    }
}

impl Eq for Join {}

/// A published layout: a name, a cheap sniff on its distinctive keys and a parser.
/// [`Format::ALL`] is the one registry: detection, `--source-format`, the C enum and the
/// wasm constructors all come from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// AWS `ip-ranges.json`.
    Aws,
    /// The CloudFront list (`CLOUDFRONT_GLOBAL_IP_LIST`, `CLOUDFRONT_REGIONAL_EDGE_IP_LIST`).
    CloudFront,
    /// Google's layout: `goog.json`, `cloud.json` and the crawler lists (also used by
    /// Bing and OpenAI).
    Google,
    /// Azure Service Tags (`ServiceTags_Public_YYYYMMDD.json` and the other clouds').
    Azure,
    /// GitHub's meta API answer (`api.github.com/meta`).
    GitHub,
    /// Oracle Cloud `public_ip_ranges.json`.
    Oracle,
    /// Atlassian `ip-ranges.json`.
    Atlassian,
    /// Fastly's `public-ip-list`.
    Fastly,
    /// Cloudflare's API answer (`client/v4/ips`); its text lists are [`Format::Text`].
    Cloudflare,
    /// Zscaler's hub prefixes (`hubPrefixes`).
    Zscaler,
    /// An RFC 8805 geofeed (`prefix,country,region,city,postal code` lines).
    Geofeed,
    /// One prefix or address per line.
    Text,
}

/// What the registry holds for each format.
struct Unit {
    name: &'static str,
    /// Other names `--source-format` takes.
    aliases: &'static [&'static str],
    /// What the file is, for messages.
    what: &'static str,
    /// Whether the first bytes (as text) show this layout's distinctive keys.
    sniff: fn(&str) -> bool,
    parse: Parser,
}

/// A layout's parser: the bytes, the input's name, its label if named, the options.
type Parser = fn(&[u8], &str, Option<&Label<'_>>, Options) -> Result<Ranges, Error>;

fn has(head: &str, key: &str) -> bool {
    head.contains(key)
}

impl Format {
    /// Every format, in detection order: geofeeds first (their sniff wants a first data
    /// line `prefix,...`, which JSON never has, while a geofeed's comments could quote a
    /// JSON layout's key), JSON layouts by their keys, then plain text, which takes
    /// anything.
    pub const ALL: &'static [Format] = &[
        Format::Geofeed,
        Format::Aws,
        Format::CloudFront,
        Format::Google,
        Format::Azure,
        Format::GitHub,
        Format::Oracle,
        Format::Atlassian,
        Format::Fastly,
        Format::Cloudflare,
        Format::Zscaler,
        Format::Text,
    ];

    /// The registry: one unit per format.
    fn unit(self) -> &'static Unit {
        match self {
            Format::Aws => &Unit {
                name: "aws",
                aliases: &[],
                what: "AWS ip-ranges.json",
                sniff: |h| {
                    has(h, "\"ip_prefix\"") || has(h, "\"ipv6_prefix\"") || has(h, "\"createDate\"")
                },
                parse: |b, n, l, o| only(aws::parse(b, n, o)?, l, "aws"),
            },
            Format::CloudFront => &Unit {
                name: "cloudfront",
                aliases: &[],
                what: "the CloudFront list",
                sniff: |h| has(h, "\"CLOUDFRONT_") && !has(h, "\"prefixes\""),
                parse: |b, n, l, o| only(cloudfront::parse(b, n, o)?, l, "aws"),
            },
            Format::Google => &Unit {
                name: "google",
                aliases: &["bing", "openai", "crawlers"],
                what: "Google's prefix list (goog.json, cloud.json, crawler lists)",
                sniff: |h| {
                    has(h, "\"ipv4Prefix\"")
                        || has(h, "\"ipv6Prefix\"")
                        || has(h, "\"creationTime\"")
                },
                parse: google::parse,
            },
            Format::Azure => &Unit {
                name: "azure",
                aliases: &["servicetags"],
                what: "Azure Service Tags",
                sniff: |h| has(h, "\"changeNumber\"") && has(h, "\"values\""),
                parse: |b, n, l, o| only(azure::parse(b, n, o)?, l, "azure"),
            },
            Format::GitHub => &Unit {
                name: "github",
                aliases: &[],
                what: "GitHub's meta API answer",
                sniff: |h| {
                    has(h, "\"verifiable_password_authentication\"")
                        || (has(h, "\"hooks\"") && has(h, "\"actions\""))
                },
                parse: |b, n, l, o| only(github::parse(b, n, o)?, l, "github"),
            },
            Format::Oracle => &Unit {
                name: "oracle",
                aliases: &["oci"],
                what: "Oracle Cloud public_ip_ranges.json",
                sniff: |h| {
                    has(h, "\"last_updated_timestamp\"")
                        || (has(h, "\"regions\"") && has(h, "\"cidrs\""))
                },
                parse: |b, n, l, o| only(oracle::parse(b, n, o)?, l, "oracle"),
            },
            Format::Atlassian => &Unit {
                name: "atlassian",
                aliases: &[],
                what: "Atlassian ip-ranges.json",
                sniff: |h| {
                    has(h, "\"items\"") && (has(h, "\"mask_len\"") || has(h, "\"creationDate\""))
                },
                parse: |b, n, l, o| only(atlassian::parse(b, n, o)?, l, "atlassian"),
            },
            Format::Fastly => &Unit {
                name: "fastly",
                aliases: &[],
                what: "Fastly's public-ip-list",
                sniff: |h| has(h, "\"addresses\"") && has(h, "\"ipv6_addresses\""),
                parse: |b, n, l, o| only(fastly::parse(b, n, o)?, l, "fastly"),
            },
            Format::Cloudflare => &Unit {
                name: "cloudflare",
                aliases: &[],
                what: "Cloudflare's API answer (client/v4/ips)",
                sniff: |h| has(h, "\"ipv4_cidrs\"") || has(h, "\"ipv6_cidrs\""),
                parse: |b, n, l, o| only(cloudflare::parse(b, n, o)?, l, "cloudflare"),
            },
            Format::Zscaler => &Unit {
                name: "zscaler",
                aliases: &[],
                what: "Zscaler's hub prefix list",
                sniff: |h| has(h, "\"hubPrefixes\""),
                parse: |b, n, l, o| only(zscaler::parse(b, n, o)?, l, "zscaler"),
            },
            Format::Geofeed => &Unit {
                name: "geofeed",
                aliases: &["rfc8805", "csv"],
                what: "an RFC 8805 geofeed",
                sniff: geofeed::sniff,
                parse: geofeed::parse,
            },
            Format::Text => &Unit {
                name: "text",
                aliases: &["cidr"],
                what: "a CIDR text list",
                sniff: |_| true,
                parse: |b, n, l, o| Ok(relabel(text::parse(b, n, o)?, l)),
            },
        }
    }

    /// The name `--source-format` takes: `aws`, `cloudfront`, `google`, `text`, ...
    pub fn name(self) -> &'static str {
        self.unit().name
    }

    /// What the file is, in words (`AWS ip-ranges.json`).
    pub fn what(self) -> &'static str {
        self.unit().what
    }

    /// Every name, comma-separated, for messages and help texts.
    pub fn names() -> String {
        let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        names.join(", ")
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
        let lower = s.to_ascii_lowercase();
        Format::ALL
            .iter()
            .copied()
            .find(|f| f.name() == lower || f.unit().aliases.contains(&lower.as_str()))
            .ok_or_else(|| Error::UnknownName {
                what: "source format",
                name: crate::error::quote(s),
                known: Format::names(),
            })
    }
}

/// Who an input is, when its user names it (`--input googlebot=FILE`) or its URL does:
/// the provider, and for a list that stands for one service (a crawler list), that
/// service. Layouts that say who they are (AWS, Azure, ...) only check the name;
/// layouts that do not (CIDR text, geofeeds, the crawler lists) take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label<'a> {
    /// The name as given, lowercase.
    pub name: &'a str,
    /// The provider it stands for: `google` for `googlebot`, else the name itself.
    pub provider: &'a str,
    /// The service its entries get, for a list of one service (`googlebot`).
    pub service: Option<&'a str>,
}

/// Names with a meaning of their own: (name, provider, service of the whole list).
/// Any other name is a provider of its own (a geofeed's or a text list's owner).
pub const KNOWN_LABELS: &[(&str, &str, Option<&str>)] = &[
    ("aws", "aws", None),
    ("cloudfront", "aws", None),
    ("google", "google", None),
    ("googlebot", "google", Some("googlebot")),
    ("special-crawlers", "google", Some("special-crawlers")),
    (
        "user-triggered-fetchers",
        "google",
        Some("user-triggered-fetchers"),
    ),
    (
        "user-triggered-fetchers-google",
        "google",
        Some("user-triggered-fetchers-google"),
    ),
    (
        "user-triggered-agents",
        "google",
        Some("user-triggered-agents"),
    ),
    ("bingbot", "bing", Some("bingbot")),
    ("gptbot", "openai", Some("gptbot")),
    ("chatgpt-user", "openai", Some("chatgpt-user")),
    ("oai-searchbot", "openai", Some("oai-searchbot")),
    ("searchbot", "openai", Some("oai-searchbot")),
];

/// Where each provider publishes its list, by label: [`official_url`] answers the first
/// row of a label (Google's `cloud.json` before its `goog.json`). Azure is absent: its
/// weekly file's name changes (`ServiceTags_Public_YYYYMMDD.json`), so it has no stable
/// address.
pub const OFFICIAL_URLS: &[(&str, &str)] = &[
    ("aws", "https://ip-ranges.amazonaws.com/ip-ranges.json"),
    (
        "cloudfront",
        "https://d7uri8nf7uskq.cloudfront.net/tools/list-cloudfront-ips",
    ),
    ("google", "https://www.gstatic.com/ipranges/cloud.json"),
    ("google", "https://www.gstatic.com/ipranges/goog.json"),
    (
        "googlebot",
        "https://developers.google.com/static/search/apis/ipranges/googlebot.json",
    ),
    (
        "special-crawlers",
        "https://developers.google.com/static/search/apis/ipranges/special-crawlers.json",
    ),
    (
        "user-triggered-fetchers",
        "https://developers.google.com/static/search/apis/ipranges/user-triggered-fetchers.json",
    ),
    ("bingbot", "https://www.bing.com/toolbox/bingbot.json"),
    ("gptbot", "https://openai.com/gptbot.json"),
    ("chatgpt-user", "https://openai.com/chatgpt-user.json"),
    ("oai-searchbot", "https://openai.com/searchbot.json"),
    ("github", "https://api.github.com/meta"),
    (
        "oracle",
        "https://docs.oracle.com/en-us/iaas/tools/public_ip_ranges.json",
    ),
    ("fastly", "https://api.fastly.com/public-ip-list"),
    ("cloudflare", "https://api.cloudflare.com/client/v4/ips"),
    ("atlassian", "https://ip-ranges.atlassian.com/"),
    (
        "zscaler",
        "https://config.zscaler.com/api/zscaler.net/hubs/cidr/json/recommended",
    ),
];

/// The official address of the list a label names (see [`OFFICIAL_URLS`]).
pub fn official_url(label: &str) -> Option<&'static str> {
    OFFICIAL_URLS
        .iter()
        .find(|(l, _)| *l == label)
        .map(|&(_, u)| u)
}

impl<'a> Label<'a> {
    /// Reads a name: 1 to 64 of `a-z`, `0-9`, `-`, `_`, `.` (lowercase, so that it
    /// compares as the filters do).
    ///
    /// # Errors
    /// [`Error::UnknownName`] for a name outside that alphabet.
    pub fn new(name: &'a str) -> Result<Label<'a>, Error> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
        if !ok {
            return Err(Error::UnknownName {
                what: "source name",
                name: crate::error::quote(name),
                known: String::from(
                    "1 to 64 of a-z 0-9 - _ . (for example googlebot, cloudflare, corp-vpn)",
                ),
            });
        }
        let (provider, service) = KNOWN_LABELS
            .iter()
            .find(|(n, _, _)| *n == name)
            .map_or((name, None), |&(_, p, s)| (p, s));
        Ok(Label {
            name,
            provider,
            service,
        })
    }
}

/// A self-describing layout with a name: the name must be its provider's.
fn only(r: Ranges, label: Option<&Label<'_>>, provider: &str) -> Result<Ranges, Error> {
    match label {
        Some(l) if l.provider != provider || l.service.is_some() => {
            let name = r.sources.first().map_or("", |s| s.name.as_str());
            Err(parse_error(
                name,
                "top level",
                format!(
                    "the file says it is {provider}'s, but it was named {}: name it {provider} or leave the name out",
                    crate::error::quote(l.name)
                ),
            ))
        }
        _ => Ok(r),
    }
}

/// Gives every entry and source of `r` the label's provider (and service, for a list of
/// one service).
pub(crate) fn relabel(mut r: Ranges, label: Option<&Label<'_>>) -> Ranges {
    let Some(l) = label else { return r };
    let mut out = Ranges {
        sources: core::mem::take(&mut r.sources),
        ..Ranges::default()
    };
    for s in &mut out.sources {
        s.provider = String::from(l.provider);
    }
    for e in &r.entries {
        let t = r.tags(e);
        let tags = Tags {
            provider: l.provider,
            service: l.service.unwrap_or(t.service),
            ..t
        };
        out.push(e.prefix, tags);
    }
    out
}

/// The first bytes as text, for sniffing.
fn head(bytes: &[u8]) -> String {
    let head = bytes.get(..bytes.len().min(16 << 10)).unwrap_or(bytes);
    String::from_utf8_lossy(head).into_owned()
}

/// Tells the layout from the first bytes by each format's distinctive keys. JSON whose
/// keys match no layout is an error, never guessed to be AWS.
///
/// # Errors
/// [`Error::Parse`] for JSON of an unknown layout, listing the supported ones.
pub fn detect(bytes: &[u8], name: &str) -> Result<Format, Error> {
    let text = head(bytes);
    let first = text
        .trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        .chars()
        .next();
    let json = matches!(first, Some('{') | Some('['));
    for &f in Format::ALL {
        if f != Format::Text && (f.unit().sniff)(&text) {
            return Ok(f);
        }
    }
    if json {
        // Damaged JSON (a truncated download) is told as such, with its line and column.
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            return Err(json_error(name, "a published IP range list", &e));
        }
        return Err(parse_error(
            name,
            "top level",
            format!(
                "JSON of a layout ipfence does not know (supported: {}); name the format with --source-format if it is one of them",
                Format::names()
            ),
        ));
    }
    Ok(Format::Text)
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
    parse_labeled(bytes, name, format, None, opts)
}

/// [`parse`] for an input its user named (`--input googlebot=FILE`): see [`Label`].
///
/// # Errors
/// As [`parse`]; also a name that contradicts a self-describing file, and a list that
/// does not say whose it is (Google's crawler layout) given without a name.
pub fn parse_labeled(
    bytes: &[u8],
    name: &str,
    format: Option<Format>,
    label: Option<&Label<'_>>,
    opts: Options,
) -> Result<Ranges, Error> {
    let format = match format {
        Some(f) => f,
        None => detect(bytes, name)?,
    };
    (format.unit().parse)(bytes, name, label, opts)
}

/// A JSON string borrowed from the input when it has no escapes: serde borrows a
/// `Cow` only as a field of its own, not as an element of a `Vec<Cow<str>>`.
#[derive(Deserialize)]
pub(crate) struct Str<'a>(#[serde(borrow)] pub(crate) alloc::borrow::Cow<'a, str>);

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

/// Reads one published list of prefixes into `r`, every entry with `tags`; errors name
/// `path[i]`. `v6` is the family the list is for (`Some(true)` for an IPv6 list), `None`
/// for a list of both. Spaces around a prefix are accepted (unambiguous).
pub(crate) fn push_list(
    r: &mut Ranges,
    file: &str,
    path: &str,
    items: &[alloc::borrow::Cow<'_, str>],
    v6: Option<bool>,
    tags: Tags<'_>,
    opts: Options,
) -> Result<(), Error> {
    if r.len().saturating_add(items.len()) > opts.max_entries {
        return Err(too_many(file, opts.max_entries));
    }
    for (i, text) in items.iter().enumerate() {
        let at = || format!("{path}[{i}]");
        let net = crate::prefix::parse_prefix(text.trim(), opts.host_bits, false)
            .map_err(|m| parse_error(file, at(), m))?;
        let is_v6 = matches!(net, ipnet::IpNet::V6(_));
        if let Some(want) = v6.filter(|&w| w != is_v6) {
            let (is, list) = if want {
                ("IPv4", "IPv6")
            } else {
                ("IPv6", "IPv4")
            };
            return Err(parse_error(
                file,
                at(),
                format!(
                    "{} is an {is} prefix in the {list} list",
                    crate::error::quote(text)
                ),
            ));
        }
        r.push(net, tags);
    }
    Ok(())
}

pub(crate) fn too_many(file: &str, max: usize) -> Error {
    parse_error(
        file,
        "entries",
        format!("more than {max} entries: refusing a file this large (raise the entry limit, --max-input-entries in the CLI, if it is genuine)"),
    )
}

/// What every parser's tests check on its real file.
#[cfg(test)]
pub(crate) mod check {
    use super::{Error, Ranges};
    use alloc::string::ToString;

    /// The bytes a damaged-file test writes: JSON's structure, spaces, digits, letters, a
    /// control byte and a UTF-8 lead byte.
    pub(crate) const DAMAGE: &[u8] = b"\"\\{}[],: \t\n0a/.x\x01\xc3";

    /// Each cut of `file` at `cuts` is refused with its line (`cut.json: line ...`),
    /// never read as a shorter list and never a panic.
    pub(crate) fn cuts_are_refused(
        parse: impl Fn(&[u8], &str) -> Result<Ranges, Error>,
        file: &[u8],
        cuts: impl Iterator<Item = usize>,
    ) {
        for cut in cuts {
            let e = parse(&file[..cut], "cut.json").unwrap_err().to_string();
            assert!(e.starts_with("cut.json: line "), "{cut}: {e}");
        }
    }

    /// `file` with the byte at `at` (modulo its length) replaced by `with`, or removed:
    /// never a panic, and whatever is read has its host bits clear.
    pub(crate) fn damaged_is_safe(
        parse: impl Fn(&[u8], &str) -> Result<Ranges, Error>,
        file: &[u8],
        at: usize,
        with: u8,
        delete: bool,
    ) {
        let mut bytes = file.to_vec();
        let at = at % bytes.len();
        if delete {
            bytes.remove(at);
        } else {
            bytes[at] = with;
        }
        if let Ok(r) = parse(&bytes, "x.json") {
            for e in &r.entries {
                assert_eq!(e.prefix, e.prefix.trunc());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats() {
        let d = |b: &[u8]| detect(b, "x");
        assert_eq!(
            d(br#"{"syncToken": "1", "createDate": "x", "prefixes": []}"#).unwrap(),
            Format::Aws
        );
        assert_eq!(
            d(br#" {"CLOUDFRONT_GLOBAL_IP_LIST": []}"#).unwrap(),
            Format::CloudFront
        );
        assert_eq!(
            d(br#"{"syncToken": "1", "prefixes": [{"ipv4Prefix": "8.8.8.0/24"}]}"#).unwrap(),
            Format::Google
        );
        assert_eq!(d(b"10.0.0.0/8\n").unwrap(), Format::Text);
        assert_eq!(
            d(b"5.101.96.0/21,NL,NL-NH,Amsterdam,\n").unwrap(),
            Format::Geofeed
        );
        // A geofeed's comment quoting AWS's key does not make it AWS.
        assert_eq!(
            d(b"# \"ip_prefix\",\"alpha2code\"\n10.0.0.0/8,US\n").unwrap(),
            Format::Geofeed
        );
        assert_eq!(
            d(br#"{"addresses": ["1.2.3.0/24"], "ipv6_addresses": []}"#).unwrap(),
            Format::Fastly
        );
        assert_eq!(
            d(br#"{"result": {"ipv4_cidrs": [], "ipv6_cidrs": []}, "success": true}"#).unwrap(),
            Format::Cloudflare
        );
        assert_eq!(
            d(br#"{"cloudName":"zscaler.net","hubPrefixes":[]}"#).unwrap(),
            Format::Zscaler
        );
        assert_eq!(d(b"").unwrap(), Format::Text);
        // JSON is never guessed to be AWS because it has a `prefixes` key.
        let e = d(br#"{"prefixes": []}"#).unwrap_err().to_string();
        assert!(e.contains("layout ipfence does not know"), "{e}");
        assert!(e.contains("aws, cloudfront, google"), "{e}");
        assert!(e.contains("azure, github, oracle, atlassian"), "{e}");
        assert_eq!("AWS".parse::<Format>().unwrap(), Format::Aws);
        assert_eq!("bing".parse::<Format>().unwrap(), Format::Google);
        assert_eq!("rfc8805".parse::<Format>().unwrap(), Format::Geofeed);
        let e = "xml".parse::<Format>().unwrap_err().to_string();
        assert!(e.starts_with("unknown source format \"xml\""), "{e}");
    }

    #[test]
    fn every_real_file_is_detected() {
        let files: [(&[u8], Format); 17] = [
            (
                include_bytes!("../../../tests/data/aws/ip-ranges-2026-08-22-15-17-05.json"),
                Format::Aws,
            ),
            (
                include_bytes!("../../../tests/data/google/cloud.json"),
                Format::Google,
            ),
            (
                include_bytes!("../../../tests/data/google/goog.json"),
                Format::Google,
            ),
            (
                include_bytes!("../../../tests/data/google/googlebot.json"),
                Format::Google,
            ),
            (
                include_bytes!("../../../tests/data/google/special-crawlers.json"),
                Format::Google,
            ),
            (
                include_bytes!("../../../tests/data/google/user-triggered-fetchers.json"),
                Format::Google,
            ),
            (
                include_bytes!("../../../tests/data/azure/ServiceTags_Public.json"),
                Format::Azure,
            ),
            (
                include_bytes!("../../../tests/data/github/meta.json"),
                Format::GitHub,
            ),
            (
                include_bytes!("../../../tests/data/oracle/public_ip_ranges.json"),
                Format::Oracle,
            ),
            (
                include_bytes!("../../../tests/data/atlassian/ip-ranges.json"),
                Format::Atlassian,
            ),
            (
                include_bytes!("../../../tests/data/fastly/public-ip-list.json"),
                Format::Fastly,
            ),
            (
                include_bytes!("../../../tests/data/cloudflare/api-ips.json"),
                Format::Cloudflare,
            ),
            (
                include_bytes!("../../../tests/data/cloudflare/ips-v4"),
                Format::Text,
            ),
            (
                include_bytes!("../../../tests/data/cloudflare/ips-v6"),
                Format::Text,
            ),
            (
                include_bytes!("../../../tests/data/zscaler/hub-cidr-recommended.json"),
                Format::Zscaler,
            ),
            (
                include_bytes!("../../../tests/data/digitalocean/google.csv"),
                Format::Geofeed,
            ),
            (
                include_bytes!("../../../tests/data/linode/geofeed.csv"),
                Format::Geofeed,
            ),
        ];
        for (bytes, want) in files {
            assert_eq!(detect(bytes, "f").unwrap(), want);
            // Each sniff matches its own layout only, so detection order does not matter.
            for &other in Format::ALL {
                if other != want && other != Format::Text {
                    assert!(!(other.unit().sniff)(&head(bytes)), "{other} sniffs {want}");
                }
            }
            // The whole registry path reads it, with its provider.
            let r = parse(bytes, "f", None, Options::default());
            if want == Format::Google {
                continue; // The crawler lists need a name.
            }
            assert!(!r.unwrap().is_empty(), "{want}");
        }
    }

    #[test]
    fn names_label_text_lists() {
        let l = Label::new("corp-vpn").unwrap();
        let r = parse_labeled(b"10.0.0.0/8\n", "l", None, Some(&l), Options::default()).unwrap();
        assert_eq!(r.tags(&r.entries[0]).provider, "corp-vpn");
        assert_eq!(r.sources[0].provider, "corp-vpn");
        let r = parse(b"10.0.0.0/8\n", "l", None, Options::default()).unwrap();
        assert_eq!(r.tags(&r.entries[0]).provider, "text");
        assert!(Label::new("Bad Name").is_err());
        assert!(Label::new("").is_err());
        let aws = include_bytes!("../../../tests/data/aws/ip-ranges-2026-08-22-15-17-05.json");
        let g = Label::new("google").unwrap();
        let e = parse_labeled(aws, "a.json", None, Some(&g), Options::default()).unwrap_err();
        assert!(e.to_string().contains("name it aws"), "{e}");
    }
}
