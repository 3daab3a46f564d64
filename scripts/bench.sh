#!/usr/bin/env bash
# Benchmarks pivot side by side with Debian's runc and crun (and any other
# runtime with runc's CLI given on the command line) on a busybox bundle
# running /bin/true, alternating the runtimes, and writes the tables into
# docs/PERFORMANCE.md between the "bench:begin"/"bench:end" markers.
#
# usage: scripts/bench.sh [--runs N] [--gap-ms MS] [--no-build] [--no-doc]
#                         [--profile] [extra-runtime-binary...]
#   --runs N     lifecycle and `run` iterations per runtime (default 30);
#                exec gets N/3 (at least 1), the parallel test N/30 rounds
#                (at least 1) of 50 containers
#   --gap-ms MS  idle time before every timed attempt (default 50): on
#                cgroup v1 a create that follows another runtime's create
#                within an RCU grace period skips a ~10 ms wait (see
#                docs/PERFORMANCE.md); 0 runs back to back
#   --no-build   use target/x86_64-unknown-linux-gnu/release/pivot as it is
#   --no-doc     print the tables, leave docs/PERFORMANCE.md alone
#   --profile    afterwards, profile pivot alone: the time of each write
#                of one create (strace -T), syscall counts (strace -c -f),
#                where the CPU goes (perf record + bench/perf-categories.pl)
#                and user-space instructions (valgrind callgrind); printed,
#                not written to the doc
#   PIVOT_BIN, RUNC_BIN, CRUN_BIN override the binaries; TMPDIR picks where
#   the state dirs and bundles go (default /tmp).
#
# What it does to the host: as root it creates containers (ids containing
# "pivot-bench-<tag>", state under a mktemp dir) and removes them all on
# exit. When crun is compared it mounts the cgroup-v1 hugetlb hierarchy at
# /sys/fs/cgroup/hugetlb if nothing is mounted there (crun 1.8.1 refuses a
# hybrid host whose hugetlb controller sits only in the cgroup2 tree) and
# unmounts it again on exit, so the host is left as a fresh machine has it
# (the black-box suite must pass without that mount). It changes nothing
# else on the host.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
runs=30
build=1
doc=1
profile=0
gap_ms=50
extra=()
argv_line="scripts/bench.sh${*:+ $*}"
while [ $# -gt 0 ]; do
    case $1 in
        --runs)
            [ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "bench: --runs needs a positive number" >&2; exit 2; }
            runs=$2
            shift 2
            ;;
        --runs=*)
            runs=${1#--runs=}
            [[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "bench: --runs needs a positive number" >&2; exit 2; }
            shift
            ;;
        --gap-ms)
            [ $# -ge 2 ] && [[ $2 =~ ^[0-9]+$ ]] || { echo "bench: --gap-ms needs a number" >&2; exit 2; }
            gap_ms=$2
            shift 2
            ;;
        --no-build) build=0; shift ;;
        --no-doc) doc=0; shift ;;
        --profile) profile=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "bench: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) extra+=("$1"); shift ;;
    esac
done

if [ "$(id -u)" -ne 0 ]; then
    echo "bench: run as root (the runtimes need it)" >&2
    exit 1
fi

need() {
    command -v "$1" >/dev/null || { echo "bench: $1 not found (apt-get install -y $2)" >&2; exit 1; }
}
need jq jq
need unshare util-linux
need chroot coreutils
need rustc "rustc (rustup)"
busybox=${BUSYBOX:-/bin/busybox}
[ -x "$busybox" ] || { echo "bench: $busybox not found (apt-get install -y busybox-static)" >&2; exit 1; }

pivot=${PIVOT_BIN:-$repo/target/x86_64-unknown-linux-gnu/release/pivot}
if [ "$build" = 1 ] && [ -z "${PIVOT_BIN:-}" ]; then
    # Others may be mid-edit: retry a failed build a couple of times.
    for try in 1 2 3; do
        if (cd "$repo" && cargo build --release -p pivot); then
            break
        fi
        [ "$try" = 3 ] && { echo "bench: cargo build failed" >&2; exit 1; }
        echo "bench: build failed, retrying in 60 s" >&2
        sleep 60
    done
fi
[ -x "$pivot" ] || { echo "bench: $pivot: not built" >&2; exit 1; }

# The runtimes: NAME=BINARY, pivot first.
has_name() { # NAME
    local n
    for n in "${names[@]}" floor; do [ "$n" = "$1" ] && return 0; done
    return 1
}
names=(pivot)
bins=("$pivot")
for pair in "runc=${RUNC_BIN:-/usr/sbin/runc}" "crun=${CRUN_BIN:-/usr/bin/crun}"; do
    if [ -x "${pair#*=}" ]; then
        names+=("${pair%%=*}")
        bins+=("${pair#*=}")
    else
        echo "bench: ${pair#*=} not found: ${pair%%=*} is left out (apt-get install -y ${pair%%=*})" >&2
    fi
done
for bin in "${extra[@]}"; do
    path=$(command -v "$bin" || true)
    [ -n "$path" ] && [ -x "$path" ] || { echo "bench: $bin: not an executable" >&2; exit 1; }
    name=$(basename "$path" | tr -c 'a-zA-Z0-9_.\n-' '_')
    base=$name
    k=2
    while has_name "$name"; do
        name=$base$k
        k=$((k + 1))
    done
    names+=("$name")
    bins+=("$path")
done

tag="$$$RANDOM"
harness_pid=
hugetlb_mounted=0 # 1: we mounted it, 2: we made its dir
# Under $TMPDIR (default /tmp): state dirs, bundles, harness, results.
tmp=$(mktemp -d -t pivot-bench.XXXXXX)
cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    if [ -n "${harness_pid:-}" ]; then
        echo "bench: interrupted: stopping the harness (pid $harness_pid)" >&2
        kill "$harness_pid" 2>/dev/null
        wait "$harness_pid" 2>/dev/null
    fi
    # Runtime commands the harness had started carry our temp dir in their
    # arguments: let them finish (a few seconds at most) before deleting.
    local n
    for n in $(seq 1 100); do
        pgrep -f -- "$tmp/" >/dev/null || break
        sleep 0.1
    done
    local i id
    for i in "${!names[@]}"; do
        [ -d "$tmp/state/${names[$i]}" ] || continue
        # Whatever is left in a state dir (a failure, an interruption).
        for id in $(ls "$tmp/state/${names[$i]}" 2>/dev/null); do
            case $id in *pivot-bench-"$tag"*) ;; *) continue ;; esac
            "${bins[$i]}" --root "$tmp/state/${names[$i]}" delete --force "$id" >/dev/null 2>&1
        done
    done
    # Mounts under our temp dir (none expected): ours, so undo them.
    local mnt
    for mnt in $(awk -v t="$tmp" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
        umount -l "$mnt"
    done
    # Cgroups the runtimes made for our containers and left behind.
    find /sys/fs/cgroup -depth -type d -name "*pivot-bench-$tag*" -exec rmdir {} \; 2>/dev/null
    if [ $((hugetlb_mounted & 1)) = 1 ]; then
        umount /sys/fs/cgroup/hugetlb
        [ $((hugetlb_mounted & 2)) = 0 ] || rmdir /sys/fs/cgroup/hugetlb
        echo "bench: unmounted the cgroup-v1 hugetlb hierarchy it had mounted" >&2
    fi
    rm -rf --one-file-system "$tmp"
    local left=0
    if grep -q "pivot-bench" /proc/self/mountinfo; then
        echo "bench: WARNING: mounts left behind:" >&2
        grep "pivot-bench" /proc/self/mountinfo >&2
        left=1
    fi
    if [ -n "$(find /sys/fs/cgroup -name "*pivot-bench-$tag*" 2>/dev/null)" ]; then
        echo "bench: WARNING: cgroups left behind:" >&2
        find /sys/fs/cgroup -name "*pivot-bench-$tag*" >&2
        left=1
    fi
    [ "$left" = 0 ] && echo "bench: cleaned up (no container, mount, cgroup or temp dir left)" >&2
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# crun 1.8.1 refuses this hybrid layout while hugetlb sits only in the
# cgroup2 tree: give hugetlb its v1 hierarchy for the run (the one host
# change, undone on exit).
if has_name crun && [ -d /sys/fs/cgroup/unified ]; then
    if ! awk '$5 == "/sys/fs/cgroup/hugetlb" {f=1} END {exit !f}' /proc/self/mountinfo; then
        echo "bench: mounting the cgroup-v1 hugetlb hierarchy at /sys/fs/cgroup/hugetlb for crun (until exit)" >&2
        [ -d /sys/fs/cgroup/hugetlb ] || { mkdir /sys/fs/cgroup/hugetlb && hugetlb_mounted=2; }
        mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
        hugetlb_mounted=$((hugetlb_mounted | 1))
    fi
fi

# A snapshot of pivot: a concurrent cargo build must not swap it mid-run.
mkdir -p "$tmp/bin"
cp "$pivot" "$tmp/bin/pivot"
pivot_src=$pivot
pivot=$tmp/bin/pivot
bins[0]=$pivot

echo "bench: building the harness" >&2
rustc -O --edition 2021 -o "$tmp/harness" "$repo/scripts/bench/harness.rs"

# One busybox rootfs per bundle; the same config.json for every runtime.
make_bundle() { # DIR ARGS-JSON
    local dir=$1
    mkdir -p "$dir/rootfs"/{bin,proc,sys,dev,etc,tmp}
    cp "$busybox" "$dir/rootfs/bin/busybox"
    local a
    for a in true sh sleep; do ln -s busybox "$dir/rootfs/bin/$a"; done
    "$pivot" spec --bundle "$dir"
    # ociVersion: crun 1.8.1 rejects anything but 1.0.x ("unknown version
    # specified"); runc's own spec says 1.0.2-dev.
    jq --argjson args "$2" \
        '.ociVersion = "1.0.2-dev" | .process.terminal = false | .process.args = $args' \
        "$dir/config.json" >"$dir/config.json.new"
    mv "$dir/config.json.new" "$dir/config.json"
}
make_bundle "$tmp/bundle" '["/bin/true"]'
make_bundle "$tmp/bundle-sleep" '["sleep","1000"]'
mkdir -p "$tmp/state" "$tmp/out"

exec_iters=$(( runs / 3 > 0 ? runs / 3 : 1 ))
rounds=$(( runs / 30 > 0 ? runs / 30 : 1 ))

# Sizes: the binary, and the binary plus every shared library it loads.
size_args=()
for i in "${!names[@]}"; do
    b=${bins[$i]}
    bytes=$(stat -L -c %s "$b")
    libs=$(ldd "$b" 2>/dev/null | awk '/=> \// {print $3} /^\t\/[^ ]+ \(/ {print $1}' | sort -u)
    with=$bytes
    nlibs=0
    for l in $libs; do
        with=$((with + $(stat -L -c %s "$l")))
        nlibs=$((nlibs + 1))
    done
    if [ "$nlibs" = 0 ]; then link=static; else link="dynamic, $nlibs libraries"; fi
    size_args+=(--size "${names[$i]}=$bytes:$with:$link")
done

versions=""
for i in "${!names[@]}"; do
    v=$("${bins[$i]}" --version 2>/dev/null | head -n1 || true)
    shown=${bins[$i]}
    [ "$i" = 0 ] && shown=$pivot_src
    versions+="${names[$i]} (\`${shown/#$repo\//}\`): ${v:-unknown version}; "
done
commit=$(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(cd "$repo" && git status --porcelain --untracked-files=no 2>/dev/null || true)
[ -n "$dirty" ] && dirty=" + uncommitted changes"
when=$(date -u '+%Y-%m-%d %H:%M UTC')
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
cfg="Run on $when, kernel $(uname -r), $(nproc) CPUs, load average before the run $loadavg; \
pivot at commit $commit$dirty. Versions: ${versions%; }. \
Reproduce with \`$argv_line\` (as root, from the repository): $runs lifecycle and \`run\` \
iterations per runtime, $exec_iters exec iterations, $rounds round(s) of 50 parallel containers, \
$gap_ms ms idle before each timed attempt."

pairs=()
for i in "${!names[@]}"; do pairs+=("${names[$i]}=${bins[$i]}"); done

echo "bench: ${names[*]} + floor; $runs iterations" >&2
"$tmp/harness" --out "$tmp/out" --bundle "$tmp/bundle" --sleep-bundle "$tmp/bundle-sleep" \
    --state "$tmp/state" --tag "$tag" --floor-rootfs "$tmp/bundle/rootfs" \
    --iters "$runs" --exec-iters "$exec_iters" --rounds "$rounds" --parallel 50 --gap-ms "$gap_ms" \
    --config-line "$cfg" "${size_args[@]}" "${pairs[@]}" &
# In the background so that a signal reaches the trap at once (a trap waits
# for a foreground command); the trap then stops the harness.
harness_pid=$!
wait "$harness_pid"
harness_pid=

echo
cat "$tmp/out/report.md"
if [ -s "$tmp/out/failures.log" ]; then
    echo
    echo "bench: failures (test, runtime, container, why):"
    head -n 40 "$tmp/out/failures.log"
fi

if [ "$doc" = 1 ]; then
    docf=$repo/docs/PERFORMANCE.md
    if [ ! -f "$docf" ] || ! grep -q '^<!-- bench:begin -->$' "$docf" || ! grep -q '^<!-- bench:end -->$' "$docf"; then
        mkdir -p "$(dirname "$docf")"
        [ -f "$docf" ] || printf '# Performance\n\n' >"$docf"
        printf '\n<!-- bench:begin -->\n<!-- bench:end -->\n' >>"$docf"
    fi
    {
        sed '/^<!-- bench:begin -->$/q' "$docf"
        cat "$tmp/out/report.md"
        sed -n '/^<!-- bench:end -->$/,$p' "$docf"
    } >"$docf.new"
    mv "$docf.new" "$docf"
    echo "bench: tables written to docs/PERFORMANCE.md" >&2
fi

if [ "$profile" = 1 ]; then
    # pivot alone, 20 lifecycles with the same idle gap as the benchmark.
    ps=$tmp/state/pivot
    lifecycles() { # PREFIX
        local i
        for i in $(seq 1 20); do
            sleep "$(awk -v g="$gap_ms" 'BEGIN {print g / 1000}')"
            "$pivot" --root "$ps" create --bundle "$tmp/bundle" "pivot-bench-$tag-$1$i"
            "$pivot" --root "$ps" start "pivot-bench-$tag-$1$i"
            sleep 0.02 # /bin/true has exited by then
            "$pivot" --root "$ps" delete "pivot-bench-$tag-$1$i"
        done
    }
    echo
    echo "== profile of pivot (20 lifecycles, ${gap_ms} ms apart)"
    if command -v strace >/dev/null; then
        echo "-- writes of one create and their time (strace -T -y -e trace=write, create process only)"
        sleep 0.1
        strace -T -y -e trace=write -o "$tmp/writes.txt" \
            "$pivot" --root "$ps" create --bundle "$tmp/bundle" "pivot-bench-$tag-w"
        "$pivot" --root "$ps" delete --force "pivot-bench-$tag-w"
        grep '^write' "$tmp/writes.txt" | sed -E 's/, "[^"]*"(\.\.\.)?, [0-9]+\)/)/' | cut -c1-150 || true
        echo "-- strace -c -f: syscall counts of create/start/delete and the init until exec"
        export -f lifecycles
        export pivot ps tmp tag gap_ms
        strace -c -f -o "$tmp/strace.txt" bash -c 'lifecycles s' || true
        grep -v -E ' (wait4|clock_nanosleep|nanosleep)$' "$tmp/strace.txt" | head -n 25 || true
    fi
    if perf stat -e task-clock true >/dev/null 2>&1; then
        echo "-- perf record -e cpu-clock -g: where pivot's CPU time goes (all pivot processes)"
        if perf record -q -e cpu-clock -F 9999 -g -o "$tmp/perf.data" -- bash -c 'lifecycles p' >/dev/null 2>&1; then
            perf script -i "$tmp/perf.data" --comms pivot -F comm,tid,ip,sym,dso 2>/dev/null |
                perl "$repo/scripts/bench/perf-categories.pl" pivot | head -n 25 || true
        fi
    fi
    if command -v valgrind >/dev/null; then
        echo "-- valgrind --tool=callgrind: user-space instructions of each command (process itself)"
        id=pivot-bench-$tag-vg
        for cmd in "create --bundle $tmp/bundle $id" "start $id" "delete --force $id"; do
            # shellcheck disable=SC2086
            valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" \
                "$pivot" --root "$ps" $cmd >/dev/null 2>"$tmp/vg.err" || true
            ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$tmp/cg.out" 2>/dev/null)
            echo "   pivot ${cmd%% *}: ${ir:-?} instructions"
            rm -f "$tmp/cg.out"
            [ "${cmd%% *}" = start ] && sleep 0.05
        done
    fi
fi
