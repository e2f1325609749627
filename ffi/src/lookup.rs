//! What a lookup hands to C, built once per matcher so that answering is a few stores.
//!
//! The core's [`Match`] resolves its tag strings from the blob on every call (offsets,
//! bounds and UTF-8 checks for four strings: most of a lookup's cost). C wants the same
//! answer for the same prefix every time, so [`Index::new`] resolves every prefix once:
//! its tag strings are copied, NUL-terminated, into an arena owned by the index, and a
//! table indexed by [`Match::index`] holds each prefix's network address, length and
//! record (number of tag sets, first tag set; records are shared between prefixes). A
//! lookup is then the core's trie walk, one table read and a copy.
//!
//! Self-contained (only `ipfence-core` and std): `bench/native.rs` includes this file to
//! measure the same work in native Rust, without the C boundary.

use hashbrown::HashMap;
use std::ffi::{c_char, CStr, CString};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipfence_core::matcher::{Match, Matcher};
use ipfence_core::{IpNet, Tags};

/// A string inside a matcher or diff: `len` bytes of UTF-8 at `data`. `data` is never
/// NULL; an empty tag (not published by the source) has `len == 0`.
///
/// Strings from a matcher (`ipfence_matcher_lookup`, `_lookup_batch`, `_match_tags`) are
/// also NUL-terminated (`data[len] == 0`), so `data` can be used as a C string. Strings
/// from a diff are **not**: print them with `printf("%.*s", (int)s.len, s.data)`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ipfence_str {
    /// The first byte.
    pub data: *const c_char,
    /// The length in bytes (not counting a terminating NUL).
    pub len: usize,
}

impl ipfence_str {
    /// A view of `s`, which is not NUL-terminated (diff strings).
    pub(crate) fn of(s: &str) -> Self {
        if s.is_empty() {
            return Self::empty();
        }
        ipfence_str {
            data: s.as_ptr().cast(),
            len: s.len(),
        }
    }

    /// A view of an arena string, NUL-terminated.
    fn of_c(c: &CStr) -> Self {
        ipfence_str {
            data: c.as_ptr(),
            len: c.to_bytes().len(),
        }
    }

    /// The empty string, as a real NUL-terminated pointer.
    fn empty() -> Self {
        ipfence_str {
            data: c"".as_ptr(),
            len: 0,
        }
    }
}

/// One published tag set of a prefix. The strings live as long as the matcher.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ipfence_tags {
    /// Who publishes it: `aws`, `google`, `azure`, `github`, ..., the name given to a
    /// CIDR list, or `text` for an unnamed one.
    pub provider: ipfence_str,
    /// `AMAZON`, `EC2`, `Google Cloud`, `hooks`, `googlebot`, ... (empty when the
    /// provider publishes none).
    pub service: ipfence_str,
    /// `us-east-1`, `us-central1`, `eastus`, ... (empty when not published).
    pub region: ipfence_str,
    /// The provider's extra field (empty when not published): AWS network border group,
    /// Atlassian direction, Azure system service.
    pub extra: ipfence_str,
}

impl ipfence_tags {
    /// Four empty strings.
    pub(crate) fn empty() -> Self {
        let e = ipfence_str::empty();
        ipfence_tags {
            provider: e,
            service: e,
            region: e,
            extra: e,
        }
    }
}

/// The longest published prefix containing an address, as filled by
/// `ipfence_matcher_lookup`. Caller-owned; holds pointers into the matcher.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ipfence_match {
    /// The prefix's network address in network byte order: the first 4 bytes for IPv4
    /// (the rest zero), all 16 for IPv6.
    pub addr: [u8; 16],
    /// 4 or 6.
    pub family: u8,
    /// The prefix length (0-32 or 0-128).
    pub prefix_len: u8,
    /// How many tag sets are published for this prefix (at least 1): AWS lists many
    /// prefixes under both `AMAZON` and `EC2`. Read them with `ipfence_matcher_match_tags`.
    pub entry_count: u32,
    /// The first tag set published for the prefix.
    pub tags: ipfence_tags,
}

/// What every lookup landing on one prefix delivers besides the prefix itself.
#[derive(Clone, Copy)]
struct Rec {
    entry_count: u32,
    tags: ipfence_tags,
}

/// One prefix: what `ipfence_match` says besides the record.
#[derive(Clone, Copy)]
struct Prefix {
    addr: [u8; 16],
    family: u8,
    prefix_len: u8,
    rec: u32,
}

/// The lookup index of one matcher: the answer for every published prefix.
///
/// Holds pointers into its own string arena; they stay valid as long as the index (the
/// arena's `CString`s are heap buffers that never move or change).
pub(crate) struct Index {
    /// By [`Match::index`]: IPv4 prefixes, then IPv6.
    prefixes: Vec<Prefix>,
    recs: Vec<Rec>,
    /// Every tag string of the matcher, NUL-terminated.
    strings: HashMap<String, CString>,
}

impl Index {
    /// Resolves every prefix of `m` once. Allocates 24 bytes per prefix and 72 per
    /// distinct (count, first tag set) pair, plus the strings.
    pub(crate) fn new<B: AsRef<[u8]>>(m: &Matcher<B>) -> Index {
        let mut index = Index {
            prefixes: Vec::with_capacity(m.prefix_count()),
            recs: Vec::new(),
            strings: HashMap::new(),
        };
        // The blob stores each distinct string once: its address identifies it, which
        // hashes faster than its text (this loop is most of a matcher's load time).
        let mut by_ptr: HashMap<(usize, usize), ipfence_str> = HashMap::new();
        let mut intern = |strings: &mut HashMap<String, CString>, s: &str| {
            *by_ptr
                .entry((s.as_ptr() as usize, s.len()))
                .or_insert_with(|| {
                    let c = strings.entry(s.to_owned()).or_insert_with(|| {
                        // A published tag cannot hold a NUL (the parsers refuse control
                        // characters); one that did would be cut there, as C would read it.
                        CString::new(s).unwrap_or_else(|e| {
                            let n = e.nul_position();
                            CString::new(s.get(..n).unwrap_or_default()).unwrap_or_default()
                        })
                    });
                    ipfence_str::of_c(c)
                })
        };
        let mut recs: HashMap<(u32, [usize; 4]), u32> = HashMap::new();
        // `prefix_at(i).index() == i`: the table is in `Match::index` order.
        for hit in (0..m.prefix_count()).map_while(|i| m.prefix_at(i)) {
            // Every tag set goes into the arena (`ipfence_matcher_match_tags` reads them
            // all); the first is the record's.
            let (mut first, mut count) = (None, 0u32);
            for t in hit.entries() {
                let strings = &mut index.strings;
                let tags = ipfence_tags {
                    provider: intern(strings, t.provider),
                    service: intern(strings, t.service),
                    region: intern(strings, t.region),
                    extra: intern(strings, t.extra),
                };
                first.get_or_insert(tags);
                count = count.saturating_add(1);
            }
            let tags = first.unwrap_or_else(ipfence_tags::empty);
            let key = (
                count,
                [tags.provider, tags.service, tags.region, tags.extra].map(|s| s.data as usize),
            );
            let n = u32::try_from(index.recs.len()).unwrap_or(u32::MAX);
            let id = *recs.entry(key).or_insert_with(|| {
                index.recs.push(Rec {
                    entry_count: count,
                    tags,
                });
                n
            });
            let (addr, family, prefix_len) = net_parts(hit.prefix());
            index.prefixes.push(Prefix {
                addr,
                family,
                prefix_len,
                rec: id,
            });
        }
        index
    }

    /// The heap bytes the index holds (tables, records, strings), roughly. For the tests
    /// and `bench/native.rs`.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn heap_size(&self) -> usize {
        use std::mem::size_of;
        self.prefixes.capacity() * size_of::<Prefix>()
            + self.recs.capacity() * size_of::<Rec>()
            + self
                .strings
                .iter()
                .map(|(k, v)| k.capacity() + v.as_bytes_with_nul().len() + 64)
                .sum::<usize>()
    }

    /// The arena's copy of a tag string of this matcher.
    pub(crate) fn str(&self, s: &str) -> ipfence_str {
        match self.strings.get(s) {
            Some(c) => ipfence_str::of_c(c),
            // Every string of the matcher is in the arena; if one were not, C gets an
            // empty string rather than a pointer that is not NUL-terminated.
            None => ipfence_str::empty(),
        }
    }

    /// A tag set with the arena's strings.
    pub(crate) fn tags(&self, t: &Tags<'_>) -> ipfence_tags {
        ipfence_tags {
            provider: self.str(t.provider),
            service: self.str(t.service),
            region: self.str(t.region),
            extra: self.str(t.extra),
        }
    }

    /// The record of a match, the slow way (the core resolves the strings).
    fn resolve(&self, hit: &Match<'_>) -> Rec {
        let mut entries = hit.entries();
        let count = entries.size_hint().0;
        let tags = entries
            .next()
            .map_or_else(ipfence_tags::empty, |t| self.tags(&t));
        Rec {
            entry_count: u32::try_from(count).unwrap_or(u32::MAX),
            tags,
        }
    }

    /// What `ipfence_matcher_lookup` writes for a match of this matcher (`hit` must come
    /// from the matcher the index was built from: the table is by [`Match::index`]).
    #[inline(always)]
    pub(crate) fn fill(&self, hit: &Match<'_>) -> ipfence_match {
        let p = self.prefixes.get(hit.index());
        match p.and_then(|p| Some((p, self.recs.get(p.rec as usize)?))) {
            Some((p, rec)) => ipfence_match {
                addr: p.addr,
                family: p.family,
                prefix_len: p.prefix_len,
                entry_count: rec.entry_count,
                tags: rec.tags,
            },
            None => self.fill_cold(hit),
        }
    }

    /// Every prefix of the matcher is in the table; this only runs if one were not (a
    /// match from another matcher, a bug): the slow way, still the right answer.
    #[cold]
    #[inline(never)]
    fn fill_cold(&self, hit: &Match<'_>) -> ipfence_match {
        let rec = self.resolve(hit);
        let (addr, family, prefix_len) = net_parts(hit.prefix());
        ipfence_match {
            addr,
            family,
            prefix_len,
            entry_count: rec.entry_count,
            tags: rec.tags,
        }
    }
}

/// A prefix as `ipfence_match` gives it: network address (IPv4 in the first 4 bytes,
/// the rest zero), family (4 or 6), length.
pub(crate) fn net_parts(net: IpNet) -> ([u8; 16], u8, u8) {
    match net {
        IpNet::V4(p) => {
            let [a, b, c, d] = p.network().octets();
            let addr = [a, b, c, d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            (addr, 4, p.prefix_len())
        }
        IpNet::V6(p) => (p.network().octets(), 6, p.prefix_len()),
    }
}

/// An IPv4 lookup of 4 network-order bytes.
#[inline(always)]
pub(crate) fn lookup_v4<'a, B: AsRef<[u8]>>(m: &'a Matcher<B>, a: [u8; 4]) -> Option<Match<'a>> {
    m.lookup_v4(Ipv4Addr::from(a))
}

/// `contains` of 16 network-order bytes, IPv4-mapped addresses as IPv4.
#[inline(always)]
pub(crate) fn contains_v6<B: AsRef<[u8]>>(m: &Matcher<B>, a: [u8; 16]) -> bool {
    match ipfence_core::prefix::canonical(IpAddr::V6(Ipv6Addr::from(a))) {
        IpAddr::V4(a) => m.contains_v4(a),
        IpAddr::V6(a) => m.contains_v6(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn aws() -> Matcher<Vec<u8>> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/data/aws/ip-ranges-2026-08-22-15-17-05.json"
        );
        let bytes = std::fs::read(path).unwrap();
        let ranges = ipfence_core::source::parse(&bytes, path, None, Default::default()).unwrap();
        Matcher::build(&ranges).unwrap()
    }

    /// The string C reads: `len` bytes, then a NUL.
    fn c_str(s: ipfence_str) -> &'static str {
        // SAFETY: `data` is never NULL and, for matcher strings, NUL-terminated and alive
        // as long as the index (every test keeps it until the end).
        let c = unsafe { CStr::from_ptr(s.data) }.to_str().unwrap();
        assert_eq!(c.len(), s.len, "NUL at data[len]");
        c
    }

    /// What the core's API says C should get for a match.
    fn check(x: &ipfence_match, hit: &Match<'_>) {
        let p = hit.prefix();
        match p.network() {
            IpAddr::V4(a) => {
                assert_eq!(x.family, 4);
                assert_eq!(x.addr[..4], a.octets());
                assert_eq!(x.addr[4..], [0; 12]);
            }
            IpAddr::V6(a) => {
                assert_eq!(x.family, 6);
                assert_eq!(x.addr, a.octets());
            }
        }
        assert_eq!(x.prefix_len, p.prefix_len());
        assert_eq!(x.entry_count as usize, hit.entries().count());
        let first = hit.entries().next().unwrap();
        assert_eq!(c_str(x.tags.provider), first.provider);
        assert_eq!(c_str(x.tags.service), first.service);
        assert_eq!(c_str(x.tags.region), first.region);
        assert_eq!(c_str(x.tags.extra), first.extra);
    }

    #[test]
    fn every_prefix_is_indexed_and_answers_as_the_core() {
        let m = aws();
        let index = Index::new(&m);
        assert_eq!(index.prefixes.len(), m.prefix_count());
        for e in &m.to_ranges().entries {
            let hit = m
                .matches(e.prefix.network())
                .find(|h| h.prefix() == e.prefix)
                .unwrap();
            check(&index.fill(&hit), &hit);
        }
        assert!(m.prefix_count() > 10_000, "{} prefixes", m.prefix_count());
    }

    #[test]
    fn the_index_of_all_of_aws_is_small() {
        let m = aws();
        let index = Index::new(&m);
        let size = index.heap_size();
        // What the header says: about 350 KB for the whole AWS file.
        assert!(
            size < 400_000,
            "{size} bytes for {} prefixes",
            m.prefix_count()
        );
        assert!(
            index.recs.len() < m.prefix_count() / 4,
            "{} records",
            index.recs.len()
        );
    }

    #[test]
    fn lookups_of_many_addresses_answer_as_the_core() {
        let m = aws();
        let index = Index::new(&m);
        // A deterministic spread over both families (xorshift), plus IPv4-mapped forms.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let (mut hits, mut misses) = (0, 0);
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Mostly inside AWS's busy ranges (3.x, 52.x, 2600:1f00::/24), some anywhere.
            let v4 = match x % 4 {
                0 => 0x0300_0000 | (x >> 40) as u32 & 0x00ff_ffff,
                1 => 0x3400_0000 | (x >> 40) as u32 & 0x00ff_ffff,
                _ => (x >> 32) as u32,
            };
            let v6 = (0x2600_1f00u128 << 96) | (u128::from(x) << 32 & ((1u128 << 104) - 1));
            let mapped = Ipv4Addr::from(v4).to_ipv6_mapped().octets();
            for (hit, via) in [
                (lookup_v4(&m, v4.to_be_bytes()), "v4"),
                (m.lookup_v6(Ipv6Addr::from(v6)), "v6"),
                (m.lookup(IpAddr::V6(Ipv6Addr::from(mapped))), "mapped"),
            ] {
                match hit {
                    Some(h) => {
                        check(&index.fill(&h), &h);
                        hits += 1;
                    }
                    None => misses += 1,
                }
                let _ = via;
            }
        }
        assert!(
            hits > 100_000 && misses > 10_000,
            "{hits} hits, {misses} misses"
        );
        assert!(contains_v6(
            &m,
            Ipv4Addr::new(3, 5, 140, 7).to_ipv6_mapped().octets()
        ));
    }

    #[test]
    fn cidr_text_has_empty_nul_terminated_tags() {
        let ranges = ipfence_core::source::parse(
            b"10.0.0.0/8\n10.1.0.0/16\n2001:db8::/32\n",
            "list.txt",
            None,
            Default::default(),
        )
        .unwrap();
        let m = Matcher::build(&ranges).unwrap();
        let index = Index::new(&m);
        let hit = m.lookup_v4(Ipv4Addr::new(10, 1, 2, 3)).unwrap();
        let x = index.fill(&hit);
        check(&x, &hit);
        assert_eq!((x.prefix_len, x.entry_count), (16, 1));
        assert_eq!(c_str(x.tags.provider), "text");
        assert_eq!(c_str(x.tags.service), "");
        assert!(m.lookup_v4(Ipv4Addr::new(11, 0, 0, 0)).is_none());
    }

    #[test]
    fn a_match_past_the_table_takes_the_slow_path() {
        let text = |t: &str| {
            let r = ipfence_core::source::parse(t.as_bytes(), "t", None, Default::default());
            Matcher::build(&r.unwrap()).unwrap()
        };
        let (small, big) = (text("10.0.0.0/8\n"), aws());
        let index = Index::new(&small);
        // Cannot happen through the C API (matches come from the index's own matcher);
        // an index past the table is still answered in bounds, the slow way, with the
        // strings this index has (none of AWS's: empty, never a dangling pointer).
        let hit = big.prefix_at(9000).unwrap();
        let x = index.fill(&hit);
        assert_eq!(x.prefix_len, hit.prefix().prefix_len());
        assert_eq!(x.entry_count as usize, hit.entries().count());
        assert_eq!(c_str(x.tags.service), "");
    }
}
