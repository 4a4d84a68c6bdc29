//! `install`: put this binary into the CNI bin dir so that a kubelet running the plugin at that
//! moment never sees half a file, even while another installer runs into the same directory.
//!
//! A temp file in the same directory, written and fsynced, made 0755, closed, renamed over the
//! target (atomic within a filesystem: an exec sees the old file or the new one), then the
//! directory fsynced so the rename survives a crash. Same bytes already there: nothing changes.
//! Any error removes the temp file. `--systemd DIR` puts the unit of `ipoib up --watch` in DIR
//! the same way, naming the binary just installed.
//!
//! Several installers can run at once (two DaemonSets, a manual install during a rollout), each
//! as pid 1 of its own container, so nothing about a temp file may depend on the pid:
//! - its name has a random suffix and is created with `O_EXCL`, so no other installer can open,
//!   replace or rename it (see [`TempFile::create`]);
//! - this process removes only the file it created (checked by inode before removing);
//! - a temp file left by a killed installer is removed by the next install once it is older
//!   than [`STALE_AFTER`], never because of whose pid it names.

use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::escape::text;
use super::report::CliError;
use super::PLUGIN_NAME;

const MODE: u32 = 0o755;
/// A temp file untouched for this long belongs to an installer that died: an install writes
/// its temp file in well under a second, and one stalled this long has failed anyway (its rename
/// then fails and it says so; it never installs a partial file).
pub const STALE_AFTER: Duration = Duration::from_secs(10 * 60);
/// How many random names are tried before giving up (a clash is a 1 in 2^64 event).
const NAME_ATTEMPTS: usize = 8;

/// The unit `--systemd` installs: `ipoib up --watch` for a VM's own IPoIB links.
pub const UNIT_NAME: &str = "azure-ipoib-up.service";
/// Its text, with `@BINARY@` where the installed binary's path goes.
const UNIT_TEMPLATE: &str = include_str!("../../../deploy/systemd/azure-ipoib-up.service");
/// A unit file's mode.
const UNIT_MODE: u32 = 0o644;

/// Installs the running binary as `dest/azure-ipoib-ipam-cni`, and with `unit_dir` the systemd
/// unit of `ipoib up --watch` as `unit_dir/azure-ipoib-up.service`, pointing at it.
pub fn run(dest: &Path, unit_dir: Option<&Path>, stdout: &mut dyn Write) -> Result<i32, CliError> {
    let source = std::env::current_exe()
        .map_err(|e| CliError::new(format!("cannot find this binary (/proc/self/exe): {e}"), "is /proc mounted?"))?;
    let bytes = fs::read(&source)
        .map_err(|e| CliError::new(format!("cannot read this binary {}: {e}", shown(&source)), "is /proc mounted?"))?;
    let target = put(dest, PLUGIN_NAME, &bytes, MODE, stdout)?;
    let Some(unit_dir) = unit_dir else { return Ok(0) };
    let target = fs::canonicalize(&target).map_err(|e| {
        CliError::new(format!("cannot resolve {}: {e}", shown(&target)), "give --dest as an absolute directory")
    })?;
    let binary = target.to_str().filter(|p| !p.contains(char::is_whitespace)).ok_or_else(|| {
        CliError::new(
            format!("{} cannot be named in a unit's ExecStart", shown(&target)),
            "install into a directory whose path is UTF-8 without spaces, such as /usr/local/bin",
        )
    })?;
    let unit = UNIT_TEMPLATE.replace("@BINARY@", binary);
    put(unit_dir, UNIT_NAME, unit.as_bytes(), UNIT_MODE, stdout)?;
    let _ = writeln!(stdout, "then: systemctl daemon-reload && systemctl enable --now {UNIT_NAME}");
    Ok(0)
}

/// Puts `bytes` at `dest/name` with `mode`, atomically; returns the path.
fn put(dest: &Path, name: &str, bytes: &[u8], mode: u32, stdout: &mut dyn Write) -> Result<PathBuf, CliError> {
    let meta = fs::metadata(dest).map_err(|e| {
        CliError::new(
            format!("destination {} is not usable: {e}", shown(dest)),
            "create it, or mount the host's /opt/cni/bin there (the DaemonSet's hostPath volume)",
        )
    })?;
    if !meta.is_dir() {
        return Err(CliError::new(
            format!("destination {} is not a directory", shown(dest)),
            "give --dest a directory",
        ));
    }
    let target = dest.join(name);
    remove_stale_temp_files(dest, SystemTime::now());
    if up_to_date(&target, bytes, mode) {
        let _ = writeln!(stdout, "{} is up to date ({} bytes)", shown(&target), bytes.len());
        return Ok(target);
    }
    let mut temp = TempFile::create(dest)?;
    temp.fill(bytes, mode).map_err(|e| temp.error("write", e))?;
    fs::rename(&temp.path, &target).map_err(|e| temp.error("rename into place", e))?;
    temp.disarm();
    File::open(dest).and_then(|dir| dir.sync_all()).map_err(|e| {
        CliError::new(
            format!("installed {} but cannot fsync {}: {e}", shown(&target), shown(dest)),
            "the file is in place; a crash now could lose the rename",
        )
    })?;
    let _ = writeln!(stdout, "installed {} ({} bytes)", shown(&target), bytes.len());
    Ok(target)
}

fn shown(path: &Path) -> String {
    text(path.as_os_str().as_encoded_bytes())
}

/// Whether `target` already holds `bytes`, with `mode`.
fn up_to_date(target: &Path, bytes: &[u8], mode: u32) -> bool {
    let mode_ok = fs::metadata(target).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o777 == mode);
    mode_ok && fs::read(target).is_ok_and(|current| current == bytes)
}

/// The prefix of every installer's temp file (older versions added their pid, this one a random
/// suffix): what [`remove_stale_temp_files`] looks at.
fn temp_prefix() -> String {
    format!(".{PLUGIN_NAME}.tmp-")
}

/// Removes temp files in `dir` that no write has touched for [`STALE_AFTER`]. Best effort: a
/// file that cannot be removed is left, and the install goes on.
fn remove_stale_temp_files(dir: &Path, now: SystemTime) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let prefix = temp_prefix();
    for entry in entries.flatten() {
        if !entry.file_name().as_encoded_bytes().starts_with(prefix.as_bytes()) {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = fs::symlink_metadata(&path) else { continue };
        let age = meta.modified().ok().and_then(|m| now.duration_since(m).ok());
        if meta.is_file() && age.is_some_and(|age| age >= STALE_AFTER) {
            let _ = fs::remove_file(&path);
        }
    }
}

/// 64 random bits for a temp file's name. std's `RandomState` is seeded from the OS's random
/// source (getrandom), which is all a name needs; the pid and the time are mixed in as well.
fn random_suffix() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    hasher.finish()
}

/// The temp file beside the target, removed on drop unless renamed into place.
struct TempFile {
    path: PathBuf,
    /// Open for writing until [`TempFile::fill`] closes it: an exec of a file that some process
    /// still has open for writing fails with ETXTBSY, so it must be closed before the rename.
    file: Option<File>,
    /// Device and inode of the file created: drop removes the name only while it still holds
    /// this file, never one another process put there.
    identity: (u64, u64),
    /// Whether drop removes the file (until it is renamed into place).
    armed: bool,
}

impl TempFile {
    /// Creates a temp file under a fresh random name with `O_EXCL`: the open fails rather than
    /// reuse a name that exists, so the file is this process's alone.
    fn create(dir: &Path) -> Result<TempFile, CliError> {
        let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
        for _ in 0..NAME_ATTEMPTS {
            let path = dir.join(format!("{}{:016x}", temp_prefix(), random_suffix()));
            match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
                Ok(file) => {
                    let meta = file.metadata().map_err(|e| create_error(dir, &e))?;
                    let identity = (meta.dev(), meta.ino());
                    return Ok(TempFile { path, file: Some(file), identity, armed: true });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
                Err(e) => return Err(create_error(dir, &e)),
            }
        }
        Err(create_error(dir, &last))
    }

    /// Writes, fsyncs, sets `mode`, and closes the file.
    fn fill(&mut self, bytes: &[u8], mode: u32) -> io::Result<()> {
        let file = self.file.take().ok_or_else(|| io::Error::other("temp file already filled"))?;
        (&file).write_all(bytes)?;
        file.sync_all()?;
        file.set_permissions(fs::Permissions::from_mode(mode))
    }

    fn error(&self, step: &str, e: io::Error) -> CliError {
        CliError::new(
            format!("cannot {step} {}: {e}", shown(&self.path)),
            "check free space and permissions of the destination; nothing was changed",
        )
    }

    fn disarm(&mut self) {
        self.armed = false;
    }
}

fn create_error(dir: &Path, e: &io::Error) -> CliError {
    CliError::new(
        format!("cannot create a file in {}: {e}", shown(dir)),
        "the directory must be writable (run as root; a hostPath volume must not be readOnly)",
    )
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let ours = fs::symlink_metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.identity);
        if ours {
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_differ_between_calls() {
        let names: std::collections::HashSet<u64> = (0..64).map(|_| random_suffix()).collect();
        assert_eq!(names.len(), 64);
    }
}
