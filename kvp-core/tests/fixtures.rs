//! The committed pool fixtures in `tests/fixtures/`: they parse and resolve as documented, and
//! they are still exactly what the encoder writes (so a format change cannot drift silently).
// Test code: indexing, unwrapping and panicking are how a test fails (the workspace lints deny
// them in library code only).
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use kvp_core::{encode_record, resolve, HwAddr, Pool, RawRecord, IPOIB_DATA_KEY};

const SAMPLE_VALUE: &str = "NUMPAIRS:1|00155D33FF0B:172.16.1.2";
const SAMPLE_NIC: &[u8] = b"00:00:01:49:fe:80:00:00:00:00:00:00:00:15:5d:ff:fd:33:ff:0b";

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_azure_sample_resolves_the_sample_nic() {
    let bytes = fixture("kvp_pool_0.azure-sample");
    let pool = Pool::new(&bytes);
    assert_eq!(pool.len(), 1);
    assert!(pool.trailing_bytes().is_empty());
    let record = pool.get(IPOIB_DATA_KEY.as_bytes()).expect("IPoIB_Data record");
    assert_eq!(record.value_str(), Ok(SAMPLE_VALUE));

    let nic = HwAddr::parse_text(SAMPLE_NIC).expect("sample NIC address");
    let pair = resolve(&pool, nic).expect("the sample NIC resolves");
    assert_eq!(pair.ip, IpAddr::V4(Ipv4Addr::new(172, 16, 1, 2)));
    assert_eq!(pair.mac, nic.mac());
}

#[test]
fn the_azure_sample_is_what_the_encoder_writes() {
    let mut expected = RawRecord::zeroed();
    encode_record(IPOIB_DATA_KEY.as_bytes(), SAMPLE_VALUE.as_bytes(), &mut expected).expect("encode");
    assert!(
        fixture("kvp_pool_0.azure-sample") == expected.as_bytes(),
        "regenerate it as tests/fixtures/README.md says"
    );
}

#[test]
fn the_empty_fixture_is_an_empty_pool() {
    let bytes = fixture("kvp_pool_1.empty");
    assert!(bytes.is_empty());
    let pool = Pool::new(&bytes);
    assert!(pool.is_empty());
    assert!(pool.trailing_bytes().is_empty());
    assert!(pool.get_ignore_case(IPOIB_DATA_KEY.as_bytes()).is_none());
}
