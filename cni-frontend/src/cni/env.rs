//! The `CNI_*` environment: which command, and for which container and interface.
//!
//! Required variables follow the spec's table (SPEC §2): ADD and CHECK need CONTAINERID, NETNS
//! and IFNAME; DEL needs CONTAINERID and IFNAME; VERSION and STATUS need only the command; GC
//! needs CNI_PATH. Values are checked the way the Go skel checks them, so a runtime gets the same
//! answer from this plugin as from any other.
//!
//! `CNI_NETNS` is read only by the commands that enter it (ADD and CHECK). DEL releases nothing
//! and must succeed whatever is left of the pod, so whatever the runtime puts there (a relative
//! path, bytes that are not UTF-8, a netns already gone) cannot fail it. The path stays bytes
//! (`PathBuf` from the `OsString`): Linux paths are not text, and a valid netns bind-mounted at
//! a non-UTF-8 path is still a netns.

use std::ffi::OsString;
use std::path::PathBuf;

use super::error::{CniError, Code};
use crate::outside_value::Shown;

/// The CNI command in `CNI_COMMAND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Assign the NIC's address.
    Add,
    /// Release it (nothing to release: stateless).
    Del,
    /// Verify `prevResult` still holds the assigned address.
    Check,
    /// Report supported versions.
    Version,
    /// Report readiness (1.1.0).
    Status,
    /// Garbage-collect (1.1.0; stateless, so nothing to do).
    Gc,
}

impl Command {
    fn parse(name: &str) -> Option<Command> {
        Some(match name {
            "ADD" => Command::Add,
            "DEL" => Command::Del,
            "CHECK" => Command::Check,
            "VERSION" => Command::Version,
            "STATUS" => Command::Status,
            "GC" => Command::Gc,
            _ => return None,
        })
    }

    /// The name as the runtime spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Add => "ADD",
            Command::Del => "DEL",
            Command::Check => "CHECK",
            Command::Version => "VERSION",
            Command::Status => "STATUS",
            Command::Gc => "GC",
        }
    }
}

/// The validated environment of one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// `CNI_COMMAND`.
    pub command: Command,
    /// `CNI_CONTAINERID`, where required.
    pub container_id: Option<String>,
    /// `CNI_NETNS`: an absolute path (bytes, not necessarily UTF-8); read for ADD and CHECK only.
    pub netns: Option<PathBuf>,
    /// `CNI_IFNAME`: a valid Linux interface name, where required.
    pub ifname: Option<String>,
}

/// Longest interface name Linux accepts (`IFNAMSIZ` − 1).
pub const MAX_IFNAME_LEN: usize = 15;

/// Reads and checks the environment through `var` (a stand-in for `std::env::var_os`).
pub fn read(var: impl Fn(&str) -> Option<OsString>) -> Result<Env, CniError> {
    let text = |name: &str| -> Result<Option<String>, CniError> {
        match var(name) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => v
                .into_string()
                .map(Some)
                .map_err(|_| CniError::new(Code::InvalidEnv, format!("{name} is not valid UTF-8"))),
        }
    };
    let required = |name: &str, command: Command| -> Result<String, CniError> {
        text(name)?.ok_or_else(|| {
            CniError::new(Code::InvalidEnv, format!("required environment variable {name} is missing or empty"))
                .with_details(format!("CNI_COMMAND={} needs {name}", command.as_str()))
        })
    };

    let command_name = text("CNI_COMMAND")?.ok_or_else(|| {
        CniError::new(Code::InvalidEnv, "required environment variable CNI_COMMAND is missing or empty")
            .with_details("set CNI_COMMAND to ADD, DEL, CHECK, VERSION, STATUS or GC")
    })?;
    let command = Command::parse(&command_name).ok_or_else(|| {
        CniError::new(Code::InvalidEnv, format!("unknown CNI_COMMAND {:?}", Shown::new(&command_name)))
            .with_details("expected ADD, DEL, CHECK, VERSION, STATUS or GC")
    })?;

    let mut env = Env { command, container_id: None, netns: None, ifname: None };
    match command {
        Command::Add | Command::Check | Command::Del => {
            let id = required("CNI_CONTAINERID", command)?;
            check_container_id(&id)?;
            env.container_id = Some(id);
            let ifname = required("CNI_IFNAME", command)?;
            check_ifname(&ifname)?;
            env.ifname = Some(ifname);
            if command != Command::Del {
                env.netns = Some(netns_path(var("CNI_NETNS"), command)?);
            }
        }
        Command::Gc => {
            required("CNI_PATH", command)?;
        }
        Command::Version | Command::Status => {}
    }
    Ok(env)
}

/// `CNI_NETNS` as a path: present, non-empty and absolute. Any bytes but NUL (which the
/// environment cannot carry anyway) make a valid path.
fn netns_path(value: Option<OsString>, command: Command) -> Result<PathBuf, CniError> {
    let path = PathBuf::from(value.filter(|v| !v.is_empty()).ok_or_else(|| {
        CniError::new(Code::InvalidEnv, "required environment variable CNI_NETNS is missing or empty")
            .with_details(format!("CNI_COMMAND={} needs CNI_NETNS", command.as_str()))
    })?);
    if !path.is_absolute() {
        return Err(CniError::new(Code::InvalidEnv, "CNI_NETNS must be an absolute path")
            .with_details(format!("got {:?}", Shown::path(&path))));
    }
    Ok(path)
}

/// The skel's rule: a letter or digit, then letters, digits, `_`, `.` or `-`.
fn check_container_id(id: &str) -> Result<(), CniError> {
    let mut chars = id.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        Ok(())
    } else {
        Err(CniError::new(Code::InvalidEnv, "CNI_CONTAINERID has invalid characters")
            .with_details("it must start with a letter or digit and contain only letters, digits, '_', '.' and '-'"))
    }
}

/// The kernel's rule (`dev_valid_name`), as cni's `ValidateInterfaceName` applies it.
fn check_ifname(name: &str) -> Result<(), CniError> {
    let problem = if name.len() > MAX_IFNAME_LEN {
        Some("is longer than 15 bytes")
    } else if name == "." || name == ".." {
        Some("may not be '.' or '..'")
    } else if name.chars().any(|c| c == '/' || c == ':' || c.is_whitespace()) {
        Some("may not contain '/', ':' or whitespace")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(CniError::new(Code::InvalidEnv, format!("CNI_IFNAME {problem}"))
            .with_details(format!("got {:?}", Shown::new(name)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read_from(pairs: &[(&str, &str)]) -> Result<Env, CniError> {
        let map: HashMap<String, OsString> = pairs.iter().map(|(k, v)| (k.to_string(), OsString::from(v))).collect();
        read(|name| map.get(name).cloned())
    }

    const ADD: &[(&str, &str)] =
        &[("CNI_COMMAND", "ADD"), ("CNI_CONTAINERID", "c1"), ("CNI_NETNS", "/var/run/netns/p"), ("CNI_IFNAME", "net1")];

    #[test]
    fn a_full_add() {
        let env = read_from(ADD).unwrap();
        assert_eq!(env.command, Command::Add);
        assert_eq!(env.ifname.as_deref(), Some("net1"));
        assert_eq!(env.netns, Some(PathBuf::from("/var/run/netns/p")));
    }

    #[test]
    fn each_missing_variable_is_code_4_and_named() {
        for skip in ["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"] {
            let pairs: Vec<_> = ADD.iter().copied().filter(|(k, _)| *k != skip).collect();
            let e = read_from(&pairs).unwrap_err();
            assert_eq!(e.code, Code::InvalidEnv);
            assert!(e.msg.contains(skip), "{e}");
        }
    }

    #[test]
    fn del_needs_no_netns_and_version_needs_nothing() {
        let env = read_from(&[("CNI_COMMAND", "DEL"), ("CNI_CONTAINERID", "c"), ("CNI_IFNAME", "net1")]).unwrap();
        assert_eq!(env.netns, None);
        assert_eq!(read_from(&[("CNI_COMMAND", "VERSION")]).unwrap().command, Command::Version);
        assert_eq!(read_from(&[("CNI_COMMAND", "STATUS")]).unwrap().command, Command::Status);
        assert_eq!(read_from(&[("CNI_COMMAND", "GC")]).unwrap_err().code, Code::InvalidEnv);
        assert_eq!(read_from(&[("CNI_COMMAND", "GC"), ("CNI_PATH", "/opt/cni/bin")]).unwrap().command, Command::Gc);
    }

    #[test]
    fn invalid_values() {
        let with = |k: &str, v: &str| {
            let mut pairs: Vec<_> = ADD.iter().copied().filter(|(key, _)| *key != k).collect();
            pairs.push((k, v));
            read_from(&pairs).unwrap_err()
        };
        for (k, v, needle) in [
            ("CNI_COMMAND", "add", "unknown CNI_COMMAND"),
            ("CNI_COMMAND", "FROB", "unknown CNI_COMMAND"),
            ("CNI_IFNAME", "sixteen-bytes-xx", "longer than 15"),
            ("CNI_IFNAME", "..", "'.' or '..'"),
            ("CNI_IFNAME", "a/b", "may not contain"),
            ("CNI_IFNAME", "a b", "may not contain"),
            ("CNI_NETNS", "var/run/netns/p", "absolute"),
            ("CNI_CONTAINERID", "-c", "invalid characters"),
            ("CNI_CONTAINERID", "c/1", "invalid characters"),
        ] {
            let e = with(k, v);
            assert_eq!(e.code, Code::InvalidEnv, "{k}={v}");
            assert!(e.msg.contains(needle), "{k}={v}: {e}");
        }
        assert!(
            read_from(&[("CNI_COMMAND", "DEL"), ("CNI_CONTAINERID", "c"), ("CNI_IFNAME", "fifteen-bytes-x")]).is_ok()
        );
    }

    #[test]
    fn del_never_reads_netns_and_add_takes_any_absolute_bytes() {
        use std::os::unix::ffi::OsStrExt;
        for netns in ["relative/ns", "", "."] {
            let env = read_from(&[
                ("CNI_COMMAND", "DEL"),
                ("CNI_CONTAINERID", "c"),
                ("CNI_IFNAME", "net1"),
                ("CNI_NETNS", netns),
            ])
            .unwrap();
            assert_eq!(env.netns, None);
        }
        let bytes = std::ffi::OsStr::from_bytes(b"/run/netns/p\xff").to_os_string();
        let env = read(|name| match name {
            "CNI_NETNS" => Some(bytes.clone()),
            "CNI_COMMAND" => Some("ADD".into()),
            "CNI_CONTAINERID" => Some("c1".into()),
            "CNI_IFNAME" => Some("net1".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(env.netns.unwrap().as_os_str(), bytes);
        let del = read(|name| match name {
            "CNI_NETNS" => Some(std::ffi::OsStr::from_bytes(b"rel\xff").to_os_string()),
            "CNI_COMMAND" => Some("DEL".into()),
            "CNI_CONTAINERID" => Some("c1".into()),
            "CNI_IFNAME" => Some("net1".into()),
            _ => None,
        });
        assert!(del.is_ok(), "{del:?}");
    }

    #[test]
    fn echoed_values_are_capped() {
        let long = "X".repeat(10_000);
        let e = read_from(&[("CNI_COMMAND", &long)]).unwrap_err();
        assert!(e.msg.len() < 300, "{}", e.msg.len());
        let long_netns = "x".repeat(100_000);
        let mut pairs: Vec<_> = ADD.iter().copied().filter(|(k, _)| *k != "CNI_NETNS").collect();
        pairs.push(("CNI_NETNS", &long_netns));
        let e = read_from(&pairs).unwrap_err();
        assert!(e.details.len() < 300 && e.details.ends_with("…(100000 bytes)"), "{}", e.details);
    }
}
