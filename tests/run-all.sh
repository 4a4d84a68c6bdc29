#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, the static release builds (x86_64 and
# aarch64), every test (root-only ones included: run as root), the aarch64 build's tests under
# qemu-user, the no_std build for a microcontroller target, miri on the allocator's unsafe code,
# and a short run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "run-all.sh: run as root (tests create netns, veth links and mount namespaces): sudo env \"PATH=\$PATH\" $0" >&2
    exit 1
fi

step() { printf '\n=== %s\n' "$*"; }

step "setup"
tests/setup.sh

step "rustfmt"
cargo fmt --all --check

step "clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "release build (static)"
cargo build --release -p cni-frontend
bin=target/x86_64-unknown-linux-musl/release/azure-ipoib-ipam-cni
alone=$(mktemp)
cp "$bin" "$alone"
# The plugin must not change when everything else is built beside it (the webhook, the test
# support, the benches): the dependency graph keeps their features out of the plugin's.
cargo build --release --workspace
if ! cmp -s "$alone" "$bin"; then
    echo "FAIL: the plugin built with --workspace differs from the plugin built alone; a member unified features into its dependencies (cargo tree -e features -i serde / nix / memchr)" >&2
    exit 1
fi
rm -f "$alone"
echo "$bin: byte-identical built alone and with --workspace"
for built in "$bin" target/x86_64-unknown-linux-musl/release/azure-ipoib-webhook; do
    if readelf -d "$built" | grep -q NEEDED; then
        echo "FAIL: $built needs shared libraries; it must be static" >&2
        exit 1
    fi
    echo "$built: static, $(stat -c %s "$built") bytes"
done
# The aarch64 builds too, before the tests: the image tests put both architectures in an index.
# tests/aarch64.sh checks and tests them.
cargo build --release --target aarch64-unknown-linux-musl
cargo build --release -p azure-ipoib-webhook --target aarch64-unknown-linux-musl

step "the quick start's demo: the real host-device chain on the sample pool"
cni-frontend/demo.sh

step "kvp-core as a library: pedantic lints, docs, doc examples, package"
cargo clippy -p kvp-core -- -W clippy::pedantic -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc -p kvp-core --no-deps
# The host crate is for reuse too (a VM agent): its docs build without a broken link.
RUSTDOCFLAGS="-D warnings" cargo doc -p ipoib-host --no-deps
cargo test --doc -p kvp-core
# --allow-dirty lets a local run mid-change check it too; CI runs it on a clean clone.
cargo publish --dry-run -p kvp-core --allow-dirty

step "deploy/: every manifest validates; every embedded CNI config passes check-config"
"${IPOIB_VENV:-/opt/azure-ipoib-venv}/bin/python3" tests/deploy/validate_manifests.py "$bin" deploy

step "charts/: helm lint, renders validated like deploy/, every value honoured, deploy/ is their render"
"${IPOIB_VENV:-/opt/azure-ipoib-venv}/bin/python3" tests/deploy/test_charts.py "$bin"

step "kvp-core for thumbv7em-none-eabi (no_std, no alloc)"
cargo build -p kvp-core --target thumbv7em-none-eabi

step "tests"
cargo test --workspace

step "aarch64: the static binaries, unit tests and integration tests under qemu-user"
tests/aarch64.sh

step "miri: the heap arena's unsafe code"
# The other unsafe code in sys/ (mmap, ioctl, raw fds) is syscalls, which miri cannot model;
# the tests above run it for real.
cargo +nightly miri test -p cni-frontend --lib --target x86_64-unknown-linux-gnu sys::arena

step "fuzz smoke (${FUZZ_SECONDS:-30} s per target)"
fuzz/smoke.sh "${FUZZ_SECONDS:-30}"

step "all passed"
