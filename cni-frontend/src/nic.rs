//! Which NIC this is: the MAC that `IPoIB_Data` calls it by.
//!
//! host-device has already moved the NIC into `CNI_NETNS` and renamed it `CNI_IFNAME` when it
//! runs us, so the link is looked up by that name inside that netns. If that fails and the config
//! carries the NIC's PCI address (Multus's `deviceID`/`pciBusID`, or `runtimeConfig.deviceID`),
//! the port GID in sysfs names the same NIC: RDMA devices stay visible from the host netns.

use std::io::Write;
use std::path::Path;

use kvp_core::Mac;

use crate::cni::{CniError, Env, NetConf};
use crate::error_codes::{link_failure, nic_env_missing};
use crate::link::{self, LinkError, LinkErrorKind};
use crate::sysfs;

/// Where sysfs is mounted.
pub const SYSFS_ROOT: &str = "/sys";

/// The MAC of the NIC `CNI_IFNAME` in `CNI_NETNS`, falling back to sysfs by PCI address. A
/// fallback that worked is noted on `stderr`.
pub fn mac(env: &Env, conf: &NetConf<'_>, sysfs_root: &Path, stderr: &mut dyn Write) -> Result<Mac, CniError> {
    let (Some(netns), Some(ifname)) = (env.netns.as_deref(), env.ifname.as_deref()) else {
        return Err(nic_env_missing());
    };
    let link_error = match link::hwaddr_in_netns(netns, ifname) {
        Ok(hwaddr) => return Ok(hwaddr.mac()),
        // Not a failure to read the NIC but a wrong invocation: no fallback.
        Err(e @ LinkError { kind: LinkErrorKind::SameAsOwnNetns, .. }) => return Err(link_failure(&e, None)),
        // The PCI device's port GUID would be the parent's: never fall back for a child.
        Err(e @ LinkError { kind: LinkErrorKind::IpoibChild { .. }, .. }) => return Err(link_failure(&e, None)),
        Err(e) => e,
    };
    let fallback = conf.device_id.as_deref().map(|pci| (pci, sysfs::mac_for_pci_device(sysfs_root, pci)));
    match fallback {
        Some((_, Ok(mac))) => {
            let _ =
                writeln!(stderr, "azure-ipoib-ipam-cni: {link_error}; using the port GID of the PCI device instead");
            Ok(mac)
        }
        Some((pci, Err(sysfs_error))) => Err(link_failure(&link_error, Some((pci, &sysfs_error)))),
        None => Err(link_failure(&link_error, None)),
    }
}
