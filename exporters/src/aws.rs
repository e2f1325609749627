//! AWS outputs, as JSON for the `aws` CLI's `--cli-input-json` / `--ip-permissions`:
//! WAFv2 IP sets, VPC customer-managed prefix lists and security-group ingress rules.
//!
//! Every output is a JSON array with one item per AWS object (one per address family,
//! more when a set is split), so a script can feed each to the CLI:
//!
//! ```text
//! ipfence export --format aws-waf --service API_GATEWAY > sets.json
//! jq -c '.[]' sets.json | while read -r p; do aws wafv2 create-ip-set --cli-input-json "$p"; done
//! ```
//!
//! Limits (AWS documentation and botocore's service models): a WAF IP set takes at most
//! 10,000 addresses (CIDRs); a prefix list at most 1,000 entries, and one create or modify
//! call at most 100 entries to add and 100 to remove; a security group 60 inbound rules
//! per family by default, where each CIDR for each port range is one rule. Over a limit
//! the set is split across several objects, or with `summarize` fitted into one by
//! [`ipfence_core::budget::fit`] (the extra addresses are reported in the notes).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use alloc::collections::BTreeMap;
use ipfence_core::{budget, IpNet, PrefixSet};

use crate::json::Pretty;
use crate::{cover_changes, style, Error, Output, Request};

/// A WAF IP set holds at most this many addresses (CIDRs).
pub const WAF_MAX_ADDRESSES: usize = 10_000;
/// A prefix list holds at most this many entries.
pub const PREFIX_LIST_MAX_ENTRIES: usize = 1_000;
/// One create/modify-managed-prefix-list call adds (or removes) at most this many.
pub const PREFIX_LIST_ENTRIES_PER_CALL: usize = 100;
/// Default inbound rules per security group, per family.
pub const SECURITY_GROUP_RULES: usize = 60;

const PLACEHOLDER_ID: &str = "REPLACE-WITH-ID";
const PLACEHOLDER_LOCK: &str = "REPLACE-WITH-LOCK-TOKEN-FROM-GET-IP-SET";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fam {
    V4,
    V6,
}

impl Fam {
    fn suffix(self) -> &'static str {
        match self {
            Fam::V4 => "v4",
            Fam::V6 => "v6",
        }
    }
    fn part(self, set: &PrefixSet) -> PrefixSet {
        match self {
            Fam::V4 => set.ipv4(),
            Fam::V6 => set.ipv6(),
        }
    }
}

/// Families present in `set` (and in `old`, for an update), v4 first.
fn families(set: &PrefixSet, old: Option<&PrefixSet>) -> Vec<Fam> {
    let has = |f: Fam| !f.part(set).is_empty() || old.is_some_and(|o| !f.part(o).is_empty());
    [Fam::V4, Fam::V6].into_iter().filter(|f| has(*f)).collect()
}

/// Keeps only characters in `allowed` (plus ASCII letters and digits), others become
/// `-`; trims to `max` and to a non-blank first/last character.
fn clean(text: &str, allowed: &str, max: usize) -> String {
    let s: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || allowed.contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(max)
        .collect();
    String::from(s.trim())
}

/// The data the set came from, in words: `ipfence service=S3 from ip-ranges.json 2026-08-22-15-17-05 1787411825`.
fn description(req: &Request<'_>) -> String {
    let mut d = format!("ipfence {}", req.header.filter);
    for s in req.header.sources {
        d.push_str(" from ");
        d.push_str(s.name.rsplit('/').next().unwrap_or(&s.name));
        if let Some(c) = &s.create_date {
            d.push(' ');
            d.push_str(c);
        }
        if let Some(t) = &s.sync_token {
            d.push(' ');
            d.push_str(t);
        }
    }
    d
}

fn check_name(format: &'static str, name: &str, max: usize) -> Result<(), Error> {
    // WAF EntityName: ^[\w\-]+$, 1-128; we use the same rule for every AWS name, and
    // start it with a letter.
    crate::check_chars(
        format,
        name,
        max,
        |i, c| c.is_ascii_alphabetic() || (i > 0 && (c.is_ascii_digit() || matches!(c, '_' | '-'))),
        "use a letter, then letters, digits, '_', '-'",
    )
}

/// Splits or fits `nets` (one family's cover) into chunks of at most `max`.
fn chunks(
    format: &'static str,
    req: &Request<'_>,
    fam: Fam,
    max: usize,
    what: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<Vec<IpNet>>, Error> {
    let part = fam.part(req.set);
    let nets: Vec<IpNet> = part.cidrs().collect();
    if nets.len() <= max {
        return Ok(vec![nets]);
    }
    if max == 0 {
        return Err(Error::Option {
            format,
            msg: "--max-entries must be at least 1".into(),
        });
    }
    if req.options.summarize {
        let fit = budget::fit(&part, max)?;
        let extra = if fam == Fam::V4 {
            fit.extra_v4.to_string()
        } else {
            fit.extra_v6.to_string()
        };
        notes.push(format!(
            "{format}: IP{} set of {} CIDRs summarized into {} to fit one {what} of at most {max}: {extra} extra addresses allowed",
            fam.suffix(),
            nets.len(),
            fit.set.cidr_count()
        ));
        return Ok(vec![fit.set.cidrs().collect()]);
    }
    let parts: Vec<Vec<IpNet>> = nets.chunks(max).map(<[IpNet]>::to_vec).collect();
    notes.push(format!(
        "{format}: IP{} set of {} CIDRs split across {} {what}s of at most {max} (pass --summarize to fit one instead)",
        fam.suffix(),
        nets.len(),
        parts.len()
    ));
    Ok(parts)
}

fn object_name(name: &str, fam: Fam, i: usize, n: usize) -> String {
    if n == 1 {
        format!("{name}-{}", fam.suffix())
    } else {
        format!("{name}-{}-{}", fam.suffix(), i + 1)
    }
}

/// AWS WAFv2 IP sets. Styles: `create` (default; `aws wafv2 create-ip-set
/// --cli-input-json`), `update` (`update-ip-set`: the whole new address list, with `Id`
/// and `LockToken` from the options or placeholders), `cloudformation` (a template with
/// one `AWS::WAFv2::IPSet` per set). An update from an old set renders the `update`
/// style, since WAF replaces the whole list.
///
/// # Errors
/// [`Error::Name`] for a name outside `^[\w-]+$` or too long, [`Error::Option`] for a
/// scope other than REGIONAL or CLOUDFRONT or an id given when the set is split.
pub fn render_waf(req: &Request<'_>) -> Result<Output, Error> {
    const F: &str = "aws-waf";
    let name = req.options.name.as_str();
    check_name(F, name, 128 - 8)?;
    let scope = req.options.scope.as_str();
    if scope != "REGIONAL" && scope != "CLOUDFRONT" {
        return Err(Error::Option {
            format: F,
            msg: format!(
                "scope {:?}: expected REGIONAL or CLOUDFRONT",
                clean(scope, "", 40)
            ),
        });
    }
    let mut style = style(F, req, &["create", "update", "cloudformation"])?;
    if req.old.is_some() {
        style = "update";
    }
    let max = req.options.max_entries.unwrap_or(WAF_MAX_ADDRESSES);
    let mut notes = Vec::new();
    // EntityDescription: ^[\w+=:#@/\-,\.][\w+=:#@/\-,\.\s]+[\w+=:#@/\-,\.]$, 1-256.
    let desc = clean(&description(req), "_+=:#@/-,. ", 256);
    let mut sets = Vec::new();
    for fam in families(req.set, None) {
        let parts = chunks(F, req, fam, max, "IP set", &mut notes)?;
        let n = parts.len();
        for (i, nets) in parts.into_iter().enumerate() {
            let addresses: Vec<String> = nets.iter().map(ToString::to_string).collect();
            let version = if fam == Fam::V4 { "IPV4" } else { "IPV6" };
            sets.push((object_name(name, fam, i, n), version, addresses));
        }
    }
    if style == "update"
        && sets.len() > 1
        && (req.options.aws_id.is_some() || req.options.lock_token.is_some())
    {
        return Err(Error::Option { format: F, msg: format!("{} IP sets: an id and lock token name one; select one family and stay within the limit", sets.len()) });
    }
    // Object keys in sorted order, as serde_json's `Map` kept them.
    let mut j = Pretty::new();
    match style {
        "cloudformation" => {
            // One resource per logical name (a later set of the same name replaces an
            // earlier one), sorted by name.
            let mut resources = BTreeMap::new();
            for set in &sets {
                let logical: String = set.0.chars().filter(char::is_ascii_alphanumeric).collect();
                resources.insert(format!("IPSet{logical}"), set);
            }
            j.open('{');
            j.str_field("AWSTemplateFormatVersion", "2010-09-09");
            j.str_field("Description", &desc);
            j.key("Resources");
            j.open('{');
            for (logical, (set_name, version, addresses)) in &resources {
                j.key(logical);
                j.open('{');
                j.key("Properties");
                j.open('{');
                j.strs_field("Addresses", addresses);
                j.str_field("Description", &desc);
                j.str_field("IPAddressVersion", version);
                j.str_field("Name", set_name);
                j.str_field("Scope", scope);
                j.close('}');
                j.str_field("Type", "AWS::WAFv2::IPSet");
                j.close('}');
            }
            j.close('}');
            j.close('}');
        }
        "update" => {
            notes.push("aws-waf: update-ip-set replaces the whole address list; Id and LockToken come from `aws wafv2 get-ip-set` (or --aws-id / --lock-token)".into());
            let id = req.options.aws_id.as_deref().unwrap_or(PLACEHOLDER_ID);
            let lock = req
                .options
                .lock_token
                .as_deref()
                .unwrap_or(PLACEHOLDER_LOCK);
            j.open('[');
            for (n, _, a) in &sets {
                j.item();
                j.open('{');
                j.strs_field("Addresses", a);
                j.str_field("Description", &desc);
                j.str_field("Id", id);
                j.str_field("LockToken", lock);
                j.str_field("Name", n);
                j.str_field("Scope", scope);
                j.close('}');
            }
            j.close(']');
        }
        _ => {
            j.open('[');
            for (n, v, a) in &sets {
                j.item();
                j.open('{');
                j.strs_field("Addresses", a);
                j.str_field("Description", &desc);
                j.str_field("IPAddressVersion", v);
                j.str_field("Name", n);
                j.str_field("Scope", scope);
                j.close('}');
            }
            j.close(']');
        }
    };
    let text = j.finish();
    Ok(Output { text, notes })
}

/// A prefix, written as its text.
#[derive(Clone, Copy)]
struct Net(IpNet);

/// Typed payloads, each writing its own JSON (fields in declaration order, absent and
/// empty optional ones left out): building values for thousands of entries first cost
/// several times more.
struct PlEntry<'a> {
    cidr: Net,
    description: Option<&'a str>,
}

struct PlCreate<'a> {
    prefix_list_name: String,
    address_family: &'static str,
    max_entries: usize,
    entries: Vec<PlEntry<'a>>,
}

struct PlModify<'a> {
    prefix_list_id: &'a str,
    current_version: Option<u64>,
    max_entries: Option<usize>,
    add_entries: Vec<PlEntry<'a>>,
    remove_entries: Vec<PlEntry<'a>>,
}

struct PlItem<'a> {
    create: PlCreate<'a>,
    modify: Vec<PlModify<'a>>,
}

/// A payload that writes itself as JSON.
trait ToJson {
    fn to_json(&self, j: &mut Pretty);
}

impl<T: ToJson> ToJson for [T] {
    fn to_json(&self, j: &mut Pretty) {
        j.open('[');
        for x in self {
            j.item();
            x.to_json(j);
        }
        j.close(']');
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn to_json(&self, j: &mut Pretty) {
        self.as_slice().to_json(j);
    }
}

/// `"key": value`.
fn field<T: ToJson + ?Sized>(j: &mut Pretty, key: &str, value: &T) {
    j.key(key);
    value.to_json(j);
}

/// `"key": [...]`, left out when empty.
fn nonempty_field<T: ToJson>(j: &mut Pretty, key: &str, items: &[T]) {
    if !items.is_empty() {
        field(j, key, items);
    }
}

fn usize_num(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl ToJson for PlEntry<'_> {
    fn to_json(&self, j: &mut Pretty) {
        j.open('{');
        j.key("Cidr");
        j.display(self.cidr.0);
        if let Some(d) = self.description {
            j.str_field("Description", d);
        }
        j.close('}');
    }
}

impl ToJson for PlCreate<'_> {
    fn to_json(&self, j: &mut Pretty) {
        j.open('{');
        j.str_field("PrefixListName", &self.prefix_list_name);
        j.str_field("AddressFamily", self.address_family);
        j.key("MaxEntries");
        j.num(usize_num(self.max_entries));
        field(j, "Entries", &self.entries);
        j.close('}');
    }
}

impl ToJson for PlModify<'_> {
    fn to_json(&self, j: &mut Pretty) {
        j.open('{');
        j.str_field("PrefixListId", self.prefix_list_id);
        if let Some(v) = self.current_version {
            j.key("CurrentVersion");
            j.num(v);
        }
        if let Some(n) = self.max_entries {
            j.key("MaxEntries");
            j.num(usize_num(n));
        }
        nonempty_field(j, "AddEntries", &self.add_entries);
        nonempty_field(j, "RemoveEntries", &self.remove_entries);
        j.close('}');
    }
}

impl ToJson for PlItem<'_> {
    fn to_json(&self, j: &mut Pretty) {
        j.open('{');
        field(j, "create", &self.create);
        field(j, "modify", &self.modify);
        j.close('}');
    }
}

fn entries<'a>(nets: &[IpNet], desc: &'a str) -> Vec<PlEntry<'a>> {
    nets.iter()
        .map(|n| PlEntry {
            cidr: Net(*n),
            description: Some(desc),
        })
        .collect()
}

/// `v` as pretty JSON with a final newline.
fn pretty<T: ToJson + ?Sized>(v: &T) -> String {
    let mut j = Pretty::new();
    v.to_json(&mut j);
    j.finish()
}

/// AWS VPC customer-managed prefix lists. Without an old set: one item per list,
/// `{"create": <create-managed-prefix-list input>, "modify": [<modify inputs>]}` — a
/// create takes at most 100 entries, so the rest follow as modify calls against
/// versions 1, 2, ... of the new list (`PrefixListId` from the create's answer or
/// `--aws-id`). With an old set (one family): the modify calls that remove and add the
/// changed CIDRs, 100 of each per call, from `--current-version`; a first call raising
/// `MaxEntries` when the list grows.
///
/// # Errors
/// [`Error::Name`], [`Error::Option`] for an update without `current_version` or with
/// both families, or an update whose new list is over the limit.
pub fn render_prefix_list(req: &Request<'_>) -> Result<Output, Error> {
    const F: &str = "aws-prefix-list";
    let name = req.options.name.as_str();
    if name.starts_with("com.amazonaws") {
        return Err(Error::Name {
            format: F,
            name: format!("{name:?}"),
            why: "must not start with com.amazonaws (reserved by AWS)".into(),
        });
    }
    check_name(F, name, 255 - 8)?;
    style(F, req, &["create"])?;
    let max = req.options.max_entries.unwrap_or(PREFIX_LIST_MAX_ENTRIES);
    // Prefix list entry descriptions: up to 255 characters.
    let desc = clean(&description(req), "_+=:#@/-,. ()", 255);
    let mut notes = Vec::new();
    let id = req
        .options
        .aws_id
        .clone()
        .unwrap_or_else(|| PLACEHOLDER_ID.into());

    if let Some(old) = req.old {
        let fams = families(req.set, Some(old));
        let [fam] = fams.as_slice() else {
            return Err(Error::Option {
                format: F,
                msg: "a prefix list holds one family: select --ipv4 or --ipv6 for an update".into(),
            });
        };
        let Some(mut version) = req.options.current_version else {
            return Err(Error::Option { format: F, msg: "an update needs the list's current version: pass --current-version (from describe-managed-prefix-lists)".into() });
        };
        let (new_n, old_n) = (fam.part(req.set).cidr_count(), fam.part(old).cidr_count());
        if new_n > max {
            return Err(Error::Option { format: F, msg: format!("the new list has {new_n} entries, more than {max}: export in full with --summarize or split lists") });
        }
        let (removed, added) = cover_changes(&fam.part(old), &fam.part(req.set));
        let mut calls = Vec::new();
        if new_n > old_n {
            calls.push(PlModify {
                prefix_list_id: &id,
                current_version: None,
                max_entries: Some(new_n),
                add_entries: Vec::new(),
                remove_entries: Vec::new(),
            });
            notes.push(format!("{F}: the list grows from {old_n} to {new_n} entries: the first call raises MaxEntries (a resize is its own call)"));
        }
        let rounds = removed
            .len()
            .max(added.len())
            .div_ceil(PREFIX_LIST_ENTRIES_PER_CALL);
        for r in 0..rounds {
            let slice = |v: &[IpNet]| -> Vec<IpNet> {
                v.iter()
                    .skip(r * PREFIX_LIST_ENTRIES_PER_CALL)
                    .take(PREFIX_LIST_ENTRIES_PER_CALL)
                    .copied()
                    .collect()
            };
            let (rm, add) = (slice(&removed), slice(&added));
            calls.push(PlModify {
                prefix_list_id: &id,
                current_version: Some(version),
                max_entries: None,
                add_entries: entries(&add, &desc),
                remove_entries: rm
                    .iter()
                    .map(|n| PlEntry {
                        cidr: Net(*n),
                        description: None,
                    })
                    .collect(),
            });
            version += 1;
        }
        notes.push(format!(
            "{F}: {} removed, {} added in {rounds} modify call(s)",
            removed.len(),
            added.len()
        ));
        return Ok(Output {
            text: pretty(&calls),
            notes,
        });
    }

    let mut lists = Vec::new();
    for fam in families(req.set, None) {
        let parts = chunks(F, req, fam, max, "prefix list", &mut notes)?;
        let n = parts.len();
        for (i, nets) in parts.into_iter().enumerate() {
            let list_name = object_name(name, fam, i, n);
            let family = if fam == Fam::V4 { "IPv4" } else { "IPv6" };
            let mut batches = nets.chunks(PREFIX_LIST_ENTRIES_PER_CALL);
            let first = batches.next().unwrap_or_default();
            let create = PlCreate {
                prefix_list_name: list_name,
                address_family: family,
                max_entries: nets.len().max(1),
                entries: entries(first, &desc),
            };
            let modify = batches
                .enumerate()
                .map(|(v, b)| PlModify {
                    prefix_list_id: &id,
                    current_version: Some(v as u64 + 1),
                    max_entries: None,
                    add_entries: entries(b, &desc),
                    remove_entries: Vec::new(),
                })
                .collect();
            lists.push(PlItem { create, modify });
        }
    }
    Ok(Output {
        text: pretty(&lists),
        notes,
    })
}

/// Contiguous port ranges from a port list: `[80, 443, 444]` -> `[(80, 80), (443, 444)]`.
pub fn port_ranges(ports: &[u16]) -> Vec<(u16, u16)> {
    let mut p = ports.to_vec();
    p.sort_unstable();
    p.dedup();
    let mut out: Vec<(u16, u16)> = Vec::new();
    for x in p {
        match out.last_mut() {
            Some(last) if last.1.checked_add(1) == Some(x) => last.1 = x,
            _ => out.push((x, x)),
        }
    }
    out
}

struct Range4<'a> {
    cidr: Net,
    description: &'a str,
}

struct Range6<'a> {
    cidr: Net,
    description: &'a str,
}

struct Permission<'a> {
    ip_protocol: &'a str,
    from_port: Option<u16>,
    to_port: Option<u16>,
    ip_ranges: &'a [Range4<'a>],
    ipv6_ranges: &'a [Range6<'a>],
}

struct Group<'a> {
    group_name: String,
    ip_permissions: Vec<Permission<'a>>,
}

struct SgUpdate<'a> {
    authorize: Vec<Permission<'a>>,
    revoke: Vec<Permission<'a>>,
}

/// `{"<key>": "<cidr>", "Description": ...}` of a security-group range.
fn sg_range(j: &mut Pretty, key: &str, cidr: Net, description: &str) {
    j.open('{');
    j.key(key);
    j.display(cidr.0);
    j.str_field("Description", description);
    j.close('}');
}

impl ToJson for Range4<'_> {
    fn to_json(&self, j: &mut Pretty) {
        sg_range(j, "CidrIp", self.cidr, self.description);
    }
}

impl ToJson for Range6<'_> {
    fn to_json(&self, j: &mut Pretty) {
        sg_range(j, "CidrIpv6", self.cidr, self.description);
    }
}

impl ToJson for Permission<'_> {
    fn to_json(&self, j: &mut Pretty) {
        j.open('{');
        j.str_field("IpProtocol", self.ip_protocol);
        for (key, port) in [("FromPort", self.from_port), ("ToPort", self.to_port)] {
            if let Some(p) = port {
                j.key(key);
                j.num(u64::from(p));
            }
        }
        nonempty_field(j, "IpRanges", self.ip_ranges);
        nonempty_field(j, "Ipv6Ranges", self.ipv6_ranges);
        j.close('}');
    }
}

impl ToJson for Group<'_> {
    fn to_json(&self, j: &mut Pretty) {
        j.open('{');
        j.str_field("GroupName", &self.group_name);
        field(j, "IpPermissions", &self.ip_permissions);
        j.close('}');
    }
}

impl ToJson for SgUpdate<'_> {
    fn to_json(&self, j: &mut Pretty) {
        j.open('{');
        field(j, "Authorize", &self.authorize);
        field(j, "Revoke", &self.revoke);
        j.close('}');
    }
}

/// The CIDRs of one family as security-group ranges.
fn sg_ranges<'a>(v4: &[IpNet], v6: &[IpNet], desc: &'a str) -> (Vec<Range4<'a>>, Vec<Range6<'a>>) {
    (
        v4.iter()
            .map(|n| Range4 {
                cidr: Net(*n),
                description: desc,
            })
            .collect(),
        v6.iter()
            .map(|n| Range6 {
                cidr: Net(*n),
                description: desc,
            })
            .collect(),
    )
}

/// One permission per port range (or one for all traffic) over the same ranges.
fn permissions<'a>(
    req: &'a Request<'_>,
    r4: &'a [Range4<'a>],
    r6: &'a [Range6<'a>],
) -> Vec<Permission<'a>> {
    if r4.is_empty() && r6.is_empty() {
        return Vec::new();
    }
    let perm = |ip_protocol, from_port, to_port| Permission {
        ip_protocol,
        from_port,
        to_port,
        ip_ranges: r4,
        ipv6_ranges: r6,
    };
    if req.options.ports.is_empty() {
        return vec![perm("-1", None, None)];
    }
    crate::check_ports(&req.options.ports)
        .unwrap_or_default()
        .into_iter()
        .map(|r| perm(req.options.protocol.as_str(), Some(r.first), Some(r.last)))
        .collect()
}

/// AWS security-group ingress rules, as `--ip-permissions` JSON. Without an old set:
/// one item per group, `{"GroupName": ..., "IpPermissions": [...]}`, split across groups
/// when a family has more rules than `max_entries` (60) — each CIDR for each port range
/// is one rule — or fitted with `summarize`. With an old set: `{"Authorize": [...],
/// "Revoke": [...]}` for one group. No ports: all traffic (`IpProtocol` `-1`).
///
/// # Errors
/// [`Error::Name`], [`Error::Option`] for a protocol other than tcp/udp/icmp/-1, or an
/// update whose new rules do not fit one group.
pub fn render_security_group(req: &Request<'_>) -> Result<Output, Error> {
    const F: &str = "aws-security-group";
    let name = req.options.name.as_str();
    check_name(F, name, 255 - 8)?;
    style(F, req, &["authorize"])?;
    let proto = req.options.protocol.as_str();
    if !req.options.ports.is_empty() && !matches!(proto, "tcp" | "udp") {
        return Err(Error::Option {
            format: F,
            msg: format!(
                "protocol {:?} has no ports: use tcp or udp",
                clean(proto, "", 20)
            ),
        });
    }
    let ranges = crate::check_ports(&req.options.ports)?.len().max(1);
    let max_rules = req.options.max_entries.unwrap_or(SECURITY_GROUP_RULES);
    let per_group = max_rules / ranges;
    if per_group == 0 {
        return Err(Error::Option {
            format: F,
            msg: format!("{ranges} port ranges do not fit {max_rules} rules per group"),
        });
    }
    // Security group rule descriptions: up to 255 of a-zA-Z0-9 space ._-:/()#,@[]+=&;{}!$*
    let desc = clean(&description(req), " ._-:/()#,@[]+=&;{}!$*", 255);
    let mut notes = Vec::new();
    if let Some(old) = req.old {
        for fam in [Fam::V4, Fam::V6] {
            let n = fam.part(req.set).cidr_count();
            if n > per_group {
                return Err(Error::Option {
                    format: F,
                    msg: format!("the new set has {n} IP{} CIDRs, more than one group's {per_group} ({max_rules} rules / {ranges} port ranges): export in full to split or summarize", fam.suffix()),
                });
            }
        }
        let (removed, added) = cover_changes(old, req.set);
        let split = |v: &[IpNet]| -> (Vec<IpNet>, Vec<IpNet>) {
            v.iter().partition(|n| matches!(n, IpNet::V4(_)))
        };
        let (a4, a6) = split(&added);
        let (r4, r6) = split(&removed);
        let (add4, add6) = sg_ranges(&a4, &a6, &desc);
        let (rm4, rm6) = sg_ranges(&r4, &r6, &desc);
        let update = SgUpdate {
            authorize: permissions(req, &add4, &add6),
            revoke: permissions(req, &rm4, &rm6),
        };
        notes.push(format!(
            "{F}: authorize {} CIDRs, revoke {}",
            added.len(),
            removed.len()
        ));
        return Ok(Output {
            text: pretty(&update),
            notes,
        });
    }
    let mut p4 = chunks(F, req, Fam::V4, per_group, "security group", &mut notes)?;
    let mut p6 = chunks(F, req, Fam::V6, per_group, "security group", &mut notes)?;
    let groups = p4.len().max(p6.len());
    p4.resize(groups, Vec::new());
    p6.resize(groups, Vec::new());
    let group_ranges: Vec<_> = p4
        .iter()
        .zip(&p6)
        .map(|(v4, v6)| sg_ranges(v4, v6, &desc))
        .collect();
    let items: Vec<Group<'_>> = group_ranges
        .iter()
        .enumerate()
        .map(|(i, (r4, r6))| Group {
            group_name: if groups == 1 {
                String::from(name)
            } else {
                format!("{name}-{}", i + 1)
            },
            ip_permissions: permissions(req, r4, r6),
        })
        .collect();
    Ok(Output {
        text: pretty(&items),
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_merge() {
        assert_eq!(port_ranges(&[443, 80, 444, 80]), [(80, 80), (443, 444)]);
        assert_eq!(port_ranges(&[65535, 65534]), [(65534, 65535)]);
    }

    #[test]
    fn descriptions_keep_only_allowed_characters() {
        assert_eq!(
            clean("ipfence service=S3\n\"x\" é", "_+=:#@/-,. ", 256),
            "ipfence service=S3--x- -"
        );
        assert_eq!(clean(&"a".repeat(300), "", 256).len(), 256);
    }
}
