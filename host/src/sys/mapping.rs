//! A read-only memory mapping of the pool file.

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
