#!/usr/bin/env bash
# The webhook under the load the Go original was measured with: wrk -t1 -c16 -d3s over TCP,
# POSTing /GetProfileConfig for one 20-byte MAC against a one-pair pool, logging every request
# (to a file, as a container runtime would take it). Reports req/s and peak RSS (VmHWM).
# Usage: benches/webhook.sh [DURATION]   (default 3s); WEBHOOK_BIN=path to skip the build.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-3s}
command -v wrk >/dev/null || { echo "webhook bench: wrk is missing (tests/setup.sh installs it)" >&2; exit 1; }

bin=${WEBHOOK_BIN:-target/x86_64-unknown-linux-musl/release/azure-ipoib-webhook}
if [[ -z ${WEBHOOK_BIN:-} ]]; then
    cargo build --release -p azure-ipoib-webhook >&2
fi
work=$(mktemp -d)
pid=
cleanup() {
    [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# One record: the 512-byte key field, then the 2048-byte value field, each NUL-padded.
python3 - "$work/pool" <<'PY'
import sys
key, value = b"IPoIB_Data", b"NUMPAIRS:1|00155D33FF0B:172.16.1.2"
open(sys.argv[1], "wb").write(key.ljust(512, b"\0") + value.ljust(2048, b"\0"))
PY
cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"device":{"mac_address":"00:00:01:49:fe:80:00:00:00:00:00:00:00:15:5d:ff:fd:33:ff:0b","pci_address":"0000:00:02.0","name":"ib0"},"claim_uid":"c","config":{"profile":""}}'
LUA

port=${WEBHOOK_PORT:-18180}
"$bin" --bind-address "127.0.0.1:$port" --kvp-path "$work/pool" 2>"$work/log" &
pid=$!
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.05
done
answer=$(curl -fs -X POST --data-binary @<(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$work/post.lua") "http://127.0.0.1:$port/GetProfileConfig")
[[ $answer == '{"interface":{"addresses":["172.16.1.2/16"]}}' ]] || { echo "webhook bench: wrong answer: $answer" >&2; exit 1; }

# The server's CPU time (user + system, clock ticks) across the run: its cost per request does
# not depend on how busy the machine's other cores are, its requests/s does.
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
cpu0=$(cpu)
wrk -t1 -c16 -d"$duration" -s "$work/post.lua" "http://127.0.0.1:$port/GetProfileConfig" | tee "$work/wrk"
cpu1=$(cpu)
rss=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
lines=$(grep -c 'path=/GetProfileConfig status=200' "$work/log" || true)
non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk")
rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk")
requests=$(awk '/requests in/ {print $1}' "$work/wrk")
cpu_us=$(((cpu1 - cpu0) * 1000000 / $(getconf CLK_TCK) / requests))
echo "webhook: ${rps} req/s, peak RSS ${rss} KiB, server CPU ${cpu_us} µs per request (at most $((1000000 / (cpu_us > 0 ? cpu_us : 1))) req/s on one core of its own), ${lines} request lines logged, non-2xx: ${non2xx:-0}"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
