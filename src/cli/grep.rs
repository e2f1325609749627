//! `ipfence grep`: the lines of a log whose address is in the selection, as
//! `grepcidr -f` finds them.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ipfence::core::matcher::Matcher;

use super::{FilterArgs, InputArgs};

/// Arguments of `ipfence grep`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  ipfence grep --provider aws access.log               # requests from AWS addresses
  ipfence grep -v --provider googlebot access.log      # requests not from Googlebot
  ipfence grep -c --provider github --service hooks access.log
  ipfence grep --field 1 --input ranges.txt access.log  # only the first field's address

Addresses are found anywhere in the line as grepcidr 2.0 finds them: an IPv4 field is a
run of letters, digits and dots starting with a digit that has a dot within its next
three characters; an IPv6 field a run of letters, digits, dots and colons starting with
`::` and a hex digit, or one to four hex digits and a colon; a field is an address only
if it is one as a whole (`10.1.2.3.4`, `10.1.2.3x` and `010.1.2.3` are not).
A line is printed when any of its addresses is in the selection; with -v when it has an
address and none is. IPv4-mapped IPv6 (::ffff:1.2.3.4) is looked up as IPv4.
Exit status: 0 when a line was selected, 1 when none was, 2 on error.")]
pub struct GrepArgs {
    /// Files to search; stdin when none is given (or `-`).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Print the lines that have an address and whose addresses are all outside the
    /// selection (lines without an address are never printed, as in grepcidr).
    #[arg(short = 'v', long = "invert-match")]
    pub invert: bool,

    /// Print only the number of selected lines, over all files.
    #[arg(short = 'c', long)]
    pub count: bool,

    /// Look for addresses only in this whitespace-separated field of each line (1 is the
    /// first), instead of anywhere in the line.
    #[arg(long, value_name = "N")]
    pub field: Option<NonZeroUsize>,

    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub filter: FilterArgs,
}

/// Lines looked up together: their addresses go through the batch lookup at once.
const BLOCK_BYTES: usize = 1 << 18;

/// What the scan of one line found.
struct Scan {
    /// Addresses found, across the block.
    addrs: Vec<IpAddr>,
    /// Per line of the block: (start, end) in the block's bytes, index of its first
    /// address in `addrs`.
    lines: Vec<(usize, usize, usize)>,
}

/// The byte at `i`, or 0 past the end (grepcidr reads the line's `\n` or NUL there).
#[inline(always)]
fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

#[inline(always)]
fn v4_field_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'.'
}

#[inline(always)]
fn v6_field_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'.' || c == b':'
}

/// grepcidr's IPV6_HINT1..5 at `p`: `::` and a hex digit, or 1 to 4 hex digits and `:`.
#[inline(always)]
fn v6_hint(b: &[u8], p: usize) -> bool {
    let c0 = at(b, p);
    if c0 == b':' {
        return at(b, p + 1) == b':' && at(b, p + 2).is_ascii_hexdigit();
    }
    for k in 1..=4 {
        let c = at(b, p + k - 1);
        if !c.is_ascii_hexdigit() {
            return false;
        }
        if at(b, p + k) == b':' {
            return true;
        }
    }
    false
}

/// A strict dotted quad (inet_pton's AF_INET rules: four decimal parts, each 0 to 255
/// without a leading zero), without allocating.
#[inline]
fn parse_v4(f: &[u8]) -> Option<Ipv4Addr> {
    if f.len() > 15 {
        return None;
    }
    let mut out = [0u8; 4];
    let mut parts = f.split(|&c| c == b'.');
    for o in &mut out {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part.first() == Some(&b'0')) {
            return None;
        }
        let mut v = 0u32;
        for &c in part {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u32::from(c - b'0');
        }
        *o = u8::try_from(v).ok()?;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(out))
}

/// Any IPv6 text form inet_pton accepts (at most 45 characters).
#[inline]
fn parse_v6(f: &[u8]) -> Option<Ipv6Addr> {
    if f.len() > 45 {
        return None;
    }
    std::str::from_utf8(f).ok()?.parse().ok()
}

/// Appends every address of `line` to `out`, scanning as grepcidr 2.0's
/// `scan_with_hints` does. `v4`/`v6`: whether the selection has that family (grepcidr
/// looks only for the families its patterns have).
fn scan_line(line: &[u8], v4: bool, v6: bool, out: &mut Vec<IpAddr>) {
    let mut p = 0;
    while let Some(&c) = line.get(p) {
        // Most bytes start nothing: skip them with one test.
        if !(c.is_ascii_hexdigit() || c == b':') {
            p += 1;
            continue;
        }
        if v4
            && c.is_ascii_digit()
            && (at(line, p + 1) == b'.' || at(line, p + 2) == b'.' || at(line, p + 3) == b'.')
        {
            let rest = line.get(p..).unwrap_or_default();
            let len = rest
                .iter()
                .position(|&c| !v4_field_byte(c))
                .unwrap_or(rest.len());
            if let Some(a) = parse_v4(rest.get(..len).unwrap_or_default()) {
                out.push(IpAddr::V4(a));
            }
            p += len.max(1);
            continue;
        }
        if v6 && v6_hint(line, p) {
            let rest = line.get(p..).unwrap_or_default();
            let len = rest
                .iter()
                .position(|&c| !v6_field_byte(c))
                .unwrap_or(rest.len());
            if let Some(a) = parse_v6(rest.get(..len).unwrap_or_default()) {
                out.push(IpAddr::V6(a));
            }
            p += len.max(1);
            continue;
        }
        p += 1;
    }
}

/// Field `n` (1-based) of `line`, split on ASCII whitespace; empty if there are fewer.
fn field(line: &[u8], n: usize) -> &[u8] {
    line.split(|c| c.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
        .nth(n - 1)
        .unwrap_or_default()
}

/// The search: the matcher, the options, the count and the output.
struct Grep<'m, W: Write> {
    matcher: &'m Matcher<&'m [u8]>,
    v4: bool,
    v6: bool,
    invert: bool,
    count: bool,
    field: Option<NonZeroUsize>,
    selected: u64,
    out: W,
    scan: Scan,
    hits: Vec<bool>,
}

impl<W: Write> Grep<'_, W> {
    /// Searches the complete lines of `block`, printing with `name:` before each line
    /// when given.
    fn block(&mut self, block: &[u8], name: Option<&str>) -> Result<()> {
        self.scan.addrs.clear();
        self.scan.lines.clear();
        let mut start = 0;
        for end in memchr_iter(block) {
            let line = block.get(start..end).unwrap_or_default();
            let first = self.scan.addrs.len();
            let hay = match self.field {
                Some(n) => field(line, n.get()),
                None => line,
            };
            scan_line(hay, self.v4, self.v6, &mut self.scan.addrs);
            self.scan.lines.push((start, end, first));
            start = end + 1;
        }
        let n = self.scan.addrs.len();
        self.hits.clear();
        self.hits.resize(n, false);
        self.matcher.contains_many(&self.scan.addrs, &mut self.hits);
        let lines = std::mem::take(&mut self.scan.lines);
        for (i, &(s, e, first)) in lines.iter().enumerate() {
            let last = lines.get(i + 1).map_or(n, |l| l.2);
            let found = self.hits.get(first..last).unwrap_or_default();
            let any = found.iter().any(|&h| h);
            let take = if self.invert {
                !found.is_empty() && !any
            } else {
                any
            };
            if !take {
                continue;
            }
            self.selected += 1;
            if !self.count {
                if let Some(name) = name {
                    self.out.write_all(name.as_bytes())?;
                    self.out.write_all(b":")?;
                }
                self.out.write_all(block.get(s..e).unwrap_or_default())?;
                self.out.write_all(b"\n")?;
            }
        }
        self.scan.lines = lines;
        Ok(())
    }

    /// Searches one stream to its end.
    fn stream(&mut self, mut r: impl Read, name: Option<&str>, shown: &str) -> Result<()> {
        let mut buf: Vec<u8> = Vec::with_capacity(BLOCK_BYTES * 2);
        loop {
            let have = buf.len();
            buf.resize(have + BLOCK_BYTES, 0);
            let got = match r.read(buf.get_mut(have..).unwrap_or_default()) {
                Ok(g) => g,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => 0,
                Err(e) => {
                    buf.truncate(have);
                    return Err(e).with_context(|| format!("{shown}: cannot read"));
                }
            };
            buf.truncate(have + got);
            if got == 0 {
                // The last line may lack its newline: it is printed with one.
                if !buf.is_empty() {
                    buf.push(b'\n');
                    self.block(&buf, name)?;
                }
                return Ok(());
            }
            // Only complete lines; a line longer than the buffer grows it.
            if let Some(cut) = buf.iter().rposition(|&c| c == b'\n') {
                if buf.len() >= BLOCK_BYTES {
                    let whole = buf.get(..=cut).unwrap_or_default();
                    self.block(whole, name)?;
                    buf.drain(..=cut);
                }
            }
        }
    }
}

/// The positions of `\n` in `b`.
fn memchr_iter(b: &[u8]) -> impl Iterator<Item = usize> + '_ {
    b.iter()
        .enumerate()
        .filter_map(|(i, &c)| (c == b'\n').then_some(i))
}

/// Runs the command; returns the exit status (0 a line selected, 1 none, 2 error).
pub fn run(args: &GrepArgs) -> Result<u8> {
    let stdin_files = args.files.iter().filter(|f| super::is_stdin(f)).count()
        + usize::from(args.files.is_empty());
    if stdin_files > 0 && args.input.inputs.iter().any(|p| super::is_stdin(p)) {
        anyhow::bail!("stdin is the ranges (--input -), so it cannot be the lines to search too: give the lines as a FILE, or the ranges as a file");
    }
    let (selected, _, _) = super::load_selected(&args.input, &args.filter)?;
    super::note_sources(&args.input, &selected);
    let bytes = Matcher::build(&selected)?.to_bytes();
    let (matcher, _) = Matcher::from_bytes(&bytes)?;
    let has = |v6: bool| {
        selected
            .entries
            .iter()
            .any(|e| matches!(e.prefix, ipfence::core::IpNet::V6(_)) == v6)
    };
    let stdout = std::io::stdout().lock();
    let mut g = Grep {
        matcher: &matcher,
        v4: has(false),
        v6: has(true),
        invert: args.invert,
        count: args.count,
        field: args.field,
        selected: 0,
        out: std::io::BufWriter::with_capacity(1 << 16, stdout),
        scan: Scan {
            addrs: Vec::new(),
            lines: Vec::new(),
        },
        hits: Vec::new(),
    };
    let mut failed = false;
    let files: Vec<&Path> = if args.files.is_empty() {
        vec![Path::new("-")]
    } else {
        args.files.iter().map(PathBuf::as_path).collect()
    };
    let names = files.len() > 1;
    for f in &files {
        let shown = if super::is_stdin(f) {
            "(standard input)".to_string()
        } else {
            f.display().to_string()
        };
        let name = names.then_some(shown.as_str());
        let done = if super::is_stdin(f) {
            g.stream(std::io::stdin().lock(), name, &shown)
        } else {
            match std::fs::File::open(f) {
                Ok(file) => g.stream(file, name, &shown),
                Err(e) => Err(anyhow::Error::new(e).context(format!("{shown}: cannot open"))),
            }
        };
        if let Err(e) = done {
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return Err(e);
            }
            // As grep: report, go on with the other files, exit 2.
            g.out.flush()?;
            eprintln!("ipfence: {e:#}");
            failed = true;
        }
    }
    if g.count {
        writeln!(g.out, "{}", g.selected)?;
    }
    g.out.flush()?;
    Ok(if failed {
        2
    } else if g.selected > 0 {
        0
    } else {
        1
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(line: &str) -> Vec<String> {
        let mut out = Vec::new();
        scan_line(line.as_bytes(), true, true, &mut out);
        out.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn fields_as_grepcidr_reads_them() {
        assert_eq!(scan("10.1.2.3"), ["10.1.2.3"]);
        assert_eq!(scan("x10.1.2.3 a:10.1.2.4"), ["10.1.2.3"]);
        assert_eq!(
            scan("10.1.2.3.4 10.1.2.3x 010.1.2.3 1.2.3.4."),
            Vec::<String>::new()
        );
        assert_eq!(
            scan("[2001:db8::1]:443 1.2.3.4:80"),
            ["2001:db8::1", "1.2.3.4"]
        );
        assert_eq!(
            scan("2001:db8::1%eth0,::ffff:1.2.3.4"),
            ["2001:db8::1", "::ffff:1.2.3.4"]
        );
        assert_eq!(
            scan("13:55:36 [10/Oct/2026:13:55:36 +0000]"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn fields_by_number() {
        assert_eq!(field(b" a  b\tc", 2), b"b");
        assert_eq!(field(b"a b", 3), b"");
    }

    #[test]
    fn strict_dotted_quads() {
        assert_eq!(parse_v4(b"255.255.255.255"), Some(Ipv4Addr::BROADCAST));
        for bad in [
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "01.2.3.4",
            "1..2.3",
            "1.2.3.4a",
            "",
        ] {
            assert_eq!(parse_v4(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(parse_v4(b"0.0.0.0"), Some(Ipv4Addr::UNSPECIFIED));
    }
}
