//! A writer that hands its inner writer whole lines only, each batch in one `write`.
//!
//! libcni forwards a plugin's stderr into the runtime's journal, and two plugins run at once
//! share it. `writeln!` on an unbuffered stderr issues one `write(2)` per formatted piece (about
//! ten for an error line), so concurrent runs interleave mid-line. Buffering up to each newline
//! keeps every line whole; std's `LineWriter` would still split one line into two writes (what
//! it had buffered, then the piece that ends the line).

use std::io::{self, Write};

/// Buffers what is written until a newline, then writes every complete line at once.
pub struct WholeLines<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> WholeLines<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> WholeLines<W> {
        WholeLines { inner, pending: Vec::new() }
    }
}

impl<W: Write> Write for WholeLines<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(end) = memchr::memrchr(b'\n', &self.pending) {
            let lines: Vec<u8> = self.pending.drain(..=end).collect();
            self.inner.write_all(&lines)?;
        }
        Ok(buf.len())
    }

    /// Writes a last, unfinished line too.
    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.inner.write_all(&rest)?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for WholeLines<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records each `write` call separately.
    struct Calls(Vec<Vec<u8>>);

    impl Write for &mut Calls {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn each_line_is_one_write() {
        let mut calls = Calls(Vec::new());
        {
            let mut out = WholeLines::new(&mut calls);
            let long = "x".repeat(5000);
            writeln!(out, "azure-ipoib-ipam-cni: {} failed (code {}): {long}", ["ADD"][0], 7).unwrap();
            write!(out, "a").unwrap();
            write!(out, "b\nc").unwrap();
        }
        assert_eq!(calls.0.len(), 3);
        assert!(
            calls.0[0].starts_with(b"azure-ipoib-ipam-cni: ADD failed (code 7): xxx") && calls.0[0].ends_with(b"x\n")
        );
        assert_eq!((calls.0[1].as_slice(), calls.0[2].as_slice()), (&b"ab\n"[..], &b"c"[..]));
    }
}
