//! What the cni-frontend fuzz targets check, as plain functions of the input bytes.
//!
//! Shared by the libFuzzer targets `fuzz_targets/{netconf,netlink_reply}.rs`
//! (`#[path = "../frontend_checks.rs"] mod frontend_checks;`) and by
//! `tests/fuzz_corpus_frontend.rs`, which replays the committed corpora and regressions on stable
//! `cargo test`. So this file uses std and cni-frontend only, never libfuzzer-sys. Nothing the
//! frontend is given may make it panic; the asserts here are the properties beyond that, and a
//! failed one panics, which both harnesses report as a crash.
// Each fuzz target uses one of these functions.
#![allow(dead_code)]

use cni_frontend::cni::netconf::{self, NetConf, MAX_LOCK_TIMEOUT_MS, MAX_ROUTES};
use cni_frontend::cni::version::SUPPORTED;
use cni_frontend::cni::{json, AllowedDirs, CniError, Code};
use cni_frontend::netlink::{
    build_getlink_request, parse_getlink_reply, NetlinkError, ARPHRD_INFINIBAND, GETLINK_REQUEST_MAX_LEN, IFLA_ADDRESS,
    NLMSG_HDRLEN, RTA_HDRLEN,
};

/// Configs the plugin must accept, in the shapes runtimes send. Fuzz input is spliced into them
/// as the value of a field the plugin does not know, which must change nothing.
pub const KNOWN_GOOD: [&str; 5] = [
    // What network-operator's HostDeviceNetwork renders, as host-device passes it on.
    r#"{"cniVersion":"0.3.1","name":"hostdev-net","type":"host-device","device":"ib0","pciBusID":"0000:00:08.0","ipam":{"type":"azure-ipoib-ipam-cni"}}"#,
    // The minimal ipam section, no version (0.1.0).
    r#"{"name":"n","ipam":{}}"#,
    // Every ipam key, routes in both families.
    r#"{"cniVersion":"1.1.0","name":"n","ipam":{"type":"azure-ipoib-ipam-cni","kvpPath":"/var/lib/hyperv/.kvp_pool_1","prefixLength":24,"lockTimeoutMs":0,"routes":[{"dst":"10.0.0.0/8","gw":"172.16.0.1"},{"dst":"fd00::/8","mtu":9000,"scope":253}]}}"#,
    // CHECK's input: a prevResult and Multus's runtimeConfig.
    r#"{"cniVersion":"1.0.0","name":"n","runtimeConfig":{"deviceID":"0101:00:00.0"},"prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"net1"}],"ips":[{"address":"172.16.1.2/16","interface":0}]},"ipam":{"type":"azure-ipoib-ipam-cni"}}"#,
    // Escapes in the strings the plugin reads.
    r#"{"cniVersion":"0.4.0","name":"n\u00e9","deviceID":"0000:00:08.0","ipam":{"type":"azure-ipoib-ipam-cni","kvpPath":"\/var\/lib\/hyperv\/.kvp_pool_0"}}"#,
];

/// Longest msg + details a decode error may have: errors name fields and rules, and echo at most
/// 32 bytes of input (an unsupported cniVersion), so they can be logged whatever the input.
const MAX_ERROR_TEXT: usize = 512;

/// `json::validate` and `netconf::decode` (with the default directories) on any bytes: no panic;
/// whatever decodes names paths beneath those directories only; a config that is valid JSON is
/// never a decode error (code 6); what decodes is within the documented limits; an error is a
/// short, valid error JSON; and fuzz input spliced into a known-good config as an unknown field
/// (a string, or any JSON value) leaves it decoding to the same config.
pub fn netconf(data: &[u8]) {
    let valid = json::validate(data);
    let decoded = netconf::decode(data, &AllowedDirs::defaults());
    match &decoded {
        Ok(conf) => {
            assert!(valid.is_ok(), "decoded what validate rejects: {valid:?}");
            check_conf(conf);
            // What VERSION and error replies answer in agrees with what the commands use.
            match netconf::declared_version(data) {
                Some(version) => assert_eq!(version, conf.cni_version),
                None => assert_eq!(conf.cni_version, SUPPORTED[0], "no declared version must mean 0.1.0"),
            }
            let _ = netconf::prev_result_addresses(conf);
        }
        Err(e) => {
            if valid.is_ok() {
                assert_ne!(e.code, Code::Decode, "valid JSON reported as undecodable: {e}");
            }
            check_error(e);
        }
    }
    match json::Value::parse(data) {
        Ok(value) => read_every_way(value, 0),
        Err(e) => assert_eq!(Err(e), valid, "Value::parse and validate disagree"),
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = json::unescape(text);
        let _ = json::fold(text);
    }
    splice_into_known_good(data);
}

/// Reads `value` as every type a decoder may ask for, and its children (a few per level) the
/// same way: no panic, and an object's keys fold to lower case.
fn read_every_way(value: json::Value<'_>, depth: usize) {
    let _ = (value.str(), value.u32());
    if let Some(elements) = value.elements() {
        elements.take(8).for_each(|element| read_every_way(element, depth + 1));
    }
    if let Some(fields) = value.fields() {
        for (key, field) in fields.take(8) {
            assert!(key.as_deref().is_none_or(|k| !k.chars().any(|c| c.is_ascii_uppercase())), "{key:?} is not folded");
            read_every_way(field, depth + 1);
        }
    }
    assert!(depth <= json::MAX_DEPTH);
}

/// The decoded config obeys the limits decode promises.
fn check_conf(conf: &NetConf<'_>) {
    assert!(SUPPORTED.contains(&conf.cni_version));
    assert!(beneath(&conf.ipam.kvp_path, "/var/lib/hyperv/"), "{:?}", conf.ipam.kvp_path);
    assert!((1..=128).contains(&conf.ipam.prefix_length));
    assert!(conf.ipam.lock_timeout.as_millis() <= u128::from(MAX_LOCK_TIMEOUT_MS));
    assert!(conf.ipam.routes.len() <= MAX_ROUTES);
    for route in &conf.ipam.routes {
        assert!(route.dst.1 <= if route.dst.0.is_ipv4() { 32 } else { 128 });
    }
    if let Some(device) = &conf.device_id {
        assert!(!device.is_empty());
    }
    if let Some(log_file) = &conf.ipam.log_file {
        assert!(beneath(log_file, "/var/log/azure-ipoib-ipam-cni/"), "{log_file:?}");
    }
}

/// `path` lies beneath `dir` (which ends in `/`) by its spelling: no `..`, no NUL.
fn beneath(path: &str, dir: &str) -> bool {
    let rest = path.strip_prefix(dir.trim_end_matches('/')).unwrap_or("");
    rest.starts_with('/') && rest.len() > 1 && !rest.split('/').any(|c| c == "..") && !path.contains('\0')
}

/// An error is short, has a message, and its JSON is valid JSON.
fn check_error(e: &CniError) {
    assert!(!e.msg.is_empty());
    assert!(e.msg.len() + e.details.len() <= MAX_ERROR_TEXT, "error echoes too much: {e}");
    assert!(!matches!(e.code, Code::Io), "decode does no I/O: {e}");
    for version in SUPPORTED {
        let wire = e.to_json(version.as_str());
        assert_eq!(json::validate(&wire), Ok(()), "error JSON is not JSON: {}", String::from_utf8_lossy(&wire));
    }
}

/// Splices `data` into each known-good config as the value of an unknown field, at the top level
/// and inside `ipam`: as a string when `data` is a valid JSON string body (the plain case: UTF-8
/// without `"`, `\` or control characters), and as a raw value when `data` is any JSON value.
/// Whenever the result is valid JSON, it must decode to the same config as the original.
fn splice_into_known_good(data: &[u8]) {
    let plain = std::str::from_utf8(data).is_ok_and(|t| !t.chars().any(|c| c == '"' || c == '\\' || c < ' '));
    let quoted = [b"\"", data, b"\""].concat();
    let as_string = json::validate(&quoted).is_ok();
    assert!(!plain || as_string, "validate rejects a plain string body");
    let as_value = json::validate(data).is_ok();
    if !as_string && !as_value {
        return;
    }
    for good in KNOWN_GOOD {
        let base = netconf::decode(good.as_bytes(), &AllowedDirs::defaults())
            .unwrap_or_else(|e| panic!("known-good config fails: {e}: {good}"));
        let inside_ipam = good.find("\"ipam\":{").map(|i| i + "\"ipam\":{".len());
        for at in [Some(1), inside_ipam].into_iter().flatten() {
            for value in [as_string.then_some(quoted.as_slice()), as_value.then_some(data)].into_iter().flatten() {
                // The unknown field goes first; a known-good object always has members after it.
                let spliced =
                    [&good.as_bytes()[..at], b"\"fuzzUnknownField\":", value, b",", &good.as_bytes()[at..]].concat();
                if json::validate(&spliced).is_err() {
                    // Only nesting can do that: the value was fine on its own.
                    continue;
                }
                match netconf::decode(&spliced, &AllowedDirs::defaults()) {
                    Ok(conf) => {
                        assert_eq!(conf.cni_version, base.cni_version);
                        assert_eq!(conf.ipam, base.ipam);
                        assert_eq!(conf.device_id, base.device_id);
                    }
                    Err(e) => panic!(
                        "an unknown field broke a good config: {e}\nconfig: {}",
                        String::from_utf8_lossy(&spliced)
                    ),
                }
            }
        }
    }
}

/// `parse_getlink_reply` on any bytes. The input is a 4-byte sequence number (native order; fewer
/// bytes give 0) followed by the received buffer, which is parsed for that sequence number and
/// for the one in its first header. No panic; an address is an `IFLA_ADDRESS` payload inside the
/// buffer; error offsets lie within it; and a request is never mistaken for an answer.
pub fn netlink_reply(data: &[u8]) {
    let (seq, buf) = match data.split_first_chunk::<4>() {
        Some((seq, buf)) => (u32::from_ne_bytes(*seq), buf),
        None => (0, data),
    };
    let header_seq = buf.get(8..12).and_then(|b| b.try_into().ok()).map(u32::from_ne_bytes);
    for seq in [Some(seq), header_seq].into_iter().flatten() {
        check_reply(buf, seq);
    }

    // A GETLINK request, named by the input, parses as no answer at all.
    let name: String = buf.iter().take(15).map(|&b| char::from(b'a' + b % 26)).collect();
    let mut request = [0u8; GETLINK_REQUEST_MAX_LEN];
    match build_getlink_request(&mut request, &name, seq) {
        Ok(request) => assert_eq!(parse_getlink_reply(request, seq), Err(NetlinkError::NoLink)),
        Err(e) => assert!(name.is_empty(), "a valid name was refused: {e}"),
    }
}

fn check_reply(buf: &[u8], seq: u32) {
    let result = parse_getlink_reply(buf, seq);
    let _ = result.map_err(|e| e.to_string());
    match result {
        Ok(reply) => {
            let start = (reply.address.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
            assert!(start <= buf.len() && reply.address.len() <= buf.len() - start, "address is not inside the buffer");
            // It is the payload of an IFLA_ADDRESS attribute after a message header.
            assert!(start >= NLMSG_HDRLEN + RTA_HDRLEN, "address at {start}");
            let header = &buf[start - RTA_HDRLEN..start];
            let attr_len = u16::from_ne_bytes([header[0], header[1]]);
            let attr_kind = u16::from_ne_bytes([header[2], header[3]]);
            assert_eq!(usize::from(attr_len), RTA_HDRLEN + reply.address.len());
            assert_eq!(attr_kind & 0x3fff, IFLA_ADDRESS);
            // Only an InfiniBand link with a lower link other than itself is an IPoIB child.
            if let Some(parent) = reply.ipoib_parent() {
                assert_eq!(reply.link_type, ARPHRD_INFINIBAND);
                assert_eq!(reply.lower_index, Some(parent));
                assert_ne!(parent, reply.index);
            }
        }
        Err(NetlinkError::Malformed { offset, .. }) => assert!(offset <= buf.len(), "offset {offset} of {}", buf.len()),
        Err(NetlinkError::Kernel { errno }) => assert_ne!(errno, 0, "errno 0 is an acknowledgement"),
        Err(NetlinkError::NoLink | NetlinkError::NoAddress) => {}
        Err(e @ (NetlinkError::InvalidIfname | NetlinkError::BufferTooSmall { .. })) => {
            panic!("parsing cannot fail with {e:?}")
        }
    }
}
