//! `ipfence diff`: what changed between two versions of a source.

use std::fmt::Write;
use std::path::PathBuf;

use anyhow::{bail, Result};
use ipfence::core::diff::{diff, Diff, TaggedPrefix};
use ipfence::core::source::Format;
use ipfence::core::PrefixSet;
use serde_json::{json, Value};

use super::{FilterArgs, InputArgs};

/// Arguments of `ipfence diff`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  ipfence diff ip-ranges-old.json ip-ranges-new.json
  ipfence diff --service API_GATEWAY --json old.json new.json

Lines start with + (published now, not before) or - (no longer published); an entry
is a prefix with its service, region and network border group, so a prefix moved to
another region shows as one - and one +. The summary counts entries per service and
region, and addresses that became or stopped being covered. A service, region or
border group named by the filter must be in at least one version; one that only NEW
has shows as all added (and the reverse as all removed), with a note on stderr.
In --json, address counts (\"addresses\": ipv4_added, ipv4_removed, ipv6_added,
ipv6_removed) are decimal strings for both families, exact even past 2^53 where JSON
numbers lose digits: jq '.addresses.ipv4_added | tonumber' for arithmetic.
Exit status: 0 when the versions publish the same entries, 1 when they differ, 2 on error.")]
pub struct DiffArgs {
    /// The older version.
    pub old: PathBuf,
    /// The newer version.
    pub new: PathBuf,

    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,

    /// Read both as this format instead of detecting it.
    #[arg(long, value_name = "aws|cloudfront|text")]
    pub source_format: Option<Format>,

    /// Mask host bits instead of refusing a file that has them.
    #[arg(long)]
    pub lenient: bool,

    #[command(flatten)]
    pub filter: FilterArgs,
}

fn tagged_json(t: &TaggedPrefix) -> Value {
    json!({"prefix": t.prefix.to_string(), "service": t.service, "region": t.region, "network_border_group": t.extra})
}

/// Addresses of one family in `set`, in decimal: IPv6 counts pass 2^53, where a JSON
/// number read as a double (jq, JavaScript) silently loses digits.
fn count(set: &PrefixSet, v6: bool) -> String {
    if v6 {
        set.count_v6().map_or_else(
            || "340282366920938463463374607431768211456".into(),
            |n| n.to_string(),
        )
    } else {
        set.count_v4().to_string()
    }
}

fn counts(d: &Diff) -> Value {
    json!({
        "ipv4_added": count(&d.added_set, false),
        "ipv4_removed": count(&d.removed_set, false),
        "ipv6_added": count(&d.added_set, true),
        "ipv6_removed": count(&d.removed_set, true),
    })
}

/// Runs the command; 0 when equal, 1 when different.
pub fn run(args: &DiffArgs) -> Result<u8> {
    let load = |path: &PathBuf| {
        super::load(&InputArgs {
            inputs: vec![path.clone()],
            source_format: args.source_format,
            lenient: args.lenient,
            ..InputArgs::default()
        })
    };
    let (old, new) = (load(&args.old)?, load(&args.new)?);
    let f = args.filter.to_filter();
    // A name must be in at least one version: a service new in NEW is a valid diff
    // (all added), one gone from NEW too (all removed).
    let mut both = old.clone();
    both.extend(&new);
    if let Err(e) = f.check(&both) {
        bail!("{} and {}: {e}", args.old.display(), args.new.display());
    }
    for (path, r, shows) in [(&args.old, &old, "added"), (&args.new, &new, "removed")] {
        if let Err(e) = f.check(r) {
            let e = e.to_string();
            let what = e.split("; known:").next().unwrap_or(&e);
            eprintln!(
                "ipfence: note: {}: {what}; its entries in the other version all show as {shows}",
                path.display()
            );
        }
    }
    let (old, new) = if f.is_everything() {
        (old, new)
    } else {
        (f.select(&old), f.select(&new))
    };
    let d = diff(&old, &new);
    let mut out = String::new();
    if args.json {
        let summary: Vec<Value> = d
            .summary()
            .iter()
            .map(|r| json!({"service": r.service, "region": r.region, "added": r.added, "removed": r.removed}))
            .collect();
        let v = json!({
            "old": super::describe_sources(&old.sources),
            "new": super::describe_sources(&new.sources),
            "filter": args.filter.describe(),
            "added": d.added.iter().map(tagged_json).collect::<Vec<_>>(),
            "removed": d.removed.iter().map(tagged_json).collect::<Vec<_>>(),
            "summary": summary,
            "addresses": counts(&d),
        });
        let _ = writeln!(out, "{v}");
    } else {
        let _ = writeln!(out, "old: {}", super::describe_sources(&old.sources));
        let _ = writeln!(out, "new: {}", super::describe_sources(&new.sources));
        for (sign, list) in [('-', &d.removed), ('+', &d.added)] {
            for t in list {
                let _ = writeln!(
                    out,
                    "{sign} {} {} {} {}",
                    t.prefix, t.service, t.region, t.extra
                );
            }
        }
        let _ = writeln!(
            out,
            "{} entries added, {} removed; addresses: +{} -{} IPv4, +{} -{} IPv6",
            d.added.len(),
            d.removed.len(),
            count(&d.added_set, false),
            count(&d.removed_set, false),
            count(&d.added_set, true),
            count(&d.removed_set, true),
        );
        let rows = d.summary();
        if !rows.is_empty() {
            let w = rows
                .iter()
                .map(|r| r.service.len())
                .max()
                .unwrap_or(7)
                .max(7);
            let wr = rows
                .iter()
                .map(|r| r.region.len())
                .max()
                .unwrap_or(6)
                .max(6);
            let _ = writeln!(
                out,
                "{:<w$}  {:<wr$}  {:>6}  {:>7}",
                "SERVICE", "REGION", "ADDED", "REMOVED"
            );
            for r in rows {
                let _ = writeln!(
                    out,
                    "{:<w$}  {:<wr$}  {:>6}  {:>7}",
                    r.service, r.region, r.added, r.removed
                );
            }
        }
    }
    super::write_output(None, out.as_bytes())?;
    Ok(u8::from(!d.is_empty()))
}
