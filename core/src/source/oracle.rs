//! Oracle Cloud `public_ip_ranges.json`:
//! <https://docs.oracle.com/en-us/iaas/tools/public_ip_ranges.json>, described at
//! <https://docs.oracle.com/en-us/iaas/Content/General/Concepts/addressranges.htm>.
//!
//! ```text
//! {"last_updated_timestamp": "2025-07-31T18:18:01.103975",
//!  "regions": [{"region": "us-ashburn-1",
//!               "cidrs": [{"cidr": "129.80.0.0/16", "tags": ["OCI"]},
//!                         {"cidr": "134.70.24.0/21", "tags": ["OSN", "OBJECT_STORAGE"]}]},
//!              ...]}
//! ```
//!
//! Tags: provider `oracle`, service = each of the prefix's `tags` (`OCI`, `OSN`,
//! `OBJECT_STORAGE`: a prefix with two tags gives two entries, one with none an entry
//! without service), region = `region`. The date is `last_updated_timestamp`, verbatim;
//! there is no version stamp.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde::Deserialize;

use super::{json_error, parse_error, too_many, Options, Str};
use crate::prefix::parse_prefix;
use crate::{Error, Ranges, SourceInfo, Tags};

const WHAT: &str = "Oracle Cloud public_ip_ranges.json";

#[derive(Deserialize)]
struct File<'a> {
    #[serde(borrow, default)]
    last_updated_timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    regions: Vec<Region<'a>>,
}

#[derive(Deserialize)]
struct Region<'a> {
    #[serde(borrow)]
    region: Cow<'a, str>,
    #[serde(borrow)]
    cidrs: Vec<Cidr<'a>>,
}

#[derive(Deserialize)]
struct Cidr<'a> {
    #[serde(borrow)]
    cidr: Cow<'a, str>,
    #[serde(borrow, default)]
    tags: Vec<Str<'a>>,
}

/// Parses Oracle Cloud's `public_ip_ranges.json`.
///
/// # Errors
/// [`Error::Parse`] with the place (`regions[3].cidrs[7].cidr`): not JSON, a missing
/// `regions`, `region`, `cidrs` or `cidr`, a bad prefix, too many entries.
pub fn parse(bytes: &[u8], name: &str, opts: Options) -> Result<Ranges, Error> {
    let text = super::utf8(name, WHAT, bytes)?;
    let file: File<'_> = serde_json::from_str(text).map_err(|e| json_error(name, WHAT, &e))?;
    let mut r = Ranges::new();
    r.sources.push(SourceInfo {
        name: name.to_string(),
        format: String::from("oracle"),
        provider: String::from("oracle"),
        sync_token: None,
        create_date: file.last_updated_timestamp.map(Cow::into_owned),
    });
    for (i, region) in file.regions.iter().enumerate() {
        for (j, c) in region.cidrs.iter().enumerate() {
            let net = parse_prefix(c.cidr.trim(), opts.host_bits, false)
                .map_err(|m| parse_error(name, format!("regions[{i}].cidrs[{j}].cidr"), m))?;
            let untagged = [Str(Cow::Borrowed(""))];
            let services = if c.tags.is_empty() {
                &untagged[..]
            } else {
                &c.tags[..]
            };
            for Str(service) in services {
                if r.len() >= opts.max_entries {
                    return Err(too_many(name, opts.max_entries));
                }
                r.push(
                    net,
                    Tags {
                        provider: "oracle",
                        service,
                        region: &region.region,
                        extra: "",
                    },
                );
            }
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::check;

    const REAL: &[u8] = include_bytes!("../../../tests/data/oracle/public_ip_ranges.json");

    fn read(json: &str) -> Result<Ranges, String> {
        parse(json.as_bytes(), "o.json", Options::default()).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_the_real_file() {
        let r = parse(REAL, "public_ip_ranges.json", Options::default()).unwrap();
        // 972 prefixes, 50 of them with two tags.
        assert_eq!(r.len(), 1_022);
        let s = &r.sources[0];
        assert_eq!(
            (s.provider.as_str(), s.format.as_str()),
            ("oracle", "oracle")
        );
        assert_eq!(s.sync_token, None);
        assert_eq!(s.create_date.as_deref(), Some("2025-07-31T18:18:01.103975"));
        let mut unique: Vec<_> = r.entries.iter().map(|e| e.prefix).collect();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 972);
        assert!(unique.iter().all(|p| matches!(p, ipnet::IpNet::V4(_))));
        let count = |svc: &str| {
            r.entries
                .iter()
                .filter(|e| r.tags(e).service == svc)
                .count()
        };
        assert_eq!(
            (count("OCI"), count("OSN"), count("OBJECT_STORAGE")),
            (503, 469, 50)
        );
        let regions: hashbrown::HashSet<&str> =
            r.entries.iter().map(|e| r.tags(e).region).collect();
        assert_eq!(regions.len(), 48);
        let t = r.tags(&r.entries[0]);
        assert_eq!(r.entries[0].prefix.to_string(), "129.80.0.0/16");
        assert_eq!(
            (t.provider, t.service, t.region),
            ("oracle", "OCI", "us-ashburn-1")
        );
    }

    #[test]
    fn one_entry_per_tag_and_one_without() {
        let r = read(
            r#"{"regions":[{"region":"r","cidrs":[{"cidr":" 1.0.0.0/8","tags":["A","B"]},{"cidr":"2.0.0.0/8","tags":[]}]}]}"#,
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
                ("1.0.0.0/8".to_string(), "A"),
                ("1.0.0.0/8".to_string(), "B"),
                ("2.0.0.0/8".to_string(), "")
            ]
        );
        assert_eq!(r.sources[0].create_date, None);
    }

    #[test]
    fn refuses_with_the_place() {
        let e = read(
            r#"{"regions":[{"region":"r","cidrs":[{"cidr":"1.0.0.0/8"}]},{"region":"s","cidrs":[{"cidr":"1.0.0.0/8"},{"cidr":"10.0.0.1/8"}]}]}"#,
        )
        .unwrap_err();
        assert!(e.starts_with("o.json: regions[1].cidrs[1].cidr: "), "{e}");
        assert!(e.contains("10.0.0.1/8"), "{e}");
        let e = read(r#"{"regions":[{"cidrs":[]}]}"#).unwrap_err();
        assert!(e.contains("missing field `region`"), "{e}");
        let e = read(r#"{"last_updated_timestamp":"x"}"#).unwrap_err();
        assert!(e.contains("missing field `regions`"), "{e}");
        let e = parse(
            br#"{"regions":[{"region":"r","cidrs":[{"cidr":"1.0.0.0/8","tags":["A","B"]}]}]}"#,
            "o.json",
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
    fn truncation_anywhere_is_an_error_not_a_panic() {
        check::cuts_are_refused(
            |b, n| parse(b, n, Options::default()),
            REAL,
            (0..REAL.len()).step_by(41),
        );
    }

    proptest::proptest! {
        #[test]
        fn damaged_files_never_panic(
            at in 0usize..4000,
            with in proptest::sample::select(check::DAMAGE),
            delete in proptest::prelude::any::<bool>(),
        ) {
            check::damaged_is_safe(|b, n| parse(b, n, Options::default()), REAL, at, with, delete);
        }
    }
}
