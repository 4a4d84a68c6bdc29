#!/usr/bin/env bash
# Regenerates the seed corpora of the cni-frontend fuzz targets (committed; a few small files each):
#   corpus/netconf/        network configs as runtimes send them, good and bad;
#   corpus/netlink_reply/  a 4-byte sequence number (native order), then an rtnetlink reply:
#                          real RTM_NEWLINK/NLMSG_ERROR answers captured from the kernel in a
#                          throwaway netns (needs root and `ip`), and hand-built IPoIB ones.
# Usage: fuzz/make_frontend_corpus.sh   (from anywhere; rewrites the seed files it names, nothing else)
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/netconf corpus/netlink_reply

# --- netconf
n() { printf '%s' "$2" >"corpus/netconf/$1"; }
n host_device_0.3.1 '{"cniVersion":"0.3.1","name":"hostdev-net","type":"host-device","device":"ib0","pciBusID":"0000:00:08.0","deviceID":"0000:00:08.0","runtimeConfig":{"deviceID":"0101:00:00.0"},"ipam":{"type":"azure-ipoib-ipam-cni"}}'
n minimal_ipam '{"cniVersion":"1.0.0","name":"n","ipam":{"type":"azure-ipoib-ipam-cni"}}'
n routes '{"cniVersion":"1.1.0","name":"n","ipam":{"type":"azure-ipoib-ipam-cni","kvpPath":"/tmp/p","prefixLength":24,"lockTimeoutMs":0,"routes":[{"dst":"10.0.0.0/8","gw":"172.16.0.1"},{"dst":"fd00::/8","mtu":9000,"advmss":1400,"priority":5,"table":100,"scope":253}]}}'
n prev_result '{"cniVersion":"0.4.0","name":"hostdev-net","type":"host-device","device":"ib0","prevResult":{"cniVersion":"0.4.0","interfaces":[{"name":"net1","sandbox":"/var/run/netns/p"}],"ips":[{"version":"4","address":"172.16.1.2/16","interface":0}],"dns":{}},"ipam":{"type":"azure-ipoib-ipam-cni"}}'
n escaped_kvp_path '{"cniVersion":"0.3.1","name":"n\u00e9","ipam":{"type":"azure-ipoib-ipam-cni","kvpPath":"\/var\/lib\/hyperv\/.kvp_pool_0","unknown":[1,2,{"x":"\u00e9\ud83d\ude00"}]}}'
n gc_attachments '{"cniVersion":"1.1.0","name":"k8s-pod-network","cni.dev/valid-attachments":[{"containerID":"c1","ifname":"net1"}],"args":{"cni":{"labels":[{"k":"v"}]}},"weird":-1.5e+10,"flag":true,"nil":null,"ipam":{"type":"azure-ipoib-ipam-cni","lockTimeoutMs":60000}}'
n bad_prefix_type '{"cniVersion":"0.3.1","name":"n","ipam":{"prefixLength":"16"}}'
n unknown_version '{"cniVersion":"9.9.9","name":"n","ipam":{}}'
n bad_route '{"cniVersion":"0.3.1","name":"n","ipam":{"routes":[{"dst":"10.0.0.0/33"}]}}'
n duplicate_key '{"name":"n","name":"m","ipam":{}}'
n go_key_matching '{"CNIVERSION":"1.1.0","Name":"n","\u0069pam":{"kvp\u0050ath":"/a"},"IPAM":{"\u212avppath":"/b","PrefixLength":24,"routes":[{"DST":"10.0.0.0/8","mtu":null}],"logFile":"/var/log/ipoib.log","logLevel":"debug"}}'
n truncated '{"cniVersion":"0.3.1","name":"n","ipam":{'

# --- netlink_reply: hand-built (the layouts of cni-frontend/src/netlink.rs's unit tests)
python3 - corpus/netlink_reply <<'EOF'
import os, struct, sys
out, SEQ = sys.argv[1], 0x5eed
def attr(kind, val):
    a = struct.pack('=HH', 4 + len(val), kind) + val
    return a + b'\0' * (-len(a) % 4)
def msg(kind, seq, payload):
    m = struct.pack('=IHHII', 16 + len(payload), kind, 0, seq, 4242) + payload
    return m + b'\0' * (-len(m) % 4)
IB = bytes([0, 0, 1, 0x49, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x15, 0x5d, 0xff, 0xfd, 0x33, 0xff, 0x0b])
def newlink(seq, link_type, addr):
    p = struct.pack('=BBHiII', 0, 0, link_type, 7, 0x1043, 0) + attr(3, b'ib0\0') + attr(4, struct.pack('=I', 2044))
    return msg(16, seq, p + attr(1, addr) + attr(2, b'\xff' * 20))
def err(seq, errno):
    return msg(2, seq, struct.pack('=i', -errno) + b'\0' * 16)
def write(name, data):
    with open(os.path.join(out, name), 'wb') as f:
        f.write(struct.pack('=I', SEQ) + data)
write('ipoib_hand_built', newlink(SEQ, 32, IB))
write('multipart_ack_other_seq', err(SEQ + 1, 19) + newlink(SEQ - 1, 1, b'\x01' * 6) + err(SEQ, 0) + newlink(SEQ, 32, IB))
write('nested_flag_address', msg(16, SEQ, struct.pack('=BBHiII', 0, 0, 1, 3, 0, 0) + attr(1 | 0x8000, bytes([0, 0x15, 0x5d, 0x33, 0xff, 0x0b]))))
write('done', msg(3, SEQ, b'\0' * 4))
# IFLA_LINK (5) before the address, as rtnl_fill_ifinfo orders it: an IPoIB child (index 9 on
# parent 7), which the plugin refuses, and a veth naming its peer, which it serves.
def newlink_lower(link_type, index, lower, addr):
    p = struct.pack('=BBHiII', 0, 0, link_type, index, 0x1043, 0) + attr(3, b'ib0.8001\0') + attr(4, struct.pack('=I', 2044))
    return msg(16, SEQ, p + attr(5, struct.pack('=i', lower)) + attr(1, addr) + attr(2, b'\xff' * 20))
write('ipoib_child', newlink_lower(32, 9, 7, IB))
write('veth_with_peer_link', newlink_lower(1, 9, 8, bytes([0, 0x15, 0x5d, 0x33, 0xff, 0x0b])))
EOF

# --- netlink_reply: captured from the kernel, asked the way cni-frontend asks (RTM_GETLINK by name)
if [[ $(id -u) != 0 ]]; then
    echo "make_frontend_corpus: not root; kept the captured netlink_reply seeds as they are" >&2
    exit 0
fi
ns=fuzzseed$$
ip netns add "$ns"
trap 'ip netns del "$ns"' EXIT
ip -n "$ns" link add veth0 type veth peer name veth1
ip -n "$ns" link set veth0 address 00:15:5d:33:ff:0b
ip -n "$ns" tuntap add dev tun0 mode tun
ip -n "$ns" link set lo up
ip netns exec "$ns" python3 - corpus/netlink_reply <<'EOF'
import os, socket, struct, sys
out, SEQ = sys.argv[1], 0x5eed
def request(name, seq):
    n = name.encode() + b'\0'
    a = struct.pack('=HH', 4 + len(n), 3) + n
    body = struct.pack('=BBHiII', 0, 0, 0, 0, 0, 0) + a + b'\0' * (-len(a) % 4)
    return struct.pack('=IHHII', 16 + len(body), 18, 1, seq, 0) + body
for name, seed in [('veth0', 'veth_ether'), ('lo', 'loopback'), ('tun0', 'tun_no_address'), ('nosuch0', 'enodev_error')]:
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    s.sendto(request(name, SEQ), (0, 0))
    with open(os.path.join(out, seed), 'wb') as f:
        f.write(struct.pack('=I', SEQ) + s.recv(65536))
    s.close()
EOF
