//! RFC 8805 self-published IP geolocation feeds ("geofeeds"), as DigitalOcean
//! (<https://digitalocean.com/geo/google.csv>) and Linode
//! (<https://geoip.linode.com/>) publish theirs: <https://www.rfc-editor.org/rfc/rfc8805>.
//!
//! ```text
//! # Last modified: 2024-12-19 10:00:06.051828
//! # ip_prefix, alpha2code, region, city, postal_code
//! 5.101.96.0/21,NL,NL-NH,Amsterdam,1098 XH
//! 2600:3c00::/32,US,US-TX,Richardson,
//! ```
//!
//! One entry per line: a prefix or a bare address, then optionally an ISO 3166-1 country
//! code, an ISO 3166-2 region code, a city and a postal code (deprecated by the RFC,
//! and not kept); fields may be empty or left off at the end. Lines starting with `#`
//! are comments; blank lines, CRLF, a UTF-8 byte-order mark and spaces around a field
//! are accepted.
//!
//! A geofeed does not say whose it is: the user names it ([`Label`]: `--input
//! digitalocean=google.csv`), and unnamed its provider is `geofeed`. Tags: region = the
//! region code (`NL-NH`), or the country code when the region is empty; extra = the
//! city. A leading comment `# Last modified: ...` (Linode's) is kept verbatim as the
//! publication time; there is no version.
//!
//! RFC 8805 leaves a consumer free to discard entries it cannot use; an allowlist must
//! not lose prefixes silently, so every malformed line is an error naming its line and
//! column: a bad prefix, more than five fields (a city cannot hold a comma), a country
//! code that is not two letters, a region code not of the form `CC-XXX` or of another
//! country than the line's.

use alloc::format;
use alloc::string::{String, ToString};

use super::{parse_error, too_many, Label, Options};
use crate::prefix::{parse_prefix, HostBits};
use crate::{Error, Ranges, SourceInfo, Tags};

/// The lines of the text without the byte-order mark, with their numbers (from 1).
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.trim_start_matches('\u{feff}')
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
}

/// Whether the first line that is neither blank nor a comment is a prefix followed by a
/// comma: a geofeed, not CIDR text (which has no comma) nor JSON.
pub(crate) fn sniff(head: &str) -> bool {
    lines(head)
        .map(|(_, l)| l.trim())
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .and_then(|l| l.split_once(','))
        .is_some_and(|(p, _)| parse_prefix(p.trim(), HostBits::Mask, true).is_ok())
}

/// Parses an RFC 8805 geofeed; `label` names its provider (else `geofeed`).
///
/// # Errors
/// [`Error::Parse`] at `line N, column C` for any malformed line (see the module docs),
/// not UTF-8, too many entries.
pub fn parse(
    bytes: &[u8],
    name: &str,
    label: Option<&Label<'_>>,
    opts: Options,
) -> Result<Ranges, Error> {
    let text = core::str::from_utf8(bytes).map_err(|e| {
        let upto = bytes.get(..e.valid_up_to()).unwrap_or_default();
        let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
        parse_error(
            name,
            format!("line {line}"),
            "not UTF-8 text: expected an RFC 8805 geofeed (prefix,country,region,city,postal code)",
        )
    })?;
    let provider = label.map_or("geofeed", |l| l.provider);
    let service = label.and_then(|l| l.service).unwrap_or("");
    let mut r = Ranges::new();
    let mut create_date = None;
    let mut seen_entry = false;
    for (n, line) in lines(text) {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            if !seen_entry && create_date.is_none() {
                create_date = last_modified(comment);
            }
            continue;
        }
        seen_entry = true;
        if r.len() >= opts.max_entries {
            return Err(too_many(name, opts.max_entries));
        }
        // Each field with its column (from 1, at its first non-space character).
        let mut fields = [("", 0usize); 5];
        let mut start = 0;
        for (k, raw) in line.split(',').enumerate() {
            let column = start + raw.len() - raw.trim_start().len() + 1;
            start += raw.len() + 1;
            let Some(slot) = fields.get_mut(k) else {
                return Err(parse_error(
                    name,
                    format!("line {n}, column {column}"),
                    "more than five fields: a geofeed line is prefix,country,region,city,postal code (a city cannot hold a comma)",
                ));
            };
            *slot = (raw.trim(), column);
        }
        let at = |(_, column): (&str, usize)| format!("line {n}, column {column}");
        let [prefix, country, region, city, _postal] = fields;
        let net = parse_prefix(prefix.0, opts.host_bits, true)
            .map_err(|m| parse_error(name, at(prefix), m))?;
        let q = crate::error::quote;
        let cc = country.0;
        let two_letters = cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_alphabetic());
        if !cc.is_empty() && !two_letters {
            return Err(parse_error(
                name,
                at(country),
                format!(
                    "{} is not a two-letter country code (ISO 3166-1 alpha-2, such as NL)",
                    q(cc)
                ),
            ));
        }
        let rc = region.0;
        if !rc.is_empty() {
            let shape = rc.split_once('-').is_some_and(|(c, s)| {
                c.len() == 2
                    && c.bytes().all(|b| b.is_ascii_alphabetic())
                    && (1..=3).contains(&s.len())
                    && s.bytes().all(|b| b.is_ascii_alphanumeric())
            });
            if !shape {
                return Err(parse_error(
                    name,
                    at(region),
                    format!("{} is not a region code (ISO 3166-2, such as NL-NH)", q(rc)),
                ));
            }
            let of = rc.get(..2).unwrap_or_default();
            if !cc.is_empty() && !of.eq_ignore_ascii_case(cc) {
                return Err(parse_error(
                    name,
                    at(region),
                    format!("region {} is not in the line's country {}", q(rc), q(cc)),
                ));
            }
        }
        r.push(
            net,
            Tags {
                provider,
                service,
                region: if rc.is_empty() { cc } else { rc },
                extra: city.0,
            },
        );
    }
    r.sources.push(SourceInfo {
        name: name.to_string(),
        format: String::from("geofeed"),
        provider: provider.to_string(),
        sync_token: None,
        create_date,
    });
    Ok(r)
}

/// The date of a `# Last modified: ...` comment, verbatim.
fn last_modified(comment: &str) -> Option<String> {
    let c = comment.trim();
    let key = "last modified:";
    let head = c.get(..key.len())?;
    if !head.eq_ignore_ascii_case(key) {
        return None;
    }
    let date = c.get(key.len()..)?.trim();
    (!date.is_empty()).then(|| date.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    const DO: &[u8] = include_bytes!("../../../tests/data/digitalocean/google.csv");
    const LINODE: &[u8] = include_bytes!("../../../tests/data/linode/geofeed.csv");

    fn err(text: &str) -> String {
        parse(text.as_bytes(), "g.csv", None, Options::default())
            .unwrap_err()
            .to_string()
    }

    fn families(r: &Ranges) -> (usize, usize) {
        let v6 = r
            .entries
            .iter()
            .filter(|e| e.prefix.addr().is_ipv6())
            .count();
        (r.len() - v6, v6)
    }

    #[test]
    fn reads_digitalocean() {
        let l = Label::new("digitalocean").unwrap();
        let r = parse(DO, "google.csv", Some(&l), Options::default()).unwrap();
        assert_eq!(families(&r), (1006, 144));
        assert_eq!(r.entries[0].prefix.to_string(), "5.101.96.0/21");
        let t = r.tags(&r.entries[0]);
        assert_eq!(
            (t.provider, t.service, t.region, t.extra),
            ("digitalocean", "", "NL-NH", "Amsterdam")
        );
        let s = &r.sources[0];
        assert_eq!(
            (s.format.as_str(), s.provider.as_str()),
            ("geofeed", "digitalocean")
        );
        assert_eq!(
            (s.sync_token.as_deref(), s.create_date.as_deref()),
            (None, None)
        );
    }

    #[test]
    fn reads_linode_with_its_comment_header() {
        let r = parse(LINODE, "geofeed.csv", None, Options::default()).unwrap();
        assert_eq!(families(&r), (3959, 82));
        let t = r.tags(&r.entries[0]);
        assert_eq!(r.entries[0].prefix.to_string(), "2600:3c00::/32");
        assert_eq!(
            (t.provider, t.service, t.region, t.extra),
            ("geofeed", "", "US-TX", "Richardson")
        );
        let s = &r.sources[0];
        assert_eq!(s.provider, "geofeed");
        assert_eq!(s.create_date.as_deref(), Some("2024-12-19 10:00:06.051828"));
    }

    #[test]
    fn fields_may_be_empty_or_left_off() {
        let text = b"\xEF\xBB\xBF# feed\r\n\r\n192.0.2.0/24,US,,Springfield,\r\n 198.51.100.1 , nl , nl-nh \r\n2001:db8::/32\n203.0.113.0/24,,,,";
        let r = parse(text, "g", None, Options::default()).unwrap();
        let got: Vec<_> = r
            .entries
            .iter()
            .map(|e| {
                let t = r.tags(e);
                (e.prefix.to_string(), t.region, t.extra)
            })
            .collect();
        assert_eq!(
            got,
            [
                ("192.0.2.0/24".to_string(), "US", "Springfield"),
                ("198.51.100.1/32".to_string(), "nl-nh", ""),
                ("2001:db8::/32".to_string(), "", ""),
                ("203.0.113.0/24".to_string(), "", ""),
            ]
        );
        // A comment after the first entry is not the feed's date.
        let r = parse(
            b"10.0.0.0/8,US\n# Last modified: x\n",
            "g",
            None,
            Options::default(),
        )
        .unwrap();
        assert_eq!(r.sources[0].create_date, None);
    }

    #[test]
    fn malformed_lines_are_errors_with_line_and_column() {
        let e = err("# x\n10.0.0.0/8,US\n  10.0.0.1/8,US\n");
        assert!(
            e.starts_with("g.csv: line 3, column 3: \"10.0.0.1/8\""),
            "{e}"
        );
        let e = err("10.0.0.0/8,USA,US-CA\n");
        assert_eq!(
            e,
            "g.csv: line 1, column 12: \"USA\" is not a two-letter country code (ISO 3166-1 alpha-2, such as NL)"
        );
        let e = err("10.0.0.0/8,US,California\n");
        assert!(
            e.starts_with("g.csv: line 1, column 15: \"California\" is not a region code"),
            "{e}"
        );
        let e = err("10.0.0.0/8,US,NL-NH\n");
        assert!(
            e.contains("column 15: region \"NL-NH\" is not in the line's country \"US\""),
            "{e}"
        );
        let e = err("10.0.0.0/8,US,US-DC,Washington, D.C.,20001\n");
        assert!(
            e.starts_with("g.csv: line 1, column 38: more than five fields"),
            "{e}"
        );
        let e = parse(b"10.0.0.0/8,US\n\xff\n", "g.csv", None, Options::default()).unwrap_err();
        assert!(e.to_string().starts_with("g.csv: line 2: not UTF-8"), "{e}");
        let e = parse(
            b"10.0.0.0/8\n11.0.0.0/8\n",
            "g",
            None,
            Options {
                max_entries: 1,
                ..Options::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("more than 1 entries"), "{e}");
    }

    #[test]
    fn sniffs_the_first_data_line() {
        assert!(sniff("5.101.96.0/21,NL,NL-NH,Amsterdam,"));
        assert!(sniff(
            "\u{feff}# c\r\n\r\n2600:3c00::/32,US,US-TX,Richardson,\r\n"
        ));
        assert!(sniff("192.0.2.1,US"));
        assert!(!sniff("10.0.0.0/8\n5.101.96.0/21,NL\n"));
        assert!(!sniff("# a, b\n10.0.0.0/8 # x, y\n"));
        assert!(!sniff("{\"addresses\": [\"1.2.3.0/24\", \"x\"]}"));
        assert!(!sniff("prefix,country\n"));
        assert!(!sniff(""));
    }

    #[test]
    fn truncation_anywhere_reads_a_prefix_of_the_lines_or_fails() {
        // A geofeed has no end marker: a cut file reads its whole lines and the cut one
        // if it still parses (as CIDR text does); never a panic, never a prefix that
        // is not in the file's lines.
        let full = parse(DO, "g", None, Options::default()).unwrap();
        for cut in (0..DO.len()).step_by(211) {
            if let Ok(r) = parse(&DO[..cut], "g", None, Options::default()) {
                let whole = DO[..cut].iter().filter(|&&b| b == b'\n').count();
                assert!(r.len() >= whole && r.len() <= whole + 1, "{cut}");
                for (a, b) in r.entries.iter().zip(&full.entries).take(whole) {
                    assert_eq!(a.prefix, b.prefix);
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn damaged_real_file_never_panics(
            at in 0usize..4000,
            with in proptest::prelude::any::<u8>(),
        ) {
            let mut bytes = LINODE[..4000].to_vec();
            bytes[at] = with;
            if let Ok(r) = parse(&bytes, "x", None, Options::default()) {
                for e in &r.entries {
                    proptest::prop_assert_eq!(e.prefix, e.prefix.trunc());
                }
            }
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
            let _ = parse(s.as_bytes(), "fuzz", None, Options::default());
            let _ = sniff(&s);
        }
    }
}
