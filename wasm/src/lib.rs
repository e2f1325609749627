//! WebAssembly package of ipfence for browsers, node and edge workers: the JS class
//! [`IpFence`] over the core's compiled matcher and the exporters.
//!
//! This crate only converts: JS values in, the core's types, JS values out; the work is
//! the core's ([`ipfence_core`]) and the exporters' ([`ipfence_exporters`]). Errors reach
//! JS as real `Error`s whose `message` is the core's (what, where and why).
//!
//! ```js
//! import init, { IpFence } from 'ipfence-wasm';
//! await init();
//! const f = IpFence.fromAwsJson(text, { services: ['API_GATEWAY'], family: 'ipv4' });
//! f.lookup('3.5.140.2');  // { prefix: '3.5.140.0/22', entries: [{ provider: 'aws', service, region, networkBorderGroup }] } or null
//! const bots = IpFence.fromSource(googlebotJson, {}, { label: 'googlebot' });  // provider 'google', service 'googlebot'
//! f.free();               // or `using f = ...` where explicit resource management exists
//! ```
//!
//! `contains`, `lookup`, `containsMany` and `lookupMany` have fast paths that pass only
//! numbers across the JS/wasm boundary (the `fast` module and `wasm/js/fast.js`, which
//! `scripts/build-wasm` appends to the generated bindings); the batch calls also take
//! binary addresses (`Uint32Array` IPv4, 16-byte `Uint8Array` IPv6).
//!
//! # Crate features
//! - `panic-hook` (default): a panic (a bug: none should happen on any input) is reported
//!   on `console.error` with its message before the module traps.
//! - `full` (default): the whole API. Without it the module has `fromBlob`, `select`,
//!   the lookups, `verifyBot`, `toBlob` and `info` only (the package's `lite` entry
//!   point, for edge workers that load a compiled blob). It has no compiler: its
//!   `select` is a view over the loaded blob ([`Fence::view`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// The crate is built at opt-level 3 for the lookup paths; the rarely called, large
// functions (parsing, filters, exports, diff) are optimized for size instead
// (`#[optimize(size)]`, nightly: scripts/build-wasm sets RUSTC_BOOTSTRAP, as -Zbuild-std
// needs). docs/performance.md, "WebAssembly": sizes.
#![cfg_attr(target_arch = "wasm32", feature(optimize_attribute))]
// The lite build leaves the full API's helpers (source options, exports) unused.
#![cfg_attr(not(feature = "full"), allow(dead_code, unused_imports))]

mod bots;
mod fast;
mod fence;
mod json;

pub use fence::{Fence, FilterSpec};

use ipfence_core::source::Format;
use ipfence_core::Family;
use std::cell::{OnceCell, RefCell};
use std::net::{IpAddr, Ipv4Addr};

use ipfence_core::crawler::{ClaimSet, Loaded};
use ipfence_core::{Match, Tags};
use js_sys::{Array, Object, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Which entries to keep; every list empty or absent selects everything. Names compare without regard to ASCII case; a name the data does not have throws, listing the valid ones. */
export interface Filter {
  /** Providers: `aws`, `google`, ..., or the label given to a list. */
  providers?: string[];
  services?: string[];
  /** Addresses of these services are removed (set difference). */
  excludeServices?: string[];
  regions?: string[];
  /** Values of the provider's extra field (AWS network border groups, Atlassian directions, Azure system services). */
  borderGroups?: string[];
  /** The same as `borderGroups`, by its provider-neutral name. */
  extras?: string[];
  family?: 'ipv4' | 'ipv6';
}
/** How to read a source. */
export interface SourceOptions {
  /** The input's name, shown in errors and export headers. */
  name?: string;
  /** Who the input is, as `ipfence --input LABEL=FILE` names it: `googlebot` gives a Google crawler list its provider and service; another name is the provider of a CIDR list. */
  label?: string;
  /** `fromSource` only: the format, one of `IpFence.sourceFormats()` (or an alias); detected when absent. */
  format?: string;
  /** Mask host bits (`10.0.0.1/8` becomes `10.0.0.0/8`) instead of refusing them. */
  maskHostBits?: boolean;
}
/** One published tag set. The provider's extra field is under its own key: `networkBorderGroup` (AWS), `direction` (Atlassian), `systemService` (Azure), `type` (Zscaler), else `extra`. */
export interface Tags {
  readonly provider: string; readonly service: string; readonly region: string;
  readonly networkBorderGroup?: string; readonly direction?: string; readonly systemService?: string;
  readonly type?: string; readonly extra?: string;
}
/** The answer of `verifyBot`: `verdict` is `genuine` (with the `list` and `prefix` that hold the address), `fake` (every list of the claimed crawler is loaded and none holds it), `unverifiable` (a list of that crawler is not in the data) or `none` (no crawler claimed). Frozen: the same answer is the same object. */
export interface BotVerdict {
  readonly verdict: 'genuine' | 'fake' | 'unverifiable' | 'none';
  readonly crawler: string | null; readonly operator: string | null;
  readonly list: string | null; readonly prefix: string | null; readonly message: string;
}
/** Frozen: every lookup that lands on the same prefix returns the same object. */
export interface LookupResult { readonly prefix: string; readonly entries: readonly Tags[]; }
export interface SourceInfo { name: string; format: string; provider: string; createDate: string | null; syncToken: string | null; }
export interface Info { sources: SourceInfo[]; filter: string; prefixCount: number; entryCount: number; blobBytes: number; }
export interface Names { providers: string[]; services: string[]; regions: string[]; borderGroups: string[]; }
export interface ExportOptions {
  name?: string; style?: string; ports?: number[]; protocol?: string; scope?: 'REGIONAL' | 'CLOUDFRONT';
  maxEntries?: number; summarize?: boolean; awsId?: string; lockToken?: string; currentVersion?: number;
}
export interface ExportOutput { text: string; notes: string[]; }
export interface DiffEntry extends Tags { prefix: string; }
export interface Diff {
  added: DiffEntry[]; removed: DiffEntry[];
  summary: { provider: string; service: string; region: string; added: number; removed: number }[];
  addedAddresses: { ipv4: number; ipv6: string }; removedAddresses: { ipv4: number; ipv6: string };
}
"#;

#[wasm_bindgen]
extern "C" {
    /// A `Filter` object (typed for TS; read and checked in [`read_filter`]).
    #[wasm_bindgen(typescript_type = "Filter")]
    pub type FilterArg;
    /// A `SourceOptions` object.
    #[wasm_bindgen(typescript_type = "SourceOptions")]
    pub type SourceOptionsArg;
    /// An `ExportOptions` object.
    #[wasm_bindgen(typescript_type = "ExportOptions")]
    pub type ExportOptionsArg;

    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(s: &str);
}

/// Installs the panic hook when the module starts.
///
/// `scripts/build-wasm` builds with `panic = immediate-abort`: a panic traps at once (no
/// hook runs, and no panic formatting is in the `.wasm`), and the JS side turns the trap
/// into an `Error` saying it is an ipfence bug (`wasm/js/fast.js`).
#[wasm_bindgen(start)]
pub fn start() {
    #[cfg(all(
        feature = "panic-hook",
        target_arch = "wasm32",
        not(panic = "immediate-abort")
    ))]
    std::panic::set_hook(Box::new(|info| {
        console_error(&format!(
            "ipfence-wasm: internal error (a bug, please report it); the module must be reloaded: {info}"
        ));
    }));
}

fn err(msg: String) -> JsError {
    JsError::new(&msg)
}

/// Parses JSON we wrote (always valid) into a JS value.
fn from_json(s: &str) -> Result<JsValue, JsError> {
    JSON::parse(s).map_err(|_| JsError::new("internal error: result is not valid JSON"))
}

/// `typeof`-style name of a value, for messages.
fn kind(v: &JsValue) -> String {
    if v.is_null() {
        return "null".into();
    }
    if Array::is_array(v) {
        return "an array".into();
    }
    v.js_typeof().as_string().unwrap_or_default()
}

fn absent(v: &JsValue) -> bool {
    v.is_undefined() || v.is_null()
}

/// Checks `v` is a plain object (or absent) whose keys are all in `known`.
#[cfg_attr(target_arch = "wasm32", optimize(size))]
fn object_keys(v: &JsValue, what: &str, known: &[&str]) -> Result<bool, String> {
    if absent(v) {
        return Ok(false);
    }
    if !v.is_object() || Array::is_array(v) {
        return Err(format!("{what}: expected an object, got {}", kind(v)));
    }
    for k in Object::keys(v.unchecked_ref::<Object>()).iter() {
        let k = k.as_string().unwrap_or_default();
        if !known.contains(&k.as_str()) {
            return Err(format!(
                "{what}: unknown key \"{k}\" (expected {})",
                known.join(", ")
            ));
        }
    }
    Ok(true)
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

#[cfg_attr(target_arch = "wasm32", optimize(size))]
fn opt_string(v: &JsValue, key: &str, what: &str) -> Result<Option<String>, String> {
    let x = get(v, key);
    if absent(&x) {
        return Ok(None);
    }
    x.as_string()
        .map(Some)
        .ok_or_else(|| format!("{what}.{key}: expected a string, got {}", kind(&x)))
}

#[cfg_attr(target_arch = "wasm32", optimize(size))]
fn opt_bool(v: &JsValue, key: &str, what: &str) -> Result<Option<bool>, String> {
    let x = get(v, key);
    if absent(&x) {
        return Ok(None);
    }
    x.as_bool()
        .map(Some)
        .ok_or_else(|| format!("{what}.{key}: expected true or false, got {}", kind(&x)))
}

/// `Number.MAX_SAFE_INTEGER`.
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;

/// A whole number in `0..=max`, from a JS number.
#[cfg_attr(target_arch = "wasm32", optimize(size))]
fn whole(x: &JsValue, max: f64, max_text: &str, what: &str) -> Result<u64, String> {
    match x.as_f64() {
        // The range check makes the conversion exact.
        Some(n) if n.fract() == 0.0 && (0.0..=max).contains(&n) => Ok(n as u64),
        // JS's own String(n): no float formatting code in the .wasm.
        Some(_) => Err(format!(
            "{what}: {} is not a whole number from 0 to {max_text}",
            js_sys::Number::from(x.clone())
                .to_string_with_radix(10)
                .ok()
                .and_then(|s| s.as_string())
                .unwrap_or_default()
        )),
        None => Err(format!("{what}: expected a number, got {}", kind(x))),
    }
}

/// A list of strings; a single string counts as a list of one.
#[cfg_attr(target_arch = "wasm32", optimize(size))]
fn string_list(v: &JsValue, key: &str, what: &str) -> Result<Vec<String>, String> {
    let x = get(v, key);
    if absent(&x) {
        return Ok(Vec::new());
    }
    if let Some(s) = x.as_string() {
        return Ok(vec![s]);
    }
    if !Array::is_array(&x) {
        return Err(format!(
            "{what}.{key}: expected an array of strings, got {}",
            kind(&x)
        ));
    }
    let arr: &Array = x.unchecked_ref();
    arr.iter()
        .enumerate()
        .map(|(i, s)| {
            s.as_string()
                .ok_or_else(|| format!("{what}.{key}[{i}]: expected a string, got {}", kind(&s)))
        })
        .collect()
}

#[cfg_attr(target_arch = "wasm32", optimize(size))]
fn read_filter(v: &JsValue) -> Result<FilterSpec, String> {
    const KEYS: &[&str] = &[
        "providers",
        "services",
        "excludeServices",
        "regions",
        "borderGroups",
        "extras",
        "family",
    ];
    if !object_keys(v, "filter", KEYS)? {
        return Ok(FilterSpec::default());
    }
    let family = match opt_string(v, "family", "filter")?.as_deref() {
        None | Some("") | Some("any") => None,
        Some(f) if f.eq_ignore_ascii_case("ipv4") => Some(Family::V4),
        Some(f) if f.eq_ignore_ascii_case("ipv6") => Some(Family::V6),
        Some(f) => {
            return Err(format!(
                "filter.family: \"{f}\" is not \"ipv4\" or \"ipv6\" (omit it for both)"
            ))
        }
    };
    let mut extras = string_list(v, "borderGroups", "filter")?;
    extras.extend(string_list(v, "extras", "filter")?);
    Ok(FilterSpec {
        providers: string_list(v, "providers", "filter")?,
        services: string_list(v, "services", "filter")?,
        exclude_services: string_list(v, "excludeServices", "filter")?,
        regions: string_list(v, "regions", "filter")?,
        extras,
        family,
    })
}

/// A source options object, read.
struct SourceOptions {
    name: Option<String>,
    label: Option<String>,
    format: Option<Format>,
    mask: bool,
}

#[cfg_attr(target_arch = "wasm32", optimize(size))]
fn read_source_options(v: &JsValue) -> Result<SourceOptions, String> {
    let keys = ["name", "label", "format", "maskHostBits"];
    if !object_keys(v, "options", &keys)? {
        return Ok(SourceOptions {
            name: None,
            label: None,
            format: None,
            mask: false,
        });
    }
    let format = opt_string(v, "format", "options")?
        .map(|f| {
            f.parse::<Format>()
                .map_err(|e| format!("options.format: {e}"))
        })
        .transpose()?;
    Ok(SourceOptions {
        name: opt_string(v, "name", "options")?,
        label: opt_string(v, "label", "options")?,
        format,
        mask: opt_bool(v, "maskHostBits", "options")?.unwrap_or(false),
    })
}

#[cfg_attr(target_arch = "wasm32", optimize(size))]
fn read_export_options(v: &JsValue) -> Result<ipfence_exporters::Options, String> {
    const KEYS: &[&str] = &[
        "name",
        "style",
        "ports",
        "protocol",
        "scope",
        "maxEntries",
        "summarize",
        "awsId",
        "lockToken",
        "currentVersion",
    ];
    let mut o = ipfence_exporters::Options::default();
    if !object_keys(v, "options", KEYS)? {
        return Ok(o);
    }
    if let Some(s) = opt_string(v, "name", "options")? {
        o.name = s;
    }
    o.style = opt_string(v, "style", "options")?;
    let ports = get(v, "ports");
    if !absent(&ports) {
        if !Array::is_array(&ports) {
            return Err(format!(
                "options.ports: expected an array of numbers, got {}",
                kind(&ports)
            ));
        }
        let arr: &Array = ports.unchecked_ref();
        for (i, p) in arr.iter().enumerate() {
            let n = whole(&p, 65535.0, "65535", &format!("options.ports[{i}]"))?;
            o.ports
                .push(u16::try_from(n).map_err(|e| e.to_string())?.into());
        }
    }
    if let Some(s) = opt_string(v, "protocol", "options")? {
        o.protocol = s;
    }
    if let Some(s) = opt_string(v, "scope", "options")? {
        o.scope = s;
    }
    let max = get(v, "maxEntries");
    if !absent(&max) {
        let n = whole(&max, MAX_SAFE, "2^53 - 1", "options.maxEntries")?;
        o.max_entries = Some(usize::try_from(n).map_err(|e| e.to_string())?);
    }
    o.summarize = opt_bool(v, "summarize", "options")?.unwrap_or(false);
    o.aws_id = opt_string(v, "awsId", "options")?;
    o.lock_token = opt_string(v, "lockToken", "options")?;
    let cv = get(v, "currentVersion");
    if !absent(&cv) {
        o.current_version = Some(whole(&cv, MAX_SAFE, "2^53 - 1", "options.currentVersion")?);
    }
    Ok(o)
}

#[cfg_attr(target_arch = "wasm32", optimize(size))]
fn strings_of(ips: &JsValue) -> Result<Vec<String>, String> {
    if !Array::is_array(ips) {
        return Err(format!(
            "ips: expected an array of strings, a Uint32Array or a Uint8Array, got {}",
            kind(ips)
        ));
    }
    let arr: &Array = ips.unchecked_ref();
    arr.iter()
        .enumerate()
        .map(|(i, s)| {
            s.as_string()
                .ok_or_else(|| format!("ips[{i}]: expected a string, got {}", kind(&s)))
        })
        .collect()
}

/// Runs `run` on the addresses of `ips` (a JS array of strings).
///
/// Fast path: one `Array.prototype.join` and one string crossing into wasm instead of
/// two crossings per element. Any failure (an item not a string, an item with a newline,
/// a bad address) reruns the careful per-element path, whose error names the item.
fn batch<T>(ips: &JsValue, run: impl Fn(&[&str]) -> Result<T, String>) -> Result<T, JsError> {
    if Array::is_array(ips) {
        let arr: &Array = ips.unchecked_ref();
        if let Some(text) = arr.join("\n").as_string() {
            let parts: Vec<&str> = text.split('\n').collect();
            if usize::try_from(arr.length()).ok() == Some(parts.len()) {
                if let Ok(v) = run(&parts) {
                    return Ok(v);
                }
            }
        }
    }
    let owned = strings_of(ips).map_err(|e| err(e.to_string()))?;
    let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
    run(&refs).map_err(err)
}

/// The 16-byte IPv6 addresses of a `Uint8Array`.
fn v6_chunks(ips: &[u8]) -> Result<std::slice::ChunksExact<'_, u8>, JsError> {
    if !ips.len().is_multiple_of(16) {
        return Err(JsError::new(&format!(
            "ips: a Uint8Array of IPv6 addresses needs 16 bytes per address, got {} bytes",
            ips.len()
        )));
    }
    Ok(ips.chunks_exact(16))
}

/// The lite module answers `contains` with the lookup's walk (a prefix id, not 0):
/// one copy of the trie walks in the `.wasm` instead of two, at the same speed within
/// noise, and the same path a selection (a view, [`Fence::view`]) needs anyway.
const LOOKUP_WALK_ONLY: bool = cfg!(not(feature = "full"));

/// An allowlist: published IP ranges compiled into a longest-prefix matcher.
///
/// Memory lives in the wasm heap: call `.free()` when done (or `using`), or let the
/// garbage collector's finalizer do it.
#[wasm_bindgen]
pub struct IpFence {
    inner: Fence,
    js: JsCache,
    /// The crawler lists the data holds, found on the first `verifyBot`.
    loaded: OnceCell<Loaded>,
}

/// The JS results of `lookup`, made once per prefix and fence.
///
/// Decoding strings out of wasm (`TextDecoder`) and setting properties one crossing at a
/// time cost microseconds per result; a prefix that was looked up before costs one table
/// read instead (docs/performance.md, "WebAssembly"). Results are frozen, since every lookup
/// landing on the same prefix returns the same object. The JS fast path
/// (`wasm/js/fast.js`) keeps its own array of the same objects, by the same ids.
#[derive(Default)]
struct JsCache {
    keys: OnceCell<[JsValue; 6]>,
    /// Tag strings by (address, length): they are slices of the fence's immutable blob,
    /// so the address names one string for the fence's life. At most the blob's
    /// distinct strings (a few hundred for AWS), sorted by key: a binary search, and
    /// less code in the `.wasm` than a hash map (its hasher and table).
    tags: RefCell<Vec<((usize, usize), JsValue)>>,
    /// Result objects by prefix id ([`fast::id`]) minus one.
    results: RefCell<Vec<JsValue>>,
}

impl JsCache {
    fn keys(&self) -> &[JsValue; 6] {
        self.keys.get_or_init(|| {
            [
                "prefix",
                "entries",
                "provider",
                "service",
                "region",
                "networkBorderGroup",
            ]
            .map(JsValue::from_str)
        })
    }

    fn tag(&self, s: &str) -> JsValue {
        let key = (s.as_ptr() as usize, s.len());
        let mut tags = self.tags.borrow_mut();
        match tags.binary_search_by_key(&key, |(k, _)| *k) {
            Ok(i) => tags.get(i).map_or(JsValue::UNDEFINED, |(_, v)| v.clone()),
            Err(i) => {
                let v = JsValue::from_str(s);
                tags.insert(i, (key, v.clone()));
                v
            }
        }
    }

    /// The result object for prefix id `id` (`null` for 0), built from `m` the first
    /// time.
    fn result(&self, id: u32, m: impl FnOnce() -> Option<JsValue>) -> JsValue {
        let Some(i) = usize::try_from(id).ok().and_then(|i| i.checked_sub(1)) else {
            return JsValue::NULL;
        };
        if let Some(v) = self.results.borrow().get(i).filter(|v| !v.is_undefined()) {
            return v.clone();
        }
        let v = m().unwrap_or(JsValue::NULL);
        let mut results = self.results.borrow_mut();
        if results.len() <= i {
            results.resize(i + 1, JsValue::UNDEFINED);
        }
        if let Some(slot) = results.get_mut(i) {
            *slot = v.clone();
        }
        v
    }

    /// `{ prefix, entries: [{ provider, service, region, <extra key> }] }`, frozen: the
    /// extra field under its provider's key (`networkBorderGroup` for AWS).
    fn match_object<'a>(&self, m: &Match<'_>, tags: impl Iterator<Item = Tags<'a>>) -> JsValue {
        let [prefix, entries, provider, service, region, nbg] = self.keys();
        let obj = Object::new();
        let list = Array::new();
        for t in tags {
            let e = Object::new();
            // Setting a data property on a plain new object cannot fail.
            let _ = Reflect::set(&e, provider, &self.tag(t.provider));
            let _ = Reflect::set(&e, service, &self.tag(t.service));
            let _ = Reflect::set(&e, region, &self.tag(t.region));
            let extra = if t.provider == "aws" {
                nbg.clone()
            } else {
                JsValue::from_str(fence::extra_key(t.provider))
            };
            let _ = Reflect::set(&e, &extra, &self.tag(t.extra));
            list.push(&Object::freeze(&e));
        }
        let _ = Reflect::set(&obj, prefix, &JsValue::from_str(&m.prefix().to_string()));
        let _ = Reflect::set(&obj, entries, &Object::freeze(&list));
        Object::freeze(&obj).into()
    }
}

impl IpFence {
    fn new(inner: Fence) -> IpFence {
        IpFence {
            inner,
            js: JsCache::default(),
            loaded: OnceCell::new(),
        }
    }

    fn loaded(&self) -> Loaded {
        *self.loaded.get_or_init(|| self.inner.loaded())
    }

    /// The verdict code ([`bots`]) of `ip` for the crawlers of `claims`.
    fn verdict_code(&self, claims: u32, ip: IpAddr) -> f64 {
        if claims == 0 {
            return 0.0;
        }
        bots::code(&self.inner, self.loaded(), ClaimSet(claims), self.id(ip))
    }

    /// The prefix ids of `ips` (strings, a `Uint32Array` or a `Uint8Array`).
    fn ids_of(&self, ips: &JsValue) -> Result<Vec<u32>, JsError> {
        if let Some(a) = ips.dyn_ref::<js_sys::Uint32Array>() {
            return Ok(self.lookup_v4(&a.to_vec()));
        }
        if let Some(a) = ips.dyn_ref::<js_sys::Uint8Array>() {
            return self.lookup_v6(&a.to_vec());
        }
        batch(ips, |ips| {
            ips.iter()
                .enumerate()
                .map(|(i, ip)| {
                    fence::addr(ip)
                        .map(|ip| self.id(ip))
                        .map_err(|why| format!("ips[{i}]: {why}"))
                })
                .collect::<Result<Vec<_>, _>>()
        })
    }

    /// The prefix id of `ip`'s longest match (0: none), redirected for a view
    /// ([`Fence::redirect`]): the ids JS caches results by are the answer's own.
    fn id(&self, ip: IpAddr) -> u32 {
        self.inner.id(ip)
    }

    /// [`IpFence::id`] of an IPv4 address as a number.
    #[inline(always)]
    fn id_v4(&self, ip: u32) -> u32 {
        self.inner
            .redirect(fast::id(self.inner.matcher().lookup_v4(Ipv4Addr::from(ip))))
    }

    /// The result object of prefix id `id` (`null` for 0).
    fn result(&self, id: u32) -> JsValue {
        self.js.result(id, || {
            let i = usize::try_from(id).ok()?.checked_sub(1)?;
            let m = self.inner.matcher().prefix_at(i)?;
            Some(self.js.match_object(&m, self.inner.entries(&m)))
        })
    }
}

/// Reads `text` as `format` (`None`: the options' format, else the detected one).
#[cfg_attr(target_arch = "wasm32", optimize(size))]
fn source(
    text: &str,
    format: Option<Format>,
    default_name: &str,
    filter: Option<FilterArg>,
    options: Option<SourceOptionsArg>,
) -> Result<IpFence, JsError> {
    let spec = read_filter(&filter.map_or(JsValue::UNDEFINED, JsValue::from)).map_err(err)?;
    let options = options.map_or(JsValue::UNDEFINED, JsValue::from);
    let o = read_source_options(&options).map_err(err)?;
    let format = match (format, o.format) {
        (Some(fixed), Some(_)) => {
            return Err(err(format!(
                "options.format: this constructor reads {} only; use fromSource to name a format",
                fixed.what()
            )))
        }
        (fixed, given) => fixed.or(given),
    };
    let format = match format {
        Some(f) => f,
        None => {
            ipfence_core::source::detect(text.as_bytes(), o.name.as_deref().unwrap_or("source"))
                .map_err(|e| err(e.to_string()))?
        }
    };
    // A detected or named format's words name an unnamed input (`AWS ip-ranges.json`).
    let name = o.name.as_deref().unwrap_or(if default_name.is_empty() {
        format.what()
    } else {
        default_name
    });
    Fence::from_source(
        text.as_bytes(),
        name,
        Some(format),
        o.label.as_deref(),
        &spec,
        o.mask,
    )
    .map(IpFence::new)
    .map_err(err)
}

#[wasm_bindgen]
impl IpFence {
    /// Parses AWS `ip-ranges.json` and keeps what `filter` selects.
    #[cfg(feature = "full")]
    #[wasm_bindgen(js_name = fromAwsJson)]
    pub fn from_aws_json(
        text: &str,
        filter: Option<FilterArg>,
        options: Option<SourceOptionsArg>,
    ) -> Result<IpFence, JsError> {
        source(text, Some(Format::Aws), "ip-ranges.json", filter, options)
    }

    /// Parses the CloudFront list (`list-cloudfront-ips.json`) and keeps what `filter`
    /// selects.
    #[cfg(feature = "full")]
    #[wasm_bindgen(js_name = fromCloudFrontJson)]
    pub fn from_cloudfront_json(
        text: &str,
        filter: Option<FilterArg>,
        options: Option<SourceOptionsArg>,
    ) -> Result<IpFence, JsError> {
        source(
            text,
            Some(Format::CloudFront),
            "list-cloudfront-ips.json",
            filter,
            options,
        )
    }

    /// Parses a CIDR list (one prefix or address per line, `#` comments).
    #[cfg(feature = "full")]
    #[wasm_bindgen(js_name = fromText)]
    pub fn from_text(
        text: &str,
        filter: Option<FilterArg>,
        options: Option<SourceOptionsArg>,
    ) -> Result<IpFence, JsError> {
        source(text, Some(Format::Text), "CIDR list", filter, options)
    }

    /// Reads any supported layout (`options.format` names it, else it is detected from
    /// its distinctive keys; JSON of an unknown layout throws, listing the supported
    /// ones) and keeps what `filter` selects. `options.label` names the input
    /// (`googlebot`, `cloudflare`, ...).
    #[cfg(feature = "full")]
    #[wasm_bindgen(js_name = fromSource)]
    pub fn from_source(
        text: &str,
        filter: Option<FilterArg>,
        options: Option<SourceOptionsArg>,
    ) -> Result<IpFence, JsError> {
        source(text, None, "", filter, options)
    }

    /// What `fromSource` would read `text` as: one of `sourceFormats()` (`"aws"`,
    /// `"google"`, `"text"`, ...). Throws for JSON of a layout no format reads.
    #[cfg(feature = "full")]
    #[wasm_bindgen(js_name = detectFormat)]
    #[cfg_attr(target_arch = "wasm32", optimize(size))]
    pub fn detect_format(text: &str) -> Result<String, JsError> {
        ipfence_core::source::detect(text.as_bytes(), "source")
            .map(|f| f.name().to_string())
            .map_err(|e| err(e.to_string()))
    }

    /// The names of every source format this build reads (`options.format` of
    /// `fromSource`, `detectFormat`'s answers).
    #[cfg(feature = "full")]
    #[wasm_bindgen(js_name = sourceFormats)]
    #[cfg_attr(target_arch = "wasm32", optimize(size))]
    pub fn source_formats() -> Vec<String> {
        Format::ALL.iter().map(|f| f.name().to_string()).collect()
    }

    /// Loads a compiled blob (from `ipfence compile` or `toBlob`). The bytes are copied
    /// into wasm memory once (kept as the matcher's own storage) and validated whole, so
    /// lookups cannot fail later.
    #[wasm_bindgen(js_name = fromBlob)]
    pub fn from_blob(bytes: Vec<u8>) -> Result<IpFence, JsError> {
        Fence::from_vec(bytes).map(IpFence::new).map_err(err)
    }

    /// A new allowlist with what `filter` selects from this one.
    #[cfg_attr(target_arch = "wasm32", optimize(size))]
    pub fn select(&self, filter: FilterArg) -> Result<IpFence, JsError> {
        let spec = read_filter(&filter.into()).map_err(|e| err(e.to_string()))?;
        self.inner.select(&spec).map(IpFence::new).map_err(err)
    }

    /// Whether `ip` is allowed. Throws when `ip` is not an IPv4 or IPv6 address.
    pub fn contains(&self, ip: &str) -> Result<bool, JsError> {
        self.inner.contains(ip).map_err(err)
    }

    /// The longest matching prefix of `ip` and its entries, or `null`.
    #[wasm_bindgen(unchecked_return_type = "LookupResult | null")]
    pub fn lookup(&self, ip: &str) -> Result<JsValue, JsError> {
        let ip = fence::addr(ip).map_err(|e| err(e.to_string()))?;
        Ok(self.result(self.id(ip)))
    }

    /// `lookup` for many addresses at once: strings, or binary addresses (see
    /// `containsMany`).
    #[wasm_bindgen(js_name = lookupMany, unchecked_return_type = "(LookupResult | null)[]")]
    pub fn lookup_many(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string[] | Uint32Array | Uint8Array")] ips: JsValue,
    ) -> Result<JsValue, JsError> {
        let ids = self.ids_of(&ips)?;
        Ok(ids
            .iter()
            .map(|&id| self.result(id))
            .collect::<Array>()
            .into())
    }

    /// `contains` for many addresses: a `Uint8Array` of 1 (allowed) and 0. `ips` is an
    /// array of strings, a `Uint32Array` of IPv4 addresses as numbers (`0x03058c02` is
    /// `3.5.140.2`) or a `Uint8Array` of IPv6 addresses, 16 bytes each in network order.
    #[wasm_bindgen(js_name = containsMany)]
    pub fn contains_many(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string[] | Uint32Array | Uint8Array")] ips: JsValue,
    ) -> Result<Vec<u8>, JsError> {
        if let Some(a) = ips.dyn_ref::<js_sys::Uint32Array>() {
            return Ok(self.contains_v4(&a.to_vec()));
        }
        if let Some(a) = ips.dyn_ref::<js_sys::Uint8Array>() {
            return self.contains_v6(&a.to_vec());
        }
        batch(&ips, |ips| self.inner.contains_many(ips))
    }

    /// Does `ip` come from the crawler `userAgent` claims (Googlebot, bingbot, GPTBot,
    /// ...)? Throws when `ip` is not an address. The crawler lists must be in the data
    /// (a blob compiled from `googlebot.json`, ... named as `ipfence --input NAME=FILE`
    /// names them); a crawler whose list is not there is `unverifiable`, never `fake`.
    #[wasm_bindgen(js_name = verifyBot, unchecked_return_type = "BotVerdict")]
    pub fn verify_bot(&self, user_agent: &str, ip: &str) -> Result<JsValue, JsError> {
        let ip = fence::addr(ip).map_err(|e| err(e.to_string()))?;
        let code = self.verdict_code(fast::str_claims(user_agent), ip);
        self.verdict(code)
    }

    /// Fast path: the crawlers a user agent too long for the scratch buffer claims, as
    /// a bit set (0: none).
    #[wasm_bindgen(js_name = __claims, skip_typescript)]
    pub fn claims(user_agent: &str) -> u32 {
        fast::str_claims(user_agent)
    }

    /// Fast path: the user-agent scratch buffer's address in wasm memory.
    #[wasm_bindgen(js_name = __uaScratch, skip_typescript)]
    pub fn ua_scratch() -> usize {
        fast::ua_scratch_ptr()
    }

    /// Fast path: the crawlers claimed by the `len` bytes in the user-agent scratch
    /// buffer, as a bit set.
    #[wasm_bindgen(js_name = __claimsAt, skip_typescript)]
    pub fn claims_at(len: u32) -> u32 {
        fast::ua_claims(len)
    }

    /// Fast path: the verdict code for the crawlers of `claims` and the prefix id of
    /// the address (from `__lookupV4One`, `__lookupV6One` or `__lookupAt`: the lookup
    /// fast paths serve `verifyBot` too, so the `.wasm` holds no second copy of them).
    #[wasm_bindgen(js_name = __verifyId, skip_typescript)]
    pub fn verify_id(&self, claims: u32, id: u32) -> f64 {
        if claims == 0 {
            return 0.0;
        }
        bots::code(&self.inner, self.loaded(), ClaimSet(claims), id)
    }

    /// Fast path: the frozen result object of a verdict code.
    #[wasm_bindgen(js_name = __verdict, skip_typescript)]
    #[cfg_attr(target_arch = "wasm32", optimize(size))]
    pub fn verdict(&self, code: f64) -> Result<JsValue, JsError> {
        let text = bots::json(self.inner.matcher(), self.loaded(), code)
            .ok_or_else(|| JsError::new("internal error: not a verdict code"))?;
        let o: Object = from_json(&text)?.unchecked_into();
        Ok(Object::freeze(&o).into())
    }

    /// Tests only: panics, as a bug would (`wasm/tests/panic.test.js` checks what JS
    /// gets).
    #[wasm_bindgen(js_name = __panicForTest, skip_typescript)]
    pub fn panic_for_test() {
        panic!("ipfence-wasm: the test panic");
    }

    /// Fast path: the scratch buffer's address in wasm memory (`wasm/js/fast.js`).
    #[wasm_bindgen(js_name = __scratch, skip_typescript)]
    pub fn scratch() -> usize {
        fast::scratch_ptr()
    }

    /// Fast path: the prefix id of the `len` bytes in the scratch buffer (0: no match),
    /// or `0xffffffff` when they are not an address.
    #[wasm_bindgen(js_name = __lookupAt, skip_typescript)]
    pub fn lookup_at(&self, len: u32) -> u32 {
        match fast::scratch_addr(len) {
            Some(ip) => self.id(ip),
            None => fast::NOT_AN_ADDRESS,
        }
    }

    /// Fast path: `contains` of one IPv4 address as a number (`wasm/js/fast.js` reads
    /// dotted quads itself).
    #[wasm_bindgen(js_name = __containsV4One, skip_typescript)]
    pub fn contains_v4_one(&self, ip: u32) -> bool {
        if LOOKUP_WALK_ONLY || self.inner.is_view() {
            return self.id_v4(ip) != 0;
        }
        self.inner.matcher().contains_v4(Ipv4Addr::from(ip))
    }

    /// Fast path: `contains` of one IPv6 address as four 32-bit words, most
    /// significant first (IPv4-mapped ones as IPv4).
    #[wasm_bindgen(js_name = __containsV6One, skip_typescript)]
    pub fn contains_v6_one(&self, a: u32, b: u32, c: u32, d: u32) -> bool {
        let ip = fast::v6_from_words(a, b, c, d);
        if LOOKUP_WALK_ONLY || self.inner.is_view() {
            return self.id(ip) != 0;
        }
        self.inner.matcher().contains(ip)
    }

    /// Fast path: the prefix id of one IPv6 address as four 32-bit words (0: none).
    #[wasm_bindgen(js_name = __lookupV6One, skip_typescript)]
    pub fn lookup_v6_one(&self, a: u32, b: u32, c: u32, d: u32) -> u32 {
        self.id(fast::v6_from_words(a, b, c, d))
    }

    /// Fast path: the prefix id of one IPv4 address as a number (0: no match).
    #[wasm_bindgen(js_name = __lookupV4One, skip_typescript)]
    pub fn lookup_v4_one(&self, ip: u32) -> u32 {
        self.id(IpAddr::V4(Ipv4Addr::from(ip)))
    }

    /// Fast path: the result object of a prefix id from `__lookupAt` (`null` for 0).
    #[wasm_bindgen(js_name = __result, skip_typescript)]
    pub fn result_of(&self, id: u32) -> JsValue {
        self.result(id)
    }

    /// Fast path: `containsMany` of IPv4 addresses as numbers.
    #[wasm_bindgen(js_name = __containsV4, skip_typescript)]
    pub fn contains_v4(&self, ips: &[u32]) -> Vec<u8> {
        if LOOKUP_WALK_ONLY || self.inner.is_view() {
            return ips.iter().map(|&n| u8::from(self.id_v4(n) != 0)).collect();
        }
        let m = self.inner.matcher();
        ips.iter()
            .map(|&n| u8::from(m.contains_v4(Ipv4Addr::from(n))))
            .collect()
    }

    /// Fast path: `containsMany` of IPv6 addresses, 16 bytes each.
    #[wasm_bindgen(js_name = __containsV6, skip_typescript)]
    pub fn contains_v6(&self, ips: &[u8]) -> Result<Vec<u8>, JsError> {
        let m = self.inner.matcher();
        let view = LOOKUP_WALK_ONLY || self.inner.is_view();
        Ok(v6_chunks(ips)?
            .map(|b| {
                fast::v6_from_bytes(b)
                    .is_some_and(|ip| {
                        if view {
                            self.id(ip) != 0
                        } else {
                            fast::contains(m, ip)
                        }
                    })
                    .into()
            })
            .collect())
    }

    /// Fast path: `lookupMany` of IPv4 addresses as numbers: prefix ids (0: none).
    #[wasm_bindgen(js_name = __lookupV4, skip_typescript)]
    pub fn lookup_v4(&self, ips: &[u32]) -> Vec<u32> {
        ips.iter().map(|&n| self.id_v4(n)).collect()
    }

    /// Fast path: `lookupMany` of IPv6 addresses, 16 bytes each: prefix ids (0: none).
    #[wasm_bindgen(js_name = __lookupV6, skip_typescript)]
    pub fn lookup_v6(&self, ips: &[u8]) -> Result<Vec<u32>, JsError> {
        let m = self.inner.matcher();
        Ok(v6_chunks(ips)?
            .map(|b| {
                fast::v6_from_bytes(b)
                    .map_or(0, |ip| self.inner.redirect(fast::id(fast::lookup(m, ip))))
            })
            .collect())
    }

    /// Renders every address as firewall rules or AWS payloads: `format` is one of
    /// `nftables`, `ipset`, `iptables`, `pf`, `aws-waf`, `aws-prefix-list`,
    /// `aws-security-group`.
    #[cfg(feature = "full")]
    #[wasm_bindgen(unchecked_return_type = "ExportOutput")]
    pub fn export(
        &self,
        format: &str,
        options: Option<ExportOptionsArg>,
    ) -> Result<JsValue, JsError> {
        self.export_from(
            format,
            &options.map_or(JsValue::UNDEFINED, JsValue::from),
            None,
        )
    }

    /// The incremental update from `old` (the version currently loaded) to this one.
    #[cfg(feature = "full")]
    #[wasm_bindgen(js_name = exportUpdate, unchecked_return_type = "ExportOutput")]
    pub fn export_update(
        &self,
        format: &str,
        old: &IpFence,
        options: Option<ExportOptionsArg>,
    ) -> Result<JsValue, JsError> {
        self.export_from(
            format,
            &options.map_or(JsValue::UNDEFINED, JsValue::from),
            Some(&old.inner),
        )
    }

    #[cfg_attr(target_arch = "wasm32", optimize(size))]
    fn export_from(
        &self,
        format: &str,
        options: &JsValue,
        old: Option<&Fence>,
    ) -> Result<JsValue, JsError> {
        let opts = read_export_options(options).map_err(|e| err(e.to_string()))?;
        let out = self
            .inner
            .export(format, &opts, old)
            .map_err(|e| err(e.to_string()))?;
        let obj = Object::new();
        let notes: Array = out.notes.iter().map(|n| JsValue::from_str(n)).collect();
        let ok = Reflect::set(&obj, &"text".into(), &JsValue::from_str(&out.text))
            .and_then(|_| Reflect::set(&obj, &"notes".into(), &notes));
        ok.map_err(|_| JsError::new("internal error: cannot build the export result"))?;
        Ok(obj.into())
    }

    /// What changed from this version (the older) to `newer`.
    #[cfg(feature = "full")]
    #[wasm_bindgen(unchecked_return_type = "Diff")]
    #[cfg_attr(target_arch = "wasm32", optimize(size))]
    pub fn diff(&self, newer: &IpFence) -> Result<JsValue, JsError> {
        from_json(&self.inner.diff_json(&newer.inner))
    }

    /// The compiled blob, for `fromBlob` (a copy). Throws for a selection made by the
    /// lite module, which is a view over the blob it was selected from.
    #[wasm_bindgen(js_name = toBlob)]
    pub fn to_blob(&self) -> Result<Vec<u8>, JsError> {
        self.inner.to_blob().map_err(err)
    }

    /// Which data this is (sources with createDate and syncToken, filter, counts).
    #[wasm_bindgen(unchecked_return_type = "Info")]
    #[cfg_attr(target_arch = "wasm32", optimize(size))]
    pub fn info(&self) -> Result<JsValue, JsError> {
        from_json(&self.inner.info_json())
    }

    /// The providers, services, regions and extra values (AWS border groups, ...)
    /// present, sorted.
    #[cfg(feature = "full")]
    #[wasm_bindgen(unchecked_return_type = "Names")]
    #[cfg_attr(target_arch = "wasm32", optimize(size))]
    pub fn names(&self) -> Result<JsValue, JsError> {
        from_json(&self.inner.names_json())
    }
}
