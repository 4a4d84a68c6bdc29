//! What each fuzz target checks, as plain functions of the input bytes.
//!
//! Shared by the libFuzzer targets in `fuzz_targets/` (`#[path = "../checks.rs"] mod checks;`)
//! and by `kvp-core/tests/fuzz_corpus.rs`, which replays the committed corpora and regressions on
//! stable `cargo test`. So this file uses std only, never libfuzzer-sys. kvp-core must not panic
//! on any input; the asserts here are the properties beyond that, and a failed one panics, which
//! both harnesses report as a crash.
// Each fuzz target uses one of these functions.
#![allow(dead_code)]

use kvp_core::{
    encode_ipoib_data, port_guid_from_gid_text, resolve as resolve_nic, Field, FieldNotUtf8, HwAddr, HwAddrError,
    IpoibData, Mac, Pair, Pool, Record, ResolveError, ValueErrorKind, IPOIB_DATA_KEY, KEY_LEN, RECORD_LEN,
};

/// Lookups are checked against a linear reference for this many records at most, so large
/// inputs stay fast (the check is quadratic).
const LOOKUP_CHECKS: usize = 64;

/// `Pool::new` on any bytes: whole records plus trailing bytes account for the input, each field
/// is its bytes up to the first NUL, and `get`/`get_ignore_case` return the last matching record.
pub fn pool(data: &[u8]) {
    let pool = Pool::new(data);
    let records: Vec<Record<'_>> = pool.records().collect();
    assert_eq!(pool.records().len(), records.len());
    assert_eq!(pool.len(), records.len());
    assert_eq!(pool.is_empty(), records.is_empty());
    assert_eq!(records.len() * RECORD_LEN + pool.trailing_bytes().len(), data.len());
    assert!(pool.trailing_bytes().len() < RECORD_LEN);
    assert_eq!(pool.trailing_bytes(), &data[records.len() * RECORD_LEN..]);
    let _ = format!("{pool:?}");

    for (i, record) in records.iter().enumerate() {
        let raw = &data[i * RECORD_LEN..][..RECORD_LEN];
        assert!(std::ptr::eq(record.raw().key.as_ptr(), raw.as_ptr()), "record {i} is not a view of the input");
        let (key_field, value_field) = raw.split_at(KEY_LEN);
        assert_eq!(record.key(), until_nul(key_field));
        assert_eq!(record.value(), until_nul(value_field));
        check_text(record.key(), record.key_str().map_err(|e| (e, Field::Key)));
        check_text(record.value(), record.value_str().map_err(|e| (e, Field::Value)));
        let _ = format!("{record:?}");
    }

    let mut probes: Vec<&[u8]> = records.iter().take(LOOKUP_CHECKS).map(|r| r.key()).collect();
    probes.extend([IPOIB_DATA_KEY.as_bytes(), b"", &data[..data.len().min(KEY_LEN + 1)]]);
    for key in probes {
        // A key matches only if it is NUL-terminated in its field, so a full 512-byte key never does.
        let terminated = |r: &Record<'_>| r.key().len() < KEY_LEN;
        let exact = records.iter().rposition(|r| terminated(r) && r.key() == key);
        let any_case = records.iter().rposition(|r| terminated(r) && r.key().eq_ignore_ascii_case(key));
        assert_eq!(position(&records, pool.get(key)), exact);
        assert_eq!(position(&records, pool.get_ignore_case(key)), any_case);
    }
}

/// `IpoibData::parse` on any bytes: a refused value says where, and an accepted one lists each
/// MAC once, finds every pair it lists by its MAC, and survives a re-encode unchanged.
pub fn ipoib_value(data: &[u8]) {
    let value = match IpoibData::parse(data) {
        Ok(value) => value,
        Err(e) => {
            match e.kind {
                ValueErrorKind::MissingHeader | ValueErrorKind::BadCount | ValueErrorKind::CountMismatch { .. } => {
                    assert_eq!(e.pair, 0, "header and count errors name no pair: {e:?}");
                }
                ValueErrorKind::DuplicateMac { first } => assert!(0 < first && first < e.pair, "{e:?}"),
                _ => assert!(e.pair > 0, "pair errors name their pair: {e:?}"),
            }
            let _ = e.to_string();
            return;
        }
    };
    let pairs: Vec<Pair> = value.pairs().collect();
    assert!(pairs.len() <= data.len(), "more pairs than bytes");
    assert_eq!(value.len(), pairs.len());
    assert_eq!(value.is_empty(), pairs.is_empty());
    for pair in &pairs {
        assert_eq!(pairs.iter().filter(|p| p.mac == pair.mac).count(), 1, "a checked value lists {} twice", pair.mac);
        assert_eq!(value.find(pair.mac), Some(*pair));
    }
    if let Some(absent) = (0..=u8::MAX).map(|b| Mac([b; 6])).find(|m| pairs.iter().all(|p| p.mac != *m)) {
        assert_eq!(value.find(absent), None);
    }

    let encoded = encode(&pairs);
    let reparsed = IpoibData::parse(&encoded).expect("a re-encoded value parses");
    let again: Vec<Pair> = reparsed.pairs().collect();
    assert_eq!(again, pairs);
    assert_eq!(encode(&again), encoded, "the encoding is not canonical");
}

/// Hardware addresses from raw bytes, `aa:bb:…` text and GID text: lengths are enforced, text
/// round-trips through `Display`, and the MAC always comes from the port GUID.
pub fn hwaddr(data: &[u8]) {
    match HwAddr::from_bytes(data) {
        Ok(hw) => {
            assert!(matches!(data.len(), 6 | 20));
            assert_eq!(hw.as_bytes(), data);
            check_hwaddr(hw);
        }
        Err(e) => {
            assert!(!matches!(data.len(), 6 | 20));
            assert_eq!(e, HwAddrError::Length { len: data.len() });
        }
    }
    match HwAddr::parse_text(data) {
        Ok(hw) => check_hwaddr(hw),
        Err(e) => drop(e.to_string()),
    }
    match port_guid_from_gid_text(data) {
        Ok(guid) => {
            let mut ib = [0u8; 20];
            ib[12..].copy_from_slice(&guid);
            assert_eq!(HwAddr::Infiniband(ib).mac(), Mac::from_port_guid(guid));
        }
        Err(e) => drop(e.to_string()),
    }
}

/// `resolve` on `[selector][hwaddr][pool bytes]`, where an even selector byte means a 20-byte
/// IPoIB address and an odd one a 6-byte Ethernet address. An answer is always for the NIC asked
/// about, and every outcome agrees with looking at the pool step by step.
pub fn resolve(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else { return };
    let hw_len = if selector % 2 == 0 { 20 } else { 6 };
    let Some((hw, pool_bytes)) = rest.split_at_checked(hw_len) else { return };
    let hw = HwAddr::from_bytes(hw).expect("6 or 20 bytes is a hardware address");
    let pool = Pool::new(pool_bytes);
    let result = resolve_nic(&pool, hw);
    match result {
        Ok(pair) => {
            assert_eq!(pair.mac, hw.mac());
            let value = IpoibData::from_pool(&pool).expect("a resolved value is valid as a whole");
            assert_eq!(value.find(hw.mac()), Some(pair));
        }
        Err(ResolveError::EmptyPool { trailing }) => {
            assert!(pool.is_empty());
            assert_eq!(trailing, pool.trailing_bytes().len());
        }
        Err(ResolveError::NoIpoibData) => {
            assert!(!pool.is_empty() && pool.get_ignore_case(IPOIB_DATA_KEY.as_bytes()).is_none());
        }
        Err(ResolveError::NoPair { mac, pairs }) => {
            assert_eq!(mac, hw.mac());
            let value = IpoibData::from_pool(&pool).expect("a value without the pair is still valid");
            assert_eq!((value.len(), value.find(mac)), (pairs, None));
        }
        Err(ResolveError::Malformed(e)) => {
            assert_eq!(IpoibData::from_pool(&pool), Err(ResolveError::Malformed(e)));
        }
        Err(e) => panic!("resolve returned an error this check does not know: {e:?}"),
    }
    if let Err(e) = result {
        let _ = e.to_string();
    }
}

fn check_hwaddr(hw: HwAddr) {
    let text = hw.to_string();
    assert_eq!(HwAddr::parse_text(text.as_bytes()), Ok(hw), "{text}");
    assert_eq!(HwAddr::parse_text(format!("{text}\n").as_bytes()), Ok(hw));
    assert_eq!(HwAddr::from_bytes(hw.as_bytes()), Ok(hw));
    let mac = hw.mac();
    assert_eq!(Mac::parse_hex(mac.to_string().as_bytes()), Ok(mac));
    match (hw, hw.port_guid()) {
        (HwAddr::Ethernet(bytes), None) => assert_eq!(mac, Mac(bytes)),
        (HwAddr::Infiniband(_), Some(guid)) => assert_eq!(mac, Mac::from_port_guid(guid)),
        (hw, guid) => panic!("{hw:?} has port GUID {guid:?}"),
    }
}

fn check_text(bytes: &[u8], text: Result<&str, (FieldNotUtf8, Field)>) {
    match text {
        Ok(s) => assert_eq!(s.as_bytes(), bytes),
        Err((e, field)) => {
            assert_eq!(e.field, field);
            assert_eq!(std::str::from_utf8(bytes).map_err(|u| u.valid_up_to()), Err(e.valid_up_to));
            let _ = e.to_string();
        }
    }
}

/// The reference definition of a field: its bytes up to the first NUL.
fn until_nul(field: &[u8]) -> &[u8] {
    field.iter().position(|&b| b == 0).map_or(field, |end| &field[..end])
}

/// Index of `found` among `records`, by address.
fn position(records: &[Record<'_>], found: Option<Record<'_>>) -> Option<usize> {
    let found = found?;
    let at = records.iter().position(|r| std::ptr::eq(r.raw(), found.raw()));
    assert!(at.is_some(), "a lookup returned a record that is not in the pool");
    at
}

fn encode(pairs: &[Pair]) -> Vec<u8> {
    // "NUMPAIRS:" + a u32, then per pair "|" + 12 hex digits + ":" + at most 45 bytes of address.
    let mut buf = vec![0u8; 9 + 10 + pairs.len() * (1 + 12 + 1 + 45)];
    let len = encode_ipoib_data(pairs, &mut buf).expect("the buffer is large enough for any pairs");
    buf.truncate(len);
    buf
}
