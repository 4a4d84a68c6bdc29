//! The CLI's one view of a pool: a copy read under hv_kvp_daemon's lock, and the plugin's own
//! lookup on it. Every kvp-core call of the CLI is here, so a change of that API touches one file.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kvp_core::{IpoibData, Mac, Pair, Pool};

use super::report::CliError;
use crate::cni::netconf::DEFAULT_LOCK_TIMEOUT_MS;
use crate::error_codes::{empty_pool, no_pair, resolve_error};
use crate::pool_file;

/// How long to wait for hv_kvp_daemon's write lock: the plugin's default.
pub const LOCK_TIMEOUT: Duration = Duration::from_millis(DEFAULT_LOCK_TIMEOUT_MS as u64);

/// A pool's bytes, copied under the read lock that ADD takes.
pub struct Snapshot {
    path: PathBuf,
    bytes: Vec<u8>,
}

impl Snapshot {
    /// Reads the pool at `path` under the lock.
    pub fn read(path: &Path) -> Result<Snapshot, CliError> {
        let bytes = pool_file::read_locked(path, LOCK_TIMEOUT)?;
        Ok(Snapshot { path: path.to_path_buf(), bytes })
    }

    /// The file's size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    fn pool(&self) -> Pool<'_> {
        Pool::new(&self.bytes)
    }

    /// The number of whole records, and the bytes of a partial one at the end.
    pub fn record_count(&self) -> (usize, usize) {
        let pool = self.pool();
        (pool.len(), pool.trailing_bytes().len())
    }

    /// Every record's key and value, each cut at its NUL, in file order.
    pub fn records(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.pool().records().map(|r| (r.key(), r.value()))
    }

    /// The value of `key` (the last record, if repeated, as hv_kvp_daemon reads it).
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.pool().get(key).map(|r| r.value())
    }

    /// The validated `IPoIB_Data`, with the plugin's errors.
    pub fn ipoib_data(&self) -> Result<IpoibData<'_>, CliError> {
        let (records, trailing) = self.record_count();
        if records == 0 {
            return Err(empty_pool(&self.path, trailing).into());
        }
        IpoibData::from_pool(&self.pool()).map_err(|e| resolve_error(e, &self.path).into())
    }

    /// Every pair of `IPoIB_Data`.
    pub fn pairs(&self) -> Result<Vec<Pair>, CliError> {
        Ok(self.ipoib_data()?.pairs().collect())
    }

    /// The address of `mac`, or the plugin's error for why there is none.
    pub fn address_of(&self, mac: Mac) -> Result<IpAddr, CliError> {
        let data = self.ipoib_data()?;
        let pair = data.find(mac).ok_or_else(|| CliError::from(no_pair(mac, data.len())))?;
        Ok(pair.ip)
    }
}

/// The MAC `IPoIB_Data` uses for the port whose GID 0 sysfs prints as `gid_text`, and the port
/// GUID (`xxxx:xxxx:xxxx:xxxx`).
pub fn mac_of_port_gid(gid_text: &[u8]) -> Result<(Mac, String), kvp_core::HwAddrError> {
    let guid = kvp_core::port_guid_from_gid_text(gid_text)?;
    let groups: Vec<String> = guid.chunks(2).map(|g| g.iter().map(|b| format!("{b:02x}")).collect()).collect();
    Ok((Mac::from_port_guid(guid), groups.join(":")))
}

/// The MAC of a link address as sysfs and `ip link` print it.
pub fn mac_of_link_address(text: &[u8]) -> Result<Mac, kvp_core::HwAddrError> {
    kvp_core::HwAddr::parse_text(text.strip_suffix(b"\n").unwrap_or(text)).map(|h| h.mac())
}
