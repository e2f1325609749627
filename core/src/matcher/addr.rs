//! The address trait the trie is generic over: `u32` for IPv4, `u128` for IPv6.

use alloc::vec::Vec;
use core::net::{Ipv4Addr, Ipv6Addr};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Bits consumed per trie node: 2^8 = 256 slots, one bit each in four `u64` words.
pub(crate) const STRIDE: u32 = 8;
/// Slots per node.
pub(crate) const SLOTS: usize = 1 << STRIDE;

/// An address as an unsigned integer, most significant bit first.
pub(crate) trait Addr: Copy + Ord + Eq + Default + core::fmt::Debug {
    /// Bits in an address.
    const WIDTH: u32;
    /// Bytes of an address in a blob record.
    const BYTES: usize;
    /// The [`STRIDE`] bits starting at bit `off` (0 = most significant), zero-padded
    /// past the end of the address. `off < WIDTH`.
    fn chunk(self, off: u32) -> usize;
    /// The address shifted left by `s` bits (`s < WIDTH`), zeros shifted in: the walk
    /// then reads each chunk from the top with [`Addr::head`] and shifts by a constant.
    fn skip(self, s: u32) -> Self;
    /// The top [`STRIDE`] bits: `chunk(0)`.
    fn head(self) -> usize;
    /// Shifted left by [`STRIDE`] bits.
    fn next(self) -> Self;
    /// The top `s` bits (`s <= 24`, `s <= WIDTH`) as an index.
    fn top(self, s: u32) -> usize;
    /// Reads an address stored little-endian at `at`.
    fn read(b: &[u8], at: usize) -> Option<Self>;
    /// Appends the address little-endian.
    fn write(self, out: &mut Vec<u8>);
    /// Keeps the top `len` bits, clearing the rest.
    fn truncate(self, len: u32) -> Self;
    /// The prefix `self/len` (`len <= WIDTH`, host bits clear).
    fn to_net(self, len: u8) -> IpNet;
}

impl Addr for u32 {
    const WIDTH: u32 = 32;
    const BYTES: usize = 4;
    #[inline(always)]
    fn chunk(self, off: u32) -> usize {
        (self.wrapping_shl(off) >> (32 - STRIDE)) as usize
    }
    #[inline(always)]
    fn skip(self, s: u32) -> Self {
        // `s <= 24`: no shift by the width.
        self.wrapping_shl(s)
    }
    #[inline(always)]
    fn head(self) -> usize {
        (self >> (32 - STRIDE)) as usize
    }
    #[inline(always)]
    fn next(self) -> Self {
        self << STRIDE
    }
    #[inline(always)]
    fn top(self, s: u32) -> usize {
        // Two shifts, so that s == 0 (a shift by the width) gives the single slot 0
        // without a compare.
        ((self >> 1) >> (31u32.wrapping_sub(s) & 31)) as usize
    }
    #[inline(always)]
    fn read(b: &[u8], at: usize) -> Option<Self> {
        match b.get(at..at.wrapping_add(4)) {
            Some(&[a, b, c, d]) => Some(u32::from_le_bytes([a, b, c, d])),
            _ => None,
        }
    }
    fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn truncate(self, len: u32) -> Self {
        match u32::MAX.checked_shl(32u32.saturating_sub(len)) {
            Some(mask) => self & mask,
            None => 0,
        }
    }
    fn to_net(self, len: u8) -> IpNet {
        Ipv4Net::new(Ipv4Addr::from(self), len).map_or(IpNet::V4(Ipv4Net::default()), IpNet::V4)
    }
}

impl Addr for u128 {
    const WIDTH: u32 = 128;
    const BYTES: usize = 16;
    #[inline(always)]
    fn chunk(self, off: u32) -> usize {
        (self.wrapping_shl(off) >> (128 - STRIDE)) as usize
    }
    #[inline(always)]
    fn skip(self, s: u32) -> Self {
        // `s <= 24`: no shift by the width.
        self.wrapping_shl(s)
    }
    #[inline(always)]
    fn head(self) -> usize {
        // Only the high word holds the top bits.
        ((self >> 64) as u64 >> (64 - STRIDE)) as usize
    }
    #[inline(always)]
    fn next(self) -> Self {
        self << STRIDE
    }
    #[inline(always)]
    fn top(self, s: u32) -> usize {
        // `s <= 24`: only the high word holds the top bits; two shifts as for `u32`.
        ((((self >> 64) as u64) >> 1) >> (63u32.wrapping_sub(s) & 63)) as usize
    }
    #[inline(always)]
    fn read(b: &[u8], at: usize) -> Option<Self> {
        let s = b.get(at..at.wrapping_add(16))?;
        let a: [u8; 16] = s.try_into().ok()?;
        Some(u128::from_le_bytes(a))
    }
    fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn truncate(self, len: u32) -> Self {
        match u128::MAX.checked_shl(128u32.saturating_sub(len)) {
            Some(mask) => self & mask,
            None => 0,
        }
    }
    fn to_net(self, len: u8) -> IpNet {
        Ipv6Net::new(Ipv6Addr::from(self), len).map_or(IpNet::V6(Ipv6Net::default()), IpNet::V6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_pads_with_zeros_past_the_end() {
        let a: u32 = 0xdead_beef;
        assert_eq!(a.chunk(0), 0xde);
        assert_eq!(a.chunk(24), 0xef);
        // bits 28..32 are 0xf, then four zero bits
        assert_eq!(a.chunk(28), 0xf0);
        let b: u128 = u128::MAX;
        assert_eq!(b.chunk(124), 0xf0);
        assert_eq!(b.chunk(120), 0xff);
    }

    #[test]
    fn shifting_walk_reads_the_same_chunks() {
        fn walk<A: Addr>(a: A, s: u32) {
            let mut rest = a.skip(s);
            let mut off = s;
            while off < A::WIDTH {
                assert_eq!(rest.head(), a.chunk(off), "{a:?} from {s} at {off}");
                rest = rest.next();
                off += STRIDE;
            }
        }
        for s in 0..=24 {
            walk(0xdead_beefu32, s);
            walk(0x8000_0001u32, s);
            walk(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210u128, s);
            walk(u128::MAX, s);
        }
    }

    #[test]
    fn top_and_truncate_edges() {
        assert_eq!(0xffff_ffffu32.top(0), 0);
        assert_eq!(0x1234_5678u32.top(16), 0x1234);
        assert_eq!(0x1234_5678u32.truncate(0), 0);
        assert_eq!(0x1234_5678u32.truncate(32), 0x1234_5678);
        assert_eq!(0x1234_5678u32.truncate(12), 0x1230_0000);
        assert_eq!(u128::MAX.truncate(1), 1u128 << 127);
        assert_eq!((1u128 << 112).top(16), 1);
    }
}
