//! The plugin's image (deploy/Dockerfile), built with podman offline and run the way the
//! DaemonSet's init container runs it: the host's CNI bin dir bind-mounted at
//! /host/opt/cni/bin, uid 0 with no capabilities and a read-only root. The plugin must land there
//! byte-identical and 0755.
// Test code: indexing, unwrapping and panicking are how a test fails.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;

use ipoib_test_support::plugin::*;
use ipoib_test_support::podman::Podman;
use ipoib_test_support::root::needs_root;

#[test]
fn image_installs_the_plugin_like_the_daemonset_does() {
    if !needs_root("image_installs_the_plugin_like_the_daemonset_does") {
        return;
    }
    let Some(podman) = Podman::new("plugin-image") else { return };
    let image = podman.build_image("deploy/Dockerfile", &[(&plugin_path(), "azure-ipoib-ipam-cni")]);
    let binary = std::fs::read(plugin_path()).unwrap();
    // FROM scratch plus the binary: the junk in the context stayed out.
    let size = podman.image_size(&image);
    assert!(size < binary.len() as u64 + (64 << 10), "image is {size} bytes for a {} byte binary", binary.len());

    let host = TempDir::new("image-host-bin");
    let out = podman.run_with_host_dir(&image, &host.0, "/host/opt/cni/bin", &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.starts_with("installed /host/opt/cni/bin/azure-ipoib-ipam-cni"), "{stdout}");
    let installed = host.path("azure-ipoib-ipam-cni");
    assert_eq!(std::fs::read(&installed).unwrap(), binary, "byte-identical");
    assert_eq!(std::fs::metadata(&installed).unwrap().permissions().mode() & 0o7777, 0o755);
    let names: Vec<_> = std::fs::read_dir(&host.0).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["azure-ipoib-ipam-cni"], "no temp file left");

    // A pod restart runs the init container again: nothing to change.
    let out = podman.run_with_host_dir(&image, &host.0, "/host/opt/cni/bin", &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("is up to date"), "{out:?}");
}
