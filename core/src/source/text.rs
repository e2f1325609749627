//! Plain CIDR lists: one prefix or bare address per line (a bare address means `/32`
//! or `/128`), `#` comments (whole line or after the value), blank lines, CRLF, a
//! UTF-8 byte-order mark, no final newline (Cloudflare's `ips-v4` has none).

use alloc::format;
use alloc::string::ToString;

use super::{parse_error, too_many, Options};
use crate::prefix::parse_prefix;
use crate::{Error, Ranges, SourceInfo, Tags};

/// Parses a CIDR text list.
///
/// # Errors
/// [`Error::Parse`] at `line N, column C`: not UTF-8, a bad prefix (with its value),
/// too many entries.
pub fn parse(bytes: &[u8], name: &str, opts: Options) -> Result<Ranges, Error> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = core::str::from_utf8(bytes).map_err(|e| {
        let upto = bytes.get(..e.valid_up_to()).unwrap_or_default();
        let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
        parse_error(
            name,
            format!("line {line}"),
            "not UTF-8 text: expected one CIDR prefix per line",
        )
    })?;
    let mut r = Ranges::new();
    r.sources.push(SourceInfo {
        name: name.to_string(),
        format: "text".to_string(),
        provider: "text".to_string(),
        sync_token: None,
        create_date: None,
    });
    for (i, raw) in text.split('\n').enumerate() {
        let value = raw.split('#').next().unwrap_or("");
        let trimmed = value.trim();
        if trimmed.is_empty() {
            continue;
        }
        if r.len() >= opts.max_entries {
            return Err(too_many(name, opts.max_entries));
        }
        let column = value.len() - value.trim_start().len() + 1;
        let net = parse_prefix(trimmed, opts.host_bits, true)
            .map_err(|m| parse_error(name, format!("line {}, column {column}", i + 1), m))?;
        r.push(
            net,
            Tags {
                provider: "text",
                service: "",
                region: "",
                extra: "",
            },
        );
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec::Vec;

    fn cidrs(s: &[u8]) -> Vec<String> {
        parse(s, "list.txt", Options::default())
            .unwrap()
            .entries
            .iter()
            .map(|e| e.prefix.to_string())
            .collect()
    }

    #[test]
    fn lines_comments_crlf_bom_bare_addresses() {
        let got = cidrs(b"\xEF\xBB\xBF# header\r\n10.0.0.0/8 # private\r\n\r\n  192.0.2.1\t\n2001:db8::/32\n::1");
        assert_eq!(
            got,
            ["10.0.0.0/8", "192.0.2.1/32", "2001:db8::/32", "::1/128"]
        );
    }

    #[test]
    fn real_cloudflare_lists_parse() {
        assert_eq!(
            cidrs(include_bytes!("../../../tests/data/cloudflare/ips-v4")).len(),
            15
        );
        assert_eq!(
            cidrs(include_bytes!("../../../tests/data/cloudflare/ips-v6")).len(),
            7
        );
    }

    #[test]
    fn errors_give_line_and_column() {
        let e = parse(
            b"10.0.0.0/8\n\n   1.2.3.4/33\n",
            "list.txt",
            Options::default(),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("list.txt: line 3, column 4: \"1.2.3.4/33\""),
            "{e}"
        );
        let e = parse(b"10.0.0.0/8\n\xff\n", "list.txt", Options::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "list.txt: line 2: not UTF-8 text: expected one CIDR prefix per line"
        );
        let e = parse(
            b"1.1.1.1\n2.2.2.2\n",
            "l",
            Options {
                max_entries: 1,
                ..Options::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("more than 1 entries"));
        assert!(parse(b"", "l", Options::default()).unwrap().is_empty());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
            let _ = parse(s.as_bytes(), "fuzz", Options::default());
        }
    }
}
