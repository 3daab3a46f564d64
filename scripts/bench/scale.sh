#!/usr/bin/env bash
# Scale: how `state ID`, `ps ID` and `list` grow with the number of created
# containers under one --root, and N containers created and started in
# parallel. Prints one table per runtime (medians in ms) and, at the end,
# one line per runtime and count in a fixed form for other scripts:
#   scale <runtime> <containers> state_ms <m> ps_ms <m> list_ms <m>
#   parallel <runtime> <n> failed <f> wall_ms <ms>
#
# usage: scripts/bench/scale.sh [--counts "1 100 1000"] [--parallel 200]
#                               [--reps 15] [runtime-binary...]
#   --counts LIST  container counts to measure at (ascending; default
#                  "1 100 1000"); `state` and `ps` ask for the first one
#   --parallel N   containers created and started at once (default 200; 0
#                  skips)
#   --reps N       timed calls per command and count (default 15)
#   runtimes: pivot (PIVOT_BIN or target/x86_64-unknown-linux-gnu/release/pivot)
#   and any runtime with runc's CLI given as arguments (e.g.
#   ../shared/peers/runc-1.5.1). crun 1.8.1 cannot be compared on a hybrid
#   cgroup host without a hugetlb v1 mount, which this script never makes.
#
# The bundle is `pivot spec`'s config with /bin/true on a busybox rootfs,
# no cgroupsPath: every runtime makes its cgroups named after the id under
# its own cgroup. Created containers hold one sleeping init each (about
# 1,000 processes at the top count). As root; everything it makes (ids
# "pivot-scale-<pid>-<n>", state under a mktemp dir, their cgroups) is
# force-deleted on exit, also after a failure or Ctrl-C, and the script
# then checks that no such cgroup, mount or process is left.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
counts="1 100 1000"
parallel=200
reps=15
runtimes=()
while [ $# -gt 0 ]; do
    case $1 in
        --counts) counts=$2; shift 2 ;;
        --parallel) parallel=$2; shift 2 ;;
        --reps) reps=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "scale: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) runtimes+=("$1"); shift ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "scale: run as root" >&2; exit 1; }
pivot=${PIVOT_BIN:-$repo/target/x86_64-unknown-linux-gnu/release/pivot}
[ -x "$pivot" ] || { echo "scale: $pivot not built (cargo build --release -p pivot)" >&2; exit 1; }
busybox=${BUSYBOX:-/bin/busybox}
[ -x "$busybox" ] || { echo "scale: $busybox not found (apt-get install -y busybox-static)" >&2; exit 1; }
command -v jq >/dev/null || { echo "scale: jq not found (apt-get install -y jq)" >&2; exit 1; }
runtimes=("$pivot" "${runtimes[@]}")

tag="pivot-scale-$$"
work=$(mktemp -d "${TMPDIR:-/tmp}/$tag.XXXXXX")
roots=()

cleanup() {
    set +e
    for root in "${roots[@]}"; do
        local rt=${root##*/state-}
        rt=${rt%.d}
        for id in $(ls "$root" 2>/dev/null | grep "^$tag-"); do
            echo "$id"
        done | xargs -r -P 8 -I{} "${rtbin[$rt]}" --root "$root" delete --force {} >/dev/null 2>&1
    done
    # cgroups of ours a runtime failed to remove (deepest first; rmdir only)
    find /sys/fs/cgroup -depth -type d -name "*$tag-*" -exec rmdir {} + 2>/dev/null
    local left
    left=$(find /sys/fs/cgroup -type d -name "*$tag-*" 2>/dev/null | head -5)
    [ -z "$left" ] || echo "scale: cgroups left: $left" >&2
    grep -q "$tag" /proc/self/mountinfo && echo "scale: mounts left under $work" >&2
    pgrep -f "$tag" >/dev/null && echo "scale: processes left (pgrep -f $tag)" >&2
    rm -rf "$work"
}
declare -A rtbin
trap cleanup EXIT
trap 'exit 130' INT TERM

# the bundle
bundle=$work/bundle
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs"/{proc,sys,dev,etc,tmp}
cp "$busybox" "$bundle/rootfs/bin/busybox"
for l in true sh sleep; do ln -s busybox "$bundle/rootfs/bin/$l"; done
"$pivot" spec --bundle "$bundle" >/dev/null 2>&1 || (cd "$bundle" && "$pivot" spec)
jq '.process.terminal = false | .process.args = ["/bin/true"] | .ociVersion = "1.0.2-dev"' \
    "$bundle/config.json" >"$work/c.json" && mv "$work/c.json" "$bundle/config.json"

now_ns() { local t=$EPOCHREALTIME; echo "${t/./}"; }  # microseconds
# median_ms CMD...: the median of $reps timed runs, in ms with 2 decimals
median_ms() {
    local i t0 t1 times=()
    for ((i = 0; i < reps; i++)); do
        t0=$(now_ns)
        "$@" >/dev/null 2>&1 || { echo "scale: failed: $*" >&2; return 1; }
        t1=$(now_ns)
        times+=($((t1 - t0)))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.2f", m / 1000}'
}

results=()
for rt in "${runtimes[@]}"; do
    name=$(basename "$rt")
    root=$work/state-$name.d
    roots+=("$root")
    rtbin[$name]=$rt
    echo "== $name ($rt)"
    printf '%-12s %10s %10s %10s\n' containers state_ms ps_ms list_ms
    have=0
    for n in $counts; do
        # create up to n, 4 at a time
        seq $((have + 1)) "$n" | xargs -r -P 4 -I{} "$rt" --root "$root" create --bundle "$bundle" "$tag-{}" \
            || { echo "scale: $name: a create failed on the way to $n" >&2; exit 1; }
        have=$n
        got=$("$rt" --root "$root" list -q | grep -c "^$tag-" || true)
        [ "$got" -eq "$n" ] || { echo "scale: $name lists $got containers, expected $n" >&2; exit 1; }
        s=$(median_ms "$rt" --root "$root" state "$tag-1")
        p=$(median_ms "$rt" --root "$root" ps "$tag-1")
        l=$(median_ms "$rt" --root "$root" list)
        printf '%-12s %10s %10s %10s\n' "$n" "$s" "$p" "$l"
        results+=("scale $name $n state_ms $s ps_ms $p list_ms $l")
    done
    seq 1 "$have" | xargs -r -P 8 -I{} "$rt" --root "$root" delete --force "$tag-{}" >/dev/null
    if [ "$parallel" -gt 0 ]; then
        t0=$(now_ns)
        pids=()
        for i in $(seq 1 "$parallel"); do
            ( "$rt" --root "$root" create --bundle "$bundle" "$tag-p$i" && "$rt" --root "$root" start "$tag-p$i" ) \
                >"$work/p$i.log" 2>&1 &
            pids+=($!)
        done
        failed=0
        for i in "${!pids[@]}"; do
            wait "${pids[$i]}" || { failed=$((failed + 1)); echo "scale: $name: $tag-p$((i + 1)): $(tail -n 1 "$work/p$((i + 1)).log")" >&2; }
        done
        t1=$(now_ns)
        wall=$(( (t1 - t0) / 1000 ))
        echo "parallel: $parallel created and started at once: $failed failed, ${wall} ms"
        results+=("parallel $name $parallel failed $failed wall_ms $wall")
        seq 1 "$parallel" | xargs -r -P 8 -I{} "$rt" --root "$root" delete --force "$tag-p{}" >/dev/null 2>&1 || true
    fi
done
echo
printf '%s\n' "${results[@]}"
