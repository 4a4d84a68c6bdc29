//! A whole pool file viewed as records, in place.
//!
//! [`Pool::new`] is a cast, not a parse: it costs the same for 1 record or 1024 and touches no
//! record bytes. Lookups then compare keys in place.
//!
//! Two outcomes are not errors:
//! - an empty file is an empty pool (the daemon has not written anything yet);
//! - a trailing partial record (file length not a multiple of 2560) is ignored, as
//!   `hv_kvp_daemon`'s own reader ignores it (it reads whole records only). It is exposed through
//!   [`Pool::trailing_bytes`] so a caller can log it: on a live system it means a reader raced a
//!   writer.

use zerocopy::FromBytes;

use crate::record::{RawRecord, Record, RECORD_LEN};

/// The records of a pool file.
///
/// ```
/// use kvp_core::{encode_pool, Pool, RECORD_LEN};
///
/// let mut bytes = vec![0u8; 3 * RECORD_LEN];
/// encode_pool(&[("HostName", "old"), ("IPoIB_Data", "NUMPAIRS:0"), ("HostName", "new")], &mut bytes)?;
/// bytes.extend_from_slice(b"half a rec"); // what a reader racing the daemon can see
///
/// let pool = Pool::new(&bytes);
/// assert_eq!(pool.len(), 3);
/// assert_eq!(pool.trailing_bytes().len(), 10);
/// assert_eq!(pool.get(b"HostName").map(|r| r.value()), Some(&b"new"[..])); // the last one wins
/// assert!(pool.get(b"ipoib_data").is_none());
/// assert!(pool.get_ignore_case(b"ipoib_data").is_some());
/// # Ok::<(), kvp_core::EncodeError>(())
/// ```
#[derive(Clone, Copy)]
pub struct Pool<'a> {
    records: &'a [RawRecord],
    trailing: &'a [u8],
}

impl<'a> Pool<'a> {
    /// Views `bytes` (typically a memory-mapped pool file) as whole records. Never fails.
    #[must_use]
    pub fn new(bytes: &'a [u8]) -> Self {
        let whole = bytes.len() / RECORD_LEN;
        match <[RawRecord]>::ref_from_prefix_with_elems(bytes, whole) {
            Ok((records, trailing)) => Pool { records, trailing },
            // Unreachable: `RawRecord` is `Unaligned` and `whole` records fit. Treat it as an
            // unreadable pool rather than panic.
            Err(_) => Pool { records: &[], trailing: bytes },
        }
    }

    /// Number of whole records.
    #[must_use]
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True if the pool has no whole record.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Bytes after the last whole record (empty when the length is a multiple of 2560).
    #[must_use]
    pub fn trailing_bytes(&self) -> &'a [u8] {
        self.trailing
    }

    /// The records in file order.
    #[must_use]
    pub fn records(&self) -> impl DoubleEndedIterator<Item = Record<'a>> + ExactSizeIterator + 'a {
        self.records.iter().map(Record::new)
    }

    /// The record whose key is exactly `key`.
    ///
    /// If the key occurs more than once, the **last** record wins, as in the Go plugin (hyperkv
    /// builds a map in file order, so later records overwrite earlier ones). The search runs
    /// backwards, so the common case, one record, stops at the first match from the end.
    #[must_use]
    pub fn get(&self, key: &[u8]) -> Option<Record<'a>> {
        self.records().rev().find(|r| r.key_is(key))
    }

    /// Like [`get`](Self::get), ignoring ASCII case (the Go plugin matches `IPoIB_Data` this way).
    #[must_use]
    pub fn get_ignore_case(&self, key: &[u8]) -> Option<Record<'a>> {
        self.records().rev().find(|r| r.key_is_ignore_case(key))
    }
}

impl core::fmt::Debug for Pool<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pool")
            .field("records", &self.records.len())
            .field("trailing_bytes", &self.trailing.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::encode_pool;
    use std::vec::Vec;

    fn pool_bytes(records: &[(&str, &str)]) -> Vec<u8> {
        let mut out = std::vec![0u8; records.len() * RECORD_LEN];
        encode_pool(records, &mut out).unwrap();
        out
    }

    #[test]
    fn empty_input_is_an_empty_pool() {
        let pool = Pool::new(&[]);
        assert!(pool.is_empty());
        assert!(pool.trailing_bytes().is_empty());
        assert!(pool.get(b"IPoIB_Data").is_none());
    }

    #[test]
    fn a_partial_last_record_is_ignored_and_reported() {
        let mut bytes = pool_bytes(&[("a", "1"), ("IPoIB_Data", "NUMPAIRS:0")]);
        bytes.truncate(RECORD_LEN + 4096 - RECORD_LEN); // what an unlocked reader can see mid-rewrite
        let pool = Pool::new(&bytes);
        assert_eq!(pool.len(), 1);
        assert_eq!(pool.trailing_bytes().len(), 4096 - RECORD_LEN);
        assert!(pool.get(b"IPoIB_Data").is_none());
        assert_eq!(pool.get(b"a").unwrap().value(), b"1");
    }

    #[test]
    fn the_last_duplicate_wins() {
        let bytes = pool_bytes(&[("k", "first"), ("other", "x"), ("k", "last"), ("K", "upper")]);
        let pool = Pool::new(&bytes);
        assert_eq!(pool.get(b"k").unwrap().value(), b"last");
        assert_eq!(pool.get_ignore_case(b"k").unwrap().value(), b"upper");
        assert_eq!(pool.records().count(), 4);
    }

    #[test]
    fn lookup_matches_whole_keys_only() {
        let bytes = pool_bytes(&[("IPoIB_Data_old", "x"), ("IPoIB", "y")]);
        let pool = Pool::new(&bytes);
        assert!(pool.get(b"IPoIB_Data").is_none());
        assert!(pool.get_ignore_case(b"ipoib_data").is_none());
        assert!(pool.get(b"").is_none());
    }

    #[test]
    fn stale_bytes_never_hide_a_key() {
        let mut bytes = pool_bytes(&[("HostName", "a-much-longer-old-hostname"), ("IPoIB_Data", "NUMPAIRS:0")]);
        // The daemon rewrote the first record with shorter strings, leaving old tails behind.
        bytes[..3].copy_from_slice(b"Ho\0");
        bytes[512..516].copy_from_slice(b"\xffx\0\xfe");
        let pool = Pool::new(&bytes);
        assert_eq!(pool.get(b"IPoIB_Data").unwrap().value(), b"NUMPAIRS:0");
        assert_eq!(pool.get(b"Ho").unwrap().value(), b"\xffx");
    }

    #[test]
    fn debug_shows_counts_only() {
        let bytes = pool_bytes(&[("IPoIB_Data", "NUMPAIRS:0")]);
        assert_eq!(std::format!("{:?}", Pool::new(&bytes)), "Pool { records: 1, trailing_bytes: 0 }");
    }
}
