//! Running the built plugin exactly as a runtime does: a clean environment, the config on
//! stdin, the result or error JSON on stdout.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use kvp_core::{encode_pool, RECORD_LEN};

/// The plugin the tests run: the binary cargo built for this test run, or the program named by
/// `IPOIB_TEST_PLUGIN` (see [`binary_under_test`]).
pub fn plugin_path() -> PathBuf {
    binary_under_test("IPOIB_TEST_PLUGIN", "azure-ipoib-ipam-cni")
}

/// The program that the environment variable `var` names, when it is set; otherwise the binary
/// `name` that cargo built for this test run ([`built_binary`]).
///
/// The same tests then run against another build: `tests/aarch64.sh` names a wrapper that execs
/// the aarch64 release binary under qemu-user, as binfmt_misc would, so a test, or host-device,
/// runs it like any program. Tests that read the binary's bytes (install, image, doctor) are not
/// meant for such a wrapper.
pub fn binary_under_test(var: &str, name: &str) -> PathBuf {
    let Some(path) = std::env::var_os(var) else { return built_binary(name) };
    let path = std::path::absolute(&path).unwrap_or_else(|e| panic!("{var}: {e}"));
    assert!(path.is_file(), "{var}={} is not a file", path.display());
    path
}

/// A binary of the workspace that cargo built for this test run: cargo builds a package's
/// binaries next to the `deps/` directory its test binaries run from.
pub fn built_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
    let binary = profile_dir.join(name);
    assert!(binary.is_file(), "{} not built; run the tests of the package that builds it", binary.display());
    binary
}

/// Every cniVersion the plugin supports.
pub const VERSIONS: [&str; 7] = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

/// What one invocation did.
#[derive(Debug)]
pub struct Outcome {
    pub exit: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// stdout as JSON (panics with the raw text when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// The CNI error code, asserting the error shape on the way.
    pub fn error_code(&self) -> u64 {
        assert_eq!(self.exit, 1, "expected failure: {self:?}");
        let json = self.json();
        assert!(json["msg"].as_str().is_some_and(|m| !m.is_empty()), "no msg: {self:?}");
        assert!(json["cniVersion"].is_string(), "no cniVersion: {self:?}");
        assert!(!self.stderr.contains("panicked"), "panic: {self:?}");
        json["code"].as_u64().unwrap_or_else(|| panic!("no code: {self:?}"))
    }

    /// The whole error text (msg and details).
    pub fn error_text(&self) -> String {
        let json = self.json();
        format!("{} {}", json["msg"].as_str().unwrap_or(""), json["details"].as_str().unwrap_or(""))
    }

    pub fn assert_silent_success(&self) {
        assert_eq!(self.exit, 0, "{self:?}");
        assert_eq!(self.stdout, "", "{self:?}");
    }
}

/// The plugin's directories for netconf paths as the test suites set them in its environment,
/// the way a runtime would: `/`, anywhere, so temp pools and logs can be named. A test's own
/// `env` overrides them (an empty value means the default directory).
pub const ANYWHERE_DIRS: [(&str, &str); 2] = [("AZURE_IPOIB_KVP_DIR", "/"), ("AZURE_IPOIB_LOG_DIR", "/")];

/// Runs the plugin with [`ANYWHERE_DIRS`], then exactly `env`, and `stdin`.
pub fn run(env: &[(&str, &str)], stdin: &[u8]) -> Outcome {
    run_program(&plugin_path(), env, stdin)
}

/// Runs `program` (the plugin, or a CNI plugin that chains to it, which passes its environment
/// on) with [`ANYWHERE_DIRS`], then exactly `env`, and `stdin`.
pub fn run_program(program: &Path, env: &[(&str, &str)], stdin: &[u8]) -> Outcome {
    let mut command = Command::new(program);
    command.env_clear().envs(ANYWHERE_DIRS).envs(env.iter().copied());
    run_command(command, stdin)
}

/// Runs `command` with `stdin` piped in, and collects its exit status, stdout and stderr.
pub fn run_command(mut command: Command, stdin: &[u8]) -> Outcome {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", command.get_program().to_string_lossy()));
    let mut pipe = child.stdin.take().expect("stdin");
    let input = stdin.to_vec();
    // Write from a thread: a program that fails early stops reading, and a large input would block.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let output = child.wait_with_output().expect("wait for the program");
    let _ = writer.join();
    Outcome {
        exit: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Opens `path` and takes a whole-file OFD write lock on it, as hv_kvp_daemon's fcntl write lock
/// conflicts with readers; the lock lasts as long as the returned file.
pub fn hold_write_lock(path: &Path) -> std::fs::File {
    let writer = std::fs::File::options().read(true).write(true).open(path).expect("open the pool to lock it");
    let whole = nix::libc::flock {
        l_type: nix::libc::F_WRLCK as i16,
        l_whence: nix::libc::SEEK_SET as i16,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    nix::fcntl::fcntl(&writer, nix::fcntl::FcntlArg::F_OFD_SETLK(&whole)).expect("take the write lock");
    writer
}

/// The environment of `command` for container `c1`, interface `ifname` in `netns`.
pub fn cni_env<'a>(command: &'a str, netns: &'a str, ifname: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("CNI_COMMAND", command),
        ("CNI_CONTAINERID", "c1"),
        ("CNI_NETNS", netns),
        ("CNI_IFNAME", ifname),
        ("CNI_PATH", "/opt/cni/bin"),
    ]
}

/// A network config as host-device passes it, with `ipam` spliced in.
pub fn netconf(version: &str, ipam: &str) -> String {
    format!(r#"{{"cniVersion":"{version}","name":"hostdev-net","type":"host-device","device":"ib0","ipam":{ipam}}}"#)
}

/// The `ipam` section for a pool at `path`.
pub fn ipam(path: &Path) -> String {
    format!(r#"{{"type":"azure-ipoib-ipam-cni","kvpPath":"{}"}}"#, path.display())
}

/// A scratch directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ipoib-it-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Pool bytes holding `records`, written with the project's encoder.
pub fn pool_bytes(records: &[(&str, &str)]) -> Vec<u8> {
    let mut bytes = vec![0u8; records.len() * RECORD_LEN];
    encode_pool(records, &mut bytes).expect("encodable records");
    bytes
}

/// Writes a pool file holding `records` at `path`.
pub fn write_pool(path: &Path, records: &[(&str, &str)]) {
    std::fs::write(path, pool_bytes(records)).expect("write pool");
}

/// `NUMPAIRS:n|…` for `(mac, ip)` pairs.
pub fn ipoib_value(pairs: &[(&str, &str)]) -> String {
    let mut value = format!("NUMPAIRS:{}", pairs.len());
    for (mac, ip) in pairs {
        value += &format!("|{mac}:{ip}");
    }
    value
}
