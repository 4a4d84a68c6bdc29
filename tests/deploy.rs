//! Every manifest under deploy/ validates offline (tests/deploy/validate_manifests.py): YAML
//! parses, core kinds pass `kubernetes-validate --strict` for Kubernetes 1.31, CRD kinds have
//! their fields, and every embedded CNI config passes this binary's `check-config`. The
//! validator is also shown to catch each kind of defect, on broken copies.
// Test code: indexing, unwrapping and panicking are how a test fails.
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use ipoib_test_support::plugin::*;

fn venv_python(test: &str) -> Option<PathBuf> {
    let venv = std::env::var_os("IPOIB_VENV").map_or_else(|| PathBuf::from("/opt/azure-ipoib-venv"), PathBuf::from);
    if venv.join("bin/kubernetes-validate").exists() {
        return Some(venv.join("bin/python3"));
    }
    if std::env::var_os("CI").is_some() {
        panic!("{test}: {} has no kubernetes-validate: run tests/setup.sh", venv.display());
    }
    eprintln!("{test}: SKIPPED (no kubernetes-validate venv; run tests/setup.sh)");
    None
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn validate(python: &Path, deploy: &Path) -> (bool, String) {
    let out = Command::new(python)
        .arg(repo().join("tests/deploy/validate_manifests.py"))
        .arg(plugin_path())
        .arg(deploy)
        .output()
        .expect("run the validator");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn deploy_manifests_validate() {
    let Some(python) = venv_python("deploy_manifests_validate") else { return };
    let (ok, out) = validate(&python, &repo().join("deploy"));
    assert!(ok, "{out}");
    assert!(out.contains("kubernetes-validate --strict -k 1.31.0"), "{out}");
    assert!(out.contains("check-config ok: hostdevicenetwork.yaml[0] spec.ipam"), "{out}");
    assert!(out.contains("check-config ok: multus/networkattachmentdefinition.yaml[0] spec.config"), "{out}");
    assert!(out.contains("webhook pod checked: webhook/daemonset.yaml[0]"), "{out}");
    assert!(out.contains("webhook pod checked: webhook/dranet-with-webhook.yaml[3]"), "{out}");
}

#[test]
fn the_validator_catches_broken_manifests() {
    let Some(python) = venv_python("the_validator_catches_broken_manifests") else { return };
    // The Go original's mount: the pool file itself, as a hostPath of type File.
    let webhook_file_mount = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: w}\nspec:\n  selector: {matchLabels: {a: w}}\n  template:\n    metadata: {labels: {a: w}}\n    spec:\n      containers:\n      - name: webhook\n        image: azure-ipoib-webhook:latest\n        args: [/webhook, --bind-address=unix:///var/run/dranet/webhook.sock]\n        volumeMounts:\n        - {name: kvp, mountPath: /var/lib/hyperv/.kvp_pool_0, readOnly: true}\n      volumes:\n      - {name: kvp, hostPath: {path: /var/lib/hyperv/.kvp_pool_0, type: File}}\n";
    let cases: [(&str, &str, &str); 7] = [
        ("webhook.yaml", webhook_file_mount, "mount the directory, not the pool file"),
        ("webhook-socket.yaml", webhook_file_mount, "no volume is mounted at /var/run/dranet"),
        ("ds.yaml", "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: x}\nspec: {selectr: {}}\n", "kubernetes-validate"),
        ("bad.yaml", "a: [\n", "does not parse"),
        (
            "hdn.yaml",
            "apiVersion: mellanox.com/v1alpha1\nkind: HostDeviceNetwork\nmetadata: {name: n}\nspec:\n  networkNamespace: default\n  resourceName: mlnxnics\n  ipam: '{\"type\": \"azure-ipoib-ipam-cni\", \"prefixLength\": 0}'\n",
            "fails check-config",
        ),
        (
            "nad.yaml",
            "apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nmetadata: {name: n}\nspec: {}\n",
            "spec.config must be a non-empty string",
        ),
        ("odd.yaml", "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n", "no schema and no check here"),
    ];
    for (name, yaml, expected) in cases {
        let dir = TempDir::new("deploy-broken");
        std::fs::write(dir.path(name), yaml).unwrap();
        let (ok, out) = validate(&python, &dir.0);
        assert!(!ok && out.contains(expected), "{name}: expected {expected:?} in:\n{out}");
    }
}
