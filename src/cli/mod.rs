//! The `ipfence` commands and what they share: inputs, filters, atomic output.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ipfence::core::prefix::HostBits;
use ipfence::core::source::{self, Format, Options};
use ipfence::core::{Family, Filter, Matcher, PrefixSet, Ranges, SourceInfo};

/// The first bytes of a compiled blob.
const BLOB_MAGIC: &[u8] = b"IPFENCE\0";

pub mod aggregate;
pub mod compile;
pub mod diff;
pub mod export;
pub mod lookup;
pub mod services;
pub mod sync;

/// Where the ranges come from.
#[derive(clap::Args, Debug, Clone)]
pub struct InputArgs {
    /// Published ranges to read: AWS ip-ranges.json, the CloudFront list, a CIDR text
    /// list (one prefix or address per line), or a blob from `ipfence compile`. Repeat
    /// to combine; `-` reads stdin. Without it, the embedded AWS snapshot is used.
    #[arg(short, long = "input", value_name = "PATH")]
    pub inputs: Vec<PathBuf>,

    /// Read every input as this format instead of detecting it.
    #[arg(long, value_name = "aws|cloudfront|text")]
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
        let mut parts = Vec::new();
        let mut add = |key: &str, vals: &[String]| {
            if !vals.is_empty() {
                parts.push(format!("{key}={}", vals.join(",")));
            }
        };
        add("service", &self.services);
        add("exclude-service", &self.exclude_services);
        add("region", &self.regions);
        add("border-group", &self.border_groups);
        if self.ipv4 {
            parts.push("family=ipv4".into());
        }
        if self.ipv6 {
            parts.push("family=ipv6".into());
        }
        if parts.is_empty() {
            "everything".into()
        } else {
            parts.join(" ")
        }
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
            bytes.reserve(usize::try_from(meta.len().min(max)).unwrap_or(0));
            if meta.is_file() && meta.len() > max {
                bail!("{name}: {} bytes is larger than the limit of {max} bytes (raise it with --max-input-bytes if this file is genuine)", meta.len());
            }
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

/// Loads every input (the embedded snapshot when there is none) into one [`Ranges`].
pub fn load(args: &InputArgs) -> Result<Ranges> {
    let opts = Options {
        host_bits: if args.lenient {
            HostBits::Mask
        } else {
            HostBits::Reject
        },
        max_entries: args.max_input_entries,
    };
    if args.inputs.is_empty() {
        let r = source::parse(
            ipfence::EMBEDDED_AWS.as_bytes(),
            ipfence::EMBEDDED_AWS_NAME,
            Some(Format::Aws),
            opts,
        )?;
        return Ok(r);
    }
    if args.inputs.iter().filter(|p| is_stdin(p)).count() > 1 {
        bail!("--input - is given more than once: stdin can be read only once");
    }
    let mut all = Ranges::new();
    for path in &args.inputs {
        let (bytes, name) = read_input(path, args.max_input_bytes)?;
        let r = if args.source_format.is_none() && bytes.starts_with(BLOB_MAGIC) {
            // A compiled blob (`ipfence compile`): every entry with its tags comes back.
            let m = Matcher::from_vec(bytes).with_context(|| name.clone())?;
            let mut r = m.to_ranges();
            for s in &mut r.sources {
                s.name = format!("{} (compiled in {name})", s.name);
            }
            r
        } else {
            source::parse(&bytes, &name, args.source_format, opts)?
        };
        if all.is_empty() && all.sources.is_empty() {
            all = r;
        } else {
            all.extend(&r);
        }
    }
    Ok(all)
}

/// Loads, checks the filter's names against the data, selects, and refuses an empty
/// selection unless `--allow-empty`. Returns the selected entries, their exact address
/// set and the filter in words.
pub fn load_selected(
    inputs: &InputArgs,
    filter: &FilterArgs,
) -> Result<(Ranges, PrefixSet, String)> {
    let ranges = load(inputs)?;
    warn_if_stale(&ranges, today()?);
    select(ranges, filter)
}

/// [`load_selected`] for data already loaded.
pub fn select(ranges: Ranges, filter: &FilterArgs) -> Result<(Ranges, PrefixSet, String)> {
    let f = filter.to_filter();
    f.check(&ranges)?;
    let selected = if f.is_everything() {
        ranges
    } else {
        f.select(&ranges)
    };
    let set = selected.to_set();
    let words = filter.describe();
    if set.is_empty() && !filter.allow_empty {
        bail!(
            "the selection ({words}) holds no address in {}: refusing to go on with an empty allowlist (pass --allow-empty if that is intended)",
            describe_sources(&selected.sources)
        );
    }
    Ok((selected, set, words))
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

/// Tells on stderr which data a command used, when it is the embedded snapshot.
pub fn note_sources(inputs: &InputArgs, ranges: &Ranges) {
    if inputs.inputs.is_empty() {
        eprintln!("ipfence: using {}", describe_sources(&ranges.sources));
    }
}

/// Days after its publication date when data is called stale: AWS changes its ranges
/// several times a week.
const STALE_DAYS: i64 = 30;

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
fn day_of(date: &str) -> Option<i64> {
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

/// The warnings for sources published more than [`STALE_DAYS`] before `today`.
pub(crate) fn stale_warnings(ranges: &Ranges, today: i64) -> Vec<String> {
    let mut out = Vec::new();
    for s in &ranges.sources {
        let Some(date) = &s.create_date else {
            continue;
        };
        let Some(day) = day_of(date) else {
            continue;
        };
        let age = today - day;
        if age <= STALE_DAYS {
            continue;
        }
        let fresh = if s.format == "aws" {
            "get the current one with `curl -O https://ip-ranges.amazonaws.com/ip-ranges.json` and pass `--input ip-ranges.json`"
        } else {
            "get the current list from its publisher and pass it with --input"
        };
        out.push(format!(
            "warning: {} was published {} days ago (createDate {date}), and published ranges change every few days: {fresh}",
            s.name, age
        ));
    }
    out
}

/// Warns on stderr about each source older than [`STALE_DAYS`].
pub(crate) fn warn_if_stale(ranges: &Ranges, today: i64) {
    for w in stale_warnings(ranges, today) {
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

/// Addresses from the command line, or from stdin (one per line, `#` comments) when
/// none are given. Refuses stdin when it is also an input of ranges, and an empty list.
pub fn addresses(args: &[String], inputs: &InputArgs) -> Result<Vec<(String, String)>> {
    if !args.is_empty() {
        return Ok(args
            .iter()
            .enumerate()
            .map(|(i, a)| (format!("argument {}", i + 1), a.clone()))
            .collect());
    }
    if inputs.inputs.iter().any(|p| is_stdin(p)) {
        bail!("no address to look up: stdin is the ranges (--input -), so it cannot be the addresses too; give the addresses as arguments, or the ranges as a file");
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("ipfence: reading addresses from stdin, one per line (Ctrl-D to end)");
    }
    let mut text = String::new();
    stdin
        .lock()
        .read_to_string(&mut text)
        .context("<stdin>: cannot read addresses")?;
    let list: Vec<(String, String)> = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let l = l.split('#').next().unwrap_or("").trim();
            (!l.is_empty()).then(|| (format!("<stdin> line {}", i + 1), l.to_string()))
        })
        .collect();
    if list.is_empty() {
        bail!("no address to look up: stdin held none; give addresses as arguments or on stdin, one per line");
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut r = Ranges::new();
        r.sources.push(SourceInfo {
            name: "a.json".into(),
            format: "aws".into(),
            sync_token: None,
            create_date: Some("2026-08-22-15-17-05".into()),
        });
        let day = day_of("2026-08-22").unwrap();
        assert!(stale_warnings(&r, day + 30).is_empty());
        let w = stale_warnings(&r, day + 31);
        assert_eq!(w.len(), 1);
        assert!(
            w[0].contains("a.json was published 31 days ago")
                && w[0].contains("curl -O https://ip-ranges.amazonaws.com/ip-ranges.json"),
            "{w:?}"
        );
    }
}
