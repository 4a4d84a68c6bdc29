#!/usr/bin/env bash
# Installs everything the build, the tests, the benches, the fuzzers, the images and the demo use,
# on a fresh Debian 12 machine with only rustup's stable toolchain; skips what is already there.
# Idempotent. Runs as root (apt-get); see README, "Before you start".
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    echo "setup.sh: run as root, keeping your PATH for rustup: sudo env \"PATH=\$PATH\" $0" >&2
    exit 1
fi
command -v rustup >/dev/null || {
    echo "setup.sh: rustup not found on PATH; install it (rustup.rs) or add ~/.cargo/bin to PATH" >&2
    exit 1
}

# Debian packages, each with the check that tells whether it is there and what needs it.
need_apt=()
want() { eval "$1" >/dev/null 2>&1 || need_apt+=("${@:2}"); }
want 'command -v ip' iproute2                                   # netns and veth in tests, demo
want 'test -x /usr/lib/cni/host-device' containernetworking-plugins # real host-device; Go static IPAM (bench)
want 'test -x /usr/sbin/hv_kvp_daemon' hyperv-daemons            # the real KVP daemon in tests
want 'test -f /usr/include/linux/hyperv.h' linux-libc-dev         # the daemon harness's shim
want 'command -v cc' gcc libc6-dev                                 # shim, bench floors, build scripts
want 'command -v x86_64-linux-musl-gcc' musl-tools                 # C build scripts of musl-target crates
want 'command -v strace' strace                                    # syscall counts (bench, tests)
want 'command -v unshare' util-linux                               # private mount namespace (tests)
want 'test -x /usr/bin/time' time                                  # peak RSS (bench)
want 'command -v podman' podman                                    # image build + run (tests/image.rs)
want 'command -v runc' runc                                        # podman's runtime (crun refuses hybrid cgroups)
want 'python3 -c "import ensurepip, venv"' python3 python3-venv     # the validator's venv (tests/deploy)
want 'command -v wrk' wrk                                          # webhook load (benches/webhook.sh)
want 'command -v curl' curl                                        # webhook tests over the unix socket
want 'command -v systemd-analyze' systemd                          # the ipoib up unit verified (tests/ipoib_up.rs)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "setup: apt-get install ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# qemu-user for the aarch64 build's tests on x86_64 (tests/aarch64.sh), version 10: it emulates
# openat2, which the plugin opens its pool and log with. Debian 12's own qemu (7.2) answers ENOSYS
# to it; bookworm-backports, Debian's, has 10.0 (both checked). Backports is pinned below the
# release (priority 100), so adding it changes no other package; only this one is taken from it.
if ! qemu-aarch64-static --version 2>/dev/null | grep -qE 'version [1-9][0-9]\.'; then
    backports=/etc/apt/sources.list.d/bookworm-backports.sources
    if [ ! -f "$backports" ]; then
        printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm-backports' \
            'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' >"$backports"
    fi
    echo "setup: apt-get install -t bookworm-backports qemu-user-static"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t bookworm-backports \
        qemu-user-static >/dev/null
fi

# Rust: the static musl targets the plugin ships as (aarch64 links with the toolchain's rust-lld,
# so it needs no cross compiler), the no_std check's target, the lints.
installed_targets=$(rustup target list --installed)
for target in x86_64-unknown-linux-musl aarch64-unknown-linux-musl thumbv7em-none-eabi; do
    grep -qx "$target" <<<"$installed_targets" || rustup target add "$target"
done
rustup component list --installed | grep -q '^clippy' || rustup component add clippy
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
# Nightly (downloaded by rustup) for miri on the allocator's unsafe code and for cargo-fuzz.
if rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup component list --toolchain nightly --installed | grep -q '^miri' ||
        rustup component add --toolchain nightly miri rust-src
else
    rustup toolchain install nightly --profile minimal --component miri,rust-src
fi
# cargo-fuzz, built from crates.io.
cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked

# kubernetes-validate (PyPI) with its bundled Kubernetes schemas, in the project's own venv, for the
# offline manifest checks (tests/deploy/validate_manifests.py).
venv=${IPOIB_VENV:-/opt/azure-ipoib-venv}
if ! "$venv/bin/kubernetes-validate" --version >/dev/null 2>&1; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check 'kubernetes-validate>=1.31,<2'
fi
# helm-python-sdk (PyPI) carries libhelm, Helm v4's engine, as a shared library: the chart tests
# (tests/deploy/test_charts.py) and charts/render-deploy.py render and lint with it, offline.
if ! "$venv/bin/python3" -c 'import helm_python.chart' >/dev/null 2>&1; then
    "$venv/bin/pip" install -q --disable-pip-version-check 'helm-python-sdk>=0.2.2,<0.3'
fi
