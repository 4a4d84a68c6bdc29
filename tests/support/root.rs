//! The one rule for tests that need root or a tool: run when they can; otherwise fail under `CI`
//! (which runs the whole suite as root with every tool installed, so a skip there would hide a
//! test that never ran), and elsewhere print why and let the caller return.

/// Whether `test` can run, given `ready`: `Ok` or why not. Panics under `CI` when it cannot.
pub fn can_run(test: &str, ready: Result<(), String>) -> bool {
    match ready {
        Ok(()) => true,
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("{test}: cannot run: {why}; CI must run the test suite as root with tests/setup.sh done")
        }
        Err(why) => {
            eprintln!("{test}: SKIPPED ({why}; CI runs it)");
            false
        }
    }
}

/// [`can_run`] for a test that needs root only.
pub fn needs_root(test: &str) -> bool {
    can_run(test, root())
}

/// `Ok` when running as root.
pub fn root() -> Result<(), String> {
    match nix::unistd::geteuid() {
        uid if uid.is_root() => Ok(()),
        uid => Err(format!("needs root; euid is {uid}")),
    }
}

/// `Ok` when `program` is an executable on `PATH`; the error names the package to install.
pub fn tool(program: &str, package: &str) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let found = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(program)).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    });
    if found {
        Ok(())
    } else {
        Err(format!("{program} is not on PATH (tests/setup.sh installs {package})"))
    }
}
