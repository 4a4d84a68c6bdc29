//! The command line, parsed with `lexopt`.
//!
//! Why lexopt: one small source file with no dependencies, so it adds little to a binary that
//! must stay under 1 MiB (clap and its dependencies typically add several hundred KiB), and it
//! does no work at start-up: nothing runs until the CLI asks for the next argument, and the CNI
//! path never does. It handles what hand-written parsing gets wrong (`--opt=value`, `--`,
//! non-UTF-8 arguments) and words its errors itself.

use std::ffi::OsString;
use std::path::PathBuf;

use lexopt::prelude::*;

use super::report::CliError;
use ipoib_host::defaults::KVP_PATH as DEFAULT_KVP_PATH;

/// Where hv_kvp_daemon keeps its pools: `.kvp_pool_<N>` for N in 0..=4.
const POOL_DIR: &str = "/var/lib/hyperv";
/// Where kubelet looks for CNI plugins.
pub const DEFAULT_CNI_BIN_DIR: &str = "/opt/cni/bin";
/// Where `install --systemd` puts the unit.
pub const DEFAULT_UNIT_DIR: &str = "/etc/systemd/system";

/// The usage text of `--help`.
pub const USAGE: &str = "\
azure-ipoib-ipam-cni: CNI IPAM plugin for Azure IPoIB addresses, and its operator CLI.

Run by a container runtime (CNI_COMMAND set), it is the plugin. Run by hand, it is this CLI:

USAGE:
  azure-ipoib-ipam-cni                      about line and supported CNI versions
  azure-ipoib-ipam-cni --help | -h | help   this text
  azure-ipoib-ipam-cni --version            plugin and CNI versions

  kvp [--pool N | --path FILE] [--json]     every record of a KVP pool (default pool 0)
  kvp get KEY... [--pool N | --path FILE]   the value of KEY (exit 1 if absent)
  ipoib [--path FILE] [--json]              the MAC -> address pairs of IPoIB_Data
  ipoib --hwaddr ADDR [--path FILE]         the address of a hardware address as `ip link`
                                            prints it (20-byte IPoIB or 6-byte, colon hex)
  ipoib --netns PATH --ifname NAME [--config FILE] [--path FILE]
                                            what ADD answers for that NIC (with the
                                            prefix, pool and PCI fallback of FILE's config)
  ipoib up [--link NAME]... [--prefix-length N] [--path FILE] [--state FILE]
           [--watch] [--json] [--dry-run]
                                            give this VM's IPoIB links their KVP addresses
                                            (every InfiniBand link, or the --link ones), and
                                            with --watch keep them so; exit 1 if a link has
                                            no pair
  check-config FILE|-                       decode a netconf or conflist as ADD does
  doctor [--json] [--path FILE] [--sys DIR] [--proc DIR] [--cni-etc DIR] [--cni-bin-dir DIR]
                                            check this node; exit 1 if a check fails
  install [--dest DIR] [--systemd | --unit-dir DIR]
                                            copy this binary into DIR (default /opt/cni/bin)
                                            atomically; with --systemd, also the unit of
                                            `ipoib up --watch` (/etc/systemd/system, or DIR)

Pools are read under hv_kvp_daemon's lock, as ADD reads them. Bytes that are not UTF-8 are
printed as \\xNN. Exit status: 0 ok, 1 failure, 2 usage error, 3 not ready yet (pool
missing, locked, empty or without IPoIB_Data: try again later).
";

/// One parsed command line.
#[derive(Debug)]
pub enum Invocation {
    /// No arguments.
    About,
    /// `--help`, `-h`, `help`.
    Help,
    /// `--version`.
    Version,
    /// `kvp` and `kvp get`.
    Kvp { pool: PathBuf, json: bool, keys: Option<Vec<OsString>> },
    /// `ipoib`: the pool of `--path`, else of `--config`'s config, else the default.
    Ipoib { pool: Option<PathBuf>, config: Option<OsString>, json: bool, query: Query },
    /// `ipoib up`.
    IpoibUp(UpOptions),
    /// `check-config`.
    CheckConfig { file: OsString },
    /// `doctor`.
    Doctor(DoctorOptions),
    /// `install`: the binary into `dest`, and with `--systemd` the `ipoib up` unit into `unit_dir`.
    Install { dest: PathBuf, unit_dir: Option<PathBuf> },
}

/// What `ipoib` is asked.
#[derive(Debug)]
pub enum Query {
    /// Every pair.
    All,
    /// The pair of one hardware address, as text.
    HwAddr(OsString),
    /// The NIC `ifname` in the netns at `netns`, as ADD finds it.
    Netns { netns: PathBuf, ifname: String },
}

/// What `ipoib up` is asked.
#[derive(Debug)]
pub struct UpOptions {
    /// `--link NAME`, repeated; empty: every InfiniBand link.
    pub links: Vec<String>,
    /// `--prefix-length`.
    pub prefix_length: u8,
    /// `--path`.
    pub pool: PathBuf,
    /// `--state`.
    pub state: PathBuf,
    /// `--watch`.
    pub watch: bool,
    /// `--json`.
    pub json: bool,
    /// `--dry-run`.
    pub dry_run: bool,
}

/// Where `doctor` looks: every root can be pointed at a fake tree.
#[derive(Debug)]
pub struct DoctorOptions {
    pub json: bool,
    pub pool: PathBuf,
    pub sys: PathBuf,
    pub proc: PathBuf,
    pub cni_etc: PathBuf,
    pub cni_bin_dir: PathBuf,
}

/// Parses `args` (without the program name).
pub fn parse(args: Vec<OsString>) -> Result<Invocation, CliError> {
    parse_lexopt(args).map_err(|e| match e {
        Parsed::Usage(msg) => CliError::usage(msg),
        Parsed::Lexopt(e) => CliError::usage(e.to_string()),
    })
}

enum Parsed {
    Usage(String),
    Lexopt(lexopt::Error),
}

impl From<lexopt::Error> for Parsed {
    fn from(e: lexopt::Error) -> Parsed {
        Parsed::Lexopt(e)
    }
}

fn usage(msg: impl Into<String>) -> Parsed {
    Parsed::Usage(msg.into())
}

fn parse_lexopt(args: Vec<OsString>) -> Result<Invocation, Parsed> {
    let mut parser = lexopt::Parser::from_args(args);
    let command = match parser.next()? {
        None => return Ok(Invocation::About),
        Some(Long("help") | Short('h')) => return no_more(&mut parser, Invocation::Help),
        Some(Long("version")) => return no_more(&mut parser, Invocation::Version),
        Some(Value(command)) => command,
        Some(other) => return Err(other.unexpected().into()),
    };
    match command.to_str() {
        Some("help") => no_more(&mut parser, Invocation::Help),
        Some("kvp") => kvp(&mut parser),
        Some("ipoib") => ipoib(&mut parser),
        Some("check-config") => check_config(&mut parser),
        Some("doctor") => doctor(&mut parser),
        Some("install") => install(&mut parser),
        _ => Err(usage(format!("unknown command {:?}", command.to_string_lossy()))),
    }
}

fn no_more(parser: &mut lexopt::Parser, invocation: Invocation) -> Result<Invocation, Parsed> {
    match parser.next()? {
        None => Ok(invocation),
        Some(arg) => Err(arg.unexpected().into()),
    }
}

/// `--pool N` as hv_kvp_daemon names its pools.
fn pool_path(n: &str) -> Result<PathBuf, Parsed> {
    match n.parse::<u8>() {
        Ok(n @ 0..=4) => Ok(PathBuf::from(format!("{POOL_DIR}/.kvp_pool_{n}"))),
        _ => Err(usage(format!("--pool takes 0 to 4 (hv_kvp_daemon's pools), not {n:?}"))),
    }
}

fn kvp(parser: &mut lexopt::Parser) -> Result<Invocation, Parsed> {
    let (mut pool, mut json, mut keys): (Option<PathBuf>, bool, Option<Vec<OsString>>) = (None, false, None);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("pool") if pool.is_none() => pool = Some(pool_path(&parser.value()?.string()?)?),
            Long("path") if pool.is_none() => pool = Some(parser.value()?.into()),
            Long("pool" | "path") => return Err(usage("give one of --pool and --path, once")),
            Long("json") => json = true,
            Value(word) if keys.is_none() && word == "get" => keys = Some(Vec::new()),
            Value(key) if keys.is_some() => keys.get_or_insert_with(Vec::new).push(key),
            other => return Err(other.unexpected().into()),
        }
    }
    if keys.as_ref().is_some_and(Vec::is_empty) {
        return Err(usage("kvp get needs at least one KEY"));
    }
    Ok(Invocation::Kvp { pool: pool.unwrap_or_else(|| PathBuf::from(DEFAULT_KVP_PATH)), json, keys })
}

fn ipoib(parser: &mut lexopt::Parser) -> Result<Invocation, Parsed> {
    if parser.try_raw_args().is_some_and(|raw| raw.peek().is_some_and(|first| first == "up")) {
        let _ = parser.next()?;
        return ipoib_up(parser);
    }
    let (mut pool, mut json, mut config): (Option<PathBuf>, bool, Option<OsString>) = (None, false, None);
    let (mut hwaddr, mut netns, mut ifname): (Option<OsString>, Option<PathBuf>, Option<String>) = (None, None, None);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("path") => pool = Some(parser.value()?.into()),
            Long("json") => json = true,
            Long("hwaddr") => hwaddr = Some(parser.value()?),
            Long("netns") => netns = Some(parser.value()?.into()),
            Long("ifname") => ifname = Some(parser.value()?.string()?),
            Long("config") => config = Some(parser.value()?),
            other => return Err(other.unexpected().into()),
        }
    }
    let query = match (hwaddr, netns, ifname) {
        (None, None, None) => Query::All,
        (Some(hwaddr), None, None) => Query::HwAddr(hwaddr),
        (None, Some(netns), Some(ifname)) => Query::Netns { netns, ifname },
        (None, _, _) => return Err(usage("--netns and --ifname go together")),
        (Some(_), _, _) => return Err(usage("--hwaddr cannot be combined with --netns/--ifname")),
    };
    Ok(Invocation::Ipoib { pool, config, json, query })
}

fn ipoib_up(parser: &mut lexopt::Parser) -> Result<Invocation, Parsed> {
    let mut options = UpOptions {
        links: Vec::new(),
        prefix_length: ipoib_host::defaults::PREFIX_LENGTH,
        pool: PathBuf::from(DEFAULT_KVP_PATH),
        state: PathBuf::from(ipoib_host::vm::state::STATE_PATH),
        watch: false,
        json: false,
        dry_run: false,
    };
    while let Some(arg) = parser.next()? {
        match arg {
            Long("link") => options.links.push(parser.value()?.string()?),
            Long("prefix-length") => {
                let text = parser.value()?.string()?;
                let max = ipoib_host::defaults::MAX_PREFIX_V6;
                options.prefix_length = text
                    .parse()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| usage(format!("--prefix-length takes 1 to {max}, not {:?}", text)))?;
            }
            Long("path") => options.pool = parser.value()?.into(),
            Long("state") => options.state = parser.value()?.into(),
            Long("watch") => options.watch = true,
            Long("json") => options.json = true,
            Long("dry-run") => options.dry_run = true,
            other => return Err(other.unexpected().into()),
        }
    }
    if options.watch && options.dry_run {
        return Err(usage("--watch and --dry-run do not go together"));
    }
    Ok(Invocation::IpoibUp(options))
}

fn check_config(parser: &mut lexopt::Parser) -> Result<Invocation, Parsed> {
    let mut file = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Value(path) if file.is_none() => file = Some(path),
            // `-` (stdin) reaches here as a value; anything else that looks like an option does not.
            other => return Err(other.unexpected().into()),
        }
    }
    let file = file.ok_or_else(|| usage("check-config needs a FILE, or - for stdin"))?;
    Ok(Invocation::CheckConfig { file })
}

fn doctor(parser: &mut lexopt::Parser) -> Result<Invocation, Parsed> {
    let mut options = DoctorOptions {
        json: false,
        pool: PathBuf::from(DEFAULT_KVP_PATH),
        sys: PathBuf::from("/sys"),
        proc: PathBuf::from("/proc"),
        cni_etc: PathBuf::from("/etc/cni"),
        cni_bin_dir: PathBuf::from(DEFAULT_CNI_BIN_DIR),
    };
    while let Some(arg) = parser.next()? {
        match arg {
            Long("json") => options.json = true,
            Long("path") => options.pool = parser.value()?.into(),
            Long("sys") => options.sys = parser.value()?.into(),
            Long("proc") => options.proc = parser.value()?.into(),
            Long("cni-etc") => options.cni_etc = parser.value()?.into(),
            Long("cni-bin-dir") => options.cni_bin_dir = parser.value()?.into(),
            other => return Err(other.unexpected().into()),
        }
    }
    Ok(Invocation::Doctor(options))
}

fn install(parser: &mut lexopt::Parser) -> Result<Invocation, Parsed> {
    let (mut dest, mut unit_dir) = (PathBuf::from(DEFAULT_CNI_BIN_DIR), None);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("dest") => dest = parser.value()?.into(),
            Long("systemd") => unit_dir = Some(PathBuf::from(DEFAULT_UNIT_DIR)),
            Long("unit-dir") => unit_dir = Some(parser.value()?.into()),
            other => return Err(other.unexpected().into()),
        }
    }
    Ok(Invocation::Install { dest, unit_dir })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(words: &[&str]) -> Result<Invocation, CliError> {
        parse(words.iter().map(OsString::from).collect())
    }

    #[test]
    fn commands_and_options() {
        assert!(matches!(parse_words(&[]), Ok(Invocation::About)));
        assert!(matches!(parse_words(&["-h"]), Ok(Invocation::Help)));
        assert!(matches!(parse_words(&["help"]), Ok(Invocation::Help)));
        let Ok(Invocation::Kvp { pool, json: true, keys: None }) = parse_words(&["kvp", "--pool=2", "--json"]) else {
            panic!()
        };
        assert_eq!(pool, PathBuf::from("/var/lib/hyperv/.kvp_pool_2"));
        let Ok(Invocation::Kvp { keys: Some(keys), .. }) = parse_words(&["kvp", "get", "A", "--path", "/p", "B"])
        else {
            panic!()
        };
        assert_eq!(keys, ["A", "B"]);
        assert!(matches!(
            parse_words(&["ipoib", "--netns", "/n", "--ifname", "net1"]),
            Ok(Invocation::Ipoib { query: Query::Netns { .. }, .. })
        ));
        assert!(matches!(parse_words(&["check-config", "-"]), Ok(Invocation::CheckConfig { .. })));
    }

    #[test]
    fn usage_errors() {
        for bad in [
            &["bogus"][..],
            &["--version", "x"],
            &["kvp", "--pool", "5"],
            &["kvp", "--pool", "1", "--path", "/p"],
            &["kvp", "get"],
            &["ipoib", "--netns", "/n"],
            &["ipoib", "--hwaddr", "00:11", "--ifname", "x"],
            &["check-config"],
            &["install", "--dest"],
        ] {
            let e = parse_words(bad).unwrap_err();
            assert_eq!(e.status, super::super::report::USAGE_STATUS, "{bad:?}: {e:?}");
        }
    }
}
