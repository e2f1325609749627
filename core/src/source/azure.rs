//! Azure Service Tags (`ServiceTags_Public_YYYYMMDD.json`, published weekly; also the
//! `AzureGovernment`, `AzureChinaCloud` and `AzureGermanCloud` files):
//! <https://www.microsoft.com/en-us/download/details.aspx?id=56519>.
//!
//! ```text
//! {"changeNumber": 398, "cloud": "Public",
//!  "values": [{"name": "AzureCloud.eastus", "id": "AzureCloud.eastus",
//!              "properties": {"changeNumber": 12, "region": "eastus", "regionId": 32,
//!                             "platform": "Azure", "systemService": "",
//!                             "addressPrefixes": ["4.156.0.0/15", "2603:1030:210::/47"],
//!                             "networkFeatures": ["API", "NSG"]}}, ...]}
//! ```
//!
//! Tags: provider `azure`, service = the tag's `name` (`AzureCloud.eastus`, `Storage`),
//! region = `properties.region` (empty for global tags), extra = `systemService`. The
//! version is the top-level `changeNumber`; the file has no date. The same prefix under
//! several tags (`AzureCloud.eastus` and `AzureCloud`, for one) gives one entry per tag.
//!
//! Which cloud the file describes (`cloud`) is not a tag: every cloud's file reads the
//! same way here, with provider `azure`. [`parse_with_cloud`] answers it, for a caller
//! that must refuse another cloud than the one it was set up for.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::scan::Cursor;
use super::{json_error, parse_error, too_many, Options, Str};
use crate::prefix::{parse_prefix, parse_prefix_plain, HostBits};
use crate::ranges::Entry;
use crate::{Error, IpNet, Ipv4Net, Ranges, SourceInfo};

const WHAT: &str = "Azure Service Tags";

#[derive(Deserialize)]
struct Value<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    properties: Properties<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Properties<'a> {
    #[serde(borrow, default)]
    region: Cow<'a, str>,
    #[serde(borrow, default)]
    system_service: Cow<'a, str>,
    #[serde(borrow)]
    address_prefixes: Vec<Str<'a>>,
}

/// Parses an Azure Service Tags file.
///
/// # Errors
/// [`Error::Parse`] with the place (`values[3].properties.addressPrefixes[7]`): not JSON,
/// a missing `values`, `name` or `addressPrefixes`, a bad prefix, too many entries.
pub fn parse(bytes: &[u8], name: &str, opts: Options) -> Result<Ranges, Error> {
    parse_with_cloud(bytes, name, opts).map(|(r, _)| r)
}

/// [`parse`], also answering the file's `cloud` (`Public`, `AzureGovernment`, ...), or
/// `None` when the file does not say.
///
/// # Errors
/// As [`parse`].
pub fn parse_with_cloud(
    bytes: &[u8],
    name: &str,
    opts: Options,
) -> Result<(Ranges, Option<String>), Error> {
    parse_inner(bytes, name, opts, Path::Fast)
}

/// How [`parse_inner`] reads (tests compare the ways).
#[derive(Debug, Clone, Copy)]
enum Path {
    /// serde_json only.
    #[cfg(test)]
    Serde,
    /// The fast path, in two parts when the text is large and the options allow.
    Fast,
    /// The fast path, in two parts split at a given byte when the options allow.
    #[cfg(test)]
    SplitAt(usize),
}

/// [`parse_with_cloud`], the given way.
fn parse_inner(
    bytes: &[u8],
    name: &str,
    opts: Options,
    path: Path,
) -> Result<(Ranges, Option<String>), Error> {
    let text = super::utf8(name, WHAT, bytes)?;
    let new_ranges = || with_room(bytes.len(), opts);
    let mut r = new_ranges();
    let scanned = match path {
        #[cfg(test)]
        Path::Serde => None,
        Path::Fast => scan(text, &mut r, name, opts, split_point(text)),
        #[cfg(test)]
        Path::SplitAt(at) => scan(text, &mut r, name, opts, Some(at)),
    };
    let st = match scanned {
        Some(st) => st,
        None => {
            // Anything the fast path does not take, errors included, is read again by
            // serde_json from the start, so what is accepted and every message stay its.
            r = new_ranges();
            let mut sink = Sink {
                ranges: &mut r,
                name,
                opts,
                failure: None,
            };
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
        format: String::from("azure"),
        provider: String::from("azure"),
        sync_token: st.change_number.map(|n| n.to_string()),
        create_date: None,
    });
    Ok((r, st.cloud))
}

/// Empty ranges with room for the entries of `json_bytes` bytes of the file: about 43
/// bytes of JSON per prefix in the published file, so that they are reserved once.
fn with_room(json_bytes: usize, opts: Options) -> Ranges {
    let mut r = Ranges::new();
    r.entries.reserve((json_bytes / 43).min(opts.max_entries));
    r
}

/// Files from this size on are read in two parts at once when [`Options::join`] allows:
/// below it, a second thread costs about what it saves.
const SPLIT_MIN: usize = 1 << 20;

/// The fast path: [`Scan`] over the whole text, or, given a split point and a
/// [`Join`](super::Join), in two parts at once. The second part starts at the split
/// point, a guess; it counts only if the first part, reading from the start, stops
/// exactly there at the start of a tag. Otherwise the first part reads on to the end, and
/// the second is dropped.
fn scan(
    text: &str,
    r: &mut Ranges,
    name: &str,
    opts: Options,
    split: Option<usize>,
) -> Option<Stamps> {
    let mut sink = Sink {
        ranges: r,
        name,
        opts,
        failure: None,
    };
    let (Some(join), Some(at)) = (opts.join, split) else {
        return match Scan::new(text, opts.host_bits).file(&mut sink)? {
            Read::All(st) => Some(st),
            Read::Stopped(_) => None,
        };
    };
    let mut second = with_room(text.len().saturating_sub(at), opts);
    let (mut first_read, mut second_read) = (None, None);
    (join.0)(
        &mut || {
            let mut first = Scan::new(text, opts.host_bits);
            first.stop = at;
            first_read = Some(first.file(&mut sink));
        },
        &mut || {
            let mut tail = Scan::new(text, opts.host_bits);
            tail.c.pos = at;
            second_read = Some(tail.tail(&mut Sink {
                ranges: &mut second,
                name,
                opts,
                failure: None,
            }));
        },
    );
    match first_read?? {
        Read::All(st) => Some(st),
        Read::Stopped(st) => {
            let after = second_read??;
            if sink.ranges.len() + second.len() > opts.max_entries
                || (st.change_number.is_some() && after.change_number.is_some())
                || (st.cloud.is_some() && after.cloud.is_some())
            {
                return None;
            }
            append(sink.ranges, &second);
            Some(Stamps {
                change_number: st.change_number.or(after.change_number),
                cloud: st.cloud.or(after.cloud),
                seen_values: true,
            })
        }
    }
}

/// The `{` of the first tag whose `"name"` key follows the middle of `text`, if the text
/// is [`SPLIT_MIN`] bytes or more and has one. A guess: [`scan`] checks it.
fn split_point(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    if b.len() < SPLIT_MIN {
        return None;
    }
    let key = b
        .get(b.len() / 2..)?
        .windows(6)
        .position(|w| w == b"\"name\"")?
        + b.len() / 2;
    let open = b
        .get(..key)?
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())?;
    (b.get(open) == Some(&b'{')).then_some(open)
}

/// Appends `second`, read after `first`, as one read would have given both: its strings
/// are interned in the order it interned them, then its entries follow.
fn append(first: &mut Ranges, second: &Ranges) {
    // `extend` interns only the strings an entry uses (a tag without prefixes has none).
    for s in second.strings.as_slice() {
        first.strings.intern(s);
    }
    first.extend(second);
}

/// Receives each tag as serde_json reads it: no list of the whole file is built.
struct Sink<'r> {
    ranges: &'r mut Ranges,
    name: &'r str,
    opts: Options,
    /// A semantic error, kept while serde_json is stopped.
    failure: Option<Error>,
}

impl Sink<'_> {
    /// The tags of a tag's entries (`name`, `region`, `systemService`), after checking
    /// that its `n` prefixes fit in the entry limit.
    fn tags(
        &mut self,
        n: usize,
        [name, region, system_service]: [&str; 3],
    ) -> Result<Entry, Error> {
        if self.ranges.len() + n > self.opts.max_entries {
            return Err(too_many(self.name, self.opts.max_entries));
        }
        // Interned once per tag, in the order `Ranges::push` would: a tag holds up to
        // thousands of prefixes, and comparing its strings again for each one was most of
        // the time spent on the published file.
        let strings = &mut self.ranges.strings;
        Ok(Entry {
            prefix: IpNet::V4(Ipv4Net::default()),
            provider: strings.intern("azure"),
            service: strings.intern(name),
            region: strings.intern(region),
            extra: strings.intern(system_service),
        })
    }

    /// Adds the prefixes the fast path read, with their tags.
    fn add(&mut self, tags: [&str; 3], nets: &[IpNet]) -> Result<(), Error> {
        let e = self.tags(nets.len(), tags)?;
        let entries = nets.iter().map(|&prefix| Entry { prefix, ..e });
        self.ranges.entries.extend(entries);
        Ok(())
    }

    /// Adds the prefixes of tag `i` as serde_json read them.
    fn push<'t>(
        &mut self,
        i: usize,
        tags: [&str; 3],
        prefixes: impl ExactSizeIterator<Item = &'t str>,
    ) -> Result<(), Error> {
        let Entry {
            provider,
            service,
            region,
            extra,
            ..
        } = self.tags(prefixes.len(), tags)?;
        for (j, text) in prefixes.enumerate() {
            // Spaces around a prefix are unambiguous; anything else wrong is refused.
            let net = parse_prefix(text.trim(), self.opts.host_bits, false).map_err(|m| {
                parse_error(
                    self.name,
                    format!("values[{i}].properties.addressPrefixes[{j}]"),
                    m,
                )
            })?;
            self.ranges.entries.push(Entry {
                prefix: net,
                provider,
                service,
                region,
                extra,
            });
        }
        Ok(())
    }
}

#[derive(Default)]
struct Stamps {
    change_number: Option<u64>,
    cloud: Option<String>,
    seen_values: bool,
}

/// The top-level object: `changeNumber`, `cloud`, `values`, anything else ignored.
struct FileVisitor<'s, 'r>(&'s mut Sink<'r>);

impl<'de> Visitor<'de> for FileVisitor<'_, '_> {
    type Value = Stamps;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("an object with changeNumber, cloud and values")
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
                "changeNumber" => {
                    duplicate(st.change_number.is_some())?;
                    st.change_number = Some(map.next_value()?);
                }
                "cloud" => {
                    duplicate(st.cloud.is_some())?;
                    st.cloud = Some(map.next_value::<Str<'de>>()?.0.into_owned());
                }
                "values" => {
                    duplicate(st.seen_values)?;
                    map.next_value_seed(ValuesSeed(self.0))?;
                    st.seen_values = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !st.seen_values {
            return Err(A::Error::missing_field("values"));
        }
        Ok(st)
    }
}

/// `values`, tag by tag into the sink.
struct ValuesSeed<'s, 'r>(&'s mut Sink<'r>);

impl<'de> DeserializeSeed<'de> for ValuesSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ValuesSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("a sequence of service tags")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while let Some(v) = seq.next_element::<Value<'de>>()? {
            let p = &v.properties;
            let tags = [v.name.as_ref(), &p.region, &p.system_service];
            let prefixes = p.address_prefixes.iter().map(|Str(s)| s.as_ref());
            if let Err(e) = self.0.push(i, tags, prefixes) {
                self.0.failure = Some(e);
                return Err(A::Error::custom("stopped"));
            }
            i += 1;
        }
        Ok(())
    }
}

/// The shape every published file has, read with a [`Cursor`] (see there): the known
/// keys once each.
struct Scan<'a> {
    c: Cursor<'a>,
    /// The prefixes of the tag being read, reused from tag to tag.
    prefixes: Vec<IpNet>,
    host_bits: HostBits,
    /// Where the first part of a split read stops: the `{` of a tag in `values`
    /// (`usize::MAX`: nowhere).
    stop: usize,
}

/// What [`Scan::file`] read.
enum Read {
    /// The whole file.
    All(Stamps),
    /// The file up to [`Scan::stop`], where a tag of `values` starts.
    Stopped(Stamps),
}

impl<'a> Scan<'a> {
    fn new(text: &'a str, host_bits: HostBits) -> Self {
        Scan {
            c: Cursor::new(text),
            prefixes: Vec::new(),
            host_bits,
            stop: usize::MAX,
        }
    }

    /// `{"changeNumber": N, "cloud": "...", "values": [...]}` and nothing after it.
    fn file(mut self, sink: &mut Sink<'_>) -> Option<Read> {
        let mut st = Stamps::default();
        self.c.eat(b'{')?;
        loop {
            let key = self.c.key()?;
            if key == "values" && !st.seen_values {
                st.seen_values = true;
                self.c.eat(b'[')?;
                if self.c.peek()? == b']' {
                    self.c.pos += 1;
                } else if self.tags(sink)? {
                    return Some(Read::Stopped(st));
                }
            } else {
                self.stamp(key, &mut st)?;
            }
            if !self.c.comma_or(b'}')? {
                break;
            }
        }
        self.end(st).map(Read::All)
    }

    /// The second part of a split read: the tags from the cursor on, then the rest of
    /// the file. Its stamps are those after `values`.
    fn tail(mut self, sink: &mut Sink<'_>) -> Option<Stamps> {
        let mut st = Stamps {
            seen_values: true,
            ..Stamps::default()
        };
        self.tags(sink)?;
        while self.c.comma_or(b'}')? {
            let key = self.c.key()?;
            self.stamp(key, &mut st)?;
        }
        self.end(st)
    }

    /// A top-level key other than `values`, and its value.
    fn stamp(&mut self, key: &str, st: &mut Stamps) -> Option<()> {
        match key {
            "changeNumber" if st.change_number.is_none() => {
                st.change_number = Some(self.c.number()?)
            }
            "cloud" if st.cloud.is_none() => st.cloud = Some(self.c.string()?.to_string()),
            _ => return None,
        }
        Some(())
    }

    /// The end of the file: `values` was seen and nothing follows.
    fn end(&mut self, st: Stamps) -> Option<Stamps> {
        (st.seen_values && self.c.peek().is_none()).then_some(st)
    }

    /// The tags of `values` up to its `]`: `true` when it stopped at [`Scan::stop`]
    /// instead.
    fn tags(&mut self, sink: &mut Sink<'_>) -> Option<bool> {
        loop {
            self.value(sink)?;
            if !self.c.comma_or(b']')? {
                return Some(false);
            }
            self.c.peek()?;
            if self.c.pos == self.stop {
                return Some(true);
            }
        }
    }

    /// `{"name": "...", "id": "...", "properties": {...}}`, pushed into the sink.
    fn value(&mut self, sink: &mut Sink<'_>) -> Option<()> {
        let (mut name, mut id, mut props) = (None, None, None);
        self.c.eat(b'{')?;
        loop {
            match self.c.key()? {
                "name" if name.is_none() => name = Some(self.c.string()?),
                "id" if id.is_none() => id = Some(self.c.string()?),
                "properties" if props.is_none() => props = Some(self.properties()?),
                _ => return None,
            }
            if !self.c.comma_or(b'}')? {
                break;
            }
        }
        let [region, system_service] = props?;
        let tags = [name?, region, system_service];
        // A failure (too many entries) is serde_json's to report.
        sink.add(tags, &self.prefixes).ok()
    }

    /// The list of prefixes, read into `self.prefixes`; any prefix that is not plainly
    /// written, or wrong, is serde_json's to read or refuse.
    fn prefixes(&mut self) -> Option<()> {
        let (prefixes, host_bits) = (&mut self.prefixes, self.host_bits);
        self.c.strings(|text| {
            prefixes.push(parse_prefix_plain(text.as_bytes(), host_bits)?);
            Some(())
        })
    }

    /// The properties: region and systemService kept, the prefixes in `self.prefixes`.
    fn properties(&mut self) -> Option<[&'a str; 2]> {
        let (mut region, mut system) = (None, None);
        let (mut change, mut region_id, mut platform, mut prefixes, mut features) =
            (false, false, false, false, false);
        self.prefixes.clear();
        self.c.eat(b'{')?;
        loop {
            let seen = |b: &mut bool| (!core::mem::replace(b, true)).then_some(());
            match self.c.key()? {
                "changeNumber" => {
                    seen(&mut change)?;
                    self.c.number()?;
                }
                "region" if region.is_none() => region = Some(self.c.string()?),
                "regionId" => {
                    seen(&mut region_id)?;
                    self.c.number()?;
                }
                "platform" => {
                    seen(&mut platform)?;
                    self.c.string()?;
                }
                "systemService" if system.is_none() => system = Some(self.c.string()?),
                "addressPrefixes" => {
                    seen(&mut prefixes)?;
                    self.prefixes()?;
                }
                "networkFeatures" => {
                    seen(&mut features)?;
                    // Some published tags say `null` here.
                    if !self.c.null()? {
                        self.c.strings(|_| Some(()))?;
                    }
                }
                _ => return None,
            }
            if !self.c.comma_or(b'}')? {
                break;
            }
        }
        // serde_json refuses a tag without prefixes, and reads a missing region as "".
        prefixes.then_some(())?;
        Some([region.unwrap_or(""), system.unwrap_or("")])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::check;

    const REAL: &[u8] = include_bytes!("../../../tests/data/azure/ServiceTags_Public.json");

    fn err(json: &str) -> String {
        parse(json.as_bytes(), "a.json", Options::default())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn reads_the_real_file() {
        let (r, cloud) =
            parse_with_cloud(REAL, "ServiceTags_Public.json", Options::default()).unwrap();
        assert_eq!(cloud.as_deref(), Some("Public"));
        assert_eq!(r.len(), 101_516);
        let s = &r.sources[0];
        assert_eq!((s.provider.as_str(), s.format.as_str()), ("azure", "azure"));
        assert_eq!(s.sync_token.as_deref(), Some("398"));
        assert_eq!(s.create_date, None);
        let mut unique: Vec<_> = r.entries.iter().map(|e| e.prefix).collect();
        unique.sort();
        unique.dedup();
        let uv4 = unique
            .iter()
            .filter(|p| matches!(p, ipnet::IpNet::V4(_)))
            .count();
        assert_eq!((uv4, unique.len() - uv4), (41_749, 14_976));
        let services: hashbrown::HashSet<&str> =
            r.entries.iter().map(|e| r.tags(e).service).collect();
        assert_eq!(services.len(), 3_136);
        let first = r.tags(&r.entries[0]);
        assert_eq!(r.entries[0].prefix.to_string(), "4.145.74.52/30");
        assert_eq!(
            (first.provider, first.service, first.region, first.extra),
            ("azure", "ActionGroup", "", "ActionGroup")
        );
        let east = r
            .entries
            .iter()
            .map(|e| r.tags(e))
            .find(|t| t.service == "AzureCloud.eastus")
            .unwrap();
        assert_eq!((east.region, east.extra), ("eastus", ""));
    }

    #[test]
    fn refuses_with_the_place() {
        let e = err(
            r#"{"changeNumber":1,"cloud":"Public","values":[{"name":"A","properties":{"addressPrefixes":["1.0.0.0/8"]}},{"name":"B","properties":{"addressPrefixes":["1.0.0.0/8","10.0.0.1/8"]}}]}"#,
        );
        assert!(
            e.starts_with("a.json: values[1].properties.addressPrefixes[1]: "),
            "{e}"
        );
        assert!(e.contains("10.0.0.1/8"), "{e}");
        let e = err(r#"{"changeNumber":1,"cloud":"Public"}"#);
        assert!(e.contains("missing field `values`"), "{e}");
        let e = err(r#"{"changeNumber":1,"values":[{"properties":{"addressPrefixes":[]}}]}"#);
        assert!(e.contains("missing field `name`"), "{e}");
        let e = err(r#"{"changeNumber":1,"values":[],"values":[]}"#);
        assert!(e.contains("duplicate field `values`"), "{e}");
        let e = err(r#"{"changeNumber":"x","values":[]}"#);
        assert!(e.contains("not the shape of Azure Service Tags"), "{e}");
        let e = parse(
            br#"{"values":[{"name":"A","properties":{"addressPrefixes":["1.0.0.0/8","2.0.0.0/8"]}}]}"#,
            "a.json",
            Options {
                max_entries: 1,
                ..Options::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("more than 1 entries"), "{e}");
    }

    #[test]
    fn accepts_what_is_unambiguous() {
        // Spaces around a prefix, an escaped string, no cloud, duplicates.
        let (r, cloud) = parse_with_cloud(
            br#"{"changeNumber":7,"values":[{"name":"A\u002eb","properties":{"addressPrefixes":[" 1.0.0.0/8 ","1.0.0.0/8"]}}]}"#,
            "a.json",
            Options::default(),
        )
        .unwrap();
        assert_eq!(cloud, None);
        assert_eq!(r.len(), 2);
        assert_eq!(r.tags(&r.entries[0]).service, "A.b");
        assert_eq!(r.sources[0].sync_token.as_deref(), Some("7"));
    }

    #[test]
    fn truncation_anywhere_is_an_error_not_a_panic() {
        let head = &REAL[..20_000];
        check::cuts_are_refused(
            |b, n| parse(b, n, Options::default()),
            head,
            (0..head.len()).step_by(37),
        );
        let e = parse(&REAL[..REAL.len() - 10], "cut.json", Options::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("file ends early (truncated download?)"), "{e}");
    }

    /// Whether the fast path took `bytes`.
    fn fast_takes(bytes: &[u8]) -> bool {
        let text = core::str::from_utf8(bytes).unwrap();
        let mut r = Ranges::new();
        let mut sink = Sink {
            ranges: &mut r,
            name: "x",
            opts: Options::default(),
            failure: None,
        };
        matches!(
            Scan::new(text, HostBits::Reject).file(&mut sink),
            Some(Read::All(_))
        )
    }

    /// Options that split the fast path's read, running its two parts in turn.
    fn split() -> Options {
        Options {
            join: Some(crate::source::Join::SEQUENTIAL),
            ..Options::default()
        }
    }

    /// The fast path, whole and (for a short text) split at every byte, reads what
    /// serde_json reads.
    fn same_both_ways(bytes: &[u8]) {
        let slow = parse_inner(bytes, "x.json", Options::default(), Path::Serde);
        let fast = parse_inner(bytes, "x.json", Options::default(), Path::Fast);
        assert_eq!(fast, slow, "{}", String::from_utf8_lossy(bytes));
        let every = if bytes.len() < 1000 { bytes.len() } else { 0 };
        for at in 0..=every {
            let fast = parse_inner(bytes, "x.json", split(), Path::SplitAt(at));
            assert_eq!(
                fast,
                slow,
                "split at {at}: {}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    /// The entry limit holds for both parts together.
    #[test]
    fn a_read_in_two_parts_keeps_the_entry_limit() {
        let json = br#"{"values":[{"name":"A","properties":{"addressPrefixes":["1.0.0.0/8","2.0.0.0/8"]}},{"name":"B","properties":{"addressPrefixes":["3.0.0.0/8","4.0.0.0/8"]}}]}"#;
        let at = json
            .windows(10)
            .rposition(|w| w == br#"{"name":"B"#)
            .unwrap();
        for max_entries in [3, 4] {
            let opts = Options {
                max_entries,
                ..split()
            };
            let slow = parse_inner(json, "x.json", opts, Path::Serde);
            assert_eq!(parse_inner(json, "x.json", opts, Path::SplitAt(at)), slow);
            assert_eq!(slow.is_ok(), max_entries == 4, "{slow:?}");
        }
    }

    /// The published file, read in two parts: the split point is a tag, where the first
    /// part stops, and the result is the one of a read in one part.
    #[test]
    fn the_published_file_read_in_two_parts_is_the_same() {
        let text = core::str::from_utf8(REAL).unwrap();
        let at = split_point(text).unwrap();
        assert!(text[at..].starts_with('{') && at > REAL.len() / 3 && at < REAL.len() * 2 / 3);
        let mut r = Ranges::new();
        let mut first = Scan::new(text, HostBits::Reject);
        first.stop = at;
        let read = first.file(&mut Sink {
            ranges: &mut r,
            name: "x",
            opts: Options::default(),
            failure: None,
        });
        assert!(matches!(read, Some(Read::Stopped(_))));
        let whole = parse_inner(REAL, "x.json", Options::default(), Path::Fast).unwrap();
        assert_eq!(
            parse_inner(REAL, "x.json", split(), Path::Fast).unwrap(),
            whole
        );
    }

    #[test]
    fn the_fast_path_takes_the_published_shape_and_agrees() {
        assert!(fast_takes(REAL));
        same_both_ways(REAL);
        for (json, taken) in [
            (r#"{"changeNumber":1,"cloud":"Public","values":[]}"#, true),
            (
                r#" {"values":[{"properties":{"addressPrefixes":["1.0.0.0/8"]},"name":"A"}]} "#,
                true,
            ),
            (
                r#"{"values":[{"name":"A","properties":{"region":"r","addressPrefixes":[]}}]}"#,
                true,
            ),
            (
                r#"{"values":[{"name":"A","properties":{"addressPrefixes":[],"networkFeatures":null}}]}"#,
                true,
            ),
            (
                r#"{"values":[{"name":"A","properties":{"addressPrefixes":[],"networkFeatures":nul}}]}"#,
                false,
            ),
            (
                r#"{"values":[{"name":"A","properties":{"addressPrefixes":[],"networkFeatures":nullx}}]}"#,
                false,
            ),
            // Each of these is serde_json's: refused, or read with what the scan lacks.
            (r#"{"values":[{"name":"A","properties":{}}]}"#, false),
            (r#"{"values":[{"name":"A"}]}"#, false),
            (
                r#"{"values":[{"name":"A","properties":{"addressPrefixes":["10.0.0.1/8"]}}]}"#,
                false,
            ),
            (
                r#"{"values":[{"name":"A\u0042","properties":{"addressPrefixes":[]}}]}"#,
                false,
            ),
            (r#"{"values":[],"other":1}"#, false),
            (r#"{"values":[],"values":[]}"#, false),
            (r#"{"changeNumber":01,"values":[]}"#, false),
            (r#"{"changeNumber":1.5,"values":[]}"#, false),
            (
                r#"{"changeNumber":99999999999999999999,"values":[]}"#,
                false,
            ),
            (
                r#"{"values":[{"name":"A","properties":{"region":null,"addressPrefixes":[]}}]}"#,
                false,
            ),
            // Several tags, for the reads in two parts: a stamp after `values`, a tag
            // without prefixes, names that come again.
            (
                r#"{"changeNumber":1,"values":[{"name":"A","properties":{"addressPrefixes":["1.0.0.0/8"]}},
                   {"name":"B","properties":{"region":"r","addressPrefixes":["2.0.0.0/8","::/0"]}},
                   {"name":"C","properties":{"region":"s","addressPrefixes":[]}},
                   {"name":"A","properties":{"region":"r","addressPrefixes":["3.0.0.0/8"]}}],"cloud":"Public"}"#,
                true,
            ),
            (
                r#"{"changeNumber":1,"values":[{"name":"A","properties":{"addressPrefixes":["1.0.0.0/8"]}},
                   {"name":"B","properties":{"addressPrefixes":["2.0.0.0/8"]}}],"changeNumber":2}"#,
                false,
            ),
            (
                r#"{"cloud":"a","values":[{"name":"A","properties":{"addressPrefixes":["1.0.0.0/8"]}},
                   {"name":"B","properties":{"addressPrefixes":["2.0.0.0/8"]}}],"cloud":"b"}"#,
                false,
            ),
            (
                r#"{"values":[{"name":"A","properties":{"addressPrefixes":["1.0.0.0/8"]}},
                   {"name":"B","properties":{"addressPrefixes":["2.0.0.0/8"]}}],"values":[]}"#,
                false,
            ),
            (r#"{"values":[]}x"#, false),
            (r#"{"values":[],}"#, false),
            (r#"{"values":[1]}"#, false),
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
            let head = &REAL[..3000];
            let end = head.windows(9).rposition(|w| w == b"\",\n      ").unwrap();
            let mut bytes = head[..=end].to_vec();
            bytes.extend_from_slice(b"]}}]}");
            let at = at.min(bytes.len() - 1);
            if delete {
                bytes.remove(at);
            } else {
                bytes[at] = with;
            }
            let slow = parse_inner(&bytes, "x.json", Options::default(), Path::Serde);
            let fast = parse_inner(&bytes, "x.json", Options::default(), Path::Fast);
            proptest::prop_assert_eq!(&fast, &slow);
            // Split at the second and at the last tag.
            let tags: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i..].starts_with(b"{\r\n      \"name\"") || bytes[i..].starts_with(b"{\n      \"name\"")).collect();
            for &at in tags.iter().skip(1).take(1).chain(tags.last()) {
                let fast = parse_inner(&bytes, "x.json", split(), Path::SplitAt(at));
                proptest::prop_assert_eq!(&fast, &slow);
            }
        }

        #[test]
        fn damaged_files_never_panic(
            at in 0usize..4000,
            with in proptest::sample::select(check::DAMAGE),
            delete in proptest::prelude::any::<bool>(),
        ) {
            check::damaged_is_safe(|b, n| parse(b, n, Options::default()), &REAL[..4000], at, with, delete);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = parse(&bytes, "fuzz", Options::default());
        }
    }
}
