//! Property tests: what the encoder writes the reader reads back, lookups follow the daemon's
//! rules (last duplicate wins, nothing after a NUL counts), and no input makes anything panic.
//!
//! Case counts are kept low so the file runs in seconds; the fuzz targets in `fuzz/` go deeper.
// Test code: indexing, unwrapping and panicking are how a test fails (the workspace lints deny
// them in library code only).
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::IpAddr;

use kvp_core::{
    encode_ipoib_data, port_guid_from_gid_text, resolve, HwAddr, IpoibData, Mac, Pair, Pool, ValueErrorKind,
    IPOIB_DATA_KEY, KEY_LEN, RECORD_LEN, VALUE_LEN,
};
use proptest::collection::vec;
use proptest::prelude::*;

/// A field without NUL: mostly short realistic text, sometimes arbitrary bytes up to the limit.
fn field(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // A handful of keys that collide often, in mixed case, so duplicates are common.
        3 => prop::sample::select(vec!["IPoIB_Data", "ipoib_data", "HostName", "hostname", "a", ""])
            .prop_map(|s| s.as_bytes().to_vec()),
        3 => "[ -~]{0,40}".prop_map(String::into_bytes),
        2 => vec(1u8..=255, 0..max),
        1 => vec(1u8..=255, max..=max),
    ]
}

fn records() -> impl Strategy<Value = Vec<(Vec<u8>, Vec<u8>)>> {
    vec((field(KEY_LEN - 1), field(VALUE_LEN - 1)), 0..20)
}

fn encode_pool(records: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![0u8; records.len() * RECORD_LEN];
    kvp_core::encode_pool(records, &mut out).expect("strategy stays within the limits");
    out
}

/// A pool of one `IPoIB_Data` record holding `value`.
fn ipoib_pool(value: &[u8]) -> Vec<u8> {
    encode_pool(&[(IPOIB_DATA_KEY.as_bytes().to_vec(), value.to_vec())])
}

/// Index of the record `pool.get*` returned, by address.
fn index_of(pool: &Pool<'_>, found: Option<kvp_core::Record<'_>>) -> Option<usize> {
    let found = found?;
    pool.records().position(|r| std::ptr::eq(r.raw(), found.raw()))
}

fn last_index(records: &[(Vec<u8>, Vec<u8>)], matches: impl Fn(&[u8]) -> bool) -> Option<usize> {
    records.iter().rposition(|(k, _)| matches(k))
}

fn pair() -> impl Strategy<Value = Pair> {
    (any::<[u8; 6]>(), any::<IpAddr>()).prop_map(|(mac, ip)| Pair { mac: Mac(mac), ip })
}

/// Every key the lookups should be probed with: the pool's own keys and a few that are absent.
fn probe_keys(records: &[(Vec<u8>, Vec<u8>)]) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = records.iter().map(|(k, _)| k.clone()).collect();
    keys.extend([b"IPoIB_Data".to_vec(), b"IPOIB_DATA".to_vec(), b"absent".to_vec(), Vec::new()]);
    keys
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn encoded_pools_read_back(records in records(), trailing in vec(any::<u8>(), 0..RECORD_LEN)) {
        let mut bytes = encode_pool(&records);
        bytes.extend_from_slice(&trailing);
        let pool = Pool::new(&bytes);
        prop_assert_eq!(pool.len(), records.len());
        prop_assert_eq!(pool.trailing_bytes(), &trailing[..]);
        for (record, (k, v)) in pool.records().zip(&records) {
            prop_assert_eq!(record.key(), &k[..]);
            prop_assert_eq!(record.value(), &v[..]);
            prop_assert_eq!(record.key_str().ok(), std::str::from_utf8(k).ok());
            prop_assert_eq!(record.value_str().ok(), std::str::from_utf8(v).ok());
        }
        for key in probe_keys(&records) {
            let exact = last_index(&records, |k| k == key);
            let any_case = last_index(&records, |k| k.eq_ignore_ascii_case(&key));
            prop_assert_eq!(index_of(&pool, pool.get(&key)), exact);
            prop_assert_eq!(index_of(&pool, pool.get_ignore_case(&key)), any_case);
        }
    }

    #[test]
    fn encoded_pairs_parse_back(pairs in vec(pair(), 0..30)) {
        let mut buf = [0u8; VALUE_LEN - 1];
        let n = encode_ipoib_data(&pairs, &mut buf).expect("30 pairs fit in a value");
        let record = ipoib_pool(&buf[..n]);
        let pool = Pool::new(&record);
        let listed_twice = pairs.iter().any(|p| pairs.iter().filter(|q| q.mac == p.mac).count() > 1);
        let data = match IpoibData::parse(&buf[..n]) {
            Err(e) => {
                // A MAC listed twice refuses the whole value, for every NIC.
                prop_assert!(listed_twice);
                prop_assert!(matches!(e.kind, ValueErrorKind::DuplicateMac { .. }), "{:?}", e);
                for p in &pairs {
                    prop_assert!(resolve(&pool, HwAddr::Ethernet(p.mac.0)).is_err());
                }
                return Ok(());
            }
            Ok(data) => data,
        };
        prop_assert!(!listed_twice);
        prop_assert_eq!(data.len(), pairs.len());
        let parsed: Vec<Pair> = data.pairs().collect();
        prop_assert_eq!(&parsed, &pairs);

        // Through a pool too: each MAC resolves to its own pair.
        for p in &pairs {
            prop_assert_eq!(data.find(p.mac), Some(*p));
            prop_assert_eq!(resolve(&pool, HwAddr::Ethernet(p.mac.0)), Ok(*p));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..3 * RECORD_LEN), hw in vec(any::<u8>(), 0..24)) {
        exercise(&bytes, &hw);
    }

    #[test]
    fn grammar_shaped_bytes_never_panic(text in "(NUMPAIRS:)?[0-9|:a-fA-F.x]{0,80}\n?", hw in vec(any::<u8>(), 0..24)) {
        exercise(text.as_bytes(), &hw);
        // The same text as the IPoIB_Data record of a pool.
        if text.len() < VALUE_LEN {
            exercise(&ipoib_pool(text.as_bytes()), &hw);
        }
    }

    #[test]
    fn stale_bytes_after_a_nul_never_change_lookups(
        records in records(),
        rewrites in vec((any::<prop::sample::Index>(), field(KEY_LEN - 1), field(VALUE_LEN - 1), any::<bool>()), 0..8),
    ) {
        prop_assume!(!records.is_empty());
        let mut dirty = encode_pool(&records);
        let mut logical = records.clone();
        for (index, key, value, rewrite_key) in rewrites {
            let i = index.index(records.len());
            overwrite_in_place(&mut dirty, i, rewrite_key.then_some(&key[..]), &value);
            if rewrite_key {
                logical[i].0 = key;
            }
            logical[i].1 = value;
        }
        let clean = encode_pool(&logical);
        let (dirty, clean) = (Pool::new(&dirty), Pool::new(&clean));
        for (d, c) in dirty.records().zip(clean.records()) {
            prop_assert_eq!((d.key(), d.value()), (c.key(), c.value()));
        }
        for key in probe_keys(&logical) {
            prop_assert_eq!(index_of(&dirty, dirty.get(&key)), index_of(&clean, clean.get(&key)));
            prop_assert_eq!(index_of(&dirty, dirty.get_ignore_case(&key)), index_of(&clean, clean.get_ignore_case(&key)));
        }
    }

    #[test]
    fn ghost_pairs_behind_the_nul_never_resolve(old in vec(pair(), 1..8), keep in 0usize..8) {
        // The daemon replaces a long IPoIB_Data value with one listing fewer pairs.
        let new = &old[..keep.min(old.len())];
        let mut buf = [0u8; VALUE_LEN - 1];
        let n = encode_ipoib_data(&old, &mut buf).expect("old value");
        let mut dirty = ipoib_pool(&buf[..n]);
        let n = encode_ipoib_data(new, &mut buf).expect("new value");
        overwrite_in_place(&mut dirty, 0, None, &buf[..n]);
        let clean = ipoib_pool(&buf[..n]);
        for p in &old {
            let hw = HwAddr::Ethernet(p.mac.0);
            prop_assert_eq!(resolve(&Pool::new(&dirty), hw), resolve(&Pool::new(&clean), hw));
        }
    }
}

/// What hv_kvp_daemon does on an update: copy the new string and its NUL over the old one and
/// leave the rest of the field alone.
fn overwrite_in_place(pool: &mut [u8], index: usize, key: Option<&[u8]>, value: &[u8]) {
    let record = &mut pool[index * RECORD_LEN..][..RECORD_LEN];
    if let Some(key) = key {
        record[..key.len()].copy_from_slice(key);
        record[key.len()] = 0;
    }
    let value_field = &mut record[KEY_LEN..];
    value_field[..value.len()].copy_from_slice(value);
    value_field[value.len()] = 0;
}

/// Runs every entry point on `bytes`; the only check is that none panics.
fn exercise(bytes: &[u8], hw: &[u8]) {
    let pool = Pool::new(bytes);
    for record in pool.records() {
        let _ = (record.key_str(), record.value_str());
        let _ = pool.get(record.key());
        let _ = pool.get_ignore_case(record.key());
    }
    let _ = pool.get(bytes);
    match IpoibData::parse(bytes) {
        Ok(data) => {
            for pair in data.pairs() {
                let _ = data.find(pair.mac);
            }
        }
        Err(e) => drop(e.to_string()),
    }
    if let Ok(addr) = HwAddr::parse_text(bytes) {
        let _ = addr.mac();
    }
    let _ = HwAddr::from_bytes(bytes).map(|a| a.mac());
    let _ = port_guid_from_gid_text(bytes);
    let hw = HwAddr::from_bytes(hw).unwrap_or(HwAddr::Ethernet([0, 0x15, 0x5d, 0x33, 0xff, 0x0b]));
    let _ = resolve(&pool, hw).map_err(|e| e.to_string());
}
