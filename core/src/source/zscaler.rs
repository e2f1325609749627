//! Zscaler's hub prefixes for one Zscaler cloud,
//! <https://config.zscaler.com/api/zscaler.net/hubs/cidr/json/recommended> (also
//! `.../required`, and the same for the other clouds: `zscalerone.net`, `zscalertwo.net`,
//! `zscloud.net`, ...).
//!
//! ```text
//! {"cloudName":"zscaler.net","type":"recommended",
//!  "hubPrefixes":["8.25.203.0/24","64.74.126.64/26",...,"2400:7aa0:1815::/48",...]}
//! ```
//!
//! IPv4 and IPv6 prefixes share `hubPrefixes`. Entries are tagged provider `zscaler`,
//! service `hub` (the list is of Zscaler's hubs: the `hubs` of its URL), region empty,
//! extra the list's `type` (`recommended` or `required`). The cloud (`cloudName`) is
//! the same for every entry and is not a region: it goes in the source's name,
//! `FILE (cloud zscaler.net)`, so that `ipfence sources` shows which cloud was read. The
//! list has no version and no date.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::Deserialize;

use super::{json_error, parse_error, push_list, Options};
use crate::{Error, Ranges, SourceInfo, Tags};

const WHAT: &str = "Zscaler's hub prefix list";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct File<'a> {
    #[serde(borrow)]
    cloud_name: Cow<'a, str>,
    #[serde(borrow, default, rename = "type")]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    hub_prefixes: Vec<Cow<'a, str>>,
}

/// Parses a Zscaler hub prefix list.
///
/// # Errors
/// [`Error::Parse`] with the place (`hubPrefixes[3]`): not JSON, a missing or empty
/// `cloudName`, a missing `hubPrefixes`, a bad prefix, too many entries.
pub fn parse(bytes: &[u8], name: &str, opts: Options) -> Result<Ranges, Error> {
    let text = super::utf8(name, WHAT, bytes)?;
    let file: File<'_> = serde_json::from_str(text).map_err(|e| json_error(name, WHAT, &e))?;
    let cloud = file.cloud_name.trim();
    if cloud.is_empty() || cloud.chars().any(char::is_control) {
        return Err(parse_error(
            name,
            "cloudName",
            format!(
                "{} is not a Zscaler cloud name (such as zscaler.net)",
                crate::error::quote(&file.cloud_name)
            ),
        ));
    }
    let mut r = Ranges::new();
    r.sources.push(SourceInfo {
        name: format!("{name} (cloud {cloud})"),
        format: String::from("zscaler"),
        provider: String::from("zscaler"),
        sync_token: None,
        create_date: None,
    });
    let tags = Tags {
        provider: "zscaler",
        service: "hub",
        region: "",
        extra: file.kind.trim(),
    };
    push_list(
        &mut r,
        name,
        "hubPrefixes",
        &file.hub_prefixes,
        None,
        tags,
        opts,
    )?;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::check;
    use alloc::string::{String, ToString};

    const REAL: &[u8] = include_bytes!("../../../tests/data/zscaler/hub-cidr-recommended.json");

    fn err(json: &str) -> String {
        parse(json.as_bytes(), "z.json", Options::default())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn reads_the_real_list() {
        let r = parse(REAL, "hub.json", Options::default()).unwrap();
        let v6 = r
            .entries
            .iter()
            .filter(|e| e.prefix.addr().is_ipv6())
            .count();
        assert_eq!((r.len() - v6, v6), (29, 45));
        assert_eq!(r.entries[8].prefix.to_string(), "112.196.99.180/32");
        let t = r.tags(&r.entries[0]);
        assert_eq!(
            (t.provider, t.service, t.region, t.extra),
            ("zscaler", "hub", "", "recommended")
        );
        let s = &r.sources[0];
        assert_eq!(s.name, "hub.json (cloud zscaler.net)");
        assert_eq!(
            (s.format.as_str(), s.provider.as_str()),
            ("zscaler", "zscaler")
        );
        assert_eq!(
            (s.sync_token.as_deref(), s.create_date.as_deref()),
            (None, None)
        );
    }

    #[test]
    fn errors_name_their_place() {
        let e = err(
            r#"{"cloudName":"zscaler.net","type":"required","hubPrefixes":["8.8.8.0/24","8.8.8.8/24"]}"#,
        );
        assert!(
            e.starts_with("z.json: hubPrefixes[1]: \"8.8.8.8/24\""),
            "{e}"
        );
        let e = err(r#"{"cloudName":" ","hubPrefixes":[]}"#);
        assert!(
            e.starts_with("z.json: cloudName: \" \" is not a Zscaler cloud name"),
            "{e}"
        );
        let e = err(r#"{"type":"recommended","hubPrefixes":[]}"#);
        assert!(e.contains("missing field `cloudName`"), "{e}");
        let e = err(r#"{"cloudName":"zscaler.net","type":"recommended"}"#);
        assert!(e.contains("missing field `hubPrefixes`"), "{e}");
        let e = parse(
            REAL,
            "z",
            Options {
                max_entries: 73,
                ..Options::default()
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("more than 73 entries"), "{e}");
    }

    #[test]
    fn truncation_anywhere_is_an_error_not_a_panic() {
        // The real file has no final newline: every cut loses the closing brace.
        check::cuts_are_refused(|b, n| parse(b, n, Options::default()), REAL, 0..REAL.len());
        assert!(REAL.ends_with(b"]}"));
    }

    proptest::proptest! {
        #[test]
        fn damaged_real_file_never_panics(
            at in 0usize..1567,
            with in proptest::prelude::any::<u8>(),
            delete in proptest::prelude::any::<bool>(),
        ) {
            check::damaged_is_safe(|b, n| parse(b, n, Options::default()), REAL, at, with, delete);
        }
    }
}
