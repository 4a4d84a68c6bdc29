#!/usr/bin/env bash
# Prints the functions one ADD executes, as hash-free section patterns for the plugin's linker
# script: an unstripped release build runs one ADD (in a throwaway netns with a veth, against the
# sample pool), and each std, musl or compiler-builtins function it runs becomes a pattern. Our own
# crates are matched whole, by crate, in the script, so they are left out here.
#
#   benches/hot_text.sh [x86_64] > /tmp/patterns   # for cni-frontend/hot-text.ld
#   benches/hot_text.sh aarch64  > /tmp/patterns   # for cni-frontend/hot-text-aarch64.ld
#
# The ADD runs under qemu-user (qemu-x86_64-static or qemu-aarch64-static, Debian's
# qemu-user-static 10, which emulates openat2): qemu logs each instruction it executes (-d in_asm,
# one instruction per block), and the link's map (cni-frontend/build.rs writes it) names the input
# section holding each address. So the patterns are section names, which is what the linker
# matches: musl's are its strong symbols' (`__fstat`, not `fstat`), and a function in a plain
# `.text` (musl's assembly, crt1's `_start`, the compiler-builtins atomics) is named by its archive
# member. Only the set of code executed is taken from qemu, never a time. qemu lacks SIOCGSKNS,
# so the ADD takes the procfs way back to its netns there: a few more functions listed than a
# native ADD runs, which costs nothing.
# Needs root, python3 and qemu-user-static.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-x86_64}
case $arch in
x86_64 | aarch64) ;;
*) echo "hot_text.sh: architecture x86_64 or aarch64, not $arch" >&2; exit 1 ;;
esac
[ "$(id -u)" = 0 ] || { echo "hot_text.sh: run as root (it creates a netns)" >&2; exit 1; }
qemu=$(command -v "qemu-$arch-static") || { echo "hot_text.sh: qemu-$arch-static missing (tests/setup.sh)" >&2; exit 1; }
work=$(mktemp -d) netns=hot-text-$$
trap 'ip netns del "$netns" 2>/dev/null; rm -rf "$work"' EXIT
ip netns add "$netns"
ip link add "hot$$" type veth peer name "hotp$$"
ip link set "hotp$$" netns "$netns"
ip -n "$netns" link set "hotp$$" name net1
ip -n "$netns" link set net1 address 00:15:5d:33:ff:0b
conf='{"cniVersion":"1.0.0","name":"n","ipam":{"type":"azure-ipoib-ipam-cni","kvpPath":"'$PWD'/tests/fixtures/kvp_pool_0.azure-sample","routes":[{"dst":"10.0.0.0/8"}]}}'

target=$arch-unknown-linux-musl
CARGO_PROFILE_RELEASE_STRIP=false cargo build --release -q -p cni-frontend --target "$target" --target-dir "$work/target"
map=$(echo "$work"/target/"$target"/release/build/cni-frontend-*/out/azure-ipoib-ipam-cni.map)
env -i CNI_COMMAND=ADD CNI_CONTAINERID=x CNI_NETNS="/var/run/netns/$netns" CNI_IFNAME=net1 CNI_PATH=/x \
    AZURE_IPOIB_KVP_DIR="$PWD/tests/fixtures" \
    "$qemu" -one-insn-per-tb -d in_asm,nochain -D "$work/in_asm.log" \
    "$work/target/$target/release/azure-ipoib-ipam-cni" <<<"$conf" >/dev/null

python3 - "$work/in_asm.log" "$map" <<'PY'
import bisect, re, sys
executed = sorted({int(m.group(1), 16) for m in (re.match(r"^0x([0-9a-f]+):", l) for l in open(sys.argv[1])) if m})
lines = open(sys.argv[2]).read().split("\n")
sections = []  # (start, end, file, input section)
if lines[0].lstrip().startswith("VMA"):
    # rust-lld: "VMA LMA Size Align" then, for an input section, "file:(section)".
    for line in lines:
        m = re.match(r"^\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+\s+(\S.*):\((\.text[^)]*)\)$", line)
        if m and int(m.group(2), 16) > 0:
            start = int(m.group(1), 16)
            sections.append((start, start + int(m.group(2), 16), m.group(3), m.group(4)))
else:
    # GNU ld: " section address size file", the section on a line of its own when it is long.
    pending = None
    for line in lines[lines.index("Linker script and memory map"):]:
        m = re.match(r"^ (\.text\S*)(?:\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+))?\s*$", line)
        if m and m.group(2) is None:
            pending = m.group(1)
            continue
        m2 = m or re.match(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)\s*$", line)
        if m2 and (m or pending):
            name, start, size, source = (m.group(1), *m.group(2, 3, 4)) if m else (pending, *m2.group(1, 2, 3))
            if int(size, 16) > 0:
                sections.append((int(start, 16), int(start, 16) + int(size, 16), source, name))
        pending = None
sections.sort()
starts = [s[0] for s in sections]
# Our crates and the dependencies the script names whole, in either mangling scheme.
ours = re.compile(r"cni_frontend|ipoib_host|kvp_core|serde_json_core|heapless|_ZN6memchr|_R.*6memchr|_ZN3nix|_R.*3nix")
patterns = []
for address in executed:
    i = bisect.bisect_right(starts, address) - 1
    if i < 0 or not sections[i][0] <= address < sections[i][1]:
        continue
    _, _, source, section = sections[i]
    name = re.sub(r"^\.text\.", "", section)
    if "_ZN" in name or "_R" in name:  # LTO's numbered clones (`.380`): the pattern's `*` takes them
        name = re.sub(r"(\.llvm)?\.\d+$", "", name)
    if section == ".text":  # assembly without per-function sections: name the archive member
        m = re.match(r".*/([^/(]+?)(?:-[0-9a-f]+)?\.(a|rlib)\(([0-9a-f]+-)?([^)]+)\)$", source)
        if m:  # archive and member without their build hashes
            line = "    *%s*.%s:%s%s(.text)" % (m.group(1), m.group(2), "*-" if m.group(3) else "", m.group(4))
        else:
            line = "    *%s(.text)" % source.split("/")[-1]
    elif ours.search(name):
        continue  # matched by crate in the script
    elif "_ZN" in name:  # legacy mangling: drop the trailing hash
        line = "    *(.text.%s*)" % re.sub(r"17h[0-9a-f]{16}E$", "", name)
    elif "_R" in name:  # v0 mangling: from the first crate name on, each crate's hash a `*`
        prefix, _, rest = name.partition("_R")
        m = re.search(r"Cs[0-9A-Za-z]+_(.*)$", rest)
        rest = re.sub(r"Cs[0-9A-Za-z]+_(?=\d)", "*", m.group(1) if m else rest)
        line = "    *(.text.%s_R*%s*)" % (prefix, re.sub(r"(0?B[0-9A-Za-z]*_)+$", "", rest))
    else:  # musl and compiler-builtins C: one section per function, by its section name
        line = "    *(.text.%s)" % name
    line = line.replace("$", "?")
    if line not in patterns:
        patterns.append(line)
print("\n".join(patterns))
PY
