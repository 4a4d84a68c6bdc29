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

/// Issue 17: serde_json's error text quotes the offending string whole, so a 400 echoed up to the
/// 64 KiB body; the target's own property ("error too long") found it in a 20 s run.
#[test]
fn issue_17_a_long_string_of_the_wrong_type_is_quoted_bounded() {
    let input = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/regressions/profile_request/long-string-of-the-wrong-type"),
    )
    .unwrap();
    webhook_checks::profile_request(&input);
}

/// A MAC of control characters: `Shown` bounded the bytes it read to 256, but each DEL is
/// escaped as six (`\u{7f}`), so the 400's text ran to about 1.5 KiB. The bound now holds for
/// what is written; the fuzz smoke's 30 s found it.
#[test]
fn a_mac_of_control_characters_is_quoted_bounded_after_escaping() {
    let input = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/regressions/profile_request/mac-of-control-characters"),
    )
    .unwrap();
    webhook_checks::profile_request(&input);
}
