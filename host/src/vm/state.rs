//! Which addresses `ipoib up` set itself, so that it removes only those.
//!
//! Kept as a small text file under `/run` (one `NAME ADDRESS/PREFIX` line per address), not as a
//! mark on the address:
//! - `IFA_PROTO`, the kernel's "who added this address", exists only from Linux 6.1, and Azure's
//!   HPC images still ship 4.18 (AlmaLinux 8) and 5.15 (Ubuntu 22.04) kernels;
//! - an address label is IPv4 only, at most 15 bytes with the link's name in it, and renames
//!   the address for `ifconfig`-era tools;
//! - no `IFA_F_*` flag is free for userspace.
//!
//! `/run` is a tmpfs: it empties at boot, exactly when the kernel forgets the addresses too, so
//! the file never outlives what it describes. Entries are keyed by link name (udev's names are
//! stable; an ifindex is not once a link is re-created).

use std::collections::BTreeSet;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;

use super::messages::Cidr;
use crate::outside_value::Shown;
use crate::regular_file::{self, OpenError};

/// Where the state lives on a VM.
pub const STATE_PATH: &str = "/run/azure-ipoib-ipam-cni/ipoib-up";
/// A state file larger than this is not ours: a VM has a handful of IB links.
const MAX_STATE_LEN: u64 = 64 * 1024;

/// The addresses this command set, by link name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owned(BTreeSet<(String, IpAddr, u8)>);

impl Owned {
    /// Whether `cidr` on `link` was set by this command.
    pub fn contains(&self, link: &str, cidr: Cidr) -> bool {
        self.0.contains(&(link.to_owned(), cidr.0, cidr.1))
    }

    /// The addresses recorded for `link`.
    pub fn of(&self, link: &str) -> Vec<Cidr> {
        self.0.iter().filter(|(name, ..)| name == link).map(|(_, ip, prefix)| (*ip, *prefix)).collect()
    }

    /// Records `cidr` on `link` as set by this command.
    pub fn insert(&mut self, link: &str, cidr: Cidr) {
        self.0.insert((link.to_owned(), cidr.0, cidr.1));
    }

    /// Forgets `cidr` on `link`.
    pub fn remove(&mut self, link: &str, cidr: Cidr) {
        self.0.remove(&(link.to_owned(), cidr.0, cidr.1));
    }

    /// Keeps only the links for which `keep` holds.
    pub fn retain_links(&mut self, keep: impl Fn(&str) -> bool) {
        self.0.retain(|(name, ..)| keep(name));
    }

    fn parse(text: &str) -> Owned {
        // A line that does not parse is dropped: the worst case is an address never removed,
        // never one removed that was not ours.
        let entries = text.lines().filter_map(|line| {
            let (name, cidr) = line.split_once(' ')?;
            let (ip, prefix) = cidr.split_once('/')?;
            Some((name.to_owned(), ip.parse().ok()?, prefix.parse().ok()?))
        });
        Owned(entries.collect())
    }

    fn render(&self) -> String {
        self.0.iter().map(|(name, ip, prefix)| format!("{name} {ip}/{prefix}\n")).collect()
    }
}

/// Why the state file could not be read or written.
#[derive(Debug)]
pub struct StateError {
    /// The state file.
    pub path: PathBuf,
    /// What failed.
    pub error: io::Error,
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "state file {}: {}", Shown::path(&self.path), self.error)
    }
}

impl std::error::Error for StateError {}

/// The state at `path`; none yet is an empty state.
pub fn load(path: &Path) -> Result<Owned, StateError> {
    let error = |error| StateError { path: path.to_path_buf(), error };
    let mut file = match regular_file::open_regular(path, OFlag::O_RDONLY) {
        Ok(opened) => opened.file,
        Err(OpenError::Missing) => return Ok(Owned::default()),
        Err(e) => return Err(error(io::Error::other(e.to_string()))),
    };
    let mut text = String::new();
    Read::by_ref(&mut file).take(MAX_STATE_LEN).read_to_string(&mut text).map_err(error)?;
    Ok(Owned::parse(&text))
}

/// Writes `owned` to `path` whole: a temp file in the same directory, renamed over it, so a
/// crash leaves the old state or the new one. The directory is created (0755) when missing.
pub fn save(path: &Path, owned: &Owned) -> Result<(), StateError> {
    let error = |error| StateError { path: path.to_path_buf(), error };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(error)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}", std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temp)?;
        file.write_all(owned.render().as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written.map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn the_state_round_trips_and_ignores_lines_it_cannot_read() {
        let mut owned = Owned::default();
        owned.insert("ib0", (IpAddr::V4(Ipv4Addr::new(172, 16, 1, 2)), 16));
        owned.insert("ib1", (IpAddr::V4(Ipv4Addr::new(172, 16, 1, 3)), 16));
        let text = owned.render();
        assert_eq!(text, "ib0 172.16.1.2/16\nib1 172.16.1.3/16\n");
        assert_eq!(Owned::parse(&format!("{text}garbage\nib2 nope/16\n")), owned);
        owned.retain_links(|name| name == "ib1");
        assert_eq!(owned.of("ib1"), vec![(IpAddr::V4(Ipv4Addr::new(172, 16, 1, 3)), 16)]);
        assert!(owned.of("ib0").is_empty());
    }

    #[test]
    fn save_then_load_in_a_new_directory() {
        let dir = std::env::temp_dir().join(format!("ipoib-state-{}", std::process::id()));
        let path = dir.join("sub/ipoib-up");
        assert_eq!(load(&path).unwrap(), Owned::default());
        let mut owned = Owned::default();
        owned.insert("ib0", (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 24));
        save(&path, &owned).unwrap();
        assert_eq!(load(&path).unwrap(), owned);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
