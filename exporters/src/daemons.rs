//! Routers and ban daemons: a MikroTik RouterOS script, a fail2ban `ignoreip` include
//! and a CrowdSec whitelist.
//!
//! - [`render_mikrotik`]: a RouterOS script for `/import`: the address list `NAME`
//!   (`/ip firewall address-list` for IPv4, `/ipv6 firewall address-list` for IPv6) is
//!   emptied and filled with the cover. With an old set, the update instead: the new
//!   CIDRs are added first, then those that left the cover removed, so the list never
//!   lacks an address both versions hold. An IPv4 `/32` is written as the bare address,
//!   as RouterOS shows it (so `find address=` matches it).
//! - [`render_fail2ban`]: a `jail.d/NAME.local` file setting `ignoreip` (one address a
//!   continuation line) in section `NAME`: a jail's name, or `DEFAULT` for every jail
//!   that does not set its own.
//! - [`render_crowdsec`]: a parser of the `s02-enrich` stage (CrowdSec 1.4, the version
//!   Debian 12 ships; the format is unchanged in 1.5 and 1.6) with a `whitelist` of the
//!   cover's CIDRs: events from them are discarded before any scenario sees them.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use ipfence_core::IpNet;

use crate::{
    check_chars, cover_changes, hash_comments, header_lines, push_net, update_comment, Error,
    Output, Request,
};

fn head(out: &mut String, req: &Request<'_>, count: usize, enforces: &str) {
    hash_comments(out, &header_lines(&req.header, count));
    let _ = writeln!(out, "# enforces: {enforces}");
}

fn no_update(format: &'static str, req: &Request<'_>) -> Result<(), Error> {
    if req.old.is_some() {
        return Err(Error::Option {
            format,
            msg: "has no incremental update: write the whole file and reload (drop --diff-from)"
                .into(),
        });
    }
    Ok(())
}

/// Checks `name` as a RouterOS address-list name: it is written quoted, and ipfence
/// keeps it to letters, digits, `_`, `-`, `.`, up to 63 characters, so it needs no
/// escaping in a script (RouterOS reads `$`, `\` and `"` inside quotes).
///
/// # Errors
/// [`Error::Name`] saying which rule the name breaks.
pub fn check_mikrotik_name(name: &str) -> Result<(), Error> {
    check_chars(
        "mikrotik",
        name,
        63,
        |_, c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'),
        "RouterOS address-list names here are letters, digits, '_', '-' and '.'",
    )
}

/// `address=` value: an IPv4 host without `/32`, as RouterOS stores it.
fn routeros_addr(out: &mut String, n: &IpNet) {
    let start = out.len();
    push_net(out, n);
    if matches!(n, IpNet::V4(_)) && out.ends_with("/32") {
        out.truncate(out.len() - 3);
    }
    debug_assert!(out.len() > start);
}

const MENUS: [(&str, bool); 2] = [
    ("/ip firewall address-list", true),
    ("/ipv6 firewall address-list", false),
];

/// Renders a RouterOS script. See the [module docs](self).
///
/// # Errors
/// [`Error::Name`] for a name outside [`check_mikrotik_name`]'s rules.
pub fn render_mikrotik(req: &Request<'_>) -> Result<Output, Error> {
    let name = req.options.name.as_str();
    check_mikrotik_name(name)?;
    let nets: Vec<IpNet> = req.set.cidrs().collect();
    let v4 = |n: &&IpNet| matches!(n, IpNet::V4(_));
    let mut out = String::with_capacity(512 + nets.len() * 60);
    let add = |out: &mut String, n: &IpNet| {
        let _ = write!(out, "add list=\"{name}\" address=");
        routeros_addr(out, n);
        out.push('\n');
    };
    if let Some(old) = req.old {
        let (removed, added) = cover_changes(old, req.set);
        head(&mut out, req, nets.len(), &format!("nothing alone: updates the address lists \"{name}\" (IPv4 and IPv6) from the previous version to this one, adding before removing; firewall rules use src-address-list={name}"));
        update_comment(&mut out, removed.len(), added.len());
        for (menu, is_v4) in MENUS {
            let fam = |n: &&IpNet| v4(n) == is_v4;
            if !added.iter().chain(&removed).any(|n| fam(&n)) {
                continue;
            }
            let _ = writeln!(out, "{menu}");
            for n in added.iter().filter(fam) {
                add(&mut out, n);
            }
            for n in removed.iter().filter(fam) {
                let _ = write!(out, "remove [find list=\"{name}\" address=\"");
                routeros_addr(&mut out, n);
                out.push_str("\"]\n");
            }
        }
        return Ok(Output {
            text: out,
            notes: Vec::new(),
        });
    }
    head(&mut out, req, nets.len(), &format!("nothing alone: replaces the address lists \"{name}\" (IPv4 and IPv6) with the listed addresses (for a first load: between the removal and the adds the lists are incomplete; update with --diff-from); firewall rules use src-address-list={name}"));
    for (menu, is_v4) in MENUS {
        let _ = writeln!(out, "{menu}\nremove [find list=\"{name}\"]");
        for n in nets.iter().filter(|n| v4(n) == is_v4) {
            add(&mut out, n);
        }
    }
    Ok(Output {
        text: out,
        notes: Vec::new(),
    })
}

/// Checks `name` as a fail2ban section name (a jail's name or `DEFAULT`): letters,
/// digits, `_`, `-`, `.`, up to 63 (a section header ends at `]`; fail2ban's jail
/// names are used in its socket commands and ban actions' chain names).
///
/// # Errors
/// [`Error::Name`] saying which rule the name breaks.
pub fn check_fail2ban_name(name: &str) -> Result<(), Error> {
    check_chars(
        "fail2ban",
        name,
        63,
        |_, c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'),
        "fail2ban jail names are letters, digits, '_', '-' and '.'",
    )
}

/// Renders a fail2ban `jail.d` include. See the [module docs](self).
///
/// # Errors
/// [`Error::Name`] for a bad section name, [`Error::Option`] for an update.
pub fn render_fail2ban(req: &Request<'_>) -> Result<Output, Error> {
    let name = req.options.name.as_str();
    check_fail2ban_name(name)?;
    no_update("fail2ban", req)?;
    let nets: Vec<IpNet> = req.set.cidrs().collect();
    let whom = if name == "DEFAULT" {
        String::from("every jail that does not set its own ignoreip")
    } else {
        format!("jail {name}")
    };
    let mut out = String::with_capacity(512 + nets.len() * 24);
    head(&mut out, req, nets.len(), &format!("{whom} never bans the listed addresses; this ignoreip replaces one set in files read before it (jail.conf, jail.d/*.conf, jail.local, earlier jail.d/*.local)"));
    let _ = write!(out, "[{name}]\nignoreip =");
    for n in &nets {
        out.push_str("\n\t");
        push_net(&mut out, n);
    }
    out.push('\n');
    Ok(Output {
        text: out,
        notes: Vec::new(),
    })
}

/// Checks `name` as the last part of a CrowdSec parser name (`ipfence/NAME`): letters,
/// digits, `_`, `-`, `.`, up to 63 (the hub's names; it is also the file name).
///
/// # Errors
/// [`Error::Name`] saying which rule the name breaks.
pub fn check_crowdsec_name(name: &str) -> Result<(), Error> {
    check_chars(
        "crowdsec",
        name,
        63,
        |_, c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'),
        "CrowdSec parser names are letters, digits, '_', '-' and '.'",
    )
}

/// Renders a CrowdSec whitelist parser. See the [module docs](self).
///
/// # Errors
/// [`Error::Name`] for a bad name, [`Error::Option`] for an update.
pub fn render_crowdsec(req: &Request<'_>) -> Result<Output, Error> {
    let name = req.options.name.as_str();
    check_crowdsec_name(name)?;
    no_update("crowdsec", req)?;
    let nets: Vec<IpNet> = req.set.cidrs().collect();
    let mut out = String::with_capacity(512 + nets.len() * 26);
    head(&mut out, req, nets.len(), "events from the listed addresses are whitelisted (discarded) in the parsers' s02-enrich stage, so no scenario bans them; install as /etc/crowdsec/parsers/s02-enrich/NAME.yaml");
    let _ = writeln!(
        out,
        "name: \"ipfence/{name}\"\ndescription: \"addresses exempted by ipfence\"\nwhitelist:\n  reason: \"ipfence {name}\"\n  ip: []"
    );
    if nets.is_empty() {
        out.push_str("  cidr: []\n");
    } else {
        out.push_str("  cidr:\n");
        for n in &nets {
            out.push_str("    - \"");
            push_net(&mut out, n);
            out.push_str("\"\n");
        }
    }
    Ok(Output {
        text: out,
        notes: Vec::new(),
    })
}
