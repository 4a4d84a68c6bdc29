//! The built plugin against the real writer: `hv_kvp_daemon` rewriting pool 0 as fast as it
//! answers while plugin ADDs read it (under the lock) from several threads at once, an unlocked
//! reader on the same file proving the rewrites really do tear (the test's teeth), then a settled
//! pool with a stale tail, and the bound on the lock wait.
//!
//! Root only (the daemon runs in a private mount namespace, the NIC lives in a netns); without
//! root these tests print a notice and pass, unless `CI` is set, where they fail.
// Test code: indexing, unwrapping and panicking are how a test fails (the workspace lints deny
// them in library code only).
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ipoib_test_support::kvp_daemon::{self, raw_records, KvpDaemon, PoolLock, UnlockedReader, RECORD_LEN};
use ipoib_test_support::netns::Netns;
use ipoib_test_support::plugin::{cni_env, netconf, run, Outcome};
use ipoib_test_support::root::can_run;

const IPOIB_DATA: &str = "NUMPAIRS:1|00155D33FF0B:172.16.1.2";
/// The NIC `IPOIB_DATA` names, as the veth `net1` carries it.
const NIC_MAC: &str = "00:15:5d:33:ff:0b";
const IFNAME: &str = "net1";
/// The one address every ADD must return.
const EXPECTED: &str = "172.16.1.2/16";
const CNI_VERSION: &str = "0.3.1";

/// A 0.3.1 network config whose ipam reads `pool` and waits up to `lock_timeout_ms` for the lock.
fn conf(pool: &Path, lock_timeout_ms: u32) -> String {
    let ipam = format!(
        r#"{{"type":"azure-ipoib-ipam-cni","kvpPath":"{}","lockTimeoutMs":{lock_timeout_ms}}}"#,
        pool.display()
    );
    netconf(CNI_VERSION, &ipam)
}

/// Held by each test for its whole run: the churn loads both cores, which would blur the lock
/// test's timings, so the two never overlap (cargo runs a binary's tests in parallel).
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn add(netns: &Netns, conf: &str) -> Outcome {
    run(&cni_env("ADD", &netns.path(), IFNAME), conf.as_bytes())
}

/// Panics unless `out` is a successful ADD returning exactly [`EXPECTED`].
fn assert_expected_result(out: &Outcome, what: &str) {
    assert_eq!(out.exit, 0, "{what}: {out:?}");
    let json = out.json();
    assert_eq!(json["cniVersion"], CNI_VERSION, "{what}: {out:?}");
    assert_eq!(json["ips"], serde_json::json!([{"version": "4", "address": EXPECTED}]), "{what}: {out:?}");
    assert!(json.get("interfaces").is_none(), "{what}: {out:?}");
}

/// Counts of the ADD workers, shared by all of them.
#[derive(Default)]
struct AddCounts {
    done: AtomicU64,
    failed: AtomicU64,
    wrong: AtomicU64,
    slowest_us: AtomicU64,
    /// The first few failed or wrong outcomes, verbatim, for the report.
    samples: Mutex<Vec<String>>,
}

impl AddCounts {
    const MAX_SAMPLES: usize = 5;

    fn record(&self, out: &Outcome, took: Duration, baseline: &str) {
        self.slowest_us.fetch_max(u64::try_from(took.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
        let problem = if out.exit != 0 {
            self.failed.fetch_add(1, Ordering::Relaxed);
            Some("FAILED")
        } else if out.stdout != baseline {
            self.wrong.fetch_add(1, Ordering::Relaxed);
            Some("WRONG RESULT")
        } else {
            None
        };
        self.done.fetch_add(1, Ordering::Relaxed);
        if let Some(problem) = problem {
            let mut samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
            if samples.len() < Self::MAX_SAMPLES {
                // plugin::run reports a death by signal (an unlocked mapping's SIGBUS) as -1.
                let signal = if out.exit == -1 { " (killed by a signal)" } else { "" };
                samples.push(format!(
                    "{problem} after {took:.2?}: exit {}{signal}, stdout {:?}, stderr {:?}",
                    out.exit, out.stdout, out.stderr
                ));
            }
        }
    }
}

/// Parts 1 and 2 in one test, so their counts come out together:
///
/// 1. churn: one thread has the daemon rewrite pool 0 (a `Churn` record of varying length) as
///    fast as it answers; [`WORKERS`] threads run ADD until [`MIN_ADDS`] have completed; an
///    unlocked reader on the same file must catch at least one torn pool meanwhile (so the test
///    could see what the lock prevents). Every ADD must succeed with exactly [`EXPECTED`].
/// 2. settled: a long then a shorter value for another key leaves the old value's tail after the
///    new NUL in the raw file; ADD still resolves.
#[test]
fn adds_under_daemon_churn_never_fail_or_go_wrong() {
    const TEST: &str = "adds_under_daemon_churn_never_fail_or_go_wrong";
    const WORKERS: usize = 4;
    const MIN_ADDS: u64 = 1000;
    /// How long to keep going for the teeth once MIN_ADDS are done (and the bound overall).
    const BOUND: Duration = Duration::from_secs(20);
    /// Enough failures to stop early: the verdict is already in.
    const GIVE_UP_FAILURES: u64 = 50;
    if !can_run(TEST, kvp_daemon::preflight()) {
        return;
    }
    let _serial = serial();

    let daemon = KvpDaemon::start().expect("start hv_kvp_daemon");
    let pool = daemon.pool_path(0);
    // IPoIB_Data between other records, as on a real VM; Churn is the record the churn rewrites.
    let records = [
        ("HostName", "vm-churn"),
        ("IPoIB_Data", IPOIB_DATA),
        ("VirtualMachineName", "churn-test-vm"),
        ("Churn", "start"),
    ];
    for (key, value) in records {
        daemon.set(0, key, value).unwrap_or_else(|e| panic!("set {key}: {e}"));
    }
    let expected_len = records.len() * RECORD_LEN;
    assert_eq!(daemon.read_pool(0).expect("read pool 0").len(), expected_len, "one record per key");

    let netns = Netns::new();
    netns.add_veth(IFNAME, NIC_MAC);
    let conf = conf(&pool, 5000);
    let first = add(&netns, &conf);
    assert_expected_result(&first, "ADD on the settled pool before the churn");
    let baseline = first.stdout.clone();

    // Part 1: churn.
    let counts = AddCounts::default();
    let stop = AtomicBool::new(false);
    let reader = UnlockedReader::spawn(pool.clone(), expected_len).expect("start the unlocked reader");
    let started = Instant::now();
    let (sets, churn_error, last_churn) = std::thread::scope(|s| {
        let churn = s.spawn(|| {
            let mut sets = 0u64;
            let mut last = String::from("start");
            while !stop.load(Ordering::Relaxed) {
                let value = format!("churn-{sets}-{}", "z".repeat((sets as usize * 37) % 1500));
                if let Err(e) = daemon.set(0, "Churn", &value) {
                    stop.store(true, Ordering::Relaxed);
                    return (sets, Some(e.to_string()), last);
                }
                last = value;
                sets += 1;
            }
            (sets, None, last)
        });
        for _ in 0..WORKERS {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let out = add(&netns, &conf);
                    counts.record(&out, t.elapsed(), &baseline);
                }
            });
        }
        // Enough ADDs and the teeth have bitten, or the bound, or a verdict already.
        loop {
            std::thread::sleep(Duration::from_millis(5));
            let done = counts.done.load(Ordering::Relaxed);
            let bad = counts.failed.load(Ordering::Relaxed) + counts.wrong.load(Ordering::Relaxed);
            if stop.load(Ordering::Relaxed)
                || (done >= MIN_ADDS && reader.snapshot().torn() > 0)
                || started.elapsed() >= BOUND
                || bad >= GIVE_UP_FAILURES
            {
                break;
            }
        }
        stop.store(true, Ordering::Relaxed);
        churn.join().expect("churn thread")
    });
    let elapsed = started.elapsed();
    let stats = reader.finish().expect("unlocked reader");
    let done = counts.done.load(Ordering::Relaxed);
    let failed = counts.failed.load(Ordering::Relaxed);
    let wrong = counts.wrong.load(Ordering::Relaxed);
    let slowest = Duration::from_micros(counts.slowest_us.load(Ordering::Relaxed));
    let samples = counts.samples.into_inner().unwrap_or_else(|p| p.into_inner());
    eprintln!(
        "churn: {done} ADDs ({WORKERS} workers), {failed} failed, {wrong} wrong, slowest {slowest:.2?}; unlocked \
         reads: {} total, {} torn ({} empty, {} not a multiple of {RECORD_LEN}; lengths {:?}); daemon SETs: {sets}; \
         elapsed {elapsed:.2?}",
        stats.reads, stats.unexpected, stats.empty, stats.partial_record, stats.lengths
    );
    for sample in &samples {
        eprintln!("  {sample}");
    }
    assert_eq!(churn_error, None, "the daemon stopped answering during the churn");
    assert_eq!(failed, 0, "ADDs failed under churn; first ones: {samples:#?}");
    assert_eq!(wrong, 0, "ADDs returned something other than {EXPECTED}; first ones: {samples:#?}");
    assert!(done >= MIN_ADDS, "only {done} ADDs completed in {elapsed:.2?} (bound {BOUND:?})");
    assert!(sets > 0, "the daemon never rewrote the pool");
    assert!(
        stats.torn() > 0,
        "no torn read in {} unlocked reads over {sets} daemon rewrites: the churn could not have caught an unlocked \
         plugin",
        stats.reads
    );

    // The churn is over: the file is whole, with the last value the daemon acknowledged.
    let bytes = daemon.read_pool(0).expect("read pool 0");
    assert_eq!(bytes.len(), expected_len);
    let (_, churn_value) = raw_records(&bytes).find(|(key, _)| kvp_daemon::c_field(key) == b"Churn").expect("Churn");
    assert_eq!(kvp_daemon::c_field(churn_value), last_churn.as_bytes());

    // Part 2: settled, with a stale tail after a shorter value.
    let long = format!("vm-{}", "w".repeat(300));
    let short = "vm-7";
    daemon.set(0, "HostName", &long).expect("set long HostName");
    daemon.set(0, "HostName", short).expect("set short HostName");
    let bytes = daemon.read_pool(0).expect("read pool 0");
    assert_eq!(bytes.len(), expected_len, "HostName replaced in place");
    kvp_daemon::assert_stale_tail(&bytes, "HostName", &long, short);
    let settled = add(&netns, &conf);
    assert_expected_result(&settled, "ADD on the settled pool with a stale tail");
    assert_eq!(settled.stdout, baseline);
    eprintln!(
        "settled: HostName {:?} over {} bytes of old value ({} stale bytes after the new NUL); ADD -> {EXPECTED}",
        short,
        long.len(),
        long.len() - short.len() - 1
    );
    daemon.stop().expect("stop hv_kvp_daemon");
}

/// Part 3: a writer holding its lock longer than `lockTimeoutMs` costs an ADD that long and no
/// more (code 11, a message about the lock), and the same ADD succeeds once the lock is gone.
#[test]
fn lock_wait_is_bounded_by_lock_timeout_ms() {
    const TEST: &str = "lock_wait_is_bounded_by_lock_timeout_ms";
    const TIMEOUT_MS: u32 = 300;
    const TIMEOUT: Duration = Duration::from_millis(TIMEOUT_MS as u64);
    /// Spawn, netns entry and the last poll's slack included.
    const CEILING: Duration = Duration::from_millis(700);
    const RUNS: usize = 3;
    if !can_run(TEST, kvp_daemon::preflight()) {
        return;
    }
    let _serial = serial();

    let daemon = KvpDaemon::start().expect("start hv_kvp_daemon");
    daemon.set(0, "HostName", "vm-lock").expect("set HostName");
    daemon.set(0, "IPoIB_Data", IPOIB_DATA).expect("set IPoIB_Data");
    let pool = daemon.pool_path(0);
    let netns = Netns::new();
    netns.add_veth(IFNAME, NIC_MAC);
    let conf = conf(&pool, TIMEOUT_MS);
    assert_expected_result(&add(&netns, &conf), "ADD before the lock");

    // OFD, not a classic lock: that one would silently go whenever this process closes any
    // descriptor of the pool file.
    let lock = PoolLock::ofd_write(&pool).expect("take the write lock");
    let mut timings = Vec::new();
    for run in 0..RUNS {
        let t = Instant::now();
        let out = add(&netns, &conf);
        let took = t.elapsed();
        timings.push(took);
        assert_eq!(out.error_code(), 11, "run {run}: try again later: {out:?}");
        let text = out.error_text();
        assert!(text.to_lowercase().contains("lock"), "run {run}: the message must say it was the lock: {text}");
        assert!(took >= TIMEOUT, "run {run}: gave up after {took:.2?}, before lockTimeoutMs {TIMEOUT:?}: {out:?}");
        assert!(took < CEILING, "run {run}: took {took:.2?}, lockTimeoutMs is {TIMEOUT:?} (ceiling {CEILING:?})");
        if run == 0 {
            eprintln!("lock bound: locked ADD says: {text}");
        }
    }
    lock.release();

    let t = Instant::now();
    let out = add(&netns, &conf);
    let unlocked = t.elapsed();
    assert_expected_result(&out, "the same ADD after the lock is released");
    eprintln!(
        "lock bound: lockTimeoutMs {TIMEOUT_MS}: locked ADDs took {timings:.2?} (code 11, ceiling {CEILING:?}); \
         after release the ADD succeeded in {unlocked:.2?}"
    );
    // The daemon was never involved in the lock and still answers.
    assert_eq!(daemon.get(0, "HostName").expect("KVP_OP_GET").as_deref(), Some(&b"vm-lock"[..]));
    daemon.stop().expect("stop hv_kvp_daemon");
}
