//! `ipfence services`: which services and regions the data publishes, with counts.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use anyhow::Result;
use ipfence::core::IpNet;
use serde_json::json;

use super::{FilterArgs, InputArgs};

/// Arguments of `ipfence services`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  ipfence services                         # every provider's services in the embedded data
  ipfence services --provider github
  ipfence services --provider aws --region eu-west-1 --json

In --json, address counts (ipv4_addresses, ipv6_addresses) are decimal strings, exact
even past 2^53 where JSON numbers lose digits.")]
pub struct ServicesArgs {
    /// JSON instead of a table.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub filter: FilterArgs,
}

#[derive(Default)]
struct Row<'a> {
    entries: usize,
    v4: usize,
    v6: usize,
    regions: BTreeMap<&'a str, usize>,
    groups: BTreeSet<&'a str>,
}

/// Runs the command.
pub fn run(args: &ServicesArgs) -> Result<u8> {
    let (selected, set, _) = super::load_selected(&args.input, &args.filter)?;
    super::note_sources(&args.input, &selected);
    let mut rows: BTreeMap<(&str, &str), Row<'_>> = BTreeMap::new();
    for e in &selected.entries {
        let t = selected.tags(e);
        let row = rows.entry((t.provider, t.service)).or_default();
        row.entries += 1;
        match e.prefix {
            IpNet::V4(_) => row.v4 += 1,
            IpNet::V6(_) => row.v6 += 1,
        }
        if !t.region.is_empty() {
            *row.regions.entry(t.region).or_default() += 1;
        }
        row.groups.insert(t.extra);
    }
    let mut out = String::new();
    if args.json {
        let list: Vec<_> = rows
            .iter()
            .map(|((provider, name), r)| {
                json!({"provider": provider, "service": name, "entries": r.entries, "ipv4_prefixes": r.v4, "ipv6_prefixes": r.v6,
                       "regions": r.regions, "network_border_groups": r.groups.len()})
            })
            .collect();
        let v = json!({"sources": super::describe_sources(&selected.sources), "services": list,
                       "ipv4_addresses": set.count_v4().to_string(),
                       "ipv6_addresses": set.count_v6().map_or_else(|| "340282366920938463463374607431768211456".into(), |n| n.to_string()),
                       "cover_prefixes": set.cidr_count()});
        let _ = writeln!(out, "{v}");
    } else {
        let w = rows.keys().map(|k| k.1.len()).max().unwrap_or(7).max(7);
        let p = rows.keys().map(|k| k.0.len()).max().unwrap_or(8).max(8);
        let _ = writeln!(
            out,
            "{:<p$}  {:<w$}  {:>7}  {:>6}  {:>6}  {:>7}",
            "PROVIDER", "SERVICE", "ENTRIES", "IPV4", "IPV6", "REGIONS"
        );
        for ((provider, name), r) in &rows {
            let name = if name.is_empty() { "-" } else { name };
            let _ = writeln!(
                out,
                "{provider:<p$}  {name:<w$}  {:>7}  {:>6}  {:>6}  {:>7}",
                r.entries,
                r.v4,
                r.v6,
                r.regions.len()
            );
        }
        let _ = writeln!(
            out,
            "{} entries; the selection covers {} IPv4 addresses in a minimal cover of {} prefixes (both families)",
            selected.len(),
            set.count_v4(),
            set.cidr_count()
        );
    }
    super::write_output(None, out.as_bytes())?;
    Ok(0)
}
