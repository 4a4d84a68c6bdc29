//! The ADD result, in the shape of the config's `cniVersion` (SPEC §5 and the Go types):
//!
//! | cniVersion | shape |
//! |---|---|
//! | 0.1.0, 0.2.0 | `{"ip4": {"ip": "a/n", "routes": [...]}}` (or `ip6`) |
//! | 0.3.0 – 0.4.0 | `{"ips": [{"version": "4", "address": "a/n"}], "routes": [...]}` |
//! | 1.0.0, 1.1.0 | `{"ips": [{"address": "a/n"}], "routes": [...]}`; 1.1.0 routes may carry mtu, advmss, priority, table, scope |
//!
//! An IPAM plugin returns no `interfaces` (its parent owns them), so no `ips[].interface`.

use std::fmt::Write as _;
use std::net::IpAddr;

use serde::Serialize;

use super::netconf::Route;
use super::version::CniVersion;

/// Longest `address/prefix` text: a full IPv6 address plus `/128`.
type Cidr = heapless::String<48>;
type Ip = heapless::String<40>;

#[derive(Serialize)]
struct WireRoute {
    dst: Cidr,
    #[serde(skip_serializing_if = "Option::is_none")]
    gw: Option<Ip>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mtu: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    advmss: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    table: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<u32>,
}

#[derive(Serialize)]
struct WireIp {
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'static str>,
    address: Cidr,
}

/// 0.3.0 and later.
#[derive(Serialize)]
struct WireResult<'a> {
    #[serde(rename = "cniVersion")]
    cni_version: &'static str,
    ips: [WireIp; 1],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    routes: &'a [WireRoute],
}

/// 0.1.0 and 0.2.0: one `ip4` or `ip6` section.
#[derive(Serialize)]
struct WireLegacyIp<'a> {
    ip: Cidr,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    routes: &'a [WireRoute],
}

#[derive(Serialize)]
struct WireLegacyResult<'a> {
    #[serde(rename = "cniVersion")]
    cni_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip4: Option<WireLegacyIp<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip6: Option<WireLegacyIp<'a>>,
}

fn cidr(addr: IpAddr, prefix: u8) -> Cidr {
    let mut s = Cidr::new();
    // Cannot fail: 39 bytes of IPv6 text + "/128" fit in 48.
    let _ = write!(s, "{addr}/{prefix}");
    s
}

fn ip_text(addr: IpAddr) -> Ip {
    let mut s = Ip::new();
    let _ = write!(s, "{addr}");
    s
}

fn wire_route(route: &Route, version: CniVersion) -> WireRoute {
    let extras = version >= CniVersion::V1_1_0;
    let extra = |v: Option<u32>| v.filter(|_| extras);
    WireRoute {
        dst: cidr(route.dst.0, route.dst.1),
        gw: route.gw.map(ip_text),
        mtu: extra(route.mtu),
        advmss: extra(route.advmss),
        priority: extra(route.priority),
        table: extra(route.table),
        scope: extra(route.scope),
    }
}

/// The result JSON (with a trailing newline) for `addr/prefix` and `routes`.
///
/// For 0.1.0/0.2.0 a route goes in the section of its destination's family; a route of the other
/// family has nowhere to go and is left out (the Go converter does the same).
pub fn add_result(version: CniVersion, addr: IpAddr, prefix: u8, routes: &[Route]) -> Vec<u8> {
    let address = cidr(addr, prefix);
    let mut buf = vec![0u8; 512 + routes.len() * 256];
    let written = if version >= CniVersion::V0_3_0 {
        let routes: Vec<WireRoute> = routes.iter().map(|r| wire_route(r, version)).collect();
        let ip_version = (version < CniVersion::V1_0_0).then_some(if addr.is_ipv4() { "4" } else { "6" });
        let result = WireResult {
            cni_version: version.as_str(),
            ips: [WireIp { version: ip_version, address }],
            routes: &routes,
        };
        serde_json_core::to_slice(&result, &mut buf)
    } else {
        let routes: Vec<WireRoute> =
            routes.iter().filter(|r| r.dst.0.is_ipv4() == addr.is_ipv4()).map(|r| wire_route(r, version)).collect();
        let section = Some(WireLegacyIp { ip: address, routes: &routes });
        let (ip4, ip6) = if addr.is_ipv4() { (section, None) } else { (None, section) };
        serde_json_core::to_slice(&WireLegacyResult { cni_version: version.as_str(), ip4, ip6 }, &mut buf)
    };
    // The buffer holds the largest possible result, so `to_slice` cannot run out of room.
    buf.truncate(written.unwrap_or(0));
    buf.push(b'\n');
    buf
}

/// The VERSION answer: the input's version (or the latest) and every supported one.
pub fn version_result(version: CniVersion) -> Vec<u8> {
    #[derive(Serialize)]
    struct Wire {
        #[serde(rename = "cniVersion")]
        cni_version: &'static str,
        #[serde(rename = "supportedVersions")]
        supported_versions: [&'static str; 7],
    }
    let wire =
        Wire { cni_version: version.as_str(), supported_versions: super::version::SUPPORTED.map(CniVersion::as_str) };
    let mut buf = vec![0u8; 256];
    let n = serde_json_core::to_slice(&wire, &mut buf).unwrap_or(0);
    buf.truncate(n);
    buf.push(b'\n');
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(version: CniVersion, addr: &str, prefix: u8, routes: &[Route]) -> String {
        String::from_utf8(add_result(version, addr.parse().unwrap(), prefix, routes)).unwrap()
    }

    fn route(dst: &str, gw: Option<&str>) -> Route {
        let (addr, len) = dst.split_once('/').unwrap();
        Route {
            dst: (addr.parse().unwrap(), len.parse().unwrap()),
            gw: gw.map(|g| g.parse().unwrap()),
            mtu: Some(9000),
            advmss: None,
            priority: None,
            table: None,
            scope: None,
        }
    }

    #[test]
    fn shapes_per_version() {
        assert_eq!(
            text(CniVersion::V1_1_0, "172.16.1.2", 16, &[]),
            "{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"172.16.1.2/16\"}]}\n"
        );
        assert_eq!(
            text(CniVersion::V0_3_1, "172.16.1.2", 16, &[]),
            "{\"cniVersion\":\"0.3.1\",\"ips\":[{\"version\":\"4\",\"address\":\"172.16.1.2/16\"}]}\n"
        );
        assert_eq!(
            text(CniVersion::V0_4_0, "fd00::2", 64, &[]),
            "{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"6\",\"address\":\"fd00::2/64\"}]}\n"
        );
        assert_eq!(
            text(CniVersion::V0_2_0, "172.16.1.2", 16, &[]),
            "{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"172.16.1.2/16\"}}\n"
        );
        assert_eq!(
            text(CniVersion::V0_1_0, "fd00::2", 64, &[]),
            "{\"cniVersion\":\"0.1.0\",\"ip6\":{\"ip\":\"fd00::2/64\"}}\n"
        );
    }

    #[test]
    fn routes_per_version() {
        let routes = [route("10.0.0.0/8", Some("172.16.0.1")), route("fd00::/8", None)];
        assert_eq!(
            text(CniVersion::V1_1_0, "172.16.1.2", 16, &routes),
            "{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"172.16.1.2/16\"}],\"routes\":[{\"dst\":\"10.0.0.0/8\",\"gw\":\"172.16.0.1\",\"mtu\":9000},{\"dst\":\"fd00::/8\",\"mtu\":9000}]}\n"
        );
        assert_eq!(
            text(CniVersion::V1_0_0, "172.16.1.2", 16, &routes[..1]),
            "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"172.16.1.2/16\"}],\"routes\":[{\"dst\":\"10.0.0.0/8\",\"gw\":\"172.16.0.1\"}]}\n"
        );
        assert_eq!(
            text(CniVersion::V0_2_0, "172.16.1.2", 16, &routes),
            "{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"172.16.1.2/16\",\"routes\":[{\"dst\":\"10.0.0.0/8\",\"gw\":\"172.16.0.1\"}]}}\n"
        );
    }

    #[test]
    fn the_largest_result_fits() {
        let routes: Vec<Route> = (0..64)
            .map(|_| Route {
                dst: ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap(), 128),
                gw: Some("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap()),
                mtu: Some(u32::MAX),
                advmss: Some(u32::MAX),
                priority: Some(u32::MAX),
                table: Some(u32::MAX),
                scope: Some(u32::MAX),
            })
            .collect();
        let out = text(CniVersion::V1_1_0, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128, &routes);
        assert!(out.ends_with("}]}\n"), "{out}");
    }

    #[test]
    fn version_lists_all_seven() {
        assert_eq!(
            String::from_utf8(version_result(CniVersion::V0_3_1)).unwrap(),
            "{\"cniVersion\":\"0.3.1\",\"supportedVersions\":[\"0.1.0\",\"0.2.0\",\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}\n"
        );
    }
}
