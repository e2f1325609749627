//! Bringing one target to its new set: the local tools (`nft`, `ipset`, `pfctl`) with the
//! files the exporters write, and AWS objects through the `aws` CLI.
//!
//! Every step converges when repeated: a rerun after a failure or a kill reaches the
//! same end state. Local targets take the incremental file when there is a last applied
//! set, and the full atomic file otherwise or when the tool refuses the increment (the
//! live set drifted). AWS targets are diffed against what AWS reports, not the state.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use ipfence::core::{IpNet, PrefixSet};
use ipfence_exporters::{export, Format, Header, Options, PortRange, Request};
use serde_json::{json, Value};

use super::config::{AwsCli, Target};

/// The exporter options of a target.
pub fn options(t: &Target) -> Options {
    Options {
        name: t.name.clone(),
        style: match t.format {
            Format::Pf => Some("table".into()),
            _ => None,
        },
        ports: t.ports.iter().map(|&p| p.into()).collect(),
        protocol: t.protocol.clone(),
        scope: t.scope.clone(),
        max_entries: t.max_entries,
        summarize: false,
        aws_id: t.id.clone(),
        lock_token: None,
        current_version: None,
    }
}

/// Renders `set` (or the update from `old`) for `t`.
pub fn render(
    t: &Target,
    set: &PrefixSet,
    old: Option<&PrefixSet>,
    header: Header<'_>,
    options: &Options,
) -> Result<String> {
    let req = Request {
        set,
        old,
        header,
        options,
    };
    let out = export(t.format, &req).with_context(|| format!("target {:?}", t.name))?;
    for note in &out.notes {
        eprintln!("ipfence: target {:?}: {note}", t.name);
    }
    Ok(out.text)
}

/// Runs `program args...`, failing with its stderr.
pub(super) fn run(cmd: &[String], args: &[&str]) -> Result<String> {
    let (program, lead) = cmd.split_first().context("empty command")?;
    let shown = cmd
        .iter()
        .map(String::as_str)
        .chain(
            args.iter()
                .copied()
                .map(|a| if a.len() > 200 { "..." } else { a }),
        )
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new(program)
        .args(lead)
        .args(args)
        .output()
        .with_context(|| format!("cannot run `{shown}` (is {program} installed and on PATH?)"))?;
    if !out.status.success() {
        bail!(
            "`{shown}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A temporary file holding `text`, removed when dropped.
pub fn temp_file(text: &str) -> Result<tempfile::NamedTempFile> {
    let mut f = tempfile::Builder::new()
        .prefix("ipfence-sync-")
        .tempfile()
        .context("cannot create a temporary file")?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.flush())
        .context("cannot write a temporary file")?;
    Ok(f)
}

/// Applies a local target: `full` is the path of the complete file (already written),
/// `update` the incremental text when there is a last applied set. Returns what was done.
pub fn local(t: &Target, full: &Path, update: Option<&str>) -> Result<String> {
    let format = t.format;
    let default = match format {
        Format::Nftables => "nft",
        Format::Ipset => "ipset",
        Format::Pf => "pfctl",
        _ => bail!("{} targets are not applied locally", format.name()),
    };
    let cmd = t.command.clone().unwrap_or_else(|| vec![default.into()]);
    let full_str = full.to_string_lossy();
    let apply_file = |path: &str| -> Result<String> {
        match format {
            Format::Nftables => run(&cmd, &["-f", path]),
            Format::Ipset => run(&cmd, &["restore", "-file", path]),
            _ => run(&cmd, &["-t", &t.name, "-T", "replace", "-f", path]),
        }
    };
    if let (Some(text), true) = (update, format != Format::Pf) {
        let tmp = temp_file(text)?;
        match apply_file(&tmp.path().to_string_lossy()) {
            Ok(_) => return Ok("incremental update applied".into()),
            Err(e) => {
                eprintln!(
                    "ipfence: target {:?}: the incremental update was refused ({e:#}); applying the full file instead",
                    t.name
                );
            }
        }
    }
    apply_file(&full_str)?;
    Ok("full file applied".into())
}

/// Runs the `aws` CLI with JSON output.
struct Aws<'a> {
    cli: &'a AwsCli,
}

impl Aws<'_> {
    fn call(&self, args: &[&str]) -> Result<Value> {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--output", "json"]);
        if let Some(r) = &self.cli.region {
            all.extend(["--region", r]);
        }
        if let Some(p) = &self.cli.profile {
            all.extend(["--profile", p]);
        }
        if let Some(u) = &self.cli.endpoint_url {
            all.extend(["--endpoint-url", u]);
        }
        let out = run(&self.cli.command, &all)?;
        if out.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&out).with_context(|| {
            format!(
                "aws {}: the answer is not JSON",
                args[..2.min(args.len())].join(" ")
            )
        })
    }
}

fn cidr_set<'a>(cidrs: impl IntoIterator<Item = &'a Value>, what: &str) -> Result<PrefixSet> {
    let mut nets = Vec::new();
    for c in cidrs {
        let s = c.as_str().unwrap_or_default();
        let n: IpNet = s
            .parse()
            .map_err(|_| anyhow::anyhow!("{what}: AWS answered {c}, not a CIDR"))?;
        nets.push(n);
    }
    Ok(nets.into_iter().collect())
}

/// Applies an AWS target and returns what was done.
pub fn aws(t: &Target, cli: &AwsCli, set: &PrefixSet, header: Header<'_>) -> Result<String> {
    let aws = Aws { cli };
    let id = t.id.as_deref().context("an AWS target needs id")?;
    match t.format {
        Format::AwsWaf => waf(t, &aws, id, set, header),
        Format::AwsPrefixList => prefix_list(t, &aws, id, set, header),
        _ => security_group(t, &aws, id, set, header),
    }
}

/// The live sets of an AWS target: the WAF IP set's addresses, the prefix list's
/// entries, or the security group's ipfence rules, one set per port range.
pub fn aws_live(t: &Target, cli: &AwsCli) -> Result<Vec<PrefixSet>> {
    let aws = Aws { cli };
    let id = t.id.as_deref().context("an AWS target needs id")?;
    match t.format {
        Format::AwsWaf => {
            let got = waf_get(t, &aws, id)?;
            Ok(vec![cidr_set(
                got["IPSet"]["Addresses"].as_array().into_iter().flatten(),
                "wafv2 get-ip-set",
            )?])
        }
        Format::AwsPrefixList => Ok(vec![prefix_list_entries(&aws, id)?]),
        _ => Ok(security_group_rules(t, &aws, id)?
            .into_iter()
            .map(|(_, s)| s)
            .collect()),
    }
}

fn waf_get(t: &Target, aws: &Aws<'_>, id: &str) -> Result<Value> {
    aws.call(&[
        "wafv2",
        "get-ip-set",
        "--name",
        &t.name,
        "--scope",
        &t.scope,
        "--id",
        id,
    ])
}

/// WAF replaces the whole list; the LockToken makes a concurrent change fail, and then
/// the get + update is retried.
fn waf(t: &Target, aws: &Aws<'_>, id: &str, set: &PrefixSet, header: Header<'_>) -> Result<String> {
    const TRIES: usize = 4;
    for attempt in 1..=TRIES {
        let got = waf_get(t, aws, id)?;
        let lock = got["LockToken"]
            .as_str()
            .context("wafv2 get-ip-set: no LockToken in the answer")?;
        let mut opts = options(t);
        opts.style = Some("update".into());
        opts.lock_token = Some(lock.into());
        let text = render(t, set, None, header, &opts)?;
        let items: Value = serde_json::from_str(&text).context("the exporter's WAF payload")?;
        let mut item = match items.as_array().and_then(|a| a.first()) {
            Some(i) => i.clone(),
            None => json!({"Scope": t.scope, "Id": id, "LockToken": lock, "Addresses": []}),
        };
        item["Name"] = json!(t.name);
        let payload = item.to_string();
        match aws.call(&["wafv2", "update-ip-set", "--cli-input-json", &payload]) {
            Ok(_) => {
                return Ok(format!(
                    "WAF IP set {} updated to {} addresses",
                    t.name,
                    set.cidr_count()
                ))
            }
            Err(e)
                if attempt < TRIES && format!("{e:#}").contains("WAFOptimisticLockException") =>
            {
                eprintln!(
                    "ipfence: target {:?}: the IP set changed meanwhile (WAFOptimisticLockException); getting it again",
                    t.name
                );
            }
            Err(e) => return Err(e),
        }
    }
    bail!("the WAF IP set kept changing under ipfence ({TRIES} tries)")
}

/// Waits until a prefix list is no longer being modified; returns its description.
fn prefix_list_ready(aws: &Aws<'_>, id: &str) -> Result<Value> {
    for _ in 0..120 {
        let d = aws.call(&[
            "ec2",
            "describe-managed-prefix-lists",
            "--prefix-list-ids",
            id,
        ])?;
        let pl = d["PrefixLists"]
            .get(0)
            .cloned()
            .with_context(|| format!("prefix list {id} not found"))?;
        let state = pl["State"].as_str().unwrap_or("");
        if !state.ends_with("in-progress") {
            if state.ends_with("failed") {
                bail!(
                    "prefix list {id} is in state {state}: {}",
                    pl["StateMessage"].as_str().unwrap_or("")
                );
            }
            return Ok(pl);
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    bail!("prefix list {id} stayed in progress for a minute")
}

fn prefix_list_entries(aws: &Aws<'_>, id: &str) -> Result<PrefixSet> {
    let entries = aws.call(&[
        "ec2",
        "get-managed-prefix-list-entries",
        "--prefix-list-id",
        id,
    ])?;
    cidr_set(
        entries["Entries"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| &e["Cidr"]),
        "get-managed-prefix-list-entries",
    )
}

fn prefix_list(
    t: &Target,
    aws: &Aws<'_>,
    id: &str,
    set: &PrefixSet,
    header: Header<'_>,
) -> Result<String> {
    let pl = prefix_list_ready(aws, id)?;
    let live = prefix_list_entries(aws, id)?;
    if live == *set {
        return Ok(format!("prefix list {id} already holds the set"));
    }
    let max = pl["MaxEntries"].as_u64().unwrap_or(0);
    let needed = set.cidr_count() as u64;
    let pl = if needed > max {
        aws.call(&[
            "ec2",
            "modify-managed-prefix-list",
            "--prefix-list-id",
            id,
            "--max-entries",
            &needed.to_string(),
        ])
        .with_context(|| format!("raising MaxEntries of {id} from {max} to {needed}"))?;
        prefix_list_ready(aws, id)?
    } else {
        pl
    };
    let version_of = |pl: &Value| {
        pl["Version"]
            .as_u64()
            .with_context(|| format!("prefix list {id}: no Version"))
    };
    let mut version = version_of(&pl)?;
    let mut opts = options(t);
    opts.current_version = Some(version);
    opts.max_entries = Some(usize::try_from(max.max(needed)).unwrap_or(usize::MAX));
    let text = render(t, set, Some(&live), header, &opts)?;
    let calls: Value = serde_json::from_str(&text).context("the exporter's prefix list calls")?;
    let mut done = 0;
    for mut call in calls.as_array().cloned().unwrap_or_default() {
        let has = |k: &str| call[k].as_array().is_some_and(|a| !a.is_empty());
        if !has("AddEntries") && !has("RemoveEntries") {
            continue; // the resize, done above against the live MaxEntries
        }
        call["CurrentVersion"] = json!(version);
        if let Some(o) = call.as_object_mut() {
            o.remove("MaxEntries");
        }
        aws.call(&[
            "ec2",
            "modify-managed-prefix-list",
            "--cli-input-json",
            &call.to_string(),
        ])?;
        done += 1;
        // The next call needs the list settled, and its new version.
        version = version_of(&prefix_list_ready(aws, id)?)?;
    }
    Ok(format!("prefix list {id} modified in {done} call(s)"))
}

/// One port range of a security group target: protocol and ports as AWS reports them.
type RuleKey = (String, Option<u64>, Option<u64>);

/// The target's ipfence rules per port range: only rules ipfence wrote (description
/// `ipfence ...`) with the target's protocol and ports are read, so other rules in the
/// group are never touched. Each port range has its own set: a CIDR missing from one of
/// them is missing, even when another range still has it.
fn security_group_rules(t: &Target, aws: &Aws<'_>, id: &str) -> Result<Vec<(RuleKey, PrefixSet)>> {
    let d = aws.call(&["ec2", "describe-security-groups", "--group-ids", id])?;
    let perms = d["SecurityGroups"][0]["IpPermissions"]
        .as_array()
        .cloned()
        .with_context(|| format!("security group {id} not found"))?;
    let ours: Vec<RuleKey> = if t.ports.is_empty() {
        vec![("-1".into(), None, None)]
    } else {
        ipfence_exporters::aws::port_ranges(&t.ports)
            .into_iter()
            .map(|(a, b)| (t.protocol.clone(), Some(a.into()), Some(b.into())))
            .collect()
    };
    let mut out = Vec::new();
    for key in ours {
        let mut live = Vec::new();
        for p in &perms {
            let got = (
                p["IpProtocol"].as_str().unwrap_or("").to_string(),
                p["FromPort"].as_u64(),
                p["ToPort"].as_u64(),
            );
            let got = if got.0 == "-1" {
                ("-1".to_string(), None, None)
            } else {
                got
            };
            if got != key {
                continue;
            }
            for (list, field) in [("IpRanges", "CidrIp"), ("Ipv6Ranges", "CidrIpv6")] {
                for r in p[list].as_array().into_iter().flatten() {
                    if r["Description"]
                        .as_str()
                        .is_some_and(|d| d.starts_with("ipfence"))
                    {
                        live.push(r[field].clone());
                    }
                }
            }
        }
        let set = cidr_set(&live, "describe-security-groups")?;
        out.push((key, set));
    }
    Ok(out)
}

/// Brings each port range's ipfence rules to `set`: authorize what is missing, then
/// revoke what is no longer wanted, per port range.
fn security_group(
    t: &Target,
    aws: &Aws<'_>,
    id: &str,
    set: &PrefixSet,
    header: Header<'_>,
) -> Result<String> {
    let rules = security_group_rules(t, aws, id)?;
    if rules.iter().all(|(_, live)| live == set) {
        return Ok(format!("security group {id} already holds the set"));
    }
    let mut calls = Vec::new();
    for ((_, from, to), live) in &rules {
        if live == set {
            continue;
        }
        // The exporter renders the update of this one port range.
        let mut opts = options(t);
        opts.ports = match (from, to) {
            (Some(a), Some(b)) => match (u16::try_from(*a), u16::try_from(*b)) {
                (Ok(first), Ok(last)) => vec![PortRange { first, last }],
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        let text = render(t, set, Some(live), header, &opts)?;
        let update: Value =
            serde_json::from_str(&text).context("the exporter's security group rules")?;
        // Authorize first: a CIDR that grew into a larger one never loses its access.
        for (key, verb) in [
            ("Authorize", "authorize-security-group-ingress"),
            ("Revoke", "revoke-security-group-ingress"),
        ] {
            if let Some(p) = update[key].as_array().filter(|a| !a.is_empty()) {
                let mut p = p.clone();
                if key == "Revoke" {
                    // A rule is named by protocol, ports and CIDR; the old description differs.
                    for perm in &mut p {
                        for list in ["IpRanges", "Ipv6Ranges"] {
                            for r in perm
                                .get_mut(list)
                                .and_then(Value::as_array_mut)
                                .into_iter()
                                .flatten()
                            {
                                if let Some(o) = r.as_object_mut() {
                                    o.remove("Description");
                                }
                            }
                        }
                    }
                }
                aws.call(&[
                    "ec2",
                    verb,
                    "--group-id",
                    id,
                    "--ip-permissions",
                    &Value::Array(p).to_string(),
                ])?;
                calls.push(verb);
            }
        }
    }
    Ok(format!("security group {id}: {}", calls.join(", ")))
}
