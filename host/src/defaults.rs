//! The facts every face shares, in one place and one type each: where the pool is, the prefix
//! length assumed, how long to wait for hv_kvp_daemon's lock, and how long a prefix may be. The
//! plugin's config, the CLI and the webhook's flags all read them from here.

use std::net::IpAddr;

/// Where hv_kvp_daemon keeps pool 0 (host → guest data).
pub const KVP_PATH: &str = "/var/lib/hyperv/.kvp_pool_0";
/// The prefix length Azure's agent and the Go plugin assume.
pub const PREFIX_LENGTH: u8 = 16;
/// How long to wait for hv_kvp_daemon's write lock to clear, in milliseconds.
pub const LOCK_TIMEOUT_MS: u32 = 2000;
/// The longest lock wait a config or flag may ask for, in milliseconds.
pub const MAX_LOCK_TIMEOUT_MS: u32 = 60_000;
/// The longest prefix of an IPv4 address.
pub const MAX_PREFIX_V4: u8 = 32;
/// The longest prefix of an IPv6 address.
pub const MAX_PREFIX_V6: u8 = 128;

/// The longest prefix `ip`'s family allows.
pub fn max_prefix(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => MAX_PREFIX_V4,
        IpAddr::V6(_) => MAX_PREFIX_V6,
    }
}
