//! When the request being read on a connection began: the moment its first byte arrived. hyper's
//! head timeout starts when it waits for a head and its body has none, so this lets the handler
//! hold the whole request (head and body) to one 5 s budget.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Shared by a connection's stream and its request handler.
#[derive(Default)]
pub struct RequestClock {
    /// Set by the first read after a response; `None` while idle between requests.
    started: Mutex<Option<Instant>>,
}

impl RequestClock {
    /// When the current request's first byte arrived (now, if none has yet).
    pub fn started(&self) -> Instant {
        self.started.lock().unwrap_or_else(PoisonError::into_inner).unwrap_or_else(Instant::now)
    }

    fn read(&self) {
        let mut started = self.started.lock().unwrap_or_else(PoisonError::into_inner);
        if started.is_none() {
            *started = Some(Instant::now());
        }
    }

    fn wrote(&self) {
        *self.started.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// A stream that tells its [`RequestClock`] when requests begin (a read after a write).
pub struct Clocked<I> {
    inner: I,
    clock: Arc<RequestClock>,
}

impl<I> Clocked<I> {
    /// Wraps `inner`; the clock is for the connection's handler.
    pub fn new(inner: I) -> (Clocked<I>, Arc<RequestClock>) {
        let clock = Arc::new(RequestClock::default());
        (Clocked { inner, clock: Arc::clone(&clock) }, clock)
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Clocked<I> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.clock.read();
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Clocked<I> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.clock.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.clock.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
