//! nftables: input for `nft -f` (see nft(8), "SETS" and "ELEMENTS").
//!
//! Names: table `inet NAME`, sets `NAME_v4` (`ipv4_addr`) and `NAME_v6` (`ipv6_addr`),
//! both `flags interval`, and a chain `input` hooked at priority 0 with policy accept.
//!
//! Styles:
//! - `full` (default): the whole table, replacing any previous version in one
//!   transaction (`table` + `delete table` + definition), so reloading is safe.
//! - `sets`: the two set definitions only, to `include` inside an existing table.
//! - `replace`: `flush set` + `add element` for an existing table, atomic in one file.
//!
//! With an old set ([`Request::old`]), the output is the incremental update instead:
//! `delete element` for CIDRs that left the cover, then `add element` for new ones.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use ipfence_core::IpNet;

use crate::{
    check_name, cover_changes, hash_comments, header_lines, push_net, style, update_comment, Error,
    Output, Request,
};

const FORMAT: &str = "nftables";

fn elements(out: &mut String, indent: &str, nets: impl Iterator<Item = IpNet>) {
    for n in nets {
        out.push_str(indent);
        push_net(out, &n);
        out.push_str(",\n");
    }
}

fn ports(req: &Request<'_>) -> Option<String> {
    if req.options.ports.is_empty() {
        return None;
    }
    let list: Vec<String> = req.options.ports.iter().map(|p| format!("{p}")).collect();
    Some(format!(
        "{} dport {{ {} }}",
        req.options.protocol,
        list.join(", ")
    ))
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
/// [`Error::Name`] unless the name is a letter followed by up to 59 letters, digits or
/// `_`; [`Error::Option`] for an unknown style or ports with a protocol other than
/// tcp, udp or sctp.
pub fn render(req: &Request<'_>) -> Result<Output, Error> {
    let name = req.options.name.as_str();
    check_name(FORMAT, name, 60, false)?;
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
    let set = req.set;
    let nets4: Vec<IpNet> = set.cidrs_v4().into_iter().map(IpNet::V4).collect();
    let nets6: Vec<IpNet> = set.cidrs_v6().into_iter().map(IpNet::V6).collect();
    let count = nets4.len() + nets6.len();
    let mut out = String::with_capacity(256 + count * 24);
    hash_comments(&mut out, &header_lines(&req.header, count));
    let (v4, v6) = (format!("{name}_v4"), format!("{name}_v6"));

    if let Some(old) = req.old {
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
        return Ok(Output {
            text: out,
            notes: Vec::new(),
        });
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
            // Declaring then deleting the table makes the load replace any previous
            // version atomically, and work on a fresh system too.
            let _ = writeln!(out, "table inet {name}\ndelete table inet {name}\n");
            let _ = writeln!(out, "table inet {name} {{");
            set_block(&mut out, "\t", &v4, "ipv4_addr", nets4);
            set_block(&mut out, "\t", &v6, "ipv6_addr", nets6);
            let _ = writeln!(out, "\tchain input {{");
            let _ = writeln!(out, "\t\ttype filter hook input priority 0; policy accept;");
            let port = ports(req);
            let match_ports = port.as_deref().map(|p| format!(" {p}")).unwrap_or_default();
            let _ = writeln!(out, "\t\tip saddr @{v4}{match_ports} counter accept");
            let _ = writeln!(out, "\t\tip6 saddr @{v6}{match_ports} counter accept");
            if let Some(p) = &port {
                let _ = writeln!(out, "\t\t{p} counter drop");
            }
            let _ = writeln!(out, "\t}}\n}}");
        }
    }
    Ok(Output {
        text: out,
        notes: Vec::new(),
    })
}
