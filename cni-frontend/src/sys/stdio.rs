//! The process's standard streams as plain file descriptors, without std's `Stdin`/`Stdout`,
//! which allocate buffers (8 KiB and 1 KiB) and a lock the plugin does not need: it reads its
//! input once and writes its answer once.

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
