//! AWS `ip-ranges.json`: <https://docs.aws.amazon.com/vpc/latest/userguide/aws-ip-ranges.html>.
//!
//! Every generation parses: files before 2016-08 have no `ipv6_prefixes`, files before
//! 2020-04 have no `network_border_group`, and `createDate` is kept verbatim (some 2017
//! files say `2017-07-20-22-42-2`). Unknown fields are ignored.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::{String, ToString};
use ipnet::IpNet;
use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::scan::{word, Cursor};
use super::{json_error, parse_error, too_many, Options};
use crate::prefix::parse_prefix;
use crate::ranges::{Entry, Sym};
use crate::{Error, Ranges, SourceInfo, Tags};

#[derive(Deserialize)]
struct Item<'a> {
    #[serde(borrow, alias = "ipv6_prefix")]
    ip_prefix: Cow<'a, str>,
    #[serde(borrow, default)]
    region: Cow<'a, str>,
    #[serde(borrow, default)]
    service: Cow<'a, str>,
    #[serde(borrow, default)]
    network_border_group: Cow<'a, str>,
}

const WHAT: &str = "AWS ip-ranges.json";

/// Receives entries as serde_json reads them, so no intermediate list of the whole
/// file is built (on a 2.5 MB file that is most of the memory, and of the time spent
/// faulting it in). A semantic error is kept here and serde_json is stopped.
struct Sink<'r> {
    ranges: &'r mut Ranges,
    name: &'r str,
    opts: Options,
    failure: Option<Error>,
    /// Recently seen tags by a cheap key, checked against the string before use: the
    /// file repeats about 150 tags in no order, so nearly every tag is found here
    /// without hashing it (hit rate: docs/performance.md, "Parsing").
    recent: [Sym; 1024],
}

impl Sink<'_> {
    fn new<'r>(ranges: &'r mut Ranges, name: &'r str, opts: Options) -> Sink<'r> {
        Sink {
            ranges,
            name,
            opts,
            failure: None,
            recent: [0; 1024],
        }
    }

    /// The symbol of `s`, as [`Ranges::push`] would intern it.
    fn sym(&mut self, s: &str) -> Sym {
        // Length and the first and last eight bytes (short tags: all of them), mixed by
        // a multiplication (Fibonacci hashing): tells `EC2` from `EFS`, and the
        // wavelength zones (`us-east-1-wl1-bos-wlz-1`) apart.
        let b = s.as_bytes();
        let (head, tail) = match (word(b, 0), word(b, b.len().saturating_sub(8))) {
            (Some(h), Some(t)) => (h, t),
            _ => (b.iter().fold(0, |w, &x| w << 8 | u64::from(x)), 0),
        };
        let mix =
            (head ^ tail.rotate_left(29) ^ b.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let key = (mix >> 54) as usize % self.recent.len();
        let strings = &mut self.ranges.strings;
        // Only a symbol the interner knows counts: `get` answers "" for any other.
        let known = |strings: &crate::ranges::Interner, sym: Sym| {
            strings.as_slice().get(sym as usize).is_some_and(|x| x == s)
        };
        match self.recent.get_mut(key) {
            Some(slot) if known(strings, *slot) => *slot,
            Some(slot) => {
                *slot = strings.intern(s);
                *slot
            }
            None => strings.intern(s),
        }
    }

    fn push(&mut self, item: &Item<'_>, i: usize, v6: bool) -> Result<(), Error> {
        let tags = Tags {
            provider: "aws",
            service: &item.service,
            region: &item.region,
            extra: &item.network_border_group,
        };
        self.push_fields(&item.ip_prefix, tags, i, v6)
    }

    /// Checks and adds entry `i` of one list (`v6`: `ipv6_prefixes`).
    fn push_fields(
        &mut self,
        prefix: &str,
        tags: Tags<'_>,
        i: usize,
        v6: bool,
    ) -> Result<(), Error> {
        let (list, field) = if v6 {
            ("ipv6_prefixes", "ipv6_prefix")
        } else {
            ("prefixes", "ip_prefix")
        };
        let at = || format!("{list}[{i}].{field}");
        if self.ranges.len() >= self.opts.max_entries {
            return Err(too_many(self.name, self.opts.max_entries));
        }
        let net = parse_prefix(prefix, self.opts.host_bits, false)
            .map_err(|m| parse_error(self.name, at(), m))?;
        if matches!(net, IpNet::V6(_)) != v6 {
            let (is, want) = if v6 {
                ("IPv4", "IPv6")
            } else {
                ("IPv6", "IPv4")
            };
            let value = crate::error::quote(prefix);
            return Err(parse_error(
                self.name,
                at(),
                format!("{value} is an {is} prefix in the {want} list"),
            ));
        }
        // As `Ranges::push`, interning in the same order, with the cache in front.
        let provider = self.sym(tags.provider);
        let service = self.sym(tags.service);
        let region = self.sym(tags.region);
        let extra = if tags.extra == tags.region {
            region
        } else {
            self.sym(tags.extra)
        };
        self.ranges.entries.push(Entry {
            prefix: net,
            provider,
            service,
            region,
            extra,
        });
        Ok(())
    }
}

/// The top-level object: version stamps, the two lists, anything else ignored.
struct FileVisitor<'s, 'r>(&'s mut Sink<'r>);

#[derive(Default)]
struct Stamps {
    sync_token: Option<String>,
    create_date: Option<String>,
    seen_v4: bool,
    seen_v6: bool,
}

impl<'de> Visitor<'de> for FileVisitor<'_, '_> {
    type Value = Stamps;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("an object with syncToken, createDate, prefixes and ipv6_prefixes")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Stamps, A::Error> {
        let mut st = Stamps::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let duplicate = |seen: bool| {
                if seen {
                    Err(A::Error::custom(format!("duplicate field `{key}`")))
                } else {
                    Ok(())
                }
            };
            match key.as_ref() {
                "syncToken" => {
                    duplicate(st.sync_token.is_some())?;
                    st.sync_token = map
                        .next_value::<Option<Cow<'de, str>>>()?
                        .map(Cow::into_owned);
                }
                "createDate" => {
                    duplicate(st.create_date.is_some())?;
                    st.create_date = map
                        .next_value::<Option<Cow<'de, str>>>()?
                        .map(Cow::into_owned);
                }
                "prefixes" => {
                    duplicate(st.seen_v4)?;
                    map.next_value_seed(ListSeed {
                        sink: self.0,
                        v6: false,
                    })?;
                    st.seen_v4 = true;
                }
                "ipv6_prefixes" => {
                    duplicate(st.seen_v6)?;
                    map.next_value_seed(ListSeed {
                        sink: self.0,
                        v6: true,
                    })?;
                    st.seen_v6 = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !st.seen_v4 {
            return Err(A::Error::missing_field("prefixes"));
        }
        Ok(st)
    }
}

/// One list (`prefixes` or `ipv6_prefixes`), entry by entry into the sink.
struct ListSeed<'s, 'r> {
    sink: &'s mut Sink<'r>,
    v6: bool,
}

impl<'de> DeserializeSeed<'de> for ListSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while let Some(item) = seq.next_element::<Item<'de>>()? {
            if let Err(e) = self.sink.push(&item, i, self.v6) {
                self.sink.failure = Some(e);
                return Err(A::Error::custom("stopped"));
            }
            i += 1;
        }
        Ok(())
    }
}

/// `N` if `bytes` starts with `lit`, else 0.
fn starts<const N: usize>(bytes: &[u8], lit: &[u8; N]) -> usize {
    match bytes.get(..N).map(<[u8; N]>::try_from) {
        Some(Ok(head)) if head == *lit => N,
        _ => 0,
    }
}

/// The shape every published file has, read with a [`Cursor`] (see there): the four
/// top-level fields once each, entries with only the four known fields.
struct Scan<'a> {
    c: Cursor<'a>,
}

impl<'a> Scan<'a> {
    fn new(text: &'a str) -> Self {
        Scan {
            c: Cursor::new(text),
        }
    }

    /// One entry's field: first as published (key `expect`, then `": "` and the value's
    /// quote, in one comparison), else any known key with any spacing.
    fn field(&mut self, expect: usize, v6: bool) -> Option<(usize, &'a str)> {
        self.c.peek()?;
        let rest = self.c.rest()?;
        // Fixed-size comparisons, which compile to a few loads instead of a memcmp call.
        let published = match (expect, v6) {
            (0, false) => starts(rest, b"\"ip_prefix\": \""),
            (0, true) => starts(rest, b"\"ipv6_prefix\": \""),
            (1, _) => starts(rest, b"\"region\": \""),
            (2, _) => starts(rest, b"\"service\": \""),
            (3, _) => starts(rest, b"\"network_border_group\": \""),
            _ => 0,
        };
        if published > 0 {
            self.c.pos += published;
            return Some((expect, self.c.string_rest()?));
        }
        let slot = match self.c.string()? {
            "ip_prefix" | "ipv6_prefix" => 0,
            "region" => 1,
            "service" => 2,
            "network_border_group" => 3,
            _ => return None,
        };
        self.c.eat(b':')?;
        Some((slot, self.c.string()?))
    }

    fn file(mut self, sink: &mut Sink<'_>) -> Option<Stamps> {
        let mut st = Stamps::default();
        self.c.eat(b'{')?;
        loop {
            let key = self.c.string()?;
            self.c.eat(b':')?;
            match key {
                "syncToken" if st.sync_token.is_none() => {
                    st.sync_token = Some(self.c.string()?.to_string());
                }
                "createDate" if st.create_date.is_none() => {
                    st.create_date = Some(self.c.string()?.to_string());
                }
                "prefixes" if !st.seen_v4 => {
                    self.list(sink, false)?;
                    st.seen_v4 = true;
                }
                "ipv6_prefixes" if !st.seen_v6 => {
                    self.list(sink, true)?;
                    st.seen_v6 = true;
                }
                _ => return None,
            }
            if !self.c.comma_or(b'}')? {
                break;
            }
        }
        // Only whitespace may follow, as for serde_json's `end`.
        (st.seen_v4 && self.c.peek().is_none()).then_some(st)
    }

    fn list(&mut self, sink: &mut Sink<'_>, v6: bool) -> Option<()> {
        self.c.eat(b'[')?;
        if self.c.peek()? == b']' {
            self.c.pos += 1;
            return Some(());
        }
        let mut i = 0;
        loop {
            self.c.eat(b'{')?;
            let mut fields: [Option<&str>; 4] = [None; 4];
            let mut n = 0;
            loop {
                let (slot, value) = self.field(n, v6)?;
                n += 1;
                let field = fields.get_mut(slot)?;
                if field.replace(value).is_some() {
                    return None;
                }
                if !self.c.comma_or(b'}')? {
                    break;
                }
            }
            let [prefix, region, service, extra] = fields;
            let tags = Tags {
                provider: "aws",
                service: service.unwrap_or_default(),
                region: region.unwrap_or_default(),
                extra: extra.unwrap_or_default(),
            };
            sink.push_fields(prefix?, tags, i, v6).ok()?;
            i += 1;
            if !self.c.comma_or(b']')? {
                return Some(());
            }
        }
    }
}

/// Parses AWS `ip-ranges.json`.
///
/// # Errors
/// [`Error::Parse`] with the JSON path or line and column: not JSON, truncated, a field of
/// the wrong type, a bad prefix (with its value), an IPv6 prefix in `prefixes` or the
/// other way round, more than `opts.max_entries` entries.
pub fn parse(bytes: &[u8], name: &str, opts: Options) -> Result<Ranges, Error> {
    parse_with(bytes, name, opts, true)
}

/// [`parse`], with or without the fast path (tests compare the two).
fn parse_with(bytes: &[u8], name: &str, opts: Options, fast: bool) -> Result<Ranges, Error> {
    let text = super::utf8(name, WHAT, bytes)?;
    let new_ranges = || {
        let mut r = Ranges::new();
        // About 150 bytes of JSON per entry in published files: reserve once.
        r.entries.reserve((bytes.len() / 150).min(opts.max_entries));
        r
    };
    let mut r = new_ranges();
    let scanned = if fast {
        Scan::new(text).file(&mut Sink::new(&mut r, name, opts))
    } else {
        None
    };
    let stamps = match scanned {
        Some(st) => st,
        None => {
            // Anything the fast path does not take, errors included, is read again by
            // serde_json from the start, so what is accepted and every message stay its.
            // A new sink too: the old one's tag cache names symbols of the discarded
            // interner.
            r = new_ranges();
            let mut sink = Sink::new(&mut r, name, opts);
            let mut de = serde_json::Deserializer::from_str(text);
            let parsed = serde::Deserializer::deserialize_map(&mut de, FileVisitor(&mut sink))
                .and_then(|st| de.end().map(|()| st));
            match parsed {
                Ok(st) => st,
                Err(e) => {
                    return Err(sink
                        .failure
                        .take()
                        .unwrap_or_else(|| json_error(name, WHAT, &e)))
                }
            }
        }
    };
    r.sources.push(SourceInfo {
        name: name.to_string(),
        format: "aws".to_string(),
        provider: "aws".to_string(),
        sync_token: stamps.sync_token,
        create_date: stamps.create_date,
    });
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::check;
    use alloc::string::String;

    const NEW: &[u8] = include_bytes!("../../../tests/data/aws/ip-ranges-2026-08-22-15-17-05.json");
    const ALL: [(&str, &[u8]); 5] = [
        (
            "2025-08-22",
            include_bytes!("../../../tests/data/aws/ip-ranges-2025-08-22-01-58-20.json"),
        ),
        (
            "2026-02-21",
            include_bytes!("../../../tests/data/aws/ip-ranges-2026-02-21-01-58-04.json"),
        ),
        (
            "2026-07-23",
            include_bytes!("../../../tests/data/aws/ip-ranges-2026-07-23-16-17-05.json"),
        ),
        (
            "2026-08-22a",
            include_bytes!("../../../tests/data/aws/ip-ranges-2026-08-22-11-57-05.json"),
        ),
        ("2026-08-22b", NEW),
    ];

    fn err(json: &str) -> String {
        parse(json.as_bytes(), "ip-ranges.json", Options::default())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn every_real_file_parses_with_its_counts() {
        // Raw entry counts (v4, v6) from shared/data/README.md.
        let counts = [
            (9_153, 3_968),
            (9_896, 4_963),
            (10_528, 5_855),
            (10_666, 6_160),
            (10_668, 6_160),
        ];
        for ((date, bytes), (n4, n6)) in ALL.iter().zip(counts) {
            let r = parse(bytes, date, Options::default()).unwrap();
            let v4 = r
                .entries
                .iter()
                .filter(|e| matches!(e.prefix, IpNet::V4(_)))
                .count();
            assert_eq!((v4, r.len() - v4), (n4, n6), "{date}");
        }
        let r = parse(NEW, "new", Options::default()).unwrap();
        assert_eq!(r.sources[0].sync_token.as_deref(), Some("1787411825"));
        assert_eq!(
            r.sources[0].create_date.as_deref(),
            Some("2026-08-22-15-17-05")
        );
        let first = r.tags(&r.entries[0]);
        assert_eq!(
            (first.service, first.region, first.extra),
            ("AMAZON", "eu-west-1", "eu-west-1")
        );
        // Tags are interned: far fewer strings than entries.
        assert!(r.strings.as_slice().len() < 1000);
    }

    #[test]
    fn old_generations_parse() {
        // 2014-2016 shape: no ipv6_prefixes, no network_border_group, odd createDate.
        let old = r#"{"syncToken": "1416435608", "createDate": "2017-07-20-22-42-2",
            "prefixes": [{"ip_prefix": "50.19.0.0/16", "region": "us-east-1", "service": "AMAZON"}]}"#;
        let r = parse(old.as_bytes(), "old.json", Options::default()).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r.tags(&r.entries[0]).extra, "");
        assert_eq!(
            r.sources[0].create_date.as_deref(),
            Some("2017-07-20-22-42-2")
        );
        // 2016-2020 shape: IPv6 without border groups; unknown fields ignored.
        let mid = r#"{"syncToken": "1", "createDate": "x", "extra": {"a": [1]},
            "prefixes": [], "ipv6_prefixes": [{"ipv6_prefix": "2600:1f14::/35", "region": "us-west-2", "service": "EC2", "new": 1}]}"#;
        assert_eq!(
            parse(mid.as_bytes(), "mid.json", Options::default())
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn errors_say_where_and_what() {
        assert_eq!(
            err(""),
            "ip-ranges.json: line 1: file is empty: expected AWS ip-ranges.json"
        );
        let e = err(r#"{"prefixes": {}}"#);
        assert!(e.starts_with("ip-ranges.json: line 1, column 13: not the shape of AWS ip-ranges.json: invalid type: map, expected a sequence"), "{e}");
        let e = err(r#"{"prefixes": [{"ip_prefix": 7}]}"#);
        assert!(
            e.contains("invalid type: integer `7`, expected a string"),
            "{e}"
        );
        let e = err(r#"{"syncToken": "1"}"#);
        assert!(e.contains("missing field `prefixes`"), "{e}");
        let e = err(
            r#"{"prefixes": [{"ip_prefix": "1.2.3.0/24", "service": "A"}, {"ip_prefix": "10.0.0.1/8"}]}"#,
        );
        assert!(e.starts_with("ip-ranges.json: prefixes[1].ip_prefix: \"10.0.0.1/8\" has host bits set (did you mean 10.0.0.0/8?"), "{e}");
        let e = err(r#"{"prefixes": [{"ip_prefix": "2600::/16"}]}"#);
        assert_eq!(e, "ip-ranges.json: prefixes[0].ip_prefix: \"2600::/16\" is an IPv6 prefix in the IPv4 list");
        let e = err(r#"{"prefixes": [], "ipv6_prefixes": [{"ipv6_prefix": "1.2.3.4/33"}]}"#);
        assert!(
            e.starts_with("ip-ranges.json: ipv6_prefixes[0].ipv6_prefix: \"1.2.3.4/33\""),
            "{e}"
        );
    }

    #[test]
    fn lenient_masks_host_bits_and_limits_hold() {
        let j = r#"{"prefixes": [{"ip_prefix": "10.0.0.1/8"}, {"ip_prefix": "10.0.0.1/8"}]}"#;
        let opts = Options {
            host_bits: crate::prefix::HostBits::Mask,
            ..Options::default()
        };
        let r = parse(j.as_bytes(), "x", opts).unwrap();
        assert_eq!(r.entries[0].prefix.to_string(), "10.0.0.0/8");
        assert_eq!(r.len(), 2, "duplicates are kept as entries");
        let small = Options {
            max_entries: 1,
            ..opts
        };
        assert!(parse(j.as_bytes(), "x", opts).is_ok());
        assert!(parse(j.as_bytes(), "x", small)
            .unwrap_err()
            .to_string()
            .contains("more than 1 entries"));
    }

    #[test]
    fn truncation_anywhere_is_an_error_not_a_panic() {
        let head = &NEW[..40_000];
        check::cuts_are_refused(
            |b, n| parse(b, n, Options::default()),
            head,
            (0..head.len()).step_by(97),
        );
        let e = parse(&NEW[..NEW.len() - 10], "cut.json", Options::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("file ends early (truncated download?)"), "{e}");
    }

    /// Whether the fast path took `bytes`.
    #[test]
    fn the_tag_cache_never_answers_a_symbol_the_interner_lacks() {
        let mut r = Ranges::new();
        let mut sink = Sink::new(&mut r, "x", Options::default());
        // A slot left from another interner (the fast path's, before a fallback):
        // `Interner::get` answers "" for it, which must not pass for the empty tag.
        sink.recent = [57; 1024];
        assert_eq!(sink.sym(""), 0);
        let ec2 = sink.sym("EC2");
        assert_eq!(sink.sym("EC2"), ec2);
        assert_eq!(r.strings.as_slice(), ["", "EC2"]);
    }

    fn fast_takes(bytes: &[u8]) -> bool {
        let text = core::str::from_utf8(bytes).unwrap();
        let mut r = Ranges::new();
        let mut sink = Sink::new(&mut r, "x", Options::default());
        Scan::new(text).file(&mut sink).is_some()
    }

    /// Same result or the same error with and without the fast path.
    fn same_both_ways(bytes: &[u8]) {
        let fast = parse_with(bytes, "x.json", Options::default(), true);
        let slow = parse_with(bytes, "x.json", Options::default(), false);
        assert_eq!(fast, slow, "{:?}", String::from_utf8_lossy(bytes));
    }

    #[test]
    fn the_fast_path_reads_every_real_file_as_serde_json_does() {
        for (date, bytes) in ALL {
            assert!(fast_takes(bytes), "{date}");
            same_both_ways(bytes);
            // The symbol cache interns as `Ranges::push` does.
            let r = parse(bytes, date, Options::default()).unwrap();
            let mut pushed = Ranges::new();
            pushed.extend(&r);
            assert_eq!((pushed.entries, pushed.strings), (r.entries, r.strings));
        }
    }

    #[test]
    fn the_fast_path_leaves_the_unusual_to_serde_json() {
        for (json, taken) in [
            (r#"{"prefixes": []}"#, true),
            (r#" {"prefixes":[{"ip_prefix":"1.2.3.0/24"}]} "#, true),
            (
                r#"{"prefixes":[{"service":"S","ip_prefix":"1.2.3.0/24","region":"r"}]}"#,
                true,
            ),
            (
                r#"{"prefixes": [], "ipv6_prefixes": [{"ipv6_prefix": "2600::/16"}]}"#,
                true,
            ),
            (
                r#"{"prefixes": [{"ip_prefix": "1.2.3.0/24", "region": "é"}]}"#,
                true,
            ),
            // Escapes, unknown or repeated fields, nulls, other types, trailing commas,
            // bad prefixes: serde_json reads them (and says what is wrong).
            (r#"{"prefixes": [{"ip_prefix": "1.2.3.0\/24"}]}"#, false),
            (
                r#"{"prefixes": [{"ip_prefix": "1.2.3.0/24", "x": 1}]}"#,
                false,
            ),
            (r#"{"prefixes": [], "x": {}}"#, false),
            (
                r#"{"prefixes": [{"ip_prefix": "1.2.3.0/24", "ip_prefix": "1.2.3.0/24"}]}"#,
                false,
            ),
            (
                r#"{"prefixes": [{"ip_prefix": "1.2.3.0/24", "ipv6_prefix": "1.2.3.0/24"}]}"#,
                false,
            ),
            (r#"{"prefixes": [], "prefixes": []}"#, false),
            (r#"{"syncToken": null, "prefixes": []}"#, false),
            (
                r#"{"prefixes": [{"ip_prefix": "1.2.3.0/24", "region": null}]}"#,
                false,
            ),
            (r#"{"prefixes": [{"ip_prefix": 7}]}"#, false),
            (r#"{"prefixes": [{"ip_prefix": "1.2.3.0/24"},]}"#, false),
            (r#"{"prefixes": [{"ip_prefix": "1.2.3.0/24",}]}"#, false),
            (r#"{"prefixes": [],}"#, false),
            (r#"{"prefixes": [{}]}"#, false),
            (r#"{"prefixes": [{"region": "r"}]}"#, false),
            (r#"{"syncToken": "1"}"#, false),
            (r#"{"prefixes": []} x"#, false),
            (r#"{"prefixes": []}}"#, false),
            (
                "{\"prefixes\": [{\"ip_prefix\": \"1.2.3.0/24\", \"region\": \"a\tb\"}]}",
                false,
            ),
            ("{\"prefixes\":\u{a0}[]}", false),
            ("{\"prefixes\":\x0c[]}", false),
            (r#"{"prefixes": [{"ip_prefix": "10.0.0.1/8"}]}"#, false),
            (r#"{"prefixes": [{"ip_prefix": "2600::/16"}]}"#, false),
            ("", false),
        ] {
            assert_eq!(fast_takes(json.as_bytes()), taken, "{json}");
            same_both_ways(json.as_bytes());
        }
    }

    proptest::proptest! {
        /// Damage a real file's head in one place: wherever the fast path still takes it,
        /// serde_json must read the same; wherever not, the error is serde_json's.
        #[test]
        fn the_fast_path_agrees_on_damaged_files(
            at in 0usize..3000,
            with in proptest::sample::select(&b"\"\\{}[],: \t\n0a/.x\x01\xc3"[..]),
            delete in proptest::prelude::any::<bool>(),
        ) {
            let head = &NEW[..3000];
            let end = head.windows(7).rposition(|w| w == b"    },\n").unwrap();
            let mut bytes = head[..end].to_vec();
            bytes.extend_from_slice(b"    }]}");
            let at = at.min(bytes.len() - 1);
            if delete {
                bytes.remove(at);
            } else {
                bytes[at] = with;
            }
            let fast = parse_with(&bytes, "x.json", Options::default(), true);
            let slow = parse_with(&bytes, "x.json", Options::default(), false);
            proptest::prop_assert_eq!(fast, slow);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = parse(&bytes, "fuzz", Options::default());
        }
    }
}
