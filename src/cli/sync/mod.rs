//! `ipfence sync`: brings every configured target (firewall files, kernel sets, AWS
//! objects) to the newest published ranges, safely enough to run unattended.
//!
//! One run: get the new version (URL, file or SNS notification) -> verify it (md5,
//! parse, newer syncToken) -> plan each target against its last applied set -> guard
//! (no emptying, no drastic shrink, quotas) -> write outputs and apply -> record the
//! state, only when every target succeeded.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use ipfence::core::prefix::HostBits;
use ipfence::core::source::{self, Options as SourceOptions};
use ipfence::core::{budget, PrefixSet, Ranges};
use ipfence_exporters::{cover_changes, Format, Header};

use config::{Config, OverQuota, Target};
use fetch::Fetched;
use state::{Applied, Lock, State, TargetState};

pub mod apply;
pub mod config;
pub mod fetch;
pub mod state;

/// Arguments of `ipfence sync`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  ipfence sync --config /etc/ipfence/sync.toml              # download, diff, guard, apply
  ipfence sync --config sync.toml --dry-run                 # print the plan, change nothing
  ipfence sync --config sync.toml --check                   # one line for monitoring
  ipfence sync --config sync.toml --notification sns.json   # triggered by AmazonIpSpaceChanged
  ipfence sync --config sync.toml --input ip-ranges.json    # a file fetched some other way

The configuration (TOML) names the targets: format, filter, output file, and whether
to apply (nft -f, ipset restore, pfctl, or the aws CLI for WAF IP sets, prefix lists
and security groups). examples/sync.toml shows every key.

Safe to rerun: outputs and state are replaced atomically, the state only after every
target succeeded, and each apply step converges. Refused unless --force: a file older
than the applied one, a target emptied or shrunk by more than max_shrink (10%), a
target over its quota (unless over_quota = \"summarize\").

Exit status: 0 done or current; 1 (--check) changes are pending; 2 error or refusal.")]
pub struct SyncArgs {
    /// The sync configuration.
    #[arg(
        short,
        long,
        value_name = "FILE",
        default_value = "/etc/ipfence/sync.toml"
    )]
    pub config: PathBuf,

    /// Download from here instead of the configured url.
    #[arg(long, value_name = "URL", conflicts_with_all = ["input", "notification"])]
    pub url: Option<String>,

    /// Read the new version from this file instead of downloading it.
    #[arg(short, long, value_name = "FILE", conflicts_with = "notification")]
    pub input: Option<PathBuf>,

    /// An AmazonIpSpaceChanged SNS notification (the envelope or its Message; `-` for
    /// stdin): its md5 must match the download, its syncToken must be new.
    #[arg(long, value_name = "FILE|-")]
    pub notification: Option<PathBuf>,

    /// Print the plan (additions and removals per target) and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Say in one line whether the targets are current; exit 1 when changes are pending.
    #[arg(long, conflicts_with = "dry_run")]
    pub check: bool,

    /// Apply even what the guards refuse: an older file, an emptied or much smaller
    /// target; also reapply when nothing changed.
    #[arg(long)]
    pub force: bool,

    /// Refuse the new file unless its SHA-256 is this (a digest pinned from a channel
    /// you trust more than the download).
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,

    /// The state file (default: `state` in the configuration, or ipfence-state.json next
    /// to it).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

/// One target's new set, against its last applied one.
struct Plan<'a> {
    target: &'a Target,
    set: PrefixSet,
    old: Option<PrefixSet>,
    /// The last apply used this very configuration, so an incremental file fits.
    same_config: bool,
    filter: String,
    refusal: Option<String>,
}

impl Plan<'_> {
    fn changed(&self) -> bool {
        self.old.as_ref() != Some(&self.set)
    }

    /// `target api (nftables): +1 -0 CIDRs, IPv4 +256 -0 addresses, IPv6 +0 -0`.
    fn describe(&self) -> String {
        let t = self.target;
        let head = format!("target {} ({})", t.name, t.format.name());
        let Some(old) = &self.old else {
            return format!(
                "{head}: first apply, {} CIDRs ({} IPv4 addresses)",
                self.set.cidr_count(),
                self.set.count_v4()
            );
        };
        if !self.changed() {
            return format!("{head}: unchanged, {} CIDRs", self.set.cidr_count());
        }
        let (removed, added) = cover_changes(old, &self.set);
        let gained = self.set.difference(old);
        let lost = old.difference(&self.set);
        let v6 = |s: &PrefixSet| s.count_v6().map_or("2^128".into(), |n| n.to_string());
        format!(
            "{head}: +{} -{} CIDRs, IPv4 +{} -{} addresses, IPv6 +{} -{}",
            added.len(),
            removed.len(),
            gained.count_v4(),
            lost.count_v4(),
            v6(&gained),
            v6(&lost)
        )
    }
}

/// Seconds since 1970.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A syncToken as the seconds since 1970 it is.
fn seconds(token: Option<&str>) -> Option<u64> {
    token.and_then(|t| t.parse().ok())
}

/// `3 h`, `2 days`: how long ago a syncToken was.
fn age(token: Option<&str>) -> String {
    let Some(t) = seconds(token) else {
        return "age unknown".into();
    };
    let s = now().saturating_sub(t);
    match s {
        0..=5399 => format!("{} min old", s / 60),
        5400..=172_799 => format!("{} h old", s / 3600),
        _ => format!("{} days old", s / 86400),
    }
}

/// `current: syncToken ... (createDate ..., 3 h old), N targets`.
fn current(a: &Applied, targets: usize) -> String {
    format!(
        "ipfence sync: current: syncToken {} (createDate {}, {}), {targets} targets",
        a.sync_token.as_deref().unwrap_or("-"),
        a.create_date.as_deref().unwrap_or("-"),
        age(a.sync_token.as_deref()),
    )
}

/// A target's configuration, digested: a changed filter or format forces a new plan
/// even when the published file is unchanged.
fn fingerprint(t: &Target) -> String {
    state::sha256(format!("{t:?}").as_bytes())
}

/// Runs the command.
pub fn run(args: &SyncArgs) -> Result<u8> {
    let config = Config::load(&args.config)?;
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| config.state_path(&args.config));
    let _lock = if args.check || args.dry_run {
        None
    } else {
        Some(Lock::take(&state_path)?)
    };
    let state = State::load(&state_path)?;
    let applied = state.source.clone();
    let applied_token = applied.as_ref().and_then(|a| a.sync_token.clone());
    let url = args.url.clone().unwrap_or_else(|| config.url.clone());
    let same_config = config.targets.iter().all(|t| {
        state
            .targets
            .get(&t.name)
            .is_some_and(|s| s.config == fingerprint(t))
    }) && state.targets.len() == config.targets.len();

    // 1. The new version.
    let mut expected_md5 = None;
    let (bytes, origin, etag, last_modified) = if let Some(path) = &args.input {
        let (bytes, name) = crate::cli::read_input(path, config.max_bytes)?;
        (bytes, name, None, None)
    } else {
        let mut conditional = same_config && !args.force;
        let mut from = url.clone();
        if let Some(path) = &args.notification {
            let n = fetch::read_notification(path)?;
            eprintln!(
                "ipfence: notification for syncToken {} ({}); {}",
                n.sync_token, n.create_time, n.signature
            );
            if n.url != url {
                bail!(
                    "the notification points to {}, not the configured url {url}: refused, since its signature is not verified (set url in the configuration if that address is genuine)",
                    n.url
                );
            }
            if let Some(done) = seconds(applied_token.as_deref()) {
                let new = seconds(Some(&n.sync_token)).unwrap_or(0);
                if new < done && !args.force {
                    bail!("the notification's syncToken {new} is older than the applied {done}: a replayed or stale notification, refused (--force applies it anyway)");
                }
                if new == done && same_config && !args.force {
                    println!("ipfence sync: syncToken {new} is already applied; nothing to do");
                    return Ok(0);
                }
            }
            expected_md5 = Some(n.md5);
            conditional = false;
            from = n.url;
        }
        let (etag, lm) = match (&applied, conditional) {
            (Some(a), true) if a.origin == from => (a.etag.as_deref(), a.last_modified.as_deref()),
            _ => (None, None),
        };
        match fetch::download(&from, &config, etag, lm)? {
            Fetched::NotModified => {
                let a = applied.clone().unwrap_or_default();
                let line = current(&a, config.targets.len());
                println!("{line}; {from} is unchanged (HTTP 304)");
                return Ok(0);
            }
            Fetched::New(d) => (d.bytes, from, d.etag, d.last_modified),
        }
    };

    // 2. Verify it.
    if let Some(md5) = expected_md5 {
        let got = fetch::md5(&bytes);
        if got != md5 {
            bail!("{origin}: the download's md5 is {got}, the notification says {md5}: the file changed since the notification or was damaged in transit; nothing was changed (rerun to fetch again)");
        }
    }
    let sha = state::sha256(&bytes);
    if let Some(pinned) = &args.sha256 {
        if !pinned.eq_ignore_ascii_case(&sha) {
            bail!("{origin}: the file's SHA-256 is {sha}, not the pinned {pinned}; nothing was changed");
        }
    }
    let ranges = source::parse(
        &bytes,
        &origin,
        None,
        SourceOptions {
            host_bits: HostBits::Reject,
            max_entries: 1_000_000,
        },
    )
    .context("the new version is not usable; nothing was changed")?;
    let info = ranges.sources.first().cloned().unwrap_or_default();
    if let (Some(new), Some(done)) = (
        seconds(info.sync_token.as_deref()),
        seconds(applied_token.as_deref()),
    ) {
        let same_file = applied.as_ref().is_some_and(|a| a.sha256 == sha);
        if new < done && !args.force {
            bail!("{origin}: syncToken {new} is older than the applied {done}: a replayed or stale file, refused; nothing was changed (--force applies it anyway)");
        }
        if new == done && !same_file && !args.force {
            bail!("{origin}: syncToken {new} is the applied one, but the content differs from what was applied: refused; nothing was changed (--force applies it anyway)");
        }
    }

    // 3. Plan and 4. guard.
    let plans = plan(&config, &state, &ranges, args.force)?;
    let up_to_date = same_config
        && applied.as_ref().is_some_and(|a| a.sha256 == sha)
        && plans.iter().all(|p| !p.changed());
    let pending = plans.iter().filter(|p| p.changed()).count();
    if args.check {
        let a = applied.clone().unwrap_or_default();
        if up_to_date {
            println!("{}", current(&a, plans.len()));
            return Ok(0);
        }
        let what: Vec<String> = plans
            .iter()
            .filter(|p| p.changed())
            .map(Plan::describe)
            .collect();
        println!(
            "ipfence sync: behind: applied syncToken {} ({}), published {} (createDate {}): {pending} of {} targets would change: {}",
            a.sync_token.as_deref().unwrap_or("none"),
            age(a.sync_token.as_deref()),
            info.sync_token.as_deref().unwrap_or("-"),
            info.create_date.as_deref().unwrap_or("-"),
            plans.len(),
            if what.is_empty() { "none (the state is only out of date)".into() } else { what.join("; ") }
        );
        return Ok(1);
    }
    if args.dry_run {
        println!(
            "ipfence sync: dry run: {origin} (syncToken {}, createDate {}); applied: {}",
            info.sync_token.as_deref().unwrap_or("-"),
            info.create_date.as_deref().unwrap_or("-"),
            applied_token.as_deref().unwrap_or("none")
        );
        for p in &plans {
            match &p.refusal {
                Some(r) => println!("{}: REFUSED: {r}", p.describe()),
                None => println!("{}", p.describe()),
            }
        }
        return Ok(if plans.iter().any(|p| p.refusal.is_some()) {
            2
        } else {
            0
        });
    }
    let refusals: Vec<String> = plans
        .iter()
        .filter_map(|p| {
            p.refusal
                .as_ref()
                .map(|r| format!("target {}: {r}", p.target.name))
        })
        .collect();
    if !refusals.is_empty() {
        bail!(
            "refused, nothing was changed:\n  {}\n(pass --force if this is intended)",
            refusals.join("\n  ")
        );
    }
    if up_to_date && !args.force {
        println!(
            "ipfence sync: syncToken {} is already applied to all {} targets; nothing to do",
            info.sync_token.as_deref().unwrap_or("-"),
            plans.len()
        );
        return Ok(0);
    }

    // 5. Write and apply, every target even when one fails.
    let mut failures = Vec::new();
    for p in &plans {
        match write_and_apply(p, &config, &ranges) {
            Ok(done) => println!("{}: {done}", p.describe()),
            Err(e) => {
                eprintln!("ipfence: target {}: {e:#}", p.target.name);
                failures.push(p.target.name.clone());
            }
        }
    }
    if !failures.is_empty() {
        bail!(
            "{} of {} targets failed ({}); the state still records syncToken {}, so the next run retries them",
            failures.len(),
            plans.len(),
            failures.join(", "),
            applied_token.as_deref().unwrap_or("none")
        );
    }

    // 6. Record the state.
    let new_state = State {
        version: state::VERSION,
        source: Some(Applied {
            origin,
            etag,
            last_modified,
            sync_token: info.sync_token.clone(),
            create_date: info.create_date.clone(),
            sha256: sha,
            applied_at: now(),
        }),
        targets: plans
            .iter()
            .map(|p| {
                (
                    p.target.name.clone(),
                    TargetState::new(p.target.format.name(), &p.set, fingerprint(p.target)),
                )
            })
            .collect(),
    };
    new_state.save(&state_path)?;
    println!(
        "ipfence sync: applied syncToken {} (createDate {}) to {} targets; state in {}",
        info.sync_token.as_deref().unwrap_or("-"),
        info.create_date.as_deref().unwrap_or("-"),
        plans.len(),
        state_path.display()
    );
    Ok(0)
}

/// The quota of a target per family, if it has one.
fn quota(t: &Target) -> Option<usize> {
    use ipfence_exporters::aws;
    let ranges = aws::port_ranges(&t.ports).len().max(1);
    match t.format {
        Format::AwsWaf => Some(t.max_entries.unwrap_or(aws::WAF_MAX_ADDRESSES)),
        Format::AwsPrefixList => Some(t.max_entries.unwrap_or(aws::PREFIX_LIST_MAX_ENTRIES)),
        Format::AwsSecurityGroup => {
            Some(t.max_entries.unwrap_or(aws::SECURITY_GROUP_RULES) / ranges)
        }
        _ => t.max_entries,
    }
}

/// Each target's new set (fitted to its quota when it says so) and its guard verdict.
fn plan<'a>(
    config: &'a Config,
    state: &State,
    ranges: &Ranges,
    force: bool,
) -> Result<Vec<Plan<'a>>> {
    let mut plans = Vec::new();
    for t in &config.targets {
        let args = t.filter();
        let filter = args.to_filter();
        filter
            .check(ranges)
            .with_context(|| format!("target {}", t.name))?;
        let mut set = filter.select_set(ranges);
        let mut refusal = None;
        if let Some(q) = quota(t) {
            for part in [set.ipv4(), set.ipv6()] {
                let n = part.cidr_count();
                if n <= q {
                    continue;
                }
                if t.over_quota == OverQuota::Summarize {
                    let fit =
                        budget::fit(&part, q).with_context(|| format!("target {}", t.name))?;
                    eprintln!(
                        "ipfence: target {}: {n} CIDRs summarized into {} to fit its quota of {q}: {} extra IPv4 and {} extra IPv6 addresses allowed",
                        t.name,
                        fit.set.cidr_count(),
                        fit.extra_v4,
                        fit.extra_v6
                    );
                    set = set.union(&fit.set);
                } else {
                    refusal = Some(format!("{n} CIDRs of one family, over its quota of {q} (set over_quota = \"summarize\" to fit it, admitting extra addresses, or raise max_entries)"));
                }
            }
        }
        let last = state.targets.get(&t.name);
        let old = last.map(|s| s.set.clone());
        let same_config = last.is_some_and(|s| s.config == fingerprint(t));
        if refusal.is_none() && !force {
            refusal = guard(t, &set, old.as_ref(), config.max_shrink);
        }
        plans.push(Plan {
            target: t,
            set,
            old,
            same_config,
            filter: args.describe(),
            refusal,
        });
    }
    Ok(plans)
}

/// Refuses emptying a target, or shrinking either family by more than `max_shrink`.
fn guard(t: &Target, set: &PrefixSet, old: Option<&PrefixSet>, max_shrink: f64) -> Option<String> {
    if set.is_empty() && !t.allow_empty {
        return Some("the new selection holds no address: it would empty the target (set allow_empty = true if that is intended)".into());
    }
    let old = old?;
    let v6 = |s: &PrefixSet| s.count_v6().map_or(2f64.powi(128), |n| n as f64);
    for (fam, before, after) in [
        ("IPv4", old.count_v4() as f64, set.count_v4() as f64),
        ("IPv6", v6(old), v6(set)),
    ] {
        if before > 0.0 && after < before * (1.0 - max_shrink) {
            return Some(format!(
                "its {fam} addresses would shrink by {:.1}% (from {before} to {after}), more than max_shrink {:.0}%",
                (1.0 - after / before) * 100.0,
                max_shrink * 100.0
            ));
        }
    }
    None
}

/// Writes a target's output and applies it.
fn write_and_apply(p: &Plan<'_>, config: &Config, ranges: &Ranges) -> Result<String> {
    let t = p.target;
    let header = Header {
        sources: &ranges.sources,
        filter: &p.filter,
    };
    let opts = apply::options(t);
    let mut done = Vec::new();
    if t.is_aws() {
        if let Some(out) = &t.output {
            let text = apply::render(t, &p.set, None, header, &opts)?;
            crate::cli::write_output(Some(out), text.as_bytes())?;
            done.push(format!("wrote {}", out.display()));
        }
        if t.apply {
            done.push(apply::aws(t, &config.aws, &p.set, header)?);
        }
        return Ok(done.join("; "));
    }
    let full = apply::render(t, &p.set, None, header, &opts)?;
    let temp;
    let full_path = match &t.output {
        Some(out) => {
            crate::cli::write_output(Some(out), full.as_bytes())?;
            done.push(format!("wrote {}", out.display()));
            out.clone()
        }
        None => {
            temp = apply::temp_file(&full)?;
            temp.path().to_path_buf()
        }
    };
    if t.apply {
        // An incremental file only fits what the same configuration applied last time.
        let update = match &p.old {
            Some(old) if p.same_config => Some(apply::render(t, &p.set, Some(old), header, &opts)?),
            _ => None,
        };
        done.push(apply::local(t, &full_path, update.as_deref())?);
    }
    Ok(done.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(extra: &str) -> Target {
        let text =
            format!("[[target]]\nname = \"t\"\nformat = \"nftables\"\noutput = \"x\"\n{extra}");
        let c: Config = toml::from_str(&text).unwrap();
        c.targets[0].clone()
    }

    fn set(cidrs: &[&str]) -> PrefixSet {
        cidrs.iter().map(|c| c.parse().unwrap()).collect()
    }

    #[test]
    fn guard_refuses_emptying_and_large_shrinks_per_family() {
        let t = target("");
        let old = set(&["10.0.0.0/24", "2001:db8::/32"]);
        assert_eq!(guard(&t, &old, Some(&old), 0.1), None);
        // 10% of the IPv4 addresses may go, not more.
        let ok = set(&[
            "10.0.0.0/25",
            "10.0.0.128/26",
            "10.0.0.192/27",
            "10.0.0.224/29",
            "2001:db8::/32",
        ]);
        assert_eq!(ok.count_v4(), 232);
        assert_eq!(guard(&t, &ok, Some(&old), 0.1), None);
        let too_much = set(&["10.0.0.0/25", "2001:db8::/32"]);
        let why = guard(&t, &too_much, Some(&old), 0.1).unwrap();
        assert!(
            why.contains("IPv4 addresses would shrink by 50.0%"),
            "{why}"
        );
        // IPv6 on its own: its huge counts do not hide an IPv4 loss, nor the reverse.
        let v6_loss = set(&["10.0.0.0/24", "2001:db8::/33"]);
        assert!(guard(&t, &v6_loss, Some(&old), 0.1)
            .unwrap()
            .contains("IPv6"));
        // Emptying: refused even on a first apply, unless allowed.
        assert!(guard(&t, &PrefixSet::new(), None, 0.1)
            .unwrap()
            .contains("empty"));
        assert_eq!(
            guard(&target("allow_empty = true"), &PrefixSet::new(), None, 0.1),
            None
        );
        // Growth is always fine; max_shrink 1.0 allows any shrink but emptying.
        assert_eq!(
            guard(&t, &set(&["10.0.0.0/8"]), Some(&set(&["10.0.0.0/24"])), 0.1),
            None
        );
        assert_eq!(guard(&t, &set(&["10.0.0.0/32"]), Some(&old), 1.0), None);
    }

    #[test]
    fn quotas_by_format() {
        assert_eq!(quota(&target("")), None);
        assert_eq!(quota(&target("max_entries = 5")), Some(5));
        let aws = |f: &str, extra: &str| {
            let text =
                format!("[[target]]\nname = \"t\"\nformat = \"{f}\"\noutput = \"x\"\n{extra}");
            let c: Config = toml::from_str(&text).unwrap();
            quota(&c.targets[0])
        };
        assert_eq!(aws("aws-waf", ""), Some(10_000));
        assert_eq!(aws("aws-prefix-list", ""), Some(1_000));
        assert_eq!(aws("aws-security-group", ""), Some(60));
        // Each CIDR is one rule per port range.
        assert_eq!(
            aws("aws-security-group", "ports = [80, 443, 444]"),
            Some(30)
        );
    }

    #[test]
    fn ages_read_the_sync_token_as_seconds() {
        let now = now();
        assert_eq!(age(Some(&(now - 120).to_string())), "2 min old");
        assert_eq!(age(Some(&(now - 3 * 3600).to_string())), "3 h old");
        assert_eq!(age(Some(&(now - 5 * 86400).to_string())), "5 days old");
        assert_eq!(age(Some("soon")), "age unknown");
        assert_eq!(age(None), "age unknown");
    }
}
