//! A fault inside the pool's mapping ends the plugin with an answer instead of a crash.
//!
//! Touching a mapped page that the file no longer backs raises SIGBUS: a writer that truncated
//! the pool without hv_kvp_daemon's lock, or a sparse pool on a full tmpfs whose hole cannot get
//! a page. By default SIGBUS kills the process with nothing on stdout, and the runtime sees a
//! crash rather than an error it can retry. [`answer_on_sigbus`] installs a handler that writes
//! a report prepared beforehand and exits with status 1.
//!
//! The handler may only make async-signal-safe calls (signal-safety(7)): it loads two atomics,
//! calls `write` twice and `_exit`. It formats and allocates nothing: the report is `'static`
//! bytes chosen before the mapping is touched. Returning from the handler would retry the
//! faulting load and fault again, so it never returns.

use std::ffi::c_int;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use nix::libc;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// What the handler writes: stdout for the runtime, stderr for the operator.
#[derive(Debug, Clone, Copy)]
pub struct FaultReport {
    /// The CNI error JSON, newline included.
    pub stdout: &'static [u8],
    /// One line for the log.
    pub stderr: &'static [u8],
}

/// The report of the latest [`answer_on_sigbus`], as (start, length) of each stream's bytes;
/// null and 0 until then.
static STDOUT: (AtomicPtr<u8>, AtomicUsize) = (AtomicPtr::new(std::ptr::null_mut()), AtomicUsize::new(0));
static STDERR: (AtomicPtr<u8>, AtomicUsize) = (AtomicPtr::new(std::ptr::null_mut()), AtomicUsize::new(0));

/// Makes a SIGBUS end the process with `report` and exit status 1. Call before touching a
/// mapping that may fault, from the thread that touches it. One `rt_sigaction` (musl adds one `rt_sigprocmask` the first time a
/// process installs a handler).
pub fn answer_on_sigbus(report: FaultReport) -> Result<(), nix::errno::Errno> {
    for ((start, len), bytes) in [(&STDOUT, report.stdout), (&STDERR, report.stderr)] {
        len.store(bytes.len(), Ordering::Relaxed);
        start.store(bytes.as_ptr().cast_mut(), Ordering::Release);
    }
    let action = SigAction::new(SigHandler::Handler(on_sigbus), SaFlags::empty(), SigSet::empty());
    // SAFETY: `on_sigbus` is async-signal-safe (see the module doc): it reads an atomic and
    // `'static` bytes, and calls only `write` and `_exit`. No previous handler is replaced that
    // anything relies on: the plugin installs no other SIGBUS handler.
    unsafe { sigaction(Signal::SIGBUS, &action) }.map(drop)
}

extern "C" fn on_sigbus(_signal: c_int) {
    for (fd, (start, len)) in [(1, &STDOUT), (2, &STDERR)] {
        let start = start.load(Ordering::Acquire);
        if !start.is_null() {
            // SAFETY: `write` is async-signal-safe. `start` and `len` describe one `'static`
            // slice: the only SIGBUS expected comes from touching the pool's mapping, which
            // happens on the same thread after `answer_on_sigbus` has stored both. A short or
            // failed write cannot be helped from here.
            let _ = unsafe { libc::write(fd, start.cast(), len.load(Ordering::Relaxed)) };
        }
    }
    // SAFETY: `_exit` is async-signal-safe and ends the process without running anything else.
    unsafe { libc::_exit(1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installs_without_error() {
        // The handler itself runs only in a separate process: tests/hardening.rs makes the built
        // plugin fault for real and reads what it wrote.
        answer_on_sigbus(FaultReport { stdout: b"{}\n", stderr: b"fault\n" }).unwrap();
        let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
        // SAFETY: restores the default action; nothing in the test process faults on purpose.
        let current = unsafe { sigaction(Signal::SIGBUS, &default) }.unwrap();
        assert!(matches!(current.handler(), SigHandler::Handler(_)));
    }
}
