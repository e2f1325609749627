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
  ipfence grep -v --provider google:googlebot access.log   # requests not from Googlebot
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

/// Bytes of a file searched together: their addresses go through the batch lookup at
/// once, and the block is cut into one part per core (1 MiB: starting the threads costs
/// little beside it).
const BLOCK_BYTES: usize = 1 << 20;

/// The byte at `i`, or 0 past the end (grepcidr reads the line's `\n` or NUL there).
#[inline(always)]
fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

/// Byte classes, one table read per byte: may start a field, belongs to an IPv4 field,
/// to an IPv6 field, is a hex digit.
const START: u8 = 1;
const IN4: u8 = 2;
const IN6: u8 = 4;
const HEX: u8 = 8;
const DIGIT: u8 = 16;
const NL: u8 = 32;
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let mut k = 0;
        if b.is_ascii_alphanumeric() || b == b'.' {
            k |= IN4 | IN6;
        }
        if b == b':' {
            k |= IN6 | START;
        }
        if b.is_ascii_hexdigit() {
            k |= HEX | START;
        }
        if b.is_ascii_digit() {
            k |= DIGIT;
        }
        if b == b'\n' {
            k |= NL;
        }
        t[c] = k;
        c += 1;
    }
    t
};

#[inline(always)]
fn class(b: &[u8], i: usize) -> u8 {
    CLASS[usize::from(at(b, i))]
}

/// grepcidr's IPV6_HINT1..5 at `p`: `::` and a hex digit, or 1 to 4 hex digits and `:`.
#[inline(always)]
fn v6_hint(b: &[u8], p: usize) -> bool {
    if at(b, p) == b':' {
        return at(b, p + 1) == b':' && class(b, p + 2) & HEX != 0;
    }
    for k in 1..=4 {
        if class(b, p + k - 1) & HEX == 0 {
            return false;
        }
        if at(b, p + k) == b':' {
            return true;
        }
    }
    false
}

/// The length of the run of bytes of class `k` from `p`.
#[inline(always)]
fn run_of(b: &[u8], p: usize, k: u8) -> usize {
    let rest = b.get(p..).unwrap_or_default();
    rest.iter()
        .position(|&c| CLASS[usize::from(c)] & k == 0)
        .unwrap_or(rest.len())
}

/// A strict dotted quad (inet_pton's AF_INET rules: four decimal parts, each 0 to 255
/// without a leading zero), without allocating.
#[inline]
fn parse_v4(f: &[u8]) -> Option<Ipv4Addr> {
    ipfence::core::prefix::read_v4(f)
}

/// Any IPv6 text form inet_pton accepts (at most 45 characters).
#[inline]
fn parse_v6(f: &[u8]) -> Option<Ipv6Addr> {
    if f.len() > 45 {
        return None;
    }
    // The usual forms in one pass; it answers only what std's parser answers the same.
    if let Some(a) = ipfence::core::prefix::read_v6_fast(f) {
        return Some(a);
    }
    // Cheap refusals first (log text like `2026:13:55:36` reaches here on every line):
    // only hex digits, colons and dots; without `::`, exactly 7 colons, or 6 before an
    // embedded IPv4 address.
    let mut colons = 0;
    let mut dots = false;
    for &c in f {
        match c {
            b':' => colons += 1,
            b'.' => dots = true,
            c if c.is_ascii_hexdigit() => {}
            _ => return None,
        }
    }
    let double = f.windows(2).any(|w| w == b"::");
    if colons > 7 || (!double && colons != if dots { 6 } else { 7 }) {
        return None;
    }
    std::str::from_utf8(f).ok()?.parse().ok()
}

/// Appends every address of `line` to `out`, scanning as grepcidr 2.0's
/// `scan_with_hints` does. `v4`/`v6`: whether the selection has that family (grepcidr
/// looks only for the families its patterns have).
fn scan_line(line: &[u8], v4: bool, v6: bool, out: &mut Vec<IpAddr>) -> usize {
    // Every hint has a `.` or `:` within its first five bytes, so only the four bytes
    // before each `.` or `:` (and the byte itself, for `::`) can start a field: find
    // those bytes a word at a time, then try the positions before them in order, as
    // grepcidr's byte-by-byte loop would reach them.
    let mut p = 0;
    loop {
        let d = super::find_any(line, p, [b'.', b':', b'\n']);
        let Some(&c) = line.get(d) else {
            return line.len();
        };
        if !may_hint(line, d, c, v4, v6) {
            if c == b'\n' {
                return d;
            }
            p = d + 1;
            continue;
        }
        let mut q = p.max(d.saturating_sub(4));
        let mut field_at = None;
        while q <= d {
            let k = class(line, q);
            // A hint may look past a newline, harmlessly: the field stops at it, and a
            // one-byte field is no address.
            if v4
                && k & DIGIT != 0
                && (at(line, q + 1) == b'.' || at(line, q + 2) == b'.' || at(line, q + 3) == b'.')
            {
                let len = run_of(line, q, IN4);
                if let Some(a) = line.get(q..q + len).and_then(parse_v4) {
                    out.push(IpAddr::V4(a));
                }
                field_at = Some(q + len.max(1));
                break;
            }
            if v6 && k & START != 0 && v6_hint(line, q) {
                let len = run_of(line, q, IN6);
                if let Some(a) = line.get(q..q + len).and_then(parse_v6) {
                    out.push(IpAddr::V6(a));
                }
                field_at = Some(q + len.max(1));
                break;
            }
            q += 1;
        }
        match field_at {
            Some(next) => p = next,
            None if c == b'\n' => return d,
            None => p = d + 1,
        }
    }
}

/// Whether a field can start in the five bytes up to the delimiter `c` at `d` (the bytes
/// from the previous delimiter on hold none): a cheap necessary condition, so that the
/// dots of user agents and the colons of dates are passed over without trying each
/// position. Reading bytes before the scan position only makes it answer `true` more.
#[inline(always)]
fn may_hint(b: &[u8], d: usize, c: u8, v4: bool, v6: bool) -> bool {
    let before = |k: usize| d.checked_sub(k).map_or(0, |i| class(b, i));
    match c {
        // IPv4: a digit one to three bytes before the dot (IPv6 needs a colon first).
        b'.' => v4 && (before(1) | before(2) | before(3)) & DIGIT != 0,
        // IPv6: hex digits up to the colon, or `::`; IPv4: a digit one or two bytes
        // before, with a dot just after.
        b':' => {
            (v6 && (before(1) & HEX != 0 || at(b, d + 1) == b':'))
                || (v4
                    && (before(1) | before(2)) & DIGIT != 0
                    && (at(b, d + 1) == b'.' || at(b, d + 2) == b'.'))
        }
        // A newline: a dot after it is past the line; checked position by position.
        _ => true,
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
/// What decides whether a line is printed: the same for every worker.
struct Rules {
    v4: bool,
    v6: bool,
    invert: bool,
    count: bool,
    field: Option<NonZeroUsize>,
}

/// One worker's scratch space, kept across blocks.
#[derive(Default)]
struct Lane {
    addrs: Vec<IpAddr>,
    /// Per line: (start, end) in the block's bytes, index of its first address in `addrs`.
    lines: Vec<(usize, usize, usize)>,
    hits: Vec<bool>,
    /// The selected lines of a part searched on another thread, printed in order after it.
    out: Vec<u8>,
}

struct Grep<'m, B, W: Write> {
    matcher: &'m Matcher<B>,
    rules: Rules,
    selected: u64,
    out: W,
    /// Lane 0 searches on the calling thread, the others on scoped threads.
    lanes: Vec<Lane>,
}

/// Blocks smaller than this are searched on one thread: starting a thread costs more.
const PARALLEL_BYTES: usize = 1 << 16;

impl<B: AsRef<[u8]> + Sync, W: Write> Grep<'_, B, W> {
    /// Searches the complete lines of `block`, printing with `name:` before each line
    /// when given. A large block is cut at line ends into one part per lane; the parts
    /// are searched at the same time and printed in order, so the output is the same.
    fn block(&mut self, block: &[u8], name: Option<&str>) -> Result<()> {
        let n = self.lanes.len();
        if n < 2 || block.len() < PARALLEL_BYTES {
            let Some(lane) = self.lanes.first_mut() else {
                return Ok(());
            };
            self.selected +=
                search_part(self.matcher, &self.rules, lane, block, name, &mut self.out)?;
            return Ok(());
        }
        // Cut points just after a newline near each n-th of the block.
        let mut cuts = vec![0];
        for k in 1..n {
            let from = (block.len() * k / n).max(*cuts.last().unwrap_or(&0));
            let at = block
                .get(from..)
                .and_then(|r| r.iter().position(|&c| c == b'\n'))
                .map_or(block.len(), |i| from + i + 1);
            cuts.push(at);
        }
        cuts.push(block.len());
        let (first, rest) = self.lanes.split_at_mut(1);
        let (matcher, rules) = (self.matcher, &self.rules);
        let out = &mut self.out;
        let selected = std::thread::scope(|s| -> Result<u64> {
            let workers: Vec<_> = rest
                .iter_mut()
                .zip(cuts.windows(2).skip(1))
                .map(|(lane, w)| {
                    let part = block.get(w[0]..w[1]).unwrap_or_default();
                    s.spawn(move || -> std::io::Result<u64> {
                        lane.out.clear();
                        let mut buf = std::mem::take(&mut lane.out);
                        let got = search_part(matcher, rules, lane, part, name, &mut buf);
                        lane.out = buf;
                        got
                    })
                })
                .collect();
            let part = block
                .get(..cuts.get(1).copied().unwrap_or(0))
                .unwrap_or_default();
            let mut selected = match first.first_mut() {
                Some(lane) => search_part(matcher, rules, lane, part, name, out)?,
                None => 0,
            };
            for w in workers {
                selected += w
                    .join()
                    .map_err(|_| anyhow::anyhow!("a search thread failed"))??;
            }
            Ok(selected)
        })?;
        for lane in rest.iter() {
            self.out.write_all(&lane.out)?;
        }
        self.selected += selected;
        Ok(())
    }

    /// Searches one stream to its end. A file is read in blocks of [`BLOCK_BYTES`]; what
    /// a pipe or terminal has delivered so far (a short read) is searched and printed
    /// at once, so that `tail -f access.log | ipfence grep ...` shows lines as they come.
    fn stream(&mut self, mut r: impl Read, name: Option<&str>, shown: &str) -> Result<()> {
        let mut buf: Vec<u8> = Vec::with_capacity(BLOCK_BYTES * 2);
        loop {
            let have = buf.len();
            buf.resize(have + BLOCK_BYTES, 0);
            let got = match r.read(buf.get_mut(have..).unwrap_or_default()) {
                Ok(g) => g,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                    buf.truncate(have);
                    continue;
                }
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
            let short = got < BLOCK_BYTES;
            // Only complete lines; a line longer than the buffer grows it.
            if let Some(cut) = buf.iter().rposition(|&c| c == b'\n') {
                if buf.len() >= BLOCK_BYTES || short {
                    let whole = buf.get(..=cut).unwrap_or_default();
                    self.block(whole, name)?;
                    buf.drain(..=cut);
                    if short {
                        self.out.flush()?;
                    }
                }
            }
        }
    }
}

/// Searches the complete lines of `block` (it ends with a newline), writing the selected
/// ones to `out` (nothing with `--count`); returns how many were selected.
fn search_part<B: AsRef<[u8]>>(
    matcher: &Matcher<B>,
    rules: &Rules,
    lane: &mut Lane,
    block: &[u8],
    name: Option<&str>,
    out: &mut impl Write,
) -> std::io::Result<u64> {
    lane.addrs.clear();
    lane.lines.clear();
    let mut start = 0;
    while start < block.len() {
        let rest = block.get(start..).unwrap_or_default();
        let first = lane.addrs.len();
        let end = match rules.field {
            None => start + scan_line(rest, rules.v4, rules.v6, &mut lane.addrs),
            Some(n) => {
                let len = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
                let line = rest.get(..len).unwrap_or_default();
                scan_line(field(line, n.get()), rules.v4, rules.v6, &mut lane.addrs);
                start + len
            }
        };
        lane.lines.push((start, end, first));
        start = end + 1;
    }
    let n = lane.addrs.len();
    lane.hits.clear();
    lane.hits.resize(n, false);
    matcher.contains_many(&lane.addrs, &mut lane.hits);
    let mut selected = 0;
    // Selected lines that follow each other are written in one piece (each line ends
    // with its newline in `block`).
    let mut span = 0..0;
    for (i, &(s, e, first)) in lane.lines.iter().enumerate() {
        let last = lane.lines.get(i + 1).map_or(n, |l| l.2);
        let found = lane.hits.get(first..last).unwrap_or_default();
        let any = found.iter().any(|&h| h);
        let take = if rules.invert {
            !found.is_empty() && !any
        } else {
            any
        };
        if !take {
            continue;
        }
        selected += 1;
        if rules.count {
            continue;
        }
        if let Some(name) = name {
            out.write_all(name.as_bytes())?;
            out.write_all(b":")?;
            out.write_all(block.get(s..=e).unwrap_or_default())?;
        } else if span.end == s && !span.is_empty() {
            span.end = e + 1;
        } else {
            out.write_all(block.get(span).unwrap_or_default())?;
            span = s..e + 1;
        }
    }
    out.write_all(block.get(span).unwrap_or_default())?;
    Ok(selected)
}

/// Runs the command; returns the exit status (0 a line selected, 1 none, 2 error).
pub fn run(args: &GrepArgs) -> Result<u8> {
    let stdin_files = args.files.iter().filter(|f| super::is_stdin(f)).count()
        + usize::from(args.files.is_empty());
    if stdin_files > 0 && args.input.inputs.iter().any(|p| super::is_stdin(p)) {
        anyhow::bail!("stdin is the ranges (--input -), so it cannot be the lines to search too: give the lines as a FILE, or the ranges as a file");
    }
    match super::load_matcher(&args.input, &args.filter, false)? {
        super::Selection::Embedded(m) => search(args, &m),
        super::Selection::Built(m) => search(args, &m),
    }
}

/// Searches every file for the addresses `matcher` holds.
fn search<B: AsRef<[u8]> + Sync>(args: &GrepArgs, matcher: &Matcher<B>) -> Result<u8> {
    // IPv4 prefixes come first in a matcher, IPv6 ones last.
    let n = matcher.prefix_count();
    let is_v6 = |i: usize| {
        matcher
            .prefix_at(i)
            .is_some_and(|m| matches!(m.prefix(), ipfence::core::IpNet::V6(_)))
    };
    let stdout = std::io::stdout().lock();
    // One lane per core: the scan is the command's cost, and parts of a block are
    // independent.
    let lanes = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let mut g = Grep {
        matcher,
        rules: Rules {
            v4: n > 0 && !is_v6(0),
            v6: n > 0 && is_v6(n - 1),
            invert: args.invert,
            count: args.count,
            field: args.field,
        },
        selected: 0,
        out: std::io::BufWriter::with_capacity(1 << 16, stdout),
        lanes: (0..lanes).map(|_| Lane::default()).collect(),
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
    if g.rules.count {
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
        let stop = scan_line(line.as_bytes(), true, true, &mut out);
        assert_eq!(stop, line.len());
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

    /// A block cut into parts searched on several threads prints what one thread
    /// prints, in the same order, with the same count (also inverted and with names).
    #[test]
    fn parts_on_several_threads_print_what_one_thread_prints() {
        let mut r = ipfence::core::Ranges::new();
        let tags = ipfence::core::Tags {
            provider: "aws",
            service: "S3",
            region: "",
            extra: "",
        };
        r.push("10.0.0.0/9".parse().unwrap(), tags);
        r.push("2001:db8::/33".parse().unwrap(), tags);
        let m = Matcher::build(&r).unwrap();
        // Lines of varied length, so that the cut points fall anywhere in a line.
        let mut block = Vec::new();
        let mut x = 0x2026_1203_u64;
        while block.len() < 3 * PARALLEL_BYTES {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let b = (x >> 33) as u8;
            let pad = "-".repeat(usize::from(b % 90));
            let line = match b % 4 {
                0 => format!("10.{b}.1.2 {pad} GET /\n"),
                1 => format!("{pad} 2001:db8:{b:x}::1 x\n"),
                2 => format!("192.0.2.{b} {pad}\n"),
                _ => format!("no address {pad}\n"),
            };
            block.extend_from_slice(line.as_bytes());
        }
        let run = |lanes: usize, invert: bool, count: bool, name: Option<&str>| {
            let mut g = Grep {
                matcher: &m,
                rules: Rules {
                    v4: true,
                    v6: true,
                    invert,
                    count,
                    field: None,
                },
                selected: 0,
                out: Vec::new(),
                lanes: (0..lanes).map(|_| Lane::default()).collect(),
            };
            g.block(&block, name).unwrap();
            (g.out, g.selected)
        };
        for (invert, count, name) in [
            (false, false, None),
            (true, false, None),
            (false, true, None),
            (false, false, Some("access.log")),
        ] {
            let one = run(1, invert, count, name);
            assert!(one.1 > 100, "{} lines selected", one.1);
            for lanes in [2, 3, 7] {
                assert!(
                    run(lanes, invert, count, name) == one,
                    "{lanes} lanes, invert {invert}, count {count}, name {name:?}"
                );
            }
        }
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
