//! Replaying committed fuzz inputs on stable `cargo test`: shared by `kvp-core/tests/fuzz_corpus.rs`,
//! `tests/fuzz_corpus_frontend.rs` and `tests/fuzz_corpus_webhook.rs`, which include it with
//! `#[macro_use] #[path]` (their crates sit beside `fuzz/`) and call [`replay_tests!`].

/// The three replay tests over `$targets` (`[(target name, Check)]`): every seed corpus, every
/// regression input, and trivial inputs each pass the target's check.
macro_rules! replay_tests {
    ($targets:expr) => {
        #[test]
        fn every_seed_corpus_passes_its_check() {
            replay::seeds_pass(&$targets);
        }

        #[test]
        fn every_regression_input_passes_its_check() {
            replay::regressions_pass(&$targets);
        }

        #[test]
        fn checks_reject_nothing_trivial() {
            replay::trivial_inputs_pass(&$targets);
        }
    };
}

use std::path::{Path, PathBuf};

/// A fuzz target's check: panics if the input breaks a property.
pub type Check = fn(&[u8]);

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The input files directly in `dir` (none if it does not exist), sorted for stable output.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap_or_else(|e| panic!("{}: {e}", dir.display())).path())
        .filter(|p| p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    files.sort();
    files
}

fn replay(check: Check, files: &[PathBuf]) {
    for file in files {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        // Name the input if its check fails.
        if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
            eprintln!("fuzz check failed on {}", file.display());
            std::panic::resume_unwind(panic);
        }
    }
}

/// Every seed in `fuzz/corpus/<target>/` passes its check; each target must have seeds.
pub fn seeds_pass(targets: &[(&str, Check)]) {
    for (target, check) in targets {
        let files = inputs(&fuzz_dir().join("corpus").join(target));
        assert!(!files.is_empty(), "fuzz/corpus/{target} has no seeds (see fuzz/README.md)");
        replay(*check, &files);
    }
}

/// Every crash input kept in `fuzz/regressions/<target>/` passes its check now.
pub fn regressions_pass(targets: &[(&str, Check)]) {
    for (target, check) in targets {
        replay(*check, &inputs(&fuzz_dir().join("regressions").join(target)));
    }
}

/// The edge inputs every target sees first.
pub fn trivial_inputs_pass(targets: &[(&str, Check)]) {
    for (_, check) in targets {
        for input in [&b""[..], &[0], &[0xff; 64], b"{}", b"\"\""] {
            check(input);
        }
    }
}
