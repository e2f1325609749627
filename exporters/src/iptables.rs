//! iptables: input for `iptables-restore --noflush` / `ip6tables-restore --noflush`
//! (see iptables-restore(8), iptables-extensions(8) "set").
//!
//! One family per file (pass one family's set). The file declares a chain `NAME` in the
//! `filter` table (declaring flushes it, so reloading is idempotent) whose rules accept
//! the allowed sources; jump to it from INPUT yourself (`-I INPUT -j NAME`), once.
//!
//! Styles:
//! - `set` (default): one rule matching the ipset set (`-m set --match-set NAME-v4 src`);
//!   load the [`ipset`] output first.
//! - `plain`: one rule per prefix (`-s CIDR`), for small sets (at most `max_entries`,
//!   default 100).
//!
//! With ports, the rules match `-p PROTO -m multiport --dports P,...` and the chain ends
//! with a drop for those ports from anywhere else.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use crate::{check_name, hash_comments, header_lines, ipset, style, Error, Output, Request};

const FORMAT: &str = "iptables";

/// Renders `iptables-restore` input. See the [module docs](self).
///
/// # Errors
/// [`Error::Name`] unless the name is a letter then up to 23 letters, digits, `_` or
/// `-` (it also names the ipset sets); [`Error::Option`] when the set holds both
/// families, for a `plain` set over its limit, for an update (reload the file instead),
/// or more than 15 ports (multiport's limit).
pub fn render(req: &Request<'_>) -> Result<Output, Error> {
    let name = req.options.name.as_str();
    check_name(FORMAT, name, 24, true)?;
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
    if !opts.ports.is_empty() && !matches!(opts.protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(Error::Option {
            format: FORMAT,
            msg: format!(
                "protocol {:?} has no ports: use tcp, udp or sctp",
                opts.protocol.chars().take(20).collect::<String>()
            ),
        });
    }
    if opts.ports.len() > 15 {
        return Err(Error::Option {
            format: FORMAT,
            msg: format!("{} ports: multiport takes at most 15", opts.ports.len()),
        });
    }
    let ports = if opts.ports.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = opts.ports.iter().map(|p| format!("{p}")).collect();
        format!(
            " -p {} -m multiport --dports {}",
            opts.protocol,
            list.join(",")
        )
    };
    let count = set.cidr_count();
    let mut out = String::with_capacity(256 + count * 48);
    hash_comments(&mut out, &header_lines(&req.header, count));
    let restore = if has6 {
        "ip6tables-restore"
    } else {
        "iptables-restore"
    };
    let _ = writeln!(
        out,
        "# load with: {restore} --noflush < FILE; then, once: -I INPUT -j {name}"
    );
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
                let _ = writeln!(out, "-A {name} -s {net}{ports} -j ACCEPT");
            }
        }
        _ => {
            let (n4, n6) = ipset::set_names(name);
            let setname = if has6 { n6 } else { n4 };
            let _ = writeln!(
                out,
                "-A {name} -m set --match-set {setname} src{ports} -j ACCEPT"
            );
        }
    }
    if !ports.is_empty() {
        let _ = writeln!(out, "-A {name}{ports} -j DROP");
    }
    let _ = writeln!(out, "COMMIT");
    Ok(Output {
        text: out,
        notes: Vec::new(),
    })
}
