//! Replays the committed cni-frontend fuzz seeds and regression inputs through the fuzz targets'
//! own checks (`fuzz/frontend_checks.rs`), so stable `cargo test` guards what the fuzzers found
//! without running libFuzzer. kvp-core's targets are replayed by `kvp-core/tests/fuzz_corpus.rs`.
// Test code: indexing, unwrapping and panicking are how a test fails (the workspace lints deny
// them in library code only).
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../fuzz/frontend_checks.rs"]
mod frontend_checks;
#[macro_use]
#[path = "../fuzz/replay.rs"]
mod replay;

/// Each frontend fuzz target and the check it runs.
const TARGETS: [(&str, replay::Check); 2] =
    [("netconf", frontend_checks::netconf), ("netlink_reply", frontend_checks::netlink_reply)];

replay_tests!(TARGETS);
