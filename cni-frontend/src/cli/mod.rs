//! The operator CLI: the same binary, run by hand (no `CNI_COMMAND`), to ask a node which
//! address a NIC gets and why not, to check configs and the node, and to install the plugin.
//!
//! It is a third face over the host crate (ARCHITECTURE.md): the pool is read under the same
//! lock as ADD (a copy, so a fault is an error, never a SIGBUS), a NIC's address is the host
//! crate's one `lookup`, and `check-config` runs the plugin's netconf decoder. Every failure is
//! an exit status and a one-line hint on stderr; a reason for "no address" is mapped once, in
//! `why.rs`.
//!
//! The CNI path never reaches this module: `main` dispatches on `CNI_COMMAND` first, and the
//! entry here is `#[cold]` and never inlined, so its code stays out of the ADD's pages.

mod args;
pub mod check_config;
mod doctor;
mod escape;
mod install;
mod ipoib;
mod ipoib_up;
mod kvp;
mod node_file;
mod pool;
mod report;
mod why;

use std::ffi::OsString;
use std::io::{Read, Write};

use crate::cni::version::SUPPORTED;
pub use report::CliError;

/// The plugin's name, as runtimes find it on disk.
pub const PLUGIN_NAME: &str = "azure-ipoib-ipam-cni";
/// The plugin's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Runs the CLI with `args` (without the program name); returns the exit status.
#[cold]
#[inline(never)]
pub fn main(args: Vec<OsString>, stdin: &mut dyn Read, stdout: &mut dyn Write, stderr: &mut dyn Write) -> i32 {
    let result = match args::parse(args) {
        Ok(invocation) => run(invocation, stdin, stdout, stderr),
        Err(e) => Err(e),
    };
    let _ = stdout.flush();
    match result {
        Ok(status) => status,
        Err(e) => {
            e.print(stderr);
            e.status
        }
    }
}

fn run(
    invocation: args::Invocation,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<i32, CliError> {
    use args::Invocation;
    match invocation {
        Invocation::About => {
            // The CNI skel convention for a plugin run by hand: the about line and the versions.
            let _ = writeln!(stderr, "{}", about());
            let _ = writeln!(stderr, "CNI protocol versions supported: {}", versions());
            let _ = writeln!(stderr, "Run `{PLUGIN_NAME} --help` for the operator commands.");
            Ok(0)
        }
        Invocation::Help => {
            let _ = stdout.write_all(args::USAGE.as_bytes());
            Ok(0)
        }
        Invocation::Version => {
            let _ = writeln!(stdout, "{PLUGIN_NAME} {VERSION}");
            let _ = writeln!(stdout, "CNI versions: {}", versions());
            Ok(0)
        }
        Invocation::Kvp { pool, json, keys } => kvp::run(&pool, json, keys.as_deref(), stdout, stderr),
        Invocation::Ipoib { pool, config, json, query } => {
            let settings = match config {
                Some(file) => check_config::settings_of(&file, stdin)?,
                None => check_config::Settings::default(),
            };
            let pool = pool.unwrap_or_else(|| settings.kvp_path.clone());
            ipoib::run(&pool, &settings, json, &query, stdout)
        }
        Invocation::IpoibUp(options) => ipoib_up::run(&options, stdout, stderr),
        Invocation::CheckConfig { file } => check_config::run(&file, stdin, stdout, stderr),
        Invocation::Doctor(options) => doctor::run(&options, stdout),
        Invocation::Install { dest, unit_dir } => install::run(&dest, unit_dir.as_deref(), stdout),
    }
}

fn about() -> String {
    format!("{PLUGIN_NAME} {VERSION}: CNI IPAM plugin giving InfiniBand NICs the IPoIB address Azure publishes in Hyper-V KVP")
}

fn versions() -> String {
    SUPPORTED.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
}
