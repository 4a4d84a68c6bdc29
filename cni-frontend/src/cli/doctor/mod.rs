//! `doctor`: the node, as a checklist. Each line is ok, warning or failure, and every line that
//! is not ok carries a one-line hint. Exit 0 when nothing fails.
//!
//! Every root it reads (`/sys`, `/proc`, `/etc/cni`, the pool, the CNI bin dir) comes from the
//! options, so tests run the whole list on fake trees. Every file in them is read through
//! [`super::node_file`] (never blocking on a FIFO, regular files only, bounded), and every name
//! taken from them is printed escaped.
//!
//! [`checks`] makes the list and [`render`] prints it. The list is counted once, here, for both
//! the summary and the exit status.

mod checks;
mod render;

use std::io::Write;

use super::args::DoctorOptions;
use super::report::CliError;

/// Runs every check and prints the list.
pub fn run(options: &DoctorOptions, stdout: &mut dyn Write) -> Result<i32, CliError> {
    let list = checks::all(options);
    let tally = list.tally();
    let out = if options.json { render::json(&list, &tally) } else { render::plain(&list, &tally) };
    let _ = stdout.write_all(out.as_bytes());
    Ok(if tally.failures > 0 { 1 } else { 0 })
}
