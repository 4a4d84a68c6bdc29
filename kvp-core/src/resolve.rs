//! The whole job: pool bytes + a NIC's link address → the NIC's address.

use core::fmt;

use crate::hwaddr::HwAddr;
use crate::ipoib::{IpoibData, Pair, ValueError};
use crate::mac::Mac;
use crate::pool::Pool;

/// The key of the record that holds the pairs.
pub const IPOIB_DATA_KEY: &str = "IPoIB_Data";

/// Why a NIC's address could not be found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResolveError {
    /// The pool holds no whole record (yet: the host has pushed nothing to the daemon), only
    /// `trailing` bytes of a partial one, or none.
    EmptyPool {
        /// Bytes after the last whole record.
        trailing: usize,
    },
    /// The pool has no `IPoIB_Data` record (yet: the host may not have pushed it).
    NoIpoibData,
    /// The `IPoIB_Data` value is malformed.
    Malformed(ValueError),
    /// The value is well formed but lists no pair for this MAC.
    NoPair {
        /// The MAC looked up.
        mac: Mac,
        /// How many pairs the value holds.
        pairs: usize,
    },
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::EmptyPool { trailing: 0 } => f.write_str("KVP pool is empty"),
            ResolveError::EmptyPool { trailing } => write!(f, "KVP pool holds no whole record ({trailing} bytes)"),
            ResolveError::NoIpoibData => write!(f, "KVP pool has no {IPOIB_DATA_KEY} record"),
            ResolveError::Malformed(e) => write!(f, "{e}"),
            ResolveError::NoPair { mac, pairs } => {
                write!(f, "{IPOIB_DATA_KEY} has no pair for MAC {mac} ({pairs} pairs listed)")
            }
        }
    }
}

impl core::error::Error for ResolveError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            ResolveError::Malformed(e) => Some(e),
            ResolveError::EmptyPool { .. } | ResolveError::NoIpoibData | ResolveError::NoPair { .. } => None,
        }
    }
}

impl<'a> IpoibData<'a> {
    /// The `IPoIB_Data` value of `pool` (key matched ignoring ASCII case, the last record
    /// winning, as the Go plugin and `hv_kvp_daemon`'s readers do), checked in full.
    ///
    /// # Errors
    /// [`ResolveError::EmptyPool`] when the pool holds no whole record,
    /// [`ResolveError::NoIpoibData`] when no record has the key, [`ResolveError::Malformed`]
    /// when its value is not a valid `IPoIB_Data` value.
    pub fn from_pool(pool: &Pool<'a>) -> Result<Self, ResolveError> {
        if pool.is_empty() {
            return Err(ResolveError::EmptyPool { trailing: pool.trailing_bytes().len() });
        }
        let record = pool.get_ignore_case(IPOIB_DATA_KEY.as_bytes()).ok_or(ResolveError::NoIpoibData)?;
        IpoibData::parse(record.value()).map_err(ResolveError::Malformed)
    }
}

/// The pair for the NIC `nic` (its MAC, or its link address as a [`HwAddr`]):
/// [`IpoibData::from_pool`], then [`IpoibData::find`]. This is the whole pool-side answer that
/// every reader shares: the checks come in this order, so a pool that is not ready, or a value
/// that is malformed, fails the same way for every NIC.
///
/// # Errors
/// As [`IpoibData::from_pool`], plus [`ResolveError::NoPair`] when the value does not list the NIC.
pub fn resolve(pool: &Pool<'_>, nic: impl Into<Mac>) -> Result<Pair, ResolveError> {
    let data = IpoibData::from_pool(pool)?;
    let mac = nic.into();
    data.find(mac).ok_or(ResolveError::NoPair { mac, pairs: data.len() })
}

impl From<&HwAddr> for Mac {
    fn from(hwaddr: &HwAddr) -> Mac {
        hwaddr.mac()
    }
}

impl From<HwAddr> for Mac {
    fn from(hwaddr: HwAddr) -> Mac {
        hwaddr.mac()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::encode_pool;
    use crate::record::{KEY_LEN, RECORD_LEN};
    use std::vec::Vec;

    const NIC: &[u8] = b"00:00:01:49:fe:80:00:00:00:00:00:00:00:15:5d:ff:fd:33:ff:0b";

    fn pool_bytes(records: &[(&str, &str)]) -> Vec<u8> {
        let mut out = std::vec![0u8; records.len() * RECORD_LEN];
        encode_pool(records, &mut out).unwrap();
        out
    }

    fn nic() -> HwAddr {
        HwAddr::parse_text(NIC).unwrap()
    }

    #[test]
    fn resolves_the_sample_nic() {
        let bytes = pool_bytes(&[("IPoIB_Data", "NUMPAIRS:1|00155D33FF0B:172.16.1.2")]);
        let pair = resolve(&Pool::new(&bytes), nic()).unwrap();
        assert_eq!(pair.ip, "172.16.1.2".parse::<core::net::IpAddr>().unwrap());
    }

    #[test]
    fn a_ghost_pair_behind_the_nul_never_resolves() {
        // The daemon overwrote a two-pair value with a one-pair value; the old second pair is
        // still in the field after the new NUL.
        let mut bytes = pool_bytes(&[("IPoIB_Data", "NUMPAIRS:2|00155D33FF0B:172.16.1.2|00155D33FF0C:172.16.1.3")]);
        let new = b"NUMPAIRS:1|00155D33FF0B:172.16.1.2\0";
        bytes[KEY_LEN..KEY_LEN + new.len()].copy_from_slice(new);
        let pool = Pool::new(&bytes);
        let ghost = HwAddr::Ethernet([0, 0x15, 0x5d, 0x33, 0xff, 0x0c]);
        assert_eq!(resolve(&pool, ghost), Err(ResolveError::NoPair { mac: ghost.mac(), pairs: 1 }));
        assert!(resolve(&pool, nic()).is_ok());
    }

    #[test]
    fn errors() {
        let mac = nic().mac();
        assert_eq!(resolve(&Pool::new(&[]), nic()), Err(ResolveError::EmptyPool { trailing: 0 }));
        assert_eq!(resolve(&Pool::new(&[0; 100]), mac), Err(ResolveError::EmptyPool { trailing: 100 }));
        assert_eq!(
            std::format!("{}", ResolveError::EmptyPool { trailing: 100 }),
            "KVP pool holds no whole record (100 bytes)"
        );
        let bytes = pool_bytes(&[("HostName", "node-1")]);
        assert_eq!(resolve(&Pool::new(&bytes), mac), Err(ResolveError::NoIpoibData));
        let bytes = pool_bytes(&[("ipoib_data", "NUMPAIRS:1|00155D33FF0C:172.16.1.3")]);
        assert_eq!(resolve(&Pool::new(&bytes), nic()), Err(ResolveError::NoPair { mac, pairs: 1 }));
        let bytes = pool_bytes(&[("IPoIB_Data", "NUMPAIRS:x")]);
        assert!(matches!(resolve(&Pool::new(&bytes), nic()), Err(ResolveError::Malformed(_))));
        assert_eq!(
            std::format!("{}", ResolveError::NoPair { mac, pairs: 8 }),
            "IPoIB_Data has no pair for MAC 00155D33FF0B (8 pairs listed)"
        );
    }

    #[test]
    fn from_pool_checks_the_whole_value() {
        let bytes = pool_bytes(&[("IPoIB_Data", "NUMPAIRS:2|00155D33FF0B:172.16.1.2|00155D33FF0C:172.16.1.3")]);
        assert_eq!(IpoibData::from_pool(&Pool::new(&bytes)).map(|d| d.len()), Ok(2));
        let bytes = pool_bytes(&[("IPoIB_Data", "NUMPAIRS:2|00155D33FF0B:172.16.1.2")]);
        assert!(matches!(IpoibData::from_pool(&Pool::new(&bytes)), Err(ResolveError::Malformed(_))));
    }
}
