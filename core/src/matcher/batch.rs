//! Batch lookups: [`LANES`] walks advanced in lockstep, so that the memory reads of
//! different addresses are in flight at the same time instead of one after another.
//!
//! A single lookup is a chain of dependent reads (the direct table, then a node or two,
//! then a leaf); the CPU cannot start the next read of a walk before the previous one
//! returns. Interleaving independent walks lets those waits overlap (the "group
//! prefetching" of Chen et al., "Improving Hash Join Performance through Prefetching",
//! ICDE 2004), in safe Rust: every round issues one read per live lane.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::addr::{Addr, STRIDE};
use super::format::{
    u32_at, u64_at, u8_at, widen, Fam, BASE1, END, END_NODE, LEAF, LEAFVEC, NODE, VRANKS,
};
use super::{leaf, leaf_index, table, Match, Matcher};

/// Walks advanced together. Eight keeps enough reads in flight to cover a cache miss
/// on the two-core test machine while every lane's state stays in registers or L1
/// (measured: `benches/lookup.rs`, rows `ipfence_*_batch`; see docs/performance.md).
pub const LANES: usize = 8;

/// A lane whose walk has ended.
const DONE: usize = usize::MAX;
/// Marks a lane whose next read is an end node (its last).
const AT_END: usize = 1 << (usize::BITS - 1);

/// Walks `a.len()` (at most [`LANES`]) addresses of one family in lockstep: each value
/// (0 = no match, else prefix index + 1) goes to the same place in `out`.
#[inline(always)]
fn find_lanes<A: Addr>(b: &[u8], f: &Fam, a: &[A; LANES], out: &mut [u32; LANES]) {
    let mut node = [DONE; LANES];
    let mut rest = [A::default(); LANES];
    // Round 0: every direct-table read issued before any result is used.
    if f.narrow {
        let direct = table::<2>(b, f.direct, 1 << f.s);
        for (v, &x) in out.iter_mut().zip(a) {
            *v = direct
                .get(x.top(f.s))
                .map_or(0, |&d| widen(u16::from_le_bytes(d)));
        }
    } else {
        let direct = table::<4>(b, f.direct, 1 << f.s);
        for (v, &x) in out.iter_mut().zip(a) {
            *v = direct.get(x.top(f.s)).map_or(0, |&d| u32::from_le_bytes(d));
        }
    }
    let mut live = 0usize;
    for (((v, n), r), &x) in out.iter_mut().zip(&mut node).zip(&mut rest).zip(a) {
        if *v & LEAF != 0 {
            *v &= !LEAF;
        } else {
            *n = *v as usize;
            *r = x.skip(f.s);
            *v = 0;
            live += 1;
        }
    }
    let nodes = table::<NODE>(b, f.nodes, f.n_nodes);
    let ends = table::<END_NODE>(b, f.ends, f.n_ends);
    let mut off = f.s;
    // Validation guarantees every walk ends at a leaf before `off` reaches the width;
    // the bound only keeps a logic bug from looping.
    while live > 0 && off < A::WIDTH {
        for ((v, n), r) in out.iter_mut().zip(&mut node).zip(&mut rest) {
            if *n == DONE {
                continue;
            }
            let c = r.head();
            *r = r.next();
            if *n & AT_END != 0 {
                *v = ends
                    .get(*n & !AT_END)
                    .map_or(0, |e| leaf(b, f, leaf_index(e, c)));
                *n = DONE;
                live -= 1;
                continue;
            }
            let Some(nd) = nodes.get(*n) else {
                *n = DONE;
                live -= 1;
                continue;
            };
            let w = c / 64 % 4;
            let bit = 1u64 << (c % 64);
            let vector = u64_at(nd, 8 * w);
            if vector & bit != 0 {
                let upto = bit | bit.wrapping_sub(1);
                let rank =
                    usize::from(u8_at(nd, VRANKS + w)) + (vector & upto).count_ones() as usize;
                let base1 = u32_at(nd, BASE1);
                let child = ((base1 & !END) as usize).wrapping_add(rank).wrapping_sub(1);
                *n = if base1 & END != 0 {
                    child | AT_END
                } else {
                    child
                };
            } else {
                *v = leaf(b, f, leaf_index(nd.get(LEAFVEC..).unwrap_or_default(), c));
                *n = DONE;
                live -= 1;
            }
        }
        off += STRIDE;
    }
}

/// Runs `each` on every full group of [`LANES`] addresses and on the padded tail.
#[inline(always)]
fn in_groups<A: Addr, T>(
    b: &[u8],
    f: &Fam,
    ips: &[A],
    out: &mut [T],
    mut put: impl FnMut(&mut T, u32),
) {
    let (groups, tail) = ips.as_chunks::<LANES>();
    let mut outs = out.chunks_mut(LANES);
    let mut vals = [0u32; LANES];
    for (g, o) in groups.iter().zip(&mut outs) {
        find_lanes(b, f, g, &mut vals);
        for (slot, &v) in o.iter_mut().zip(&vals) {
            put(slot, v);
        }
    }
    if let Some(o) = outs.next() {
        let mut g = [A::default(); LANES];
        for (x, &t) in g.iter_mut().zip(tail) {
            *x = t;
        }
        find_lanes(b, f, &g, &mut vals);
        for (slot, &v) in o.iter_mut().zip(vals.iter().take(tail.len())) {
            put(slot, v);
        }
    }
}

impl<B: AsRef<[u8]>> Matcher<B> {
    /// [`Matcher::lookup_v4`] of every address of `ips` into the same place of `out`,
    /// [`LANES`] walks at a time so that their memory reads overlap. Answers the first
    /// `min(ips.len(), out.len())` addresses; allocates nothing.
    ///
    /// ```
    /// use ipfence_core::{matcher::Matcher, Ranges, Tags};
    /// let mut r = Ranges::new();
    /// r.push("3.5.0.0/16".parse()?, Tags { provider: "aws", service: "S3", region: "", extra: "" });
    /// let m = Matcher::build(&r)?;
    /// let ips = ["3.5.1.1".parse()?, "8.8.8.8".parse()?];
    /// let mut out = [None; 2];
    /// m.lookup_many_v4(&ips, &mut out);
    /// assert_eq!(out.map(|h| h.is_some()), [true, false]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lookup_many_v4<'s>(&'s self, ips: &[Ipv4Addr], out: &mut [Option<Match<'s>>]) {
        let n = ips.len().min(out.len());
        let ips = ips.get(..n).unwrap_or_default();
        let mut chunk = [0u32; 256];
        for (ips, out) in ips.chunks(256).zip(out.chunks_mut(256)) {
            for (c, &ip) in chunk.iter_mut().zip(ips) {
                *c = u32::from(ip);
            }
            let addrs = chunk.get(..ips.len()).unwrap_or_default();
            in_groups(self.bytes.as_ref(), &self.lay.v4, addrs, out, |o, v| {
                *o = self.hit(false, v);
            });
        }
    }

    /// [`Matcher::lookup_v6`] (no IPv4-mapped translation) of every address of `ips`,
    /// as [`Matcher::lookup_many_v4`] does.
    pub fn lookup_many_v6<'s>(&'s self, ips: &[Ipv6Addr], out: &mut [Option<Match<'s>>]) {
        let n = ips.len().min(out.len());
        let ips = ips.get(..n).unwrap_or_default();
        let mut chunk = [0u128; 256];
        for (ips, out) in ips.chunks(256).zip(out.chunks_mut(256)) {
            for (c, &ip) in chunk.iter_mut().zip(ips) {
                *c = u128::from(ip);
            }
            let addrs = chunk.get(..ips.len()).unwrap_or_default();
            in_groups(self.bytes.as_ref(), &self.lay.v6, addrs, out, |o, v| {
                *o = self.hit(true, v);
            });
        }
    }

    /// [`Matcher::lookup`] of every address of `ips` (either family; IPv4-mapped IPv6
    /// looked up as IPv4) into the same place of `out`, each family's walks
    /// interleaved. Answers the first `min(ips.len(), out.len())` addresses; allocates
    /// nothing.
    pub fn lookup_many<'s>(&'s self, ips: &[IpAddr], out: &mut [Option<Match<'s>>]) {
        self.many(ips, out, |m, v6, v| m.hit(v6, v));
    }

    /// [`Matcher::contains`] of every address of `ips` into the same place of `out`, as
    /// [`Matcher::lookup_many`] does.
    pub fn contains_many(&self, ips: &[IpAddr], out: &mut [bool]) {
        self.many(ips, out, |_, _, v| v != 0);
    }

    /// Splits mixed addresses by family, [`LANES`] of a family at a time, and writes
    /// `answer(self, is_v6, value)` to each one's place.
    #[inline(always)]
    fn many<'s, T>(
        &'s self,
        ips: &[IpAddr],
        out: &mut [T],
        answer: impl Fn(&'s Self, bool, u32) -> T,
    ) {
        let b = self.bytes.as_ref();
        let mut a4 = [0u32; LANES];
        let mut a6 = [0u128; LANES];
        let mut at4 = [0usize; LANES];
        let mut at6 = [0usize; LANES];
        let (mut n4, mut n6) = (0usize, 0usize);
        let mut vals = [0u32; LANES];
        let n = ips.len().min(out.len());
        for (i, &ip) in ips.iter().take(n).enumerate() {
            match crate::prefix::canonical(ip) {
                IpAddr::V4(a) => {
                    if let (Some(x), Some(at)) = (a4.get_mut(n4), at4.get_mut(n4)) {
                        (*x, *at) = (u32::from(a), i);
                    }
                    n4 += 1;
                }
                IpAddr::V6(a) => {
                    if let (Some(x), Some(at)) = (a6.get_mut(n6), at6.get_mut(n6)) {
                        (*x, *at) = (u128::from(a), i);
                    }
                    n6 += 1;
                }
            }
            let last = i + 1 == n;
            if n4 == LANES || (last && n4 > 0) {
                find_lanes(b, &self.lay.v4, &a4, &mut vals);
                for (&at, &v) in at4.iter().zip(&vals).take(n4) {
                    if let Some(o) = out.get_mut(at) {
                        *o = answer(self, false, v);
                    }
                }
                n4 = 0;
            }
            if n6 == LANES || (last && n6 > 0) {
                find_lanes(b, &self.lay.v6, &a6, &mut vals);
                for (&at, &v) in at6.iter().zip(&vals).take(n6) {
                    if let Some(o) = out.get_mut(at) {
                        *o = answer(self, true, v);
                    }
                }
                n6 = 0;
            }
        }
    }
}
