//! `netconf` target: libFuzzer drives [`frontend_checks::netconf`] (config decoding and the JSON
//! scanner); the check itself is shared with the corpus replay test in
//! `tests/fuzz_corpus_frontend.rs`.
#![no_main]

#[path = "../frontend_checks.rs"]
mod frontend_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| frontend_checks::netconf(data));
