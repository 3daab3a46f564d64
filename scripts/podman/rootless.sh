#!/usr/bin/env bash
# Drives a runtime binary through Debian's podman 4.3 in rootless mode: as
# an unprivileged user made for the run (useradd, with a home directory and
# /etc/subuid and /etc/subgid ranges), podman with `--runtime BIN
# --cgroup-manager cgroupfs`, its rootless storage (vfs driver) under the
# user's home, `--network none` (no slirp4netns), file locks and events.
# The image is made locally from busybox-static plus the static `probe`
# and put into podman with `podman import` (no registry). Checks what
# podman reports and what the container sees: run, exec, run -it (through
# a pty, script -qec), stop, rm, a volume (-v).
# See docs/CONFORMANCE.md, section "Rootless podman".
#
# usage: scripts/podman/rootless.sh [OPTIONS] [RUNTIME_BINARY]     (as root)
#   RUNTIME_BINARY  default: pivot at target/x86_64-unknown-linux-gnu/release/pivot
#                   (built with `cargo build --release -p pivot` if missing)
#   --only REGEX    run only the steps whose name matches REGEX
#   --step-timeout SECS  time limit for one step (default 90)
#   --no-setup      do not run setup (apt-get) first
#   -h, --help
# environment:
#   PROBE_BIN  the static probe (default: target/x86_64-unknown-linux-gnu/release/probe)
#   BUSYBOX    a static busybox (default /bin/busybox)
#
# Prints one line per step ("ok NAME", "FAIL NAME: reason"), then
# "N passed, N failed". At the end, also on a failure or a signal, every
# process of the user is killed, the user is removed with its home (all of
# podman's storage), its /etc/subuid and /etc/subgid lines, the private
# directory and any mount under it; the last step, "cleanup", fails if
# anything is left. Exit status: 0 all passed, 1 a step failed, 2 harness
# error.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

# shellcheck source=../lib/cli.sh
. "$repo/scripts/lib/cli.sh"
# shellcheck source=../lib/testuser.sh
. "$repo/scripts/lib/testuser.sh"

only=
step_timeout=90
setup=1
RUNTIME=
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --only) only=$2; shift ;;
    --only=*) only=${1#*=} ;;
    --step-timeout) step_timeout=$2; shift ;;
    --step-timeout=*) step_timeout=${1#*=} ;;
    --no-setup) setup= ;;
    -*) unknown_option "$1" ;;
    *) runtime_arg RUNTIME "$1" ;;
    esac
    shift
done

require_root "must run as root (it makes and removes the user)"
if [ -n "$setup" ]; then
    bash "$here/setup.sh" || exit 2
    # shellcheck source=../lib/apt.sh
    . "$repo/scripts/lib/apt.sh"
    # newuidmap/newgidmap: podman maps the user's subordinate ids
    apt_install_missing "podman rootless setup" uidmap || exit 2
fi

runtime_binary RUNTIME
probe_binary
BUSYBOX=${BUSYBOX:-/bin/busybox}
for f in "$RUNTIME" "$PROBE_BIN" "$BUSYBOX"; do
    [ -x "$f" ] || { echo "rootless.sh: $f: not an executable" >&2; exit 2; }
done

t_start=$(date +%s)
W=$(mktemp -d /tmp/pivot-podman-rl.XXXXXX) || exit 2
chmod 755 "$W"
cd "$W" || exit 2

cleaned=0
cleanup() {
    [ "$cleaned" = 1 ] && return 0
    cleaned=1
    local m
    if [ -n "$TESTUSER" ]; then
        timeout -k 5 60 bash -c 'p rm -af -t 0' >/dev/null 2>&1
        timeout -k 5 60 bash -c 'p system reset -f' >/dev/null 2>&1
    fi
    testuser_kill
    for m in $(awk -v w="$W" 'index($5, w "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || TESTUSER_LEFT+=("mount $m")
    done
    if [ -n "$TESTUSER" ]; then
        testuser_remove
        # podman's rootless shm lock and a runtime dir outside $W, if any
        rm -f "/dev/shm/libpod_rootless_lock_$UID_N"
    fi
    rm -rf "$W" 2>/dev/null || TESTUSER_LEFT+=("directory $W")
    if [ ${#TESTUSER_LEFT[@]} -gt 0 ]; then
        printf 'rootless.sh: left behind: %s\n' "${TESTUSER_LEFT[@]}" >&2
        return 1
    fi
    return 0
}
on_signal() {
    echo "rootless.sh: interrupted; cleaning up" >&2
    cleanup
    exit 2
}
trap on_signal INT TERM HUP
trap 'cleanup' EXIT

# --- the user ---------------------------------------------------------------------
mkdir -p "$W/home" "$W/bin"
U=pvpm$$
testuser_make "$U" --create-home --home-dir "$W/home/$U" --shell /bin/sh || exit 2
UID_N=$TESTUSER_UID
GID_N=$TESTUSER_GID
# useradd gives a non-system user 65536 subordinate ids (SUB_UID_COUNT); add
# a range where it did not
if ! grep -q "^$U:" /etc/subuid || ! grep -q "^$U:" /etc/subgid; then
    base=$((300000000 + UID_N * 65536))
    usermod --add-subuids "$base-$((base + 65535))" --add-subgids "$base-$((base + 65535))" "$U" || exit 2
fi
H=$W/home/$U
XDG=$W/xdg
mkdir -m 700 "$XDG"
chown "$UID_N:$GID_N" "$XDG"
# the runtime as a file the user can execute, whatever the path to it
cp "$RUNTIME" "$W/bin/$(basename "$RUNTIME")"
chmod 755 "$W/bin" "$W/bin/$(basename "$RUNTIME")"
RT=$W/bin/$(basename "$RUNTIME")

mkdir -p "$H/.config/containers"
cat >"$H/.config/containers/containers.conf" <<EOF
[containers]
netns = "none"
init_path = "/usr/libexec/podman/catatonit"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$H/events.log"
lock_type = "file"
EOF
cat >"$H/.config/containers/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$H/.local/share/containers/storage"
runroot = "$XDG/containers"
EOF
chown -R "$UID_N:$GID_N" "$H/.config"

# the command as the user: no supplementary groups, a clean environment,
# in the user's home
AS=$(printf '%q ' setpriv --reuid "$UID_N" --regid "$GID_N" --clear-groups \
    env -i HOME="$H" USER="$U" LOGNAME="$U" XDG_RUNTIME_DIR="$XDG" \
    PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin TERM=xterm)
as_user() { (cd "$H" && eval "$AS"' "$@"'); }
# podman as the user, with the runtime under test; PM is the same as one
# shell command line (for script -c)
p() { as_user podman --runtime "$RT" --cgroup-manager cgroupfs "$@"; }
PM="cd $(printf '%q' "$H") && $AS $(printf '%q ' podman --runtime "$RT" --cgroup-manager cgroupfs)"
export W H U UID_N GID_N XDG RT AS PM REASON=$W/reason
export -f as_user p

# --- the image --------------------------------------------------------------------
img=$W/img
mkdir -p "$img/bin" "$img/etc" "$img/tmp" "$img/data"
cp "$BUSYBOX" "$img/bin/busybox"
for a in $("$BUSYBOX" --list); do
    [ -e "$img/bin/$a" ] || ln -s busybox "$img/bin/$a"
done
cp "$PROBE_BIN" "$img/bin/probe"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$img/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$img/etc/group"
chmod 1777 "$img/tmp"
tar -C "$img" -cf "$W/img.tar" . || exit 2
chmod 644 "$W/img.tar"
IMG=localhost/pivot-busybox:latest
export IMG
if ! out=$(p import "$W/img.tar" "$IMG" 2>&1); then
    echo "rootless.sh: podman import failed: $out" >&2
    exit 2
fi

# --- helpers for the steps ----------------------------------------------------------
fail() {
    echo "$*" >>"$REASON"
    echo "FAIL: $*"
    exit 1
}
say() { echo "--- $*"; }
expect_eq() { # WHAT GOT WANT
    [ "$2" = "$3" ] || fail "$1: got '$(printf '%s' "$2" | head -c 300 | tr '\n' '|')', want '$3'"
}
expect_match() { # WHAT GOT EXTENDED-REGEX
    printf '%s\n' "$2" | grep -Eq -- "$3" ||
        fail "$1: '$(printf '%s' "$2" | head -c 300 | tr '\n' '|')' does not match /$3/"
}
inspect() { p inspect -f "$2" "$1" 2>&1; }
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
logs_have() { p logs "$1" 2>&1 | grep -q -- "$2"; }
export -f fail say expect_eq expect_match inspect wait_until logs_have

# --- the steps --------------------------------------------------------------------

# run: output, the exit code, root inside mapped to the user and its
# subordinate ids, the runtime podman used
t_run() {
    local out rc sub
    out=$(p run --name rl-run "$IMG" sh -c 'echo out-ok; id -u; cat /proc/self/uid_map; exit 3' 2>"$W/err")
    rc=$?
    expect_eq "exit code of sh -c 'exit 3' ($(tr '\n' '|' <"$W/err"))" "$rc" 3
    expect_eq "stdout line 1" "$(sed -n 1p <<<"$out")" out-ok
    expect_eq "uid inside" "$(sed -n 2p <<<"$out")" 0
    sub=$(awk -F: -v u="$U" '$1 == u { print $2; exit }' /etc/subuid)
    expect_eq "uid_map" "$(sed -n '3,$p' <<<"$out" | awk '{ print $1, $2, $3 }' | tr '\n' '|')" \
        "0 $UID_N 1|1 $sub 65536|"
    expect_eq "podman inspect ExitCode" "$(inspect rl-run '{{.State.ExitCode}}')" 3
    expect_eq "the OCI runtime podman used" "$(inspect rl-run '{{.OCIRuntime}}')" "$RT"
    p run --name rl-true "$IMG" true || fail "exit code of true: $?"
    p rm rl-run rl-true >/dev/null || fail "podman rm failed"
}

# run -d, exec (output, pid 1, exit code, user), stop (SIGTERM reaches the
# trap), rm
t_exec_stop_rm() {
    local id pid out
    id=$(p run -d --name rl-d "$IMG" sh -c 'echo started; trap "echo got-TERM; exit 0" TERM; while :; do sleep 0.1; done') ||
        fail "podman run -d failed: $id"
    expect_eq "podman inspect status" "$(inspect rl-d '{{.State.Status}}')" running
    pid=$(inspect rl-d '{{.State.Pid}}')
    [ -d "/proc/$pid" ] || fail "the container's pid $pid is not running on the host"
    # on the host, the container's root is the user
    expect_eq "owner of the container's pid 1 on the host" "$(stat -c %u "/proc/$pid")" "$UID_N"
    wait_until 10 logs_have rl-d started || fail "podman logs: no 'started'"
    out=$(p exec rl-d sh -c 'echo exec-ok; tr "\0" " " </proc/1/cmdline; echo; id -u' 2>&1)
    expect_eq "exec output" "$out" "exec-ok
sh -c echo started; trap \"echo got-TERM; exit 0\" TERM; while :; do sleep 0.1; done 
0"
    p exec rl-d sh -c 'exit 5'
    expect_eq "exit code of exec sh -c 'exit 5'" "$?" 5
    out=$(p exec --user 65534:65534 rl-d sh -c 'id -u; id -g' 2>&1)
    expect_eq "exec --user 65534:65534" "$out" "65534
65534"
    say "stop"
    p stop -t 20 rl-d >/dev/null || fail "podman stop failed"
    expect_eq "status after stop" "$(inspect rl-d '{{.State.Status}}')" exited
    expect_eq "ExitCode after stop" "$(inspect rl-d '{{.State.ExitCode}}')" 0
    wait_until 10 logs_have rl-d got-TERM || fail "SIGTERM did not reach the trap: $(p logs rl-d 2>&1 | tr '\n' '|')"
    [ -d "/proc/$pid" ] && fail "pid $pid still runs after stop"
    p rm rl-d >/dev/null || fail "podman rm failed"
    out=$(p ps -a --format '{{.Names}}')
    expect_eq "podman ps -a after rm" "$out" ""
}

# run -it through a pty (script -qec): a terminal inside, typed input
# reaches the container, the exit code comes back
t_tty() {
    local out rc
    out=$(printf 'typed-line\n' | timeout 60 script -qec \
        "$PM run -it --name rl-it $IMG sh -c 'sleep 1; tty; probe isatty; read l; echo got-\$l; exit 4'" /dev/null)
    rc=$?
    expect_eq "exit code of run -it ($(printf '%s' "$out" | tr '\r\n' '||'))" "$rc" 4
    expect_match "tty" "$out" '/dev/pts/[0-9]+'
    expect_match "probe isatty" "$out" '"stdin":true.*"stdout":true'
    expect_match "typed input" "$out" 'got-typed-line'
    say "exec -it"
    p run -d --name rl-t "$IMG" sleep 600 >/dev/null || fail "run -d failed"
    out=$(timeout 60 script -qec "$PM exec -it rl-t sh -c 'tty; exit 6'" /dev/null </dev/null)
    rc=$?
    expect_eq "exit code of exec -it ($(printf '%s' "$out" | tr '\r\n' '||'))" "$rc" 6
    expect_match "tty in exec -it" "$out" '/dev/pts/[0-9]+'
    p rm -f -t 0 rl-t rl-it >/dev/null
}

# -v: a directory of the user's, read-write and read-only
t_volume() {
    local d=$W/vol out
    mkdir -p "$d"
    echo from-host >"$d/in"
    chown -R "$UID_N:$GID_N" "$d"
    out=$(p run --name rl-v1 -v "$d:/data" "$IMG" sh -c 'cat /data/in; echo from-container >/data/out; stat -c %u /data/in' 2>&1)
    expect_eq "rw volume" "$out" "from-host
0"
    expect_eq "written through the volume" "$(cat "$d/out" 2>/dev/null)" from-container
    expect_eq "owner of the file on the host" "$(stat -c %u "$d/out")" "$UID_N"
    out=$(p run --name rl-v2 -v "$d:/data:ro" "$IMG" sh -c 'echo x >/data/ro 2>&1 || echo refused; grep " /data " /proc/mounts' 2>&1)
    expect_match "ro volume write" "$out" 'refused'
    expect_match "ro volume in /proc/mounts" "$out" ' /data [^ ]+ ro[, ]'
    [ -e "$d/ro" ] && fail "a write to the ro volume reached the host"
    say "a named volume"
    p volume create rl-vol >/dev/null || fail "volume create failed"
    p run --name rl-v3 -v rl-vol:/v "$IMG" sh -c 'echo kept >/v/f' || fail "write to the named volume failed"
    out=$(p run --name rl-v4 -v rl-vol:/v "$IMG" cat /v/f 2>&1)
    p rm rl-v1 rl-v2 rl-v3 rl-v4 >/dev/null || fail "podman rm failed"
    expect_eq "named volume content" "$out" kept
    p volume rm rl-vol >/dev/null || fail "volume rm failed"
}

t_cleanup() {
    local out
    out=$(p ps -a --format '{{.Names}}' 2>&1)
    expect_eq "containers left" "$out" ""
    # the runtime's state: no container under its root in $XDG_RUNTIME_DIR
    # (pivot keeps its seccomp filter cache there too: pivot@seccomp)
    out=$(find "$XDG/$(basename "$RT")" -mindepth 1 -maxdepth 1 ! -name '*@*' 2>/dev/null)
    expect_eq "runtime state left" "$out" ""
}

steps=(run exec_stop_rm tty volume cleanup)
export -f t_run t_exec_stop_rm t_tty t_volume t_cleanup

# The steps run in a child process: whatever happens to it, this shell
# still cleans up.
(
    passed=0
    failed=0
    for s in "${steps[@]}"; do
        if [ -n "$only" ] && [ "$s" != cleanup ] && ! [[ $s =~ $only ]]; then
            continue
        fi
        : >"$REASON"
        timeout -k 5 "$step_timeout" bash -c "t_$s" >"$W/step.log" 2>&1
        rc=$?
        if [ $rc = 0 ]; then
            echo "ok $s"
            passed=$((passed + 1))
        else
            r=$(head -n 1 "$REASON")
            [ $rc = 124 ] && r="timed out after ${step_timeout}s"
            [ -z "$r" ] && r="exit $rc: $(tail -n 3 "$W/step.log" | tr '\n' '|')"
            echo "FAIL $s: $r"
            [ -n "${PIVOT_RL_VERBOSE:-}" ] && sed "s/^/    /" "$W/step.log"
            failed=$((failed + 1))
        fi
        # no container outlives its step
        timeout -k 5 60 bash -c 'p rm -af -t 0' >/dev/null 2>&1
    done
    echo "$passed $failed" >"$W/counts"
)
read -r passed failed <"$W/counts" 2>/dev/null || { passed=0; failed=1; echo "FAIL steps: the step runner died"; }
if ! cleanup; then
    echo "FAIL cleanup: something was left behind (see above)"
    failed=$((failed + 1))
fi
echo "$passed passed, $failed failed ($(($(date +%s) - t_start)) s)"
[ $failed = 0 ]
