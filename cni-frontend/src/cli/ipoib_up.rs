//! `ipoib up`: this VM's own IPoIB links given the addresses KVP lists for them, once or, with
//! `--watch`, after every change. The work is the host crate's (`ipoib_host::vm`); this file
//! turns its reports into lines, JSON and an exit status.

use std::collections::HashMap;
use std::io::Write;

use ipoib_host::vm::apply::{LinkReport, Status};
use ipoib_host::vm::plan::{cidr_text, Selection};
use ipoib_host::vm::up::{once, Outcome, Settings, UpError};
use ipoib_host::vm::watch::watch;

use super::args::UpOptions;
use super::escape::{json_array, json_string, text};
use super::pool::LOCK_TIMEOUT;
use super::report::CliError;

/// Runs `ipoib up` as `options` ask.
pub fn run(options: &UpOptions, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Result<i32, CliError> {
    let settings = Settings {
        pool: options.pool.clone(),
        prefix_length: options.prefix_length,
        lock_timeout: LOCK_TIMEOUT,
        state: options.state.clone(),
        selection: if options.links.is_empty() {
            Selection::Infiniband
        } else {
            Selection::Named(options.links.clone())
        },
        dry_run: options.dry_run,
    };
    if !options.watch {
        let reports = once(&settings).map_err(|e| up_error(&e))?;
        if reports.is_empty() {
            let _ = writeln!(stderr, "{}: ipoib up: no InfiniBand link in this netns", super::PLUGIN_NAME);
        }
        print(&reports, options, stdout);
        return Ok(status(&reports));
    }
    // A watch prints a link's line when it differs from the one printed last, so a journal
    // shows changes, not every pass.
    let mut last: HashMap<String, String> = HashMap::new();
    let mut report = |outcome: &Outcome| match outcome {
        Ok(reports) => {
            let fresh: Vec<LinkReport> = reports
                .iter()
                .filter(|r| {
                    let now = line(r, false);
                    last.insert(r.name.clone(), now.clone()).as_ref() != Some(&now)
                })
                .cloned()
                .collect();
            if !fresh.is_empty() {
                print(&fresh, options, stdout);
            }
        }
        // A pass that changed nothing says why and the watch goes on.
        Err(e) => up_error(e).print(stderr),
    };
    let signal = watch(&settings, &mut report).map_err(|e| {
        CliError::new(format!("ipoib up --watch: {e}"), "run as root, with the pool's directory present")
    })?;
    let _ = writeln!(stderr, "{}: ipoib up --watch: {signal}, stopped; addresses left in place", super::PLUGIN_NAME);
    Ok(0)
}

/// 1 when a link has no pair or could not be set, else 0.
fn status(reports: &[LinkReport]) -> i32 {
    i32::from(reports.iter().any(|r| r.pair_missing || r.status == Status::Failed))
}

fn print(reports: &[LinkReport], options: &UpOptions, stdout: &mut dyn Write) {
    let out = if options.json {
        let items: Vec<String> = reports.iter().map(|r| json_line(r, options.dry_run)).collect();
        json_array(&items)
    } else {
        reports.iter().map(|r| format!("{}\n", line(r, options.dry_run))).collect()
    };
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}

/// `ib0: set 172.16.1.2/16 (link set up; removed 172.16.1.9/16)`.
fn line(report: &LinkReport, dry_run: bool) -> String {
    let mut line = format!("{}: {}", text(report.name.as_bytes()), report.status.word());
    if let Some(address) = report.address {
        line.push(' ');
        line.push_str(&cidr_text(address));
    }
    let mut notes = Vec::new();
    if let Some(mac) = report.mac.filter(|_| report.pair_missing) {
        notes.push(format!("MAC {mac}"));
    }
    if report.set_up {
        notes.push("link set up".into());
    }
    if !report.removed.is_empty() {
        notes.push(format!("removed {}", report.removed.iter().map(|c| cidr_text(*c)).collect::<Vec<_>>().join(", ")));
    }
    if !report.note.is_empty() {
        notes.push(report.note.clone());
    }
    if dry_run {
        notes.push("dry run: nothing changed".into());
    }
    if !notes.is_empty() {
        line.push_str(&format!(" ({})", notes.join("; ")));
    }
    line
}

/// One link as a JSON object: strings, an array of the addresses removed, and booleans.
fn json_line(report: &LinkReport, dry_run: bool) -> String {
    let mut out = String::from("{");
    let string = |out: &mut String, key: &str, value: &str| {
        json_string(out, key);
        out.push(':');
        json_string(out, value);
        out.push(',');
    };
    string(&mut out, "link", &report.name);
    string(&mut out, "status", report.status.word());
    string(&mut out, "mac", &report.mac.map(|m| m.to_string()).unwrap_or_default());
    string(&mut out, "address", &report.address.map(cidr_text).unwrap_or_default());
    json_string(&mut out, "removed");
    out.push_str(":[");
    for (i, cidr) in report.removed.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(&mut out, &cidr_text(*cidr));
    }
    out.push_str("],");
    string(&mut out, "note", &report.note);
    out.push_str(&format!("\"set_up\":{},\"no_pair\":{},\"dry_run\":{dry_run}}}", report.set_up, report.pair_missing));
    out
}

fn up_error(e: &UpError) -> CliError {
    match e {
        UpError::Pool(why) => {
            let mut error = CliError::from(why);
            error.msg = format!("ipoib up changed nothing: {}", error.msg);
            error
        }
        UpError::Netlink(_) => CliError::new(e.to_string(), "run as root (CAP_NET_ADMIN)"),
        UpError::State(_) => CliError::new(e.to_string(), "the state lives under /run; give another with --state"),
    }
}
