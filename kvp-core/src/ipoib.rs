//! The `IPoIB_Data` value: `NUMPAIRS:<n>|<MAC>:<IP>|<MAC>:<IP>…`.
//!
//! Grammar, as Azure's host writes it and WALinuxAgent reads it:
//!
//! ```text
//! value = "NUMPAIRS:" count *( "|" pair )
//! count = 1*DIGIT                       ; must equal the number of pairs
//! pair  = mac ":" ip                    ; split at the first ':' (the MAC has none)
//! mac   = 12HEXDIG                      ; any case
//! ip    = IPv4 dotted quad / IPv6 text
//! ```
//!
//! No whitespace anywhere; the record view has already cut the value at its NUL.
//! [`IpoibData::parse`] checks the whole value once (header, every pair, the count, MACs listed
//! twice), so an [`IpoibData`] in hand is known good and its lookups cannot fail. Errors name the
//! pair (1-based; 0 is the header) and never carry the value's text, so they are safe to log.

use core::fmt;
use core::net::IpAddr;

use crate::mac::{Mac, MacError};

/// The literal that starts every `IPoIB_Data` value.
pub(crate) const HEADER: &str = "NUMPAIRS:";

/// One NIC's entry: its MAC and its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    /// The NIC, as [`HwAddr::mac`](crate::HwAddr::mac) derives it.
    pub mac: Mac,
    /// The address the host assigned to it.
    pub ip: IpAddr,
}

/// What is wrong with an `IPoIB_Data` value, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValueError {
    /// 1-based index of the pair at fault; 0 for the `NUMPAIRS:` header and for a count mismatch.
    pub pair: u32,
    /// What is wrong.
    pub kind: ValueErrorKind,
}

/// The defects an `IPoIB_Data` value can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueErrorKind {
    /// The value does not start with `NUMPAIRS:`.
    MissingHeader,
    /// The count after `NUMPAIRS:` is not a decimal number that fits in 32 bits.
    BadCount,
    /// The count does not match the number of pairs present.
    CountMismatch {
        /// What `NUMPAIRS:` says.
        declared: u32,
        /// How many pairs there are.
        found: u32,
    },
    /// Nothing between two `|`.
    EmptyPair,
    /// The value ends with `|`.
    TrailingSeparator,
    /// A pair without the `:` between MAC and address.
    MissingColon,
    /// The MAC is not 12 hex digits.
    BadMac(MacError),
    /// The address is neither IPv4 nor IPv6 text.
    BadIp,
    /// The pair's MAC (any case) was listed by an earlier pair too: which address is meant is
    /// unknowable, so the value is refused rather than one of them picked.
    DuplicateMac {
        /// 1-based index of the earlier pair with the same MAC.
        first: u32,
    },
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pair > 0 {
            write!(f, "IPoIB_Data pair {}: ", self.pair)?;
        } else {
            f.write_str("IPoIB_Data: ")?;
        }
        match self.kind {
            ValueErrorKind::MissingHeader => f.write_str("value does not start with NUMPAIRS:"),
            ValueErrorKind::BadCount => f.write_str("count after NUMPAIRS: is not a 32-bit decimal number"),
            ValueErrorKind::CountMismatch { declared, found } => {
                write!(f, "NUMPAIRS declares {declared} pairs but {found} are present")
            }
            ValueErrorKind::EmptyPair => f.write_str("empty pair between two '|'"),
            ValueErrorKind::TrailingSeparator => f.write_str("value ends with a trailing '|'"),
            ValueErrorKind::MissingColon => f.write_str("no ':' between MAC and address"),
            ValueErrorKind::BadMac(e) => write!(f, "{e}"),
            ValueErrorKind::BadIp => f.write_str("address is not valid IPv4 or IPv6 text"),
            ValueErrorKind::DuplicateMac { first } => write!(f, "MAC is listed more than once (first in pair {first})"),
        }
    }
}

impl core::error::Error for ValueError {}

/// A checked `IPoIB_Data` value, borrowed from the pool: every pair is well formed, the count is
/// right, and no MAC is listed twice.
///
/// ```
/// use kvp_core::{IpoibData, Mac};
///
/// let data = IpoibData::parse(b"NUMPAIRS:2|00155D33FF0B:172.16.1.2|00155D33FF0C:fd00::2")?;
/// assert_eq!(data.len(), 2);
/// let pair = data.find(Mac::parse_hex(b"00155D33FF0C")?).expect("listed");
/// assert_eq!(pair.ip.to_string(), "fd00::2");
/// assert_eq!(data.find(Mac([0; 6])), None);
/// for pair in data.pairs() {
///     println!("{} -> {}", pair.mac, pair.ip);
/// }
///
/// // A defect anywhere refuses the whole value, and says where.
/// let e = IpoibData::parse(b"NUMPAIRS:2|00155D33FF0B:172.16.1.2|00155D33FF0C:1.2.3").unwrap_err();
/// assert_eq!(e.to_string(), "IPoIB_Data pair 2: address is not valid IPv4 or IPv6 text");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpoibData<'a> {
    /// The text after `NUMPAIRS:` (count and pairs), already checked.
    body: &'a [u8],
    /// The number of pairs.
    len: usize,
}

impl<'a> IpoibData<'a> {
    /// Checks a whole `IPoIB_Data` value: the `NUMPAIRS:<n>` header, every pair, the count, and
    /// that no MAC is listed twice.
    ///
    /// # Errors
    /// The first defect, as a [`ValueError`] naming the pair at fault.
    pub fn parse(value: &'a [u8]) -> Result<Self, ValueError> {
        let header_error = |kind| ValueError { pair: 0, kind };
        let body = value.strip_prefix(HEADER.as_bytes()).ok_or(header_error(ValueErrorKind::MissingHeader))?;
        let mut parts = body.split(is_bar).peekable();
        let declared = parts.next().and_then(parse_count).ok_or(header_error(ValueErrorKind::BadCount))?;
        let mut found: u32 = 0;
        while let Some(segment) = parts.next() {
            found = found.saturating_add(1);
            let at_pair = |kind| ValueError { pair: found, kind };
            let pair = parse_pair(segment, parts.peek().is_none()).map_err(at_pair)?;
            if let Some(first) = IpoibData::position(body, pair.mac, found) {
                return Err(at_pair(ValueErrorKind::DuplicateMac { first }));
            }
        }
        if found != declared {
            return Err(header_error(ValueErrorKind::CountMismatch { declared, found }));
        }
        let len = usize::try_from(found).map_err(|_| header_error(ValueErrorKind::BadCount))?;
        Ok(IpoibData { body, len })
    }

    /// 1-based index of the first of the pairs before pair `before` whose MAC is `mac`.
    fn position(body: &[u8], mac: Mac, before: u32) -> Option<u32> {
        let earlier = body.split(is_bar).skip(1).zip(1..before);
        earlier.filter(|(segment, _)| mac_of(segment) == Ok(mac)).map(|(_, index)| index).next()
    }

    /// The number of pairs.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the value lists no pair (`NUMPAIRS:0`).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The pairs, in the order the value lists them.
    #[must_use]
    pub fn pairs(&self) -> Pairs<'a> {
        Pairs { segments: self.body.split(is_bar as fn(&u8) -> bool).skip(1) }
    }

    /// The pair for `mac`, if the value lists one. Only the MACs are compared; the address is
    /// read for the match alone.
    #[must_use]
    pub fn find(&self, mac: Mac) -> Option<Pair> {
        let segment = self.body.split(is_bar).skip(1).find(|segment| mac_of(segment) == Ok(mac))?;
        parse_pair(segment, false).ok()
    }
}

/// The pairs of an [`IpoibData`], in order. Each is re-read from the checked value on demand, so
/// the iterator is as cheap to create as a slice iterator.
#[derive(Debug, Clone)]
pub struct Pairs<'a> {
    segments: Segments<'a>,
}

/// The `<MAC>:<IP>` segments of a value, after its count.
type Segments<'a> = core::iter::Skip<core::slice::Split<'a, u8, fn(&u8) -> bool>>;

impl Iterator for Pairs<'_> {
    type Item = Pair;

    fn next(&mut self) -> Option<Pair> {
        // `IpoibData::parse` checked every segment, so this reads rather than validates.
        parse_pair(self.segments.next()?, false).ok()
    }
}

/// The segment separator. A named `fn` so that [`Pairs`] can name its iterator type.
#[allow(clippy::trivially_copy_pass_by_ref)] // `slice::split` hands its predicate a reference.
fn is_bar(byte: &u8) -> bool {
    *byte == b'|'
}

/// The MAC of one `<MAC>:<IP>` segment.
fn mac_of(segment: &[u8]) -> Result<Mac, ValueErrorKind> {
    let mac = segment.split(|&b| b == b':').next().unwrap_or(segment);
    Mac::parse_hex(mac).map_err(ValueErrorKind::BadMac)
}

fn parse_pair(segment: &[u8], is_last: bool) -> Result<Pair, ValueErrorKind> {
    if segment.is_empty() {
        return Err(if is_last { ValueErrorKind::TrailingSeparator } else { ValueErrorKind::EmptyPair });
    }
    let mut parts = segment.splitn(2, |&b| b == b':');
    let (Some(mac), Some(ip)) = (parts.next(), parts.next()) else {
        return Err(ValueErrorKind::MissingColon);
    };
    let mac = Mac::parse_hex(mac).map_err(ValueErrorKind::BadMac)?;
    let ip = core::str::from_utf8(ip).ok().and_then(|s| s.parse().ok()).ok_or(ValueErrorKind::BadIp)?;
    Ok(Pair { mac, ip })
}

fn parse_count(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u32, |n, &d| {
        let d = d.is_ascii_digit().then(|| u32::from(d - b'0'))?;
        n.checked_mul(10)?.checked_add(d)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn err(pair: u32, kind: ValueErrorKind) -> Result<u32, ValueError> {
        Err(ValueError { pair, kind })
    }

    fn validate(value: &str) -> Result<u32, ValueError> {
        IpoibData::parse(value.as_bytes()).map(|d| u32::try_from(d.len()).unwrap())
    }

    fn mac(text: &str) -> Mac {
        Mac::parse_hex(text.as_bytes()).unwrap()
    }

    #[test]
    fn the_azure_sample() {
        let data = IpoibData::parse(b"NUMPAIRS:1|00155D33FF0B:172.16.1.2").unwrap();
        assert_eq!(data.len(), 1);
        assert!(!data.is_empty());
        let pair = data.find(mac("00155D33FF0B")).unwrap();
        assert_eq!(pair.ip, "172.16.1.2".parse::<IpAddr>().unwrap());
        assert_eq!(data.find(mac("00155D33FF0C")), None);
    }

    #[test]
    fn eight_pairs_and_ipv6() {
        let mut value = std::string::String::from("NUMPAIRS:8");
        for i in 0..7 {
            value += &std::format!("|00155D33FF{i:02x}:172.16.1.{i}");
        }
        value += "|00155d33ff99:fd00::1:2";
        let data = IpoibData::parse(value.as_bytes()).unwrap();
        let pairs: Vec<_> = data.pairs().collect();
        assert_eq!(pairs.len(), 8);
        assert_eq!(data.len(), 8);
        assert_eq!(pairs[3].ip, "172.16.1.3".parse::<IpAddr>().unwrap());
        assert_eq!(data.find(mac("00155D33FF99")).unwrap().ip, "fd00::1:2".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn zero_pairs() {
        assert_eq!(validate("NUMPAIRS:0"), Ok(0));
        assert_eq!(validate("NUMPAIRS:000"), Ok(0));
    }

    #[test]
    fn header_defects() {
        assert_eq!(validate(""), err(0, ValueErrorKind::MissingHeader));
        assert_eq!(validate("numpairs:0"), err(0, ValueErrorKind::MissingHeader));
        assert_eq!(validate(" NUMPAIRS:0"), err(0, ValueErrorKind::MissingHeader));
        assert_eq!(validate("NUMPAIRS:"), err(0, ValueErrorKind::BadCount));
        assert_eq!(validate("NUMPAIRS:|"), err(0, ValueErrorKind::BadCount));
        assert_eq!(validate("NUMPAIRS:-1"), err(0, ValueErrorKind::BadCount));
        assert_eq!(validate("NUMPAIRS:1 |00155D33FF0B:1.2.3.4"), err(0, ValueErrorKind::BadCount));
        assert_eq!(validate("NUMPAIRS:4294967296"), err(0, ValueErrorKind::BadCount));
        assert_eq!(
            validate("NUMPAIRS:4294967295"),
            err(0, ValueErrorKind::CountMismatch { declared: u32::MAX, found: 0 })
        );
    }

    #[test]
    fn count_mismatch_both_ways() {
        assert_eq!(
            validate("NUMPAIRS:2|00155D33FF0B:1.2.3.4"),
            err(0, ValueErrorKind::CountMismatch { declared: 2, found: 1 })
        );
        assert_eq!(
            validate("NUMPAIRS:1|00155D33FF0B:1.2.3.4|00155D33FF0C:1.2.3.5"),
            err(0, ValueErrorKind::CountMismatch { declared: 1, found: 2 })
        );
    }

    #[test]
    fn pair_defects_name_the_pair() {
        let cases = [
            ("NUMPAIRS:2|00155D33FF0B:1.2.3.4||", ValueError { pair: 2, kind: ValueErrorKind::EmptyPair }),
            ("NUMPAIRS:1|00155D33FF0B:1.2.3.4|", ValueError { pair: 2, kind: ValueErrorKind::TrailingSeparator }),
            ("NUMPAIRS:0|", ValueError { pair: 1, kind: ValueErrorKind::TrailingSeparator }),
            ("NUMPAIRS:1|00155D33FF0B", ValueError { pair: 1, kind: ValueErrorKind::MissingColon }),
            (
                "NUMPAIRS:1|00155D33FF0:1.2.3.4",
                ValueError { pair: 1, kind: ValueErrorKind::BadMac(MacError::Length { len: 11 }) },
            ),
            (
                "NUMPAIRS:1|00155D33FF0BB:1.2.3.4",
                ValueError { pair: 1, kind: ValueErrorKind::BadMac(MacError::Length { len: 13 }) },
            ),
            (
                "NUMPAIRS:1|00155D33FFxB:1.2.3.4",
                ValueError { pair: 1, kind: ValueErrorKind::BadMac(MacError::NotHex { at: 10 }) },
            ),
            ("NUMPAIRS:1|00155D33FF0B:", ValueError { pair: 1, kind: ValueErrorKind::BadIp }),
            ("NUMPAIRS:1|00155D33FF0B:1.2.3", ValueError { pair: 1, kind: ValueErrorKind::BadIp }),
            ("NUMPAIRS:1|00155D33FF0B:1.2.3.256", ValueError { pair: 1, kind: ValueErrorKind::BadIp }),
            ("NUMPAIRS:1|00155D33FF0B: 1.2.3.4", ValueError { pair: 1, kind: ValueErrorKind::BadIp }),
            ("NUMPAIRS:1|00155D33FF0B:1.2.3.4 ", ValueError { pair: 1, kind: ValueErrorKind::BadIp }),
            (
                "NUMPAIRS:2|00155D33FF0B:1.2.3.4|:1.2.3.5",
                ValueError { pair: 2, kind: ValueErrorKind::BadMac(MacError::Length { len: 0 }) },
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(validate(value), Err(expected), "{value}");
        }
    }

    #[test]
    fn a_defect_after_the_pairs_asked_for_refuses_the_value() {
        let e = IpoibData::parse(b"NUMPAIRS:3|00155D33FF0B:1.2.3.4|bad|00155D33FF0C:1.2.3.5").unwrap_err();
        assert_eq!(e, ValueError { pair: 2, kind: ValueErrorKind::MissingColon });
        let e = IpoibData::parse(b"NUMPAIRS:2|00155D33FF0B:1.2.3.4|junk").unwrap_err();
        assert_eq!(e, ValueError { pair: 2, kind: ValueErrorKind::MissingColon });
    }

    #[test]
    fn a_mac_listed_twice_refuses_the_value() {
        let e = IpoibData::parse(b"NUMPAIRS:3|00155D33FF0B:1.2.3.4|00155D33FF0C:1.2.3.6|00155d33ff0b:1.2.3.5");
        assert_eq!(e, Err(ValueError { pair: 3, kind: ValueErrorKind::DuplicateMac { first: 1 } }));
        assert_eq!(
            std::format!("{}", e.unwrap_err()),
            "IPoIB_Data pair 3: MAC is listed more than once (first in pair 1)"
        );
    }

    #[test]
    fn every_prefix_of_a_valid_value_is_an_error_or_itself() {
        let value = b"NUMPAIRS:2|00155D33FF0B:172.16.1.2|00155D33FF0C:fd00::2";
        for end in 0..value.len() {
            let prefix = &value[..end];
            let result = validate(std::str::from_utf8(prefix).unwrap());
            // A prefix can still be valid text (`fd00::` is an address), but it never loses a pair
            // silently: the count catches that.
            if let Ok(n) = result {
                assert_eq!(n, 2, "prefix {:?} parsed with {n} pairs", std::str::from_utf8(prefix));
            }
        }
    }

    #[test]
    fn messages_name_the_pair_and_not_the_contents() {
        let e = validate("NUMPAIRS:1|00155D33FFxB:10.9.8.7").unwrap_err();
        let text = std::format!("{e}");
        assert_eq!(text, "IPoIB_Data pair 1: MAC has a non-hex character at offset 10");
        let e = validate("NUMPAIRS:3|00155D33FF0B:10.9.8.7").unwrap_err();
        assert_eq!(std::format!("{e}"), "IPoIB_Data: NUMPAIRS declares 3 pairs but 1 are present");
    }
}
