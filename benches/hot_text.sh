#!/usr/bin/env bash
# Prints the functions one ADD executes, as hash-free section patterns for
# cni-frontend/hot-text.ld: an unstripped release build runs one ADD under callgrind (in a
# throwaway netns with a veth, against the sample pool), and each std or musl function it names
# becomes a pattern. Our own crates are listed by module in that file, so they are left out here.
# Needs root, valgrind and python3. Usage: benches/hot_text.sh > /tmp/patterns
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "hot_text.sh: run as root (it creates a netns)" >&2; exit 1; }
work=$(mktemp -d) netns=hot-text-$$
trap 'ip netns del "$netns" 2>/dev/null; rm -rf "$work"' EXIT
CARGO_PROFILE_RELEASE_STRIP=false cargo build --release -q -p cni-frontend --target-dir "$work/target"
ip netns add "$netns"
ip link add "hot$$" type veth peer name "hotp$$"
ip link set "hotp$$" netns "$netns"
ip -n "$netns" link set "hotp$$" name net1
ip -n "$netns" link set net1 address 00:15:5d:33:ff:0b
conf='{"cniVersion":"1.0.0","name":"n","ipam":{"type":"azure-ipoib-ipam-cni","kvpPath":"'$PWD'/tests/fixtures/kvp_pool_0.azure-sample","routes":[{"dst":"10.0.0.0/8"}]}}'
env -i CNI_COMMAND=ADD CNI_CONTAINERID=x CNI_NETNS="/var/run/netns/$netns" CNI_IFNAME=net1 CNI_PATH=/x \
    AZURE_IPOIB_KVP_DIR="$PWD/tests/fixtures" \
    valgrind -q --tool=callgrind --demangle=no --callgrind-out-file="$work/cg.out" \
    "$work/target/x86_64-unknown-linux-musl/release/azure-ipoib-ipam-cni" <<<"$conf" >/dev/null ||
    # Debian 12's valgrind (3.19) has no openat2, so under it the ADD ends at the pool's open
    # (code 102: "openat2 ... is not available"). What runs after it (the mapping, kvp-core, the
    # result) is our crates, listed by module, and the same std formatting already listed: keep
    # the existing patterns and add what this run prints.
    echo "hot_text.sh: the ADD failed under valgrind (no openat2 before valgrind 3.22?); patterns up to the pool's open only" >&2
python3 - "$work/cg.out" <<'PY'
import re, sys
names = set(re.findall(r"^c?fn=\(\d+\) (\S+)", open(sys.argv[1]).read(), re.M))
ours = ("_ZN12cni_frontend", "_ZN8kvp_core", "serde_json_core", "heapless", "_ZN6memchr", "_ZN3nix", "cni_frontend..")
patterns = []
for name in sorted(names):
    name = name.split("'")[0]
    if name.startswith(("0x", "(")) or any(o in name for o in ours):
        continue
    if name.startswith("_ZN"):  # legacy mangling: drop the trailing hash
        pattern = "_ZN" + re.sub(r"17h[0-9a-f]{16}E$", "", name[3:]) + "*"
    elif name.startswith("_R"):  # v0 mangling: drop everything up to the crate hash
        m = re.search(r"Cs[0-9A-Za-z]+_(.*)$", name)
        pattern = "_R*" + re.sub(r"(0?B[0-9A-Za-z]*_)+$", "", m.group(1) if m else name) + "*"
    else:  # musl: one section per function, by its plain name
        pattern = name
    line = "    *(.text.%s)" % pattern.replace("$", "?")
    if line not in patterns:
        patterns.append(line)
print("\n".join(patterns))
PY
