//! Drives the real `hv_kvp_daemon` (Debian package `hyperv-daemons`) so tests get a pool file
//! written by the daemon itself rather than by our own encoder.
//!
//! The daemon talks to Hyper-V's KVP driver through `/dev/vmbus/hv_kvp`, one `struct hv_kvp_msg`
//! (7432 bytes, `<linux/hyperv.h>`) per `read`/`write`. Outside Hyper-V that device is missing, so:
//!
//! - an `LD_PRELOAD` shim (`kvp_shim.c`, compiled with `cc` on first use and cached for the test
//!   process) answers the daemon's `open("/dev/vmbus/hv_kvp")` with a duplicate of its stdin, which
//!   is one end of a `socketpair(AF_UNIX, SOCK_SEQPACKET)` (message boundaries kept, like the
//!   device); [`KvpDaemon`] plays the kernel driver on the other end;
//! - the daemon runs under `unshare --mount` with a fresh temporary directory bind-mounted over
//!   `/var/lib/hyperv`, so it writes its five pools there and never touches the host's pools (the
//!   host only gets an empty `/var/lib/hyperv` mount point if it had none).
//!
//! Protocol, as the daemon (6.1) and the kernel driver (`drivers/hv/hv_kvp.c`) speak it:
//! 1. daemon start-up: `uname`, `/etc/os-release`, `gethostname` + `getaddrinfo` (its FQDN, cached;
//!    the shim pins the host name to `localhost` so this never waits on DNS), then it opens and
//!    reads all five `/var/lib/hyperv/.kvp_pool_N` (creating them, empty), then opens the device;
//! 2. daemon → kernel: one message with `operation = KVP_OP_REGISTER1` (100);
//! 3. kernel → daemon: `KVP_OP_REGISTER1` with the driver version string (`"3.1"`) in
//!    `body.kvp_register.version`; no answer follows;
//! 4. per request, kernel → daemon one message (`KVP_OP_SET`/`GET`/`DELETE`/`ENUMERATE`, pool in
//!    `kvp_hdr.pool`, key/value UTF-8 with sizes that count the NUL), daemon → kernel one message of
//!    the same size whose first 4 bytes are the status (`HV_S_OK` = 0, `HV_S_CONT` = 0x80070103 for
//!    "no such key"/"failed").
//!
//! Each SET/DELETE re-reads the pool under an `fcntl` `F_WRLCK` on the whole file, then rewrites it
//! with `fopen("w")` (truncate) + `fwrite` + `fclose` under that lock. Readers that do not take a
//! read lock can therefore see an empty file or a 4096-byte prefix ([`UnlockedReader`] counts
//! those). The daemon has no `SIGTERM` handler, so it must only be stopped between requests; every
//! request here waits for its answer, and [`KvpDaemon::stop`] first collects answers still owed.
//!
//! Needs root (mount namespace, bind mount). A test passes [`preflight`] to
//! [`crate::root::can_run`], which decides whether it runs, skips, or (with `CI` set) fails when
//! that or a tool is missing.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::fcntl::{fcntl, FcntlArg};
use nix::libc;
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};

/// `sizeof(struct hv_kvp_msg)`: every message either way has exactly this size.
pub const MSG_SIZE: usize = 7432;
/// `HV_KVP_EXCHANGE_MAX_KEY_SIZE`: key field of a message and of a pool record, NUL included.
pub const KEY_MAX: usize = 512;
/// `HV_KVP_EXCHANGE_MAX_VALUE_SIZE`: value field of a message and of a pool record, NUL included.
pub const VALUE_MAX: usize = 2048;
/// One pool record: key field + value field.
pub const RECORD_LEN: usize = KEY_MAX + VALUE_MAX;
/// `KVP_POOL_COUNT`: pools 0 (external, where Azure puts `IPoIB_Data`) to 4.
pub const POOL_COUNT: u8 = 5;

/// `enum hv_kvp_exchg_op` and the registration opcode.
pub mod op {
    pub const GET: u8 = 0;
    pub const SET: u8 = 1;
    pub const DELETE: u8 = 2;
    pub const ENUMERATE: u8 = 3;
    pub const GET_IP_INFO: u8 = 4;
    pub const SET_IP_INFO: u8 = 5;
    /// `KVP_OP_REGISTER1`: the daemon's first message, and the driver's answer to it.
    pub const REGISTER1: u8 = 100;
}

/// Status codes in the first 4 bytes of the daemon's answers.
pub const HV_S_OK: u32 = 0;
/// What the daemon answers when a key is missing or an update failed.
pub const HV_S_CONT: u32 = 0x8007_0103;
/// `REG_SZ`: value type of a string value.
pub const REG_SZ: u32 = 1;
/// The version string the kernel driver registers with (`HV_DRV_VERSION`).
pub const DRIVER_VERSION: &str = "3.1";

/// The daemon binary used unless `HV_KVP_DAEMON` names another.
pub const DEFAULT_DAEMON: &str = "/usr/sbin/hv_kvp_daemon";
/// The directory the daemon keeps its pools in (compiled in).
pub const DAEMON_POOL_DIR: &str = "/var/lib/hyperv";
/// How long start-up and each request may take unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

// Offsets in `struct hv_kvp_msg` (packed): a 4-byte header (`u8 operation, u8 pool, u16 pad`,
// overlaid by `int error` in answers), then the body union.
const OFF_OP: usize = 0;
const OFF_POOL: usize = 1;
const OFF_BODY: usize = 4;
// body.kvp_set.data / body.kvp_get.data (struct hv_kvp_exchg_msg_value).
const OFF_VALUE_TYPE: usize = OFF_BODY;
const OFF_KEY_SIZE: usize = OFF_BODY + 4;
const OFF_VALUE_SIZE: usize = OFF_BODY + 8;
const OFF_KEY: usize = OFF_BODY + 12;
const OFF_VALUE: usize = OFF_KEY + KEY_MAX;
// body.kvp_delete.
const OFF_DELETE_KEY_SIZE: usize = OFF_BODY;
const OFF_DELETE_KEY: usize = OFF_BODY + 4;
// body.kvp_register.version.
const OFF_VERSION: usize = OFF_BODY;

const SHIM_SOURCE: &str = include_str!("kvp_shim.c");

/// Runs the daemon: bind-mounts `$1` over the pool directory inside the private mount namespace
/// `unshare` made, then becomes the daemon (same pid, so killing the child kills the daemon) with
/// the shim preloaded. `-n`: stay in the foreground.
const LAUNCH_SCRIPT: &str = r#"mount --bind "$1" /var/lib/hyperv || exit 125
LD_PRELOAD="$2"
export LD_PRELOAD
exec "$3" -n"#;

fn err(kind: io::ErrorKind, msg: impl Into<String>) -> io::Error {
    io::Error::new(kind, msg.into())
}

/// `e` with `what` in front, kind kept.
fn ctx(what: impl std::fmt::Display, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

fn put_u32(msg: &mut [u8], off: usize, v: u32) {
    msg[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}

fn get_u32(msg: &[u8], off: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&msg[off..off + 4]);
    u32::from_ne_bytes(b)
}

fn status_name(status: u32) -> &'static str {
    match status {
        HV_S_OK => "HV_S_OK",
        HV_S_CONT => "HV_S_CONT",
        0x8000_4005 => "HV_E_FAIL",
        0x8004_1002 => "HV_GUID_NOTFOUND",
        _ => "unknown status",
    }
}

/// A zeroed message with `operation` and `pool` set.
fn new_message(operation: u8, pool: u8) -> Vec<u8> {
    let mut msg = vec![0u8; MSG_SIZE];
    msg[OFF_OP] = operation;
    msg[OFF_POOL] = pool;
    msg
}

/// Checks a key or value and returns its size as the driver sends it (bytes + NUL).
fn field_size(what: &str, bytes: &[u8], max: usize) -> io::Result<u32> {
    if bytes.contains(&0) {
        return Err(err(io::ErrorKind::InvalidInput, format!("KVP {what} {:?} contains a NUL", bytes.escape_ascii())));
    }
    if bytes.len() + 1 > max {
        return Err(err(
            io::ErrorKind::InvalidInput,
            format!("KVP {what} is {} bytes; with its NUL it must fit {max}", bytes.len()),
        ));
    }
    u32::try_from(bytes.len() + 1).map_err(|_| err(io::ErrorKind::InvalidInput, format!("KVP {what} too long")))
}

fn check_pool(pool: u8) -> io::Result<()> {
    if pool >= POOL_COUNT {
        return Err(err(io::ErrorKind::InvalidInput, format!("KVP pool {pool} does not exist (0..{POOL_COUNT})")));
    }
    Ok(())
}

/// Asserts that the raw pool `bytes` show what the daemon does when `key`'s value `long` is
/// replaced by the shorter `short`: the new string and its NUL, then the old value's tail up to
/// its own NUL. Returns the whole 2048-byte value field.
pub fn assert_stale_tail<'a>(bytes: &'a [u8], key: &str, long: &str, short: &str) -> &'a [u8] {
    let (_, value) = raw_records(bytes)
        .find(|(k, _)| c_field(k) == key.as_bytes())
        .unwrap_or_else(|| panic!("{key} record in the raw file"));
    assert_eq!(value.len(), VALUE_MAX);
    let n = short.len();
    assert_eq!(&value[..n], short.as_bytes());
    assert_eq!(value[n], 0, "the new value's NUL");
    assert_eq!(&value[n + 1..long.len()], &long.as_bytes()[n + 1..], "the old value's tail survives the NUL");
    assert_eq!(value[long.len()], 0, "the old value's NUL");
    value
}

/// The bytes of a NUL-terminated field up to the NUL.
pub fn c_field(field: &[u8]) -> &[u8] {
    field.split(|&b| b == 0).next().unwrap_or(field)
}

/// Effective uid, from `/proc/self/status` (std only).
fn euid() -> io::Result<u32> {
    let status = fs::read_to_string("/proc/self/status").map_err(|e| ctx("read /proc/self/status", e))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| err(io::ErrorKind::InvalidData, "no effective uid in /proc/self/status"))
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| is_executable(&dir.join(program))))
        .unwrap_or(false)
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

/// The daemon binary: `$HV_KVP_DAEMON` or [`DEFAULT_DAEMON`].
pub fn daemon_binary() -> PathBuf {
    std::env::var_os("HV_KVP_DAEMON").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(DEFAULT_DAEMON))
}

/// Why the daemon cannot run here, if it cannot: not root, or the daemon, `cc`, `unshare`, `mount`
/// or `sh` missing.
pub fn preflight() -> Result<(), String> {
    match euid() {
        Ok(0) => {}
        Ok(uid) => return Err(format!("needs root (runs hv_kvp_daemon in a mount namespace); euid is {uid}")),
        Err(e) => return Err(e.to_string()),
    }
    let daemon = daemon_binary();
    if !is_executable(&daemon) {
        return Err(format!("{} is missing (apt-get install hyperv-daemons, or set HV_KVP_DAEMON)", daemon.display()));
    }
    for tool in ["cc", "unshare", "mount", "sh"] {
        if !on_path(tool) {
            return Err(format!("`{tool}` is not on PATH"));
        }
    }
    Ok(())
}

/// A fresh directory under the system temp dir, unique to this process and call.
fn unique_dir(prefix: &str) -> io::Result<PathBuf> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    for _ in 0..16 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("{prefix}-{}-{n}-{nanos:08x}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(ctx(format!("create {}", dir.display()), e)),
        }
    }
    Err(err(io::ErrorKind::AlreadyExists, format!("no free {prefix}-* name under the temp dir")))
}

/// The compiled shim, built once per test process.
pub fn shim_path() -> io::Result<PathBuf> {
    static SHIM: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    SHIM.get_or_init(|| build_shim().map_err(|e| e.to_string()))
        .clone()
        .map_err(|e| err(io::ErrorKind::Other, format!("building the hv_kvp shim: {e}")))
}

const CC_ARGS: [&str; 7] = ["-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror", "-ldl"];

/// Compiles `kvp_shim.c` into the test profile's target dir (not world-writable, unlike /tmp; a
/// library preloaded into a root process must not sit where others can swap it). The file name
/// carries a hash of source and flags; the build goes to a per-process name first and is renamed
/// into place, so concurrent test processes never see a half-written library.
fn build_shim() -> io::Result<PathBuf> {
    // A test binary runs from target/<profile>/deps/; the shim goes beside that directory.
    let exe = std::env::current_exe().map_err(|e| ctx("find the test binary".to_string(), e))?;
    let dir = match exe.parent().and_then(Path::parent) {
        Some(profile_dir) => {
            let dir = profile_dir.join("kvp-shim");
            fs::create_dir_all(&dir).map_err(|e| ctx(format!("create {}", dir.display()), e))?;
            dir
        }
        None => unique_dir("kvp-shim")?,
    };
    let mut hasher = DefaultHasher::new();
    (SHIM_SOURCE, CC_ARGS).hash(&mut hasher);
    let lib = dir.join(format!("libkvp_shim-{:016x}.so", hasher.finish()));
    if lib.is_file() {
        return Ok(lib);
    }
    let pid = std::process::id();
    let src = dir.join(format!("kvp_shim-{pid}.c"));
    let tmp_lib = dir.join(format!("libkvp_shim-{pid}.so.tmp"));
    fs::write(&src, SHIM_SOURCE).map_err(|e| ctx(format!("write {}", src.display()), e))?;
    let out = Command::new("cc")
        .arg("-o")
        .arg(&tmp_lib)
        .arg(&src)
        .args(CC_ARGS)
        .output()
        .map_err(|e| ctx("run cc (is a C compiler installed?)", e))?;
    let _ = fs::remove_file(&src);
    if !out.status.success() {
        let _ = fs::remove_file(&tmp_lib);
        return Err(err(
            io::ErrorKind::Other,
            format!("cc {}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim()),
        ));
    }
    fs::rename(&tmp_lib, &lib).map_err(|e| ctx(format!("rename {} to {}", tmp_lib.display(), lib.display()), e))?;
    Ok(lib)
}

/// The kernel end of the daemon's `/dev/vmbus/hv_kvp`.
struct Channel {
    sock: UnixStream,
    /// Requests whose answer did not arrive in time; they are read (and dropped) before the next
    /// request, so answers never get mixed up.
    owed: usize,
}

impl Channel {
    /// One message from the daemon, or `TimedOut`/`UnexpectedEof`/`InvalidData`.
    fn recv(&mut self, timeout: Duration) -> io::Result<Vec<u8>> {
        self.sock.set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
        // One byte more than a message, to notice a longer one (SEQPACKET truncates to the buffer).
        let mut buf = vec![0u8; MSG_SIZE + 1];
        let n = match self.sock.read(&mut buf) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Err(err(io::ErrorKind::TimedOut, format!("no message from hv_kvp_daemon within {timeout:?}")));
            }
            Err(e) => return Err(ctx("read from hv_kvp_daemon", e)),
        };
        if n == 0 {
            return Err(err(io::ErrorKind::UnexpectedEof, "hv_kvp_daemon closed its end (exited?)"));
        }
        if n != MSG_SIZE {
            return Err(err(
                io::ErrorKind::InvalidData,
                format!("hv_kvp_daemon sent a {n}-byte message; struct hv_kvp_msg is {MSG_SIZE}"),
            ));
        }
        buf.truncate(MSG_SIZE);
        Ok(buf)
    }

    fn send(&mut self, msg: &[u8]) -> io::Result<()> {
        debug_assert_eq!(msg.len(), MSG_SIZE);
        let n = self.sock.write(msg).map_err(|e| ctx("write to hv_kvp_daemon", e))?;
        if n != msg.len() {
            return Err(err(io::ErrorKind::WriteZero, format!("sent {n} of {} bytes to hv_kvp_daemon", msg.len())));
        }
        Ok(())
    }

    /// Reads the answers still owed from earlier timed-out requests.
    fn settle(&mut self, timeout: Duration) -> io::Result<()> {
        while self.owed > 0 {
            self.recv(timeout).map_err(|e| ctx("collecting the answer to an earlier request that timed out", e))?;
            self.owed -= 1;
        }
        Ok(())
    }
}

/// A running `hv_kvp_daemon` writing its pools into a private temporary directory. Dropping it
/// (or [`stop`](KvpDaemon::stop)) kills the daemon between requests and removes the directory.
pub struct KvpDaemon {
    child: Option<Child>,
    daemon: PathBuf,
    chan: Mutex<Channel>,
    /// Everything of ours: `pools/` (mounted over /var/lib/hyperv for the daemon) and the
    /// daemon's stderr.
    dir: PathBuf,
    pool_dir: PathBuf,
    stderr_path: PathBuf,
    timeout: Duration,
}

impl KvpDaemon {
    /// Builds the shim (once per process), starts the daemon in its own mount namespace and
    /// completes the registration handshake. On return all five pool files exist (empty).
    pub fn start() -> io::Result<KvpDaemon> {
        Self::start_with(&daemon_binary(), DEFAULT_TIMEOUT)
    }

    /// [`start`](Self::start) with another daemon binary and per-request timeout.
    pub fn start_with(daemon: &Path, timeout: Duration) -> io::Result<KvpDaemon> {
        if !is_executable(daemon) {
            return Err(err(
                io::ErrorKind::NotFound,
                format!("{} is not an executable file (apt-get install hyperv-daemons)", daemon.display()),
            ));
        }
        let shim = shim_path()?;
        // The bind mount needs a mount point; the daemon itself would create the directory.
        if !Path::new(DAEMON_POOL_DIR).is_dir() {
            fs::create_dir_all(DAEMON_POOL_DIR).map_err(|e| ctx(format!("create mount point {DAEMON_POOL_DIR}"), e))?;
        }
        let dir = unique_dir("kvp-daemon")?;
        match Self::spawn(dir.clone(), daemon, &shim, timeout) {
            Ok(d) => Ok(d),
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    fn spawn(dir: PathBuf, daemon: &Path, shim: &Path, timeout: Duration) -> io::Result<KvpDaemon> {
        let pool_dir = dir.join("pools");
        fs::create_dir(&pool_dir).map_err(|e| ctx(format!("create {}", pool_dir.display()), e))?;
        fs::set_permissions(&pool_dir, fs::Permissions::from_mode(0o755))
            .map_err(|e| ctx(format!("chmod {}", pool_dir.display()), e))?;
        let stderr_path = dir.join("daemon.stderr");
        let stderr = File::create(&stderr_path).map_err(|e| ctx(format!("create {}", stderr_path.display()), e))?;

        // Both ends close-on-exec; the daemon's end reaches it as stdin (dup2 in the child clears
        // the flag there), so no other child of this test process inherits it.
        let (ours, theirs) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
            .map_err(|e| ctx("socketpair(AF_UNIX, SOCK_SEQPACKET)", io::Error::from(e)))?;
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--propagation", "private", "sh", "-c", LAUNCH_SCRIPT, "kvp-daemon"])
            .args([pool_dir.as_os_str(), shim.as_os_str(), daemon.as_os_str()])
            .env("KVP_SHIM_FD", "0")
            .env("KVP_SHIM_HOSTNAME", "localhost")
            .stdin(Stdio::from(theirs))
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr));
        let child = cmd.spawn().map_err(|e| ctx("spawn unshare (util-linux)", e))?;
        drop(cmd); // closes our copy of the daemon's end, so its exit reads as EOF here

        let mut daemon = KvpDaemon {
            child: Some(child),
            daemon: daemon.to_path_buf(),
            chan: Mutex::new(Channel { sock: UnixStream::from(ours), owed: 0 }),
            dir,
            pool_dir,
            stderr_path,
            timeout,
        };
        if let Err(e) = daemon.register() {
            let why = daemon.post_mortem();
            return Err(err(e.kind(), format!("starting {}: {e}{why}", daemon.daemon.display())));
        }
        Ok(daemon)
    }

    /// Steps 2 and 3 of the protocol.
    fn register(&mut self) -> io::Result<()> {
        let timeout = self.timeout;
        let mut chan = self.channel();
        let hello = chan.recv(timeout).map_err(|e| ctx("waiting for the registration message", e))?;
        if hello[OFF_OP] != op::REGISTER1 {
            return Err(err(
                io::ErrorKind::InvalidData,
                format!("first message has operation {}, expected KVP_OP_REGISTER1 (100)", hello[OFF_OP]),
            ));
        }
        let mut reply = new_message(op::REGISTER1, 0);
        reply[OFF_VERSION..OFF_VERSION + DRIVER_VERSION.len()].copy_from_slice(DRIVER_VERSION.as_bytes());
        chan.send(&reply)?;
        drop(chan);
        // The daemon created the pools before it registered; seeing them here also proves the bind
        // mount took (otherwise they would be in the host's /var/lib/hyperv).
        for n in 0..POOL_COUNT {
            let path = self.pool_path(n);
            fs::metadata(&path).map_err(|e| ctx(format!("daemon registered but {} is missing", path.display()), e))?;
        }
        Ok(())
    }

    fn channel(&self) -> MutexGuard<'_, Channel> {
        self.chan.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The daemon's pid (it is the spawned child itself: `unshare` and `sh` exec into it).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The directory holding the daemon's pools (its `/var/lib/hyperv`).
    pub fn pool_dir(&self) -> &Path {
        &self.pool_dir
    }

    /// `.kvp_pool_<pool>` in [`pool_dir`](Self::pool_dir); pool 0 is where Azure puts `IPoIB_Data`.
    pub fn pool_path(&self, pool: u8) -> PathBuf {
        self.pool_dir.join(format!(".kvp_pool_{pool}"))
    }

    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends one request and returns the answer (status not checked). If the answer does not come
    /// within `timeout` (say the pool is locked), the error is `TimedOut` and the answer is
    /// collected before the next request.
    pub fn request(&self, msg: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
        if msg.len() != MSG_SIZE {
            return Err(err(io::ErrorKind::InvalidInput, format!("a request is {MSG_SIZE} bytes, not {}", msg.len())));
        }
        let mut chan = self.channel();
        chan.settle(self.timeout)?;
        chan.send(msg)?;
        match chan.recv(timeout) {
            Ok(answer) => Ok(answer),
            Err(e) => {
                if e.kind() == io::ErrorKind::TimedOut {
                    chan.owed += 1;
                }
                Err(e)
            }
        }
    }

    /// `KVP_OP_SET`: the host setting `key` to `value` in `pool`, as the kernel driver forwards it
    /// (UTF-8, sizes counting the NUL). Returns once the daemon has rewritten the pool file.
    pub fn set(&self, pool: u8, key: &str, value: &str) -> io::Result<()> {
        self.set_bytes(pool, key.as_bytes(), value.as_bytes(), self.timeout)
    }

    /// [`set`](Self::set) with raw bytes (no NUL inside; one is appended) and an explicit timeout.
    pub fn set_bytes(&self, pool: u8, key: &[u8], value: &[u8], timeout: Duration) -> io::Result<()> {
        check_pool(pool)?;
        let key_size = field_size("key", key, KEY_MAX)?;
        let value_size = field_size("value", value, VALUE_MAX)?;
        let mut msg = new_message(op::SET, pool);
        put_u32(&mut msg, OFF_VALUE_TYPE, REG_SZ);
        put_u32(&mut msg, OFF_KEY_SIZE, key_size);
        put_u32(&mut msg, OFF_VALUE_SIZE, value_size);
        msg[OFF_KEY..OFF_KEY + key.len()].copy_from_slice(key);
        msg[OFF_VALUE..OFF_VALUE + value.len()].copy_from_slice(value);
        let what = || format!("KVP_OP_SET pool {pool} key {:?}", key.escape_ascii().to_string());
        let answer = self.request(&msg, timeout).map_err(|e| ctx(what(), e))?;
        match get_u32(&answer, 0) {
            HV_S_OK => Ok(()),
            status => Err(err(
                io::ErrorKind::Other,
                format!("{}: daemon answered {status:#010x} ({})", what(), status_name(status)),
            )),
        }
    }

    /// `KVP_OP_DELETE`: `Ok(true)` if the key was there and is gone, `Ok(false)` if it was not
    /// there (`HV_S_CONT`).
    pub fn delete(&self, pool: u8, key: &str) -> io::Result<bool> {
        check_pool(pool)?;
        let key_size = field_size("key", key.as_bytes(), KEY_MAX)?;
        let mut msg = new_message(op::DELETE, pool);
        put_u32(&mut msg, OFF_DELETE_KEY_SIZE, key_size);
        msg[OFF_DELETE_KEY..OFF_DELETE_KEY + key.len()].copy_from_slice(key.as_bytes());
        let answer =
            self.request(&msg, self.timeout).map_err(|e| ctx(format!("KVP_OP_DELETE pool {pool} key {key:?}"), e))?;
        match get_u32(&answer, 0) {
            HV_S_OK => Ok(true),
            HV_S_CONT => Ok(false),
            status => Err(err(
                io::ErrorKind::Other,
                format!(
                    "KVP_OP_DELETE pool {pool} key {key:?}: daemon answered {status:#010x} ({})",
                    status_name(status)
                ),
            )),
        }
    }

    /// `KVP_OP_GET`: the daemon's view of `key` (it re-reads the pool file first), up to the NUL;
    /// `None` if it has no such key.
    pub fn get(&self, pool: u8, key: &str) -> io::Result<Option<Vec<u8>>> {
        check_pool(pool)?;
        let key_size = field_size("key", key.as_bytes(), KEY_MAX)?;
        let mut msg = new_message(op::GET, pool);
        put_u32(&mut msg, OFF_VALUE_TYPE, REG_SZ);
        put_u32(&mut msg, OFF_KEY_SIZE, key_size);
        put_u32(&mut msg, OFF_VALUE_SIZE, VALUE_MAX as u32);
        msg[OFF_KEY..OFF_KEY + key.len()].copy_from_slice(key.as_bytes());
        let answer =
            self.request(&msg, self.timeout).map_err(|e| ctx(format!("KVP_OP_GET pool {pool} key {key:?}"), e))?;
        match get_u32(&answer, 0) {
            HV_S_OK => Ok(Some(c_field(&answer[OFF_VALUE..OFF_VALUE + VALUE_MAX]).to_vec())),
            HV_S_CONT => Ok(None),
            status => Err(err(
                io::ErrorKind::Other,
                format!("KVP_OP_GET pool {pool} key {key:?}: daemon answered {status:#010x} ({})", status_name(status)),
            )),
        }
    }

    /// The pool file's bytes, read under an OFD read lock (so never mid-rewrite, whatever the
    /// daemon is doing). Uses an OFD lock, which, unlike a classic `fcntl` lock, does not drop a
    /// [`PoolLock::posix_write`] this process holds on the same file.
    pub fn read_pool(&self, pool: u8) -> io::Result<Vec<u8>> {
        check_pool(pool)?;
        let path = self.pool_path(pool);
        let mut file = File::open(&path).map_err(|e| ctx(format!("open {}", path.display()), e))?;
        fcntl(&file, FcntlArg::F_OFD_SETLKW(&whole_file_lock(libc::F_RDLCK)))
            .map_err(|e| ctx(format!("read-lock {}", path.display()), io::Error::from(e)))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| ctx(format!("read {}", path.display()), e))?;
        Ok(bytes) // the lock goes with the file
    }

    /// Kills the daemon (after collecting any answers still owed, so it is idle, not mid-rewrite)
    /// and removes the temporary directory.
    pub fn stop(mut self) -> io::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> io::Result<()> {
        let mut result = Ok(());
        if let Some(mut child) = self.child.take() {
            let timeout = self.timeout;
            if let Err(e) = self.channel().settle(timeout) {
                result = Err(ctx("stopping hv_kvp_daemon (killed anyway)", e));
            }
            match child.try_wait() {
                Ok(Some(_)) => {}
                _ => {
                    let _ = child.kill();
                }
            }
            if let Err(e) = child.wait() {
                result = result.and(Err(ctx("wait for hv_kvp_daemon", e)));
            }
        }
        if self.dir.exists() {
            if let Err(e) = fs::remove_dir_all(&self.dir) {
                result = result.and(Err(ctx(format!("remove {}", self.dir.display()), e)));
            }
        }
        result
    }

    /// After a failure: the daemon's exit status (if it exited) and stderr, as text to append.
    fn post_mortem(&mut self) -> String {
        let mut out = String::new();
        if let Some(child) = self.child.as_mut() {
            // Give a dying daemon a moment to be reaped.
            let deadline = Instant::now() + Duration::from_millis(200);
            loop {
                match child.try_wait() {
                    Ok(Some(status)) => {
                        let code = status.code();
                        out.push_str(&format!(" (exited: {status}"));
                        if code == Some(125) {
                            out.push_str(", bind mount over /var/lib/hyperv failed");
                        }
                        out.push(')');
                        break;
                    }
                    Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                    _ => {
                        out.push_str(" (still running)");
                        break;
                    }
                }
            }
        }
        if let Ok(text) = fs::read_to_string(&self.stderr_path) {
            let text = text.trim();
            if !text.is_empty() {
                out.push_str(&format!("; its stderr: {text}"));
            }
        }
        out
    }
}

impl Drop for KvpDaemon {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            eprintln!("kvp_daemon: {e}");
        }
    }
}

/// A `struct flock` over the whole file.
fn whole_file_lock(kind: libc::c_int) -> libc::flock {
    libc::flock {
        l_type: kind as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    }
}

/// Which `fcntl` lock family a [`PoolLock`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// Classic record lock (`F_SETLK`), what `hv_kvp_daemon` itself takes. Owned by the process:
    /// closing *any* descriptor of the file in this process (e.g. `fs::read` of the pool) silently
    /// drops it. Conflicts with OFD locks, even ones this same process takes.
    Posix,
    /// Open-file-description lock (`F_OFD_SETLK`): owned by this open file only.
    Ofd,
}

/// A write lock on a whole pool file, held until dropped: while it is held the daemon blocks in
/// `F_SETLKW` on its next SET/DELETE/GET of that pool, and readers that lock time out.
pub struct PoolLock {
    /// Held, never read: the lock lives as long as the open file.
    _file: File,
    kind: LockKind,
    path: PathBuf,
}

impl PoolLock {
    /// A classic `F_SETLK` `F_WRLCK` (non-blocking): `WouldBlock` if someone holds a conflicting
    /// lock right now. See [`LockKind::Posix`] for its pitfall.
    pub fn posix_write(path: &Path) -> io::Result<PoolLock> {
        Self::write(path, LockKind::Posix)
    }

    /// Like [`posix_write`](Self::posix_write) with `F_OFD_SETLK`.
    pub fn ofd_write(path: &Path) -> io::Result<PoolLock> {
        Self::write(path, LockKind::Ofd)
    }

    pub fn write(path: &Path, kind: LockKind) -> io::Result<PoolLock> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| ctx(format!("open {} to lock it", path.display()), e))?;
        let lock = whole_file_lock(libc::F_WRLCK);
        let arg = match kind {
            LockKind::Posix => FcntlArg::F_SETLK(&lock),
            LockKind::Ofd => FcntlArg::F_OFD_SETLK(&lock),
        };
        fcntl(&file, arg).map_err(|e| {
            let e = io::Error::from(e);
            let kind = if matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EACCES)) {
                io::ErrorKind::WouldBlock
            } else {
                e.kind()
            };
            err(kind, format!("{kind:?} write lock on {}: {e}", path.display()))
        })?;
        Ok(PoolLock { _file: file, kind, path: path.to_path_buf() })
    }

    pub fn kind(&self) -> LockKind {
        self.kind
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Releases the lock (dropping does the same).
    pub fn release(self) {}
}

/// What an [`UnlockedReader`] saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Whole-file reads done.
    pub reads: u64,
    /// Reads that found the file empty (the daemon had truncated it and not yet written).
    pub empty: u64,
    /// Reads whose length was not a multiple of [`RECORD_LEN`] (a partly written pool).
    pub partial_record: u64,
    /// Reads whose length was not the expected one (includes the two above).
    pub unexpected: u64,
    /// Each unexpected length seen, with how often (empty once [`UnlockedReader::snapshot`]).
    pub lengths: BTreeMap<usize, u64>,
}

impl ReadStats {
    /// Reads that did not see the whole, settled pool.
    pub fn torn(&self) -> u64 {
        self.unexpected
    }
}

#[derive(Default)]
struct ReadCounters {
    reads: AtomicU64,
    empty: AtomicU64,
    partial_record: AtomicU64,
    unexpected: AtomicU64,
}

/// A thread that reads a pool file over and over *without* any lock, as a naive reader would,
/// and counts the reads that catch the daemon mid-rewrite.
pub struct UnlockedReader {
    stop: Arc<AtomicBool>,
    counters: Arc<ReadCounters>,
    handle: Option<JoinHandle<io::Result<BTreeMap<usize, u64>>>>,
}

impl UnlockedReader {
    /// Starts reading `path` in a loop; `expected_len` is the size of the settled file.
    pub fn spawn(path: PathBuf, expected_len: usize) -> io::Result<UnlockedReader> {
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(ReadCounters::default());
        let (stop2, counters2) = (stop.clone(), counters.clone());
        let handle = std::thread::Builder::new()
            .name("unlocked-pool-reader".into())
            .spawn(move || {
                let mut lengths = BTreeMap::new();
                while !stop2.load(Ordering::Relaxed) {
                    let bytes = fs::read(&path).map_err(|e| ctx(format!("unlocked read of {}", path.display()), e))?;
                    let len = bytes.len();
                    counters2.reads.fetch_add(1, Ordering::Relaxed);
                    if len == 0 {
                        counters2.empty.fetch_add(1, Ordering::Relaxed);
                    }
                    if len % RECORD_LEN != 0 {
                        counters2.partial_record.fetch_add(1, Ordering::Relaxed);
                    }
                    if len != expected_len {
                        counters2.unexpected.fetch_add(1, Ordering::Relaxed);
                        *lengths.entry(len).or_insert(0) += 1;
                    }
                }
                Ok(lengths)
            })
            .map_err(|e| ctx("spawn the unlocked reader thread", e))?;
        Ok(UnlockedReader { stop, counters, handle: Some(handle) })
    }

    /// The counts so far (without the length histogram).
    pub fn snapshot(&self) -> ReadStats {
        ReadStats {
            reads: self.counters.reads.load(Ordering::Relaxed),
            empty: self.counters.empty.load(Ordering::Relaxed),
            partial_record: self.counters.partial_record.load(Ordering::Relaxed),
            unexpected: self.counters.unexpected.load(Ordering::Relaxed),
            lengths: BTreeMap::new(),
        }
    }

    /// Stops the thread and returns everything it saw.
    pub fn finish(mut self) -> io::Result<ReadStats> {
        self.stop.store(true, Ordering::Relaxed);
        let handle = self.handle.take().ok_or_else(|| err(io::ErrorKind::Other, "reader already finished"))?;
        let lengths = handle.join().map_err(|_| err(io::ErrorKind::Other, "the unlocked reader thread panicked"))??;
        Ok(ReadStats { lengths, ..self.snapshot() })
    }
}

impl Drop for UnlockedReader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// The records of a raw pool image as `(key field, value field)` (full 512/2048-byte fields,
/// including whatever follows the NULs); a trailing partial record is ignored.
pub fn raw_records(pool: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    pool.chunks_exact(RECORD_LEN).map(|r| r.split_at(KEY_MAX))
}
