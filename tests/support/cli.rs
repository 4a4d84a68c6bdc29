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

/// [`run_cli`] with nothing on stdin that must finish within `limit`: `None`, the child killed,
/// when it has not (for a test that a command never hangs).
pub fn run_cli_within(binary: &Path, args: &[&str], limit: std::time::Duration) -> Option<Run> {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(binary)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", binary.display()));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the CLI") {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let (stdout, stderr) = (stdout.join().expect("stdout"), stderr.join().expect("stderr"));
    status.map(|status| Run { exit: status.code().unwrap_or(-1), stdout, stderr })
}
