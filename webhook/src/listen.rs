//! Opening the listening socket: TCP, or a unix socket file that this process owns (mode 0660,
//! parent directory created, a stale file from a previous run replaced, removed on exit); and
//! preparing a root-owned socket directory for a webhook that runs as non-root.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ipoib_host::outside_value::Shown;
use nix::sys::stat::{umask, Mode};
use nix::unistd::{chown, getegid};
use tokio::net::{TcpListener, UnixListener};

use crate::flags::Bind;

/// Mode of the socket file: DRANet's container (same pod, same user or group) may connect,
/// nobody else on the node.
pub const SOCKET_MODE: u32 = 0o660;

/// Mode of the socket's directory after [`prepare_socket_dir`]: its owner (root) and the
/// webhook's group may create and remove sockets there, nobody else may even look.
pub const SOCKET_DIR_MODE: u32 = 0o770;

/// A listening socket.
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// A unix socket, and the file that [`SocketFile`] removes.
    Unix(UnixListener, SocketFile),
}

/// The socket file; removed when dropped, so it goes as soon as the server stops accepting.
#[derive(Debug)]
pub struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Binds `bind`. Call inside the tokio runtime.
pub async fn bind(bind: &Bind) -> io::Result<Listener> {
    match bind {
        Bind::Tcp(addr) => bind_tcp(addr).await.map(Listener::Tcp),
        Bind::Unix(path) => bind_unix(path),
    }
}

/// `:port` is every interface, as in Go: IPv6 and IPv4 when the kernel has IPv6, else IPv4.
async fn bind_tcp(addr: &str) -> io::Result<TcpListener> {
    match addr.strip_prefix(':') {
        Some(port) => match TcpListener::bind(format!("[::]:{port}")).await {
            Ok(listener) => Ok(listener),
            Err(_) => TcpListener::bind(format!("0.0.0.0:{port}")).await,
        },
        None => TcpListener::bind(addr).await,
    }
}

fn bind_unix(path: &Path) -> io::Result<Listener> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    remove_stale(path)?;
    // The socket is created with the mode the umask leaves: set it so, rather than chmod after
    // (a window where anyone could connect). Nothing else runs yet, so the process-wide umask is
    // ours for this call.
    let old = umask(Mode::from_bits_truncate(0o777 & !SOCKET_MODE));
    let listener = std::os::unix::net::UnixListener::bind(path);
    umask(old);
    let listener = listener?;
    let file = SocketFile(path.to_path_buf());
    fs::set_permissions(path, fs::Permissions::from_mode(SOCKET_MODE))?;
    listener.set_nonblocking(true)?;
    Ok(Listener::Unix(UnixListener::from_std(listener)?, file))
}

/// Removes a socket file a previous run left behind. Refuses to remove anything else, or a
/// socket that another process still serves.
fn remove_stale(path: &Path) -> io::Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket; not replacing it", Shown::path(path)),
        ));
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("{} is served by another running process", Shown::path(path)),
        ));
    }
    fs::remove_file(path)
}

/// Gives the directory of a unix `bind` to this process's group, mode [`SOCKET_DIR_MODE`], and
/// returns it; creates it if missing.
///
/// Kubelet creates a hostPath directory root-owned, mode 0755, and fsGroup does not apply to
/// hostPath volumes, so a non-root webhook could not create its socket there. This runs first, in
/// an init container as uid 0 with the webhook's gid and no capabilities at all: the owner of a
/// file may give it to one of its own groups and set its mode without CAP_CHOWN or CAP_FOWNER.
pub fn prepare_socket_dir(bind: &Bind) -> io::Result<PathBuf> {
    let Bind::Unix(path) = bind else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "--prepare-socket-dir needs a unix:// --bind-address"));
    };
    let dir = path.parent().unwrap_or(Path::new("/"));
    fs::create_dir_all(dir)?;
    chown(dir, None, Some(getegid())).map_err(io::Error::from)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(SOCKET_DIR_MODE))?;
    Ok(dir.to_path_buf())
}
