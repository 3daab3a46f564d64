#!/usr/bin/env bash
# Makes an OCI bundle in DIR from Debian's busybox-static (every applet
# linked in /bin) plus the static probe at /probe, with a config.json from
# `pivot spec` whose process has terminal false and runs ARGS (default: sh).
#
# usage: scripts/mkbundle.sh DIR [ARGS...]
#   PIVOT_BIN  runtime used for `spec` (default target/x86_64-unknown-linux-gnu/release/pivot)
#   PROBE      probe binary (default target/x86_64-unknown-linux-gnu/release/probe)
#   BUSYBOX    busybox binary (default /bin/busybox, from busybox-static)
set -euo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 DIR [ARGS...]" >&2
    exit 2
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=$1
shift
[ $# -gt 0 ] || set -- sh
pivot=${PIVOT_BIN:-$repo/target/x86_64-unknown-linux-gnu/release/pivot}
probe=${PROBE:-$repo/target/x86_64-unknown-linux-gnu/release/probe}
busybox=${BUSYBOX:-/bin/busybox}

for bin in "$pivot" "$probe" "$busybox"; do
    if [ ! -x "$bin" ]; then
        echo "mkbundle: $bin: not found or not executable (build it first)" >&2
        exit 1
    fi
done
if [ -e "$dir/config.json" ] || [ -e "$dir/rootfs" ]; then
    echo "mkbundle: $dir already holds a bundle" >&2
    exit 1
fi
if ! command -v jq >/dev/null; then
    echo "mkbundle: jq is needed to edit config.json (apt-get install jq)" >&2
    exit 1
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
rootfs=$dir/rootfs
mkdir -p "$rootfs"/{bin,etc,tmp,proc,sys,dev,root}
chmod 1777 "$rootfs/tmp"
# Copies, never links: a container must not reach the host's binaries.
install -m 0755 "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
done
install -m 0755 "$probe" "$rootfs/probe"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
    >"$rootfs/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$rootfs/etc/group"

"$pivot" spec --bundle "$dir"
# One --arg at a time, so any argument (even one starting with "-") stays
# a string.
args='[]'
for arg in "$@"; do
    args=$(jq -c --arg a "$arg" '. + [$a]' <<<"$args")
done
jq --argjson args "$args" '.process.terminal = false | .process.args = $args' \
    "$dir/config.json" >"$dir/config.json.new"
mv "$dir/config.json.new" "$dir/config.json"
echo "bundle ready: $dir (runs: $*)"
