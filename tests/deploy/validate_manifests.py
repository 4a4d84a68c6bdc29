#!/usr/bin/env python3
"""Validates every YAML file under deploy/ (recursively), offline.

Usage: validate_manifests.py PLUGIN_BINARY [DEPLOY_DIR]

- every YAML document parses and is a Kubernetes-style object;
- core kinds validate against the Kubernetes 1.31 schemas with `kubernetes-validate --strict`
  (its schemas ship in the PyPI package, so no network is used);
- kinds the schemas do not know (CRDs, Kustomization) are checked here, field by field;
- every embedded CNI config passes the plugin's own `check-config`, exactly as ADD decodes it;
- every Multus network a pod asks for is defined by a manifest here;
- every pod running the webhook reads the pool through the directory /var/lib/hyperv (a
  read-only hostPath of type Directory, never the pool file) and binds its unix socket inside a
  mounted volume.

Prints one line per problem and exits 1 if there is any.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

KUBERNETES_VERSION = "1.31.0"
PLUGIN = "azure-ipoib-ipam-cni"
WEBHOOK_IMAGE = "azure-ipoib-webhook"
NETWORKS_ANNOTATION = "k8s.v1.cni.cncf.io/networks"
RESOURCE_ANNOTATION = "k8s.v1.cni.cncf.io/resourceName"

# Kinds with a schema in kubernetes-validate (everything in the core API groups).
CORE_GROUPS = {"v1", "apps/v1", "batch/v1", "rbac.authorization.k8s.io/v1", "policy/v1",
               "admissionregistration.k8s.io/v1", "networking.k8s.io/v1", "scheduling.k8s.io/v1",
               "storage.k8s.io/v1", "autoscaling/v2", "coordination.k8s.io/v1"}

problems = []


def problem(where, msg):
    problems.append(f"{where}: {msg}")


def validator():
    """The kubernetes-validate command: the project's venv first, then PATH."""
    venv = os.environ.get("IPOIB_VENV", "/opt/azure-ipoib-venv")
    candidate = os.path.join(venv, "bin", "kubernetes-validate")
    if os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which("kubernetes-validate")
    if not found:
        sys.exit("kubernetes-validate is not installed: run tests/setup.sh (it makes the venv "
                 f"{venv})")
    return found


def check_config(where, config_text):
    """Runs the plugin's check-config on a CNI config given as text."""
    result = subprocess.run([plugin, "check-config", "-"], input=config_text.encode(),
                            capture_output=True, env={"PATH": os.environ.get("PATH", "")})
    if result.returncode != 0:
        problem(where, "embedded CNI config fails check-config:\n    "
                + result.stderr.decode(errors="replace").strip().replace("\n", "\n    "))
    else:
        checked.append(where)


def string_field(where, obj, path):
    value = obj
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if not isinstance(value, str) or not value:
        problem(where, f"{'.'.join(path)} must be a non-empty string")
        return None
    return value


def check_host_device_network(where, doc):
    """network-operator's HostDeviceNetwork (mellanox.com/v1alpha1)."""
    string_field(where, doc, ["spec", "networkNamespace"])
    string_field(where, doc, ["spec", "resourceName"])
    ipam = string_field(where, doc, ["spec", "ipam"])
    name = doc.get("metadata", {}).get("name", "")
    if ipam is None:
        return
    try:
        ipam_obj = json.loads(ipam)
    except json.JSONDecodeError as e:
        problem(where, f"spec.ipam is not JSON: {e}")
        return
    # network-operator renders it as host-device's netconf with this ipam section.
    rendered = {"cniVersion": "1.0.0", "name": name, "type": "host-device", "ipam": ipam_obj}
    check_config(f"{where} spec.ipam", json.dumps(rendered))
    namespace = doc["spec"].get("networkNamespace") or "default"
    networks.add((namespace, name))


def check_network_attachment_definition(where, doc):
    """Multus's NetworkAttachmentDefinition (k8s.cni.cncf.io/v1)."""
    config = string_field(where, doc, ["spec", "config"])
    annotations = doc.get("metadata", {}).get("annotations") or {}
    if not isinstance(annotations.get(RESOURCE_ANNOTATION), str):
        problem(where, f"metadata.annotations[{RESOURCE_ANNOTATION}] must name the device "
                "plugin's resource (nvidia.com/mlnxnics)")
    if config is not None:
        check_config(f"{where} spec.config", config)
    networks.add((doc.get("metadata", {}).get("namespace") or "default",
                  doc.get("metadata", {}).get("name")))


def check_kustomization(where, doc, directory):
    for resource in doc.get("resources") or []:
        if not os.path.exists(os.path.join(directory, resource)):
            problem(where, f"resources: {resource} does not exist")
    if doc.get("resources") is None:
        problem(where, "resources is missing")


CRD_CHECKS = {
    ("mellanox.com/v1alpha1", "HostDeviceNetwork"): check_host_device_network,
    ("k8s.cni.cncf.io/v1", "NetworkAttachmentDefinition"): check_network_attachment_definition,
}


def pods_networks(where, doc):
    """The Multus networks a workload's pods ask for."""
    template = doc.get("spec", {}).get("template", {})
    annotations = template.get("metadata", {}).get("annotations") or {}
    value = annotations.get(NETWORKS_ANNOTATION)
    if not value:
        return
    namespace = doc.get("metadata", {}).get("namespace") or "default"
    for name in value.split(","):
        name = name.strip().split("@")[0]
        ns, _, net = name.rpartition("/")
        wanted.append((where, ns or namespace, net))


def check_plugin_daemonset(where, doc):
    """The plugin's DaemonSet does what the README says: InfiniBand nodes only, GPU taints
    tolerated, the image's installer writing into the host's /opt/cni/bin, then pause."""
    spec = doc.get("spec", {}).get("template", {}).get("spec", {})
    if spec.get("nodeSelector", {}).get("feature.node.kubernetes.io/pci-15b3.present") != "true":
        problem(where, "nodeSelector must select feature.node.kubernetes.io/pci-15b3.present: \"true\"")
    keys = {t.get("key") for t in spec.get("tolerations") or []}
    if not {"nvidia.com/gpu", "sku"} <= keys and not any(
            t.get("operator") == "Exists" and "key" not in t for t in spec.get("tolerations") or []):
        problem(where, "tolerations must cover the GPU taints nvidia.com/gpu and sku=gpu")
    host = {v["name"]: v.get("hostPath", {}).get("path") for v in spec.get("volumes") or []}
    inits = spec.get("initContainers") or []
    if not any(m.get("mountPath") == "/host/opt/cni/bin" and host.get(m.get("name")) == "/opt/cni/bin"
               for c in inits for m in c.get("volumeMounts") or []):
        problem(where, "an init container must mount hostPath /opt/cni/bin at /host/opt/cni/bin")
    if [c.get("image") for c in spec.get("containers") or []] != ["registry.k8s.io/pause:3.10"]:
        problem(where, "the main container must be registry.k8s.io/pause:3.10 alone")


def check_webhook_pods(where, doc):
    """Every pod running the webhook reads the pool through the directory /var/lib/hyperv,
    mounted read-only from a hostPath of type Directory, never through the file itself (kubelet
    would create a missing file path as a directory and hv_kvp_daemon could never write its
    pool), and binds its unix socket inside a mounted volume another container can reach."""
    spec = (((doc.get("spec") or {}).get("template") or {}).get("spec")) or {}
    if not any(WEBHOOK_IMAGE in str(c.get("image", "")) for c in spec.get("containers") or []):
        return
    webhook_pods.append(where)
    volumes = {v.get("name"): v for v in spec.get("volumes") or []}
    for c in spec.get("containers") or []:
        if WEBHOOK_IMAGE not in str(c.get("image", "")):
            continue
        cwhere = f"{where} container {c.get('name')}"
        mounts = c.get("volumeMounts") or []
        kvp = [m for m in mounts if m.get("mountPath") == "/var/lib/hyperv"]
        if len(kvp) != 1 or not kvp[0].get("readOnly"):
            problem(cwhere, "must mount /var/lib/hyperv read-only")
        else:
            host = (volumes.get(kvp[0].get("name")) or {}).get("hostPath") or {}
            if host.get("path") != "/var/lib/hyperv" or host.get("type") != "Directory":
                problem(cwhere, "/var/lib/hyperv must be hostPath /var/lib/hyperv, type Directory")
        for m in mounts:
            if m.get("mountPath", "").startswith("/var/lib/hyperv/"):
                problem(cwhere, f"mounts {m['mountPath']}: mount the directory, not the pool file")
        args = c.get("args") or []
        binds = [a.split("=", 1)[1] for a in args if str(a).startswith("--bind-address=")]
        for bind in binds:
            if bind.startswith("unix://"):
                sock_dir = os.path.dirname(bind[len("unix://"):])
                if not any(m.get("mountPath") == sock_dir for m in mounts):
                    problem(cwhere, f"binds {bind}, but no volume is mounted at {sock_dir}")


def main():
    global plugin
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    plugin = os.path.abspath(sys.argv[1])
    root = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "..", "deploy")
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs
                   if f.endswith((".yaml", ".yml")))
    if not files:
        sys.exit(f"no YAML under {root}")
    core_files = []
    for path in files:
        rel = os.path.relpath(path, root)
        try:
            with open(path) as f:
                docs = [d for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as e:
            problem(rel, f"does not parse: {e}")
            continue
        if not docs:
            problem(rel, "holds no document")
        for i, doc in enumerate(docs):
            where = f"{rel}[{i}]"
            if not isinstance(doc, dict) or "apiVersion" not in doc or "kind" not in doc:
                problem(where, "is not an object with apiVersion and kind")
                continue
            key = (doc["apiVersion"], doc["kind"])
            if doc["kind"] == "Kustomization":
                check_kustomization(where, doc, os.path.dirname(path))
                continue
            if not string_field(where, doc, ["metadata", "name"]):
                continue
            if doc["apiVersion"] in CORE_GROUPS:
                if path not in core_files:
                    core_files.append(path)
                pods_networks(where, doc)
                if doc["kind"] == "DaemonSet" and doc["metadata"]["name"] == PLUGIN:
                    check_plugin_daemonset(where, doc)
                check_webhook_pods(where, doc)
            elif key in CRD_CHECKS:
                CRD_CHECKS[key](where, doc)
            else:
                problem(where, f"{key[0]} {key[1]}: no schema and no check here; add one")
    if core_files:
        result = subprocess.run([validator(), "--strict", "-k", KUBERNETES_VERSION, *core_files],
                                capture_output=True, text=True)
        output = (result.stdout + result.stderr).strip()
        if result.returncode != 0:
            problem("kubernetes-validate", output)
        else:
            print(f"kubernetes-validate --strict -k {KUBERNETES_VERSION}: {len(core_files)} files valid")
    for where, ns, net in wanted:
        if (ns, net) not in networks:
            problem(where, f"pods ask for network {ns}/{net}, which no manifest here defines")
    for line in checked:
        print(f"check-config ok: {line}")
    for line in webhook_pods:
        print(f"webhook pod checked: {line}")
    for line in problems:
        print(f"FAIL {line}")
    print(f"{len(files)} files, {len(problems)} problems")
    return 1 if problems else 0


plugin = None
checked = []
webhook_pods = []
networks = set()
wanted = []

if __name__ == "__main__":
    sys.exit(main())
