//! ipoib-host: everything of azure-ipoib-ipam-cni that touches the node, and the one lookup that
//! the plugin, the CLI and the webhook share.
//!
//! - [`lookup()`]: "which address does this NIC get, and if none, [`Why`]?";
//! - [`pool_file`]: hv_kvp_daemon's pool, read under its lock (mapped, copied, or kept open);
//! - [`link`] and [`netlink`]: a NIC's hardware address over rtnetlink in its netns;
//! - [`sysfs`]: sysfs's InfiniBand layout, and the same NIC by PCI address from its port GID;
//! - [`ipoib_child`]: the one rule that tells an IPoIB child link from its parent;
//! - [`regular_file`]: how every path that may come from a tenant is opened;
//! - [`outside_value`]: how much of an outside value a message shows;
//! - [`defaults`]: the facts every face shares;
//! - [`sys`]: the crate's only `unsafe` code;
//! - [`vm`]: the VM's own IPoIB links (`ipoib up`), which the plugin never runs.
//!
//! It depends on kvp-core and nix only, so a face that uses it (the webhook) compiles none of
//! the plugin's CNI code, and none of the faces' features reach the plugin.

pub mod defaults;
pub mod ipoib_child;
pub mod link;
pub mod lookup;
pub mod netlink;
pub mod outside_value;
pub mod pool_file;
pub mod regular_file;
#[allow(unsafe_code)]
pub mod sys;
pub mod sysfs;
pub mod vm;
pub mod why;

pub use lookup::{lookup, pool_ready, Assigned, Nic, Question, Source, Step};
pub use why::Why;
