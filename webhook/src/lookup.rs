//! The shared question — "which address does this NIC get, and if none, why?" — asked of the
//! pool file. The only module that calls the pool reader and kvp-core, so a change to either's
//! API lands here alone.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use cni_frontend::pool_file::{self, PoolFileError, PoolFileErrorKind, PoolReader};
use kvp_core::{IpoibData, Mac, Pool, ResolveError};

/// Why a NIC has no address now.
#[derive(Debug)]
pub enum LookupError {
    /// The pool file could not be opened, locked or read.
    Pool(PoolFileError),
    /// The pool holds no whole record yet (`trailing` bytes of a partial one).
    Empty {
        /// Bytes after the last whole record.
        trailing: usize,
    },
    /// No `IPoIB_Data`, a malformed one, or no pair for the MAC.
    Resolve(ResolveError),
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupError::Pool(e) => write!(f, "{e}"),
            LookupError::Empty { trailing: 0 } => f.write_str("KVP pool is empty"),
            LookupError::Empty { trailing } => write!(f, "KVP pool holds no whole record ({trailing} bytes)"),
            LookupError::Resolve(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for LookupError {}

/// A copy of the pool at `path`, read under its OFD read lock, waiting up to `timeout` for a
/// writer. A copy, not a mapping: a long-running process must not risk SIGBUS.
pub fn read_pool(path: &Path, timeout: Duration) -> Result<Vec<u8>, LookupError> {
    pool_file::read_locked(path, timeout).map_err(LookupError::Pool)
}

/// The same copy through `reader`, which keeps the file open between requests (one syscall and
/// a path walk fewer per request; a replaced file is still seen at once).
pub fn read_pool_with(reader: &mut PoolReader, timeout: Duration) -> Result<Vec<u8>, LookupError> {
    reader.read(timeout).map_err(LookupError::Pool)
}

/// Whether `e` is only the lock being held (worth waiting for off the event loop).
pub fn is_lock_busy(e: &LookupError) -> bool {
    matches!(e, LookupError::Pool(PoolFileError { kind: PoolFileErrorKind::LockTimeout { .. }, .. }))
}

/// The address `IPoIB_Data` in `pool` assigns to `mac`. kvp-core checks the whole value first,
/// as for the plugin, so a malformed value fails the same way for every NIC.
pub fn address(pool: &[u8], mac: Mac) -> Result<IpAddr, LookupError> {
    let pool = Pool::new(pool);
    if pool.is_empty() {
        return Err(LookupError::Empty { trailing: pool.trailing_bytes().len() });
    }
    let data = IpoibData::from_pool(&pool).map_err(LookupError::Resolve)?;
    match data.find(mac) {
        Some(pair) => Ok(pair.ip),
        None => Err(LookupError::Resolve(ResolveError::NoPair { mac, pairs: data.len() })),
    }
}
