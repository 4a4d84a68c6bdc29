//! Writing the format: one record into a 2560-byte buffer, and an `IPoIB_Data` value.
//!
//! The writer is strict where the daemon is not: a key longer than 511 bytes or a value longer
//! than 2047 would leave no room for the NUL, and a NUL inside either would cut it short, so both
//! are rejected instead of silently truncated.

use core::fmt::{self, Write};

use crate::ipoib::{Pair, HEADER};
use crate::record::{Field, KEY_LEN, RECORD_LEN, VALUE_LEN};

/// Why a record or value could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The output buffer is not exactly one record long.
    BufferLength {
        /// Its length.
        len: usize,
    },
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
    /// An `IPoIB_Data` value did not fit in the buffer given.
    ValueBufferFull,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |field: &Field| match field {
            Field::Key => "key",
            Field::Value => "value",
        };
        match self {
            EncodeError::BufferLength { len } => write!(f, "record buffer is {len} bytes, expected {RECORD_LEN}"),
            EncodeError::TooLong { field, len, max } => {
                write!(f, "KVP {} is {len} bytes, at most {max} fit", name(field))
            }
            EncodeError::ContainsNul { field, at } => write!(f, "KVP {} contains NUL at offset {at}", name(field)),
            EncodeError::ValueBufferFull => f.write_str("IPoIB_Data value does not fit in the buffer"),
        }
    }
}

/// Writes one record (key, value, both NUL-padded) into `out`, which must be 2560 bytes.
pub fn encode_record(key: &[u8], value: &[u8], out: &mut [u8]) -> Result<(), EncodeError> {
    check_field(key, Field::Key, KEY_LEN)?;
    check_field(value, Field::Value, VALUE_LEN)?;
    if out.len() != RECORD_LEN {
        return Err(EncodeError::BufferLength { len: out.len() });
    }
    out.fill(0);
    let (key_field, value_field) = out.split_at_mut(KEY_LEN);
    key_field.get_mut(..key.len()).ok_or(EncodeError::BufferLength { len: RECORD_LEN })?.copy_from_slice(key);
    value_field.get_mut(..value.len()).ok_or(EncodeError::BufferLength { len: RECORD_LEN })?.copy_from_slice(value);
    Ok(())
}

/// Writes `records` back to back into `out` as a pool file, which must hold them all (any
/// bytes after the last record are left alone); returns the length written.
pub fn encode_pool<K: AsRef<[u8]>, V: AsRef<[u8]>>(records: &[(K, V)], out: &mut [u8]) -> Result<usize, EncodeError> {
    let len = records.len().checked_mul(RECORD_LEN).filter(|&len| len <= out.len());
    let len = len.ok_or(EncodeError::BufferLength { len: out.len() })?;
    for (chunk, (key, value)) in out.chunks_exact_mut(RECORD_LEN).zip(records) {
        encode_record(key.as_ref(), value.as_ref(), chunk)?;
    }
    Ok(len)
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

/// Writes `NUMPAIRS:<n>|<MAC>:<IP>…` for `pairs` into `out`; returns the length written.
/// MACs are written in upper case, addresses in their canonical text form.
pub fn encode_ipoib_data(pairs: &[Pair], out: &mut [u8]) -> Result<usize, EncodeError> {
    let mut cursor = Cursor { out, len: 0 };
    let written = (|| {
        cursor.write_str(core::str::from_utf8(HEADER).map_err(|_| fmt::Error)?)?;
        write!(cursor, "{}", pairs.len())?;
        for pair in pairs {
            write!(cursor, "|{}:{}", pair.mac, pair.ip)?;
        }
        Ok::<_, fmt::Error>(())
    })();
    written.map_err(|_| EncodeError::ValueBufferFull)?;
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

    #[test]
    fn writes_every_byte_of_the_record() {
        let mut out = [0xa5u8; RECORD_LEN];
        encode_record(b"IPoIB_Data", b"NUMPAIRS:0", &mut out).unwrap();
        assert!(!out.contains(&0xa5), "a byte was left unwritten");
        assert_eq!(&out[..11], b"IPoIB_Data\0");
        assert_eq!(&out[KEY_LEN..KEY_LEN + 11], b"NUMPAIRS:0\0");
        let pool = Pool::new(&out);
        assert_eq!(pool.get(b"IPoIB_Data").unwrap().value(), b"NUMPAIRS:0");
    }

    #[test]
    fn the_longest_fields_still_end_in_nul() {
        let mut out = [0xa5u8; RECORD_LEN];
        encode_record(&[b'k'; 511], &[b'v'; 2047], &mut out).unwrap();
        assert_eq!(out[511], 0);
        assert_eq!(out[RECORD_LEN - 1], 0);
        assert!(Pool::new(&out).get(&[b'k'; 511]).is_some());
    }

    #[test]
    fn rejects_what_would_not_round_trip() {
        let mut out = [0u8; RECORD_LEN];
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
        assert_eq!(encode_record(b"k", b"v", &mut out[1..]), Err(EncodeError::BufferLength { len: RECORD_LEN - 1 }));
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
            Err(EncodeError::BufferLength { len: RECORD_LEN - 1 })
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
        assert!(parsed.pairs().map(Result::unwrap).eq(pairs));
        assert_eq!(encode_ipoib_data(&pairs, &mut buf[..20]), Err(EncodeError::ValueBufferFull));
    }
}
