//! A validating JSON scanner, and typed reads of what it validated.
//!
//! The config is read in two linear passes: [`validate`] checks RFC 8259 syntax and bounds
//! nesting, iteratively (no recursion), so "not JSON" (CNI code 6) is told apart from "JSON of
//! the wrong shape" (code 7); then the netconf decoder reads the members it needs through
//! [`Value`], skipping the rest with the same scanner.
//!
//! Why not a serde `Deserializer`: the runtime, Multus and host-device read the same bytes with
//! Go's `encoding/json`, which matches keys ignoring case, lets the last duplicate win and treats
//! `null` as "leave the field alone". serde-json-core does none of that (it compares raw keys
//! exactly, rejects duplicates, has no nesting limit and cannot decode a UTF-16 surrogate pair),
//! and serde_json's derive has the same key rules at several times the size. [`Value::fields`]
//! gives Go's view of an object in a few lines.

use std::borrow::Cow;
use std::fmt;
use std::iter;

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
    scanner.value()?;
    scanner.skip_ws();
    if scanner.pos != input.len() {
        return Err(scanner.error(JsonErrorKind::TrailingBytes));
    }
    Ok(())
}

/// A key folded for matching, as [`Value::fields`] yields it.
pub type FoldedKey = heapless::String<16>;

/// One JSON value from input that passed [`validate`], read as the type a field expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Value<'a>(&'a [u8]);

impl<'a> Value<'a> {
    /// `input` as one JSON value, once [`validate`] has accepted it.
    pub fn parse(input: &'a [u8]) -> Result<Value<'a>, JsonError> {
        validate(input)?;
        Ok(Value(input.trim_ascii()))
    }

    /// The value's JSON text as it appears in the input (`check-config` re-assembles a conflist's
    /// plugin from these, as libcni does).
    pub fn raw(self) -> &'a [u8] {
        self.0
    }

    /// The text of a string, unescaped; `None` for any other value.
    pub fn str(self) -> Option<Cow<'a, str>> {
        let body = self.0.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
        std::str::from_utf8(body).ok().map(unescape)
    }

    /// A whole number from 0 to `u32::MAX`, written without fraction or exponent (Go's integer
    /// fields refuse those too); `None` for anything else.
    pub fn u32(self) -> Option<u32> {
        std::str::from_utf8(self.0).ok()?.parse().ok()
    }

    /// The elements of an array; `None` for any other value.
    pub fn elements(self) -> Option<impl Iterator<Item = Value<'a>>> {
        let mut scanner = Scanner::inside(self.0, b'[')?;
        Some(iter::from_fn(move || scanner.next_element().map(Value)))
    }

    /// The members of an object as Go's `encoding/json` applies them to a struct; `None` for any
    /// other value. Each key comes unescaped and [`fold`]ed, so a decoder matches it to a field
    /// ignoring case; members come in order, so assigning each makes the last duplicate win; and
    /// members whose value is `null` are left out, as Go leaves the field as it was.
    pub fn fields(self) -> Option<impl Iterator<Item = (Option<FoldedKey>, Value<'a>)>> {
        let mut scanner = Scanner::inside(self.0, b'{')?;
        let members = iter::from_fn(move || scanner.next_member());
        Some(members.filter(|(_, value)| *value != b"null").map(|(key, value)| (fold(&unescape(key)), Value(value))))
    }

    /// The field `name` (folded, as [`fold`] gives it) of an object, read as Go reads it into a
    /// struct with only that field: `Some(None)` when the object has none, `None` for any other
    /// value.
    pub fn field(self, name: &str) -> Option<Option<Value<'a>>> {
        Some(self.fields()?.filter(|(key, _)| key.as_deref() == Some(name)).last().map(|(_, value)| value))
    }
}

/// A key as Go's `encoding/json` compares it with a field name: ASCII letters in lower case, and
/// the two non-ASCII letters that Unicode folds onto ASCII ones (U+212A KELVIN SIGN onto `k`,
/// U+017F LONG S onto `s`) replaced by them. `None` when it is too long to name any field.
///
/// Go prefers an exact match over a case-insensitive one, which only matters between fields whose
/// names fold alike; matching folded keys in one `match` keeps such names out (rustc flags the
/// second arm as unreachable).
pub fn fold(key: &str) -> Option<FoldedKey> {
    let mut folded = FoldedKey::new();
    for c in key.chars() {
        let c = match c {
            '\u{212a}' => 'k',
            '\u{17f}' => 's',
            c => c.to_ascii_lowercase(),
        };
        folded.push(c).ok()?;
    }
    Some(folded)
}

/// Decodes the escapes of a JSON string body (without quotes), borrowing when there are none.
/// A run of `\uXXXX` escapes is UTF-16: a surrogate pair makes one character, and a lone
/// surrogate becomes U+FFFD, as in Go. Input that did not pass [`validate`] decodes lossily,
/// never panics.
pub fn unescape(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some((plain, escape)) = rest.find('\\').and_then(|at| rest.split_at_checked(at)) {
        out.push_str(plain);
        rest = escape;
        let units = iter::from_fn(|| {
            let unit = u16::from_str_radix(rest.strip_prefix("\\u")?.get(..4)?, 16).ok()?;
            rest = rest.get(6..)?;
            Some(unit)
        });
        let before = out.len();
        out.extend(char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)));
        if out.len() > before {
            continue;
        }
        let mut chars = rest.get(1..).unwrap_or_default().chars();
        let escaped = chars.next();
        rest = chars.as_str();
        out.extend(escaped.map(|c| match c {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'b' => '\u{8}',
            'f' => '\u{c}',
            other => other, // `\"`, `\\`, `\/`
        }));
    }
    out.push_str(rest);
    Cow::Owned(out)
}

struct Scanner<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    /// A scanner just inside the container `input` (a validated value) opens with `open`.
    fn inside(input: &'a [u8], open: u8) -> Option<Self> {
        (input.first() == Some(&open)).then_some(Scanner { input, pos: 1 })
    }

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

    /// Scans one value starting at `pos` (after whitespace), leaving `pos` just past it.
    /// Containers are tracked on an explicit stack of their closing bytes, so depth costs no
    /// recursion.
    fn value(&mut self) -> Result<(), JsonError> {
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
                    return Ok(());
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

    /// The next element of the array being walked by [`Value::elements`], or `None` at its end.
    fn next_element(&mut self) -> Option<&'a [u8]> {
        self.skip_separator();
        if matches!(self.peek(), None | Some(b']')) {
            return None;
        }
        let start = self.pos;
        self.value().ok()?;
        self.input.get(start..self.pos)
    }

    /// The next member of the object being walked by [`Value::fields`] (its key still escaped),
    /// or `None` at its end.
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
        self.value().ok()?;
        Some((key, self.input.get(value_start..self.pos)?))
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

    fn fields(input: &[u8]) -> Vec<(Option<String>, &[u8])> {
        let fields = Value::parse(input).unwrap().fields().unwrap();
        fields.map(|(key, value)| (key.map(|k| k.to_string()), value.0)).collect()
    }

    #[test]
    fn fields_are_what_go_assigns() {
        let input = br#" { "a" : 1 , "B\"" : {"x": [1, {"y": 2}]}, "n": null, "\u0043": "s", "K\u017f\u212a": 0,
            "a_key_longer_than_sixteen_bytes": 1 } "#;
        let want: [(Option<&str>, &[u8]); 5] = [
            (Some("a"), b"1"),
            (Some("b\""), br#"{"x": [1, {"y": 2}]}"#),
            (Some("c"), br#""s""#),
            (Some("ksk"), b"0"),
            (None, b"1"),
        ];
        assert_eq!(fields(input), want.map(|(k, v)| (k.map(String::from), v)));
        assert!(fields(b"{}").is_empty());
        assert!(Value::parse(b"[1]").unwrap().fields().is_none());
    }

    #[test]
    fn elements_and_scalars() {
        let items: Vec<&[u8]> =
            Value::parse(br#" [ 1, {"a": [2, 3]} ,"x" , [] ] "#).unwrap().elements().unwrap().map(|v| v.0).collect();
        assert_eq!(items, [&b"1"[..], br#"{"a": [2, 3]}"#, br#""x""#, b"[]"]);
        assert_eq!(Value::parse(b" [ ] ").unwrap().elements().unwrap().count(), 0);
        assert!(Value::parse(b"{}").unwrap().elements().is_none());
        fn scalar(text: &str) -> Value<'_> {
            Value::parse(text.as_bytes()).unwrap()
        }
        assert_eq!(scalar("4294967295").u32(), Some(u32::MAX));
        for not_u32 in ["4294967296", "-1", "1.0", "1e1", "\"1\"", "null"] {
            assert_eq!(scalar(not_u32).u32(), None, "{not_u32}");
        }
        assert_eq!(scalar(r#""a\/b""#).str().as_deref(), Some("a/b"));
        assert_eq!(scalar("1").str(), None);
    }

    #[test]
    fn unescapes() {
        assert!(matches!(unescape("plain"), Cow::Borrowed("plain")));
        assert_eq!(unescape(r"\/var\/lib\/hyperv\/.kvp_pool_0"), "/var/lib/hyperv/.kvp_pool_0");
        assert_eq!(unescape(r#"a\"b\\c\n\t\u00e9\ud83d\ude00"#), "a\"b\\c\n\té😀");
        assert_eq!(unescape(r"\ud83d"), "\u{fffd}");
        assert_eq!(unescape(r"\ud83d\u0041\ude00x"), "\u{fffd}A\u{fffd}x");
        // Unvalidated input: lossy, never a panic or a hang.
        assert_eq!(unescape(r"\u12"), "u12");
        assert_eq!(unescape("\\"), "");
    }
}
