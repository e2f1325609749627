//! Strict parsing of addresses and CIDR prefixes.
//!
//! Published lists are machine-written, so anything unusual is more likely a corrupt
//! download than a style choice: leading zeros (`01.2.3.4`, `/08`), signs, blanks and
//! host bits (`10.0.0.1/8`) are errors. Host bits may be masked on request
//! ([`HostBits::Mask`]), never silently.

use alloc::format;
use alloc::string::String;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// What to do with a prefix whose address has bits set past the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostBits {
    /// `10.0.0.1/8` is an error that shows the value and the network it probably meant.
    #[default]
    Reject,
    /// `10.0.0.1/8` is read as `10.0.0.0/8`.
    Mask,
}

/// Parses an IPv4 or IPv6 address. Leading zeros in IPv4 octets are rejected
/// (`01.2.3.4` is octal to some tools and decimal to others).
///
/// # Errors
/// A message that quotes the value and says why it is not an address.
pub fn parse_addr(s: &str) -> Result<IpAddr, String> {
    read_addr(s).ok_or_else(|| format!("{} is not an IPv4 or IPv6 address", crate::error::quote(s)))
}

/// An address, or `None`: the one-pass readers answer the usual forms (checked against
/// std's parser by the property tests below), std's parser the rest.
fn read_addr(s: &str) -> Option<IpAddr> {
    let b = s.as_bytes();
    // IPv6 has a `:` within its first five bytes (a group is at most four digits), IPv4
    // none: each text goes to one reader, without scanning it for the other.
    if b.iter().take(5).any(|&c| c == b':') {
        return parse_v6_fast(b)
            .or_else(|| s.parse::<Ipv6Addr>().ok())
            .map(IpAddr::V6);
    }
    if let Some(v4) = parse_v4_fast(b) {
        return Some(IpAddr::V4(v4));
    }
    s.parse::<IpAddr>().ok()
}

/// A dotted quad from bytes, as std's `Ipv4Addr` parser (and inet_pton) reads it: four
/// decimal parts from 0 to 255 without leading zeros; `None` for anything else.
pub fn read_v4(b: &[u8]) -> Option<Ipv4Addr> {
    parse_v4_fast(b)
}

/// The usual IPv6 forms from bytes, in one pass (hex groups, at most one `::`, no
/// embedded IPv4): `Some` only where std's parser gives the same address; `None` means
/// "ask std's parser", not "invalid".
pub fn read_v6_fast(b: &[u8]) -> Option<Ipv6Addr> {
    parse_v6_fast(b)
}

/// Parses `ADDR/LEN`. With `allow_bare`, a bare address means `/32` or `/128`.
///
/// # Errors
/// A message that quotes the value and says what is wrong with it: not an address,
/// prefix length out of range or not plain decimal, host bits set (with the likely
/// meant network).
pub fn parse_prefix(s: &str, host_bits: HostBits, allow_bare: bool) -> Result<IpNet, String> {
    let q = crate::error::quote;
    let fast =
        parse_v4_prefix_fast(s.as_bytes()).map(|(a, len)| IpNet::V4(Ipv4Net::new_assert(a, len)));
    if let Some(net) = fast {
        let trunc = net.trunc();
        if trunc == net || host_bits == HostBits::Mask {
            return Ok(trunc);
        }
    }
    // A byte search: `split_once('/')` sets up a char searcher, which costs more than
    // the scan itself on strings this short.
    let (addr_text, len_text) = match s.bytes().position(|b| b == b'/') {
        Some(i) => match (s.get(..i), s.get(i + 1..)) {
            (Some(a), Some(l)) => (a, Some(l)),
            _ => (s, None),
        },
        None if allow_bare => (s, None),
        None => return Err(format!("{} is not a CIDR prefix (expected ADDR/LEN)", q(s))),
    };
    let addr = read_addr(addr_text).ok_or_else(|| {
        format!(
            "{} is not a CIDR prefix: {} is not an IPv4 or IPv6 address",
            q(s),
            q(addr_text)
        )
    })?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len_text {
        None => max,
        Some(l) => parse_len(l).filter(|&n| n <= max).ok_or_else(|| {
            format!(
                "{} is not a CIDR prefix: length {} is not a whole number from 0 to {max}",
                q(s),
                q(l)
            )
        })?,
    };
    let net = match addr {
        IpAddr::V4(a) => IpNet::V4(Ipv4Net::new_assert(a, len)),
        IpAddr::V6(a) => IpNet::V6(Ipv6Net::new_assert(a, len)),
    };
    let trunc = net.trunc();
    if trunc != net && host_bits == HostBits::Reject {
        return Err(format!(
            "{} has host bits set (did you mean {trunc}? pass --lenient to mask host bits)",
            q(s)
        ));
    }
    Ok(trunc)
}

/// A prefix as published lists write it (`4.156.0.0/15`, `2603:1030:210::/47`: no
/// spaces, no bare address, the usual address forms), read without building an error
/// message; `None` for anything else, which [`parse_prefix`] then reads or refuses with
/// its message. Host bits follow `host_bits`, as there.
pub fn parse_prefix_plain(s: &[u8], host_bits: HostBits) -> Option<IpNet> {
    let net = match parse_v4_prefix_fast(s) {
        Some((a, len)) => IpNet::V4(Ipv4Net::new_assert(a, len)),
        None => {
            let slash = s.iter().rposition(|&b| b == b'/')?;
            let a = parse_v6_fast(s.get(..slash)?)?;
            let len = parse_len_bytes(s.get(slash + 1..)?).filter(|&l| l <= 128)?;
            IpNet::V6(Ipv6Net::new_assert(a, len))
        }
    };
    let trunc = net.trunc();
    (trunc == net || host_bits == HostBits::Mask).then_some(trunc)
}

/// Dotted-quad IPv4 without leading zeros, the common case in published lists, parsed
/// without the general parser; `None` for anything else (which the general parser then
/// accepts or rejects with the same rules).
fn parse_v4_fast(s: &[u8]) -> Option<Ipv4Addr> {
    // One pass, as `parse_v4_prefix_fast` reads its address (no split iterator).
    let mut octets = [0u8; 4];
    let mut it = s.iter();
    for (k, o) in octets.iter_mut().enumerate() {
        let mut v = 0u16;
        let mut digits = 0;
        loop {
            let Some(&b) = it.next() else {
                // The end of the text ends the fourth part only.
                if k == 3 && digits > 0 {
                    break;
                }
                return None;
            };
            if b == b'.' && k < 3 {
                break;
            }
            let d = b.wrapping_sub(b'0');
            // A digit after a leading zero, or a fourth digit.
            if d > 9 || (digits > 0 && v == 0) || digits == 3 {
                return None;
            }
            v = v * 10 + u16::from(d);
            digits += 1;
        }
        if digits == 0 {
            return None;
        }
        *o = u8::try_from(v).ok()?;
    }
    Some(Ipv4Addr::from(octets))
}

/// `a.b.c.d/len` in one pass, as [`parse_v4_fast`] and [`parse_len`] would read it;
/// `None` for anything else, which the general path then reads.
fn parse_v4_prefix_fast(s: &[u8]) -> Option<(Ipv4Addr, u8)> {
    let mut octets = [0u8; 4];
    let mut it = s.iter();
    for (k, o) in octets.iter_mut().enumerate() {
        let end = if k == 3 { b'/' } else { b'.' };
        let mut v = 0u16;
        let mut digits = 0;
        loop {
            let b = *it.next()?;
            if b == end {
                break;
            }
            let d = b.wrapping_sub(b'0');
            // A digit after a leading zero, or a fourth digit.
            if d > 9 || (digits > 0 && v == 0) || digits == 3 {
                return None;
            }
            v = v * 10 + u16::from(d);
            digits += 1;
        }
        if digits == 0 {
            return None;
        }
        *o = u8::try_from(v).ok()?;
    }
    let len = parse_len_bytes(it.as_slice())?;
    (len <= 32).then(|| (Ipv4Addr::from(octets), len))
}

/// The value of each hex digit byte, 0xff for any other byte: a table read instead of
/// the range tests of `to_digit`, whose branches mispredict on random digits and letters.
// Evaluated at compile time: an out-of-range index would fail the build, not panic.
#[allow(clippy::indexing_slicing)]
const HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// IPv6 as published: hex groups of one to four digits, at most one `::` standing for
/// at least one zero group, no embedded IPv4. `None` for anything else, which the
/// general parser then reads, so this only has to agree with it on what it accepts
/// (a property test checks that).
fn parse_v6_fast(s: &[u8]) -> Option<Ipv6Addr> {
    let mut groups = [0u16; 8];
    let mut n = 0;
    // Where `::` stands, as a group index.
    let mut gap = None;
    let mut i = 0;
    if s.starts_with(b"::") {
        gap = Some(0);
        i = 2;
    }
    while i < s.len() {
        let mut v = 0u16;
        let mut digits = 0;
        while let Some(h) = s
            .get(i)
            .and_then(|&b| HEX.get(usize::from(b)))
            .filter(|&&h| h < 16)
        {
            if digits == 4 {
                return None;
            }
            v = (v << 4) | u16::from(*h);
            digits += 1;
            i += 1;
        }
        if digits == 0 {
            return None;
        }
        *groups.get_mut(n)? = v;
        n += 1;
        match s.get(i) {
            None => break,
            Some(b':') if s.get(i + 1) == Some(&b':') => {
                if gap.is_some() {
                    return None;
                }
                gap = Some(n);
                i += 2;
            }
            Some(b':') => {
                i += 1;
                if i == s.len() {
                    return None;
                }
            }
            Some(_) => return None,
        }
    }
    match gap {
        None if n == 8 => Some(Ipv6Addr::from(groups)),
        // `::` stands for at least one group.
        Some(at) if n < 8 => {
            let tail = groups.get(at..n)?;
            let mut out = [0u16; 8];
            out.get_mut(..at)?.copy_from_slice(groups.get(..at)?);
            out.get_mut(8 - tail.len()..)?.copy_from_slice(tail);
            Some(Ipv6Addr::from(out))
        }
        _ => None,
    }
}

/// A prefix length: plain decimal digits, no sign, no leading zero (except `0`).
fn parse_len(s: &str) -> Option<u8> {
    parse_len_bytes(s.as_bytes())
}

fn parse_len_bytes(b: &[u8]) -> Option<u8> {
    if b.is_empty() || b.len() > 3 || (b.len() > 1 && b.first() == Some(&b'0')) {
        return None;
    }
    let mut v = 0u16;
    for &d in b {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u16::from(d - b'0');
    }
    u8::try_from(v).ok()
}

/// The address a lookup should use: an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`)
/// is looked up as the IPv4 address it carries, the way dual-stack sockets report
/// IPv4 clients. Every other address is returned as is.
#[inline]
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

/// The first address of an IPv4 prefix as an integer.
pub fn v4_bits(a: Ipv4Addr) -> u32 {
    u32::from(a)
}

/// The first address of an IPv6 prefix as an integer.
pub fn v6_bits(a: Ipv6Addr) -> u128 {
    u128::from(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        alloc::string::ToString::to_string(&parse_prefix(s, HostBits::Reject, true).unwrap())
    }
    fn err(s: &str) -> String {
        parse_prefix(s, HostBits::Reject, true).unwrap_err()
    }

    #[test]
    fn accepts_plain_prefixes_and_bare_addresses() {
        assert_eq!(ok("3.5.140.0/22"), "3.5.140.0/22");
        assert_eq!(ok("3.5.140.2"), "3.5.140.2/32");
        assert_eq!(ok("2600:1f14::/35"), "2600:1f14::/35");
        assert_eq!(ok("::1"), "::1/128");
        assert_eq!(ok("0.0.0.0/0"), "0.0.0.0/0");
    }

    #[test]
    fn rejects_bad_prefixes_with_the_value() {
        assert!(err("1.2.3.4/33").contains("length \"33\""));
        assert!(err("::/129").contains("from 0 to 128"));
        assert!(err("1.2.3").contains("\"1.2.3\" is not an IPv4"));
        assert!(err("01.2.3.4").contains("not an IPv4"));
        assert!(err("1.2.3.4/08").contains("length \"08\""));
        assert!(err("1.2.3.4/+8").contains("length"));
        assert!(err("1.2.3.4/").contains("length"));
        assert!(err(" 1.2.3.4/8").contains("not an IPv4"));
        let e = err("10.0.0.1/8");
        assert!(
            e.contains("\"10.0.0.1/8\" has host bits set (did you mean 10.0.0.0/8?"),
            "{e}"
        );
    }

    #[test]
    fn the_fast_ipv4_path_agrees_with_the_standard_parser() {
        for s in [
            "0.0.0.0",
            "255.255.255.255",
            "1.2.3.4",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1..2.3",
            "1.2.3.4 ",
            "+1.2.3.4",
            "١.2.3.4",
            "999.1.1.1",
            "1.2.3.04",
            "1.2.3.",
            "1.2.3.4.",
            ".1.2.3",
            "1.2.3.256",
            "0.0.0.00",
            "1.2.3.4/8",
        ] {
            assert_eq!(
                parse_v4_fast(s.as_bytes()),
                s.parse::<Ipv4Addr>().ok(),
                "{s}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_ipv4_path_matches_std(s in "[0-9.]{0,16}") {
            proptest::prop_assert_eq!(parse_v4_fast(s.as_bytes()), s.parse::<Ipv4Addr>().ok());
        }

        #[test]
        fn fast_ipv4_prefix_path_matches_the_general_one(s in "[0-9./]{0,20}") {
            if let Some((a, len)) = parse_v4_prefix_fast(s.as_bytes()) {
                let (addr, l) = s.split_once('/').unwrap();
                proptest::prop_assert_eq!(Some(a), parse_v4_fast(addr.as_bytes()));
                proptest::prop_assert_eq!(Some(len), parse_len(l).filter(|&n| n <= 32));
            } else if let Some((addr, l)) = s.split_once('/') {
                let both = parse_v4_fast(addr.as_bytes()).zip(parse_len(l).filter(|&n| n <= 32));
                proptest::prop_assert_eq!(both, None);
            }
        }

        /// The plain reader takes a subset of what `parse_prefix` takes, the same way.
        #[test]
        fn the_plain_prefix_reader_agrees_with_the_general_one(
            s in "[0-9a-f:./ ]{0,44}|([0-9]{1,3}\\.){3}[0-9]{1,3}/[0-9]{1,2}|[0-9a-f:]{2,39}/[0-9]{1,3}",
            mask in proptest::prelude::any::<bool>(),
        ) {
            let host_bits = if mask { HostBits::Mask } else { HostBits::Reject };
            if let Some(net) = parse_prefix_plain(s.as_bytes(), host_bits) {
                proptest::prop_assert_eq!(Ok(net), parse_prefix(&s, host_bits, false));
            }
        }

        #[test]
        fn parse_addr_agrees_with_std(s in "[0-9a-fA-F:.]{0,42}") {
            proptest::prop_assert_eq!(parse_addr(&s).ok(), s.parse::<IpAddr>().ok());
        }

        #[test]
        fn fast_ipv6_path_agrees_with_std(s in "[0-9a-fA-F:.g]{0,42}") {
            let std = s.parse::<Ipv6Addr>().ok();
            if let Some(a) = parse_v6_fast(s.as_bytes()) {
                proptest::prop_assert_eq!(Some(a), std);
            }
        }

        #[test]
        fn fast_ipv6_path_reads_what_std_writes(bits in proptest::prelude::any::<u128>(), zeros in 0usize..8, at in 0usize..8) {
            // Runs of zero groups, so that `::` appears in every position.
            let mut g = Ipv6Addr::from(bits).segments();
            for x in g.iter_mut().skip(at).take(zeros) {
                *x = 0;
            }
            let a = Ipv6Addr::from(g);
            let text = alloc::string::ToString::to_string(&a);
            if !text.contains('.') {
                proptest::prop_assert_eq!(parse_v6_fast(text.as_bytes()), Some(a));
            }
            let upper = text.to_uppercase();
            proptest::prop_assert_eq!(parse_v6_fast(upper.as_bytes()).or(Some(a)), Some(a));
        }
    }

    #[test]
    fn the_fast_ipv6_path_agrees_with_the_standard_parser() {
        for s in [
            "::",
            "::1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4::6:7:8",
            "2600:1f14::",
            "2600:1F14:0fff::",
            "1:2:3:4:5:6:7:8::",
            "::1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7",
            "1::2::3",
            ":::",
            ":1",
            "1:",
            "1:::2",
            "12345::",
            "::ffff:1.2.3.4",
            "g::",
            "",
        ] {
            let fast = parse_v6_fast(s.as_bytes());
            let std = s.parse::<Ipv6Addr>().ok();
            assert!(fast.is_none() || fast == std, "{s}");
            if !s.contains('.') {
                assert_eq!(fast, std, "{s}");
            }
        }
    }

    #[test]
    fn bare_address_needs_permission() {
        assert!(parse_prefix("1.2.3.4", HostBits::Reject, false)
            .unwrap_err()
            .contains("expected ADDR/LEN"));
    }

    #[test]
    fn lenient_masks_host_bits() {
        let n = parse_prefix("10.0.0.1/8", HostBits::Mask, false).unwrap();
        assert_eq!(alloc::string::ToString::to_string(&n), "10.0.0.0/8");
    }

    #[test]
    fn mapped_addresses_are_looked_up_as_ipv4() {
        let ip = parse_addr("::ffff:1.2.3.4").unwrap();
        assert_eq!(canonical(ip), parse_addr("1.2.3.4").unwrap());
        let v6 = parse_addr("2600::1").unwrap();
        assert_eq!(canonical(v6), v6);
    }
}
