#!/usr/bin/env python3
"""Renders deploy/'s plugin and webhook manifests from the Helm charts, so the two cannot drift.

Usage (the venv that tests/setup.sh makes has helm-python-sdk, Helm's engine):
  /opt/azure-ipoib-venv/bin/python3 charts/render-deploy.py          # rewrite deploy/
  /opt/azure-ipoib-venv/bin/python3 charts/render-deploy.py --check  # exit 1 if deploy/ differs

Each file is one template of a chart's render with the values below, minus the two labels that
say Helm manages the object (`kubectl apply -k deploy/` does), under a header naming its source.
Edit the chart, never the generated file, then run this.
"""

import difflib
import os
import sys

from helm_python.chart import Chart

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
NAMESPACE = "kube-system"
# (output under deploy/, chart, release name, values, template)
OUTPUTS = [
    ("daemonset.yaml", "azure-ipoib-ipam-cni", "azure-ipoib-ipam-cni", {}, "daemonset.yaml"),
    ("hostdevicenetwork.yaml", "azure-ipoib-ipam-cni", "azure-ipoib-ipam-cni", {}, "network.yaml"),
    ("multus/networkattachmentdefinition.yaml", "azure-ipoib-ipam-cni", "azure-ipoib-ipam-cni",
     {"network": {"kind": "NetworkAttachmentDefinition"}}, "network.yaml"),
    ("webhook/daemonset.yaml", "azure-ipoib-webhook", "azure-ipoib-webhook", {}, "daemonset.yaml"),
]
HELM_ONLY_LABELS = ("helm.sh/chart:", "app.kubernetes.io/managed-by:")


def rendered(chart, release, values, template):
    with Chart.load(os.path.join(ROOT, "charts", chart)) as ch:
        text = ch.render(values=values, name=release, namespace=NAMESPACE)[f"{chart}/templates/{template}"]
    lines = [line for line in text.strip("\n").splitlines() if not line.strip().startswith(HELM_ONLY_LABELS)]
    shown = " ".join(f"{k}={v}" for k, v in flatten(values)) or "defaults"
    header = [f"# Generated from charts/{chart} (release {release}, namespace {NAMESPACE}, values: {shown})",
              "# by charts/render-deploy.py: edit the chart, then run that script.", "#"]
    return "\n".join(header + lines) + "\n"


def flatten(values, prefix=""):
    for key, value in values.items():
        if isinstance(value, dict):
            yield from flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def main():
    check = sys.argv[1:] == ["--check"]
    if sys.argv[1:] not in ([], ["--check"]):
        sys.exit(__doc__)
    stale = []
    for output, chart, release, values, template in OUTPUTS:
        path = os.path.join(ROOT, "deploy", output)
        want = rendered(chart, release, values, template)
        have = open(path).read() if os.path.exists(path) else ""
        if have == want:
            continue
        if check:
            stale.append(output)
            sys.stdout.writelines(difflib.unified_diff(have.splitlines(True), want.splitlines(True),
                                                       f"deploy/{output}", f"rendered from charts/{chart}"))
        else:
            with open(path, "w") as f:
                f.write(want)
            print(f"wrote deploy/{output}")
    if stale:
        print(f"deploy/ differs from the charts' render: {', '.join(stale)}; run charts/render-deploy.py")
        return 1
    if check:
        print(f"deploy/ agrees with the charts ({len(OUTPUTS)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
