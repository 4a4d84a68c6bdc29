//! Read (and write) Hyper-V KVP pool files and Azure's `IPoIB_Data` value, in place.
//!
//! On Azure RDMA VMs the host tells the guest each InfiniBand NIC's IPoIB address through Hyper-V
//! KVP: `hv_kvp_daemon` keeps `/var/lib/hyperv/.kvp_pool_0`, a flat array of 2560-byte records
//! (512-byte key, 2048-byte value, each NUL-terminated), and the record keyed `IPoIB_Data` holds
//! `NUMPAIRS:<n>|<MAC>:<IP>|…`.
//!
//! This crate is `no_std`, allocation-free and free of `unsafe`, so the same parser serves a CNI
//! plugin, an initramfs hook or a VM agent:
//!
//! - [`Pool`] views the bytes of a (memory-mapped) pool file as records without copying them;
//! - [`IpoibData`] parses the `IPoIB_Data` value lazily, pair by pair;
//! - [`HwAddr`] turns a NIC's link address (20-byte IPoIB or 6-byte Ethernet) into the [`Mac`]
//!   that `IPoIB_Data` names;
//! - [`resolve`] ties the three together: pool bytes + link address → the NIC's address;
//! - [`encode`] writes records and values in the same format, for tests, fixtures and tools.
//!
//! # No-panic contract
//! Every function here accepts arbitrary bytes and reports bad input as an error value; none
//! indexes a slice unchecked (`clippy::indexing_slicing` is denied) and the fuzz targets in
//! `fuzz/` hold it to that.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Tests may index and unwrap; the library may not.
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic))]

#[cfg(test)]
extern crate std;

pub mod encode;
pub mod hwaddr;
pub mod ipoib;
pub mod mac;
pub mod pool;
pub mod record;
pub mod resolve;

pub use encode::{encode_ipoib_data, encode_pool, encode_record, EncodeError};
pub use hwaddr::{HwAddr, HwAddrError};
pub use ipoib::{IpoibData, Pair, Pairs, ValueError, ValueErrorKind};
pub use mac::{Mac, MacError};
pub use pool::Pool;
pub use record::{Field, FieldNotUtf8, RawRecord, Record, KEY_LEN, RECORD_LEN, VALUE_LEN};
pub use resolve::{ipoib_data, resolve, resolve_mac, ResolveError, IPOIB_DATA_KEY};
