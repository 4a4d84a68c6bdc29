//! `install`: put this binary into the CNI bin dir so that a kubelet running the plugin at that
//! moment never sees half a file.
//!
//! A temp file in the same directory, written and fsynced, made 0755, renamed over the target
//! (atomic within a filesystem: an exec sees the old file or the new one), then the directory
//! fsynced so the rename survives a crash. Same bytes already there: nothing changes. Any error
//! removes the temp file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::report::CliError;
use super::PLUGIN_NAME;

const MODE: u32 = 0o755;

/// Installs the running binary as `dest/azure-ipoib-ipam-cni`.
pub fn run(dest: &Path, stdout: &mut dyn Write) -> Result<i32, CliError> {
    let source = std::env::current_exe()
        .map_err(|e| CliError::new(format!("cannot find this binary (/proc/self/exe): {e}"), "is /proc mounted?"))?;
    let bytes = fs::read(&source).map_err(|e| {
        CliError::new(format!("cannot read this binary {}: {e}", source.display()), "is /proc mounted?")
    })?;
    let meta = fs::metadata(dest).map_err(|e| {
        CliError::new(
            format!("destination {} is not usable: {e}", dest.display()),
            "create it, or mount the host's /opt/cni/bin there (the DaemonSet's hostPath volume)",
        )
    })?;
    if !meta.is_dir() {
        return Err(CliError::new(
            format!("destination {} is not a directory", dest.display()),
            "give --dest a directory",
        ));
    }
    let target = dest.join(PLUGIN_NAME);
    if up_to_date(&target, &bytes) {
        let _ = writeln!(stdout, "{} is up to date ({} bytes)", target.display(), bytes.len());
        return Ok(0);
    }
    let mut temp = TempFile::create(dest)?;
    temp.fill(&bytes).map_err(|e| temp.error("write", e))?;
    fs::rename(&temp.path, &target).map_err(|e| temp.error("rename into place", e))?;
    temp.disarm();
    File::open(dest).and_then(|dir| dir.sync_all()).map_err(|e| {
        CliError::new(
            format!("installed {} but cannot fsync {}: {e}", target.display(), dest.display()),
            "the file is in place; a crash now could lose the rename",
        )
    })?;
    let _ = writeln!(stdout, "installed {} ({} bytes)", target.display(), bytes.len());
    Ok(0)
}

/// Whether `target` already holds `bytes` and is executable as installed.
fn up_to_date(target: &Path, bytes: &[u8]) -> bool {
    let mode_ok = fs::metadata(target).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o777 == MODE);
    mode_ok && fs::read(target).is_ok_and(|current| current == bytes)
}

/// The temp file beside the target, removed on drop unless renamed into place.
struct TempFile {
    path: PathBuf,
    /// Open for writing until [`TempFile::fill`] closes it: an exec of a file that some process
    /// still has open for writing fails with ETXTBSY, so it must be closed before the rename.
    file: Option<File>,
    /// Whether drop removes the file (until it is renamed into place).
    armed: bool,
}

impl TempFile {
    fn create(dir: &Path) -> Result<TempFile, CliError> {
        let path = dir.join(format!(".{PLUGIN_NAME}.tmp-{}", std::process::id()));
        // A leftover of a killed run with our pid: ours to replace.
        let _ = fs::remove_file(&path);
        let file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).map_err(|e| {
            CliError::new(
                format!("cannot create a file in {}: {e}", dir.display()),
                "the directory must be writable (run as root; a hostPath volume must not be readOnly)",
            )
        })?;
        Ok(TempFile { path, file: Some(file), armed: true })
    }

    /// Writes, fsyncs, sets the mode, and closes the file.
    fn fill(&mut self, bytes: &[u8]) -> io::Result<()> {
        let file = self.file.take().ok_or_else(|| io::Error::other("temp file already filled"))?;
        (&file).write_all(bytes)?;
        file.sync_all()?;
        file.set_permissions(fs::Permissions::from_mode(MODE))
    }

    fn error(&self, step: &str, e: io::Error) -> CliError {
        CliError::new(
            format!("cannot {step} {}: {e}", self.path.display()),
            "check free space and permissions of the destination; nothing was changed",
        )
    }

    fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}
