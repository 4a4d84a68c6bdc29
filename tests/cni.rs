//! The plugin binary driven as a runtime drives it: every command in every version, the result
//! shapes, the error codes, tolerant config decoding, and multi-NIC pools. Tests that need a
//! network namespace need root; CI runs them as root and fails if it cannot.
// Test code: indexing, unwrapping and panicking are how a test fails (the workspace lints deny
// them in library code only).
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ipoib_test_support::netns::{self, Netns};
use ipoib_test_support::plugin::*;
use ipoib_test_support::root::needs_root;

const SAMPLE_MAC: &str = "00:15:5d:33:ff:0b";
const SAMPLE_VALUE: &str = "NUMPAIRS:1|00155D33FF0B:172.16.1.2";

/// A pool with the sample pair among other records, and a netns holding the sample NIC as `net1`.
struct Pod {
    dir: TempDir,
    netns: Netns,
}

impl Pod {
    fn new(records: &[(&str, &str)]) -> Pod {
        let dir = TempDir::new("pod");
        write_pool(&dir.path("pool"), records);
        let netns = Netns::new();
        netns.add_veth("net1", SAMPLE_MAC);
        Pod { dir, netns }
    }

    fn sample() -> Pod {
        Pod::new(&[("HostName", "vm-1"), ("IPoIB_Data", SAMPLE_VALUE), ("Other", "x")])
    }

    fn conf(&self, version: &str) -> String {
        netconf(version, &ipam(&self.dir.path("pool")))
    }

    fn run(&self, command: &str, ifname: &str, stdin: &str) -> Outcome {
        run(&cni_env(command, &self.netns.path(), ifname), stdin.as_bytes())
    }
}

#[test]
fn version_lists_all_seven_versions() {
    let out = run(&[("CNI_COMMAND", "VERSION")], br#"{"cniVersion":"0.3.1"}"#);
    assert_eq!(out.exit, 0, "{out:?}");
    let json = out.json();
    assert_eq!(json["cniVersion"], "0.3.1");
    assert_eq!(json["supportedVersions"], serde_json::json!(VERSIONS));
    // libcni sends a config; with none (or junk) the answer is in the latest version.
    for stdin in [&b""[..], b"junk", br#"{"cniVersion":"7.0.0"}"#] {
        let out = run(&[("CNI_COMMAND", "VERSION")], stdin);
        assert_eq!(out.json()["cniVersion"], "1.1.0", "{out:?}");
    }
}

#[test]
fn add_in_every_version() {
    if !needs_root("add_in_every_version") {
        return;
    }
    let pod = Pod::sample();
    for version in VERSIONS {
        let out = pod.run("ADD", "net1", &pod.conf(version));
        assert_eq!(out.exit, 0, "{version}: {out:?}");
        let json = out.json();
        assert_eq!(json["cniVersion"], version);
        match version {
            "0.1.0" | "0.2.0" => {
                assert_eq!(json["ip4"]["ip"], "172.16.1.2/16", "{version}");
                assert!(json.get("ips").is_none());
            }
            "0.3.0" | "0.3.1" | "0.4.0" => {
                assert_eq!(json["ips"], serde_json::json!([{"version": "4", "address": "172.16.1.2/16"}]), "{version}")
            }
            _ => assert_eq!(json["ips"], serde_json::json!([{"address": "172.16.1.2/16"}]), "{version}"),
        }
        assert!(json.get("interfaces").is_none(), "an IPAM plugin returns no interfaces");
    }
}

#[test]
fn add_honours_prefix_length_and_routes() {
    if !needs_root("add_honours_prefix_length_and_routes") {
        return;
    }
    let pod = Pod::sample();
    let ipam = format!(
        r#"{{"type":"azure-ipoib-ipam-cni","kvpPath":"{}","prefixLength":24,"routes":[{{"dst":"172.17.0.0/16","gw":"172.16.1.1"}}]}}"#,
        pod.dir.path("pool").display()
    );
    let out = pod.run("ADD", "net1", &netconf("1.0.0", &ipam));
    let json = out.json();
    assert_eq!(json["ips"][0]["address"], "172.16.1.2/24", "{out:?}");
    assert_eq!(json["routes"], serde_json::json!([{"dst": "172.17.0.0/16", "gw": "172.16.1.1"}]));
}

#[test]
fn multi_nic_pool_gives_each_nic_its_own_address() {
    if !needs_root("multi_nic_pool_gives_each_nic_its_own_address") {
        return;
    }
    let pairs: Vec<(String, String)> =
        (0..8).map(|i| (format!("00155D33FF{:02X}", 0x10 + i), format!("172.16.1.{}", 10 + i))).collect();
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(m, i)| (m.as_str(), i.as_str())).collect();
    let value = ipoib_value(&refs);
    let dir = TempDir::new("multi");
    write_pool(&dir.path("pool"), &[("IPoIB_Data", &value)]);
    let ns = Netns::new();
    for i in 0..8 {
        ns.add_veth(&format!("net{i}"), &format!("00:15:5d:33:ff:{:02x}", 0x10 + i));
    }
    let conf = netconf("0.3.1", &ipam(&dir.path("pool")));
    for i in 0..8 {
        let ifname = format!("net{i}");
        let out = run(&cni_env("ADD", &ns.path(), &ifname), conf.as_bytes());
        assert_eq!(out.json()["ips"][0]["address"], format!("172.16.1.{}/16", 10 + i), "{out:?}");
    }
    // A NIC the host did not list: code 100, naming the MAC and the count, not the map.
    ns.add_veth("net9", "00:15:5d:33:ff:99");
    let out = run(&cni_env("ADD", &ns.path(), "net9"), conf.as_bytes());
    assert_eq!(out.error_code(), 100);
    let text = out.error_text();
    assert!(text.contains("00155D33FF99") && text.contains("8 pairs"), "{text}");
    assert!(!text.contains("172.16.1."), "the message must not leak the map: {text}");
}

#[test]
fn check_in_every_version() {
    if !needs_root("check_in_every_version") {
        return;
    }
    let pod = Pod::sample();
    for version in VERSIONS {
        let prev =
            r#"{"ips":[{"version":"4","address":"172.16.1.2/16","interface":0}],"interfaces":[{"name":"net1"}]}"#;
        let conf = pod.conf(version).replacen('{', &format!(r#"{{"prevResult":{prev},"#), 1);
        let out = pod.run("CHECK", "net1", &conf);
        if version < "0.4.0" {
            assert_eq!(out.error_code(), 1, "{version}");
        } else {
            out.assert_silent_success();
        }
    }
    let stale = pod.conf("1.0.0").replacen('{', r#"{"prevResult":{"ips":[{"address":"172.16.1.9/16"}]},"#, 1);
    let out = pod.run("CHECK", "net1", &stale);
    assert_eq!(out.error_code(), 104);
    let text = out.error_text();
    assert!(text.contains("172.16.1.9/16") && text.contains("172.16.1.2/16"), "{text}");
    let wrong_prefix = pod.conf("1.0.0").replacen('{', r#"{"prevResult":{"ips":[{"address":"172.16.1.2/24"}]},"#, 1);
    assert_eq!(pod.run("CHECK", "net1", &wrong_prefix).error_code(), 104);
    let no_prev = pod.conf("1.0.0");
    assert_eq!(pod.run("CHECK", "net1", &no_prev).error_code(), 7);
}

#[test]
fn del_succeeds_whatever_is_gone() {
    let dir = TempDir::new("del");
    let conf = netconf("0.4.0", &ipam(&dir.path("no-such-pool")));
    for version in VERSIONS {
        let conf = netconf(version, &ipam(&dir.path("no-such-pool")));
        run(&cni_env("DEL", "/var/run/netns/does-not-exist", "net1"), conf.as_bytes()).assert_silent_success();
    }
    let without_netns = [("CNI_COMMAND", "DEL"), ("CNI_CONTAINERID", "c1"), ("CNI_IFNAME", "net1")];
    run(&without_netns, conf.as_bytes()).assert_silent_success();
    run(&without_netns, conf.as_bytes()).assert_silent_success();
}

#[test]
fn status_and_gc_exist_from_1_1_0() {
    let dir = TempDir::new("status");
    write_pool(&dir.path("pool"), &[("IPoIB_Data", SAMPLE_VALUE)]);
    let status = [("CNI_COMMAND", "STATUS")];
    let gc = [("CNI_COMMAND", "GC"), ("CNI_PATH", "/opt/cni/bin")];
    for version in VERSIONS {
        let conf = netconf(version, &ipam(&dir.path("pool")));
        let (status_out, gc_out) = (run(&status, conf.as_bytes()), run(&gc, conf.as_bytes()));
        if version == "1.1.0" {
            status_out.assert_silent_success();
            gc_out.assert_silent_success();
        } else {
            assert_eq!(status_out.error_code(), 1, "{version}");
            assert_eq!(gc_out.error_code(), 1, "{version}");
        }
    }
    let gc_conf = netconf("1.1.0", &ipam(&dir.path("pool"))).replacen(
        '{',
        r#"{"cni.dev/valid-attachments":[{"containerID":"c1","ifname":"net1"}],"#,
        1,
    );
    run(&gc, gc_conf.as_bytes()).assert_silent_success();
}

#[test]
fn status_is_not_ready_without_valid_ipoib_data() {
    let dir = TempDir::new("status-bad");
    write_pool(&dir.path("malformed"), &[("IPoIB_Data", "NUMPAIRS:2|00155D33FF0B:172.16.1.2")]);
    write_pool(&dir.path("no-key"), &[("HostName", "vm")]);
    std::fs::write(dir.path("empty"), b"").unwrap();
    for (pool, needle) in
        [("missing", "does not exist"), ("malformed", "declares 2"), ("no-key", "no IPoIB_Data"), ("empty", "empty")]
    {
        let conf = netconf("1.1.0", &ipam(&dir.path(pool)));
        let out = run(&[("CNI_COMMAND", "STATUS")], conf.as_bytes());
        assert_eq!(out.error_code(), 50, "{pool}");
        assert!(out.error_text().contains(needle), "{pool}: {}", out.error_text());
    }
}

#[test]
fn pool_errors_come_before_the_nic_lookup() {
    // No root needed: the pool is checked before the netns is entered.
    let dir = TempDir::new("pool-errors");
    write_pool(&dir.path("no-key"), &[("HostName", "vm")]);
    write_pool(&dir.path("malformed"), &[("IPoIB_Data", "NUMPAIRS:1|00155D33FFxB:172.16.1.2")]);
    std::fs::write(dir.path("empty"), b"").unwrap();
    std::fs::write(dir.path("partial"), vec![0u8; 100]).unwrap();
    let cases = [
        ("missing", 11, "does not exist"),
        ("empty", 11, "is empty"),
        ("partial", 11, "no whole record"),
        ("no-key", 11, "no IPoIB_Data"),
        ("malformed", 101, "pair 1"),
        ("", 102, "directory"),
    ];
    for (pool, code, needle) in cases {
        let conf = netconf("0.3.1", &ipam(&dir.path(pool)));
        let out = run(&cni_env("ADD", "/var/run/netns/none", "net1"), conf.as_bytes());
        assert_eq!(out.error_code(), code, "{pool}: {out:?}");
        assert!(out.error_text().contains(needle), "{pool}: {}", out.error_text());
        assert!(out.stderr.contains("ADD failed"), "{pool}: stderr says what failed: {out:?}");
    }
}

#[test]
fn nic_errors() {
    if !needs_root("nic_errors") {
        return;
    }
    let pod = Pod::sample();
    let conf = pod.conf("0.3.1");
    let out = run(&cni_env("ADD", "/var/run/netns/no-such-netns-here", "net1"), conf.as_bytes());
    assert_eq!(out.error_code(), 3, "{out:?}");
    let out = pod.run("ADD", "net7", &conf);
    assert_eq!(out.error_code(), 103, "{out:?}");
    assert!(out.error_text().contains("net7"), "{}", out.error_text());
    // A tun device has no link-layer address at all.
    netns::ip(&["-n", &pod.netns.name, "tuntap", "add", "dev", "tun0", "mode", "tun"]);
    let out = pod.run("ADD", "tun0", &conf);
    assert_eq!(out.error_code(), 103, "{out:?}");
    // A CNI_NETNS that is not a netns.
    let not_ns = pod.dir.path("pool");
    let out = run(&cni_env("ADD", not_ns.to_str().unwrap(), "net1"), conf.as_bytes());
    assert_eq!(out.error_code(), 103, "{out:?}");
}

#[test]
fn env_errors_are_code_4() {
    let conf = netconf("0.3.1", r#"{"type":"azure-ipoib-ipam-cni"}"#);
    let full = cni_env("ADD", "/var/run/netns/x", "net1");
    // An unset CNI_COMMAND runs the operator CLI (tests/cli.rs); an empty one is a code-4 error.
    for missing in ["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"] {
        let mut env: Vec<_> = full.iter().copied().filter(|(k, _)| *k != missing).collect();
        if missing == "CNI_COMMAND" {
            env.push(("CNI_COMMAND", ""));
        }
        let out = run(&env, conf.as_bytes());
        assert_eq!(out.error_code(), 4, "{missing}");
        assert!(out.error_text().contains(missing), "{missing}: {}", out.error_text());
    }
    for (key, value) in [
        ("CNI_COMMAND", "BOGUS"),
        ("CNI_NETNS", "relative/netns"),
        ("CNI_IFNAME", "much-too-long-name"),
        ("CNI_CONTAINERID", "bad id"),
    ] {
        let mut env: Vec<_> = full.iter().copied().filter(|(k, _)| *k != key).collect();
        env.push((key, value));
        assert_eq!(run(&env, conf.as_bytes()).error_code(), 4, "{key}={value}");
    }
}

#[test]
fn config_errors() {
    let env = cni_env("ADD", "/var/run/netns/x", "net1");
    let cases: [(&str, u64); 9] = [
        ("", 6),
        ("not json", 6),
        (r#"{"cniVersion":"0.3.1","name":"n","ipam":{"#, 6),
        (r#"{"cniVersion":"0.3.1","name":"n"}"#, 7),
        (r#"{"cniVersion":"0.3.1","name":"n","ipam":{"prefixLength":"16"}}"#, 7),
        (r#"{"cniVersion":"0.3.1","name":"n","ipam":{"kvpPath":1}}"#, 7),
        (r#"{"cniVersion":"0.3.1","name":"n","ipam":{"lockTimeoutMs":true}}"#, 7),
        (r#"{"cniVersion":"0.3.1","name":"n","ipam":{"routes":"x"}}"#, 7),
        (r#"{"cniVersion":"2.0.0","name":"n","ipam":{}}"#, 1),
    ];
    for (stdin, code) in cases {
        assert_eq!(run(&env, stdin.as_bytes()).error_code(), code, "{stdin}");
    }
    let deep = "[".repeat(1_000_000);
    let out = run(&env, deep.as_bytes());
    assert_eq!(out.error_code(), 6);
    assert!(out.error_text().contains("deeper than 128"), "{}", out.error_text());
    let huge = vec![b' '; 10 << 20];
    let out = run(&env, &huge);
    assert_eq!(out.error_code(), 6);
    assert!(out.error_text().contains("larger than 4 MiB"), "{}", out.error_text());
}

#[test]
fn errors_answer_in_the_configs_version() {
    let out = run(&cni_env("ADD", "/var/run/netns/x", "net1"), br#"{"cniVersion":"0.3.1","name":"n"}"#);
    assert_eq!(out.json()["cniVersion"], "0.3.1");
}

#[test]
fn tolerant_decoding_of_what_host_device_passes() {
    if !needs_root("tolerant_decoding_of_what_host_device_passes") {
        return;
    }
    let pod = Pod::sample();
    let escaped_path = pod.dir.path("pool").display().to_string().replace('/', "\\/");
    let filler: String = (0..8000).map(|i| format!(r#""k{i}":{{"a":[1,2,{{"b":"\u00e9\"x"}}]}},"#)).collect();
    let conf = format!(
        r#"{{"cniVersion":"0.3.1","name":"hostdev-net","type":"host-device","device":"ib0",{filler}
        "deviceID":"0000:00:08.0","pciBusID":"0000:00:08.0",
        "runtimeConfig":{{"deviceID":"0101:00:00.0","ips":["x"]}},
        "args":{{"cni":{{"labels":[{{"k":"v"}}]}}}},
        "prevResult":{{"interfaces":[{{"name":"net1","mac":"00:15:5d:33:ff:0b","sandbox":"/x"}}],"ips":[]}},
        "ipam":{{"type":"azure-ipoib-ipam-cni","kvpPath":"{escaped_path}","unknown":{{"deep":[[[[null]]]]}}}}}}"#
    );
    // Past the binary's 256 KiB heap arena too, so its spill to the system allocator runs.
    assert!(conf.len() > 256 * 1024, "the config must be large: {}", conf.len());
    let out = pod.run("ADD", "net1", &conf);
    assert_eq!(out.exit, 0, "{out:?}");
    assert_eq!(out.json()["ips"][0]["address"], "172.16.1.2/16");
}

#[test]
fn the_minimal_ipam_section_uses_the_default_pool() {
    // `{"type": "azure-ipoib-ipam-cni"}` alone: the default kvpPath, which this machine may lack.
    let conf = netconf("0.3.1", r#"{"type":"azure-ipoib-ipam-cni"}"#);
    let out = run(&cni_env("ADD", "/var/run/netns/none", "net1"), conf.as_bytes());
    if std::path::Path::new("/var/lib/hyperv/.kvp_pool_0").exists() {
        return;
    }
    assert_eq!(out.error_code(), 11);
    assert!(out.error_text().contains("/var/lib/hyperv/.kvp_pool_0"), "{}", out.error_text());
}

/// Issue 13 item 7: the runtime, Multus and host-device read the config with Go's encoding/json,
/// so the plugin must read the same keys as they do: escapes decoded, case ignored, the last
/// duplicate winning. STATUS (1.1.0) shows which pool and version were read, without root: it
/// succeeds only with the good pool, and only when the version read is 1.1.0.
#[test]
fn keys_are_read_as_go_encoding_json_reads_them() {
    let dir = TempDir::new("go-keys");
    write_pool(&dir.path("good"), &[("IPoIB_Data", SAMPLE_VALUE)]);
    let (good, bad) = (dir.path("good").display().to_string(), dir.path("missing").display().to_string());
    let conf = |body: &str| format!(r#"{{"cniVersion":"1.1.0","name":"n",{body}}}"#);
    let ipam = |key: &str, path: &str| format!(r#""ipam":{{"type":"azure-ipoib-ipam-cni","{key}":"{path}"}}"#);
    let status_ok = [
        ("escaped key", conf(&ipam(r"kvp\u0050ath", &good))),
        ("upper-case key", conf(&ipam("KVPPATH", &good))),
        ("kelvin sign folds to k", conf(&ipam(r"\u212avpPath", &good))),
        ("escaped ipam", conf(&ipam("kvpPath", &good).replace(r#""ipam""#, r#""\u0069pam""#))),
        (
            "second IPAM wins",
            conf(&format!("{},{}", ipam("kvpPath", &bad), ipam("kvpPath", &good).replace("ipam", "IPAM"))),
        ),
        ("duplicate kvpPath", conf(&format!(r#""ipam":{{"kvpPath":"{bad}","kvpPath":"{good}"}}"#))),
        ("duplicate ipam", conf(&format!("{},{}", ipam("kvpPath", &bad), ipam("kvpPath", &good)))),
        ("duplicate name", conf(&format!(r#""name":"","name":"n",{}"#, ipam("kvpPath", &good)))),
        (
            "duplicate cniVersion",
            format!(r#"{{"cniVersion":"0.3.1","name":"n","cniVersion":"1.1.0",{}}}"#, ipam("kvpPath", &good)),
        ),
    ];
    for (case, stdin) in &status_ok {
        let out = run(&[("CNI_COMMAND", "STATUS")], stdin.as_bytes());
        assert_eq!((out.exit, out.stdout.as_str()), (0, ""), "{case}: {stdin}\n{out:?}");
    }
    // The same keys the other way round: the last one is the bad one, and it is the one read.
    let last_is_bad = [
        ("second ipam wins", conf(&format!("{},{}", ipam("kvpPath", &good), ipam("kvpPath", &bad))), 50),
        ("duplicate kvpPath", conf(&format!(r#""ipam":{{"kvpPath":"{good}","KvpPath":"{bad}"}}"#)), 50),
        ("duplicate name", conf(&format!(r#""name":"",{}"#, ipam("kvpPath", &good))), 7),
        (
            "duplicate cniVersion",
            format!(r#"{{"cniVersion":"1.1.0","name":"n","CNIVersion":"1.0.0",{}}}"#, ipam("kvpPath", &good)),
            1,
        ),
    ];
    for (case, stdin, code) in &last_is_bad {
        let out = run(&[("CNI_COMMAND", "STATUS")], stdin.as_bytes());
        assert_eq!(out.error_code(), *code, "{case}: {stdin}\n{out:?}");
    }
}
