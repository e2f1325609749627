//! Fastly's public IP list, <https://api.fastly.com/public-ip-list>.
//!
//! ```text
//! {"addresses": ["23.235.32.0/20", "43.249.72.0/22", ...],
//!  "ipv6_addresses": ["2a04:4e40::/32", "2a04:4e42::/32"]}
//! ```
//!
//! Every entry is tagged provider `fastly` and nothing else: the list has no services,
//! regions, version or date.

use alloc::borrow::Cow;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde::Deserialize;

use super::{json_error, push_list, Options};
use crate::{Error, Ranges, SourceInfo, Tags};

const WHAT: &str = "Fastly's public-ip-list";

#[derive(Deserialize)]
struct File<'a> {
    #[serde(borrow)]
    addresses: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    ipv6_addresses: Vec<Cow<'a, str>>,
}

/// Parses Fastly's `public-ip-list`.
///
/// # Errors
/// [`Error::Parse`] with the place (`addresses[3]`): not JSON, either list missing, a bad
/// prefix, an IPv6 prefix in `addresses` (or IPv4 in `ipv6_addresses`), too many entries.
pub fn parse(bytes: &[u8], name: &str, opts: Options) -> Result<Ranges, Error> {
    let text = super::utf8(name, WHAT, bytes)?;
    let file: File<'_> = serde_json::from_str(text).map_err(|e| json_error(name, WHAT, &e))?;
    let mut r = Ranges::new();
    r.sources.push(SourceInfo {
        name: name.to_string(),
        format: String::from("fastly"),
        provider: String::from("fastly"),
        sync_token: None,
        create_date: None,
    });
    let tags = Tags {
        provider: "fastly",
        service: "",
        region: "",
        extra: "",
    };
    push_list(
        &mut r,
        name,
        "addresses",
        &file.addresses,
        Some(false),
        tags,
        opts,
    )?;
    push_list(
        &mut r,
        name,
        "ipv6_addresses",
        &file.ipv6_addresses,
        Some(true),
        tags,
        opts,
    )?;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::check;
    use alloc::string::String;

    const REAL: &[u8] = include_bytes!("../../../tests/data/fastly/public-ip-list.json");

    fn err(json: &str) -> String {
        parse(json.as_bytes(), "f.json", Options::default())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn reads_the_real_list() {
        let r = parse(REAL, "public-ip-list.json", Options::default()).unwrap();
        assert_eq!(r.len(), 21);
        let v6 = r
            .entries
            .iter()
            .filter(|e| e.prefix.addr().is_ipv6())
            .count();
        assert_eq!((r.len() - v6, v6), (19, 2));
        assert_eq!(r.entries[0].prefix.to_string(), "23.235.32.0/20");
        assert_eq!(r.entries[20].prefix.to_string(), "2a04:4e42::/32");
        let t = r.tags(&r.entries[0]);
        assert_eq!(
            (t.provider, t.service, t.region, t.extra),
            ("fastly", "", "", "")
        );
        let s = &r.sources[0];
        assert_eq!(
            (s.format.as_str(), s.provider.as_str()),
            ("fastly", "fastly")
        );
        assert_eq!(
            (s.sync_token.as_deref(), s.create_date.as_deref()),
            (None, None)
        );
    }

    #[test]
    fn errors_name_their_place() {
        let e = err(r#"{"addresses":["1.2.3.0/24"," 10.0.0.1/8"],"ipv6_addresses":[]}"#);
        assert!(e.starts_with("f.json: addresses[1]: \"10.0.0.1/8\""), "{e}");
        let e = err(r#"{"addresses":["2001:db8::/32"],"ipv6_addresses":[]}"#);
        assert!(
            e.contains("addresses[0]: \"2001:db8::/32\" is an IPv6 prefix in the IPv4 list"),
            "{e}"
        );
        let e = err(r#"{"addresses":[],"ipv6_addresses":["8.8.8.0/24"]}"#);
        assert!(e.contains("ipv6_addresses[0]"), "{e}");
        assert!(e.contains("is an IPv4 prefix in the IPv6 list"), "{e}");
        let e = err(r#"{"addresses":[]}"#);
        assert!(e.contains("missing field `ipv6_addresses`"), "{e}");
        let e = parse(
            REAL,
            "f.json",
            Options {
                max_entries: 20,
                ..Options::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("more than 20 entries"), "{e}");
        // Spaces around a prefix and duplicates are unambiguous.
        let r = parse(
            br#"{"addresses":[" 1.2.3.0/24","1.2.3.0/24"],"ipv6_addresses":[]}"#,
            "f",
            Options::default(),
        )
        .unwrap();
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn truncation_anywhere_is_an_error_not_a_panic() {
        check::cuts_are_refused(
            |b, n| parse(b, n, Options::default()),
            REAL,
            0..REAL.len() - 1,
        );
    }

    proptest::proptest! {
        #[test]
        fn damaged_real_file_never_panics(
            at in 0usize..523,
            with in proptest::prelude::any::<u8>(),
            delete in proptest::prelude::any::<bool>(),
        ) {
            check::damaged_is_safe(|b, n| parse(b, n, Options::default()), REAL, at, with, delete);
        }
    }
}
