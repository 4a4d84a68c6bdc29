//! The webhook's image (deploy/webhook/Dockerfile), built with podman offline as one image index
//! for linux/amd64 and linux/arm64, each holding its own architecture's binary, then the amd64
//! image run the way its manifests run it: a non-root user, a read-only root, the socket
//! directory shared and /var/lib/hyperv mounted read-only. It must answer over the socket and
//! remove it when stopped. In its own pod (deploy/webhook/daemonset.yaml), the socket directory is
//! a root-owned host directory, which the init container `--prepare-socket-dir` gives to the
//! webhook's group, with no capabilities at all.

// Test code: indexing, unwrapping and panicking are how a test fails (the workspace lints deny
// them in library code only).
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ipoib_test_support::podman::{elf_machine, release_binary, Podman, AMD64, ARM64, ULIMITS};
use ipoib_test_support::root::{can_run, needs_root};
use ipoib_test_support::webhook::*;

#[test]
fn webhook_image_serves_as_the_dranet_sidecar_does() {
    const TEST: &str = "webhook_image_serves_as_the_dranet_sidecar_does";
    if !needs_root(TEST) {
        return;
    }
    let arm64 = release_binary(ARM64, "azure-ipoib-webhook");
    let Some(podman) = Podman::new("webhook-image") else { return };
    if !can_run(TEST, arm64.as_ref().map(drop).map_err(Clone::clone)) {
        return;
    }
    let arm64 = arm64.unwrap();
    let image = podman.build_index(
        "deploy/webhook/Dockerfile",
        &[(AMD64, &webhook_path(), "azure-ipoib-webhook"), (ARM64, &arm64, "azure-ipoib-webhook")],
    );
    // The binary sits at /webhook in each platform's image, its own architecture's build.
    let mut entries = podman.index_files(&image, "webhook");
    entries.sort_by(|a, b| a.arch.cmp(&b.arch));
    let platforms: Vec<_> = entries.iter().map(|e| (e.os.as_str(), e.arch.as_str())).collect();
    assert_eq!(platforms, [("linux", "amd64"), ("linux", "arm64")]);
    for (entry, platform, built) in [(&entries[0], AMD64, webhook_path()), (&entries[1], ARM64, arm64)] {
        let file = entry.file.as_ref().unwrap_or_else(|| panic!("no /webhook in the {} image", entry.arch));
        assert_eq!(elf_machine(file), Some(platform.elf_machine), "the {} image's binary", entry.arch);
        assert!(
            *file == std::fs::read(&built).unwrap(),
            "the {} image's binary is not {}",
            entry.arch,
            built.display()
        );
    }

    // The index's name resolves to the image for this machine's platform, amd64.
    let binary_len = std::fs::metadata(webhook_path()).unwrap().len();
    let size = podman.image_size(&image);
    assert!(size < binary_len + (64 << 10), "image is {size} bytes for a {binary_len} byte binary");

    let dir = TempDir::new("webhook-image");
    let sockets = dir.path("dranet");
    let hyperv = dir.path("hyperv");
    std::fs::create_dir_all(&sockets).unwrap();
    std::fs::create_dir_all(&hyperv).unwrap();
    // An emptyDir is world-writable; hv_kvp_daemon makes its pools 0604.
    std::fs::set_permissions(&sockets, std::fs::Permissions::from_mode(0o777)).unwrap();
    let pool = hyperv.join(".kvp_pool_0");
    sample_pool(&pool, "172.16.1.2");
    std::fs::set_permissions(&pool, std::fs::Permissions::from_mode(0o604)).unwrap();

    let name = format!("ipoib-webhook-{}", std::process::id());
    let socket_volume = format!("{}:/var/run/dranet", sockets.display());
    let pool_volume = format!("{}:/var/lib/hyperv:ro", hyperv.display());
    let mut args = vec!["run", "-d", "--name", &name, "--network", "none", "--user", "65532:65532", "--read-only"];
    args.extend(ULIMITS);
    args.extend(["-v", &socket_volume, "-v", &pool_volume, &image]);
    // The sidecar's args, with /webhook first as in the Go original's manifests.
    args.extend([
        "/webhook",
        "--bind-address=unix:///var/run/dranet/webhook.sock",
        "--kvp-path=/var/lib/hyperv/.kvp_pool_0",
    ]);
    podman.checked(&args);

    let socket = sockets.join("webhook.sock");
    let started = Instant::now();
    while !socket.exists() && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let logs =
        || String::from_utf8_lossy(&podman.command().args(["logs", &name]).output().unwrap().stderr).into_owned();
    assert!(socket.exists(), "no socket after 20 s: {}", logs());
    assert_eq!(std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777, 0o660);
    let reply = curl_unix(&socket, "POST", "/GetProfileConfig", Some(&profile_request(NIC_IB, "")));
    assert_eq!((reply.status, reply.body.as_str()), (200, r#"{"interface":{"addresses":["172.16.1.2/16"]}}"#));
    assert_eq!(curl_unix(&socket, "GET", "/health", None).status, 200);

    podman.checked(&["stop", "-t", "10", &name]);
    assert!(!socket.exists(), "the socket outlived the container");
    let log = logs();
    assert!(log.contains("SIGTERM: stopped accepting") && log.contains("status=200"), "{log}");
    podman.checked(&["rm", &name]);
}

/// The securityContext every container of deploy/webhook/daemonset.yaml has, as podman flags:
/// no capabilities, no privilege escalation, a read-only root (podman's default seccomp profile
/// is on, as RuntimeDefault is).
const LOCKED: [&str; 4] = ["--cap-drop=all", "--security-opt", "no-new-privileges", "--read-only"];

#[test]
fn webhook_image_runs_non_root_in_its_own_pod() {
    const TEST: &str = "webhook_image_runs_non_root_in_its_own_pod";
    if !needs_root(TEST) {
        return;
    }
    let Some(podman) = Podman::new("webhook-own-pod") else { return };
    let image = podman.build_image("deploy/webhook/Dockerfile", &[(webhook_path().as_path(), "azure-ipoib-webhook")]);
    let dir = TempDir::new("webhook-own-pod");
    // As kubelet creates a DirectoryOrCreate hostPath: root-owned, 0755.
    let sockets = dir.path("dranet");
    std::fs::create_dir_all(&sockets).unwrap();
    std::fs::set_permissions(&sockets, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::chown(&sockets, Some(0), Some(0)).unwrap();
    let hyperv = dir.path("hyperv");
    std::fs::create_dir_all(&hyperv).unwrap();
    let pool = hyperv.join(".kvp_pool_0");
    sample_pool(&pool, "172.16.1.2");
    std::fs::set_permissions(&pool, std::fs::Permissions::from_mode(0o604)).unwrap();

    let socket_volume = format!("{}:/var/run/dranet", sockets.display());
    let pool_volume = format!("{}:/var/lib/hyperv:ro", hyperv.display());
    let bind = "--bind-address=unix:///var/run/dranet/webhook.sock";
    let run = |name: &str, user: &str, detach: bool, args: &[&str]| {
        let mut all = vec!["run", "--name", name, "--network", "none", "--user", user];
        all.push(if detach { "-d" } else { "--rm" });
        all.extend(LOCKED);
        all.extend(ULIMITS);
        all.extend(["-v", &socket_volume, "-v", &pool_volume, &image, "/webhook"]);
        all.extend(args);
        podman.command().args(&all).output().unwrap()
    };
    let serve = ["--kvp-path=/var/lib/hyperv/.kvp_pool_0", bind];
    let name = format!("ipoib-webhook-own-{}", std::process::id());

    // Without the init container, the non-root webhook cannot create its socket.
    let denied = run(&format!("{name}-denied"), "65532:65532", false, &serve);
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert!(!denied.status.success() && stderr.contains("Permission denied"), "{denied:?}");

    // The init container: uid 0, the webhook's gid, no capabilities.
    let prepared = run(&format!("{name}-prepare"), "0:65532", false, &["--prepare-socket-dir", bind]);
    assert!(prepared.status.success(), "{prepared:?}");
    let meta = std::fs::metadata(&sockets).unwrap();
    assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o7777), (0, 65532, 0o770));

    let started = run(&name, "65532:65532", true, &serve);
    assert!(started.status.success(), "{started:?}");
    let socket = sockets.join("webhook.sock");
    let waited = Instant::now();
    while !socket.exists() && waited.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let logs =
        || String::from_utf8_lossy(&podman.command().args(["logs", &name]).output().unwrap().stderr).into_owned();
    assert!(socket.exists(), "no socket after 20 s: {}", logs());
    let meta = std::fs::metadata(&socket).unwrap();
    assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o777), (65532, 65532, 0o660));
    // DRANet (root, privileged) dials it.
    let reply = curl_unix(&socket, "POST", "/GetProfileConfig", Some(&profile_request(NIC_IB, "")));
    assert_eq!((reply.status, reply.body.as_str()), (200, r#"{"interface":{"addresses":["172.16.1.2/16"]}}"#));
    // Any other user of the node cannot even reach the socket; one given the group can.
    assert!(!curl_as(&socket, "1000", "1000").success(), "a stranger reached the socket");
    assert!(curl_as(&socket, "1000", "65532").success(), "a member of the webhook's group could not connect");

    podman.checked(&["stop", "-t", "10", &name]);
    assert!(!socket.exists(), "the socket outlived the container");
    podman.checked(&["rm", &name]);
}

/// `curl /health` over the socket as `uid` with the one group `gid` and no capabilities.
fn curl_as(socket: &Path, uid: &str, gid: &str) -> std::process::ExitStatus {
    Command::new("setpriv")
        .args(["--reuid", uid, "--regid", gid, "--clear-groups", "--bounding-set=-all", "--no-new-privs"])
        .args(["curl", "-sf", "-o", "/dev/null", "--max-time", "5", "--unix-socket"])
        .arg(socket)
        .arg("http://localhost/health")
        .status()
        .unwrap()
}
