//! Printing bytes that came from a pool or a file: never raw. Valid UTF-8 text passes unchanged
//! except for `\` and control characters; every byte that is not UTF-8 becomes `\xNN`. A
//! terminal then shows exactly what is there, and a script can tell `\xff` in the data (printed
//! `\\xff`) from an escaped byte.
//!
//! JSON strings cannot hold raw bytes, so `--json` carries the same escaped text inside a JSON
//! string (the byte 0xff is the six characters `\xff`, written `"\\xff"` in JSON).

use std::fmt::Write;

/// `bytes` as printable text (see the module doc).
pub fn text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => {
                    let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

/// Appends `s` to `out` as a JSON string, quotes included.
pub fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON object of string members, in the order given.
pub fn json_object(members: &[(&str, &str)]) -> String {
    let mut out = String::from("{");
    for (i, (key, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(&mut out, key);
        out.push(':');
        json_string(&mut out, value);
    }
    out.push('}');
    out
}

/// A JSON array of already-encoded values, one per line.
pub fn json_array(items: &[String]) -> String {
    if items.is_empty() {
        return "[]\n".to_string();
    }
    format!("[\n  {}\n]\n", items.join(",\n  "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_is_not_printable_utf8() {
        assert_eq!(text(b"IPoIB_Data"), "IPoIB_Data");
        assert_eq!(text("é\u{1f600}".as_bytes()), "é\u{1f600}");
        assert_eq!(text(b"a\xffb\xc3"), "a\\xffb\\xc3");
        assert_eq!(text(b"back\\slash\n\x1b[31m"), "back\\\\slash\\n\\u{1b}[31m");
    }

    #[test]
    fn json_strings_hold_the_escaped_text() {
        let mut out = String::new();
        json_string(&mut out, &text(b"q\"\xff\x01"));
        assert_eq!(out, r#""q\"\\xff\\u{1}""#);
        let parsed: String = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed, "q\"\\xff\\u{1}");
        assert_eq!(json_object(&[("key", "a"), ("value", "b")]), r#"{"key":"a","value":"b"}"#);
    }
}
