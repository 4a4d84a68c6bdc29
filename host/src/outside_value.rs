//! Values from outside (the environment, the config, paths, a client's request) as messages
//! show them: at most [`MAX_SHOWN`] bytes as written, escapes included, with the cut marked, and
//! no raw control byte.
//!
//! A runtime copies the plugin's error into its logs and events, and a message that echoed a
//! 3 MiB `kvpPath` or a 128 KiB `CNI_NETNS` whole would put that much in every log line. A few
//! hundred bytes still show which value it was. libcni forwards a plugin's stderr into the
//! runtime's journal, so a raw newline would forge a journal line and an ESC would reach an
//! operator's terminal: control characters (and the bidi overrides) are shown escaped, as Rust
//! escapes them (`\n`, `\u{1b}`), and so is `\` itself, so an escape is never ambiguous.
//!
//! This is the one place that decides how much of an outside value the plugin, the webhook and
//! this crate show, and how the cut is marked: every message of theirs that echoes one goes
//! through [`Shown`] (with a smaller bound, [`Shown::with_limit`], where a value is short by
//! nature). A format with a quoting rule of its own, the call log's logfmt, takes the bounded
//! text from [`Shown::unescaped`] and escapes it by that rule. The operator CLI prints these
//! messages as they are; the names it reads from the node itself, and its arguments, it prints
//! whole (the operator asked for them), escaped by its own `cli::escape`.
#![forbid(unsafe_code)]

use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Most bytes of one outside value that a message shows.
pub const MAX_SHOWN: usize = 256;

/// An outside value as a message shows it: lossy UTF-8, at most [`MAX_SHOWN`] bytes of it (or
/// the bound given to [`Shown::with_limit`]), then `…(N bytes)` when it was cut. `{}` prints it
/// plain, `{:?}` quoted and escaped.
#[derive(Clone, Copy)]
pub struct Shown<'a> {
    value: &'a [u8],
    /// The most bytes of `value` shown.
    limit: usize,
}

impl<'a> Shown<'a> {
    /// Text, a path, or raw bytes.
    pub fn new(value: &'a (impl AsRef<[u8]> + ?Sized)) -> Shown<'a> {
        Shown { value: value.as_ref(), limit: MAX_SHOWN }
    }

    /// A path (bytes, not necessarily UTF-8).
    pub fn path(path: &'a Path) -> Shown<'a> {
        Shown::new(path.as_os_str().as_bytes())
    }

    /// An OS string, such as an environment variable.
    pub fn os(value: &'a OsStr) -> Shown<'a> {
        Shown::new(value.as_bytes())
    }

    /// A value that is short when it is right (a version, a name), shown to at most `limit`
    /// bytes; a `limit` above [`MAX_SHOWN`] is [`MAX_SHOWN`].
    pub fn with_limit(value: &'a (impl AsRef<[u8]> + ?Sized), limit: usize) -> Shown<'a> {
        Shown { value: value.as_ref(), limit: limit.min(MAX_SHOWN) }
    }

    /// The shown part with the cut marked, as `{}` prints it but not escaped: for a format that
    /// quotes and escapes by a rule of its own (the call log's logfmt).
    pub fn unescaped(&self) -> String {
        match self.head() {
            (text, false) => text,
            (text, true) => format!("{text}…({} bytes)", self.value.len()),
        }
    }

    /// The shown part, cut at a character boundary at or before the limit, and whether anything
    /// was cut.
    fn head(&self) -> (String, bool) {
        let Some(cut) = self.value.get(..self.limit).filter(|_| self.value.len() > self.limit) else {
            return (String::from_utf8_lossy(self.value).into_owned(), false);
        };
        let mut text = String::from_utf8_lossy(cut).into_owned();
        // A multi-byte character cut in two shows as a trailing U+FFFD: drop it.
        if text.ends_with(char::REPLACEMENT_CHARACTER) {
            text.pop();
        }
        (text, true)
    }
}

impl Shown<'_> {
    /// The shown part escaped (`"` too when `quoted`), at most the limit in bytes once escaped,
    /// and whether anything was cut. The bound is on what is written, not on what is read: an
    /// escape is up to six bytes for one byte of input (`\u{7f}`), and a message must stay short
    /// whatever the value holds.
    fn escaped(&self, quoted: bool) -> (String, bool) {
        let (text, mut cut) = self.head();
        let mut out = String::with_capacity(text.len().min(self.limit));
        for c in text.chars() {
            let before = out.len();
            push_escaped(&mut out, c, quoted);
            if out.len() > self.limit {
                out.truncate(before);
                cut = true;
                break;
            }
        }
        (out, cut)
    }
}

/// Appends `c` to `out`, escaped when it must be. By hand, not `char::escape_debug`: that brings
/// Unicode tables into the binary.
fn push_escaped(out: &mut String, c: char, quoted: bool) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\\' => out.push_str("\\\\"),
        '"' if quoted => out.push_str("\\\""),
        c if needs_escape(c) => {
            let _ = fmt::Write::write_fmt(out, format_args!("\\u{{{:x}}}", u32::from(c)));
        }
        c => out.push(c),
    }
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (text, cut) = self.escaped(false);
        f.write_str(&text)?;
        if cut {
            write!(f, "…({} bytes)", self.value.len())?;
        }
        Ok(())
    }
}

/// Control characters, `\`, and the invisible characters that reorder or hide text.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || c == '\\'
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (text, cut) = self.escaped(true);
        write!(f, "\"{text}\"")?;
        if cut {
            write!(f, "…({} bytes)", self.value.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_shown_whole() {
        assert_eq!(Shown::new("net1").to_string(), "net1");
        assert_eq!(format!("{:?}", Shown::new("a\"b")), r#""a\"b""#);
        assert_eq!(Shown::path(Path::new(OsStr::from_bytes(b"/ns\xff"))).to_string(), "/ns\u{fffd}");
        assert_eq!(Shown::new(&"x".repeat(MAX_SHOWN)).to_string().len(), MAX_SHOWN);
    }

    #[test]
    fn the_bound_holds_for_what_is_written_escapes_included() {
        let controls = "\u{7f}".repeat(300);
        let shown = Shown::new(&controls).to_string();
        assert!(shown.starts_with("\\u{7f}\\u{7f}") && shown.ends_with("…(300 bytes)"), "{shown}");
        assert!(shown.len() <= MAX_SHOWN + "…(300 bytes)".len(), "{} bytes", shown.len());
        let quoted = format!("{:?}", Shown::new(&controls));
        assert!(quoted.len() <= MAX_SHOWN + 2 + "…(300 bytes)".len(), "{} bytes", quoted.len());
        // An escape is never cut in two: the text ends on a whole one.
        assert!(shown.trim_end_matches("…(300 bytes)").ends_with("\\u{7f}"), "{shown}");
        assert_eq!(format!("{:?}", Shown::new("a\"b\\c\n")), r#""a\"b\\c\n""#);
    }

    #[test]
    fn long_values_are_cut_and_marked() {
        let long = "/".to_string() + &"x".repeat(3 << 20);
        let shown = Shown::new(&long).to_string();
        assert!(shown.starts_with("/xxx") && shown.ends_with("…(3145729 bytes)"), "{shown}");
        assert!(shown.len() < MAX_SHOWN + 32, "{}", shown.len());
        let quoted = format!("{:?}", Shown::new(&long));
        assert!(quoted.starts_with("\"/xx") && quoted.ends_with("\"…(3145729 bytes)"), "{quoted}");
    }

    #[test]
    fn control_characters_are_escaped() {
        let forged = "/p\nazure-ipoib-ipam-cni: ADD ok\r\u{1b}]0;owned\u{7}\\n\u{202e}";
        let shown = Shown::new(forged).to_string();
        assert_eq!(shown, r"/p\nazure-ipoib-ipam-cni: ADD ok\r\u{1b}]0;owned\u{7}\\n\u{202e}");
        assert!(!shown.chars().any(char::is_control), "{shown}");
        assert_eq!(Shown::new("/var/lib/hyperv/é").to_string(), "/var/lib/hyperv/é");
    }

    #[test]
    fn a_smaller_limit_cuts_sooner() {
        assert_eq!(Shown::with_limit("1.0.0", 32).to_string(), "1.0.0");
        assert_eq!(format!("{:?}", Shown::with_limit(&"9".repeat(40), 32)), format!("{:?}…(40 bytes)", "9".repeat(32)));
        assert_eq!(Shown::with_limit(&"x".repeat(1000), 4096).to_string(), Shown::new(&"x".repeat(1000)).to_string());
    }

    #[test]
    fn unescaped_keeps_the_cut_and_the_controls() {
        assert_eq!(Shown::new("a\nb\n").unescaped(), "a\nb\n");
        let long = "é".repeat(1000);
        let text = Shown::new(&long).unescaped();
        assert!(text.starts_with("éé") && text.ends_with("é…(2000 bytes)"), "{text}");
        assert_eq!(text.len(), MAX_SHOWN + "…(2000 bytes)".len());
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        let long = "é".repeat(MAX_SHOWN);
        let shown = Shown::new(&long).to_string();
        assert!(shown.starts_with(&"é".repeat(MAX_SHOWN / 2)), "{shown}");
        assert!(!shown.contains(char::REPLACEMENT_CHARACTER));
        let odd = "x".to_string() + &long;
        assert!(!Shown::new(&odd).to_string().contains(char::REPLACEMENT_CHARACTER));
    }
}
