//! The fast paths behind `contains`, `lookup`, `containsMany` and `lookupMany`.
//!
//! Passing a JS string into wasm normally costs an allocation, a copy and a free per
//! call, and returning a JS object costs several crossings; together they cost many
//! times the lookup itself (docs/performance.md, "WebAssembly"). Here, instead:
//! - the JS side (`wasm/js/fast.js`, appended to the generated bindings) writes the
//!   address's ASCII bytes into [`SCRATCH`], a fixed buffer in wasm memory, and calls a
//!   method that takes only numbers and returns a number;
//! - a lookup returns the matched prefix's id ([`id`]: the core's `Match::index` plus
//!   one), which JS maps to the result object it built the first time;
//! - batches of binary addresses (`Uint32Array` IPv4, 16-byte `Uint8Array` IPv6) cross
//!   as one typed array each way.
//!
//! Anything unusual (not ASCII, too long, not an address) answers "error", and JS then
//! calls the ordinary method, which throws the core's message.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU8, Ordering};

use ipfence_core::crawler::{is_word_byte, ClaimSet};
use ipfence_core::prefix::{canonical, parse_prefix, HostBits};
use ipfence_core::{Match, Matcher};

/// Room for the longest address text (`ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`
/// is 45 bytes), rounded up.
pub const SCRATCH_LEN: usize = 64;

/// Where JS writes one address as ASCII before a fast call. Atomics only so that a
/// `static` may be written from outside Rust without `unsafe`; on wasm32 without threads
/// a relaxed load is a plain load.
static SCRATCH: [AtomicU8; SCRATCH_LEN] = [const { AtomicU8::new(0) }; SCRATCH_LEN];

/// The scratch buffer's address in wasm memory.
pub fn scratch_ptr() -> usize {
    SCRATCH.as_ptr() as usize
}

/// Room for a user agent in [`UA_SCRATCH`]; a longer one is scanned a part at a time
/// ([`str_claims`]).
pub const UA_SCRATCH_LEN: usize = 512;

/// Where JS writes a user agent for `verifyBot`, UTF-8 encoded (`TextEncoder.encodeInto`:
/// native code, 55 to 75 ns in node for a 200-character user agent, where a JS loop of
/// `charCodeAt` or wasm-bindgen's string crossing took 0.5 to 1 µs). The crawler tokens
/// are ASCII, and every other character only separates words, as its UTF-8 bytes do.
static UA_SCRATCH: [AtomicU8; UA_SCRATCH_LEN] = [const { AtomicU8::new(0) }; UA_SCRATCH_LEN];

/// The user-agent scratch buffer's address in wasm memory.
pub fn ua_scratch_ptr() -> usize {
    UA_SCRATCH.as_ptr() as usize
}

/// The crawlers claimed by the first `len` bytes of the user-agent scratch buffer, read
/// in place (a copy out would cost a `memory.fill`/`memory.copy` call, see [`Text`]).
pub fn ua_claims(len: u32) -> u32 {
    scratch_claims(usize::try_from(len).unwrap_or(UA_SCRATCH_LEN))
}

/// [`ua_claims`] of a length in bytes.
fn scratch_claims(len: usize) -> u32 {
    ClaimSet::scan(len.min(UA_SCRATCH_LEN), |i| {
        UA_SCRATCH.get(i).map_or(0, |b| b.load(Ordering::Relaxed))
    })
    .0
}

/// The crawlers `user_agent` claims, as [`ClaimSet::of`] finds them, scanned through the
/// scratch buffer: the .wasm then holds one copy of the core's scan, not a second one
/// for slices (0.4 KB gzipped in the lite module). For the slow paths only (the
/// ordinary `verifyBot`, user agents longer than the buffer).
///
/// A longer user agent goes a part at a time, each ending at a byte that separates
/// words, so that no word is cut; a part without one lies inside a word too long to be
/// a token, which is skipped.
pub fn str_claims(user_agent: &str) -> u32 {
    let mut bits = 0;
    let mut rest = user_agent.as_bytes();
    while !rest.is_empty() {
        let part = if rest.len() <= UA_SCRATCH_LEN {
            rest.len()
        } else {
            let window = rest.get(..UA_SCRATCH_LEN).unwrap_or(rest);
            match window.iter().rposition(|&b| !is_word_byte(b)) {
                Some(i) => i + 1,
                None => {
                    let end = rest.iter().position(|&b| !is_word_byte(b));
                    rest = rest.get(end.unwrap_or(rest.len())..).unwrap_or_default();
                    continue;
                }
            }
        };
        for (to, &b) in UA_SCRATCH.iter().zip(rest.get(..part).unwrap_or_default()) {
            to.store(b, Ordering::Relaxed);
        }
        bits |= scratch_claims(part);
        rest = rest.get(part..).unwrap_or_default();
    }
    bits
}

/// What a fast call answers when the input is not a plain address: JS then calls the
/// ordinary method, whose error names the input.
pub const NOT_AN_ADDRESS: u32 = u32::MAX;

/// Bytes to read an address from: a slice, or the scratch buffer in place.
///
/// In place because copying it out costs a `memory.fill`/`memory.copy`, which V8 runs as
/// calls out of the compiled code: tens of nanoseconds each, measured.
pub trait Text: Copy {
    /// How many bytes.
    fn len(self) -> usize;
    /// Byte `i`, or `None` past the end.
    fn at(self, i: usize) -> Option<u8>;
}

impl Text for &[u8] {
    #[inline(always)]
    fn len(self) -> usize {
        <[u8]>::len(self)
    }
    #[inline(always)]
    fn at(self, i: usize) -> Option<u8> {
        self.get(i).copied()
    }
}

/// The first `.0` bytes of [`SCRATCH`].
#[derive(Clone, Copy)]
pub struct Scratch(usize);

impl Text for Scratch {
    #[inline(always)]
    fn len(self) -> usize {
        self.0
    }
    #[inline(always)]
    fn at(self, i: usize) -> Option<u8> {
        if i < self.0 {
            SCRATCH.get(i).map(|b| b.load(Ordering::Relaxed))
        } else {
            None
        }
    }
}

/// Parses an address the way the ordinary methods do (strict, IPv4-mapped IPv6 as
/// IPv4); `None` for anything that is not an address: the readers of the scratch buffer
/// on a slice, so the tests below can hold them to the core's `parse_addr`.
///
/// Dotted-quad IPv4 and plain IPv6 (hex groups, at most one `::`) are read in one pass,
/// in place (the core's readers need a slice, and copying the scratch buffer out costs a
/// `memory.copy`); anything else (an IPv4 tail in IPv6, errors) goes to the core's
/// parser.
#[cfg(test)]
pub fn parse(s: &str) -> Option<IpAddr> {
    parse_text(s.as_bytes())
}

#[inline(always)]
fn parse_text<T: Text>(t: T) -> Option<IpAddr> {
    if let Some(n) = v4_text(t) {
        return Some(IpAddr::V4(Ipv4Addr::from(n)));
    }
    if let Some(n) = v6_text(t) {
        return Some(canonical(IpAddr::V6(Ipv6Addr::from(n))));
    }
    let mut buf = [0u8; SCRATCH_LEN];
    let len = t.len().min(SCRATCH_LEN);
    for (i, b) in buf.iter_mut().enumerate().take(len) {
        *b = t.at(i)?;
    }
    if t.len() > SCRATCH_LEN {
        return parse_other(&[]);
    }
    parse_other(buf.get(..len)?)
}

/// What the one-pass readers leave: IPv6 with an IPv4 tail, or not an address.
#[inline(never)]
fn parse_other(b: &[u8]) -> Option<IpAddr> {
    // `parse_prefix` with a bare address allowed would also take `1.2.3.4/32`.
    if b.is_empty() || b.contains(&b'/') {
        return None;
    }
    parse_prefix(std::str::from_utf8(b).ok()?, HostBits::Reject, true)
        .ok()
        .map(|net| canonical(net.addr()))
}

/// Reads the first `len` bytes of the scratch buffer as an address.
#[inline(always)]
pub fn scratch_addr(len: u32) -> Option<IpAddr> {
    let len = usize::try_from(len).ok().filter(|&n| n <= SCRATCH_LEN)?;
    parse_text(Scratch(len))
}

/// `a.b.c.d`, decimal octets of one to three digits, no leading zeros.
#[inline(always)]
fn v4_text<T: Text>(s: T) -> Option<u32> {
    let (mut acc, mut octet, mut digits, mut dots) = (0u32, 0u32, 0u32, 0u32);
    for i in 0..s.len() {
        let b = s.at(i)?;
        if b == b'.' {
            if digits == 0 || dots == 3 {
                return None;
            }
            acc = (acc << 8) | octet;
            (octet, digits) = (0, 0);
            dots += 1;
        } else {
            let d = u32::from(b.wrapping_sub(b'0'));
            // Not a digit, a fourth digit, or a digit after a leading zero.
            if d > 9 || digits == 3 || (digits > 0 && octet == 0) {
                return None;
            }
            octet = octet * 10 + d;
            if octet > 255 {
                return None;
            }
            digits += 1;
        }
    }
    (dots == 3 && digits > 0).then_some((acc << 8) | octet)
}

#[inline(always)]
fn hex(b: u8) -> u32 {
    match b {
        b'0'..=b'9' => u32::from(b - b'0'),
        b'a'..=b'f' => u32::from(b - b'a' + 10),
        b'A'..=b'F' => u32::from(b - b'A' + 10),
        _ => 16,
    }
}

/// IPv6 of hex groups (one to four digits) with at most one `::` standing for at least
/// one zero group; no IPv4 tail (the core's parser reads those).
///
/// The groups before `::` go into `head`, those after into `tail`, 16 bits a group:
/// no arrays, so no `memory.copy` (see [`Text`]).
#[inline(always)]
fn v6_text<T: Text>(s: T) -> Option<u128> {
    let len = s.len();
    let (mut head, mut tail) = (0u128, 0u128);
    let (mut n, mut n_tail) = (0u32, 0u32);
    let mut gap = false;
    let mut i = 0usize;
    if s.at(0) == Some(b':') && s.at(1) == Some(b':') {
        if len == 2 {
            return Some(0);
        }
        gap = true;
        i = 2;
    }
    loop {
        let (mut v, mut digits) = (0u32, 0);
        while let Some(h) = s.at(i).map(hex).filter(|&h| h < 16) {
            if digits == 4 {
                return None;
            }
            v = (v << 4) | h;
            digits += 1;
            i += 1;
        }
        if digits == 0 || n == 8 {
            return None;
        }
        if gap {
            tail = (tail << 16) | u128::from(v);
            n_tail += 1;
        } else {
            head = (head << 16) | u128::from(v);
        }
        n += 1;
        match s.at(i) {
            None => break,
            Some(b':') => {
                i += 1;
                if s.at(i) == Some(b':') {
                    if gap {
                        return None;
                    }
                    gap = true;
                    i += 1;
                    if i == len {
                        break;
                    }
                } else if i == len {
                    return None;
                }
            }
            Some(_) => return None,
        }
    }
    match (gap, n) {
        (false, 8) => Some(head),
        // `::` stands for at least one group; the head's groups go to the top.
        (true, n) if n < 8 => Some(head.checked_shl(16 * (8 - (n - n_tail))).unwrap_or(0) | tail),
        _ => None,
    }
}

/// An IPv6 address from 16 bytes in network order; IPv4-mapped ones as IPv4.
pub fn v6_from_bytes(b: &[u8]) -> Option<IpAddr> {
    let b: [u8; 16] = b.try_into().ok()?;
    Some(canonical(IpAddr::V6(Ipv6Addr::from(b))))
}

/// An IPv6 address from four 32-bit words, most significant first; IPv4-mapped ones as
/// IPv4.
pub fn v6_from_words(a: u32, b: u32, c: u32, d: u32) -> IpAddr {
    let n = (u128::from(a) << 96) | (u128::from(b) << 64) | (u128::from(c) << 32) | u128::from(d);
    canonical(IpAddr::V6(Ipv6Addr::from(n)))
}

/// [`Matcher::contains`] with each family's walk inlined at the caller: the generic
/// method stays one out-of-line call per address in the .wasm. For the batch loops
/// (measured, ns per address: `containsMany` of a `Uint8Array` 29 -> 17, `lookupMany`
/// 35 -> 21; with `contains_v4`/`lookup_v4` for a `Uint32Array` 9.5 -> 5.4 and
/// 14.2 -> 10.1).
#[inline(always)]
pub fn contains(m: &Matcher<Vec<u8>>, ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(a) => m.contains_v4(a),
        IpAddr::V6(a) => m.contains_v6(a),
    }
}

/// [`Matcher::lookup`], inlined like [`contains`].
#[inline(always)]
pub fn lookup(m: &Matcher<Vec<u8>>, ip: IpAddr) -> Option<Match<'_>> {
    match canonical(ip) {
        IpAddr::V4(a) => m.lookup_v4(a),
        IpAddr::V6(a) => m.lookup_v6(a),
    }
}

/// The prefix id of a match: its core index plus one (0 is "no match").
pub fn id(m: Option<Match<'_>>) -> u32 {
    // At most 2^31 prefixes (the blob format's limit), so the id fits.
    m.map_or(0, |m| {
        u32::try_from(m.index() + 1).unwrap_or(NOT_AN_ADDRESS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_agrees_with_the_core_on_edges() {
        use ipfence_core::prefix::parse_addr;
        for s in [
            "3.5.140.2",
            "0.0.0.0",
            "255.255.255.255",
            "2600:1f18::1",
            "::",
            "::1",
            "1::",
            "::ffff:3.5.140.2",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "ABCD::EF",
            "01.2.3.4",
            "1.2.3.4/32",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1.2.3.-4",
            " 1.2.3.4",
            "",
            "1:2:3:4:5:6:7:8:9",
            "1::2::3",
            "12345::",
            "::/0",
            "fe80::1%eth0",
            "nope",
            "1.2.3.04",
            "1.2.3.0",
            "1.2.3.",
            ".1.2.3",
            "1..2.3",
            "1:2:3:4:5:6:7:8::",
            "::1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7",
            ":1::",
            "1::2:",
            "::ffff:1.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
        ] {
            assert_eq!(
                parse(s),
                parse_addr(s).ok().map(canonical),
                "{s:?}: fast parse and the core's parse_addr disagree"
            );
        }
    }

    #[test]
    fn binary_forms() {
        let mapped: Ipv6Addr = "::ffff:3.5.140.2".parse().unwrap();
        assert_eq!(
            v6_from_bytes(&mapped.octets()),
            Some("3.5.140.2".parse().unwrap())
        );
        assert_eq!(v6_from_bytes(&[0; 15]), None);
    }

    /// The only test that writes the user-agent scratch buffer (tests run in parallel).
    #[test]
    fn str_claims_agrees_with_the_core_across_parts() {
        let tokens = ["Googlebot", "GPTBot", "bingbot", "Google-Site-Verification"];
        let fills: [&str; 4] = ["x", " ", "ab ", "\u{e9}"];
        for fill in fills {
            for pad in UA_SCRATCH_LEN - 40..UA_SCRATCH_LEN + 8 {
                for tok in tokens {
                    let head: String = fill.chars().cycle().take(pad).collect();
                    for ua in [
                        format!("{head} {tok}/2.1 {tok}"),
                        format!("{head}{tok} x"),
                        format!("{head}/{tok};"),
                        format!("{tok} {head} {tok}"),
                        format!("{head}{head}{head} {tok}"),
                    ] {
                        let want = ClaimSet::of(&ua).0;
                        assert_eq!(str_claims(&ua), want, "{ua:?}");
                        if ua.len() <= UA_SCRATCH_LEN {
                            assert_eq!(ua_claims(ua.len() as u32), want, "{ua:?}");
                        }
                    }
                }
            }
        }
        assert_eq!(str_claims(""), 0);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use ipfence_core::prefix::parse_addr;
    use proptest::prelude::*;

    proptest! {
        /// Any text: the fast parse accepts exactly what `parse_addr` accepts, with the
        /// same address.
        #[test]
        fn parse_is_parse_addr(s in "[0-9a-fA-F:./]{0,20}") {
            prop_assert_eq!(parse(&s), parse_addr(&s).ok().map(canonical));
        }

        /// Near-addresses: dotted quads and colon groups with odd digits and separators.
        #[test]
        fn parse_is_parse_addr_near_addresses(
            s in "([0-9]{1,4}[.]){2,4}[0-9]{0,4}|(:|[0-9a-fA-F]{1,5}:){1,9}[0-9a-fA-F]{0,5}"
        ) {
            prop_assert_eq!(parse(&s), parse_addr(&s).ok().map(canonical));
        }

        #[test]
        fn printed_addresses_parse_back(a in any::<u128>(), b in any::<u32>()) {
            for ip in [IpAddr::V6(Ipv6Addr::from(a)), IpAddr::V4(Ipv4Addr::from(b))] {
                prop_assert_eq!(parse(&ip.to_string()), Some(canonical(ip)));
            }
        }
    }
}
