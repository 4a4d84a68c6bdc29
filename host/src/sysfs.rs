//! sysfs's InfiniBand layout, in one place, and the fallback way to name a NIC by it.
//!
//! ```text
//! <sysfs>/class/infiniband/<dev>                    every RDMA device of the node
//! <sysfs>/bus/pci/devices/<pci>/infiniband/<dev>    the RDMA devices of one PCI function
//! <dev>/ports/<n>/gids/0                            port n's GID 0, ending in its port GUID
//! ```
//!
//! Both `<dev>` directories are the same device (the class entries link to the PCI ones). The
//! paths are built here alone: the CLI's `doctor` walks every port of every device with
//! [`infiniband_class_dir`], [`ports_dir`] and [`gid0_path`] (in the order it prints them), and
//! ADD's fallback reads one port with [`mac_for_pci_device`].
//!
//! The fallback: when the container's netns or link cannot be read, a netconf that carries the
//! NIC's PCI address (`deviceID`) still identifies it. RDMA devices are listed under the PCI
//! device in the host's sysfs whatever netns the netdev is in, and port 1's GID 0 ends in the
//! port GUID that `IPoIB_Data`'s MAC is made from (`…:0015:5dff:fd33:ff0b` → `00155D33FF0B`).
//! Only port 1 is read: Azure's InfiniBand VFs are single-port.
#![forbid(unsafe_code)]

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use kvp_core::{port_guid_from_gid_text, HwAddrError, Mac};

use crate::outside_value::Shown;

/// Under the sysfs root: one entry per RDMA device of the node.
pub const INFINIBAND_CLASS_DIR: &str = "class/infiniband";
/// Under the sysfs root: one directory per PCI function, named by its address.
const PCI_DEVICES_DIR: &str = "bus/pci/devices";
/// Under a PCI function: one entry per RDMA device it carries.
const PCI_INFINIBAND_DIR: &str = "infiniband";
/// Under an RDMA device: one directory per port, named by its number.
const PORTS_DIR: &str = "ports";
/// Under a port: entry 0 of its GID table, whose low 64 bits are the port GUID.
const GID0: &str = "gids/0";
/// The port ADD's fallback reads: the only port of Azure's InfiniBand VFs.
pub const FIRST_PORT: &str = "1";

/// Longest PCI address accepted: far more than `dddd:bb:dd.f` (or VMD's 5-digit domains) needs.
pub const MAX_PCI_ADDR_LEN: usize = 64;
/// A GID is 39 characters plus a newline; anything longer than this is not a GID.
const MAX_GID_TEXT_LEN: u64 = 64;

/// Why the sysfs fallback could not name the NIC.
///
/// Display prints the inner error itself, so [`std::error::Error::source`] returns `None`.
#[derive(Debug)]
pub enum SysfsError {
    /// The PCI address is not `domain:bus:device.function` in hex, or is too long.
    InvalidPciAddress {
        /// The address as given.
        pci_addr: String,
    },
    /// No PCI device of that address.
    DeviceNotFound {
        /// `<root>/bus/pci/devices/<pci>`.
        path: PathBuf,
    },
    /// The PCI device exists but has no RDMA device: not InfiniBand, or its driver is not bound.
    NoInfinibandDevice {
        /// `<root>/bus/pci/devices/<pci>/infiniband`.
        path: PathBuf,
    },
    /// A directory or file could not be read.
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The error.
        error: io::Error,
    },
    /// The GID file does not hold a usable GID (malformed, or all zeros).
    BadGid {
        /// The GID file.
        path: PathBuf,
        /// What is wrong with it.
        error: HwAddrError,
    },
}

impl fmt::Display for SysfsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SysfsError::InvalidPciAddress { pci_addr } => {
                write!(f, "{:?} is not a PCI address (domain:bus:device.function)", Shown::new(pci_addr))
            }
            SysfsError::DeviceNotFound { path } => write!(f, "no PCI device at {}", Shown::path(path)),
            SysfsError::NoInfinibandDevice { path } => {
                write!(f, "PCI device has no InfiniBand device: {} is missing or empty", Shown::path(path))
            }
            SysfsError::Io { path, error } => write!(f, "cannot read {}: {error}", Shown::path(path)),
            SysfsError::BadGid { path, error } => write!(f, "{}: {error}", Shown::path(path)),
        }
    }
}

impl std::error::Error for SysfsError {}

/// The `IPoIB_Data` MAC of the InfiniBand NIC at PCI address `pci_addr` (`0000:00:08.0`), read
/// from sysfs mounted at `sysfs_root` (normally `/sys`).
///
/// Upper-case hex is accepted and looked up in sysfs's lower case. Should the device carry more
/// than one RDMA device, the first by name is used, so the answer is at least stable.
pub fn mac_for_pci_device(sysfs_root: &Path, pci_addr: &str) -> Result<Mac, SysfsError> {
    if !is_pci_address(pci_addr) {
        return Err(SysfsError::InvalidPciAddress { pci_addr: pci_addr.to_owned() });
    }
    let device = sysfs_root.join(PCI_DEVICES_DIR).join(pci_addr.to_ascii_lowercase());
    let ib_dir = device.join(PCI_INFINIBAND_DIR);
    let ib_device = first_entry(&ib_dir).map_err(|error| match error.kind() {
        io::ErrorKind::NotFound if !device.exists() => SysfsError::DeviceNotFound { path: device.clone() },
        io::ErrorKind::NotFound => SysfsError::NoInfinibandDevice { path: ib_dir.clone() },
        _ => SysfsError::Io { path: ib_dir.clone(), error },
    })?;
    let gid_path = gid0_path(&ports_dir(&ib_dir.join(ib_device)).join(FIRST_PORT));
    let gid_text = read_small(&gid_path).map_err(|error| SysfsError::Io { path: gid_path.clone(), error })?;
    let guid = port_guid_from_gid_text(&gid_text).map_err(|error| SysfsError::BadGid { path: gid_path, error })?;
    Ok(Mac::from_port_guid(guid))
}

/// `<sysfs_root>/class/infiniband`: every RDMA device of the node.
pub fn infiniband_class_dir(sysfs_root: &Path) -> PathBuf {
    sysfs_root.join(INFINIBAND_CLASS_DIR)
}

/// `<ib_device>/ports`: one directory per port of the RDMA device at `ib_device`.
pub fn ports_dir(ib_device: &Path) -> PathBuf {
    ib_device.join(PORTS_DIR)
}

/// `<port>/gids/0`: GID 0 of the port whose directory is `port`.
pub fn gid0_path(port: &Path) -> PathBuf {
    port.join(GID0)
}

/// `domain:bus:device.function` in hex, as sysfs names PCI devices: a 4- to 8-digit domain, 2-digit
/// bus and device, 1-digit function (0-7). Anything else, path separators included, is refused
/// before it reaches a path.
fn is_pci_address(text: &str) -> bool {
    let all_hex =
        |s: &str, min: usize, max: usize| (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit());
    if text.len() > MAX_PCI_ADDR_LEN {
        return false;
    }
    let mut parts = text.split(':');
    let (Some(domain), Some(bus), Some(slot), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Some((device, function)) = slot.split_once('.') else {
        return false;
    };
    all_hex(domain, 4, 8) && all_hex(bus, 2, 2) && all_hex(device, 2, 2) && matches!(function.as_bytes(), [b'0'..=b'7'])
}

/// The name of `dir`'s only entry, or its first by byte order if it has several; `NotFound` if
/// it is missing or empty.
fn first_entry(dir: &Path) -> io::Result<std::ffi::OsString> {
    let mut first: Option<std::ffi::OsString> = None;
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        if first.as_ref().is_none_or(|current| name < *current) {
            first = Some(name);
        }
    }
    first.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "directory is empty"))
}

/// A sysfs attribute, read whole but bounded: a GID file is one short line.
fn read_small(path: &Path) -> io::Result<Vec<u8>> {
    let mut text = Vec::new();
    File::open(path)?.take(MAX_GID_TEXT_LEN).read_to_end(&mut text)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    const PCI: &str = "0101:00:00.0";
    const GID: &str = "fe80:0000:0000:0000:0015:5dff:fd33:ff0b\n";

    /// A throwaway sysfs root, removed on drop.
    struct FakeSysfs(PathBuf);

    impl FakeSysfs {
        fn new(test: &str) -> FakeSysfs {
            let root = std::env::temp_dir().join(format!("ipoib-ipam-sysfs-{}-{test}", std::process::id()));
            let _ = fs::remove_dir_all(&root);
            fs::create_dir_all(root.join("bus/pci/devices")).unwrap();
            FakeSysfs(root)
        }

        fn device(&self, pci: &str) -> PathBuf {
            let device = self.0.join("bus/pci/devices").join(pci);
            fs::create_dir_all(&device).unwrap();
            device
        }

        /// A device with one RDMA device `ib_name` whose port 1 GID 0 is `gid`.
        fn ib_device(&self, pci: &str, ib_name: &str, gid: &str) {
            let gids = self.device(pci).join("infiniband").join(ib_name).join("ports/1/gids");
            fs::create_dir_all(&gids).unwrap();
            fs::write(gids.join("0"), gid).unwrap();
        }
    }

    impl Drop for FakeSysfs {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn mac_from_port_gid() {
        let sysfs = FakeSysfs::new("happy");
        sysfs.ib_device(PCI, "mlx5_0", GID);
        let mac = mac_for_pci_device(&sysfs.0, PCI).unwrap();
        assert_eq!(mac.to_string(), "00155D33FF0B");
        // sysfs spells hex in lower case; a config may not.
        sysfs.ib_device("0000:3b:00.1", "mlx5_1", GID);
        assert_eq!(mac_for_pci_device(&sysfs.0, "0000:3B:00.1").unwrap(), mac);
    }

    #[test]
    fn several_rdma_devices_pick_the_first_by_name() {
        let sysfs = FakeSysfs::new("several");
        sysfs.ib_device(PCI, "mlx5_1", "fe80:0000:0000:0000:0015:5dff:fd33:0001");
        sysfs.ib_device(PCI, "mlx5_0", GID);
        sysfs.ib_device(PCI, "mlx5_2", "fe80:0000:0000:0000:0015:5dff:fd33:0002");
        assert_eq!(mac_for_pci_device(&sysfs.0, PCI).unwrap().to_string(), "00155D33FF0B");
    }

    #[test]
    fn missing_device() {
        let sysfs = FakeSysfs::new("missing");
        let error = mac_for_pci_device(&sysfs.0, PCI).unwrap_err();
        let path = sysfs.0.join("bus/pci/devices").join(PCI);
        assert!(matches!(&error, SysfsError::DeviceNotFound { path: p } if *p == path), "{error:?}");
        assert_eq!(error.to_string(), format!("no PCI device at {}", path.display()));
    }

    #[test]
    fn device_without_infiniband() {
        let sysfs = FakeSysfs::new("no-ib");
        let ib_dir = sysfs.device(PCI).join("infiniband");
        let error = mac_for_pci_device(&sysfs.0, PCI).unwrap_err();
        assert!(matches!(&error, SysfsError::NoInfinibandDevice { path } if *path == ib_dir), "{error:?}");
        fs::create_dir(&ib_dir).unwrap();
        let error = mac_for_pci_device(&sysfs.0, PCI).unwrap_err();
        assert!(matches!(&error, SysfsError::NoInfinibandDevice { path } if *path == ib_dir), "{error:?}");
    }

    #[test]
    fn missing_gid_file() {
        let sysfs = FakeSysfs::new("no-gid");
        let ports = sysfs.device(PCI).join("infiniband/mlx5_0/ports/1");
        fs::create_dir_all(&ports).unwrap();
        let error = mac_for_pci_device(&sysfs.0, PCI).unwrap_err();
        let gid_path = ports.join("gids/0");
        assert!(matches!(&error, SysfsError::Io { path, .. } if *path == gid_path), "{error:?}");
        assert!(error.to_string().starts_with(&format!("cannot read {}: ", gid_path.display())), "{error}");
    }

    #[test]
    fn zero_and_malformed_gids() {
        let sysfs = FakeSysfs::new("bad-gid");
        sysfs.ib_device(PCI, "mlx5_0", "0000:0000:0000:0000:0000:0000:0000:0000\n");
        let error = mac_for_pci_device(&sysfs.0, PCI).unwrap_err();
        assert!(matches!(error, SysfsError::BadGid { error: HwAddrError::ZeroGid, .. }), "{error:?}");
        assert!(error
            .to_string()
            .ends_with("infiniband/mlx5_0/ports/1/gids/0: port GID is all zeros (unused GID table entry)"));

        let sysfs = FakeSysfs::new("long-gid");
        sysfs.ib_device(PCI, "mlx5_0", &"fe80:".repeat(100));
        let error = mac_for_pci_device(&sysfs.0, PCI).unwrap_err();
        assert!(matches!(error, SysfsError::BadGid { .. }), "{error:?}");
    }

    #[test]
    fn the_layout() {
        let root = Path::new("/sys");
        let device = infiniband_class_dir(root).join("mlx5_0");
        assert_eq!(device, Path::new("/sys/class/infiniband/mlx5_0"));
        assert_eq!(gid0_path(&ports_dir(&device).join("2")), Path::new("/sys/class/infiniband/mlx5_0/ports/2/gids/0"));
    }

    #[test]
    fn bad_pci_addresses() {
        let sysfs = FakeSysfs::new("bad-pci");
        sysfs.ib_device(PCI, "mlx5_0", GID);
        let long = format!("{}:00:00.0", "0".repeat(MAX_PCI_ADDR_LEN));
        for bad in [
            "",
            ".",
            "..",
            "/",
            "../../..",
            "0101:00:00.0/..",
            "0101/00:00.0",
            "0101:00:00",
            "0101:00:00.8",
            "0101:00:00.00",
            "01:00:00.0",
            "0101:0:00.0",
            "0101:00:0g.0",
            " 0101:00:00.0",
            "0101:00:00.0\n",
            "0101:00:00:00.0",
            "0101.00:00.0",
            "０101:00:00.0",
            &long,
        ] {
            let error = mac_for_pci_device(&sysfs.0, bad).unwrap_err();
            assert!(
                matches!(&error, SysfsError::InvalidPciAddress { pci_addr } if pci_addr == bad),
                "{bad:?}: {error:?}"
            );
        }
        assert_eq!(
            SysfsError::InvalidPciAddress { pci_addr: "..".into() }.to_string(),
            "\"..\" is not a PCI address (domain:bus:device.function)"
        );
        // Longer domains are fine (VMD uses 5 digits).
        sysfs.ib_device("10000:e0:00.0", "mlx5_0", GID);
        assert!(mac_for_pci_device(&sysfs.0, "10000:e0:00.0").is_ok());
    }
}
