//! Kubernetes clusters: a `NetworkPolicy` with `ipBlock` peers, a Calico
//! `GlobalNetworkSet` and a Cilium `CiliumCIDRGroup`, as YAML for `kubectl apply -f`.
//!
//! The YAML is written here, not by a serializer: every value is either a number, a
//! fixed word, or a name checked by [`check_name`] or a CIDR, and both of the latter
//! are written double-quoted, so no value can be read as another type (`"true"`,
//! `"1e3"`) or end its line.
//!
//! Every object carries the label `ipfence/set: NAME`, so the objects of one export
//! can be listed, pruned (`kubectl apply --prune -l ipfence/set=NAME`) or selected by a
//! Calico policy (`selector: ipfence/set == 'NAME'`).
//!
//! - [`render_kubernetes`]: `NetworkPolicy` objects (`networking.k8s.io/v1`) selecting
//!   every pod of the namespace they are applied in (`podSelector: {}`), styles
//!   `ingress` (default, `from` peers) or `egress` (`to` peers), with `--ports` as the
//!   rule's ports (`endPort` for a range). More than `max_entries` peers (default
//!   [`K8S_MAX_PEERS`]) are split across objects `NAME`, `NAME-2`, ...: policies add up,
//!   so the split allows exactly the same traffic.
//! - [`render_calico`]: one `GlobalNetworkSet` (`projectcalico.org/v3`, `spec.nets`).
//! - [`render_cilium`]: one `CiliumCIDRGroup` (`spec.externalCIDRs`), style `v2alpha1`
//!   (default, Cilium 1.13 and later) or `v2` (Cilium 1.18 and later).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use ipfence_core::IpNet;

use crate::{
    bad_name, check_ports, hash_comments, header_lines, push_net, style, Error, Output, Request,
};

/// Peers per `NetworkPolicy` object by default. `kubectl apply` keeps a copy of the
/// object in an annotation, and all annotations of an object must fit in 256 KiB; an
/// `ipBlock` peer takes about 45 bytes there, so 1,000 peers stay well inside it.
pub const K8S_MAX_PEERS: usize = 1_000;

/// Longest name: a label value holds 63 characters, and a split `NetworkPolicy` adds
/// up to `-NNNN`.
const MAX_NAME: usize = 58;

/// Checks `name` as a Kubernetes object name and label value: a DNS-1123 subdomain
/// (lowercase letters, digits, `-`, parts separated by `.`, each part starting and
/// ending with a letter or digit) of at most 58 characters (a label value holds 63, and
/// a split policy's parts add `-N`).
///
/// # Errors
/// [`Error::Name`] saying which rule the name breaks.
pub fn check_name(format: &'static str, name: &str) -> Result<(), Error> {
    let rule = "Kubernetes names are lowercase letters, digits and '-', in parts separated by '.', each starting and ending with a letter or digit";
    if name.is_empty() {
        return Err(bad_name(format, name, "is empty".into()));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        return Err(bad_name(
            format,
            name,
            format!("{c:?} is not allowed: {rule}"),
        ));
    }
    let edge = |p: &str| {
        p.starts_with(|c: char| c.is_ascii_alphanumeric())
            && p.ends_with(|c: char| c.is_ascii_alphanumeric())
    };
    if !name.split('.').all(edge) {
        return Err(bad_name(format, name, rule.into()));
    }
    if name.len() > MAX_NAME {
        return Err(bad_name(
            format,
            name,
            format!(
                "is {} characters long; at most {MAX_NAME} fit here",
                name.len()
            ),
        ));
    }
    Ok(())
}

fn head(out: &mut String, req: &Request<'_>, count: usize, enforces: &str) {
    hash_comments(out, &header_lines(&req.header, count));
    let _ = writeln!(out, "# enforces: {enforces}");
}

fn no_update(format: &'static str, req: &Request<'_>) -> Result<(), Error> {
    if req.old.is_some() {
        return Err(Error::Option {
            format,
            msg: "has no incremental update: kubectl apply the whole file (drop --diff-from)"
                .into(),
        });
    }
    Ok(())
}

/// `metadata` with the name and the `ipfence/set` label.
fn metadata(out: &mut String, name: &str, set: &str) {
    let _ = writeln!(
        out,
        "metadata:\n  name: \"{name}\"\n  labels:\n    ipfence/set: \"{set}\""
    );
}

/// `INDENT- "CIDR"` per CIDR.
fn cidr_list(out: &mut String, indent: &str, nets: &[IpNet]) {
    for n in nets {
        out.push_str(indent);
        out.push_str("- \"");
        push_net(out, n);
        out.push_str("\"\n");
    }
}

/// Renders `NetworkPolicy` objects. See the [module docs](self).
///
/// # Errors
/// [`Error::Name`] for a name Kubernetes would refuse, [`Error::Option`] for an unknown
/// style, an update, a protocol other than tcp, udp or sctp, or `max_entries` 0.
pub fn render_kubernetes(req: &Request<'_>) -> Result<Output, Error> {
    const F: &str = "kubernetes";
    let name = req.options.name.as_str();
    check_name(F, name)?;
    no_update(F, req)?;
    let style = style(F, req, &["ingress", "egress"])?;
    let ports = check_ports(&req.options.ports)?;
    let proto = match req.options.protocol.as_str() {
        "tcp" => "TCP",
        "udp" => "UDP",
        "sctp" => "SCTP",
        p => {
            return Err(Error::Option {
                format: F,
                msg: format!(
                    "protocol {:?}: NetworkPolicy ports take tcp, udp or sctp",
                    p.chars().take(20).collect::<String>()
                ),
            })
        }
    };
    let max = req.options.max_entries.unwrap_or(K8S_MAX_PEERS);
    if max == 0 {
        return Err(Error::Option {
            format: F,
            msg: "--max-entries 0: a policy needs room for at least one peer".into(),
        });
    }
    let nets: Vec<IpNet> = req.set.cidrs().collect();
    let (kind, peers, dir, whom) = match style {
        "egress" => (
            "Egress",
            "to",
            "egress",
            "may reach only the listed destinations",
        ),
        _ => (
            "Ingress",
            "from",
            "ingress",
            "may be reached only from the listed sources",
        ),
    };
    let (whom, port_words) = if nets.is_empty() {
        // No rule at all: nothing is allowed, on any port.
        (
            if dir == "egress" {
                "may reach nothing"
            } else {
                "may be reached from nowhere"
            },
            String::from("(the selection is empty)"),
        )
    } else if ports.is_empty() {
        (whom, String::from("on every port"))
    } else {
        let list: Vec<String> = ports.iter().map(|p| format!("{p}")).collect();
        (
            whom,
            format!("on {} ports {}", req.options.protocol, list.join(",")),
        )
    };
    let mut out = String::with_capacity(1024 + nets.len() * 48);
    head(&mut out, req, nets.len(), &format!("the pods of the namespace the objects are applied in {whom} {port_words}; all their other {dir} traffic, in-cluster included, is dropped unless another NetworkPolicy allows it"));
    let parts: Vec<&[IpNet]> = if nets.is_empty() {
        // No rule at all: the pods are isolated. A rule without peers would allow all.
        alloc::vec![&[][..]]
    } else {
        nets.chunks(max).collect()
    };
    for (i, part) in parts.iter().enumerate() {
        let object = if i == 0 {
            String::from(name)
        } else {
            format!("{name}-{}", i + 1)
        };
        out.push_str("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n");
        metadata(&mut out, &object, name);
        let _ = writeln!(
            out,
            "spec:\n  podSelector: {{}}\n  policyTypes:\n    - {kind}"
        );
        if part.is_empty() {
            let _ = writeln!(out, "  {dir}: []");
            continue;
        }
        let _ = writeln!(out, "  {dir}:\n    - {peers}:");
        for n in *part {
            out.push_str("        - ipBlock:\n            cidr: \"");
            push_net(&mut out, n);
            out.push_str("\"\n");
        }
        if !ports.is_empty() {
            out.push_str("      ports:\n");
            for p in &ports {
                let _ = writeln!(
                    out,
                    "        - protocol: {proto}\n          port: {}",
                    p.first
                );
                if p.last != p.first {
                    let _ = writeln!(out, "          endPort: {}", p.last);
                }
            }
        }
    }
    let mut notes = Vec::new();
    if parts.len() > 1 {
        notes.push(format!(
            "split into {} NetworkPolicy objects of at most {max} peers ({name}, {name}-2, ...); remove older parts with kubectl apply --prune -l ipfence/set={name}",
            parts.len()
        ));
    }
    Ok(Output { text: out, notes })
}

/// Renders a Calico `GlobalNetworkSet`. See the [module docs](self).
///
/// # Errors
/// [`Error::Name`] for a name Kubernetes would refuse, [`Error::Option`] for an update.
pub fn render_calico(req: &Request<'_>) -> Result<Output, Error> {
    const F: &str = "calico";
    let name = req.options.name.as_str();
    check_name(F, name)?;
    no_update(F, req)?;
    let nets: Vec<IpNet> = req.set.cidrs().collect();
    let mut out = String::with_capacity(512 + nets.len() * 26);
    head(&mut out, req, nets.len(), &format!("nothing alone: a set of networks; a Calico policy uses it with the selector ipfence/set == '{name}'"));
    out.push_str("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\n");
    metadata(&mut out, name, name);
    if nets.is_empty() {
        out.push_str("spec:\n  nets: []\n");
    } else {
        out.push_str("spec:\n  nets:\n");
        cidr_list(&mut out, "    ", &nets);
    }
    Ok(Output {
        text: out,
        notes: Vec::new(),
    })
}

/// Renders a Cilium `CiliumCIDRGroup`. See the [module docs](self).
///
/// # Errors
/// [`Error::Name`] for a name Kubernetes would refuse, [`Error::Option`] for an unknown
/// style or an update.
pub fn render_cilium(req: &Request<'_>) -> Result<Output, Error> {
    const F: &str = "cilium";
    let name = req.options.name.as_str();
    check_name(F, name)?;
    no_update(F, req)?;
    let version = style(F, req, &["v2alpha1", "v2"])?;
    let nets: Vec<IpNet> = req.set.cidrs().collect();
    let mut out = String::with_capacity(512 + nets.len() * 26);
    head(&mut out, req, nets.len(), &format!("nothing alone: a CIDR group; a Cilium policy uses it with fromCIDRSet/toCIDRSet: [{{cidrGroupRef: {name}}}]"));
    let _ = writeln!(
        out,
        "apiVersion: cilium.io/{version}\nkind: CiliumCIDRGroup"
    );
    metadata(&mut out, name, name);
    if nets.is_empty() {
        out.push_str("spec:\n  externalCIDRs: []\n");
    } else {
        out.push_str("spec:\n  externalCIDRs:\n");
        cidr_list(&mut out, "    ", &nets);
    }
    Ok(Output {
        text: out,
        notes: Vec::new(),
    })
}
