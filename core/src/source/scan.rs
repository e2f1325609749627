//! The cursor the fast paths of the two large files (AWS `ip-ranges.json`, Azure Service
//! Tags) read JSON with, without serde_json (whose generic dispatch is most of the time
//! on files of many short strings). It reads the shape the files are published in: strings
//! without escapes, numbers as plain digits. Every reader answers `None` at anything else,
//! valid or not; the parser then reads the file again with serde_json, so the cursor only
//! has to be right about what it accepts, and refuses nothing itself.

pub(super) const ONES: u64 = 0x0101_0101_0101_0101;
const SPACES: u64 = ONES * b' ' as u64;

/// Eight bytes from `at`, little-endian (the first byte lowest), if there are eight.
pub(super) fn word(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at.checked_add(8)?)?;
    <[u8; 8]>::try_from(b).ok().map(u64::from_le_bytes)
}

/// Whether `b` ends one of the fast path's strings: the quote, or what it leaves to
/// serde_json (a backslash, control characters).
fn is_stop(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// The index of the first byte that [`is_stop`], eight bytes at a time: a byte's high bit is
/// set in `(x - ONES) & !x & HIGH` when it is zero (below 0x20 with `0x20 * ONES`).
/// Borrows only run upward from a real hit, so the lowest set bit is exact.
fn stop(bytes: &[u8]) -> Option<usize> {
    const HIGH: u64 = ONES * 0x80;
    let mut at = 0;
    while let Some(x) = word(bytes, at) {
        let quote = x ^ (ONES * u64::from(b'"'));
        let slash = x ^ (ONES * u64::from(b'\\'));
        let hits = (quote.wrapping_sub(ONES) & !quote)
            | (slash.wrapping_sub(ONES) & !slash)
            | (x.wrapping_sub(ONES * 0x20) & !x);
        let hits = hits & HIGH;
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = bytes.get(at..)?;
    Some(at + tail.iter().position(|&b| is_stop(b))?)
}

/// A place in a JSON text.
pub(super) struct Cursor<'a> {
    pub(super) text: &'a str,
    pub(super) pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Cursor { text, pos: 0 }
    }

    /// The text from the cursor on.
    pub(super) fn rest(&self) -> Option<&'a [u8]> {
        self.text.as_bytes().get(self.pos..)
    }

    /// The next byte after JSON whitespace (RFC 8259: space, tab, LF, CR), not consumed.
    #[inline]
    pub(super) fn peek(&mut self) -> Option<u8> {
        match self.text.as_bytes().get(self.pos) {
            Some(&b) if b > b' ' => Some(b),
            _ => self.skip_space(),
        }
    }

    fn skip_space(&mut self) -> Option<u8> {
        let rest = self.rest()?;
        let mut n = 0;
        loop {
            match rest.get(n) {
                // Indentation: eight spaces at a time.
                Some(b' ') => match word(rest, n) {
                    Some(w) if w == SPACES => n += 8,
                    Some(w) => n += ((w ^ SPACES).trailing_zeros() / 8) as usize,
                    None => n += 1,
                },
                Some(b'\n' | b'\r' | b'\t') => n += 1,
                Some(&b) => {
                    self.pos += n;
                    return Some(b);
                }
                None => return None,
            }
        }
    }

    /// `want` after whitespace, consumed.
    pub(super) fn eat(&mut self, want: u8) -> Option<()> {
        (self.peek()? == want).then(|| self.pos += 1)
    }

    /// After an element: `true` for a comma, `false` for `close`.
    pub(super) fn comma_or(&mut self, close: u8) -> Option<bool> {
        let b = self.peek()?;
        self.pos += 1;
        match b {
            b',' => Some(true),
            _ if b == close => Some(false),
            _ => None,
        }
    }

    /// A string without escapes or control characters (which serde_json refuses
    /// unescaped); ending at an ASCII quote, the slice is on character boundaries.
    pub(super) fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        self.string_rest()
    }

    /// [`Cursor::string`] after its opening quote.
    pub(super) fn string_rest(&mut self) -> Option<&'a str> {
        let start = self.pos;
        let rest = self.rest()?;
        let len = stop(rest)?;
        if rest.get(len) != Some(&b'"') {
            return None;
        }
        self.pos = start + len + 1;
        self.text.get(start..start + len)
    }

    /// A key and its colon.
    pub(super) fn key(&mut self) -> Option<&'a str> {
        let k = self.string()?;
        self.eat(b':')?;
        Some(k)
    }

    /// Plain digits, as a number (no sign, fraction or exponent: serde_json reads those).
    pub(super) fn number(&mut self) -> Option<u64> {
        self.peek()?;
        let rest = self.rest()?;
        let len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        // A leading zero is invalid JSON: serde_json says so.
        if len == 0 || (len > 1 && rest.first() == Some(&b'0')) {
            return None;
        }
        let n = self.text.get(self.pos..self.pos + len)?.parse().ok()?;
        self.pos += len;
        Some(n)
    }

    /// Whether a `null` is next (and then consumed).
    pub(super) fn null(&mut self) -> Option<bool> {
        self.peek()?;
        let null = self.rest()?.starts_with(b"null");
        if null {
            self.pos += 4;
        }
        Some(null)
    }

    /// A list of strings, each given to `each` (whose `None` stops the read).
    pub(super) fn strings(&mut self, mut each: impl FnMut(&'a str) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.peek()? == b']' {
            self.pos += 1;
            return Some(());
        }
        loop {
            each(self.string()?)?;
            if !self.comma_or(b']')? {
                return Some(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Whitespace of every kind and length before a value; strings stop at escapes and
    /// control characters, which the cursor leaves to serde_json.
    #[test]
    fn reads_the_published_shape_and_nothing_else() {
        for pad in 0..20 {
            let text = alloc::format!("{}\"a/b\" ,\t\r\n  1]", " ".repeat(pad));
            let mut c = Cursor::new(&text);
            assert_eq!(c.string(), Some("a/b"));
            assert_eq!(c.comma_or(b']'), Some(true));
            assert_eq!(c.number(), Some(1));
            assert_eq!(c.comma_or(b']'), Some(false));
            assert_eq!(c.peek(), None);
        }
        for text in ["\"a\\\"b\"", "\"a\nb\"", "\"ab", "01", "-1"] {
            let mut c = Cursor::new(text);
            assert!(
                c.string().is_none() && Cursor::new(text).number().is_none(),
                "{text}"
            );
        }
        // A quote, backslash or control byte at every place of a long string is found.
        for at in 0..24 {
            for b in [b'"', b'\\', 0x1f] {
                let mut s = alloc::vec![b'x'; 24];
                s[at] = b;
                assert_eq!(stop(&s), Some(at));
            }
        }
        let mut c = Cursor::new("[\"x\", \"y\"] null");
        let mut got = Vec::new();
        assert_eq!(
            c.strings(|s| {
                got.push(s);
                Some(())
            }),
            Some(())
        );
        assert_eq!(got, ["x", "y"]);
        assert_eq!(c.null(), Some(true));
    }
}
