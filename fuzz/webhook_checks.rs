//! What the webhook's fuzz target checks, as a plain function of the input bytes: shared by the
//! libFuzzer target `fuzz_targets/profile_request.rs` and by `tests/fuzz_corpus_webhook.rs`,
//! which replays the committed corpus on stable `cargo test` (so std and the webhook's decoder
//! only, never libfuzzer-sys).
#![allow(dead_code)]

use azure_ipoib_webhook::request::{decode, MacProblem};
use kvp_core::HwAddr;

/// Requests the webhook must answer, as DRANet sends them. Fuzz input that is JSON is spliced
/// into them as the value of a field nobody knows, which must change nothing.
pub const KNOWN_GOOD: [&str; 3] = [
    r#"{"device":{"mac_address":"00:00:01:49:fe:80:00:00:00:00:00:00:00:15:5d:ff:fd:33:ff:0b","pci_address":"0000:00:02.0","name":"ib0"},"claim_uid":"u","config":{"profile":"ipoib","interface":{"name":"net1","addresses":[]}}}"#,
    r#"{"device":{"mac_address":"00:15:5d:33:ff:0b"}}"#,
    r#"{"claim_uid":"u","config":null,"device":{"mac_address":"00:15:5D:33:FF:0B","name":"ib\u0030"}}"#,
];

/// Longest error text: serde_json's message, or a MAC quoted up to 64 characters.
const MAX_ERROR_TEXT: usize = 512;

/// `decode` on any bytes: no panic; errors are short; a decoded address prints as text that
/// parses back to itself; JSON spliced in as an unknown field changes no known-good request.
pub fn profile_request(data: &[u8]) {
    match decode(data) {
        Err(e) => assert!(e.to_string().len() <= MAX_ERROR_TEXT, "error too long: {e}"),
        Ok(request) => match request.mac {
            Ok(hwaddr) => {
                let text = hwaddr.to_string();
                assert_eq!(HwAddr::parse_text(text.as_bytes()), Ok(hwaddr), "{text}");
            }
            Err(problem @ MacProblem::Malformed(..)) => {
                assert!(problem.to_string().len() <= MAX_ERROR_TEXT, "{problem}");
            }
            Err(MacProblem::Missing) => {}
        },
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
        return;
    }
    for good in KNOWN_GOOD {
        let want = decode(good.as_bytes()).expect("known-good request decodes");
        let spliced = format!(r#"{{"zz_unknown":{text},{}"#, &good[1..]);
        let got = decode(spliced.as_bytes()).unwrap_or_else(|e| panic!("{spliced}: {e}"));
        assert_eq!(got, want, "{spliced}");
        let nested = good.replacen(r#""device":{"#, &format!(r#""device":{{"zz_unknown":{text},"#), 1);
        assert_eq!(decode(nested.as_bytes()).unwrap_or_else(|e| panic!("{nested}: {e}")), want, "{nested}");
    }
}
