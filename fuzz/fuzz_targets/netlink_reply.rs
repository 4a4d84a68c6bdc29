//! `netlink_reply` target: libFuzzer drives [`frontend_checks::netlink_reply`] (a 4-byte sequence
//! number, then an rtnetlink reply); the check itself is shared with the corpus replay test in
//! `tests/fuzz_corpus_frontend.rs`.
#![no_main]

#[path = "../frontend_checks.rs"]
mod frontend_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| frontend_checks::netlink_reply(data));
