//! Every reason a NIC gets no address, as one exhaustive enum.
//!
//! Each face maps it once, with a `match` that names every variant: the plugin to a CNI code
//! (`cni_errors`), the CLI to an exit status and a hint (`cli/why.rs`), the webhook to an HTTP
//! status (`http_status`). The enum is not `#[non_exhaustive]`, so a new reason breaks the build
//! of each face until that face says what it means there. Each variant carries what the
//! messages need; `Display` words it once for the faces that show it as is.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use kvp_core::{Mac, ResolveError, IPOIB_DATA_KEY};

use crate::link::LinkError;
use crate::outside_value::Shown;
use crate::pool_file::PoolFileError;
use crate::sysfs::SysfsError;

/// Why a NIC has no address now.
#[derive(Debug)]
pub enum Why {
    /// The pool file could not be opened, locked or read.
    Pool(PoolFileError),
    /// The pool holds no whole record yet.
    PoolEmpty {
        /// The pool file.
        path: PathBuf,
        /// Bytes of a partial record at its end.
        trailing: usize,
    },
    /// The pool has no `IPoIB_Data` record (yet).
    NoIpoibData {
        /// The pool file.
        path: PathBuf,
    },
    /// `IPoIB_Data` is malformed.
    Malformed {
        /// The pool file.
        path: PathBuf,
        /// What is wrong with the value, as kvp-core words it (the pair at fault and its
        /// defect; never the value's bytes).
        error: String,
    },
    /// `IPoIB_Data` is well formed but lists no pair for the NIC's MAC.
    NoPair {
        /// The NIC's MAC.
        mac: Mac,
        /// How many pairs it lists.
        pairs: usize,
    },
    /// The NIC's network namespace does not exist: the container is gone.
    NetnsMissing(LinkError),
    /// The NIC's network namespace is the caller's own: a wrong invocation, not a NIC problem.
    NetnsIsOwn(LinkError),
    /// The NIC is an IPoIB child link, which shares its parent's port GUID and so has no pair of
    /// its own.
    IpoibChild(LinkError),
    /// The NIC's link or address could not be read, and there was no fallback by PCI address,
    /// or it failed too.
    NicUnreadable {
        /// Why the link could not be read.
        link: LinkError,
        /// The PCI address tried instead, and why that failed.
        fallback: Option<Box<(String, SysfsError)>>,
    },
    /// The prefix length asked for is longer than the address's family allows.
    PrefixTooLong {
        /// The prefix length asked for.
        prefix: u8,
        /// The family's longest.
        max: u8,
        /// The address KVP assigns.
        ip: IpAddr,
        /// The NIC's MAC.
        mac: Mac,
    },
}

impl Why {
    /// kvp-core's answer for the pool at `path`, as a reason. kvp-core's error is
    /// `#[non_exhaustive]` (it is a published no_std crate), so this is the one place that needs a
    /// wildcard: a new kvp-core error is a malformed pool until it gets a variant here.
    #[cold]
    pub fn from_resolve(error: ResolveError, path: PathBuf) -> Why {
        match error {
            ResolveError::EmptyPool { trailing } => Why::PoolEmpty { path, trailing },
            ResolveError::NoIpoibData => Why::NoIpoibData { path },
            ResolveError::Malformed(error) => Why::Malformed { path, error: error.to_string() },
            ResolveError::NoPair { mac, pairs } => Why::NoPair { mac, pairs },
            error => Why::Malformed { path, error: error.to_string() },
        }
    }

    /// Whether waiting may cure it: the pool is missing, locked, empty or without `IPoIB_Data`,
    /// which is how a VM looks while the host has not published yet.
    pub fn is_transient(&self) -> bool {
        match self {
            Why::Pool(e) => e.is_transient(),
            Why::PoolEmpty { .. } | Why::NoIpoibData { .. } => true,
            Why::Malformed { .. }
            | Why::NoPair { .. }
            | Why::NetnsMissing(_)
            | Why::NetnsIsOwn(_)
            | Why::IpoibChild(_)
            | Why::NicUnreadable { .. }
            | Why::PrefixTooLong { .. } => false,
        }
    }
}

impl From<PoolFileError> for Why {
    fn from(e: PoolFileError) -> Why {
        Why::Pool(e)
    }
}

impl fmt::Display for Why {
    // Only on failure: `#[cold]` puts it at the end of the hot section (hot-text.ld), so the
    // code a successful ADD runs stays within two 64 KiB fault-around windows.
    #[cold]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Pool(e) => write!(f, "{e}"),
            Why::PoolEmpty { path, trailing: 0 } => write!(f, "KVP pool {} is empty", Shown::path(path)),
            Why::PoolEmpty { path, trailing } => {
                write!(f, "KVP pool {} holds no whole record ({trailing} bytes)", Shown::path(path))
            }
            Why::NoIpoibData { path } => write!(f, "KVP pool {} has no {IPOIB_DATA_KEY} record", Shown::path(path)),
            Why::Malformed { error, .. } => write!(f, "malformed {error}"),
            Why::NoPair { mac, pairs } => {
                write!(f, "{IPOIB_DATA_KEY} has no pair for MAC {mac} ({pairs} pairs listed)")
            }
            Why::NetnsMissing(e) | Why::NetnsIsOwn(e) | Why::IpoibChild(e) => write!(f, "{e}"),
            Why::NicUnreadable { link, fallback: None } => write!(f, "{link}"),
            Why::NicUnreadable { link, fallback: Some(fallback) } => {
                let (pci, error) = fallback.as_ref();
                write!(f, "{link}; fallback by PCI device {} failed too: {error}", Shown::new(pci))
            }
            Why::PrefixTooLong { prefix, max, ip, mac } => {
                write!(f, "prefix length {prefix} is too long for {ip} (MAC {mac}), which allows at most /{max}")
            }
        }
    }
}

impl std::error::Error for Why {}
