//! Replays the committed fuzz seeds and regression inputs through the fuzz targets' own checks,
//! so stable `cargo test` guards what the fuzzers found without running libFuzzer.
// Test code: indexing, unwrapping and panicking are how a test fails (the workspace lints deny
// them in library code only).
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../fuzz/checks.rs"]
mod checks;
#[macro_use]
#[path = "../../fuzz/replay.rs"]
mod replay;

/// Each fuzz target and the check it runs.
const TARGETS: [(&str, replay::Check); 4] = [
    ("pool", checks::pool),
    ("ipoib_value", checks::ipoib_value),
    ("hwaddr", checks::hwaddr),
    ("resolve", checks::resolve),
];

replay_tests!(TARGETS);
