//! `ipoib up --watch`: a pass at start, then one after each change, and no CPU in between.
//!
//! It sleeps in one `poll` on three descriptors, with no timeout unless a pass is due:
//! - inotify on the pool's directory: hv_kvp_daemon rewrites the file in place (truncate, then
//!   write every record), which is a burst of modifications ending in a close;
//! - an rtnetlink socket subscribed to link notifications: a link that appears, or comes back
//!   up;
//! - a signalfd for SIGTERM and SIGINT, which end the watch cleanly, leaving the addresses in
//!   place.
//!
//! Events are debounced: a pass runs once [`QUIET`] has passed without another, or at most
//! [`MAX_DELAY`] after the first. A pool whose writer held the lock past the timeout is tried
//! again after [`LOCK_RETRY`], never taken for "no pairs".

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use super::rtnl::LinkEvents;
use super::up::{once, Outcome, Settings, UpError};
use crate::pool_file::PoolFileErrorKind;
use crate::why::Why;

/// How long a burst of events must be quiet before a pass.
pub const QUIET: Duration = Duration::from_millis(100);
/// The longest a pass waits after the first event of a burst.
pub const MAX_DELAY: Duration = Duration::from_millis(500);
/// When a pool locked past the timeout is tried again.
pub const LOCK_RETRY: Duration = Duration::from_secs(1);

/// Why the watch could not start or go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchError {
    /// What it was doing.
    pub step: &'static str,
    /// The errno.
    pub errno: Errno,
}

impl std::fmt::Display for WatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot {}: {}", self.step, self.errno.desc())
    }
}

impl std::error::Error for WatchError {}

/// Watches until SIGTERM or SIGINT, handing each pass's outcome to `report`; returns the
/// signal that ended it.
pub fn watch(settings: &Settings, report: &mut dyn FnMut(&Outcome)) -> Result<Signal, WatchError> {
    let fail = |step| move |errno| WatchError { step, errno };
    let mut stop = SigSet::empty();
    stop.add(Signal::SIGTERM);
    stop.add(Signal::SIGINT);
    stop.thread_block().map_err(fail("block SIGTERM and SIGINT"))?;
    let signals =
        SignalFd::with_flags(&stop, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK).map_err(fail("open a signalfd"))?;
    let dir = settings.pool.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let pool_name = settings.pool.file_name().map(|n| n.to_os_string());
    let inotify = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK).map_err(fail("start inotify"))?;
    let changes = AddWatchFlags::IN_MODIFY
        | AddWatchFlags::IN_CLOSE_WRITE
        | AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_DELETE;
    inotify.add_watch(dir, changes).map_err(fail("watch the pool's directory"))?;
    let links =
        LinkEvents::subscribe().map_err(|e| WatchError { step: "subscribe to link events", errno: e.errno() })?;

    // Subscribed before the first pass, so nothing that happens during it is missed.
    let mut due = Some(Instant::now());
    let mut burst_start: Option<Instant> = None;
    loop {
        let timeout = match due {
            Some(at) => PollTimeout::try_from(at.saturating_duration_since(Instant::now())).unwrap_or(PollTimeout::MAX),
            None => PollTimeout::NONE,
        };
        let mut fds = [
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
            PollFd::new(inotify.as_fd(), PollFlags::POLLIN),
            PollFd::new(links.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(errno) => return Err(WatchError { step: "wait for events", errno }),
        }
        let ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
        let [signal_fd, inotify_fd, links_fd] = &fds;
        if ready(signal_fd) {
            if let Ok(Some(info)) = signals.read_signal() {
                return Ok(Signal::try_from(info.ssi_signo as i32).unwrap_or(Signal::SIGTERM));
            }
        }
        let mut changed = false;
        if ready(inotify_fd) {
            let events = inotify.read_events().unwrap_or_default();
            // An overflowed queue lost events: something may have changed.
            changed |= events
                .iter()
                .any(|e| (e.name.is_some() && e.name == pool_name) || e.mask.contains(AddWatchFlags::IN_Q_OVERFLOW));
        }
        if ready(links_fd) {
            // A socket error (the queue overflowed) means something changed too.
            changed |= links.drain().map_or(true, |seen| seen > 0);
        }
        let now = Instant::now();
        if changed {
            let start = *burst_start.get_or_insert(now);
            due = Some((now + QUIET).min(start + MAX_DELAY));
        }
        if due.is_some_and(|at| at <= now) {
            due = None;
            burst_start = None;
            let outcome = once(settings);
            report(&outcome);
            if let Err(UpError::Pool(Why::Pool(e))) = &outcome {
                if matches!(e.kind, PoolFileErrorKind::LockTimeout { .. }) {
                    due = Some(Instant::now() + LOCK_RETRY);
                }
            }
        }
    }
}
