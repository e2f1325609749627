//! Tagged ranges: every published entry with its provider, service, region and the
//! provider's own extra field, tags interned once.
//!
//! One shape serves every provider; each field holds the provider's own words:
//!
//! ```text
//! provider      service                      region               extra
//! aws           AMAZON, EC2, S3, ...         us-east-1, GLOBAL    network border group
//! aws           CLOUDFRONT_GLOBAL_IP_LIST    (CloudFront list)
//! google        Google Cloud / googlebot     us-central1 (scope)
//! azure         AzureCloud.eastus (tag)      eastus               systemService
//! github        hooks, actions, web, ...
//! oracle        OCI, OSN, OBJECT_STORAGE     us-ashburn-1
//! atlassian     jira, confluence, ...        us-east-1            direction (egress)
//! zscaler       hub                                               type (recommended)
//! fastly, cloudflare: the provider only
//! (a geofeed)                                NL-NH, or NL         city
//! ```

use alloc::string::String;
use alloc::vec::Vec;
use ipnet::IpNet;

/// An interned string: an index into [`Ranges::strings`].
pub type Sym = u32;

/// Strings stored once, referred to by [`Sym`]. `0` is always the empty string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interner {
    strings: Vec<String>,
    index: hashbrown::HashMap<String, Sym>,
}

impl Default for Interner {
    fn default() -> Self {
        let mut i = Interner {
            strings: Vec::new(),
            index: hashbrown::HashMap::new(),
        };
        i.intern("");
        i
    }
}

impl Interner {
    /// Returns the symbol for `s`, adding it if it is new.
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.index.get(s) {
            return sym;
        }
        let sym = Sym::try_from(self.strings.len()).unwrap_or(Sym::MAX);
        self.strings.push(String::from(s));
        self.index.insert(String::from(s), sym);
        sym
    }

    /// The string of `sym` (empty for an unknown symbol).
    pub fn get(&self, sym: Sym) -> &str {
        self.strings.get(sym as usize).map_or("", String::as_str)
    }

    /// The symbol of `s`, if it was interned.
    pub fn lookup(&self, s: &str) -> Option<Sym> {
        self.index.get(s).copied()
    }

    /// All strings, in symbol order.
    pub fn as_slice(&self) -> &[String] {
        &self.strings
    }
}

/// One published entry: a prefix and its tags.
///
/// An empty tag (symbol `0`) means the source does not publish it (old AWS files have no
/// `network_border_group`; CIDR text lists have no service). See the module docs for what
/// each field holds per provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Entry {
    /// The published prefix, host bits clear.
    pub prefix: IpNet,
    /// Who publishes it: `aws`, `google`, `azure`, ..., the name a user gave a list, or
    /// `text` for an unnamed CIDR list.
    pub provider: Sym,
    /// `AMAZON`, `EC2`, `CLOUDFRONT_GLOBAL_IP_LIST`, ...
    pub service: Sym,
    /// `us-east-1`, `GLOBAL`, ...
    pub region: Sym,
    /// The provider's own extra field: AWS network border group, Atlassian direction,
    /// Azure `systemService`, ... ([`extra_name`] names it).
    pub extra: Sym,
}

/// What is known about one input: its kind and version stamps, as published.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceInfo {
    /// The input's name: a file path, `<stdin>` or `embedded AWS snapshot`.
    pub name: String,
    /// The format it was read as (a [`Format`](crate::source::Format) name: `aws`,
    /// `google`, `azure`, `text`, ...).
    pub format: String,
    /// Who publishes it (`aws`, `google`, ...), as in [`Entry::provider`].
    pub provider: String,
    /// The file's own version stamp, as published: AWS, Google and Atlassian `syncToken`,
    /// Azure `changeNumber`; `None` when the file has none (GitHub, Fastly, Cloudflare,
    /// text lists).
    pub sync_token: Option<String>,
    /// When it was published, as the file says it (AWS `createDate`
    /// `YYYY-MM-DD-hh-mm-ss`, Google `creationTime`, Oracle `last_updated_timestamp`,
    /// Atlassian `creationDate`), kept verbatim.
    pub create_date: Option<String>,
}

/// A collection of tagged entries from one or more inputs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ranges {
    /// The inputs, in the order they were added.
    pub sources: Vec<SourceInfo>,
    /// Interned tag strings.
    pub strings: Interner,
    /// Every entry, in published order.
    pub entries: Vec<Entry>,
}

/// The tags of an entry, as strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tags<'a> {
    /// Who publishes it (`aws`, `google`, ...).
    pub provider: &'a str,
    /// Service, or empty.
    pub service: &'a str,
    /// Region, or empty.
    pub region: &'a str,
    /// The provider's extra field ([`extra_name`]), or empty.
    pub extra: &'a str,
}

/// What [`Tags::extra`] holds for `provider`, as a snake_case key for JSON output:
/// `network_border_group` (AWS), `direction` (Atlassian), `system_service` (Azure),
/// `type` (Zscaler), else `extra` (a geofeed's city, for one).
pub fn extra_name(provider: &str) -> &'static str {
    match provider {
        "aws" => "network_border_group",
        "atlassian" => "direction",
        "azure" => "system_service",
        "zscaler" => "type",
        _ => "extra",
    }
}

impl Ranges {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an entry, interning its tags.
    pub fn push(&mut self, prefix: IpNet, tags: Tags<'_>) {
        // Published files list runs of entries with the same tags: reuse the previous
        // entry's symbols when they match, before the map lookup.
        let prev = self.entries.last().copied();
        let mut sym = |s: &str, prev: Option<Sym>| match prev {
            Some(p) if self.strings.get(p) == s => p,
            _ => self.strings.intern(s),
        };
        let e = Entry {
            prefix,
            provider: sym(tags.provider, prev.map(|p| p.provider)),
            service: sym(tags.service, prev.map(|p| p.service)),
            region: sym(tags.region, prev.map(|p| p.region)),
            extra: sym(tags.extra, prev.map(|p| p.extra)),
        };
        self.entries.push(e);
    }

    /// Every entry of a compiled matcher back with its tags: equal to
    /// [`Matcher::to_ranges`](crate::Matcher::to_ranges), faster. A loaded matcher keeps
    /// each tag string once, so a string is interned once per address it lives at, and
    /// the entries skip the comparisons of [`Ranges::push`].
    pub fn from_matcher<B: AsRef<[u8]>>(m: &crate::Matcher<B>) -> Ranges {
        let mut r = Ranges {
            sources: m.sources(),
            ..Ranges::default()
        };
        r.entries.reserve(m.entry_count());
        let mut at: hashbrown::HashMap<(usize, usize), Sym> = hashbrown::HashMap::new();
        let strings = &mut r.strings;
        let mut sym = |s: &str| -> Sym {
            *at.entry((s.as_ptr() as usize, s.len()))
                .or_insert_with(|| strings.intern(s))
        };
        // Tag sets repeat: the previous entry's four symbols, by the tag strings' addresses.
        // (address, length) of each of the four tag strings.
        type Key = [(usize, usize); 4];
        let mut last: Option<(Key, [Sym; 4])> = None;
        for m in (0..m.prefix_count()).filter_map(|i| m.prefix_at(i)) {
            let prefix = m.prefix();
            for t in m.entries() {
                let key = [t.provider, t.service, t.region, t.extra]
                    .map(|s| (s.as_ptr() as usize, s.len()));
                let syms = match last {
                    Some((k, syms)) if k == key => syms,
                    _ => {
                        let syms = [sym(t.provider), sym(t.service), sym(t.region), sym(t.extra)];
                        last = Some((key, syms));
                        syms
                    }
                };
                let [provider, service, region, extra] = syms;
                r.entries.push(Entry {
                    prefix,
                    provider,
                    service,
                    region,
                    extra,
                });
            }
        }
        r
    }

    /// The tags of `e` as strings.
    pub fn tags(&self, e: &Entry) -> Tags<'_> {
        Tags {
            provider: self.strings.get(e.provider),
            service: self.strings.get(e.service),
            region: self.strings.get(e.region),
            extra: self.strings.get(e.extra),
        }
    }

    /// Adds every entry and source of `other`.
    pub fn extend(&mut self, other: &Ranges) {
        self.sources.extend(other.sources.iter().cloned());
        // Each of `other`'s symbols is interned here once, when an entry first uses it:
        // the strings come out in the order `push` would intern them, without a lookup
        // per entry (100,000 entries of an Azure file).
        let mut map: Vec<Option<Sym>> = alloc::vec![None; other.strings.as_slice().len()];
        let strings = &mut self.strings;
        let mut sym = |s: Sym| match map.get_mut(s as usize) {
            Some(Some(m)) => *m,
            Some(slot) => *slot.insert(strings.intern(other.strings.get(s))),
            None => strings.intern(""),
        };
        self.entries.reserve(other.entries.len());
        for e in &other.entries {
            let entry = Entry {
                prefix: e.prefix,
                provider: sym(e.provider),
                service: sym(e.service),
                region: sym(e.region),
                extra: sym(e.extra),
            };
            self.entries.push(entry);
        }
    }

    /// The entries' prefixes as a normalized [`PrefixSet`](crate::PrefixSet).
    pub fn to_set(&self) -> crate::PrefixSet {
        self.entries.iter().map(|e| e.prefix).collect()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Matcher;

    fn t<'a>(provider: &'a str, service: &'a str, region: &'a str, extra: &'a str) -> Tags<'a> {
        Tags {
            provider,
            service,
            region,
            extra,
        }
    }

    /// `extend` gives what pushing each entry of the other list does: the same entries
    /// and the same strings in the same order, whether the strings are new, shared or
    /// interned by the other list without an entry using them.
    #[test]
    fn extend_equals_pushing_each_entry() {
        let mut a = Ranges::new();
        a.push("3.5.0.0/16".parse().unwrap(), t("aws", "S3", "", "x"));
        let mut b = Ranges::new();
        b.strings.intern("unused");
        b.push(
            "10.0.0.0/8".parse().unwrap(),
            t("azure", "", "eastus", "S3"),
        );
        b.push(
            "10.1.0.0/16".parse().unwrap(),
            t("azure", "", "eastus", "S3"),
        );
        b.push("2001:db8::/32".parse().unwrap(), t("aws", "EC2", "", "x"));
        b.sources.push(SourceInfo {
            name: "b".into(),
            format: "azure".into(),
            provider: "azure".into(),
            sync_token: None,
            create_date: None,
        });
        let mut want = a.clone();
        want.sources.extend(b.sources.iter().cloned());
        for e in &b.entries {
            want.push(e.prefix, b.tags(e));
        }
        a.extend(&b);
        assert_eq!(a, want);
        assert_eq!(
            a.strings.as_slice(),
            ["", "aws", "S3", "x", "azure", "eastus", "EC2"]
        );
    }

    /// Tags of several providers, empty fields, a prefix under two tag sets and runs of
    /// equal tags: `from_matcher` gives back what `to_ranges` gives, strings interned
    /// in the same order.
    #[test]
    fn from_matcher_equals_to_ranges() {
        let mut r = Ranges::new();
        r.sources.push(SourceInfo {
            name: "a".into(),
            format: "aws".into(),
            provider: "aws".into(),
            sync_token: Some("1".into()),
            create_date: None,
        });
        r.push(
            "3.5.0.0/16".parse().unwrap(),
            t("aws", "AMAZON", "us-east-1", "us-east-1"),
        );
        r.push(
            "3.5.140.0/22".parse().unwrap(),
            t("aws", "AMAZON", "us-east-1", "us-east-1"),
        );
        r.push(
            "3.5.140.0/22".parse().unwrap(),
            t("aws", "S3", "us-east-1", "us-east-1"),
        );
        r.push(
            "140.82.112.0/20".parse().unwrap(),
            t("github", "hooks", "", ""),
        );
        r.push(
            "140.82.112.0/20".parse().unwrap(),
            t("github", "web", "", ""),
        );
        r.push(
            "2600:1f14::/35".parse().unwrap(),
            t("aws", "EC2", "us-west-2", "us-west-2"),
        );
        r.push(
            "2a01:111::/32".parse().unwrap(),
            t("azure", "AzureCloud", "", "AzureCloud"),
        );
        r.push("10.0.0.0/8".parse().unwrap(), t("text", "", "", ""));
        let m = Matcher::build(&r).unwrap();
        let (back, want) = (Ranges::from_matcher(&m), m.to_ranges());
        assert_eq!(back, want);
        assert_eq!(back.strings.as_slice(), want.strings.as_slice());
        assert_eq!(back.len(), 8);
    }
}
