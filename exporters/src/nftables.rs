//! nftables: input for `nft -f` (see nft(8), "SETS" and "ELEMENTS").
//!
//! Names: table `inet NAME`, sets `NAME_v4` (`ipv4_addr`) and `NAME_v6` (`ipv6_addr`),
//! both `flags interval`.
//!
//! Styles:
//! - `full` (default): the whole table, replacing any previous version in one
//!   transaction (`table` + `delete table` + definition), so reloading is safe. With
//!   ports it enforces one thing: *only the sources in the sets may reach these ports*:
//!   a chain `input` (hook input, priority 0, policy accept) whose only rules drop the
//!   ports from any other source, one rule per exported family (`ip saddr != @NAME_v4
//!   tcp dport { 443 } drop`), so a family with no prefix is never touched. Without
//!   ports the table holds the sets only and filters nothing (its header says so).
//! - `sets`: the two set definitions only, to `include` inside an existing table.
//! - `replace`: `flush set` + `add element` for an existing table, atomic in one file.
//!
//! With an old set ([`Request::old`]), the output is the incremental update instead:
//! `delete element` for CIDRs that left the cover, then `add element` for new ones;
//! with ports, when a family gains its first prefix or loses its last, the chain's
//! rules change too, so the update is the whole table (with a note).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use ipfence_core::IpNet;

use crate::{
    bad_name, check_chars, check_ports, cover_changes, hash_comments, header_lines, push_net,
    style, update_comment, Error, Output, PortRange, Request,
};

const FORMAT: &str = "nftables";

fn elements(out: &mut String, indent: &str, nets: impl Iterator<Item = IpNet>) {
    for n in nets {
        out.push_str(indent);
        push_net(out, &n);
        out.push_str(",\n");
    }
}

/// `tcp dport { 80, 443-445 }` (nft(8) takes `A-B` ranges in anonymous sets).
fn ports(protocol: &str, ports: &[PortRange]) -> String {
    let list: Vec<String> = ports.iter().map(|p| format!("{p}")).collect();
    format!("{protocol} dport {{ {} }}", list.join(", "))
}

/// nft's keywords outside any scanner state (nftables src/scanner.l): the scanner
/// reads them as keywords wherever a table name stands, so `table inet tcp` fails.
const KEYWORDS: &[&str] = &[
    "accept",
    "add",
    "ah",
    "all",
    "arp",
    "at",
    "bridge",
    "chain",
    "chains",
    "checksum",
    "comment",
    "comp",
    "constant",
    "continue",
    "counter",
    "counters",
    "create",
    "ct",
    "day",
    "dccp",
    "define",
    "delete",
    "describe",
    "device",
    "devices",
    "dnat",
    "dport",
    "drop",
    "dst",
    "dup",
    "dynamic",
    "ecn",
    "element",
    "elements",
    "esp",
    "ether",
    "exists",
    "export",
    "exthdr",
    "fib",
    "flags",
    "flow",
    "flowtable",
    "flowtables",
    "flush",
    "frag",
    "fwd",
    "get",
    "goto",
    "group",
    "handle",
    "hbh",
    "hook",
    "hour",
    "icmp",
    "icmpv6",
    "id",
    "igmp",
    "import",
    "include",
    "index",
    "inet",
    "insert",
    "interval",
    "ip",
    "ip6",
    "ipsec",
    "jhash",
    "jump",
    "length",
    "limit",
    "list",
    "log",
    "map",
    "mark",
    "masquerade",
    "meta",
    "meter",
    "mh",
    "monitor",
    "name",
    "netdev",
    "notrack",
    "numgen",
    "offload",
    "osf",
    "policy",
    "port",
    "position",
    "prefix",
    "priority",
    "protocol",
    "queue",
    "quota",
    "random",
    "redefine",
    "redirect",
    "reject",
    "rename",
    "replace",
    "reset",
    "return",
    "rt",
    "rule",
    "rules",
    "ruleset",
    "sctp",
    "secmark",
    "set",
    "sets",
    "size",
    "snat",
    "sport",
    "synproxy",
    "table",
    "tables",
    "tcp",
    "th",
    "timeout",
    "to",
    "type",
    "typeof",
    "udp",
    "udplite",
    "undefine",
    "update",
    "vlan",
];

/// Checks `name` against nft's identifier grammar (nftables src/scanner.l: `string`,
/// a letter, `_` or `.`, then letters, digits, `/`, `-`, `_`, `.`), its keywords, and
/// the kernel's 255-byte set names (`NAME_v4`, so at most 252).
///
/// # Errors
/// [`Error::Name`] saying which rule the name breaks.
pub fn check_name(name: &str) -> Result<(), Error> {
    check_chars(
        FORMAT,
        name,
        252,
        |i, c| {
            c.is_ascii_alphabetic()
                || matches!(c, '_' | '.')
                || (i > 0 && (c.is_ascii_digit() || matches!(c, '/' | '-')))
        },
        "nft names start with a letter, '_' or '.', then letters, digits, '/', '-', '_', '.'",
    )?;
    if KEYWORDS.contains(&name) {
        return Err(bad_name(
            FORMAT,
            name,
            "is an nft keyword, which nft does not take as a table name: choose another".into(),
        ));
    }
    Ok(())
}

fn set_block(out: &mut String, indent: &str, setname: &str, ty: &str, nets: Vec<IpNet>) {
    let _ = writeln!(out, "{indent}set {setname} {{");
    let _ = writeln!(out, "{indent}\ttype {ty}");
    let _ = writeln!(out, "{indent}\tflags interval");
    if !nets.is_empty() {
        let _ = writeln!(out, "{indent}\telements = {{");
        elements(out, &format!("{indent}\t\t"), nets.into_iter());
        let _ = writeln!(out, "{indent}\t}}");
    }
    let _ = writeln!(out, "{indent}}}");
}

/// Renders nftables input. See the [module docs](self).
///
/// # Errors
/// [`Error::Name`] for a name nft would refuse ([`check_name`]); [`Error::Option`] for
/// an unknown style, ports with a protocol other than tcp, udp or sctp, or ports with
/// the `sets` or `replace` style (they hold no rule).
pub fn render(req: &Request<'_>) -> Result<Output, Error> {
    let name = req.options.name.as_str();
    check_name(name)?;
    let style = style(FORMAT, req, &["full", "sets", "replace"])?;
    let proto = req.options.protocol.as_str();
    if !req.options.ports.is_empty() && !matches!(proto, "tcp" | "udp" | "sctp") {
        return Err(Error::Option {
            format: FORMAT,
            msg: format!(
                "protocol {:?} has no ports: use tcp, udp or sctp",
                proto.chars().take(20).collect::<String>()
            ),
        });
    }
    let port_list = check_ports(&req.options.ports)?;
    if !port_list.is_empty() && style != "full" {
        return Err(Error::Option {
            format: FORMAT,
            msg: format!("ports apply to the full style (its chain drops them from other sources); the {style} style holds sets only"),
        });
    }
    let set = req.set;
    let nets4: Vec<IpNet> = set.cidrs_v4().into_iter().map(IpNet::V4).collect();
    let nets6: Vec<IpNet> = set.cidrs_v6().into_iter().map(IpNet::V6).collect();
    let count = nets4.len() + nets6.len();
    let mut out = String::with_capacity(256 + count * 24);
    hash_comments(&mut out, &header_lines(&req.header, count));
    let (v4, v6) = (format!("{name}_v4"), format!("{name}_v6"));

    // The families the chain filters: with ports, each one that has a prefix.
    let families = |s: &ipfence_core::PrefixSet| {
        (
            !port_list.is_empty() && !s.v4_ranges().is_empty(),
            !port_list.is_empty() && !s.v6_ranges().is_empty(),
        )
    };
    let mut notes = Vec::new();
    let old = match req.old {
        Some(old) if families(old) != families(set) => {
            notes.push(format!("the set of filtered families changes (IPv4 {:?} -> {:?}, IPv6 {:?} -> {:?}), so the chain's rules change: this update is the whole table", families(old).0, families(set).0, families(old).1, families(set).1));
            None
        }
        other => other,
    };
    if let Some(old) = old {
        let (removed, added) = cover_changes(old, set);
        update_comment(&mut out, removed.len(), added.len());
        for (verb, list) in [("delete", &removed), ("add", &added)] {
            for (setname, want_v4) in [(&v4, true), (&v6, false)] {
                let mut part = list
                    .iter()
                    .filter(|n| matches!(n, IpNet::V4(_)) == want_v4)
                    .peekable();
                if part.peek().is_some() {
                    let _ = writeln!(out, "{verb} element inet {name} {setname} {{");
                    elements(&mut out, "\t", part.copied());
                    let _ = writeln!(out, "}}");
                }
            }
        }
        return Ok(Output { text: out, notes });
    }

    match style {
        "sets" => {
            set_block(&mut out, "", &v4, "ipv4_addr", nets4);
            set_block(&mut out, "", &v6, "ipv6_addr", nets6);
        }
        "replace" => {
            let _ = writeln!(out, "flush set inet {name} {v4}");
            let _ = writeln!(out, "flush set inet {name} {v6}");
            for (setname, nets) in [(&v4, nets4), (&v6, nets6)] {
                if !nets.is_empty() {
                    let _ = writeln!(out, "add element inet {name} {setname} {{");
                    elements(&mut out, "\t", nets.into_iter());
                    let _ = writeln!(out, "}}");
                }
            }
        }
        _ => {
            let (f4, f6) = families(set);
            let p = ports(proto, &port_list);
            let enforce = match (f4, f6) {
                _ if port_list.is_empty() => "nothing: this table holds the sets only; give ports to drop them from other sources, or use --style sets inside your own table".into(),
                (true, true) => format!("only the sources in {v4} and {v6} may reach {p}"),
                (true, false) => format!("only the sources in {v4} may reach {p} over IPv4; IPv6 is not filtered (no IPv6 prefix)"),
                (false, true) => format!("only the sources in {v6} may reach {p} over IPv6; IPv4 is not filtered (no IPv4 prefix)"),
                (false, false) => "nothing: no prefix".into(),
            };
            let _ = writeln!(out, "# enforces: {enforce}");
            // Declaring then deleting the table makes the load replace any previous
            // version atomically, and work on a fresh system too.
            let _ = writeln!(out, "table inet {name}\ndelete table inet {name}\n");
            let _ = writeln!(out, "table inet {name} {{");
            set_block(&mut out, "\t", &v4, "ipv4_addr", nets4);
            set_block(&mut out, "\t", &v6, "ipv6_addr", nets6);
            if f4 || f6 {
                let _ = writeln!(out, "\tchain input {{");
                let _ = writeln!(out, "\t\ttype filter hook input priority 0; policy accept;");
                // Drop rules only: traffic they do not drop goes on to the other rules.
                // `ip saddr` / `ip6 saddr` match their own family only.
                if f4 {
                    let _ = writeln!(out, "\t\tip saddr != @{v4} {p} counter drop");
                }
                if f6 {
                    let _ = writeln!(out, "\t\tip6 saddr != @{v6} {p} counter drop");
                }
                let _ = writeln!(out, "\t}}");
            }
            let _ = writeln!(out, "}}");
        }
    }
    Ok(Output { text: out, notes })
}
