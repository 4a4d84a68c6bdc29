//! Throwaway network namespaces and veth links for tests (root only). Everything is removed on
//! drop, also when a test fails.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `ip` with `args`; panics with its stderr on failure.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(out.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

/// `ip` output as text.
pub fn ip_output(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("run ip");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A name unique to this process and call, short enough for an interface (≤ 15 bytes).
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}x{n}", std::process::id() % 100_000)
}

/// A named network namespace (`/var/run/netns/<name>`).
pub struct Netns {
    pub name: String,
}

impl Netns {
    #[allow(clippy::new_without_default)] // Creating one runs `ip netns add`: not a default value.
    pub fn new() -> Netns {
        let name = unique("ipt");
        ip(&["netns", "add", &name]);
        Netns { name }
    }

    pub fn path(&self) -> String {
        format!("/var/run/netns/{}", self.name)
    }

    /// Adds a veth whose end inside this netns is `ifname` with address `mac`; the host end is
    /// deleted along with the netns.
    pub fn add_veth(&self, ifname: &str, mac: &str) {
        let host = unique("vh");
        let peer = unique("vp");
        ip(&["link", "add", &host, "type", "veth", "peer", "name", &peer]);
        ip(&["link", "set", &peer, "netns", &self.name]);
        ip(&["-n", &self.name, "link", "set", &peer, "name", ifname]);
        ip(&["-n", &self.name, "link", "set", ifname, "address", mac]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the netns destroys the veth ends in it, and with them their peers.
        let _ = Command::new("ip").args(["netns", "del", &self.name]).output();
    }
}

/// A veth pair in the host netns whose `name` end carries `mac` (what host-device moves).
pub struct HostVeth {
    pub name: String,
    peer: String,
}

impl HostVeth {
    pub fn new(mac: &str) -> HostVeth {
        let name = unique("ib");
        let peer = unique("pe");
        ip(&["link", "add", &name, "type", "veth", "peer", "name", &peer]);
        ip(&["link", "set", &name, "address", mac]);
        HostVeth { name, peer }
    }
}

impl Drop for HostVeth {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.peer]).output();
        let _ = Command::new("ip").args(["link", "del", &self.name]).output();
    }
}
