//! A NIC's link-layer address, and the MAC that `IPoIB_Data` derives from it.
//!
//! An IPoIB link address is 20 bytes (RFC 4391): flags and QPN (4 bytes), then the port GID,
//! whose last 8 bytes are the port GUID. Azure's host names the NIC by GUID bytes 0-2 and 5-7
//! (it drops the `ff:fd` in the middle that turns a MAC into an EUI-64):
//! `…:00:15:5d:ff:fd:33:ff:0b` → `00155D33FF0B`. An Ethernet-style 6-byte address is its own MAC.
//!
//! Addresses come as raw bytes (netlink `IFLA_ADDRESS`) or as `aa:bb:…` text (sysfs `address`,
//! and what the Go plugin reads); a port GID comes as sysfs `gids/N` text
//! (`fe80:0000:0000:0000:0015:5dff:fd33:ff0b`).

use core::fmt;

use crate::mac::{hex_value, Mac};

/// Length of an IPoIB link address (`INFINIBAND_ALEN`).
pub const INFINIBAND_ALEN: usize = 20;
/// Length of an Ethernet address (`ETH_ALEN`).
pub const ETH_ALEN: usize = 6;

/// A link-layer address of a kind that `IPoIB_Data` can name.
///
/// Exhaustive on purpose: these are the two address lengths the host's MAC naming is defined for.
///
/// ```
/// use kvp_core::{HwAddr, Mac};
///
/// // /sys/class/net/ib0/address of an Azure IPoIB NIC.
/// let ib = HwAddr::parse_text(b"00:00:01:49:fe:80:00:00:00:00:00:00:00:15:5d:ff:fd:33:ff:0b\n")?;
/// assert_eq!(ib.mac().to_string(), "00155D33FF0B");
/// assert_eq!(ib.port_guid(), Some([0x00, 0x15, 0x5d, 0xff, 0xfd, 0x33, 0xff, 0x0b]));
///
/// // An Ethernet-style address is its own MAC.
/// let eth = HwAddr::from_bytes(&[0x00, 0x15, 0x5d, 0x33, 0xff, 0x0b])?;
/// assert_eq!(eth.mac(), ib.mac());
/// assert!(HwAddr::from_bytes(&[0; 8]).is_err());
/// # Ok::<(), kvp_core::HwAddrError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum HwAddr {
    /// A 6-byte Ethernet-style address.
    Ethernet([u8; ETH_ALEN]),
    /// A 20-byte IPoIB address.
    Infiniband([u8; INFINIBAND_ALEN]),
}

/// Why a hardware address or GID was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HwAddrError {
    /// Neither 6 nor 20 bytes (or, for a GID, not 16).
    Length {
        /// The number of bytes found.
        len: usize,
    },
    /// Text that is not `xx:xx:…` (two hex digits per byte, `:` between) at this offset.
    BadText {
        /// Offset of the first offending character.
        at: usize,
    },
    /// A GID of all zeros: sysfs prints one for an unused GID table entry.
    ZeroGid,
}

impl fmt::Display for HwAddrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HwAddrError::Length { len } => {
                write!(f, "hardware address is {len} bytes; expected 6 (Ethernet) or 20 (IPoIB)")
            }
            HwAddrError::BadText { at } => write!(f, "hardware address text is malformed at offset {at}"),
            HwAddrError::ZeroGid => f.write_str("port GID is all zeros (unused GID table entry)"),
        }
    }
}

impl core::error::Error for HwAddrError {}

impl HwAddr {
    /// From raw bytes, as netlink's `IFLA_ADDRESS` carries them.
    ///
    /// # Errors
    /// [`HwAddrError::Length`] unless `bytes` is 6 or 20 bytes long.
    pub fn from_bytes(bytes: &[u8]) -> Result<HwAddr, HwAddrError> {
        if let Ok(eth) = <[u8; ETH_ALEN]>::try_from(bytes) {
            Ok(HwAddr::Ethernet(eth))
        } else if let Ok(ib) = <[u8; INFINIBAND_ALEN]>::try_from(bytes) {
            Ok(HwAddr::Infiniband(ib))
        } else {
            Err(HwAddrError::Length { len: bytes.len() })
        }
    }

    /// From `aa:bb:cc:…` text (either case), as sysfs prints it. A trailing newline is allowed.
    ///
    /// # Errors
    /// [`HwAddrError::BadText`] with the offset of the first bad character, or
    /// [`HwAddrError::Length`] when the text holds neither 6 nor 20 bytes.
    pub fn parse_text(text: &[u8]) -> Result<HwAddr, HwAddrError> {
        let text = text.strip_suffix(b"\n").unwrap_or(text);
        let mut buf = [0u8; INFINIBAND_ALEN];
        match parse_colon_hex(text, &mut buf)? {
            ETH_ALEN => {
                let [b0, b1, b2, b3, b4, b5, ..] = buf;
                Ok(HwAddr::Ethernet([b0, b1, b2, b3, b4, b5]))
            }
            INFINIBAND_ALEN => Ok(HwAddr::Infiniband(buf)),
            len => Err(HwAddrError::Length { len }),
        }
    }

    /// The address bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            HwAddr::Ethernet(b) => b,
            HwAddr::Infiniband(b) => b,
        }
    }

    /// The port GUID of an IPoIB address (its last 8 bytes); `None` for an Ethernet address.
    #[must_use]
    pub fn port_guid(&self) -> Option<[u8; 8]> {
        match self {
            HwAddr::Ethernet(_) => None,
            HwAddr::Infiniband(ib) => Some(guid_of(ib)),
        }
    }

    /// The MAC that `IPoIB_Data` uses for this NIC.
    #[must_use]
    pub fn mac(&self) -> Mac {
        match self {
            HwAddr::Ethernet(eth) => Mac(*eth),
            HwAddr::Infiniband(ib) => Mac::from_port_guid(guid_of(ib)),
        }
    }
}

/// `aa:bb:…`, the way `ip link` and sysfs print it.
impl fmt::Display for HwAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.as_bytes().iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for HwAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HwAddr({self})")
    }
}

/// The port GUID: the last 8 bytes of a 20-byte IPoIB address.
fn guid_of(ib: &[u8; INFINIBAND_ALEN]) -> [u8; 8] {
    let [.., g0, g1, g2, g3, g4, g5, g6, g7] = *ib;
    [g0, g1, g2, g3, g4, g5, g6, g7]
}

/// Parses a port GID as sysfs prints it (`fe80:0000:0000:0000:0015:5dff:fd33:ff0b`: eight groups
/// of four hex digits) and returns its port GUID (the last 8 bytes). A trailing newline is
/// allowed; an all-zero GID (an unused table entry) is an error.
///
/// ```
/// use kvp_core::{port_guid_from_gid_text, Mac};
///
/// // /sys/class/infiniband/mlx5_0/ports/1/gids/0
/// let guid = port_guid_from_gid_text(b"fe80:0000:0000:0000:0015:5dff:fd33:ff0b\n")?;
/// assert_eq!(Mac::from_port_guid(guid).to_string(), "00155D33FF0B");
/// # Ok::<(), kvp_core::HwAddrError>(())
/// ```
///
/// # Errors
/// [`HwAddrError::BadText`] at the first bad character, [`HwAddrError::Length`] unless there are
/// exactly eight groups, [`HwAddrError::ZeroGid`] for an all-zero GID.
pub fn port_guid_from_gid_text(text: &[u8]) -> Result<[u8; 8], HwAddrError> {
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    let mut gid = [0u8; 16];
    let mut groups = 0;
    for (i, group) in text.split(|&c| c == b':').enumerate() {
        let at = i * 5;
        let [a, b, c, d] = *group else {
            return Err(HwAddrError::BadText { at });
        };
        let slot = gid.get_mut(2 * i..2 * i + 2).ok_or(HwAddrError::Length { len: 2 * (i + 1) })?;
        let mut value: u16 = 0;
        for (j, digit) in [a, b, c, d].into_iter().enumerate() {
            value = value << 4 | u16::from(hex_value(digit).ok_or(HwAddrError::BadText { at: at + j })?);
        }
        slot.copy_from_slice(&value.to_be_bytes());
        groups += 1;
    }
    if groups != 8 {
        return Err(HwAddrError::Length { len: 2 * groups });
    }
    if gid == [0; 16] {
        return Err(HwAddrError::ZeroGid);
    }
    let [.., g0, g1, g2, g3, g4, g5, g6, g7] = gid;
    Ok([g0, g1, g2, g3, g4, g5, g6, g7])
}

/// Parses `xx:xx:…` into `out`, returning how many bytes it wrote.
fn parse_colon_hex(text: &[u8], out: &mut [u8]) -> Result<usize, HwAddrError> {
    let mut n = 0;
    for (i, group) in text.split(|&c| c == b':').enumerate() {
        let at = i * 3;
        let [hi, lo] = *group else {
            return Err(HwAddrError::BadText { at });
        };
        let hi = hex_value(hi).ok_or(HwAddrError::BadText { at })?;
        let lo = hex_value(lo).ok_or(HwAddrError::BadText { at: at + 1 })?;
        let slot = out.get_mut(i).ok_or(HwAddrError::Length { len: i + 1 })?;
        *slot = hi << 4 | lo;
        n = i + 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    const IB_TEXT: &[u8] = b"00:00:01:49:fe:80:00:00:00:00:00:00:00:15:5d:ff:fd:33:ff:0b";
    const IB_BYTES: [u8; 20] =
        [0x00, 0x00, 0x01, 0x49, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x00, 0x15, 0x5d, 0xff, 0xfd, 0x33, 0xff, 0x0b];

    #[test]
    fn azure_test_vector() {
        let hw = HwAddr::parse_text(IB_TEXT).unwrap();
        assert_eq!(hw, HwAddr::Infiniband(IB_BYTES));
        assert_eq!(hw.mac().to_string(), "00155D33FF0B");
        assert_eq!(HwAddr::from_bytes(&IB_BYTES).unwrap().mac(), hw.mac());
        assert_eq!(std::format!("{hw}").as_bytes(), IB_TEXT);
    }

    #[test]
    fn ethernet_maps_to_itself() {
        let hw = HwAddr::parse_text(b"00:15:5D:33:FF:0B\n").unwrap();
        assert_eq!(hw.mac().to_string(), "00155D33FF0B");
        assert_eq!(hw.port_guid(), None);
        assert_eq!(HwAddr::from_bytes(&[0, 0x15, 0x5d, 0x33, 0xff, 0x0b]), Ok(hw));
    }

    #[test]
    fn rejects_other_lengths_and_bad_text() {
        assert_eq!(HwAddr::from_bytes(&[]), Err(HwAddrError::Length { len: 0 }));
        assert_eq!(HwAddr::from_bytes(&[0; 8]), Err(HwAddrError::Length { len: 8 }));
        assert_eq!(HwAddr::parse_text(b""), Err(HwAddrError::BadText { at: 0 }));
        assert_eq!(HwAddr::parse_text(b"00:15:5d"), Err(HwAddrError::Length { len: 3 }));
        assert_eq!(HwAddr::parse_text(b"00:15:5d:33:ff:0g"), Err(HwAddrError::BadText { at: 16 }));
        assert_eq!(HwAddr::parse_text(b"00:15:5d:33:ff:0b:"), Err(HwAddrError::BadText { at: 18 }));
        assert_eq!(HwAddr::parse_text(b"0:15:5d:33:ff:0b"), Err(HwAddrError::BadText { at: 0 }));
        let too_long = [b"00:".as_slice(); 21].concat();
        assert_eq!(HwAddr::parse_text(&too_long[..too_long.len() - 1]), Err(HwAddrError::Length { len: 21 }));
    }

    #[test]
    fn gid_text_gives_the_port_guid() {
        let guid = port_guid_from_gid_text(b"fe80:0000:0000:0000:0015:5dff:fd33:ff0b\n").unwrap();
        assert_eq!(guid, [0x00, 0x15, 0x5d, 0xff, 0xfd, 0x33, 0xff, 0x0b]);
        assert_eq!(Mac::from_port_guid(guid).to_string(), "00155D33FF0B");
    }

    #[test]
    fn gid_text_errors() {
        assert_eq!(port_guid_from_gid_text(b"0000:0000:0000:0000:0000:0000:0000:0000"), Err(HwAddrError::ZeroGid));
        assert_eq!(port_guid_from_gid_text(b"fe80:0000"), Err(HwAddrError::Length { len: 4 }));
        assert_eq!(port_guid_from_gid_text(b"fe80::1"), Err(HwAddrError::BadText { at: 5 }));
        assert_eq!(
            port_guid_from_gid_text(b"fe80:0000:0000:0000:0015:5dff:fd33:ff0b:0000"),
            Err(HwAddrError::Length { len: 18 })
        );
        assert_eq!(
            port_guid_from_gid_text(b"fe80:0000:0000:0000:0015:5dff:fd33:ff0x"),
            Err(HwAddrError::BadText { at: 38 })
        );
    }
}
