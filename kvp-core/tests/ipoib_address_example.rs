//! The reuse example `examples/ipoib_address.rs`, run as a program: against the committed
//! fixture with a fake sysfs tree, and (as root) against a real veth's sysfs address.
// Test code: indexing, unwrapping and panicking are how a test fails (the workspace lints deny
// them in library code only).
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kvp_core::{encode_pool, HwAddr, RECORD_LEN};

/// `cargo test` builds the package's examples next to the test binaries' `deps/` directory.
fn example() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
    let example = profile_dir.join("examples/ipoib_address");
    assert!(example.exists(), "{} not built; `cargo test -p kvp-core` builds it", example.display());
    example
}

fn run(args: &[&str]) -> Output {
    Command::new(example()).args(args).output().expect("run the example")
}

fn stdout(out: &Output) -> &str {
    std::str::from_utf8(&out.stdout).expect("UTF-8 output")
}

fn fixture(name: &str) -> String {
    format!("{}/../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A scratch directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("kvp-core-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn str(&self) -> &str {
        self.0.to_str().expect("UTF-8 temp path")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A sysfs tree with one interface whose `address` file holds `address`.
fn fake_sysfs(name: &str, iface: &str, address: &str) -> TempDir {
    let dir = TempDir::new(name);
    let net = dir.0.join("class/net").join(iface);
    std::fs::create_dir_all(&net).expect("create fake sysfs");
    std::fs::write(net.join("address"), format!("{address}\n")).expect("write address");
    dir
}

const SAMPLE_NIC: &str = "00:00:01:49:fe:80:00:00:00:00:00:00:00:15:5d:ff:fd:33:ff:0b";

#[test]
fn prints_the_address_of_the_sample_nic() {
    let sysfs = fake_sysfs("example-sample", "ib0", SAMPLE_NIC);
    let out = run(&["--sysfs", sysfs.str(), &fixture("kvp_pool_0.azure-sample"), "ib0"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out), "172.16.1.2\n");
}

#[test]
fn says_why_not() {
    let other = "00:00:01:49:fe:80:00:00:00:00:00:00:00:15:5d:ff:fd:33:ff:0c";
    let sysfs = fake_sysfs("example-why-not", "ib1", other);
    let pool = fixture("kvp_pool_0.azure-sample");
    let out = run(&["--sysfs", sysfs.str(), &pool, "ib1"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no pair for MAC 00155D33FF0C (1 pairs listed)"), "{out:?}");

    let out = run(&["--sysfs", sysfs.str(), &fixture("kvp_pool_1.empty"), "ib1"]);
    assert_eq!(out.status.code(), Some(1), "an empty pool is not ready yet: {out:?}");
    let out = run(&["--sysfs", sysfs.str(), &pool, "ib9"]);
    assert_eq!(out.status.code(), Some(2), "no such interface: {out:?}");
    let out = run(&[&pool]);
    assert_eq!(out.status.code(), Some(2), "usage: {out:?}");
}

/// Root only: a real veth's sysfs `address`, listed in a pool, gives its address.
#[test]
fn reads_a_real_interface_address_from_sysfs() {
    if !ipoib_test_support::root::needs_root("reads_a_real_interface_address_from_sysfs") {
        return;
    }
    let name = format!("kvpex{}", std::process::id() % 100_000);
    let ip = |args: &[&str]| Command::new("ip").args(args).status().expect("run ip").success();
    assert!(ip(&["link", "add", &name, "type", "veth", "peer", "name", &format!("{name}p")]), "create veth {name}");
    struct Link(String);
    impl Drop for Link {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["link", "del", &self.0]).status();
        }
    }
    let _link = Link(name.clone());

    let text = std::fs::read(format!("/sys/class/net/{name}/address")).expect("veth address");
    let mac = HwAddr::parse_text(&text).expect("Ethernet address").mac();
    let dir = TempDir::new("example-veth");
    let pool = dir.0.join("pool");
    let mut bytes = vec![0u8; RECORD_LEN];
    encode_pool(&[("IPoIB_Data", format!("NUMPAIRS:1|{mac}:10.9.8.7"))], &mut bytes).expect("pool");
    std::fs::write(&pool, bytes).expect("write pool");

    let out = run(&[pool.to_str().expect("UTF-8"), &name]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out), "10.9.8.7\n");
}
