//! The network config on stdin, decoded without a heap on the common path.
//!
//! The plugin sees the whole config its parent (host-device) was given: `type: host-device`,
//! `device`, `runtimeConfig`, `args`, `prevResult`, Multus's top-level `deviceID`/`pciBusID` and
//! whatever else. Only a handful of fields matter here; everything else is skipped.
//!
//! Decoding is three steps: [`json::validate`] (syntax and nesting depth → code 6),
//! serde-json-core into borrowed wire structs (fast path), and, only when that fails,
//! [`diagnose`] to name the field with the wrong type (code 7).

use std::borrow::Cow;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::error::{CniError, Code};
use super::json;
use super::version::{CniVersion, SUPPORTED};

/// Where hv_kvp_daemon keeps pool 0 (host → guest data).
pub const DEFAULT_KVP_PATH: &str = "/var/lib/hyperv/.kvp_pool_0";
/// The prefix length Azure's agent and the Go plugin assume.
pub const DEFAULT_PREFIX_LENGTH: u8 = 16;
/// How long to wait for hv_kvp_daemon's write lock to clear.
pub const DEFAULT_LOCK_TIMEOUT_MS: u32 = 2000;
/// Longest lock wait a config may ask for.
pub const MAX_LOCK_TIMEOUT_MS: u32 = 60_000;
/// Most routes a config may list.
pub const MAX_ROUTES: usize = 64;

/// The parts of the network config this plugin uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetConf<'a> {
    /// The config's `cniVersion` (0.1.0 when absent, as libcni assumes).
    pub cni_version: CniVersion,
    /// The `ipam` section.
    pub ipam: IpamConf<'a>,
    /// The NIC's PCI address, for the sysfs fallback: `runtimeConfig.deviceID`, else Multus's
    /// top-level `deviceID` or `pciBusID`.
    pub device_id: Option<Cow<'a, str>>,
    /// The raw config, for the parts only one command needs (`prevResult` for CHECK).
    pub raw: &'a [u8],
}

/// The `ipam` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpamConf<'a> {
    /// `kvpPath`: the pool file.
    pub kvp_path: Cow<'a, str>,
    /// `prefixLength`.
    pub prefix_length: u8,
    /// `routes`, copied into the result.
    pub routes: Vec<Route>,
    /// `lockTimeoutMs`.
    pub lock_timeout: Duration,
}

/// A route to put in the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// Destination network.
    pub dst: (IpAddr, u8),
    /// Next hop, if any.
    pub gw: Option<IpAddr>,
    /// 1.1.0 extras, passed through unchanged.
    pub mtu: Option<u32>,
    /// 1.1.0: advertised MSS.
    pub advmss: Option<u32>,
    /// 1.1.0: route priority (metric).
    pub priority: Option<u32>,
    /// 1.1.0: routing table.
    pub table: Option<u32>,
    /// 1.1.0: route scope.
    pub scope: Option<u32>,
}

#[derive(Deserialize)]
struct WireConf<'a> {
    #[serde(rename = "cniVersion", borrow)]
    cni_version: Option<&'a str>,
    #[serde(borrow)]
    name: Option<&'a str>,
    #[serde(borrow)]
    ipam: Option<WireIpam<'a>>,
    #[serde(rename = "deviceID", borrow)]
    device_id: Option<&'a str>,
    #[serde(rename = "pciBusID", borrow)]
    pci_bus_id: Option<&'a str>,
    #[serde(rename = "runtimeConfig", borrow)]
    runtime_config: Option<WireRuntimeConfig<'a>>,
}

#[derive(Deserialize)]
struct WireRuntimeConfig<'a> {
    #[serde(rename = "deviceID", borrow)]
    device_id: Option<&'a str>,
}

#[derive(Deserialize)]
struct WireIpam<'a> {
    #[serde(rename = "type", borrow)]
    _type: Option<IgnoredStr<'a>>,
    #[serde(rename = "kvpPath", borrow)]
    kvp_path: Option<&'a str>,
    #[serde(rename = "prefixLength")]
    prefix_length: Option<u8>,
    #[serde(rename = "lockTimeoutMs")]
    lock_timeout_ms: Option<u32>,
    /// Decoded by [`routes`], one element at a time (see [`typed_elements`]).
    routes: Option<IgnoredAny>,
}

/// A string we only need to be a string.
#[derive(Deserialize)]
struct IgnoredStr<'a>(
    #[serde(borrow)]
    #[allow(dead_code)]
    &'a str,
);

#[derive(Deserialize)]
struct WireRoute<'a> {
    #[serde(borrow)]
    dst: &'a str,
    #[serde(borrow)]
    gw: Option<&'a str>,
    mtu: Option<u32>,
    advmss: Option<u32>,
    priority: Option<u32>,
    table: Option<u32>,
    scope: Option<u32>,
}

/// The version a config declares, for commands that must answer in it before (or without)
/// decoding the rest. `None` if stdin is not a JSON object with a supported `cniVersion`.
pub fn declared_version(stdin: &[u8]) -> Option<CniVersion> {
    #[derive(Deserialize)]
    struct VersionOnly<'a> {
        #[serde(rename = "cniVersion", borrow)]
        cni_version: Option<&'a str>,
    }
    json::validate(stdin).ok()?;
    let (conf, _) = serde_json_core::from_slice::<VersionOnly>(stdin).ok()?;
    CniVersion::parse(&json::unescape(conf.cni_version?))
}

/// Decodes and checks a network config.
pub fn decode(stdin: &[u8]) -> Result<NetConf<'_>, CniError> {
    if stdin.iter().all(u8::is_ascii_whitespace) {
        return Err(CniError::new(Code::Decode, "no network config on stdin")
            .with_details("the runtime must pass the network config as JSON on stdin"));
    }
    json::validate(stdin)
        .map_err(|e| CniError::new(Code::Decode, format!("network config on stdin is not valid JSON: {e}")))?;
    let wire = match serde_json_core::from_slice::<WireConf>(stdin) {
        Ok((wire, _)) => wire,
        Err(_) => return Err(diagnose(stdin)),
    };

    let version_text = wire.cni_version.map(json::unescape);
    let cni_version = match version_text.as_deref() {
        None => CniVersion::V0_1_0,
        Some(text) => CniVersion::parse(text).ok_or_else(|| unsupported_version(text))?,
    };
    if wire.name.is_none_or(|n| n.is_empty()) {
        return Err(CniError::new(Code::InvalidConfig, "network config has no \"name\"")
            .with_details("every CNI network config needs a non-empty name"));
    }
    let ipam = wire.ipam.ok_or_else(|| {
        CniError::new(Code::InvalidConfig, "network config has no \"ipam\" section")
            .with_details("add \"ipam\": {\"type\": \"azure-ipoib-ipam-cni\"}")
    })?;
    let device_id = wire.runtime_config.and_then(|r| r.device_id).or(wire.device_id).or(wire.pci_bus_id);
    Ok(NetConf {
        cni_version,
        ipam: ipam_conf(ipam, stdin)?,
        device_id: device_id.filter(|d| !d.is_empty()).map(json::unescape),
        raw: stdin,
    })
}

fn unsupported_version(text: &str) -> CniError {
    let supported: Vec<&str> = SUPPORTED.iter().map(|v| v.as_str()).collect();
    CniError::new(
        Code::IncompatibleVersion,
        format!("unsupported cniVersion {:?}", text.chars().take(32).collect::<String>()),
    )
    .with_details(format!("supported versions: {}", supported.join(", ")))
}

fn ipam_conf<'a>(wire: WireIpam<'a>, stdin: &'a [u8]) -> Result<IpamConf<'a>, CniError> {
    let kvp_path = wire.kvp_path.map(json::unescape).unwrap_or(Cow::Borrowed(DEFAULT_KVP_PATH));
    if !Path::new(kvp_path.as_ref()).is_absolute() || kvp_path.contains('\0') {
        return Err(invalid_field("ipam.kvpPath", "an absolute path without NUL bytes"));
    }
    let prefix_length = wire.prefix_length.unwrap_or(DEFAULT_PREFIX_LENGTH);
    if !(1..=128).contains(&prefix_length) {
        return Err(invalid_field("ipam.prefixLength", PREFIX_RULE));
    }
    let lock_timeout_ms = wire.lock_timeout_ms.unwrap_or(DEFAULT_LOCK_TIMEOUT_MS);
    if lock_timeout_ms > MAX_LOCK_TIMEOUT_MS {
        return Err(invalid_field("ipam.lockTimeoutMs", LOCK_TIMEOUT_RULE));
    }
    let routes = match wire.routes {
        None => Vec::new(),
        // Found by the typed decode, so present; an empty slice would fail as "not an array".
        Some(_) => routes(json::member(stdin, "ipam").and_then(|i| json::member(i, "routes")).unwrap_or_default())?,
    };
    Ok(IpamConf { kvp_path, prefix_length, routes, lock_timeout: Duration::from_millis(lock_timeout_ms.into()) })
}

/// `ipam.routes` (raw JSON, not null): every element typed first, then each checked.
fn routes(raw: &[u8]) -> Result<Vec<Route>, CniError> {
    let wires =
        typed_elements::<WireRoute>(raw, MAX_ROUTES).ok_or_else(|| invalid_field("ipam.routes", ROUTES_RULE))?;
    wires.iter().enumerate().map(|(index, wire)| route(index, wire)).collect()
}

/// The elements of the JSON array `raw` decoded as `T`, one at a time onto the heap: a typed
/// decode of a whole `heapless::Vec` held several copies of it on the stack, ~40 KiB of page
/// faults on every run. `None` if `raw` is not an array of at most `max` well-typed elements.
fn typed_elements<'a, T: Deserialize<'a>>(raw: &'a [u8], max: usize) -> Option<Vec<T>> {
    let mut typed = Vec::new();
    for element in json::elements(raw)? {
        if typed.len() == max {
            return None;
        }
        typed.push(serde_json_core::from_slice::<T>(element).ok()?.0);
    }
    Some(typed)
}

fn route(index: usize, wire: &WireRoute<'_>) -> Result<Route, CniError> {
    let dst = parse_cidr(&json::unescape(wire.dst))
        .ok_or_else(|| invalid_field(&format!("ipam.routes[{index}].dst"), "a CIDR such as \"10.0.0.0/8\""))?;
    let gw = match wire.gw {
        None => None,
        Some(gw) => Some(
            json::unescape(gw)
                .parse()
                .map_err(|_| invalid_field(&format!("ipam.routes[{index}].gw"), "an IP address"))?,
        ),
    };
    Ok(Route {
        dst,
        gw,
        mtu: wire.mtu,
        advmss: wire.advmss,
        priority: wire.priority,
        table: wire.table,
        scope: wire.scope,
    })
}

/// `addr/len`, with `len` no longer than the address.
pub fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = text.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let len: u8 = len.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((addr, len))
}

const PREFIX_RULE: &str = "an integer from 1 to 32 (IPv4) or 128 (IPv6)";
const LOCK_TIMEOUT_RULE: &str = "an integer number of milliseconds from 0 to 60000";
const ROUTES_RULE: &str = "an array of at most 64 objects like {\"dst\": \"10.0.0.0/8\", \"gw\": \"10.0.0.1\"}";

fn invalid_field(path: &str, expected: &str) -> CniError {
    CniError::new(Code::InvalidConfig, format!("invalid {path} in network config"))
        .with_details(format!("{path} must be {expected}"))
}

/// Finds which field made the typed decode fail. Runs only on the error path.
fn diagnose(stdin: &[u8]) -> CniError {
    type Check = fn(&[u8]) -> bool;
    fn is<'a, T: Deserialize<'a>>(raw: &'a [u8]) -> bool {
        serde_json_core::from_slice::<Option<T>>(raw).is_ok()
    }
    let first_byte = stdin.iter().copied().find(|b| !b.is_ascii_whitespace());
    if first_byte != Some(b'{') {
        return CniError::new(Code::InvalidConfig, "network config must be a JSON object");
    }
    let top: [(&str, Check, &str); 6] = [
        ("cniVersion", |raw| is::<&str>(raw), "a string such as \"1.0.0\""),
        ("name", |raw| is::<&str>(raw), "a string"),
        ("deviceID", |raw| is::<&str>(raw), "a string (PCI address)"),
        ("pciBusID", |raw| is::<&str>(raw), "a string (PCI address)"),
        ("runtimeConfig", |raw| is::<WireRuntimeConfig>(raw), "an object whose \"deviceID\" is a string"),
        ("ipam", |raw| raw.trim_ascii_start().starts_with(b"{") || raw == b"null", "an object"),
    ];
    // `routes` is not here: the typed decode takes any value there, and `routes` checks it.
    let ipam_fields: [(&str, Check, &str); 4] = [
        ("type", |raw| is::<&str>(raw), "a string"),
        ("kvpPath", |raw| is::<&str>(raw), "a string holding an absolute path"),
        ("prefixLength", |raw| is::<u8>(raw), PREFIX_RULE),
        ("lockTimeoutMs", |raw| is::<u32>(raw), LOCK_TIMEOUT_RULE),
    ];
    let first_bad = |object: &[u8], fields: &[(&str, Check, &str)], prefix: &str| {
        json::members(object).find_map(|(key, raw)| {
            let (name, _, expected) = fields.iter().find(|(name, check, _)| *name == key && !check(raw))?;
            Some(invalid_field(&format!("{prefix}{name}"), expected))
        })
    };
    first_bad(stdin, &top, "")
        .or_else(|| json::member(stdin, "ipam").and_then(|ipam| first_bad(ipam, &ipam_fields, "ipam.")))
        .unwrap_or_else(|| {
            // Valid JSON, every known field well typed: a duplicate key is what's left.
            CniError::new(Code::InvalidConfig, "network config could not be decoded")
                .with_details("check for a key that appears twice in the same object")
        })
}

/// One address from `prevResult.ips`.
#[derive(Deserialize)]
struct WirePrevIp<'a> {
    #[serde(borrow)]
    address: &'a str,
}

/// `prevResult`, typed only as far as `ips` being there; the addresses are decoded one at a
/// time, as routes are.
#[derive(Deserialize)]
struct WirePrevResult {
    ips: Option<IgnoredAny>,
}

/// Most addresses read from `prevResult.ips`.
const MAX_PREV_IPS: usize = 64;

/// The addresses (`ips[].address`) of the config's `prevResult`, for CHECK.
pub fn prev_result_addresses(conf: &NetConf<'_>) -> Result<Vec<(IpAddr, u8)>, CniError> {
    let missing = || {
        CniError::new(Code::InvalidConfig, "CHECK needs a prevResult in the network config")
            .with_details("the runtime passes the ADD result as prevResult")
    };
    let raw = json::member(conf.raw, "prevResult").filter(|raw| *raw != b"null").ok_or_else(missing)?;
    let bad = || invalid_field("prevResult.ips", "an array of at most 64 objects whose \"address\" is a CIDR");
    let (prev, _) = serde_json_core::from_slice::<WirePrevResult>(raw).map_err(|_| bad())?;
    if prev.ips.is_none() {
        return Ok(Vec::new());
    }
    let ips = json::member(raw, "ips").and_then(|ips| typed_elements::<WirePrevIp>(ips, MAX_PREV_IPS));
    ips.ok_or_else(bad)?.iter().map(|ip| parse_cidr(&json::unescape(ip.address)).ok_or_else(bad)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST_DEVICE: &str = r#"{
        "cniVersion": "0.3.1", "name": "hostdev-net", "type": "host-device", "device": "ib0",
        "pciBusID": "0000:00:08.0", "deviceID": "0000:00:08.0",
        "runtimeConfig": {"deviceID": "0101:00:00.0", "ips": ["x"], "nested": {"a": [1, {"b": null}]}},
        "args": {"cni": {"labels": [{"k": "v"}]}},
        "prevResult": {"cniVersion": "0.3.1", "interfaces": [{"name": "net1"}], "ips": [{"version": "4", "address": "172.16.1.2/16", "interface": 0}]},
        "ipam": {"type": "azure-ipoib-ipam-cni", "kvpPath": "\/var\/lib\/hyperv\/.kvp_pool_0", "unknown": [1, 2, {"x": "\u00e9"}]},
        "dns": {}, "weird": 1.5e10, "flag": true
    }"#;

    #[test]
    fn decodes_what_host_device_passes() {
        let conf = decode(HOST_DEVICE.as_bytes()).unwrap();
        assert_eq!(conf.cni_version, CniVersion::V0_3_1);
        assert_eq!(conf.ipam.kvp_path, DEFAULT_KVP_PATH);
        assert_eq!(conf.ipam.prefix_length, 16);
        assert_eq!(conf.ipam.lock_timeout, Duration::from_millis(2000));
        assert_eq!(conf.device_id.as_deref(), Some("0101:00:00.0"));
        assert_eq!(prev_result_addresses(&conf).unwrap(), [("172.16.1.2".parse().unwrap(), 16)]);
    }

    #[test]
    fn the_minimal_ipam_and_defaults() {
        let conf = decode(br#"{"cniVersion":"1.0.0","name":"n","ipam":{"type":"azure-ipoib-ipam-cni"}}"#).unwrap();
        assert_eq!(conf.cni_version, CniVersion::V1_0_0);
        assert!(matches!(conf.ipam.kvp_path, Cow::Borrowed(DEFAULT_KVP_PATH)));
        assert!(conf.ipam.routes.is_empty());
        assert_eq!(conf.device_id, None);
        let conf = decode(br#"{"name":"n","ipam":{}}"#).unwrap();
        assert_eq!(conf.cni_version, CniVersion::V0_1_0);
    }

    #[test]
    fn all_ipam_keys() {
        let conf = decode(
            br#"{"cniVersion":"1.1.0","name":"n","ipam":{"type":"x","kvpPath":"/tmp/p","prefixLength":24,"lockTimeoutMs":0,
            "routes":[{"dst":"10.0.0.0\/8","gw":"172.16.0.1"},{"dst":"fd00::/8","mtu":9000,"scope":253}]}}"#,
        )
        .unwrap();
        assert_eq!(conf.ipam.kvp_path, "/tmp/p");
        assert_eq!(conf.ipam.prefix_length, 24);
        assert_eq!(conf.ipam.lock_timeout, Duration::ZERO);
        assert_eq!(conf.ipam.routes.len(), 2);
        assert_eq!(conf.ipam.routes[0].dst, ("10.0.0.0".parse().unwrap(), 8));
        assert_eq!(conf.ipam.routes[1].mtu, Some(9000));
        assert_eq!(conf.ipam.routes[1].gw, None);
    }

    #[test]
    fn large_configs_are_fine() {
        let filler = format!("\"{}\"", "x".repeat(100_000));
        let input = format!(r#"{{"cniVersion":"0.3.1","name":"n","big":{filler},"ipam":{{}}}}"#);
        assert!(decode(input.as_bytes()).is_ok());
    }

    fn code_and_details(input: &str) -> (Code, String) {
        let e = decode(input.as_bytes()).unwrap_err();
        (e.code, format!("{} / {}", e.msg, e.details))
    }

    #[test]
    fn syntax_errors_are_code_6() {
        for input in ["", "  \n", "{", "not json", "{\"name\":\"n\",}", "[1,2", "{\"a\":\"\\q\"}"] {
            assert_eq!(code_and_details(input).0, Code::Decode, "{input:?}");
        }
        let deep = "[".repeat(10_000);
        assert!(code_and_details(&deep).1.contains("deeper than 128"));
    }

    #[test]
    fn shape_errors_name_the_field() {
        let base = |ipam: &str| format!(r#"{{"cniVersion":"0.3.1","name":"n","ipam":{ipam}}}"#);
        let cases = [
            (base(r#"{"prefixLength":"16"}"#), "ipam.prefixLength"),
            (base(r#"{"prefixLength":16.5}"#), "ipam.prefixLength"),
            (base(r#"{"prefixLength":0}"#), "ipam.prefixLength"),
            (base(r#"{"prefixLength":300}"#), "ipam.prefixLength"),
            (base(r#"{"prefixLength":-1}"#), "ipam.prefixLength"),
            (base(r#"{"kvpPath":5}"#), "ipam.kvpPath"),
            (base(r#"{"kvpPath":"relative/path"}"#), "ipam.kvpPath"),
            (base(r#"{"kvpPath":""}"#), "ipam.kvpPath"),
            (base(r#"{"lockTimeoutMs":"2000"}"#), "ipam.lockTimeoutMs"),
            (base(r#"{"lockTimeoutMs":60001}"#), "ipam.lockTimeoutMs"),
            (base(r#"{"type":7}"#), "ipam.type"),
            (base(r#"{"routes":{}}"#), "ipam.routes"),
            (base(r#"{"routes":[{"gw":"1.2.3.4"}]}"#), "ipam.routes"),
            (base(r#"{"routes":[{"dst":"10.0.0.0"}]}"#), "ipam.routes[0].dst"),
            (base(r#"{"routes":[{"dst":"10.0.0.0/33"}]}"#), "ipam.routes[0].dst"),
            (base(r#"{"routes":[{"dst":"10.0.0.0/8","gw":"x"}]}"#), "ipam.routes[0].gw"),
            (base("[]"), "ipam"),
            (base("\"x\""), "ipam"),
            (r#"{"cniVersion":1,"name":"n","ipam":{}}"#.to_string(), "cniVersion"),
            (r#"{"cniVersion":"0.3.1","name":["n"],"ipam":{}}"#.to_string(), "name"),
            (
                r#"{"cniVersion":"0.3.1","name":"n","runtimeConfig":{"deviceID":1},"ipam":{}}"#.to_string(),
                "runtimeConfig",
            ),
            (r#"{"cniVersion":"0.3.1","name":"n","deviceID":false,"ipam":{}}"#.to_string(), "deviceID"),
        ];
        for (input, field) in cases {
            let (code, text) = code_and_details(&input);
            assert_eq!(code, Code::InvalidConfig, "{input}: {text}");
            assert!(text.contains(field), "{input}: {text}");
        }
    }

    #[test]
    fn missing_parts() {
        assert_eq!(code_and_details(r#"{"cniVersion":"0.3.1","name":"n"}"#).0, Code::InvalidConfig);
        assert_eq!(code_and_details(r#"{"cniVersion":"0.3.1","ipam":{}}"#).0, Code::InvalidConfig);
        assert_eq!(code_and_details("[]").0, Code::InvalidConfig);
        assert_eq!(code_and_details("\"x\"").0, Code::InvalidConfig);
        let (code, text) = code_and_details(r#"{"cniVersion":"9.9.9","name":"n","ipam":{}}"#);
        assert_eq!(code, Code::IncompatibleVersion);
        assert!(text.contains("0.3.1"), "{text}");
        let (code, text) = code_and_details(r#"{"cniVersion":"0.3.1","name":"n","name":"m","ipam":{}}"#);
        assert_eq!(code, Code::InvalidConfig, "{text}");
    }

    #[test]
    fn declared_version_is_lenient() {
        assert_eq!(declared_version(br#"{"cniVersion":"0.4.0"}"#), Some(CniVersion::V0_4_0));
        assert_eq!(declared_version(br#"{"cniVersion":"9"}"#), None);
        assert_eq!(declared_version(b"junk"), None);
        assert_eq!(declared_version(b""), None);
    }

    #[test]
    fn prev_result_errors() {
        let conf = decode(br#"{"cniVersion":"0.4.0","name":"n","ipam":{}}"#).unwrap();
        assert_eq!(prev_result_addresses(&conf).unwrap_err().code, Code::InvalidConfig);
        let conf =
            decode(br#"{"cniVersion":"0.4.0","name":"n","ipam":{},"prevResult":{"ips":[{"address":"x"}]}}"#).unwrap();
        assert_eq!(prev_result_addresses(&conf).unwrap_err().code, Code::InvalidConfig);
        let conf = decode(br#"{"cniVersion":"0.4.0","name":"n","ipam":{},"prevResult":{}}"#).unwrap();
        assert_eq!(prev_result_addresses(&conf).unwrap(), []);
        let conf =
            decode(br#"{"cniVersion":"0.4.0","name":"n","ipam":{},"prevResult":{"ips":{"address":"1.2.3.4/8"}}}"#)
                .unwrap();
        assert_eq!(prev_result_addresses(&conf).unwrap_err().code, Code::InvalidConfig);
    }

    /// A config with `count` copies of `element` in `ipam.routes` and `prevResult.ips`.
    fn with_lists(count: usize, route: &str, ip: &str) -> String {
        let list = |element: &str| vec![element; count].join(",");
        format!(
            r#"{{"cniVersion":"1.0.0","name":"n","ipam":{{"routes":[{}]}},"prevResult":{{"ips":[{}]}}}}"#,
            list(route),
            list(ip)
        )
    }

    #[test]
    fn lists_are_capped_one_element_at_a_time() {
        let (route, ip) = (r#"{"dst":"10.0.0.0/8"}"#, r#"{"address":"172.16.1.2/16"}"#);
        let at_cap = with_lists(MAX_ROUTES, route, ip);
        let conf = decode(at_cap.as_bytes()).unwrap();
        assert_eq!(conf.ipam.routes.len(), MAX_ROUTES);
        assert_eq!(prev_result_addresses(&conf).unwrap().len(), MAX_PREV_IPS);

        let over = with_lists(MAX_ROUTES + 1, route, ip);
        let error = decode(over.as_bytes()).unwrap_err();
        assert_eq!((error.code, error.msg.as_str()), (Code::InvalidConfig, "invalid ipam.routes in network config"));
        let ips_over = with_lists(MAX_ROUTES + 1, route, ip).replacen(&format!(",{route}"), "", 1);
        let conf = decode(ips_over.as_bytes()).unwrap();
        assert_eq!(prev_result_addresses(&conf).unwrap_err().code, Code::InvalidConfig);

        // A wrongly typed element anywhere in the list is named as the list.
        let late_bad = at_cap.replacen(route, r#"{"dst":5}"#, 1);
        assert_eq!(decode(late_bad.as_bytes()).unwrap_err().msg, "invalid ipam.routes in network config");
    }
}
