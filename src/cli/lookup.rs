//! `ipfence lookup`: is an address allowed, and by which service and region?

use std::io::Write;

use anyhow::Result;
use ipfence::core::matcher::{Match, Matcher};
use ipfence::core::prefix::{canonical, parse_addr};
use ipfence::core::ranges::extra_name;
use serde_json::{json, Value};

use super::{FilterArgs, InputArgs};

/// Arguments of `ipfence lookup`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  ipfence lookup 3.5.140.2                       # on the embedded AWS snapshot
  ipfence lookup --service API_GATEWAY --json 3.5.140.2 8.8.8.8
  ipfence lookup --input ip-ranges.json < addresses.txt
  curl -s https://ip-ranges.amazonaws.com/ip-ranges.json | ipfence lookup -i - 3.5.140.2

Stdin is either the addresses (when none are given as arguments) or the ranges
(--input -), never both. Looking up no address at all is an error.
Exit status: 0 when every address is allowed, 1 when any is not, 2 on error.
An IPv4-mapped IPv6 address (::ffff:1.2.3.4) is looked up as the IPv4 address it carries.")]
pub struct LookupArgs {
    /// Addresses to look up; read from stdin (one per line, `#` comments) when none are
    /// given.
    #[arg(value_name = "IP")]
    pub ips: Vec<String>,

    /// One JSON object per line: {"ip", "allowed", "match": null | {"prefix", "entries"}}.
    #[arg(long)]
    pub json: bool,

    /// Show every published prefix containing the address, longest first, not only the
    /// longest.
    #[arg(long)]
    pub all: bool,

    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub filter: FilterArgs,
}

fn entries_json(m: &Match<'_>) -> Value {
    let entries: Vec<Value> = m
        .entries()
        .map(|t| {
            let mut obj = json!({"provider": t.provider, "service": t.service, "region": t.region});
            obj[extra_name(t.provider)] = Value::from(t.extra);
            obj
        })
        .collect();
    json!({"prefix": m.prefix().to_string(), "entries": entries})
}

/// `3.5.140.0/22 (aws: AMAZON ap-northeast-2, S3 ap-northeast-2; github: hooks)`: the
/// entries grouped by provider, in published order.
fn entries_text(m: &Match<'_>) -> String {
    let mut groups: Vec<(&str, Vec<String>)> = Vec::new();
    for t in m.entries() {
        let words: Vec<&str> = [t.service, t.region]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        let mut s = words.join(" ");
        if !t.extra.is_empty() && t.extra != t.region {
            // The extra field in brackets: `us-east-1 [us-east-1-wl1-bos-wlz-1]`.
            s = format!("{s} [{}]", t.extra).trim_start().to_string();
        }
        match groups.iter_mut().find(|(p, _)| *p == t.provider) {
            Some((_, list)) => list.push(s),
            None => groups.push((t.provider, vec![s])),
        }
    }
    let parts: Vec<String> = groups
        .into_iter()
        .map(|(p, list)| {
            let list: Vec<String> = list.into_iter().filter(|s| !s.is_empty()).collect();
            if list.is_empty() {
                p.to_string()
            } else {
                format!("{p}: {}", list.join(", "))
            }
        })
        .collect();
    format!("{} ({})", m.prefix(), parts.join("; "))
}

/// Runs the command; returns the exit status (0 all allowed, 1 any denied, 2 bad address).
pub fn run(args: &LookupArgs) -> Result<u8> {
    // The addresses first: stdin cannot be both them and the ranges (checked there).
    let addrs = super::addresses(&args.ips, &args.input)?;
    let (selected, _, _) = super::load_selected(&args.input, &args.filter)?;
    super::note_sources(&args.input, &selected);
    let matcher = Matcher::build(&selected)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut status = 0u8;
    for (place, text) in &addrs {
        let ip = match parse_addr(text) {
            Ok(ip) => canonical(ip),
            Err(why) => {
                out.flush()?;
                eprintln!("ipfence: {place}: {why}");
                status = 2;
                continue;
            }
        };
        let found = matcher.lookup(ip);
        if found.is_none() && status == 0 {
            status = 1;
        }
        if args.json {
            let m = found.as_ref().map_or(Value::Null, entries_json);
            let mut obj = json!({"ip": text, "allowed": found.is_some(), "match": m});
            if args.all {
                let all: Vec<Value> = matcher.matches(ip).map(|m| entries_json(&m)).collect();
                obj["all"] = Value::Array(all);
            }
            writeln!(out, "{obj}")?;
        } else if args.all {
            let all: Vec<String> = matcher.matches(ip).map(|m| entries_text(&m)).collect();
            match all.is_empty() {
                true => writeln!(out, "{text}: not allowed")?,
                false => writeln!(out, "{text}: allowed by {}", all.join("; "))?,
            }
        } else {
            match &found {
                Some(m) => writeln!(out, "{text}: allowed by {}", entries_text(m))?,
                None => writeln!(out, "{text}: not allowed")?,
            }
        }
    }
    out.flush()?;
    Ok(status)
}
