//! Bad input, one table row each, run through the built plugin: the environment, stdin, the pool
//! file, the `IPoIB_Data` value and the NIC. Every row asserts the exact CNI code (exit status 1,
//! the error JSON on stdout with `cniVersion`, `code` and `msg`), a message that says what to fix,
//! no panic, and no pool content in the output beyond the `IPoIB_Data` key and the NIC's own MAC:
//! every pool holds sentinel strings in its other records and in the other pairs, and none of
//! them may appear on stdout or stderr.
//!
//! Rows that need a network namespace (the NIC stage) need root; CI runs them as root and fails if
//! it cannot. The plugin checks the pool before it looks up the NIC, so every pool and
//! `IPoIB_Data` row runs without root against a netns path that does not exist.
//!
//! An unreadable pool cannot be made with `chmod 000` when the tests run as root (root reads it
//! anyway), so the "cannot open" row uses a path under a regular file (`ENOTDIR`) instead, which
//! takes the same path through the plugin (open fails with an errno other than `ENOENT`).
// Test code: indexing, unwrapping and panicking are how a test fails (the workspace lints deny
// them in library code only).
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use ipoib_test_support::netns::{self, Netns};
use ipoib_test_support::plugin::*;
use ipoib_test_support::root::needs_root;
use kvp_core::{encode_record, RawRecord, KEY_LEN, RECORD_LEN, VALUE_LEN};

/// The NIC the root rows look up, and its pair.
const NIC_MAC: &str = "00:15:5d:33:ff:0b";
const NIC_PAIR: &str = "00155D33FF0B:172.16.1.2";
/// The NIC's address: in an error only where the error is about it (CHECK, prefixLength).
const NIC_IP: &str = "172.16.1.2";
/// Other pairs, all made of sentinel text.
const PAIR_1: &str = "AABBCC000001:10.213.47.1";
const PAIR_3: &str = "AABBCC000003:10.213.47.3";

/// Text planted in every pool outside what an error may mention. Compared ignoring case.
const SENTINELS: [&str; 7] = [
    "SentinelKeyQ7",
    "SENTINEL-VALUE-Z3",
    "SentinelHostK9",
    "SENTINEL-TRAILER-W2",
    "SENTINEL-PARTIAL-P4",
    "AABBCC00",   // every other pair's MAC
    "10.213.47.", // every other pair's address
];
/// The records around `IPoIB_Data` in every pool built from a value.
const BEFORE: [(&str, &str); 2] = [("SentinelKeyQ7", "SENTINEL-VALUE-Z3"), ("HostName", "SentinelHostK9")];
const AFTER: [(&str, &str); 1] = [("Trailer", "SENTINEL-TRAILER-W2")];

/// The netns path the non-root rows name: it does not exist, and they never get that far.
const NO_NETNS: &str = "/var/run/netns/bad-input-no-such-netns";

/// What lies at the config's `kvpPath`.
#[derive(Debug, Clone, Hash)]
enum Pool {
    /// A pool of the sentinel records and `IPoIB_Data` with this value.
    Value(Vec<u8>),
    /// These bytes, exactly.
    Bytes(Vec<u8>),
    /// Nothing.
    Missing,
    /// A directory.
    Dir,
    /// A FIFO (no writer: a blocking open would hang).
    Fifo,
    /// A symlink to itself (`ELOOP`).
    SymlinkLoop,
    /// A path outside the scratch directory, such as `/dev/zero`.
    Fixed(&'static str),
    /// A sparse regular file of this many bytes.
    Sparse(u64),
    /// A path under a regular file (`ENOTDIR`).
    UnderFile,
    /// A good pool held write-locked, as hv_kvp_daemon holds it while it rewrites.
    WriteLocked,
}

/// The network config on stdin.
#[derive(Debug, Clone, Hash)]
enum Stdin {
    /// A host-device config for `version` (none: no `cniVersion` member) with `top` members
    /// added and `ipam` members replacing or adding to the good ones.
    Conf { version: Option<&'static str>, top: Vec<String>, ipam: Vec<(&'static str, String)> },
    /// These bytes, exactly.
    Raw(Vec<u8>),
}

/// One bad input and what the plugin must answer.
#[derive(Debug, Clone)]
struct Row {
    name: &'static str,
    code: u64,
    /// Each must appear in msg + details.
    needles: Vec<String>,
    /// Must not appear anywhere in the output (beyond [`SENTINELS`]).
    forbid: Vec<String>,
    root: bool,
    command: &'static str,
    unset: Vec<&'static str>,
    set: Vec<(&'static str, String)>,
    stdin: Stdin,
    pool: Pool,
}

fn row(name: &'static str, code: u64, needle: &str) -> Row {
    Row {
        name,
        code,
        needles: vec![needle.to_string()],
        forbid: vec![NIC_IP.to_string()],
        root: false,
        command: "ADD",
        unset: Vec::new(),
        set: Vec::new(),
        stdin: Stdin::Conf { version: Some("0.3.1"), top: Vec::new(), ipam: Vec::new() },
        pool: Pool::Value(good_value()),
    }
}

impl Row {
    fn command(mut self, command: &'static str) -> Row {
        self.command = command;
        self
    }
    fn unset(mut self, key: &'static str) -> Row {
        self.unset.push(key);
        self
    }
    fn set(mut self, key: &'static str, value: &str) -> Row {
        self.set.push((key, value.to_string()));
        self
    }
    fn version(mut self, v: Option<&'static str>) -> Row {
        if let Stdin::Conf { version, .. } = &mut self.stdin {
            *version = v;
        }
        self
    }
    fn top(mut self, member: &str) -> Row {
        if let Stdin::Conf { top, .. } = &mut self.stdin {
            top.push(member.to_string());
        }
        self
    }
    fn ipam(mut self, key: &'static str, raw: &str) -> Row {
        if let Stdin::Conf { ipam, .. } = &mut self.stdin {
            ipam.push((key, raw.to_string()));
        }
        self
    }
    fn raw(mut self, bytes: impl Into<Vec<u8>>) -> Row {
        self.stdin = Stdin::Raw(bytes.into());
        self
    }
    fn pool(mut self, pool: Pool) -> Row {
        self.pool = pool;
        self
    }
    fn value(self, value: impl Into<Vec<u8>>) -> Row {
        self.pool(Pool::Value(value.into()))
    }
    fn needle(mut self, needle: &str) -> Row {
        self.needles.push(needle.to_string());
        self
    }
    fn allow_nic_ip(mut self) -> Row {
        self.forbid.retain(|f| f != NIC_IP);
        self
    }
    fn root(mut self) -> Row {
        self.root = true;
        self
    }

    /// What makes this input this input (everything but the name and the expectations).
    fn fingerprint(&self) -> u64 {
        let mut h = DefaultHasher::new();
        (self.command, &self.unset, &self.set, &self.stdin, &self.pool).hash(&mut h);
        h.finish()
    }
}

/// `NUMPAIRS:<n>|` and the pairs; `n` counts them.
fn value(pairs: &[&str]) -> String {
    let mut value = format!("NUMPAIRS:{}", pairs.len());
    for pair in pairs {
        value += "|";
        value += pair;
    }
    value
}

/// The good value: the NIC's pair between two sentinel pairs.
fn good_value() -> Vec<u8> {
    value(&[PAIR_1, NIC_PAIR, PAIR_3]).into_bytes()
}

/// A record whose fields are exactly these bytes (NULs and invalid UTF-8 allowed).
fn raw_record(key: &[u8], value: &[u8]) -> Vec<u8> {
    assert!(key.len() < KEY_LEN && value.len() < VALUE_LEN);
    let mut record = vec![0u8; RECORD_LEN];
    record[..key.len()].copy_from_slice(key);
    record[KEY_LEN..][..value.len()].copy_from_slice(value);
    record
}

/// The sentinel records with `IPoIB_Data` = `value` between them.
fn pool_with_value(value: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (key, val) in BEFORE {
        bytes.extend(pool_bytes(&[(key, val)]));
    }
    let mut record = RawRecord::zeroed();
    encode_record(b"IPoIB_Data", value, &mut record).expect("encodable IPoIB_Data");
    bytes.extend(record.as_bytes());
    for (key, val) in AFTER {
        bytes.extend(pool_bytes(&[(key, val)]));
    }
    bytes
}

/// A value of exactly 2047 bytes (the longest a record holds): the NIC's pair, sentinel pairs,
/// and a last sentinel pair whose address is `last_ip(room)`, text of exactly the `room` bytes
/// left (or `None` if it cannot be that long). Returns the value and its number of pairs.
fn value_of_2047_bytes(last_ip: impl Fn(usize) -> Option<String>) -> (String, usize) {
    for others in (1..120).rev() {
        let mut pairs = vec![NIC_PAIR.to_string()];
        pairs.extend((1..=others).map(|i| format!("AABBCC00{i:04X}:10.213.47.{}", i % 250)));
        let count = pairs.len() + 1;
        let prefix = format!("NUMPAIRS:{count}|{}|AABBCC00FFFF:", pairs.join("|"));
        let Some(room) = (VALUE_LEN - 1).checked_sub(prefix.len()) else { continue };
        if let Some(ip) = last_ip(room) {
            let value = prefix + &ip;
            assert_eq!(value.len(), VALUE_LEN - 1);
            return (value, count);
        }
    }
    panic!("no 2047-byte value");
}

/// Address text of exactly `room` bytes that is not an address: `10.213.47.999…`.
fn bad_ip_of_len(room: usize) -> Option<String> {
    (room > 10).then(|| "10.213.47.".to_string() + &"9".repeat(room - 10))
}

/// IPv6 text of exactly `len` bytes (15 to 39): `0:0:0:0:0:0:0:1` with leading zeros added.
fn ipv6_of_len(len: usize) -> Option<String> {
    if !(15..=39).contains(&len) {
        return None;
    }
    let mut groups = vec![1usize; 8];
    let mut extra = len - 15;
    for g in &mut groups {
        let add = extra.min(3);
        *g += add;
        extra -= add;
    }
    let text: Vec<String> = groups.iter().enumerate().map(|(i, &w)| format!("{:0w$x}", usize::from(i == 7))).collect();
    Some(text.join(":"))
}

fn rows() -> Vec<Row> {
    let missing = |command: &'static str, var: &'static str| {
        let needle = format!("CNI_COMMAND={command} needs {var}");
        let name: &'static str = Box::leak(format!("{}_without_{}", command.to_lowercase(), var.to_lowercase()).into());
        let version = if command == "GC" { "1.1.0" } else { "0.4.0" };
        row(name, 4, &needle).command(command).unset(var).version(Some(version))
    };
    let (long_bad_value, long_bad_pair) = value_of_2047_bytes(bad_ip_of_len);
    let routes_65 = format!("[{}]", vec![r#"{"dst":"10.0.0.0/8"}"#; 65].join(","));
    let mut nul_in_key = Vec::new();
    nul_in_key.extend(pool_bytes(&BEFORE));
    nul_in_key.extend(raw_record(b"IPoIB\0_Data", &good_value()));
    nul_in_key.extend(pool_bytes(&AFTER));
    let mut partial = b"IPoIB_Data\0SENTINEL-PARTIAL-P4".to_vec();
    partial.resize(100, 0);
    let mut records_then_partial = pool_bytes(&BEFORE);
    records_then_partial.extend(&partial);
    let ten_mb = {
        let mut conf = netconf("0.3.1", r#"{"type":"azure-ipoib-ipam-cni"}"#).into_bytes();
        conf.resize(10 << 20, b' ');
        conf
    };

    vec![
        // --- environment: code 4, naming the variable and the command that needs it
        missing("ADD", "CNI_CONTAINERID"),
        missing("ADD", "CNI_NETNS"),
        missing("ADD", "CNI_IFNAME"),
        missing("CHECK", "CNI_CONTAINERID"),
        missing("CHECK", "CNI_NETNS"),
        missing("CHECK", "CNI_IFNAME"),
        missing("DEL", "CNI_CONTAINERID"),
        missing("DEL", "CNI_IFNAME"),
        missing("GC", "CNI_PATH"),
        // Unset, CNI_COMMAND makes the binary the operator CLI (tests/cli.rs); empty is still an error.
        row("empty_command", 4, "set CNI_COMMAND to ADD, DEL, CHECK, VERSION, STATUS or GC").set("CNI_COMMAND", ""),
        row("unknown_command", 4, "unknown CNI_COMMAND \"FROB\"")
            .set("CNI_COMMAND", "FROB")
            .needle("expected ADD, DEL"),
        row("lower_case_command", 4, "unknown CNI_COMMAND \"add\"").set("CNI_COMMAND", "add"),
        row("relative_netns", 4, "CNI_NETNS must be an absolute path").set("CNI_NETNS", "var/run/netns/x"),
        row("ifname_too_long", 4, "CNI_IFNAME is longer than 15 bytes").set("CNI_IFNAME", "sixteen-bytes-xx"),
        row("ifname_with_slash", 4, "may not contain '/', ':' or whitespace").set("CNI_IFNAME", "net/1"),
        row("container_id_bad_characters", 4, "only letters, digits, '_', '.' and '-'").set("CNI_CONTAINERID", "-c1"),
        // --- stdin: syntax is code 6, wrong fields code 7, versions code 1
        row("empty_stdin", 6, "no network config on stdin").raw(""),
        row("whitespace_stdin", 6, "must pass the network config as JSON on stdin").raw(" \n\t "),
        row("not_json", 6, "not valid JSON: unexpected character at byte 0").raw("cniVersion=1.0.0"),
        row("truncated", 6, "input ends inside a value")
            .raw(&br#"{"cniVersion":"0.3.1","name":"n","ipam":{"type":"#[..]),
        row("trailing_bytes", 6, "unexpected data after the JSON value").raw(r#"{"name":"n","ipam":{}} {}"#),
        row("invalid_utf8_in_string", 6, "invalid string").raw(&b"{\"name\":\"n\xff\",\"ipam\":{}}"[..]),
        row("nested_10_000_deep", 6, "nesting is deeper than 128 levels")
            .raw(r#"{"a":"#.repeat(10_000) + "1" + &"}".repeat(10_000)),
        row("nested_1_000_000_deep", 6, "nesting is deeper than 128 levels")
            .raw("[".repeat(1_000_000) + &"]".repeat(1_000_000)),
        row("ten_megabytes", 6, "larger than 4 MiB").raw(ten_mb),
        row("del_with_garbage", 6, "not valid JSON").command("DEL").raw("\u{1}\u{2}"),
        row("not_an_object", 7, "network config must be a JSON object").raw(r#"["cniVersion","0.3.1"]"#),
        row("no_name", 7, "every CNI network config needs a non-empty name").raw(r#"{"cniVersion":"0.3.1","ipam":{}}"#),
        row("no_ipam", 7, r#"add "ipam": {"type": "azure-ipoib-ipam-cni"}"#)
            .raw(r#"{"cniVersion":"0.3.1","name":"n"}"#),
        row("ipam_not_an_object", 7, "ipam must be an object").raw(r#"{"cniVersion":"0.3.1","name":"n","ipam":[]}"#),
        // A repeated key is no error (the last one counts, as in Go), so this is a bad last `ipam`.
        row("duplicate_key_last_one_counts", 7, "ipam must be an object").raw(r#"{"name":"n","ipam":{},"ipam":[]}"#),
        row("cni_version_not_a_string", 7, "cniVersion must be a string")
            .raw(r#"{"cniVersion":1.0,"name":"n","ipam":{}}"#),
        row("ipam_type_not_a_string", 7, "ipam.type must be a string").ipam("type", "42"),
        row("kvp_path_not_a_string", 7, "ipam.kvpPath must be a string holding an absolute path")
            .ipam("kvpPath", "[\"/p\"]"),
        row("kvp_path_relative", 7, "ipam.kvpPath must be an absolute path without NUL bytes")
            .ipam("kvpPath", r#""var/lib/hyperv/.kvp_pool_0""#),
        row("kvp_path_with_nul", 7, "ipam.kvpPath must be an absolute path without NUL bytes")
            .ipam("kvpPath", r#""/var/lib/hyperv/\u0000""#),
        row("prefix_length_a_string", 7, "ipam.prefixLength must be an integer from 1 to 32")
            .ipam("prefixLength", r#""16""#),
        row("prefix_length_zero", 7, "ipam.prefixLength must be an integer from 1 to 32").ipam("prefixLength", "0"),
        row("prefix_length_over_u8", 7, "ipam.prefixLength must be an integer from 1 to 32")
            .ipam("prefixLength", "300"),
        row("prefix_length_over_128", 7, "ipam.prefixLength must be an integer from 1 to 32")
            .ipam("prefixLength", "129"),
        row("lock_timeout_a_bool", 7, "ipam.lockTimeoutMs must be an integer number of milliseconds")
            .ipam("lockTimeoutMs", "true"),
        row("lock_timeout_negative", 7, "ipam.lockTimeoutMs must be an integer").ipam("lockTimeoutMs", "-1"),
        row("lock_timeout_over_a_minute", 7, "from 0 to 60000").ipam("lockTimeoutMs", "60001"),
        row("routes_a_string", 7, "ipam.routes must be an array of at most 64 objects")
            .ipam("routes", r#""10.0.0.0/8""#),
        row("routes_65", 7, "ipam.routes must be an array of at most 64 objects").ipam("routes", &routes_65),
        row("route_without_dst", 7, "ipam.routes must be an array").ipam("routes", r#"[{"gw":"10.0.0.1"}]"#),
        row("route_dst_not_cidr", 7, "ipam.routes[0].dst must be a CIDR").ipam("routes", r#"[{"dst":"10.0.0.0/33"}]"#),
        row("route_gw_not_an_ip", 7, "ipam.routes[1].gw must be an IP address")
            .ipam("routes", r#"[{"dst":"10.0.0.0/8"},{"dst":"0.0.0.0/0","gw":"gateway"}]"#),
        row("runtime_config_device_id_a_number", 7, "runtimeConfig must be an object whose \"deviceID\" is a string")
            .top(r#""runtimeConfig":{"deviceID":8}"#),
        row("unknown_cni_version", 1, "unsupported cniVersion \"9.9.9\"")
            .version(Some("9.9.9"))
            .needle("supported versions: 0.1.0"),
        row("empty_cni_version", 1, "unsupported cniVersion \"\"").version(Some("")),
        row("check_in_0_3_1", 1, "CHECK exists from cniVersion 0.4.0")
            .command("CHECK")
            .top(r#""prevResult":{"ips":[{"address":"172.16.1.2/16"}]}"#),
        row("check_in_0_1_0_by_default", 1, "CHECK is not defined for cniVersion 0.1.0").command("CHECK").version(None),
        row("status_in_1_0_0", 1, "STATUS exists from cniVersion 1.1.0").command("STATUS").version(Some("1.0.0")),
        row("gc_in_0_4_0", 1, "GC exists from cniVersion 1.1.0").command("GC").version(Some("0.4.0")),
        row("check_without_prev_result", 7, "CHECK needs a prevResult").command("CHECK").version(Some("0.4.0")),
        row("check_prev_result_ips_bad", 7, "prevResult.ips must be an array")
            .command("CHECK")
            .version(Some("1.0.0"))
            .top(r#""prevResult":{"ips":[{"address":"172.16.1.2"}]}"#),
        // --- the pool file: 11 when it is not ready yet, 102 when it can never be a pool
        row("pool_missing", 11, "hv_kvp_daemon (package hyperv-daemons) creates it")
            .pool(Pool::Missing)
            .needle("does not exist"),
        row("pool_empty", 11, "is empty").pool(Pool::Bytes(Vec::new())).needle("has not pushed KVP data"),
        row("pool_directory", 102, "is a directory, not a regular file")
            .pool(Pool::Dir)
            .needle("ipam.kvpPath must name hv_kvp_daemon's pool file"),
        row("pool_fifo", 102, "is a FIFO, not a regular file").pool(Pool::Fifo),
        row("pool_symlink_loop", 7, "has a symlink on its path")
            .pool(Pool::SymlinkLoop)
            .needle("no symlink is followed"),
        row("pool_dev_zero", 102, "/dev/zero is a device, not a regular file").pool(Pool::Fixed("/dev/zero")),
        row("pool_over_1024_records", 102, "more than the 2621440 of 1024 records")
            .pool(Pool::Sparse(1025 * RECORD_LEN as u64)),
        row("pool_path_under_a_file", 102, "Not a directory").pool(Pool::UnderFile).needle("check the path"),
        row("pool_partial_record_only", 11, "holds no whole record (100 bytes)").pool(Pool::Bytes(partial)),
        row("pool_records_then_partial_no_ipoib_data", 11, "has no IPoIB_Data record")
            .pool(Pool::Bytes(records_then_partial)),
        row("pool_nul_in_key", 11, "has no IPoIB_Data record")
            .pool(Pool::Bytes(nul_in_key))
            .needle("publishes it on InfiniBand VM sizes"),
        row("pool_without_ipoib_data", 11, "has no IPoIB_Data record").pool(Pool::Bytes(pool_bytes(&BEFORE))),
        row("pool_write_locked", 11, "raise ipam.lockTimeoutMs")
            .pool(Pool::WriteLocked)
            .ipam("lockTimeoutMs", "20")
            .needle("stayed write-locked by its writer for 20 ms"),
        row("status_pool_missing", 50, "does not exist").command("STATUS").version(Some("1.1.0")).pool(Pool::Missing),
        row("status_pool_malformed", 50, "NUMPAIRS declares 4 pairs but 3 are present")
            .command("STATUS")
            .version(Some("1.1.0"))
            .value(value(&[PAIR_1, NIC_PAIR, PAIR_3]).replace("NUMPAIRS:3", "NUMPAIRS:4")),
        // --- IPoIB_Data: code 101, naming the pair and the defect, never the text
        row("value_invalid_utf8_in_ip", 101, "IPoIB_Data pair 2: address is not valid IPv4 or IPv6 text")
            .value(&b"NUMPAIRS:3|AABBCC000001:10.213.47.1|AABBCC000002:10.213.47.\xff|AABBCC000003:10.213.47.3"[..]),
        row("value_invalid_utf8_in_mac", 101, "IPoIB_Data pair 2: MAC has a non-hex character at offset 10")
            .value(&b"NUMPAIRS:3|AABBCC000001:10.213.47.1|AABBCC0000\xc3\xa9:10.213.47.2|AABBCC000003:10.213.47.3"[..]),
        row("value_cut_short_by_nul", 101, "NUMPAIRS declares 3 pairs but 1 are present").pool(Pool::Bytes({
            let mut bytes = pool_with_value(&good_value());
            let at = 2 * RECORD_LEN + KEY_LEN + value(&[PAIR_1]).len();
            bytes[at] = 0;
            bytes
        })),
        row("count_declares_more", 101, "NUMPAIRS declares 4 pairs but 3 are present")
            .value(value(&[PAIR_1, NIC_PAIR, PAIR_3]).replace("NUMPAIRS:3", "NUMPAIRS:4")),
        row("count_declares_fewer", 101, "NUMPAIRS declares 2 pairs but 3 are present")
            .value(value(&[PAIR_1, NIC_PAIR, PAIR_3]).replace("NUMPAIRS:3", "NUMPAIRS:2")),
        row("count_overflows_u32", 101, "count after NUMPAIRS: is not a 32-bit decimal number")
            .value(value(&[PAIR_1]).replace("NUMPAIRS:1", "NUMPAIRS:4294967297")),
        row("count_not_a_number", 101, "count after NUMPAIRS: is not a 32-bit decimal number")
            .value("NUMPAIRS:x|AABBCC000001:10.213.47.1"),
        row("numpairs_missing", 101, "IPoIB_Data: value does not start with NUMPAIRS:")
            .value("AABBCC000001:10.213.47.1"),
        row("numpairs_lower_case", 101, "does not start with NUMPAIRS:").value("numpairs:1|AABBCC000001:10.213.47.1"),
        row("mac_11_digits", 101, "IPoIB_Data pair 2: MAC must be 12 hex digits, found 11 characters").value(value(&[
            PAIR_1,
            "AABBCC00000:10.213.47.2",
            PAIR_3,
        ])),
        row("mac_13_digits", 101, "IPoIB_Data pair 2: MAC must be 12 hex digits, found 13 characters").value(value(&[
            PAIR_1,
            "AABBCC0000002:10.213.47.2",
            PAIR_3,
        ])),
        row("mac_with_colons", 101, "IPoIB_Data pair 2: MAC must be 12 hex digits, found 2 characters")
            .value(value(&[PAIR_1, "AA:BB:CC:00:00:02:10.213.47.2", PAIR_3])),
        row("mac_bad_digit", 101, "IPoIB_Data pair 3: MAC has a non-hex character at offset 9").value(value(&[
            PAIR_1,
            NIC_PAIR,
            "AABBCC000G03:10.213.47.3",
        ])),
        row("ip_bad_octet", 101, "IPoIB_Data pair 1: address is not valid IPv4 or IPv6 text").value(value(&[
            "AABBCC000001:10.213.47.256",
            NIC_PAIR,
            PAIR_3,
        ])),
        row("ip_bad_ipv6", 101, "IPoIB_Data pair 3: address is not valid IPv4 or IPv6 text").value(value(&[
            PAIR_1,
            NIC_PAIR,
            "AABBCC000003:fd00::10.213.47.3::1",
        ])),
        row("ip_empty", 101, "IPoIB_Data pair 2: address is not valid").value(value(&[
            PAIR_1,
            "AABBCC000002:",
            PAIR_3,
        ])),
        row("pair_without_colon", 101, "IPoIB_Data pair 2: no ':' between MAC and address").value(value(&[
            PAIR_1,
            "AABBCC000002-10.213.47.2",
            PAIR_3,
        ])),
        row("empty_pair", 101, "IPoIB_Data pair 2: empty pair between two '|'").value(value(&[PAIR_1, "", NIC_PAIR])),
        row("trailing_bar", 101, "IPoIB_Data pair 3: value ends with a trailing '|'")
            .value(value(&[PAIR_1, NIC_PAIR]) + "|"),
        row("value_of_2047_bytes_malformed", 101, &format!("IPoIB_Data pair {long_bad_pair}: address is not valid"))
            .value(long_bad_value),
        // --- the NIC (root): 3 when the netns is gone, 103 when the NIC cannot be read, 100 when
        // the host did not list it; what only the NIC stage can find
        row("netns_missing", 3, "netns /var/run/netns/bad-input-gone does not exist")
            .set("CNI_NETNS", "/var/run/netns/bad-input-gone")
            .root(),
        row("netns_not_a_netns", 103, "cannot enter netns").set("CNI_NETNS", "/dev/null").root(),
        // --- CNI_NETNS that is not a netns, refused before setns; the FIFO case, which used to
        // hang, is in hardening.rs under a deadline
        row("netns_a_directory", 103, "cannot enter netns /: it is a directory, not a network namespace")
            .set("CNI_NETNS", "/")
            .root(),
        row("netns_a_plain_file", 103, "it is a regular file, not a network namespace")
            .set("CNI_NETNS", "/proc/version")
            .root(),
        row("netns_a_socket", 103, "it is a socket, not a network namespace").set("CNI_NETNS", &socket_path()).root(),
        row("netns_of_another_type", 103, "cannot enter netns /proc/self/ns/uts: EINVAL")
            .set("CNI_NETNS", "/proc/self/ns/uts")
            .root(),
        row("netns_is_the_plugins_own", 8, "the plugin's netns and netns from CNI_NETNS should not be the same")
            .set("CNI_NETNS", "/proc/self/ns/net")
            .root(),
        row("link_missing", 103, "net7").set("CNI_IFNAME", "net7").needle("does not exist").root(),
        row("link_missing_and_pci_fallback_fails", 103, "fallback by PCI device 0000:99:00.0 failed too")
            .set("CNI_IFNAME", "net8")
            .top(r#""deviceID":"0000:99:00.0""#)
            .root(),
        row("link_without_address", 103, "tun0").set("CNI_IFNAME", "tun0").needle("has no hardware address").root(),
        row("nic_not_listed", 100, "IPoIB_Data has no pair for MAC 00155D33FF0B (2 pairs listed)")
            .value(value(&[PAIR_1, PAIR_3]))
            .needle("has not published it yet")
            .root(),
        row("nic_listed_twice", 101, "IPoIB_Data pair 3: MAC is listed more than once")
            .value(value(&[PAIR_1, NIC_PAIR, "00155d33ff0b:10.213.47.4"]))
            .root(),
        row("prefix_length_too_long_for_ipv4", 7, "which allows at most /32")
            .ipam("prefixLength", "33")
            .needle("ipam.prefixLength is 33")
            .allow_nic_ip()
            .root(),
        row("check_stale_prev_result", 104, "re-create the pod")
            .command("CHECK")
            .version(Some("1.0.0"))
            .top(r#""prevResult":{"ips":[{"address":"172.16.9.9/16"}]}"#)
            .needle("prevResult has 172.16.9.9/16")
            .allow_nic_ip()
            .root(),
    ]
}

/// A Unix socket file for the `netns_a_socket` row; the NIC-stage test binds it.
fn socket_path() -> String {
    std::env::temp_dir().join(format!("ipoib-bad-input-{}.sock", std::process::id())).display().to_string()
}

/// Where a row's pool lies, made ready; the returned file holds the write lock, if any.
fn materialise(pool: &Pool, dir: &Path) -> (PathBuf, Option<File>) {
    let path = dir.join("pool");
    let mut lock = None;
    match pool {
        Pool::Value(value) => std::fs::write(&path, pool_with_value(value)).unwrap(),
        Pool::Bytes(bytes) => std::fs::write(&path, bytes).unwrap(),
        Pool::Missing => {}
        Pool::Dir => std::fs::create_dir(&path).unwrap(),
        Pool::Fifo => nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap(),
        Pool::SymlinkLoop => std::os::unix::fs::symlink(&path, &path).unwrap(),
        Pool::Fixed(fixed) => return (PathBuf::from(fixed), None),
        Pool::Sparse(len) => File::create(&path).unwrap().set_len(*len).unwrap(),
        Pool::UnderFile => {
            std::fs::write(&path, pool_with_value(&good_value())).unwrap();
            return (path.join("pool"), None);
        }
        Pool::WriteLocked => {
            std::fs::write(&path, pool_with_value(&good_value())).unwrap();
            let writer = hold_write_lock(&path);
            lock = Some(writer);
        }
    }
    (path, lock)
}

/// The config a [`Stdin::Conf`] row sends, naming the pool at `pool`.
fn render(stdin: &Stdin, pool: &Path) -> Vec<u8> {
    let (version, top, ipam) = match stdin {
        Stdin::Raw(bytes) => return bytes.clone(),
        Stdin::Conf { version, top, ipam } => (version, top, ipam),
    };
    let mut members: Vec<(&str, String)> = vec![
        ("type", r#""azure-ipoib-ipam-cni""#.to_string()),
        ("kvpPath", format!("{:?}", pool.display().to_string())),
        ("lockTimeoutMs", "50".to_string()),
    ];
    for (key, raw) in ipam {
        match members.iter_mut().find(|(k, _)| k == key) {
            Some(member) => member.1 = raw.clone(),
            None => members.push((key, raw.clone())),
        }
    }
    let ipam: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    let version = version.map(|v| format!(r#""cniVersion":"{v}","#)).unwrap_or_default();
    let top: String = top.iter().map(|m| format!("{m},")).collect();
    format!(r#"{{{version}"name":"bad-input","type":"host-device","device":"ib0",{top}"ipam":{{{}}}}}"#, ipam.join(","))
        .into_bytes()
}

/// Runs `row` in `scratch` and returns what is wrong with the answer (nothing when it is right).
fn run_row(row: &Row, scratch: &Path, netns: &str) -> Vec<String> {
    let dir = scratch.join(row.name);
    std::fs::create_dir_all(&dir).unwrap();
    let (pool, _lock) = materialise(&row.pool, &dir);
    let stdin = render(&row.stdin, &pool);
    let mut env: Vec<(&str, String)> =
        cni_env(row.command, netns, "net1").into_iter().map(|(k, v)| (k, v.to_string())).collect();
    env.retain(|(k, _)| !row.unset.contains(k));
    for (key, value) in &row.set {
        env.retain(|(k, _)| k != key);
        env.push((key, value.clone()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = run(&env, &stdin);

    let mut problems = Vec::new();
    let mut problem = |text: String| problems.push(format!("{}: {text}", row.name));
    if out.exit != 1 {
        problem(format!("exit status {} (want 1; -1 is a signal)", out.exit));
    }
    if out.stderr.contains("panicked") {
        problem("panicked".into());
    }
    let all = format!("{}\n{}", out.stdout, out.stderr).to_lowercase();
    for leaked in SENTINELS.iter().map(|s| s.to_string()).chain(row.forbid.iter().cloned()) {
        if all.contains(&leaked.to_lowercase()) {
            problem(format!("output leaks {leaked:?}"));
        }
    }
    let json: serde_json::Value = match serde_json::from_str(&out.stdout) {
        Ok(json) => json,
        Err(e) => {
            problem(format!("stdout is not JSON ({e}): {out:?}"));
            return problems;
        }
    };
    if json["code"].as_u64() != Some(row.code) {
        problem(format!("code {} (want {}): {}", json["code"], row.code, out.stdout.trim()));
    }
    match json["cniVersion"].as_str() {
        Some(v) if VERSIONS.contains(&v) => {
            // The reply is in the config's version once the config has been read.
            if let Stdin::Conf { version: Some(declared), .. } = &row.stdin {
                if row.code != 4 && VERSIONS.contains(declared) && v != *declared {
                    problem(format!("answered in {v}, the config is {declared}"));
                }
            }
        }
        other => problem(format!("cniVersion {other:?}")),
    }
    if json["msg"].as_str().is_none_or(str::is_empty) {
        problem("no msg".into());
    }
    let text = out.error_text();
    for needle in &row.needles {
        if !text.contains(needle.as_str()) {
            problem(format!("message lacks {needle:?}: {text}"));
        }
    }
    if !out.stderr.contains(&format!(
        "{} failed (code {})",
        if row.code == 4 { "command" } else { row.command },
        row.code
    )) {
        problem(format!("stderr does not say what failed: {:?}", out.stderr));
    }
    problems
}

fn run_rows(rows: &[Row], netns: &str) {
    let scratch = TempDir::new("bad-input");
    let problems: Vec<String> = rows.iter().flat_map(|row| run_row(row, &scratch.0, netns)).collect();
    assert!(problems.is_empty(), "{} of {} rows failed:\n{}", problems.len(), rows.len(), problems.join("\n"));
}

#[test]
fn the_table_has_at_least_45_distinct_bad_inputs() {
    let rows = rows();
    let names: HashSet<&str> = rows.iter().map(|r| r.name).collect();
    assert_eq!(names.len(), rows.len(), "row names repeat");
    let prints: Vec<u64> = rows.iter().map(Row::fingerprint).collect();
    let inputs: HashSet<u64> = prints.iter().copied().collect();
    let same: Vec<&str> = rows
        .iter()
        .zip(&prints)
        .filter(|(_, p)| prints.iter().filter(|o| o == p).count() > 1)
        .map(|(r, _)| r.name)
        .collect();
    assert_eq!(inputs.len(), rows.len(), "rows with the same input: {same:?}");
    assert!(rows.len() >= 45, "{} rows", rows.len());
    let codes: HashSet<u64> = rows.iter().map(|r| r.code).collect();
    for code in [1, 3, 4, 6, 7, 11, 50, 100, 101, 102, 103, 104] {
        assert!(codes.contains(&code), "no row for code {code}");
    }
    assert!(rows.iter().filter(|r| !r.root).count() >= 45, "most rows must run without root");
}

#[test]
fn the_values_are_what_the_rows_say() {
    // The planted pool is good: only each row's one defect makes it bad.
    let dir = TempDir::new("bad-input-control");
    let path = dir.path("pool");
    std::fs::write(&path, pool_with_value(&good_value())).unwrap();
    let conf = netconf("1.1.0", &ipam(&path));
    run(&[("CNI_COMMAND", "STATUS")], conf.as_bytes()).assert_silent_success();
    let (long_bad, _) = value_of_2047_bytes(bad_ip_of_len);
    assert_eq!(long_bad.len(), 2047);
    let (long_good, _) = value_of_2047_bytes(ipv6_of_len);
    assert!(kvp_core::IpoibData::parse(long_good.as_bytes()).is_ok(), "{long_good}");
    assert_eq!(
        ipv6_of_len(39).unwrap().parse::<std::net::Ipv6Addr>().unwrap(),
        "::1".parse::<std::net::Ipv6Addr>().unwrap()
    );
}

#[test]
fn bad_input_without_root() {
    let rows: Vec<Row> = rows().into_iter().filter(|r| !r.root).collect();
    run_rows(&rows, NO_NETNS);
}

#[test]
fn bad_input_at_the_nic_stage() {
    if !needs_root("bad_input_at_the_nic_stage") {
        return;
    }
    let ns = Netns::new();
    ns.add_veth("net1", NIC_MAC);
    netns::ip(&["-n", &ns.name, "tuntap", "add", "dev", "tun0", "mode", "tun"]);
    let _ = std::fs::remove_file(socket_path());
    let socket = std::os::unix::net::UnixListener::bind(socket_path()).unwrap();
    let rows: Vec<Row> = rows().into_iter().filter(|r| r.root).collect();
    run_rows(&rows, &ns.path());
    drop(socket);
    let _ = std::fs::remove_file(socket_path());
}

/// Most bytes an answer may have when it echoes a huge outside value: the value's first 256
/// bytes, the cut mark, and the message around it.
const CAPPED_ANSWER: usize = 1024;

#[test]
fn echoed_outside_values_are_capped() {
    let dir = TempDir::new("bad-input-caps");
    let pool = dir.path("pool");
    std::fs::write(&pool, pool_with_value(&good_value())).unwrap();
    let huge_path = "/".to_string() + &"k".repeat(3 << 20);
    let long_netns = "/".to_string() + &"n".repeat(100 << 10);
    let long_ifname = "i".repeat(100 << 10);
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<u8>, u64);
    let cases: Vec<Case> = vec![
        (
            "3 MiB kvpPath",
            cni_env("ADD", NO_NETNS, "net1"),
            netconf("1.0.0", &format!(r#"{{"type":"azure-ipoib-ipam-cni","kvpPath":"{huge_path}"}}"#)).into_bytes(),
            102,
        ),
        ("100 KiB CNI_NETNS", cni_env("ADD", &long_netns, "net1"), netconf("1.0.0", &ipam(&pool)).into_bytes(), 103),
        ("100 KiB CNI_IFNAME", cni_env("ADD", NO_NETNS, &long_ifname), netconf("1.0.0", &ipam(&pool)).into_bytes(), 4),
    ];
    for (what, env, stdin, code) in cases {
        let out = run(&env, &stdin);
        assert_eq!(out.error_code(), code, "{what}: {}", &out.stdout[..out.stdout.len().min(500)]);
        assert!(out.stdout.len() < CAPPED_ANSWER, "{what}: {} bytes on stdout", out.stdout.len());
        assert!(out.stderr.len() < CAPPED_ANSWER, "{what}: {} bytes on stderr", out.stderr.len());
        assert!(out.error_text().contains(" bytes)"), "{what}: the cut is not marked: {}", out.stdout);
    }
}

#[test]
fn a_2047_byte_value_that_is_valid_is_not_bad_input() {
    if !needs_root("a_2047_byte_value_that_is_valid_is_not_bad_input") {
        return;
    }
    let ns = Netns::new();
    ns.add_veth("net1", NIC_MAC);
    let dir = TempDir::new("bad-input-2047");
    let path = dir.path("pool");
    let (value, pairs) = value_of_2047_bytes(ipv6_of_len);
    std::fs::write(&path, pool_with_value(value.as_bytes())).unwrap();
    let out = run(&cni_env("ADD", &ns.path(), "net1"), netconf("1.0.0", &ipam(&path)).as_bytes());
    assert_eq!(out.exit, 0, "{pairs} pairs: {out:?}");
    assert_eq!(out.json()["ips"][0]["address"], "172.16.1.2/16");
    let all = out.stdout.to_lowercase() + &out.stderr.to_lowercase();
    for sentinel in SENTINELS {
        assert!(!all.contains(&sentinel.to_lowercase()), "leaks {sentinel}: {out:?}");
    }
}
