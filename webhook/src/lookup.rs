//! The webhook's side of the one lookup: the pool copied under its lock, then the host crate's
//! [`ipoib_host::lookup`] on the copy. Where a busy lock is waited for is the caller's choice:
//! `routes` tries [`read_pool_with`] without waiting, and runs [`read_pool`], which waits, on a
//! blocking thread so the event loop keeps serving.

use std::path::Path;
use std::time::Duration;

use ipoib_host::pool_file::{self, PoolFileError, PoolFileErrorKind, PoolReader};
use ipoib_host::{Assigned, Nic, Question, Source, Why};
use kvp_core::Mac;

/// A copy of the pool at `path`, read under its OFD read lock, waiting up to `timeout` for a
/// writer. A copy, not a mapping: a long-running process must not risk SIGBUS.
pub fn read_pool(path: &Path, timeout: Duration) -> Result<Vec<u8>, Why> {
    pool_file::read_locked(path, timeout).map_err(Why::Pool)
}

/// The same copy through `reader`, which keeps the file open between requests (no open: three
/// syscalls and one of two path walks fewer per request; a replaced file is still seen at once).
pub fn read_pool_with(reader: &mut PoolReader, timeout: Duration) -> Result<Vec<u8>, Why> {
    reader.read(timeout).map_err(Why::Pool)
}

/// Whether `why` is only the lock being held (worth waiting for off the event loop).
pub fn is_lock_busy(why: &Why) -> bool {
    matches!(why, Why::Pool(PoolFileError { kind: PoolFileErrorKind::LockTimeout { .. }, .. }))
}

/// The address `IPoIB_Data` in `pool` (read from `path`) assigns to `mac`, with `prefix_length`.
pub fn address(path: &Path, pool: &[u8], mac: Mac, prefix_length: u8) -> Result<Assigned, Why> {
    let question = Question { nic: Nic::Mac(mac), prefix_length };
    ipoib_host::lookup(Source::Read { path, bytes: pool }, question, &mut |_| {})
}
