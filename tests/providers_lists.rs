//! Fastly's, Cloudflare's, Zscaler's and the geofeeds' real files against an independent extraction in Python (`json`,
//! `csv`, `ipaddress`): the same tagged prefixes, and the same longest match for
//! thousands of addresses. One Python process per file.

use std::collections::BTreeSet;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::{Command, Stdio};

use ipfence_core::matcher::Matcher;
use ipfence_core::source::{self, Label, Options};
use ipfence_core::{IpNet, Ranges};

use crate::util::{data, ipfence, python};

/// Reads a fixture as ipfence does without being told its format.
fn read(rel: &str, label: Option<&str>) -> Ranges {
    let bytes = std::fs::read(data(rel)).unwrap();
    let label = label.map(|l| Label::new(l).unwrap());
    source::parse_labeled(&bytes, rel, None, label.as_ref(), Options::default())
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `provider<TAB>service<TAB>region<TAB>extra<TAB>prefix` per entry, sorted (a multiset).
fn tuples(r: &Ranges) -> Vec<String> {
    let mut v: Vec<String> = r
        .entries
        .iter()
        .map(|e| {
            let t = r.tags(e);
            format!(
                "{}\t{}\t{}\t{}\t{}",
                t.provider, t.service, t.region, t.extra, e.prefix
            )
        })
        .collect();
    v.sort();
    v
}

/// splitmix64 with a fixed seed: the same addresses on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Addresses to look up: each prefix's first and last address and their neighbours
/// outside, one random address inside each prefix, and as many random ones anywhere
/// (half of them IPv6).
fn probes(r: &Ranges, seed: u64) -> Vec<IpAddr> {
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    for e in &r.entries {
        match e.prefix {
            IpNet::V4(n) => {
                let (lo, hi) = (u32::from(n.network()), u32::from(n.broadcast()));
                let inside = lo + (rng.next() as u32 & (hi - lo));
                for a in [lo.wrapping_sub(1), lo, inside, hi, hi.wrapping_add(1)] {
                    out.push(IpAddr::V4(Ipv4Addr::from(a)));
                }
            }
            IpNet::V6(n) => {
                let (lo, hi) = (u128::from(n.network()), u128::from(n.broadcast()));
                let r128 = (u128::from(rng.next()) << 64) | u128::from(rng.next());
                let inside = lo + (r128 & (hi - lo));
                for a in [lo.wrapping_sub(1), lo, inside, hi, hi.wrapping_add(1)] {
                    out.push(IpAddr::V6(Ipv6Addr::from(a)));
                }
            }
        }
        let any = rng.next();
        out.push(if any & 1 == 0 {
            IpAddr::V4(Ipv4Addr::from((any >> 32) as u32))
        } else {
            IpAddr::V6(Ipv6Addr::from(
                (u128::from(rng.next()) << 64) | u128::from(any),
            ))
        });
    }
    out
}

/// The Python side: `extract` is code that reads `path` and fills `out` with
/// (provider, service, region, extra, prefix string) tuples; the rest normalizes each
/// prefix with `ipaddress` (strict: host bits set is an error), prints the sorted tuples,
/// then for each address on stdin the longest prefix holding it (or `-`), found by
/// looking the address up under each published prefix length.
fn oracle(path: &str, extract: &str, addrs: &[IpAddr]) -> (Vec<String>, Vec<String>) {
    let script = format!(
        "import csv, ipaddress, json, sys\n\
         path = {path:?}\n\
         out = []\n\
         {extract}\n\
         rows = [(p, s, r, x, ipaddress.ip_network(n.strip(), strict=True)) for (p, s, r, x, n) in out]\n\
         for line in sorted('\\t'.join([p, s, r, x, str(n)]) for (p, s, r, x, n) in rows): print(line)\n\
         print('--')\n\
         nets = {{}}\n\
         for (_, _, _, _, n) in rows: nets.setdefault((n.version, n.prefixlen), set()).add(int(n.network_address))\n\
         keys = sorted(nets, key=lambda k: -k[1])\n\
         for a in sys.stdin.read().split():\n\
         \x20   ip = ipaddress.ip_address(a)\n\
         \x20   bits = ip.max_prefixlen\n\
         \x20   hit = '-'\n\
         \x20   for (v, l) in keys:\n\
         \x20       if v == ip.version and (int(ip) >> (bits - l) << (bits - l)) in nets[(v, l)]:\n\
         \x20           hit = str(ipaddress.ip_network((int(ip) >> (bits - l) << (bits - l), l)))\n\
         \x20           break\n\
         \x20   print(hit)\n",
        path = data(path).to_str().unwrap(),
    );
    let mut child = Command::new(python())
        .arg("-c")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input: String = addrs.iter().map(|a| format!("{a}\n")).collect();
    // Python prints its tuples before reading the addresses: feed it from a thread, or
    // both sides would wait on a full pipe.
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let o = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let (tuples, lpm) = text.split_once("--\n").unwrap();
    (
        tuples.lines().map(String::from).collect(),
        lpm.lines().map(String::from).collect(),
    )
}

/// The tagged prefixes equal the oracle's, and so does the longest match of every probe.
fn cross_check(rel: &str, label: Option<&str>, extract: &str, want: (usize, usize)) {
    let r = read(rel, label);
    let v6 = r
        .entries
        .iter()
        .filter(|e| e.prefix.addr().is_ipv6())
        .count();
    assert_eq!((r.len() - v6, v6), want, "{rel}: IPv4 / IPv6 entries");
    let addrs = probes(&r, 0x1f_e4ce ^ r.len() as u64);
    let (theirs, lpm) = oracle(rel, extract, &addrs);
    assert_eq!(tuples(&r), theirs, "{rel}: tagged prefixes differ");
    let m = Matcher::build(&r).unwrap();
    let mut hits = 0;
    for (a, want) in addrs.iter().zip(&lpm) {
        let got = m
            .lookup(*a)
            .map_or_else(|| String::from("-"), |x| x.prefix().to_string());
        assert_eq!(&got, want, "{rel}: longest match of {a}");
        hits += usize::from(want != "-");
    }
    assert_eq!(lpm.len(), addrs.len());
    assert!(
        hits >= addrs.len() / 2 && hits < addrs.len(),
        "{rel}: {hits} of {} probes hit: not a real check",
        addrs.len()
    );
}

#[test]
fn fastly_matches_python() {
    cross_check(
        "fastly/public-ip-list.json",
        None,
        "d = json.load(open(path))\n\
         out += [('fastly', '', '', '', p) for p in d['addresses'] + d['ipv6_addresses']]",
        (19, 2),
    );
}

#[test]
fn cloudflare_api_matches_python() {
    cross_check(
        "cloudflare/api-ips.json",
        None,
        "d = json.load(open(path))['result']\n\
         out += [('cloudflare', '', '', '', p) for p in d['ipv4_cidrs'] + d['ipv6_cidrs']]",
        (15, 7),
    );
}

#[test]
fn cloudflare_text_lists_named_match_python() {
    let extract = "out += [('cloudflare', '', '', '', l) for l in open(path).read().split('\\n') if l.strip()]";
    cross_check("cloudflare/ips-v4", Some("cloudflare"), extract, (15, 0));
    cross_check("cloudflare/ips-v6", Some("cloudflare"), extract, (0, 7));
}

/// `--input cloudflare=ips-v4` and `ips-v6` hold the same prefixes, with the same
/// provider, as the API's answer.
#[test]
fn cloudflare_text_lists_and_api_agree() {
    let set = |r: &Ranges| -> BTreeSet<String> {
        r.entries
            .iter()
            .map(|e| format!("{} {}", r.tags(e).provider, e.prefix))
            .collect()
    };
    let mut text = set(&read("cloudflare/ips-v4", Some("cloudflare")));
    text.extend(set(&read("cloudflare/ips-v6", Some("cloudflare"))));
    let api = read("cloudflare/api-ips.json", None);
    assert_eq!(api.sources[0].provider, "cloudflare");
    assert_eq!(text.len(), 22);
    assert_eq!(text, set(&api));
    // Unnamed, a text list is nobody's in particular.
    assert_eq!(read("cloudflare/ips-v4", None).sources[0].provider, "text");
}

#[test]
fn zscaler_matches_python() {
    cross_check(
        "zscaler/hub-cidr-recommended.json",
        None,
        "d = json.load(open(path))\n\
         out += [('zscaler', 'hub', '', d['type'], p) for p in d['hubPrefixes']]",
        (29, 45),
    );
}

/// RFC 8805 rows: `#` comments and blank lines skipped; region, else the country; city.
const GEOFEED: &str = "for row in csv.reader(l for l in open(path, encoding='utf-8') if l.strip() and not l.startswith('#')):\n\
     \x20   out.append((PROVIDER, '', row[2] or row[1], row[3], row[0]))";

#[test]
fn digitalocean_geofeed_matches_python() {
    cross_check(
        "digitalocean/google.csv",
        Some("digitalocean"),
        &GEOFEED.replace("PROVIDER", "'digitalocean'"),
        (1006, 144),
    );
}

#[test]
fn linode_geofeed_matches_python() {
    cross_check(
        "linode/geofeed.csv",
        Some("linode"),
        &GEOFEED.replace("PROVIDER", "'linode'"),
        (3959, 82),
    );
    // Unnamed, a geofeed's provider is `geofeed`.
    let r = read("linode/geofeed.csv", None);
    assert_eq!(r.sources[0].provider, "geofeed");
    assert_eq!(r.tags(&r.entries[0]).provider, "geofeed");
}

/// The CLI reads every one of these files without being told the format (a geofeed line
/// is not refused as a bad CIDR line).
#[test]
fn fastly_cloudflare_zscaler_geofeeds_are_read_by_the_cli() {
    for (rel, entries) in [
        ("fastly/public-ip-list.json", "21 entries"),
        ("cloudflare/api-ips.json", "22 entries"),
        ("zscaler/hub-cidr-recommended.json", "74 entries"),
        ("digitalocean/google.csv", "1150 entries"),
        ("linode/geofeed.csv", "4041 entries"),
    ] {
        let path = data(rel);
        let run = ipfence(&["services", "--input", path.to_str().unwrap()], "");
        assert_eq!(run.code, 0, "{rel}: {}", run.stderr);
        assert!(run.stdout.contains(entries), "{rel}: {}", run.stdout);
    }
}
