//! The firewall renderers against brute force, on many random sets: each output is run
//! through a small model of the tool that reads it (nft interval sets refuse overlaps and
//! deleting what is not there; ipset `hash:net` refuses duplicates; pf tables), and the
//! model's sets must hold exactly the addresses put in, counted one by one. Updates are
//! applied to a full load of the old set and must equal a full load of the new one.

use std::collections::{BTreeMap, BTreeSet};

use ipfence_core::{IpNet, PrefixSet};
use ipfence_exporters::{export, Format, Header, Options, Request};

/// xorshift64: a fixed seed, so a failure repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The two small universes: 10.0.0.0/24 and 2001:db8::/120, 256 addresses each.
const V4_BASE: u32 = 0x0a00_0000;
const V6_BASE: u128 = 0x2001_0db8 << 96;

/// A random set and its brute-force membership (one bool per address of each universe).
fn random_set(rng: &mut Rng) -> (PrefixSet, [bool; 512]) {
    let mut set = PrefixSet::new();
    let mut bits = [false; 512];
    for v6 in [false, true] {
        for _ in 0..rng.below(7) {
            let len = rng.below(9) as u8; // host bits: 0..=8
            let off = (rng.below(256) as u32) & !((1u32 << len) - 1);
            let net: IpNet = if v6 {
                format!(
                    "{}/{}",
                    std::net::Ipv6Addr::from(V6_BASE + u128::from(off)),
                    128 - len
                )
            } else {
                format!("{}/{}", std::net::Ipv4Addr::from(V4_BASE + off), 32 - len)
            }
            .parse()
            .unwrap();
            set.insert(net);
            for a in off..off + (1 << len) {
                bits[a as usize + if v6 { 256 } else { 0 }] = true;
            }
        }
    }
    (set, bits)
}

/// The brute-force membership of CIDRs (all inside the two universes).
fn bits_of<'a>(nets: impl Iterator<Item = &'a IpNet>) -> [bool; 512] {
    let mut bits = [false; 512];
    for n in nets {
        let (first, last, shift) = match n {
            IpNet::V4(n) => (
                u128::from(u32::from(n.network()) - V4_BASE),
                u128::from(u32::from(n.broadcast()) - V4_BASE),
                0,
            ),
            IpNet::V6(n) => (
                u128::from(n.network()) - V6_BASE,
                u128::from(n.broadcast()) - V6_BASE,
                256,
            ),
        };
        assert!(last < 256, "{n} is outside the universe");
        for a in first..=last {
            bits[a as usize + shift] = true;
        }
    }
    bits
}

type Sets = BTreeMap<String, BTreeSet<IpNet>>;

fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

fn family_ok(set: &str, n: &IpNet) -> bool {
    let v6 = set.contains("v6");
    assert!(set.contains("v4") || v6, "set {set} names no family");
    matches!(n, IpNet::V6(_)) == v6
}

/// A model of `nft -f`: interval sets (no auto-merge) refuse an element overlapping
/// another and the deletion of an element that is not there, as nft(8) does.
fn nft(state: &mut Sets, text: &str) {
    let mut target: Option<(String, bool)> = None; // (set, adding)
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["table", "inet", _] | ["delete", "table", "inet", _] => state.clear(),
            ["table", "inet", _, "{"] | ["chain", ..] | ["type", ..] | ["flags", "interval"] => {}
            ["set", s, "{"] => {
                state.insert(s.to_string(), BTreeSet::new());
                target = Some((s.to_string(), true));
            }
            ["elements", "=", "{"] => {}
            ["flush", "set", "inet", _, s] => {
                state.get_mut(*s).expect("flush of an existing set").clear();
            }
            [verb @ ("add" | "delete"), "element", "inet", _, s, "{"] => {
                assert!(
                    state.contains_key(*s),
                    "{verb} element in a missing set {s}"
                );
                target = Some((s.to_string(), *verb == "add"));
            }
            ["}"] => {}
            [elem] if elem.ends_with(',') => {
                let n: IpNet = elem.trim_end_matches(',').parse().unwrap();
                let (s, adding) = target.as_ref().expect("an element inside a block");
                assert!(family_ok(s, &n), "{n} in {s}");
                let set = state.get_mut(s).unwrap();
                if *adding {
                    assert!(
                        !set.iter().any(|e| overlaps(e, &n)),
                        "nft: {n} overlaps an element of {s}"
                    );
                    set.insert(n);
                } else {
                    assert!(set.remove(&n), "nft: delete of {n}, not in {s}");
                }
            }
            _ if line.contains("saddr @") || line.contains("dport") || line == "}" => {}
            _ => panic!("nft model: unexpected line {line:?}"),
        }
    }
}

/// A model of `ipset restore`: hash:net refuses a duplicate add and the deletion of a
/// missing element unless `-exist`.
fn ipset(state: &mut Sets, text: &str) {
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let w: Vec<&str> = line.split_whitespace().collect();
        let exist = w.last() == Some(&"-exist");
        match w.as_slice() {
            ["create", s, "hash:net", ..] => {
                if state.contains_key(*s) {
                    assert!(exist, "create of an existing set {s} without -exist");
                } else {
                    state.insert(s.to_string(), BTreeSet::new());
                }
            }
            ["flush", s] => state.get_mut(*s).unwrap().clear(),
            ["add", s, n, ..] | ["del", s, n, ..] => {
                let n: IpNet = n.parse().unwrap();
                assert!(family_ok(s, &n), "{n} in {s}");
                let set = state.get_mut(*s).expect("an existing set");
                let changed = if w[0] == "add" {
                    set.insert(n)
                } else {
                    set.remove(&n)
                };
                assert!(changed || exist, "ipset: {line} fails without -exist");
            }
            ["swap", a, b] => {
                let x = state.remove(*a).unwrap();
                let y = state.insert(b.to_string(), x).unwrap();
                state.insert(a.to_string(), y);
            }
            ["destroy", s] => {
                state.remove(*s).unwrap();
            }
            _ => panic!("ipset model: unexpected line {line:?}"),
        }
    }
}

/// A model of pf: a `table <T> persist { ... }` block, a `-T replace -f` file, or
/// `pfctl -t T -T add|delete` commands. The table holds both families.
fn pf(state: &mut BTreeSet<IpNet>, text: &str, style: &str) {
    let mut in_block = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line == "set -e" {
            continue;
        }
        if let Some(rest) = line.strip_prefix("pfctl -t ipfence -T ") {
            let (verb, nets) = rest.split_once(' ').unwrap();
            for n in nets.split(' ') {
                let n: IpNet = n.parse().unwrap();
                match verb {
                    "add" => assert!(state.insert(n), "pfctl add {n}: already there"),
                    "delete" => assert!(state.remove(&n), "pfctl delete {n}: not there"),
                    _ => panic!("pfctl -T {verb}"),
                }
            }
        } else if line == "table <ipfence> persist {" {
            state.clear();
            in_block = true;
        } else if line == "table <ipfence> persist" {
            state.clear();
        } else if line == "}" {
            in_block = false;
        } else {
            assert!(in_block || style == "table", "pf: stray line {line:?}");
            let n: IpNet = line.trim_end_matches(',').parse().unwrap();
            assert!(state.insert(n), "pf: {n} twice");
        }
    }
}

fn render(format: Format, style: &str, set: &PrefixSet, old: Option<&PrefixSet>) -> String {
    let options = Options {
        style: Some(style.into()),
        max_entries: Some(usize::MAX),
        ..Options::default()
    };
    let req = Request {
        set,
        old,
        header: Header::default(),
        options: &options,
    };
    export(format, &req)
        .unwrap_or_else(|e| panic!("{format} {style}: {e}"))
        .text
}

fn union(sets: &Sets, names: &[&str]) -> BTreeSet<IpNet> {
    names
        .iter()
        .flat_map(|n| sets.get(*n).into_iter().flatten().copied())
        .collect()
}

/// The loaded contents must be the set's minimal cover, CIDR for CIDR (so the kernel
/// holds as few elements as possible), and hold exactly its addresses.
fn check(what: &str, got: &BTreeSet<IpNet>, set: &PrefixSet, bits: &[bool; 512]) {
    let cover: BTreeSet<IpNet> = set.cidrs().collect();
    assert_eq!(got, &cover, "{what}: not the minimal cover");
    assert_eq!(&bits_of(got.iter()), bits, "{what}: wrong addresses");
}

#[test]
fn loaded_outputs_hold_exactly_the_set_and_updates_reach_the_new_set() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for round in 0..400 {
        let (old, old_bits) = random_set(&mut rng);
        let (new, new_bits) = random_set(&mut rng);
        let at = |s: &str| {
            format!(
                "round {round}: {s} ({:?} -> {:?})",
                old.cidrs().collect::<Vec<_>>(),
                new.cidrs().collect::<Vec<_>>()
            )
        };
        let nft_names = ["ipfence_v4", "ipfence_v6"];
        let ipset_names = ["ipfence-v4", "ipfence-v6"];

        // nftables: full, then the update, the replace style, and sets inside a table.
        let mut loaded = Sets::new();
        nft(&mut loaded, &render(Format::Nftables, "full", &old, None));
        check(
            &at("nft full old"),
            &union(&loaded, &nft_names),
            &old,
            &old_bits,
        );
        let mut updated = loaded.clone();
        nft(
            &mut updated,
            &render(Format::Nftables, "full", &new, Some(&old)),
        );
        check(
            &at("nft update"),
            &union(&updated, &nft_names),
            &new,
            &new_bits,
        );
        let mut replaced = loaded.clone();
        nft(
            &mut replaced,
            &render(Format::Nftables, "replace", &new, None),
        );
        check(
            &at("nft replace"),
            &union(&replaced, &nft_names),
            &new,
            &new_bits,
        );
        let mut fresh = Sets::new();
        nft(&mut fresh, &render(Format::Nftables, "sets", &new, None));
        check(&at("nft sets"), &union(&fresh, &nft_names), &new, &new_bits);

        // ipset: replace (default) and create, then the update on top.
        let mut loaded = Sets::new();
        ipset(&mut loaded, &render(Format::Ipset, "create", &old, None));
        check(
            &at("ipset create old"),
            &union(&loaded, &ipset_names),
            &old,
            &old_bits,
        );
        let mut updated = loaded.clone();
        ipset(
            &mut updated,
            &render(Format::Ipset, "replace", &new, Some(&old)),
        );
        check(
            &at("ipset update"),
            &union(&updated, &ipset_names),
            &new,
            &new_bits,
        );
        let mut replaced = loaded.clone();
        ipset(&mut replaced, &render(Format::Ipset, "replace", &new, None));
        check(
            &at("ipset replace"),
            &union(&replaced, &ipset_names),
            &new,
            &new_bits,
        );
        assert_eq!(
            replaced.len(),
            2,
            "{}: the temporary sets are destroyed",
            at("")
        );
        let mut first = Sets::new();
        ipset(&mut first, &render(Format::Ipset, "replace", &new, None));
        check(
            &at("ipset replace, first load"),
            &union(&first, &ipset_names),
            &new,
            &new_bits,
        );

        // pf: conf and table files, and the pfctl update commands.
        for style in ["conf", "table"] {
            let mut t = BTreeSet::new();
            pf(&mut t, &render(Format::Pf, style, &old, None), style);
            check(&at(&format!("pf {style} old")), &t, &old, &old_bits);
            pf(&mut t, &render(Format::Pf, style, &new, Some(&old)), style);
            check(&at("pf update"), &t, &new, &new_bits);
        }

        // iptables plain: one -s rule per CIDR of the family.
        for (fam, v6) in [(new.ipv4(), false), (new.ipv6(), true)] {
            if fam.is_empty() {
                continue;
            }
            let mut fam_bits = new_bits;
            let other = if v6 { 0..256 } else { 256..512 };
            fam_bits[other].fill(false);
            let text = render(Format::Iptables, "plain", &fam, None);
            let rules: BTreeSet<IpNet> = text
                .lines()
                .filter_map(|l| l.strip_prefix("-A ipfence -s "))
                .map(|r| r.split(' ').next().unwrap().parse().unwrap())
                .collect();
            assert_eq!(text.matches("-A ipfence -s ").count(), rules.len());
            check(&at("iptables plain"), &rules, &fam, &fam_bits);
        }
    }
}
