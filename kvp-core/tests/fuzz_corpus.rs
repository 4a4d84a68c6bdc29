//! Replays the committed fuzz seeds and regression inputs through the fuzz targets' own checks,
//! so stable `cargo test` guards what the fuzzers found without running libFuzzer.

#[path = "../../fuzz/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

/// A fuzz target's check: panics if the input breaks a property.
type Check = fn(&[u8]);

/// Each fuzz target and the check it runs.
const TARGETS: [(&str, Check); 4] = [
    ("pool", checks::pool),
    ("ipoib_value", checks::ipoib_value),
    ("hwaddr", checks::hwaddr),
    ("resolve", checks::resolve),
];

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

#[test]
fn every_seed_corpus_passes_its_check() {
    for (target, check) in TARGETS {
        let files = inputs(&fuzz_dir().join("corpus").join(target));
        assert!(!files.is_empty(), "fuzz/corpus/{target} has no seeds (run fuzz/make_corpus.sh)");
        replay(check, &files);
    }
}

#[test]
fn every_regression_input_passes_its_check() {
    for (target, check) in TARGETS {
        replay(check, &inputs(&fuzz_dir().join("regressions").join(target)));
    }
}

#[test]
fn checks_reject_nothing_trivial() {
    // The edge inputs every target sees first.
    for (_, check) in TARGETS {
        check(b"");
        check(&[0]);
        check(&[0xff; 64]);
    }
}
