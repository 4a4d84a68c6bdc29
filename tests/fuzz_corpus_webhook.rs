//! Replays the webhook fuzz target's committed seeds and regression inputs through its own check
//! (`fuzz/webhook_checks.rs`), so stable `cargo test` guards what the fuzzer found.
// Test code: indexing, unwrapping and panicking are how a test fails (the workspace lints deny
// them in library code only).
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
#[path = "../fuzz/replay.rs"]
mod replay;
#[path = "../fuzz/webhook_checks.rs"]
mod webhook_checks;

const TARGETS: [(&str, replay::Check); 1] = [("profile_request", webhook_checks::profile_request)];

replay_tests!(TARGETS);
