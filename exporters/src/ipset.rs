//! ipset: input for `ipset restore` (see ipset(8), "hash:net").
//!
//! One set per family: `NAME-v4` (`family inet`) and `NAME-v6` (`family inet6`), both
//! `hash:net` with `maxelem` 65536 (ipset's default), or [`BIG_MAXELEM`] for a family
//! with more CIDRs. `maxelem` is fixed rather than sized to the set because `create
//! ... -exist` fails when the live set has a different `maxelem` (ipset 7.17, tested):
//! a set that grew by a few CIDRs must still reload.
//!
//! Styles:
//! - `replace` (default): builds `NAME-v4-tmp`, swaps it with `NAME-v4` and destroys the
//!   old contents, so the live set changes atomically; works on a first load too.
//! - `create`: `create NAME-v4 ... -exist` and `add` lines, for a first load.
//!
//! With an old set, the update: `del ... -exist` for CIDRs that left the cover, then
//! `add ... -exist`.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use ipfence_core::IpNet;

use crate::{
    check_chars, cover_changes, hash_comments, header_lines, push_net, style, update_comment,
    Error, Output, Request,
};

const FORMAT: &str = "ipset";

/// `maxelem` of a family with at most 65,536 CIDRs: ipset's default.
pub const DEFAULT_MAXELEM: usize = 65_536;

/// `maxelem` of a family with more CIDRs; larger families are refused.
pub const BIG_MAXELEM: usize = 1 << 20;

/// The `maxelem` for `n` CIDRs, or `None` over [`BIG_MAXELEM`].
fn maxelem(n: usize) -> Option<usize> {
    match n {
        0..=DEFAULT_MAXELEM => Some(DEFAULT_MAXELEM),
        _ if n <= BIG_MAXELEM => Some(BIG_MAXELEM),
        _ => None,
    }
}

/// Checks `name` against ipset's rules (ipset(8); ipset 7.17 tested): a set name is
/// at most 31 bytes without blanks or `"`, and `-v4-tmp` is added here, so at most 24
/// printable ASCII characters other than `"`.
///
/// # Errors
/// [`Error::Name`] saying which rule the name breaks.
pub fn check_name(name: &str) -> Result<(), Error> {
    check_chars(
        FORMAT,
        name,
        24,
        |_, c| c != '"',
        "ipset names are printable ASCII without blanks or '\"'",
    )
}

/// The two set names for `name`.
pub fn set_names(name: &str) -> (String, String) {
    (format!("{name}-v4"), format!("{name}-v6"))
}

/// Appends `VERB SET CIDR END`.
fn line(out: &mut String, verb: &str, set: &str, n: &IpNet, end: &str) {
    out.push_str(verb);
    out.push_str(set);
    out.push(' ');
    push_net(out, n);
    out.push_str(end);
}

/// Renders `ipset restore` input. See the [module docs](self).
///
/// # Errors
/// [`Error::Name`] for a name ipset would refuse ([`check_name`]);
/// [`Error::Option`] for an unknown style, a `/0` prefix (hash:net cannot hold it), or
/// a family of more than [`BIG_MAXELEM`] CIDRs.
pub fn render(req: &Request<'_>) -> Result<Output, Error> {
    let name = req.options.name.as_str();
    check_name(name)?;
    let style = style(FORMAT, req, &["replace", "create"])?;
    let set = req.set;
    let all: Vec<IpNet> = set.cidrs().collect();
    if let Some(n) = all.iter().find(|n| n.prefix_len() == 0) {
        return Err(Error::Option {
            format: FORMAT,
            msg: format!(
                "{n} is everything: hash:net cannot hold a /0; use a firewall rule without a set"
            ),
        });
    }
    let mut out = String::with_capacity(256 + all.len() * 28);
    hash_comments(&mut out, &header_lines(&req.header, all.len()));
    let (n4, n6) = set_names(name);
    let families = [(&n4, "inet", true), (&n6, "inet6", false)];
    let of = |v4: bool| move |n: &&IpNet| matches!(n, IpNet::V4(_)) == v4;
    let mut notes = Vec::new();
    let mut maxelems = [DEFAULT_MAXELEM; 2];
    for ((setname, _, v4), m) in families.iter().zip(&mut maxelems) {
        let count = all.iter().filter(of(*v4)).count();
        *m = maxelem(count).ok_or_else(|| Error::Option {
            format: FORMAT,
            msg: format!("{setname} would hold {count} CIDRs: more than the {BIG_MAXELEM} (maxelem) this exporter creates sets with; split the selection (e.g. by --region)"),
        })?;
        if *m > DEFAULT_MAXELEM {
            notes.push(format!("{setname} holds {count} CIDRs, over ipset's default maxelem {DEFAULT_MAXELEM}: it is created with maxelem {m}; a live {setname} created smaller must be destroyed first (ipset destroy {setname})"));
        }
    }

    if let Some(old) = req.old {
        let (removed, added) = cover_changes(old, set);
        update_comment(&mut out, removed.len(), added.len());
        for (setname, _, v4) in families {
            for n in removed.iter().filter(of(v4)) {
                line(&mut out, "del ", setname, n, " -exist\n");
            }
            for n in added.iter().filter(of(v4)) {
                line(&mut out, "add ", setname, n, " -exist\n");
            }
        }
        return Ok(Output { text: out, notes });
    }

    for ((setname, family, v4), maxelem) in families.into_iter().zip(maxelems) {
        let nets: Vec<&IpNet> = all.iter().filter(of(v4)).collect();
        let create = |out: &mut String, n: &str| {
            let _ = writeln!(
                out,
                "create {n} hash:net family {family} hashsize 1024 maxelem {maxelem} -exist"
            );
        };
        match style {
            "create" => {
                create(&mut out, setname);
                for n in &nets {
                    line(&mut out, "add ", setname, n, " -exist\n");
                }
            }
            _ => {
                let tmp = format!("{setname}-tmp");
                create(&mut out, setname);
                create(&mut out, &tmp);
                let _ = writeln!(out, "flush {tmp}");
                for n in &nets {
                    line(&mut out, "add ", &tmp, n, "\n");
                }
                let _ = writeln!(out, "swap {tmp} {setname}");
                let _ = writeln!(out, "destroy {tmp}");
            }
        }
    }
    Ok(Output { text: out, notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maxelem_is_fixed_so_a_grown_set_still_reloads() {
        assert_eq!(maxelem(0), Some(DEFAULT_MAXELEM));
        assert_eq!(maxelem(9_000), maxelem(9_001));
        assert_eq!(maxelem(DEFAULT_MAXELEM), Some(DEFAULT_MAXELEM));
        assert_eq!(maxelem(DEFAULT_MAXELEM + 1), Some(BIG_MAXELEM));
        assert_eq!(maxelem(BIG_MAXELEM), Some(BIG_MAXELEM));
        assert_eq!(maxelem(BIG_MAXELEM + 1), None);
    }
}
