//! The `ipfence` commands and what they share: inputs, filters, atomic output.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ipfence::core::prefix::HostBits;
use ipfence::core::source::{self, Format, Join, Label, Options};
use ipfence::core::{Family, Filter, Matcher, PrefixSet, Ranges, SourceInfo};

/// The first bytes of a compiled blob.
const BLOB_MAGIC: &[u8] = b"IPFENCE\0";

pub mod aggregate;
pub mod compile;
pub mod diff;
pub mod export;
pub mod grep;
pub mod lookup;
pub mod services;
pub mod sources;
pub mod sync;
pub mod verify_bot;

/// Where the ranges come from.
#[derive(clap::Args, Debug, Clone)]
pub struct InputArgs {
    /// Published ranges to read, detected by their layout: AWS ip-ranges.json, the
    /// CloudFront list, Google's lists, Azure Service Tags, GitHub meta, Oracle, Fastly,
    /// Cloudflare, Atlassian, Zscaler, RFC 8805 geofeeds, CIDR text, or a blob from
    /// `ipfence compile`. `NAME=PATH` names a list that does not say whose it is
    /// (`googlebot=googlebot.json`, `cloudflare=ips-v4`). Repeat to combine; `-` reads
    /// stdin. Without it, the embedded data is used (`ipfence sources` lists it).
    #[arg(short, long = "input", value_name = "[NAME=]PATH")]
    pub inputs: Vec<PathBuf>,

    /// Read every input as this format instead of detecting it (`ipfence sources --help`
    /// lists the formats).
    #[arg(long, value_name = "FORMAT")]
    pub source_format: Option<Format>,

    /// Mask host bits (`10.0.0.1/8` is read as `10.0.0.0/8`) instead of refusing the file.
    #[arg(long)]
    pub lenient: bool,

    /// Refuse inputs larger than this many bytes (protects against a runaway download).
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub max_input_bytes: u64,

    /// Refuse inputs with more entries than this (the AWS file has about 17,000).
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_input_entries: usize,
}

impl Default for InputArgs {
    fn default() -> Self {
        InputArgs {
            inputs: Vec::new(),
            source_format: None,
            lenient: false,
            max_input_bytes: 64 << 20,
            max_input_entries: 1_000_000,
        }
    }
}

/// Which entries to keep.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Keep entries of this provider (repeat or comma-separate): aws, google, azure,
    /// github, oracle, fastly, cloudflare, atlassian, zscaler, or the name given to a list.
    /// `PROVIDER:SERVICE` keeps one service of that provider only, so
    /// `--provider cloudflare,github:hooks` is one selection of both.
    #[arg(
        short,
        long = "provider",
        value_name = "NAME[:SERVICE]",
        value_delimiter = ','
    )]
    pub providers: Vec<String>,

    /// Keep entries of this service (repeat or comma-separate; any case): AMAZON, EC2,
    /// API_GATEWAY, CLOUDFRONT, S3, ... `ipfence services` lists them.
    #[arg(short, long = "service", value_name = "NAME", value_delimiter = ',')]
    pub services: Vec<String>,

    /// Remove every address of this service (e.g. `--service AMAZON --exclude-service EC2`).
    #[arg(long = "exclude-service", value_name = "NAME", value_delimiter = ',')]
    pub exclude_services: Vec<String>,

    /// Keep entries of this region (e.g. us-east-1, GLOBAL).
    #[arg(short, long = "region", value_name = "NAME", value_delimiter = ',')]
    pub regions: Vec<String>,

    /// Keep entries of this network border group (e.g. us-east-1-wl1-bos-wlz-1).
    #[arg(long = "border-group", value_name = "NAME", value_delimiter = ',')]
    pub border_groups: Vec<String>,

    /// IPv4 only.
    #[arg(long, conflicts_with = "ipv6")]
    pub ipv4: bool,

    /// IPv6 only.
    #[arg(long)]
    pub ipv6: bool,

    /// Accept a selection with no address at all (by default it is refused, so a typo
    /// cannot produce an empty allowlist).
    #[arg(long)]
    pub allow_empty: bool,
}

impl FilterArgs {
    /// The core filter these flags describe.
    pub fn to_filter(&self) -> Filter {
        let mut f = Filter::default()
            .providers(&self.providers)
            .services(&self.services)
            .exclude_services(&self.exclude_services)
            .regions(&self.regions)
            .extras(&self.border_groups);
        if self.ipv4 {
            f = f.family(Family::V4);
        }
        if self.ipv6 {
            f = f.family(Family::V6);
        }
        f
    }

    /// The filter in words, for headers: `service=API_GATEWAY region=us-east-1 family=ipv4`.
    pub fn describe(&self) -> String {
        self.to_filter().to_string()
    }
}

/// Whether `path` names stdin (`-`).
pub(crate) fn is_stdin(path: &Path) -> bool {
    path == Path::new("-")
}

/// Reads one input fully, refusing more than `max` bytes.
pub(crate) fn read_input(path: &Path, max: u64) -> Result<(Vec<u8>, String)> {
    let name = if path == Path::new("-") {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    };
    let mut bytes = Vec::new();
    let reader: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(path).with_context(|| format!("{name}: cannot open"))?;
        // Refuse an oversized file before reading any of it; read it in one piece.
        if let Ok(meta) = f.metadata() {
            if meta.is_file() && meta.len() > max {
                bail!("{name}: {} bytes is larger than the limit of {max} bytes (raise it with --max-input-bytes if this file is genuine)", meta.len());
            }
            if meta.is_file() {
                if let Some(b) = read_in_halves(&f, meta.len()) {
                    return Ok((b, name));
                }
            }
            bytes.reserve(usize::try_from(meta.len().min(max)).unwrap_or(0));
        }
        Box::new(f)
    };
    reader
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(|| format!("{name}: cannot read"))?;
    if bytes.len() as u64 > max {
        bail!("{name}: larger than the limit of {max} bytes (raise it with --max-input-bytes if this file is genuine)");
    }
    Ok((bytes, name))
}

/// A large regular file of `len` bytes read in two halves at once, one per thread: the
/// copy out of the page cache and the page faults of the buffer are most of the time a
/// 4 MB file takes to read. `None` for a small file, or when the file did not read as
/// exactly `len` bytes (it changed while read): the caller then reads it the usual way.
fn read_in_halves(f: &std::fs::File, len: u64) -> Option<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    if len < 1 << 20 {
        return None;
    }
    let n = usize::try_from(len).ok()?;
    let mut bytes = vec![0; n];
    let (a, b) = bytes.split_at_mut(n / 2);
    let mid = a.len() as u64;
    let (ra, rb) = both(|| f.read_exact_at(a, 0), || f.read_exact_at(b, mid));
    // Nothing after the last byte: the file did not grow.
    let at_end = f.read_at(&mut [0], len).ok()? == 0;
    (ra.is_ok() && rb.is_ok() && at_end).then_some(bytes)
}

/// Every input loaded, with the SHA-256 of each source's bytes (`sha256:<hex>`, the
/// version of a list that carries none), in source order.
pub struct Loaded {
    /// The entries and sources.
    pub ranges: Ranges,
    /// One per source of `ranges`; `None` for a source read from a compiled blob.
    pub digests: Vec<Option<String>>,
}

/// Splits `NAME=PATH` (a named input) from a plain path. A path that exists as given is
/// never split, so a file name with `=` still reads.
fn split_label(path: &Path) -> Result<(Option<Label<'_>>, &Path)> {
    let Some(text) = path.to_str() else {
        return Ok((None, path));
    };
    match text.split_once('=') {
        Some((name, file)) if !path.exists() && !name.contains('/') => {
            let label = Label::new(name).with_context(|| format!("--input {text}"))?;
            Ok((Some(label), Path::new(file)))
        }
        _ => Ok((None, path)),
    }
}

/// Loads every input (the embedded data when there is none) into one [`Ranges`].
pub fn load(args: &InputArgs) -> Result<Ranges> {
    Ok(load_with(args, false)?.ranges)
}

/// [`load`], with each source's digest.
pub fn load_sources(args: &InputArgs) -> Result<Loaded> {
    load_with(args, true)
}

/// Lets a parser run two parts of a large file on two threads.
pub(crate) const JOIN: Join = Join(|a, b| {
    both(a, b);
});

/// Runs `a` here and `b` beside it on a scoped thread. When no thread can be started (a
/// limit on tasks or memory), `b` runs here after `a`: threads change how fast an answer
/// comes, never whether it comes.
pub(crate) fn both<A, B: Send>(a: impl FnOnce() -> A, b: impl FnOnce() -> B + Send) -> (A, B) {
    let b = std::sync::Mutex::new(Some(b));
    let run = || b.lock().ok().and_then(|mut f| f.take()).map(|f| f());
    std::thread::scope(|s| {
        let beside = std::thread::Builder::new().spawn_scoped(s, run);
        let ra = a();
        let rb = match beside {
            Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            Err(_) => run(),
        };
        // `b` is taken once: on the thread, or here when the thread did not start.
        (ra, rb.expect("the second closure runs once"))
    })
}

/// [`load`]; hashes each input only when `digests` asks for it (the digests are `None`
/// otherwise): hashing a 4 MB list costs more than parsing it.
fn load_with(args: &InputArgs, digests_wanted: bool) -> Result<Loaded> {
    let opts = Options {
        host_bits: if args.lenient {
            HostBits::Mask
        } else {
            HostBits::Reject
        },
        max_entries: args.max_input_entries,
        join: Some(JOIN),
    };
    if args.inputs.is_empty() {
        let m = Matcher::from_bytes(ipfence::EMBEDDED)
            .context("the embedded data (a bug: rebuild ipfence)")?
            .0;
        let ranges = Ranges::from_matcher(&m);
        let digests = (0..ranges.sources.len())
            .map(|i| ipfence::EMBEDDED_DIGESTS.get(i).map(|d| d.to_string()))
            .collect();
        return Ok(Loaded { ranges, digests });
    }
    if args
        .inputs
        .iter()
        .filter(|p| is_stdin(split_label(p).map_or(p, |l| l.1)))
        .count()
        > 1
    {
        bail!("--input - is given more than once: stdin can be read only once");
    }
    let mut all = Ranges::new();
    let mut digests = Vec::new();
    for given in &args.inputs {
        let (label, path) = split_label(given)?;
        let (bytes, name) = read_input(path, args.max_input_bytes)?;
        let r = if args.source_format.is_none() && bytes.starts_with(BLOB_MAGIC) {
            if let Some(l) = label {
                bail!(
                    "--input {}: a compiled blob keeps the names it was compiled with: drop {}=",
                    given.display(),
                    l.name
                );
            }
            // A compiled blob (`ipfence compile`): every entry with its tags comes back.
            let m = Matcher::from_vec(bytes).with_context(|| name.clone())?;
            let mut r = Ranges::from_matcher(&m);
            for s in &mut r.sources {
                s.name = format!("{} (compiled in {name})", s.name);
            }
            digests.extend(r.sources.iter().map(|_| None));
            r
        } else {
            let r = source::parse_labeled(&bytes, &name, args.source_format, label.as_ref(), opts)?;
            digests.push(digests_wanted.then(|| sha256(&bytes)));
            r
        };
        if all.is_empty() && all.sources.is_empty() {
            all = r;
        } else {
            all.extend(&r);
        }
    }
    Ok(Loaded {
        ranges: all,
        digests,
    })
}

/// `sha256:<hex>` of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// Loads, checks the filter's names against the data, selects, and refuses an empty
/// selection unless `--allow-empty`. Returns the selected entries, their exact address
/// set and the filter in words.
pub fn load_selected(
    inputs: &InputArgs,
    filter: &FilterArgs,
) -> Result<(Ranges, PrefixSet, String)> {
    let ranges = load(inputs)?;
    let today = today()?;
    let selected = select(ranges, filter)?;
    warn_if_stale(&selected.0, today, inputs.inputs.is_empty());
    Ok(selected)
}

/// [`load_selected`] for data already loaded.
pub fn select(ranges: Ranges, filter: &FilterArgs) -> Result<(Ranges, PrefixSet, String)> {
    let selected = select_entries(ranges, filter)?;
    let set = set_of(&selected);
    Ok((selected, set, filter.describe()))
}

/// The address set of `ranges`' entries. Building it is mostly sorting: a large one
/// (Azure's 100,000 entries) is built a family per core.
pub(crate) fn set_of(ranges: &Ranges) -> PrefixSet {
    if ranges.len() < 20_000 {
        return ranges.to_set();
    }
    let family = |f| PrefixSet::of_family(ranges.entries.iter().map(|e| e.prefix), f);
    let (v4, v6) = both(|| family(Family::V4), || family(Family::V6));
    PrefixSet::from_families(v4, v6)
}

/// The error for a selection with no address.
fn empty_selection(filter: &FilterArgs, sources: &[SourceInfo]) -> anyhow::Error {
    anyhow::anyhow!(
        "the selection ({}) holds no address in {}: refusing to go on with an empty allowlist (pass --allow-empty if that is intended)",
        filter.describe(),
        describe_sources(sources)
    )
}

/// The index of the first byte of `b` from `from` on that is one of `set`, or
/// `b.len()`: eight bytes at a time, for the line and field scans of `lookup` and `grep`.
#[inline(always)]
pub(crate) fn find_any<const N: usize>(b: &[u8], from: usize, set: [u8; N]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    // The high bit of each byte of `w` equal to `c`; bits above the lowest true one may
    // be false positives (a borrow), so only the lowest is used.
    let equal = |w: u64, c: u8| {
        let x = w ^ (ONES * u64::from(c));
        x.wrapping_sub(ONES) & !x & (ONES << 7)
    };
    let mut i = from;
    while let Some(w) = b.get(i..).and_then(|r| r.first_chunk::<8>()) {
        let w = u64::from_le_bytes(*w);
        let m = set.iter().fold(0, |m, &c| m | equal(w, c));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    let rest = b.get(i..).unwrap_or_default();
    i + rest
        .iter()
        .position(|c| set.contains(c))
        .unwrap_or(rest.len())
}

/// What `lookup` and `grep` look addresses up in.
pub(crate) enum Selection {
    /// The embedded blob itself, when there is no input and no filter: nothing to copy
    /// or compile.
    Embedded(Matcher<&'static [u8]>),
    /// A matcher compiled from the selected entries.
    Built(Matcher),
}

/// [`load_selected`] and [`note_sources`] (the same checks, warnings and note), as a
/// matcher. Without `tags`, a compiled matcher holds the selection's addresses only (its
/// fewest CIDRs, untagged): enough to say whether an address is in it.
pub(crate) fn load_matcher(
    inputs: &InputArgs,
    filter: &FilterArgs,
    tags: bool,
) -> Result<Selection> {
    if !inputs.inputs.is_empty() || !filter.to_filter().is_everything() {
        let ranges = load(inputs)?;
        let today = today()?;
        let selected = select_entries(ranges, filter)?;
        warn_if_stale(&selected, today, inputs.inputs.is_empty());
        note_sources(inputs, &selected);
        if tags {
            return Ok(Selection::Built(Matcher::build(&selected)?));
        }
        let mut cidrs = Ranges::new();
        let none = ipfence::core::Tags {
            provider: "",
            service: "",
            region: "",
            extra: "",
        };
        for net in set_of(&selected).cidrs() {
            cidrs.push(net, none);
        }
        return Ok(Selection::Built(Matcher::build(&cidrs)?));
    }
    let (m, _) = Matcher::from_bytes(ipfence::EMBEDDED)
        .context("the embedded data (a bug: rebuild ipfence)")?;
    let today = today()?;
    let sources = m.sources();
    if m.entry_count() == 0 && !filter.allow_empty {
        return Err(empty_selection(filter, &sources));
    }
    // The providers with an entry, as `stale_warnings` counts them: build.rs wrote the
    // blob with `Matcher::build`, whose tag table holds the entries' tag sets only.
    let used: std::collections::BTreeSet<&str> = m.tag_sets().map(|t| t.provider).collect();
    for w in stale_warnings_of(&sources, &used, today, true) {
        eprintln!("ipfence: {w}");
    }
    eprintln!("ipfence: using {}", describe_embedded(&sources));
    Ok(Selection::Embedded(m))
}

/// [`select`] without the address set, for commands that only look up.
fn select_entries(ranges: Ranges, filter: &FilterArgs) -> Result<Ranges> {
    let f = filter.to_filter();
    f.check(&ranges)?;
    let selected = if f.is_everything() {
        ranges
    } else {
        f.select(&ranges)
    };
    // Every entry holds at least one address: the set is empty when the entries are.
    if selected.is_empty() && !filter.allow_empty {
        return Err(empty_selection(filter, &selected.sources));
    }
    Ok(selected)
}

/// `name (createDate ..., syncToken ...)` for each source.
pub fn describe_sources(sources: &[SourceInfo]) -> String {
    let list: Vec<String> = sources
        .iter()
        .map(|s| {
            let mut extra = Vec::new();
            if let Some(d) = &s.create_date {
                extra.push(format!("createDate {d}"));
            }
            if let Some(t) = &s.sync_token {
                extra.push(format!("syncToken {t}"));
            }
            if extra.is_empty() {
                s.name.clone()
            } else {
                format!("{} ({})", s.name, extra.join(", "))
            }
        })
        .collect();
    list.join(" + ")
}

/// Tells on stderr which data a command used, when it is the embedded data.
pub fn note_sources(inputs: &InputArgs, ranges: &Ranges) {
    if inputs.inputs.is_empty() {
        eprintln!("ipfence: using {}", describe_embedded(&ranges.sources));
    }
}

/// The embedded data in a few words: `the embedded data (20 lists of 12 providers;
/// AWS createDate ..., syncToken ...)` or, when a filter kept one source, that source.
pub fn describe_embedded(sources: &[SourceInfo]) -> String {
    let mut providers: Vec<&str> = sources.iter().map(|s| s.provider.as_str()).collect();
    providers.sort_unstable();
    providers.dedup();
    let aws = sources
        .iter()
        .find(|s| s.format == "aws")
        .map(|s| format!("; {}", describe_sources(std::slice::from_ref(s))))
        .unwrap_or_default();
    let (lists, providers) = (sources.len(), providers.len());
    format!(
        "the embedded data ({lists} {} of {providers} {}{aws}; `ipfence sources` lists them)",
        if lists == 1 { "list" } else { "lists" },
        if providers == 1 {
            "provider"
        } else {
            "providers"
        },
    )
}

/// Days after its publication date when data is called stale: AWS changes its ranges
/// several times a week.
pub(crate) const STALE_DAYS: i64 = 30;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The day of a date that starts `YYYY-MM-DD` (AWS createDate `2026-08-22-15-17-05`,
/// ISO 8601), as days since 1970-01-01.
pub(crate) fn day_of(date: &str) -> Option<i64> {
    let head = date.get(..10)?;
    let mut parts = head.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then(|| days_from_civil(y, m, d))
}

/// Today as days since 1970-01-01: `IPFENCE_NOW` (`YYYY-MM-DD`) when set, so tests and
/// reproducible runs control it, else the system clock.
pub(crate) fn today() -> Result<i64> {
    if let Some(v) = std::env::var_os("IPFENCE_NOW") {
        let text = v.to_string_lossy();
        return day_of(&text)
            .filter(|_| text.len() == 10)
            .with_context(|| format!("IPFENCE_NOW={text:?}: not a date of the form YYYY-MM-DD"));
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Ok(i64::try_from(secs / 86_400).unwrap_or(i64::MAX))
}

/// The warnings for the sources the entries of `ranges` draw on (by provider) that were
/// published more than [`STALE_DAYS`] before `today`: one line for the embedded data, one
/// per stale input otherwise.
pub(crate) fn stale_warnings(ranges: &Ranges, today: i64, embedded: bool) -> Vec<String> {
    // By symbol first: a string compare per entry costs more than the rest.
    let strings = ranges.strings.as_slice();
    let named: Vec<bool> = strings
        .iter()
        .map(|p| ranges.sources.iter().any(|s| s.provider == *p))
        .collect();
    // Once every provider a source names is seen, the rest cannot change the answer:
    // with one input, the first entry ends the walk over 100,000.
    let mut left = named.iter().filter(|&&n| n).count();
    let mut seen = vec![false; strings.len()];
    for e in &ranges.entries {
        if left == 0 {
            break;
        }
        let i = e.provider as usize;
        if let Some(s) = seen.get_mut(i).filter(|s| !**s) {
            *s = true;
            left -= usize::from(named.get(i) == Some(&true));
        }
    }
    let used: std::collections::BTreeSet<&str> = strings
        .iter()
        .zip(&seen)
        .filter(|(_, &s)| s)
        .map(|(p, _)| p.as_str())
        .collect();
    stale_warnings_of(&ranges.sources, &used, today, embedded)
}

/// [`stale_warnings`] for `sources`, of which those of the `used` providers count.
fn stale_warnings_of(
    sources: &[SourceInfo],
    used: &std::collections::BTreeSet<&str>,
    today: i64,
    embedded: bool,
) -> Vec<String> {
    let stale: Vec<(&SourceInfo, &str, i64)> = sources
        .iter()
        .filter(|s| used.contains(s.provider.as_str()))
        .filter_map(|s| {
            let date = s.create_date.as_deref()?;
            let age = today - day_of(date)?;
            (age > STALE_DAYS).then_some((s, date, age))
        })
        .collect();
    if embedded {
        let Some(&(oldest, date, age)) = stale.iter().max_by_key(|(_, _, age)| *age) else {
            return Vec::new();
        };
        return vec![format!(
            "warning: the embedded data is old: {} published more than {STALE_DAYS} days ago (the oldest, {}, on {date}: {age} days ago), and published ranges change every few days: pass current lists with --input (`ipfence sources` shows each list's date; AWS: `curl -O https://ip-ranges.amazonaws.com/ip-ranges.json`, then `--input ip-ranges.json`)",
            match stale.len() {
                1 => "1 list this answer uses was".to_string(),
                n => format!("{n} lists this answer uses were"),
            },
            oldest.name
        )];
    }
    stale
        .iter()
        .map(|(s, date, age)| {
            let fresh = if s.format == "aws" {
                "get the current one with `curl -O https://ip-ranges.amazonaws.com/ip-ranges.json` and pass `--input ip-ranges.json`"
            } else {
                "get the current list from its publisher and pass it with --input"
            };
            format!(
                "warning: {} was published {age} days ago ({date}), and published ranges change every few days: {fresh}",
                s.name
            )
        })
        .collect()
}

/// Warns on stderr about stale sources (see [`stale_warnings`]).
pub(crate) fn warn_if_stale(ranges: &Ranges, today: i64, embedded: bool) {
    for w in stale_warnings(ranges, today, embedded) {
        eprintln!("ipfence: {w}");
    }
}

/// Refuses an output path that cannot be written as a file, before any work is done: a
/// directory, a path ending in `/`, a folder that does not exist.
pub fn check_output(path: Option<&Path>) -> Result<()> {
    let Some(path) = path else {
        return Ok(());
    };
    let shown = path.display();
    if path.is_dir() || path.as_os_str().to_string_lossy().ends_with('/') {
        bail!(
            "{shown}: is a directory: give a file path (e.g. {}/ipfence.out)",
            shown.to_string().trim_end_matches('/')
        );
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        bail!(
            "{shown}: the folder {} does not exist (create it first)",
            dir.display()
        );
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically (a temporary file in the same folder, then a
/// rename), keeping an existing file's permissions; to stdout when `path` is `None`.
pub fn write_output(path: Option<&Path>, bytes: &[u8]) -> Result<()> {
    let Some(path) = path else {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)
            .and_then(|()| out.flush())
            .context("cannot write to stdout")?;
        return Ok(());
    };
    check_output(Some(path))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let shown = path.display();
    let mut tmp = tempfile::Builder::new()
        .prefix(".ipfence-")
        .tempfile_in(dir)
        .with_context(|| {
            format!(
                "{shown}: cannot create a temporary file in {}",
                dir.display()
            )
        })?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("{shown}: cannot write"))?;
    let perms = match std::fs::metadata(path) {
        Ok(m) => m.permissions(),
        Err(_) => {
            use std::os::unix::fs::PermissionsExt;
            std::fs::Permissions::from_mode(0o644)
        }
    };
    std::fs::set_permissions(tmp.path(), perms)
        .with_context(|| format!("{shown}: cannot set permissions"))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("{shown}: cannot replace"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large file (Azure's) is parsed in two parts and its set built a family per
    /// thread: both give what one thread gives.
    #[test]
    fn large_inputs_read_on_two_threads_read_the_same() {
        let bytes = std::fs::read("tests/data/azure/ServiceTags_Public.json").unwrap();
        let read = |join| {
            let opts = Options {
                join,
                ..Options::default()
            };
            source::parse(&bytes, "azure.json", None, opts).unwrap()
        };
        let one = read(None);
        assert!(one.len() > 20_000);
        assert_eq!(read(Some(JOIN)), one);
        let set = one.to_set();
        assert!(!set.v4_ranges().is_empty() && !set.v6_ranges().is_empty());
        assert_eq!(set_of(&one), set);
    }

    /// `find_any` finds the first byte of the set at every place, in the eight-byte words
    /// and in the tail, from any start; bytes next to a wanted one (a borrow) are not
    /// taken for it.
    #[test]
    fn find_any_finds_the_first_wanted_byte() {
        for len in 0..20 {
            for at in 0..=len {
                for from in 0..=at {
                    let mut b = vec![b'-'; len];
                    if let Some(x) = b.get_mut(at) {
                        *x = b'#';
                    }
                    // `"` and `$` are one below and one above `#`.
                    if let Some(x) = b.get_mut(from) {
                        if from < at {
                            *x = b'"';
                        }
                    }
                    assert_eq!(find_any(&b, from, [b'\n', b'#']), at, "{len} {at} {from}");
                    assert_eq!(find_any(&b, from, [b'$']), len);
                }
            }
        }
    }

    #[test]
    fn dates_and_days() {
        assert_eq!(day_of("1970-01-01"), Some(0));
        assert_eq!(day_of("2026-08-22-15-17-05"), Some(20_687));
        assert_eq!(day_of("2000-03-01T00:00:00Z"), Some(11_017));
        assert_eq!(day_of("2026-13-01"), None);
        assert_eq!(day_of("26-08-22"), None);
        assert_eq!(day_of(""), None);
    }

    #[test]
    fn stale_after_thirty_days() {
        let source = |name: &str, provider: &str, date: &str| SourceInfo {
            name: name.into(),
            format: provider.into(),
            provider: provider.into(),
            sync_token: None,
            create_date: Some(date.into()),
        };
        let mut r = Ranges::new();
        r.sources
            .push(source("a.json", "aws", "2026-08-22-15-17-05"));
        let day = day_of("2026-08-22").unwrap();
        // No entry draws on the source: nothing to warn about.
        assert!(stale_warnings(&r, day + 31, false).is_empty());
        let tags = ipfence::core::Tags {
            provider: "aws",
            service: "S3",
            region: "",
            extra: "",
        };
        r.push("3.5.140.0/22".parse().unwrap(), tags);
        assert!(stale_warnings(&r, day + 30, false).is_empty());
        let w = stale_warnings(&r, day + 31, false);
        assert_eq!(w.len(), 1);
        assert!(
            w[0].contains("a.json was published 31 days ago")
                && w[0].contains("curl -O https://ip-ranges.amazonaws.com/ip-ranges.json"),
            "{w:?}"
        );
        let w = stale_warnings(&r, day + 31, true);
        assert!(
            w[0].contains("the embedded data is old: 1 list this answer uses was published"),
            "{w:?}"
        );
        // A second provider's list counts once an entry draws on it, however late.
        r.sources
            .push(source("cloud.json", "google", "2026-08-01T00:00:00"));
        for _ in 0..1000 {
            r.push("3.5.140.0/22".parse().unwrap(), tags);
        }
        assert_eq!(stale_warnings(&r, day + 31, false).len(), 1);
        let google = ipfence::core::Tags {
            provider: "google",
            ..tags
        };
        r.push("34.1.0.0/16".parse().unwrap(), google);
        let w = stale_warnings(&r, day + 31, false);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[1].contains("cloud.json was published 52 days ago"),
            "{w:?}"
        );
    }
}
