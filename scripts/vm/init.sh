#!/bin/busybox sh
# PID 1 of the cgroup v2 test VM (scripts/vm/run.sh puts it at /init of the
# initramfs). Sets the machine up as systemd would on a unified cgroup v2
# host, runs the black-box suite as root (or, when run.sh's PIVOT_VM_BATS
# put /etc/pivot-vm/bats here, those files of runc's bats suite), prints
#   PIVOT-VM-RESULT: exit N
# and powers off. Everything it prints goes to the serial console.
#
# Stage 1 runs on the initramfs itself (rootfs), which pivot_root(2) can
# never leave: it copies itself into a tmpfs and switch_roots there, so the
# containers' pivot_root works as on a real host. Stage 2 does the rest.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
bb=/bin/busybox

if [ ! -e /.pivot-vm-stage2 ]; then
    $bb mkdir -p /dev /proc /newroot
    # The initramfs has no /dev/console: take the console from devtmpfs.
    $bb mount -t devtmpfs devtmpfs /dev
    exec </dev/console >/dev/console 2>&1
    echo "pivot-vm: stage 1: copying the initramfs into a tmpfs root"
    $bb mount -t tmpfs -o mode=0755 root /newroot
    for entry in /* /.[!.]*; do
        case "$entry" in
            /newroot | /dev | /proc | '/.[!.]*') ;;
            *) $bb cp -a "$entry" /newroot/ ;;
        esac
    done
    $bb mkdir -p /newroot/dev /newroot/proc
    $bb touch /newroot/.pivot-vm-stage2
    $bb mount --move /dev /newroot/dev
    exec $bb switch_root /newroot /init
fi

fail() {
    echo "pivot-vm: $*"
    echo "PIVOT-VM-RESULT: exit 3"
    $bb sync
    $bb poweroff -f
    $bb sleep 600
}

$bb --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm /dev/mqueue /run /tmp /sys/fs/cgroup
mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev shm /dev/shm
mount -t mqueue mqueue /dev/mqueue
mount -t tmpfs -o mode=0755,nosuid,nodev run /run
# /tmp, where the suite makes its bundles: by default a directory of the
# root (itself a tmpfs), as on a Debian 12 host, whose /tmp is on /. Some
# tests compare mountinfo's root field with host paths, which only holds
# when /tmp is not a mount of its own; run.sh's PIVOT_VM_TMPFS_TMP=1 mounts
# one (without nosuid/nodev: the suite makes device nodes there).
chmod 1777 /tmp
if [ -e /etc/pivot-vm/tmpfs-tmp ]; then
    mount -t tmpfs -o mode=1777 tmp /tmp
fi
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup ||
    mount -t cgroup2 cgroup2 /sys/fs/cgroup || fail "cannot mount cgroup2 on /sys/fs/cgroup"
# systemd makes every mount shared; containers then see "shared" sources.
mount --make-rshared /

echo "pivot-vm: kernel $(uname -r): $(cat /proc/cmdline)"
hostname pivot-vm
ip link set lo up 2>/dev/null

# Host users and groups, as a minimal Debian has them.
cat >/etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >/etc/group <<'EOF'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
EOF
mkdir -p /root

# Kernel modules the tests need that Debian builds as modules (overlay,
# veth), in dependency order; run.sh lists them.
if [ -s /etc/pivot-vm/modules ]; then
    while read -r ko; do
        [ -n "$ko" ] || continue
        insmod "$ko" || echo "pivot-vm: insmod $ko failed: tests needing it will fail"
    done </etc/pivot-vm/modules
fi

# Cgroups as systemd lays them out on a unified host: PID 1 in /init.scope
# and every controller enabled in the root. The suite runs as a service
# would, in a leaf of its own: /system.slice/pivot-tests.service (run.sh's
# PIVOT_VM_CGROUP picks another; "/" is the root cgroup), with the
# controllers enabled in every cgroup above it. Those hold no processes,
# as cgroup v2 requires of a cgroup that delegates controllers; the leaf
# itself has the suite in it, so a runtime cannot enable controllers there
# (runc puts a relative cgroupsPath under its own cgroup's parent for this).
cg=/sys/fs/cgroup
runner_cg=/system.slice/pivot-tests.service
[ -s /etc/pivot-vm/cgroup ] && runner_cg=$(cat /etc/pivot-vm/cgroup)
controllers=$(cat $cg/cgroup.controllers)
mkdir -p $cg/init.scope
echo 1 >$cg/init.scope/cgroup.procs || fail "cannot move PID 1 into /init.scope"
enable_controllers() {
    for c in $controllers; do
        echo "+$c" >"$1/cgroup.subtree_control" ||
            echo "pivot-vm: cannot enable $c in $1/cgroup.subtree_control"
    done
}
enable_controllers $cg
dir=$cg
for part in $(echo "$runner_cg" | tr '/' ' '); do
    [ "$dir" = $cg ] || enable_controllers "$dir"
    dir=$dir/$part
    mkdir -p "$dir" || fail "cannot make cgroup $dir"
done
echo "pivot-vm: cgroup2 on $cg (controllers: $controllers); the suite runs in $runner_cg"

# The suite's arguments (a filter, libtest flags), one a line.
set --
if [ -f /etc/pivot-vm/args ]; then
    while IFS= read -r arg; do
        set -- "$@" "$arg"
    done </etc/pivot-vm/args
fi
# Extra environment for the suite (RUNC_BIN, PIVOT_TEST_NO_PIVOT, PIVOT_BIN
# for PIVOT_VM_RUNTIME=runc), VAR=VALUE a line; later ones win.
extra_env=
[ -f /etc/pivot-vm/env ] && extra_env=$(cat /etc/pivot-vm/env)

# The watchdog of a bats file (as scripts/conformance/run.sh has one): when
# its TAP output has not grown for LIMIT seconds, a test is stuck; thaw the
# frozen cgroups (a SIGKILL does not land on a frozen task) and SIGKILL
# every runtime and criu process, so that test fails and the file goes on.
bats_watchdog() { # TAP RUNNER_PID LIMIT RUNTIME FILE
    local size last=-1 since now p exe n names c
    since=$(date +%s)
    while kill -0 "$2" 2>/dev/null; do
        sleep 2
        size=$(stat -c %s "$1" 2>/dev/null || echo 0)
        now=$(date +%s)
        if [ "$size" != "$last" ]; then
            last=$size since=$now
            continue
        fi
        [ $((now - since)) -ge "$3" ] || continue
        for c in $(grep -rlx 1 /sys/fs/cgroup --include=cgroup.freeze 2>/dev/null); do
            echo 0 >"$c" 2>/dev/null
        done
        n=0 names=
        for p in /proc/[0-9]*; do
            exe=$(readlink "$p/exe" 2>/dev/null) || continue
            case $exe in
                "$4" | /usr/sbin/criu)
                    names="$names [$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null | cut -c1-100)]"
                    kill -9 "${p#/proc/}" 2>/dev/null && n=$((n + 1))
                    ;;
            esac
        done
        echo "pivot-vm: watchdog: $5: no output for ${3}s (a test is stuck): killed $n runtime/criu process(es):$names" |
            tee -a /tmp/bats-results/watchdog
        since=$now
    done
}

# shellcheck source=guest.sh
. /etc/pivot-vm/guest.sh

# runc's bats integration suite (run.sh's PIVOT_VM_BATS): each file of
# /etc/pivot-vm/bats, from runc's tests/integration (at /runc), as
# scripts/conformance/run.sh runs it on a host: under a pseudo-terminal
# (script), below its subreaper with a time limit, in a clean environment
# with RUNC naming the runtime. $1, if given, is bats' --filter. Prints
# bats' TAP output, a summary, and a closing line like libtest's; returns 0
# when every test passed or was skipped, 1 when some failed or a file hit
# its time limit (124 stays run.sh's "the VM timed out").
run_bats() {
    local runtime subreaper limit test_limit filter integ f tap expected brc runner wd
    runtime=$(cat /etc/pivot-vm/bats-runtime)
    subreaper=$(cat /etc/pivot-vm/bats-subreaper)
    limit=$(cat /etc/pivot-vm/bats-timeout)
    test_limit=$(cat /etc/pivot-vm/bats-test-timeout)
    filter=${1:-}
    integ=/runc/tests/integration
    # ip netns keeps its namespaces in /var/run/netns; bash's process
    # substitution (bats, checkpoint.bats' pipes) needs /dev/fd, which
    # devtmpfs lacks (udev makes it on a host).
    mkdir -p /var /tmp/bats-tmp /tmp/bats-results
    [ -e /var/run ] || ln -s /run /var/run
    [ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
    [ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin
    [ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
    [ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr
    chmod 0755 /tmp/bats-tmp
    echo "pivot-vm: runc's bats suite ($(cat /runc/.pivot-conformance-source 2>/dev/null || echo runc))" \
        "against $runtime ($("$runtime" --version 2>&1 | head -n 1)); criu $(criu --version 2>&1 | head -n 1)"
    : >/tmp/bats-results/summary
    local tp=0 tf=0 ts=0 rc=0
    for f in $(cat /etc/pivot-vm/bats); do
        tap=/tmp/bats-results/${f%.bats}.tap
        expected=$(cd $integ && env -i PATH="$PATH" PIVOT_VM_BATS_FILTER="$filter" \
            bash -c 'bats --count ${PIVOT_VM_BATS_FILTER:+--filter "$PIVOT_VM_BATS_FILTER"} "$0"' "$f" 2>&1)
        case $expected in
            '' | *[!0-9]*)
                echo "pivot-vm: bats --count $f failed: $expected"
                expected=0
                ;;
        esac
        echo "pivot-vm: bats --tap --timing $f${filter:+ --filter $filter} ($expected tests;" \
            "at most ${limit}s, a test stuck for ${test_limit}s is killed)"
        : >"$tap"
        (
            (
                echo 0 >"$dir/cgroup.procs" || exit 3
                cd $integ || exit 3
                exec env -i HOME=/root TERM=xterm PATH="$PATH" TMPDIR=/tmp/bats-tmp RUNC="$runtime" \
                    PIVOT_VM_BATS_FILTER="$filter" SHELL=/bin/bash \
                    "$subreaper" -t "$limit" script -qefc \
                    "bats --tap --timing \${PIVOT_VM_BATS_FILTER:+--filter \"\$PIVOT_VM_BATS_FILTER\"} $f" /dev/null
            ) </dev/null 2>&1
            echo "$?" >/tmp/bats-results/rc
        ) | tr -d '\r' | tee "$tap" &
        runner=$!
        bats_watchdog "$tap" "$runner" "$test_limit" "$runtime" "$f" &
        wd=$!
        wait "$runner"
        kill "$wd" 2>/dev/null
        wait "$wd" 2>/dev/null
        brc=$(cat /tmp/bats-results/rc)
        bats_tally "$f" "$tap" "$expected" "$brc"
        [ "$brc" = 124 ] && echo "pivot-vm: $f: stopped at its time limit of ${limit}s"
    done
    bats_close "$(tr '\n' ' ' </etc/pivot-vm/bats | sed 's/ $//')" "RUNC=$runtime"
    return $rc
}

# Kernel messages from here on are the suite's.
dmesg_before=$(dmesg -r 2>/dev/null | wc -l)
cd /tmp || fail "no /tmp"
if [ -s /etc/pivot-vm/bats ]; then
    run_bats "$@"
    rc=$?
else
    echo "pivot-vm: running the black-box suite: blackbox --color never $*"
    (
        echo 0 >"$dir/cgroup.procs" || exit 3
        # shellcheck disable=SC2086 # one VAR=VALUE a word
        exec env HOME=/root PIVOT_BIN=/bin/pivot PROBE_BIN=/bin/probe $extra_env \
            /bin/blackbox --color never "$@"
    )
    rc=$?
fi
cd /

kernel_errors "$dmesg_before"
echo "PIVOT-VM-RESULT: exit $rc"
sync
poweroff -f
sleep 600
