//! The AWS payloads' JSON, written directly: byte for byte what `serde_json`'s
//! `to_string_pretty` wrote for them (two-space indent, `"key": value`, `[]` and `{}`
//! when empty, its string escapes), without serde's generic serializers, which were most
//! of the exporters' share of the WebAssembly package (docs/performance.md, "WebAssembly").

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{Display, Write};

/// A pretty-printed JSON document being written; members and elements in call order.
pub(crate) struct Pretty {
    out: String,
    /// One per open container: whether it has a member yet.
    open: Vec<bool>,
}

impl Pretty {
    pub(crate) fn new() -> Pretty {
        Pretty {
            out: String::new(),
            open: Vec::new(),
        }
    }

    /// The text, with a final newline.
    pub(crate) fn finish(mut self) -> String {
        self.out.push('\n');
        self.out
    }

    /// A new line indented to the current depth.
    fn newline(&mut self) {
        self.out.push('\n');
        for _ in 0..self.open.len() {
            self.out.push_str("  ");
        }
    }

    /// Before a member of the current container: the comma, a new line and the indent.
    fn next(&mut self) {
        if let Some(has) = self.open.last_mut() {
            if *has {
                self.out.push(',');
            }
            *has = true;
            self.newline();
        }
    }

    /// Starts an array or object (`'['` or `'{'`) as a value.
    pub(crate) fn open(&mut self, bracket: char) {
        self.out.push(bracket);
        self.open.push(false);
    }

    /// Ends the innermost container with `bracket` (`]` or `}`).
    pub(crate) fn close(&mut self, bracket: char) {
        if self.open.pop() == Some(true) {
            self.newline();
        }
        self.out.push(bracket);
    }

    /// An object member's key (`"key": `); its value follows.
    pub(crate) fn key(&mut self, key: &str) {
        self.next();
        string(&mut self.out, key);
        self.out.push_str(": ");
    }

    /// Before an array element.
    pub(crate) fn item(&mut self) {
        self.next();
    }

    /// A string value.
    pub(crate) fn str(&mut self, s: &str) {
        string(&mut self.out, s);
    }

    /// A value's text in quotes (addresses and prefixes: nothing to escape).
    pub(crate) fn display(&mut self, v: impl Display) {
        let _ = write!(self.out, "\"{v}\"");
    }

    /// A whole number.
    pub(crate) fn num(&mut self, n: u64) {
        let _ = write!(self.out, "{n}");
    }

    /// `"key": "value"`.
    pub(crate) fn str_field(&mut self, key: &str, value: &str) {
        self.key(key);
        self.str(value);
    }

    /// `"key": [ "item", ... ]` of strings.
    pub(crate) fn strs_field<S: AsRef<str>>(&mut self, key: &str, items: &[S]) {
        self.key(key);
        self.open('[');
        for s in items {
            self.item();
            self.str(s.as_ref());
        }
        self.close(']');
    }
}

/// Appends `s` as a JSON string with serde_json's escapes: `\"`, `\\`, `\b`, `\f`, `\n`,
/// `\r`, `\t`, other control characters as `\u00xx`; everything else as is.
fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_empty_containers_as_serde_json_prints_them() {
        let mut j = Pretty::new();
        j.open('[');
        j.item();
        j.open('{');
        j.str_field("A", "x\"\\\u{1}\u{8}\u{c}\n\r\té\u{7f}");
        j.key("B");
        j.num(42);
        j.strs_field::<&str>("C", &[]);
        j.key("D");
        j.open('{');
        j.close('}');
        j.strs_field("E", &["1.2.3.0/24"]);
        j.close('}');
        j.close(']');
        let want = serde_json::to_string_pretty(&serde_json::json!([{
            "A": "x\"\\\u{1}\u{8}\u{c}\n\r\té\u{7f}", "B": 42, "C": [], "D": {}, "E": ["1.2.3.0/24"]
        }]))
        .unwrap();
        assert_eq!(j.finish(), want + "\n");
        let mut j = Pretty::new();
        j.open('[');
        j.close(']');
        assert_eq!(j.finish(), "[]\n");
    }
}
