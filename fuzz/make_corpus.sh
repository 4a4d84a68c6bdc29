#!/usr/bin/env bash
# Regenerates the seed corpora in fuzz/corpus/<target>/ (committed; a few small files each).
# Pools are written by kvp-core's own encoder (the write_pool example); stale bytes are then
# made the way hv_kvp_daemon leaves them: a shorter string and its NUL copied over a longer one.
# Usage: fuzz/make_corpus.sh   (from anywhere; rewrites the seed files it names, nothing else)
set -euo pipefail
cd "$(dirname "$0")/.."
c=fuzz/corpus
mkdir -p "$c/pool" "$c/ipoib_value" "$c/hwaddr" "$c/resolve"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cargo build -q -p kvp-core --example write_pool
write_pool() { cargo run -q -p kvp-core --example write_pool -- "$@"; }
# overwrite FILE OFFSET TEXT: TEXT and a NUL over FILE at OFFSET, the rest left as it was.
overwrite() { printf '%s\0' "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }

sample='NUMPAIRS:1|00155D33FF0B:172.16.1.2'
two='NUMPAIRS:2|00155D33FF0B:172.16.1.2|00155D33FF0C:fd00::3'

# --- pool: whole pool files
write_pool "$c/pool/sample" "IPoIB_Data=$sample"
write_pool "$c/pool/empty"
write_pool "$c/pool/realistic" "VirtualMachineName=vm-ib-0" "HostName=node-17" "IPoIB_Data=$two" \
    "ipoib_data=NUMPAIRS:0" "HostName=node-18"
write_pool "$c/pool/stale_value" "IPoIB_Data=$two"
overwrite "$c/pool/stale_value" 512 "$sample"
write_pool "$c/pool/stale_key" "IPoIB_Data_previous=$sample" "HostName=x"
overwrite "$c/pool/stale_key" 0 "IPoIB_Data"
write_pool "$tmp/two" "a=1" "IPoIB_Data=$sample"
head -c 4096 "$tmp/two" >"$c/pool/partial_record" # what an unlocked reader sees mid-rewrite
write_pool "$c/pool/not_utf8" $'k\xff=v\xc3' "IPoIB_Data=$sample"
head -c 2560 /dev/zero | tr '\0' 'A' >"$c/pool/no_nul"

# --- ipoib_value: the value of the IPoIB_Data record
v() { printf '%s' "$2" >"$c/ipoib_value/$1"; }
v sample "$sample"
v zero 'NUMPAIRS:0'
v two_v4_v6 "$two"
v eight 'NUMPAIRS:8|00155D33FF00:172.16.1.0|00155D33FF01:172.16.1.1|00155D33FF02:172.16.1.2|00155D33FF03:172.16.1.3|00155D33FF04:172.16.1.4|00155D33FF05:172.16.1.5|00155D33FF06:172.16.1.6|00155d33ff99:::ffff:10.0.0.1'
v count_mismatch 'NUMPAIRS:2|00155D33FF0B:172.16.1.2'
v trailing_bar "$sample|"
v empty_pair 'NUMPAIRS:2|00155D33FF0B:1.2.3.4||'
v duplicate_mac 'NUMPAIRS:2|00155D33FF0B:1.2.3.4|00155d33ff0b:1.2.3.5'
v bad_mac 'NUMPAIRS:1|00155D33FFxB:1.2.3.4'
v bad_ip 'NUMPAIRS:1|00155D33FF0B:1.2.3.256'
v no_header 'numpairs:1|00155D33FF0B:1.2.3.4'
v count_overflow 'NUMPAIRS:4294967296'

# --- hwaddr: raw link addresses, sysfs address text, sysfs GID text
h() { printf "$2" >"$c/hwaddr/$1"; }
h ib_text '00:00:01:49:fe:80:00:00:00:00:00:00:00:15:5d:ff:fd:33:ff:0b\n'
h eth_text '00:15:5D:33:FF:0B'
h ib_bytes '\x00\x00\x01\x49\xfe\x80\x00\x00\x00\x00\x00\x00\x00\x15\x5d\xff\xfd\x33\xff\x0b'
h eth_bytes '\x00\x15\x5d\x33\xff\x0b'
h gid_text 'fe80:0000:0000:0000:0015:5dff:fd33:ff0b\n'
h gid_zero '0000:0000:0000:0000:0000:0000:0000:0000'
h bad_text '00:15:5d:33:ff:0g'

# --- resolve: [selector: even = 20-byte IPoIB, odd = 6-byte Ethernet][hwaddr][pool]
ib='\x00\x00\x01\x49\xfe\x80\x00\x00\x00\x00\x00\x00\x00\x15\x5d\xff\xfd\x33\xff\x0b'
r() { { printf "$2"; cat "$3"; } >"$c/resolve/$1"; }
r ib_sample "\x00$ib" "$c/pool/sample"
r eth_sample '\x01\x00\x15\x5d\x33\xff\x0b' "$c/pool/sample"
r ib_empty "\x00$ib" "$c/pool/empty"
r ib_stale "\x00$ib" "$c/pool/stale_value"
r ghost_pair '\x01\x00\x15\x5d\x33\xff\x0c' "$c/pool/stale_value"
r realistic '\x01\x00\x15\x5d\x33\xff\x0c' "$c/pool/realistic"
write_pool "$tmp/dup" "IPoIB_Data=NUMPAIRS:2|00155D33FF0B:172.16.1.2|00155d33ff0b:172.16.1.3"
r duplicate_mac "\x00$ib" "$tmp/dup"
