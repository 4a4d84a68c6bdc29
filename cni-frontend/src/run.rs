//! One invocation, start to finish: environment → stdin → command → stdout/stderr → exit code.
//!
//! Kept free of process globals (the environment and the standard streams come in as
//! arguments) so tests and fuzzers can drive it in-process.

use std::ffi::OsString;
use std::io::{Read, Write};

use crate::call_log::CallLog;
use crate::cni::{self, netconf, AllowedDirs, CniError, CniVersion, Command};
use crate::cni_errors::{stdin_too_large, stdin_unreadable};
use crate::commands;
use crate::whole_lines::WholeLines;

/// Largest config read from stdin. Kubernetes caps all of an object's annotations at 256 KiB,
/// so a real netconf is far below this.
pub const MAX_STDIN: usize = 4 << 20;

/// Runs one CNI command and returns the process exit code (0 or 1). Each line on `stderr` goes
/// out in one write.
pub fn run(
    var: impl Fn(&str) -> Option<OsString>,
    stdin: &mut impl Read,
    stdout: &mut impl Write,
    stderr: &mut impl Write,
) -> i32 {
    let mut input = Vec::new();
    let stderr = &mut WholeLines::new(stderr);
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
    stderr: &mut dyn Write,
) -> Result<Vec<u8>, (&'static str, CniError)> {
    let env = cni::env::read(&var).map_err(|e| ("command", e))?;
    let name = env.command.as_str();
    read_stdin(stdin, input).map_err(|e| (name, e))?;
    if env.command == Command::Version {
        return Ok(commands::version(input));
    }
    let dirs = AllowedDirs::from_env(&var);
    let conf = netconf::decode(input, &dirs).map_err(|e| (name, e))?;
    let mut log = CallLog::start(&conf.ipam, &dirs);
    let result = match env.command {
        Command::Add => commands::add(&env, &conf, &mut log, stderr),
        Command::Del => commands::del(&env, &conf),
        Command::Check => commands::check(&env, &conf, &mut log, stderr),
        Command::Status => commands::status(&env, &conf, stderr),
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
    stdin.take(limit).read_to_end(input).map_err(|e| stdin_unreadable(&e))?;
    if input.len() > MAX_STDIN {
        return Err(stdin_too_large(MAX_STDIN >> 20));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Diagnostics reach the writer `run` is given, not the process's stderr, so in-process
    /// callers (tests, fuzzers) see them.
    #[test]
    fn warnings_go_to_the_given_stderr() {
        let dir = std::env::temp_dir().join(format!("ipoib-run-stderr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pool");
        let mut bytes = vec![0u8; kvp_core::RECORD_LEN];
        kvp_core::encode_pool(&[("IPoIB_Data", "NUMPAIRS:1|00155D33FF0B:172.16.1.2")], &mut bytes).unwrap();
        bytes.extend_from_slice(&[0; 100]);
        std::fs::write(&path, bytes).unwrap();
        let conf = format!(
            r#"{{"cniVersion":"1.1.0","name":"n","ipam":{{"type":"azure-ipoib-ipam-cni","kvpPath":"{}"}}}}"#,
            path.display()
        );
        let var = |name: &str| match name {
            "CNI_COMMAND" => Some(OsString::from("STATUS")),
            "AZURE_IPOIB_KVP_DIR" => Some(OsString::from("/")),
            _ => None,
        };
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let code = run(var, &mut conf.as_bytes(), &mut stdout, &mut stderr);
        let _ = std::fs::remove_dir_all(&dir);
        let stderr = String::from_utf8(stderr).unwrap();
        assert_eq!((code, stdout.as_slice()), (0, &b""[..]), "{stderr}");
        assert!(stderr.contains("ends in a partial record (100 bytes), ignored"), "{stderr}");
    }
}
