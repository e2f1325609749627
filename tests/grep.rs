//! `ipfence grep` against grepcidr 2.0 (Debian's `grepcidr`) given the same CIDRs: the
//! same lines, counts and exit status on generated access logs from the real AWS and
//! Google prefixes, on edge cases, and on random text built from address pieces.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::Command;

use ipfence_core::IpNet;

use crate::util::{ipfence, tempdir};

/// splitmix64 with a fixed seed: the same lines on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// grepcidr's output and exit status for `-f cidrs` plus `flags` on `file`.
fn grepcidr(flags: &[&str], cidrs: &Path, file: &Path) -> (String, i32) {
    let out = Command::new("grepcidr")
        .args(flags)
        .arg("-f")
        .arg(cidrs)
        .arg(file)
        .output()
        .expect("grepcidr runs (apt-get install grepcidr; scripts/bench-grep installs it)");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

/// The CIDRs of a selection as grepcidr gets them: `ipfence aggregate`, plus each
/// IPv4 prefix as IPv4-mapped IPv6 (ipfence looks `::ffff:a.b.c.d` up as IPv4, grepcidr
/// as IPv6: with these both answer the same).
fn cidrs_for(args: &[&str], dir: &Path) -> (Vec<IpNet>, std::path::PathBuf) {
    let mut a = vec!["aggregate"];
    a.extend_from_slice(args);
    let run = ipfence(&a, "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let nets: Vec<IpNet> = run.stdout.lines().map(|l| l.parse().unwrap()).collect();
    let mut text = run.stdout.clone();
    for n in &nets {
        if let IpNet::V4(n) = n {
            text.push_str(&format!(
                "{}/{}\n",
                n.network().to_ipv6_mapped(),
                96 + n.prefix_len()
            ));
        }
    }
    let path = dir.join("cidrs.txt");
    std::fs::write(&path, text).unwrap();
    (nets, path)
}

/// Both tools on `log` with each of no flag, -v and -c: equal output and exit status.
fn same_as_grepcidr(ours: &[&str], cidrs: &Path, log: &Path) -> usize {
    let mut selected = 0;
    for flags in [&[][..], &["-v"], &["-c"]] {
        let mut a = vec!["grep"];
        a.extend_from_slice(ours);
        a.extend_from_slice(flags);
        a.push(log.to_str().unwrap());
        let run = ipfence(&a, "");
        let (want, code) = grepcidr(flags, cidrs, log);
        if run.stdout != want {
            let theirs: Vec<&str> = want.lines().collect();
            let first = run
                .stdout
                .lines()
                .zip(&theirs)
                .find(|(a, b)| a != *b)
                .map(|(a, b)| format!("ipfence: {a:?}\ngrepcidr: {b:?}"));
            panic!(
                "{flags:?}: outputs differ ({} vs {} lines); first difference:\n{}\n{}",
                run.stdout.lines().count(),
                theirs.len(),
                first.unwrap_or_default(),
                run.stderr
            );
        }
        assert_eq!(run.code, code, "{flags:?} exit status: {}", run.stderr);
        if flags.is_empty() {
            selected = run.stdout.lines().count();
        }
    }
    selected
}

fn pick_v4(n: &[IpNet], rng: &mut Rng) -> String {
    let v4: Vec<_> = n
        .iter()
        .filter_map(|n| match n {
            IpNet::V4(n) => Some(n),
            _ => None,
        })
        .collect();
    let n = v4[rng.below(v4.len())];
    Ipv4Addr::from(u32::from(n.network()) | (rng.next() as u32 & !u32::from(n.netmask())))
        .to_string()
}

fn pick_v6(n: &[IpNet], rng: &mut Rng) -> String {
    let v6: Vec<_> = n
        .iter()
        .filter_map(|n| match n {
            IpNet::V6(n) => Some(n),
            _ => None,
        })
        .collect();
    let n = v6[rng.below(v6.len())];
    let r = (u128::from(rng.next()) << 64) | u128::from(rng.next());
    Ipv6Addr::from(u128::from(n.network()) | (r & !u128::from(n.netmask()))).to_string()
}

/// Lines of the generated access log in a debug build; ten times more in release.
const LOG_LINES: usize = if cfg!(debug_assertions) {
    20_000
} else {
    200_000
};

#[test]
fn grep_prints_what_grepcidr_prints_on_an_access_log_of_real_prefixes() {
    if !crate::util::needs(
        "grepcidr (apt-get install grepcidr; scripts/test does)",
        || crate::util::on_path("grepcidr"),
    ) {
        return;
    }
    let dir = tempdir();
    let sel = ["--provider", "aws,google"];
    let (nets, cidrs) = cidrs_for(&sel, dir.path());
    let mut rng = Rng(0x6e0c_1d12_2026_1203);
    let mut log = String::new();
    for i in 0..LOG_LINES {
        let client = |rng: &mut Rng| match rng.below(10) {
            0..=3 => pick_v4(&nets, rng),
            4 => pick_v6(&nets, rng),
            5..=8 => Ipv4Addr::from(rng.next() as u32).to_string(),
            _ => {
                Ipv6Addr::from((u128::from(rng.next()) << 64) | u128::from(rng.next())).to_string()
            }
        };
        let ip = client(&mut rng);
        log.push_str(&format!(
            "{ip} - - [{:02}/Nov/2026:{:02}:{:02}:{:02} +0000] \"GET /api/v1/items/{} HTTP/1.1\" 200 {} \"-\" \"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)\"",
            1 + rng.below(28), rng.below(24), rng.below(60), rng.below(60), rng.below(100_000), rng.below(50_000)
        ));
        if i % 5 == 0 {
            // X-Forwarded-For: several addresses, the listed one possibly last.
            let (a, b) = (client(&mut rng), client(&mut rng));
            log.push_str(&format!(" \"{a}, {b}\""));
        }
        log.push('\n');
    }
    let path = dir.path().join("access.log");
    std::fs::write(&path, &log).unwrap();
    let selected = same_as_grepcidr(&sel, &cidrs, &path);
    assert!(
        selected > LOG_LINES / 4 && selected < LOG_LINES,
        "{selected} lines selected"
    );
}

/// Edge cases: addresses at line ends, several per line, IPv6, ports, brackets, text
/// glued to addresses, invalid addresses, a last line without newline.
const EDGES: &str = "10.1.2.3
x10.1.2.3
a 10.1.2.3
10.1.2.3x
10.1.2.3.
10.1.2.3.4
10.1.2.3:80
[10.1.2.3]
1.2.3.4 10.1.2.3
10.1.2.3 1.2.3.4
1.2.3.4,10.1.2.3
999.1.2.3 10.1.2.3
10.1.2
010.1.2.3
10.01.2.3
a10.1.2.3
-10.1.2.3
_10.1.2.3
.10.1.2.3
:10.1.2.3
2001:db8::1
x2001:db8::1
[2001:db8::1]:443
2001:db8::1%eth0
::ffff:10.1.2.3
::ffff:11.1.2.3
2001:db8::1.
2001:db8::g
2001:db8:0:0:0:0:0:1
2001:0db8:0000:0000:0000:0000:0000:0001
2001:db8::10.1.2.3
fe80::1 10.1.2.3
10.1.2.3/24
11.1.2.3 ab 10.9.9.9
host-10-1-2-3 10.2.2.2
1.1.1.1.10.1.2.3
10.1.2.3-
a:10.1.2.3
10.1.2.3.x
abcd:2001:db8::1
1:2:3:4:5:6:7:8:9
::1 ::2001:db8:1
no address here
255.255.255.255 0.0.0.0
\t10.200.0.1\r
ends with 10.1.2.3";

#[test]
fn grep_edge_cases_as_grepcidr() {
    if !crate::util::needs(
        "grepcidr (apt-get install grepcidr; scripts/test does)",
        || crate::util::on_path("grepcidr"),
    ) {
        return;
    }
    let dir = tempdir();
    let ranges = dir.path().join("ranges.txt");
    std::fs::write(&ranges, "10.0.0.0/8\n2001:db8::/32\n").unwrap();
    let cidrs = dir.path().join("cidrs.txt");
    std::fs::write(&cidrs, "10.0.0.0/8\n2001:db8::/32\n::ffff:10.0.0.0/104\n").unwrap();
    // grepcidr prints a last line without its newline as it is; ipfence ends it (so
    // that the output of several files stays line by line): compare with the newline.
    let log = dir.path().join("edges.log");
    std::fs::write(&log, format!("{EDGES}\n")).unwrap();
    let input = ["--input", ranges.to_str().unwrap()];
    let n = same_as_grepcidr(&input, &cidrs, &log);
    assert_eq!(n, 29, "lines selected");
}

/// Random lines of address pieces: where the two readers could part (a field's start
/// and end, leading zeros, `::`, embedded IPv4, too many groups).
#[test]
fn grep_random_address_text_as_grepcidr() {
    if !crate::util::needs(
        "grepcidr (apt-get install grepcidr; scripts/test does)",
        || crate::util::on_path("grepcidr"),
    ) {
        return;
    }
    let dir = tempdir();
    let ranges = dir.path().join("ranges.txt");
    std::fs::write(&ranges, "1.0.0.0/8\n10.0.0.0/8\n2000::/3\na000::/3\n").unwrap();
    let cidrs = dir.path().join("cidrs.txt");
    std::fs::write(
        &cidrs,
        "1.0.0.0/8\n10.0.0.0/8\n2000::/3\na000::/3\n::ffff:1.0.0.0/104\n::ffff:10.0.0.0/104\n",
    )
    .unwrap();
    let pieces = [
        "1",
        "10",
        "255",
        "256",
        "0",
        "01",
        ".",
        ".",
        ".",
        ":",
        ":",
        "::",
        "a",
        "f",
        "ffff",
        "g",
        "x",
        " ",
        " ",
        "/",
        "-",
        "[",
        "]",
        "1.2.3.4",
        "10.0.0.1",
        "::ffff:",
        "2001:db8::",
        "abcd",
    ];
    let mut rng = Rng(0x0dd_ba11_2026);
    let mut text = String::new();
    for _ in 0..if cfg!(debug_assertions) {
        20_000
    } else {
        100_000
    } {
        for _ in 0..1 + rng.below(12) {
            text.push_str(pieces[rng.below(pieces.len())]);
        }
        text.push('\n');
    }
    let log = dir.path().join("random.log");
    std::fs::write(&log, &text).unwrap();
    let selected = same_as_grepcidr(&["--input", ranges.to_str().unwrap()], &cidrs, &log);
    assert!(selected > 1000, "{selected}");
}

#[test]
fn grep_field_stdin_names_and_exit_status() {
    let dir = tempdir();
    let ranges = dir.path().join("ranges.txt");
    std::fs::write(&ranges, "10.0.0.0/8\n").unwrap();
    let r = ranges.to_str().unwrap();
    let lines = "10.1.1.1 192.0.2.1\n192.0.2.1 10.1.1.1\nnone\n";
    // Anywhere in the line, from stdin.
    let run = ipfence(&["grep", "-i", r], lines);
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "10.1.1.1 192.0.2.1\n192.0.2.1 10.1.1.1\n")
    );
    // Only the second field.
    let run = ipfence(&["grep", "-i", r, "--field", "2"], lines);
    assert_eq!((run.code, run.stdout.as_str()), (0, "192.0.2.1 10.1.1.1\n"));
    let run = ipfence(&["grep", "-i", r, "--field", "2", "-v"], lines);
    assert_eq!((run.code, run.stdout.as_str()), (0, "10.1.1.1 192.0.2.1\n"));
    // Nothing selected: 1, and the count still printed.
    let run = ipfence(&["grep", "-i", r, "-c", "--field", "3"], lines);
    assert_eq!((run.code, run.stdout.as_str()), (1, "0\n"));
    // Several files: names first; a missing one is an error (2) after the others.
    let a = dir.path().join("a.log");
    std::fs::write(&a, lines).unwrap();
    let a = a.to_str().unwrap();
    let missing = dir.path().join("missing.log");
    let run = ipfence(&["grep", "-i", r, a, missing.to_str().unwrap()], "");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        format!("{a}:10.1.1.1 192.0.2.1\n{a}:192.0.2.1 10.1.1.1\n")
    );
    assert!(
        run.stderr.contains("missing.log: cannot open"),
        "{}",
        run.stderr
    );
    // stdin cannot be both.
    let run = ipfence(&["grep", "-i", "-"], lines);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("cannot be the lines to search too"),
        "{}",
        run.stderr
    );
}

/// `ipfence lookup` on stdin prints what it printed before its output was batched and
/// cached per prefix: each line rebuilt here the old way (serde_json's `json!`, the
/// provider grouping of the text form) from single lookups of the embedded matcher.
#[test]
fn lookup_from_stdin_prints_what_the_per_line_formatting_printed() {
    use ipfence_core::matcher::Matcher;
    use serde_json::{json, Value};
    let (m, _) = Matcher::from_bytes(ipfence::EMBEDDED).unwrap();
    let nets: Vec<IpNet> = m.to_ranges().entries.iter().map(|e| e.prefix).collect();
    let mut rng = Rng(0x100c_0b0e_2026);
    let mut lines = Vec::new();
    for i in 0..5000 {
        lines.push(match i % 5 {
            0 => pick_v4(&nets, &mut rng),
            1 => pick_v6(&nets, &mut rng),
            2 => Ipv4Addr::from(rng.next() as u32).to_string(),
            3 => format!("::ffff:{}", pick_v4(&nets, &mut rng)),
            _ => {
                Ipv6Addr::from((u128::from(rng.next()) << 64) | u128::from(rng.next())).to_string()
            }
        });
    }
    let stdin = lines.join("\n");
    let (mut want_text, mut want_json) = (String::new(), String::new());
    let mut hits = 0;
    for l in &lines {
        let hit = m.lookup(l.parse().unwrap());
        hits += usize::from(hit.is_some());
        match &hit {
            Some(h) => want_text.push_str(&format!("{l}: allowed by {}\n", old_text(h))),
            None => want_text.push_str(&format!("{l}: not allowed\n")),
        }
        let obj = json!({"ip": l, "allowed": hit.is_some(), "match": hit.as_ref().map_or(Value::Null, |h| old_json(h))});
        want_json.push_str(&format!("{obj}\n"));
    }
    assert!(hits > 1000 && hits < lines.len(), "{hits}");
    let run = ipfence(&["lookup"], &stdin);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout == want_text, "text output differs");
    let run = ipfence(&["lookup", "--json"], &stdin);
    assert!(run.stdout == want_json, "JSON output differs");
}

/// A match as `lookup --json` printed it when it formatted each line on its own.
fn old_json(h: &ipfence_core::Match<'_>) -> serde_json::Value {
    use serde_json::{json, Value};
    let extra = ipfence_core::ranges::extra_name;
    let entries: Vec<Value> = h
        .entries()
        .map(|t| {
            let mut o = json!({"provider": t.provider, "service": t.service, "region": t.region});
            o[extra(t.provider)] = Value::from(t.extra);
            o
        })
        .collect();
    json!({"prefix": h.prefix().to_string(), "entries": entries})
}

/// A match as `lookup` printed it when it formatted each line on its own.
fn old_text(h: &ipfence_core::Match<'_>) -> String {
    let mut groups: Vec<(&str, Vec<String>)> = Vec::new();
    for t in h.entries() {
        let words: Vec<&str> = [t.service, t.region]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect();
        let mut s = words.join(" ");
        if !t.extra.is_empty() && t.extra != t.region {
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
    format!("{} ({})", h.prefix(), parts.join("; "))
}

/// Addresses inside the embedded prefixes of both families, IPv4-mapped ones and random
/// ones.
fn sample_addresses(n: usize, seed: u64) -> Vec<String> {
    use ipfence_core::matcher::Matcher;
    let (m, _) = Matcher::from_bytes(ipfence::EMBEDDED).unwrap();
    let nets: Vec<IpNet> = m.to_ranges().entries.iter().map(|e| e.prefix).collect();
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| match i % 5 {
            0 => pick_v4(&nets, &mut rng),
            1 => pick_v6(&nets, &mut rng),
            2 => Ipv4Addr::from(rng.next() as u32).to_string(),
            3 => format!("::ffff:{}", pick_v4(&nets, &mut rng)),
            _ => {
                Ipv6Addr::from((u128::from(rng.next()) << 64) | u128::from(rng.next())).to_string()
            }
        })
        .collect()
}

/// `lookup` uses the embedded blob itself when nothing is filtered out, and compiles the
/// selection otherwise: both answer as a matcher built from the selected entries, the way
/// every lookup was answered before (text, JSON and --all).
#[test]
fn lookup_answers_as_the_matcher_built_from_the_selection_with_and_without_filters() {
    use ipfence_core::matcher::Matcher;
    use ipfence_core::{Family, Filter, Ranges};
    use serde_json::{json, Value};
    let (m, _) = Matcher::from_bytes(ipfence::EMBEDDED).unwrap();
    let all = m.to_ranges();
    assert!(
        Ranges::from_matcher(&m) == all,
        "from_matcher differs from to_ranges"
    );
    let lines = sample_addresses(4000, 0x0180_b10b_2026);
    let stdin = lines.join("\n");
    let cases: [(&[&str], Filter); 4] = [
        (&[], Filter::default()),
        (
            &["--provider", "aws,google"],
            Filter::default().providers(["aws", "google"]),
        ),
        (&["--service", "S3"], Filter::default().services(["S3"])),
        (&["--ipv6"], Filter::default().family(Family::V6)),
    ];
    for (args, filter) in cases {
        let selected = if filter.is_everything() {
            all.clone()
        } else {
            filter.select(&all)
        };
        let built = Matcher::build(&selected).unwrap();
        let (mut text, mut json, mut every) = (String::new(), String::new(), String::new());
        for l in &lines {
            let hit = built.lookup(l.parse().unwrap());
            match &hit {
                Some(h) => text.push_str(&format!("{l}: allowed by {}\n", old_text(h))),
                None => text.push_str(&format!("{l}: not allowed\n")),
            }
            let obj = json!({"ip": l, "allowed": hit.is_some(), "match": hit.as_ref().map_or(Value::Null, |h| old_json(h))});
            json.push_str(&format!("{obj}\n"));
            let chain: Vec<String> = built
                .matches(l.parse().unwrap())
                .map(|h| old_text(&h))
                .collect();
            match chain.is_empty() {
                true => every.push_str(&format!("{l}: not allowed\n")),
                false => every.push_str(&format!("{l}: allowed by {}\n", chain.join("; "))),
            }
        }
        for (flags, want) in [(&[][..], &text), (&["--json"], &json), (&["--all"], &every)] {
            let mut a = vec!["lookup"];
            a.extend_from_slice(args);
            a.extend_from_slice(flags);
            let run = ipfence(&a, &stdin);
            assert_eq!(run.code, 1, "{a:?}: {}", run.stderr);
            assert!(&run.stdout == want, "{a:?}: output differs");
        }
    }
}

/// Whole lines on stdin as `str::lines`, `#` comments and `trim` read them: CRLF, tabs,
/// Unicode spaces, comments, blank lines, a last line without newline; errors name the
/// line.
#[test]
fn lookup_reads_stdin_lines_as_before() {
    let stdin = "3.5.140.2\r\n\t1.2.3.4 # a comment\n\n#only\n\u{a0}3.5.140.2\u{2003}\nnope\n  ::ffff:3.5.140.2";
    let run = ipfence(&["lookup"], stdin);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let answer = "allowed by 3.5.140.0/22 (aws: AMAZON ap-northeast-2, S3 ap-northeast-2, EC2 ap-northeast-2)";
    assert_eq!(
        run.stdout,
        format!("3.5.140.2: {answer}\n1.2.3.4: not allowed\n3.5.140.2: {answer}\n::ffff:3.5.140.2: {answer}\n")
    );
    assert!(
        run.stderr
            .contains("ipfence: <stdin> line 6: \"nope\" is not an IPv4 or IPv6 address"),
        "{}",
        run.stderr
    );
    let run = ipfence(&["lookup", "1.2.3.4", "x"], "");
    assert!(
        run.stderr
            .contains("ipfence: argument 2: \"x\" is not an IPv4 or IPv6 address"),
        "{}",
        run.stderr
    );
}

/// With no filter, `grep` reads the embedded blob itself: the same lines as grepcidr given
/// every embedded prefix.
#[test]
fn grep_without_a_filter_prints_what_grepcidr_prints() {
    if !crate::util::needs(
        "grepcidr (apt-get install grepcidr; scripts/test does)",
        || crate::util::on_path("grepcidr"),
    ) {
        return;
    }
    let dir = tempdir();
    let (_, cidrs) = cidrs_for(&[], dir.path());
    let lines = sample_addresses(5000, 0x0018_09e9);
    let log: String = lines
        .iter()
        .enumerate()
        .map(|(i, ip)| {
            format!(
                "{ip} - - [03/Dec/2026:12:{:02}:00 +0000] \"GET / HTTP/1.1\" 200\n",
                i % 60
            )
        })
        .collect();
    let path = dir.path().join("access.log");
    std::fs::write(&path, &log).unwrap();
    let selected = same_as_grepcidr(&[], &cidrs, &path);
    assert!(selected > 1000 && selected < lines.len(), "{selected}");
}

/// The note on the embedded data counts in words: "2 lists of 1 provider", not
/// "1 providers".
#[test]
fn the_embedded_note_says_1_provider() {
    let run = ipfence(&["lookup", "--provider", "aws", "1.2.3.4"], "");
    assert!(
        run.stderr
            .contains("ipfence: using the embedded data (2 lists of 1 provider; "),
        "{}",
        run.stderr
    );
    let run = ipfence(&["lookup", "1.2.3.4"], "");
    assert!(run.stderr.contains(" providers; "), "{}", run.stderr);
}

/// Stdin redirected from a file (read into a string sized for it) gives what a pipe
/// gives, comments, blank lines and a last line without newline included.
#[test]
fn lookup_reads_stdin_from_a_file_as_from_a_pipe() {
    let dir = tempdir();
    let mut text = sample_addresses(3000, 0x000f_11e5).join("\n# a comment\n\n");
    text.push_str("\n 3.5.140.2 # the last line, no newline");
    let path = dir.path().join("addrs.txt");
    std::fs::write(&path, &text).unwrap();
    let piped = ipfence(&["lookup"], &text);
    let out = Command::new(env!("CARGO_BIN_EXE_ipfence"))
        .arg("lookup")
        .env("IPFENCE_NOW", "2026-08-22")
        .stdin(std::fs::File::open(&path).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(piped.code));
    assert!(
        String::from_utf8_lossy(&out.stdout) == piped.stdout,
        "outputs differ"
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), piped.stderr);
    assert_eq!(piped.stdout.lines().count(), 3001);
}

/// Runs ipfence with `args`, writes each `send` to its stdin and expects `want` on its
/// stdout while stdin is still open (as `tail -f` feeds a pipe).
fn answers_as_lines_come(args: &[&str], feeds: &[(&str, &str)]) {
    use std::io::{BufRead, BufReader, Write};
    let mut child = Command::new(env!("CARGO_BIN_EXE_ipfence"))
        .args(args)
        .env("IPFENCE_NOW", "2026-08-23")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    for &(send, want) in feeds {
        stdin.write_all(send.as_bytes()).unwrap();
        stdin.flush().unwrap();
        let got = rx.recv_timeout(std::time::Duration::from_secs(20));
        assert_eq!(got.as_deref(), Ok(want), "printed while stdin is open");
    }
    drop(stdin);
    child.wait().unwrap();
    reader.join().unwrap();
}

/// What a pipe has delivered is searched and printed at once: a line written to
/// `ipfence grep`'s stdin comes out while stdin stays open.
#[test]
fn grep_prints_lines_from_a_pipe_as_they_come() {
    let dir = tempdir();
    let ranges = dir.path().join("ranges.txt");
    std::fs::write(&ranges, "10.0.0.0/8\n").unwrap();
    answers_as_lines_come(
        &["grep", "-i", ranges.to_str().unwrap()],
        &[
            ("192.0.2.1 GET /\n10.1.2.3 GET /\n", "10.1.2.3 GET /"),
            ("10.9.9.9 POST /\n", "10.9.9.9 POST /"),
        ],
    );
}

/// `ipfence lookup` answers each address of a pipe as it comes, with and without a
/// filter.
#[test]
fn lookup_answers_addresses_from_a_pipe_as_they_come() {
    answers_as_lines_come(
        &["lookup", "--provider", "aws"],
        &[
            ("3.5.140.2\n", "3.5.140.2: allowed by 3.5.140.0/22 (aws: AMAZON ap-northeast-2, S3 ap-northeast-2, EC2 ap-northeast-2)"),
            ("# a comment\n\n192.0.2.1\n", "192.0.2.1: not allowed"),
        ],
    );
    answers_as_lines_come(
        &["lookup"],
        &[("140.82.112.3\n", "140.82.112.3: allowed by 140.82.112.0/20 (github: hooks, web, api, git, github_enterprise_importer, copilot)")],
    );
}
