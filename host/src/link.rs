//! A NIC's hardware address, read over rtnetlink inside the container's network namespace.
//!
//! The plugin runs in the host's netns while `CNI_NETNS` names the container's. It enters that
//! netns only long enough to create an rtnetlink socket (a socket stays bound to the netns it was
//! created in) and returns at once, on every path, so nothing else the plugin does runs inside
//! the container. `setns` moves only the calling thread.
//!
//! `CNI_NETNS` comes from the runtime and may name anything. It is opened with `O_NONBLOCK`, so
//! a FIFO cannot hang the open, and checked before `setns`: it must live on nsfs (the same
//! device as the plugin's own netns handle) and must not be the plugin's own netns, which the Go
//! skel refuses too (one `fstat` of each handle).
#![forbid(unsafe_code)]

use std::fmt;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use kvp_core::{HwAddr, HwAddrError};
use nix::errno::Errno;
use nix::fcntl::{openat, OFlag, AT_FDCWD};
use nix::sched::{setns, CloneFlags};
use nix::sys::socket::{recv, sendto, socket, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType};
use nix::sys::stat::{fstat, Mode, SFlag};

use crate::netlink::{build_getlink_request, parse_getlink_reply, NetlinkError, GETLINK_REQUEST_MAX_LEN};
use crate::outside_value::Shown;

/// The calling thread's own netns, as tests look at it. The plugin itself takes its way back
/// with `SIOCGSKNS` instead (see `sys::current_netns`): procfs costs a new process far more.
#[cfg(test)]
const THREAD_NETNS: &str = "/proc/thread-self/ns/net";
/// A link description is 1-2 KiB without statistics (VF lists are not asked for; a veth's is
/// 1,136 bytes), so one stack buffer of this size takes nearly every reply in one round trip. A
/// larger one (many alternative names: 60 of 127 bytes make 9 KiB) is asked for again into a
/// heap buffer of the size the kernel reported. Not larger: each 4 KiB of stack depth is a page
/// fault in a fresh process, and 8 KiB here cost two (README, Performance).
const REPLY_BUF_LEN: usize = 2 * 1024;
/// A link that keeps growing between asking and reading is given up on after this many tries.
const MAX_TRIES: usize = 4;
/// The socket is fresh and carries one request, so any constant will do.
const REQUEST_SEQ: u32 = 1;

/// Which link a failed lookup was about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkName {
    /// The interface name asked for.
    pub ifname: String,
    /// The netns it was looked up in; `None` for the plugin's own.
    pub netns: Option<PathBuf>,
}

impl LinkName {
    fn new(netns: Option<&Path>, ifname: &str) -> LinkName {
        LinkName { ifname: ifname.to_owned(), netns: netns.map(Path::to_path_buf) }
    }
}

impl fmt::Display for LinkName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.netns {
            Some(netns) => write!(f, "link {:?} in netns {}", Shown::new(&self.ifname), Shown::path(netns)),
            None => write!(f, "link {:?} in the current netns", Shown::new(&self.ifname)),
        }
    }
}

/// The socket call that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketStep {
    /// `socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)`.
    Open,
    /// `sendto` of the request.
    Send,
    /// `recv` of the reply (`EAGAIN`: none was queued).
    Receive,
}

/// Why the hardware address of `link` could not be read.
///
/// Display prints the inner error (errno, address or parse error) itself, so
/// [`std::error::Error::source`] returns `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkError {
    /// The link asked for, and the netns it was looked up in.
    pub link: LinkName,
    /// What went wrong.
    pub kind: LinkErrorKind,
}

/// What went wrong reading a link's hardware address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkErrorKind {
    /// The netns path does not exist (`ENOENT`): the container is gone.
    NetnsNotFound,
    /// The netns path exists but cannot be opened or entered: `EPERM`/`EACCES`, or `EINVAL` when
    /// it is a namespace of another type.
    NetnsCannotEnter {
        /// From `open` or `setns`.
        errno: Errno,
    },
    /// The netns path names a file that is not a namespace at all (a FIFO, socket, directory,
    /// plain file or device), found before `setns`.
    NotANetns {
        /// What it is instead.
        found: &'static str,
    },
    /// The netns path names the plugin's own network namespace. The NIC must be looked up in
    /// the container's: Go's skel refuses this too.
    SameAsOwnNetns,
    /// No handle on the thread's own netns could be had, so there would be no way back: the
    /// container's netns is not entered.
    CannotSaveOwnNetns {
        /// From `socket` or the `SIOCGSKNS` ioctl.
        errno: Errno,
    },
    /// Returning from the container's netns failed; the thread may still be inside it.
    CannotReturnFromNetns {
        /// From `setns`.
        errno: Errno,
    },
    /// The interface name is empty, longer than 15 bytes or contains a NUL.
    InvalidIfname,
    /// A socket call failed.
    Socket {
        /// Which call.
        step: SocketStep,
        /// Its errno.
        errno: Errno,
    },
    /// The reply outgrew every buffer sized from the previous try (the link kept changing).
    ReplyTooLarge {
        /// The reply's full length.
        len: usize,
    },
    /// There is no link of that name in the netns (`ENODEV`).
    NoSuchLink,
    /// The kernel refused the request with another errno.
    Kernel {
        /// The errno in the kernel's `NLMSG_ERROR`.
        errno: Errno,
    },
    /// The link has no hardware address.
    NoAddress,
    /// The link's address is neither 6 (Ethernet) nor 20 (IPoIB) bytes.
    UnsupportedAddress(HwAddrError),
    /// The kernel's reply could not be parsed.
    MalformedReply(NetlinkError),
    /// The link is an IPoIB child (ipoib-cni's kind), which shares its parent's port GUID and so
    /// has no address of its own in `IPoIB_Data`.
    IpoibChild {
        /// The parent link's ifindex.
        parent_index: i32,
    },
}

impl LinkError {
    fn new(link: &LinkName, kind: LinkErrorKind) -> LinkError {
        LinkError { link: link.clone(), kind }
    }
}

impl fmt::Display for LinkError {
    // Only on failure: `#[cold]` puts it at the end of the hot section (hot-text.ld), so the
    // code a successful ADD runs stays within two 64 KiB fault-around windows.
    #[cold]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let link = &self.link;
        let netns = || link.netns.as_deref().map_or_else(|| "(current)".into(), |p| Shown::path(p).to_string());
        match &self.kind {
            LinkErrorKind::NetnsNotFound => write!(f, "netns {} does not exist", netns()),
            LinkErrorKind::NetnsCannotEnter { errno } => write!(f, "cannot enter netns {}: {errno}", netns()),
            LinkErrorKind::NotANetns { found } => {
                write!(f, "cannot enter netns {}: it is a {found}, not a network namespace", netns())
            }
            LinkErrorKind::SameAsOwnNetns => write!(
                f,
                "netns {} is the plugin's own: the plugin's netns and netns from CNI_NETNS should not be the same",
                netns()
            ),
            LinkErrorKind::CannotSaveOwnNetns { errno } => {
                write!(f, "cannot get a handle on the plugin's own netns (SIOCGSKNS): {errno}")
            }
            LinkErrorKind::CannotReturnFromNetns { errno } => {
                write!(f, "cannot return from netns {} to the plugin's own: {errno}", netns())
            }
            LinkErrorKind::InvalidIfname => write!(f, "{link}: interface name must be 1 to 15 bytes without NUL"),
            LinkErrorKind::Socket { step: SocketStep::Receive, errno: Errno::EAGAIN } => {
                write!(f, "{link}: the kernel queued no rtnetlink reply")
            }
            LinkErrorKind::Socket { step, errno } => {
                let call = match step {
                    SocketStep::Open => "cannot open rtnetlink socket",
                    SocketStep::Send => "cannot send RTM_GETLINK",
                    SocketStep::Receive => "cannot receive RTM_GETLINK reply",
                };
                write!(f, "{link}: {call}: {errno}")
            }
            LinkErrorKind::ReplyTooLarge { len } => {
                write!(f, "{link}: the rtnetlink reply kept growing ({len} bytes after {MAX_TRIES} tries)")
            }
            LinkErrorKind::NoSuchLink => write!(f, "{link} does not exist"),
            LinkErrorKind::Kernel { errno } => write!(f, "{link}: RTM_GETLINK failed: {errno}"),
            LinkErrorKind::NoAddress => write!(f, "{link} has no hardware address"),
            LinkErrorKind::UnsupportedAddress(error) => write!(f, "{link}: {error}"),
            LinkErrorKind::MalformedReply(error) => write!(f, "{link}: {error}"),
            LinkErrorKind::IpoibChild { parent_index } => write!(
                f,
                "{link} is an IPoIB child link (parent ifindex {parent_index}); it shares its parent's port GUID, \
                 so IPoIB_Data holds no address of its own for it"
            ),
        }
    }
}

impl std::error::Error for LinkError {}

/// The hardware address of `ifname` inside the network namespace at `netns` (a bind-mounted
/// netns file such as `/var/run/netns/<name>` or `/proc/<pid>/ns/net`).
///
/// Needs `CAP_SYS_ADMIN`. The calling thread is back in its own netns when this returns, also on
/// error (or, if even that fails, the error is [`LinkErrorKind::CannotReturnFromNetns`]).
pub fn hwaddr_in_netns(netns: &Path, ifname: &str) -> Result<HwAddr, LinkError> {
    let link = LinkName::new(Some(netns), ifname);
    let socket = route_socket_in(netns, &link)?;
    query_hwaddr(&socket, &link)
}

/// The hardware address of `ifname` in the calling thread's own network namespace: for tests,
/// which look at links they made in their own netns.
#[cfg(test)]
fn hwaddr_in_current_netns(ifname: &str) -> Result<HwAddr, LinkError> {
    let link = LinkName::new(None, ifname);
    let socket = route_socket()
        .map_err(|errno| LinkError::new(&link, LinkErrorKind::Socket { step: SocketStep::Open, errno }))?;
    query_hwaddr(&socket, &link)
}

/// An rtnetlink socket that lives in the netns at `netns`, created from inside it.
fn route_socket_in(netns: &Path, link: &LinkName) -> Result<OwnedFd, LinkError> {
    let error = |kind| LinkError::new(link, kind);
    let target = open_readonly(netns).map_err(|errno| {
        error(match errno {
            Errno::ENOENT => LinkErrorKind::NetnsNotFound,
            // Opening a socket file fails so: there is nothing to read behind it.
            Errno::ENXIO => LinkErrorKind::NotANetns { found: "socket" },
            errno => LinkErrorKind::NetnsCannotEnter { errno },
        })
    })?;
    let own = crate::sys::current_netns().map_err(|errno| error(LinkErrorKind::CannotSaveOwnNetns { errno }))?;
    check_other_netns(&target, &own).map_err(error)?;
    let inside = EnteredNetns::enter(&target, own).map_err(error)?;
    let socket = route_socket();
    // Leave before looking at the result, so an error cannot keep the thread inside.
    inside.leave().map_err(|errno| error(LinkErrorKind::CannotReturnFromNetns { errno }))?;
    socket.map_err(|errno| error(LinkErrorKind::Socket { step: SocketStep::Open, errno }))
}

/// `openat(AT_FDCWD, …)` rather than `open`: musl's `open` follows an `O_CLOEXEC` open with a
/// redundant `fcntl(F_SETFD)` (for kernels older than 2.6.23); its `openat` does not.
/// `O_NONBLOCK`: opening a FIFO for reading would otherwise wait for a writer, forever.
fn open_readonly(path: &Path) -> Result<OwnedFd, Errno> {
    openat(AT_FDCWD, path, OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC, Mode::empty())
}

/// Checks that `target` is a namespace file other than `own`, the plugin's own netns.
///
/// Every namespace file lives on nsfs, one kernel-internal filesystem, so it has the same
/// `st_dev` as `own`; anything else is refused here with what it is. The same device and inode
/// is the same namespace. (A namespace of another type passes, and `setns` refuses it with
/// `EINVAL`.)
fn check_other_netns(target: &OwnedFd, own: &OwnedFd) -> Result<(), LinkErrorKind> {
    let cannot_enter = |errno| LinkErrorKind::NetnsCannotEnter { errno };
    let target = fstat(target).map_err(cannot_enter)?;
    let own = fstat(own).map_err(cannot_enter)?;
    if target.st_dev != own.st_dev {
        let kind = match SFlag::from_bits_truncate(target.st_mode) & SFlag::S_IFMT {
            SFlag::S_IFIFO => "FIFO",
            SFlag::S_IFSOCK => "socket",
            SFlag::S_IFDIR => "directory",
            SFlag::S_IFREG => "regular file",
            SFlag::S_IFCHR | SFlag::S_IFBLK => "device",
            _ => "special file",
        };
        return Err(LinkErrorKind::NotANetns { found: kind });
    }
    if target.st_ino == own.st_ino {
        return Err(LinkErrorKind::SameAsOwnNetns);
    }
    Ok(())
}

/// An rtnetlink socket in the calling thread's netns (`ipoib up`'s sockets are these too).
pub(crate) fn route_socket() -> Result<OwnedFd, Errno> {
    socket(AddressFamily::Netlink, SockType::Raw, SockFlag::SOCK_CLOEXEC, SockProtocol::NetlinkRoute)
}

/// The thread's stay in another netns. Going back happens in [`EnteredNetns::leave`], or in
/// `Drop` should an early return skip it, so no path leaves the thread inside.
struct EnteredNetns {
    /// The thread's own netns; `None` once back in it.
    original: Option<OwnedFd>,
}

impl EnteredNetns {
    /// Enters `target`; `original` is the way back.
    fn enter(target: &OwnedFd, original: OwnedFd) -> Result<EnteredNetns, LinkErrorKind> {
        setns(target, CloneFlags::CLONE_NEWNET).map_err(|errno| LinkErrorKind::NetnsCannotEnter { errno })?;
        Ok(EnteredNetns { original: Some(original) })
    }

    fn leave(mut self) -> Result<(), Errno> {
        match self.original.take() {
            Some(original) => setns(original, CloneFlags::CLONE_NEWNET),
            None => Ok(()),
        }
    }
}

impl Drop for EnteredNetns {
    fn drop(&mut self) {
        if let Some(original) = self.original.take() {
            // Nothing to report to from here; `leave` is the path that reports.
            let _ = setns(original, CloneFlags::CLONE_NEWNET);
        }
    }
}

/// Asks the kernel over `socket` for `ifname` and returns its `IFLA_ADDRESS`.
fn query_hwaddr(socket: &OwnedFd, link: &LinkName) -> Result<HwAddr, LinkError> {
    let error = |kind| LinkError::new(link, kind);
    let socket_error = |step| move |errno| error(LinkErrorKind::Socket { step, errno });

    let mut request = [0u8; GETLINK_REQUEST_MAX_LEN];
    // The buffer has room for any valid name, so the name is the only thing that can be wrong.
    let request = build_getlink_request(&mut request, &link.ifname, REQUEST_SEQ)
        .map_err(|_| error(LinkErrorKind::InvalidIfname))?;
    let kernel = NetlinkAddr::new(0, 0);
    let ask = |buf: &mut [u8]| -> Result<usize, LinkError> {
        retry_on_eintr(|| sendto(socket.as_raw_fd(), request, &kernel, MsgFlags::empty()))
            .map_err(socket_error(SocketStep::Send))?;
        // rtnetlink answers inside `sendto`: the reply is queued before it returns, so the receive
        // never needs to wait (MSG_DONTWAIT: a missing reply is an error, not a hang). MSG_TRUNC
        // makes recv return the datagram's full length even when the buffer was shorter.
        retry_on_eintr(|| recv(socket.as_raw_fd(), buf, MsgFlags::MSG_TRUNC | MsgFlags::MSG_DONTWAIT))
            .map_err(socket_error(SocketStep::Receive))
    };

    let mut reply = [0u8; REPLY_BUF_LEN];
    let mut larger = Vec::new();
    let mut len = ask(&mut reply)?;
    // A cut datagram is gone (the rest was dropped), so a reply larger than the stack buffer is
    // asked for again, into a buffer of the size the kernel just reported.
    let mut tries = 1;
    while len > REPLY_BUF_LEN && len > larger.len() {
        if tries == MAX_TRIES {
            return Err(error(LinkErrorKind::ReplyTooLarge { len }));
        }
        larger.resize(len, 0);
        len = ask(&mut larger)?;
        tries += 1;
    }
    let received: &[u8] = if larger.is_empty() { &reply } else { &larger };
    let reply = received.get(..len).ok_or_else(|| error(LinkErrorKind::ReplyTooLarge { len }))?;

    let answer = parse_getlink_reply(reply, REQUEST_SEQ).map_err(|e| {
        error(match e {
            NetlinkError::Kernel { errno } if errno == Errno::ENODEV as i32 => LinkErrorKind::NoSuchLink,
            NetlinkError::Kernel { errno } => LinkErrorKind::Kernel { errno: Errno::from_raw(errno) },
            NetlinkError::NoAddress => LinkErrorKind::NoAddress,
            e => LinkErrorKind::MalformedReply(e),
        })
    })?;
    if let Some(parent_index) = answer.ipoib_parent() {
        return Err(error(LinkErrorKind::IpoibChild { parent_index }));
    }
    HwAddr::from_bytes(answer.address).map_err(|e| error(LinkErrorKind::UnsupportedAddress(e)))
}

/// `call`, again for as long as a signal interrupts it.
pub(crate) fn retry_on_eintr<T>(mut call: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    loop {
        match call() {
            Err(Errno::EINTR) => {}
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;
    use std::process::Command;

    use super::*;

    const MAC: [u8; 6] = [0x00, 0x15, 0x5d, 0x33, 0xff, 0x0b];

    /// The thread's netns identity (device, inode).
    fn current_netns() -> (u64, u64) {
        let meta = std::fs::metadata(THREAD_NETNS).unwrap();
        (meta.dev(), meta.ino())
    }

    fn ip(args: &[&str]) {
        let status = Command::new("ip").args(args).status().expect("run ip(8)");
        assert!(status.success(), "ip {} failed: {status}", args.join(" "));
    }

    /// A netns holding one end of a veth pair whose MAC is [`MAC`]; removed on drop, also when
    /// the test fails half-way through creating it.
    struct VethInNetns {
        netns: String,
        host_end: String,
        netns_end: String,
    }

    impl VethInNetns {
        /// `tag` keeps parallel tests apart; link names stay within 15 bytes.
        fn create(tag: &str) -> VethInNetns {
            let pid = std::process::id();
            let fixture = VethInNetns {
                netns: format!("ipoib-ipam-test-{pid}-{tag}"),
                host_end: format!("vh{tag}{pid}"),
                netns_end: format!("vn{tag}{pid}"),
            };
            ip(&["netns", "add", &fixture.netns]);
            ip(&["link", "add", &fixture.host_end, "type", "veth", "peer", "name", &fixture.netns_end]);
            ip(&["link", "set", &fixture.netns_end, "netns", &fixture.netns, "address", "00:15:5d:33:ff:0b"]);
            fixture
        }

        fn path(&self) -> PathBuf {
            Path::new("/var/run/netns").join(&self.netns)
        }
    }

    impl Drop for VethInNetns {
        fn drop(&mut self) {
            // Deleting the netns destroys its veth end, and with it the peer; the link deletion
            // covers a failure before the move. Either may find nothing to delete.
            let quiet = |args: &[&str]| {
                let _ = Command::new("ip").args(args).stderr(std::process::Stdio::null()).status();
            };
            quiet(&["link", "del", &self.host_end]);
            quiet(&["netns", "del", &self.netns]);
        }
    }

    #[test]
    fn loopback_in_current_netns() {
        let before = current_netns();
        assert_eq!(hwaddr_in_current_netns("lo"), Ok(HwAddr::Ethernet([0; 6])));
        assert_eq!(current_netns(), before);
    }

    #[test]
    fn missing_link_in_current_netns() {
        let error = hwaddr_in_current_netns("no-such-link0").unwrap_err();
        assert_eq!(error, LinkError { link: LinkName::new(None, "no-such-link0"), kind: LinkErrorKind::NoSuchLink });
        assert_eq!(error.to_string(), "link \"no-such-link0\" in the current netns does not exist");
    }

    #[test]
    fn invalid_ifname() {
        let error = hwaddr_in_current_netns("a-name-far-too-long").unwrap_err();
        assert_eq!(error.kind, LinkErrorKind::InvalidIfname, "{error:?}");
    }

    #[test]
    fn missing_netns_path() {
        let before = current_netns();
        let netns = Path::new("/var/run/netns/ipoib-ipam-test-does-not-exist");
        let error = hwaddr_in_netns(netns, "eth0").unwrap_err();
        assert_eq!(error, LinkError { link: LinkName::new(Some(netns), "eth0"), kind: LinkErrorKind::NetnsNotFound });
        assert_eq!(error.to_string(), "netns /var/run/netns/ipoib-ipam-test-does-not-exist does not exist");
        assert_eq!(current_netns(), before);
    }

    #[test]
    fn regular_file_is_not_a_netns() {
        let before = current_netns();
        let file = std::env::temp_dir().join(format!("ipoib-ipam-test-{}-not-a-netns", std::process::id()));
        std::fs::write(&file, b"").unwrap();
        let result = hwaddr_in_netns(&file, "eth0");
        let _ = std::fs::remove_file(&file);
        let error = result.unwrap_err();
        let kind = LinkErrorKind::NotANetns { found: "regular file" };
        assert_eq!(error, LinkError { link: LinkName::new(Some(&file), "eth0"), kind });
        assert_eq!(
            error.to_string(),
            format!("cannot enter netns {}: it is a regular file, not a network namespace", file.display())
        );
        assert_eq!(current_netns(), before);
    }

    #[test]
    fn a_fifo_is_refused_at_once() {
        let fifo = std::env::temp_dir().join(format!("ipoib-ipam-test-{}-fifo", std::process::id()));
        let _ = std::fs::remove_file(&fifo);
        nix::unistd::mkfifo(&fifo, Mode::S_IRWXU).unwrap();
        let result = hwaddr_in_netns(&fifo, "eth0");
        let _ = std::fs::remove_file(&fifo);
        let kind = LinkErrorKind::NotANetns { found: "FIFO" };
        assert_eq!(result, Err(LinkError { link: LinkName::new(Some(&fifo), "eth0"), kind }));
    }

    #[test]
    fn a_namespace_of_another_type_is_refused_by_setns() {
        let error = hwaddr_in_netns(Path::new("/proc/thread-self/ns/uts"), "eth0").unwrap_err();
        assert!(
            matches!(
                error.kind,
                LinkErrorKind::NetnsCannotEnter { errno: Errno::EINVAL }
                    | LinkErrorKind::NetnsCannotEnter { errno: Errno::EPERM }
            ),
            "{error:?}"
        );
    }

    #[test]
    fn veth_mac_in_netns() {
        if !ipoib_test_support::root::needs_root("veth_mac_in_netns") {
            return;
        }
        let veth = VethInNetns::create("a");
        let before = current_netns();
        assert_eq!(hwaddr_in_netns(&veth.path(), &veth.netns_end), Ok(HwAddr::Ethernet(MAC)));
        assert_eq!(current_netns(), before);
        // The lookup really happened inside: the netns end is not visible here, nor the host end there.
        assert_eq!(hwaddr_in_current_netns(&veth.netns_end).map_err(|e| e.kind), Err(LinkErrorKind::NoSuchLink));
        assert_eq!(hwaddr_in_netns(&veth.path(), &veth.host_end).map_err(|e| e.kind), Err(LinkErrorKind::NoSuchLink));
        assert_eq!(current_netns(), before);
    }

    #[test]
    fn missing_link_in_netns() {
        if !ipoib_test_support::root::needs_root("missing_link_in_netns") {
            return;
        }
        let veth = VethInNetns::create("b");
        let before = current_netns();
        let error = hwaddr_in_netns(&veth.path(), "eth9").unwrap_err();
        assert_eq!(
            error,
            LinkError { link: LinkName::new(Some(&veth.path()), "eth9"), kind: LinkErrorKind::NoSuchLink }
        );
        assert_eq!(error.to_string(), format!("link \"eth9\" in netns {} does not exist", veth.path().display()));
        assert_eq!(current_netns(), before);
    }

    #[test]
    fn own_netns_is_refused() {
        let before = current_netns();
        let netns = Path::new(THREAD_NETNS);
        let own = LinkError { link: LinkName::new(Some(netns), "lo"), kind: LinkErrorKind::SameAsOwnNetns };
        assert_eq!(hwaddr_in_netns(netns, "lo"), Err(own));
        assert_eq!(current_netns(), before);
    }
}
