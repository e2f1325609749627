//! pf (OpenBSD/FreeBSD packet filter), see pf.conf(5) "TABLES" and pfctl(8) `-T`.
//!
//! Styles:
//! - `conf` (default): `table <NAME> persist { cidr, ... }` for pf.conf. With ports it
//!   enforces *only the sources in the table may reach these ports*: one rule per
//!   family that has a prefix, `block in quick inet proto tcp from ! <NAME> to any port
//!   { 80, 443:445 }` (`quick`, so a later `pass` cannot undo it; `inet`/`inet6`, so a
//!   family with no prefix is never blocked). Without ports it is the table alone,
//!   which filters nothing until your rules name it (the header says so).
//! - `table`: one CIDR per line, for `pfctl -t NAME -T replace -f FILE`.
//!
//! With an old set, the update as `pfctl -t NAME -T delete ...` and `-T add ...` commands
//! (a `#!/bin/sh` script with `set -e`; at most 100 addresses per command line).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use ipfence_core::IpNet;

use crate::{
    bad_name, check_chars, check_ports, cover_changes, hash_comments, header_lines, push_net,
    style, update_comment, Error, Output, Request,
};

const FORMAT: &str = "pf";

/// pf.conf's keywords (pfctl parse.y `lookup`) that a table name may not be, as the
/// lexer returns them instead of a string.
const KEYWORDS: &[&str] = &[
    "all",
    "allow-opts",
    "altq",
    "anchor",
    "antispoof",
    "any",
    "bandwidth",
    "binat",
    "binat-to",
    "bitmask",
    "block",
    "block-policy",
    "cbq",
    "code",
    "const",
    "counters",
    "divert-to",
    "drop",
    "dup-to",
    "fastroute",
    "file",
    "flags",
    "for",
    "fragment",
    "from",
    "group",
    "icmp-type",
    "in",
    "include",
    "inet",
    "inet6",
    "keep",
    "label",
    "limit",
    "log",
    "match",
    "modulate",
    "nat",
    "nat-to",
    "no",
    "on",
    "out",
    "pass",
    "persist",
    "port",
    "priority",
    "proto",
    "queue",
    "quick",
    "rdr",
    "rdr-to",
    "reply-to",
    "return",
    "route-to",
    "scrub",
    "set",
    "skip",
    "state",
    "table",
    "tag",
    "tagged",
    "timeout",
    "to",
    "user",
];

/// Checks `name` against pf.conf(5) and pfctl(8): a table name is at most 31
/// characters (PF_TABLE_NAME_SIZE is 32 with the NUL), lexed as a string (pfctl
/// parse.y: it starts with a letter, digit or `_`, and is not all digits or a keyword);
/// ipfence keeps to letters, digits, `_`, `-`, `.`, which also stay one word in the
/// `pfctl -t NAME` update script.
///
/// # Errors
/// [`Error::Name`] saying which rule the name breaks.
pub fn check_name(name: &str) -> Result<(), Error> {
    check_chars(
        FORMAT,
        name,
        31,
        |i, c| c.is_ascii_alphanumeric() || c == '_' || (i > 0 && matches!(c, '-' | '.')),
        "pf table names start with a letter, digit or '_', then letters, digits, '_', '-', '.'",
    )?;
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_name(
            FORMAT,
            name,
            "is a number to pf: add a letter".into(),
        ));
    }
    if KEYWORDS.contains(&name) {
        return Err(bad_name(
            FORMAT,
            name,
            "is a pf.conf keyword: choose another".into(),
        ));
    }
    Ok(())
}

/// Renders pf input. See the [module docs](self).
///
/// # Errors
/// [`Error::Name`] for a name pf would refuse ([`check_name`]); [`Error::Option`] for
/// an unknown style, ports with the `table` style or an update (the rules are in the
/// conf file), or a protocol other than tcp or udp with ports.
pub fn render(req: &Request<'_>) -> Result<Output, Error> {
    let name = req.options.name.as_str();
    check_name(name)?;
    let style = style(FORMAT, req, &["conf", "table"])?;
    let ports = check_ports(&req.options.ports)?;
    if !ports.is_empty() && (style == "table" || req.old.is_some()) {
        return Err(Error::Option {
            format: FORMAT,
            msg: "ports apply to the conf style in full (its block rules); a table file or update holds addresses only".into(),
        });
    }
    let proto = req.options.protocol.as_str();
    if !ports.is_empty() && !matches!(proto, "tcp" | "udp") {
        return Err(Error::Option {
            format: FORMAT,
            msg: format!(
                "protocol {:?} has no ports in pf: use tcp or udp",
                proto.chars().take(20).collect::<String>()
            ),
        });
    }
    let set = req.set;
    let nets: Vec<IpNet> = set.cidrs().collect();
    let mut out = String::with_capacity(256 + nets.len() * 22);
    if req.old.is_some() {
        // The update is a shell script: run it as is, stop at the first failure.
        out.push_str("#!/bin/sh\n");
    }
    hash_comments(&mut out, &header_lines(&req.header, nets.len()));
    if let Some(old) = req.old {
        let (removed, added) = cover_changes(old, set);
        update_comment(&mut out, removed.len(), added.len());
        out.push_str("set -e\n");
        for (verb, list) in [("delete", &removed), ("add", &added)] {
            for chunk in list.chunks(100) {
                let _ = write!(out, "pfctl -t {name} -T {verb}");
                for n in chunk {
                    out.push(' ');
                    push_net(&mut out, n);
                }
                out.push('\n');
            }
        }
        return Ok(Output {
            text: out,
            notes: Vec::new(),
        });
    }
    match style {
        "table" => {
            for n in &nets {
                push_net(&mut out, n);
                out.push('\n');
            }
        }
        _ => {
            // pf.conf(5) port ranges are `A:B`, inclusive.
            let list: Vec<String> = ports
                .iter()
                .map(|p| {
                    if p.first == p.last {
                        format!("{}", p.first)
                    } else {
                        format!("{}:{}", p.first, p.last)
                    }
                })
                .collect();
            let list = list.join(", ");
            let families: Vec<&str> = [
                (!set.v4_ranges().is_empty(), "inet"),
                (!set.v6_ranges().is_empty(), "inet6"),
            ]
            .into_iter()
            .filter_map(|(has, af)| has.then_some(af))
            .collect();
            if ports.is_empty() {
                let _ = writeln!(out, "# enforces: nothing: the table alone; name it in your rules, e.g. block in quick inet proto tcp from ! <{name}> to any port 443");
            } else {
                let fam = match families.as_slice() {
                    ["inet", "inet6"] => "",
                    ["inet"] => " over IPv4; IPv6 is not filtered (no IPv6 prefix)",
                    ["inet6"] => " over IPv6; IPv4 is not filtered (no IPv4 prefix)",
                    _ => "; nothing is filtered (no prefix)",
                };
                let _ = writeln!(
                    out,
                    "# enforces: only the sources in <{name}> may reach {proto} ports {list}{fam}"
                );
            }
            table(&mut out, name, &nets);
            if !ports.is_empty() {
                for af in families {
                    let _ = writeln!(out, "block in quick {af} proto {proto} from ! <{name}> to any port {{ {list} }}");
                }
            }
        }
    }
    Ok(Output {
        text: out,
        notes: Vec::new(),
    })
}

/// `table <NAME> persist { ... }`; pf.conf(5): the address list is optional, so an
/// empty set has none.
fn table(out: &mut String, name: &str, nets: &[IpNet]) {
    match nets {
        [] => {
            let _ = writeln!(out, "table <{name}> persist");
        }
        _ => {
            let _ = writeln!(out, "table <{name}> persist {{");
            for (i, n) in nets.iter().enumerate() {
                let sep = if i + 1 < nets.len() { "," } else { "" };
                out.push('\t');
                push_net(out, n);
                out.push_str(sep);
                out.push('\n');
            }
            let _ = writeln!(out, "}}");
        }
    }
}
