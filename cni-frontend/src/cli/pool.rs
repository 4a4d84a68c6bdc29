//! The CLI's view of a pool's content: a copy read under hv_kvp_daemon's lock, and the host
//! crate's lookup on it (`kvp`, `ipoib`, `doctor`). `ipoib --netns` alone hands the pool's path
//! to the host crate's lookup instead, as ADD does, so that the NIC is read before the lock is
//! taken. The CLI's calls of kvp-core's record, `IPoIB_Data` and hardware-address API are all
//! here (the parsers at the end of this file), so a change of that API touches one file of the
//! CLI.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ipoib_host::defaults;
use ipoib_host::{lookup, Assigned, Question, Source};
use kvp_core::{IpoibData, Mac, Pair, Pool};

use super::report::CliError;
use crate::pool_file;
use crate::Why;

/// How long to wait for hv_kvp_daemon's write lock: the plugin's default.
pub const LOCK_TIMEOUT: Duration = Duration::from_millis(defaults::LOCK_TIMEOUT_MS as u64);

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

    /// The validated `IPoIB_Data`.
    pub fn ipoib_data(&self) -> Result<IpoibData<'_>, CliError> {
        IpoibData::from_pool(&self.pool()).map_err(|e| Why::from_resolve(e, self.path.clone()).into())
    }

    /// Every pair of `IPoIB_Data`.
    pub fn pairs(&self) -> Result<Vec<Pair>, CliError> {
        Ok(self.ipoib_data()?.pairs().collect())
    }

    /// The host crate's answer to `question` from this copy, or why there is none.
    pub fn lookup(&self, question: Question<'_>) -> Result<Assigned, CliError> {
        Ok(lookup(Source::Read { path: &self.path, bytes: &self.bytes }, question, &mut |_| {})?)
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
