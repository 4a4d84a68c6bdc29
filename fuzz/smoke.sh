#!/usr/bin/env bash
# Runs every fuzz target for a short while and fails if any of them crashes (or fails to build).
# CI calls it; a crash input is left in fuzz/artifacts/<target>/ (see regressions/README.md).
# Usage: fuzz/smoke.sh [SECONDS]   (per target; default 30)
set -euo pipefail
secs=${1:-30}
if ! [[ $secs =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS]" >&2
    exit 2
fi
cd "$(dirname "$0")"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "smoke: cargo-fuzz is missing, installing it" >&2
    cargo install cargo-fuzz --locked
fi

# cargo-fuzz needs nightly (-Z sanitizer flags). A machine with only a stable toolchain can
# still run it with RUSTC_BOOTSTRAP=1, which lets stable accept those flags.
if rustup run nightly rustc --version >/dev/null 2>&1; then
    fuzz=(cargo +nightly fuzz)
else
    echo "smoke: no nightly toolchain; using the default one with RUSTC_BOOTSTRAP=1" >&2
    export RUSTC_BOOTSTRAP=1
    fuzz=(cargo fuzz)
fi

# New inputs go to a scratch corpus so the committed seeds in corpus/<target>/ stay as they are.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

"${fuzz[@]}" build
failed=()
for target in $("${fuzz[@]}" list); do
    corpora=("$scratch/$target")
    mkdir -p "$scratch/$target"
    if [[ -d corpus/$target ]]; then
        corpora+=("corpus/$target")
    fi
    echo "smoke: $target for ${secs}s"
    if "${fuzz[@]}" run "$target" "${corpora[@]}" -- -max_total_time="$secs" >"$scratch/$target.log" 2>&1; then
        grep -E '^Done [0-9]+ runs' "$scratch/$target.log" || true
    else
        tail -n 40 "$scratch/$target.log"
        failed+=("$target")
    fi
done

if ((${#failed[@]})); then
    echo "smoke: FAILED: ${failed[*]} (crash inputs, if any, are in fuzz/artifacts/)" >&2
    exit 1
fi
echo "smoke: all fuzz targets ran ${secs}s without a crash"
