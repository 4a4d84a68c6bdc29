//! azure-ipoib-ipam-cni: the CNI IPAM plugin that gives an InfiniBand NIC the IPoIB address that
//! Azure's host published for it in Hyper-V KVP.

// No panic path on input: the workspace lints deny indexing, unwrapping and panics in the
// library (its unit tests may), and `unsafe_code`, which only `sys` is allowed.

pub mod call_log;
pub mod cli;
pub mod cni;
pub mod commands;
pub mod error_codes;
pub mod link;
pub mod log_file;
pub mod netlink;
pub mod nic;
pub mod pool_file;
pub mod regular_file;
pub mod run;
pub mod shown;
#[allow(unsafe_code)]
pub mod sys;
pub mod sysfs;
pub mod whole_lines;
