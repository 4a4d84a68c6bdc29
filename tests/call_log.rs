//! The per-call log (`ipam.logFile`, `ipam.logLevel`) through the built plugin: the line format,
//! the file's mode, appends from concurrent calls, the levels, a log that cannot be written, and
//! that no pool content reaches the log. Rows that need a NIC need root; CI runs them as root.

// Test code: indexing, unwrapping and panicking are how a test fails (the workspace lints deny
// them in library code only).
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use ipoib_test_support::netns::Netns;
use ipoib_test_support::plugin::*;
use ipoib_test_support::root::needs_root;

const NIC_MAC: &str = "00:15:5d:33:ff:0b";
/// The NIC's pair between two others, whose text must never reach the log.
const VALUE: &str = "NUMPAIRS:3|AABBCC000001:10.213.47.1|00155D33FF0B:172.16.1.2|AABBCC000003:10.213.47.3";
const OTHER_RECORD: (&str, &str) = ("SentinelKeyQ7", "SENTINEL-VALUE-Z3");
const NOT_IN_LOG: [&str; 4] = ["AABBCC00", "10.213.47.", "SentinelKeyQ7", "SENTINEL-VALUE-Z3"];

/// A config for the pool at `pool` that logs to `log` (a raw JSON value) with `extra` ipam keys.
fn conf(version: &str, pool: &Path, log: &str, extra: &str) -> String {
    let ipam = format!(r#"{{"type":"azure-ipoib-ipam-cni","kvpPath":"{}","logFile":{log}{extra}}}"#, pool.display());
    netconf(version, &ipam)
}

fn quoted(path: &Path) -> String {
    format!("{:?}", path.display().to_string())
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(String::from).collect()
}

/// The `key=value` fields of a line, with quoted values unquoted (no escapes in these tests).
fn fields(line: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some((key, after)) = rest.split_once('=') {
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"').unwrap_or_else(|| panic!("unterminated value in {line:?}"));
                (&quoted[..end], quoted[end + 1..].trim_start())
            }
            None => after.split_once(' ').unwrap_or((after, "")),
        };
        out.push((key.to_string(), value.to_string()));
        rest = next;
    }
    out
}

/// Asserts that `line` is one info or error line of `command` and returns its fields.
fn summary(line: &str, level: &str, command: &str) -> Vec<(String, String)> {
    let fields = fields(line);
    let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys[..4], ["time", "level", "command", "container"], "{line}");
    assert_eq!(keys.last(), Some(&"duration_us"), "{line}");
    let time = &fields[0].1;
    // RFC 3339 in UTC with microseconds: 2026-11-30T03:12:45.123456Z
    assert_eq!(time.len(), 27, "{line}");
    assert!(time.ends_with('Z') && &time[10..11] == "T" && &time[19..20] == ".", "{line}");
    assert_eq!((fields[1].1.as_str(), fields[2].1.as_str()), (level, command), "{line}");
    assert!(fields.last().unwrap().1.parse::<u64>().is_ok(), "{line}");
    fields
}

fn get<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[test]
fn add_check_and_del_each_log_one_line_in_a_0600_file() {
    if !needs_root("add_check_and_del_each_log_one_line_in_a_0600_file") {
        return;
    }
    let dir = TempDir::new("call-log");
    write_pool(&dir.path("pool"), &[OTHER_RECORD, ("IPoIB_Data", VALUE)]);
    let ns = Netns::new();
    ns.add_veth("net1", NIC_MAC);
    let log = dir.path("calls.log");
    let stdin = conf("1.0.0", &dir.path("pool"), &quoted(&log), "");
    let out = run(&cni_env("ADD", &ns.path(), "net1"), stdin.as_bytes());
    assert_eq!(out.exit, 0, "{out:?}");
    assert_eq!(std::fs::metadata(&log).unwrap().permissions().mode() & 0o777, 0o600);

    let check = stdin.replacen('{', r#"{"prevResult":{"ips":[{"address":"172.16.1.2/16"}]},"#, 1);
    run(&cni_env("CHECK", &ns.path(), "net1"), check.as_bytes()).assert_silent_success();
    run(&cni_env("DEL", &ns.path(), "net1"), stdin.as_bytes()).assert_silent_success();

    let lines = read_lines(&log);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    for (line, command) in lines.iter().zip(["ADD", "CHECK", "DEL"]) {
        let fields = summary(line, "info", command);
        assert_eq!(get(&fields, "container"), Some("c1"));
        assert_eq!(get(&fields, "ifname"), Some("net1"));
        // DEL never reads CNI_NETNS, so its line names none.
        let netns = (command != "DEL").then(|| ns.path());
        assert_eq!(get(&fields, "netns"), netns.as_deref(), "{line}");
        if command != "DEL" {
            assert_eq!(get(&fields, "mac"), Some("00155D33FF0B"), "{line}");
            assert_eq!(get(&fields, "address"), Some("172.16.1.2/16"), "{line}");
        }
    }
}

#[test]
fn debug_adds_detail_lines_and_never_pool_content() {
    if !needs_root("debug_adds_detail_lines_and_never_pool_content") {
        return;
    }
    let dir = TempDir::new("call-log-debug");
    write_pool(&dir.path("pool"), &[OTHER_RECORD, ("IPoIB_Data", VALUE)]);
    let ns = Netns::new();
    ns.add_veth("net1", NIC_MAC);
    ns.add_veth("net2", "00:15:5d:33:ff:99");
    let log = dir.path("calls.log");
    let stdin = conf("1.0.0", &dir.path("pool"), &quoted(&log), r#","logLevel":"debug""#);
    assert_eq!(run(&cni_env("ADD", &ns.path(), "net1"), stdin.as_bytes()).exit, 0);
    // A NIC without a pair: the error says how many pairs there are, never which.
    assert_eq!(run(&cni_env("ADD", &ns.path(), "net2"), stdin.as_bytes()).error_code(), 100);

    let lines = read_lines(&log);
    let details: Vec<&String> = lines.iter().filter(|l| l.contains(" level=debug ")).collect();
    assert!(details.len() >= 6, "{lines:#?}");
    for needle in ["config: kvpPath", "KVP pool", "NIC's MAC 00155D33FF0B read"] {
        assert!(details.iter().any(|l| l.contains(needle)), "no {needle:?} in {lines:#?}");
    }
    let error = lines.iter().find(|l| l.contains(" level=error ")).expect("an error line");
    let fields = summary(error, "error", "ADD");
    assert_eq!(get(&fields, "code"), Some("100"));
    assert!(get(&fields, "msg").is_some_and(|m| m.contains("no pair for MAC 00155D33FF99")), "{error}");
    let text = lines.join("\n");
    for sentinel in NOT_IN_LOG {
        assert!(!text.contains(sentinel), "the log leaks {sentinel}:\n{text}");
    }
}

#[test]
fn a_failed_call_logs_its_code_and_message() {
    // No root: the pool is read before the NIC, so a missing pool fails first.
    let dir = TempDir::new("call-log-error");
    let log = dir.path("calls.log");
    let stdin = conf("0.3.1", &dir.path("missing"), &quoted(&log), "");
    let out = run(&cni_env("ADD", "/var/run/netns/call-log-none", "net1"), stdin.as_bytes());
    assert_eq!(out.error_code(), 11);
    let lines = read_lines(&log);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let fields = summary(&lines[0], "error", "ADD");
    assert_eq!(get(&fields, "code"), Some("11"));
    assert!(get(&fields, "msg").is_some_and(|m| m.contains("does not exist")), "{}", lines[0]);
    assert!(get(&fields, "details").is_some(), "{}", lines[0]);
    assert_eq!(get(&fields, "mac"), None);
}

#[test]
fn level_error_keeps_failures_only() {
    let dir = TempDir::new("call-log-level");
    let log = dir.path("calls.log");
    let stdin = conf("1.1.0", &dir.path("missing"), &quoted(&log), r#","logLevel":"error""#);
    let del = [("CNI_COMMAND", "DEL"), ("CNI_CONTAINERID", "c1"), ("CNI_IFNAME", "net1")];
    run(&del, stdin.as_bytes()).assert_silent_success();
    assert!(!log.exists(), "a successful call was logged at level error");
    assert_eq!(run(&[("CNI_COMMAND", "STATUS")], stdin.as_bytes()).error_code(), 50);
    let lines = read_lines(&log);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    summary(&lines[0], "error", "STATUS");
}

#[test]
fn concurrent_calls_append_whole_lines() {
    let dir = TempDir::new("call-log-concurrent");
    let log = dir.path("calls.log");
    let stdin = conf("1.1.0", &dir.path("missing"), &quoted(&log), "");
    const CALLS: usize = 64;
    let threads: Vec<_> = (0..CALLS)
        .map(|i| {
            let stdin = stdin.clone();
            std::thread::spawn(move || {
                // Long container ids make each line several hundred bytes.
                let id = format!("c{i:03}-{}", "x".repeat(300));
                let del = [("CNI_COMMAND", "DEL"), ("CNI_CONTAINERID", id.as_str()), ("CNI_IFNAME", "net1")];
                if i % 2 == 0 {
                    run(&del, stdin.as_bytes()).assert_silent_success();
                } else {
                    assert_eq!(run(&[("CNI_COMMAND", "STATUS")], stdin.as_bytes()).error_code(), 50);
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let lines = read_lines(&log);
    assert_eq!(lines.len(), CALLS, "{lines:#?}");
    let mut dels: Vec<String> = Vec::new();
    for line in &lines {
        if line.contains(" command=DEL ") {
            let fields = summary(line, "info", "DEL");
            dels.push(get(&fields, "container").unwrap().chars().take(4).collect());
        } else {
            summary(line, "error", "STATUS");
        }
    }
    dels.sort();
    let want: Vec<String> = (0..CALLS).step_by(2).map(|i| format!("c{i:03}")).collect();
    assert_eq!(dels, want);
}

#[test]
fn an_unwritable_log_costs_one_stderr_line_and_never_the_call() {
    let dir = TempDir::new("call-log-unwritable");
    std::fs::create_dir(dir.path("a-directory")).unwrap();
    std::fs::write(dir.path("a-file"), b"").unwrap();
    let del = [("CNI_COMMAND", "DEL"), ("CNI_CONTAINERID", "c1"), ("CNI_IFNAME", "net1")];
    for log in [dir.path("no-such-dir/calls.log"), dir.path("a-directory"), dir.path("a-file/calls.log")] {
        let stdin = conf("1.1.0", &dir.path("pool"), &quoted(&log), "");
        let out = run(&del, stdin.as_bytes());
        out.assert_silent_success();
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{log:?}: {out:?}");
        assert!(lines[0].contains("cannot write ipam.logFile") && lines[0].contains(&log.display().to_string()));
    }
}

#[test]
fn a_relative_log_file_is_relative_to_the_log_directory() {
    let dir = TempDir::new("call-log-relative");
    let logs = dir.path("logs");
    let stdin = conf("1.1.0", &dir.path("pool"), r#""calls.log""#, "");
    let del = [("CNI_COMMAND", "DEL"), ("CNI_CONTAINERID", "c1"), ("CNI_IFNAME", "net1")];
    let logs_env = logs.display().to_string();
    let out = run(&[&del[..], &[("AZURE_IPOIB_LOG_DIR", logs_env.as_str())]].concat(), stdin.as_bytes());
    out.assert_silent_success();
    // The directory was created private, and the file in it.
    assert_eq!(std::fs::metadata(&logs).unwrap().permissions().mode() & 0o777, 0o700);
    summary(&read_lines(&logs.join("calls.log"))[0], "info", "DEL");
    // An absolute path outside it is refused before anything is opened.
    let outside = dir.path("outside.log");
    let stdin = conf("1.1.0", &dir.path("pool"), &quoted(&outside), "");
    let out = run(&[&del[..], &[("AZURE_IPOIB_LOG_DIR", logs_env.as_str())]].concat(), stdin.as_bytes());
    assert_eq!(out.error_code(), 7);
    assert!(out.error_text().contains(&format!("ipam.logFile is outside AZURE_IPOIB_LOG_DIR ({logs_env})")), "{out:?}");
    assert!(!outside.exists());
}
