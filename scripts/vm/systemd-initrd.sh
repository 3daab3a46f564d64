#!/bin/busybox sh
# /init of the small initramfs that boots the systemd test VM
# (scripts/vm/systemd.sh): loads the modules the root disk needs (listed in
# /modules, dependencies first), mounts the Debian image (/dev/vda, a
# throw-away overlay of the cached image) as the root and the run's payload
# disk (/dev/vdb) at /pivot-vm in it, and hands over to systemd.
export PATH=/bin
bb=/bin/busybox
$bb mkdir -p /dev /proc /sys /newroot
$bb mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
fail() {
    echo "pivot-vm: initramfs: $*"
    echo "PIVOT-VM-RESULT: exit 3"
    $bb poweroff -f
    $bb sleep 600
}
while read -r ko; do
    [ -n "$ko" ] && { $bb insmod "$ko" || echo "pivot-vm: initramfs: insmod $ko failed"; }
done </modules
for dev in vda vdb; do
    n=0
    while [ ! -b /dev/$dev ]; do
        n=$((n + 1))
        [ $n -le 100 ] || fail "no /dev/$dev after 10s"
        $bb sleep 0.1
    done
done
$bb mount -t ext4 -o rw /dev/vda /newroot || fail "cannot mount the root image /dev/vda"
$bb mkdir -p /newroot/pivot-vm
$bb mount -t ext4 -o ro /dev/vdb /newroot/pivot-vm || fail "cannot mount the payload disk /dev/vdb"
$bb umount /proc /sys
$bb mount --move /dev /newroot/dev
exec $bb switch_root /newroot /lib/systemd/systemd
