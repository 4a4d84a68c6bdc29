//! `check-config`: decode a netconf or a conflist exactly as ADD would, without touching the
//! pool or any netns.
//!
//! A conflist is checked the way libcni runs it: each plugin whose `ipam.type` is this plugin
//! gets the list's `cniVersion` and `name` (replacing its own, as libcni does) and goes through
//! the plugin's decoder as it would arrive on stdin.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipoib_host::defaults;

use super::escape::{self, json_string, text};
use super::node_file::{self, NodeFileError};
use super::report::CliError;
use super::PLUGIN_NAME;
use crate::cni::json::Value;
use crate::cni::{netconf, AllowedDirs};
use crate::run::MAX_STDIN;

/// One problem, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key path inside the file: `plugins[1].ipam.prefixLength`, or the key the decoder named.
    pub path: String,
    /// What is wrong and what to do, from the plugin's decoder.
    pub msg: String,
}

/// What a config decodes to, for the line printed on success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Where in the file (empty for a single netconf, `plugins[N]` in a conflist).
    pub path: String,
    /// A summary of the decoded `ipam` settings.
    pub summary: String,
    /// The settings a lookup uses.
    pub settings: Settings,
}

/// What of a config a lookup uses (`ipoib --config`): ADD's view of the same file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `ipam.kvpPath`.
    pub kvp_path: PathBuf,
    /// `ipam.prefixLength`.
    pub prefix_length: u8,
    /// `ipam.lockTimeoutMs`.
    pub lock_timeout: Duration,
    /// The NIC's PCI address for the sysfs fallback (`runtimeConfig.deviceID` and the like).
    pub device_id: Option<String>,
}

impl Default for Settings {
    /// What ADD uses for a config that sets nothing.
    fn default() -> Settings {
        Settings {
            kvp_path: PathBuf::from(defaults::KVP_PATH),
            prefix_length: defaults::PREFIX_LENGTH,
            lock_timeout: Duration::from_millis(defaults::LOCK_TIMEOUT_MS.into()),
            device_id: None,
        }
    }
}

/// Checks one config file's bytes, with its paths held beneath `dirs` as the plugin holds them:
/// the decoded configs, or every problem found.
pub fn check(input: &[u8], dirs: &AllowedDirs) -> Result<Vec<Decoded>, Vec<Problem>> {
    let parsed = Value::parse(input).ok();
    match parsed.and_then(|v| v.field("plugins")).flatten() {
        Some(plugins) => check_conflist(parsed, plugins, dirs),
        None => check_netconf(input, "", dirs).map(|d| vec![d]).map_err(|p| vec![p]),
    }
}

/// The directories this process's environment names, as the plugin would see them if the
/// runtime passed the same environment.
pub fn dirs_from_env() -> AllowedDirs {
    AllowedDirs::from_env(|name| std::env::var_os(name))
}

fn check_conflist(
    list: Option<Value<'_>>,
    plugins: Value<'_>,
    dirs: &AllowedDirs,
) -> Result<Vec<Decoded>, Vec<Problem>> {
    let (Some(list), Some(elements)) = (list, plugins.elements()) else {
        return Err(vec![problem("plugins", "\"plugins\" is not an array")]);
    };
    let (mut decoded, mut problems) = (Vec::new(), Vec::new());
    for (index, plugin) in elements.enumerate() {
        if !uses_this_plugin(plugin) {
            continue;
        }
        let at = format!("plugins[{index}]");
        match check_netconf(&as_libcni_passes_it(list, plugin), &at, dirs) {
            Ok(d) => decoded.push(d),
            Err(p) => problems.push(p),
        }
    }
    if decoded.is_empty() && problems.is_empty() {
        problems.push(problem("plugins", &format!("no plugin has \"ipam\": {{\"type\": \"{PLUGIN_NAME}\"}}")));
    }
    if problems.is_empty() {
        Ok(decoded)
    } else {
        Err(problems)
    }
}

/// A plugin of a conflist as libcni hands it over: the list's `cniVersion` and `name` injected
/// in place of the plugin's own. Keys are written folded, as the decoder matches them anyway,
/// and `null` members are left out, as the decoder ignores them.
fn as_libcni_passes_it(list: Value<'_>, plugin: Value<'_>) -> Vec<u8> {
    let mut conf = String::from("{");
    for key in ["cniVersion", "name"] {
        if let Some(Some(value)) = list.field(&key.to_ascii_lowercase()) {
            push_member(&mut conf, key, value);
        }
    }
    for (key, value) in plugin.fields().into_iter().flatten() {
        match key.as_deref() {
            Some("cniversion" | "name") | None => {}
            Some(key) => push_member(&mut conf, key, value),
        }
    }
    conf.push('}');
    conf.into_bytes()
}

fn push_member(conf: &mut String, key: &str, value: Value<'_>) {
    if conf.len() > 1 {
        conf.push(',');
    }
    json_string(conf, key);
    conf.push(':');
    // The raw text of a value that passed validation is UTF-8.
    conf.push_str(&String::from_utf8_lossy(value.raw()));
}

/// Whether `ipam.type` names this plugin.
fn uses_this_plugin(conf: Value<'_>) -> bool {
    ipam_type(conf).is_some_and(|t| t == PLUGIN_NAME)
}

fn ipam_type(conf: Value<'_>) -> Option<String> {
    let ipam = conf.field("ipam")??;
    Some(ipam.field("type")??.str()?.into_owned())
}

/// One netconf through the plugin's decoder, then the check that it names this plugin.
fn check_netconf(input: &[u8], at: &str, dirs: &AllowedDirs) -> Result<Decoded, Problem> {
    let conf = netconf::decode(input, dirs).map_err(|e| {
        let msg = if e.details.is_empty() { e.msg } else { format!("{} ({})", e.msg, e.details) };
        Problem { path: at.to_string(), msg }
    })?;
    match Value::parse(input).ok().and_then(ipam_type) {
        Some(t) if t == PLUGIN_NAME => {}
        other => {
            let found = other.map_or("missing".to_string(), |t| format!("{:?}", text(t.as_bytes())));
            let path = if at.is_empty() { "ipam.type".to_string() } else { format!("{at}.ipam.type") };
            return Err(Problem { path, msg: format!("is {found}, not \"{PLUGIN_NAME}\"") });
        }
    }
    let ipam = &conf.ipam;
    let summary = format!(
        "cniVersion {}, kvpPath {}, prefixLength {}, {} routes, lockTimeoutMs {}",
        conf.cni_version,
        text(ipam.kvp_path.as_bytes()),
        ipam.prefix_length,
        ipam.routes.len(),
        ipam.lock_timeout.as_millis()
    );
    let settings = Settings {
        kvp_path: PathBuf::from(ipam.kvp_path.as_ref()),
        prefix_length: ipam.prefix_length,
        lock_timeout: ipam.lock_timeout,
        device_id: conf.device_id.as_deref().map(str::to_owned),
    };
    Ok(Decoded { path: at.to_string(), summary, settings })
}

fn too_large(name: &str) -> CliError {
    CliError::new(format!("{name} is larger than {} MiB", MAX_STDIN >> 20), "a CNI config is a few KiB")
}

fn problem(path: &str, msg: &str) -> Problem {
    Problem { path: path.to_string(), msg: msg.to_string() }
}

/// `check-config FILE|-`.
pub fn run(
    file: &OsStr,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<i32, CliError> {
    let (name, input) = read_config(file, stdin)?;
    match check(&input, &dirs_from_env()) {
        Ok(decoded) => {
            for d in decoded {
                let at = if d.path.is_empty() { String::new() } else { format!(" {}", d.path) };
                let _ = writeln!(stdout, "{name}{at}: ok ({})", d.summary);
            }
            Ok(0)
        }
        Err(problems) => {
            for p in &problems {
                let at = if p.path.is_empty() { String::new() } else { format!(" {}", p.path) };
                // The decoder's message may quote a config value: escaped, like everything printed.
                let _ = writeln!(stderr, "{name}{at}: {}", escape::controls(&p.msg));
            }
            Err(CliError::new(
                format!("{name}: {} problem(s); ADD would fail with this config", problems.len()),
                "fix the keys named above; the README's configuration table lists each key",
            ))
        }
    }
}

/// The settings of the first config in `file` that uses this plugin, as ADD would decode it.
pub fn settings_of(file: &OsStr, stdin: &mut dyn Read) -> Result<Settings, CliError> {
    let (name, input) = read_config(file, stdin)?;
    match check(&input, &dirs_from_env()) {
        Ok(decoded) => decoded.into_iter().next().map(|d| d.settings).ok_or_else(|| {
            CliError::new(format!("{name} has no config for {PLUGIN_NAME}"), "`check-config FILE` says more")
        }),
        Err(problems) => {
            let first = problems.first().map_or(String::new(), |p| format!(": {}: {}", p.path, p.msg));
            Err(CliError::new(
                format!("{name} is not a valid config{first}"),
                "`check-config FILE` lists every problem",
            ))
        }
    }
}

/// The bytes of `file` (`-`: stdin), at most [`MAX_STDIN`], and the name to show for it.
fn read_config(file: &OsStr, stdin: &mut dyn Read) -> Result<(String, Vec<u8>), CliError> {
    let (name, input) = if file == "-" {
        let mut input = Vec::new();
        let limit = u64::try_from(MAX_STDIN).unwrap_or(u64::MAX);
        stdin
            .take(limit + 1)
            .read_to_end(&mut input)
            .map_err(|e| CliError::new(format!("cannot read stdin: {e}"), "pipe the config in, or give a FILE"))?;
        ("stdin".to_string(), input)
    } else {
        let path = Path::new(file);
        let name = escape::path(path);
        // As stdin: at most MAX_STDIN bytes, and never a FIFO or a device that would block or
        // never end.
        let input = node_file::read_at_most(path, MAX_STDIN).map_err(|e| match e {
            NodeFileError::TooLarge(_) => too_large(&name),
            NodeFileError::NotRegular(_) => {
                CliError::new(format!("cannot read {name}: {e}"), "give a regular file, or `-` and the config on stdin")
            }
            NodeFileError::Io(_) => {
                CliError::new(format!("cannot read {name}: {e}"), "check the path and its permissions")
            }
        })?;
        (name, input)
    };
    if input.len() > MAX_STDIN {
        return Err(too_large(&name));
    }
    Ok((name, input))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_netconf_and_a_conflist() {
        let conf = br#"{"cniVersion":"1.0.0","name":"n","type":"host-device","ipam":{"type":"azure-ipoib-ipam-cni"}}"#;
        assert_eq!(check(conf, &AllowedDirs::anywhere()).unwrap().len(), 1);
        let list = br#"{"cniVersion":"1.0.0","name":"l","plugins":[{"type":"host-device","cniVersion":"9","ipam":{"type":"azure-ipoib-ipam-cni","prefixLength":24}},{"type":"tuning"}]}"#;
        let decoded = check(list, &AllowedDirs::anywhere()).unwrap();
        assert_eq!(decoded[0].path, "plugins[0]");
        assert!(decoded[0].summary.contains("prefixLength 24"), "{decoded:?}");
    }

    #[test]
    fn problems_name_their_key() {
        let list = br#"{"cniVersion":"1.0.0","name":"l","plugins":[{"type":"host-device","ipam":{"type":"azure-ipoib-ipam-cni","prefixLength":0}}]}"#;
        let problems = check(list, &AllowedDirs::anywhere()).unwrap_err();
        assert_eq!(problems[0].path, "plugins[0]");
        assert!(problems[0].msg.contains("ipam.prefixLength"), "{problems:?}");
        let other = br#"{"cniVersion":"1.0.0","name":"n","ipam":{"type":"whereabouts"}}"#;
        assert_eq!(check(other, &AllowedDirs::anywhere()).unwrap_err()[0].path, "ipam.type");
        let none = br#"{"cniVersion":"1.0.0","name":"l","plugins":[{"type":"bridge"}]}"#;
        assert_eq!(check(none, &AllowedDirs::anywhere()).unwrap_err()[0].path, "plugins");
        assert!(!check(b"{", &AllowedDirs::anywhere()).unwrap_err()[0].msg.is_empty());
    }
}
