//! The built webhook through real HTTP clients, over TCP and the unix socket: DRANet's contract
//! (every status), the pool re-read per request, the socket file's life, the limits (slow
//! clients, body size, connections), the log and metrics, and a graceful SIGTERM.
// Test code: indexing, unwrapping and panicking are how a test fails (the workspace lints deny
// them in library code only).
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::time::{Duration, Instant};

use ipoib_test_support::plugin::hold_write_lock;
use ipoib_test_support::root::needs_root;
use ipoib_test_support::webhook::*;
use nix::sys::signal::Signal;

const ANSWER: &str = r#"{"interface":{"addresses":["172.16.1.2/16"]}}"#;

#[test]
fn every_status_over_tcp() {
    let dir = TempDir::new("tcp");
    let pool = dir.path("pool");
    sample_pool(&pool, "172.16.1.2");
    let kvp = format!("--kvp-path={}", pool.display());
    let wh = Webhook::tcp(&dir, &[&kvp]);
    let agent = agent();

    let health = get(&agent, &wh.url("/health"));
    assert_eq!((health.status, health.header("content-type")), (200, Some("application/json")));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&health.body).unwrap(),
        serde_json::json!({"cloudProvider": false, "profileProvider": true})
    );

    // 20-byte and 6-byte MACs, either case, DRANet's other fields and unknown ones ignored.
    for mac in [NIC_IB, NIC_ETH, &NIC_IB.to_uppercase()] {
        let ok = post(&agent, &wh.url("/GetProfileConfig"), &profile_request(mac, "any"));
        assert_eq!(
            (ok.status, ok.body.as_str(), ok.header("content-type")),
            (200, ANSWER, Some("application/json")),
            "{mac}"
        );
    }
    let extra = format!(r#"{{"device":{{"mac_address":"{NIC_ETH}","future":{{"x":[1,2]}}}},"new_top":true}}"#);
    assert_eq!(post(&agent, &wh.url("/GetProfileConfig"), &extra).body, ANSWER);

    // 400: not JSON, wrong shape, no MAC, a malformed MAC.
    for body in [
        "{",
        "[1]",
        r#"{"device":{"mac_address":7}}"#,
        "{}",
        r#"{"device":{"pci_address":"0000:00:02.0"}}"#,
        r#"{"device":{"mac_address":"00:15:5d"}}"#,
    ] {
        let bad = post(&agent, &wh.url("/GetProfileConfig"), body);
        assert_eq!(bad.status, 400, "{body}: {bad:?}");
        assert_eq!(bad.header("content-type"), Some("text/plain; charset=utf-8"));
    }
    assert!(post(&agent, &wh.url("/GetProfileConfig"), "{}").body.contains("mac_address is required"));

    // 404: no pair for this MAC; the body names the MAC and quotes no other record.
    let none = post(&agent, &wh.url("/GetProfileConfig"), &profile_request("00:15:5d:33:ff:0c", ""));
    assert_eq!(none.status, 404, "{none:?}");
    assert!(none.body.contains("00:15:5d:33:ff:0c") && none.body.contains("no pair"), "{}", none.body);
    assert!(!none.body.contains("secret") && !none.body.contains("172.16"), "{}", none.body);

    // The stateless endpoints.
    let release = post(&agent, &wh.url("/ReleaseProfileConfig"), &profile_request(NIC_IB, ""));
    assert_eq!((release.status, release.body.as_str()), (200, ""));
    for path in ["/GetDeviceAttributes", "/GetDeviceConfig"] {
        let empty = post(&agent, &wh.url(path), r#"{"device":{}}"#);
        assert_eq!(
            (empty.status, empty.body.as_str(), empty.header("content-type")),
            (200, "{}", Some("application/json")),
            "{path}"
        );
    }

    // Other paths 404; a known path with the wrong method 405, naming the right one.
    assert_eq!(get(&agent, &wh.url("/nope")).status, 404);
    assert_eq!(post(&agent, &wh.url("/health/x"), "{}").status, 404);
    let wrong = get(&agent, &wh.url("/GetProfileConfig"));
    assert_eq!((wrong.status, wrong.header("allow")), (405, Some("POST")));
    let wrong = post(&agent, &wh.url("/health"), "");
    assert_eq!((wrong.status, wrong.header("allow")), (405, Some("GET")));
    let wrong = agent.put(&wh.url("/ReleaseProfileConfig")).send("").unwrap();
    assert_eq!(wrong.status().as_u16(), 405);
}

#[test]
fn pool_failures_are_503_and_retryable() {
    let dir = TempDir::new("503");
    let pool = dir.path("pool");
    let kvp = format!("--kvp-path={}", pool.display());
    let wh = Webhook::tcp(&dir, &[&kvp, "--lock-timeout-ms=200"]);
    let agent = agent();
    let ask = || post(&agent, &wh.url("/GetProfileConfig"), &profile_request(NIC_IB, ""));
    let expect_503 = |what: &str, needle: &str| {
        let reply = ask();
        assert_eq!(reply.status, 503, "{what}: {reply:?}");
        assert!(reply.body.contains(NIC_IB) && reply.body.contains(needle), "{what}: {}", reply.body);
        assert!(!reply.body.contains("secret"), "{what}: {}", reply.body);
    };

    expect_503("missing", "does not exist");
    std::fs::write(&pool, b"").unwrap();
    expect_503("empty", "empty");
    write_pool(&pool, &[("HostName", "secret-host")]);
    expect_503("no IPoIB_Data", "no IPoIB_Data");
    write_pool(&pool, &[("HostName", "secret-host"), ("IPoIB_Data", "NUMPAIRS:2|00155D33FF0B:172.16.1.2")]);
    expect_503("malformed", "NUMPAIRS declares 2");
    std::fs::remove_file(&pool).unwrap();
    std::fs::create_dir(&pool).unwrap();
    expect_503("a directory", "not a regular file");
    std::fs::remove_dir(&pool).unwrap();

    // Locked past --lock-timeout-ms by a writer (an OFD write lock, as the daemon's conflicts).
    sample_pool(&pool, "172.16.1.2");
    let writer = hold_write_lock(&pool);
    let t = Instant::now();
    expect_503("locked", "write-locked");
    assert!(t.elapsed() >= Duration::from_millis(200), "gave up before the lock timeout: {:?}", t.elapsed());
    // While one request waits for the lock, others are served at once.
    std::thread::scope(|s| {
        let waiting = s.spawn(ask);
        std::thread::sleep(Duration::from_millis(50));
        let t = Instant::now();
        assert_eq!(get(&agent, &wh.url("/health")).status, 200);
        assert!(t.elapsed() < Duration::from_millis(150), "health waited for the pool lock: {:?}", t.elapsed());
        assert_eq!(waiting.join().unwrap().status, 503);
    });
    drop(writer);
    assert_eq!(ask().body, ANSWER, "the lock is gone, the same request succeeds");

    let metrics = get(&agent, &wh.url("/metrics"));
    for reason in ["missing", "empty", "no_ipoib_data", "malformed", "unusable", "lock_timeout"] {
        assert!(
            metrics.body.contains(&format!("pool_read_failures_total{{reason=\"{reason}\"}}")),
            "{reason}: {}",
            metrics.body
        );
    }
}

#[test]
fn profile_flag_answers_only_its_profile() {
    let dir = TempDir::new("profile");
    let pool = dir.path("pool");
    sample_pool(&pool, "172.16.1.2");
    let kvp = format!("--kvp-path={}", pool.display());
    let wh = Webhook::tcp(&dir, &[&kvp, "--profile=ipoib", "--prefix-length=24"]);
    let agent = agent();
    let ours = post(&agent, &wh.url("/GetProfileConfig"), &profile_request(NIC_IB, "ipoib"));
    assert_eq!((ours.status, ours.body.as_str()), (200, r#"{"interface":{"addresses":["172.16.1.2/24"]}}"#));
    for profile in ["other", ""] {
        let theirs = post(&agent, &wh.url("/GetProfileConfig"), &profile_request(NIC_IB, profile));
        assert_eq!(theirs.status, 404, "{profile:?}: {theirs:?}");
        assert!(theirs.body.contains("not handled"), "{}", theirs.body);
    }
    let no_config =
        post(&agent, &wh.url("/GetProfileConfig"), &format!(r#"{{"device":{{"mac_address":"{NIC_IB}"}}}}"#));
    assert_eq!(no_config.status, 404);

    // A prefix longer than the address allows is the webhook's misconfiguration: 500, saying so.
    let long = Webhook::tcp(&dir, &[&kvp, "--prefix-length=64"]);
    let reply = post(&agent, &long.url("/GetProfileConfig"), &profile_request(NIC_IB, ""));
    assert_eq!(reply.status, 500, "{reply:?}");
    assert!(reply.body.contains("--prefix-length 64"), "{}", reply.body);
}

#[test]
fn unix_socket_serves_the_same_contract_and_owns_its_file() {
    let dir = TempDir::new("unix");
    let pool = dir.path("pool");
    sample_pool(&pool, "172.16.1.2");
    // The parent directory does not exist yet: the webhook creates it.
    let socket = dir.path("run/dranet/webhook.sock");
    let kvp = format!("--kvp-path={}", pool.display());
    let mut wh = Webhook::unix(&dir, &socket, &[&kvp]);
    let meta = std::fs::metadata(&socket).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o660, "socket mode");

    let health = curl_unix(&socket, "GET", "/health", None);
    assert_eq!((health.status, health.header("content-type")), (200, Some("application/json")));
    assert!(health.body.contains(r#""profileProvider":true"#));
    let ok = curl_unix(&socket, "POST", "/GetProfileConfig", Some(&profile_request(NIC_ETH, "")));
    assert_eq!((ok.status, ok.body.as_str()), (200, ANSWER));
    assert_eq!(curl_unix(&socket, "POST", "/GetProfileConfig", Some("{")).status, 400);
    assert_eq!(
        curl_unix(&socket, "POST", "/GetProfileConfig", Some(&profile_request("00:15:5d:33:ff:0c", ""))).status,
        404
    );
    assert_eq!(curl_unix(&socket, "POST", "/ReleaseProfileConfig", Some("{}")).status, 200);
    assert_eq!(curl_unix(&socket, "POST", "/GetDeviceConfig", Some("{}")).body, "{}");
    assert_eq!(curl_unix(&socket, "GET", "/GetDeviceAttributes", None).status, 405);
    assert_eq!(curl_unix(&socket, "GET", "/elsewhere", None).status, 404);
    std::fs::remove_file(&pool).unwrap();
    assert_eq!(curl_unix(&socket, "POST", "/GetProfileConfig", Some(&profile_request(NIC_IB, ""))).status, 503);

    wh.signal(Signal::SIGTERM);
    let status = wh.wait_exit(Duration::from_secs(5)).expect("exits after SIGTERM");
    assert!(status.success(), "{status}: {}", wh.log_text());
    assert!(!socket.exists(), "the socket file is removed on exit");
}

#[test]
fn a_stale_socket_file_is_replaced_but_nothing_else_is() {
    let dir = TempDir::new("stale");
    let pool = dir.path("pool");
    sample_pool(&pool, "172.16.1.2");
    let kvp = format!("--kvp-path={}", pool.display());
    let socket = dir.path("webhook.sock");
    // A crashed run's socket: the file stays, nobody listens.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    assert!(socket.exists());
    let wh = Webhook::unix(&dir, &socket, &[&kvp]);
    assert_eq!(curl_unix(&socket, "POST", "/GetProfileConfig", Some(&profile_request(NIC_IB, ""))).body, ANSWER);

    // A live socket (the one above) is not stolen.
    let bind = format!("--bind-address=unix://{}", socket.display());
    let mut second = Webhook::spawn(&dir, &[&bind, &kvp]);
    let status = second.wait_exit(Duration::from_secs(5)).expect("the second webhook exits");
    assert!(!status.success());
    assert!(second.log_text().contains("another running process"), "{}", second.log_text());
    assert_eq!(curl_unix(&socket, "GET", "/health", None).status, 200, "the first still serves");
    drop(wh);

    // A regular file in the way is not removed.
    let file = dir.path("not-a-socket");
    std::fs::write(&file, b"keep me").unwrap();
    let bind = format!("--bind-address=unix://{}", file.display());
    let mut refused = Webhook::spawn(&dir, &[&bind, &kvp]);
    assert!(!refused.wait_exit(Duration::from_secs(5)).expect("exits").success());
    assert!(refused.log_text().contains("not a socket"), "{}", refused.log_text());
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
}

#[test]
fn the_pool_is_read_again_for_every_request_without_sighup() {
    let dir = TempDir::new("fresh");
    let pool = dir.path("pool");
    sample_pool(&pool, "172.16.1.2");
    let kvp = format!("--kvp-path={}", pool.display());
    let wh = Webhook::tcp(&dir, &[&kvp]);
    let agent = agent();
    let ask = || post(&agent, &wh.url("/GetProfileConfig"), &profile_request(NIC_IB, "")).body;
    assert_eq!(ask(), ANSWER);
    sample_pool(&pool, "172.16.9.9");
    assert_eq!(ask(), r#"{"interface":{"addresses":["172.16.9.9/16"]}}"#, "a new pool is seen at once");
    // Rewritten in place (same inode), as hv_kvp_daemon does.
    let mut bytes = std::fs::read(&pool).unwrap();
    let at = bytes.windows(10).position(|w| w == b"172.16.9.9").unwrap();
    bytes[at..at + 10].copy_from_slice(b"172.16.7.7");
    std::fs::write(&pool, &bytes).unwrap();
    assert_eq!(ask(), r#"{"interface":{"addresses":["172.16.7.7/16"]}}"#);
    // SIGHUP is accepted (the Go original's reload) and only logged.
    wh.signal(Signal::SIGHUP);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(ask(), r#"{"interface":{"addresses":["172.16.7.7/16"]}}"#);
    assert!(wh.log_text().contains("SIGHUP: nothing to reload"), "{}", wh.log_text());
}

/// Issue 17.4: the webhook keeps the pool open between requests, but never answers from a file
/// that is no longer at `--kvp-path`.
#[test]
fn a_pool_renamed_away_or_replaced_is_never_answered_from() {
    let dir = TempDir::new("replaced");
    let pool = dir.path("pool");
    sample_pool(&pool, "172.16.1.2");
    let kvp = format!("--kvp-path={}", pool.display());
    let wh = Webhook::tcp(&dir, &[&kvp]);
    let agent = agent();
    let ask = || post(&agent, &wh.url("/GetProfileConfig"), &profile_request(NIC_IB, ""));
    assert_eq!(ask().body, ANSWER);
    // Renamed away: nothing is at the path, though the old file still exists.
    std::fs::rename(&pool, dir.path("pool.old")).unwrap();
    let reply = ask();
    assert_eq!(reply.status, 503, "{reply:?}");
    assert!(reply.body.contains("does not exist"), "{reply:?}");
    // A new pool with a different address takes its place.
    sample_pool(&pool, "172.16.3.3");
    assert_eq!(ask().body, r#"{"interface":{"addresses":["172.16.3.3/16"]}}"#);
    // Replaced by a rename over it, while the old inode stays linked elsewhere.
    let next = dir.path("pool.next");
    sample_pool(&next, "172.16.4.4");
    std::fs::hard_link(&pool, dir.path("pool.keep")).unwrap();
    std::fs::rename(&next, &pool).unwrap();
    assert_eq!(ask().body, r#"{"interface":{"addresses":["172.16.4.4/16"]}}"#);
    // Deleted and created again.
    std::fs::remove_file(&pool).unwrap();
    assert_eq!(ask().status, 503);
    sample_pool(&pool, "172.16.5.5");
    assert_eq!(ask().body, r#"{"interface":{"addresses":["172.16.5.5/16"]}}"#);
}

#[test]
fn one_log_line_per_request_and_log_level() {
    let dir = TempDir::new("log");
    let pool = dir.path("pool");
    sample_pool(&pool, "172.16.1.2");
    let kvp = format!("--kvp-path={}", pool.display());
    let wh = Webhook::tcp(&dir, &[&kvp]);
    let agent = agent();
    post(&agent, &wh.url("/GetProfileConfig"), &profile_request(NIC_ETH, ""));
    post(&agent, &wh.url("/GetProfileConfig"), &profile_request("00:15:5d:33:ff:0c", ""));
    get(&agent, &wh.url("/health"));
    let log = wh.log_text();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("method=")).collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert!(lines[0].contains("method=POST path=/GetProfileConfig status=200 mac=00:15:5d:33:ff:0b us="), "{log}");
    assert!(lines[1].contains("status=404 mac=00:15:5d:33:ff:0c"), "{log}");
    assert!(lines[2].contains("method=GET path=/health status=200 mac=- us="), "{log}");
    let us: u64 = lines[0].rsplit("us=").next().unwrap().trim().parse().unwrap();
    assert!(us < 5_000_000);

    let quiet = Webhook::tcp(&dir, &[&kvp, "--log-level=warn"]);
    post(&agent, &quiet.url("/GetProfileConfig"), &profile_request(NIC_ETH, ""));
    assert!(!quiet.log_text().contains("method="), "{}", quiet.log_text());

    let metrics = get(&agent, &wh.url("/metrics"));
    assert!(metrics.header("content-type").unwrap().starts_with("application/openmetrics-text"));
    for needle in [
        r#"azure_ipoib_webhook_http_requests_total{endpoint="/GetProfileConfig",status="200"} 1"#,
        r#"azure_ipoib_webhook_http_requests_total{endpoint="/GetProfileConfig",status="404"} 1"#,
        r#"azure_ipoib_webhook_http_requests_total{endpoint="/health",status="200"} 1"#,
        "# TYPE azure_ipoib_webhook_pool_read_failures counter",
        "azure_ipoib_webhook_http_request_duration_seconds_count 3",
        "azure_ipoib_webhook_http_request_duration_seconds_bucket{le=",
    ] {
        assert!(metrics.body.contains(needle), "{needle}: {}", metrics.body);
    }
}

#[test]
fn a_client_sending_a_byte_a_second_stops_no_one() {
    let dir = TempDir::new("slow");
    let pool = dir.path("pool");
    sample_pool(&pool, "172.16.1.2");
    let kvp = format!("--kvp-path={}", pool.display());
    let wh = Webhook::tcp(&dir, &[&kvp]);
    let agent = agent();
    let request = raw_post("/GetProfileConfig", &profile_request(NIC_IB, ""));
    std::thread::scope(|s| {
        // One slow client dribbling its head, one with a whole head dribbling its body.
        let (wh, request) = (&wh, &request);
        let head = s.spawn(move || dribble(wh, request, 0));
        let split = request.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let body = s.spawn(move || dribble(wh, request, split));
        let late = s.spawn(move || head_late_then_dribble(wh, request, split));
        let started = Instant::now();
        let mut served = 0;
        while started.elapsed() < Duration::from_secs(3) {
            let t = Instant::now();
            assert_eq!(post(&agent, &wh.url("/GetProfileConfig"), &profile_request(NIC_IB, "")).body, ANSWER);
            assert!(
                t.elapsed() < Duration::from_millis(500),
                "a request waited {:?} behind the slow clients",
                t.elapsed()
            );
            served += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(served > 20, "{served}");
        let (head_closed_after, head_reply) = head.join().unwrap();
        let (body_closed_after, body_reply) = body.join().unwrap();
        // Cut off at the 5 s read limit, not served.
        for (what, after) in [("head", head_closed_after), ("body", body_closed_after)] {
            assert!(
                after >= Duration::from_millis(4500) && after < Duration::from_secs(8),
                "{what}: closed after {after:?}"
            );
        }
        // Head and body share the 5 s: a head that took 3 s leaves the body 2 s.
        let (late_closed_after, late_reply) = late.join().unwrap();
        assert!(
            late_closed_after >= Duration::from_millis(4500) && late_closed_after < Duration::from_millis(6500),
            "head 3 s late, then a slow body: closed {late_closed_after:?} after the first byte"
        );
        assert_eq!(late_reply.map(|r| r.status), Some(408));
        assert!(head_reply.is_none(), "{head_reply:?}");
        assert_eq!(body_reply.map(|r| r.status), Some(408));
    });
}

/// Sends `request[..from]` at once, then one byte a second until the server closes; returns how
/// long after the dribble began the connection closed, and any reply.
fn dribble(wh: &Webhook, request: &[u8], from: usize) -> (Duration, Option<Reply>) {
    let mut stream = wh.connect().unwrap();
    stream.write_all(&request[..from]).unwrap();
    dribble_on(stream, &request[from..])
}

/// Sends `rest` a byte a second on `stream` until the server closes or answers.
fn dribble_on(mut stream: Stream, rest: &[u8]) -> (Duration, Option<Reply>) {
    stream.set_read_timeout(Some(Duration::from_millis(1000)));
    let started = Instant::now();
    let mut got = Vec::new();
    for byte in rest {
        if stream.write_all(std::slice::from_ref(byte)).is_err() {
            break;
        }
        let mut buf = [0u8; 4096];
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                let _ = stream.read_to_end(&mut got);
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => break,
        }
        if started.elapsed() > Duration::from_secs(12) {
            break;
        }
    }
    (started.elapsed(), parse_response(&got))
}

/// Sends the first byte, the rest of the head 3 s later, then the body a byte a second; returns
/// how long after the first byte the connection closed, and any reply.
fn head_late_then_dribble(wh: &Webhook, request: &[u8], head_len: usize) -> (Duration, Option<Reply>) {
    let mut stream = wh.connect().unwrap();
    let started = Instant::now();
    stream.write_all(&request[..1]).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    stream.write_all(&request[1..head_len]).unwrap();
    let (_, reply) = dribble_on(stream, &request[head_len..]);
    (started.elapsed(), reply)
}

#[test]
fn connections_are_bounded() {
    let dir = TempDir::new("bound");
    let pool = dir.path("pool");
    sample_pool(&pool, "172.16.1.2");
    let kvp = format!("--kvp-path={}", pool.display());
    let wh = Webhook::tcp(&dir, &[&kvp, "--max-connections=2"]);
    // Two idle connections take both slots; a third waits in the backlog until the head
    // timeout frees one.
    let idle: Vec<Stream> = (0..2).map(|_| wh.connect().unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    let reply = raw(&wh, &raw_post("/GetProfileConfig", &profile_request(NIC_IB, ""))).expect("a reply");
    assert_eq!(reply.body, ANSWER);
    assert!(t.elapsed() >= Duration::from_secs(3), "served at once past the bound: {:?}", t.elapsed());
    drop(idle);
}

#[test]
fn an_oversized_body_gets_413() {
    let dir = TempDir::new("big");
    let pool = dir.path("pool");
    sample_pool(&pool, "172.16.1.2");
    let kvp = format!("--kvp-path={}", pool.display());
    let wh = Webhook::tcp(&dir, &[&kvp]);
    // Declared too large: refused before the body is read.
    let declared = b"POST /GetProfileConfig HTTP/1.1\r\nHost: w\r\nContent-Length: 65537\r\n\r\n{";
    assert_eq!(raw(&wh, declared).map(|r| r.status), Some(413));
    // Chunked, growing past the cap.
    let mut chunked = b"POST /GetProfileConfig HTTP/1.1\r\nHost: w\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..20 {
        chunked.extend_from_slice(format!("1000\r\n{}\r\n", " ".repeat(4096)).as_bytes());
    }
    let reply = raw(&wh, &chunked).expect("a reply");
    assert_eq!(reply.status, 413, "{reply:?}");
    assert!(reply.body.contains("64 KiB"), "{}", reply.body);
    // Exactly at the cap: served.
    let body = profile_request(NIC_IB, "");
    let padded = format!("{body}{}", " ".repeat(64 * 1024 - body.len()));
    assert_eq!(raw(&wh, &raw_post("/GetProfileConfig", &padded)).map(|r| r.body), Some(ANSWER.to_string()));
    let agent = agent();
    let big = post(&agent, &wh.url("/GetDeviceConfig"), &" ".repeat(100 * 1024));
    assert_eq!(big.status, 413);
    // An oversized head: 431.
    let head = format!("GET /health HTTP/1.1\r\nHost: w\r\nX-Big: {}\r\nConnection: close\r\n\r\n", "a".repeat(20_000));
    assert_eq!(raw(&wh, head.as_bytes()).map(|r| r.status), Some(431));
    assert_eq!(get(&agent, &wh.url("/health")).status, 200);
}

#[test]
fn sigterm_finishes_in_flight_requests_then_removes_the_socket() {
    let dir = TempDir::new("term");
    let pool = dir.path("pool");
    sample_pool(&pool, "172.16.1.2");
    let kvp = format!("--kvp-path={}", pool.display());
    let socket = dir.path("webhook.sock");
    let mut wh = Webhook::unix(&dir, &socket, &[&kvp]);
    // In flight: the head and half the body are sent.
    let request = raw_post("/GetProfileConfig", &profile_request(NIC_IB, ""));
    let half = request.len() - 20;
    let mut stream = wh.connect().unwrap();
    stream.write_all(&request[..half]).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    wh.signal(Signal::SIGTERM);
    // Stops accepting at once: the socket file goes, new connections are refused.
    let t = Instant::now();
    while socket.exists() && t.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!socket.exists(), "socket still there after SIGTERM");
    assert!(wh.connect().is_err(), "a new connection after SIGTERM");
    assert!(wh.child.try_wait().unwrap().is_none(), "exited with a request in flight");
    // The in-flight request completes and gets its answer.
    stream.write_all(&request[half..]).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5)));
    let reply = read_reply(&mut stream).expect("the in-flight request is answered");
    assert_eq!((reply.status, reply.body.as_str()), (200, ANSWER));
    let status = wh.wait_exit(Duration::from_secs(5)).expect("exits once the request is done");
    assert!(status.success(), "{status}");
    let log = wh.log_text();
    assert!(log.contains("SIGTERM: stopped accepting") && log.contains("all connections finished"), "{log}");
}

#[test]
fn tcp_binds_loopback_by_default_and_every_interface_on_request() {
    let dir = TempDir::new("bind");
    let pool = dir.path("pool");
    sample_pool(&pool, "172.16.1.2");
    let kvp = format!("--kvp-path={}", pool.display());
    // No --bind-address: 127.0.0.1:8080 (the log says so; port 8080 may be taken on a test host,
    // so the address is checked in the start-up line, and served in the netns test below).
    let mut default = Webhook::spawn(&dir, &[&kvp]);
    std::thread::sleep(Duration::from_millis(300));
    let log = default.log_text();
    assert!(log.contains("listening on 127.0.0.1:8080") || log.contains("cannot listen on 127.0.0.1:8080"), "{log}");
    let _ = default.child.kill();
    // ":port": every interface, as in Go.
    let port = free_port();
    let bind = format!("--bind-address=:{port}");
    let mut all = Webhook::spawn(&dir, &[&bind, &kvp]);
    all.tcp = Some(format!("127.0.0.1:{port}"));
    all.wait_ready();
    assert_eq!(get(&agent(), &format!("http://127.0.0.1:{port}/health")).status, 200);
    let listening = std::fs::read_to_string("/proc/net/tcp6").unwrap_or_default()
        + &std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let any = format!("00000000000000000000000000000000:{port:04X}");
    let any4 = format!("00000000:{port:04X}");
    assert!(listening.contains(&any) || listening.contains(&any4), "not bound to the any address");
}

#[test]
fn flags_are_checked_and_help_is_given() {
    let out = std::process::Command::new(webhook_path()).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--bind-address"));
    for bad in ["--bogus=1", "--prefix-length=200", "--bind-address=nowhere", "--log-level=loud"] {
        let out = std::process::Command::new(webhook_path()).arg(bad).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("usage:"), "{bad}: {err}");
    }
}

#[test]
fn default_bind_is_loopback_only_in_a_netns() {
    if !needs_root("default_bind_is_loopback_only_in_a_netns") {
        return;
    }
    let dir = TempDir::new("netns");
    let pool = dir.path("pool");
    sample_pool(&pool, "172.16.1.2");
    let ns = format!("whk{}", std::process::id() % 100_000);
    let ip =
        |args: &[&str]| assert!(std::process::Command::new("ip").args(args).status().unwrap().success(), "ip {args:?}");
    ip(&["netns", "add", &ns]);
    struct Del(String);
    impl Drop for Del {
        fn drop(&mut self) {
            let _ = std::process::Command::new("ip").args(["netns", "del", &self.0]).status();
        }
    }
    let _del = Del(ns.clone());
    ip(&["-n", &ns, "link", "set", "lo", "up"]);
    ip(&["-n", &ns, "link", "add", "d0", "type", "veth", "peer", "name", "d1"]);
    ip(&["-n", &ns, "addr", "add", "10.9.9.1/24", "dev", "d0"]);
    ip(&["-n", &ns, "link", "set", "d0", "up"]);
    ip(&["-n", &ns, "link", "set", "d1", "up"]);
    let kvp = format!("--kvp-path={}", pool.display());
    let mut child = std::process::Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(webhook_path())
        .arg(&kvp)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let curl = |url: &str| {
        std::process::Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns,
                "curl",
                "-s",
                "--max-time",
                "2",
                "--retry",
                "20",
                "--retry-connrefused",
                "--retry-delay",
                "0",
                url,
            ])
            .output()
            .unwrap()
    };
    let ok = curl("http://127.0.0.1:8080/health");
    assert!(String::from_utf8_lossy(&ok.stdout).contains("profileProvider"), "{ok:?}");
    let other = std::process::Command::new("ip")
        .args(["netns", "exec", &ns, "curl", "-s", "--max-time", "2", "http://10.9.9.1:8080/health"])
        .output()
        .unwrap();
    assert!(!other.status.success(), "answered on a non-loopback address");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn sigterm_does_not_wait_out_a_long_lock_wait() {
    let dir = TempDir::new("term-lock");
    let pool = dir.path("pool");
    sample_pool(&pool, "172.16.1.2");
    let kvp = format!("--kvp-path={}", pool.display());
    let mut wh = Webhook::tcp(&dir, &[&kvp, "--lock-timeout-ms=60000"]);
    let writer = hold_write_lock(&pool);
    // A request now waits (on a blocking thread) for a lock nobody releases.
    let mut stream = wh.connect().unwrap();
    stream.write_all(&raw_post("/GetProfileConfig", &profile_request(NIC_IB, ""))).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    wh.signal(Signal::SIGTERM);
    // In-flight requests get 10 s to finish, then the process goes, lock wait or not.
    let status = wh.wait_exit(Duration::from_secs(20)).expect("exits after SIGTERM");
    let took = t.elapsed();
    assert!(status.success(), "{status}: {}", wh.log_text());
    assert!(took >= Duration::from_secs(9) && took < Duration::from_secs(13), "exited {took:?} after SIGTERM");
    assert!(wh.log_text().contains("connections still open after 10s"), "{}", wh.log_text());
    drop(writer);
}

/// Issue 17: clients that pipeline requests and never read the answers fill their sockets and
/// then hold their slots, hyper waiting to write; the write deadline closes them, so with every
/// slot of `--max-connections=3` held that way (and one more waiting) a new client is served
/// within the deadline plus a margin.
#[test]
fn clients_that_never_read_cannot_hold_the_slots() {
    const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
    let dir = TempDir::new("nonreaders");
    let pool = dir.path("pool");
    sample_pool(&pool, "172.16.1.2");
    let kvp = format!("--kvp-path={}", pool.display());
    let wh = Webhook::tcp(&dir, &[&kvp, "--max-connections=3", "--log-level=warn"]);
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let (tx, stalled) = std::sync::mpsc::channel();
        for _ in 0..4 {
            let (wh, tx, done) = (&wh, tx.clone(), &done);
            s.spawn(move || {
                let mut stream = wh.connect().unwrap();
                let Stream::Tcp(tcp) = &stream else { unreachable!() };
                tcp.set_write_timeout(Some(Duration::from_millis(500))).unwrap();
                // /metrics: a few KiB per answer, so the buffers fill after a few thousand.
                let batch = b"GET /metrics HTTP/1.1\r\nHost: w\r\n\r\n".repeat(64);
                let started = Instant::now();
                let mut sent = 0usize;
                // Until the server stops reading (its writes blocked), or 30 s.
                while started.elapsed() < Duration::from_secs(30) {
                    match stream.write(&batch) {
                        Ok(n) => sent += n,
                        Err(_) => break,
                    }
                }
                tx.send(sent).unwrap();
                // Never read; hold the socket until the test ends.
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                drop(stream);
            });
        }
        // Three fill their slots and stall; the fourth waits in the backlog, unserved.
        for _ in 0..3 {
            let sent = stalled.recv_timeout(Duration::from_secs(40)).expect("a non-reader stalls");
            assert!(sent > 0);
        }
        std::thread::sleep(Duration::from_millis(200));
        let t = Instant::now();
        let mut client = wh.connect().unwrap();
        client.set_read_timeout(Some(WRITE_TIMEOUT + Duration::from_secs(10)));
        client.write_all(&raw_post("/GetProfileConfig", &profile_request(NIC_IB, ""))).unwrap();
        let reply = read_reply(&mut client);
        let waited = t.elapsed();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        println!("served {waited:?} after connecting");
        assert_eq!(reply.map(|r| r.body), Some(ANSWER.to_string()), "waited {waited:?}; {}", wh.log_text());
        assert!(
            waited < WRITE_TIMEOUT + Duration::from_secs(3),
            "served {waited:?} after connecting, behind clients that never read"
        );
        assert!(waited > Duration::from_secs(1), "served at once ({waited:?}): the non-readers held no slot");
    });
    let log = wh.log_text();
    assert!(log.contains("level=warn closed a connection: the client read no part of the answer for 5 s"), "{log}");
}

/// Issue 17: an answer or a log line quotes at most a bounded slice of what the client sent
/// (the plugin's rule: 256 bytes, the cut marked), however long the value: serde_json's message,
/// which quotes the offending string whole, a MAC, a profile, a path.
#[test]
fn echoed_values_are_bounded() {
    let dir = TempDir::new("echo");
    let pool = dir.path("pool");
    sample_pool(&pool, "172.16.1.2");
    let kvp = format!("--kvp-path={}", pool.display());
    let wh = Webhook::tcp(&dir, &[&kvp, "--profile=ipoib"]);
    let agent = agent();
    let long = "x".repeat(60_000);
    for (body, status, says) in [
        (format!(r#"{{"device":"{long}"}}"#), 400, "invalid type: string \"xxx"),
        (format!(r#"{{"config":{{"profile":"ipoib"}},"device":{{"mac_address":"{long}"}}}}"#), 400, "mac_address"),
        (profile_request(NIC_IB, &long), 404, "is not handled by this provider"),
    ] {
        let reply = post(&agent, &wh.url("/GetProfileConfig"), &body);
        assert_eq!(reply.status, status, "{}", &reply.body[..reply.body.len().min(300)]);
        assert!(reply.body.len() < 512, "{} bytes echoed: {}", reply.body.len(), &reply.body[..300]);
        assert!(reply.body.contains(says) && reply.body.contains("bytes)"), "{}", reply.body);
    }
    let path = format!("/{}", "p".repeat(10_000));
    assert_eq!(get(&agent, &wh.url(&path)).status, 404);
    let log = wh.log_text();
    let line = log.lines().find(|l| l.contains("status=404") && l.contains("path=/ppp")).expect("a log line");
    assert!(line.len() < 512 && line.contains("…(10001 bytes)"), "{} bytes: {}", line.len(), &line[..300]);
    assert!(log.lines().all(|l| l.len() < 1024), "a long log line");
}

/// Issue 17: an argument that is not UTF-8 is a usage error (exit 2, the usage text), not a
/// panic; `std::env::args` panicked on it.
#[test]
fn a_non_utf8_argument_is_a_usage_error() {
    use std::os::unix::ffi::OsStrExt;
    for args in [&[&b"--kvp-path"[..], b"/var/lib/hyperv/\xff"][..], &[b"--profile=\xc3\x28"], &[b"\xff"]] {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| std::ffi::OsStr::from_bytes(a)).collect();
        let out = std::process::Command::new(webhook_path()).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("is not UTF-8") && err.contains("usage:"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
