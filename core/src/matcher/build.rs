//! Compiling [`Ranges`] into a blob (needs `alloc`).

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use ipnet::IpNet;

use super::addr::{Addr, SLOTS, STRIDE};
use super::format::{self, has, Bits, LEAF, MAX_DIRECT_BITS, NONE};
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

    // Distinct tag sets, numbered in sorted order.
    let mut keyed: Vec<([u32; 4], u32)> = Vec::with_capacity(r.entries.len());
    for (i, e) in r.entries.iter().enumerate() {
        let key = [sym(e.provider), sym(e.service), sym(e.region), sym(e.extra)];
        keyed.push((key, seq(i)?));
    }
    keyed.sort_unstable();
    let mut tag_of = vec![0u32; r.entries.len()];
    let mut tags = Vec::new();
    let mut last: Option<[u32; 4]> = None;
    let mut n_tags = 0u32;
    for (key, i) in &keyed {
        if last != Some(*key) {
            for f in key {
                tags.extend_from_slice(&f.to_le_bytes());
            }
            n_tags = n_tags.wrapping_add(1);
            last = Some(*key);
        }
        if let Some(t) = tag_of.get_mut(*i as usize) {
            *t = n_tags.wrapping_sub(1);
        }
    }

    let mut v4: Vec<Item<u32>> = Vec::new();
    let mut v6: Vec<Item<u128>> = Vec::new();
    for (i, (e, &t)) in r.entries.iter().zip(&tag_of).enumerate() {
        match e.prefix.trunc() {
            IpNet::V4(n) => v4.push((u32::from(n.network()), n.prefix_len(), seq(i)?, t)),
            IpNet::V6(n) => v6.push((u128::from(n.network()), n.prefix_len(), seq(i)?, t)),
        }
    }
    let mut tag_list = Vec::new();
    let s4 = s4.unwrap_or_else(|| default_bits(v4.len(), 32));
    let s6 = s6.unwrap_or_else(|| default_bits(v6.len(), 128));
    let f4 = family(v4, s4, &mut tag_list)?;
    let f6 = family(v6, s6, &mut tag_list)?;

    let mut offsets = Vec::with_capacity(4 * (strings.list.len() + 1));
    let mut data = Vec::new();
    offsets.extend_from_slice(&0u32.to_le_bytes());
    for s in &strings.list {
        data.extend_from_slice(s.as_bytes());
        let end = u32::try_from(data.len())
            .map_err(|_| Error::Limit(String::from("tag strings exceed 4 GiB")))?;
        offsets.extend_from_slice(&end.to_le_bytes());
    }
    let tag_bytes: Vec<u8> = tag_list
        .iter()
        .flat_map(|t: &u32| t.to_le_bytes())
        .collect();
    format::assemble(
        s4,
        s6,
        [
            &offsets,
            &data,
            &sources,
            &tags,
            &tag_bytes,
            &f4.prefixes,
            &f4.direct,
            &f4.nodes,
            &f4.leaves,
            &f6.prefixes,
            &f6.direct,
            &f6.nodes,
            &f6.leaves,
        ],
    )
}

fn seq(i: usize) -> Result<u32, Error> {
    u32::try_from(i).map_err(|_| Error::Limit(String::from("more than 2^32 entries")))
}

/// One family's four sections.
struct FamOut {
    prefixes: Vec<u8>,
    direct: Vec<u8>,
    nodes: Vec<u8>,
    leaves: Vec<u8>,
}

/// Groups entries by prefix (tag sets deduplicated, published order kept), links each
/// prefix to its parent and builds the trie.
fn family<A: Addr>(
    mut items: Vec<Item<A>>,
    s: u32,
    tag_list: &mut Vec<u32>,
) -> Result<FamOut, Error> {
    if s > MAX_DIRECT_BITS || s > A::WIDTH {
        return Err(Error::Limit(format!(
            "direct table of {s} bits is too large"
        )));
    }
    // Same prefix and tag set: keep the first published.
    items.sort_unstable_by_key(|&(a, l, i, t)| (a, l, t, i));
    items.dedup_by_key(|&mut (a, l, _, t)| (a, l, t));
    items.sort_unstable_by_key(|&(a, l, i, _)| (a, l, i));

    let mut prefixes: Vec<(A, u8)> = Vec::new();
    let mut out = Vec::new();
    let mut stack: Vec<(A, u8, u32)> = Vec::new();
    let mut k = 0;
    while let Some(&(addr, len, _, _)) = items.get(k) {
        let start = tag_list.len();
        while let Some(&(a, l, _, t)) = items.get(k) {
            if (a, l) != (addr, len) {
                break;
            }
            tag_list.push(t);
            k += 1;
        }
        let count = tag_list.len() - start;
        let net = addr.to_net(len);
        let count = u16::try_from(count).map_err(|_| {
            Error::Limit(format!(
                "{net} has {count} distinct tag sets, at most 65535"
            ))
        })?;
        let start = u32::try_from(start)
            .map_err(|_| Error::Limit(String::from("more than 2^32 tag records")))?;
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
        out.extend_from_slice(&start.to_le_bytes());
        out.extend_from_slice(&parent.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.push(len);
        out.push(0);
        prefixes.push((addr, len));
    }

    let mut t = Trie {
        nodes: Vec::new(),
        leaves: Vec::new(),
    };
    let direct = t.build(&prefixes, s)?;
    let mut nodes = Vec::with_capacity(t.nodes.len() * format::NODE);
    for n in &t.nodes {
        for w in n.vector.iter().chain(&n.leafvec) {
            nodes.extend_from_slice(&w.to_le_bytes());
        }
        nodes.extend_from_slice(&format::ranks(&n.vector));
        nodes.extend_from_slice(&format::ranks(&n.leafvec));
        nodes.extend_from_slice(&n.base1.to_le_bytes());
        nodes.extend_from_slice(&n.base0.to_le_bytes());
    }
    Ok(FamOut {
        prefixes: out,
        direct: direct_bytes(&direct),
        nodes,
        leaves: t.leaves.iter().flat_map(|d| d.to_le_bytes()).collect(),
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

fn set(bits: &mut Bits, c: usize) {
    if let Some(w) = bits.get_mut(c / 64) {
        *w |= 1u64 << (c % 64);
    }
}

struct Trie {
    nodes: Vec<Node>,
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
        let mut val = [inherited; SLOTS];
        for (k, &(a, len)) in ps.iter().enumerate() {
            let len = u32::from(len);
            if len > off && len <= hi {
                paint(
                    &mut val,
                    a.chunk(off),
                    1usize << (hi - len),
                    value(base + k),
                );
            }
        }
        // Children: the runs of `ps` per slot holding a prefix longer than this node.
        let mut kids: Vec<(usize, usize, usize)> = Vec::new();
        let mut vector = Bits::default();
        let mut k = 0;
        while let Some(&(a, _)) = ps.get(k) {
            let c = a.chunk(off);
            let rest = ps.get(k..).unwrap_or_default();
            let end = k + rest.iter().take_while(|p| p.0.chunk(off) == c).count();
            let run = ps.get(k..end).unwrap_or_default();
            if run.iter().any(|p| u32::from(p.1) > hi) {
                set(&mut vector, c);
                kids.push((c, k, end));
            }
            k = end;
        }
        let base0 = self.leaves.len();
        let mut leafvec = Bits::default();
        let mut prev = None;
        for (c, &v) in val.iter().enumerate() {
            if !has(&vector, c) && prev != Some(v) {
                set(&mut leafvec, c);
                self.leaves.push(v);
                prev = Some(v);
            }
        }
        let base1 = self.nodes.len();
        self.nodes.resize(
            base1.checked_add(kids.len()).ok_or_else(too_many)?,
            Node::default(),
        );
        if let Some(n) = self.nodes.get_mut(idx) {
            *n = Node {
                vector,
                leafvec,
                base1: u32::try_from(base1)
                    .ok()
                    .filter(|&x| x < LEAF)
                    .ok_or_else(too_many)?,
                base0: u32::try_from(base0).map_err(|_| too_many())?,
            };
        }
        for (j, &(c, st, en)) in kids.iter().enumerate() {
            let inherited = val.get(c).copied().unwrap_or(0);
            let sub = ps.get(st..en).unwrap_or_default();
            self.node(base1 + j, hi, inherited, base + st, sub)?;
        }
        Ok(())
    }
}

/// The value stored for prefix `i`: `i + 1` (0 means no match).
fn value(i: usize) -> u32 {
    u32::try_from(i).map_or(NONE, |i| i.wrapping_add(1))
}
