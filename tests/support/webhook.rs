//! Running the built webhook and talking to it: ureq (a real HTTP client) over TCP, curl over the
//! unix socket, and raw HTTP/1.1 on std streams for what a polite client never sends (a byte a
//! second, an oversized body, a request cut in half).

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kvp_core::{encode_pool, RECORD_LEN};

/// The webhook the tests run: the binary cargo built for this test run, or the program named by
/// `IPOIB_TEST_WEBHOOK` (see [`crate::plugin::binary_under_test`]).
pub fn webhook_path() -> PathBuf {
    crate::plugin::binary_under_test("IPOIB_TEST_WEBHOOK", "azure-ipoib-webhook")
}

/// The sample NIC: its 20-byte IPoIB address, its 6-byte form, and the pool's name for it.
pub const NIC_IB: &str = "00:00:01:49:fe:80:00:00:00:00:00:00:00:15:5d:ff:fd:33:ff:0b";
pub const NIC_ETH: &str = "00:15:5d:33:ff:0b";
pub const NIC_POOL_MAC: &str = "00155D33FF0B";

pub use crate::plugin::TempDir;

/// Writes a pool file holding `records` at `path` (through a rename, as a whole).
pub fn write_pool(path: &Path, records: &[(&str, &str)]) {
    let mut bytes = vec![0u8; records.len() * RECORD_LEN];
    encode_pool(records, &mut bytes).expect("encodable records");
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).expect("write pool");
    std::fs::rename(&tmp, path).expect("rename pool");
}

/// A one-pair pool for the sample NIC with address `ip`, between two other records.
pub fn sample_pool(path: &Path, ip: &str) {
    let value = format!("NUMPAIRS:1|{NIC_POOL_MAC}:{ip}");
    write_pool(path, &[("HostName", "secret-host"), ("IPoIB_Data", &value), ("VirtualMachineName", "secret-vm")]);
}

/// A `ProfileRequest` body for `mac` and `profile`, with the fields DRANet also sends.
pub fn profile_request(mac: &str, profile: &str) -> String {
    format!(
        r#"{{"device":{{"mac_address":"{mac}","pci_address":"0000:00:02.0","name":"ib0"}},"claim_uid":"1f0c",
            "config":{{"profile":"{profile}","interface":{{"name":"net1"}}}}}}"#
    )
}

/// A free TCP port on loopback (free when asked; the webhook binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

/// A running webhook; killed on drop.
pub struct Webhook {
    pub child: Child,
    pub log: PathBuf,
    /// `127.0.0.1:port` for TCP.
    pub tcp: Option<String>,
    /// The socket path for a unix socket.
    pub unix: Option<PathBuf>,
}

impl Webhook {
    /// Starts the webhook on a fresh loopback port with `args`, logging to `dir/name.log`.
    pub fn tcp(dir: &TempDir, args: &[&str]) -> Webhook {
        let addr = format!("127.0.0.1:{}", free_port());
        let bind = format!("--bind-address={addr}");
        let mut all = vec![bind.as_str()];
        all.extend_from_slice(args);
        let mut webhook = Webhook::spawn(dir, &all);
        webhook.tcp = Some(addr);
        webhook.wait_ready();
        webhook
    }

    /// Starts the webhook on the unix socket `socket` with `args`.
    pub fn unix(dir: &TempDir, socket: &Path, args: &[&str]) -> Webhook {
        let bind = format!("--bind-address=unix://{}", socket.display());
        let mut all = vec![bind.as_str()];
        all.extend_from_slice(args);
        let mut webhook = Webhook::spawn(dir, &all);
        webhook.unix = Some(socket.to_path_buf());
        webhook.wait_ready();
        webhook
    }

    /// Starts the binary with exactly `args`, without waiting for it.
    pub fn spawn(dir: &TempDir, args: &[&str]) -> Webhook {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let log = dir.path(&format!("webhook-{}.log", NEXT.fetch_add(1, Ordering::Relaxed)));
        let child = Command::new(webhook_path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).expect("create log"))
            .spawn()
            .expect("start the webhook");
        Webhook { child, log, tcp: None, unix: None }
    }

    /// Waits until the webhook answers a connection, or panics with its log.
    pub fn wait_ready(&mut self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("webhook exited at start-up with {status}: {}", self.log_text());
            }
            if self.connect().is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("webhook not listening after 10 s: {}", self.log_text());
    }

    /// A fresh connection, TCP or unix.
    pub fn connect(&self) -> io::Result<Stream> {
        match (&self.tcp, &self.unix) {
            (Some(addr), _) => TcpStream::connect(addr).map(Stream::Tcp),
            (_, Some(path)) => UnixStream::connect(path).map(Stream::Unix),
            _ => Err(io::Error::other("no address")),
        }
    }

    /// `http://127.0.0.1:port` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.tcp.as_deref().expect("a TCP webhook"))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.child.id() as i32)
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(self.pid(), signal).expect("signal the webhook");
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A ureq agent that returns 4xx and 5xx as replies, not errors.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .new_agent()
}

fn ureq_reply(mut res: ureq::http::Response<ureq::Body>) -> Reply {
    let headers = res
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_ascii_lowercase(), v.to_str().unwrap_or("").to_string()))
        .collect();
    Reply { status: res.status().as_u16(), headers, body: res.body_mut().read_to_string().expect("read body") }
}

/// `GET url` with ureq.
pub fn get(agent: &ureq::Agent, url: &str) -> Reply {
    ureq_reply(agent.get(url).call().unwrap_or_else(|e| panic!("GET {url}: {e}")))
}

/// `POST url` with a JSON body, with ureq.
pub fn post(agent: &ureq::Agent, url: &str, body: &str) -> Reply {
    let res = agent.post(url).header("Content-Type", "application/json").send(body);
    ureq_reply(res.unwrap_or_else(|e| panic!("POST {url}: {e}")))
}

/// Any method and path through curl over the unix socket `socket`.
pub fn curl_unix(socket: &Path, method: &str, path: &str, body: Option<&str>) -> Reply {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-i", "--max-time", "20", "--unix-socket"]).arg(socket).args(["-X", method]);
    if let Some(body) = body {
        cmd.args(["-H", "Content-Type: application/json", "--data-binary", body]);
    }
    cmd.arg(format!("http://webhook{path}"));
    let out = cmd.output().expect("run curl (apt-get install curl)");
    assert!(out.status.success(), "curl {method} {path}: {}", String::from_utf8_lossy(&out.stderr));
    parse_response(&out.stdout).unwrap_or_else(|| panic!("curl: not an HTTP response: {out:?}"))
}

/// A client connection of either kind.
pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    pub fn set_read_timeout(&self, t: Option<Duration>) {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(t),
            Stream::Unix(s) => s.set_read_timeout(t),
        }
        .expect("set read timeout");
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads until the server closes (or the read timeout), then parses what came.
pub fn read_reply(stream: &mut Stream) -> Option<Reply> {
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    parse_response(&bytes)
}

/// `request` (a whole HTTP/1.1 request, which should say `Connection: close`) on a fresh
/// connection; the reply once the server closes.
pub fn raw(webhook: &Webhook, request: &[u8]) -> Option<Reply> {
    let mut stream = webhook.connect().expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(20)));
    stream.write_all(request).ok()?;
    read_reply(&mut stream)
}

/// `POST path` with `body`, as raw bytes, closing after.
pub fn raw_post(path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: webhook\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The first response in `bytes` (the last, after any `100 Continue`).
pub fn parse_response(bytes: &[u8]) -> Option<Reply> {
    let text = String::from_utf8_lossy(bytes);
    let mut rest: &str = &text;
    loop {
        let (head, body) = rest.split_once("\r\n\r\n")?;
        let mut lines = head.split("\r\n");
        let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
        if status == 100 {
            rest = body;
            continue;
        }
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let len = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse::<usize>().ok());
        let body = match len {
            Some(len) => body.get(..len).unwrap_or(body).to_string(),
            None => body.to_string(),
        };
        return Some(Reply { status, headers, body });
    }
}
