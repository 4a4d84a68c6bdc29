//! The CNI spec versions this plugin speaks, and what each allows.

use std::fmt;

/// A supported `cniVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CniVersion {
    /// 0.1.0: `ip4`/`ip6` results, no CHECK.
    V0_1_0,
    /// 0.2.0: as 0.1.0.
    V0_2_0,
    /// 0.3.0: `ips` with `version`.
    V0_3_0,
    /// 0.3.1: what network-operator's HostDeviceNetwork renders.
    V0_3_1,
    /// 0.4.0: adds CHECK.
    V0_4_0,
    /// 1.0.0: `ips` without `version`.
    V1_0_0,
    /// 1.1.0: adds STATUS and GC.
    V1_1_0,
}

/// Every supported version, oldest first, as VERSION reports them.
pub const SUPPORTED: [CniVersion; 7] = [
    CniVersion::V0_1_0,
    CniVersion::V0_2_0,
    CniVersion::V0_3_0,
    CniVersion::V0_3_1,
    CniVersion::V0_4_0,
    CniVersion::V1_0_0,
    CniVersion::V1_1_0,
];

impl CniVersion {
    /// The newest version, used when nothing better is known.
    pub const LATEST: CniVersion = CniVersion::V1_1_0;

    /// Parses a version string; `None` if unsupported.
    pub fn parse(text: &str) -> Option<CniVersion> {
        SUPPORTED.into_iter().find(|v| v.as_str() == text)
    }

    /// The version string.
    pub fn as_str(self) -> &'static str {
        match self {
            CniVersion::V0_1_0 => "0.1.0",
            CniVersion::V0_2_0 => "0.2.0",
            CniVersion::V0_3_0 => "0.3.0",
            CniVersion::V0_3_1 => "0.3.1",
            CniVersion::V0_4_0 => "0.4.0",
            CniVersion::V1_0_0 => "1.0.0",
            CniVersion::V1_1_0 => "1.1.0",
        }
    }

    /// CHECK exists from 0.4.0.
    pub fn has_check(self) -> bool {
        self >= CniVersion::V0_4_0
    }

    /// STATUS and GC exist from 1.1.0.
    pub fn has_status_and_gc(self) -> bool {
        self >= CniVersion::V1_1_0
    }
}

impl fmt::Display for CniVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_supported_version_and_nothing_else() {
        for v in SUPPORTED {
            assert_eq!(CniVersion::parse(v.as_str()), Some(v));
        }
        for bad in ["", "1.2.0", "0.3", "v1.0.0", "1.0.0 "] {
            assert_eq!(CniVersion::parse(bad), None, "{bad}");
        }
        assert!(!CniVersion::V0_3_1.has_check() && CniVersion::V0_4_0.has_check());
        assert!(!CniVersion::V1_0_0.has_status_and_gc() && CniVersion::V1_1_0.has_status_and_gc());
    }
}
