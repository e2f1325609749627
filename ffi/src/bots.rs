//! `ipfence_matcher_verify_bot`: does an address match the crawler a user agent claims
//! (the core's `crawler` module: tokens, lists, verdicts)?

use std::ffi::{c_char, CString};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use ipfence_core::crawler::{self, ClaimSet, Loaded, Verdict, CRAWLERS, LISTS};

use crate::lookup::net_parts;
use crate::matcher::{ipfence_matcher, Handle};
use crate::{boundary, ipfence_result, try_out, try_slice, Failure};

/// What `ipfence_matcher_verify_bot` concludes.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ipfence_bot_verdict_kind {
    /// The user agent claims no known crawler.
    None = 0,
    /// The address is in a list of the claimed crawler (`list`, `prefix_*` say which).
    Genuine = 1,
    /// Every list of the claimed crawler is loaded and none holds the address.
    Fake = 2,
    /// A list of the claimed crawler is not in the matcher's data: ipfence cannot tell.
    Unverifiable = 3,
}

/// The answer of `ipfence_matcher_verify_bot`. Caller-owned; its strings are static
/// NUL-terminated C strings (never freed), NULL where not applicable.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ipfence_bot_verdict {
    /// The verdict.
    pub kind: ipfence_bot_verdict_kind,
    /// The claimed crawler's token (`Googlebot`), or NULL for `NONE`.
    pub crawler: *const c_char,
    /// Who runs it (`Google`), or NULL for `NONE`.
    pub operator_name: *const c_char,
    /// `GENUINE`: the list holding the address (`googlebot.json`); else NULL.
    pub list: *const c_char,
    /// `GENUINE`: the published prefix holding the address, network order (IPv4 in the
    /// first 4 bytes); else zero.
    pub prefix_addr: [u8; 16],
    /// `GENUINE`: 4 or 6; else 0.
    pub prefix_family: u8,
    /// `GENUINE`: the prefix length; else 0.
    pub prefix_len: u8,
}

/// The table's strings as C strings, made once.
struct Names {
    crawlers: Vec<(CString, CString)>,
    lists: Vec<CString>,
}

fn names() -> &'static Names {
    static NAMES: OnceLock<Names> = OnceLock::new();
    // The table's strings have no NUL (a core test checks their bytes), so these never
    // fall back to the empty string.
    let c = |s: &str| CString::new(s).unwrap_or_default();
    NAMES.get_or_init(|| Names {
        crawlers: CRAWLERS
            .iter()
            .map(|k| (c(k.token), c(k.operator)))
            .collect(),
        lists: LISTS.iter().map(|l| c(l.file)).collect(),
    })
}

/// Finds the verdict for a request from an address with a user agent.
///
/// `user_agent` is the User-Agent header as received: `ua_len` bytes, any encoding (the
/// crawler tokens are ASCII; other bytes only separate words); NULL only with `ua_len`
/// 0. `addr` is `addr_len` bytes in network order: 4 for IPv4, 16 for IPv6 (IPv4-mapped
/// as IPv4). A crawler's lists must be in the matcher (compiled with `googlebot=...`,
/// `bingbot=...`, ... as `ipfence --input NAME=FILE` names them): without one the verdict
/// is `UNVERIFIABLE`, never `FAKE`. A user agent claiming several crawlers gets the worst
/// verdict. Safe to call from many threads on one matcher; the first call on a matcher
/// scans its entries once to see which lists it holds.
///
/// Errors: `NULL_PARAMETER`, `INVALID_LENGTH` (an address not 4 or 16 bytes).
///
/// # Safety
/// `m` a live matcher; `user_agent` `ua_len` readable bytes; `addr` `addr_len` readable
/// bytes; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ipfence_matcher_verify_bot(
    m: *const ipfence_matcher,
    user_agent: *const u8,
    ua_len: usize,
    addr: *const u8,
    addr_len: usize,
    out: *mut ipfence_bot_verdict,
) -> ipfence_result {
    boundary(|| {
        // SAFETY: the caller's contract.
        let h = unsafe { crate::matcher::handle(m, "matcher") }?;
        // SAFETY: the caller's contract.
        let ua = unsafe { try_slice(user_agent, ua_len, "user_agent") }?;
        // SAFETY: the caller's contract.
        let bytes = unsafe { try_slice(addr, addr_len, "addr") }?;
        // SAFETY: the caller's contract.
        let out = unsafe { try_out(out, "out") }?;
        let ip = match *bytes {
            [a, b, c, d] => IpAddr::V4(Ipv4Addr::new(a, b, c, d)),
            _ => match <[u8; 16]>::try_from(bytes) {
                Ok(b) => IpAddr::V6(Ipv6Addr::from(b)),
                Err(_) if addr.is_null() => return Err(crate::null("addr")),
                Err(_) => {
                    return Err(Failure::new(
                        ipfence_result::InvalidLength,
                        format!(
                        "addr_len: {addr_len} bytes is not an address (4 for IPv4, 16 for IPv6)"
                    ),
                    ))
                }
            },
        };
        out.set(verdict_of(h, ua, ip));
        Ok(())
    })
}

fn verdict_of(h: &Handle, ua: &[u8], ip: IpAddr) -> ipfence_bot_verdict {
    let claimed = ClaimSet::of_bytes(ua);
    let mut v = ipfence_bot_verdict {
        kind: ipfence_bot_verdict_kind::None,
        crawler: std::ptr::null(),
        operator_name: std::ptr::null(),
        list: std::ptr::null(),
        prefix_addr: [0; 16],
        prefix_family: 0,
        prefix_len: 0,
    };
    if claimed.is_empty() {
        return v;
    }
    let loaded = *h.loaded.get_or_init(|| Loaded::of_matcher(&h.m));
    let verdict = crawler::verify_claims(&h.m, loaded, claimed, ip);
    let n = names();
    if let Some((token, operator)) = verdict.crawler().and_then(|c| n.crawlers.get(c.index())) {
        v.crawler = token.as_ptr();
        v.operator_name = operator.as_ptr();
    }
    v.kind = match verdict {
        Verdict::NoClaim => ipfence_bot_verdict_kind::None,
        Verdict::Genuine { list, prefix, .. } => {
            v.list = n
                .lists
                .get(usize::from(list.index))
                .map_or(std::ptr::null(), |l| l.as_ptr());
            (v.prefix_addr, v.prefix_family, v.prefix_len) = net_parts(prefix);
            ipfence_bot_verdict_kind::Genuine
        }
        Verdict::Fake { .. } => ipfence_bot_verdict_kind::Fake,
        Verdict::Unverifiable { .. } => ipfence_bot_verdict_kind::Unverifiable,
    };
    v
}
