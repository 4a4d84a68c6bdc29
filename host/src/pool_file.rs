//! Opening the KVP pool file the way hv_kvp_daemon's readers must: under its lock.
//!
//! The daemon rewrites a pool by truncating it (`fopen("w")`) and writing every record again,
//! holding an fcntl write lock on the whole file meanwhile. A reader without a lock can see an
//! empty file or a 4096-byte prefix; a reader with a mapping can even take a SIGBUS. So:
//!
//! 1. open it as [`regular_file`] opens any path that may come from a tenant: no symlink
//!    followed on the way, and nothing but a regular file opened at all (a device in its place is
//!    never opened, so opening cannot arm a watchdog or wake a FIFO's writer);
//! 2. take an OFD read lock (`F_OFD_SETLK`, `F_RDLCK`), polling until the deadline: OFD and
//!    classic fcntl locks share one domain, so it conflicts with the daemon's write lock (flock
//!    would not: a separate domain, which the daemon ignores);
//! 3. `fstat` under the lock: the file checked in step 1 (device and inode), at most 1024
//!    records;
//! 4. map it read-only. Dropping [`LockedPool`] unmaps first, then closes (which unlocks).

use std::fmt;
use std::fs::File;
use std::io;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kvp_core::{Pool, RECORD_LEN};
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::libc;

use crate::outside_value::Shown;
pub use crate::regular_file::FileKind;
use crate::regular_file::{self, Identity, OpenError};
use crate::sys::ReadOnlyMapping;

/// Largest pool accepted: 1024 records. hv_kvp_daemon's pools hold tens.
pub const MAX_POOL_LEN: u64 = 1024 * RECORD_LEN as u64;

/// A pool file, mapped and read-locked for as long as this lives.
pub struct LockedPool {
    // Field order is drop order: unmap before the file closes and the lock goes.
    mapping: Option<ReadOnlyMapping>,
    _file: File,
}

impl LockedPool {
    /// The file's bytes (empty for an empty file).
    pub fn bytes(&self) -> &[u8] {
        self.mapping.as_ref().map_or(&[], ReadOnlyMapping::bytes)
    }

    /// The bytes viewed as KVP records.
    pub fn pool(&self) -> Pool<'_> {
        Pool::new(self.bytes())
    }
}

/// Why the pool at `path` could not be opened, locked, mapped or read.
#[derive(Debug)]
pub struct PoolFileError {
    /// The pool file asked for.
    pub path: PathBuf,
    /// What went wrong.
    pub kind: PoolFileErrorKind,
}

/// What went wrong with a pool file.
#[derive(Debug)]
pub enum PoolFileErrorKind {
    /// No file at the path (the daemon has not created it yet).
    Missing,
    /// The writer held its lock for the whole timeout.
    LockTimeout {
        /// How long the reader waited.
        timeout: Duration,
    },
    /// A symlink on the path: none is followed.
    Symlink,
    /// Not a regular file (never opened for reading).
    NotRegular {
        /// What is there instead.
        found: FileKind,
    },
    /// Larger than [`MAX_POOL_LEN`].
    TooLarge {
        /// The file's length.
        len: u64,
    },
    /// Any other failure (permissions, symlink loop, I/O error).
    Io {
        /// The step that failed.
        step: IoStep,
        /// Its error.
        error: io::Error,
    },
}

/// The step of reading a pool that failed with an I/O error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoStep {
    /// `openat2`, or reopening what it found.
    Open,
    /// The OFD read lock.
    Lock,
    /// `fstat`.
    Stat,
    /// `mmap`.
    Map,
    /// `pread` (in [`read_locked`]).
    Read,
}

impl fmt::Display for IoStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IoStep::Open => "open",
            IoStep::Lock => "lock",
            IoStep::Stat => "stat",
            IoStep::Map => "map",
            IoStep::Read => "read",
        })
    }
}

impl PoolFileError {
    /// Whether waiting may cure it: the daemon has not created the pool yet, or is rewriting it.
    pub fn is_transient(&self) -> bool {
        match self.kind {
            PoolFileErrorKind::Missing | PoolFileErrorKind::LockTimeout { .. } => true,
            PoolFileErrorKind::Symlink
            | PoolFileErrorKind::NotRegular { .. }
            | PoolFileErrorKind::TooLarge { .. }
            | PoolFileErrorKind::Io { .. } => false,
        }
    }

    fn new(path: &Path, kind: PoolFileErrorKind) -> PoolFileError {
        PoolFileError { path: path.to_path_buf(), kind }
    }

    fn io(path: &Path, step: IoStep, error: io::Error) -> PoolFileError {
        PoolFileError::new(path, PoolFileErrorKind::Io { step, error })
    }
}

impl fmt::Display for PoolFileError {
    // Only on failure: `#[cold]` puts it at the end of the hot section (hot-text.ld), so the
    // code a successful ADD runs stays within two 64 KiB fault-around windows.
    #[cold]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = Shown::path(&self.path);
        match &self.kind {
            PoolFileErrorKind::Missing => write!(f, "KVP pool {p} does not exist"),
            PoolFileErrorKind::LockTimeout { timeout } => {
                write!(f, "KVP pool {p} stayed write-locked by its writer for {} ms", timeout.as_millis())
            }
            PoolFileErrorKind::Symlink => {
                write!(f, "KVP pool {p} has a symlink on its path, and no symlink is ever followed")
            }
            PoolFileErrorKind::NotRegular { found } => write!(f, "KVP pool {p} is a {found}, not a regular file"),
            PoolFileErrorKind::TooLarge { len } => {
                write!(f, "KVP pool {p} is {len} bytes, more than the {MAX_POOL_LEN} of 1024 records")
            }
            PoolFileErrorKind::Io { step, error } => write!(f, "cannot {step} KVP pool {p}: {error}"),
        }
    }
}

impl std::error::Error for PoolFileError {}

/// Opens, read-locks and maps the pool at `path`, waiting up to `timeout` for the lock.
///
/// For a short-lived reader (the CNI plugin): the map costs no copy. A long-running reader must
/// use [`read_locked`] instead, because a fault inside a mapping (a writer that truncates without
/// the lock, a sparse file on a full tmpfs) raises SIGBUS, which would end the whole process.
pub fn open_locked(path: &Path, timeout: Duration) -> Result<LockedPool, PoolFileError> {
    let (file, len) = open_and_lock(path, timeout)?;
    let mapping = match usize::try_from(len).ok().and_then(NonZeroUsize::new) {
        None => None,
        Some(len) => Some(ReadOnlyMapping::new(&file, len).map_err(|e| PoolFileError::io(path, IoStep::Map, e))?),
    };
    Ok(LockedPool { mapping, _file: file })
}

/// Reads the whole pool at `path` into memory under the same read lock as [`open_locked`], and
/// releases the lock before returning.
///
/// For long-running readers (the CLI, the webhook): `pread` reports a fault as an error
/// instead of raising SIGBUS, so one bad read never ends the process.
pub fn read_locked(path: &Path, timeout: Duration) -> Result<Vec<u8>, PoolFileError> {
    let (file, len) = open_and_lock(path, timeout)?;
    read_all(path, &file, len)
}

/// A pool file kept open between reads, for a reader that reads it again and again (the
/// webhook, once per request).
///
/// Each [`PoolReader::read`] takes the same read lock as [`read_locked`], checks and reads the
/// file, and unlocks. Under the lock it also checks that the path still names the kept file
/// (`lstat` of the path against `fstat` of the file: device and inode). A pool renamed away,
/// deleted, or deleted and created again is dropped and the path opened again, so the answer
/// is never an old inode's: while nothing is at the path, the read fails as
/// [`PoolFileErrorKind::Missing`].
#[derive(Debug)]
pub struct PoolReader {
    path: PathBuf,
    file: Option<File>,
}

impl PoolReader {
    /// A reader for the pool at `path`; nothing is opened until the first read.
    pub fn new(path: &Path) -> PoolReader {
        PoolReader { path: path.to_path_buf(), file: None }
    }

    /// The whole pool, read under its read lock (waiting up to `timeout` for a writer), as
    /// [`read_locked`] returns it.
    pub fn read(&mut self, timeout: Duration) -> Result<Vec<u8>, PoolFileError> {
        let path = self.path.as_path();
        // A second round only when the kept file turned out to be unlinked.
        for _ in 0..2 {
            // A kept file was checked when it was opened; a new one is checked under the lock.
            let (file, checked) = match self.file.take() {
                Some(file) => (file, None),
                None => open_pool(path).map(|(file, identity)| (file, Some(identity)))?,
            };
            if let Err(e) = lock(path, &file, timeout) {
                if matches!(e.kind, PoolFileErrorKind::LockTimeout { .. }) {
                    self.file = Some(file);
                }
                return Err(e);
            }
            // Any early return from here drops the file, and closing it releases the lock.
            let meta = regular_metadata(path, &file)?;
            if let Some(identity) = checked {
                same_file(path, identity, &meta)?;
            }
            if !still_at(path, &meta)? {
                continue;
            }
            let bytes = read_all(path, &file, meta.len());
            if fcntl(&file, FcntlArg::F_OFD_SETLK(&whole_file(libc::F_UNLCK))).is_ok() {
                self.file = Some(file);
            }
            return bytes;
        }
        Err(PoolFileError::new(path, PoolFileErrorKind::Missing))
    }
}

/// Whether `path` still names the file whose metadata is `meta`; a missing path is the error.
fn still_at(path: &Path, meta: &std::fs::Metadata) -> Result<bool, PoolFileError> {
    use std::os::unix::fs::MetadataExt;
    match nix::sys::stat::lstat(path) {
        Ok(at) => Ok(at.st_dev == meta.dev() && at.st_ino == meta.ino() && meta.nlink() > 0),
        Err(Errno::ENOENT) => Err(PoolFileError::new(path, PoolFileErrorKind::Missing)),
        // A path that cannot be looked at now: open it again, which says why.
        Err(_) => Ok(false),
    }
}

/// Reads `len` bytes of `file` from its start (fewer if it is shorter).
fn read_all(path: &Path, file: &File, len: u64) -> Result<Vec<u8>, PoolFileError> {
    use std::os::unix::fs::FileExt;
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    let mut bytes = vec![0; len];
    let mut filled = 0;
    while let Some(rest) = bytes.get_mut(filled..).filter(|rest| !rest.is_empty()) {
        match file.read_at(rest, filled as u64) {
            // Shorter than fstat said: a writer truncated without the lock. Keep what was read.
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(PoolFileError::io(path, IoStep::Read, e)),
        }
    }
    bytes.truncate(filled);
    Ok(bytes)
}

/// Opens `path` and takes the read lock; returns the file and its size under the lock.
fn open_and_lock(path: &Path, timeout: Duration) -> Result<(File, u64), PoolFileError> {
    let (file, identity) = open_pool(path)?;
    lock(path, &file, timeout)?;
    let meta = regular_metadata(path, &file)?;
    same_file(path, identity, &meta)?;
    Ok((file, meta.len()))
}

/// `Ok` when the opened file (`meta`) is the one whose type was checked (`identity`).
fn same_file(path: &Path, identity: Identity, meta: &std::fs::Metadata) -> Result<(), PoolFileError> {
    identity.check(Identity::of_metadata(meta)).map_err(|e| open_error(path, e))
}

/// Opens the regular file at `path` read-only, following no symlink. The identity returned is
/// the file's whose type was checked; the status taken under the lock must match it.
fn open_pool(path: &Path) -> Result<(File, Identity), PoolFileError> {
    match regular_file::open_regular(path, OFlag::O_RDONLY) {
        Ok(opened) => Ok((opened.file, opened.identity)),
        Err(e) => Err(open_error(path, e)),
    }
}

fn open_error(path: &Path, e: OpenError) -> PoolFileError {
    let kind = match e {
        OpenError::Missing => PoolFileErrorKind::Missing,
        OpenError::Symlink => PoolFileErrorKind::Symlink,
        OpenError::NotRegular(found) => PoolFileErrorKind::NotRegular { found },
        e @ (OpenError::NoOpenat2 | OpenError::Replaced) => {
            PoolFileErrorKind::Io { step: IoStep::Open, error: io::Error::other(e.to_string()) }
        }
        OpenError::Io(error) => PoolFileErrorKind::Io { step: IoStep::Open, error },
    };
    PoolFileError::new(path, kind)
}

/// Takes the read lock on `file`, waiting up to `timeout`.
fn lock(path: &Path, file: &File, timeout: Duration) -> Result<(), PoolFileError> {
    let Err(e) = lock_shared(file, timeout) else { return Ok(()) };
    // A lock can fail on what is not a file at all; say that rather than the errno.
    check_regular(path, file)?;
    Err(match e {
        Errno::EAGAIN | Errno::EACCES => PoolFileError::new(path, PoolFileErrorKind::LockTimeout { timeout }),
        other => PoolFileError::io(path, IoStep::Lock, other.into()),
    })
}

/// Checks the file type and size; returns the size.
fn check_regular(path: &Path, file: &File) -> Result<u64, PoolFileError> {
    regular_metadata(path, file).map(|meta| meta.len())
}

/// The file's metadata, if it is a regular file of at most [`MAX_POOL_LEN`] bytes.
fn regular_metadata(path: &Path, file: &File) -> Result<std::fs::Metadata, PoolFileError> {
    let meta = file.metadata().map_err(|e| PoolFileError::io(path, IoStep::Stat, e))?;
    use std::os::unix::fs::MetadataExt;
    if let Some(found) = FileKind::of_mode(meta.mode()) {
        return Err(PoolFileError::new(path, PoolFileErrorKind::NotRegular { found }));
    }
    if meta.len() > MAX_POOL_LEN {
        return Err(PoolFileError::new(path, PoolFileErrorKind::TooLarge { len: meta.len() }));
    }
    Ok(meta)
}

/// Takes a whole-file OFD read lock, polling until `timeout` while a writer holds it.
fn lock_shared(file: &File, timeout: Duration) -> Result<(), Errno> {
    // The clock is read only once a writer is in the way: an uncontended lock (nearly every run)
    // then costs no vDSO lookup and no page faults on the vDSO's pages.
    let mut deadline = None;
    let mut pause = Duration::from_millis(1);
    loop {
        match fcntl(file, FcntlArg::F_OFD_SETLK(&whole_file(libc::F_RDLCK))) {
            Ok(_) => return Ok(()),
            Err(Errno::EINTR) => continue,
            Err(e @ (Errno::EAGAIN | Errno::EACCES)) => {
                let now = Instant::now();
                let deadline = *deadline.get_or_insert(now + timeout);
                if now >= deadline {
                    return Err(e);
                }
                std::thread::sleep(pause.min(deadline - now));
                pause = (pause * 2).min(Duration::from_millis(16));
            }
            Err(e) => return Err(e),
        }
    }
}

/// A lock request on the whole file. OFD locks require `l_pid` = 0.
fn whole_file(kind: i32) -> libc::flock {
    libc::flock { l_type: kind as i16, l_whence: libc::SEEK_SET as i16, l_start: 0, l_len: 0, l_pid: 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kvp_core::encode_record;
    use std::os::unix::fs::symlink;

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir = std::env::temp_dir().join(format!("pool-file-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn sample(dir: &TempDir) -> PathBuf {
        let mut record = kvp_core::RawRecord::zeroed();
        encode_record(b"IPoIB_Data", b"NUMPAIRS:1|00155D33FF0B:172.16.1.2", &mut record).unwrap();
        let path = dir.0.join("pool");
        std::fs::write(&path, record.as_bytes()).unwrap();
        path
    }

    const T: Duration = Duration::from_millis(50);

    #[test]
    fn maps_a_pool() {
        let dir = TempDir::new("ok");
        let pool = open_locked(&sample(&dir), T).unwrap();
        assert_eq!(pool.bytes().len(), RECORD_LEN);
        assert_eq!(pool.pool().get(b"IPoIB_Data").unwrap().value(), b"NUMPAIRS:1|00155D33FF0B:172.16.1.2");
    }

    #[test]
    fn an_empty_file_is_an_empty_pool() {
        let dir = TempDir::new("empty");
        let path = dir.0.join("pool");
        std::fs::write(&path, b"").unwrap();
        assert!(open_locked(&path, T).unwrap().pool().is_empty());
    }

    #[test]
    fn refuses_what_is_not_a_pool() {
        let dir = TempDir::new("bad");
        let kind = |result: Result<LockedPool, PoolFileError>| result.err().unwrap().kind;
        assert!(matches!(kind(open_locked(&dir.0.join("none"), T)), PoolFileErrorKind::Missing));
        let directory = kind(open_locked(&dir.0, T));
        assert!(matches!(directory, PoolFileErrorKind::NotRegular { found: FileKind::Directory }));
        let device = kind(open_locked(Path::new("/dev/zero"), T));
        assert!(matches!(device, PoolFileErrorKind::NotRegular { found: FileKind::Device }));
        let fifo = dir.0.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert!(matches!(kind(open_locked(&fifo, T)), PoolFileErrorKind::NotRegular { found: FileKind::Fifo }));
        let big = dir.0.join("big");
        File::create(&big).unwrap().set_len(MAX_POOL_LEN + 1).unwrap();
        assert!(matches!(kind(open_locked(&big, T)), PoolFileErrorKind::TooLarge { .. }));
        let exact = dir.0.join("exact");
        File::create(&exact).unwrap().set_len(MAX_POOL_LEN).unwrap();
        assert_eq!(open_locked(&exact, T).unwrap().pool().len(), 1024);
        let lp = dir.0.join("loop");
        symlink(&lp, &lp).unwrap();
        assert!(matches!(kind(open_locked(&lp, T)), PoolFileErrorKind::Symlink));
        let link = dir.0.join("link");
        symlink(&exact, &link).unwrap();
        assert!(matches!(kind(open_locked(&link, T)), PoolFileErrorKind::Symlink));
    }

    #[test]
    fn waits_for_a_writer_then_gives_up() {
        let dir = TempDir::new("locked");
        let path = sample(&dir);
        let writer = File::options().read(true).write(true).open(&path).unwrap();
        fcntl(&writer, FcntlArg::F_OFD_SETLK(&whole_file(libc::F_WRLCK))).unwrap();
        let started = Instant::now();
        let err = open_locked(&path, Duration::from_millis(100)).err().unwrap();
        let waited = started.elapsed();
        assert!(matches!(err.kind, PoolFileErrorKind::LockTimeout { .. }), "{err}");
        assert!(waited >= Duration::from_millis(100) && waited < Duration::from_millis(600), "{waited:?}");
        drop(writer);
        assert!(open_locked(&path, Duration::ZERO).is_ok());
    }

    #[test]
    fn read_locked_copies_what_open_locked_maps() {
        let dir = TempDir::new("copy");
        let path = sample(&dir);
        assert_eq!(read_locked(&path, T).unwrap(), open_locked(&path, T).unwrap().bytes());
        let empty = dir.0.join("empty");
        std::fs::write(&empty, b"").unwrap();
        assert!(read_locked(&empty, T).unwrap().is_empty());
        let directory = read_locked(&dir.0, T).err().unwrap().kind;
        assert!(matches!(directory, PoolFileErrorKind::NotRegular { found: FileKind::Directory }));
    }

    #[test]
    fn pool_reader_keeps_the_file_and_sees_every_change() {
        let dir = TempDir::new("reader");
        let path = sample(&dir);
        let mut reader = PoolReader::new(&path);
        assert_eq!(reader.read(T).unwrap(), read_locked(&path, T).unwrap());
        // Rewritten in place, as the daemon does.
        std::fs::write(&path, vec![b'x'; RECORD_LEN]).unwrap();
        assert_eq!(reader.read(T).unwrap(), vec![b'x'; RECORD_LEN]);
        // Renamed away: the path is missing, though the kept file still has a link.
        let away = dir.0.join("away");
        std::fs::rename(&path, &away).unwrap();
        assert!(matches!(reader.read(T).unwrap_err().kind, PoolFileErrorKind::Missing));
        std::fs::rename(&away, &path).unwrap();
        assert_eq!(reader.read(T).unwrap(), vec![b'x'; RECORD_LEN]);
        // Replaced by a rename, then deleted: the kept file is unlinked, the path is opened again.
        let other = dir.0.join("other");
        std::fs::write(&other, vec![b'y'; RECORD_LEN]).unwrap();
        std::fs::rename(&other, &path).unwrap();
        assert_eq!(reader.read(T).unwrap(), vec![b'y'; RECORD_LEN]);
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(reader.read(T).unwrap_err().kind, PoolFileErrorKind::Missing));
        std::fs::write(&path, b"").unwrap();
        assert!(reader.read(T).unwrap().is_empty());
        // It unlocks after each read: a writer gets the lock at once.
        let writer = File::options().read(true).write(true).open(&path).unwrap();
        fcntl(&writer, FcntlArg::F_OFD_SETLK(&whole_file(libc::F_WRLCK))).unwrap();
        assert!(matches!(reader.read(Duration::ZERO).unwrap_err().kind, PoolFileErrorKind::LockTimeout { .. }));
        drop(writer);
        assert!(reader.read(Duration::ZERO).is_ok());
    }

    #[test]
    fn readers_share_the_lock() {
        let dir = TempDir::new("shared");
        let path = sample(&dir);
        let first = open_locked(&path, T).unwrap();
        let second = open_locked(&path, Duration::ZERO).unwrap();
        assert_eq!(first.bytes(), second.bytes());
    }
}
