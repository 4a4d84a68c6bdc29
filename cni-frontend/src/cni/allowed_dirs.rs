//! Where a network config's paths may lead: the node admin's choice, never the config's.
//!
//! Under Multus a NetworkAttachmentDefinition is namespaced, so whoever may write one in their
//! namespace writes the whole netconf, while the plugin runs as root on the node. `ipam.kvpPath`
//! and `ipam.logFile` are therefore held beneath two directories that only the plugin's own
//! environment names: a runtime passes its environment to the plugins it runs (libcni starts
//! from `os.Environ()`), a netconf cannot set it, and `getenv` costs no syscall.
//!
//! | variable | default | holds |
//! |---|---|---|
//! | `AZURE_IPOIB_KVP_DIR` | `/var/lib/hyperv` | every `ipam.kvpPath` |
//! | `AZURE_IPOIB_LOG_DIR` | `/var/log/azure-ipoib-ipam-cni` | every `ipam.logFile` |
//!
//! The value `/` means anywhere (the test suites' temp pools). The check here is lexical: an
//! absolute path with no `..` that starts with the directory, component by component. The open
//! that follows ([`crate::regular_file`]) follows no symlink, so the file reached is the one the
//! path spells. A path outside is refused before anything touches the file system, with one fixed
//! answer that says nothing about the file.

use std::borrow::Cow;
use std::ffi::OsString;
use std::path::{Component, Path};

use super::error::{CniError, Code};
use crate::outside_value::Shown;

/// The variable that names the pools' directory.
pub const KVP_DIR_VAR: &str = "AZURE_IPOIB_KVP_DIR";
/// Where hv_kvp_daemon keeps its pools.
pub const DEFAULT_KVP_DIR: &str = "/var/lib/hyperv";
/// The variable that names the logs' directory.
pub const LOG_DIR_VAR: &str = "AZURE_IPOIB_LOG_DIR";
/// The plugin's own log directory.
pub const DEFAULT_LOG_DIR: &str = "/var/log/azure-ipoib-ipam-cni";

/// One directory a netconf path must stay beneath, as the environment gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedDir {
    /// The variable that set it (named in every refusal).
    pub var: &'static str,
    /// The directory: an absolute path, or `Err` with the variable's unusable value, shown in
    /// the refusal so the admin sees what the runtime passed.
    pub dir: Result<String, String>,
}

/// Both directories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedDirs {
    /// Where pools may be read (`ipam.kvpPath`).
    pub kvp: AllowedDir,
    /// Where logs may be written (`ipam.logFile`).
    pub log: AllowedDir,
}

impl AllowedDirs {
    /// The directories `var` (the process environment, or a test's) names, with the defaults for
    /// variables unset or empty.
    pub fn from_env(var: impl Fn(&str) -> Option<OsString>) -> AllowedDirs {
        AllowedDirs {
            kvp: AllowedDir::from_var(KVP_DIR_VAR, var(KVP_DIR_VAR), DEFAULT_KVP_DIR),
            log: AllowedDir::from_var(LOG_DIR_VAR, var(LOG_DIR_VAR), DEFAULT_LOG_DIR),
        }
    }

    /// The defaults, as a runtime that sets neither variable gets them.
    pub fn defaults() -> AllowedDirs {
        AllowedDirs::from_env(|_| None)
    }

    /// Anywhere, as `/` in both variables gives.
    pub fn anywhere() -> AllowedDirs {
        let root = |var| AllowedDir { var, dir: Ok("/".to_string()) };
        AllowedDirs { kvp: root(KVP_DIR_VAR), log: root(LOG_DIR_VAR) }
    }
}

impl AllowedDir {
    fn from_var(var: &'static str, value: Option<OsString>, default: &str) -> AllowedDir {
        let dir = match value.filter(|v| !v.is_empty()) {
            None => Ok(default.to_string()),
            Some(value) => match value.into_string() {
                Ok(text) if Path::new(&text).is_absolute() && !has_parent_dir(Path::new(&text)) => Ok(text),
                Ok(text) => Err(text),
                Err(raw) => Err(raw.to_string_lossy().into_owned()),
            },
        };
        AllowedDir { var, dir }
    }

    /// `path` (`key`'s value) if it lies beneath this directory; a relative `path` is taken as
    /// relative to it when `relative_ok`. The error names the key and the directory, never the
    /// path, and is the same whether or not anything exists there.
    pub fn confine<'p>(&self, key: &str, path: Cow<'p, str>, relative_ok: bool) -> Result<Cow<'p, str>, CniError> {
        let dir = self.dir.as_deref().map_err(|value| self.unusable(key, value))?;
        let full = if Path::new(path.as_ref()).is_absolute() || !relative_ok {
            path
        } else {
            Cow::Owned(Path::new(dir).join(path.as_ref()).to_string_lossy().into_owned())
        };
        let beneath = Path::new(full.as_ref()).strip_prefix(dir).is_ok_and(|rest| rest.components().next().is_some());
        if !beneath || has_parent_dir(Path::new(full.as_ref())) || full.contains('\0') {
            return Err(self.outside(key, dir));
        }
        Ok(full)
    }

    fn outside(&self, key: &str, dir: &str) -> CniError {
        let dir = Shown::new(dir);
        CniError::new(Code::InvalidConfig, format!("{key} is outside {} ({dir})", self.var)).with_details(format!(
            "{key} must name a file beneath {dir}, with no \"..\" and no symlink; the node's admin sets {} in \
             the runtime's environment, and a network config cannot widen it",
            self.var
        ))
    }

    fn unusable(&self, key: &str, value: &str) -> CniError {
        let shown = Shown::new(value);
        CniError::new(Code::InvalidConfig, format!("{key} cannot be checked: {} is not an absolute path", self.var))
            .with_details(format!(
                "the runtime's environment has {}={shown:?}; the node's admin must set an absolute directory \
                 (or / for anywhere), without \"..\"",
                self.var
            ))
    }
}

fn has_parent_dir(path: &Path) -> bool {
    path.components().any(|c| c == Component::ParentDir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(value: &str) -> AllowedDir {
        AllowedDir::from_var(KVP_DIR_VAR, Some(value.into()), DEFAULT_KVP_DIR)
    }

    #[test]
    fn defaults_and_variables() {
        let dirs = AllowedDirs::defaults();
        assert_eq!(dirs.kvp.dir.as_deref(), Ok("/var/lib/hyperv"));
        assert_eq!(dirs.log.dir.as_deref(), Ok("/var/log/azure-ipoib-ipam-cni"));
        let env = |name: &str| (name == KVP_DIR_VAR).then(|| OsString::from("/srv/kvp"));
        let dirs = AllowedDirs::from_env(env);
        assert_eq!((dirs.kvp.dir.as_deref(), dirs.log.dir.as_deref()), (Ok("/srv/kvp"), Ok(DEFAULT_LOG_DIR)));
        assert_eq!(
            AllowedDir::from_var(KVP_DIR_VAR, Some("".into()), DEFAULT_KVP_DIR).dir.as_deref(),
            Ok(DEFAULT_KVP_DIR)
        );
        for bad in ["relative", "/a/../b", ".."] {
            assert!(dir(bad).dir.is_err(), "{bad}");
            let e = dir(bad).confine("ipam.kvpPath", "/var/lib/hyperv/.kvp_pool_0".into(), false).unwrap_err();
            assert_eq!(e.code, Code::InvalidConfig);
            assert!(e.msg.contains("AZURE_IPOIB_KVP_DIR is not an absolute path"), "{}", e.msg);
        }
    }

    #[test]
    fn paths_must_stay_beneath() {
        let kvp = dir("/var/lib/hyperv");
        let ok = |path: &'static str| kvp.confine("ipam.kvpPath", path.into(), false);
        assert_eq!(ok("/var/lib/hyperv/.kvp_pool_0").unwrap(), "/var/lib/hyperv/.kvp_pool_0");
        assert_eq!(ok("/var/lib/hyperv//sub/./p").unwrap(), "/var/lib/hyperv//sub/./p");
        for outside in [
            "/etc/shadow",
            "/var/lib/hyperv",
            "/var/lib/hyperv/",
            "/var/lib/hyperv/../../etc/shadow",
            "/var/lib/hyperv/x/../y",
            "/var/lib/hyperv2/p",
            "/var/lib",
            "relative",
            "/x /var/lib/hyperv/evil.so y",
        ] {
            let e = ok(outside).unwrap_err();
            assert_eq!(e.code, Code::InvalidConfig, "{outside}");
            assert_eq!(e.msg, "ipam.kvpPath is outside AZURE_IPOIB_KVP_DIR (/var/lib/hyperv)");
            // One fixed answer: nothing in it depends on the path.
            assert_eq!(e, ok("/etc/shadow").unwrap_err());
        }
    }

    #[test]
    fn a_relative_log_file_is_relative_to_its_directory() {
        let log = AllowedDir::from_var(LOG_DIR_VAR, None, DEFAULT_LOG_DIR);
        let at = |path: &'static str| log.confine("ipam.logFile", path.into(), true);
        assert_eq!(at("calls.log").unwrap(), "/var/log/azure-ipoib-ipam-cni/calls.log");
        assert_eq!(at("/var/log/azure-ipoib-ipam-cni/a.log").unwrap(), "/var/log/azure-ipoib-ipam-cni/a.log");
        for outside in ["../x", "/etc/ld.so.preload", "/proc/sys/kernel/hostname", "/root/.bashrc", ""] {
            assert!(at(outside).is_err(), "{outside}");
        }
    }

    #[test]
    fn root_means_anywhere_without_dot_dot() {
        let root = AllowedDirs::anywhere().kvp;
        assert_eq!(root.confine("ipam.kvpPath", "/tmp/p".into(), false).unwrap(), "/tmp/p");
        assert!(root.confine("ipam.kvpPath", "/tmp/../etc/shadow".into(), false).is_err());
        assert!(root.confine("ipam.kvpPath", "/".into(), false).is_err());
    }
}
