//! Replays the committed cni-frontend fuzz seeds and regression inputs through the fuzz targets'
//! own checks (`fuzz/frontend_checks.rs`), so stable `cargo test` guards what the fuzzers found
//! without running libFuzzer. kvp-core's targets are replayed by `kvp-core/tests/fuzz_corpus.rs`.

#[path = "../fuzz/frontend_checks.rs"]
mod frontend_checks;

use std::path::{Path, PathBuf};

/// A fuzz target's check: panics if the input breaks a property.
type Check = fn(&[u8]);

/// Each frontend fuzz target and the check it runs.
const TARGETS: [(&str, Check); 2] =
    [("netconf", frontend_checks::netconf), ("netlink_reply", frontend_checks::netlink_reply)];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The input files directly in `dir` (none if it does not exist), sorted for stable output.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap_or_else(|e| panic!("{}: {e}", dir.display())).path())
        .filter(|p| p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    files.sort();
    files
}

fn replay(check: Check, files: &[PathBuf]) {
    for file in files {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        // Name the input if its check fails.
        if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
            eprintln!("fuzz check failed on {}", file.display());
            std::panic::resume_unwind(panic);
        }
    }
}

#[test]
fn every_seed_corpus_passes_its_check() {
    for (target, check) in TARGETS {
        let files = inputs(&fuzz_dir().join("corpus").join(target));
        assert!(!files.is_empty(), "fuzz/corpus/{target} has no seeds");
        replay(check, &files);
    }
}

#[test]
fn every_regression_input_passes_its_check() {
    for (target, check) in TARGETS {
        replay(check, &inputs(&fuzz_dir().join("regressions").join(target)));
    }
}

#[test]
fn checks_reject_nothing_trivial() {
    // The edge inputs every target sees first.
    for (_, check) in TARGETS {
        check(b"");
        check(&[0]);
        check(&[0xff; 64]);
        check(b"{}");
        check(b"\"\"");
    }
}

#[test]
fn the_seeds_reach_the_interesting_paths() {
    use cni_frontend::cni::netconf::decode;
    use cni_frontend::netlink::{parse_getlink_reply, NetlinkError};

    // Seeds that stop being what they are named after stop guiding the fuzzer there.
    let seed = |target: &str, name: &str| {
        let path = fuzz_dir().join("corpus").join(target).join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    for name in ["host_device_0.3.1", "minimal_ipam", "routes", "prev_result", "escaped_kvp_path", "gc_attachments"] {
        let data = seed("netconf", name);
        assert!(decode(&data).is_ok(), "{name}: {:?}", decode(&data).err());
    }
    assert_eq!(decode(&seed("netconf", "routes")).unwrap().ipam.routes.len(), 2);
    assert_eq!(decode(&seed("netconf", "escaped_kvp_path")).unwrap().ipam.kvp_path, "/var/lib/hyperv/.kvp_pool_0");
    for (name, code) in [("bad_prefix_type", 7), ("unknown_version", 1), ("bad_route", 7), ("duplicate_key", 7)] {
        assert_eq!(decode(&seed("netconf", name)).unwrap_err().code.number(), code, "{name}");
    }
    assert_eq!(decode(&seed("netconf", "truncated")).unwrap_err().code.number(), 6);

    let reply = |name: &str| {
        let data = seed("netlink_reply", name);
        let (seq, buf) = data.split_first_chunk::<4>().expect("a seq and a reply");
        (u32::from_ne_bytes(*seq), buf.to_vec())
    };
    let (seq, buf) = reply("veth_ether");
    assert_eq!(parse_getlink_reply(&buf, seq).unwrap().address, [0x00, 0x15, 0x5d, 0x33, 0xff, 0x0b]);
    let (seq, buf) = reply("ipoib_hand_built");
    let link = parse_getlink_reply(&buf, seq).unwrap();
    assert_eq!((link.link_type, link.address.len()), (32, 20));
    let (seq, buf) = reply("multipart_ack_other_seq");
    assert_eq!(parse_getlink_reply(&buf, seq).unwrap().link_type, 32);
    let (seq, buf) = reply("nested_flag_address");
    assert_eq!(parse_getlink_reply(&buf, seq).unwrap().address.len(), 6);
    let (seq, buf) = reply("loopback");
    assert_eq!(parse_getlink_reply(&buf, seq).unwrap().link_type, 772);
    let (seq, buf) = reply("tun_no_address");
    assert_eq!(parse_getlink_reply(&buf, seq), Err(NetlinkError::NoAddress));
    let (seq, buf) = reply("enodev_error");
    assert_eq!(parse_getlink_reply(&buf, seq), Err(NetlinkError::Kernel { errno: 19 }));
    let (seq, buf) = reply("done");
    assert_eq!(parse_getlink_reply(&buf, seq), Err(NetlinkError::NoLink));
}
