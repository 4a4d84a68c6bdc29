//! A deadline on write progress, per connection: in the spirit of nginx's `send_timeout` (and
//! Go's `WriteTimeout`), a connection whose answers make no progress for [`WRITE_TIMEOUT`] is
//! closed, and its slot freed.
//!
//! The read side is bounded already (a whole request within 5 s of its first byte). Without this,
//! a client that pipelines requests and never reads the answers holds its slot for ever: once the
//! socket's send buffer is full, hyper waits for the socket to take more, and stops reading, so no
//! read timeout runs. A few such clients held every slot of `--max-connections`.
//!
//! The clock starts when a write finds the socket full (the first `Pending`) and is cleared by any
//! write that goes through, so a client that reads slowly but steadily is served; one that stops
//! reading is cut off 5 s later. A client reading just enough to keep each stall under 5 s still
//! pays for every answer it gets, with a request sent and an answer read, as a polite client does.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// Longest a connection may go without its socket taking any byte of an answer.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// The error a stalled connection ends with; [`stall`] finds it in hyper's error.
#[derive(Debug)]
struct Stalled(Duration);

impl fmt::Display for Stalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the client read no part of the answer for {} s", self.0.as_secs())
    }
}

impl std::error::Error for Stalled {}

/// The expired write deadline in `e` (a connection's error, as hyper returns it, which names
/// the step and keeps the I/O error as its source), if that is what ended it.
pub fn stall<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e (dyn std::error::Error + 'static)> {
    let mut cause = Some(e);
    while let Some(e) = cause {
        if let Some(stalled) = e.downcast_ref::<io::Error>().and_then(|io| io.get_ref()).filter(|i| i.is::<Stalled>()) {
            return Some(stalled);
        }
        cause = e.source();
    }
    None
}

/// A stream whose writes fail (an error [`stall`] finds) once they have waited `timeout` for the
/// socket.
pub struct WriteDeadline<I> {
    inner: I,
    timeout: Duration,
    /// Armed by the first write that found the socket full; dropped by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<I> WriteDeadline<I> {
    /// Wraps `inner` with a deadline of `timeout` on write progress.
    pub fn new(inner: I, timeout: Duration) -> WriteDeadline<I> {
        WriteDeadline { inner, timeout, stalled: None }
    }

    /// Passes a write's outcome on, or, while it is still `Pending`, arms the deadline (the timer
    /// wakes the task when it expires) and fails once it has.
    fn deadline<T>(&mut self, cx: &mut Context<'_>, polled: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let timeout = self.timeout;
        let sleep = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, Stalled(timeout)))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for WriteDeadline<I> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<I> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        self.deadline(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.deadline(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.deadline(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.deadline(cx, polled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stall_is_found_through_the_error_chain() {
        let error = io::Error::new(io::ErrorKind::TimedOut, Stalled(WRITE_TIMEOUT));
        assert_eq!(
            stall(&error).map(|e| e.to_string()).as_deref(),
            Some("the client read no part of the answer for 5 s")
        );
        assert!(stall(&io::Error::new(io::ErrorKind::TimedOut, "other")).is_none());
    }
}
