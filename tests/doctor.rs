//! `doctor` on fake nodes: every root it reads points into a temp tree, so each test builds the
//! node it needs (a healthy one, and one broken in each way an operator meets at 3 a.m.).
// Test code: indexing, unwrapping and panicking are how a test fails.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use ipoib_test_support::cli::{run_cli, run_cli_within, Run};
use ipoib_test_support::plugin::*;

/// `ip link`'s spelling of mlx5_0 port 1's IPoIB address; its MAC is 00155D33FF0B.
const IB0_ADDRESS: &str = "00:00:01:48:fe:80:00:00:00:00:00:00:00:15:5d:ff:fd:33:ff:0b";
const IB0_GID: &str = "fe80:0000:0000:0000:0015:5dff:fd33:ff0b";
const IB1_GID: &str = "fe80:0000:0000:0000:0015:5dff:fd33:ff0c";

/// A node's roots under one temp dir.
struct FakeNode {
    dir: TempDir,
}

impl FakeNode {
    /// Healthy: the daemon running, a pool with a pair for the one IB port, the plugin installed,
    /// a conflist that uses it.
    fn healthy(tag: &str) -> FakeNode {
        let node = FakeNode { dir: TempDir::new(tag) };
        write_pool(&node.pool(), &[("IPoIB_Data", "NUMPAIRS:1|00155D33FF0B:172.16.1.2")]);
        node.process(4242, "hv_kvp_daemon");
        node.process(1, "systemd");
        node.ib_port("mlx5_0", IB0_GID);
        node.netdev("ib0", IB0_ADDRESS, 5, 5);
        node.file("sys/class/net/eth0/type", "1\n");
        let bin = node.root("bin");
        fs::create_dir_all(&bin).unwrap();
        fs::copy(plugin_path(), bin.join("azure-ipoib-ipam-cni")).unwrap();
        node.file(
            "etc/cni/multus/net.d/00-ib.conflist",
            r#"{"cniVersion":"1.0.0","name":"ib","plugins":[{"type":"host-device","device":"ib0","ipam":{"type":"azure-ipoib-ipam-cni"}}]}"#,
        );
        node.file(
            "etc/cni/net.d/10-flannel.conflist",
            r#"{"cniVersion":"1.0.0","name":"cbr0","plugins":[{"type":"flannel"}]}"#,
        );
        node
    }

    fn root(&self, name: &str) -> PathBuf {
        self.dir.path(name)
    }

    fn pool(&self) -> PathBuf {
        self.root("kvp_pool_0")
    }

    fn file(&self, rel: &str, content: &str) {
        let path = self.root(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    fn process(&self, pid: u32, comm: &str) {
        self.file(&format!("proc/{pid}/comm"), &format!("{comm}\n"));
    }

    fn ib_port(&self, device: &str, gid: &str) {
        self.file(&format!("sys/class/infiniband/{device}/ports/1/gids/0"), &format!("{gid}\n"));
    }

    fn netdev(&self, name: &str, address: &str, ifindex: u32, iflink: u32) {
        for (attr, value) in [
            ("type", "32".to_string()),
            ("address", address.into()),
            ("ifindex", ifindex.to_string()),
            ("iflink", iflink.to_string()),
        ] {
            self.file(&format!("sys/class/net/{name}/{attr}"), &format!("{value}\n"));
        }
    }

    fn doctor(&self, extra: &[&str]) -> Run {
        let args = self.doctor_args(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = run_cli(&plugin_path(), &args, b"");
        assert!(!run.stderr.contains("panicked"), "{run:#?}");
        run
    }

    /// `doctor`, which must finish within 10 s.
    fn doctor_in_time(&self, extra: &[&str]) -> Run {
        let args = self.doctor_args(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let limit = std::time::Duration::from_secs(10);
        let run = run_cli_within(&plugin_path(), &args, limit).expect("doctor finishes within 10 s");
        assert!(!run.stderr.contains("panicked"), "{run:#?}");
        run
    }

    fn doctor_args(&self, extra: &[&str]) -> Vec<String> {
        let roots = [
            ("--path", self.pool()),
            ("--sys", self.root("sys")),
            ("--proc", self.root("proc")),
            ("--cni-etc", self.root("etc/cni")),
            ("--cni-bin-dir", self.root("bin")),
        ];
        let mut args: Vec<String> = vec!["doctor".into()];
        for (flag, path) in roots {
            args.push(flag.into());
            args.push(path.display().to_string());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    /// A FIFO at `rel`, which no one ever writes.
    fn fifo(&self, rel: &str) {
        let path = self.root(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    }
}

/// The line of `subject`, asserting there is exactly one.
fn line<'a>(run: &'a Run, status: &str, subject: &str) -> &'a str {
    let found: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with(status) && l.contains(subject)).collect();
    assert_eq!(found.len(), 1, "one {status} line about {subject:?} in:\n{}", run.stdout);
    found[0]
}

fn hint_after<'a>(run: &'a Run, line_text: &str) -> &'a str {
    let mut lines = run.stdout.lines().skip_while(|l| *l != line_text);
    lines.next();
    let hint = lines.next().unwrap_or_default();
    assert!(hint.trim_start().starts_with("hint: "), "no hint after {line_text:?}:\n{}", run.stdout);
    hint
}

#[test]
fn healthy_node() {
    let node = FakeNode::healthy("doctor-healthy");
    let run = node.doctor(&[]);
    assert_eq!(run.exit, 0, "{run:#?}");
    assert!(!run.stdout.contains("failure ") && !run.stdout.contains("warning "), "{}", run.stdout);
    assert!(line(&run, "ok", "pool ").contains("1 records, last written"), "{}", run.stdout);
    assert!(line(&run, "ok", "IPoIB_Data").contains("1 pairs"));
    assert!(line(&run, "ok", "hv_kvp_daemon").contains("pid 4242"));
    assert!(
        line(&run, "ok", "mlx5_0 port 1").contains("GUID 0015:5dff:fd33:ff0b, MAC 00155D33FF0B, address 172.16.1.2")
    );
    assert!(line(&run, "ok", "IPoIB netdev ib0").contains("172.16.1.2"));
    assert!(line(&run, "ok", "installed plugin").contains("identical to this binary"));
    assert!(line(&run, "ok", "00-ib.conflist").contains("passes check-config"));
    assert!(run.stdout.ends_with("7 ok, 0 warnings, 0 failures\n"), "{}", run.stdout);
    println!("{}", run.stdout);

    let json: serde_json::Value = serde_json::from_str(&node.doctor(&["--json"]).stdout).unwrap();
    assert_eq!(json["failures"], 0);
    assert_eq!(json["checks"].as_array().unwrap().len(), 7);
    assert!(json["checks"].as_array().unwrap().iter().all(|c| c["status"] == "ok"), "{json}");
}

#[test]
fn node_without_the_daemon() {
    let node = FakeNode::healthy("doctor-nodaemon");
    fs::remove_dir_all(node.root("proc/4242")).unwrap();
    let run = node.doctor(&[]);
    assert_eq!(run.exit, 1, "{run:#?}");
    let failure = line(&run, "failure", "hv_kvp_daemon");
    assert!(failure.contains("not running"), "{failure}");
    assert!(hint_after(&run, failure).contains("systemctl enable --now hv-kvp-daemon"));
}

#[test]
fn node_without_a_pool() {
    let node = FakeNode::healthy("doctor-nopool");
    fs::remove_file(node.pool()).unwrap();
    let run = node.doctor(&["--json"]);
    assert_eq!(run.exit, 1, "{run:#?}");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let pool = &json["checks"][0];
    assert_eq!(pool["status"], "failure", "{json}");
    assert!(pool["hint"].as_str().unwrap().contains("hv_kvp_daemon"), "{json}");
}

#[test]
fn nic_without_a_pair() {
    let node = FakeNode::healthy("doctor-nopair");
    node.ib_port("mlx5_1", IB1_GID);
    let run = node.doctor(&[]);
    assert_eq!(run.exit, 1, "{run:#?}");
    line(&run, "ok", "mlx5_0 port 1");
    let failure = line(&run, "failure", "mlx5_1 port 1");
    assert!(
        failure.contains("MAC 00155D33FF0C: IPoIB_Data has no pair for MAC 00155D33FF0C (1 pairs listed)"),
        "{failure}"
    );
    hint_after(&run, failure);
    println!("{}", run.stdout);
}

#[test]
fn malformed_ipoib_data() {
    let node = FakeNode::healthy("doctor-malformed");
    write_pool(&node.pool(), &[("IPoIB_Data", "NUMPAIRS:2|00155D33FF0B:172.16.1.2")]);
    let run = node.doctor(&[]);
    assert_eq!(run.exit, 1, "{run:#?}");
    let failure = line(&run, "failure", "IPoIB_Data");
    assert!(failure.contains("NUMPAIRS declares 2 pairs but 1 are present"), "{failure}");
    assert!(line(&run, "warning", "mlx5_0 port 1").contains("not looked up"));
}

#[test]
fn ipoib_child_link() {
    let node = FakeNode::healthy("doctor-child");
    // ipoib-cni's child: same 20-byte address as its parent (so the same GUID), its own ifindex.
    node.netdev("ib0.8001", IB0_ADDRESS, 9, 5);
    let run = node.doctor(&[]);
    assert_eq!(run.exit, 0, "a warning is not a failure: {run:#?}");
    let warning = line(&run, "warning", "IPoIB netdev ib0.8001");
    assert!(warning.contains("child link of ib0"), "{warning}");
    assert!(hint_after(&run, warning).contains("whereabouts"));
    line(&run, "ok", "IPoIB netdev ib0:");
}

#[test]
fn stale_installed_binary() {
    let node = FakeNode::healthy("doctor-stale");
    let installed = node.root("bin/azure-ipoib-ipam-cni");
    fs::write(&installed, "#!/bin/sh\necho 'azure-ipoib-ipam-cni 0.0.9'\n").unwrap();
    fs::set_permissions(&installed, fs::Permissions::from_mode(0o755)).unwrap();
    let run = node.doctor(&[]);
    assert_eq!(run.exit, 0, "{run:#?}");
    let warning = line(&run, "warning", "installed plugin");
    assert!(
        warning.contains("differs from this binary") && warning.contains("azure-ipoib-ipam-cni 0.0.9"),
        "{warning}"
    );
    assert!(hint_after(&run, warning).contains("install --dest"));
    println!("{}", run.stdout);

    fs::set_permissions(&installed, fs::Permissions::from_mode(0o644)).unwrap();
    let run = node.doctor(&[]);
    assert_eq!(run.exit, 1);
    assert!(line(&run, "failure", "installed plugin").contains("not executable"));
    fs::remove_file(&installed).unwrap();
    assert!(line(&node.doctor(&[]), "failure", "installed plugin").contains("cannot stat"));
}

#[test]
fn broken_cni_config() {
    let node = FakeNode::healthy("doctor-badconf");
    node.file(
        "etc/cni/net.d/20-ib.conf",
        r#"{"cniVersion":"1.0.0","name":"ib","type":"host-device","ipam":{"type":"azure-ipoib-ipam-cni","kvpPath":"relative"}}"#,
    );
    let run = node.doctor(&[]);
    assert_eq!(run.exit, 1, "{run:#?}");
    let failure = line(&run, "failure", "20-ib.conf");
    assert!(failure.contains("ipam.kvpPath"), "{failure}");
    assert!(hint_after(&run, failure).contains("check-config"));
    line(&run, "ok", "00-ib.conflist");
}

/// Issue 17: a FIFO wherever doctor reads a file (a process's `comm`, a port's GID, a netdev's
/// `type`, a config in `net.d`) is reported or skipped, never waited on.
#[test]
fn fifos_where_files_are_expected_do_not_hang() {
    let node = FakeNode::healthy("doctor-fifo");
    node.fifo("proc/999/comm");
    node.fifo("sys/class/infiniband/mlx5_1/ports/1/gids/0");
    node.fifo("sys/class/net/ib9/type");
    node.fifo("etc/cni/net.d/30-ib.conf");
    for json in [false, true] {
        let run = node.doctor_in_time(if json { &["--json"] } else { &[] });
        assert_eq!(run.exit, 0, "warnings only: {run:#?}");
        if json {
            continue;
        }
        line(&run, "ok", "hv_kvp_daemon");
        let port = line(&run, "warning", "mlx5_1 port 1");
        assert!(port.contains("gids/0: is a FIFO, not a regular file"), "{port}");
        let conf = line(&run, "warning", "30-ib.conf");
        assert!(conf.contains("cannot read: is a FIFO, not a regular file"), "{conf}");
        assert!(!run.stdout.contains("ib9"), "a netdev whose type cannot be read is not IPoIB: {}", run.stdout);
    }
}

/// Issue 17: a name taken from the node reaches the terminal escaped, never as a raw escape
/// sequence: here two InfiniBand devices and a config whose names hold ESC and BEL.
#[test]
fn names_from_the_node_are_escaped() {
    let node = FakeNode::healthy("doctor-escape");
    node.file("sys/class/infiniband/mlx5_\x1b[2J/ports/1/gids/0", "not a gid\n");
    fs::create_dir_all(node.root("sys/class/infiniband/mlx5_\x1b]0;title\x07/ports/1")).unwrap();
    fs::create_dir_all(node.root("etc/cni/net.d/40-\x1b[31m.conf")).unwrap();
    let run = node.doctor_in_time(&[]);
    assert!(!run.stdout.contains('\x1b') && !run.stdout.contains('\x07'), "raw control characters: {:?}", run.stdout);
    let malformed = line(&run, "warning", "mlx5_\\u{1b}[2J port 1");
    assert!(malformed.contains("/sys/class/infiniband/mlx5_\\u{1b}[2J/ports/1/gids/0: "), "{malformed}");
    line(&run, "warning", "mlx5_\\u{1b}]0;title\\u{7} port 1");
    assert!(line(&run, "warning", "40-\\u{1b}[31m.conf").contains("is a directory"), "{}", run.stdout);
    let json: serde_json::Value = serde_json::from_str(&node.doctor_in_time(&["--json"]).stdout).unwrap();
    assert!(json.to_string().contains("mlx5_\\\\u{1b}[2J"), "{json}");
}

#[test]
fn the_host_side_says_whether_each_ipoib_netdev_carries_its_kvp_address() {
    if !ipoib_test_support::root::needs_root("the_host_side_says_whether_each_ipoib_netdev_carries_its_kvp_address") {
        return;
    }
    let node = FakeNode::healthy("doctor-host-side");
    // The node's netns, with a link named as the fake sysfs names the IPoIB netdev.
    let netns = ipoib_test_support::netns::Netns::new();
    ipoib_test_support::netns::ip(&["-n", &netns.name, "link", "add", "ib0", "type", "veth", "peer", "name", "ib0p"]);
    let doctor = || {
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &netns.name])
            .arg(plugin_path())
            .args(node.doctor_args(&[]))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let out = doctor();
    assert!(
        out.contains("warning  IPoIB netdev ib0 addresses: does not carry its KVP address 172.16.1.2 (it has: none)"),
        "{out}"
    );
    assert!(out.contains("ipoib up"), "the hint names the fix: {out}");
    ipoib_test_support::netns::ip(&["-n", &netns.name, "addr", "add", "172.16.1.2/16", "dev", "ib0"]);
    let out = doctor();
    assert!(out.contains("ok       IPoIB netdev ib0 addresses: carries its KVP address (172.16.1.2/16)"), "{out}");
    // Outside that netns there is no link ib0: no host-side line, as on the other fake nodes.
    assert!(!node.doctor(&[]).stdout.contains("ib0 addresses"));
}
