//! The 6-byte MAC that `IPoIB_Data` uses to name a NIC, written as 12 hex digits.

use core::fmt::{self, Write};

/// A 6-byte MAC as `IPoIB_Data` names it (`00155D33FF0B`).
///
/// ```
/// use kvp_core::Mac;
///
/// let mac = Mac::parse_hex(b"00155d33ff0b")?;
/// assert_eq!(mac, Mac([0x00, 0x15, 0x5d, 0x33, 0xff, 0x0b]));
/// assert_eq!(mac.to_string(), "00155D33FF0B");
/// // Azure names an IPoIB NIC by its port GUID minus the `ff:fd` in the middle.
/// assert_eq!(Mac::from_port_guid([0x00, 0x15, 0x5d, 0xff, 0xfd, 0x33, 0xff, 0x0b]), mac);
/// # Ok::<(), kvp_core::MacError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mac(pub [u8; 6]);

/// Why 12-hex-digit MAC text was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MacError {
    /// Not exactly 12 characters long.
    Length {
        /// The length found.
        len: usize,
    },
    /// A character that is not a hex digit.
    NotHex {
        /// Its offset in the text.
        at: usize,
    },
}

impl fmt::Display for MacError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MacError::Length { len } => write!(f, "MAC must be 12 hex digits, found {len} characters"),
            MacError::NotHex { at } => write!(f, "MAC has a non-hex character at offset {at}"),
        }
    }
}

impl core::error::Error for MacError {}

impl Mac {
    /// Parses 12 hex digits, any case, no separators.
    ///
    /// # Errors
    /// [`MacError`] says whether the length or a digit (and which) is wrong.
    pub fn parse_hex(text: &[u8]) -> Result<Mac, MacError> {
        let digits: &[u8; 12] = text.try_into().map_err(|_| MacError::Length { len: text.len() })?;
        let mut mac = [0u8; 6];
        let his = digits.iter().step_by(2);
        let los = digits.iter().skip(1).step_by(2);
        for (i, (byte, (&hi, &lo))) in mac.iter_mut().zip(his.zip(los)).enumerate() {
            let hi = hex_value(hi).ok_or(MacError::NotHex { at: 2 * i })?;
            let lo = hex_value(lo).ok_or(MacError::NotHex { at: 2 * i + 1 })?;
            *byte = hi << 4 | lo;
        }
        Ok(Mac(mac))
    }

    /// Azure's MAC for an IPoIB port GUID: GUID bytes 0-2 followed by bytes 5-7 (it drops the
    /// `ff:fd` that turns a MAC into an EUI-64).
    #[must_use]
    pub fn from_port_guid(guid: [u8; 8]) -> Mac {
        let [g0, g1, g2, _, _, g5, g6, g7] = guid;
        Mac([g0, g1, g2, g5, g6, g7])
    }
}

/// `00155D33FF0B`, the spelling KVP uses: 12 upper-case hex digits.
impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            f.write_char(hex_digit_upper(b >> 4))?;
            f.write_char(hex_digit_upper(b & 0xf))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mac({self})")
    }
}

/// The upper-case digit for the low nibble of `nibble`.
fn hex_digit_upper(nibble: u8) -> char {
    let nibble = nibble & 0xf;
    char::from(if nibble < 10 { b'0' + nibble } else { b'A' + nibble - 10 })
}

/// The value of one ASCII hex digit, any case.
pub(crate) fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn parses_any_case_and_prints_upper() {
        let mac = Mac::parse_hex(b"00155d33FF0b").unwrap();
        assert_eq!(mac, Mac([0x00, 0x15, 0x5d, 0x33, 0xff, 0x0b]));
        assert_eq!(mac.to_string(), "00155D33FF0B");
        assert_eq!(std::format!("{mac:?}"), "Mac(00155D33FF0B)");
        assert_eq!(Mac([0xab; 6]).to_string(), "ABABABABABAB");
    }

    #[test]
    fn rejects_wrong_lengths_and_digits() {
        assert_eq!(Mac::parse_hex(b""), Err(MacError::Length { len: 0 }));
        assert_eq!(Mac::parse_hex(b"00155D33FF0"), Err(MacError::Length { len: 11 }));
        assert_eq!(Mac::parse_hex(b"00155D33FF0B0"), Err(MacError::Length { len: 13 }));
        assert_eq!(Mac::parse_hex(b"00:15:5D:33:FF:0B"), Err(MacError::Length { len: 17 }));
        assert_eq!(Mac::parse_hex(b"00155G33FF0B"), Err(MacError::NotHex { at: 5 }));
        assert_eq!(Mac::parse_hex(b"x0155D33FF0B"), Err(MacError::NotHex { at: 0 }));
        assert_eq!(Mac::parse_hex("00155D33FF0é".as_bytes()), Err(MacError::Length { len: 13 }));
    }
}
