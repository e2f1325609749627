//! Web servers and proxies: nginx, Apache httpd, HAProxy and Caddy configuration
//! fragments, to include in the user's own configuration.
//!
//! Each file starts with the header and an `# enforces:` line saying what including it
//! does. Every format writes the minimal exact cover, IPv4 first, one CIDR per line.
//!
//! - [`render_nginx`], styles:
//!   - `access` (default): `allow CIDR;` lines then `deny all;`, to `include` in a
//!     `server` or `location`: only the listed sources pass its access phase (others get
//!     403). An empty selection is `deny all;` alone.
//!   - `geo`: a `geo $NAME { default 0; CIDR 1; }` block for the `http` context.
//!   - `real-ip`: `set_real_ip_from CIDR;` lines (ngx_http_realip_module): the client
//!     address is taken from `real_ip_header` only on connections from these sources.
//! - [`render_apache`], styles:
//!   - `require` (default): `<RequireAny>` with one `Require ip CIDR` per line, to
//!     `Include` in a `<Location>`/`<Directory>`: only the listed sources are granted.
//!   - `remote-ip`: `RemoteIPTrustedProxy CIDR` lines (mod_remoteip).
//! - [`render_haproxy`]: one CIDR per line, for `acl NAME src -f FILE` (also a map file's
//!   keys); HAProxy reads `#` lines as comments.
//! - [`render_caddy`], styles:
//!   - `matcher` (default): a named matcher `@NAME { remote_ip CIDR ... }` to `import`
//!     in a site block.
//!   - `trusted-proxies`: `trusted_proxies static CIDR ...` for the global `servers`
//!     option (Caddy 2.6.3 and later; Debian 12's 2.6.2 does not have it).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use ipfence_core::IpNet;

use crate::{check_chars, hash_comments, header_lines, push_net, style, Error, Output, Request};

/// The cover as a list, IPv4 first.
fn cover(req: &Request<'_>) -> Vec<IpNet> {
    req.set.cidrs().collect()
}

/// The header comment lines plus the `# enforces:` line.
fn head(out: &mut String, req: &Request<'_>, count: usize, enforces: &str) {
    hash_comments(out, &header_lines(&req.header, count));
    let _ = writeln!(out, "# enforces: {enforces}");
}

/// One `PREFIX CIDR SUFFIX\n` per CIDR.
fn lines(out: &mut String, nets: &[IpNet], prefix: &str, suffix: &str) {
    for n in nets {
        out.push_str(prefix);
        push_net(out, n);
        out.push_str(suffix);
        out.push('\n');
    }
}

fn done(text: String) -> Result<Output, Error> {
    Ok(Output {
        text,
        notes: Vec::new(),
    })
}

/// Refuses an incremental update: these files are included whole and reloaded.
fn no_update(format: &'static str, req: &Request<'_>) -> Result<(), Error> {
    if req.old.is_some() {
        return Err(Error::Option {
            format,
            msg: "has no incremental update: write the whole file and reload the server (drop --diff-from)".into(),
        });
    }
    Ok(())
}

/// Checks `name` as an nginx variable name (the `geo` style's `$NAME`): nginx reads a
/// variable name as letters, digits and `_` (ngx_http_script.c), up to 63 here.
///
/// # Errors
/// [`Error::Name`] saying which rule the name breaks.
pub fn check_nginx_name(name: &str) -> Result<(), Error> {
    check_chars(
        "nginx",
        name,
        63,
        |_, c| c.is_ascii_alphanumeric() || c == '_',
        "nginx variable names are letters, digits and '_'",
    )
}

/// Renders an nginx include. See the [module docs](self).
///
/// # Errors
/// [`Error::Name`] for a name nginx would misread, [`Error::Option`] for an unknown
/// style or an update.
pub fn render_nginx(req: &Request<'_>) -> Result<Output, Error> {
    const F: &str = "nginx";
    let name = req.options.name.as_str();
    check_nginx_name(name)?;
    no_update(F, req)?;
    let style = style(F, req, &["access", "geo", "real-ip"])?;
    let nets = cover(req);
    let mut out = String::with_capacity(512 + nets.len() * 30);
    match style {
        "geo" => {
            head(&mut out, req, nets.len(), &format!("nothing alone: ${name} is 1 for the listed sources and 0 for the others (http context); act on it, e.g. `if (${name} = 0) {{ return 403; }}`"));
            let _ = writeln!(out, "geo ${name} {{\n\tdefault 0;");
            lines(&mut out, &nets, "\t", " 1;");
            out.push_str("}\n");
        }
        "real-ip" => {
            head(&mut out, req, nets.len(), "the client address is taken from real_ip_header only on connections from the listed sources (set real_ip_header in your config)");
            lines(&mut out, &nets, "set_real_ip_from ", ";");
        }
        _ => {
            head(&mut out, req, nets.len(), "only the listed sources pass the access phase where this file is included; the others get 403");
            lines(&mut out, &nets, "allow ", ";");
            out.push_str("deny all;\n");
        }
    }
    done(out)
}

/// Renders an Apache httpd include. See the [module docs](self).
///
/// # Errors
/// [`Error::Option`] for an unknown style, an update, or an empty selection with the
/// `require` style (`<RequireAny>` needs a directive; Apache would refuse the file).
pub fn render_apache(req: &Request<'_>) -> Result<Output, Error> {
    const F: &str = "apache";
    no_update(F, req)?;
    let style = style(F, req, &["require", "remote-ip"])?;
    let nets = cover(req);
    let mut out = String::with_capacity(512 + nets.len() * 34);
    match style {
        "remote-ip" => {
            head(&mut out, req, nets.len(), "mod_remoteip takes the client address from RemoteIPHeader only on connections from the listed sources (set RemoteIPHeader in your config)");
            lines(&mut out, &nets, "RemoteIPTrustedProxy ", "");
        }
        _ => {
            if nets.is_empty() {
                return Err(Error::Option {
                    format: F,
                    msg: "the selection is empty: <RequireAny> needs at least one Require; use `Require all denied` to deny everyone".into(),
                });
            }
            head(&mut out, req, nets.len(), "only the listed sources are granted where this file is included (with no other Require beside it); the others get 403");
            out.push_str("<RequireAny>\n");
            lines(&mut out, &nets, "\tRequire ip ", "");
            out.push_str("</RequireAny>\n");
        }
    }
    done(out)
}

/// Renders an HAProxy pattern file. See the [module docs](self).
///
/// # Errors
/// [`Error::Option`] for an update.
pub fn render_haproxy(req: &Request<'_>) -> Result<Output, Error> {
    const F: &str = "haproxy";
    no_update(F, req)?;
    let nets = cover(req);
    let mut out = String::with_capacity(512 + nets.len() * 22);
    head(&mut out, req, nets.len(), "nothing alone: a pattern file; e.g. `acl allowed src -f FILE` and `http-request deny unless allowed`");
    lines(&mut out, &nets, "", "");
    done(out)
}

/// Checks `name` as a Caddy matcher name (`@NAME`): one Caddyfile token, kept here to
/// letters, digits, `_` and `-`, up to 63.
///
/// # Errors
/// [`Error::Name`] saying which rule the name breaks.
pub fn check_caddy_name(name: &str) -> Result<(), Error> {
    check_chars(
        "caddy",
        name,
        63,
        |_, c| c.is_ascii_alphanumeric() || c == '_' || c == '-',
        "caddy matcher names are letters, digits, '_' and '-'",
    )
}

/// Renders a Caddyfile snippet. See the [module docs](self).
///
/// # Errors
/// [`Error::Name`] for a name Caddy would misread, [`Error::Option`] for an unknown
/// style, an update, or an empty selection with the `matcher` style (`remote_ip` with no
/// range is refused by Caddy).
pub fn render_caddy(req: &Request<'_>) -> Result<Output, Error> {
    const F: &str = "caddy";
    let name = req.options.name.as_str();
    check_caddy_name(name)?;
    no_update(F, req)?;
    let style = style(F, req, &["matcher", "trusted-proxies"])?;
    let nets = cover(req);
    let mut out = String::with_capacity(512 + nets.len() * 22);
    match style {
        "trusted-proxies" => {
            head(&mut out, req, nets.len(), "the client address is taken from X-Forwarded-For only on connections from the listed sources (a line for the global `servers` option of Caddy 2.6.3 and later)");
            out.push_str("trusted_proxies static");
            if nets.is_empty() {
                // `static` with no range trusts no one.
                out.push('\n');
                return done(out);
            }
            for n in &nets {
                out.push(' ');
                push_net(&mut out, n);
            }
            out.push('\n');
        }
        _ => {
            if nets.is_empty() {
                return Err(Error::Option {
                    format: F,
                    msg: "the selection is empty: a remote_ip matcher needs at least one range"
                        .into(),
                });
            }
            head(&mut out, req, nets.len(), &format!("nothing alone: the matcher @{name} matches requests from the listed sources; e.g. `respond !@{name} 403`"));
            let _ = writeln!(out, "@{name} {{");
            lines(&mut out, &nets, "\tremote_ip ", "");
            out.push_str("}\n");
        }
    }
    done(out)
}
