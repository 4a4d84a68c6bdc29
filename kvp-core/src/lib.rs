//! Read (and write) Hyper-V KVP pool files and Azure's `IPoIB_Data` value, in place.
//!
//! On Azure RDMA VMs the host tells the guest each InfiniBand NIC's IPoIB address through Hyper-V
//! KVP: `hv_kvp_daemon` keeps `/var/lib/hyperv/.kvp_pool_0`, a flat array of 2560-byte records
//! (512-byte key, 2048-byte value, each NUL-terminated), and the record keyed `IPoIB_Data` holds
//! `NUMPAIRS:<n>|<MAC>:<IP>|…`.
//!
//! This crate is `no_std`, allocation-free and free of `unsafe`, so the same parser serves a CNI
//! plugin, an initramfs hook or a VM agent. Every item is at the crate root:
//!
//! - [`Pool`] views the bytes of a (memory-mapped) pool file as [`Record`]s without copying them;
//! - [`IpoibData`] is a checked `IPoIB_Data` value: [`IpoibData::from_pool`] finds and checks it,
//!   [`IpoibData::find`] looks a NIC up;
//! - [`HwAddr`] turns a NIC's link address (20-byte IPoIB or 6-byte Ethernet) into the [`Mac`]
//!   that `IPoIB_Data` names;
//! - [`resolve`] does the whole lookup in one call;
//! - [`encode_record`], [`encode_pool`] and [`encode_ipoib_data`] write the format, for tests,
//!   fixtures and tools.
//!
//! # The whole lookup
//! Pool bytes and a NIC's link address (here as `/sys/class/net/<nic>/address` prints it) give
//! the NIC's address:
//!
//! ```
//! use kvp_core::{encode_pool, HwAddr, IpoibData, Pool, ResolveError, RECORD_LEN};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // On a VM: std::fs::read("/var/lib/hyperv/.kvp_pool_0")?
//! let mut bytes = vec![0u8; RECORD_LEN];
//! encode_pool(&[("IPoIB_Data", "NUMPAIRS:1|00155D33FF0B:172.16.1.2")], &mut bytes)?;
//! // On a VM: std::fs::read("/sys/class/net/ib0/address")?
//! let address = b"00:00:01:49:fe:80:00:00:00:00:00:00:00:15:5d:ff:fd:33:ff:0b\n";
//!
//! let nic = HwAddr::parse_text(address)?;
//! let data = IpoibData::from_pool(&Pool::new(&bytes))?;
//! match data.find(nic.mac()) {
//!     Some(pair) => assert_eq!(pair.ip.to_string(), "172.16.1.2"),
//!     None => return Err(ResolveError::NoPair { mac: nic.mac(), pairs: data.len() }.into()),
//! }
//!
//! // Or in one call, with every "why not" as a `ResolveError`:
//! assert_eq!(kvp_core::resolve(&Pool::new(&bytes), &nic)?.ip.to_string(), "172.16.1.2");
//! assert_eq!(kvp_core::resolve(&Pool::new(&[]), &nic), Err(ResolveError::EmptyPool { trailing: 0 }));
//! # Ok(())
//! # }
//! ```
//!
//! # Errors
//! Every error type implements [`core::error::Error`] and says what is wrong and where (pair
//! index, offset, limit) without echoing the pool's contents, so messages are safe to log. The
//! enums are `#[non_exhaustive]`.
//!
//! # No-panic contract
//! Every function here accepts arbitrary bytes and reports bad input as an error value; none
//! indexes a slice unchecked (`clippy::indexing_slicing` is denied) and the fuzz targets in
//! `fuzz/` hold it to that.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// The workspace lints deny indexing, unwrapping and panics here (the unit tests may).

#[cfg(test)]
extern crate std;

mod encode;
mod hwaddr;
mod ipoib;
mod mac;
mod pool;
mod record;
mod resolve;

pub use encode::{encode_ipoib_data, encode_pool, encode_record, EncodeError};
pub use hwaddr::{port_guid_from_gid_text, HwAddr, HwAddrError, ETH_ALEN, INFINIBAND_ALEN};
pub use ipoib::{IpoibData, Pair, Pairs, ValueError, ValueErrorKind};
pub use mac::{Mac, MacError};
pub use pool::Pool;
pub use record::{Field, FieldNotUtf8, RawRecord, Record, KEY_LEN, RECORD_LEN, VALUE_LEN};
pub use resolve::{resolve, ResolveError, IPOIB_DATA_KEY};
