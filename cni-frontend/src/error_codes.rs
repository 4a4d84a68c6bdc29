//! Which CNI code each host-side failure gets: the one place that decides. The README's
//! error-code table is this file in prose.
//!
//! | failure | code |
//! |---|---|
//! | pool missing, empty, no `IPoIB_Data`, lock not granted in time | 11 (try again later) |
//! | pool not a regular file, too large, unreadable | 102 |
//! | `IPoIB_Data` malformed | 101 |
//! | no pair for the NIC's MAC | 100 |
//! | `CNI_NETNS` does not exist | 3 |
//! | NIC's link or address unreadable (and no sysfs fallback) | 103 |

use std::path::Path;

use kvp_core::{Mac, ResolveError};

use crate::cni::{CniError, Code};
use crate::pool_file::PoolFileError;

impl From<PoolFileError> for CniError {
    fn from(e: PoolFileError) -> CniError {
        let (code, details) = match &e {
            PoolFileError::Missing(_) => {
                (Code::TryAgainLater, "hv_kvp_daemon (package hyperv-daemons) creates it; is it running?")
            }
            PoolFileError::LockTimeout(..) => {
                (Code::TryAgainLater, "hv_kvp_daemon is rewriting the pool; retry, or raise ipam.lockTimeoutMs")
            }
            PoolFileError::NotRegular(..) | PoolFileError::TooLarge(..) => (
                Code::PoolUnusable,
                "ipam.kvpPath must name hv_kvp_daemon's pool file, normally /var/lib/hyperv/.kvp_pool_0",
            ),
            PoolFileError::Io(..) => (Code::PoolUnusable, "check the path and its permissions"),
        };
        CniError::new(code, e.to_string()).with_details(details)
    }
}

/// A pool with no whole record yet: empty, or only `trailing` bytes of a partial one.
pub fn empty_pool(path: &Path, trailing: usize) -> CniError {
    let msg = match trailing {
        0 => format!("KVP pool {} is empty", path.display()),
        n => format!("KVP pool {} holds no whole record ({n} bytes)", path.display()),
    };
    CniError::new(Code::TryAgainLater, msg)
        .with_details("the host has not pushed KVP data to hv_kvp_daemon yet; retry later")
}

/// A lookup failure, for the pool at `path`.
pub fn resolve_error(e: ResolveError, path: &Path) -> CniError {
    match e {
        ResolveError::NoIpoibData => CniError::new(
            Code::TryAgainLater,
            format!("KVP pool {} has no {} record", path.display(), kvp_core::IPOIB_DATA_KEY),
        )
        .with_details("the host publishes it on InfiniBand VM sizes once the IB NICs are up; retry later"),
        ResolveError::Malformed(e) => CniError::new(Code::MalformedIpoibData, format!("malformed {e}"))
            .with_details(format!("in KVP pool {}", path.display())),
        ResolveError::NoPair { mac, pairs } => no_pair(mac, pairs),
        // `ResolveError` may grow; a new kind is a malformed pool until it gets its own code.
        e => CniError::new(Code::MalformedIpoibData, e.to_string())
            .with_details(format!("in KVP pool {}", path.display())),
    }
}

/// No pair for `mac` among `pairs`.
pub fn no_pair(mac: Mac, pairs: usize) -> CniError {
    CniError::new(
        Code::NoAddressForNic,
        format!("{} has no pair for MAC {mac} ({pairs} pairs listed)", kvp_core::IPOIB_DATA_KEY),
    )
    .with_details("the NIC is not one the host assigned an IPoIB address to, or the host has not published it yet")
}
