#!/bin/busybox sh
# PID 1 of the cgroup v2 test VM (scripts/vm/run.sh puts it at /init of the
# initramfs). Sets the machine up as systemd would on a unified cgroup v2
# host, runs the black-box suite as root, prints
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

# Kernel messages from here on are the suite's.
dmesg_before=$(dmesg -r 2>/dev/null | wc -l)
echo "pivot-vm: running the black-box suite: blackbox --color never $*"
cd /tmp || fail "no /tmp"
(
    echo 0 >"$dir/cgroup.procs" || exit 3
    # shellcheck disable=SC2086 # one VAR=VALUE a word
    exec env HOME=/root PIVOT_BIN=/bin/pivot PROBE_BIN=/bin/probe $extra_env \
        /bin/blackbox --color never "$@"
)
rc=$?
cd /

# Kernel errors (levels 0-3) and WARNING/BUG/Oops reports logged during
# the run, if any (a memory limit test's OOM kill shows here).
warnings=$(dmesg -r 2>/dev/null | tail -n +$((dmesg_before + 1)) |
    grep -e '^<[0-3]>' -e '^<4>.*\(WARNING\|BUG\|Oops\)')
if [ -n "$warnings" ]; then
    echo "pivot-vm: kernel errors during the run:"
    echo "$warnings" | sed 's/^/  /'
fi
echo "PIVOT-VM-RESULT: exit $rc"
sync
poweroff -f
sleep 600
