//! How the CLI fails: an exit status, one line saying what, one line saying what to check.

use std::io::Write;

use super::escape::controls;

/// Exit status of a usage error (unknown command or option), as most tools use.
pub const USAGE_STATUS: i32 = 2;

/// A failed CLI command.
#[derive(Debug)]
pub struct CliError {
    /// What went wrong, naming the file or object concerned.
    pub msg: String,
    /// What to check or do; may be empty.
    pub hint: String,
    /// The exit status.
    pub status: i32,
}

impl CliError {
    /// A failure (exit 1).
    pub fn new(msg: impl Into<String>, hint: impl Into<String>) -> CliError {
        CliError { msg: msg.into(), hint: hint.into(), status: 1 }
    }

    /// A usage error (exit 2).
    pub fn usage(msg: impl Into<String>) -> CliError {
        CliError {
            msg: msg.into(),
            hint: format!("run `{} --help` for the commands and options", super::PLUGIN_NAME),
            status: USAGE_STATUS,
        }
    }

    /// Writes the error to `stderr`: the message, then the hint on its own line, each with any
    /// control character escaped (`escape::controls`).
    pub fn print(&self, stderr: &mut dyn Write) {
        let _ = writeln!(stderr, "{}: {}", super::PLUGIN_NAME, controls(&self.msg));
        if !self.hint.is_empty() {
            let _ = writeln!(stderr, "  hint: {}", controls(&self.hint));
        }
    }
}
