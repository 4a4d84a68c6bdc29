//! azure-ipoib-ipam-cni: the CNI IPAM plugin that gives an InfiniBand NIC the IPoIB address that
//! Azure's host published for it in Hyper-V KVP.

// No panic path on input: the library may not index, unwrap or panic (its tests may).
// `unsafe` lives in `sys` alone.
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod call_log;
pub mod cni;
pub mod commands;
pub mod error_codes;
pub mod link;
pub mod netlink;
pub mod nic;
pub mod pool_file;
pub mod run;
pub mod shown;
#[allow(unsafe_code)]
pub mod sys;
pub mod sysfs;
