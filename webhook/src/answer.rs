//! The one place a lookup failure becomes an HTTP status, as `error_codes` is for the plugin's
//! CNI codes:
//!
//! | failure | status |
//! |---|---|
//! | no pair for the MAC | 404 |
//! | pool missing, empty, locked past `--lock-timeout-ms`, no `IPoIB_Data` | 503 (retry) |
//! | pool not a regular file, too large, unreadable; `IPoIB_Data` malformed | 503 (retry) |
//!
//! Every pool failure is 503, not 500: kubelet retries NodePrepareResources on it, and a pool
//! the host has not filled yet, or is rewriting, is the common case.

use cni_frontend::pool_file::PoolFileErrorKind;
use hyper::StatusCode;
use kvp_core::ResolveError;

use crate::lookup::LookupError;

/// The status for a failed lookup.
pub fn status(e: &LookupError) -> StatusCode {
    match e {
        LookupError::Resolve(ResolveError::NoPair { .. }) => StatusCode::NOT_FOUND,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// A short name for the failure, the `reason` label of the pool-failure metric; `None` for a
/// lookup that read the pool fine and found no pair.
pub fn pool_failure(e: &LookupError) -> Option<&'static str> {
    Some(match e {
        LookupError::Resolve(ResolveError::NoPair { .. }) => return None,
        LookupError::Pool(e) => match e.kind {
            PoolFileErrorKind::Missing => "missing",
            PoolFileErrorKind::LockTimeout { .. } => "lock_timeout",
            _ => "unusable",
        },
        LookupError::Empty { .. } => "empty",
        LookupError::Resolve(ResolveError::NoIpoibData) => "no_ipoib_data",
        LookupError::Resolve(ResolveError::Malformed(_)) => "malformed",
        // kvp-core's errors are non-exhaustive: a new one is a pool problem until mapped here.
        LookupError::Resolve(_) => "unusable",
    })
}
