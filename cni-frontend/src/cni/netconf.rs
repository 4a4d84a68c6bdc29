//! The network config on stdin, decoded without serde in one typed walk.
//!
//! The plugin sees the whole config its parent (host-device) was given: `type: host-device`,
//! `device`, `runtimeConfig`, `args`, `prevResult`, Multus's top-level `deviceID`/`pciBusID` and
//! whatever else. Only a handful of fields matter here; everything else is skipped.
//!
//! [`json::validate`] first checks syntax and nesting depth (code 6). Then one walk reads every
//! field this plugin uses, routes and `prevResult.ips` included; each field's name, type and rule
//! sit in one `match` arm, and the first bad one is named by its key path (code 7). Keys are
//! matched as Go's `encoding/json` matches them (see [`json::Value::fields`]), because the
//! runtime, Multus and host-device read the same bytes with it: escapes decoded, case ignored,
//! the last duplicate wins, `null` changes nothing.

use std::borrow::Cow;
use std::fmt::Display;
use std::net::{IpAddr, Ipv4Addr};
use std::ops::RangeInclusive;
use std::path::Path;
use std::time::Duration;

use super::allowed_dirs::AllowedDirs;
use super::error::{CniError, Code};
use super::json::Value;
use super::version::{CniVersion, SUPPORTED};

// The defaults every face shares, under the names of the config keys they fill in.
use ipoib_host::defaults::{max_prefix, MAX_PREFIX_V6};
pub use ipoib_host::defaults::{
    KVP_PATH as DEFAULT_KVP_PATH, LOCK_TIMEOUT_MS as DEFAULT_LOCK_TIMEOUT_MS, MAX_LOCK_TIMEOUT_MS,
    PREFIX_LENGTH as DEFAULT_PREFIX_LENGTH,
};
use ipoib_host::outside_value::Shown;
/// Most routes a config may list.
pub const MAX_ROUTES: usize = 64;
/// Most addresses read from `prevResult.ips`.
pub const MAX_PREV_IPS: usize = 64;
/// Most bytes of an unsupported `cniVersion` its error shows: a version is a few characters.
const MAX_VERSION_SHOWN: usize = 32;

/// An address and its prefix length.
pub type Cidr = (IpAddr, u8);
/// A placeholder until a route's `dst` is read.
const UNSPECIFIED: Cidr = (IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);

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
    /// `prevResult.ips[].address`, if there is a `prevResult`. Only CHECK reads it, so a bad one
    /// fails CHECK alone.
    pub prev_result: Option<Result<Vec<Cidr>, CniError>>,
}

/// The `ipam` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpamConf<'a> {
    /// `kvpPath`: the pool file, beneath `AZURE_IPOIB_KVP_DIR`.
    pub kvp_path: Cow<'a, str>,
    /// `prefixLength`.
    pub prefix_length: u8,
    /// `routes`, copied into the result.
    pub routes: Vec<Route>,
    /// `lockTimeoutMs`.
    pub lock_timeout: Duration,
    /// `logFile`: where each call appends its line, if anywhere: an absolute path beneath
    /// `AZURE_IPOIB_LOG_DIR` (a relative `logFile` is joined to it).
    pub log_file: Option<Cow<'a, str>>,
    /// `logLevel`: which calls and lines go into `logFile`.
    pub log_level: LogLevel,
}

impl Default for IpamConf<'_> {
    fn default() -> Self {
        IpamConf {
            kvp_path: Cow::Borrowed(DEFAULT_KVP_PATH),
            prefix_length: DEFAULT_PREFIX_LENGTH,
            routes: Vec::new(),
            lock_timeout: Duration::from_millis(DEFAULT_LOCK_TIMEOUT_MS.into()),
            log_file: None,
            log_level: LogLevel::Info,
        }
    }
}

/// `ipam.logLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Failed calls only.
    Error,
    /// One line per call.
    Info,
    /// One line per call, and a few lines of detail.
    Debug,
}

/// A route to put in the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// Destination network.
    pub dst: Cidr,
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

const VERSION_RULE: &str = "a string such as \"1.0.0\"";
const PCI_RULE: &str = "a string (PCI address)";
const PATH_TYPE_RULE: &str = "a string holding an absolute path";
const PATH_RULE: &str = "an absolute path without NUL bytes";
const LOG_PATH_RULE: &str = "a path without NUL bytes: absolute, or relative to AZURE_IPOIB_LOG_DIR";
const PREFIX_RULE: &str = "an integer from 1 to 32 (IPv4) or 128 (IPv6)";
const LOCK_TIMEOUT_RULE: &str = "an integer number of milliseconds from 0 to 60000";
const LOG_LEVEL_RULE: &str = "\"error\", \"info\" or \"debug\"";
const ROUTES_RULE: &str = "an array of at most 64 objects like {\"dst\": \"10.0.0.0/8\", \"gw\": \"10.0.0.1\"}";
const PREV_IPS_RULE: &str = "an array of at most 64 objects whose \"address\" is a CIDR";

/// The version a config declares, for commands that must answer in it before (or without)
/// decoding the rest. `None` if stdin is not a JSON object with a supported `cniVersion`.
pub fn declared_version(stdin: &[u8]) -> Option<CniVersion> {
    CniVersion::parse(&Value::parse(stdin).ok()?.field("cniversion")??.str()?)
}

/// Decodes and checks a network config as ADD (and every other command) reads it, with its
/// paths held beneath `dirs`. The error names the first bad key by its path, such as
/// `ipam.routes[3].dst`.
pub fn decode<'a>(stdin: &'a [u8], dirs: &AllowedDirs) -> Result<NetConf<'a>, CniError> {
    if stdin.iter().all(u8::is_ascii_whitespace) {
        return Err(CniError::new(Code::Decode, "no network config on stdin")
            .with_details("the runtime must pass the network config as JSON on stdin"));
    }
    let top = Value::parse(stdin)
        .map_err(|e| CniError::new(Code::Decode, format!("network config on stdin is not valid JSON: {e}")))?;
    let fields =
        top.fields().ok_or_else(|| CniError::new(Code::InvalidConfig, "network config must be a JSON object"))?;
    let (mut version, mut name, mut ipam, mut prev_result) = (None, None, None, None);
    let (mut device_id, mut pci_bus_id, mut runtime_device_id) = (None, None, None);
    for (key, value) in fields {
        match key.as_deref() {
            Some("cniversion") => version = Some(string(value, "cniVersion", VERSION_RULE)?),
            Some("name") => name = Some(string(value, "name", "a string")?),
            Some("ipam") => ipam = Some(ipam_conf(value, dirs)?),
            Some("deviceid") => device_id = Some(string(value, "deviceID", PCI_RULE)?),
            Some("pcibusid") => pci_bus_id = Some(string(value, "pciBusID", PCI_RULE)?),
            Some("runtimeconfig") => runtime_device_id = runtime_config_device_id(value)?,
            Some("prevresult") => prev_result = Some(prev_result_ips(value)),
            _ => {}
        }
    }

    let cni_version = match version.as_deref() {
        None => CniVersion::V0_1_0,
        Some(text) => CniVersion::parse(text).ok_or_else(|| unsupported_version(text))?,
    };
    if name.is_none_or(|n| n.is_empty()) {
        return Err(CniError::new(Code::InvalidConfig, "network config has no \"name\"")
            .with_details("every CNI network config needs a non-empty name"));
    }
    let ipam = ipam.ok_or_else(|| {
        CniError::new(Code::InvalidConfig, "network config has no \"ipam\" section")
            .with_details("add \"ipam\": {\"type\": \"azure-ipoib-ipam-cni\"}")
    })?;
    let device_id = [runtime_device_id, device_id, pci_bus_id].into_iter().flatten().find(|d| !d.is_empty());
    Ok(NetConf { cni_version, ipam, device_id, prev_result })
}

fn unsupported_version(text: &str) -> CniError {
    let supported: Vec<&str> = SUPPORTED.iter().map(|v| v.as_str()).collect();
    CniError::new(
        Code::IncompatibleVersion,
        format!("unsupported cniVersion {:?}", Shown::with_limit(text, MAX_VERSION_SHOWN)),
    )
    .with_details(format!("supported versions: {}", supported.join(", ")))
}

fn ipam_conf<'a>(value: Value<'a>, dirs: &AllowedDirs) -> Result<IpamConf<'a>, CniError> {
    let mut ipam = IpamConf::default();
    for (key, value) in value.fields().ok_or_else(|| invalid_field("ipam", "an object"))? {
        match key.as_deref() {
            Some("type") => {
                string(value, "ipam.type", "a string")?;
            }
            Some("kvppath") => ipam.kvp_path = absolute_path(value, "ipam.kvpPath")?,
            Some("prefixlength") => {
                ipam.prefix_length = number(value, "ipam.prefixLength", 1..=MAX_PREFIX_V6, PREFIX_RULE)?
            }
            Some("locktimeoutms") => {
                let ms = number(value, "ipam.lockTimeoutMs", 0..=MAX_LOCK_TIMEOUT_MS, LOCK_TIMEOUT_RULE)?;
                ipam.lock_timeout = Duration::from_millis(ms.into());
            }
            Some("routes") => ipam.routes = routes(value)?,
            Some("logfile") => {
                let path = string(value, "ipam.logFile", LOG_PATH_RULE)?;
                if path.is_empty() || path.contains('\0') {
                    return Err(invalid_field("ipam.logFile", LOG_PATH_RULE));
                }
                ipam.log_file = Some(path);
            }
            Some("loglevel") => {
                ipam.log_level = match string(value, "ipam.logLevel", LOG_LEVEL_RULE)?.as_ref() {
                    "error" => LogLevel::Error,
                    "info" => LogLevel::Info,
                    "debug" => LogLevel::Debug,
                    _ => return Err(invalid_field("ipam.logLevel", LOG_LEVEL_RULE)),
                }
            }
            _ => {}
        }
    }
    // The default pool too: an admin who moves the directory moves every pool with it.
    ipam.kvp_path = dirs.kvp.confine("ipam.kvpPath", ipam.kvp_path, false)?;
    ipam.log_file = ipam.log_file.map(|path| dirs.log.confine("ipam.logFile", path, true)).transpose()?;
    Ok(ipam)
}

/// `runtimeConfig.deviceID`, if set.
fn runtime_config_device_id(value: Value<'_>) -> Result<Option<Cow<'_, str>>, CniError> {
    let bad = || invalid_field("runtimeConfig", "an object whose \"deviceID\" is a string");
    value.field("deviceid").ok_or_else(bad)?.map(|id| id.str().ok_or_else(bad)).transpose()
}

/// `ipam.routes`: the list's shape is named as the list, each field's value by its path.
fn routes(value: Value<'_>) -> Result<Vec<Route>, CniError> {
    let list = || invalid_field("ipam.routes", ROUTES_RULE);
    let mut routes = Vec::new();
    for (index, element) in value.elements().ok_or_else(list)?.enumerate() {
        if index == MAX_ROUTES {
            return Err(list());
        }
        let at = |field: &str| format!("ipam.routes[{index}].{field}");
        let mut dst = None;
        let mut route =
            Route { dst: UNSPECIFIED, gw: None, mtu: None, advmss: None, priority: None, table: None, scope: None };
        for (key, value) in element.fields().ok_or_else(list)? {
            let extra = |field| number(value, at(field), 0..=u32::MAX, "an integer from 0 to 4294967295").map(Some);
            match key.as_deref() {
                Some("dst") => {
                    let cidr = value.str().as_deref().and_then(parse_cidr);
                    dst = Some(cidr.ok_or_else(|| invalid_field(at("dst"), "a CIDR such as \"10.0.0.0/8\""))?);
                }
                Some("gw") => {
                    let ip = value.str().and_then(|text| text.parse().ok());
                    route.gw = Some(ip.ok_or_else(|| invalid_field(at("gw"), "an IP address"))?);
                }
                Some("mtu") => route.mtu = extra("mtu")?,
                Some("advmss") => route.advmss = extra("advmss")?,
                Some("priority") => route.priority = extra("priority")?,
                Some("table") => route.table = extra("table")?,
                Some("scope") => route.scope = extra("scope")?,
                _ => {}
            }
        }
        route.dst = dst.ok_or_else(list)?;
        routes.push(route);
    }
    Ok(routes)
}

/// `prevResult.ips[].address`, or why they cannot be read.
fn prev_result_ips(value: Value<'_>) -> Result<Vec<Cidr>, CniError> {
    let bad = || invalid_field("prevResult.ips", PREV_IPS_RULE);
    let Some(ips) = value.field("ips").ok_or_else(bad)? else { return Ok(Vec::new()) };
    let mut cidrs = Vec::new();
    for ip in ips.elements().ok_or_else(bad)? {
        let address = ip.field("address").ok_or_else(bad)?.and_then(Value::str);
        if cidrs.len() == MAX_PREV_IPS {
            return Err(bad());
        }
        cidrs.push(address.as_deref().and_then(parse_cidr).ok_or_else(bad)?);
    }
    Ok(cidrs)
}

/// The addresses of the config's `prevResult`, for CHECK.
pub fn prev_result_addresses(conf: &NetConf<'_>) -> Result<Vec<Cidr>, CniError> {
    conf.prev_result.clone().unwrap_or_else(|| {
        Err(CniError::new(Code::InvalidConfig, "CHECK needs a prevResult in the network config")
            .with_details("the runtime passes the ADD result as prevResult"))
    })
}

/// `addr/len`, with `len` no longer than the address.
pub fn parse_cidr(text: &str) -> Option<Cidr> {
    let (addr, len) = text.split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let len: u8 = len.parse().ok()?;
    (len <= max_prefix(addr)).then_some((addr, len))
}

fn string<'a>(value: Value<'a>, path: &str, rule: &str) -> Result<Cow<'a, str>, CniError> {
    value.str().ok_or_else(|| invalid_field(path, rule))
}

fn absolute_path<'a>(value: Value<'a>, path: &str) -> Result<Cow<'a, str>, CniError> {
    let text = string(value, path, PATH_TYPE_RULE)?;
    if !Path::new(text.as_ref()).is_absolute() || text.contains('\0') {
        return Err(invalid_field(path, PATH_RULE));
    }
    Ok(text)
}

fn number<T: TryFrom<u32> + PartialOrd>(
    value: Value<'_>,
    path: impl Display,
    range: RangeInclusive<T>,
    rule: &str,
) -> Result<T, CniError> {
    let number = value.u32().and_then(|n| T::try_from(n).ok()).filter(|n| range.contains(n));
    number.ok_or_else(|| invalid_field(path, rule))
}

fn invalid_field(path: impl Display, expected: &str) -> CniError {
    CniError::new(Code::InvalidConfig, format!("invalid {path} in network config"))
        .with_details(format!("{path} must be {expected}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decoding with both directories at `/`, as the test suites run the plugin.
    fn decode_anywhere(stdin: &[u8]) -> Result<NetConf<'_>, CniError> {
        decode(stdin, &AllowedDirs::anywhere())
    }

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
        let conf = decode_anywhere(HOST_DEVICE.as_bytes()).unwrap();
        assert_eq!(conf.cni_version, CniVersion::V0_3_1);
        assert_eq!(conf.ipam.kvp_path, DEFAULT_KVP_PATH);
        assert_eq!(conf.ipam.prefix_length, 16);
        assert_eq!(conf.ipam.lock_timeout, Duration::from_millis(2000));
        assert_eq!(conf.device_id.as_deref(), Some("0101:00:00.0"));
        assert_eq!(prev_result_addresses(&conf).unwrap(), [("172.16.1.2".parse().unwrap(), 16)]);
    }

    #[test]
    fn the_minimal_ipam_and_defaults() {
        let conf =
            decode_anywhere(br#"{"cniVersion":"1.0.0","name":"n","ipam":{"type":"azure-ipoib-ipam-cni"}}"#).unwrap();
        assert_eq!(conf.cni_version, CniVersion::V1_0_0);
        assert!(matches!(conf.ipam.kvp_path, Cow::Borrowed(DEFAULT_KVP_PATH)));
        assert!(conf.ipam.routes.is_empty());
        assert_eq!(conf.device_id, None);
        let conf = decode_anywhere(br#"{"name":"n","ipam":{}}"#).unwrap();
        assert_eq!(conf.cni_version, CniVersion::V0_1_0);
    }

    #[test]
    fn all_ipam_keys() {
        let conf = decode_anywhere(
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
        assert!(decode_anywhere(input.as_bytes()).is_ok());
    }

    fn code_and_details(input: &str) -> (Code, String) {
        let e = decode_anywhere(input.as_bytes()).unwrap_err();
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
    }

    #[test]
    fn keys_are_matched_as_go_matches_them() {
        let kvp_path = |input: &str| decode_anywhere(input.as_bytes()).map(|c| c.ipam.kvp_path.into_owned());
        let ok = |path: &str| Ok(path.to_string());
        for (input, want) in [
            (r#"{"name":"n","ipam":{"kvp\u0050ath":"/a"}}"#, ok("/a")),
            (r#"{"name":"n","ipam":{"KVPPATH":"/a"}}"#, ok("/a")),
            (r#"{"name":"n","ipam":{"\u212avpPath":"/a"}}"#, ok("/a")),
            (r#"{"name":"n","\u0069pam":{"kvpPath":"/a"}}"#, ok("/a")),
            (r#"{"name":"n","ipam":{"kvpPath":"/a"},"IPAM":{"kvpPath":"/b"}}"#, ok("/b")),
            (r#"{"name":"n","ipam":{"kvpPath":"/a","kvpPath":"/b"}}"#, ok("/b")),
            (r#"{"name":"n","ipam":{"kvpPath":"/a","kvpPath":null}}"#, ok("/a")),
            (r#"{"name":"","name":"n","ipam":{"kvpPath":"/a"}}"#, ok("/a")),
            (r#"{"name":"n","ipam":{"kvp_path":"/a"}}"#, ok(DEFAULT_KVP_PATH)),
        ] {
            assert_eq!(kvp_path(input).map_err(|e| e.to_string()), want, "{input}");
        }
        let version = |input: &str| decode_anywhere(input.as_bytes()).map(|c| c.cni_version).map_err(|e| e.code);
        assert_eq!(
            version(r#"{"cniVersion":"0.3.1","CNIVERSION":"1.1.0","name":"n","ipam":{}}"#),
            Ok(CniVersion::V1_1_0)
        );
        assert_eq!(
            version(r#"{"cniVersion":"1.1.0","cniVersion":"9","name":"n","ipam":{}}"#),
            Err(Code::IncompatibleVersion)
        );
        assert_eq!(declared_version(br#"{"cniVersion":"0.3.1","cniversion":"1.0.0"}"#), Some(CniVersion::V1_0_0));
        assert_eq!(version(r#"{"name":"n","name":"","ipam":{}}"#), Err(Code::InvalidConfig));
    }

    #[test]
    fn log_keys() {
        let conf = decode_anywhere(br#"{"name":"n","ipam":{"logFile":"/var/log/ipoib.log"}}"#).unwrap();
        assert_eq!((conf.ipam.log_file.as_deref(), conf.ipam.log_level), (Some("/var/log/ipoib.log"), LogLevel::Info));
        let conf = decode_anywhere(br#"{"name":"n","ipam":{"logFile":"/l","logLevel":"debug"}}"#).unwrap();
        assert_eq!(conf.ipam.log_level, LogLevel::Debug);
        assert_eq!(decode_anywhere(br#"{"name":"n","ipam":{}}"#).unwrap().ipam.log_file, None);
        // Relative to the log directory, which is `/` here.
        let conf = decode_anywhere(br#"{"name":"n","ipam":{"logFile":"var/log/x"}}"#).unwrap();
        assert_eq!(conf.ipam.log_file.as_deref(), Some("/var/log/x"));
        for (ipam, needle) in [
            (r#"{"logFile":""}"#, "ipam.logFile must be a path without NUL bytes"),
            (r#"{"logFile":"/a/../b"}"#, "ipam.logFile must name a file beneath /"),
            (r#"{"logFile":7}"#, "ipam.logFile must be a path"),
            (r#"{"logLevel":"warning"}"#, r#"ipam.logLevel must be "error", "info" or "debug""#),
        ] {
            let (code, text) = code_and_details(&format!(r#"{{"name":"n","ipam":{ipam}}}"#));
            assert_eq!(code, Code::InvalidConfig, "{ipam}");
            assert!(text.contains(needle), "{ipam}: {text}");
        }
    }

    /// Whatever keys, `args` or `runtimeConfig` a config carries, its paths stay beneath the
    /// directories the environment set.
    #[test]
    fn a_config_cannot_widen_the_directories() {
        let dirs = AllowedDirs::defaults();
        let escape = r#"{"kvpDir":"/","logDir":"/","AZURE_IPOIB_KVP_DIR":"/","AZURE_IPOIB_LOG_DIR":"/"}"#;
        for input in [
            format!(r#"{{"name":"n","ipam":{{"kvpPath":"/etc/shadow"}},"args":{escape},"runtimeConfig":{escape}}}"#),
            format!(r#"{{"name":"n","ipam":{{"kvpPath":"/etc/shadow","args":{escape}}},"kvpDir":"/","env":{escape}}}"#),
            format!(r#"{{"name":"n","ipam":{{"logFile":"/etc/ld.so.preload","logDir":"/"}},"args":{escape}}}"#),
        ] {
            let e = decode(input.as_bytes(), &dirs).unwrap_err();
            assert_eq!(e.code, Code::InvalidConfig, "{input}");
            assert!(
                e.msg.ends_with("is outside AZURE_IPOIB_KVP_DIR (/var/lib/hyperv)")
                    || e.msg.ends_with("is outside AZURE_IPOIB_LOG_DIR (/var/log/azure-ipoib-ipam-cni)"),
                "{}",
                e.msg
            );
        }
        let conf = decode(br#"{"name":"n","ipam":{"logFile":"calls.log"}}"#, &dirs).unwrap();
        assert_eq!(conf.ipam.kvp_path, DEFAULT_KVP_PATH);
        assert_eq!(conf.ipam.log_file.as_deref(), Some("/var/log/azure-ipoib-ipam-cni/calls.log"));
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
        let conf = decode_anywhere(br#"{"cniVersion":"0.4.0","name":"n","ipam":{}}"#).unwrap();
        assert_eq!(prev_result_addresses(&conf).unwrap_err().code, Code::InvalidConfig);
        let conf =
            decode_anywhere(br#"{"cniVersion":"0.4.0","name":"n","ipam":{},"prevResult":{"ips":[{"address":"x"}]}}"#)
                .unwrap();
        assert_eq!(prev_result_addresses(&conf).unwrap_err().code, Code::InvalidConfig);
        let conf = decode_anywhere(br#"{"cniVersion":"0.4.0","name":"n","ipam":{},"prevResult":{}}"#).unwrap();
        assert_eq!(prev_result_addresses(&conf).unwrap(), []);
        let conf = decode_anywhere(
            br#"{"cniVersion":"0.4.0","name":"n","ipam":{},"prevResult":{"ips":{"address":"1.2.3.4/8"}}}"#,
        )
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
        let conf = decode_anywhere(at_cap.as_bytes()).unwrap();
        assert_eq!(conf.ipam.routes.len(), MAX_ROUTES);
        assert_eq!(prev_result_addresses(&conf).unwrap().len(), MAX_PREV_IPS);

        let over = with_lists(MAX_ROUTES + 1, route, ip);
        let error = decode_anywhere(over.as_bytes()).unwrap_err();
        assert_eq!((error.code, error.msg.as_str()), (Code::InvalidConfig, "invalid ipam.routes in network config"));
        let ips_over = with_lists(MAX_ROUTES + 1, route, ip).replacen(&format!(",{route}"), "", 1);
        let conf = decode_anywhere(ips_over.as_bytes()).unwrap();
        assert_eq!(prev_result_addresses(&conf).unwrap_err().code, Code::InvalidConfig);

        // A wrongly typed field is named by its path; a missing one, or an element that is not an object, by the list.
        let bad_dst = at_cap.replacen(route, r#"{"dst":5}"#, 1);
        assert_eq!(
            decode_anywhere(bad_dst.as_bytes()).unwrap_err().msg,
            "invalid ipam.routes[0].dst in network config"
        );
        let bad_mtu =
            at_cap.replacen(&format!("{route},{route}"), &format!(r#"{route},{{"dst":"1.0.0.0/8","mtu":-1}}"#), 1);
        assert_eq!(
            decode_anywhere(bad_mtu.as_bytes()).unwrap_err().msg,
            "invalid ipam.routes[1].mtu in network config"
        );
        let not_object = at_cap.replacen(route, "7", 1);
        assert_eq!(decode_anywhere(not_object.as_bytes()).unwrap_err().msg, "invalid ipam.routes in network config");
    }
}
