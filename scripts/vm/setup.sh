#!/usr/bin/env bash
# Prepares what scripts/vm/run.sh needs, without installing a kernel on the
# host: QEMU from Debian (apt-get), and Debian's 6.12 kernel image package
# downloaded and unpacked into a cache dir (vmlinuz and its modules), so
# the host's /boot, /lib/modules and boot loader stay as they are.
#
# usage: scripts/vm/setup.sh        (as root; idempotent, offline once done)
# env:   PIVOT_VM_CACHE   where the kernel is unpacked
#                         (default /var/cache/pivot-vm)
#        PIVOT_VM_KERNEL_PACKAGE  the image package (default
#                         linux-image-6.12-amd64, resolved to its versioned
#                         package)
# Prints the directory to pass as PIVOT_VM_KERNEL_ROOT on its last line.
set -euo pipefail

say() { printf 'pivot-vm-setup: %s\n' "$*" >&2; }
[ "$(id -u)" -eq 0 ] || { say "run as root"; exit 2; }

cache=${PIVOT_VM_CACHE:-/var/cache/pivot-vm}
meta=${PIVOT_VM_KERNEL_PACKAGE:-linux-image-6.12-amd64}

# shellcheck source=../lib/apt.sh
. "$(dirname "$0")/../lib/apt.sh"
# debootstrap and e2fsprogs: the systemd host's root image (systemd-image.sh).
apt_install_missing pivot-vm-setup qemu-system-x86 kmod criu iptables debootstrap e2fsprogs

# The versioned image package the meta package points at.
pkg=$(apt-cache depends "$meta" 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
[ -n "$pkg" ] || { say "cannot resolve $meta to a kernel image package (apt-get update?)"; exit 2; }
version=${pkg#linux-image-}
dest=$cache/$version
if [ -f "$dest/boot/vmlinuz-$version" ] && [ -d "$dest/lib/modules/$version" ]; then
    say "kernel $version already unpacked in $dest"
else
    say "downloading $pkg and unpacking it into $dest"
    work=$(mktemp -d /tmp/pivot-vm-setup.XXXXXX)
    trap 'rm -rf -- "$work"' EXIT
    (cd "$work" && apt-get -o APT::Sandbox::User=root download -qq "$pkg" >/dev/null)
    deb=$(ls "$work"/*.deb)
    rm -rf -- "$dest.new"
    mkdir -p "$dest.new"
    dpkg-deb -x "$deb" "$dest.new"
    # modules.dep is made by depmod at install time; make it here.
    depmod -b "$dest.new" "$version"
    rm -rf -- "$dest"
    mv "$dest.new" "$dest"
fi
echo "$dest"
