//! The per-call log: `ipam.logFile` and `ipam.logLevel`, the CNI ecosystem's convention
//! (whereabouts' `log_file`/`log_level`, sriov-cni's `logFile`/`logLevel`), because a plugin's
//! stderr is often lost.
//!
//! Each call appends one logfmt line (`key=value`, a value quoted and escaped when it holds a
//! space, `"`, `=` or a control character): the time (RFC 3339, UTC), the command, container id,
//! ifname, netns, the NIC's MAC, the address or the error's code, message and details, and the
//! duration in µs from the config being decoded to the answer. `debug` adds a few `detail` lines
//! before it; `error` keeps failed calls only. A call's lines go out in one `write` to a file
//! opened `O_APPEND`, so concurrent calls never interleave. Nothing from the pool is logged beyond
//! what the answer itself says (the MAC and the address).
//!
//! Where the file may be and how it is opened, created and rotated is [`crate::log_file`]'s
//! concern. A log that cannot be written never fails the call: it costs one line on stderr.
//! Without `logFile` nothing here reads a clock, allocates or makes a syscall.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use kvp_core::Mac;

use crate::cni::netconf::{Cidr, IpamConf, LogLevel};
use crate::cni::{AllowedDirs, CniError, Env};
use crate::log_file;
use crate::outside_value::Shown;

/// What one call will log, collected as it runs.
#[derive(Debug)]
pub struct CallLog {
    /// `None` when the config has no `logFile`; boxed, so a call that logs nothing carries a
    /// pointer (its stack frame stays small).
    on: Option<Box<On>>,
    /// The NIC's MAC, once known.
    pub mac: Option<Mac>,
    /// The address answered, once known.
    pub address: Option<Cidr>,
}

#[derive(Debug)]
struct On {
    /// `logFile`, beneath `dir`.
    path: String,
    /// `AZURE_IPOIB_LOG_DIR`, created when missing.
    dir: String,
    level: LogLevel,
    time: SystemTime,
    started: Instant,
    details: Vec<(String, Option<u128>)>,
}

impl CallLog {
    /// A log that writes nothing.
    pub fn off() -> CallLog {
        CallLog { on: None, mac: None, address: None }
    }

    /// The log `ipam` asks for (its `logFile` already held beneath `dirs.log`); the call's
    /// duration starts now.
    pub fn start(ipam: &IpamConf<'_>, dirs: &AllowedDirs) -> CallLog {
        let on = ipam.log_file.as_ref().map(|path| {
            Box::new(On {
                path: path.to_string(),
                dir: dirs.log.dir.clone().unwrap_or_default(),
                level: ipam.log_level,
                time: SystemTime::now(),
                started: Instant::now(),
                details: Vec::new(),
            })
        });
        let mut log = CallLog { on, ..CallLog::off() };
        log.debug(None, || {
            let (path, prefix, wait, routes) =
                (&ipam.kvp_path, ipam.prefix_length, ipam.lock_timeout.as_millis(), ipam.routes.len());
            format!("config: kvpPath {path}, prefixLength {prefix}, lockTimeoutMs {wait}, {routes} routes")
        });
        log
    }

    /// A clock reading for [`CallLog::debug`], taken only when debug lines are kept.
    pub fn mark(&self) -> Option<Instant> {
        self.on.as_ref().filter(|on| on.level == LogLevel::Debug).map(|_| Instant::now())
    }

    /// Adds a debug line; `detail` runs only at the debug level. With a [`CallLog::mark`], the
    /// line also says how long it has been since.
    pub fn debug(&mut self, since: Option<Instant>, detail: impl FnOnce() -> String) {
        if let Some(on) = self.on.as_mut().filter(|on| on.level == LogLevel::Debug) {
            on.details.push((detail(), since.map(|mark| mark.elapsed().as_micros())));
        }
    }

    /// Writes the call's lines for `outcome`. A write that fails is reported on `stderr` only.
    pub fn finish<T>(self, env: &Env, outcome: &Result<T, CniError>, stderr: &mut dyn Write) {
        if self.on.is_some() {
            self.write(env, outcome, stderr);
        }
    }

    /// [`CallLog::finish`] with a file: kept out of line so its locals never enlarge the frame
    /// of a call that logs nothing (each stack page costs a page fault).
    #[cold]
    #[inline(never)]
    fn write<T>(self, env: &Env, outcome: &Result<T, CniError>, stderr: &mut dyn Write) {
        let Some(on) = self.on.as_ref() else { return };
        if on.level == LogLevel::Error && outcome.is_ok() {
            return;
        }
        let lines = self.lines(on, env, outcome);
        let Err(problem) = log_file::append(Path::new(&on.dir), Path::new(&on.path), lines.as_bytes()) else { return };
        let line =
            format!("azure-ipoib-ipam-cni: warning: cannot write ipam.logFile {}: {problem}\n", Shown::new(&on.path));
        let _ = stderr.write_all(line.as_bytes());
    }

    fn lines<T>(&self, on: &On, env: &Env, outcome: &Result<T, CniError>) -> String {
        let time = rfc3339(on.time);
        let command = env.command.as_str();
        let container = env.container_id.as_deref().unwrap_or("");
        let mut out = String::new();
        for (detail, took) in &on.details {
            let _ = write!(out, "time={time} level=debug command={command} container={}", quoted(container));
            let _ = write!(out, " detail={}", quoted(detail));
            if let Some(us) = took {
                let _ = write!(out, " us={us}");
            }
            out.push('\n');
        }
        let level = if outcome.is_ok() { "info" } else { "error" };
        let _ = write!(out, "time={time} level={level} command={command} container={}", quoted(container));
        if let Some(ifname) = &env.ifname {
            let _ = write!(out, " ifname={}", quoted(ifname));
        }
        if let Some(netns) = &env.netns {
            let _ = write!(out, " netns={}", quoted(&netns.to_string_lossy()));
        }
        if let Some(mac) = self.mac {
            let _ = write!(out, " mac={mac}");
        }
        match outcome {
            Ok(_) => {
                if let Some((ip, prefix)) = self.address {
                    let _ = write!(out, " address={ip}/{prefix}");
                }
            }
            Err(e) => {
                let _ = write!(out, " code={} msg={}", e.code.number(), quoted(&e.msg));
                if !e.details.is_empty() {
                    let _ = write!(out, " details={}", quoted(&e.details));
                }
            }
        }
        let _ = writeln!(out, " duration_us={}", on.started.elapsed().as_micros());
        out
    }
}

/// `text` as a logfmt value, as much of it as [`Shown`] shows with the cut marked: bare when that
/// is unambiguous, else quoted with Rust's escapes (so the mark stays inside the quotes).
fn quoted(text: &str) -> String {
    let text = Shown::new(text).unescaped();
    let bare = !text.is_empty() && text.chars().all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '=' | '\\'));
    if bare {
        text
    } else {
        format!("{text:?}")
    }
}

/// `time` as RFC 3339 in UTC with microseconds, such as `2026-11-30T03:12:45.123456Z`. The civil
/// date comes from Howard Hinnant's `civil_from_days`, so no date crate is needed.
fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (days, secs) = (since.as_secs() / 86_400, since.as_secs() % 86_400);
    let z = days + 719_468;
    let (era, day_of_era) = (z / 146_097, z % 146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // March = 0
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        since.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_dates() {
        let at =
            |secs: u64, micros: u64| rfc3339(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros));
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(951_782_400, 1), "2000-02-29T00:00:00.000001Z");
        assert_eq!(at(1_700_000_000, 999_999), "2023-11-14T22:13:20.999999Z");
        assert_eq!(at(4_107_542_399, 0), "2100-02-28T23:59:59.000000Z");
        assert_eq!(at(4_107_542_400, 0), "2100-03-01T00:00:00.000000Z");
        assert_eq!(at(253_402_300_799, 0), "9999-12-31T23:59:59.000000Z");
    }

    #[test]
    fn values_are_quoted_when_needed_and_capped() {
        assert_eq!(quoted("/var/run/netns/p"), "/var/run/netns/p");
        assert_eq!(quoted(""), "\"\"");
        assert_eq!(quoted("a b"), "\"a b\"");
        assert_eq!(quoted("say \"x\"\nnow"), r#""say \"x\"\nnow""#);
        let long = quoted(&"é".repeat(1000));
        let max = ipoib_host::outside_value::MAX_SHOWN;
        assert!(long.len() < max + 32 && long.ends_with("é…(2000 bytes)\""), "{long}");
    }
}
