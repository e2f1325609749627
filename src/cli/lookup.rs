//! `ipfence lookup`: is an address allowed, and by which service and region?

use std::io::{IsTerminal, Read, Write};
use std::net::IpAddr;

use anyhow::{bail, Context, Result};
use ipfence::core::matcher::{Match, Matcher};
use ipfence::core::prefix::{canonical, parse_addr};
use ipfence::core::ranges::extra_name;
use serde_json::{json, Value};

use super::{FilterArgs, InputArgs};

/// Arguments of `ipfence lookup`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  ipfence lookup 3.5.140.2 140.82.112.3          # on the embedded lists
  ipfence lookup --service API_GATEWAY --json 3.5.140.2 8.8.8.8
  ipfence lookup --input ip-ranges.json < addresses.txt
  curl -s https://ip-ranges.amazonaws.com/ip-ranges.json | ipfence lookup -i - 3.5.140.2

Stdin is either the addresses (when none are given as arguments) or the ranges
(--input -), never both. Looking up no address at all is an error. A pipe's addresses
are answered as they come (`tail -f log | awk '{print $1}' | ipfence lookup`).
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

/// The addresses to look up: `(line number on stdin or 0 for an argument, text)`, in
/// order; `text` borrows from the arguments or from `stdin`.
pub(crate) fn addresses<'a>(
    args: &'a [String],
    inputs: &super::InputArgs,
    stdin: &'a mut String,
) -> Result<Vec<(usize, &'a str)>> {
    if !args.is_empty() {
        return Ok(args.iter().map(|a| (0, a.as_str())).collect());
    }
    read_stdin(inputs, stdin)?;
    Ok(stdin_lines(stdin, 0).collect())
}

/// Refuses stdin that is the ranges, and says that it waits for addresses on a terminal.
fn stdin_is_addresses(inputs: &super::InputArgs) -> Result<()> {
    if inputs.inputs.iter().any(|p| super::is_stdin(p)) {
        bail!("no address to look up: stdin is the ranges (--input -), so it cannot be the addresses too; give the addresses as arguments, or the ranges as a file");
    }
    if std::io::stdin().is_terminal() {
        eprintln!("ipfence: reading addresses from stdin, one per line (Ctrl-D to end)");
    }
    Ok(())
}

/// The error for stdin without an address.
fn no_address_on_stdin() -> anyhow::Error {
    anyhow::anyhow!("no address to look up: stdin held none; give addresses as arguments or on stdin, one per line")
}

/// Reads the addresses on stdin into `stdin`; refuses stdin that is the ranges, or that
/// holds no address.
fn read_stdin(inputs: &super::InputArgs, stdin: &mut String) -> Result<()> {
    stdin_is_addresses(inputs)?;
    // Stdin redirected from a file: room for all of it at once, no copy while growing.
    if let Ok(meta) = std::fs::metadata("/dev/stdin") {
        if meta.is_file() {
            stdin.reserve(usize::try_from(meta.len()).unwrap_or(0).saturating_add(1));
        }
    }
    std::io::stdin()
        .lock()
        .read_to_string(stdin)
        .context("<stdin>: cannot read addresses")?;
    if stdin_lines(stdin, 0).next().is_none() {
        return Err(no_address_on_stdin());
    }
    Ok(())
}

/// The addresses of `text`, one a line, `#` starting a comment, surrounding whitespace
/// ignored: `(line number, address)`, the first line of `text` being line `before + 1`.
fn stdin_lines(text: &str, before: usize) -> impl Iterator<Item = (usize, &str)> {
    let mut rest = text;
    let mut line = before;
    std::iter::from_fn(move || loop {
        if rest.is_empty() {
            return None;
        }
        line += 1;
        // The line's end or its comment, whichever comes first, eight bytes at a time;
        // after a comment, its end. (A line's `\r` is whitespace, trimmed below.)
        let b = rest.as_bytes();
        let stop = super::find_any(b, 0, [b'\n', b'#']);
        let (end, comment) = match b.get(stop) {
            Some(b'#') => {
                let tail = b.get(stop..).unwrap_or_default();
                let end = stop + tail.iter().position(|&c| c == b'\n').unwrap_or(tail.len());
                (end, Some(stop))
            }
            _ => (stop, None),
        };
        // Both cuts are at ASCII bytes, so on character boundaries.
        let l = rest.get(..comment.unwrap_or(end)).unwrap_or_default();
        rest = rest.get(end + 1..).unwrap_or_default();
        // Most lines need no trimming: skip it when both ends are plain ASCII.
        let plain = |c: Option<&u8>| c.is_some_and(|&c| c > b' ' && c < 0x7f);
        let l = if plain(l.as_bytes().first()) && plain(l.as_bytes().last()) {
            l
        } else {
            l.trim()
        };
        if !l.is_empty() {
            return Some((line, l));
        }
    })
}

/// Where an address came from, for messages: `argument 2`, `<stdin> line 7`.
pub(crate) fn place(list: &[(usize, &str)], i: usize) -> String {
    match list.get(i) {
        Some(&(0, _)) => format!("argument {}", i + 1),
        Some(&(line, _)) => format!("<stdin> line {line}"),
        None => String::new(),
    }
}

/// Addresses looked up together by the batch lookup.
const CHUNK: usize = 4096;

/// Bytes of stdin read at once: a file is answered in blocks of this size, what a pipe
/// has delivered so far (a short read) at once.
const STDIN_BLOCK: usize = 1 << 20;

/// Runs the command; returns the exit status (0 all allowed, 1 any denied, 2 bad address).
pub fn run(args: &LookupArgs) -> Result<u8> {
    // Stdin cannot be both the addresses and the ranges (checked before loading them).
    if args.ips.is_empty() {
        stdin_is_addresses(&args.input)?;
    }
    match super::load_matcher(&args.input, &args.filter, true)? {
        super::Selection::Embedded(m) => answer(args, &m),
        super::Selection::Built(m) => answer(args, &m),
    }
}

/// Answers the arguments, or stdin's lines as they come, and prints the answers.
fn answer<B: AsRef<[u8]>>(args: &LookupArgs, matcher: &Matcher<B>) -> Result<u8> {
    let mut a = Answers {
        args,
        matcher,
        out: std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock()),
        status: 0,
        cache: vec![None; matcher.prefix_count()],
        ips: Vec::with_capacity(CHUNK),
        found: Vec::with_capacity(CHUNK),
        done: 0,
    };
    if !args.ips.is_empty() {
        a.answer(args.ips.iter().map(|t| (0, t.as_str())))?;
    } else {
        let mut input = std::io::stdin().lock();
        let mut buf: Vec<u8> = Vec::with_capacity(STDIN_BLOCK * 2);
        // Lines of stdin before `buf`.
        let mut lines = 0;
        loop {
            let have = buf.len();
            buf.resize(have + STDIN_BLOCK, 0);
            let got = match input.read(buf.get_mut(have..).unwrap_or_default()) {
                Ok(g) => g,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                    buf.truncate(have);
                    continue;
                }
                Err(e) => return Err(e).context("<stdin>: cannot read addresses"),
            };
            buf.truncate(have + got);
            // Whole lines only (a line longer than the block grows it); all at the end.
            let cut = if got == 0 {
                buf.len()
            } else if buf.len() >= STDIN_BLOCK || got < STDIN_BLOCK {
                buf.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1)
            } else {
                0
            };
            if cut > 0 {
                let block = buf.get(..cut).unwrap_or_default();
                // Cut after a newline: a character boundary.
                let text = std::str::from_utf8(block).map_err(|e| {
                    let at = block.get(..e.valid_up_to()).unwrap_or_default();
                    anyhow::anyhow!(
                        "<stdin> line {}: not UTF-8 text (addresses are ASCII)",
                        lines + 1 + count_newlines(at)
                    )
                })?;
                a.answer(stdin_lines(text, lines))?;
                lines += count_newlines(block);
                buf.drain(..cut);
                if got != 0 && got < STDIN_BLOCK {
                    a.out.flush()?;
                }
            }
            if got == 0 {
                break;
            }
        }
        if a.done == 0 {
            a.out.flush()?;
            return Err(no_address_on_stdin());
        }
    }
    a.out.flush()?;
    Ok(a.status)
}

/// The number of `\n` in `b`.
fn count_newlines(b: &[u8]) -> usize {
    b.iter().filter(|&&c| c == b'\n').count()
}

/// The answering state kept across blocks of stdin.
struct Answers<'m, B, W: Write> {
    args: &'m LookupArgs,
    matcher: &'m Matcher<B>,
    out: W,
    /// The exit status so far.
    status: u8,
    /// Each prefix's answer, formatted once, then copied for every address it answers.
    cache: Vec<Option<Box<str>>>,
    ips: Vec<IpAddr>,
    found: Vec<Option<Match<'m>>>,
    /// Addresses answered so far.
    done: usize,
}

impl<'m, B: AsRef<[u8]>, W: Write> Answers<'m, B, W> {
    /// Looks up `addrs` and prints the answers.
    fn answer<'a>(&mut self, addrs: impl Iterator<Item = (usize, &'a str)>) -> Result<()> {
        let (args, matcher) = (self.args, self.matcher);
        let out = &mut self.out;
        let (ips, found, cache) = (&mut self.ips, &mut self.found, &mut self.cache);
        let mut status = self.status;
        let mut done = self.done;
        let mut chunk: Vec<(usize, &str)> = Vec::with_capacity(CHUNK);
        let mut addrs = addrs.peekable();
        while addrs.peek().is_some() {
            chunk.clear();
            chunk.extend(addrs.by_ref().take(CHUNK));
            ips.clear();
            ips.extend(chunk.iter().map(|(_, text)| {
                // A bad address is looked up as 0.0.0.0 and reported below.
                parse_addr(text).map_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), canonical)
            }));
            found.clear();
            found.resize(ips.len(), None);
            matcher.lookup_many(ips, found);
            let first = done;
            done += chunk.len();
            for (k, (&(line, text), (&ip, hit))) in
                chunk.iter().zip(ips.iter().zip(found.iter())).enumerate()
            {
                // Only a text that came out as 0.0.0.0 can have been refused: parse it again
                // for the message.
                if ip.is_unspecified() {
                    if let Err(why) = parse_addr(text) {
                        out.flush()?;
                        let at = match line {
                            0 => format!("argument {}", first + k + 1),
                            n => format!("<stdin> line {n}"),
                        };
                        eprintln!("ipfence: {at}: {why}");
                        status = 2;
                        continue;
                    }
                }
                if hit.is_none() && status == 0 {
                    status = 1;
                }
                if args.all {
                    write_all(out, matcher, ip, text, hit.as_ref(), args.json)?;
                    continue;
                }
                let Some(m) = hit else {
                    if args.json {
                        out.write_all(b"{\"allowed\":false,\"ip\":")?;
                        serde_json::to_writer(&mut *out, text)?;
                        out.write_all(b",\"match\":null}\n")?;
                    } else {
                        out.write_all(text.as_bytes())?;
                        out.write_all(b": not allowed\n")?;
                    }
                    continue;
                };
                let cached = cache.get_mut(m.index()).map(|slot| {
                    &**slot.get_or_insert_with(|| {
                        if args.json {
                            entries_json(m).to_string().into()
                        } else {
                            entries_text(m).into()
                        }
                    })
                });
                let answer = match cached {
                    Some(a) => a,
                    None => {
                        &*if args.json {
                            entries_json(m).to_string()
                        } else {
                            entries_text(m)
                        }
                    }
                };
                if args.json {
                    // serde_json's key order (sorted), as `json!` printed it.
                    out.write_all(b"{\"allowed\":true,\"ip\":")?;
                    serde_json::to_writer(&mut *out, text)?;
                    out.write_all(b",\"match\":")?;
                    out.write_all(answer.as_bytes())?;
                    out.write_all(b"}\n")?;
                } else {
                    out.write_all(text.as_bytes())?;
                    out.write_all(b": allowed by ")?;
                    out.write_all(answer.as_bytes())?;
                    out.write_all(b"\n")?;
                }
            }
        }
        self.status = status;
        self.done = done;
        Ok(())
    }
}

/// The `--all` answer for one address: every containing prefix, longest first.
fn write_all<B: AsRef<[u8]>>(
    out: &mut impl Write,
    matcher: &Matcher<B>,
    ip: IpAddr,
    text: &str,
    found: Option<&Match<'_>>,
    json: bool,
) -> Result<()> {
    if json {
        let m = found.map_or(Value::Null, entries_json);
        let mut obj = json!({"ip": text, "allowed": found.is_some(), "match": m});
        let all: Vec<Value> = matcher.matches(ip).map(|m| entries_json(&m)).collect();
        obj["all"] = Value::Array(all);
        writeln!(out, "{obj}")?;
    } else {
        let all: Vec<String> = matcher.matches(ip).map(|m| entries_text(&m)).collect();
        match all.is_empty() {
            true => writeln!(out, "{text}: not allowed")?,
            false => writeln!(out, "{text}: allowed by {}", all.join("; "))?,
        }
    }
    Ok(())
}
