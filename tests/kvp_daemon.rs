//! The real `hv_kvp_daemon` writes the pool, `kvp_core` reads it.
//!
//! Root only (the daemon runs in a private mount namespace, see `support/kvp_daemon.rs`); without
//! root these tests print a notice and pass, unless `CI` is set, where they fail.
// Test code: indexing, unwrapping and panicking are how a test fails (the workspace lints deny
// them in library code only).
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use ipoib_test_support::kvp_daemon::{self, KvpDaemon, PoolLock, UnlockedReader, RECORD_LEN};
use ipoib_test_support::root::can_run;
use kvp_core::{HwAddr, Pool};

const IPOIB_DATA: &str = "NUMPAIRS:1|00155D33FF0B:172.16.1.2";
/// The 20-byte IPoIB link address of the NIC whose port GUID ends 00:15:5d:ff:fd:33:ff:0b, which
/// maps to MAC 00155D33FF0B.
const NIC: &str = "00:00:01:49:fe:80:00:00:00:00:00:00:00:15:5d:ff:fd:33:ff:0b";

fn expected_ip() -> IpAddr {
    "172.16.1.2".parse().expect("IP literal")
}

fn resolve(pool_bytes: &[u8]) -> IpAddr {
    let hwaddr = HwAddr::parse_text(NIC.as_bytes()).expect("NIC link address");
    kvp_core::resolve(&Pool::new(pool_bytes), hwaddr).expect("resolve the NIC in the daemon's pool").ip
}

#[test]
fn daemon_written_ipoib_data_resolves() {
    if !can_run("daemon_written_ipoib_data_resolves", kvp_daemon::preflight()) {
        return;
    }
    let daemon = KvpDaemon::start().expect("start hv_kvp_daemon");
    for pool in 0..kvp_daemon::POOL_COUNT {
        let len = std::fs::metadata(daemon.pool_path(pool)).expect("pool file made at start").len();
        assert_eq!(len, 0, "pool {pool} before any SET");
    }

    daemon.set(0, "IPoIB_Data", IPOIB_DATA).expect("KVP_OP_SET IPoIB_Data");

    let bytes = std::fs::read(daemon.pool_path(0)).expect("read pool 0");
    assert_eq!(bytes.len(), RECORD_LEN, "one record");
    assert_eq!(resolve(&bytes), expected_ip());
    let pool = Pool::new(&bytes);
    let record = pool.get(b"IPoIB_Data").expect("record");
    assert_eq!(record.value_str().expect("UTF-8"), IPOIB_DATA);
    // The daemon's own view (it re-reads the file for a GET) agrees.
    assert_eq!(daemon.get(0, "IPoIB_Data").expect("KVP_OP_GET").as_deref(), Some(IPOIB_DATA.as_bytes()));
    assert_eq!(daemon.get(0, "NoSuchKey").expect("KVP_OP_GET"), None);
    for pool in 1..kvp_daemon::POOL_COUNT {
        assert_eq!(std::fs::read(daemon.pool_path(pool)).expect("read pool").len(), 0, "pool {pool} untouched");
    }
    daemon.stop().expect("stop hv_kvp_daemon");
}

#[test]
fn shorter_value_leaves_a_stale_tail_that_kvp_core_ignores() {
    if !can_run("shorter_value_leaves_a_stale_tail_that_kvp_core_ignores", kvp_daemon::preflight()) {
        return;
    }
    let daemon = KvpDaemon::start().expect("start hv_kvp_daemon");
    let long = format!("node-{}", "x".repeat(200));
    let short = "node-7";
    daemon.set(0, "IPoIB_Data", IPOIB_DATA).expect("set IPoIB_Data");
    daemon.set(0, "HostName", &long).expect("set long HostName");
    daemon.set(0, "HostName", short).expect("set short HostName");

    let bytes = daemon.read_pool(0).expect("read pool 0");
    assert_eq!(bytes.len(), 2 * RECORD_LEN, "IPoIB_Data + HostName, replaced in place");
    let value = kvp_daemon::assert_stale_tail(&bytes, "HostName", &long, short);
    let junk = value[long.len() + 1..].iter().filter(|&&b| b != 0).count();
    eprintln!(
        "stale tail: {} stale bytes after the new NUL; {junk} non-zero bytes past the old NUL",
        long.len() - short.len() - 1
    );

    let pool = Pool::new(&bytes);
    assert_eq!(pool.get(b"HostName").expect("HostName").value(), short.as_bytes());
    assert_eq!(resolve(&bytes), expected_ip());
    assert_eq!(daemon.get(0, "HostName").expect("KVP_OP_GET").as_deref(), Some(short.as_bytes()));
    daemon.stop().expect("stop hv_kvp_daemon");
}

/// The reason the plugin reads under a lock: while the daemon rewrites a pool (truncate, then
/// write), an unlocked reader sees it empty or cut short.
#[test]
fn unlocked_reader_sees_torn_pools_while_the_daemon_rewrites() {
    if !can_run("unlocked_reader_sees_torn_pools_while_the_daemon_rewrites", kvp_daemon::preflight()) {
        return;
    }
    const MIN_SETS: usize = 2000;
    const BUDGET: Duration = Duration::from_secs(10);
    let daemon = KvpDaemon::start().expect("start hv_kvp_daemon");
    daemon.set(0, "IPoIB_Data", IPOIB_DATA).expect("set IPoIB_Data");
    daemon.set(0, "Churn", "start").expect("set Churn");
    let expected_len = 2 * RECORD_LEN;

    let reader = UnlockedReader::spawn(daemon.pool_path(0), expected_len).expect("start the reader");
    let started = Instant::now();
    let mut sets = 0usize;
    let mut last = String::new();
    // At least MIN_SETS rewrites; more (within the budget) until the reader has caught one.
    while sets < MIN_SETS || (reader.snapshot().torn() == 0 && started.elapsed() < BUDGET) {
        last = format!("value-{sets}-{}", "y".repeat(sets % 1500));
        daemon.set(0, "Churn", &last).expect("churn");
        sets += 1;
    }
    let elapsed = started.elapsed();
    let stats = reader.finish().expect("reader");
    eprintln!(
        "teeth: {sets} SETs in {elapsed:.2?}; unlocked reads: {} total, {} torn ({} empty, {} not a multiple of \
         {RECORD_LEN}); torn lengths seen: {:?}",
        stats.reads, stats.unexpected, stats.empty, stats.partial_record, stats.lengths
    );
    assert!(stats.reads > 0, "the reader never ran");
    assert!(stats.torn() > 0, "no unlocked read caught the daemon mid-rewrite in {sets} SETs: {stats:?}");

    // Once the daemon is idle the file is whole again.
    let bytes = std::fs::read(daemon.pool_path(0)).expect("read pool 0");
    assert_eq!(bytes.len(), expected_len);
    assert_eq!(resolve(&bytes), expected_ip());
    assert_eq!(Pool::new(&bytes).get(b"Churn").expect("Churn").value(), last.as_bytes());
    daemon.stop().expect("stop hv_kvp_daemon");
}

/// A conflicting write lock on the pool stalls the daemon (it waits in `F_SETLKW`), and the harness
/// survives the request timing out.
#[test]
fn write_lock_holds_the_daemon_off() {
    if !can_run("write_lock_holds_the_daemon_off", kvp_daemon::preflight()) {
        return;
    }
    let daemon = KvpDaemon::start().expect("start hv_kvp_daemon");
    daemon.set(0, "IPoIB_Data", IPOIB_DATA).expect("set IPoIB_Data");
    let path = daemon.pool_path(0);

    let lock = PoolLock::posix_write(&path).expect("take the write lock");
    let err = daemon
        .set_bytes(0, b"Blocked", b"1", Duration::from_millis(300))
        .expect_err("the daemon must wait for the lock");
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    // Only stat here: opening and closing the file in this process would drop the POSIX lock.
    assert_eq!(std::fs::metadata(&path).expect("stat").len(), RECORD_LEN as u64, "unchanged while locked");
    lock.release();

    // The stalled SET completes once the lock is gone; the next request collects its answer.
    assert_eq!(daemon.get(0, "Blocked").expect("KVP_OP_GET").as_deref(), Some(&b"1"[..]));
    let bytes = daemon.read_pool(0).expect("read pool 0");
    assert_eq!(bytes.len(), 2 * RECORD_LEN);
    assert_eq!(resolve(&bytes), expected_ip());

    // Same with an OFD lock, and DELETE.
    let lock = PoolLock::ofd_write(&path).expect("take the OFD write lock");
    assert!(PoolLock::ofd_write(&path).is_err_and(|e| e.kind() == io::ErrorKind::WouldBlock), "locks conflict");
    drop(lock);
    assert!(daemon.delete(0, "Blocked").expect("KVP_OP_DELETE"));
    assert!(!daemon.delete(0, "Blocked").expect("KVP_OP_DELETE again"));
    assert_eq!(daemon.read_pool(0).expect("read pool 0").len(), RECORD_LEN);
    daemon.stop().expect("stop hv_kvp_daemon");
}
