#!/usr/bin/env bash
# Adds to the systemd VM's payload (scripts/vm/systemd.sh's PAYLOAD dir,
# whose root/ is copied over the VM's / before the suite runs) what a
# user's systemd instance needs to be reachable over a session bus, as
# Debian's dbus-user-session package provides it (the image has the dbus
# daemon and its session.conf, not that package): the user units
# dbus.socket ($XDG_RUNTIME_DIR/bus, started with sockets.target) and
# dbus.service, a PAM stack for user@.service (the image has no
# /etc/pam.d/systemd-user), the $XDG_RUNTIME_DIR pam_systemd would set and
# every controller delegated to the instance. Then sets
# PIVOT_TEST_USER_SESSION=1 in the
# suite's environment: the rootless tests that start a user's instance
# (`systemctl start user@UID.service`) run only where it is set.
#
# usage: scripts/vm/systemd-user-session.sh PAYLOAD_DIR
set -euo pipefail
pl=${1:?usage: systemd-user-session.sh PAYLOAD_DIR}
[ -d "$pl/root" ] || { echo "systemd-user-session.sh: $pl/root is not a directory" >&2; exit 2; }
units=$pl/root/etc/systemd/user
mkdir -p "$units/sockets.target.wants" "$pl/root/etc/pam.d"
cat >"$units/dbus.socket" <<'UNIT'
[Unit]
Description=D-Bus User Message Bus Socket

[Socket]
ListenStream=%t/bus
ExecStartPost=-/usr/bin/systemctl --user set-environment DBUS_SESSION_BUS_ADDRESS=unix:path=%t/bus

[Install]
WantedBy=sockets.target
UNIT
cat >"$units/dbus.service" <<'UNIT'
[Unit]
Description=D-Bus User Message Bus
Requires=dbus.socket

[Service]
ExecStart=/usr/bin/dbus-daemon --session --address=systemd: --nofork --nopidfile --systemd-activation --syslog-only
UNIT
ln -sf ../dbus.socket "$units/sockets.target.wants/dbus.socket"
cat >"$pl/root/etc/pam.d/systemd-user" <<'PAM'
account  include  common-account
session  required pam_limits.so
session  include  common-session-noninteractive
PAM
# pam_systemd (libpam-systemd, not in the image) would give the manager
# $XDG_RUNTIME_DIR; without it `systemd --user` refuses to start.
mkdir -p "$pl/root/etc/systemd/system/user@.service.d"
cat >"$pl/root/etc/systemd/system/user@.service.d/pivot-vm-runtime-dir.conf" <<'UNIT'
[Service]
Environment=XDG_RUNTIME_DIR=/run/user/%i
UNIT
# Every controller delegated to the user's instance, as runc's CI sets it
# up for its rootless systemd tests (systemd's default is cpu, memory and
# pids: runc's bats suite then fails its io and cpuset tests for want of
# io.weight and cpuset.cpus, whatever the runtime).
cat >"$pl/root/etc/systemd/system/user@.service.d/pivot-vm-delegate.conf" <<'UNIT'
[Service]
Delegate=yes
UNIT
echo "PIVOT_TEST_USER_SESSION=1" >>"$pl/env"
