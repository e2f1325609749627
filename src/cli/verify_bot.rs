//! `ipfence verify-bot`: does each address match the crawler its user agent claims?

use std::io::Write;

use anyhow::Result;
use ipfence::core::crawler::{self, Loaded, Verdict, LISTS};
use ipfence::core::prefix::{canonical, parse_addr};
use ipfence::core::{Matcher, Ranges};
use serde_json::{json, Value};

use super::InputArgs;

/// Arguments of `ipfence verify-bot`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  UA='Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'
  ipfence verify-bot --user-agent \"$UA\" 66.249.66.1
  ipfence verify-bot --json -A \"$UA\" < client-addresses.txt
  ipfence verify-bot -A 'GPTBot/1.1' -i gptbot=gptbot.json 20.171.206.7

Verdicts: genuine (the address is in a list of the crawler the user agent claims: the
list and prefix are shown), fake (every list of that crawler is loaded and none holds the
address), unverifiable (a list of that crawler is not loaded: the embedded data holds
Google's googlebot.json, special-crawlers.json and user-triggered-fetchers.json only;
pass Bing's, OpenAI's and the others' lists with --input NAME=FILE), or no crawler
claimed. Tokens match as whole words in any case (`Googlebot/2.1`, not `NotGooglebot`).
Exit status: 0 when every address that claims a crawler is genuine, 1 when any is fake
or cannot be verified, 2 on error.")]
pub struct VerifyBotArgs {
    /// The request's User-Agent header, as received.
    #[arg(short = 'A', long, value_name = "UA")]
    pub user_agent: String,

    /// Client addresses; read from stdin (one per line, `#` comments) when none are given.
    #[arg(value_name = "IP")]
    pub ips: Vec<String>,

    /// One JSON object per line: {"ip", "verdict", "crawler", "operator", "list",
    /// "prefix", "message"} (`null` where not applicable).
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub input: InputArgs,
}

/// One verdict as a JSON object.
fn verdict_json(ip: &str, v: &Verdict) -> Value {
    let c = v.crawler();
    let (list, prefix) = match v {
        Verdict::Genuine { list, prefix, .. } => {
            (Value::from(list.file), Value::from(prefix.to_string()))
        }
        _ => (Value::Null, Value::Null),
    };
    json!({
        "ip": ip,
        "verdict": v.kind(),
        "crawler": c.map(|c| c.token),
        "operator": c.map(|c| c.operator),
        "list": list,
        "prefix": prefix,
        "message": v.to_string(),
    })
}

/// The entries of the crawler lists' providers only: their sources are the ones whose age
/// matters here.
fn crawler_data(ranges: &Ranges) -> Ranges {
    let mut r = Ranges::new();
    let is_crawler = |p: &str| LISTS.iter().any(|l| l.provider == p);
    r.sources = ranges
        .sources
        .iter()
        .filter(|s| is_crawler(&s.provider))
        .cloned()
        .collect();
    for e in &ranges.entries {
        let t = ranges.tags(e);
        if is_crawler(t.provider) {
            r.push(e.prefix, t);
        }
    }
    r
}

/// Runs the command; returns the exit status (0 every claim genuine, 1 any fake or
/// unverifiable, 2 bad address).
pub fn run(args: &VerifyBotArgs) -> Result<u8> {
    let mut stdin = String::new();
    let addrs = super::lookup::addresses(&args.ips, &args.input, &mut stdin)?;
    let ranges = super::load(&args.input)?;
    super::note_sources(&args.input, &ranges);
    super::warn_if_stale(
        &crawler_data(&ranges),
        super::today()?,
        args.input.inputs.is_empty(),
    );
    let loaded = Loaded::of_ranges(&ranges);
    let matcher = Matcher::build(&ranges)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut status = 0u8;
    for (i, &(_, text)) in addrs.iter().enumerate() {
        let place = super::lookup::place(&addrs, i);
        let ip = match parse_addr(text) {
            Ok(ip) => canonical(ip),
            Err(why) => {
                out.flush()?;
                eprintln!("ipfence: {place}: {why}");
                status = 2;
                continue;
            }
        };
        let v = crawler::verify(&matcher, loaded, &args.user_agent, ip);
        if matches!(v, Verdict::Fake { .. } | Verdict::Unverifiable { .. }) && status == 0 {
            status = 1;
        }
        if args.json {
            writeln!(out, "{}", verdict_json(text, &v))?;
        } else {
            writeln!(out, "{text}: {v}")?;
        }
    }
    out.flush()?;
    Ok(status)
}
