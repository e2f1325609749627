//! The CloudFront list (`list-cloudfront-ips`): `CLOUDFRONT_GLOBAL_IP_LIST` and
//! `CLOUDFRONT_REGIONAL_EDGE_IP_LIST`. Edge-optimized API Gateway endpoints need both, so
//! both are kept, each as a service of region `GLOBAL`.

use alloc::borrow::Cow;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::ToString;
use alloc::vec::Vec;

use super::{json_error, parse_error, too_many, Options};
use crate::prefix::parse_prefix;
use crate::{Error, Ranges, SourceInfo, Tags};

/// Parses the CloudFront list. Every key holding an array of prefixes is kept as a
/// service named after the key.
///
/// # Errors
/// [`Error::Parse`]: not JSON, not an object of string arrays, no list at all, a bad
/// prefix (`CLOUDFRONT_GLOBAL_IP_LIST[3]: "..." ...`), too many entries.
pub fn parse(bytes: &[u8], name: &str, opts: Options) -> Result<Ranges, Error> {
    let what = "the CloudFront list";
    let lists: BTreeMap<Cow<'_, str>, Vec<Cow<'_, str>>> =
        serde_json::from_str(super::utf8(name, what, bytes)?)
            .map_err(|e| json_error(name, what, &e))?;
    if lists.is_empty() {
        return Err(parse_error(
            name,
            "top level",
            "no lists: expected CLOUDFRONT_GLOBAL_IP_LIST and CLOUDFRONT_REGIONAL_EDGE_IP_LIST",
        ));
    }
    if lists
        .values()
        .map(Vec::len)
        .fold(0usize, usize::saturating_add)
        > opts.max_entries
    {
        return Err(too_many(name, opts.max_entries));
    }
    let mut r = Ranges::new();
    r.sources.push(SourceInfo {
        name: name.to_string(),
        format: "cloudfront".to_string(),
        provider: "aws".to_string(),
        sync_token: None,
        create_date: None,
    });
    for (service, list) in &lists {
        for (i, p) in list.iter().enumerate() {
            let net = parse_prefix(p, opts.host_bits, false)
                .map_err(|m| parse_error(name, format!("{service}[{i}]"), m))?;
            r.push(
                net,
                Tags {
                    provider: "aws",
                    service,
                    region: "GLOBAL",
                    extra: "",
                },
            );
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_list_parses_both_lists() {
        let bytes = include_bytes!("../../../tests/data/cloudfront/list-cloudfront-ips.json");
        let r = parse(bytes, "cf.json", Options::default()).unwrap();
        let count = |s: &str| r.entries.iter().filter(|e| r.tags(e).service == s).count();
        assert_eq!(count("CLOUDFRONT_GLOBAL_IP_LIST"), 82);
        assert_eq!(count("CLOUDFRONT_REGIONAL_EDGE_IP_LIST"), 49);
        assert_eq!(r.sources[0].format, "cloudfront");
    }

    #[test]
    fn errors_name_the_list_and_index() {
        let e = parse(
            br#"{"CLOUDFRONT_GLOBAL_IP_LIST": ["13.32.0.0/15", "13.32.0.1/15"]}"#,
            "cf",
            Options::default(),
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with(
                "cf: CLOUDFRONT_GLOBAL_IP_LIST[1]: \"13.32.0.1/15\" has host bits set"
            ),
            "{e}"
        );
        let e = parse(
            br#"{"CLOUDFRONT_GLOBAL_IP_LIST": "13.32.0.0/15"}"#,
            "cf",
            Options::default(),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("not the shape of the CloudFront list"),
            "{e}"
        );
        let e = parse(b"{}", "cf", Options::default()).unwrap_err();
        assert!(e.to_string().contains("no lists"), "{e}");
    }
}
