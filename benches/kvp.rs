//! kvp-core benchmarks: what the CNI plugin pays per ADD, piece by piece.
//!
//! `cargo bench -p ipoib-benches --bench kvp`. The budget is ≤ 10 µs for finding `IPoIB_Data` in a 1024-record
//! pool (the `first` case is the worst for the backwards search: every other record is looked at).
//! Lookups include `Pool::new`, since the plugin views a fresh mapping on every call.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kvp_core::{encode_ipoib_data, encode_pool, resolve, HwAddr, IpoibData, Mac, Pair, Pool, RECORD_LEN};

const IPOIB_KEY: &str = "IPoIB_Data";
const SAMPLE_VALUE: &str = "NUMPAIRS:1|00155D33FF0B:172.16.1.2";
const NIC_TEXT: &[u8] = b"00:00:01:49:fe:80:00:00:00:00:00:00:00:15:5d:ff:fd:33:ff:0b";

/// Keys a host-to-guest pool carries besides `IPoIB_Data`; numbered beyond the first round.
const OTHER_KEYS: [&str; 12] = [
    "VirtualMachineId",
    "VirtualMachineName",
    "HostName",
    "PhysicalHostName",
    "PhysicalHostNameFullyQualified",
    "VirtualMachineDynamicMemoryBalancingEnabled",
    "FullyQualifiedDomainName",
    "IntegrationServicesVersion",
    "NetworkAddressIPv4",
    "NetworkAddressIPv6",
    "OSBuildNumber",
    "ProcessorArchitecture",
];

#[derive(Clone, Copy)]
enum Place {
    First,
    Last,
}

/// A pool of `n` records with `IPoIB_Data` first or last and realistic records elsewhere.
fn pool_bytes(n: usize, place: Place) -> Vec<u8> {
    let ipoib_at = match place {
        Place::First => 0,
        Place::Last => n - 1,
    };
    let mut records = Vec::with_capacity(n);
    let mut others = 0;
    for i in 0..n {
        if i == ipoib_at {
            records.push((IPOIB_KEY.to_owned(), SAMPLE_VALUE.to_owned()));
            continue;
        }
        let base = OTHER_KEYS[others % OTHER_KEYS.len()];
        let key = match others / OTHER_KEYS.len() {
            0 => base.to_owned(),
            round => format!("{base}{round}"),
        };
        let value = format!("value-{others:04}-{}", "x".repeat(others % 40));
        records.push((key, value));
        others += 1;
    }
    let mut out = vec![0u8; n * RECORD_LEN];
    encode_pool(&records, &mut out).expect("records");
    out
}

fn lookup(c: &mut Criterion) {
    let nic = HwAddr::parse_text(NIC_TEXT).expect("NIC");
    let mut group = c.benchmark_group("lookup");
    for (n, place, label) in [
        (1, Place::Last, "last"),
        (16, Place::Last, "last"),
        (1024, Place::Last, "last"),
        (1024, Place::First, "first"),
    ] {
        let bytes = pool_bytes(n, place);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new(format!("get_ignore_case/{label}"), n), &bytes, |b, bytes| {
            b.iter(|| Pool::new(black_box(bytes)).get_ignore_case(IPOIB_KEY.as_bytes()).map(|r| r.value().len()))
        });
        group.bench_with_input(BenchmarkId::new(format!("resolve/{label}"), n), &bytes, |b, bytes| {
            b.iter(|| resolve(&Pool::new(black_box(bytes)), black_box(&nic)))
        });
    }
    group.finish();
}

fn ipoib_value(c: &mut Criterion) {
    let mut group = c.benchmark_group("ipoib_value");
    for n in [1u8, 8] {
        let pairs: Vec<Pair> = (0..n)
            .map(|i| Pair { mac: Mac([0x00, 0x15, 0x5d, 0x33, 0xff, i]), ip: format!("172.16.1.{i}").parse().unwrap() })
            .collect();
        let mut buf = [0u8; 512];
        let len = encode_ipoib_data(&pairs, &mut buf).expect("value");
        let value = &buf[..len];
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(BenchmarkId::new("parse_validate", n), value, |b, value| {
            b.iter(|| IpoibData::parse(black_box(value)).map(|d| d.len()))
        });
    }
    group.finish();
}

fn hwaddr(c: &mut Criterion) {
    let nic = HwAddr::parse_text(NIC_TEXT).expect("NIC");
    let bytes = nic.as_bytes().to_vec();
    let mut group = c.benchmark_group("hwaddr");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("from_bytes_mac", |b| b.iter(|| HwAddr::from_bytes(black_box(&bytes)).map(|h| h.mac())));
    group.throughput(Throughput::Bytes(NIC_TEXT.len() as u64));
    group.bench_function("parse_text_mac", |b| b.iter(|| HwAddr::parse_text(black_box(NIC_TEXT)).map(|h| h.mac())));
    group.finish();
}

criterion_group!(benches, lookup, ipoib_value, hwaddr);
criterion_main!(benches);
