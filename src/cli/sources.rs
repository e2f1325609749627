//! `ipfence sources`: which lists the data holds, whose, which version, how old.

use std::fmt::Write;

use anyhow::Result;
use serde_json::json;

use super::InputArgs;

/// Arguments of `ipfence sources`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  ipfence sources                                   # the embedded lists
  ipfence sources --input ip-ranges.json --input googlebot=googlebot.json --json

Each line: provider, the list, its format, its version (the file's own syncToken or
changeNumber, else the SHA-256 of its bytes), when it was published and how many days
ago. Lists published more than 30 days ago are marked stale; IPFENCE_NOW=YYYY-MM-DD sets
today for reproducible runs.")]
pub struct SourcesArgs {
    /// One JSON object per line: {"name", "provider", "format", "version", "published",
    /// "age_days", "stale"}.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub input: InputArgs,
}

/// Runs the command.
pub fn run(args: &SourcesArgs) -> Result<u8> {
    let loaded = super::load_sources(&args.input)?;
    let today = super::today()?;
    let mut out = String::new();
    // The provider column as wide as its longest name (`digitalocean`, a feed's own name).
    let w = loaded
        .ranges
        .sources
        .iter()
        .map(|s| s.provider.len())
        .max()
        .unwrap_or(0);
    for (s, digest) in loaded.ranges.sources.iter().zip(&loaded.digests) {
        let version = s.sync_token.clone().or_else(|| digest.clone());
        let age = s
            .create_date
            .as_deref()
            .and_then(super::day_of)
            .map(|day| today - day);
        let stale = age.is_some_and(|a| a > super::STALE_DAYS);
        if args.json {
            let obj = json!({
                "name": s.name, "provider": s.provider, "format": s.format,
                "version": version, "published": s.create_date,
                "age_days": age, "stale": stale,
            });
            let _ = writeln!(out, "{obj}");
        } else {
            let published = match (&s.create_date, age) {
                (Some(d), Some(a)) => {
                    format!(
                        "published {d} ({a} days ago{})",
                        if stale { ", stale" } else { "" }
                    )
                }
                (Some(d), None) => format!("published {d}"),
                (None, _) => "no publication date".to_string(),
            };
            let _ = writeln!(
                out,
                "{:<w$} {} ({}, version {}, {published})",
                s.provider,
                s.name,
                s.format,
                version.as_deref().unwrap_or("none"),
            );
        }
    }
    super::write_output(None, out.as_bytes())?;
    Ok(0)
}
