//! A small validating JSON scanner: the guard in front of serde-json-core.
//!
//! serde-json-core decodes typed fields fast and without a heap, but it has no nesting limit (a
//! million nested arrays overflow the stack), skips unknown scalars without validating them, and
//! hands `&str` fields over still escaped. This module closes those gaps in one linear pass:
//!
//! - [`validate`] checks RFC 8259 syntax and bounds nesting, iteratively (no recursion), so
//!   "not JSON" (CNI code 6) is told apart from "JSON of the wrong shape" (code 7);
//! - [`members`] walks one object's members as raw slices, so an error can name its field;
//! - [`unescape`] decodes the string fields we actually use, borrowing when there is no escape.

use std::borrow::Cow;
use std::fmt;

/// Deepest nesting accepted. Real netconfs nest about 5 levels.
pub const MAX_DEPTH: usize = 128;

/// Why the input is not acceptable JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What is wrong there.
    pub kind: JsonErrorKind,
}

/// The syntax errors [`validate`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonErrorKind {
    /// Input ended inside a value (or was empty).
    UnexpectedEnd,
    /// A byte that cannot appear here.
    UnexpectedByte,
    /// Bytes after the top-level value.
    TrailingBytes,
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// A string with a raw control character, a bad escape or invalid UTF-8.
    BadString,
    /// A malformed number.
    BadNumber,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            JsonErrorKind::UnexpectedEnd => "input ends inside a value",
            JsonErrorKind::UnexpectedByte => "unexpected character",
            JsonErrorKind::TrailingBytes => "unexpected data after the JSON value",
            JsonErrorKind::TooDeep => "nesting is deeper than 128 levels",
            JsonErrorKind::BadString => "invalid string (control character, bad escape or invalid UTF-8)",
            JsonErrorKind::BadNumber => "invalid number",
        };
        write!(f, "{what} at byte {}", self.offset)
    }
}

/// Checks that `input` is exactly one JSON value (surrounded by optional whitespace), nested at
/// most [`MAX_DEPTH`] levels.
pub fn validate(input: &[u8]) -> Result<(), JsonError> {
    let mut scanner = Scanner { input, pos: 0 };
    let end = scanner.value()?;
    scanner.pos = end;
    scanner.skip_ws();
    if scanner.pos != input.len() {
        return Err(scanner.error(JsonErrorKind::TrailingBytes));
    }
    Ok(())
}

/// The members of the object `input` (which must have passed [`validate`]): raw key text (still
/// escaped) and the raw bytes of each value. Yields nothing if `input` is not an object.
pub fn members(input: &[u8]) -> impl Iterator<Item = (&str, &[u8])> {
    let mut scanner = Scanner { input, pos: 0 };
    scanner.skip_ws();
    let is_object = scanner.peek() == Some(b'{');
    scanner.pos += 1;
    let mut done = !is_object;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let member = scanner.next_member();
        done = member.is_none();
        member
    })
}

/// The elements of the array `input` (which must have passed [`validate`]), as raw bytes, or
/// `None` if `input` is not an array. Lets a caller decode one element at a time.
pub fn elements(input: &[u8]) -> Option<impl Iterator<Item = &[u8]>> {
    let mut scanner = Scanner { input, pos: 0 };
    scanner.skip_ws();
    if scanner.peek() != Some(b'[') {
        return None;
    }
    scanner.pos += 1;
    Some(std::iter::from_fn(move || scanner.next_element()))
}

/// The member `key` of object `input`, if present (the last one, if repeated).
pub fn member<'a>(input: &'a [u8], key: &str) -> Option<&'a [u8]> {
    members(input).filter(|(k, _)| *k == key).last().map(|(_, v)| v)
}

/// Decodes the escapes of a raw JSON string body (without quotes). Borrows when there are none.
/// Input that did not pass [`validate`] may decode lossily, never panics.
pub fn unescape(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let first = hex4(&mut chars);
                let code = match first {
                    Some(hi @ 0xd800..=0xdbff) => {
                        let rest = chars.as_str();
                        match rest
                            .strip_prefix("\\u")
                            .and_then(|r| r.get(..4))
                            .and_then(|h| u32::from_str_radix(h, 16).ok())
                        {
                            Some(lo @ 0xdc00..=0xdfff) => {
                                chars = rest.get(6..).unwrap_or_default().chars();
                                Some(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00))
                            }
                            _ => None,
                        }
                    }
                    other => other,
                };
                out.push(code.and_then(char::from_u32).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            Some(other) => out.push(other), // `\"`, `\\`, `\/`
            None => {}
        }
    }
    Cow::Owned(out)
}

fn hex4(chars: &mut std::str::Chars<'_>) -> Option<u32> {
    let rest = chars.as_str();
    let value = rest.get(..4).and_then(|h| u32::from_str_radix(h, 16).ok())?;
    *chars = rest.get(4..).unwrap_or_default().chars();
    Some(value)
}

struct Scanner<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn error(&self, kind: JsonErrorKind) -> JsonError {
        let kind = if self.pos >= self.input.len() && kind == JsonErrorKind::UnexpectedByte {
            JsonErrorKind::UnexpectedEnd
        } else {
            kind
        };
        JsonError { offset: self.pos, kind }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), JsonError> {
        self.skip_ws();
        if self.peek() != Some(byte) {
            return Err(self.error(JsonErrorKind::UnexpectedByte));
        }
        self.pos += 1;
        Ok(())
    }

    /// Scans one value starting at `pos` (after whitespace); returns the offset just past it.
    /// Containers are tracked on an explicit stack of their closing bytes, so depth costs no
    /// recursion.
    fn value(&mut self) -> Result<usize, JsonError> {
        let mut closers = [0u8; MAX_DEPTH];
        let mut depth = 0usize;
        loop {
            // Expect a value.
            self.skip_ws();
            match self.peek() {
                Some(open @ (b'{' | b'[')) => {
                    let slot = closers.get_mut(depth).ok_or(self.error(JsonErrorKind::TooDeep))?;
                    *slot = if open == b'{' { b'}' } else { b']' };
                    depth += 1;
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(*slot) {
                        self.pos += 1;
                        depth -= 1;
                    } else {
                        if open == b'{' {
                            self.string()?;
                            self.expect(b':')?;
                        }
                        continue;
                    }
                }
                Some(b'"') => self.string()?,
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                _ => return Err(self.error(JsonErrorKind::UnexpectedByte)),
            }
            // After a value: close containers or move to the next element.
            loop {
                let Some(closer) = depth.checked_sub(1).and_then(|d| closers.get(d)).copied() else {
                    return Ok(self.pos);
                };
                self.skip_ws();
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        if closer == b'}' {
                            self.skip_ws();
                            self.string()?;
                            self.expect(b':')?;
                        }
                        break;
                    }
                    Some(c) if c == closer => {
                        self.pos += 1;
                        depth -= 1;
                    }
                    _ => return Err(self.error(JsonErrorKind::UnexpectedByte)),
                }
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), JsonError> {
        if self.input.get(self.pos..self.pos + word.len()) != Some(word) {
            return Err(self.error(JsonErrorKind::UnexpectedByte));
        }
        self.pos += word.len();
        Ok(())
    }

    /// A string starting at `pos` (which must be `"`); leaves `pos` past the closing quote.
    fn string(&mut self) -> Result<(), JsonError> {
        if self.peek() != Some(b'"') {
            return Err(self.error(JsonErrorKind::UnexpectedByte));
        }
        let start = self.pos + 1;
        self.pos = start;
        loop {
            let rest = self.input.get(self.pos..).unwrap_or_default();
            let Some(stop) = rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20) else {
                self.pos = self.input.len();
                return Err(self.error(JsonErrorKind::UnexpectedEnd));
            };
            self.pos += stop;
            match self.peek() {
                Some(b'"') => {
                    let body = self.input.get(start..self.pos).unwrap_or_default();
                    if std::str::from_utf8(body).is_err() {
                        return Err(JsonError { offset: start, kind: JsonErrorKind::BadString });
                    }
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.pos += 1,
                        Some(b'u') => {
                            let hex = self.input.get(self.pos + 1..self.pos + 5).unwrap_or_default();
                            if hex.len() != 4 || !hex.iter().all(u8::is_ascii_hexdigit) {
                                return Err(self.error(JsonErrorKind::BadString));
                            }
                            self.pos += 5;
                        }
                        _ => return Err(self.error(JsonErrorKind::BadString)),
                    }
                }
                _ => return Err(self.error(JsonErrorKind::BadString)),
            }
        }
    }

    fn number(&mut self) -> Result<(), JsonError> {
        let digits = |s: &mut Self| {
            let start = s.pos;
            while matches!(s.peek(), Some(b'0'..=b'9')) {
                s.pos += 1;
            }
            s.pos - start
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(self.error(JsonErrorKind::BadNumber)),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.error(JsonErrorKind::BadNumber));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.error(JsonErrorKind::BadNumber));
            }
        }
        Ok(())
    }

    /// Skips whitespace and at most one `,` between the items of a container being walked.
    fn skip_separator(&mut self) {
        self.skip_ws();
        if self.peek() == Some(b',') {
            self.pos += 1;
            self.skip_ws();
        }
    }

    /// The next element of the array being walked by [`elements`], or `None` at its end.
    fn next_element(&mut self) -> Option<&'a [u8]> {
        self.skip_separator();
        if matches!(self.peek(), None | Some(b']')) {
            return None;
        }
        let start = self.pos;
        let end = self.value().ok()?;
        self.pos = end;
        self.input.get(start..end)
    }

    /// The next member of the object being walked by [`members`], or `None` at its end.
    fn next_member(&mut self) -> Option<(&'a str, &'a [u8])> {
        self.skip_separator();
        if self.peek() != Some(b'"') {
            return None;
        }
        let key_start = self.pos + 1;
        self.string().ok()?;
        let key = std::str::from_utf8(self.input.get(key_start..self.pos - 1)?).ok()?;
        self.expect(b':').ok()?;
        self.skip_ws();
        let value_start = self.pos;
        let value_end = self.value().ok()?;
        self.pos = value_end;
        Some((key, self.input.get(value_start..value_end)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(input: &str) -> Option<JsonErrorKind> {
        validate(input.as_bytes()).err().map(|e| e.kind)
    }

    #[test]
    fn accepts_valid_json() {
        for ok in [
            "{}",
            "[]",
            " {\"a\" : [1, -2.5e+3, true, false, null, \"x\\\"y\\u00e9\\/\"], \"b\": {\"c\": {}}} \n",
            "\"s\"",
            "0",
            "-0.0E-0",
            "[[[[]]]]",
            "{\"k\":\"é\"}",
        ] {
            assert_eq!(validate(ok.as_bytes()), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_invalid_json() {
        let cases = [
            ("", JsonErrorKind::UnexpectedEnd),
            ("   ", JsonErrorKind::UnexpectedEnd),
            ("{", JsonErrorKind::UnexpectedEnd),
            ("{\"a\":1", JsonErrorKind::UnexpectedEnd),
            ("{\"a\" 1}", JsonErrorKind::UnexpectedByte),
            ("{\"a\":1,}", JsonErrorKind::UnexpectedByte),
            ("[1,]", JsonErrorKind::UnexpectedByte),
            ("[1 2]", JsonErrorKind::UnexpectedByte),
            ("{a:1}", JsonErrorKind::UnexpectedByte),
            ("{} {}", JsonErrorKind::TrailingBytes),
            ("tru", JsonErrorKind::UnexpectedByte),
            ("nul", JsonErrorKind::UnexpectedByte),
            ("01", JsonErrorKind::TrailingBytes),
            ("1.", JsonErrorKind::BadNumber),
            ("-", JsonErrorKind::BadNumber),
            ("1e", JsonErrorKind::BadNumber),
            ("\"a\nb\"", JsonErrorKind::BadString),
            ("\"\\x\"", JsonErrorKind::BadString),
            ("\"\\u12\"", JsonErrorKind::BadString),
            ("\"abc", JsonErrorKind::UnexpectedEnd),
            ("[}", JsonErrorKind::UnexpectedByte),
            ("{\"a\":1]", JsonErrorKind::UnexpectedByte),
        ];
        for (input, expected) in cases {
            assert_eq!(kind(input), Some(expected), "{input:?}");
        }
        assert_eq!(validate(b"\"\xff\"").map_err(|e| e.kind), Err(JsonErrorKind::BadString));
    }

    #[test]
    fn bounds_depth_without_recursion() {
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert_eq!(validate(ok.as_bytes()), Ok(()));
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(kind(&deep), Some(JsonErrorKind::TooDeep));
        let very_deep = "{\"a\":".repeat(1_000_000);
        assert_eq!(kind(&very_deep), Some(JsonErrorKind::TooDeep));
    }

    #[test]
    fn walks_members() {
        let input = br#" { "a" : 1 , "b\"" : {"x": [1, {"y": 2}]}, "c": "s" } "#;
        let got: Vec<_> = members(input).collect();
        assert_eq!(
            got,
            [("a", b"1".as_slice()), ("b\\\"", br#"{"x": [1, {"y": 2}]}"#.as_slice()), ("c", b"\"s\"".as_slice())]
        );
        assert_eq!(member(input, "c"), Some(b"\"s\"".as_slice()));
        assert_eq!(member(br#"{"a":1,"a":2}"#, "a"), Some(b"2".as_slice()));
        assert_eq!(members(b"[1]").count(), 0);
        assert_eq!(members(b"{}").count(), 0);
    }

    #[test]
    fn walks_elements() {
        let input = br#" [ 1, {"a": [2, 3]} ,"x" , [] ] "#;
        let items: Vec<&[u8]> = elements(input).unwrap().collect();
        assert_eq!(items, [&b"1"[..], br#"{"a": [2, 3]}"#, br#""x""#, b"[]"]);
        assert_eq!(elements(b"[]").unwrap().count(), 0);
        assert_eq!(elements(b" [ ] ").unwrap().count(), 0);
        assert!(elements(b"{}").is_none());
        assert!(elements(b"null").is_none());
    }

    #[test]
    fn unescapes() {
        assert!(matches!(unescape("plain"), Cow::Borrowed("plain")));
        assert_eq!(unescape(r"\/var\/lib\/hyperv\/.kvp_pool_0"), "/var/lib/hyperv/.kvp_pool_0");
        assert_eq!(unescape(r#"a\"b\\c\n\t\u00e9\ud83d\ude00"#), "a\"b\\c\n\té😀");
        assert_eq!(unescape(r"\ud83d"), "\u{fffd}");
        assert_eq!(unescape(r"\u12"), "\u{fffd}12");
        assert_eq!(unescape("\\"), "");
    }
}
