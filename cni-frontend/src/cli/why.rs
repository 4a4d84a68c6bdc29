//! The CLI's face of [`Why`]: an exit status and a hint, mapped once with an exhaustive `match`.
//!
//! The message is the host crate's own wording; the hint says what an operator at a shell can
//! check. Reasons that waiting may cure exit [`TRY_AGAIN_STATUS`], so a boot script can retry
//! on that status alone.

use ipoib_host::pool_file::{PoolFileError, PoolFileErrorKind};
use ipoib_host::Why;

use super::report::CliError;
use crate::outside_value::Shown;

/// Exit status when the node is not ready yet (pool missing, locked, empty, or without
/// `IPoIB_Data`): try again later.
pub const TRY_AGAIN_STATUS: i32 = 3;

impl From<Why> for CliError {
    fn from(why: Why) -> CliError {
        CliError::from(&why)
    }
}

impl From<&Why> for CliError {
    fn from(why: &Why) -> CliError {
        let status = if why.is_transient() { TRY_AGAIN_STATUS } else { 1 };
        let hint = match why {
            Why::Pool(e) => pool_hint(e).to_string(),
            Why::PoolEmpty { .. } => "the host has not pushed KVP data to hv_kvp_daemon yet; retry later".into(),
            Why::NoIpoibData { .. } => {
                "the host publishes it on InfiniBand VM sizes once the IB NICs are up; retry later".into()
            }
            Why::Malformed { path, .. } => {
                format!("in KVP pool {}; `kvp get IPoIB_Data` shows the value", Shown::path(path))
            }
            Why::NoPair { .. } => {
                "`ipoib` lists the pairs; the NIC may not be one the host assigned an address to".into()
            }
            Why::NetnsMissing(_) => "check the path: `ip netns list`, or /proc/PID/ns/net of the pod's process".into(),
            Why::NetnsIsOwn(_) => "give the pod's netns, not this shell's".into(),
            Why::IpoibChild(_) => {
                "ipoib-cni child links share their parent's address; ask about the parent NIC instead".into()
            }
            Why::NicUnreadable { .. } => "check the name with `ip -n NETNS link`; run as root".into(),
            Why::PrefixTooLong { .. } => "lower ipam.prefixLength in the config".into(),
        };
        CliError { msg: why.to_string(), hint, status }
    }
}

impl From<PoolFileError> for CliError {
    fn from(e: PoolFileError) -> CliError {
        Why::Pool(e).into()
    }
}

fn pool_hint(e: &PoolFileError) -> &'static str {
    match e.kind {
        PoolFileErrorKind::Missing => "hv_kvp_daemon (package hyperv-daemons) creates it; is it running?",
        PoolFileErrorKind::LockTimeout { .. } => "hv_kvp_daemon is rewriting the pool; retry",
        PoolFileErrorKind::Symlink => "give the pool file itself; no symlink is followed",
        PoolFileErrorKind::NotRegular { .. } | PoolFileErrorKind::TooLarge { .. } => {
            "give hv_kvp_daemon's pool file, normally /var/lib/hyperv/.kvp_pool_0"
        }
        PoolFileErrorKind::Io { .. } => "check the path and its permissions; run as root",
    }
}
