//! The webhook's image (deploy/webhook/Dockerfile), built with podman offline as one image index
//! for linux/amd64 and linux/arm64, each holding its own architecture's binary, then the amd64
//! image run the way the DRANet sidecar runs it: a non-root user, a read-only root, the socket
//! directory shared (an emptyDir there, a host directory here) and /var/lib/hyperv mounted
//! read-only. It must answer over the socket and remove it when stopped.

// Test code: indexing, unwrapping and panicking are how a test fails (the workspace lints deny
// them in library code only).
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
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
