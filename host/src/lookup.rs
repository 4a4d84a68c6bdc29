//! The one question every face asks: which address does this NIC get, and if none, why?
//!
//! The plugin's ADD and CHECK, the CLI's `ipoib` and the webhook all call [`lookup`], so the
//! order of the checks, the sysfs fallback and the prefix bound are the same everywhere:
//!
//! 1. the NIC's MAC, found with no pool lock held (the pool's read lock stalls every
//!    hv_kvp_daemon write on the node, so it is never held across netns, netlink or sysfs work);
//! 2. the pool, read under the lock, then checked whole ([`kvp_core::resolve`]): a pool that is
//!    not ready, or a malformed `IPoIB_Data`, fails first and the same way for every NIC, so
//!    the NIC's own failure counts only after that;
//! 3. the pair for the MAC, and the prefix length against the address's family.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use kvp_core::{IpoibData, Mac, Pool};

use crate::defaults::max_prefix;
use crate::link::{self, LinkError, LinkErrorKind};
use crate::pool_file;
use crate::sysfs;
use crate::why::Why;

/// Where sysfs is mounted on a node.
pub const SYSFS_ROOT: &str = "/sys";

/// Where the pool's bytes come from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// Mapped under the lock, for a short-lived process (the plugin): no copy. A fault inside
    /// the mapping raises SIGBUS, so the caller installs its answer first
    /// ([`crate::sys::answer_on_sigbus`]).
    Mapped {
        /// The pool file.
        path: &'a Path,
        /// How long to wait for the writer's lock.
        timeout: Duration,
    },
    /// Copied under the lock, for any process that must not risk SIGBUS.
    Copied {
        /// The pool file.
        path: &'a Path,
        /// How long to wait for the writer's lock.
        timeout: Duration,
    },
    /// Bytes already read under the lock (a [`pool_file::PoolReader`]'s, a CLI snapshot's).
    Read {
        /// The pool file they were read from, for messages.
        path: &'a Path,
        /// The pool's bytes.
        bytes: &'a [u8],
    },
}

impl Source<'_> {
    fn path(&self) -> &Path {
        match self {
            Source::Mapped { path, .. } | Source::Copied { path, .. } | Source::Read { path, .. } => path,
        }
    }
}

/// Which NIC is asked about.
#[derive(Debug, Clone, Copy)]
pub enum Nic<'a> {
    /// By its MAC (or the MAC of its link address), known already.
    Mac(Mac),
    /// By its link, looked up over rtnetlink in a network namespace, with sysfs by PCI address
    /// as the fallback when the link cannot be read.
    Link {
        /// The network namespace (a bind-mounted netns file).
        netns: &'a Path,
        /// The link's name there.
        ifname: &'a str,
        /// The NIC's PCI address, if known (`deviceID`).
        pci: Option<&'a str>,
        /// Where sysfs is mounted ([`SYSFS_ROOT`] on a node).
        sysfs_root: &'a Path,
    },
}

/// The question: a NIC, and the prefix length its address is given with.
#[derive(Debug, Clone, Copy)]
pub struct Question<'a> {
    /// The NIC.
    pub nic: Nic<'a>,
    /// The prefix length of the answer.
    pub prefix_length: u8,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assigned {
    /// The address KVP assigns.
    pub ip: IpAddr,
    /// Its prefix length.
    pub prefix_length: u8,
    /// The NIC's MAC.
    pub mac: Mac,
    /// The link error that the sysfs fallback answered instead, if it did.
    pub fallback: Option<LinkError>,
}

/// What happened on the way, in order, for a caller's log and warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The NIC was looked up (before any lock): its MAC, or `None` when that failed.
    NicLookedUp(Option<Mac>),
    /// The pool was read and its lock released; `trailing` bytes of a partial record end it.
    PoolRead {
        /// Bytes after the last whole record.
        trailing: usize,
    },
}

/// The address KVP assigns to the NIC in `question`, read from `source`. `observe` sees each
/// [`Step`] as it ends.
pub fn lookup(source: Source<'_>, question: Question<'_>, observe: &mut dyn FnMut(Step)) -> Result<Assigned, Why> {
    let nic = nic_mac(question.nic);
    observe(Step::NicLookedUp(nic.as_ref().ok().map(|(mac, _)| *mac)));
    let answer = with_pool(source, observe, |pool| match nic {
        Ok((mac, fallback)) => kvp_core::resolve(pool, mac).map(|pair| Ok((pair.ip, mac, fallback))),
        // The NIC's failure counts only once the pool has passed.
        Err(why) => IpoibData::from_pool(pool).map(|_| Err(why)),
    })?;
    let (ip, mac, fallback) = answer?;
    let max = max_prefix(ip);
    if question.prefix_length > max {
        return Err(Why::PrefixTooLong { prefix: question.prefix_length, max, ip, mac });
    }
    Ok(Assigned { ip, prefix_length: question.prefix_length, mac, fallback })
}

/// Whether the pool in `source` could serve a lookup now: it holds a well-formed `IPoIB_Data`.
/// Returns the bytes of a partial record at its end.
// STATUS's, not ADD's: placed after the ADD's code in the hot section.
#[cold]
pub fn pool_ready(source: Source<'_>) -> Result<usize, Why> {
    let mut trailing = 0;
    with_pool(
        source,
        &mut |step| {
            if let Step::PoolRead { trailing: t } = step {
                trailing = t;
            }
        },
        |pool| IpoibData::from_pool(pool).map(drop),
    )?;
    Ok(trailing)
}

/// Runs `check` on the pool in `source`, holding the lock only as long as a mapping needs it.
fn with_pool<T>(
    source: Source<'_>,
    observe: &mut dyn FnMut(Step),
    check: impl FnOnce(&Pool<'_>) -> Result<T, kvp_core::ResolveError>,
) -> Result<T, Why> {
    let path = source.path();
    let (checked, trailing) = match source {
        Source::Mapped { path, timeout } => {
            // The lock lives as long as `file`: this block, which does no I/O but the check.
            let file = pool_file::open_locked(path, timeout)?;
            let pool = file.pool();
            (check(&pool), pool.trailing_bytes().len())
        }
        Source::Copied { path, timeout } => {
            let bytes = pool_file::read_locked(path, timeout)?;
            let pool = Pool::new(&bytes);
            (check(&pool), pool.trailing_bytes().len())
        }
        Source::Read { bytes, .. } => {
            let pool = Pool::new(bytes);
            (check(&pool), pool.trailing_bytes().len())
        }
    };
    observe(Step::PoolRead { trailing });
    checked.map_err(|e| Why::from_resolve(e, path.to_path_buf()))
}

/// The MAC of `nic`, and the link error a sysfs fallback answered instead.
fn nic_mac(nic: Nic<'_>) -> Result<(Mac, Option<LinkError>), Why> {
    let (netns, ifname, pci, sysfs_root) = match nic {
        Nic::Mac(mac) => return Ok((mac, None)),
        Nic::Link { netns, ifname, pci, sysfs_root } => (netns, ifname, pci, sysfs_root),
    };
    let link = match link::hwaddr_in_netns(netns, ifname) {
        Ok(hwaddr) => return Ok((hwaddr.mac(), None)),
        Err(e) => e,
    };
    match link.kind {
        // Not a failure to read the NIC but a wrong invocation: no fallback.
        LinkErrorKind::SameAsOwnNetns => return Err(Why::NetnsIsOwn(link)),
        // The PCI device's port GUID would be the parent's: never fall back for a child.
        LinkErrorKind::IpoibChild { .. } => return Err(Why::IpoibChild(link)),
        _ => {}
    }
    let fallback = pci.map(|pci| (pci, sysfs::mac_for_pci_device(sysfs_root, pci)));
    match fallback {
        Some((_, Ok(mac))) => Ok((mac, Some(link))),
        _ if link.kind == LinkErrorKind::NetnsNotFound => Err(Why::NetnsMissing(link)),
        Some((pci, Err(e))) => Err(Why::NicUnreadable { link, fallback: Some(Box::new((pci.to_owned(), e))) }),
        None => Err(Why::NicUnreadable { link, fallback: None }),
    }
}
