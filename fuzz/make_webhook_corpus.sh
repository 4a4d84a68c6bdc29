#!/usr/bin/env bash
# Regenerates the seed corpus of the webhook's fuzz target (committed; a few small files):
#   corpus/profile_request/  GetProfileConfig bodies as DRANet sends them, good and bad.
# Usage: fuzz/make_webhook_corpus.sh   (from anywhere; rewrites the seed files it names, nothing else)
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/profile_request
n() { printf '%s' "$2" >"corpus/profile_request/$1"; }
n dranet_ipoib '{"device":{"mac_address":"00:00:01:49:fe:80:00:00:00:00:00:00:00:15:5d:ff:fd:33:ff:0b","pci_address":"0000:00:02.0","name":"ib0"},"claim_uid":"3f2a","config":{"profile":"ipoib","interface":{"name":"net1","addresses":["10.0.0.1/24"]}}}'
n ethernet_mac '{"device":{"mac_address":"00:15:5D:33:FF:0B"}}'
n unknown_fields '{"device":{"mac_address":"00:15:5d:33:ff:0b","vendor":{"id":5555}},"extra":[1,2.5e3,null,true,"\u00e9"]}'
n no_mac '{"device":{"pci_address":"0000:00:02.0"},"config":{"profile":"ipoib"}}'
n bad_mac '{"device":{"mac_address":"00:15:5d:33:ff"}}'
n mac_not_string '{"device":{"mac_address":12}}'
n array '[{"device":{"mac_address":"00:15:5d:33:ff:0b"}}]'
n truncated '{"device":{"mac_address":"00:15:5d'
n escaped '{"device":{"mac_address":"00:15:5d:33:ff:0\u0062"},"config":{"profile":"\ud83d\ude00"}}'
