//! `ipfence services`: which services and regions the data publishes, with counts.

use std::collections::HashMap;
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

/// A row of the output. Azure's file has over 3,000 rows: plain vectors, not a map per
/// row, which cost more than the counting.
struct Row<'a> {
    provider: &'a str,
    service: &'a str,
    entries: usize,
    v4: usize,
    v6: usize,
    /// The named regions, with their entries (distinct: one per symbol).
    regions: Vec<(&'a str, usize)>,
    /// Distinct groups (AWS network border groups).
    groups: usize,
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
    let mut rows: Vec<Row<'_>> = counts
        .into_iter()
        .map(|((p, sv), c)| Row {
            provider: s(p),
            service: s(sv),
            entries: c.entries,
            v4: c.v4,
            v6: c.v6,
            regions: c
                .regions
                .into_iter()
                .map(|(r, n)| (s(r), n))
                .filter(|(r, _)| !r.is_empty())
                .collect(),
            groups: c.groups.len(),
        })
        .collect();
    // (provider, service) pairs are distinct: the counts were keyed by them.
    rows.sort_unstable_by(|a, b| (a.provider, a.service).cmp(&(b.provider, b.service)));
    let mut out = String::new();
    if args.json {
        let list: Vec<_> = rows
            .iter()
            .map(|r| {
                let regions: serde_json::Map<String, serde_json::Value> =
                    r.regions.iter().map(|&(name, n)| (name.to_string(), n.into())).collect();
                json!({"provider": r.provider, "service": r.service, "entries": r.entries, "ipv4_prefixes": r.v4, "ipv6_prefixes": r.v6,
                       "regions": regions, "network_border_groups": r.groups})
            })
            .collect();
        let v = json!({"sources": super::describe_sources(&selected.sources), "services": list,
                       "ipv4_addresses": set.count_v4().to_string(),
                       "ipv6_addresses": set.count_v6().map_or_else(|| "340282366920938463463374607431768211456".into(), |n| n.to_string()),
                       "cover_prefixes": set.cidr_count()});
        let _ = writeln!(out, "{v}");
    } else {
        let w = rows.iter().map(|r| r.service.len()).fold(7, usize::max);
        let p = rows.iter().map(|r| r.provider.len()).fold(8, usize::max);
        let _ = writeln!(
            out,
            "{:<p$}  {:<w$}  {:>7}  {:>6}  {:>6}  {:>7}",
            "PROVIDER", "SERVICE", "ENTRIES", "IPV4", "IPV6", "REGIONS"
        );
        for r in &rows {
            let name = if r.service.is_empty() { "-" } else { r.service };
            left(&mut out, r.provider, p + 2);
            left(&mut out, name, w);
            let _ = writeln!(
                out,
                "  {:>7}  {:>6}  {:>6}  {:>7}",
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

/// `s` left-aligned in `width` columns, as `{s:<width$}` writes it: its padding costs a
/// call per space, and Azure's names make thousands of long rows.
fn left(out: &mut String, s: &str, width: usize) {
    out.push_str(s);
    out.extend(std::iter::repeat_n(
        ' ',
        width.saturating_sub(s.chars().count()),
    ));
}
