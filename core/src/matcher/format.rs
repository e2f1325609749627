//! The blob format: layout, checksum and the one-time validation that makes lookups
//! infallible.
//!
//! ```text
//! offset  size  field
//!      0     8  magic b"IPFENCE\0"
//!      8     4  format version (u32), VERSION
//!     12     1  s4: bits of the IPv4 direct table (0..=24)
//!     13     1  s6: bits of the IPv6 direct table (0..=24)
//!     14     2  reserved, zero
//!     16     8  total length of the blob in bytes (u64), header included
//!     24     8  checksum (u64): FNV-1a 64 in four interleaved lanes over the blob as
//!               64-bit little-endian words, this field read as zero (see `checksum`)
//!     32   128  16 sections, each (offset u32, length u32), in this order, each at the
//!               next multiple of 64 bytes after the one before (zero padding between):
//!               STRING_OFFSETS  u32 * (n + 1): string i is data[off[i]..off[i+1]]
//!               STRING_DATA     UTF-8
//!               SOURCES         (name, format, provider, sync_token, create_date) u32
//!                               symbols, NONE (u32::MAX) for an absent optional field
//!               TAGS            (provider, service, region, extra) u32 symbols
//!               RUNS            u32 * (n + 1), increasing from 0 to the TAG_LIST
//!                               length: run r is TAG_LIST[runs[r]..runs[r + 1]]
//!               TAG_LIST        u32 indices into TAGS
//!               then for IPv4 and again for IPv6:
//!               PREFIXES        addr (4 or 16 bytes), run u32 (its tag sets), parent
//!                               u32 (NONE for a root), len u8; sorted by (addr, len),
//!                               each prefix once
//!               DIRECT          u32 * 2^s: LEAF | value, or a node index; or, when every
//!                               entry fits, u16 * 2^s with the flag in bit 15 (the
//!                               section's length tells which)
//!               NODES           80 bytes: vector u64 * 4, then the leaf half: leafvec
//!                               u64 * 4, lranks u8 * 4, base0 u32; then vranks u8 * 4,
//!                               base1 u32
//!               END_NODES       40 bytes, nodes without children: a leaf half alone
//!               LEAVES          values: u16 when the family has at most 65535
//!                               prefixes, else u32
//! ```
//!
//! Every integer is little-endian and read with `from_le_bytes`, so a blob has no
//! alignment needs. A *value* is 0 for "no match" or 1 + an index into PREFIXES.
//!
//! The trie is a poptrie (Asai and Ohara, "Poptrie: A Compressed Trie with Population
//! Count for Fast and Scalable Software IP Routing Table Lookup", SIGCOMM 2015): the top
//! `s` bits index DIRECT; each node then consumes 8 bits `v` (256 slots: slot `v` is bit
//! `v % 64` of word `v / 64` of a bitmap). If bit `v` of `vector` is set the walk goes on
//! to child `base1 + rank(vector, v) - 1`, otherwise the answer is leaf
//! `base0 + rank(leafvec, v) - 1`, where `rank(bits, v)` counts the set bits `0..=v` and
//! `leafvec` marks where a run of equal leaves starts. `vranks` and `lranks` hold each
//! word's count of set bits in the words before it, so a rank is one stored count plus
//! one popcount. A node's children are all in NODES or, when none of them has children
//! (base1 has bit 31, END, set), all in END_NODES: there the next 8 bits pick a leaf
//! the same way. Most nodes of a real list are such ends (below a 16-bit direct table,
//! every IPv4 node at bit 24), and half the size of a full one.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::addr::{Addr, SLOTS, STRIDE};
use crate::Error;

/// The label every blob starts with.
pub(crate) const MAGIC: &[u8; 8] = b"IPFENCE\0";
/// Bumped on any change of the layout or its meaning.
pub(crate) const VERSION: u32 = 5;
/// Bytes per SOURCES record.
pub(crate) const SOURCE: usize = 20;
/// Fixed header size: 32 bytes of fields plus the section table.
pub(crate) const HEADER: usize = 32 + 8 * SECTIONS;
/// The number of sections.
pub(crate) const SECTIONS: usize = 16;
/// Every section starts at a multiple of this many bytes from the start of the blob,
/// so that (in a blob loaded at such an address) no node read straddles a cache line.
pub(crate) const ALIGN: usize = 64;
/// Marks a DIRECT entry that is a value, not a node index.
pub(crate) const LEAF: u32 = 1 << 31;
/// An absent symbol or parent.
pub(crate) const NONE: u32 = u32::MAX;
/// Bytes per node.
pub(crate) const NODE: usize = 80;
/// Where in a node: the leaf half (the leafvec words, lranks bytes and base0), the
/// vranks bytes, base1.
pub(crate) const LEAFVEC: usize = 32;
pub(crate) const LRANKS: usize = LEAFVEC + E_LRANKS;
pub(crate) const BASE0: usize = LEAFVEC + E_BASE0;
pub(crate) const VRANKS: usize = 72;
pub(crate) const BASE1: usize = 76;
/// Bytes per leaf half, which is all an end node (a node without children) has, and
/// where in one: lranks, base0.
pub(crate) const END_NODE: usize = 40;
pub(crate) const E_LRANKS: usize = 32;
pub(crate) const E_BASE0: usize = 36;
/// Marks a node's base1 whose children are end nodes.
pub(crate) const END: u32 = 1 << 31;
/// The most prefixes a family can have for u16 LEAVES.
pub(crate) const NARROW_LEAVES: usize = u16::MAX as usize;

/// One bit per slot of a node, slot `c` at bit `c % 64` of word `c / 64`.
pub(crate) type Bits = [u64; SLOTS / 64];

/// Whether slot `c`'s bit is set.
pub(crate) fn has(bits: &Bits, c: usize) -> bool {
    bits.get(c / 64)
        .is_some_and(|w| w & (1u64 << (c % 64)) != 0)
}

/// The stored ranks of a node bitmap: the set bits in the words before each word.
pub(crate) fn ranks(bits: &Bits) -> [u8; 4] {
    let mut out = [0u8; 4];
    let mut sum = 0u32;
    for (r, w) in out.iter_mut().zip(bits) {
        // At most 3 * 64 = 192 before the last word.
        *r = u8::try_from(sum).unwrap_or(u8::MAX);
        sum += w.count_ones();
    }
    out
}

/// A node bitmap read back.
fn bits_at(b: &[u8], at: usize) -> Bits {
    [0, 1, 2, 3].map(|w| u64_at(b, at + 8 * w))
}

/// A narrow (u16) DIRECT entry as the u32 one: the flag moves from bit 15 to bit 31.
#[inline(always)]
pub(crate) fn widen(e: u16) -> u32 {
    let e = u32::from(e);
    (e & 0x7fff) | ((e & 0x8000) << 16)
}

/// The largest direct table: 2^24 entries.
pub(crate) const MAX_DIRECT_BITS: u32 = 24;

const SECTION_NAMES: [&str; SECTIONS] = [
    "string offsets",
    "string data",
    "source table",
    "tag table",
    "run table",
    "tag list",
    "IPv4 prefix table",
    "IPv4 direct table",
    "IPv4 node table",
    "IPv4 end node table",
    "IPv4 leaf table",
    "IPv6 prefix table",
    "IPv6 direct table",
    "IPv6 node table",
    "IPv6 end node table",
    "IPv6 leaf table",
];

/// Offsets of one family's tables inside the blob, in bytes, with record counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Fam {
    pub(crate) s: u32,
    pub(crate) prefixes: usize,
    pub(crate) n_prefixes: usize,
    pub(crate) direct: usize,
    /// Whether DIRECT holds u16 entries.
    pub(crate) narrow: bool,
    pub(crate) nodes: usize,
    pub(crate) n_nodes: usize,
    pub(crate) ends: usize,
    pub(crate) n_ends: usize,
    pub(crate) leaves: usize,
    pub(crate) n_leaves: usize,
    /// Whether LEAVES holds u16 values (at most [`NARROW_LEAVES`] prefixes).
    pub(crate) narrow_leaves: bool,
}

/// Where everything is, checked once by [`Layout::parse`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) total: usize,
    /// A copy of every string, UTF-8 checked once here, so that reading a tag costs
    /// one indexed load, not a UTF-8 check per lookup. A few KB for a real list.
    pub(crate) strings: Vec<Box<str>>,
    pub(crate) sources: usize,
    pub(crate) n_sources: usize,
    pub(crate) tags: usize,
    pub(crate) n_tags: usize,
    pub(crate) runs: usize,
    pub(crate) n_runs: usize,
    pub(crate) tag_list: usize,
    pub(crate) n_tag_list: usize,
    /// The (prefix, tag set) pairs: the sum of every prefix's run length.
    pub(crate) n_entries: usize,
    pub(crate) v4: Fam,
    pub(crate) v6: Fam,
}

impl Fam {
    const EMPTY: Fam = Fam {
        s: 0,
        prefixes: 0,
        n_prefixes: 0,
        direct: 0,
        narrow: false,
        nodes: 0,
        n_nodes: 0,
        ends: 0,
        n_ends: 0,
        leaves: 0,
        n_leaves: 0,
        narrow_leaves: false,
    };
}

/// A layout of nothing, for a reference that must exist (see `Match`).
pub(crate) static EMPTY: Layout = Layout {
    total: 0,
    strings: Vec::new(),
    sources: 0,
    n_sources: 0,
    tags: 0,
    n_tags: 0,
    runs: 0,
    n_runs: 0,
    tag_list: 0,
    n_tag_list: 0,
    n_entries: 0,
    v4: Fam::EMPTY,
    v6: Fam::EMPTY,
};

/// Bytes per prefix record for an address type.
pub(crate) const fn prefix_record<A: Addr>() -> usize {
    A::BYTES + 9
}

// Each reads with one bounds check and, through the fixed-size array, one load (a
// pattern match on the bytes compiled to one load per byte).
#[inline(always)]
pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at.wrapping_add(4))
        .and_then(|w| <[u8; 4]>::try_from(w).ok())
        .map_or(0, u32::from_le_bytes)
}

#[inline(always)]
pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..at.wrapping_add(8))
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
        .map_or(0, u64::from_le_bytes)
}

#[inline(always)]
pub(crate) fn u16_at(b: &[u8], at: usize) -> u16 {
    b.get(at..at.wrapping_add(2))
        .and_then(|w| <[u8; 2]>::try_from(w).ok())
        .map_or(0, u16::from_le_bytes)
}

#[inline(always)]
pub(crate) fn u8_at(b: &[u8], at: usize) -> u8 {
    b.get(at).copied().unwrap_or(0)
}

/// FNV-1a 64 in four interleaved lanes over the blob taken as 64-bit little-endian
/// words (word `i` goes to lane `i % 4`; a short tail is zero-padded), with the checksum
/// field (word 3) read as zero; then the length and the four lanes are folded in, each
/// with the same FNV step. Every step is a bijection of its state, so any change confined
/// to one word always changes the result; four independent multiply chains run about
/// four times faster than one (the checksum was most of the load time).
pub(crate) fn checksum(b: &[u8]) -> u64 {
    const BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let step = |h: u64, w: u64| (h ^ w).wrapping_mul(PRIME);
    let mut lanes = [BASIS, BASIS ^ 1, BASIS ^ 2, BASIS ^ 3];
    let mut blocks = b.chunks_exact(32);
    if let Some(first) = blocks.next() {
        let mut words = [0u64; 4];
        for (w, c) in words.iter_mut().zip(first.chunks_exact(8)) {
            *w = word(c);
        }
        words[3] = 0;
        for (l, w) in lanes.iter_mut().zip(words) {
            *l = step(*l, w);
        }
    }
    for block in blocks.by_ref() {
        for (l, c) in lanes.iter_mut().zip(block.chunks_exact(8)) {
            *l = step(*l, word(c));
        }
    }
    // A blob shorter than one block has no checksum field to skip: it is rejected as
    // shorter than the header before the checksum matters.
    for (l, c) in lanes.iter_mut().zip(blocks.remainder().chunks(8)) {
        *l = step(*l, word(c));
    }
    lanes.into_iter().fold(step(BASIS, b.len() as u64), step)
}

/// Up to 8 bytes as a little-endian word, zero-padded.
#[inline(always)]
fn word(c: &[u8]) -> u64 {
    match <[u8; 8]>::try_from(c) {
        Ok(a) => u64::from_le_bytes(a),
        Err(_) => {
            let mut a = [0u8; 8];
            for (d, s) in a.iter_mut().zip(c) {
                *d = *s;
            }
            u64::from_le_bytes(a)
        }
    }
}

fn err(offset: usize, msg: String) -> Error {
    Error::Blob { offset, msg }
}

/// A cursor-free view of a section: byte offset and length.
#[derive(Clone, Copy)]
struct Sec {
    off: usize,
    len: usize,
    name: &'static str,
}

impl Sec {
    /// Records of `size` bytes: the count, or an error naming the section.
    fn records(self, size: usize) -> Result<usize, Error> {
        if !self.len.is_multiple_of(size) {
            return Err(err(
                self.off,
                format!(
                    "{} is {} bytes, not a multiple of its {size}-byte records",
                    self.name, self.len
                ),
            ));
        }
        Ok(self.len / size)
    }
}

impl Layout {
    /// Validates `b` (a blob followed by anything) once and returns its layout.
    ///
    /// After this returns `Ok`, every read the lookup and iteration paths make is in
    /// bounds, every index points at an existing record, and every trie walk ends.
    pub(crate) fn parse(b: &[u8]) -> Result<Layout, Error> {
        let head = b.get(..HEADER).ok_or_else(|| {
            err(
                b.len(),
                format!(
                    "header needs {HEADER} bytes, {} given (file truncated or not a blob?)",
                    b.len()
                ),
            )
        })?;
        if head.get(..8) != Some(&MAGIC[..]) {
            return Err(err(
                0,
                String::from("not an ipfence blob (magic label \"IPFENCE\\0\" missing)"),
            ));
        }
        let version = u32_at(b, 8);
        if version != VERSION {
            return Err(err(
                8,
                format!("format version {version}, this build reads version {VERSION} (rebuild it with `ipfence compile`)"),
            ));
        }
        let s4 = u32::from(u8_at(b, 12));
        let s6 = u32::from(u8_at(b, 13));
        for (at, s) in [(12, s4), (13, s6)] {
            if s > MAX_DIRECT_BITS {
                return Err(err(
                    at,
                    format!("direct table of {s} bits, at most {MAX_DIRECT_BITS} allowed"),
                ));
            }
        }
        if u16_at(b, 14) != 0 {
            return Err(err(14, String::from("reserved header bytes are not zero")));
        }
        let total64 = u64_at(b, 16);
        let total = usize::try_from(total64)
            .ok()
            .filter(|&t| t >= HEADER && t <= b.len())
            .ok_or_else(|| {
                err(
                    16,
                    format!(
                        "blob says it is {total64} bytes, {} available (file truncated?)",
                        b.len()
                    ),
                )
            })?;
        let blob = b.get(..total).unwrap_or_default();
        let want = u64_at(b, 24);
        let got = checksum(blob);
        if want != got {
            return Err(err(
                24,
                format!(
                    "checksum mismatch: stored {want:#018x}, computed {got:#018x} (file corrupt?)"
                ),
            ));
        }

        // Section table: in order from the end of the header to the end of the blob,
        // each at the next multiple of ALIGN, the padding zero.
        let mut secs = [Sec {
            off: 0,
            len: 0,
            name: "",
        }; SECTIONS];
        let mut next = HEADER;
        for (i, (sec, name)) in secs.iter_mut().zip(SECTION_NAMES).enumerate() {
            let at = 32 + 8 * i;
            let off = u32_at(b, at) as usize;
            let len = u32_at(b, at + 4) as usize;
            let want = aligned(next);
            if off != want {
                return Err(err(
                    at,
                    format!(
                        "{name} starts at {off}, expected {want} (sections follow each other, \
                         each at a multiple of {ALIGN} bytes)"
                    ),
                ));
            }
            if let Some(p) = b
                .get(next..want)
                .and_then(|pad| pad.iter().position(|&x| x != 0))
            {
                return Err(err(
                    next + p,
                    format!("padding before the {name} is not zero"),
                ));
            }
            let end = off
                .checked_add(len)
                .filter(|&e| e <= total)
                .ok_or_else(|| {
                    err(
                        off,
                        format!(
                            "{name} needs {len} bytes, {} left (file truncated?)",
                            total.saturating_sub(off)
                        ),
                    )
                })?;
            *sec = Sec { off, len, name };
            next = end;
        }
        if next != total {
            return Err(err(
                next,
                format!("{} unused bytes after the last section", total - next),
            ));
        }
        let [so, sd, src, tg, rn, tl, p4, d4, n4, e4, l4, p6, d6, n6, e6, l6] = secs;

        let mut lay = Layout {
            total,
            ..Layout::default()
        };

        // Strings.
        let n_off = so.records(4)?;
        if n_off == 0 {
            return Err(err(
                so.off,
                String::from("string offsets are empty (need at least one)"),
            ));
        }
        let mut prev = 0usize;
        let mut strings = Vec::with_capacity(n_off - 1);
        for i in 0..n_off {
            let at = so.off + 4 * i;
            let o = u32_at(b, at) as usize;
            if (i == 0 && o != 0) || o < prev || o > sd.len {
                return Err(err(
                    at,
                    format!(
                        "string offset {o} out of order or past the {} data bytes",
                        sd.len
                    ),
                ));
            }
            if i > 0 {
                let s = b.get(sd.off + prev..sd.off + o).unwrap_or_default();
                match core::str::from_utf8(s) {
                    Ok(s) => strings.push(Box::from(s)),
                    Err(e) => {
                        return Err(err(
                            sd.off + prev + e.valid_up_to(),
                            format!("string {} is not valid UTF-8", i - 1),
                        ))
                    }
                }
            }
            prev = o;
        }
        if prev != sd.len {
            return Err(err(
                so.off,
                format!("strings end at {prev}, data is {} bytes", sd.len),
            ));
        }
        lay.strings = strings;
        let sym = |at: usize, optional: bool, what: &str| -> Result<(), Error> {
            let v = u32_at(b, at);
            if (v as usize) < lay.strings.len() || (optional && v == NONE) {
                Ok(())
            } else {
                Err(err(
                    at,
                    format!("{what} is string {v}, only {} strings", lay.strings.len()),
                ))
            }
        };

        // Sources and tags.
        lay.sources = src.off;
        lay.n_sources = src.records(SOURCE)?;
        for i in 0..lay.n_sources {
            let at = src.off + SOURCE * i;
            sym(at, false, "source name")?;
            sym(at + 4, false, "source format")?;
            sym(at + 8, false, "source provider")?;
            sym(at + 12, true, "source version")?;
            sym(at + 16, true, "source publication time")?;
        }
        lay.tags = tg.off;
        lay.n_tags = tg.records(16)?;
        for i in 0..lay.n_tags * 4 {
            sym(tg.off + 4 * i, false, "tag field")?;
        }
        lay.tag_list = tl.off;
        lay.n_tag_list = tl.records(4)?;
        let list = b.get(tl.off..tl.off + tl.len).unwrap_or_default();
        for (i, t) in list.chunks_exact(4).map(|c| u32_at(c, 0)).enumerate() {
            if t as usize >= lay.n_tags {
                return Err(err(
                    tl.off + 4 * i,
                    format!("tag {t} out of range, only {} tags", lay.n_tags),
                ));
            }
        }
        // Runs: from 0, strictly increasing (none empty), to the end of the tag list.
        let n_bounds = rn.records(4)?;
        lay.runs = rn.off;
        lay.n_runs = n_bounds.saturating_sub(1);
        let mut prev = None;
        for i in 0..n_bounds {
            let at = rn.off + 4 * i;
            let r = u32_at(b, at) as usize;
            let ok = match prev {
                None => r == 0,
                Some(p) => r > p && r <= lay.n_tag_list,
            };
            if !ok {
                return Err(err(
                    at,
                    format!(
                        "run bound {r} is not after the one before or past the {}-long tag list",
                        lay.n_tag_list
                    ),
                ));
            }
            prev = Some(r);
        }
        if prev.unwrap_or(0) != lay.n_tag_list {
            return Err(err(
                rn.off,
                format!(
                    "runs end at {}, the tag list is {} long",
                    prev.unwrap_or(0),
                    lay.n_tag_list
                ),
            ));
        }

        lay.v4 = parse_family::<u32>(b, &mut lay, s4, [p4, d4, n4, e4, l4])?;
        lay.v6 = parse_family::<u128>(b, &mut lay, s6, [p6, d6, n6, e6, l6])?;
        Ok(lay)
    }
}

/// The number of set bits in a node bitmap.
fn count(bits: &Bits) -> usize {
    bits.iter().map(|w| w.count_ones() as usize).sum()
}

fn parse_family<A: Addr>(b: &[u8], lay: &mut Layout, s: u32, secs: [Sec; 5]) -> Result<Fam, Error> {
    let [p, d, n, e, l] = secs;
    let rec = prefix_record::<A>();
    let n_prefixes = p.records(rec)?;
    let narrow_leaves = n_prefixes <= NARROW_LEAVES;
    let mut f = Fam {
        s,
        narrow: false,
        prefixes: p.off,
        n_prefixes,
        direct: d.off,
        nodes: n.off,
        n_nodes: n.records(NODE)?,
        ends: e.off,
        n_ends: e.records(END_NODE)?,
        leaves: l.off,
        n_leaves: l.records(if narrow_leaves { 2 } else { 4 })?,
        narrow_leaves,
    };
    if s > A::WIDTH {
        return Err(err(
            12,
            format!("direct table of {s} bits for {}-bit addresses", A::WIDTH),
        ));
    }
    // Values and node indices share a u32 with the LEAF (or END) flag.
    if f.n_prefixes >= LEAF as usize || f.n_nodes >= LEAF as usize || f.n_ends >= END as usize {
        return Err(err(p.off, String::from("more than 2^31 prefixes or nodes")));
    }

    // Prefix records: sorted, host bits clear, parents earlier and containing.
    let mut last: Option<(A, u8)> = None;
    for i in 0..f.n_prefixes {
        let at = p.off + rec * i;
        let addr = A::read(b, at).unwrap_or_default();
        let run = u32_at(b, at + A::BYTES) as usize;
        let parent = u32_at(b, at + A::BYTES + 4);
        let len = u8_at(b, at + A::BYTES + 8);
        if u32::from(len) > A::WIDTH {
            return Err(err(
                at,
                format!("{}[{i}]: prefix length {len} invalid", p.name),
            ));
        }
        if addr.truncate(u32::from(len)) != addr {
            return Err(err(at, format!("{}[{i}]: host bits set", p.name)));
        }
        if last.is_some_and(|l| l >= (addr, len)) {
            return Err(err(at, format!("{}[{i}]: not sorted or repeated", p.name)));
        }
        last = Some((addr, len));
        if run >= lay.n_runs {
            return Err(err(
                at + A::BYTES,
                format!("{}[{i}]: run {run} out of the {} runs", p.name, lay.n_runs),
            ));
        }
        // Validated above: runs increase within the tag list.
        let bounds = lay.runs + 4 * run;
        let tags = u32_at(b, bounds + 4).saturating_sub(u32_at(b, bounds)) as usize;
        lay.n_entries += tags;
        if parent != NONE {
            let pi = parent as usize;
            let ok = pi < i && {
                let pat = p.off + rec * pi;
                let paddr = A::read(b, pat).unwrap_or_default();
                let plen = u8_at(b, pat + A::BYTES + 8);
                plen < len && addr.truncate(u32::from(plen)) == paddr
            };
            if !ok {
                return Err(err(
                    at + A::BYTES + 4,
                    format!(
                        "{}[{i}]: parent {parent} is not an earlier containing prefix",
                        p.name
                    ),
                ));
            }
        }
    }

    let value_ok = |v: u32| v as usize <= f.n_prefixes;
    // Direct table; records the offset of every node it points at.
    let width = if d.len == 2usize << s {
        2
    } else if d.len == 4usize << s {
        4
    } else {
        return Err(err(
            d.off,
            format!(
                "{} is {} bytes, {s} bits need {} or {}",
                d.name,
                d.len,
                2usize << s,
                4usize << s
            ),
        ));
    };
    f.narrow = width == 2;
    // Depth (as the bit offset where a node starts) of every node, assigned by its one
    // parent. Children always have larger indices than their parent, so walking nodes in
    // index order sees every parent before its children and no walk can loop. End nodes
    // have no children: one parent each is all they need.
    let mut off_of: Vec<u8> = alloc::vec![u8::MAX; f.n_nodes];
    let mut end_seen: Vec<bool> = alloc::vec![false; f.n_ends];
    let direct = b.get(d.off..d.off + d.len).unwrap_or_default();
    let entry = |c: &[u8]| match width {
        2 => widen(u16_at(c, 0)),
        _ => u32_at(c, 0),
    };
    for (i, e) in direct.chunks_exact(width).map(entry).enumerate() {
        let at = d.off + width * i;
        if e & LEAF != 0 {
            if !value_ok(e & !LEAF) {
                return Err(err(
                    at,
                    format!("direct value {} past {} prefixes", e & !LEAF, f.n_prefixes),
                ));
            }
        } else {
            set_off(&mut off_of, e as usize, s, at)?;
        }
    }
    // Every leaf slot must have a run start at or before it, and the leaves must exist.
    let check_leaves =
        |at: usize, (kind, i): (&str, usize), vector: &Bits, leafvec: &Bits, base0: usize| {
            let first_leaf = (0..SLOTS).find(|&c| !has(vector, c));
            let first_run = (0..SLOTS).find(|&c| has(leafvec, c));
            if let Some(first_leaf) = first_leaf.filter(|&l| first_run.is_none_or(|r| r > l)) {
                return Err(err(
                    at,
                    format!("{kind} {i}: leaf slot {first_leaf} has no leaf"),
                ));
            }
            let leaves = count(leafvec);
            if base0.saturating_add(leaves) > f.n_leaves {
                return Err(err(
                    at,
                    format!(
                        "{kind} {i}: leaves {base0}+{leaves} past the {} leaves",
                        f.n_leaves
                    ),
                ));
            }
            Ok(())
        };
    for i in 0..f.n_nodes {
        let at = n.off + NODE * i;
        let vector = bits_at(b, at);
        let leafvec = bits_at(b, at + LEAFVEC);
        let base1 = u32_at(b, at + BASE1);
        let base0 = u32_at(b, at + BASE0) as usize;
        let stored = |r: usize| [0, 1, 2, 3].map(|w| u8_at(b, at + r + w));
        if stored(VRANKS) != ranks(&vector) || stored(LRANKS) != ranks(&leafvec) {
            return Err(err(
                at + VRANKS,
                format!("node {i}: stored ranks do not match its bitmaps"),
            ));
        }
        let children = count(&vector);
        let off = match off_of.get(i) {
            Some(&o) if o != u8::MAX => u32::from(o),
            _ => return Err(err(at, format!("node {i} is not reachable"))),
        };
        if children != 0 {
            if off + STRIDE >= A::WIDTH {
                return Err(err(
                    at,
                    format!("node {i} at bit {off} has children past the address"),
                ));
            }
            let first = (base1 & !END) as usize;
            if base1 & END != 0 {
                for k in 0..children {
                    let c = first + k;
                    match end_seen.get_mut(c) {
                        Some(seen) if !*seen => *seen = true,
                        Some(_) => {
                            return Err(err(
                                at + BASE1,
                                format!("end node {c} has more than one parent"),
                            ))
                        }
                        None => {
                            return Err(err(
                                at + BASE1,
                                format!("end node {c} out of range, only {} end nodes", f.n_ends),
                            ))
                        }
                    }
                }
            } else {
                if first <= i {
                    return Err(err(
                        at + BASE1,
                        format!("node {i}: children start at {first}, not after it"),
                    ));
                }
                for k in 0..children {
                    set_off(&mut off_of, first + k, off + STRIDE, at + BASE1)?;
                }
            }
        }
        check_leaves(at + LEAFVEC, ("node", i), &vector, &leafvec, base0)?;
    }
    for i in 0..f.n_ends {
        let at = e.off + END_NODE * i;
        if !end_seen.get(i).is_some_and(|&s| s) {
            return Err(err(at, format!("end node {i} is not reachable")));
        }
        let leafvec = bits_at(b, at);
        if [0, 1, 2, 3].map(|w| u8_at(b, at + E_LRANKS + w)) != ranks(&leafvec) {
            return Err(err(
                at + E_LRANKS,
                format!("end node {i}: stored ranks do not match its bitmap"),
            ));
        }
        let base0 = u32_at(b, at + E_BASE0) as usize;
        check_leaves(at, ("end node", i), &Bits::default(), &leafvec, base0)?;
    }
    let leaves = b.get(l.off..l.off + l.len).unwrap_or_default();
    let width = if narrow_leaves { 2 } else { 4 };
    for (i, c) in leaves.chunks_exact(width).enumerate() {
        let v = if narrow_leaves {
            u32::from(u16_at(c, 0))
        } else {
            u32_at(c, 0)
        };
        if !value_ok(v) {
            return Err(err(
                l.off + width * i,
                format!("leaf value {v} past {} prefixes", f.n_prefixes),
            ));
        }
    }
    Ok(f)
}

/// Records that `node` starts at bit `off`; each node has exactly one parent.
fn set_off(off_of: &mut [u8], node: usize, off: u32, at: usize) -> Result<(), Error> {
    let n = off_of.len();
    match off_of.get_mut(node) {
        Some(slot) if *slot == u8::MAX => {
            *slot = u8::try_from(off).unwrap_or(u8::MAX - 1);
            Ok(())
        }
        Some(_) => Err(err(at, format!("node {node} has more than one parent"))),
        None => Err(err(at, format!("node {node} out of range, only {n} nodes"))),
    }
}

/// `at` rounded up to a multiple of [`ALIGN`].
fn aligned(at: usize) -> usize {
    at.div_ceil(ALIGN).saturating_mul(ALIGN)
}

/// Lays out sections after a header and fills the header.
pub(crate) fn assemble(s4: u32, s6: u32, sections: [&[u8]; SECTIONS]) -> Result<Vec<u8>, Error> {
    let total = sections
        .iter()
        .fold(HEADER, |end, s| aligned(end).saturating_add(s.len()));
    if u32::try_from(total).is_err() {
        return Err(Error::Limit(format!(
            "compiled matcher would be {total} bytes, the format allows up to 4 GiB"
        )));
    }
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.push(u8::try_from(s4).unwrap_or(u8::MAX));
    out.push(u8::try_from(s6).unwrap_or(u8::MAX));
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&(total as u64).to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    let mut off = HEADER;
    for s in &sections {
        off = aligned(off);
        out.extend_from_slice(&(off as u32).to_le_bytes());
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        off += s.len();
    }
    for s in &sections {
        out.resize(aligned(out.len()), 0);
        out.extend_from_slice(s);
    }
    let sum = checksum(&out);
    if let Some(field) = out.get_mut(24..32) {
        field.copy_from_slice(&sum.to_le_bytes());
    }
    Ok(out)
}
