//! The body of `POST /GetProfileConfig`, DRANet's `ProfileRequest`:
//! `{"device": {"mac_address", "pci_address", "name"}, "claim_uid", "config": {"profile", …}}`.
//!
//! Only `device.mac_address` and `config.profile` matter here; every other field, known to
//! DRANet or not, is ignored, so a newer DRANet that adds fields keeps working.
//!
//! Errors quote the client's input (the MAC text, serde_json's message, which quotes the
//! offending value whole: up to the 64 KiB body) only as the plugin's rule allows:
//! [`ipoib_host::outside_value`], at most 256 bytes with the cut marked.

use std::fmt;

use ipoib_host::outside_value::Shown;
use kvp_core::{HwAddr, HwAddrError};
use serde::Deserialize;

#[derive(Deserialize)]
struct Wire {
    #[serde(default)]
    device: Option<Device>,
    #[serde(default)]
    config: Option<Config>,
}

#[derive(Deserialize)]
struct Device {
    #[serde(default)]
    mac_address: Option<String>,
}

#[derive(Deserialize)]
struct Config {
    #[serde(default)]
    profile: Option<String>,
}

/// What the webhook needs from a request.
#[derive(Debug, PartialEq, Eq)]
pub struct ProfileRequest {
    /// The NIC's link address, or why there is none.
    pub mac: Result<HwAddr, MacProblem>,
    /// `config.profile`; empty when absent, as in the Go original.
    pub profile: String,
}

/// Why `device.mac_address` gives no address.
#[derive(Debug, PartialEq, Eq)]
pub enum MacProblem {
    /// Absent, null or empty.
    Missing,
    /// Not 6 or 20 bytes of colon hex; carries the text and why (Display shows a bounded
    /// slice of the text).
    Malformed(String, HwAddrError),
}

impl fmt::Display for MacProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MacProblem::Missing => f.write_str("device.mac_address is required"),
            MacProblem::Malformed(text, e) => write!(f, "device.mac_address {:?}: {e}", Shown::new(text)),
        }
    }
}

/// The body is not a JSON request object of the expected shape.
#[derive(Debug)]
pub enum DecodeError {
    /// JSON, but not an object (serde would read an array as the struct's fields in order).
    NotAnObject,
    /// Not JSON, or a field of the wrong type.
    Json(serde_json::Error),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::NotAnObject => f.write_str("request body is not a ProfileRequest: not a JSON object"),
            DecodeError::Json(e) => write!(f, "request body is not a ProfileRequest: {}", BoundedJsonError(e)),
        }
    }
}

/// serde_json's message with what it quotes bounded by [`Shown`], then its position.
struct BoundedJsonError<'a>(&'a serde_json::Error);

impl fmt::Display for BoundedJsonError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.0;
        let whole = e.to_string();
        // serde_json appends " at line L column C" when it knows the position.
        let position = format!(" at line {} column {}", e.line(), e.column());
        match whole.strip_suffix(&position).filter(|_| e.line() > 0) {
            Some(message) => write!(f, "{}{position}", Shown::new(message)),
            None => write!(f, "{}", Shown::new(&whole)),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes a `ProfileRequest` body. Never panics, whatever the bytes.
pub fn decode(body: &[u8]) -> Result<ProfileRequest, DecodeError> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            Err(e) => DecodeError::Json(e),
            Ok(_) => DecodeError::NotAnObject,
        });
    }
    let wire: Wire = serde_json::from_slice(body).map_err(DecodeError::Json)?;
    let mac = match wire.device.and_then(|d| d.mac_address).filter(|m| !m.is_empty()) {
        None => Err(MacProblem::Missing),
        Some(text) => HwAddr::parse_text(text.as_bytes()).map_err(|e| MacProblem::Malformed(text, e)),
    };
    let profile = wire.config.and_then(|c| c.profile).unwrap_or_default();
    Ok(ProfileRequest { mac, profile })
}

#[cfg(test)]
mod tests {
    use super::*;

    const IB: &str = "00:00:01:49:fe:80:00:00:00:00:00:00:00:15:5d:ff:fd:33:ff:0b";

    #[test]
    fn decodes_dranets_request_and_ignores_the_rest() {
        let body = format!(
            r#"{{"device":{{"mac_address":"{IB}","pci_address":"0000:00:02.0","name":"ib0","new":1}},
               "claim_uid":"u","config":{{"profile":"ipoib","interface":{{"name":"net1"}}}},"extra":[1,{{}}]}}"#
        );
        let req = decode(body.as_bytes()).unwrap();
        assert_eq!(req.mac.unwrap().mac().to_string(), "00155D33FF0B");
        assert_eq!(req.profile, "ipoib");
        let req = decode(br#"{"device":{"mac_address":"00:15:5D:33:FF:0B"}}"#).unwrap();
        assert_eq!(req.mac.unwrap().mac().to_string(), "00155D33FF0B");
        assert_eq!(req.profile, "");
    }

    #[test]
    fn says_what_is_wrong() {
        assert!(decode(b"{").is_err());
        assert!(decode(b"[]").is_err());
        assert!(decode(br#"{"device":{"mac_address":5}}"#).is_err());
        for body in [&br#"{}"#[..], br#"{"device":null}"#, br#"{"device":{"mac_address":""}}"#] {
            assert_eq!(decode(body).unwrap().mac, Err(MacProblem::Missing));
        }
        let long = "x".repeat(500);
        let body = format!(r#"{{"device":{{"mac_address":"{long}"}}}}"#);
        let problem = decode(body.as_bytes()).unwrap().mac.unwrap_err();
        let text = problem.to_string();
        assert!(text.len() < 400 && text.contains("xxx\"…(500 bytes): "), "{text}");
        assert!(matches!(
            decode(br#"{"device":{"mac_address":"00:15"}}"#).unwrap().mac,
            Err(MacProblem::Malformed(..))
        ));
    }

    #[test]
    fn json_errors_quote_a_bounded_slice_and_keep_the_position() {
        let long = "x".repeat(60_000);
        for body in [format!(r#"{{"device":"{long}"}}"#), format!(r#"{{"config":"{long}","device":{{}}}}"#)] {
            let text = decode(body.as_bytes()).unwrap_err().to_string();
            assert!(text.len() < 400, "{} bytes: {}", text.len(), &text[..400]);
            assert!(text.contains("invalid type: string \"xxx"), "{text}");
            assert!(text.contains("bytes) at line 1 column"), "{text}");
        }
        let short = decode(br#"{"device":5}"#).unwrap_err().to_string();
        assert!(short.ends_with("invalid type: integer `5`, expected struct Device at line 1 column 11"), "{short}");
        assert!(decode(b"").unwrap_err().to_string().contains("EOF"));
    }
}
