//! The 6-byte MAC that `IPoIB_Data` uses to name a NIC, written as 12 hex digits.

use core::fmt;

/// A 6-byte MAC as `IPoIB_Data` names it (`00155D33FF0B`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mac(pub [u8; 6]);

/// Why 12-hex-digit MAC text was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

impl Mac {
    /// Parses 12 hex digits, any case, no separators.
    pub fn parse_hex(text: &[u8]) -> Result<Mac, MacError> {
        let digits: &[u8; 12] = text.try_into().map_err(|_| MacError::Length { len: text.len() })?;
        let mut mac = [0u8; 6];
        for (i, (byte, pair)) in mac.iter_mut().zip(digits.chunks_exact(2)).enumerate() {
            if let [hi, lo] = *pair {
                let hi = hex_value(hi).ok_or(MacError::NotHex { at: 2 * i })?;
                let lo = hex_value(lo).ok_or(MacError::NotHex { at: 2 * i + 1 })?;
                *byte = hi << 4 | lo;
            }
        }
        Ok(Mac(mac))
    }

    /// The KVP spelling: 12 upper-case hex digits.
    pub fn to_hex(&self) -> heapless::String<12> {
        let mut s = heapless::String::new();
        for b in self.0 {
            for nibble in [b >> 4, b & 0xf] {
                // Cannot fail: 12 pushes into a 12-byte string.
                let _ = s.push(char::from(HEX_UPPER.get(usize::from(nibble)).copied().unwrap_or(b'0')));
            }
        }
        s
    }
}

/// `00155D33FF0B`, the spelling KVP uses.
impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mac({self})")
    }
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

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

    #[test]
    fn parses_any_case_and_prints_upper() {
        let mac = Mac::parse_hex(b"00155d33FF0b").unwrap();
        assert_eq!(mac, Mac([0x00, 0x15, 0x5d, 0x33, 0xff, 0x0b]));
        assert_eq!(mac.to_hex().as_str(), "00155D33FF0B");
        assert_eq!(std::format!("{mac:?}"), "Mac(00155D33FF0B)");
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
