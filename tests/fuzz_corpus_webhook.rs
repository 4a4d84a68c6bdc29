//! Replays the webhook fuzz target's committed seeds and regression inputs through its own check
//! (`fuzz/webhook_checks.rs`), so stable `cargo test` guards what the fuzzer found.
// Test code: indexing, unwrapping and panicking are how a test fails (the workspace lints deny
// them in library code only).
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../fuzz/replay.rs"]
mod replay;
#[path = "../fuzz/webhook_checks.rs"]
mod webhook_checks;

const TARGETS: [(&str, replay::Check); 1] = [("profile_request", webhook_checks::profile_request)];

#[test]
fn every_seed_corpus_passes_its_check() {
    replay::seeds_pass(&TARGETS);
}

#[test]
fn every_regression_input_passes_its_check() {
    replay::regressions_pass(&TARGETS);
}

#[test]
fn checks_reject_nothing_trivial() {
    replay::trivial_inputs_pass(&TARGETS);
}
