//! Render prefix sets as firewall and AWS rules: nftables, ipset + iptables, pf, AWS WAF
//! IP sets, VPC prefix lists and security-group rules, in full and as incremental
//! updates between two versions (no_std + alloc).
//!
//! Every format goes through one door, [`export`], with a [`Request`]: the new set, the
//! old one for an update, a header describing the data, and flat [`Options`] that the
//! CLI, the wasm package and the C API fill the same way.
//!
//! ```
//! use ipfence_core::{IpNet, PrefixSet};
//! use ipfence_exporters::{export, Format, Header, Options, Request};
//!
//! let old: PrefixSet = ["3.5.140.0/22".parse::<IpNet>()?].into_iter().collect();
//! let new: PrefixSet = ["3.5.140.0/22", "1.178.86.0/24"]
//!     .iter()
//!     .map(|s| s.parse::<IpNet>())
//!     .collect::<Result<_, _>>()?;
//! let options = Options { name: "aws".into(), ..Options::default() };
//! let mut req = Request { set: &new, old: None, header: Header::default(), options: &options };
//!
//! // The whole table, for `nft -f`:
//! let full = export(Format::Nftables, &req)?;
//! assert!(full.text.contains("table inet aws {"));
//! assert!(full.text.contains("\t\t\t1.178.86.0/24,\n"));
//!
//! // The update from the old version: only the new CIDR is added.
//! req.old = Some(&old);
//! let update = export(Format::Nftables, &req)?;
//! assert!(update.text.contains("add element inet aws aws_v4 {\n\t1.178.86.0/24,\n}"));
//! assert!(!update.text.contains("delete element"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Features: `std` (default) turns on `std` in the core and the JSON dependencies. The
//! crate itself is `#![no_std]` and needs only `core` and `alloc` (`scripts/check-nostd`
//! builds it for `wasm32v1-none`).
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

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::str::FromStr;
use ipfence_core::{IpNet, PrefixSet, SourceInfo};

pub mod aws;
pub mod cluster;
pub mod daemons;
pub mod ipset;
pub mod iptables;
mod json;
pub mod nftables;
pub mod pf;
pub mod web;

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
    /// nginx include: `allow`/`deny`, a `geo` block or `set_real_ip_from`.
    Nginx,
    /// Apache httpd include: `Require ip` or `RemoteIPTrustedProxy`.
    Apache,
    /// HAProxy pattern file (`acl NAME src -f FILE`).
    Haproxy,
    /// Caddyfile snippet: a `remote_ip` matcher or `trusted_proxies`.
    Caddy,
    /// Kubernetes `NetworkPolicy` objects with `ipBlock` peers (YAML).
    Kubernetes,
    /// Calico `GlobalNetworkSet` (YAML).
    Calico,
    /// Cilium `CiliumCIDRGroup` (YAML).
    Cilium,
    /// MikroTik RouterOS script filling an address list.
    Mikrotik,
    /// fail2ban `jail.d` include setting `ignoreip`.
    Fail2ban,
    /// CrowdSec whitelist parser (`s02-enrich`).
    Crowdsec,
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
    /// Destination ports for rules (empty: all); see [`parse_ports`] and [`check_ports`].
    pub ports: Vec<PortRange>,
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
    /// AWS: the id of the existing object an update targets (WAF IP set id, prefix list
    /// id `pl-...`); a placeholder is written when not given.
    pub aws_id: Option<String>,
    /// AWS WAF: the LockToken from `get-ip-set`; a placeholder is written when not given.
    pub lock_token: Option<String>,
    /// AWS prefix list: its current version (`describe-managed-prefix-lists`), needed
    /// for a modify.
    pub current_version: Option<u64>,
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
            aws_id: None,
            lock_token: None,
            current_version: None,
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

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 17] = [
        Format::Nftables,
        Format::Ipset,
        Format::Iptables,
        Format::Pf,
        Format::AwsWaf,
        Format::AwsPrefixList,
        Format::AwsSecurityGroup,
        Format::Nginx,
        Format::Apache,
        Format::Haproxy,
        Format::Caddy,
        Format::Kubernetes,
        Format::Calico,
        Format::Cilium,
        Format::Mikrotik,
        Format::Fail2ban,
        Format::Crowdsec,
    ];

    /// The name used on the command line and in the JS and C APIs.
    pub fn name(self) -> &'static str {
        match self {
            Format::Nftables => "nftables",
            Format::Ipset => "ipset",
            Format::Iptables => "iptables",
            Format::Pf => "pf",
            Format::AwsWaf => "aws-waf",
            Format::AwsPrefixList => "aws-prefix-list",
            Format::AwsSecurityGroup => "aws-security-group",
            Format::Nginx => "nginx",
            Format::Apache => "apache",
            Format::Haproxy => "haproxy",
            Format::Caddy => "caddy",
            Format::Kubernetes => "kubernetes",
            Format::Calico => "calico",
            Format::Cilium => "cilium",
            Format::Mikrotik => "mikrotik",
            Format::Fail2ban => "fail2ban",
            Format::Crowdsec => "crowdsec",
        }
    }
}

impl core::fmt::Display for Format {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::Option {
                format: "export",
                msg: format!(
                    "unknown format {:?}: expected one of {}",
                    s.chars().take(40).collect::<String>(),
                    Format::ALL.map(Format::name).join(", ")
                ),
            })
    }
}

/// Renders `req` in `format`: the whole set, or the update from `req.old` to `req.set`.
///
/// # Errors
/// [`Error::Name`] for a name the tool would reject, [`Error::Option`] for an option the
/// format cannot honour (e.g. a style it does not have), [`Error::Core`] from fitting.
pub fn export(format: Format, req: &Request<'_>) -> Result<Output, Error> {
    check_applicable(format, req.options)?;
    match format {
        Format::Nftables => nftables::render(req),
        Format::Ipset => ipset::render(req),
        Format::Iptables => iptables::render(req),
        Format::Pf => pf::render(req),
        Format::AwsWaf => aws::render_waf(req),
        Format::AwsPrefixList => aws::render_prefix_list(req),
        Format::AwsSecurityGroup => aws::render_security_group(req),
        Format::Nginx => web::render_nginx(req),
        Format::Apache => web::render_apache(req),
        Format::Haproxy => web::render_haproxy(req),
        Format::Caddy => web::render_caddy(req),
        Format::Kubernetes => cluster::render_kubernetes(req),
        Format::Calico => cluster::render_calico(req),
        Format::Cilium => cluster::render_cilium(req),
        Format::Mikrotik => daemons::render_mikrotik(req),
        Format::Fail2ban => daemons::render_fail2ban(req),
        Format::Crowdsec => daemons::render_crowdsec(req),
    }
}

/// An inclusive range of destination ports; a single port has `first == last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRange {
    /// First port of the range.
    pub first: u16,
    /// Last port of the range (at least `first`).
    pub last: u16,
}

impl From<u16> for PortRange {
    fn from(p: u16) -> Self {
        PortRange { first: p, last: p }
    }
}

impl core::fmt::Display for PortRange {
    /// `443`, or `443-445` for a range.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

fn ports_error(msg: String) -> Error {
    Error::Option {
        format: "ports",
        msg,
    }
}

/// Reads a port list as firewall users write it: `443`, `80,443`, `443-445`,
/// `80,443-445,8443`; each port or range is then checked by [`check_ports`].
///
/// # Errors
/// [`Error::Option`] naming the item that is not a port (1-65535) or a range `A-B`.
pub fn parse_ports(s: &str) -> Result<Vec<PortRange>, Error> {
    let item = |t: &str| -> Result<u16, Error> {
        t.trim().parse::<u16>().map_err(|_| {
            ports_error(format!(
                "{:?} is not a port: use 1-65535, a range like 443-445, or a comma-separated list",
                t.trim().chars().take(40).collect::<String>()
            ))
        })
    };
    let mut out = Vec::new();
    for part in s.split(',') {
        let r = match part.split_once('-') {
            Some((a, b)) => PortRange {
                first: item(a)?,
                last: item(b)?,
            },
            None => PortRange::from(item(part)?),
        };
        out.push(r);
    }
    check_ports(&out)
}

/// Checks a port list and returns it sorted, with adjacent ranges joined
/// (`443,444` becomes `443-444`), so every format renders the same ports.
///
/// # Errors
/// [`Error::Option`] for port 0, a reversed range (`445-443`), or a port given twice
/// (a duplicate or two overlapping ranges), naming the items.
pub fn check_ports(ports: &[PortRange]) -> Result<Vec<PortRange>, Error> {
    let mut v = ports.to_vec();
    for r in &v {
        if r.first == 0 {
            return Err(ports_error(
                "port 0 is not a destination port: use 1-65535".into(),
            ));
        }
        if r.first > r.last {
            return Err(ports_error(format!(
                "{}-{} is reversed: write {}-{}",
                r.first, r.last, r.last, r.first
            )));
        }
    }
    v.sort_unstable();
    let mut out: Vec<PortRange> = Vec::with_capacity(v.len());
    for r in v {
        match out.last_mut() {
            Some(last) if r.first <= last.last => {
                let what = if *last == r {
                    "is given twice"
                } else {
                    "overlap"
                };
                let both = if *last == r {
                    format!("{r}")
                } else {
                    format!("{last} and {r}")
                };
                return Err(ports_error(format!("{both} {what}: give each port once")));
            }
            Some(last) if last.last.checked_add(1) == Some(r.first) => last.last = r.last,
            _ => out.push(r),
        }
    }
    Ok(out)
}

/// Which formats read an option, by the command-line name of the option (`ports`,
/// `protocol`, `scope`, `style`, `max-entries`, `summarize`, `split`, `aws-id`,
/// `lock-token`, `current-version`, `name`). Every other combination is refused,
/// by [`export`] for the options it can see and by the CLI for the flags given.
pub fn formats_taking(option: &str) -> &'static [Format] {
    use Format::*;
    match option {
        "ports" | "protocol" => &[Nftables, Iptables, Pf, AwsSecurityGroup, Kubernetes],
        "scope" | "lock-token" => &[AwsWaf],
        "current-version" => &[AwsPrefixList],
        "aws-id" => &[AwsWaf, AwsPrefixList],
        "style" => &[
            Nftables, Ipset, Iptables, Pf, AwsWaf, Nginx, Apache, Caddy, Kubernetes, Cilium,
        ],
        // Apache's and HAProxy's files hold addresses and directives only.
        "name" => &[
            Nftables,
            Ipset,
            Iptables,
            Pf,
            AwsWaf,
            AwsPrefixList,
            AwsSecurityGroup,
            Nginx,
            Caddy,
            Kubernetes,
            Calico,
            Cilium,
            Mikrotik,
            Fail2ban,
            Crowdsec,
        ],
        "max-entries" => &[
            Iptables,
            AwsWaf,
            AwsPrefixList,
            AwsSecurityGroup,
            Kubernetes,
        ],
        "summarize" | "split" => &[AwsWaf, AwsPrefixList, AwsSecurityGroup],
        _ => &[],
    }
}

impl Format {
    /// Whether this format reads `option` (see [`formats_taking`]).
    pub fn takes(self, option: &str) -> bool {
        formats_taking(option).contains(&self)
    }
}

/// The error for `option` given to a format that does not read it.
pub fn not_applicable(format: Format, option: &str) -> Error {
    let bare = option.trim_start_matches('-');
    let names: Vec<&str> = formats_taking(bare).iter().map(|f| f.name()).collect();
    Error::Option {
        format: format.name(),
        msg: format!("{option} does not apply (it is for {})", names.join(", ")),
    }
}

/// Refuses option values a format would ignore: ports for a format without port rules,
/// a protocol other than tcp without ports, a WAF scope or LockToken, a prefix-list
/// version or summarizing for a format that has none.
fn check_applicable(format: Format, o: &Options) -> Result<(), Error> {
    let given = [
        ("ports", !o.ports.is_empty()),
        ("scope", o.scope != "REGIONAL"),
        ("lock-token", o.lock_token.is_some()),
        ("current-version", o.current_version.is_some()),
        ("summarize", o.summarize),
    ];
    for (option, set) in given {
        if set && !format.takes(option) {
            return Err(not_applicable(format, option));
        }
    }
    if o.protocol != "tcp" {
        if !format.takes("protocol") {
            return Err(not_applicable(format, "protocol"));
        }
        if o.ports.is_empty() {
            return Err(Error::Option {
                format: format.name(),
                msg: format!(
                    "protocol {:?} without ports: the protocol applies to port rules; give ports too",
                    o.protocol.chars().take(20).collect::<String>()
                ),
            });
        }
    }
    check_ports(&o.ports)?;
    Ok(())
}

/// Makes `s` safe inside a one-line comment: control characters (newlines included) and
/// anything outside printable ASCII become `?`, so input text cannot end the comment.
pub fn sanitize_comment(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// The header comment lines (without the comment marker): generator, each source with
/// its createDate and syncToken, the filter and `count`, the number of prefixes
/// rendered. Every input text is passed through [`sanitize_comment`], so none can end
/// the comment.
pub fn header_lines(h: &Header<'_>, count: usize) -> Vec<String> {
    let mut lines = Vec::new();
    lines.push(format!(
        "generated by ipfence {}",
        env!("CARGO_PKG_VERSION")
    ));
    for s in h.sources {
        let mut line = format!(
            "source: {} ({}",
            sanitize_comment(&s.name),
            sanitize_comment(&s.format)
        );
        if let Some(d) = &s.create_date {
            let _ = write!(line, ", createDate {}", sanitize_comment(d));
        }
        if let Some(t) = &s.sync_token {
            let _ = write!(line, ", syncToken {}", sanitize_comment(t));
        }
        line.push(')');
        lines.push(line);
    }
    lines.push(format!("filter: {}", sanitize_comment(h.filter)));
    lines.push(format!("prefixes: {count} (minimal exact cover)"));
    lines
}

/// Appends `n` as `ADDR/LEN`, exactly as its `Display` does. IPv4 skips the formatting
/// machinery (the renderers write one CIDR per line, thousands per file); IPv6 keeps
/// `Display` for RFC 5952's zero compression.
pub(crate) fn push_net(out: &mut String, n: &IpNet) {
    match n {
        IpNet::V4(n) => {
            for (i, octet) in n.addr().octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_u8(out, octet);
            }
        }
        IpNet::V6(n) => {
            let _ = write!(out, "{}", n.addr());
        }
    }
    out.push('/');
    push_u8(out, n.prefix_len());
}

/// Appends `v` in decimal.
fn push_u8(out: &mut String, v: u8) {
    if v >= 100 {
        out.push(char::from(b'0' + v / 100));
    }
    if v >= 10 {
        out.push(char::from(b'0' + v / 10 % 10));
    }
    out.push(char::from(b'0' + v % 10));
}

/// Writes `lines` as `# ` comments.
pub(crate) fn hash_comments(out: &mut String, lines: &[String]) {
    for l in lines {
        let _ = writeln!(out, "# {l}");
    }
}

/// Writes the `# update:` comment line of an incremental update.
pub(crate) fn update_comment(out: &mut String, removed: usize, added: usize) {
    let _ = writeln!(out, "# update: CIDRs removed: {removed}, added: {added}");
}

/// The CIDRs to remove and to add to go from `old`'s minimal cover to `new`'s, each in
/// address order (IPv4 first): the symmetric difference of the two covers.
pub fn cover_changes(old: &PrefixSet, new: &PrefixSet) -> (Vec<IpNet>, Vec<IpNet>) {
    let mut o: Vec<IpNet> = old.cidrs().collect();
    let mut n: Vec<IpNet> = new.cidrs().collect();
    // Already in order (disjoint CIDRs, IPv4 first); sorting sorted input is linear and
    // keeps the merge right whatever order `cidrs` one day returns.
    o.sort_unstable();
    n.sort_unstable();
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    let (mut a, mut b) = (o.iter().peekable(), n.iter().peekable());
    loop {
        match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => match x.cmp(y) {
                core::cmp::Ordering::Less => removed.extend(a.next()),
                core::cmp::Ordering::Greater => added.extend(b.next()),
                core::cmp::Ordering::Equal => {
                    a.next();
                    b.next();
                }
            },
            (Some(_), None) => removed.extend(a.next()),
            (None, Some(_)) => added.extend(b.next()),
            (None, None) => break,
        }
    }
    (removed, added)
}

/// The error for a name `format`'s tool would reject or misread.
pub(crate) fn bad_name(format: &'static str, name: &str, why: String) -> Error {
    Error::Name {
        format,
        name: format!("{:?}", name.chars().take(80).collect::<String>()),
        why,
    }
}

/// Checks the parts every local tool shares: not empty, at most `max` characters, and
/// each character printable ASCII and accepted by `ok` (`allowed` says which are, in
/// words, for the message).
pub(crate) fn check_chars(
    format: &'static str,
    name: &str,
    max: usize,
    ok: impl Fn(usize, char) -> bool,
    allowed: &str,
) -> Result<(), Error> {
    if name.is_empty() {
        return Err(bad_name(format, name, "is empty".into()));
    }
    if let Some((i, c)) = name
        .chars()
        .enumerate()
        .find(|&(i, c)| !(c.is_ascii_graphic() && ok(i, c)))
    {
        let at = if i == 0 { " first" } else { "" };
        return Err(bad_name(
            format,
            name,
            format!("{c:?} is not allowed{at}: {allowed}"),
        ));
    }
    if name.len() > max {
        return Err(bad_name(
            format,
            name,
            format!("is {} characters long; at most {max} fit here", name.len()),
        ));
    }
    Ok(())
}

/// Refuses a `style` the format does not have.
pub(crate) fn style<'a>(
    format: &'static str,
    req: &'a Request<'_>,
    styles: &[&'a str],
) -> Result<&'a str, Error> {
    let default = styles.first().copied().unwrap_or("");
    match req.options.style.as_deref() {
        None => Ok(default),
        Some(s) => styles
            .iter()
            .copied()
            .find(|x| *x == s)
            .ok_or_else(|| Error::Option {
                format,
                msg: format!(
                    "unknown style {:?}: {format} has {}",
                    s.chars().take(40).collect::<String>(),
                    styles.join(", ")
                ),
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn formats_round_trip_their_names() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
        }
        assert!("xml"
            .parse::<Format>()
            .unwrap_err()
            .to_string()
            .contains("expected one of nftables"));
    }

    #[test]
    fn push_net_writes_what_display_writes() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut out = String::new();
        for i in 0..200_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n: IpNet = if i % 4 == 3 {
                // About half the groups zero, in runs, for RFC 5952's compression.
                let mut a = 0u128;
                for g in 0..8 {
                    let group = if (x >> (g * 3)) & 1 == 0 {
                        0
                    } else {
                        (x >> (g * 6)) as u16
                    };
                    a = a << 16 | u128::from(group);
                }
                let a = core::net::Ipv6Addr::from(a);
                IpNet::V6(ipfence_core::Ipv6Net::new(a, (x % 129) as u8).unwrap())
            } else {
                let a = core::net::Ipv4Addr::from((x >> 16) as u32);
                IpNet::V4(ipfence_core::Ipv4Net::new(a, (x % 33) as u8).unwrap())
            };
            out.clear();
            push_net(&mut out, &n);
            assert_eq!(out, n.to_string());
        }
    }

    #[test]
    fn cover_changes_is_the_symmetric_difference_of_the_covers() {
        use alloc::collections::BTreeSet;
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..2_000 {
            let mut sets = [PrefixSet::new(), PrefixSet::new()];
            for s in &mut sets {
                for _ in 0..next() % 12 {
                    let r = next();
                    let n: IpNet = if r % 3 == 0 {
                        let a = core::net::Ipv6Addr::from(
                            0x2001_0db8u128 << 96 | u128::from(r >> 8) << 64,
                        );
                        IpNet::V6(
                            ipfence_core::Ipv6Net::new(a, 32 + (r % 33) as u8)
                                .unwrap()
                                .trunc(),
                        )
                    } else {
                        let a = core::net::Ipv4Addr::from(0x0a00_0000 | (r >> 40) as u32 & 0xffff);
                        IpNet::V4(
                            ipfence_core::Ipv4Net::new(a, 16 + (r % 17) as u8)
                                .unwrap()
                                .trunc(),
                        )
                    };
                    s.insert(n);
                }
            }
            let [old, new] = &sets;
            let (removed, added) = cover_changes(old, new);
            let o: BTreeSet<IpNet> = old.cidrs().collect();
            let n: BTreeSet<IpNet> = new.cidrs().collect();
            assert_eq!(removed, o.difference(&n).copied().collect::<Vec<_>>());
            assert_eq!(added, n.difference(&o).copied().collect::<Vec<_>>());
        }
    }

    #[test]
    fn comments_cannot_be_broken_out_of() {
        assert_eq!(sanitize_comment("a\nb\r}; é"), "a?b?}; ?");
    }

    #[test]
    fn header_lines_name_the_data_and_stay_one_line_each() {
        let sources = [SourceInfo {
            name: "ip-ranges.json\n}; flush ruleset".into(),
            format: "aws".into(),
            provider: "aws".into(),
            sync_token: Some("1787411825".into()),
            create_date: Some("2026-08-22-15-17-05\r".into()),
        }];
        let h = Header {
            sources: &sources,
            filter: "service=S3\u{2028}x",
        };
        let lines = header_lines(&h, 42);
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("generated by ipfence "));
        assert_eq!(
            lines[1],
            "source: ip-ranges.json?}; flush ruleset (aws, createDate 2026-08-22-15-17-05?, syncToken 1787411825)"
        );
        assert_eq!(lines[2], "filter: service=S3?x");
        assert_eq!(lines[3], "prefixes: 42 (minimal exact cover)");
        for l in &lines {
            assert!(l.chars().all(|c| c == ' ' || c.is_ascii_graphic()), "{l:?}");
        }
    }
}
