//! `profile_request` target: libFuzzer drives [`webhook_checks::profile_request`] (the webhook's
//! request-body decoder); the check itself is shared with `tests/fuzz_corpus_webhook.rs`.
#![no_main]

#[path = "../webhook_checks.rs"]
mod webhook_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| webhook_checks::profile_request(data));
