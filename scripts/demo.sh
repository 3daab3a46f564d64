#!/usr/bin/env bash
# Builds pivot and the static probe, makes a busybox bundle in ./demo whose
# process prints its own mount table, runs it, and cleans up.
#
# usage: scripts/demo.sh   (as root)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "demo: run as root (pivot needs it to create namespaces and mounts)" >&2
    exit 1
fi

if ! [ -x /bin/busybox ] || ! command -v jq >/dev/null; then
    bash scripts/setup.sh
fi

cargo build --release -p pivot
cargo build --release -p probe

pivot=target/x86_64-unknown-linux-gnu/release/pivot
id="demo-$RANDOM$RANDOM"
cleanup() {
    "$pivot" --root /run/pivot delete --force "$id" >/dev/null 2>&1 || true
    rm -rf demo
}
trap cleanup EXIT

rm -rf demo
PIVOT_BIN=$pivot bash scripts/mkbundle.sh demo cat /proc/self/mountinfo
"$pivot" --root /run/pivot run --bundle demo "$id"
