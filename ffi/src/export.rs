//! Exports (firewall rules, AWS payloads) and diffs between two matchers.

use std::ffi::c_char;

use ipfence_core::diff::{diff, TaggedPrefix};
use ipfence_core::{Filter, PrefixSet, Ranges};
use ipfence_exporters::{export, Format, Header, Options, Request};

use crate::lookup::ipfence_str;
use crate::matcher::{handle, Handle};
use crate::{
    boundary, boundary_value, ipfence_result, opt_str, try_out, try_ref, try_slice, write_text,
    Failure,
};

/// Options of `ipfence_matcher_export`. All-zero (`{0}`) means every default. Strings are
/// NUL-terminated UTF-8, read during the call only; NULL means the default.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ipfence_export_options {
    /// Base name of the table, set, IP set or prefix list (default `"ipfence"`).
    pub name: *const c_char,
    /// Format-specific variant, e.g. nftables `full`, `sets` or `replace` (NULL: the
    /// format's default).
    pub style: *const c_char,
    /// Destination ports for rules (NULL with `ports_len == 0`: all ports).
    pub ports: *const u16,
    /// Number of `ports`.
    pub ports_len: usize,
    /// Protocol for rules (default `"tcp"`).
    pub protocol: *const c_char,
    /// AWS WAF scope: `"REGIONAL"` (default) or `"CLOUDFRONT"`.
    pub scope: *const c_char,
    /// Maximum entries per object (WAF IP set, prefix list, security group); 0 for the
    /// format's default.
    pub max_entries: usize,
    /// When a set is over `max_entries`: true fits it into the budget (admitting extra
    /// addresses), false splits it across several objects.
    pub summarize: bool,
    /// AWS: id of the existing object an update targets (NULL: a placeholder).
    pub aws_id: *const c_char,
    /// AWS WAF: the LockToken from `get-ip-set` (NULL: a placeholder).
    pub lock_token: *const c_char,
    /// AWS prefix list: its current version; 0 when unknown.
    pub current_version: u64,
}

fn options_of(o: Option<&ipfence_export_options>) -> Result<Options, Failure> {
    let mut opts = Options::default();
    let Some(o) = o else {
        return Ok(opts);
    };
    // SAFETY (for every block below): `o` is an `ipfence_export_options` whose string
    // fields are NULL or NUL-terminated, and whose `ports` holds `ports_len` values, as
    // `ipfence_matcher_export`'s caller promises.
    if let Some(s) = unsafe { opt_str(o.name, "options.name") }? {
        opts.name = s.into();
    }
    // SAFETY: as above.
    opts.style = unsafe { opt_str(o.style, "options.style") }?.map(String::from);
    // SAFETY: as above.
    opts.ports = unsafe { try_slice(o.ports, o.ports_len, "options.ports") }?
        .iter()
        .map(|&p| p.into())
        .collect();
    // SAFETY: as above.
    if let Some(s) = unsafe { opt_str(o.protocol, "options.protocol") }? {
        opts.protocol = s.into();
    }
    // SAFETY: as above.
    if let Some(s) = unsafe { opt_str(o.scope, "options.scope") }? {
        opts.scope = s.into();
    }
    opts.max_entries = (o.max_entries != 0).then_some(o.max_entries);
    opts.summarize = o.summarize;
    // SAFETY: as above.
    opts.aws_id = unsafe { opt_str(o.aws_id, "options.aws_id") }?.map(String::from);
    // SAFETY: as above.
    opts.lock_token = unsafe { opt_str(o.lock_token, "options.lock_token") }?.map(String::from);
    opts.current_version = (o.current_version != 0).then_some(o.current_version);
    Ok(opts)
}

fn ranges_of(h: &Handle) -> Ranges {
    h.m.to_ranges()
}

fn set_of(h: &Handle) -> PrefixSet {
    ranges_of(h).to_set()
}

/// Renders every address of the matcher in a firewall or AWS format into `buf` as a
/// NUL-terminated string.
///
/// - `format`: `"nftables"`, `"ipset"`, `"iptables"`, `"pf"`, `"aws-waf"`,
///   `"aws-prefix-list"` or `"aws-security-group"` (any case).
/// - `options`: NULL for every default.
/// - `old`: NULL for a full export; a matcher of the version currently loaded for an
///   incremental update from it to `m` (in the formats that have one).
/// - Size contract: `*needed` receives the text's length plus 1 (for the NUL), also when
///   `buf_len` is too small; then nothing is written to `buf` and
///   `IPFENCE_RESULT_BUFFER_TOO_SMALL` is returned. Pass `buf = NULL, buf_len = 0` to ask
///   for the size; the text is rendered again on each call.
///
/// Errors: `INVALID_ARGUMENT` (unknown format), `EXPORT_ERROR` (a name the firewall would
/// reject, an option that does not fit the format; the message says which),
/// `BUFFER_TOO_SMALL`, `INVALID_UTF8`, `NULL_PARAMETER`.
///
/// # Safety
/// `m` a live matcher; `old` NULL or a live matcher; `format` a NUL-terminated string;
/// `options` NULL or a valid `ipfence_export_options`; `buf` writable for `buf_len`
/// bytes (or NULL with 0); `needed` a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ipfence_matcher_export(
    m: *const ipfence_matcher,
    format: *const c_char,
    options: *const ipfence_export_options,
    old: *const ipfence_matcher,
    buf: *mut c_char,
    buf_len: usize,
    needed: *mut usize,
) -> ipfence_result {
    boundary(|| {
        // SAFETY: the caller's contract for each argument, as documented above.
        let h = unsafe { handle(m, "matcher") }?;
        // SAFETY: as above.
        let name = unsafe { crate::try_str(format, "format") }?;
        let format: Format = name.parse().map_err(|e: ipfence_exporters::Error| {
            Failure::new(ipfence_result::InvalidArgument, e.to_string())
        })?;
        // SAFETY: as above; NULL means defaults.
        let opts = options_of(unsafe { options.as_ref() })?;
        let old_set = if old.is_null() {
            None
        } else {
            // SAFETY: as above.
            Some(set_of(unsafe { handle(old, "old") }?))
        };
        let sources = h.m.sources();
        let set = set_of(h);
        let req = Request {
            set: &set,
            old: old_set.as_ref(),
            header: Header {
                sources: &sources,
                filter: &h.filter,
            },
            options: &opts,
        };
        let out = export(format, &req)?;
        // SAFETY: as above.
        unsafe { write_text(out.text.as_bytes(), buf, buf_len, needed) }
    })
}

use crate::matcher::ipfence_matcher;

/// What changed between two versions of the published ranges: entries (prefix + tags)
/// added and removed. Opaque; made by `ipfence_diff_new`, released by `ipfence_diff_free`.
/// Immutable: safe to read from many threads at once.
pub struct ipfence_diff {
    _private: [u8; 0],
}

struct DiffHandle {
    /// (provider, entry), sorted.
    added: Vec<(String, TaggedPrefix)>,
    removed: Vec<(String, TaggedPrefix)>,
}

/// The core's diff, provider by provider: an entry that moves from one provider to
/// another is a removal and an addition, and every entry says whose it is.
fn diff_by_provider(old: &Ranges, new: &Ranges) -> DiffHandle {
    let providers: std::collections::BTreeSet<&str> = [old, new]
        .iter()
        .flat_map(|r| r.entries.iter().map(|e| r.tags(e).provider))
        .collect();
    let mut h = DiffHandle {
        added: Vec::new(),
        removed: Vec::new(),
    };
    for p in providers {
        let only = Filter::default().providers([p]);
        let d = diff(&only.select(old), &only.select(new));
        h.added
            .extend(d.added.into_iter().map(|e| (p.to_string(), e)));
        h.removed
            .extend(d.removed.into_iter().map(|e| (p.to_string(), e)));
    }
    h
}

/// One entry of a diff. The strings live as long as the diff.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ipfence_diff_entry {
    /// The prefix's network address in network byte order (first 4 bytes for IPv4).
    pub addr: [u8; 16],
    /// 4 or 6.
    pub family: u8,
    /// The prefix length.
    pub prefix_len: u8,
    /// Who publishes it (`aws`, `google`, ...), as in `ipfence_tags`.
    pub provider: ipfence_str,
    /// Service (empty when the provider publishes none).
    pub service: ipfence_str,
    /// Region (empty when not published).
    pub region: ipfence_str,
    /// The provider's extra field (empty when not published): AWS network border group,
    /// Atlassian direction, Azure system service.
    pub extra: ipfence_str,
}

/// Compares two matchers (for example yesterday's and today's `ip-ranges.json`):
/// `*out` receives a new diff listing the entries (provider, prefix and tags) only in
/// `new_matcher` (added) and only in `old_matcher` (removed), each sorted by provider,
/// then prefix and tags. The matchers are not kept.
///
/// # Safety
/// `old_matcher` and `new_matcher` live matchers; `out` a writable pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ipfence_diff_new(
    old_matcher: *const ipfence_matcher,
    new_matcher: *const ipfence_matcher,
    out: *mut *mut ipfence_diff,
) -> ipfence_result {
    boundary(|| {
        // SAFETY: the caller's contract.
        let old = unsafe { handle(old_matcher, "old_matcher") }?;
        // SAFETY: the caller's contract.
        let new = unsafe { handle(new_matcher, "new_matcher") }?;
        // SAFETY: the caller's contract.
        let out = unsafe { try_out(out, "out") }?;
        let h = Box::new(diff_by_provider(&ranges_of(old), &ranges_of(new)));
        out.set(Box::into_raw(h).cast());
        Ok(())
    })
}

/// Releases a diff. `NULL` does nothing; strings read from it become invalid.
///
/// # Safety
/// `d` must be NULL or a diff from `ipfence_diff_new` not yet released.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ipfence_diff_free(d: *mut ipfence_diff) {
    boundary_value((), || {
        if !d.is_null() {
            // SAFETY: `d` came from `ipfence_diff_new` (a `Box<DiffHandle>`), not yet
            // released, as the caller promises.
            drop(unsafe { Box::from_raw(d.cast::<DiffHandle>()) });
        }
    })
}

/// # Safety
/// A non-NULL `d` must be a live diff.
unsafe fn diff_handle<'a>(d: *const ipfence_diff) -> Result<&'a DiffHandle, Failure> {
    // SAFETY: every `ipfence_diff` pointer is a `Box<DiffHandle>` cast; live by contract.
    unsafe { try_ref(d.cast::<DiffHandle>(), "diff") }
}

/// The number of added entries (0 for NULL).
///
/// # Safety
/// `d` must be NULL or a live diff.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ipfence_diff_added_count(d: *const ipfence_diff) -> usize {
    // SAFETY: the caller's contract.
    boundary_value(0, || unsafe { diff_handle(d) }.map_or(0, |h| h.added.len()))
}

/// The number of removed entries (0 for NULL).
///
/// # Safety
/// `d` must be NULL or a live diff.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ipfence_diff_removed_count(d: *const ipfence_diff) -> usize {
    // SAFETY: the caller's contract.
    boundary_value(0, || {
        unsafe { diff_handle(d) }.map_or(0, |h| h.removed.len())
    })
}

fn entry(
    list: &[(String, TaggedPrefix)],
    index: usize,
    what: &str,
) -> Result<ipfence_diff_entry, Failure> {
    let (provider, e) = list.get(index).ok_or_else(|| {
        Failure::new(
            ipfence_result::InvalidArgument,
            format!(
                "index: {index} is out of range: the diff has {} {what} entries",
                list.len()
            ),
        )
    })?;
    let mut addr = [0u8; 16];
    let (family, prefix_len) = match e.prefix {
        ipfence_core::IpNet::V4(n) => {
            addr[..4].copy_from_slice(&n.network().octets());
            (4, n.prefix_len())
        }
        ipfence_core::IpNet::V6(n) => {
            addr = n.network().octets();
            (6, n.prefix_len())
        }
    };
    Ok(ipfence_diff_entry {
        addr,
        family,
        prefix_len,
        provider: ipfence_str::of(provider),
        service: ipfence_str::of(&e.service),
        region: ipfence_str::of(&e.region),
        extra: ipfence_str::of(&e.extra),
    })
}

/// Reads added entry `index` (0 to `ipfence_diff_added_count - 1`) into `*out`.
///
/// Errors: `INVALID_ARGUMENT` (index out of range), `NULL_PARAMETER`.
///
/// # Safety
/// `d` a live diff; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ipfence_diff_added(
    d: *const ipfence_diff,
    index: usize,
    out: *mut ipfence_diff_entry,
) -> ipfence_result {
    boundary(|| {
        // SAFETY: the caller's contract.
        let h = unsafe { diff_handle(d) }?;
        // SAFETY: the caller's contract.
        let out = unsafe { try_out(out, "out") }?;
        out.set(entry(&h.added, index, "added")?);
        Ok(())
    })
}

/// Reads removed entry `index` (0 to `ipfence_diff_removed_count - 1`) into `*out`.
///
/// Errors: `INVALID_ARGUMENT` (index out of range), `NULL_PARAMETER`.
///
/// # Safety
/// `d` a live diff; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ipfence_diff_removed(
    d: *const ipfence_diff,
    index: usize,
    out: *mut ipfence_diff_entry,
) -> ipfence_result {
    boundary(|| {
        // SAFETY: the caller's contract.
        let h = unsafe { diff_handle(d) }?;
        // SAFETY: the caller's contract.
        let out = unsafe { try_out(out, "out") }?;
        out.set(entry(&h.removed, index, "removed")?);
        Ok(())
    })
}
