//! Every manifest under deploy/ validates offline (tests/deploy/validate_manifests.py): YAML
//! parses, core kinds pass `kubernetes-validate --strict` for Kubernetes 1.31, CRD kinds have
//! their fields, every embedded CNI config passes this binary's `check-config`, and every pod
//! follows the least-privilege rules. The validator is also shown to catch each kind of defect,
//! on broken copies. (The Helm charts are rendered and validated by tests/deploy/test_charts.py.)
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
    for pod in
        ["daemonset.yaml[0]", "example-deployment.yaml[0]", "webhook/daemonset.yaml[0]", "webhook/dranet.yaml[3]"]
    {
        assert!(out.contains(&format!("least privilege checked: {pod}")), "{pod}: {out}");
    }
    // DRANet alone is privileged, and says why.
    assert_eq!(out.matches("privileged by design: ").count(), 1, "{out}");
    assert!(out.contains("privileged by design: webhook/dranet.yaml[3] container dranet"), "{out}");
}

/// A DaemonSet that keeps every least-privilege rule; each case of
/// `the_validator_enforces_least_privilege` breaks one.
const LOCKED_POD: &str = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: p}\nspec:\n  selector: {matchLabels: {a: p}}\n  template:\n    metadata: {labels: {a: p}}\n    spec:\n      automountServiceAccountToken: false\n      securityContext: {seccompProfile: {type: RuntimeDefault}}\n      containers:\n      - name: c\n        image: registry.k8s.io/pause:3.10\n        securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}\n";

/// The webhook in its own pod as deploy/webhook/daemonset.yaml runs it: non-root, its socket in
/// a host directory that the init container prepares.
const WEBHOOK_POD: &str = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: w}\nspec:\n  selector: {matchLabels: {a: w}}\n  template:\n    metadata: {labels: {a: w}}\n    spec:\n      automountServiceAccountToken: false\n      securityContext: {seccompProfile: {type: RuntimeDefault}}\n      initContainers:\n      - name: prepare\n        image: azure-ipoib-webhook:0.1.0\n        args: [/webhook, --prepare-socket-dir, --bind-address=unix:///var/run/dranet/webhook.sock]\n        securityContext: {runAsUser: 0, runAsGroup: 65532, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}\n        volumeMounts: [{name: sock, mountPath: /var/run/dranet}]\n      containers:\n      - name: webhook\n        image: azure-ipoib-webhook:0.1.0\n        args: [/webhook, --bind-address=unix:///var/run/dranet/webhook.sock]\n        securityContext: {runAsUser: 65532, runAsGroup: 65532, runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}\n        volumeMounts: [{name: sock, mountPath: /var/run/dranet}, {name: kvp, mountPath: /var/lib/hyperv, readOnly: true}]\n      volumes:\n      - {name: sock, hostPath: {path: /var/run/dranet, type: DirectoryOrCreate}}\n      - {name: kvp, hostPath: {path: /var/lib/hyperv, type: Directory}}\n";

#[test]
fn the_validator_enforces_least_privilege() {
    let Some(python) = venv_python("the_validator_enforces_least_privilege") else { return };
    for (name, good) in [("locked.yaml", LOCKED_POD), ("webhook.yaml", WEBHOOK_POD)] {
        let dir = TempDir::new("deploy-locked");
        std::fs::write(dir.path(name), good).unwrap();
        let (ok, out) = validate(&python, &dir.0);
        assert!(ok, "{name} keeps every rule, yet:\n{out}");
    }
    let sc = "{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}";
    let broken = |from: &str, to: &str| LOCKED_POD.replacen(from, to, 1);
    let webhook = |from: &str, to: &str| WEBHOOK_POD.replacen(from, to, 1);
    let cases: Vec<(String, &str)> = vec![
        (broken("drop: [ALL]", "drop: [NET_RAW]"), "capabilities.drop must be [\"ALL\"]"),
        (broken("drop: [ALL]}", "drop: [ALL], add: [NET_ADMIN]}"), "no capability is needed"),
        (broken("allowPrivilegeEscalation: false, ", ""), "allowPrivilegeEscalation must be false"),
        (broken("readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false"), "readOnlyRootFilesystem must be true"),
        (broken("{allowPrivilegeEscalation", "{privileged: true, allowPrivilegeEscalation"), "privileged must not be true"),
        (broken("RuntimeDefault", "Unconfined"), "seccompProfile must be RuntimeDefault"),
        (broken(sc, &sc.replace('}', ", seccompProfile: {type: Unconfined}}")), "seccompProfile must be RuntimeDefault"),
        (broken("pause:3.10", "pause:latest"), "floats (latest tag)"),
        (broken("pause:3.10", "pause:stable"), "floats (stable tag)"),
        (broken("pause:3.10", "pause"), "has no tag"),
        (broken("      automountServiceAccountToken: false\n", ""), "automountServiceAccountToken: false"),
        (broken("automountServiceAccountToken: false", "hostPID: true\n      automountServiceAccountToken: false"), "hostPID: true is only for"),
        (broken("containers:", "nodeSelector: {kubernetes.io/arch: amd64}\n      containers:"), "pins pods to one architecture"),
        (
            broken("containers:", "affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/arch, operator: In, values: [amd64]}]}]}}}\n      containers:"),
            "keeps pods off arm64",
        ),
        (webhook("runAsUser: 65532, runAsGroup: 65532, runAsNonRoot: true, ", ""), "the webhook runs as non-root"),
        (webhook("runAsNonRoot: true", "runAsNonRoot: false"), "the webhook runs as non-root"),
        (webhook("runAsGroup: 65532, allow", "runAsGroup: 0, allow"), "--prepare-socket-dir --bind-address=unix:///var/run/dranet/webhook.sock as the server's runAsGroup"),
        (webhook("--prepare-socket-dir, ", ""), "--prepare-socket-dir"),
        // The old dranet-with-webhook.yaml: the webhook as a sidecar in DRANet's privileged pod.
        (
            webhook("      containers:\n", "      containers:\n      - name: dranet\n        image: gcr.io/k8s-staging-networking/dranet:v1.3.0-29-g1b7c7e5\n        securityContext: {privileged: true}\n"),
            "give the webhook its own pod",
        ),
    ];
    for (i, (yaml, expected)) in cases.iter().enumerate() {
        let dir = TempDir::new("deploy-unlocked");
        std::fs::write(dir.path("pod.yaml"), yaml).unwrap();
        let (ok, out) = validate(&python, &dir.0);
        assert!(!ok && out.contains(expected), "case {i}: expected {expected:?} in:\n{out}\nfor:\n{yaml}");
    }
}

#[test]
fn the_validator_wants_the_kustomization_to_pin_every_image() {
    let Some(python) = venv_python("the_validator_wants_the_kustomization_to_pin_every_image") else { return };
    let kustomization = |images: &str| {
        format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [pod.yaml]\n{images}")
    };
    for (images, expected) in [
        ("", "uses registry.k8s.io/pause, which has no entry here to pin it"),
        (
            "images: [{name: registry.k8s.io/pause, newTag: latest}]",
            "must have a newTag that is a version, or a digest",
        ),
        (
            "images: [{name: registry.k8s.io/pause, newName: my.registry/pause}]",
            "must have a newTag that is a version, or a digest",
        ),
    ] {
        let dir = TempDir::new("deploy-kustomize");
        std::fs::write(dir.path("pod.yaml"), LOCKED_POD).unwrap();
        std::fs::write(dir.path("kustomization.yaml"), kustomization(images)).unwrap();
        let (ok, out) = validate(&python, &dir.0);
        assert!(!ok && out.contains(expected), "{images:?}: expected {expected:?} in:\n{out}");
    }
    let dir = TempDir::new("deploy-kustomize");
    std::fs::write(dir.path("pod.yaml"), LOCKED_POD).unwrap();
    std::fs::write(
        dir.path("kustomization.yaml"),
        kustomization("images: [{name: registry.k8s.io/pause, newTag: \"3.10\"}]"),
    )
    .unwrap();
    let (ok, out) = validate(&python, &dir.0);
    assert!(ok, "{out}");
}

#[test]
fn the_validator_catches_broken_manifests() {
    let Some(python) = venv_python("the_validator_catches_broken_manifests") else { return };
    // The Go original's mount: the pool file itself, as a hostPath of type File.
    let webhook_file_mount = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: w}\nspec:\n  selector: {matchLabels: {a: w}}\n  template:\n    metadata: {labels: {a: w}}\n    spec:\n      containers:\n      - name: webhook\n        image: azure-ipoib-webhook:0.1.0\n        args: [/webhook, --bind-address=unix:///var/run/dranet/webhook.sock]\n        volumeMounts:\n        - {name: kvp, mountPath: /var/lib/hyperv/.kvp_pool_0, readOnly: true}\n      volumes:\n      - {name: kvp, hostPath: {path: /var/lib/hyperv/.kvp_pool_0, type: File}}\n";
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
