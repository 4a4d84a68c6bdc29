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
//! No whitespace anywhere; the record view has already cut the value at its NUL. Parsing is lazy:
//! [`IpoibData::parse`] checks the header only, [`Pairs`] then yields one pair at a time and, at
//! the end, checks the declared count. Errors name the pair (1-based; 0 is the header) and never
//! carry the value's text, so they are safe to log.

use core::fmt;
use core::net::IpAddr;

use crate::mac::{Mac, MacError};

/// The literal that starts every `IPoIB_Data` value.
pub const HEADER: &[u8] = b"NUMPAIRS:";

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
pub struct ValueError {
    /// 1-based index of the pair at fault; 0 for the `NUMPAIRS:` header and for a count mismatch.
    pub pair: u32,
    /// What is wrong.
    pub kind: ValueErrorKind,
}

/// The defects an `IPoIB_Data` value can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// The MAC being looked up is listed more than once (this is the second listing).
    DuplicateMac,
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
            ValueErrorKind::DuplicateMac => f.write_str("MAC is listed more than once"),
        }
    }
}

/// A parsed `IPoIB_Data` header with its pairs still unparsed, borrowed from the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpoibData<'a> {
    declared: u32,
    /// The text after `NUMPAIRS:<n>|`; `None` when the count ends the value.
    pairs: Option<&'a [u8]>,
}

impl<'a> IpoibData<'a> {
    /// Checks the `NUMPAIRS:<n>` header. The pairs are checked as they are read.
    pub fn parse(value: &'a [u8]) -> Result<Self, ValueError> {
        let header_error = |kind| ValueError { pair: 0, kind };
        let rest = value.strip_prefix(HEADER).ok_or(header_error(ValueErrorKind::MissingHeader))?;
        let (count, pairs) = match memchr::memchr(b'|', rest) {
            Some(bar) => (rest.get(..bar).unwrap_or_default(), Some(rest.get(bar + 1..).unwrap_or_default())),
            None => (rest, None),
        };
        let declared = parse_count(count).ok_or(header_error(ValueErrorKind::BadCount))?;
        Ok(IpoibData { declared, pairs })
    }

    /// The count the header declares.
    pub fn declared_count(&self) -> u32 {
        self.declared
    }

    /// The pairs, parsed lazily. The iterator ends after its first error.
    pub fn pairs(&self) -> Pairs<'a> {
        Pairs { rest: self.pairs, declared: self.declared, index: 0, done: false }
    }

    /// Checks every pair and the count; returns the number of pairs.
    pub fn validate(&self) -> Result<u32, ValueError> {
        let mut n: u32 = 0;
        for pair in self.pairs() {
            pair?;
            n = n.saturating_add(1);
        }
        Ok(n)
    }

    /// The pair for `mac`. The whole value is checked first, so a defect anywhere is reported
    /// rather than a pair from a value that is half wrong; a MAC listed twice is a defect too.
    pub fn find(&self, mac: Mac) -> Result<Option<Pair>, ValueError> {
        let mut found = None;
        for (i, pair) in self.pairs().enumerate() {
            let pair = pair?;
            if pair.mac == mac {
                if found.is_some() {
                    let pair = u32::try_from(i + 1).unwrap_or(u32::MAX);
                    return Err(ValueError { pair, kind: ValueErrorKind::DuplicateMac });
                }
                found = Some(pair);
            }
        }
        Ok(found)
    }
}

/// Iterator over the pairs of an `IPoIB_Data` value. Yields `Err` at most once, then stops.
#[derive(Debug, Clone)]
pub struct Pairs<'a> {
    rest: Option<&'a [u8]>,
    declared: u32,
    index: u32,
    done: bool,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Result<Pair, ValueError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let Some(text) = self.rest.take() else {
            self.done = true;
            return (self.index != self.declared).then_some(Err(ValueError {
                pair: 0,
                kind: ValueErrorKind::CountMismatch { declared: self.declared, found: self.index },
            }));
        };
        let (segment, rest) = match memchr::memchr(b'|', text) {
            Some(bar) => (text.get(..bar).unwrap_or_default(), Some(text.get(bar + 1..).unwrap_or_default())),
            None => (text, None),
        };
        self.rest = rest;
        self.index = self.index.saturating_add(1);
        let result = parse_pair(segment, rest.is_none()).map_err(|kind| ValueError { pair: self.index, kind });
        self.done = result.is_err();
        Some(result)
    }
}

fn parse_pair(segment: &[u8], is_last: bool) -> Result<Pair, ValueErrorKind> {
    if segment.is_empty() {
        return Err(if is_last { ValueErrorKind::TrailingSeparator } else { ValueErrorKind::EmptyPair });
    }
    let colon = memchr::memchr(b':', segment).ok_or(ValueErrorKind::MissingColon)?;
    let (mac, ip) = (segment.get(..colon).unwrap_or_default(), segment.get(colon + 1..).unwrap_or_default());
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
        IpoibData::parse(value.as_bytes())?.validate()
    }

    fn mac(text: &str) -> Mac {
        Mac::parse_hex(text.as_bytes()).unwrap()
    }

    #[test]
    fn the_azure_sample() {
        let data = IpoibData::parse(b"NUMPAIRS:1|00155D33FF0B:172.16.1.2").unwrap();
        assert_eq!(data.declared_count(), 1);
        let pair = data.find(mac("00155D33FF0B")).unwrap().unwrap();
        assert_eq!(pair.ip, "172.16.1.2".parse::<IpAddr>().unwrap());
        assert_eq!(data.find(mac("00155D33FF0C")), Ok(None));
    }

    #[test]
    fn eight_pairs_and_ipv6() {
        let mut value = std::string::String::from("NUMPAIRS:8");
        for i in 0..7 {
            value += &std::format!("|00155D33FF{i:02x}:172.16.1.{i}");
        }
        value += "|00155d33ff99:fd00::1:2";
        let data = IpoibData::parse(value.as_bytes()).unwrap();
        let pairs: Vec<_> = data.pairs().collect::<Result<_, _>>().unwrap();
        assert_eq!(pairs.len(), 8);
        assert_eq!(pairs[3].ip, "172.16.1.3".parse::<IpAddr>().unwrap());
        assert_eq!(data.find(mac("00155D33FF99")).unwrap().unwrap().ip, "fd00::1:2".parse::<IpAddr>().unwrap());
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
    fn the_iterator_stops_after_an_error() {
        let data = IpoibData::parse(b"NUMPAIRS:3|00155D33FF0B:1.2.3.4|bad|00155D33FF0C:1.2.3.5").unwrap();
        let items: Vec<_> = data.pairs().collect();
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert_eq!(items[1], Err(ValueError { pair: 2, kind: ValueErrorKind::MissingColon }));
    }

    #[test]
    fn find_reports_defects_after_the_match_and_duplicates() {
        let data = IpoibData::parse(b"NUMPAIRS:2|00155D33FF0B:1.2.3.4|junk").unwrap();
        assert_eq!(data.find(mac("00155D33FF0B")), Err(ValueError { pair: 2, kind: ValueErrorKind::MissingColon }));
        let data = IpoibData::parse(b"NUMPAIRS:2|00155D33FF0B:1.2.3.4|00155d33ff0b:1.2.3.5").unwrap();
        assert_eq!(data.find(mac("00155D33FF0B")), Err(ValueError { pair: 2, kind: ValueErrorKind::DuplicateMac }));
        assert_eq!(data.find(mac("00155D33FF0C")), Ok(None));
    }

    #[test]
    fn every_prefix_of_a_valid_value_is_an_error_or_itself() {
        let value = b"NUMPAIRS:2|00155D33FF0B:172.16.1.2|00155D33FF0C:fd00::2";
        for end in 0..value.len() {
            let prefix = &value[..end];
            let result = IpoibData::parse(prefix).and_then(|d| d.validate());
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
