#!/usr/bin/env bash
# Prints the functions one ADD executes, as hash-free section patterns for the plugin's linker
# script: an unstripped release build runs one ADD (in a throwaway netns with a veth, against the
# sample pool), and each std, musl or compiler-builtins function it runs becomes a pattern. Our own
# crates are listed by module in the script, so they are left out here.
#
#   benches/hot_text.sh [x86_64] > /tmp/patterns   # for cni-frontend/hot-text.ld: callgrind names
#   benches/hot_text.sh aarch64  > /tmp/patterns   # for cni-frontend/hot-text-aarch64.ld
#
# aarch64 runs under qemu-aarch64-static (valgrind cannot run it on x86_64): qemu logs each
# instruction it executes (-d in_asm, one instruction per block), and the linker's map names the
# input section holding each address, so a function in a plain `.text` (musl's assembly, the
# compiler-builtins atomics) is named by its archive member. Only the set of code executed is
# taken from qemu, never a time.
# Needs root, python3, and valgrind (x86_64) or qemu-user-static (aarch64).
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-x86_64}
[ "$(id -u)" = 0 ] || { echo "hot_text.sh: run as root (it creates a netns)" >&2; exit 1; }
work=$(mktemp -d) netns=hot-text-$$
trap 'ip netns del "$netns" 2>/dev/null; rm -rf "$work"' EXIT
ip netns add "$netns"
ip link add "hot$$" type veth peer name "hotp$$"
ip link set "hotp$$" netns "$netns"
ip -n "$netns" link set "hotp$$" name net1
ip -n "$netns" link set net1 address 00:15:5d:33:ff:0b
conf='{"cniVersion":"1.0.0","name":"n","ipam":{"type":"azure-ipoib-ipam-cni","kvpPath":"'$PWD'/tests/fixtures/kvp_pool_0.azure-sample","routes":[{"dst":"10.0.0.0/8"}]}}'
add() {
    env -i CNI_COMMAND=ADD CNI_CONTAINERID=x CNI_NETNS="/var/run/netns/$netns" CNI_IFNAME=net1 CNI_PATH=/x \
        AZURE_IPOIB_KVP_DIR="$PWD/tests/fixtures" "$@" <<<"$conf" >/dev/null
}

case $arch in
x86_64)
    CARGO_PROFILE_RELEASE_STRIP=false cargo build --release -q -p cni-frontend --target-dir "$work/target"
    add valgrind -q --tool=callgrind --demangle=no --callgrind-out-file="$work/cg.out" \
        "$work/target/x86_64-unknown-linux-musl/release/azure-ipoib-ipam-cni" ||
        # Debian 12's valgrind (3.19) has no openat2, so under it the ADD ends at the pool's open
        # (code 102: "openat2 ... is not available"). What runs after it (the mapping, kvp-core,
        # the result) is our crates, listed by module, and the same std formatting already
        # listed: keep the existing patterns and add what this run prints.
        echo "hot_text.sh: the ADD failed under valgrind (no openat2 in valgrind 3.19); patterns up to the pool's open only" >&2
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
    ;;
aarch64)
    CARGO_PROFILE_RELEASE_STRIP=false cargo rustc --release -q -p cni-frontend --bin azure-ipoib-ipam-cni \
        --target aarch64-unknown-linux-musl --target-dir "$work/target" -- -C link-arg=-Map="$work/map"
    add qemu-aarch64-static -one-insn-per-tb -d in_asm,nochain -D "$work/in_asm.log" \
        "$work/target/aarch64-unknown-linux-musl/release/azure-ipoib-ipam-cni"
    python3 - "$work/in_asm.log" "$work/map" <<'PY'
import bisect, re, sys
executed = sorted({int(m.group(1), 16) for m in (re.match(r"^0x([0-9a-f]+):", l) for l in open(sys.argv[1])) if m})
# rust-lld's map: "VMA LMA Size Align" then, for an input section, "file:(section)".
sections = []
for line in open(sys.argv[2]):
    m = re.match(r"^\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+\s+(\S.*):\((\.text[^)]*)\)$", line)
    if m and int(m.group(2), 16) > 0:
        start = int(m.group(1), 16)
        sections.append((start, start + int(m.group(2), 16), m.group(3), m.group(4)))
sections.sort()
starts = [s[0] for s in sections]
ours = ("_ZN12cni_frontend", "_ZN8kvp_core", "serde_json_core", "heapless", "_ZN6memchr", "_ZN3nix", "cni_frontend..")
patterns = []
for address in executed:
    i = bisect.bisect_right(starts, address) - 1
    if i < 0 or not sections[i][0] <= address < sections[i][1]:
        continue
    _, _, source, section = sections[i]
    name = re.sub(r"^\.text\.", "", section)
    if section == ".text":  # assembly without per-function sections: name the archive member
        m = re.match(r".*/([^/(]+?)(?:-[0-9a-f]+)?\.(a|rlib)\(([0-9a-f]+-)?([^)]+)\)$", source)
        if m:  # archive and member without their build hashes
            line = "    *%s*.%s:%s%s(.text)" % (m.group(1), m.group(2), "*-" if m.group(3) else "", m.group(4))
        else:
            line = "    *%s(.text)" % source.split("/")[-1]
    elif any(o in name for o in ours):
        continue  # our modules are listed whole, and their cold code (SIOCGSKNS's fallback) stays out
    elif "_ZN" in name:  # legacy mangling: drop the trailing hash
        line = "    *(.text.%s*)" % re.sub(r"17h[0-9a-f]{16}E$", "", name)
    elif "_R" in name:  # v0 mangling: drop everything up to the crate hash
        prefix, _, rest = name.partition("_R")
        m = re.search(r"Cs[0-9A-Za-z]+_(.*)$", rest)
        line = "    *(.text.%s_R*%s*)" % (prefix, re.sub(r"(0?B[0-9A-Za-z]*_)+$", "", m.group(1) if m else rest))
    else:  # musl and compiler-builtins C: one section per function, by its section name
        line = "    *(.text.%s)" % name
    line = line.replace("$", "?")
    if line not in patterns:
        patterns.append(line)
print("\n".join(patterns))
PY
    ;;
*) echo "hot_text.sh: architecture x86_64 or aarch64, not $arch" >&2; exit 1 ;;
esac
