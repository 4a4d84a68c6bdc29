#!/usr/bin/env bash
# The chain a runtime runs, on the bundled sample pool: Debian's real host-device plugin moves a NIC
# into a throwaway pod netns and calls this plugin for its `ipam` section; then the pod's interface
# is shown with its address. ADD, CHECK and DEL, each exchange printed. Cleans up after itself.
# Runs as root from anywhere; installs what it needs (iproute2, containernetworking-plugins, the
# musl target).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    echo "demo.sh: run as root (it creates a network namespace): sudo env \"PATH=\$PATH\" $0" >&2
    exit 1
fi
command -v rustup >/dev/null || { echo "demo.sh: rustup not found on PATH; see README, Before you start" >&2; exit 1; }
need_apt=()
command -v ip >/dev/null || need_apt+=(iproute2)
[ -x /usr/lib/cni/host-device ] || need_apt+=(containernetworking-plugins)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "demo: apt-get install ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
rustup target list --installed | grep -qx x86_64-unknown-linux-musl || rustup target add x86_64-unknown-linux-musl

cargo build --release --quiet -p cni-frontend
plugin=$PWD/target/x86_64-unknown-linux-musl/release/azure-ipoib-ipam-cni
pool=$PWD/tests/fixtures/kvp_pool_0.azure-sample

# host-device finds the IPAM plugin by its `type` in CNI_PATH.
netns=ipoib-demo-$$ host_nic=demo-ib$$ cni_path=$(mktemp -d)
cleanup() {
    ip netns del "$netns" 2>/dev/null || true
    ip link del "$host_nic" 2>/dev/null || true
    rm -rf "$cni_path"
}
trap cleanup EXIT
ln -s "$plugin" "$cni_path/azure-ipoib-ipam-cni"
ln -s /usr/lib/cni/host-device "$cni_path/host-device"
ip netns add "$netns"
# A veth stands in for the InfiniBand NIC: it cannot carry the 20-byte IPoIB address, so it carries
# the 6-byte MAC that address maps to (a 6-byte address maps to itself).
ip link add "$host_nic" address 00:15:5d:33:ff:0b type veth peer name "demo-peer$$"
ip link set "demo-peer$$" up

value=$("$plugin" kvp get IPoIB_Data --path "$pool") # the operator CLI: the same binary without CNI_COMMAND
echo "== the host's data: $(basename "$pool"), record IPoIB_Data = $value"
echo "== the NIC: veth $host_nic stands in for IB NIC 00:00:01:49:fe:80:…:00:15:5d:ff:fd:33:ff:0b and"
echo "   carries 00:15:5d:33:ff:0b, the MAC that address maps to (port GUID bytes 0-2 and 5-7)"

conf='{"cniVersion":"0.3.1","name":"hostdev-net","type":"host-device","device":"'"$host_nic"'",
"ipam":{"type":"azure-ipoib-ipam-cni","kvpPath":"'"$pool"'"}}'

# The sample pool is not under /var/lib/hyperv, so the "runtime" here does what a node's admin
# does for another pool directory: AZURE_IPOIB_KVP_DIR in the runtime's environment, which
# host-device passes on to its IPAM plugin (a netconf cannot widen it; README, "Where netconf
# paths may lead").
invoke() {
    local command=$1 stdin=$2 status=0 out
    out=$(env -i CNI_COMMAND="$command" CNI_CONTAINERID=demo CNI_NETNS="/var/run/netns/$netns" \
        CNI_IFNAME=net1 CNI_PATH="$cni_path" AZURE_IPOIB_KVP_DIR="$(dirname "$pool")" \
        /usr/lib/cni/host-device <<<"$stdin") || status=$?
    out=$(tr -d ' \n' <<<"$out") # host-device indents its JSON; the values hold no spaces
    echo "stdin:  $(tr -d '\n' <<<"$stdin" | sed "s|$PWD/|…/|")"
    echo "stdout: ${out:-(empty)}"
    echo "exit:   $status"
    [ "$status" = 0 ] || exit "$status"
    result=$out
}

echo "== ADD: host-device moves $host_nic into pod netns $netns as net1, then runs azure-ipoib-ipam-cni"
invoke ADD "$conf"
prev=$result
echo "== inside the pod: ip -n $netns addr show net1"
ip -n "$netns" addr show net1 | grep -v '_lft'
mac=$(ip -n "$netns" -br link show net1 | awk '{print toupper($3)}' | tr -d ':')
address=$(grep -o '"address":"[^"]*"' <<<"$prev" | cut -d'"' -f4)
pair=$(tr '|' '\n' <<<"$value" | grep -n "^$mac:" | head -n 1)
echo "== why: net1's MAC is $mac; pair $((${pair%%:*} - 1)) of IPoIB_Data is ${pair#*:}, so $address (prefixLength defaults to 16)"
echo "== CHECK, as cniVersion 0.4.0 (CHECK exists from 0.4.0), with ADD's result passed back as prevResult"
check_conf=$(sed 's/"cniVersion":"0.3.1"/"cniVersion":"0.4.0"/' <<<"$conf")
check_conf="${check_conf%\}},\"prevResult\":$(sed 's/"0.3.1"/"0.4.0"/' <<<"$prev")}"
invoke CHECK "$check_conf" | grep -v '^stdin:'
echo "== DEL: host-device moves the NIC back to the host; the IPAM plugin has nothing to release"
invoke DEL "$conf" | grep -v '^stdin:'
