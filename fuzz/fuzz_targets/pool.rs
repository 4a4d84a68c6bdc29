//! `pool` target: libFuzzer drives [`checks::pool`]; the check itself is shared with the corpus
//! replay test in `kvp-core/tests/fuzz_corpus.rs`.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::pool(data));
