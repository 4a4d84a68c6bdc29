//! One invocation, start to finish: environment → stdin → command → stdout/stderr → exit code.
//!
//! Kept free of process globals (the environment and the standard streams come in as
//! arguments) so tests and fuzzers can drive it in-process.

use std::ffi::OsString;
use std::io::{Read, Write};

use crate::call_log::CallLog;
use crate::cni::{self, netconf, CniError, CniVersion, Code, Command};
use crate::commands;

/// Largest config read from stdin. Kubernetes caps all of an object's annotations at 256 KiB,
/// so a real netconf is far below this.
pub const MAX_STDIN: usize = 4 << 20;

/// Runs one CNI command and returns the process exit code (0 or 1).
pub fn run(
    var: impl Fn(&str) -> Option<OsString>,
    stdin: &mut impl Read,
    stdout: &mut impl Write,
    stderr: &mut impl Write,
) -> i32 {
    let mut input = Vec::new();
    let outcome = execute(var, stdin, &mut input, stderr);
    let (bytes, code) = match outcome {
        Ok(bytes) => (bytes, 0),
        Err((command, e)) => {
            let version = netconf::declared_version(&input).unwrap_or(CniVersion::LATEST);
            let _ = writeln!(stderr, "azure-ipoib-ipam-cni: {command} failed (code {}): {e}", e.code.number());
            (e.to_json(version.as_str()), 1)
        }
    };
    // A runtime that closed our stdout can't be told anything more; the exit code still says it.
    let _ = stdout.write_all(&bytes).and_then(|()| stdout.flush());
    code
}

fn execute(
    var: impl Fn(&str) -> Option<OsString>,
    stdin: &mut impl Read,
    input: &mut Vec<u8>,
    stderr: &mut impl Write,
) -> Result<Vec<u8>, (&'static str, CniError)> {
    let env = cni::env::read(var).map_err(|e| ("command", e))?;
    let name = env.command.as_str();
    read_stdin(stdin, input).map_err(|e| (name, e))?;
    if env.command == Command::Version {
        return Ok(commands::version(input));
    }
    let conf = netconf::decode(input).map_err(|e| (name, e))?;
    let mut log = CallLog::start(&conf.ipam);
    let result = match env.command {
        Command::Add => commands::add(&env, &conf, &mut log),
        Command::Del => commands::del(&env, &conf),
        Command::Check => commands::check(&env, &conf, &mut log),
        Command::Status => commands::status(&env, &conf),
        Command::Gc => commands::gc(&env, &conf),
        Command::Version => Ok(commands::version(input)),
    };
    log.finish(&env, &result, stderr);
    result.map_err(|e| (name, e))
}

/// Reads all of stdin (up to [`MAX_STDIN`]) in as few reads as the pipe allows.
fn read_stdin(stdin: &mut impl Read, input: &mut Vec<u8>) -> Result<(), CniError> {
    // Real configs are a few hundred bytes; read_to_end grows the buffer for larger ones.
    input.reserve(4 << 10);
    let limit = u64::try_from(MAX_STDIN).unwrap_or(u64::MAX) + 1;
    stdin
        .take(limit)
        .read_to_end(input)
        .map_err(|e| CniError::new(Code::Io, format!("cannot read the network config from stdin: {e}")))?;
    if input.len() > MAX_STDIN {
        return Err(CniError::new(Code::Decode, "network config on stdin is larger than 4 MiB")
            .with_details("a CNI network config is a few KiB; check what the runtime passes"));
    }
    Ok(())
}
