//! The C API of ipfence: build a compiled matcher from published ranges (every layout of
//! the core's format registry: AWS `ip-ranges.json`, the CloudFront list, Google's lists,
//! CIDR text, ...) or load a compiled blob, look addresses up one at a time or in batches,
//! export firewall rules and diff two versions.
//!
//! Built as `libipfence.a` and `libipfence.so` (`cargo build -p ipfence-ffi --release`);
//! the header `include/ipfence.h` is generated from this crate by cbindgen 0.29.4 and
//! checked in (`tests/header.rs` fails when it is out of date).
//!
//! # Conventions (the header repeats them)
//! - Opaque handles made by `_new`/`_from_*` functions and released by `_free`;
//!   `_free(NULL)` does nothing.
//! - Every fallible function returns an [`ipfence_result`]; `IPFENCE_RESULT_OK` is 0.
//!   The message of the last failure on the calling thread, with the value, the place and
//!   the reason, is read with [`ipfence_last_error_message`].
//! - Object first, then inputs, then out-params. Out-params are written only on success
//!   (the one exception, the needed size of a too-small buffer, is documented where used).
//! - Null pointers, impossible lengths, unknown enum values and invalid UTF-8 are reported
//!   as errors, never dereferenced. No panic crosses the boundary: it becomes
//!   `IPFENCE_RESULT_PANIC`.
//! - A matcher is immutable once made: any number of threads may use one at once.
//!
//! # ABI stability
//! Functions and types are only added within one `IPFENCE_ABI_VERSION` (the soname's
//! number, `libipfence.so.1`). Result codes keep their numbers forever; retired codes
//! stay reserved. Changing a struct's layout or a function's signature bumps the ABI
//! version. ABI 1 (provider-neutral tags, blob format 4) replaced ABI 0.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]
#![allow(non_camel_case_types)]

use std::cell::RefCell;
use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

mod bots;
mod export;
mod lookup;
mod matcher;

pub use bots::*;
pub use export::*;
pub use lookup::{ipfence_match, ipfence_str, ipfence_tags};
pub use matcher::*;

/// Major version of the library (`0` in `0.1.2`).
pub const IPFENCE_VERSION_MAJOR: u32 = 0;
/// Minor version of the library (`1` in `0.1.2`).
pub const IPFENCE_VERSION_MINOR: u32 = 1;
/// Patch version of the library (`2` in `0.1.2`).
pub const IPFENCE_VERSION_PATCH: u32 = 0;
/// `MAJOR << 16 | MINOR << 8 | PATCH`, for `#if IPFENCE_VERSION_NUMBER >= ...` checks.
pub const IPFENCE_VERSION_NUMBER: u32 =
    (IPFENCE_VERSION_MAJOR << 16) | (IPFENCE_VERSION_MINOR << 8) | IPFENCE_VERSION_PATCH;
/// The ABI version: the number in the shared library's soname (`libipfence.so.1`).
pub const IPFENCE_ABI_VERSION: u32 = 1;

/// The status of every fallible call. Numbers never change; retired codes stay reserved.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ipfence_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullParameter = 1,
    /// A length is impossible: an address that is not 4 or 16 bytes, a buffer longer
    /// than `PTRDIFF_MAX`, an array size that overflows.
    InvalidLength = 2,
    /// A string argument is not valid UTF-8.
    InvalidUtf8 = 3,
    /// An argument is out of its range (unknown family, flag or option value, an index
    /// past the end), or a request that cannot be met (a budget of zero entries).
    InvalidArgument = 4,
    /// The published ranges could not be read (malformed, or JSON of a layout no format
    /// reads); the message gives the JSON path or line and column.
    ParseError = 5,
    /// A compiled blob is corrupt, truncated, of another version, or followed by extra
    /// bytes; the message gives the offset.
    BlobError = 6,
    /// A name the data or the library does not have: a filter's provider, service,
    /// region or extra value that the data does not publish, an unknown source format,
    /// a malformed source label. The message lists the valid names.
    UnknownName = 7,
    /// An export could not be rendered (a name the firewall would reject, an option that
    /// does not fit the format).
    ExportError = 8,
    /// The caller's buffer is too small; the needed size was written.
    BufferTooSmall = 9,
    /// A limit of the format was exceeded (too many prefixes or tag sets).
    LimitExceeded = 10,
    /// A bug inside the library panicked; the call was abandoned and had no effect.
    Panic = 11,
    /// A failure of a kind this version of the API has no code for; the message says
    /// what, where and why.
    Error = 12,
}

/// A failure on its way out: the code, and the message for [`ipfence_last_error_message`].
///
/// Boxed, so that `Result<(), Failure>` is one register on the lookup fast path; it is
/// only allocated when a call fails.
pub(crate) struct Failure(Box<FailureInner>);

struct FailureInner {
    code: ipfence_result,
    msg: String,
}

impl Failure {
    #[cold]
    pub(crate) fn new(code: ipfence_result, msg: impl Into<String>) -> Self {
        Failure(Box::new(FailureInner {
            code,
            msg: msg.into(),
        }))
    }

    pub(crate) fn code(&self) -> ipfence_result {
        self.0.code
    }
}

/// The result code of a core error: one per variant.
fn code_of(e: &ipfence_core::Error) -> ipfence_result {
    use ipfence_core::Error as E;
    match e {
        E::Parse { .. } => ipfence_result::ParseError,
        E::Blob { .. } => ipfence_result::BlobError,
        E::Prefix(_) => ipfence_result::InvalidArgument,
        E::UnknownName { .. } => ipfence_result::UnknownName,
        E::Limit(_) => ipfence_result::LimitExceeded,
        E::BufferTooSmall { .. } => ipfence_result::BufferTooSmall,
        E::Invalid(_) => ipfence_result::InvalidArgument,
        // `Error` is non-exhaustive: a variant added to the core later gets the generic
        // code (and its message) until it gets one of its own.
        _ => ipfence_result::Error,
    }
}

impl From<ipfence_core::Error> for Failure {
    fn from(e: ipfence_core::Error) -> Self {
        Failure::new(code_of(&e), e.to_string())
    }
}

impl From<ipfence_exporters::Error> for Failure {
    fn from(e: ipfence_exporters::Error) -> Self {
        Failure::new(ipfence_result::ExportError, e.to_string())
    }
}

thread_local! {
    /// The message of the last failed call on this thread.
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

fn set_last_error(msg: &str) {
    // `try_with`: during thread teardown the slot may be gone; then the message is lost,
    // the code is still returned.
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut s) = slot.try_borrow_mut() {
            s.clear();
            s.push_str(msg);
        }
    });
}

/// Runs an API body inside the panic boundary, recording the message of a failure.
#[inline(always)]
pub(crate) fn boundary(body: impl FnOnce() -> Result<(), Failure>) -> ipfence_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => ipfence_result::Ok,
        Ok(Err(f)) => failed(f),
        Err(payload) => panicked(payload),
    }
}

/// Records a failure's message; returns its code. Out of line: the fast path stays small.
#[cold]
#[inline(never)]
fn failed(f: Failure) -> ipfence_result {
    set_last_error(&f.0.msg);
    f.0.code
}

/// Records a caught panic's message.
#[cold]
#[inline(never)]
fn panicked(payload: Box<dyn std::any::Any + Send>) -> ipfence_result {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    set_last_error(&format!(
        "internal error: ipfence panicked ({what}); please report it"
    ));
    ipfence_result::Panic
}

/// Like [`boundary`] for functions that return a plain value: `fallback` on panic.
#[inline(always)]
pub(crate) fn boundary_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// The largest length Rust accepts for a slice of bytes.
const MAX_LEN: usize = isize::MAX as usize;

#[cold]
#[inline(never)]
pub(crate) fn null(what: &str) -> Failure {
    Failure::new(
        ipfence_result::NullParameter,
        format!("{what}: NULL pointer"),
    )
}

/// A shared reference from a pointer that must not be NULL.
///
/// # Safety
/// A non-NULL `p` must point to a live, initialized `T` not mutated during `'a`.
pub(crate) unsafe fn try_ref<'a, T>(p: *const T, what: &str) -> Result<&'a T, Failure> {
    // SAFETY: non-NULL was checked by `as_ref`; validity is the caller's contract.
    unsafe { p.as_ref() }.ok_or_else(|| null(what))
}

/// An out-param: a non-NULL pointer that is only ever written, never read (the caller's
/// memory may be uninitialized, so no Rust reference to it is made).
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    /// Writes the value.
    #[inline(always)]
    pub(crate) fn set(self, v: T) {
        // SAFETY: `try_out` checked non-NULL, and its caller promised the pointer is
        // valid for writes of a `T`.
        unsafe { self.0.write(v) }
    }
}

/// An out-param that must not be NULL.
///
/// # Safety
/// A non-NULL `p` must be valid for writes of a `T` (aligned, live) for as long as the
/// returned [`Out`] is used.
pub(crate) unsafe fn try_out<T>(p: *mut T, what: &str) -> Result<Out<T>, Failure> {
    if p.is_null() {
        Err(null(what))
    } else {
        Ok(Out(p))
    }
}

/// An out-array of `len` elements, only ever written (see [`Out`]).
pub(crate) struct OutSlice<T> {
    p: *mut T,
    len: usize,
}

impl<T> OutSlice<T> {
    /// The number of elements.
    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Element `i` as an out-param; `None` past the end (never happens: callers iterate
    /// up to `len`, and this keeps even a logic bug in bounds).
    #[inline(always)]
    pub(crate) fn at(&mut self, i: usize) -> Option<Out<T>> {
        // SAFETY: `i < len`, and `try_out_slice`'s caller promised `len` writable
        // elements at `p`; `add` stays inside that allocation.
        (i < self.len).then(|| Out(unsafe { self.p.add(i) }))
    }

    /// Writes element `i`; an index past the end is ignored (never happens: callers
    /// iterate up to `len`, and this keeps even a logic bug in bounds).
    #[inline(always)]
    pub(crate) fn set(&mut self, i: usize, v: T) {
        if i < self.len {
            // SAFETY: `i < len`, and `try_out_slice`'s caller promised `len` writable
            // elements at `p`.
            unsafe { self.p.add(i).write(v) }
        }
    }
}

impl<T: Copy> OutSlice<T> {
    /// Copies `src` to the start, if it fits; returns whether it did.
    pub(crate) fn copy_from(&mut self, src: &[T]) -> bool {
        if src.len() > self.len {
            return false;
        }
        // SAFETY: `src.len() <= len` writable elements at `p` (the caller's promise);
        // `src` is a Rust slice, so it cannot overlap memory we may write through `p`
        // (that memory is not referenced anywhere in Rust).
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), self.p, src.len()) };
        true
    }
}

/// An out-array from `(ptr, len)`; NULL is allowed only with `len == 0`.
///
/// # Safety
/// A non-NULL `p` must be valid for writes of `len` `T`s, not read or written by anyone
/// else while the returned [`OutSlice`] is used.
pub(crate) unsafe fn try_out_slice<T>(
    p: *mut T,
    len: usize,
    what: &str,
) -> Result<OutSlice<T>, Failure> {
    if len == 0 {
        return Ok(OutSlice {
            p: std::ptr::NonNull::dangling().as_ptr(),
            len: 0,
        });
    }
    if p.is_null() {
        return Err(null(what));
    }
    if len
        .checked_mul(std::mem::size_of::<T>())
        .is_none_or(|n| n > MAX_LEN)
    {
        return Err(Failure::new(
            ipfence_result::InvalidLength,
            format!("{what}: length {len} is larger than any buffer can be"),
        ));
    }
    Ok(OutSlice { p, len })
}

/// A slice from `(ptr, len)`; NULL is allowed only with `len == 0`.
///
/// # Safety
/// A non-NULL `p` must point to `len` initialized `T`s not mutated during `'a`.
pub(crate) unsafe fn try_slice<'a, T>(
    p: *const T,
    len: usize,
    what: &str,
) -> Result<&'a [T], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(null(what));
    }
    if len
        .checked_mul(std::mem::size_of::<T>())
        .is_none_or(|n| n > MAX_LEN)
    {
        return Err(Failure::new(
            ipfence_result::InvalidLength,
            format!("{what}: length {len} is larger than any buffer can be"),
        ));
    }
    // SAFETY: `p` is non-NULL, `len * size_of::<T>()` fits in isize, and the caller
    // promises `len` initialized elements that live and stay unchanged for `'a`.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A UTF-8 string from a NUL-terminated C string that must not be NULL.
///
/// # Safety
/// A non-NULL `p` must point to a NUL-terminated string alive and unchanged during `'a`.
pub(crate) unsafe fn try_str<'a>(p: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if p.is_null() {
        return Err(null(what));
    }
    // SAFETY: non-NULL; the caller promises a NUL-terminated string alive for `'a`.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    std::str::from_utf8(bytes).map_err(|e| {
        Failure::new(
            ipfence_result::InvalidUtf8,
            format!(
                "{what}: {:?} is not valid UTF-8 (byte {})",
                String::from_utf8_lossy(bytes.get(..80).unwrap_or(bytes)),
                e.valid_up_to()
            ),
        )
    })
}

/// Like [`try_str`], NULL meaning "not given".
///
/// # Safety
/// As [`try_str`].
pub(crate) unsafe fn opt_str<'a>(p: *const c_char, what: &str) -> Result<Option<&'a str>, Failure> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract.
        unsafe { try_str(p, what) }.map(Some)
    }
}

/// Copies `text` plus a NUL into `(buf, len)` with the "size needed" contract: `needed`
/// receives `text.len() + 1` on success and when the buffer is too small.
///
/// # Safety
/// A non-NULL `buf` must be valid for writes of `len` bytes; `needed` for a `usize`.
pub(crate) unsafe fn write_text(
    text: &[u8],
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> Result<(), Failure> {
    // SAFETY: forwarded contract.
    let needed = unsafe { try_out(needed, "needed") }?;
    // SAFETY: forwarded contract (`c_char` and `u8` have the same layout).
    let mut out = unsafe { try_out_slice(buf.cast::<u8>(), len, "buf") }?;
    let want = text.len().saturating_add(1);
    if want <= out.len() {
        out.copy_from(text);
        out.set(text.len(), 0);
        needed.set(want);
        Ok(())
    } else {
        needed.set(want);
        Err(Failure::new(
            ipfence_result::BufferTooSmall,
            format!("buffer of {len} bytes is too small: {want} needed"),
        ))
    }
}

/// The library's version as a static NUL-terminated string, e.g. `"0.1.0"`.
///
/// Never NULL; the string lives as long as the program and must not be freed.
#[unsafe(no_mangle)]
pub extern "C" fn ipfence_version() -> *const c_char {
    const V: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    V.as_ptr().cast()
}

/// A static description of a result code (`"ok"`, `"a required pointer argument was
/// NULL"`, ...); `"unknown result code"` for a number this library does not define.
///
/// Never NULL; the string lives as long as the program and must not be freed.
#[unsafe(no_mangle)]
pub extern "C" fn ipfence_result_message(code: u32) -> *const c_char {
    let s: &'static str = match code {
        0 => "ok\0",
        1 => "a required pointer argument was NULL\0",
        2 => "a length is impossible (address not 4 or 16 bytes, array too long)\0",
        3 => "a string argument is not valid UTF-8\0",
        4 => "an argument is out of its range (unknown family, flag, option or index)\0",
        5 => "the published ranges could not be read\0",
        6 => "the compiled blob is corrupt, truncated or of another version\0",
        7 => "a name the data or the library does not have (filter value, source format)\0",
        8 => "the export could not be rendered\0",
        9 => "the buffer is too small\0",
        10 => "a limit of the format was exceeded\0",
        11 => "internal error: the library panicked\0",
        12 => "the call failed (see ipfence_last_error_message)\0",
        _ => "unknown result code\0",
    };
    s.as_ptr().cast()
}

/// Copies the message of the last failed call on the calling thread (the value, where
/// and why, e.g. `ip-ranges.json: prefixes[3].ip_prefix: "10.0.0.1/8" has host bits set`)
/// into `buf` as a NUL-terminated string. Empty when no call on this thread has failed.
///
/// Size contract: `*needed` receives the message length plus 1 (for the NUL). When
/// `buf_len` is smaller, nothing is copied and `IPFENCE_RESULT_BUFFER_TOO_SMALL` is
/// returned (pass `buf = NULL, buf_len = 0` to ask for the size). Calling this does not
/// change the stored message. Thread-safe: each thread has its own message.
///
/// # Safety
/// `buf` must be valid for writes of `buf_len` bytes (or NULL with `buf_len == 0`);
/// `needed` must point to a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ipfence_last_error_message(
    buf: *mut c_char,
    buf_len: usize,
    needed: *mut usize,
) -> ipfence_result {
    // Not through `boundary`: a failure here must not overwrite the message being read.
    catch_unwind(AssertUnwindSafe(|| {
        let msg = LAST_ERROR
            .try_with(|slot| slot.try_borrow().map(|s| s.clone()).unwrap_or_default())
            .unwrap_or_default();
        // SAFETY: the caller's contract above.
        match unsafe { write_text(msg.as_bytes(), buf, buf_len, needed) } {
            Ok(()) => ipfence_result::Ok,
            Err(f) => f.code(),
        }
    }))
    .unwrap_or(ipfence_result::Panic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_constants_follow_cargo() {
        let v = |s: &str| s.parse::<u32>().unwrap();
        assert_eq!(IPFENCE_VERSION_MAJOR, v(env!("CARGO_PKG_VERSION_MAJOR")));
        assert_eq!(IPFENCE_VERSION_MINOR, v(env!("CARGO_PKG_VERSION_MINOR")));
        assert_eq!(IPFENCE_VERSION_PATCH, v(env!("CARGO_PKG_VERSION_PATCH")));
        // SAFETY: ipfence_version returns a static NUL-terminated string.
        let s = unsafe { CStr::from_ptr(ipfence_version()) };
        assert_eq!(s.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn soname_matches_abi_version() {
        let build = include_str!("../build.rs");
        assert!(build.contains(&format!("libipfence.so.{IPFENCE_ABI_VERSION}\"")));
    }

    #[test]
    fn a_panic_becomes_a_code_and_a_message() {
        let r = boundary(|| panic!("boom {}", 7));
        assert_eq!(r, ipfence_result::Panic);
        let mut buf = [0 as c_char; 200];
        let mut needed = 0usize;
        // SAFETY: a live buffer and a live usize.
        let r = unsafe { ipfence_last_error_message(buf.as_mut_ptr(), buf.len(), &mut needed) };
        assert_eq!(r, ipfence_result::Ok);
        // SAFETY: written NUL-terminated above.
        let msg = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap();
        assert!(msg.contains("panicked (boom 7)"), "{msg}");
        assert_eq!(needed, msg.len() + 1);
        assert_eq!(boundary_value(5u32, || panic!("x")), 5);
    }

    #[test]
    fn result_messages_cover_every_code() {
        for code in 0..=12u32 {
            // SAFETY: static NUL-terminated strings.
            let s = unsafe { CStr::from_ptr(ipfence_result_message(code)) };
            assert_ne!(s.to_str().unwrap(), "unknown result code", "code {code}");
        }
        // SAFETY: as above.
        let s = unsafe { CStr::from_ptr(ipfence_result_message(13)) };
        assert_eq!(s.to_str().unwrap(), "unknown result code");
    }

    #[test]
    fn every_core_error_has_its_own_code() {
        use ipfence_core::Error as E;
        let s = String::from;
        let cases = [
            (
                E::Parse {
                    file: s("f"),
                    at: s("line 1"),
                    msg: s("m"),
                },
                ipfence_result::ParseError,
            ),
            (E::Prefix(s("p")), ipfence_result::InvalidArgument),
            (
                E::Blob {
                    offset: 8,
                    msg: s("m"),
                },
                ipfence_result::BlobError,
            ),
            (
                E::UnknownName {
                    what: "service",
                    name: s("\"X\""),
                    known: s("known: A"),
                },
                ipfence_result::UnknownName,
            ),
            (E::Limit(s("l")), ipfence_result::LimitExceeded),
            (
                E::BufferTooSmall { need: 2, have: 1 },
                ipfence_result::BufferTooSmall,
            ),
            (E::Invalid(s("i")), ipfence_result::InvalidArgument),
        ];
        for (e, code) in cases {
            let f = Failure::from(e.clone());
            assert_eq!(f.code(), code, "{e:?}");
            assert_eq!(f.0.msg, e.to_string());
            assert_ne!(
                f.code(),
                ipfence_result::Error,
                "{e:?} has no code of its own"
            );
        }
    }

    #[test]
    fn write_text_contract() {
        let mut needed = 0usize;
        // SAFETY: NULL buffer of length 0 is allowed; `needed` is live.
        let r = unsafe { write_text(b"abc", std::ptr::null_mut(), 0, &mut needed) };
        assert_eq!(
            r.err().map(|f| f.code()),
            Some(ipfence_result::BufferTooSmall)
        );
        assert_eq!(needed, 4);
        let mut buf = [1 as c_char; 4];
        // SAFETY: live buffer of 4 bytes.
        unsafe { write_text(b"abc", buf.as_mut_ptr(), 4, &mut needed) }
            .ok()
            .unwrap();
        assert_eq!(buf, [b'a' as c_char, b'b' as c_char, b'c' as c_char, 0]);
        // SAFETY: NULL `needed` is reported, not written.
        let r = unsafe { write_text(b"abc", buf.as_mut_ptr(), 4, std::ptr::null_mut()) };
        assert_eq!(
            r.err().map(|f| f.code()),
            Some(ipfence_result::NullParameter)
        );
    }
}
