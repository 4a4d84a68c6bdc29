//! The plugin's image (deploy/Dockerfile), built with podman offline as one image index for
//! linux/amd64 and linux/arm64, each holding its own architecture's binary, then the amd64 image
//! run the way the DaemonSet's init container runs it: the host's CNI bin dir bind-mounted at
//! /host/opt/cni/bin, uid 0 with no capabilities and a read-only root. The plugin must land there
//! byte-identical and 0755.
// Test code: indexing, unwrapping and panicking are how a test fails.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;

use ipoib_test_support::plugin::*;
use ipoib_test_support::podman::{elf_machine, release_binary, Podman, AMD64, ARM64};
use ipoib_test_support::root::{can_run, needs_root};

const TEST: &str = "image_installs_the_plugin_like_the_daemonset_does";

#[test]
fn image_installs_the_plugin_like_the_daemonset_does() {
    if !needs_root(TEST) {
        return;
    }
    let arm64 = release_binary(ARM64, "azure-ipoib-ipam-cni");
    let Some(podman) = Podman::new("plugin-image") else { return };
    if !can_run(TEST, arm64.as_ref().map(drop).map_err(Clone::clone)) {
        return;
    }
    let arm64 = arm64.unwrap();
    let image = podman.build_index(
        "deploy/Dockerfile",
        &[(AMD64, &plugin_path(), "azure-ipoib-ipam-cni"), (ARM64, &arm64, "azure-ipoib-ipam-cni")],
    );

    // Each platform's entry holds its own architecture's binary, as built.
    let mut entries = podman.index_files(&image, "azure-ipoib-ipam-cni");
    entries.sort_by(|a, b| a.arch.cmp(&b.arch));
    let platforms: Vec<_> = entries.iter().map(|e| (e.os.as_str(), e.arch.as_str())).collect();
    assert_eq!(platforms, [("linux", "amd64"), ("linux", "arm64")]);
    for (entry, platform, built) in [(&entries[0], AMD64, plugin_path()), (&entries[1], ARM64, arm64)] {
        let file = entry.file.as_ref().unwrap_or_else(|| panic!("no plugin in the {} image", entry.arch));
        assert_eq!(elf_machine(file), Some(platform.elf_machine), "the {} image's binary", entry.arch);
        assert!(
            *file == std::fs::read(&built).unwrap(),
            "the {} image's binary is not {}",
            entry.arch,
            built.display()
        );
    }

    // FROM scratch plus the binary: the junk in the context stayed out. (The index's name
    // resolves to the image for this machine's platform, amd64.)
    let binary = std::fs::read(plugin_path()).unwrap();
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
