//! `ipoib up`, the VM's own IPoIB links given their KVP addresses, on a network namespace that
//! stands in for the VM, with veth links standing in for the IB NICs (a veth's 6-byte MAC maps to
//! itself; they are picked with `--link`, since only InfiniBand links are found by type).
//!
//! Root only; without root these tests print a notice and pass, unless `CI` is set, where they
//! fail.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ipoib_test_support::kvp_daemon::{self, KvpDaemon};
use ipoib_test_support::netns::{ip, ip_output, Netns};
use ipoib_test_support::plugin::{hold_write_lock, ipoib_value, plugin_path, write_pool, TempDir};
use ipoib_test_support::root::{can_run, needs_root, tool};

const MAC_A: &str = "00:15:5d:33:ff:0b";
const MAC_B: &str = "00:15:5d:33:ff:0c";
const MAC_C: &str = "00:15:5d:33:ff:0d";

/// Whether `test` can run: root, and each of `tools` (program, Debian package) on PATH.
fn can_run_with(test: &str, tools: &[(&str, &str)]) -> bool {
    let ready = tools.iter().try_fold((), |(), (program, package)| tool(program, package));
    can_run(test, ipoib_test_support::root::root().and(ready))
}

/// The "VM": a netns with veth links `ib0` and `ib1` (their peers `ib0p`, `ib1p` beside them).
struct Vm {
    netns: Netns,
    dir: TempDir,
}

impl Vm {
    fn new(tag: &str) -> Vm {
        let vm = Vm { netns: Netns::new(), dir: TempDir::new(tag) };
        vm.add_link("ib0", MAC_A);
        vm.add_link("ib1", MAC_B);
        vm
    }

    fn add_link(&self, name: &str, mac: &str) {
        let ns = &self.netns.name;
        ip(&["-n", ns, "link", "add", name, "type", "veth", "peer", "name", &format!("{name}p")]);
        ip(&["-n", ns, "link", "set", name, "address", mac]);
    }

    fn pool(&self) -> PathBuf {
        self.dir.path("pool")
    }

    fn state(&self) -> PathBuf {
        self.dir.path("run/ipoib-up")
    }

    fn write_pool(&self, pairs: &[(&str, &str)]) {
        write_pool(&self.pool(), &[("HostName", "vm"), ("IPoIB_Data", &ipoib_value(pairs))]);
    }

    /// `ipoib up` run inside the netns, with this VM's pool and state.
    fn up_command(&self, pool: &Path, args: &[&str]) -> Command {
        self.traced_up_command(&[], pool, args)
    }

    /// [`Vm::up_command`] under `strace` with `strace_args` (none: not traced).
    fn traced_up_command(&self, strace_args: &[&str], pool: &Path, args: &[&str]) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.netns.name]);
        if !strace_args.is_empty() {
            command.arg("strace").args(strace_args);
        }
        command.arg(plugin_path()).args(["ipoib", "up"]);
        command.arg("--path").arg(pool).arg("--state").arg(self.state()).args(args);
        command.env_clear().env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        command
    }

    fn up(&self, args: &[&str]) -> Output {
        self.up_command(&self.pool(), args).output().expect("run ipoib up")
    }

    /// `ip -br addr` of `link` in the netns: its addresses.
    fn addresses(&self, link: &str) -> Vec<String> {
        let out = ip_output(&["-n", &self.netns.name, "-br", "addr", "show", "dev", link]);
        out.split_whitespace().skip(2).filter(|w| w.contains('/') && !w.starts_with("fe80")).map(String::from).collect()
    }

    fn is_up(&self, link: &str) -> bool {
        ip_output(&["-n", &self.netns.name, "link", "show", link]).contains(",UP")
    }
}

fn text(out: &Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const LINKS: [&str; 4] = ["--link", "ib0", "--link", "ib1"];

#[test]
fn sets_the_addresses_once_keeps_foreign_ones_and_removes_what_kvp_dropped() {
    if !can_run_with("sets_the_addresses_once_keeps_foreign_ones_and_removes_what_kvp_dropped", &[("strace", "strace")])
    {
        return;
    }
    let vm = Vm::new("up-set");
    vm.write_pool(&[("00155D33FF0B", "172.16.1.2"), ("00155D33FF0C", "172.16.1.3")]);
    ip(&["-n", &vm.netns.name, "addr", "add", "10.9.9.9/24", "dev", "ib0"]);

    let (code, stdout, stderr) = text(&vm.up(&LINKS));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stdout, "ib0: set 172.16.1.2/16 (link set up)\nib1: set 172.16.1.3/16 (link set up)\n", "{stderr}");
    assert_eq!(vm.addresses("ib0"), ["10.9.9.9/24", "172.16.1.2/16"]);
    assert_eq!(vm.addresses("ib1"), ["172.16.1.3/16"]);
    assert!(vm.is_up("ib0") && vm.is_up("ib1"));

    // A second run: every link ok, and not one netlink change (strace sees every sendto).
    let strace = vm.dir.path("strace");
    let strace_args = ["-f", "-e", "trace=sendto", "-o", strace.to_str().unwrap()];
    let traced = vm.traced_up_command(&strace_args, &vm.pool(), &LINKS).output().expect("strace ipoib up");
    let (code, stdout, stderr) = text(&traced);
    assert_eq!((code, stdout.as_str()), (0, "ib0: ok 172.16.1.2/16\nib1: ok 172.16.1.3/16\n"), "{stderr}");
    let trace = std::fs::read_to_string(&strace).unwrap();
    // Two dumps (links, then addresses), and nothing else.
    assert_eq!(trace.matches("sendto(").count(), 2, "{trace}");
    assert!(trace.contains("RTM_GETADDR"), "{trace}");
    for change in ["RTM_NEWADDR", "RTM_DELADDR", "RTM_NEWLINK"] {
        assert!(!trace.contains(change), "a second run sent {change}:\n{trace}");
    }

    // KVP drops ib1's pair and moves ib0's: ours are removed, the foreign address stays.
    vm.write_pool(&[("00155D33FF0B", "172.16.1.7")]);
    let (code, stdout, stderr) = text(&vm.up(&LINKS));
    assert_eq!(code, 1, "a link without a pair exits 1: {stdout}{stderr}");
    assert!(stdout.starts_with("ib0: set 172.16.1.7/16 (removed 172.16.1.2/16)\n"), "{stdout}");
    assert!(stdout.contains("ib1: removed (MAC 00155D33FF0C; removed 172.16.1.3/16;"), "{stdout}");
    assert_eq!(vm.addresses("ib0"), ["10.9.9.9/24", "172.16.1.7/16"]);
    assert!(vm.addresses("ib1").is_empty());

    // An address KVP lists that someone else set is left alone, also once KVP drops it.
    ip(&["-n", &vm.netns.name, "addr", "add", "172.16.1.3/16", "dev", "ib1"]);
    vm.write_pool(&[("00155D33FF0B", "172.16.1.7"), ("00155D33FF0C", "172.16.1.3")]);
    assert_eq!(text(&vm.up(&LINKS)).1, "ib0: ok 172.16.1.7/16\nib1: ok 172.16.1.3/16\n");
    vm.write_pool(&[("00155D33FF0B", "172.16.1.7")]);
    let (code, stdout, _) = text(&vm.up(&LINKS));
    assert_eq!(code, 1);
    assert!(stdout.contains("ib1: no pair (MAC 00155D33FF0C;"), "{stdout}");
    assert_eq!(vm.addresses("ib1"), ["172.16.1.3/16"], "not ours: kept");

    // --json and --dry-run: the plan, with nothing changed.
    vm.write_pool(&[("00155D33FF0B", "172.16.1.8")]);
    let (code, stdout, _) = text(&vm.up(&["--link", "ib0", "--dry-run", "--json"]));
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json[0]["status"], "set");
    assert_eq!(json[0]["address"], "172.16.1.8/16");
    assert_eq!(json[0]["removed"], serde_json::json!(["172.16.1.7/16"]));
    assert_eq!(
        (&json[0]["set_up"], &json[0]["no_pair"], &json[0]["dry_run"]),
        (&false.into(), &false.into(), &true.into())
    );
    assert_eq!(vm.addresses("ib0"), ["10.9.9.9/24", "172.16.1.7/16"], "a dry run changes nothing");
}

#[test]
fn a_child_link_is_skipped_and_only_infiniband_links_are_found_by_type() {
    if !needs_root("a_child_link_is_skipped_and_only_infiniband_links_are_found_by_type") {
        return;
    }
    let vm = Vm::new("up-child");
    vm.write_pool(&[("00155D33FF0B", "172.16.1.2")]);
    // A macvlan in passthru mode carries its lower link's MAC, as an IPoIB child carries its
    // parent's port GUID.
    ip(&["-n", &vm.netns.name, "link", "add", "link", "ib0", "name", "ib0.c", "type", "macvlan", "mode", "passthru"]);
    let (code, stdout, stderr) = text(&vm.up(&["--link", "ib0", "--link", "ib0.c"]));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("ib0.c: child (child of ib0"), "{stdout}");
    assert!(vm.addresses("ib0.c").is_empty());
    // Without --link, only ARPHRD_INFINIBAND links count: a veth named ib0 is not one.
    let (code, stdout, stderr) = text(&vm.up(&[]));
    assert_eq!((code, stdout.as_str()), (0, ""), "{stderr}");
    assert!(stderr.contains("no InfiniBand link"), "{stderr}");
}

#[test]
fn a_bad_or_missing_pool_changes_nothing_and_says_why() {
    if !needs_root("a_bad_or_missing_pool_changes_nothing_and_says_why") {
        return;
    }
    let vm = Vm::new("up-bad");
    write_pool(&vm.pool(), &[("IPoIB_Data", "NUMPAIRS:2|00155D33FF0B:172.16.1.2")]);
    let (code, stdout, stderr) = text(&vm.up(&LINKS));
    assert_eq!((code, stdout.as_str()), (1, ""), "{stderr}");
    assert!(stderr.contains("ipoib up changed nothing: malformed IPoIB_Data"), "{stderr}");
    assert!(vm.addresses("ib0").is_empty() && !vm.is_up("ib0"));

    let (code, _, stderr) = text(&vm.up_command(&vm.dir.path("none"), &LINKS).output().unwrap());
    assert_eq!(code, 3, "not ready: try again later: {stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(!vm.state().exists(), "nothing recorded");
}

/// `ipoib up --watch`, its stdout read line by line.
struct Watch {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Watch {
    fn start(vm: &Vm, pool: &Path, args: &[&str]) -> Watch {
        let mut command = vm.up_command(pool, args);
        command.arg("--watch").stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("start ipoib up --watch");
        let (send, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = send.send(line);
            }
        });
        Watch { child, lines }
    }

    /// Waits up to `limit` for a line containing `needle`; how long it took.
    fn expect(&self, needle: &str, limit: Duration) -> Duration {
        let start = Instant::now();
        while let Some(left) = limit.checked_sub(start.elapsed()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return start.elapsed(),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("no line with {needle:?} within {limit:?}");
    }

    /// The watch's own CPU time (user + system), in clock ticks. `ip netns exec` execs the
    /// binary, so the child's pid is the watch's.
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    fn stop(self) -> String {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), nix::sys::signal::SIGTERM).unwrap();
        let out = self.child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "SIGTERM ends the watch cleanly");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

#[test]
fn watch_follows_the_real_hv_kvp_daemon_and_new_links_and_idles_at_no_cpu() {
    if !can_run("watch_follows_the_real_hv_kvp_daemon_and_new_links_and_idles_at_no_cpu", kvp_daemon::preflight()) {
        return;
    }
    let vm = Vm::new("up-watch");
    let daemon = KvpDaemon::start().expect("start hv_kvp_daemon");
    daemon.set(0, "IPoIB_Data", &ipoib_value(&[("00155D33FF0B", "172.16.1.2")])).unwrap();
    let pool = daemon.pool_path(0);
    let watch = Watch::start(&vm, &pool, &["--link", "ib0", "--link", "ib2"]);
    watch.expect("ib0: set 172.16.1.2/16", Duration::from_secs(5));
    assert_eq!(vm.addresses("ib0"), ["172.16.1.2/16"]);

    // The daemon rewrites IPoIB_Data (the host pushed a new value): the address follows.
    daemon
        .set(0, "IPoIB_Data", &ipoib_value(&[("00155D33FF0B", "172.16.1.9"), ("00155D33FF0D", "172.16.1.4")]))
        .unwrap();
    let took = watch.expect("ib0: set 172.16.1.9/16 (removed 172.16.1.2/16)", Duration::from_secs(1));
    assert_eq!(vm.addresses("ib0"), ["172.16.1.9/16"], "after {took:?}");

    // A link that appears after start-up gets its address.
    vm.add_link("ib2", MAC_C);
    watch.expect("ib2: set 172.16.1.4/16", Duration::from_secs(1));
    assert_eq!(vm.addresses("ib2"), ["172.16.1.4/16"]);

    // Idle: nothing changes for 5 s, and the watch spends no CPU time at all.
    std::thread::sleep(Duration::from_millis(300));
    let before = watch.cpu_ticks();
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(watch.cpu_ticks(), before, "an idle watch used CPU");

    let stderr = watch.stop();
    assert!(stderr.contains("SIGTERM, stopped; addresses left in place"), "{stderr}");
    assert_eq!(vm.addresses("ib0"), ["172.16.1.9/16"], "left in place");
    daemon.stop().unwrap();
}

#[test]
fn watch_retries_a_pool_locked_past_the_timeout_instead_of_taking_it_for_no_pairs() {
    if !needs_root("watch_retries_a_pool_locked_past_the_timeout_instead_of_taking_it_for_no_pairs") {
        return;
    }
    let vm = Vm::new("up-lock");
    vm.write_pool(&[("00155D33FF0B", "172.16.1.2")]);
    let writer = hold_write_lock(&vm.pool());
    let watch = Watch::start(&vm, &vm.pool(), &["--link", "ib0"]);
    // The first pass waits out the lock timeout (2 s) and says so on stderr; nothing is set.
    std::thread::sleep(Duration::from_millis(2600));
    assert!(vm.addresses("ib0").is_empty());
    drop(writer);
    // Retried within a second of the next try, with no pool event to wake it.
    watch.expect("ib0: set 172.16.1.2/16", Duration::from_secs(4));
    let stderr = watch.stop();
    assert!(stderr.contains("stayed write-locked"), "{stderr}");
    assert!(!stderr.contains("no pair"), "{stderr}");
}

#[test]
fn install_systemd_puts_a_hardened_unit_that_systemd_accepts() {
    if !can_run_with("install_systemd_puts_a_hardened_unit_that_systemd_accepts", &[("systemd-analyze", "systemd")]) {
        return;
    }
    let dir = TempDir::new("up-unit");
    let (bin, units) = (dir.path("bin"), dir.path("units"));
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&units).unwrap();
    let out = Command::new(plugin_path())
        .arg("install")
        .arg("--dest")
        .arg(&bin)
        .arg("--unit-dir")
        .arg(&units)
        .output()
        .unwrap();
    let (code, stdout, stderr) = text(&out);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("systemctl enable --now azure-ipoib-up.service"), "{stdout}");
    let unit_path = units.join("azure-ipoib-up.service");
    let unit = std::fs::read_to_string(&unit_path).unwrap();
    let binary = std::fs::canonicalize(bin.join("azure-ipoib-ipam-cni")).unwrap();
    assert!(unit.contains(&format!("\nExecStart={} ipoib up --watch\n", binary.display())), "{unit}");
    for line in [
        "After=hv-kvp-daemon.service",
        "CapabilityBoundingSet=CAP_NET_ADMIN",
        "ProtectSystem=strict",
        "RuntimeDirectoryPreserve=yes",
    ] {
        assert!(unit.contains(line), "{line}: {unit}");
    }
    // systemd's own parser accepts it, and rates its exposure (0 best, 10 worst) at most 2.
    let verify = Command::new("systemd-analyze").arg("verify").arg(&unit_path).output().unwrap();
    assert!(verify.status.success() && verify.stderr.is_empty(), "{}", String::from_utf8_lossy(&verify.stderr));
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--threshold=20"])
        .arg(&unit_path)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&security.stdout);
    assert!(security.status.success(), "{report}{}", String::from_utf8_lossy(&security.stderr));
    assert!(report.contains("Overall exposure level for azure-ipoib-up.service: 1."), "{report}");
    // Run again: nothing changes.
    let again = text(
        &Command::new(plugin_path())
            .arg("install")
            .arg("--dest")
            .arg(&bin)
            .arg("--unit-dir")
            .arg(&units)
            .output()
            .unwrap(),
    );
    assert!(again.1.contains("azure-ipoib-up.service is up to date"), "{again:?}");
}

/// The system calls systemd's `SystemCallFilter=` group `group` allows, nested groups expanded.
fn syscall_group(group: &str) -> std::collections::BTreeSet<String> {
    let out = Command::new("systemd-analyze").args(["syscall-filter", group]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut calls = std::collections::BTreeSet::new();
    for word in text.lines().skip(1).map(str::trim).filter(|w| !w.is_empty() && !w.starts_with('#')) {
        match word.strip_prefix('@') {
            Some(_) => calls.extend(syscall_group(word)),
            None => {
                calls.insert(word.to_string());
            }
        }
    }
    calls
}

#[test]
fn every_system_call_of_ipoib_up_passes_the_units_filter() {
    let tools = [("systemd-analyze", "systemd"), ("strace", "strace")];
    if !can_run_with("every_system_call_of_ipoib_up_passes_the_units_filter", &tools) {
        return;
    }
    // SystemCallFilter=@system-service, then ~@privileged @resources (deploy/systemd).
    let mut allowed = syscall_group("@system-service");
    for denied in [syscall_group("@privileged"), syscall_group("@resources")] {
        allowed.retain(|call| !denied.contains(call));
    }
    let vm = Vm::new("up-filter");
    vm.write_pool(&[("00155D33FF0B", "172.16.1.2")]);
    let trace = vm.dir.path("trace");
    // A one-shot run that changes things, then a watch that sees a pool change and a SIGTERM.
    let strace_args = ["-f", "-qq", "-A", "-o", trace.to_str().unwrap()];
    let strace = |args: &[&str]| vm.traced_up_command(&strace_args, &vm.pool(), args);
    assert!(strace(&["--link", "ib0"]).status().unwrap().success());
    let mut watch = strace(&["--link", "ib0", "--watch"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    vm.write_pool(&[("00155D33FF0B", "172.16.1.3")]);
    std::thread::sleep(Duration::from_millis(800));
    // SIGTERM to the traced watch itself (strace's child), as systemd sends it.
    let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", watch.id())).unwrap();
    let traced: i32 = children.split_whitespace().next().expect("strace's child").parse().unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(traced), nix::sys::signal::SIGTERM).unwrap();
    assert!(watch.wait().unwrap().success(), "the watch ends cleanly on SIGTERM");
    assert_eq!(vm.addresses("ib0"), ["172.16.1.3/16"], "the watch ran");
    let calls: std::collections::BTreeSet<String> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .filter_map(|line| {
            let call = line.split_once(" ").map_or(line, |(_pid, rest)| rest).trim_start();
            let name = call.split('(').next()?;
            (!name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
                .then(|| name.to_string())
        })
        .collect();
    assert!(calls.contains("inotify_add_watch") && calls.contains("signalfd4"), "{calls:?}");
    let refused: Vec<&String> = calls.iter().filter(|call| !allowed.contains(*call)).collect();
    assert!(refused.is_empty(), "the unit's SystemCallFilter would refuse {refused:?}");
}
