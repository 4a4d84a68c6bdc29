//! The built webhook against the real writer: `hv_kvp_daemon` rewrites pool 0 as fast as it
//! answers while clients ask the webhook for the NIC's address over the unix socket (as DRANet
//! does) and over TCP. Every answer must be 200 with exactly the one address: the webhook reads
//! the pool per request under the OFD read lock, so it never sees a torn file.
//!
//! Root only (the daemon runs in a private mount namespace); without root the test prints a
//! notice and passes, unless `CI` is set, where it fails.
// Test code: indexing, unwrapping and panicking are how a test fails (the workspace lints deny
// them in library code only).
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ipoib_test_support::kvp_daemon::{self, KvpDaemon, UnlockedReader, RECORD_LEN};
use ipoib_test_support::root::can_run;
use ipoib_test_support::webhook::*;

const ANSWER: &str = r#"{"interface":{"addresses":["172.16.1.2/16"]}}"#;

#[test]
fn webhook_under_daemon_churn_never_fails_or_goes_wrong() {
    const TEST: &str = "webhook_under_daemon_churn_never_fails_or_goes_wrong";
    const MIN_REQUESTS: u64 = 1000;
    const BOUND: Duration = Duration::from_secs(30);
    if !can_run(TEST, kvp_daemon::preflight()) {
        return;
    }
    let daemon = KvpDaemon::start().expect("start hv_kvp_daemon");
    let pool = daemon.pool_path(0);
    let records = [
        ("HostName", "vm-churn"),
        ("IPoIB_Data", "NUMPAIRS:1|00155D33FF0B:172.16.1.2"),
        ("VirtualMachineName", "churn-test-vm"),
        ("Churn", "start"),
    ];
    for (key, value) in records {
        daemon.set(0, key, value).unwrap_or_else(|e| panic!("set {key}: {e}"));
    }
    let expected_len = records.len() * RECORD_LEN;

    let dir = TempDir::new("churn");
    let kvp = format!("--kvp-path={}", pool.display());
    // Logging at warn: a pool failure would be logged, and the log stays short.
    let socket = dir.path("webhook.sock");
    let unix = Webhook::unix(&dir, &socket, &[&kvp, "--log-level=warn"]);
    let tcp = Webhook::tcp(&dir, &[&kvp, "--log-level=warn"]);
    let body = profile_request(NIC_IB, "");
    let request = raw_post("/GetProfileConfig", &body);

    let done = AtomicU64::new(0);
    let failed = AtomicU64::new(0);
    let wrong = AtomicU64::new(0);
    let samples = Mutex::new(Vec::new());
    let record = |reply: Option<Reply>| {
        let problem = match &reply {
            Some(r) if r.status == 200 && r.body == ANSWER => None,
            Some(r) if r.status == 200 => Some(("WRONG", &wrong)),
            _ => Some(("FAILED", &failed)),
        };
        if let Some((what, counter)) = problem {
            counter.fetch_add(1, Ordering::Relaxed);
            let mut samples = samples.lock().unwrap();
            if samples.len() < 5 {
                samples.push(format!("{what}: {reply:?}"));
            }
        }
        done.fetch_add(1, Ordering::Relaxed);
    };
    let stop = AtomicBool::new(false);
    let reader = UnlockedReader::spawn(pool.clone(), expected_len).expect("start the unlocked reader");
    let started = Instant::now();
    let sets = std::thread::scope(|s| {
        let churn = s.spawn(|| {
            let mut sets = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let value = format!("churn-{sets}-{}", "z".repeat((sets as usize * 37) % 1500));
                daemon.set(0, "Churn", &value).expect("the daemon answers during the churn");
                sets += 1;
            }
            sets
        });
        // Two raw HTTP/1.1 clients on the unix socket, two ureq clients over TCP, and curl on
        // the unix socket now and then.
        for _ in 0..2 {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    record(raw(&unix, &request));
                }
            });
            s.spawn(|| {
                let agent = agent();
                while !stop.load(Ordering::Relaxed) {
                    let res = agent.post(&tcp.url("/GetProfileConfig")).send(&body);
                    record(res.ok().map(|mut r| Reply {
                        status: r.status().as_u16(),
                        headers: Vec::new(),
                        body: r.body_mut().read_to_string().unwrap_or_default(),
                    }));
                }
            });
        }
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                record(Some(curl_unix(&socket, "POST", "/GetProfileConfig", Some(&body))));
            }
        });
        loop {
            std::thread::sleep(Duration::from_millis(5));
            let n = done.load(Ordering::Relaxed);
            if (n >= MIN_REQUESTS && reader.snapshot().torn() > 0) || started.elapsed() >= BOUND {
                break;
            }
        }
        stop.store(true, Ordering::Relaxed);
        churn.join().expect("churn thread")
    });
    let stats = reader.finish().expect("unlocked reader");
    let (done, failed, wrong) = (done.into_inner(), failed.into_inner(), wrong.into_inner());
    let samples = samples.into_inner().unwrap();
    eprintln!(
        "webhook churn: {done} requests, {failed} failed, {wrong} wrong; daemon SETs: {sets}; unlocked reads: {} ({} torn); {:.2?}",
        stats.reads,
        stats.torn(),
        started.elapsed()
    );
    assert_eq!(failed, 0, "requests failed under churn: {samples:#?}\nlog: {}{}", unix.log_text(), tcp.log_text());
    assert_eq!(wrong, 0, "wrong answers under churn: {samples:#?}");
    assert!(done >= MIN_REQUESTS, "only {done} requests in {BOUND:?}");
    assert!(sets > 0, "the daemon never rewrote the pool");
    assert!(
        stats.torn() > 0,
        "no torn unlocked read in {} reads: the churn could not catch an unlocked reader",
        stats.reads
    );
    drop((unix, tcp));
    daemon.stop().expect("stop hv_kvp_daemon");
}
