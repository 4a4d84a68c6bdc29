//! Reading one file the CLI is pointed at (a sysfs attribute, `/proc/<pid>/comm`, a CNI config
//! in `net.d`, the FILE of `check-config`): never blocking, regular files only, one size limit.
//!
//! A FIFO or a device where a file is expected must not hang or flood the CLI: `open` without
//! `O_NONBLOCK` waits forever for a FIFO's writer, and `/dev/zero` never ends. So the file is
//! opened with `O_NONBLOCK` (and `O_NOCTTY`), checked with `fstat` on the open descriptor (no
//! window for a swap after a `stat` of the path), and read to at most [`MAX_READ`] bytes. The
//! pool itself is read by `pool_file`, which follows the same rules under its lock.

use std::fmt;
use std::fs::{File, FileType, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use nix::fcntl::OFlag;

use crate::run::MAX_STDIN;

/// The most bytes read from any one file: the limit stdin has, far above any real netconf, and
/// a sysfs attribute is at most a page.
pub const MAX_READ: usize = MAX_STDIN;

/// Why a file could not be read.
#[derive(Debug)]
pub enum NodeFileError {
    /// `open`, `fstat` or `read` failed.
    Io(io::Error),
    /// Not a regular file: a FIFO, a device, a directory, a socket.
    NotRegular(&'static str),
    /// Longer than the limit.
    TooLarge(usize),
}

impl fmt::Display for NodeFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeFileError::Io(e) => write!(f, "{e}"),
            NodeFileError::NotRegular(found) => write!(f, "is a {found}, not a regular file"),
            NodeFileError::TooLarge(limit) if limit % (1 << 20) == 0 => {
                write!(f, "is larger than {} MiB", limit >> 20)
            }
            NodeFileError::TooLarge(limit) => write!(f, "is larger than {limit} bytes"),
        }
    }
}

impl std::error::Error for NodeFileError {}

/// The whole file at `path`, at most [`MAX_READ`] bytes.
pub fn read(path: &Path) -> Result<Vec<u8>, NodeFileError> {
    read_at_most(path, MAX_READ)
}

/// The whole file at `path`, refused when longer than `limit` bytes.
pub fn read_at_most(path: &Path, limit: usize) -> Result<Vec<u8>, NodeFileError> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    file.take(cap).read_to_end(&mut bytes).map_err(NodeFileError::Io)?;
    if bytes.len() > limit {
        return Err(NodeFileError::TooLarge(limit));
    }
    Ok(bytes)
}

/// `path` opened read-only without blocking, if it is a regular file. A regular file ignores
/// `O_NONBLOCK`, so reads then behave as usual.
fn open_regular(path: &Path) -> Result<File, NodeFileError> {
    let flags = OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
    let file = OpenOptions::new().read(true).custom_flags(flags.bits()).open(path).map_err(NodeFileError::Io)?;
    let kind = file.metadata().map_err(NodeFileError::Io)?.file_type();
    if kind.is_file() {
        Ok(file)
    } else {
        Err(NodeFileError::NotRegular(describe(kind)))
    }
}

fn describe(kind: FileType) -> &'static str {
    if kind.is_fifo() {
        "FIFO"
    } else if kind.is_char_device() {
        "character device"
    } else if kind.is_block_device() {
        "block device"
    } else if kind.is_dir() {
        "directory"
    } else if kind.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_regular_file() {
        assert!(matches!(read(Path::new("/dev/zero")), Err(NodeFileError::NotRegular("character device"))));
        assert!(matches!(read(Path::new("/")), Err(NodeFileError::NotRegular("directory"))));
        assert!(matches!(read(Path::new("/nonexistent/x")), Err(NodeFileError::Io(_))));
    }

    #[test]
    fn refuses_more_than_the_limit() {
        let exe = std::env::current_exe().unwrap();
        let len = std::fs::metadata(&exe).unwrap().len() as usize;
        assert_eq!(read_at_most(&exe, len).unwrap().len(), len);
        let err = read_at_most(&exe, len - 1).unwrap_err();
        assert!(err.to_string().starts_with("is larger than"), "{err}");
        assert_eq!(NodeFileError::TooLarge(4 << 20).to_string(), "is larger than 4 MiB");
    }
}
