#!/usr/bin/env bash
# Drives a runtime binary through Debian's podman 4.3 (as root, cgroupfs
# manager or systemd's, file events, overlay storage, `--network none`) and checks, for
# each podman feature, both what podman reports and what the container sees.
# Everything podman keeps goes to a private directory (/tmp/pivot-podman.*:
# --root, --runroot, --tmpdir, containers.conf, storage.conf, file locks,
# network config): the host's podman state is not touched. The image is
# made locally from busybox-static plus the static `probe` (no registry).
# See docs/CONFORMANCE.md, section "podman".
#
# usage: scripts/podman/run.sh [OPTIONS] [RUNTIME_BINARY]
#   RUNTIME_BINARY  default: pivot at target/x86_64-unknown-linux-gnu/release/pivot
#                   (built with `cargo build --release -p pivot` if missing)
#   --only REGEX    run only the steps whose name matches REGEX
#   --step-timeout SECS  time limit for one step (default 90)
#   --keep-logs DIR copy each step's log (commands and output) to DIR
#   --no-setup      do not run setup.sh (apt-get) first
#   --cgroup-manager cgroupfs|systemd  podman's (default cgroupfs); systemd:
#                   podman's scopes in machine.slice and the runtime run with
#                   --systemd-cgroup (needs systemd as pid 1:
#                   scripts/vm/systemd.sh with PIVOT_VM_HARNESS=podman)
#   -h, --help
# environment:
#   PROBE_BIN  the static probe (default: target/x86_64-unknown-linux-gnu/release/probe,
#              built with `cargo build --release -p probe` if missing)
#   BUSYBOX    a static busybox (default /bin/busybox)
#   SUBREAPER  a compiled scripts/conformance/subreaper.c to run under
#              (default: compiled with gcc for the run)
# Without CAP_SYS_RESOURCE, podman cannot raise the hard limits to its
# default rlimits: every container then gets --ulimit nofile=20000:20000
# --ulimit nproc=32768:32768 (the first line says which).
#
# Prints one line per step ("ok NAME", "FAIL NAME: reason", "skip NAME:
# reason"), then "N passed, N failed, N skipped". The last step, "cleanup",
# checks that no container, mount, cgroup, process or runtime state is left.
# Exit status: 0 all passed, 1 a step failed, 2 harness error.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

# shellcheck source=../lib/cli.sh
. "$repo/scripts/lib/cli.sh"

# --- run below a child subreaper ------------------------------------------------
# conmon double-forks, and a killed podman leaves container processes behind:
# they must be re-parented to (and reaped by) this harness, not pid 1.
if [ -z "${PIVOT_PODMAN_REAPED:-}" ]; then
    case " $* " in *" -h "* | *" --help "*) usage; exit 0 ;; esac
    require_root "podman with a custom runtime runs as root here"
    case " $* " in *" --no-setup "*) ;; *) bash "$here/setup.sh" || exit 2 ;; esac
    bin=$(mktemp -d /tmp/pivot-podman-bin.XXXXXX) || exit 2
    if [ -n "${SUBREAPER:-}" ]; then
        cp "$SUBREAPER" "$bin/subreaper" || { rm -rf "$bin"; exit 2; }
    elif ! gcc -O2 -Wall -o "$bin/subreaper" "$repo/scripts/conformance/subreaper.c"; then
        rm -rf "$bin"
        exit 2
    fi
    PIVOT_PODMAN_REAPED=1 "$bin/subreaper" -t 3600 -- bash "$0" "$@" &
    sp=$!
    # A signal here goes to the harness below the subreaper, which cleans up
    # (the subreaper itself would give it only 5 s).
    forward() {
        local c
        for c in $(cat "/proc/$sp/task/$sp/children" 2>/dev/null); do kill -TERM "$c" 2>/dev/null; done
    }
    trap forward INT TERM HUP
    rc=0
    wait "$sp" || rc=$?
    while kill -0 "$sp" 2>/dev/null; do
        rc=0
        wait "$sp" || rc=$?
    done
    rm -rf "$bin"
    exit $rc
fi

only=
step_timeout=90
keep_logs=
CGM=cgroupfs
RUNTIME=
while [ $# -gt 0 ]; do
    case $1 in
    --only) only=$2; shift ;;
    --only=*) only=${1#*=} ;;
    --step-timeout) step_timeout=$2; shift ;;
    --step-timeout=*) step_timeout=${1#*=} ;;
    --keep-logs) keep_logs=$2; shift ;;
    --keep-logs=*) keep_logs=${1#*=} ;;
    --no-setup) ;;
    --cgroup-manager) CGM=$2; shift ;;
    --cgroup-manager=*) CGM=${1#*=} ;;
    -*) unknown_option "$1" ;;
    *) runtime_arg RUNTIME "$1" ;;
    esac
    shift
done

runtime_binary RUNTIME
probe_binary
case $CGM in
cgroupfs) ;;
systemd)
    [ -d /run/systemd/system ] || { echo "run.sh: --cgroup-manager systemd needs systemd as pid 1 (no /run/systemd/system)" >&2; exit 2; }
    ;;
*) echo "run.sh: --cgroup-manager is cgroupfs or systemd, not $CGM" >&2; exit 2 ;;
esac
BUSYBOX=${BUSYBOX:-/bin/busybox}
for f in "$RUNTIME" "$PROBE_BIN" "$BUSYBOX"; do
    [ -x "$f" ] || { echo "run.sh: $f: not an executable" >&2; exit 2; }
done

t_start=$(date +%s)
W=$(mktemp -d /tmp/pivot-podman.XXXXXX) || exit 2
IMG=localhost/pivot-busybox:latest
export W IMG RUNTIME CGM
export CONTAINERS_CONF=$W/containers.conf CONTAINERS_STORAGE_CONF=$W/storage.conf
# conmon writes files (an "oom" marker after an OOM kill) into the working
# directory podman was started from: keep that inside the run's directory.
cd "$W"

# --- what exists before: only what this run creates is removed ----------------------
# podman (cgroupfs manager, as root) makes <hierarchy>/libpod_parent (and
# libpod_parent/conmon) in every v1 hierarchy, or machine.slice on some
# setups, and keeps them. Remember which of them did not exist.
# conmon also writes its pid into <dir>/libpod_parent/conmon/tasks under
# directories of /sys/fs/cgroup where no hierarchy is mounted (net_cls,
# perf_event, ... on this host): there they are plain directories.
cgroup_roots=()
while read -r mp; do
    cgroup_roots+=("$mp")
done < <({
    awk '$9 == "cgroup" || $9 == "cgroup2" { print $5 }' /proc/self/mountinfo
    find /sys/fs/cgroup -mindepth 1 -maxdepth 1 -type d
} | sort -u)
# conmon also makes those plain directories themselves when they are
# missing (/sys/fs/cgroup/net_cls ...): remember which were there.
top_before=$(find /sys/fs/cgroup -mindepth 1 -maxdepth 1 | sort)
new_cgroups=()
# (With systemd's manager, machine.slice is systemd's: never removed here.)
for r in "${cgroup_roots[@]}"; do
    for n in libpod_parent machine.slice; do
        [ "$CGM" = systemd ] && [ "$n" = machine.slice ] && continue
        [ -e "$r/$n" ] || new_cgroups+=("$r/$n")
    done
done
# containers/image keeps its blob-info cache in /var/lib/containers/cache
# for root whatever --root says; podman import creates the directory.
new_dirs=()
for d in /var/lib/containers /var/lib/containers/cache; do
    [ -e "$d" ] || new_dirs+=("$d")
done
# podman gives the runtime the root /run/<its name>, where pivot keeps its
# seccomp filter cache (pivot@seccomp) beside the containers' state.
runtime_root=/run/$(basename "$RUNTIME")
new_runtime_dirs=()
for d in "$runtime_root" "$runtime_root/pivot@seccomp"; do
    [ -e "$d" ] || new_runtime_dirs+=("$d")
done

cleaned=0
cleanup() {
    [ "$cleaned" = 1 ] && return 0
    cleaned=1
    local leftovers=()
    if [ -f "$W/containers.conf" ]; then
        timeout -k 5 60 bash -c 'pm rm -af -t 0' >/dev/null 2>&1
        timeout -k 5 60 bash -c 'pm system reset -f' >/dev/null 2>&1
    fi
    # processes started from this run's directory (conmon, podman, the
    # containers' processes): by pid, never by name
    local pid pids _
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        pids=$(leftover_pids)
        [ -z "$pids" ] && break
        for pid in $pids; do kill -KILL "$pid" 2>/dev/null; done
        sleep 0.3
    done
    [ -n "$(leftover_pids)" ] && leftovers+=("processes $(leftover_pids | tr '\n' ' ')")
    # podman's overlay mounts under the private root, deepest first
    local m
    for m in $(awk -v w="$W" 'index($5, w "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || leftovers+=("mount $m")
    done
    rm -rf "$W" 2>/dev/null || leftovers+=("directory $W")
    # the cgroups podman made during this run, children first
    local c d fs
    for c in "${new_cgroups[@]}"; do
        [ -d "$c" ] || continue
        fs=$(stat -f -c %T "$c")
        if [ "$fs" = cgroupfs ] || [ "$fs" = cgroup2fs ]; then
            while read -r d; do
                rmdir "$d" 2>/dev/null || leftovers+=("cgroup $d")
            done < <(find "$c" -depth -type d 2>/dev/null)
        else
            rm -rf "$c" 2>/dev/null || leftovers+=("directory $c")
        fi
    done
    # the plain directories of /sys/fs/cgroup that this run made (never a
    # mounted hierarchy: those are not tmpfs)
    while read -r d; do
        grep -qxF "$d" <<<"$top_before" && continue
        [ "$(stat -f -c %T "$d")" = tmpfs ] || continue
        rm -rf "$d" 2>/dev/null || leftovers+=("directory $d")
    done < <(find /sys/fs/cgroup -mindepth 1 -maxdepth 1 -type d)
    # the blob-info cache (podman import writes it), if this run made it
    for d in "${new_dirs[@]}"; do
        [ "$d" = /var/lib/containers/cache ] && rm -f "$d/blob-info-cache-v1.boltdb"
    done
    for ((i = ${#new_dirs[@]} - 1; i >= 0; i--)); do
        d=${new_dirs[i]}
        [ -d "$d" ] || continue
        rmdir "$d" 2>/dev/null || leftovers+=("directory $d (not empty)")
    done
    # the runtime's root and filter cache, if this run made them
    for ((i = ${#new_runtime_dirs[@]} - 1; i >= 0; i--)); do
        d=${new_runtime_dirs[i]}
        [ -d "$d" ] || continue
        [ "$d" = "$runtime_root/pivot@seccomp" ] && rm -f "$d"/*.bpf
        rmdir "$d" 2>/dev/null || leftovers+=("directory $d (not empty)")
    done
    if [ ${#leftovers[@]} -gt 0 ]; then
        printf 'run.sh: left behind: %s\n' "${leftovers[@]}" >&2
        return 1
    fi
    return 0
}
# pids of processes whose command line names the private directory
leftover_pids() {
    local p
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [ "$p" = $$ ] && continue
        [ "$p" = "$BASHPID" ] && continue
        if { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -qF "$W"; then
            echo "$p"
        fi
    done
}
STEPS_PID=
on_signal() {
    [ -n "$STEPS_PID" ] && kill -TERM "$STEPS_PID" 2>/dev/null
    echo "run.sh: interrupted; cleaning up" >&2
    cleanup
    exit 2
}
trap on_signal INT TERM HUP
trap 'cleanup' EXIT

# --- private podman configuration --------------------------------------------------
mkdir -p "$W/cni" "$W/imgtmp" "$W/logs" "$W/host"
cat >"$W/containers.conf" <<EOF
[containers]
netns = "none"
init_path = "/usr/libexec/podman/catatonit"

[network]
network_config_dir = "$W/cni"

[engine]
cgroup_manager = "$CGM"
events_logger = "file"
events_logfile_path = "$W/events.log"
lock_type = "file"
static_dir = "$W/root/libpod"
tmp_dir = "$W/tmp"
volume_path = "$W/root/volumes"
image_copy_tmp_dir = "$W/imgtmp"
EOF
cat >"$W/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$W/root"
runroot = "$W/run"
EOF

# podman with the private state and the runtime under test
pm() {
    podman --root "$W/root" --runroot "$W/run" --tmpdir "$W/tmp" \
        --runtime "$RUNTIME" --cgroup-manager "$CGM" --events-backend file "$@"
}
# the same, as one shell command line (for script -c)
PM=$(printf '%q ' podman --root "$W/root" --runroot "$W/run" --tmpdir "$W/tmp" \
    --runtime "$RUNTIME" --cgroup-manager "$CGM" --events-backend file)
# podman's default rlimits are above the hard limits here, and without
# CAP_SYS_RESOURCE (bit 24) root cannot raise those
ULIMITS=
if [ $((0x$(awk '/^CapEff:/ { print $2 }' /proc/self/status) >> 24 & 1)) = 0 ]; then
    ULIMITS="--ulimit nofile=20000:20000 --ulimit nproc=32768:32768"
fi
prun() { pm run $ULIMITS "$@"; }
pcreate() { pm create $ULIMITS "$@"; }
export PM ULIMITS

# --- helpers for the steps (each step runs in its own bash, with a time limit) ---
# The step runner (scripts/lib/steps.sh) gives each step fd 3 for the
# reason of a failure or skip; the first line written there is the reason.
fail() {
    echo "$*" >&3
    echo "FAIL: $*"
    exit 1
}
skip() {
    echo "$*" >&3
    exit 77
}
# say WHAT: log a check
say() { echo "--- $*"; }
expect_eq() { # WHAT GOT WANT
    [ "$2" = "$3" ] || fail "$1: got '$(printf '%s' "$2" | head -c 300 | tr '\n' '|')', want '$3'"
}
expect_match() { # WHAT GOT EXTENDED-REGEX
    printf '%s\n' "$2" | grep -Eq -- "$3" ||
        fail "$1: '$(printf '%s' "$2" | head -c 300 | tr '\n' '|')' does not match /$3/"
}
expect_nomatch() { # WHAT GOT EXTENDED-REGEX
    if printf '%s\n' "$2" | grep -Eq -- "$3"; then
        fail "$1: '$(printf '%s' "$2" | head -c 300 | tr '\n' '|')' matches /$3/"
    fi
}
# inspect NAME FORMAT
inspect() { pm inspect -f "$2" "$1" 2>&1; }
status_of() { inspect "$1" '{{.State.Status}}'; }
# wait_until SECS COMMAND...: poll every 0.1 s
wait_until() {
    local n=$(($1 * 10))
    shift
    while [ $n -gt 0 ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}
logs_have() { pm logs "$1" 2>&1 | grep -q -- "$2"; }
# what the runtime itself says (podman uses the runtime's default --root)
runtime_status() { "$RUNTIME" state "$1" 2>/dev/null | jq -r .status 2>/dev/null; }
# the host path of a container's cgroup in one v1 hierarchy (or v2)
host_cgroup() { # PID CONTROLLER
    local line path
    line=$(grep -E "^[0-9]+:([^:]*,)?$2(,[^:]*)?:" "/proc/$1/cgroup")
    if [ -n "$line" ]; then
        path=${line#*:*:}
        echo "/sys/fs/cgroup/$2$path"
    else
        path=$(sed -n 's/^0:://p' "/proc/$1/cgroup")
        echo "/sys/fs/cgroup$path"
    fi
}
export -f pm prun pcreate fail skip say expect_eq expect_match expect_nomatch inspect \
    status_of wait_until logs_have runtime_status host_cgroup

# capability names by bit
CAPS=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
    LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER
    SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE
    SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP
    MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF
    CHECKPOINT_RESTORE)
CAP_NAMES=${CAPS[*]}
export CAP_NAMES
# caps_mask "[CAP_A CAP_B]" -> 16 hex digits, as in /proc/<pid>/status
caps_mask() {
    local want mask=0 i=0 c
    want=" $(echo "$1" | tr -d '[]' | sed 's/CAP_//g') "
    for c in $CAP_NAMES; do
        case $want in *" $c "*) mask=$((mask | (1 << i))) ;; esac
        i=$((i + 1))
    done
    printf '%016x\n' "$mask"
}
export -f caps_mask

# --- the steps --------------------------------------------------------------------

t_run_exit_codes() {
    say "stdout, stderr, env, workdir and the exit code of run"
    local out rc
    out=$(prun --rm -e FOO=bar -w /tmp "$IMG" sh -c 'echo "out $FOO $(pwd)"; echo to-stderr >&2; exit 3' 2>"$W/host/err")
    rc=$?
    expect_eq "exit code of sh -c 'exit 3'" "$rc" 3
    expect_eq "stdout" "$out" "out bar /tmp"
    grep -qx to-stderr "$W/host/err" || fail "stderr: 'to-stderr' not in $(tr '\n' '|' <"$W/host/err")"
    prun --rm "$IMG" true
    expect_eq "exit code of true" "$?" 0
    say "a command that does not exist: 127, and one that is not executable: 126"
    out=$(prun --rm "$IMG" /no/such/command 2>&1)
    expect_eq "exit code of a missing command ($out)" "$?" 127
    out=$(prun --rm "$IMG" no-such-command 2>&1)
    expect_eq "exit code of a command not in PATH ($out)" "$?" 127
    out=$(prun --rm "$IMG" /etc/passwd 2>&1)
    expect_eq "exit code of a non-executable command ($out)" "$?" 126
    say "the exit code as podman keeps it"
    prun --name pp-exit "$IMG" sh -c 'exit 42'
    expect_eq "exit code of sh -c 'exit 42'" "$?" 42
    expect_eq "podman inspect status" "$(status_of pp-exit)" exited
    expect_eq "podman inspect ExitCode" "$(inspect pp-exit '{{.State.ExitCode}}')" 42
    pm rm pp-exit >/dev/null || fail "podman rm pp-exit failed"
}

t_detach_exec_logs_stop_rm() {
    local id pid out
    id=$(prun -d --name pp-d "$IMG" sh -c 'echo started; trap "echo got-TERM; exit 0" TERM; while :; do sleep 0.1; done') ||
        fail "podman run -d failed: $id"
    expect_eq "podman inspect status" "$(status_of pp-d)" running
    expect_eq "runtime state status" "$(runtime_status "$id")" running
    pid=$(inspect pp-d '{{.State.Pid}}')
    [ -d "/proc/$pid" ] || fail "the container's pid $pid is not running on the host"
    say "logs"
    wait_until 10 logs_have pp-d started || fail "podman logs: no 'started': $(pm logs pp-d 2>&1 | tr '\n' '|')"
    say "exec: output, pid 1, exit code, env, workdir, user"
    out=$(pm exec pp-d sh -c 'echo exec-ok; tr "\0" " " </proc/1/cmdline' 2>&1)
    expect_eq "exec output" "$out" "exec-ok
sh -c echo started; trap \"echo got-TERM; exit 0\" TERM; while :; do sleep 0.1; done "
    pm exec pp-d sh -c 'exit 5'
    expect_eq "exit code of exec sh -c 'exit 5'" "$?" 5
    out=$(pm exec -e X=1 -w /proc pp-d sh -c 'echo $X $(pwd)' 2>&1)
    expect_eq "exec -e X=1 -w /proc" "$out" "1 /proc"
    out=$(pm exec --user 65534:65534 pp-d sh -c 'id -u; id -g' 2>&1)
    expect_eq "exec --user 65534:65534" "$out" "65534
65534"
    out=$(pm exec pp-d /no/such/command 2>&1)
    expect_eq "exit code of exec of a missing command ($out)" "$?" 127
    out=$(pm exec pp-d /etc/passwd 2>&1)
    expect_eq "exit code of exec of a non-executable command ($out)" "$?" 126
    say "stop: SIGTERM reaches the trap, the container exits 0"
    pm stop -t 20 pp-d >/dev/null || fail "podman stop failed"
    expect_eq "podman inspect status after stop" "$(status_of pp-d)" exited
    expect_eq "podman inspect ExitCode after stop" "$(inspect pp-d '{{.State.ExitCode}}')" 0
    logs_have pp-d got-TERM || fail "podman logs: no 'got-TERM' after stop: $(pm logs pp-d 2>&1 | tr '\n' '|')"
    [ -d "/proc/$pid" ] && fail "pid $pid still runs after stop"
    say "rm"
    pm rm pp-d >/dev/null || fail "podman rm failed"
    out=$(pm ps -a --format '{{.Names}}')
    expect_nomatch "podman ps -a after rm" "$out" '^pp-d$'
    out=$("$RUNTIME" state "$id" 2>&1) && fail "the runtime still has the container after rm: $out"
    return 0
}

t_tty() {
    local out rc
    say "-it: a terminal inside, its size from podman's terminal, the exit code"
    # The container waits a second before it writes: podman attaches to
    # conmon and conmon sets the pty's size while the container already
    # runs, and output written before that is lost or stty's ioctl fails
    # (seen with runc as with pivot, more often on a loaded machine).
    out=$(script -qec "stty rows 40 cols 100; $PM run $ULIMITS --rm -it $IMG sh -c 'sleep 1; tty; stty size; test -t 0 && echo stdin-tty; test -t 1 && echo stdout-tty; exit 4'" /dev/null </dev/null)
    rc=$?
    out=$(printf '%s' "$out" | tr -d '\r\000' | sed 's/\^@//g')
    expect_eq "exit code through -it" "$rc" 4
    expect_match "tty inside" "$out" '^/dev/pts/[0-9]+$'
    expect_match "stty size inside" "$out" '^40 100$'
    expect_match "stdin is a terminal" "$out" '^stdin-tty$'
    expect_match "stdout is a terminal" "$out" '^stdout-tty$'
    say "-it: input typed on the terminal reaches the container"
    out=$(printf 'hello\n' | script -qec "$PM run $ULIMITS --rm -it $IMG sh -c 'read x; echo got-\$x'" /dev/null)
    out=$(printf '%s' "$out" | tr -d '\r\000' | sed 's/\^@//g')
    expect_match "input through the terminal" "$out" '^got-hello$'
    say "-t without a terminal on podman's side: the container still gets one"
    out=$(prun --rm -t "$IMG" sh -c 'test -t 1 && echo stdout-tty' </dev/null 2>&1 | tr -d '\r')
    expect_match "run -t" "$out" '^stdout-tty$'
    say "exec -it into a running container"
    prun -d --name pp-tty "$IMG" sleep 1000 >/dev/null || fail "podman run -d failed"
    out=$(script -qec "stty rows 25 cols 70; $PM exec -it pp-tty sh -c 'sleep 1; tty; stty size; exit 6'" /dev/null </dev/null)
    rc=$?
    out=$(printf '%s' "$out" | tr -d '\r\000' | sed 's/\^@//g')
    expect_eq "exit code of exec -it" "$rc" 6
    expect_match "tty in exec -it" "$out" '^/dev/pts/[0-9]+$'
    expect_match "stty size in exec -it" "$out" '^25 70$'
}

t_bind_mounts() {
    local out
    mkdir -p "$W/host/vol"
    echo host-data >"$W/host/vol/f"
    say "-v ro: readable, writes refused, mounted ro"
    out=$(prun --rm -v "$W/host/vol:/data:ro" "$IMG" sh -c 'exec 2>&1; cat /data/f; if echo x >/data/new; then echo wrote; else echo refused; fi; grep " /data " /proc/mounts' 2>&1)
    expect_match "read through the ro bind" "$out" '^host-data$'
    expect_match "write on the ro bind" "$out" '^refused$'
    expect_match "write error on the ro bind" "$out" 'Read-only file system'
    expect_match "/data in /proc/mounts" "$out" ' /data [^ ]+ ro[, ]'
    [ -e "$W/host/vol/new" ] && fail "a write through the ro bind reached the host"
    say "-v rw: a write lands in the host directory"
    out=$(prun --rm -v "$W/host/vol:/data:rw" "$IMG" sh -c 'echo from-container >/data/new && echo wrote; grep " /data " /proc/mounts' 2>&1)
    expect_match "write on the rw bind" "$out" '^wrote$'
    expect_match "/data in /proc/mounts" "$out" ' /data [^ ]+ rw[, ]'
    expect_eq "host file written through the rw bind" "$(cat "$W/host/vol/new" 2>&1)" from-container
    say "podman inspect shows the mount"
    pcreate --name pp-bind -v "$W/host/vol:/data:ro" "$IMG" true >/dev/null || fail "podman create failed"
    out=$(inspect pp-bind '{{range .Mounts}}{{.Source}} {{.Destination}} {{.RW}}{{end}}')
    expect_eq "podman inspect Mounts" "$out" "$W/host/vol /data false"
}

t_tmpfs() {
    local out
    out=$(prun --rm --tmpfs /scratch:rw,size=1m,mode=1777 "$IMG" sh -c 'grep " /scratch " /proc/mounts; echo x >/scratch/f && cat /scratch/f; stat -c %a /scratch' 2>&1)
    expect_match "/scratch in /proc/mounts" "$out" '^tmpfs /scratch tmpfs rw,.*size=1024k'
    expect_match "write in the tmpfs" "$out" '^x$'
    expect_match "mode of the tmpfs" "$out" '^1777$'
    pcreate --name pp-tmpfs --tmpfs /scratch:rw,size=1m "$IMG" true >/dev/null || fail "podman create failed"
    expect_match "podman inspect HostConfig.Tmpfs" "$(inspect pp-tmpfs '{{.HostConfig.Tmpfs}}')" '/scratch:rw,size=1m'
}

t_read_only() {
    local out
    out=$(prun --name pp-ro --read-only "$IMG" sh -c 'exec 2>&1; touch /x; echo rc=$?; touch /tmp/ok && echo tmp-ok; grep " / " /proc/mounts | tail -n1' 2>&1)
    expect_match "write to / under --read-only" "$out" '^rc=[1-9]'
    expect_match "error of the write to /" "$out" 'Read-only file system'
    expect_match "/tmp is still writable" "$out" '^tmp-ok$'
    expect_match "/ in /proc/mounts" "$out" '^[^ ]+ / [^ ]+ ro[, ]'
    expect_eq "podman inspect ReadonlyRootfs" "$(inspect pp-ro '{{.HostConfig.ReadonlyRootfs}}')" true
    pm rm pp-ro >/dev/null
}

t_capabilities() {
    local out want
    say "default set: CapEff inside = podman's EffectiveCaps"
    pcreate --name pp-cap "$IMG" grep -E '^Cap(Eff|Bnd|Prm):' /proc/self/status >/dev/null || fail "podman create failed"
    want=$(caps_mask "$(inspect pp-cap '{{.EffectiveCaps}}')")
    out=$(pm start -a pp-cap 2>&1)
    expect_match "default CapEff (podman says $(inspect pp-cap '{{.EffectiveCaps}}'))" "$out" "^CapEff:	$want$"
    expect_match "default CapBnd" "$out" "^CapBnd:	$want$"
    say "--cap-drop all --cap-add NET_ADMIN"
    out=$(prun --rm --cap-drop all --cap-add NET_ADMIN "$IMG" grep -E '^Cap(Eff|Bnd|Prm):' /proc/self/status 2>&1)
    want=$(caps_mask CAP_NET_ADMIN)
    expect_match "CapEff" "$out" "^CapEff:	$want$"
    expect_match "CapPrm" "$out" "^CapPrm:	$want$"
    expect_match "CapBnd" "$out" "^CapBnd:	$want$"
    say "--cap-drop CHOWN: chown is refused"
    out=$(prun --rm --cap-drop CHOWN "$IMG" sh -c 'exec 2>&1; grep ^CapEff: /proc/self/status; touch /tmp/f; chown 65534 /tmp/f; echo rc=$?' 2>&1)
    expect_match "chown without CAP_CHOWN" "$out" '^rc=1$'
    expect_match "chown error" "$out" 'Operation not permitted'
    out=$(printf '%s\n' "$out" | sed -n 's/^CapEff:\t//p')
    [ $((0x$out & 1)) = 0 ] || fail "CapEff $out still has CAP_CHOWN"
    say "--cap-add SYS_ADMIN"
    out=$(prun --rm --cap-add SYS_ADMIN "$IMG" sh -c 'grep ^CapEff: /proc/self/status' 2>&1)
    out=${out#CapEff:	}
    [ $((0x$out & (1 << 21))) != 0 ] || fail "CapEff $out lacks CAP_SYS_ADMIN"
    return 0
}

t_user() {
    local out
    out=$(prun --rm --user 1000:1001 --group-add 2000 "$IMG" sh -c 'id -u; id -g; id -G; grep ^CapEff: /proc/self/status' 2>&1)
    expect_eq "--user 1000:1001 --group-add 2000: id" "$out" "1000
1001
1001 2000
CapEff:	0000000000000000"
    out=$(prun --rm --user nobody "$IMG" sh -c 'id -un; id -u; id -g' 2>&1)
    expect_eq "--user nobody (from the image's /etc/passwd)" "$out" "nobody
65534
65534"
    pcreate --name pp-user --user 1000:1001 "$IMG" true >/dev/null || fail "podman create failed"
    expect_eq "podman inspect Config.User" "$(inspect pp-user '{{.Config.User}}')" 1000:1001
}

t_cgroup_limits() {
    local id pid out host
    id=$(prun -d --name pp-cg --memory 64m --pids-limit 100 "$IMG" sleep 1000) || fail "podman run -d failed: $id"
    expect_eq "podman inspect HostConfig.Memory" "$(inspect pp-cg '{{.HostConfig.Memory}}')" 67108864
    expect_eq "podman inspect HostConfig.PidsLimit" "$(inspect pp-cg '{{.HostConfig.PidsLimit}}')" 100
    say "inside: the container's cgroup files under /sys/fs/cgroup"
    out=$(pm exec pp-cg sh -c 'if [ -f /sys/fs/cgroup/cgroup.controllers ]; then cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max; else cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; fi' 2>&1)
    expect_eq "memory and pids limits inside" "$out" "67108864
100"
    say "on the host: the same files in the container's cgroup"
    pid=$(inspect pp-cg '{{.State.Pid}}')
    host=$(host_cgroup "$pid" memory)
    if [ -f "$host/memory.limit_in_bytes" ]; then
        expect_eq "host $host/memory.limit_in_bytes" "$(cat "$host/memory.limit_in_bytes")" 67108864
    else
        expect_eq "host $host/memory.max" "$(cat "$host/memory.max")" 67108864
    fi
    host=$(host_cgroup "$pid" pids)
    expect_eq "host $host/pids.max" "$(cat "$host/pids.max")" 100
    say "pids-limit is enforced: forks beyond 100 fail (busybox sh gives up at the first)"
    out=$(pm exec pp-cg sh -c 'i=0; while [ $i -lt 150 ]; do sleep 100 </dev/null >/dev/null 2>&1 & i=$((i+1)); done; echo all-forked' 2>&1)
    expect_match "150 forks under --pids-limit 100" "$out" "can't fork: Resource temporarily unavailable"
    expect_nomatch "150 forks under --pids-limit 100" "$out" '^all-forked$'
    host=$(host_cgroup "$pid" pids)
    [ "$(cat "$host/pids.current")" -le 100 ] || fail "host $host/pids.current: $(cat "$host/pids.current") > 100"
    say "memory is enforced: allocating 128 MiB under --memory 32m kills the process"
    out=$(prun --rm --memory 32m --memory-swap 32m "$IMG" probe alloc 128 2>&1)
    expect_eq "exit code of probe alloc 128 under --memory 32m ($out)" "$?" 137
}

t_seccomp() {
    local out
    jq '.syscalls |= (map(.names |= map(select(. != "mkdir" and . != "mkdirat"))) | map(select(.names | length > 0)))
        | .syscalls += [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}]' \
        /usr/share/containers/seccomp.json >"$W/host/seccomp-mkdir.json" || fail "jq on /usr/share/containers/seccomp.json failed"
    say "mkdir and mkdirat fail with errno 28 (ENOSPC)"
    out=$(prun --rm --security-opt "seccomp=$W/host/seccomp-mkdir.json" "$IMG" sh -c 'probe mkdir /tmp/d; echo; mkdir /tmp/e; grep "^Seccomp:" /proc/self/status; touch /tmp/f && echo other-syscalls-ok' 2>&1)
    expect_match "probe mkdir under the profile" "$out" '"ok": ?false'
    expect_match "errno of mkdir under the profile" "$out" '"errno": ?"ENOSPC"'
    expect_match "busybox mkdir under the profile" "$out" "can't create directory '/tmp/e': No space left on device"
    expect_match "seccomp mode inside" "$out" '^Seccomp:[[:space:]]+2$'
    expect_match "other syscalls" "$out" '^other-syscalls-ok$'
    say "the default profile lets mkdir through and still filters"
    out=$(prun --rm "$IMG" sh -c 'probe mkdir /tmp/d; echo; grep "^Seccomp:" /proc/self/status' 2>&1)
    expect_match "probe mkdir under the default profile" "$out" '"ok": ?true'
    expect_match "seccomp mode inside (default profile)" "$out" '^Seccomp:[[:space:]]+2$'
    say "seccomp=unconfined"
    out=$(prun --rm --security-opt seccomp=unconfined "$IMG" grep "^Seccomp:" /proc/self/status 2>&1)
    expect_match "seccomp mode inside (unconfined)" "$out" '^Seccomp:[[:space:]]+0$'
    pcreate --name pp-sc --security-opt "seccomp=$W/host/seccomp-mkdir.json" "$IMG" true >/dev/null || fail "podman create failed"
    expect_match "podman inspect SecurityOpt" "$(inspect pp-sc '{{.HostConfig.SecurityOpt}}')" 'seccomp='
}

t_device() {
    local out
    out=$(prun --rm --device /dev/null:/dev/foo --device /dev/zero:/dev/myzero "$IMG" sh -c 'stat -c "%F %t:%T" /dev/foo; echo x >/dev/foo && echo write-ok; head -c 3 /dev/myzero | od -An -tx1' 2>&1)
    expect_match "/dev/foo" "$out" '^character special file 1:3$'
    expect_match "write to /dev/foo" "$out" '^write-ok$'
    expect_match "read from /dev/myzero" "$out" '^ 00 00 00$'
    say "permissions: an r-only device (/dev/loop-control, not in the runtime's default list)"
    if [ -c /dev/loop-control ]; then
        out=$(prun --rm --device /dev/loop-control:/dev/lc:r "$IMG" sh -c 'if [ -f /sys/fs/cgroup/devices/devices.list ]; then cat /sys/fs/cgroup/devices/devices.list; else echo no-v1-devices; fi; probe writable /dev/lc' 2>&1)
        if ! printf '%s\n' "$out" | grep -q '^no-v1-devices$'; then
            expect_match "devices.list inside" "$out" '^c 10:237 r$'
        fi
        expect_match "open for writing of an r-only device" "$out" '"writable": ?false, ?"errno": ?"EPERM"'
    fi
    pcreate --name pp-dev --device /dev/null:/dev/foo "$IMG" true >/dev/null || fail "podman create failed"
    expect_eq "podman inspect HostConfig.Devices" \
        "$(inspect pp-dev '{{range .HostConfig.Devices}}{{.PathOnHost}}:{{.PathInContainer}}{{end}}')" /dev/null:/dev/foo
}

t_hostname() {
    local out id
    out=$(prun --rm --hostname box1 "$IMG" sh -c 'hostname; echo "$(cat /etc/hostname)"; grep -c box1 /etc/hosts' 2>&1)
    expect_eq "--hostname box1: hostname, /etc/hostname, /etc/hosts" "$out" "box1
box1
1"
    id=$(pcreate --name pp-host "$IMG" hostname) || fail "podman create failed"
    out=$(pm start -a pp-host 2>&1)
    expect_eq "default hostname (the short id)" "$out" "${id:0:12}"
    expect_eq "podman inspect Config.Hostname" "$(inspect pp-host '{{.Config.Hostname}}')" "${id:0:12}"
}

t_pause_unpause() {
    local id pid c1 c2 fz
    id=$(prun -d --name pp-p "$IMG" sh -c 'i=0; while :; do i=$((i+1)); echo $i >/tmp/c; sleep 0.05; done') || fail "podman run -d failed: $id"
    pid=$(inspect pp-p '{{.State.Pid}}')
    wait_until 10 test -s "/proc/$pid/root/tmp/c" || fail "the counter did not start"
    pm pause pp-p >/dev/null || fail "podman pause failed"
    expect_eq "podman inspect status after pause" "$(status_of pp-p)" paused
    expect_eq "runtime state status after pause" "$(runtime_status "$id")" paused
    fz=$(host_cgroup "$pid" freezer)
    if [ -f "$fz/freezer.state" ]; then
        expect_eq "host $fz/freezer.state" "$(cat "$fz/freezer.state")" FROZEN
    elif [ -f "$fz/cgroup.events" ]; then
        expect_match "host $fz/cgroup.events" "$(cat "$fz/cgroup.events")" '^frozen 1$'
    fi
    say "no progress while paused"
    c1=$(cat "/proc/$pid/root/tmp/c")
    sleep 1
    c2=$(cat "/proc/$pid/root/tmp/c")
    expect_eq "counter across 1 s of pause" "$c2" "$c1"
    pm unpause pp-p >/dev/null || fail "podman unpause failed"
    expect_eq "podman inspect status after unpause" "$(status_of pp-p)" running
    expect_eq "runtime state status after unpause" "$(runtime_status "$id")" running
    wait_until 5 sh -c "[ \"\$(cat /proc/$pid/root/tmp/c)\" -gt $c2 ]" || fail "the counter did not move after unpause"
    say "a paused container can be removed"
    pm pause pp-p >/dev/null || fail "second podman pause failed"
    pm rm -f -t 0 pp-p >/dev/null || fail "podman rm -f of a paused container failed"
    [ -d "/proc/$pid" ] && fail "pid $pid still runs after rm -f of the paused container"
    return 0
}

t_top() {
    local out
    prun -d --name pp-top "$IMG" sh -c 'sleep 1000 & wait' >/dev/null || fail "podman run -d failed"
    wait_until 10 bash -c 'pm top pp-top | grep -q "sleep 1000"' || fail "podman top: no 'sleep 1000': $(pm top pp-top 2>&1 | tr '\n' '|')"
    out=$(pm top pp-top pid args 2>&1)
    expect_match "podman top pid args" "$out" '^ *1 +sh -c sleep 1000 & wait'
    expect_match "podman top pid args" "$out" '^ *[0-9]+ +sleep 1000'
    out=$(pm top pp-top user comm 2>&1)
    expect_match "podman top user comm" "$out" '^root +sleep'
    out=$(pm exec pp-top ps -o pid,comm 2>&1)
    expect_match "ps inside" "$out" '^ *1 +sh *$'
}

t_kill_signals() {
    local id pid out
    id=$(prun -d --name pp-k "$IMG" sh -c 'trap "echo got-USR1" USR1; trap "echo got-HUP" HUP; trap "echo got-INT" INT; echo ready; while :; do sleep 0.1; done') ||
        fail "podman run -d failed: $id"
    pid=$(inspect pp-k '{{.State.Pid}}')
    wait_until 10 logs_have pp-k ready || fail "the container did not start"
    for sig in USR1 HUP INT; do
        pm kill -s "$sig" pp-k >/dev/null || fail "podman kill -s $sig failed"
        wait_until 10 logs_have pp-k "got-$sig" || fail "no got-$sig after podman kill -s $sig: $(pm logs pp-k 2>&1 | tr '\n' '|')"
    done
    expect_eq "status after trapped signals" "$(status_of pp-k)" running
    say "podman kill (SIGKILL): exit code 137"
    pm kill pp-k >/dev/null || fail "podman kill failed"
    out=$(pm wait pp-k 2>&1)
    expect_eq "podman wait after kill" "$out" 137
    expect_eq "podman inspect status after kill" "$(status_of pp-k)" exited
    expect_eq "podman inspect ExitCode after kill" "$(inspect pp-k '{{.State.ExitCode}}')" 137
    [ -d "/proc/$pid" ] && fail "pid $pid still runs after podman kill"
    return 0
}

t_init() {
    local out rc t0 t1
    out=$(prun --rm --init "$IMG" sh -c 'tr "\0" " " </proc/1/cmdline; echo; echo pid=$$; exit 6' 2>&1)
    rc=$?
    expect_eq "exit code through --init" "$rc" 6
    expect_match "pid 1 under --init" "$out" '^/run/podman-init -- sh -c'
    expect_nomatch "the command's pid under --init" "$out" '^pid=1$'
    say "podman stop through the init: SIGTERM reaches sleep at once"
    prun -d --init --name pp-init "$IMG" sleep 1000 >/dev/null || fail "podman run -d --init failed"
    expect_eq "podman inspect HostConfig.Init" "$(inspect pp-init '{{.HostConfig.Init}}')" true
    t0=$(date +%s)
    pm stop -t 30 pp-init >/dev/null || fail "podman stop failed"
    t1=$(date +%s)
    [ $((t1 - t0)) -lt 10 ] || fail "podman stop of --init took $((t1 - t0)) s (the init did not forward SIGTERM)"
    expect_eq "podman inspect ExitCode after stop" "$(inspect pp-init '{{.State.ExitCode}}')" 143
}

t_wait() {
    local t0 t1 out
    prun -d --name pp-w "$IMG" sh -c 'sleep 2; echo bye; exit 9' >/dev/null || fail "podman run -d failed"
    t0=$(date +%s%N)
    out=$(pm wait pp-w 2>&1)
    t1=$(date +%s%N)
    expect_eq "podman wait" "$out" 9
    [ $(((t1 - t0) / 1000000)) -ge 1000 ] || fail "podman wait returned after $(((t1 - t0) / 1000000)) ms, before the container exited"
    expect_eq "podman inspect status" "$(status_of pp-w)" exited
    expect_eq "podman inspect ExitCode" "$(inspect pp-w '{{.State.ExitCode}}')" 9
    logs_have pp-w bye || fail "podman logs: no 'bye'"
    expect_eq "podman wait on an exited container" "$(pm wait pp-w 2>&1)" 9
}

t_create_start_attach() {
    local out
    pcreate --name pp-cs "$IMG" sh -c 'n=$(cat /n 2>/dev/null || echo 1); echo run-$n; echo $((n+1)) >/n; exit 2' >/dev/null ||
        fail "podman create failed"
    expect_eq "podman inspect status after create" "$(status_of pp-cs)" created
    out=$(pm start -a pp-cs 2>&1)
    expect_eq "exit code of start -a" "$?" 2
    expect_eq "output of start -a" "$out" run-1
    say "start again: the runtime creates the container anew on the same rootfs"
    out=$(pm start -a pp-cs 2>&1)
    expect_eq "exit code of the second start -a" "$?" 2
    expect_eq "output of the second start -a" "$out" run-2
    say "restart of a running container"
    prun -d --name pp-rs "$IMG" sh -c 'echo up; sleep 1000' >/dev/null || fail "podman run -d failed"
    pm restart -t 0 pp-rs >/dev/null || fail "podman restart failed"
    expect_eq "status after restart" "$(status_of pp-rs)" running
    wait_until 10 bash -c '[ "$(pm logs pp-rs 2>&1 | grep -c up)" = 2 ]' ||
        fail "logs after restart: $(pm logs pp-rs 2>&1 | tr '\n' '|')"
}

t_userns() {
    local out pid id
    out=$(prun --rm --uidmap 0:100000:65536 --gidmap 0:100000:65536 "$IMG" sh -c 'cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u:%g /bin/busybox; cat /etc/hostname >/dev/null && echo hostname-ok; touch /tmp/f && echo write-ok' 2>&1)
    expect_match "uid_map inside" "$out" '^ +0 +100000 +65536$'
    expect_eq "uid_map and gid_map inside" "$(printf '%s\n' "$out" | grep -c '^ *0 *100000 *65536$')" 2
    expect_match "id -u inside" "$out" '^0$'
    expect_match "owner of the image's files inside" "$out" '^0:0$'
    expect_match "podman's bind mounts (/etc/hostname) in the user namespace" "$out" '^hostname-ok$'
    expect_match "write in the rootfs" "$out" '^write-ok$'
    say "on the host: the container's root is uid 100000"
    id=$(prun -d --name pp-userns --uidmap 0:100000:65536 --gidmap 0:100000:65536 "$IMG" sleep 1000) || fail "podman run -d --uidmap failed: $id"
    pid=$(inspect pp-userns '{{.State.Pid}}')
    expect_eq "host uid of the container's pid 1" "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" 100000
    [ "$(readlink "/proc/$pid/ns/user")" != "$(readlink /proc/self/ns/user)" ] || fail "the container shares the host's user namespace"
}

t_namespaces_and_options() {
    local out
    say "--pid host --ipc host: the host's namespaces"
    out=$(prun --rm --pid host --ipc host "$IMG" sh -c 'readlink /proc/self/ns/pid; readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts' 2>&1)
    expect_match "pid namespace" "$out" "^$(readlink /proc/self/ns/pid | sed 's/[][]/\\&/g')\$"
    expect_match "ipc namespace" "$out" "^$(readlink /proc/self/ns/ipc | sed 's/[][]/\\&/g')\$"
    expect_nomatch "uts namespace" "$out" "^$(readlink /proc/self/ns/uts | sed 's/[][]/\\&/g')\$"
    say "--sysctl (in the container's own network namespace), --ulimit, no-new-privileges, cpu"
    out=$(prun --rm --sysctl net.ipv4.ip_forward=1 --ulimit nofile=1234:1234 --security-opt no-new-privileges \
        --cpu-shares 512 --cpus 0.5 "$IMG" sh -c 'cat /proc/sys/net/ipv4/ip_forward; ulimit -n; grep ^NoNewPrivs: /proc/self/status; if [ -f /sys/fs/cgroup/cpu/cpu.shares ]; then cat /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us; else cat /sys/fs/cgroup/cpu.max; fi' 2>&1)
    expect_match "net.ipv4.ip_forward inside" "$out" '^1$'
    expect_match "ulimit -n inside" "$out" '^1234$'
    expect_match "no_new_privs inside" "$out" '^NoNewPrivs:[[:space:]]+1$'
    if printf '%s\n' "$out" | grep -q '^50000 100000$'; then
        :
    else
        expect_eq "cpu.shares, cfs_quota_us, cfs_period_us inside" "$(printf '%s\n' "$out" | tail -n3)" "512
50000
100000"
    fi
    say "--privileged: every capability, the host's devices, no seccomp"
    out=$(prun --rm --privileged "$IMG" sh -c 'grep -E "^(CapEff|Seccomp):" /proc/self/status; test -c /dev/loop-control && echo host-devices' 2>&1)
    expect_match "CapEff under --privileged" "$out" "^CapEff:[[:space:]]+$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)$"
    expect_match "seccomp under --privileged" "$out" '^Seccomp:[[:space:]]+0$'
    [ -c /dev/loop-control ] && expect_match "host devices under --privileged" "$out" '^host-devices$'
    say "exec -d"
    prun -d --name pp-execd "$IMG" sleep 1000 >/dev/null || fail "podman run -d failed"
    pm exec -d pp-execd sh -c 'echo detached >/tmp/execd' >/dev/null || fail "podman exec -d failed"
    wait_until 10 bash -c '[ "$(pm exec pp-execd cat /tmp/execd 2>/dev/null)" = detached ]' || fail "exec -d did not run its command"
}

steps=(
    run_exit_codes detach_exec_logs_stop_rm tty bind_mounts tmpfs read_only capabilities
    user cgroup_limits seccomp device hostname pause_unpause top kill_signals init wait
    create_start_attach userns namespaces_and_options
)
for s in "${steps[@]}"; do export -f "t_$s"; done

# shellcheck source=../lib/steps.sh
. "$repo/scripts/lib/steps.sh"
STEPS_TIMEOUT=$step_timeout STEPS_REASON=first
steps_init "$W/logs"
steps_t0=$t_start

# --- the image ---------------------------------------------------------------------
mkdir -p "$W/img/bin" "$W/img/etc" "$W/img/tmp" "$W/img/root" "$W/img/proc" "$W/img/sys" "$W/img/dev"
chmod 1777 "$W/img/tmp"
install -m 0755 "$BUSYBOX" "$W/img/bin/busybox"
for applet in $("$BUSYBOX" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$W/img/bin/$applet"
done
install -m 0755 "$PROBE_BIN" "$W/img/bin/probe"
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/:/bin/false' >"$W/img/etc/passwd"
printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$W/img/etc/group"
if ! out=$(tar --numeric-owner --owner=0 --group=0 -C "$W/img" -cf - . |
    timeout 120 bash -c 'pm import - "$IMG"' 2>&1); then
    echo "run.sh: podman import failed: $out" >&2
    exit 2
fi
rm -rf "$W/img"

echo "podman $(podman --version | awk '{print $3}'), runtime $RUNTIME ($("$RUNTIME" --version 2>/dev/null | head -n1)), cgroup manager $CGM${ULIMITS:+, $ULIMITS}"
for s in "${steps[@]}"; do
    if [ -n "$only" ] && ! [[ $s =~ $only ]]; then
        continue
    fi
    step "$s" -- "exec 19>&1; BASH_XTRACEFD=19; set -x; t_$s"
    [ -n "$keep_logs" ] && mkdir -p "$keep_logs" && cp "$W/logs/$s.log" "$keep_logs/"
    # each step starts from no containers
    timeout -k 5 60 bash -c 'pm rm -af -t 0' >/dev/null 2>&1
done

# --- cleanup, checked -------------------------------------------------------------
(
    problems=()
    out=$(timeout 60 bash -c 'pm ps -aq' 2>&1)
    [ -n "$out" ] && problems+=("containers left: $(echo "$out" | tr '\n' ' ')")
    for id in $(timeout 60 bash -c 'pm ps -aq --no-trunc' 2>/dev/null); do
        "$RUNTIME" state "$id" >/dev/null 2>&1 && problems+=("runtime state left for $id")
    done
    # no container cgroup may remain under podman's parent
    for r in "${cgroup_roots[@]}"; do
        for c in "$r"/libpod_parent/libpod-* "$r"/machine.slice/libpod-*; do
            [ -d "$c" ] && problems+=("cgroup left: $c")
        done
    done
    # no container process may remain (conmon exits with its container)
    out=$(leftover_pids | grep -vx "$BASHPID" | while read -r p; do
        tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q '^/usr/bin/conmon' && echo "$p"
    done)
    [ -n "$out" ] && problems+=("conmon left: $out")
    # the runtime's own state directory has none of this run's containers
    # (podman leaves the runtime's --root at its default)
    if [ ${#problems[@]} -gt 0 ]; then
        printf '%s\n' "${problems[@]}" >"$W.reason"
        exit 1
    fi
)
rc=$?
if [ $rc = 0 ]; then
    if ! cleanup 2>"$W.cleanup" ; then
        echo "$(tr '\n' ' ' <"$W.cleanup")" >"$W.reason"
        rc=1
    fi
    report_reason=$(cat "$W.reason" 2>/dev/null)
    rm -f "$W.cleanup" "$W.reason"
    if [ $rc = 0 ]; then
        steps_record cleanup ok
    else
        steps_record cleanup fail "$report_reason"
    fi
else
    steps_record cleanup fail "$(head -n 1 "$W.reason")"
    rm -f "$W.reason"
    cleanup >&2
fi

steps_summary
