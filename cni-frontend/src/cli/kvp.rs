//! `kvp`: the records of a pool, and `kvp get`: one value.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::escape::{self, json_array, json_object, text};
use super::pool::Snapshot;
use super::report::CliError;

/// Prints every record (`keys` `None`) or the values of `keys`.
pub fn run(
    path: &Path,
    json: bool,
    keys: Option<&[OsString]>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<i32, CliError> {
    let snapshot = Snapshot::read(path)?;
    let Some(keys) = keys else {
        let records: Vec<(String, String)> = snapshot.records().map(|(k, v)| (text(k), text(v))).collect();
        print(&records, json, stdout);
        return Ok(0);
    };
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for key in keys {
        let key = key.as_bytes();
        match snapshot.get(key) {
            Some(value) => found.push((text(key), text(value))),
            None => missing.push(text(key)),
        }
    }
    if json {
        print(&found, true, stdout);
    } else {
        for (_, value) in &found {
            let _ = writeln!(stdout, "{value}");
        }
    }
    if missing.is_empty() {
        return Ok(0);
    }
    for key in &missing {
        let _ = writeln!(stderr, "{}: key {key:?} is not in KVP pool {}", super::PLUGIN_NAME, escape::path(path));
    }
    let hint =
        format!("keys are case-sensitive; `{} kvp --path {}` lists them", super::PLUGIN_NAME, escape::path(path));
    Err(CliError::new(format!("{} of {} keys not found", missing.len(), keys.len()), hint))
}

fn print(records: &[(String, String)], json: bool, stdout: &mut dyn Write) {
    if json {
        let items: Vec<String> = records.iter().map(|(k, v)| json_object(&[("key", k), ("value", v)])).collect();
        let _ = stdout.write_all(json_array(&items).as_bytes());
    } else {
        for (key, value) in records {
            let _ = writeln!(stdout, "{key}={value}");
        }
    }
}
