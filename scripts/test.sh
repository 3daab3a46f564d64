#!/usr/bin/env bash
# Builds pivot (release) and the static probe, runs the workspace's unit
# tests, then the black-box suite against target/x86_64-unknown-linux-gnu/release/pivot.
#
# usage: scripts/test.sh [FILTER]   (FILTER selects black-box tests by name)
# Exits non-zero if anything failed; the last thing printed is the
# black-box runner's closing line.
set -euo pipefail
cd "$(dirname "$0")/.."

section() { printf '\n===== %s =====\n' "$*"; }

section "build pivot (release)"
cargo build --release -p pivot

section "build probe (static)"
cargo build --release -p probe

section "unit tests"
unit=0
cargo test --workspace --exclude pivot-tests || unit=$?

section "black-box tests"
blackbox=0
PIVOT_BIN=${PIVOT_BIN:-$PWD/target/x86_64-unknown-linux-gnu/release/pivot} \
    PROBE_BIN=$PWD/target/x86_64-unknown-linux-gnu/release/probe \
    cargo test -p pivot-tests --test blackbox -- ${1:+"$1"} || blackbox=$?

# The rootfs tests once more with MS_MOVE + chroot instead of pivot_root
# (skipped when a filter was given).
nopivot=0
if [ -z "${1:-}" ]; then
    section "black-box rootfs tests with --no-pivot"
    for part in mounts:: dev:: hostile:: inside::; do
        PIVOT_TEST_NO_PIVOT=1 \
            PIVOT_BIN=${PIVOT_BIN:-$PWD/target/x86_64-unknown-linux-gnu/release/pivot} \
            PROBE_BIN=$PWD/target/x86_64-unknown-linux-gnu/release/probe \
            cargo test -q -p pivot-tests --test blackbox -- "$part" || nopivot=$?
    done
fi

if [ "$unit" -ne 0 ] || [ "$blackbox" -ne 0 ] || [ "$nopivot" -ne 0 ]; then
    exit 1
fi
