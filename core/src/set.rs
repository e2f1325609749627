//! [`PrefixSet`]: an exact, always-normalized set of IPv4 and IPv6 addresses.
//!
//! A set is stored per family as sorted, disjoint, non-adjacent inclusive ranges, so two
//! sets are equal exactly when they hold the same addresses, whatever prefixes built
//! them. [`PrefixSet::cidrs`] gives the minimal exact CIDR cover: each range split into
//! the largest aligned blocks, which is the same list `netaddr.cidr_merge` gives.
//!
//! ```
//! use ipfence_core::PrefixSet;
//! let a: PrefixSet = ["10.0.0.0/25".parse()?, "10.0.0.128/25".parse()?].into_iter().collect();
//! let b: PrefixSet = ["10.0.0.64/26".parse()?].into_iter().collect();
//! let cidrs: Vec<String> = a.difference(&b).cidrs().map(|n| n.to_string()).collect();
//! assert_eq!(cidrs, ["10.0.0.0/26", "10.0.0.128/25"]);
//! # Ok::<(), ipnet::AddrParseError>(())
//! ```

use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::Family;

/// An address width: `u32` for IPv4, `u128` for IPv6.
pub(crate) trait Bits: Copy + Ord + core::fmt::Debug {
    /// Bits in an address.
    const WIDTH: u8;
    /// `2^k - 1` for `k <= WIDTH`.
    fn low_mask(k: u8) -> Self;
    fn trailing_zeros(self) -> u32;
    fn checked_inc(self) -> Option<Self>;
    fn dec(self) -> Self;
    fn add(self, other: Self) -> Self;
    fn sub(self, other: Self) -> Self;
    /// As a count (saturating is not needed: callers add 1 only to non-full spans).
    fn to_u128(self) -> u128;
    fn leading_zeros(self) -> u32;
    fn xor(self, other: Self) -> Self;
    /// Keeps the top `len` bits.
    fn truncate(self, len: u8) -> Self;
    /// Whether bit `i`, counted from the most significant (0), is set.
    fn bit(self, i: u8) -> bool;
    /// Sorts ranges by start (equal starts in any order).
    fn sort_by_start(v: &mut [(Self, Self)]);
}

impl Bits for u32 {
    const WIDTH: u8 = 32;
    fn low_mask(k: u8) -> Self {
        if k == 0 {
            0
        } else {
            u32::MAX >> (32 - u32::from(k))
        }
    }
    fn trailing_zeros(self) -> u32 {
        u32::trailing_zeros(self)
    }
    fn checked_inc(self) -> Option<Self> {
        self.checked_add(1)
    }
    fn dec(self) -> Self {
        self.wrapping_sub(1)
    }
    fn add(self, other: Self) -> Self {
        self.wrapping_add(other)
    }
    fn sub(self, other: Self) -> Self {
        self.wrapping_sub(other)
    }
    fn to_u128(self) -> u128 {
        u128::from(self)
    }
    fn leading_zeros(self) -> u32 {
        u32::leading_zeros(self)
    }
    fn xor(self, other: Self) -> Self {
        self ^ other
    }
    fn truncate(self, len: u8) -> Self {
        self & !Self::low_mask(Self::WIDTH.saturating_sub(len))
    }
    fn sort_by_start(v: &mut [(Self, Self)]) {
        // A radix sort: half the time of a comparison sort for Azure's 75,000 IPv4
        // prefixes. Not in wasm (core/Cargo.toml says why).
        #[cfg(not(target_arch = "wasm32"))]
        radsort::sort_by_key(v, |r| r.0);
        #[cfg(target_arch = "wasm32")]
        v.sort_unstable_by_key(|r| r.0);
    }
    fn bit(self, i: u8) -> bool {
        (self >> (u32::from(Self::WIDTH - 1).saturating_sub(u32::from(i)))) & 1 == 1
    }
}

impl Bits for u128 {
    const WIDTH: u8 = 128;
    fn low_mask(k: u8) -> Self {
        if k == 0 {
            0
        } else {
            u128::MAX >> (128 - u32::from(k))
        }
    }
    fn trailing_zeros(self) -> u32 {
        u128::trailing_zeros(self)
    }
    fn checked_inc(self) -> Option<Self> {
        self.checked_add(1)
    }
    fn dec(self) -> Self {
        self.wrapping_sub(1)
    }
    fn add(self, other: Self) -> Self {
        self.wrapping_add(other)
    }
    fn sub(self, other: Self) -> Self {
        self.wrapping_sub(other)
    }
    fn to_u128(self) -> u128 {
        self
    }
    fn leading_zeros(self) -> u32 {
        u128::leading_zeros(self)
    }
    fn xor(self, other: Self) -> Self {
        self ^ other
    }
    fn truncate(self, len: u8) -> Self {
        self & !Self::low_mask(Self::WIDTH.saturating_sub(len))
    }
    fn sort_by_start(v: &mut [(Self, Self)]) {
        // 16-byte keys: a radix sort is slower here than a comparison sort.
        v.sort_unstable_by_key(|r| r.0);
    }
    fn bit(self, i: u8) -> bool {
        (self >> (u32::from(Self::WIDTH - 1).saturating_sub(u32::from(i)))) & 1 == 1
    }
}

/// Sorts and merges overlapping or adjacent ranges.
pub(crate) fn normalize<T: Bits>(mut v: Vec<(T, T)>) -> Vec<(T, T)> {
    // By start alone: ranges with one start merge into the longest whatever their order.
    T::sort_by_start(&mut v);
    // Merged in place: `w` ranges kept so far, the last of them at `w - 1`.
    let mut w: usize = 0;
    for i in 0..v.len() {
        let Some(&(s, e)) = v.get(i) else { break };
        if let Some(last) = w.checked_sub(1).and_then(|l| v.get_mut(l)) {
            // Overlapping, or adjacent (last.1 + 1 == s).
            if last.1.checked_inc().is_none_or(|next| s <= next) {
                if e > last.1 {
                    last.1 = e;
                }
                continue;
            }
        }
        if let Some(slot) = v.get_mut(w) {
            *slot = (s, e);
        }
        w += 1;
    }
    v.truncate(w);
    v
}

fn intersect<T: Bits>(a: &[(T, T)], b: &[(T, T)]) -> Vec<(T, T)> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while let (Some(&(as_, ae)), Some(&(bs, be))) = (a.get(i), b.get(j)) {
        let s = as_.max(bs);
        let e = ae.min(be);
        if s <= e {
            out.push((s, e));
        }
        if ae < be {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

fn subtract<T: Bits>(a: &[(T, T)], b: &[(T, T)]) -> Vec<(T, T)> {
    let mut out = Vec::new();
    let mut j = 0;
    for &(s0, e) in a {
        let mut s = s0;
        let mut alive = true;
        while let Some(&(bs, be)) = b.get(j) {
            if be < s {
                j += 1;
                continue;
            }
            if bs > e {
                break;
            }
            if bs > s {
                out.push((s, bs.dec()));
            }
            match be.checked_inc() {
                Some(n) if be < e => s = n,
                _ => {
                    alive = false;
                    break;
                }
            }
            j += 1;
        }
        if alive {
            out.push((s, e));
        }
    }
    out
}

/// Splits `[s, e]` into the largest aligned blocks, calling `f(start, prefix_len)`.
pub(crate) fn range_cidrs<T: Bits>(mut s: T, e: T, mut f: impl FnMut(T, u8)) {
    loop {
        let mut k = s.trailing_zeros().min(u32::from(T::WIDTH)) as u8;
        let span = e.sub(s);
        while k > 0 && T::low_mask(k) > span {
            k -= 1;
        }
        f(s, T::WIDTH - k);
        let last = s.add(T::low_mask(k));
        match last.checked_inc() {
            Some(n) if last < e => s = n,
            _ => break,
        }
    }
}

fn count<T: Bits>(v: &[(T, T)]) -> Option<u128> {
    v.iter().try_fold(0u128, |acc, &(s, e)| {
        acc.checked_add(e.sub(s).to_u128())?.checked_add(1)
    })
}

fn contains<T: Bits>(v: &[(T, T)], x: T) -> bool {
    let i = v.partition_point(|&(_, e)| e < x);
    v.get(i).is_some_and(|&(s, _)| s <= x)
}

fn v4_range(n: Ipv4Net) -> (u32, u32) {
    (u32::from(n.network()), u32::from(n.broadcast()))
}

fn v6_range(n: Ipv6Net) -> (u128, u128) {
    (u128::from(n.network()), u128::from(n.broadcast()))
}

/// An exact set of addresses, always normalized. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct PrefixSet {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl FromIterator<IpNet> for PrefixSet {
    fn from_iter<I: IntoIterator<Item = IpNet>>(iter: I) -> Self {
        collect(iter, [true, true])
    }
}

/// The set of the prefixes of `iter` whose family is kept (`[v4, v6]`).
fn collect<I: IntoIterator<Item = IpNet>>(iter: I, [keep_v4, keep_v6]: [bool; 2]) -> PrefixSet {
    let iter = iter.into_iter();
    // Room for all in each kept family: no copy while growing, and the pages one family
    // leaves unused are never touched.
    let n = iter.size_hint().0;
    let room = |keep: bool| if keep { n } else { 0 };
    let (mut v4, mut v6) = (
        Vec::with_capacity(room(keep_v4)),
        Vec::with_capacity(room(keep_v6)),
    );
    for net in iter {
        match net {
            IpNet::V4(n) if keep_v4 => v4.push(v4_range(n)),
            IpNet::V6(n) if keep_v6 => v6.push(v6_range(n)),
            _ => {}
        }
    }
    PrefixSet {
        v4: normalize(v4),
        v6: normalize(v6),
    }
}

impl PrefixSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The set of the prefixes of one family in `nets`, the others skipped: with
    /// [`PrefixSet::from_families`], a caller with threads builds a large set a family
    /// per core (collecting is mostly sorting).
    pub fn of_family<I: IntoIterator<Item = IpNet>>(nets: I, family: Family) -> Self {
        collect(nets, [family == Family::V4, family == Family::V6])
    }

    /// The IPv4 part of `v4` with the IPv6 part of `v6`.
    pub fn from_families(v4: PrefixSet, v6: PrefixSet) -> Self {
        PrefixSet {
            v4: v4.v4,
            v6: v6.v6,
        }
    }

    /// Builds a set from inclusive integer ranges (unsorted, overlapping is fine).
    pub fn from_ranges(v4: Vec<(u32, u32)>, v6: Vec<(u128, u128)>) -> Self {
        PrefixSet {
            v4: normalize(v4.into_iter().filter(|r| r.0 <= r.1).collect()),
            v6: normalize(v6.into_iter().filter(|r| r.0 <= r.1).collect()),
        }
    }

    /// The IPv4 part as sorted, disjoint, non-adjacent inclusive ranges.
    pub fn v4_ranges(&self) -> &[(u32, u32)] {
        &self.v4
    }

    /// The IPv6 part as sorted, disjoint, non-adjacent inclusive ranges.
    pub fn v6_ranges(&self) -> &[(u128, u128)] {
        &self.v6
    }

    /// Adds every address of `net`.
    pub fn insert(&mut self, net: IpNet) {
        match net {
            IpNet::V4(n) => {
                let mut v = core::mem::take(&mut self.v4);
                v.push(v4_range(n));
                self.v4 = normalize(v);
            }
            IpNet::V6(n) => {
                let mut v = core::mem::take(&mut self.v6);
                v.push(v6_range(n));
                self.v6 = normalize(v);
            }
        }
    }

    /// Addresses in either set.
    pub fn union(&self, other: &PrefixSet) -> PrefixSet {
        let v4 = self.v4.iter().chain(&other.v4).copied().collect();
        let v6 = self.v6.iter().chain(&other.v6).copied().collect();
        PrefixSet {
            v4: normalize(v4),
            v6: normalize(v6),
        }
    }

    /// Addresses in both sets.
    pub fn intersection(&self, other: &PrefixSet) -> PrefixSet {
        PrefixSet {
            v4: intersect(&self.v4, &other.v4),
            v6: intersect(&self.v6, &other.v6),
        }
    }

    /// Addresses in `self` but not in `other` (e.g. AMAZON minus EC2).
    pub fn difference(&self, other: &PrefixSet) -> PrefixSet {
        PrefixSet {
            v4: subtract(&self.v4, &other.v4),
            v6: subtract(&self.v6, &other.v6),
        }
    }

    /// Only the IPv4 part.
    pub fn ipv4(&self) -> PrefixSet {
        PrefixSet {
            v4: self.v4.clone(),
            v6: Vec::new(),
        }
    }

    /// Only the IPv6 part.
    pub fn ipv6(&self) -> PrefixSet {
        PrefixSet {
            v4: Vec::new(),
            v6: self.v6.clone(),
        }
    }

    /// Whether the set holds no address.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Whether `ip` is in the set. An IPv4-mapped IPv6 address is not an IPv4 address
    /// here; use [`crate::prefix::canonical`] first for lookup semantics.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => contains(&self.v4, u32::from(a)),
            IpAddr::V6(a) => contains(&self.v6, u128::from(a)),
        }
    }

    /// Whether no address of `net` is in the set.
    pub fn is_disjoint_from(&self, net: IpNet) -> bool {
        fn disjoint<T: Bits>(v: &[(T, T)], (s, e): (T, T)) -> bool {
            let i = v.partition_point(|&(_, end)| end < s);
            v.get(i).is_none_or(|&(start, _)| start > e)
        }
        match net {
            IpNet::V4(n) => disjoint(&self.v4, v4_range(n)),
            IpNet::V6(n) => disjoint(&self.v6, v6_range(n)),
        }
    }

    /// Whether every address of `other` is in `self`.
    pub fn is_superset(&self, other: &PrefixSet) -> bool {
        other.difference(self).is_empty()
    }

    /// The number of IPv4 addresses.
    pub fn count_v4(&self) -> u64 {
        // At most 2^32, which fits.
        count(&self.v4).map_or(u64::MAX, |n| u64::try_from(n).unwrap_or(u64::MAX))
    }

    /// The number of IPv6 addresses; `None` only for the whole space (2^128).
    pub fn count_v6(&self) -> Option<u128> {
        count(&self.v6)
    }

    /// The minimal exact CIDR cover, IPv4 first, each family in address order.
    pub fn cidrs(&self) -> impl Iterator<Item = IpNet> + '_ {
        self.cidrs_v4()
            .into_iter()
            .map(IpNet::V4)
            .chain(self.cidrs_v6().into_iter().map(IpNet::V6))
    }

    /// The minimal exact CIDR cover of the IPv4 part.
    pub fn cidrs_v4(&self) -> Vec<Ipv4Net> {
        let mut out = Vec::new();
        for &(s, e) in &self.v4 {
            range_cidrs(s, e, |a, len| {
                out.push(Ipv4Net::new_assert(Ipv4Addr::from(a), len))
            });
        }
        out
    }

    /// The minimal exact CIDR cover of the IPv6 part.
    pub fn cidrs_v6(&self) -> Vec<Ipv6Net> {
        let mut out = Vec::new();
        for &(s, e) in &self.v6 {
            range_cidrs(s, e, |a, len| {
                out.push(Ipv6Net::new_assert(Ipv6Addr::from(a), len))
            });
        }
        out
    }

    /// The number of prefixes in the minimal cover, without building it.
    pub fn cidr_count(&self) -> usize {
        let mut n = 0;
        for &(s, e) in &self.v4 {
            range_cidrs(s, e, |_, _| n += 1);
        }
        for &(s, e) in &self.v6 {
            range_cidrs(s, e, |_, _| n += 1);
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::{String, ToString};
    use alloc::vec;
    use proptest::prelude::*;

    fn set(list: &[&str]) -> PrefixSet {
        list.iter().map(|s| s.parse::<IpNet>().unwrap()).collect()
    }
    fn show(s: &PrefixSet) -> Vec<String> {
        s.cidrs().map(|n| n.to_string()).collect()
    }

    #[test]
    fn aggregates_like_cidr_merge() {
        let s = set(&[
            "10.0.0.0/24",
            "10.0.1.0/24",
            "10.0.2.0/24",
            "10.0.3.1/32",
            "10.0.3.0/32",
        ]);
        assert_eq!(show(&s), ["10.0.0.0/23", "10.0.2.0/24", "10.0.3.0/31"]);
        let whole = set(&["0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"]);
        assert_eq!(show(&whole), ["0.0.0.0/0", "::/0"]);
        assert_eq!(whole.count_v4(), 1 << 32);
        assert_eq!(whole.count_v6(), None);
        assert_eq!(set(&["::/1"]).count_v6(), Some(1 << 127));
    }

    #[test]
    fn algebra_edges() {
        let a = set(&["255.255.255.0/24", "ffff::/16"]);
        let b = set(&["255.255.255.255/32", "ffff:ffff::/32"]);
        assert_eq!(
            show(&a.difference(&b)),
            [
                "255.255.255.0/25",
                "255.255.255.128/26",
                "255.255.255.192/27",
                "255.255.255.224/28",
                "255.255.255.240/29",
                "255.255.255.248/30",
                "255.255.255.252/31",
                "255.255.255.254/32",
                "ffff::/17",
                "ffff:8000::/18",
                "ffff:c000::/19",
                "ffff:e000::/20",
                "ffff:f000::/21",
                "ffff:f800::/22",
                "ffff:fc00::/23",
                "ffff:fe00::/24",
                "ffff:ff00::/25",
                "ffff:ff80::/26",
                "ffff:ffc0::/27",
                "ffff:ffe0::/28",
                "ffff:fff0::/29",
                "ffff:fff8::/30",
                "ffff:fffc::/31",
                "ffff:fffe::/32"
            ]
        );
        assert_eq!(a.intersection(&b), b);
        assert!(a.is_superset(&b));
        assert!(a.union(&b) == a);
        assert!(PrefixSet::new().is_empty());
    }

    /// Small 8-bit address space: every address of 10.0.0.0/24 is a bit in a u256 model.
    fn model(s: &PrefixSet) -> Vec<bool> {
        (0u32..256)
            .map(|i| s.contains(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i))))
            .collect()
    }

    fn small_set() -> impl Strategy<Value = PrefixSet> {
        prop::collection::vec((0u32..256, 24u8..=32), 0..12).prop_map(|v| {
            v.into_iter()
                .map(|(a, len)| {
                    IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::from(0x0a00_0000 + a), len).trunc())
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn ops_match_brute_force(a in small_set(), b in small_set()) {
            let (ma, mb) = (model(&a), model(&b));
            let u: Vec<bool> = ma.iter().zip(&mb).map(|(x, y)| *x || *y).collect();
            let i: Vec<bool> = ma.iter().zip(&mb).map(|(x, y)| *x && *y).collect();
            let d: Vec<bool> = ma.iter().zip(&mb).map(|(x, y)| *x && !*y).collect();
            prop_assert_eq!(model(&a.union(&b)), u);
            prop_assert_eq!(model(&a.intersection(&b)), i);
            prop_assert_eq!(model(&a.difference(&b)), d);
            prop_assert_eq!(a.count_v4() as usize, ma.iter().filter(|x| **x).count());
        }

        #[test]
        fn cover_is_exact_minimal_and_canonical(a in small_set()) {
            let cidrs = a.cidrs_v4();
            // Exact: the cover rebuilds the same set.
            let back: PrefixSet = cidrs.iter().map(|n| IpNet::V4(*n)).collect();
            prop_assert_eq!(&back, &a);
            // Minimal: no two blocks are siblings (they would merge) and none overlap.
            for w in cidrs.windows(2) {
                prop_assert!(u32::from(w[0].broadcast()) < u32::from(w[1].network()));
                let siblings = w[0].prefix_len() == w[1].prefix_len() && w[0].supernet() == w[1].supernet();
                prop_assert!(!siblings, "{} and {} should merge", w[0], w[1]);
            }
            prop_assert_eq!(a.cidr_count(), cidrs.len());
        }
    }

    proptest! {
        // Large enough for the radix sort's passes over every byte of the start.
        #[test]
        fn normalize_covers_exactly_the_given_ranges(
            v in prop::collection::vec((0u32..4, 0u32..2048, 0u32..48), 0..1500)
        ) {
            let ranges: Vec<(u32, u32)> =
                v.iter().map(|&(hi, lo, n)| ((hi << 24) | lo, ((hi << 24) | lo) + n)).collect();
            let want: alloc::collections::BTreeSet<u32> =
                ranges.iter().flat_map(|&(s, e)| s..=e).collect();
            let out = normalize(ranges);
            for w in out.windows(2) {
                prop_assert!(w[0].1 + 1 < w[1].0, "{:?} and {:?}", w[0], w[1]);
            }
            let got: alloc::collections::BTreeSet<u32> =
                out.iter().flat_map(|&(s, e)| s..=e).collect();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn from_ranges_ignores_inverted() {
        let s = PrefixSet::from_ranges(vec![(5, 3), (1, 2)], vec![]);
        assert_eq!(s.v4_ranges(), &[(1, 2)]);
    }
}
