//! GitHub's meta API answer (`https://api.github.com/meta`):
//! <https://docs.github.com/en/rest/meta/meta#get-github-meta-information>.
//!
//! ```text
//! {"verifiable_password_authentication": false,
//!  "ssh_key_fingerprints": {"SHA256_ED25519": "..."}, "ssh_keys": ["ssh-ed25519 ..."],
//!  "hooks": ["192.30.252.0/22", "2a0a:a440::/29"], "web": [...], "api": [...],
//!  "git": [...], "packages": [...], "pages": [...], "importer": [...], "actions": [...],
//!  "actions_macos": [...], "codespaces": [...], "copilot": [...], "dependabot": [...],
//!  "domains": {"website": ["*.github.com", ...], ...}}
//! ```
//!
//! Tags: provider `github`, service = the list's key (`hooks`, `actions`, ...), no
//! region. The lists overlap (`web`, `api` and `git` share most prefixes): a prefix under
//! several keys gives one entry per key. The answer carries no version or date.
//!
//! Which keys are prefix lists: the documented other keys (`ssh_keys`, `domains`, ...)
//! are skipped by name; so is any value that is not a list, and a list whose first
//! element is not an address or prefix (GitHub adds keys now and then: a new list of
//! keys or names must not become a service, nor break the read). A list that starts
//! with a prefix is a prefix list: every element must then be one, or it is refused
//! with its place.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde::de::{Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::{json_error, parse_error, too_many, Options};
use crate::prefix::{parse_prefix, HostBits};
use crate::ranges::Entry;
use crate::{Error, Ranges, SourceInfo};

const WHAT: &str = "GitHub's meta API answer";

/// The documented keys that hold no prefixes.
const NOT_PREFIXES: &[&str] = &[
    "verifiable_password_authentication",
    "ssh_key_fingerprints",
    "ssh_keys",
    "domains",
    "commit_signing_keys",
];

/// One element of a list: a string, or anything else.
enum Elem<'a> {
    Str(Cow<'a, str>),
    Other,
}

/// A top-level value: a list, or anything else.
enum List<'a> {
    Items(Vec<Elem<'a>>),
    Other,
}

/// Accepts any JSON value, keeping strings (borrowed when they have no escapes) and
/// lists of them.
struct AnyVisitor<T>(core::marker::PhantomData<T>);

macro_rules! other_scalars {
    ($other:expr) => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok($other)
        }
    };
}

impl<'de> Visitor<'de> for AnyVisitor<Elem<'de>> {
    type Value = Elem<'de>;
    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("any value")
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, s: &'de str) -> Result<Elem<'de>, E> {
        Ok(Elem::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Elem<'de>, E> {
        Ok(Elem::Str(Cow::Owned(s.to_string())))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Elem<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Elem::Other)
    }
    other_scalars!(Elem::Other);
}

impl<'de> Deserialize<'de> for Elem<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyVisitor::<Elem<'de>>(core::marker::PhantomData))
    }
}

impl<'de> Visitor<'de> for AnyVisitor<List<'de>> {
    type Value = List<'de>;
    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("any value")
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<List<'de>, E> {
        Ok(List::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(e) = seq.next_element::<Elem<'de>>()? {
            items.push(e);
        }
        Ok(List::Items(items))
    }
    other_scalars!(List::Other);
}

impl<'de> Deserialize<'de> for List<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyVisitor::<List<'de>>(core::marker::PhantomData))
    }
}

/// The top level, key by key: the prefix lists in published order.
struct FileVisitor;

impl<'de> Visitor<'de> for FileVisitor {
    type Value = Vec<(Cow<'de, str>, Vec<Elem<'de>>)>;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("an object of lists")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut lists: Self::Value = Vec::new();
        let mut seen: Vec<Cow<'de, str>> = Vec::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if seen.contains(&key) {
                return Err(A::Error::custom(format!("duplicate field `{key}`")));
            }
            if NOT_PREFIXES.contains(&key.as_ref()) {
                map.next_value::<IgnoredAny>()?;
            } else if let List::Items(items) = map.next_value::<List<'de>>()? {
                lists.push((key.clone(), items));
            }
            seen.push(key);
        }
        Ok(lists)
    }
}

/// Whether `s` has the shape of a prefix or an address, host bits or not.
fn looks_like_prefix(s: &str) -> bool {
    parse_prefix(s.trim(), HostBits::Mask, true).is_ok()
}

/// Parses GitHub's meta API answer.
///
/// # Errors
/// [`Error::Parse`] with the place (`hooks[3]`): not JSON, not an object, a duplicate
/// key, a prefix list holding something that is not a prefix, a bad prefix, too many
/// entries.
pub fn parse(bytes: &[u8], name: &str, opts: Options) -> Result<Ranges, Error> {
    let text = super::utf8(name, WHAT, bytes)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let lists = de
        .deserialize_map(FileVisitor)
        .and_then(|l| de.end().map(|()| l))
        .map_err(|e| json_error(name, WHAT, &e))?;
    let mut r = Ranges::new();
    r.sources.push(SourceInfo {
        name: name.to_string(),
        format: String::from("github"),
        provider: String::from("github"),
        sync_token: None,
        create_date: None,
    });
    for (key, items) in &lists {
        match items.first() {
            Some(Elem::Str(s)) if looks_like_prefix(s) => {}
            _ => continue,
        }
        if r.len() + items.len() > opts.max_entries {
            return Err(too_many(name, opts.max_entries));
        }
        // Interned once per list, in the order `Ranges::push` would (`actions` alone
        // holds thousands of prefixes).
        let provider = r.strings.intern("github");
        let service = r.strings.intern(key);
        let empty = r.strings.intern("");
        for (i, item) in items.iter().enumerate() {
            let at = || format!("{key}[{i}]");
            let Elem::Str(s) = item else {
                return Err(parse_error(
                    name,
                    at(),
                    format!("not a string, in a list of prefixes (`{key}` starts with one)"),
                ));
            };
            let net = parse_prefix(s.trim(), opts.host_bits, false).map_err(|m| {
                let why = if looks_like_prefix(s) {
                    String::new()
                } else {
                    format!(" (`{key}` starts with a prefix, so every element must be one)")
                };
                parse_error(name, at(), format!("{m}{why}"))
            })?;
            r.entries.push(Entry {
                prefix: net,
                provider,
                service,
                region: empty,
                extra: empty,
            });
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::check;

    const REAL: &[u8] = include_bytes!("../../../tests/data/github/meta.json");

    fn read(json: &str) -> Result<Ranges, String> {
        parse(json.as_bytes(), "meta.json", Options::default()).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_the_real_file() {
        let r = parse(REAL, "meta.json", Options::default()).unwrap();
        assert_eq!(r.len(), 7_652);
        let s = &r.sources[0];
        assert_eq!(
            (s.provider.as_str(), s.format.as_str()),
            ("github", "github")
        );
        assert_eq!(
            (s.sync_token.as_ref(), s.create_date.as_ref()),
            (None, None)
        );
        let mut services: Vec<&str> = Vec::new();
        for e in &r.entries {
            let t = r.tags(e);
            assert_eq!((t.provider, t.region, t.extra), ("github", "", ""));
            if services.last() != Some(&t.service) {
                services.push(t.service);
            }
        }
        assert_eq!(
            services,
            [
                "hooks",
                "web",
                "api",
                "git",
                "github_enterprise_importer",
                "packages",
                "pages",
                "importer",
                "actions",
                "actions_macos",
                "codespaces",
                "copilot"
            ]
        );
        let mut unique: Vec<_> = r.entries.iter().map(|e| e.prefix).collect();
        unique.sort();
        unique.dedup();
        let v4 = unique
            .iter()
            .filter(|p| matches!(p, ipnet::IpNet::V4(_)))
            .count();
        assert_eq!((v4, unique.len() - v4), (5_953, 1_641));
        let hooks: Vec<String> = r
            .entries
            .iter()
            .filter(|e| r.tags(e).service == "hooks")
            .map(|e| e.prefix.to_string())
            .collect();
        assert_eq!(hooks[0], "192.30.252.0/22");
        assert_eq!(hooks.len(), 6);
    }

    #[test]
    fn skips_lists_that_are_not_prefixes() {
        let r = read(
            r#"{"verifiable_password_authentication":false,"ssh_keys":["ssh-ed25519 AAAA"],
                "domains":{"website":["*.github.com"]},"new_keys":["abc","1.2.3.0/24"],
                "flag":true,"count":3,"empty":[],"nested":[[1]],
                "hooks":["192.30.252.0/22", " 2a0a:a440::/29 "]}"#,
        )
        .unwrap();
        let got: Vec<(String, &str)> = r
            .entries
            .iter()
            .map(|e| (e.prefix.to_string(), r.tags(e).service))
            .collect();
        assert_eq!(
            got,
            [
                ("192.30.252.0/22".to_string(), "hooks"),
                ("2a0a:a440::/29".to_string(), "hooks")
            ]
        );
    }

    #[test]
    fn refuses_a_prefix_list_with_something_else_in_it() {
        let e = read(r#"{"hooks":["192.30.252.0/22","*.github.com"]}"#).unwrap_err();
        assert!(e.starts_with("meta.json: hooks[1]: "), "{e}");
        assert!(e.contains("every element must be one"), "{e}");
        let e = read(r#"{"web":["192.30.252.0/22",7]}"#).unwrap_err();
        assert!(e.starts_with("meta.json: web[1]: not a string"), "{e}");
        // Host bits in the first element: still a prefix list, refused there.
        let e = read(r#"{"api":["192.30.252.1/22"]}"#).unwrap_err();
        assert!(e.starts_with("meta.json: api[0]: "), "{e}");
        assert!(!e.contains("every element"), "{e}");
        // An address without a length is refused, not skipped.
        let e = read(r#"{"api":["192.30.252.1"]}"#).unwrap_err();
        assert!(e.contains("api[0]"), "{e}");
        let e = read(r#"{"api":[],"api":["1.0.0.0/8"]}"#).unwrap_err();
        assert!(e.contains("duplicate field `api`"), "{e}");
        let e = read(r#"["1.0.0.0/8"]"#).unwrap_err();
        assert!(
            e.contains("not the shape of GitHub's meta API answer"),
            "{e}"
        );
    }

    #[test]
    fn truncation_anywhere_is_an_error_not_a_panic() {
        check::cuts_are_refused(
            |b, n| parse(b, n, Options::default()),
            REAL,
            (0..REAL.len()).step_by(53),
        );
    }

    proptest::proptest! {
        #[test]
        fn damaged_files_never_panic(
            at in 0usize..6000,
            with in proptest::sample::select(check::DAMAGE),
            delete in proptest::prelude::any::<bool>(),
        ) {
            check::damaged_is_safe(|b, n| parse(b, n, Options::default()), &REAL[..6000], at, with, delete);
        }
    }
}
