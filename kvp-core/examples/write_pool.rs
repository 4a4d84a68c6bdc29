//! Writes a KVP pool file, one record per `KEY=VALUE` argument, with the crate's own encoder.
//!
//! `cargo run -p kvp-core --example write_pool -- OUT KEY=VALUE ...`
//!
//! Fixtures and fuzz seeds are made with this rather than by hand so that they match what the
//! encoder writes. The key ends at the first `=`, so a key cannot contain one; the value may.
//! With no `KEY=VALUE` the file is empty, like a pool the daemon has not written yet.
//! Exit codes: 0 written, 1 the file could not be written, 2 bad arguments.

use std::ffi::OsString;
use std::process::ExitCode;

use kvp_core::{encode_record, RawRecord};

const USAGE: &str = "usage: write_pool OUT [KEY=VALUE]...";

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(out) = args.next() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let pool = match encode_args(args) {
        Ok(pool) => pool,
        Err(message) => {
            eprintln!("write_pool: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = std::fs::write(&out, &pool) {
        eprintln!("write_pool: cannot write {}: {e}", out.to_string_lossy());
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// The pool bytes for `KEY=VALUE` arguments, or a message naming the bad argument.
fn encode_args(args: impl Iterator<Item = OsString>) -> Result<Vec<u8>, String> {
    let mut pool = Vec::new();
    for (n, arg) in args.enumerate() {
        let bytes = arg.as_encoded_bytes();
        let mut parts = bytes.splitn(2, |&b| b == b'=');
        let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
            return Err(format!("record {}: {:?} is not KEY=VALUE", n + 1, arg));
        };
        let mut record = RawRecord::zeroed();
        encode_record(key, value, &mut record).map_err(|e| format!("record {}: {e}", n + 1))?;
        pool.extend_from_slice(record.as_bytes());
    }
    Ok(pool)
}
