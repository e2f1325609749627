//! The compiled longest-prefix-match matcher and its blob format.
//!
//! [`Matcher::build`] compiles [`Ranges`] into one byte blob; [`Matcher::from_bytes`]
//! loads a blob without copying its tables (only the tag strings, a few KB, are copied
//! once), validating it once, after which every lookup is infallible, allocation-free
//! and cannot read out of bounds. A prefix published several times (AWS lists many
//! prefixes under both `AMAZON` and `EC2`) is one prefix in the matcher;
//! [`Match::entries`] lists every tag set published for it.
//!
//! ```
//! use ipfence_core::{matcher::Matcher, Ranges, Tags};
//! let mut r = Ranges::new();
//! let tags = |service| Tags { provider: "aws", service, region: "us-east-1", extra: "" };
//! r.push("3.5.0.0/16".parse()?, tags("AMAZON"));
//! r.push("3.5.140.0/22".parse()?, tags("AMAZON"));
//! r.push("3.5.140.0/22".parse()?, tags("S3"));
//! let m = Matcher::build(&r)?;
//!
//! let hit = m.lookup("3.5.140.7".parse()?).expect("inside 3.5.140.0/22");
//! assert_eq!(hit.prefix().to_string(), "3.5.140.0/22");
//! let services: Vec<&str> = hit.entries().map(|t| t.service).collect();
//! assert_eq!(services, ["AMAZON", "S3"]);
//! assert!(m.contains("::ffff:3.5.1.1".parse()?)); // IPv4-mapped: looked up as IPv4
//! assert!(!m.contains("8.8.8.8".parse()?));
//!
//! // The blob loads back without a copy and answers the same.
//! let bytes = m.to_bytes();
//! let (m2, used) = Matcher::from_bytes(&bytes)?;
//! assert_eq!(used, bytes.len());
//! assert_eq!(m2.lookup("3.5.9.9".parse()?).map(|h| h.prefix()), "3.5.0.0/16".parse().ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The layout is described in the `format` module source: a header with a magic label,
//! version, lengths and checksum, then flat little-endian tables. The trie is a poptrie
//! (direct-indexed top bits, then 8-bit strides with 256-bit bitmaps and popcount), one
//! for IPv4 (`u32`) and one for IPv6 (`u128`).

mod addr;
mod batch;
mod build;
mod format;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use core::num::NonZeroU32;
use ipnet::IpNet;

pub use batch::LANES;

use addr::{Addr, STRIDE};
use format::{
    prefix_record, u32_at, u64_at, u8_at, widen, Fam, Layout, BASE1, EMPTY, END, END_NODE, E_BASE0,
    E_LRANKS, LEAF, LEAFVEC, NODE, NONE, SOURCE, VRANKS,
};

use crate::{Error, Ranges, SourceInfo, Tags};

/// A compiled longest-prefix-match table over blob bytes `B` (owned `Vec<u8>` or
/// borrowed `&[u8]`).
///
/// Build one with [`Matcher::build`], load one with [`Matcher::from_bytes`] (zero
/// copy) or [`Matcher::from_vec`]. Lookups take `&self`, allocate nothing and never
/// panic.
#[derive(Clone)]
pub struct Matcher<B = Vec<u8>> {
    bytes: B,
    lay: Layout,
}

/// The longest (or, from [`Matcher::matches`], any) published prefix containing an
/// address, with every tag set published for it.
#[derive(Clone, Copy)]
pub struct Match<'a> {
    // Always `Some`: `Option` only spends the references' null niches, so that
    // `Option<Match>` has one niche left, `value`'s zero, which is what a miss already
    // is: a lookup builds its answer without a branch on hit or miss.
    bytes: Option<&'a [u8]>,
    lay: Option<&'a Layout>,
    /// 1 + the prefix index, with [`V6`] set for IPv6 (not a `bool` field, whose
    /// niche the compiler would prefer).
    value: NonZeroU32,
}

/// The bit of [`Match::value`] that says IPv6 (prefix indices are below 2^31).
const V6: u32 = 1 << 31;

impl Matcher<Vec<u8>> {
    /// Compiles every entry of `ranges` (filter first to compile a subset).
    ///
    /// # Errors
    /// [`Error::Limit`] only past the format's limits (2^31 prefixes, 2^32 tag sets or
    /// runs of them, 4 GiB of blob).
    pub fn build(ranges: &Ranges) -> Result<Matcher<Vec<u8>>, Error> {
        Self::from_vec(build::compile(ranges, None, None)?)
    }

    /// Like [`Matcher::build`] with chosen direct-table sizes (tests).
    #[cfg(test)]
    pub(crate) fn build_with(ranges: &Ranges, s4: u32, s6: u32) -> Result<Matcher<Vec<u8>>, Error> {
        Self::from_vec(build::compile(ranges, Some(s4), Some(s6))?)
    }

    /// Validates an owned blob, as written by [`Matcher::to_bytes`].
    ///
    /// # Errors
    /// [`Error::Blob`] for a corrupt, truncated, foreign or hostile blob, and for
    /// bytes left over after it. Never panics for any input.
    pub fn from_vec(bytes: Vec<u8>) -> Result<Matcher<Vec<u8>>, Error> {
        let lay = Layout::parse(&bytes)?;
        if lay.total != bytes.len() {
            return Err(Error::Blob {
                offset: lay.total,
                msg: alloc::format!(
                    "{} bytes after the end of the blob",
                    bytes.len() - lay.total
                ),
            });
        }
        Ok(Matcher { bytes, lay })
    }
}

impl<'a> Matcher<&'a [u8]> {
    /// Loads a blob from the start of `bytes` without copying its tables (the tag
    /// strings, a few KB, are copied once, so reading them is one load), returning the matcher
    /// and the number of bytes the blob takes (anything after it is left alone).
    ///
    /// Every offset, index, length, string and trie pointer is checked here, once, so
    /// later lookups cannot fail or read out of bounds. Never panics for any input.
    ///
    /// # Errors
    /// [`Error::Blob`] with the offset of the problem for a corrupt, truncated, foreign
    /// or hostile blob.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<(Matcher<&'a [u8]>, usize), Error> {
        let lay = Layout::parse(bytes)?;
        let bytes = bytes.get(..lay.total).unwrap_or_default();
        let total = lay.total;
        Ok((Matcher { bytes, lay }, total))
    }
}

/// The `Match::value` of prefix index `idx` (below 2^31 - 1, validated: `idx + 1`
/// fits beside the flag).
fn value_of(v6: bool, idx: u32) -> NonZeroU32 {
    flagged(v6, NonZeroU32::MIN.saturating_add(idx))
}

/// `value` with [`V6`] set for IPv6.
#[inline(always)]
fn flagged(v6: bool, value: NonZeroU32) -> NonZeroU32 {
    value | if v6 { V6 } else { 0 }
}

/// `n` records of `N` bytes from `at` (validated: in bounds; empty if not).
#[inline(always)]
pub(crate) fn table<const N: usize>(b: &[u8], at: usize, n: usize) -> &[[u8; N]] {
    b.get(at..at.wrapping_add(n.wrapping_mul(N)))
        .map_or(&[], |t| t.as_chunks::<N>().0)
}

/// Leaf `i` of a family (validated: in bounds).
#[inline(always)]
fn leaf(b: &[u8], f: &Fam, i: usize) -> u32 {
    if f.narrow_leaves {
        let leaves = table::<2>(b, f.leaves, f.n_leaves);
        leaves
            .get(i)
            .map_or(0, |&v| u32::from(u16::from_le_bytes(v)))
    } else {
        let leaves = table::<4>(b, f.leaves, f.n_leaves);
        leaves.get(i).map_or(0, |&v| u32::from_le_bytes(v))
    }
}

/// The leaf index for slot `c` of a leaf half (a node's from LEAFVEC, or an end node).
#[inline(always)]
fn leaf_index(half: &[u8], c: usize) -> usize {
    let w = c / 64 % 4;
    let upto = (2u64 << (c % 64)).wrapping_sub(1);
    let leafvec = u64_at(half, 8 * w);
    let rank = usize::from(u8_at(half, E_LRANKS + w)) + (leafvec & upto).count_ones() as usize;
    (u32_at(half, E_BASE0) as usize)
        .wrapping_add(rank)
        .wrapping_sub(1)
}

/// Walks one family's trie: the value (0 = no match, else prefix index + 1).
#[inline(always)]
fn find<A: Addr>(b: &[u8], f: &Fam, a: A) -> u32 {
    // Each table as records: one compare per read, against the record count.
    let top = a.top(f.s);
    let d = if f.narrow {
        let direct = table::<2>(b, f.direct, 1 << f.s);
        direct.get(top).map_or(0, |&d| widen(u16::from_le_bytes(d)))
    } else {
        let direct = table::<4>(b, f.direct, 1 << f.s);
        direct.get(top).map_or(0, |&d| u32::from_le_bytes(d))
    };
    if d & LEAF != 0 {
        return d & !LEAF;
    }
    let nodes = table::<NODE>(b, f.nodes, f.n_nodes);
    let mut node = d as usize;
    let mut off = f.s;
    // The bits still to walk, at the top: each node reads the top STRIDE bits and shifts.
    let mut rest = a.skip(f.s);
    // Validation guarantees every walk ends at a leaf before `off` reaches the width.
    while off < A::WIDTH {
        let Some(n) = nodes.get(node) else {
            return 0;
        };
        let c = rest.head();
        rest = rest.next();
        // Slot `c` is bit `c % 64` of word `c / 64` (below 4: `c` has STRIDE = 8 bits).
        let w = c / 64 % 4;
        let bit = 1u64 << (c % 64);
        let vector = u64_at(n, 8 * w);
        // The leaf half that answers, and the slot in it.
        let (half, c) = if vector & bit != 0 {
            let upto = bit | bit.wrapping_sub(1);
            let rank = usize::from(u8_at(n, VRANKS + w)) + (vector & upto).count_ones() as usize;
            let base1 = u32_at(n, BASE1);
            let child = ((base1 & !END) as usize).wrapping_add(rank).wrapping_sub(1);
            if base1 & END == 0 {
                node = child;
                off += STRIDE;
                continue;
            }
            // The last node of this walk: the next 8 bits pick its leaf.
            let ends = table::<END_NODE>(b, f.ends, f.n_ends);
            (ends.get(child).map_or(&[][..], |e| &e[..]), rest.head())
        } else {
            (n.get(LEAFVEC..).unwrap_or_default(), c)
        };
        return leaf(b, f, leaf_index(half, c));
    }
    0
}

impl<B: AsRef<[u8]>> Matcher<B> {
    /// The blob: exactly the bytes [`Matcher::to_bytes`] returns.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.as_ref()
    }

    /// A copy of the blob, loadable with [`Matcher::from_bytes`].
    pub fn to_bytes(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }

    /// The blob's length in bytes: how much [`Matcher::write_to`] needs.
    pub fn write_to_len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Copies the blob to the start of `out`, returning its length.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if `out` is shorter than [`Matcher::write_to_len`].
    pub fn write_to(&self, out: &mut [u8]) -> Result<usize, Error> {
        let b = self.as_bytes();
        let n = out.len();
        match out.get_mut(..b.len()) {
            Some(dst) => {
                dst.copy_from_slice(b);
                Ok(b.len())
            }
            None => Err(Error::BufferTooSmall {
                need: b.len(),
                have: n,
            }),
        }
    }

    /// The match of [`Match::value`] `value`.
    #[inline(always)]
    fn match_of(&self, value: NonZeroU32) -> Match<'_> {
        Match {
            bytes: Some(self.bytes.as_ref()),
            lay: Some(&self.lay),
            value,
        }
    }

    #[inline(always)]
    fn hit(&self, v6: bool, value: u32) -> Option<Match<'_>> {
        // No branch on a miss: `None` is the zero niche of `value`.
        NonZeroU32::new(value).map(|value| self.match_of(flagged(v6, value)))
    }

    /// Whether a published prefix contains `ip`. An IPv4-mapped IPv6 address
    /// (`::ffff:a.b.c.d`) is looked up as IPv4 ([`crate::prefix::canonical`]).
    #[inline]
    pub fn contains(&self, ip: IpAddr) -> bool {
        match crate::prefix::canonical(ip) {
            IpAddr::V4(a) => self.contains_v4(a),
            IpAddr::V6(a) => self.contains_v6(a),
        }
    }

    /// Whether a published IPv4 prefix contains `ip`.
    #[inline]
    pub fn contains_v4(&self, ip: Ipv4Addr) -> bool {
        find(self.bytes.as_ref(), &self.lay.v4, u32::from(ip)) != 0
    }

    /// Whether a published IPv6 prefix contains `ip` (no IPv4-mapped translation).
    #[inline]
    pub fn contains_v6(&self, ip: Ipv6Addr) -> bool {
        find(self.bytes.as_ref(), &self.lay.v6, u128::from(ip)) != 0
    }

    /// The longest published prefix containing `ip`, with its tags. An IPv4-mapped
    /// IPv6 address is looked up as IPv4.
    #[inline]
    pub fn lookup(&self, ip: IpAddr) -> Option<Match<'_>> {
        match crate::prefix::canonical(ip) {
            IpAddr::V4(a) => self.lookup_v4(a),
            IpAddr::V6(a) => self.lookup_v6(a),
        }
    }

    /// The longest published IPv4 prefix containing `ip`.
    #[inline(always)]
    pub fn lookup_v4(&self, ip: Ipv4Addr) -> Option<Match<'_>> {
        self.hit(
            false,
            find(self.bytes.as_ref(), &self.lay.v4, u32::from(ip)),
        )
    }

    /// The longest published IPv6 prefix containing `ip` (no IPv4-mapped translation).
    #[inline(always)]
    pub fn lookup_v6(&self, ip: Ipv6Addr) -> Option<Match<'_>> {
        self.hit(
            true,
            find(self.bytes.as_ref(), &self.lay.v6, u128::from(ip)),
        )
    }

    /// Every published prefix containing `ip`, longest first.
    pub fn matches(&self, ip: IpAddr) -> impl Iterator<Item = Match<'_>> {
        Matches {
            next: self.lookup(ip),
        }
    }

    /// The inputs the matcher was compiled from, in order.
    pub fn sources(&self) -> Vec<SourceInfo> {
        let b = self.as_bytes();
        let l = &self.lay;
        (0..l.n_sources)
            .map(|i| {
                let at = l.sources + SOURCE * i;
                let opt = |at: usize| {
                    let s = u32_at(b, at);
                    (s != NONE).then(|| String::from(string(l, s)))
                };
                SourceInfo {
                    name: String::from(string(l, u32_at(b, at))),
                    format: String::from(string(l, u32_at(b, at + 4))),
                    provider: String::from(string(l, u32_at(b, at + 8))),
                    sync_token: opt(at + 12),
                    create_date: opt(at + 16),
                }
            })
            .collect()
    }

    /// Every entry back with its tags: IPv4 then IPv6, by prefix, then in published
    /// order within a prefix, repeated (prefix, tags) pairs once.
    pub fn to_ranges(&self) -> Ranges {
        let mut r = Ranges::new();
        r.sources = self.sources();
        for m in (0..self.prefix_count()).filter_map(|i| self.prefix_at(i)) {
            let p = m.prefix();
            for t in m.entries() {
                r.push(p, t);
            }
        }
        r
    }

    /// The number of (prefix, tag set) pairs, after removing repeats.
    pub fn entry_count(&self) -> usize {
        self.lay.n_entries
    }

    /// The blob's table of distinct tag sets, in table order. A blob written by
    /// [`Matcher::build`] holds the tag sets of its entries and no others: what a walk
    /// over every prefix's [`Match::entries`] finds, without the walk.
    pub fn tag_sets(&self) -> impl Iterator<Item = Tags<'_>> + '_ {
        let (b, l) = (self.bytes.as_ref(), &self.lay);
        (0..l.n_tags).map(move |t| tag_set(b, l, t))
    }

    /// The number of distinct prefixes, IPv4 and IPv6.
    pub fn prefix_count(&self) -> usize {
        self.lay.v4.n_prefixes + self.lay.v6.n_prefixes
    }

    /// The prefix with [`Match::index`] `index`, or `None` past [`Matcher::prefix_count`].
    pub fn prefix_at(&self, index: usize) -> Option<Match<'_>> {
        let n4 = self.lay.v4.n_prefixes;
        let (v6, idx) = match index.checked_sub(n4) {
            None => (false, index),
            Some(i) if i < self.lay.v6.n_prefixes => (true, i),
            Some(_) => return None,
        };
        Some(self.match_of(value_of(v6, u32::try_from(idx).ok()?)))
    }
}

impl<B: AsRef<[u8]>> fmt::Debug for Matcher<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Matcher")
            .field("bytes", &self.lay.total)
            .field("prefixes_v4", &self.lay.v4.n_prefixes)
            .field("prefixes_v6", &self.lay.v6.n_prefixes)
            .field("entries", &self.lay.n_entries)
            .finish()
    }
}

/// String `sym` of the blob (empty if out of range).
#[inline]
fn string(l: &Layout, sym: u32) -> &str {
    l.strings.get(sym as usize).map_or("", |s| s)
}

/// Tag set `t` of the blob's tag table.
#[inline]
fn tag_set<'a>(b: &'a [u8], l: &'a Layout, t: usize) -> Tags<'a> {
    let at = l.tags.wrapping_add(t.wrapping_mul(16));
    // One bounds check for the record; the four symbols at fixed offsets.
    let rec = b
        .get(at..at.wrapping_add(16))
        .and_then(|r| <&[u8; 16]>::try_from(r).ok())
        .unwrap_or(&[0xff; 16]);
    Tags {
        provider: string(l, u32_at(rec, 0)),
        service: string(l, u32_at(rec, 4)),
        region: string(l, u32_at(rec, 8)),
        extra: string(l, u32_at(rec, 12)),
    }
}

impl<'a> Match<'a> {
    /// The prefix index.
    fn idx(&self) -> u32 {
        (self.value.get() & !V6) - 1
    }

    fn v6(&self) -> bool {
        self.value.get() & V6 != 0
    }

    /// The blob and its layout (always there: see the fields).
    fn parts(&self) -> (&'a [u8], &'a Layout) {
        (self.bytes.unwrap_or_default(), self.lay.unwrap_or(&EMPTY))
    }

    /// The offset of the prefix record and the address size in it.
    fn record(&self) -> (usize, usize) {
        let (_, l) = self.parts();
        let i = self.idx() as usize;
        if self.v6() {
            let r = prefix_record::<u128>();
            (l.v6.prefixes.wrapping_add(r.wrapping_mul(i)), 16)
        } else {
            let r = prefix_record::<u32>();
            (l.v4.prefixes.wrapping_add(r.wrapping_mul(i)), 4)
        }
    }

    /// A dense number for this prefix within its matcher: IPv4 prefixes are
    /// `0..n4` in address order, IPv6 prefixes follow, up to
    /// [`Matcher::prefix_count`]. Keep per-prefix data (say, a result built once) in a
    /// `Vec` indexed by it; [`Matcher::prefix_at`] goes back.
    ///
    /// ```
    /// use ipfence_core::{matcher::Matcher, Ranges, Tags};
    /// let mut r = Ranges::new();
    /// let t = Tags { provider: "text", service: "", region: "", extra: "" };
    /// r.push("10.0.0.0/8".parse()?, t);
    /// r.push("2001:db8::/32".parse()?, t);
    /// let m = Matcher::build(&r)?;
    /// let hit = m.lookup("2001:db8::1".parse()?).expect("inside");
    /// assert_eq!(hit.index(), 1);
    /// assert_eq!(m.prefix_at(1).map(|h| h.prefix()), Some(hit.prefix()));
    /// assert!(m.prefix_at(2).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn index(&self) -> usize {
        let base = if self.v6() {
            self.parts().1.v4.n_prefixes
        } else {
            0
        };
        base + self.idx() as usize
    }

    /// The published prefix.
    #[inline]
    pub fn prefix(&self) -> IpNet {
        let (at, n) = self.record();
        let (b, _) = self.parts();
        let len = u8_at(b, at.wrapping_add(n + 8));
        if self.v6() {
            u128::read(b, at).unwrap_or(0).to_net(len)
        } else {
            u32::read(b, at).unwrap_or(0).to_net(len)
        }
    }

    /// Every tag set published for exactly this prefix, in published order, each once.
    pub fn entries(&self) -> impl Iterator<Item = Tags<'a>> + 'a {
        let (at, n) = self.record();
        let (b, l) = self.parts();
        // Validated: the run exists and its bounds increase within the tag list.
        let run = (u32_at(b, at.wrapping_add(n)) as usize).wrapping_mul(4);
        let run = l.runs.wrapping_add(run);
        let start = u32_at(b, run) as usize;
        let end = u32_at(b, run.wrapping_add(4)) as usize;
        (start..end).map(move |i| {
            let t = u32_at(b, l.tag_list.wrapping_add(i.wrapping_mul(4))) as usize;
            tag_set(b, l, t)
        })
    }

    /// This prefix, then every shorter published prefix containing it: what
    /// [`Matcher::matches`] gives, from a match already found.
    pub fn and_parents(self) -> impl Iterator<Item = Match<'a>> {
        Matches { next: Some(self) }
    }

    /// The next shorter published prefix containing this one.
    fn parent(&self) -> Option<Match<'a>> {
        let (at, n) = self.record();
        let p = u32_at(self.parts().0, at.wrapping_add(n + 4));
        // Validation guarantees parent < idx, so a chain of parents always ends.
        (p != NONE && p < self.idx()).then_some(Match {
            value: value_of(self.v6(), p),
            ..*self
        })
    }
}

impl fmt::Debug for Match<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Match")
            .field("prefix", &self.prefix())
            .field("entries", &self.entries().collect::<Vec<_>>())
            .finish()
    }
}

impl PartialEq for Match<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.prefix() == other.prefix() && self.entries().eq(other.entries())
    }
}

/// The iterator of [`Matcher::matches`].
struct Matches<'a> {
    next: Option<Match<'a>>,
}

impl<'a> Iterator for Matches<'a> {
    type Item = Match<'a>;
    fn next(&mut self) -> Option<Match<'a>> {
        let m = self.next?;
        self.next = m.parent();
        Some(m)
    }
}

#[cfg(test)]
mod tests;
