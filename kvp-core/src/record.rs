//! One 2560-byte KVP record, viewed in place.
//!
//! Layout (`tools/hv/hv_kvp_daemon.c`, `struct kvp_record`): a 512-byte key followed by a 2048-byte
//! value, each a NUL-terminated UTF-8 string padded to its field size. There is no header and no
//! count; the file is just records back to back.
//!
//! A field is the bytes **up to the first NUL**. `hv_kvp_daemon` updates a record in place and
//! copies only the new string and its NUL, so after a shorter value the rest of the field still
//! holds the tail of an older one. Reading past the NUL (or trimming trailing NULs instead)
//! would resurrect those stale bytes.

use core::fmt;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// Size of the key field, NUL terminator included (`HV_KVP_EXCHANGE_MAX_KEY_SIZE`).
pub const KEY_LEN: usize = 512;
/// Size of the value field, NUL terminator included (`HV_KVP_EXCHANGE_MAX_VALUE_SIZE`).
pub const VALUE_LEN: usize = 2048;
/// Size of one record on disk.
pub const RECORD_LEN: usize = KEY_LEN + VALUE_LEN;

/// The on-disk record. Alignment 1 and no padding, so zerocopy can view any byte slice of the
/// right length as records, at any offset.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned)]
#[repr(C)]
pub struct RawRecord {
    /// The key field, NUL-terminated.
    pub key: [u8; KEY_LEN],
    /// The value field, NUL-terminated.
    pub value: [u8; VALUE_LEN],
}

impl RawRecord {
    /// A record of all zeros: empty key, empty value.
    #[must_use]
    pub fn zeroed() -> RawRecord {
        RawRecord { key: [0; KEY_LEN], value: [0; VALUE_LEN] }
    }

    /// The record's 2560 bytes as they are on disk.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        IntoBytes::as_bytes(self)
    }
}

const _: () = assert!(core::mem::size_of::<RawRecord>() == RECORD_LEN);
const _: () = assert!(core::mem::align_of::<RawRecord>() == 1);

/// A borrowed view of one record. Cheap to copy; every accessor is O(field length) at most.
#[derive(Clone, Copy)]
pub struct Record<'a> {
    raw: &'a RawRecord,
}

/// Which field of a record an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The 512-byte key.
    Key,
    /// The 2048-byte value.
    Value,
}

/// `key` or `value`.
impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Key => "key",
            Field::Value => "value",
        })
    }
}

/// A field's bytes (up to the first NUL) are not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldNotUtf8 {
    /// The field at fault.
    pub field: Field,
    /// Length of the longest valid UTF-8 prefix, as `core::str::Utf8Error` reports it.
    pub valid_up_to: usize,
}

impl fmt::Display for FieldNotUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KVP record {} is not valid UTF-8 after byte {}", self.field, self.valid_up_to)
    }
}

impl core::error::Error for FieldNotUtf8 {}

impl<'a> Record<'a> {
    /// Views a raw record.
    #[must_use]
    pub fn new(raw: &'a RawRecord) -> Self {
        Record { raw }
    }

    /// The raw record, stale bytes and all.
    #[must_use]
    pub fn raw(&self) -> &'a RawRecord {
        self.raw
    }

    /// The key: bytes up to the first NUL (the whole field if it has none).
    #[must_use]
    pub fn key(&self) -> &'a [u8] {
        until_nul(&self.raw.key)
    }

    /// The value: bytes up to the first NUL (the whole field if it has none).
    #[must_use]
    pub fn value(&self) -> &'a [u8] {
        until_nul(&self.raw.value)
    }

    /// The key as text.
    ///
    /// # Errors
    /// [`FieldNotUtf8`] with the length of the valid prefix.
    pub fn key_str(&self) -> Result<&'a str, FieldNotUtf8> {
        as_str(self.key(), Field::Key)
    }

    /// The value as text.
    ///
    /// # Errors
    /// [`FieldNotUtf8`] with the length of the valid prefix.
    pub fn value_str(&self) -> Result<&'a str, FieldNotUtf8> {
        as_str(self.value(), Field::Value)
    }

    /// True if the key is exactly `key`. Checks the byte after it for the NUL rather than
    /// scanning the whole field, so a miss usually costs one byte comparison.
    #[must_use]
    pub fn key_is(&self, key: &[u8]) -> bool {
        self.raw.key.get(..key.len()) == Some(key) && self.raw.key.get(key.len()) == Some(&0)
    }

    /// Like [`key_is`](Self::key_is), ignoring ASCII case.
    #[must_use]
    pub fn key_is_ignore_case(&self, key: &[u8]) -> bool {
        self.raw.key.get(..key.len()).is_some_and(|k| k.eq_ignore_ascii_case(key))
            && self.raw.key.get(key.len()) == Some(&0)
    }
}

impl fmt::Debug for Record<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Lengths only: pool contents stay out of logs unless a caller prints them on purpose.
        f.debug_struct("Record").field("key_len", &self.key().len()).field("value_len", &self.value().len()).finish()
    }
}

fn until_nul(field: &[u8]) -> &[u8] {
    match memchr::memchr(0, field) {
        Some(end) => field.get(..end).unwrap_or(field),
        None => field,
    }
}

fn as_str(bytes: &[u8], field: Field) -> Result<&str, FieldNotUtf8> {
    core::str::from_utf8(bytes).map_err(|e| FieldNotUtf8 { field, valid_up_to: e.valid_up_to() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::FromZeros;

    fn raw(key: &[u8], value: &[u8]) -> RawRecord {
        let mut r = RawRecord::new_zeroed();
        r.key[..key.len()].copy_from_slice(key);
        r.value[..value.len()].copy_from_slice(value);
        r
    }

    #[test]
    fn fields_stop_at_the_first_nul() {
        let r = raw(b"IPoIB_Data\0stale", b"NUMPAIRS:0\0|00155D33FF0C:172.16.1.3");
        let rec = Record::new(&r);
        assert_eq!(rec.key(), b"IPoIB_Data");
        assert_eq!(rec.value(), b"NUMPAIRS:0");
        assert_eq!(rec.value_str(), Ok("NUMPAIRS:0"));
    }

    #[test]
    fn a_field_without_nul_is_the_whole_field() {
        let r = raw(&[b'k'; KEY_LEN], &[b'v'; VALUE_LEN]);
        let rec = Record::new(&r);
        assert_eq!(rec.key().len(), KEY_LEN);
        assert_eq!(rec.value().len(), VALUE_LEN);
        assert!(!rec.key_is(&[b'k'; KEY_LEN]), "a key must be NUL-terminated to match");
    }

    #[test]
    fn invalid_utf8_is_an_error_value() {
        let r = raw(b"ok\xff", b"\xc3");
        let rec = Record::new(&r);
        assert_eq!(rec.key_str(), Err(FieldNotUtf8 { field: Field::Key, valid_up_to: 2 }));
        assert_eq!(rec.value_str(), Err(FieldNotUtf8 { field: Field::Value, valid_up_to: 0 }));
        assert_eq!(std::format!("{}", rec.key_str().unwrap_err()), "KVP record key is not valid UTF-8 after byte 2");
    }

    #[test]
    fn key_matching_needs_the_terminator() {
        let r = raw(b"IPoIB_Data", b"");
        let rec = Record::new(&r);
        assert!(rec.key_is(b"IPoIB_Data"));
        assert!(!rec.key_is(b"IPoIB_Dat"));
        assert!(!rec.key_is(b"ipoib_data"));
        assert!(rec.key_is_ignore_case(b"ipoib_data"));
        assert!(!rec.key_is_ignore_case(b"ipoib_dat"));
        assert!(!rec.key_is(&[b'x'; KEY_LEN + 1]));
    }

    #[test]
    fn debug_does_not_print_contents() {
        let r = raw(b"secret", b"value");
        let s = std::format!("{:?}", Record::new(&r));
        assert!(!s.contains("secret") && !s.contains("value\""), "{s}");
    }
}
