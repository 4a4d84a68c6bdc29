//! Command-line flags, spelled as the Go original's so its manifests work unchanged: Go's
//! `flag` package accepts `-name=value`, `--name=value`, `-name value` and `--name value`.
//! (lexopt and clap read a single dash as short options, hence these few lines by hand.)

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use ipoib_host::defaults::{self, MAX_PREFIX_V6};
use ipoib_host::outside_value::Shown;

use crate::log::Level;

/// Loopback only unless told otherwise: a hostNetwork pod's `:8080` is every node interface.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// Connections served at once; more wait in the listen backlog.
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;

/// The usage text for `--help` and flag errors.
pub const USAGE: &str = "\
usage: azure-ipoib-webhook [flags]
DRANet profile-provider webhook: answers a NIC's IPoIB address from the Hyper-V KVP pool.

  --bind-address ADDR     TCP host:port (\":8080\" = all interfaces) or unix:///path.sock
                          (default 127.0.0.1:8080)
  --kvp-path PATH         KVP pool file (default /var/lib/hyperv/.kvp_pool_0)
  --profile NAME          answer only requests whose config.profile is NAME (default: any)
  --prefix-length N       prefix length of the answered address (default 16)
  --lock-timeout-ms MS    how long to wait for hv_kvp_daemon's write lock (default 2000)
  --max-connections N     connections served at once (default 64)
  --log-level LEVEL       error, warn, info (one line per request) or debug (default info)
  --kvp-cache-ttl D       accepted for the Go original's manifests and ignored: the pool is
                          read on every request
  --prepare-socket-dir    give the --bind-address socket's directory to this process's group
                          (mode 0770) and exit: for a root init container with no capabilities,
                          so that the webhook itself can run as a non-root user of that group
";

/// Where to listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    /// `host:port`, or `:port` for every interface.
    Tcp(String),
    /// `unix:///path.sock`.
    Unix(PathBuf),
}

impl fmt::Display for Bind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bind::Tcp(addr) => f.write_str(addr),
            Bind::Unix(path) => write!(f, "unix://{}", Shown::path(path)),
        }
    }
}

/// The webhook's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where to listen.
    pub bind: Bind,
    /// The pool file.
    pub kvp_path: PathBuf,
    /// The only `config.profile` answered, if set.
    pub profile: Option<String>,
    /// Prefix length of answered addresses.
    pub prefix_length: u8,
    /// Longest wait for the pool's write lock.
    pub lock_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// What is logged.
    pub log_level: Level,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            bind: Bind::Tcp(DEFAULT_BIND.into()),
            kvp_path: PathBuf::from(defaults::KVP_PATH),
            profile: None,
            prefix_length: defaults::PREFIX_LENGTH,
            lock_timeout: Duration::from_millis(defaults::LOCK_TIMEOUT_MS.into()),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            log_level: Level::Info,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Serve with this config.
    Run(Config),
    /// Print [`USAGE`] and exit 0.
    Help,
    /// Prepare the unix socket's directory for a non-root webhook, then exit
    /// (`--prepare-socket-dir`, see [`crate::listen::prepare_socket_dir`]).
    PrepareSocketDir(Config),
}

/// Parses the arguments after the program name as the OS passed them: an argument that is not
/// UTF-8 is a usage error, never a panic (`std::env::args` panics on one).
pub fn parse_os<I: IntoIterator<Item = OsString>>(args: I) -> Result<Parsed, String> {
    let args = args
        .into_iter()
        .enumerate()
        .map(|(at, arg)| {
            arg.into_string().map_err(|arg| {
                format!(
                    "argument {} ({:?}) is not UTF-8: every flag and value must be UTF-8 text",
                    at + 1,
                    Shown::os(&arg)
                )
            })
        })
        .collect::<Result<Vec<String>, String>>()?;
    parse(args)
}

/// Parses the arguments after the program name; the error is one line for the user, quoting
/// at most a bounded slice of any argument ([`Shown`]).
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Parsed, String> {
    let mut config = Config::default();
    let mut prepare = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let Some(flag) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            return Err(format!("unexpected argument {:?}: every setting is a flag", Shown::new(&arg)));
        };
        let (name, inline) = match flag.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (flag, None),
        };
        if name == "help" || name == "h" {
            return Ok(Parsed::Help);
        }
        if name == "prepare-socket-dir" {
            if inline.is_some() {
                return Err("--prepare-socket-dir takes no value".into());
            }
            prepare = true;
            continue;
        }
        let value = match inline.or_else(|| args.next()) {
            Some(value) => value,
            None => return Err(format!("flag needs an argument: -{}", Shown::new(name))),
        };
        match name {
            "bind-address" => config.bind = bind(&value)?,
            "kvp-path" if value.is_empty() => return Err("--kvp-path must not be empty".into()),
            "kvp-path" => config.kvp_path = PathBuf::from(value),
            "profile" => config.profile = Some(value).filter(|p| !p.is_empty()),
            "prefix-length" => config.prefix_length = number(name, &value, 1, MAX_PREFIX_V6)?,
            "lock-timeout-ms" => {
                config.lock_timeout =
                    Duration::from_millis(number(name, &value, 0, defaults::MAX_LOCK_TIMEOUT_MS)?.into())
            }
            "max-connections" => config.max_connections = number(name, &value, 1, 65_536)?,
            "log-level" => config.log_level = value.parse()?,
            "kvp-cache-ttl" => {}
            _ => return Err(format!("flag provided but not defined: -{}", Shown::new(name))),
        }
    }
    match (prepare, &config.bind) {
        (false, _) => Ok(Parsed::Run(config)),
        (true, Bind::Unix(_)) => Ok(Parsed::PrepareSocketDir(config)),
        (true, Bind::Tcp(_)) => Err("--prepare-socket-dir needs a unix:// --bind-address".into()),
    }
}

fn bind(value: &str) -> Result<Bind, String> {
    if let Some(path) = value.strip_prefix("unix://") {
        if !path.starts_with('/') {
            return Err(format!(
                "--bind-address {:?}: a unix socket path must be absolute (unix:///path.sock)",
                Shown::new(value)
            ));
        }
        return Ok(Bind::Unix(PathBuf::from(path)));
    }
    match value.rsplit_once(':') {
        Some((_, port)) if port.parse::<u16>().is_ok() => Ok(Bind::Tcp(value.to_string())),
        _ => Err(format!("--bind-address {:?}: expected host:port, :port or unix:///path.sock", Shown::new(value))),
    }
}

fn number<T: std::str::FromStr + PartialOrd + fmt::Display>(
    name: &str,
    value: &str,
    min: T,
    max: T,
) -> Result<T, String> {
    match value.parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(format!("--{name} {:?}: expected a whole number from {min} to {max}", Shown::new(value))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Config, String> {
        match parse(args.iter().map(|s| s.to_string()))? {
            Parsed::Run(c) => Ok(c),
            Parsed::Help => Err("help".into()),
            Parsed::PrepareSocketDir(_) => Err("prepare".into()),
        }
    }

    #[test]
    fn go_spellings_and_defaults() {
        assert_eq!(run(&[]).unwrap(), Config::default());
        let c = run(&[
            "--bind-address=unix:///var/run/dranet/webhook.sock",
            "-kvp-path",
            "/p",
            "--profile",
            "ib",
            "-prefix-length=24",
            "--lock-timeout-ms=10",
            "--kvp-cache-ttl=5s",
            "--log-level",
            "warn",
        ])
        .unwrap();
        assert_eq!(c.bind, Bind::Unix("/var/run/dranet/webhook.sock".into()));
        assert_eq!((c.kvp_path.to_str(), c.profile.as_deref(), c.prefix_length), (Some("/p"), Some("ib"), 24));
        assert_eq!((c.lock_timeout, c.log_level), (Duration::from_millis(10), Level::Warn));
        assert_eq!(run(&["--bind-address", ":8080"]).unwrap().bind, Bind::Tcp(":8080".into()));
        assert_eq!(run(&["-h"]), Err("help".into()));
        let prepare = parse(["--prepare-socket-dir", "--bind-address=unix:///run/x/w.sock"].map(String::from));
        assert!(matches!(prepare, Ok(Parsed::PrepareSocketDir(c)) if c.bind == Bind::Unix("/run/x/w.sock".into())));
    }

    #[test]
    fn non_utf8_is_a_usage_error_and_echoes_are_bounded() {
        use std::os::unix::ffi::OsStringExt;
        let args = [OsString::from("--kvp-path"), OsString::from_vec(b"/p\xff".to_vec())];
        let e = parse_os(args).unwrap_err();
        assert_eq!(e, "argument 2 (\"/p\u{fffd}\") is not UTF-8: every flag and value must be UTF-8 text");
        assert!(matches!(parse_os([OsString::from("-h")]), Ok(Parsed::Help)));
        let long = format!("--{}", "x".repeat(100_000));
        let e = run(&[&long, "1"]).unwrap_err();
        assert!(e.len() < 400 && e.ends_with("…(100000 bytes)"), "{e}");
    }

    #[test]
    fn refuses_bad_flags() {
        for args in [
            &["--nope=1"][..],
            &["--prefix-length=0"],
            &["--prefix-length=129"],
            &["--bind-address=8080"],
            &["--bind-address=unix://rel.sock"],
            &["--lock-timeout-ms=-1"],
            &["--log-level=loud"],
            &["--profile"],
            &["stray"],
            &["--prepare-socket-dir"],
            &["--prepare-socket-dir=true", "--bind-address=unix:///run/x/w.sock"],
        ] {
            assert!(run(args).is_err(), "{args:?}");
        }
    }
}
