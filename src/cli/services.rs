//! `ipfence services`: which services and regions the data publishes, with counts.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;

use anyhow::Result;
use ipfence::core::ranges::Sym;
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

/// A row while counting: tags as symbols, so that 100,000 entries (Azure's file) are
/// grouped by integer compares; strings are looked up once per row at the end.
#[derive(Default)]
struct Counts {
    entries: usize,
    v4: usize,
    v6: usize,
    /// Few per row (one for most Azure tags): a list beats a map.
    regions: Vec<(Sym, usize)>,
    groups: Vec<Sym>,
}

/// Runs the command.
pub fn run(args: &ServicesArgs) -> Result<u8> {
    let (selected, set, _) = super::load_selected(&args.input, &args.filter)?;
    super::note_sources(&args.input, &selected);
    let mut counts: HashMap<(Sym, Sym), Counts> = HashMap::new();
    // Published files list runs of entries with the same tags (an Azure service tag's
    // prefixes): count each run, then add it to its row once.
    let mut add = |tags: [Sym; 4], v4: usize, v6: usize| {
        let [provider, service, region, extra] = tags;
        let c = counts.entry((provider, service)).or_default();
        c.entries += v4 + v6;
        c.v4 += v4;
        c.v6 += v6;
        match c.regions.iter_mut().find(|(r, _)| *r == region) {
            Some((_, n)) => *n += v4 + v6,
            None => c.regions.push((region, v4 + v6)),
        }
        if !c.groups.contains(&extra) {
            c.groups.push(extra);
        }
    };
    let mut run: Option<([Sym; 4], usize, usize)> = None;
    for e in &selected.entries {
        let tags = [e.provider, e.service, e.region, e.extra];
        let r = match &mut run {
            Some(r) if r.0 == tags => r,
            _ => {
                if let Some((t, v4, v6)) = run.take() {
                    add(t, v4, v6);
                }
                run.insert((tags, 0, 0))
            }
        };
        match e.prefix {
            IpNet::V4(_) => r.1 += 1,
            IpNet::V6(_) => r.2 += 1,
        }
    }
    if let Some((t, v4, v6)) = run {
        add(t, v4, v6);
    }
    let s = |sym: Sym| selected.strings.get(sym);
    let rows: BTreeMap<(&str, &str), Row<'_>> = counts
        .into_iter()
        .map(|((p, sv), c)| {
            let row = Row {
                entries: c.entries,
                v4: c.v4,
                v6: c.v6,
                regions: c
                    .regions
                    .into_iter()
                    .map(|(r, n)| (s(r), n))
                    .filter(|(r, _)| !r.is_empty())
                    .collect(),
                groups: c.groups.into_iter().map(s).collect(),
            };
            ((s(p), s(sv)), row)
        })
        .collect();
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
