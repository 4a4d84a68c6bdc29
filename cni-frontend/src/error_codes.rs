//! Which CNI code each host-side failure gets: the one place that decides. The README's
//! error-code table is this file in prose.
//!
//! | failure | code |
//! |---|---|
//! | pool missing, empty, no `IPoIB_Data`, lock not granted in time | 11 (try again later) |
//! | the pool's mapping faulted while being read (SIGBUS) | 11 (try again later) |
//! | pool not a regular file, too large, unreadable | 102 |
//! | `IPoIB_Data` malformed | 101 |
//! | no pair for the NIC's MAC | 100 |
//! | `CNI_NETNS` does not exist | 3 |
//! | `CNI_NETNS` is the plugin's own netns | 8 |
//! | NIC's link or address unreadable (and no sysfs fallback) | 103 |

use std::path::Path;

use kvp_core::{Mac, ResolveError};

use crate::cni::{CniError, CniVersion, Code};
use crate::pool_file::PoolFileError;
use crate::shown::Shown;
use crate::sys::FaultReport;

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

/// The error for a fault inside the pool's mapping, prepared for every version: the SIGBUS
/// handler can only write bytes that exist before the fault. Equal to what
/// `pool_fault_error().to_json(version)` gives (a test holds them to that).
macro_rules! pool_fault_json {
    ($version:literal) => {
        concat!(
            r#"{"cniVersion":""#,
            $version,
            r#"","code":11,"msg":"KVP pool changed or unreadable while being read; retry","#,
            r#""details":"a writer truncated it without hv_kvp_daemon's lock, or its filesystem has no room"}"#,
            "\n"
        )
    };
}

/// What the SIGBUS handler writes when the pool's mapping faults, in `version`'s JSON.
pub fn pool_fault_report(version: CniVersion) -> &'static FaultReport {
    macro_rules! report {
        ($version:literal) => {{
            static REPORT: FaultReport = FaultReport {
                stdout: pool_fault_json!($version).as_bytes(),
                stderr: b"azure-ipoib-ipam-cni: KVP pool changed or unreadable while being read (SIGBUS); answered code 11\n",
            };
            &REPORT
        }};
    }
    match version {
        CniVersion::V0_1_0 => report!("0.1.0"),
        CniVersion::V0_2_0 => report!("0.2.0"),
        CniVersion::V0_3_0 => report!("0.3.0"),
        CniVersion::V0_3_1 => report!("0.3.1"),
        CniVersion::V0_4_0 => report!("0.4.0"),
        CniVersion::V1_0_0 => report!("1.0.0"),
        CniVersion::V1_1_0 => report!("1.1.0"),
    }
}

/// The error [`pool_fault_report`] writes, as a value.
pub fn pool_fault_error() -> CniError {
    CniError::new(Code::TryAgainLater, "KVP pool changed or unreadable while being read; retry")
        .with_details("a writer truncated it without hv_kvp_daemon's lock, or its filesystem has no room")
}

/// A pool with no whole record yet: empty, or only `trailing` bytes of a partial one.
pub fn empty_pool(path: &Path, trailing: usize) -> CniError {
    let msg = match trailing {
        0 => format!("KVP pool {} is empty", Shown::path(path)),
        n => format!("KVP pool {} holds no whole record ({n} bytes)", Shown::path(path)),
    };
    CniError::new(Code::TryAgainLater, msg)
        .with_details("the host has not pushed KVP data to hv_kvp_daemon yet; retry later")
}

/// A lookup failure, for the pool at `path`.
pub fn resolve_error(e: ResolveError, path: &Path) -> CniError {
    match e {
        ResolveError::NoIpoibData => CniError::new(
            Code::TryAgainLater,
            format!("KVP pool {} has no {} record", Shown::path(path), kvp_core::IPOIB_DATA_KEY),
        )
        .with_details("the host publishes it on InfiniBand VM sizes once the IB NICs are up; retry later"),
        ResolveError::Malformed(e) => CniError::new(Code::MalformedIpoibData, format!("malformed {e}"))
            .with_details(format!("in KVP pool {}", Shown::path(path))),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prepared_fault_report_is_the_error_json_of_each_version() {
        for version in crate::cni::version::SUPPORTED {
            let report = pool_fault_report(version);
            assert_eq!(report.stdout, pool_fault_error().to_json(version.as_str()), "{version}");
            assert!(report.stderr.ends_with(b"\n"));
        }
    }
}
