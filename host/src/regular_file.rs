//! Opening a file by a path that may come from a tenant: no symlink is followed anywhere on the
//! path, and nothing but a regular file is ever opened for reading or writing.
//!
//! 1. `openat2` with `RESOLVE_NO_SYMLINKS` (which implies `RESOLVE_NO_MAGICLINKS`) gives an
//!    `O_PATH` descriptor. Getting one has none of open(2)'s side effects: a watchdog is not
//!    armed, a tty's DTR is not raised, a FIFO's writer is not woken. Its type is checked with
//!    `fstat`, and anything but a regular file is refused there.
//! 2. The same path is opened for I/O, again following no symlink, and the caller holds the new
//!    descriptor to the inode checked ([`Opened::identity`]: device and inode), so a file swapped
//!    in between is refused too.
//!
//! Step 2 could instead open `/proc/self/fd/N`, which names the checked inode itself, but procfs
//! builds a fresh process's `/proc/<pid>` on first use: about 25 µs per ADD, measured. What the
//! by-name open gives up is a window in which a writer of the directory could put a device at the
//! path and have it opened once (and then refused). The directories are the admin's, writable by
//! root only; a netconf's author can only name paths, never create them there.
//!
//! `openat2` came with Linux 5.6 (every supported AKS node image has it). On an older kernel
//! (ENOSYS) the open is refused ([`OpenError::NoOpenat2`]), never done the old, symlink-following
//! way.

use std::fmt;
use std::fs::File;
use std::io;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag, AT_FDCWD};
use nix::sys::stat::{fstat, FileStat, Mode, SFlag};

/// What is at a path when it is not a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A directory.
    Directory,
    /// A named pipe.
    Fifo,
    /// A character or block device.
    Device,
    /// A Unix socket.
    Socket,
    /// Anything else that is not a regular file.
    Special,
}

impl FileKind {
    /// The kind of a file of `mode` (`st_mode`), or `None` for a regular file.
    pub fn of_mode(mode: u32) -> Option<FileKind> {
        let format = SFlag::from_bits_truncate(mode & SFlag::S_IFMT.bits());
        Some(match format {
            SFlag::S_IFREG => return None,
            SFlag::S_IFDIR => FileKind::Directory,
            SFlag::S_IFIFO => FileKind::Fifo,
            SFlag::S_IFCHR | SFlag::S_IFBLK => FileKind::Device,
            SFlag::S_IFSOCK => FileKind::Socket,
            _ => FileKind::Special,
        })
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Directory => "directory",
            FileKind::Fifo => "FIFO",
            FileKind::Device => "device",
            FileKind::Socket => "socket",
            FileKind::Special => "special file",
        })
    }
}

/// Why a path could not be opened as a regular file.
#[derive(Debug)]
pub enum OpenError {
    /// Nothing at the path (or a directory on it is missing).
    Missing,
    /// A symlink on the path, which is never followed.
    Symlink,
    /// Not a regular file; it was never opened for I/O.
    NotRegular(FileKind),
    /// The kernel has no `openat2` (Linux before 5.6), or a seccomp filter hides it.
    NoOpenat2,
    /// Another file was at the path by the time it was opened for I/O.
    Replaced,
    /// Any other failure (permissions, a file in place of a directory, I/O).
    Io(io::Error),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Missing => f.write_str("does not exist"),
            OpenError::Symlink => f.write_str("has a symlink on its path, and none is ever followed"),
            OpenError::NotRegular(kind) => write!(f, "is a {kind}, not a regular file"),
            OpenError::NoOpenat2 => {
                f.write_str("cannot be opened safely: openat2 (Linux 5.6 or later) is not available")
            }
            OpenError::Replaced => f.write_str("was replaced while it was being opened"),
            OpenError::Io(e) => write!(f, "cannot be opened: {e}"),
        }
    }
}

impl From<Errno> for OpenError {
    fn from(errno: Errno) -> OpenError {
        match errno {
            Errno::ENOENT => OpenError::Missing,
            Errno::ELOOP => OpenError::Symlink,
            Errno::ENOSYS => OpenError::NoOpenat2,
            other => OpenError::Io(other.into()),
        }
    }
}

/// A regular file opened for I/O, and the identity of the file that was checked before.
#[derive(Debug)]
pub struct Opened {
    /// The descriptor for I/O.
    pub file: File,
    /// What the path named when its type was checked.
    pub identity: Identity,
}

/// A file's device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    dev: u64,
    ino: u64,
}

impl Identity {
    /// The identity in a file's status.
    pub fn of(status: &FileStat) -> Identity {
        Identity { dev: status.st_dev, ino: status.st_ino }
    }

    /// The identity in a file's metadata.
    pub fn of_metadata(meta: &std::fs::Metadata) -> Identity {
        use std::os::unix::fs::MetadataExt;
        Identity { dev: meta.dev(), ino: meta.ino() }
    }

    /// `Ok` when `opened` (the opened descriptor's identity) is this file.
    pub fn check(&self, opened: Identity) -> Result<(), OpenError> {
        if opened == *self {
            return Ok(());
        }
        Err(OpenError::Replaced)
    }
}

impl Opened {
    /// The file and its status, once checked to be the file whose type was checked.
    pub fn verify(self) -> Result<(File, FileStat), OpenError> {
        let status = fstat(&self.file).map_err(|e| OpenError::Io(e.into()))?;
        self.identity.check(Identity::of(&status))?;
        Ok((self.file, status))
    }
}

/// Opens the regular file at `path` with `flags` (access mode and `O_APPEND`; `O_CLOEXEC` is
/// added). The caller must check [`Opened::identity`] against the descriptor's own status
/// ([`Opened::verify`], or an `fstat` it makes anyway) before it trusts the file.
pub fn open_regular(path: &Path, flags: OFlag) -> Result<Opened, OpenError> {
    let handle = File::from(openat2(AT_FDCWD, path, how(OFlag::O_PATH, Mode::empty()))?);
    let status = fstat(&handle).map_err(|e| OpenError::Io(e.into()))?;
    if let Some(kind) = FileKind::of_mode(status.st_mode) {
        return Err(OpenError::NotRegular(kind));
    }
    drop(handle);
    let file = File::from(openat2(AT_FDCWD, path, how(flags, Mode::empty()))?);
    Ok(Opened { file, identity: Identity::of(&status) })
}

/// [`open_regular`] and [`Opened::verify`], creating the file with `mode` when nothing is at
/// `path` (never through a symlink: `O_EXCL` refuses one, as it refuses a file that appeared
/// meanwhile, which is then opened as any other).
pub fn open_or_create_regular(path: &Path, flags: OFlag, mode: Mode) -> Result<(File, FileStat), OpenError> {
    for _ in 0..2 {
        match open_regular(path, flags) {
            Err(OpenError::Missing) => {}
            opened => return opened?.verify(),
        }
        match openat2(AT_FDCWD, path, how(flags | OFlag::O_CREAT | OFlag::O_EXCL, mode)) {
            Ok(fd) => {
                let file = File::from(fd);
                let status = fstat(&file).map_err(|e| OpenError::Io(e.into()))?;
                return Ok((file, status));
            }
            Err(Errno::EEXIST) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // Created and removed again twice in a row by someone else: say so as a plain failure.
    Err(OpenError::Io(io::Error::from(io::ErrorKind::AlreadyExists)))
}

/// An `O_PATH` descriptor of the directory at `path`, no symlink followed on the way (for
/// `*at` calls on names inside it).
pub fn open_directory(path: &Path) -> Result<File, OpenError> {
    Ok(File::from(openat2(AT_FDCWD, path, how(OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()))?))
}

/// An `openat2` request: `flags` plus `O_CLOEXEC`, no symlink (so no magic link) followed.
fn how(flags: OFlag, mode: Mode) -> OpenHow {
    OpenHow::new().flags(flags | OFlag::O_CLOEXEC).mode(mode).resolve(ResolveFlag::RESOLVE_NO_SYMLINKS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::fs::symlink;

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("regular-file-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn opens_a_regular_file_and_nothing_else() {
        let dir = temp_dir("kinds");
        let file = dir.join("f");
        std::fs::write(&file, b"data").unwrap();
        let (mut opened, status) = open_regular(&file, OFlag::O_RDONLY).unwrap().verify().unwrap();
        let mut text = String::new();
        opened.read_to_string(&mut text).unwrap();
        assert_eq!((text.as_str(), status.st_size), ("data", 4));
        assert!(matches!(open_regular(&dir, OFlag::O_RDONLY), Err(OpenError::NotRegular(FileKind::Directory))));
        let fifo = dir.join("fifo");
        nix::unistd::mkfifo(&fifo, Mode::S_IRWXU).unwrap();
        assert!(matches!(open_regular(&fifo, OFlag::O_WRONLY), Err(OpenError::NotRegular(FileKind::Fifo))));
        let null = Path::new("/dev/null");
        assert!(matches!(open_regular(null, OFlag::O_WRONLY), Err(OpenError::NotRegular(FileKind::Device))));
        assert!(matches!(open_regular(&dir.join("none"), OFlag::O_RDONLY), Err(OpenError::Missing)));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn follows_no_symlink_anywhere_on_the_path() {
        let dir = temp_dir("links");
        std::fs::create_dir(dir.join("real")).unwrap();
        std::fs::write(dir.join("real/f"), b"x").unwrap();
        symlink(dir.join("real/f"), dir.join("last")).unwrap();
        symlink(dir.join("real"), dir.join("middle")).unwrap();
        for path in [dir.join("last"), dir.join("middle/f")] {
            assert!(matches!(open_regular(&path, OFlag::O_RDONLY), Err(OpenError::Symlink)), "{path:?}");
            let created = open_or_create_regular(&path, OFlag::O_WRONLY, Mode::S_IRUSR);
            assert!(matches!(created, Err(OpenError::Symlink | OpenError::Io(_))), "{path:?}");
        }
        // A dangling symlink is not created through either.
        symlink(dir.join("target"), dir.join("dangling")).unwrap();
        assert!(open_or_create_regular(&dir.join("dangling"), OFlag::O_WRONLY, Mode::S_IRUSR).is_err());
        assert!(!dir.join("target").exists());
        let magic = Path::new("/proc/self/exe");
        assert!(matches!(open_regular(magic, OFlag::O_RDONLY), Err(OpenError::Symlink)));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_swapped_in_after_the_check_is_refused() {
        let dir = temp_dir("swap");
        let path = dir.join("f");
        std::fs::write(&path, b"one").unwrap();
        let opened = open_regular(&path, OFlag::O_RDONLY).unwrap();
        let other = dir.join("g");
        std::fs::write(&other, b"two").unwrap();
        let status = fstat(File::open(&other).unwrap()).unwrap();
        assert!(matches!(opened.identity.check(Identity::of(&status)), Err(OpenError::Replaced)));
        assert!(opened.verify().is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn creates_with_the_mode_asked_then_opens_what_is_there() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("create");
        let path = dir.join("log");
        let (mut file, status) =
            open_or_create_regular(&path, OFlag::O_WRONLY | OFlag::O_APPEND, Mode::S_IRUSR | Mode::S_IWUSR).unwrap();
        file.write_all(b"one\n").unwrap();
        assert_eq!(status.st_size, 0);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let (mut again, status) =
            open_or_create_regular(&path, OFlag::O_WRONLY | OFlag::O_APPEND, Mode::S_IRUSR).unwrap();
        again.write_all(b"two\n").unwrap();
        assert_eq!(status.st_size, 4);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\ntwo\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
