//! Running the built binary as an operator does: no `CNI_COMMAND`, arguments on the command line.

use std::path::Path;
use std::process::Command;

use crate::plugin::{run_command, Outcome, ANYWHERE_DIRS};

/// What one CLI run did.
#[derive(Debug)]
pub struct Run {
    pub exit: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts exit 0 and returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.exit, 0, "{self:#?}");
        assert!(!self.stderr.contains("panicked"), "{self:#?}");
        &self.stdout
    }

    /// Asserts exit `status` and returns stderr.
    pub fn fails(&self, status: i32) -> &str {
        assert_eq!(self.exit, status, "{self:#?}");
        assert!(!self.stderr.contains("panicked"), "{self:#?}");
        assert!(!self.stderr.is_empty(), "a failure must say why: {self:#?}");
        &self.stderr
    }
}

/// Runs `binary` with `args`, an environment without `CNI_*` (with [`ANYWHERE_DIRS`], so
/// `check-config` takes temp paths), and `stdin`.
pub fn run_cli(binary: &Path, args: &[&str], stdin: &[u8]) -> Run {
    let mut command = Command::new(binary);
    command.args(args).env_clear().env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").envs(ANYWHERE_DIRS);
    let Outcome { exit, stdout, stderr } = run_command(command, stdin);
    Run { exit, stdout, stderr }
}
