//! The compiled matcher against `iptrie` (an independent LC-trie) on the real AWS list:
//! the same longest match for every prefix's edges and over a million random addresses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipfence_core::matcher::Matcher;
use ipfence_core::{IpNet, Ipv4Net, Ipv6Net, Ranges};
use iptrie::map::RTrieMap;

const AWS_NEWEST: &str = "tests/data/aws/ip-ranges-2026-08-22-15-17-05.json";

fn aws(path: &str) -> Ranges {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let bytes = std::fs::read(&path).unwrap();
    ipfence_core::source::aws::parse(&bytes, "ip-ranges.json", Default::default()).unwrap()
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

/// Random addresses per family: half inside a random published prefix, half anywhere.
/// A debug build checks a tenth as many; `cargo test --release --test tests matcher`
/// runs the full count.
const RANDOM_PER_FAMILY: usize = if cfg!(debug_assertions) {
    60_000
} else {
    600_000
};

#[test]
fn same_longest_match_as_iptrie_on_real_aws_data() {
    let r = aws(AWS_NEWEST);
    let m = Matcher::build(&r).unwrap();
    let (b, _) = Matcher::from_bytes(m.as_bytes()).unwrap();
    same_longest_match_as_iptrie(&r, &b, 0x2026_0822_1517_0500);
}

/// The blob the CLI embeds (every provider's list) stays within 4 MiB and answers as
/// an independent trie over the same prefixes.
#[test]
fn the_all_provider_blob_is_at_most_4_mib_and_answers_as_iptrie() {
    let bytes = ipfence::EMBEDDED;
    assert!(
        bytes.len() <= 4 << 20,
        "the embedded all-provider blob is {} bytes, more than 4 MiB",
        bytes.len()
    );
    let (b, _) = Matcher::from_bytes(bytes).unwrap();
    let r = b.to_ranges();
    assert!(b.prefix_count() > 70_000, "{} prefixes", b.prefix_count());
    assert_eq!(b.entry_count(), r.len());
    same_longest_match_as_iptrie(&r, &b, 0x2026_1203_0a11_0001);
}

fn same_longest_match_as_iptrie(r: &Ranges, b: &Matcher<&[u8]>, seed: u64) {
    let mut v4: Vec<Ipv4Net> = Vec::new();
    let mut v6: Vec<Ipv6Net> = Vec::new();
    let mut t4 = RTrieMap::<Ipv4Net, Option<Ipv4Net>>::with_root(None);
    let mut t6 = RTrieMap::<Ipv6Net, Option<Ipv6Net>>::with_root(None);
    for e in &r.entries {
        match e.prefix {
            IpNet::V4(n) => {
                v4.push(n);
                t4.insert(n, Some(n));
            }
            IpNet::V6(n) => {
                v6.push(n);
                t6.insert(n, Some(n));
            }
        }
    }
    let (t4, t6) = (t4.compress(), t6.compress());

    let mut rng = Rng(seed);
    let mut checked4 = 0usize;
    let mut check4 = |a: u32| {
        let ip = Ipv4Addr::from(a);
        let want = *t4.lookup(&ip).1;
        let got = b.lookup(IpAddr::V4(ip)).map(|h| h.prefix());
        assert_eq!(got, want.map(IpNet::V4), "lookup({ip})");
        assert_eq!(b.contains_v4(ip), want.is_some(), "contains({ip})");
        checked4 += 1;
    };
    for n in &v4 {
        let (lo, hi) = (u32::from(n.network()), u32::from(n.broadcast()));
        for a in [lo, hi, lo.wrapping_sub(1), hi.wrapping_add(1)] {
            check4(a);
        }
    }
    for i in 0..RANDOM_PER_FAMILY {
        let x = rng.next() as u32;
        if i % 2 == 0 {
            let n = v4[(rng.next() % v4.len() as u64) as usize];
            check4(u32::from(n.network()) | (x & !u32::from(n.netmask())));
        } else {
            check4(x);
        }
    }

    let mut checked6 = 0usize;
    let mut check6 = |a: u128| {
        let ip = Ipv6Addr::from(a);
        let want = *t6.lookup(&ip).1;
        let got = b.lookup_v6(ip).map(|h| h.prefix());
        assert_eq!(got, want.map(IpNet::V6), "lookup({ip})");
        assert_eq!(b.contains_v6(ip), want.is_some(), "contains({ip})");
        checked6 += 1;
    };
    for n in &v6 {
        let (lo, hi) = (u128::from(n.network()), u128::from(n.broadcast()));
        for a in [lo, hi, lo.wrapping_sub(1), hi.wrapping_add(1)] {
            check6(a);
        }
    }
    for i in 0..RANDOM_PER_FAMILY {
        let x = (u128::from(rng.next()) << 64) | u128::from(rng.next());
        if i % 2 == 0 {
            let n = v6[(rng.next() % v6.len() as u64) as usize];
            check6(u128::from(n.network()) | (x & !u128::from(n.netmask())));
        } else {
            check6(x);
        }
    }
    let total = checked4 + checked6;
    let want_total = 2 * RANDOM_PER_FAMILY + 4 * (v4.len() + v6.len());
    assert_eq!(total, want_total);
    if !cfg!(debug_assertions) {
        assert!(total >= 1_000_000, "{total} addresses checked");
    }
}

#[test]
fn every_published_entry_comes_back_with_its_tags() {
    let r = aws(AWS_NEWEST);
    let m = Matcher::build(&r).unwrap();
    // Each published (prefix, tags) is listed under its prefix exactly once.
    let mut want: Vec<(IpNet, [&str; 4])> = r
        .entries
        .iter()
        .map(|e| {
            let t = r.tags(e);
            (e.prefix, [t.provider, t.service, t.region, t.extra])
        })
        .collect();
    want.sort();
    want.dedup();
    assert_eq!(m.entry_count(), want.len());
    let mut prefixes: Vec<IpNet> = want.iter().map(|w| w.0).collect();
    prefixes.dedup();
    assert_eq!(m.prefix_count(), prefixes.len());
    for p in prefixes {
        let hit = m.lookup(p.network()).unwrap();
        // The network address of a published prefix matches it or a longer one.
        assert!(hit.prefix().prefix_len() >= p.prefix_len());
        let exact = m.matches(p.network()).find(|h| h.prefix() == p).unwrap();
        let mut got: Vec<[&str; 4]> = exact
            .entries()
            .map(|t| [t.provider, t.service, t.region, t.extra])
            .collect();
        got.sort();
        let want_here: Vec<[&str; 4]> = want.iter().filter(|w| w.0 == p).map(|w| w.1).collect();
        assert_eq!(got, want_here, "{p}");
    }
    assert_eq!(m.sources(), r.sources);
    // The blob gives the same entries back.
    let back = Matcher::from_bytes(m.as_bytes()).unwrap().0.to_ranges();
    assert_eq!(back.len(), want.len());
}

/// Addresses for the batch differential test: a tenth in a debug build.
const BATCH_ADDRESSES: usize = if cfg!(debug_assertions) {
    300_000
} else {
    3_000_000
};

/// The batch calls answer exactly as single lookups do, on the all-provider embedded
/// matcher: mixed families, IPv4-mapped IPv6, prefix edges, every batch length up to
/// past a group of lanes, and the shorter of two slices.
#[test]
fn batch_lookups_equal_single_lookups_on_every_embedded_list() {
    use ipfence_core::matcher::LANES;
    let (m, _) = Matcher::from_bytes(ipfence::EMBEDDED).unwrap();
    let r = m.to_ranges();
    let nets: Vec<IpNet> = r.entries.iter().map(|e| e.prefix).collect();
    let mut rng = Rng(0x1b47_c4ed_2026_1203);
    let mut ips: Vec<IpAddr> = Vec::with_capacity(BATCH_ADDRESSES);
    while ips.len() < BATCH_ADDRESSES {
        let x = (u128::from(rng.next()) << 64) | u128::from(rng.next());
        let n = nets[(rng.next() % nets.len() as u64) as usize];
        let ip = match (n, rng.next() % 6) {
            (IpNet::V4(n), 0) => IpAddr::V4(n.network()),
            (IpNet::V4(n), 1) => IpAddr::V4(n.broadcast()),
            (IpNet::V4(n), 2) => IpAddr::V4(Ipv4Addr::from(
                u32::from(n.network()) | (x as u32 & !u32::from(n.netmask())),
            )),
            (IpNet::V4(n), 3) => IpAddr::V6(n.network().to_ipv6_mapped()),
            (IpNet::V4(_), _) => IpAddr::V4(Ipv4Addr::from(x as u32)),
            (IpNet::V6(n), 0) => IpAddr::V6(n.network()),
            (IpNet::V6(n), 1) => IpAddr::V6(n.broadcast()),
            (IpNet::V6(n), 2) => IpAddr::V6(Ipv6Addr::from(
                u128::from(n.network()) | (x & !u128::from(n.netmask())),
            )),
            (IpNet::V6(_), _) => IpAddr::V6(Ipv6Addr::from(x)),
        };
        ips.push(ip);
    }
    let want: Vec<Option<IpNet>> = ips
        .iter()
        .map(|&ip| m.lookup(ip).map(|h| h.prefix()))
        .collect();
    let hits = want.iter().filter(|w| w.is_some()).count();
    assert!(
        hits > ips.len() / 4 && hits < ips.len(),
        "{hits} hits: the sample must mix hits and misses"
    );

    let mut out = vec![None; ips.len()];
    m.lookup_many(&ips, &mut out);
    for ((ip, w), o) in ips.iter().zip(&want).zip(&out) {
        assert_eq!(o.map(|h| h.prefix()), *w, "lookup_many({ip})");
        assert_eq!(
            o.map(|h| h.index()),
            m.lookup(*ip).map(|h| h.index()),
            "{ip}"
        );
    }
    let mut has = vec![false; ips.len()];
    m.contains_many(&ips, &mut has);
    for ((ip, w), h) in ips.iter().zip(&want).zip(&has) {
        assert_eq!(*h, w.is_some(), "contains_many({ip})");
    }

    // One family at a time (no IPv4-mapped translation in lookup_many_v6).
    let v4: Vec<Ipv4Addr> = ips
        .iter()
        .filter_map(|ip| match ip {
            IpAddr::V4(a) => Some(*a),
            _ => None,
        })
        .collect();
    let v6: Vec<Ipv6Addr> = ips
        .iter()
        .filter_map(|ip| match ip {
            IpAddr::V6(a) => Some(*a),
            _ => None,
        })
        .collect();
    let mut o4 = vec![None; v4.len()];
    m.lookup_many_v4(&v4, &mut o4);
    for (a, o) in v4.iter().zip(&o4) {
        assert_eq!(
            o.map(|h| h.prefix()),
            m.lookup_v4(*a).map(|h| h.prefix()),
            "lookup_many_v4({a})"
        );
    }
    let mut o6 = vec![None; v6.len()];
    m.lookup_many_v6(&v6, &mut o6);
    for (a, o) in v6.iter().zip(&o6) {
        assert_eq!(
            o.map(|h| h.prefix()),
            m.lookup_v6(*a).map(|h| h.prefix()),
            "lookup_many_v6({a})"
        );
    }

    // Every length around the group size, and an `out` shorter or longer than `ips`:
    // only the first min(len) places are written.
    for len in 0..=3 * LANES + 1 {
        let part = &ips[..len];
        for extra in [0usize, 2] {
            let sentinel = m.prefix_at(0);
            let mut o = vec![sentinel; len + extra];
            m.lookup_many(part, &mut o);
            for (i, ip) in part.iter().enumerate() {
                assert_eq!(
                    o[i].map(|h| h.prefix()),
                    m.lookup(*ip).map(|h| h.prefix()),
                    "len {len}: {ip}"
                );
            }
            assert!(
                o[len..].iter().all(|x| x.map(|h| h.index()) == Some(0)),
                "len {len}: wrote past ips"
            );
        }
        if len > 0 {
            let mut o = vec![false; len - 1];
            m.contains_many(part, &mut o);
            for (i, ip) in part.iter().take(len - 1).enumerate() {
                assert_eq!(o[i], m.contains(*ip), "len {len}: {ip}");
            }
        }
    }
}
