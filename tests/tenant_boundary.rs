//! The tenant boundary (issue 16): a NetworkAttachmentDefinition's author writes the whole
//! netconf, so `ipam.kvpPath` and `ipam.logFile` must not reach anything outside the directories
//! the node's admin set in the plugin's environment. Every attack the issue reproduced is a case
//! here, through the built binary:
//!
//! - the ld.so.preload, `.bashrc` and `/proc/sys` writes, in private mount and UTS namespaces with
//!   stand-ins mounted over the real paths (the real /etc is never written);
//! - a pinned check, under strace: with the default directories, whatever the netconf says, no
//!   file outside `/var/log/azure-ipoib-ipam-cni` is created or changed;
//! - symlinks (last component, middle), `..`, FIFOs (one with a reader attached), device nodes
//!   (opened only with `O_PATH`), the existence oracle, and log forging through stderr.
//!
//! Cases that mount, `mknod` or make namespaces need root; CI runs them as root.
// Test code: indexing, unwrapping and panicking are how a test fails (the workspace lints deny
// them in library code only).
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::{symlink, FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::process::Command;

use ipoib_test_support::plugin::*;
use ipoib_test_support::root::needs_root;

const IPOIB_DATA: &str = "NUMPAIRS:1|00155D33FF0B:172.16.1.2";
const LOG_DIR: &str = "/var/log/azure-ipoib-ipam-cni";

/// DEL: reads no pool and no netns, and writes the call's log line.
const DEL: [(&str, &str); 3] = [("CNI_COMMAND", "DEL"), ("CNI_CONTAINERID", "c1"), ("CNI_IFNAME", "net1")];
/// STATUS: reads the pool.
const STATUS: [(&str, &str); 1] = [("CNI_COMMAND", "STATUS")];

/// The plugin's environment with both directories at their defaults, as a runtime that sets
/// neither variable gives it (empty values mean the default).
fn default_dirs(env: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut env = env.to_vec();
    env.extend([("AZURE_IPOIB_KVP_DIR", ""), ("AZURE_IPOIB_LOG_DIR", "")]);
    env
}

/// An `ipam` section from raw JSON members (values already JSON-encoded).
fn ipam_of(members: &[(&str, String)]) -> String {
    let mut ipam = r#"{"type":"azure-ipoib-ipam-cni""#.to_string();
    for (key, value) in members {
        ipam += &format!(r#","{key}":{value}"#);
    }
    ipam + "}"
}

fn json(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// The attack payload from the issue: a `kvpPath` whose words glibc would take for preloads.
const EVIL_KVP_PATH: &str = "/x /var/lib/kubelet/pods/0b5e/volumes/kubernetes.io~empty-dir/v/evil.so y";

/// A `kvpPath` whose text is valid shell once logged in logfmt (`msg="…"`).
const SHELL_KVP_PATH: &str = "/var/lib/hyperv/$(touch /tmp/pwned)";

#[test]
fn the_ld_so_preload_bashrc_and_proc_sys_attacks_write_nothing_and_get_code_7() {
    if !needs_root("the_ld_so_preload_bashrc_and_proc_sys_attacks_write_nothing_and_get_code_7") {
        return;
    }
    let scratch = TempDir::new("tenant-attacks");
    let cases: Vec<(&str, String)> = vec![
        (
            "preload via kvpPath and logFile",
            ipam_of(&[("kvpPath", json(EVIL_KVP_PATH)), ("logFile", json("/etc/ld.so.preload"))]),
        ),
        ("preload via logFile", ipam_of(&[("logFile", json("/etc/ld.so.preload"))])),
        ("preload relative", ipam_of(&[("logFile", json("../../../etc/ld.so.preload"))])),
        (
            "preload through the log dir",
            ipam_of(&[("logFile", json(&format!("{LOG_DIR}/../../../etc/ld.so.preload")))]),
        ),
        ("bashrc", ipam_of(&[("kvpPath", json(SHELL_KVP_PATH)), ("logFile", json("/root/.bashrc"))])),
        ("profile.d", ipam_of(&[("logFile", json("/etc/profile.d/x.sh"))])),
        ("hostname", ipam_of(&[("logFile", json("/proc/sys/kernel/hostname"))])),
        ("core_pattern", ipam_of(&[("logFile", json("/proc/sys/kernel/core_pattern"))])),
    ];
    let plugin = plugin_path();
    let mut script = String::from(
        "set -e
        mount -t tmpfs tmpfs /etc && : > /etc/ld.so.preload && mkdir /etc/profile.d
        mount -t tmpfs tmpfs /root && echo original > /root/.bashrc
        hostname tenant-boundary-test
        set +e
        ",
    );
    for (i, (_, ipam)) in cases.iter().enumerate() {
        std::fs::write(scratch.path(&format!("conf{i}")), netconf("1.1.0", ipam)).unwrap();
        // ADD with the runtime's own environment: only CNI_* and no directory variables.
        script += &format!(
            "env -i CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=/var/run/netns/none CNI_IFNAME=net1 \
             CNI_PATH=/opt/cni/bin {plugin} < {s}/conf{i} > {s}/out{i} 2> {s}/err{i}; echo $? > {s}/rc{i}\n",
            plugin = plugin.display(),
            s = scratch.0.display()
        );
    }
    script += &format!(
        "cat /etc/ld.so.preload > {s}/preload; cat /root/.bashrc > {s}/bashrc; hostname > {s}/hostname
        ls -A /etc > {s}/etc; ls -A /etc/profile.d > {s}/profile.d; test ! -e /tmp/pwned && echo none > {s}/pwned\n",
        s = scratch.0.display()
    );
    let out = Command::new("unshare")
        .args(["--mount", "--uts", "--propagation", "private", "sh", "-c", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let read = |name: &str| std::fs::read_to_string(scratch.path(name)).unwrap();
    for (i, (name, _)) in cases.iter().enumerate() {
        let (stdout, stderr) = (read(&format!("out{i}")), read(&format!("err{i}")));
        assert_eq!(read(&format!("rc{i}")).trim(), "1", "{name}: {stdout} {stderr}");
        let reply: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(reply["code"], 7, "{name}: {stdout}");
        let msg = reply["msg"].as_str().unwrap();
        assert!(msg.contains("is outside AZURE_IPOIB_"), "{name}: {msg}");
        // The refusal names the key and the directory, never the tenant's text.
        assert!(!stdout.contains("evil.so") && !stdout.contains("$(") && !stderr.contains("evil.so"), "{name}");
    }
    assert_eq!(read("preload"), "", "ld.so.preload was written");
    assert_eq!(read("bashrc"), "original\n", ".bashrc was written");
    assert_eq!(read("hostname"), "tenant-boundary-test\n", "the hostname was changed");
    assert_eq!(read("etc"), "ld.so.preload\nprofile.d\n");
    assert_eq!(read("profile.d"), "");
    assert_eq!(read("pwned"), "none\n");
}

/// What the plugin did to the file system, from `strace -f -y`: the paths it created, changed,
/// renamed or wrote, and every non-`O_PATH` open.
#[derive(Debug, Default)]
struct Effects {
    /// Paths opened for writing or created, made, renamed, removed, or written to through an fd.
    written: Vec<String>,
    /// Every path opened with anything but `O_PATH` (reads included).
    opened: Vec<String>,
}

/// The syscalls that can create or change a file.
const TRACED: &str = "trace=open,openat,openat2,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,\
                      link,linkat,symlink,symlinkat,truncate,ftruncate,chmod,fchmod,fchmodat,chown,fchown,fchownat,\
                      mknod,mknodat,write,writev,pwrite64,utimensat";

fn effects(trace: &str) -> Effects {
    let mut effects = Effects::default();
    // `-y` prints each fd with its path, so a write names what it wrote to.
    let mut handles: HashMap<String, String> = HashMap::new();
    for line in trace.lines() {
        // `-f` puts the pid first.
        let line = line.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start();
        let quoted = |line: &str| line.split('"').nth(1).unwrap_or("").to_string();
        let returned = line.rsplit("= ").next().unwrap_or("").split('<').next().unwrap_or("").trim().to_string();
        if line.contains("openat2(") || line.contains("openat(") || line.contains(" open(") || line.starts_with("open(")
        {
            let path = quoted(line);
            let path = match path.strip_prefix("/proc/self/fd/") {
                Some(fd) => handles.get(fd).cloned().unwrap_or(path),
                None => path,
            };
            if line.contains("O_PATH") {
                handles.insert(returned, path);
                continue;
            }
            if line.contains("= -1") {
                continue;
            }
            effects.opened.push(path.clone());
            if ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC"].iter().any(|f| line.contains(f)) {
                effects.written.push(path);
            }
        } else if line.contains("write(") || line.contains("writev(") || line.contains("pwrite64(") {
            // fds 1 and 2 are the runtime's own streams (files in this script).
            let fd = line.split('(').nth(1).and_then(|rest| rest.split('<').next()).unwrap_or("");
            let fd_path = line.split('<').nth(1).and_then(|rest| rest.split('>').next()).unwrap_or("?");
            if fd != "1" && fd != "2" && !fd_path.starts_with("pipe:") {
                effects.written.push(fd_path.to_string());
            }
        } else if !line.contains("= -1") && !line.starts_with("+++") && !line.contains("resumed>") {
            effects.written.push(format!("{}: {}", line.split('(').next().unwrap_or(""), quoted(line)));
        }
    }
    effects
}

#[test]
fn with_the_default_directories_no_file_outside_the_log_directory_changes_whatever_the_netconf_says() {
    let test = "with_the_default_directories_no_file_outside_the_log_directory_changes_whatever_the_netconf_says";
    if !needs_root(test) {
        return;
    }
    let scratch = TempDir::new("tenant-pinned");
    let escape = r#"{"kvpDir":"/","logDir":"/","AZURE_IPOIB_KVP_DIR":"/","AZURE_IPOIB_LOG_DIR":"/"}"#;
    let mut confs: Vec<String> = Vec::new();
    let log_files = [
        "/etc/ld.so.preload",
        "/root/.bashrc",
        "/proc/sys/kernel/hostname",
        "/tmp/tenant-pinned.log",
        "../x.log",
        "/var/log/azure-ipoib-ipam-cni/../x.log",
        "/var/log/azure-ipoib-ipam-cni2/x.log",
        "/var/log/azure-ipoib-ipam-cni",
        "/proc/self/fd/1",
        "/dev/stderr",
        "link.log",
        "fifo.log",
        "dev.log",
        "dir.log",
        "sub/x.log",
        "/var/log/azure-ipoib-ipam-cni/sub/x.log",
        "calls.log",
        "/var/log/azure-ipoib-ipam-cni/other.log",
        "line\nbreak.log",
    ];
    for log in log_files {
        confs.push(netconf("1.1.0", &ipam_of(&[("logFile", json(log)), ("logLevel", json("debug"))])));
    }
    let kvp_paths = [
        "/etc/shadow",
        EVIL_KVP_PATH,
        SHELL_KVP_PATH,
        "/var/lib/hyperv/../../../etc/shadow",
        "/var/lib/hyperv/link",
        "/var/lib/hyperv/fifo",
        "/var/lib/hyperv/dev",
        "/var/lib/hyperv/.kvp_pool_0",
        "/proc/self/fd/0",
    ];
    for kvp in kvp_paths {
        confs.push(netconf("1.1.0", &ipam_of(&[("kvpPath", json(kvp)), ("logFile", json("calls.log"))])));
    }
    confs.push(format!(
        r#"{{"cniVersion":"1.1.0","name":"n","args":{escape},"runtimeConfig":{escape},"kvpDir":"/","ipam":{}}}"#,
        ipam_of(&[("kvpPath", json("/etc/shadow")), ("logFile", json("/etc/x")), ("args", escape.to_string())])
    ));
    let plugin = plugin_path();
    let s = scratch.0.display();
    // The node as a tmpfs: a real pool in the pool directory, and hostile entries planted in both.
    let mut script = format!(
        "set -e
        mount -t tmpfs tmpfs /var/log && mount -t tmpfs tmpfs /var/lib
        mkdir -p /var/lib/hyperv {LOG_DIR}
        cp {s}/pool /var/lib/hyperv/.kvp_pool_0
        ln -s /etc/shadow /var/lib/hyperv/link; mkfifo /var/lib/hyperv/fifo; mknod /var/lib/hyperv/dev c 1 3
        ln -s /etc/x {LOG_DIR}/link.log; mkfifo {LOG_DIR}/fifo.log; mknod {LOG_DIR}/dev.log c 1 3
        mkdir {LOG_DIR}/dir.log; ln -s /etc {LOG_DIR}/sub
        set +e
        "
    );
    write_pool(&scratch.path("pool"), &[("IPoIB_Data", IPOIB_DATA)]);
    for (i, conf) in confs.iter().enumerate() {
        std::fs::write(scratch.path(&format!("conf{i}")), conf).unwrap();
        for (n, command) in ["DEL", "STATUS"].iter().enumerate() {
            script += &format!(
                "env -i CNI_COMMAND={command} CNI_CONTAINERID=c1 CNI_IFNAME=net1 /usr/bin/strace -f -y -qq -e {TRACED} \
                 -o {s}/trace{i}-{n} {plugin} < {s}/conf{i} > {s}/out{i}-{n} 2>&1\n",
                plugin = plugin.display()
            );
        }
    }
    script += "true\n";
    let out =
        Command::new("unshare").args(["--mount", "--propagation", "private", "sh", "-c", &script]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let mut written_anywhere = Vec::new();
    for (i, conf) in confs.iter().enumerate() {
        for n in 0..2 {
            let trace = std::fs::read_to_string(scratch.path(&format!("trace{i}-{n}"))).unwrap();
            let effects = effects(&trace);
            for path in &effects.written {
                assert!(path.starts_with(&format!("{LOG_DIR}/")), "conf {i} ({conf}) changed {path}:\n{trace}");
                written_anywhere.push(path.clone());
            }
            for path in &effects.opened {
                let allowed = path.starts_with(&format!("{LOG_DIR}/")) || path == "/var/lib/hyperv/.kvp_pool_0";
                assert!(allowed, "conf {i} ({conf}) opened {path}:\n{trace}");
                for planted in ["fifo", "dev", "link", "/sub/"] {
                    assert!(!path.contains(planted), "conf {i} opened {path} for I/O:\n{trace}");
                }
            }
        }
    }
    // The legitimate logs were written, so the check above saw real writes.
    for name in ["calls.log", "other.log"] {
        let path = format!("{LOG_DIR}/{name}");
        assert!(written_anywhere.contains(&path), "{path} never written: {written_anywhere:?}");
    }
}

#[test]
fn symlinks_and_dot_dot_are_refused_with_code_7() {
    let dir = TempDir::new("tenant-links");
    let pools = dir.path("pools");
    std::fs::create_dir_all(pools.join("real")).unwrap();
    write_pool(&pools.join("real/pool"), &[("IPoIB_Data", IPOIB_DATA)]);
    symlink(pools.join("real/pool"), pools.join("last")).unwrap();
    symlink(pools.join("real"), pools.join("middle")).unwrap();
    symlink("/etc/shadow", pools.join("outside")).unwrap();
    let pools_env = pools.display().to_string();
    let env = [&STATUS[..], &[("AZURE_IPOIB_KVP_DIR", pools_env.as_str())]].concat();
    let status = |path: &Path| {
        let stdin = netconf("1.1.0", &ipam_of(&[("kvpPath", json(path.to_str().unwrap()))]));
        run(&env, stdin.as_bytes())
    };
    status(&pools.join("real/pool")).assert_silent_success();
    let outside = format!("ipam.kvpPath is outside AZURE_IPOIB_KVP_DIR ({pools_env})");
    for (path, needle, status_code) in [
        (pools.join("last"), "has a symlink on its path", 50),
        (pools.join("middle/pool"), "has a symlink on its path", 50),
        (pools.join("outside"), "has a symlink on its path", 50),
        (pools.join("real/../real/pool"), outside.as_str(), 7),
        (dir.path("pool"), outside.as_str(), 7),
    ] {
        // STATUS reports a pool that cannot be read as 50; a config refused as it is decoded is 7.
        let out = status(&path);
        assert_eq!(out.error_code(), status_code, "{path:?}: {out:?}");
        assert!(out.error_text().contains(needle), "{path:?}: {out:?}");
        let add = run(
            &[&cni_env("ADD", "/var/run/netns/none", "net1")[..], &[("AZURE_IPOIB_KVP_DIR", pools_env.as_str())]]
                .concat(),
            netconf("1.1.0", &ipam_of(&[("kvpPath", json(path.to_str().unwrap()))])).as_bytes(),
        );
        assert_eq!(add.error_code(), 7, "{path:?}: {add:?}");
        assert!(add.error_text().contains(needle), "{path:?}: {add:?}");
    }
}

#[test]
fn a_fifo_log_with_a_reader_attached_receives_nothing() {
    let dir = TempDir::new("tenant-fifo");
    let fifo = dir.path("calls.log");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    // A reader is attached, so an O_NONBLOCK open for writing would succeed: it must not happen.
    let mut reader = std::fs::OpenOptions::new().read(true).custom_flags(nix::libc::O_NONBLOCK).open(&fifo).unwrap();
    let logs = dir.0.display().to_string();
    let stdin = netconf("1.1.0", &ipam_of(&[("logFile", json("calls.log"))]));
    let out = run(&[&DEL[..], &[("AZURE_IPOIB_LOG_DIR", logs.as_str())]].concat(), stdin.as_bytes());
    out.assert_silent_success();
    assert!(out.stderr.contains("cannot write ipam.logFile") && out.stderr.contains("is a FIFO"), "{out:?}");
    let mut received = Vec::new();
    let n = reader.read_to_end(&mut received).unwrap_or(0);
    assert_eq!((n, received.len()), (0, 0), "the FIFO received {:?}", String::from_utf8_lossy(&received));
}

#[test]
fn a_device_node_is_never_opened_except_with_o_path() {
    if !needs_root("a_device_node_is_never_opened_except_with_o_path") {
        return;
    }
    let dir = TempDir::new("tenant-device");
    let device = dir.path("dev");
    // A harmless stand-in: the null device's numbers.
    let dev = nix::sys::stat::makedev(1, 3);
    nix::sys::stat::mknod(
        &device,
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
        dev,
    )
    .unwrap();
    assert!(std::fs::metadata(&device).unwrap().file_type().is_char_device());
    let here = dir.0.display().to_string();
    let env =
        [("CNI_COMMAND", "STATUS"), ("AZURE_IPOIB_KVP_DIR", here.as_str()), ("AZURE_IPOIB_LOG_DIR", here.as_str())];
    for (ipam, needle) in [
        (ipam_of(&[("kvpPath", json(device.to_str().unwrap()))]), "is a device, not a regular file"),
        (ipam_of(&[("kvpPath", json(dir.path("missing").to_str().unwrap())), ("logFile", json("dev"))]), "is a device"),
    ] {
        let trace = dir.path("trace");
        let mut command = Command::new("strace");
        command.args(["-f", "-qq", "-e", "trace=open,openat,openat2", "-o"]).arg(&trace).arg(plugin_path());
        command.env_clear().envs(env);
        let out = run_command(command, netconf("1.1.0", &ipam).as_bytes());
        assert_eq!(out.error_code(), 50, "{out:?}");
        assert!(out.stdout.contains(needle) || out.stderr.contains(needle), "{out:?}");
        let trace = std::fs::read_to_string(&trace).unwrap();
        let opens: Vec<&str> = trace.lines().filter(|l| l.contains(device.to_str().unwrap())).collect();
        assert!(!opens.is_empty(), "the device was never looked at:\n{trace}");
        for open in opens {
            assert!(open.contains("O_PATH") && open.contains("RESOLVE_NO_SYMLINKS"), "{open}");
        }
    }
}

#[test]
fn outside_the_pool_directory_an_existing_and_a_missing_file_get_the_same_answer() {
    for command in [&cni_env("ADD", "/var/run/netns/none", "net1")[..], &STATUS[..]] {
        let answer = |path: &str| {
            let stdin = netconf("1.1.0", &ipam_of(&[("kvpPath", json(path))]));
            let out = run(&default_dirs(command), stdin.as_bytes());
            (out.exit, out.stdout, out.stderr)
        };
        let existing = answer("/etc/passwd");
        assert_eq!(existing, answer("/etc/no-such-file-here"));
        assert_eq!(existing, answer("/etc"));
        assert!(existing.1.contains("ipam.kvpPath is outside AZURE_IPOIB_KVP_DIR (/var/lib/hyperv)"), "{existing:?}");
        assert!(!existing.1.contains("passwd") && !existing.2.contains("passwd"), "{existing:?}");
    }
}

#[test]
fn stderr_is_one_line_without_control_bytes_in_one_write() {
    let dir = TempDir::new("tenant-forge");
    let forged = format!("{}/a\nazure-ipoib-ipam-cni: ADD succeeded\r\u{1b}]0;owned\u{7}\u{1b}[2J", dir.0.display());
    let here = dir.0.display().to_string();
    let stdin = netconf("1.1.0", &ipam_of(&[("kvpPath", json(&forged))]));
    let env = [("CNI_COMMAND", "STATUS"), ("AZURE_IPOIB_KVP_DIR", here.as_str())];
    let out = run(&env, stdin.as_bytes());
    assert_eq!(out.error_code(), 50, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{:?}", out.stderr);
    assert!(out.stderr.ends_with('\n'));
    let body = out.stderr.trim_end_matches('\n');
    assert!(!body.chars().any(|c| c.is_control()), "{body:?}");
    assert!(body.contains(r"\nazure-ipoib-ipam-cni: ADD succeeded\r\u{1b}]0;owned\u{7}"), "{body:?}");
    assert!(!out.stdout.chars().any(|c| c.is_control() && c != '\n'), "{:?}", out.stdout);
    serde_json::from_str::<serde_json::Value>(&out.stdout).unwrap();
    if !needs_root("stderr_is_one_line_without_control_bytes_in_one_write (strace part)") {
        return;
    }
    let trace = dir.path("trace");
    let mut command = Command::new("strace");
    command.args(["-f", "-qq", "-e", "trace=write,writev", "-o"]).arg(&trace).arg(plugin_path());
    command.env_clear().envs(env);
    let out = run_command(command, stdin.as_bytes());
    assert_eq!(out.error_code(), 50);
    let trace = std::fs::read_to_string(&trace).unwrap();
    let to_stderr: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains(" write(2,") || l.contains(" writev(2,") || l.starts_with("write(2,"))
        .collect();
    assert_eq!(to_stderr.len(), 1, "{trace}");
}

#[test]
fn a_full_log_is_rotated_once() {
    let dir = TempDir::new("tenant-rotate");
    let log = dir.path("calls.log");
    std::fs::File::create(&log).unwrap().set_len(10 << 20).unwrap();
    let here = dir.0.display().to_string();
    let stdin = netconf("1.1.0", &ipam_of(&[("logFile", json("calls.log"))]));
    let out = run(&[&DEL[..], &[("AZURE_IPOIB_LOG_DIR", here.as_str())]].concat(), stdin.as_bytes());
    out.assert_silent_success();
    assert_eq!(std::fs::metadata(dir.path("calls.log.1")).unwrap().len(), 10 << 20);
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains(" command=DEL "), "{text}");
}

#[test]
fn a_netconf_cannot_widen_the_directories() {
    let escape = r#"{"kvpDir":"/","logDir":"/","AZURE_IPOIB_KVP_DIR":"/","AZURE_IPOIB_LOG_DIR":"/"}"#;
    for stdin in [
        format!(
            r#"{{"cniVersion":"1.1.0","name":"n","args":{escape},"runtimeConfig":{escape},"ipam":{{"type":"azure-ipoib-ipam-cni","kvpPath":"/etc/passwd"}}}}"#
        ),
        format!(
            r#"{{"cniVersion":"1.1.0","name":"n","AZURE_IPOIB_KVP_DIR":"/","ipam":{{"type":"azure-ipoib-ipam-cni","kvpPath":"/etc/passwd","args":{escape}}}}}"#
        ),
        format!(
            r#"{{"cniVersion":"1.1.0","name":"n","env":{escape},"ipam":{{"type":"azure-ipoib-ipam-cni","logFile":"/tmp/x.log","AZURE_IPOIB_LOG_DIR":"/"}}}}"#
        ),
    ] {
        let out = run(&default_dirs(&cni_env("ADD", "/var/run/netns/none", "net1")), stdin.as_bytes());
        assert_eq!(out.error_code(), 7, "{stdin}: {out:?}");
        assert!(out.error_text().contains("is outside AZURE_IPOIB_"), "{out:?}");
    }
}
