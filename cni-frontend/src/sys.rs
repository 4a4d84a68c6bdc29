//! The crate's only `unsafe` code: a read-only memory mapping of the pool file.
//!
//! Everything else that talks to the kernel (open, fcntl locks, fstat, setns, netlink sockets)
//! goes through nix's safe wrappers.
#![deny(clippy::undocumented_unsafe_blocks)]

use std::ffi::c_void;
use std::io;
use std::num::NonZeroUsize;
use std::os::fd::AsFd;
use std::ptr::NonNull;

use nix::sys::mman::{mmap, munmap, MapFlags, ProtFlags};

/// A private, read-only mapping of the first `len` bytes of a file; unmapped on drop.
///
/// Holding the mapping must go with holding a read lock that the file's writers honour: a
/// writer that truncated the file under a live mapping would make the next access raise SIGBUS,
/// and one that rewrote it would change bytes behind a `&[u8]`. hv_kvp_daemon only writes under
/// an fcntl write lock, which conflicts with the OFD read lock `pool_file` takes first.
pub struct ReadOnlyMapping {
    ptr: NonNull<c_void>,
    len: NonZeroUsize,
}

impl ReadOnlyMapping {
    /// Maps `len` bytes of `file` from offset 0.
    pub fn new(file: impl AsFd, len: NonZeroUsize) -> io::Result<Self> {
        // SAFETY: we ask for a fresh mapping (no fixed address), so no existing memory is
        // replaced; PROT_READ + MAP_PRIVATE means nothing we do can write to the file. The
        // pointer is only ever read through `bytes`, within `len`.
        let ptr = unsafe { mmap(None, len, ProtFlags::PROT_READ, MapFlags::MAP_PRIVATE, file, 0) }?;
        Ok(ReadOnlyMapping { ptr, len })
    }

    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` is the start of a live mapping of `len` readable bytes (mmap succeeded
        // and only `drop` unmaps it, which needs `&mut self`, so no borrow outlives it). The
        // bytes are not modified while borrowed as long as the file's writers are locked out,
        // the caller's contract above; `u8` has no invalid values and alignment 1.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().cast::<u8>(), self.len.get()) }
    }
}

impl Drop for ReadOnlyMapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` describe exactly the mapping created in `new`, unmapped only here;
        // no slice from `bytes` can outlive `self`.
        let _ = unsafe { munmap(self.ptr, self.len.get()) };
    }
}

/// The process's standard streams as plain file descriptors, without std's `Stdin`/`Stdout`,
/// which allocate buffers (8 KiB and 1 KiB) and a lock the plugin does not need: it reads its
/// input once and writes its answer once.
pub mod stdio {
    use std::io;
    use std::os::fd::BorrowedFd;

    /// fd 0.
    pub struct RawStdin;
    /// fd 1.
    pub struct RawStdout;

    fn fd(raw: i32) -> BorrowedFd<'static> {
        // SAFETY: fds 0 and 1 belong to the process from exec to exit and nothing here closes
        // them. Should the runtime have started us without one, the syscalls below fail with
        // EBADF: no memory is touched through a borrowed fd.
        unsafe { BorrowedFd::borrow_raw(raw) }
    }

    impl io::Read for RawStdin {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            nix::unistd::read(fd(0), buf).map_err(io::Error::from)
        }
    }

    impl io::Write for RawStdout {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            nix::unistd::write(fd(1), buf).map_err(io::Error::from)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}

/// `SIOCGSKNS` (`linux/sockios.h`, since 4.9): a new fd for the netns a socket lives in.
const SIOCGSKNS: u64 = 0x894C;

/// A handle on the calling thread's network namespace, to return to after `setns`.
///
/// Opening `/proc/thread-self/ns/net` does the same, but procfs builds the `/proc/<pid>`
/// entries of a new process on first use and tears them down at exit: measured at about 40 µs
/// per plugin run, against a few µs for a throwaway socket and this ioctl.
pub fn current_netns() -> Result<std::os::fd::OwnedFd, nix::errno::Errno> {
    use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    let probe = socket(AddressFamily::Unix, SockType::Datagram, SockFlag::SOCK_CLOEXEC, None)?;
    // SAFETY: `probe` is an open socket for the whole call; SIOCGSKNS reads no argument and
    // returns a new fd or -1 with errno set.
    let fd = unsafe { nix::libc::ioctl(probe.as_raw_fd(), SIOCGSKNS as _) };
    if fd < 0 {
        return Err(nix::errno::Errno::last());
    }
    // SAFETY: the kernel just created `fd` for this call; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
