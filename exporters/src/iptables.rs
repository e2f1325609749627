//! iptables: input for `iptables-restore --noflush` / `ip6tables-restore --noflush`
//! (see iptables-restore(8), iptables-extensions(8) "set" and "multiport").
//!
//! One family per file (pass one family's set): a v4 file is for `iptables-restore`
//! and never touches IPv6, a v6 file the reverse. The file declares a chain `NAME` in
//! the `filter` table (declaring flushes it, so reloading is idempotent) that only
//! drops: *packets from a source outside the set* (to the ports, with ports); all other
//! traffic returns to the rule after the jump, so the chain never lets in anything the
//! rest of the firewall refuses. Jump to it yourself, once: with ports from INPUT
//! (`-I INPUT -j NAME`), without ports only for the traffic to restrict (`-I INPUT -p
//! tcp --dport 443 -j NAME`).
//!
//! Styles:
//! - `set` (default): the rule matches the ipset set (`-m set ! --match-set NAME-v4
//!   src`); load the [`ipset`] output first.
//! - `plain`: one `RETURN` rule per prefix (`-s CIDR`) then the drop, for small sets
//!   (at most `max_entries`, default 100).
//!
//! Ports: `-p PROTO -m multiport --dports 80,443:445`; multiport takes 15 ports per
//! rule (a range counts 2), so a longer list becomes several drop rules.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use crate::{
    bad_name, check_chars, check_ports, hash_comments, header_lines, ipset, style, Error, Output,
    PortRange, Request,
};

const FORMAT: &str = "iptables";

/// Targets iptables refuses as chain names, and the built-in chains, which `:NAME`
/// would flush under `--noflush`.
const RESERVED: &[&str] = &[
    "ACCEPT",
    "DROP",
    "QUEUE",
    "RETURN",
    "INPUT",
    "OUTPUT",
    "FORWARD",
    "PREROUTING",
    "POSTROUTING",
];

/// Checks `name` as the chain name and as the base of the ipset set names: ipset's
/// rules ([`ipset::check_name`]), no leading `-` or `!` (iptables reads an option or a
/// negation), not a built-in target or chain.
///
/// # Errors
/// [`Error::Name`] saying which rule the name breaks.
pub fn check_name(name: &str) -> Result<(), Error> {
    check_chars(
        FORMAT,
        name,
        24,
        |i, c| c != '"' && !(i == 0 && matches!(c, '-' | '!')),
        "chain names are printable ASCII without blanks or '\"', not starting with '-' or '!'",
    )?;
    if RESERVED.contains(&name) {
        return Err(bad_name(
            FORMAT,
            name,
            "is a built-in target or chain of iptables: choose another".into(),
        ));
    }
    Ok(())
}

/// The `--dports` lists, each within multiport's 15 ports (a range counts 2).
fn multiport_lists(ports: &[PortRange]) -> Vec<String> {
    let mut lists: Vec<String> = Vec::new();
    let mut used = 0;
    for p in ports {
        let cost = if p.first == p.last { 1 } else { 2 };
        let item = if cost == 1 {
            format!("{}", p.first)
        } else {
            format!("{}:{}", p.first, p.last)
        };
        match lists.last_mut() {
            Some(l) if used + cost <= 15 => {
                l.push(',');
                l.push_str(&item);
                used += cost;
            }
            _ => {
                lists.push(item);
                used = cost;
            }
        }
    }
    lists
}

/// Renders `iptables-restore` input. See the [module docs](self).
///
/// # Errors
/// [`Error::Name`] for a name iptables or ipset would refuse ([`check_name`]);
/// [`Error::Option`] when the set holds both families, for a `plain` set over its
/// limit, or for an update (reload the file instead).
pub fn render(req: &Request<'_>) -> Result<Output, Error> {
    let name = req.options.name.as_str();
    check_name(name)?;
    let style = style(FORMAT, req, &["set", "plain"])?;
    let set = req.set;
    if req.old.is_some() {
        return Err(Error::Option {
            format: FORMAT,
            msg: "no incremental form: the rules match the ipset set, so update the set (--format ipset with --diff-from) or reload this file".into(),
        });
    }
    let (has4, has6) = (!set.v4_ranges().is_empty(), !set.v6_ranges().is_empty());
    if has4 && has6 {
        return Err(Error::Option {
            format: FORMAT,
            msg: "iptables-restore and ip6tables-restore take one family each: select one with --ipv4 or --ipv6".into(),
        });
    }
    let opts = req.options;
    let port_list = check_ports(&opts.ports)?;
    if !port_list.is_empty() && !matches!(opts.protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(Error::Option {
            format: FORMAT,
            msg: format!(
                "protocol {:?} has no ports: use tcp, udp or sctp",
                opts.protocol.chars().take(20).collect::<String>()
            ),
        });
    }
    let matches: Vec<String> = if port_list.is_empty() {
        Vec::from([String::new()])
    } else {
        multiport_lists(&port_list)
            .into_iter()
            .map(|l| format!(" -p {} -m multiport --dports {l}", opts.protocol))
            .collect()
    };
    let count = set.cidr_count();
    let mut out = String::with_capacity(256 + count * 48);
    hash_comments(&mut out, &header_lines(&req.header, count));
    let (restore, family, tool) = if has6 {
        ("ip6tables-restore", "IPv6", "ip6tables")
    } else {
        ("iptables-restore", "IPv4", "iptables")
    };
    let (n4, n6) = ipset::set_names(name);
    let setname = if has6 { n6 } else { n4 };
    let source = match style {
        "plain" => String::from("a source not listed here"),
        _ => format!("a source outside the ipset set {setname}"),
    };
    if port_list.is_empty() {
        let _ = writeln!(out, "# enforces: chain {name} drops every {family} packet from {source}; jump to it only for the traffic to restrict");
        let _ = writeln!(out, "# load with: {restore} --noflush < FILE; then, once, e.g.: {tool} -I INPUT -p tcp --dport 443 -j {name}");
    } else {
        let list: Vec<String> = port_list.iter().map(|p| format!("{p}")).collect();
        let _ = writeln!(out, "# enforces: chain {name} drops {family} {} to ports {} from {source}; other traffic returns", opts.protocol, list.join(","));
        let _ = writeln!(
            out,
            "# load with: {restore} --noflush < FILE; then, once: {tool} -I INPUT -j {name}"
        );
    }
    let _ = writeln!(out, "*filter\n:{name} - [0:0]");
    match style {
        "plain" => {
            let limit = opts.max_entries.unwrap_or(100);
            let n = count;
            if n > limit {
                return Err(Error::Option {
                    format: FORMAT,
                    msg: format!("{n} prefixes is more than the {limit} of the plain style (one rule each is slow): use the default set style with ipset, or raise --max-entries"),
                });
            }
            for net in set.cidrs() {
                let _ = writeln!(out, "-A {name} -s {net} -j RETURN");
            }
            for m in &matches {
                let _ = writeln!(out, "-A {name}{m} -j DROP");
            }
        }
        _ => {
            for m in &matches {
                let _ = writeln!(
                    out,
                    "-A {name}{m} -m set ! --match-set {setname} src -j DROP"
                );
            }
        }
    }
    let _ = writeln!(out, "COMMIT");
    Ok(Output {
        text: out,
        notes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiport_lists_hold_at_most_15_ports() {
        let r = |a, b| PortRange { first: a, last: b };
        let ports: Vec<PortRange> = (1..=16).map(|p| r(p * 10, p * 10)).collect();
        assert_eq!(multiport_lists(&ports).len(), 2);
        assert_eq!(multiport_lists(&[r(80, 80), r(443, 445)]), ["80,443:445"]);
        // 7 ranges (14) + 1 port = 15; one more range starts a second list.
        let mut ports: Vec<PortRange> = (1..=7).map(|p| r(p * 10, p * 10 + 1)).collect();
        ports.push(r(100, 100));
        assert_eq!(multiport_lists(&ports).len(), 1);
        ports.push(r(200, 201));
        assert_eq!(
            multiport_lists(&ports),
            ["10:11,20:21,30:31,40:41,50:51,60:61,70:71,100", "200:201"]
        );
    }
}
