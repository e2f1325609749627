//! pf (OpenBSD/FreeBSD packet filter), see pf.conf(5) "TABLES" and pfctl(8) `-T`.
//!
//! Styles:
//! - `conf` (default): `table <NAME> persist { cidr, ... }` for pf.conf.
//! - `table`: one CIDR per line, for `pfctl -t NAME -T replace -f FILE`.
//!
//! With an old set, the update as `pfctl -t NAME -T delete ...` and `-T add ...` commands
//! (a `#!/bin/sh` script with `set -e`; at most 100 addresses per command line).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use ipfence_core::IpNet;

use crate::{
    check_name, cover_changes, hash_comments, header_lines, push_net, style, update_comment, Error,
    Output, Request,
};

const FORMAT: &str = "pf";

/// Renders pf input. See the [module docs](self).
///
/// # Errors
/// [`Error::Name`] unless the name is a letter then up to 30 letters, digits, `_` or `-`
/// (PF_TABLE_NAME_SIZE is 32 with the final NUL); [`Error::Option`] for an unknown style.
pub fn render(req: &Request<'_>) -> Result<Output, Error> {
    let name = req.options.name.as_str();
    check_name(FORMAT, name, 31, true)?;
    let style = style(FORMAT, req, &["conf", "table"])?;
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
        _ if set.is_empty() => {
            // pf.conf(5): the address list is optional; an empty `{ }` is not needed.
            let _ = writeln!(out, "table <{name}> persist");
        }
        _ => {
            let _ = writeln!(out, "table <{name}> persist {{");
            for (i, n) in nets.iter().enumerate() {
                let sep = if i + 1 < nets.len() { "," } else { "" };
                out.push('\t');
                push_net(&mut out, n);
                out.push_str(sep);
                out.push('\n');
            }
            let _ = writeln!(out, "}}");
        }
    }
    Ok(Output {
        text: out,
        notes: Vec::new(),
    })
}
