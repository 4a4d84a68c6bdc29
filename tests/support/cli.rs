//! Running the built binary as an operator does: no `CNI_COMMAND`, arguments on the command line.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

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

/// Runs `binary` with `args`, an environment without `CNI_*`, and `stdin`.
pub fn run_cli(binary: &Path, args: &[&str], stdin: &[u8]) -> Run {
    let mut child = Command::new(binary)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", binary.display()));
    let mut pipe = child.stdin.take().expect("stdin");
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let output = child.wait_with_output().expect("wait");
    let _ = writer.join();
    Run {
        exit: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
