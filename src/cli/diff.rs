//! `ipfence diff`: what changed between two versions of a source.

use std::fmt::Write;
use std::path::PathBuf;

use anyhow::Result;
use ipfence::core::diff::{diff, Diff, TaggedPrefix};
use ipfence::core::source::Format;
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
region, and addresses that became or stopped being covered.
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

fn counts(d: &Diff) -> Value {
    json!({
        "ipv4_added": d.added_set.count_v4(),
        "ipv4_removed": d.removed_set.count_v4(),
        "ipv6_added": d.added_set.count_v6().map_or("2^128".to_string(), |n| n.to_string()),
        "ipv6_removed": d.removed_set.count_v6().map_or("2^128".to_string(), |n| n.to_string()),
    })
}

/// Runs the command; 0 when equal, 1 when different.
pub fn run(args: &DiffArgs) -> Result<u8> {
    let load = |path: &PathBuf| -> Result<_> {
        let input = InputArgs {
            inputs: vec![path.clone()],
            source_format: args.source_format,
            lenient: args.lenient,
            ..InputArgs::default()
        };
        let filter = FilterArgs {
            allow_empty: true,
            ..args.filter.clone()
        };
        super::load_selected(&input, &filter)
    };
    let (old, _, _) = load(&args.old)?;
    let (new, _, _) = load(&args.new)?;
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
            d.added_set.count_v4(),
            d.removed_set.count_v4(),
            d.added_set
                .count_v6()
                .map_or("2^128".to_string(), |n| n.to_string()),
            d.removed_set
                .count_v6()
                .map_or("2^128".to_string(), |n| n.to_string()),
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
