//! Compiling [`Ranges`] into a blob (needs `alloc`).

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use ipnet::IpNet;

use super::addr::{Addr, SLOTS, STRIDE};
use super::format::{self, Bits, END, LEAF, MAX_DIRECT_BITS, NONE};
use crate::{Error, Ranges};

/// Direct-table bits for a family of `n` prefixes when the caller does not choose: a
/// 2^16-entry table (256 KiB) pays off for real lists; small ones get 2^8 (1 KiB).
fn default_bits(n: usize, width: u32) -> u32 {
    let s = if n >= 1024 { 16 } else { 8 };
    s.min(width)
}

/// The blob's string table, keeping the [`Ranges`] symbols as they are.
struct Strings<'a> {
    list: Vec<&'a str>,
    index: BTreeMap<&'a str, u32>,
}

impl<'a> Strings<'a> {
    fn intern(&mut self, s: &'a str) -> Result<u32, Error> {
        if let Some(&i) = self.index.get(s) {
            return Ok(i);
        }
        let i = u32::try_from(self.list.len())
            .ok()
            .filter(|&i| i != NONE)
            .ok_or_else(|| Error::Limit(String::from("more than 2^32 - 1 distinct tag strings")))?;
        self.list.push(s);
        self.index.insert(s, i);
        Ok(i)
    }
}

/// One entry on its way into a family: address, length, published position, tag set.
type Item<A> = (A, u8, u32, u32);

/// Compiles every entry of `r`. `s4`/`s6` override the direct-table sizes (tests).
pub(crate) fn compile(r: &Ranges, s4: Option<u32>, s6: Option<u32>) -> Result<Vec<u8>, Error> {
    // Strings: the Ranges' own symbols first, so entry symbols map one to one.
    let mut strings = Strings {
        list: Vec::new(),
        index: BTreeMap::new(),
    };
    let mut remap = Vec::with_capacity(r.strings.as_slice().len());
    for s in r.strings.as_slice() {
        remap.push(strings.intern(s)?);
    }
    let empty = strings.intern("")?;
    let sym = |s: u32| remap.get(s as usize).copied().unwrap_or(empty);

    let mut sources = Vec::new();
    for src in &r.sources {
        for (field, optional) in [
            (Some(src.name.as_str()), false),
            (Some(src.format.as_str()), false),
            (Some(src.provider.as_str()), false),
            (src.sync_token.as_deref(), true),
            (src.create_date.as_deref(), true),
        ] {
            let v = match field {
                Some(s) => strings.intern(s)?,
                None if optional => NONE,
                None => empty,
            };
            sources.extend_from_slice(&v.to_le_bytes());
        }
    }

    // Distinct tag sets, numbered in order of first appearance.
    let mut tag_index: hashbrown::HashMap<[u32; 4], u32> = hashbrown::HashMap::new();
    let mut tag_of = Vec::with_capacity(r.entries.len());
    let mut tags = Vec::new();
    // Lists publish runs of entries under one tag set: the last one saves a lookup.
    let mut last: Option<([u32; 4], u32)> = None;
    for e in &r.entries {
        let key = [sym(e.provider), sym(e.service), sym(e.region), sym(e.extra)];
        let t = match last {
            Some((k, t)) if k == key => t,
            _ => {
                let next = u32::try_from(tag_index.len())
                    .map_err(|_| Error::Limit(String::from("more than 2^32 tag sets")))?;
                let t = *tag_index.entry(key).or_insert_with(|| {
                    for f in key {
                        tags.extend_from_slice(&f.to_le_bytes());
                    }
                    next
                });
                last = Some((key, t));
                t
            }
        };
        tag_of.push(t);
    }

    let n4 = r
        .entries
        .iter()
        .filter(|e| matches!(e.prefix, IpNet::V4(_)))
        .count();
    let mut v4: Vec<Item<u32>> = Vec::with_capacity(n4);
    let mut v6: Vec<Item<u128>> = Vec::with_capacity(r.entries.len() - n4);
    for (i, (e, &t)) in r.entries.iter().zip(&tag_of).enumerate() {
        match e.prefix.trunc() {
            IpNet::V4(n) => v4.push((u32::from(n.network()), n.prefix_len(), seq(i)?, t)),
            IpNet::V6(n) => v6.push((u128::from(n.network()), n.prefix_len(), seq(i)?, t)),
        }
    }
    let mut runs = Runs {
        single: vec![NONE; tags.len() / 16],
        index: hashbrown::HashMap::new(),
        bounds: vec![0],
        list: Vec::new(),
    };
    let s4 = s4.unwrap_or_else(|| default_bits(v4.len(), 32));
    let s6 = s6.unwrap_or_else(|| default_bits(v6.len(), 128));
    let f4 = family(v4, s4, &mut runs)?;
    let f6 = family(v6, s6, &mut runs)?;

    let mut offsets = Vec::with_capacity(4 * (strings.list.len() + 1));
    let mut data = Vec::new();
    offsets.extend_from_slice(&0u32.to_le_bytes());
    for s in &strings.list {
        data.extend_from_slice(s.as_bytes());
        let end = u32::try_from(data.len())
            .map_err(|_| Error::Limit(String::from("tag strings exceed 4 GiB")))?;
        offsets.extend_from_slice(&end.to_le_bytes());
    }
    let run_bytes = le_bytes(&runs.bounds);
    let tag_bytes = le_bytes(&runs.list);
    format::assemble(
        s4,
        s6,
        [
            &offsets,
            &data,
            &sources,
            &tags,
            &run_bytes,
            &tag_bytes,
            &f4.prefixes,
            &f4.direct,
            &f4.nodes,
            &f4.ends,
            &f4.leaves,
            &f6.prefixes,
            &f6.direct,
            &f6.nodes,
            &f6.ends,
            &f6.leaves,
        ],
    )
}

fn seq(i: usize) -> Result<u32, Error> {
    u32::try_from(i).map_err(|_| Error::Limit(String::from("more than 2^32 entries")))
}

fn le_bytes(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The distinct runs of tag sets (a prefix's tag sets in published order), each once:
/// real lists repeat a few thousand runs over tens of thousands of prefixes.
struct Runs {
    /// The run of each tag set alone (NONE until seen): most prefixes have one.
    single: Vec<u32>,
    /// Longer runs.
    index: hashbrown::HashMap<Vec<u32>, u32>,
    /// RUNS: run `r` is `list[bounds[r]..bounds[r + 1]]`.
    bounds: Vec<u32>,
    list: Vec<u32>,
}

impl Runs {
    /// The number of run `tags`, added if new.
    fn intern(&mut self, tags: &[u32]) -> Result<u32, Error> {
        let single = match tags {
            [t] => self.single.get(*t as usize).copied(),
            _ => self.index.get(tags).copied(),
        };
        if let Some(r) = single.filter(|&r| r != NONE) {
            return Ok(r);
        }
        let r = u32::try_from(self.bounds.len() - 1)
            .map_err(|_| Error::Limit(String::from("more than 2^32 tag runs")))?;
        self.list.extend_from_slice(tags);
        let end = u32::try_from(self.list.len())
            .map_err(|_| Error::Limit(String::from("more than 2^32 tag records")))?;
        self.bounds.push(end);
        match tags {
            [t] => {
                if let Some(s) = self.single.get_mut(*t as usize) {
                    *s = r;
                }
            }
            _ => {
                self.index.insert(tags.to_vec(), r);
            }
        }
        Ok(r)
    }
}

/// One family's five sections.
struct FamOut {
    prefixes: Vec<u8>,
    direct: Vec<u8>,
    nodes: Vec<u8>,
    ends: Vec<u8>,
    leaves: Vec<u8>,
}

/// Groups entries by prefix (tag sets deduplicated, published order kept), links each
/// prefix to its parent and builds the trie.
fn family<A: Addr>(mut items: Vec<Item<A>>, s: u32, runs: &mut Runs) -> Result<FamOut, Error> {
    if s > MAX_DIRECT_BITS || s > A::WIDTH {
        return Err(Error::Limit(format!(
            "direct table of {s} bits is too large"
        )));
    }
    // By prefix, then published order (the entry number makes every key distinct).
    items.sort_unstable_by_key(|&(a, l, i, _)| (a, l, i));

    let rec = format::prefix_record::<A>();
    let mut prefixes: Vec<(A, u8)> = Vec::with_capacity(items.len());
    let mut out = Vec::with_capacity(items.len() * rec);
    let mut stack: Vec<(A, u8, u32)> = Vec::new();
    let mut cur: Vec<u32> = Vec::new();
    let mut k = 0;
    while let Some(&(addr, len, _, _)) = items.get(k) {
        cur.clear();
        while let Some(&(a, l, _, t)) = items.get(k) {
            if (a, l) != (addr, len) {
                break;
            }
            // Same prefix and tag set: keep the first published.
            if !cur.contains(&t) {
                cur.push(t);
            }
            k += 1;
        }
        let run = runs.intern(&cur)?;
        let idx = u32::try_from(prefixes.len())
            .ok()
            .filter(|&i| i < LEAF - 1)
            .ok_or_else(|| Error::Limit(String::from("more than 2^31 prefixes")))?;
        // The parent is the nearest earlier prefix containing this one.
        while let Some(&(pa, pl, _)) = stack.last() {
            if pl < len && addr.truncate(u32::from(pl)) == pa {
                break;
            }
            stack.pop();
        }
        let parent = stack.last().map_or(NONE, |&(_, _, i)| i);
        stack.push((addr, len, idx));
        addr.write(&mut out);
        out.extend_from_slice(&run.to_le_bytes());
        out.extend_from_slice(&parent.to_le_bytes());
        out.push(len);
        prefixes.push((addr, len));
    }

    let mut t = Trie {
        nodes: Vec::new(),
        ends: Vec::new(),
        leaves: Vec::new(),
    };
    let direct = t.build(&prefixes, s)?;
    let mut nodes = Vec::with_capacity(t.nodes.len() * format::NODE);
    for n in &t.nodes {
        for w in n.vector.iter().chain(&n.leafvec) {
            nodes.extend_from_slice(&w.to_le_bytes());
        }
        nodes.extend_from_slice(&format::ranks(&n.leafvec));
        nodes.extend_from_slice(&n.base0.to_le_bytes());
        nodes.extend_from_slice(&format::ranks(&n.vector));
        nodes.extend_from_slice(&n.base1.to_le_bytes());
    }
    let mut ends = Vec::with_capacity(t.ends.len() * format::END_NODE);
    for n in &t.ends {
        for w in &n.leafvec {
            ends.extend_from_slice(&w.to_le_bytes());
        }
        ends.extend_from_slice(&format::ranks(&n.leafvec));
        ends.extend_from_slice(&n.base0.to_le_bytes());
    }
    // Values are at most the prefix count: u16 when that fits (see NARROW_LEAVES).
    let leaves = if prefixes.len() <= format::NARROW_LEAVES {
        t.leaves
            .iter()
            .flat_map(|&v| (v as u16).to_le_bytes())
            .collect()
    } else {
        le_bytes(&t.leaves)
    };
    Ok(FamOut {
        prefixes: out,
        direct: direct_bytes(&direct),
        nodes,
        ends,
        leaves,
    })
}

/// DIRECT as u16 entries when every one fits in 15 bits (half the bytes, and half the
/// cache a lookup's first read touches), else as u32.
fn direct_bytes(direct: &[u32]) -> Vec<u8> {
    let narrow: Option<Vec<u16>> = direct
        .iter()
        .map(|&d| {
            let v = d & !LEAF;
            (v < 0x8000).then_some((v | ((d & LEAF) >> 16)) as u16)
        })
        .collect();
    match narrow {
        Some(n) => n.iter().flat_map(|d| d.to_le_bytes()).collect(),
        None => direct.iter().flat_map(|d| d.to_le_bytes()).collect(),
    }
}

#[derive(Clone, Copy, Default)]
struct Node {
    vector: Bits,
    leafvec: Bits,
    base1: u32,
    base0: u32,
}

/// A node without children.
#[derive(Clone, Copy, Default)]
struct End {
    leafvec: Bits,
    base0: u32,
}

fn set(bits: &mut Bits, c: usize) {
    if let Some(w) = bits.get_mut(c / 64) {
        *w |= 1u64 << (c % 64);
    }
}

struct Trie {
    nodes: Vec<Node>,
    ends: Vec<End>,
    leaves: Vec<u32>,
}

/// Sets `slots[start..start + span]` to `v` (leaf pushing: later, longer prefixes
/// overwrite the shorter ones they sit inside, since `ps` is sorted by address, length).
fn paint(slots: &mut [u32], start: usize, span: usize, v: u32) {
    if let Some(run) = slots.get_mut(start..start.saturating_add(span)) {
        run.fill(v);
    }
}

fn too_many() -> Error {
    Error::Limit(String::from("more than 2^31 trie nodes or leaves"))
}

/// The value of each slot of a node covering the [`STRIDE`] bits from `off`: the
/// longest of `ps` (global indices from `base`) ending in the node, else `inherited`;
/// and the slots where a value may change (slot 0 and each painted span's ends).
fn slot_values<A: Addr>(
    off: u32,
    inherited: u32,
    base: usize,
    ps: &[(A, u8)],
) -> ([u32; SLOTS], Bits) {
    let hi = off + STRIDE;
    let mut val = [inherited; SLOTS];
    let mut edges = Bits::default();
    set(&mut edges, 0);
    for (k, &(a, len)) in ps.iter().enumerate() {
        let len = u32::from(len);
        if len > off && len <= hi {
            let (start, span) = (a.chunk(off), 1usize << (hi - len));
            paint(&mut val, start, span, value(base + k));
            set(&mut edges, start);
            set(&mut edges, start + span);
        }
    }
    (val, edges)
}

impl Trie {
    /// Builds the direct table and every node under it; returns the direct table.
    fn build<A: Addr>(&mut self, ps: &[(A, u8)], s: u32) -> Result<Vec<u32>, Error> {
        let mut direct = vec![LEAF; 1usize << s];
        for (i, &(a, len)) in ps.iter().enumerate() {
            let len = u32::from(len);
            if len <= s {
                paint(&mut direct, a.top(s), 1usize << (s - len), LEAF | value(i));
            }
        }
        let mut i = 0;
        while let Some(&(a, _)) = ps.get(i) {
            let top = a.top(s);
            let rest = ps.get(i..).unwrap_or_default();
            let j = i + rest.iter().take_while(|p| p.0.top(s) == top).count();
            let group = ps.get(i..j).unwrap_or_default();
            if group.iter().any(|p| u32::from(p.1) > s) {
                if let Some(d) = direct.get_mut(top) {
                    let inherited = *d & !LEAF;
                    let idx = self.nodes.len();
                    *d = u32::try_from(idx)
                        .ok()
                        .filter(|&x| x < LEAF)
                        .ok_or_else(too_many)?;
                    self.nodes.push(Node::default());
                    self.node(idx, s, inherited, i, group)?;
                }
            }
            i = j;
        }
        Ok(direct)
    }

    /// Appends the leaves of the slots not in `vector`, one per run of equal values;
    /// returns the run starts and where the leaves begin. A run can only start at one
    /// of `edges` or just after a child slot: only those slots are looked at.
    fn leaves(
        &mut self,
        val: &[u32; SLOTS],
        edges: Bits,
        vector: &Bits,
    ) -> Result<(Bits, u32), Error> {
        let base0 = u32::try_from(self.leaves.len()).map_err(|_| too_many())?;
        let mut look = edges;
        for (w, &bits) in vector.iter().enumerate() {
            let mut bits = bits;
            while bits != 0 {
                set(&mut look, 64 * w + bits.trailing_zeros() as usize + 1);
                bits &= bits - 1;
            }
        }
        let mut leafvec = Bits::default();
        // The value of the leaf slot before: between two looked-at slots every leaf
        // slot has the value of the one before it.
        let mut prev = NONE;
        for (w, (&bits, &children)) in look.iter().zip(vector).enumerate() {
            let mut bits = bits & !children;
            while bits != 0 {
                let c = 64 * w + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let v = val.get(c).copied().unwrap_or(0);
                if v != prev {
                    set(&mut leafvec, c);
                    self.leaves.push(v);
                    prev = v;
                }
            }
        }
        Ok((leafvec, base0))
    }

    /// Fills node `idx`, which covers the [`STRIDE`] bits from `off` of the prefixes in `ps`
    /// (global indices from `base`), inheriting `inherited` where none of them reaches.
    fn node<A: Addr>(
        &mut self,
        idx: usize,
        off: u32,
        inherited: u32,
        base: usize,
        ps: &[(A, u8)],
    ) -> Result<(), Error> {
        let hi = off + STRIDE;
        let (val, edges) = slot_values(off, inherited, base, ps);
        // Children: the runs of `ps` per slot holding a prefix longer than this node.
        let mut kids: Vec<(usize, usize, usize)> = Vec::new();
        let mut vector = Bits::default();
        // Whether every child is an end node: none holds a prefix past its own bits.
        let mut ends = true;
        let mut k = 0;
        while let Some(&(a, _)) = ps.get(k) {
            let c = a.chunk(off);
            let rest = ps.get(k..).unwrap_or_default();
            let end = k + rest.iter().take_while(|p| p.0.chunk(off) == c).count();
            let run = ps.get(k..end).unwrap_or_default();
            let longest = run.iter().map(|p| u32::from(p.1)).max().unwrap_or(0);
            if longest > hi {
                set(&mut vector, c);
                kids.push((c, k, end));
                ends &= longest <= hi + STRIDE;
            }
            k = end;
        }
        let (leafvec, base0) = self.leaves(&val, edges, &vector)?;
        let base1 = if ends {
            let first = self.ends.len();
            self.ends.resize(
                first.checked_add(kids.len()).ok_or_else(too_many)?,
                End::default(),
            );
            first
        } else {
            let first = self.nodes.len();
            self.nodes.resize(
                first.checked_add(kids.len()).ok_or_else(too_many)?,
                Node::default(),
            );
            first
        };
        if let Some(n) = self.nodes.get_mut(idx) {
            let b1 = u32::try_from(base1)
                .ok()
                .filter(|&x| x < LEAF)
                .ok_or_else(too_many)?;
            *n = Node {
                vector,
                leafvec,
                base1: if ends { b1 | END } else { b1 },
                base0,
            };
        }
        for (j, &(c, st, en)) in kids.iter().enumerate() {
            let inherited = val.get(c).copied().unwrap_or(0);
            let sub = ps.get(st..en).unwrap_or_default();
            if ends {
                let (val, edges) = slot_values(hi, inherited, base + st, sub);
                let (leafvec, base0) = self.leaves(&val, edges, &Bits::default())?;
                if let Some(e) = self.ends.get_mut(base1 + j) {
                    *e = End { leafvec, base0 };
                }
            } else {
                self.node(base1 + j, hi, inherited, base + st, sub)?;
            }
        }
        Ok(())
    }
}

/// The value stored for prefix `i`: `i + 1` (0 means no match).
fn value(i: usize) -> u32 {
    u32::try_from(i).map_or(NONE, |i| i.wrapping_add(1))
}
