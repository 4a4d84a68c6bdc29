//! The command line as the C start-up passes it to `main`.
//!
//! With `#![no_main]` on musl, std never records `argc`/`argv` (it does so only in its own
//! start-up), so `std::env::args_os` would be empty: the CLI takes them from `main`'s arguments.

use std::ffi::{c_char, c_int, CStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// `argv[1..argc]` as owned strings (the program name is left out).
///
/// # Safety
/// `argv` must point to `argc` valid NUL-terminated C strings, as the C start-up passes them
/// to `main`. A null `argv`, or a null entry (the terminator), ends the list early.
pub unsafe fn from_c(argc: c_int, argv: *const *const c_char) -> Vec<OsString> {
    let count = usize::try_from(argc).unwrap_or(0);
    let mut args = Vec::with_capacity(count.saturating_sub(1));
    if argv.is_null() {
        return args;
    }
    for i in 1..count {
        // SAFETY: i < argc, and the caller guarantees argv holds argc entries.
        let entry = unsafe { *argv.add(i) };
        if entry.is_null() {
            break;
        }
        // SAFETY: a non-null argv entry is a NUL-terminated string that lives until exit.
        let bytes = unsafe { CStr::from_ptr(entry) }.to_bytes();
        args.push(std::ffi::OsStr::from_bytes(bytes).to_owned());
    }
    args
}
