//! CNI error results: the code table, in one place, and the error JSON.
//!
//! The spec reserves 1-99; this plugin's own codes start at 100. The README's error-code table
//! mirrors [`Code`]; keep them in step.

use std::fmt;

use serde::Serialize;

/// Every code this plugin returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Code {
    /// 1: the config's `cniVersion` is not supported, or the command does not exist in it.
    IncompatibleVersion = 1,
    /// 3: `CNI_NETNS` names a network namespace that does not exist.
    UnknownContainer = 3,
    /// 4: a required environment variable is missing or invalid, or the command is unknown.
    InvalidEnv = 4,
    /// 5: stdin could not be read.
    Io = 5,
    /// 6: stdin is not valid JSON.
    Decode = 6,
    /// 7: the JSON is not a valid network config for this plugin.
    InvalidConfig = 7,
    /// 8: `CNI_NETNS` names the plugin's own network namespace. Not in the spec's table: Go's
    /// `types.ErrInvalidNetNS`, which its skel returns for the same case.
    InvalidNetns = 8,
    /// 11: the KVP pool is not ready (missing, empty, no `IPoIB_Data`, or locked by the writer).
    TryAgainLater = 11,
    /// 50: STATUS: the plugin cannot serve ADD right now.
    NotReady = 50,
    /// 100: `IPoIB_Data` lists no address for this NIC.
    NoAddressForNic = 100,
    /// 101: the `IPoIB_Data` value is malformed.
    MalformedIpoibData = 101,
    /// 102: the pool path is unusable: not a regular file, too large, unreadable.
    PoolUnusable = 102,
    /// 103: the NIC's hardware address could not be read.
    NicLookupFailed = 103,
    /// 104: CHECK: the address in `prevResult` is not the one KVP assigns.
    AddressMismatch = 104,
    /// 105: the NIC is an IPoIB child link (ipoib-cni), which this plugin must never serve.
    IpoibChildLink = 105,
}

impl Code {
    /// The number on the wire.
    pub fn number(self) -> u32 {
        self as u32
    }
}

/// A failed command: what the runtime gets on stdout (JSON) and the operator on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CniError {
    /// The spec code.
    pub code: Code,
    /// One line saying what went wrong.
    pub msg: String,
    /// What to do about it, or more context; may be empty.
    pub details: String,
}

impl CniError {
    /// An error with no details.
    pub fn new(code: Code, msg: impl Into<String>) -> Self {
        CniError { code, msg: msg.into(), details: String::new() }
    }

    /// Adds details.
    pub fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = details.into();
        self
    }

    /// The error JSON, `{"cniVersion","code","msg","details"}`.
    pub fn to_json(&self, cni_version: &str) -> Vec<u8> {
        #[derive(Serialize)]
        struct Wire<'a> {
            #[serde(rename = "cniVersion")]
            cni_version: &'a str,
            code: u32,
            msg: &'a str,
            #[serde(skip_serializing_if = "str::is_empty")]
            details: &'a str,
        }
        let wire = Wire { cni_version, code: self.code.number(), msg: &self.msg, details: &self.details };
        // Escaping can at most sextuple a byte (`\u00XX`); 64 bytes cover the rest.
        let mut buf = vec![0u8; 6 * (cni_version.len() + self.msg.len() + self.details.len()) + 64];
        match serde_json_core::to_slice(&wire, &mut buf) {
            Ok(n) => {
                buf.truncate(n);
                buf.push(b'\n');
                buf
            }
            Err(_) => {
                format!("{{\"code\":{},\"msg\":\"error could not be encoded\"}}\n", self.code.number()).into_bytes()
            }
        }
    }
}

impl fmt::Display for CniError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.msg)?;
        if !self.details.is_empty() {
            write!(f, " ({})", self.details)?;
        }
        Ok(())
    }
}

impl std::error::Error for CniError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_and_escaping() {
        let e = CniError::new(Code::TryAgainLater, "pool \"x\"\n missing").with_details("wait");
        assert_eq!(
            String::from_utf8(e.to_json("0.3.1")).unwrap(),
            "{\"cniVersion\":\"0.3.1\",\"code\":11,\"msg\":\"pool \\\"x\\\"\\n missing\",\"details\":\"wait\"}\n"
        );
        let e = CniError::new(Code::InvalidEnv, "\u{1}");
        assert_eq!(
            String::from_utf8(e.to_json("1.1.0")).unwrap(),
            "{\"cniVersion\":\"1.1.0\",\"code\":4,\"msg\":\"\\u0001\"}\n"
        );
    }
}
