//! The production chain: the real `host-device` CNI plugin (Debian's containernetworking-plugins,
//! /usr/lib/cni/host-device) with this plugin as its IPAM, configured as network-operator renders a
//! HostDeviceNetwork. host-device moves a veth standing in for the IB NIC into the pod netns as
//! CNI_IFNAME, runs the IPAM plugin found through CNI_PATH, and configures the address it returns.
//!
//! Root only (CI runs them as root). host-device releases differ in what they do around the IPAM
//! call (rollback of a failed ADD, a DEL after the link is gone); where they do, the tests accept
//! each release's documented behaviour but never an error of this plugin.
// Test code: indexing, unwrapping and panicking are how a test fails (the workspace lints deny
// them in library code only).
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use ipoib_test_support::netns::{self, HostVeth, Netns};
use ipoib_test_support::plugin::*;
use ipoib_test_support::root::{can_run, root};
use serde_json::{json, Value};

/// Where Debian's containernetworking-plugins puts host-device (tests/setup.sh installs it).
const HOST_DEVICE: &str = "/usr/lib/cni/host-device";

const SAMPLE_MAC: &str = "00:15:5d:33:ff:0b";
const SAMPLE_VALUE: &str = "NUMPAIRS:1|00155D33FF0B:172.16.1.2";

/// True when the test can run: root, and host-device installed. Fails under CI when either is
/// missing; elsewhere prints a notice and tells the caller to return.
fn ready(test: &str) -> bool {
    let host_device = || match Path::new(HOST_DEVICE).exists() {
        true => Ok(()),
        false => Err(format!("{HOST_DEVICE} is missing: tests/setup.sh installs containernetworking-plugins")),
    };
    can_run(test, root().and_then(|()| host_device()))
}

/// A CNI_PATH directory holding `host-device` and `azure-ipoib-ipam-cni` (symlinks to the
/// installed host-device and the plugin cargo built), and a pool file; removed on drop.
struct Chain {
    dir: TempDir,
}

impl Chain {
    fn new(tag: &str, records: &[(&str, &str)]) -> Chain {
        let dir = TempDir::new(tag);
        std::fs::create_dir(dir.path("bin")).expect("create CNI_PATH dir");
        std::os::unix::fs::symlink(HOST_DEVICE, dir.path("bin/host-device")).expect("link host-device");
        std::os::unix::fs::symlink(plugin_path(), dir.path("bin/azure-ipoib-ipam-cni")).expect("link the plugin");
        let chain = Chain { dir };
        chain.write_pool(records);
        chain
    }

    fn pool(&self) -> PathBuf {
        self.dir.path("pool")
    }

    /// Replaces the pool's contents (the host pushing new KVP data).
    fn write_pool(&self, records: &[(&str, &str)]) {
        write_pool(&self.pool(), records);
    }

    /// The netconf network-operator renders for a HostDeviceNetwork on `device`, with
    /// `extra_ipam` (`,"key":value…` or empty) appended to the ipam section.
    fn conf(&self, version: &str, device: &str, extra_ipam: &str) -> String {
        format!(
            r#"{{"cniVersion":"{version}","name":"hostdev-net","type":"host-device","device":"{device}","ipam":{{"type":"azure-ipoib-ipam-cni","kvpPath":"{}"{extra_ipam}}}}}"#,
            self.pool().display()
        )
    }

    /// Runs host-device's `command` for interface `ifname` in `netns`, as the runtime (multus) does.
    fn host_device(&self, command: &str, netns: &Netns, ifname: &str, stdin: &str) -> Outcome {
        let bin = self.dir.path("bin");
        let env = [
            ("CNI_COMMAND", command),
            ("CNI_CONTAINERID", "c1"),
            ("CNI_NETNS", &netns.path()),
            ("CNI_IFNAME", ifname),
            ("CNI_PATH", bin.to_str().expect("UTF-8 temp dir")),
        ];
        run_program(&bin.join("host-device"), &env, stdin.as_bytes())
    }
}

/// `conf` with `prevResult` set to `prev` (the ADD result), as the runtime sends it with CHECK.
fn with_prev_result(conf: &str, prev: &Value) -> String {
    let mut conf: Value = serde_json::from_str(conf).expect("netconf is JSON");
    conf["prevResult"] = prev.clone();
    conf.to_string()
}

/// The versions host-device supports, as its VERSION command lists them.
fn host_device_versions() -> Vec<String> {
    let out = run_program(Path::new(HOST_DEVICE), &[("CNI_COMMAND", "VERSION")], br#"{"cniVersion":"0.4.0"}"#);
    assert_eq!(out.exit, 0, "host-device VERSION: {out:?}");
    let versions: Vec<String> = out.json()["supportedVersions"]
        .as_array()
        .unwrap_or_else(|| panic!("no supportedVersions: {out:?}"))
        .iter()
        .map(|v| v.as_str().expect("version string").to_string())
        .collect();
    versions
}

/// The versions both host-device and the plugin support: the ones a HostDeviceNetwork can use.
fn chain_versions() -> Vec<String> {
    let host_device = host_device_versions();
    let both: Vec<String> = host_device.iter().filter(|v| VERSIONS.contains(&v.as_str())).cloned().collect();
    for v in host_device.iter().filter(|v| !both.contains(v)) {
        eprintln!("host-device supports cniVersion {v}, which the plugin does not");
    }
    assert!(both.iter().any(|v| at_least(v, "0.4.0")), "no common version with CHECK: {host_device:?}");
    both
}

/// `version` ≥ `min`, numerically.
fn at_least(version: &str, min: &str) -> bool {
    let parse = |v: &str| v.split('.').map(|n| n.parse::<u32>().expect("numeric version")).collect::<Vec<_>>();
    parse(version) >= parse(min)
}

/// The link `name` as `ip -j addr show` describes it, in the named netns or (None) the host's;
/// None when there is no such link there.
fn link(netns: Option<&str>, name: &str) -> Option<Value> {
    let mut args = Vec::new();
    if let Some(ns) = netns {
        args.extend(["-n", ns]);
    }
    args.extend(["-j", "addr", "show", "dev", name]);
    let text = netns::ip_output(&args);
    if text.trim().is_empty() {
        return None;
    }
    let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("ip -j: {e}: {text}"));
    json.as_array().and_then(|links| links.first()).cloned()
}

/// The IPv4 addresses (`a.b.c.d/len`) of a link from [`link`].
fn inet(link: &Value) -> Vec<String> {
    link["addr_info"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["family"] == "inet")
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap_or("?"), a["prefixlen"]))
        .collect()
}

/// The NIC is in the pod netns as `ifname`, up, with its MAC and exactly the address `cidr`; and
/// no longer in the host netns.
fn assert_in_pod(pod: &Netns, nic: &HostVeth, ifname: &str, mac: &str, cidr: &str) {
    let inside = link(Some(&pod.name), ifname).unwrap_or_else(|| panic!("{ifname} is not in the pod netns"));
    assert_eq!(inside["address"], mac, "{inside}");
    assert!(inside["flags"].as_array().is_some_and(|f| f.contains(&json!("UP"))), "{ifname} is not up: {inside}");
    assert_eq!(inet(&inside), [cidr], "{inside}");
    assert!(link(None, &nic.name).is_none(), "{} is still in the host netns", nic.name);
}

/// The NIC is back in the host netns under its own name, without the pod's address, and gone
/// from the pod netns.
fn assert_in_host(pod: &Netns, nic: &HostVeth, ifname: &str) {
    let host = link(None, &nic.name).unwrap_or_else(|| panic!("{} is not back in the host netns", nic.name));
    assert_eq!(inet(&host), Vec::<String>::new(), "the pod's address followed the NIC out: {host}");
    assert!(link(Some(&pod.name), ifname).is_none(), "{ifname} is still in the pod netns");
}

/// host-device's ADD result for `version` gives the NIC's `cidr` to `ifname`.
fn assert_add_result(out: &Outcome, version: &str, pod: &Netns, ifname: &str, mac: &str, cidr: &str) {
    assert_eq!(out.exit, 0, "{version}: {out:?}");
    let result = out.json();
    assert_eq!(result["cniVersion"], version, "{result}");
    if at_least(version, "0.3.0") {
        assert_eq!(result["interfaces"], json!([{"name": ifname, "mac": mac, "sandbox": pod.path()}]), "{result}");
        assert_eq!(result["ips"].as_array().map(Vec::len), Some(1), "{result}");
        assert_eq!(result["ips"][0]["address"], cidr, "{result}");
        assert_eq!(result["ips"][0]["interface"], 0, "{result}");
    } else {
        assert_eq!(result["ip4"]["ip"], cidr, "{version}: {result}");
    }
}

/// A failure host-device passed through from the plugin: exit 1, the plugin's code and message.
fn assert_plugin_error(out: &Outcome, code: u64, needle: &str) {
    assert_eq!(out.exit, 1, "{out:?}");
    let json = out.json();
    assert_eq!(json["code"], code, "{out:?}");
    assert!(json["msg"].as_str().is_some_and(|m| m.contains(needle)), "msg lacks {needle:?}: {out:?}");
}

/// DEL succeeded, or (host-device ≤ 1.1: IPAM DEL first, then the link move) the plugin's DEL
/// succeeded and only host-device's own move failed because `ifname` is no longer in the netns.
fn assert_del_ok_or_link_gone(out: &Outcome, ifname: &str) {
    if out.exit == 0 {
        assert_eq!(out.stdout, "", "{out:?}");
        return;
    }
    let json = out.json();
    let link_gone = format!("failed to find \"{ifname}\"");
    assert!(
        json["code"] == 999 && json["msg"].as_str().is_some_and(|m| m.starts_with(&link_gone)),
        "DEL failed other than by host-device not finding {ifname}: {out:?}"
    );
}

#[test]
fn add_check_del_in_every_version_host_device_supports() {
    if !ready("add_check_del_in_every_version_host_device_supports") {
        return;
    }
    let chain = Chain::new("hd", &[("HostName", "vm-1"), ("IPoIB_Data", SAMPLE_VALUE)]);
    for version in chain_versions() {
        let version = version.as_str();
        let pod = Netns::new();
        let nic = HostVeth::new(SAMPLE_MAC);
        let conf = chain.conf(version, &nic.name, "");

        let added = chain.host_device("ADD", &pod, "net1", &conf);
        assert_add_result(&added, version, &pod, "net1", SAMPLE_MAC, "172.16.1.2/16");
        assert_in_pod(&pod, &nic, "net1", SAMPLE_MAC, "172.16.1.2/16");

        if at_least(version, "0.4.0") {
            let check = chain.host_device("CHECK", &pod, "net1", &with_prev_result(&conf, &added.json()));
            assert_eq!((check.exit, check.stdout.as_str()), (0, ""), "{version}: {check:?}");
        }

        let del = chain.host_device("DEL", &pod, "net1", &conf);
        assert_eq!((del.exit, del.stdout.as_str()), (0, ""), "{version}: {del:?}");
        assert_in_host(&pod, &nic, "net1");
        // The runtime may repeat DEL (kubelet retries; multus on pod teardown).
        let again = chain.host_device("DEL", &pod, "net1", &conf);
        assert_del_ok_or_link_gone(&again, "net1");
        assert_in_host(&pod, &nic, "net1");
    }
}

#[test]
fn a_pod_with_two_nics_gets_each_its_own_address() {
    if !ready("a_pod_with_two_nics_gets_each_its_own_address") {
        return;
    }
    let pairs: Vec<(String, String)> =
        (0..8).map(|i| (format!("00155D33FF{:02X}", 0x10 + i), format!("172.16.1.{}", 10 + i))).collect();
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(m, i)| (m.as_str(), i.as_str())).collect();
    let chain = Chain::new("hd-two", &[("IPoIB_Data", &ipoib_value(&refs))]);
    let version = chain_versions().pop().expect("a common version");
    let pod = Netns::new();
    let nics = [
        ("net1", "00:15:5d:33:ff:13", "172.16.1.13/16", HostVeth::new("00:15:5d:33:ff:13")),
        ("net2", "00:15:5d:33:ff:16", "172.16.1.16/16", HostVeth::new("00:15:5d:33:ff:16")),
    ];
    for (ifname, mac, cidr, nic) in &nics {
        let added = chain.host_device("ADD", &pod, ifname, &chain.conf(&version, &nic.name, ""));
        assert_add_result(&added, &version, &pod, ifname, mac, cidr);
    }
    // Both NICs in the pod at once, each with its own address.
    for (ifname, mac, cidr, nic) in &nics {
        assert_in_pod(&pod, nic, ifname, mac, cidr);
    }
    for (ifname, _, _, nic) in &nics {
        let del = chain.host_device("DEL", &pod, ifname, &chain.conf(&version, &nic.name, ""));
        assert_eq!((del.exit, del.stdout.as_str()), (0, ""), "{ifname}: {del:?}");
        assert_in_host(&pod, nic, ifname);
    }
}

#[test]
fn plugin_errors_pass_through_host_device() {
    if !ready("plugin_errors_pass_through_host_device") {
        return;
    }
    // The host listed another NIC only: code 100 in every version, and the NIC ends up back in
    // the host netns, by host-device's rollback (newer releases) or by the DEL the runtime sends
    // after a failed ADD (older ones leave the NIC in the pod netns as net1).
    let chain = Chain::new("hd-fail", &[("IPoIB_Data", "NUMPAIRS:1|00155D33FF0C:172.16.1.3")]);
    for version in chain_versions() {
        let pod = Netns::new();
        let nic = HostVeth::new(SAMPLE_MAC);
        let conf = chain.conf(&version, &nic.name, "");
        let out = chain.host_device("ADD", &pod, "net1", &conf);
        assert_plugin_error(&out, 100, "no pair for MAC 00155D33FF0B (1 pairs listed)");
        let rolled_back = link(None, &nic.name).is_some();
        if !rolled_back {
            let left = link(Some(&pod.name), "net1").expect("the NIC is neither in the host nor in the pod netns");
            assert_eq!(inet(&left), Vec::<String>::new(), "{version}: an address after a failed ADD: {left}");
        }
        let del = chain.host_device("DEL", &pod, "net1", &conf);
        if rolled_back {
            assert_del_ok_or_link_gone(&del, "net1");
        } else {
            assert_eq!((del.exit, del.stdout.as_str()), (0, ""), "{version}: {del:?}");
        }
        assert_in_host(&pod, &nic, "net1");
    }

    // ipam.prefixLength reaches the interface; a pool that since maps the NIC elsewhere fails
    // CHECK with the plugin's code 104, through host-device.
    chain.write_pool(&[("IPoIB_Data", SAMPLE_VALUE)]);
    let version = chain_versions().pop().expect("a common version");
    let pod = Netns::new();
    let nic = HostVeth::new(SAMPLE_MAC);
    let conf = chain.conf(&version, &nic.name, r#","prefixLength":24"#);
    let added = chain.host_device("ADD", &pod, "net1", &conf);
    assert_add_result(&added, &version, &pod, "net1", SAMPLE_MAC, "172.16.1.2/24");
    assert_in_pod(&pod, &nic, "net1", SAMPLE_MAC, "172.16.1.2/24");
    let check_conf = with_prev_result(&conf, &added.json());
    let check = chain.host_device("CHECK", &pod, "net1", &check_conf);
    assert_eq!((check.exit, check.stdout.as_str()), (0, ""), "{check:?}");
    chain.write_pool(&[("IPoIB_Data", "NUMPAIRS:1|00155D33FF0B:172.16.1.3")]);
    let stale = chain.host_device("CHECK", &pod, "net1", &check_conf);
    assert_plugin_error(&stale, 104, "prevResult has 172.16.1.2/24, but KVP assigns 172.16.1.3/24");
    let del = chain.host_device("DEL", &pod, "net1", &conf);
    assert_eq!((del.exit, del.stdout.as_str()), (0, ""), "{del:?}");
    assert_in_host(&pod, &nic, "net1");
}
