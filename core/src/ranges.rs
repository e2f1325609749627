//! Tagged ranges: every published entry with its source, service, region and network
//! border group, tags interned once.

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
/// `network_border_group`; CIDR text lists have no service).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Entry {
    /// The published prefix, host bits clear.
    pub prefix: IpNet,
    /// Which input it came from (`aws`, `cloudfront`, `text`, ...).
    pub source: Sym,
    /// `AMAZON`, `EC2`, `CLOUDFRONT_GLOBAL_IP_LIST`, ...
    pub service: Sym,
    /// `us-east-1`, `GLOBAL`, ...
    pub region: Sym,
    /// `us-east-1-wl1-bos-wlz-1`, ...
    pub border_group: Sym,
}

/// What is known about one input: its kind and version stamps, as published.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceInfo {
    /// The input's name: a file path, `<stdin>` or `embedded AWS snapshot`.
    pub name: String,
    /// The format it was read as: `aws`, `cloudfront`, `text`.
    pub format: String,
    /// `syncToken`, when the format has one (AWS: seconds since the epoch, as text).
    pub sync_token: Option<String>,
    /// `createDate` as published (AWS: `YYYY-MM-DD-hh-mm-ss`, kept verbatim).
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
    /// Source name (`aws`, `cloudfront`, `text`).
    pub source: &'a str,
    /// Service, or empty.
    pub service: &'a str,
    /// Region, or empty.
    pub region: &'a str,
    /// Network border group, or empty.
    pub border_group: &'a str,
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
            source: sym(tags.source, prev.map(|p| p.source)),
            service: sym(tags.service, prev.map(|p| p.service)),
            region: sym(tags.region, prev.map(|p| p.region)),
            border_group: sym(tags.border_group, prev.map(|p| p.border_group)),
        };
        self.entries.push(e);
    }

    /// The tags of `e` as strings.
    pub fn tags(&self, e: &Entry) -> Tags<'_> {
        Tags {
            source: self.strings.get(e.source),
            service: self.strings.get(e.service),
            region: self.strings.get(e.region),
            border_group: self.strings.get(e.border_group),
        }
    }

    /// Adds every entry and source of `other`.
    pub fn extend(&mut self, other: &Ranges) {
        self.sources.extend(other.sources.iter().cloned());
        for e in &other.entries {
            let tags = other.tags(e);
            self.push(e.prefix, tags);
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
