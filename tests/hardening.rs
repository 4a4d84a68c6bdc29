//! What a hostile or broken host does to the plugin (issue 13), each case through the built
//! binary: a FIFO as `CNI_NETNS` (the open must not block, and no pool lock may be held across
//! the netns work), a mapping that faults (SIGBUS must end as a CNI error), links whose
//! rtnetlink reply outgrows the buffer, and netns paths that are not UTF-8.
//!
//! Root only, like every test that makes namespaces or mounts; under `CI` they must run.
// Test code: indexing, unwrapping and panicking are how a test fails (the workspace lints deny
// them in library code only).
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ipoib_test_support::netns::{self, Netns};
use ipoib_test_support::plugin::*;
use ipoib_test_support::root::needs_root;

const NIC_MAC: &str = "00:15:5d:33:ff:0b";
const IPOIB_DATA: &str = "NUMPAIRS:1|00155D33FF0B:172.16.1.2";
const ADDRESS: &str = "172.16.1.2/16";

/// What one run did, with the signal that ended it, if any.
#[derive(Debug)]
struct Run {
    exit: Option<i32>,
    signal: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }
}

/// Runs `program args…` with exactly `env` (values may be any bytes) and `stdin`; kills it and
/// fails the test if it has not ended within `deadline`.
fn run_os(program: &Path, args: &[&OsStr], env: &[(&str, &OsStr)], stdin: &[u8], deadline: Duration) -> Run {
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{} still running after {deadline:?}, killed; stdout {:?} stderr {:?}",
                program.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    Run {
        exit: out.status.code(),
        signal: out.status.signal(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The CNI environment of `command` for `netns` (any bytes), interface `net1`.
fn env_os<'a>(command: &'a str, netns: &'a OsStr) -> Vec<(&'a str, &'a OsStr)> {
    vec![
        ("CNI_COMMAND", OsStr::new(command)),
        ("CNI_CONTAINERID", OsStr::new("c1")),
        ("CNI_NETNS", netns),
        ("CNI_IFNAME", OsStr::new("net1")),
        ("CNI_PATH", OsStr::new("/opt/cni/bin")),
    ]
}

fn plugin_run(command: &str, netns: &OsStr, stdin: &[u8]) -> Run {
    run_os(&plugin_path(), &[], &env_os(command, netns), stdin, Duration::from_secs(5))
}

/// A pool with the NIC's pair, in `dir`.
fn good_pool(dir: &TempDir) -> PathBuf {
    let path = dir.path("pool");
    write_pool(&path, &[("HostName", "node-1"), ("IPoIB_Data", IPOIB_DATA)]);
    path
}

fn conf_with_prev(version: &str, pool: &Path) -> Vec<u8> {
    format!(
        r#"{{"cniVersion":"{version}","name":"n","type":"host-device","prevResult":{{"ips":[{{"address":"{ADDRESS}"}}]}},"ipam":{}}}"#,
        ipam(pool)
    )
    .into_bytes()
}

#[test]
fn a_fifo_as_cni_netns_is_refused_at_once_by_add_and_check() {
    if !needs_root("a_fifo_as_cni_netns_is_refused_at_once_by_add_and_check") {
        return;
    }
    let dir = TempDir::new("fifo-netns");
    let pool = good_pool(&dir);
    let fifo = dir.path("netns-fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    for command in ["ADD", "CHECK"] {
        // Before the fix the open blocked forever; 5 s is a generous bound, not a timing test.
        let out = plugin_run(command, fifo.as_os_str(), &conf_with_prev("1.0.0", &pool));
        assert_eq!(out.exit, Some(1), "{command}: {out:?}");
        let json = out.json();
        assert_eq!(json["code"], 103, "{command}: {out:?}");
        assert!(json["msg"].as_str().unwrap().contains("it is a FIFO, not a network namespace"), "{out:?}");
    }
}

#[test]
fn the_pool_lock_is_taken_only_after_the_netns_and_netlink_work() {
    if !needs_root("the_pool_lock_is_taken_only_after_the_netns_and_netlink_work") {
        return;
    }
    let ns = Netns::new();
    ns.add_veth("net1", NIC_MAC);
    let dir = TempDir::new("lock-order");
    let pool = good_pool(&dir);
    let trace = dir.path("trace");
    let netns_path = ns.path();
    let env = env_os("ADD", OsStr::new(&netns_path));
    let plugin = plugin_path();
    let args: Vec<&OsStr> =
        vec![OsStr::new("-f"), OsStr::new("-o"), trace.as_os_str(), OsStr::new("--"), plugin.as_os_str()];
    let strace = Path::new("/usr/bin/strace");
    let out = run_os(strace, &args, &env, netconf("1.0.0", &ipam(&pool)).as_bytes(), Duration::from_secs(20));
    assert_eq!(out.exit, Some(0), "{out:?}");
    assert_eq!(out.json()["ips"][0]["address"], ADDRESS);
    let trace = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = trace.lines().collect();
    let position = |what: &str| lines.iter().position(|l| l.contains(what));
    let last = |what: &str| lines.iter().rposition(|l| l.contains(what));
    let lock = position("F_OFD_SETLK").unwrap_or_else(|| panic!("no lock taken:\n{trace}"));
    for io in ["setns(", "sendto(", "recvfrom("] {
        let at = last(io).unwrap_or_else(|| panic!("no {io}:\n{trace}"));
        assert!(at < lock, "{io} at line {at} comes after the pool lock at line {lock}:\n{trace}");
    }
    // The lock ends with the close of the pool's fd. Nothing but fcntl (debug builds check the
    // fd), the stat and the mapping happens under it: every syscall is traced, stderr included.
    let pool_fd = lines[..lock]
        .iter()
        .rev()
        .find(|l| l.contains("openat(") && l.contains(pool.to_str().unwrap()))
        .and_then(|l| l.rsplit("= ").next())
        .map(str::trim)
        .unwrap_or_else(|| panic!("pool not opened before the lock:\n{trace}"));
    let unlock = lines[lock..]
        .iter()
        .position(|l| l.contains(&format!("close({pool_fd})")))
        .map(|i| i + lock)
        .unwrap_or_else(|| panic!("pool fd {pool_fd} never closed:\n{trace}"));
    for line in &lines[lock + 1..unlock] {
        assert!(
            ["fcntl(", "fstat(", "statx(", "mmap(", "munmap("].iter().any(|call| line.contains(call)),
            "{line:?} happens under the pool lock:\n{trace}"
        );
    }
}

/// A tmpfs of `size` mounted on a fresh directory; unmounted on drop.
struct SmallTmpfs(TempDir);

impl SmallTmpfs {
    fn new(size: &str) -> SmallTmpfs {
        let dir = TempDir::new("tmpfs");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir.0)
            .status()
            .unwrap();
        assert!(status.success(), "mount tmpfs");
        SmallTmpfs(dir)
    }
}

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&(self.0).0).status();
    }
}

#[test]
fn a_sparse_pool_on_a_full_tmpfs_gives_a_cni_error_not_a_signal() {
    if !needs_root("a_sparse_pool_on_a_full_tmpfs_gives_a_cni_error_not_a_signal") {
        return;
    }
    let ns = Netns::new();
    ns.add_veth("net1", NIC_MAC);
    let tmpfs = SmallTmpfs::new("256k");
    let pool = tmpfs.0.path("pool");
    write_pool(&pool, &[("IPoIB_Data", IPOIB_DATA)]);
    std::fs::File::options().write(true).open(&pool).unwrap().set_len(256_000).unwrap();
    // Fill the tmpfs: the pool's holes then have no page to be read into.
    let mut fill = std::fs::File::create(tmpfs.0.path("fill")).unwrap();
    while fill.write_all(&[0xa5; 4096]).is_ok() {}
    drop(fill);
    let netns_path = ns.path();
    let cases = [
        ("ADD", "0.3.1", netconf("0.3.1", &ipam(&pool)).into_bytes(), 11),
        ("ADD", "1.1.0", netconf("1.1.0", &ipam(&pool)).into_bytes(), 11),
        ("CHECK", "1.0.0", conf_with_prev("1.0.0", &pool), 11),
        ("STATUS", "1.1.0", netconf("1.1.0", &ipam(&pool)).into_bytes(), 50),
    ];
    for (command, version, stdin, code) in cases {
        let out = plugin_run(command, OsStr::new(&netns_path), &stdin);
        assert_eq!(out.signal, None, "{command} {version}: died of a signal: {out:?}");
        assert_eq!(out.exit, Some(1), "{command} {version}: {out:?}");
        let json = out.json();
        assert_eq!(json["code"], code, "{out:?}");
        assert_eq!(json["cniVersion"], version, "{out:?}");
        assert_eq!(json["msg"], "KVP pool changed or unreadable while being read; retry", "{out:?}");
        assert!(out.stderr.starts_with(&format!("azure-ipoib-ipam-cni: {command} failed (code {code}): ")), "{out:?}");
        assert!(out.stderr.contains("SIGBUS"), "{out:?}");
    }
}

#[test]
fn adds_against_a_writer_truncating_without_the_lock_never_die_of_a_signal() {
    if !needs_root("adds_against_a_writer_truncating_without_the_lock_never_die_of_a_signal") {
        return;
    }
    let ns = Netns::new();
    ns.add_veth("net1", NIC_MAC);
    let dir = TempDir::new("unlocked-writer");
    let pool = dir.path("pool");
    // IPoIB_Data first: the lookup runs backwards, so it reads every page of the 100 KiB pool.
    let filler: Vec<(String, String)> = (0..39).map(|i| (format!("Key{i}"), "v".repeat(1000))).collect();
    let mut records: Vec<(&str, &str)> = vec![("IPoIB_Data", IPOIB_DATA)];
    records.extend(filler.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let bytes = pool_bytes(&records);
    std::fs::write(&pool, &bytes).unwrap();

    let stop = AtomicBool::new(false);
    let (ok, errors, faults) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    let conf = netconf("0.3.1", &ipam(&pool));
    let netns_path = ns.path();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            // The careless writer: truncate, then rewrite in pieces, never locking.
            while !stop.load(Ordering::Relaxed) {
                let mut file = std::fs::File::create(&pool).unwrap();
                for chunk in bytes.chunks(8192) {
                    file.write_all(chunk).unwrap();
                }
            }
        });
        let workers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    for _ in 0..200 {
                        let out = plugin_run("ADD", OsStr::new(&netns_path), conf.as_bytes());
                        assert_eq!(out.signal, None, "died of a signal: {out:?}");
                        match out.exit {
                            Some(0) => {
                                assert_eq!(out.json()["ips"][0]["address"], ADDRESS, "{out:?}");
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                            Some(1) => {
                                let json = out.json();
                                assert!(json["code"].is_u64() && json["msg"].is_string(), "{out:?}");
                                errors.fetch_add(1, Ordering::Relaxed);
                                if out.stderr.contains("SIGBUS") {
                                    faults.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            other => panic!("exit {other:?}: {out:?}"),
                        }
                    }
                })
            })
            .collect();
        let outcome: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
        stop.store(true, Ordering::Relaxed);
        for result in outcome {
            if let Err(panic) = result {
                std::panic::resume_unwind(panic);
            }
        }
    });
    eprintln!(
        "400 ADDs against an unlocked truncating writer: {} addresses, {} CNI errors ({} of them SIGBUS answered)",
        ok.into_inner(),
        errors.into_inner(),
        faults.into_inner()
    );
}

/// `net1` in a fresh netns with `count` alternative names of 127 bytes each.
fn netns_with_altnames(count: usize) -> Netns {
    let ns = Netns::new();
    ns.add_veth("net1", NIC_MAC);
    for chunk in (0..count).collect::<Vec<_>>().chunks(20) {
        let mut args = vec!["-n".to_string(), ns.name.clone(), "link".into(), "property".into(), "add".into()];
        args.extend(["dev".into(), "net1".into()]);
        for i in chunk {
            args.push("altname".into());
            args.push(format!("{i:04}{}", "a".repeat(123)));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        netns::ip(&args);
    }
    ns
}

#[test]
fn links_with_many_altnames_resolve() {
    if !needs_root("links_with_many_altnames_resolve") {
        return;
    }
    let dir = TempDir::new("altnames");
    let pool = good_pool(&dir);
    for count in [60, 200] {
        let ns = netns_with_altnames(count);
        let out = plugin_run("ADD", OsStr::new(&ns.path()), netconf("1.0.0", &ipam(&pool)).as_bytes());
        assert_eq!(out.exit, Some(0), "{count} altnames: {out:?}");
        assert_eq!(out.json()["ips"][0]["address"], ADDRESS, "{count} altnames");
    }
}

#[test]
fn add_takes_a_netns_at_a_non_utf8_path() {
    if !needs_root("add_takes_a_netns_at_a_non_utf8_path") {
        return;
    }
    let ns = Netns::new();
    ns.add_veth("net1", NIC_MAC);
    let dir = TempDir::new("non-utf8-netns");
    let pool = good_pool(&dir);
    let mut link = dir.0.clone().into_os_string();
    link.push(OsStr::from_bytes(b"/netns-\xff\xfe"));
    std::os::unix::fs::symlink(ns.path(), &link).unwrap();
    let out = plugin_run("ADD", &link, netconf("1.0.0", &ipam(&pool)).as_bytes());
    assert_eq!(out.exit, Some(0), "{out:?}");
    assert_eq!(out.json()["ips"][0]["address"], ADDRESS);
}

#[test]
fn del_succeeds_whatever_cni_netns_is() {
    let dir = TempDir::new("del-netns");
    let pool = good_pool(&dir);
    let conf = netconf("1.0.0", &ipam(&pool));
    let odd: [OsString; 4] = [
        "relative/ns".into(),
        OsStr::from_bytes(b"/var/run/netns/\xff").into(),
        OsStr::from_bytes(b"rel\xff").into(),
        "/var/run/netns/gone-long-ago".into(),
    ];
    for netns in &odd {
        let out = plugin_run("DEL", netns, conf.as_bytes());
        assert_eq!((out.exit, out.stdout.as_str()), (Some(0), ""), "{netns:?}: {out:?}");
    }
}
