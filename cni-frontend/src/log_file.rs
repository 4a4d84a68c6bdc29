//! The per-call log's file on disk: beneath the admin's log directory, a regular file, bounded.
//!
//! - The file is opened as [`regular_file`] opens any tenant path: no symlink followed, nothing
//!   but a regular file ever opened, so a FIFO's reader receives nothing and a device is never
//!   opened. A new file is created with mode 0600.
//! - The log directory itself (`AZURE_IPOIB_LOG_DIR`) is created with mode 0700 when missing;
//!   `mkdir` never follows a symlink in the last component. Nothing else is created.
//! - A file that would pass [`MAX_LOG_LEN`] is rotated once, to `NAME.1` (replacing the older
//!   generation), so a busy node cannot fill its disk. Of two calls that rotate at once, the one
//!   that gets the old file's write lock renames it; the other reopens the path and writes there.
//! - The caller's lines go out in one `write` to a file opened `O_APPEND`, so concurrent calls
//!   never interleave.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{fcntl, renameat, FcntlArg, OFlag};
use nix::libc;
use nix::sys::stat::{fstat, Mode};

use crate::regular_file::{self, OpenError};

/// Largest log file: past it, the file is rotated to `NAME.1`.
pub const MAX_LOG_LEN: u64 = 10 << 20;

/// Why the log could not be written.
#[derive(Debug)]
pub enum LogFileError {
    /// Opening or creating the file (or its directory) failed.
    Open(OpenError),
    /// The file could not be rotated, so nothing was written to it.
    Rotate(io::Error),
    /// The write failed, or wrote only part of the lines.
    Write(io::Error),
}

impl std::fmt::Display for LogFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogFileError::Open(e) => write!(f, "it {e}"),
            LogFileError::Rotate(e) => write!(f, "it is full and cannot be rotated: {e}"),
            LogFileError::Write(e) => write!(f, "cannot write: {e}"),
        }
    }
}

/// Appends `lines` to the log file at `path` (already held beneath `dir`), in one write.
pub fn append(dir: &Path, path: &Path, lines: &[u8]) -> Result<(), LogFileError> {
    let (mut file, len) = open(dir, path)?;
    let needed = u64::try_from(lines.len()).unwrap_or(u64::MAX);
    if len > 0 && len.saturating_add(needed) > MAX_LOG_LEN {
        file = rotate(dir, path, file)?;
    }
    match file.write(lines) {
        Ok(n) if n == lines.len() => Ok(()),
        Ok(n) => Err(LogFileError::Write(io::Error::other(format!("wrote {n} of {} bytes", lines.len())))),
        Err(e) => Err(LogFileError::Write(e)),
    }
}

/// The log file and its length, created (and its directory, if that is `dir`) when missing.
fn open(dir: &Path, path: &Path) -> Result<(File, u64), LogFileError> {
    let flags = OFlag::O_WRONLY | OFlag::O_APPEND;
    let mode = Mode::S_IRUSR | Mode::S_IWUSR;
    let opened = match regular_file::open_or_create_regular(path, flags, mode) {
        Err(OpenError::Missing) if path.parent() == Some(dir) => {
            match nix::unistd::mkdir(dir, Mode::S_IRWXU) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(LogFileError::Open(OpenError::Io(e.into()))),
            }
            regular_file::open_or_create_regular(path, flags, mode)
        }
        opened => opened,
    };
    let (file, status) = opened.map_err(LogFileError::Open)?;
    Ok((file, u64::try_from(status.st_size).unwrap_or(0)))
}

/// Renames the full log at `path` (open as `file`) to `NAME.1` and returns a new, empty one.
#[cold]
fn rotate(dir: &Path, path: &Path, file: File) -> Result<File, LogFileError> {
    let whole =
        libc::flock { l_type: libc::F_WRLCK as i16, l_whence: libc::SEEK_SET as i16, l_start: 0, l_len: 0, l_pid: 0 };
    // Not granted: another call is rotating it right now, and the reopen below finds its work.
    let locked = fcntl(&file, FcntlArg::F_OFD_SETLK(&whole)).is_ok();
    let ours = fstat(&file).map_err(|e| LogFileError::Rotate(e.into()))?;
    let at_path = nix::sys::stat::lstat(path).map_err(|e| LogFileError::Rotate(e.into()))?;
    if locked && (ours.st_dev, ours.st_ino) == (at_path.st_dev, at_path.st_ino) {
        let name = path.file_name().ok_or_else(|| LogFileError::Rotate(io::ErrorKind::InvalidInput.into()))?;
        let mut older = OsString::from(name);
        older.push(".1");
        // Both names in the directory's own descriptor, opened without following a symlink.
        let parent = path.parent().unwrap_or(dir);
        let handle = regular_file::open_directory(parent)
            .map_err(|e| LogFileError::Rotate(io::Error::other(format!("its directory {e}"))))?;
        renameat(&handle, name.as_bytes(), &handle, older.as_bytes()).map_err(|e| LogFileError::Rotate(e.into()))?;
    }
    drop(file);
    open(dir, path).map(|(file, _)| file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("log-file-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn creates_its_directory_and_file_private() {
        let base = temp_dir("create");
        let dir = base.join("logs");
        let path = dir.join("calls.log");
        append(&dir, &path, b"one\n").unwrap();
        append(&dir, &path, b"two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\ntwo\n");
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        // Subdirectories are not created.
        assert!(matches!(append(&dir, &dir.join("sub/x.log"), b"x\n"), Err(LogFileError::Open(OpenError::Missing))));
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn a_symlinked_directory_is_not_followed() {
        let base = temp_dir("linkdir");
        std::fs::create_dir(base.join("real")).unwrap();
        std::os::unix::fs::symlink(base.join("real"), base.join("logs")).unwrap();
        let dir = base.join("logs");
        assert!(append(&dir, &dir.join("calls.log"), b"x\n").is_err());
        assert!(!base.join("real/calls.log").exists());
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn rotates_once_past_the_cap() {
        let dir = temp_dir("rotate");
        let path = dir.join("calls.log");
        let full = File::create(&path).unwrap();
        full.set_len(MAX_LOG_LEN - 2).unwrap();
        std::fs::write(dir.join("calls.log.1"), b"oldest").unwrap();
        append(&dir, &path, b"new line\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new line\n");
        assert_eq!(std::fs::metadata(dir.join("calls.log.1")).unwrap().len(), MAX_LOG_LEN - 2);
        // Under the cap, nothing moves.
        append(&dir, &path, b"second\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new line\nsecond\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
