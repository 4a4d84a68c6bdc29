//! The plugin's face of every failure: [`Why`] (no address for the NIC) mapped once, with an
//! exhaustive `match`, to a CNI code, message and details, and the constructors of the plugin's
//! other errors. The README's error-code table is this file in prose. (Decoding the
//! environment and the network config, in `cni/`, reports the spec's codes 4, 6 and 7 itself.)
//!
//! | failure | code |
//! |---|---|
//! | command not defined for the config's `cniVersion` | 1 |
//! | `CNI_NETNS` does not exist | 3 |
//! | `CNI_NETNS` or `CNI_IFNAME` missing for a command that looks the NIC up | 4 |
//! | stdin unreadable | 5 |
//! | stdin larger than the limit | 6 |
//! | `ipam.prefixLength` too long for the NIC's address | 7 |
//! | a symlink on the pool's path (`ipam.kvpPath` outside its directory: decoding's own 7) | 7 |
//! | `CNI_NETNS` is the plugin's own netns | 8 |
//! | pool missing, empty, no `IPoIB_Data`, lock not granted in time | 11 (try again later) |
//! | the pool's mapping faulted while being read (SIGBUS) | 11 (try again later) |
//! | STATUS: any of the pool failures | 50 |
//! | no pair for the NIC's MAC | 100 |
//! | `IPoIB_Data` malformed | 101 |
//! | pool not a regular file, too large, unreadable | 102 |
//! | NIC's link or address unreadable (and no sysfs fallback) | 103 |
//! | CHECK: `prevResult` does not hold the address KVP assigns | 104 |
//! | the NIC is an IPoIB child link (ipoib-cni) | 105 |

use std::net::IpAddr;

use ipoib_host::pool_file::{PoolFileError, PoolFileErrorKind};
use ipoib_host::sys::FaultReport;
use ipoib_host::Why;

use crate::cni::{CniError, CniVersion, Code, Command};
use crate::outside_value::Shown;

impl From<Why> for CniError {
    // Only on failure: `#[cold]` puts it at the end of the hot section (hot-text.ld), so the
    // code a successful ADD runs stays within two 64 KiB fault-around windows.
    #[cold]
    fn from(why: Why) -> CniError {
        // The message is `Why`'s own wording, but where an arm says otherwise.
        let (code, details) = match &why {
            Why::Pool(e) => return pool_file_error(e),
            Why::PoolEmpty { .. } => {
                (Code::TryAgainLater, "the host has not pushed KVP data to hv_kvp_daemon yet; retry later".into())
            }
            Why::NoIpoibData { .. } => (
                Code::TryAgainLater,
                "the host publishes it on InfiniBand VM sizes once the IB NICs are up; retry later".into(),
            ),
            Why::Malformed { path, .. } => (Code::MalformedIpoibData, format!("in KVP pool {}", Shown::path(path))),
            Why::NoPair { .. } => (
                Code::NoAddressForNic,
                "the NIC is not one the host assigned an IPoIB address to, or the host has not published it yet".into(),
            ),
            Why::NetnsMissing(_) => (Code::UnknownContainer, String::new()),
            Why::NetnsIsOwn(_) => (Code::InvalidNetns, String::new()),
            Why::IpoibChild(_) => (Code::IpoibChildLink, CHILD_DETAILS.into()),
            // The message names the link alone; the fallback's failure goes to the details.
            Why::NicUnreadable { link, fallback } => {
                let details = fallback.as_deref().map_or_else(String::new, |(pci, error)| {
                    format!("fallback by PCI device {} failed too: {error}", Shown::new(pci))
                });
                return CniError::new(Code::NicLookupFailed, link.to_string()).with_details(details);
            }
            Why::PrefixTooLong { prefix, max, ip, mac } => {
                let details = format!(
                    "ipam.prefixLength is {prefix}, but the address for MAC {mac} is {ip}, which allows at most /{max}"
                );
                return CniError::new(Code::InvalidConfig, "invalid ipam.prefixLength in network config")
                    .with_details(details);
            }
        };
        CniError::new(code, why.to_string()).with_details(details)
    }
}

/// The pool file's failures, each with what to check.
// Only on failure: `#[cold]` puts it at the end of the hot section (hot-text.ld), so the
// code a successful ADD runs stays within two 64 KiB fault-around windows.
#[cold]
fn pool_file_error(e: &PoolFileError) -> CniError {
    let (code, details) = match &e.kind {
        PoolFileErrorKind::Missing => {
            (Code::TryAgainLater, "hv_kvp_daemon (package hyperv-daemons) creates it; is it running?")
        }
        PoolFileErrorKind::LockTimeout { .. } => {
            (Code::TryAgainLater, "hv_kvp_daemon is rewriting the pool; retry, or raise ipam.lockTimeoutMs")
        }
        PoolFileErrorKind::Symlink => (
            Code::InvalidConfig,
            "ipam.kvpPath must name the pool file itself, beneath AZURE_IPOIB_KVP_DIR; no symlink is followed",
        ),
        PoolFileErrorKind::NotRegular { .. } | PoolFileErrorKind::TooLarge { .. } => (
            Code::PoolUnusable,
            "ipam.kvpPath must name hv_kvp_daemon's pool file, normally /var/lib/hyperv/.kvp_pool_0",
        ),
        PoolFileErrorKind::Io { .. } => (Code::PoolUnusable, "check the path and its permissions"),
    };
    CniError::new(code, e.to_string()).with_details(details)
}

/// What to do about an IPoIB child link, which the message names.
const CHILD_DETAILS: &str = "every child of one port would get the same address; give ipoib-cni child links addresses \
     with an IPAM plugin such as whereabouts, and use this plugin for the IB NICs themselves (host-device)";

/// The text of the error for a fault inside the pool's mapping.
macro_rules! pool_fault_msg {
    () => {
        "KVP pool changed or unreadable while being read; retry"
    };
}
macro_rules! pool_fault_details {
    () => {
        "a writer truncated it without hv_kvp_daemon's lock, or its filesystem has no room"
    };
}

/// The error JSON for a fault inside the pool's mapping, written out at compile time: the
/// SIGBUS handler can only write bytes that exist before the fault. A test holds it equal to
/// `pool_fault_error(code).to_json(version)`.
macro_rules! pool_fault_json {
    ($code:literal, $version:literal) => {
        concat!(
            r#"{"cniVersion":""#,
            $version,
            r#"","code":"#,
            $code,
            r#","msg":""#,
            pool_fault_msg!(),
            r#"","details":""#,
            pool_fault_details!(),
            "\"}\n"
        )
    };
}

/// The stderr line for the same, as `run` words every failure.
macro_rules! pool_fault_line {
    ($command:literal, $code:literal) => {
        concat!(
            "azure-ipoib-ipam-cni: ",
            $command,
            " failed (code ",
            $code,
            "): ",
            pool_fault_msg!(),
            " (",
            pool_fault_details!(),
            "; SIGBUS in the mapping)\n"
        )
    };
}

/// What the SIGBUS handler writes when the pool's mapping faults during `command`: code 11 in
/// `version`'s JSON (code 50 for STATUS, which exists in 1.1.0 only).
pub fn pool_fault_report(command: Command, version: CniVersion) -> FaultReport {
    let stdout = match (command, version) {
        (Command::Status, _) => pool_fault_json!(50, "1.1.0"),
        (_, CniVersion::V0_1_0) => pool_fault_json!(11, "0.1.0"),
        (_, CniVersion::V0_2_0) => pool_fault_json!(11, "0.2.0"),
        (_, CniVersion::V0_3_0) => pool_fault_json!(11, "0.3.0"),
        (_, CniVersion::V0_3_1) => pool_fault_json!(11, "0.3.1"),
        (_, CniVersion::V0_4_0) => pool_fault_json!(11, "0.4.0"),
        (_, CniVersion::V1_0_0) => pool_fault_json!(11, "1.0.0"),
        (_, CniVersion::V1_1_0) => pool_fault_json!(11, "1.1.0"),
    };
    let stderr = match command {
        Command::Status => pool_fault_line!("STATUS", 50),
        Command::Check => pool_fault_line!("CHECK", 11),
        _ => pool_fault_line!("ADD", 11),
    };
    FaultReport { stdout: stdout.as_bytes(), stderr: stderr.as_bytes() }
}

/// STATUS reports every reason the pool cannot serve ADD as "not ready", keeping the message.
pub fn not_ready(e: CniError) -> CniError {
    CniError::new(Code::NotReady, e.msg).with_details(e.details)
}

/// A command that looks the NIC up was run without saying where the NIC is.
pub fn nic_env_missing() -> CniError {
    CniError::new(Code::InvalidEnv, "CNI_NETNS and CNI_IFNAME are required to find the NIC")
}

/// CHECK: `prevResult` holds `had`, not the address KVP assigns now.
pub fn address_mismatch(had: &str, assigned: IpAddr, prefix: u8, ifname: &str) -> CniError {
    CniError::new(Code::AddressMismatch, format!("prevResult has {had}, but KVP assigns {assigned}/{prefix}"))
        .with_details(format!("interface {} was configured from stale data; re-create the pod", Shown::new(ifname)))
}

/// `command` exists only from cniVersion `since`.
pub fn not_in_version(command: Command, version: CniVersion, since: &str) -> CniError {
    CniError::new(Code::IncompatibleVersion, format!("{} is not defined for cniVersion {version}", command.as_str()))
        .with_details(format!("{} exists from cniVersion {since}", command.as_str()))
}

/// Reading stdin failed.
pub fn stdin_unreadable(e: &std::io::Error) -> CniError {
    CniError::new(Code::Io, format!("cannot read the network config from stdin: {e}"))
}

/// stdin holds more than `limit_mib` MiB.
pub fn stdin_too_large(limit_mib: usize) -> CniError {
    CniError::new(Code::Decode, format!("network config on stdin is larger than {limit_mib} MiB"))
        .with_details("a CNI network config is a few KiB; check what the runtime passes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipoib_host::link::{LinkError, LinkErrorKind, LinkName};
    use ipoib_host::sysfs::SysfsError;

    /// The error [`pool_fault_report`] writes, as a value: `code` is 11, or 50 for STATUS.
    fn pool_fault_error(code: Code) -> CniError {
        CniError::new(code, pool_fault_msg!()).with_details(pool_fault_details!())
    }

    #[test]
    fn the_prepared_fault_report_is_the_error_each_command_and_version_would_print() {
        let line = |command: Command, e: &CniError| {
            format!("azure-ipoib-ipam-cni: {} failed (code {}): {e}", command.as_str(), e.code.number())
        };
        for version in crate::cni::version::SUPPORTED {
            for command in [Command::Add, Command::Check] {
                let report = pool_fault_report(command, version);
                let error = pool_fault_error(Code::TryAgainLater);
                assert_eq!(report.stdout, error.to_json(version.as_str()), "{version}");
                let stderr = std::str::from_utf8(report.stderr).unwrap();
                assert!(stderr.starts_with(&line(command, &error).trim_end_matches(')').to_string()), "{stderr}");
            }
        }
        let report = pool_fault_report(Command::Status, CniVersion::V1_1_0);
        assert_eq!(report.stdout, pool_fault_error(Code::NotReady).to_json("1.1.0"));
        assert!(report.stderr.starts_with(b"azure-ipoib-ipam-cni: STATUS failed (code 50): KVP pool changed"));
    }

    fn link_error(netns: &str, kind: LinkErrorKind) -> LinkError {
        LinkError { link: LinkName { ifname: "net1".into(), netns: Some(netns.into()) }, kind }
    }

    #[test]
    fn an_ipoib_child_gets_its_own_code_and_points_to_whereabouts() {
        let error = CniError::from(Why::IpoibChild(link_error(
            "/var/run/netns/pod",
            LinkErrorKind::IpoibChild { parent_index: 7 },
        )));
        assert_eq!(error.code, Code::IpoibChildLink);
        assert_eq!(error.code.number(), 105);
        assert!(error
            .msg
            .contains("link \"net1\" in netns /var/run/netns/pod is an IPoIB child link (parent ifindex 7)"));
        assert!(error.details.contains("whereabouts"), "{}", error.details);
    }

    #[test]
    fn a_missing_netns_is_code_3_other_link_failures_103() {
        let gone = link_error("/var/run/netns/gone", LinkErrorKind::NetnsNotFound);
        assert_eq!(CniError::from(Why::NetnsMissing(gone)).code, Code::UnknownContainer);
        let no_link = link_error("/var/run/netns/pod", LinkErrorKind::NoSuchLink);
        let fallback = SysfsError::DeviceNotFound { path: "/sys/bus/pci/devices/x".into() };
        let error = CniError::from(Why::NicUnreadable {
            link: no_link,
            fallback: Some(Box::new(("0000:00:08.0".into(), fallback))),
        });
        assert_eq!(error.code, Code::NicLookupFailed);
        assert!(error.details.starts_with("fallback by PCI device 0000:00:08.0 failed too: no PCI device at"));
    }
}
