//! A minimal JSON writer for the results handed to JavaScript.
//!
//! Results cross into JS as one string that JS parses with `JSON.parse`: one boundary
//! crossing per call instead of one per property, and no serde in the `.wasm`.

use std::fmt::Write;

/// Appends `s` as a JSON string literal (RFC 8259 §7: quote, backslash and control
/// characters escaped).
pub fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `s` as a JSON string, or `null` for `None`.
pub fn opt_string(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => string(out, s),
        None => out.push_str("null"),
    }
}

/// Appends `"key":` (the key is one of ours: plain ASCII, no escaping needed).
pub fn key(out: &mut String, k: &str) {
    out.push('"');
    out.push_str(k);
    out.push_str("\":");
}

/// Appends a JSON array of strings.
pub fn strings<'a>(out: &mut String, items: impl IntoIterator<Item = &'a str>) {
    out.push('[');
    for (i, s) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(out, s);
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> String {
        let mut out = String::new();
        string(&mut out, s);
        out
    }

    #[test]
    fn escapes_quotes_backslashes_and_controls() {
        assert_eq!(lit("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(lit("x\ny\u{1}"), r#""x\ny\u0001""#);
        assert_eq!(lit("été ✓"), "\"été ✓\"");
    }

    #[test]
    fn arrays_and_null() {
        let mut out = String::new();
        strings(&mut out, ["a", "b"]);
        out.push(',');
        opt_string(&mut out, None);
        assert_eq!(out, r#"["a","b"],null"#);
    }
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    proptest! {
        /// Whatever the text, serde_json reads back exactly what we wrote.
        #[test]
        fn string_round_trips_through_a_json_parser(s in any::<String>()) {
            let mut out = String::new();
            super::string(&mut out, &s);
            let back: String = serde_json::from_str(&out).unwrap();
            prop_assert_eq!(back, s);
        }
    }
}
