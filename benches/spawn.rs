//! Whole-process benchmark: what one ADD costs a runtime, next to the cost of starting any
//! process at all and next to a Go IPAM plugin doing the same class of job.
//!
//! Run on demand (root: it creates a netns), after a release build:
//!
//! ```text
//! cargo build --release && cargo bench -p ipoib-benches --bench spawn
//! ```
//!
//! In one run it interleaves spawns of four programs, round by round and in a fresh random order each round,
//! so machine noise and position in the round hit all alike:
//! - the floor (`benches/floor.c`: `_start` only calls `exit`);
//! - our release binary doing a real ADD (netns + veth + a 15-record pool);
//! - the syscall floor (`benches/syscall_floor.c`): the same syscalls with no code around them;
//! - Debian's Go `static` IPAM plugin doing its ADD.
//!
//! It prints medians and ratios, then the syscall count of one ADD
//! (`strace -f -c`), peak RSS and minor page faults (`/usr/bin/time -f '%M %R'`), binary size
//! and linkage.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Rounds by default; `SPAWN_ROUNDS` overrides.
const ROUNDS: usize = 2000;
const GO_STATIC: &str = "/usr/lib/cni/static";
const SAMPLE_MAC: &str = "00:15:5d:33:ff:0b";
/// Where the fixed programs sit in the list; variants and Go follow.
const FLOOR: usize = 0;
const OURS: usize = 1;
const SYSCALL_FLOOR: usize = 2;

struct Program {
    name: &'static str,
    path: PathBuf,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    stdin: PathBuf,
    samples: Vec<Duration>,
}

impl Program {
    /// A program started as a runtime starts a plugin: this environment, this file on stdin.
    fn new(name: &'static str, path: PathBuf, env: Vec<(&'static str, String)>, stdin: &Path) -> Program {
        Program { name, path, args: vec![], env, stdin: stdin.to_path_buf(), samples: vec![] }
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.path);
        command
            .args(&self.args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }

    fn spawn_once(&self) -> Duration {
        let mut command = self.command();
        command.stdin(File::open(&self.stdin).expect("open stdin file"));
        let started = Instant::now();
        let status = command.status().expect("spawn");
        let elapsed = started.elapsed();
        assert!(status.success(), "{} failed: {status}", self.name);
        elapsed
    }

    fn median_us(&self) -> f64 {
        let mut sorted = self.samples.clone();
        sorted.sort();
        sorted[sorted.len() / 2].as_secs_f64() * 1e6
    }
}

fn main() {
    // `cargo bench` passes `--bench`; anything else (cargo test --benches) is a dry run.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    if !nix::unistd::geteuid().is_root() {
        eprintln!("spawn benchmark: needs root (it creates a network namespace)");
        std::process::exit(1);
    }
    let ours = release_binary();
    let work = std::env::temp_dir().join(format!("ipoib-spawn-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("work dir");

    let floor = compile_c(&work, "floor");
    let syscall_floor = compile_c(&work, "syscall_floor");

    let pool = work.join("pool");
    std::fs::write(&pool, pool_with_15_records()).expect("write pool");
    let ours_conf = work.join("ours.json");
    std::fs::write(
        &ours_conf,
        format!(
            r#"{{"cniVersion":"0.3.1","name":"hostdev-net","type":"host-device","device":"ib0","ipam":{{"type":"azure-ipoib-ipam-cni","kvpPath":"{}"}}}}"#,
            pool.display()
        ),
    )
    .expect("write conf");
    let go_conf = work.join("go.json");
    std::fs::write(
        &go_conf,
        r#"{"cniVersion":"0.3.1","name":"hostdev-net","type":"host-device","device":"ib0","ipam":{"type":"static","addresses":[{"address":"172.16.1.2/16"}]}}"#,
    )
    .expect("write conf");

    let ns = ipoib_test_support::netns::Netns::new();
    ns.add_veth("net1", SAMPLE_MAC);
    let cni_env = |command: &str| -> Vec<(&'static str, String)> {
        vec![
            ("CNI_COMMAND", command.to_string()),
            ("CNI_CONTAINERID", "bench".to_string()),
            ("CNI_NETNS", ns.path()),
            ("CNI_IFNAME", "net1".to_string()),
            ("CNI_PATH", "/usr/lib/cni".to_string()),
            // As a runtime's environment would hold it: the pool's directory (the bench's own).
            ("AZURE_IPOIB_KVP_DIR", work.display().to_string()),
        ]
    };

    // The floors ignore their environment and stdin, but get the same ones as the plugins: the
    // parent's work to set up a spawn (opening /dev/null for a missing stdin, say) is timed too.
    let mut programs = vec![
        Program::new("floor (_start → exit)", floor, cni_env("ADD"), &ours_conf),
        Program::new(
            "azure-ipoib-ipam-cni ADD (this project)",
            staged(&work, "ours", &ours),
            cni_env("ADD"),
            &ours_conf,
        ),
        Program {
            args: vec![pool.display().to_string(), ns.path(), "net1".to_string()],
            ..Program::new("syscall floor (an ADD's syscalls, no code)", syscall_floor, cni_env("ADD"), &ours_conf)
        },
    ];
    // SPAWN_EXTRA=/a/plugin:/b/plugin times other builds of the plugin in the same rounds, to
    // compare a change against the current binary side by side.
    for (i, extra) in std::env::var("SPAWN_EXTRA").unwrap_or_default().split(':').filter(|p| !p.is_empty()).enumerate()
    {
        let name = Box::leak(format!("variant {extra}").into_boxed_str());
        programs.push(Program::new(
            name,
            staged(&work, &format!("variant{i}"), Path::new(extra)),
            cni_env("ADD"),
            &ours_conf,
        ));
    }
    let go_index = programs.len();
    let have_go = Path::new(GO_STATIC).exists();
    if have_go {
        let go = staged(&work, "go-static", Path::new(GO_STATIC));
        programs.push(Program::new("Go `static` IPAM plugin ADD (Debian)", go, cni_env("ADD"), &go_conf));
    } else {
        eprintln!("note: {GO_STATIC} missing (apt-get install containernetworking-plugins); skipping the Go column");
    }

    // Check ours answers correctly before timing it.
    let out = programs[OURS]
        .command()
        .stdin(File::open(&ours_conf).expect("conf"))
        .stdout(Stdio::piped())
        .output()
        .expect("run ours");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("172.16.1.2/16"), "our ADD did not resolve: {text}");

    for program in &programs {
        for _ in 0..50 {
            program.spawn_once(); // warm the page cache and the binary's pages
        }
    }
    let rounds = std::env::var("SPAWN_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(ROUNDS);
    // Each round runs the programs in a fresh random order. On this VM the spawn right after the
    // floor's ran ~10% slower than the same binary elsewhere in the round; rotating a fixed order
    // left the same program after the floor every round, so only a shuffle spreads that bias.
    let count = programs.len();
    let mut order: Vec<usize> = (0..count).collect();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..rounds {
        shuffle(&mut order, &mut seed);
        for &index in &order {
            let program = &mut programs[index];
            let sample = program.spawn_once();
            program.samples.push(sample);
        }
    }

    let floor_us = programs[FLOOR].median_us();
    let ours_us = programs[OURS].median_us();
    println!("\nspawn benchmark: {rounds} interleaved rounds, medians\n");
    println!("| program | µs per spawn (median) | × floor |");
    println!("|---|---|---|");
    for program in &programs {
        let us = program.median_us();
        println!("| {} | {us:.0} | {:.2} |", program.name, us / floor_us);
    }
    println!("\nours / floor = {:.2} (target ≤ 2)", ours_us / floor_us);
    let kernel_us = programs[SYSCALL_FLOOR].median_us() - floor_us;
    println!(
        "the ADD's syscalls cost {kernel_us:.0} µs; the plugin's code, start-up and faults {:.0} µs",
        ours_us - floor_us - kernel_us
    );
    if have_go {
        println!("go / ours    = {:.2} (target ≥ 6)", programs[go_index].median_us() / ours_us);
    }

    println!("\none ADD of ours:");
    println!("- syscalls (strace -f -c): {}", syscalls(&programs[OURS], &ours_conf));
    println!("- peak RSS, page faults (/usr/bin/time -f '%M %R'): {}", rss_and_faults(&programs[OURS], &ours_conf));
    // time(1) counts its own child's faults between fork and exec too: the floor shows that base.
    println!("  (the floor: {})", rss_and_faults(&programs[FLOOR], &ours_conf));
    let size = std::fs::metadata(&ours).map(|m| m.len()).unwrap_or(0);
    println!("- binary: {} bytes ({:.0} KiB), {}", size, size as f64 / 1024.0, linkage(&ours));
    if have_go {
        println!("\nthe Go plugin's ADD, for comparison:");
        println!("- syscalls (strace -f -c): {}", syscalls(&programs[go_index], &go_conf));
        println!("- peak RSS, page faults: {}", rss_and_faults(&programs[go_index], &go_conf));
    }
    let _ = std::fs::remove_dir_all(&work);
}

/// `benches/<name>.c`, built as a static program without a C library.
fn compile_c(work: &Path, name: &str) -> PathBuf {
    let binary = work.join(name);
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("{name}.c"));
    let status = Command::new("cc")
        .args(["-nostdlib", "-static", "-O2", "-fno-stack-protector", "-o"])
        .arg(&binary)
        .arg(&source)
        .status()
        .expect("run cc");
    assert!(status.success(), "building {} failed", source.display());
    binary
}

/// A copy of `binary` in the work dir, beside the floor: every program is then started from
/// the same directory by an equally short path (a longer path measurably slowed one column).
fn staged(work: &Path, name: &str, binary: &Path) -> PathBuf {
    let copy = work.join(name);
    std::fs::copy(binary, &copy).unwrap_or_else(|e| panic!("copy {}: {e}", binary.display()));
    copy
}

/// The release binary `cargo build --release` made (the bench profile's own build would not be
/// the shipped artifact: it unwinds instead of aborting).
fn release_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("x86_64-unknown-linux-musl/release/azure-ipoib-ipam-cni");
    if !path.exists() {
        eprintln!("spawn benchmark: {} is missing; run `cargo build --release` first", path.display());
        std::process::exit(1);
    }
    path
}

/// A pool like a real VM's: a dozen host records, then `IPoIB_Data`.
fn pool_with_15_records() -> Vec<u8> {
    let mut records: Vec<(String, String)> = [
        ("HostName", "ndv5-node-0"),
        ("HostingSystemEditionId", "8"),
        ("HostingSystemNestedLevel", "0"),
        ("HostingSystemOsMajor", "10"),
        ("HostingSystemOsMinor", "0"),
        ("HostingSystemProcessorArchitecture", "9"),
        ("HostingSystemProcessorIdleStateMax", "0"),
        ("HostingSystemProcessorThrottleMax", "100"),
        ("HostingSystemProcessorThrottleMin", "5"),
        ("HostingSystemSpMajor", "0"),
        ("HostingSystemSpMinor", "0"),
        ("PhysicalHostName", "phys-host-01"),
        ("PhysicalHostNameFullyQualified", "phys-host-01.cloudapp.net"),
        ("VirtualMachineId", "c6b7b2a4-8f0e-4d5c-9f0b-1f2e3d4c5b6a"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let pairs: String = (0..8).map(|i| format!("|00155D33FF{:02X}:172.16.1.{}", 0x0b + i, 2 + i)).collect();
    records.push(("IPoIB_Data".into(), format!("NUMPAIRS:8{pairs}")));
    let mut bytes = vec![0u8; records.len() * kvp_core::RECORD_LEN];
    kvp_core::encode_pool(&records, &mut bytes).expect("records");
    bytes
}

fn syscalls(program: &Program, conf: &Path) -> String {
    let out = Command::new("strace")
        .args(["-f", "-c", "-o", "/dev/stdout"])
        .arg(&program.path)
        .args(&program.args)
        .env_clear()
        .envs(program.env.iter().map(|(k, v)| (k, v)))
        .stdin(File::open(conf).expect("conf"))
        .stderr(Stdio::null())
        .output();
    let Ok(out) = out else { return "strace not available".into() };
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter(|l| l.trim_end().ends_with("total"))
        .filter_map(|l| l.split_whitespace().nth(3).map(str::to_string))
        .next()
        .unwrap_or_else(|| "strace gave no total".into())
}

fn rss_and_faults(program: &Program, conf: &Path) -> String {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M KiB, %R minor page faults"])
        .arg(&program.path)
        .args(&program.args)
        .env_clear()
        .envs(program.env.iter().map(|(k, v)| (k, v)))
        .stdin(File::open(conf).expect("conf"))
        .stdout(Stdio::null())
        .output();
    match out {
        Ok(out) => String::from_utf8_lossy(&out.stderr).trim().lines().last().unwrap_or("?").to_string(),
        Err(_) => "? (/usr/bin/time missing: apt-get install time)".into(),
    }
}

fn linkage(path: &Path) -> String {
    match Command::new("readelf").arg("-d").arg(path).output() {
        Ok(out) if String::from_utf8_lossy(&out.stdout).contains("NEEDED") => "dynamically linked".into(),
        Ok(_) => "statically linked (no NEEDED entries)".into(),
        Err(_) => "linkage unknown (readelf missing)".into(),
    }
}

/// Fisher-Yates with xorshift64: a fixed seed keeps runs comparable, and no crate is needed.
fn shuffle(order: &mut [usize], seed: &mut u64) {
    for i in (1..order.len()).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let j = usize::try_from(*seed % (i as u64 + 1)).unwrap_or(0);
        order.swap(i, j);
    }
}
