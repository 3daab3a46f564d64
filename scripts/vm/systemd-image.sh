#!/usr/bin/env bash
# Builds, once, the root filesystem of the systemd test VM
# (scripts/vm/systemd.sh): a small Debian (debootstrap --variant=minbase)
# with systemd as pid 1 and dbus, packed as an ext4 image (mkfs.ext4 -d, no
# loop device, no mount on the host) and cached. Nothing is installed on
# the host besides debootstrap and e2fsprogs; the kernel is the one
# scripts/vm/setup.sh unpacks (the image holds no kernel and no modules).
#
# usage: scripts/vm/systemd-image.sh        (as root; idempotent)
# env:   PIVOT_VM_CACHE    where the image is kept (default /var/cache/pivot-vm)
#        PIVOT_VM_MIRROR   the Debian mirror (default: the first
#                          deb.debian.org-style URI of the host's apt
#                          sources, else http://deb.debian.org/debian)
#        PIVOT_VM_SUITE    the Debian release (default: the host's,
#                          VERSION_CODENAME of /etc/os-release)
# The image is named after a hash of this script and the suite, so a change
# to either builds a new one (others are removed once a day old). Prints the image's path
# on its last line.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

say() { printf 'pivot-vm-systemd-image: %s\n' "$*" >&2; }
[ "$(id -u)" -eq 0 ] || {
    say "run as root"
    exit 2
}

cache=${PIVOT_VM_CACHE:-/var/cache/pivot-vm}
suite=${PIVOT_VM_SUITE:-$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")}
mirror=${PIVOT_VM_MIRROR:-}
if [ -z "$mirror" ]; then
    mirror=$(grep -hs -E '^(URIs:|deb) ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources |
        grep -o 'https\?://[^ ]*/debian/\?$' | head -n 1 || true)
    mirror=${mirror:-http://deb.debian.org/debian}
fi

# What the image holds besides minbase: systemd as pid 1 and the system
# bus; kmod to load the kernel's modules (the runner brings them); busybox
# for small tools; iproute2 for the network tests; procps; bash, jq,
# bats, gawk, xz and bsdextrautils for runc's bats suite (bsdutils' script
# is in minbase); uidmap (newuidmap and newgidmap, setuid root) for the
# rootless tests that map a user's subordinate ids (useradd gives each new
# user a range in /etc/subuid and /etc/subgid).
packages=systemd,systemd-sysv,dbus,kmod,busybox-static,iproute2,libseccomp2,procps,jq,bats,gawk,xz-utils,bsdextrautils,uidmap
# Then, with apt-get in the new root (debootstrap cannot configure
# golang-github-containers-common): containerd (with ctr and its runc shim)
# and podman with conmon and catatonit, for scripts/containerd/run.sh and
# scripts/podman/run.sh (systemd.sh's PIVOT_VM_HARNESS); no recommends.
# runc and crun come along as dependencies; the harnesses drive the
# runtime under test.
harness_packages="containerd podman conmon catatonit"

key=$( (cat "$0" && echo "$suite") | sha256sum | cut -c1-12)
dir=$cache/systemd
img=$dir/debian-$suite-systemd-$key.ext4
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if [ -f "$img" ]; then
    say "image already built: $img"
    echo "$img"
    exit 0
fi

# shellcheck source=../lib/apt.sh
. "$root/scripts/lib/apt.sh"
apt_install_missing pivot-vm-systemd-image debootstrap e2fsprogs

start=$(date +%s)
work=$(mktemp -d /var/tmp/pivot-vm-systemd-image.XXXXXX)
cleanup() { rm -rf --one-file-system -- "$work"; }
trap cleanup EXIT
rootfs=$work/rootfs
say "debootstrap --variant=minbase $suite from $mirror, with $packages"
# debootstrap mounts /proc and /sys in the target while it configures
# packages: in a mount namespace of its own, so nothing is left mounted
# on the host if it stops half-way.
unshare -m --propagation private \
    debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" \
    >"$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log" >&2
    say "debootstrap failed (log above)"
    exit 1
}
say "apt-get install --no-install-recommends $harness_packages (in the new root)"
# (the host's resolver for apt-get; debootstrap's resolv.conf goes back
# after: `ctr run --net-host` binds /etc/resolv.conf into the container)
mv "$rootfs/etc/resolv.conf" "$work/resolv.conf" 2>/dev/null || : >"$work/resolv.conf"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
# shellcheck disable=SC2016
unshare -m --propagation private sh -c '
    set -e
    mount -t proc proc "$1/proc"
    mount -t sysfs sysfs "$1/sys"
    mount --rbind /dev "$1/dev"
    chroot "$1" apt-get update -q
    DEBIAN_FRONTEND=noninteractive chroot "$1" apt-get install -q -y --no-install-recommends $2' \
    sh "$rootfs" "$harness_packages" >"$work/apt.log" 2>&1 || {
    tail -n 30 "$work/apt.log" >&2
    say "apt-get install in the new root failed (log above)"
    exit 1
}
rm -f "$rootfs/usr/sbin/policy-rc.d"
mv "$work/resolv.conf" "$rootfs/etc/resolv.conf"

# ---- configuration
echo pivot-vm >"$rootfs/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tpivot-vm\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$rootfs/etc/hosts"
# The root is mounted read-write by the VM's initramfs, which also mounts
# the run's payload disk: nothing for systemd to mount or check (the image
# has no udev, so a device in fstab would never show up).
: >"$rootfs/etc/fstab"
# A machine id made at each boot (the image is booted read-only, each run
# writes to a throw-away overlay).
: >"$rootfs/etc/machine-id"
rm -f "$rootfs/var/lib/dbus/machine-id"
# No logins, no timers, no waiting, no system containerd or podman service
# (the harnesses start their own): the VM boots, runs pivot-tests.service
# and powers off.
for u in getty@tty1.service serial-getty@ttyS0.service console-getty.service \
    apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
    systemd-timesyncd.service systemd-networkd-wait-online.service \
    systemd-firstboot.service systemd-hwdb-update.service systemd-journal-catalog-update.service \
    ldconfig.service man-db.timer dpkg-db-backup.timer proc-sys-fs-binfmt_misc.automount \
    containerd.service podman.service podman.socket podman-auto-update.service podman-auto-update.timer \
    podman-restart.service podman-clean-transient.service; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$u"
done
mkdir -p "$rootfs/etc/systemd/journald.conf.d" "$rootfs/pivot-vm"
cat >"$rootfs/etc/systemd/journald.conf.d/pivot-vm.conf" <<'EOF'
[Journal]
Storage=volatile
EOF
# The tests: the payload disk (mounted at /pivot-vm by the initramfs)
# brings the binaries and /pivot-vm/run; the service runs it once the system
# bus is up, in a cgroup of its own with controllers delegated (as CI's
# cgroup v2 VM puts the suite in /system.slice/pivot-tests.service), with
# its output on the serial console, and powers the machine off when done.
cat >"$rootfs/etc/systemd/system/pivot-tests.service" <<'EOF'
[Unit]
Description=pivot's tests on a systemd host
Requires=dbus.socket
After=dbus.socket dbus.service basic.target
ConditionPathExists=/pivot-vm/run
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=exec
ExecStart=/bin/bash /pivot-vm/run
StandardInput=null
StandardOutput=tty
StandardError=inherit
TTYPath=/dev/ttyS0
TTYReset=no
TTYVHangup=no
TimeoutStartSec=infinity
Delegate=yes
KillMode=mixed
LimitNOFILE=1048576
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity

[Install]
WantedBy=multi-user.target
EOF
ln -sf /etc/systemd/system/pivot-tests.service "$rootfs/etc/systemd/system/multi-user.target.wants/pivot-tests.service"
chroot "$rootfs" systemctl set-default multi-user.target >/dev/null 2>&1 ||
    ln -sf /lib/systemd/system/multi-user.target "$rootfs/etc/systemd/system/default.target"

# ---- size: no package cache, documentation or translations.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/usr/share/locale/* "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old
used_mb=$(du -sm "$rootfs" | cut -f1)
# Room for the tests' bundles, state and logs (writes go to a throw-away
# overlay at run time; the image file is sparse).
size_mb=$((used_mb + used_mb / 4 + 1024))
say "packing $used_mb MiB into an ext4 image of $size_mb MiB"
truncate -s "${size_mb}M" "$work/root.ext4"
mkfs.ext4 -q -F -L pivot-vm-root -E root_owner=0:0 -d "$rootfs" "$work/root.ext4" "${size_mb}M"
# Images of other versions of this script go once they are a day old (not
# at once: two checkouts that differ in it would rebuild in turn).
find "$dir" -maxdepth 1 -name 'debian-*-systemd-*.ext4' -mmin +1440 -delete
mv "$work/root.ext4" "$img"
say "built $img in $(($(date +%s) - start))s ($(du -h "$img" | cut -f1) on disk, $size_mb MiB apparent)"
echo "$img"
