#!/usr/bin/env python3
"""Validates every YAML file under deploy/ (recursively), offline.

Usage: validate_manifests.py PLUGIN_BINARY [DEPLOY_DIR]

- every YAML document parses and is a Kubernetes-style object;
- core kinds validate against the Kubernetes 1.31 schemas with `kubernetes-validate --strict`
  (its schemas ship in the PyPI package, so no network is used);
- kinds the schemas do not know (CRDs, Kustomization) are checked here, field by field;
- every embedded CNI config passes the plugin's own `check-config`, exactly as ADD decodes it;
- every Multus network a pod asks for is defined by a manifest here;
- every pod running the webhook reads the pool through its directory (a read-only hostPath of
  type Directory, never the pool file), binds its unix socket inside a mounted volume, runs the
  server as a fixed non-root user and group, and, when the socket's volume is a hostPath, has an
  init container that gives that directory to the server's group (`--prepare-socket-dir`);
- least privilege for every container of every pod: no capabilities (drop ALL, add none), no
  privilege escalation, a read-only root filesystem, the RuntimeDefault seccomp profile, not
  privileged, and an image pinned by a version tag or a digest (never latest, stable or no tag).
  Third-party containers that cannot work that way are named in PRIVILEGED_BY_DESIGN, with why;
- pods that name no service account (so never call the API) set automountServiceAccountToken:
  false; only pods made of PRIVILEGED_BY_DESIGN containers may share the host's PID or IPC
  namespace, and the webhook never shares a pod with them;
- no pod is pinned to one CPU architecture (the images are multi-arch);
- a Kustomization pins every image its resources use.

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
# The webhook's image, by its repository's last component: ours, and the Go original's name,
# which the Helm chart keeps as its default repository.
WEBHOOK_IMAGES = {"azure-ipoib-webhook", "azure-ipoib-ipam-cni-webhook"}
DEFAULT_KVP_PATH = "/var/lib/hyperv/.kvp_pool_0"
FLOATING_TAGS = {"latest", "stable"}
ARCH_KEYS = {"kubernetes.io/arch", "beta.kubernetes.io/arch"}
# Containers that need privileges to do their job, by image repository, with why. Their image must
# still be pinned, and no container of ours may share their pod.
DRANET_PRIVILEGED = ("DRANet moves NICs between network namespaces, loads eBPF and opens RDMA devices; "
                     "upstream runs it privileged")
PRIVILEGED_BY_DESIGN = {
    "registry.k8s.io/networking/dranet": DRANET_PRIVILEGED,
    "ghcr.io/google/dranet": DRANET_PRIVILEGED,
    "gcr.io/k8s-staging-networking/dranet": DRANET_PRIVILEGED,
}
POD_KINDS = {"Pod", "Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job", "CronJob"}
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


def image_repository(image):
    """The image reference without its tag or digest."""
    ref = str(image).split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    return ref.rsplit(":", 1)[0] if ":" in last else ref


def is_webhook(container):
    """By its image's name, or by its first argument: the image keeps the binary at /webhook."""
    args = container.get("args") or []
    return (image_repository(container.get("image", "")).rsplit("/", 1)[-1] in WEBHOOK_IMAGES
            or (bool(args) and str(args[0]) == "/webhook"))


def flag(container, name):
    """The value of --name=value among a container's args, or None."""
    values = [str(a).split("=", 1)[1] for a in container.get("args") or [] if str(a).startswith(f"--{name}=")]
    return values[-1] if values else None


def pod_spec(doc):
    """The pod spec of a workload (a CronJob's is one level deeper), or None."""
    if doc.get("kind") not in POD_KINDS:
        return None
    if doc["kind"] == "Pod":
        return doc.get("spec") or {}
    spec = doc.get("spec") or {}
    if doc["kind"] == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    return ((spec.get("template") or {}).get("spec")) or {}


def containers_of(spec):
    return [(kind, c) for kind in ("initContainers", "containers", "ephemeralContainers")
            for c in spec.get(kind) or []]


def effective(spec, container, key):
    """A securityContext setting of a container, falling back to the pod's."""
    own = (container.get("securityContext") or {}).get(key)
    return own if own is not None else (spec.get("securityContext") or {}).get(key)


def image_problem(image):
    """Why an image reference is not pinned, or None."""
    image = str(image or "")
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no tag: pin a version or a digest"
    tag = last.rsplit(":", 1)[1]
    if tag in FLOATING_TAGS or not tag:
        return f"image {image!r} floats ({tag or 'empty'} tag): pin a version or a digest"
    return None


def check_least_privilege(where, doc):
    """Least privilege for every container of every pod (the module docstring lists the rules)."""
    spec = pod_spec(doc)
    if spec is None:
        return
    pods_checked.append(where)
    containers = containers_of(spec)
    exempt = {id(c) for _, c in containers if image_repository(c.get("image", "")) in PRIVILEGED_BY_DESIGN}
    for kind, c in containers:
        cwhere = f"{where} {kind[:-1]} {c.get('name')}"
        bad = image_problem(c.get("image"))
        if bad:
            problem(cwhere, bad)
        if id(c) in exempt:
            privileged.append(f"{cwhere}: {PRIVILEGED_BY_DESIGN[image_repository(c['image'])]}")
            continue
        sc = c.get("securityContext") or {}
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            problem(cwhere, 'securityContext.capabilities.drop must be ["ALL"]')
        if caps.get("add"):
            problem(cwhere, f"securityContext.capabilities.add {caps['add']}: no capability is needed")
        if sc.get("privileged"):
            problem(cwhere, "securityContext.privileged must not be true")
        if sc.get("allowPrivilegeEscalation") is not False:
            problem(cwhere, "securityContext.allowPrivilegeEscalation must be false")
        if sc.get("readOnlyRootFilesystem") is not True:
            problem(cwhere, "securityContext.readOnlyRootFilesystem must be true")
        seccomp = (effective(spec, c, "seccompProfile") or {}).get("type")
        if seccomp != "RuntimeDefault":
            problem(cwhere, f"seccompProfile must be RuntimeDefault (in the container's or the pod's securityContext), not {seccomp}")
    if not spec.get("serviceAccountName") and spec.get("automountServiceAccountToken") is not False:
        problem(where, "names no service account, so needs no API access: set automountServiceAccountToken: false")
    for host in ("hostPID", "hostIPC"):
        if spec.get(host) and len(exempt) < len(containers):
            problem(where, f"{host}: true is only for pods made of privileged-by-design containers")
    if exempt and any(is_webhook(c) for _, c in containers):
        problem(where, "runs the webhook beside a privileged container: give the webhook its own pod "
                "(deploy/webhook/daemonset.yaml) and share the socket through a host directory")
    check_architecture(where, spec)


def check_architecture(where, spec):
    """No pod is pinned to one architecture: the images are multi-arch (amd64 and arm64)."""
    for key, value in (spec.get("nodeSelector") or {}).items():
        if key in ARCH_KEYS:
            problem(where, f"nodeSelector {key}: {value} pins pods to one architecture; the images are multi-arch")
    node = ((spec.get("affinity") or {}).get("nodeAffinity")) or {}
    terms = list(((node.get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms")) or [])
    terms += [p.get("preference") or {} for p in node.get("preferredDuringSchedulingIgnoredDuringExecution") or []]
    for term in terms:
        for e in term.get("matchExpressions") or []:
            if e.get("key") not in ARCH_KEYS:
                continue
            values = e.get("values") or []
            if (e.get("operator") == "In" and "arm64" not in values) or (e.get("operator") == "NotIn" and "arm64" in values):
                problem(where, f"nodeAffinity on {e['key']} {e.get('operator')} {values} keeps pods off arm64; the images are multi-arch")


def check_webhook_pods(where, doc):
    """Every pod running the webhook reads the pool through its directory, mounted read-only
    from a hostPath of type Directory, never through the file itself (kubelet would create a
    missing file path as a directory and hv_kvp_daemon could never write its pool); binds its unix
    socket inside a mounted volume another pod or container can reach; runs the server as a fixed
    non-root user and group; and, for a hostPath socket directory (root-owned, 0755, and fsGroup
    does not apply to hostPath), first runs `--prepare-socket-dir` as an init container with the
    server's group, so that the non-root server can create its socket there."""
    spec = pod_spec(doc)
    if spec is None:
        return
    servers = [c for c in spec.get("containers") or [] if is_webhook(c)]
    if not servers:
        return
    webhook_pods.append(where)
    volumes = {v.get("name"): v for v in spec.get("volumes") or []}
    prepares = [c for c in spec.get("initContainers") or []
                if is_webhook(c) and "--prepare-socket-dir" in [str(a) for a in c.get("args") or []]]
    for c in servers:
        cwhere = f"{where} container {c.get('name')}"
        mounts = c.get("volumeMounts") or []
        kvp_dir = os.path.dirname(flag(c, "kvp-path") or DEFAULT_KVP_PATH)
        kvp = [m for m in mounts if m.get("mountPath") == kvp_dir]
        if len(kvp) != 1 or not kvp[0].get("readOnly"):
            problem(cwhere, f"must mount the pool's directory {kvp_dir} read-only")
        else:
            host = (volumes.get(kvp[0].get("name")) or {}).get("hostPath") or {}
            if host.get("path") != kvp_dir or host.get("type") != "Directory":
                problem(cwhere, f"{kvp_dir} must be hostPath {kvp_dir}, type Directory")
        for m in mounts:
            if m.get("mountPath", "").startswith(kvp_dir.rstrip("/") + "/"):
                problem(cwhere, f"mounts {m['mountPath']}: mount the directory, not the pool file")
        uid, gid = effective(spec, c, "runAsUser"), effective(spec, c, "runAsGroup")
        if effective(spec, c, "runAsNonRoot") is not True or not uid or not gid:
            problem(cwhere, "the webhook runs as non-root: set runAsNonRoot: true and a fixed non-zero runAsUser and runAsGroup")
        bind = flag(c, "bind-address")
        if not bind or not bind.startswith("unix://"):
            continue
        sock_dir = os.path.dirname(bind[len("unix://"):])
        mount = [m for m in mounts if m.get("mountPath") == sock_dir]
        if not mount:
            problem(cwhere, f"binds {bind}, but no volume is mounted at {sock_dir}")
            continue
        if "hostPath" not in (volumes.get(mount[0].get("name")) or {}):
            continue
        ready = [p for p in prepares if flag(p, "bind-address") == bind and effective(spec, p, "runAsGroup") == gid
                 and any(m.get("mountPath") == sock_dir and m.get("name") == mount[0].get("name")
                         for m in p.get("volumeMounts") or [])]
        if not ready:
            problem(cwhere, f"binds {bind} in a hostPath directory, which kubelet makes root-owned: an init container "
                    f"must run the webhook with --prepare-socket-dir --bind-address={bind} as the server's runAsGroup ({gid}), "
                    "with the same volume mounted")


def check_kustomization_images(where, doc, directory):
    """A Kustomization pins every image its resources use, by newTag or digest."""
    pinned = {}
    for entry in doc.get("images") or []:
        name = entry.get("name")
        tag, digest = entry.get("newTag"), entry.get("digest")
        if digest:
            pinned[name] = True
        elif tag is None or str(tag) in FLOATING_TAGS or not str(tag):
            problem(where, f"images: {name} must have a newTag that is a version, or a digest")
        else:
            pinned[name] = True
    for resource in doc.get("resources") or []:
        for image in images_by_file.get(os.path.normpath(os.path.join(directory, resource)), []):
            if image_repository(image) not in pinned:
                problem(where, f"images: {resource} uses {image_repository(image)}, which has no entry here to pin it")


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
                kustomizations.append((where, doc, os.path.dirname(path)))
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
                check_least_privilege(where, doc)
                spec = pod_spec(doc)
                if spec is not None:
                    images_by_file.setdefault(os.path.normpath(path), []).extend(
                        c.get("image", "") for _, c in containers_of(spec))
            elif key in CRD_CHECKS:
                CRD_CHECKS[key](where, doc)
            else:
                problem(where, f"{key[0]} {key[1]}: no schema and no check here; add one")
    for where, doc, directory in kustomizations:
        check_kustomization_images(where, doc, directory)
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
    for line in pods_checked:
        print(f"least privilege checked: {line}")
    for line in privileged:
        print(f"privileged by design: {line}")
    for line in problems:
        print(f"FAIL {line}")
    print(f"{len(files)} files, {len(problems)} problems")
    return 1 if problems else 0


plugin = None
checked = []
webhook_pods = []
pods_checked = []
privileged = []
images_by_file = {}
kustomizations = []
networks = set()
wanted = []

if __name__ == "__main__":
    sys.exit(main())
