//! The `azure-ipoib-ipam-cni` executable: runtime in, runtime out. All logic is in the library.
//!
//! The entry point is the C `main` that the C library's start-up calls, not Rust's `fn main`. A
//! runtime starts the plugin once per pod per NIC, on the pod's start-up path, and std's own
//! start-up (checking fds 0-2, ignoring SIGPIPE, a signal stack for stack-overflow reports) costs
//! a dozen syscalls and page faults. Without it: a closed stdout ends the plugin by SIGPIPE
//! instead of an ignored EPIPE (the runtime is gone either way), and a stack overflow is a plain
//! SIGSEGV (nothing here recurses on input: the JSON scanner is iterative).
//!
//! Without `CNI_COMMAND` a person is running it: the operator CLI (`cli`). That check is one
//! `getenv` (no syscall); the CLI's entry is cold and out of line, so the plugin path neither
//! runs nor pages in any of it.
#![no_main]

use std::ffi::{c_char, c_int};

use cni_frontend::sys::Arena;

/// The plugin's heap: a run allocates a few KiB, so a `.bss` arena beats musl's allocator.
#[global_allocator]
static HEAP: Arena<{ 256 << 10 }> = Arena::new();

// SAFETY: this is the one `main` symbol in the program: `#![no_main]` stops rustc from emitting
// its own, and the C start-up code calls it with the standard `main` signature.
#[allow(unsafe_code)] // `no_mangle` is the one unsafe item outside `sys`; see SAFETY above.
#[no_mangle]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    if std::env::var_os("CNI_COMMAND").is_none() {
        return cli(argc, argv);
    }
    cni_frontend::run::run(
        |name| std::env::var_os(name),
        &mut cni_frontend::sys::stdio::RawStdin,
        &mut cni_frontend::sys::stdio::RawStdout,
        &mut std::io::stderr().lock(),
    )
}

/// The operator CLI, for a run without `CNI_COMMAND`.
#[allow(unsafe_code)] // reading C's argv, the CLI's one unsafe step outside `sys`; see SAFETY below.
#[cold]
#[inline(never)]
fn cli(argc: c_int, argv: *const *const c_char) -> c_int {
    // SAFETY: argc and argv are main's own, as the C start-up passed them.
    let args = unsafe { cni_frontend::sys::args::from_c(argc, argv) };
    cni_frontend::cli::main(
        args,
        &mut std::io::stdin().lock(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    )
}
