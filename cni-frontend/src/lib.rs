//! azure-ipoib-ipam-cni: the CNI IPAM plugin that gives an InfiniBand NIC the IPoIB address that
//! Azure's host published for it in Hyper-V KVP.

// No panic path on input: the workspace lints deny indexing, unwrapping and panics in the
// library (its unit tests may), and `unsafe_code`, which only `sys` is allowed.

pub mod call_log;
pub mod cli;
pub mod cni;
pub mod cni_errors;
pub mod commands;
pub mod log_file;
pub mod run;
#[allow(unsafe_code)]
pub mod sys;
pub mod whole_lines;

// The host layer, under the names the plugin's modules and tests use.
pub use ipoib_host::{defaults, link, netlink, outside_value, pool_file, regular_file, sysfs, Why};
