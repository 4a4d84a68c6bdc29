//! The webhook's face of [`Why`]: an HTTP status, the metric's reason and a short body, mapped
//! once with an exhaustive `match`:
//!
//! | failure | status |
//! |---|---|
//! | no pair for the MAC | 404 |
//! | pool missing, empty, locked past `--lock-timeout-ms`, no `IPoIB_Data` | 503 (retry) |
//! | pool not a regular file, too large, unreadable; `IPoIB_Data` malformed | 503 (retry) |
//! | `--prefix-length` too long for the address | 500 (the webhook's misconfiguration) |
//!
//! Every pool failure is 503, not 500: kubelet retries NodePrepareResources on it, and a pool
//! the host has not filled yet, or is rewriting, is the common case.

use hyper::StatusCode;
use ipoib_host::pool_file::PoolFileErrorKind;
use ipoib_host::Why;
use kvp_core::HwAddr;

/// How a failed lookup is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The status.
    pub status: StatusCode,
    /// A short name for a pool failure, the `reason` label of the pool-failure metric; `None`
    /// for a lookup that read the pool fine.
    pub pool_failure: Option<&'static str>,
    /// The body: what went wrong, for the MAC asked about.
    pub body: String,
}

/// The answer for `why`, for the NIC `hwaddr`.
pub fn of(why: &Why, hwaddr: &HwAddr) -> Failure {
    let unavailable = |reason| (StatusCode::SERVICE_UNAVAILABLE, Some(reason));
    let (status, pool_failure) = match why {
        Why::NoPair { .. } => (StatusCode::NOT_FOUND, None),
        Why::Pool(e) => unavailable(match e.kind {
            PoolFileErrorKind::Missing => "missing",
            PoolFileErrorKind::LockTimeout { .. } => "lock_timeout",
            PoolFileErrorKind::Symlink
            | PoolFileErrorKind::NotRegular { .. }
            | PoolFileErrorKind::TooLarge { .. }
            | PoolFileErrorKind::Io { .. } => "unusable",
        }),
        Why::PoolEmpty { .. } => unavailable("empty"),
        Why::NoIpoibData { .. } => unavailable("no_ipoib_data"),
        Why::Malformed { .. } => unavailable("malformed"),
        Why::PrefixTooLong { prefix, ip, .. } => {
            let body = format!("MAC {hwaddr}: --prefix-length {prefix} is too long for {ip}");
            return Failure { status: StatusCode::INTERNAL_SERVER_ERROR, pool_failure: None, body };
        }
        // The webhook is asked by MAC, never by link: these cannot happen here.
        Why::NetnsMissing(_) | Why::NetnsIsOwn(_) | Why::IpoibChild(_) | Why::NicUnreadable { .. } => {
            (StatusCode::INTERNAL_SERVER_ERROR, None)
        }
    };
    Failure { status, pool_failure, body: format!("MAC {hwaddr}: {why}") }
}
