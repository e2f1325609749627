use super::format::{checksum, HEADER, VERSION};
use super::*;
use alloc::string::ToString;
use alloc::vec;
use proptest::prelude::*;
use std::net::IpAddr;

fn tags<'a>(provider: &'a str, service: &'a str, region: &'a str) -> Tags<'a> {
    Tags {
        provider,
        service,
        region,
        extra: region,
    }
}

fn ranges(list: &[(&str, &str)]) -> Ranges {
    let mut r = Ranges::new();
    for (p, svc) in list {
        r.push(p.parse().unwrap(), tags("aws", svc, "us-east-1"));
    }
    r
}

/// The published answer by brute force: every containing prefix, longest first, each
/// with its tag sets in first-published order without repeats.
fn brute(r: &Ranges, ip: IpAddr) -> Vec<(IpNet, Vec<Tags<'_>>)> {
    let ip = crate::prefix::canonical(ip);
    let mut out: Vec<(IpNet, Vec<Tags<'_>>)> = Vec::new();
    for e in &r.entries {
        let p = e.prefix.trunc();
        if !p.contains(&ip) {
            continue;
        }
        let t = r.tags(e);
        match out.iter_mut().find(|(q, _)| *q == p) {
            Some((_, ts)) => {
                if !ts.contains(&t) {
                    ts.push(t)
                }
            }
            None => out.push((p, vec![t])),
        }
    }
    out.sort_by_key(|b| core::cmp::Reverse(b.0.prefix_len()));
    out
}

fn answer<B: AsRef<[u8]>>(m: &Matcher<B>, ip: IpAddr) -> Vec<(IpNet, Vec<Tags<'_>>)> {
    m.matches(ip)
        .map(|h| (h.prefix(), h.entries().collect()))
        .collect()
}

fn check_against_brute<B: AsRef<[u8]>>(m: &Matcher<B>, r: &Ranges, ip: IpAddr) {
    let want = brute(r, ip);
    let got = answer(m, ip);
    assert_eq!(got, want, "matches({ip})");
    assert_eq!(
        m.lookup(ip).map(|h| h.prefix()),
        want.first().map(|w| w.0),
        "lookup({ip})"
    );
    assert_eq!(m.contains(ip), !want.is_empty(), "contains({ip})");
    for h in m.matches(ip) {
        let again = m.prefix_at(h.index()).expect("index in range");
        assert!(h.index() < m.prefix_count(), "index({ip})");
        assert_eq!(again, h, "prefix_at(index) for {ip}");
    }
}

/// First, last and neighbouring addresses of every prefix, plus the extremes.
fn edges(r: &Ranges) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = vec![
        "0.0.0.0".parse().unwrap(),
        "255.255.255.255".parse().unwrap(),
        "::".parse().unwrap(),
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap(),
    ];
    for e in &r.entries {
        match e.prefix.trunc() {
            IpNet::V4(n) => {
                let (a, z) = (u32::from(n.network()), u32::from(n.broadcast()));
                for x in [a, z, a.wrapping_sub(1), z.wrapping_add(1), a + (z - a) / 2] {
                    v.push(IpAddr::V4(x.into()));
                    // and the IPv4-mapped form
                    v.push(IpAddr::V6(Ipv4Addr::from(x).to_ipv6_mapped()));
                }
            }
            IpNet::V6(n) => {
                let (a, z) = (u128::from(n.network()), u128::from(n.broadcast()));
                for x in [a, z, a.wrapping_sub(1), z.wrapping_add(1), a + (z - a) / 2] {
                    v.push(IpAddr::V6(x.into()));
                }
            }
        }
    }
    v
}

#[test]
fn nested_prefixes_longest_first_with_all_tags() {
    let mut r = ranges(&[
        ("10.0.0.0/8", "AMAZON"),
        ("10.1.0.0/16", "AMAZON"),
        ("10.1.2.0/24", "AMAZON"),
        ("10.1.2.0/24", "EC2"),
        ("10.1.2.0/24", "AMAZON"), // repeat: listed once
        ("10.1.2.128/32", "S3"),
        ("2600:1f00::/24", "AMAZON"),
        ("2600:1f00:1::/48", "EC2"),
        ("2600:1f00:1::1/128", "ROUTE53"),
    ]);
    r.sources.push(SourceInfo {
        name: "ip-ranges.json".into(),
        format: "aws".into(),
        provider: "aws".into(),
        sync_token: Some("1755820625".into()),
        create_date: None,
    });
    let m = Matcher::build(&r).unwrap();
    assert_eq!(m.prefix_count(), 7);
    assert_eq!(m.entry_count(), 8);
    assert_eq!(m.sources(), r.sources);

    let hit = m.lookup("10.1.2.3".parse().unwrap()).unwrap();
    assert_eq!(hit.prefix().to_string(), "10.1.2.0/24");
    let svc: Vec<_> = hit.entries().map(|t| t.service).collect();
    assert_eq!(svc, ["AMAZON", "EC2"]);
    let chain: Vec<_> = m
        .matches("10.1.2.128".parse().unwrap())
        .map(|h| h.prefix().to_string())
        .collect();
    assert_eq!(
        chain,
        ["10.1.2.128/32", "10.1.2.0/24", "10.1.0.0/16", "10.0.0.0/8"]
    );
    let chain6: Vec<_> = m
        .matches("2600:1f00:1::1".parse().unwrap())
        .map(|h| h.prefix().prefix_len())
        .collect();
    assert_eq!(chain6, [128, 48, 24]);
    assert!(m.lookup("11.0.0.0".parse().unwrap()).is_none());
    assert!(m.contains("::ffff:10.200.0.1".parse().unwrap()));
    assert!(!m.contains_v6("::ffff:10.200.0.1".parse().unwrap()));
    for ip in edges(&r) {
        check_against_brute(&m, &r, ip);
    }
}

#[test]
fn empty_and_whole_space() {
    let m = Matcher::build(&Ranges::new()).unwrap();
    assert!(!m.contains("1.2.3.4".parse().unwrap()));
    assert!(!m.contains("::1".parse().unwrap()));
    assert_eq!(m.prefix_count(), 0);
    assert_eq!(m.matches("1.2.3.4".parse().unwrap()).count(), 0);

    let r = ranges(&[
        ("0.0.0.0/0", "ALL"),
        ("::/0", "ALL6"),
        ("255.255.255.255/32", "TOP"),
    ]);
    for (s4, s6) in [(0, 0), (1, 1), (8, 8), (16, 16), (24, 24)] {
        let m = Matcher::build_with(&r, s4, s6).unwrap();
        for ip in edges(&r) {
            check_against_brute(&m, &r, ip);
        }
    }
}

#[test]
fn direct_table_narrow_when_it_fits_wide_past_15_bits() {
    let r = ranges(&[
        ("10.0.0.0/8", "A"),
        ("10.1.2.0/24", "B"),
        ("2600::/16", "C"),
    ]);
    let m = Matcher::build(&r).unwrap();
    assert!(m.lay.v4.narrow && m.lay.v6.narrow);

    // 40,000 /16s: direct values past 0x7fff need u32 entries; a few longer
    // prefixes inside some of them need nodes.
    let mut r = Ranges::new();
    for i in 0..40_000u32 {
        let net = ipnet::Ipv4Net::new(core::net::Ipv4Addr::from(i << 16), 16).unwrap();
        r.push(IpNet::V4(net), tags("text", "", ""));
        if i % 997 == 0 {
            let sub = ipnet::Ipv4Net::new(core::net::Ipv4Addr::from((i << 16) | 0x1200), 23);
            r.push(IpNet::V4(sub.unwrap()), tags("text", "SUB", ""));
        }
    }
    let m = Matcher::build(&r).unwrap();
    assert!(!m.lay.v4.narrow, "40,000 prefixes need u32 direct entries");
    let (b, _) = Matcher::from_bytes(m.as_bytes()).unwrap();
    for i in (0..65_536u32)
        .step_by(331)
        .chain([0, 39_999, 40_000, 997 * 40])
    {
        for low in [0u32, 0x1234, 0xffff] {
            check_against_brute(&b, &r, IpAddr::V4(((i << 16) | low).into()));
        }
    }
}

#[test]
fn repeated_tag_runs_are_stored_once_and_childless_nodes_are_ends() {
    // 2,000 /32s in 250 /24s under 10.0.0.0/8, every one published as AMAZON and EC2,
    // and a few under S3 alone: three runs of tag sets, not one per prefix.
    let mut r = Ranges::new();
    for i in 0..2_000u32 {
        let a = 0x0a00_0000 | ((i / 8) << 8) | ((i % 8) * 17);
        let net = IpNet::V4(ipnet::Ipv4Net::new(a.into(), 32).unwrap());
        if i % 500 == 0 {
            r.push(net, tags("aws", "S3", "us-east-1"));
        } else {
            r.push(net, tags("aws", "AMAZON", "us-east-1"));
            r.push(net, tags("aws", "EC2", "us-east-1"));
        }
    }
    r.push(
        "10.0.0.0/8".parse().unwrap(),
        tags("aws", "AMAZON", "us-east-1"),
    );
    r.push("2600::/16".parse().unwrap(), tags("aws", "S3", "us-east-1"));
    let m = Matcher::build(&r).unwrap();
    let (b, _) = Matcher::from_bytes(m.as_bytes()).unwrap();
    assert_eq!(b.prefix_count(), 2_002);
    assert_eq!(b.entry_count(), 2 * 1_996 + 4 + 2);
    let l = &b.lay;
    // Runs: [AMAZON], [S3], [AMAZON, EC2].
    assert_eq!((l.n_runs, l.n_tag_list), (3, 4));
    // One node at bit 16 for 10.0/16, its 250 children at bit 24 are all ends.
    assert_eq!((l.v4.n_nodes, l.v4.n_ends), (1, 250));
    assert!(l.v4.narrow_leaves && l.v6.narrow_leaves);
    for ip in edges(&r).into_iter().step_by(7) {
        check_against_brute(&b, &r, ip);
    }
}

#[test]
fn leaves_are_u32_past_65535_prefixes() {
    // 70,000 /24s: more prefixes than u16 leaves can number.
    let mut r = Ranges::new();
    for i in 0..70_000u32 {
        let net = ipnet::Ipv4Net::new(core::net::Ipv4Addr::from(0x0a00_0000 + (i << 8)), 24);
        r.push(IpNet::V4(net.unwrap()), tags("text", "", ""));
    }
    r.push("10.0.0.128/25".parse().unwrap(), tags("text", "HALF", ""));
    let m = Matcher::build(&r).unwrap();
    let (b, _) = Matcher::from_bytes(m.as_bytes()).unwrap();
    assert!(!b.lay.v4.narrow_leaves);
    for i in (0..70_001u32).step_by(97).chain([69_999, 70_000, 0]) {
        for low in [0u32, 0x7f, 0x80, 0xff] {
            check_against_brute(&b, &r, IpAddr::V4((0x0a00_0000 + (i << 8) + low).into()));
        }
    }
}

#[test]
fn round_trip_bytes_and_ranges() {
    let r = ranges(&[
        ("3.5.140.0/22", "AMAZON"),
        ("3.5.140.0/22", "S3"),
        ("52.94.0.0/16", "AMAZON"),
        ("2406:da00::/24", "AMAZON"),
    ]);
    let m = Matcher::build(&r).unwrap();
    let bytes = m.to_bytes();
    assert_eq!(bytes, m.as_bytes());
    let mut padded = bytes.clone();
    padded.extend_from_slice(b"trailing");
    let (b, used) = Matcher::from_bytes(&padded).unwrap();
    assert_eq!(used, bytes.len());
    assert_eq!(b.as_bytes(), &bytes[..]);
    assert!(matches!(
        Matcher::from_vec(padded.clone()),
        Err(Error::Blob { .. })
    ));
    let owned = Matcher::from_vec(bytes.clone()).unwrap();
    let mut out = vec![0u8; m.write_to_len()];
    assert_eq!(m.write_to(&mut out).unwrap(), bytes.len());
    assert_eq!(out, bytes);
    assert!(m.write_to(&mut out[1..]).is_err());

    let back = m.to_ranges();
    assert_eq!(back.len(), 4);
    let again = Matcher::build(&back).unwrap();
    assert_eq!(again.to_ranges(), back);
    for ip in edges(&r) {
        assert_eq!(answer(&b, ip), answer(&m, ip));
        assert_eq!(answer(&owned, ip), answer(&m, ip));
        assert_eq!(answer(&again, ip), answer(&m, ip));
    }
    // Compiling is deterministic.
    assert_eq!(Matcher::build(&r).unwrap().as_bytes(), &bytes[..]);
}

fn small_blob() -> (Ranges, Vec<u8>) {
    let r = ranges(&[
        ("10.0.0.0/8", "A"),
        ("10.1.0.0/16", "B"),
        ("10.1.2.0/24", "C"),
        ("10.1.2.0/24", "D"),
        ("10.1.2.200/31", "E"),
        ("2600::/16", "F"),
        ("2600:1f00::/40", "G"),
        ("2600:1f00::/56", "G"),
    ]);
    let b = Matcher::build_with(&r, 4, 4).unwrap().to_bytes();
    (r, b)
}

fn reseal(b: &mut [u8]) {
    let sum = checksum(b);
    b[24..32].copy_from_slice(&sum.to_le_bytes());
}

fn probe<B: AsRef<[u8]>>(m: &Matcher<B>, ips: &[IpAddr]) -> Vec<Vec<(IpNet, Vec<Tags<'static>>)>> {
    // Owned copies, so answers from different blobs compare.
    ips.iter()
        .map(|&ip| {
            answer(m, ip)
                .into_iter()
                .map(|(p, ts)| {
                    let ts = ts
                        .into_iter()
                        .map(|t| {
                            let s = |x: &str| -> &'static str {
                                std::boxed::Box::leak(x.to_string().into_boxed_str())
                            };
                            Tags {
                                provider: s(t.provider),
                                service: s(t.service),
                                region: s(t.region),
                                extra: s(t.extra),
                            }
                        })
                        .collect();
                    (p, ts)
                })
                .collect()
        })
        .collect()
}

#[test]
fn every_byte_flip_and_truncation_is_rejected_or_harmless() {
    let (r, blob) = small_blob();
    let ips = edges(&r);
    let (good, _) = Matcher::from_bytes(&blob).unwrap();
    let want = probe(&good, &ips);
    let want_ranges = good.to_ranges();
    let mut loaded_resealed = 0;
    for i in 0..blob.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut bad = blob.clone();
            bad[i] ^= flip;
            // With the stored checksum: every change is caught, or the answers agree.
            match Matcher::from_bytes(&bad) {
                Err(Error::Blob { offset, msg }) => {
                    assert!(offset <= bad.len(), "{offset} {msg}");
                    assert!(!msg.is_empty() && !msg.ends_with('.'));
                }
                Err(e) => panic!("unexpected error kind {e:?}"),
                Ok((m, _)) => {
                    assert_eq!(probe(&m, &ips), want, "byte {i} ^ {flip:#x}");
                    assert_eq!(m.to_ranges(), want_ranges);
                }
            }
            // Checksum recomputed, so the structural checks are what stands: a loaded
            // blob may answer differently but must not panic.
            if !(24..32).contains(&i) {
                reseal(&mut bad);
                if let Ok((m, _)) = Matcher::from_bytes(&bad) {
                    loaded_resealed += 1;
                    let _ = probe(&m, &ips);
                    let _ = m.to_ranges();
                    let _ = m.sources();
                }
            }
        }
    }
    // Some resealed flips (in tag strings, say) are valid blobs; others are not.
    assert!(loaded_resealed > 0);
    for n in 0..blob.len() {
        let err = Matcher::from_bytes(&blob[..n]).unwrap_err();
        assert!(matches!(err, Error::Blob { .. }), "{err}");
    }
}

#[test]
fn header_errors_say_what_and_where() {
    let (_, blob) = small_blob();
    let e = Matcher::from_bytes(&blob[..10]).unwrap_err().to_string();
    assert!(e.contains("header needs") && e.contains("10 given"), "{e}");
    let mut b = blob.clone();
    b[0] = b'X';
    let e = Matcher::from_bytes(&b).unwrap_err().to_string();
    assert!(e.starts_with("blob: offset 0: not an ipfence blob"), "{e}");
    let mut b = blob.clone();
    b[8..12].copy_from_slice(&(VERSION + 1).to_le_bytes());
    let e = Matcher::from_bytes(&b).unwrap_err().to_string();
    assert!(
        e.contains(&alloc::format!("format version {}", VERSION + 1)),
        "{e}"
    );
    // A blob of the format before this one, as `ipfence compile` wrote it then.
    b[8..12].copy_from_slice(&4u32.to_le_bytes());
    let e = Matcher::from_bytes(&b).unwrap_err().to_string();
    assert_eq!(
        e,
        alloc::format!(
            "blob: offset 8: format version 4, this build reads version {VERSION} \
             (rebuild it with `ipfence compile`)"
        )
    );
    let e = Matcher::from_bytes(&blob[..blob.len() - 1])
        .unwrap_err()
        .to_string();
    assert!(e.contains("truncated"), "{e}");
    let mut b = blob.clone();
    let last = b.len() - 1;
    b[last] ^= 1;
    let e = Matcher::from_bytes(&b).unwrap_err().to_string();
    assert!(e.contains("checksum mismatch"), "{e}");
    // A leaf pointing past the prefix table, resealed: caught by validation.
    let mut b = blob.clone();
    let l4 = u32::from_le_bytes(b[32 + 8 * 10..32 + 8 * 10 + 4].try_into().unwrap()) as usize;
    b[l4..l4 + 2].copy_from_slice(&1000u16.to_le_bytes());
    reseal(&mut b);
    let e = Matcher::from_bytes(&b).unwrap_err().to_string();
    assert!(e.contains("leaf value 1000 past"), "{e}");
    assert!(HEADER < blob.len());
}

fn arb_net() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        // Clustered IPv4 so that prefixes nest.
        (0u32..4, any::<u32>(), 0u8..=32).prop_map(|(hi, lo, len)| {
            let a = (hi << 30) | ((lo >> 2) & 0x00ff_ffff) | (0x0a00_0000 * (hi & 1));
            IpNet::V4(ipnet::Ipv4Net::new(a.into(), len).unwrap()).trunc()
        }),
        (0u128..4, any::<u128>(), prop_oneof![0u8..=128, 16u8..=64]).prop_map(|(hi, lo, len)| {
            let a = (0x2600u128 << 112) | (hi << 100) | (lo >> 40);
            IpNet::V6(ipnet::Ipv6Net::new(a.into(), len).unwrap()).trunc()
        }),
    ]
}

fn arb_ranges() -> impl Strategy<Value = Ranges> {
    proptest::collection::vec((arb_net(), 0usize..3, 0usize..2), 0..60).prop_map(|v| {
        let mut r = Ranges::new();
        for (p, svc, reg) in v {
            let svc = ["AMAZON", "EC2", "S3"][svc];
            let reg = ["us-east-1", "eu-west-1"][reg];
            r.push(p, tags("aws", svc, reg));
        }
        r
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn prop_matcher_matches_brute_force(
        r in arb_ranges(),
        s4 in 0u32..=20,
        s6 in 0u32..=20,
        extra in proptest::collection::vec(any::<u32>(), 50),
        extra6 in proptest::collection::vec(any::<u128>(), 50),
    ) {
        let m = Matcher::build_with(&r, s4, s6).unwrap();
        let (b, _) = Matcher::from_bytes(m.as_bytes()).unwrap();
        let mut ips = edges(&r);
        ips.extend(extra.iter().map(|&x| IpAddr::V4(x.into())));
        ips.extend(extra6.iter().map(|&x| IpAddr::V6((x >> 40 | 0x2600u128 << 112).into())));
        ips.extend(extra6.iter().map(|&x| IpAddr::V6(x.into())));
        for ip in ips {
            check_against_brute(&b, &r, ip);
        }
        // Blob round trip through to_ranges keeps every answer.
        let again = Matcher::build(&m.to_ranges()).unwrap();
        prop_assert_eq!(again.to_ranges(), m.to_ranges());
    }

    #[test]
    fn prop_from_bytes_never_panics(body in proptest::collection::vec(any::<u8>(), 0..400), cut in 0usize..2000) {
        let (_, blob) = small_blob();
        // A valid header (resealed) over random bytes, and random cuts of a real blob.
        let mut b = blob[..HEADER.min(blob.len())].to_vec();
        b.extend_from_slice(&body);
        let total = b.len() as u64;
        b[16..24].copy_from_slice(&total.to_le_bytes());
        reseal(&mut b);
        if let Ok((m, _)) = Matcher::from_bytes(&b) {
            let _ = m.lookup("10.1.2.3".parse().unwrap());
        }
        let _ = Matcher::from_bytes(&blob[..cut.min(blob.len())]);
    }
}

/// `tag_sets` of a built matcher are the distinct tag sets a walk over every prefix's
/// entries finds (the real AWS and Azure files: tags shared by many prefixes, prefixes
/// under many tags), each once.
#[test]
fn tag_sets_are_the_entries_distinct_tag_sets() {
    use crate::source::{self, Options};
    let mut r = source::parse(
        include_bytes!("../../../tests/data/aws/ip-ranges-2026-08-22-15-17-05.json"),
        "aws",
        None,
        Options::default(),
    )
    .unwrap();
    r.extend(
        &source::parse(
            include_bytes!("../../../tests/data/azure/ServiceTags_Public.json"),
            "azure",
            None,
            Options::default(),
        )
        .unwrap(),
    );
    let m = Matcher::build(&r).unwrap();
    let walked: std::collections::BTreeSet<Tags<'_>> = (0..m.prefix_count())
        .filter_map(|i| m.prefix_at(i))
        .flat_map(|p| p.entries())
        .collect();
    let table: Vec<Tags<'_>> = m.tag_sets().collect();
    assert_eq!(table.len(), walked.len(), "each tag set once");
    assert_eq!(
        table.into_iter().collect::<std::collections::BTreeSet<_>>(),
        walked
    );
}
