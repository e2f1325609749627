//! Google's prefix lists: `goog.json` (every Google prefix), `cloud.json` (Google Cloud,
//! with `service` and `scope`) and the crawler lists (`googlebot.json`,
//! `special-crawlers.json`, `user-triggered-fetchers.json`); Bing's `bingbot.json` and
//! OpenAI's `gptbot.json`, `chatgpt-user.json` and `searchbot.json` use the same layout.
//! <https://support.google.com/a/answer/10026322>,
//! <https://developers.google.com/search/docs/crawling-indexing/verifying-googlebot>.
//!
//! ```text
//! {"syncToken": "1778033048194", "creationTime": "2026-05-05T19:04:08.194918",
//!  "prefixes": [{"ipv4Prefix": "34.1.208.0/20", "service": "Google Cloud",
//!                "scope": "africa-south1"}, {"ipv6Prefix": "2600:1900::/35"}, ...]}
//! ```
//!
//! `goog.json` and `cloud.json` carry a `syncToken` (milliseconds since the epoch) and are
//! Google's; the crawler lists carry only `creationTime` and do not say whose they are,
//! so they must be named ([`Label`]): their entries get the named crawler as service.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use ipnet::IpNet;
use serde::Deserialize;

use super::{json_error, parse_error, too_many, Label, Options, KNOWN_LABELS};
use crate::prefix::parse_prefix;
use crate::{Error, Ranges, SourceInfo, Tags};

const WHAT: &str = "Google's prefix list";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct File<'a> {
    #[serde(borrow, default)]
    sync_token: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    creation_time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    prefixes: Vec<Item<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item<'a> {
    #[serde(borrow, default)]
    ipv4_prefix: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    ipv6_prefix: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    service: Cow<'a, str>,
    #[serde(borrow, default)]
    scope: Cow<'a, str>,
}

/// Parses a list in Google's layout. `label` names a crawler list (required for one:
/// see the module docs); for `goog.json` and `cloud.json` it may only say `google`.
///
/// # Errors
/// [`Error::Parse`] with the place (`prefixes[12].ipv4Prefix`): not JSON, an entry with
/// neither or both prefixes, an IPv6 prefix under `ipv4Prefix`, a bad prefix, too many
/// entries, a crawler list without a name, a name that contradicts the file.
pub fn parse(
    bytes: &[u8],
    name: &str,
    label: Option<&Label<'_>>,
    opts: Options,
) -> Result<Ranges, Error> {
    let text = super::utf8(name, WHAT, bytes)?;
    let file: File<'_> = serde_json::from_str(text).map_err(|e| json_error(name, WHAT, &e))?;
    if file.prefixes.len() > opts.max_entries {
        return Err(too_many(name, opts.max_entries));
    }
    // Whose list, and which service its entries are when the list stands for one.
    let (provider, list_service): (&str, Option<&str>) = match (&file.sync_token, label) {
        (Some(_), None) => ("google", None),
        (Some(_), Some(l)) if l.provider == "google" && l.service.is_none() => ("google", None),
        (Some(_), Some(l)) => {
            return Err(parse_error(
                name,
                "syncToken",
                format!(
                    "a Google list with a syncToken (goog.json or cloud.json) is Google's, but it was named {}: name it google or leave the name out",
                    crate::error::quote(l.name)
                ),
            ))
        }
        (None, Some(l)) => (l.provider, Some(l.service.unwrap_or(l.name))),
        (None, None) => {
            let known: Vec<&str> = KNOWN_LABELS
                .iter()
                .filter(|(_, _, s)| s.is_some())
                .map(|(n, _, _)| *n)
                .collect();
            return Err(parse_error(
                name,
                "top level",
                format!(
                    "a crawler list in Google's layout (used by Google, Bing and OpenAI) does not say whose it is: name it, as in --input googlebot={name} (known: {})",
                    known.join(", ")
                ),
            ));
        }
    };
    let mut r = Ranges::new();
    r.sources.push(SourceInfo {
        name: name.to_string(),
        format: String::from("google"),
        provider: provider.to_string(),
        sync_token: file.sync_token.as_deref().map(str::to_string),
        create_date: file.creation_time.as_deref().map(str::to_string),
    });
    for (i, item) in file.prefixes.iter().enumerate() {
        let (field, text, v6) = match (&item.ipv4_prefix, &item.ipv6_prefix) {
            (Some(p), None) => ("ipv4Prefix", p, false),
            (None, Some(p)) => ("ipv6Prefix", p, true),
            (None, None) => {
                return Err(parse_error(
                    name,
                    format!("prefixes[{i}]"),
                    "entry has neither ipv4Prefix nor ipv6Prefix",
                ))
            }
            (Some(_), Some(_)) => {
                return Err(parse_error(
                    name,
                    format!("prefixes[{i}]"),
                    "entry has both ipv4Prefix and ipv6Prefix: which one is meant is unclear",
                ))
            }
        };
        let at = || format!("prefixes[{i}].{field}");
        // Published files have been seen with spaces around a prefix: unambiguous.
        let net = parse_prefix(text.trim(), opts.host_bits, false)
            .map_err(|m| parse_error(name, at(), m))?;
        if matches!(net, IpNet::V6(_)) != v6 {
            let is = if v6 { "IPv4" } else { "IPv6" };
            return Err(parse_error(
                name,
                at(),
                format!(
                    "{} is an {is} prefix under {field}",
                    crate::error::quote(text)
                ),
            ));
        }
        r.push(
            net,
            Tags {
                provider,
                service: list_service.unwrap_or(&item.service),
                region: &item.scope,
                extra: "",
            },
        );
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLOUD: &[u8] = include_bytes!("../../../tests/data/google/cloud.json");
    const GOOG: &[u8] = include_bytes!("../../../tests/data/google/goog.json");
    const BOT: &[u8] = include_bytes!("../../../tests/data/google/googlebot.json");

    fn err(json: &str, label: Option<&str>) -> String {
        let l = label.map(|l| Label::new(l).unwrap());
        parse(json.as_bytes(), "g.json", l.as_ref(), Options::default())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn reads_cloud_json_with_service_and_scope() {
        let r = parse(CLOUD, "cloud.json", None, Options::default()).unwrap();
        assert_eq!(r.len(), 937);
        assert_eq!(r.sources[0].provider, "google");
        assert_eq!(r.sources[0].sync_token.as_deref(), Some("1778033048194"));
        assert_eq!(
            r.sources[0].create_date.as_deref(),
            Some("2026-05-05T19:04:08.194918")
        );
        let first = r.tags(&r.entries[0]);
        assert_eq!(r.entries[0].prefix.to_string(), "34.1.208.0/20");
        assert_eq!(
            (first.provider, first.service, first.region),
            ("google", "Google Cloud", "africa-south1")
        );
    }

    #[test]
    fn reads_goog_json_without_service() {
        let r = parse(GOOG, "goog.json", None, Options::default()).unwrap();
        assert_eq!(r.len(), 84);
        let t = r.tags(&r.entries[0]);
        assert_eq!((t.provider, t.service, t.region), ("google", "", ""));
    }

    #[test]
    fn a_crawler_list_needs_a_name() {
        let e = parse(BOT, "googlebot.json", None, Options::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("--input googlebot=googlebot.json"), "{e}");
        assert!(e.contains("bingbot"), "{e}");
        let l = Label::new("googlebot").unwrap();
        let r = parse(BOT, "googlebot.json", Some(&l), Options::default()).unwrap();
        assert_eq!(r.len(), 309);
        let t = r.tags(&r.entries[0]);
        assert_eq!((t.provider, t.service), ("google", "googlebot"));
        assert_eq!(r.sources[0].sync_token, None);
        // A name ipfence does not know is its own provider and service.
        let l = Label::new("applebot").unwrap();
        let r = parse(BOT, "x.json", Some(&l), Options::default()).unwrap();
        let t = r.tags(&r.entries[0]);
        assert_eq!((t.provider, t.service), ("applebot", "applebot"));
    }

    #[test]
    fn refuses_what_is_ambiguous() {
        let e = err(r#"{"syncToken":"1","prefixes":[{"service":"x"}]}"#, None);
        assert!(e.contains("prefixes[0]: entry has neither"), "{e}");
        let e = err(
            r#"{"syncToken":"1","prefixes":[{"ipv4Prefix":"1.0.0.0/8","ipv6Prefix":"::/0"}]}"#,
            None,
        );
        assert!(e.contains("both"), "{e}");
        let e = err(
            r#"{"syncToken":"1","prefixes":[{"ipv4Prefix":"2001:db8::/32"}]}"#,
            None,
        );
        assert!(e.contains("prefixes[0].ipv4Prefix"), "{e}");
        assert!(e.contains("IPv6 prefix under ipv4Prefix"), "{e}");
        let e = err(r#"{"syncToken":"1","prefixes":[]}"#, Some("googlebot"));
        assert!(e.contains("name it google"), "{e}");
        let e = err(
            r#"{"syncToken":"1","prefixes":[{"ipv4Prefix":"10.0.0.1/8"}]}"#,
            None,
        );
        assert!(e.contains("prefixes[0].ipv4Prefix"), "{e}");
    }

    #[test]
    fn accepts_spaces_around_a_prefix() {
        let r = parse(
            br#"{"syncToken":"1","prefixes":[{"ipv4Prefix":" 8.8.8.0/24 "}]}"#,
            "g",
            None,
            Options::default(),
        )
        .unwrap();
        assert_eq!(r.entries[0].prefix.to_string(), "8.8.8.0/24");
    }
}
