//! `ipfence sync`: brings every configured target (firewall files, kernel sets, AWS
//! objects) to the newest published ranges, safely enough to run unattended.
//!
//! One run: check the configuration against what the run will need (names, folders,
//! tools, AWS ids) -> compare every applied target with what is live and restore the
//! ones that drifted from the state -> get each list's new version (URL, file or SNS
//! notification; each named source; a fleet's blob) -> verify it (md5, parse, a newer
//! version stamp, `sources.rs`) -> plan each target from its lists against
//! its last applied set -> guard (no emptying, no drastic shrink, quotas) -> write
//! outputs and apply -> record the state, only when every target succeeded.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use ipfence::core::{budget, PrefixSet, Ranges, SourceInfo};
use ipfence_exporters::{cover_changes, Format, Header};

use config::{Config, OverQuota, Target};
use fetch::Fetched;
use sources::Got;
use state::{Applied, Lock, State, TargetState};

pub mod apply;
pub mod config;
pub mod fetch;
pub mod live;
pub mod preflight;
pub mod sources;
pub mod state;

/// Arguments of `ipfence sync`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  ipfence sync --config /etc/ipfence/sync.toml              # download, diff, guard, apply
  ipfence sync --config sync.toml --dry-run                 # print the plan, change nothing
  ipfence sync --config sync.toml --check                   # one line for monitoring
  ipfence sync --config sync.toml --restore                 # at boot: reload the state
  ipfence sync --config sync.toml --notification sns.json   # triggered by AmazonIpSpaceChanged
  ipfence sync --config sync.toml --input ip-ranges.json    # a file fetched some other way

The configuration (TOML) names the targets: format, filter, output file, and whether
to apply (nft -f, ipset restore, pfctl, or the aws CLI for WAF IP sets, prefix lists
and security groups). examples/sync.toml shows every key; docs/sync.md the whole job.

Every provider: [[source]] tables (name, provider, url defaulting to the official
address) and a target's sources = [\"name\", ...]; a target without sources follows the
top-level AWS url. A stamped list (syncToken, Azure changeNumber, Oracle's timestamp)
must only go forward; one without a stamp (GitHub, Fastly, Cloudflare) is told by
ETag/Last-Modified and its SHA-256. A failed source leaves its targets as they were
(exit 2). Fleets: a source of format = \"ipfence-blob\" follows the manifest that
`ipfence compile --manifest` writes (examples/sync-providers.toml).

Checked before anything is changed (and all reported by --dry-run, one line each):
every name under its tool's rules, output folders that exist and are writable, the
apply commands on PATH (nft, ipset, pfctl, aws, or the target's command), AWS ids
(WAF UUID, pl-..., sg-...), the url (https://, http:// or file:///path).

Drift: every run, --check and --dry-run compare what each applied target holds now
(nft -j list set, ipset save, pfctl -T show, wafv2 get-ip-set, the prefix list's
entries, the group's ipfence rules) and each output file with the state. A target that
drifted (a reboot or nft flush ruleset emptied it, someone edited it) is restored in
full from the state and named on stderr; --check exits 1 naming it.

Safe to rerun: outputs and state are replaced atomically, the state only after every
target succeeded, and each apply step converges. Refused unless --force: a file older
than the applied one, a target emptied or shrunk by more than max_shrink (10%), a
target over its quota (unless over_quota = \"summarize\").

Exit status: 0 done or current; 1 (--check) changes are pending or a target drifted;
2 error, refusal, or a problem found by --dry-run.")]
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

    /// Say in one line whether the targets are current and hold what was applied; exit 1
    /// when changes are pending or a target drifted.
    #[arg(long, conflicts_with = "dry_run")]
    pub check: bool,

    /// Only restore the targets that drifted from the state (a reboot emptied the
    /// kernel's sets, an output file was deleted), without downloading anything: for a
    /// boot-time unit that must work before the network does.
    #[arg(long, conflicts_with_all = ["url", "input", "notification", "check", "dry_run", "force", "sha256"])]
    pub restore: bool,

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
    /// The lists it was drawn from, for the output's header.
    sources: Vec<SourceInfo>,
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
pub(crate) fn now() -> u64 {
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
    let mut text = format!("{t:?}");
    if t.sources.is_empty() {
        // A target of the top-level url keeps the digest it had before targets named
        // their sources, so that upgrading ipfence does not reapply every target.
        text = text.replacen(", sources: []", "", 1);
    }
    state::sha256(text.as_bytes())
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
    let mut state = State::load(&state_path)?;
    let url = args.url.clone().unwrap_or_else(|| config.url.clone());
    let top_level_used = config.targets.iter().any(Target::uses_top_level);
    if !top_level_used
        && (args.url.is_some()
            || args.input.is_some()
            || args.notification.is_some()
            || args.sha256.is_some())
    {
        bail!("--url, --input, --notification and --sha256 stand for the top-level url, and every target names its sources = [...]: none would read it");
    }

    // 0. Everything the run will need, all of it checked before anything is changed.
    let mut urls = Vec::new();
    if top_level_used {
        urls.push(("url".to_string(), url.clone()));
    }
    for s in &config.sources {
        urls.push((
            format!("source {}: url", s.name),
            s.url().unwrap_or_default(),
        ));
    }
    let mut problems = if args.check || args.restore {
        Vec::new()
    } else {
        preflight::check(&config, &urls, &state_path)
    };
    if !problems.is_empty() && !args.dry_run {
        bail!(
            "the configuration cannot be applied; nothing was changed:\n  {}",
            problems.join("\n  ")
        );
    }

    // 0b. What is live against what the state says was applied.
    let (drifted, unreadable) = drifts(&config, &state);
    if args.dry_run {
        problems.extend(unreadable);
        for (t, d) in &drifted {
            println!(
                "target {} ({}): DRIFTED: {}; the run restores it in full from the state",
                t.name,
                t.format.name(),
                d.describe()
            );
        }
    } else if !unreadable.is_empty() {
        bail!(
            "cannot compare the targets with what they hold now; nothing was changed:\n  {}",
            unreadable.join("\n  ")
        );
    }
    if args.check && !drifted.is_empty() {
        let what: Vec<String> = drifted
            .iter()
            .map(|(t, d)| format!("target {} ({}): {}", t.name, t.format.name(), d.describe()))
            .collect();
        println!(
            "ipfence sync: drifted: {} of {} targets no longer hold what was applied: {} (a run restores them)",
            drifted.len(),
            config.targets.len(),
            what.join("; ")
        );
        return Ok(1);
    }
    if !args.check && !args.dry_run && !drifted.is_empty() {
        restore(&config, &mut state, &drifted)?;
        state.save(&state_path)?;
    }
    if args.restore {
        if drifted.is_empty() {
            println!(
                "ipfence sync: all {} targets hold what the state says was applied; nothing to restore",
                config.targets.len()
            );
        } else {
            println!(
                "ipfence sync: restored {} of {} targets from the state in {}",
                drifted.len(),
                config.targets.len(),
                state_path.display()
            );
        }
        return Ok(0);
    }

    let srcs = sources::list(&config, &url);
    let same_config = config.targets.iter().all(|t| {
        state
            .targets
            .get(&t.name)
            .is_some_and(|s| s.config == fingerprint(t))
    }) && state.targets.len() == config.targets.len();
    let conditional = same_config && !args.force;

    // 1. and 2. Each list's new version, verified: the top-level url from its
    // notification, --input or its address; each named source from its address.
    let mut got: Vec<Result<Got>> = srcs
        .iter()
        .map(|s| match s.name {
            None => top_level(args, &config, &state, s, conditional),
            Some(_) => sources::obtain(s, &config, &state, conditional, args.force),
        })
        .collect();
    // A target drawing from a changed list and an unchanged one needs both files: the
    // unchanged one is got again, unconditionally.
    let again: Vec<usize> = (0..srcs.len())
        .filter(|&i| {
            matches!(got[i], Ok(Got::Unchanged(_)))
                && config.targets.iter().any(|t| {
                    srcs[i].feeds(t)
                        && (0..srcs.len())
                            .any(|j| srcs[j].feeds(t) && matches!(got[j], Ok(Got::New(_))))
                })
        })
        .collect();
    for i in again {
        got[i] = sources::obtain(&srcs[i], &config, &state, false, args.force);
    }
    let mut versions: Vec<Option<Got>> = Vec::new();
    let mut errors: Vec<(usize, anyhow::Error)> = Vec::new();
    for (i, g) in got.into_iter().enumerate() {
        match g {
            Ok(g) => versions.push(Some(g)),
            Err(e) => {
                versions.push(None);
                errors.push((i, e));
            }
        }
    }
    if errors.len() == srcs.len() {
        if errors.len() == 1 {
            return Err(errors.remove(0).1);
        }
        let all: Vec<String> = errors
            .iter()
            .map(|(i, e)| format!("{}: {e:#}", srcs[*i].shown()))
            .collect();
        bail!(
            "every source failed; nothing was changed, the next run tries again:\n  {}",
            all.join("\n  ")
        );
    }
    let blocked = |t: &Target| errors.iter().any(|(i, _)| srcs[*i].feeds(t));
    let fed = |i: usize| -> Vec<&str> {
        config
            .targets
            .iter()
            .filter(|t| srcs[i].feeds(t))
            .map(|t| t.name.as_str())
            .collect()
    };
    for (i, e) in &errors {
        eprintln!(
            "ipfence: {}: {e:#}; its targets ({}) are left as they were",
            srcs[*i].shown(),
            fed(*i).join(", ")
        );
    }
    let sources_failed = || {
        let names: Vec<String> = errors.iter().map(|(i, _)| srcs[*i].shown()).collect();
        let targets: Vec<&str> = config
            .targets
            .iter()
            .filter(|t| blocked(t))
            .map(|t| t.name.as_str())
            .collect();
        anyhow::anyhow!(
            "{} of {} sources failed ({}); their targets ({}) are left as they were and the state records what they hold, so the next run tries again",
            errors.len(),
            srcs.len(),
            names.join(", "),
            targets.join(", ")
        )
    };
    let new_of = |i: usize| match &versions[i] {
        Some(Got::New(v)) => Some(&**v),
        _ => None,
    };
    let one_top_level = srcs.len() == 1 && srcs[0].name.is_none();
    if args.check && !one_top_level {
        // Monitoring reads one line: it comes below, or here when nothing is new.
    } else {
        for g in versions.iter().flatten() {
            if let Got::Unchanged(line) = g {
                println!("{line}");
            }
        }
    }
    // A target is planned when every list it draws from has a new version; the others
    // hold what they were given.
    let work: Vec<(&Target, Cow<'_, Ranges>)> = config
        .targets
        .iter()
        .filter(|t| !blocked(t))
        .filter_map(|t| {
            let mut mine = (0..srcs.len()).filter(|&i| srcs[i].feeds(t)).map(new_of);
            let first = mine.next()??;
            let mut all = Cow::Borrowed(&first.ranges);
            for v in mine {
                all.to_mut().extend(&v?.ranges);
            }
            Some((t, all))
        })
        .collect();
    if work.is_empty() {
        if args.check && !one_top_level && errors.is_empty() {
            println!("{}", current_all(&srcs, &state, config.targets.len()));
        }
        return if errors.is_empty() {
            Ok(0)
        } else {
            Err(sources_failed())
        };
    }
    let top = srcs.iter().position(|s| s.name.is_none()).and_then(new_of);
    let legacy = one_top_level && top.is_some();
    let info = top
        .and_then(|v| v.ranges.sources.first().cloned())
        .unwrap_or_default();
    let applied = state.source.clone();
    let applied_token = applied.as_ref().and_then(|a| a.sync_token.clone());

    // 3. Plan and 4. guard.
    let plans = plan(&config, &state, &work, args.force)?;
    let up_to_date = same_config
        && (0..srcs.len()).all(|i| match new_of(i) {
            Some(v) => srcs[i]
                .applied(&state)
                .is_some_and(|a| a.sha256 == v.applied.sha256),
            None => true,
        })
        && plans.iter().all(|p| !p.changed());
    let pending = plans.iter().filter(|p| p.changed()).count();
    if args.check {
        if !errors.is_empty() {
            return Err(sources_failed());
        }
        if up_to_date {
            println!("{}", current_all(&srcs, &state, config.targets.len()));
            return Ok(0);
        }
        let what: Vec<String> = plans
            .iter()
            .filter(|p| p.changed())
            .map(Plan::describe)
            .collect();
        let what = if what.is_empty() {
            "none (the state is only out of date)".into()
        } else {
            what.join("; ")
        };
        if legacy {
            let a = applied.clone().unwrap_or_default();
            println!(
                "ipfence sync: behind: applied syncToken {} ({}), published {} (createDate {}): {pending} of {} targets would change: {what}",
                a.sync_token.as_deref().unwrap_or("none"),
                age(a.sync_token.as_deref()),
                info.sync_token.as_deref().unwrap_or("-"),
                info.create_date.as_deref().unwrap_or("-"),
                plans.len(),
            );
        } else {
            println!(
                "ipfence sync: behind: published {}: {pending} of {} targets would change: {what}",
                published(&srcs, &versions, &state),
                plans.len(),
            );
        }
        return Ok(1);
    }
    if args.dry_run {
        for (i, s) in srcs.iter().enumerate() {
            let Some(v) = new_of(i) else { continue };
            let a = &v.applied;
            let done = s.applied(&state);
            match s.name {
                None => println!(
                    "ipfence sync: dry run: {} (syncToken {}, createDate {}); applied: {}",
                    a.origin,
                    a.sync_token.as_deref().unwrap_or("-"),
                    a.create_date.as_deref().unwrap_or("-"),
                    applied_token.as_deref().unwrap_or("none")
                ),
                Some(n) => println!(
                    "ipfence sync: dry run: source {n}: {} ({}); applied: {}",
                    a.origin,
                    words(a),
                    done.map_or("none".into(), words)
                ),
            }
        }
        for p in &plans {
            match &p.refusal {
                Some(r) => println!("{}: REFUSED: {r}", p.describe()),
                None => println!("{}", p.describe()),
            }
            // What the exporter would refuse for this very set (e.g. a /0 in an ipset).
            let header = Header {
                sources: &p.sources,
                filter: &p.filter,
            };
            let known = format!("target {} (", p.target.name);
            if problems.iter().any(|x| x.starts_with(&known)) {
                continue; // its name or options are already reported
            }
            if let Err(e) = apply::render(p.target, &p.set, None, header, &apply::options(p.target))
            {
                problems.push(format!("target {}: {e:#}", p.target.name));
            }
        }
        for (i, e) in &errors {
            problems.push(format!("{}: {e:#}", srcs[*i].shown()));
        }
        for p in &problems {
            eprintln!("ipfence: problem: {p}");
        }
        if !problems.is_empty() {
            eprintln!(
                "ipfence: {} problem(s): the run would fail; nothing was changed",
                problems.len()
            );
        }
        return Ok(
            if plans.iter().any(|p| p.refusal.is_some()) || !problems.is_empty() {
                2
            } else {
                0
            },
        );
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
        if legacy {
            println!(
                "ipfence sync: syncToken {} is already applied to all {} targets; nothing to do",
                info.sync_token.as_deref().unwrap_or("-"),
                plans.len()
            );
        } else {
            println!(
                "ipfence sync: {} already applied to {} targets; nothing to do",
                published(&srcs, &versions, &state),
                plans.len()
            );
        }
        return if errors.is_empty() {
            Ok(0)
        } else {
            Err(sources_failed())
        };
    }

    // 5. Write and apply, every target even when one fails.
    let mut failures = Vec::new();
    let mut digests = BTreeMap::new();
    for p in &plans {
        let restored = drifted.iter().any(|(t, _)| t.name == p.target.name);
        if restored && !p.changed() {
            // Restored in full above from this very set: nothing more to apply.
            let digest = state
                .targets
                .get(&p.target.name)
                .and_then(|s| s.output_sha256.clone());
            println!("{}: restored in full above", p.describe());
            digests.insert(p.target.name.clone(), digest);
            continue;
        }
        match write_and_apply(p, &config) {
            Ok((done, digest)) => {
                println!("{}: {done}", p.describe());
                digests.insert(p.target.name.clone(), digest);
            }
            Err(e) => {
                eprintln!("ipfence: target {}: {e:#}", p.target.name);
                failures.push(p.target.name.clone());
            }
        }
    }
    if !failures.is_empty() {
        bail!(
            "{} of {} targets failed ({}); the state still records {}, so the next run retries them",
            failures.len(),
            plans.len(),
            failures.join(", "),
            if srcs.len() == 1 && srcs[0].name.is_none() {
                format!("syncToken {}", applied_token.as_deref().unwrap_or("none"))
            } else {
                "the versions last applied".into()
            }
        );
    }

    // 6. Record the state: each target applied now, the others as they were; a list's
    // new version only when every target drawing from it has it.
    let mut new_state = State {
        version: state::VERSION,
        ..State::default()
    };
    for t in &config.targets {
        let entry = match plans.iter().find(|p| p.target.name == t.name) {
            Some(p) => TargetState::new(
                p.target.format.name(),
                &p.set,
                fingerprint(p.target),
                digests.remove(&p.target.name).flatten(),
            ),
            None => match state.targets.get(&t.name) {
                Some(old) => old.clone(),
                None => continue,
            },
        };
        new_state.targets.insert(t.name.clone(), entry);
    }
    for (i, s) in srcs.iter().enumerate() {
        let record = match new_of(i) {
            Some(v) if !config.targets.iter().any(|t| s.feeds(t) && blocked(t)) => {
                Some(v.applied.clone())
            }
            _ => s.applied(&state).cloned(),
        };
        match (s.name, record) {
            (None, r) => new_state.source = r,
            (Some(n), Some(r)) => {
                new_state.sources.insert(n.to_string(), r);
            }
            (Some(_), None) => {}
        }
    }
    new_state.save(&state_path)?;
    if legacy {
        println!(
            "ipfence sync: applied syncToken {} (createDate {}) to {} targets; state in {}",
            info.sync_token.as_deref().unwrap_or("-"),
            info.create_date.as_deref().unwrap_or("-"),
            plans.len(),
            state_path.display()
        );
    } else {
        println!(
            "ipfence sync: applied {} to {} targets; state in {}",
            published(&srcs, &versions, &state),
            plans.len(),
            state_path.display()
        );
    }
    if errors.is_empty() {
        Ok(0)
    } else {
        Err(sources_failed())
    }
}

/// A version in words: `syncToken T`, `created D`, or `SHA-256 0123456789ab`.
fn words(a: &Applied) -> String {
    if let (false, Some(t)) = (a.versions.is_empty(), &a.sync_token) {
        return format!("blob compiled_at_ms {t}");
    }
    match (&a.sync_token, &a.create_date) {
        (Some(t), _) => format!("syncToken {t}"),
        (None, Some(d)) => format!("created {d}"),
        (None, None) => format!("SHA-256 {}", a.sha256.get(..12).unwrap_or(&a.sha256)),
    }
}

/// Each list's published version (or its applied one, when unchanged), for messages.
fn published(srcs: &[sources::Src<'_>], versions: &[Option<Got>], state: &State) -> String {
    let each: Vec<String> = srcs
        .iter()
        .zip(versions)
        .map(|(s, g)| {
            let v = match g {
                Some(Got::New(v)) => words(&v.applied),
                Some(Got::Unchanged(_)) => s.applied(state).map_or("-".into(), words),
                None => "failed".into(),
            };
            format!("{} {v}", s.shown())
        })
        .collect();
    each.join(", ")
}

/// `current: ...` for every list.
fn current_all(srcs: &[sources::Src<'_>], state: &State, targets: usize) -> String {
    if let ([s], Some(a)) = (srcs, state.source.as_ref()) {
        if s.name.is_none() {
            return current(a, targets);
        }
    }
    let each: Vec<String> = srcs
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s.shown(),
                s.applied(state).map_or("-".into(), words)
            )
        })
        .collect();
    format!(
        "ipfence sync: current: {}, {targets} targets",
        each.join(", ")
    )
}

/// The top-level url's new version: from `--input`, from the notification's address
/// (its md5 must match), or downloaded conditionally.
fn top_level(
    args: &SyncArgs,
    config: &Config,
    state: &State,
    src: &sources::Src<'_>,
    conditional: bool,
) -> Result<Got> {
    let applied = state.source.as_ref();
    let applied_token = applied.and_then(|a| a.sync_token.clone());
    let url = &src.url;
    let mut expected_md5 = None;
    let (bytes, origin, etag, last_modified) = if let Some(path) = &args.input {
        let (bytes, name) = crate::cli::read_input(path, config.max_bytes)?;
        (bytes, name, None, None)
    } else {
        let mut conditional = conditional;
        let mut from = url.clone();
        if let Some(path) = &args.notification {
            let n = fetch::read_notification(path)?;
            eprintln!(
                "ipfence: notification for syncToken {} ({}); {}",
                n.sync_token, n.create_time, n.signature
            );
            if &n.url != url {
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
                if new == done && conditional {
                    return Ok(Got::Unchanged(format!(
                        "ipfence sync: syncToken {new} is already applied; nothing to do"
                    )));
                }
            }
            expected_md5 = Some(n.md5);
            conditional = false;
            from = n.url;
        }
        let (etag, lm) = match (applied, conditional) {
            (Some(a), true) if a.origin == from => (a.etag.as_deref(), a.last_modified.as_deref()),
            _ => (None, None),
        };
        match fetch::download(&from, config, etag, lm)? {
            Fetched::NotModified => {
                let a = applied.cloned().unwrap_or_default();
                let line = current(&a, config.targets.len());
                return Ok(Got::Unchanged(format!(
                    "{line}; {from} is unchanged (HTTP 304)"
                )));
            }
            Fetched::New(d) => (d.bytes, from, d.etag, d.last_modified),
        }
    };
    if let Some(md5) = expected_md5 {
        let got = fetch::md5(&bytes);
        if got != md5 {
            bail!("{origin}: the download's md5 is {got}, the notification says {md5}: the file changed since the notification or was damaged in transit; nothing was changed (rerun to fetch again)");
        }
    }
    if let Some(pinned) = &args.sha256 {
        let sha = state::sha256(&bytes);
        if !pinned.eq_ignore_ascii_case(&sha) {
            bail!("{origin}: the file's SHA-256 is {sha}, not the pinned {pinned}; nothing was changed");
        }
    }
    sources::verify(src, bytes, origin, etag, last_modified, applied, args.force)
        .map(|v| Got::New(Box::new(v)))
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

/// Each target's new set from its lists (fitted to its quota when it says so) and its
/// guard verdict.
fn plan<'a>(
    config: &Config,
    state: &State,
    work: &[(&'a Target, Cow<'_, Ranges>)],
    force: bool,
) -> Result<Vec<Plan<'a>>> {
    let mut plans = Vec::new();
    for (t, ranges) in work {
        let (t, ranges): (&'a Target, &Ranges) = (t, ranges);
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
            sources: ranges.sources.clone(),
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

/// Writes a target's output and applies it; returns what was done and the digest of
/// the output file written.
fn write_and_apply(p: &Plan<'_>, config: &Config) -> Result<(String, Option<String>)> {
    let t = p.target;
    let header = Header {
        sources: &p.sources,
        filter: &p.filter,
    };
    // An incremental file only fits what the same configuration applied last time (and
    // the run restored any target whose live sets had drifted from that).
    let old = p.old.as_ref().filter(|_| p.same_config);
    put(t, config, &p.set, old, header, true)
}

/// Writes `t`'s full output for `set` (when it has one) and, when `apply` and the
/// target is applied, brings the live target to `set`: the increment from `old` when
/// given, else the full file. Returns what was done and the output's digest.
fn put(
    t: &Target,
    config: &Config,
    set: &PrefixSet,
    old: Option<&PrefixSet>,
    header: Header<'_>,
    apply: bool,
) -> Result<(String, Option<String>)> {
    let opts = apply::options(t);
    let mut done = Vec::new();
    let full = apply::render(t, set, None, header, &opts)?;
    let digest = t.output.as_ref().map(|_| state::sha256(full.as_bytes()));
    if let Some(out) = &t.output {
        crate::cli::write_output(Some(out), full.as_bytes())?;
        done.push(format!("wrote {}", out.display()));
    }
    if !(apply && t.apply) {
        return Ok((done.join("; "), digest));
    }
    if t.is_aws() {
        done.push(apply::aws(t, &config.aws, set, header)?);
        return Ok((done.join("; "), digest));
    }
    let temp;
    let full_path = match &t.output {
        Some(out) => out.clone(),
        None => {
            temp = apply::temp_file(&full)?;
            temp.path().to_path_buf()
        }
    };
    let update = match old {
        Some(old) => Some(apply::render(t, set, Some(old), header, &opts)?),
        None => None,
    };
    done.push(apply::local(t, &full_path, update.as_deref())?);
    Ok((done.join("; "), digest))
}

/// The targets whose live sets or output file differ from the state, and the ones that
/// could not be read (each one line). Only targets applied with their present
/// configuration are compared: a changed one is applied in full by the run anyway.
fn drifts<'a>(config: &'a Config, state: &State) -> (Vec<(&'a Target, live::Drift)>, Vec<String>) {
    let (mut drifted, mut unreadable) = (Vec::new(), Vec::new());
    for t in &config.targets {
        let Some(last) = state.targets.get(&t.name) else {
            continue;
        };
        if last.config != fingerprint(t) {
            continue;
        }
        match live::drift(t, last, &config.aws) {
            Ok(d) if d.any() => drifted.push((t, d)),
            Ok(_) => {}
            Err(e) => unreadable.push(format!("target {}: {e:#}", t.name)),
        }
    }
    (drifted, unreadable)
}

/// Brings each drifted target back to its last applied set, in full (an increment
/// assumes the live set is the last applied one, which is just what is not true), and
/// records the new output digests in `state`.
fn restore(config: &Config, state: &mut State, drifted: &[(&Target, live::Drift)]) -> Result<()> {
    let mut failures = Vec::new();
    for (t, d) in drifted {
        let sources = applied_sources(config, state, t);
        let Some(last) = state.targets.get_mut(&t.name) else {
            continue;
        };
        let version = if t.uses_top_level() {
            let token = sources.first().and_then(|s| s.sync_token.as_deref());
            format!("the last applied syncToken {}", token.unwrap_or("-"))
        } else {
            "what was last applied".into()
        };
        eprintln!(
            "ipfence: target {} ({}) drifted from {version}: {}; restoring it in full",
            t.name,
            t.format.name(),
            d.describe()
        );
        let filter = t.filter().describe();
        let header = Header {
            sources: &sources,
            filter: &filter,
        };
        match put(t, config, &last.set.clone(), None, header, d.live.is_some()) {
            Ok((done, digest)) => {
                println!(
                    "target {} ({}): restored {} CIDRs: {done}",
                    t.name,
                    t.format.name(),
                    last.set.cidr_count()
                );
                last.output_sha256 = digest;
            }
            Err(e) => {
                eprintln!("ipfence: target {}: {e:#}", t.name);
                failures.push(t.name.clone());
            }
        }
    }
    if !failures.is_empty() {
        bail!(
            "{} drifted target(s) could not be restored ({}); nothing else was changed, the next run tries again",
            failures.len(),
            failures.join(", ")
        );
    }
    Ok(())
}

/// The lists `t` was last given, as the state records them, for a restored file's
/// header.
fn applied_sources(config: &Config, state: &State, t: &Target) -> Vec<SourceInfo> {
    let one = |a: &Applied, provider: &str| SourceInfo {
        name: a.origin.clone(),
        format: "restored from the ipfence state".into(),
        provider: provider.into(),
        sync_token: a.sync_token.clone(),
        create_date: a.create_date.clone(),
    };
    if t.uses_top_level() {
        return vec![one(&state.source.clone().unwrap_or_default(), "aws")];
    }
    config
        .sources
        .iter()
        .filter(|s| t.sources.contains(&s.name))
        .filter_map(|s| {
            let a = state.sources.get(&s.name)?;
            Some(one(a, s.provider.as_deref().unwrap_or("ipfence")))
        })
        .collect()
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
