//! The operator CLI through the built binary: exit codes, stdout and stderr of every command.
// Test code: indexing, unwrapping and panicking are how a test fails.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use ipoib_test_support::cli::{run_cli, run_cli_within, Run};
use ipoib_test_support::plugin::*;
use ipoib_test_support::root::{can_run, needs_root, root, tool};

const SAMPLE_VALUE: &str = "NUMPAIRS:1|00155D33FF0B:172.16.1.2";
const IB_HWADDR: &str = "00:00:01:48:fe:80:00:00:00:00:00:00:00:15:5d:ff:fd:33:ff:0b";

fn cli(args: &[&str]) -> Run {
    run_cli(&plugin_path(), args, b"")
}

fn sample_pool(dir: &TempDir) -> String {
    let path = dir.path("pool");
    write_pool(&path, &[("Other", "x"), ("IPoIB_Data", SAMPLE_VALUE)]);
    path.display().to_string()
}

#[test]
fn without_arguments_it_says_what_it_is() {
    let run = cli(&[]);
    assert_eq!(run.ok(), "");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(lines[0].starts_with("azure-ipoib-ipam-cni "), "{run:#?}");
    assert!(lines[1].contains("0.1.0") && lines[1].contains("1.1.0"), "{run:#?}");
    assert!(lines[2].contains("--help"), "{run:#?}");
}

#[test]
fn help_version_and_usage_errors() {
    for help in ["--help", "-h", "help"] {
        let out = cli(&[help]).ok().to_string();
        for command in ["kvp", "ipoib", "check-config", "doctor", "install"] {
            assert!(out.contains(command), "{help}: {out}");
        }
    }
    let version = cli(&["--version"]).ok().to_string();
    assert!(version.starts_with(&format!("azure-ipoib-ipam-cni {}\n", env!("CARGO_PKG_VERSION"))), "{version}");
    assert!(version.contains("1.1.0"), "{version}");
    for bad in [&["frobnicate"][..], &["kvp", "--pool", "9"], &["ipoib", "--netns", "/x"], &["kvp", "--nope"]] {
        let err = cli(bad).fails(2).to_string();
        assert!(err.contains("--help"), "{bad:?}: {err}");
    }
    // An empty CNI_COMMAND is still the plugin's business: code 4 JSON, not the CLI.
    let out = run_program(&plugin_path(), &[("CNI_COMMAND", "")], b"");
    assert_eq!(out.error_code(), 4);
}

#[test]
fn kvp_lists_records_and_escapes_bytes() {
    let dir = TempDir::new("cli-kvp");
    let path = dir.path("pool");
    let mut bytes = pool_bytes(&[("IPoIB_Data", SAMPLE_VALUE), ("Plain", "v")]);
    bytes.extend(pool_bytes(&[("Raw", "x")]));
    // A value with bytes that are not UTF-8 and a control character.
    let raw_value = 2 * kvp_core::RECORD_LEN + kvp_core::KEY_LEN; // the third record's value
    bytes[raw_value..raw_value + 4].copy_from_slice(b"\xff\x1b\\\0");
    std::fs::write(&path, &bytes).unwrap();
    let p = path.to_str().unwrap();
    let out = cli(&["kvp", "--path", p]).ok().to_string();
    assert_eq!(out, format!("IPoIB_Data={SAMPLE_VALUE}\nPlain=v\nRaw=\\xff\\u{{1b}}\\\\\n"));
    let json: serde_json::Value = serde_json::from_str(cli(&["kvp", "--json", "--path", p]).ok()).unwrap();
    assert_eq!(json[0], serde_json::json!({"key": "IPoIB_Data", "value": SAMPLE_VALUE}));
    assert_eq!(json[2]["value"], "\\xff\\u{1b}\\\\");
    assert_eq!(cli(&["kvp", "get", "Plain", "--path", p]).ok(), "v\n");
    let missing = cli(&["kvp", "get", "Plain", "NoSuchKey", "--path", p]);
    assert_eq!(missing.stdout, "v\n");
    assert!(missing.fails(1).contains("key \"NoSuchKey\" is not in KVP pool"), "{missing:#?}");
}

#[test]
fn pool_errors_name_the_file_and_what_to_check() {
    let dir = TempDir::new("cli-errors");
    let none = dir.path("none");
    // Not ready yet (missing, locked, empty, no IPoIB_Data): exit 3, try again later.
    let err = cli(&["kvp", "--path", none.to_str().unwrap()]).fails(3).to_string();
    assert!(err.contains(&format!("KVP pool {} does not exist", none.display())), "{err}");
    assert!(err.contains("hint: hv_kvp_daemon"), "{err}");
    let err = cli(&["ipoib", "--path", dir.0.to_str().unwrap()]).fails(1).to_string();
    assert!(err.contains("is a directory, not a regular file"), "{err}");
    let empty = dir.path("empty");
    std::fs::write(&empty, b"").unwrap();
    assert!(cli(&["ipoib", "--path", empty.to_str().unwrap()]).fails(3).contains("is empty"));
}

#[test]
fn reads_take_the_lock_that_add_takes() {
    let dir = TempDir::new("cli-lock");
    let path = sample_pool(&dir);
    let writer = hold_write_lock(Path::new(&path));
    let err = cli(&["kvp", "--path", &path]).fails(3).to_string();
    assert!(err.contains("stayed write-locked"), "{err}");
    drop(writer);
    cli(&["kvp", "--path", &path]).ok();
}

#[test]
fn ipoib_pairs_and_lookups() {
    let dir = TempDir::new("cli-ipoib");
    let path = dir.path("pool");
    write_pool(&path, &[("IPoIB_Data", &ipoib_value(&[("00155D33FF0B", "172.16.1.2"), ("00155D33FF0C", "fd00::5")]))]);
    let p = path.to_str().unwrap();
    assert_eq!(cli(&["ipoib", "--path", p]).ok(), "00155D33FF0B 172.16.1.2\n00155D33FF0C fd00::5\n");
    let json: serde_json::Value = serde_json::from_str(cli(&["ipoib", "--path", p, "--json"]).ok()).unwrap();
    assert_eq!(json[1], serde_json::json!({"mac": "00155D33FF0C", "address": "fd00::5"}));
    assert_eq!(cli(&["ipoib", "--path", p, "--hwaddr", IB_HWADDR]).ok(), "172.16.1.2\n");
    assert_eq!(cli(&["ipoib", "--path", p, "--hwaddr", "00:15:5D:33:FF:0C"]).ok(), "fd00::5\n");
    let err = cli(&["ipoib", "--path", p, "--hwaddr", "00:15:5d:33:ff:0d"]).fails(1).to_string();
    assert!(err.contains("has no pair for MAC 00155D33FF0D (2 pairs listed)"), "{err}");
    let err = cli(&["ipoib", "--path", p, "--hwaddr", "00:15:zz"]).fails(1).to_string();
    assert!(err.contains("is not a hardware address"), "{err}");
}

#[test]
fn malformed_ipoib_data_gets_the_plugins_message() {
    let dir = TempDir::new("cli-malformed");
    let path = dir.path("pool");
    write_pool(&path, &[("IPoIB_Data", "NUMPAIRS:2|00155D33FF0B:172.16.1.2|00155D33FF:172.16.1.3")]);
    let err = cli(&["ipoib", "--path", path.to_str().unwrap()]).fails(1).to_string();
    let add = run(&cni_env("ADD", "/var/run/netns/none", "net1"), netconf("1.0.0", &ipam(&path)).as_bytes());
    // ADD finds the netns missing only after the pool: the pool's defect is what both report.
    assert_eq!(add.error_code(), 101, "{add:?}");
    let plugin_msg = add.json()["msg"].as_str().unwrap().to_string();
    assert!(plugin_msg.contains("pair 2"), "{plugin_msg}");
    assert!(err.contains(&plugin_msg), "CLI: {err}\nplugin: {plugin_msg}");
}

#[test]
fn ipoib_netns_answers_what_add_answers() {
    if !needs_root("ipoib_netns_answers_what_add_answers") {
        return;
    }
    let dir = TempDir::new("cli-netns");
    let path = sample_pool(&dir);
    let ns = ipoib_test_support::netns::Netns::new();
    ns.add_veth("net1", "00:15:5d:33:ff:0b");
    let answer = cli(&["ipoib", "--netns", &ns.path(), "--ifname", "net1", "--path", &path]).ok().to_string();
    let add = run(&cni_env("ADD", &ns.path(), "net1"), netconf("1.0.0", &ipam(Path::new(&path))).as_bytes());
    assert_eq!(add.exit, 0, "{add:?}");
    assert_eq!(answer.trim(), add.json()["ips"][0]["address"].as_str().unwrap());
    let json: serde_json::Value = serde_json::from_str(
        cli(&["ipoib", "--json", "--netns", &ns.path(), "--ifname", "net1", "--path", &path]).ok(),
    )
    .unwrap();
    assert_eq!(json, serde_json::json!({"ifname": "net1", "mac": "00155D33FF0B", "address": "172.16.1.2/16"}));
    let err = cli(&["ipoib", "--netns", &ns.path(), "--ifname", "net9", "--path", &path]).fails(1).to_string();
    assert!(err.contains("net9"), "{err}");
    let err = cli(&["ipoib", "--netns", "/var/run/netns/no-such-ns", "--ifname", "net1", "--path", &path])
        .fails(1)
        .to_string();
    assert!(err.contains("no-such-ns"), "{err}");

    // With the config ADD is given, the CLI answers with its prefix and its pool.
    let conf = netconf("1.0.0", &format!(r#"{{"type":"azure-ipoib-ipam-cni","kvpPath":"{path}","prefixLength":24}}"#));
    let file = dir.path("10-ib.conf");
    std::fs::write(&file, &conf).unwrap();
    let answer =
        cli(&["ipoib", "--netns", &ns.path(), "--ifname", "net1", "--config", file.to_str().unwrap()]).ok().to_string();
    let add = run(&cni_env("ADD", &ns.path(), "net1"), conf.as_bytes());
    assert_eq!(add.exit, 0, "{add:?}");
    assert_eq!((answer.trim(), add.json()["ips"][0]["address"].as_str().unwrap()), ("172.16.1.2/24", "172.16.1.2/24"));
    // A config whose prefix the address cannot take fails as ADD does.
    let long = netconf("1.0.0", &format!(r#"{{"type":"azure-ipoib-ipam-cni","kvpPath":"{path}","prefixLength":64}}"#));
    std::fs::write(&file, &long).unwrap();
    let err = cli(&["ipoib", "--netns", &ns.path(), "--ifname", "net1", "--config", file.to_str().unwrap()])
        .fails(1)
        .to_string();
    assert!(err.contains("prefix length 64 is too long for 172.16.1.2"), "{err}");
    assert_eq!(run(&cni_env("ADD", &ns.path(), "net1"), long.as_bytes()).error_code(), 7);
}

#[test]
fn check_config_decodes_as_add_does() {
    let dir = TempDir::new("cli-check");
    // A pool that does not exist: check-config must not look at it.
    let conf = netconf("1.0.0", r#"{"type":"azure-ipoib-ipam-cni","kvpPath":"/nonexistent/pool","prefixLength":24}"#);
    let file = dir.path("10-ib.conf");
    std::fs::write(&file, &conf).unwrap();
    let out = cli(&["check-config", file.to_str().unwrap()]).ok().to_string();
    assert!(out.contains(": ok (cniVersion 1.0.0, kvpPath /nonexistent/pool, prefixLength 24"), "{out}");
    let piped = run_cli(&plugin_path(), &["check-config", "-"], conf.as_bytes());
    assert!(piped.ok().starts_with("stdin: ok"), "{piped:#?}");

    let list = r#"{"cniVersion":"1.0.0","name":"ib","plugins":[
        {"type":"host-device","device":"ib0","ipam":{"type":"azure-ipoib-ipam-cni","prefixLength":200}},
        {"type":"tuning"}]}"#;
    let bad = run_cli(&plugin_path(), &["check-config", "-"], list.as_bytes());
    let err = bad.fails(1).to_string();
    assert!(err.contains("stdin plugins[0]: invalid ipam.prefixLength"), "{err}");
    assert!(err.contains("ADD would fail"), "{err}");
    let err = run_cli(&plugin_path(), &["check-config", "-"], b"{\"cniVersion\":").fails(1).to_string();
    assert!(err.contains("not valid JSON"), "{err}");
    let err = cli(&["check-config", dir.path("missing.conf").to_str().unwrap()]).fails(1).to_string();
    assert!(err.contains("missing.conf") && err.contains("hint:"), "{err}");
}

/// Issue 17: check-config FILE reads a regular file only, and at most the 4 MiB that stdin may
/// carry: a FIFO, a symlink to `/dev/zero` or a directory is refused at once, a long file
/// without reading it all, and its name is printed escaped.
#[test]
fn check_config_refuses_what_is_not_a_bounded_regular_file() {
    let dir = TempDir::new("cli-check-special");
    let fifo = dir.path("fifo.conf");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let zero = dir.path("zero.conf");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let long = dir.path("long.conf");
    std::fs::write(&long, vec![b' '; (4 << 20) + 1]).unwrap();
    let escaped = dir.path("\x1b[2J.conf");
    std::fs::create_dir(&escaped).unwrap();
    let limit = std::time::Duration::from_secs(10);
    for (path, says) in [
        (&fifo, "is a FIFO, not a regular file"),
        (&zero, "is a character device, not a regular file"),
        (&long, "long.conf is larger than 4 MiB"),
        (&escaped, "\\u{1b}[2J.conf: is a directory, not a regular file"),
    ] {
        let run = run_cli_within(&plugin_path(), &["check-config", path.to_str().unwrap()], limit)
            .unwrap_or_else(|| panic!("check-config {} still running after {limit:?}", path.display()));
        let err = run.fails(1);
        assert!(err.contains(says) && err.contains("hint:"), "{}: {err}", path.display());
        assert!(!err.contains('\x1b'), "{err:?}");
    }
    // Exactly at the limit: read and decoded (and refused as JSON).
    std::fs::write(&long, vec![b' '; 4 << 20]).unwrap();
    assert!(cli(&["check-config", long.to_str().unwrap()]).fails(1).contains("ADD would fail"));
}

#[test]
fn install_is_atomic_and_idempotent() {
    let dir = TempDir::new("cli-install");
    let dest = dir.path("bin");
    std::fs::create_dir(&dest).unwrap();
    let d = dest.to_str().unwrap();
    let out = cli(&["install", "--dest", d]).ok().to_string();
    assert!(out.starts_with("installed "), "{out}");
    let target = dest.join("azure-ipoib-ipam-cni");
    assert_eq!(std::fs::read(&target).unwrap(), std::fs::read(plugin_path()).unwrap());
    let meta = std::fs::metadata(&target).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o755);
    let out = cli(&["install", "--dest", d]).ok().to_string();
    assert!(out.contains("is up to date"), "{out}");
    let again = std::fs::metadata(&target).unwrap();
    assert_eq!((again.ino(), again.mtime_nsec()), (meta.ino(), meta.mtime_nsec()), "up to date must change nothing");
    assert_eq!(entries(&dest), ["azure-ipoib-ipam-cni"]);
}

#[test]
fn install_fails_clearly_and_leaves_no_temp_file() {
    let dir = TempDir::new("cli-install-bad");
    let err = cli(&["install", "--dest", dir.path("missing").to_str().unwrap()]).fails(1).to_string();
    assert!(err.contains("missing is not usable") && err.contains("hint:"), "{err}");
    // Not writable even for root.
    let err = cli(&["install", "--dest", "/proc/self"]).fails(1).to_string();
    assert!(err.contains("cannot create a file in /proc/self"), "{err}");
    // The rename fails (a directory is in the way) after the temp file was written.
    let dest = dir.path("bin");
    std::fs::create_dir_all(dest.join("azure-ipoib-ipam-cni/occupied")).unwrap();
    let err = cli(&["install", "--dest", dest.to_str().unwrap()]).fails(1).to_string();
    assert!(err.contains("cannot rename into place"), "{err}");
    assert_eq!(entries(&dest), ["azure-ipoib-ipam-cni"]);
    let file = dir.path("file");
    std::fs::write(&file, b"").unwrap();
    assert!(cli(&["install", "--dest", file.to_str().unwrap()]).fails(1).contains("is not a directory"));
}

#[test]
fn install_races_a_runtime_executing_the_plugin() {
    let dir = TempDir::new("cli-install-race");
    let dest = dir.path("bin");
    std::fs::create_dir(&dest).unwrap();
    // Two different builds to swap in turn.
    let (a, b) = two_builds(&dir);
    run_cli(&a, &["install", "--dest", dest.to_str().unwrap()], b"").ok();
    let target = dest.join("azure-ipoib-ipam-cni");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let runner = keep_running(&target, &stop);
    for i in 0..40 {
        let source = if i % 2 == 0 { &b } else { &a };
        let out = run_cli(source, &["install", "--dest", dest.to_str().unwrap()], b"").ok().to_string();
        assert!(out.starts_with("installed "), "{out}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let runs = runner.join().expect("every exec of the destination succeeded");
    assert!(runs > 0);
    assert_eq!(std::fs::read(&target).unwrap(), std::fs::read(&a).unwrap());
    assert_eq!(entries(&dest), ["azure-ipoib-ipam-cni"], "no temp file left");
}

/// Issue 17: two installers at once, each pid 1 of its own pid namespace as in two containers
/// (so they share a pid), the first slowed at `fsync` by strace's fault injection so that the
/// second runs inside its write-to-rename window. Every round, both succeed, the target is a
/// whole executable copy of one of the two binaries, no temp file is left, and a loop that keeps
/// executing the target never fails.
#[test]
fn concurrent_installs_from_two_pid_namespaces_leave_a_whole_plugin() {
    const TEST: &str = "concurrent_installs_from_two_pid_namespaces_leave_a_whole_plugin";
    if !can_run(TEST, root().and_then(|()| tool("strace", "strace")).and_then(|()| tool("unshare", "util-linux"))) {
        return;
    }
    let dir = TempDir::new("cli-install-pidns");
    let dest = dir.path("bin");
    std::fs::create_dir(&dest).unwrap();
    let (a, b) = two_builds(&dir);
    let (bytes_a, bytes_b) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    // A third build, installed before each round, so that both racers have something to replace.
    let c = dir.path("c");
    std::fs::write(&c, [&bytes_b[..], b"\0"].concat()).unwrap();
    std::fs::set_permissions(&c, std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = dest.to_str().unwrap().to_string();
    run_cli(&c, &["install", "--dest", &d], b"").ok();
    let target = dest.join("azure-ipoib-ipam-cni");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let runner = keep_running(&target, &stop);
    for round in 0..16 {
        run_cli(&c, &["install", "--dest", &d], b"").ok();
        let (first, second) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
        // The first waits 200 ms in each fsync; the second starts 40 to 190 ms into that window,
        // and is slowed as well every other pair of rounds.
        let slow_first = install_in_pid_namespace(first, &d, true).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(40 + 30 * (round % 6)));
        let second = install_in_pid_namespace(second, &d, round % 4 >= 2).output().unwrap();
        let first = slow_first.wait_with_output().unwrap();
        for (which, out) in [("first", &first), ("second", &second)] {
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && stdout.starts_with("installed "),
                "round {round}, {which} installer: {out:?}"
            );
        }
        let installed = std::fs::read(&target).unwrap();
        assert!(installed == bytes_a || installed == bytes_b, "round {round}: target is {} bytes", installed.len());
        assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o7777, 0o755, "round {round}");
        assert_eq!(entries(&dest), ["azure-ipoib-ipam-cni"], "round {round}: a temp file was left");
        assert!(run_cli(&target, &["--version"], b"").ok().starts_with("azure-ipoib-ipam-cni "));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(runner.join().expect("every exec of the target succeeded") > 0);
}

/// `binary install --dest dest` as pid 1 of a new pid namespace, under strace that delays each
/// `fsync` by 200 ms when `slow`.
fn install_in_pid_namespace(binary: &Path, dest: &str, slow: bool) -> std::process::Command {
    let mut command = std::process::Command::new("strace");
    command.args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=fsync"]);
    if slow {
        command.args(["-e", "inject=fsync:delay_enter=200000"]);
    }
    command.args(["unshare", "--pid", "--fork", "--mount-proc"]).arg(binary).args(["install", "--dest", dest]);
    command.env_clear().env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    command
}

/// Issue 17: a temp file is removed for its age, never for the pid in its name, and only once no
/// installer can still be writing it.
#[test]
fn install_removes_only_stale_temp_files() {
    let dir = TempDir::new("cli-install-stale");
    let dest = dir.path("bin");
    std::fs::create_dir(&dest).unwrap();
    let stale = dest.join(".azure-ipoib-ipam-cni.tmp-1");
    let busy = dest.join(".azure-ipoib-ipam-cni.tmp-0123456789abcdef");
    let unrelated = dest.join("host-device");
    for path in [&stale, &busy, &unrelated] {
        std::fs::write(path, b"partial").unwrap();
    }
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for path in [&stale, &unrelated] {
        std::fs::File::options().write(true).open(path).unwrap().set_modified(hour_ago).unwrap();
    }
    cli(&["install", "--dest", dest.to_str().unwrap()]).ok();
    assert_eq!(
        entries(&dest),
        [".azure-ipoib-ipam-cni.tmp-0123456789abcdef", "azure-ipoib-ipam-cni", "host-device"],
        "the hour-old temp file goes; another installer's fresh one and other files stay"
    );
}

/// Two different builds in `dir`: the plugin, and the plugin with a byte appended.
fn two_builds(dir: &TempDir) -> (std::path::PathBuf, std::path::PathBuf) {
    let (a, b) = (dir.path("a"), dir.path("b"));
    let mut bytes = std::fs::read(plugin_path()).unwrap();
    std::fs::write(&a, &bytes).unwrap();
    bytes.push(0);
    std::fs::write(&b, &bytes).unwrap();
    for p in [&a, &b] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    (a, b)
}

/// A thread that executes `target --version` until `stop`, asserting each run succeeds; joins
/// to the number of runs.
fn keep_running(target: &Path, stop: &std::sync::Arc<std::sync::atomic::AtomicBool>) -> std::thread::JoinHandle<usize> {
    let (stop, target) = (stop.clone(), target.to_path_buf());
    std::thread::spawn(move || {
        let mut runs = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let run = run_cli(&target, &["--version"], b"");
            assert!(run.ok().starts_with("azure-ipoib-ipam-cni "), "run {runs}: {run:#?}");
            runs += 1;
        }
        runs
    })
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}
