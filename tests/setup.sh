#!/usr/bin/env bash
# Installs what the build, the tests and the demo need on a fresh Debian machine, and nothing
# that is already there. Idempotent; needs root for apt.
set -euo pipefail

need_apt=()
command -v ip >/dev/null || need_apt+=(iproute2)
[ -x /usr/lib/cni/host-device ] || need_apt+=(containernetworking-plugins)
[ -x /usr/sbin/hv_kvp_daemon ] || need_apt+=(hyperv-daemons)
[ -f /usr/include/linux/hyperv.h ] || need_apt+=(linux-libc-dev)
command -v cc >/dev/null || need_apt+=(gcc libc6-dev)
command -v strace >/dev/null || need_apt+=(strace)
command -v unshare >/dev/null || need_apt+=(util-linux)
[ -x /usr/bin/time ] || need_apt+=(time)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "setup: apt-get install ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

installed_targets=$(rustup target list --installed)
for target in x86_64-unknown-linux-musl thumbv7em-none-eabi; do
    grep -qx "$target" <<<"$installed_targets" || rustup target add "$target"
done
rustup component list --installed | grep -q '^clippy' || rustup component add clippy rustfmt
# Miri checks the allocator in cni-frontend's sys/ (the crate's unsafe code); it is nightly-only.
if rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup component list --toolchain nightly --installed | grep -q '^miri' ||
        rustup component add --toolchain nightly miri rust-src
else
    rustup toolchain install nightly --profile minimal --component miri,rust-src
fi
