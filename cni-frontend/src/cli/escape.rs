//! Printing bytes that came from a pool or a file: never raw. Valid UTF-8 text passes unchanged
//! except for `\` and control characters; every byte that is not UTF-8 becomes `\xNN`. A
//! terminal then shows exactly what is there, and a script can tell `\xff` in the data (printed
//! `\\xff`) from an escaped byte.
//!
//! JSON strings cannot hold raw bytes, so `--json` carries the same escaped text inside a JSON
//! string (the byte 0xff is the six characters `\xff`, written `"\\xff"` in JSON).
//!
//! Names taken from the node (sysfs and `/proc` entries, files in `net.d`, the paths built from
//! them) go through [`text`] or [`path`] where a message is made; [`controls`] guards each line
//! as it is printed, so no raw escape reaches the terminal either way.

use std::fmt::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `bytes` as printable text (see the module doc).
pub fn text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c => push_printable(&mut out, c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

/// A path as printable text: [`text`] of its bytes. Every path the CLI prints goes through
/// this, since the names in it come from the node (sysfs, `/proc`, `net.d`).
pub fn path(path: &Path) -> String {
    text(path.as_os_str().as_bytes())
}

/// `line` with its control characters escaped as [`text`] escapes them, and nothing else
/// changed: the last guard before a message reaches a terminal, so that a value that missed
/// [`text`] still cannot move the cursor, recolour the screen or start a second line. Text that
/// went through [`text`] holds no control character, so it passes unchanged.
pub fn controls(line: &str) -> String {
    if !line.chars().any(char::is_control) {
        return line.to_string();
    }
    let mut out = String::with_capacity(line.len() + 8);
    for c in line.chars() {
        push_printable(&mut out, c);
    }
    out
}

/// Pushes `c`, escaped when it is a control character.
fn push_printable(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if c.is_control() => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
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
    fn controls_escapes_control_characters_only() {
        assert_eq!(controls("mlx5_0 port 1: ok \\x41"), "mlx5_0 port 1: ok \\x41");
        assert_eq!(controls("a\x1b[2Jb\nc\u{9b}"), "a\\u{1b}[2Jb\\nc\\u{9b}");
        let escaped = text(b"x\x1b\xff\\");
        assert_eq!(controls(&escaped), escaped);
        assert_eq!(path(Path::new("/sys/\x1b[31m")), "/sys/\\u{1b}[31m");
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
