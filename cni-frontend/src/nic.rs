//! Which NIC this is: the MAC that `IPoIB_Data` calls it by.
//!
//! host-device has already moved the NIC into `CNI_NETNS` and renamed it `CNI_IFNAME` when it
//! runs us, so the link is looked up by that name inside that netns. If that fails and the config
//! carries the NIC's PCI address (Multus's `deviceID`/`pciBusID`, or `runtimeConfig.deviceID`),
//! the port GID in sysfs names the same NIC: RDMA devices stay visible from the host netns.

use std::path::Path;

use kvp_core::Mac;

use crate::cni::{CniError, Code, Env, NetConf};
use crate::link::{self, LinkError};
use crate::shown::Shown;
use crate::sysfs;

/// Where sysfs is mounted.
pub const SYSFS_ROOT: &str = "/sys";

/// The MAC of the NIC `CNI_IFNAME` in `CNI_NETNS`, falling back to sysfs by PCI address.
pub fn mac(env: &Env, conf: &NetConf<'_>, sysfs_root: &Path) -> Result<Mac, CniError> {
    let (Some(netns), Some(ifname)) = (env.netns.as_deref(), env.ifname.as_deref()) else {
        return Err(CniError::new(Code::InvalidEnv, "CNI_NETNS and CNI_IFNAME are required to find the NIC"));
    };
    let link_error = match link::hwaddr_in_netns(netns, ifname) {
        Ok(hwaddr) => return Ok(hwaddr.mac()),
        // Not a failure to read the NIC but a wrong invocation: no fallback.
        Err(e @ LinkError::SameAsOwnNetns { .. }) => return Err(link_failure(&e)),
        Err(e) => e,
    };
    let fallback = conf.device_id.as_deref().map(|pci| (pci, sysfs::mac_for_pci_device(sysfs_root, pci)));
    match fallback {
        Some((_, Ok(mac))) => {
            eprintln!("azure-ipoib-ipam-cni: {link_error}; using the port GID of the PCI device instead");
            Ok(mac)
        }
        Some((pci, Err(sysfs_error))) => Err(link_failure(&link_error)
            .with_details(format!("fallback by PCI device {} failed too: {sysfs_error}", Shown::new(pci)))),
        None => Err(link_failure(&link_error)),
    }
}

fn link_failure(e: &LinkError) -> CniError {
    let code = match e {
        LinkError::NetnsNotFound { .. } => Code::UnknownContainer,
        LinkError::SameAsOwnNetns { .. } => Code::InvalidNetns,
        _ => Code::NicLookupFailed,
    };
    CniError::new(code, e.to_string())
}
