#!/usr/bin/env bash
# Benchmarks pivot side by side with Debian's runc and crun (and any other
# runtime with runc's CLI given on the command line) in three scenarios,
# each a busybox bundle running /bin/true with a different config.json:
#   plain       what `pivot spec` writes: no seccomp, few mounts
#   podman      podman 4.3's default config (containers-common's seccomp
#               profile, eleven capabilities, eleven masked paths, rlimits)
#   containerd  containerd 1.6's default spec with its default seccomp
#               profile (`ctr run --seccomp`)
#   seccomp     pivot alone, podman's config three ways: as it is with the
#               compiled filter cached (warm), as it is with the cache
#               removed before every create (cold), and without
#               linux.seccomp: what the profile adds to a lifecycle
# (scripts/bench/configs/generate.sh made the last two templates from the
# callers themselves and says exactly how; scripts/bench/configs/SOURCES
# has the versions). The runtimes alternate within each iteration. Every
# scenario times the lifecycle (create, start, wait, delete) and exec;
# plain also `run` and containers started in parallel. The script writes
# the tables into docs/PERFORMANCE.md between the "bench:begin"/"bench:end"
# markers and one SVG chart per scenario to docs/bench/SCENARIO.svg.
#
# usage: scripts/bench/run.sh [--runs N] [--gap-ms MS] [--scenarios LIST]
#                             [--no-build] [--no-doc] [--profile]
#                             [extra-runtime-binary...]
#   --runs N     lifecycle and `run` iterations per runtime (default 30);
#                exec gets N/3 (at least 1), the parallel test N/30 rounds
#                (at least 1) of 50 containers
#   --gap-ms MS  idle time before every timed attempt (default 50): on
#                cgroup v1 a create that follows another runtime's create
#                within an RCU grace period skips a ~10 ms wait (see
#                docs/PERFORMANCE.md); 0 runs back to back
#   --scenarios LIST  comma-separated, from plain,podman,containerd,seccomp
#                (default all four)
#   --no-build   use target/x86_64-unknown-linux-gnu/release/{pivot,pivot-bench} as they are
#   --no-doc     print the tables, leave docs/ alone
#   --no-scale   skip the scale test: scripts/bench/scale.sh with pivot and
#                every runtime but crun (which refuses this hybrid host
#                without a hugetlb hierarchy in the host's mount
#                namespace): state, ps and list with 1, 100 and 1,000
#                created containers, and 200 created and started at once
#   --scale-counts LIST  the container counts of the scale test (default
#                "1 100 1000")
#   --profile    afterwards, profile pivot alone in the plain scenario: the
#                time of each write of one create (strace -T), syscall
#                counts (strace -c -f), where the CPU goes (perf record +
#                bench/perf-categories.pl) and user-space instructions
#                (valgrind callgrind); printed, not written to the doc
#   PIVOT_BIN, RUNC_BIN, CRUN_BIN override the binaries; TMPDIR picks where
#   the state dirs and bundles go (default /tmp).
#   A runtime whose `--version` says runc 1.5 is the reference of the
#   "≤ 0.3 × runc" target; without one, Debian's runc is.
#
# What it does to the host: as root it creates containers (ids containing
# "pivot-bench-<tag>", state under a mktemp dir) and removes them all on
# exit. crun 1.8.1 refuses this hybrid cgroup layout unless a cgroup-v1
# hugetlb hierarchy is mounted at /sys/fs/cgroup/hugetlb, and that mount
# must not exist on the host (it breaks containerd): crun's commands run in
# a private mount namespace (unshare -m --propagation private) that has its
# own tmpfs on /sys/fs/cgroup with the host's hierarchies bound back and
# hugetlb mounted; the harness joins it between fork and exec (setns), so
# no extra process is timed. On exit the script removes, from inside that
# namespace, the hugetlb cgroups crun made, unmounts the hierarchy, ends
# the namespace and checks that /proc/self/cgroup shows no hugetlb
# hierarchy that was not there before (the kernel keeps a hierarchy with
# cgroups left in it alive after its last unmount). It changes no host
# mount, procfs or sysfs file, and no cgroup it did not create.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
release=$repo/target/x86_64-unknown-linux-gnu/release
runs=30
build=1
doc=1
profile=0
scale=1
scale_counts="1 100 1000"
gap_ms=50
scenarios=plain,podman,containerd,seccomp
extra=()
argv_line="scripts/bench/run.sh${*:+ $*}"
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
        --scenarios)
            [ $# -ge 2 ] || { echo "bench: --scenarios needs a list" >&2; exit 2; }
            scenarios=$2
            shift 2
            ;;
        --scenarios=*) scenarios=${1#--scenarios=}; shift ;;
        --no-build) build=0; shift ;;
        --no-doc) doc=0; shift ;;
        --no-scale) scale=0; shift ;;
        --scale-counts)
            [ $# -ge 2 ] && [[ $2 =~ ^[0-9\ ]+$ ]] || { echo "bench: --scale-counts needs a list of numbers" >&2; exit 2; }
            scale_counts=$2
            shift 2
            ;;
        --profile) profile=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "bench: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) extra+=("$1"); shift ;;
    esac
done
IFS=, read -r -a scenario_list <<<"$scenarios"
for s in "${scenario_list[@]}"; do
    case $s in plain|podman|containerd|seccomp) ;; *) echo "bench: unknown scenario $s (plain, podman, containerd, seccomp)" >&2; exit 2 ;; esac
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
need nsenter util-linux
need chroot coreutils
busybox=${BUSYBOX:-/bin/busybox}
[ -x "$busybox" ] || { echo "bench: $busybox not found (apt-get install -y busybox-static)" >&2; exit 1; }

pivot=${PIVOT_BIN:-$release/pivot}
harness_bin=$release/pivot-bench
if [ "$build" = 1 ]; then
    pkgs=(-p pivot-bench)
    [ -z "${PIVOT_BIN:-}" ] && pkgs+=(-p pivot)
    # Others may be mid-edit: retry a failed build a couple of times.
    for try in 1 2 3; do
        if (cd "$repo" && cargo build --release "${pkgs[@]}"); then
            break
        fi
        [ "$try" = 3 ] && { echo "bench: cargo build failed" >&2; exit 1; }
        echo "bench: build failed, retrying in 60 s" >&2
        sleep 60
    done
fi
[ -x "$pivot" ] || { echo "bench: $pivot: not built" >&2; exit 1; }
[ -x "$harness_bin" ] || { echo "bench: $harness_bin: not built (cargo build --release -p pivot-bench)" >&2; exit 1; }

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
    path=$(cd "$(dirname "$path")" && pwd)/$(basename "$path")
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
crun_ns_pid=  # the process holding crun's private mount namespace
hugetlb_before=0
grep -q ':hugetlb:' /proc/self/cgroup && hugetlb_before=1
# Under $TMPDIR (default /tmp): state dirs, bundles, results.
tmp=$(mktemp -d -t pivot-bench.XXXXXX)
chmod 0755 "$tmp"

# crun's namespace: a private tmpfs on /sys/fs/cgroup with the host's
# hierarchies (and symlinks) bound back, so that nothing is made on the
# host's tmpfs, and the cgroup-v1 hugetlb hierarchy mounted at
# /sys/fs/cgroup/hugetlb. Prints the holder's pid once it is ready.
start_crun_namespace() {
    mkdir -p "$tmp/crun-ns/cg"
    unshare -m --propagation private bash -c '
        set -e
        d=$1
        mount --rbind /sys/fs/cgroup "$d/cg"
        mount -t tmpfs -o mode=755,size=64k pivot-bench-cgroup /sys/fs/cgroup
        for e in "$d"/cg/* "$d"/cg/.[!.]*; do
            [ -e "$e" ] || [ -L "$e" ] || continue
            n=${e##*/}
            if [ -L "$e" ]; then
                ln -s "$(readlink "$e")" "/sys/fs/cgroup/$n"
            elif mountpoint -q "$e"; then
                mkdir "/sys/fs/cgroup/$n"
                mount --rbind "$e" "/sys/fs/cgroup/$n"
            fi
        done
        umount -R "$d/cg"
        if ! mountpoint -q /sys/fs/cgroup/hugetlb; then
            mkdir -p /sys/fs/cgroup/hugetlb
            mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
        fi
        echo ready >"$d/ready"
        exec sleep infinity
    ' bench-crun-ns "$tmp/crun-ns" </dev/null >"$tmp/crun-ns/log" 2>&1 &
    crun_ns_pid=$!
    local i
    for i in $(seq 100); do
        [ -e "$tmp/crun-ns/ready" ] && return 0
        kill -0 "$crun_ns_pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "bench: could not set up crun's mount namespace: $(cat "$tmp/crun-ns/log")" >&2
    return 1
}

# From inside crun's namespace: the hugetlb cgroups of our containers go,
# then the hierarchy is unmounted; then the namespace ends. The kernel
# frees an unmounted hierarchy once its last cgroup is gone, shortly after.
stop_crun_namespace() {
    [ -n "$crun_ns_pid" ] || return 0
    local ns=/proc/$crun_ns_pid/ns/mnt
    if [ -e "$ns" ]; then
        nsenter --mount="$ns" bash -c '
            h=/sys/fs/cgroup/hugetlb
            mountpoint -q "$h" || exit 0
            find "$h" -mindepth 1 -depth -type d -name "*pivot-bench-$1*" -exec rmdir {} \;
            left=$(find "$h" -mindepth 1 -type d)
            [ -z "$left" ] || echo "bench: WARNING: hugetlb cgroups not ours left in the hierarchy: $left" >&2
            umount "$h"
        ' bench-crun-ns-stop "$tag"
    fi
    kill "$crun_ns_pid" 2>/dev/null
    wait "$crun_ns_pid" 2>/dev/null
    crun_ns_pid=
    local i
    for i in $(seq 100); do
        { [ "$hugetlb_before" = 1 ] || ! grep -q ':hugetlb:' /proc/self/cgroup; } && break
        sleep 0.05
    done
    if [ "$hugetlb_before" = 0 ] && grep -q ':hugetlb:' /proc/self/cgroup; then
        echo "bench: WARNING: /proc/self/cgroup still shows a hugetlb hierarchy:" >&2
        grep ':hugetlb:' /proc/self/cgroup >&2
        return 1
    fi
    echo "bench: crun's namespace is gone and /proc/self/cgroup shows no hugetlb hierarchy" >&2
}

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
    local i id ns=()
    for i in "${!names[@]}"; do
        [ -d "$tmp/state/${names[$i]}" ] || continue
        ns=()
        if [ "${names[$i]}" = crun ] && [ -n "$crun_ns_pid" ]; then
            ns=(nsenter --mount="/proc/$crun_ns_pid/ns/mnt")
        fi
        # Whatever is left in a state dir (a failure, an interruption).
        for id in $(ls "$tmp/state/${names[$i]}" 2>/dev/null); do
            case $id in *pivot-bench-"$tag"*) ;; *) continue ;; esac
            "${ns[@]}" "${bins[$i]}" --root "$tmp/state/${names[$i]}" delete --force "$id" >/dev/null 2>&1
        done
    done
    stop_crun_namespace || rc=1
    # Mounts under our temp dir (none expected): ours, so undo them.
    local mnt
    for mnt in $(awk -v t="$tmp" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
        umount -l "$mnt"
    done
    # Cgroups the runtimes made for our containers and left behind.
    find /sys/fs/cgroup -depth -type d -name "*pivot-bench-$tag*" -exec rmdir {} \; 2>/dev/null
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

# Snapshots: a concurrent cargo build must not swap them mid-run.
mkdir -p "$tmp/bin"
cp "$pivot" "$tmp/bin/pivot"
cp "$harness_bin" "$tmp/bin/pivot-bench"
pivot_src=$pivot
pivot=$tmp/bin/pivot
bins[0]=$pivot
harness=$tmp/bin/pivot-bench

mntns_args=()
if has_name crun && [ -d /sys/fs/cgroup/unified ]; then
    echo "bench: crun runs in a private mount namespace with the cgroup-v1 hugetlb hierarchy at /sys/fs/cgroup/hugetlb" >&2
    start_crun_namespace
    mntns_args=(--mntns "crun=/proc/$crun_ns_pid/ns/mnt")
fi

# The host's hard limits: a config's rlimits above them would fail for
# every runtime here (root without CAP_SYS_RESOURCE cannot raise them).
hard_nofile=$(ulimit -Hn)
hard_nproc=$(ulimit -Hu)
[ "$hard_nofile" = unlimited ] && hard_nofile=null
[ "$hard_nproc" = unlimited ] && hard_nproc=null

# One busybox rootfs per bundle; the same config.json for every runtime.
make_bundle() { # DIR TEMPLATE ARGS-JSON
    local dir=$1
    mkdir -p "$dir/rootfs"/{bin,proc,sys,dev,etc,tmp,run}
    cp "$busybox" "$dir/rootfs/bin/busybox"
    local a
    for a in true sh sleep; do ln -s busybox "$dir/rootfs/bin/$a"; done
    # ociVersion: crun 1.8.1 rejects anything but 1.0.x ("unknown version
    # specified"); runc's own spec says 1.0.2-dev.
    jq --argjson args "$3" --argjson nofile "$hard_nofile" --argjson nproc "$hard_nproc" '
        def clamp($h): if $h == null then . else (.hard = ([.hard, $h] | min) | .soft = ([.soft, .hard] | min)) end;
        .ociVersion = "1.0.2-dev" | .process.terminal = false | .process.args = $args
        | .root.path = "rootfs"
        | if .process.rlimits then .process.rlimits |= map(
              if .type == "RLIMIT_NOFILE" then clamp($nofile)
              elif .type == "RLIMIT_NPROC" then clamp($nproc) else . end) else . end
    ' "$2" >"$dir/config.json"
}
mkdir -p "$tmp/state" "$tmp/out" "$tmp/templates"
"$pivot" spec --bundle "$tmp/templates" && mv "$tmp/templates/config.json" "$tmp/templates/plain.json"
cp "$repo/scripts/bench/configs/podman.json" "$repo/scripts/bench/configs/containerd.json" "$tmp/templates/"
jq 'del(.linux.seccomp)' "$tmp/templates/podman.json" >"$tmp/templates/podman-no-seccomp.json"
cp "$tmp/templates/podman.json" "$tmp/templates/seccomp.json"
for s in "${scenario_list[@]}"; do
    make_bundle "$tmp/$s/bundle" "$tmp/templates/$s.json" '["/bin/true"]'
    make_bundle "$tmp/$s/bundle-sleep" "$tmp/templates/$s.json" '["/bin/sleep","1000"]'
done
case ",$scenarios," in
    *,seccomp,*) make_bundle "$tmp/seccomp/bundle-no-seccomp" "$tmp/templates/podman-no-seccomp.json" '["/bin/true"]' ;;
esac

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
reference=
for i in "${!names[@]}"; do
    v=$("${bins[$i]}" --version 2>/dev/null | head -n1 || true)
    shown=${bins[$i]}
    [ "$i" = 0 ] && shown=$pivot_src
    versions+="${names[$i]} (\`${shown/#$repo\//}\`): ${v:-unknown version}; "
    [[ $v =~ ^runc\ version\ 1\.5 ]] && [ -z "$reference" ] && reference=${names[$i]}
done
[ -n "$reference" ] || reference=runc
commit=$(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(cd "$repo" && git status --porcelain --untracked-files=no 2>/dev/null || true)
[ -n "$dirty" ] && dirty=" + uncommitted changes"
when=$(date -u '+%Y-%m-%d %H:%M UTC')
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
mem_gib=$(awk '/^MemTotal/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)
cfg="Run on $when: kernel $(uname -r), $(nproc) CPUs ($cpu_model), $mem_gib GiB, \
$(if [ -d /sys/fs/cgroup/unified ]; then echo "hybrid cgroup v1 + v2"; else stat -f -c %T /sys/fs/cgroup; fi), \
state dirs on $(stat -f -c %T "$tmp"); load average before the run $loadavg; \
pivot at commit $commit$dirty. Versions: ${versions%; }. \
Reproduce with \`$argv_line\` (as root, from the repository): $runs lifecycle iterations per \
runtime and scenario, $exec_iters exec iterations; in the plain scenario also $runs \`run\` \
iterations and $rounds round(s) of 50 parallel containers; $gap_ms ms idle before each timed attempt."

pairs=()
for i in "${!names[@]}"; do pairs+=("${names[$i]}=${bins[$i]}"); done

for s in "${scenario_list[@]}"; do
    mkdir -p "$tmp/out/$s"
    case $s in
        plain)
            title="plain: \`pivot spec\` (no seccomp)"
            extra_args=(--tests lifecycle,run,exec,parallel --floor-rootfs "$tmp/$s/bundle/rootfs" "${size_args[@]}")
            ;;
        podman)
            title="podman: podman 4.3's default config with containers-common's seccomp profile"
            extra_args=(--tests lifecycle,exec)
            ;;
        containerd)
            title="containerd: containerd 1.6's default spec with its default seccomp profile"
            extra_args=(--tests lifecycle,exec)
            ;;
        seccomp)
            title="seccomp: pivot alone with podman's config, its filter cached (pivot), compiled afresh (pivot-cold) and without linux.seccomp (pivot-no-seccomp)"
            extra_args=(--tests lifecycle --cold-seccomp pivot-cold
                --bundle-for "pivot-no-seccomp=$tmp/seccomp/bundle-no-seccomp")
            ;;
    esac
    run_pairs=("${pairs[@]}")
    [ "$s" = seccomp ] && run_pairs=("pivot=$pivot" "pivot-cold=$pivot" "pivot-no-seccomp=$pivot")
    echo "bench: scenario $s: ${run_pairs[*]%%=*}; $runs iterations" >&2
    "$harness" --out "$tmp/out/$s" --bundle "$tmp/$s/bundle" --sleep-bundle "$tmp/$s/bundle-sleep" \
        --state "$tmp/state" --tag "$tag-$s" --scenario "$s" --reference "$reference" \
        --iters "$runs" --exec-iters "$exec_iters" --rounds "$rounds" --parallel 50 --gap-ms "$gap_ms" \
        "${mntns_args[@]}" "${extra_args[@]}" "${run_pairs[@]}" &
    # In the background so that a signal reaches the trap at once (a trap
    # waits for a foreground command); the trap then stops the harness.
    harness_pid=$!
    wait "$harness_pid"
    harness_pid=
    echo "$title" >"$tmp/out/$s/title"
done

# Scale: pivot (the snapshot) and the others but crun, one after another.
if [ "$scale" = 1 ]; then
    scale_bins=()
    for i in "${!names[@]}"; do
        [ "$i" = 0 ] || [ "${names[$i]}" = crun ] || scale_bins+=("${bins[$i]}")
    done
    echo "bench: scale: state, ps and list with $scale_counts containers; 200 at once" >&2
    PIVOT_BIN=$pivot TMPDIR=$tmp bash "$repo/scripts/bench/scale.sh" --counts "$scale_counts" "${scale_bins[@]}" >"$tmp/out/scale.txt" &
    harness_pid=$!
    wait "$harness_pid"
    harness_pid=
fi

# The report: the run's description, a summary over the scenarios, then
# each scenario's tables and chart (and the scale test's).
{
    echo "$cfg"
    echo
    summed=()
    for s in "${scenario_list[@]}"; do [ "$s" = seccomp ] || summed+=("$tmp/out/$s"); done
    if [ "${#summed[@]}" -gt 0 ]; then
        "$harness" summary --reference "$reference" "${summed[@]}"
    fi
    for s in "${scenario_list[@]}"; do
        echo
        echo "### Scenario $(cat "$tmp/out/$s/title")"
        echo
        echo "![$s: medians per runtime](bench/$s.svg)"
        echo
        cat "$tmp/out/$s/report.md"
    done
    if [ -s "$tmp/out/scale.txt" ]; then
        echo
        echo "### Many containers: \`scripts/bench/scale.sh\`"
        echo
        echo "Medians of 15 calls in ms, under one \`--root\` holding that many created containers (\`state\` and \`ps\` of the first); then 200 containers created and started at once."
        echo
        echo "| runtime | containers | state | ps | list | list per container |"
        echo "|---|---:|---:|---:|---:|---:|"
        awk '$1 == "scale" {printf "| %s | %s | %s | %s | %s | %.3f |\n", $2, $3, $5, $7, $9, $9 / $3}' "$tmp/out/scale.txt"
        echo
        echo "| runtime | created and started at once | failed | wall time (ms) |"
        echo "|---|---:|---:|---:|"
        awk '$1 == "parallel" {printf "| %s | %s | %s | %s |\n", $2, $3, $5, $7}' "$tmp/out/scale.txt"
    fi
} >"$tmp/out/report.md"

echo
cat "$tmp/out/report.md"
for s in "${scenario_list[@]}"; do
    if [ -s "$tmp/out/$s/failures.log" ]; then
        echo
        echo "bench: failures in scenario $s (test, runtime, container, why):"
        head -n 40 "$tmp/out/$s/failures.log"
    fi
done

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
    mkdir -p "$repo/docs/bench"
    for s in "${scenario_list[@]}"; do
        cp "$tmp/out/$s/chart.svg" "$repo/docs/bench/$s.svg"
    done
    echo "bench: tables written to docs/PERFORMANCE.md, charts to docs/bench/" >&2
fi

if [ "$profile" = 1 ]; then
    [ -d "$tmp/plain/bundle" ] || make_bundle "$tmp/plain/bundle" "$tmp/templates/plain.json" '["/bin/true"]'
    mkdir -p "$tmp/state/pivot"
    # pivot alone, 20 lifecycles with the same idle gap as the benchmark.
    ps=$tmp/state/pivot
    lifecycles() { # PREFIX
        local i
        for i in $(seq 1 20); do
            sleep "$(awk -v g="$gap_ms" 'BEGIN {print g / 1000}')"
            "$pivot" --root "$ps" create --bundle "$tmp/plain/bundle" "pivot-bench-$tag-$1$i"
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
            "$pivot" --root "$ps" create --bundle "$tmp/plain/bundle" "pivot-bench-$tag-w"
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
        for cmd in "create --bundle $tmp/plain/bundle $id" "start $id" "delete --force $id"; do
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
