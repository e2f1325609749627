//! Cloudflare's IP list as its API answers it, <https://api.cloudflare.com/client/v4/ips>.
//! (The text lists <https://www.cloudflare.com/ips-v4> and `ips-v6` are plain CIDR text,
//! read by [`text`](super::text); name them `cloudflare` to give them the provider.)
//!
//! ```text
//! {"result": {"ipv4_cidrs": ["173.245.48.0/20", ...], "ipv6_cidrs": ["2400:cb00::/32", ...],
//!             "etag": "38f79d050aa027e3be3865e495dcc9bc"},
//!  "success": true, "errors": [], "messages": []}
//! ```
//!
//! Every entry is tagged provider `cloudflare` and nothing else, except the China
//! network's list (`jdcloud_cidrs`, present when asked for with `?networks=jdcloud`),
//! whose entries get service `jdcloud` so that they are never mistaken for the global
//! edge.
//!
//! The `etag` is a content hash, not a version: it does not grow with each release, so it
//! is not kept as the source's `sync_token` (which sync compares as a number to refuse
//! replays). The source has neither version nor date.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde::Deserialize;

use super::{json_error, parse_error, push_list, Options};
use crate::{Error, Ranges, SourceInfo, Tags};

const WHAT: &str = "Cloudflare's API answer (client/v4/ips)";

#[derive(Deserialize)]
struct File<'a> {
    #[serde(borrow, default)]
    result: Option<Lists<'a>>,
    success: bool,
    #[serde(borrow, default)]
    errors: Vec<Message<'a>>,
}

#[derive(Deserialize)]
struct Lists<'a> {
    #[serde(borrow)]
    ipv4_cidrs: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    ipv6_cidrs: Vec<Cow<'a, str>>,
    #[serde(borrow, default)]
    jdcloud_cidrs: Vec<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(default)]
    code: Option<i64>,
    #[serde(borrow, default)]
    message: Cow<'a, str>,
}

/// Parses the Cloudflare API's answer.
///
/// # Errors
/// [`Error::Parse`] with the place (`result.ipv4_cidrs[3]`): not JSON, an answer that
/// reports failure (`success: false` or any `errors`, with the API's own messages), a
/// missing list, a bad prefix, a prefix of the other family, too many entries.
pub fn parse(bytes: &[u8], name: &str, opts: Options) -> Result<Ranges, Error> {
    let text = super::utf8(name, WHAT, bytes)?;
    let file: File<'_> = serde_json::from_str(text).map_err(|e| json_error(name, WHAT, &e))?;
    if !file.success || !file.errors.is_empty() {
        let said: Vec<String> = file
            .errors
            .iter()
            .map(|m| match m.code {
                Some(c) => format!("{c}: {}", m.message),
                None => m.message.to_string(),
            })
            .collect();
        let said = if said.is_empty() {
            String::from("success is false, with no message")
        } else {
            said.join("; ")
        };
        return Err(parse_error(
            name,
            if file.errors.is_empty() {
                "success"
            } else {
                "errors"
            },
            format!("the Cloudflare API answered with an error, not the list: {said}"),
        ));
    }
    let Some(lists) = file.result else {
        return Err(parse_error(
            name,
            "result",
            "the answer says success but has no result: expected result.ipv4_cidrs and result.ipv6_cidrs",
        ));
    };
    let mut r = Ranges::new();
    r.sources.push(SourceInfo {
        name: name.to_string(),
        format: String::from("cloudflare"),
        provider: String::from("cloudflare"),
        sync_token: None,
        create_date: None,
    });
    let tags = Tags {
        provider: "cloudflare",
        service: "",
        region: "",
        extra: "",
    };
    let all = [
        ("result.ipv4_cidrs", &lists.ipv4_cidrs, Some(false), ""),
        ("result.ipv6_cidrs", &lists.ipv6_cidrs, Some(true), ""),
        (
            "result.jdcloud_cidrs",
            &lists.jdcloud_cidrs,
            None,
            "jdcloud",
        ),
    ];
    for (path, items, v6, service) in all {
        push_list(
            &mut r,
            name,
            path,
            items,
            v6,
            Tags { service, ..tags },
            opts,
        )?;
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::check;
    use alloc::string::String;

    const REAL: &[u8] = include_bytes!("../../../tests/data/cloudflare/api-ips.json");

    fn err(json: &str) -> String {
        parse(json.as_bytes(), "c.json", Options::default())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn reads_the_real_answer() {
        let r = parse(REAL, "api-ips.json", Options::default()).unwrap();
        let v6 = r
            .entries
            .iter()
            .filter(|e| e.prefix.addr().is_ipv6())
            .count();
        assert_eq!((r.len() - v6, v6), (15, 7));
        assert_eq!(r.entries[0].prefix.to_string(), "173.245.48.0/20");
        let t = r.tags(&r.entries[21]);
        assert_eq!(r.entries[21].prefix.to_string(), "2c0f:f248::/32");
        assert_eq!(
            (t.provider, t.service, t.region, t.extra),
            ("cloudflare", "", "", "")
        );
        let s = &r.sources[0];
        assert_eq!(
            (s.format.as_str(), s.provider.as_str()),
            ("cloudflare", "cloudflare")
        );
        // The etag is a hash, not a version that sync could compare.
        assert_eq!(
            (s.sync_token.as_deref(), s.create_date.as_deref()),
            (None, None)
        );
    }

    #[test]
    fn an_error_answer_is_an_error_with_the_apis_message() {
        let e = err(
            r#"{"result":null,"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[]}"#,
        );
        assert_eq!(
            e,
            "c.json: errors: the Cloudflare API answered with an error, not the list: 10000: Authentication error"
        );
        let e = err(r#"{"success":false,"errors":[],"messages":[]}"#);
        assert!(e.contains("c.json: success: "), "{e}");
        assert!(e.contains("success is false, with no message"), "{e}");
        // Errors with success true (and a result) still refuse: the answer is in doubt.
        let e = err(
            r#"{"result":{"ipv4_cidrs":[],"ipv6_cidrs":[]},"success":true,"errors":[{"message":"partial"}]}"#,
        );
        assert!(e.ends_with("not the list: partial"), "{e}");
        let e = err(r#"{"success":true,"errors":[]}"#);
        assert!(e.starts_with("c.json: result: "), "{e}");
    }

    #[test]
    fn errors_name_their_place() {
        let e = err(
            r#"{"result":{"ipv4_cidrs":["1.2.3.0/24","1.2.3.4/24"],"ipv6_cidrs":[]},"success":true}"#,
        );
        assert!(
            e.starts_with("c.json: result.ipv4_cidrs[1]: \"1.2.3.4/24\""),
            "{e}"
        );
        let e = err(r#"{"result":{"ipv4_cidrs":[],"ipv6_cidrs":["1.2.3.0/24"]},"success":true}"#);
        assert!(
            e.contains("result.ipv6_cidrs[0]: \"1.2.3.0/24\" is an IPv4 prefix in the IPv6 list"),
            "{e}"
        );
        let e = err(r#"{"result":{"ipv4_cidrs":[]},"success":true}"#);
        assert!(e.contains("missing field `ipv6_cidrs`"), "{e}");
        let e = err(r#"{"result":{"ipv4_cidrs":[],"ipv6_cidrs":[]}}"#);
        assert!(e.contains("missing field `success`"), "{e}");
    }

    #[test]
    fn the_china_network_is_its_own_service() {
        let r = parse(
            br#"{"result":{"ipv4_cidrs":["1.1.1.0/24"],"ipv6_cidrs":[],"jdcloud_cidrs":["116.196.89.0/24","2402:db40:5100::/48"]},"success":true,"errors":[]}"#,
            "c",
            Options::default(),
        )
        .unwrap();
        let services: Vec<&str> = r.entries.iter().map(|e| r.tags(e).service).collect();
        assert_eq!(services, ["", "jdcloud", "jdcloud"]);
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
            at in 0usize..870,
            with in proptest::prelude::any::<u8>(),
            delete in proptest::prelude::any::<bool>(),
        ) {
            check::damaged_is_safe(|b, n| parse(b, n, Options::default()), REAL, at, with, delete);
        }
    }
}
