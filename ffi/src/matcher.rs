//! The matcher handle: build, load, save, look up.

use std::ffi::c_char;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipfence_core::matcher::{Match, Matcher};
use ipfence_core::prefix::HostBits;
use ipfence_core::source::{self, Format, Label, Options};
use ipfence_core::{Family, Filter};

use crate::lookup::{contains_v6, ipfence_match, ipfence_tags, lookup_v4, Index};
use crate::{
    boundary, boundary_value, ipfence_result, opt_str, try_out, try_out_slice, try_ref, try_slice,
    try_str, Failure, Out,
};

/// A compiled longest-prefix-match table with the tags of every published prefix.
///
/// Opaque. Made by `ipfence_matcher_from_source`, `ipfence_matcher_from_blob` or
/// `ipfence_matcher_from_blob_borrowed`; released by `ipfence_matcher_free`. Immutable:
/// any number of threads may look up in one matcher at the same time without locking.
pub struct ipfence_matcher {
    _private: [u8; 0],
}

/// What an `ipfence_matcher` pointer really points to.
///
/// One matcher type for owned and borrowed blobs (`Matcher<&[u8]>`), so the lookup
/// functions have one code path the compiler can inline; an owned blob is kept in
/// `owned` and freed in `Drop`, after its last use.
pub(crate) struct Handle {
    pub(crate) m: Matcher<&'static [u8]>,
    /// The blob's allocation when the handle owns it (`Box::into_raw`); `None` when the
    /// matcher reads the caller's buffer.
    owned: Option<*mut [u8]>,
    /// The filter in words (`provider=aws service=AMAZON family=ipv4`: the core's
    /// `Display for Filter`), for export headers.
    pub(crate) filter: String,
    /// What lookups hand to C, per prefix, with the NUL-terminated tag strings.
    pub(crate) index: Index,
    /// The crawler lists the data holds, found on the first `ipfence_matcher_verify_bot`.
    pub(crate) loaded: std::sync::OnceLock<ipfence_core::crawler::Loaded>,
}

/// Checks that a blob fills its buffer exactly.
fn whole(used: usize, len: usize) -> Result<(), Failure> {
    if used == len {
        return Ok(());
    }
    Err(Failure::new(
        ipfence_result::BlobError,
        format!(
            "blob: offset {used}: {} bytes after the end of the blob",
            len.saturating_sub(used)
        ),
    ))
}

impl Handle {
    /// A handle owning `blob`, validated here.
    fn owning(blob: Box<[u8]>, filter: String) -> Result<Handle, Failure> {
        let raw: *mut [u8] = Box::into_raw(blob);
        // SAFETY: `raw` is a live allocation that only this handle frees (in `Drop`, once
        // the handle and every use of `m` are gone, or below on failure); nothing writes
        // to it, so a shared reference for the handle's whole life is sound.
        let bytes: &'static [u8] = unsafe { &*raw };
        let m = Matcher::from_bytes(bytes)
            .map_err(Failure::from)
            .and_then(|(m, used)| whole(used, bytes.len()).map(|()| m));
        match m {
            Ok(m) => Ok(Handle {
                index: Index::new(&m),
                loaded: std::sync::OnceLock::new(),
                m,
                owned: Some(raw),
                filter,
            }),
            Err(e) => {
                // SAFETY: `raw` came from `Box::into_raw` above; the matcher borrowing it
                // is gone, and `bytes` is not used again.
                drop(unsafe { Box::from_raw(raw) });
                Err(e)
            }
        }
    }

    fn into_ptr(self) -> *mut ipfence_matcher {
        Box::into_raw(Box::new(self)).cast()
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Some(raw) = self.owned.take() {
            // SAFETY: `raw` came from `Box::into_raw` in `Handle::owning` and is freed only
            // here, once; the handle is being dropped, so `m` is not used again.
            drop(unsafe { Box::from_raw(raw) });
        }
    }
}

/// The handle behind a matcher pointer.
///
/// # Safety
/// A non-NULL `m` must come from this library's constructors and not be freed yet.
pub(crate) unsafe fn handle<'a>(
    m: *const ipfence_matcher,
    what: &str,
) -> Result<&'a Handle, Failure> {
    // SAFETY: every `ipfence_matcher` pointer handed out is a `Box<Handle>` cast
    // (`Handle::into_ptr`); the caller promises it is still live.
    unsafe { try_ref(m.cast::<Handle>(), what) }
}

/// Address families, for `ipfence_filter.family`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ipfence_family {
    /// Both families.
    Any = 0,
    /// IPv4 only.
    V4 = 4,
    /// IPv6 only.
    V6 = 6,
}

/// Flag for `ipfence_matcher_from_source`: mask host bits (`10.0.0.1/8` is read as
/// `10.0.0.0/8`) instead of refusing the input.
pub const IPFENCE_FLAG_MASK_HOST_BITS: u32 = 1;

/// Which entries to keep when building a matcher. All-zero (`{0}`) keeps everything.
///
/// Each list is an array of NUL-terminated UTF-8 strings and its length; NULL with length
/// 0 means "any". Names compare without regard to ASCII case. A name the data does not
/// publish is an error (`IPFENCE_RESULT_UNKNOWN_NAME`), so a typo cannot silently select
/// nothing; services, regions and extras are looked for among the named providers'
/// entries. The strings are read during the call only.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ipfence_filter {
    /// Keep entries of these providers (`aws`, `google`, `github`, ..., or the label of a
    /// CIDR list).
    pub providers: *const *const c_char,
    /// Number of `providers`.
    pub providers_len: usize,
    /// Keep entries of these services (`AMAZON`, `EC2`, `S3`, `googlebot`, ...).
    pub services: *const *const c_char,
    /// Number of `services`.
    pub services_len: usize,
    /// Remove every address published for these services (`AMAZON` minus `EC2`).
    pub exclude_services: *const *const c_char,
    /// Number of `exclude_services`.
    pub exclude_services_len: usize,
    /// Keep entries of these regions (`us-east-1`, `GLOBAL`, `us-central1`, ...).
    pub regions: *const *const c_char,
    /// Number of `regions`.
    pub regions_len: usize,
    /// Keep entries with these values of the provider's extra field (AWS network border
    /// group, Atlassian direction, Azure system service).
    pub extras: *const *const c_char,
    /// Number of `extras`.
    pub extras_len: usize,
    /// An `ipfence_family` value: `IPFENCE_FAMILY_ANY` (0), `_V4` (4) or `_V6` (6).
    pub family: u32,
}

/// The error of a single lookup call: the first NULL argument, else the length.
#[cold]
#[inline(never)]
fn bad_lookup_args(nulls: &[(bool, &str)], addr_len: usize) -> Failure {
    match nulls.iter().find(|(is_null, _)| *is_null) {
        Some((_, what)) => crate::null(what),
        None => bad_addr_len(addr_len),
    }
}

#[cold]
#[inline(never)]
fn bad_addr_len(len: usize) -> Failure {
    Failure::new(
        ipfence_result::InvalidLength,
        format!("addr_len: {len} is not an address length (4 for IPv4, 16 for IPv6)"),
    )
}

fn names(p: *const *const c_char, len: usize, what: &str) -> Result<Vec<String>, Failure> {
    // SAFETY: the filter's contract: `len` pointers to NUL-terminated strings.
    let ptrs = unsafe { try_slice(p, len, what) }?;
    ptrs.iter()
        .enumerate()
        // SAFETY: each element is a NUL-terminated string by the same contract.
        .map(|(i, &s)| unsafe { try_str(s, &format!("{what}[{i}]")) }.map(String::from))
        .collect()
}

/// The core filter of a C filter.
fn filter_of(f: &ipfence_filter) -> Result<Filter, Failure> {
    let family = match f.family {
        0 => None,
        4 => Some(Family::V4),
        6 => Some(Family::V6),
        other => {
            return Err(Failure::new(
                ipfence_result::InvalidArgument,
                format!("filter.family: {other} is not IPFENCE_FAMILY_ANY (0), _V4 (4) or _V6 (6)"),
            ))
        }
    };
    Ok(Filter {
        providers: names(f.providers, f.providers_len, "filter.providers")?,
        services: names(f.services, f.services_len, "filter.services")?,
        exclude_services: names(
            f.exclude_services,
            f.exclude_services_len,
            "filter.exclude_services",
        )?,
        regions: names(f.regions, f.regions_len, "filter.regions")?,
        extras: names(f.extras, f.extras_len, "filter.extras")?,
        family,
    })
}

/// The format a caller names (NULL: detect), by the registry's names and aliases.
fn format_of(name: Option<&str>) -> Result<Option<Format>, Failure> {
    name.map(str::parse::<Format>)
        .transpose()
        .map_err(Failure::from)
}

/// The names of every source format `ipfence_matcher_from_source` reads, comma-separated
/// (`"aws, cloudfront, google, text"`): the values its `format` argument takes. Formats
/// are added over time; this list is the library's own.
///
/// Never NULL; the string lives as long as the program and must not be freed.
#[unsafe(no_mangle)]
pub extern "C" fn ipfence_source_formats() -> *const c_char {
    static NAMES: std::sync::OnceLock<std::ffi::CString> = std::sync::OnceLock::new();
    let fallback: &'static std::ffi::CStr = c"";
    boundary_value(fallback.as_ptr(), || {
        NAMES
            .get_or_init(|| std::ffi::CString::new(Format::names()).unwrap_or_default())
            .as_ptr()
    })
}

/// Parses published ranges from a buffer, keeps what `filter` selects and compiles a
/// matcher.
///
/// - `data`, `data_len`: the file's bytes (AWS `ip-ranges.json`, the CloudFront list,
///   Google's `cloud.json` or crawler lists, CIDR text, ...); read during the call only
///   (the matcher keeps its own compiled copy).
/// - `name`: the input's name for error messages and export headers (e.g. the file
///   path), NUL-terminated UTF-8; NULL means `"<buffer>"`.
/// - `format`: a source format name (`"aws"`, `"cloudfront"`, `"google"`, `"text"`, ...:
///   every name `ipfence_source_formats` lists, and their aliases, any case); NULL
///   detects the layout from its distinctive keys (JSON of no known layout is an error
///   that lists the supported ones).
/// - `label`: who the input is, as `ipfence --input LABEL=FILE` names it: `"googlebot"`
///   gives a Google crawler list its provider (`google`) and service (`googlebot`);
///   another name is the provider of a CIDR list. A self-describing file (AWS, Google
///   `cloud.json`) must be given its own provider's name or NULL. NULL: no label (a
///   crawler list then fails; a CIDR list's provider is `text`). 1 to 64 of
///   `a-z 0-9 - _ .`.
/// - `filter`: NULL keeps everything.
/// - `flags`: 0 or `IPFENCE_FLAG_MASK_HOST_BITS`; other bits are an error.
/// - `out`: receives the new matcher, to release with `ipfence_matcher_free`.
///
/// Errors: `PARSE_ERROR` (the message gives the JSON path or line and column and the
/// value), `UNKNOWN_NAME` (an unknown format, a malformed label, a filter name the data
/// does not publish; the message lists the valid ones), `INVALID_ARGUMENT`,
/// `INVALID_UTF8`, `NULL_PARAMETER`, `LIMIT_EXCEEDED`.
///
/// # Safety
/// `data` must point to `data_len` readable bytes (NULL only with `data_len == 0`);
/// `name`, `format` and `label` NULL or NUL-terminated strings; `filter` NULL or a valid
/// `ipfence_filter` whose arrays hold their stated number of NUL-terminated strings;
/// `out` a writable pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ipfence_matcher_from_source(
    data: *const u8,
    data_len: usize,
    name: *const c_char,
    format: *const c_char,
    label: *const c_char,
    filter: *const ipfence_filter,
    flags: u32,
    out: *mut *mut ipfence_matcher,
) -> ipfence_result {
    boundary(|| {
        // SAFETY: the caller's contract for each argument, as documented above.
        let bytes = unsafe { try_slice(data, data_len, "data") }?;
        // SAFETY: as above.
        let name = unsafe { opt_str(name, "name") }?.unwrap_or("<buffer>");
        // SAFETY: as above.
        let out = unsafe { try_out(out, "out") }?;
        // SAFETY: as above.
        let format = format_of(unsafe { opt_str(format, "format") }?)?;
        // SAFETY: as above.
        let label = unsafe { opt_str(label, "label") }?
            .map(Label::new)
            .transpose()?;
        if flags & !IPFENCE_FLAG_MASK_HOST_BITS != 0 {
            return Err(Failure::new(
                ipfence_result::InvalidArgument,
                format!(
                    "flags: unknown bits {:#x}",
                    flags & !IPFENCE_FLAG_MASK_HOST_BITS
                ),
            ));
        }
        let filter = if filter.is_null() {
            Filter::default()
        } else {
            // SAFETY: non-NULL, and the caller promises a valid `ipfence_filter`.
            filter_of(unsafe { try_ref(filter, "filter") }?)?
        };
        let opts = Options {
            host_bits: if flags & IPFENCE_FLAG_MASK_HOST_BITS != 0 {
                HostBits::Mask
            } else {
                HostBits::Reject
            },
            ..Options::default()
        };
        let ranges = source::parse_labeled(bytes, name, format, label.as_ref(), opts)?;
        let m = if filter.is_everything() {
            Matcher::build(&ranges)?
        } else {
            filter.check(&ranges)?;
            Matcher::build(&filter.select(&ranges))?
        };
        out.set(Handle::owning(m.as_bytes().into(), filter.to_string())?.into_ptr());
        Ok(())
    })
}

/// Loads a compiled blob (from `ipfence compile` or `ipfence_matcher_to_blob`),
/// **copying** it: the caller may free or reuse `data` as soon as this returns.
///
/// The blob is validated completely here (every offset, index and string), so later
/// lookups cannot fail. `data_len` must be exactly the blob's length.
///
/// Every matcher also builds its lookup index when it is made: each prefix's answer
/// (tag strings copied and NUL-terminated), so that `ipfence_matcher_lookup` only copies
/// it. It takes 24 bytes per prefix plus the distinct tag sets and strings: 344 KB for
/// all of AWS (11,013 prefixes), built in a few milliseconds.
///
/// Errors: `BLOB_ERROR` with the offset of the problem (corrupt, truncated, another
/// version, trailing bytes), `NULL_PARAMETER`.
///
/// # Safety
/// `data` must point to `data_len` readable bytes; `out` must be a writable pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ipfence_matcher_from_blob(
    data: *const u8,
    data_len: usize,
    out: *mut *mut ipfence_matcher,
) -> ipfence_result {
    boundary(|| {
        // SAFETY: the caller's contract.
        let bytes = unsafe { try_slice(data, data_len, "data") }?;
        // SAFETY: the caller's contract.
        let out = unsafe { try_out(out, "out") }?;
        out.set(Handle::owning(bytes.into(), String::from("compiled blob"))?.into_ptr());
        Ok(())
    })
}

/// Loads a compiled blob **without copying** it: the matcher reads `data` directly
/// (for example a file mapped with `mmap`).
///
/// The caller must keep the `data_len` bytes at `data` alive and unchanged until the
/// matcher is released with `ipfence_matcher_free`. Validation is as complete as
/// `ipfence_matcher_from_blob`'s, and `data_len` must be exactly the blob's length. No
/// alignment is required. The lookup index is built as for `ipfence_matcher_from_blob`
/// (the blob is not copied; the index and the tag strings lookups return are the
/// matcher's own memory).
///
/// # Safety
/// As above: `data` points to `data_len` readable bytes that outlive the matcher and are
/// not written while it lives; `out` must be a writable pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ipfence_matcher_from_blob_borrowed(
    data: *const u8,
    data_len: usize,
    out: *mut *mut ipfence_matcher,
) -> ipfence_result {
    boundary(|| {
        // SAFETY: the caller promises the bytes outlive the matcher (documented above),
        // which is what the `'static` here stands for: the matcher never hands the slice
        // out beyond its own lifetime.
        let bytes: &'static [u8] = unsafe { try_slice(data, data_len, "data") }?;
        // SAFETY: the caller's contract.
        let out = unsafe { try_out(out, "out") }?;
        let (m, used) = Matcher::from_bytes(bytes)?;
        whole(used, bytes.len())?;
        out.set(
            Handle {
                index: Index::new(&m),
                loaded: std::sync::OnceLock::new(),
                m,
                owned: None,
                filter: String::from("compiled blob"),
            }
            .into_ptr(),
        );
        Ok(())
    })
}

/// Releases a matcher. `NULL` does nothing. The matcher and every string obtained from
/// it must not be used afterwards; no other thread may still be using it.
///
/// # Safety
/// `m` must be NULL or a matcher from this library not yet released.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ipfence_matcher_free(m: *mut ipfence_matcher) {
    boundary_value((), || {
        if !m.is_null() {
            // SAFETY: `m` came from `Handle::into_ptr` (a `Box<Handle>`), and the caller
            // promises it has not been released and is no longer in use.
            drop(unsafe { Box::from_raw(m.cast::<Handle>()) });
        }
    })
}

/// Writes the matcher's compiled blob (loadable by `ipfence_matcher_from_blob` and the
/// `ipfence` CLI) into `buf`.
///
/// Size contract: `*needed` receives the blob's length; when `buf_len` is smaller,
/// nothing is written to `buf` and `IPFENCE_RESULT_BUFFER_TOO_SMALL` is returned (pass
/// `buf = NULL, buf_len = 0` to ask for the size).
///
/// # Safety
/// `m` a live matcher; `buf` writable for `buf_len` bytes (or NULL with 0); `needed`
/// a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ipfence_matcher_to_blob(
    m: *const ipfence_matcher,
    buf: *mut u8,
    buf_len: usize,
    needed: *mut usize,
) -> ipfence_result {
    boundary(|| {
        // SAFETY: the caller's contract.
        let h = unsafe { handle(m, "matcher") }?;
        // SAFETY: the caller's contract.
        let needed = unsafe { try_out(needed, "needed") }?;
        // SAFETY: the caller's contract.
        let mut out = unsafe { try_out_slice(buf, buf_len, "buf") }?;
        let blob = h.m.as_bytes();
        needed.set(blob.len());
        match out.copy_from(blob) {
            true => Ok(()),
            false => Err(Failure::new(
                ipfence_result::BufferTooSmall,
                format!(
                    "buffer of {buf_len} bytes is too small: the blob needs {}",
                    blob.len()
                ),
            )),
        }
    })
}

/// The number of distinct published prefixes in the matcher (0 for NULL).
///
/// # Safety
/// `m` must be NULL or a live matcher.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ipfence_matcher_prefix_count(m: *const ipfence_matcher) -> usize {
    boundary_value(0, || {
        // SAFETY: the caller's contract.
        unsafe { handle(m, "matcher") }.map_or(0, |h| h.m.prefix_count())
    })
}

/// The number of published entries (prefix + tag set) in the matcher (0 for NULL).
///
/// # Safety
/// `m` must be NULL or a live matcher.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ipfence_matcher_entry_count(m: *const ipfence_matcher) -> usize {
    boundary_value(0, || {
        // SAFETY: the caller's contract.
        unsafe { handle(m, "matcher") }.map_or(0, |h| h.m.entry_count())
    })
}

/// Whether an address is inside any published prefix of the matcher.
///
/// `addr` is `addr_len` bytes in network byte order: 4 for IPv4, 16 for IPv6 (an
/// IPv4-mapped IPv6 address `::ffff:a.b.c.d` is looked up as IPv4). `*out_found` receives
/// the answer. Allocates nothing; safe to call from many threads on one matcher.
///
/// Errors: `INVALID_LENGTH` (addr_len not 4 or 16), `NULL_PARAMETER`.
///
/// # Safety
/// `m` a live matcher; `addr` readable for `addr_len` bytes; `out_found` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ipfence_matcher_contains(
    m: *const ipfence_matcher,
    addr: *const u8,
    addr_len: usize,
    out_found: *mut bool,
) -> ipfence_result {
    boundary(|| {
        // One test for the common case; the error is worked out off the hot path.
        if m.is_null() || addr.is_null() || out_found.is_null() || (addr_len != 4 && addr_len != 16)
        {
            return Err(bad_lookup_args(
                &[
                    (m.is_null(), "matcher"),
                    (addr.is_null(), "addr"),
                    (out_found.is_null(), "out_found"),
                ],
                addr_len,
            ));
        }
        // SAFETY: checked non-NULL; the caller promises a live matcher from this library,
        // which is a `Box<Handle>` cast (`Handle::into_ptr`).
        let h = unsafe { &*m.cast::<Handle>() };
        let found = if addr_len == 4 {
            // SAFETY: checked non-NULL; the caller promises `addr_len` (4) readable bytes.
            let a = unsafe { addr.cast::<[u8; 4]>().read_unaligned() };
            h.m.contains_v4(Ipv4Addr::from(a))
        } else {
            // SAFETY: checked non-NULL; the caller promises `addr_len` (16) readable bytes.
            let a = unsafe { addr.cast::<[u8; 16]>().read_unaligned() };
            contains_v6(&h.m, a)
        };
        // SAFETY: checked non-NULL; the caller promises it is writable.
        unsafe { out_found.write(found) };
        Ok(())
    })
}

/// Finds the longest published prefix containing an address.
///
/// `addr`, `addr_len` as for `ipfence_matcher_contains`. On success `*out_found` says
/// whether a prefix contains the address and, only when it does, `*out_match` receives
/// the prefix, its length, its number of tag sets and its first tag set. The strings in
/// `*out_match` point into the matcher (NUL-terminated) and stay valid until it is
/// released. The answer for every prefix is prepared when the matcher is made, so this
/// copies it: it allocates nothing and is safe to call from many threads on one matcher.
///
/// Errors: `INVALID_LENGTH` (addr_len not 4 or 16), `NULL_PARAMETER`.
///
/// # Safety
/// `m` a live matcher; `addr` readable for `addr_len` bytes; `out_match` and `out_found`
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ipfence_matcher_lookup(
    m: *const ipfence_matcher,
    addr: *const u8,
    addr_len: usize,
    out_match: *mut ipfence_match,
    out_found: *mut bool,
) -> ipfence_result {
    boundary(|| {
        if m.is_null()
            || addr.is_null()
            || out_match.is_null()
            || out_found.is_null()
            || (addr_len != 4 && addr_len != 16)
        {
            return Err(bad_lookup_args(
                &[
                    (m.is_null(), "matcher"),
                    (addr.is_null(), "addr"),
                    (out_match.is_null(), "out_match"),
                    (out_found.is_null(), "out_found"),
                ],
                addr_len,
            ));
        }
        // SAFETY: checked non-NULL; the caller promises a live matcher from this library,
        // which is a `Box<Handle>` cast (`Handle::into_ptr`).
        let h = unsafe { &*m.cast::<Handle>() };
        // SAFETY: checked non-NULL; the caller promises it is writable.
        let out = unsafe { try_out(out_match, "out_match") }?;
        let found = if addr_len == 4 {
            // SAFETY: checked non-NULL; the caller promises `addr_len` (4) readable bytes.
            answer_v4(h, unsafe { addr.cast::<[u8; 4]>().read_unaligned() }, out)
        } else {
            // SAFETY: checked non-NULL; the caller promises `addr_len` (16) readable bytes.
            answer_v6(h, unsafe { addr.cast::<[u8; 16]>().read_unaligned() }, out)
        };
        // SAFETY: checked non-NULL; the caller promises it is writable.
        unsafe { out_found.write(found) };
        Ok(())
    })
}

/// Writes what `ipfence_matcher_lookup` answers for an IPv4 address to `out`, if a
/// prefix contains it; returns whether one does.
///
/// Every lookup of the crate, single or batch, goes through here (and `answer_v6`), so
/// the trie walk is compiled once per family. The answer is stored straight into the
/// caller's struct, not returned through the stack.
#[inline(never)]
fn answer_v4(h: &Handle, a: [u8; 4], out: Out<ipfence_match>) -> bool {
    answer(h, lookup_v4(&h.m, a), out)
}

/// As `answer_v4` for an IPv6 address (IPv4-mapped: as IPv4).
#[inline(never)]
fn answer_v6(h: &Handle, a: [u8; 16], out: Out<ipfence_match>) -> bool {
    match ipfence_core::prefix::canonical(IpAddr::V6(Ipv6Addr::from(a))) {
        IpAddr::V4(v4) => answer_v4(h, v4.octets(), out),
        IpAddr::V6(v6) => answer(h, h.m.lookup_v6(v6), out),
    }
}

/// Stores the prepared answer for `hit`, if any; returns whether there was one.
#[inline(always)]
fn answer(h: &Handle, hit: Option<Match<'_>>, out: Out<ipfence_match>) -> bool {
    let Some(x) = hit else {
        return false;
    };
    out.set(h.index.fill(&x));
    true
}

/// Reads tag set number `index` (0 to `entry_count - 1`) of a match filled by
/// `ipfence_matcher_lookup` or `ipfence_matcher_lookup_batch` on the same matcher, in
/// published order. `*out_tags` points into the matcher (NUL-terminated strings).
///
/// Errors: `INVALID_ARGUMENT` (index out of range, or a match that is not from this
/// matcher), `NULL_PARAMETER`.
///
/// # Safety
/// `m` a live matcher; `match` a readable `ipfence_match`; `out_tags` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ipfence_matcher_match_tags(
    m: *const ipfence_matcher,
    r#match: *const ipfence_match,
    index: usize,
    out_tags: *mut ipfence_tags,
) -> ipfence_result {
    boundary(|| {
        // SAFETY: the caller's contract.
        let h = unsafe { handle(m, "matcher") }?;
        // SAFETY: the caller's contract.
        let hit = unsafe { try_ref(r#match, "match") }?;
        // SAFETY: the caller's contract.
        let out = unsafe { try_out(out_tags, "out_tags") }?;
        let ip = match hit.family {
            4 => {
                let mut a = [0u8; 4];
                a.copy_from_slice(&hit.addr[..4]);
                IpAddr::V4(Ipv4Addr::from(a))
            }
            6 => IpAddr::V6(Ipv6Addr::from(hit.addr)),
            f => {
                return Err(Failure::new(
                    ipfence_result::InvalidArgument,
                    format!("match.family: {f} is not 4 or 6"),
                ))
            }
        };
        // An IPv4-mapped IPv6 prefix would be looked up as IPv4: `IpAddr` equality
        // compares the family too.
        let found = h.m.matches(ip).find(|x| {
            let p = x.prefix();
            p.network() == ip && p.prefix_len() == hit.prefix_len
        });
        let Some(found) = found else {
            return Err(Failure::new(
                ipfence_result::InvalidArgument,
                format!(
                    "match: {ip}/{} is not a prefix of this matcher",
                    hit.prefix_len
                ),
            ));
        };
        let count = found.entries().size_hint().0;
        let tags = found
            .entries()
            .nth(index)
            .map(|t| h.index.tags(&t))
            .ok_or_else(|| {
                Failure::new(
                    ipfence_result::InvalidArgument,
                    format!(
                        "index: {index} is out of range: {ip}/{} has {count} tag sets",
                        hit.prefix_len
                    ),
                )
            })?;
        out.set(tags);
        Ok(())
    })
}

fn batch_len(addr_len: usize, count: usize) -> Result<usize, Failure> {
    if addr_len != 4 && addr_len != 16 {
        return Err(bad_addr_len(addr_len));
    }
    count.checked_mul(addr_len).ok_or_else(|| {
        Failure::new(
            ipfence_result::InvalidLength,
            format!("count: {count} addresses of {addr_len} bytes overflow size_t"),
        )
    })
}

/// `ipfence_matcher_contains` for `count` addresses of `addr_len` bytes each (all IPv4
/// with 4, all IPv6 with 16), packed one after another in `addrs`; `out_found[i]`
/// receives the answer for address `i`. `count == 0` is allowed (pointers may then be
/// NULL). The arguments are checked once; the loop runs inside the library. Allocates
/// nothing; safe to call from many threads on one matcher.
///
/// Errors: `INVALID_LENGTH`, `NULL_PARAMETER` (then nothing is written).
///
/// # Safety
/// `m` a live matcher; `addrs` readable for `count * addr_len` bytes; `out_found`
/// writable for `count` bools.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ipfence_matcher_contains_batch(
    m: *const ipfence_matcher,
    addrs: *const u8,
    addr_len: usize,
    count: usize,
    out_found: *mut bool,
) -> ipfence_result {
    boundary(|| {
        // SAFETY: the caller's contract.
        let h = unsafe { handle(m, "matcher") }?;
        let n = batch_len(addr_len, count)?;
        // SAFETY: the caller's contract.
        let addrs = unsafe { try_slice(addrs, n, "addrs") }?;
        // SAFETY: the caller's contract.
        let mut out = unsafe { try_out_slice(out_found, count, "out_found") }?;
        let m = &h.m;
        if addr_len == 4 {
            for (i, a) in addrs.chunks_exact(4).enumerate() {
                if let Ok(a) = <[u8; 4]>::try_from(a) {
                    out.set(i, m.contains_v4(Ipv4Addr::from(a)));
                }
            }
        } else {
            for (i, a) in addrs.chunks_exact(16).enumerate() {
                if let Ok(a) = <[u8; 16]>::try_from(a) {
                    out.set(i, contains_v6(m, a));
                }
            }
        }
        Ok(())
    })
}

/// `ipfence_matcher_lookup` for `count` packed addresses of `addr_len` bytes each:
/// `out_found[i]` says whether address `i` is inside a prefix and, only when it is,
/// `out_matches[i]` is written. The arguments are checked once; the loop runs inside the
/// library. Allocates nothing; safe to call from many threads.
///
/// Errors: `INVALID_LENGTH`, `NULL_PARAMETER` (then nothing is written).
///
/// # Safety
/// `m` a live matcher; `addrs` readable for `count * addr_len` bytes; `out_matches`
/// writable for `count` matches and `out_found` for `count` bools.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ipfence_matcher_lookup_batch(
    m: *const ipfence_matcher,
    addrs: *const u8,
    addr_len: usize,
    count: usize,
    out_matches: *mut ipfence_match,
    out_found: *mut bool,
) -> ipfence_result {
    boundary(|| {
        // SAFETY: the caller's contract.
        let h = unsafe { handle(m, "matcher") }?;
        let n = batch_len(addr_len, count)?;
        // SAFETY: the caller's contract.
        let addrs = unsafe { try_slice(addrs, n, "addrs") }?;
        // SAFETY: the caller's contract. Elements are only written, never read, so
        // uninitialized caller memory is fine.
        let mut matches = unsafe { try_out_slice(out_matches, count, "out_matches") }?;
        // SAFETY: the caller's contract.
        let mut found = unsafe { try_out_slice(out_found, count, "out_found") }?;
        if addr_len == 4 {
            for (i, a) in addrs.chunks_exact(4).enumerate() {
                if let (Ok(a), Some(out)) = (<[u8; 4]>::try_from(a), matches.at(i)) {
                    found.set(i, answer_v4(h, a, out));
                }
            }
        } else {
            for (i, a) in addrs.chunks_exact(16).enumerate() {
                if let (Ok(a), Some(out)) = (<[u8; 16]>::try_from(a), matches.at(i)) {
                    found.set(i, answer_v6(h, a, out));
                }
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::{CStr, CString};

    /// `ipfence_matcher_from_source` on `data`; the matcher or the code and message.
    fn build(
        data: &[u8],
        format: Option<&str>,
        label: Option<&str>,
        filter: Option<&ipfence_filter>,
    ) -> Result<Box<Handle>, (ipfence_result, String)> {
        let format = format.map(|f| CString::new(f).unwrap());
        let label = label.map(|l| CString::new(l).unwrap());
        let mut out = std::ptr::null_mut();
        // SAFETY: live buffers, NUL-terminated strings or NULL, a live out-pointer.
        let r = unsafe {
            ipfence_matcher_from_source(
                data.as_ptr(),
                data.len(),
                c"test".as_ptr(),
                format.as_ref().map_or(std::ptr::null(), |f| f.as_ptr()),
                label.as_ref().map_or(std::ptr::null(), |l| l.as_ptr()),
                filter.map_or(std::ptr::null(), |f| f as *const _),
                0,
                &mut out,
            )
        };
        if r == ipfence_result::Ok {
            // SAFETY: a matcher just made, released by the Box's drop.
            Ok(unsafe { Box::from_raw(out.cast::<Handle>()) })
        } else {
            let mut buf = vec![0 as c_char; 4096];
            let mut needed = 0;
            // SAFETY: a live buffer and size.
            unsafe { crate::ipfence_last_error_message(buf.as_mut_ptr(), buf.len(), &mut needed) };
            // SAFETY: NUL-terminated by the call above.
            let msg = unsafe { CStr::from_ptr(buf.as_ptr()) };
            Err((r, msg.to_string_lossy().into_owned()))
        }
    }

    fn data(path: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../tests/data/{path}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn every_registry_format_is_accepted_by_name() {
        for &f in Format::ALL {
            for name in [f.name().to_string(), f.name().to_ascii_uppercase()] {
                assert_eq!(format_of(Some(&name)).ok().flatten(), Some(f), "{name}");
                // Empty input: the format's own parser answers (an empty list or a parse
                // error), never "unknown format".
                if let Err((code, msg)) = build(b"", Some(&name), None, None) {
                    assert_ne!(code, ipfence_result::UnknownName, "{name}: {msg}");
                }
            }
        }
        // SAFETY: a static NUL-terminated string.
        let listed = unsafe { CStr::from_ptr(ipfence_source_formats()) };
        assert_eq!(listed.to_str().unwrap(), Format::names());
        let (code, msg) = build(b"10.0.0.0/8\n", Some("xml"), None, None)
            .err()
            .unwrap();
        assert_eq!(code, ipfence_result::UnknownName);
        assert!(msg.contains("unknown source format \"xml\""), "{msg}");
        assert!(msg.contains(&Format::names()), "{msg}");
    }

    #[test]
    fn a_label_names_a_crawler_list() {
        let bot = data("google/googlebot.json");
        let h = build(&bot, None, Some("googlebot"), None).unwrap();
        let r = h.m.to_ranges();
        assert!(r.len() > 100, "{} entries", r.len());
        for e in &r.entries {
            let t = r.tags(e);
            assert_eq!((t.provider, t.service), ("google", "googlebot"));
        }
        // Without a label the list does not say whose it is.
        let (code, msg) = build(&bot, None, None, None).err().unwrap();
        assert_eq!(code, ipfence_result::ParseError, "{msg}");
        let (code, msg) = build(&bot, None, Some("Bad Name"), None).err().unwrap();
        assert_eq!(code, ipfence_result::UnknownName, "{msg}");
        let (code, msg) = build(b"10.0.0.0/8\n", Some("text"), Some("corp"), None)
            .map(|h| h.m.to_ranges())
            .map(|r| {
                (
                    ipfence_result::Ok,
                    r.tags(&r.entries[0]).provider.to_string(),
                )
            })
            .unwrap();
        assert_eq!((code, msg.as_str()), (ipfence_result::Ok, "corp"));
    }

    #[test]
    fn the_filter_selects_providers_and_is_described_by_the_core() {
        let aws = data("aws/ip-ranges-2026-08-22-15-17-05.json");
        let providers = [c"aws".as_ptr()];
        let services = [c"S3".as_ptr()];
        let extras = [c"us-east-1".as_ptr()];
        let f = ipfence_filter {
            providers: providers.as_ptr(),
            providers_len: 1,
            services: services.as_ptr(),
            services_len: 1,
            exclude_services: std::ptr::null(),
            exclude_services_len: 0,
            regions: std::ptr::null(),
            regions_len: 0,
            extras: extras.as_ptr(),
            extras_len: 1,
            family: 4,
        };
        let h = build(&aws, None, None, Some(&f)).unwrap();
        let want = Filter::default()
            .providers(["aws"])
            .services(["S3"])
            .extras(["us-east-1"])
            .family(Family::V4);
        assert_eq!(h.filter, want.to_string());
        assert_eq!(
            h.filter,
            "provider=aws service=S3 border-group=us-east-1 family=ipv4"
        );
        let r = h.m.to_ranges();
        assert!(!r.is_empty());
        for e in &r.entries {
            let t = r.tags(e);
            assert_eq!((t.provider, t.service, t.extra), ("aws", "S3", "us-east-1"));
        }
        let google = [c"google".as_ptr()];
        let f = ipfence_filter {
            providers: google.as_ptr(),
            ..f
        };
        let (code, msg) = build(&aws, None, None, Some(&f)).err().unwrap();
        assert_eq!(code, ipfence_result::UnknownName);
        assert!(msg.contains("unknown provider \"google\""), "{msg}");
    }
}
