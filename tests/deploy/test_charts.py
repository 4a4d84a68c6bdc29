#!/usr/bin/env python3
"""The Helm charts under charts/, through Helm's own engine, offline.

Usage: test_charts.py PLUGIN_BINARY [unittest options]
Run it with the venv's python (tests/setup.sh installs helm-python-sdk, which carries libhelm,
Helm v4's engine, and kubernetes-validate there).

- `helm lint` (strict) is clean for both charts, with their defaults and the value sets below;
- each value set renders, and tests/deploy/validate_manifests.py passes on every render: core
  kinds strict-valid for Kubernetes 1.31, every embedded CNI config through the plugin's
  check-config, the least-privilege rules, the webhook's pool directory and socket;
- every value lands where it should, and bad values fail with a message that names them;
- no default image is `latest`, and the images default to the chart's appVersion, which is the
  crates' version and the tag deploy/'s kustomizations pin;
- the pool is mounted as its directory, read-only, never as a file;
- deploy/ is exactly the charts' render (charts/render-deploy.py --check).
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import unittest

import yaml
from helm_python.chart import Chart, lint
from helm_python.errors import HelmError

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
PLUGIN_CHART = "azure-ipoib-ipam-cni"
WEBHOOK_CHART = "azure-ipoib-webhook"
APP_VERSION = "0.1.0"
GO_ORIGINAL_VALUES = os.path.join(ROOT, "tests", "deploy", "go-original-values.yaml")
PLUGIN = None  # the built plugin, from argv

# name: (chart, release, values). Rendered once, validated together (setUpModule).
CASES = {
    "plugin-defaults": (PLUGIN_CHART, PLUGIN_CHART, {}),
    "plugin-nad": (PLUGIN_CHART, PLUGIN_CHART, {"network": {"kind": "NetworkAttachmentDefinition"}}),
    "plugin-no-network": (PLUGIN_CHART, "bare", {"network": {"kind": ""}}),
    "plugin-custom": (PLUGIN_CHART, "custom", {
        "image": {"repository": "registry.example/ipoib/plugin", "tag": "9.8.7", "pullPolicy": "Always"},
        "cniBinDir": "/opt/alt/cni/bin",
        "network": {"kind": "NetworkAttachmentDefinition", "name": "ib-net", "namespace": "jobs",
                    "resourceName": "example.com/ibnics"},
        "ipam": {"prefixLength": 24, "routes": [{"dst": "10.0.0.0/8"}], "lockTimeoutMs": 500,
                 "logFile": "/var/log/azure-ipoib-ipam-cni/calls.log", "logLevel": "debug"},
        "nodeSelector": {"feature.node.kubernetes.io/pci-15b3.present": None, "pool": "ib"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "ib", "effect": "NoSchedule"}],
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64", "arm64"]}]}]}}},
        "imagePullSecrets": [{"name": "regcred"}],
        "podAnnotations": {"example.com/owner": "hpc"},
        "resources": {"requests": {"cpu": "20m", "memory": "20Mi"}, "limits": {"memory": "40Mi"}},
        "priorityClassName": "",
    }),
    "plugin-hostdev-custom": (PLUGIN_CHART, "hdn", {
        "image": {"tag": "sha256:" + "ab" * 32},
        "network": {"name": "ib-hdn", "namespace": "jobs", "resourceName": "ibnics"},
        "ipam": {"logFile": "/var/log/azure-ipoib-ipam-cni/hdn.log", "kvpPath": "/var/lib/hyperv/.kvp_pool_0"},
    }),
    "webhook-defaults": (WEBHOOK_CHART, WEBHOOK_CHART, {}),
    "webhook-go-original": (WEBHOOK_CHART, "ipoib", None),  # the values file, loaded below
    "webhook-ours": (WEBHOOK_CHART, "ours", {
        "nameOverride": "ipoib-provider",
        "webhook": {"image": {"repository": "registry.example/ipoib/webhook", "tag": "9.8.7", "pullPolicy": "Always"},
                    "bindAddress": "unix:///run/ipoib/provider.sock", "kvpPath": "/var/lib/hyperv-test/.kvp_pool_0",
                    "profile": "ib-east", "prefixLength": 24, "lockTimeoutMs": 500, "logLevel": "debug",
                    "maxConnections": 8, "runAsUser": 4242, "runAsGroup": 4343,
                    "resources": {"requests": {"cpu": "5m"}}},
        "socketDir": "/run/ipoib",
        "nodeSelector": None,
        "imagePullSecrets": [{"name": "regcred"}],
        "podAnnotations": {"example.com/owner": "hpc"},
        "affinity": {"podAntiAffinity": {}},
        "tolerations": [{"operator": "Exists"}],
    }),
    "webhook-tcp": (WEBHOOK_CHART, "tcp", {
        "fullnameOverride": "ipoib-tcp",
        "webhook": {"bindAddress": "127.0.0.1:8080", "metrics": {"scrape": True}},
        "hostNetwork": True,
    }),
}


def go_original_values():
    with open(GO_ORIGINAL_VALUES) as f:
        return yaml.safe_load(f)


def values_of(case):
    chart, release, values = CASES[case]
    return go_original_values() if values is None else values


def render(chart, values, release, namespace="kube-system"):
    """{template path: text} from Helm's engine."""
    with Chart.load(os.path.join(ROOT, "charts", chart)) as ch:
        return ch.render(values=values, name=release, namespace=namespace)


def objects(rendered):
    """Every object of a render's manifests (NOTES.txt is not one)."""
    return [d for path, text in sorted(rendered.items()) if path.endswith(".yaml")
            for d in yaml.safe_load_all(text) if d is not None]


def one(objs, kind):
    found = [o for o in objs if o.get("kind") == kind]
    if len(found) != 1:
        raise AssertionError(f"expected one {kind}, found {len(found)}")
    return found[0]


def pod(objs):
    return one(objs, "DaemonSet")["spec"]["template"]["spec"]


def container(spec, name):
    found = [c for c in (spec.get("initContainers") or []) + spec["containers"] if c["name"] == name]
    if len(found) != 1:
        raise AssertionError(f"expected one container {name}, found {[c['name'] for c in found]}")
    return found[0]


def volume(spec, name):
    return next(v for v in spec["volumes"] if v["name"] == name)


RENDERED = {}
VALIDATED = None


def setUpModule():
    """Renders every case into its own directory and runs the validator once over all of them."""
    global VALIDATED
    for case, (chart, release, _) in CASES.items():
        RENDERED[case] = render(chart, values_of(case), release)
    with tempfile.TemporaryDirectory(prefix="ipoib-charts-") as tmp:
        for case, rendered in RENDERED.items():
            os.makedirs(os.path.join(tmp, case))
            for path, text in rendered.items():
                if path.endswith(".yaml") and text.strip():
                    with open(os.path.join(tmp, case, os.path.basename(path)), "w") as f:
                        f.write(text)
        VALIDATED = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "deploy", "validate_manifests.py"),
                                    PLUGIN, tmp], capture_output=True, text=True)


class Lint(unittest.TestCase):
    def test_lint_is_clean(self):
        for chart, values in [(PLUGIN_CHART, {}), (PLUGIN_CHART, values_of("plugin-nad")),
                              (PLUGIN_CHART, values_of("plugin-custom")), (WEBHOOK_CHART, {}),
                              (WEBHOOK_CHART, go_original_values()), (WEBHOOK_CHART, values_of("webhook-tcp"))]:
            with self.subTest(chart=chart, values=values):
                report = lint(os.path.join(ROOT, "charts", chart), values, strict=True, kube_version="v1.31.0")
                self.assertEqual(report["errors"], [])
                # Severity 1 is information ("icon is recommended"); 2 is a warning, 3 an error.
                self.assertEqual([m for m in report["messages"] if m["severity"] >= 2], [])


class Validated(unittest.TestCase):
    def test_every_render_passes_the_validator(self):
        out = VALIDATED.stdout + VALIDATED.stderr
        self.assertEqual(VALIDATED.returncode, 0, out)
        self.assertIn("kubernetes-validate --strict -k 1.31.0", out)
        for case in CASES:
            self.assertIn(f"least privilege checked: {case}/daemonset.yaml[0]", out)
            if CASES[case][0] == WEBHOOK_CHART:
                self.assertIn(f"webhook pod checked: {case}/daemonset.yaml[0]", out)

    def test_every_embedded_cni_config_passes_check_config(self):
        out = VALIDATED.stdout
        expected = {"plugin-defaults": "network.yaml[0] spec.ipam", "plugin-nad": "network.yaml[0] spec.config",
                    "plugin-custom": "network.yaml[0] spec.config", "plugin-hostdev-custom": "network.yaml[0] spec.ipam"}
        for case, line in expected.items():
            self.assertIn(f"check-config ok: {case}/{line}", out)
        self.assertEqual(out.count("check-config ok: "), len(expected), out)


class PluginValues(unittest.TestCase):
    def test_defaults(self):
        objs = objects(RENDERED["plugin-defaults"])
        spec = pod(objs)
        install = container(spec, "install-cni-plugin")
        self.assertEqual(install["image"], f"ghcr.io/azure/azure-ipoib-ipam-cni:{APP_VERSION}")
        self.assertEqual(install["imagePullPolicy"], "IfNotPresent")
        self.assertEqual(volume(spec, "cni-bin")["hostPath"], {"path": "/opt/cni/bin", "type": "DirectoryOrCreate"})
        self.assertEqual(spec["nodeSelector"], {"kubernetes.io/os": "linux",
                                                "feature.node.kubernetes.io/pci-15b3.present": "true"})
        self.assertEqual({t.get("key") for t in spec["tolerations"]}, {"nvidia.com/gpu", "sku", "CriticalAddonsOnly"})
        self.assertEqual(spec["priorityClassName"], "system-node-critical")
        self.assertIs(spec["automountServiceAccountToken"], False)
        hdn = one(objs, "HostDeviceNetwork")
        self.assertEqual((hdn["metadata"]["name"], hdn["spec"]["networkNamespace"], hdn["spec"]["resourceName"]),
                         ("hostdev-net", "default", "mlnxnics"))
        self.assertEqual(json.loads(hdn["spec"]["ipam"]), {"type": "azure-ipoib-ipam-cni"})

    def test_network_kinds(self):
        nad = one(objects(RENDERED["plugin-nad"]), "NetworkAttachmentDefinition")
        self.assertEqual(nad["metadata"]["annotations"], {"k8s.v1.cni.cncf.io/resourceName": "nvidia.com/mlnxnics"})
        self.assertEqual(json.loads(nad["spec"]["config"]), {"cniVersion": "1.0.0", "name": "hostdev-net",
                                                             "type": "host-device", "ipam": {"type": "azure-ipoib-ipam-cni"}})
        self.assertEqual([o["kind"] for o in objects(RENDERED["plugin-no-network"])], ["DaemonSet"])
        # null, as `--set network.kind=null` gives, is no network too.
        self.assertEqual([o["kind"] for o in objects(render(PLUGIN_CHART, {"network": {"kind": None}}, "x"))], ["DaemonSet"])

    def test_every_value_is_honoured(self):
        values = values_of("plugin-custom")
        objs = objects(RENDERED["plugin-custom"])
        ds = one(objs, "DaemonSet")
        spec = ds["spec"]["template"]["spec"]
        install = container(spec, "install-cni-plugin")
        self.assertEqual(install["image"], "registry.example/ipoib/plugin:9.8.7")
        self.assertEqual(install["imagePullPolicy"], "Always")
        self.assertEqual(install["resources"], values["resources"])
        self.assertEqual(volume(spec, "cni-bin")["hostPath"]["path"], "/opt/alt/cni/bin")
        self.assertEqual(install["volumeMounts"], [{"name": "cni-bin", "mountPath": "/host/opt/cni/bin"}])
        self.assertEqual(spec["nodeSelector"], {"kubernetes.io/os": "linux", "pool": "ib"})
        self.assertEqual(spec["tolerations"], values["tolerations"])
        self.assertEqual(spec["affinity"], values["affinity"])
        self.assertEqual(spec["imagePullSecrets"], [{"name": "regcred"}])
        self.assertNotIn("priorityClassName", spec)
        self.assertEqual(ds["spec"]["template"]["metadata"]["annotations"], {"example.com/owner": "hpc"})
        self.assertEqual(ds["metadata"]["name"], "custom-azure-ipoib-ipam-cni")
        nad = one(objs, "NetworkAttachmentDefinition")
        self.assertEqual((nad["metadata"]["name"], nad["metadata"]["namespace"]), ("ib-net", "jobs"))
        self.assertEqual(nad["metadata"]["annotations"]["k8s.v1.cni.cncf.io/resourceName"], "example.com/ibnics")
        config = json.loads(nad["spec"]["config"])
        self.assertEqual(config["name"], "ib-net")
        self.assertEqual(config["ipam"], dict(values["ipam"], type="azure-ipoib-ipam-cni"))

        objs = objects(RENDERED["plugin-hostdev-custom"])
        self.assertEqual(container(pod(objs), "install-cni-plugin")["image"],
                         "ghcr.io/azure/azure-ipoib-ipam-cni@sha256:" + "ab" * 32)
        hdn = one(objs, "HostDeviceNetwork")
        self.assertEqual((hdn["metadata"]["name"], hdn["spec"]["networkNamespace"], hdn["spec"]["resourceName"]),
                         ("ib-hdn", "jobs", "ibnics"))
        self.assertEqual(json.loads(hdn["spec"]["ipam"]), {"type": "azure-ipoib-ipam-cni", "logFile": "/var/log/azure-ipoib-ipam-cni/hdn.log",
                                                           "kvpPath": "/var/lib/hyperv/.kvp_pool_0"})

    def test_names(self):
        for values, release, name in [({"nameOverride": "ib"}, "rel", "rel-ib"),
                                      ({"fullnameOverride": "ipoib"}, "rel", "ipoib"),
                                      ({}, "azure-ipoib-ipam-cni-prod", "azure-ipoib-ipam-cni-prod")]:
            ds = one(objects(render(PLUGIN_CHART, values, release)), "DaemonSet")
            self.assertEqual(ds["metadata"]["name"], name)

    def test_bad_values_fail_clearly(self):
        for values, needle in [({"network": {"kind": "Bogus"}}, "/network/kind"),
                               ({"ipam": {"type": "static"}}, "/ipam/type"),
                               ({"ipam": {"prefixLength": "24"}}, "/ipam/prefixLength"),
                               ({"cniBinDir": "opt/cni/bin"}, "/cniBinDir"),
                               ({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy")]:
            with self.subTest(values=values):
                with self.assertRaises(HelmError) as caught:
                    render(PLUGIN_CHART, values, "bad")
                self.assertIn(needle, str(caught.exception))


class WebhookValues(unittest.TestCase):
    def test_defaults(self):
        objs = objects(RENDERED["webhook-defaults"])
        ds = one(objs, "DaemonSet")
        spec = ds["spec"]["template"]["spec"]
        server = container(spec, "webhook")
        image = f"ghcr.io/azure/azure-ipoib-ipam-cni-webhook:{APP_VERSION}"
        self.assertEqual(server["image"], image)
        self.assertEqual(server["args"], ["/webhook", "--bind-address=unix:///var/run/dranet/webhook.sock",
                                          "--kvp-path=/var/lib/hyperv/.kvp_pool_0", "--prefix-length=16",
                                          "--lock-timeout-ms=2000", "--log-level=info", "--max-connections=64"])
        sc = server["securityContext"]
        self.assertEqual((sc["runAsUser"], sc["runAsGroup"], sc["runAsNonRoot"]), (65532, 65532, True))
        prepare = container(spec, "prepare-socket-dir")
        self.assertEqual(prepare["image"], image)
        self.assertEqual(prepare["args"], ["/webhook", "--prepare-socket-dir",
                                           "--bind-address=unix:///var/run/dranet/webhook.sock"])
        self.assertEqual((prepare["securityContext"]["runAsUser"], prepare["securityContext"]["runAsGroup"]), (0, 65532))
        self.assertEqual([c["name"] for c in spec["initContainers"]], ["prepare-socket-dir"])
        self.assertEqual(volume(spec, "webhook-socket")["hostPath"], {"path": "/var/run/dranet", "type": "DirectoryOrCreate"})
        self.assertNotIn("hostNetwork", spec)
        self.assertEqual(spec["tolerations"], [{"operator": "Exists", "effect": "NoSchedule"}])
        self.assertEqual(spec["nodeSelector"], {"kubernetes.io/os": "linux",
                                                "feature.node.kubernetes.io/pci-15b3.present": "true"})
        self.assertEqual(ds["spec"]["selector"]["matchLabels"], {"app.kubernetes.io/name": "azure-ipoib-webhook",
                                                                 "app.kubernetes.io/instance": "azure-ipoib-webhook"})

    def test_the_go_originals_values_file_works_unchanged(self):
        """Its keys keep their meaning: the release's names and selector are the original's (so
        `helm upgrade` of one of its releases works), its `latest` tags become the appVersion,
        its profile and installer are honoured."""
        objs = objects(RENDERED["webhook-go-original"])
        ds = one(objs, "DaemonSet")
        self.assertEqual(ds["metadata"]["name"], "ipoib-azure-ipoib-webhook")
        self.assertEqual(ds["spec"]["selector"]["matchLabels"], {"app.kubernetes.io/name": "azure-ipoib-webhook",
                                                                 "app.kubernetes.io/instance": "ipoib"})
        spec = ds["spec"]["template"]["spec"]
        server = container(spec, "webhook")
        self.assertEqual(server["image"], f"ghcr.io/azure/azure-ipoib-ipam-cni-webhook:{APP_VERSION}")
        self.assertIn("--profile=ipoib", server["args"])
        self.assertEqual(server["resources"]["requests"], {"cpu": "10m", "memory": "16Mi"})
        self.assertIs(spec["hostNetwork"], True)
        install = container(spec, "install-cni-binary")
        self.assertEqual(install["image"], f"ghcr.io/azure/azure-ipoib-ipam-cni:{APP_VERSION}")
        self.assertEqual(install["volumeMounts"], [{"name": "cni-bin", "mountPath": "/host/opt/cni/bin"}])
        self.assertEqual(volume(spec, "cni-bin")["hostPath"], {"path": "/opt/cni/bin", "type": "DirectoryOrCreate"})
        self.assertEqual([c["name"] for c in spec["initContainers"]], ["prepare-socket-dir", "install-cni-binary"])

    def test_every_value_is_honoured(self):
        values = values_of("webhook-ours")
        objs = objects(RENDERED["webhook-ours"])
        ds = one(objs, "DaemonSet")
        self.assertEqual(ds["metadata"]["name"], "ours-ipoib-provider")
        self.assertEqual(ds["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"], "ipoib-provider")
        spec = ds["spec"]["template"]["spec"]
        server = container(spec, "webhook")
        self.assertEqual((server["image"], server["imagePullPolicy"]), ("registry.example/ipoib/webhook:9.8.7", "Always"))
        self.assertEqual(server["args"], ["/webhook", "--bind-address=unix:///run/ipoib/provider.sock",
                                          "--kvp-path=/var/lib/hyperv-test/.kvp_pool_0", "--profile=ib-east",
                                          "--prefix-length=24", "--lock-timeout-ms=500", "--log-level=debug",
                                          "--max-connections=8"])
        self.assertEqual(server["resources"], {"requests": {"cpu": "5m", "memory": "16Mi"}, "limits": {"memory": "32Mi"}})
        sc = server["securityContext"]
        self.assertEqual((sc["runAsUser"], sc["runAsGroup"]), (4242, 4343))
        prepare = container(spec, "prepare-socket-dir")
        self.assertEqual((prepare["securityContext"]["runAsGroup"], prepare["imagePullPolicy"]), (4343, "Always"))
        self.assertEqual(prepare["volumeMounts"], [{"name": "webhook-socket", "mountPath": "/run/ipoib"}])
        self.assertEqual(volume(spec, "webhook-socket")["hostPath"]["path"], "/run/ipoib")
        self.assertEqual(spec["nodeSelector"], {"kubernetes.io/os": "linux"})
        self.assertEqual(spec["tolerations"], values["tolerations"])
        self.assertEqual(spec["affinity"], values["affinity"])
        self.assertEqual(spec["imagePullSecrets"], [{"name": "regcred"}])
        self.assertEqual(ds["spec"]["template"]["metadata"]["annotations"], {"example.com/owner": "hpc"})

        objs = objects(RENDERED["webhook-tcp"])
        ds = one(objs, "DaemonSet")
        self.assertEqual(ds["metadata"]["name"], "ipoib-tcp")
        spec = ds["spec"]["template"]["spec"]
        self.assertIs(spec["hostNetwork"], True)
        self.assertNotIn("initContainers", spec)
        self.assertEqual([v["name"] for v in spec["volumes"]], ["kvp"])
        self.assertEqual(ds["spec"]["template"]["metadata"]["annotations"],
                         {"prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/metrics"})
        notes = RENDERED["webhook-tcp"][f"{WEBHOOK_CHART}/templates/NOTES.txt"]
        self.assertIn("--webhook-url=http://127.0.0.1:8080", notes)

    def test_the_pool_is_mounted_as_its_directory(self):
        for case, pool_dir in [("webhook-defaults", "/var/lib/hyperv"), ("webhook-go-original", "/var/lib/hyperv"),
                               ("webhook-ours", "/var/lib/hyperv-test"), ("webhook-tcp", "/var/lib/hyperv")]:
            with self.subTest(case=case):
                spec = pod(objects(RENDERED[case]))
                self.assertEqual(volume(spec, "kvp")["hostPath"], {"path": pool_dir, "type": "Directory"})
                self.assertEqual([m for m in container(spec, "webhook")["volumeMounts"] if m["name"] == "kvp"],
                                 [{"name": "kvp", "mountPath": pool_dir, "readOnly": True}])
                self.assertNotIn("File", [(v.get("hostPath") or {}).get("type") for v in spec["volumes"]])

    def test_bad_values_fail_clearly(self):
        for values, needle in [
            ({"socketDir": "/run/other"}, "must name a socket directly in socketDir"),
            ({"webhook": {"kvpPath": "/.kvp_pool_0"}}, "webhook.kvpPath"),
            ({"webhook": {"kvpPath": "pool"}}, "/webhook/kvpPath"),
            ({"webhook": {"runAsUser": 0}}, "/webhook/runAsUser"),
            ({"webhook": {"prefixLength": 16.5}}, "/webhook/prefixLength"),
            ({"webhook": {"logLevel": "loud"}}, "/webhook/logLevel"),
            ({"webhook": {"bindAddress": "8080"}}, "/webhook/bindAddress"),
            ({"webhook": {"metrics": {"scrape": True}}}, "webhook.metrics.scrape needs a host:port"),
            ({"webhook": {"bindAddress": "127.0.0.1:8080"}}, "is loopback: DRANet (hostNetwork) reaches it only with hostNetwork: true"),
        ]:
            with self.subTest(values=values):
                with self.assertRaises(HelmError) as caught:
                    render(WEBHOOK_CHART, values, "bad")
                self.assertIn(needle, str(caught.exception))


class Images(unittest.TestCase):
    def test_no_default_image_is_latest(self):
        for chart in (PLUGIN_CHART, WEBHOOK_CHART):
            with open(os.path.join(ROOT, "charts", chart, "values.yaml")) as f:
                text = f.read()
            tags = re.findall(r"(?m)^\s*tag:.*$", text)
            self.assertTrue(tags, chart)
            self.assertEqual({t.strip() for t in tags}, {'tag: ""'}, f"{chart}: a default tag other than the appVersion")
        for case in ("plugin-defaults", "webhook-defaults", "webhook-go-original"):
            for spec in [pod(objects(RENDERED[case]))]:
                for c in (spec.get("initContainers") or []) + spec["containers"]:
                    tag = c["image"].rsplit(":", 1)[1]
                    self.assertIn(tag, (APP_VERSION, "3.10"), f"{case} {c['name']}: {c['image']}")

    def test_app_version_is_the_crates_and_the_kustomizations_tag(self):
        for crate in ("cni-frontend", "webhook"):
            with open(os.path.join(ROOT, crate, "Cargo.toml"), "rb") as f:
                self.assertEqual(tomllib.load(f)["package"]["version"], APP_VERSION, crate)
        for chart in (PLUGIN_CHART, WEBHOOK_CHART):
            with Chart.load(os.path.join(ROOT, "charts", chart)) as ch:
                self.assertEqual(ch.metadata["appVersion"], APP_VERSION, chart)
        pins = {}
        for kustomization in ("deploy/kustomization.yaml", "deploy/webhook/kustomization.yaml"):
            with open(os.path.join(ROOT, kustomization)) as f:
                pins.update({i["name"]: str(i.get("newTag")) for i in yaml.safe_load(f)["images"]})
        self.assertEqual(pins["ghcr.io/azure/azure-ipoib-ipam-cni"], APP_VERSION)
        self.assertEqual(pins["ghcr.io/azure/azure-ipoib-ipam-cni-webhook"], APP_VERSION)


# The values that are groups of settings; every other value (a map such as nodeSelector too) is
# one setting.
GROUPS = {"image", "network", "webhook", "webhook.image", "webhook.metrics", "installCNIBinary",
          "installCNIBinary.image"}


def keys(values, prefix=""):
    """The settings of a values tree, as dotted paths."""
    for key, value in values.items():
        path = prefix + key
        if isinstance(value, dict) and path in GROUPS:
            yield from keys(value, path + ".")
        else:
            yield path


def chart_values(chart):
    with open(os.path.join(ROOT, "charts", chart, "values.yaml")) as f:
        return yaml.safe_load(f)


class Documented(unittest.TestCase):
    def test_the_go_originals_keys_all_exist(self):
        self.assertEqual(set(keys(go_original_values())) - set(keys(chart_values(WEBHOOK_CHART))), set())

    def test_every_value_is_in_the_readmes_tables(self):
        with open(os.path.join(ROOT, "README.md")) as f:
            readme = f.read()
        section = readme[readme.index("### With Helm"):]
        section = section[:section.index("\n## ")]
        # The first cell of each table row: the value's name.
        rows = [line.split(" | ", 1)[0] for line in section.splitlines() if line.startswith("| `")]
        for chart in (PLUGIN_CHART, WEBHOOK_CHART):
            for path in keys(chart_values(chart)):
                parent, _, leaf = path.rpartition(".")
                named = any(f"`{path}`" in row or (parent and f"`{parent}." in row and
                                                   (f"`.{leaf}`" in row or f"`{parent}.*`" in row)) for row in rows)
                self.assertTrue(named, f"{chart}: {path} is in no row of the README's values tables")


class DeployAgrees(unittest.TestCase):
    def test_deploy_is_the_charts_render(self):
        result = subprocess.run([sys.executable, os.path.join(ROOT, "charts", "render-deploy.py"), "--check"],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    PLUGIN = os.path.abspath(sys.argv.pop(1))
    if not os.access(PLUGIN, os.X_OK):
        sys.exit(f"{PLUGIN}: not an executable plugin (cargo build --release builds it)")
    unittest.main(verbosity=2)
