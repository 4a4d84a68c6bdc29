//! Log lines on stderr, one `write` each, so lines from a busy server never interleave and cost
//! one syscall. The container runtime timestamps them.

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::str::FromStr;

/// How much is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Failures of the server itself.
    Error,
    /// And pool failures, refused connections.
    Warn,
    /// And one line per request (the default).
    Info,
    /// And more detail.
    Debug,
}

impl FromStr for Level {
    type Err = String;

    fn from_str(s: &str) -> Result<Level, String> {
        match s.to_ascii_lowercase().as_str() {
            "error" => Ok(Level::Error),
            "warn" | "warning" => Ok(Level::Warn),
            "info" => Ok(Level::Info),
            "debug" => Ok(Level::Debug),
            _ => Err(format!(
                "--log-level {:?}: expected error, warn, info or debug",
                ipoib_host::outside_value::Shown::new(s)
            )),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        })
    }
}

/// Writes log lines at or above a level.
#[derive(Debug, Clone, Copy)]
pub struct Log {
    level: Level,
}

impl Log {
    /// A log that keeps lines up to `level`.
    pub fn new(level: Level) -> Log {
        Log { level }
    }

    /// Whether lines at `level` are kept.
    pub fn enabled(&self, level: Level) -> bool {
        level <= self.level
    }

    /// Writes `level=… msg` as one line, if kept.
    pub fn line(&self, level: Level, msg: fmt::Arguments<'_>) {
        if !self.enabled(level) {
            return;
        }
        let mut line = String::with_capacity(128);
        let _ = writeln!(line, "azure-ipoib-webhook: level={level} {msg}");
        // Nowhere to report a failed write to stderr.
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
}
