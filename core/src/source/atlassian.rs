//! Atlassian `ip-ranges.json`: <https://ip-ranges.atlassian.com/>, described at
//! <https://support.atlassian.com/organization-administration/docs/ip-addresses-and-domains-for-atlassian-cloud-products/>.
//!
//! ```text
//! {"creationDate": "2026-06-17T04:08:46.684598", "syncToken": 1781669326,
//!  "items": [{"network": "52.82.172.0", "mask_len": 22, "cidr": "52.82.172.0/22",
//!             "mask": "255.255.252.0", "region": ["global"], "product": ["email"],
//!             "direction": ["egress"], "perimeter": "commercial"}, ...]}
//! ```
//!
//! Tags: provider `atlassian`, one entry per (product, region, direction) of an item:
//! service = product (`jira`, `confluence`, ...), region = region, extra = direction
//! (`ingress`, `egress`); an empty list counts as one empty tag, so every prefix gives
//! at least one entry. `perimeter` (`commercial`, `fedramp-moderate`) is not kept. The
//! version is `syncToken` (a number, kept as its text), the date `creationDate`
//! verbatim. `network`, `mask_len` and `mask` restate `cidr`: a file where they
//! disagree is refused, since which one is meant is unclear.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::net::IpAddr;
use serde::de::{Deserializer, Visitor};
use serde::Deserialize;

use super::{json_error, parse_error, too_many, Options, Str};
use crate::prefix::parse_prefix;
use crate::{Error, Ranges, SourceInfo, Tags};

const WHAT: &str = "Atlassian ip-ranges.json";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct File<'a> {
    #[serde(borrow, default)]
    creation_date: Option<Cow<'a, str>>,
    #[serde(default)]
    sync_token: Option<Token>,
    #[serde(borrow)]
    items: Vec<Item<'a>>,
}

#[derive(Deserialize)]
struct Item<'a> {
    #[serde(borrow)]
    cidr: Cow<'a, str>,
    #[serde(borrow, default)]
    network: Option<Cow<'a, str>>,
    #[serde(default)]
    mask_len: Option<u8>,
    #[serde(borrow, default)]
    mask: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    region: Vec<Str<'a>>,
    #[serde(borrow, default)]
    product: Vec<Str<'a>>,
    #[serde(borrow, default)]
    direction: Vec<Str<'a>>,
}

/// `syncToken`: published as a number; a string is taken as well.
struct Token(String);

impl<'de> Deserialize<'de> for Token {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Token;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a number or a string")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Token, E> {
                Ok(Token(n.to_string()))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Token, E> {
                Ok(Token(s.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `list`, or `none` (one empty tag) when it is empty.
fn or_none<'s, 'a>(list: &'s [Str<'a>], none: &'s [Str<'a>]) -> &'s [Str<'a>] {
    if list.is_empty() {
        none
    } else {
        list
    }
}

/// Parses Atlassian's `ip-ranges.json`.
///
/// # Errors
/// [`Error::Parse`] with the place (`items[3].cidr`): not JSON, a missing `items` or
/// `cidr`, a bad prefix, `network`, `mask_len` or `mask` that disagree with `cidr`,
/// too many entries.
pub fn parse(bytes: &[u8], name: &str, opts: Options) -> Result<Ranges, Error> {
    let text = super::utf8(name, WHAT, bytes)?;
    let file: File<'_> = serde_json::from_str(text).map_err(|e| json_error(name, WHAT, &e))?;
    let mut r = Ranges::new();
    r.sources.push(SourceInfo {
        name: name.to_string(),
        format: String::from("atlassian"),
        provider: String::from("atlassian"),
        sync_token: file.sync_token.map(|t| t.0),
        create_date: file.creation_date.map(Cow::into_owned),
    });
    let none = [Str(Cow::Borrowed(""))];
    for (i, item) in file.items.iter().enumerate() {
        let net = parse_prefix(item.cidr.trim(), opts.host_bits, false)
            .map_err(|m| parse_error(name, format!("items[{i}].cidr"), m))?;
        let disagree = |field: &str, value: &str| {
            parse_error(
                name,
                format!("items[{i}].{field}"),
                format!(
                    "{} disagrees with cidr {}: which one is meant is unclear",
                    crate::error::quote(value),
                    crate::error::quote(&item.cidr)
                ),
            )
        };
        if let Some(network) = &item.network {
            if network.trim().parse::<IpAddr>().ok() != Some(net.addr()) {
                return Err(disagree("network", network));
            }
        }
        if let Some(len) = item.mask_len {
            if len != net.prefix_len() {
                return Err(disagree("mask_len", &len.to_string()));
            }
        }
        if let Some(mask) = &item.mask {
            if mask.trim().parse::<IpAddr>().ok() != Some(net.netmask()) {
                return Err(disagree("mask", mask));
            }
        }
        let products = or_none(&item.product, &none);
        let regions = or_none(&item.region, &none);
        let directions = or_none(&item.direction, &none);
        for Str(product) in products {
            for Str(region) in regions {
                for Str(direction) in directions {
                    if r.len() >= opts.max_entries {
                        return Err(too_many(name, opts.max_entries));
                    }
                    r.push(
                        net,
                        Tags {
                            provider: "atlassian",
                            service: product,
                            region,
                            extra: direction,
                        },
                    );
                }
            }
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::check;

    const REAL: &[u8] = include_bytes!("../../../tests/data/atlassian/ip-ranges.json");

    fn read(json: &str) -> Result<Ranges, String> {
        parse(json.as_bytes(), "a.json", Options::default()).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_the_real_file() {
        let r = parse(REAL, "ip-ranges.json", Options::default()).unwrap();
        // 166 items; one entry per (product, region, direction).
        assert_eq!(r.len(), 1_321);
        let s = &r.sources[0];
        assert_eq!(
            (s.provider.as_str(), s.format.as_str()),
            ("atlassian", "atlassian")
        );
        assert_eq!(s.sync_token.as_deref(), Some("1781669326"));
        assert_eq!(s.create_date.as_deref(), Some("2026-06-17T04:08:46.684598"));
        let mut unique: Vec<_> = r.entries.iter().map(|e| e.prefix).collect();
        unique.sort();
        unique.dedup();
        let v4 = unique
            .iter()
            .filter(|p| matches!(p, ipnet::IpNet::V4(_)))
            .count();
        assert_eq!((v4, unique.len() - v4), (106, 60));
        let t = r.tags(&r.entries[0]);
        assert_eq!(r.entries[0].prefix.to_string(), "52.82.172.0/22");
        assert_eq!(
            (t.provider, t.service, t.region, t.extra),
            ("atlassian", "email", "global", "egress")
        );
        // The item with 7 products, 15 regions and both directions.
        let big = r
            .entries
            .iter()
            .filter(|e| e.prefix.to_string() == "2401:1d80:3000::/36")
            .count();
        assert_eq!(big, 7 * 15 * 2);
    }

    #[test]
    fn one_entry_per_combination_and_one_for_empty_lists() {
        let r = read(
            r#"{"items":[{"cidr":"1.0.0.0/8","product":["jira","trello"],"region":["r"],"direction":["ingress","egress"]},
                         {"cidr":"2.0.0.0/8","product":[],"region":[],"direction":[]}]}"#,
        )
        .unwrap();
        let got: Vec<(String, &str, &str)> = r
            .entries
            .iter()
            .map(|e| {
                let t = r.tags(e);
                (e.prefix.to_string(), t.service, t.extra)
            })
            .collect();
        let p = |s: &str| s.to_string();
        assert_eq!(
            got,
            [
                (p("1.0.0.0/8"), "jira", "ingress"),
                (p("1.0.0.0/8"), "jira", "egress"),
                (p("1.0.0.0/8"), "trello", "ingress"),
                (p("1.0.0.0/8"), "trello", "egress"),
                (p("2.0.0.0/8"), "", ""),
            ]
        );
        assert_eq!(r.sources[0].sync_token, None);
        let r = read(r#"{"syncToken":"17","items":[]}"#).unwrap();
        assert_eq!(r.sources[0].sync_token.as_deref(), Some("17"));
    }

    #[test]
    fn refuses_what_disagrees_with_its_place() {
        let ok = r#"{"cidr":"1.0.0.0/8","network":"1.0.0.0","mask_len":8,"mask":"255.0.0.0"}"#;
        assert!(read(&format!(r#"{{"items":[{ok}]}}"#)).is_ok());
        for (item, at, value) in [
            (
                r#"{"cidr":"1.0.0.0/8","network":"2.0.0.0"}"#,
                "network",
                "2.0.0.0",
            ),
            (r#"{"cidr":"1.0.0.0/8","network":"x"}"#, "network", "x"),
            (
                r#"{"cidr":"1.0.0.0/8","network":"1.0.0.0/8"}"#,
                "network",
                "1.0.0.0/8",
            ),
            (r#"{"cidr":"1.0.0.0/8","mask_len":9}"#, "mask_len", "9"),
            (
                r#"{"cidr":"1.0.0.0/8","mask":"255.255.0.0"}"#,
                "mask",
                "255.255.0.0",
            ),
            (
                r#"{"cidr":"2001:db8::/32","mask":"ffff:ffff:f000::"}"#,
                "mask",
                "ffff:ffff:f000::",
            ),
        ] {
            let e = read(&format!(r#"{{"items":[{ok},{item}]}}"#)).unwrap_err();
            assert!(
                e.starts_with(&format!(
                    "a.json: items[1].{at}: \"{value}\" disagrees with cidr"
                )),
                "{e}"
            );
        }
        let e = read(r#"{"items":[{"cidr":"10.0.0.1/8"}]}"#).unwrap_err();
        assert!(e.starts_with("a.json: items[0].cidr: "), "{e}");
        let e = read(r#"{"items":[{"network":"10.0.0.0"}]}"#).unwrap_err();
        assert!(e.contains("missing field `cidr`"), "{e}");
        let e = read(r#"{"syncToken":true,"items":[]}"#).unwrap_err();
        assert!(
            e.contains("not the shape of Atlassian ip-ranges.json"),
            "{e}"
        );
    }

    #[test]
    fn truncation_anywhere_is_an_error_not_a_panic() {
        check::cuts_are_refused(
            |b, n| parse(b, n, Options::default()),
            REAL,
            (0..REAL.len()).step_by(29),
        );
    }

    proptest::proptest! {
        #[test]
        fn damaged_files_never_panic(
            at in 0usize..6000,
            with in proptest::sample::select(check::DAMAGE),
            delete in proptest::prelude::any::<bool>(),
        ) {
            check::damaged_is_safe(|b, n| parse(b, n, Options::default()), REAL, at, with, delete);
        }
    }
}
