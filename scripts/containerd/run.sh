#!/usr/bin/env bash
# Runs containerd (Debian 12's 1.6.x) with its runc v2 shim driving a
# runc-compatible runtime binary, and checks, through ctr, what containerd
# reports and what the container sees: image import, run (with and without
# a tty), exec, ps, kill, kill --all, delete, delete --force, pause/resume,
# a memory limit, --no-pivot, and the runtime's error reaching ctr.
# See docs/CONFORMANCE.md, section "containerd".
#
# usage: scripts/containerd/run.sh [OPTIONS] [RUNTIME_BINARY]
#   RUNTIME_BINARY  default: pivot at target/x86_64-unknown-linux-gnu/release/pivot
#                   (built with `cargo build --release -p pivot` if missing);
#                   /usr/sbin/runc checks the harness itself
#   --step-timeout SECS  time limit of one step (default 60)
#   --keep-logs DIR copy containerd's log and each step's output to DIR
#   --no-setup      do not run setup.sh (the packages are known to be there)
#   --systemd-cgroup  the shim's SystemdCgroup option (ctr run
#                   --runc-systemd-cgroup): the runtime runs with
#                   --systemd-cgroup and each container gets the cgroup
#                   system.slice:pivot-test:ID, the scope
#                   system.slice/pivot-test-ID.scope (needs systemd as pid 1:
#                   scripts/vm/systemd.sh with PIVOT_VM_HARNESS=containerd)
#   -h, --help
# environment:
#   PROBE_BIN       the static probe put in the image
#                   (default target/x86_64-unknown-linux-gnu/release/probe)
#   SUBREAPER       a compiled scripts/conformance/subreaper.c to run under
#                   (default: compiled with gcc to target/containerd/subreaper)
#
# Everything lives in one mktemp directory: containerd's config.toml,
# socket, root and state, the runtime's --root, the FIFOs and logs.
# containerd and its shims run in a private mount namespace with a tmpfs on
# /run (containerd 1.6 puts shim sockets in /run/containerd/s whatever the
# config says), so the host's /run/containerd, /var/lib/containerd and any
# containerd of the host are never touched. The harness runs as a child
# subreaper (scripts/conformance/subreaper.c, compiled to
# target/containerd/subreaper) so that shims and container processes it
# leaves are its own to reap. On exit, also on failure or a signal, it
# removes the tasks, containers, snapshots and their mounts, stops
# containerd and the shims, removes the cgroups created during the run
# (only those) and the temporary directory.
#
# Prints one line per step ("ok NAME", "FAIL NAME: reason", "skip NAME:
# reason"), then "N passed, N failed, N skipped".
# Exit status: 0 all passed, 1 some step failed, 2 harness error.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

step_timeout=60
keep_logs=
no_setup=0
systemd_cgroup=0
runtime=
args=("$@")
# grep -q in a pipeline: reads all its input, so that the writer does not
# die of SIGPIPE and fail the pipeline (pipefail)
has() { grep "$@" >/dev/null; }
# shellcheck source=../lib/cli.sh
. "$repo/scripts/lib/cli.sh"
while [ $# -gt 0 ]; do
    case $1 in
    --step-timeout) step_timeout=$2; shift ;;
    --step-timeout=*) step_timeout=${1#*=} ;;
    --keep-logs) keep_logs=$2; shift ;;
    --keep-logs=*) keep_logs=${1#*=} ;;
    --no-setup) no_setup=1 ;;
    --systemd-cgroup) systemd_cgroup=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) unknown_option "$1" ;;
    *) runtime_arg runtime "$1" ;;
    esac
    shift
done

require_root "containerd runs as root"

# --- run as a child subreaper ------------------------------------------------
if [ -z "${PIVOT_CONTAINERD_SUBREAPER:-}" ]; then
    if [ "$no_setup" = 0 ]; then
        bash "$here/setup.sh" || exit 2
    fi
    reaper=${SUBREAPER:-$repo/target/containerd/subreaper}
    src=$repo/scripts/conformance/subreaper.c
    if [ -z "${SUBREAPER:-}" ] && { [ ! -x "$reaper" ] || [ "$src" -nt "$reaper" ]; }; then
        mkdir -p "$(dirname "$reaper")"
        gcc -O2 -Wall -o "$reaper.tmp.$$" "$src" && mv "$reaper.tmp.$$" "$reaper" || {
            rm -f "$reaper.tmp.$$"
            echo "run.sh: cannot compile $src" >&2
            exit 2
        }
    fi
    export PIVOT_CONTAINERD_SUBREAPER=1
    exec "$reaper" -- bash "$0" "${args[@]}"
fi

# --- the runtime and the probe -----------------------------------------------
runtime_binary runtime
probe_binary
if ! (LC_ALL=C ldd "$PROBE_BIN" 2>&1 || true) | has -E "not a dynamic|statically linked"; then
    echo "run.sh: $PROBE_BIN: not a static binary" >&2
    exit 2
fi

# The containers' cgroups: cgroup v1 (a directory per hierarchy) or v2 (one
# tree); under /pivot-test with the cgroupfs driver, or the systemd scope
# system.slice/pivot-test-ID.scope with --systemd-cgroup.
CGROUP2=0
[ -f /sys/fs/cgroup/cgroup.controllers ] && CGROUP2=1
if [ "$systemd_cgroup" = 1 ] && [ ! -d /run/systemd/system ]; then
    echo "run.sh: --systemd-cgroup needs systemd as pid 1 (no /run/systemd/system)" >&2
    exit 2
fi
export CGROUP2 systemd_cgroup

# One run at a time: the containerd namespace and so the cgroup paths
# (/pivot-test/<id>) are fixed.
exec 9<"$0"
if ! flock -n 9; then
    echo "run.sh: waiting for another containerd run to finish" >&2
    flock -w 900 9 || { echo "run.sh: another run holds the lock" >&2; exit 2; }
fi

# --- the private directory ---------------------------------------------------
T=$(mktemp -d /tmp/pivot-containerd.XXXXXX) || exit 2
chmod 0755 "$T"
mkdir -p "$T"/{bin,root,state,tmp,fifo,logs,runc,opt,image,steps}
name=$(basename "$runtime")
cp "$runtime" "$T/bin/$name" # a rebuild during the run must not change it
RT=$T/bin/$name
SOCK=$T/containerd.sock
NS=pivot-test
REF=localhost/pivot-test/busybox:latest
ctrd_pid=
t_start=$(date +%s)

host_paths_to_watch="/run/containerd /var/lib/containerd /opt/containerd /etc/containerd/config.toml"
for p in $host_paths_to_watch; do [ -e "$p" ] && echo "$p"; done >"$T/host-paths.before"
# what containerd, its shims and go-runc would leave in $TMPDIR if they did
# not honour it
tmp_droppings() { find /tmp -mindepth 1 -maxdepth 1 -regextype egrep -regex '/tmp/(containerd.*|pty[0-9]+|runc-process.*)' -printf '%f\n' | sort; }
tmp_droppings >"$T/tmp.before"

# cgroups that exist now under <hierarchy>/pivot-test: not ours to remove
ns_cgroups() {
    local h
    {
        for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
            [ -d "$h$NS" ] && find "$h$NS" -type d 2>/dev/null
            # the scopes of --systemd-cgroup
            [ "$systemd_cgroup" = 1 ] && find "${h}system.slice" -maxdepth 1 -type d -name "$NS-*.scope" 2>/dev/null
        done
    } | sort -u
}
ns_cgroups >"$T/cgroups.before"
new_cgroups() { comm -13 "$T/cgroups.before" <(ns_cgroups) | sort -r; }

# --- cleanup, always ---------------------------------------------------------
ctr_() { timeout -k 5 "${CTR_TIMEOUT:-30}" ctr -a "$SOCK" -n "$NS" "$@" </dev/null; }
mounts_under() { # PID (mount namespace of PID) -> mount points below $T, deepest first
    awk -v d="$T/" 'index($5, d) == 1 { print $5 }' "/proc/$1/mountinfo" 2>/dev/null | sort -r
}
pids_with_socket() { # shims and containerd started for $SOCK
    local p
    for p in /proc/[0-9]*; do
        tr '\0' ' ' 2>/dev/null <"$p/cmdline" | has -F -- "$SOCK" && echo "${p#/proc/}"
    done
}
pids_of_runtime() {
    local p
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/exe" 2>/dev/null)" = "$RT" ] && echo "${p#/proc/}"
    done
}
# Stops everything the run started; idempotent. Prints what it could not
# remove and returns 1 then.
teardown() {
    local id m d p i left=0
    # the step running when a signal came
    [ -n "$STEPS_PID" ] && { disown "$STEPS_PID" 2>/dev/null; kill -KILL -- "-$STEPS_PID" 2>/dev/null; }
    # After a signal, the subreaper above allows 5 s: no ctr round trips then
    # (the mounts go with containerd's mount namespace).
    if [ "$interrupted" = 0 ] && [ -n "$ctrd_pid" ] && kill -0 "$ctrd_pid" 2>/dev/null; then
        for id in $(CTR_TIMEOUT=15 ctr_ task ls -q 2>/dev/null); do
            CTR_TIMEOUT=15 ctr_ task resume "$id" >/dev/null 2>&1
            CTR_TIMEOUT=15 ctr_ task kill -a -s SIGKILL "$id" >/dev/null 2>&1
            CTR_TIMEOUT=15 ctr_ task delete -f "$id" >/dev/null 2>&1
        done
        for id in $(CTR_TIMEOUT=15 ctr_ containers ls -q 2>/dev/null); do
            CTR_TIMEOUT=15 ctr_ containers delete "$id" >/dev/null 2>&1
        done
        for id in $(CTR_TIMEOUT=15 ctr_ images ls -q 2>/dev/null); do
            CTR_TIMEOUT=15 ctr_ images rm --sync "$id" >/dev/null 2>&1
        done
        # snapshot mounts still there (containerd's namespace), deepest first
        for m in $(mounts_under "$ctrd_pid"); do
            nsenter -t "$ctrd_pid" -m umount "$m" 2>/dev/null ||
                nsenter -t "$ctrd_pid" -m umount -l "$m" 2>/dev/null
        done
    fi
    if [ -n "$ctrd_pid" ] && kill -0 "$ctrd_pid" 2>/dev/null; then
        kill -TERM "$ctrd_pid" 2>/dev/null
        for i in $(seq "$([ "$interrupted" = 0 ] && echo 50 || echo 10)"); do kill -0 "$ctrd_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$ctrd_pid" 2>/dev/null
    fi
    # shims, container processes and runtime processes that outlived containerd
    for p in $(pids_with_socket) $(pids_of_runtime); do kill -KILL "$p" 2>/dev/null; done
    for d in $(new_cgroups); do
        [ -f "$d/freezer.state" ] && echo THAWED >"$d/freezer.state" 2>/dev/null
        [ -f "$d/cgroup.freeze" ] && echo 0 >"$d/cgroup.freeze" 2>/dev/null
        for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    done
    for i in $(seq 30); do
        [ -z "$(pids_with_socket)$(for d in $(new_cgroups); do cat "$d/cgroup.procs" 2>/dev/null; done)" ] && break
        sleep 0.1
    done
    for p in $(pids_with_socket) $(pids_of_runtime); do
        echo "left: process $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null))"
        left=1
    done
    for d in $(new_cgroups); do
        # a scope is systemd's to remove: stop the unit
        case $d in *.scope) systemctl stop "$(basename "$d")" 2>/dev/null; [ -d "$d" ] || continue ;; esac
        rmdir "$d" 2>/dev/null || {
            echo "left: cgroup $d (holds: $(tr '\n' ' ' <"$d/cgroup.procs" 2>/dev/null))"
            left=1
        }
    done
    for m in $(mounts_under self); do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || { echo "left: mount $m"; left=1; }
    done
    for p in $host_paths_to_watch; do
        if [ -e "$p" ] && ! grep -qx "$p" "$T/host-paths.before"; then
            echo "left: $p (did not exist before the run)"
            left=1
        fi
    done
    for p in $(tmp_droppings | comm -13 "$T/tmp.before" -); do
        echo "left: /tmp/$p"
        left=1
    done
    return $left
}
s_teardown() { # a step run in this shell, not a child
    local out
    out=$(teardown) && return 0
    echo "$out" >"$T/steps/teardown.log"
    echo "$(head -n 1 <<<"$out")$([ "$(wc -l <<<"$out")" -gt 1 ] && echo " (and more)")" >"$T/steps/teardown.reason"
    return 1
}
cleanup() {
    local status=$?
    trap - EXIT INT TERM HUP
    teardown >&2 || { [ "$status" = 0 ] && status=1; }
    if [ -n "$keep_logs" ]; then
        mkdir -p "$keep_logs" && cp -r "$T/steps" "$T/containerd.log" "$T/logs" "$keep_logs/" 2>/dev/null
    fi
    if [ -z "$(mounts_under self)" ]; then
        rm -rf --one-file-system "$T"
    else
        echo "run.sh: mounts left under $T; not removing it" >&2
        status=1
    fi
    exit "$status"
}
interrupted=0
STEPS_PID=
trap cleanup EXIT
trap 'interrupted=1; echo "run.sh: interrupted" >&2; exit 130' INT
trap 'interrupted=1; echo "run.sh: terminated" >&2; exit 143' TERM HUP

# --- steps -------------------------------------------------------------------
# Each step is a function run in a child bash under timeout(1) by the
# step runner (scripts/lib/steps.sh); it prints what it did to its log, and
# the reason of a failure (fail) or skip (skip) as its last line on fd 3.
# shellcheck source=../lib/steps.sh
. "$repo/scripts/lib/steps.sh"
STEPS_TIMEOUT=$step_timeout
steps_init "$T/steps"
steps_t0=$t_start
fail() { echo "$*" >&3; exit 1; }
skip() { echo "$*" >&3; exit 77; }
export -f fail skip has ctr_ mounts_under
export T SOCK NS REF RT PROBE_BIN name

# ctr run with the runtime under test; the options go with the container,
# so its exec, kill, pause, delete... use the same binary and root.
ctr_run() { # [OPTIONS] REF ID [COMMAND...]
    local a sd=() prev=
    if [ "$systemd_cgroup" = 1 ]; then
        for a in "$@"; do
            [ "$prev" = "$REF" ] && { sd=(--runc-systemd-cgroup --cgroup "system.slice:$NS:$a"); break; }
            prev=$a
        done
    fi
    ctr_ run --runc-binary "$RT" --runc-root "$T/runc" --fifo-dir "$T/fifo" "${sd[@]}" "$@"
}
# the same options, for a ctr command line given to script(1) or a pipe
ctr_run_opts() { # ID
    echo "--runc-binary $RT --runc-root $T/runc --fifo-dir $T/fifo"
    [ "$systemd_cgroup" = 1 ] && echo "--runc-systemd-cgroup --cgroup system.slice:$NS:$1"
}
# what ctr task ls says of a task: STATUS (RUNNING, PAUSED, STOPPED, ...) or ""
task_status() { ctr_ task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'; }
task_pid() { ctr_ task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $2 }'; }
wait_status() { # ID STATUS [TENTHS]
    local i
    for i in $(seq "${3:-100}"); do
        [ "$(task_status "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
wait_file_has() { # FILE TEXT [TENTHS]
    local i
    for i in $(seq "${3:-100}"); do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# the container's cgroup directory in hierarchy $2 (from the spec ctr wrote)
cg_path() { # ID: the container's cgroup, from a hierarchy's root
    if [ "$systemd_cgroup" = 1 ]; then echo "/system.slice/$NS-$1.scope"; else echo "/$NS/$1"; fi
}
cgroup_dir() { # ID CONTROLLER (its v1 hierarchy; one tree on v2)
    if [ "$CGROUP2" = 1 ]; then echo "/sys/fs/cgroup$(cg_path "$1")"; else echo "/sys/fs/cgroup/$2$(cg_path "$1")"; fi
}
# the line of /proc/PID/cgroup that names the container's cgroup (memory's on v1)
cg_line() { if [ "$CGROUP2" = 1 ]; then grep '^0::' "$@"; else grep ':memory:' "$@"; fi; }
cg_line_ok() { # ID LINE
    if [ "$CGROUP2" = 1 ]; then [ "$2" = "0::$(cg_path "$1")" ]; else [ "$2" = "${2%%:*}:memory:$(cg_path "$1")" ]; fi
}
# cgroup v2 FILE or its cgroup v1 counterpart in the container's cgroup
cg_read() { # ID V1-CONTROLLER V1-FILE V2-FILE
    if [ "$CGROUP2" = 1 ]; then cat "$(cgroup_dir "$1")/$4"; else cat "$(cgroup_dir "$1" "$2")/$3"; fi
}
# check that a deleted container left no runtime state and no cgroup
gone_from_runtime() { # ID
    local h
    [ -e "$T/runc/$NS/$1" ] && fail "the runtime's state $T/runc/$NS/$1 is still there after delete"
    for h in memory freezer pids cpu devices; do
        [ -d "$(cgroup_dir "$1" "$h")" ] && fail "cgroup $(cgroup_dir "$1" "$h") is still there after delete"
    done
    if [ "$systemd_cgroup" = 1 ] && systemctl is-active -q "$NS-$1.scope"; then
        fail "the unit $NS-$1.scope is still active after delete"
    fi
    return 0
}
# containerd's /tasks/exit event (from ctr events) for process ID of
# container CID with status N
exit_event() { # CID ID N
    local i
    for i in $(seq 30); do
        grep ' /tasks/exit ' "$T/logs/events.log" | grep -F "\"container_id\":\"$1\"" | grep -F "\"id\":\"$2\"" |
            has -F "\"exit_status\":$3," && return 0
        sleep 0.1
    done
    fail "no /tasks/exit event with exit_status $3 for $1/$2: $(grep ' /tasks/exit ' "$T/logs/events.log" | grep -F "\"id\":\"$2\"" | tail -n 1)"
}
# ctr's terminal output, without the carriage returns and without the
# echo (^@) of the NUL that reaches the terminal when script(1)'s stdin ends
untty() { tr -d '\r' | sed 's/\^@//g'; }
export -f ctr_run_opts cg_path cg_line cg_line_ok cg_read
export -f exit_event ctr_run task_status task_pid wait_status wait_file_has cgroup_dir gone_from_runtime untty

s_containerd() {
    local i
    for i in $(seq 100); do
        ctr_ version >/dev/null 2>&1 && break
        kill -0 "$(cat "$T/containerd.pid")" 2>/dev/null || fail "containerd exited: $(tail -n 3 "$T/containerd.log" | tr '\n' ' ')"
        sleep 0.1
    done
    ctr_ version || fail "containerd does not answer on $SOCK"
    ctr_ plugins ls >"$T/plugins" || fail "ctr plugins ls failed"
    cat "$T/plugins"
    grep -qE '^io\.containerd\.runtime\.v2 +task .* ok' "$T/plugins" || fail "the runtime v2 task plugin is not ok"
    grep -qE '^io\.containerd\.snapshotter\.v1 +overlayfs .* ok' "$T/plugins" || fail "the overlayfs snapshotter is not ok"
}

# An OCI image layout, in a tar: one uncompressed layer with busybox, its
# applet links, /bin/probe and a few directories.
s_import() {
    local I=$T/image L=$T/image/rootfs a layer config manifest ls sz
    mkdir -p "$L"/{bin,dev,proc,sys,etc,root,tmp,run} "$I/oci/blobs/sha256"
    chmod 1777 "$L/tmp"
    cp /bin/busybox "$L/bin/busybox"
    cp "$PROBE_BIN" "$L/bin/probe"
    for a in $(/bin/busybox --list); do
        [ -e "$L/bin/$a" ] || ln -s busybox "$L/bin/$a"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$L/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$L/etc/group"
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$L" -cf "$I/layer.tar" . ||
        fail "tar of the rootfs failed"
    layer=$(sha256sum "$I/layer.tar" | cut -d' ' -f1)
    mv "$I/layer.tar" "$I/oci/blobs/sha256/$layer"
    printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["/bin/sh"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
        "$layer" >"$I/config.json"
    config=$(sha256sum "$I/config.json" | cut -d' ' -f1)
    mv "$I/config.json" "$I/oci/blobs/sha256/$config"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
        "$config" "$(stat -c %s "$I/oci/blobs/sha256/$config")" "$layer" "$(stat -c %s "$I/oci/blobs/sha256/$layer")" >"$I/manifest.json"
    manifest=$(sha256sum "$I/manifest.json" | cut -d' ' -f1)
    sz=$(stat -c %s "$I/manifest.json")
    mv "$I/manifest.json" "$I/oci/blobs/sha256/$manifest"
    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"latest"},"platform":{"architecture":"amd64","os":"linux"}}]}' \
        "$manifest" "$sz" "$REF" >"$I/oci/index.json"
    echo '{"imageLayoutVersion":"1.0.0"}' >"$I/oci/oci-layout"
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$I/oci" -cf "$I/image.tar" oci-layout index.json blobs ||
        fail "tar of the image failed"
    rm -rf "$L"
    ctr_ images import "$I/image.tar" || fail "ctr images import failed: $(ctr_ images import "$I/image.tar" 2>&1 | tail -n 1)"
    ls=$(ctr_ images ls) || fail "ctr images ls failed"
    echo "$ls"
    echo "$ls" | awk -v r="$REF" '$1 == r { print $3 }' | has -x "sha256:$manifest" ||
        fail "ctr images ls does not show $REF at sha256:$manifest"
    ctr_ content ls | has "sha256:$layer" || fail "the layer sha256:$layer is not in the content store"
}

s_run() {
    local out rc
    out=$(ctr_run --rm "$REF" c-run sh -c 'echo "pid=$$"; grep -E "^0::|:memory:" /proc/self/cgroup; probe isatty; echo to-stderr >&2; exit 7' 2>"$T/steps/run.stderr")
    rc=$?
    echo "$out"
    cat "$T/steps/run.stderr"
    exit_event c-run c-run 7
    [ "$rc" = 7 ] || fail "ctr run exited $rc, not the container's 7: $(tail -n 1 "$T/steps/run.stderr")"
    grep -qx 'pid=1' <<<"$out" || fail "the process is not pid 1 of its own pid namespace: $(head -n 1 <<<"$out")"
    cg_line_ok c-run "$(cg_line <<<"$out")" || fail "not in the cgroup $(cg_path c-run): $(cg_line <<<"$out")"
    grep -qF '{"stdin":false,"stdout":false,"stderr":false}' <<<"$out" || fail "stdio is a terminal without --tty: $(grep stdin <<<"$out")"
    grep -qx to-stderr "$T/steps/run.stderr" || fail "the container's stderr did not reach ctr's stderr"
    ctr_ containers ls -q | has -x c-run && fail "--rm left the container c-run"
    gone_from_runtime c-run
}

s_run_tty() {
    local out rc
    out=$(script -qec "ctr -a $SOCK -n $NS run --rm --tty $(ctr_run_opts c-tty | tr '\n' ' ')$REF c-tty sh -c 'probe isatty; tty; exit 3'" /dev/null | untty)
    rc=$?
    echo "$out"
    [ "$rc" = 3 ] || fail "ctr run --tty exited $rc, not the container's 3"
    grep -qF '{"stdin":true,"stdout":true,"stderr":true}' <<<"$out" || fail "stdio is not a terminal with --tty: $(head -n 1 <<<"$out")"
    grep -qx '/dev/pts/0' <<<"$out" || fail "tty(1) in the container says $(sed -n 2p <<<"$out"), not /dev/pts/0"
    gone_from_runtime c-tty
}

# the container the next steps share: it reports SIGTERM and exits 42
s_run_detached() {
    local pid st
    ctr_run -d --log-uri "file://$T/logs/c-main.log" "$REF" c-main \
        sh -c 'trap "echo got-TERM; exit 42" TERM; echo started; while :; do sleep 0.1; done' ||
        fail "ctr run -d failed"
    wait_file_has "$T/logs/c-main.log" started || fail "the container's output did not reach --log-uri"
    ctr_ task ls
    [ "$(task_status c-main)" = RUNNING ] || fail "ctr task ls says $(task_status c-main), not RUNNING"
    pid=$(task_pid c-main)
    [ -d "/proc/$pid" ] || fail "the task's pid $pid is not running"
    cg_line_ok c-main "$(cg_line "/proc/$pid/cgroup")" || fail "pid $pid is not in $(cg_path c-main): $(cg_line "/proc/$pid/cgroup")"
    st=$("$RT" --root "$T/runc/$NS" state c-main) || fail "$name state c-main failed"
    echo "$st"
    grep -q '"status": *"running"' <<<"$st" || fail "$name state says $(grep status <<<"$st")"
    grep -q "\"pid\": *$pid," <<<"$st" || fail "$name state has another pid than ctr's $pid"
}

s_exec() {
    local out rc
    out=$(ctr_ task exec --fifo-dir "$T/fifo" --exec-id e1 c-main sh -c 'echo "exec pid=$$ init=$(cat /proc/1/comm)"; probe isatty; exit 5')
    rc=$?
    echo "$out"
    [ "$rc" = 5 ] || fail "ctr task exec exited $rc, not the process's 5"
    grep -qE '^exec pid=[0-9]+ init=sh$' <<<"$out" || fail "the process does not see the container's init as pid 1: $(head -n 1 <<<"$out")"
    grep -q '^exec pid=1 ' <<<"$out" && fail "the exec'd process is pid 1"
    grep -qF '{"stdin":false,"stdout":false,"stderr":false}' <<<"$out" || fail "stdio is a terminal without --tty"
    [ "$(task_status c-main)" = RUNNING ] || fail "the task is $(task_status c-main) after the exec"
}

s_exec_tty() {
    local out rc
    out=$(script -qec "ctr -a $SOCK -n $NS task exec --tty --fifo-dir $T/fifo --exec-id e2 c-main sh -c 'probe isatty; tty; exit 4'" /dev/null | untty)
    rc=$?
    echo "$out"
    [ "$rc" = 4 ] || fail "ctr task exec --tty exited $rc, not the process's 4"
    grep -qF '{"stdin":true,"stdout":true,"stderr":true}' <<<"$out" || fail "stdio is not a terminal with --tty: $(head -n 1 <<<"$out")"
    grep -qE '^/dev/pts/[0-9]+$' <<<"$out" || fail "tty(1) says $(sed -n 2p <<<"$out")"
}

s_exec_detached() {
    local i
    ctr_ task exec -d --fifo-dir "$T/fifo" --exec-id e3 c-main sh -c 'echo $$ >/tmp/e3.pid; exec sleep 1000' ||
        fail "ctr task exec -d failed"
    for i in $(seq 50); do
        [ -s "/proc/$(task_pid c-main)/root/tmp/e3.pid" ] && break
        sleep 0.1
    done
    [ -s "/proc/$(task_pid c-main)/root/tmp/e3.pid" ] || fail "the detached exec did not run"
}

s_ps() {
    local out pid
    out=$(ctr_ task ps c-main) || fail "ctr task ps failed: $(ctr_ task ps c-main 2>&1 | tail -n 1)"
    echo "$out"
    pid=$(task_pid c-main)
    awk 'NR > 1 { print $1 }' <<<"$out" | has -x "$pid" || fail "ctr task ps does not list the init (pid $pid)"
    [ "$(awk 'NR > 1' <<<"$out" | wc -l)" -ge 2 ] || fail "ctr task ps does not list the detached exec"
}

s_kill() {
    local out
    ctr_ task kill c-main || fail "ctr task kill failed"
    wait_status c-main STOPPED || fail "the task is $(task_status c-main) after SIGTERM, not STOPPED"
    wait_file_has "$T/logs/c-main.log" got-TERM 20 || fail "the container's trap did not see SIGTERM"
    # the shim maps the runtime's "container not running" to not found
    out=$(ctr_ task kill c-main 2>&1) && fail "ctr task kill of a stopped task succeeded"
    echo "$out"
    grep -q 'not found' <<<"$out" || fail "ctr task kill of a stopped task: $out (not \"not found\")"
}

s_delete() {
    local out snaps
    out=$(ctr_ task delete c-main 2>&1) || fail "ctr task delete failed: $(tail -n 1 <<<"$out")"
    echo "$out"
    grep -q 'exit code 42' <<<"$out" || fail "ctr task delete does not report the exit code 42: $out"
    exit_event c-main c-main 42
    ctr_ task ls -q | has -x c-main && fail "ctr task ls still lists c-main"
    gone_from_runtime c-main
    ctr_ containers delete c-main || fail "ctr containers delete failed"
    snaps=$(ctr_ snapshots ls) || fail "ctr snapshots ls failed"
    echo "$snaps"
    grep -q '^c-main ' <<<"$snaps" && fail "the snapshot c-main is still there"
    return 0
}

s_kill_all() {
    local pid i out
    ctr_run -d --null-io "$REF" c-all sleep 1000 || fail "ctr run -d failed"
    wait_status c-all RUNNING || fail "the task is $(task_status c-all), not RUNNING"
    ctr_ task exec -d --fifo-dir "$T/fifo" --exec-id e1 c-all sleep 1001 || fail "ctr task exec -d failed"
    sleep 0.3
    pid=$(task_pid c-all)
    ctr_ task kill -a -s SIGKILL c-all || fail "ctr task kill --all failed"
    wait_status c-all STOPPED || fail "the task is $(task_status c-all) after kill --all, not STOPPED"
    for i in $(seq 30); do
        [ -z "$(cat "$(cgroup_dir c-all pids)/cgroup.procs" 2>/dev/null)" ] && break
        sleep 0.1
    done
    [ -z "$(cat "$(cgroup_dir c-all pids)/cgroup.procs" 2>/dev/null)" ] ||
        fail "processes left in the container's cgroup after kill --all: $(tr '\n' ' ' <"$(cgroup_dir c-all pids)/cgroup.procs")"
    out=$(ctr_ task delete c-all 2>&1) || fail "ctr task delete failed: $(tail -n 1 <<<"$out")"
    grep -q 'exit code 137' <<<"$out" || fail "ctr task delete does not report the SIGKILL (exit code 137): $out"
    exit_event c-all c-all 137
    exit_event c-all e1 137
    gone_from_runtime c-all
    ctr_ containers delete c-all || fail "ctr containers delete failed"
}

s_pause() {
    local pid a b c i
    ctr_run -d --null-io "$REF" c-count sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/count; sleep 0.05; done' ||
        fail "ctr run -d failed"
    wait_status c-count RUNNING || fail "the task is $(task_status c-count), not RUNNING"
    pid=$(task_pid c-count)
    count() { cat "/proc/$pid/root/tmp/count" 2>/dev/null; }
    for i in $(seq 50); do
        [ -n "$(count)" ] && break
        sleep 0.1
    done
    [ -n "$(count)" ] || fail "the counter does not run (no /proc/$pid/root/tmp/count)"
    ctr_ task pause c-count || fail "ctr task pause failed"
    wait_status c-count PAUSED 30 || fail "the task is $(task_status c-count) after pause, not PAUSED"
    if [ "$CGROUP2" = 1 ]; then
        grep -qx 'frozen 1' "$(cgroup_dir c-count)/cgroup.events" ||
            fail "the cgroup is not frozen: $(grep frozen "$(cgroup_dir c-count)/cgroup.events")"
    else
        [ "$(cat "$(cgroup_dir c-count freezer)/freezer.state")" = FROZEN ] ||
            fail "the freezer cgroup is $(cat "$(cgroup_dir c-count freezer)/freezer.state"), not FROZEN"
    fi
    a=$(count)
    sleep 1
    b=$(count)
    echo "paused: $a then $b"
    [ -n "$a" ] && [ "$a" = "$b" ] || fail "the container made progress while paused ($a then $b)"
    ctr_ task resume c-count || fail "ctr task resume failed"
    wait_status c-count RUNNING 30 || fail "the task is $(task_status c-count) after resume, not RUNNING"
    for i in $(seq 30); do
        c=$(count)
        [ "$c" != "$b" ] && break
        sleep 0.1
    done
    echo "resumed: $c"
    [ "$c" != "$b" ] || fail "no progress after resume ($b then $c)"
}

s_delete_force() {
    local pid
    pid=$(task_pid c-count)
    ctr_ task delete -f c-count || fail "ctr task delete --force failed on a running task"
    ctr_ task ls -q | has -x c-count && fail "ctr task ls still lists c-count"
    sleep 0.2
    [ -d "/proc/$pid" ] && [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" != Z ] && fail "the init (pid $pid) still runs"
    gone_from_runtime c-count
    ctr_ containers delete c-count || fail "ctr containers delete failed"
}

s_memory_limit() {
    local lim=67108864 in host rc
    # containerd's default spec has no cgroup mount (CRI adds one): ask for it
    ctr_run -d --null-io --memory-limit $lim --mount type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:nodev:noexec \
        "$REF" c-mem sleep 1000 || fail "ctr run -d --memory-limit failed"
    wait_status c-mem RUNNING || fail "the task is $(task_status c-mem), not RUNNING"
    host=$(cg_read c-mem memory memory.limit_in_bytes memory.max) || fail "no memory cgroup $(cgroup_dir c-mem memory)"
    [ "$host" = $lim ] || fail "the host's memory limit in $(cgroup_dir c-mem memory) is $host, not $lim"
    in=$(ctr_ task exec --fifo-dir "$T/fifo" --exec-id lim c-mem sh -c 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes') ||
        fail "cannot read the memory limit under /sys/fs/cgroup in the container"
    echo "limit inside: $in"
    [ "$in" = $lim ] || fail "the container sees a memory limit of $in, not $lim"
    ctr_ task exec --fifo-dir "$T/fifo" --exec-id oom c-mem probe alloc 128 >/dev/null 2>&1
    rc=$?
    [ "$rc" = 137 ] || fail "allocating 128 MiB under a 64 MiB limit ended with $rc, not SIGKILL (137)"
}
s_memory_delete() {
    ctr_ task delete -f c-mem || fail "ctr task delete --force failed"
    gone_from_runtime c-mem
    ctr_ containers delete c-mem || fail "ctr containers delete failed"
}

s_no_pivot() {
    local out rc
    out=$(ctr_run --rm --no-pivot "$REF" c-nopivot sh -c 'echo no-pivot-ran; exit 6')
    rc=$?
    echo "$out"
    [ "$rc" = 6 ] || fail "ctr run --no-pivot exited $rc, not the container's 6"
    [ "$out" = no-pivot-ran ] || fail "ctr run --no-pivot printed $out"
    gone_from_runtime c-nopivot
}

# The shim reads the runtime's --log (json) to explain a failed create:
# ctr must show what the runtime said.
s_error() {
    local out rc
    out=$(ctr_run --rm "$REF" c-bad /no/such/binary 2>&1)
    rc=$?
    echo "$out"
    [ "$rc" != 0 ] || fail "ctr run of a missing binary succeeded"
    grep -q '/no/such/binary' <<<"$out" || fail "ctr's error does not carry the runtime's message: $(tail -n 1 <<<"$out")"
    ctr_ task ls -q | has -x c-bad && fail "a task c-bad is left"
    ctr_ containers ls -q | has -x c-bad && ctr_ containers delete c-bad
    gone_from_runtime c-bad
}

s_run_stdin() {
    local out rc
    out=$(printf 'line-one\nline-two\n' | timeout -k 5 30 ctr -a "$SOCK" -n "$NS" run --rm $(ctr_run_opts c-stdin) \
        "$REF" c-stdin sh -c 'read a; read b; echo "got $b $a"; exit 0')
    rc=$?
    echo "$out"
    [ "$rc" = 0 ] || fail "ctr run exited $rc"
    [ "$out" = "got line-two line-one" ] || fail "the container read its stdin as: $out"
    gone_from_runtime c-stdin
}

s_exec_user() {
    local out
    out=$(ctr_ task exec --fifo-dir "$T/fifo" --user 65534 --cwd /tmp --exec-id user c-main \
        sh -c 'echo "$(id -u):$(id -g) $(pwd)"') || fail "ctr task exec --user failed"
    echo "$out"
    [ "$out" = "65534:65534 /tmp" ] || fail "exec --user 65534 --cwd /tmp ran as: $out"
}

# Kubernetes runs probes as execs, often several at once.
s_exec_parallel() {
    local i bad=
    for i in $(seq 8); do
        ctr_ task exec --fifo-dir "$T/fifo" --exec-id "par$i" c-main sh -c "echo par-$i; exit $((10 + i))" \
            >"$T/steps/par$i.out" 2>&1 &
    done
    wait
    for i in $(seq 8); do
        grep -qx "par-$i" "$T/steps/par$i.out" || bad="$bad par$i:$(tr '\n' ' ' <"$T/steps/par$i.out")"
    done
    [ -z "$bad" ] || fail "parallel execs printed something else:$bad"
    for i in $(seq 8); do
        exit_event c-main "par$i" $((10 + i))
    done
    [ "$(task_status c-main)" = RUNNING ] || fail "the task is $(task_status c-main) after the execs"
}

# The shim reads the runtime's --log to explain a failed exec too.
s_exec_error() {
    local out rc
    out=$(ctr_ task exec --fifo-dir "$T/fifo" --exec-id bad c-main /no/such/exec 2>&1)
    rc=$?
    echo "$out"
    [ "$rc" != 0 ] || fail "exec of a missing binary succeeded"
    grep -q '/no/such/exec' <<<"$out" || fail "ctr's error does not carry the runtime's message: $(tail -n 1 <<<"$out")"
    [ "$(task_status c-main)" = RUNNING ] || fail "the task is $(task_status c-main) after a failed exec"
}

s_metrics() {
    local out
    out=$(ctr_ task metrics c-mem) || fail "ctr task metrics failed"
    echo "$out"
    # cgroup v1: memory.limit_in_bytes; v2: memory.usage_limit
    grep -qE '^memory\.(limit_in_bytes|usage_limit) +67108864 *$' <<<"$out" ||
        fail "ctr task metrics does not show the limit: $(grep -E 'limit_in_bytes|usage_limit' <<<"$out")"
}

s_paused_delete() {
    local pid
    ctr_run -d --null-io "$REF" c-pdel sleep 1000 || fail "ctr run -d failed"
    wait_status c-pdel RUNNING || fail "the task is $(task_status c-pdel), not RUNNING"
    pid=$(task_pid c-pdel)
    ctr_ task pause c-pdel || fail "ctr task pause failed"
    wait_status c-pdel PAUSED 30 || fail "the task is $(task_status c-pdel) after pause"
    ctr_ task exec --fifo-dir "$T/fifo" --exec-id x c-pdel true >/dev/null 2>&1 &
    sleep 0.5
    ctr_ task delete -f c-pdel || fail "ctr task delete --force of a paused task failed"
    wait
    ctr_ task ls -q | has -x c-pdel && fail "ctr task ls still lists c-pdel"
    [ -d "/proc/$pid" ] && [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" != Z ] && fail "the init (pid $pid) still runs"
    gone_from_runtime c-pdel
    ctr_ containers delete c-pdel || fail "ctr containers delete failed"
}

s_userns() {
    local out rc
    out=$(ctr_run --rm --uidmap 0:200000:65536 --gidmap 0:200000:65536 "$REF" c-userns \
        sh -c 'echo "$(id -u) $(stat -c %u /bin/busybox)"; cat /proc/self/uid_map; touch /root/w && echo writable')
    rc=$?
    echo "$out"
    [ "$rc" = 0 ] || fail "ctr run --uidmap exited $rc"
    [ "$(head -n 1 <<<"$out")" = "0 0" ] || fail "in the user namespace: id -u, owner of /bin/busybox = $(head -n 1 <<<"$out")"
    sed -n 2p <<<"$out" | has -E '^ *0 +200000 +65536$' || fail "uid_map is $(sed -n 2p <<<"$out")"
    grep -qx writable <<<"$out" || fail "root in the user namespace cannot write its remapped rootfs"
    gone_from_runtime c-userns
}

s_oom_event() {
    local i
    for i in $(seq 30); do
        grep ' /tasks/oom ' "$T/logs/events.log" | has -F '"container_id":"c-mem"' && return 0
        sleep 0.1
    done
    fail "no /tasks/oom event for c-mem"
}

# containerd's default seccomp profile (a large one: arch lists, argument
# conditions): ordinary work goes on, keyctl(2) is refused with EPERM
s_seccomp() {
    local out rc
    out=$(ctr_run --rm --seccomp "$REF" c-sec sh -c 'grep "^Seccomp:" /proc/self/status; probe syscall 250 0 -3; ls / >/dev/null && echo still-works')
    rc=$?
    echo "$out"
    [ "$rc" = 0 ] || fail "ctr run --seccomp exited $rc: $(tail -n 1 <<<"$out")"
    grep -qE '^Seccomp:\s+2$' <<<"$out" || fail "no seccomp filter: $(grep Seccomp <<<"$out")"
    grep -q '"errno":"EPERM"' <<<"$out" || fail "keyctl was not refused with EPERM: $(grep syscall <<<"$out")"
    grep -qx still-works <<<"$out" || fail "ordinary commands fail under the profile"
    out=$(ctr_run --rm "$REF" c-nosec probe syscall 250 0 -3)
    grep -q '"errno":null' <<<"$out" || fail "keyctl fails without --seccomp too: $out"
    gone_from_runtime c-sec
}

s_privileged() {
    local out rc want
    want=$(awk '$1 == "CapBnd:" { print $2 }' /proc/self/status)
    out=$(ctr_run --rm --privileged "$REF" c-priv sh -c 'grep "^CapEff:" /proc/self/status; [ -b /dev/vda ] || ls /dev | wc -l; mkdir -p /mnt && mount -t tmpfs t /mnt && echo mounted && umount /mnt')
    rc=$?
    echo "$out"
    [ "$rc" = 0 ] || fail "ctr run --privileged exited $rc: $(tail -n 1 <<<"$out")"
    grep -qE "^CapEff:\s+$want\$" <<<"$out" || fail "capabilities $(grep CapEff <<<"$out"), not the host's bounding set $want"
    grep -qx mounted <<<"$out" || fail "mount(2) fails in a privileged container"
    [ -b /dev/vda ] && [ "$(sed -n 2p <<<"$out")" != mounted ] && fail "the host's devices are not in /dev: $(sed -n 2p <<<"$out") entries"
    gone_from_runtime c-priv
}

s_read_only() {
    local out rc
    out=$(ctr_run --rm --read-only "$REF" c-ro sh -c 'touch /x 2>&1; echo "rc=$?"; echo ok >/dev/null && echo dev-ok')
    rc=$?
    echo "$out"
    [ "$rc" = 0 ] || fail "ctr run --read-only exited $rc"
    grep -q 'Read-only file system' <<<"$out" || fail "the rootfs is writable with --read-only: $(head -n 1 <<<"$out")"
    grep -qx dev-ok <<<"$out" || fail "/dev/null is not writable"
    gone_from_runtime c-ro
}

s_net_host() {
    local out
    out=$(ctr_run --rm --net-host "$REF" c-net readlink /proc/self/ns/net) || fail "ctr run --net-host failed"
    echo "$out"
    [ "$out" = "$(readlink /proc/self/ns/net)" ] || fail "the container's network namespace is $out, not the host's"
    out=$(ctr_run --rm "$REF" c-net2 readlink /proc/self/ns/net) || fail "ctr run failed"
    [ "$out" != "$(readlink /proc/self/ns/net)" ] || fail "without --net-host the container shares the host's network namespace"
}

s_env_cwd() {
    local out
    out=$(ctr_run --rm --env PIVOT_A=b --cwd /tmp "$REF" c-env sh -c 'echo "$PIVOT_A $(pwd) $PATH"') || fail "ctr run failed"
    echo "$out"
    [ "$out" = "b /tmp /bin" ] || fail "env, cwd, PATH from the image: $out"
}

s_cpu() {
    local out d
    ctr_run -d --null-io --cpus 0.5 --cpu-shares 512 "$REF" c-cpu sleep 1000 || fail "ctr run -d --cpus failed"
    wait_status c-cpu RUNNING || fail "the task is $(task_status c-cpu), not RUNNING"
    d=$(cgroup_dir c-cpu cpu)
    if [ "$CGROUP2" = 1 ]; then
        # cpu.weight: 512 shares converted, by a formula of the runtime's
        # (runc 1.5.1's is not runc 1.1's): only that it is not the default
        echo "$(cat "$d/cpu.max") weight $(cat "$d/cpu.weight")"
        [ "$(cat "$d/cpu.max")" = "50000 100000" ] || fail "--cpus 0.5: cpu.max is $(cat "$d/cpu.max"), not 50000 100000"
        [ "$(cat "$d/cpu.weight")" != 100 ] || fail "--cpu-shares 512: cpu.weight is the default 100"
        ctr_ task delete -f c-cpu || fail "ctr task delete --force failed"
        gone_from_runtime c-cpu
        ctr_ containers delete c-cpu
        return
    fi
    echo "$(cat "$d/cpu.cfs_quota_us") $(cat "$d/cpu.cfs_period_us") $(cat "$d/cpu.shares")"
    [ "$(cat "$d/cpu.cfs_quota_us") $(cat "$d/cpu.cfs_period_us")" = "50000 100000" ] ||
        fail "--cpus 0.5: quota/period $(cat "$d/cpu.cfs_quota_us")/$(cat "$d/cpu.cfs_period_us"), not 50000/100000"
    [ "$(cat "$d/cpu.shares")" = 512 ] || fail "--cpu-shares 512: cpu.shares is $(cat "$d/cpu.shares")"
    ctr_ task delete -f c-cpu || fail "ctr task delete --force failed"
    gone_from_runtime c-cpu
    ctr_ containers delete c-cpu
}

# A pod as Kubernetes makes one: a sandbox container, and an application
# container joining its network, ipc and pid namespaces (--with-ns).
s_pod() {
    local pid out ns
    ctr_run -d --null-io "$REF" c-pod sleep 1000 || fail "ctr run -d failed"
    wait_status c-pod RUNNING || fail "the sandbox is $(task_status c-pod), not RUNNING"
    pid=$(task_pid c-pod)
    out=$(ctr_run --rm --with-ns "network:/proc/$pid/ns/net" --with-ns "ipc:/proc/$pid/ns/ipc" --with-ns "pid:/proc/$pid/ns/pid" \
        "$REF" c-app sh -c 'for n in net ipc pid; do readlink /proc/self/ns/$n; done; cat /proc/1/cmdline | tr "\0" " "; echo') ||
        fail "ctr run --with-ns failed: $(tail -n 1 <<<"$out")"
    echo "$out"
    for ns in net ipc pid; do
        grep -qxF "$(readlink "/proc/$pid/ns/$ns")" <<<"$out" || fail "the application is not in the sandbox's $ns namespace"
    done
    grep -qx 'sleep 1000 ' <<<"$out" || fail "pid 1 of the shared pid namespace is not the sandbox's: $(tail -n 1 <<<"$out")"
    [ "$(task_status c-pod)" = RUNNING ] || fail "the sandbox is $(task_status c-pod) after the application exited"
    gone_from_runtime c-app
    ctr_ task delete -f c-pod || fail "ctr task delete --force of the sandbox failed"
    gone_from_runtime c-pod
    ctr_ containers delete c-pod
}

# The snippet README.md gives for Kubernetes (the CRI plugin): containerd
# must read it as a runc v2 runtime named pivot with that BinaryName. The
# CRI plugin itself is not started here.
s_cri_config() {
    local out
    cat >"$T/cri.toml" <<EOF2
version = 2
root = "$T/cri-root"
state = "$T/cri-state"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.pivot]
  runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.pivot.options]
    BinaryName = "$RT"
    Root = "/run/containerd/pivot"$([ "$systemd_cgroup" = 1 ] && printf '\n    SystemdCgroup = true')
EOF2
    out=$(containerd --config "$T/cri.toml" config dump) || fail "containerd config dump failed: $(tail -n 1 <<<"$out")"
    awk '/runtimes\.pivot\]/,/^ *$/' <<<"$out"
    awk '/runtimes\.pivot\]/,/^ *$/' <<<"$out" | grep -q 'runtime_type = "io.containerd.runc.v2"' ||
        fail "containerd does not read runtimes.pivot as io.containerd.runc.v2"
    awk '/runtimes\.pivot\.options\]/,/^ *$/' <<<"$out" | grep -qF "BinaryName = \"$RT\"" ||
        fail "containerd does not read BinaryName in runtimes.pivot.options"
    if [ "$systemd_cgroup" = 1 ]; then
        awk '/runtimes\.pivot\.options\]/,/^ *$/' <<<"$out" | grep -qF 'SystemdCgroup = true' ||
            fail "containerd does not read SystemdCgroup = true in runtimes.pivot.options"
    fi
    [ ! -e "$T/cri-root" ] || rm -rf "$T/cri-root" "$T/cri-state"
}

export -f s_cri_config
export -f s_seccomp s_privileged s_read_only s_net_host s_env_cwd s_cpu s_pod
export -f s_exec_parallel s_run_stdin s_exec_user s_exec_error s_metrics s_paused_delete s_userns s_oom_event
export -f s_containerd s_import s_run s_run_tty s_run_detached s_exec s_exec_tty s_exec_detached \
    s_ps s_kill s_delete s_kill_all s_pause s_delete_force s_memory_limit s_memory_delete s_no_pivot s_error

# --- containerd --------------------------------------------------------------
cat >"$T/config.toml" <<EOF
version = 2
root = "$T/root"
state = "$T/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "$SOCK"

[ttrpc]
  address = "$SOCK.ttrpc"

[debug]
  address = "$T/debug.sock"
  level = "info"

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$T/opt"
EOF

# A private mount namespace with a tmpfs on /run: containerd, the shims
# and the runtime they start see it; the host does not. With
# --systemd-cgroup the system bus and systemd's own directory stay visible
# there (/run/dbus, /run/systemd), for the runtime to reach systemd.
keep_run=
[ "$systemd_cgroup" = 1 ] && keep_run=$T/host-run
TMPDIR=$T/tmp unshare -m --propagation private -- \
    sh -c 'set -e
        if [ -n "$2" ]; then mkdir -p "$2" && mount --rbind /run "$2"; fi
        mount -t tmpfs -o mode=0755,size=64m pivot-containerd-run /run
        if [ -n "$2" ]; then
            for d in dbus systemd; do mkdir -p "/run/$d" && mount --rbind "$2/$d" "/run/$d"; done
            umount -l "$2"
        fi
        exec containerd --config "$1"' \
    sh "$T/config.toml" "$keep_run" >"$T/containerd.log" 2>&1 &
ctrd_pid=$!
echo "$ctrd_pid" >"$T/containerd.pid"

echo "containerd $(containerd --version | awk '{ print $3 }'), runtime $RT ($($RT --version 2>/dev/null | head -n 1))"
step cri-config -- s_cri_config
step containerd -- s_containerd
# containerd's events, for the exit statuses it reports
if [ "${STEPS_RESULT[containerd]}" = ok ]; then
    ctr -a "$SOCK" events </dev/null >"$T/logs/events.log" 2>&1 &
fi
step import --needs containerd -- s_import
step run --needs import -- s_run
step run-tty --needs import -- s_run_tty
step run-stdin --needs import -- s_run_stdin
step run-detached --needs import -- s_run_detached
step exec --needs run-detached -- s_exec
step exec-tty --needs run-detached -- s_exec_tty
step exec-detached --needs run-detached -- s_exec_detached
step exec-user --needs run-detached -- s_exec_user
step exec-error --needs run-detached -- s_exec_error
step exec-parallel --needs run-detached -- s_exec_parallel
step ps --needs exec-detached -- s_ps
step kill --needs run-detached -- s_kill
step delete --needs kill -- s_delete
step kill-all --needs import -- s_kill_all
step pause-resume --needs import -- s_pause
step delete-force --needs pause-resume -- s_delete_force
step memory-limit --needs import -- s_memory_limit
step oom-event --needs memory-limit -- s_oom_event
step metrics --needs memory-limit -- s_metrics
step memory-delete --needs memory-limit -- s_memory_delete
step paused-delete --needs import -- s_paused_delete
step userns --needs import -- s_userns
step no-pivot --needs import -- s_no_pivot
step seccomp --needs import -- s_seccomp
step privileged --needs import -- s_privileged
step read-only --needs import -- s_read_only
step net-host --needs import -- s_net_host
step env-cwd --needs import -- s_env_cwd
step cpu-limits --needs import -- s_cpu
step pod --needs import -- s_pod
step error-message --needs import -- s_error
if s_teardown; then
    steps_record teardown ok
else
    steps_record teardown fail "$(cat "$T/steps/teardown.reason")"
fi

steps_summary
