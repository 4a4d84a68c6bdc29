//! Writing the format: one record, a pool, and an `IPoIB_Data` value.
//!
//! The writer is strict where the daemon is not: a key longer than 511 bytes or a value longer
//! than 2047 would leave no room for the NUL, and a NUL inside either would cut it short, so both
//! are rejected instead of silently truncated.

use core::fmt::{self, Write};

use zerocopy::FromBytes;

use crate::ipoib::{Pair, HEADER};
use crate::record::{Field, RawRecord, KEY_LEN, RECORD_LEN, VALUE_LEN};

/// Why a record, pool or value could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// A field is too long to keep its NUL terminator.
    TooLong {
        /// Which field.
        field: Field,
        /// Its length.
        len: usize,
        /// The longest allowed (field size − 1).
        max: usize,
    },
    /// A field contains a NUL, which would end it early.
    ContainsNul {
        /// Which field.
        field: Field,
        /// Offset of the NUL.
        at: usize,
    },
    /// The pool buffer is too short for the records.
    PoolBufferTooSmall {
        /// How many records were to be written.
        records: usize,
        /// The buffer's length.
        len: usize,
    },
    /// An `IPoIB_Data` value did not fit in the buffer given.
    ValueBufferFull {
        /// The buffer's length.
        len: usize,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::TooLong { field, len, max } => write!(f, "KVP {field} is {len} bytes, at most {max} fit"),
            EncodeError::ContainsNul { field, at } => write!(f, "KVP {field} contains NUL at offset {at}"),
            EncodeError::PoolBufferTooSmall { records, len } => {
                write!(f, "a buffer of {len} bytes cannot hold {records} KVP records of {RECORD_LEN} bytes")
            }
            EncodeError::ValueBufferFull { len } => write!(f, "IPoIB_Data value does not fit in {len} bytes"),
        }
    }
}

impl core::error::Error for EncodeError {}

/// Writes one record into `out`: key and value, each NUL-padded to its field.
///
/// ```
/// use kvp_core::{encode_record, Pool, RawRecord};
///
/// let mut record = RawRecord::zeroed();
/// encode_record(b"IPoIB_Data", b"NUMPAIRS:0", &mut record)?;
/// let pool = Pool::new(record.as_bytes());
/// assert_eq!(pool.get(b"IPoIB_Data").map(|r| r.value()), Some(&b"NUMPAIRS:0"[..]));
///
/// // Nothing is truncated silently.
/// assert!(encode_record(&[b'k'; 512], b"", &mut record).is_err());
/// # Ok::<(), kvp_core::EncodeError>(())
/// ```
///
/// # Errors
/// [`EncodeError::TooLong`] or [`EncodeError::ContainsNul`] for a field that would not read back
/// as written; `out` is left unchanged then.
pub fn encode_record(key: &[u8], value: &[u8], out: &mut RawRecord) -> Result<(), EncodeError> {
    check_field(key, Field::Key, KEY_LEN)?;
    check_field(value, Field::Value, VALUE_LEN)?;
    copy_padded(key, &mut out.key);
    copy_padded(value, &mut out.value);
    Ok(())
}

/// Writes `records` back to back into `out` as a pool file, which must hold them all (any
/// bytes after the last record are left alone); returns the length written.
///
/// ```
/// use kvp_core::{encode_pool, Pool, RECORD_LEN};
///
/// let mut bytes = vec![0u8; 2 * RECORD_LEN];
/// let len = encode_pool(&[("HostName", "vm0"), ("IPoIB_Data", "NUMPAIRS:0")], &mut bytes)?;
/// assert_eq!(len, 2 * RECORD_LEN);
/// assert_eq!(Pool::new(&bytes).len(), 2);
/// # Ok::<(), kvp_core::EncodeError>(())
/// ```
///
/// # Errors
/// [`EncodeError::PoolBufferTooSmall`] when `out` cannot hold every record, or the first
/// record's [`encode_record`] error.
pub fn encode_pool<K: AsRef<[u8]>, V: AsRef<[u8]>>(records: &[(K, V)], out: &mut [u8]) -> Result<usize, EncodeError> {
    let too_small = EncodeError::PoolBufferTooSmall { records: records.len(), len: out.len() };
    let (raws, _) = <[RawRecord]>::mut_from_prefix_with_elems(out, records.len()).map_err(|_| too_small)?;
    for (raw, (key, value)) in raws.iter_mut().zip(records) {
        encode_record(key.as_ref(), value.as_ref(), raw)?;
    }
    Ok(raws.len() * RECORD_LEN)
}

fn check_field(bytes: &[u8], field: Field, size: usize) -> Result<(), EncodeError> {
    if bytes.len() >= size {
        return Err(EncodeError::TooLong { field, len: bytes.len(), max: size - 1 });
    }
    match memchr::memchr(0, bytes) {
        Some(at) => Err(EncodeError::ContainsNul { field, at }),
        None => Ok(()),
    }
}

/// `bytes`, then NULs to the end of `field` (the caller checked that `bytes` is shorter).
fn copy_padded(bytes: &[u8], field: &mut [u8]) {
    let padded = bytes.iter().copied().chain(core::iter::repeat(0));
    for (slot, byte) in field.iter_mut().zip(padded) {
        *slot = byte;
    }
}

/// Writes `NUMPAIRS:<n>|<MAC>:<IP>…` for `pairs` into `out`; returns the length written.
/// MACs are written in upper case, addresses in their canonical text form.
///
/// ```
/// use kvp_core::{encode_ipoib_data, IpoibData, Mac, Pair};
///
/// let pairs = [Pair { mac: Mac([0x00, 0x15, 0x5d, 0x33, 0xff, 0x0b]), ip: "172.16.1.2".parse()? }];
/// let mut buf = [0u8; 64];
/// let len = encode_ipoib_data(&pairs, &mut buf)?;
/// assert_eq!(&buf[..len], b"NUMPAIRS:1|00155D33FF0B:172.16.1.2");
/// assert!(IpoibData::parse(&buf[..len])?.pairs().eq(pairs));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`EncodeError::ValueBufferFull`] when `out` is too short; nothing is truncated.
pub fn encode_ipoib_data(pairs: &[Pair], out: &mut [u8]) -> Result<usize, EncodeError> {
    let full = EncodeError::ValueBufferFull { len: out.len() };
    let mut cursor = Cursor { out, len: 0 };
    let written = (|| {
        write!(cursor, "{HEADER}{}", pairs.len())?;
        for pair in pairs {
            write!(cursor, "|{}:{}", pair.mac, pair.ip)?;
        }
        Ok::<_, fmt::Error>(())
    })();
    written.map_err(|_| full)?;
    Ok(cursor.len)
}

/// A `fmt::Write` into a fixed slice that fails instead of truncating.
struct Cursor<'a> {
    out: &'a mut [u8],
    len: usize,
}

impl Write for Cursor<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        self.out.get_mut(self.len..end).ok_or(fmt::Error)?.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IpoibData, Mac, Pool};

    fn filled(byte: u8) -> RawRecord {
        RawRecord { key: [byte; KEY_LEN], value: [byte; VALUE_LEN] }
    }

    #[test]
    fn writes_every_byte_of_the_record() {
        let mut out = filled(0xa5);
        encode_record(b"IPoIB_Data", b"NUMPAIRS:0", &mut out).unwrap();
        let out = out.as_bytes();
        assert!(!out.contains(&0xa5), "a byte was left unwritten");
        assert_eq!(&out[..11], b"IPoIB_Data\0");
        assert_eq!(&out[KEY_LEN..KEY_LEN + 11], b"NUMPAIRS:0\0");
        let pool = Pool::new(out);
        assert_eq!(pool.get(b"IPoIB_Data").unwrap().value(), b"NUMPAIRS:0");
    }

    #[test]
    fn the_longest_fields_still_end_in_nul() {
        let mut out = filled(0xa5);
        encode_record(&[b'k'; 511], &[b'v'; 2047], &mut out).unwrap();
        let out = out.as_bytes();
        assert_eq!(out[511], 0);
        assert_eq!(out[RECORD_LEN - 1], 0);
        assert!(Pool::new(out).get(&[b'k'; 511]).is_some());
    }

    #[test]
    fn rejects_what_would_not_round_trip() {
        let mut out = filled(0xa5);
        assert_eq!(
            encode_record(&[b'k'; 512], b"", &mut out),
            Err(EncodeError::TooLong { field: Field::Key, len: 512, max: 511 })
        );
        assert_eq!(
            encode_record(b"k", &[b'v'; 2048], &mut out),
            Err(EncodeError::TooLong { field: Field::Value, len: 2048, max: 2047 })
        );
        assert_eq!(encode_record(b"k\0", b"", &mut out), Err(EncodeError::ContainsNul { field: Field::Key, at: 1 }));
        assert_eq!(encode_record(b"k", b"v\0", &mut out), Err(EncodeError::ContainsNul { field: Field::Value, at: 1 }));
        assert!(out.as_bytes().iter().all(|&b| b == 0xa5), "a refused record is left unchanged");
        assert_eq!(
            std::format!("{}", encode_record(b"k", &[b'v'; 2048], &mut out).unwrap_err()),
            "KVP value is 2048 bytes, at most 2047 fit"
        );
    }

    #[test]
    fn pools_are_records_back_to_back() {
        let mut out = [0xa5u8; 2 * RECORD_LEN + 1];
        assert_eq!(encode_pool(&[("a", "1"), ("b", "2")], &mut out), Ok(2 * RECORD_LEN));
        assert_eq!(out[2 * RECORD_LEN], 0xa5, "bytes past the records are left alone");
        let pool = Pool::new(&out[..2 * RECORD_LEN]);
        assert_eq!(pool.get(b"b").unwrap().value(), b"2");
        assert_eq!(
            encode_pool(&[("a", "1")], &mut out[..RECORD_LEN - 1]),
            Err(EncodeError::PoolBufferTooSmall { records: 1, len: RECORD_LEN - 1 })
        );
        assert_eq!(
            std::format!("{}", encode_pool(&[("a", "1")], &mut out[..10]).unwrap_err()),
            "a buffer of 10 bytes cannot hold 1 KVP records of 2560 bytes"
        );
        assert_eq!(encode_pool::<&str, &str>(&[], &mut []), Ok(0));
    }

    #[test]
    fn ipoib_data_round_trips() {
        let pairs = [
            Pair { mac: Mac([0, 0x15, 0x5d, 0x33, 0xff, 0x0b]), ip: "172.16.1.2".parse().unwrap() },
            Pair { mac: Mac([0, 0x15, 0x5d, 0x33, 0xff, 0x0c]), ip: "fd00::2".parse().unwrap() },
        ];
        let mut buf = [0u8; 128];
        let n = encode_ipoib_data(&pairs, &mut buf).unwrap();
        assert_eq!(&buf[..n], b"NUMPAIRS:2|00155D33FF0B:172.16.1.2|00155D33FF0C:fd00::2");
        let parsed = IpoibData::parse(&buf[..n]).unwrap();
        assert!(parsed.pairs().eq(pairs));
        assert_eq!(encode_ipoib_data(&pairs, &mut buf[..20]), Err(EncodeError::ValueBufferFull { len: 20 }));
    }
}
