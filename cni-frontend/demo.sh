#!/usr/bin/env bash
# The main job on the bundled sample pool, exactly as a runtime runs it: build the plugin, make a
# throwaway pod netns holding a NIC with the sample's address, then ADD, CHECK and DEL through the
# real binary, printing each exchange. Cleans up after itself. Needs root (as every CNI plugin).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    echo "demo.sh: run as root (it creates a network namespace)" >&2
    exit 1
fi
command -v ip >/dev/null || { apt-get update -qq && apt-get install -y -qq iproute2 >/dev/null; }
rustup target list --installed | grep -qx x86_64-unknown-linux-musl || rustup target add x86_64-unknown-linux-musl

cargo build --release --quiet
plugin=$PWD/target/x86_64-unknown-linux-musl/release/azure-ipoib-ipam-cni
pool=$PWD/tests/fixtures/kvp_pool_0.azure-sample

netns=ipoib-demo-$$
cleanup() { ip netns del "$netns" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$netns"
# The sample NIC is IPoIB 00:00:01:49:fe:80:…:00:15:5d:ff:fd:33:ff:0b; a veth can only carry a
# 6-byte address, so it carries the MAC that IPoIB address maps to (an Ethernet address maps to
# itself).
ip link add demo-host-$$ type veth peer name demo-pod-$$
ip link set demo-pod-$$ netns "$netns"
ip -n "$netns" link set demo-pod-$$ name net1
ip -n "$netns" link set net1 address 00:15:5d:33:ff:0b

conf='{"cniVersion":"0.3.1","name":"hostdev-net","type":"host-device","device":"ib0",
"ipam":{"type":"azure-ipoib-ipam-cni","kvpPath":"'"$pool"'"}}'

invoke() {
    local command=$1 stdin=$2 status=0 out
    echo "--- $command (CNI_NETNS=/var/run/netns/$netns CNI_IFNAME=net1)"
    echo "stdin:  $(tr -d '\n' <<<"$stdin")"
    out=$(env -i CNI_COMMAND="$command" CNI_CONTAINERID=demo CNI_NETNS="/var/run/netns/$netns" \
        CNI_IFNAME=net1 CNI_PATH=/opt/cni/bin "$plugin" <<<"$stdin") || status=$?
    echo "stdout: ${out:-(empty)}"
    echo "exit:   $status"
    [ "$status" = 0 ] || exit "$status"
    result=$out
}

echo "pool:   $pool"
echo "plugin: $plugin"
invoke ADD "$conf"
prev=$result
# CHECK is defined from 0.4.0; the runtime passes the ADD result back as prevResult.
check_conf=$(sed 's/"cniVersion":"0.3.1"/"cniVersion":"0.4.0"/' <<<"$conf")
check_conf="${check_conf%\}},\"prevResult\":$(sed 's/"0.3.1"/"0.4.0"/' <<<"$prev")}"
invoke CHECK "$check_conf"
invoke DEL "$conf"
echo "--- done: the NIC with MAC 00155D33FF0B got $(grep -o '"address":"[^"]*"' <<<"$prev" | cut -d'"' -f4)"
